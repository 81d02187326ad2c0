//! State versions in S3: the listing, the health of a history, and version
//! references (`latest`, `latest~N`, `serial:N`, `file:PATH`, a version id).

pub mod refs;

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use time::OffsetDateTime;

use crate::aws::s3::Bucket;
use crate::error::{Error, Result};
use crate::state::header::{read_header, Header, HEADER_PREFIX_BYTES};
use crate::state::health::{assess, Content, Health, VersionFacts};
use crate::state::ParseError;

/// One entry of ListObjectVersions for the state key.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ObjectVersion {
    pub version_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
    pub size: u64,
    pub is_latest: bool,
    pub delete_marker: bool,
}

/// One entry of a ListObjectVersions over a prefix: which key, and the version.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyVersion {
    pub key: String,
    #[serde(flatten)]
    pub version: ObjectVersion,
}

/// Bytes read from S3.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    /// The version id S3 reported for what was read.
    pub version_id: Option<String>,
    /// The whole object's size (known even for a ranged read).
    pub total_size: Option<u64>,
}

/// A bucket's versioning status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Versioning {
    Enabled,
    Suspended,
    Disabled,
}

/// Orders versions newest first: the current one first, then by time.
/// The sort is stable, so S3's own order breaks ties.
pub fn sort_newest_first(versions: &mut [ObjectVersion]) {
    versions.sort_by(|a, b| {
        b.is_latest
            .cmp(&a.is_latest)
            .then(b.last_modified.cmp(&a.last_modified))
    });
}

/// How much of each version `history` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadDepth {
    /// Only the first bytes: serial, lineage, terraform_version.
    Header,
    /// The whole object: resource counts and full health.
    Full,
}

/// Options for [`history`].
#[derive(Debug, Clone, Copy)]
pub struct HistoryOptions {
    /// Report at most this many versions (newest first).
    pub limit: Option<usize>,
    pub depth: ReadDepth,
    /// How many objects are read at once.
    pub concurrency: usize,
}

/// How many versions older than the reported window are also read, so the
/// health of the oldest reported versions still has neighbours to compare with.
pub const HEALTH_CONTEXT: usize = 10;

/// A version with what was learnt from its content.
#[derive(Debug, Clone, Serialize)]
pub struct VersionEntry {
    #[serde(flatten)]
    pub version: ObjectVersion,
    pub serial: Option<u64>,
    pub lineage: Option<String>,
    pub terraform_version: Option<String>,
    pub resource_count: Option<usize>,
    #[serde(flatten)]
    pub health: Health,
    /// With `versions --against-live`: how the version matches live AWS.
    #[serde(skip_serializing_if = "LiveField::is_absent")]
    pub live: LiveField,
}

pub use crate::live::LiveMatch;

/// The `live` field of a version: absent unless asked for; `null` for a
/// version that cannot be read.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
#[serde(untagged)]
pub enum LiveField {
    #[default]
    Absent,
    Value(Option<LiveMatch>),
}

impl LiveField {
    pub fn is_absent(&self) -> bool {
        matches!(self, LiveField::Absent)
    }
}

/// The history of one state key.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    pub bucket: String,
    pub key: String,
    pub versions: Vec<VersionEntry>,
    /// How many versions exist in all (the listing may be limited).
    pub total_versions: usize,
    /// Bytes of object content downloaded to build this report.
    pub downloaded_bytes: u64,
    /// What was read of each listed version (same order as `versions`).
    #[serde(skip)]
    pub facts: Vec<VersionFacts>,
}

/// What one read of a version yields for the health assessment.
struct Learnt {
    facts: VersionFacts,
    terraform_version: Option<String>,
    /// Serial and lineage from the object's first bytes, even when the body is corrupt.
    header: Header,
    downloaded: u64,
}

