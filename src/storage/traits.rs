//! The storage the domain needs, as two narrow traits: the versions of state
//! objects in one bucket ([`StateObjects`]: the state itself and the S3 lock
//! file), and the items of one lock table ([`LockItems`]: the lock item and
//! the md5 digest item). The S3 and DynamoDB adapters implement them (below),
//! so does the in-memory twin ([`super::memory`]), and the fault wrapper
//! ([`super::faulty`]) wraps either.
//!
//! Both traits are object safe: each call returns a boxed `Send` future
//! ([`Call`]), so the lock and the restore hold them as `Arc<dyn ...>`, and a
//! `&Bucket` passes wherever a `&dyn StateObjects` is asked for. Errors are the adapters' own
//! [`AwsError`]: a lost condition is [`AwsErrorKind::PreconditionFailed`], a
//! missing key, version or item [`AwsErrorKind::NotFound`], whichever
//! implementation answers.
//!
//! [`AwsErrorKind::PreconditionFailed`]: crate::aws::AwsErrorKind::PreconditionFailed
//! [`AwsErrorKind::NotFound`]: crate::aws::AwsErrorKind::NotFound

use std::collections::BTreeMap;
use std::fmt::Debug;

use futures::future::BoxFuture;

use crate::aws::dynamodb::Table;
use crate::aws::object::{Fetched, ObjectVersion, Versioning};
use crate::aws::s3::Bucket;
use crate::aws::AwsError;

/// What every storage call returns: a boxed future of the adapter's result.
pub type Call<'a, T> = BoxFuture<'a, Result<T, AwsError>>;

/// The versions of the objects of one bucket, as the domain reads and writes
/// them.
pub trait StateObjects: Debug + Send + Sync {
    /// The bucket's name (for messages and the version cache).
    fn name(&self) -> &str;

    /// Whether reads may be kept in the on-disk version cache: not when the
    /// objects are encrypted with a customer key (SSE-C), whose plaintext
    /// must not be kept on disk.
    fn cacheable(&self) -> bool;

    /// Every version and delete marker of exactly `key`, newest first.
    fn list_versions<'a>(&'a self, key: &'a str) -> Call<'a, Vec<ObjectVersion>>;

    /// Reads `key` (at `version_id`, or the current version), whole or its
    /// first `max_bytes` bytes, checked against `listed_size` when given. A
    /// missing key or version, and a current version that is a delete
    /// marker, are `NotFound`.
    fn get_checked<'a>(
        &'a self,
        key: &'a str,
        version_id: Option<&'a str>,
        max_bytes: Option<u64>,
        listed_size: Option<u64>,
    ) -> Call<'a, Fetched>;

    /// [`StateObjects::get_checked`] without a listed size.
    fn get<'a>(
        &'a self,
        key: &'a str,
        version_id: Option<&'a str>,
        max_bytes: Option<u64>,
    ) -> Call<'a, Fetched> {
        Box::pin(async move { self.get_checked(key, version_id, max_bytes, None).await })
    }

    /// The last `n` bytes of `key`; `total_size` is the whole object's size.
    fn get_tail_checked<'a>(
        &'a self,
        key: &'a str,
        version_id: Option<&'a str>,
        n: u64,
        listed_size: Option<u64>,
    ) -> Call<'a, Fetched>;

    /// Writes `key` (a new version on a versioned bucket); with
    /// `if_none_match`, only when the key has no current object (a delete
    /// marker counts as none), failing with `PreconditionFailed` otherwise.
    /// Returns the new version id (`None` unversioned).
    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        if_none_match: bool,
    ) -> Call<'a, Option<String>>;

    /// Deletes the current version (a delete marker on a versioned bucket).
    fn delete<'a>(&'a self, key: &'a str) -> Call<'a, ()>;

    /// Removes one version or delete marker for good (removing the delete
    /// marker on top brings the key back).
    fn delete_version<'a>(&'a self, key: &'a str, version_id: &'a str) -> Call<'a, ()>;

    /// A copy of `src_key` at `version_id` to `dst_key` in this bucket,
    /// made by the store (the bytes never leave it). Returns the new
    /// version id (`None` unversioned).
    fn copy_version<'a>(
        &'a self,
        src_key: &'a str,
        version_id: &'a str,
        dst_key: &'a str,
    ) -> Call<'a, Option<String>>;

    /// The bucket's versioning status.
    fn versioning<'a>(&'a self) -> Call<'a, Versioning>;

    /// The keys of every current object under `prefix` (delete markers and
    /// noncurrent versions left out), in key order.
    fn list_keys<'a>(&'a self, prefix: &'a str) -> Call<'a, Vec<String>>;

    /// The S3 adapter behind this store, when it is one: a copy between
    /// two S3 buckets is made by S3 itself (server-side), which only the
    /// adapters can ask for; other stores copy the bytes.
    fn as_s3(&self) -> Option<&Bucket> {
        None
    }
}

