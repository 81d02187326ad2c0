//! `stateward rebuild plan` (ordered waves from a state and live AWS) and
//! `stateward rebuild run` (execute them: gates, journal, resume, lock).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::{out_err, parse_resolved, resolve_refs, Context};
use crate::error::{Error, Refusal, Result};
use crate::exit;
use crate::live::{self};
use crate::lock::{self, Locker, OnInterrupt};
use crate::output::{self, Stderr};
use crate::output::{table, Printer, Render};
use crate::rebuild::journal::{self, Journal, JournalStatus, Start, StateIdentity, WaveEntry};
use crate::rebuild::persist::JournalStore;
use crate::rebuild::prepare::{make_plan, Planned};
use crate::rebuild::run::{self as executor, AwsProbe, Event, Interrupts, ProcessRunner};
use crate::rebuild::{self, gate, shell_line, DataRecovery, Plan, Tier};

use super::args::{RebuildCommand, RebuildRunArgs};

/// The lock operation `rebuild run --execute` records.
pub const REBUILD_OPERATION: &str = "OperationTypeRebuild";

pub async fn run<W: Write>(
    ctx: &Context,
    cmd: RebuildCommand,
    printer: &mut Printer<W>,
) -> Result<u8> {
    match cmd {
        RebuildCommand::Plan {
            reference,
            all,
            terraform,
            ..
        } => plan_command(ctx, &reference, all, terraform, printer).await,
        RebuildCommand::Run(args) => run_command(ctx, args, printer).await,
    }
}

/// The tiers (the environment file's, else the defaults) and whether the
/// environment file asks for the S3 journal.
fn settings(ctx: &Context) -> Result<(Vec<Tier>, bool)> {
    let tiers = ctx
        .settings
        .rebuild_tiers()?
        .unwrap_or_else(rebuild::default_tiers);
    Ok((tiers, ctx.settings.rebuild_s3_journal()?))
}

async fn plan_command<W: Write>(
    ctx: &Context,
    reference: &str,
    all: bool,
    terraform: String,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let (tiers, _) = settings(ctx)?;
    let resolved = resolve_refs(ctx, &[reference]).await?;
    let state = parse_resolved(&resolved[0])?;
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;
    let planned = make_plan(
        &aws,
        super::drift::managed_check_options(ctx, &target)?,
        &state,
        tiers,
        all,
        terraform,
        vec![],
    )
    .await?;
    printer
        .emit(&Report {
            state: StateInfo {
                serial: state.serial,
                lineage: state.lineage.to_string(),
            },
            not_checked: planned.not_checked,
            plan: planned.plan,
        })
        .map_err(out_err)?;
    Ok(exit::SUCCESS)
}

/// A relative `--terraform` path with a `/` is taken from the current
/// directory (commands run in the Terraform directory).
fn terraform_command(t: &str) -> Result<String> {
    let p = Path::new(t);
    if t.is_empty() {
        return Err(Error::Usage("--terraform must name a program".into()));
    }
    if p.is_relative() && t.contains('/') {
        let cwd = std::env::current_dir().map_err(|e| {
            Error::Usage(format!(
                "cannot read the current directory ({e}) to resolve --terraform {t}"
            ))
        })?;
        return Ok(cwd.join(p).to_string_lossy().into_owned());
    }
    Ok(t.to_owned())
}

