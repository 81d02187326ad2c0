//! `stateward restore REF | --last-good`.

use std::io::{self, Write};

use serde::Serialize;

use crate::cli::{confirm, locker, out_err, Context};
use crate::diff::{render_text, StateDiff};
use crate::error::Result;
use crate::exit;
use crate::output::{Format, Printer, Render};
use crate::restore::{self, Current, LiveCheck, LiveChoice, Outcome, PassedOver, Plan, Source};
use crate::store::refs::VersionRef;
use std::time::Duration;

use super::args::RestoreArgs;

pub async fn run<W: Write>(
    ctx: &Context,
    args: RestoreArgs,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let source = match &args.reference {
        Some(r) => match r.parse()? {
            // Read from the snapshot store (and checked) before the plan.
            VersionRef::Snapshot(_) => {
                let mut resolved = crate::cli::resolve_refs(ctx, &[r.as_str()]).await?;
                Source::Resolved(resolved.remove(0))
            }
            parsed => Source::Ref(parsed),
        },
        None => Source::LastGood,
    };
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;
    let bucket = aws.state_bucket(&target);
    let locker = locker(printer, &aws, &target)?;
    // --last-good weighs healthy versions against live AWS (the drift engine).
    let live_opts = match (&source, args.no_live) {
        (Source::LastGood, false) => Some(ctx.managed_scan(&target)?),
        _ => None,
    };
    let live = live_opts.as_ref().map(|opts| LiveCheck {
        aws: &aws,
        opts,
        prefer_live: args.prefer_live,
    });
    let plan = restore::plan(
        &bucket,
        &target.state_key(),
        &source,
        args.allow_lineage_change,
        args.show_sensitive,
        live.as_ref(),
        ctx.concurrency,
    )
    .await?;
    drop(live_opts); // clears the live comparison's progress line

    // The plan goes to stdout in text mode, to stderr in JSON mode.
    let mut explained = Vec::new();
    explain(&plan, &mut explained).map_err(out_err)?;
    if printer.format() == Format::Text {
        printer.raw(&explained).map_err(out_err)?;
    } else {
        io::stderr().write_all(&explained).map_err(out_err)?;
    }

    if args.dry_run {
        let report = Report::from_plan(&plan);
        if printer.format() == Format::Json {
            printer.emit(&report).map_err(out_err)?;
        } else {
            printer
                .raw(b"Dry run: nothing was written.\n")
                .map_err(out_err)?;
        }
        return Ok(exit::SUCCESS);
    }
    let lock_timeout = args.lock_timeout.unwrap_or(Duration::ZERO);
    // Nobody answers "y" to be told the state is locked.
    if lock_timeout.is_zero() {
        locker.check_free().await?;
    }
    confirm(
        &printer.stderr(),
        &format!(
            "Restore {} over s3://{}/{} as serial {}?",
            plan.chosen_label, plan.bucket, plan.key, plan.new_serial
        ),
        args.yes,
    )?;
    let passed_over = plan.passed_over.clone();
    let live = plan.live.clone();
    let json = printer.format() == Format::Json;
    let err = printer.stderr();
    // Progress goes with the report in text mode, to stderr in JSON mode. A
    // closed stdout is noticed when the report is written (and exits 0).
    let mut progress = |line: String| {
        if json {
            err.line(&line);
        } else {
            let _ = printer.line(&line);
        }
    };
    let outcome = restore::execute(
        plan,
        &bucket,
        &locker,
        &args.reason,
        lock_timeout,
        &mut progress,
    )
    .await?;
    printer
        .emit(&Report {
            outcome,
            dry_run: false,
            passed_over,
            live,
            current: None,
            changes: None,
        })
        .map_err(out_err)?;
    Ok(exit::SUCCESS)
}

