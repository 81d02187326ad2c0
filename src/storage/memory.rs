//! The in-memory twin of the S3 bucket and the DynamoDB lock table: the
//! semantics the domain relies on, without a server, for in-process tests.
//!
//! [`MemoryBucket`] keeps every version of every key: versioning enabled
//! (a fresh version id per write, delete markers), suspended (writes and
//! deletes replace the `null` version, older versions stay) or never enabled
//! (one object per key); `If-None-Match: *` fails with
//! [`AwsErrorKind::PreconditionFailed`] as S3's 412 does in the adapter;
//! reads report sizes and the md5 ETag as S3 does for a single-part upload.
//! [`MemoryTable`] keeps string attributes per `LockID`, with DynamoDB's
//! conditional put and delete.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use md5::{Digest as _, Md5};
use time::OffsetDateTime;

use super::traits::{Call, LockItems, StateObjects};
use crate::aws::object::{Fetched, ObjectVersion, Versioning};
use crate::aws::{AwsError, AwsErrorKind};

/// One stored version or delete marker.
#[derive(Debug, Clone)]
struct Stored {
    /// `null` for a write on a bucket that is not versioned (or suspended).
    version_id: String,
    last_modified: OffsetDateTime,
    /// `None` for a delete marker.
    bytes: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
struct Objects {
    versioning: Option<Versioning>,
    /// Per key, oldest first: the last one is the current version.
    keys: BTreeMap<String, Vec<Stored>>,
    /// How many writes and delete markers were made (version ids, times).
    writes: u64,
}

/// An S3 bucket held in memory.
#[derive(Debug)]
pub struct MemoryBucket {
    name: String,
    inner: Mutex<Objects>,
}

const NULL_VERSION: &str = "null";

fn not_found(operation: &'static str, resource: String, code: &str) -> AwsError {
    AwsError::new(
        operation,
        resource,
        AwsErrorKind::NotFound,
        Some(code.to_owned()),
        Some("The specified key does not exist.".into()),
    )
}

impl MemoryBucket {
    /// An empty bucket with `versioning` (`Disabled`: never enabled).
    pub fn new(name: &str, versioning: Versioning) -> MemoryBucket {
        MemoryBucket {
            name: name.to_owned(),
            inner: Mutex::new(Objects {
                versioning: Some(versioning),
                ..Objects::default()
            }),
        }
    }

    /// Changes the versioning status (`Disabled` is refused by S3 once
    /// enabled; here it is taken as asked).
    pub fn set_versioning(&self, versioning: Versioning) {
        self.lock().versioning = Some(versioning);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Objects> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.name)
    }

    /// Writes `bytes` as a new version of `key`, as a client outside
    /// stateward would (no condition). Returns the version id (`None`
    /// unversioned).
    pub fn put_raw(&self, key: &str, bytes: &[u8]) -> Option<String> {
        self.lock().store(key, Some(bytes.to_vec()))
    }

    /// The current bytes of `key` (`None` when absent or deleted).
    pub fn current(&self, key: &str) -> Option<Vec<u8>> {
        self.lock()
            .keys
            .get(key)
            .and_then(|v| v.last())
            .and_then(|s| s.bytes.clone())
    }

    /// How many versions and delete markers `key` has.
    pub fn version_count(&self, key: &str) -> usize {
        self.lock().keys.get(key).map_or(0, Vec::len)
    }
}

impl Objects {
    fn versioning(&self) -> Versioning {
        self.versioning.unwrap_or(Versioning::Disabled)
    }

