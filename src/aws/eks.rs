//! EKS adapter: clusters, node groups, add-ons and Fargate profiles
//! (list calls one per page, describe calls one per object).

use std::collections::{BTreeMap, HashMap};

use super::{AwsError, AwsErrorKind};

/// A cluster, as far as drift compares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterInfo {
    pub name: String,
    pub arn: String,
    pub version: Option<String>,
    pub role_arn: Option<String>,
    pub status: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub endpoint_private_access: bool,
    pub endpoint_public_access: bool,
    pub public_access_cidrs: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// A managed node group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodegroupInfo {
    pub cluster: String,
    pub name: String,
    pub arn: String,
    pub status: Option<String>,
    pub node_role_arn: Option<String>,
    pub subnet_ids: Vec<String>,
    pub instance_types: Vec<String>,
    pub ami_type: Option<String>,
    pub capacity_type: Option<String>,
    pub disk_size: Option<i32>,
    pub min_size: Option<i32>,
    pub max_size: Option<i32>,
    pub desired_size: Option<i32>,
    pub labels: BTreeMap<String, String>,
    /// `(key, value, effect)`; effect as Terraform writes it (`NO_SCHEDULE`).
    pub taints: Vec<(String, Option<String>, String)>,
    pub version: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Codes of the node group's health issues (`NodeCreationFailure`, ...).
    pub health_issues: Vec<String>,
}

/// An add-on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddonInfo {
    pub cluster: String,
    pub name: String,
    pub arn: String,
    pub version: Option<String>,
    pub service_account_role_arn: Option<String>,
    pub status: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// A Fargate profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FargateProfileInfo {
    pub cluster: String,
    pub name: String,
    pub arn: String,
    pub pod_execution_role_arn: Option<String>,
    pub subnet_ids: Vec<String>,
    /// `(namespace, labels)` per selector.
    pub selectors: Vec<(String, BTreeMap<String, String>)>,
    pub status: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// An access entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessEntryInfo {
    pub cluster: String,
    pub principal_arn: String,
    /// `STANDARD`, `EC2_LINUX`, ...
    pub type_: Option<String>,
    pub kubernetes_groups: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// An access policy associated with a principal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessPolicyInfo {
    pub policy_arn: String,
    /// `cluster` or `namespace`.
    pub scope_type: Option<String>,
    pub namespaces: Vec<String>,
}

/// A pod identity association.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodIdentityInfo {
    pub cluster: String,
    pub association_id: String,
    pub namespace: Option<String>,
    pub service_account: Option<String>,
    pub role_arn: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// The EKS client.
#[derive(Clone, Debug)]
pub struct Eks {
    client: aws_sdk_eks::Client,
}

fn sorted(m: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn none_if_absent<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == AwsErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Runs a paginated EKS list call: `$call` is a request builder; its output
/// has `$items()` and `next_token()`.
macro_rules! list_all {
    ($op:literal, $what:expr, $call:expr, $items:ident) => {{
        let mut out: Vec<String> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = $call
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk($op, $what, e))?;
            out.extend(page.$items().iter().cloned());
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }};
}

impl Eks {
    pub(super) fn new(client: aws_sdk_eks::Client) -> Self {
        Eks { client }
    }

    /// Every cluster name (ListClusters).
    pub async fn list_clusters(&self) -> Result<Vec<String>, AwsError> {
        list_all!(
            "ListClusters",
            "the account's EKS clusters",
            self.client.list_clusters(),
            clusters
        )
    }

    /// Node group names of a cluster (ListNodegroups).
    pub async fn list_nodegroups(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        list_all!(
            "ListNodegroups",
            format!("EKS cluster {cluster}"),
            self.client.list_nodegroups().cluster_name(cluster),
            nodegroups
        )
    }

    /// Add-on names of a cluster (ListAddons).
    pub async fn list_addons(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        list_all!(
            "ListAddons",
            format!("EKS cluster {cluster}"),
            self.client.list_addons().cluster_name(cluster),
            addons
        )
    }

    /// Fargate profile names of a cluster (ListFargateProfiles).
    pub async fn list_fargate_profiles(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        list_all!(
            "ListFargateProfiles",
            format!("EKS cluster {cluster}"),
            self.client.list_fargate_profiles().cluster_name(cluster),
            fargate_profile_names
        )
    }

