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
    #[error(transparent)]
    BadRef(#[from] BadRef),
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
    /// A setting the command needs was given nowhere (flags, environment
    /// file, backend block): [`Unconfigured`] says which.
    #[error(transparent)]
    Unconfigured(#[from] Unconfigured),
    /// A lock (or its digest) that cannot be acted on as asked:
    /// [`LockProblem`] names the lock and why.
    #[error(transparent)]
    Lock(#[from] LockProblem),
    /// A snapshot store location that cannot be used: [`BadStore`] says
    /// what was given and what is wrong with it.
    #[error(transparent)]
    BadStore(#[from] BadStore),
    /// A command would not go on, or stopped short: no terminal to confirm
    /// on, a safety check, work left half done. [`Refusal`] says which and
    /// about what; its text is the message.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Ctrl-C: the work stopped, what it held was released; [`Interruption`]
    /// says where, what was left and how to continue (exit 130).
    #[error(transparent)]
    Interrupted(#[from] Interruption),
    /// The state is locked by someone else (exit 3): [`Conflict`] names the
    /// lock and its holder.
    #[error(transparent)]
    Locked(#[from] Conflict),
    /// A snapshot store holds something that is not a complete, intact snapshot.
    #[error(transparent)]
    Snapshot(#[from] SnapshotProblem),
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
            // Kept as they were when these were usage strings: scripts
            // match on the JSON kind.
            Error::Usage(_) | Error::Unconfigured(_) | Error::Lock(_) | Error::BadStore(_) => {
                "usage"
            }
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

/// A version reference that is not of any accepted form, or names nothing:
/// what it was and where it was looked for. Each kind's text is its message.
#[derive(Debug, thiserror::Error)]
pub enum BadRef {
    /// Not of any accepted form; `forms` lists them.
    #[error("bad version reference {text:?}: {why}; {forms}")]
    Malformed {
        text: String,
        why: String,
        forms: &'static str,
    },
    /// No version with this id.
    #[error(
        "there is no version {id:?} of {state}: run `stateward versions` to see the version ids"
    )]
    NoVersion { id: String, state: String },
    /// `latest~N` beyond the readable versions.
    #[error("`latest~{n}` does not exist: {state} has {} before the latest{}; run `stateward versions` to see them", versions_word(*.readable), skipped_note(*.skipped))]
    TooFarBack {
        n: usize,
        state: String,
        readable: usize,
        /// Versions that cannot be read as a state, not counted.
        skipped: usize,
    },
    /// No version with this serial.
    #[error(
        "no version of {state} has serial {serial}: run `stateward versions` to see the serials"
    )]
    NoSerial { serial: u64, state: String },
    /// No snapshot with this id in the store.
    #[error(
        "there is no snapshot {id:?} in {store}: run `stateward snapshot list` to see the ids"
    )]
    NoSnapshot { id: String, store: String },
    /// Not a snapshot id at all (a path separator, `..`).
    #[error("{id:?} is not a snapshot id: run `stateward snapshot list` to see the ids")]
    NotASnapshotId { id: String },
    /// A reference that resolved to no content.
    #[error("{reference:?} resolved to nothing")]
    Nothing { reference: String },
}

fn versions_word(readable: usize) -> String {
    match readable {
        1 => "1 readable version".to_owned(),
        k => format!("{k} readable versions"),
    }
}

fn skipped_note(skipped: usize) -> String {
    match skipped {
        0 => String::new(),
        k => format!(" (and {k} that cannot be read as a state)"),
    }
}

/// A setting a command needs that was given nowhere. Each kind's text is
/// its message, naming the flag and the environment-file setting that give it.
#[derive(Debug, thiserror::Error)]
pub enum Unconfigured {
    /// No state (bucket and key) to work on.
    #[error("no state is configured: give --bucket and --key, --env NAME or --backend-dir DIR (or use a `file:PATH` reference)")]
    State,
    /// Neither a DynamoDB lock table nor the S3 lock file.
    #[error("no lock is configured for this state: give --dynamodb-table TABLE or --use-lockfile (or set them in the environment file or backend block)")]
    Lock,
    /// No snapshot store, for a snapshot command.
    #[error("no snapshot store is configured: pass --snapshot-store s3://BUCKET/PREFIX (or a directory), or add `snapshots {{ store = \"...\" }}` to the environment file")]
    SnapshotStore,
    /// No snapshot store to resolve the reference `snapshot:{id}` in.
    #[error("`snapshot:{id}` needs a snapshot store: pass --snapshot-store s3://BUCKET/PREFIX (or a directory), or set `snapshots {{ store = ... }}` in the environment file")]
    SnapshotStoreFor { id: String },
}

/// Why a lock (state or rebuild lock `lock`, as `bucket/key`) cannot be
/// released or its digest read as asked. Each kind's text is its message.
#[derive(Debug, thiserror::Error)]
pub enum LockProblem {
    /// `lock release ID` with an ID that is not the holder's (`holder`, in words).
    #[error("lock ID {id:?} does not match the existing lock: the state {lock} is locked by {holder}; pass that ID to release it")]
    IdMismatch {
        id: String,
        lock: String,
        holder: String,
    },
    /// A release of a lock that is not held; `looked_in` names the lock
    /// mechanisms searched, when said.
    #[error("the state {lock} is not locked{}; nothing to release", looked_in_note(.looked_in.as_deref()))]
    NotLocked {
        lock: String,
        looked_in: Option<String>,
    },
    /// A release by ID of a lock whose Info cannot be read; `release` is
    /// the command that removes it.
    #[error("the lock on {lock} is broken (its Info cannot be read); remove it with `{release}`")]
    Broken { lock: String, release: String },
    /// `lock release --broken` with no broken lock; `status` shows the lock.
    #[error("there is no broken lock on {lock}; `{status}` shows the lock")]
    NoBrokenLock { lock: String, status: String },
    /// A digest asked of a lock that guards no state (the rebuild lock).
    #[error("{lock} is not a state lock and has no digest")]
    NoDigest { lock: String },
    /// `digest repair` where no DynamoDB table keeps a digest.
    #[error("this state keeps no md5 digest (no DynamoDB table is configured): there is nothing to repair")]
    NoDigestKept,
}

fn looked_in_note(looked_in: Option<&str>) -> String {
    looked_in
        .map(|l| format!(" (looked in {l})"))
        .unwrap_or_default()
}

/// A snapshot store location that cannot be used, as given. Each kind's
/// text is its message.
#[derive(Debug, thiserror::Error)]
pub enum BadStore {
    /// An empty `--snapshot-store` or `store`.
    #[error("the snapshot store is empty: give `s3://BUCKET/PREFIX` or a directory path")]
    Empty,
    /// `s3://` with no bucket.
    #[error("snapshot store {url:?} names no bucket: write it as `s3://BUCKET/PREFIX`")]
    NoBucket { url: String },
    /// A URL scheme other than `s3://`.
    #[error("snapshot store {url:?}: `{scheme}://` is not supported; use `s3://BUCKET/PREFIX` or a local directory path")]
    Scheme { url: String, scheme: String },
    /// A place under the store (a fleet run's `<bucket>/<key>`) with an
    /// empty, `.` or `..` part, which would leave the store.
    #[error("`{sub}` cannot name a place in the snapshot store (an empty, `.` or `..` part): snapshot this state on its own with --snapshot-store")]
    Place { sub: String },
}

/// What is wrong with a snapshot in a store: where, and what. Each kind's
/// text is its message.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotProblem {
    /// Its manifest is not a manifest.
    #[error("{at} is not a snapshot manifest ({problem}): the snapshot is damaged; remove it or take a new one")]
    NotAManifest { at: String, problem: String },
    /// Its manifest names another snapshot.
    #[error("{at} names snapshot {names:?}, not {id:?}: the snapshot is damaged; remove it or take a new one")]
    WrongId {
        at: String,
        names: String,
        id: String,
    },
    /// The manifest could not be written as JSON.
    #[error("the manifest of snapshot {id} could not be written: {problem}")]
    Unwritable { id: String, problem: String },
    /// A server-side copy differs from the version read (`what`: md5 or sha256).
    #[error("the copy at {at} has {what} {got}, but the state version read has {what} {want}: the state changed during the copy; run `stateward snapshot create` again")]
    CopyChanged {
        at: String,
        what: &'static str,
        got: String,
        want: String,
    },
    /// Its content does not match its manifest.
    #[error("snapshot {id} in {store} does not match its manifest ({}): it was damaged or changed after it was taken; choose another (stateward snapshot verify --all)", .problems.join("; "))]
    Mismatch {
        id: String,
        store: String,
        problems: Vec<String>,
    },
}

