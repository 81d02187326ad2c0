//! Secrets Manager: secrets (ListSecrets, 100 a page, which carries their
//! tags) and secret versions (existence only, from ListSecretVersionIds
//! once per secret the state's versions name; values are never read).
//!
//! A secret scheduled for deletion is gone, and so are its versions.
//! Secrets are identified by ARN, versions by `secret_id|version_id`, as
//! the provider does. A version's stages are not compared: rotation moves
//! `AWSCURRENT` to newer versions.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{attr_or_id, attr_str, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::secretsmanager::{Secret, SecretsManager};
use crate::aws::{Aws, AwsError};

pub const SECRET: &str = "aws_secretsmanager_secret";
pub const VERSION: &str = "aws_secretsmanager_secret_version";

fn secret_key(a: &Value) -> Option<String> {
    attr_or_id(a, "arn")
}
fn version_key(a: &Value) -> Option<String> {
    match (attr_str(a, "secret_id"), attr_str(a, "version_id")) {
        (Some(s), Some(v)) => Some(format!("{s}|{v}")),
        _ => attr_str(a, "id").map(str::to_owned),
    }
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(SECRET, secret_key).compares("name, description, kms_key_id, tags"),
    TypeSpec::new(VERSION, version_key),
];

super::family!("SecretsManager");

/// `aws_secretsmanager_secret`.
pub fn secret_attrs(s: &Secret) -> Vec<(String, Value)> {
    vec![
        ("name".into(), json!(s.name)),
        ("description".into(), json!(s.description)),
        ("kms_key_id".into(), json!(s.kms_key_id)),
        ("tags".into(), json!(s.tags)),
    ]
}

/// The secrets the state's versions name (the part before `|`).
fn version_secrets(keys: &BTreeSet<String>) -> BTreeSet<String> {
    keys.iter()
        .filter_map(|k| k.split_once('|').map(|(s, _)| s.to_owned()))
        .collect()
}

/// The live secret a state's `secret_id` (ARN or name) names.
fn find<'a>(all: &'a [Secret], id: &str) -> Option<&'a Secret> {
    all.iter().find(|s| s.arn == id || s.name == id)
}

/// The secrets to compare: listed, or (naive) described one by one.
async fn secrets(
    sm: &SecretsManager,
    req: &ScanRequest,
    ids: BTreeSet<String>,
) -> Result<Vec<Secret>, AwsError> {
    let all = if req.naive {
        each(req, ids.into_iter().collect(), |id| async move {
            sm.secret(&id).await
        })
        .await?
        .into_iter()
        .flatten()
        .collect()
    } else {
        sm.secrets().await?
    };
    Ok(all.into_iter().filter(|s| !s.deleted).collect())
}

async fn versions(
    sm: &SecretsManager,
    req: &ScanRequest,
    all: &[Secret],
) -> Result<Vec<LiveObject>, AwsError> {
    let present: Vec<String> = version_secrets(&req.managed(VERSION))
        .into_iter()
        .filter(|id| find(all, id).is_some())
        .collect();
    let found = each(req, present, |id| async move {
        let versions = sm.version_ids(&id).await?.unwrap_or_default();
        Ok(versions
            .into_iter()
            .map(|v| LiveObject::named(format!("{id}|{v}"), ""))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// Enumerates the wanted Secrets Manager types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let sm = aws.secretsmanager();
    let mut ids = req.managed(SECRET);
    ids.extend(version_secrets(&req.managed(VERSION)));
    let all = match secrets(&sm, req, ids).await {
        Ok(all) => all,
        Err(e) => {
            return [SECRET, VERSION]
                .into_iter()
                .filter(|t| req.wants(t))
                .map(|t| (t, TypeScan::Failed(e.clone())))
                .collect()
        }
    };
    let mut out = Part::new();
    if req.wants(SECRET) {
        let managed = req.managed(SECRET);
        let objs = all
            .iter()
            .filter(|s| managed.contains(&s.arn))
            .map(|s| LiveObject {
                attrs: secret_attrs(s),
                tags: Some(s.tags.clone()),
                ..LiveObject::named(&s.arn, &s.name)
            })
            .collect();
        out.push((SECRET, TypeScan::Listed(objs)));
    }
    if req.wants(VERSION) {
        let scan = match versions(&sm, req, &all).await {
            Ok(objs) => TypeScan::Listed(objs),
            Err(e) => TypeScan::Failed(e),
        };
        out.push((VERSION, scan));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf";

    #[test]
    fn secrets_by_arn_and_versions_by_secret_and_version() {
        let cases = [
            (
                secret_key as fn(&Value) -> Option<String>,
                json!({"arn": ARN, "id": ARN, "name": "db"}),
                Some(ARN.to_owned()),
            ),
            (secret_key, json!({"id": ARN}), Some(ARN.to_owned())),
            (
                version_key,
                json!({"secret_id": ARN, "version_id": "v-1", "id": format!("{ARN}|v-1")}),
                Some(format!("{ARN}|v-1")),
            ),
            (
                version_key,
                json!({"secret_id": "db", "version_id": "v-2"}),
                Some("db|v-2".to_owned()),
            ),
            (
                version_key,
                json!({"id": "db|v-3"}),
                Some("db|v-3".to_owned()),
            ),
            (version_key, json!({"secret_id": "db"}), None),
        ];
        for (f, attrs, want) in cases {
            assert_eq!(f(&attrs), want, "{attrs}");
        }
        let keys = BTreeSet::from([
            format!("{ARN}|v-1"),
            format!("{ARN}|v-2"),
            "db|v-3".to_owned(),
        ]);
        assert_eq!(
            version_secrets(&keys),
            BTreeSet::from([ARN.to_owned(), "db".to_owned()])
        );
    }

    #[test]
    fn secret_attributes_and_lookup_by_arn_or_name() {
        let s = Secret {
            arn: ARN.into(),
            name: "db".into(),
            description: Some("database credentials".into()),
            kms_key_id: Some("alias/app".into()),
            deleted: false,
            tags: BTreeMap::from([("team".to_owned(), "data".to_owned())]),
        };
        assert_eq!(
            secret_attrs(&s),
            vec![
                ("name".to_owned(), json!("db")),
                ("description".to_owned(), json!("database credentials")),
                ("kms_key_id".to_owned(), json!("alias/app")),
                ("tags".to_owned(), json!({"team": "data"})),
            ]
        );
        let all = vec![s];
        assert!(find(&all, ARN).is_some());
        assert!(find(&all, "db").is_some());
        assert!(find(&all, "other").is_none());
    }
}
