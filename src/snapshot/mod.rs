//! Snapshots: copies of state versions kept outside the state bucket's own
//! versioning, in another bucket (`s3://bucket/prefix`, typically in another
//! region or account) or a local directory.
//!
//! Layout, the same in both stores:
//!
//! ```text
//! <prefix>/<id>/terraform.tfstate   the exact bytes of the state version
//! <prefix>/<id>/manifest.json       what they are (see [`Manifest`])
//! ```
//!
//! The content is written first and the manifest last, so a snapshot is
//! complete exactly when its manifest exists; deletion removes the manifest
//! first. Ids (`20261122T135501Z-<serial>-<8 hex of sha256>`) sort by time.

pub mod retention;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::aws::s3::Bucket;
use crate::aws::AwsErrorKind;
use crate::error::{BadRef, BadStore, Error, Refusal, Result, SnapshotProblem};
use crate::state::fingerprint::digests;
use crate::state::health::content_of;
use crate::state::health::Content;
use crate::storage::StateObjects;

/// The name of a snapshot's state file.
pub const STATE_FILE: &str = "terraform.tfstate";
/// The name of a snapshot's manifest.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Where snapshots are kept, as written: `s3://bucket/prefix` or a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    S3 { bucket: String, prefix: String },
    Local(PathBuf),
}

impl StoreUrl {
    pub fn parse(s: &str) -> Result<StoreUrl> {
        let s = s.trim();
        if s.is_empty() {
            return Err(BadStore::Empty.into());
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(BadStore::NoBucket { url: s.to_owned() }.into());
            }
            return Ok(StoreUrl::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(BadStore::Scheme {
                url: s.to_owned(),
                scheme: scheme.to_owned(),
            }
            .into());
        }
        Ok(StoreUrl::Local(PathBuf::from(s)))
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            StoreUrl::Local(dir) => write!(f, "{}", dir.display()),
        }
    }
}

/// What a snapshot is: written beside its content as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Manifest {
    /// Snapshot id: creation time (UTC), serial, first 8 hex digits of the sha256; sorts by time.
    #[schemars(regex(pattern = "^[0-9]{8}T[0-9]{6}Z-[0-9]+-[0-9a-f]{8}$"))]
    pub id: String,
    /// RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub created: OffsetDateTime,
    /// The state bucket.
    pub source_bucket: String,
    /// The state object key.
    pub source_key: String,
    /// The exact S3 version id that was copied.
    pub source_version_id: String,
    pub serial: u64,
    pub lineage: String,
    /// Bytes.
    pub size: u64,
    #[schemars(regex(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
    #[schemars(regex(pattern = "^[0-9a-f]{32}$"))]
    pub md5: String,
    /// --reason, or empty.
    #[serde(default)]
    pub reason: String,
}

/// A snapshot id: `YYYYMMDDTHHMMSSZ-<serial>-<first 8 hex of sha256>`.
pub fn snapshot_id(created: OffsetDateTime, serial: u64, sha256: &str) -> String {
    let t = created.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{serial}-{}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        &sha256[..sha256.len().min(8)]
    )
}

/// What a store holds: complete snapshots, oldest first, and directories
/// without a readable manifest.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub snapshots: Vec<Manifest>,
    /// (id, problem) for entries that are not complete snapshots.
    pub broken: Vec<(String, String)>,
}

impl Listing {
    pub fn newest(&self) -> Option<&Manifest> {
        self.snapshots.last()
    }
}

enum Backend {
    /// A bucket: the S3 adapter, or the in-memory twin in tests.
    S3 {
        bucket: Arc<dyn StateObjects>,
        prefix: String,
    },
    Local {
        dir: PathBuf,
    },
}

/// A snapshot store: an S3 prefix or a local directory.
pub struct SnapshotStore {
    url: StoreUrl,
    backend: Backend,
    /// Manifests read, and snapshots verified, at once.
    concurrency: usize,
}

