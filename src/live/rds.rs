//! RDS: DescribeDBInstances (one call per 100 instances, shared by
//! `aws_db_instance` and `aws_rds_cluster_instance`), DescribeDBClusters and
//! DescribeDBSubnetGroups: no per-resource calls. Identifiers: the DB
//! instance/cluster identifier and the subnet group name.

use serde_json::{json, Value};

use super::{attr_or_id, each, put_all, LiveObject, ScanRequest, TypeScan, TypeSpec};
use crate::aws::rds::{
    DbClusterInfo, DbInstanceInfo, OptionGroupInfo, ParameterGroupInfo, ParameterInfo, Rds,
    SubnetGroupInfo,
};
use crate::aws::{Aws, AwsError};

pub const INSTANCE: &str = "aws_db_instance";
pub const CLUSTER: &str = "aws_rds_cluster";
pub const CLUSTER_INSTANCE: &str = "aws_rds_cluster_instance";
pub const SUBNET_GROUP: &str = "aws_db_subnet_group";
pub const PARAMETER_GROUP: &str = "aws_db_parameter_group";
pub const CLUSTER_PARAMETER_GROUP: &str = "aws_rds_cluster_parameter_group";
pub const OPTION_GROUP: &str = "aws_db_option_group";

fn instance_key(a: &Value) -> Option<String> {
    attr_or_id(a, "identifier")
}
fn cluster_key(a: &Value) -> Option<String> {
    attr_or_id(a, "cluster_identifier")
}
fn subnet_group_key(a: &Value) -> Option<String> {
    attr_or_id(a, "name")
}

fn name_key(a: &Value) -> Option<String> {
    attr_or_id(a, "name")
}

/// A parameter as compared: `name=value`, the name in lower case (RDS
/// parameter names are case-insensitive).
pub fn parameter_string(name: &str, value: &str) -> String {
    format!("{}={value}", name.to_lowercase())
}

/// The state's `parameter` set as [`parameter_string`]s.
fn prepare_parameters(a: &mut Value) {
    if let Some(Value::Array(params)) = a.get_mut("parameter") {
        for p in params.iter_mut() {
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
            let value = p.get("value").and_then(Value::as_str).unwrap_or_default();
            *p = json!(parameter_string(name, value));
        }
    }
}

/// The state's `option` set as option names.
fn prepare_options(a: &mut Value) {
    if let Some(Value::Array(options)) = a.get_mut("option") {
        for o in options.iter_mut() {
            let name = o
                .get("option_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            *o = json!(name);
        }
    }
}

/// The engine version as the provider means it: `engine_version` holds
/// what the configuration asked for (`15`), `engine_version_actual` what
/// runs (`15.4`, moved on by minor upgrades); only the latter can be
/// compared with live AWS, and without it nothing can. Storage that
/// autoscales (`max_allocated_storage`) grows live by design.
fn prepare_engine(a: &mut Value) {
    let Some(m) = a.as_object_mut() else { return };
    match m
        .get("engine_version_actual")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
    {
        Some(actual) => {
            let actual = json!(actual);
            m.insert("engine_version".into(), actual);
        }
        None => {
            m.remove("engine_version");
        }
    }
    if m.get("max_allocated_storage")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > 0)
    {
        m.remove("allocated_storage");
    }
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(INSTANCE, instance_key)
        .compares("class, engine and actual version, storage (size unless it autoscales, type, encryption), multi_az, backups, flags, tags")
        .prepare(prepare_engine)
        .unmanaged(),
    TypeSpec::new(CLUSTER, cluster_key)
        .compares("engine, actual engine_version, engine_mode, backup retention, deletion_protection, encryption, subnet group, tags")
        .prepare(prepare_engine)
        .unmanaged(),
    TypeSpec::new(CLUSTER_INSTANCE, instance_key)
        .compares("instance_class, engine, actual engine_version, cluster_identifier, publicly_accessible, tags")
        .prepare(prepare_engine),
    TypeSpec::new(SUBNET_GROUP, subnet_group_key)
        .compares("description, subnet_ids (not tags)")
        .unmanaged(),
    // The state lists the parameters it sets; live, the group may hold
    // others set outside Terraform (only the state's are compared).
    TypeSpec::new(PARAMETER_GROUP, name_key)
        .compares("family, description, parameter (those declared, by name and value; others live ignored)")
        .subset(&["parameter"])
        .prepare(prepare_parameters),
    TypeSpec::new(CLUSTER_PARAMETER_GROUP, name_key)
        .compares("family, description, parameter (those declared, by name and value; others live ignored)")
        .subset(&["parameter"])
        .prepare(prepare_parameters),
    TypeSpec::new(OPTION_GROUP, name_key)
        .compares("engine_name, major_engine_version, option_group_description, option (names)")
        .prepare(prepare_options),
];

/// `aws_db_parameter_group` and `aws_rds_cluster_parameter_group`: family,
/// description and the user-set parameters as [`parameter_string`]s.
pub fn parameter_group_attrs(
    g: &ParameterGroupInfo,
    params: &[ParameterInfo],
) -> Vec<(String, Value)> {
    let params: Vec<String> = params
        .iter()
        .map(|p| parameter_string(&p.name, p.value.as_deref().unwrap_or_default()))
        .collect();
    vec![
        ("family".into(), json!(g.family)),
        ("description".into(), json!(g.description)),
        ("parameter".into(), json!(params)),
    ]
}

/// `aws_db_option_group`: engine, major version, description, option names.
pub fn option_group_attrs(g: &OptionGroupInfo) -> Vec<(String, Value)> {
    vec![
        ("engine_name".into(), json!(g.engine_name)),
        ("major_engine_version".into(), json!(g.major_engine_version)),
        ("option_group_description".into(), json!(g.description)),
        ("option".into(), json!(g.options)),
    ]
}