/// Lists the versions of `key`, reads them (bounded concurrency), and assesses
/// the health of each against its neighbours.
pub async fn history(bucket: &Bucket, key: &str, opts: HistoryOptions) -> Result<History> {
    let all = bucket.list_versions(key).await?;
    if all.is_empty() {
        return Err(Error::NoState {
            bucket: bucket.name().to_owned(),
            key: key.to_owned(),
        });
    }
    let total_versions = all.len();
    let shown = opts.limit.unwrap_or(usize::MAX).min(all.len());
    let window = &all[..(shown.saturating_add(HEALTH_CONTEXT)).min(all.len())];

    let learnt: Vec<Learnt> = stream::iter(window.iter().cloned())
        .map(|v| read_version(bucket, key, v, opts.depth))
        .buffered(opts.concurrency.max(1))
        .try_collect()
        .await?;

    let facts: Vec<VersionFacts> = learnt.iter().map(|l| l.facts.clone()).collect();
    let health = assess(&facts);
    let downloaded_bytes = learnt.iter().map(|l| l.downloaded).sum();
    let facts_out: Vec<VersionFacts> = facts.iter().take(shown).cloned().collect();
    let versions = window
        .iter()
        .zip(learnt)
        .zip(health)
        .take(shown)
        .map(|((v, l), h)| {
            let (serial, lineage, resource_count) = summary(&l.facts.content);
            let serial = serial.or(l.header.serial);
            let lineage = lineage.or(l.header.lineage);
            VersionEntry {
                version: v.clone(),
                serial,
                lineage,
                terraform_version: l.terraform_version,
                resource_count,
                health: h,
                live: LiveField::Absent,
            }
        })
        .collect();
    Ok(History {
        bucket: bucket.name().to_owned(),
        key: key.to_owned(),
        versions,
        total_versions,
        downloaded_bytes,
        facts: facts_out,
    })
}

async fn read_version(
    bucket: &Bucket,
    key: &str,
    version: ObjectVersion,
    depth: ReadDepth,
) -> Result<Learnt> {
    if version.delete_marker {
        return Ok(Learnt {
            facts: VersionFacts {
                version_id: version.version_id,
                delete_marker: true,
                content: Content::Unknown,
            },
            terraform_version: None,
            header: Header::default(),
            downloaded: 0,
        });
    }
    let max = match depth {
        ReadDepth::Header => Some(HEADER_PREFIX_BYTES as u64),
        ReadDepth::Full => None,
    };
    let fetched = bucket.get(key, Some(&version.version_id), max).await?;
    let downloaded = fetched.bytes.len() as u64;
    let whole = max.is_none() || fetched.total_size == Some(downloaded);
    let header = read_header(&fetched.bytes);
    let (content, terraform_version) = if whole {
        content_of(&fetched.bytes)
    } else {
        content_of_header(&header)
    };
    Ok(Learnt {
        facts: VersionFacts {
            version_id: version.version_id,
            delete_marker: false,
            content,
        },
        terraform_version,
        header,
        downloaded,
    })
}

/// What a whole object says about itself, for the health assessment.
pub fn content_of(bytes: &[u8]) -> (Content, Option<String>) {
    match crate::state::parse(bytes) {
        Ok(state) => (
            Content::Parsed {
                serial: state.serial,
                lineage: state.lineage.to_string(),
                resource_count: Some(state.resource_count()),
            },
            Some(state.terraform_version.to_string()),
        ),
        Err(ParseError::Encrypted { serial, lineage }) => {
            (Content::Encrypted { serial, lineage }, None)
        }
        Err(e) => (
            Content::Corrupt {
                problem: e.to_string(),
            },
            read_header(bytes).terraform_version,
        ),
    }
}

/// What the first bytes of an object say about it (no resource count; a
/// truncated body cannot be told from a header alone).
pub fn content_of_header(h: &Header) -> (Content, Option<String>) {
    let content = if h.encrypted {
        Content::Encrypted {
            serial: h.serial,
            lineage: h.lineage.clone(),
        }
    } else {
        match (h.version, h.serial, &h.lineage) {
            (Some(4), Some(serial), Some(lineage)) => Content::Parsed {
                serial,
                lineage: lineage.clone(),
                resource_count: None,
            },
            (Some(v), _, _) if v != 4 => Content::Corrupt {
                problem: format!(
                    "state format version {v} is not supported (stateward reads version 4)"
                ),
            },
            _ if h.complete => Content::Corrupt {
                problem: "the header lacks version, serial or lineage".into(),
            },
            _ => Content::Corrupt {
                problem: format!(
                    "the first {HEADER_PREFIX_BYTES} bytes do not start a Terraform state"
                ),
            },
        }
    };
    (content, h.terraform_version.clone())
}

fn summary(c: &Content) -> (Option<u64>, Option<String>, Option<usize>) {
    match c {
        Content::Parsed {
            serial,
            lineage,
            resource_count,
        } => (Some(*serial), Some(lineage.clone()), *resource_count),
        Content::Encrypted { serial, lineage } => (*serial, lineage.clone(), None),
        Content::Corrupt { .. } | Content::Unknown => (None, None, None),
    }
}
