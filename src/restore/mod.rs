//! Safe restore of a known-good state, rolled forward so Terraform accepts it
//! at once: same content, `serial` one above every serial the lineage has
//! used, the md5 digest in step, all under the state lock.
//!
//! [`plan`] decides and checks (no writes); [`execute`] writes, in this order,
//! under the lock: (1) record the version being replaced, (2) write the
//! chosen bytes with the new serial, (3) update the digest, (4) release.

pub mod search;
pub mod select;

use serde::Serialize;

use crate::aws::Aws;
use crate::diff::{diff, DiffOptions, StateDiff};
use crate::error::{Error, Refusal, Result};
use crate::live::{self, LiveMatch, ScanOptions};
use crate::lock::{self, md5_hex, Locker};
use crate::state::health::content_of;
use crate::state::health::{assess, Content, VersionFacts};
use crate::storage::StateObjects;
use crate::store::refs::{Resolved, Resolver, VersionRef};
use crate::store::{history, HistoryOptions, ReadDepth, Versioning};

pub use select::{PassedOver, Pick};

/// How many healthy versions `--last-good` compares with live AWS at most
/// (the newest healthy one and older ones), when the newest does not match.
pub const LIVE_CANDIDATES: usize = 5;

/// Comparing `--last-good` candidates with live AWS (the drift engine).
pub struct LiveCheck<'a> {
    pub aws: &'a Aws,
    pub opts: &'a ScanOptions,
    /// Choose by live agreement (`--prefer-live`) instead of the newest
    /// healthy version.
    pub prefer_live: bool,
}

/// How `--last-good` weighed its healthy candidates against live AWS.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct LiveChoice {
    /// Whether live AWS was compared at all (see `reason` when not).
    pub compared: bool,
    /// How the version was chosen: `newest-healthy` (the default) or
    /// `live-agreement` (`--prefer-live`).
    #[schemars(extend("enum" = ["newest-healthy", "live-agreement"]))]
    pub chosen_by: &'static str,
    /// Healthy versions compared, newest first (empty when not compared).
    pub candidates: Vec<LiveCandidate>,
    /// Why the chosen version, or why live AWS was not compared, in one sentence.
    pub reason: String,
    /// An older healthy version that matches live AWS better than the one
    /// chosen, and the exact command that would restore it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "BetterMatch")]
    pub better_match: Option<BetterMatch>,
}

/// An older healthy version that agrees with live AWS better.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct BetterMatch {
    pub version_id: String,
    pub serial: u64,
    /// The command that restores it, with this run's targeting flags.
    pub command: String,
}

impl LiveChoice {
    /// Live AWS was not compared, and why.
    pub fn not_compared(chosen_by: &'static str, reason: impl Into<String>) -> LiveChoice {
        LiveChoice {
            compared: false,
            chosen_by,
            candidates: Vec::new(),
            reason: reason.into(),
            better_match: None,
        }
    }
}

/// One compared version.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct LiveCandidate {
    pub version_id: String,
    pub serial: u64,
    #[serde(flatten)]
    pub live: LiveMatch,
}

/// The lock operation name restores take.
pub const OPERATION: &str = "stateward-restore";

/// What to restore.
#[derive(Debug, Clone)]
pub enum Source {
    /// The newest healthy version of the history's lineage.
    LastGood,
    /// A version reference (id, `latest~N`, `serial:N`, `file:PATH`).
    Ref(VersionRef),
    /// Content already resolved by the caller (e.g. `snapshot:ID`, read from
    /// the snapshot store and checked against its manifest).
    Resolved(Resolved),
}

/// What the current object is.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Current {
    /// A readable state.
    Ok {
        version_id: String,
        serial: u64,
        lineage: String,
    },
    /// A version that does not parse.
    Corrupt { version_id: String, problem: String },
    /// A delete marker.
    Deleted { version_id: String },
}

impl Current {
    /// The version id at the top of the history (object or delete marker).
    pub fn version_id(&self) -> &str {
        match self {
            Current::Ok { version_id, .. }
            | Current::Corrupt { version_id, .. }
            | Current::Deleted { version_id } => version_id,
        }
    }
}

/// Everything decided before anything is written.
#[derive(Debug)]
pub struct Plan {
    pub bucket: String,
    pub key: String,
    /// How the chosen version is described (`version X`, `file PATH`).
    pub chosen_label: String,
    /// The chosen S3 version id (`None` for `file:`).
    pub chosen_version: Option<String>,
    pub chosen_bytes: Vec<u8>,
    pub chosen_serial: u64,
    pub lineage: String,
    pub current: Current,
    /// The serial the restored object will carry.
    pub new_serial: u64,
    /// The history's good lineage, when there is one.
    pub reference_lineage: Option<String>,
    /// Why newer versions were passed over (`--last-good`).
    pub passed_over: Vec<PassedOver>,
    /// How live AWS weighed in (`--last-good` with a live check).
    pub live: Option<LiveChoice>,
    /// From the current state to the chosen one, redacted (`None` when the
    /// current object is deleted or corrupt).
    pub diff: Option<StateDiff>,
    /// The chosen version is the current object already: only the digest may need fixing.
    pub already_current: bool,
}

