//! Recovery drills: a timed, non-destructive rehearsal of a state incident.
//!
//! A drill copies the current state (server-side) to a scratch key beside it,
//! `<key>.stateward-drill-<random>`, builds a short history there (the
//! original content twice, as a good history has several versions of one
//! lineage), damages it as the [`Scenario`] says, and then runs the real
//! detection and recovery code against the scratch key: [`crate::store::history`]
//! to detect, [`crate::restore::plan`] + [`crate::restore::execute`] (last good,
//! roll-forward serial, digest, lock) to recover. The scratch key has its own
//! lock item (`<bucket>/<scratch key>`), digest item and lock file, so the real
//! state object, its digest and its lock are only ever read (the copy source).
//!
//! The result must equal the original byte for byte apart from `serial`.
//! Every scratch object version, delete marker, lock and digest item is
//! removed at the end, whatever happened.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use time::OffsetDateTime;

use crate::aws::Aws;
use crate::config::Target;
use crate::error::{Error, Interruption, Refusal, Result};
use crate::lock::{self, md5_hex, LockInfo, Locker};
use crate::restore::{self, Source};
use crate::state::health::Status;
use crate::storage::{LockItems, StateObjects};
use crate::store::{history, HistoryOptions, ReadDepth};

/// The lock operation name drills take on the scratch key.
pub const OPERATION: &str = "stateward-drill";

/// Infix of scratch keys: `<key>.stateward-drill-<random>`.
pub const SCRATCH_INFIX: &str = ".stateward-drill-";

/// How old the planted lock of the `stuck-lock` scenario is.
pub const PLANTED_LOCK_AGE: Duration = Duration::from_secs(2 * 3600);

/// A lock older than this is reported stale by the `stuck-lock` detection.
pub const STALE_LOCK_AFTER: Duration = Duration::from_secs(15 * 60);

/// What goes wrong in a drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Garbage (an HTML error page) written over the state.
    Corrupt,
    /// The state cut in half, as an interrupted upload leaves it.
    Truncate,
    /// The state object deleted (a delete marker on top).
    Delete,
    /// Another workspace's state (another lineage) pushed over this one.
    ForeignLineage,
    /// A crashed apply's lock left behind on the state.
    StuckLock,
}

impl Scenario {
    pub const ALL: [Scenario; 5] = [
        Scenario::Corrupt,
        Scenario::Truncate,
        Scenario::Delete,
        Scenario::ForeignLineage,
        Scenario::StuckLock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Corrupt => "corrupt",
            Scenario::Truncate => "truncate",
            Scenario::Delete => "delete",
            Scenario::ForeignLineage => "foreign-lineage",
            Scenario::StuckLock => "stuck-lock",
        }
    }

    /// The health `versions` must report for the damaged top version.
    fn expected_status(self) -> Option<Status> {
        match self {
            Scenario::Corrupt | Scenario::Truncate => Some(Status::Corrupt),
            Scenario::Delete => Some(Status::Deleted),
            Scenario::ForeignLineage => Some(Status::ForeignLineage),
            Scenario::StuckLock => None,
        }
    }
}

/// One timed phase.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Phase {
    pub name: &'static str,
    pub seconds: f64,
}

/// The result of one drill (`--format json` contract).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub scenario: Scenario,
    /// Recovered, verified, cleaned up, and within the RTO.
    pub passed: bool,
    pub phases: Vec<Phase>,
    /// Sum of every phase.
    pub total_seconds: f64,
    pub rto_seconds: f64,
    /// Why the drill failed (text output and stderr only).
    #[serde(skip)]
    pub failure: Option<String>,
    /// The scratch key used.
    #[serde(skip)]
    pub scratch_key: String,
}

/// `<key>.stateward-drill-<12 hex>`.
pub fn scratch_key(key: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{key}{SCRATCH_INFIX}{}", &random[..12])
}

/// `target` with its state key replaced by `scratch` (default workspace, so
/// `state_key()` is `scratch` and the lock and digest items are the scratch key's own).
pub fn scratch_target(target: &Target, scratch: &str) -> Target {
    let mut t = target.clone();
    t.key = scratch.to_owned();
    t.workspace = "default".to_owned();
    t
}

struct Timer {
    phases: Vec<Phase>,
}

