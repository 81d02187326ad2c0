//! Every state at once: which objects of a bucket are Terraform states
//! ([`states_in`], pure, from one shared listing), a stable slice of them
//! ([`Shard`]), the verdict on each ([`problems_of`], pure) and the order of
//! the report ([`sort_problems_first`]). The AWS side (listing, header reads,
//! lock and digest items in batches) is [`inventory`].

pub mod inventory;
pub mod report;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::aws::object::{KeyVersion, ObjectVersion};
use crate::lock::info::LockInfo;

pub use inventory::{inventory, Inventory, InventoryOptions};

/// The default suffix of state objects.
pub const DEFAULT_SUFFIX: &str = ".tfstate";
/// The suffix of Terraform's S3 lock files.
pub const LOCKFILE_SUFFIX: &str = ".tflock";

/// Which objects count as states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Only keys under this prefix (`""`: the whole bucket).
    pub prefix: String,
    /// Keys ending in this (default `.tfstate`).
    pub suffix: String,
    /// The backend's `workspace_key_prefix` (default `env:`), to name workspaces.
    pub workspace_key_prefix: String,
    /// Only this slice of the states.
    pub shard: Option<Shard>,
}

/// `--shard I/N`: slice I (0-based) of N. A state belongs to the slice
/// [`shard_of`] names, so N runs cover every state exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a shard: write I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the state `bucket`/`key` is in this slice.
    pub fn contains(&self, bucket: &str, key: &str) -> bool {
        shard_of(bucket, key, self.count) == self.index
    }
}

