//! KMS: keys and aliases.
//!
//! ListKeys says which keys exist (IDs only); the keys the state manages are
//! then read one by one (DescribeKey, GetKeyRotationStatus, GetKeyPolicy,
//! ListResourceTags: keys are few). ListAliases serves `aws_kms_alias` and
//! names the unmanaged keys. A key pending deletion is gone. Unmanaged keys
//! are customer-managed keys no state describes: candidates whose aliases
//! are all AWS's own (`alias/aws/...`) or whose name is out of scope are
//! dropped before any DescribeKey; tags are read only when the scope
//! filters on tags.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{attr_or_id, attr_str, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::kms::{Alias, KeyInfo, Kms, Rotation};
use crate::aws::{Aws, AwsError};

pub const KEY: &str = "aws_kms_key";
pub const ALIAS: &str = "aws_kms_alias";

fn key_key(a: &Value) -> Option<String> {
    attr_or_id(a, "key_id")
}
fn alias_key(a: &Value) -> Option<String> {
    attr_or_id(a, "name")
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(KEY, key_key)
        .compares("description, key_usage, key_spec, is_enabled, multi_region, rotation (and period), policy (document), tags")
        .unmanaged()
        .documents(&["policy"]),
    TypeSpec::new(ALIAS, alias_key).compares("target_key_id").prepare(prepare_alias),
];

super::family!("KMS");

/// `arn:aws:kms:r:a:key/ID` -> `ID`; a bare key ID unchanged.
fn key_id_of(s: &str) -> &str {
    match s.rsplit_once(":key/") {
        Some((_, id)) if s.starts_with("arn:") => id,
        _ => s,
    }
}

/// An alias's `target_key_id` may be written as the key's ARN; the API
/// names the key by ID.
fn prepare_alias(attrs: &mut Value) {
    if let Some(t) = attr_str(attrs, "target_key_id") {
        let id = key_id_of(t).to_owned();
        if let Some(m) = attrs.as_object_mut() {
            m.insert("target_key_id".into(), json!(id));
        }
    }
}

/// What drift reads of a managed key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyDetail {
    pub info: KeyInfo,
    pub rotation: Option<Rotation>,
    pub policy: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// `aws_kms_key`: description, usage, spec, enabled, rotation, policy, tags.
pub fn key_attrs(k: &KeyDetail) -> Vec<(String, Value)> {
    let i = &k.info;
    let mut attrs = vec![
        ("description".into(), json!(i.description)),
        ("key_usage".into(), json!(i.key_usage)),
        ("customer_master_key_spec".into(), json!(i.key_spec)),
        ("key_spec".into(), json!(i.key_spec)),
        ("is_enabled".into(), json!(i.enabled)),
        ("policy".into(), json!(k.policy)),
        ("tags".into(), json!(k.tags)),
    ];
    if let Some(m) = i.multi_region {
        attrs.push(("multi_region".into(), json!(m)));
    }
    if let Some(r) = &k.rotation {
        attrs.push(("enable_key_rotation".into(), json!(r.enabled)));
        if let Some(p) = r.period_in_days.filter(|_| r.enabled) {
            attrs.push(("rotation_period_in_days".into(), json!(p)));
        }
    }
    attrs
}

/// The name an unmanaged key is shown and filtered by: its first own
/// alias, else its ID; `None` when its only aliases are AWS's (an
/// AWS-managed key).
pub fn key_name(id: &str, aliases: &[&str]) -> Option<String> {
    let mut own: Vec<&str> = aliases
        .iter()
        .copied()
        .filter(|a| !a.starts_with("alias/aws/"))
        .collect();
    if own.is_empty() && !aliases.is_empty() {
        return None;
    }
    own.sort_unstable();
    Some(
        own.first()
            .map_or_else(|| id.to_owned(), |a| (*a).to_owned()),
    )
}

async fn detail(kms: &Kms, id: String) -> Result<Option<KeyDetail>, AwsError> {
    let Some(info) = kms.describe_key(&id).await? else {
        return Ok(None);
    };
    if info.pending_deletion() {
        return Ok(None);
    }
    let (rotation, policy, tags) = futures::future::try_join3(
        kms.rotation(&info.id),
        kms.policy(&info.id),
        kms.tags(&info.id),
    )
    .await?;
    Ok(Some(KeyDetail {
        info,
        rotation,
        policy,
        tags,
    }))
}