/// Decides what to restore and checks that it is safe. Reads only.
pub async fn plan(
    bucket: &dyn StateObjects,
    key: &str,
    source: &Source,
    allow_lineage_change: bool,
    show_sensitive: bool,
    live: Option<&LiveCheck<'_>>,
    concurrency: usize,
) -> Result<Plan> {
    if bucket.versioning().await? != Versioning::Enabled {
        return Err(Error::Refused(Refusal::NoVersioning {
            bucket: bucket.name().to_owned(),
        }));
    }
    let args = (source, allow_lineage_change, show_sensitive, live);
    if let Some(plan) = plan_reading(bucket, key, args, concurrency, false).await? {
        return Ok(plan);
    }
    // The newest versions' headers did not settle it: every version's.
    plan_reading(bucket, key, args, concurrency, true)
        .await?
        .ok_or_else(|| {
            Error::Refused(Refusal::HistoryChanged {
                state: format!("s3://{}/{key}", bucket.name()),
            })
        })
}

type PlanArgs<'a, 'b> = (&'a Source, bool, bool, Option<&'a LiveCheck<'b>>);

/// [`plan`] from the header facts of the newest versions (`whole`: of every
/// version); `None` when they turned out not to settle the choice.
async fn plan_reading(
    bucket: &dyn StateObjects,
    key: &str,
    (source, allow_lineage_change, show_sensitive, live): PlanArgs<'_, '_>,
    concurrency: usize,
    whole: bool,
) -> Result<Option<Plan>> {
    // Headers newest first, as far as the lineages and the highest serial
    // of the history's lineage are certain (search::settled_history).
    let hist = search::settled_history(bucket, key, concurrency, whole).await?;
    let partial = hist.versions.len() < hist.total_versions;
    let mut facts = hist.facts.clone();
    let top = &hist.versions[0];
    // Every whole read is checked against the listing's size of its version.
    let sizes: std::collections::HashMap<String, u64> = hist
        .versions
        .iter()
        .map(|v| (v.version.version_id.clone(), v.version.size))
        .collect();
    let read_whole = |id: String| {
        let size = sizes.get(&id).copied();
        async move { Ok::<_, Error>(bucket.get_checked(key, Some(&id), None, size).await?.bytes) }
    };

    // The current object, read whole.
    let (current, mut current_bytes) = if top.version.delete_marker {
        (
            Current::Deleted {
                version_id: top.version.version_id.clone(),
            },
            None,
        )
    } else {
        let bytes = read_whole(top.version.version_id.clone()).await?;
        let (content, _) = content_of(&bytes);
        // A current version that looks corrupt is read a second time before
        // anything replaces it: a different result is a transfer problem.
        if let Content::Corrupt { problem } = &content {
            let again = read_whole(top.version.version_id.clone()).await?;
            check_same_read(&top.version.version_id, &bytes, &again).map_err(|e| {
                Error::Refused(Refusal::UnstableRead {
                    version_id: top.version.version_id.clone(),
                    message: format!("{e} (first read: {problem}); nothing was written"),
                })
            })?;
        }
        let current = match &content {
            Content::Parsed {
                serial, lineage, ..
            } => Current::Ok {
                version_id: top.version.version_id.clone(),
                serial: *serial,
                lineage: lineage.clone(),
            },
            Content::Corrupt { problem } => Current::Corrupt {
                version_id: top.version.version_id.clone(),
                problem: problem.clone(),
            },
            // An OpenTofu encrypted state names itself by its plain serial
            // and lineage; its contents are never read.
            Content::Encrypted {
                serial: Some(serial),
                lineage: Some(lineage),
            } => Current::Ok {
                version_id: top.version.version_id.clone(),
                serial: *serial,
                lineage: lineage.clone(),
            },
            Content::Encrypted { .. } | Content::Unknown => Current::Corrupt {
                version_id: top.version.version_id.clone(),
                problem: "it is an encrypted OpenTofu state without a plain serial and lineage, which stateward cannot check".into(),
            },
        };
        facts[0].content = content;
        (current, Some(bytes))
    };

    let (chosen_label, chosen_version, chosen_bytes, passed_over, live) = match source {
        Source::LastGood => {
            // Versions judged on a full read are read, assessed and dropped:
            // at most the current object and the chosen one are held.
            let chosen = loop {
                let health = assess(&facts);
                match select::pick_last_good(&facts, &health) {
                    // Judged without its older neighbour, or nothing good
                    // among the newest: look at the whole history.
                    Pick::Chosen(i) if partial && !select::has_older_of_lineage(&facts, i) => {
                        return Ok(None)
                    }
                    Pick::NoneGood if partial => return Ok(None),
                    Pick::Chosen(i) => break (i, select::passed_over(&facts, &health, i)),
                    Pick::NeedsFullRead(i) => {
                        let bytes = read_whole(facts[i].version_id.clone()).await?;
                        facts[i].content = content_of(&bytes).0;
                    }
                    Pick::NoneGood => {
                        return Err(Error::Refused(Refusal::NoHealthyVersion {
                            state: format!("s3://{}/{key}", bucket.name()),
                            versions: crate::hint::command(&["versions"]),
                        }))
                    }
                }
            };
            let (mut i, mut passed) = chosen;
            let live_choice = match live {
                None => LiveChoice::not_compared(
                    "newest-healthy",
                    "live AWS was not compared (--no-live): the newest healthy version was chosen",
                ),
                Some(check) => {
                    let by = if check.prefer_live {
                        "live-agreement"
                    } else {
                        "newest-healthy"
                    };
                    match compare_with_live(bucket, key, &mut facts, i, current_bytes.as_deref(), check)
                        .await
                    {
                        Ok(LiveComparison::NothingChecked) => LiveChoice::not_compared(
                            by,
                            "live AWS could not tell the healthy versions apart: none of their resources is of a type stateward checks, or AWS refused every check; the newest healthy version was chosen",
                        ),
                        Ok(LiveComparison::Compared { chosen, matches, best }) => {
                            let candidates: Vec<LiveCandidate> = chosen
                                .iter()
                                .zip(&matches)
                                .map(|(&k, m)| LiveCandidate {
                                    version_id: facts[k].version_id.clone(),
                                    serial: facts[k].content.serial_lineage().map_or(0, |(s, _)| s),
                                    live: *m,
                                })
                                .collect();
                            let reason = live_reason(&candidates, best, check.prefer_live);
                            let mut better_match = None;
                            if best != 0 {
                                if check.prefer_live {
                                    let j = chosen[best];
                                    passed = select::passed_over(&facts, &assess(&facts), j);
                                    for p in &mut passed {
                                        if let Some(c) =
                                            candidates.iter().find(|c| c.version_id == p.version_id)
                                        {
                                            p.reason = format!(
                                                "healthy, but matches live AWS less ({})",
                                                figures(&c.live)
                                            );
                                        }
                                    }
                                    i = j;
                                } else {
                                    let c = &candidates[best];
                                    better_match = Some(BetterMatch {
                                        version_id: c.version_id.clone(),
                                        serial: c.serial,
                                        command: crate::hint::command(&[
                                            "restore",
                                            c.version_id.as_str(),
                                        ]),
                                    });
                                }
                            }
                            LiveChoice {
                                compared: true,
                                chosen_by: by,
                                candidates,
                                reason,
                                better_match,
                            }
                        }
                        // Never block a restore on the live check.
                        Err(e) => LiveChoice::not_compared(
                            by,
                            format!("live AWS could not be compared ({e}); the newest healthy version was chosen"),
                        ),
                    }
                }
            };
            let live_choice = Some(live_choice);
            // The current object chosen is not copied: the chosen bytes
            // are the current ones (see `current_is_chosen` below).
            let bytes = match (i, current_bytes.take()) {
                (0, Some(b)) => b,
                (_, held) => {
                    // Only a readable current state is compared with the
                    // chosen one: another is not held during the read.
                    current_bytes = held.filter(|_| matches!(current, Current::Ok { .. }));
                    read_whole(facts[i].version_id.clone()).await?
                }
            };
            let id = facts[i].version_id.clone();
            (
                format!("version {id}"),
                Some(id),
                bytes,
                passed,
                live_choice,
            )
        }
        Source::Ref(r) => {
            let mut resolver = Resolver::new(Some(bucket), key).with_concurrency(concurrency);
            let resolved = resolver.resolve(r).await?;
            (
                resolved.label,
                resolved.version_id,
                resolved.bytes,
                Vec::new(),
                None,
            )
        }
        Source::Resolved(resolved) => (
            resolved.label.clone(),
            resolved.version_id.clone(),
            resolved.bytes.clone(),
            Vec::new(),
            None,
        ),
    };

    // An OpenTofu encrypted version is restored as bytes: its plain serial
    // and lineage decide, its contents are never compared.
    let (chosen, chosen_serial, lineage) = match crate::state::parse(&chosen_bytes) {
        Ok(state) => {
            let (serial, lineage) = (state.serial, state.lineage.to_string());
            (Some(state), serial, lineage)
        }
        Err(crate::state::ParseError::Encrypted {
            serial: Some(serial),
            lineage: Some(lineage),
        }) => (None, serial, lineage),
        Err(e) => {
            return Err(Error::Refused(Refusal::CorruptSource {
                label: chosen_label.to_string(),
                problem: e.to_string(),
            }))
        }
    };
    if partial && !search::knows_highest(&hist, &lineage) {
        // A version of another lineage whose newest serial is older still.
        return Ok(None);
    }
    let reference_lineage = select_reference(&facts);
    if let Some(reference) = &reference_lineage {
        if *reference != lineage && !allow_lineage_change {
            return Err(Error::Refused(Refusal::LineageChange {
                label: chosen_label.to_string(),
                lineage: lineage.to_string(),
                reference: reference.to_string(),
            }));
        }
    }
    // Every serial the lineage has used: the listing keeps a corrupt
    // version's header serial (a truncated write still used its serial), and
    // full reads may have revealed serials a header did not.
    let listed = hist
        .versions
        .iter()
        .filter_map(|v| Some((v.serial?, v.lineage.as_deref()?)));
    let read = facts.iter().filter_map(|f| f.content.serial_lineage());
    let new_serial = select::max_serial(listed.chain(read), &lineage)
        .unwrap_or(0)
        .max(chosen_serial)
        + 1;
    let already_current = chosen_version.as_deref() == Some(current.version_id());
    let diff = match (&current_bytes, &current, &chosen) {
        // The current object chosen (its bytes moved into the chosen ones):
        // nothing changes.
        (None, Current::Ok { .. }, Some(chosen)) if already_current => {
            Some(diff(chosen, chosen, &DiffOptions { show_sensitive }))
        }
        (Some(bytes), Current::Ok { .. }, Some(chosen)) => match crate::state::parse(bytes) {
            Ok(cur) => Some(diff(&cur, chosen, &DiffOptions { show_sensitive })),
            // An encrypted current state: nothing to compare.
            Err(crate::state::ParseError::Encrypted { .. }) => None,
            Err(e) => {
                return Err(Error::Unreadable {
                    what: "the current state".into(),
                    problem: e.to_string(),
                })
            }
        },
        _ => None,
    };
    drop(chosen);
    drop(current_bytes);
    Ok(Some(Plan {
        bucket: bucket.name().to_owned(),
        key: key.to_owned(),
        chosen_label,
        chosen_version,
        chosen_bytes,
        chosen_serial,
        lineage,
        current,
        new_serial,
        reference_lineage,
        passed_over,
        live,
        diff,
        already_current,
    }))
}

/// What is wrong with the current version of a state, when something is
/// that only `restore --last-good` fixes (never `digest repair`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CurrentProblem {
    /// The current version is a delete marker.
    Deleted { version_id: String },
    /// The current version is not a readable state.
    Corrupt { version_id: String, problem: String },
    /// The current version's lineage is not the history's.
    ForeignLineage {
        version_id: String,
        lineage: String,
        history_lineage: String,
    },
}