impl SnapshotStore {
    /// A store in `bucket` under `prefix` (the bucket's client decides the region).
    pub fn s3(bucket: Bucket, prefix: &str) -> Self {
        Self::in_bucket(Arc::new(bucket), prefix)
    }

    /// A store in any bucket of [`StateObjects`] (the S3 adapter, or the
    /// in-memory twin) under `prefix`.
    pub fn in_bucket(bucket: Arc<dyn StateObjects>, prefix: &str) -> Self {
        let prefix = prefix.trim_matches('/').to_owned();
        SnapshotStore {
            url: StoreUrl::S3 {
                bucket: bucket.name().to_owned(),
                prefix: prefix.clone(),
            },
            backend: Backend::S3 { bucket, prefix },
            concurrency: 1,
        }
    }

    /// A store in a local directory (created on the first snapshot).
    pub fn local(dir: &Path) -> Self {
        SnapshotStore {
            url: StoreUrl::Local(dir.to_path_buf()),
            backend: Backend::Local {
                dir: dir.to_path_buf(),
            },
            concurrency: 1,
        }
    }

    /// Reads manifests and verifies snapshots `n` at a time (one at a time
    /// unless said).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// The store under `sub` (`/`-separated) of this one: a fleet run keeps
    /// each state's snapshots under `<store>/<bucket>/<key>`. Same bucket,
    /// writes and concurrency. Refuses an empty, `.` or `..` segment, which
    /// would leave the store (or share another state's).
    pub fn under(&self, sub: &str) -> Result<SnapshotStore> {
        let segments: Vec<&str> = sub.split('/').collect();
        if segments
            .iter()
            .any(|s| s.is_empty() || *s == "." || *s == "..")
        {
            return Err(BadStore::Place {
                sub: sub.to_owned(),
            }
            .into());
        }
        let store = match &self.backend {
            Backend::S3 { bucket, prefix } => {
                let p = if prefix.is_empty() {
                    sub.to_owned()
                } else {
                    format!("{prefix}/{sub}")
                };
                SnapshotStore::in_bucket(bucket.clone(), &p)
            }
            Backend::Local { dir } => {
                let mut d = dir.clone();
                d.extend(segments);
                SnapshotStore::local(&d)
            }
        };
        Ok(store.with_concurrency(self.concurrency))
    }

    fn s3_key(prefix: &str, id: &str, file: &str) -> String {
        if prefix.is_empty() {
            format!("{id}/{file}")
        } else {
            format!("{prefix}/{id}/{file}")
        }
    }

    fn where_is(&self, id: &str, file: &str) -> String {
        match &self.backend {
            Backend::S3 { bucket, prefix } => {
                format!("s3://{}/{}", bucket.name(), Self::s3_key(prefix, id, file))
            }
            Backend::Local { dir } => dir.join(id).join(file).display().to_string(),
        }
    }

