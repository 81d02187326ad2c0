//! Where the Terraform state lives: the configuration of `stateward`.
//!
//! Three layers name the S3 state, merged field by field, highest first:
//!
//! 1. command-line flags (`--bucket`, `--key`, ...), given to [`resolve`] as a
//!    [`BackendSettings`] whose unset fields are `None`;
//! 2. an environment file (`--env NAME_OR_PATH`), see [`load_env_file_with`];
//! 3. a Terraform root module (`--backend-dir DIR` plus optional
//!    `--backend-config FILE`s), see [`load_backend_dir`].
//!
//! [`resolve`] overlays them and validates the result into a [`Target`].
//! [`Settings`] reads the files at most once per run (when first needed) and
//! answers every setting a command needs (target, AWS access, objectives,
//! drift, rebuild, snapshots, concurrency, retry policy), with the precedence
//! documented there.

pub mod access;
mod backend_dir;
mod encryption;
mod envfile;
mod error;
mod ignore_changes;
pub mod objectives;
mod section;
mod settings;
mod source;
mod target;

pub use access::{AccessSettings, AssumeRole, WebIdentity};
pub use backend_dir::{load_backend_dir, parse_backend_text, S3_BACKEND_ATTRIBUTES};
pub use encryption::{
    resolve_encryption, EncryptionSettings, ObjectWrites, Sse, CANNED_ACLS, ENCRYPTION_KEYS,
};
pub use envfile::{
    env_file_path_candidates, load_env_file_with, parse_env_file_text, CacheSettings,
    DriftSettings, EnvFile, RetentionSettings, SnapshotSettings, StateRule, StatesSettings,
    BACKEND_KEYS, TOP_LEVEL_BLOCKS, TOP_LEVEL_KEYS,
};
pub use error::{ConfigError, ConfigErrorKind, ValueType};
pub use ignore_changes::{read_ignore_changes, IgnoreChanges, IgnoreChangesMap};
pub use objectives::Objectives;
pub use settings::{
    cache_dir, AwsAccess, CacheSetting, Flags, IgnoreFile, RetryPolicy, Settings,
    SnapshotStoreSetting, DEFAULT_CACHE_MAX_BYTES, DEFAULT_CONCURRENCY, DEFAULT_IGNORE_FILE,
};
pub use target::{resolve, Target};

use serde::Serialize;

/// Directory (relative to the base dir) holding `NAME.hcl` environment files.
pub const ENVIRONMENTS_DIR: &str = "environments";
/// The workspace every Terraform configuration has.
pub const DEFAULT_WORKSPACE: &str = "default";
/// Terraform's default `workspace_key_prefix` for the S3 backend.
pub const DEFAULT_WORKSPACE_KEY_PREFIX: &str = "env:";

/// One layer of settings naming the S3 state. Every field is optional; layers
/// are merged with [`BackendSettings::overlay`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BackendSettings {
    pub bucket: Option<String>,
    /// The base state key, as written in the backend (before workspaces).
    pub key: Option<String>,
    pub region: Option<String>,
    pub dynamodb_table: Option<String>,
    pub workspace: Option<String>,
    pub workspace_key_prefix: Option<String>,
    /// Endpoint for every AWS service (S3, DynamoDB, STS, ...).
    pub endpoint_url: Option<String>,
    /// S3-only endpoint; wins over `endpoint_url` for S3.
    pub s3_endpoint: Option<String>,
    /// DynamoDB-only endpoint; wins over `endpoint_url` for DynamoDB.
    pub dynamodb_endpoint: Option<String>,
    pub force_path_style: Option<bool>,
    pub use_lockfile: Option<bool>,
    pub profile: Option<String>,
    /// Credentials, roles and connection settings (see [`access`]).
    pub access: AccessSettings,
    /// `encrypt`, `kms_key_id`, `sse_customer_key`, `acl`, `skip_s3_checksum`
    /// (merged field by field like the others; not in [`Self::FIELDS`]).
    pub encryption: EncryptionSettings,
    /// Human label of where this layer came from (e.g. `backend dir infra/
    /// (main.tf, prod.s3.tfbackend)`); not a setting, only used to describe
    /// [`Target::source`]. `overlay` keeps the higher layer's label if set.
    pub origin: Option<String>,
}

impl BackendSettings {
    /// Names of the setting fields, in declaration order.
    pub const FIELDS: [&'static str; 12] = [
        "bucket",
        "key",
        "region",
        "dynamodb_table",
        "workspace",
        "workspace_key_prefix",
        "endpoint_url",
        "s3_endpoint",
        "dynamodb_endpoint",
        "force_path_style",
        "use_lockfile",
        "profile",
    ];

