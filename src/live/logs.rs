//! CloudWatch Logs: log groups, from DescribeLogGroups (50 a page).
//!
//! Compared: retention, KMS key, class. Tags are not compared: no list
//! call carries them and one ListTagsForResource per group would double the
//! calls. The API's ARN ends in `:*` and the state's does not: ARNs are
//! never compared. The naive baseline describes each group by its name as
//! a prefix.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{attr_or_id, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::logs::{LogGroup, Logs};
use crate::aws::{Aws, AwsError};

pub const LOG_GROUP: &str = "aws_cloudwatch_log_group";

fn log_group_key(a: &Value) -> Option<String> {
    attr_or_id(a, "name")
}

pub const TYPES: &[TypeSpec] = &[TypeSpec::new(LOG_GROUP, log_group_key)
    .compares(
        "retention_in_days, kms_key_id, log_group_class, deletion_protection_enabled (not tags)",
    )
    .unmanaged()];

super::family!("Logs");

/// `aws_cloudwatch_log_group`: retention (0: never expire, as the
/// provider writes it), KMS key, class and deletion protection when the
/// API gives them.
pub fn log_group_attrs(g: &LogGroup) -> Vec<(String, Value)> {
    let mut attrs = vec![
        (
            "retention_in_days".into(),
            json!(g.retention_in_days.unwrap_or(0)),
        ),
        ("kms_key_id".into(), json!(g.kms_key_id)),
    ];
    if let Some(c) = &g.class {
        attrs.push(("log_group_class".into(), json!(c)));
    }
    if let Some(d) = g.deletion_protection {
        attrs.push(("deletion_protection_enabled".into(), json!(d)));
    }
    attrs
}

async fn groups(logs: &Logs, req: &ScanRequest) -> Result<Vec<LiveObject>, AwsError> {
    let managed = req.managed(LOG_GROUP);
    let all: Vec<LogGroup> = if req.naive && !req.unmanaged {
        each(req, managed.iter().cloned().collect(), |name| async move {
            let found = logs.log_groups(Some(&name)).await?;
            Ok(found
                .into_iter()
                .filter(|g| g.name == name)
                .collect::<Vec<_>>())
        })
        .await?
        .into_iter()
        .flatten()
        .collect()
    } else {
        logs.log_groups(None).await?
    };
    Ok(objects(req.unmanaged, &managed, &all))
}

/// Managed groups with their attributes; with `unmanaged`, the others by name.
fn objects(unmanaged: bool, managed: &BTreeSet<String>, all: &[LogGroup]) -> Vec<LiveObject> {
    all.iter()
        .filter_map(|g| {
            if managed.contains(&g.name) {
                Some(LiveObject {
                    attrs: log_group_attrs(g),
                    ..LiveObject::named(&g.name, &g.name)
                })
            } else if unmanaged {
                Some(LiveObject::named(&g.name, &g.name))
            } else {
                None
            }
        })
        .collect()
}

/// Enumerates the log groups.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    if !req.wants(LOG_GROUP) {
        return Part::new();
    }
    let scan = match groups(&aws.logs(), req).await {
        Ok(objs) => TypeScan::Listed(objs),
        Err(e) => TypeScan::Failed(e),
    };
    vec![(LOG_GROUP, scan)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_group_is_found_by_its_name() {
        for (attrs, want) in [
            (
                json!({"name": "/aws/eks/c/cluster", "id": "/aws/eks/c/cluster", "arn": "arn:aws:logs:eu-west-1:1:log-group:/aws/eks/c/cluster"}),
                Some("/aws/eks/c/cluster"),
            ),
            (json!({"id": "/aws/lambda/f"}), Some("/aws/lambda/f")),
            (json!({"name": ""}), None),
        ] {
            assert_eq!(log_group_key(&attrs).as_deref(), want, "{attrs}");
        }
    }

    #[test]
    fn never_expiring_is_zero_and_absent_fields_are_not_compared() {
        let g = LogGroup {
            name: "/aws/lambda/f".into(),
            retention_in_days: None,
            kms_key_id: None,
            class: None,
            deletion_protection: None,
        };
        assert_eq!(
            log_group_attrs(&g),
            vec![
                ("retention_in_days".to_owned(), json!(0)),
                ("kms_key_id".to_owned(), Value::Null)
            ]
        );
        let g = LogGroup {
            retention_in_days: Some(30),
            kms_key_id: Some("arn:aws:kms:eu-west-1:1:key/k".into()),
            class: Some("STANDARD".into()),
            deletion_protection: Some(false),
            ..g
        };
        let attrs = log_group_attrs(&g);
        assert!(attrs.contains(&("retention_in_days".into(), json!(30))));
        assert!(attrs.contains(&("kms_key_id".into(), json!("arn:aws:kms:eu-west-1:1:key/k"))));
        assert!(attrs.contains(&("log_group_class".into(), json!("STANDARD"))));
        assert!(attrs.contains(&("deletion_protection_enabled".into(), json!(false))));
        assert!(!attrs.iter().any(|(k, _)| k == "arn" || k == "tags"));
    }

    #[test]
    fn unmanaged_groups_carry_no_attributes() {
        let all = vec![
            LogGroup {
                name: "/a".into(),
                retention_in_days: Some(7),
                ..LogGroup::default()
            },
            LogGroup {
                name: "/b".into(),
                ..LogGroup::default()
            },
        ];
        let managed = BTreeSet::from(["/a".to_owned()]);
        let objs = objects(true, &managed, &all);
        assert_eq!(objs.len(), 2);
        assert!(!objs[0].attrs.is_empty());
        assert_eq!(objs[1].name, "/b");
        assert!(objs[1].attrs.is_empty());
        assert_eq!(objects(false, &managed, &all).len(), 1);
    }
}
