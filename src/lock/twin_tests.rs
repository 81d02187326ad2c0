//! Locks and the digest on the in-memory twin, in process: acquire and
//! release on each backend, conflicts, a lost acquire response, an acquire
//! whose outcome is unknown, broken locks, a failed release, digest repair.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::aws::object::Versioning;
use crate::storage::faulty::{Faults, Faulty, Op, When};
use crate::storage::memory::{MemoryBucket, MemoryTable};

const KEY: &str = "app.tfstate";
const PATH: &str = "b/app.tfstate";
const FILE: &str = "app.tfstate.tflock";

struct Twin {
    bucket: Arc<MemoryBucket>,
    table: Arc<MemoryTable>,
    faults: Arc<Faults>,
    locker: Locker,
}

fn twin(use_lockfile: bool, dynamodb: bool) -> Twin {
    let bucket = Arc::new(MemoryBucket::new("b", Versioning::Enabled));
    let table = Arc::new(MemoryTable::new("locks"));
    let faults = Faults::new();
    let store: Arc<dyn StateObjects> = Arc::new(Faulty::new(bucket.clone(), faults.clone()));
    let items: Option<Arc<dyn LockItems>> =
        dynamodb.then(|| Arc::new(Faulty::new(table.clone(), faults.clone())) as _);
    let locker = Locker::on(store, "b", KEY, items, use_lockfile).unwrap();
    Twin {
        bucket,
        table,
        faults,
        locker,
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn info(id: &str, operation: &str) -> LockInfo {
    LockInfo::with_id(id, PATH, operation, "", now())
}

const OURS: &str = "11111111-2222-3333-4444-555555555555";
const THEIRS: &str = "f9763602-b03f-e35c-da30-4083cdbb99ae";

#[tokio::test]
async fn acquire_and_release_on_every_backend_combination() {
    for (file, ddb) in [(true, false), (false, true), (true, true)] {
        let t = twin(file, ddb);
        let ours = info(OURS, "OperationTypeApply");
        t.locker.acquire(&ours, Duration::ZERO).await.unwrap();
        let s = t.locker.status(now()).await.unwrap();
        assert!(s.locked && s.problems.is_empty(), "{file} {ddb}: {s:?}");
        assert_eq!(s.backends.len(), usize::from(file) + usize::from(ddb));
        // The lock file holds exactly what Terraform writes.
        if file {
            assert_eq!(t.bucket.current(FILE), Some(ours.to_go_json().into_bytes()));
        }
        if ddb {
            assert_eq!(t.table.attr(PATH, "Info"), Some(ours.to_go_json()));
        }
        // A second acquire is a conflict naming the holder (exit 3).
        let e = t
            .locker
            .acquire(&info(THEIRS, "OperationTypePlan"), Duration::ZERO)
            .await
            .unwrap_err();
        assert_eq!(e.exit_code(), crate::exit::LOCKED);
        assert!(e.to_string().contains(OURS), "{e}");
        // A release with another ID removes nothing and names the holder.
        let e = t.locker.release(THEIRS).await.unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        assert!(t.locker.status(now()).await.unwrap().locked);
        let removed = t.locker.release(OURS).await.unwrap();
        assert_eq!(removed.id, OURS);
        assert!(!t.locker.status(now()).await.unwrap().locked);
        // Nothing left to release.
        let e = t.locker.release(OURS).await.unwrap_err();
        assert!(e.to_string().contains("is not locked"), "{e}");
    }
}

#[tokio::test]
async fn a_dynamodb_conflict_releases_the_file_lock_taken_first() {
    let t = twin(true, true);
    let theirs = info(THEIRS, "OperationTypeApply").to_go_json();
    t.table.put_raw(PATH, "Info", &theirs);
    let e = t
        .locker
        .acquire(&info(OURS, "OperationTypeApply"), Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), crate::exit::LOCKED);
    assert!(e.to_string().contains("locked in DynamoDB"), "{e}");
    assert_eq!(t.bucket.current(FILE), None, "our file lock was removed");
    // The file was taken first (one version), then given back (a delete
    // marker): Terraform's order, file then DynamoDB.
    assert_eq!(
        t.bucket.version_count(FILE),
        2,
        "file lock taken, then removed"
    );
    assert_eq!(
        t.table.attr(PATH, "Info"),
        Some(theirs),
        "theirs is untouched"
    );
}

#[tokio::test]
async fn a_lost_acquire_response_on_our_own_lock_is_ours_and_anothers_is_not() {
    for (file, ddb, op, key) in [
        (false, true, Op::ItemPutIfAbsent, PATH),
        (true, false, Op::Put, FILE),
    ] {
        let t = twin(file, ddb);
        // Applied, then the SDK's retry fails its condition on our own lock.
        t.faults
            .lose_response(op, Some(key), 1, AwsErrorKind::PreconditionFailed);
        let ours = info(OURS, "OperationTypeApply");
        t.locker.acquire(&ours, Duration::ZERO).await.unwrap();
        let s = t.locker.status(now()).await.unwrap();
        assert_eq!(s.lock.map(|l| l.id).as_deref(), Some(OURS), "{key}");
        t.locker.release(OURS).await.unwrap();
        // The same failed condition on someone else's lock is a conflict.
        let theirs = info(THEIRS, "OperationTypeApply");
        t.locker.acquire(&theirs, Duration::ZERO).await.unwrap();
        let e = t.locker.acquire(&ours, Duration::ZERO).await.unwrap_err();
        assert_eq!(e.exit_code(), crate::exit::LOCKED, "{key}: {e}");
        assert!(e.to_string().contains(THEIRS), "{key}: {e}");
        let s = t.locker.status(now()).await.unwrap();
        assert_eq!(s.lock.map(|l| l.id).as_deref(), Some(THEIRS), "{key}");
    }
}

#[tokio::test]
async fn an_acquire_whose_outcome_is_unknown_removes_what_of_it_landed() {
    let t = twin(true, true);
    t.faults
        .lose_response(Op::ItemPutIfAbsent, Some(PATH), 1, AwsErrorKind::Network);
    let e = t
        .locker
        .acquire(&info(OURS, "OperationTypeApply"), Duration::ZERO)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Aws(ref a) if a.kind == AwsErrorKind::Network),
        "{e}"
    );
    assert!(!t.locker.status(now()).await.unwrap().locked);
    assert_eq!(t.bucket.current(FILE), None);
    assert_eq!(t.table.attr(PATH, "Info"), None);
}

