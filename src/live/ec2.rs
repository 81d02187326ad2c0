//! EC2: VPC networking, security groups and their rules, gateways, Elastic
//! IPs, instances, launch templates, key pairs, VPC endpoints and tags.
//!
//! Every type comes from region-wide describe calls (1,000 items a page),
//! each made once and shared: the route tables serve `aws_route_table`,
//! `aws_default_route_table`, `aws_route` and both association types; the
//! security group rules serve every rule type and the groups' own inline
//! rules. The naive baseline asks for each resource by ID instead.
//!
//! Rules and routes are compared as the provider means them:
//! - An `aws_security_group_rule` is a slice of a group's live rules (one
//!   per source): it is present when every source it names is, with the
//!   same protocol and ports. Its identifier is the provider's import ID
//!   (`sg-1_ingress_tcp_443_443_10.0.0.0/16`).
//! - A group's or table's own `ingress`/`egress`/`route` lists name only
//!   their inline rules; live AWS also holds those of other resources, so
//!   only inline rules missing live are drift.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::{attr_or_id, attr_str, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::ec2::{Ec2, Route, SecurityGroupRule};
use crate::aws::{Aws, AwsError};

pub const VPC: &str = "aws_vpc";
pub const DEFAULT_VPC: &str = "aws_default_vpc";
pub const SUBNET: &str = "aws_subnet";
pub const DEFAULT_SUBNET: &str = "aws_default_subnet";
pub const ROUTE_TABLE: &str = "aws_route_table";
pub const DEFAULT_ROUTE_TABLE: &str = "aws_default_route_table";
pub const ROUTE: &str = "aws_route";
pub const ROUTE_TABLE_ASSOCIATION: &str = "aws_route_table_association";
pub const MAIN_ROUTE_TABLE_ASSOCIATION: &str = "aws_main_route_table_association";
pub const INTERNET_GATEWAY: &str = "aws_internet_gateway";
pub const INTERNET_GATEWAY_ATTACHMENT: &str = "aws_internet_gateway_attachment";
pub const NAT_GATEWAY: &str = "aws_nat_gateway";
pub const EIP: &str = "aws_eip";
pub const EIP_ASSOCIATION: &str = "aws_eip_association";
pub const SECURITY_GROUP: &str = "aws_security_group";
pub const DEFAULT_SECURITY_GROUP: &str = "aws_default_security_group";
pub const SECURITY_GROUP_RULE: &str = "aws_security_group_rule";
pub const INGRESS_RULE: &str = "aws_vpc_security_group_ingress_rule";
pub const EGRESS_RULE: &str = "aws_vpc_security_group_egress_rule";
pub const INSTANCE: &str = "aws_instance";
pub const LAUNCH_TEMPLATE: &str = "aws_launch_template";
pub const KEY_PAIR: &str = "aws_key_pair";
pub const VPC_ENDPOINT: &str = "aws_vpc_endpoint";
pub const NETWORK_ACL: &str = "aws_network_acl";
pub const DEFAULT_NETWORK_ACL: &str = "aws_default_network_acl";
pub const EC2_TAG: &str = "aws_ec2_tag";

