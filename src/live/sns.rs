//! SNS: topics, topic policies and subscriptions.
//!
//! ListTopics says which topics exist; GetTopicAttributes is read once per
//! topic a state's topic or topic policy names. Topics compare display
//! name, policy (as a document; not when an `aws_sns_topic_policy` in the
//! state owns it), KMS key, FIFO and content-based deduplication. Tags are
//! not compared: no list call carries them. Subscriptions come from
//! ListSubscriptions (pending confirmations, which have no ARN, left out)
//! and compare topic, protocol and endpoint. All are identified by ARN.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{attr_or_id, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::sns::{Sns, Subscription};
use crate::aws::{Aws, AwsError};

pub const TOPIC: &str = "aws_sns_topic";
pub const TOPIC_POLICY: &str = "aws_sns_topic_policy";
pub const SUBSCRIPTION: &str = "aws_sns_topic_subscription";

fn arn_key(a: &Value) -> Option<String> {
    attr_or_id(a, "arn")
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(TOPIC, arn_key)
        .compares("display_name, kms_master_key_id, FIFO and deduplication, policy (as a document, unless a topic policy owns it)")
        .documents(&["policy"]),
    TypeSpec::new(TOPIC_POLICY, arn_key).compares("policy (as a document)").documents(&["policy"]),
    TypeSpec::new(SUBSCRIPTION, arn_key).compares("topic_arn, protocol, endpoint"),
];

super::family!("SNS");