#[tokio::test]
async fn throttling_is_retried_until_the_lock_is_taken() {
    let t = twin(false, true);
    t.faults
        .fail(Op::ItemPutIfAbsent, Some(PATH), 1, AwsErrorKind::Throttled);
    // Terraform's backoff: the second try comes after 1 s.
    t.locker
        .acquire(&info(OURS, "OperationTypeApply"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        t.faults
            .calls()
            .iter()
            .filter(|(op, _)| *op == Op::ItemPutIfAbsent)
            .count(),
        2
    );
}

#[tokio::test]
async fn broken_locks_are_reported_and_removed_only_on_request() {
    let t = twin(true, true);
    t.table.put_raw(PATH, "Info", "not json");
    t.bucket.put_raw(FILE, b"");
    let s = t.locker.status(now()).await.unwrap();
    assert!(s.locked && s.broken && s.lock.is_none(), "{s:?}");
    let e = t
        .locker
        .acquire(&info(OURS, "OperationTypeApply"), Duration::ZERO)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("a broken lock"), "{e}");
    let removed = t.locker.release_broken().await.unwrap();
    assert_eq!(removed.len(), 2);
    assert!(!t.locker.status(now()).await.unwrap().locked);
    assert!(t.locker.release_broken().await.is_err());
}

#[tokio::test]
async fn with_lock_releases_after_the_work_and_reports_a_failed_release() {
    let t = twin(false, true);
    let v = with_lock(&t.locker, "op", "", Duration::ZERO, async |g| {
        assert_eq!(t.table.attr(PATH, "Info"), Some(g.info().to_go_json()));
        Ok(7)
    })
    .await
    .unwrap();
    assert_eq!(v, 7);
    assert!(!t.locker.status(now()).await.unwrap().locked);
    // A failed work: released too, the work's error comes back.
    let e = with_lock(&t.locker, "op", "", Duration::ZERO, async |_| {
        Err::<(), _>(Error::Usage("no".into()))
    })
    .await
    .unwrap_err();
    assert_eq!(e.to_string(), "no");
    assert!(!t.locker.status(now()).await.unwrap().locked);
    // The release fails: the lock stays, the error names it and the command.
    t.faults
        .fail(Op::ItemDeleteIf, Some(PATH), 1, AwsErrorKind::Network);
    let e = with_lock(&t.locker, "op", "", Duration::ZERO, async |_| Ok(1))
        .await
        .unwrap_err();
    let held = t.locker.status(now()).await.unwrap().lock.unwrap();
    assert!(
        e.to_string().starts_with(&format!(
            "the work under the lock completed; but the lock {} on {PATH} could not be released",
            held.id
        )),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains(&format!("`stateward lock release {}", held.id)),
        "{e}"
    );
}

