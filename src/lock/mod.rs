//! Terraform-compatible state locks (DynamoDB item and S3 lock file) and the
//! md5 digest item. A lock taken here stops Terraform and OpenTofu; theirs
//! stops stateward.
//!
//! Writes to state happen only through a [`LockGuard`], which [`with_lock`]
//! releases on every exit path: success, error and Ctrl-C.

pub mod info;

use std::sync::Arc;
use std::time::Duration;

use md5::{Digest as _, Md5};
use serde::Serialize;
use time::OffsetDateTime;

use crate::aws::{Aws, AwsErrorKind};
use crate::config::Target;
use crate::error::{Error, Interruption, LockProblem, Refusal, Result, Unconfigured};
use crate::model::lock_names;
use crate::storage::{LockItems, StateObjects};

pub use info::LockInfo;

/// What the rebuild lock adds to the state key (see [`Locker::for_rebuild`]).
pub const REBUILD_SUFFIX: &str = ".rebuild";

/// Where a lock lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LockBackend {
    /// The DynamoDB item `LockID = <bucket>/<key>` (`dynamodb_table`).
    Dynamodb,
    /// The S3 object `<key>.tflock` (`use_lockfile`).
    S3Lockfile,
}

impl std::fmt::Display for LockBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LockBackend::Dynamodb => "DynamoDB",
            LockBackend::S3Lockfile => "S3 lock file",
        })
    }
}

/// What one backend holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    Free,
    Locked(LockInfo),
    /// An item or file whose Info is missing or not lock JSON; `raw` is what is there.
    Broken {
        raw: String,
        problem: String,
    },
}

/// The lock and digest endpoints of one state.
#[derive(Debug, Clone)]
pub struct Locker {
    /// `<bucket>/<state key>`: the lock item's LockID and the lock's Path.
    pub path: String,
    table: Option<Arc<dyn LockItems>>,
    lockfile: Option<(Arc<dyn StateObjects>, String)>,
    /// The state object this lock guards; `None` for a lock that guards an
    /// operation rather than the state (the rebuild lock).
    state: Option<(Arc<dyn StateObjects>, String)>,
    /// Whether lock waits are shown on stderr (a terminal, text output).
    wait_notice: bool,
}

/// Lock state as `lock status` reports it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LockStatus {
    pub locked: bool,
    /// The backends that hold a lock (or a broken one).
    pub backends: Vec<LockBackend>,
    pub lock: Option<LockInfo>,
    pub age_seconds: Option<i64>,
    /// True when a lock item exists whose Info cannot be parsed.
    pub broken: bool,
    /// What is wrong, in words (broken Info, backends disagreeing).
    pub problems: Vec<String>,
    /// The backends configured for this state.
    pub configured: Vec<LockBackend>,
    /// What each configured backend holds, one entry per backend.
    pub mechanisms: Vec<MechanismStatus>,
}

/// What one configured lock mechanism holds, as `lock status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct MechanismStatus {
    pub backend: LockBackend,
    /// `free`, `locked` or `broken`.
    #[schemars(extend("enum" = ["free", "locked", "broken"]))]
    pub state: &'static str,
    /// The lock's ID when locked.
    pub id: Option<String>,
}

impl Locker {
    /// The locks configured for `target`. Errors when none is.
    pub fn new(aws: &Aws, target: &Target) -> Result<Locker> {
        let bucket: Arc<dyn StateObjects> = Arc::new(aws.state_bucket(target));
        let table = target
            .dynamodb_table
            .as_deref()
            .map(|t| Arc::new(aws.table(t)) as Arc<dyn LockItems>);
        Locker::on(
            bucket,
            &target.bucket,
            &target.state_key(),
            table,
            target.use_lockfile,
        )
    }

    /// The locks of the state `key` in `bucket` (named `bucket_name` in the
    /// lock's path), kept in `table` (DynamoDB mode) and/or as the lock file
    /// `<key>.tflock` in `bucket` (`use_lockfile`), on any storage (the
    /// adapters, the in-memory twin, a fault wrapper). Errors when neither
    /// is configured.
    pub fn on(
        bucket: Arc<dyn StateObjects>,
        bucket_name: &str,
        key: &str,
        table: Option<Arc<dyn LockItems>>,
        use_lockfile: bool,
    ) -> Result<Locker> {
        let lockfile = use_lockfile.then(|| (bucket.clone(), lock_names::lock_file_key(key)));
        if table.is_none() && lockfile.is_none() {
            return Err(Unconfigured::Lock.into());
        }
        Ok(Locker {
            path: lock_names::lock_id(bucket_name, key),
            table,
            lockfile,
            state: Some((bucket, key.to_owned())),
            wait_notice: false,
        })
    }

    /// Shows a line on stderr while waiting for the lock (`waiting for lock
    /// held by X (op, who) for 12s...`): for a terminal, in text mode.
    pub fn with_wait_notice(mut self, show: bool) -> Locker {
        self.wait_notice = show;
        self
    }

    /// The lock that keeps two `rebuild run --execute` apart, beside the
    /// state's own lock and never it: the DynamoDB item `LockID =
    /// <bucket>/<state key>.rebuild` and/or the S3 object
    /// `<state key>.rebuild.tflock`, on the backends the state uses. Terraform
    /// still takes the state lock itself during each apply.
    pub fn for_rebuild(aws: &Aws, target: &Target) -> Result<Locker> {
        let mut l = Locker::new(aws, target)?;
        let key = format!("{}{REBUILD_SUFFIX}", target.state_key());
        l.path = lock_names::lock_id(&target.bucket, &key);
        if let Some((bucket, _)) = l.lockfile.take() {
            l.lockfile = Some((bucket, lock_names::lock_file_key(&key)));
        }
        l.state = None;
        Ok(l)
    }

