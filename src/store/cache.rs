//! The local cache of state versions: what each S3 version of a state
//! contains (its header facts and health inputs) and, after a whole read, its
//! body, so each version is downloaded at most once per machine.
//!
//! S3 versions are immutable, so an entry is keyed by bucket, key and version
//! id. Every use is checked: the listing's size and ETag must be those the
//! entry was made from, the facts carry their own SHA-256, and a body must
//! match the SHA-256 (and, where the ETag is one, the md5) recorded when it
//! was downloaded. An entry that fails a check is removed and the version is
//! read from S3 again. The cache is bounded: least recently used bodies go
//! first (a use refreshes the file's modification time).
//!
//! Never a source of truth for writes: restore and every write path re-read
//! what they replace from S3.
//!
//! The cache in use is installed once per process by the command line
//! ([`install`]); without it (library use, unit tests) nothing is cached.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::aws::object::ObjectVersion;
use crate::state::health::Content;

/// The default bound of the cache: 4 GiB.
pub const DEFAULT_MAX_BYTES: u64 = crate::config::DEFAULT_CACHE_MAX_BYTES;

/// Layout version of the cache directory (a subdirectory).
const LAYOUT: &str = "v1";

/// The version cache: a directory, or nothing (`--no-cache`).
#[derive(Debug, Clone, Default)]
pub struct Cache {
    dir: Option<PathBuf>,
    max_bytes: u64,
}

static INSTALLED: OnceLock<Cache> = OnceLock::new();

/// Makes `cache` the one every read of this process uses (first call wins).
pub fn install(cache: Cache) {
    let _ = INSTALLED.set(cache);
}

/// The cache installed by [`install`], or a disabled one.
pub fn current() -> Cache {
    INSTALLED.get().cloned().unwrap_or_default()
}

/// What is known of one version without its body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionFacts {
    /// The listing's size of the version.
    pub size: u64,
    /// The listing's ETag (without quotes), when it had one.
    pub etag: Option<String>,
    /// `serial`, `lineage` and `terraform_version` from the first bytes.
    pub serial: Option<u64>,
    pub lineage: Option<String>,
    pub terraform_version: Option<String>,
    /// The content judged from the first bytes only.
    pub header_content: Option<CachedContent>,
    /// Whether the object's last bytes end a document (`None`: not read).
    pub tail_complete: Option<bool>,
    /// The content judged from a whole read (`None`: only header facts).
    pub content: Option<CachedContent>,
    /// SHA-256 (hex) of the whole body, when it was read whole.
    pub sha256: Option<String>,
    /// Whether the ETag was checked to be the md5 of the body.
    pub etag_is_md5: bool,
}

/// [`Content`] as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CachedContent {
    Parsed {
        serial: u64,
        lineage: String,
        resource_count: Option<usize>,
        notes: Vec<String>,
    },
    Corrupt {
        problem: String,
    },
    Encrypted {
        serial: Option<u64>,
        lineage: Option<String>,
    },
}

impl CachedContent {
    /// From a whole read's content (`Unknown` is never stored).
    pub fn from_content(c: &Content) -> Option<CachedContent> {
        Some(match c {
            Content::Parsed {
                serial,
                lineage,
                resource_count,
                notes,
            } => CachedContent::Parsed {
                serial: *serial,
                lineage: lineage.clone(),
                resource_count: *resource_count,
                notes: notes.clone(),
            },
            Content::Corrupt { problem } => CachedContent::Corrupt {
                problem: problem.clone(),
            },
            Content::Encrypted { serial, lineage } => CachedContent::Encrypted {
                serial: *serial,
                lineage: lineage.clone(),
            },
            Content::Unknown => return None,
        })
    }

    pub fn to_content(&self) -> Content {
        match self.clone() {
            CachedContent::Parsed {
                serial,
                lineage,
                resource_count,
                notes,
            } => Content::Parsed {
                serial,
                lineage,
                resource_count,
                notes,
            },
            CachedContent::Corrupt { problem } => Content::Corrupt { problem },
            CachedContent::Encrypted { serial, lineage } => Content::Encrypted { serial, lineage },
        }
    }
}