impl Timer {
    async fn run<T>(
        &mut self,
        name: &'static str,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let start = Instant::now();
        let out = work.await;
        self.phases.push(Phase {
            name,
            seconds: start.elapsed().as_secs_f64(),
        });
        out
    }
}

/// Runs one drill against `target` (the real state). `progress` gets one line per step.
pub async fn run(
    aws: &Aws,
    target: &Target,
    scenario: Scenario,
    rto: Duration,
    lock_timeout: Duration,
    concurrency: usize,
    progress: &mut dyn FnMut(String),
) -> Result<Report> {
    let bucket: Arc<dyn StateObjects> = Arc::new(aws.state_bucket(target));
    let table = target
        .dynamodb_table
        .as_deref()
        .map(|t| Arc::new(aws.table(t)) as Arc<dyn LockItems>);
    let stores = Stores {
        bucket,
        bucket_name: &target.bucket,
        table,
        use_lockfile: target.use_lockfile,
    };
    run_on(
        stores,
        &target.state_key(),
        scenario,
        rto,
        lock_timeout,
        concurrency,
        progress,
    )
    .await
}

/// Where a drill runs: the state bucket (named `bucket_name`) and the lock
/// table, on any storage (the adapters, the in-memory twin).
pub struct Stores<'a> {
    pub bucket: Arc<dyn StateObjects>,
    pub bucket_name: &'a str,
    pub table: Option<Arc<dyn LockItems>>,
    pub use_lockfile: bool,
}

/// [`run`] on `stores`, for the state `real_key`.
pub async fn run_on(
    stores: Stores<'_>,
    real_key: &str,
    scenario: Scenario,
    rto: Duration,
    lock_timeout: Duration,
    concurrency: usize,
    progress: &mut dyn FnMut(String),
) -> Result<Report> {
    let bucket = stores.bucket.as_ref();
    let real_key = real_key.to_owned();
    let target_bucket = stores.bucket_name;
    // The real state must be a readable state to copy; it is only read.
    let real = bucket.list_versions(&real_key).await?;
    let top = real.first().ok_or_else(|| Error::NoState {
        bucket: target_bucket.to_owned(),
        key: real_key.clone(),
    })?;
    if top.delete_marker {
        return Err(Error::Refused(Refusal::UnusableCurrent {
            state: format!("s3://{}/{real_key}", target_bucket),
            message: format!(
                "the state s3://{}/{real_key} is deleted: a drill copies the current state; restore it first (`{}`)",
                target_bucket,
                crate::hint::command(&["restore", "--last-good"])
            ),
        }));
    }
    let source_version = top.version_id.clone();
    let scratch = scratch_key(&real_key);
    let locker = Locker::on(
        stores.bucket.clone(),
        target_bucket,
        &scratch,
        stores.table.clone(),
        stores.use_lockfile,
    )?;
    progress(format!(
        "drill {}: scratch copy s3://{}/{scratch}",
        scenario.as_str(),
        target_bucket
    ));

    // Until the scratch objects are removed, Ctrl-C comes here: the drill
    // stops and cleans up; a second press exits at once, saying what to
    // remove by hand.
    let by_hand = remove_by_hand(target_bucket, &scratch);
    let _shield =
        crate::interrupt::shield(format!("the drill's scratch objects may remain: {by_hand}"));
    let mut timer = Timer { phases: Vec::new() };
    let phases = drill_phases(
        &mut timer,
        bucket,
        &real_key,
        &source_version,
        &scratch,
        &locker,
        scenario,
        lock_timeout,
        concurrency,
        progress,
    );
    let (outcome, pressed) = tokio::select! {
        biased;
        _ = crate::interrupt::pressed() => (Ok(()), true),
        o = phases => {
            let pressed = matches!(o, Err(Error::Interrupted(_)));
            (o, pressed)
        }
    };
    let cleaned = timer
        .run("cleanup", cleanup(bucket, &scratch, &locker, lock_timeout))
        .await;
    if pressed {
        return Err(Error::Interrupted(Interruption::Drill {
            scratch: format!("s3://{target_bucket}/{scratch}"),
            left: cleaned.err().map(|c| format!("{c}; {by_hand}")),
        }));
    }
    let failure = match (outcome, cleaned) {
        (Ok(()), Ok(())) => None,
        (Err(e), Ok(())) => Some(e.to_string()),
        (Ok(()), Err(c)) => {
            return Err(Error::Refused(Refusal::Incomplete {
                message: format!(
                    "the drill recovered, but its scratch objects could not all be removed ({c}); {by_hand}"
                ),
            }))
        }
        (Err(e), Err(c)) => {
            return Err(Error::Refused(Refusal::Incomplete {
                message: format!(
                    "the drill failed ({e}) and its scratch objects could not all be removed ({c}); {by_hand}"
                ),
            }))
        }
    };
    let total_seconds: f64 = timer.phases.iter().map(|p| p.seconds).sum();
    let rto_seconds = rto.as_secs_f64();
    let failure = failure.or_else(|| {
        (total_seconds > rto_seconds).then(|| {
            format!(
                "the drill took {} but the RTO is {}",
                fmt_seconds(total_seconds),
                fmt_seconds(rto_seconds)
            )
        })
    });
    Ok(Report {
        scenario,
        passed: failure.is_none(),
        phases: timer.phases,
        total_seconds,
        rto_seconds,
        failure,
        scratch_key: scratch,
    })
}

