//! The backend's object settings: `encrypt`, `kms_key_id`, `sse_customer_key`
//! (or `AWS_SSE_CUSTOMER_KEY`), `acl` and `skip_s3_checksum`.
//!
//! [`EncryptionSettings`] is one layer as written (backend dir, `.tfbackend`,
//! environment file); [`resolve_encryption`] turns the merged layers into
//! the [`ObjectWrites`] every write of a state object or lock file sends, as
//! Terraform's S3 client does (`internal/backend/remote-state/s3/client.go`):
//!
//! * `encrypt = true` with `kms_key_id`: `x-amz-server-side-encryption:
//!   aws:kms` and the key id;
//! * `encrypt = true` with a customer key: the SSE-C headers (algorithm
//!   `AES256`, the key, its md5), also on every read;
//! * `encrypt = true` alone: `x-amz-server-side-encryption: AES256`;
//! * without `encrypt`, Terraform sends no encryption header, whatever
//!   `kms_key_id` or the customer key say (the bucket's default applies);
//! * `acl`: the canned ACL, when set;
//! * a SHA-256 checksum unless `skip_s3_checksum`;
//! * OpenTofu's `state_tags` / `lock_tags` (1.11+): `x-amz-tagging` on the
//!   state's writes / the lock file's.

use std::collections::BTreeMap;

use md5::{Digest as _, Md5};
use serde::Serialize;

/// The names of these settings, in the backend block and the environment
/// file's `backend` block alike.
pub const ENCRYPTION_KEYS: &[&str] = &[
    "encrypt",
    "kms_key_id",
    "sse_customer_key",
    "acl",
    "skip_s3_checksum",
];

/// One layer of the object settings, as written; unset fields are `None`.
/// Neither `Debug` nor `Serialize` shows the customer key.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct EncryptionSettings {
    pub encrypt: Option<bool>,
    pub kms_key_id: Option<String>,
    /// Base64 of a 256-bit key (SSE-C). Never printed.
    #[serde(skip)]
    pub sse_customer_key: Option<String>,
    pub acl: Option<String>,
    pub skip_s3_checksum: Option<bool>,
    /// OpenTofu's `state_tags`: object tags of every state write.
    pub state_tags: Option<BTreeMap<String, String>>,
    /// OpenTofu's `lock_tags`: object tags of the lock file.
    pub lock_tags: Option<BTreeMap<String, String>>,
}

/// OpenTofu's tag settings (backend blocks and `.tfbackend` files only).
pub const TAG_KEYS: &[&str] = &["state_tags", "lock_tags"];

impl std::fmt::Debug for EncryptionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptionSettings")
            .field("encrypt", &self.encrypt)
            .field("kms_key_id", &self.kms_key_id)
            .field(
                "sse_customer_key",
                &self.sse_customer_key.as_ref().map(|_| "(sensitive)"),
            )
            .field("acl", &self.acl)
            .field("skip_s3_checksum", &self.skip_s3_checksum)
            .field("state_tags", &self.state_tags)
            .field("lock_tags", &self.lock_tags)
            .finish()
    }
}

impl EncryptionSettings {
    /// Field-by-field merge: every field set in `higher` wins.
    pub fn overlay(self, higher: EncryptionSettings) -> EncryptionSettings {
        EncryptionSettings {
            encrypt: higher.encrypt.or(self.encrypt),
            kms_key_id: higher.kms_key_id.or(self.kms_key_id),
            sse_customer_key: higher.sse_customer_key.or(self.sse_customer_key),
            acl: higher.acl.or(self.acl),
            skip_s3_checksum: higher.skip_s3_checksum.or(self.skip_s3_checksum),
            state_tags: higher.state_tags.or(self.state_tags),
            lock_tags: higher.lock_tags.or(self.lock_tags),
        }
    }

    /// Names of the fields that are set.
    pub fn set_fields(&self) -> Vec<&'static str> {
        let set = [
            self.encrypt.is_some(),
            self.kms_key_id.is_some(),
            self.sse_customer_key.is_some(),
            self.acl.is_some(),
            self.skip_s3_checksum.is_some(),
        ];
        let tags = [self.state_tags.is_some(), self.lock_tags.is_some()];
        ENCRYPTION_KEYS
            .iter()
            .chain(TAG_KEYS)
            .zip(set.into_iter().chain(tags))
            .filter_map(|(k, s)| s.then_some(*k))
            .collect()
    }
}

/// Server-side encryption of the objects written (and, for SSE-C, read).
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Sse {
    /// No header: the bucket's default encryption applies.
    #[default]
    BucketDefault,
    /// `AES256` (SSE-S3).
    S3,
    /// `aws:kms` with this key id (ARN, alias or id).
    Kms { key_id: String },
    /// SSE-C: the customer key, base64, and the base64 md5 of the raw key.
    Customer { key: String, key_md5: String },
}

