//! The inventory of every state in one or more buckets, at about one AWS
//! request per state: one ListObjectVersions pass per bucket (keys, delete
//! markers, version counts, lock files), one GetBucketVersioning per bucket,
//! one ranged GET per state (the whole object when it is small, else its
//! header, which is then recorded in the version cache), the lock and digest
//! items in `BatchGetItem` calls of 100 keys, and a GET of each lock file
//! that exists. The lineage check compares each state with its previous
//! version: free when the ETags match or the version cache holds the
//! previous header, else one ranged header read, within the budget of
//! `--lineage-check` ([`super::lineage_read_budget`], newest writes first);
//! the states left out say `not-compared`. Reads run concurrently, bounded.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde::Serialize;
use time::OffsetDateTime;

use super::{
    apply_previous_lineage, lineage_need, lineage_read_budget, lock_view, pick_lineage_reads,
    problems_of, sort_problems_first, states_in, DigestState, LineageCheck, LineageCompared,
    LineageNeed, Listed, LockFacts, Selection, StateEntry, StateHealth,
};
use crate::aws::object::ObjectVersion;
use crate::aws::s3::Bucket;
use crate::aws::Aws;
use crate::error::Result;
use crate::model::lock_names;
use crate::output::Progress;
use crate::state::header::read_header;
use crate::state::health::{content_of, content_of_header, Content};

/// States up to this size are read whole by one ranged GET (same request,
/// and the digest and full parse come for free); larger ones only to this
/// many bytes (the header: serial, lineage, version).
pub const INVENTORY_READ_BYTES: u64 = 256 * 1024;

/// What to take stock of.
#[derive(Debug, Clone)]
pub struct InventoryOptions {
    pub buckets: Vec<String>,
    pub selection: Selection,
    /// The lock table, when one is configured (lock and digest items).
    pub table: Option<String>,
    /// `table` comes from `--dynamodb-table`: it wins over the rules'.
    pub table_from_flag: bool,
    /// Whether the states use the lock file `<key>.tflock`: `Some(true)`
    /// from `--use-lockfile` (wins over the rules) or the backend; `None`
    /// when nothing says. A rule's `use_lockfile` applies where no flag
    /// does; a state that does not use it (`Some(false)`) has its `.tflock`
    /// ignored, as Terraform does.
    pub use_lockfile: Option<bool>,
    /// `use_lockfile` comes from `--use-lockfile`.
    pub use_lockfile_from_flag: bool,
    /// The environment file's `states` block: a matching rule's
    /// `dynamodb_table`, `region` (through `rule_aws`) and `use_lockfile`
    /// apply to its states where no flag sets them.
    pub rules: crate::config::StatesSettings,
    /// Per rule, its own connection when it sets a region (or a live-check
    /// role): the states it matches are read through it, their lock table
    /// too, and a bucket it names with a region is listed through it.
    pub rule_aws: Vec<Option<Aws>>,
    /// Requests of one kind in flight at once.
    pub concurrency: usize,
    /// How far each state's lineage is compared with its previous version's.
    pub lineage_check: LineageCheck,
    pub stale_lock_after: Duration,
    pub now: OffsetDateTime,
}

/// One bucket of the inventory.
#[derive(Debug, Clone, Serialize)]
pub struct BucketSummary {
    pub name: String,
    pub versioning: Option<String>,
    pub states: usize,
    /// Why the bucket could not be listed, when it could not.
    pub error: Option<String>,
}

/// The inventory: every state, problems first.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    pub buckets: Vec<BucketSummary>,
    pub states: Vec<StateEntry>,
    /// Failures that left part of the fleet unchecked (a bucket not listed,
    /// the lock table not read), one sentence each.
    pub errors: Vec<String>,
    /// Header reads of previous versions for the lineage check (only where
    /// the previous version's ETag differs from the current one's).
    pub previous_reads: usize,
    /// States with a previous version of other bytes whose lineage was not
    /// compared (`--lineage-check`; or the read failed).
    pub lineage_not_compared: usize,
}

