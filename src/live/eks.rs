//! EKS: ListClusters (shared by every EKS type), DescribeCluster for the
//! clusters the state has, ListNodegroups/ListAddons/ListFargateProfiles per
//! cluster that needs them, and describes only for objects the state has.
//! Identifiers: the cluster name; `cluster:name` for node groups, add-ons
//! and Fargate profiles (as the AWS provider's IDs).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{
    attr_or_id, attr_str, each, joined_or_id, put_all, LiveObject, ScanRequest, TypeScan, TypeSpec,
};
use crate::aws::eks::{
    AccessEntryInfo, AccessPolicyInfo, AddonInfo, ClusterInfo, Eks, FargateProfileInfo,
    NodegroupInfo, PodIdentityInfo,
};
use crate::aws::{Aws, AwsError, AwsErrorKind};

pub const CLUSTER: &str = "aws_eks_cluster";
pub const NODE_GROUP: &str = "aws_eks_node_group";
pub const ADDON: &str = "aws_eks_addon";
pub const FARGATE_PROFILE: &str = "aws_eks_fargate_profile";
pub const ACCESS_ENTRY: &str = "aws_eks_access_entry";
pub const ACCESS_POLICY_ASSOCIATION: &str = "aws_eks_access_policy_association";
pub const POD_IDENTITY_ASSOCIATION: &str = "aws_eks_pod_identity_association";

fn cluster_key(a: &Value) -> Option<String> {
    attr_or_id(a, "name")
}
fn node_group_key(a: &Value) -> Option<String> {
    joined_or_id(a, "cluster_name", "node_group_name")
}
fn addon_key(a: &Value) -> Option<String> {
    joined_or_id(a, "cluster_name", "addon_name")
}
fn fargate_key(a: &Value) -> Option<String> {
    joined_or_id(a, "cluster_name", "fargate_profile_name")
}

/// The provider's ID: `cluster:principal_arn`.
fn access_entry_key(a: &Value) -> Option<String> {
    joined_or_id(a, "cluster_name", "principal_arn")
}
/// The provider's ID: `cluster#principal_arn#policy_arn`.
fn access_policy_key(a: &Value) -> Option<String> {
    match (
        attr_str(a, "cluster_name"),
        attr_str(a, "principal_arn"),
        attr_str(a, "policy_arn"),
    ) {
        (Some(c), Some(p), Some(arn)) => Some(format!("{c}#{p}#{arn}")),
        _ => attr_str(a, "id").map(str::to_owned),
    }
}
/// The provider's ID: `cluster,association_id`.
fn pod_identity_key(a: &Value) -> Option<String> {
    match (attr_str(a, "cluster_name"), attr_str(a, "association_id")) {
        (Some(c), Some(id)) => Some(format!("{c},{id}")),
        _ => attr_str(a, "id").map(str::to_owned),
    }
}

/// The types enumerated from the cluster listing (one failure fails them all).
const LISTED: [&str; 4] = [CLUSTER, NODE_GROUP, ADDON, FARGATE_PROFILE];

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(CLUSTER, cluster_key)
        .compares("version, role_arn, vpc_config (subnet_ids, endpoint access), tags (not status)")
        .unmanaged(),
    TypeSpec::new(NODE_GROUP, node_group_key)
        .compares("scaling_config (desired ignored by default), instance/AMI/capacity type, labels, taint, role, subnets, tags")
        .unmanaged(),
    TypeSpec::new(ADDON, addon_key).compares("addon_version, service_account_role_arn, tags"),
    TypeSpec::new(FARGATE_PROFILE, fargate_key)
        .compares("pod_execution_role_arn, subnet_ids, selector, tags"),
    TypeSpec::new(ACCESS_ENTRY, access_entry_key).compares("type, kubernetes_groups, tags"),
    TypeSpec::new(ACCESS_POLICY_ASSOCIATION, access_policy_key)
        .compares("access_scope (type, namespaces)"),
    TypeSpec::new(POD_IDENTITY_ASSOCIATION, pod_identity_key)
        .compares("namespace, service_account, role_arn, tags"),
];

/// `aws_eks_cluster`: version, role, subnets, endpoint access, tags (not
/// its status, which Terraform refreshes without a change).
pub fn cluster_attrs(c: &ClusterInfo) -> Vec<(String, Value)> {
    vec![
        ("version".into(), json!(c.version)),
        ("role_arn".into(), json!(c.role_arn)),
        ("vpc_config.0.subnet_ids".into(), json!(c.subnet_ids)),
        (
            "vpc_config.0.endpoint_private_access".into(),
            json!(c.endpoint_private_access),
        ),
        (
            "vpc_config.0.endpoint_public_access".into(),
            json!(c.endpoint_public_access),
        ),
        ("tags".into(), json!(c.tags)),
    ]
}

