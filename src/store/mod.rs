//! State versions in S3: the listing, the health of a history, and version
//! references (`latest`, `latest~N`, `serial:N`, `file:PATH`, a version id).

pub mod cache;
pub mod refs;

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::output::Progress;
use crate::state::header::{read_header, Header, HEADER_PREFIX_BYTES};
use crate::state::health::{
    assess_row, content_of, content_of_header, settled_reference, Content, Health, VersionFacts,
};
use crate::storage::StateObjects;

pub use crate::aws::object::{sort_newest_first, Fetched, KeyVersion, ObjectVersion, Versioning};

/// How much of each version `history` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadDepth {
    /// Only the first bytes: serial, lineage, terraform_version (for callers
    /// that need nothing else, e.g. every serial a lineage has used).
    Prefix,
    /// The first bytes and the last ones: the header facts, and whether the
    /// object ends as a whole document does (a truncated upload does not).
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
    /// Hand back the newest version's whole body ([`History::newest_body`])
    /// when it is read whole. It is then read last, so it is not held while
    /// the other bodies of the window are read.
    pub keep_newest: bool,
}

/// How many versions older than the reported window are also read, so the
/// health of the oldest reported versions still has neighbours to compare with.
pub const HEALTH_CONTEXT: usize = 10;

/// Bytes of whole bodies [`history`] reads at once at most (one body at
/// least, whatever its size): peak memory follows the largest state read,
/// not the concurrency times it.
pub const WHOLE_READ_BUDGET: u64 = 32 << 20;

/// How many versions of `window` are read at once: `concurrency`, fewer when
/// whole reads of its largest body would hold more than
/// [`WHOLE_READ_BUDGET`] at once. Pure.
pub fn read_concurrency(
    window: &[ObjectVersion],
    depths: &[ReadDepth],
    concurrency: usize,
) -> usize {
    let largest = window
        .iter()
        .zip(depths)
        .filter(|(_, d)| **d == ReadDepth::Full)
        .map(|(v, _)| v.size)
        .max()
        .unwrap_or(0);
    let by_budget = WHOLE_READ_BUDGET.checked_div(largest).unwrap_or(u64::MAX);
    (by_budget.min(concurrency as u64) as usize).max(1)
}

/// A version with what was learnt from its content.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VersionEntry {
    #[serde(flatten)]
    pub version: ObjectVersion,
    pub serial: Option<u64>,
    pub lineage: Option<String>,
    pub terraform_version: Option<String>,
    /// What `terraform state list` would print; null when only the header was read.
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
    /// The whole body of the newest version, when this report read it whole
    /// (so a caller that needs it does not download it again).
    #[serde(skip)]
    pub newest_body: Option<Vec<u8>>,
}

/// What one read of a version yields for the health assessment.
struct Learnt {
    facts: VersionFacts,
    terraform_version: Option<String>,
    /// Serial and lineage from the object's first bytes, even when the body is corrupt.
    header: Header,
    downloaded: u64,
}

/// The version cache for reads of `bucket`: none when the state is
/// encrypted with a customer key (SSE-C), whose plaintext must not be kept
/// on disk, nor served to a run that does not hold the key.
fn cache_for(bucket: &dyn StateObjects) -> cache::Cache {
    if !bucket.cacheable() {
        return cache::Cache::disabled();
    }
    cache::current()
}

/// How many bytes of an object's end are read to tell a complete document
/// from a truncated upload.
pub const TAIL_BYTES: u64 = 16;

/// Whether the last bytes of an object end a JSON document as a state does:
/// `}` then (optionally) whitespace. A truncated upload ends elsewhere. Pure.
pub fn ends_complete(tail: &[u8]) -> bool {
    tail.iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'}')
}

/// What a version whose last bytes are not a document's end is.
pub fn truncated_content(size: u64) -> Content {
    Content::Corrupt {
        problem: format!(
            "the object ({size} bytes) does not end with `}}`: a truncated upload (its last bytes were read)"
        ),
    }
}

