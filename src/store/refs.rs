//! Version references, accepted wherever a command takes a version.
//!
//! | form | meaning |
//! |---|---|
//! | `latest` | the newest version that is not a delete marker |
//! | `latest~N` | the Nth readable version before `latest`: versions that do not parse as a state (a corrupt write) and delete markers are not counted |
//! | `serial:N` | the newest version whose `serial` is N |
//! | `file:PATH` | a local state file (no AWS access needed) |
//! | `snapshot:ID` | a snapshot in the snapshot store (checked against its manifest) |
//! | anything else | an S3 version id of the state object |

use std::path::PathBuf;
use std::str::FromStr;

use futures::stream::{self, StreamExt};

use crate::error::{BadRef, Error, Result, SnapshotProblem, Unconfigured};
use crate::snapshot::SnapshotStore;
use crate::state::header::read_header;
use crate::state::health::{content_of, Content};
use crate::storage::StateObjects;
use crate::store::ObjectVersion;

/// Counts the versions older than `latest`, newest first, for `latest~N`:
/// only readable ones count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ReadableCounter {
    want: usize,
    readable: usize,
    skipped: usize,
}

impl ReadableCounter {
    fn new(want: usize) -> Self {
        ReadableCounter {
            want,
            readable: 0,
            skipped: 0,
        }
    }

    /// The next older version; true when it is the one `latest~N` names.
    fn step(&mut self, readable: bool) -> bool {
        if readable {
            self.readable += 1;
            self.readable == self.want
        } else {
            self.skipped += 1;
            false
        }
    }
}

/// A parsed version reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    /// `latest` (0) or `latest~N`.
    Latest(usize),
    /// `serial:N`.
    Serial(u64),
    /// `file:PATH`.
    File(PathBuf),
    /// An S3 version id.
    VersionId(String),
    /// `snapshot:ID`.
    Snapshot(String),
}

impl VersionRef {
    /// Whether resolving this reference needs the state bucket.
    pub fn needs_s3(&self) -> bool {
        !matches!(self, VersionRef::File(_) | VersionRef::Snapshot(_))
    }

    /// Whether resolving this reference needs the snapshot store.
    pub fn needs_snapshot_store(&self) -> bool {
        matches!(self, VersionRef::Snapshot(_))
    }
}

const REF_FORMS: &str =
    "use a version id, `latest`, `latest~N`, `serial:N`, `file:PATH` or `snapshot:ID` (see `stateward versions` and `stateward snapshot list`)";

impl FromStr for VersionRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::BadRef(BadRef::Malformed {
                text: s.to_owned(),
                why: why.to_owned(),
                forms: REF_FORMS,
            })
        };
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        if s == "latest" {
            return Ok(VersionRef::Latest(0));
        }
        if let Some(n) = s.strip_prefix("latest~") {
            return n
                .parse()
                .map(VersionRef::Latest)
                .map_err(|_| bad("N in `latest~N` must be a whole number"));
        }
        if let Some(n) = s.strip_prefix("serial:") {
            return n
                .parse()
                .map(VersionRef::Serial)
                .map_err(|_| bad("N in `serial:N` must be a whole number"));
        }
        if let Some(p) = s.strip_prefix("file:") {
            if p.is_empty() {
                return Err(bad("`file:` needs a path"));
            }
            return Ok(VersionRef::File(PathBuf::from(p)));
        }
        if let Some(id) = s.strip_prefix("snapshot:") {
            if id.is_empty() || id.contains('/') || id.chars().any(char::is_whitespace) {
                return Err(bad(
                    "`snapshot:` needs a snapshot id, as `stateward snapshot list` shows it",
                ));
            }
            return Ok(VersionRef::Snapshot(id.to_owned()));
        }
        if let Some((scheme, _)) = s.split_once(':') {
            if scheme.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(bad(&format!("unknown reference kind `{scheme}:`")));
            }
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("a version id has no spaces"));
        }
        Ok(VersionRef::VersionId(s.to_owned()))
    }
}

/// The bytes a reference resolved to, and what it was.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// How to describe it to a person, e.g. `s3 version 3f2a… (latest)`.
    pub label: String,
    /// The S3 version id, when it came from S3.
    pub version_id: Option<String>,
    pub bytes: Vec<u8>,
}

/// Resolves references against one state key (listing S3 at most once).
pub struct Resolver<'a> {
    bucket: Option<&'a dyn StateObjects>,
    key: &'a str,
    listing: Option<Vec<ObjectVersion>>,
    snapshots: Option<&'a SnapshotStore>,
    concurrency: usize,
}

impl<'a> Resolver<'a> {
    /// `bucket` may be `None` when only `file:` references will be resolved.
    pub fn new(bucket: Option<&'a dyn StateObjects>, key: &'a str) -> Self {
        Resolver {
            bucket,
            key,
            listing: None,
            snapshots: None,
            concurrency: 1,
        }
    }