    /// Every snapshot, oldest first (by creation time, then id).
    pub async fn list(&self) -> Result<Listing> {
        let ids: Vec<(String, bool)> = match &self.backend {
            Backend::S3 { bucket, prefix } => {
                let base = if prefix.is_empty() {
                    String::new()
                } else {
                    format!("{prefix}/")
                };
                let keys = bucket.list_keys(&base).await?;
                let mut ids: std::collections::BTreeMap<String, bool> = Default::default();
                for k in keys {
                    let rest = &k[base.len()..];
                    let Some((id, file)) = rest.split_once('/') else {
                        continue;
                    };
                    if file.contains('/') || id.is_empty() {
                        continue;
                    }
                    *ids.entry(id.to_owned()).or_default() |= file == MANIFEST_FILE;
                }
                ids.into_iter().collect()
            }
            Backend::Local { dir } => match std::fs::read_dir(dir) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(source) => {
                    return Err(Error::ReadFile {
                        path: dir.clone(),
                        source,
                    })
                }
                Ok(entries) => entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .map(|e| {
                        let id = e.file_name().to_string_lossy().into_owned();
                        let has = e.path().join(MANIFEST_FILE).is_file();
                        (id, has)
                    })
                    .collect(),
            },
        };
        let mut listing = Listing::default();
        let with_manifest: Vec<String> = ids
            .iter()
            .filter(|(_, has)| *has)
            .map(|(id, _)| id.clone())
            .collect();
        for (id, has) in &ids {
            if !has {
                listing
                    .broken
                    .push((id.clone(), format!("it has no {MANIFEST_FILE}")));
            }
        }
        let manifests: Vec<(String, Result<Manifest>)> = stream::iter(with_manifest)
            .map(|id| async move {
                let m = self.manifest(&id).await;
                (id, m)
            })
            .buffered(self.concurrency)
            .collect()
            .await;
        for (id, m) in manifests {
            match m {
                Ok(m) => listing.snapshots.push(m),
                Err(e) => listing.broken.push((id, e.to_string())),
            }
        }
        listing
            .snapshots
            .sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        listing.broken.sort();
        Ok(listing)
    }

    async fn read(&self, id: &str, file: &str) -> Result<Vec<u8>> {
        let not_found = || {
            Error::BadRef(BadRef::NoSnapshot {
                id: id.to_owned(),
                store: self.url.to_string(),
            })
        };
        match &self.backend {
            Backend::S3 { bucket, prefix } => {
                match bucket
                    .get(&Self::s3_key(prefix, id, file), None, None)
                    .await
                {
                    Ok(f) => Ok(f.bytes),
                    Err(e)
                        if e.kind == AwsErrorKind::NotFound
                            && e.code.as_deref() != Some("NoSuchBucket") =>
                    {
                        Err(not_found())
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Backend::Local { dir } => {
                let path = dir.join(id).join(file);
                match std::fs::read(&path) {
                    Ok(b) => Ok(b),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not_found()),
                    Err(source) => Err(Error::ReadFile { path, source }),
                }
            }
        }
    }

    /// The manifest of snapshot `id`.
    pub async fn manifest(&self, id: &str) -> Result<Manifest> {
        check_id(id)?;
        let bytes = self.read(id, MANIFEST_FILE).await?;
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Snapshot(SnapshotProblem::NotAManifest {
                at: self.where_is(id, MANIFEST_FILE),
                problem: e.to_string(),
            })
        })?;
        if m.id != id {
            return Err(Error::Snapshot(SnapshotProblem::WrongId {
                at: self.where_is(id, MANIFEST_FILE),
                names: m.id,
                id: id.to_owned(),
            }));
        }
        Ok(m)
    }

    /// The state bytes of snapshot `id`, as stored (not checked).
    pub async fn content(&self, id: &str) -> Result<Vec<u8>> {
        check_id(id)?;
        self.read(id, STATE_FILE).await
    }

    /// Stores a new snapshot: its content (into an S3 store a server-side
    /// copy of the source version from `source`, the state's bucket, when
    /// given, else `bytes`; into a local one `bytes`), then its manifest.
    /// A copy is checked on its bytes: by its ETag when that is an md5, by
    /// S3's SHA-256 when it sent one, else by reading the copy back.
    pub async fn put(
        &self,
        source: Option<&dyn StateObjects>,
        manifest: &Manifest,
        bytes: &[u8],
    ) -> Result<()> {
        let id = &manifest.id;
        let body = serde_json::to_vec_pretty(manifest).map_err(|e| {
            Error::Snapshot(SnapshotProblem::Unwritable {
                id: id.clone(),
                problem: e.to_string(),
            })
        })?;
        match &self.backend {
            Backend::S3 { bucket, prefix } => {
                let key = Self::s3_key(prefix, id, STATE_FILE);
                // Between two S3 buckets S3 copies (the bytes never travel);
                // any other pair gets the bytes read.
                match (bucket.as_s3(), source.and_then(|s| s.as_s3())) {
                    (Some(into), Some(source)) => {
                        let copied = into
                            .copy_from(
                                source,
                                &manifest.source_key,
                                Some(&manifest.source_version_id),
                                &key,
                            )
                            .await?;
                        check_copy(into, &key, &copied, manifest).await?;
                    }
                    _ => {
                        bucket.put(&key, bytes.to_vec(), false).await?;
                    }
                }
                bucket
                    .put(&Self::s3_key(prefix, id, MANIFEST_FILE), body, false)
                    .await?;
            }
            Backend::Local { dir } => {
                let sdir = dir.join(id);
                std::fs::create_dir_all(&sdir).map_err(|source| Error::WriteFile {
                    path: sdir.clone(),
                    source,
                })?;
                write_atomic(&sdir.join(STATE_FILE), bytes)?;
                write_atomic(&sdir.join(MANIFEST_FILE), &body)?;
            }
        }
        Ok(())
    }

    /// Deletes snapshot `id`: the manifest first (so it is no longer listed
    /// as complete), then its content. On a versioned S3 store this adds
    /// delete markers; the bucket's lifecycle rules decide when bytes go.
    pub async fn delete(&self, id: &str) -> Result<()> {
        check_id(id)?;
        match &self.backend {
            Backend::S3 { bucket, prefix } => {
                bucket
                    .delete(&Self::s3_key(prefix, id, MANIFEST_FILE))
                    .await?;
                bucket.delete(&Self::s3_key(prefix, id, STATE_FILE)).await?;
            }
            Backend::Local { dir } => {
                let sdir = dir.join(id);
                for file in [MANIFEST_FILE, STATE_FILE] {
                    let path = sdir.join(file);
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(source) => return Err(Error::WriteFile { path, source }),
                    }
                }
                let _ = std::fs::remove_dir(&sdir);
            }
        }
        Ok(())
    }
}

