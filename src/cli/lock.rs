//! `stateward lock status|acquire|release` and `stateward digest status|repair`.

use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{confirm, out_err, Context};
use crate::error::{Error, LockProblem, Refusal, Result};
use crate::exit;
use crate::hint;
use crate::lock::{
    self, describe_holder, human_age, release_target, DigestStatus, LockBackend, LockInfo,
    LockStatus, Locker, ReleaseTarget,
};
use crate::output::{Printer, Render};
use crate::restore::{self, CurrentProblem};

use super::args::{DigestCommand, LockCommand};

async fn locker<W: Write>(ctx: &Context, printer: &Printer<W>) -> Result<Locker> {
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;
    crate::cli::locker(printer, &aws, &target)
}

pub async fn run_lock<W: Write>(
    ctx: &Context,
    cmd: LockCommand,
    rebuild: bool,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let locker = if rebuild {
        let target = ctx.target()?;
        let aws = ctx.aws(&target).await?;
        Locker::for_rebuild(&aws, &target)?.with_wait_notice(crate::cli::shows_progress(printer))
    } else {
        locker(ctx, printer).await?
    };
    // Advice about the rebuild lock names it with `--rebuild`.
    let rebuild_flag: &[&str] = if rebuild { &["--rebuild"] } else { &[] };
    match cmd {
        LockCommand::Status => {
            let status = locker.status(OffsetDateTime::now_utc()).await?;
            // Scriptable "is it locked?": 3 when someone holds it.
            let code = if status.locked {
                exit::LOCKED
            } else {
                exit::SUCCESS
            };
            let release = status.lock.as_ref().map(|l| {
                hint::command(&[&["lock", "release", l.id.as_str()], rebuild_flag].concat())
            });
            printer
                .emit(&StatusReport {
                    path: &locker.path,
                    status,
                    release,
                })
                .map_err(out_err)?;
            Ok(code)
        }
        LockCommand::Acquire {
            reason,
            lock_timeout,
        } => {
            let info = LockInfo::new(
                &locker.path,
                "stateward-lock",
                &reason,
                OffsetDateTime::now_utc(),
            );
            locker
                .acquire(&info, lock_timeout.unwrap_or(Duration::ZERO))
                .await?;
            // Only the ID on stdout (`ID=$(stateward lock acquire)`); the
            // sentence on stderr.
            let held: Vec<String> = locker
                .configured()
                .iter()
                .map(ToString::to_string)
                .collect();
            printer.stderr().line(format_args!(
                "Locked {} ({}). Release with: {}",
                locker.path,
                held.join(" and "),
                hint::command(&[&["lock", "release", info.id.as_str()], rebuild_flag].concat())
            ));
            printer
                .emit(&Acquired {
                    id: info.id.clone(),
                })
                .map_err(out_err)?;
            Ok(exit::SUCCESS)
        }
        LockCommand::Release {
            id,
            broken,
            yes,
            dry_run,
        } => release(&locker, id, broken, yes, dry_run, rebuild_flag, printer).await,
    }
}

