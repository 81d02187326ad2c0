//! Bulk undelete: bring back every object under a prefix that was deleted
//! (its current version is a delete marker) within a time window, by removing
//! the delete markers on top of it.
//!
//! [`decide`] is pure: given a listing and `now`, it says which markers to
//! remove and which deleted objects to leave. [`execute`] removes them with
//! bounded concurrency.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde::Serialize;
use time::OffsetDateTime;

use crate::aws::AwsError;
use crate::store::KeyVersion;

/// An object to bring back: the delete markers to remove, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Undelete {
    pub key: String,
    /// Every delete marker above the newest real version.
    pub markers: Vec<String>,
    /// When it was deleted (the oldest of those markers).
    #[serde(with = "time::serde::rfc3339")]
    pub deleted_at: OffsetDateTime,
}

/// A deleted object left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    pub key: String,
    pub reason: String,
}

/// What [`decide`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// Objects to bring back, by key.
    pub restore: Vec<Undelete>,
    /// Deleted objects left deleted, by key.
    pub skipped: Vec<Skip>,
}

/// Which delete markers to remove. Only keys whose *current* version is a
/// delete marker are considered (a key with a newer real version is never
/// touched). Such a key is restored when every marker above its newest real
/// version was created within `since` of `now` (all of them are removed, so
/// an object deleted twice comes back too); otherwise it is skipped: deleted
/// before the window, or never had a real version (nothing to bring back).
/// `since = None` means no window.
pub fn decide(listing: &[KeyVersion], now: OffsetDateTime, since: Option<Duration>) -> Decision {
    let cutoff = since.map(|d| now - d);
    let mut by_key: BTreeMap<&str, Vec<&KeyVersion>> = BTreeMap::new();
    for e in listing {
        by_key.entry(e.key.as_str()).or_default().push(e);
    }
    let mut out = Decision::default();
    for (key, mut versions) in by_key {
        // Newest first: the current version, then by time (stable for ties).
        versions.sort_by(|a, b| {
            b.version
                .is_latest
                .cmp(&a.version.is_latest)
                .then(b.version.last_modified.cmp(&a.version.last_modified))
        });
        let top = versions[0];
        if !(top.version.is_latest && top.version.delete_marker) {
            continue;
        }
        let stack: Vec<&KeyVersion> = versions
            .iter()
            .copied()
            .take_while(|v| v.version.delete_marker)
            .collect();
        let has_real = stack.len() < versions.len();
        let deleted_at = stack
            .iter()
            .map(|v| v.version.last_modified)
            .min()
            .unwrap_or(top.version.last_modified);
        if !has_real {
            out.skipped.push(Skip {
                key: key.to_owned(),
                reason: "only delete markers: there is no version to bring back".into(),
            });
            continue;
        }
        if let Some(cutoff) = cutoff {
            if deleted_at < cutoff {
                out.skipped.push(Skip {
                    key: key.to_owned(),
                    reason: format!(
                        "deleted at {}, before the window",
                        crate::util::time::rfc3339(deleted_at)
                    ),
                });
                continue;
            }
        }
        out.restore.push(Undelete {
            key: key.to_owned(),
            markers: stack.iter().map(|v| v.version.version_id.clone()).collect(),
            deleted_at,
        });
    }
    out
}

/// What [`execute`] did.
#[derive(Debug, Default)]
pub struct Executed {
    /// Keys brought back, sorted.
    pub restored: Vec<String>,
    /// Keys that could not be, with the error.
    pub failed: Vec<(String, AwsError)>,
    /// Ctrl-C stopped the run before every object was done.
    pub interrupted: bool,
    /// Removals that were in flight when Ctrl-C came and had not answered
    /// within [`crate::interrupt::IN_FLIGHT_GRACE`]: they may yet land (their objects are then
    /// back, though not counted in `restored`).
    pub unsettled: usize,
}