/// The keys: `listed` is ListKeys' answer (`None`: naive, each managed
/// key described by ID).
async fn keys(
    kms: &Kms,
    req: &ScanRequest,
    listed: Option<BTreeSet<String>>,
    aliases: Option<&[Alias]>,
) -> Result<Vec<LiveObject>, AwsError> {
    let managed = req.managed(KEY);
    let present: Vec<String> = match &listed {
        Some(l) => managed
            .iter()
            .filter(|id| l.contains(*id))
            .cloned()
            .collect(),
        None => managed.iter().cloned().collect(),
    };
    let mut out: Vec<LiveObject> = each(req, present, |id| detail(kms, id))
        .await?
        .into_iter()
        .flatten()
        .map(|d| LiveObject {
            attrs: key_attrs(&d),
            tags: Some(d.tags.clone()),
            ..LiveObject::named(&d.info.id, &d.info.id)
        })
        .collect();
    if !req.unmanaged {
        return Ok(out);
    }
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in aliases.unwrap_or_default() {
        if let Some(k) = &a.target_key_id {
            by_key.entry(k.as_str()).or_default().push(a.name.as_str());
        }
    }
    let candidates: Vec<(String, String)> = listed
        .iter()
        .flatten()
        .filter(|id| !managed.contains(*id))
        .filter_map(|id| {
            let name = key_name(id, by_key.get(id.as_str()).map_or(&[], Vec::as_slice))?;
            req.scope.name_matches(&name).then(|| (id.clone(), name))
        })
        .collect();
    let with_tags = !req.scope.tags.is_empty();
    let unmanaged = each(req, candidates, |(id, name)| async move {
        let Some(info) = kms.describe_key(&id).await? else {
            return Ok(None);
        };
        if info.pending_deletion() || info.manager.as_deref() == Some("AWS") {
            return Ok(None);
        }
        let tags = if with_tags {
            Some(kms.tags(&id).await?)
        } else {
            None
        };
        Ok(Some(LiveObject {
            tags,
            ..LiveObject::named(id, name)
        }))
    })
    .await?;
    out.extend(unmanaged.into_iter().flatten());
    Ok(out)
}

/// Enumerates the wanted KMS types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let kms = aws.kms();
    let want_aliases = req.wants(ALIAS) || (req.wants(KEY) && req.unmanaged);
    // Naive without unmanaged: each managed key described by ID, no list.
    let want_key_list = req.wants(KEY) && (!req.naive || req.unmanaged);
    let aliases = async {
        if want_aliases {
            Some(kms.aliases().await)
        } else {
            None
        }
    };
    let key_list = async {
        if want_key_list {
            Some(kms.key_ids().await)
        } else {
            None
        }
    };
    // Both lists at once, but one call at a time for the naive baseline.
    let (aliases, key_list) = if req.naive {
        (aliases.await, key_list.await)
    } else {
        futures::future::join(aliases, key_list).await
    };
    let mut out = Part::new();
    if req.wants(KEY) {
        // Without the aliases, unmanaged keys are named by ID (and the
        // AWS-managed ones dropped by DescribeKey).
        let ok_aliases = aliases.as_ref().and_then(|a| a.as_ref().ok());
        let result = match key_list {
            Some(Err(e)) => Err(e),
            Some(Ok(ids)) => {
                keys(
                    &kms,
                    req,
                    Some(ids.into_iter().collect()),
                    ok_aliases.map(Vec::as_slice),
                )
                .await
            }
            None => keys(&kms, req, None, ok_aliases.map(Vec::as_slice)).await,
        };
        let scan = match result {
            Ok(objs) => TypeScan::Listed(objs),
            Err(e) => TypeScan::Failed(e),
        };
        out.push((KEY, scan));
    }
    if req.wants(ALIAS) {
        let managed = req.managed(ALIAS);
        let scan = match aliases {
            Some(Ok(all)) => TypeScan::Listed(
                all.iter()
                    .filter(|a| managed.contains(&a.name))
                    .map(alias_object)
                    .collect(),
            ),
            Some(Err(e)) => TypeScan::Failed(e),
            None => TypeScan::Listed(Vec::new()),
        };
        out.push((ALIAS, scan));
    }
    out
}

