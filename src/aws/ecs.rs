//! ECS adapter: DescribeClusters (100 clusters a call) and DescribeServices
//! (10 services a call) for given identifiers, ListClusters and
//! ListServices (100 a page), DescribeTaskDefinition (one a call: ECS has
//! no batch read of task definitions).

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{ClusterField, ServiceField, TaskDefinitionField};

use super::{AwsError, AwsErrorKind};

use super::non_empty as s;

fn tags(t: &[aws_sdk_ecs::types::Tag]) -> BTreeMap<String, String> {
    super::user_tags(t.iter().map(|t| (t.key(), t.value())))
}

/// One entry of a capacity provider strategy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StrategyItem {
    pub capacity_provider: String,
    pub weight: i32,
    pub base: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cluster {
    pub arn: String,
    pub name: String,
    /// `ACTIVE`, `PROVISIONING`, `DEPROVISIONING`, `FAILED`, `INACTIVE`.
    pub status: Option<String>,
    /// `(name, value)`, e.g. `("containerInsights", "enabled")`.
    pub settings: Vec<(String, String)>,
    pub capacity_providers: Vec<String>,
    pub default_strategy: Vec<StrategyItem>,
    pub tags: BTreeMap<String, String>,
}

/// One load balancer of a service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceLoadBalancer {
    pub target_group_arn: Option<String>,
    pub elb_name: Option<String>,
    pub container_name: Option<String>,
    pub container_port: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Service {
    pub arn: String,
    pub name: String,
    pub cluster_arn: Option<String>,
    pub task_definition: Option<String>,
    pub desired_count: i32,
    pub launch_type: Option<String>,
    /// `ACTIVE`, `DRAINING`, `INACTIVE`.
    pub status: Option<String>,
    pub load_balancers: Vec<ServiceLoadBalancer>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskDefinition {
    pub arn: String,
    pub family: Option<String>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub network_mode: Option<String>,
    pub requires_compatibilities: Vec<String>,
    pub execution_role_arn: Option<String>,
    pub task_role_arn: Option<String>,
    /// `ACTIVE`, `INACTIVE`, `DELETE_IN_PROGRESS`.
    pub status: Option<String>,
    /// `(name, image)` of each container.
    pub containers: Vec<(String, String)>,
    pub tags: BTreeMap<String, String>,
}

/// The ECS client.
#[derive(Clone, Debug)]
pub struct Ecs {
    client: aws_sdk_ecs::Client,
}

impl Ecs {
    pub(super) fn new(client: aws_sdk_ecs::Client) -> Self {
        Ecs { client }
    }

    /// Every cluster's ARN (ListClusters).
    pub async fn cluster_arns(&self) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_clusters()
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListClusters", "the region's ECS clusters", e))?;
            out.extend(page.cluster_arns().iter().cloned());
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// The ARNs of one cluster's services; none if the cluster is gone (ListServices).
    pub async fn service_arns(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = match self
                .client
                .list_services()
                .cluster(cluster)
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    let e = AwsError::from_sdk("ListServices", cluster, e);
                    if e.kind == AwsErrorKind::NotFound {
                        return Ok(Vec::new());
                    }
                    return Err(e);
                }
            };
            out.extend(page.service_arns().iter().cloned());
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// The clusters with these names or ARNs that exist, 100 a call
    /// (DescribeClusters with tags and settings).
    pub async fn clusters(&self, ids: &[String]) -> Result<Vec<Cluster>, AwsError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(100) {
            let page = self
                .client
                .describe_clusters()
                .set_clusters(Some(chunk.to_vec()))
                .include(ClusterField::Tags)
                .include(ClusterField::Settings)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("DescribeClusters", "ECS clusters", e))?;
            out.extend(page.clusters().iter().map(|c| {
                Cluster {
                    arn: c.cluster_arn().unwrap_or_default().to_owned(),
                    name: c.cluster_name().unwrap_or_default().to_owned(),
                    status: s(c.status()),
                    settings: c
                        .settings()
                        .iter()
                        .filter_map(|st| {
                            Some((
                                st.name()?.as_str().to_owned(),
                                st.value().unwrap_or_default().to_owned(),
                            ))
                        })
                        .collect(),
                    capacity_providers: c.capacity_providers().to_vec(),
                    default_strategy: c
                        .default_capacity_provider_strategy()
                        .iter()
                        .map(|i| StrategyItem {
                            capacity_provider: i.capacity_provider().to_owned(),
                            weight: i.weight(),
                            base: i.base(),
                        })
                        .collect(),
                    tags: tags(c.tags()),
                }
            }));
        }
        Ok(out)
    }

    /// The services of one cluster with these names or ARNs that exist, 10
    /// a call (DescribeServices with tags); none if the cluster is gone.
    pub async fn services(&self, cluster: &str, ids: &[String]) -> Result<Vec<Service>, AwsError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(10) {
            let page = match self
                .client
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .include(ServiceField::Tags)
                .send()
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    let e = AwsError::from_sdk("DescribeServices", cluster, e);
                    if e.kind == AwsErrorKind::NotFound {
                        return Ok(Vec::new());
                    }
                    return Err(e);
                }
            };
            out.extend(page.services().iter().map(|v| {
                Service {
                    arn: v.service_arn().unwrap_or_default().to_owned(),
                    name: v.service_name().unwrap_or_default().to_owned(),
                    cluster_arn: s(v.cluster_arn()),
                    task_definition: s(v.task_definition()),
                    desired_count: v.desired_count(),
                    launch_type: v.launch_type().map(|t| t.as_str().to_owned()),
                    status: s(v.status()),
                    load_balancers: v
                        .load_balancers()
                        .iter()
                        .map(|l| ServiceLoadBalancer {
                            target_group_arn: s(l.target_group_arn()),
                            elb_name: s(l.load_balancer_name()),
                            container_name: s(l.container_name()),
                            container_port: l.container_port(),
                        })
                        .collect(),
                    tags: tags(v.tags()),
                }
            }));
        }
        Ok(out)
    }

    /// One task definition (`family:revision` or ARN), `None` if ECS does
    /// not know it (DescribeTaskDefinition with tags). ECS answers an
    /// unknown task definition with a `ClientException`.
    pub async fn task_definition(&self, id: &str) -> Result<Option<TaskDefinition>, AwsError> {
        let out = match self
            .client
            .describe_task_definition()
            .task_definition(id)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let e = AwsError::from_sdk("DescribeTaskDefinition", id, e);
                if e.kind == AwsErrorKind::NotFound || e.code.as_deref() == Some("ClientException")
                {
                    return Ok(None);
                }
                return Err(e);
            }
        };
        let Some(t) = out.task_definition() else {
            return Ok(None);
        };
        Ok(Some(TaskDefinition {
            arn: t.task_definition_arn().unwrap_or_default().to_owned(),
            family: s(t.family()),
            cpu: s(t.cpu()),
            memory: s(t.memory()),
            network_mode: t.network_mode().map(|m| m.as_str().to_owned()),
            requires_compatibilities: t
                .requires_compatibilities()
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            execution_role_arn: s(t.execution_role_arn()),
            task_role_arn: s(t.task_role_arn()),
            status: t.status().map(|st| st.as_str().to_owned()),
            containers: t
                .container_definitions()
                .iter()
                .map(|c| {
                    (
                        c.name().unwrap_or_default().to_owned(),
                        c.image().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            tags: tags(out.tags()),
        }))
    }
}