/// Removes the markers of each object, `concurrency` at a time. `progress`
/// gets the number of objects done after each. Ctrl-C stops it: no further
/// object is started, the objects in flight are awaited (up to
/// [`crate::interrupt::IN_FLIGHT_GRACE`]; S3 applies what it received, so they are counted
/// rather than dropped unanswered; a rerun is safe either way, as it only
/// looks at keys whose current version is a marker), and what was done is
/// returned with `interrupted` set.
pub async fn execute(
    bucket: &dyn crate::storage::StateObjects,
    restore: &[Undelete],
    concurrency: usize,
    progress: &mut dyn FnMut(usize),
) -> Executed {
    let mut out = Executed::default();
    // Set at Ctrl-C: objects not yet started are left alone.
    let stop = AtomicBool::new(false);
    let in_flight = AtomicUsize::new(0);
    let (stop, in_flight) = (&stop, &in_flight);
    let mut results = stream::iter(restore.iter())
        .map(|u| async move {
            if stop.load(Ordering::SeqCst) {
                return None;
            }
            in_flight.fetch_add(1, Ordering::SeqCst);
            let removed = async {
                for m in &u.markers {
                    bucket.delete_version(&u.key, m).await?;
                }
                Ok::<_, AwsError>(u.key.clone())
            }
            .await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            Some(removed)
        })
        .buffer_unordered(concurrency.max(1));
    let mut done = 0;
    let mut record = |r: Result<String, AwsError>, out: &mut Executed| {
        match r {
            Ok(key) => out.restored.push(key),
            Err(e) => out.failed.push((e.resource.clone(), e)),
        }
        done += 1;
        progress(done);
    };
    let interrupted = crate::interrupt::pressed();
    tokio::pin!(interrupted);
    loop {
        let r = tokio::select! {
            biased;
            _ = &mut interrupted => {
                out.interrupted = true;
                break;
            }
            r = results.next() => r,
        };
        match r {
            None => break,
            Some(None) => {}
            Some(Some(r)) => record(r, &mut out),
        }
    }
    if out.interrupted {
        stop.store(true, Ordering::SeqCst);
        let drain = async {
            while let Some(r) = results.next().await {
                if let Some(r) = r {
                    record(r, &mut out);
                }
            }
        };
        if tokio::time::timeout(crate::interrupt::IN_FLIGHT_GRACE, drain)
            .await
            .is_err()
        {
            out.unsettled = in_flight.load(Ordering::SeqCst);
        }
    }
    out.restored.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ObjectVersion;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 12:00:00 UTC);

    fn v(key: &str, id: &str, mins_ago: i64, latest: bool, marker: bool) -> KeyVersion {
        KeyVersion {
            key: key.into(),
            version: ObjectVersion {
                version_id: id.into(),
                last_modified: NOW - time::Duration::minutes(mins_ago),
                size: if marker { 0 } else { 10 },
                is_latest: latest,
                delete_marker: marker,
                etag: None,
            },
        }
    }

    fn keys(d: &Decision) -> (Vec<&str>, Vec<&str>) {
        (
            d.restore.iter().map(|u| u.key.as_str()).collect(),
            d.skipped.iter().map(|s| s.key.as_str()).collect(),
        )
    }

    #[test]
    fn decides_which_markers_to_remove() {
        let hour = Some(Duration::from_secs(3600));
        // (name, listing, window, restored keys, skipped keys)
        type Case = (
            &'static str,
            Vec<KeyVersion>,
            Option<Duration>,
            Vec<&'static str>,
            Vec<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "deleted 5 minutes ago: restored",
                vec![
                    v("a", "m1", 5, true, true),
                    v("a", "v1", 60 * 24, false, false),
                ],
                hour,
                vec!["a"],
                vec![],
            ),
            (
                "alive: untouched, not counted",
                vec![v("a", "v1", 5, true, false)],
                hour,
                vec![],
                vec![],
            ),
            (
                "a newer real version after the delete: untouched",
                vec![
                    v("a", "v2", 2, true, false),
                    v("a", "m1", 5, false, true),
                    v("a", "v1", 90, false, false),
                ],
                hour,
                vec![],
                vec![],
            ),
            (
                "deleted before the window: skipped",
                vec![
                    v("a", "m1", 120, true, true),
                    v("a", "v1", 200, false, false),
                ],
                hour,
                vec![],
                vec!["a"],
            ),
            (
                "no window: every deletion restored",
                vec![
                    v("a", "m1", 60 * 24 * 30, true, true),
                    v("a", "v1", 60 * 24 * 31, false, false),
                ],
                None,
                vec!["a"],
                vec![],
            ),
            (
                "only markers: nothing to bring back",
                vec![v("a", "m1", 5, true, true)],
                hour,
                vec![],
                vec!["a"],
            ),
            (
                "deleted twice within the window: both markers",
                vec![
                    v("a", "m2", 1, true, true),
                    v("a", "m1", 5, false, true),
                    v("a", "v1", 90, false, false),
                ],
                hour,
                vec!["a"],
                vec![],
            ),
            (
                "deleted long ago and again now: the first deletion is outside, skipped",
                vec![
                    v("a", "m2", 1, true, true),
                    v("a", "m1", 300, false, true),
                    v("a", "v1", 400, false, false),
                ],
                hour,
                vec![],
                vec!["a"],
            ),
            (
                "an old marker below a restored real version does not count",
                vec![
                    v("a", "m2", 3, true, true),
                    v("a", "v2", 10, false, false),
                    v("a", "m1", 300, false, true),
                    v("a", "v1", 400, false, false),
                ],
                hour,
                vec!["a"],
                vec![],
            ),
            (
                "several keys, listing order mixed (versions then markers, as the SDK gives them)",
                vec![
                    v("b", "vb", 100, false, false),
                    v("a", "va", 100, false, false),
                    v("c", "vc", 1, true, false),
                    v("a", "ma", 5, true, true),
                    v("b", "mb", 90, true, true),
                ],
                hour,
                vec!["a"],
                vec!["b"],
            ),
        ];
        for (name, listing, window, restored, skipped) in cases {
            let d = decide(&listing, NOW, window);
            assert_eq!(keys(&d), (restored, skipped), "{name}");
        }
        // The markers removed, newest first, and when it was deleted.
        let d = decide(
            &[
                v("a", "v1", 90, false, false),
                v("a", "m1", 5, false, true),
                v("a", "m2", 1, true, true),
            ],
            NOW,
            hour,
        );
        assert_eq!(d.restore[0].markers, ["m2", "m1"]);
        assert_eq!(d.restore[0].deleted_at, NOW - time::Duration::minutes(5));
    }
}

