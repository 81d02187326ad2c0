//! `rebuild run` as a whole: the dry run, the confirmation, the rebuild lock
//! (taking over one that a killed run of this user left), the journal
//! (local, optionally copied to S3) and the waves through [`super::run`].
//! The CLI resolves the settings into a [`Request`], renders the
//! [`RunReport`] and the [`Event`]s, and asks the user through
//! [`Session::confirm`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::journal::{self, Journal, JournalStatus, Start, StateIdentity, WaveEntry};
use super::persist::JournalStore;
use super::prepare::{failed_checks_warning, make_plan, Planned};
use super::run::{self as executor, AwsProbe, Event, Interrupts, ProcessRunner};
use super::{gate, DataRecovery, Plan, Tier};
use crate::aws::Aws;
use crate::config::Target;
use crate::error::{Error, Refusal, Result};
use crate::live;
use crate::lock::{self, Locker, OnInterrupt};
use crate::output::{self, Stderr};
use crate::state::State;

/// The lock operation `rebuild run --execute` records.
pub const REBUILD_OPERATION: &str = "OperationTypeRebuild";

/// What the run is asked to do, with every setting resolved.
pub struct Request {
    /// The Terraform directory, canonical.
    pub dir: PathBuf,
    /// The Terraform program (a relative path already made absolute).
    pub terraform: String,
    pub tiers: Vec<Tier>,
    /// Rebuild every resource, not only the missing ones.
    pub all: bool,
    pub execute: bool,
    pub resume: bool,
    pub allow_empty_data_stores: bool,
    /// Keep a copy of the journal next to the state in S3.
    pub s3_journal: bool,
    /// How long to wait for the rebuild lock (zero: not at all).
    pub lock_timeout: Duration,
    /// The command that resumes this run, as the user would type it.
    pub resume_hint: String,
    /// Draw the lock's waiting line (a terminal in text mode).
    pub show_lock_wait: bool,
}

/// What the run needs from around it: where human messages go, the
/// confirmation, the live scan's options, and the executor's events.
pub struct Session<'a> {
    pub aws: &'a Aws,
    pub target: &'a Target,
    pub err: Stderr,
    /// The options of the live scan that finds what is missing (built when
    /// a plan is made, so its progress line shows only then).
    pub scan: &'a dyn Fn() -> Result<live::ScanOptions>,
    /// Shown the waves about to run, before anything is checked or asked.
    pub preview: &'a mut dyn FnMut(&[&WaveEntry]),
    /// Asked `question` before anything runs; an error refuses.
    pub confirm: &'a mut dyn FnMut(&str) -> Result<()>,
    pub on_event: &'a mut dyn FnMut(Event),
}

/// The serial and lineage a rebuild starts from.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StateInfo {
    pub serial: u64,
    pub lineage: String,
}

impl StateInfo {
    pub fn of(state: &State<'_>) -> StateInfo {
        StateInfo {
            serial: state.serial,
            lineage: state.lineage.to_string(),
        }
    }
}

/// How a `rebuild run` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Without `--execute`: the plan, nothing executed.
    DryRun,
    /// `--resume` without `--execute`: the journal's rebuild, nothing executed.
    WouldResume,
    /// Every wave ran and its gate passed.
    Completed,
    /// Nothing is missing (and every check answered).
    NothingToDo,
}

/// `rebuild run`'s result.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RunReport {
    pub state: StateInfo,
    pub executed: bool,
    pub resumed: bool,
    pub status: RunStatus,
    /// The local journal file.
    pub journal: String,
    /// s3://BUCKET/KEY of the journal's copy, when enabled.
    pub s3_journal: Option<String>,
    pub waves: Vec<WaveEntry>,
    pub data_recovery: Vec<DataRecovery>,
    pub total_seconds: f64,
    pub notes: Vec<String>,
    /// The state's resources whose live check AWS refused or failed when
    /// this plan was made: it may leave out what is missing among them (a
    /// dry run then exits 1).
    pub failed_checks: usize,
    /// This run's number in the journal (0 when nothing was executed).
    #[serde(skip)]
    pub run: usize,
}

