//! `stateward versions`: the history of the state object, with health.

use std::io::{self, Write};

use serde::Serialize;

use crate::cli::{out_err, Context};
use crate::error::Result;
use crate::exit;
use crate::output::style::status_style;
use crate::output::{count, paint, table, table_line, Format, Printer, Render};

use crate::aws::s3::Bucket;
use crate::aws::Aws;
use crate::config::Target;
use crate::live;
use crate::live::LiveMatch;
use crate::store::{
    history, history_streamed, History, HistoryEvent, HistoryOptions, ObjectVersion, ReadDepth,
    VersionEntry,
};

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
        keep_newest: false,
    };
    if args.fleet.is_fleet() {
        return super::fleet::versions(ctx, &args, opts, printer).await;
    }
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;
    let bucket = aws.state_bucket(&target);
    if printer.format() == Format::Text && !args.against_live {
        return run_streamed(&bucket, &target.state_key(), opts, printer).await;
    }
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
    let listed: Vec<&ObjectVersion> = history.versions.iter().map(|r| &r.entry.version).collect();
    let opts = ctx.managed_scan(target)?;
    let matches = live::match_listed(aws, bucket, &history.key, &listed, &opts).await?;
    for (entry, m) in history.versions.iter_mut().zip(matches) {
        entry.live = LiveField::Value(m);
    }
    Ok(())
}

/// The columns of the text table (LIVE added with `--against-live`).
const COLUMNS: [&str; 7] = [
    "VERSION",
    "LAST MODIFIED",
    "SIZE",
    "SERIAL",
    "LINEAGE",
    "RESOURCES",
    "STATUS",
];

/// The text cells of a version's row (without LIVE).
fn cells(v: &VersionEntry) -> Vec<String> {
    let dash = || "-".to_owned();
    vec![
        id_cell(&v.version),
        crate::util::time::rfc3339(v.version.last_modified),
        size_cell(&v.version),
        v.serial.map_or_else(dash, |s| s.to_string()),
        v.lineage.clone().map_or_else(dash, |l| short(&l)),
        v.resource_count.map_or_else(dash, |n| n.to_string()),
        {
            let s = v.health.status.as_str();
            paint(status_style(s), s).to_string()
        },
    ]
}

fn id_cell(v: &ObjectVersion) -> String {
    if v.is_latest {
        format!("{} *", v.version_id)
    } else {
        v.version_id.clone()
    }
}

fn size_cell(v: &ObjectVersion) -> String {
    if v.delete_marker {
        "(delete marker)".into()
    } else {
        v.size.to_string()
    }
}

/// Column widths of a table printed row by row, chosen from the listing
/// before any version is read: the version, date and size columns fit the
/// shown versions; serial, lineage and resource count fit their headings
/// (6 and 9 digits) and the 8 characters of a short lineage, as a table of
/// ordinary states does; a wider value pushes the rest of its line right.
/// Pure.
pub(crate) fn stream_widths(shown: &[ObjectVersion]) -> Vec<usize> {
    let fit = |i: usize, f: &dyn Fn(&ObjectVersion) -> String| {
        shown
            .iter()
            .map(|v| style_width(&f(v)))
            .fold(COLUMNS[i].len(), usize::max)
    };
    vec![
        fit(0, &id_cell),
        fit(1, &|v| crate::util::time::rfc3339(v.last_modified)),
        fit(2, &size_cell),
        COLUMNS[3].len(),
        COLUMNS[4].len().max(8),
        COLUMNS[5].len(),
        COLUMNS[6].len(),
    ]
}

fn style_width(s: &str) -> usize {
    crate::output::style::width(s)
}