impl std::fmt::Debug for Sse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sse::BucketDefault => f.write_str("BucketDefault"),
            Sse::S3 => f.write_str("S3"),
            Sse::Kms { key_id } => write!(f, "Kms({key_id})"),
            // The key is a secret: only its md5 is shown.
            Sse::Customer { key_md5, .. } => write!(f, "Customer(md5 {key_md5})"),
        }
    }
}

impl Serialize for Sse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.describe())
    }
}

impl Sse {
    /// `SSE-KMS with key K`, `SSE-C`, ... for messages (never the key).
    pub fn describe(&self) -> String {
        match self {
            Sse::BucketDefault => "the bucket's default encryption".into(),
            Sse::S3 => "SSE-S3 (AES256)".into(),
            Sse::Kms { key_id } => format!("SSE-KMS with key {key_id}"),
            Sse::Customer { .. } => "SSE-C (a customer-provided key)".into(),
        }
    }
}

/// What every write of a state object or lock file sends, and what every
/// read of an SSE-C object must send.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ObjectWrites {
    pub sse: Sse,
    /// The canned ACL (`private`, `bucket-owner-full-control`, ...).
    pub acl: Option<String>,
    /// Send a SHA-256 checksum with every write (`skip_s3_checksum` unset).
    pub checksum: bool,
    /// `x-amz-tagging` of the state's writes (`state_tags`), URL-encoded.
    pub state_tags: Option<String>,
    /// `x-amz-tagging` of the lock file's writes (`lock_tags`), URL-encoded.
    pub lock_tags: Option<String>,
}

impl ObjectWrites {
    /// What a write sends without any backend setting: a SHA-256 checksum.
    pub fn plain() -> ObjectWrites {
        ObjectWrites {
            sse: Sse::BucketDefault,
            acl: None,
            checksum: true,
            state_tags: None,
            lock_tags: None,
        }
    }

    /// The `x-amz-tagging` of a write of `key`: `lock_tags` for a lock file
    /// (`.tflock`), `state_tags` for anything else.
    pub fn tagging_for(&self, key: &str) -> Option<&str> {
        if key.ends_with(".tflock") {
            self.lock_tags.as_deref()
        } else {
            self.state_tags.as_deref()
        }
    }
}

/// Tags as S3's `x-amz-tagging` wants them: `k=v&k2=v2`, URL-encoded;
/// `None` without tags.
fn tagging(tags: Option<&BTreeMap<String, String>>) -> Option<String> {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    let tags = tags.filter(|t| !t.is_empty())?;
    Some(
        tags.iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&"),
    )
}

/// The canned ACLs S3 accepts on PutObject.
pub const CANNED_ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

/// Resolves the merged settings, with `env_customer_key` the value of
/// `AWS_SSE_CUSTOMER_KEY` (used when `sse_customer_key` is not set). Pure.
/// `Err` is the reason, naming the setting to fix.
pub fn resolve_encryption(
    settings: &EncryptionSettings,
    env_customer_key: Option<&str>,
) -> Result<ObjectWrites, String> {
    let non_empty = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let kms = non_empty(settings.kms_key_id.as_deref());
    let customer = non_empty(settings.sse_customer_key.as_deref()).or(non_empty(env_customer_key));
    if kms.is_some() && customer.is_some() {
        return Err("`kms_key_id` and `sse_customer_key` (or AWS_SSE_CUSTOMER_KEY) cannot both be set, as in Terraform: keep the one the state is encrypted with".into());
    }
    let customer = match customer {
        Some(k) => Some(customer_key(&k)?),
        None => None,
    };
    let acl = non_empty(settings.acl.as_deref());
    if let Some(a) = &acl {
        if !CANNED_ACLS.contains(&a.as_str()) {
            return Err(format!(
                "`acl = {a:?}` is not a canned ACL S3 accepts; use one of {}",
                CANNED_ACLS.join(", ")
            ));
        }
    }
    let sse = if settings.encrypt == Some(true) {
        match (kms, customer) {
            (Some(key_id), _) => Sse::Kms { key_id },
            (None, Some(c)) => c,
            (None, None) => Sse::S3,
        }
    } else {
        Sse::BucketDefault
    };
    Ok(ObjectWrites {
        sse,
        acl,
        checksum: settings.skip_s3_checksum != Some(true),
        state_tags: tagging(settings.state_tags.as_ref()),
        lock_tags: tagging(settings.lock_tags.as_ref()),
    })
}

