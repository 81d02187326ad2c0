//! The rebuild tiers as configuration names them and the planner orders
//! them: shared by `config` (which reads them from an environment file) and
//! `rebuild` (which plans and runs them).

use serde::Serialize;

/// A wave definition: which resource types it rebuilds and how to wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tier {
    pub name: String,
    /// Resource types; a trailing `*` matches a prefix (`kubernetes_*`).
    pub types: Vec<String>,
    /// Extra commands run after the targeted apply (e.g. `kubectl apply -k ...`).
    /// A tier with commands gets a wave (only its commands) even when none of
    /// its types is rebuilt, as long as an earlier wave rebuilds something:
    /// workloads deployed outside Terraform go back onto a rebuilt cluster.
    pub commands: Vec<Vec<String>>,
    /// The readiness gate after the wave, by kind.
    pub gate: Option<String>,
    pub gate_timeout_seconds: u64,
    /// A resource of these types joins this tier only when a later tier's
    /// resource needs it and it needs nothing of a later tier (the network
    /// and IAM a cluster sits on); otherwise it goes where it would without
    /// this tier.
    pub needed_only: bool,
}

impl Tier {
    /// Whether `type_` is one of the tier's types (or prefixes).
    pub fn matches(&self, type_: &str) -> bool {
        self.types.iter().any(|t| match t.strip_suffix('*') {
            Some(prefix) => type_.starts_with(prefix),
            None => t == type_,
        })
    }
}

/// The name of the last wave: what no tier takes, and the full apply.
pub const FINAL_WAVE: &str = "everything else";

/// The gate kinds an environment file may name, with what each checks.
pub const GATE_KINDS: &[(&str, &str)] = &[
    ("eks-cluster-active", "every EKS cluster of the wave is ACTIVE"),
    (
        "eks-nodegroups-active",
        "every EKS node group of the wave is ACTIVE with no health issues and a desired size of at least the state's scaling_config min_size; every add-on and Fargate profile is ACTIVE",
    ),
    (
        "rds-available",
        "every RDS DB instance and cluster of the wave is available",
    ),
    (
        "all-ready",
        "all of the above, for whichever of those types the wave rebuilds",
    ),
];

/// Whether `kind` is a known gate kind.
pub fn is_gate_kind(kind: &str) -> bool {
    GATE_KINDS.iter().any(|(k, _)| *k == kind)
}

/// Why no plan can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("dependency cycle among {}: Terraform cannot order these; fix the configuration", .0.join(", "))]
    Cycle(Vec<String>),
    #[error("{from} (wave {from_wave}) depends on {to} (wave {to_wave}), which comes later: change the tiers so {to} is rebuilt first")]
    Backwards {
        from: String,
        from_wave: String,
        to: String,
        to_wave: String,
    },
}
