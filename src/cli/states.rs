//! `stateward states`: every state in the bucket(s), problems first.

use std::io::{self, Write};
use std::time::Instant;

use serde::Serialize;
use time::OffsetDateTime;

use crate::aws::Aws;
use crate::cli::{out_err, Context};
use crate::error::{Error, Result};
use crate::fleet::{self, Inventory, InventoryOptions, Selection, Shard, StateEntry};
use crate::output::style::status_style;
use crate::output::{count, paint, table, Printer, Render};

use super::args::StatesArgs;

pub async fn run<W: Write>(
    ctx: &Context,
    args: StatesArgs,
    printer: &mut Printer<W>,
) -> Result<u8> {
    if let Some(n) = args.matrix {
        let text = serde_json::to_string(&fleet::matrix(n)).map_err(|e| out_err(e.into()))?;
        printer
            .raw(format!("{text}\n").as_bytes())
            .map_err(out_err)?;
        return Ok(crate::exit::SUCCESS);
    }
    let report_to = args
        .report_to
        .as_deref()
        .map(super::report::parse_place)
        .transpose()?;
    let scope = FleetScope::of(ctx, &args.buckets)?;
    let started = Instant::now();
    // Every connection's requests count (the rules' own ones too).
    let calls_before = crate::aws::calls_made();
    let aws = Aws::connect(&scope.access).await?;
    let rules = ctx
        .settings
        .env_file()?
        .and_then(|e| e.states.clone())
        .unwrap_or_default();
    let rule_aws = rule_connections(ctx, &scope, &rules).await?;
    let opts = InventoryOptions {
        buckets: scope.buckets.clone(),
        selection: Selection {
            prefix: args.prefix,
            suffix: args.suffix,
            workspace_key_prefix: scope.workspace_key_prefix.clone(),
            shard: args.shard,
        },
        table: scope.table.clone(),
        // A --dynamodb-table flag names the table of every state.
        table_from_flag: ctx.global.dynamodb_table.is_some(),
        use_lockfile: scope.use_lockfile,
        use_lockfile_from_flag: ctx.global.use_lockfile,
        rules,
        rule_aws,
        concurrency: args.fanout.get(),
        lineage_check: args.lineage_check,
        stale_lock_after: args.stale_lock_after,
        now: OffsetDateTime::now_utc(),
    };
    let inv = fleet::inventory(&aws, &opts).await?;
    let requests = crate::aws::calls_made() - calls_before;
    let report = StatesReport::new(inv, args.shard, requests, started.elapsed().as_secs_f64());
    if let Some(place) = &report_to {
        super::report::write_report(place, &aws, &scope.writes, "states", args.shard, &report)
            .await?;
    }
    printer.emit(&report).map_err(out_err)?;
    Ok(fleet::exit_code(&report.states, report.errors.len()))
}

/// Per rule of the `states` block, its own connection when it sets a
/// region (unless `--region` names the one region of the run) or a
/// live-check role; `None` for the others.
pub(crate) async fn rule_connections(
    ctx: &Context,
    scope: &FleetScope,
    rules: &crate::config::StatesSettings,
) -> Result<Vec<Option<Aws>>> {
    let mut out = Vec::with_capacity(rules.rules.len());
    for r in &rules.rules {
        let region = r.region.clone().filter(|_| ctx.global.region.is_none());
        let own = match (region, &r.live_assume_role) {
            (None, None) => None,
            (region, role) => {
                let mut access = scope.access.clone();
                access.region = region.or(access.region);
                access.live_role = role.clone().or(access.live_role);
                Some(Aws::connect(&access).await?)
            }
        };
        out.push(own);
    }
    Ok(out)
}

/// Where a fleet command looks: buckets, lock table, workspace prefix, and
/// the AWS access to them.
pub(crate) struct FleetScope {
    pub buckets: Vec<String>,
    pub table: Option<String>,
    pub workspace_key_prefix: String,
    /// `Some(true)` when `--use-lockfile` or the backend says the states use
    /// the lock file; `None` when nothing says.
    pub use_lockfile: Option<bool>,
    pub access: crate::config::AwsAccess,
    /// What writes to S3 send (the backend's SSE and ACL settings): for
    /// reports written with `--report-to s3://...`.
    pub writes: crate::config::ObjectWrites,
}

