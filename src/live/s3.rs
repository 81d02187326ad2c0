//! S3: buckets (one ListBuckets call shared by every S3 type, plus one
//! region-filtered listing where the listing omits regions; tags from the
//! scan's shared tag index), and the per-bucket configuration resources,
//! read only for buckets the state has.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{attr_or_id, attr_str, each, put_all, LiveObject, ScanRequest, TypeScan, TypeSpec};
use crate::aws::s3::{
    BucketAcl, CorsRule, Encryption, LifecycleRule, Logging, ObjectHead, PublicAccessBlock, Website,
};
use crate::aws::{Aws, AwsError};
use crate::store::Versioning;

pub const BUCKET: &str = "aws_s3_bucket";
pub const VERSIONING: &str = "aws_s3_bucket_versioning";
pub const LIFECYCLE: &str = "aws_s3_bucket_lifecycle_configuration";
pub const ENCRYPTION: &str = "aws_s3_bucket_server_side_encryption_configuration";
pub const PUBLIC_ACCESS_BLOCK: &str = "aws_s3_bucket_public_access_block";
pub const POLICY: &str = "aws_s3_bucket_policy";
pub const ACL: &str = "aws_s3_bucket_acl";
pub const OWNERSHIP: &str = "aws_s3_bucket_ownership_controls";
pub const CORS: &str = "aws_s3_bucket_cors_configuration";
pub const OBJECT: &str = "aws_s3_object";
pub const LOGGING: &str = "aws_s3_bucket_logging";
pub const WEBSITE: &str = "aws_s3_bucket_website_configuration";

/// The per-bucket configuration types: one Get call per managed bucket.
const CONFIGURATIONS: [&str; 10] = [
    VERSIONING,
    LIFECYCLE,
    ENCRYPTION,
    PUBLIC_ACCESS_BLOCK,
    POLICY,
    ACL,
    OWNERSHIP,
    CORS,
    LOGGING,
    WEBSITE,
];

fn bucket_key(a: &Value) -> Option<String> {
    attr_or_id(a, "bucket")
}

/// `aws_s3_bucket_acl`'s ID is `bucket`, `bucket,owner`, `bucket,acl` or
/// `bucket,owner,acl`: the bucket.
fn acl_key(a: &Value) -> Option<String> {
    attr_str(a, "bucket")
        .or_else(|| attr_str(a, "id").and_then(|id| id.split(',').next()))
        .filter(|b| !b.is_empty())
        .map(str::to_owned)
}

/// `bucket/key` (the provider's ID is the key alone, which does not name
/// the bucket).
fn object_key(a: &Value) -> Option<String> {
    Some(format!(
        "{}/{}",
        attr_str(a, "bucket")?,
        attr_str(a, "key")?
    ))
}

/// One ACL grant as compared: `type:grantee:permission` (display names
/// are the service's).
pub fn grant_string(type_: &str, grantee: &str, permission: &str) -> String {
    format!("{type_}:{grantee}:{permission}")
}

/// The state's ACL grants as [`grant_string`]s.
fn prepare_acl(a: &mut Value) {
    let Some(Value::Array(grants)) = a.pointer_mut("/access_control_policy/0/grant") else {
        return;
    };
    let strings: Vec<Value> = grants
        .iter()
        .map(|g| {
            let grantee = g.pointer("/grantee/0").unwrap_or(&Value::Null);
            let field = |k: &str| {
                grantee
                    .get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            };
            let who = field("id")
                .or_else(|| field("uri"))
                .or_else(|| field("email_address"))
                .unwrap_or_default();
            let permission = g
                .get("permission")
                .and_then(Value::as_str)
                .unwrap_or_default();
            json!(grant_string(
                field("type").unwrap_or_default(),
                who,
                permission
            ))
        })
        .collect();
    *grants = strings;
}

