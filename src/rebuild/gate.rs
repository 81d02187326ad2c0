//! Readiness gates: which live checks a wave's gate makes, resolved from the
//! state's attributes, and the verdict on what AWS reports. Pure; the AWS
//! calls live in [`super::run::AwsProbe`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::model::tier::GateKind;

/// One live check of a gate, with the identifiers taken from the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "check", rename_all = "kebab-case")]
pub enum Check {
    EksCluster {
        address: String,
        name: String,
    },
    EksNodegroup {
        address: String,
        cluster: String,
        name: String,
        /// `scaling_config[0].min_size` in the state.
        min_size: Option<i64>,
    },
    EksAddon {
        address: String,
        cluster: String,
        name: String,
    },
    EksFargateProfile {
        address: String,
        cluster: String,
        name: String,
    },
    RdsInstance {
        address: String,
        id: String,
    },
    RdsCluster {
        address: String,
        id: String,
    },
}

impl Check {
    pub fn address(&self) -> &str {
        match self {
            Check::EksCluster { address, .. }
            | Check::EksNodegroup { address, .. }
            | Check::EksAddon { address, .. }
            | Check::EksFargateProfile { address, .. }
            | Check::RdsInstance { address, .. }
            | Check::RdsCluster { address, .. } => address,
        }
    }

    /// `EKS node group prod:gpu`.
    pub fn describe(&self) -> String {
        match self {
            Check::EksCluster { name, .. } => format!("EKS cluster {name}"),
            Check::EksNodegroup { cluster, name, .. } => format!("EKS node group {cluster}:{name}"),
            Check::EksAddon { cluster, name, .. } => format!("EKS add-on {cluster}:{name}"),
            Check::EksFargateProfile { cluster, name, .. } => {
                format!("EKS Fargate profile {cluster}:{name}")
            }
            Check::RdsInstance { id, .. } => format!("RDS instance {id}"),
            Check::RdsCluster { id, .. } => format!("RDS cluster {id}"),
        }
    }
}

/// A wave target the gate does not check, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Unchecked {
    pub address: String,
    pub reason: String,
}

/// The checks of one gate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Checks {
    pub checks: Vec<Check>,
    /// Targets of a type the gate checks whose identifiers the state lacks.
    pub unchecked: Vec<Unchecked>,
}

fn kind_covers(kind: GateKind, type_: &str) -> bool {
    let eks_cluster = type_ == "aws_eks_cluster";
    let eks_rest = matches!(
        type_,
        "aws_eks_node_group" | "aws_eks_addon" | "aws_eks_fargate_profile"
    );
    let rds = matches!(type_, "aws_db_instance" | "aws_rds_cluster");
    match kind {
        GateKind::EksClusterActive => eks_cluster,
        GateKind::EksNodegroupsActive => eks_rest,
        GateKind::RdsAvailable => rds,
        GateKind::AllReady => eks_cluster || eks_rest || rds,
    }
}

fn text(attrs: &Value, key: &str) -> Option<String> {
    attrs
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `cluster:name` ids, as the AWS provider writes them for node groups,
/// add-ons and Fargate profiles.
fn split_id(attrs: &Value) -> Option<(String, String)> {
    let id = text(attrs, "id")?;
    let (c, n) = id.split_once(':')?;
    (!c.is_empty() && !n.is_empty()).then(|| (c.to_owned(), n.to_owned()))
}

fn pair(attrs: &Value, name_key: &str) -> Option<(String, String)> {
    match (text(attrs, "cluster_name"), text(attrs, name_key)) {
        (Some(c), Some(n)) => Some((c, n)),
        _ => split_id(attrs),
    }
}

/// The checks gate `kind` makes for `targets`; `lookup` gives a target's
/// type and state attributes. Targets of types the kind does not cover are
/// not checked (an IAM role in the control-plane wave).
pub fn resolve(
    kind: GateKind,
    targets: &[String],
    lookup: &dyn Fn(&str) -> Option<(String, Value)>,
) -> Checks {
    let mut out = Checks::default();
    for address in targets {
        let Some((type_, attrs)) = lookup(address) else {
            continue;
        };
        if !kind_covers(kind, &type_) {
            continue;
        }
        let address = address.clone();
        let check = match type_.as_str() {
            "aws_eks_cluster" => text(&attrs, "name")
                .or_else(|| text(&attrs, "id"))
                .map(|name| Check::EksCluster {
                    address: address.clone(),
                    name,
                }),
            "aws_eks_node_group" => {
                pair(&attrs, "node_group_name").map(|(cluster, name)| Check::EksNodegroup {
                    address: address.clone(),
                    cluster,
                    name,
                    min_size: attrs
                        .pointer("/scaling_config/0/min_size")
                        .and_then(Value::as_i64),
                })
            }
            "aws_eks_addon" => pair(&attrs, "addon_name").map(|(cluster, name)| Check::EksAddon {
                address: address.clone(),
                cluster,
                name,
            }),
            "aws_eks_fargate_profile" => {
                pair(&attrs, "fargate_profile_name").map(|(cluster, name)| {
                    Check::EksFargateProfile {
                        address: address.clone(),
                        cluster,
                        name,
                    }
                })
            }
            "aws_db_instance" => text(&attrs, "identifier")
                .or_else(|| text(&attrs, "id"))
                .map(|id| Check::RdsInstance {
                    address: address.clone(),
                    id,
                }),
            "aws_rds_cluster" => text(&attrs, "cluster_identifier")
                .or_else(|| text(&attrs, "id"))
                .map(|id| Check::RdsCluster {
                    address: address.clone(),
                    id,
                }),
            _ => None,
        };
        match check {
            Some(c) => out.checks.push(c),
            None => out.unchecked.push(Unchecked {
                address,
                reason: format!("the state names no identifier for this {type_}"),
            }),
        }
    }
    out
}

/// What AWS reports for one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// It does not exist (yet).
    Absent,
    /// A cluster, add-on, Fargate profile or RDS object with its status.
    Status(Option<String>),
    Nodegroup {
        status: Option<String>,
        desired_size: Option<i32>,
        health_issues: Vec<String>,
    },
}