    pub fn configured(&self) -> Vec<LockBackend> {
        let mut v = Vec::new();
        if self.lockfile.is_some() {
            v.push(LockBackend::S3Lockfile);
        }
        if self.table.is_some() {
            v.push(LockBackend::Dynamodb);
        }
        v
    }

    /// The digest item's LockID.
    pub fn digest_id(&self) -> String {
        lock_names::digest_id(&self.path)
    }

    async fn held_lockfile(&self) -> Result<Held> {
        let Some((bucket, key)) = &self.lockfile else {
            return Ok(Held::Free);
        };
        match bucket.get(key, None, None).await {
            Ok(f) => {
                let raw = String::from_utf8_lossy(&f.bytes).into_owned();
                Ok(match LockInfo::parse(&raw) {
                    Ok(info) => Held::Locked(info),
                    Err(problem) => Held::Broken { raw, problem },
                })
            }
            Err(e) if e.kind == AwsErrorKind::NotFound => Ok(Held::Free),
            Err(e) => Err(e.into()),
        }
    }

    async fn held_dynamodb(&self) -> Result<Held> {
        let Some(table) = &self.table else {
            return Ok(Held::Free);
        };
        Ok(match table.get(&self.path).await? {
            None => Held::Free,
            Some(item) => match item.get("Info") {
                Some(raw) => match LockInfo::parse(raw) {
                    Ok(info) => Held::Locked(info),
                    Err(problem) => Held::Broken {
                        raw: raw.clone(),
                        problem,
                    },
                },
                None => Held::Broken {
                    raw: String::new(),
                    problem: "the lock item has no Info attribute (`unexpected end of JSON input`)"
                        .into(),
                },
            },
        })
    }

    /// Reads the lock without taking it.
    pub async fn status(&self, now: OffsetDateTime) -> Result<LockStatus> {
        let file = self.held_lockfile().await?;
        let ddb = self.held_dynamodb().await?;
        Ok(summarise(
            &[
                (LockBackend::S3Lockfile, file),
                (LockBackend::Dynamodb, ddb),
            ],
            self.configured(),
            now,
        ))
    }