fn alias_object(a: &Alias) -> LiveObject {
    LiveObject {
        attrs: vec![("target_key_id".into(), json!(a.target_key_id))],
        ..LiveObject::named(&a.name, &a.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_key_id_and_the_alias_name() {
        let cases = [
            (
                key_key as fn(&Value) -> Option<String>,
                json!({"key_id": "k-1", "id": "k-1"}),
                Some("k-1"),
            ),
            (key_key, json!({"id": "k-2"}), Some("k-2")),
            (key_key, json!({"key_id": ""}), None),
            (
                alias_key,
                json!({"name": "alias/eks", "id": "alias/eks"}),
                Some("alias/eks"),
            ),
            (alias_key, json!({"id": "alias/x"}), Some("alias/x")),
        ];
        for (f, attrs, want) in cases {
            assert_eq!(f(&attrs).as_deref(), want, "{attrs}");
        }
    }

    #[test]
    fn alias_targets_given_as_arns_compare_as_key_ids() {
        let mut a = json!({"name": "alias/x", "target_key_id": "arn:aws:kms:eu-west-1:123456789012:key/abc-1"});
        prepare_alias(&mut a);
        assert_eq!(a["target_key_id"], json!("abc-1"));
        let mut b = json!({"target_key_id": "abc-2"});
        prepare_alias(&mut b);
        assert_eq!(b["target_key_id"], json!("abc-2"));
        let o = alias_object(&Alias {
            name: "alias/x".into(),
            target_key_id: Some("abc-1".into()),
        });
        assert_eq!(o.id, "alias/x");
        assert_eq!(o.attrs, vec![("target_key_id".to_owned(), json!("abc-1"))]);
    }

    #[test]
    fn key_attributes_map_describe_rotation_policy_and_tags() {
        let d = KeyDetail {
            info: KeyInfo {
                id: "k-1".into(),
                description: Some("eks secrets".into()),
                key_usage: Some("ENCRYPT_DECRYPT".into()),
                key_spec: Some("SYMMETRIC_DEFAULT".into()),
                enabled: true,
                state: Some("Enabled".into()),
                multi_region: Some(false),
                ..KeyInfo::default()
            },
            rotation: Some(Rotation {
                enabled: true,
                period_in_days: Some(365),
            }),
            policy: Some("{\"Version\":\"2012-10-17\"}".into()),
            tags: BTreeMap::from([("team".to_owned(), "platform".to_owned())]),
        };
        let attrs: BTreeMap<String, Value> = key_attrs(&d).into_iter().collect();
        assert_eq!(attrs["description"], json!("eks secrets"));
        assert_eq!(attrs["key_usage"], json!("ENCRYPT_DECRYPT"));
        assert_eq!(
            attrs["customer_master_key_spec"],
            json!("SYMMETRIC_DEFAULT")
        );
        assert_eq!(attrs["key_spec"], json!("SYMMETRIC_DEFAULT"));
        assert_eq!(attrs["is_enabled"], json!(true));
        assert_eq!(attrs["enable_key_rotation"], json!(true));
        assert_eq!(attrs["rotation_period_in_days"], json!(365));
        assert_eq!(attrs["multi_region"], json!(false));
        assert_eq!(attrs["policy"], json!("{\"Version\":\"2012-10-17\"}"));
        assert_eq!(attrs["tags"], json!({"team": "platform"}));
        // A key that cannot rotate: rotation not compared.
        let no_rotation = KeyDetail {
            rotation: None,
            ..d
        };
        assert!(!key_attrs(&no_rotation)
            .iter()
            .any(|(k, _)| k == "enable_key_rotation"));
    }

    #[test]
    fn pending_deletion_is_gone() {
        for (state, gone) in [
            ("PendingDeletion", true),
            ("PendingReplicaDeletion", true),
            ("Enabled", false),
            ("Disabled", false),
        ] {
            let k = KeyInfo {
                state: Some(state.into()),
                ..KeyInfo::default()
            };
            assert_eq!(k.pending_deletion(), gone, "{state}");
        }
    }

    #[test]
    fn unmanaged_keys_are_named_by_their_own_alias() {
        assert_eq!(key_name("k-1", &[]).as_deref(), Some("k-1"));
        assert_eq!(
            key_name("k-1", &["alias/z", "alias/app"]).as_deref(),
            Some("alias/app")
        );
        assert_eq!(key_name("k-1", &["alias/aws/ebs"]), None);
        assert_eq!(
            key_name("k-1", &["alias/aws/ebs", "alias/mine"]).as_deref(),
            Some("alias/mine")
        );
    }
}