#[tokio::test]
async fn digest_repair_sets_the_md5_of_the_current_object_under_the_lock() {
    let t = twin(false, true);
    t.bucket.put_raw(KEY, b"{\"serial\": 1}");
    t.table.put_raw(&t.locker.digest_id(), "Digest", "0000");
    let s = t.locker.digest_status().await.unwrap();
    assert!(!s.consistent && s.digest_kept);
    // The lock is taken for the write, and only then the object re-read.
    let took = t.faults.pause(
        "locked",
        Op::ItemGet,
        Some(&t.locker.digest_id()),
        1,
        When::Before,
    );
    let repair = repair_digest(&t.locker, Duration::ZERO);
    let change = async {
        took.reached().await;
        assert!(t.locker.status(now()).await.unwrap().locked);
        t.bucket.put_raw(KEY, b"{\"serial\": 2}");
        took.resume();
    };
    let (r, ()) = tokio::join!(repair, change);
    let r = r.unwrap();
    assert_eq!(r.before.as_deref(), Some("0000"));
    assert_eq!(r.after, Some(md5_hex(b"{\"serial\": 2}")));
    assert!(r.changed);
    assert!(t.locker.digest_status().await.unwrap().consistent);
    assert!(!t.locker.status(now()).await.unwrap().locked);
    // The object gone: the item is deleted.
    t.bucket.delete(KEY).await.unwrap();
    let r = repair_digest(&t.locker, Duration::ZERO).await.unwrap();
    assert_eq!(r.after, None);
    assert_eq!(t.table.attr(&t.locker.digest_id(), "Digest"), None);
    // Lock-file mode keeps no digest: nothing written.
    let f = twin(true, false);
    f.bucket.put_raw(KEY, b"{}");
    assert!(!f.locker.digest_status().await.unwrap().digest_kept);
}

/// Regression (issue 14 item 4): once the locked section had run, Ctrl-C
/// did nothing, because the section's shield outlived the release. The
/// shield names the lock while it is held and is gone once it is released.
#[tokio::test]
async fn ctrl_c_goes_back_to_the_command_once_the_lock_is_released() {
    let bucket = Arc::new(MemoryBucket::new("shield-twin", Versioning::Enabled));
    let table: Arc<dyn LockItems> = Arc::new(MemoryTable::new("locks"));
    let locker = Locker::on(bucket, "shield-twin", KEY, Some(table), false).unwrap();
    let ours = |l: Vec<String>| {
        l.into_iter()
            .filter(|s| s.contains("shield-twin/app.tfstate"))
            .count()
    };
    let held = with_lock(&locker, "op", "", Duration::ZERO, async |_| {
        Ok(ours(crate::interrupt::left_behind()))
    })
    .await
    .unwrap();
    assert_eq!(
        held, 1,
        "while the lock is held, Ctrl-C comes to its section"
    );
    assert_eq!(ours(crate::interrupt::left_behind()), 0);
}
