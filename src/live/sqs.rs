//! SQS: queues, queue policies and redrive policies.
//!
//! ListQueues (1,000 a page) says which queues exist; GetQueueAttributes
//! (`All`) is read once per queue that a state's queue, queue policy or
//! redrive policy names, and ListQueueTags once per managed queue. All three
//! types are identified by the queue URL (the provider's ID); a state URL
//! is matched to the listed one by its path (`/account/name`), so a
//! legacy endpoint host in an old state is not drift.
//!
//! A queue's own `policy`, `redrive_policy` and `redrive_allow_policy` are
//! compared only when the state sets them: when empty, a separate
//! `aws_sqs_queue_policy` / `aws_sqs_queue_redrive_policy` may own them.
//! Nor when a policy resource in the state owns them. Documents are
//! compared parsed (`maxReceiveCount` `"5"` equals `5`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{attr_or_id, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::sqs::Sqs;
use crate::aws::{Aws, AwsError};

pub const QUEUE: &str = "aws_sqs_queue";
pub const QUEUE_POLICY: &str = "aws_sqs_queue_policy";
pub const REDRIVE_POLICY: &str = "aws_sqs_queue_redrive_policy";

fn queue_key(a: &Value) -> Option<String> {
    attr_or_id(a, "url")
}
fn queue_url_key(a: &Value) -> Option<String> {
    attr_or_id(a, "queue_url")
}

const QUEUE_DOCUMENTS: &[&str] = &["policy", "redrive_policy", "redrive_allow_policy"];

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(QUEUE, queue_key)
        .compares("timeouts, retention, delay, sizes, FIFO and SSE settings, tags, policy documents (when set, not owned)")
        .documents(QUEUE_DOCUMENTS)
        .prepare(prepare_queue),
    TypeSpec::new(QUEUE_POLICY, queue_url_key)
        .compares("policy (as a document)")
        .documents(&["policy"]),
    TypeSpec::new(REDRIVE_POLICY, queue_url_key)
        .compares("redrive_policy (as a document)")
        .documents(&["redrive_policy"]),
];

super::family!("SQS");

/// Documents the state leaves empty are not compared (another resource
/// may own them).
fn prepare_queue(attrs: &mut Value) {
    if let Some(m) = attrs.as_object_mut() {
        for k in QUEUE_DOCUMENTS {
            if m.get(*k)
                .is_some_and(|v| v.is_null() || v.as_str().is_some_and(str::is_empty))
            {
                m.remove(*k);
            }
        }
    }
}

/// `/123456789012/name` of a queue URL.
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or(rest, |i| &rest[i..])
}