fn flag(a: &BTreeMap<String, String>, k: &str) -> bool {
    a.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `aws_sns_topic`, from GetTopicAttributes' names; the policy left out
/// when another resource owns it.
pub fn topic_attrs(a: &BTreeMap<String, String>, with_policy: bool) -> Vec<(String, Value)> {
    let mut attrs = vec![
        ("display_name".into(), json!(a.get("DisplayName"))),
        ("kms_master_key_id".into(), json!(a.get("KmsMasterKeyId"))),
        ("fifo_topic".into(), json!(flag(a, "FifoTopic"))),
        (
            "content_based_deduplication".into(),
            json!(flag(a, "ContentBasedDeduplication")),
        ),
    ];
    if with_policy {
        attrs.push(("policy".into(), json!(a.get("Policy"))));
    }
    attrs
}

/// `aws_sns_topic_subscription`.
pub fn subscription_attrs(s: &Subscription) -> Vec<(String, Value)> {
    vec![
        ("topic_arn".into(), json!(s.topic_arn)),
        ("protocol".into(), json!(s.protocol)),
        ("endpoint".into(), json!(s.endpoint)),
    ]
}

type Read = (String, Option<BTreeMap<String, String>>);

async fn topics(sns: &Sns, req: &ScanRequest) -> Result<Vec<Read>, AwsError> {
    let mut arns: BTreeSet<String> = BTreeSet::new();
    for t in [TOPIC, TOPIC_POLICY] {
        if req.wants(t) {
            arns.extend(req.managed(t));
        }
    }
    let present: Vec<String> = if req.naive || arns.is_empty() {
        arns.into_iter().collect()
    } else {
        let listed: BTreeSet<String> = sns.topic_arns().await?.into_iter().collect();
        arns.into_iter().filter(|a| listed.contains(a)).collect()
    };
    each(req, present, |arn| async move {
        let attrs = sns.topic_attributes(&arn).await?;
        Ok((arn, attrs))
    })
    .await
}

fn topic_objects(req: &ScanRequest, reads: &[Read]) -> Part {
    let mut out = Part::new();
    let policies = req.managed(TOPIC_POLICY);
    if req.wants(TOPIC) {
        let managed = req.managed(TOPIC);
        let objs = reads
            .iter()
            .filter(|(arn, _)| managed.contains(arn))
            .filter_map(|(arn, a)| {
                Some(LiveObject {
                    attrs: topic_attrs(a.as_ref()?, !policies.contains(arn)),
                    ..LiveObject::named(arn, arn.rsplit(':').next().unwrap_or_default())
                })
            })
            .collect();
        out.push((TOPIC, TypeScan::Listed(objs)));
    }
    if req.wants(TOPIC_POLICY) {
        let objs = reads
            .iter()
            .filter(|(arn, _)| policies.contains(arn))
            .filter_map(|(arn, a)| {
                let a = a.as_ref()?;
                Some(LiveObject {
                    attrs: vec![("policy".into(), json!(a.get("Policy")))],
                    ..LiveObject::named(arn, "")
                })
            })
            .collect();
        out.push((TOPIC_POLICY, TypeScan::Listed(objs)));
    }
    out
}

/// Enumerates the wanted SNS types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let sns = aws.sns();
    let sns = &sns;
    let t = async move {
        if !(req.wants(TOPIC) || req.wants(TOPIC_POLICY)) {
            return Part::new();
        }
        match topics(sns, req).await {
            Ok(reads) => topic_objects(req, &reads),
            Err(e) => [TOPIC, TOPIC_POLICY]
                .into_iter()
                .filter(|t| req.wants(t))
                .map(|t| (t, TypeScan::Failed(e.clone())))
                .collect(),
        }
    };
    let s = async move {
        if !req.wants(SUBSCRIPTION) {
            return Part::new();
        }
        let managed = req.managed(SUBSCRIPTION);
        let scan = match sns.subscriptions().await {
            Ok(all) => TypeScan::Listed(
                all.iter()
                    .filter(|s| managed.contains(&s.arn))
                    .map(|s| LiveObject {
                        attrs: subscription_attrs(s),
                        ..LiveObject::named(&s.arn, "")
                    })
                    .collect(),
            ),
            Err(e) => TypeScan::Failed(e),
        };
        vec![(SUBSCRIPTION, scan)]
    };
    // At once, but one call at a time for the naive baseline.
    let (mut out, subs) = if req.naive {
        (t.await, s.await)
    } else {
        futures::future::join(t, s).await
    };
    out.extend(subs);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC_ARN: &str = "arn:aws:sns:eu-west-1:123456789012:events";

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn everything_is_found_by_arn() {
        for (attrs, want) in [
            (json!({"arn": TOPIC_ARN, "id": TOPIC_ARN}), Some(TOPIC_ARN)),
            (json!({"id": TOPIC_ARN}), Some(TOPIC_ARN)),
            (json!({"arn": ""}), None),
        ] {
            assert_eq!(arn_key(&attrs).as_deref(), want, "{attrs}");
        }
    }

    #[test]
    fn topic_attributes_map_the_api_names() {
        let a = m(&[
            ("DisplayName", "Events"),
            ("Policy", "{\"Version\":\"2012-10-17\"}"),
            ("KmsMasterKeyId", "alias/aws/sns"),
            ("FifoTopic", "true"),
            ("TopicArn", TOPIC_ARN),
        ]);
        let attrs: BTreeMap<String, Value> = topic_attrs(&a, true).into_iter().collect();
        assert_eq!(attrs["display_name"], json!("Events"));
        assert_eq!(attrs["policy"], json!("{\"Version\":\"2012-10-17\"}"));
        assert_eq!(attrs["kms_master_key_id"], json!("alias/aws/sns"));
        assert_eq!(attrs["fifo_topic"], json!(true));
        assert_eq!(attrs["content_based_deduplication"], json!(false));
        assert!(!topic_attrs(&a, false).iter().any(|(k, _)| k == "policy"));
    }

    #[test]
    fn a_topic_policy_resource_takes_the_policy_from_its_topic() {
        let req = ScanRequest {
            wanted: BTreeSet::from([TOPIC, TOPIC_POLICY]),
            managed: BTreeMap::from([
                (
                    TOPIC,
                    BTreeSet::from([TOPIC_ARN.to_owned(), "gone".to_owned()]),
                ),
                (TOPIC_POLICY, BTreeSet::from([TOPIC_ARN.to_owned()])),
            ]),
            ..ScanRequest::default()
        };
        let reads = vec![
            (
                TOPIC_ARN.to_owned(),
                Some(m(&[("Policy", "{}"), ("DisplayName", "")])),
            ),
            ("gone".to_owned(), None),
        ];
        let part = topic_objects(&req, &reads);
        let TypeScan::Listed(topics) = &part[0].1 else {
            panic!("topics listed")
        };
        assert_eq!(topics.len(), 1);
        assert_eq!(topics[0].name, "events");
        assert!(!topics[0].attrs.iter().any(|(k, _)| k == "policy"));
        let TypeScan::Listed(policies) = &part[1].1 else {
            panic!("policies listed")
        };
        assert_eq!(policies[0].attrs, vec![("policy".to_owned(), json!("{}"))]);
    }

    #[test]
    fn subscription_attributes() {
        let s = Subscription {
            arn: format!("{TOPIC_ARN}:abc"),
            topic_arn: Some(TOPIC_ARN.into()),
            protocol: Some("sqs".into()),
            endpoint: Some("arn:aws:sqs:eu-west-1:123456789012:q".into()),
        };
        assert_eq!(
            subscription_attrs(&s),
            vec![
                ("topic_arn".to_owned(), json!(TOPIC_ARN)),
                ("protocol".to_owned(), json!("sqs")),
                (
                    "endpoint".to_owned(),
                    json!("arn:aws:sqs:eu-west-1:123456789012:q")
                ),
            ]
        );
    }
}
