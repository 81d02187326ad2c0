//! `stateward rebuild plan` (ordered waves from a state and live AWS) and
//! `stateward rebuild run` (execute them: gates, journal, resume, lock).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::cli::{out_err, parse_resolved, resolve_refs, Context};
use crate::error::{Error, Result};
use crate::exit;
use crate::output::{self, Stderr};
use crate::output::{table, Printer, Render};
use crate::rebuild::journal::{self, WaveEntry};
use crate::rebuild::prepare::{failed_checks_warning, make_plan};
use crate::rebuild::run::Event;
use crate::rebuild::session::{self, RunReport, RunStatus, StateInfo};
use crate::rebuild::{self, shell_line, Plan, Tier};

use super::args::{RebuildCommand, RebuildRunArgs};

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
        ctx.managed_scan(&target)?,
        &state,
        tiers,
        all,
        terraform,
        vec![],
    )
    .await?;
    let failed = planned.failed_checks;
    printer
        .emit(&Report {
            state: StateInfo::of(&state),
            not_checked: planned.not_checked,
            failed_checks: failed,
            plan: planned.plan,
        })
        .map_err(out_err)?;
    // An incomplete check is not a plan to trust: exit 1.
    if failed > 0 {
        printer
            .stderr()
            .line(format_args!("stateward: {}", failed_checks_warning(failed)));
        return Ok(exit::ERROR);
    }
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
    let resolved = resolve_refs(ctx, &[&args.reference]).await?;
    let state = parse_resolved(&resolved[0])?;
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;
    let request = session::Request {
        // The command to rerun: this one, with --execute --resume.
        resume_hint: resume_command(&args, &terraform, &dir),
        dir,
        terraform,
        tiers,
        all: args.all,
        execute: args.execute,
        resume: args.resume,
        allow_empty_data_stores: args.allow_empty_data_stores,
        s3_journal: args.s3_journal || s3_from_env,
        lock_timeout: args.lock_timeout.unwrap_or(Duration::ZERO),
        show_lock_wait: crate::cli::shows_progress(printer),
    };
    let err = printer.stderr();
    let dir = request.dir.clone();
    let mut show = Show {
        err: err.clone(),
        gate: None,
    };
    let report = session::run(
        session::Session {
            aws: &aws,
            target: &target,
            err: err.clone(),
            scan: &|| ctx.managed_scan(&target),
            preview: &mut |waves| show_waves(&err, waves, &dir),
            confirm: &mut |question| {
                crate::cli::confirm_or(&err, question, args.yes, "leave out --execute to only look")
            },
            on_event: &mut |e| show.event(e),
        },
        &state,
        request,
    )
    .await?;
    printer.emit(&report).map_err(out_err)?;
    // A dry run is a check: incomplete when AWS refused or failed part of it.
    if !report.executed && report.failed_checks > 0 {
        return Ok(exit::ERROR);
    }
    Ok(exit::SUCCESS)
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

impl Render for RunReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Rebuild run from serial {} (lineage {}): {}",
            self.state.serial,
            self.state.lineage,
            match self.status {
                RunStatus::DryRun => "dry run, nothing executed (add --execute to run it)",
                RunStatus::WouldResume =>
                    "the journal's rebuild, nothing executed (add --execute to resume it)",
                RunStatus::NothingToDo =>
                    "nothing to rebuild: every checked resource exists in AWS",
                RunStatus::Completed => "completed",
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
pub(crate) struct Report {
    state: StateInfo,
    /// The state's resources the live scan could not check (types it does
    /// not know included).
    not_checked: usize,
    /// Of those, the ones AWS refused or failed: the plan may leave out what
    /// is missing among them, and the command exits 1.
    failed_checks: usize,
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