/// A lock table and the connection it is read through (`None`: the run's
/// own; else the index of the rule whose connection it is).
pub type TableAt = (Option<usize>, String);

/// What applies to one state in the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSettings {
    /// The rule whose own connection reads the state's objects and lock
    /// table (`None`: the bucket's connection for objects, the run's for
    /// the table).
    pub connection: Option<usize>,
    /// The lock table, when there is one.
    pub table: Option<TableAt>,
    /// Whether the state uses the lock file (`None`: nothing says).
    pub use_lockfile: Option<bool>,
}

/// The settings of the state `bucket`/`key`: its rule's (the first that
/// matches) where no flag sets them, else the run's. `own[i]` tells whether
/// rule `i` has a connection of its own (a region or a live-check role);
/// without one for the state's rule, the rule that gives the bucket its
/// region lends its connection. Pure.
pub fn settings_of(
    opts: &InventoryOptions,
    own: &[bool],
    bucket: &str,
    key: &str,
) -> StateSettings {
    let has_own = |i: &usize| own.get(*i).copied().unwrap_or(false);
    let rule = opts.rules.rule_for(bucket, key);
    let connection = rule.map(|(i, _)| i).filter(has_own).or_else(|| {
        opts.rules
            .region_of_bucket(bucket)
            .map(|(i, _)| i)
            .filter(has_own)
    });
    let rule = rule.map(|(_, r)| r);
    let table = if opts.table_from_flag {
        opts.table.clone()
    } else {
        rule.and_then(|r| r.dynamodb_table.clone())
            .or_else(|| opts.table.clone())
    };
    let use_lockfile = if opts.use_lockfile_from_flag {
        opts.use_lockfile
    } else {
        rule.and_then(|r| r.use_lockfile).or(opts.use_lockfile)
    };
    StateSettings {
        connection,
        table: table.map(|t| (connection, t)),
        use_lockfile,
    }
}

/// What one read of a state's current version gave.
struct Read {
    health: StateHealth,
    detail: Option<String>,
    serial: Option<u64>,
    lineage: Option<String>,
    terraform_version: Option<String>,
    /// md5 of the whole object, when it was read whole.
    md5: Option<String>,
    /// The header read (to be cached), when the object was read.
    header: Option<crate::state::header::Header>,
}

/// The states of the buckets (one ListObjectVersions pass each), without
/// reading any object: for fleet checks that read each state themselves.
/// A bucket that cannot be listed is one sentence in the second list.
/// `through` gives the connection each bucket is listed through.
pub async fn list_states<'a>(
    through: &dyn Fn(&str) -> &'a Aws,
    buckets: &[String],
    selection: &Selection,
) -> (Vec<Listed>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for name in buckets {
        let bucket = through(name).bucket(name);
        let progress = Progress::counter(format!("listing s3://{name}/{}", selection.prefix));
        let mut on_page = |n: usize| progress.set_position(n as u64);
        let listing = bucket
            .list_prefix_versions(&selection.prefix, &mut on_page)
            .await;
        progress.finish();
        match listing {
            Ok(l) => out.extend(states_in(name, &l, selection)),
            Err(e) => errors.push(format!("cannot list s3://{name}: {e}")),
        }
    }
    (out, errors)
}

