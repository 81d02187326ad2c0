//! ECS: clusters and their capacity providers, services, task definitions.
//!
//! The state's clusters (and the clusters of its capacity provider
//! settings) are read with DescribeClusters, 100 a call; its services with
//! DescribeServices, 10 a call, grouped by the cluster their ARN names (a
//! service ARN of the old format names none: those are found with
//! ListClusters and ListServices); its task definitions with
//! DescribeTaskDefinition, one each (ECS has no batch read). Listing every
//! cluster or service first would only add calls: none of these types is
//! reported as unmanaged. The naive baseline describes one at a time.
//!
//! Inactive clusters, services and task definitions, and draining services,
//! are absent. A task definition's `container_definitions` are compared as
//! the set of `name=image` of its containers, not as the provider's JSON.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::{attr_or_id, attr_str, each, LiveObject, Part, ScanRequest, TypeSpec};
use crate::aws::ecs::{Cluster, Ecs, Service, StrategyItem, TaskDefinition};
use crate::aws::{Aws, AwsError};

pub const CLUSTER: &str = "aws_ecs_cluster";
pub const CAPACITY_PROVIDERS: &str = "aws_ecs_cluster_capacity_providers";
pub const SERVICE: &str = "aws_ecs_service";
pub const TASK_DEFINITION: &str = "aws_ecs_task_definition";

fn arn_key(a: &Value) -> Option<String> {
    attr_or_id(a, "arn")
}
/// The provider's ID of a service is its ARN.
fn service_key(a: &Value) -> Option<String> {
    attr_str(a, "id").map(str::to_owned)
}
fn capacity_providers_key(a: &Value) -> Option<String> {
    attr_or_id(a, "cluster_name")
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(CLUSTER, arn_key)
        .compares("name, tags, setting (only those declared)")
        .subset(&["setting"])
        .prepare(prepare_cluster),
    TypeSpec::new(CAPACITY_PROVIDERS, capacity_providers_key)
        .compares("capacity_providers, default_capacity_provider_strategy")
        .prepare(prepare_capacity_providers),
    TypeSpec::new(SERVICE, service_key)
        .compares("name, cluster, task_definition (unless a bare family), desired_count, launch_type, load_balancer, tags")
        .prepare(prepare_service),
    TypeSpec::new(TASK_DEFINITION, arn_key)
        .compares("family, cpu, memory, network_mode, requires_compatibilities, both roles, container names and images, tags")
        .prepare(prepare_task_definition),
];

super::family!("ECS");

// ---- Identifiers ----------------------------------------------------------------

/// The last `/` segment: a name from a name or an ARN.
fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// The cluster a service ARN names (`...:service/cluster/name`); `None` for
/// the old format (`...:service/name`).
fn cluster_of_service(arn: &str) -> Option<&str> {
    let (_, path) = arn.split_once(":service/")?;
    let (cluster, _) = path.split_once('/')?;
    Some(cluster)
}

/// `family:revision` of a task definition ARN or reference.
fn family_revision(td: &str) -> &str {
    td.split_once(":task-definition/").map_or(td, |(_, r)| r)
}

// ---- State preparation ------------------------------------------------------------

fn strings_of(v: &Value, f: impl Fn(&Value) -> Option<String>) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(f).collect())
        .unwrap_or_default()
}

fn str_field<'v>(v: &'v Value, k: &str) -> &'v str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn num_field(v: &Value, k: &str) -> i64 {
    match v.get(k) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// `name=value` of a cluster setting.
fn setting_string(name: &str, value: &str) -> String {
    format!("{name}={value}")
}

/// `provider:weight:base` of a capacity provider strategy item.
fn strategy_string(provider: &str, weight: i64, base: i64) -> String {
    format!("{provider}:{weight}:{base}")
}

/// `target group|classic ELB|container:port` of a service's load balancer.
fn load_balancer_string(tg: &str, elb: &str, container: &str, port: i64) -> String {
    format!("{tg}|{elb}|{container}:{port}")
}

/// A cluster's `setting` blocks as [`setting_string`]s (the API adds the
/// settings nobody set: only the state's are compared).
fn prepare_cluster(attrs: &mut Value) {
    if let Some(v) = attrs.get_mut("setting") {
        *v = json!(strings_of(v, |s| Some(setting_string(
            str_field(s, "name"),
            str_field(s, "value")
        ))));
    }
}