    /// Takes the lock once: the file lock first, then DynamoDB, releasing the
    /// first if the second fails (as Terraform does). On conflict, returns
    /// [`Error::Locked`] naming the holder, unless the holder is this very
    /// lock: when a conditional write reached AWS but its response was lost,
    /// the SDK's retry fails its condition against our own lock, which is
    /// then ours (see [`conflict_verdict`]). When the outcome of a write is
    /// unknown (it failed otherwise), whatever of our lock landed is removed.
    pub async fn try_acquire(&self, info: &LockInfo) -> Result<()> {
        let body = info.to_go_json();
        if let Some((bucket, key)) = &self.lockfile {
            match bucket.put(key, body.clone().into_bytes(), true).await {
                Ok(_) => {}
                Err(e) if e.kind == AwsErrorKind::PreconditionFailed => {
                    let held = self.held_lockfile().await;
                    if let Some(err) = self.judge_conflict(LockBackend::S3Lockfile, held, info) {
                        return Err(err);
                    }
                }
                Err(e) => {
                    self.release_own(&info.id).await;
                    return Err(e.into());
                }
            }
        }
        if let Some(table) = &self.table {
            match table.put_if_absent(&self.path, "Info", &body).await {
                Ok(()) => {}
                Err(e) if e.kind == AwsErrorKind::PreconditionFailed => {
                    let held = self.held_dynamodb().await;
                    if let Some(err) = self.judge_conflict(LockBackend::Dynamodb, held, info) {
                        // Our file lock, if taken, goes (as Terraform does).
                        self.release_own(&info.id).await;
                        return Err(err);
                    }
                }
                Err(e) => {
                    self.release_own(&info.id).await;
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// `None` when the conflict is our own lock (continue as acquired), else
    /// the [`Error::Locked`] naming the holder.
    fn judge_conflict(
        &self,
        backend: LockBackend,
        held: Result<Held>,
        info: &LockInfo,
    ) -> Option<Error> {
        match conflict_verdict(held.as_ref().ok(), &info.id) {
            ConflictVerdict::Ours => {
                tracing::info!(
                    id = %info.id,
                    "the {backend} already holds our own lock: an earlier attempt was applied and its response lost; continuing as acquired"
                );
                None
            }
            ConflictVerdict::Theirs => Some(self.conflict(backend, held)),
        }
    }

    /// Removes what of the lock `id` any backend holds, leaving every other
    /// lock alone; failures are logged. Used when an acquire's outcome is
    /// unknown (an error, Ctrl-C). Returns the backends it was removed from.
    pub async fn release_own(&self, id: &str) -> Vec<LockBackend> {
        let mut removed = Vec::new();
        if let (Some((bucket, key)), Ok(Held::Locked(l))) =
            (&self.lockfile, self.held_lockfile().await)
        {
            if l.id == id {
                match bucket.delete(key).await {
                    Ok(()) => removed.push(LockBackend::S3Lockfile),
                    Err(e) => tracing::warn!(error = %e, "could not remove our S3 lock file"),
                }
            }
        }
        if let (Some(table), Ok(Held::Locked(l))) = (&self.table, self.held_dynamodb().await) {
            if l.id == id {
                match table.delete_if(&self.path, "Info", &l.to_go_json()).await {
                    Ok(()) => removed.push(LockBackend::Dynamodb),
                    Err(e) => tracing::warn!(error = %e, "could not remove our DynamoDB lock"),
                }
            }
        }
        removed
    }

    /// Takes the lock, retrying until `timeout` has passed, as Terraform's
    /// `-lock-timeout` does: 1 s between tries, doubling to 16 s at most
    /// (see [`retry_delays`]). Throttling is retried the same way until the
    /// deadline. A zero timeout tries once. While it waits, a line on stderr
    /// names the holder (when [`Locker::with_wait_notice`] asked for it).
    /// Ctrl-C while a write is in flight (its outcome unknown) removes
    /// whatever of our lock landed, then fails with [`Error::Interrupted`].
    pub async fn acquire(&self, info: &LockInfo, timeout: Duration) -> Result<()> {
        let _shield = crate::interrupt::shield(format!(
            "the lock {} on {} may have been taken; if `{}` shows it, release it with `{}`",
            info.id,
            self.path,
            crate::hint::command(&["lock", "status"]),
            crate::hint::command(&["lock", "release", info.id.as_str()])
        ));
        // Set on Ctrl-C: no further try, and the wait between tries ends.
        let stopped = std::sync::atomic::AtomicBool::new(false);
        let stop = tokio::sync::Notify::new();
        let attempt = async {
            let started = tokio::time::Instant::now();
            let deadline = started + timeout;
            let mut delays = retry_delays();
            let mut notice = WaitNotice::new(self.wait_notice);
            let outcome = loop {
                let retry = match self.try_acquire(info).await {
                    Err(Error::Locked(msg)) => Error::Locked(msg),
                    Err(Error::Aws(e)) if e.kind == AwsErrorKind::Throttled => Error::Aws(e),
                    other => break other,
                };
                let now = tokio::time::Instant::now();
                if now >= deadline || stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    break Err(retry);
                }
                let delay = delays.next().unwrap_or(MAX_RETRY_DELAY);
                tracing::info!("lock not taken ({retry}); retrying in {delay:?}");
                if notice.show {
                    let holder = match self.status(OffsetDateTime::now_utc()).await {
                        Ok(LockStatus { lock: Some(l), .. }) => {
                            format!("{} ({}, {})", l.id, l.operation, l.who)
                        }
                        _ => "another process".to_owned(),
                    };
                    notice.line(&format!(
                        "waiting for lock held by {holder} for {}s...",
                        (now - started).as_secs()
                    ));
                }
                tokio::select! {
                    _ = tokio::time::sleep(delay.min(deadline - now)) => {}
                    _ = stop.notified() => break Err(retry),
                }
            };
            notice.clear();
            outcome
        };
        let mut attempt = std::pin::pin!(attempt);
        tokio::select! {
            // A press that comes as the lock is taken still cancels.
            biased;
            _ = crate::interrupt::pressed() => {
                // A write already sent may still land after we stop waiting
                // for it (AWS applies a request it received): let the try in
                // flight end, within `IN_FLIGHT_GRACE`, so what of our lock
                // landed is known and removed. A second Ctrl-C exits at once
                // and prints the shield's release hint.
                stopped.store(true, std::sync::atomic::Ordering::SeqCst);
                stop.notify_one();
                let settled = tokio::time::timeout(crate::interrupt::IN_FLIGHT_GRACE, &mut attempt).await.is_ok();
                let removed = self.release_own(&info.id).await;
                Err(Error::Interrupted(interrupted_acquire(&self.path, &info.id, settled, &removed)))
            }
            r = &mut attempt => r,
        }
    }

    /// Fails with [`Error::Locked`] (naming the holder) when someone holds
    /// the lock now: checked before a confirmation prompt, so nobody answers
    /// "y" to be told the state is locked. Taking the lock stays the real test.
    pub async fn check_free(&self) -> Result<()> {
        let status = self.status(OffsetDateTime::now_utc()).await?;
        if !status.locked {
            return Ok(());
        }
        let backend = status
            .backends
            .first()
            .copied()
            .unwrap_or(LockBackend::Dynamodb);
        let held = match (&status.lock, status.broken) {
            (Some(l), _) => Held::Locked(l.clone()),
            (None, true) => Held::Broken {
                raw: String::new(),
                problem: status.problems.join("; "),
            },
            (None, false) => Held::Free,
        };
        Err(self.conflict(backend, Ok(held)))
    }

    fn conflict(&self, backend: LockBackend, held: Result<Held>) -> Error {
        let holder = match held {
            Ok(Held::Locked(info)) => describe_holder(&info, OffsetDateTime::now_utc()),
            Ok(Held::Broken { problem, .. }) => format!(
                "a broken lock ({problem}); remove it with `{}`",
                crate::hint::command(&["lock", "release", "--broken"])
            ),
            Ok(Held::Free) => "a holder that released it just now; try again".into(),
            Err(e) => format!("a holder that could not be read ({e})"),
        };
        Error::Locked(crate::error::Conflict {
            lock: self.path.clone(),
            backend: backend.to_string(),
            holder,
            rebuild_release: None,
        })
    }

    /// Removes the lock whose ID is `id`, whoever took it (what `terraform
    /// force-unlock` does). Returns the removed lock. An ID mismatch is an
    /// error that shows the real holder.
    pub async fn release(&self, id: &str) -> Result<LockInfo> {
        let now = OffsetDateTime::now_utc();
        let mut removed = None;
        // Check every backend first, so a mismatch removes nothing.
        let file = self.held_lockfile().await?;
        let ddb = self.held_dynamodb().await?;
        for held in [&file, &ddb] {
            if let Held::Locked(info) = held {
                if info.id != id {
                    return Err(LockProblem::IdMismatch {
                        id: id.to_owned(),
                        lock: self.path.clone(),
                        holder: describe_holder(info, now),
                    }
                    .into());
                }
            }
        }
        // As Terraform: the file, then DynamoDB; each is tried whatever the
        // other did, and every failure is reported.
        let mut failed: Vec<(&str, Error)> = Vec::new();
        if let Held::Locked(info) = &file {
            if let Some((bucket, key)) = &self.lockfile {
                match bucket.delete(key).await {
                    Ok(()) => removed = Some(info.clone()),
                    Err(e) => failed.push(("the S3 lock file", e.into())),
                }
            }
        }
        if let Held::Locked(info) = &ddb {
            if let Some(table) = &self.table {
                let result = async {
                    table
                        .delete_if(&self.path, "Info", &info.to_go_json())
                        .await
                        .or_else(|e| {
                            // Written by another tool with different bytes: the ID matched, remove it.
                            if e.kind == AwsErrorKind::PreconditionFailed {
                                Ok(())
                            } else {
                                Err(e)
                            }
                        })?;
                    if matches!(self.held_dynamodb().await?, Held::Locked(ref l) if l.id == id) {
                        table.delete(&self.path).await?;
                    }
                    Ok::<(), Error>(())
                }
                .await;
                match result {
                    Ok(()) => removed = Some(info.clone()),
                    Err(e) => failed.push(("the DynamoDB lock item", e)),
                }
            }
        }
        match (failed.len(), &removed) {
            (0, _) => {}
            // One mechanism, one failure: that error as it is.
            (1, None) => return Err(failed.remove(0).1),
            _ => {
                let what: Vec<String> = failed.iter().map(|(m, e)| format!("{m} ({e})")).collect();
                return Err(Error::Refused(Refusal::Incomplete {
                    message: format!(
                        "lock {id} of {} could not be released from {}{}; run `stateward lock release {id}` again",
                        self.path,
                        what.join(", nor from "),
                        if removed.is_some() {
                            " (the other mechanism's lock was removed)"
                        } else {
                            ""
                        }
                    ),
                }));
            }
        }
        removed.ok_or_else(|| {
            LockProblem::NotLocked {
                lock: self.path.clone(),
                looked_in: Some(
                    self.configured()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" and "),
                ),
            }
            .into()
        })
    }

    /// Removes lock items/files whose Info cannot be parsed. Returns what was removed.
    pub async fn release_broken(&self) -> Result<Vec<(LockBackend, String)>> {
        let mut removed = Vec::new();
        if let Held::Broken { raw, .. } = self.held_lockfile().await? {
            if let Some((bucket, key)) = &self.lockfile {
                bucket.delete(key).await?;
                removed.push((LockBackend::S3Lockfile, raw));
            }
        }
        if let Held::Broken { raw, .. } = self.held_dynamodb().await? {
            if let Some(table) = &self.table {
                table.delete(&self.path).await?;
                removed.push((LockBackend::Dynamodb, raw));
            }
        }
        if removed.is_empty() {
            return Err(LockProblem::NoBrokenLock {
                lock: self.path.clone(),
                status: crate::hint::command(&["lock", "status"]),
            }
            .into());
        }
        Ok(removed)
    }

    /// The stored digest and the md5 of the current object.
    pub async fn digest_status(&self) -> Result<DigestStatus> {
        let stored = self.stored_digest().await?;
        let Some((bucket, key)) = &self.state else {
            return Err(LockProblem::NoDigest {
                lock: self.path.clone(),
            }
            .into());
        };
        let actual = match bucket.get(key, None, None).await {
            Ok(f) => Some(md5_hex(&f.bytes)),
            Err(e) if e.kind == AwsErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        Ok(self.digest_status_of(stored, actual))
    }

    /// [`Locker::digest_status`] for a caller that has read the current
    /// object already (`current`: its body; `None`: there is none), so it is
    /// not downloaded again.
    pub async fn digest_status_with(&self, current: Option<&[u8]>) -> Result<DigestStatus> {
        let stored = self.stored_digest().await?;
        if self.state.is_none() {
            return Err(LockProblem::NoDigest {
                lock: self.path.clone(),
            }
            .into());
        }
        Ok(self.digest_status_of(stored, current.map(md5_hex)))
    }

    async fn stored_digest(&self) -> Result<Option<String>> {
        Ok(match &self.table {
            Some(table) => table
                .get(&self.digest_id())
                .await?
                .and_then(|item| item.get("Digest").cloned())
                .filter(|d| !d.is_empty()),
            None => None,
        })
    }

    fn digest_status_of(&self, stored: Option<String>, actual: Option<String>) -> DigestStatus {
        let consistent = match (&stored, &actual) {
            (None, _) => true,
            (Some(s), Some(a)) => s.eq_ignore_ascii_case(a),
            (Some(_), None) => false,
        };
        DigestStatus {
            stored,
            actual,
            consistent,
            digest_kept: self.table.is_some(),
        }
    }
}

/// What `digest repair` found and did under the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRepaired {
    /// The stored digest before the repair.
    pub before: Option<String>,
    /// The digest now stored (`None`: the item was deleted, the object is gone).
    pub after: Option<String>,
    /// Whether anything was written.
    pub changed: bool,
}

/// Sets the stored digest to the md5 of the current object (deletes the
/// item when the object is gone), under the state lock, re-reading both
/// once the lock is held: the object may have changed meanwhile.
pub async fn repair_digest(locker: &Locker, timeout: Duration) -> Result<DigestRepaired> {
    with_lock(
        locker,
        "stateward-digest-repair",
        "",
        timeout,
        async |guard| {
            let now = locker.digest_status().await?;
            match &now.actual {
                Some(md5) => guard.put_digest(md5).await?,
                None => guard.delete_digest().await?,
            };
            Ok(DigestRepaired {
                before: now.stored.clone(),
                after: now.actual.clone(),
                changed: !now.consistent,
            })
        },
    )
    .await
}

/// `pid=N` of this process, for a lock's Info: lets
/// [`Locker::release_if_abandoned`] prove the holder gone.
pub fn pid_tag() -> String {
    format!("pid={}", std::process::id())
}

impl Locker {
    /// Releases a lock of `operation` that this user on this host took (its
    /// Info carries [`pid_tag`]) from a process that is no longer running (a
    /// killed run, a crashed machine). Returns the released lock's ID. Any
    /// other holder is left alone, so acquiring then fails with exit 3.
    pub async fn release_if_abandoned(&self, operation: &str) -> Result<Option<String>> {
        let status = self.status(OffsetDateTime::now_utc()).await?;
        let Some(held) = status.lock else {
            return Ok(None);
        };
        if held.operation != operation || held.who != info::who() {
            return Ok(None);
        }
        let Some(pid) = held
            .info
            .split_whitespace()
            .find_map(|w| w.strip_prefix("pid="))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            return Ok(None);
        };
        if pid == std::process::id() || process_alive(pid) {
            return Ok(None);
        }
        self.release(&held.id).await?;
        Ok(Some(held.id))
    }
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    std::path::Path::new("/proc").join(pid.to_string()).exists()
}

/// Without /proc, a holder cannot be proven gone: never taken over.
#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32) -> bool {
    true
}

