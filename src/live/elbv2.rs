//! Elastic Load Balancing v2: load balancers, target groups, listeners,
//! listener rules and target group attachments (each also under its older
//! `aws_alb*` name).
//!
//! DescribeLoadBalancers and DescribeTargetGroups (400 a page) list the
//! region; DescribeTags (20 ARNs a call) reads the tags of the state's load
//! balancers and target groups only. Listeners, rules and targets have no
//! region-wide list: DescribeListeners runs once per load balancer that
//! holds a state listener, DescribeRules once per listener that holds a
//! state rule, DescribeTargetHealth once per target group that holds a
//! state attachment (the parent comes from the ARN or the key). The naive
//! baseline describes each resource by its ARN.
//!
//! Actions are compared as `type>target groups` strings (a weighted forward
//! lists its groups), as sets.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::{attr_or_id, attr_str, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::elbv2::{Action, Elbv2, Listener, LoadBalancer, Rule, Target, TargetGroup};
use crate::aws::{Aws, AwsError};

pub const LB: &str = "aws_lb";
pub const ALB: &str = "aws_alb";
pub const TARGET_GROUP: &str = "aws_lb_target_group";
pub const ALB_TARGET_GROUP: &str = "aws_alb_target_group";
pub const LISTENER: &str = "aws_lb_listener";
pub const ALB_LISTENER: &str = "aws_alb_listener";
pub const LISTENER_RULE: &str = "aws_lb_listener_rule";
pub const ALB_LISTENER_RULE: &str = "aws_alb_listener_rule";
pub const ATTACHMENT: &str = "aws_lb_target_group_attachment";
pub const ALB_ATTACHMENT: &str = "aws_alb_target_group_attachment";

const LBS: &[&str] = &[LB, ALB];
const TARGET_GROUPS: &[&str] = &[TARGET_GROUP, ALB_TARGET_GROUP];
const LISTENERS: &[&str] = &[LISTENER, ALB_LISTENER];
const RULES: &[&str] = &[LISTENER_RULE, ALB_LISTENER_RULE];
const ATTACHMENTS: &[&str] = &[ATTACHMENT, ALB_ATTACHMENT];

fn arn_key(a: &Value) -> Option<String> {
    attr_or_id(a, "arn")
}

/// `target group ARN,target ID` and `,port` when the state gives one (the
/// provider's ID is generated).
fn attachment_key(a: &Value) -> Option<String> {
    let tg = attr_str(a, "target_group_arn")?;
    let target = attr_str(a, "target_id")?;
    let port = match a.get("port") {
        Some(Value::Number(n)) => n.as_i64().filter(|p| *p > 0),
        Some(Value::String(s)) => s.parse::<i64>().ok().filter(|p| *p > 0),
        _ => None,
    };
    Some(match port {
        Some(p) => format!("{tg},{target},{p}"),
        None => format!("{tg},{target}"),
    })
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(LB, arn_key)
        .compares("name, internal, load_balancer_type, subnets, security_groups, ip_address_type, tags"),
    TypeSpec::new(ALB, arn_key)
        .compares("name, internal, load_balancer_type, subnets, security_groups, ip_address_type, tags"),
    TypeSpec::new(TARGET_GROUP, arn_key)
        .compares("name, port, protocol, vpc_id (not for Lambda), target_type, health_check (path, port, protocol, matcher), tags"),
    TypeSpec::new(ALB_TARGET_GROUP, arn_key)
        .compares("name, port, protocol, vpc_id (not for Lambda), target_type, health_check (path, port, protocol, matcher), tags"),
    TypeSpec::new(LISTENER, arn_key)
        .compares("port, protocol, load balancer, certificate_arn, default_action (types, target groups), ssl_policy on HTTPS/TLS")
        .prepare(prepare_listener),
    TypeSpec::new(ALB_LISTENER, arn_key)
        .compares("port, protocol, load balancer, certificate_arn, default_action (types, target groups), ssl_policy on HTTPS/TLS")
        .prepare(prepare_listener),
    TypeSpec::new(LISTENER_RULE, arn_key)
        .compares("priority, action (types, target groups); not conditions")
        .prepare(prepare_rule),
    TypeSpec::new(ALB_LISTENER_RULE, arn_key)
        .compares("priority, action (types, target groups); not conditions")
        .prepare(prepare_rule),
    TypeSpec::new(ATTACHMENT, attachment_key),
    TypeSpec::new(ALB_ATTACHMENT, attachment_key),
];