async fn release<W: Write>(
    locker: &Locker,
    id: Option<String>,
    broken: bool,
    yes: bool,
    dry_run: bool,
    rebuild_flag: &[&str],
    printer: &mut Printer<W>,
) -> Result<u8> {
    let now = OffsetDateTime::now_utc();
    let status = locker.status(now).await?;
    let current = match release_target(
        &status,
        &locker.path,
        id.as_deref(),
        broken,
        rebuild_flag,
        now,
    )? {
        ReleaseTarget::Broken => {
            let err = printer.stderr();
            err.line(format_args!(
                "About to remove the broken lock on {}:",
                locker.path
            ));
            for p in &status.problems {
                err.line(format_args!("  {p}"));
            }
            if dry_run {
                printer
                    .emit(&Released {
                        released: None,
                        broken_removed: vec![],
                        dry_run: true,
                    })
                    .map_err(out_err)?;
                return Ok(exit::SUCCESS);
            }
            confirm(&printer.stderr(), "Remove it?", yes)?;
            let removed = locker.release_broken().await?;
            let report = Released {
                released: None,
                broken_removed: removed
                    .into_iter()
                    .map(|(b, raw)| BrokenRemoved { backend: b, raw })
                    .collect(),
                dry_run: false,
            };
            printer.emit(&report).map_err(out_err)?;
            return Ok(exit::SUCCESS);
        }
        ReleaseTarget::Held(current) => current,
    };
    let current = &current;
    let id = current.id.clone();
    let err = printer.stderr();
    err.line(format_args!(
        "About to remove this lock on {}:",
        locker.path
    ));
    err.line(format_args!("  {}", describe_holder(current, now)));
    if dry_run {
        printer
            .emit(&Released {
                released: Some(current.clone()),
                broken_removed: vec![],
                dry_run: true,
            })
            .map_err(out_err)?;
        return Ok(exit::SUCCESS);
    }
    confirm(
        &printer.stderr(),
        "Remove it? Whoever holds it may still be writing state.",
        yes,
    )?;
    let removed = locker.release(&id).await?;
    printer
        .emit(&Released {
            released: Some(removed),
            broken_removed: vec![],
            dry_run: false,
        })
        .map_err(out_err)?;
    Ok(exit::SUCCESS)
}

