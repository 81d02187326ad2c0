//! Restore on the in-memory twin, in process: every path of `execute`,
//! each crash point (a pause that never ends, the future then dropped,
//! leaves everything as a killed process would), a failed digest update, a
//! failed release, and an acquire whose response was lost.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::aws::AwsErrorKind;
use crate::lock::{md5_hex, repair_digest, Locker};
use crate::storage::faulty::{Faults, Faulty, Op, Pause, When};
use crate::storage::memory::{MemoryBucket, MemoryTable};

const KEY: &str = "network.tfstate";
const PATH: &str = "b/network.tfstate";
const DIGEST: &str = "b/network.tfstate-md5";

fn state(serial: u64) -> Vec<u8> {
    format!(
        "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.0.3\",\n  \"serial\": {serial},\n  \"lineage\": \"network-lineage\",\n  \"outputs\": {{}},\n  \"resources\": []\n}}\n"
    )
    .into_bytes()
}

/// A bucket with serials 1 and 2 written as Terraform does (digest in
/// step), then garbage written over them without a digest.
struct Twin {
    bucket: Arc<MemoryBucket>,
    table: Arc<MemoryTable>,
    faults: Arc<Faults>,
    store: Arc<dyn StateObjects>,
    locker: Locker,
}

impl Twin {
    fn new(use_lockfile: bool, dynamodb: bool) -> Twin {
        let bucket = Arc::new(MemoryBucket::new("b", Versioning::Enabled));
        let table = Arc::new(MemoryTable::new("locks"));
        for serial in [1, 2] {
            bucket.put_raw(KEY, &state(serial));
        }
        table.put_raw(DIGEST, "Digest", &md5_hex(&state(2)));
        bucket.put_raw(KEY, b"garbage");
        let faults = Faults::new();
        let store: Arc<dyn StateObjects> = Arc::new(Faulty::new(bucket.clone(), faults.clone()));
        let items: Option<Arc<dyn crate::storage::LockItems>> =
            dynamodb.then(|| Arc::new(Faulty::new(table.clone(), faults.clone())) as _);
        let locker = Locker::on(store.clone(), "b", KEY, items, use_lockfile).unwrap();
        Twin {
            bucket,
            table,
            faults,
            store,
            locker,
        }
    }

    async fn plan(&self) -> Result<Plan> {
        plan(
            self.store.as_ref(),
            KEY,
            &Source::LastGood,
            false,
            false,
            None,
            4,
        )
        .await
    }

    async fn restore(&self) -> Result<Outcome> {
        let plan = self.plan().await?;
        execute(
            plan,
            self.store.as_ref(),
            &self.locker,
            "",
            Duration::ZERO,
            &mut |_| {},
        )
        .await
    }

    /// Runs a restore until `pause` is reached, then drops it: a crash.
    async fn crash_at(&self, pause: Arc<Pause>) {
        let plan = self.plan().await.unwrap();
        let mut progress = |_: String| {};
        let run = execute(
            plan,
            self.store.as_ref(),
            &self.locker,
            "",
            Duration::ZERO,
            &mut progress,
        );
        tokio::select! {
            r = run => panic!("the restore ended before the crash point {}: {r:?}", pause.name),
            () = pause.reached() => {}
        }
    }

    fn digest_in_step(&self) -> bool {
        let current = self.bucket.current(KEY).unwrap();
        self.table.attr(DIGEST, "Digest") == Some(md5_hex(&current))
    }

    fn serial_now(&self) -> Option<u64> {
        crate::state::header::read_header(&self.bucket.current(KEY)?).serial
    }

    async fn held_id(&self) -> Option<String> {
        let s = self
            .locker
            .status(time::OffsetDateTime::now_utc())
            .await
            .unwrap();
        s.lock.map(|l| {
            assert_eq!(l.operation, OPERATION);
            l.id
        })
    }
}

#[tokio::test]
async fn a_restore_writes_the_next_serial_sets_the_digest_and_releases_the_lock() {
    for (lockfile, dynamodb) in [(false, true), (true, false), (true, true)] {
        let t = Twin::new(lockfile, dynamodb);
        let before = t.bucket.version_count(KEY);
        let plan = t.plan().await.unwrap();
        assert!(matches!(plan.current, Current::Corrupt { .. }));
        assert_eq!((plan.chosen_serial, plan.new_serial), (2, 3));
        let o = t.restore().await.unwrap();
        assert_eq!(o.serial, 3);
        assert_eq!(o.digest_updated, dynamodb);
        assert_eq!(t.bucket.version_count(KEY), before + 1);
        assert_eq!(t.serial_now(), Some(3));
        if dynamodb {
            assert!(t.digest_in_step());
        }
        assert_eq!(t.held_id().await, None, "{lockfile} {dynamodb}: released");
        // The chosen bytes, only the serial changed.
        let bytes = t.bucket.current(KEY).unwrap();
        let restored = crate::state::parse(&bytes).unwrap();
        assert_eq!(restored.lineage.to_string(), "network-lineage");
        // Again: now the current version is healthy, it is restored over.
        let o = t.restore().await.unwrap();
        assert_eq!((o.serial, o.replaced_version.is_some()), (3, false));
    }
}

