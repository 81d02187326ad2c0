//! The rebuild tiers as configuration names them and the planner orders
//! them: shared by `config` (which reads them from an environment file) and
//! `rebuild` (which plans and runs them).

use serde::{Deserialize, Serialize};

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
    pub gate: Option<GateKind>,
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

/// A wave's readiness gate: what must be up before the next wave runs.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum GateKind {
    /// Every EKS cluster of the wave is ACTIVE.
    EksClusterActive,
    /// Every EKS node group of the wave is ACTIVE with no health issues and a
    /// desired size of at least the state's `scaling_config` min_size; every
    /// add-on and Fargate profile is ACTIVE.
    EksNodegroupsActive,
    /// Every RDS DB instance and cluster of the wave is available.
    RdsAvailable,
    /// All of the above, for whichever of those types the wave rebuilds.
    AllReady,
}

impl GateKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [GateKind; 4] = [
        GateKind::EksClusterActive,
        GateKind::EksNodegroupsActive,
        GateKind::RdsAvailable,
        GateKind::AllReady,
    ];

    /// The name an environment file and the JSON outputs use.
    pub fn as_str(self) -> &'static str {
        match self {
            GateKind::EksClusterActive => "eks-cluster-active",
            GateKind::EksNodegroupsActive => "eks-nodegroups-active",
            GateKind::RdsAvailable => "rds-available",
            GateKind::AllReady => "all-ready",
        }
    }
}

impl std::fmt::Display for GateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for GateKind {
    type Err = String;

    /// A kind by its name; the error lists the names.
    fn from_str(s: &str) -> Result<GateKind, String> {
        GateKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = GateKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("\"{s}\" is not a gate; use one of: {}", names.join(", "))
            })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_kinds_read_and_write_their_names() {
        for k in GateKind::ALL {
            assert_eq!(k.as_str().parse::<GateKind>(), Ok(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(k.to_string(), k.as_str());
        }
        assert_eq!(
            "ready".parse::<GateKind>(),
            Err("\"ready\" is not a gate; use one of: eks-cluster-active, eks-nodegroups-active, rds-available, all-ready".into())
        );
    }
}