    /// Field-by-field merge: every field set in `higher` wins, the others
    /// keep `self`'s value.
    pub fn overlay(self, higher: BackendSettings) -> BackendSettings {
        BackendSettings {
            bucket: higher.bucket.or(self.bucket),
            key: higher.key.or(self.key),
            region: higher.region.or(self.region),
            dynamodb_table: higher.dynamodb_table.or(self.dynamodb_table),
            workspace: higher.workspace.or(self.workspace),
            workspace_key_prefix: higher.workspace_key_prefix.or(self.workspace_key_prefix),
            endpoint_url: higher.endpoint_url.or(self.endpoint_url),
            s3_endpoint: higher.s3_endpoint.or(self.s3_endpoint),
            dynamodb_endpoint: higher.dynamodb_endpoint.or(self.dynamodb_endpoint),
            force_path_style: higher.force_path_style.or(self.force_path_style),
            use_lockfile: higher.use_lockfile.or(self.use_lockfile),
            profile: higher.profile.or(self.profile),
            access: self.access.overlay(higher.access),
            encryption: self.encryption.overlay(higher.encryption),
            origin: higher.origin.or(self.origin),
        }
    }

    /// Whether each field of [`Self::FIELDS`] is set, in the same order.
    pub fn is_set(&self) -> [bool; 12] {
        [
            self.bucket.is_some(),
            self.key.is_some(),
            self.region.is_some(),
            self.dynamodb_table.is_some(),
            self.workspace.is_some(),
            self.workspace_key_prefix.is_some(),
            self.endpoint_url.is_some(),
            self.s3_endpoint.is_some(),
            self.dynamodb_endpoint.is_some(),
            self.force_path_style.is_some(),
            self.use_lockfile.is_some(),
            self.profile.is_some(),
        ]
    }

    /// Names of the fields that are set.
    pub fn set_fields(&self) -> Vec<&'static str> {
        Self::FIELDS
            .iter()
            .zip(self.is_set())
            .filter_map(|(f, set)| set.then_some(*f))
            .collect()
    }
}

/// Terraform's rule for workspace names: non-empty and unchanged by URL
/// path-segment escaping (so no `/`, spaces, `%`, `?`, `#`, ...).
pub fn validate_workspace_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(
            "a workspace name must not be empty; use `default` for the default workspace".into(),
        );
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.~$&+,:;=@".contains(*c)))
    {
        return Err(format!(
            "it contains {bad:?}, which Terraform does not allow; use letters, digits and - _ . ~ $ & + , : ; = @"
        ));
    }
    Ok(())
}

/// Terraform S3 backend rule for `key`: non-empty, no leading or trailing
/// `/`, no `//`.
pub fn validate_state_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the state key must not be empty; set it to the object path, e.g. `project/terraform.tfstate`".into());
    }
    if key.starts_with('/') || key.ends_with('/') {
        return Err("the state key must not start or end with `/`; remove the slash".into());
    }
    if key.contains("//") {
        return Err("the state key must not contain `//`; remove the empty path segment".into());
    }
    Ok(())
}

/// Terraform S3 backend rule for `workspace_key_prefix`: may be empty, must
/// not start or end with `/`.
pub fn validate_workspace_key_prefix(prefix: &str) -> Result<(), String> {
    if prefix.starts_with('/') || prefix.ends_with('/') {
        return Err(
            "the workspace key prefix must not start or end with `/`; remove the slash".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn overlay_is_field_by_field() {
        let low = BackendSettings {
            bucket: s("low-bucket"),
            key: s("low/key"),
            region: s("eu-west-1"),
            force_path_style: Some(true),
            origin: s("low"),
            ..Default::default()
        };
        let high = BackendSettings {
            key: s("high/key"),
            force_path_style: Some(false),
            ..Default::default()
        };
        let merged = low.overlay(high);
        assert_eq!(merged.bucket, s("low-bucket"));
        assert_eq!(merged.key, s("high/key"));
        assert_eq!(merged.region, s("eu-west-1"));
        assert_eq!(merged.force_path_style, Some(false));
        assert_eq!(merged.origin, s("low"));
        assert_eq!(
            merged.set_fields(),
            vec!["bucket", "key", "region", "force_path_style"]
        );
    }

    #[test]
    fn workspace_names_follow_terraform() {
        for ok in ["default", "prod", "feature-1.2_x", "a@b", "env:x"] {
            assert!(validate_workspace_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "a b", "100%", "x?y", "é"] {
            assert!(validate_workspace_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_and_prefix_rules() {
        assert!(validate_state_key("a/b.tfstate").is_ok());
        for bad in ["", "/a", "a/", "a//b"] {
            assert!(validate_state_key(bad).is_err(), "{bad}");
        }
        assert!(validate_workspace_key_prefix("").is_ok());
        assert!(validate_workspace_key_prefix("env:").is_ok());
        assert!(validate_workspace_key_prefix("a/b").is_ok());
        assert!(validate_workspace_key_prefix("/a").is_err());
        assert!(validate_workspace_key_prefix("a/").is_err());
    }
}
