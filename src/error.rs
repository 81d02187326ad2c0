//! The library's typed errors, and the one place that maps them to exit codes.

use std::path::PathBuf;

use crate::aws::AwsError;
use crate::config::ConfigError;
use crate::exit;

/// Every failure a command can end with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A version reference that is not of any accepted form or names nothing.
    #[error("{0}")]
    BadRef(String),
    /// The state named by the settings does not exist at all.
    #[error("there is no state at s3://{bucket}/{key}: check --bucket, --key and --workspace (a workspace other than `default` lives under `<prefix>/<workspace>/<key>`)")]
    NoState { bucket: String, key: String },
    /// A state version could not be parsed where parsing was required.
    #[error("{what} is not a readable Terraform state: {problem}")]
    Unreadable { what: String, problem: String },
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad combination of arguments, detected after parsing.
    #[error("{0}")]
    Usage(String),
    /// A destructive command was refused (no terminal, no --yes, a safety check).
    #[error("{0}")]
    Refused(String),
    /// Ctrl-C: the work stopped, what it held was released; the message says
    /// what was left and how to continue.
    #[error("{0}")]
    Interrupted(String),
    /// The state is locked by someone else; the message names the holder.
    #[error("{0}")]
    Locked(String),
    /// A snapshot store holds something that is not a complete, intact snapshot.
    #[error("{0}")]
    Snapshot(String),
    /// The rebuild cannot be ordered (a cycle, a dependency on a later wave).
    #[error(transparent)]
    Rebuild(#[from] crate::model::tier::PlanError),
    /// `rebuild run`: a command of `wave` failed (non-zero exit, could not start).
    #[error("{message}")]
    RebuildCommand { wave: String, message: String },
    /// `rebuild run`: the readiness gate of `wave` did not pass (a failed check).
    #[error("{message}")]
    RebuildGate { wave: String, message: String },
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Locked(_) => exit::LOCKED,
            Error::Interrupted(_) => exit::INTERRUPTED,
            Error::RebuildGate { .. } => exit::DIFFERENCES,
            _ => exit::ERROR,
        }
    }

    /// A short machine-readable kind, used in JSON error output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Aws(e) => e.kind.as_str(),
            Error::BadRef(_) => "bad-reference",
            Error::NoState { .. } => "no-state",
            Error::Unreadable { .. } => "unreadable-state",
            Error::ReadFile { .. } | Error::WriteFile { .. } => "io",
            Error::Usage(_) => "usage",
            Error::Refused(_) => "refused",
            Error::Interrupted(_) => "interrupted",
            Error::Locked(_) => "locked",
            Error::Snapshot(_) => "snapshot",
            Error::Rebuild(_) => "rebuild-plan",
            Error::RebuildCommand { .. } => "rebuild-command-failed",
            Error::RebuildGate { .. } => "rebuild-gate-failed",
            Error::Output(_) => "output",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