/// A CORS rule in the compared form: its lists sorted, no empty `id`, a
/// missing `max_age_seconds` as 0 (as the provider stores it).
fn cors_rule_value(id: Option<&str>, lists: [(&str, Vec<String>); 4], max_age: i64) -> Value {
    let mut o = serde_json::Map::new();
    if let Some(id) = id.filter(|i| !i.is_empty()) {
        o.insert("id".into(), json!(id));
    }
    for (k, mut v) in lists {
        v.sort();
        o.insert(k.into(), json!(v));
    }
    o.insert("max_age_seconds".into(), json!(max_age));
    Value::Object(o)
}

const CORS_LISTS: [&str; 4] = [
    "allowed_headers",
    "allowed_methods",
    "allowed_origins",
    "expose_headers",
];

/// The state's CORS rules in the compared form.
fn prepare_cors(a: &mut Value) {
    let Some(Value::Array(rules)) = a.get_mut("cors_rule") else {
        return;
    };
    for rule in rules.iter_mut() {
        let list = |k: &str| -> Vec<String> {
            rule.get(k)
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let lists = CORS_LISTS.map(|k| (k, list(k)));
        let max_age = rule
            .get("max_age_seconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let id = rule.get("id").and_then(Value::as_str).map(str::to_owned);
        *rule = cors_rule_value(id.as_deref(), lists, max_age);
    }
}

/// An object's `etag` is compared only when the state holds one and the
/// object is not encrypted with KMS (whose ETags are not the content's MD5,
/// while a configured `etag` is).
fn prepare_object(a: &mut Value) {
    if let Value::Object(m) = a {
        let kms = m
            .get("server_side_encryption")
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with("aws:kms"));
        if kms
            || m.get("etag")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            m.remove("etag");
        }
    }
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(BUCKET, bucket_key)
        .compares("region, tags")
        .unmanaged(),
    TypeSpec::new(VERSIONING, bucket_key).compares("versioning_configuration status"),
    TypeSpec::new(LIFECYCLE, bucket_key).compares("rule (id, status, expiration days)"),
    TypeSpec::new(ENCRYPTION, bucket_key)
        .compares("rule (sse_algorithm, kms_master_key_id, bucket_key_enabled)"),
    TypeSpec::new(PUBLIC_ACCESS_BLOCK, bucket_key).compares(
        "block_public_acls, block_public_policy, ignore_public_acls, restrict_public_buckets",
    ),
    TypeSpec::new(POLICY, bucket_key)
        .compares("policy (as a document)")
        .documents(&["policy"]),
    TypeSpec::new(ACL, acl_key)
        .compares("access_control_policy grants (not the canned acl)")
        .prepare(prepare_acl),
    TypeSpec::new(OWNERSHIP, bucket_key).compares("rule object_ownership"),
    TypeSpec::new(CORS, bucket_key)
        .compares("cors_rule (lists as sets)")
        .prepare(prepare_cors),
    TypeSpec::new(OBJECT, object_key)
        .compares("content_type, etag (when a plain MD5 and not KMS-encrypted)")
        .prepare(prepare_object),
    TypeSpec::new(LOGGING, bucket_key).compares("target_bucket, target_prefix"),
    TypeSpec::new(WEBSITE, bucket_key)
        .compares("index_document, error_document, redirect_all_requests_to (not routing rules)"),
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

/// `aws_s3_bucket_policy`: the document.
pub fn policy_attrs(policy: &str) -> Vec<(String, Value)> {
    vec![("policy".into(), json!(policy))]
}

/// `aws_s3_bucket_acl`: the grants, as [`grant_string`]s (the canned `acl`
/// is not readable back; the owner is the account's).
pub fn acl_attrs(acl: &BucketAcl) -> Vec<(String, Value)> {
    let grants: Vec<String> = acl
        .grants
        .iter()
        .map(|g| {
            let who =
                g.id.as_deref()
                    .or(g.uri.as_deref())
                    .or(g.email_address.as_deref())
                    .unwrap_or_default();
            grant_string(&g.grantee_type, who, &g.permission)
        })
        .collect();
    vec![("access_control_policy.0.grant".into(), json!(grants))]
}

/// `aws_s3_bucket_ownership_controls`: the object ownership rule.
pub fn ownership_attrs(object_ownership: &str) -> Vec<(String, Value)> {
    vec![("rule.0.object_ownership".into(), json!(object_ownership))]
}

/// `aws_s3_bucket_cors_configuration`: the rules (lists as sets).
pub fn cors_attrs(rules: &[CorsRule]) -> Vec<(String, Value)> {
    let rules: Vec<Value> = rules
        .iter()
        .map(|r| {
            cors_rule_value(
                r.id.as_deref(),
                [
                    ("allowed_headers", r.allowed_headers.clone()),
                    ("allowed_methods", r.allowed_methods.clone()),
                    ("allowed_origins", r.allowed_origins.clone()),
                    ("expose_headers", r.expose_headers.clone()),
                ],
                r.max_age_seconds.map_or(0, i64::from),
            )
        })
        .collect();
    vec![("cors_rule".into(), Value::Array(rules))]
}

/// `aws_s3_bucket_logging`: target bucket and prefix.
pub fn logging_attrs(l: &Logging) -> Vec<(String, Value)> {
    vec![
        ("target_bucket".into(), json!(l.target_bucket)),
        ("target_prefix".into(), json!(l.target_prefix)),
    ]
}

/// `aws_s3_bucket_website_configuration`: index and error documents, or
/// the redirect of every request.
pub fn website_attrs(w: &Website) -> Vec<(String, Value)> {
    let block = |v: &Option<String>, k: &str| -> Value {
        Value::Array(v.iter().map(|x| json!({ k: x })).collect())
    };
    let redirect: Vec<Value> = w
        .redirect_all_to
        .iter()
        .map(|(host, protocol)| json!({"host_name": host, "protocol": protocol.clone().unwrap_or_default()}))
        .collect();
    vec![
        ("index_document".into(), block(&w.index_suffix, "suffix")),
        ("error_document".into(), block(&w.error_key, "key")),
        ("redirect_all_requests_to".into(), Value::Array(redirect)),
    ]
}

/// `aws_s3_object`: content type, and the ETag when it is a plain MD5 (a
/// multipart upload's has a `-N` suffix the state may not share).
pub fn object_attrs(head: &ObjectHead) -> Vec<(String, Value)> {
    let mut attrs = vec![("content_type".into(), json!(head.content_type))];
    // An ETag is an md5 only for a single-part upload without SSE-KMS or
    // SSE-C, as HeadObject's SSE headers say.
    let not_md5 = head.sse_customer
        || head
            .sse
            .as_deref()
            .is_some_and(|s| s.starts_with("aws:kms"));
    if let Some(etag) = head
        .etag
        .as_deref()
        .filter(|e| e.len() == 32 && e.bytes().all(|b| b.is_ascii_hexdigit()))
        .filter(|_| !not_md5)
    {
        attrs.push(("etag".into(), json!(etag)));
    }
    attrs
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
        let ids = req.managed(t.name).into_iter();
        if t.name == OBJECT {
            wanted_buckets.extend(ids.filter_map(|id| Some(id.split_once('/')?.0.to_owned())));
        } else {
            wanted_buckets.extend(ids);
        }
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

    // One Get call per managed bucket and type; a failure fails that type only.
    for type_ in CONFIGURATIONS {
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
                    POLICY => b.policy().await?.map(|p| policy_attrs(&p)),
                    ACL => b.acl().await?.map(|a| acl_attrs(&a)),
                    OWNERSHIP => b.ownership().await?.map(|o| ownership_attrs(&o)),
                    CORS => b.cors().await?.map(|c| cors_attrs(&c)),
                    LOGGING => b.logging().await?.map(|l| logging_attrs(&l)),
                    WEBSITE => b.website().await?.map(|w| website_attrs(&w)),
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
        .await;
        out.push((
            type_,
            match objs {
                Ok(objs) => TypeScan::Listed(objs.into_iter().flatten().collect()),
                Err(e) => TypeScan::Failed(e),
            },
        ));
    }

    // Objects: HeadObject per managed object in an existing bucket.
    if req.wants(OBJECT) {
        let todo: Vec<(String, String)> = req
            .managed(OBJECT)
            .into_iter()
            .filter_map(|id| {
                let (bucket, key) = id.split_once('/')?;
                existing
                    .contains_key(bucket)
                    .then(|| (bucket.to_owned(), key.to_owned()))
            })
            .collect();
        let objs = each(req, todo, |(bucket, key)| {
            let b = account.bucket(&bucket);
            async move {
                Ok(b.head(&key).await?.map(|head| LiveObject {
                    attrs: object_attrs(&head),
                    ..LiveObject::named(format!("{bucket}/{key}"), &key)
                }))
            }
        })
        .await;
        out.push((
            OBJECT,
            match objs {
                Ok(objs) => TypeScan::Listed(objs.into_iter().flatten().collect()),
                Err(e) => TypeScan::Failed(e),
            },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key function, a state instance's attributes and the identifier expected.
    type KeyCase = (fn(&Value) -> Option<String>, Value, Option<&'static str>);

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

    #[test]
    fn configuration_and_object_keys() {
        let cases: [KeyCase; 7] = [
            (
                acl_key,
                json!({"id": "b1,private", "bucket": "b1"}),
                Some("b1"),
            ),
            (
                acl_key,
                json!({"id": "b2,123456789012,private"}),
                Some("b2"),
            ),
            (acl_key, json!({"id": "b3"}), Some("b3")),
            (acl_key, json!({}), None),
            (
                object_key,
                json!({"id": "a/b.txt", "bucket": "b1", "key": "a/b.txt"}),
                Some("b1/a/b.txt"),
            ),
            (object_key, json!({"id": "k"}), None),
            (bucket_key, json!({"id": "b4", "bucket": "b4"}), Some("b4")),
        ];
        for (key, attrs, want) in cases {
            assert_eq!(key(&attrs).as_deref(), want, "{attrs}");
        }
    }

    #[test]
    fn acl_grants_compare_as_strings() {
        let mut a = json!({"access_control_policy": [{
            "grant": [
                {"grantee": [{"id": "abc", "type": "CanonicalUser", "display_name": "me", "uri": ""}], "permission": "FULL_CONTROL"},
                {"grantee": [{"id": "", "type": "Group", "uri": "http://acs.amazonaws.com/groups/s3/LogDelivery"}], "permission": "WRITE"}
            ],
            "owner": [{"id": "abc", "display_name": "me"}]
        }]});
        prepare_acl(&mut a);
        assert_eq!(
            a["access_control_policy"][0]["grant"],
            json!([
                "CanonicalUser:abc:FULL_CONTROL",
                "Group:http://acs.amazonaws.com/groups/s3/LogDelivery:WRITE"
            ])
        );
        let acl = BucketAcl {
            owner_id: Some("abc".into()),
            grants: vec![crate::aws::s3::AclGrant {
                grantee_type: "CanonicalUser".into(),
                id: Some("abc".into()),
                permission: "FULL_CONTROL".into(),
                ..Default::default()
            }],
        };
        assert_eq!(
            acl_attrs(&acl),
            vec![(
                "access_control_policy.0.grant".to_owned(),
                json!(["CanonicalUser:abc:FULL_CONTROL"])
            )]
        );
    }

    #[test]
    fn cors_rules_compare_in_one_form() {
        let mut a = json!({"cors_rule": [{
            "allowed_headers": [], "allowed_methods": ["PUT", "GET"],
            "allowed_origins": ["https://b", "https://a"], "expose_headers": ["ETag"],
            "id": "", "max_age_seconds": 0
        }]});
        prepare_cors(&mut a);
        let live = cors_attrs(&[CorsRule {
            id: None,
            allowed_headers: vec![],
            allowed_methods: vec!["GET".into(), "PUT".into()],
            allowed_origins: vec!["https://a".into(), "https://b".into()],
            expose_headers: vec!["ETag".into()],
            max_age_seconds: None,
        }]);
        assert_eq!(live[0].0, "cors_rule");
        assert_eq!(a["cors_rule"], live[0].1);
        let with_id = cors_attrs(&[CorsRule {
            id: Some("r1".into()),
            max_age_seconds: Some(3000),
            ..CorsRule::default()
        }]);
        assert_eq!(with_id[0].1[0]["id"], "r1");
        assert_eq!(with_id[0].1[0]["max_age_seconds"], 3000);
    }

    #[test]
    fn policy_ownership_and_object_mappings() {
        assert_eq!(
            policy_attrs("{\"Version\":\"2012-10-17\"}"),
            vec![("policy".to_owned(), json!("{\"Version\":\"2012-10-17\"}"))]
        );
        assert_eq!(
            ownership_attrs("BucketOwnerEnforced"),
            vec![(
                "rule.0.object_ownership".to_owned(),
                json!("BucketOwnerEnforced")
            )]
        );
        let head = ObjectHead {
            etag: Some("d41d8cd98f00b204e9800998ecf8427e".into()),
            content_type: Some("text/plain".into()),
            size: Some(0),
            ..ObjectHead::default()
        };
        let attrs: BTreeMap<String, Value> = object_attrs(&head).into_iter().collect();
        assert_eq!(attrs["content_type"], "text/plain");
        assert_eq!(attrs["etag"], "d41d8cd98f00b204e9800998ecf8427e");
        let multipart = ObjectHead {
            etag: Some("d41d8cd98f00b204e9800998ecf8427e-2".into()),
            ..head.clone()
        };
        assert!(!object_attrs(&multipart).iter().any(|(k, _)| k == "etag"));
        let kms = ObjectHead {
            sse: Some("aws:kms".into()),
            ..head.clone()
        };
        assert!(!object_attrs(&kms).iter().any(|(k, _)| k == "etag"));
        let sse_c = ObjectHead {
            sse_customer: true,
            ..head.clone()
        };
        assert!(!object_attrs(&sse_c).iter().any(|(k, _)| k == "etag"));
        let mut state = json!({"etag": "", "content_type": "text/plain"});
        prepare_object(&mut state);
        assert!(state.get("etag").is_none());
        let mut state = json!({"etag": "abc"});
        prepare_object(&mut state);
        assert_eq!(state["etag"], "abc");
        let mut state = json!({"etag": "abc", "server_side_encryption": "aws:kms"});
        prepare_object(&mut state);
        assert!(state.get("etag").is_none());
    }

    #[test]
    fn logging_and_website_mappings() {
        let l = Logging {
            target_bucket: "logs".into(),
            target_prefix: "s3/data/".into(),
        };
        assert_eq!(
            logging_attrs(&l),
            vec![
                ("target_bucket".to_owned(), json!("logs")),
                ("target_prefix".to_owned(), json!("s3/data/"))
            ]
        );
        let w = Website {
            index_suffix: Some("index.html".into()),
            error_key: Some("404.html".into()),
            redirect_all_to: None,
        };
        let attrs: BTreeMap<String, Value> = website_attrs(&w).into_iter().collect();
        assert_eq!(attrs["index_document"], json!([{"suffix": "index.html"}]));
        assert_eq!(attrs["error_document"], json!([{"key": "404.html"}]));
        assert_eq!(attrs["redirect_all_requests_to"], json!([]));
        let r = Website {
            redirect_all_to: Some(("example.com".into(), Some("https".into()))),
            ..Website::default()
        };
        let attrs: BTreeMap<String, Value> = website_attrs(&r).into_iter().collect();
        assert_eq!(
            attrs["redirect_all_requests_to"],
            json!([{"host_name": "example.com", "protocol": "https"}])
        );
        assert_eq!(attrs["index_document"], json!([]));
    }
}