/// Checks a server-side copy against the version read (`manifest`), on the
/// bytes: the ETag only when it is an md5 (single part, no SSE-KMS, no
/// SSE-C), else S3's SHA-256 of the copy, else the copy read back.
async fn check_copy(
    bucket: &Bucket,
    key: &str,
    copied: &crate::aws::s3::Copied,
    manifest: &Manifest,
) -> Result<()> {
    let changed = |what: &'static str, got: &str, want: &str| {
        Error::Snapshot(SnapshotProblem::CopyChanged {
            at: format!("s3://{}/{key}", bucket.name()),
            what,
            got: got.to_owned(),
            want: want.to_owned(),
        })
    };
    match (&copied.etag, &copied.checksum_sha256) {
        (Some(etag), _) if copied.etag_is_md5 => {
            if !etag.eq_ignore_ascii_case(&manifest.md5) {
                return Err(changed("md5", etag, &manifest.md5));
            }
        }
        (_, Some(got)) => {
            if !got.eq_ignore_ascii_case(&manifest.sha256) {
                return Err(changed("sha256", got, &manifest.sha256));
            }
        }
        _ => {
            let back = bucket.get(key, copied.version_id.as_deref(), None).await?;
            let got = digests(&back.bytes).sha256;
            if got != manifest.sha256 {
                return Err(changed("sha256", &got, &manifest.sha256));
            }
        }
    }
    Ok(())
}