fn id_key(a: &Value) -> Option<String> {
    attr_str(a, "id").map(str::to_owned)
}
fn route_table_key(a: &Value) -> Option<String> {
    attr_or_id(a, "route_table_id")
}
fn default_sg_key(a: &Value) -> Option<String> {
    id_key(a)
}
fn eip_key(a: &Value) -> Option<String> {
    attr_or_id(a, "allocation_id")
}
fn key_pair_key(a: &Value) -> Option<String> {
    attr_or_id(a, "key_name")
}
fn igw_attachment_key(a: &Value) -> Option<String> {
    match (attr_str(a, "internet_gateway_id"), attr_str(a, "vpc_id")) {
        (Some(g), Some(v)) => Some(format!("{g}:{v}")),
        _ => id_key(a),
    }
}
/// `aws_ec2_tag`'s ID is `resource_id,key`.
fn ec2_tag_key(a: &Value) -> Option<String> {
    match (attr_str(a, "resource_id"), attr_str(a, "key")) {
        (Some(r), Some(k)) => Some(format!("{r},{k}")),
        _ => id_key(a),
    }
}
/// `aws_route`: the route table and the destination (`rtb-1_10.0.0.0/16`).
fn route_key(a: &Value) -> Option<String> {
    let table = attr_str(a, "route_table_id")?;
    let dest = attr_str(a, "destination_cidr_block")
        .or_else(|| attr_str(a, "destination_ipv6_cidr_block"))
        .or_else(|| attr_str(a, "destination_prefix_list_id"))?;
    Some(format!("{table}_{dest}"))
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(VPC, id_key).unmanaged().compares("cidr_block, instance_tenancy, tags"),
    TypeSpec::new(DEFAULT_VPC, id_key).compares("cidr_block, instance_tenancy, tags"),
    TypeSpec::new(SUBNET, id_key).unmanaged().compares("vpc_id, cidr_block, availability_zone, map_public_ip_on_launch, tags"),
    TypeSpec::new(DEFAULT_SUBNET, id_key).compares("vpc_id, cidr_block, availability_zone, map_public_ip_on_launch, tags"),
    TypeSpec::new(ROUTE_TABLE, id_key)
        .compares("vpc_id, tags, inline routes (routes of other resources are theirs)")
        .subset(&["route"])
        .prepare(prepare_routes),
    TypeSpec::new(DEFAULT_ROUTE_TABLE, route_table_key)
        .compares("tags, inline routes (routes of other resources are theirs)")
        .subset(&["route"])
        .prepare(prepare_routes),
    TypeSpec::new(ROUTE, route_key)
        .compares("its target (gateway, NAT gateway, transit gateway, peering, endpoint, interface)")
        .prepare(prepare_route),
    TypeSpec::new(ROUTE_TABLE_ASSOCIATION, id_key).compares("route_table_id, subnet_id, gateway_id"),
    TypeSpec::new(MAIN_ROUTE_TABLE_ASSOCIATION, id_key).compares("route_table_id"),
    TypeSpec::new(INTERNET_GATEWAY, id_key).unmanaged().compares("vpc_id, tags"),
    TypeSpec::new(INTERNET_GATEWAY_ATTACHMENT, igw_attachment_key).compares("existence"),
    TypeSpec::new(NAT_GATEWAY, id_key).unmanaged().compares("subnet_id, allocation_id, connectivity_type, tags"),
    TypeSpec::new(EIP, eip_key).compares("public_ip, domain, tags (not its association: another resource's)"),
    TypeSpec::new(EIP_ASSOCIATION, id_key).compares("allocation_id, instance_id, network_interface_id"),
    TypeSpec::new(SECURITY_GROUP, id_key)
        .compares("name, description, vpc_id, tags, inline ingress/egress rules (rules of other resources are theirs)")
        .unmanaged()
        .subset(&["ingress", "egress"])
        .prepare(prepare_group_rules),
    TypeSpec::new(DEFAULT_SECURITY_GROUP, default_sg_key)
        .compares("tags, inline ingress/egress rules")
        .subset(&["ingress", "egress"])
        .prepare(prepare_group_rules),
    TypeSpec::new(SECURITY_GROUP_RULE, rule_key).compares("every source it names is live with its protocol and ports"),
    TypeSpec::new(INGRESS_RULE, id_key)
        .compares("security_group_id, ip_protocol, ports, source (CIDR, prefix list, group), description, tags").prepare(prepare_vpc_rule),
    TypeSpec::new(EGRESS_RULE, id_key)
        .compares("security_group_id, ip_protocol, ports, destination (CIDR, prefix list, group), description, tags").prepare(prepare_vpc_rule),
    TypeSpec::new(INSTANCE, id_key).compares("instance_type, ami, subnet_id, key_name, availability_zone, vpc_security_group_ids, tags"),
    TypeSpec::new(LAUNCH_TEMPLATE, id_key).compares("name, tags (not version numbers, which move)"),
    TypeSpec::new(KEY_PAIR, key_pair_key).compares("tags"),
    TypeSpec::new(VPC_ENDPOINT, id_key).compares("vpc_id, service_name, vpc_endpoint_type, tags"),
    TypeSpec::new(NETWORK_ACL, id_key).compares("vpc_id, tags"),
    TypeSpec::new(DEFAULT_NETWORK_ACL, id_key).compares("vpc_id, tags"),
    TypeSpec::new(EC2_TAG, ec2_tag_key).compares("value"),
];

super::family!("EC2");

// ---- Security group rules as the provider models them -------------------

/// `6` -> `tcp`, `all` -> `-1`, ...: the protocol as EC2 names it.
pub fn protocol_name(p: &str) -> String {
    match p.to_ascii_lowercase().as_str() {
        "6" | "tcp" => "tcp".into(),
        "17" | "udp" => "udp".into(),
        "1" | "icmp" => "icmp".into(),
        "58" | "icmpv6" => "icmpv6".into(),
        "-1" | "all" | "" => "-1".into(),
        other => other.to_owned(),
    }
}

/// `direction_protocol_from_to` as in the provider's import IDs; `all_0_0`
/// for every protocol (whose ports mean nothing).
fn rule_head(direction: &str, protocol: &str, from: Option<i64>, to: Option<i64>) -> String {
    let p = protocol_name(protocol);
    if p == "-1" {
        format!("{direction}_all_0_0")
    } else {
        format!(
            "{direction}_{p}_{}_{}",
            from.unwrap_or(-1),
            to.unwrap_or(-1)
        )
    }
}

/// A rule source as written in IDs: a CIDR, a prefix list, a group ID
/// (`self` for the group itself; another account's `123/sg-1` as `sg-1`).
fn source_name(source: &str, own_group: &str) -> String {
    let bare = source
        .rsplit('/')
        .next()
        .filter(|s| s.starts_with("sg-"))
        .unwrap_or(source);
    if bare == own_group {
        "self".into()
    } else {
        bare.to_owned()
    }
}