    /// Adds a version (`None`: a delete marker) as S3 does under the
    /// current versioning status. Returns the new version id, `None` when
    /// the bucket does not version.
    fn store(&mut self, key: &str, bytes: Option<Vec<u8>>) -> Option<String> {
        self.writes += 1;
        let n = self.writes;
        // Strictly increasing times: newest first by time, as in a listing.
        let last_modified = OffsetDateTime::UNIX_EPOCH
            + time::Duration::days(20_000)
            + time::Duration::milliseconds(i64::try_from(n).unwrap_or(i64::MAX));
        let versioning = self.versioning();
        let versions = self.keys.entry(key.to_owned()).or_default();
        match versioning {
            Versioning::Enabled => {
                let id = format!("v{n:06}-{}", uuid::Uuid::new_v4().simple());
                versions.push(Stored {
                    version_id: id.clone(),
                    last_modified,
                    bytes,
                });
                Some(id)
            }
            Versioning::Suspended | Versioning::Disabled => {
                // The `null` version is replaced; other versions stay.
                versions.retain(|s| s.version_id != NULL_VERSION);
                if bytes.is_none() && versioning == Versioning::Disabled {
                    if versions.is_empty() {
                        self.keys.remove(key);
                    }
                    return None;
                }
                versions.push(Stored {
                    version_id: NULL_VERSION.to_owned(),
                    last_modified,
                    bytes,
                });
                None
            }
        }
    }

    fn find(&self, key: &str, version_id: Option<&str>) -> Option<&Stored> {
        let versions = self.keys.get(key)?;
        match version_id {
            None => versions.last(),
            Some(id) => versions.iter().find(|s| s.version_id == id),
        }
    }
}

/// The md5 of `bytes` in lowercase hex: the ETag of a single-part upload.
fn etag(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

impl StateObjects for MemoryBucket {
    fn name(&self) -> &str {
        &self.name
    }

    fn cacheable(&self) -> bool {
        // Never through the on-disk cache: a test's twin is its own world.
        false
    }

    fn list_versions<'a>(&'a self, key: &'a str) -> Call<'a, Vec<ObjectVersion>> {
        Box::pin(async move {
            let inner = self.lock();
            let Some(versions) = inner.keys.get(key) else {
                return Ok(Vec::new());
            };
            let n = versions.len();
            Ok(versions
                .iter()
                .enumerate()
                .rev()
                .map(|(i, s)| ObjectVersion {
                    version_id: s.version_id.clone(),
                    last_modified: s.last_modified,
                    size: s.bytes.as_ref().map_or(0, |b| b.len() as u64),
                    is_latest: i + 1 == n,
                    delete_marker: s.bytes.is_none(),
                    etag: s.bytes.as_deref().map(etag),
                })
                .collect())
        })
    }

    fn get_checked<'a>(
        &'a self,
        key: &'a str,
        version_id: Option<&'a str>,
        max_bytes: Option<u64>,
        _listed_size: Option<u64>,
    ) -> Call<'a, Fetched> {
        Box::pin(async move {
            let resource = match version_id {
                Some(v) => format!("{} (version {v})", self.uri(key)),
                None => self.uri(key),
            };
            let inner = self.lock();
            let Some(stored) = inner.find(key, version_id) else {
                let code = if version_id.is_some() {
                    "NoSuchVersion"
                } else {
                    "NoSuchKey"
                };
                return Err(not_found("GetObject", resource, code));
            };
            let Some(bytes) = &stored.bytes else {
                // S3: 404 for the current version, 405 for a marker by id.
                return Err(match version_id {
                    None => not_found("GetObject", resource, "NoSuchKey"),
                    Some(_) => AwsError::new(
                        "GetObject",
                        resource,
                        AwsErrorKind::Other,
                        Some("MethodNotAllowed".into()),
                        Some("The specified method is not allowed against this resource.".into()),
                    ),
                });
            };
            let total = bytes.len() as u64;
            let take = max_bytes.map_or(bytes.len(), |n| n.min(total) as usize);
            Ok(Fetched {
                bytes: bytes[..take].to_vec(),
                version_id: (inner.versioning() != Versioning::Disabled)
                    .then(|| stored.version_id.clone()),
                total_size: Some(total),
            })
        })
    }

    fn get_tail_checked<'a>(
        &'a self,
        key: &'a str,
        version_id: Option<&'a str>,
        n: u64,
        listed_size: Option<u64>,
    ) -> Call<'a, Fetched> {
        Box::pin(async move {
            let mut whole = self.get_checked(key, version_id, None, listed_size).await?;
            let start = whole.bytes.len().saturating_sub(n.max(1) as usize);
            whole.bytes.drain(..start);
            Ok(whole)
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        if_none_match: bool,
    ) -> Call<'a, Option<String>> {
        Box::pin(async move {
            let mut inner = self.lock();
            if if_none_match && inner.find(key, None).is_some_and(|s| s.bytes.is_some()) {
                return Err(AwsError::new(
                    "PutObject",
                    self.uri(key),
                    AwsErrorKind::PreconditionFailed,
                    Some("PreconditionFailed".into()),
                    Some("At least one of the pre-conditions you specified did not hold".into()),
                ));
            }
            Ok(inner.store(key, Some(bytes)))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> Call<'a, ()> {
        Box::pin(async move {
            self.lock().store(key, None);
            Ok(())
        })
    }

    fn delete_version<'a>(&'a self, key: &'a str, version_id: &'a str) -> Call<'a, ()> {
        Box::pin(async move {
            let mut inner = self.lock();
            let Some(versions) = inner.keys.get_mut(key) else {
                return Err(not_found(
                    "DeleteObject",
                    format!("{} (version {version_id})", self.uri(key)),
                    "NoSuchVersion",
                ));
            };
            let before = versions.len();
            versions.retain(|s| s.version_id != version_id);
            if versions.len() == before {
                return Err(not_found(
                    "DeleteObject",
                    format!("{} (version {version_id})", self.uri(key)),
                    "NoSuchVersion",
                ));
            }
            if versions.is_empty() {
                inner.keys.remove(key);
            }
            Ok(())
        })
    }

    fn copy_version<'a>(
        &'a self,
        src_key: &'a str,
        version_id: &'a str,
        dst_key: &'a str,
    ) -> Call<'a, Option<String>> {
        Box::pin(async move {
            let bytes = self
                .get_checked(src_key, Some(version_id), None, None)
                .await?
                .bytes;
            Ok(self.lock().store(dst_key, Some(bytes)))
        })
    }

    fn versioning<'a>(&'a self) -> Call<'a, Versioning> {
        Box::pin(async move { Ok(self.lock().versioning()) })
    }

    fn list_keys<'a>(&'a self, prefix: &'a str) -> Call<'a, Vec<String>> {
        Box::pin(async move {
            Ok(self
                .lock()
                .keys
                .iter()
                .filter(|(k, v)| {
                    k.starts_with(prefix) && v.last().is_some_and(|s| s.bytes.is_some())
                })
                .map(|(k, _)| k.clone())
                .collect())
        })
    }
}