/// Where Ctrl-C stopped a command, and what it left. Each kind's text is its
/// error message.
#[derive(Debug, thiserror::Error)]
pub enum Interruption {
    /// No lock was held and no write in flight; `look` shows what the
    /// state holds now.
    #[error("interrupted (Ctrl-C) while no lock was held and no write was in flight; `{look}` shows what the state holds now")]
    Idle { look: String },
    /// During the work under the lock, which was released; `versions` and
    /// `digest` are the commands that show what was written.
    #[error("interrupted (Ctrl-C): the lock was released; whatever was written before the interrupt stays, so check `{versions}` and `{digest}` before running the command again")]
    UnderLock { versions: String, digest: String },
    /// While taking the lock of `state` (lock `id`); `left` says what of the
    /// lock was written and removed, or may yet land.
    #[error("interrupted (Ctrl-C) while taking the lock of {state} (lock ID {id}): {left}; nothing was written to the state")]
    Acquire {
        state: String,
        id: String,
        left: String,
    },
    /// A bulk undelete: `restored` of `total` (words) under `place`, how many
    /// failed, how many were in flight and still unanswered (they may yet
    /// land), and the command that brings back the rest.
    #[error("interrupted (Ctrl-C) after restoring {restored} of {total} under {place}{}{}; the rest are still deleted: run `{rest}` to bring them back", failed_note(*.failed), unsettled_note(*.unsettled))]
    Undelete {
        restored: usize,
        total: String,
        place: String,
        failed: usize,
        unsettled: usize,
        rest: String,
    },
    /// A drill: it stopped and removed its scratch copy `scratch`
    /// (`s3://bucket/key`), or `left` says what could not be removed and
    /// how to remove it.
    #[error("interrupted (Ctrl-C): the drill stopped{}; the real state was only read", drill_left(.scratch, .left.as_deref()))]
    Drill {
        scratch: String,
        left: Option<String>,
    },
    /// A rebuild before any wave ran.
    #[error("interrupted (Ctrl-C) before any wave ran: nothing was executed and the rebuild lock was released")]
    RebuildNotStarted,
    /// A rebuild during `step` (a wave or its gate); `resume` continues it.
    #[error("interrupted (Ctrl-C) during {step}: the rebuild lock was released and the journal marks the wave unfinished; rerun `{resume}` to continue")]
    RebuildStep { step: String, resume: String },
    /// Interrupted, and the release of the lock that followed failed too:
    /// `how` names the lock and the command that releases it.
    #[error("{first}; also {how}")]
    NotReleased {
        first: Box<Interruption>,
        how: String,
    },
}