/// The single-source rule strings of a live rule (`ingress_tcp_443_443_10.0.0.0/16`).
pub fn live_rule_string(r: &SecurityGroupRule) -> Option<String> {
    let direction = if r.egress { "egress" } else { "ingress" };
    let source = r
        .cidr_ipv4
        .clone()
        .or_else(|| r.cidr_ipv6.clone())
        .or_else(|| r.prefix_list_id.clone())
        .or_else(|| {
            r.referenced_group_id
                .as_deref()
                .map(|g| source_name(g, &r.group_id))
        })?;
    let head = rule_head(
        direction,
        &r.protocol,
        r.from_port.map(i64::from),
        r.to_port.map(i64::from),
    );
    Some(format!("{head}_{source}"))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Sources of a rule object as the provider stores it (inline rules and
/// `aws_security_group_rule`), each as in [`source_name`].
fn rule_sources(rule: &Value, own_group: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    out.extend(strings(rule.get("cidr_blocks")));
    out.extend(strings(rule.get("ipv6_cidr_blocks")));
    out.extend(strings(rule.get("prefix_list_ids")));
    for g in strings(rule.get("security_groups"))
        .into_iter()
        .chain(strings(rule.get("source_security_group_id")))
    {
        out.push(source_name(&g, own_group));
    }
    if rule.get("self").and_then(Value::as_bool) == Some(true) {
        out.push("self".into());
    }
    out.sort();
    out.dedup();
    out
}

fn port(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The single-source strings of one provider rule object in `direction`.
fn rule_strings(rule: &Value, direction: &str, own_group: &str) -> Vec<String> {
    let head = rule_head(
        direction,
        rule.get("protocol").and_then(Value::as_str).unwrap_or("-1"),
        port(rule.get("from_port")),
        port(rule.get("to_port")),
    );
    rule_sources(rule, own_group)
        .into_iter()
        .map(|s| format!("{head}_{s}"))
        .collect()
}

/// `aws_security_group_rule`: the provider's import ID,
/// `sg-1_ingress_tcp_443_443_10.0.0.0/16_10.1.0.0/16`.
fn rule_key(a: &Value) -> Option<String> {
    let group = attr_str(a, "security_group_id")?;
    let direction = attr_str(a, "type")?;
    let sources = rule_sources(a, group);
    if sources.is_empty() {
        return None;
    }
    let head = rule_head(
        direction,
        attr_str(a, "protocol").unwrap_or("-1"),
        port(a.get("from_port")),
        port(a.get("to_port")),
    );
    Some(format!("{group}_{head}_{}", sources.join("_")))
}

/// Splits a [`rule_key`] into its group and its single-source strings.
fn split_rule_key(key: &str) -> Option<(String, Vec<String>)> {
    let parts: Vec<&str> = key.split('_').collect();
    if parts.len() < 6 {
        return None;
    }
    let head = parts[1..5].join("_");
    Some((
        parts[0].to_owned(),
        parts[5..].iter().map(|s| format!("{head}_{s}")).collect(),
    ))
}

/// A group's inline `ingress`/`egress` as single-source rule strings.
fn prepare_group_rules(attrs: &mut Value) {
    let own = attr_str(attrs, "id").unwrap_or_default().to_owned();
    for direction in ["ingress", "egress"] {
        if let Some(v) = attrs.get_mut(direction) {
            let rules: Vec<String> = match v {
                Value::Array(a) => a
                    .iter()
                    .flat_map(|r| rule_strings(r, direction, &own))
                    .collect(),
                _ => Vec::new(),
            };
            *v = json!(rules);
        }
    }
}

/// `aws_vpc_security_group_*_rule`: the protocol as EC2 names it; ports
/// mean nothing for every protocol.
fn prepare_vpc_rule(attrs: &mut Value) {
    if let Some(p) = attrs.get("ip_protocol").and_then(Value::as_str) {
        let p = protocol_name(p);
        if let Some(m) = attrs.as_object_mut() {
            if p == "-1" {
                m.remove("from_port");
                m.remove("to_port");
            }
            m.insert("ip_protocol".into(), json!(p));
        }
    }
}

// ---- Routes ----------------------------------------------------------------

/// The target of a route: the first of the fields a route names.
const ROUTE_TARGETS: &[&str] = &[
    "gateway_id",
    "nat_gateway_id",
    "transit_gateway_id",
    "vpc_peering_connection_id",
    "egress_only_gateway_id",
    "vpc_endpoint_id",
    "local_gateway_id",
    "carrier_gateway_id",
    "core_network_arn",
    "network_interface_id",
    "instance_id",
];

/// A live route's target fields, by their state attribute names. A gateway
/// endpoint's routes name it as a gateway; the provider stores it as
/// `vpc_endpoint_id`.
fn route_targets(r: &Route) -> Vec<(&'static str, Option<String>)> {
    let (gateway, endpoint) = match &r.gateway_id {
        Some(g) if g.starts_with("vpce-") => (None, Some(g.clone())),
        other => (other.clone(), None),
    };
    vec![
        ("gateway_id", gateway),
        ("nat_gateway_id", r.nat_gateway_id.clone()),
        ("transit_gateway_id", r.transit_gateway_id.clone()),
        (
            "vpc_peering_connection_id",
            r.vpc_peering_connection_id.clone(),
        ),
        ("egress_only_gateway_id", r.egress_only_gateway_id.clone()),
        ("vpc_endpoint_id", endpoint),
        ("local_gateway_id", r.local_gateway_id.clone()),
        ("carrier_gateway_id", r.carrier_gateway_id.clone()),
        ("core_network_arn", r.core_network_arn.clone()),
        ("network_interface_id", r.network_interface_id.clone()),
        ("instance_id", r.instance_id.clone()),
    ]
}

/// `10.0.0.0/16->nat-1`: one route as a string.
fn live_route_string(r: &Route) -> Option<String> {
    let dest = r.destination.as_deref()?;
    let target = route_targets(r).into_iter().find_map(|(_, v)| v)?;
    Some(format!("{dest}->{target}"))
}

/// A table's inline `route` list as [`live_route_string`]s.
fn prepare_routes(attrs: &mut Value) {
    if let Some(v) = attrs.get_mut("route") {
        let routes: Vec<String> = match v {
            Value::Array(a) => a
                .iter()
                .filter_map(|r| {
                    let dest = [
                        "cidr_block",
                        "ipv6_cidr_block",
                        "destination_prefix_list_id",
                    ]
                    .iter()
                    .find_map(|k| r.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))?;
                    let target = ROUTE_TARGETS.iter().find_map(|k| {
                        r.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty())
                    })?;
                    Some(format!("{dest}->{target}"))
                })
                .collect(),
            _ => Vec::new(),
        };
        *v = json!(routes);
    }
}

/// `aws_route`: a NAT instance's route names both the instance and its
/// interface; the interface is compared.
fn prepare_route(attrs: &mut Value) {
    if attr_str(attrs, "network_interface_id").is_some() {
        if let Some(m) = attrs.as_object_mut() {
            m.remove("instance_id");
        }
    }
}

// ---- Enumeration -------------------------------------------------------------

fn opt(v: &Option<String>) -> Value {
    json!(v)
}

fn listed(objs: Vec<LiveObject>) -> TypeScan {
    TypeScan::Listed(objs)
}

/// Runs `f` once with every ID (`None`: the list-based strategy lists all),
/// or, naive, once per managed ID of `types`.
async fn fetch<T, F, Fut>(
    req: &ScanRequest,
    types: &[&'static str],
    map_id: fn(&str) -> String,
    f: F,
) -> Result<Vec<T>, AwsError>
where
    F: Fn(Option<Vec<String>>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, AwsError>>,
{
    if !req.naive {
        return f(None).await;
    }
    let ids: BTreeSet<String> = types
        .iter()
        .flat_map(|t| req.managed(t))
        .map(|id| map_id(&id))
        .collect();
    let per_id = each(req, ids.into_iter().collect(), |id| f(Some(vec![id]))).await?;
    Ok(per_id.into_iter().flatten().collect())
}

fn same(id: &str) -> String {
    id.to_owned()
}

/// Enumerates the wanted EC2 types: one task per describe call, all at once.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let ec2 = aws.ec2();
    let ec2 = &ec2;
    let mut tasks: Vec<BoxFuture<'_, Part>> = Vec::new();
    let wants = |types: &[&str]| types.iter().any(|t| req.wants(t));
    macro_rules! task {
        ($types:expr, $f:expr) => {
            if wants($types) {
                let types: &'static [&'static str] = $types;
                tasks.push(async move { super::part_or_failed(req, types, $f.await) }.boxed());
            }
        };
    }
    task!(&[VPC, DEFAULT_VPC], vpcs(ec2, req));
    task!(&[SUBNET, DEFAULT_SUBNET], subnets(ec2, req));
    task!(
        &[
            ROUTE_TABLE,
            DEFAULT_ROUTE_TABLE,
            ROUTE,
            ROUTE_TABLE_ASSOCIATION,
            MAIN_ROUTE_TABLE_ASSOCIATION
        ],
        route_tables(ec2, req)
    );
    task!(
        &[INTERNET_GATEWAY, INTERNET_GATEWAY_ATTACHMENT],
        internet_gateways(ec2, req)
    );
    task!(&[NAT_GATEWAY], nat_gateways(ec2, req));
    task!(&[EIP, EIP_ASSOCIATION], addresses(ec2, req));
    task!(
        &[
            SECURITY_GROUP,
            DEFAULT_SECURITY_GROUP,
            SECURITY_GROUP_RULE,
            INGRESS_RULE,
            EGRESS_RULE
        ],
        security_groups(ec2, req)
    );
    task!(&[INSTANCE], instances(ec2, req));
    task!(&[LAUNCH_TEMPLATE], launch_templates(ec2));
    task!(&[KEY_PAIR], key_pairs(ec2));
    task!(&[VPC_ENDPOINT], vpc_endpoints(ec2));
    task!(&[NETWORK_ACL, DEFAULT_NETWORK_ACL], network_acls(ec2, req));
    task!(&[EC2_TAG], ec2_tags(ec2, req));
    super::run_tasks(req, tasks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Unmanaged objects of a type are listed only when asked for and in scope.
fn unmanaged_ok(req: &ScanRequest, name: &str, tags: &BTreeMap<String, String>) -> bool {
    let probe = LiveObject {
        name: name.to_owned(),
        tags: Some(tags.clone()),
        ..LiveObject::default()
    };
    req.unmanaged && req.scope.contains(&probe)
}

/// Keeps the objects the state manages (with their compared attributes) and,
/// for `--unmanaged`, those in scope (identifiers only).
fn keep(
    req: &ScanRequest,
    type_: &'static str,
    objs: impl IntoIterator<Item = (LiveObject, bool)>,
) -> (&'static str, TypeScan) {
    let managed = req.managed(type_);
    let kept = objs
        .into_iter()
        .filter_map(|(o, may_be_unmanaged)| {
            if managed.contains(&o.id) {
                Some(o)
            } else if may_be_unmanaged && unmanaged_ok(req, &o.name, o.tags.as_ref()?) {
                Some(LiveObject {
                    attrs: Vec::new(),
                    ..o
                })
            } else {
                None
            }
        })
        .collect();
    (type_, listed(kept))
}

fn name_tag(tags: &BTreeMap<String, String>, id: &str) -> String {
    tags.get("Name").cloned().unwrap_or_else(|| id.to_owned())
}

async fn vpcs(ec2: &Ec2, req: &ScanRequest) -> Result<Part, AwsError> {
    let all = fetch(req, &[VPC, DEFAULT_VPC], same, |ids| async move {
        ec2.vpcs(ids.as_deref()).await
    })
    .await?;
    let objs = |default_only: bool| {
        all.iter()
            .filter(move |v| !default_only || v.is_default)
            .map(|v| {
                let o = LiveObject {
                    attrs: vec![
                        ("cidr_block".into(), opt(&v.cidr_block)),
                        ("instance_tenancy".into(), opt(&v.instance_tenancy)),
                        ("tags".into(), json!(v.tags)),
                    ],
                    tags: Some(v.tags.clone()),
                    ..LiveObject::named(&v.id, name_tag(&v.tags, &v.id))
                };
                (o, !v.is_default)
            })
            .collect::<Vec<_>>()
    };
    Ok(vec![
        keep(req, VPC, objs(false)),
        keep(req, DEFAULT_VPC, objs(true)),
    ])
}

async fn subnets(ec2: &Ec2, req: &ScanRequest) -> Result<Part, AwsError> {
    let all = fetch(req, &[SUBNET, DEFAULT_SUBNET], same, |ids| async move {
        ec2.subnets(ids.as_deref()).await
    })
    .await?;
    let objs: Vec<(LiveObject, bool)> = all
        .iter()
        .map(|v| {
            let o = LiveObject {
                attrs: vec![
                    ("vpc_id".into(), opt(&v.vpc_id)),
                    ("cidr_block".into(), opt(&v.cidr_block)),
                    ("availability_zone".into(), opt(&v.availability_zone)),
                    (
                        "map_public_ip_on_launch".into(),
                        json!(v.map_public_ip_on_launch),
                    ),
                    ("tags".into(), json!(v.tags)),
                ],
                tags: Some(v.tags.clone()),
                ..LiveObject::named(&v.id, name_tag(&v.tags, &v.id))
            };
            (o, !v.default_for_az)
        })
        .collect();
    Ok(vec![
        keep(req, SUBNET, objs.clone()),
        keep(req, DEFAULT_SUBNET, objs),
    ])
}

/// The route table of an `aws_route` key (`rtb-1_10.0.0.0/16`).
fn route_table_of(key: &str) -> String {
    key.split('_').next().unwrap_or(key).to_owned()
}

async fn route_tables(ec2: &Ec2, req: &ScanRequest) -> Result<Part, AwsError> {
    // Naive: a route or association is found through its table; an
    // association's table is not in its key, so those are listed in full.
    let naive_ids = req.naive
        && !req.wants(ROUTE_TABLE_ASSOCIATION)
        && !req.wants(MAIN_ROUTE_TABLE_ASSOCIATION);
    let all = if naive_ids {
        fetch(
            req,
            &[ROUTE_TABLE, DEFAULT_ROUTE_TABLE, ROUTE],
            route_table_of,
            |ids| async move { ec2.route_tables(ids.as_deref()).await },
        )
        .await?
    } else {
        ec2.route_tables(None).await?
    };
    let mut tables = Vec::new();
    let mut routes = Vec::new();
    let mut assocs = Vec::new();
    let mut mains = Vec::new();
    for t in &all {
        let route_strings: Vec<String> = t
            .routes
            .iter()
            .filter(|r| r.origin.as_deref() != Some("EnableVgwRoutePropagation"))
            .filter_map(live_route_string)
            .collect();
        tables.push(LiveObject {
            attrs: vec![
                ("vpc_id".into(), opt(&t.vpc_id)),
                ("route".into(), json!(route_strings)),
                ("tags".into(), json!(t.tags)),
            ],
            tags: Some(t.tags.clone()),
            ..LiveObject::named(&t.id, name_tag(&t.tags, &t.id))
        });
        for r in &t.routes {
            let Some(dest) = &r.destination else { continue };
            let attrs = route_targets(r)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), json!(v)))
                .collect();
            routes.push(LiveObject {
                attrs,
                ..LiveObject::named(format!("{}_{dest}", t.id), "")
            });
        }
        for a in &t.associations {
            let o = LiveObject {
                attrs: vec![
                    ("route_table_id".into(), json!(a.route_table_id)),
                    ("subnet_id".into(), opt(&a.subnet_id)),
                    ("gateway_id".into(), opt(&a.gateway_id)),
                ],
                ..LiveObject::named(&a.id, "")
            };
            if a.main {
                mains.push(o);
            } else {
                assocs.push(o);
            }
        }
    }
    let only_managed =
        |t: &'static str, objs: Vec<LiveObject>| keep(req, t, objs.into_iter().map(|o| (o, false)));
    Ok(vec![
        only_managed(ROUTE_TABLE, tables.clone()),
        only_managed(DEFAULT_ROUTE_TABLE, tables),
        only_managed(ROUTE, routes),
        only_managed(ROUTE_TABLE_ASSOCIATION, assocs),
        only_managed(MAIN_ROUTE_TABLE_ASSOCIATION, mains),
    ])
}