fn flag(a: &BTreeMap<String, String>, k: &str) -> bool {
    a.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `aws_sqs_queue`, from GetQueueAttributes' names.
pub fn queue_attrs(
    a: &BTreeMap<String, String>,
    tags: &BTreeMap<String, String>,
) -> Vec<(String, Value)> {
    let get = |k: &str| json!(a.get(k));
    let mut attrs = vec![
        (
            "visibility_timeout_seconds".into(),
            get("VisibilityTimeout"),
        ),
        (
            "message_retention_seconds".into(),
            get("MessageRetentionPeriod"),
        ),
        ("delay_seconds".into(), get("DelaySeconds")),
        ("max_message_size".into(), get("MaximumMessageSize")),
        (
            "receive_wait_time_seconds".into(),
            get("ReceiveMessageWaitTimeSeconds"),
        ),
        ("fifo_queue".into(), json!(flag(a, "FifoQueue"))),
        (
            "content_based_deduplication".into(),
            json!(flag(a, "ContentBasedDeduplication")),
        ),
        ("policy".into(), get("Policy")),
        ("redrive_policy".into(), get("RedrivePolicy")),
        ("redrive_allow_policy".into(), get("RedriveAllowPolicy")),
        ("kms_master_key_id".into(), get("KmsMasterKeyId")),
        ("tags".into(), json!(tags)),
    ];
    // Given by the API only in some configurations: compared when given.
    for (state, api) in [
        (
            "kms_data_key_reuse_period_seconds",
            "KmsDataKeyReusePeriodSeconds",
        ),
        ("sqs_managed_sse_enabled", "SqsManagedSseEnabled"),
        ("deduplication_scope", "DeduplicationScope"),
        ("fifo_throughput_limit", "FifoThroughputLimit"),
    ] {
        if let Some(v) = a.get(api) {
            attrs.push((state.into(), json!(v)));
        }
    }
    attrs
}

/// A policy-type object: present when the queue has the attribute.
fn part_object(
    url: &str,
    a: &BTreeMap<String, String>,
    api: &str,
    state: &str,
) -> Option<LiveObject> {
    let v = a.get(api).filter(|v| !v.is_empty())?;
    Some(LiveObject {
        attrs: vec![(state.into(), json!(v))],
        ..LiveObject::named(url, "")
    })
}

/// What was read of one queue, under the state's URL.
struct Read {
    url: String,
    attrs: Option<BTreeMap<String, String>>,
    tags: Option<Result<BTreeMap<String, String>, AwsError>>,
}

async fn read_all(sqs: &Sqs, req: &ScanRequest) -> Result<Vec<Read>, AwsError> {
    let queues = req.managed(QUEUE);
    let mut urls: BTreeSet<String> = BTreeSet::new();
    for t in [QUEUE, QUEUE_POLICY, REDRIVE_POLICY] {
        if req.wants(t) {
            urls.extend(req.managed(t));
        }
    }
    // State URL -> the URL to ask with (`None`: not listed, absent).
    let targets: Vec<(String, Option<String>)> = if req.naive || urls.is_empty() {
        urls.into_iter().map(|u| (u.clone(), Some(u))).collect()
    } else {
        let listed: BTreeMap<String, String> = sqs
            .queue_urls()
            .await?
            .into_iter()
            .map(|u| (url_path(&u).to_owned(), u))
            .collect();
        urls.into_iter()
            .map(|u| {
                let live = listed.get(url_path(&u)).cloned();
                (u, live)
            })
            .collect()
    };
    let queues = &queues;
    each(req, targets, |(url, live)| async move {
        let Some(live) = live else {
            return Ok(Read {
                url,
                attrs: None,
                tags: None,
            });
        };
        let attrs = sqs.attributes(&live).await?;
        let tags = if attrs.is_some() && queues.contains(&url) {
            Some(sqs.tags(&live).await)
        } else {
            None
        };
        Ok(Read { url, attrs, tags })
    })
    .await
}

/// Enumerates the wanted SQS types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let types = [QUEUE, QUEUE_POLICY, REDRIVE_POLICY];
    let reads = match read_all(&aws.sqs(), req).await {
        Ok(r) => r,
        Err(e) => {
            return types
                .into_iter()
                .filter(|t| req.wants(t))
                .map(|t| (t, TypeScan::Failed(e.clone())))
                .collect()
        }
    };
    objects(req, &reads)
}

