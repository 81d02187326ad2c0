//! RDS adapter: DB instances, clusters and subnet groups, each enumerated
//! with its describe-all call (one call per page of 100).

use std::collections::BTreeMap;

use super::{to_time, AwsError, AwsErrorKind};

/// A DB instance (standalone or a cluster member), as drift compares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbInstanceInfo {
    pub identifier: String,
    pub arn: String,
    pub resource_id: Option<String>,
    pub instance_class: Option<String>,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub allocated_storage: Option<i32>,
    pub storage_type: Option<String>,
    pub multi_az: Option<bool>,
    pub backup_retention_period: Option<i32>,
    pub deletion_protection: Option<bool>,
    pub storage_encrypted: Option<bool>,
    pub publicly_accessible: Option<bool>,
    pub status: Option<String>,
    /// Set for members of an Aurora/Multi-AZ cluster.
    pub cluster_identifier: Option<String>,
    pub subnet_group: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// A DB cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbClusterInfo {
    pub identifier: String,
    pub arn: String,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub engine_mode: Option<String>,
    pub status: Option<String>,
    pub backup_retention_period: Option<i32>,
    pub deletion_protection: Option<bool>,
    pub storage_encrypted: Option<bool>,
    pub subnet_group: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// A DB subnet group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubnetGroupInfo {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub subnet_ids: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// A DB or DB cluster parameter group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParameterGroupInfo {
    pub name: String,
    pub family: Option<String>,
    pub description: Option<String>,
}

/// A parameter set to a value other than its default (source `user`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParameterInfo {
    pub name: String,
    pub value: Option<String>,
}

/// A DB option group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionGroupInfo {
    pub name: String,
    pub engine_name: Option<String>,
    pub major_engine_version: Option<String>,
    pub description: Option<String>,
    /// The names of its options.
    pub options: Vec<String>,
}

/// Runs a `Marker`-paginated RDS describe call (pages of 100): `$call` is a
/// request builder, `$items` maps a page to an iterator of results.
macro_rules! describe_all {
    ($op:literal, $what:expr, $call:expr, |$page:ident| $items:expr) => {{
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let $page = $call
                .max_records(100)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk($op, $what, e))?;
            out.extend($items);
            match $page.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }};
}

fn parameter(p: &aws_sdk_rds::types::Parameter) -> Option<ParameterInfo> {
    Some(ParameterInfo {
        name: p.parameter_name()?.to_owned(),
        value: p.parameter_value().map(str::to_owned),
    })
}

/// The RDS client.
#[derive(Clone, Debug)]
pub struct Rds {
    client: aws_sdk_rds::Client,
}

fn tags(list: &[aws_sdk_rds::types::Tag]) -> BTreeMap<String, String> {
    super::user_tags(list.iter().map(|t| (t.key(), t.value())))
}

fn instance(i: &aws_sdk_rds::types::DbInstance) -> DbInstanceInfo {
    DbInstanceInfo {
        identifier: i.db_instance_identifier().unwrap_or_default().to_owned(),
        arn: i.db_instance_arn().unwrap_or_default().to_owned(),
        resource_id: i.dbi_resource_id().map(str::to_owned),
        instance_class: i.db_instance_class().map(str::to_owned),
        engine: i.engine().map(str::to_owned),
        engine_version: i.engine_version().map(str::to_owned),
        allocated_storage: i.allocated_storage(),
        storage_type: i.storage_type().map(str::to_owned),
        multi_az: i.multi_az(),
        backup_retention_period: i.backup_retention_period(),
        deletion_protection: i.deletion_protection(),
        storage_encrypted: i.storage_encrypted(),
        publicly_accessible: i.publicly_accessible(),
        status: i.db_instance_status().map(str::to_owned),
        cluster_identifier: i.db_cluster_identifier().map(str::to_owned),
        subnet_group: i
            .db_subnet_group()
            .and_then(|g| g.db_subnet_group_name())
            .map(str::to_owned),
        tags: tags(i.tag_list()),
    }
}

