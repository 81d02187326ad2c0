//! Snapshots on the in-memory twin, in process: create (and not again for
//! unchanged content), list, verify, a tampered copy refused as a restore
//! source, an unusable current version refused with nothing written, a
//! manifest write that fails (no complete snapshot; a rerun completes), and
//! the prune decision. (`snapshot:ID` as a restore source: `store::refs`.)

use std::sync::Arc;

use time::macros::datetime;

use super::*;
use crate::aws::object::Versioning;
use crate::storage::faulty::{Faults, Faulty, Op};
use crate::storage::memory::MemoryBucket;

const KEY: &str = "network.tfstate";
const PREFIX: &str = "snaps/network";

fn state(serial: u64) -> Vec<u8> {
    format!(
        "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.0.3\",\n  \"serial\": {serial},\n  \"lineage\": \"network-lineage\",\n  \"outputs\": {{}},\n  \"resources\": []\n}}\n"
    )
    .into_bytes()
}

/// A state bucket holding serial 1, and a snapshot bucket (through the
/// fault wrapper) with a store under [`PREFIX`].
struct Twin {
    state: Arc<MemoryBucket>,
    snaps: Arc<MemoryBucket>,
    faults: Arc<Faults>,
    store: SnapshotStore,
}

impl Twin {
    fn new() -> Twin {
        let state = Arc::new(MemoryBucket::new("state", Versioning::Enabled));
        state.put_raw(KEY, &self::state(1));
        let snaps = Arc::new(MemoryBucket::new("snaps", Versioning::Enabled));
        let faults = Faults::new();
        let store =
            SnapshotStore::in_bucket(Arc::new(Faulty::new(snaps.clone(), faults.clone())), PREFIX);
        Twin {
            state,
            snaps,
            faults,
            store,
        }
    }

    async fn create(&self, now: OffsetDateTime) -> Result<Created> {
        create(&self.store, self.state.as_ref(), KEY, "test", now).await
    }
}

const T1: OffsetDateTime = datetime!(2026-11-01 10:00:00 UTC);
const T2: OffsetDateTime = datetime!(2026-11-02 10:00:00 UTC);
const T3: OffsetDateTime = datetime!(2026-11-03 10:00:00 UTC);

#[tokio::test]
async fn create_lists_verifies_and_does_not_snapshot_unchanged_content_again() {
    let t = Twin::new();
    let c = t.create(T1).await.unwrap();
    assert!(c.created);
    let m = &c.snapshot;
    assert_eq!((m.serial, m.lineage.as_str()), (1, "network-lineage"));
    assert_eq!(m.source_key, KEY);
    let listed = t.state.as_ref().list_versions(KEY).await.unwrap();
    assert_eq!(m.source_version_id, listed[0].version_id);
    assert_eq!(m.sha256, digests(&state(1)).sha256);
    assert_eq!(t.store.content(&m.id).await.unwrap(), state(1));
    assert_eq!(t.store.manifest(&m.id).await.unwrap(), *m);

    // The same content again: nothing new.
    let again = t.create(T2).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.snapshot.id, m.id);
    assert_eq!(t.store.list().await.unwrap().snapshots.len(), 1);

    t.state.put_raw(KEY, &state(2));
    let second = t.create(T2).await.unwrap();
    assert!(second.created);
    let listing = t.store.list().await.unwrap();
    assert!(listing.broken.is_empty(), "{:?}", listing.broken);
    let serials: Vec<u64> = listing.snapshots.iter().map(|m| m.serial).collect();
    assert_eq!(serials, [1, 2], "oldest first");
    for v in verify_many(&t.store, &listing.snapshots).await.unwrap() {
        assert!(v.ok, "{v:?}");
    }
}

#[tokio::test]
async fn a_tampered_snapshot_fails_verification() {
    let t = Twin::new();
    let good = t.create(T1).await.unwrap().snapshot;
    t.state.put_raw(KEY, &state(2));
    let bad = t.create(T2).await.unwrap().snapshot;
    let content_key = format!("{PREFIX}/{}/{STATE_FILE}", bad.id);
    t.snaps.put_raw(
        &content_key,
        &String::from_utf8(state(2))
            .unwrap()
            .replace("2,", "9,")
            .into_bytes(),
    );

    let v = verify(&t.store, &bad).await;
    assert!(!v.ok);
    assert!(
        v.problems.iter().any(|p| p.contains("sha256")),
        "{:?}",
        v.problems
    );
    assert!(verify(&t.store, &good).await.ok);
}

