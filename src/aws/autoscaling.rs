//! Auto Scaling adapter: DescribeAutoScalingGroups, DescribeLaunchConfigurations
//! and DescribePolicies, 100 items a page (the most these APIs give).
//! Nothing here is per resource, except that each call can be limited to
//! given names (the naive baseline asks for one at a time).

use super::AwsError;

use super::non_empty as s;

/// One tag of a group, as the provider's `tag` blocks hold it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupTag {
    pub key: String,
    pub value: String,
    pub propagate_at_launch: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    pub name: String,
    pub min_size: Option<i32>,
    pub max_size: Option<i32>,
    pub desired_capacity: Option<i32>,
    /// Subnet IDs (the API's comma-separated `VPCZoneIdentifier`, split).
    pub subnet_ids: Vec<String>,
    pub launch_template_id: Option<String>,
    pub launch_template_name: Option<String>,
    pub launch_configuration: Option<String>,
    pub health_check_type: Option<String>,
    pub target_group_arns: Vec<String>,
    /// Classic load balancer names.
    pub load_balancer_names: Vec<String>,
    /// `aws:` tags included (the caller drops them).
    pub tags: Vec<GroupTag>,
    /// `Delete in progress` while the group is being deleted, else `None`.
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LaunchConfiguration {
    pub name: String,
    pub image_id: Option<String>,
    pub instance_type: Option<String>,
    pub key_name: Option<String>,
    pub security_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    pub name: String,
    pub group: String,
    pub policy_type: Option<String>,
    pub adjustment_type: Option<String>,
    pub scaling_adjustment: Option<i32>,
    /// Target tracking policies: the target value, as the API gives it.
    pub target_value: Option<String>,
    pub enabled: Option<bool>,
}

/// The Auto Scaling client.
#[derive(Clone, Debug)]
pub struct AutoScaling {
    client: aws_sdk_autoscaling::Client,
}

const REGION_WIDE: &str = "the region's Auto Scaling groups";

/// Runs a paginated describe call to the end.
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

impl AutoScaling {
    pub(super) fn new(client: aws_sdk_autoscaling::Client) -> Self {
        AutoScaling { client }
    }

    /// Every group, or those with the given names (DescribeAutoScalingGroups).
    pub async fn groups(&self, names: Option<&[String]>) -> Result<Vec<Group>, AwsError> {
        describe_all!(
            "DescribeAutoScalingGroups",
            self.client
                .describe_auto_scaling_groups()
                .max_records(100)
                .set_auto_scaling_group_names(names.map(<[String]>::to_vec)),
            auto_scaling_groups,
            |g| Group {
                name: g.auto_scaling_group_name().unwrap_or_default().to_owned(),
                min_size: g.min_size(),
                max_size: g.max_size(),
                desired_capacity: g.desired_capacity(),
                subnet_ids: g
                    .vpc_zone_identifier()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                launch_template_id: g.launch_template().and_then(|t| s(t.launch_template_id())),
                launch_template_name: g
                    .launch_template()
                    .and_then(|t| s(t.launch_template_name())),
                launch_configuration: s(g.launch_configuration_name()),
                health_check_type: s(g.health_check_type()),
                target_group_arns: g.target_group_arns().to_vec(),
                load_balancer_names: g.load_balancer_names().to_vec(),
                tags: g
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some(GroupTag {
                            key: t.key()?.to_owned(),
                            value: t.value().unwrap_or_default().to_owned(),
                            propagate_at_launch: t.propagate_at_launch().unwrap_or(false),
                        })
                    })
                    .collect(),
                status: s(g.status()),
            }
        )
    }

    /// Every launch configuration, or those with the given names
    /// (DescribeLaunchConfigurations).
    pub async fn launch_configurations(
        &self,
        names: Option<&[String]>,
    ) -> Result<Vec<LaunchConfiguration>, AwsError> {
        describe_all!(
            "DescribeLaunchConfigurations",
            self.client
                .describe_launch_configurations()
                .max_records(100)
                .set_launch_configuration_names(names.map(<[String]>::to_vec)),
            launch_configurations,
            |c| LaunchConfiguration {
                name: c.launch_configuration_name().unwrap_or_default().to_owned(),
                image_id: s(c.image_id()),
                instance_type: s(c.instance_type()),
                key_name: s(c.key_name()),
                security_groups: c.security_groups().to_vec(),
            }
        )
    }

    /// Every scaling policy, or those of one group (DescribePolicies).
    pub async fn policies(&self, group: Option<&str>) -> Result<Vec<Policy>, AwsError> {
        describe_all!(
            "DescribePolicies",
            self.client
                .describe_policies()
                .max_records(100)
                .set_auto_scaling_group_name(group.map(str::to_owned)),
            scaling_policies,
            |p| Policy {
                name: p.policy_name().unwrap_or_default().to_owned(),
                group: p.auto_scaling_group_name().unwrap_or_default().to_owned(),
                policy_type: s(p.policy_type()),
                adjustment_type: s(p.adjustment_type()),
                scaling_adjustment: p.scaling_adjustment(),
                target_value: p
                    .target_tracking_configuration()
                    .and_then(|t| t.target_value())
                    .map(|v| v.to_string()),
                enabled: p.enabled(),
            }
        )
    }
}
