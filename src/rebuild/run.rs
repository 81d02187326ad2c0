//! Executes a journal's plan: each wave's commands in the Terraform
//! directory, then its gate, saving the journal after every step. The
//! orchestration ([`execute`]) is written over three traits — [`Runner`]
//! (commands), [`Probe`] (live checks) and [`Store`] (journal saves) — so the
//! resume, skip and stop logic is unit-tested without processes or AWS.

use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::gate::{verdict, Check, Observed, Verdict};
use super::journal::{
    next_step, CommandRecord, GateRecord, Journal, JournalStatus, RunRecord, WaveStatus,
};
use super::{shell_line, GateKind};
use crate::aws::Aws;
use crate::error::{Error, Interruption, Result};
use crate::output::Stderr;

/// How one command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// `None` when it could not start or was killed by a signal.
    pub exit_code: Option<i32>,
    pub outcome: String,
    /// The user pressed Ctrl-C while it ran.
    pub interrupted: bool,
}

/// Runs one command in a directory.
pub trait Runner {
    fn run(&mut self, argv: &[String], dir: &Path) -> impl Future<Output = Finished>;
}

/// Reads what AWS reports for one check.
pub trait Probe {
    fn observe(&self, check: &Check) -> impl Future<Output = Result<Observed>>;
}

/// Saves the journal (locally, and to S3 when enabled).
pub trait Store {
    fn save(&mut self, journal: &mut Journal) -> impl Future<Output = Result<()>>;
}

/// What the executor reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Recheck {
        wave: usize,
        name: String,
    },
    WaveStarted {
        wave: usize,
        of: usize,
        name: String,
    },
    CommandStarted {
        argv: Vec<String>,
    },
    CommandFinished {
        outcome: String,
        seconds: f64,
    },
    GateWaiting {
        kind: GateKind,
        ready: usize,
        total: usize,
        elapsed: f64,
        timeout: u64,
        detail: String,
    },
    GateDone {
        kind: GateKind,
        passed: bool,
        seconds: f64,
        detail: String,
    },
}

/// Counts Ctrl-C presses (see [`Interrupts::listen`]).
#[derive(Debug, Clone, Default)]
pub struct Interrupts(Arc<AtomicUsize>);

impl Interrupts {
    /// Starts counting Ctrl-C presses for the rest of the process.
    pub fn listen() -> Interrupts {
        let i = Interrupts::default();
        let count = i.0.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                count.fetch_add(1, Ordering::SeqCst);
            }
        });
        i
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Test helper: as if Ctrl-C was pressed.
    pub fn press(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Executor settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time between two polls of a gate.
    pub poll: Duration,
    /// Whether this run resumes a journal.
    pub resumed: bool,
    /// The command to suggest in messages, e.g. `stateward rebuild run --execute --resume`.
    pub resume_hint: String,
}

pub use crate::util::time::now_rfc3339;

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// Runs the journal's plan from where it stands: re-checks the gates of the
/// waves completed earlier, then runs every wave from the first one not
/// completed. Saves the journal after every step. Stops at the first failed
/// command ([`Error::RebuildCommand`]), failed gate ([`Error::RebuildGate`]),
/// or Ctrl-C ([`Error::Interrupted`]), with the journal saying so.
#[allow(clippy::too_many_arguments)]
pub async fn execute<R: Runner, P: Probe, S: Store>(
    journal: &mut Journal,
    dir: &Path,
    runner: &mut R,
    probe: &P,
    store: &mut S,
    opts: &Options,
    interrupts: &Interrupts,
    events: &mut dyn FnMut(Event),
) -> Result<()> {
    journal.runs.push(RunRecord {
        started_at: now_rfc3339(),
        resumed: opts.resumed,
        finished_at: None,
        outcome: None,
        pid: std::process::id(),
    });
    journal.status = JournalStatus::Running;
    store.save(journal).await?;
    let outcome = steps(journal, dir, runner, probe, store, opts, interrupts, events).await;
    let (status, word) = match &outcome {
        Ok(()) => (JournalStatus::Completed, "completed"),
        Err(Error::Interrupted(_)) => (JournalStatus::Interrupted, "interrupted"),
        Err(_) => (JournalStatus::Failed, "failed"),
    };
    journal.status = status;
    if let Some(run) = journal.runs.last_mut() {
        run.finished_at = Some(now_rfc3339());
        run.outcome = Some(word.into());
    }
    let saved = store.save(journal).await;
    outcome?;
    saved
}

