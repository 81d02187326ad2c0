//! `stateward drill [--scenario S] [--rto DURATION]`.

use std::io::{self, Write};

use serde::Serialize;

use crate::cli::{out_err, Context};
use crate::drill::{self, fmt_seconds, Report, Scenario};
use crate::error::Result;
use crate::exit;
use crate::output::{Printer, Render};

use super::args::DrillArgs;

pub async fn run<W: Write>(ctx: &Context, args: DrillArgs, printer: &mut Printer<W>) -> Result<u8> {
    let target = ctx.target()?;
    let objectives = ctx.settings.objectives()?;
    let rto = args.rto.unwrap_or(objectives.rto());
    let aws = ctx.aws(&target).await?;
    let err = printer.stderr();
    let mut progress = |line: String| err.line(&line);
    let scenarios: Vec<Scenario> = match args.scenario {
        Some(s) => vec![s],
        None => Scenario::ALL.to_vec(),
    };
    let mut reports = Vec::new();
    for s in &scenarios {
        let report = drill::run(
            &aws,
            &target,
            *s,
            rto,
            args.lock_timeout.unwrap_or_default(),
            ctx.concurrency,
            &mut progress,
        )
        .await?;
        if let Some(why) = &report.failure {
            err.line(format_args!("drill {} FAILED: {why}", s.as_str()));
        }
        reports.push(report);
    }
    let passed = reports.iter().all(|r| r.passed);
    if args.scenario.is_some() {
        printer.emit(&reports[0]).map_err(out_err)?;
    } else {
        printer
            .emit(&AllDrills {
                passed,
                drills: reports,
            })
            .map_err(out_err)?;
    }
    Ok(if passed {
        exit::SUCCESS
    } else {
        exit::DIFFERENCES
    })
}

/// Every scenario in turn (no `--scenario`): `{"passed","drills":[...]}`.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct AllDrills {
    passed: bool,
    drills: Vec<Report>,
}

impl Render for Report {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Drill {}: {} in {} (RTO {})",
            self.scenario.as_str(),
            if self.passed { "PASSED" } else { "FAILED" },
            fmt_seconds(self.total_seconds),
            fmt_seconds(self.rto_seconds)
        )?;
        for p in &self.phases {
            writeln!(out, "  {:<8} {}", p.name, fmt_seconds(p.seconds))?;
        }
        if let Some(why) = &self.failure {
            writeln!(out, "  failure: {why}")?;
        }
        Ok(())
    }
}

impl Render for AllDrills {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for d in &self.drills {
            d.render_text(out)?;
        }
        let failed = self.drills.iter().filter(|d| !d.passed).count();
        if failed == 0 {
            writeln!(out, "All {} drills passed.", self.drills.len())
        } else {
            writeln!(out, "{failed} of {} drills FAILED.", self.drills.len())
        }
    }
}
