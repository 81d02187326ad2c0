//! RDS: DescribeDBInstances (one call per 100 instances, shared by
//! `aws_db_instance` and `aws_rds_cluster_instance`), DescribeDBClusters and
//! DescribeDBSubnetGroups: no per-resource calls. Identifiers: the DB
//! instance/cluster identifier and the subnet group name.

use serde_json::{json, Value};

use super::{attr_or_id, each, put_all, LiveObject, ScanRequest, TypeScan, TypeSpec};
use crate::aws::rds::{DbClusterInfo, DbInstanceInfo, SubnetGroupInfo};
use crate::aws::{Aws, AwsError};

pub const INSTANCE: &str = "aws_db_instance";
pub const CLUSTER: &str = "aws_rds_cluster";
pub const CLUSTER_INSTANCE: &str = "aws_rds_cluster_instance";
pub const SUBNET_GROUP: &str = "aws_db_subnet_group";

fn instance_key(a: &Value) -> Option<String> {
    attr_or_id(a, "identifier")
}
fn cluster_key(a: &Value) -> Option<String> {
    attr_or_id(a, "cluster_identifier")
}
fn subnet_group_key(a: &Value) -> Option<String> {
    attr_or_id(a, "name")
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(INSTANCE, instance_key).unmanaged(),
    TypeSpec::new(CLUSTER, cluster_key).unmanaged(),
    TypeSpec::new(CLUSTER_INSTANCE, instance_key),
    TypeSpec::new(SUBNET_GROUP, subnet_group_key).unmanaged(),
];

/// `aws_db_instance`: class, engine and version, storage, multi-AZ, backup
/// retention, deletion protection, encryption, public access, status, tags.
pub fn instance_attrs(i: &DbInstanceInfo) -> Vec<(String, Value)> {
    vec![
        ("instance_class".into(), json!(i.instance_class)),
        ("engine".into(), json!(i.engine)),
        ("engine_version".into(), json!(i.engine_version)),
        ("allocated_storage".into(), json!(i.allocated_storage)),
        ("storage_type".into(), json!(i.storage_type)),
        ("multi_az".into(), json!(i.multi_az.unwrap_or(false))),
        (
            "backup_retention_period".into(),
            json!(i.backup_retention_period),
        ),
        (
            "deletion_protection".into(),
            json!(i.deletion_protection.unwrap_or(false)),
        ),
        (
            "storage_encrypted".into(),
            json!(i.storage_encrypted.unwrap_or(false)),
        ),
        (
            "publicly_accessible".into(),
            json!(i.publicly_accessible.unwrap_or(false)),
        ),
        ("status".into(), json!(i.status)),
        ("tags".into(), json!(i.tags)),
    ]
}

/// `aws_rds_cluster_instance`: class, engine and version, cluster, public access, tags.
pub fn cluster_instance_attrs(i: &DbInstanceInfo) -> Vec<(String, Value)> {
    vec![
        ("instance_class".into(), json!(i.instance_class)),
        ("engine".into(), json!(i.engine)),
        ("engine_version".into(), json!(i.engine_version)),
        ("cluster_identifier".into(), json!(i.cluster_identifier)),
        (
            "publicly_accessible".into(),
            json!(i.publicly_accessible.unwrap_or(false)),
        ),
        ("tags".into(), json!(i.tags)),
    ]
}

/// `aws_rds_cluster`.
pub fn cluster_attrs(c: &DbClusterInfo) -> Vec<(String, Value)> {
    vec![
        ("engine".into(), json!(c.engine)),
        ("engine_version".into(), json!(c.engine_version)),
        ("engine_mode".into(), json!(c.engine_mode)),
        (
            "backup_retention_period".into(),
            json!(c.backup_retention_period),
        ),
        (
            "deletion_protection".into(),
            json!(c.deletion_protection.unwrap_or(false)),
        ),
        (
            "storage_encrypted".into(),
            json!(c.storage_encrypted.unwrap_or(false)),
        ),
        ("db_subnet_group_name".into(), json!(c.subnet_group)),
        ("tags".into(), json!(c.tags)),
    ]
}

/// `aws_db_subnet_group`: description and subnets (DescribeDBSubnetGroups
/// does not return tags; they are not compared).
pub fn subnet_group_attrs(g: &SubnetGroupInfo) -> Vec<(String, Value)> {
    vec![
        ("description".into(), json!(g.description)),
        ("subnet_ids".into(), json!(g.subnet_ids)),
    ]
}

