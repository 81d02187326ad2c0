//! `stateward report merge DIR`: the shards' fleet reports as one.

use std::io::{self, Write};
use std::path::Path;

use crate::cli::out_err;
use crate::error::{Error, Result};
use crate::fleet::report::{exit_code, merge, Merged, ShardReport};
use crate::output::style::status_style;
use crate::output::{count, paint, Printer, Render};

use super::args::{ReportArgs, ReportCommand};

pub fn run<W: Write>(args: ReportArgs, printer: &mut Printer<W>) -> Result<u8> {
    match args.command {
        ReportCommand::Merge { dir } => {
            let reports = read_reports(&dir)?;
            let merged = merge(reports).map_err(Error::Usage)?;
            let code = exit_code(&merged);
            printer.emit(&MergeReport(merged)).map_err(out_err)?;
            Ok(code)
        }
    }
}

/// Every `*.json` of `dir`, in name order, as fleet reports.
fn read_reports(dir: &Path) -> Result<Vec<ShardReport>> {
    let read_dir = std::fs::read_dir(dir).map_err(|source| Error::ReadFile {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths: Vec<_> = read_dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|source| Error::ReadFile {
            path: path.clone(),
            source,
        })?;
        let report: ShardReport = serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "{} is not a fleet report ({e}): keep only the files --report-to wrote in that directory",
                path.display()
            ))
        })?;
        out.push(report);
    }
    Ok(out)
}

/// Writes a fleet report's JSON into `dir` as `<command>-I-of-N.json`
/// (`<command>.json` unsharded), creating the directory.
pub(crate) fn write_report<T: serde::Serialize>(
    dir: &Path,
    command: &str,
    shard: Option<crate::fleet::Shard>,
    report: &T,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::WriteFile {
        path: dir.to_owned(),
        source,
    })?;
    let name = match shard {
        Some(s) => format!("{command}-{}-of-{}.json", s.index, s.count),
        None => format!("{command}.json"),
    };
    let path = dir.join(name);
    let mut text = serde_json::to_string_pretty(report).map_err(|e| out_err(e.into()))?;
    text.push('\n');
    std::fs::write(&path, text).map_err(|source| Error::WriteFile { path, source })
}

/// A combined fleet report (of `report merge` or one fleet run).
#[derive(serde::Serialize)]
#[serde(transparent)]
pub(crate) struct MergeReport(pub Merged);

impl MergeReport {
    fn headline(&self) -> String {
        let m = &self.0;
        let shards = match m.shards_expected {
            Some(n) => format!(" from {} of {n} shards", m.shards_found.len()),
            None => String::new(),
        };
        format!(
            "{}: {}{shards}: {} ok, {} with problems, {} not checked",
            m.command,
            count(m.summary.states, "state", "states"),
            m.summary.ok,
            m.summary.with_problems,
            m.summary.unchecked
        )
    }

    fn verdict(e: &crate::fleet::report::Entry) -> &'static str {
        if e.unchecked {
            "unchecked"
        } else if e.problems.is_empty() {
            "ok"
        } else {
            "fail"
        }
    }
}

impl Render for MergeReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let m = &self.0;
        for s in &m.missing_shards {
            writeln!(
                out,
                "{} shard {s} has no report",
                paint(status_style("fail"), "missing:")
            )?;
        }
        for e in &m.errors {
            writeln!(out, "{} {e}", paint(status_style("fail"), "error:"))?;
        }
        for e in &m.states {
            let v = Self::verdict(e);
            writeln!(
                out,
                "{}  s3://{}/{}",
                paint(
                    status_style(if v == "unchecked" { "error" } else { v }),
                    format!("{v:<9}")
                ),
                e.bucket,
                e.key
            )?;
            for p in &e.problems {
                writeln!(out, "           - {p}")?;
            }
        }
        writeln!(out)?;
        writeln!(out, "{}", self.headline())
    }

    fn render_markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        let m = &self.0;
        writeln!(out, "### Fleet report: {}", m.command)?;
        writeln!(out)?;
        writeln!(out, "{}", self.headline())?;
        writeln!(out)?;
        for s in &m.missing_shards {
            writeln!(out, "- **missing:** shard {s} has no report")?;
        }
        for e in &m.errors {
            writeln!(out, "- **error:** {e}")?;
        }
        let bad: Vec<_> = m
            .states
            .iter()
            .filter(|e| Self::verdict(e) != "ok")
            .collect();
        if !bad.is_empty() {
            writeln!(out)?;
            writeln!(out, "| state | outcome | problems |")?;
            writeln!(out, "|---|---|---|")?;
            for e in bad {
                writeln!(
                    out,
                    "| s3://{}/{} | {} | {} |",
                    e.bucket,
                    e.key,
                    Self::verdict(e),
                    e.problems.join("<br>").replace('|', "\\|")
                )?;
            }
        }
        Ok(())
    }
}
