//! KMS adapter: ListKeys and ListAliases (1,000 and 100 a page), and the
//! per-key reads drift needs for the keys a state manages: DescribeKey,
//! GetKeyRotationStatus, GetKeyPolicy and ListResourceTags.

use std::collections::BTreeMap;

use super::{AwsError, AwsErrorKind};

/// A key, as far as drift compares it (DescribeKey).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyInfo {
    pub id: String,
    pub arn: Option<String>,
    pub description: Option<String>,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, ...
    pub key_usage: Option<String>,
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, ...
    pub key_spec: Option<String>,
    pub enabled: bool,
    /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingReplicaDeletion`, ...
    pub state: Option<String>,
    /// `AWS` or `CUSTOMER`.
    pub manager: Option<String>,
    pub multi_region: Option<bool>,
}

impl KeyInfo {
    /// Scheduled for deletion: as good as gone.
    pub fn pending_deletion(&self) -> bool {
        matches!(
            self.state.as_deref(),
            Some("PendingDeletion" | "PendingReplicaDeletion")
        )
    }
}

/// Automatic rotation of a key (GetKeyRotationStatus).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rotation {
    pub enabled: bool,
    pub period_in_days: Option<i32>,
}

/// An alias (ListAliases).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Alias {
    /// `alias/name`.
    pub name: String,
    /// The key ID it points to; `None` for AWS-managed aliases not yet used.
    pub target_key_id: Option<String>,
}

/// The KMS client.
#[derive(Clone, Debug)]
pub struct Kms {
    client: aws_sdk_kms::Client,
}

fn key_what(id: &str) -> String {
    format!("KMS key {id}")
}

impl Kms {
    pub(super) fn new(client: aws_sdk_kms::Client) -> Self {
        Kms { client }
    }

    /// Every key ID of the region (ListKeys), pending deletion included.
    pub async fn key_ids(&self) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_keys()
                .limit(1000)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListKeys", "the region's KMS keys", e))?;
            out.extend(
                page.keys()
                    .iter()
                    .filter_map(|k| k.key_id().map(str::to_owned)),
            );
            match page.next_marker() {
                Some(m) if page.truncated() && !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Every alias of the region (ListAliases).
    pub async fn aliases(&self) -> Result<Vec<Alias>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_aliases()
                .limit(100)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListAliases", "the region's KMS aliases", e))?;
            out.extend(page.aliases().iter().filter_map(|a| {
                Some(Alias {
                    name: a.alias_name()?.to_owned(),
                    target_key_id: a.target_key_id().map(str::to_owned),
                })
            }));
            match page.next_marker() {
                Some(m) if page.truncated() && !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// One key (DescribeKey); `None` when it does not exist.
    pub async fn describe_key(&self, id: &str) -> Result<Option<KeyInfo>, AwsError> {
        let resp = match self.client.describe_key().key_id(id).send().await {
            Ok(r) => r,
            Err(e) => {
                let e = AwsError::from_sdk("DescribeKey", key_what(id), e);
                return if e.kind == AwsErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
        };
        Ok(resp.key_metadata().map(|m| KeyInfo {
            id: m.key_id().to_owned(),
            arn: m.arn().map(str::to_owned),
            description: m.description().map(str::to_owned),
            key_usage: m.key_usage().map(|u| u.as_str().to_owned()),
            key_spec: m.key_spec().map(|s| s.as_str().to_owned()),
            enabled: m.enabled(),
            state: m.key_state().map(|s| s.as_str().to_owned()),
            manager: m.key_manager().map(|s| s.as_str().to_owned()),
            multi_region: m.multi_region(),
        }))
    }

    /// A key's automatic rotation (GetKeyRotationStatus); `None` for keys
    /// that cannot rotate (asymmetric, HMAC, imported, custom key store) or
    /// cannot be asked now (disabled).
    pub async fn rotation(&self, id: &str) -> Result<Option<Rotation>, AwsError> {
        match self
            .client
            .get_key_rotation_status()
            .key_id(id)
            .send()
            .await
        {
            Ok(r) => Ok(Some(Rotation {
                enabled: r.key_rotation_enabled(),
                period_in_days: r.rotation_period_in_days(),
            })),
            Err(e) => {
                let e = AwsError::from_sdk("GetKeyRotationStatus", key_what(id), e);
                match e.code.as_deref() {
                    Some(
                        "UnsupportedOperationException"
                        | "KMSInvalidStateException"
                        | "DisabledException",
                    ) => Ok(None),
                    _ => Err(e),
                }
            }
        }
    }

    /// A key's `default` policy (GetKeyPolicy).
    pub async fn policy(&self, id: &str) -> Result<Option<String>, AwsError> {
        let r = self
            .client
            .get_key_policy()
            .key_id(id)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetKeyPolicy", key_what(id), e))?;
        Ok(r.policy().map(str::to_owned))
    }

    /// A key's tags (ListResourceTags), without `aws:` tags.
    pub async fn tags(&self, id: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let mut out = BTreeMap::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_resource_tags()
                .key_id(id)
                .limit(50)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListResourceTags", key_what(id), e))?;
            for t in page.tags() {
                if !t.tag_key().starts_with("aws:") {
                    out.insert(t.tag_key().to_owned(), t.tag_value().to_owned());
                }
            }
            match page.next_marker() {
                Some(m) if page.truncated() && !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }
}