/// What to remove by hand when the drill could not clean up after itself.
fn remove_by_hand(bucket: &str, scratch: &str) -> String {
    format!("remove every version of s3://{bucket}/{scratch}* and the DynamoDB items {bucket}/{scratch} and {bucket}/{scratch}-md5 by hand")
}

/// `0.42s`, `12.3s`, `1h 2m` for people.
pub fn fmt_seconds(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.2}s")
    } else {
        crate::lock::human_age(s.round() as i64)
    }
}

#[allow(clippy::too_many_arguments)]
async fn drill_phases(
    timer: &mut Timer,
    bucket: &dyn StateObjects,
    real_key: &str,
    source_version: &str,
    scratch: &str,
    locker: &Locker,
    scenario: Scenario,
    lock_timeout: Duration,
    concurrency: usize,
    progress: &mut dyn FnMut(String),
) -> Result<()> {
    // Prepare: the good history, then the damage.
    let (original, planted) = timer
        .run("prepare", async {
            for _ in 0..2 {
                bucket.copy_version(real_key, source_version, scratch).await?;
            }
            let original = bucket.get(scratch, None, None).await?.bytes;
            let parsed = crate::state::parse(&original).map_err(|e| {
                Error::Refused(Refusal::UnusableCurrent {
                    state: format!("s3://{}/{real_key}", bucket.name()),
                    message: format!(
                        "the current state (version {source_version}) is not a readable Terraform state ({e}): a drill needs a healthy state to copy; restore it first (`{}`)",
                        crate::hint::command(&["restore", "--last-good"])
                    ),
                })
            })?;
            let lineage = parsed.lineage.to_string();
            drop(parsed);
            // As Terraform left it: the digest of the good state.
            let md5 = md5_hex(&original);
            lock::with_lock(locker, OPERATION, "drill setup", lock_timeout, async |g| {
                g.put_digest(&md5).await
            })
            .await?;
            let planted = damage(bucket, scratch, locker, scenario, &original, &lineage).await?;
            Ok((original, planted))
        })
        .await?;
    progress(format!("damaged the scratch copy ({})", scenario.as_str()));

    if scenario == Scenario::StuckLock {
        let Some(planted) = planted else {
            return Err(Error::Refused(Refusal::DrillCheck {
                message: "the stuck-lock scenario planted no lock to detect".into(),
            }));
        };
        // Detect: a lock older than the stale threshold.
        let id = timer
            .run("detect", async {
                let status = locker.status(OffsetDateTime::now_utc()).await?;
                let stale = status.locked
                    && status
                        .age_seconds
                        .is_some_and(|a| a as u64 >= STALE_LOCK_AFTER.as_secs());
                match (&status.lock, stale) {
                    (Some(info), true) => Ok(info.id.clone()),
                    _ => Err(Error::Refused(Refusal::DrillCheck {
                        message: format!(
                            "lock status did not report the planted stale lock {} (locked: {}, age: {:?})",
                            planted.id, status.locked, status.age_seconds
                        ),
                    })),
                }
            })
            .await?;
        progress(format!("detected a stale lock {id}"));
        timer
            .run("restore", async { locker.release(&id).await.map(|_| ()) })
            .await?;
        progress(format!("released lock {id}"));
        timer
            .run("verify", async {
                // A writer can take the lock again, and the state and digest are intact.
                lock::with_lock(
                    locker,
                    OPERATION,
                    "drill verify",
                    lock_timeout,
                    async |_| Ok(()),
                )
                .await?;
                let now = bucket.get(scratch, None, None).await?.bytes;
                if now != original {
                    return Err(Error::Refused(Refusal::DrillCheck {
                        message: "the scratch state changed while the lock was released".into(),
                    }));
                }
                check_digest(locker).await
            })
            .await?;
        progress("verified: the lock can be taken again; state and digest intact".into());
        return Ok(());
    }

    // Detect: the history's top version has the scenario's problem.
    timer
        .run("detect", async {
            let opts = HistoryOptions {
                limit: None,
                depth: ReadDepth::Full,
                concurrency,
                keep_newest: false,
            };
            let hist = history(bucket, scratch, opts).await?;
            let top = &hist.versions[0];
            let want = scenario.expected_status();
            if Some(top.health.status) != want {
                return Err(Error::Refused(Refusal::DrillCheck {
                    message: format!(
                        "detection failed: the damaged version was reported {} (expected {})",
                        top.health.status.as_str(),
                        want.map(Status::as_str).unwrap_or("-")
                    ),
                }));
            }
            Ok(())
        })
        .await?;
    progress(format!(
        "detected: the current version is {}",
        scenario
            .expected_status()
            .map(Status::as_str)
            .unwrap_or("-")
    ));

    let outcome = timer
        .run("restore", async {
            let plan = restore::plan(
                bucket,
                scratch,
                &Source::LastGood,
                false,
                false,
                None,
                concurrency,
            )
            .await?;
            restore::execute(
                plan,
                bucket,
                locker,
                "stateward drill",
                lock_timeout,
                &mut |_| {},
            )
            .await
        })
        .await?;
    progress(format!(
        "restored {} as serial {}",
        outcome.restored_from, outcome.serial
    ));

    timer
        .run("verify", async {
            let restored = bucket.get(scratch, None, None).await?.bytes;
            let expected = crate::state::set_serial(&original, outcome.serial).map_err(|e| {
                Error::Unreadable {
                    what: "the original state".into(),
                    problem: e.to_string(),
                }
            })?;
            if restored != expected {
                return Err(Error::Refused(Refusal::DrillCheck {
                    message: format!(
                        "verification failed: the recovered state ({} bytes) differs from the original ({} bytes) beyond its serial",
                        restored.len(),
                        original.len()
                    ),
                }));
            }
            check_digest(locker).await?;
            let status = locker.status(OffsetDateTime::now_utc()).await?;
            if status.locked {
                return Err(Error::Refused(Refusal::DrillCheck {
                    message: "verification failed: the lock is still held after the restore".into(),
                }));
            }
            Ok(())
        })
        .await?;
    progress(
        "verified: same content as the original apart from serial; digest matches; lock free"
            .into(),
    );
    Ok(())
}