super::family!("RDS");

/// Enumerates the wanted RDS types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Vec<(&'static str, TypeScan)> {
    let mut out = Vec::new();
    let rds = aws.rds();
    if req.wants(INSTANCE) || req.wants(CLUSTER_INSTANCE) {
        let r: Result<Vec<DbInstanceInfo>, AwsError> = if req.naive {
            let ids: Vec<String> = req
                .managed(INSTANCE)
                .into_iter()
                .chain(req.managed(CLUSTER_INSTANCE))
                .collect();
            each(req, ids, |id| {
                let rds = rds.clone();
                async move { rds.describe_db_instance(&id).await }
            })
            .await
            .map(|v| v.into_iter().flatten().collect())
        } else {
            rds.describe_db_instances().await
        };
        match r {
            Ok(all) => {
                for (type_, members) in [(INSTANCE, false), (CLUSTER_INSTANCE, true)] {
                    if !req.wants(type_) {
                        continue;
                    }
                    let managed = req.managed(type_);
                    let objs = all
                        .iter()
                        .filter(|i| {
                            i.cluster_identifier.is_some() == members
                                || managed.contains(&i.identifier)
                        })
                        .map(|i| LiveObject {
                            attrs: match (managed.contains(&i.identifier), members) {
                                (false, _) => Vec::new(),
                                (true, false) => instance_attrs(i),
                                (true, true) => cluster_instance_attrs(i),
                            },
                            tags: Some(i.tags.clone()),
                            ..LiveObject::named(&i.identifier, &i.identifier)
                        })
                        .collect();
                    out.push((type_, TypeScan::Listed(objs)));
                }
            }
            Err(e) => put_all(&mut out, &[INSTANCE, CLUSTER_INSTANCE], req, &Err(e)),
        }
    }
    if req.wants(CLUSTER) {
        let r = rds.describe_db_clusters().await.map(|all| {
            all.iter()
                .map(|c| LiveObject {
                    attrs: cluster_attrs(c),
                    tags: Some(c.tags.clone()),
                    ..LiveObject::named(&c.identifier, &c.identifier)
                })
                .collect()
        });
        push(&mut out, CLUSTER, r);
    }
    if req.wants(SUBNET_GROUP) {
        let r = rds.describe_db_subnet_groups().await.map(|all| {
            all.iter()
                .filter(|g| g.name != "default")
                .map(|g| LiveObject {
                    attrs: subnet_group_attrs(g),
                    tags: None,
                    ..LiveObject::named(&g.name, &g.name)
                })
                .collect()
        });
        push(&mut out, SUBNET_GROUP, r);
    }
    out
}

fn push(
    out: &mut Vec<(&'static str, TypeScan)>,
    type_: &'static str,
    r: Result<Vec<LiveObject>, AwsError>,
) {
    out.push((
        type_,
        match r {
            Ok(objs) => TypeScan::Listed(objs),
            Err(e) => TypeScan::Failed(e),
        },
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn instance_mapping_and_identifier() {
        let i = DbInstanceInfo {
            identifier: "mlflow".into(),
            instance_class: Some("db.t3.micro".into()),
            engine: Some("postgres".into()),
            multi_az: Some(false),
            allocated_storage: Some(20),
            ..DbInstanceInfo::default()
        };
        let attrs: BTreeMap<String, Value> = instance_attrs(&i).into_iter().collect();
        assert_eq!(attrs["instance_class"], "db.t3.micro");
        assert_eq!(attrs["allocated_storage"], 20);
        assert_eq!(attrs["multi_az"], false);
        assert_eq!(
            instance_key(&json!({"id": "db-ABC", "identifier": "mlflow"})),
            Some("mlflow".into())
        );
        assert_eq!(
            cluster_key(&json!({"id": "aurora", "cluster_identifier": "aurora"})),
            Some("aurora".into())
        );
        let g = SubnetGroupInfo {
            name: "db".into(),
            subnet_ids: vec!["subnet-1".into()],
            ..SubnetGroupInfo::default()
        };
        assert_eq!(subnet_group_attrs(&g)[1].1, json!(["subnet-1"]));
    }
}
