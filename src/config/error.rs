//! The one error type of the configuration module.
//!
//! Every error can carry the file, line and column it refers to; `Display`
//! renders `file:line:column: what failed; what to do` on one line.

use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration error, optionally located in a file (1-based line/column).
///
/// `kind` is boxed so `Result<_, ConfigError>` stays small (clippy's
/// `result_large_err`); match on it with `match &*err.kind { ... }`.
#[derive(Debug)]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub kind: Box<ConfigErrorKind>,
}

/// What went wrong. The `Display` of each variant is one sentence that says
/// what failed and what to do about it (the location prefix is added by
/// [`ConfigError`]).
#[derive(Debug, thiserror::Error)]
pub enum ConfigErrorKind {
    #[error("cannot read {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "environment \"{name}\" not found (looked for {}){}; create the file or pass a path such as --env path/to/{name}.hcl",
        join_paths(tried),
        available_hint(available)
    )]
    EnvNotFound {
        name: String,
        tried: Vec<PathBuf>,
        available: Vec<String>,
    },

    #[error("HCL syntax error: {message}; fix the syntax at this position")]
    Syntax { message: String },

    #[error(
        "unknown key \"{key}\" {} (expected one of: {}); fix the spelling or remove it",
        in_block(block),
        expected.join(", ")
    )]
    UnknownKey {
        key: String,
        /// `None` for the top level of a file.
        block: Option<String>,
        expected: Vec<&'static str>,
    },

    #[error("\"{key}\" {} must be written as {expected}", in_block(block))]
    WrongForm {
        key: String,
        block: Option<String>,
        /// e.g. `a block: backend { ... }` or `an attribute: key = value`
        expected: String,
    },

    #[error(
        "duplicate key \"{key}\" {} (first set on line {first_line}); keep only one",
        in_block(block)
    )]
    DuplicateKey {
        key: String,
        block: Option<String>,
        first_line: usize,
    },

    #[error(
        "\"{key}\" {} must be {expected}{}, found {found}; change the value",
        in_block(block),
        if *expected == ValueType::Bool { " (true or false)" } else { "" }
    )]
    WrongType {
        key: String,
        block: Option<String>,
        expected: ValueType,
        found: ValueType,
    },

    #[error("invalid value for \"{key}\" {}: {reason}", in_block(block))]
    InvalidValue {
        key: String,
        block: Option<String>,
        reason: String,
    },

    #[error(
        "missing required key \"{key}\" {}; add `{key} = ...`",
        in_block(block)
    )]
    MissingKey { key: String, block: Option<String> },

    #[error("missing required block \"{name}\"; add `{name} {{ ... }}` to the file")]
    MissingBlock { name: String },

    #[error("block \"{block}\" takes no labels; write `{block} {{ ... }}`")]
    UnexpectedLabels { block: String },

    #[error(
        "\"{key}\" {} is not a literal value ({detail}); Terraform backend and stateward settings accept literal values only, so write the value itself",
        in_block(block)
    )]
    NonLiteral {
        key: String,
        block: Option<String>,
        detail: String,
    },

    #[error(
        "no .tf files in {}; point --backend-dir at the Terraform root module that holds the `backend \"s3\"` block",
        dir.display()
    )]
    NoTfFiles { dir: PathBuf },

    #[error(
        "no `backend \"s3\"` block inside `terraform {{ ... }}` in {}/*.tf{}; point --backend-dir at the root module that configures the S3 backend, or use --env / --bucket and --key instead",
        dir.display(),
        other_backend_hint(other)
    )]
    NoS3Backend {
        dir: PathBuf,
        /// Another backend type found instead, with its `file:line`.
        other: Option<(String, String)>,
    },

    #[error(
        "two backend blocks: {first} and {second}; Terraform allows only one, so remove one of them"
    )]
    DuplicateBackend {
        /// e.g. `` `backend "s3"` at main.tf:3 ``
        first: String,
        second: String,
    },

    #[error("no {what} given; {}", missing_hint(what, flag, key))]
    MissingSetting {
        /// Human name, e.g. "state bucket".
        what: &'static str,
        /// Flag, e.g. "--bucket".
        flag: &'static str,
        /// Key in the env file `backend` block and in `backend "s3"`.
        key: &'static str,
    },

    #[error("invalid workspace name \"{name}\" (from {origin}): {reason}")]
    InvalidWorkspace {
        name: String,
        origin: String,
        reason: String,
    },

    #[error("invalid {what} (from {origin}): {reason}")]
    InvalidSetting {
        /// What and its value, e.g. `state key "/abs"`.
        what: String,
        origin: String,
        reason: String,
    },
}

