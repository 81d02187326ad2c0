//! `stateward versions`: the history of the state object, with health.

use std::io::{self, Write};

use serde::Serialize;

use crate::cli::{out_err, Context};
use crate::error::Result;
use crate::exit;
use crate::output::style::status_style;
use crate::output::{count, paint, table, Printer, Render};

use crate::aws::s3::Bucket;
use crate::aws::Aws;
use crate::config::Target;
use crate::live;
use crate::live::LiveMatch;
use crate::store::{history, History, HistoryOptions, ReadDepth, VersionEntry};

use super::args::VersionsArgs;

/// How many versions `versions` shows without `--limit` or `--all`.
pub const DEFAULT_LIMIT: usize = 20;

pub async fn run<W: Write>(
    ctx: &Context,
    args: VersionsArgs,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let opts = HistoryOptions {
        limit: if args.all {
            None
        } else {
            Some(args.limit.unwrap_or(DEFAULT_LIMIT))
        },
        depth: if args.header_only {
            ReadDepth::Header
        } else {
            ReadDepth::Full
        },
        concurrency: args.fanout.get(),
    };
    if args.fleet.is_fleet() {
        return super::fleet::versions(ctx, &args, opts, printer).await;
    }
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;
    let bucket = aws.state_bucket(&target);
    let history = history(&bucket, &target.state_key(), opts).await?;
    let mut report = Report::from(history);
    if args.against_live {
        against_live(ctx, &target, &aws, &bucket, &mut report).await?;
    }
    printer.emit(&report).map_err(out_err)?;
    Ok(exit::SUCCESS)
}

/// `versions`' report: the history, each version with its `live` column
/// when asked for. Serialises exactly as [`History`] plus `live`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct Report {
    bucket: String,
    /// The state object's key (workspace applied).
    key: String,
    versions: Vec<Row>,
    /// Versions and delete markers in all; `versions` may be limited by --limit.
    total_versions: usize,
    /// Bytes of object content read to build the report.
    downloaded_bytes: u64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct Row {
    #[serde(flatten)]
    entry: VersionEntry,
    /// With `versions --against-live`: how the version matches live AWS.
    #[serde(skip_serializing_if = "LiveField::is_absent")]
    #[schemars(with = "Option<LiveMatch>")]
    live: LiveField,
}

/// The `live` field of a version: absent unless asked for; `null` for a
/// version that cannot be read.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default, schemars::JsonSchema)]
#[serde(untagged)]
enum LiveField {
    #[default]
    Absent,
    Value(Option<LiveMatch>),
}

impl LiveField {
    fn is_absent(&self) -> bool {
        matches!(self, LiveField::Absent)
    }
}

impl From<History> for Report {
    fn from(h: History) -> Report {
        Report {
            bucket: h.bucket,
            key: h.key,
            versions: h
                .versions
                .into_iter()
                .map(|entry| Row {
                    entry,
                    live: LiveField::Absent,
                })
                .collect(),
            total_versions: h.total_versions,
            downloaded_bytes: h.downloaded_bytes,
        }
    }
}

/// Compares every listed version with one shared live inventory.
async fn against_live(
    ctx: &Context,
    target: &Target,
    aws: &Aws,
    bucket: &Bucket,
    history: &mut Report,
) -> Result<()> {
    // Each readable version's resources (read one at a time: only one body held).
    let mut per_version: Vec<Option<Vec<live::StateResource>>> = Vec::new();
    for Row { entry: v, .. } in &history.versions {
        if v.version.delete_marker {
            per_version.push(None);
            continue;
        }
        // Through the version cache: the bodies `history` just read are
        // not downloaded again.
        let (bytes, _) = crate::store::read_whole(bucket, &history.key, &v.version).await?;
        per_version.push(
            crate::state::parse(&bytes)
                .ok()
                .map(|s| live::state_resources(&s)),
        );
    }
    let opts = super::drift::managed_check_options(ctx, target)?;
    let matches = live::match_versions(aws, &per_version, &opts).await?;
    for (entry, m) in history.versions.iter_mut().zip(matches) {
        entry.live = LiveField::Value(m);
    }
    Ok(())
}

impl Render for Report {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "s3://{}/{}", self.bucket, self.key)?;
        let dash = || "-".to_owned();
        let rows: Vec<Vec<String>> = self
            .versions
            .iter()
            .map(|row| {
                let v = &row.entry;
                let id = if v.version.is_latest {
                    format!("{} *", v.version.version_id)
                } else {
                    v.version.version_id.clone()
                };
                let when = crate::util::time::rfc3339(v.version.last_modified);
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
                    {
                        let s = v.health.status.as_str();
                        paint(status_style(s), s).to_string()
                    },
                ]
                .into_iter()
                .chain(match row.live {
                    LiveField::Absent => None,
                    LiveField::Value(None) => Some(dash()),
                    LiveField::Value(Some(m)) => {
                        Some(format!("{}/{} match", m.matching, m.resources))
                    }
                })
                .collect()
            })
            .collect();
        let mut header = vec![
            "VERSION",
            "LAST MODIFIED",
            "SIZE",
            "SERIAL",
            "LINEAGE",
            "RESOURCES",
            "STATUS",
        ];
        if self.versions.iter().any(|v| !v.live.is_absent()) {
            header.push("LIVE");
        }
        table(out, &header, &rows)?;
        let troubled: Vec<_> = self
            .versions
            .iter()
            .map(|row| &row.entry)
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
            // The window (`--limit`, default 20) leaves older versions out.
            writeln!(
                out,
                "{shown} of {} shown (* = current); {} older not shown: --limit N or --all to see them.",
                count(self.total_versions, "version", "versions"),
                self.total_versions - shown
            )?;
        } else {
            writeln!(
                out,
                "{} (* = current).",
                count(shown, "version", "versions")
            )?;
        }
        Ok(())
    }
}

fn short(lineage: &str) -> String {
    lineage.chars().take(8).collect()
}