/// The slice (0..count) of a state: the first 8 bytes of the md5 of
/// `bucket/key`, big-endian, modulo `count`. Stable across runs, machines
/// and versions of stateward; independent of what else is in the bucket.
pub fn shard_of(bucket: &str, key: &str, count: u32) -> u32 {
    use md5::{Digest as _, Md5};
    let d = Md5::digest(format!("{bucket}/{key}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
}

/// The `strategy.matrix` of a GitHub Actions job (or an Argo `withParam`
/// list under `include`) running `count` shards.
pub fn matrix(count: u32) -> serde_json::Value {
    let include: Vec<serde_json::Value> = (0..count)
        .map(|i| serde_json::json!({ "shard": format!("{i}/{count}"), "index": i, "count": count }))
        .collect();
    serde_json::json!({ "include": include })
}

/// A state found in a listing, before any object is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub bucket: String,
    pub key: String,
    pub workspace: String,
    /// The current version (possibly a delete marker).
    pub current: ObjectVersion,
    /// Versions other than the current one (delete markers excluded).
    pub noncurrent_versions: usize,
    /// Delete markers of the key, the current one included.
    pub delete_markers: usize,
    /// The current `<key>.tflock`, when one exists (not a delete marker).
    pub lockfile: Option<ObjectVersion>,
    /// The newest version before the current one (not a delete marker),
    /// when there is one: its lineage is compared with the current one's.
    pub previous: Option<ObjectVersion>,
}

/// The workspace a key belongs to: `<prefix>/<ws>/<key>` is workspace `ws`
/// (with an empty prefix: `<ws>/<key>` cannot be told from a plain key, so
/// only the prefixed layout is recognised), anything else `default`.
pub fn workspace_of(key: &str, workspace_key_prefix: &str) -> String {
    if workspace_key_prefix.is_empty() {
        return "default".into();
    }
    key.strip_prefix(workspace_key_prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.split_once('/'))
        .filter(|(ws, rest)| !ws.is_empty() && !rest.is_empty())
        .map_or_else(|| "default".into(), |(ws, _)| ws.to_owned())
}

/// The states of one bucket from one ListObjectVersions pass, in key order:
/// keys ending in the suffix (never lock files), each with its current
/// version, how many noncurrent versions and delete markers it has, and its
/// lock file. Keys whose listing has no current entry are skipped. Pure.
pub fn states_in(bucket: &str, listing: &[KeyVersion], sel: &Selection) -> Vec<Listed> {
    let mut by_key: BTreeMap<&str, Vec<&ObjectVersion>> = BTreeMap::new();
    for kv in listing {
        by_key.entry(kv.key.as_str()).or_default().push(&kv.version);
    }
    let current_of = |versions: &[&ObjectVersion]| -> Option<ObjectVersion> {
        versions.iter().find(|v| v.is_latest).map(|v| (*v).clone())
    };
    let mut out = Vec::new();
    for (key, versions) in &by_key {
        if !key.starts_with(sel.prefix.as_str())
            || !key.ends_with(sel.suffix.as_str())
            || key.ends_with(LOCKFILE_SUFFIX)
        {
            continue;
        }
        if let Some(shard) = &sel.shard {
            if !shard.contains(bucket, key) {
                continue;
            }
        }
        let Some(current) = current_of(versions) else {
            continue;
        };
        let delete_markers = versions.iter().filter(|v| v.delete_marker).count();
        let noncurrent_versions = versions
            .iter()
            .filter(|v| !v.is_latest && !v.delete_marker)
            .count();
        // The newest noncurrent version (listing order breaks ties: S3
        // lists a key's versions newest first).
        let previous = versions
            .iter()
            .filter(|v| !v.is_latest && !v.delete_marker)
            .fold(None::<&ObjectVersion>, |best, v| match best {
                Some(b) if b.last_modified >= v.last_modified => Some(b),
                _ => Some(v),
            })
            .cloned();
        let lockfile = by_key
            .get(format!("{key}{LOCKFILE_SUFFIX}").as_str())
            .and_then(|v| current_of(v))
            .filter(|v| !v.delete_marker);
        out.push(Listed {
            bucket: bucket.to_owned(),
            key: (*key).to_owned(),
            workspace: workspace_of(key, &sel.workspace_key_prefix),
            current,
            noncurrent_versions,
            delete_markers,
            lockfile,
            previous,
        });
    }
    out
}

/// How far `stateward states` compares each state's lineage with its
/// previous version's (`--lineage-check`). The previous lineage comes free
/// from the version cache (every inventory records the header of each
/// current version it reads, and of each previous version it reads) or
/// costs one ranged GET of the previous version's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LineageCheck {
    /// From the version cache, plus reads of previous headers the cache
    /// lacks for the most recently written states, at most
    /// [`lineage_read_budget`] of them: the inventory stays within 1.2
    /// requests per state on a cold cache.
    #[default]
    Auto,
    /// Every state with a previous version of other bytes is compared: one
    /// read more for each whose previous header the cache lacks.
    All,
    /// Only what the version cache (or identical bytes) tells: no read.
    Cached,
}

/// `auto` reads at most one previous header per this many states...
pub const AUTO_LINEAGE_SHARE: usize = 10;
/// ...but at least this many (small fleets are compared whole).
pub const AUTO_LINEAGE_MIN_READS: usize = 20;

/// How many previous headers an inventory of `states` states may read
/// from S3 for the lineage check. Pure.
pub fn lineage_read_budget(mode: LineageCheck, states: usize) -> usize {
    match mode {
        LineageCheck::All => usize::MAX,
        LineageCheck::Cached => 0,
        LineageCheck::Auto => (states / AUTO_LINEAGE_SHARE).max(AUTO_LINEAGE_MIN_READS),
    }
}

/// What the lineage check of one state needs, from the listing and the
/// read of its current version. Pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineageNeed<'a> {
    /// Nothing to compare with: the state's current version is deleted,
    /// unreadable or corrupt, or has no lineage.
    NotApplicable,
    /// The state has no earlier version.
    NoPrevious,
    /// The previous version has the current one's ETag: the same bytes,
    /// so the same lineage (no read).
    SameBytes,
    /// The previous version's lineage is needed (cache or read).
    Compare(&'a ObjectVersion),
}