/// `versions` in text: the heading as soon as the listing is read, each row
/// as soon as it is final (newest first), then the problems and the count.
async fn run_streamed<W: Write>(
    bucket: &Bucket,
    key: &str,
    opts: HistoryOptions,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let mut widths = Vec::new();
    let mut failed: Option<io::Error> = None;
    let name = crate::storage::StateObjects::name(bucket).to_owned();
    let history = history_streamed(bucket, key, opts, &mut |event| {
        if failed.is_some() {
            return false;
        }
        let lines = match event {
            HistoryEvent::Listed { versions, shown } => {
                widths = stream_widths(&versions[..shown]);
                vec![format!("s3://{name}/{key}"), table_line(&widths, &COLUMNS)]
            }
            HistoryEvent::Row(v) => {
                let cells = cells(v);
                let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
                vec![table_line(&widths, &cells)]
            }
        };
        // Above the progress line on a terminal, not through it.
        let written =
            crate::output::progress::suspend(|| lines.iter().try_for_each(|l| printer.line(l)));
        if let Err(e) = written {
            // Output gone (a closed pipe): nothing more is read.
            failed = Some(e);
            return false;
        }
        true
    })
    .await?;
    if let Some(e) = failed {
        return Err(out_err(e));
    }
    let report = Report::from(history);
    let mut tail = Vec::new();
    report.render_tail(&mut tail).map_err(out_err)?;
    let tail = String::from_utf8_lossy(&tail);
    for line in tail.lines() {
        printer.line(line).map_err(out_err)?;
    }
    Ok(exit::SUCCESS)
}

impl Report {
    /// What follows the table: the problems, then how many versions exist.
    fn render_tail(&self, out: &mut dyn Write) -> io::Result<()> {
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

impl Render for Report {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "s3://{}/{}", self.bucket, self.key)?;
        let dash = || "-".to_owned();
        let rows: Vec<Vec<String>> = self
            .versions
            .iter()
            .map(|row| {
                cells(&row.entry)
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
        let mut header = COLUMNS.to_vec();
        if self.versions.iter().any(|v| !v.live.is_absent()) {
            header.push("LIVE");
        }
        table(out, &header, &rows)?;
        self.render_tail(out)
    }
}

fn short(lineage: &str) -> String {
    lineage.chars().take(8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::health::{Health, Status};

    fn entry(id: &str, size: u64, serial: Option<u64>, status: Status) -> VersionEntry {
        VersionEntry {
            version: ObjectVersion {
                version_id: id.into(),
                last_modified: time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
                size,
                is_latest: id == "newest",
                delete_marker: size == 0,
                etag: None,
            },
            serial,
            lineage: serial.map(|_| "0123456789abcdef".into()),
            terraform_version: None,
            resource_count: serial.map(|s| s as usize * 3),
            health: Health {
                status,
                problems: Vec::new(),
            },
        }
    }

    fn plain(s: &str) -> String {
        String::from_utf8(crate::output::style::strip(s.as_bytes())).unwrap()
    }

    fn streamed(rows: &[VersionEntry]) -> Vec<String> {
        let listing: Vec<ObjectVersion> = rows.iter().map(|r| r.version.clone()).collect();
        let widths = stream_widths(&listing);
        std::iter::once(table_line(&widths, &COLUMNS))
            .chain(rows.iter().map(|r| {
                let c = cells(r);
                plain(&table_line(
                    &widths,
                    &c.iter().map(String::as_str).collect::<Vec<_>>(),
                ))
            }))
            .collect()
    }

    fn whole(rows: &[VersionEntry]) -> Vec<String> {
        let mut out = Vec::new();
        let cells: Vec<Vec<String>> = rows.iter().map(cells).collect();
        table(&mut out, &COLUMNS, &cells).unwrap();
        String::from_utf8(out).unwrap().lines().map(plain).collect()
    }

    #[test]
    fn rows_printed_one_by_one_line_up_as_the_whole_table_does() {
        let rows = vec![
            entry("newest", 2_000_000, Some(999_999), Status::Ok),
            entry("deleted", 0, None, Status::Deleted),
            entry("v-1", 17, Some(3), Status::SuspiciousShrink),
            entry("unread-corrupt", 12, None, Status::Corrupt),
        ];
        assert_eq!(streamed(&rows), whole(&rows));
    }

    #[test]
    fn a_value_wider_than_its_column_pushes_its_line_only() {
        let rows = vec![
            entry("newest", 5, Some(12_345_678), Status::Ok),
            entry("older", 5, Some(1), Status::Ok),
        ];
        let lines = streamed(&rows);
        // The heading and the ordinary row keep the listing's widths.
        let status_at = |l: &str| l.find("ok").or_else(|| l.find("STATUS")).unwrap();
        assert_eq!(status_at(&lines[0]), status_at(&lines[2]));
        assert_eq!(status_at(&lines[1]), status_at(&lines[2]) + 2);
        assert!(lines[1].contains("12345678"));
    }
}