/// A DynamoDB lock table held in memory.
#[derive(Debug)]
pub struct MemoryTable {
    name: String,
    items: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
}

impl MemoryTable {
    pub fn new(name: &str) -> MemoryTable {
        MemoryTable {
            name: name.to_owned(),
            items: Mutex::new(BTreeMap::new()),
        }
    }

    fn items(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeMap<String, String>>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn what(&self, id: &str) -> String {
        format!("DynamoDB table {} item {id:?}", self.name)
    }

    fn failed(&self, operation: &'static str, id: &str) -> AwsError {
        AwsError::new(
            operation,
            self.what(id),
            AwsErrorKind::PreconditionFailed,
            Some("ConditionalCheckFailedException".into()),
            Some("The conditional request failed".into()),
        )
    }

    /// One attribute of an item, as a test reads it.
    pub fn attr(&self, lock_id: &str, attr: &str) -> Option<String> {
        self.items()
            .get(lock_id)
            .and_then(|item| item.get(attr).cloned())
    }

    /// Writes an item as another client would.
    pub fn put_raw(&self, lock_id: &str, attr: &str, value: &str) {
        self.items()
            .insert(lock_id.to_owned(), item(lock_id, attr, value));
    }
}

fn item(lock_id: &str, attr: &str, value: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("LockID".to_owned(), lock_id.to_owned()),
        (attr.to_owned(), value.to_owned()),
    ])
}

impl LockItems for MemoryTable {
    fn name(&self) -> &str {
        &self.name
    }

    fn get<'a>(&'a self, lock_id: &'a str) -> Call<'a, Option<BTreeMap<String, String>>> {
        Box::pin(async move { Ok(self.items().get(lock_id).cloned()) })
    }

