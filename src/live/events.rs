//! EventBridge (CloudWatch Events): rules from ListRules (100 a page) of
//! each bus the state's rules are on, and targets from ListTargetsByRule
//! (100 a page) of each rule the state's targets name. The naive baseline
//! reads each rule with DescribeRule (targets have no per-target read).
//!
//! Identifiers: a rule's is the provider's ID (`name` on the default bus,
//! `bus/name` otherwise). A target's is `bus/rule/target_id` (`default` for
//! the default bus): the provider's `rule-target_id` cannot be split back
//! into its rule and target, as both may contain `-`.
//!
//! Event patterns and target inputs are JSON documents: both sides are
//! compared re-serialised with sorted keys.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{attr_str, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::events::{Events, RuleInfo, TargetInfo};
use crate::aws::{Aws, AwsError};

pub const RULE: &str = "aws_cloudwatch_event_rule";
pub const TARGET: &str = "aws_cloudwatch_event_target";

const DEFAULT_BUS: &str = "default";

fn bus_of(a: &Value) -> &str {
    attr_str(a, "event_bus_name").unwrap_or(DEFAULT_BUS)
}

/// The provider's rule ID: `name` on the default bus, `bus/name` otherwise.
pub fn rule_id(bus: &str, name: &str) -> String {
    if bus == DEFAULT_BUS {
        name.to_owned()
    } else {
        format!("{bus}/{name}")
    }
}

/// `(bus, name)` of a rule ID (rule names hold no `/`; a bus ARN may).
fn split_rule_id(id: &str) -> (String, String) {
    match id.rsplit_once('/') {
        Some((bus, name)) => (bus.to_owned(), name.to_owned()),
        None => (DEFAULT_BUS.to_owned(), id.to_owned()),
    }
}

/// `bus/rule/target_id` (rule names and target IDs hold no `/`).
pub fn target_id(bus: &str, rule: &str, id: &str) -> String {
    format!("{bus}/{rule}/{id}")
}

fn rule_key(a: &Value) -> Option<String> {
    match attr_str(a, "name") {
        Some(name) => Some(rule_id(bus_of(a), name)),
        None => attr_str(a, "id").map(str::to_owned),
    }
}

fn target_key(a: &Value) -> Option<String> {
    Some(target_id(
        bus_of(a),
        attr_str(a, "rule")?,
        attr_str(a, "target_id")?,
    ))
}

/// A JSON document re-serialised with sorted keys; text that is not JSON as is.
pub fn canonical_json(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| text.to_owned())
}

fn canonicalise(a: &mut Value, attr: &str) {
    if let Some(Value::String(s)) = a.get_mut(attr) {
        *s = canonical_json(s);
    }
}

fn prepare_rule(a: &mut Value) {
    canonicalise(a, "event_pattern");
}

fn prepare_target(a: &mut Value) {
    canonicalise(a, "input");
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(RULE, rule_key)
        .compares("schedule_expression, event_pattern (as JSON), state, is_enabled, description, role_arn")
        .prepare(prepare_rule),
    TypeSpec::new(TARGET, target_key)
        .compares("arn, role_arn, input (as JSON), input_path")
        .prepare(prepare_target),
];

/// `aws_cloudwatch_event_rule`: schedule, pattern, state (and the older
/// `is_enabled`), description, role.
pub fn rule_attrs(r: &RuleInfo) -> Vec<(String, Value)> {
    let state = r.state.clone().unwrap_or_default();
    vec![
        ("schedule_expression".into(), json!(r.schedule_expression)),
        (
            "event_pattern".into(),
            json!(r.event_pattern.as_deref().map(canonical_json)),
        ),
        ("is_enabled".into(), json!(state != "DISABLED")),
        ("state".into(), json!(state)),
        ("description".into(), json!(r.description)),
        ("role_arn".into(), json!(r.role_arn)),
    ]
}

/// `aws_cloudwatch_event_target`: target ARN, role, input and input path.
pub fn target_attrs(t: &TargetInfo) -> Vec<(String, Value)> {
    vec![
        ("arn".into(), json!(t.arn)),
        ("role_arn".into(), json!(t.role_arn)),
        (
            "input".into(),
            json!(t.input.as_deref().map(canonical_json)),
        ),
        ("input_path".into(), json!(t.input_path)),
    ]
}

super::family!("EventBridge");

/// Enumerates the wanted EventBridge types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let events = aws.events();
    let mut out = Part::new();
    if req.wants(RULE) {
        out.push((RULE, listed(rules(&events, req).await)));
    }
    if req.wants(TARGET) {
        out.push((TARGET, listed(targets(&events, req).await)));
    }
    out
}

fn listed(r: Result<Vec<LiveObject>, AwsError>) -> TypeScan {
    match r {
        Ok(objs) => TypeScan::Listed(objs),
        Err(e) => TypeScan::Failed(e),
    }
}

async fn rules(events: &Events, req: &ScanRequest) -> Result<Vec<LiveObject>, AwsError> {
    let managed = req.managed(RULE);
    let found: Vec<(String, RuleInfo)> = if req.naive {
        each(req, managed.iter().cloned().collect(), |id| {
            let events = events.clone();
            async move {
                let (bus, name) = split_rule_id(&id);
                Ok(events.describe_rule(&bus, &name).await?.map(|r| (bus, r)))
            }
        })
        .await?
        .into_iter()
        .flatten()
        .collect()
    } else {
        let buses: BTreeSet<String> = managed.iter().map(|id| split_rule_id(id).0).collect();
        each(req, buses.into_iter().collect(), |bus| {
            let events = events.clone();
            async move {
                let rules = events.list_rules(&bus).await?.unwrap_or_default();
                Ok(rules
                    .into_iter()
                    .map(|r| (bus.clone(), r))
                    .collect::<Vec<_>>())
            }
        })
        .await?
        .into_iter()
        .flatten()
        .collect()
    };
    Ok(found
        .iter()
        .filter_map(|(bus, r)| {
            let id = rule_id(bus, &r.name);
            managed.contains(&id).then(|| LiveObject {
                attrs: rule_attrs(r),
                ..LiveObject::named(&id, &r.name)
            })
        })
        .collect())
}