super::family!("ELBv2");

// ---- ARNs --------------------------------------------------------------------

/// The parent of a listener (`...:listener/app/n/lb/l` -> `...:loadbalancer/app/n/lb`)
/// or of a rule (`...:listener-rule/app/n/lb/l/r` -> `...:listener/app/n/lb/l`).
fn parent_arn(arn: &str, child: &str, parent: &str) -> Option<String> {
    let (head, path) = arn.split_once(&format!(":{child}/"))?;
    let (path, _) = path.rsplit_once('/')?;
    Some(format!("{head}:{parent}/{path}"))
}

fn load_balancer_of(listener: &str) -> Option<String> {
    parent_arn(listener, "listener", "loadbalancer")
}

fn listener_of(rule: &str) -> Option<String> {
    parent_arn(rule, "listener-rule", "listener")
}

/// The target group of an attachment key (ARNs have no `,`).
fn target_group_of(key: &str) -> &str {
    key.split(',').next().unwrap_or(key)
}

// ---- Actions -----------------------------------------------------------------

/// `forward>arn1,arn2`, `redirect`: one action as compared.
fn action_string(type_: &str, target_groups: &[String]) -> String {
    if target_groups.is_empty() {
        type_.to_owned()
    } else {
        format!("{type_}>{}", target_groups.join(","))
    }
}

fn live_actions(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| action_string(&a.type_, &a.target_groups))
        .collect()
}