async fn internet_gateways(ec2: &Ec2, req: &ScanRequest) -> Result<Part, AwsError> {
    let all = fetch(
        req,
        &[INTERNET_GATEWAY, INTERNET_GATEWAY_ATTACHMENT],
        |id| id.split(':').next().unwrap_or(id).to_owned(),
        |ids| async move { ec2.internet_gateways(ids.as_deref()).await },
    )
    .await?;
    let gateways = all.iter().map(|g| {
        let o = LiveObject {
            attrs: vec![
                ("vpc_id".into(), json!(g.vpc_ids.first())),
                ("tags".into(), json!(g.tags)),
            ],
            tags: Some(g.tags.clone()),
            ..LiveObject::named(&g.id, name_tag(&g.tags, &g.id))
        };
        (o, true)
    });
    let attachments = all.iter().flat_map(|g| {
        g.vpc_ids
            .iter()
            .map(|v| (LiveObject::named(format!("{}:{v}", g.id), ""), false))
    });
    Ok(vec![
        keep(req, INTERNET_GATEWAY, gateways.collect::<Vec<_>>()),
        keep(
            req,
            INTERNET_GATEWAY_ATTACHMENT,
            attachments.collect::<Vec<_>>(),
        ),
    ])
}

async fn nat_gateways(ec2: &Ec2, req: &ScanRequest) -> Result<Part, AwsError> {
    let all = fetch(req, &[NAT_GATEWAY], same, |ids| async move {
        ec2.nat_gateways(ids.as_deref()).await
    })
    .await?;
    let objs = all
        .iter()
        // A deleted gateway stays listed for a while: it is gone.
        .filter(|g| !matches!(g.state.as_deref(), Some("deleted" | "deleting" | "failed")))
        .map(|g| {
            let o = LiveObject {
                attrs: vec![
                    ("subnet_id".into(), opt(&g.subnet_id)),
                    ("allocation_id".into(), opt(&g.allocation_id)),
                    (
                        "connectivity_type".into(),
                        json!(g.connectivity_type.as_deref().unwrap_or("public")),
                    ),
                    ("tags".into(), json!(g.tags)),
                ],
                tags: Some(g.tags.clone()),
                ..LiveObject::named(&g.id, name_tag(&g.tags, &g.id))
            };
            (o, true)
        })
        .collect::<Vec<_>>();
    Ok(vec![keep(req, NAT_GATEWAY, objs)])
}