/// A facts file: the facts, which version they are of, and their own SHA-256.
#[derive(Serialize, Deserialize)]
struct FactsFile {
    bucket: String,
    key: String,
    version_id: String,
    facts: VersionFacts,
    /// SHA-256 (hex) of the JSON of `facts`.
    check: String,
}

/// `stateward cache info`.
#[derive(Debug, Clone, Serialize)]
pub struct CacheInfo {
    /// `None` with `--no-cache`.
    pub dir: Option<PathBuf>,
    pub max_bytes: u64,
    /// Versions with facts cached.
    pub versions: usize,
    /// Versions whose body is cached.
    pub bodies: usize,
    /// Bytes used on disk.
    pub bytes: u64,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An ETag that may be an md5 (32 hex digits, not a multipart `-N`).
fn md5_like(etag: &str) -> bool {
    etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Cache {
    /// A cache in `dir`, holding at most `max_bytes`.
    pub fn at(dir: PathBuf, max_bytes: u64) -> Cache {
        Cache {
            dir: Some(dir),
            max_bytes,
        }
    }

    /// No cache: every read goes to S3 (`--no-cache`).
    pub fn disabled() -> Cache {
        Cache::default()
    }

    pub fn is_enabled(&self) -> bool {
        self.dir.is_some()
    }

    fn root(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(LAYOUT))
    }

    fn paths(&self, bucket: &str, key: &str, version_id: &str) -> Option<(PathBuf, PathBuf)> {
        // `null` is the one version of an unversioned bucket (or one written
        // while versioning was suspended): it can be overwritten, so it is
        // never cached.
        if version_id == "null" {
            return None;
        }
        let root = self.root()?;
        let name = sha256_hex(format!("{bucket}\n{key}\n{version_id}").as_bytes());
        let name = &name[..40];
        Some((
            root.join(format!("{name}.facts")),
            root.join(format!("{name}.body")),
        ))
    }

    /// The cached facts of `v`, when they are there and still match the
    /// listing (size, ETag) and their own checksum. A mismatching entry is
    /// removed.
    pub fn facts(&self, bucket: &str, key: &str, v: &ObjectVersion) -> Option<VersionFacts> {
        let (facts_path, body_path) = self.paths(bucket, key, &v.version_id)?;
        let text = fs::read(&facts_path).ok()?;
        let ok = serde_json::from_slice::<FactsFile>(&text)
            .ok()
            .filter(|f| {
                f.bucket == bucket
                    && f.key == key
                    && f.version_id == v.version_id
                    && serde_json::to_vec(&f.facts).is_ok_and(|j| sha256_hex(&j) == f.check)
                    && f.facts.size == v.size
                    && (v.etag.is_none() || f.facts.etag == v.etag)
            })
            .map(|f| f.facts);
        if ok.is_none() {
            tracing::warn!(version = %v.version_id, "a cached entry does not match S3's listing or its checksum: read again");
            let _ = fs::remove_file(&facts_path);
            let _ = fs::remove_file(&body_path);
        } else {
            touch(&facts_path);
        }
        ok
    }

    /// The cached body of `v`, checked against the listing and the SHA-256
    /// (and md5) recorded when it was read. A damaged body is removed.
    pub fn body(&self, bucket: &str, key: &str, v: &ObjectVersion) -> Option<Vec<u8>> {
        let facts = self.facts(bucket, key, v)?;
        let want = facts.sha256.as_deref()?;
        let (_, body_path) = self.paths(bucket, key, &v.version_id)?;
        let bytes = fs::read(&body_path).ok()?;
        let md5_ok = !facts.etag_is_md5
            || v.etag
                .as_deref()
                .is_none_or(|e| hex::encode(Md5::digest(&bytes)).eq_ignore_ascii_case(e));
        if bytes.len() as u64 != v.size || sha256_hex(&bytes) != want || !md5_ok {
            tracing::warn!(version = %v.version_id, "a cached body does not match its checksum: read again");
            let _ = fs::remove_file(&body_path);
            return None;
        }
        touch(&body_path);
        Some(bytes)
    }

    /// Records header facts of `v` (keeps what a whole read already recorded).
    pub fn put_facts(&self, bucket: &str, key: &str, v: &ObjectVersion, mut facts: VersionFacts) {
        let Some((facts_path, _)) = self.paths(bucket, key, &v.version_id) else {
            return;
        };
        if let Some(old) = self.facts(bucket, key, v) {
            if old.content.is_some() {
                return;
            }
            facts.tail_complete = facts.tail_complete.or(old.tail_complete);
        }
        self.write_facts(bucket, key, v, &facts_path, facts);
    }

    /// Records the whole body of `v` and the facts judged from it.
    pub fn put_body(
        &self,
        bucket: &str,
        key: &str,
        v: &ObjectVersion,
        bytes: &[u8],
        mut facts: VersionFacts,
    ) {
        let Some((facts_path, body_path)) = self.paths(bucket, key, &v.version_id) else {
            return;
        };
        if bytes.len() as u64 != v.size {
            return;
        }
        facts.sha256 = Some(sha256_hex(bytes));
        facts.etag_is_md5 = v.etag.as_deref().is_some_and(|e| {
            md5_like(e) && hex::encode(Md5::digest(bytes)).eq_ignore_ascii_case(e)
        });
        if crate::util::fs::write_atomically(&body_path, bytes).is_err() {
            return;
        }
        self.write_facts(bucket, key, v, &facts_path, facts);
        self.evict();
    }

    fn write_facts(
        &self,
        bucket: &str,
        key: &str,
        v: &ObjectVersion,
        path: &Path,
        mut facts: VersionFacts,
    ) {
        facts.size = v.size;
        facts.etag = v.etag.clone();
        let Ok(json) = serde_json::to_vec(&facts) else {
            return;
        };
        let file = FactsFile {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            version_id: v.version_id.clone(),
            check: sha256_hex(&json),
            facts,
        };
        if let Ok(text) = serde_json::to_vec(&file) {
            let _ = crate::util::fs::write_atomically(path, &text);
        }
    }

    fn entries(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        let Some(root) = self.root() else {
            return Vec::new();
        };
        let Ok(dir) = fs::read_dir(root) else {
            return Vec::new();
        };
        dir.filter_map(|e| {
            let e = e.ok()?;
            let m = e.metadata().ok()?;
            m.is_file().then(|| {
                (
                    e.path(),
                    m.len(),
                    m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                )
            })
        })
        .collect()
    }

    /// Removes the least recently used bodies (then facts) until the cache
    /// holds at most its bound.
    pub fn evict(&self) {
        let mut entries = self.entries();
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        if total <= self.max_bytes {
            return;
        }
        // Bodies first (oldest use first), then facts.
        entries.sort_by_key(|(p, _, t)| (p.extension().is_some_and(|x| x == "facts"), *t));
        for (path, len, _) in entries {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total = total.saturating_sub(len);
            }
        }
    }

