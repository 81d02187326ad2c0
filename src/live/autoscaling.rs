//! Auto Scaling: groups, launch configurations, scaling policies and
//! load balancer attachments.
//!
//! One DescribeAutoScalingGroups pass (100 a page) serves the groups and the
//! attachments; DescribeLaunchConfigurations and DescribePolicies (100 a
//! page) the others. The naive baseline asks for each group, configuration
//! or group's policies by name instead.
//!
//! A group's `tag` blocks are compared as a set of `key=value` strings
//! (AWS's own `aws:` tags left out); its `target_group_arns` only for
//! state members missing live, as `aws_autoscaling_attachment` resources
//! add to it.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{
    attr_or_id, attr_str, each, joined_or_id, put_all, LiveObject, Part, ScanRequest, TypeSpec,
};
use crate::aws::autoscaling::{AutoScaling, Group, GroupTag, LaunchConfiguration, Policy};
use crate::aws::{Aws, AwsError};

pub const GROUP: &str = "aws_autoscaling_group";
pub const LAUNCH_CONFIGURATION: &str = "aws_launch_configuration";
pub const POLICY: &str = "aws_autoscaling_policy";
pub const ATTACHMENT: &str = "aws_autoscaling_attachment";

fn name_key(a: &Value) -> Option<String> {
    attr_or_id(a, "name")
}
/// `group:policy` (policy names are unique per group only).
fn policy_key(a: &Value) -> Option<String> {
    joined_or_id(a, "autoscaling_group_name", "name")
}
/// `group|target`: the target group ARN (`lb_target_group_arn`, before
/// provider 5 `alb_target_group_arn`) or the classic load balancer name.
fn attachment_key(a: &Value) -> Option<String> {
    let group = attr_str(a, "autoscaling_group_name")?;
    let target = attr_str(a, "lb_target_group_arn")
        .or_else(|| attr_str(a, "alb_target_group_arn"))
        .or_else(|| attr_str(a, "elb"))?;
    Some(format!("{group}|{target}"))
}

/// The group of an attachment key.
fn group_of_attachment(key: &str) -> &str {
    key.rsplit_once('|').map_or(key, |(g, _)| g)
}

/// The group of a policy key (`group:policy`; policy names have no `:`).
fn group_of_policy(key: &str) -> &str {
    key.rsplit_once(':').map_or(key, |(g, _)| g)
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(GROUP, name_key)
        .compares("sizes (desired too), subnets, launch template/config, health_check_type, tag, target_group_arns (declared ones)")
        .subset(&["target_group_arns"])
        .prepare(prepare_group),
    TypeSpec::new(LAUNCH_CONFIGURATION, name_key)
        .compares("image_id, instance_type, key_name, security_groups"),
    TypeSpec::new(POLICY, policy_key)
        .compares("autoscaling_group_name, policy_type, adjustment_type, scaling_adjustment, target_value, enabled (not cooldown)"),
    TypeSpec::new(ATTACHMENT, attachment_key),
];

super::family!("Auto Scaling");

/// `key=value`: one tag as compared.
fn tag_string(key: &str, value: &str) -> String {
    format!("{key}={value}")
}

/// The state's `tag` blocks as [`tag_string`]s, without `aws:` tags.
fn prepare_group(attrs: &mut Value) {
    if let Some(v) = attrs.get_mut("tag") {
        let tags: Vec<String> = match v {
            Value::Array(a) => a
                .iter()
                .filter_map(|t| {
                    let key = t.get("key")?.as_str()?;
                    let value = t.get("value").and_then(Value::as_str).unwrap_or_default();
                    (!key.starts_with("aws:")).then(|| tag_string(key, value))
                })
                .collect(),
            _ => Vec::new(),
        };
        *v = json!(tags);
    }
}

fn live_tags(tags: &[GroupTag]) -> Vec<String> {
    tags.iter()
        .filter(|t| !t.key.starts_with("aws:"))
        .map(|t| tag_string(&t.key, &t.value))
        .collect()
}