/// The md5 digest of state bytes, as Terraform stores it (lowercase hex).
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// Stored digest versus the current object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct DigestStatus {
    /// The Digest in DynamoDB; null when no digest is kept.
    #[schemars(regex(pattern = "^[0-9a-f]{32}$"))]
    pub stored: Option<String>,
    /// md5 of the current state object; null when it is deleted.
    #[schemars(regex(pattern = "^[0-9a-f]{32}$"))]
    pub actual: Option<String>,
    pub consistent: bool,
    /// Whether this backend keeps a digest at all (DynamoDB mode).
    #[serde(skip)]
    pub digest_kept: bool,
}

/// What `lock release` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseTarget {
    /// The broken lock (an item or file whose Info cannot be read).
    Broken,
    /// The lock held with this Info.
    Held(LockInfo),
}

/// `lock release [ID] [--broken]`'s decision from the lock's `status` at
/// `path`. Pure. With `broken`: the broken lock, refused when there is
/// none. Else the lock whose ID is `id`, refused when nothing is locked,
/// when the lock is broken, or when it has another ID (naming its holder).
/// `rebuild_flag` (`--rebuild` or nothing) goes into the advice.
pub fn release_target(
    status: &LockStatus,
    path: &str,
    id: Option<&str>,
    broken: bool,
    rebuild_flag: &[&str],
    now: OffsetDateTime,
) -> Result<ReleaseTarget> {
    if broken {
        if !status.broken {
            return Err(LockProblem::NoBrokenLock {
                lock: path.to_owned(),
                status: crate::hint::command(&[&["lock", "status"], rebuild_flag].concat()),
            }
            .into());
        }
        return Ok(ReleaseTarget::Broken);
    }
    let Some(current) = &status.lock else {
        return Err(if status.broken {
            LockProblem::Broken {
                lock: path.to_owned(),
                release: crate::hint::command(
                    &[&["lock", "release", "--broken"], rebuild_flag].concat(),
                ),
            }
        } else {
            LockProblem::NotLocked {
                lock: path.to_owned(),
                looked_in: None,
            }
        }
        .into());
    };
    let id = id.unwrap_or_default();
    if current.id != id {
        return Err(LockProblem::IdMismatch {
            id: id.to_owned(),
            lock: path.to_owned(),
            holder: describe_holder(current, now),
        }
        .into());
    }
    Ok(ReleaseTarget::Held(current.clone()))
}