/// `aws_eks_node_group`: scaling (desired size is compared but ignored by
/// a built-in rule), instance types, AMI and capacity type, labels, taints,
/// role, subnets, tags.
pub fn node_group_attrs(n: &NodegroupInfo) -> Vec<(String, Value)> {
    vec![
        ("scaling_config.0.min_size".into(), json!(n.min_size)),
        ("scaling_config.0.max_size".into(), json!(n.max_size)),
        (
            "scaling_config.0.desired_size".into(),
            json!(n.desired_size),
        ),
        ("instance_types".into(), json!(n.instance_types)),
        ("ami_type".into(), json!(n.ami_type)),
        ("capacity_type".into(), json!(n.capacity_type)),
        ("labels".into(), json!(n.labels)),
        (
            "taint".into(),
            Value::Array(
                n.taints
                    .iter()
                    .map(|(k, v, e)| json!({"key": k, "value": v, "effect": e}))
                    .collect(),
            ),
        ),
        ("node_role_arn".into(), json!(n.node_role_arn)),
        ("subnet_ids".into(), json!(n.subnet_ids)),
        ("tags".into(), json!(n.tags)),
    ]
}

/// `aws_eks_addon`: version, service account role, tags.
pub fn addon_attrs(a: &AddonInfo) -> Vec<(String, Value)> {
    vec![
        ("addon_version".into(), json!(a.version)),
        (
            "service_account_role_arn".into(),
            json!(a.service_account_role_arn),
        ),
        ("tags".into(), json!(a.tags)),
    ]
}

/// `aws_eks_fargate_profile`: role, subnets, selectors, tags.
pub fn fargate_attrs(p: &FargateProfileInfo) -> Vec<(String, Value)> {
    vec![
        (
            "pod_execution_role_arn".into(),
            json!(p.pod_execution_role_arn),
        ),
        ("subnet_ids".into(), json!(p.subnet_ids)),
        (
            "selector".into(),
            Value::Array(
                p.selectors
                    .iter()
                    .map(|(ns, labels)| json!({"namespace": ns, "labels": labels}))
                    .collect(),
            ),
        ),
        ("tags".into(), json!(p.tags)),
    ]
}

/// `aws_eks_access_entry`: type, Kubernetes groups (a set), tags.
pub fn access_entry_attrs(e: &AccessEntryInfo) -> Vec<(String, Value)> {
    vec![
        ("type".into(), json!(e.type_)),
        ("kubernetes_groups".into(), json!(e.kubernetes_groups)),
        ("tags".into(), json!(e.tags)),
    ]
}

/// `aws_eks_access_policy_association`: the access scope.
pub fn access_policy_attrs(p: &AccessPolicyInfo) -> Vec<(String, Value)> {
    vec![
        ("access_scope.0.type".into(), json!(p.scope_type)),
        ("access_scope.0.namespaces".into(), json!(p.namespaces)),
    ]
}

/// `aws_eks_pod_identity_association`: namespace, service account, role, tags.
pub fn pod_identity_attrs(p: &PodIdentityInfo) -> Vec<(String, Value)> {
    vec![
        ("namespace".into(), json!(p.namespace)),
        ("service_account".into(), json!(p.service_account)),
        ("role_arn".into(), json!(p.role_arn)),
        ("tags".into(), json!(p.tags)),
    ]
}

super::family!("EKS");

/// Enumerates the wanted EKS types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Vec<(&'static str, TypeScan)> {
    let mut out = Vec::new();
    if LISTED.iter().any(|t| req.wants(t)) {
        let r = scan_inner(aws, req, &mut out).await;
        put_all(&mut out, &LISTED, req, &r);
    }
    let eks = aws.eks();
    if req.wants(ACCESS_ENTRY) {
        out.push((ACCESS_ENTRY, listed(access_entries(&eks, req).await)));
    }
    if req.wants(ACCESS_POLICY_ASSOCIATION) {
        out.push((
            ACCESS_POLICY_ASSOCIATION,
            listed(access_policies(&eks, req).await),
        ));
    }
    if req.wants(POD_IDENTITY_ASSOCIATION) {
        out.push((
            POD_IDENTITY_ASSOCIATION,
            listed(pod_identities(&eks, req).await),
        ));
    }
    out
}