/// Ids are one path segment: no separators, no `..`.
fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.contains('/') || id.contains('\\') || id == "." || id == ".." {
        return Err(Error::BadRef(BadRef::NotASnapshotId { id: id.to_owned() }));
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::util::fs::write_durably(path, bytes).map_err(|source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

/// The result of [`create`].
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Created {
    /// `false` when the state had not changed since the newest snapshot.
    pub created: bool,
    /// The snapshot store: s3://bucket/prefix or a directory.
    pub store: String,
    pub snapshot: Manifest,
}

/// Snapshots the current version of `bucket/key` into `store`, unless the
/// newest snapshot already has the same content (same sha256).
pub async fn create(
    store: &SnapshotStore,
    bucket: &dyn StateObjects,
    key: &str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Created> {
    let versions = bucket.list_versions(key).await?;
    let top = versions.first().ok_or_else(|| Error::NoState {
        bucket: bucket.name().to_owned(),
        key: key.to_owned(),
    })?;
    if top.delete_marker {
        return Err(Error::Refused(Refusal::UnusableCurrent {
            state: format!("s3://{}/{key}", bucket.name()),
            message: format!(
                "s3://{}/{key} is deleted (its current version is a delete marker): there is no current state to snapshot; bring it back first (stateward restore --last-good)",
                bucket.name()
            ),
        }));
    }
    let bytes = bucket.get(key, Some(&top.version_id), None).await?.bytes;
    let (serial, lineage) = match content_of(&bytes).0 {
        Content::Parsed {
            serial, lineage, ..
        } => (serial, lineage),
        // An OpenTofu encrypted state is kept as bytes: its plain serial and
        // lineage name it; its contents are never read.
        Content::Encrypted {
            serial: Some(serial),
            lineage: Some(lineage),
        } => (serial, lineage),
        Content::Corrupt { problem } => {
            return Err(Error::Refused(Refusal::UnusableCurrent {
                state: format!("s3://{}/{key}", bucket.name()),
                message: format!(
                    "the current version {} of s3://{}/{key} is not a healthy Terraform state ({problem}): a snapshot of it could not be restored; repair it first (stateward restore --last-good), then take the snapshot",
                    top.version_id,
                    bucket.name()
                ),
            }))
        }
        Content::Encrypted { .. } | Content::Unknown => {
            return Err(Error::Refused(Refusal::UnusableCurrent {
                state: format!("s3://{}/{key}", bucket.name()),
                message: format!(
                    "the current version {} of s3://{}/{key} is an encrypted OpenTofu state without a plain serial and lineage: it cannot be told apart from other versions, so it is not snapshotted",
                    top.version_id,
                    bucket.name()
                ),
            }))
        }
    };
    let d = digests(&bytes);
    let listing = store.list().await?;
    if let Some(newest) = listing.newest().filter(|m| m.sha256 == d.sha256) {
        return Ok(Created {
            created: false,
            store: store.url().to_string(),
            snapshot: newest.clone(),
        });
    }
    let created = now.replace_nanosecond(0).unwrap_or(now);
    let manifest = Manifest {
        id: snapshot_id(created, serial, &d.sha256),
        created,
        source_bucket: bucket.name().to_owned(),
        source_key: key.to_owned(),
        source_version_id: top.version_id.clone(),
        serial,
        lineage,
        size: bytes.len() as u64,
        sha256: d.sha256,
        md5: d.md5,
        reason: reason.to_owned(),
    };
    store.put(Some(bucket), &manifest, &bytes).await?;
    Ok(Created {
        created: true,
        store: store.url().to_string(),
        snapshot: manifest,
    })
}

/// What pruning the snapshots of `listing` (from `store`) under `policy` at
/// `now` keeps and forgets. Health matters only for the newest healthy
/// snapshot, so snapshots are verified newest first until one passes; older
/// ones are not read (they count as healthy, which cannot change which one
/// is the newest healthy). Each failed verification is told to
/// `on_unhealthy` (id and problems) as it is found. Deletes nothing.
pub async fn prune_decision(
    store: &SnapshotStore,
    listing: &Listing,
    policy: &retention::Policy,
    now: OffsetDateTime,
    on_unhealthy: &mut dyn FnMut(&str, &[String]),
) -> retention::Decision {
    let mut health = std::collections::HashMap::new();
    for m in listing.snapshots.iter().rev() {
        let v = verify(store, m).await;
        if !v.ok {
            on_unhealthy(&m.id, &v.problems);
        }
        health.insert(m.id.clone(), v.ok);
        if v.ok {
            break;
        }
    }
    let items: Vec<retention::Item> = listing
        .snapshots
        .iter()
        .map(|m| retention::Item {
            id: m.id.clone(),
            created: m.created,
            healthy: health.get(&m.id).copied().unwrap_or(true),
        })
        .collect();
    retention::decide(&items, policy, now)
}

/// The outcome of verifying one snapshot.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Verified {
    pub id: String,
    pub ok: bool,
    /// What is wrong, in words (empty when ok).
    pub problems: Vec<String>,
}

/// Re-reads a snapshot's content and checks it against its manifest (size,
/// sha256, md5) and that it is a healthy state with the manifest's serial and lineage.
pub async fn verify(store: &SnapshotStore, m: &Manifest) -> Verified {
    let problems = match store.content(&m.id).await {
        Err(e) => vec![format!("its content cannot be read: {e}")],
        Ok(bytes) => check_content(m, &bytes),
    };
    Verified {
        id: m.id.clone(),
        ok: problems.is_empty(),
        problems,
    }
}

/// The problems of `bytes` as the content of the snapshot `m` describes.
pub fn check_content(m: &Manifest, bytes: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    let d = digests(bytes);
    if bytes.len() as u64 != m.size {
        problems.push(format!(
            "size is {} bytes, the manifest says {}",
            bytes.len(),
            m.size
        ));
    }
    if d.sha256 != m.sha256 {
        problems.push(format!(
            "sha256 is {}, the manifest says {}",
            d.sha256, m.sha256
        ));
    }
    if d.md5 != m.md5 {
        problems.push(format!("md5 is {}, the manifest says {}", d.md5, m.md5));
    }
    match content_of(bytes).0 {
        Content::Parsed {
            serial, lineage, ..
        }
        | Content::Encrypted {
            serial: Some(serial),
            lineage: Some(lineage),
        } => {
            if serial != m.serial {
                problems.push(format!(
                    "serial is {serial}, the manifest says {}",
                    m.serial
                ));
            }
            if lineage != m.lineage {
                problems.push(format!(
                    "lineage is {lineage}, the manifest says {}",
                    m.lineage
                ));
            }
        }
        Content::Corrupt { problem } => {
            problems.push(format!("it is not a healthy Terraform state: {problem}"))
        }
        Content::Encrypted { .. } | Content::Unknown => problems.push(
            "it is an encrypted state without a plain serial and lineage, which cannot be checked"
                .into(),
        ),
    }
    problems
}

/// `snapshot verify`: the newest snapshot of `listing`, or with `all` every
/// snapshot (newest first) and then each incomplete entry, as failed.
pub async fn verify_listing(
    store: &SnapshotStore,
    listing: &Listing,
    all: bool,
) -> Result<Vec<Verified>> {
    let chosen: Vec<Manifest> = if all {
        listing.snapshots.iter().rev().cloned().collect()
    } else {
        listing.newest().cloned().into_iter().collect()
    };
    let mut results = verify_many(store, &chosen).await?;
    if all {
        results.extend(listing.broken.iter().map(|(id, problem)| Verified {
            id: id.clone(),
            ok: false,
            problems: vec![format!("it is not a complete snapshot: {problem}")],
        }));
    }
    Ok(results)
}

/// Verifies `manifests` (the store's concurrency at a time), in the given order.
pub async fn verify_many(store: &SnapshotStore, manifests: &[Manifest]) -> Result<Vec<Verified>> {
    stream::iter(manifests.iter())
        .map(|m| async move { Ok::<_, Error>(verify(store, m).await) })
        .buffered(store.concurrency)
        .try_collect()
        .await
}

#[cfg(test)]
mod twin_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn parses_store_urls() {
        assert_eq!(
            StoreUrl::parse("s3://snaps/prod/platform/").unwrap(),
            StoreUrl::S3 {
                bucket: "snaps".into(),
                prefix: "prod/platform".into()
            }
        );
        assert_eq!(
            StoreUrl::parse("s3://snaps").unwrap(),
            StoreUrl::S3 {
                bucket: "snaps".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            StoreUrl::parse("/var/backups/tf").unwrap(),
            StoreUrl::Local("/var/backups/tf".into())
        );
        assert_eq!(StoreUrl::parse("s3://b/p").unwrap().to_string(), "s3://b/p");
        for bad in ["", "s3://", "s3:///p", "gs://b/p"] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_sort_by_time() {
        let sha = "0123456789abcdef";
        let a = snapshot_id(datetime!(2026-11-22 13:55:01 UTC), 12, sha);
        assert_eq!(a, "20261122T135501Z-12-01234567");
        let b = snapshot_id(datetime!(2026-11-22 15:55:01 +02:00), 9, sha);
        assert_eq!(b, "20261122T135501Z-9-01234567");
        let c = snapshot_id(datetime!(2027-01-02 00:00:00 UTC), 1, sha);
        assert!(a < c);
        assert!(check_id("../x").is_err());
        assert!(check_id(&a).is_ok());
    }

    fn manifest_for(bytes: &[u8]) -> Manifest {
        let d = digests(bytes);
        let (serial, lineage) = match content_of(bytes).0 {
            Content::Parsed {
                serial, lineage, ..
            }
            | Content::Encrypted {
                serial: Some(serial),
                lineage: Some(lineage),
            } => (serial, lineage),
            other => panic!("{other:?}"),
        };
        Manifest {
            id: "x".into(),
            created: datetime!(2026-11-22 13:55:01 UTC),
            source_bucket: "b".into(),
            source_key: "k".into(),
            source_version_id: "v".into(),
            serial,
            lineage,
            size: bytes.len() as u64,
            sha256: d.sha256,
            md5: d.md5,
            reason: String::new(),
        }
    }

    const STATE: &str = r#"{"version":4,"terraform_version":"1.0.3","serial":3,"lineage":"abc","outputs":{},"resources":[]}"#;

    #[test]
    fn an_encrypted_state_is_checked_on_its_bytes_and_plain_serial() {
        let enc: &[u8] = include_bytes!("../../tests/fixtures/encrypted.tfstate");
        let m = manifest_for(enc);
        assert_eq!((m.serial, m.lineage.as_str()), (12, "enc-lineage"));
        assert!(check_content(&m, enc).is_empty());
        let other = String::from_utf8_lossy(enc).replace("c29tZSBj", "c29tZSBk");
        let p = check_content(&m, other.as_bytes());
        assert!(p.iter().any(|p| p.starts_with("sha256 is")), "{p:?}");
    }

    #[test]
    fn checks_content_against_the_manifest() {
        let m = manifest_for(STATE.as_bytes());
        assert!(check_content(&m, STATE.as_bytes()).is_empty());
        let tampered = STATE.replace("\"serial\":3", "\"serial\":4");
        let p = check_content(&m, tampered.as_bytes());
        assert!(p.iter().any(|p| p.starts_with("sha256 is")), "{p:?}");
        assert!(p.iter().any(|p| p.starts_with("md5 is")), "{p:?}");
        assert!(p.iter().any(|p| p.starts_with("serial is 4")), "{p:?}");
        let p = check_content(&m, &STATE.as_bytes()[..20]);
        assert!(
            p.iter()
                .any(|p| p.contains("not a healthy Terraform state")),
            "{p:?}"
        );
    }

    #[tokio::test]
    async fn local_store_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::local(&dir.path().join("snaps"));
        assert!(store.list().await.unwrap().snapshots.is_empty());
        let mut m = manifest_for(STATE.as_bytes());
        m.id = "20261122T135501Z-3-aaaaaaaa".into();
        store.put(None, &m, STATE.as_bytes()).await.unwrap();
        let mut older = m.clone();
        older.id = "20261121T000000Z-2-bbbbbbbb".into();
        older.created = datetime!(2026-11-21 00:00:00 UTC);
        store.put(None, &older, STATE.as_bytes()).await.unwrap();
        std::fs::create_dir_all(dir.path().join("snaps/half")).unwrap();
        let l = store.list().await.unwrap();
        let ids: Vec<&str> = l.snapshots.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, [older.id.as_str(), m.id.as_str()]);
        assert_eq!(l.broken.len(), 1);
        assert_eq!(store.content(&m.id).await.unwrap(), STATE.as_bytes());
        assert!(verify(&store, &m).await.ok);
        store.delete(&older.id).await.unwrap();
        assert_eq!(store.list().await.unwrap().snapshots.len(), 1);
        let err = store.manifest(&older.id).await.unwrap_err();
        assert!(matches!(err, Error::BadRef(_)), "{err}");
    }
}