fn prepare_capacity_providers(attrs: &mut Value) {
    if let Some(v) = attrs.get_mut("default_capacity_provider_strategy") {
        *v = json!(strings_of(v, |s| Some(strategy_string(
            str_field(s, "capacity_provider"),
            num_field(s, "weight"),
            num_field(s, "base")
        ))));
    }
}

/// A service's cluster as a name (state: ARN or name), its task definition
/// as `family:revision` (not compared when the state names a family only:
/// its latest revision), its load balancers as [`load_balancer_string`]s.
fn prepare_service(attrs: &mut Value) {
    let Some(m) = attrs.as_object_mut() else {
        return;
    };
    if let Some(c) = m.get("cluster").and_then(Value::as_str).map(last_segment) {
        let c = c.to_owned();
        m.insert("cluster".into(), json!(c));
    }
    if let Some(td) = m.get("task_definition").and_then(Value::as_str) {
        let td = family_revision(td).to_owned();
        if td.contains(':') {
            m.insert("task_definition".into(), json!(td));
        } else {
            m.remove("task_definition");
        }
    }
    if let Some(v) = m.get_mut("load_balancer") {
        *v = json!(strings_of(v, |l| Some(load_balancer_string(
            str_field(l, "target_group_arn"),
            str_field(l, "elb_name"),
            str_field(l, "container_name"),
            num_field(l, "container_port")
        ))));
    }
}

/// `container_definitions` (a JSON string) as the set of `name=image`;
/// an unset network mode is not compared (ECS may fill in its default).
fn prepare_task_definition(attrs: &mut Value) {
    let Some(m) = attrs.as_object_mut() else {
        return;
    };
    if let Some(defs) = m.get("container_definitions").and_then(Value::as_str) {
        match serde_json::from_str::<Value>(defs) {
            Ok(parsed) => {
                let containers = strings_of(&parsed, |c| {
                    Some(format!(
                        "{}={}",
                        str_field(c, "name"),
                        str_field(c, "image")
                    ))
                });
                m.insert("container_definitions".into(), json!(containers));
            }
            Err(_) => {
                m.remove("container_definitions");
            }
        }
    }
    if m.get("network_mode")
        .is_some_and(|v| v.as_str().is_none_or(str::is_empty))
    {
        m.remove("network_mode");
    }
}

// ---- Mappings ---------------------------------------------------------------------

/// `aws_ecs_cluster`: name, settings (container insights), tags.
pub fn cluster_attrs(c: &Cluster) -> Vec<(String, Value)> {
    let settings: Vec<String> = c
        .settings
        .iter()
        .map(|(n, v)| setting_string(n, v))
        .collect();
    vec![
        ("name".into(), json!(c.name)),
        ("setting".into(), json!(settings)),
        ("tags".into(), json!(c.tags)),
    ]
}

/// `aws_ecs_cluster_capacity_providers`: providers and default strategy.
pub fn capacity_providers_attrs(c: &Cluster) -> Vec<(String, Value)> {
    let strategy: Vec<String> = c
        .default_strategy
        .iter()
        .map(
            |StrategyItem {
                 capacity_provider,
                 weight,
                 base,
             }| {
                strategy_string(capacity_provider, i64::from(*weight), i64::from(*base))
            },
        )
        .collect();
    vec![
        ("capacity_providers".into(), json!(c.capacity_providers)),
        ("default_capacity_provider_strategy".into(), json!(strategy)),
    ]
}

/// `aws_ecs_service`: cluster (name), task definition (`family:revision`),
/// desired count, launch type, load balancers, tags.
pub fn service_attrs(s: &Service) -> Vec<(String, Value)> {
    let lbs: Vec<String> = s
        .load_balancers
        .iter()
        .map(|l| {
            load_balancer_string(
                l.target_group_arn.as_deref().unwrap_or_default(),
                l.elb_name.as_deref().unwrap_or_default(),
                l.container_name.as_deref().unwrap_or_default(),
                i64::from(l.container_port.unwrap_or(0)),
            )
        })
        .collect();
    vec![
        ("name".into(), json!(s.name)),
        (
            "cluster".into(),
            json!(s.cluster_arn.as_deref().map(last_segment)),
        ),
        (
            "task_definition".into(),
            json!(s.task_definition.as_deref().map(family_revision)),
        ),
        ("desired_count".into(), json!(s.desired_count)),
        ("launch_type".into(), json!(s.launch_type)),
        ("load_balancer".into(), json!(lbs)),
        ("tags".into(), json!(s.tags)),
    ]
}