async fn addresses(ec2: &Ec2, req: &ScanRequest) -> Result<Part, AwsError> {
    let all = if req.naive && !req.wants(EIP_ASSOCIATION) {
        fetch(req, &[EIP], same, |ids| async move {
            ec2.addresses(ids.as_deref()).await
        })
        .await?
    } else {
        ec2.addresses(None).await?
    };
    let eips = all.iter().filter_map(|a| {
        let id = a.allocation_id.clone().or_else(|| a.public_ip.clone())?;
        // Not its association: that belongs to another resource (a NAT
        // gateway, an `aws_eip_association`).
        let o = LiveObject {
            attrs: vec![
                ("public_ip".into(), opt(&a.public_ip)),
                ("domain".into(), opt(&a.domain)),
                ("tags".into(), json!(a.tags)),
            ],
            ..LiveObject::named(id, "")
        };
        Some((o, false))
    });
    let assocs = all.iter().filter_map(|a| {
        let id = a.association_id.clone()?;
        let o = LiveObject {
            attrs: vec![
                ("allocation_id".into(), opt(&a.allocation_id)),
                ("instance_id".into(), opt(&a.instance_id)),
                ("network_interface_id".into(), opt(&a.network_interface_id)),
            ],
            ..LiveObject::named(id, "")
        };
        Some((o, false))
    });
    Ok(vec![
        keep(req, EIP, eips.collect::<Vec<_>>()),
        keep(req, EIP_ASSOCIATION, assocs.collect::<Vec<_>>()),
    ])
}

