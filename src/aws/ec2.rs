//! EC2 adapter: describe-all calls (1,000 items a page where the API
//! allows it) for VPC networking, security groups and their rules, NAT and
//! internet gateways, Elastic IPs, instances, launch templates, key pairs,
//! VPC endpoints, network ACLs and tags. Nothing here is per resource.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, Tag};

use super::AwsError;

/// Tags as a sorted map, without AWS's own `aws:` tags (which no
/// configuration can set).
fn tags(t: &[Tag]) -> BTreeMap<String, String> {
    super::user_tags(t.iter().map(|t| (t.key(), t.value())))
}

/// A filter on IDs (`vpc-id`, ...), when only some objects are wanted: a
/// filter that matches nothing lists nothing, where asking for an absent ID
/// by name is an error.
fn only(name: &str, ids: Option<&[String]>) -> Option<Vec<Filter>> {
    ids.map(|ids| {
        vec![Filter::builder()
            .name(name)
            .set_values(Some(ids.to_vec()))
            .build()]
    })
}

use super::non_empty as s;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vpc {
    pub id: String,
    pub cidr_block: Option<String>,
    pub instance_tenancy: Option<String>,
    pub is_default: bool,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: Option<String>,
    pub cidr_block: Option<String>,
    pub availability_zone: Option<String>,
    pub map_public_ip_on_launch: Option<bool>,
    pub default_for_az: bool,
    pub tags: BTreeMap<String, String>,
}