/// The verdict on one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ready,
    /// Not ready yet: keep polling until the timeout. The text says what is seen.
    Waiting(String),
    /// A terminal state: waiting longer will not help.
    Failed(String),
}

/// Judges one check. Pure.
pub fn verdict(check: &Check, observed: &Observed) -> Verdict {
    let what = check.describe();
    let status_of = |s: &Option<String>| s.clone().unwrap_or_else(|| "no status".into());
    match (check, observed) {
        (_, Observed::Absent) => Verdict::Waiting(format!("{what} does not exist yet")),
        (Check::RdsInstance { .. } | Check::RdsCluster { .. }, Observed::Status(s)) => {
            match s.as_deref() {
                Some("available") => Verdict::Ready,
                Some(
                    st @ ("failed"
                    | "incompatible-parameters"
                    | "incompatible-restore"
                    | "incompatible-network"
                    | "inaccessible-encryption-credentials"
                    | "storage-full"),
                ) => Verdict::Failed(format!("{what} is {st}")),
                _ => Verdict::Waiting(format!("{what} is {}", status_of(s))),
            }
        }
        (
            Check::EksNodegroup { min_size, .. },
            Observed::Nodegroup {
                status,
                desired_size,
                health_issues,
            },
        ) => match status.as_deref() {
            Some("ACTIVE") => {
                let want = min_size.unwrap_or(0);
                let have = desired_size.map(i64::from);
                if !health_issues.is_empty() {
                    Verdict::Waiting(format!(
                        "{what} is ACTIVE with health issues: {}",
                        health_issues.join(", ")
                    ))
                } else if have.is_none_or(|h| h < want) {
                    Verdict::Waiting(format!(
                        "{what} is ACTIVE with {} desired nodes, fewer than the state's min_size {want}",
                        have.map(|h| h.to_string()).unwrap_or_else(|| "no".into())
                    ))
                } else {
                    Verdict::Ready
                }
            }
            Some(st @ ("CREATE_FAILED" | "DELETE_FAILED" | "DELETING")) => {
                Verdict::Failed(format!("{what} is {st}"))
            }
            _ => Verdict::Waiting(format!("{what} is {}", status_of(status))),
        },
        (_, Observed::Status(s)) => match s.as_deref() {
            Some("ACTIVE") => Verdict::Ready,
            Some(st @ ("FAILED" | "CREATE_FAILED" | "DELETE_FAILED" | "DELETING")) => {
                Verdict::Failed(format!("{what} is {st}"))
            }
            _ => Verdict::Waiting(format!("{what} is {}", status_of(s))),
        },
        (_, Observed::Nodegroup { status, .. }) => {
            Verdict::Waiting(format!("{what} is {}", status_of(status)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup(address: &str) -> Option<(String, Value)> {
        let (t, a) = match address {
            "aws_iam_role.cluster" => ("aws_iam_role", json!({"name": "role"})),
            "aws_eks_cluster.this" => ("aws_eks_cluster", json!({"id": "prod", "name": "prod"})),
            "aws_eks_node_group.this[\"gpu\"]" => (
                "aws_eks_node_group",
                json!({"id": "prod:gpu", "cluster_name": "prod", "node_group_name": "gpu",
                       "scaling_config": [{"min_size": 2, "max_size": 4, "desired_size": 3}]}),
            ),
            "aws_eks_node_group.old" => ("aws_eks_node_group", json!({"id": "prod:old"})),
            "aws_eks_node_group.broken" => ("aws_eks_node_group", json!({"arn": "x"})),
            "aws_eks_addon.coredns" => (
                "aws_eks_addon",
                json!({"id": "prod:coredns", "cluster_name": "prod", "addon_name": "coredns"}),
            ),
            "aws_db_instance.mlflow" => (
                "aws_db_instance",
                json!({"id": "db-ABC", "identifier": "mlflow"}),
            ),
            "helm_release.x" => ("helm_release", json!({"id": "x"})),
            _ => return None,
        };
        Some((t.to_owned(), a))
    }

    fn targets(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn resolves_checks_per_kind_from_state_attributes() {
        let all = targets(&[
            "aws_iam_role.cluster",
            "aws_eks_cluster.this",
            "aws_eks_node_group.this[\"gpu\"]",
            "aws_eks_node_group.old",
            "aws_eks_node_group.broken",
            "aws_eks_addon.coredns",
            "aws_db_instance.mlflow",
            "helm_release.x",
        ]);
        let cases: Vec<(GateKind, Vec<&str>, Vec<&str>)> = vec![
            (GateKind::EksClusterActive, vec!["EKS cluster prod"], vec![]),
            (
                GateKind::EksNodegroupsActive,
                vec![
                    "EKS node group prod:gpu",
                    "EKS node group prod:old",
                    "EKS add-on prod:coredns",
                ],
                vec!["aws_eks_node_group.broken"],
            ),
            (GateKind::RdsAvailable, vec!["RDS instance mlflow"], vec![]),
            (
                GateKind::AllReady,
                vec![
                    "EKS cluster prod",
                    "EKS node group prod:gpu",
                    "EKS node group prod:old",
                    "EKS add-on prod:coredns",
                    "RDS instance mlflow",
                ],
                vec!["aws_eks_node_group.broken"],
            ),
        ];
        for (kind, want, unchecked) in cases {
            let r = resolve(kind, &all, &lookup);
            let got: Vec<String> = r.checks.iter().map(Check::describe).collect();
            assert_eq!(got, want, "{kind}");
            let un: Vec<&str> = r.unchecked.iter().map(|u| u.address.as_str()).collect();
            assert_eq!(un, unchecked, "{kind}");
        }
        let r = resolve(GateKind::EksNodegroupsActive, &all, &lookup);
        assert_eq!(
            r.checks[0],
            Check::EksNodegroup {
                address: "aws_eks_node_group.this[\"gpu\"]".into(),
                cluster: "prod".into(),
                name: "gpu".into(),
                min_size: Some(2)
            }
        );
    }

    #[test]
    fn verdicts() {
        let ng = Check::EksNodegroup {
            address: "a".into(),
            cluster: "prod".into(),
            name: "gpu".into(),
            min_size: Some(2),
        };
        let cluster = Check::EksCluster {
            address: "c".into(),
            name: "prod".into(),
        };
        let db = Check::RdsInstance {
            address: "d".into(),
            id: "mlflow".into(),
        };
        let n = |status: &str, desired: Option<i32>, issues: &[&str]| Observed::Nodegroup {
            status: Some(status.into()),
            desired_size: desired,
            health_issues: issues.iter().map(|s| s.to_string()).collect(),
        };
        let st = |s: &str| Observed::Status(Some(s.into()));
        let cases: Vec<(&Check, Observed, &str)> = vec![
            (&ng, n("ACTIVE", Some(2), &[]), "ready"),
            (&ng, n("ACTIVE", Some(5), &[]), "ready"),
            (&ng, n("ACTIVE", Some(1), &[]), "waiting: EKS node group prod:gpu is ACTIVE with 1 desired nodes, fewer than the state's min_size 2"),
            (&ng, n("ACTIVE", None, &[]), "waiting: EKS node group prod:gpu is ACTIVE with no desired nodes, fewer than the state's min_size 2"),
            (&ng, n("ACTIVE", Some(2), &["NodeCreationFailure"]), "waiting: EKS node group prod:gpu is ACTIVE with health issues: NodeCreationFailure"),
            (&ng, n("CREATING", Some(2), &[]), "waiting: EKS node group prod:gpu is CREATING"),
            (&ng, n("CREATE_FAILED", Some(2), &[]), "failed: EKS node group prod:gpu is CREATE_FAILED"),
            (&ng, Observed::Absent, "waiting: EKS node group prod:gpu does not exist yet"),
            (&cluster, st("ACTIVE"), "ready"),
            (&cluster, st("CREATING"), "waiting: EKS cluster prod is CREATING"),
            (&cluster, st("FAILED"), "failed: EKS cluster prod is FAILED"),
            (&cluster, Observed::Status(None), "waiting: EKS cluster prod is no status"),
            (&db, st("available"), "ready"),
            (&db, st("backing-up"), "waiting: RDS instance mlflow is backing-up"),
            (&db, st("storage-full"), "failed: RDS instance mlflow is storage-full"),
        ];
        for (check, observed, want) in cases {
            let got = match verdict(check, &observed) {
                Verdict::Ready => "ready".to_owned(),
                Verdict::Waiting(w) => format!("waiting: {w}"),
                Verdict::Failed(f) => format!("failed: {f}"),
            };
            assert_eq!(got, want, "{observed:?}");
        }
    }
}