async fn check_digest(locker: &Locker) -> Result<()> {
    let d = locker.digest_status().await?;
    if !d.consistent {
        return Err(Error::Refused(Refusal::DrillCheck {
            message: format!(
                "verification failed: the digest ({}) does not match the state ({})",
                d.stored.as_deref().unwrap_or("-"),
                d.actual.as_deref().unwrap_or("-")
            ),
        }));
    }
    Ok(())
}

/// Damages the scratch key. Returns the planted lock for `stuck-lock`.
async fn damage(
    bucket: &dyn StateObjects,
    scratch: &str,
    locker: &Locker,
    scenario: Scenario,
    original: &[u8],
    lineage: &str,
) -> Result<Option<LockInfo>> {
    match scenario {
        Scenario::Corrupt => {
            bucket
                .put(
                    scratch,
                    b"<html><body>503 Service Unavailable</body></html>\n".to_vec(),
                    false,
                )
                .await?;
        }
        Scenario::Truncate => {
            bucket
                .put(scratch, original[..original.len() / 2].to_vec(), false)
                .await?;
        }
        Scenario::Delete => bucket.delete(scratch).await?,
        Scenario::ForeignLineage => {
            bucket
                .put(scratch, foreign_state(original, lineage)?, false)
                .await?;
        }
        Scenario::StuckLock => {
            let now = OffsetDateTime::now_utc();
            let mut info = LockInfo::new(
                &locker.path,
                "OperationTypeApply",
                "planted by stateward drill (stuck-lock)",
                now - PLANTED_LOCK_AGE,
            );
            info.who = "ci-runner@crashed (stateward drill)".into();
            locker.try_acquire(&info).await?;
            return Ok(Some(info));
        }
    }
    Ok(None)
}