/// `aws_db_instance`: class, engine and version, storage, multi-AZ, backup
/// retention, deletion protection, encryption, public access, tags (not its
/// status, which Terraform refreshes without a change).
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
    for (type_, cluster) in [(PARAMETER_GROUP, false), (CLUSTER_PARAMETER_GROUP, true)] {
        if req.wants(type_) {
            push(
                &mut out,
                type_,
                parameter_groups(&rds, req, type_, cluster).await,
            );
        }
    }
    if req.wants(OPTION_GROUP) {
        let managed = req.managed(OPTION_GROUP);
        let r = rds.describe_option_groups().await.map(|all| {
            all.iter()
                .filter(|g| managed.contains(&g.name))
                .map(|g| LiveObject {
                    attrs: option_group_attrs(g),
                    ..LiveObject::named(&g.name, &g.name)
                })
                .collect()
        });
        push(&mut out, OPTION_GROUP, r);
    }
    out
}

/// Parameter groups: the describe-all call (naive: none, each group's
/// parameters answer whether it exists), then the user-set parameters of
/// each managed group (no listing carries them).
async fn parameter_groups(
    rds: &Rds,
    req: &ScanRequest,
    type_: &'static str,
    cluster: bool,
) -> Result<Vec<LiveObject>, AwsError> {
    let managed = req.managed(type_);
    let groups: Vec<ParameterGroupInfo> = if req.naive {
        managed
            .iter()
            .map(|name| ParameterGroupInfo {
                name: name.clone(),
                ..ParameterGroupInfo::default()
            })
            .collect()
    } else {
        let all = if cluster {
            rds.describe_db_cluster_parameter_groups().await?
        } else {
            rds.describe_db_parameter_groups().await?
        };
        all.into_iter()
            .filter(|g| managed.contains(&g.name))
            .collect()
    };
    let naive = req.naive;
    let found = each(req, groups, |g| {
        let rds = rds.clone();
        async move {
            let params = if cluster {
                rds.describe_db_cluster_parameters(&g.name).await?
            } else {
                rds.describe_db_parameters(&g.name).await?
            };
            Ok(params.map(|params| {
                let mut attrs = parameter_group_attrs(&g, &params);
                if naive {
                    // Family and description come from the listing only.
                    attrs.retain(|(k, _)| k == "parameter");
                }
                LiveObject {
                    attrs,
                    ..LiveObject::named(&g.name, &g.name)
                }
            }))
        }
    })
    .await?;
    Ok(found.into_iter().flatten().collect())
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

    /// The configured major version and autoscaled storage are not drift.
    #[test]
    fn engine_version_is_the_actual_one_and_autoscaled_storage_is_not_compared() {
        let cases = [
            (
                json!({"engine_version": "15", "engine_version_actual": "15.4", "allocated_storage": 20}),
                json!({"engine_version": "15.4", "engine_version_actual": "15.4", "allocated_storage": 20}),
            ),
            // An older provider without engine_version_actual: not compared.
            (json!({"engine_version": "15"}), json!({})),
            (
                json!({"engine_version_actual": "", "allocated_storage": 20, "max_allocated_storage": 100}),
                json!({"engine_version_actual": "", "max_allocated_storage": 100}),
            ),
            (
                json!({"allocated_storage": 20, "max_allocated_storage": 0}),
                json!({"allocated_storage": 20, "max_allocated_storage": 0}),
            ),
        ];
        for (mut state, want) in cases {
            prepare_engine(&mut state);
            assert_eq!(state, want);
        }
    }
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

    #[test]
    fn parameter_and_option_groups() {
        assert_eq!(
            name_key(&json!({"id": "pg", "name": "pg"})),
            Some("pg".into())
        );
        assert_eq!(name_key(&json!({"id": "og"})), Some("og".into()));
        assert_eq!(name_key(&json!({})), None);
        let mut a = json!({"parameter": [
            {"name": "Log_Statement", "value": "all", "apply_method": "immediate"},
            {"name": "work_mem", "value": "4096", "apply_method": "pending-reboot"}
        ]});
        prepare_parameters(&mut a);
        assert_eq!(
            a["parameter"],
            json!(["log_statement=all", "work_mem=4096"])
        );
        let g = ParameterGroupInfo {
            name: "pg".into(),
            family: Some("postgres16".into()),
            description: Some("Managed by Terraform".into()),
        };
        let params = [ParameterInfo {
            name: "log_statement".into(),
            value: Some("all".into()),
        }];
        let attrs: BTreeMap<String, Value> =
            parameter_group_attrs(&g, &params).into_iter().collect();
        assert_eq!(attrs["family"], "postgres16");
        assert_eq!(attrs["description"], "Managed by Terraform");
        assert_eq!(attrs["parameter"], json!(["log_statement=all"]));
        let mut o = json!({"option": [{"option_name": "TIMEZONE", "option_settings": []}]});
        prepare_options(&mut o);
        assert_eq!(o["option"], json!(["TIMEZONE"]));
        let og = OptionGroupInfo {
            name: "og".into(),
            engine_name: Some("mysql".into()),
            major_engine_version: Some("8.0".into()),
            description: Some("d".into()),
            options: vec!["TIMEZONE".into()],
        };
        let attrs: BTreeMap<String, Value> = option_group_attrs(&og).into_iter().collect();
        assert_eq!(attrs["engine_name"], "mysql");
        assert_eq!(attrs["major_engine_version"], "8.0");
        assert_eq!(attrs["option_group_description"], "d");
        assert_eq!(attrs["option"], json!(["TIMEZONE"]));
    }
}