/// The type of an HCL value, for "must be X, found Y" messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Null,
    Bool,
    Number,
    String,
    List,
    Object,
}

impl ValueType {
    /// The type of an evaluated HCL value.
    pub fn of(v: &hcl::Value) -> ValueType {
        match v {
            hcl::Value::Null => ValueType::Null,
            hcl::Value::Bool(_) => ValueType::Bool,
            hcl::Value::Number(_) => ValueType::Number,
            hcl::Value::String(_) => ValueType::String,
            hcl::Value::Array(_) => ValueType::List,
            hcl::Value::Object(_) => ValueType::Object,
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::Null => "null",
            ValueType::Bool => "a boolean",
            ValueType::Number => "a number",
            ValueType::String => "a string",
            ValueType::List => "a list",
            ValueType::Object => "an object",
        })
    }
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn available_hint(available: &[String]) -> String {
    if available.is_empty() {
        String::new()
    } else {
        format!("; available environments: {}", available.join(", "))
    }
}

fn in_block(block: &Option<String>) -> String {
    match block {
        Some(b) if b.contains('"') => format!("in block `{b}`"),
        Some(b) => format!("in block \"{b}\""),
        None => "at top level".to_string(),
    }
}

fn other_backend_hint(other: &Option<(String, String)>) -> String {
    match other {
        Some((ty, at)) => {
            format!(" (found `backend \"{ty}\"` at {at}, which stateward cannot read)")
        }
        None => String::new(),
    }
}

fn missing_hint(what: &str, flag: &str, key: &str) -> String {
    format!(
        "give the {what} with {flag}, or as `{key}` in the `backend` block of an environment file (--env NAME), or with --backend-dir pointing at a Terraform configuration whose `backend \"s3\"` block (or a --backend-config file) sets `{key}`"
    )
}

impl ConfigError {
    /// An error without location.
    pub fn new(kind: ConfigErrorKind) -> Self {
        ConfigError {
            file: None,
            line: None,
            column: None,
            kind: Box::new(kind),
        }
    }

    /// An error about a whole file (no line).
    pub fn in_file(file: &Path, kind: ConfigErrorKind) -> Self {
        ConfigError {
            file: Some(file.to_path_buf()),
            ..ConfigError::new(kind)
        }
    }

    /// An error at `file:line:column`.
    pub fn at(file: &Path, line: usize, column: usize, kind: ConfigErrorKind) -> Self {
        ConfigError {
            file: Some(file.to_path_buf()),
            line: Some(line),
            column: Some(column),
            kind: Box::new(kind),
        }
    }

    /// `file:line:column` (as much as is known), or `None` without a file.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        let mut s = file.display().to_string();
        if let Some(line) = self.line {
            s.push_str(&format!(":{line}"));
            if let Some(col) = self.column {
                s.push_str(&format!(":{col}"));
            }
        }
        Some(s)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = self.location() {
            write!(f, "{loc}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.kind)
    }
}

impl From<ConfigErrorKind> for ConfigError {
    fn from(kind: ConfigErrorKind) -> Self {
        ConfigError::new(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small enough for clippy's `result_large_err` (128 bytes) in callers.
    #[test]
    fn error_stays_small() {
        assert!(std::mem::size_of::<ConfigError>() <= 128);
        assert!(std::mem::size_of::<Result<(), ConfigError>>() <= 128);
    }
}