/// Combines what each backend holds into one status. Pure.
pub fn summarise(
    held: &[(LockBackend, Held)],
    configured: Vec<LockBackend>,
    now: OffsetDateTime,
) -> LockStatus {
    let mut backends = Vec::new();
    let mut lock: Option<LockInfo> = None;
    let mut broken = false;
    let mut problems = Vec::new();
    for (backend, h) in held {
        match h {
            Held::Free => {}
            Held::Locked(info) => {
                backends.push(*backend);
                match &lock {
                    None => lock = Some(info.clone()),
                    Some(first) if first.id != info.id => problems.push(format!(
                        "the {backend} holds a different lock ({}) than the first backend ({})",
                        info.id, first.id
                    )),
                    Some(_) => {}
                }
            }
            Held::Broken { problem, .. } => {
                backends.push(*backend);
                broken = true;
                problems.push(format!(
                    "the {backend} lock is broken: {problem}; remove it with `{}`",
                    crate::hint::command(&["lock", "release", "--broken"])
                ));
            }
        }
    }
    let mechanisms: Vec<MechanismStatus> = held
        .iter()
        .filter(|(b, _)| configured.contains(b))
        .map(|(backend, h)| MechanismStatus {
            backend: *backend,
            state: match h {
                Held::Free => "free",
                Held::Locked(_) => "locked",
                Held::Broken { .. } => "broken",
            },
            id: match h {
                Held::Locked(info) => Some(info.id.clone()),
                _ => None,
            },
        })
        .collect();
    // Both configured, one held: Terraform and OpenTofu take and release both.
    if let [a, b] = mechanisms.as_slice() {
        let (on, off) = match (a.state, b.state) {
            ("free", s) if s != "free" => (b, a),
            (s, "free") if s != "free" => (a, b),
            _ => (a, a),
        };
        if on.backend != off.backend {
            let the = |b: LockBackend| match b {
                LockBackend::S3Lockfile => "the S3 lock file",
                LockBackend::Dynamodb => "the DynamoDB lock item",
            };
            problems.push(format!(
                "only {} holds a lock{}; {} is free: the holder ignores {} (as Terraform and OpenTofu before 1.10 ignore the lock file), or a lock was half released; `stateward lock release ID` removes it from both",
                the(on.backend),
                on.id.as_deref().map(|id| format!(" ({id})")).unwrap_or_default(),
                the(off.backend),
                the(off.backend),
            ));
        }
    }
    let age_seconds = lock
        .as_ref()
        .and_then(LockInfo::created_at)
        .map(|t| (now - t).whole_seconds().max(0));
    LockStatus {
        locked: !backends.is_empty(),
        backends,
        lock,
        age_seconds,
        broken,
        problems,
        configured,
        mechanisms,
    }
}