/// One route of a route table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    /// The destination: an IPv4 or IPv6 CIDR or a prefix list ID.
    pub destination: Option<String>,
    pub gateway_id: Option<String>,
    pub nat_gateway_id: Option<String>,
    pub transit_gateway_id: Option<String>,
    pub vpc_peering_connection_id: Option<String>,
    pub egress_only_gateway_id: Option<String>,
    pub network_interface_id: Option<String>,
    pub instance_id: Option<String>,
    pub local_gateway_id: Option<String>,
    pub carrier_gateway_id: Option<String>,
    pub core_network_arn: Option<String>,
    /// `CreateRouteTable` (the local route), `CreateRoute`, `EnableVgwRoutePropagation`.
    pub origin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteTableAssociation {
    pub id: String,
    pub route_table_id: String,
    pub subnet_id: Option<String>,
    pub gateway_id: Option<String>,
    pub main: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: Option<String>,
    pub routes: Vec<Route>,
    pub associations: Vec<RouteTableAssociation>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InternetGateway {
    pub id: String,
    pub vpc_ids: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NatGateway {
    pub id: String,
    pub subnet_id: Option<String>,
    pub vpc_id: Option<String>,
    pub allocation_id: Option<String>,
    pub connectivity_type: Option<String>,
    /// `pending`, `available`, `deleting`, `deleted`, `failed`.
    pub state: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// An Elastic IP.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub allocation_id: Option<String>,
    pub public_ip: Option<String>,
    pub domain: Option<String>,
    pub association_id: Option<String>,
    pub instance_id: Option<String>,
    pub network_interface_id: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub vpc_id: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// One rule of a security group: one protocol, port range and source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityGroupRule {
    pub id: String,
    pub group_id: String,
    pub egress: bool,
    /// `tcp`, `udp`, `icmp`, `-1`, or a protocol number.
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub cidr_ipv4: Option<String>,
    pub cidr_ipv6: Option<String>,
    pub prefix_list_id: Option<String>,
    pub referenced_group_id: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Instance {
    pub id: String,
    pub instance_type: Option<String>,
    pub image_id: Option<String>,
    pub subnet_id: Option<String>,
    pub key_name: Option<String>,
    pub availability_zone: Option<String>,
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`.
    pub state: Option<String>,
    pub security_group_ids: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LaunchTemplate {
    pub id: String,
    pub name: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPair {
    pub name: String,
    pub id: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VpcEndpoint {
    pub id: String,
    pub vpc_id: Option<String>,
    pub service_name: Option<String>,
    pub endpoint_type: Option<String>,
    /// Lower case, as the API writes it (`available`, `deleted`, ...).
    pub state: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkAcl {
    pub id: String,
    pub vpc_id: Option<String>,
    pub is_default: bool,
    pub tags: BTreeMap<String, String>,
}

/// One tag of one resource (`aws_ec2_tag`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceTag {
    pub resource_id: String,
    pub key: String,
    pub value: String,
}

/// The EC2 client.
#[derive(Clone, Debug)]
pub struct Ec2 {
    client: aws_sdk_ec2::Client,
}

const REGION_WIDE: &str = "the region's EC2 resources";

/// Runs a paginated EC2 describe call to the end: `$call` is a request
/// builder, `$items` the output's list, `$map` turns one item into ours.
macro_rules! describe_all {
    ($op:literal, $call:expr, $items:ident, $map:expr) => {{
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = $call
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk($op, REGION_WIDE, e))?;
            out.extend(page.$items().iter().map($map));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }};
}

impl Ec2 {
    pub(super) fn new(client: aws_sdk_ec2::Client) -> Self {
        Ec2 { client }
    }

    /// Every VPC, or those with the given IDs (DescribeVpcs).
    pub async fn vpcs(&self, ids: Option<&[String]>) -> Result<Vec<Vpc>, AwsError> {
        describe_all!(
            "DescribeVpcs",
            self.client
                .describe_vpcs()
                .max_results(1000)
                .set_filters(only("vpc-id", ids)),
            vpcs,
            |v| Vpc {
                id: v.vpc_id().unwrap_or_default().to_owned(),
                cidr_block: s(v.cidr_block()),
                instance_tenancy: v.instance_tenancy().map(|t| t.as_str().to_owned()),
                is_default: v.is_default().unwrap_or(false),
                tags: tags(v.tags()),
            }
        )
    }

    /// Every subnet (DescribeSubnets).
    pub async fn subnets(&self, ids: Option<&[String]>) -> Result<Vec<Subnet>, AwsError> {
        describe_all!(
            "DescribeSubnets",
            self.client
                .describe_subnets()
                .max_results(1000)
                .set_filters(only("subnet-id", ids)),
            subnets,
            |v| Subnet {
                id: v.subnet_id().unwrap_or_default().to_owned(),
                vpc_id: s(v.vpc_id()),
                cidr_block: s(v.cidr_block()),
                availability_zone: s(v.availability_zone()),
                map_public_ip_on_launch: v.map_public_ip_on_launch(),
                default_for_az: v.default_for_az().unwrap_or(false),
                tags: tags(v.tags()),
            }
        )
    }

    /// Every route table with its routes and associations (DescribeRouteTables).
    pub async fn route_tables(&self, ids: Option<&[String]>) -> Result<Vec<RouteTable>, AwsError> {
        describe_all!(
            "DescribeRouteTables",
            self.client
                .describe_route_tables()
                .max_results(100)
                .set_filters(only("route-table-id", ids)),
            route_tables,
            |t| {
                let id = t.route_table_id().unwrap_or_default().to_owned();
                RouteTable {
                    vpc_id: s(t.vpc_id()),
                    routes: t
                        .routes()
                        .iter()
                        .map(|r| Route {
                            destination: s(r.destination_cidr_block())
                                .or_else(|| s(r.destination_ipv6_cidr_block()))
                                .or_else(|| s(r.destination_prefix_list_id())),
                            gateway_id: s(r.gateway_id()),
                            nat_gateway_id: s(r.nat_gateway_id()),
                            transit_gateway_id: s(r.transit_gateway_id()),
                            vpc_peering_connection_id: s(r.vpc_peering_connection_id()),
                            egress_only_gateway_id: s(r.egress_only_internet_gateway_id()),
                            network_interface_id: s(r.network_interface_id()),
                            instance_id: s(r.instance_id()),
                            local_gateway_id: s(r.local_gateway_id()),
                            carrier_gateway_id: s(r.carrier_gateway_id()),
                            core_network_arn: s(r.core_network_arn()),
                            origin: r.origin().map(|o| o.as_str().to_owned()),
                        })
                        .collect(),
                    associations: t
                        .associations()
                        .iter()
                        .map(|a| RouteTableAssociation {
                            id: a
                                .route_table_association_id()
                                .unwrap_or_default()
                                .to_owned(),
                            route_table_id: a
                                .route_table_id()
                                .map(str::to_owned)
                                .unwrap_or_else(|| id.clone()),
                            subnet_id: s(a.subnet_id()),
                            gateway_id: s(a.gateway_id()),
                            main: a.main().unwrap_or(false),
                        })
                        .collect(),
                    tags: tags(t.tags()),
                    id,
                }
            }
        )
    }

    /// Every internet gateway (DescribeInternetGateways).
    pub async fn internet_gateways(
        &self,
        ids: Option<&[String]>,
    ) -> Result<Vec<InternetGateway>, AwsError> {
        describe_all!(
            "DescribeInternetGateways",
            self.client
                .describe_internet_gateways()
                .max_results(1000)
                .set_filters(only("internet-gateway-id", ids)),
            internet_gateways,
            |g| InternetGateway {
                id: g.internet_gateway_id().unwrap_or_default().to_owned(),
                vpc_ids: g
                    .attachments()
                    .iter()
                    .filter_map(|a| a.vpc_id().map(str::to_owned))
                    .collect(),
                tags: tags(g.tags()),
            }
        )
    }

    /// Every NAT gateway, deleted ones included while AWS still lists them
    /// (DescribeNatGateways).
    pub async fn nat_gateways(&self, ids: Option<&[String]>) -> Result<Vec<NatGateway>, AwsError> {
        describe_all!(
            "DescribeNatGateways",
            self.client
                .describe_nat_gateways()
                .max_results(1000)
                .set_filter(only("nat-gateway-id", ids)),
            nat_gateways,
            |g| NatGateway {
                id: g.nat_gateway_id().unwrap_or_default().to_owned(),
                subnet_id: s(g.subnet_id()),
                vpc_id: s(g.vpc_id()),
                allocation_id: g
                    .nat_gateway_addresses()
                    .iter()
                    .find_map(|a| s(a.allocation_id())),
                connectivity_type: g.connectivity_type().map(|c| c.as_str().to_owned()),
                state: g.state().map(|c| c.as_str().to_owned()),
                tags: tags(g.tags()),
            }
        )
    }

    /// Every Elastic IP (DescribeAddresses: one call, not paginated).
    pub async fn addresses(&self, ids: Option<&[String]>) -> Result<Vec<Address>, AwsError> {
        let out = self
            .client
            .describe_addresses()
            .set_filters(only("allocation-id", ids))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeAddresses", REGION_WIDE, e))?;
        Ok(out
            .addresses()
            .iter()
            .map(|a| Address {
                allocation_id: s(a.allocation_id()),
                public_ip: s(a.public_ip()),
                domain: a.domain().map(|d| d.as_str().to_owned()),
                association_id: s(a.association_id()),
                instance_id: s(a.instance_id()),
                network_interface_id: s(a.network_interface_id()),
                tags: tags(a.tags()),
            })
            .collect())
    }

    /// Every security group (DescribeSecurityGroups).
    pub async fn security_groups(
        &self,
        ids: Option<&[String]>,
    ) -> Result<Vec<SecurityGroup>, AwsError> {
        describe_all!(
            "DescribeSecurityGroups",
            self.client
                .describe_security_groups()
                .max_results(1000)
                .set_filters(only("group-id", ids)),
            security_groups,
            |g| SecurityGroup {
                id: g.group_id().unwrap_or_default().to_owned(),
                name: g.group_name().unwrap_or_default().to_owned(),
                description: s(g.description()),
                vpc_id: s(g.vpc_id()),
                tags: tags(g.tags()),
            }
        )
    }

    /// The rules of the given security groups, or of every group when
    /// `groups` is `None` (DescribeSecurityGroupRules, 200 groups a filter).
    pub async fn security_group_rules(
        &self,
        groups: Option<&[String]>,
    ) -> Result<Vec<SecurityGroupRule>, AwsError> {
        let chunks: Vec<Option<Vec<String>>> = match groups {
            None => vec![None],
            Some(g) => g.chunks(200).map(|c| Some(c.to_vec())).collect(),
        };
        let mut out = Vec::new();
        for chunk in chunks {
            let mut call = self
                .client
                .describe_security_group_rules()
                .max_results(1000);
            if let Some(ids) = chunk {
                call = call.filters(
                    Filter::builder()
                        .name("group-id")
                        .set_values(Some(ids))
                        .build(),
                );
            }
            let rules: Vec<SecurityGroupRule> = describe_all!(
                "DescribeSecurityGroupRules",
                call.clone(),
                security_group_rules,
                |r| SecurityGroupRule {
                    id: r.security_group_rule_id().unwrap_or_default().to_owned(),
                    group_id: r.group_id().unwrap_or_default().to_owned(),
                    egress: r.is_egress().unwrap_or(false),
                    protocol: r.ip_protocol().unwrap_or("-1").to_owned(),
                    from_port: r.from_port(),
                    to_port: r.to_port(),
                    cidr_ipv4: s(r.cidr_ipv4()),
                    cidr_ipv6: s(r.cidr_ipv6()),
                    prefix_list_id: s(r.prefix_list_id()),
                    referenced_group_id: r.referenced_group_info().and_then(|g| s(g.group_id())),
                    description: s(r.description()),
                    tags: tags(r.tags()),
                }
            )?;
            out.extend(rules);
        }
        Ok(out)
    }

    /// Instances, all of them or those with the given IDs (DescribeInstances).
    pub async fn instances(&self, ids: Option<&[String]>) -> Result<Vec<Instance>, AwsError> {
        let chunks: Vec<Option<Vec<String>>> = match ids {
            None => vec![None],
            Some(g) => g.chunks(200).map(|c| Some(c.to_vec())).collect(),
        };
        let mut out = Vec::new();
        for chunk in chunks {
            let mut call = self.client.describe_instances();
            match chunk {
                Some(ids) => {
                    call = call.filters(
                        Filter::builder()
                            .name("instance-id")
                            .set_values(Some(ids))
                            .build(),
                    )
                }
                None => call = call.max_results(1000),
            }
            let reservations: Vec<Vec<Instance>> =
                describe_all!("DescribeInstances", call.clone(), reservations, |r| r
                    .instances()
                    .iter()
                    .map(|i| Instance {
                        id: i.instance_id().unwrap_or_default().to_owned(),
                        instance_type: i.instance_type().map(|t| t.as_str().to_owned()),
                        image_id: s(i.image_id()),
                        subnet_id: s(i.subnet_id()),
                        key_name: s(i.key_name()),
                        availability_zone: i.placement().and_then(|p| s(p.availability_zone())),
                        state: i
                            .state()
                            .and_then(|s| s.name())
                            .map(|n| n.as_str().to_owned()),
                        security_group_ids: i
                            .security_groups()
                            .iter()
                            .filter_map(|g| g.group_id().map(str::to_owned))
                            .collect(),
                        tags: tags(i.tags()),
                    })
                    .collect())?;
            out.extend(reservations.into_iter().flatten());
        }
        Ok(out)
    }

    /// Every launch template (DescribeLaunchTemplates).
    pub async fn launch_templates(&self) -> Result<Vec<LaunchTemplate>, AwsError> {
        describe_all!(
            "DescribeLaunchTemplates",
            self.client.describe_launch_templates().max_results(200),
            launch_templates,
            |t| LaunchTemplate {
                id: t.launch_template_id().unwrap_or_default().to_owned(),
                name: s(t.launch_template_name()),
                tags: tags(t.tags()),
            }
        )
    }

    /// Every key pair (DescribeKeyPairs: one call, not paginated).
    pub async fn key_pairs(&self) -> Result<Vec<KeyPair>, AwsError> {
        let out = self
            .client
            .describe_key_pairs()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeKeyPairs", REGION_WIDE, e))?;
        Ok(out
            .key_pairs()
            .iter()
            .map(|k| KeyPair {
                name: k.key_name().unwrap_or_default().to_owned(),
                id: s(k.key_pair_id()),
                tags: tags(k.tags()),
            })
            .collect())
    }

    /// Every VPC endpoint (DescribeVpcEndpoints).
    pub async fn vpc_endpoints(&self) -> Result<Vec<VpcEndpoint>, AwsError> {
        describe_all!(
            "DescribeVpcEndpoints",
            self.client.describe_vpc_endpoints().max_results(1000),
            vpc_endpoints,
            |e| VpcEndpoint {
                id: e.vpc_endpoint_id().unwrap_or_default().to_owned(),
                vpc_id: s(e.vpc_id()),
                service_name: s(e.service_name()),
                endpoint_type: e.vpc_endpoint_type().map(|t| t.as_str().to_owned()),
                state: e.state().map(|t| t.as_str().to_lowercase()),
                tags: tags(e.tags()),
            }
        )
    }

    /// Every network ACL (DescribeNetworkAcls).
    pub async fn network_acls(&self) -> Result<Vec<NetworkAcl>, AwsError> {
        describe_all!(
            "DescribeNetworkAcls",
            self.client.describe_network_acls().max_results(1000),
            network_acls,
            |a| NetworkAcl {
                id: a.network_acl_id().unwrap_or_default().to_owned(),
                vpc_id: s(a.vpc_id()),
                is_default: a.is_default().unwrap_or(false),
                tags: tags(a.tags()),
            }
        )
    }

    /// The tags with these keys, of every resource (DescribeTags filtered on
    /// the keys: the state's `aws_ec2_tag`s name few distinct keys).
    pub async fn tags_with_keys(&self, keys: &[String]) -> Result<Vec<ResourceTag>, AwsError> {
        let mut out = Vec::new();
        for chunk in keys.chunks(200) {
            let call = self.client.describe_tags().max_results(1000).filters(
                Filter::builder()
                    .name("key")
                    .set_values(Some(chunk.to_vec()))
                    .build(),
            );
            let tags: Vec<ResourceTag> = describe_all!("DescribeTags", call.clone(), tags, |t| {
                ResourceTag {
                    resource_id: t.resource_id().unwrap_or_default().to_owned(),
                    key: t.key().unwrap_or_default().to_owned(),
                    value: t.value().unwrap_or_default().to_owned(),
                }
            })?;
            out.extend(tags);
        }
        Ok(out)
    }
}