/// Takes stock of every state the options select.
pub async fn inventory(aws: &Aws, opts: &InventoryOptions) -> Result<Inventory> {
    let own: Vec<bool> = opts.rule_aws.iter().map(Option::is_some).collect();
    let own = &own;
    let mut buckets = Vec::new();
    let mut errors = Vec::new();
    let mut listed: Vec<(Listed, Bucket, String)> = Vec::new();
    for name in &opts.buckets {
        let bucket = opts
            .rules
            .region_of_bucket(name)
            .and_then(|(i, _)| opts.rule_aws.get(i).and_then(Option::as_ref))
            .unwrap_or(aws)
            .bucket(name);
        let progress = Progress::counter(format!("listing s3://{name}/{}", opts.selection.prefix));
        let mut on_page = |n: usize| progress.set_position(n as u64);
        let listing = bucket
            .list_prefix_versions(&opts.selection.prefix, &mut on_page)
            .await;
        progress.finish();
        let listing = match listing {
            Ok(l) => l,
            Err(e) => {
                errors.push(format!("cannot list s3://{name}: {e}"));
                buckets.push(BucketSummary {
                    name: name.clone(),
                    versioning: None,
                    states: 0,
                    error: Some(e.to_string()),
                });
                continue;
            }
        };
        let states = states_in(name, &listing, &opts.selection);
        drop(listing);
        let versioning = if states.is_empty() {
            None
        } else {
            match bucket.versioning().await {
                Ok(v) => Some(
                    serde_json::to_value(v)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                ),
                Err(e) => {
                    errors.push(format!("cannot read the versioning of s3://{name}: {e}"));
                    None
                }
            }
        };
        buckets.push(BucketSummary {
            name: name.clone(),
            versioning: versioning.clone(),
            states: states.len(),
            error: None,
        });
        let v = versioning.unwrap_or_else(|| "unknown".into());
        listed.extend(states.into_iter().map(|s| {
            // The state's own connection when its rule has one, else the
            // bucket's.
            let bucket = settings_of(opts, own, &s.bucket, &s.key)
                .connection
                .and_then(|i| opts.rule_aws[i].as_ref())
                .map_or_else(|| bucket.clone(), |a| a.bucket(name));
            (s, bucket, v.clone())
        }));
    }

    // Lock and digest items, 100 keys a call, per lock table (and per
    // connection: a rule's region is its table's region).
    let table_of = |bucket: &str, key: &str| settings_of(opts, own, bucket, key).table;
    let mut by_table: BTreeMap<TableAt, Vec<String>> = BTreeMap::new();
    for (l, _, _) in &listed {
        if let Some(t) = table_of(&l.bucket, &l.key) {
            let id = lock_names::lock_id(&l.bucket, &l.key);
            by_table
                .entry(t)
                .or_default()
                .extend([lock_names::digest_id(&id), id]);
        }
    }
    let mut items: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut unread_tables: Vec<TableAt> = Vec::new();
    for ((conn, table), ids) in &by_table {
        let through = conn
            .and_then(|i| opts.rule_aws.get(i).and_then(Option::as_ref))
            .unwrap_or(aws);
        match through.table(table).batch_get(ids).await {
            Ok(found) => items.extend(found),
            Err(e) => {
                unread_tables.push((*conn, table.clone()));
                errors.push(format!(
                    "cannot read the lock and digest items of DynamoDB table {table}: {e}"
                ));
            }
        }
    }

    let reading = Progress::items("reading states", listed.len() as u64);
    let concurrency = opts.concurrency.max(1);
    // First every current version (and lock file): one read each.
    let read: Vec<(StateEntry, Option<ObjectVersion>, Bucket)> = stream::iter(listed)
        .map(|(l, bucket, versioning)| {
            let items = &items;
            let table = table_of(&l.bucket, &l.key);
            let unread_tables = &unread_tables;
            let reading = &reading;
            let uses_lockfile = settings_of(opts, own, &l.bucket, &l.key).use_lockfile;
            async move {
                let read = read_current(&bucket, &l).await;
                if let Some(header) = &read.header {
                    crate::store::remember_header(&bucket, &l.key, &l.current, header);
                }
                // A state that does not use the lock file: Terraform ignores
                // a `.tflock` there, and so does the inventory.
                let lockfile_body = match &l.lockfile {
                    Some(_) if uses_lockfile != Some(false) => {
                        Some(read_lockfile(&bucket, &l.key).await)
                    }
                    _ => None,
                };
                reading.inc(1);
                let id = lock_names::lock_id(&l.bucket, &l.key);
                let dynamodb_info = items
                    .get(&id)
                    .map(|i| i.get("Info").cloned().unwrap_or_default());
                let stored = items
                    .get(&lock_names::digest_id(&id))
                    .and_then(|i| i.get("Digest"))
                    .filter(|d| !d.is_empty());
                let digest = if table.is_none() {
                    DigestState::NotConfigured
                } else if table.as_ref().is_some_and(|t| unread_tables.contains(t)) {
                    DigestState::Unverified
                } else {
                    match (stored, &read.md5) {
                        (None, _) => DigestState::Missing,
                        (Some(_), _) if l.current.delete_marker => DigestState::Mismatch,
                        (Some(s), Some(m)) if s.eq_ignore_ascii_case(m) => DigestState::Ok,
                        (Some(_), Some(_)) => DigestState::Mismatch,
                        (Some(_), None) => DigestState::Unverified,
                    }
                };
                let lock = lock_view(
                    &LockFacts {
                        dynamodb_info,
                        lockfile_body,
                    },
                    opts.now,
                    opts.stale_lock_after,
                );
                // The lineage check: settled here when the listing or the
                // version cache tells; else `previous` is left to read.
                let (lineage_check, previous, theirs) =
                    match lineage_need(&l, read.health, read.lineage.as_deref()) {
                        LineageNeed::NotApplicable => (LineageCompared::NotApplicable, None, None),
                        LineageNeed::NoPrevious => (LineageCompared::NoPrevious, None, None),
                        LineageNeed::SameBytes => (LineageCompared::Same, None, None),
                        LineageNeed::Compare(prev) => {
                            match crate::store::cached_header(&bucket, &l.key, prev) {
                                Some(h) => (
                                    LineageCompared::NotCompared,
                                    Some(prev.clone()),
                                    Some(h.lineage),
                                ),
                                None => (LineageCompared::NotCompared, Some(prev.clone()), None),
                            }
                        }
                    };
                let mut entry = StateEntry {
                    bucket: l.bucket,
                    key: l.key,
                    workspace: l.workspace,
                    size: l.current.size,
                    last_modified: l.current.last_modified,
                    version_id: l.current.version_id,
                    serial: read.serial,
                    lineage: read.lineage,
                    terraform_version: read.terraform_version,
                    health: read.health,
                    health_detail: read.detail,
                    lock,
                    digest,
                    versioning,
                    noncurrent_versions: l.noncurrent_versions,
                    delete_markers: l.delete_markers,
                    lineage_check,
                    problems: Vec::new(),
                    unchecked: read.health == StateHealth::Unreadable,
                };
                // A cached header: compared now, no read (a cached header
                // without a lineage gives no verdict).
                let to_read = match (previous, theirs) {
                    (Some(prev), Some(theirs)) => {
                        apply_previous_lineage(&mut entry, &prev.version_id, theirs.as_deref());
                        None
                    }
                    (prev, _) => prev,
                };
                (entry, to_read, bucket)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    reading.finish();

    // Then the previous headers the cache lacks, as many as the mode allows,
    // the most recently written states first.
    let (mut states, mut waiting): (Vec<_>, Vec<_>) = read
        .into_iter()
        .map(|(e, prev, bucket)| (e, prev.map(|p| (p, bucket))))
        .partition(|(_, prev)| prev.is_none());
    let budget = lineage_read_budget(opts.lineage_check, states.len() + waiting.len());
    let candidates: Vec<_> = waiting
        .iter()
        .map(|(e, _)| (e.last_modified, e.bucket.as_str(), e.key.as_str()))
        .collect();
    let picked = pick_lineage_reads(&candidates, budget);
    let mut chosen = vec![false; waiting.len()];
    for i in picked {
        chosen[i] = true;
    }
    let (to_read, skipped): (Vec<_>, Vec<_>) = waiting
        .drain(..)
        .zip(chosen)
        .partition(|(_, chosen)| *chosen);
    states.extend(skipped.into_iter().map(|(w, _)| w));
    let comparing = Progress::items("comparing lineages", to_read.len() as u64);
    let previous_reads = AtomicUsize::new(0);
    let previous_reads = &previous_reads;
    let compared: Vec<StateEntry> = stream::iter(to_read)
        .map(|((mut entry, prev), _)| {
            let comparing = &comparing;
            async move {
                if let Some((prev, bucket)) = prev {
                    let theirs = previous_lineage(&bucket, &entry.key, &prev, previous_reads).await;
                    apply_previous_lineage(&mut entry, &prev.version_id, theirs.as_deref());
                }
                comparing.inc(1);
                entry
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    comparing.finish();
    let mut states: Vec<StateEntry> = states
        .into_iter()
        .map(|(e, _)| e)
        .chain(compared)
        .map(|mut e| {
            e.problems = problems_of(&e);
            e
        })
        .collect();
    sort_problems_first(&mut states);
    let lineage_not_compared = states
        .iter()
        .filter(|e| e.lineage_check == LineageCompared::NotCompared)
        .count();
    Ok(Inventory {
        buckets,
        states,
        errors,
        previous_reads: previous_reads.load(Ordering::Relaxed),
        lineage_not_compared,
    })
}

/// Reads the current version of a listed state: whole when it is at most
/// [`INVENTORY_READ_BYTES`], else its header.
async fn read_current(bucket: &Bucket, l: &Listed) -> Read {
    if l.current.delete_marker {
        return Read {
            health: StateHealth::Deleted,
            detail: Some("the current version is a delete marker".into()),
            serial: None,
            lineage: None,
            terraform_version: None,
            md5: None,
            header: None,
        };
    }
    let fetched = match bucket
        .get_checked(
            &l.key,
            Some(&l.current.version_id),
            Some(INVENTORY_READ_BYTES),
            Some(l.current.size),
        )
        .await
    {
        Ok(f) => f,
        Err(e) => {
            return Read {
                health: StateHealth::Unreadable,
                detail: Some(e.to_string()),
                serial: None,
                lineage: None,
                terraform_version: None,
                md5: None,
                header: None,
            }
        }
    };
    let whole = fetched.total_size == Some(fetched.bytes.len() as u64)
        || l.current.size == fetched.bytes.len() as u64;
    let header = read_header(&fetched.bytes);
    let (content, terraform_version) = if whole {
        content_of(&fetched.bytes)
    } else {
        content_of_header(&header)
    };
    let md5 = whole.then(|| crate::lock::md5_hex(&fetched.bytes));
    let (health, detail, serial, lineage) = match content {
        Content::Parsed {
            serial, lineage, ..
        } => (StateHealth::Ok, None, Some(serial), Some(lineage)),
        Content::Encrypted { serial, lineage } => (StateHealth::Encrypted, None, serial, lineage),
        Content::Corrupt { problem } => (
            StateHealth::Corrupt,
            Some(problem),
            header.serial,
            header.lineage.clone(),
        ),
        Content::Unknown => (StateHealth::Ok, None, header.serial, header.lineage.clone()),
    };
    Read {
        health,
        detail,
        serial,
        lineage,
        terraform_version: terraform_version.or(header.terraform_version.clone()),
        md5,
        header: Some(header),
    }
}

/// The lineage of a previous version, from the version cache or a ranged
/// read of its header (then cached: a version never changes, so the next
/// inventory does not read it again); `reads` counts the reads from S3.
/// `None` when it cannot be read or has none: no verdict then.
async fn previous_lineage(
    bucket: &Bucket,
    key: &str,
    prev: &ObjectVersion,
    reads: &AtomicUsize,
) -> Option<String> {
    match crate::store::read_header_facts(bucket, key, prev).await {
        Ok((header, downloaded)) => {
            if downloaded > 0 {
                reads.fetch_add(1, Ordering::Relaxed);
            }
            header.lineage
        }
        Err(e) => {
            tracing::debug!(error = %e, key, "cannot read the previous version's header");
            None
        }
    }
}

/// The body of `<key>.tflock` (empty when it cannot be read: reported as an
/// unreadable lock).
async fn read_lockfile(bucket: &Bucket, key: &str) -> String {
    match bucket
        .get(&format!("{key}{}", super::LOCKFILE_SUFFIX), None, None)
        .await
    {
        Ok(f) => String::from_utf8_lossy(&f.bytes).into_owned(),
        Err(e) => {
            tracing::debug!(error = %e, key, "cannot read the lock file");
            String::new()
        }
    }
}