impl FleetScope {
    /// `--bucket` and the extra buckets given; else the environment file's
    /// or backend dir's bucket. The lock table and workspace prefix come the
    /// same way.
    pub(crate) fn of(ctx: &Context, extra: &[String]) -> Result<FleetScope> {
        ctx.check_backend_config()?;
        let g = &ctx.global;
        let configured = g.env.is_some() || g.backend_dir.is_some() || g.key.is_some();
        let target = if configured {
            Some(ctx.target()?)
        } else {
            None
        };
        let mut buckets: Vec<String> = Vec::new();
        for b in g.bucket.iter().chain(extra) {
            if !buckets.contains(b) {
                buckets.push(b.clone());
            }
        }
        if buckets.is_empty() {
            if let Some(t) = &target {
                buckets.push(t.bucket.clone());
            }
        }
        if buckets.is_empty() {
            return Err(Error::Usage(
                "name the bucket(s) to take stock of: --bucket B (repeat it for more buckets), or --env NAME".into(),
            ));
        }
        let access = match &target {
            Some(t) => ctx.settings.aws_access_of(t),
            None if !g.bucket.is_empty() => ctx.settings.aws_access_without_key()?,
            None => ctx.settings.aws_access()?,
        };
        let table = g
            .dynamodb_table
            .clone()
            .or_else(|| target.as_ref().and_then(|t| t.dynamodb_table.clone()));
        let workspace_key_prefix = g
            .workspace_key_prefix
            .clone()
            .or_else(|| target.as_ref().map(|t| t.workspace_key_prefix.clone()))
            .unwrap_or_else(|| "env:".into());
        let writes = target
            .as_ref()
            .map(|t| t.encryption.clone())
            .unwrap_or_else(crate::config::ObjectWrites::plain);
        let use_lockfile =
            (g.use_lockfile || target.as_ref().is_some_and(|t| t.use_lockfile)).then_some(true);
        Ok(FleetScope {
            buckets,
            table,
            workspace_key_prefix,
            use_lockfile,
            access,
            writes,
        })
    }
}

/// The report of `states`.
#[derive(Debug, Serialize)]
struct StatesReport {
    command: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<String>,
    summary: Summary,
    buckets: Vec<fleet::inventory::BucketSummary>,
    states: Vec<StateEntry>,
    errors: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Summary {
    states: usize,
    with_problems: usize,
    unchecked: usize,
    locked: usize,
    /// AWS requests this inventory made (retries included).
    requests: u64,
    /// Of those, header reads of previous versions (the lineage check).
    previous_reads: usize,
    /// States whose lineage was not compared with their previous version's.
    lineage_not_compared: usize,
    requests_per_state: f64,
    seconds: f64,
}

impl StatesReport {
    fn new(inv: Inventory, shard: Option<Shard>, requests: u64, seconds: f64) -> Self {
        let n = inv.states.len();
        let summary = Summary {
            states: n,
            with_problems: inv.states.iter().filter(|s| !s.problems.is_empty()).count(),
            unchecked: inv.states.iter().filter(|s| s.unchecked).count(),
            locked: inv.states.iter().filter(|s| s.lock.is_some()).count(),
            requests,
            previous_reads: inv.previous_reads,
            lineage_not_compared: inv.lineage_not_compared,
            requests_per_state: if n == 0 {
                0.0
            } else {
                ((requests as f64 / n as f64) * 1000.0).round() / 1000.0
            },
            seconds: (seconds * 1000.0).round() / 1000.0,
        };
        StatesReport {
            command: "states",
            shard: shard.map(|s| s.to_string()),
            summary,
            buckets: inv.buckets,
            states: inv.states,
            errors: inv.errors,
        }
    }

