//! Elastic Load Balancing v2 adapter: DescribeLoadBalancers and
//! DescribeTargetGroups (400 a page, the API's maximum), DescribeTags (20
//! ARNs a call), and the per-parent calls DescribeListeners (per load
//! balancer), DescribeRules (per listener) and DescribeTargetHealth (per
//! target group).

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::Action as SdkAction;

use super::{AwsError, AwsErrorKind};

use super::non_empty as s;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    /// `internet-facing` or `internal`.
    pub scheme: Option<String>,
    /// `application`, `network`, `gateway`.
    pub type_: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_groups: Vec<String>,
    pub ip_address_type: Option<String>,
    /// `active`, `provisioning`, `active_impaired`, `failed`.
    pub state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub port: Option<i32>,
    pub protocol: Option<String>,
    pub vpc_id: Option<String>,
    pub target_type: Option<String>,
    pub health_check_path: Option<String>,
    pub health_check_port: Option<String>,
    pub health_check_protocol: Option<String>,
    /// HTTP codes, else gRPC codes.
    pub matcher: Option<String>,
}

/// One action of a listener or rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Action {
    /// `forward`, `redirect`, `fixed-response`, `authenticate-oidc`, ...
    pub type_: String,
    /// The target group, or those of a weighted forward, sorted.
    pub target_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listener {
    pub arn: String,
    pub load_balancer_arn: Option<String>,
    pub port: Option<i32>,
    pub protocol: Option<String>,
    pub ssl_policy: Option<String>,
    /// The default certificate.
    pub certificate_arn: Option<String>,
    pub default_actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    pub arn: String,
    /// A number, or `default` for the listener's default rule.
    pub priority: Option<String>,
    pub actions: Vec<Action>,
}

/// One registered target of a target group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    pub id: String,
    pub port: Option<i32>,
    /// `initial`, `healthy`, `unhealthy`, `unused`, `draining`, `unavailable`.
    pub state: Option<String>,
}

/// The Elastic Load Balancing v2 client.
#[derive(Clone, Debug)]
pub struct Elbv2 {
    client: aws_sdk_elasticloadbalancingv2::Client,
}

/// Runs a paginated describe call (with `Marker`) to the end.
macro_rules! describe_all {
    ($op:literal, $what:expr, $call:expr, $items:ident, $map:expr) => {{
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = $call
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk($op, $what, e))?;
            out.extend(page.$items().iter().map($map));
            match page.next_marker() {
                Some(t) if !t.is_empty() => marker = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok::<_, AwsError>(out)
    }};
}

fn action(a: &SdkAction) -> Action {
    let mut target_groups: Vec<String> = match s(a.target_group_arn()) {
        Some(tg) => vec![tg],
        None => a
            .forward_config()
            .map(|f| {
                f.target_groups()
                    .iter()
                    .filter_map(|t| s(t.target_group_arn()))
                    .collect()
            })
            .unwrap_or_default(),
    };
    target_groups.sort();
    target_groups.dedup();
    Action {
        type_: a
            .r#type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        target_groups,
    }
}

