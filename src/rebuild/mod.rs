//! Rebuild sequencing: from a known-good state and what live AWS lacks to
//! ordered waves (EKS control plane, then node groups and add-ons, then
//! workloads, then a final full apply). [`plan`] is a pure function of its
//! inputs and is table-tested. [`run`] executes a plan wave by wave (gates,
//! journal, resume) over traits, so its decisions are unit-tested too.

pub mod gate;
pub mod journal;
pub mod persist;
pub mod prepare;
pub mod run;
pub mod session;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// One managed resource instance of the state, as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Instance address, e.g. `module.eks.aws_eks_node_group.this["blue"]`.
    pub address: String,
    /// Its resource address (without the instance key).
    pub resource: String,
    pub type_: String,
    /// Resource addresses it depends on (the state's `dependencies`).
    pub dependencies: Vec<String>,
}

pub use crate::model::tier::{GateKind, PlanError, Tier, FINAL_WAVE};

/// The network and IAM types a control plane sits on.
pub const FOUNDATION_TYPES: &[&str] = &[
    "aws_vpc",
    "aws_vpc_ipv4_cidr_block_association",
    "aws_subnet",
    "aws_route_table",
    "aws_route",
    "aws_route_table_association",
    "aws_main_route_table_association",
    "aws_internet_gateway",
    "aws_internet_gateway_attachment",
    "aws_nat_gateway",
    "aws_eip",
    "aws_security_group",
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
    "aws_vpc_endpoint",
    "aws_network_acl",
    "aws_iam_*",
    "aws_kms_key",
    "aws_kms_alias",
];

/// The default tiers (used when the environment file gives none).
pub fn default_tiers() -> Vec<Tier> {
    vec![
        Tier {
            name: "network and IAM".into(),
            types: FOUNDATION_TYPES.iter().map(|t| t.to_string()).collect(),
            commands: vec![],
            gate: None,
            gate_timeout_seconds: 0,
            needed_only: true,
        },
        Tier {
            name: "control plane".into(),
            types: vec!["aws_eks_cluster".into()],
            commands: vec![],
            gate: Some(GateKind::EksClusterActive),
            gate_timeout_seconds: 1800,
            needed_only: false,
        },
        Tier {
            name: "node groups and add-ons".into(),
            types: vec![
                "aws_eks_node_group".into(),
                "aws_eks_addon".into(),
                "aws_eks_fargate_profile".into(),
            ],
            commands: vec![],
            gate: Some(GateKind::EksNodegroupsActive),
            gate_timeout_seconds: 1800,
            needed_only: false,
        },
        Tier {
            name: "workloads".into(),
            types: vec![
                "helm_release".into(),
                "kubernetes_*".into(),
                "kubectl_manifest".into(),
            ],
            commands: vec![],
            gate: None,
            gate_timeout_seconds: 0,
            needed_only: false,
        },
    ]
}

/// `--missing-only` (default) or `--all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    MissingOnly,
    All,
}

/// Types whose loss loses data: recreating them empty is not a recovery.
pub const DATA_STORES: &[&str] = &[
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_dynamodb_table",
    "aws_s3_bucket",
];