/// `aws_ecs_task_definition`: family, sizes, network mode, compatibilities,
/// roles, containers (`name=image`), tags.
pub fn task_definition_attrs(t: &TaskDefinition) -> Vec<(String, Value)> {
    let containers: Vec<String> = t
        .containers
        .iter()
        .map(|(n, i)| format!("{n}={i}"))
        .collect();
    vec![
        ("family".into(), json!(t.family)),
        ("cpu".into(), json!(t.cpu)),
        ("memory".into(), json!(t.memory)),
        ("network_mode".into(), json!(t.network_mode)),
        (
            "requires_compatibilities".into(),
            json!(t.requires_compatibilities),
        ),
        ("execution_role_arn".into(), json!(t.execution_role_arn)),
        ("task_role_arn".into(), json!(t.task_role_arn)),
        ("container_definitions".into(), json!(containers)),
        ("tags".into(), json!(t.tags)),
    ]
}

// ---- Enumeration ------------------------------------------------------------------

fn gone(status: Option<&str>) -> bool {
    matches!(
        status,
        Some("INACTIVE" | "DEPROVISIONING" | "DRAINING" | "DELETE_IN_PROGRESS")
    )
}

async fn clusters(ecs: &Ecs, req: &ScanRequest) -> Result<Part, AwsError> {
    let ids: Vec<String> = req
        .managed(CLUSTER)
        .into_iter()
        .chain(req.managed(CAPACITY_PROVIDERS))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let all: Vec<Cluster> = if req.naive {
        each(req, ids, |id| async move { ecs.clusters(&[id]).await })
            .await?
            .into_iter()
            .flatten()
            .collect()
    } else {
        ecs.clusters(&ids).await?
    };
    let live: Vec<&Cluster> = all.iter().filter(|c| !gone(c.status.as_deref())).collect();
    let mut out = Part::new();
    if req.wants(CLUSTER) {
        let objs = live
            .iter()
            .map(|c| LiveObject {
                attrs: cluster_attrs(c),
                ..LiveObject::named(&c.arn, &c.name)
            })
            .collect();
        out.push(super::managed_only(req, CLUSTER, objs));
    }
    if req.wants(CAPACITY_PROVIDERS) {
        let objs = live
            .iter()
            .map(|c| LiveObject {
                attrs: capacity_providers_attrs(c),
                ..LiveObject::named(&c.name, &c.name)
            })
            .collect();
        out.push(super::managed_only(req, CAPACITY_PROVIDERS, objs));
    }
    Ok(out)
}

async fn services(ecs: &Ecs, req: &ScanRequest) -> Result<Part, AwsError> {
    let managed = req.managed(SERVICE);
    let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut old_format: BTreeSet<String> = BTreeSet::new();
    for arn in &managed {
        match cluster_of_service(arn) {
            Some(c) => by_cluster
                .entry(c.to_owned())
                .or_default()
                .push(arn.clone()),
            None => {
                old_format.insert(arn.clone());
            }
        }
    }
    if !old_format.is_empty() {
        // The ARN does not say which cluster: look in each.
        let clusters = ecs.cluster_arns().await?;
        let listed = each(req, clusters, |c| async move {
            let arns = ecs.service_arns(&c).await?;
            Ok::<_, AwsError>((c, arns))
        })
        .await?;
        for (cluster, arns) in listed {
            let mine: Vec<String> = arns
                .into_iter()
                .filter(|a| old_format.contains(a))
                .collect();
            if !mine.is_empty() {
                by_cluster.entry(cluster).or_default().extend(mine);
            }
        }
    }
    let calls: Vec<(String, Vec<String>)> = if req.naive {
        by_cluster
            .into_iter()
            .flat_map(|(c, arns)| arns.into_iter().map(move |a| (c.clone(), vec![a])))
            .collect()
    } else {
        by_cluster.into_iter().collect()
    };
    let all: Vec<Service> = each(req, calls, |(c, arns)| async move {
        ecs.services(&c, &arns).await
    })
    .await?
    .into_iter()
    .flatten()
    .collect();
    let objs = all
        .iter()
        .filter(|s| !gone(s.status.as_deref()))
        .map(|s| LiveObject {
            attrs: service_attrs(s),
            ..LiveObject::named(&s.arn, &s.name)
        })
        .collect();
    Ok(vec![super::managed_only(req, SERVICE, objs)])
}