/// `aws_autoscaling_group`: sizes (desired capacity too: a rule can ignore
/// it), subnets, launch template or configuration, health check type,
/// target groups, tags.
pub fn group_attrs(g: &Group) -> Vec<(String, Value)> {
    vec![
        ("min_size".into(), json!(g.min_size)),
        ("max_size".into(), json!(g.max_size)),
        ("desired_capacity".into(), json!(g.desired_capacity)),
        ("vpc_zone_identifier".into(), json!(g.subnet_ids)),
        ("launch_template.0.id".into(), json!(g.launch_template_id)),
        (
            "launch_template.0.name".into(),
            json!(g.launch_template_name),
        ),
        ("launch_configuration".into(), json!(g.launch_configuration)),
        ("health_check_type".into(), json!(g.health_check_type)),
        ("target_group_arns".into(), json!(g.target_group_arns)),
        ("tag".into(), json!(live_tags(&g.tags))),
    ]
}

/// `aws_launch_configuration`: image, instance type, key pair, security groups.
pub fn launch_configuration_attrs(c: &LaunchConfiguration) -> Vec<(String, Value)> {
    vec![
        ("image_id".into(), json!(c.image_id)),
        ("instance_type".into(), json!(c.instance_type)),
        ("key_name".into(), json!(c.key_name)),
        ("security_groups".into(), json!(c.security_groups)),
    ]
}

/// `aws_autoscaling_policy`: its group and type; the adjustment and target
/// value where the policy type has them (the provider stores zeros for the
/// others). The cooldown is not compared: the provider stores 0 where AWS
/// may report its default.
pub fn policy_attrs(p: &Policy) -> Vec<(String, Value)> {
    let mut attrs = vec![
        ("autoscaling_group_name".into(), json!(p.group)),
        ("policy_type".into(), json!(p.policy_type)),
        ("adjustment_type".into(), json!(p.adjustment_type)),
    ];
    if let Some(n) = p.scaling_adjustment {
        attrs.push(("scaling_adjustment".into(), json!(n)));
    }
    if let Some(v) = &p.target_value {
        attrs.push((
            "target_tracking_configuration.0.target_value".into(),
            json!(v),
        ));
    }
    if let Some(e) = p.enabled {
        attrs.push(("enabled".into(), json!(e)));
    }
    attrs
}

/// The attachment keys of a group: one per target group and classic load balancer.
fn attachment_ids(g: &Group) -> Vec<String> {
    g.target_group_arns
        .iter()
        .chain(&g.load_balancer_names)
        .map(|t| format!("{}|{t}", g.name))
        .collect()
}