/// Runs `rebuild run` for `state`: a dry run without `execute`, else the
/// confirmed, locked and journalled waves.
pub async fn run(session: Session<'_>, state: &State<'_>, req: Request) -> Result<RunReport> {
    let started = Instant::now();
    let Session {
        aws,
        target,
        err,
        scan,
        preview: show,
        confirm,
        on_event,
    } = session;
    let apply_args: Vec<String> = vec!["-input=false".into(), "-auto-approve".into()];
    let identity = StateIdentity {
        bucket: target.bucket.clone(),
        key: target.state_key(),
        serial: state.serial,
        lineage: state.lineage.to_string(),
    };
    let fingerprint = journal::fingerprint(&req.tiers, req.all, &req.terraform, &apply_args);
    let s3 = req.s3_journal.then(|| {
        (
            aws.state_bucket(target),
            journal::s3_key(&target.state_key()),
        )
    });
    let s3_url = s3
        .as_ref()
        .map(|(_, key)| format!("s3://{}/{key}", target.bucket));
    let mut store = JournalStore::new(journal::local_path(&req.dir), s3, err.clone());
    let where_ = store.describe();
    let state_info = StateInfo::of(state);
    let plan = |tiers: Vec<Tier>, terraform: String, apply_args: Vec<String>| async move {
        make_plan(aws, scan()?, state, tiers, req.all, terraform, apply_args).await
    };

    if !req.execute {
        let existing = store.load().await?;
        if req.resume {
            journal::decide(existing.as_ref(), true, &identity, &fingerprint, &where_)
                .map_err(|message| Error::Refused(Refusal::Journal { message }))?;
            let j = existing.unwrap_or_else(|| unreachable_journal(&identity));
            return Ok(RunReport::from_journal(
                &j,
                state_info,
                false,
                true,
                RunStatus::WouldResume,
                &where_,
                s3_url,
                started,
                vec![],
            ));
        }
        let planned = plan(req.tiers.clone(), req.terraform.clone(), apply_args).await?;
        let mut notes = Vec::new();
        if let Some(j) = existing
            .as_ref()
            .filter(|j| j.status != JournalStatus::Completed)
        {
            notes.push(format!(
                "an unfinished rebuild journal exists at {where_} ({}): `--execute` alone will refuse; `--execute --resume` continues it",
                j.position()
            ));
        }
        if !planned.plan.data_recovery.is_empty() && !req.allow_empty_data_stores {
            notes.push(data_store_refusal(&planned.plan.data_recovery).to_string());
        }
        if planned.failed_checks > 0 {
            notes.push(failed_checks_warning(planned.failed_checks));
        }
        let waves = entries(&planned.plan, &planned.resources);
        return Ok(RunReport {
            state: state_info,
            executed: false,
            resumed: false,
            // Not "nothing to do" when part of the check is missing.
            status: if waves.is_empty() && planned.failed_checks == 0 {
                RunStatus::NothingToDo
            } else {
                RunStatus::DryRun
            },
            journal: where_,
            s3_journal: s3_url,
            waves,
            data_recovery: planned.plan.data_recovery,
            total_seconds: secs(started.elapsed()),
            notes,
            failed_checks: planned.failed_checks,
            run: 0,
        });
    }

    let locker = Locker::for_rebuild(aws, target)?.with_wait_notice(req.show_lock_wait);
    // A lock left by a killed run of this user on this host is taken over;
    // any other holder stops the run with exit 3.
    if let Some(id) = locker.release_if_abandoned(REBUILD_OPERATION).await? {
        err.line(format_args!(
            "stateward: taking over the rebuild lock {id} left by a `rebuild run` of this user on this host that is no longer running"
        ));
    }
    // Ask before anything runs, showing the waves; the lock is checked
    // first: nobody answers "y" to be told another rebuild holds it.
    let mut preview: Option<Planned> = None;
    let question = if req.resume {
        let existing = store.load().await?;
        journal::decide(existing.as_ref(), true, &identity, &fingerprint, &where_)
            .map_err(|message| Error::Refused(Refusal::Journal { message }))?;
        let j = existing.unwrap_or_else(|| unreachable_journal(&identity));
        let (_, from) = journal::next_step(&j);
        let waves: Vec<&WaveEntry> = match from {
            Some(i) => j.waves[i..].iter().collect(),
            None => vec![],
        };
        show(&waves);
        format!(
            "Resume the rebuild: re-check the completed waves' gates and run {}?",
            output::count(waves.len(), "wave", "waves")
        )
    } else {
        let planned = plan(req.tiers.clone(), req.terraform.clone(), apply_args.clone()).await?;
        let waves = entries(&planned.plan, &planned.resources);
        show(&waves.iter().collect::<Vec<_>>());
        if planned.failed_checks > 0 {
            err.line(format_args!(
                "stateward: warning: {}",
                failed_checks_warning(planned.failed_checks)
            ));
        }
        if !planned.plan.data_recovery.is_empty() && !req.allow_empty_data_stores {
            return Err(Error::Refused(data_store_refusal(
                &planned.plan.data_recovery,
            )));
        }
        let question = format!(
            "Run {} (each `terraform apply -auto-approve`)?",
            output::count(waves.len(), "wave", "waves")
        );
        preview = Some(planned);
        question
    };
    let nothing_to_do = preview.as_ref().is_some_and(|p| p.plan.waves.is_empty());
    let preview_failed = preview.as_ref().map_or(0, |p| p.failed_checks);
    if !nothing_to_do {
        if req.lock_timeout.is_zero() {
            locker.check_free().await.map_err(another_rebuild)?;
        }
        confirm(&question)?;
    }
    let interrupts = Interrupts::listen();
    // The first Ctrl-C lets a running Terraform finish, the second kills it.
    crate::interrupt::hands_off(true);
    let lock_info = format!(
        "stateward rebuild run {} dir={}",
        lock::pid_tag(),
        req.dir.display()
    );
    let outcome = lock::with_lock_opts(
        &locker,
        REBUILD_OPERATION,
        &lock_info,
        req.lock_timeout,
        OnInterrupt::WorkHandlesIt,
        async |_guard| {
            // Read the journal under the lock: another run may just have finished.
            let existing = store.load().await?;
            let start = journal::decide(
                existing.as_ref(),
                req.resume,
                &identity,
                &fingerprint,
                &where_,
            )
            .map_err(|message| Error::Refused(Refusal::Journal { message }))?;
            let (mut j, data_recovery, failed_checks) = match (start, existing) {
                (Start::Resume, Some(j)) => (j, vec![], 0),
                _ => {
                    let planned = match preview {
                        Some(p) => p,
                        None => plan(req.tiers, req.terraform, apply_args).await?,
                    };
                    if planned.plan.waves.is_empty() {
                        return Ok(None);
                    }
                    if !planned.plan.data_recovery.is_empty() && !req.allow_empty_data_stores {
                        return Err(Error::Refused(data_store_refusal(
                            &planned.plan.data_recovery,
                        )));
                    }
                    let now = executor::now_rfc3339();
                    let j = Journal {
                        format: journal::FORMAT,
                        seq: 0,
                        state: identity.clone(),
                        plan_fingerprint: fingerprint.clone(),
                        terraform_dir: req.dir.display().to_string(),
                        status: JournalStatus::Running,
                        created_at: now.clone(),
                        updated_at: now,
                        runs: vec![],
                        waves: entries(&planned.plan, &planned.resources),
                    };
                    (j, planned.plan.data_recovery, planned.failed_checks)
                }
            };
            let opts = executor::Options {
                poll: Duration::from_secs(5),
                resumed: req.resume,
                resume_hint: req.resume_hint.clone(),
            };
            let mut runner = ProcessRunner {
                interrupts: interrupts.clone(),
                err: err.clone(),
            };
            let probe = AwsProbe { aws: aws.clone() };
            executor::execute(
                &mut j,
                &req.dir,
                &mut runner,
                &probe,
                &mut store,
                &opts,
                &interrupts,
                on_event,
            )
            .await?;
            Ok(Some((j, data_recovery, failed_checks)))
        },
    )
    .await
    .map_err(another_rebuild)?;
    Ok(match outcome {
        None => RunReport {
            state: state_info,
            executed: true,
            resumed: false,
            status: RunStatus::NothingToDo,
            journal: where_,
            s3_journal: s3_url,
            waves: vec![],
            data_recovery: vec![],
            total_seconds: secs(started.elapsed()),
            notes: vec![],
            failed_checks: preview_failed,
            run: 0,
        },
        Some((j, data_recovery, failed_checks)) => {
            let mut r = RunReport::from_journal(
                &j,
                state_info,
                true,
                req.resume,
                RunStatus::Completed,
                &where_,
                s3_url,
                started,
                data_recovery,
            );
            r.notes = vec![];
            r.failed_checks = failed_checks;
            r
        }
    })
}