#[allow(clippy::too_many_arguments)]
async fn steps<R: Runner, P: Probe, S: Store>(
    journal: &mut Journal,
    dir: &Path,
    runner: &mut R,
    probe: &P,
    store: &mut S,
    opts: &Options,
    interrupts: &Interrupts,
    events: &mut dyn FnMut(Event),
) -> Result<()> {
    let (recheck, from) = next_step(journal);
    let total = journal.waves.len();
    let hint = &opts.resume_hint;
    // A Ctrl-C at any time since the listener started counts, planning included.
    let base_interrupts = 0;
    if interrupts.count() > base_interrupts {
        return Err(Error::Interrupted(Interruption::RebuildNotStarted));
    }
    let interrupted_in = |label: &str| {
        Error::Interrupted(Interruption::RebuildStep {
            step: label.to_owned(),
            resume: hint.to_string(),
        })
    };

    for i in recheck {
        let Some(kind) = journal.waves[i].gate.as_ref().map(|g| g.kind) else {
            continue;
        };
        events(Event::Recheck {
            wave: journal.waves[i].index,
            name: journal.waves[i].name.clone(),
        });
        let w = &journal.waves[i];
        let outcome = wait_gate(
            kind,
            &w.checks.checks,
            0,
            opts.poll,
            probe,
            interrupts,
            base_interrupts,
            events,
        )
        .await;
        let w = &mut journal.waves[i];
        let label = w.label();
        match outcome {
            Ok(g) => {
                let passed = g.passed;
                let detail = g.detail.clone();
                w.gate_result = Some(GateRecord {
                    kind,
                    passed,
                    seconds: g.seconds,
                    checked_at: now_rfc3339(),
                    detail: detail.clone(),
                    recheck: true,
                });
                if g.interrupted {
                    store.save(journal).await?;
                    return Err(interrupted_in(&label));
                }
                if !passed {
                    let msg = format!(
                        "{label} completed in an earlier run but its gate {kind} no longer passes ({detail}): fix that and rerun `{hint}`, which runs {label} and every later wave again"
                    );
                    w.status = WaveStatus::Failed;
                    w.error = Some(msg.clone());
                    store.save(journal).await?;
                    return Err(Error::RebuildGate {
                        wave: label.clone(),
                        message: msg,
                    });
                }
                store.save(journal).await?;
            }
            Err(e) => {
                w.status = WaveStatus::Failed;
                w.error = Some(format!("re-checking its gate: {e}"));
                store.save(journal).await?;
                return Err(e);
            }
        }
    }

    let Some(from) = from else {
        return Ok(());
    };
    let run = journal.runs.len();
    for i in from..total {
        {
            let w = &mut journal.waves[i];
            w.run = Some(run);
            w.status = WaveStatus::Running;
            w.attempts += 1;
            w.started_at = Some(now_rfc3339());
            w.finished_at = None;
            w.commands_run.clear();
            w.gate_result = None;
            w.command_seconds = 0.0;
            w.gate_seconds = 0.0;
            w.error = None;
            events(Event::WaveStarted {
                wave: w.index,
                of: total,
                name: w.name.clone(),
            });
        }
        store.save(journal).await?;
        let label = journal.waves[i].label();

        let commands = journal.waves[i].commands.clone();
        for argv in &commands {
            events(Event::CommandStarted { argv: argv.clone() });
            let started_at = now_rfc3339();
            let t0 = Instant::now();
            let done = runner.run(argv, dir).await;
            let seconds = secs(t0.elapsed());
            events(Event::CommandFinished {
                outcome: done.outcome.clone(),
                seconds,
            });
            let w = &mut journal.waves[i];
            w.command_seconds = secs(Duration::from_secs_f64(w.command_seconds + seconds));
            w.commands_run.push(CommandRecord {
                argv: argv.clone(),
                started_at,
                seconds,
                exit_code: done.exit_code,
                outcome: done.outcome.clone(),
            });
            if done.interrupted || interrupts.count() > base_interrupts {
                w.status = WaveStatus::Interrupted;
                w.error = Some("interrupted (Ctrl-C)".into());
                store.save(journal).await?;
                return Err(interrupted_in(&label));
            }
            if done.exit_code != Some(0) {
                let msg = format!(
                    "{label} stopped: `{}` {} in {}; fix the cause and rerun `{hint}` (the wave runs again from its first command)",
                    shell_line(argv),
                    done.outcome,
                    dir.display()
                );
                w.status = WaveStatus::Failed;
                w.error = Some(msg.clone());
                w.finished_at = Some(now_rfc3339());
                store.save(journal).await?;
                return Err(Error::RebuildCommand {
                    wave: label.clone(),
                    message: msg,
                });
            }
            store.save(journal).await?;
        }

        if let Some(gate) = journal.waves[i].gate.clone() {
            let checks = journal.waves[i].checks.checks.clone();
            let outcome = wait_gate(
                gate.kind,
                &checks,
                gate.timeout_seconds,
                opts.poll,
                probe,
                interrupts,
                base_interrupts,
                events,
            )
            .await;
            let w = &mut journal.waves[i];
            match outcome {
                Ok(g) => {
                    w.gate_seconds = g.seconds;
                    w.gate_result = Some(GateRecord {
                        kind: gate.kind,
                        passed: g.passed,
                        seconds: g.seconds,
                        checked_at: now_rfc3339(),
                        detail: g.detail.clone(),
                        recheck: false,
                    });
                    if g.interrupted {
                        w.status = WaveStatus::Interrupted;
                        w.error = Some("interrupted (Ctrl-C) while waiting on its gate".into());
                        store.save(journal).await?;
                        return Err(interrupted_in(&label));
                    }
                    if !g.passed {
                        let msg = format!(
                            "{label} stopped: its gate {} did not pass ({}); fix that and rerun `{hint}` (the wave runs again from its first command)",
                            gate.kind, g.detail
                        );
                        w.status = WaveStatus::Failed;
                        w.error = Some(msg.clone());
                        w.finished_at = Some(now_rfc3339());
                        store.save(journal).await?;
                        return Err(Error::RebuildGate {
                            wave: label.clone(),
                            message: msg,
                        });
                    }
                }
                Err(e) => {
                    w.status = WaveStatus::Failed;
                    w.error = Some(format!("waiting on its gate {}: {e}", gate.kind));
                    w.finished_at = Some(now_rfc3339());
                    store.save(journal).await?;
                    return Err(e);
                }
            }
        }
        let w = &mut journal.waves[i];
        w.status = WaveStatus::Completed;
        w.finished_at = Some(now_rfc3339());
        store.save(journal).await?;
    }
    Ok(())
}