/// The string attributes of the items of one lock table, keyed by `LockID`.
pub trait LockItems: Debug + Send + Sync {
    /// The table's name.
    fn name(&self) -> &str;

    /// An item's string attributes (a consistent read), `None` when absent.
    fn get<'a>(&'a self, lock_id: &'a str) -> Call<'a, Option<BTreeMap<String, String>>>;

    /// Writes the item only when none with `lock_id` exists, failing with
    /// `PreconditionFailed` otherwise.
    fn put_if_absent<'a>(&'a self, lock_id: &'a str, attr: &'a str, value: &'a str)
        -> Call<'a, ()>;

    /// Writes (replaces) the item.
    fn put<'a>(&'a self, lock_id: &'a str, attr: &'a str, value: &'a str) -> Call<'a, ()>;

    /// Deletes the item only if `attr` equals `value`, failing with
    /// `PreconditionFailed` otherwise (an absent item included).
    fn delete_if<'a>(&'a self, lock_id: &'a str, attr: &'a str, value: &'a str) -> Call<'a, ()>;

    /// Deletes the item (absent is fine).
    fn delete<'a>(&'a self, lock_id: &'a str) -> Call<'a, ()>;
}

impl StateObjects for Bucket {
    fn name(&self) -> &str {
        Bucket::name(self)
    }

    fn cacheable(&self) -> bool {
        !matches!(self.writes().sse, crate::config::Sse::Customer { .. })
    }

    fn list_versions<'a>(&'a self, key: &'a str) -> Call<'a, Vec<ObjectVersion>> {
        Box::pin(async move { Bucket::list_versions(self, key).await })
    }

    fn get_checked<'a>(
        &'a self,
        key: &'a str,
        version_id: Option<&'a str>,
        max_bytes: Option<u64>,
        listed_size: Option<u64>,
    ) -> Call<'a, Fetched> {
        Box::pin(
            async move { Bucket::get_checked(self, key, version_id, max_bytes, listed_size).await },
        )
    }

    fn get_tail_checked<'a>(
        &'a self,
        key: &'a str,
        version_id: Option<&'a str>,
        n: u64,
        listed_size: Option<u64>,
    ) -> Call<'a, Fetched> {
        Box::pin(
            async move { Bucket::get_tail_checked(self, key, version_id, n, listed_size).await },
        )
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        if_none_match: bool,
    ) -> Call<'a, Option<String>> {
        Box::pin(async move { Bucket::put(self, key, bytes, if_none_match).await })
    }

    fn delete<'a>(&'a self, key: &'a str) -> Call<'a, ()> {
        Box::pin(async move { Bucket::delete(self, key).await })
    }

    fn delete_version<'a>(&'a self, key: &'a str, version_id: &'a str) -> Call<'a, ()> {
        Box::pin(async move { Bucket::delete_version(self, key, version_id).await })
    }

    fn copy_version<'a>(
        &'a self,
        src_key: &'a str,
        version_id: &'a str,
        dst_key: &'a str,
    ) -> Call<'a, Option<String>> {
        Box::pin(async move {
            Ok(
                Bucket::copy_from(self, self, src_key, Some(version_id), dst_key)
                    .await?
                    .version_id,
            )
        })
    }

    fn versioning<'a>(&'a self) -> Call<'a, Versioning> {
        Box::pin(async move { Bucket::versioning(self).await })
    }

    fn list_keys<'a>(&'a self, prefix: &'a str) -> Call<'a, Vec<String>> {
        Box::pin(async move { Bucket::list_keys(self, prefix).await })
    }

    fn as_s3(&self) -> Option<&Bucket> {
        Some(self)
    }
}

impl LockItems for Table {
    fn name(&self) -> &str {
        Table::name(self)
    }