    fn put_if_absent<'a>(
        &'a self,
        lock_id: &'a str,
        attr: &'a str,
        value: &'a str,
    ) -> Call<'a, ()> {
        Box::pin(async move {
            let mut items = self.items();
            if items.contains_key(lock_id) {
                return Err(self.failed("PutItem", lock_id));
            }
            items.insert(lock_id.to_owned(), item(lock_id, attr, value));
            Ok(())
        })
    }

    fn put<'a>(&'a self, lock_id: &'a str, attr: &'a str, value: &'a str) -> Call<'a, ()> {
        Box::pin(async move {
            self.items()
                .insert(lock_id.to_owned(), item(lock_id, attr, value));
            Ok(())
        })
    }

    fn delete_if<'a>(&'a self, lock_id: &'a str, attr: &'a str, value: &'a str) -> Call<'a, ()> {
        Box::pin(async move {
            let mut items = self.items();
            match items.get(lock_id).and_then(|i| i.get(attr)) {
                Some(v) if v == value => {
                    items.remove(lock_id);
                    Ok(())
                }
                _ => Err(self.failed("DeleteItem", lock_id)),
            }
        })
    }

    fn delete<'a>(&'a self, lock_id: &'a str) -> Call<'a, ()> {
        Box::pin(async move {
            self.items().remove(lock_id);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn a_versioned_bucket_keeps_every_version_and_marks_deletes() {
        rt().block_on(async {
            let b = MemoryBucket::new("b", Versioning::Enabled);
            let v1 = b.put("k", b"{}\n".to_vec(), false).await.unwrap().unwrap();
            let v2 = b
                .put("k", b"{\"a\":1}".to_vec(), false)
                .await
                .unwrap()
                .unwrap();
            assert_ne!(v1, v2);
            b.delete("k").await.unwrap();
            let l = b.list_versions("k").await.unwrap();
            assert_eq!(l.len(), 3);
            assert!(l[0].delete_marker && l[0].is_latest && l[0].size == 0);
            assert_eq!(l[1].version_id, v2);
            assert_eq!(l[2].version_id, v1);
            assert_eq!(l[2].size, 3);
            // The md5 ETag of a single-part upload.
            assert_eq!(
                l[2].etag.as_deref(),
                Some("8a80554c91d9fca8acb82f023de02f11")
            );
            // Newest first, as the adapter sorts.
            let mut sorted = l.clone();
            crate::aws::object::sort_newest_first(&mut sorted);
            assert_eq!(sorted, l);
            // The current version is a delete marker: not found; older versions read.
            let e = b.get("k", None, None).await.unwrap_err();
            assert_eq!(e.kind, AwsErrorKind::NotFound);
            let e = b.get("k", Some(&l[0].version_id), None).await.unwrap_err();
            assert_eq!(e.code.as_deref(), Some("MethodNotAllowed"));
            let f = b.get("k", Some(&v1), None).await.unwrap();
            assert_eq!(
                (f.bytes.as_slice(), f.version_id.as_deref()),
                (&b"{}\n"[..], Some(v1.as_str()))
            );
            // Removing the marker brings the key back.
            b.delete_version("k", &l[0].version_id).await.unwrap();
            assert_eq!(b.get("k", None, None).await.unwrap().bytes, b"{\"a\":1}");
            let e = b.delete_version("k", "nope").await.unwrap_err();
            assert_eq!(e.kind, AwsErrorKind::NotFound);
        });
    }

    #[test]
    fn ranged_reads_report_the_whole_size() {
        rt().block_on(async {
            let b = MemoryBucket::new("b", Versioning::Enabled);
            b.put("k", b"0123456789".to_vec(), false).await.unwrap();
            let head = b.get("k", None, Some(4)).await.unwrap();
            assert_eq!(
                (head.bytes.as_slice(), head.total_size),
                (&b"0123"[..], Some(10))
            );
            let tail = b.get_tail_checked("k", None, 3, Some(10)).await.unwrap();
            assert_eq!(
                (tail.bytes.as_slice(), tail.total_size),
                (&b"789"[..], Some(10))
            );
            let all = b.get("k", None, Some(100)).await.unwrap();
            assert_eq!(all.bytes.len(), 10);
            let e = b.get("other", None, None).await.unwrap_err();
            assert_eq!(e.kind, AwsErrorKind::NotFound);
        });
    }

    #[test]
    fn if_none_match_fails_as_the_adapter_does_on_412() {
        rt().block_on(async {
            let b = MemoryBucket::new("b", Versioning::Enabled);
            b.put("k.tflock", b"ours".to_vec(), true).await.unwrap();
            let e = b
                .put("k.tflock", b"theirs".to_vec(), true)
                .await
                .unwrap_err();
            assert_eq!(e.kind, AwsErrorKind::PreconditionFailed);
            assert_eq!(b.current("k.tflock").unwrap(), b"ours");
            // After a delete (a marker), the key has no current object again.
            b.delete("k.tflock").await.unwrap();
            b.put("k.tflock", b"next".to_vec(), true).await.unwrap();
            assert_eq!(b.current("k.tflock").unwrap(), b"next");
        });
    }

    #[test]
    fn unversioned_and_suspended_buckets_replace_the_null_version() {
        rt().block_on(async {
            let b = MemoryBucket::new("b", Versioning::Disabled);
            assert_eq!(b.put("k", b"1".to_vec(), false).await.unwrap(), None);
            assert_eq!(b.put("k", b"2".to_vec(), false).await.unwrap(), None);
            let l = b.list_versions("k").await.unwrap();
            assert_eq!(l.len(), 1);
            assert_eq!(l[0].version_id, "null");
            assert_eq!(b.get("k", None, None).await.unwrap().version_id, None);
            b.delete("k").await.unwrap();
            assert!(b.list_versions("k").await.unwrap().is_empty());
            assert_eq!(b.versioning().await.unwrap(), Versioning::Disabled);

            // Enabled, then suspended: the versioned ones stay, `null` is replaced.
            let b = MemoryBucket::new("b", Versioning::Enabled);
            let v1 = b.put("k", b"1".to_vec(), false).await.unwrap().unwrap();
            b.set_versioning(Versioning::Suspended);
            assert_eq!(b.put("k", b"2".to_vec(), false).await.unwrap(), None);
            assert_eq!(b.put("k", b"3".to_vec(), false).await.unwrap(), None);
            let ids: Vec<String> = b
                .list_versions("k")
                .await
                .unwrap()
                .into_iter()
                .map(|v| v.version_id)
                .collect();
            assert_eq!(ids, ["null".to_owned(), v1.clone()]);
            // A delete on a suspended bucket is a `null` delete marker.
            b.delete("k").await.unwrap();
            let l = b.list_versions("k").await.unwrap();
            assert!(l[0].delete_marker && l[0].version_id == "null" && l.len() == 2);
        });
    }

    #[test]
    fn the_table_conditions_hold_as_dynamodb_does() {
        rt().block_on(async {
            let t = MemoryTable::new("locks");
            t.put_if_absent("b/k", "Info", "a").await.unwrap();
            let e = t.put_if_absent("b/k", "Info", "b").await.unwrap_err();
            assert_eq!(e.kind, AwsErrorKind::PreconditionFailed);
            assert_eq!(t.attr("b/k", "Info").as_deref(), Some("a"));
            let item = t.get("b/k").await.unwrap().unwrap();
            assert_eq!(item.get("LockID").map(String::as_str), Some("b/k"));
            // delete_if only on the same value; an absent item fails too.
            let e = t.delete_if("b/k", "Info", "b").await.unwrap_err();
            assert_eq!(e.kind, AwsErrorKind::PreconditionFailed);
            t.delete_if("b/k", "Info", "a").await.unwrap();
            assert!(t.get("b/k").await.unwrap().is_none());
            let e = t.delete_if("b/k", "Info", "a").await.unwrap_err();
            assert_eq!(e.kind, AwsErrorKind::PreconditionFailed);
            // put replaces, delete of an absent item is fine.
            t.put("b/k-md5", "Digest", "x").await.unwrap();
            t.put("b/k-md5", "Digest", "y").await.unwrap();
            assert_eq!(t.attr("b/k-md5", "Digest").as_deref(), Some("y"));
            t.delete("b/k-md5").await.unwrap();
            t.delete("b/k-md5").await.unwrap();
            assert!(t.get("b/k-md5").await.unwrap().is_none());
        });
    }
}