/// Checks an SSE-C key as Terraform does (base64 of exactly 32 bytes) and
/// computes the md5 header S3 wants.
fn customer_key(b64: &str) -> Result<Sse, String> {
    let raw = aws_smithy_types::base64::decode(b64).map_err(|_| {
            "`sse_customer_key` (or AWS_SSE_CUSTOMER_KEY) is not base64: give the base64 of a 256-bit key".to_string()
        })?;
    if raw.len() != 32 {
        return Err(format!(
            "`sse_customer_key` (or AWS_SSE_CUSTOMER_KEY) decodes to {} bytes where SSE-C needs 32: give the base64 of a 256-bit key",
            raw.len()
        ));
    }
    Ok(Sse::Customer {
        key: b64.to_owned(),
        key_md5: aws_smithy_types::base64::encode(Md5::digest(&raw)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // "0123456789abcdef" x2

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn resolves_as_terraform_does() {
        let kms = "arn:aws:kms:eu-west-1:111111111111:key/abc";
        type Case = (
            &'static str,
            EncryptionSettings,
            Option<&'static str>,
            Result<Sse, &'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "nothing",
                EncryptionSettings::default(),
                None,
                Ok(Sse::BucketDefault),
            ),
            (
                "encrypt alone is SSE-S3",
                EncryptionSettings {
                    encrypt: Some(true),
                    ..Default::default()
                },
                None,
                Ok(Sse::S3),
            ),
            (
                "encrypt + kms",
                EncryptionSettings {
                    encrypt: Some(true),
                    kms_key_id: s(kms),
                    ..Default::default()
                },
                None,
                Ok(Sse::Kms { key_id: kms.into() }),
            ),
            (
                "kms without encrypt: no header, as Terraform",
                EncryptionSettings {
                    kms_key_id: s(kms),
                    ..Default::default()
                },
                None,
                Ok(Sse::BucketDefault),
            ),
            (
                "customer key from the environment",
                EncryptionSettings {
                    encrypt: Some(true),
                    ..Default::default()
                },
                Some(KEY),
                Ok(Sse::Customer {
                    key: KEY.into(),
                    key_md5: "hRasmdxgYDKV3nvbahU1MA==".into(),
                }),
            ),
            (
                "kms and customer key conflict",
                EncryptionSettings {
                    encrypt: Some(true),
                    kms_key_id: s(kms),
                    ..Default::default()
                },
                Some(KEY),
                Err("cannot both be set"),
            ),
            (
                "short key",
                EncryptionSettings {
                    encrypt: Some(true),
                    sse_customer_key: s("c2hvcnQ="),
                    ..Default::default()
                },
                None,
                Err("decodes to 5 bytes"),
            ),
            (
                "not base64",
                EncryptionSettings {
                    encrypt: Some(true),
                    sse_customer_key: s("%%%"),
                    ..Default::default()
                },
                None,
                Err("not base64"),
            ),
            (
                "bad acl",
                EncryptionSettings {
                    acl: s("everyone"),
                    ..Default::default()
                },
                None,
                Err("not a canned ACL"),
            ),
        ];
        for (name, settings, env, want) in cases {
            match (resolve_encryption(&settings, env), want) {
                (Ok(got), Ok(sse)) => assert_eq!(got.sse, sse, "{name}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{name}: {e}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn checksum_and_acl() {
        let w = resolve_encryption(
            &EncryptionSettings {
                acl: s("bucket-owner-full-control"),
                skip_s3_checksum: Some(true),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(w.acl.as_deref(), Some("bucket-owner-full-control"));
        assert!(!w.checksum);
        assert!(
            resolve_encryption(&EncryptionSettings::default(), None)
                .unwrap()
                .checksum
        );
    }

    #[test]
    fn state_and_lock_tags_are_url_encoded_per_object() {
        let tags = |pairs: &[(&str, &str)]| {
            Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            )
        };
        let w = resolve_encryption(
            &EncryptionSettings {
                state_tags: tags(&[("team", "platform"), ("cost center", "a&b=c/d")]),
                lock_tags: tags(&[("kind", "lock")]),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(
            w.tagging_for("env/prod.tfstate"),
            Some("cost%20center=a%26b%3Dc%2Fd&team=platform")
        );
        assert_eq!(w.tagging_for("env/prod.tfstate.tflock"), Some("kind=lock"));
        let plain = resolve_encryption(&EncryptionSettings::default(), None).unwrap();
        assert_eq!(plain.tagging_for("k"), None);
        assert_eq!(plain.tagging_for("k.tflock"), None);
    }

    #[test]
    fn the_customer_key_is_never_shown() {
        let w = resolve_encryption(
            &EncryptionSettings {
                encrypt: Some(true),
                sse_customer_key: s(KEY),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        assert!(!format!("{w:?}").contains(KEY));
        assert!(!serde_json::to_string(&w).unwrap().contains(KEY));
        let settings = EncryptionSettings {
            sse_customer_key: s(KEY),
            ..Default::default()
        };
        assert!(!format!("{settings:?}").contains(KEY));
        assert!(!serde_json::to_string(&settings).unwrap().contains(KEY));
    }
}