async fn targets(events: &Events, req: &ScanRequest) -> Result<Vec<LiveObject>, AwsError> {
    let managed = req.managed(TARGET);
    let rules: BTreeSet<(String, String)> = managed
        .iter()
        .filter_map(|id| {
            let (bus_rule, _) = id.rsplit_once('/')?;
            let (bus, rule) = bus_rule.rsplit_once('/')?;
            Some((bus.to_owned(), rule.to_owned()))
        })
        .collect();
    let lists = each(req, rules.into_iter().collect(), |(bus, rule)| {
        let events = events.clone();
        async move {
            let targets = events.list_targets(&bus, &rule).await?.unwrap_or_default();
            Ok((bus, rule, targets))
        }
    })
    .await?;
    let mut objs = Vec::new();
    for (bus, rule, targets) in lists {
        for t in targets {
            let id = target_id(&bus, &rule, &t.id);
            if managed.contains(&id) {
                objs.push(LiveObject {
                    attrs: target_attrs(&t),
                    ..LiveObject::named(&id, &t.id)
                });
            }
        }
    }
    Ok(objs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn identifiers_follow_the_provider_ids() {
        let cases = [
            (
                json!({"id": "nightly", "name": "nightly", "event_bus_name": "default"}),
                Some("nightly"),
            ),
            (json!({"name": "nightly"}), Some("nightly")),
            (
                json!({"id": "ops/deploys", "name": "deploys", "event_bus_name": "ops"}),
                Some("ops/deploys"),
            ),
            (json!({"id": "x"}), Some("x")),
            (json!({}), None),
        ];
        for (attrs, want) in cases {
            assert_eq!(rule_key(&attrs).as_deref(), want, "{attrs}");
        }
        let cases = [
            (
                json!({"id": "nightly-run", "rule": "nightly", "target_id": "run", "event_bus_name": "default"}),
                Some("default/nightly/run"),
            ),
            (
                json!({"rule": "my-rule", "target_id": "my-target"}),
                Some("default/my-rule/my-target"),
            ),
            (
                json!({"rule": "deploys", "target_id": "t1", "event_bus_name": "ops"}),
                Some("ops/deploys/t1"),
            ),
            (json!({"id": "a-b", "rule": "a"}), None),
        ];
        for (attrs, want) in cases {
            assert_eq!(target_key(&attrs).as_deref(), want, "{attrs}");
        }
        assert_eq!(
            split_rule_id("nightly"),
            ("default".into(), "nightly".into())
        );
        assert_eq!(
            split_rule_id("arn:aws:events:eu-west-1:1:event-bus/ops/deploys"),
            (
                "arn:aws:events:eu-west-1:1:event-bus/ops".into(),
                "deploys".into()
            )
        );
    }

    #[test]
    fn patterns_and_inputs_compare_as_json() {
        assert_eq!(
            canonical_json("{\"source\": [\"aws.ec2\"], \"detail-type\": [\"x\"]}"),
            "{\"detail-type\":[\"x\"],\"source\":[\"aws.ec2\"]}"
        );
        assert_eq!(canonical_json("not json"), "not json");
        let mut a = json!({"event_pattern": "{\"b\": 1, \"a\": 2}"});
        prepare_rule(&mut a);
        assert_eq!(a["event_pattern"], "{\"a\":2,\"b\":1}");
        let mut t = json!({"input": "{\"z\": true,\"k\":\"v\"}"});
        prepare_target(&mut t);
        assert_eq!(t["input"], "{\"k\":\"v\",\"z\":true}");
    }

    #[test]
    fn mappings_use_terraform_attribute_paths() {
        let r = RuleInfo {
            name: "nightly".into(),
            schedule_expression: Some("rate(1 day)".into()),
            event_pattern: Some("{\"source\": [\"aws.s3\"]}".into()),
            state: Some("DISABLED".into()),
            description: Some("d".into()),
            ..RuleInfo::default()
        };
        let attrs: BTreeMap<String, Value> = rule_attrs(&r).into_iter().collect();
        assert_eq!(attrs["schedule_expression"], "rate(1 day)");
        assert_eq!(attrs["event_pattern"], "{\"source\":[\"aws.s3\"]}");
        assert_eq!(attrs["is_enabled"], false);
        assert_eq!(attrs["state"], "DISABLED");
        assert_eq!(attrs["description"], "d");
        let t = TargetInfo {
            id: "run".into(),
            arn: "arn:aws:lambda:eu-west-1:1:function:f".into(),
            input: Some("{\"a\": 1}".into()),
            ..TargetInfo::default()
        };
        let attrs: BTreeMap<String, Value> = target_attrs(&t).into_iter().collect();
        assert_eq!(attrs["arn"], "arn:aws:lambda:eu-west-1:1:function:f");
        assert_eq!(attrs["input"], "{\"a\":1}");
        assert!(attrs["role_arn"].is_null());
    }
}