/// What the lineage check of a listed state needs: a comparison only when
/// the current version is readable (ok or encrypted) with a lineage, and the
/// previous version's ETag differs from the current one's. Pure.
pub fn lineage_need<'a>(
    l: &'a Listed,
    health: StateHealth,
    current_lineage: Option<&str>,
) -> LineageNeed<'a> {
    if l.current.delete_marker
        || current_lineage.is_none()
        || !matches!(health, StateHealth::Ok | StateHealth::Encrypted)
    {
        return LineageNeed::NotApplicable;
    }
    let Some(prev) = l.previous.as_ref() else {
        return LineageNeed::NoPrevious;
    };
    match (&prev.etag, &l.current.etag) {
        (Some(a), Some(b)) if a == b => LineageNeed::SameBytes,
        _ => LineageNeed::Compare(prev),
    }
}

/// Which of the states whose previous header is not cached get it read:
/// the most recently written first (a foreign lineage is written by a
/// write, and a scheduled inventory looks for the newest), ties by bucket
/// and key, at most `budget`. `candidates` are (last write of the current
/// version, bucket, key); the answer is their indices, in that order. Pure.
pub fn pick_lineage_reads(
    candidates: &[(OffsetDateTime, &str, &str)],
    budget: usize,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| {
        let (ta, ba, ka) = candidates[a];
        let (tb, bb, kb) = candidates[b];
        tb.cmp(&ta).then(ba.cmp(bb)).then(ka.cmp(kb))
    });
    order.truncate(budget);
    order
}

/// The outcome of the lineage check of a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineageCompared {
    /// The previous version has the same lineage (read, cached, or the
    /// same bytes).
    Same,
    /// The previous version has another lineage: `foreign-lineage`.
    Differs,
    /// There is a previous version of other bytes, but its lineage was not
    /// read (`--lineage-check`, or the read failed): no verdict.
    NotCompared,
    /// The state has no earlier version.
    NoPrevious,
    /// Nothing to compare: deleted, unreadable, corrupt, or no lineage.
    #[default]
    NotApplicable,
}

impl LineageCompared {
    pub fn as_str(self) -> &'static str {
        match self {
            LineageCompared::Same => "same",
            LineageCompared::Differs => "differs",
            LineageCompared::NotCompared => "not compared",
            LineageCompared::NoPrevious => "first",
            LineageCompared::NotApplicable => "-",
        }
    }
}

/// Applies the previous version's lineage (`theirs`, `None` when it could
/// not be had) to an entry: `same`, or `differs` and `foreign-lineage`, or
/// `not-compared`. Pure.
pub fn apply_previous_lineage(e: &mut StateEntry, previous_version: &str, theirs: Option<&str>) {
    let ours = e.lineage.clone().unwrap_or_default();
    match theirs {
        None => e.lineage_check = LineageCompared::NotCompared,
        Some(t) if t == ours => e.lineage_check = LineageCompared::Same,
        Some(t) => {
            e.lineage_check = LineageCompared::Differs;
            e.health = StateHealth::ForeignLineage;
            e.health_detail = Some(format!(
                "lineage {ours}, the previous version {previous_version} has lineage {t}"
            ));
        }
    }
}

/// The health of a state's current version, as far as one read tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateHealth {
    Ok,
    /// Not JSON, truncated, not format v4, required fields missing.
    Corrupt,
    /// An OpenTofu encrypted state (fine, but not inspectable).
    Encrypted,
    /// The current version is a delete marker.
    Deleted,
    /// The current version's lineage differs from the previous version's:
    /// another configuration's state was written over this one.
    ForeignLineage,
    /// The object could not be read (access denied, network): not checked.
    Unreadable,
}

impl StateHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            StateHealth::Ok => "ok",
            StateHealth::Corrupt => "corrupt",
            StateHealth::Encrypted => "encrypted",
            StateHealth::Deleted => "deleted",
            StateHealth::ForeignLineage => "foreign-lineage",
            StateHealth::Unreadable => "unreadable",
        }
    }
}