pub async fn run_digest<W: Write>(
    ctx: &Context,
    cmd: DigestCommand,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;
    let locker = crate::cli::locker(printer, &aws, &target)?;
    let bucket = aws.state_bucket(&target);
    let key = target.state_key();
    match cmd {
        DigestCommand::Status => {
            let status = locker.digest_status().await?;
            let problem = restore::current_problem(&bucket, &key).await?;
            let code = if status.consistent && problem.is_none() {
                exit::SUCCESS
            } else {
                exit::DIFFERENCES
            };
            let fix = digest_fix(&status, problem.as_ref());
            printer
                .emit(&DigestReport {
                    status,
                    current_problem: problem,
                    fix,
                })
                .map_err(out_err)?;
            Ok(code)
        }
        DigestCommand::Repair {
            yes,
            dry_run,
            lock_timeout,
            force,
        } => {
            if locker
                .configured()
                .iter()
                .all(|b| *b != LockBackend::Dynamodb)
            {
                return Err(LockProblem::NoDigestKept.into());
            }
            let before = locker.digest_status().await?;
            if !before.consistent && !force {
                if let Some(p) = restore::current_problem(&bucket, &key).await? {
                    return Err(Error::Refused(Refusal::UnusableCurrent {
                        state: format!("s3://{}/{key}", target.bucket),
                        message: format!(
                            "the current state s3://{}/{key} is {}: {}; restore the last good version with `{}` instead (or pass --force to repair the digest anyway)",
                            target.bucket,
                            p.describe(),
                            p.why_not_repair(),
                            hint::command(&["restore", "--last-good"])
                        ),
                    }));
                }
            }
            if dry_run || before.consistent {
                let report = Repair::plan(&before, dry_run);
                printer.emit(&report).map_err(out_err)?;
                return Ok(exit::SUCCESS);
            }
            let timeout = lock_timeout.unwrap_or(Duration::ZERO);
            // Nobody answers "y" to be told the state is locked.
            if timeout.is_zero() {
                locker.check_free().await?;
            }
            confirm(
                &printer.stderr(),
                &format!(
                    "Set the stored digest of {} from {} to {}?",
                    locker.path,
                    before.stored.as_deref().unwrap_or("(none)"),
                    before
                        .actual
                        .as_deref()
                        .unwrap_or("(delete the item: the object is gone)")
                ),
                yes,
            )?;
            let done = lock::repair_digest(&locker, timeout).await?;
            let report = Repair {
                before: done.before,
                after: done.after,
                changed: done.changed,
                dry_run: false,
            };
            printer.emit(&report).map_err(out_err)?;
            Ok(exit::SUCCESS)
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct StatusReport<'a> {
    #[serde(skip)]
    path: &'a str,
    #[serde(flatten)]
    status: LockStatus,
    /// The command that removes the lock, should its holder be gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    release: Option<String>,
}

impl Render for StatusReport<'_> {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let s = &self.status;
        let configured: Vec<String> = s.configured.iter().map(ToString::to_string).collect();
        if !s.locked {
            return writeln!(
                out,
                "{} is not locked (checked {}).",
                self.path,
                configured.join(" and ")
            );
        }
        let held: Vec<String> = s.backends.iter().map(ToString::to_string).collect();
        writeln!(out, "{} is LOCKED ({}).", self.path, held.join(" and "))?;
        if s.mechanisms.len() > 1 {
            for m in &s.mechanisms {
                let id = m.id.as_deref().map(|i| format!(" {i}")).unwrap_or_default();
                writeln!(out, "  {:<14}{}{id}", format!("{}:", m.backend), m.state)?;
            }
        }
        if let Some(l) = &s.lock {
            let age = s
                .age_seconds
                .map(|a| format!(" ({} ago)", human_age(a)))
                .unwrap_or_default();
            writeln!(out, "  ID:        {}", l.id)?;
            writeln!(out, "  Operation: {}", l.operation)?;
            writeln!(out, "  Who:       {}", l.who)?;
            writeln!(out, "  Version:   {}", l.version)?;
            writeln!(out, "  Created:   {}{age}", l.created)?;
            if !l.info.is_empty() {
                writeln!(out, "  Info:      {}", l.info)?;
            }
            writeln!(out, "  Path:      {}", l.path)?;
        }
        for p in &s.problems {
            writeln!(out, "  problem: {p}")?;
        }
        if let Some(release) = &self.release {
            writeln!(
                out,
                "Nothing releases a lock by itself. If its holder is gone: {release}"
            )?;
        }
        Ok(())
    }
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Acquired {
    id: String,
}

impl Render for Acquired {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.id)
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct BrokenRemoved {
    backend: LockBackend,
    raw: String,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Released {
    released: Option<LockInfo>,
    broken_removed: Vec<BrokenRemoved>,
    dry_run: bool,
}

impl Render for Released {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let verb = if self.dry_run {
            "Would remove"
        } else {
            "Removed"
        };
        if let Some(l) = &self.released {
            writeln!(out, "{verb} lock {} ({} by {}).", l.id, l.operation, l.who)?;
        }
        for b in &self.broken_removed {
            writeln!(
                out,
                "{verb} the broken {} lock (Info was {:?}).",
                b.backend, b.raw
            )?;
        }
        if self.dry_run && self.released.is_none() && self.broken_removed.is_empty() {
            writeln!(out, "{verb} the broken lock shown above.")?;
        }
        Ok(())
    }
}

/// `digest status`: the digest, what is wrong with the current version (if
/// anything), and the exact command that fixes it.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct DigestReport {
    #[serde(flatten)]
    status: DigestStatus,
    /// The current version is deleted, corrupt or of another lineage.
    current_problem: Option<CurrentProblem>,
    /// The command that fixes what is wrong (`None`: nothing is).
    fix: Option<String>,
}

/// The fix for a digest status: `restore --last-good` whenever the current
/// version is deleted, corrupt or of another lineage (repairing the digest
/// would make Terraform accept it), else `digest repair` for a mismatch.
fn digest_fix(status: &DigestStatus, problem: Option<&CurrentProblem>) -> Option<String> {
    match problem {
        Some(_) => Some(hint::command(&["restore", "--last-good"])),
        None if !status.consistent => Some(hint::command(&["digest", "repair"])),
        None => None,
    }
}