/// The result of waiting on a gate.
#[derive(Debug, Clone, PartialEq)]
pub struct GateOutcome {
    pub passed: bool,
    pub seconds: f64,
    pub detail: String,
    pub interrupted: bool,
}

/// Polls `checks` until all are ready, one fails for good, or `timeout_seconds`
/// pass (0: look once, for re-checks). AWS errors end the wait as errors.
#[allow(clippy::too_many_arguments)]
pub async fn wait_gate<P: Probe>(
    kind: GateKind,
    checks: &[Check],
    timeout_seconds: u64,
    poll: Duration,
    probe: &P,
    interrupts: &Interrupts,
    base_interrupts: usize,
    events: &mut dyn FnMut(Event),
) -> Result<GateOutcome> {
    let start = Instant::now();
    let timeout = Duration::from_secs(timeout_seconds);
    let done = |passed: bool, detail: String, interrupted: bool| GateOutcome {
        passed,
        seconds: secs(start.elapsed()),
        detail,
        interrupted,
    };
    loop {
        let mut ready = 0;
        let mut waiting = Vec::new();
        for c in checks {
            match verdict(c, &probe.observe(c).await?) {
                Verdict::Ready => ready += 1,
                Verdict::Waiting(w) => waiting.push(w),
                Verdict::Failed(f) => {
                    let o = done(false, f, false);
                    events(Event::GateDone {
                        kind,
                        passed: false,
                        seconds: o.seconds,
                        detail: o.detail.clone(),
                    });
                    return Ok(o);
                }
            }
        }
        if waiting.is_empty() {
            let detail = if checks.is_empty() {
                "nothing to check: no resource of a type this gate covers".to_owned()
            } else {
                format!("{ready} of {} ready", checks.len())
            };
            let o = done(true, detail, false);
            events(Event::GateDone {
                kind,
                passed: true,
                seconds: o.seconds,
                detail: o.detail.clone(),
            });
            return Ok(o);
        }
        let elapsed = start.elapsed();
        events(Event::GateWaiting {
            kind,
            ready,
            total: checks.len(),
            elapsed: secs(elapsed),
            timeout: timeout_seconds,
            detail: waiting[0].clone(),
        });
        if elapsed >= timeout {
            let within = if timeout_seconds == 0 {
                String::new()
            } else {
                format!(
                    " within {}",
                    crate::util::duration::format(Duration::from_secs(timeout_seconds))
                )
            };
            let o = done(
                false,
                format!(
                    "{ready} of {} ready{within}: {}",
                    checks.len(),
                    waiting.join("; ")
                ),
                false,
            );
            events(Event::GateDone {
                kind,
                passed: false,
                seconds: o.seconds,
                detail: o.detail.clone(),
            });
            return Ok(o);
        }
        // Sleep until the next poll, noticing Ctrl-C within 100 ms.
        let wake = Instant::now() + poll.min(timeout - elapsed);
        while Instant::now() < wake {
            if interrupts.count() > base_interrupts {
                return Ok(done(false, "interrupted (Ctrl-C)".into(), true));
            }
            tokio::time::sleep(Duration::from_millis(100).min(wake - Instant::now())).await;
        }
    }
}