/// The state's md5 digest item compared with its current bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigestState {
    /// The item matches the md5 of the current object.
    Ok,
    /// The item differs: Terraform refuses to read this state.
    Mismatch,
    /// No item (or an empty `Digest`): Terraform skips the check.
    Missing,
    /// No lock table configured: there is no digest.
    NotConfigured,
    /// The state was not read whole (larger than the inventory reads) or could not be read.
    Unverified,
}

impl DigestState {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestState::Ok => "ok",
            DigestState::Mismatch => "mismatch",
            DigestState::Missing => "missing",
            DigestState::NotConfigured => "-",
            DigestState::Unverified => "unverified",
        }
    }
}

/// What the inventory says of a lock held on a state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockView {
    /// `dynamodb`, `lockfile`, or both.
    pub mechanisms: Vec<String>,
    pub id: Option<String>,
    pub operation: Option<String>,
    pub who: Option<String>,
    pub created: Option<String>,
    /// Seconds since `created`, when it parses.
    pub age_seconds: Option<i64>,
    /// Held longer than `--stale-lock-after`.
    pub stale: bool,
    /// Why the lock's Info (or lock file body) cannot be read, if it cannot.
    pub unreadable: Option<String>,
}

/// The lock facts of one state: the DynamoDB item's `Info` and the lock
/// file's body, each when present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockFacts {
    pub dynamodb_info: Option<String>,
    pub lockfile_body: Option<String>,
}

/// The lock view of a state from its raw lock facts (`None`: not locked). Pure.
pub fn lock_view(
    facts: &LockFacts,
    now: OffsetDateTime,
    stale_after: Duration,
) -> Option<LockView> {
    let mut mechanisms = Vec::new();
    let mut parsed: Option<LockInfo> = None;
    let mut unreadable = None;
    for (name, raw) in [
        ("dynamodb", &facts.dynamodb_info),
        ("lockfile", &facts.lockfile_body),
    ] {
        let Some(raw) = raw else { continue };
        mechanisms.push(name.to_owned());
        match LockInfo::parse(raw) {
            Ok(info) if parsed.is_none() => parsed = Some(info),
            Ok(_) => {}
            Err(e) => unreadable = Some(format!("{name} lock: {e}")),
        }
    }
    if mechanisms.is_empty() {
        return None;
    }
    let age_seconds = parsed
        .as_ref()
        .and_then(LockInfo::created_at)
        .map(|t| (now - t).whole_seconds().max(0));
    let stale = age_seconds.is_some_and(|a| a as u128 > stale_after.as_secs() as u128);
    Some(LockView {
        mechanisms,
        id: parsed.as_ref().map(|i| i.id.clone()),
        operation: parsed.as_ref().map(|i| i.operation.clone()),
        who: parsed.as_ref().map(|i| i.who.clone()),
        created: parsed.as_ref().map(|i| i.created.clone()),
        age_seconds,
        stale,
        unreadable,
    })
}

/// What the inventory knows of one state, with its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEntry {
    pub bucket: String,
    pub key: String,
    pub workspace: String,
    /// Bytes of the current version (0 when deleted).
    pub size: u64,
    /// When the current version (or delete marker) was written.
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
    pub version_id: String,
    pub serial: Option<u64>,
    pub lineage: Option<String>,
    pub terraform_version: Option<String>,
    pub health: StateHealth,
    /// Why the health is not `ok`, in a sentence.
    pub health_detail: Option<String>,
    pub lock: Option<LockView>,
    pub digest: DigestState,
    /// The bucket's versioning (`enabled`, `suspended`, `disabled`).
    pub versioning: String,
    pub noncurrent_versions: usize,
    pub delete_markers: usize,
    /// The lineage compared with the previous version's (`not-compared`:
    /// no verdict, see `--lineage-check`).
    #[serde(default)]
    pub lineage_check: LineageCompared,
    /// Everything wrong with the state, most important first; empty when fine.
    pub problems: Vec<String>,
    /// `true` when the state could not be checked (read failed).
    pub unchecked: bool,
}

