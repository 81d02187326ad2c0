//! `stateward versions`: the history of the state object, with health.

use std::io::{self, Write};

use crate::cli::{out_err, Context};
use crate::error::Result;
use crate::exit;
use crate::output::{table, Printer, Render};
use crate::store::{history, History, HistoryOptions, ReadDepth};

use super::args::VersionsArgs;

pub async fn run<W: Write>(
    ctx: &Context,
    args: VersionsArgs,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;
    let bucket = aws.bucket(&target.bucket);
    let opts = HistoryOptions {
        limit: args.limit,
        depth: if args.header_only {
            ReadDepth::Header
        } else {
            ReadDepth::Full
        },
        concurrency: args.concurrency,
    };
    let history = history(&bucket, &target.state_key(), opts).await?;
    printer.emit(&history).map_err(out_err)?;
    Ok(exit::SUCCESS)
}

impl Render for History {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "s3://{}/{}", self.bucket, self.key)?;
        let dash = || "-".to_owned();
        let rows: Vec<Vec<String>> = self
            .versions
            .iter()
            .map(|v| {
                let id = if v.version.is_latest {
                    format!("{} *", v.version.version_id)
                } else {
                    v.version.version_id.clone()
                };
                let when = v
                    .version
                    .last_modified
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                vec![
                    id,
                    when,
                    if v.version.delete_marker {
                        "(delete marker)".into()
                    } else {
                        v.version.size.to_string()
                    },
                    v.serial.map_or_else(dash, |s| s.to_string()),
                    v.lineage.clone().map_or_else(dash, |l| short(&l)),
                    v.resource_count.map_or_else(dash, |n| n.to_string()),
                    v.health.status.as_str().to_owned(),
                ]
            })
            .collect();
        table(
            out,
            &[
                "VERSION",
                "LAST MODIFIED",
                "SIZE",
                "SERIAL",
                "LINEAGE",
                "RESOURCES",
                "STATUS",
            ],
            &rows,
        )?;
        let troubled: Vec<_> = self
            .versions
            .iter()
            .filter(|v| !v.health.problems.is_empty())
            .collect();
        if !troubled.is_empty() {
            writeln!(out)?;
            writeln!(out, "Problems:")?;
            for v in troubled {
                for p in &v.health.problems {
                    writeln!(out, "  {}: {p}", v.version.version_id)?;
                }
            }
        }
        writeln!(out)?;
        let shown = self.versions.len();
        if shown < self.total_versions {
            writeln!(
                out,
                "{shown} of {} versions shown (* = current); use --limit to see more.",
                self.total_versions
            )?;
        } else {
            writeln!(out, "{shown} versions (* = current).")?;
        }
        Ok(())
    }
}

fn short(lineage: &str) -> String {
    lineage.chars().take(8).collect()
}