/// Which depth each version of the listing (newest first) is read to, when
/// `shown` versions are reported at `depth`: the shown ones at `depth`, the
/// next [`HEALTH_CONTEXT`] older ones for their header facts only
/// ([`ReadDepth::Prefix`]), except
/// the first readable one below the window, read at `depth` so the oldest
/// shown version has a resource count to be compared with. Pure.
pub fn window_depths(all: &[ObjectVersion], shown: usize, depth: ReadDepth) -> Vec<ReadDepth> {
    let end = shown.saturating_add(HEALTH_CONTEXT).min(all.len());
    let mut below_found = false;
    (0..end)
        .map(|i| {
            if i < shown {
                depth
            } else if !below_found && !all[i].delete_marker {
                below_found = true;
                depth
            } else {
                ReadDepth::Prefix
            }
        })
        .collect()
}

/// How many of the `shown` rows of a window of `window_len` versions (newest
/// first) are final once its newest `read` versions are read: a row is
/// judged against its [`HEALTH_CONTEXT`] older neighbours, so it is final
/// when they are read (or every version is). The reference lineage must be
/// settled too ([`settled_reference`]). Pure.
pub fn rows_final(read: usize, window_len: usize, shown: usize) -> usize {
    if read >= window_len {
        shown
    } else {
        read.saturating_sub(HEALTH_CONTEXT).min(shown)
    }
}

/// Lists the versions of `key`, reads the window that is reported (bounded
/// concurrency, through the version cache), and assesses the health of each
/// against its neighbours.
pub async fn history(
    bucket: &dyn StateObjects,
    key: &str,
    opts: HistoryOptions,
) -> Result<History> {
    history_streamed(bucket, key, opts, &mut |_| true).await
}

/// What [`history_streamed`] tells its caller as it goes.
#[derive(Debug)]
pub enum HistoryEvent<'a> {
    /// The listing is read: every version (newest first), and how many of
    /// them the report shows.
    Listed {
        versions: &'a [ObjectVersion],
        shown: usize,
    },
    /// The next shown row (newest first) is final: it reads as it will in
    /// the finished [`History`].
    Row(&'a VersionEntry),
}