async fn task_definitions(ecs: &Ecs, req: &ScanRequest) -> Result<Part, AwsError> {
    let ids: Vec<String> = req.managed(TASK_DEFINITION).into_iter().collect();
    let all = each(req, ids, |id| async move { ecs.task_definition(&id).await }).await?;
    let objs = all
        .iter()
        .flatten()
        .filter(|t| !gone(t.status.as_deref()))
        .map(|t| LiveObject {
            attrs: task_definition_attrs(t),
            ..LiveObject::named(&t.arn, t.family.clone().unwrap_or_default())
        })
        .collect();
    Ok(vec![super::managed_only(req, TASK_DEFINITION, objs)])
}

/// Enumerates the wanted ECS types: clusters, services and task definitions at once.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let ecs = aws.ecs();
    let ecs = &ecs;
    let mut tasks: Vec<BoxFuture<'_, Part>> = Vec::new();
    const CLUSTERS: &[&str] = &[CLUSTER, CAPACITY_PROVIDERS];
    if req.wants(CLUSTER) || req.wants(CAPACITY_PROVIDERS) {
        tasks.push(
            async move { super::part_or_failed(req, CLUSTERS, clusters(ecs, req).await) }.boxed(),
        );
    }
    if req.wants(SERVICE) {
        tasks.push(
            async move { super::part_or_failed(req, &[SERVICE], services(ecs, req).await) }.boxed(),
        );
    }
    if req.wants(TASK_DEFINITION) {
        tasks.push(
            async move {
                super::part_or_failed(req, &[TASK_DEFINITION], task_definitions(ecs, req).await)
            }
            .boxed(),
        );
    }
    super::run_tasks(req, tasks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ecs::ServiceLoadBalancer;

    const CLUSTER_ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod";
    const SERVICE_ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:service/prod/web";
    const TD_ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7";

    fn map(v: Vec<(String, Value)>) -> BTreeMap<String, Value> {
        v.into_iter().collect()
    }

    #[test]
    fn identifiers() {
        let cases = [
            (
                CLUSTER,
                json!({"id": CLUSTER_ARN, "arn": CLUSTER_ARN, "name": "prod"}),
                Some(CLUSTER_ARN),
            ),
            (
                SERVICE,
                json!({"id": SERVICE_ARN, "name": "web", "cluster": CLUSTER_ARN}),
                Some(SERVICE_ARN),
            ),
            (
                TASK_DEFINITION,
                json!({"id": "web", "arn": TD_ARN, "family": "web"}),
                Some(TD_ARN),
            ),
            (
                CAPACITY_PROVIDERS,
                json!({"id": "prod", "cluster_name": "prod"}),
                Some("prod"),
            ),
            (SERVICE, json!({"name": "web"}), None),
        ];
        for (t, attrs, want) in cases {
            let key = TYPES
                .iter()
                .find(|s| s.name == t)
                .and_then(|s| (s.key)(&attrs));
            assert_eq!(key.as_deref(), want, "{t}");
        }
        assert_eq!(cluster_of_service(SERVICE_ARN), Some("prod"));
        assert_eq!(
            cluster_of_service("arn:aws:ecs:eu-west-1:123456789012:service/web"),
            None
        );
        assert_eq!(family_revision(TD_ARN), "web:7");
        assert_eq!(family_revision("web:7"), "web:7");
    }

    #[test]
    fn cluster_mappings() {
        let c = Cluster {
            arn: CLUSTER_ARN.into(),
            name: "prod".into(),
            status: Some("ACTIVE".into()),
            settings: vec![("containerInsights".into(), "enabled".into())],
            capacity_providers: vec!["FARGATE".into()],
            default_strategy: vec![StrategyItem {
                capacity_provider: "FARGATE".into(),
                weight: 1,
                base: 0,
            }],
            tags: BTreeMap::from([("team".into(), "web".into())]),
        };
        let m = map(cluster_attrs(&c));
        assert_eq!(m["setting"], json!(["containerInsights=enabled"]));
        assert_eq!(m["tags"], json!({"team": "web"}));
        let m = map(capacity_providers_attrs(&c));
        assert_eq!(m["capacity_providers"], json!(["FARGATE"]));
        assert_eq!(
            m["default_capacity_provider_strategy"],
            json!(["FARGATE:1:0"])
        );
        let mut state = json!({
            "setting": [{"name": "containerInsights", "value": "enabled"}],
        });
        prepare_cluster(&mut state);
        assert_eq!(state["setting"], json!(["containerInsights=enabled"]));
        let mut state = json!({"default_capacity_provider_strategy": [
            {"capacity_provider": "FARGATE", "weight": 1, "base": 0}]});
        prepare_capacity_providers(&mut state);
        assert_eq!(
            state["default_capacity_provider_strategy"],
            json!(["FARGATE:1:0"])
        );
        assert!(gone(Some("INACTIVE")) && !gone(Some("ACTIVE")));
    }

    #[test]
    fn service_mapping_and_preparation_agree() {
        let s = Service {
            arn: SERVICE_ARN.into(),
            name: "web".into(),
            cluster_arn: Some(CLUSTER_ARN.into()),
            task_definition: Some(TD_ARN.into()),
            desired_count: 2,
            launch_type: Some("FARGATE".into()),
            status: Some("ACTIVE".into()),
            load_balancers: vec![ServiceLoadBalancer {
                target_group_arn: Some("arn:tg".into()),
                elb_name: None,
                container_name: Some("web".into()),
                container_port: Some(80),
            }],
            tags: BTreeMap::new(),
        };
        let m = map(service_attrs(&s));
        assert_eq!(m["cluster"], "prod");
        assert_eq!(m["task_definition"], "web:7");
        assert_eq!(m["desired_count"], 2);
        assert_eq!(m["load_balancer"], json!(["arn:tg||web:80"]));
        let mut state = json!({"cluster": CLUSTER_ARN, "task_definition": TD_ARN,
            "load_balancer": [{"target_group_arn": "arn:tg", "elb_name": "", "container_name": "web", "container_port": 80}]});
        prepare_service(&mut state);
        assert_eq!(state["cluster"], "prod");
        assert_eq!(state["task_definition"], "web:7");
        assert_eq!(state["load_balancer"], m["load_balancer"]);
        // A family without a revision means its latest: not compared.
        let mut state = json!({"cluster": "prod", "task_definition": "web"});
        prepare_service(&mut state);
        assert_eq!(state.get("task_definition"), None);
        assert_eq!(state["cluster"], "prod");
    }

    #[test]
    fn task_definition_containers_compare_by_name_and_image() {
        let t = TaskDefinition {
            arn: TD_ARN.into(),
            family: Some("web".into()),
            cpu: Some("256".into()),
            memory: Some("512".into()),
            network_mode: Some("awsvpc".into()),
            requires_compatibilities: vec!["FARGATE".into()],
            execution_role_arn: Some("arn:role".into()),
            task_role_arn: None,
            status: Some("ACTIVE".into()),
            containers: vec![("web".into(), "nginx:1.25".into())],
            tags: BTreeMap::new(),
        };
        let m = map(task_definition_attrs(&t));
        assert_eq!(m["cpu"], "256");
        assert_eq!(m["requires_compatibilities"], json!(["FARGATE"]));
        assert_eq!(m["container_definitions"], json!(["web=nginx:1.25"]));
        let mut state = json!({
            "container_definitions": "[{\"essential\":true,\"image\":\"nginx:1.25\",\"name\":\"web\"}]",
            "network_mode": ""
        });
        prepare_task_definition(&mut state);
        assert_eq!(state["container_definitions"], json!(["web=nginx:1.25"]));
        assert_eq!(state.get("network_mode"), None);
    }
}