/// The same state as another workspace's: a new lineage, serial 1.
fn foreign_state(original: &[u8], lineage: &str) -> Result<Vec<u8>> {
    let mut doc: serde_json::Value =
        serde_json::from_slice(original).map_err(|e| Error::Unreadable {
            what: "the original state".into(),
            problem: e.to_string(),
        })?;
    let mut other = uuid::Uuid::new_v4().to_string();
    if other == lineage {
        other = uuid::Uuid::new_v4().to_string();
    }
    doc["lineage"] = serde_json::Value::String(other);
    doc["serial"] = serde_json::json!(1);
    let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| Error::Unreadable {
        what: "the foreign state".into(),
        problem: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Removes every trace of the scratch key: any lock left on it, its digest
/// item, and every version and delete marker under `<scratch>` (the state
/// and its `.tflock` file).
pub async fn cleanup(
    bucket: &dyn StateObjects,
    scratch: &str,
    locker: &Locker,
    lock_timeout: Duration,
) -> Result<()> {
    // A lock left behind (a failed stuck-lock drill): only ever the scratch key's.
    let status = locker.status(OffsetDateTime::now_utc()).await?;
    if status.broken {
        locker.release_broken().await?;
    }
    if let Some(info) = &status.lock {
        locker.release(&info.id).await?;
    }
    lock::with_lock(
        locker,
        OPERATION,
        "drill cleanup",
        lock_timeout,
        async |g| g.delete_digest().await.map(|_| ()),
    )
    .await?;
    let keys = [
        scratch.to_owned(),
        crate::model::lock_names::lock_file_key(scratch),
    ];
    for key in &keys {
        for v in bucket.list_versions(key).await? {
            bucket.delete_version(key, &v.version_id).await?;
        }
    }
    for key in &keys {
        if let Some(v) = bucket.list_versions(key).await?.first() {
            return Err(Error::Refused(Refusal::Incomplete {
                message: format!(
                    "version {} of s3://{}/{key} is still there",
                    v.version_id,
                    bucket.name(),
                ),
            }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_keys_sit_beside_the_state() {
        let a = scratch_key("env:/blue/platform/terraform.tfstate");
        let b = scratch_key("env:/blue/platform/terraform.tfstate");
        assert!(a.starts_with("env:/blue/platform/terraform.tfstate.stateward-drill-"));
        assert_eq!(
            a.len(),
            "env:/blue/platform/terraform.tfstate".len() + 17 + 12
        );
        assert_ne!(a, b);
    }

    #[test]
    fn scratch_target_has_its_own_lock_and_digest_items() {
        let real = Target {
            bucket: "b".into(),
            key: "k/terraform.tfstate".into(),
            workspace: "blue".into(),
            workspace_key_prefix: "env:".into(),
            region: None,
            dynamodb_table: Some("locks".into()),
            use_lockfile: true,
            s3_endpoint: None,
            dynamodb_endpoint: None,
            endpoint_url: None,
            force_path_style: false,
            profile: None,
            access: Default::default(),
            encryption: Default::default(),
            aws_endpoint_env: vec![],
            source: String::new(),
        };
        let scratch = scratch_key(&real.state_key());
        let t = scratch_target(&real, &scratch);
        assert_eq!(t.state_key(), scratch);
        assert_eq!(t.lock_id(), format!("b/{scratch}"));
        assert_ne!(t.lock_id(), real.lock_id());
        assert_ne!(t.digest_lock_id(), real.digest_lock_id());
        assert_eq!(t.lockfile_key(), format!("{scratch}.tflock"));
    }

    #[test]
    fn a_foreign_state_has_another_lineage() {
        let original = br#"{"version": 4, "terraform_version": "1.0.3", "serial": 7, "lineage": "aaa", "outputs": {}, "resources": []}"#;
        let bytes = foreign_state(original, "aaa").unwrap();
        let s = crate::state::parse(&bytes).unwrap();
        assert_ne!(s.lineage, "aaa");
        assert_eq!(s.serial, 1);
    }

    #[test]
    fn formats_durations() {
        assert_eq!(fmt_seconds(0.4213), "0.42s");
        assert_eq!(fmt_seconds(3600.0), "1h 0m");
    }
}

#[cfg(test)]
mod twin_tests {
    //! Every drill scenario on the in-memory twin, in process: damage,
    //! detection, recovery under the lock, verification and cleanup; and a
    //! failed recovery write reported, the scratch objects still removed.
    use super::*;
    use crate::aws::object::Versioning;
    use crate::aws::AwsErrorKind;
    use crate::storage::faulty::{Faults, Faulty, Op};
    use crate::storage::memory::{MemoryBucket, MemoryTable};

    const KEY: &str = "app.tfstate";
    const STATE: &str = "{\"version\":4,\"terraform_version\":\"1.0.3\",\"serial\":7,\"lineage\":\"real\",\"outputs\":{},\"resources\":[]}\n";

    fn twin() -> (Arc<MemoryBucket>, Arc<MemoryTable>, Arc<Faults>) {
        let bucket = Arc::new(MemoryBucket::new("b", Versioning::Enabled));
        bucket.put_raw(KEY, STATE.as_bytes());
        (bucket, Arc::new(MemoryTable::new("locks")), Faults::new())
    }

    async fn drill(
        bucket: &Arc<MemoryBucket>,
        table: &Arc<MemoryTable>,
        faults: &Arc<Faults>,
        scenario: Scenario,
        lockfile: bool,
        dynamodb: bool,
    ) -> Result<Report> {
        let stores = Stores {
            bucket: Arc::new(Faulty::new(bucket.clone(), faults.clone())),
            bucket_name: "b",
            table: dynamodb.then(|| {
                Arc::new(Faulty::new(table.clone(), faults.clone())) as Arc<dyn LockItems>
            }),
            use_lockfile: lockfile,
        };
        run_on(
            stores,
            KEY,
            scenario,
            Duration::from_secs(3600),
            Duration::ZERO,
            2,
            &mut |_| {},
        )
        .await
    }

    #[tokio::test]
    async fn every_scenario_recovers_and_leaves_nothing_behind() {
        for (lockfile, dynamodb) in [(false, true), (true, false)] {
            for scenario in Scenario::ALL {
                let (bucket, table, faults) = twin();
                let r = drill(&bucket, &table, &faults, scenario, lockfile, dynamodb)
                    .await
                    .unwrap();
                let what = format!("{} {lockfile} {dynamodb}", scenario.as_str());
                assert!(r.passed, "{what}: {:?}", r.failure);
                assert_eq!(bucket.version_count(&r.scratch_key), 0, "{what}");
                assert_eq!(
                    bucket.version_count(&format!("{}.tflock", r.scratch_key)),
                    0,
                    "{what}"
                );
                assert_eq!(
                    table.attr(&format!("b/{}", r.scratch_key), "Info"),
                    None,
                    "{what}"
                );
                assert_eq!(
                    table.attr(&format!("b/{}-md5", r.scratch_key), "Digest"),
                    None,
                    "{what}"
                );
                // The real state is only read.
                assert_eq!(bucket.version_count(KEY), 1, "{what}");
                assert_eq!(
                    bucket.current(KEY).as_deref(),
                    Some(STATE.as_bytes()),
                    "{what}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_failed_recovery_is_reported_and_the_scratch_still_removed() {
        let (bucket, table, faults) = twin();
        // Prepare copies the state to the scratch key, the damage is the
        // first write, the recovery's the second (the scratch key is fresh
        // for each drill: every put is to it).
        faults.fail(Op::Put, None, 2, AwsErrorKind::Network);
        let r = drill(&bucket, &table, &faults, Scenario::Corrupt, false, true)
            .await
            .unwrap();
        assert!(!r.passed, "{:?}", faults.calls());
        assert!(r.failure.is_some_and(|f| f.contains("FaultInjected")));
        assert_eq!(bucket.version_count(&r.scratch_key), 0);
        assert_eq!(bucket.current(KEY).as_deref(), Some(STATE.as_bytes()));
    }

    #[tokio::test]
    async fn a_deleted_state_is_refused_before_anything_is_written() {
        let (bucket, table, faults) = twin();
        bucket.delete(KEY).await.unwrap();
        let e = drill(&bucket, &table, &faults, Scenario::Corrupt, false, true)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("is deleted"), "{e}");
        assert!(faults
            .calls()
            .iter()
            .all(|(op, key)| *op == Op::ListVersions && key == KEY));
    }
}