fn drill_left(scratch: &str, left: Option<&str>) -> String {
    match left {
        None => format!(" and removed its scratch copy {scratch}"),
        Some(l) => format!(", but its scratch copy {scratch} could not all be removed ({l})"),
    }
}

fn unsettled_note(unsettled: usize) -> String {
    match unsettled {
        0 => String::new(),
        1 => " (1 more was in flight, unanswered, and may yet be restored)".into(),
        n => format!(" ({n} more were in flight, unanswered, and may yet be restored)"),
    }
}

fn failed_note(failed: usize) -> String {
    if failed == 0 {
        String::new()
    } else {
        format!(" ({failed} failed)")
    }
}

/// A lock held by someone else: the state (or rebuild) lock at `lock`, in
/// which backend, and its holder in words (who, since when, or why it cannot
/// be told).
#[derive(Debug, thiserror::Error)]
#[error("{}", self.message())]
pub struct Conflict {
    pub lock: String,
    pub backend: String,
    pub holder: String,
    /// For the rebuild lock: the command that releases it when its process
    /// is gone (the message then says it is another rebuild).
    pub rebuild_release: Option<String>,
}

impl Conflict {
    fn message(&self) -> String {
        let base = format!(
            "the state {} is locked in {} by {}",
            self.lock, self.backend, self.holder
        );
        match &self.rebuild_release {
            None => base,
            Some(release) => format!("another rebuild holds the rebuild lock: {base}; wait for it to finish, or if its process is gone run `{release}`"),
        }
    }
}