/// What the planner is given.
#[derive(Debug, Clone)]
pub struct Input {
    pub nodes: Vec<Node>,
    /// Instance addresses live AWS lacks (from the drift engine).
    pub missing: BTreeSet<String>,
    pub tiers: Vec<Tier>,
    pub scope: Scope,
    /// Recovery sources of missing data stores, by address (e.g. "RDS snapshot X, 3h old").
    pub recovery_sources: BTreeMap<String, (String, String)>,
    /// The Terraform command (argv[0]).
    pub terraform: String,
    /// Arguments after `apply` in every Terraform command (`rebuild run`
    /// passes `-input=false -auto-approve`; `rebuild plan` none).
    pub apply_args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Gate {
    pub kind: GateKind,
    pub resources: Vec<String>,
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Wave {
    #[schemars(range(min = 1))]
    pub index: usize,
    pub name: String,
    pub targets: Vec<String>,
    #[schemars(inner(length(min = 1)))]
    pub commands: Vec<Vec<String>>,
    pub gate: Option<Gate>,
    pub reasons: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DataRecovery {
    pub address: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub source: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Plan {
    pub waves: Vec<Wave>,
    pub data_recovery: Vec<DataRecovery>,
}

/// Plans the waves. Pure.
pub fn plan(input: &Input) -> Result<Plan, PlanError> {
    // Instances by resource address, for dependency edges.
    let mut by_resource: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
    for n in &input.nodes {
        by_resource.entry(n.resource.as_str()).or_default().push(n);
    }
    let deps_of = |n: &Node| -> Vec<&str> {
        n.dependencies
            .iter()
            .flat_map(|d| by_resource.get(d.as_str()).into_iter().flatten())
            .map(|d| d.address.as_str())
            .filter(|a| *a != n.address)
            .collect()
    };
    // Selection and reasons.
    let mut reasons: BTreeMap<String, String> = BTreeMap::new();
    match input.scope {
        Scope::All => {
            for n in &input.nodes {
                reasons.insert(n.address.clone(), "--all: the full sequence".into());
            }
        }
        Scope::MissingOnly => {
            for n in &input.nodes {
                if input.missing.contains(&n.address) {
                    reasons.insert(n.address.clone(), "missing in AWS".into());
                }
            }
            // Whatever depends on a rebuilt resource is rebuilt after it.
            loop {
                let mut added = false;
                for n in &input.nodes {
                    if reasons.contains_key(&n.address) {
                        continue;
                    }
                    if let Some(d) = deps_of(n).into_iter().find(|d| reasons.contains_key(*d)) {
                        reasons.insert(
                            n.address.clone(),
                            format!("depends on {d}, which is rebuilt"),
                        );
                        added = true;
                    }
                }
                if !added {
                    break;
                }
            }
        }
    }
    let selected: Vec<&Node> = input
        .nodes
        .iter()
        .filter(|n| reasons.contains_key(&n.address))
        .collect();
    let final_tier = input.tiers.len();
    // Tier of each selected node: its type's tier; an untiered dependency of a
    // tiered node joins the earliest tier that needs it; the rest: final apply.
    // Tiers that take their types only when needed are assigned last.
    let typed = |type_: &str| {
        input
            .tiers
            .iter()
            .position(|t| !t.needed_only && t.matches(type_))
    };
    let mut tier: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &selected {
        if let Some(t) = typed(&n.type_) {
            tier.insert(&n.address, t);
        }
    }
    loop {
        let mut changed = false;
        for n in &selected {
            let Some(&t) = tier.get(n.address.as_str()) else {
                continue;
            };
            for d in deps_of(n) {
                if !reasons.contains_key(d) {
                    continue;
                }
                let dep_typed = input
                    .nodes
                    .iter()
                    .find(|x| x.address == d)
                    .is_some_and(|x| typed(&x.type_).is_some());
                if dep_typed {
                    continue;
                }
                let cur = tier.get(d).copied().unwrap_or(usize::MAX);
                if t < cur {
                    tier.insert(d, t);
                    reasons
                        .entry(d.to_owned())
                        .and_modify(|r| r.push_str(&format!("; needed by {}", n.address)));
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // A needed-only tier takes the resources of its types that an earlier
    // step placed in a later tier (a later tier needs them), unless they
    // need something of a tier after it. Dependencies first, so a subnet
    // and its VPC move together.
    for (f, needed_tier) in input.tiers.iter().enumerate() {
        if !needed_tier.needed_only {
            continue;
        }
        for a in topo(&selected, &deps_of) {
            let Some(n) = selected.iter().find(|n| n.address == a) else {
                continue;
            };
            let Some(&t) = tier.get(a.as_str()) else {
                continue;
            };
            if t <= f || !needed_tier.matches(&n.type_) {
                continue;
            }
            let deps_fit = deps_of(n)
                .into_iter()
                .filter(|d| reasons.contains_key(*d))
                .all(|d| tier.get(d).is_some_and(|&dt| dt <= f));
            if deps_fit {
                tier.insert(&n.address, f);
            }
        }
    }
    let tier_of = |a: &str| tier.get(a).copied().unwrap_or(final_tier);
    let wave_name = |t: usize| {
        input
            .tiers
            .get(t)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| FINAL_WAVE.into())
    };
    // Cycles among the selected nodes.
    if let Some(cycle) = find_cycle(&selected, &deps_of) {
        return Err(PlanError::Cycle(cycle));
    }
    // No dependency may point to a later wave.
    for n in &selected {
        for d in deps_of(n) {
            if reasons.contains_key(d) && tier_of(d) > tier_of(&n.address) {
                return Err(PlanError::Backwards {
                    from: n.address.clone(),
                    from_wave: wave_name(tier_of(&n.address)),
                    to: d.to_owned(),
                    to_wave: wave_name(tier_of(d)),
                });
            }
        }
    }
    // Waves, in tier order, targets in dependency order.
    let mut waves: Vec<Wave> = Vec::new();
    let apply = |targets: &[String]| {
        let mut argv = vec![input.terraform.clone(), "apply".into()];
        argv.extend(input.apply_args.iter().cloned());
        argv.extend(targets.iter().map(|a| format!("-target={a}")));
        argv
    };
    for t in 0..=final_tier {
        let targets: Vec<String> = topo(&selected, &deps_of)
            .into_iter()
            .filter(|a| tier_of(a) == t)
            .collect();
        let is_final = t == final_tier;
        // The final full apply runs whenever anything is rebuilt; a tier's own
        // commands run after any earlier wave.
        let final_apply = is_final && !selected.is_empty();
        let extra = input
            .tiers
            .get(t)
            .map(|x| x.commands.as_slice())
            .unwrap_or(&[]);
        let commands_only = targets.is_empty() && !extra.is_empty() && !waves.is_empty();
        if targets.is_empty() && !final_apply && !commands_only {
            continue;
        }
        let mut commands = Vec::new();
        if is_final {
            commands.push(apply(&[]));
        } else {
            // Never an untargeted apply before the final wave.
            if !targets.is_empty() {
                commands.push(apply(&targets));
            }
            commands.extend(extra.iter().cloned());
        }
        let gate = input.tiers.get(t).and_then(|tier| {
            tier.gate.map(|kind| Gate {
                kind,
                resources: targets.clone(),
                timeout_seconds: tier.gate_timeout_seconds,
            })
        });
        let wave_reasons = targets
            .iter()
            .map(|a| (a.clone(), reasons.get(a).cloned().unwrap_or_default()))
            .collect();
        waves.push(Wave {
            index: waves.len() + 1,
            name: wave_name(t),
            targets,
            commands,
            gate,
            reasons: wave_reasons,
        });
    }
    let data_recovery = input
        .nodes
        .iter()
        .filter(|n| input.missing.contains(&n.address) && DATA_STORES.contains(&n.type_.as_str()))
        .map(|n| {
            let (source, detail) = input
                .recovery_sources
                .get(&n.address)
                .cloned()
                .unwrap_or_else(|| {
                    (
                        "none found".into(),
                        "recreating it empty loses its data: find a backup before the final apply"
                            .into(),
                    )
                });
            DataRecovery {
                address: n.address.clone(),
                type_: n.type_.clone(),
                source,
                detail,
            }
        })
        .collect();
    Ok(Plan {
        waves,
        data_recovery,
    })
}

/// Addresses in an order where dependencies come first (stable by input order).
fn topo<'a>(nodes: &[&'a Node], deps_of: &dyn Fn(&Node) -> Vec<&'a str>) -> Vec<String> {
    let in_set: BTreeSet<&str> = nodes.iter().map(|n| n.address.as_str()).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < nodes.len() {
        let before = out.len();
        for n in nodes {
            if done.contains(n.address.as_str()) {
                continue;
            }
            if deps_of(n)
                .iter()
                .all(|d| !in_set.contains(d) || done.contains(d))
            {
                done.insert(&n.address);
                out.push(n.address.clone());
            }
        }
        if out.len() == before {
            break; // a cycle; reported by find_cycle
        }
    }
    out
}

/// The addresses of one dependency cycle, if any.
fn find_cycle<'a>(
    nodes: &[&'a Node],
    deps_of: &dyn Fn(&Node) -> Vec<&'a str>,
) -> Option<Vec<String>> {
    let ordered = topo(nodes, deps_of);
    if ordered.len() == nodes.len() {
        return None;
    }
    let mut left: Vec<&Node> = nodes
        .iter()
        .copied()
        .filter(|n| !ordered.contains(&n.address))
        .collect();
    // Drop what merely depends on the cycle: keep nodes something left needs.
    loop {
        let needed: BTreeSet<&str> = left.iter().flat_map(|n| deps_of(n)).collect();
        let before = left.len();
        left.retain(|n| needed.contains(n.address.as_str()));
        if left.len() == before {
            break;
        }
    }
    Some(left.iter().map(|n| n.address.clone()).collect())
}

/// `terraform apply -target='module.x.a["k"]'`: argv rendered for a POSIX shell.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