fn objects(req: &ScanRequest, reads: &[Read]) -> Part {
    let mut out = Part::new();
    if req.wants(QUEUE) {
        let managed = req.managed(QUEUE);
        // Documents a policy resource of the state owns are its to compare.
        let owned = [
            ("policy", req.managed(QUEUE_POLICY)),
            ("redrive_policy", req.managed(REDRIVE_POLICY)),
        ];
        let mut objs = Vec::new();
        let mut failed = None;
        for r in reads.iter().filter(|r| managed.contains(&r.url)) {
            let Some(a) = &r.attrs else { continue };
            let tags = match &r.tags {
                Some(Ok(t)) => t.clone(),
                Some(Err(e)) => {
                    failed = Some(e.clone());
                    break;
                }
                None => BTreeMap::new(),
            };
            let mut attrs = queue_attrs(a, &tags);
            attrs.retain(|(k, _)| {
                !owned
                    .iter()
                    .any(|(o, urls)| k == o && urls.contains(&r.url))
            });
            objs.push(LiveObject {
                attrs,
                tags: Some(tags),
                ..LiveObject::named(
                    &r.url,
                    url_path(&r.url).rsplit('/').next().unwrap_or_default(),
                )
            });
        }
        out.push((
            QUEUE,
            match failed {
                Some(e) => TypeScan::Failed(e),
                None => TypeScan::Listed(objs),
            },
        ));
    }
    for (t, api, state) in [
        (QUEUE_POLICY, "Policy", "policy"),
        (REDRIVE_POLICY, "RedrivePolicy", "redrive_policy"),
    ] {
        if req.wants(t) {
            let managed = req.managed(t);
            let objs = reads
                .iter()
                .filter(|r| managed.contains(&r.url))
                .filter_map(|r| part_object(&r.url, r.attrs.as_ref()?, api, state))
                .collect();
            out.push((t, TypeScan::Listed(objs)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const URL: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs";

    #[test]
    fn queues_and_their_policies_are_found_by_url() {
        let cases = [
            (
                queue_key as fn(&Value) -> Option<String>,
                json!({"id": URL, "url": URL, "name": "jobs"}),
                Some(URL),
            ),
            (queue_key, json!({"id": URL}), Some(URL)),
            (
                queue_url_key,
                json!({"id": URL, "queue_url": URL}),
                Some(URL),
            ),
            (queue_url_key, json!({"queue_url": ""}), None),
        ];
        for (f, attrs, want) in cases {
            assert_eq!(f(&attrs).as_deref(), want, "{attrs}");
        }
        assert_eq!(url_path(URL), "/123456789012/jobs");
        assert_eq!(
            url_path("https://queue.amazonaws.com/123456789012/jobs"),
            "/123456789012/jobs"
        );
    }

    #[test]
    fn queue_attributes_map_the_api_names() {
        let a = m(&[
            ("VisibilityTimeout", "60"),
            ("MessageRetentionPeriod", "345600"),
            ("DelaySeconds", "0"),
            ("MaximumMessageSize", "262144"),
            ("ReceiveMessageWaitTimeSeconds", "20"),
            (
                "RedrivePolicy",
                "{\"deadLetterTargetArn\":\"arn:dlq\",\"maxReceiveCount\":5}",
            ),
            ("SqsManagedSseEnabled", "true"),
            ("QueueArn", "arn:aws:sqs:eu-west-1:1:jobs"),
        ]);
        let tags = m(&[("team", "data")]);
        let attrs: BTreeMap<String, Value> = queue_attrs(&a, &tags).into_iter().collect();
        assert_eq!(attrs["visibility_timeout_seconds"], json!("60"));
        assert_eq!(attrs["message_retention_seconds"], json!("345600"));
        assert_eq!(attrs["max_message_size"], json!("262144"));
        assert_eq!(attrs["receive_wait_time_seconds"], json!("20"));
        assert_eq!(attrs["fifo_queue"], json!(false));
        assert_eq!(attrs["content_based_deduplication"], json!(false));
        assert_eq!(attrs["sqs_managed_sse_enabled"], json!("true"));
        assert_eq!(attrs["policy"], Value::Null);
        assert_eq!(
            attrs["redrive_policy"],
            json!("{\"deadLetterTargetArn\":\"arn:dlq\",\"maxReceiveCount\":5}")
        );
        assert_eq!(attrs["tags"], json!({"team": "data"}));
        assert!(!attrs.contains_key("kms_data_key_reuse_period_seconds"));
        assert!(!attrs.contains_key("arn"));
        let fifo: BTreeMap<String, Value> = queue_attrs(
            &m(&[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")]),
            &BTreeMap::new(),
        )
        .into_iter()
        .collect();
        assert_eq!(fifo["fifo_queue"], json!(true));
        assert_eq!(fifo["content_based_deduplication"], json!(true));
    }

    #[test]
    fn empty_queue_documents_are_left_to_other_resources() {
        let mut s = json!({"policy": "", "redrive_policy": null, "redrive_allow_policy": "{\"a\":1}", "delay_seconds": 0});
        prepare_queue(&mut s);
        assert_eq!(
            s,
            json!({"redrive_allow_policy": "{\"a\":1}", "delay_seconds": 0})
        );
    }

    #[test]
    fn policy_objects_exist_only_when_the_queue_has_the_policy() {
        let a = m(&[
            ("Policy", "{\"Version\":\"2012-10-17\"}"),
            ("RedrivePolicy", ""),
        ]);
        let p = part_object(URL, &a, "Policy", "policy").expect("policy");
        assert_eq!(p.id, URL);
        assert_eq!(
            p.attrs,
            vec![("policy".to_owned(), json!("{\"Version\":\"2012-10-17\"}"))]
        );
        assert_eq!(
            part_object(URL, &a, "RedrivePolicy", "redrive_policy"),
            None
        );

        let req = ScanRequest {
            wanted: BTreeSet::from([QUEUE, QUEUE_POLICY]),
            managed: BTreeMap::from([
                (QUEUE, BTreeSet::from([URL.to_owned(), "gone".to_owned()])),
                (QUEUE_POLICY, BTreeSet::from([URL.to_owned()])),
            ]),
            ..ScanRequest::default()
        };
        let reads = vec![
            Read {
                url: URL.into(),
                attrs: Some(a),
                tags: Some(Ok(m(&[("k", "v")]))),
            },
            Read {
                url: "gone".into(),
                attrs: None,
                tags: None,
            },
        ];
        let part = objects(&req, &reads);
        let TypeScan::Listed(queues) = &part[0].1 else {
            panic!("queues listed")
        };
        assert_eq!(queues.len(), 1);
        assert_eq!(queues[0].name, "jobs");
        // The queue policy resource owns the policy.
        assert!(!queues[0].attrs.iter().any(|(k, _)| k == "policy"));
        assert!(queues[0].attrs.iter().any(|(k, _)| k == "redrive_policy"));
        let TypeScan::Listed(policies) = &part[1].1 else {
            panic!("policies listed")
        };
        assert_eq!(policies.len(), 1);
    }
}