    fn get<'a>(&'a self, lock_id: &'a str) -> Call<'a, Option<BTreeMap<String, String>>> {
        Box::pin(async move { Table::get(self, lock_id).await })
    }

    fn put_if_absent<'a>(
        &'a self,
        lock_id: &'a str,
        attr: &'a str,
        value: &'a str,
    ) -> Call<'a, ()> {
        Box::pin(async move { Table::put_if_absent(self, lock_id, attr, value).await })
    }

    fn put<'a>(&'a self, lock_id: &'a str, attr: &'a str, value: &'a str) -> Call<'a, ()> {
        Box::pin(async move { Table::put(self, lock_id, attr, value).await })
    }

    fn delete_if<'a>(&'a self, lock_id: &'a str, attr: &'a str, value: &'a str) -> Call<'a, ()> {
        Box::pin(async move { Table::delete_if(self, lock_id, attr, value).await })
    }

    fn delete<'a>(&'a self, lock_id: &'a str) -> Call<'a, ()> {
        Box::pin(async move { Table::delete(self, lock_id).await })
    }
}

/// A shared store is a store (a test keeps one `Arc` to look inside while
/// the domain holds another, possibly under a fault wrapper).
impl<T: StateObjects + ?Sized> StateObjects for std::sync::Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn cacheable(&self) -> bool {
        (**self).cacheable()
    }

    fn list_versions<'a>(&'a self, key: &'a str) -> Call<'a, Vec<ObjectVersion>> {
        Box::pin(async move { (**self).list_versions(key).await })
    }

    fn get_checked<'a>(
        &'a self,
        key: &'a str,
        version_id: Option<&'a str>,
        max_bytes: Option<u64>,
        listed_size: Option<u64>,
    ) -> Call<'a, Fetched> {
        Box::pin(async move {
            (**self)
                .get_checked(key, version_id, max_bytes, listed_size)
                .await
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
            (**self)
                .get_tail_checked(key, version_id, n, listed_size)
                .await
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        if_none_match: bool,
    ) -> Call<'a, Option<String>> {
        Box::pin(async move { (**self).put(key, bytes, if_none_match).await })
    }

    fn delete<'a>(&'a self, key: &'a str) -> Call<'a, ()> {
        Box::pin(async move { (**self).delete(key).await })
    }

    fn delete_version<'a>(&'a self, key: &'a str, version_id: &'a str) -> Call<'a, ()> {
        Box::pin(async move { (**self).delete_version(key, version_id).await })
    }

    fn copy_version<'a>(
        &'a self,
        src_key: &'a str,
        version_id: &'a str,
        dst_key: &'a str,
    ) -> Call<'a, Option<String>> {
        (**self).copy_version(src_key, version_id, dst_key)
    }

    fn versioning<'a>(&'a self) -> Call<'a, Versioning> {
        Box::pin(async move { (**self).versioning().await })
    }

    fn list_keys<'a>(&'a self, prefix: &'a str) -> Call<'a, Vec<String>> {
        (**self).list_keys(prefix)
    }

    fn as_s3(&self) -> Option<&Bucket> {
        (**self).as_s3()
    }
}

impl<T: LockItems + ?Sized> LockItems for std::sync::Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn get<'a>(&'a self, lock_id: &'a str) -> Call<'a, Option<BTreeMap<String, String>>> {
        Box::pin(async move { (**self).get(lock_id).await })
    }

    fn put_if_absent<'a>(
        &'a self,
        lock_id: &'a str,
        attr: &'a str,
        value: &'a str,
    ) -> Call<'a, ()> {
        Box::pin(async move { (**self).put_if_absent(lock_id, attr, value).await })
    }

    fn put<'a>(&'a self, lock_id: &'a str, attr: &'a str, value: &'a str) -> Call<'a, ()> {
        Box::pin(async move { (**self).put(lock_id, attr, value).await })
    }

    fn delete_if<'a>(&'a self, lock_id: &'a str, attr: &'a str, value: &'a str) -> Call<'a, ()> {
        Box::pin(async move { (**self).delete_if(lock_id, attr, value).await })
    }

    fn delete<'a>(&'a self, lock_id: &'a str) -> Call<'a, ()> {
        Box::pin(async move { (**self).delete(lock_id).await })
    }
}