async fn run_command<W: Write>(
    ctx: &Context,
    args: RebuildRunArgs,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let started = Instant::now();
    let (tiers, s3_from_env) = settings(ctx)?;
    let dir = std::fs::canonicalize(&args.dir)
        .ok()
        .filter(|d| d.is_dir())
        .ok_or_else(|| {
            Error::Usage(format!(
                "the Terraform directory {} does not exist or is not a directory: pass --dir TERRAFORM_DIR",
                args.dir.display()
            ))
        })?;
    let terraform = terraform_command(&args.terraform)?;
    let apply_args: Vec<String> = vec!["-input=false".into(), "-auto-approve".into()];
    let resolved = resolve_refs(ctx, &[&args.reference]).await?;
    let state = parse_resolved(&resolved[0])?;
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;
    let identity = StateIdentity {
        bucket: target.bucket.clone(),
        key: target.state_key(),
        serial: state.serial,
        lineage: state.lineage.to_string(),
    };
    let fingerprint = journal::fingerprint(&tiers, args.all, &terraform, &apply_args);
    let s3 = (args.s3_journal || s3_from_env).then(|| {
        (
            aws.state_bucket(&target),
            journal::s3_key(&target.state_key()),
        )
    });
    let s3_url = s3
        .as_ref()
        .map(|(_, key)| format!("s3://{}/{key}", target.bucket));
    let mut store = JournalStore::new(journal::local_path(&dir), s3, printer.stderr());
    let where_ = store.describe();
    let state_info = StateInfo {
        serial: state.serial,
        lineage: state.lineage.to_string(),
    };
    // The command to rerun: this one, with --execute --resume.
    let resume_hint = resume_command(&args, &terraform, &dir);

    if !args.execute {
        let existing = store.load().await?;
        if args.resume {
            journal::decide(existing.as_ref(), true, &identity, &fingerprint, &where_)
                .map_err(|message| Error::Refused(Refusal::Journal { message }))?;
            let j = existing.unwrap_or_else(|| unreachable_journal(&identity));
            let report = RunReport::from_journal(
                &j,
                state_info,
                false,
                true,
                "would-resume",
                &where_,
                s3_url,
                started,
                vec![],
            );
            printer.emit(&report).map_err(out_err)?;
            return Ok(exit::SUCCESS);
        }
        let planned = make_plan(
            &aws,
            super::drift::managed_check_options(ctx, &target)?,
            &state,
            tiers,
            args.all,
            terraform,
            apply_args,
        )
        .await?;
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
        if !planned.plan.data_recovery.is_empty() && !args.allow_empty_data_stores {
            notes.push(data_store_refusal(&planned.plan.data_recovery).to_string());
        }
        let waves = entries(&planned.plan, &planned.resources);
        let report = RunReport {
            state: state_info,
            executed: false,
            resumed: false,
            status: if waves.is_empty() {
                "nothing-to-do"
            } else {
                "dry-run"
            }
            .into(),
            journal: where_,
            s3_journal: s3_url,
            waves,
            data_recovery: planned.plan.data_recovery,
            total_seconds: secs(started.elapsed()),
            notes,
            run: 0,
        };
        printer.emit(&report).map_err(out_err)?;
        return Ok(exit::SUCCESS);
    }

    let locker =
        Locker::for_rebuild(&aws, &target)?.with_wait_notice(crate::cli::shows_progress(printer));
    let lock_timeout = args.lock_timeout.unwrap_or(Duration::ZERO);
    // A lock left by a killed run of this user on this host is taken over;
    // any other holder stops the run with exit 3.
    if let Some(id) = locker.release_if_abandoned(REBUILD_OPERATION).await? {
        printer.stderr().line(format_args!(
            "stateward: taking over the rebuild lock {id} left by a `rebuild run` of this user on this host that is no longer running"
        ));
    }
    // Ask before anything runs, showing the waves; refuse without a
    // terminal unless --yes. The lock is checked first: nobody answers "y"
    // to be told another rebuild holds it.
    let mut preview: Option<Planned> = None;
    let question = if args.resume {
        let existing = store.load().await?;
        journal::decide(existing.as_ref(), true, &identity, &fingerprint, &where_)
            .map_err(|message| Error::Refused(Refusal::Journal { message }))?;
        let j = existing.unwrap_or_else(|| unreachable_journal(&identity));
        let (_, from) = journal::next_step(&j);
        let waves: Vec<&WaveEntry> = match from {
            Some(i) => j.waves[i..].iter().collect(),
            None => vec![],
        };
        show_waves(&printer.stderr(), &waves, &dir);
        format!(
            "Resume the rebuild: re-check the completed waves' gates and run {}?",
            output::count(waves.len(), "wave", "waves")
        )
    } else {
        let planned = make_plan(
            &aws,
            super::drift::managed_check_options(ctx, &target)?,
            &state,
            tiers.clone(),
            args.all,
            terraform.clone(),
            apply_args.clone(),
        )
        .await?;
        let waves = entries(&planned.plan, &planned.resources);
        show_waves(&printer.stderr(), &waves.iter().collect::<Vec<_>>(), &dir);
        let n = waves.len();
        preview = Some(planned);
        format!(
            "Run {} (each `terraform apply -auto-approve`)?",
            output::count(n, "wave", "waves")
        )
    };
    if let Some(p) = &preview {
        if !p.plan.data_recovery.is_empty() && !args.allow_empty_data_stores {
            return Err(Error::Refused(data_store_refusal(&p.plan.data_recovery)));
        }
    }
    let nothing_to_do = preview.as_ref().is_some_and(|p| p.plan.waves.is_empty());
    if !nothing_to_do {
        if lock_timeout.is_zero() {
            locker.check_free().await.map_err(another_rebuild)?;
        }
        crate::cli::confirm_or(
            &printer.stderr(),
            &question,
            args.yes,
            "leave out --execute to only look",
        )?;
    }
    let interrupts = Interrupts::listen();
    // The first Ctrl-C lets a running Terraform finish, the second kills it.
    crate::interrupt::hands_off(true);
    let lock_info = format!(
        "stateward rebuild run {} dir={}",
        lock::pid_tag(),
        dir.display()
    );
    let outcome = lock::with_lock_opts(
        &locker,
        REBUILD_OPERATION,
        &lock_info,
        lock_timeout,
        OnInterrupt::WorkHandlesIt,
        async |_guard| {
            // Read the journal under the lock: another run may just have finished.
            let existing = store.load().await?;
            let start = journal::decide(
                existing.as_ref(),
                args.resume,
                &identity,
                &fingerprint,
                &where_,
            )
            .map_err(|message| Error::Refused(Refusal::Journal { message }))?;
            let (mut j, data_recovery) = match (start, existing) {
                (Start::Resume, Some(j)) => (j, vec![]),
                _ => {
                    let planned = match preview {
                        Some(p) => p,
                        None => {
                            make_plan(
                                &aws,
                                super::drift::managed_check_options(ctx, &target)?,
                                &state,
                                tiers,
                                args.all,
                                terraform,
                                apply_args,
                            )
                            .await?
                        }
                    };
                    if planned.plan.waves.is_empty() {
                        return Ok(None);
                    }
                    if !planned.plan.data_recovery.is_empty() && !args.allow_empty_data_stores {
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
                        terraform_dir: dir.display().to_string(),
                        status: JournalStatus::Running,
                        created_at: now.clone(),
                        updated_at: now,
                        runs: vec![],
                        waves: entries(&planned.plan, &planned.resources),
                    };
                    (j, planned.plan.data_recovery)
                }
            };
            let resumed = args.resume;
            let opts = executor::Options {
                poll: Duration::from_secs(5),
                resumed,
                resume_hint: resume_hint.clone(),
            };
            let mut runner = ProcessRunner {
                interrupts: interrupts.clone(),
                err: printer.stderr(),
            };
            let probe = AwsProbe { aws: aws.clone() };
            let mut show = Show {
                err: printer.stderr(),
                gate: None,
            };
            executor::execute(
                &mut j,
                &dir,
                &mut runner,
                &probe,
                &mut store,
                &opts,
                &interrupts,
                &mut |e| show.event(e),
            )
            .await?;
            Ok(Some((j, data_recovery)))
        },
    )
    .await
    .map_err(another_rebuild)?;
    let report = match outcome {
        None => RunReport {
            state: state_info,
            executed: true,
            resumed: false,
            status: "nothing-to-do".into(),
            journal: where_,
            s3_journal: s3_url,
            waves: vec![],
            data_recovery: vec![],
            total_seconds: secs(started.elapsed()),
            notes: vec![],
            run: 0,
        },
        Some((j, data_recovery)) => {
            let mut r = RunReport::from_journal(
                &j,
                state_info,
                true,
                args.resume,
                "completed",
                &where_,
                s3_url,
                started,
                data_recovery,
            );
            r.notes = vec![];
            r
        }
    };
    printer.emit(&report).map_err(out_err)?;
    Ok(exit::SUCCESS)
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

/// The command that resumes this run: the same reference and options, with
/// `--execute --resume`, the resolved Terraform and directory, and the
/// targeting flags (through the one hint helper).
fn resume_command(args: &RebuildRunArgs, terraform: &str, dir: &Path) -> String {
    let dir = dir.display().to_string();
    let mut words: Vec<&str> = vec!["rebuild", "run"];
    if args.reference != "latest" {
        words.push(&args.reference);
    }
    words.extend(["--execute", "--resume"]);
    if args.all {
        words.push("--all");
    }
    if args.s3_journal {
        words.push("--s3-journal");
    }
    if args.allow_empty_data_stores {
        words.push("--allow-empty-data-stores");
    }
    if args.yes {
        words.push("--yes");
    }
    if terraform != "terraform" {
        words.extend(["--terraform", terraform]);
    }
    words.extend(["--dir", dir.as_str()]);
    crate::hint::command(&words)
}

/// The waves about to run, on stderr, before the confirmation.
fn show_waves(err: &Stderr, waves: &[&WaveEntry], dir: &Path) {
    if waves.is_empty() {
        return;
    }
    err.line(format_args!(
        "Rebuild plan: {}, run in {}:",
        output::count(waves.len(), "wave", "waves"),
        dir.display()
    ));
    for w in waves {
        err.line(format_args!("  wave {}: {}", w.index, w.name));
        for t in &w.targets {
            let why = w.reasons.get(t).map(String::as_str).unwrap_or("");
            err.line(format_args!("    {t}  ({why})"));
        }
        for c in &w.commands {
            err.line(format_args!("    $ {}", shell_line(c)));
        }
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

fn data_store_refusal(d: &[DataRecovery]) -> Refusal {
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

/// The plan's waves with each gate's checks resolved from the state.
fn entries(plan: &Plan, resources: &[live::StateResource]) -> Vec<WaveEntry> {
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
                Some(g) => gate::resolve(&g.kind, &w.targets, &lookup),
                None => gate::Checks::default(),
            };
            WaveEntry::new(w.clone(), checks)
        })
        .collect()
}

/// A wave's targets, each with the reason it is rebuilt.
fn write_targets(
    out: &mut dyn Write,
    targets: &[String],
    reasons: &BTreeMap<String, String>,
) -> io::Result<()> {
    for t in targets {
        writeln!(
            out,
            "  {t}  ({})",
            reasons.get(t).map(String::as_str).unwrap_or("")
        )?;
    }
    Ok(())
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// Progress lines on stderr; the gate's waiting line is redrawn in place on a
/// terminal in text mode and not shown otherwise.
/// The executor's events on stderr: one line per step, and a progress
/// line (drawn only on a terminal, see [`crate::output::progress`]) while a
/// gate is polled.
struct Show {
    err: Stderr,
    gate: Option<output::Progress>,
}

impl Show {
    fn event(&mut self, e: Event) {
        if !matches!(e, Event::GateWaiting { .. }) {
            if let Some(bar) = self.gate.take() {
                bar.finish();
            }
        }
        match e {
            Event::Recheck { wave, name } => self.err.line(format_args!(
                "stateward: re-checking the gate of wave {wave} ({name}), completed earlier"
            )),
            Event::WaveStarted { wave, of, name } => self
                .err
                .line(format_args!("stateward: wave {wave} of {of}: {name}")),
            Event::CommandStarted { argv } => self
                .err
                .line(format_args!("stateward: $ {}", shell_line(&argv))),
            Event::CommandFinished { outcome, seconds } => self
                .err
                .line(format_args!("stateward: {outcome} after {seconds:.1}s")),
            Event::GateWaiting {
                kind,
                ready,
                total,
                elapsed,
                timeout,
                detail,
            } => {
                let bar = self.gate.get_or_insert_with(|| {
                    output::Progress::items(format!("waiting on {kind}"), total as u64)
                });
                bar.set_length(total as u64);
                bar.set_position(ready as u64);
                bar.set_message(format!(
                    "waiting on {kind} ({elapsed:.0}s of {timeout}s; {detail})"
                ));
            }
            Event::GateDone {
                kind,
                passed,
                seconds,
                detail,
            } => self.err.line(format_args!(
                "stateward: gate {kind} {} after {seconds:.1}s: {detail}",
                if passed { "passed" } else { "FAILED" }
            )),
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct RunReport {
    state: StateInfo,
    executed: bool,
    resumed: bool,
    /// `dry-run`, `would-resume`, `completed`, `nothing-to-do`.
    #[schemars(extend("enum" = ["dry-run", "would-resume", "completed", "nothing-to-do"]))]
    status: String,
    /// The local journal file.
    journal: String,
    /// s3://BUCKET/KEY of the journal's copy, when enabled.
    s3_journal: Option<String>,
    waves: Vec<WaveEntry>,
    data_recovery: Vec<DataRecovery>,
    total_seconds: f64,
    notes: Vec<String>,
    /// This run's number in the journal (0 when nothing was executed).
    #[serde(skip)]
    run: usize,
}

impl RunReport {
    #[allow(clippy::too_many_arguments)]
    fn from_journal(
        j: &Journal,
        state: StateInfo,
        executed: bool,
        resumed: bool,
        status: &str,
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
            status: status.into(),
            journal: journal.into(),
            s3_journal,
            waves: j.waves.clone(),
            data_recovery,
            total_seconds: secs(started.elapsed()),
            notes,
            run: if executed { j.runs.len() } else { 0 },
        }
    }
}

impl Render for RunReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Rebuild run from serial {} (lineage {}): {}",
            self.state.serial,
            self.state.lineage,
            match self.status.as_str() {
                "dry-run" => "dry run, nothing executed (add --execute to run it)",
                "would-resume" =>
                    "the journal's rebuild, nothing executed (add --execute to resume it)",
                "nothing-to-do" => "nothing to rebuild: every checked resource exists in AWS",
                "completed" => "completed",
                other => other,
            }
        )?;
        if !self.data_recovery.is_empty() {
            writeln!(out, "\nDATA STORES MISSING: recover their data first")?;
            for d in &self.data_recovery {
                writeln!(
                    out,
                    "  {} ({}): {} — {}",
                    d.address, d.type_, d.source, d.detail
                )?;
            }
        }
        if self.executed {
            if !self.waves.is_empty() {
                writeln!(out)?;
                let rows: Vec<Vec<String>> = self
                    .waves
                    .iter()
                    .map(|w| {
                        let earlier = w.run.is_some_and(|r| r < self.run);
                        vec![
                            w.index.to_string(),
                            w.name.clone(),
                            if earlier {
                                "completed earlier".into()
                            } else {
                                w.status.as_str().into()
                            },
                            format!("{:.1}s", w.command_seconds),
                            match &w.gate_result {
                                Some(g) => format!(
                                    "{} {} {:.1}s",
                                    g.kind,
                                    if g.recheck {
                                        "re-checked"
                                    } else if g.passed {
                                        "passed"
                                    } else {
                                        "failed"
                                    },
                                    g.seconds
                                ),
                                None => "-".into(),
                            },
                        ]
                    })
                    .collect();
                table(out, &["WAVE", "NAME", "STATUS", "COMMANDS", "GATE"], &rows)?;
            }
            writeln!(
                out,
                "\nTotal: {:.1}s. Journal: {}",
                self.total_seconds, self.journal
            )?;
        } else {
            for w in &self.waves {
                writeln!(
                    out,
                    "\nWave {}: {}{}",
                    w.index,
                    w.name,
                    match w.status {
                        journal::WaveStatus::Pending => String::new(),
                        s => format!(" [{}]", s.as_str()),
                    }
                )?;
                write_targets(out, &w.targets, &w.reasons)?;
                for c in &w.commands {
                    writeln!(out, "  would run: {}", shell_line(c))?;
                }
                if let Some(g) = &w.gate {
                    let n = w.checks.checks.len();
                    writeln!(
                        out,
                        "  then wait: {} ({} resource{} to check, {} s at most)",
                        g.kind,
                        n,
                        if n == 1 { "" } else { "s" },
                        g.timeout_seconds
                    )?;
                }
            }
            writeln!(out, "\nJournal: {}", self.journal)?;
        }
        if let Some(s3) = &self.s3_journal {
            writeln!(out, "S3 copy of the journal: {s3}")?;
        }
        for n in &self.notes {
            writeln!(out, "Note: {n}")?;
        }
        Ok(())
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct StateInfo {
    serial: u64,
    lineage: String,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Report {
    state: StateInfo,
    #[serde(skip)]
    not_checked: usize,
    #[serde(flatten)]
    plan: Plan,
}

impl Render for Report {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Rebuild plan from serial {} (lineage {})",
            self.state.serial, self.state.lineage
        )?;
        if !self.plan.data_recovery.is_empty() {
            writeln!(out, "\nDATA STORES MISSING: recover their data first")?;
            for d in &self.plan.data_recovery {
                writeln!(
                    out,
                    "  {} ({}): {} — {}",
                    d.address, d.type_, d.source, d.detail
                )?;
            }
        }
        if self.plan.waves.is_empty() {
            writeln!(
                out,
                "\nNothing to rebuild: every checked resource exists in AWS."
            )?;
        }
        for w in &self.plan.waves {
            writeln!(out, "\nWave {}: {}", w.index, w.name)?;
            write_targets(out, &w.targets, &w.reasons)?;
            for c in &w.commands {
                writeln!(out, "  $ {}", shell_line(c))?;
            }
            if let Some(g) = &w.gate {
                writeln!(out, "  wait: {} ({} s at most)", g.kind, g.timeout_seconds)?;
            }
        }
        if self.not_checked > 0 {
            writeln!(
                out,
                "\n{} resources could not be checked against AWS (see `{}`); with --missing-only they are not rebuilt unless they depend on something that is.",
                self.not_checked,
                crate::hint::command(&["drift"])
            )?;
        }
        Ok(())
    }
}