    fn rows(&self) -> Vec<Vec<String>> {
        self.states
            .iter()
            .map(|s| {
                let lock = match &s.lock {
                    None => "-".to_owned(),
                    Some(l) => {
                        let age = l
                            .age_seconds
                            .map(|a| format!(" {}", crate::lock::human_age(a)))
                            .unwrap_or_default();
                        let word = if l.stale || l.unreadable.is_some() {
                            "stale"
                        } else {
                            "held"
                        };
                        paint(
                            status_style(if word == "stale" { "fail" } else { "held" }),
                            format!("{word}{age}"),
                        )
                        .to_string()
                    }
                };
                vec![
                    format!("s3://{}/{}", s.bucket, s.key),
                    s.workspace.clone(),
                    s.serial.map_or_else(|| "-".into(), |v| v.to_string()),
                    s.size.to_string(),
                    crate::util::time::rfc3339(s.last_modified),
                    paint(status_style(s.health.as_str()), s.health.as_str()).to_string(),
                    lock,
                    match s.digest {
                        fleet::DigestState::Mismatch => {
                            paint(status_style("fail"), "mismatch").to_string()
                        }
                        d => d.as_str().to_owned(),
                    },
                    s.noncurrent_versions.to_string(),
                    s.lineage_check.as_str().to_owned(),
                ]
            })
            .collect()
    }

    fn headline(&self) -> String {
        let s = &self.summary;
        let shard = self
            .shard
            .as_ref()
            .map(|s| format!(" (shard {s})"))
            .unwrap_or_default();
        format!(
            "{} in {}{shard}: {} with problems, {} locked, {} not checked; {} AWS requests ({} per state) in {:.1}s",
            count(s.states, "state", "states"),
            count(self.buckets.len(), "bucket", "buckets"),
            s.with_problems,
            s.locked,
            s.unchecked,
            s.requests,
            s.requests_per_state,
            s.seconds
        ) + &self.not_compared_note()
    }

    /// Which states' lineage was not compared, and how to compare them.
    fn not_compared_note(&self) -> String {
        let n = self.summary.lineage_not_compared;
        if n == 0 {
            return String::new();
        }
        format!(
            "\nlineage not compared with the previous version for {} (LINEAGE `not compared`; their previous header is not in the version cache): `--lineage-check all` reads them, one request each",
            count(n, "state", "states")
        )
    }
}

const HEADER: [&str; 10] = [
    "STATE",
    "WORKSPACE",
    "SERIAL",
    "BYTES",
    "WRITTEN",
    "HEALTH",
    "LOCK",
    "DIGEST",
    "OLDER",
    "LINEAGE",
];

impl Render for StatesReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for e in &self.errors {
            writeln!(out, "{} {e}", paint(status_style("fail"), "error:"))?;
        }
        if self.states.is_empty() {
            writeln!(out, "no states found")?;
        } else {
            table(out, &HEADER, &self.rows())?;
        }
        let problems: Vec<&String> = self.states.iter().flat_map(|s| &s.problems).collect();
        if !problems.is_empty() {
            writeln!(out)?;
            writeln!(out, "Problems:")?;
            for p in problems {
                writeln!(out, "  - {p}")?;
            }
        }
        writeln!(out)?;
        writeln!(out, "{}", self.headline())
    }

    fn render_markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "### Terraform states")?;
        writeln!(out)?;
        writeln!(out, "{}", self.headline())?;
        writeln!(out)?;
        for e in &self.errors {
            writeln!(out, "- **error:** {e}")?;
        }
        let problems: Vec<&String> = self.states.iter().flat_map(|s| &s.problems).collect();
        if !problems.is_empty() {
            writeln!(out, "**Problems**")?;
            writeln!(out)?;
            for p in problems {
                writeln!(out, "- {p}")?;
            }
            writeln!(out)?;
        }
        writeln!(out, "| {} |", HEADER.join(" | "))?;
        writeln!(out, "|{}", "---|".repeat(HEADER.len()))?;
        for row in self.rows() {
            let cells: Vec<String> = row
                .iter()
                .map(|c| {
                    String::from_utf8_lossy(&crate::output::style::strip(c.as_bytes()))
                        .replace('|', "\\|")
                })
                .collect();
            writeln!(out, "| {} |", cells.join(" | "))?;
        }
        Ok(())
    }
}
