//! `stateward doctor`: one report of disaster-recovery readiness checks.

use std::io::{self, Write};

use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{out_err, Context};
use crate::doctor::{self, gather::gather, Check, CheckStatus, Objectives, Summary};
use crate::error::Result;
use crate::exit;
use crate::output::style::status_style;
use crate::output::{count, paint, Printer, Render};

use super::args::DoctorArgs;

pub async fn run<W: Write>(
    ctx: &Context,
    args: DoctorArgs,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let mut objectives =
        Objectives::from_config(&ctx.settings.objectives()?, args.stale_lock_after);
    objectives.rpo = args.rpo.unwrap_or(objectives.rpo);
    objectives.rto = args.rto.unwrap_or(objectives.rto);
    objectives.min_backup_retention_days = args
        .min_backup_retention_days
        .unwrap_or(objectives.min_backup_retention_days);
    objectives.noncurrent_retention_days = args
        .noncurrent_retention_days
        .unwrap_or(objectives.noncurrent_retention_days);

    if args.fleet.is_fleet() {
        return super::fleet::doctor(ctx, &args.fleet, &objectives, printer).await;
    }
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;
    let store = if ctx.settings.snapshot_store_configured()? {
        Some(super::snapshot::open_store(ctx).await?)
    } else {
        None
    };
    let now = OffsetDateTime::now_utc();
    let progress = crate::output::Progress::spinner(
        "checking the bucket, locks, digest, state, snapshots, RDS and EKS",
    );
    let facts = gather(&aws, &target, store.as_ref(), now, ctx.concurrency).await;
    progress.finish();
    let checks = doctor::checks(&facts, &objectives, now);
    let summary = doctor::summarise(&checks);
    let code = if summary.fail > 0 {
        exit::DIFFERENCES
    } else {
        exit::SUCCESS
    };
    printer
        .emit(&Report {
            state: format!("s3://{}/{}", target.bucket, target.state_key()),
            checks,
            summary,
        })
        .map_err(out_err)?;
    Ok(code)
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Report {
    #[serde(skip)]
    state: String,
    checks: Vec<Check>,
    summary: Summary,
}

fn mark(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "PASS",
        CheckStatus::Warn => "WARN",
        CheckStatus::Fail => "FAIL",
    }
}

impl Render for Report {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "Disaster-recovery readiness of {}", self.state)?;
        // The detail column starts after the longest check id.
        let width = self
            .checks
            .iter()
            .map(|c| c.id.chars().count())
            .max()
            .unwrap_or(0);
        for c in &self.checks {
            let m = mark(c.status);
            let styled = paint(status_style(&m.to_lowercase()), m);
            writeln!(out, "{styled}  {:<width$}  {}", c.id, c.detail)?;
        }
        let s = &self.summary;
        writeln!(
            out,
            "{} passed, {}, {} failed",
            s.pass,
            count(s.warn, "warning", "warnings"),
            s.fail
        )
    }

    fn render_markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "### Disaster-recovery readiness of `{}`\n", self.state)?;
        writeln!(out, "| | check | detail |")?;
        writeln!(out, "|---|---|---|")?;
        for c in &self.checks {
            let icon = match c.status {
                CheckStatus::Pass => "✅",
                CheckStatus::Warn => "⚠️",
                CheckStatus::Fail => "❌",
            };
            writeln!(
                out,
                "| {icon} | `{}` | {} |",
                c.id,
                c.detail.replace('|', "\\|")
            )?;
        }
        let s = &self.summary;
        writeln!(
            out,
            "\n**{} passed, {}, {} failed**",
            s.pass,
            count(s.warn, "warning", "warnings"),
            s.fail
        )
    }
}