    /// How many version headers are read at once when looking for a serial
    /// (one at a time unless said).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Resolves `snapshot:ID` references in `store` (without one they are an error).
    pub fn with_snapshots(mut self, store: Option<&'a SnapshotStore>) -> Self {
        self.snapshots = store;
        self
    }

    fn bucket(&self) -> Result<&'a dyn StateObjects> {
        self.bucket.ok_or_else(|| Unconfigured::State.into())
    }

    async fn listing(&mut self) -> Result<&[ObjectVersion]> {
        if self.listing.is_none() {
            let bucket = self.bucket()?;
            let versions = bucket.list_versions(self.key).await?;
            if versions.is_empty() {
                return Err(Error::NoState {
                    bucket: bucket.name().to_owned(),
                    key: self.key.to_owned(),
                });
            }
            self.listing = Some(versions);
        }
        Ok(self.listing.as_deref().unwrap_or_default())
    }

    /// The versions that are not delete markers, newest first.
    async fn readable_versions(&mut self) -> Result<Vec<ObjectVersion>> {
        Ok(self
            .listing()
            .await?
            .iter()
            .filter(|v| !v.delete_marker)
            .cloned()
            .collect())
    }

    /// Reads the content a reference names.
    pub async fn resolve(&mut self, r: &VersionRef) -> Result<Resolved> {
        match r {
            VersionRef::Snapshot(id) => {
                let store = self
                    .snapshots
                    .ok_or_else(|| Unconfigured::SnapshotStoreFor { id: id.clone() })?;
                let manifest = store.manifest(id).await?;
                let bytes = store.content(id).await?;
                let problems = crate::snapshot::check_content(&manifest, &bytes);
                if !problems.is_empty() {
                    return Err(Error::Snapshot(SnapshotProblem::Mismatch {
                        id: id.clone(),
                        store: store.url().to_string(),
                        problems,
                    }));
                }
                Ok(Resolved {
                    label: format!("snapshot {id}"),
                    version_id: None,
                    bytes,
                })
            }
            VersionRef::File(path) => {
                let bytes = std::fs::read(path).map_err(|source| Error::ReadFile {
                    path: path.clone(),
                    source,
                })?;
                Ok(Resolved {
                    label: format!("file {}", path.display()),
                    version_id: None,
                    bytes,
                })
            }
            VersionRef::VersionId(id) => {
                let bucket = self.bucket()?;
                let fetched = bucket.get(self.key, Some(id), None).await.map_err(|e| {
                    if e.kind == crate::aws::AwsErrorKind::NotFound
                        || e.code.as_deref() == Some("InvalidArgument")
                    {
                        Error::BadRef(BadRef::NoVersion {
                            id: id.clone(),
                            state: format!("s3://{}/{}", bucket.name(), self.key),
                        })
                    } else {
                        e.into()
                    }
                })?;
                Ok(Resolved {
                    label: format!("version {id}"),
                    version_id: Some(id.clone()),
                    bytes: fetched.bytes,
                })
            }
            VersionRef::Latest(n) => {
                let n = *n;
                let key = self.key;
                let bucket = self.bucket()?;
                let live = self.readable_versions().await?;
                let Some(latest) = live.first() else {
                    return Err(Error::NoState {
                        bucket: bucket.name().to_owned(),
                        key: key.to_owned(),
                    });
                };
                if n == 0 {
                    let (bytes, _) = crate::store::read_whole(bucket, key, latest).await?;
                    return Ok(Resolved {
                        label: format!("version {} (latest)", latest.version_id),
                        version_id: Some(latest.version_id.clone()),
                        bytes,
                    });
                }
                // Older versions, newest first, read a few at a time until
                // the Nth that parses as a state.
                let mut older = stream::iter(live.iter().skip(1))
                    .map(|v| async move {
                        let (bytes, _) = crate::store::read_whole(bucket, key, v).await?;
                        Ok::<_, Error>((v, bytes))
                    })
                    .buffered(self.concurrency);
                let mut counter = ReadableCounter::new(n);
                while let Some(item) = older.next().await {
                    let (v, bytes) = item?;
                    let (content, _) = content_of(&bytes);
                    if counter.step(!matches!(content, Content::Corrupt { .. })) {
                        let skipped = match counter.skipped {
                            0 => String::new(),
                            1 => ", 1 unreadable version not counted".to_owned(),
                            k => format!(", {k} unreadable versions not counted"),
                        };
                        return Ok(Resolved {
                            label: format!("version {} (latest~{n}{skipped})", v.version_id),
                            version_id: Some(v.version_id.clone()),
                            bytes,
                        });
                    }
                }
                Err(Error::BadRef(BadRef::TooFarBack {
                    n,
                    state: format!("s3://{}/{key}", bucket.name()),
                    readable: counter.readable,
                    skipped: counter.skipped,
                }))
            }
            VersionRef::Serial(serial) => {
                let serial = *serial;
                let key = self.key;
                let bucket = self.bucket()?;
                let live = self.readable_versions().await?;
                // Header facts newest first (cached after the first run), a
                // few at a time, until one matches; then only that version
                // is read whole, and checked to really have the serial.
                let mut headers = stream::iter(live.iter())
                    .map(|v| async move {
                        let (h, _) = crate::store::read_header_facts(bucket, key, v).await?;
                        Ok::<_, Error>((v, h.serial))
                    })
                    .buffered(self.concurrency);
                while let Some(item) = headers.next().await {
                    let (v, s) = item?;
                    if s == Some(serial) {
                        let (bytes, _) = crate::store::read_whole(bucket, key, v).await?;
                        if read_header(&bytes).serial != Some(serial) {
                            continue;
                        }
                        return Ok(Resolved {
                            label: format!("version {} (serial {serial})", v.version_id),
                            version_id: Some(v.version_id.clone()),
                            bytes,
                        });
                    }
                }
                Err(Error::BadRef(BadRef::NoSerial {
                    serial,
                    state: format!("s3://{}/{key}", bucket.name()),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_n_counts_only_readable_versions() {
        // (N, readability of the versions older than latest, newest first,
        // expected index picked)
        let cases: &[(usize, &[bool], Option<usize>)] = &[
            (1, &[true, true], Some(0)),
            (1, &[false, true], Some(1)),
            (2, &[true, false, false, true], Some(3)),
            (2, &[true, false], None),
            (1, &[], None),
        ];
        for (n, flags, want) in cases {
            let mut c = ReadableCounter::new(*n);
            let got = flags.iter().position(|r| c.step(*r));
            assert_eq!(got, *want, "latest~{n} over {flags:?}");
        }
    }

    #[test]
    fn parses_every_form() {
        let ok: &[(&str, VersionRef)] = &[
            ("latest", VersionRef::Latest(0)),
            ("latest~0", VersionRef::Latest(0)),
            ("latest~3", VersionRef::Latest(3)),
            ("serial:42", VersionRef::Serial(42)),
            ("file:./a.tfstate", VersionRef::File("./a.tfstate".into())),
            ("file:/tmp/x:y", VersionRef::File("/tmp/x:y".into())),
            (
                "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
                VersionRef::VersionId("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into()),
            ),
            ("null", VersionRef::VersionId("null".into())),
            (
                "snapshot:20261122T135501Z-12-0a1b2c3d",
                VersionRef::Snapshot("20261122T135501Z-12-0a1b2c3d".into()),
            ),
        ];
        for (text, want) in ok {
            assert_eq!(&text.parse::<VersionRef>().unwrap(), want, "{text}");
        }
    }

    #[test]
    fn rejects_bad_forms_with_advice() {
        for text in [
            "",
            "latest~x",
            "latest~-1",
            "serial:",
            "serial:abc",
            "file:",
            "snap:1",
            "snapshot:",
            "snapshot:../x",
            "a b",
        ] {
            let err = text.parse::<VersionRef>().unwrap_err().to_string();
            assert!(err.starts_with("bad version reference"), "{text}: {err}");
            assert!(err.contains("latest~N"), "{text}: {err}");
        }
    }
}

/// `snapshot:ID` on the in-memory twin: an intact snapshot resolves to its
/// bytes, a tampered one is refused naming it.
#[cfg(test)]
mod snapshot_ref_tests {
    use std::sync::Arc;

    use super::*;
    use crate::aws::object::Versioning;
    use crate::storage::memory::MemoryBucket;

    fn state(serial: u64) -> Vec<u8> {
        format!("{{\"version\": 4, \"serial\": {serial}, \"lineage\": \"l\", \"outputs\": {{}}, \"resources\": []}}\n")
            .into_bytes()
    }

    #[tokio::test]
    async fn a_snapshot_reference_resolves_to_its_checked_bytes_and_a_tampered_one_is_refused() {
        let state_bucket = MemoryBucket::new("state", Versioning::Enabled);
        let snaps = Arc::new(MemoryBucket::new("snaps", Versioning::Enabled));
        let store = SnapshotStore::in_bucket(snaps.clone(), "s");
        let mut ids = Vec::new();
        for (serial, day) in [(1, 1), (2, 2)] {
            state_bucket.put_raw("k", &state(serial));
            let now = time::macros::datetime!(2026-11-01 10:00 UTC) + time::Duration::days(day);
            let c = crate::snapshot::create(&store, &state_bucket, "k", "", now)
                .await
                .unwrap();
            ids.push(c.snapshot.id);
        }
        snaps.put_raw(&format!("s/{}/terraform.tfstate", ids[1]), &state(7));

        let mut resolver = Resolver::new(Some(&state_bucket), "k").with_snapshots(Some(&store));
        let ok = resolver
            .resolve(&VersionRef::Snapshot(ids[0].clone()))
            .await
            .unwrap();
        assert_eq!(ok.bytes, state(1));
        let err = resolver
            .resolve(&VersionRef::Snapshot(ids[1].clone()))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Snapshot(_)), "{err}");
        assert!(err.to_string().contains(&ids[1]), "{err}");
    }
}
