//! `stateward lock status|acquire|release` and `stateward digest status|repair`.

use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{confirm, out_err, Context};
use crate::error::{Error, Result};
use crate::exit;
use crate::lock::{
    self, describe_holder, human_age, DigestStatus, LockBackend, LockInfo, LockStatus, Locker,
};
use crate::output::{Printer, Render};

use super::args::{DigestCommand, LockCommand};

async fn locker(ctx: &Context) -> Result<Locker> {
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;
    Locker::new(&aws, &target)
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
        Locker::for_rebuild(&aws, &target)?
    } else {
        locker(ctx).await?
    };
    match cmd {
        LockCommand::Status => {
            let status = locker.status(OffsetDateTime::now_utc()).await?;
            printer
                .emit(&StatusReport {
                    path: &locker.path,
                    status,
                })
                .map_err(out_err)?;
            Ok(exit::SUCCESS)
        }
        LockCommand::Acquire { reason, timeout } => {
            let info = LockInfo::new(
                &locker.path,
                "stateward-lock",
                &reason,
                OffsetDateTime::now_utc(),
            );
            locker
                .acquire(&info, timeout.unwrap_or(Duration::ZERO))
                .await?;
            printer
                .emit(&Acquired {
                    id: info.id.clone(),
                    path: locker.path.clone(),
                    backends: locker.configured(),
                })
                .map_err(out_err)?;
            Ok(exit::SUCCESS)
        }
        LockCommand::Release {
            id,
            broken,
            yes,
            dry_run,
        } => release(&locker, id, broken, yes, dry_run, printer).await,
    }
}

async fn release<W: Write>(
    locker: &Locker,
    id: Option<String>,
    broken: bool,
    yes: bool,
    dry_run: bool,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let now = OffsetDateTime::now_utc();
    let status = locker.status(now).await?;
    if broken {
        if !status.broken {
            return Err(Error::Usage(format!(
                "there is no broken lock on {}; `stateward lock status` shows the lock",
                locker.path
            )));
        }
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
    let id = id.unwrap_or_default();
    let Some(current) = &status.lock else {
        return Err(Error::Usage(if status.broken {
            format!("the lock on {} is broken (its Info cannot be read); remove it with `stateward lock release --broken`", locker.path)
        } else {
            format!(
                "the state {} is not locked; nothing to release",
                locker.path
            )
        }));
    };
    if current.id != id {
        return Err(Error::Usage(format!(
            "lock ID {id:?} does not match the existing lock: the state {} is locked by {}; pass that ID to release it",
            locker.path,
            describe_holder(current, now)
        )));
    }
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
    let locker = locker(ctx).await?;
    match cmd {
        DigestCommand::Status => {
            let status = locker.digest_status().await?;
            let code = if status.consistent {
                exit::SUCCESS
            } else {
                exit::DIFFERENCES
            };
            printer.emit(&status).map_err(out_err)?;
            Ok(code)
        }
        DigestCommand::Repair {
            yes,
            dry_run,
            lock_timeout,
        } => {
            if locker
                .configured()
                .iter()
                .all(|b| *b != LockBackend::Dynamodb)
            {
                return Err(Error::Usage(
                    "this state keeps no md5 digest (no DynamoDB table is configured): there is nothing to repair".into(),
                ));
            }
            let before = locker.digest_status().await?;
            if dry_run || before.consistent {
                let report = Repair::plan(&before, dry_run);
                printer.emit(&report).map_err(out_err)?;
                return Ok(exit::SUCCESS);
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
            let timeout = lock_timeout.unwrap_or(Duration::ZERO);
            let report = lock::with_lock(
                &locker,
                "stateward-digest-repair",
                "",
                timeout,
                async |guard| {
                    // Re-read under the lock: the object may have changed meanwhile.
                    let now = locker.digest_status().await?;
                    match &now.actual {
                        Some(md5) => guard.put_digest(md5).await?,
                        None => guard.delete_digest().await?,
                    };
                    Ok(Repair {
                        before: now.stored.clone(),
                        after: now.actual.clone(),
                        changed: !now.consistent,
                        dry_run: false,
                    })
                },
            )
            .await?;
            printer.emit(&report).map_err(out_err)?;
            Ok(exit::SUCCESS)
        }
    }
}

#[derive(Serialize)]
struct StatusReport<'a> {
    #[serde(skip)]
    path: &'a str,
    #[serde(flatten)]
    status: LockStatus,
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
        if let Some(l) = &s.lock {
            writeln!(
                out,
                "Nothing releases a lock by itself. If its holder is gone: stateward lock release {}",
                l.id
            )?;
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct Acquired {
    id: String,
    #[serde(skip)]
    path: String,
    #[serde(skip)]
    backends: Vec<LockBackend>,
}

impl Render for Acquired {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let held: Vec<String> = self.backends.iter().map(ToString::to_string).collect();
        writeln!(out, "{}", self.id)?;
        writeln!(
            out,
            "Locked {} ({}). Release with: stateward lock release {}",
            self.path,
            held.join(" and "),
            self.id
        )
    }
}

#[derive(Serialize)]
struct BrokenRemoved {
    backend: LockBackend,
    raw: String,
}

#[derive(Serialize)]
struct Released {
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

impl Render for DigestStatus {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let show = |d: &Option<String>, none: &str| d.clone().unwrap_or_else(|| none.to_owned());
        writeln!(out, "stored digest: {}", show(&self.stored, "(none)"))?;
        writeln!(
            out,
            "actual md5:    {}",
            show(&self.actual, "(no current object)")
        )?;
        if !self.digest_kept {
            writeln!(
                out,
                "This state keeps no digest (no DynamoDB table): nothing to check."
            )
        } else if self.stored.is_none() {
            writeln!(
                out,
                "No digest is stored: Terraform skips the check. Consistent."
            )
        } else if self.consistent {
            writeln!(out, "Consistent: Terraform will accept the current object.")
        } else {
            writeln!(
                out,
                "MISMATCH: Terraform will fail with \"state data in S3 does not have the expected content\". Fix: stateward digest repair"
            )
        }
    }
}

#[derive(Serialize)]
struct Repair {
    before: Option<String>,
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