/// A lock conflict on the rebuild lock, said as such.
fn another_rebuild(e: Error) -> Error {
    match e {
        Error::Locked(conflict) => Error::Locked(crate::error::Conflict {
            rebuild_release: Some(crate::hint::command(&[
                "lock",
                "release",
                "ID",
                "--rebuild",
            ])),
            ..conflict
        }),
        other => other,
    }
}

/// Only reached when `decide` accepted a resume, which needs a journal.
fn unreachable_journal(identity: &StateIdentity) -> Journal {
    Journal {
        format: journal::FORMAT,
        seq: 0,
        state: identity.clone(),
        plan_fingerprint: String::new(),
        terraform_dir: String::new(),
        status: JournalStatus::Completed,
        created_at: String::new(),
        updated_at: String::new(),
        runs: vec![],
        waves: vec![],
    }
}

/// The refusal to recreate missing data stores empty. Pure.
pub fn data_store_refusal(d: &[DataRecovery]) -> Refusal {
    let list: Vec<String> = d
        .iter()
        .map(|d| format!("{} ({}: {})", d.address, d.source, d.detail))
        .collect();
    Refusal::EmptyDataStores {
        addresses: d.iter().map(|d| d.address.clone()).collect(),
        message: format!(
            "{} would be recreated EMPTY by the final apply: {}; recover their data first and run again, or pass --allow-empty-data-stores to accept the loss",
            output::count(d.len(), "missing data store", "missing data stores"),
            list.join("; ")
        ),
    }
}

