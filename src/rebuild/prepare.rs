//! What a rebuild starts from: the plan of a state against live AWS (what
//! is missing, where the data of missing data stores can come back from).

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::{Input, Node, Plan, Scope, Tier};
use crate::aws::Aws;
use crate::error::Result;
use crate::live::{self, Kind};
use crate::lock::human_age;
use crate::state::{Mode, State};

/// The warning for a plan made on a scan AWS refused or failed in part.
pub fn failed_checks_warning(failed: usize) -> String {
    format!(
        "{} could not be checked because AWS refused or failed the calls, so this plan may leave out what is missing among them; fix the access (`{}` names them and why) and plan again",
        crate::output::count(failed, "resource of the state", "resources of the state"),
        crate::hint::command(&["drift"])
    )
}

/// A plan from the state and what live AWS lacks.
pub struct Planned {
    pub plan: Plan,
    /// How many of the state's resources the live scan could not check.
    pub not_checked: usize,
    /// Of those, how many because AWS refused or failed the calls: the plan
    /// may leave out what is missing among them.
    pub failed_checks: usize,
    /// The state's resources, as the live scan saw them.
    pub resources: Vec<live::StateResource>,
}

/// Plans the rebuild of `state`: its resources are scanned against live
/// AWS with `opts` (the drift engine's managed check) to learn what is
/// missing, the data stores among them get their recovery sources (RDS
/// snapshots, ...), and the planner orders the waves.
#[allow(clippy::too_many_arguments)]
pub async fn make_plan(
    aws: &Aws,
    opts: live::ScanOptions,
    state: &State<'_>,
    tiers: Vec<Tier>,
    all: bool,
    terraform: String,
    apply_args: Vec<String>,
) -> Result<Planned> {
    let nodes = nodes_of(state);
    // What live AWS lacks, from the drift engine.
    let resources = live::state_resources(state);
    let comparison = live::scan(aws, &resources, &opts).await?;
    drop(opts); // clears the scan's progress line
    let missing: BTreeSet<String> = comparison
        .findings
        .iter()
        .filter(|f| f.kind == Kind::Missing)
        .filter_map(|f| f.address.clone())
        .collect();
    let recovery_sources = recovery_sources(aws, &resources, &missing).await;
    let input = Input {
        nodes,
        missing,
        tiers,
        scope: if all { Scope::All } else { Scope::MissingOnly },
        recovery_sources,
        terraform,
        apply_args,
    };
    let plan = super::plan(&input)?;
    Ok(Planned {
        plan,
        not_checked: comparison.not_checked.len(),
        failed_checks: comparison.errors(),
        resources,
    })
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
                    crate::util::time::rfc3339(t),
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