/// Why a command refused to go on or stopped short (JSON kind `refused`,
/// exit 1). Each kind carries what it is about; the text of each is its
/// error message, one sentence that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A change needs confirming, stdin is no terminal and --yes was not
    /// given; `look` says how to only look (`--dry-run to only look`).
    #[error(
        "{question} — refusing without a terminal to confirm on; pass --yes to proceed (or {look})"
    )]
    NotATerminal { question: String, look: String },
    /// The confirmation was answered with anything but yes.
    #[error("cancelled: nothing was changed")]
    Cancelled,
    /// The state bucket keeps no versions: a write would destroy the only copy.
    #[error("versioning is not enabled on bucket {bucket}: a restore would destroy the only copy of the current state; enable it first (aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled)")]
    NoVersioning { bucket: String },
    /// `restore --last-good` found no healthy version of `state`
    /// (`s3://bucket/key`); `versions` is the command that lists them.
    #[error("no healthy version of {state} was found to restore: run `{versions}` to see each version's problems")]
    NoHealthyVersion { state: String, versions: String },
    /// The version chosen for a restore (`label`) does not parse as a state.
    #[error("{label} is not a healthy Terraform state ({problem}); stateward never restores a corrupt version")]
    CorruptSource { label: String, problem: String },
    /// The version chosen for a restore belongs to another lineage than the history.
    #[error("{label} has lineage {lineage}, but this state's history has lineage {reference}: restoring it would replace the state with an unrelated one; pass --allow-lineage-change if that is really what you want")]
    LineageChange {
        label: String,
        lineage: String,
        reference: String,
    },
    /// The current version of `state` (`s3://bucket/key`) is not one the
    /// command can work from (deleted, corrupt, encrypted without a plain
    /// header): `snapshot create`, `drill`, `digest repair` without --force.
    #[error("{message}")]
    UnusableCurrent { state: String, message: String },
    /// `state` (`s3://bucket/key`) has a new current version `now` since
    /// the restore was planned; nothing was written.
    #[error("the state changed while the restore was being planned (current version is now {now}); nothing was written; run the restore again")]
    StateChanged { state: String, now: String },
    /// The history of `state` (`s3://bucket/key`) changed between the
    /// reads that chose a version; nothing was written.
    #[error("the history of {state} changed while it was read; run the restore again")]
    HistoryChanged { state: String },
    /// Two reads of version `version_id` differ (a transfer problem, not a
    /// corrupt state); nothing was written.
    #[error("{message}")]
    UnstableRead { version_id: String, message: String },
    /// A write was asked of a lock (`lock`, `bucket/key`) that does not
    /// guard the state; nothing was written.
    #[error("the lock {lock} does not guard the state: nothing was written")]
    LockNotGuarding { lock: String },
    /// The work was done only in part (a digest not updated, a lock not
    /// released, objects not restored, scratch objects left); the message
    /// says what is left and the command that finishes it.
    #[error("{message}")]
    Incomplete { message: String },
    /// A drill's detection or verification did not find what it should.
    #[error("{message}")]
    DrillCheck { message: String },
    /// `rebuild run`: the final apply would recreate these data stores empty.
    #[error("{message}")]
    EmptyDataStores {
        addresses: Vec<String>,
        message: String,
    },
    /// The rebuild journal is unreadable, or does not allow this run
    /// (another plan, another state, nothing to resume).
    #[error("{message}")]
    Journal { message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Refusals keep the kind `refused`, exit 1, and the messages they had
    /// as strings.
    #[test]
    fn refusals_keep_their_kind_exit_code_and_message() {
        let cases = [
            (
                Refusal::NotATerminal {
                    question: "Restore v1?".into(),
                    look: "--dry-run to only look".into(),
                },
                "Restore v1? — refusing without a terminal to confirm on; pass --yes to proceed (or --dry-run to only look)",
            ),
            (Refusal::Cancelled, "cancelled: nothing was changed"),
            (
                Refusal::NoVersioning { bucket: "b".into() },
                "versioning is not enabled on bucket b: a restore would destroy the only copy of the current state; enable it first (aws s3api put-bucket-versioning --bucket b --versioning-configuration Status=Enabled)",
            ),
            (
                Refusal::NoHealthyVersion {
                    state: "s3://b/k".into(),
                    versions: "stateward versions".into(),
                },
                "no healthy version of s3://b/k was found to restore: run `stateward versions` to see each version's problems",
            ),
            (
                Refusal::CorruptSource {
                    label: "version v1".into(),
                    problem: "EOF".into(),
                },
                "version v1 is not a healthy Terraform state (EOF); stateward never restores a corrupt version",
            ),
            (
                Refusal::LineageChange {
                    label: "version v1".into(),
                    lineage: "a".into(),
                    reference: "b".into(),
                },
                "version v1 has lineage a, but this state's history has lineage b: restoring it would replace the state with an unrelated one; pass --allow-lineage-change if that is really what you want",
            ),
            (
                Refusal::StateChanged {
                    state: "s3://b/k".into(),
                    now: "v9".into(),
                },
                "the state changed while the restore was being planned (current version is now v9); nothing was written; run the restore again",
            ),
            (
                Refusal::LockNotGuarding { lock: "b/k".into() },
                "the lock b/k does not guard the state: nothing was written",
            ),
            (
                Refusal::HistoryChanged {
                    state: "s3://b/k".into(),
                },
                "the history of s3://b/k changed while it was read; run the restore again",
            ),
            (
                Refusal::Incomplete {
                    message: "1 of 2 objects could not be restored".into(),
                },
                "1 of 2 objects could not be restored",
            ),
        ];
        for (refusal, message) in cases {
            let e = Error::from(refusal);
            assert_eq!(e.to_string(), message);
            assert_eq!(e.kind(), "refused");
            assert_eq!(e.exit_code(), exit::ERROR);
        }
    }

    /// Interruptions and lock conflicts carry what they are about; their
    /// messages are the sentences users (and scripts) already know, and
    /// their exit codes 130 and 3.
    #[test]
    fn interruptions_and_conflicts_keep_their_messages_and_exit_codes() {
        let cases: Vec<(Error, &str)> = vec![
            (
                Interruption::Idle { look: "stateward versions".into() }.into(),
                "interrupted (Ctrl-C) while no lock was held and no write was in flight; `stateward versions` shows what the state holds now",
            ),
            (
                Interruption::Undelete {
                    restored: 3,
                    total: "12 objects".into(),
                    place: "s3://b/data/".into(),
                    failed: 1,
                    unsettled: 0,
                    rest: "stateward s3 undelete --yes".into(),
                }
                .into(),
                "interrupted (Ctrl-C) after restoring 3 of 12 objects under s3://b/data/ (1 failed); the rest are still deleted: run `stateward s3 undelete --yes` to bring them back",
            ),
            (
                Interruption::Drill {
                    scratch: "s3://b/k.stateward-drill-1".into(),
                    left: None,
                }
                .into(),
                "interrupted (Ctrl-C): the drill stopped and removed its scratch copy s3://b/k.stateward-drill-1; the real state was only read",
            ),
            (
                Interruption::Drill {
                    scratch: "s3://b/k.stateward-drill-1".into(),
                    left: Some("timed out; remove it by hand".into()),
                }
                .into(),
                "interrupted (Ctrl-C): the drill stopped, but its scratch copy s3://b/k.stateward-drill-1 could not all be removed (timed out; remove it by hand); the real state was only read",
            ),
            (
                Interruption::NotReleased {
                    first: Box::new(Interruption::RebuildNotStarted),
                    how: "release it".into(),
                }
                .into(),
                "interrupted (Ctrl-C) before any wave ran: nothing was executed and the rebuild lock was released; also release it",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
            assert_eq!(e.exit_code(), exit::INTERRUPTED);
            assert_eq!(e.kind(), "interrupted");
        }
        let conflict = Conflict {
            lock: "b/k".into(),
            backend: "DynamoDB table t".into(),
            holder: "alice".into(),
            rebuild_release: None,
        };
        let e: Error = conflict.into();
        assert_eq!(
            e.to_string(),
            "the state b/k is locked in DynamoDB table t by alice"
        );
        assert_eq!((e.exit_code(), e.kind()), (exit::LOCKED, "locked"));
        let Error::Locked(c) = e else { unreachable!() };
        let e: Error = Conflict {
            rebuild_release: Some("stateward lock release ID --rebuild".into()),
            ..c
        }
        .into();
        assert_eq!(e.to_string(), "another rebuild holds the rebuild lock: the state b/k is locked in DynamoDB table t by alice; wait for it to finish, or if its process is gone run `stateward lock release ID --rebuild`");
    }

    /// Missing settings, lock problems and unusable snapshot stores carry
    /// what they are about, and keep the messages, the exit code (1) and the
    /// JSON kind (`usage`) they had as `Usage` strings.
    #[test]
    fn missing_settings_lock_problems_and_bad_stores_keep_their_messages() {
        let cases: Vec<(Error, &str, &str)> = vec![
            (
                Unconfigured::State.into(),
                "no state is configured: give --bucket and --key, --env NAME or --backend-dir DIR (or use a `file:PATH` reference)",
                "usage",
            ),
            (
                Unconfigured::Lock.into(),
                "no lock is configured for this state: give --dynamodb-table TABLE or --use-lockfile (or set them in the environment file or backend block)",
                "usage",
            ),
            (
                Unconfigured::SnapshotStore.into(),
                "no snapshot store is configured: pass --snapshot-store s3://BUCKET/PREFIX (or a directory), or add `snapshots { store = \"...\" }` to the environment file",
                "usage",
            ),
            (
                Unconfigured::SnapshotStoreFor { id: "S1".into() }.into(),
                "`snapshot:S1` needs a snapshot store: pass --snapshot-store s3://BUCKET/PREFIX (or a directory), or set `snapshots { store = ... }` in the environment file",
                "usage",
            ),
            (
                LockProblem::IdMismatch {
                    id: "x".into(),
                    lock: "b/k".into(),
                    holder: "alice".into(),
                }
                .into(),
                "lock ID \"x\" does not match the existing lock: the state b/k is locked by alice; pass that ID to release it",
                "usage",
            ),
            (
                LockProblem::NotLocked {
                    lock: "b/k".into(),
                    looked_in: Some("DynamoDB table t and S3 lock file".into()),
                }
                .into(),
                "the state b/k is not locked (looked in DynamoDB table t and S3 lock file); nothing to release",
                "usage",
            ),
            (
                LockProblem::NotLocked {
                    lock: "b/k".into(),
                    looked_in: None,
                }
                .into(),
                "the state b/k is not locked; nothing to release",
                "usage",
            ),
            (
                LockProblem::Broken {
                    lock: "b/k".into(),
                    release: "stateward lock release --broken".into(),
                }
                .into(),
                "the lock on b/k is broken (its Info cannot be read); remove it with `stateward lock release --broken`",
                "usage",
            ),
            (
                LockProblem::NoBrokenLock {
                    lock: "b/k".into(),
                    status: "stateward lock status".into(),
                }
                .into(),
                "there is no broken lock on b/k; `stateward lock status` shows the lock",
                "usage",
            ),
            (
                LockProblem::NoDigest {
                    lock: "b/rebuild".into(),
                }
                .into(),
                "b/rebuild is not a state lock and has no digest",
                "usage",
            ),
            (
                LockProblem::NoDigestKept.into(),
                "this state keeps no md5 digest (no DynamoDB table is configured): there is nothing to repair",
                "usage",
            ),
            (
                BadStore::Empty.into(),
                "the snapshot store is empty: give `s3://BUCKET/PREFIX` or a directory path",
                "usage",
            ),
            (
                BadStore::NoBucket {
                    url: "s3://".into(),
                }
                .into(),
                "snapshot store \"s3://\" names no bucket: write it as `s3://BUCKET/PREFIX`",
                "usage",
            ),
            (
                BadStore::Scheme {
                    url: "gs://b/p".into(),
                    scheme: "gs".into(),
                }
                .into(),
                "snapshot store \"gs://b/p\": `gs://` is not supported; use `s3://BUCKET/PREFIX` or a local directory path",
                "usage",
            ),
            (
                BadStore::Place { sub: "b/../k".into() }.into(),
                "`b/../k` cannot name a place in the snapshot store (an empty, `.` or `..` part): snapshot this state on its own with --snapshot-store",
                "usage",
            ),
        ];
        for (e, text, kind) in cases {
            assert_eq!(e.to_string(), text);
            assert_eq!((e.kind(), e.exit_code()), (kind, exit::ERROR));
        }
    }

    /// Bad references and damaged snapshots say what and where, in the
    /// sentences scripts already match.
    #[test]
    fn bad_references_and_snapshot_problems_keep_their_messages() {
        let cases: Vec<(Error, &str, &str)> = vec![
            (
                BadRef::TooFarBack {
                    n: 3,
                    state: "s3://b/k".into(),
                    readable: 1,
                    skipped: 2,
                }
                .into(),
                "`latest~3` does not exist: s3://b/k has 1 readable version before the latest (and 2 that cannot be read as a state); run `stateward versions` to see them",
                "bad-reference",
            ),
            (
                BadRef::NoSerial {
                    serial: 7,
                    state: "s3://b/k".into(),
                }
                .into(),
                "no version of s3://b/k has serial 7: run `stateward versions` to see the serials",
                "bad-reference",
            ),
            (
                SnapshotProblem::Mismatch {
                    id: "S".into(),
                    store: "s3://snaps/p".into(),
                    problems: vec!["size 1, not 2".into(), "sha256 x, not y".into()],
                }
                .into(),
                "snapshot S in s3://snaps/p does not match its manifest (size 1, not 2; sha256 x, not y): it was damaged or changed after it was taken; choose another (stateward snapshot verify --all)",
                "snapshot",
            ),
        ];
        for (e, text, kind) in cases {
            assert_eq!(e.to_string(), text);
            assert_eq!((e.kind(), e.exit_code()), (kind, exit::ERROR));
        }
    }
}