/// The groups the state's rule types name.
fn groups_of_rules(req: &ScanRequest) -> BTreeSet<String> {
    let mut groups: BTreeSet<String> = req.managed(SECURITY_GROUP);
    groups.extend(req.managed(DEFAULT_SECURITY_GROUP));
    for key in req.managed(SECURITY_GROUP_RULE) {
        if let Some((g, _)) = split_rule_key(&key) {
            groups.insert(g);
        }
    }
    groups
}

async fn security_groups(ec2: &Ec2, req: &ScanRequest) -> Result<Part, AwsError> {
    let wants_groups = req.wants(SECURITY_GROUP) || req.wants(DEFAULT_SECURITY_GROUP);
    let by_rule_id = req.wants(INGRESS_RULE) || req.wants(EGRESS_RULE);
    let groups = if wants_groups {
        if req.naive {
            let ids: Vec<String> = req
                .managed(SECURITY_GROUP)
                .into_iter()
                .chain(req.managed(DEFAULT_SECURITY_GROUP))
                .collect();
            each(req, ids, |id| async move {
                ec2.security_groups(Some(&[id])).await
            })
            .await?
            .into_iter()
            .flatten()
            .collect()
        } else {
            ec2.security_groups(None).await?
        }
    } else {
        Vec::new()
    };
    // Rules: of the state's groups only, unless rules are looked up by
    // their own IDs (`aws_vpc_security_group_*_rule`), which name no group.
    let rules: Vec<SecurityGroupRule> = if by_rule_id {
        ec2.security_group_rules(None).await?
    } else {
        let groups: Vec<String> = groups_of_rules(req).into_iter().collect();
        if groups.is_empty() {
            Vec::new()
        } else if req.naive {
            each(req, groups, |g| async move {
                ec2.security_group_rules(Some(&[g])).await
            })
            .await?
            .into_iter()
            .flatten()
            .collect()
        } else {
            ec2.security_group_rules(Some(&groups)).await?
        }
    };
    let mut strings: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for r in &rules {
        if let Some(s) = live_rule_string(r) {
            strings.entry(r.group_id.as_str()).or_default().insert(s);
        }
    }
    let group_objs: Vec<(LiveObject, bool)> = groups
        .iter()
        .map(|g| {
            let rules = strings.get(g.id.as_str());
            let of = |dir: &str| -> Vec<&String> {
                rules
                    .map(|r| r.iter().filter(|s| s.starts_with(dir)).collect())
                    .unwrap_or_default()
            };
            let o = LiveObject {
                attrs: vec![
                    ("name".into(), json!(g.name)),
                    ("description".into(), opt(&g.description)),
                    ("vpc_id".into(), opt(&g.vpc_id)),
                    ("ingress".into(), json!(of("ingress_"))),
                    ("egress".into(), json!(of("egress_"))),
                    ("tags".into(), json!(g.tags)),
                ],
                tags: Some(g.tags.clone()),
                ..LiveObject::named(&g.id, &g.name)
            };
            // Every VPC has a group named `default` that nobody creates.
            let creatable = g.name != "default";
            (o, creatable)
        })
        .collect();
    // A rule resource is present when each of its sources is.
    let rule_objs: Vec<(LiveObject, bool)> = req
        .managed(SECURITY_GROUP_RULE)
        .into_iter()
        .filter(|key| {
            split_rule_key(key).is_some_and(|(g, wanted)| {
                strings
                    .get(g.as_str())
                    .is_some_and(|have| wanted.iter().all(|w| have.contains(w)))
            })
        })
        .map(|key| (LiveObject::named(key, ""), false))
        .collect();
    let by_id = |egress: bool| -> Vec<(LiveObject, bool)> {
        rules
            .iter()
            .filter(|r| r.egress == egress)
            .map(|r| {
                let mut attrs = vec![
                    ("security_group_id".into(), json!(r.group_id)),
                    ("ip_protocol".into(), json!(protocol_name(&r.protocol))),
                    ("cidr_ipv4".into(), opt(&r.cidr_ipv4)),
                    ("cidr_ipv6".into(), opt(&r.cidr_ipv6)),
                    ("prefix_list_id".into(), opt(&r.prefix_list_id)),
                    (
                        "referenced_security_group_id".into(),
                        opt(&r.referenced_group_id),
                    ),
                    ("description".into(), opt(&r.description)),
                    ("tags".into(), json!(r.tags)),
                ];
                if protocol_name(&r.protocol) != "-1" {
                    attrs.push(("from_port".into(), json!(r.from_port)));
                    attrs.push(("to_port".into(), json!(r.to_port)));
                }
                let o = LiveObject {
                    attrs,
                    ..LiveObject::named(&r.id, "")
                };
                (o, false)
            })
            .collect()
    };
    let mut out = Vec::new();
    if wants_groups {
        out.push(keep(req, SECURITY_GROUP, group_objs.clone()));
        out.push(keep(
            req,
            DEFAULT_SECURITY_GROUP,
            group_objs.into_iter().map(|(o, _)| (o, false)),
        ));
    }
    out.push(keep(req, SECURITY_GROUP_RULE, rule_objs));
    if by_rule_id {
        out.push(keep(req, INGRESS_RULE, by_id(false)));
        out.push(keep(req, EGRESS_RULE, by_id(true)));
    }
    Ok(out)
}