impl CurrentProblem {
    /// In words: `deleted (delete marker X)`, `corrupt (...)`, ...
    pub fn describe(&self) -> String {
        match self {
            CurrentProblem::Deleted { version_id } => {
                format!("deleted (delete marker {version_id})")
            }
            CurrentProblem::Corrupt {
                version_id,
                problem,
            } => format!("version {version_id}, which is corrupt ({problem})"),
            CurrentProblem::ForeignLineage {
                version_id,
                lineage,
                history_lineage,
            } => format!(
                "version {version_id}, of lineage {lineage}, not the history's lineage {history_lineage}"
            ),
        }
    }

    /// Why repairing the digest would hurt.
    pub fn why_not_repair(&self) -> &'static str {
        match self {
            CurrentProblem::Deleted { .. } => "repairing the digest would make Terraform see no state and plan to create everything",
            CurrentProblem::Corrupt { .. } => "repairing the digest would make Terraform accept a corrupt state",
            CurrentProblem::ForeignLineage { .. } => "repairing the digest would make Terraform accept an unrelated state",
        }
    }
}

/// Whether the current version of `key` is deleted, corrupt or of another
/// lineage than the history's. `None` when it is a readable state of the
/// history's lineage, or there is no history at all. Reads the listing, the
/// headers of the newest versions and the current object.
pub async fn current_problem(
    bucket: &dyn StateObjects,
    key: &str,
) -> Result<Option<CurrentProblem>> {
    let opts = HistoryOptions {
        limit: Some(1),
        depth: ReadDepth::Prefix,
        concurrency: crate::config::DEFAULT_CONCURRENCY,
        keep_newest: false,
    };
    let hist = match history(bucket, key, opts).await {
        Ok(h) => h,
        Err(Error::NoState { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut facts = hist.facts;
    let Some(top) = hist.versions.first() else {
        return Ok(None);
    };
    let version_id = top.version.version_id.clone();
    if top.version.delete_marker {
        return Ok(Some(CurrentProblem::Deleted { version_id }));
    }
    let bytes = bucket
        .get_checked(key, Some(&version_id), None, Some(top.version.size))
        .await?
        .bytes;
    let (content, _) = content_of(&bytes);
    let problem = match &content {
        Content::Corrupt { problem } => Some(CurrentProblem::Corrupt {
            version_id: version_id.clone(),
            problem: problem.clone(),
        }),
        _ => None,
    };
    if problem.is_some() {
        return Ok(problem);
    }
    facts[0].content = content;
    let reference = crate::state::health::reference_lineage(&facts).map(str::to_owned);
    Ok(
        match (facts[0].content.serial_lineage().map(|(_, l)| l), reference) {
            (Some(l), Some(r)) if l != r => Some(CurrentProblem::ForeignLineage {
                version_id,
                lineage: l.to_owned(),
                history_lineage: r,
            }),
            _ => None,
        },
    )
}

/// The message when the state was written but its digest was not. Pure.
pub fn digest_failed_message(
    object: &str,
    new_version: Option<&str>,
    new_serial: u64,
    md5: &str,
    cause: &str,
    repair: &str,
) -> String {
    let version = new_version
        .map(|v| format!("version {v}"))
        .unwrap_or_else(|| "a new object".to_owned());
    format!(
        "the restored state was written to {object} as {version} (serial {new_serial}), but its md5 digest could not be updated ({cause}): Terraform will refuse this state (\"state data in S3 does not have the expected content\") until the digest matches ({md5}); fix it with `{repair}`"
    )
}

/// Compares two reads of the same version. Pure. `Err` explains a difference:
/// S3 versions never change, so two different bodies mean the transfer
/// damaged at least one of them.
pub fn check_same_read(version_id: &str, first: &[u8], second: &[u8]) -> Result<(), String> {
    if first == second {
        return Ok(());
    }
    Err(format!(
        "version {version_id} looks corrupt, but two reads of it differ ({} bytes, then {} bytes, md5 {} then {}): this is a transfer problem between here and S3, not a corrupt state, and it is not replaced; check the network or proxy and run the restore again",
        first.len(),
        second.len(),
        md5_hex(first),
        md5_hex(second)
    ))
}

fn select_reference(facts: &[VersionFacts]) -> Option<String> {
    crate::state::health::reference_lineage(facts).map(str::to_owned)
}

/// The result of a restore (`--format json` contract).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Outcome {
    /// The S3 version id restored (or `file PATH`).
    pub restored_from: String,
    /// The version that was current before: the undo handle (`stateward restore <it>`). null when
    /// the current object was a delete marker.
    pub replaced_version: Option<String>,
    /// The version id written; null in a dry run.
    pub new_version: Option<String>,
    /// The serial of the restored object: one above every serial this lineage has used.
    #[schemars(range(min = 1))]
    pub serial: u64,
    pub lineage: String,
    pub digest_updated: bool,
    /// How to undo this restore (or why there is nothing to undo to).
    pub undo: Undo,
}

/// How to undo a restore.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Undo {
    /// The command that restores the replaced version; `None` when the
    /// replaced version is not restorable (corrupt, a delete marker).
    pub command: Option<String>,
    /// In words: the command, or why there is nothing to undo to and how to
    /// get back to this restore's result.
    pub note: String,
}

/// How to undo a restore that replaced `current` (history lineage
/// `reference`) and wrote `new_version`. The commands carry `targeting`.
/// Pure.
pub fn undo_advice(
    current: &Current,
    reference: Option<&str>,
    new_version: Option<&str>,
    targeting: &str,
) -> Undo {
    let back = match new_version {
        Some(v) => format!(
            "; this restore's result is version {v}: `{}` brings it back should it be replaced",
            crate::hint::command_with(&["restore", v], targeting)
        ),
        None => String::new(),
    };
    match current {
        Current::Ok {
            version_id,
            lineage,
            ..
        } => {
            let mut words = vec!["restore", version_id.as_str()];
            if reference.is_some_and(|r| r != lineage) {
                words.push("--allow-lineage-change");
            }
            let command = crate::hint::command_with(&words, targeting);
            Undo {
                note: format!("Undo: {command}"),
                command: Some(command),
            }
        }
        Current::Corrupt {
            version_id,
            problem,
        } => Undo {
            command: None,
            note: format!(
                "Nothing to undo to: the replaced version {version_id} is corrupt ({problem}), and stateward never restores a corrupt version{back}"
            ),
        },
        Current::Deleted { version_id } => Undo {
            command: None,
            note: format!(
                "Nothing to undo to: the state was deleted (delete marker {version_id}){back}"
            ),
        },
    }
}

/// Writes the plan under the lock. `progress` receives one line per step.
pub async fn execute(
    plan: Plan,
    bucket: &dyn StateObjects,
    locker: &Locker,
    reason: &str,
    lock_timeout: std::time::Duration,
    progress: &mut dyn FnMut(String),
) -> Result<Outcome> {
    let targeting = crate::hint::targeting();
    let Plan {
        chosen_label,
        chosen_version,
        chosen_bytes,
        current,
        new_serial,
        lineage,
        already_current,
        key,
        reference_lineage,
        ..
    } = plan;
    let restored_from = chosen_version.clone().unwrap_or(chosen_label.clone());
    let done = |o: &Outcome| {
        format!(
            "the restore succeeded: s3://{}/{key} is now {} (serial {}){}",
            bucket.name(),
            match &o.new_version {
                Some(v) => format!("version {v}"),
                None => "the restored state".to_owned(),
            },
            o.serial,
            if o.digest_updated {
                ", digest updated"
            } else {
                ""
            }
        )
    };
    let outcome = lock::with_lock_reporting(
        locker,
        OPERATION,
        reason,
        lock_timeout,
        lock::OnInterrupt::Abort,
        done,
        async |guard| {
            progress(format!(
                "locked {} (lock ID {})",
                locker.path,
                guard.info().id
            ));
            // Nothing may have changed since the plan was made.
            let top = bucket.list_versions(&key).await?;
            let now_top = top.first().map(|v| v.version_id.as_str()).unwrap_or("");
            if now_top != current.version_id() {
                return Err(Error::Refused(Refusal::StateChanged {
                    state: format!("s3://{}/{key}", bucket.name()),
                    now: now_top.to_owned(),
                }));
            }
            // (1) The version being replaced: S3 keeps it; it is the undo handle.
            let replaced = match &current {
                Current::Deleted { .. } => None,
                other => Some(other.version_id().to_owned()),
            };
            match (&replaced, &current) {
                (Some(v), Current::Ok { .. }) => progress(format!(
                    "replacing version {v} (S3 keeps it: `{}` undoes this restore)",
                    undo_advice(&current, reference_lineage.as_deref(), None, &targeting)
                        .command
                        .unwrap_or_default()
                )),
                (Some(v), _) => progress(format!("replacing version {v}, which is not restorable")),
                (None, _) => {
                    progress("the current object is a delete marker; nothing is overwritten".into())
                }
            }
            if already_current {
                progress(format!(
                    "{chosen_label} is already the current object; checking the digest only"
                ));
                let status = locker.digest_status().await?;
                let digest_updated = match (&status.actual, status.consistent) {
                    (Some(md5), false) => guard.put_digest(md5).await?,
                    _ => false,
                };
                return Ok(Outcome {
                    restored_from: restored_from.clone(),
                    replaced_version: None,
                    new_version: chosen_version.clone(),
                    serial: crate::state::header::read_header(&chosen_bytes)
                        .serial
                        .unwrap_or(0),
                    lineage: lineage.clone(),
                    digest_updated,
                    undo: Undo {
                        command: None,
                        note: "Nothing to undo: the state was not replaced.".into(),
                    },
                });
            }
            // (2) The chosen bytes, with only the serial changed.
            let bytes = crate::state::set_serial(&chosen_bytes, new_serial).map_err(|e| {
                Error::Unreadable {
                    what: chosen_label.clone(),
                    problem: e.to_string(),
                }
            })?;
            let md5 = md5_hex(&bytes);
            let new_version = guard.put_state(bytes).await?;
            progress(format!(
                "wrote {chosen_label} as new version {} with serial {new_serial}",
                new_version.as_deref().unwrap_or("(unversioned)")
            ));
            // (3) The digest, so Terraform accepts the new object.
            let digest = guard.put_digest(&md5).await;
            let digest_updated = digest.map_err(|e| {
                Error::Refused(Refusal::Incomplete {
                    message: digest_failed_message(
                        &format!("s3://{}/{key}", bucket.name()),
                        new_version.as_deref(),
                        new_serial,
                        &md5,
                        &e.to_string(),
                        &crate::hint::command(&["digest", "repair"]),
                    ),
                })
            })?;
            if digest_updated {
                progress(format!("digest set to {md5}"));
            }
            let undo = undo_advice(
                &current,
                reference_lineage.as_deref(),
                new_version.as_deref(),
                &targeting,
            );
            Ok(Outcome {
                restored_from: restored_from.clone(),
                replaced_version: replaced,
                new_version,
                serial: new_serial,
                lineage: lineage.clone(),
                digest_updated,
                undo,
            })
        },
    )
    .await?;
    // (4) The lock was released by `with_lock`.
    Ok(outcome)
}

/// `8/10 match, 2 missing, 0 changed`.
fn figures(m: &LiveMatch) -> String {
    format!(
        "{}/{} checked resources match, {} missing, {} changed",
        m.matching, m.checked, m.missing, m.changed
    )
}

/// What comparing the healthy candidates with live AWS found.
enum LiveComparison {
    /// Nothing in the newest healthy version could be checked.
    NothingChecked,
    /// `chosen[k]` (indexes into the history, newest first) matched live
    /// AWS as `matches[k]`; `best` indexes the best match.
    Compared {
        chosen: Vec<usize>,
        matches: Vec<LiveMatch>,
        best: usize,
    },
}

/// Why the version was chosen, in one sentence. Pure.
pub fn live_reason(candidates: &[LiveCandidate], best: usize, prefer_live: bool) -> String {
    let newest = &candidates[0];
    if candidates.len() == 1 {
        return if newest.live.missing + newest.live.changed == 0 {
            format!(
                "the newest healthy version matches live AWS ({})",
                figures(&newest.live)
            )
        } else {
            format!(
                "the newest healthy version does not fully match live AWS ({}), and no older healthy version exists to compare; the difference is usually drift",
                figures(&newest.live)
            )
        };
    }
    if best == 0 {
        return format!(
            "the newest healthy version matches live AWS best of the {} newest healthy versions ({})",
            candidates.len(),
            figures(&newest.live)
        );
    }
    let b = &candidates[best];
    if prefer_live {
        format!(
            "--prefer-live: version {} (serial {}) matches live AWS better ({}) than the newest healthy version {} ({})",
            b.version_id,
            b.serial,
            figures(&b.live),
            newest.version_id,
            figures(&newest.live)
        )
    } else {
        format!(
            "the newest healthy version was chosen ({}); the older healthy version {} (serial {}) matches live AWS better ({}), which is usually drift rather than a bad write",
            figures(&newest.live),
            b.version_id,
            b.serial,
            figures(&b.live)
        )
    }
}

/// Compares the newest healthy version (`newest`) with live AWS; when some
/// of its checked resources are missing or changed, also up to
/// [`LIVE_CANDIDATES`] healthy versions in all (it and older ones), through
/// one shared enumeration, and [`select::best_live`] names the best. Each
/// candidate is read once and only its resource list is kept.
async fn compare_with_live(
    bucket: &dyn StateObjects,
    key: &str,
    facts: &mut [VersionFacts],
    newest: usize,
    current_bytes: Option<&[u8]>,
    check: &LiveCheck<'_>,
) -> Result<LiveComparison> {
    let read = |i: usize, facts: &[VersionFacts]| {
        let id = facts[i].version_id.clone();
        async move {
            match (i, current_bytes) {
                (0, Some(b)) => Ok::<_, Error>(b.to_vec()),
                _ => Ok(bucket.get(key, Some(&id), None).await?.bytes),
            }
        }
    };
    let resources_of = |bytes: &[u8]| {
        crate::state::parse(bytes)
            .ok()
            .map(|s| live::state_resources(&s))
    };

    let mut chosen = vec![newest];
    let mut resources = vec![resources_of(&read(newest, facts).await?)];
    let first =
        live::match_versions(check.aws, &resources, check.opts).await?[0].unwrap_or_default();
    if first.checked == 0 {
        return Ok(LiveComparison::NothingChecked);
    }
    if first.missing + first.changed == 0 {
        return Ok(LiveComparison::Compared {
            chosen,
            matches: vec![first],
            best: 0,
        });
    }

    // Older healthy versions, read one at a time.
    let mut health = assess(facts);
    let mut start = newest + 1;
    let mut last_read: Option<(usize, Vec<u8>)> = None;
    while chosen.len() < LIVE_CANDIDATES {
        match select::pick_last_good_from(facts, &health, start) {
            Pick::Chosen(j) => {
                let bytes = match last_read.take() {
                    Some((k, b)) if k == j => b,
                    _ => read(j, facts).await?,
                };
                resources.push(resources_of(&bytes));
                chosen.push(j);
                start = j + 1;
            }
            Pick::NeedsFullRead(j) => {
                let bytes = read(j, facts).await?;
                facts[j].content = content_of(&bytes).0;
                health = assess(facts);
                last_read = Some((j, bytes));
            }
            Pick::NoneGood => break,
        }
    }
    let matches: Vec<LiveMatch> = if chosen.len() == 1 {
        vec![first]
    } else {
        live::match_versions(check.aws, &resources, check.opts)
            .await?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect()
    };
    let best = select::best_live(&matches).unwrap_or(0);
    Ok(LiveComparison::Compared {
        chosen,
        matches,
        best,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_failure_says_what_was_written_and_the_exact_fix() {
        let m = digest_failed_message(
            "s3://b/k",
            Some("v9"),
            12,
            "0123abcd",
            "PutItem failed",
            "stateward digest repair --env prod",
        );
        assert!(
            m.starts_with("the restored state was written to s3://b/k as version v9 (serial 12)"),
            "{m}"
        );
        assert!(m.contains("Terraform will refuse this state"), "{m}");
        assert!(
            m.ends_with("fix it with `stateward digest repair --env prod`"),
            "{m}"
        );
    }

    #[test]
    fn undo_is_offered_only_when_the_replaced_version_is_restorable() {
        let ok = |lineage: &str| Current::Ok {
            version_id: "old".into(),
            serial: 4,
            lineage: lineage.into(),
        };
        // (name, replaced, history lineage, undo command, note)
        type Case<'a> = (&'a str, Current, Option<&'a str>, Option<&'a str>, &'a str);
        let cases: Vec<Case> = vec![
            (
                "a healthy version: its restore",
                ok("L"),
                Some("L"),
                Some("stateward restore old --env prod"),
                "Undo: stateward restore old --env prod",
            ),
            (
                "another lineage: the flag it needs",
                ok("X"),
                Some("L"),
                Some("stateward restore old --allow-lineage-change --env prod"),
                "Undo: stateward restore old --allow-lineage-change --env prod",
            ),
            (
                "corrupt: nothing to undo to, the way back",
                Current::Corrupt {
                    version_id: "bad".into(),
                    problem: "truncated".into(),
                },
                Some("L"),
                None,
                "Nothing to undo to: the replaced version bad is corrupt (truncated), and stateward never restores a corrupt version; this restore's result is version new: `stateward restore new --env prod` brings it back should it be replaced",
            ),
            (
                "deleted: nothing to undo to",
                Current::Deleted {
                    version_id: "dm".into(),
                },
                Some("L"),
                None,
                "Nothing to undo to: the state was deleted (delete marker dm); this restore's result is version new: `stateward restore new --env prod` brings it back should it be replaced",
            ),
        ];
        for (name, current, reference, command, note) in cases {
            let u = undo_advice(&current, reference, Some("new"), "--env prod");
            assert_eq!(u.command.as_deref(), command, "{name}");
            assert_eq!(u.note, note, "{name}");
        }
    }

    fn cand(
        id: &str,
        serial: u64,
        checked: usize,
        matching: usize,
        missing: usize,
    ) -> LiveCandidate {
        LiveCandidate {
            version_id: id.into(),
            serial,
            live: LiveMatch {
                resources: checked,
                checked,
                matching,
                missing,
                changed: 0,
            },
        }
    }

    #[test]
    fn the_live_reason_says_what_was_chosen_and_what_matches_better() {
        let newest_ok = [cand("v2", 2, 3, 3, 0)];
        assert!(live_reason(&newest_ok, 0, false)
            .starts_with("the newest healthy version matches live AWS"));
        let alone = [cand("v2", 2, 3, 2, 1)];
        assert!(live_reason(&alone, 0, false).contains("no older healthy version exists"));
        let two = [cand("v2", 2, 3, 2, 1), cand("v1", 1, 2, 2, 0)];
        let r = live_reason(&two, 1, false);
        assert!(
            r.starts_with("the newest healthy version was chosen"),
            "{r}"
        );
        assert!(
            r.contains("older healthy version v1 (serial 1) matches live AWS better"),
            "{r}"
        );
        let r = live_reason(&two, 1, true);
        assert!(r.starts_with("--prefer-live: version v1 (serial 1)"), "{r}");
        let r = live_reason(&two, 0, false);
        assert!(r.contains("best of the 2 newest healthy versions"), "{r}");
    }

    #[test]
    fn two_reads_of_a_version_must_agree_before_it_is_replaced() {
        assert_eq!(check_same_read("v1", b"{\"ver", b"{\"ver"), Ok(()));
        let e = check_same_read("v1", b"{\"ver", b"{\"version\": 4}").unwrap_err();
        assert!(e.contains("transfer problem"), "{e}");
        assert!(e.contains("5 bytes, then 14 bytes"), "{e}");
        assert!(e.contains("v1"), "{e}");
        // Same length, different bytes.
        assert!(check_same_read("v1", b"abc", b"abd").is_err());
    }
}
#[cfg(test)]
mod twin_tests;