    pub fn info(&self) -> CacheInfo {
        let entries = self.entries();
        let is = |p: &Path, x: &str| p.extension().is_some_and(|e| e == x);
        CacheInfo {
            dir: self.dir.clone(),
            max_bytes: self.max_bytes,
            versions: entries.iter().filter(|e| is(&e.0, "facts")).count(),
            bodies: entries.iter().filter(|e| is(&e.0, "body")).count(),
            bytes: entries.iter().map(|e| e.1).sum(),
        }
    }

    /// Removes every entry; returns how many files were removed.
    pub fn clear(&self) -> std::io::Result<usize> {
        let mut n = 0;
        for (path, _, _) in self.entries() {
            fs::remove_file(&path)?;
            n += 1;
        }
        Ok(n)
    }
}

/// Marks a file as just used (for the LRU order).
fn touch(path: &Path) {
    if let Ok(f) = fs::File::options().append(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, size: u64, etag: Option<&str>) -> ObjectVersion {
        ObjectVersion {
            version_id: id.into(),
            last_modified: time::OffsetDateTime::UNIX_EPOCH,
            size,
            is_latest: false,
            delete_marker: false,
            etag: etag.map(str::to_owned),
        }
    }

    fn facts() -> VersionFacts {
        VersionFacts {
            size: 0,
            etag: None,
            serial: Some(3),
            lineage: Some("l".into()),
            terraform_version: Some("1.9.0".into()),
            header_content: None,
            tail_complete: None,
            content: Some(CachedContent::Parsed {
                serial: 3,
                lineage: "l".into(),
                resource_count: Some(2),
                notes: vec![],
            }),
            sha256: None,
            etag_is_md5: false,
        }
    }

    #[test]
    fn a_body_round_trips_and_a_tampered_one_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().into(), 1 << 20);
        let body = b"{\"serial\": 3}\n";
        let md5 = hex::encode(Md5::digest(body));
        let v = version("v1", body.len() as u64, Some(&md5));
        cache.put_body("b", "k", &v, body, facts());
        assert_eq!(cache.body("b", "k", &v).as_deref(), Some(&body[..]));
        assert_eq!(cache.facts("b", "k", &v).unwrap().serial, Some(3));
        // Another listing (size or ETag) is another object: not used.
        let other = version("v1", body.len() as u64, Some(&"0".repeat(32)));
        assert!(cache.facts("b", "k", &other).is_none());
        cache.put_body("b", "k", &v, body, facts());
        // A byte changed on disk: detected, removed, not returned.
        let (_, body_path) = cache.paths("b", "k", "v1").unwrap();
        fs::write(&body_path, b"{\"serial\": 4}\n").unwrap();
        assert!(cache.body("b", "k", &v).is_none());
        assert!(!body_path.exists());
        // Facts edited on disk fail their own checksum.
        cache.put_body("b", "k", &v, body, facts());
        let (facts_path, _) = cache.paths("b", "k", "v1").unwrap();
        let text = fs::read_to_string(&facts_path).unwrap();
        fs::write(&facts_path, text.replace("\"serial\":3", "\"serial\":9")).unwrap();
        assert!(cache.facts("b", "k", &v).is_none());
    }

    #[test]
    fn eviction_drops_the_least_recently_used_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().into(), 25_000);
        let body = vec![b' '; 10_000];
        let a = version("a", 10_000, None);
        let b = version("b", 10_000, None);
        let c = version("c", 10_000, None);
        cache.put_body("x", "k", &a, &body, facts());
        let (_, a_body) = cache.paths("x", "k", "a").unwrap();
        fs::File::options()
            .append(true)
            .open(&a_body)
            .unwrap()
            .set_modified(SystemTime::UNIX_EPOCH)
            .unwrap();
        cache.put_body("x", "k", &b, &body, facts());
        cache.put_body("x", "k", &c, &body, facts());
        assert!(cache.body("x", "k", &a).is_none(), "oldest evicted");
        assert!(cache.body("x", "k", &b).is_some());
        assert!(cache.body("x", "k", &c).is_some());
        assert!(cache.info().bytes <= 25_000);
        assert!(cache.clear().unwrap() > 0);
        assert_eq!(cache.info().versions, 0);
    }

    #[test]
    fn the_null_version_is_never_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().into(), 1 << 20);
        let v = version("null", 2, None);
        cache.put_body("x", "k", &v, b"{}", facts());
        assert!(cache.facts("x", "k", &v).is_none());
    }

    #[test]
    fn a_disabled_cache_holds_nothing() {
        let cache = Cache::disabled();
        let v = version("a", 2, None);
        cache.put_body("x", "k", &v, b"{}", facts());
        assert!(cache.facts("x", "k", &v).is_none());
        assert_eq!(cache.info().versions, 0);
    }
}
