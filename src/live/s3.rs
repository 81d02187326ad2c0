//! S3: buckets (one ListBuckets call shared by every S3 type, plus one
//! region-filtered listing where the listing omits regions; tags from the
//! scan's shared tag index), and the per-bucket configuration resources,
//! read only for buckets the state has.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{attr_or_id, each, put_all, LiveObject, ScanRequest, TypeScan, TypeSpec};
use crate::aws::s3::{Encryption, LifecycleRule, PublicAccessBlock};
use crate::aws::{Aws, AwsError};
use crate::store::Versioning;

pub const BUCKET: &str = "aws_s3_bucket";
pub const VERSIONING: &str = "aws_s3_bucket_versioning";
pub const LIFECYCLE: &str = "aws_s3_bucket_lifecycle_configuration";
pub const ENCRYPTION: &str = "aws_s3_bucket_server_side_encryption_configuration";
pub const PUBLIC_ACCESS_BLOCK: &str = "aws_s3_bucket_public_access_block";

fn bucket_key(a: &Value) -> Option<String> {
    attr_or_id(a, "bucket")
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(BUCKET, bucket_key).unmanaged(),
    TypeSpec::new(VERSIONING, bucket_key),
    TypeSpec::new(LIFECYCLE, bucket_key),
    TypeSpec::new(ENCRYPTION, bucket_key),
    TypeSpec::new(PUBLIC_ACCESS_BLOCK, bucket_key),
];

/// `aws_s3_bucket`: region and tags.
pub fn bucket_attrs(region: &str, tags: &BTreeMap<String, String>) -> Vec<(String, Value)> {
    vec![
        ("region".into(), json!(region)),
        ("tags".into(), json!(tags)),
    ]
}

/// `aws_s3_bucket_versioning`: the status (`Enabled`, `Suspended`, `Disabled`).
pub fn versioning_attrs(v: Versioning) -> Vec<(String, Value)> {
    let status = match v {
        Versioning::Enabled => "Enabled",
        Versioning::Suspended => "Suspended",
        Versioning::Disabled => "Disabled",
    };
    vec![("versioning_configuration.0.status".into(), json!(status))]
}

/// `aws_s3_bucket_lifecycle_configuration`: each rule's id, status and expiration days.
pub fn lifecycle_attrs(rules: &[LifecycleRule]) -> Vec<(String, Value)> {
    let rules: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut o = json!({"id": r.id, "status": r.status});
            if let Some(days) = r.expiration_days {
                o["expiration"] = json!([{"days": days}]);
            }
            o
        })
        .collect();
    vec![("rule".into(), Value::Array(rules))]
}

/// `aws_s3_bucket_server_side_encryption_configuration`.
pub fn encryption_attrs(e: &Encryption) -> Vec<(String, Value)> {
    let mut default = json!({"sse_algorithm": e.sse_algorithm});
    if let Some(k) = &e.kms_master_key_id {
        default["kms_master_key_id"] = json!(k);
    }
    let mut rule = json!({"apply_server_side_encryption_by_default": [default]});
    if let Some(b) = e.bucket_key_enabled {
        rule["bucket_key_enabled"] = json!(b);
    }
    vec![("rule".into(), json!([rule]))]
}

/// `aws_s3_bucket_public_access_block`: the four switches.
pub fn public_access_block_attrs(p: &PublicAccessBlock) -> Vec<(String, Value)> {
    vec![
        ("block_public_acls".into(), json!(p.block_public_acls)),
        ("block_public_policy".into(), json!(p.block_public_policy)),
        ("ignore_public_acls".into(), json!(p.ignore_public_acls)),
        (
            "restrict_public_buckets".into(),
            json!(p.restrict_public_buckets),
        ),
    ]
}

super::family!("S3");

/// Enumerates the wanted S3 types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Vec<(&'static str, TypeScan)> {
    let mut out = Vec::new();
    let all: Vec<&'static str> = TYPES.iter().map(|t| t.name).collect();
    let r = scan_inner(aws, req, &mut out).await;
    put_all(&mut out, &all, req, &r);
    out
}