fn listed(r: Result<Vec<LiveObject>, AwsError>) -> TypeScan {
    match r {
        Ok(objs) => TypeScan::Listed(objs),
        Err(e) => TypeScan::Failed(e),
    }
}

/// DescribeAccessEntry per managed entry: it carries the type, groups and
/// tags that the listing (principal ARNs only) does not, and answers
/// NotFound for a missing entry, so no listing is needed.
async fn access_entries(eks: &Eks, req: &ScanRequest) -> Result<Vec<LiveObject>, AwsError> {
    let todo: Vec<(String, String)> = req
        .managed(ACCESS_ENTRY)
        .iter()
        .filter_map(|id| split(id))
        .collect();
    let found = each(req, todo, |(c, p)| {
        let eks = eks.clone();
        async move {
            Ok(eks
                .describe_access_entry(&c, &p)
                .await?
                .map(|e| LiveObject {
                    attrs: access_entry_attrs(&e),
                    tags: Some(e.tags.clone()),
                    ..LiveObject::named(format!("{c}:{p}"), &p)
                }))
        }
    })
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// `cluster#principal#policy` -> its three parts.
fn split_policy_id(id: &str) -> Option<(String, String, String)> {
    let mut parts = id.splitn(3, '#');
    Some((
        parts.next()?.to_owned(),
        parts.next()?.to_owned(),
        parts.next()?.to_owned(),
    ))
}

/// ListAssociatedAccessPolicies once per principal the state's associations name.
async fn access_policies(eks: &Eks, req: &ScanRequest) -> Result<Vec<LiveObject>, AwsError> {
    let managed = req.managed(ACCESS_POLICY_ASSOCIATION);
    let principals: BTreeSet<(String, String)> = managed
        .iter()
        .filter_map(|id| split_policy_id(id).map(|(c, p, _)| (c, p)))
        .collect();
    let lists = each(req, principals.into_iter().collect(), |(c, p)| {
        let eks = eks.clone();
        async move {
            let policies = eks
                .list_associated_access_policies(&c, &p)
                .await?
                .unwrap_or_default();
            Ok((c, p, policies))
        }
    })
    .await?;
    let mut objs = Vec::new();
    for (c, p, policies) in lists {
        for policy in policies {
            let id = format!("{c}#{p}#{}", policy.policy_arn);
            if managed.contains(&id) {
                objs.push(LiveObject {
                    attrs: access_policy_attrs(&policy),
                    ..LiveObject::named(&id, &policy.policy_arn)
                });
            }
        }
    }
    Ok(objs)
}

/// DescribePodIdentityAssociation per managed association: the listing
/// does not carry the role, and the describe answers NotFound for a missing one.
async fn pod_identities(eks: &Eks, req: &ScanRequest) -> Result<Vec<LiveObject>, AwsError> {
    let todo: Vec<(String, String)> = req
        .managed(POD_IDENTITY_ASSOCIATION)
        .iter()
        .filter_map(|id| {
            let (c, a) = id.split_once(',')?;
            Some((c.to_owned(), a.to_owned()))
        })
        .collect();
    let found = each(req, todo, |(c, a)| {
        let eks = eks.clone();
        async move {
            Ok(eks
                .describe_pod_identity_association(&c, &a)
                .await?
                .map(|p| LiveObject {
                    attrs: pod_identity_attrs(&p),
                    tags: Some(p.tags.clone()),
                    ..LiveObject::named(format!("{c},{a}"), &a)
                }))
        }
    })
    .await?;
    Ok(found.into_iter().flatten().collect())
}

fn split(id: &str) -> Option<(String, String)> {
    let (c, n) = id.split_once(':')?;
    Some((c.to_owned(), n.to_owned()))
}

fn absent_is_empty(r: Result<Vec<String>, AwsError>) -> Result<Vec<String>, AwsError> {
    match r {
        Err(e) if e.kind == AwsErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

async fn scan_inner(
    aws: &Aws,
    req: &ScanRequest,
    out: &mut Vec<(&'static str, TypeScan)>,
) -> Result<(), AwsError> {
    let eks = aws.eks();
    let tag_scope = req.unmanaged && !req.scope.tags.is_empty();
    let managed_clusters = req.managed(CLUSTER);
    let children = |t: &str| -> BTreeMap<String, BTreeSet<String>> {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for id in req.managed(t) {
            if let Some((c, _)) = split(&id) {
                m.entry(c).or_default().insert(id);
            }
        }
        m
    };

    // Clusters.
    let clusters: Vec<String> = if req.naive {
        managed_clusters.iter().cloned().collect()
    } else {
        eks.list_clusters().await?
    };
    if req.wants(CLUSTER) {
        let mut objs = Vec::new();
        let mut todo = Vec::new();
        for c in &clusters {
            if managed_clusters.contains(c) {
                todo.push((c.clone(), true));
            } else if req.unmanaged && req.scope.name_matches(c) {
                if tag_scope {
                    todo.push((c.clone(), false));
                } else {
                    objs.push(LiveObject::named(c, c));
                }
            }
        }
        let described = each(req, todo, |(name, is_managed)| {
            let eks = eks.clone();
            async move {
                Ok(eks.describe_cluster(&name).await?.map(|info| LiveObject {
                    attrs: if is_managed {
                        cluster_attrs(&info)
                    } else {
                        Vec::new()
                    },
                    tags: Some(info.tags.clone()),
                    ..LiveObject::named(&name, &name)
                }))
            }
        })
        .await?;
        objs.extend(described.into_iter().flatten());
        out.push((CLUSTER, TypeScan::Listed(objs)));
    }

    // Node groups, add-ons and Fargate profiles: list per cluster, describe managed ones.
    for type_ in [NODE_GROUP, ADDON, FARGATE_PROFILE] {
        if !req.wants(type_) {
            continue;
        }
        let managed = req.managed(type_);
        let by_cluster = children(type_);
        let list_clusters: Vec<String> = if req.unmanaged && type_ == NODE_GROUP {
            clusters.clone()
        } else {
            by_cluster
                .keys()
                .filter(|c| req.naive || clusters.contains(c))
                .cloned()
                .collect()
        };
        // (cluster, name) pairs that exist.
        let existing: Vec<(String, String)> = if req.naive {
            managed.iter().filter_map(|id| split(id)).collect()
        } else {
            let lists = each(req, list_clusters, |c| {
                let eks = eks.clone();
                async move {
                    let names = match type_ {
                        NODE_GROUP => absent_is_empty(eks.list_nodegroups(&c).await)?,
                        ADDON => absent_is_empty(eks.list_addons(&c).await)?,
                        _ => absent_is_empty(eks.list_fargate_profiles(&c).await)?,
                    };
                    Ok(names
                        .into_iter()
                        .map(|n| (c.clone(), n))
                        .collect::<Vec<_>>())
                }
            })
            .await?;
            lists.into_iter().flatten().collect()
        };
        let mut objs = Vec::new();
        let mut todo = Vec::new();
        for (c, n) in existing {
            let id = format!("{c}:{n}");
            if managed.contains(&id) {
                todo.push((c, n));
            } else if req.unmanaged
                && type_ == NODE_GROUP
                && req.scope.name_matches(&n)
                && !tag_scope
            {
                objs.push(LiveObject::named(&id, &n));
            } else if req.unmanaged && type_ == NODE_GROUP && req.scope.name_matches(&n) {
                todo.push((c, n));
            }
        }
        let described = each(req, todo, |(c, n)| {
            let eks = eks.clone();
            let id = format!("{c}:{n}");
            let is_managed = managed.contains(&id);
            async move {
                let (attrs, tags) = match type_ {
                    NODE_GROUP => match eks.describe_nodegroup(&c, &n).await? {
                        Some(i) => (node_group_attrs(&i), i.tags),
                        None => return Ok(None),
                    },
                    ADDON => match eks.describe_addon(&c, &n).await? {
                        Some(i) => (addon_attrs(&i), i.tags),
                        None => return Ok(None),
                    },
                    _ => match eks.describe_fargate_profile(&c, &n).await? {
                        Some(i) => (fargate_attrs(&i), i.tags),
                        None => return Ok(None),
                    },
                };
                Ok(Some(LiveObject {
                    attrs: if is_managed { attrs } else { Vec::new() },
                    tags: Some(tags),
                    ..LiveObject::named(&id, &n)
                }))
            }
        })
        .await?;
        objs.extend(described.into_iter().flatten());
        out.push((type_, TypeScan::Listed(objs)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key function, a state instance's attributes and the identifier expected.
    type KeyCase = (fn(&Value) -> Option<String>, Value, Option<String>);

    #[test]
    fn identifiers_follow_the_provider_ids() {
        let ng =
            json!({"id": "prod:workers", "cluster_name": "prod", "node_group_name": "workers"});
        assert_eq!(node_group_key(&ng), Some("prod:workers".into()));
        assert_eq!(
            addon_key(&json!({"cluster_name": "prod", "addon_name": "vpc-cni"})),
            Some("prod:vpc-cni".into())
        );
        assert_eq!(
            fargate_key(&json!({"id": "prod:default"})),
            Some("prod:default".into())
        );
        assert_eq!(cluster_key(&json!({"name": "prod"})), Some("prod".into()));
    }

    #[test]
    fn access_and_pod_identity_identifiers() {
        let role = "arn:aws:iam::123456789012:role/admin";
        let policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
        let cases: [KeyCase; 7] = [
            (
                access_entry_key,
                json!({"id": format!("prod:{role}"), "cluster_name": "prod", "principal_arn": role}),
                Some(format!("prod:{role}")),
            ),
            (
                access_entry_key,
                json!({"id": "prod:x"}),
                Some("prod:x".into()),
            ),
            (
                access_policy_key,
                json!({"cluster_name": "prod", "principal_arn": role, "policy_arn": policy}),
                Some(format!("prod#{role}#{policy}")),
            ),
            (access_policy_key, json!({"cluster_name": "prod"}), None),
            (
                pod_identity_key,
                json!({"id": "prod,a-1", "cluster_name": "prod", "association_id": "a-1"}),
                Some("prod,a-1".into()),
            ),
            (
                pod_identity_key,
                json!({"id": "prod,a-2"}),
                Some("prod,a-2".into()),
            ),
            (pod_identity_key, json!({}), None),
        ];
        for (key, attrs, want) in cases {
            assert_eq!(key(&attrs), want, "{attrs}");
        }
        assert_eq!(
            split_policy_id(&format!("prod#{role}#{policy}")),
            Some(("prod".into(), role.into(), policy.into()))
        );
        assert_eq!(split_policy_id("prod#x"), None);
    }

    #[test]
    fn access_and_pod_identity_mappings() {
        let e = AccessEntryInfo {
            cluster: "prod".into(),
            principal_arn: "arn:aws:iam::1:role/dev".into(),
            type_: Some("STANDARD".into()),
            kubernetes_groups: vec!["dev".into(), "view".into()],
            tags: BTreeMap::from([("team".to_owned(), "ml".to_owned())]),
        };
        let attrs: BTreeMap<String, Value> = access_entry_attrs(&e).into_iter().collect();
        assert_eq!(attrs["type"], "STANDARD");
        assert_eq!(attrs["kubernetes_groups"], json!(["dev", "view"]));
        assert_eq!(attrs["tags"], json!({"team": "ml"}));
        let p = AccessPolicyInfo {
            policy_arn: "arn:p".into(),
            scope_type: Some("namespace".into()),
            namespaces: vec!["apps".into()],
        };
        let attrs: BTreeMap<String, Value> = access_policy_attrs(&p).into_iter().collect();
        assert_eq!(attrs["access_scope.0.type"], "namespace");
        assert_eq!(attrs["access_scope.0.namespaces"], json!(["apps"]));
        let i = PodIdentityInfo {
            namespace: Some("apps".into()),
            service_account: Some("api".into()),
            role_arn: Some("arn:aws:iam::1:role/api".into()),
            ..PodIdentityInfo::default()
        };
        let attrs: BTreeMap<String, Value> = pod_identity_attrs(&i).into_iter().collect();
        assert_eq!(attrs["namespace"], "apps");
        assert_eq!(attrs["service_account"], "api");
        assert_eq!(attrs["role_arn"], "arn:aws:iam::1:role/api");
    }

    #[test]
    fn node_group_mapping_has_the_autoscaler_field_and_taints() {
        let n = NodegroupInfo {
            min_size: Some(1),
            max_size: Some(5),
            desired_size: Some(3),
            instance_types: vec!["m6i.large".into()],
            taints: vec![("gpu".into(), Some("true".into()), "NO_SCHEDULE".into())],
            ..NodegroupInfo::default()
        };
        let attrs: BTreeMap<String, Value> = node_group_attrs(&n).into_iter().collect();
        assert_eq!(attrs["scaling_config.0.max_size"], 5);
        assert_eq!(attrs["scaling_config.0.desired_size"], 3);
        assert_eq!(
            attrs["taint"],
            json!([{"key": "gpu", "value": "true", "effect": "NO_SCHEDULE"}])
        );
        let c = ClusterInfo {
            version: Some("1.29".into()),
            endpoint_public_access: true,
            ..ClusterInfo::default()
        };
        let attrs: BTreeMap<String, Value> = cluster_attrs(&c).into_iter().collect();
        assert_eq!(attrs["version"], "1.29");
        assert_eq!(attrs["vpc_config.0.endpoint_public_access"], true);
    }
}