/// Runs commands as child processes: stdin closed, stdout copied to our
/// stderr (so `--format json` keeps stdout clean), stderr inherited.
pub struct ProcessRunner {
    pub interrupts: Interrupts,
    /// Where the children's stdout and our notes go.
    pub err: Stderr,
}

/// A relative program path with a `/` (`./scripts/x.sh`) is resolved
/// against the directory the command runs in; a bare name goes through PATH.
pub fn program_path(program: &str, dir: &Path) -> PathBuf {
    let p = Path::new(program);
    if p.is_relative() && program.contains('/') {
        dir.join(p)
    } else {
        p.to_path_buf()
    }
}

impl Runner for ProcessRunner {
    async fn run(&mut self, argv: &[String], dir: &Path) -> Finished {
        let Some((program, args)) = argv.split_first() else {
            return Finished {
                exit_code: None,
                outcome: "could not be started (an empty command)".into(),
                interrupted: false,
            };
        };
        let spawned = Command::new(program_path(program, dir))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                return Finished {
                    exit_code: None,
                    outcome: format!("could not be started ({e})"),
                    interrupted: false,
                }
            }
        };
        let err = self.err.clone();
        let copier = child.stdout.take().map(|mut out| {
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = out.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    err.bytes(&buf[..n]);
                }
            })
        });
        let base = self.interrupts.count();
        let mut killed = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) => {}
                Err(e) => break Err(e),
            }
            // The terminal sends Ctrl-C to the child too: let it finish
            // (Terraform releases its state lock); a second Ctrl-C kills it.
            let pressed = self.interrupts.count() - base;
            if pressed == 1 && !killed {
                self.err.line(format_args!(
                    "stateward: interrupt: waiting for `{program}` to stop (Ctrl-C again kills it)"
                ));
                killed = true; // announce once
            } else if pressed >= 2 {
                let _ = child.kill();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        if let Some(t) = copier {
            let _ = t.join();
        }
        let interrupted = self.interrupts.count() > base;
        match status {
            Ok(s) => match s.code() {
                Some(code) => Finished {
                    exit_code: Some(code),
                    outcome: format!("exited with code {code}"),
                    interrupted,
                },
                None => Finished {
                    exit_code: None,
                    outcome: signal_outcome(&s),
                    interrupted,
                },
            },
            Err(e) => Finished {
                exit_code: None,
                outcome: format!("could not be waited on ({e})"),
                interrupted,
            },
        }
    }
}

#[cfg(unix)]
fn signal_outcome(s: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match s.signal() {
        Some(sig) => format!("was killed by signal {sig}"),
        None => "ended without an exit code".into(),
    }
}

#[cfg(not(unix))]
fn signal_outcome(_: &std::process::ExitStatus) -> String {
    "ended without an exit code".into()
}

/// Live checks against AWS (EKS and RDS describe calls).
pub struct AwsProbe {
    pub aws: Aws,
}

impl Probe for AwsProbe {
    async fn observe(&self, check: &Check) -> Result<Observed> {
        let eks = || self.aws.eks();
        let rds = || self.aws.rds();
        Ok(match check {
            Check::EksCluster { name, .. } => match eks().describe_cluster(name).await? {
                Some(c) => Observed::Status(c.status),
                None => Observed::Absent,
            },
            Check::EksNodegroup { cluster, name, .. } => {
                match eks().describe_nodegroup(cluster, name).await? {
                    Some(n) => Observed::Nodegroup {
                        status: n.status,
                        desired_size: n.desired_size,
                        health_issues: n.health_issues,
                    },
                    None => Observed::Absent,
                }
            }
            Check::EksAddon { cluster, name, .. } => {
                match eks().describe_addon(cluster, name).await? {
                    Some(a) => Observed::Status(a.status),
                    None => Observed::Absent,
                }
            }
            Check::EksFargateProfile { cluster, name, .. } => {
                match eks().describe_fargate_profile(cluster, name).await? {
                    Some(p) => Observed::Status(p.status),
                    None => Observed::Absent,
                }
            }
            Check::RdsInstance { id, .. } => match rds().describe_db_instance(id).await? {
                Some(i) => Observed::Status(i.status),
                None => Observed::Absent,
            },
            Check::RdsCluster { id, .. } => match rds().describe_db_cluster(id).await? {
                Some(c) => Observed::Status(c.status),
                None => Observed::Absent,
            },
        })
    }
}

#[cfg(test)]
mod tests;
