//! `stateward rebuild plan`: ordered waves from a state and live AWS.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde::Serialize;
use time::OffsetDateTime;

use crate::aws::Aws;
use crate::cli::{out_err, parse_resolved, resolve_refs, Context};
use crate::error::Result;
use crate::exit;
use crate::live::{self, Kind};
use crate::lock::human_age;
use crate::output::{Printer, Render};
use crate::rebuild::{self, shell_line, Input, Node, Plan, Scope};
use crate::state::{Mode, State};

use super::args::RebuildCommand;

pub async fn run<W: Write>(
    ctx: &Context,
    cmd: RebuildCommand,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let RebuildCommand::Plan {
        reference,
        all,
        terraform,
        ..
    } = cmd;
    let resolved = resolve_refs(ctx, &[&reference]).await?;
    let state = parse_resolved(&resolved[0])?;
    let nodes = nodes_of(&state);
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;

    // What live AWS lacks, from the drift engine.
    let resources = live::state_resources(&state);
    let opts = super::drift::managed_check_options(ctx, &target)?;
    let comparison = live::scan(&aws, &resources, &opts).await?;
    let missing: BTreeSet<String> = comparison
        .findings
        .iter()
        .filter(|f| f.kind == Kind::Missing)
        .filter_map(|f| f.address.clone())
        .collect();
    let recovery_sources = recovery_sources(&aws, &resources, &missing).await;
    let input = Input {
        nodes,
        missing,
        tiers: rebuild::default_tiers(),
        scope: if all { Scope::All } else { Scope::MissingOnly },
        recovery_sources,
        terraform,
    };
    let plan = rebuild::plan(&input)?;
    printer
        .emit(&Report {
            state: StateInfo {
                serial: state.serial,
                lineage: state.lineage.to_string(),
            },
            not_checked: comparison.not_checked.len(),
            plan,
        })
        .map_err(out_err)?;
    Ok(exit::SUCCESS)
}

/// The state's managed, current resource instances with their dependencies.
fn nodes_of(state: &State<'_>) -> Vec<Node> {
    let mut out = Vec::new();
    for r in state.resources.iter().filter(|r| r.mode == Mode::Managed) {
        let resource = r.address();
        let mut seen = BTreeSet::new();
        for inst in r.instances.iter().filter(|i| i.deposed.is_none()) {
            let address =
                crate::state::address::instance_address(&resource, inst.index_key.as_ref());
            if !seen.insert(address.clone()) {
                continue;
            }
            out.push(Node {
                address,
                resource: resource.clone(),
                type_: r.type_.to_string(),
                dependencies: inst.dependencies.iter().map(|d| d.to_string()).collect(),
            });
        }
    }
    out
}

/// Where the data of each missing data store can come back from.
async fn recovery_sources(
    aws: &Aws,
    resources: &[live::StateResource],
    missing: &BTreeSet<String>,
) -> BTreeMap<String, (String, String)> {
    let now = OffsetDateTime::now_utc();
    let rds = aws.rds();
    let mut out = BTreeMap::new();
    for r in resources.iter().filter(|r| missing.contains(&r.address)) {
        let Some(id) = r.id.clone() else { continue };
        let latest = match r.type_.as_str() {
            "aws_db_instance" => Some(rds.latest_instance_snapshot(&id).await),
            "aws_rds_cluster" => Some(rds.latest_cluster_snapshot(&id).await),
            _ => None,
        };
        let entry = match (r.type_.as_str(), latest) {
            (_, Some(Ok(Some(t)))) => (
                format!("rds-snapshot:{id}"),
                format!(
                    "latest snapshot of {id} taken {} ({} ago): restore it instead of creating an empty database",
                    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                    human_age((now - t).whole_seconds().max(0))
                ),
            ),
            (_, Some(Ok(None))) => ("none found".into(), format!("{id} has no snapshot: recreating it loses its data")),
            (_, Some(Err(e))) => ("unknown".into(), format!("snapshots of {id} could not be listed: {e}")),
            ("aws_dynamodb_table", None) => (
                "point-in-time recovery".into(),
                format!("restore {id} from a PITR backup or an on-demand backup, if it had one, before the final apply"),
            ),
            ("aws_s3_bucket", None) => (
                "bucket gone".into(),
                format!("{id} and its object versions are gone: recreate it from a replica or backup before the final apply"),
            ),
            _ => continue,
        };
        out.insert(r.address.clone(), entry);
    }
    out
}

#[derive(Serialize)]
struct StateInfo {
    serial: u64,
    lineage: String,
}

#[derive(Serialize)]
struct Report {
    state: StateInfo,
    #[serde(skip)]
    not_checked: usize,
    #[serde(flatten)]
    plan: Plan,
}

impl Render for Report {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Rebuild plan from serial {} (lineage {})",
            self.state.serial, self.state.lineage
        )?;
        if !self.plan.data_recovery.is_empty() {
            writeln!(out, "\nDATA STORES MISSING: recover their data first")?;
            for d in &self.plan.data_recovery {
                writeln!(
                    out,
                    "  {} ({}): {} — {}",
                    d.address, d.type_, d.source, d.detail
                )?;
            }
        }
        if self.plan.waves.is_empty() {
            writeln!(
                out,
                "\nNothing to rebuild: every checked resource exists in AWS."
            )?;
        }
        for w in &self.plan.waves {
            writeln!(out, "\nWave {}: {}", w.index, w.name)?;
            for t in &w.targets {
                writeln!(
                    out,
                    "  {t}  ({})",
                    w.reasons.get(t).map(String::as_str).unwrap_or("")
                )?;
            }
            for c in &w.commands {
                writeln!(out, "  $ {}", shell_line(c))?;
            }
            if let Some(g) = &w.gate {
                writeln!(out, "  wait: {} ({} s at most)", g.kind, g.timeout_seconds)?;
            }
        }
        if self.not_checked > 0 {
            writeln!(
                out,
                "\n{} resources could not be checked against AWS (see `stateward drift`); with --missing-only they are not rebuilt unless they depend on something that is.",
                self.not_checked
            )?;
        }
        Ok(())
    }
}