async fn instances(ec2: &Ec2, req: &ScanRequest) -> Result<Part, AwsError> {
    // Instances are looked up by the state's IDs: an account's instances
    // are mostly an Auto Scaling group's, which no state manages one by one.
    let ids: Vec<String> = req.managed(INSTANCE).into_iter().collect();
    let all = if req.naive {
        each(
            req,
            ids,
            |id| async move { ec2.instances(Some(&[id])).await },
        )
        .await?
        .into_iter()
        .flatten()
        .collect()
    } else if ids.is_empty() {
        Vec::new()
    } else {
        ec2.instances(Some(&ids)).await?
    };
    let objs = all
        .iter()
        .filter(|i| !matches!(i.state.as_deref(), Some("terminated" | "shutting-down")))
        .map(|i| {
            let o = LiveObject {
                attrs: vec![
                    ("instance_type".into(), opt(&i.instance_type)),
                    ("ami".into(), opt(&i.image_id)),
                    ("subnet_id".into(), opt(&i.subnet_id)),
                    ("key_name".into(), opt(&i.key_name)),
                    ("availability_zone".into(), opt(&i.availability_zone)),
                    ("vpc_security_group_ids".into(), json!(i.security_group_ids)),
                    ("tags".into(), json!(i.tags)),
                ],
                ..LiveObject::named(&i.id, "")
            };
            (o, false)
        })
        .collect::<Vec<_>>();
    Ok(vec![keep(req, INSTANCE, objs)])
}

async fn launch_templates(ec2: &Ec2) -> Result<Part, AwsError> {
    // Version numbers move with every new version: not compared.
    let all = ec2.launch_templates().await?;
    let objs: Vec<LiveObject> = all
        .iter()
        .map(|t| LiveObject {
            attrs: vec![
                ("name".into(), opt(&t.name)),
                ("tags".into(), json!(t.tags)),
            ],
            ..LiveObject::named(&t.id, t.name.clone().unwrap_or_default())
        })
        .collect();
    Ok(vec![(LAUNCH_TEMPLATE, listed(objs))])
}

async fn key_pairs(ec2: &Ec2) -> Result<Part, AwsError> {
    let all = ec2.key_pairs().await?;
    let objs: Vec<LiveObject> = all
        .iter()
        .map(|k| LiveObject {
            attrs: vec![("tags".into(), json!(k.tags))],
            ..LiveObject::named(&k.name, &k.name)
        })
        .collect();
    Ok(vec![(KEY_PAIR, listed(objs))])
}

async fn vpc_endpoints(ec2: &Ec2) -> Result<Part, AwsError> {
    let all = ec2.vpc_endpoints().await?;
    let objs: Vec<LiveObject> = all
        .iter()
        .filter(|e| !matches!(e.state.as_deref(), Some("deleted" | "deleting" | "failed")))
        .map(|e| LiveObject {
            attrs: vec![
                ("vpc_id".into(), opt(&e.vpc_id)),
                ("service_name".into(), opt(&e.service_name)),
                ("vpc_endpoint_type".into(), opt(&e.endpoint_type)),
                ("tags".into(), json!(e.tags)),
            ],
            ..LiveObject::named(&e.id, "")
        })
        .collect();
    Ok(vec![(VPC_ENDPOINT, listed(objs))])
}

async fn network_acls(ec2: &Ec2, req: &ScanRequest) -> Result<Part, AwsError> {
    let all = ec2.network_acls().await?;
    let objs: Vec<(LiveObject, bool)> = all
        .iter()
        .map(|a| {
            let o = LiveObject {
                attrs: vec![
                    ("vpc_id".into(), opt(&a.vpc_id)),
                    ("tags".into(), json!(a.tags)),
                ],
                ..LiveObject::named(&a.id, "")
            };
            (o, false)
        })
        .collect();
    Ok(vec![
        keep(req, NETWORK_ACL, objs.clone()),
        keep(req, DEFAULT_NETWORK_ACL, objs),
    ])
}