/// A state action block as an [`action_string`]: its `target_group_arn`,
/// else its weighted `forward` block's groups.
fn state_action(a: &Value) -> Option<String> {
    let type_ = a.get("type")?.as_str()?;
    let mut tgs: Vec<String> = match attr_str(a, "target_group_arn") {
        Some(tg) => vec![tg.to_owned()],
        None => a
            .get("forward")
            .and_then(|f| f.get(0))
            .and_then(|f| f.get("target_group"))
            .and_then(Value::as_array)
            .map(|g| {
                g.iter()
                    .filter_map(|t| attr_str(t, "arn").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    };
    tgs.sort();
    tgs.dedup();
    Some(action_string(type_, &tgs))
}

fn prepare_actions(attrs: &mut Value, name: &str) {
    if let Some(v) = attrs.get_mut(name) {
        let actions: Vec<String> = match v {
            Value::Array(a) => a.iter().filter_map(state_action).collect(),
            _ => Vec::new(),
        };
        *v = json!(actions);
    }
}

fn prepare_listener(attrs: &mut Value) {
    prepare_actions(attrs, "default_action");
}

fn prepare_rule(attrs: &mut Value) {
    prepare_actions(attrs, "action");
}

// ---- Mappings ----------------------------------------------------------------

/// `aws_lb`: name, scheme, type, subnets, security groups, address type, tags.
pub fn load_balancer_attrs(
    l: &LoadBalancer,
    tags: Option<&BTreeMap<String, String>>,
) -> Vec<(String, Value)> {
    let mut attrs = vec![
        ("name".into(), json!(l.name)),
        (
            "internal".into(),
            json!(l.scheme.as_deref().map(|s| s == "internal")),
        ),
        ("load_balancer_type".into(), json!(l.type_)),
        ("subnets".into(), json!(l.subnet_ids)),
        ("security_groups".into(), json!(l.security_groups)),
        ("ip_address_type".into(), json!(l.ip_address_type)),
    ];
    if let Some(t) = tags {
        attrs.push(("tags".into(), json!(t)));
    }
    attrs
}

/// `aws_lb_target_group`: port, protocol, VPC, target type, health check
/// path/port/protocol/matcher, tags. A Lambda group has no port, protocol
/// or VPC: those are then not compared.
pub fn target_group_attrs(
    g: &TargetGroup,
    tags: Option<&BTreeMap<String, String>>,
) -> Vec<(String, Value)> {
    let mut attrs = vec![
        ("name".into(), json!(g.name)),
        ("target_type".into(), json!(g.target_type)),
        ("health_check.0.path".into(), json!(g.health_check_path)),
        ("health_check.0.port".into(), json!(g.health_check_port)),
        (
            "health_check.0.protocol".into(),
            json!(g.health_check_protocol),
        ),
    ];
    if let Some(p) = g.port {
        attrs.push(("port".into(), json!(p)));
    }
    if let Some(p) = &g.protocol {
        attrs.push(("protocol".into(), json!(p)));
    }
    if let Some(v) = &g.vpc_id {
        attrs.push(("vpc_id".into(), json!(v)));
    }
    if let Some(m) = &g.matcher {
        attrs.push(("health_check.0.matcher".into(), json!(m)));
    }
    if let Some(t) = tags {
        attrs.push(("tags".into(), json!(t)));
    }
    attrs
}

/// `aws_lb_listener`: port, protocol, load balancer, default certificate,
/// default actions, and the TLS policy of HTTPS and TLS listeners.
pub fn listener_attrs(l: &Listener) -> Vec<(String, Value)> {
    let mut attrs = vec![
        ("protocol".into(), json!(l.protocol)),
        ("load_balancer_arn".into(), json!(l.load_balancer_arn)),
        ("certificate_arn".into(), json!(l.certificate_arn)),
        (
            "default_action".into(),
            json!(live_actions(&l.default_actions)),
        ),
    ];
    // A TLS policy means something on HTTPS and TLS listeners only (the
    // provider stores none for the others).
    if matches!(l.protocol.as_deref(), Some("HTTPS" | "TLS")) {
        attrs.push(("ssl_policy".into(), json!(l.ssl_policy)));
    }
    if let Some(p) = l.port {
        attrs.push(("port".into(), json!(p)));
    }
    attrs
}

/// `aws_lb_listener_rule`: priority and actions (conditions are not compared).
pub fn rule_attrs(r: &Rule) -> Vec<(String, Value)> {
    vec![
        ("priority".into(), json!(r.priority)),
        ("action".into(), json!(live_actions(&r.actions))),
    ]
}

/// The keys a registered target answers to: with and without its port
/// (a state attachment without a port names the group's).
fn target_ids(tg: &str, t: &Target) -> Vec<String> {
    let mut ids = vec![format!("{tg},{}", t.id)];
    if let Some(p) = t.port {
        ids.push(format!("{tg},{},{p}", t.id));
    }
    ids
}

// ---- Enumeration -------------------------------------------------------------

/// The managed identifiers of several type names of one kind.
fn managed_of(req: &ScanRequest, types: &[&str]) -> BTreeSet<String> {
    types.iter().flat_map(|t| req.managed(t)).collect()
}

/// One entry per wanted type of `types`, with only the objects the state has.
fn listed(req: &ScanRequest, types: &[&'static str], objs: &[LiveObject]) -> Part {
    types
        .iter()
        .filter(|t| req.wants(t))
        .map(|t| {
            let managed = req.managed(t);
            let kept = objs
                .iter()
                .filter(|o| managed.contains(&o.id))
                .cloned()
                .collect();
            (*t, TypeScan::Listed(kept))
        })
        .collect()
}

async fn load_balancers(elb: &Elbv2, req: &ScanRequest) -> Result<Part, AwsError> {
    let managed = managed_of(req, LBS);
    let all: Vec<LoadBalancer> = if req.naive {
        each(req, managed.iter().cloned().collect(), |arn| async move {
            elb.load_balancers(Some(&arn)).await
        })
        .await?
        .into_iter()
        .flatten()
        .collect()
    } else {
        elb.load_balancers(None).await?
    };
    let present: Vec<&LoadBalancer> = all.iter().filter(|l| managed.contains(&l.arn)).collect();
    let arns: Vec<String> = present.iter().map(|l| l.arn.clone()).collect();
    let tags = elb.tags(&arns).await?;
    let objs: Vec<LiveObject> = present
        .iter()
        .map(|l| LiveObject {
            attrs: load_balancer_attrs(l, tags.get(&l.arn)),
            ..LiveObject::named(&l.arn, &l.name)
        })
        .collect();
    Ok(listed(req, LBS, &objs))
}

async fn target_groups(elb: &Elbv2, req: &ScanRequest) -> Result<Part, AwsError> {
    let managed = managed_of(req, TARGET_GROUPS);
    let all: Vec<TargetGroup> = if req.naive {
        each(req, managed.iter().cloned().collect(), |arn| async move {
            elb.target_groups(Some(&arn)).await
        })
        .await?
        .into_iter()
        .flatten()
        .collect()
    } else {
        elb.target_groups(None).await?
    };
    let present: Vec<&TargetGroup> = all.iter().filter(|g| managed.contains(&g.arn)).collect();
    let arns: Vec<String> = present.iter().map(|g| g.arn.clone()).collect();
    let tags = elb.tags(&arns).await?;
    let objs: Vec<LiveObject> = present
        .iter()
        .map(|g| LiveObject {
            attrs: target_group_attrs(g, tags.get(&g.arn)),
            ..LiveObject::named(&g.arn, &g.name)
        })
        .collect();
    Ok(listed(req, TARGET_GROUPS, &objs))
}

async fn listeners(elb: &Elbv2, req: &ScanRequest) -> Result<Part, AwsError> {
    let managed = managed_of(req, LISTENERS);
    let all: Vec<Listener> = if req.naive {
        each(req, managed.into_iter().collect(), |arn| async move {
            elb.listeners(None, Some(&arn)).await
        })
        .await?
    } else {
        let lbs: BTreeSet<String> = managed.iter().filter_map(|a| load_balancer_of(a)).collect();
        each(req, lbs.into_iter().collect(), |lb| async move {
            elb.listeners(Some(&lb), None).await
        })
        .await?
    }
    .into_iter()
    .flatten()
    .collect();
    let objs: Vec<LiveObject> = all
        .iter()
        .map(|l| LiveObject {
            attrs: listener_attrs(l),
            ..LiveObject::named(&l.arn, "")
        })
        .collect();
    Ok(listed(req, LISTENERS, &objs))
}

async fn rules(elb: &Elbv2, req: &ScanRequest) -> Result<Part, AwsError> {
    let managed = managed_of(req, RULES);
    let all: Vec<Rule> = if req.naive {
        each(req, managed.into_iter().collect(), |arn| async move {
            elb.rules(None, Some(&arn)).await
        })
        .await?
    } else {
        let listeners: BTreeSet<String> = managed.iter().filter_map(|a| listener_of(a)).collect();
        each(req, listeners.into_iter().collect(), |l| async move {
            elb.rules(Some(&l), None).await
        })
        .await?
    }
    .into_iter()
    .flatten()
    .collect();
    let objs: Vec<LiveObject> = all
        .iter()
        .map(|r| LiveObject {
            attrs: rule_attrs(r),
            ..LiveObject::named(&r.arn, "")
        })
        .collect();
    Ok(listed(req, RULES, &objs))
}

async fn attachments(elb: &Elbv2, req: &ScanRequest) -> Result<Part, AwsError> {
    let groups: BTreeSet<String> = managed_of(req, ATTACHMENTS)
        .iter()
        .map(|k| target_group_of(k).to_owned())
        .collect();
    let per_group = each(req, groups.into_iter().collect(), |tg| async move {
        let targets = elb.targets(&tg).await?;
        Ok::<_, AwsError>((tg, targets))
    })
    .await?;
    let objs: Vec<LiveObject> = per_group
        .iter()
        .flat_map(|(tg, targets)| {
            targets
                .iter()
                // A target being deregistered is gone.
                .filter(|t| t.state.as_deref() != Some("draining"))
                .flat_map(move |t| target_ids(tg, t))
        })
        .map(|id| LiveObject::named(id, ""))
        .collect();
    Ok(listed(req, ATTACHMENTS, &objs))
}

/// Enumerates the wanted ELBv2 types: one task per kind, all at once.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let elb = aws.elbv2();
    let elb = &elb;
    let wants = |types: &[&str]| types.iter().any(|t| req.wants(t));
    let mut tasks: Vec<BoxFuture<'_, Part>> = Vec::new();
    if wants(LBS) {
        tasks.push(
            async move { super::part_or_failed(req, LBS, load_balancers(elb, req).await) }.boxed(),
        );
    }
    if wants(TARGET_GROUPS) {
        tasks.push(
            async move { super::part_or_failed(req, TARGET_GROUPS, target_groups(elb, req).await) }
                .boxed(),
        );
    }
    if wants(LISTENERS) {
        tasks.push(
            async move { super::part_or_failed(req, LISTENERS, listeners(elb, req).await) }.boxed(),
        );
    }
    if wants(RULES) {
        tasks.push(async move { super::part_or_failed(req, RULES, rules(elb, req).await) }.boxed());
    }
    if wants(ATTACHMENTS) {
        tasks.push(
            async move { super::part_or_failed(req, ATTACHMENTS, attachments(elb, req).await) }
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

    const LB_ARN: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";
    const LISTENER_ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2";
    const RULE_ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
    const TG: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/6d0ecf831eec9f09";

    fn attrs_map(v: Vec<(String, Value)>) -> BTreeMap<String, Value> {
        v.into_iter().collect()
    }

    #[test]
    fn identifiers() {
        let cases = [
            (
                LB,
                json!({"id": LB_ARN, "arn": LB_ARN}),
                Some(LB_ARN.to_owned()),
            ),
            (ALB, json!({"id": LB_ARN}), Some(LB_ARN.to_owned())),
            (TARGET_GROUP, json!({"arn": TG}), Some(TG.to_owned())),
            (
                ALB_LISTENER,
                json!({"id": LISTENER_ARN}),
                Some(LISTENER_ARN.to_owned()),
            ),
            (
                LISTENER_RULE,
                json!({"arn": RULE_ARN}),
                Some(RULE_ARN.to_owned()),
            ),
            (
                ATTACHMENT,
                json!({"id": "arn-2024", "target_group_arn": TG, "target_id": "i-1", "port": 8080}),
                Some(format!("{TG},i-1,8080")),
            ),
            (
                ALB_ATTACHMENT,
                json!({"target_group_arn": TG, "target_id": "10.0.0.1", "port": null}),
                Some(format!("{TG},10.0.0.1")),
            ),
            (ATTACHMENT, json!({"id": "arn-2024"}), None),
        ];
        for (t, attrs, want) in cases {
            let key = TYPES
                .iter()
                .find(|s| s.name == t)
                .and_then(|s| (s.key)(&attrs));
            assert_eq!(key, want, "{t}");
        }
        assert_eq!(load_balancer_of(LISTENER_ARN).as_deref(), Some(LB_ARN));
        assert_eq!(listener_of(RULE_ARN).as_deref(), Some(LISTENER_ARN));
        assert_eq!(load_balancer_of("not-an-arn"), None);
        assert_eq!(target_group_of(&format!("{TG},i-1,80")), TG);
        let t = Target {
            id: "i-1".into(),
            port: Some(80),
            state: None,
        };
        assert_eq!(
            target_ids(TG, &t),
            vec![format!("{TG},i-1"), format!("{TG},i-1,80")]
        );
    }

    #[test]
    fn load_balancer_and_target_group_mapping() {
        let l = LoadBalancer {
            arn: LB_ARN.into(),
            name: "web".into(),
            scheme: Some("internal".into()),
            type_: Some("application".into()),
            subnet_ids: vec!["subnet-1".into(), "subnet-2".into()],
            security_groups: vec!["sg-1".into()],
            ip_address_type: Some("ipv4".into()),
            state: Some("active".into()),
        };
        let tags = BTreeMap::from([("team".to_owned(), "web".to_owned())]);
        let a = attrs_map(load_balancer_attrs(&l, Some(&tags)));
        assert_eq!(a["internal"], true);
        assert_eq!(a["load_balancer_type"], "application");
        assert_eq!(a["subnets"], json!(["subnet-1", "subnet-2"]));
        assert_eq!(a["security_groups"], json!(["sg-1"]));
        assert_eq!(a["tags"], json!({"team": "web"}));
        assert!(!attrs_map(load_balancer_attrs(&l, None)).contains_key("tags"));

        let g = TargetGroup {
            arn: TG.into(),
            name: "web".into(),
            port: Some(80),
            protocol: Some("HTTP".into()),
            vpc_id: Some("vpc-1".into()),
            target_type: Some("instance".into()),
            health_check_path: Some("/health".into()),
            health_check_port: Some("traffic-port".into()),
            health_check_protocol: Some("HTTP".into()),
            matcher: Some("200-299".into()),
        };
        let a = attrs_map(target_group_attrs(&g, None));
        assert_eq!(a["port"], 80);
        assert_eq!(a["vpc_id"], "vpc-1");
        assert_eq!(a["health_check.0.path"], "/health");
        assert_eq!(a["health_check.0.port"], "traffic-port");
        assert_eq!(a["health_check.0.matcher"], "200-299");
        let lambda = TargetGroup {
            target_type: Some("lambda".into()),
            ..TargetGroup::default()
        };
        let a = attrs_map(target_group_attrs(&lambda, None));
        assert!(
            !a.contains_key("port") && !a.contains_key("protocol") && !a.contains_key("vpc_id")
        );
    }

    #[test]
    fn actions_compare_as_strings_on_both_sides() {
        let l = Listener {
            arn: LISTENER_ARN.into(),
            load_balancer_arn: Some(LB_ARN.into()),
            port: Some(443),
            protocol: Some("HTTPS".into()),
            ssl_policy: Some("ELBSecurityPolicy-2016-08".into()),
            certificate_arn: Some("arn:cert".into()),
            default_actions: vec![
                Action {
                    type_: "forward".into(),
                    target_groups: vec!["arn:a".into(), "arn:b".into()],
                },
                Action {
                    type_: "authenticate-oidc".into(),
                    target_groups: vec![],
                },
            ],
        };
        let a = attrs_map(listener_attrs(&l));
        assert_eq!(a["port"], 443);
        assert_eq!(a["certificate_arn"], "arn:cert");
        assert_eq!(a["ssl_policy"], "ELBSecurityPolicy-2016-08");
        let http = Listener {
            protocol: Some("HTTP".into()),
            ..l.clone()
        };
        assert!(!attrs_map(listener_attrs(&http)).contains_key("ssl_policy"));
        assert_eq!(
            a["default_action"],
            json!(["forward>arn:a,arn:b", "authenticate-oidc"])
        );
        let mut state = json!({"default_action": [
            {"type": "authenticate-oidc", "target_group_arn": "", "forward": []},
            {"type": "forward", "target_group_arn": "",
             "forward": [{"target_group": [{"arn": "arn:b", "weight": 1}, {"arn": "arn:a", "weight": 1}]}]}
        ]});
        prepare_listener(&mut state);
        assert_eq!(
            state["default_action"],
            json!(["authenticate-oidc", "forward>arn:a,arn:b"])
        );
        let mut rule = json!({"action": [{"type": "forward", "target_group_arn": "arn:a"}]});
        prepare_rule(&mut rule);
        assert_eq!(rule["action"], json!(["forward>arn:a"]));
        let r = Rule {
            arn: RULE_ARN.into(),
            priority: Some("10".into()),
            actions: vec![Action {
                type_: "fixed-response".into(),
                target_groups: vec![],
            }],
        };
        let a = attrs_map(rule_attrs(&r));
        assert_eq!(a["priority"], "10");
        assert_eq!(a["action"], json!(["fixed-response"]));
    }
}
