//! Secrets Manager adapter: ListSecrets (100 a page, the API's most;
//! secrets scheduled for deletion left out), DescribeSecret (the naive
//! baseline) and ListSecretVersionIds. Secret values are never read.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::types::Tag;

use super::{AwsError, AwsErrorKind};

/// A secret's metadata, as far as drift compares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Secret {
    pub arn: String,
    pub name: String,
    pub description: Option<String>,
    pub kms_key_id: Option<String>,
    /// Scheduled for deletion (`DeletedDate` set).
    pub deleted: bool,
    pub tags: BTreeMap<String, String>,
}

fn tags(t: &[Tag]) -> BTreeMap<String, String> {
    super::user_tags(t.iter().map(|t| (t.key(), t.value())))
}

/// The Secrets Manager client.
#[derive(Clone, Debug)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub(super) fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsManager { client }
    }

    /// Every secret of the region not scheduled for deletion (ListSecrets).
    pub async fn secrets(&self) -> Result<Vec<Secret>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_secrets()
                .max_results(100)
                .include_planned_deletion(false)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListSecrets", "the region's secrets", e))?;
            out.extend(page.secret_list().iter().filter_map(|s| {
                Some(Secret {
                    arn: s.arn()?.to_owned(),
                    name: s.name().unwrap_or_default().to_owned(),
                    description: s.description().map(str::to_owned),
                    kms_key_id: s.kms_key_id().map(str::to_owned),
                    deleted: s.deleted_date().is_some(),
                    tags: tags(s.tags()),
                })
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// One secret (DescribeSecret); `None` when it does not exist.
    pub async fn secret(&self, id: &str) -> Result<Option<Secret>, AwsError> {
        match self.client.describe_secret().secret_id(id).send().await {
            Ok(s) => Ok(s.arn().map(|arn| Secret {
                arn: arn.to_owned(),
                name: s.name().unwrap_or_default().to_owned(),
                description: s.description().map(str::to_owned),
                kms_key_id: s.kms_key_id().map(str::to_owned),
                deleted: s.deleted_date().is_some(),
                tags: tags(s.tags()),
            })),
            Err(e) => {
                let e = AwsError::from_sdk("DescribeSecret", format!("secret {id}"), e);
                if e.kind == AwsErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// The version IDs of a secret, unlabelled (deprecated) ones included
    /// (ListSecretVersionIds); `None` when the secret does not exist.
    pub async fn version_ids(&self, id: &str) -> Result<Option<Vec<String>>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let r = self
                .client
                .list_secret_version_ids()
                .secret_id(id)
                .include_deprecated(true)
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await;
            let page = match r {
                Ok(p) => p,
                Err(e) => {
                    let e = AwsError::from_sdk("ListSecretVersionIds", format!("secret {id}"), e);
                    return if e.kind == AwsErrorKind::NotFound {
                        Ok(None)
                    } else {
                        Err(e)
                    };
                }
            };
            out.extend(
                page.versions()
                    .iter()
                    .filter_map(|v| v.version_id().map(str::to_owned)),
            );
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(Some(out))
    }
}