/// Every problem of an entry, most important first (pure): unhealthy
/// current version, digest mismatch, unreadable lock, stale lock.
pub fn problems_of(e: &StateEntry) -> Vec<String> {
    let mut out = Vec::new();
    let at = format!("s3://{}/{}", e.bucket, e.key);
    let run = |words: &[&str]| {
        let mut all = vec!["--bucket", e.bucket.as_str(), "--key", e.key.as_str()];
        all.extend_from_slice(words);
        format!("`{}`", crate::hint::command_with(&all, ""))
    };
    match e.health {
        StateHealth::Ok | StateHealth::Encrypted => {}
        StateHealth::Deleted => out.push(format!(
            "the current version of {at} is a delete marker: {} lists what can be restored",
            run(&["versions"])
        )),
        StateHealth::Corrupt => out.push(format!(
            "the current version of {at} is corrupt ({}): {} puts back the last good version",
            e.health_detail.as_deref().unwrap_or("not a readable state"),
            run(&["restore", "--last-good"])
        )),
        StateHealth::ForeignLineage => out.push(format!(
            "the current version of {at} has a foreign lineage ({}): {} shows the history, {} puts back the last version of the state's own lineage",
            e.health_detail.as_deref().unwrap_or("it differs from the previous version's"),
            run(&["versions"]),
            run(&["restore", "--last-good"])
        )),
        StateHealth::Unreadable => out.push(format!(
            "{at} could not be read ({}): it was not checked",
            e.health_detail.as_deref().unwrap_or("unknown error")
        )),
    }
    if e.digest == DigestState::Mismatch && e.health != StateHealth::Deleted {
        out.push(format!(
            "the DynamoDB digest of {at} does not match its current bytes: Terraform refuses to read it until {} writes the right one",
            run(&["digest", "repair"])
        ));
    }
    if let Some(lock) = &e.lock {
        if let Some(why) = &lock.unreadable {
            out.push(format!(
                "the {why} ({at}): Terraform cannot release it; {} removes it",
                run(&["lock", "release", "--broken"])
            ));
        }
        if lock.stale {
            let release = match &lock.id {
                Some(id) => run(&["lock", "release", id]),
                None => run(&["lock", "status"]),
            };
            out.push(format!(
                "{at} has been locked for {} by {} ({}): if that run is gone, {release} frees it",
                crate::lock::human_age(lock.age_seconds.unwrap_or(0)),
                lock.who.as_deref().unwrap_or("an unknown holder"),
                lock.operation.as_deref().unwrap_or("unknown operation"),
            ));
        }
    }
    out
}

/// Sorts entries with the ones that have problems first (unchecked ones
/// first of all), then by bucket and key. Pure, stable.
pub fn sort_problems_first(entries: &mut [StateEntry]) {
    entries.sort_by(|a, b| {
        problems_first(a.unchecked, &a.problems, &a.bucket, &a.key).cmp(&problems_first(
            b.unchecked,
            &b.problems,
            &b.bucket,
            &b.key,
        ))
    });
}

/// The order of every fleet report, as a sort key: states that could not be
/// checked, then those with problems, then the rest; then bucket and key.
pub(crate) fn problems_first<'a, T>(
    unchecked: bool,
    problems: &[T],
    bucket: &'a str,
    key: &'a str,
) -> (u8, &'a str, &'a str) {
    let rank = match (unchecked, problems.is_empty()) {
        (true, _) => 0,
        (false, false) => 1,
        (false, true) => 2,
    };
    (rank, bucket, key)
}

/// The exit code of a set of entries: 1 when any could not be checked, else
/// 2 when any has a problem, else 0.
pub fn exit_code(entries: &[StateEntry], errors: usize) -> u8 {
    if errors > 0 || entries.iter().any(|e| e.unchecked) {
        crate::exit::ERROR
    } else if entries.iter().any(|e| !e.problems.is_empty()) {
        crate::exit::DIFFERENCES
    } else {
        crate::exit::SUCCESS
    }
}

#[cfg(test)]
mod tests;