impl Render for DigestReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let s = &self.status;
        let show = |d: &Option<String>, none: &str| d.clone().unwrap_or_else(|| none.to_owned());
        writeln!(out, "stored digest: {}", show(&s.stored, "(none)"))?;
        writeln!(
            out,
            "actual md5:    {}",
            show(&s.actual, "(no current object)")
        )?;
        if let Some(p) = &self.current_problem {
            writeln!(out, "The current state is {}.", p.describe())?;
            writeln!(out, "Do not repair the digest: {}.", p.why_not_repair())?;
            return writeln!(
                out,
                "Fix: {}",
                self.fix
                    .as_deref()
                    .unwrap_or("stateward restore --last-good")
            );
        }
        if !s.digest_kept {
            writeln!(
                out,
                "This state keeps no digest (no DynamoDB table): nothing to check."
            )
        } else if s.stored.is_none() {
            writeln!(
                out,
                "No digest is stored: Terraform skips the check. Consistent."
            )
        } else if s.consistent {
            writeln!(out, "Consistent: Terraform will accept the current object.")
        } else {
            writeln!(
                out,
                "MISMATCH: Terraform will fail with \"state data in S3 does not have the expected content\". Fix: {}",
                self.fix.as_deref().unwrap_or("stateward digest repair")
            )
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Repair {
    before: Option<String>,
    /// The digest after repair; null when the item was (or would be) deleted because the object is
    /// gone.
    after: Option<String>,
    changed: bool,
    dry_run: bool,
}

impl Repair {
    fn plan(s: &DigestStatus, dry_run: bool) -> Repair {
        Repair {
            before: s.stored.clone(),
            after: if s.consistent {
                s.stored.clone()
            } else {
                s.actual.clone()
            },
            changed: false,
            dry_run,
        }
    }
}

impl Render for Repair {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let show = |d: &Option<String>| d.clone().unwrap_or_else(|| "(no item)".to_owned());
        writeln!(out, "before: {}", show(&self.before))?;
        writeln!(out, "after:  {}", show(&self.after))?;
        if self.dry_run {
            writeln!(out, "Dry run: nothing was changed.")
        } else if self.changed {
            writeln!(
                out,
                "Digest repaired: Terraform will accept the current object."
            )
        } else {
            writeln!(out, "Already consistent: nothing to repair.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(stored: Option<&str>, actual: Option<&str>, consistent: bool) -> DigestStatus {
        DigestStatus {
            stored: stored.map(str::to_owned),
            actual: actual.map(str::to_owned),
            consistent,
            digest_kept: true,
        }
    }

    /// Advice that must never hurt: a deleted, corrupt or foreign current
    /// version is fixed by `restore --last-good`, never by `digest repair`.
    #[test]
    fn the_digest_fix_never_repairs_an_unhealthy_current_version() {
        let deleted = CurrentProblem::Deleted {
            version_id: "dm".into(),
        };
        let corrupt = CurrentProblem::Corrupt {
            version_id: "c".into(),
            problem: "truncated".into(),
        };
        let foreign = CurrentProblem::ForeignLineage {
            version_id: "f".into(),
            lineage: "X".into(),
            history_lineage: "L".into(),
        };
        let mismatch = status(Some("a"), Some("b"), false);
        let cases: Vec<(&str, DigestStatus, Option<&CurrentProblem>, Option<&str>)> = vec![
            (
                "consistent, healthy",
                status(Some("a"), Some("a"), true),
                None,
                None,
            ),
            (
                "mismatch, healthy",
                mismatch.clone(),
                None,
                Some("stateward digest repair"),
            ),
            (
                "deleted",
                status(Some("a"), None, false),
                Some(&deleted),
                Some("stateward restore --last-good"),
            ),
            (
                "corrupt, mismatch",
                mismatch.clone(),
                Some(&corrupt),
                Some("stateward restore --last-good"),
            ),
            (
                "foreign, consistent",
                status(Some("a"), Some("a"), true),
                Some(&foreign),
                Some("stateward restore --last-good"),
            ),
        ];
        for (name, s, p, want) in cases {
            assert_eq!(digest_fix(&s, p).as_deref(), want, "{name}");
        }
    }
}