fn cluster(c: &aws_sdk_rds::types::DbCluster) -> DbClusterInfo {
    DbClusterInfo {
        identifier: c.db_cluster_identifier().unwrap_or_default().to_owned(),
        arn: c.db_cluster_arn().unwrap_or_default().to_owned(),
        engine: c.engine().map(str::to_owned),
        engine_version: c.engine_version().map(str::to_owned),
        engine_mode: c.engine_mode().map(str::to_owned),
        status: c.status().map(str::to_owned),
        backup_retention_period: c.backup_retention_period(),
        deletion_protection: c.deletion_protection(),
        storage_encrypted: c.storage_encrypted(),
        subnet_group: c.db_subnet_group().map(str::to_owned),
        tags: tags(c.tag_list()),
    }
}

impl Rds {
    pub(super) fn new(client: aws_sdk_rds::Client) -> Self {
        Rds { client }
    }

    /// When the newest snapshot (automated or manual) of a DB instance was
    /// taken (DescribeDBSnapshots, all pages); `None` when it has none.
    pub async fn latest_instance_snapshot(
        &self,
        instance: &str,
    ) -> Result<Option<time::OffsetDateTime>, AwsError> {
        newest_over_pages(|marker| async move {
            let page = self
                .client
                .describe_db_snapshots()
                .db_instance_identifier(instance)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("DescribeDBSnapshots", format!("RDS instance {instance}"), e)
                })?;
            let times = page
                .db_snapshots()
                .iter()
                .filter_map(|s| s.snapshot_create_time().and_then(to_time))
                .collect();
            Ok((times, page.marker().map(str::to_owned)))
        })
        .await
    }

    /// When the newest snapshot of each of `instances` was taken, in as few
    /// calls as AWS allows: DescribeDBSnapshots filtered by `db-instance-id`
    /// (up to [`FILTER_VALUES`] identifiers a call, all pages). Instances
    /// without a snapshot are absent from the map.
    pub async fn latest_instance_snapshots(
        &self,
        instances: &[&str],
    ) -> Result<BTreeMap<String, time::OffsetDateTime>, AwsError> {
        newest_per_id(instances, "db-instance-id", |filter, marker| async move {
            let page = self
                .client
                .describe_db_snapshots()
                .filters(filter)
                .max_records(100)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        "DescribeDBSnapshots",
                        "the snapshots of the state's DB instances",
                        e,
                    )
                })?;
            let found = page
                .db_snapshots()
                .iter()
                .filter_map(|s| {
                    Some((
                        s.db_instance_identifier()?.to_owned(),
                        s.snapshot_create_time().and_then(to_time)?,
                    ))
                })
                .collect();
            Ok((found, page.marker().map(str::to_owned)))
        })
        .await
    }

    /// [`Rds::latest_instance_snapshots`] for DB clusters
    /// (DescribeDBClusterSnapshots filtered by `db-cluster-id`).
    pub async fn latest_cluster_snapshots(
        &self,
        clusters: &[&str],
    ) -> Result<BTreeMap<String, time::OffsetDateTime>, AwsError> {
        newest_per_id(clusters, "db-cluster-id", |filter, marker| async move {
            let page = self
                .client
                .describe_db_cluster_snapshots()
                .filters(filter)
                .max_records(100)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        "DescribeDBClusterSnapshots",
                        "the snapshots of the state's DB clusters",
                        e,
                    )
                })?;
            let found = page
                .db_cluster_snapshots()
                .iter()
                .filter_map(|s| {
                    Some((
                        s.db_cluster_identifier()?.to_owned(),
                        s.snapshot_create_time().and_then(to_time)?,
                    ))
                })
                .collect();
            Ok((found, page.marker().map(str::to_owned)))
        })
        .await
    }

    /// When the newest snapshot of a DB cluster was taken
    /// (DescribeDBClusterSnapshots, all pages); `None` when it has none.
    pub async fn latest_cluster_snapshot(
        &self,
        cluster: &str,
    ) -> Result<Option<time::OffsetDateTime>, AwsError> {
        newest_over_pages(|marker| async move {
            let page = self
                .client
                .describe_db_cluster_snapshots()
                .db_cluster_identifier(cluster)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        "DescribeDBClusterSnapshots",
                        format!("RDS cluster {cluster}"),
                        e,
                    )
                })?;
            let times = page
                .db_cluster_snapshots()
                .iter()
                .filter_map(|s| s.snapshot_create_time().and_then(to_time))
                .collect();
            Ok((times, page.marker().map(str::to_owned)))
        })
        .await
    }

    /// Every DB instance (DescribeDBInstances, pages of 100).
    pub async fn describe_db_instances(&self) -> Result<Vec<DbInstanceInfo>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_db_instances()
                .max_records(100)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("DescribeDBInstances", "the account's DB instances", e)
                })?;
            out.extend(page.db_instances().iter().map(instance));
            match page.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// One DB instance (DescribeDBInstances with an identifier); `None` when absent.
    pub async fn describe_db_instance(&self, id: &str) -> Result<Option<DbInstanceInfo>, AwsError> {
        let r = self
            .client
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeDBInstances", format!("DB instance {id}"), e));
        match r {
            Ok(page) => Ok(page.db_instances().first().map(instance)),
            Err(e) if e.kind == AwsErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One DB cluster (DescribeDBClusters with an identifier); `None` when absent.
    pub async fn describe_db_cluster(&self, id: &str) -> Result<Option<DbClusterInfo>, AwsError> {
        let r = self
            .client
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeDBClusters", format!("DB cluster {id}"), e));
        match r {
            Ok(page) => Ok(page.db_clusters().first().map(cluster)),
            Err(e) if e.kind == AwsErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every DB cluster (DescribeDBClusters, pages of 100).
    pub async fn describe_db_clusters(&self) -> Result<Vec<DbClusterInfo>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_db_clusters()
                .max_records(100)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("DescribeDBClusters", "the account's DB clusters", e)
                })?;
            out.extend(page.db_clusters().iter().map(cluster));
            match page.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Every DB subnet group (DescribeDBSubnetGroups, pages of 100). Tags
    /// are not part of this call and are left empty.
    pub async fn describe_db_subnet_groups(&self) -> Result<Vec<SubnetGroupInfo>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_db_subnet_groups()
                .max_records(100)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        "DescribeDBSubnetGroups",
                        "the account's DB subnet groups",
                        e,
                    )
                })?;
            out.extend(page.db_subnet_groups().iter().map(|g| {
                SubnetGroupInfo {
                    name: g.db_subnet_group_name().unwrap_or_default().to_owned(),
                    arn: g.db_subnet_group_arn().unwrap_or_default().to_owned(),
                    description: g.db_subnet_group_description().map(str::to_owned),
                    subnet_ids: g
                        .subnets()
                        .iter()
                        .filter_map(|s| s.subnet_identifier().map(str::to_owned))
                        .collect(),
                    tags: BTreeMap::new(),
                }
            }));
            match page.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }
    /// Every DB parameter group (DescribeDBParameterGroups, pages of 100).
    pub async fn describe_db_parameter_groups(&self) -> Result<Vec<ParameterGroupInfo>, AwsError> {
        describe_all!(
            "DescribeDBParameterGroups",
            "the account's DB parameter groups",
            self.client.describe_db_parameter_groups(),
            |page| page
                .db_parameter_groups()
                .iter()
                .map(|g| ParameterGroupInfo {
                    name: g.db_parameter_group_name().unwrap_or_default().to_owned(),
                    family: g.db_parameter_group_family().map(str::to_owned),
                    description: g.description().map(str::to_owned),
                })
        )
    }

    /// Every DB cluster parameter group (DescribeDBClusterParameterGroups, pages of 100).
    pub async fn describe_db_cluster_parameter_groups(
        &self,
    ) -> Result<Vec<ParameterGroupInfo>, AwsError> {
        describe_all!(
            "DescribeDBClusterParameterGroups",
            "the account's DB cluster parameter groups",
            self.client.describe_db_cluster_parameter_groups(),
            |page| page
                .db_cluster_parameter_groups()
                .iter()
                .map(|g| ParameterGroupInfo {
                    name: g
                        .db_cluster_parameter_group_name()
                        .unwrap_or_default()
                        .to_owned(),
                    family: g.db_parameter_group_family().map(str::to_owned),
                    description: g.description().map(str::to_owned),
                })
        )
    }

    /// The user-set parameters of a DB parameter group (DescribeDBParameters
    /// with source `user`, pages of 100); `None` when the group does not exist.
    pub async fn describe_db_parameters(
        &self,
        group: &str,
    ) -> Result<Option<Vec<ParameterInfo>>, AwsError> {
        let r: Result<Vec<ParameterInfo>, AwsError> = describe_all!(
            "DescribeDBParameters",
            format!("DB parameter group {group}"),
            self.client
                .describe_db_parameters()
                .db_parameter_group_name(group)
                .source("user"),
            |page| page.parameters().iter().filter_map(parameter)
        );
        absent_is_none(r)
    }

    /// The user-set parameters of a DB cluster parameter group
    /// (DescribeDBClusterParameters with source `user`, pages of 100);
    /// `None` when the group does not exist.
    pub async fn describe_db_cluster_parameters(
        &self,
        group: &str,
    ) -> Result<Option<Vec<ParameterInfo>>, AwsError> {
        let r: Result<Vec<ParameterInfo>, AwsError> = describe_all!(
            "DescribeDBClusterParameters",
            format!("DB cluster parameter group {group}"),
            self.client
                .describe_db_cluster_parameters()
                .db_cluster_parameter_group_name(group)
                .source("user"),
            |page| page.parameters().iter().filter_map(parameter)
        );
        absent_is_none(r)
    }

    /// Every option group (DescribeOptionGroups, pages of 100).
    pub async fn describe_option_groups(&self) -> Result<Vec<OptionGroupInfo>, AwsError> {
        describe_all!(
            "DescribeOptionGroups",
            "the account's DB option groups",
            self.client.describe_option_groups(),
            |page| page.option_groups_list().iter().map(|g| OptionGroupInfo {
                name: g.option_group_name().unwrap_or_default().to_owned(),
                engine_name: g.engine_name().map(str::to_owned),
                major_engine_version: g.major_engine_version().map(str::to_owned),
                description: g.option_group_description().map(str::to_owned),
                options: g
                    .options()
                    .iter()
                    .filter_map(|o| o.option_name().map(str::to_owned))
                    .collect(),
            })
        )
    }
}

