//! State versions in S3: the listing, the health of a history, and version
//! references (`latest`, `latest~N`, `serial:N`, `file:PATH`, a version id).

pub mod refs;

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use crate::aws::s3::Bucket;
use crate::error::{Error, Result};
use crate::output::Progress;
use crate::state::header::{read_header, Header, HEADER_PREFIX_BYTES};
use crate::state::health::{assess, content_of, content_of_header, Content, Health, VersionFacts};

pub use crate::aws::object::{sort_newest_first, Fetched, KeyVersion, ObjectVersion, Versioning};

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
    let listing = Progress::spinner(format!(
        "listing the versions of s3://{}/{key}",
        bucket.name()
    ));
    let all = bucket.list_versions(key).await?;
    listing.finish();
    if all.is_empty() {
        return Err(Error::NoState {
            bucket: bucket.name().to_owned(),
            key: key.to_owned(),
        });
    }
    let total_versions = all.len();
    let shown = opts.limit.unwrap_or(usize::MAX).min(all.len());
    let window = &all[..(shown.saturating_add(HEALTH_CONTEXT)).min(all.len())];

    let reading = Progress::items_bytes("reading versions", window.len() as u64);
    let read_so_far = std::sync::atomic::AtomicU64::new(0);
    let learnt: Vec<Learnt> = stream::iter(window.iter().cloned())
        .map(|v| async {
            let l = read_version(bucket, key, v, opts.depth).await?;
            let total = read_so_far.fetch_add(l.downloaded, std::sync::atomic::Ordering::Relaxed)
                + l.downloaded;
            reading.inc(1);
            reading.set_bytes(total);
            Ok::<_, Error>(l)
        })
        .buffered(opts.concurrency.max(1))
        .try_collect()
        .await?;
    reading.finish();

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
    // Checked against the listing's size: a body cut short is a transfer
    // error (read again), never a truncated state.
    let fetched = bucket
        .get_checked(key, Some(&version.version_id), max, Some(version.size))
        .await?;
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

fn summary(c: &Content) -> (Option<u64>, Option<String>, Option<usize>) {
    match c {
        Content::Parsed {
            serial,
            lineage,
            resource_count,
            ..
        } => (Some(*serial), Some(lineage.clone()), *resource_count),
        Content::Encrypted { serial, lineage } => (*serial, lineage.clone(), None),
        Content::Corrupt { .. } | Content::Unknown => (None, None, None),
    }
}