/// [`history`], telling `on_event` of the listing and of each shown row as
/// soon as it is final (its older neighbours read and the history's
/// lineage settled), so a long history's first rows are shown while the
/// rest is read. When `on_event` returns `false` (its output is gone: a
/// closed pipe), nothing more is read and the rows so far are returned.
pub async fn history_streamed(
    bucket: &dyn StateObjects,
    key: &str,
    opts: HistoryOptions,
    on_event: &mut dyn FnMut(HistoryEvent<'_>) -> bool,
) -> Result<History> {
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
    let mut go_on = on_event(HistoryEvent::Listed {
        versions: &all,
        shown,
    });
    let depths = window_depths(&all, shown, opts.depth);
    let window = &all[..depths.len()];
    let concurrency = read_concurrency(window, &depths, opts.concurrency);
    let cache = cache_for(bucket);
    // Votes for the history's lineage still unread after each prefix.
    let mut unread_votes = window.iter().filter(|v| !v.delete_marker).count();

    let reading = Progress::items_bytes("reading versions", window.len() as u64);
    let read_so_far = std::sync::atomic::AtomicU64::new(0);
    let mut newest_body = None;
    // With the newest body kept, it is read last: not held during the
    // other reads.
    let order: Vec<usize> = if opts.keep_newest {
        (1..window.len()).chain(0..1.min(window.len())).collect()
    } else {
        (0..window.len()).collect()
    };
    let keep_newest = opts.keep_newest;
    let mut reads = stream::iter(order)
        .map(|i| {
            let cache = &cache;
            let reading = &reading;
            let read_so_far = &read_so_far;
            let (v, depth) = (&window[i], depths[i]);
            async move {
                let (l, body) = learn(bucket, key, v, depth, cache, keep_newest && i == 0).await?;
                let total = read_so_far
                    .fetch_add(l.downloaded, std::sync::atomic::Ordering::Relaxed)
                    + l.downloaded;
                reading.inc(1);
                reading.set_bytes(total);
                Ok::<_, Error>((i, l, body))
            }
        })
        .buffered(concurrency);
    // Reads that came before the ones newer than them (the newest, kept).
    let mut waiting: Vec<Option<Learnt>> = (0..window.len()).map(|_| None).collect();
    let mut learnt: Vec<Learnt> = Vec::with_capacity(window.len());
    let mut facts: Vec<VersionFacts> = Vec::with_capacity(window.len());
    let mut versions: Vec<VersionEntry> = Vec::with_capacity(shown);
    let mut reference: Option<Option<String>> = None;
    while go_on {
        let next = reads.try_next().await?;
        let done = next.is_none();
        if let Some((i, l, body)) = next {
            if body.is_some() {
                newest_body = body;
            }
            waiting[i] = Some(l);
        }
        // The newest versions read so far, in order.
        while let Some(l) = waiting.get_mut(learnt.len()).and_then(Option::take) {
            if !window[learnt.len()].delete_marker {
                unread_votes -= 1;
            }
            facts.push(l.facts.clone());
            learnt.push(l);
        }
        if reference.is_none() {
            reference = settled_reference(&facts, unread_votes).map(|r| r.map(str::to_owned));
        }
        if let Some(r) = &reference {
            let fin = rows_final(learnt.len(), window.len(), shown);
            while go_on && versions.len() < fin {
                let i = versions.len();
                let health = assess_row(&facts, i, r.as_deref(), HEALTH_CONTEXT);
                versions.push(entry(&window[i], &learnt[i], health));
                if let Some(row) = versions.last() {
                    go_on = go_on && on_event(HistoryEvent::Row(row));
                }
            }
        }
        if done {
            break;
        }
    }
    drop(reads);
    reading.finish();

    let downloaded_bytes = learnt.iter().map(|l| l.downloaded).sum();
    facts.truncate(shown);
    Ok(History {
        bucket: bucket.name().to_owned(),
        key: key.to_owned(),
        versions,
        total_versions,
        downloaded_bytes,
        facts,
        newest_body,
    })
}

/// The report's row for `v`, from what its read learnt.
fn entry(v: &ObjectVersion, l: &Learnt, health: Health) -> VersionEntry {
    let (serial, lineage, resource_count) = summary(&l.facts.content);
    VersionEntry {
        version: v.clone(),
        serial: serial.or(l.header.serial),
        lineage: lineage.or_else(|| l.header.lineage.clone()),
        terraform_version: l.terraform_version.clone(),
        resource_count,
        health,
    }
}

/// The whole body of `version`, from the version cache when it holds a
/// checked copy, else from S3 (then cached). Returns the bytes and how many
/// were downloaded.
pub async fn read_whole(
    bucket: &dyn StateObjects,
    key: &str,
    version: &ObjectVersion,
) -> Result<(Vec<u8>, u64)> {
    let cache = cache_for(bucket);
    if let Some(bytes) = cache.body(bucket.name(), key, version) {
        return Ok((bytes, 0));
    }
    let fetched = bucket
        .get_checked(key, Some(&version.version_id), None, Some(version.size))
        .await?;
    let (content, terraform_version) = content_of(&fetched.bytes);
    let header = read_header(&fetched.bytes);
    cache.put_body(
        bucket.name(),
        key,
        version,
        &fetched.bytes,
        cached_facts(&header, terraform_version, None, None, Some(&content)),
    );
    let n = fetched.bytes.len() as u64;
    Ok((fetched.bytes, n))
}

/// The header facts of `version` (serial, lineage, terraform_version), from
/// the version cache or a ranged read of its first bytes (then cached).
pub async fn read_header_facts(
    bucket: &dyn StateObjects,
    key: &str,
    version: &ObjectVersion,
) -> Result<(Header, u64)> {
    let cache = cache_for(bucket);
    if let Some(f) = cache.facts(bucket.name(), key, version) {
        return Ok((header_of(&f), 0));
    }
    let fetched = bucket
        .get_checked(
            key,
            Some(&version.version_id),
            Some(HEADER_PREFIX_BYTES as u64),
            Some(version.size),
        )
        .await?;
    let header = read_header(&fetched.bytes);
    let (content, _) = content_of_header(&header);
    cache.put_facts(
        bucket.name(),
        key,
        version,
        cached_facts(
            &header,
            header.terraform_version.clone(),
            Some(&content),
            None,
            None,
        ),
    );
    Ok((header, fetched.bytes.len() as u64))
}

/// The header facts of `version` from the version cache, without a request
/// (`None` when the cache does not hold them).
pub fn cached_header(
    bucket: &dyn StateObjects,
    key: &str,
    version: &ObjectVersion,
) -> Option<Header> {
    cache_for(bucket)
        .facts(bucket.name(), key, version)
        .map(|f| header_of(&f))
}

/// Records the header facts of `version`, which the caller read itself (the
/// inventory reads each current version whole or its first bytes), so that
/// a later run finds them without a request, as [`read_header_facts`] does.
pub fn remember_header(
    bucket: &dyn StateObjects,
    key: &str,
    version: &ObjectVersion,
    header: &Header,
) {
    let (content, _) = content_of_header(header);
    cache_for(bucket).put_facts(
        bucket.name(),
        key,
        version,
        cached_facts(
            header,
            header.terraform_version.clone(),
            Some(&content),
            None,
            None,
        ),
    );
}

fn cached_facts(
    header: &Header,
    terraform_version: Option<String>,
    header_content: Option<&Content>,
    tail_complete: Option<bool>,
    content: Option<&Content>,
) -> cache::VersionFacts {
    cache::VersionFacts {
        size: 0,
        etag: None,
        serial: header.serial,
        lineage: header.lineage.clone(),
        terraform_version: terraform_version.or_else(|| header.terraform_version.clone()),
        header_content: header_content.and_then(cache::CachedContent::from_content),
        tail_complete,
        content: content.and_then(cache::CachedContent::from_content),
        sha256: None,
        etag_is_md5: false,
    }
}

fn header_of(f: &cache::VersionFacts) -> Header {
    Header {
        serial: f.serial,
        lineage: f.lineage.clone(),
        terraform_version: f.terraform_version.clone(),
        ..Header::default()
    }
}

/// Reads one version to `depth` (through the cache). With `keep_body`, the
/// whole body is handed back too when it was read whole.
async fn learn(
    bucket: &dyn StateObjects,
    key: &str,
    version: &ObjectVersion,
    depth: ReadDepth,
    cache: &cache::Cache,
    keep_body: bool,
) -> Result<(Learnt, Option<Vec<u8>>)> {
    let learnt = |content: Content, tv: Option<String>, header: Header, downloaded: u64| Learnt {
        facts: VersionFacts {
            version_id: version.version_id.clone(),
            delete_marker: version.delete_marker,
            content,
        },
        terraform_version: tv,
        header,
        downloaded,
    };
    if version.delete_marker {
        return Ok((learnt(Content::Unknown, None, Header::default(), 0), None));
    }
    let name = bucket.name();
    // Cached facts answer without a read: a whole read's content serves
    // either depth, header facts serve a header read.
    if !keep_body || depth != ReadDepth::Full {
        if let Some(f) = cache.facts(name, key, version) {
            let header = header_of(&f);
            let tv = f.terraform_version.clone();
            match (&f.content, &f.header_content, f.tail_complete, depth) {
                (Some(c), ..) => return Ok((learnt(c.to_content(), tv, header, 0), None)),
                (None, Some(c), _, ReadDepth::Prefix)
                | (None, Some(c), Some(true), ReadDepth::Header) => {
                    return Ok((learnt(c.to_content(), tv, header, 0), None))
                }
                (None, Some(_), Some(false), ReadDepth::Header) => {
                    let content = truncated_content(version.size);
                    return Ok((learnt(content, tv, header, 0), None));
                }
                _ => {}
            }
        }
    }
    match depth {
        ReadDepth::Prefix => {
            let (header, downloaded) = read_header_facts(bucket, key, version).await?;
            let (content, tv) = content_of_header(&header);
            Ok((learnt(content, tv, header, downloaded), None))
        }
        ReadDepth::Full => {
            let (bytes, downloaded) = read_whole(bucket, key, version).await?;
            let (content, tv) = content_of(&bytes);
            let header = read_header(&bytes);
            Ok((
                learnt(content, tv, header, downloaded),
                keep_body.then_some(bytes),
            ))
        }
        ReadDepth::Header => {
            // Checked against the listing's size: a body cut short is a
            // transfer error (read again), never a truncated state.
            let fetched = bucket
                .get_checked(
                    key,
                    Some(&version.version_id),
                    Some(HEADER_PREFIX_BYTES as u64),
                    Some(version.size),
                )
                .await?;
            let mut downloaded = fetched.bytes.len() as u64;
            let header = read_header(&fetched.bytes);
            if fetched.total_size == Some(downloaded) {
                // The whole object fitted in the first read.
                let (content, tv) = content_of(&fetched.bytes);
                cache.put_body(
                    name,
                    key,
                    version,
                    &fetched.bytes,
                    cached_facts(&header, tv.clone(), None, None, Some(&content)),
                );
                let body = keep_body.then_some(fetched.bytes);
                return Ok((learnt(content, tv, header, downloaded), body));
            }
            // A truncated upload shows at the end of the object.
            let tail = bucket
                .get_tail_checked(
                    key,
                    Some(&version.version_id),
                    TAIL_BYTES,
                    Some(version.size),
                )
                .await?;
            downloaded += tail.bytes.len() as u64;
            let complete = ends_complete(&tail.bytes);
            let (from_header, tv) = content_of_header(&header);
            cache.put_facts(
                name,
                key,
                version,
                cached_facts(
                    &header,
                    tv.clone(),
                    Some(&from_header),
                    Some(complete),
                    None,
                ),
            );
            let content = if complete {
                from_header
            } else {
                truncated_content(version.size)
            };
            Ok((learnt(content, tv, header, downloaded), None))
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn v(size: u64) -> ObjectVersion {
        ObjectVersion {
            version_id: "v".into(),
            last_modified: time::OffsetDateTime::UNIX_EPOCH,
            size,
            is_latest: false,
            delete_marker: false,
            etag: None,
        }
    }

    #[test]
    fn rows_are_final_once_their_older_neighbours_are_read() {
        // (read, window, shown) -> final rows
        let cases = [
            ((0, 30, 20), 0),
            ((10, 30, 20), 0),
            ((11, 30, 20), 1),
            ((25, 30, 20), 15),
            ((29, 30, 20), 19),
            ((30, 30, 20), 20),
            ((500, 1000, 1000), 490),
            ((3, 3, 3), 3),
            ((2, 3, 3), 0),
        ];
        for ((read, window, shown), want) in cases {
            assert_eq!(rows_final(read, window, shown), want, "{read}/{window}");
        }
    }

    #[test]
    fn streamed_rows_are_the_rows_of_the_history_in_order() {
        let bucket = crate::storage::memory::MemoryBucket::new("b", Versioning::Enabled);
        for serial in 1..=40u64 {
            let lineage = if serial == 33 { "other" } else { "main" };
            let body = format!(
                r#"{{"version":4,"terraform_version":"1.9.0","serial":{serial},"lineage":"{lineage}","outputs":{{}},"resources":[]}}"#
            );
            bucket.put_raw("k", body.as_bytes());
        }
        let opts = HistoryOptions {
            limit: None,
            depth: ReadDepth::Full,
            concurrency: 3,
            keep_newest: false,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut seen = Vec::new();
        let mut listed = None;
        let h = rt
            .block_on(history_streamed(&bucket, "k", opts, &mut |e| match e {
                HistoryEvent::Listed { versions, shown } => {
                    listed = Some((versions.len(), shown));
                    true
                }
                HistoryEvent::Row(v) => {
                    seen.push(serde_json::to_value(v).unwrap());
                    true
                }
            }))
            .unwrap();
        assert_eq!(listed, Some((40, 40)));
        let whole: Vec<_> = h
            .versions
            .iter()
            .map(|v| serde_json::to_value(v).unwrap())
            .collect();
        assert_eq!(seen, whole);
        assert_eq!(h.versions[0].serial, Some(40));
        assert_eq!(h.versions[7].health.status.as_str(), "foreign-lineage");
        assert_eq!(h.versions[6].health.status.as_str(), "ok");
    }

    #[test]
    fn rows_are_handed_over_before_the_older_versions_are_read() {
        use crate::storage::faulty::{Faults, Faulty, Op, When};
        let faults = Faults::new();
        let inner = crate::storage::memory::MemoryBucket::new("b", Versioning::Enabled);
        for serial in 1..=40u64 {
            let body = format!(
                r#"{{"version":4,"terraform_version":"1.9.0","serial":{serial},"lineage":"main","outputs":{{}},"resources":[]}}"#
            );
            inner.put_raw("k", body.as_bytes());
        }
        let bucket = Faulty::new(inner, faults.clone());
        // The 30th read waits: 29 versions are read by then.
        let pause = faults.pause("30th read", Op::Get, Some("k"), 30, When::Before);
        let opts = HistoryOptions {
            limit: None,
            depth: ReadDepth::Full,
            concurrency: 1,
            keep_newest: false,
        };
        let rows = std::cell::Cell::new(0usize);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (h, at_pause) = rt.block_on(async {
            let mut count = |e: HistoryEvent<'_>| {
                if let HistoryEvent::Row(_) = e {
                    rows.set(rows.get() + 1);
                }
                true
            };
            let reading = history_streamed(&bucket, "k", opts, &mut count);
            let watching = async {
                pause.reached().await;
                let n = rows.get();
                pause.resume();
                n
            };
            tokio::join!(reading, watching)
        });
        // One lineage (29 of 40 read: settled) and rows 0..19 have their 10
        // older neighbours read.
        assert_eq!(at_pause, 19);
        assert_eq!(h.unwrap().versions.len(), 40);
        assert_eq!(rows.get(), 40);
    }

    #[test]
    fn nothing_more_is_read_once_the_caller_stops() {
        use crate::storage::faulty::{Faults, Faulty, Op};
        let faults = Faults::new();
        let inner = crate::storage::memory::MemoryBucket::new("b", Versioning::Enabled);
        for serial in 1..=100u64 {
            let body = format!(
                r#"{{"version":4,"terraform_version":"1.9.0","serial":{serial},"lineage":"main","outputs":{{}},"resources":[]}}"#
            );
            inner.put_raw("k", body.as_bytes());
        }
        let bucket = Faulty::new(inner, faults.clone());
        let opts = HistoryOptions {
            limit: None,
            depth: ReadDepth::Full,
            concurrency: 2,
            keep_newest: false,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // The output closes after the third row (as `versions | head` does).
        let mut rows = 0;
        let h = rt
            .block_on(history_streamed(&bucket, "k", opts, &mut |e| {
                if let HistoryEvent::Row(_) = e {
                    rows += 1;
                }
                rows < 3
            }))
            .unwrap();
        assert_eq!(h.versions.len(), 3);
        let reads = faults
            .calls()
            .iter()
            .filter(|(op, _)| *op == Op::Get)
            .count();
        // Rows are final from the 51st read on (the lineage settled): a few
        // more in flight, not the 100.
        assert!(reads <= 55, "{reads} reads");
    }

    #[test]
    fn whole_reads_in_flight_are_bounded_by_bytes() {
        use ReadDepth::*;
        let mb = 1 << 20;
        type Case = (Vec<(u64, ReadDepth)>, usize, usize);
        let cases: Vec<Case> = vec![
            // 2 MB states: all 8 at once (16 MB).
            (vec![(2 * mb, Full); 20], 8, 8),
            // 20 MB states: one at a time.
            (vec![(20 * mb, Full); 20], 8, 1),
            // 10 MB: three (30 MB).
            (vec![(10 * mb, Full); 5], 8, 3),
            // Header reads of large states are small: no bound.
            (vec![(200 * mb, Prefix); 20], 8, 8),
            (vec![(200 * mb, Header), (mb, Full)], 8, 8),
            // Larger than the budget alone: still one.
            (vec![(100 * mb, Full)], 8, 1),
            (vec![], 0, 1),
        ];
        for (window, concurrency, want) in cases {
            let (vs, ds): (Vec<ObjectVersion>, Vec<ReadDepth>) =
                window.iter().map(|(s, d)| (v(*s), *d)).unzip();
            assert_eq!(read_concurrency(&vs, &ds, concurrency), want, "{window:?}");
        }
    }
}