    /// DescribeCluster; `None` when it does not exist.
    pub async fn describe_cluster(&self, name: &str) -> Result<Option<ClusterInfo>, AwsError> {
        let r = self
            .client
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeCluster", format!("EKS cluster {name}"), e));
        Ok(none_if_absent(r)?.and_then(|resp| {
            let c = resp.cluster?;
            let vpc = c.resources_vpc_config();
            Some(ClusterInfo {
                name: c.name().unwrap_or(name).to_owned(),
                arn: c.arn().unwrap_or_default().to_owned(),
                version: c.version().map(str::to_owned),
                role_arn: c.role_arn().map(str::to_owned),
                status: c.status().map(|s| s.as_str().to_owned()),
                subnet_ids: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
                security_group_ids: vpc
                    .map(|v| v.security_group_ids().to_vec())
                    .unwrap_or_default(),
                endpoint_private_access: vpc.is_some_and(|v| v.endpoint_private_access()),
                endpoint_public_access: vpc.is_some_and(|v| v.endpoint_public_access()),
                public_access_cidrs: vpc
                    .map(|v| v.public_access_cidrs().to_vec())
                    .unwrap_or_default(),
                tags: sorted(c.tags()),
            })
        }))
    }

    /// DescribeNodegroup; `None` when it does not exist.
    pub async fn describe_nodegroup(
        &self,
        cluster: &str,
        name: &str,
    ) -> Result<Option<NodegroupInfo>, AwsError> {
        let r = self
            .client
            .describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "DescribeNodegroup",
                    format!("EKS node group {cluster}:{name}"),
                    e,
                )
            });
        Ok(none_if_absent(r)?.and_then(|resp| {
            let n = resp.nodegroup?;
            let scaling = n.scaling_config();
            Some(NodegroupInfo {
                cluster: cluster.to_owned(),
                name: n.nodegroup_name().unwrap_or(name).to_owned(),
                arn: n.nodegroup_arn().unwrap_or_default().to_owned(),
                status: n.status().map(|s| s.as_str().to_owned()),
                node_role_arn: n.node_role().map(str::to_owned),
                subnet_ids: n.subnets().to_vec(),
                instance_types: n.instance_types().to_vec(),
                ami_type: n.ami_type().map(|s| s.as_str().to_owned()),
                capacity_type: n.capacity_type().map(|s| s.as_str().to_owned()),
                disk_size: n.disk_size(),
                min_size: scaling.and_then(|s| s.min_size()),
                max_size: scaling.and_then(|s| s.max_size()),
                desired_size: scaling.and_then(|s| s.desired_size()),
                labels: sorted(n.labels()),
                taints: n
                    .taints()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_owned(),
                            t.value().map(str::to_owned),
                            t.effect()
                                .map(|e| e.as_str().to_owned())
                                .unwrap_or_default(),
                        )
                    })
                    .collect(),
                version: n.version().map(str::to_owned),
                tags: sorted(n.tags()),
                health_issues: n
                    .health()
                    .map(|h| {
                        h.issues()
                            .iter()
                            .map(|i| {
                                i.code()
                                    .map(|c| c.as_str().to_owned())
                                    .unwrap_or_else(|| "unknown".into())
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        }))
    }

    /// DescribeAddon; `None` when it does not exist.
    pub async fn describe_addon(
        &self,
        cluster: &str,
        name: &str,
    ) -> Result<Option<AddonInfo>, AwsError> {
        let r = self
            .client
            .describe_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("DescribeAddon", format!("EKS add-on {cluster}:{name}"), e)
            });
        Ok(none_if_absent(r)?.and_then(|resp| {
            let a = resp.addon?;
            Some(AddonInfo {
                cluster: cluster.to_owned(),
                name: a.addon_name().unwrap_or(name).to_owned(),
                arn: a.addon_arn().unwrap_or_default().to_owned(),
                version: a.addon_version().map(str::to_owned),
                service_account_role_arn: a.service_account_role_arn().map(str::to_owned),
                status: a.status().map(|s| s.as_str().to_owned()),
                tags: sorted(a.tags()),
            })
        }))
    }

    /// DescribeFargateProfile; `None` when it does not exist.
    pub async fn describe_fargate_profile(
        &self,
        cluster: &str,
        name: &str,
    ) -> Result<Option<FargateProfileInfo>, AwsError> {
        let r = self
            .client
            .describe_fargate_profile()
            .cluster_name(cluster)
            .fargate_profile_name(name)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "DescribeFargateProfile",
                    format!("EKS Fargate profile {cluster}:{name}"),
                    e,
                )
            });
        Ok(none_if_absent(r)?.and_then(|resp| {
            let p = resp.fargate_profile?;
            Some(FargateProfileInfo {
                cluster: cluster.to_owned(),
                name: p.fargate_profile_name().unwrap_or(name).to_owned(),
                arn: p.fargate_profile_arn().unwrap_or_default().to_owned(),
                pod_execution_role_arn: p.pod_execution_role_arn().map(str::to_owned),
                subnet_ids: p.subnets().to_vec(),
                selectors: p
                    .selectors()
                    .iter()
                    .map(|s| {
                        (
                            s.namespace().unwrap_or_default().to_owned(),
                            sorted(s.labels()),
                        )
                    })
                    .collect(),
                status: p.status().map(|s| s.as_str().to_owned()),
                tags: sorted(p.tags()),
            })
        }))
    }

    /// DescribeAccessEntry; `None` when it (or its cluster) does not exist.
    pub async fn describe_access_entry(
        &self,
        cluster: &str,
        principal_arn: &str,
    ) -> Result<Option<AccessEntryInfo>, AwsError> {
        let r = self
            .client
            .describe_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal_arn)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "DescribeAccessEntry",
                    format!("EKS access entry {cluster}:{principal_arn}"),
                    e,
                )
            });
        Ok(none_if_absent(r)?.and_then(|resp| {
            let a = resp.access_entry?;
            Some(AccessEntryInfo {
                cluster: cluster.to_owned(),
                principal_arn: a.principal_arn().unwrap_or(principal_arn).to_owned(),
                type_: a.r#type().map(str::to_owned),
                kubernetes_groups: a.kubernetes_groups().to_vec(),
                tags: sorted(a.tags()),
            })
        }))
    }

    /// The access policies associated with a principal
    /// (ListAssociatedAccessPolicies, pages of 100); `None` when the access
    /// entry (or its cluster) does not exist.
    pub async fn list_associated_access_policies(
        &self,
        cluster: &str,
        principal_arn: &str,
    ) -> Result<Option<Vec<AccessPolicyInfo>>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let r = self
                .client
                .list_associated_access_policies()
                .cluster_name(cluster)
                .principal_arn(principal_arn)
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        "ListAssociatedAccessPolicies",
                        format!("EKS access entry {cluster}:{principal_arn}"),
                        e,
                    )
                });
            let Some(page) = none_if_absent(r)? else {
                return Ok(None);
            };
            out.extend(page.associated_access_policies().iter().map(|p| {
                let scope = p.access_scope();
                AccessPolicyInfo {
                    policy_arn: p.policy_arn().unwrap_or_default().to_owned(),
                    scope_type: scope
                        .and_then(|s| s.r#type())
                        .map(|t| t.as_str().to_owned()),
                    namespaces: scope.map(|s| s.namespaces().to_vec()).unwrap_or_default(),
                }
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(Some(out))
    }

    /// DescribePodIdentityAssociation; `None` when it does not exist.
    pub async fn describe_pod_identity_association(
        &self,
        cluster: &str,
        association_id: &str,
    ) -> Result<Option<PodIdentityInfo>, AwsError> {
        let r = self
            .client
            .describe_pod_identity_association()
            .cluster_name(cluster)
            .association_id(association_id)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "DescribePodIdentityAssociation",
                    format!("EKS pod identity association {cluster},{association_id}"),
                    e,
                )
            });
        Ok(none_if_absent(r)?.and_then(|resp| {
            let a = resp.association?;
            Some(PodIdentityInfo {
                cluster: cluster.to_owned(),
                association_id: a.association_id().unwrap_or(association_id).to_owned(),
                namespace: a.namespace().map(str::to_owned),
                service_account: a.service_account().map(str::to_owned),
                role_arn: a.role_arn().map(str::to_owned),
                tags: sorted(a.tags()),
            })
        }))
    }
}