async fn scan_inner(
    aws: &Aws,
    req: &ScanRequest,
    out: &mut Vec<(&'static str, TypeScan)>,
) -> Result<(), AwsError> {
    let account = aws.s3_account();
    // Buckets the state names, through any S3 type.
    let mut wanted_buckets: BTreeSet<String> = BTreeSet::new();
    for t in TYPES {
        wanted_buckets.extend(req.managed(t.name));
    }
    // name -> region (when the listing gives it)
    let mut existing: BTreeMap<String, Option<String>> = BTreeMap::new();
    if req.naive {
        let found = each(req, wanted_buckets.iter().cloned().collect(), |name| {
            let b = account.bucket(&name);
            async move {
                match b.location().await {
                    Ok(r) => Ok(Some((name, Some(r)))),
                    Err(e) if e.kind == crate::aws::AwsErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
        })
        .await?;
        existing.extend(found.into_iter().flatten());
    } else {
        for b in account.list_buckets(None).await? {
            existing.insert(b.name, b.region);
        }
        // AWS's ListBuckets gives each bucket's region; where it does not (older
        // S3 APIs, emulators), one listing filtered on the client's region
        // places the buckets there, and only the rest need GetBucketLocation.
        if existing.values().any(Option::is_none) {
            if let Some(region) = aws.region() {
                for b in account.list_buckets(Some(&region)).await? {
                    if let Some(slot @ None) = existing.get_mut(&b.name) {
                        *slot = Some(region.clone());
                    }
                }
            }
        }
    }

    if req.wants(BUCKET) {
        let managed = req.managed(BUCKET);
        let tag_scope = req.unmanaged && !req.scope.tags.is_empty();
        let mut todo: Vec<(String, Option<String>, bool)> = Vec::new();
        let mut objs = Vec::new();
        for (name, region) in &existing {
            if managed.contains(name) {
                todo.push((name.clone(), region.clone(), true));
            } else if req.unmanaged
                && req.scope.name_matches(name)
                // Buckets are listed account-wide; each region's scan
                // reports its own.
                && region.as_deref().is_none_or(|r| Some(r) == aws.region().as_deref())
            {
                if tag_scope {
                    todo.push((name.clone(), region.clone(), false));
                } else {
                    objs.push(LiveObject::named(name, name));
                }
            }
        }
        let described = each(req, todo, |(name, region, is_managed)| {
            let b = account.bucket(&name);
            let index = req.tags.clone();
            async move {
                let indexed = match &index {
                    Some(t) => t.get().await,
                    None => None,
                };
                // The tag index covers its own region's buckets only.
                let tags = match indexed.filter(|i| region.as_deref() == Some(i.region.as_str())) {
                    Some(i) => i.buckets.get(&name).cloned().unwrap_or_default(),
                    None => b.tags().await?,
                };
                let mut o = LiveObject::named(&name, &name);
                if is_managed {
                    let region = match region {
                        Some(r) => r,
                        None => b.location().await?,
                    };
                    o.attrs = bucket_attrs(&region, &tags);
                }
                o.tags = Some(tags);
                Ok(o)
            }
        })
        .await?;
        objs.extend(described);
        out.push((BUCKET, TypeScan::Listed(objs)));
    }

    for type_ in [VERSIONING, LIFECYCLE, ENCRYPTION, PUBLIC_ACCESS_BLOCK] {
        if !req.wants(type_) {
            continue;
        }
        let names: Vec<String> = req
            .managed(type_)
            .into_iter()
            .filter(|n| existing.contains_key(n))
            .collect();
        let objs = each(req, names, |name| {
            let b = account.bucket(&name);
            async move {
                let attrs = match type_ {
                    VERSIONING => Some(versioning_attrs(b.versioning().await?)),
                    LIFECYCLE => b.lifecycle().await?.map(|r| lifecycle_attrs(&r)),
                    ENCRYPTION => b.encryption().await?.map(|e| encryption_attrs(&e)),
                    _ => b
                        .public_access_block()
                        .await?
                        .map(|p| public_access_block_attrs(&p)),
                };
                Ok(attrs.map(|attrs| LiveObject {
                    attrs,
                    ..LiveObject::named(&name, &name)
                }))
            }
        })
        .await?;
        out.push((
            type_,
            TypeScan::Listed(objs.into_iter().flatten().collect()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_bucket_attribute() {
        assert_eq!(
            bucket_key(&json!({"id": "b1", "bucket": "b1"})),
            Some("b1".into())
        );
        assert_eq!(bucket_key(&json!({"id": "b2"})), Some("b2".into()));
        assert_eq!(bucket_key(&json!({"bucket": ""})), None);
    }

    #[test]
    fn mappings_use_terraform_attribute_paths() {
        let tags = BTreeMap::from([("team".to_owned(), "ml".to_owned())]);
        assert_eq!(
            bucket_attrs("eu-west-1", &tags),
            vec![
                ("region".to_owned(), json!("eu-west-1")),
                ("tags".to_owned(), json!({"team": "ml"}))
            ]
        );
        assert_eq!(
            versioning_attrs(Versioning::Suspended),
            vec![(
                "versioning_configuration.0.status".to_owned(),
                json!("Suspended")
            )]
        );
        let rules = [LifecycleRule {
            id: "expire".into(),
            status: "Enabled".into(),
            expiration_days: Some(30),
            noncurrent_expiration_days: None,
            prefix: None,
        }];
        assert_eq!(
            lifecycle_attrs(&rules)[0].1,
            json!([{"id": "expire", "status": "Enabled", "expiration": [{"days": 30}]}])
        );
        let e = Encryption {
            sse_algorithm: "aws:kms".into(),
            kms_master_key_id: None,
            bucket_key_enabled: Some(true),
        };
        assert_eq!(
            encryption_attrs(&e)[0].1,
            json!([{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms"}], "bucket_key_enabled": true}])
        );
        let p = PublicAccessBlock {
            block_public_acls: true,
            block_public_policy: true,
            ignore_public_acls: false,
            restrict_public_buckets: true,
        };
        assert_eq!(public_access_block_attrs(&p).len(), 4);
    }
}