fn explain(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Restore s3://{}/{}", plan.bucket, plan.key)?;
    match &plan.current {
        Current::Ok {
            version_id,
            serial,
            lineage,
        } => writeln!(
            out,
            "  current:    version {version_id} (serial {serial}, lineage {lineage})"
        )?,
        Current::Corrupt {
            version_id,
            problem,
        } => writeln!(
            out,
            "  current:    version {version_id} is corrupt: {problem}"
        )?,
        Current::Deleted { version_id } => {
            writeln!(out, "  current:    deleted (delete marker {version_id})")?
        }
    }
    writeln!(
        out,
        "  chosen:     {} (serial {}, lineage {})",
        plan.chosen_label, plan.chosen_serial, plan.lineage
    )?;
    if let Some(live) = &plan.live {
        writeln!(out, "  live AWS:   {}", live.reason)?;
        for c in &live.candidates {
            let mark = if plan.chosen_version.as_deref() == Some(c.version_id.as_str()) {
                "  <- chosen"
            } else {
                ""
            };
            writeln!(
                out,
                "    serial {:>4}  {}  {}/{} checked match, {} missing, {} changed{mark}",
                c.serial,
                c.version_id,
                c.live.matching,
                c.live.checked,
                c.live.missing,
                c.live.changed
            )?;
        }
        if let Some(b) = &live.better_match {
            writeln!(out)?;
            writeln!(
                out,
                "  NOTE: the older healthy version {} (serial {}) matches live AWS better than the one chosen.",
                b.version_id, b.serial
            )?;
            writeln!(
                out,
                "  Live differences are usually drift, so the newest healthy version is restored. To restore the better match instead:"
            )?;
            writeln!(out, "    {}", b.command)?;
            writeln!(out)?;
        }
    }
    if !plan.passed_over.is_empty() {
        writeln!(out, "  passed over (newer versions):")?;
        for p in &plan.passed_over {
            writeln!(out, "    {}: {}", p.version_id, p.reason)?;
        }
    }
    if plan.already_current {
        writeln!(
            out,
            "  The chosen version is already the current object: only the digest is checked."
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "  new serial: {} (one above the highest serial this lineage has used)",
        plan.new_serial
    )?;
    match &plan.diff {
        Some(d) if d.is_empty() => writeln!(out, "No resource or output changes from the current state.")?,
        Some(d) => {
            writeln!(out, "Changes from the current state to the restored one:")?;
            let mut buf = Vec::new();
            render_text(d, &mut buf)?;
            for line in String::from_utf8_lossy(&buf).lines() {
                writeln!(out, "  {line}")?;
            }
        }
        None => writeln!(out, "The current object is not a readable state: everything in the chosen version comes back.")?,
    }
    Ok(())
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Report {
    #[serde(flatten)]
    outcome: Outcome,
    dry_run: bool,
    /// With --last-good: the newer versions not chosen, and why.
    passed_over: Vec<PassedOver>,
    /// With --last-good: how the healthy versions compared with live AWS and why the chosen one;
    /// when live AWS was not compared (--no-live, nothing checkable, AWS unusable), `compared` is
    /// false and `reason` says why.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "LiveChoice")]
    live: Option<LiveChoice>,
    /// Dry run only: what the current object is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Current")]
    current: Option<Current>,
    /// Dry run only: the diff from the current state to the restored one, as `stateward diff`
    /// prints it (redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "StateDiff")]
    changes: Option<StateDiff>,
}

impl Report {
    fn from_plan(plan: &Plan) -> Report {
        Report {
            outcome: Outcome {
                restored_from: plan
                    .chosen_version
                    .clone()
                    .unwrap_or(plan.chosen_label.clone()),
                replaced_version: match &plan.current {
                    Current::Deleted { .. } => None,
                    other => Some(other.version_id().to_owned()),
                },
                new_version: None,
                serial: plan.new_serial,
                lineage: plan.lineage.clone(),
                digest_updated: false,
                undo: restore::undo_advice(
                    &plan.current,
                    plan.reference_lineage.as_deref(),
                    None,
                    &crate::hint::targeting(),
                ),
            },
            dry_run: true,
            passed_over: plan.passed_over.clone(),
            live: plan.live.clone(),
            current: Some(plan.current.clone()),
            changes: plan.diff.clone(),
        }
    }
}

impl Render for Report {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let o = &self.outcome;
        writeln!(
            out,
            "Restored {} as version {} (serial {}, lineage {}){}.",
            o.restored_from,
            o.new_version.as_deref().unwrap_or("(unversioned)"),
            o.serial,
            o.lineage,
            if o.digest_updated {
                ", digest updated"
            } else {
                ""
            }
        )?;
        writeln!(out, "{}", o.undo.note)?;
        Ok(())
    }
}