/// `ID 1234… (OperationTypeApply by alice@ci-7, Terraform 1.0.3, created … — 2h 5m ago)`.
pub fn describe_holder(info: &LockInfo, now: OffsetDateTime) -> String {
    let age = info
        .created_at()
        .map(|t| format!(", {} ago", human_age((now - t).whole_seconds().max(0))))
        .unwrap_or_default();
    let reason = if info.info.is_empty() {
        String::new()
    } else {
        format!(", info {:?}", info.info)
    };
    format!(
        "lock ID {} (operation {}, who {}, version {}, created {}{age}{reason})",
        info.id, info.operation, info.who, info.version, info.created
    )
}

/// `3d 4h`, `2h 5m`, `7m 3s`, `12s`.
pub fn human_age(secs: i64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

/// Whose lock a failed conditional acquire ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictVerdict {
    /// The lock this process just wrote: an earlier attempt was applied and
    /// its response lost, so the SDK's retry failed its condition on it.
    Ours,
    /// Someone else's lock, a broken one, or one that could not be read.
    Theirs,
}

/// Decides whose lock a failed conditional acquire found (`held`, `None`
/// when it could not be read), given the ID this process wrote. Pure.
pub fn conflict_verdict(held: Option<&Held>, our_id: &str) -> ConflictVerdict {
    match held {
        Some(Held::Locked(info)) if !our_id.is_empty() && info.id == our_id => {
            ConflictVerdict::Ours
        }
        _ => ConflictVerdict::Theirs,
    }
}

/// Proof that this process holds the state lock. Everything that writes state
/// or the digest takes a `&LockGuard`.
#[derive(Debug)]
pub struct LockGuard<'a> {
    locker: &'a Locker,
    info: LockInfo,
}