/// `snapshot verify` checks the newest snapshot; with `--all` every
/// snapshot, newest first, and each incomplete entry, as failed.
#[tokio::test]
async fn verify_checks_the_newest_or_all_with_the_incomplete_entries_failed() {
    let t = Twin::new();
    let good = t.create(T1).await.unwrap().snapshot;
    t.state.put_raw(KEY, &state(2));
    let bad = t.create(T2).await.unwrap().snapshot;
    t.snaps
        .put_raw(&format!("{PREFIX}/{}/{STATE_FILE}", bad.id), b"tampered");
    // A third whose manifest write fails: an incomplete entry.
    t.state.put_raw(KEY, &state(3));
    t.faults
        .fail(Op::Put, None, 2, crate::aws::AwsErrorKind::Network);
    assert!(t.create(T3).await.is_err());
    let listing = t.store.list().await.unwrap();
    assert_eq!(listing.broken.len(), 1);

    let newest = verify_listing(&t.store, &listing, false).await.unwrap();
    let seen: Vec<(&str, bool)> = newest.iter().map(|v| (v.id.as_str(), v.ok)).collect();
    assert_eq!(seen, vec![(bad.id.as_str(), false)]);

    let all = verify_listing(&t.store, &listing, true).await.unwrap();
    let seen: Vec<(&str, bool)> = all.iter().map(|v| (v.id.as_str(), v.ok)).collect();
    assert_eq!(
        seen,
        vec![
            (bad.id.as_str(), false),
            (good.id.as_str(), true),
            (listing.broken[0].0.as_str(), false)
        ]
    );
    assert!(
        all[2].problems[0].starts_with("it is not a complete snapshot: "),
        "{:?}",
        all[2].problems
    );
}

#[tokio::test]
async fn an_unusable_current_version_is_not_snapshotted_and_nothing_is_written() {
    let t = Twin::new();
    t.state
        .put_raw(KEY, b"{\"version\": 4, \"serial\": 3, \"lin");
    let err = t.create(T1).await.unwrap_err();
    assert!(
        matches!(err, Error::Refused(Refusal::UnusableCurrent { .. })),
        "{err}"
    );
    t.state.as_ref().delete(KEY).await.unwrap();
    let err = t.create(T1).await.unwrap_err();
    assert!(err.to_string().contains("delete marker"), "{err}");
    assert!(t.snaps.as_ref().list_keys("").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_manifest_write_leaves_no_complete_snapshot_and_a_rerun_completes() {
    let t = Twin::new();
    // The content is the first write, the manifest the second.
    t.faults
        .fail(Op::Put, None, 2, crate::aws::AwsErrorKind::Network);
    assert!(t.create(T1).await.is_err());
    let listing = t.store.list().await.unwrap();
    assert!(listing.snapshots.is_empty(), "not listed as complete");
    assert_eq!(listing.broken.len(), 1);
    assert!(
        listing.broken[0].1.contains(MANIFEST_FILE),
        "{:?}",
        listing.broken
    );

    let c = t.create(T1).await.unwrap();
    assert!(c.created);
    let listing = t.store.list().await.unwrap();
    assert_eq!(listing.snapshots.len(), 1);
    assert!(listing.broken.is_empty(), "{:?}", listing.broken);
    assert!(verify(&t.store, &c.snapshot).await.ok);
}

#[tokio::test]
async fn prune_keeps_the_newest_healthy_and_the_policy_and_forgets_the_rest() {
    let t = Twin::new();
    let mut ids = Vec::new();
    for (serial, at) in [(1, T1), (2, T2), (3, T3)] {
        t.state.put_raw(KEY, &state(serial));
        ids.push(t.create(at).await.unwrap().snapshot.id);
    }
    // The newest is damaged: the newest healthy one is serial 2.
    t.snaps
        .put_raw(&format!("{PREFIX}/{}/{STATE_FILE}", ids[2]), b"garbage");
    let policy = retention::Policy {
        keep_last: Some(1),
        ..Default::default()
    };
    let mut unhealthy = Vec::new();
    let listing = t.store.list().await.unwrap();
    let decision = prune_decision(&t.store, &listing, &policy, T3, &mut |id, problems| {
        unhealthy.push((id.to_owned(), problems.to_vec()))
    })
    .await;
    assert_eq!(listing.snapshots.len(), 3);
    assert_eq!(unhealthy.len(), 1);
    assert_eq!(unhealthy[0].0, ids[2]);
    let kept: Vec<&str> = decision.keep.iter().map(|k| k.id.as_str()).collect();
    assert!(kept.contains(&ids[2].as_str()), "keep_last: {kept:?}");
    assert!(kept.contains(&ids[1].as_str()), "newest healthy: {kept:?}");
    assert_eq!(decision.forget, [ids[0].clone()]);

    for id in &decision.forget {
        t.store.delete(id).await.unwrap();
    }
    let left: Vec<String> = t
        .store
        .list()
        .await
        .unwrap()
        .snapshots
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(left, ids[1..]);
}
