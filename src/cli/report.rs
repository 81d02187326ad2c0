//! `stateward report merge DIR`: the shards' fleet reports as one.

use std::io::{self, Write};
use std::path::Path;

use crate::aws::Aws;
use crate::cli::{out_err, Context};
use crate::config::ObjectWrites;
use crate::error::{Error, Result};
use crate::fleet::report::{exit_code, merge, report_name, Merged, ReportPlace, ShardReport};
use crate::output::style::status_style;
use crate::output::{count, paint, Printer, Render};

use super::args::{ReportArgs, ReportCommand};

pub async fn run<W: Write>(
    ctx: &Context,
    args: ReportArgs,
    printer: &mut Printer<W>,
) -> Result<u8> {
    match args.command {
        ReportCommand::Merge { from } => {
            let place = parse_place(&from)?;
            let reports = match &place {
                ReportPlace::Dir(dir) => read_reports(dir)?,
                ReportPlace::S3 { bucket, prefix } => {
                    let aws = Aws::connect(&ctx.aws_access()?).await?;
                    read_s3_reports(&aws, bucket, prefix).await?
                }
            };
            let merged = merge(reports).map_err(|e| Error::Usage(format!("{place}: {e}")))?;
            let code = exit_code(&merged);
            printer.emit(&MergeReport(merged)).map_err(out_err)?;
            Ok(code)
        }
    }
}

/// `--report-to` / `report merge` place, as a usage error when it is not one.
pub(crate) fn parse_place(s: &str) -> Result<ReportPlace> {
    s.parse().map_err(Error::Usage)
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
        out.push(parse_report(&path.display().to_string(), &text)?);
    }
    Ok(out)
}

/// Every `*.json` directly under `s3://bucket/prefix/` (ListObjectsV2, then
/// one GET each), in key order, as fleet reports.
async fn read_s3_reports(aws: &Aws, bucket: &str, prefix: &str) -> Result<Vec<ShardReport>> {
    let b = aws.bucket(bucket);
    let under = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let mut keys: Vec<String> = b
        .list_keys(&under)
        .await?
        .into_iter()
        .filter(|k| k.ends_with(".json") && !k[under.len()..].contains('/'))
        .collect();
    keys.sort();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let fetched = b.get(&key, None, None).await?;
        let text = String::from_utf8_lossy(&fetched.bytes);
        out.push(parse_report(&format!("s3://{bucket}/{key}"), &text)?);
    }
    Ok(out)
}

fn parse_report(name: &str, text: &str) -> Result<ShardReport> {
    serde_json::from_str(text).map_err(|e| {
        Error::Usage(format!(
            "{name} is not a fleet report ({e}): keep only the files --report-to wrote in that place"
        ))
    })
}

/// Writes a fleet report's JSON to `place` as `<command>-I-of-N.json`
/// (`<command>.json` unsharded): into a directory (created), or under an S3
/// prefix with `writes` (the backend's SSE and ACL settings).
pub(crate) async fn write_report<T: serde::Serialize>(
    place: &ReportPlace,
    aws: &Aws,
    writes: &ObjectWrites,
    command: &str,
    shard: Option<crate::fleet::Shard>,
    report: &T,
) -> Result<()> {
    let name = report_name(command, shard);
    let mut text = serde_json::to_string_pretty(report).map_err(|e| out_err(e.into()))?;
    text.push('\n');
    match place {
        ReportPlace::Dir(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::WriteFile {
                path: dir.to_owned(),
                source,
            })?;
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| Error::WriteFile { path, source })
        }
        ReportPlace::S3 { bucket, prefix } => {
            aws.bucket(bucket)
                .with_writes(writes.clone())
                .put(
                    &ReportPlace::s3_key(prefix, &name),
                    text.into_bytes(),
                    false,
                )
                .await?;
            Ok(())
        }
    }
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
        let lineage = match m.summary.lineage_not_compared {
            Some(n) if n > 0 => format!(
                "; lineage not compared with the previous version for {}",
                count(n, "state", "states")
            ),
            _ => String::new(),
        };
        format!(
            "{}: {}{shards}: {} ok, {} with problems, {} not checked{lineage}",
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