#[cfg(test)]
mod twin_tests {
    //! `s3 undelete`'s removals on the in-memory twin, a failure planned on
    //! one key through the fault wrapper.
    use std::sync::Arc;

    use super::*;
    use crate::aws::AwsErrorKind;
    use crate::storage::faulty::{Faults, Faulty, Op};
    use crate::storage::memory::MemoryBucket;
    use crate::storage::StateObjects;
    use crate::store::{KeyVersion, Versioning};

    async fn listing(b: &dyn StateObjects, keys: &[&str]) -> Vec<KeyVersion> {
        let mut out = Vec::new();
        for k in keys {
            for v in b.list_versions(k).await.unwrap() {
                out.push(KeyVersion {
                    key: (*k).to_owned(),
                    version: v,
                });
            }
        }
        out
    }

    #[tokio::test]
    async fn markers_are_removed_per_object_and_a_failed_one_is_reported_and_left() {
        let mem = Arc::new(MemoryBucket::new("b", Versioning::Enabled));
        let faults = Faults::new();
        let b = Faulty::new(mem.clone(), faults.clone());
        let keys = ["a.tfstate", "b.tfstate", "c.tfstate"];
        for k in keys {
            mem.put_raw(k, b"{}");
            // Deleted twice: two markers stacked on the object.
            b.delete(k).await.unwrap();
            b.delete(k).await.unwrap();
        }
        let d = decide(&listing(&b, &keys).await, OffsetDateTime::now_utc(), None);
        assert_eq!(d.restore.len(), 3);
        assert!(d.restore.iter().all(|u| u.markers.len() == 2));
        faults.fail(
            Op::DeleteVersion,
            Some("b.tfstate"),
            1,
            AwsErrorKind::AccessDenied,
        );
        let mut seen = 0;
        let run = execute(&b, &d.restore, 2, &mut |n| seen = n).await;
        assert_eq!(run.restored, ["a.tfstate", "c.tfstate"]);
        assert_eq!(run.failed.len(), 1);
        assert_eq!(run.failed[0].1.kind, AwsErrorKind::AccessDenied);
        assert!(!run.interrupted);
        assert_eq!(seen, 3);
        assert_eq!(mem.current("a.tfstate").as_deref(), Some(&b"{}"[..]));
        assert_eq!(mem.current("b.tfstate"), None, "still deleted");
        // A rerun finds only what is left, and brings it back.
        let d = decide(&listing(&b, &keys).await, OffsetDateTime::now_utc(), None);
        assert_eq!(d.restore.len(), 1);
        assert_eq!(d.restore[0].key, "b.tfstate");
        let run = execute(&b, &d.restore, 2, &mut |_| {}).await;
        assert_eq!(run.restored, ["b.tfstate"]);
        assert_eq!(mem.current("b.tfstate").as_deref(), Some(&b"{}"[..]));
    }
}