/// The plan's waves with each gate's checks resolved from the state. Pure.
pub fn entries(plan: &Plan, resources: &[live::StateResource]) -> Vec<WaveEntry> {
    let by_address: BTreeMap<&str, &live::StateResource> =
        resources.iter().map(|r| (r.address.as_str(), r)).collect();
    let lookup = |a: &str| {
        by_address.get(a).map(|r| {
            let attrs = serde_json::from_str(r.attributes.get()).unwrap_or_default();
            (r.type_.clone(), attrs)
        })
    };
    plan.waves
        .iter()
        .map(|w| {
            let checks = match &w.gate {
                Some(g) => gate::resolve(g.kind, &w.targets, &lookup),
                None => gate::Checks::default(),
            };
            WaveEntry::new(w.clone(), checks)
        })
        .collect()
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

impl RunReport {
    #[allow(clippy::too_many_arguments)]
    fn from_journal(
        j: &Journal,
        state: StateInfo,
        executed: bool,
        resumed: bool,
        status: RunStatus,
        journal: &str,
        s3_journal: Option<String>,
        started: Instant,
        data_recovery: Vec<DataRecovery>,
    ) -> RunReport {
        let mut notes = Vec::new();
        if !executed {
            let (recheck, from) = journal::next_step(j);
            notes.push(match from {
                Some(i) => format!(
                    "`--execute --resume` re-checks the gates of {}, then runs from wave {} ({})",
                    output::count(recheck.len(), "completed wave", "completed waves"),
                    j.waves[i].index,
                    j.waves[i].name
                ),
                None => "every wave is completed: `--execute --resume` only re-checks their gates"
                    .into(),
            });
        }
        RunReport {
            state,
            executed,
            resumed,
            status,
            journal: journal.into(),
            s3_journal,
            waves: j.waves.clone(),
            data_recovery,
            total_seconds: secs(started.elapsed()),
            notes,
            failed_checks: 0,
            run: if executed { j.runs.len() } else { 0 },
        }
    }
}