/// Runs `f` once for everything, or, naive, once per name.
async fn by_name<T, F, Fut>(
    req: &ScanRequest,
    names: BTreeSet<String>,
    f: F,
) -> Result<Vec<T>, AwsError>
where
    F: Fn(Option<Vec<String>>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, AwsError>>,
{
    if !req.naive {
        return f(None).await;
    }
    let per_name = each(req, names.into_iter().collect(), |n| f(Some(vec![n]))).await?;
    Ok(per_name.into_iter().flatten().collect())
}

async fn groups(asg: &AutoScaling, req: &ScanRequest, out: &mut Part) -> Result<(), AwsError> {
    let names: BTreeSet<String> = req
        .managed(GROUP)
        .into_iter()
        .chain(
            req.managed(ATTACHMENT)
                .iter()
                .map(|k| group_of_attachment(k).to_owned()),
        )
        .collect();
    let all = by_name(
        req,
        names,
        |n| async move { asg.groups(n.as_deref()).await },
    )
    .await?;
    // A group being deleted is gone.
    let live: Vec<&Group> = all
        .iter()
        .filter(|g| g.status.as_deref() != Some("Delete in progress"))
        .collect();
    if req.wants(GROUP) {
        let objs = live
            .iter()
            .map(|g| LiveObject {
                attrs: group_attrs(g),
                ..LiveObject::named(&g.name, &g.name)
            })
            .collect();
        out.push(super::managed_only(req, GROUP, objs));
    }
    if req.wants(ATTACHMENT) {
        let objs = live
            .iter()
            .flat_map(|g| attachment_ids(g))
            .map(|id| LiveObject::named(id, ""))
            .collect();
        out.push(super::managed_only(req, ATTACHMENT, objs));
    }
    Ok(())
}

async fn launch_configurations(
    asg: &AutoScaling,
    req: &ScanRequest,
    out: &mut Part,
) -> Result<(), AwsError> {
    let all = by_name(req, req.managed(LAUNCH_CONFIGURATION), |n| async move {
        asg.launch_configurations(n.as_deref()).await
    })
    .await?;
    let objs = all
        .iter()
        .map(|c| LiveObject {
            attrs: launch_configuration_attrs(c),
            ..LiveObject::named(&c.name, &c.name)
        })
        .collect();
    out.push(super::managed_only(req, LAUNCH_CONFIGURATION, objs));
    Ok(())
}

async fn policies(asg: &AutoScaling, req: &ScanRequest, out: &mut Part) -> Result<(), AwsError> {
    let all = if req.naive {
        let groups: BTreeSet<String> = req
            .managed(POLICY)
            .iter()
            .map(|k| group_of_policy(k).to_owned())
            .collect();
        each(req, groups.into_iter().collect(), |g| async move {
            asg.policies(Some(&g)).await
        })
        .await?
        .into_iter()
        .flatten()
        .collect()
    } else {
        asg.policies(None).await?
    };
    let objs = all
        .iter()
        .map(|p| LiveObject {
            attrs: policy_attrs(p),
            ..LiveObject::named(format!("{}:{}", p.group, p.name), &p.name)
        })
        .collect();
    out.push(super::managed_only(req, POLICY, objs));
    Ok(())
}

/// Enumerates the wanted Auto Scaling types: the three describe calls at once.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let asg = aws.autoscaling();
    let (mut a, mut b, mut c) = (Part::new(), Part::new(), Part::new());
    let (ra, rb, rc) = futures::future::join3(
        async {
            if req.wants(GROUP) || req.wants(ATTACHMENT) {
                groups(&asg, req, &mut a).await
            } else {
                Ok(())
            }
        },
        async {
            if req.wants(LAUNCH_CONFIGURATION) {
                launch_configurations(&asg, req, &mut b).await
            } else {
                Ok(())
            }
        },
        async {
            if req.wants(POLICY) {
                policies(&asg, req, &mut c).await
            } else {
                Ok(())
            }
        },
    )
    .await;
    put_all(&mut a, &[GROUP, ATTACHMENT], req, &ra);
    put_all(&mut b, &[LAUNCH_CONFIGURATION], req, &rb);
    put_all(&mut c, &[POLICY], req, &rc);
    a.into_iter().chain(b).chain(c).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::live::TypeScan;
    use crate::live::{compare, CompareOptions, IgnoreRules, Inventory, StateResource};

    #[test]
    fn identifiers_follow_the_provider_ids() {
        let cases = [
            (GROUP, json!({"id": "web", "name": "web"}), Some("web")),
            (GROUP, json!({"id": "web"}), Some("web")),
            (LAUNCH_CONFIGURATION, json!({"name": "lc-1"}), Some("lc-1")),
            (
                POLICY,
                json!({"id": "up", "name": "up", "autoscaling_group_name": "web"}),
                Some("web:up"),
            ),
            (
                ATTACHMENT,
                json!({"id": "web-2024", "autoscaling_group_name": "web", "lb_target_group_arn": "arn:tg"}),
                Some("web|arn:tg"),
            ),
            (
                ATTACHMENT,
                json!({"autoscaling_group_name": "web", "alb_target_group_arn": "arn:tg2", "lb_target_group_arn": ""}),
                Some("web|arn:tg2"),
            ),
            (
                ATTACHMENT,
                json!({"autoscaling_group_name": "web", "elb": "classic"}),
                Some("web|classic"),
            ),
            (ATTACHMENT, json!({"id": "web-2024"}), None),
        ];
        for (t, attrs, want) in cases {
            let spec = TYPES.iter().find(|s| s.name == t).map(|s| s.key);
            let key = spec.and_then(|k| k(&attrs));
            assert_eq!(key.as_deref(), want, "{t} {attrs}");
        }
        assert_eq!(group_of_attachment("web|arn:aws:x|y"), "web|arn:aws:x");
        assert_eq!(group_of_attachment("my-asg|classic"), "my-asg");
        assert_eq!(group_of_policy("web:up"), "web");
    }

    fn group() -> Group {
        Group {
            name: "web".into(),
            min_size: Some(1),
            max_size: Some(4),
            desired_capacity: Some(2),
            subnet_ids: vec!["subnet-b".into(), "subnet-a".into()],
            launch_template_id: Some("lt-1".into()),
            launch_template_name: Some("web".into()),
            health_check_type: Some("EC2".into()),
            target_group_arns: vec!["arn:tg1".into(), "arn:tg2".into()],
            load_balancer_names: vec!["classic".into()],
            tags: vec![
                GroupTag {
                    key: "Name".into(),
                    value: "web".into(),
                    propagate_at_launch: true,
                },
                GroupTag {
                    key: "aws:cloudformation:stack-name".into(),
                    value: "x".into(),
                    propagate_at_launch: false,
                },
            ],
            ..Group::default()
        }
    }

    #[test]
    fn group_mapping() {
        let attrs: BTreeMap<String, Value> = group_attrs(&group()).into_iter().collect();
        assert_eq!(attrs["max_size"], 4);
        assert_eq!(attrs["desired_capacity"], 2);
        assert_eq!(
            attrs["vpc_zone_identifier"],
            json!(["subnet-b", "subnet-a"])
        );
        assert_eq!(attrs["launch_template.0.id"], "lt-1");
        assert_eq!(attrs["launch_template.0.name"], "web");
        assert_eq!(attrs["launch_configuration"], Value::Null);
        assert_eq!(attrs["tag"], json!(["Name=web"]));
        assert_eq!(
            attachment_ids(&group()),
            vec!["web|arn:tg1", "web|arn:tg2", "web|classic"]
        );
    }

    #[test]
    fn launch_configuration_and_policy_mapping() {
        let c = LaunchConfiguration {
            name: "lc".into(),
            image_id: Some("ami-1".into()),
            instance_type: Some("t3.micro".into()),
            key_name: None,
            security_groups: vec!["sg-1".into()],
        };
        let attrs: BTreeMap<String, Value> = launch_configuration_attrs(&c).into_iter().collect();
        assert_eq!(attrs["image_id"], "ami-1");
        assert_eq!(attrs["instance_type"], "t3.micro");
        assert_eq!(attrs["security_groups"], json!(["sg-1"]));
        let p = Policy {
            name: "cpu".into(),
            group: "web".into(),
            policy_type: Some("TargetTrackingScaling".into()),
            target_value: Some("40".into()),
            ..Policy::default()
        };
        let attrs: BTreeMap<String, Value> = policy_attrs(&p).into_iter().collect();
        assert_eq!(attrs["policy_type"], "TargetTrackingScaling");
        assert_eq!(attrs["target_tracking_configuration.0.target_value"], "40");
        // Absent for a target tracking policy: the state's 0 is not compared.
        assert!(!attrs.contains_key("scaling_adjustment"));
        assert!(!attrs.contains_key("cooldown"));
    }

    fn state(type_: &str, attrs: Value) -> StateResource {
        let spec = crate::live::spec(type_);
        StateResource {
            address: format!("{type_}.x"),
            type_: type_.into(),
            id: spec.and_then(|s| (s.key)(&attrs)),
            attributes: serde_json::value::to_raw_value(&attrs).unwrap(),
            sensitive: Vec::new(),
            region: Some("eu-west-1".into()),
        }
    }

    fn findings(attrs: Value, g: &Group) -> Vec<String> {
        let mut inv = Inventory::default();
        inv.insert(
            "eu-west-1",
            GROUP,
            TypeScan::Listed(vec![LiveObject {
                attrs: group_attrs(g),
                ..LiveObject::named(&g.name, &g.name)
            }]),
        );
        let c = compare(
            &[state(GROUP, attrs)],
            &inv,
            &IgnoreRules::default(),
            &CompareOptions::default(),
        );
        c.findings
            .iter()
            .flat_map(|f| f.attributes.iter().map(|a| a.path.clone()))
            .collect()
    }

    #[test]
    fn tags_blocks_and_attached_target_groups_are_not_drift() {
        let attrs = json!({
            "id": "web", "name": "web", "min_size": 1, "max_size": 4, "desired_capacity": 2,
            "vpc_zone_identifier": ["subnet-a", "subnet-b"],
            "launch_template": [{"id": "lt-1", "name": "web", "version": "$Latest"}],
            "launch_configuration": "", "health_check_type": "EC2",
            "target_group_arns": ["arn:tg1"],
            "tag": [{"key": "Name", "value": "web", "propagate_at_launch": true}]
        });
        assert!(findings(attrs.clone(), &group()).is_empty());
        let mut changed = group();
        changed.max_size = Some(9);
        changed.target_group_arns = vec!["arn:tg2".into()];
        changed.tags[0].value = "api".into();
        assert_eq!(
            findings(attrs, &changed),
            vec!["max_size", "target_group_arns", "tag"]
        );
    }
}