async fn ec2_tags(ec2: &Ec2, req: &ScanRequest) -> Result<Part, AwsError> {
    let keys: BTreeSet<String> = req
        .managed(EC2_TAG)
        .iter()
        .filter_map(|id| id.split_once(',').map(|(_, k)| k.to_owned()))
        .collect();
    let keys: Vec<String> = keys.into_iter().collect();
    let all = if keys.is_empty() {
        Vec::new()
    } else {
        ec2.tags_with_keys(&keys).await?
    };
    let objs: Vec<LiveObject> = all
        .iter()
        .map(|t| LiveObject {
            attrs: vec![("value".into(), json!(t.value))],
            ..LiveObject::named(format!("{},{}", t.resource_id, t.key), "")
        })
        .collect();
    Ok(vec![(EC2_TAG, listed(objs))])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        egress: bool,
        proto: &str,
        from: i32,
        to: i32,
        cidr: Option<&str>,
        group: Option<&str>,
    ) -> SecurityGroupRule {
        SecurityGroupRule {
            id: "sgr-1".into(),
            group_id: "sg-own".into(),
            egress,
            protocol: proto.into(),
            from_port: Some(from),
            to_port: Some(to),
            cidr_ipv4: cidr.map(str::to_owned),
            referenced_group_id: group.map(str::to_owned),
            ..SecurityGroupRule::default()
        }
    }

    #[test]
    fn rule_keys_are_the_providers_import_ids() {
        let cases = [
            (
                json!({"security_group_id": "sg-1", "type": "ingress", "protocol": "tcp", "from_port": 443, "to_port": 443,
                       "cidr_blocks": ["10.1.0.0/16", "10.0.0.0/16"]}),
                Some("sg-1_ingress_tcp_443_443_10.0.0.0/16_10.1.0.0/16"),
            ),
            // Every protocol: ports mean nothing; `null` CIDRs.
            (
                json!({"security_group_id": "sg-1", "type": "egress", "protocol": "-1", "from_port": 0, "to_port": 65535,
                       "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": null}),
                Some("sg-1_egress_all_0_0_0.0.0.0/0"),
            ),
            // A source group in another account; `self`.
            (
                json!({"security_group_id": "sg-1", "type": "ingress", "protocol": "6", "from_port": 22, "to_port": 22,
                       "source_security_group_id": "123456789012/sg-9"}),
                Some("sg-1_ingress_tcp_22_22_sg-9"),
            ),
            (
                json!({"security_group_id": "sg-1", "type": "ingress", "protocol": "all", "from_port": 0, "to_port": 0,
                       "self": true, "source_security_group_id": "sg-1"}),
                Some("sg-1_ingress_all_0_0_self"),
            ),
            // No source at all: no identifier.
            (
                json!({"security_group_id": "sg-1", "type": "ingress", "protocol": "tcp", "from_port": 1, "to_port": 1}),
                None,
            ),
        ];
        for (attrs, want) in cases {
            assert_eq!(rule_key(&attrs).as_deref(), want, "{attrs}");
        }
        assert_eq!(
            split_rule_key("sg-1_ingress_tcp_443_443_10.0.0.0/16_self"),
            Some((
                "sg-1".into(),
                vec![
                    "ingress_tcp_443_443_10.0.0.0/16".into(),
                    "ingress_tcp_443_443_self".into()
                ]
            ))
        );
    }

    #[test]
    fn live_rules_read_as_single_source_strings() {
        assert_eq!(
            live_rule_string(&rule(false, "tcp", 443, 443, Some("10.0.0.0/16"), None)).as_deref(),
            Some("ingress_tcp_443_443_10.0.0.0/16")
        );
        assert_eq!(
            live_rule_string(&rule(true, "-1", -1, -1, Some("0.0.0.0/0"), None)).as_deref(),
            Some("egress_all_0_0_0.0.0.0/0")
        );
        assert_eq!(
            live_rule_string(&rule(false, "tcp", 1, 65535, None, Some("sg-own"))).as_deref(),
            Some("ingress_tcp_1_65535_self")
        );
    }

    #[test]
    fn inline_rules_and_routes_are_prepared_into_the_live_form() {
        let mut g = json!({"id": "sg-own", "ingress": [
            {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["10.0.0.0/16", "10.1.0.0/16"],
             "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": ["sg-2"], "self": false, "description": ""}],
            "egress": []});
        prepare_group_rules(&mut g);
        assert_eq!(
            g["ingress"],
            json!([
                "ingress_tcp_443_443_10.0.0.0/16",
                "ingress_tcp_443_443_10.1.0.0/16",
                "ingress_tcp_443_443_sg-2"
            ])
        );
        assert_eq!(g["egress"], json!([]));

        let mut t = json!({"route": [
            {"cidr_block": "0.0.0.0/0", "gateway_id": "", "nat_gateway_id": "nat-1", "ipv6_cidr_block": ""},
            {"cidr_block": "", "ipv6_cidr_block": "::/0", "egress_only_gateway_id": "eigw-1"}]});
        prepare_routes(&mut t);
        assert_eq!(t["route"], json!(["0.0.0.0/0->nat-1", "::/0->eigw-1"]));
        let live = Route {
            destination: Some("10.1.0.0/16".into()),
            gateway_id: Some("vpce-1".into()),
            ..Route::default()
        };
        assert_eq!(
            live_route_string(&live).as_deref(),
            Some("10.1.0.0/16->vpce-1")
        );
        assert_eq!(
            route_key(&json!({"route_table_id": "rtb-1", "destination_cidr_block": "10.0.0.0/8"}))
                .as_deref(),
            Some("rtb-1_10.0.0.0/8")
        );
    }

    #[test]
    fn protocols_are_named_as_ec2_names_them() {
        for (given, want) in [
            ("6", "tcp"),
            ("TCP", "tcp"),
            ("17", "udp"),
            ("all", "-1"),
            ("-1", "-1"),
            ("50", "50"),
        ] {
            assert_eq!(protocol_name(given), want, "{given}");
        }
        let mut r = json!({"ip_protocol": "all", "from_port": null, "to_port": null});
        prepare_vpc_rule(&mut r);
        assert_eq!(r, json!({"ip_protocol": "-1"}));
    }
}