fn absent_is_none<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == AwsErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// How many identifiers one RDS describe filter carries.
pub const FILTER_VALUES: usize = 50;

/// The newest time per identifier among `ids`: `page` is asked for every
/// page (it gets a filter `name` = up to [`FILTER_VALUES`] of the ids, and a
/// `Marker`) and returns `(id, time)` pairs and the next marker.
async fn newest_per_id<F, Fut>(
    ids: &[&str],
    name: &str,
    mut page: F,
) -> Result<BTreeMap<String, time::OffsetDateTime>, AwsError>
where
    F: FnMut(aws_sdk_rds::types::Filter, Option<String>) -> Fut,
    Fut: std::future::Future<
        Output = Result<(Vec<(String, time::OffsetDateTime)>, Option<String>), AwsError>,
    >,
{
    let mut out: BTreeMap<String, time::OffsetDateTime> = BTreeMap::new();
    for chunk in ids.chunks(FILTER_VALUES) {
        let filter = aws_sdk_rds::types::Filter::builder()
            .name(name)
            .set_values(Some(chunk.iter().map(|s| (*s).to_owned()).collect()))
            .build();
        let mut marker: Option<String> = None;
        loop {
            let (found, next) = page(filter.clone(), marker.take()).await?;
            for (id, t) in found {
                let newest = out.entry(id).or_insert(t);
                *newest = (*newest).max(t);
            }
            match next {
                Some(m) if !m.is_empty() => marker = Some(m),
                _ => break,
            }
        }
    }
    Ok(out)
}

/// Follows `Marker` pagination; returns the newest time any page held.
async fn newest_over_pages<F, Fut>(mut page: F) -> Result<Option<time::OffsetDateTime>, AwsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut:
        std::future::Future<Output = Result<(Vec<time::OffsetDateTime>, Option<String>), AwsError>>,
{
    let mut newest = None;
    let mut marker = None;
    loop {
        let (times, next) = page(marker.take()).await?;
        newest = newest.max(times.into_iter().max());
        match next {
            Some(m) if !m.is_empty() => marker = Some(m),
            _ => return Ok(newest),
        }
    }
}