/// A not-found error means the object, or everything under that parent, is gone.
fn none_if_absent<T>(r: Result<Vec<T>, AwsError>) -> Result<Vec<T>, AwsError> {
    match r {
        Err(e) if e.kind == AwsErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

impl Elbv2 {
    pub(super) fn new(client: aws_sdk_elasticloadbalancingv2::Client) -> Self {
        Elbv2 { client }
    }

    /// Every load balancer, or the one with this ARN (DescribeLoadBalancers).
    pub async fn load_balancers(&self, arn: Option<&str>) -> Result<Vec<LoadBalancer>, AwsError> {
        let call = self
            .client
            .describe_load_balancers()
            .set_load_balancer_arns(arn.map(|a| vec![a.to_owned()]));
        let call = if arn.is_none() {
            call.page_size(400)
        } else {
            call
        };
        none_if_absent(
            async {
                describe_all!(
                    "DescribeLoadBalancers",
                    "the region's load balancers",
                    call.clone(),
                    load_balancers,
                    |l| LoadBalancer {
                        arn: l.load_balancer_arn().unwrap_or_default().to_owned(),
                        name: l.load_balancer_name().unwrap_or_default().to_owned(),
                        scheme: l.scheme().map(|v| v.as_str().to_owned()),
                        type_: l.r#type().map(|v| v.as_str().to_owned()),
                        subnet_ids: l
                            .availability_zones()
                            .iter()
                            .filter_map(|z| s(z.subnet_id()))
                            .collect(),
                        security_groups: l.security_groups().to_vec(),
                        ip_address_type: l.ip_address_type().map(|v| v.as_str().to_owned()),
                        state: l
                            .state()
                            .and_then(|st| st.code())
                            .map(|c| c.as_str().to_owned()),
                    }
                )
            }
            .await,
        )
    }

    /// Every target group, or the one with this ARN (DescribeTargetGroups).
    pub async fn target_groups(&self, arn: Option<&str>) -> Result<Vec<TargetGroup>, AwsError> {
        let call = self
            .client
            .describe_target_groups()
            .set_target_group_arns(arn.map(|a| vec![a.to_owned()]));
        let call = if arn.is_none() {
            call.page_size(400)
        } else {
            call
        };
        none_if_absent(
            async {
                describe_all!(
                    "DescribeTargetGroups",
                    "the region's target groups",
                    call.clone(),
                    target_groups,
                    |g| TargetGroup {
                        arn: g.target_group_arn().unwrap_or_default().to_owned(),
                        name: g.target_group_name().unwrap_or_default().to_owned(),
                        port: g.port(),
                        protocol: g.protocol().map(|v| v.as_str().to_owned()),
                        vpc_id: s(g.vpc_id()),
                        target_type: g.target_type().map(|v| v.as_str().to_owned()),
                        health_check_path: s(g.health_check_path()),
                        health_check_port: s(g.health_check_port()),
                        health_check_protocol: g
                            .health_check_protocol()
                            .map(|v| v.as_str().to_owned()),
                        matcher: g
                            .matcher()
                            .and_then(|m| s(m.http_code()).or_else(|| s(m.grpc_code()))),
                    }
                )
            }
            .await,
        )
    }

    /// The listeners of one load balancer (none if it is gone), or the one
    /// listener with this ARN (DescribeListeners).
    pub async fn listeners(
        &self,
        load_balancer: Option<&str>,
        arn: Option<&str>,
    ) -> Result<Vec<Listener>, AwsError> {
        let what = load_balancer.or(arn).unwrap_or_default().to_owned();
        let call = self
            .client
            .describe_listeners()
            .set_load_balancer_arn(load_balancer.map(str::to_owned))
            .set_listener_arns(arn.map(|a| vec![a.to_owned()]));
        let call = if arn.is_none() {
            call.page_size(400)
        } else {
            call
        };
        none_if_absent(
            async {
                describe_all!(
                    "DescribeListeners",
                    what.clone(),
                    call.clone(),
                    listeners,
                    |l| Listener {
                        arn: l.listener_arn().unwrap_or_default().to_owned(),
                        load_balancer_arn: s(l.load_balancer_arn()),
                        port: l.port(),
                        protocol: l.protocol().map(|v| v.as_str().to_owned()),
                        ssl_policy: s(l.ssl_policy()),
                        certificate_arn: l
                            .certificates()
                            .iter()
                            .find(|c| c.is_default() != Some(false))
                            .and_then(|c| s(c.certificate_arn())),
                        default_actions: l.default_actions().iter().map(action).collect(),
                    }
                )
            }
            .await,
        )
    }

    /// The rules of one listener (none if it is gone), or the one rule with
    /// this ARN (DescribeRules).
    pub async fn rules(
        &self,
        listener: Option<&str>,
        arn: Option<&str>,
    ) -> Result<Vec<Rule>, AwsError> {
        let what = listener.or(arn).unwrap_or_default().to_owned();
        let call = self
            .client
            .describe_rules()
            .set_listener_arn(listener.map(str::to_owned))
            .set_rule_arns(arn.map(|a| vec![a.to_owned()]));
        let call = if arn.is_none() {
            call.page_size(400)
        } else {
            call
        };
        none_if_absent(
            async {
                describe_all!("DescribeRules", what.clone(), call.clone(), rules, |r| {
                    Rule {
                        arn: r.rule_arn().unwrap_or_default().to_owned(),
                        priority: s(r.priority()),
                        actions: r.actions().iter().map(action).collect(),
                    }
                })
            }
            .await,
        )
    }

    /// The targets registered with one target group (none if it is gone)
    /// (DescribeTargetHealth: not paginated).
    pub async fn targets(&self, target_group: &str) -> Result<Vec<Target>, AwsError> {
        let out = self
            .client
            .describe_target_health()
            .target_group_arn(target_group)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeTargetHealth", target_group, e));
        let out = match out {
            Ok(o) => o,
            Err(e) if e.kind == AwsErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(out
            .target_health_descriptions()
            .iter()
            .filter_map(|d| {
                let t = d.target()?;
                Some(Target {
                    id: t.id()?.to_owned(),
                    port: t.port(),
                    state: d
                        .target_health()
                        .and_then(|h| h.state())
                        .map(|st| st.as_str().to_owned()),
                })
            })
            .collect())
    }

    /// The tags of these load balancers and target groups, 20 ARNs a call
    /// (DescribeTags), without `aws:` tags; absent ARNs are left out.
    pub async fn tags(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
        let mut out = BTreeMap::new();
        for chunk in arns.chunks(20) {
            let page = self
                .client
                .describe_tags()
                .set_resource_arns(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("DescribeTags", "load balancer tags", e));
            let page = match page {
                Ok(p) => p,
                // One absent ARN fails the batch: ask for each, keeping those there.
                Err(e) if e.kind == AwsErrorKind::NotFound && chunk.len() > 1 => {
                    for arn in chunk {
                        let one = Box::pin(self.tags(std::slice::from_ref(arn))).await?;
                        out.extend(one);
                    }
                    continue;
                }
                Err(e) if e.kind == AwsErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for d in page.tag_descriptions() {
                let Some(arn) = d.resource_arn() else {
                    continue;
                };
                let tags: BTreeMap<String, String> = d
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_owned(),
                            t.value().unwrap_or_default().to_owned(),
                        ))
                    })
                    .filter(|(k, _)| !k.starts_with("aws:"))
                    .collect();
                out.insert(arn.to_owned(), tags);
            }
        }
        Ok(out)
    }
}