#[tokio::test]
async fn a_restore_refuses_a_bucket_without_versioning_and_writes_nothing() {
    let t = Twin::new(false, true);
    t.bucket.set_versioning(Versioning::Suspended);
    let before = t.bucket.version_count(KEY);
    let e = t.restore().await.unwrap_err();
    assert!(e.to_string().contains("versioning is not enabled"), "{e}");
    assert_eq!(t.bucket.version_count(KEY), before);
}

#[tokio::test]
async fn a_restore_while_another_holds_the_lock_is_locked_and_writes_nothing() {
    let t = Twin::new(true, true);
    let theirs = crate::lock::LockInfo::with_id(
        "f9763602-b03f-e35c-da30-4083cdbb99ae",
        PATH,
        "OperationTypeApply",
        "",
        time::OffsetDateTime::now_utc(),
    );
    t.table.put_raw(PATH, "Info", &theirs.to_go_json());
    let before = t.bucket.version_count(KEY);
    let e = t.restore().await.unwrap_err();
    assert_eq!(e.exit_code(), crate::exit::LOCKED, "{e}");
    assert!(e.to_string().contains(&theirs.id), "{e}");
    assert_eq!(t.bucket.version_count(KEY), before);
    // Our lock file, taken first, was removed again.
    assert_eq!(t.bucket.current(&format!("{KEY}.tflock")), None);
}