impl LockGuard<'_> {
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    fn guards_state(&self) -> Result<()> {
        match self.locker.state {
            Some(_) => Ok(()),
            None => Err(Error::Refused(Refusal::LockNotGuarding {
                lock: self.locker.path.clone(),
            })),
        }
    }

    /// Writes the state object (a new S3 version). Returns the new version id.
    pub async fn put_state(&self, bytes: Vec<u8>) -> Result<Option<String>> {
        self.guards_state()?;
        let Some((bucket, key)) = &self.locker.state else {
            return Ok(None);
        };
        Ok(bucket.put(key, bytes, false).await?)
    }

    /// Sets the digest item to `md5` (DynamoDB mode; a no-op otherwise).
    /// Returns whether a digest was written.
    pub async fn put_digest(&self, md5: &str) -> Result<bool> {
        self.guards_state()?;
        match &self.locker.table {
            Some(table) => {
                table.put(&self.locker.digest_id(), "Digest", md5).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Deletes the digest item (when the state object is gone).
    pub async fn delete_digest(&self) -> Result<bool> {
        self.guards_state()?;
        match &self.locker.table {
            Some(table) => {
                table.delete(&self.locker.digest_id()).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// What an acquire interrupted by Ctrl-C left: `settled` when the write in
/// flight was answered (so what landed is known and was removed), else a
/// request still unanswered may yet land, and the message says how to check
/// and release it.
fn interrupted_acquire(
    path: &str,
    id: &str,
    settled: bool,
    removed: &[LockBackend],
) -> Interruption {
    let left = if !removed.is_empty() {
        format!(
            "what had been written was removed ({})",
            removed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" and ")
        )
    } else if settled {
        "none of it had been written".to_owned()
    } else {
        format!(
            "a lock request was still unanswered and may yet land: if `{}` shows lock ID {id}, release it with `{}`",
            crate::hint::command(&["lock", "status"]),
            crate::hint::command(&["lock", "release", id])
        )
    };
    Interruption::Acquire {
        state: path.to_owned(),
        id: id.to_owned(),
        left,
    }
}

/// The longest wait between two tries for a lock.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(16);

/// The waits between tries for a lock: 1 s, 2 s, 4 s, 8 s, then 16 s on
/// (Terraform's backoff for `-lock-timeout`). Pure.
pub fn retry_delays() -> impl Iterator<Item = Duration> {
    std::iter::successors(Some(Duration::from_secs(1)), |d| {
        Some((*d * 2).min(MAX_RETRY_DELAY))
    })
}

/// The line shown on stderr while waiting for a lock, redrawn in place.
struct WaitNotice {
    show: bool,
    spinner: Option<crate::output::Progress>,
}

impl WaitNotice {
    fn new(show: bool) -> Self {
        WaitNotice {
            show,
            spinner: None,
        }
    }

    /// Shows (or updates) the waiting line: a spinner of the one progress
    /// display, so it is drawn only where progress is.
    fn line(&mut self, text: &str) {
        let msg = format!("stateward: {text}");
        match &self.spinner {
            Some(p) => p.set_message(msg),
            None => self.spinner = Some(crate::output::Progress::status(msg)),
        }
    }

    fn clear(&mut self) {
        if let Some(p) = self.spinner.take() {
            p.finish();
        }
    }
}

/// Runs `work` holding the lock, and releases it on every exit path: when
/// `work` succeeds, fails, or the user presses Ctrl-C.
pub async fn with_lock<T>(
    locker: &Locker,
    operation: &str,
    reason: &str,
    timeout: Duration,
    work: impl AsyncFnOnce(&LockGuard<'_>) -> Result<T>,
) -> Result<T> {
    with_lock_opts(locker, operation, reason, timeout, OnInterrupt::Abort, work).await
}

/// What Ctrl-C does to the work under the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInterrupt {
    /// Drop the work at once and fail (state writes: nothing half-done follows).
    Abort,
    /// The work watches for Ctrl-C itself (it has a child process to let
    /// finish and a journal to write) and returns; the lock is released then.
    WorkHandlesIt,
}

/// [`with_lock`], choosing what Ctrl-C does.
pub async fn with_lock_opts<T>(
    locker: &Locker,
    operation: &str,
    reason: &str,
    timeout: Duration,
    on_interrupt: OnInterrupt,
    work: impl AsyncFnOnce(&LockGuard<'_>) -> Result<T>,
) -> Result<T> {
    with_lock_reporting(
        locker,
        operation,
        reason,
        timeout,
        on_interrupt,
        |_| "the work under the lock completed".to_owned(),
        work,
    )
    .await
}

/// [`with_lock_opts`], where `done` says in words what a successful `work`
/// did, for the message when the lock then cannot be released.
pub async fn with_lock_reporting<T>(
    locker: &Locker,
    operation: &str,
    reason: &str,
    timeout: Duration,
    on_interrupt: OnInterrupt,
    done: impl FnOnce(&T) -> String,
    work: impl AsyncFnOnce(&LockGuard<'_>) -> Result<T>,
) -> Result<T> {
    let now = OffsetDateTime::now_utc();
    let info = LockInfo::new(&locker.path, operation, reason, now);
    locker.acquire(&info, timeout).await?;
    tracing::debug!(id = %info.id, "lock acquired");
    // Until released, Ctrl-C comes here; a second one exits, naming the lock.
    let _shield = crate::interrupt::shield(format!(
        "the lock {} on {} may still be held: release it with `{}`",
        info.id,
        locker.path,
        crate::hint::command(&["lock", "release", info.id.as_str()])
    ));
    let guard = LockGuard { locker, info };
    let work = work(&guard);
    let outcome = tokio::select! {
        r = work => r,
        _ = crate::interrupt::pressed(), if on_interrupt == OnInterrupt::Abort => Err(Error::Interrupted(Interruption::UnderLock {
            versions: crate::hint::command(&["versions"]),
            digest: crate::hint::command(&["digest", "status"]),
        })),
    };
    let id = guard.info.id.clone();
    let release = locker.release(&id);
    // Ctrl-C now: the release goes on (a second Ctrl-C exits, naming the lock).
    tokio::pin!(release);
    let released = tokio::select! {
        r = &mut release => r,
        _ = crate::interrupt::pressed() => {
            crate::output::Stderr::default().line(format_args!(
                "stateward: interrupt: releasing the lock {id} first (Ctrl-C again exits at once and leaves it)"
            ));
            release.await
        }
    };
    match released {
        Ok(_) => {
            tracing::debug!(%id, "lock released");
            // From here Ctrl-C is nobody's: it ends the command at once.
            drop(_shield);
        }
        Err(e) => {
            let how = format!(
                "the lock {id} on {} could not be released ({e}), so Terraform and stateward stay locked out until it is: release it with `{}`",
                locker.path,
                crate::hint::command(&["lock", "release", id.as_str()])
            );
            return Err(match outcome {
                Ok(v) => Error::Refused(Refusal::Incomplete {
                    message: format!("{}; but {how}", done(&v)),
                }),
                // An interrupt stays an interrupt (exit 130), with the lock named.
                Err(Error::Interrupted(first)) => Error::Interrupted(Interruption::NotReleased {
                    first: Box::new(first),
                    how,
                }),
                Err(first) => Error::Refused(Refusal::Incomplete {
                    message: format!("{first}; also {how}"),
                }),
            });
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_removes_the_named_or_the_broken_lock_and_refuses_the_rest() {
        let now = OffsetDateTime::now_utc();
        let ours = LockInfo::with_id("abc", "b/k", "OperationTypeApply", "", now);
        let status = |h: Held| {
            summarise(
                &[(LockBackend::Dynamodb, h)],
                vec![LockBackend::Dynamodb],
                now,
            )
        };
        let locked = status(Held::Locked(ours.clone()));
        let free = status(Held::Free);
        let broken = status(Held::Broken {
            raw: "{".into(),
            problem: "not JSON".into(),
        });
        type Case<'a> = (
            &'a LockStatus,
            Option<&'a str>,
            bool,
            &'a [&'a str],
            Result<ReleaseTarget, &'a str>,
        );
        let cases: Vec<Case> = vec![
            (&locked, Some("abc"), false, &[], Ok(ReleaseTarget::Held(ours.clone()))),
            (&broken, None, true, &[], Ok(ReleaseTarget::Broken)),
            (&locked, Some("xyz"), false, &[], Err("lock ID \"xyz\" does not match the existing lock: the state b/k is locked by")),
            (&locked, None, false, &[], Err("lock ID \"\" does not match")),
            (&free, Some("abc"), false, &[], Err("the state b/k is not locked; nothing to release")),
            (&broken, Some("abc"), false, &["--rebuild"], Err("the lock on b/k is broken (its Info cannot be read); remove it with `stateward lock release --broken --rebuild`")),
            (&locked, None, true, &[], Err("there is no broken lock on b/k; `stateward lock status` shows the lock")),
            (&free, None, true, &["--rebuild"], Err("there is no broken lock on b/k; `stateward lock status --rebuild` shows the lock")),
        ];
        for (status, id, broken, flag, want) in cases {
            let got = release_target(status, "b/k", id, broken, flag, now);
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w),
                (Err(e), Err(w)) => {
                    assert!(e.to_string().starts_with(w), "{id:?} {broken}: {e}");
                    assert_eq!(e.exit_code(), crate::exit::ERROR);
                }
                (g, w) => panic!("{id:?} {broken}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn an_interrupted_acquire_says_what_it_left() {
        let cases: &[(bool, &[LockBackend], &str)] = &[
            (true, &[], "none of it had been written"),
            (
                true,
                &[LockBackend::S3Lockfile, LockBackend::Dynamodb],
                "what had been written was removed (",
            ),
            (
                false,
                &[LockBackend::Dynamodb],
                "what had been written was removed (",
            ),
            (false, &[], "may yet land: if `stateward lock status"),
        ];
        for (settled, removed, want) in cases {
            let m = interrupted_acquire("b/k", "abc", *settled, removed).to_string();
            assert!(m.contains(want), "{settled} {removed:?}: {m}");
            assert!(m.contains("(lock ID abc)"), "{m}");
        }
        let m = interrupted_acquire("b/k", "abc", false, &[]);
        assert!(
            matches!(&m, Interruption::Acquire { state, id, .. } if state == "b/k" && id == "abc"),
            "{m:?}"
        );
        assert!(m.to_string().contains("lock release abc"), "{m}");
    }
    use time::macros::datetime;

    fn lock(id: &str, created: &str) -> LockInfo {
        LockInfo {
            id: id.into(),
            operation: "OperationTypeApply".into(),
            info: "".into(),
            who: "alice@ci".into(),
            version: "1.0.3".into(),
            created: created.into(),
            path: "b/k".into(),
        }
    }

    #[test]
    fn summarises_backends() {
        let now = datetime!(2026-01-01 12:00:00 UTC);
        let both = vec![LockBackend::S3Lockfile, LockBackend::Dynamodb];
        // Free.
        let s = summarise(
            &[(LockBackend::Dynamodb, Held::Free)],
            vec![LockBackend::Dynamodb],
            now,
        );
        assert!(!s.locked && s.lock.is_none() && s.age_seconds.is_none() && !s.broken);
        // Held in DynamoDB, two hours old.
        let s = summarise(
            &[(
                LockBackend::Dynamodb,
                Held::Locked(lock("a", "2026-01-01T10:00:00.5Z")),
            )],
            vec![LockBackend::Dynamodb],
            now,
        );
        assert!(s.locked);
        assert_eq!(s.backends, vec![LockBackend::Dynamodb]);
        assert_eq!(s.age_seconds, Some(7199));
        // Both backends, same lock.
        let s = summarise(
            &[
                (
                    LockBackend::S3Lockfile,
                    Held::Locked(lock("a", "2026-01-01T11:59:00Z")),
                ),
                (
                    LockBackend::Dynamodb,
                    Held::Locked(lock("a", "2026-01-01T11:59:00Z")),
                ),
            ],
            both.clone(),
            now,
        );
        assert_eq!(s.backends.len(), 2);
        assert!(s.problems.is_empty());
        // Disagreeing backends are a problem, not an error.
        let s = summarise(
            &[
                (LockBackend::S3Lockfile, Held::Locked(lock("a", "x"))),
                (LockBackend::Dynamodb, Held::Locked(lock("b", "x"))),
            ],
            both,
            now,
        );
        assert_eq!(s.problems.len(), 1);
        assert_eq!(s.age_seconds, None, "unparseable Created gives no age");
        // Both configured, only one held: said per mechanism, and a warning.
        let s = summarise(
            &[
                (LockBackend::S3Lockfile, Held::Free),
                (LockBackend::Dynamodb, Held::Locked(lock("old", "x"))),
            ],
            vec![LockBackend::S3Lockfile, LockBackend::Dynamodb],
            now,
        );
        assert_eq!(
            s.mechanisms.iter().map(|m| m.state).collect::<Vec<_>>(),
            ["free", "locked"]
        );
        assert_eq!(s.mechanisms[1].id.as_deref(), Some("old"));
        assert_eq!(s.problems.len(), 1);
        assert!(
            s.problems[0].starts_with(
                "only the DynamoDB lock item holds a lock (old); the S3 lock file is free"
            ),
            "{:?}",
            s.problems
        );
        // One configured: no such warning.
        let s = summarise(
            &[
                (LockBackend::S3Lockfile, Held::Free),
                (LockBackend::Dynamodb, Held::Locked(lock("old", "x"))),
            ],
            vec![LockBackend::Dynamodb],
            now,
        );
        assert!(s.problems.is_empty() && s.mechanisms.len() == 1);
        // Broken Info: locked, broken, with advice.
        let s = summarise(
            &[(
                LockBackend::Dynamodb,
                Held::Broken {
                    raw: "".into(),
                    problem: "empty".into(),
                },
            )],
            vec![LockBackend::Dynamodb],
            now,
        );
        assert!(s.locked && s.broken && s.lock.is_none());
        assert!(s.problems[0].contains("--broken"));
    }

    #[test]
    fn a_failed_conditional_acquire_on_our_own_lock_is_ours() {
        let ours = "11111111-2222-3333-4444-555555555555";
        let cases: &[(&str, Option<Held>, ConflictVerdict)] = &[
            (
                "our ID: the SDK retried after a lost response",
                Some(Held::Locked(lock(ours, "x"))),
                ConflictVerdict::Ours,
            ),
            (
                "someone else's ID",
                Some(Held::Locked(lock(
                    "f9763602-b03f-e35c-da30-4083cdbb99ae",
                    "x",
                ))),
                ConflictVerdict::Theirs,
            ),
            (
                "broken lock, even holding our ID in its text",
                Some(Held::Broken {
                    raw: ours.into(),
                    problem: "not JSON".into(),
                }),
                ConflictVerdict::Theirs,
            ),
            (
                "released meanwhile",
                Some(Held::Free),
                ConflictVerdict::Theirs,
            ),
            ("holder unreadable", None, ConflictVerdict::Theirs),
        ];
        for (name, held, want) in cases {
            assert_eq!(conflict_verdict(held.as_ref(), ours), *want, "{name}");
        }
        // An empty ID never matches (a lock whose Info has no ID).
        assert_eq!(
            conflict_verdict(Some(&Held::Locked(lock("", "x"))), ""),
            ConflictVerdict::Theirs
        );
    }

    #[test]
    fn lock_retries_back_off_like_terraform() {
        let secs: Vec<u64> = retry_delays().take(7).map(|d| d.as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 16, 16]);
    }

    #[test]
    fn ages_read_like_people_say_them() {
        assert_eq!(human_age(12), "12s");
        assert_eq!(human_age(423), "7m 3s");
        assert_eq!(human_age(7500), "2h 5m");
        assert_eq!(human_age(3 * 86400 + 4 * 3600 + 5), "3d 4h");
    }

    #[test]
    fn md5_is_lowercase_hex() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"{}\n"), "8a80554c91d9fca8acb82f023de02f11");
    }
}

#[cfg(test)]
mod twin_tests;