#[tokio::test]
async fn a_crash_at_every_restore_step_loses_nothing_and_a_rerun_completes() {
    // (point, where it is, lock left held, a new version written, digest in step)
    type Point = (&'static str, Op, &'static str, When, bool, bool, bool);
    let points: [Point; 4] = [
        ("record", Op::Put, KEY, When::Before, true, false, false),
        ("write", Op::Put, KEY, When::After, true, true, false),
        ("digest", Op::ItemPut, DIGEST, When::After, true, true, true),
        (
            "release",
            Op::ItemDeleteIf,
            PATH,
            When::After,
            false,
            true,
            true,
        ),
    ];
    for (name, op, key, when, held, written, in_step) in points {
        let t = Twin::new(false, true);
        let before: Vec<String> = t
            .store
            .list_versions(KEY)
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.version_id)
            .collect();
        let pause = t.faults.pause(name, op, Some(key), 1, when);
        t.crash_at(pause).await;
        // Nothing is lost.
        let after: Vec<String> = t
            .store
            .list_versions(KEY)
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.version_id)
            .collect();
        assert!(before.iter().all(|v| after.contains(v)), "{name}");
        assert_eq!(after.len(), before.len() + usize::from(written), "{name}");
        assert_eq!(t.digest_in_step(), in_step, "{name}");
        // What is left to do is visible: the lock, held by the restore.
        let id = t.held_id().await;
        assert_eq!(id.is_some(), held, "{name}");
        if let Some(id) = id {
            // stateward never releases a stale lock by itself: a rerun is locked out.
            let e = t.restore().await.unwrap_err();
            assert_eq!(e.exit_code(), crate::exit::LOCKED, "{name}: {e}");
            assert!(e.to_string().contains(&id), "{name}: {e}");
            t.locker.release(&id).await.unwrap();
        }
        let o = t.restore().await.unwrap();
        assert!(t.digest_in_step(), "{name}");
        assert_eq!(t.held_id().await, None, "{name}");
        assert_eq!(t.serial_now(), Some(o.serial), "{name}");
        // A restore written before the crash is the current object now:
        // only its digest is put in step.
        assert_eq!(o.serial, 3, "{name}");
        assert_eq!(
            t.bucket.version_count(KEY),
            after.len() + usize::from(!written),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_failed_digest_update_says_what_was_written_and_the_repair_fixes_it() {
    let t = Twin::new(false, true);
    let before = t.bucket.version_count(KEY);
    t.faults
        .fail(Op::ItemPut, Some(DIGEST), 1, AwsErrorKind::Network);
    let e = t.restore().await.unwrap_err();
    let m = e.to_string();
    assert!(
        m.starts_with("the restored state was written to s3://b/network.tfstate as version "),
        "{m}"
    );
    assert!(
        m.contains("(serial 3)") && m.contains("Terraform will refuse this state"),
        "{m}"
    );
    assert!(m.ends_with("fix it with `stateward digest repair`"), "{m}");
    assert_eq!(t.bucket.version_count(KEY), before + 1);
    assert!(!t.digest_in_step());
    assert_eq!(t.held_id().await, None, "the lock was released");
    // The advised repair works.
    let r = repair_digest(&t.locker, Duration::ZERO).await.unwrap();
    assert!(r.changed);
    assert_eq!(r.after, t.bucket.current(KEY).map(|b| md5_hex(&b)));
    assert!(t.digest_in_step());
}

#[tokio::test]
async fn a_failed_release_after_a_restore_names_the_lock_and_its_release_works() {
    let t = Twin::new(false, true);
    t.faults
        .fail(Op::ItemDeleteIf, Some(PATH), 1, AwsErrorKind::Network);
    let e = t.restore().await.unwrap_err();
    let m = e.to_string();
    assert!(
        m.starts_with("the restore succeeded: s3://b/network.tfstate is now version "),
        "{m}"
    );
    assert!(m.contains("digest updated"), "{m}");
    let id = t.held_id().await.expect("the lock is still held");
    assert!(
        m.contains(&format!("release it with `stateward lock release {id}`")),
        "{m}"
    );
    assert!(t.digest_in_step());
    t.locker.release(&id).await.unwrap();
    assert_eq!(t.held_id().await, None);
}

#[tokio::test]
async fn a_restore_whose_lock_response_was_lost_proceeds_and_releases_it() {
    // The conditional write was applied, its response lost; the SDK's retry
    // then fails its condition on our own lock.
    for (lockfile, dynamodb, op, key) in [
        (false, true, Op::ItemPutIfAbsent, PATH.to_owned()),
        (true, false, Op::Put, format!("{KEY}.tflock")),
    ] {
        let t = Twin::new(lockfile, dynamodb);
        t.faults
            .lose_response(op, Some(&key), 1, AwsErrorKind::PreconditionFailed);
        let o = t.restore().await.unwrap();
        assert_eq!(o.serial, 3, "{key}");
        assert_eq!(t.serial_now(), Some(3), "{key}");
        assert_eq!(t.held_id().await, None, "{key}: our lock was released");
    }
}

#[tokio::test]
async fn a_failed_acquire_whose_outcome_is_unknown_leaves_no_lock_and_writes_nothing() {
    // The DynamoDB write is applied but fails otherwise (its outcome unknown
    // to us): what of our lock landed, file and item, is removed.
    let t = Twin::new(true, true);
    t.faults
        .lose_response(Op::ItemPutIfAbsent, Some(PATH), 1, AwsErrorKind::Network);
    let before = t.bucket.version_count(KEY);
    let e = t.restore().await.unwrap_err();
    assert!(
        matches!(e, Error::Aws(ref a) if a.kind == AwsErrorKind::Network),
        "{e}"
    );
    assert_eq!(t.held_id().await, None);
    assert_eq!(t.table.attr(PATH, "Info"), None);
    assert_eq!(t.bucket.current(&format!("{KEY}.tflock")), None);
    assert_eq!(t.bucket.version_count(KEY), before);
}

#[tokio::test]
async fn the_state_changing_after_the_plan_stops_the_restore_before_any_write() {
    let t = Twin::new(false, true);
    let plan = t.plan().await.unwrap();
    t.bucket.put_raw(KEY, &state(7));
    let before = t.bucket.version_count(KEY);
    let e = execute(
        plan,
        t.store.as_ref(),
        &t.locker,
        "",
        Duration::ZERO,
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("the state changed while the restore was being planned"),
        "{e}"
    );
    assert_eq!(t.bucket.version_count(KEY), before);
    assert_eq!(t.held_id().await, None);
}

#[tokio::test]
async fn the_current_problem_is_seen_on_the_twin() {
    let t = Twin::new(false, true);
    let p = current_problem(t.store.as_ref(), KEY).await.unwrap();
    assert!(matches!(p, Some(CurrentProblem::Corrupt { .. })), "{p:?}");
    t.bucket.put_raw(KEY, &state(3));
    assert_eq!(current_problem(t.store.as_ref(), KEY).await.unwrap(), None);
    t.store.delete(KEY).await.unwrap();
    let p = current_problem(t.store.as_ref(), KEY).await.unwrap();
    assert!(matches!(p, Some(CurrentProblem::Deleted { .. })), "{p:?}");
}
