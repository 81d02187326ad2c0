//! How the state is reached: the credential, role and connection settings of
//! Terraform's S3 backend ([`AccessSettings`]), read the same way from a
//! `backend "s3"` block, a `.tfbackend` file and an environment file's
//! `backend` block.
//!
//! One interpreter ([`AccessReader`]) turns each `key = value` into a
//! setting, or a one-line reason the caller places at the value. The
//! deprecated top-level role names (`role_arn`, `session_name`, ...) are
//! gathered into an [`AssumeRole`] with a warning, as OpenTofu does.

use std::collections::BTreeMap;

use serde::Serialize;

/// `assume_role = { ... }`: the role the state is read and written with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AssumeRole {
    pub role_arn: String,
    pub duration_seconds: Option<u32>,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
}

/// `assume_role_with_web_identity = { ... }` (CI systems with OIDC), or
/// `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WebIdentity {
    pub role_arn: String,
    /// The token itself (never printed).
    #[serde(skip)]
    pub token: Option<String>,
    pub token_file: Option<String>,
    pub session_name: Option<String>,
    pub duration_seconds: Option<u32>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
}

/// The access settings of one layer (every field optional), merged field by
/// field with [`AccessSettings::overlay`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccessSettings {
    pub shared_config_files: Option<Vec<String>>,
    pub shared_credentials_files: Option<Vec<String>>,
    pub assume_role: Option<AssumeRole>,
    pub web_identity: Option<WebIdentity>,
    /// Region of the STS calls (role assumption, caller identity).
    pub sts_region: Option<String>,
    /// `endpoints.sts` / `sts_endpoint`.
    pub sts_endpoint: Option<String>,
    /// `endpoints.iam` / `iam_endpoint`: accepted; stateward makes no IAM
    /// call with the state's credentials.
    pub iam_endpoint: Option<String>,
    /// Terraform's `max_retries` (retries after the first attempt).
    pub max_retries: Option<u32>,
    /// `standard` or `adaptive`.
    pub retry_mode: Option<String>,
    pub use_fips_endpoint: Option<bool>,
    pub use_dualstack_endpoint: Option<bool>,
    /// A PEM file of extra trusted certificates.
    pub custom_ca_bundle: Option<String>,
    pub insecure: Option<bool>,
    pub http_proxy: Option<String>,
    pub https_proxy: Option<String>,
    pub no_proxy: Option<String>,
    pub allowed_account_ids: Option<Vec<String>>,
    pub forbidden_account_ids: Option<Vec<String>>,
    /// Static credentials of the backend block (`access_key`, `secret_key`,
    /// `token`); never printed.
    #[serde(skip)]
    pub static_keys: Option<StaticKeys>,
    /// Deprecation notes to print on stderr (not a setting).
    pub warnings: Vec<String>,
}

/// `access_key` / `secret_key` / `token` of a backend block.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StaticKeys {
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub token: Option<String>,
}

impl std::fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticKeys")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl AccessSettings {
    /// Field-by-field merge: every field set in `higher` wins (an
    /// `assume_role` object replaces the lower one as a whole).
    pub fn overlay(self, higher: AccessSettings) -> AccessSettings {
        let mut warnings = self.warnings;
        warnings.extend(higher.warnings);
        AccessSettings {
            shared_config_files: higher.shared_config_files.or(self.shared_config_files),
            shared_credentials_files: higher
                .shared_credentials_files
                .or(self.shared_credentials_files),
            assume_role: higher.assume_role.or(self.assume_role),
            web_identity: higher.web_identity.or(self.web_identity),
            sts_region: higher.sts_region.or(self.sts_region),
            sts_endpoint: higher.sts_endpoint.or(self.sts_endpoint),
            iam_endpoint: higher.iam_endpoint.or(self.iam_endpoint),
            max_retries: higher.max_retries.or(self.max_retries),
            retry_mode: higher.retry_mode.or(self.retry_mode),
            use_fips_endpoint: higher.use_fips_endpoint.or(self.use_fips_endpoint),
            use_dualstack_endpoint: higher
                .use_dualstack_endpoint
                .or(self.use_dualstack_endpoint),
            custom_ca_bundle: higher.custom_ca_bundle.or(self.custom_ca_bundle),
            insecure: higher.insecure.or(self.insecure),
            http_proxy: higher.http_proxy.or(self.http_proxy),
            https_proxy: higher.https_proxy.or(self.https_proxy),
            no_proxy: higher.no_proxy.or(self.no_proxy),
            allowed_account_ids: higher.allowed_account_ids.or(self.allowed_account_ids),
            forbidden_account_ids: higher.forbidden_account_ids.or(self.forbidden_account_ids),
            static_keys: higher.static_keys.or(self.static_keys),
            warnings,
        }
    }

    /// Names of the settings that are set (for "where did it come from").
    pub fn set_fields(&self) -> Vec<&'static str> {
        let set = [
            ("shared_config_files", self.shared_config_files.is_some()),
            (
                "shared_credentials_files",
                self.shared_credentials_files.is_some(),
            ),
            ("assume_role", self.assume_role.is_some()),
            ("assume_role_with_web_identity", self.web_identity.is_some()),
            ("sts_region", self.sts_region.is_some()),
            ("sts_endpoint", self.sts_endpoint.is_some()),
            ("iam_endpoint", self.iam_endpoint.is_some()),
            ("max_retries", self.max_retries.is_some()),
            ("retry_mode", self.retry_mode.is_some()),
            ("use_fips_endpoint", self.use_fips_endpoint.is_some()),
            (
                "use_dualstack_endpoint",
                self.use_dualstack_endpoint.is_some(),
            ),
            ("custom_ca_bundle", self.custom_ca_bundle.is_some()),
            ("insecure", self.insecure.is_some()),
            ("http_proxy", self.http_proxy.is_some()),
            ("https_proxy", self.https_proxy.is_some()),
            ("no_proxy", self.no_proxy.is_some()),
            ("allowed_account_ids", self.allowed_account_ids.is_some()),
            (
                "forbidden_account_ids",
                self.forbidden_account_ids.is_some(),
            ),
        ];
        set.iter().filter(|(_, s)| *s).map(|(n, _)| *n).collect()
    }

    /// Whether the caller must learn the account before going on.
    pub fn checks_account(&self) -> bool {
        self.allowed_account_ids.is_some() || self.forbidden_account_ids.is_some()
    }
}

/// Keys read by [`AccessReader`] in an environment file's `backend` block
/// (the current Terraform names; `sts_endpoint` stands for `endpoints.sts`).
pub const ENV_FILE_ACCESS_KEYS: &[&str] = &[
    "assume_role",
    "assume_role_with_web_identity",
    "shared_config_files",
    "shared_credentials_files",
    "sts_region",
    "sts_endpoint",
    "max_retries",
    "retry_mode",
    "use_fips_endpoint",
    "use_dualstack_endpoint",
    "custom_ca_bundle",
    "insecure",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "allowed_account_ids",
    "forbidden_account_ids",
];

/// The deprecated top-level role arguments (Terraform < 1.10, OpenTofu) and
/// the `assume_role` key each stands for.
const LEGACY_ROLE_KEYS: &[(&str, &str)] = &[
    ("role_arn", "role_arn"),
    ("session_name", "session_name"),
    ("external_id", "external_id"),
    ("assume_role_duration_seconds", "duration"),
    ("assume_role_policy", "policy"),
    ("assume_role_policy_arns", "policy_arns"),
    ("assume_role_tags", "tags"),
    ("assume_role_transitive_tag_keys", "transitive_tag_keys"),
];

const ASSUME_ROLE_KEYS: &[&str] = &[
    "role_arn",
    "duration",
    "external_id",
    "session_name",
    "policy",
    "policy_arns",
    "tags",
    "transitive_tag_keys",
    "source_identity",
];

const WEB_IDENTITY_KEYS: &[&str] = &[
    "role_arn",
    "web_identity_token",
    "web_identity_token_file",
    "session_name",
    "duration",
    "policy",
    "policy_arns",
];

/// Reads access keys one at a time, then [`AccessReader::finish`]es.
#[derive(Debug, Default)]
pub(crate) struct AccessReader {
    access: AccessSettings,
    legacy: BTreeMap<&'static str, hcl::Value>,
    legacy_keys: Vec<&'static str>,
    /// Whether the deprecated top-level names are accepted (backend blocks
    /// and `.tfbackend` files; not environment files).
    allow_legacy: bool,
}

impl AccessReader {
    /// A reader for a Terraform backend block (deprecated names accepted).
    pub fn terraform() -> Self {
        AccessReader {
            allow_legacy: true,
            ..Self::default()
        }
    }

    /// A reader for an environment file's `backend` block.
    pub fn env_file() -> Self {
        Self::default()
    }

    /// Stores one key of an environment file's `backend` block into
    /// `access` (see [`AccessReader::set`]).
    pub fn set_env_file(
        access: &mut AccessSettings,
        key: &str,
        value: &hcl::Value,
    ) -> Result<bool, String> {
        let mut reader = AccessReader {
            access: std::mem::take(access),
            ..AccessReader::env_file()
        };
        let known = reader.set(key, value);
        *access = reader.access;
        known
    }

    /// Stores `key = value` if `key` is an access setting: `Ok(false)` when
    /// the key is not one, `Err(reason)` when the value is not acceptable.
    pub fn set(&mut self, key: &str, value: &hcl::Value) -> Result<bool, String> {
        if self.allow_legacy {
            if let Some((legacy, new)) = LEGACY_ROLE_KEYS.iter().find(|(k, _)| *k == key) {
                self.legacy.insert(new, value.clone());
                self.legacy_keys.push(legacy);
                return Ok(true);
            }
        }
        let a = &mut self.access;
        match key {
            "assume_role" => a.assume_role = object(value)?.map(|m| assume_role(&m)).transpose()?,
            "assume_role_with_web_identity" => {
                a.web_identity = object(value)?.map(|m| web_identity(&m)).transpose()?
            }
            "shared_config_files" => a.shared_config_files = string_list(value)?,
            "shared_credentials_files" => a.shared_credentials_files = string_list(value)?,
            "shared_credentials_file" if self.allow_legacy => {
                a.shared_credentials_files = string(value)?.map(|f| vec![f])
            }
            "sts_region" => a.sts_region = string(value)?,
            "sts_endpoint" => a.sts_endpoint = url(value)?,
            "iam_endpoint" if self.allow_legacy => a.iam_endpoint = url(value)?,
            "max_retries" => a.max_retries = count(value)?,
            "retry_mode" => {
                a.retry_mode = match string(value)? {
                    Some(m) if m == "standard" || m == "adaptive" => Some(m),
                    Some(m) => {
                        return Err(format!(
                            "\"{m}\" is not a retry mode; use \"standard\" or \"adaptive\""
                        ))
                    }
                    None => None,
                }
            }
            "use_fips_endpoint" => a.use_fips_endpoint = boolean(value)?,
            "use_dualstack_endpoint" => a.use_dualstack_endpoint = boolean(value)?,
            "custom_ca_bundle" => a.custom_ca_bundle = string(value)?,
            "insecure" => a.insecure = boolean(value)?,
            "http_proxy" => a.http_proxy = url(value)?,
            "https_proxy" => a.https_proxy = url(value)?,
            "no_proxy" => a.no_proxy = string(value)?,
            "access_key" | "secret_key" | "token" if self.allow_legacy => {
                let keys = a.static_keys.get_or_insert_with(StaticKeys::default);
                let v = string(value)?;
                match key {
                    "access_key" => keys.access_key = v,
                    "secret_key" => keys.secret_key = v,
                    _ => keys.token = v,
                }
            }
            "ec2_metadata_service_endpoint"
            | "ec2_metadata_service_endpoint_mode"
            | "skip_metadata_api_check"
                if self.allow_legacy =>
            {
                a.warnings.push(format!(
                    "`{key}` in the backend block has no effect in stateward; the AWS SDK reads AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE and AWS_EC2_METADATA_DISABLED instead"
                ));
            }
            "allowed_account_ids" => a.allowed_account_ids = account_ids(value)?,
            "forbidden_account_ids" => a.forbidden_account_ids = account_ids(value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Sets the `endpoints` object's `sts` and `iam` entries (they win over
    /// the legacy `sts_endpoint` / `iam_endpoint`).
    pub fn endpoints(&mut self, sts: Option<&String>, iam: Option<&String>, sso: Option<&String>) {
        if sso.is_some() {
            self.access.warnings.push("`endpoints.sso` has no effect in stateward; SSO logins use the profile's own settings".into());
        }
        if let Some(s) = sts {
            self.access.sts_endpoint = Some(s.clone());
        }
        if let Some(i) = iam {
            self.access.iam_endpoint = Some(i.clone());
        }
    }

    /// The settings, with the deprecated role names folded into
    /// `assume_role` (an error names the conflicting key).
    pub fn finish(self) -> Result<AccessSettings, (String, String)> {
        let mut access = self.access;
        if let Some(k) = &access.static_keys {
            if k.access_key.is_none() != k.secret_key.is_none() {
                let key = if k.access_key.is_none() {
                    "secret_key"
                } else {
                    "access_key"
                };
                return Err((
                    key.into(),
                    "`access_key` and `secret_key` go together; set both, or neither and let the AWS chain find credentials".into(),
                ));
            }
            if k.access_key.is_none() {
                access.static_keys = None;
            }
        }
        if self.legacy.is_empty() {
            return Ok(access);
        }
        let first = self.legacy_keys[0].to_string();
        if access.assume_role.is_some() {
            return Err((
                first.clone(),
                format!("`{first}` and `assume_role` both set a role; keep only `assume_role = {{ ... }}` (the top-level role arguments are deprecated)"),
            ));
        }
        if !self.legacy.contains_key("role_arn") {
            return Err((
                first.clone(),
                format!("`{first}` has no `role_arn` to go with; write `assume_role = {{ role_arn = \"...\", ... }}`"),
            ));
        }
        let map: hcl::Map<String, hcl::Value> = self
            .legacy
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        access.assume_role = Some(assume_role(&map).map_err(|reason| (first, reason))?);
        let keys = self
            .legacy_keys
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        access.warnings.push(format!(
            "{keys} in the backend block {} deprecated (removed in Terraform 1.10; OpenTofu still accepts {}); stateward uses {} as `assume_role = {{ ... }}`, which is the form to write",
            if self.legacy_keys.len() == 1 { "is" } else { "are" },
            if self.legacy_keys.len() == 1 { "it" } else { "them" },
            if self.legacy_keys.len() == 1 { "it" } else { "them" },
        ));
        Ok(access)
    }
}

fn object(v: &hcl::Value) -> Result<Option<hcl::Map<String, hcl::Value>>, String> {
    match v {
        hcl::Value::Null => Ok(None),
        hcl::Value::Object(m) => Ok(Some(m.clone())),
        _ => Err("it must be an object: `{ role_arn = \"...\", ... }`".into()),
    }
}

/// Terraform's string conversion: numbers and booleans become strings;
/// null and "" mean unset.
fn string(v: &hcl::Value) -> Result<Option<String>, String> {
    match v {
        hcl::Value::Null => Ok(None),
        hcl::Value::String(s) if s.is_empty() => Ok(None),
        hcl::Value::String(s) => Ok(Some(s.clone())),
        hcl::Value::Number(n) => Ok(Some(n.to_string())),
        hcl::Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err("it must be a string".into()),
    }
}

fn url(v: &hcl::Value) -> Result<Option<String>, String> {
    match string(v)? {
        Some(s) if !(s.starts_with("http://") || s.starts_with("https://")) => Err(format!(
            "\"{s}\" is not a URL; write it with its scheme, e.g. \"https://host:port\""
        )),
        other => Ok(other),
    }
}

fn boolean(v: &hcl::Value) -> Result<Option<bool>, String> {
    match v {
        hcl::Value::Null => Ok(None),
        hcl::Value::Bool(b) => Ok(Some(*b)),
        hcl::Value::String(s) if s == "true" || s == "1" => Ok(Some(true)),
        hcl::Value::String(s) if s == "false" || s == "0" => Ok(Some(false)),
        _ => Err("it must be a boolean (true or false)".into()),
    }
}

fn count(v: &hcl::Value) -> Result<Option<u32>, String> {
    let text = match v {
        hcl::Value::Null => return Ok(None),
        hcl::Value::Number(n) => n.to_string(),
        hcl::Value::String(s) => s.clone(),
        _ => return Err("it must be a whole number".into()),
    };
    text.trim()
        .parse::<u32>()
        .map(Some)
        .map_err(|_| format!("{text} is not a whole number from 0 to 4294967295"))
}

fn string_list(v: &hcl::Value) -> Result<Option<Vec<String>>, String> {
    match v {
        hcl::Value::Null => Ok(None),
        hcl::Value::Array(items) => items
            .iter()
            .map(|i| match string(i)? {
                Some(s) => Ok(s),
                None => Err("its elements must not be empty".to_string()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err("it must be a list of strings: [\"...\"]".into()),
    }
}

fn account_ids(v: &hcl::Value) -> Result<Option<Vec<String>>, String> {
    let ids = string_list(v)?;
    if let Some(bad) = ids
        .iter()
        .flatten()
        .find(|id| id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!(
            "\"{bad}\" is not an AWS account ID (12 digits, quoted so leading zeros stay)"
        ));
    }
    Ok(ids)
}

pub(crate) fn string_map(v: &hcl::Value) -> Result<BTreeMap<String, String>, String> {
    match v {
        hcl::Value::Null => Ok(BTreeMap::new()),
        hcl::Value::Object(m) => m
            .iter()
            .map(|(k, v)| match string(v)? {
                Some(s) => Ok((k.clone(), s)),
                None => Err(format!("the value of \"{k}\" must not be empty")),
            })
            .collect(),
        _ => Err("it must be an object of strings: `{ Key = \"value\" }`".into()),
    }
}

/// Terraform's `duration`: a Go duration string ("1h", "15m30s"); the
/// legacy `assume_role_duration_seconds` is a number of seconds.
fn duration_seconds(key: &str, v: &hcl::Value) -> Result<Option<u32>, String> {
    let secs = match v {
        hcl::Value::Null => return Ok(None),
        hcl::Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| format!("`{key}`: {n} is not a whole number of seconds"))?,
        hcl::Value::String(s) if s.is_empty() => return Ok(None),
        // A bare number is seconds, as `util::duration` reads it.
        hcl::Value::String(s) => crate::util::duration::parse(s)
            .map_err(|_| {
                format!("`{key}`: \"{s}\" is not a duration; write e.g. \"1h\" or \"15m\"")
            })?
            .as_secs(),
        _ => return Err(format!("`{key}` must be a duration such as \"1h\"")),
    };
    if !(900..=43_200).contains(&secs) {
        return Err(format!(
            "`{key}`: {secs} seconds is outside what STS allows (15m to 12h)"
        ));
    }
    Ok(Some(secs as u32))
}

fn check_keys(m: &hcl::Map<String, hcl::Value>, known: &[&str], what: &str) -> Result<(), String> {
    match m.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "unknown key \"{k}\" in `{what}` (expected one of: {})",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

fn role_arn(m: &hcl::Map<String, hcl::Value>, what: &str) -> Result<String, String> {
    let arn = match m.get("role_arn") {
        Some(v) => string(v).map_err(|e| format!("`role_arn`: {e}"))?,
        None => None,
    };
    match arn {
        Some(a) if a.starts_with("arn:") => Ok(a),
        Some(a) => Err(format!(
            "\"{a}\" is not a role ARN; write it as \"arn:aws:iam::123456789012:role/NAME\""
        )),
        None => Err(format!("`{what}` needs a `role_arn`")),
    }
}

fn field(
    m: &hcl::Map<String, hcl::Value>,
    key: &str,
    read: fn(&hcl::Value) -> Result<Option<String>, String>,
) -> Result<Option<String>, String> {
    m.get(key)
        .map_or(Ok(None), read)
        .map_err(|e| format!("`{key}`: {e}"))
}

fn list_field(m: &hcl::Map<String, hcl::Value>, key: &str) -> Result<Vec<String>, String> {
    Ok(m.get(key)
        .map_or(Ok(None), string_list)
        .map_err(|e| format!("`{key}`: {e}"))?
        .unwrap_or_default())
}

fn assume_role(m: &hcl::Map<String, hcl::Value>) -> Result<AssumeRole, String> {
    check_keys(m, ASSUME_ROLE_KEYS, "assume_role")?;
    Ok(AssumeRole {
        role_arn: role_arn(m, "assume_role")?,
        duration_seconds: m
            .get("duration")
            .map_or(Ok(None), |v| duration_seconds("duration", v))?,
        external_id: field(m, "external_id", string)?,
        session_name: field(m, "session_name", string)?,
        policy: field(m, "policy", string)?,
        policy_arns: list_field(m, "policy_arns")?,
        tags: m
            .get("tags")
            .map_or(Ok(BTreeMap::new()), string_map)
            .map_err(|e| format!("`tags`: {e}"))?,
        transitive_tag_keys: list_field(m, "transitive_tag_keys")?,
        source_identity: field(m, "source_identity", string)?,
    })
}

fn web_identity(m: &hcl::Map<String, hcl::Value>) -> Result<WebIdentity, String> {
    check_keys(m, WEB_IDENTITY_KEYS, "assume_role_with_web_identity")?;
    let w = WebIdentity {
        role_arn: role_arn(m, "assume_role_with_web_identity")?,
        token: field(m, "web_identity_token", string)?,
        token_file: field(m, "web_identity_token_file", string)?,
        session_name: field(m, "session_name", string)?,
        duration_seconds: m
            .get("duration")
            .map_or(Ok(None), |v| duration_seconds("duration", v))?,
        policy: field(m, "policy", string)?,
        policy_arns: list_field(m, "policy_arns")?,
    };
    if w.token.is_some() && w.token_file.is_some() {
        return Err(
            "set one of `web_identity_token` and `web_identity_token_file`, not both".into(),
        );
    }
    Ok(w)
}

/// The web identity of the process environment (`AWS_ROLE_ARN` +
/// `AWS_WEB_IDENTITY_TOKEN_FILE`, optional `AWS_ROLE_SESSION_NAME`), as the
/// AWS SDKs and Terraform read it; `None` unless both are set.
pub fn web_identity_from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<WebIdentity> {
    use crate::envvars::{AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME, AWS_WEB_IDENTITY_TOKEN_FILE};
    let non_empty = |k: &str| env(k).filter(|v| !v.is_empty());
    Some(WebIdentity {
        role_arn: non_empty(AWS_ROLE_ARN)?,
        token_file: Some(non_empty(AWS_WEB_IDENTITY_TOKEN_FILE)?),
        session_name: non_empty(AWS_ROLE_SESSION_NAME),
        ..WebIdentity::default()
    })
}

/// Why an account may not be used, or `None` when it may: Terraform's
/// `allowed_account_ids` / `forbidden_account_ids` rule.
pub fn account_refusal(access: &AccessSettings, account: &str) -> Option<String> {
    if let Some(forbidden) = &access.forbidden_account_ids {
        if forbidden.iter().any(|a| a == account) {
            return Some(format!(
                "AWS account {account} is in `forbidden_account_ids`; stateward will not use it: check the credentials, profile or role you run with"
            ));
        }
    }
    if let Some(allowed) = &access.allowed_account_ids {
        if !allowed.iter().any(|a| a == account) {
            return Some(format!(
                "AWS account {account} is not in `allowed_account_ids` ({}); stateward will not use it: check the credentials, profile or role you run with",
                allowed.join(", ")
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> hcl::Map<String, hcl::Value> {
        let v: hcl::Value = hcl::from_str(body).unwrap();
        match v {
            hcl::Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn read(body: &str, reader: AccessReader) -> Result<AccessSettings, String> {
        let mut r = reader;
        for (k, v) in parse(body) {
            if !r.set(&k, &v).map_err(|e| format!("{k}: {e}"))? {
                return Err(format!("{k}: not an access key"));
            }
        }
        r.finish().map_err(|(k, e)| format!("{k}: {e}"))
    }

    #[test]
    fn assume_role_attribute_form() {
        let a = read(
            r#"
            assume_role = {
              role_arn = "arn:aws:iam::111111111111:role/state"
              duration = "1h"
              external_id = "x-1"
              session_name = "ci"
              policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
              tags = { team = "platform" }
              transitive_tag_keys = ["team"]
              source_identity = "alice"
            }
            max_retries = 3
            retry_mode = "standard"
            allowed_account_ids = ["111111111111"]
            "#,
            AccessReader::terraform(),
        )
        .unwrap();
        let r = a.assume_role.unwrap();
        assert_eq!(r.role_arn, "arn:aws:iam::111111111111:role/state");
        assert_eq!(r.duration_seconds, Some(3600));
        assert_eq!(r.external_id.as_deref(), Some("x-1"));
        assert_eq!(r.tags.get("team").map(String::as_str), Some("platform"));
        assert_eq!(r.transitive_tag_keys, vec!["team"]);
        assert_eq!(r.source_identity.as_deref(), Some("alice"));
        assert_eq!(a.max_retries, Some(3));
        assert!(a.warnings.is_empty());
    }

    #[test]
    fn legacy_role_names_fold_into_assume_role_with_a_warning() {
        let a = read(
            r#"
            role_arn = "arn:aws:iam::111111111111:role/state"
            session_name = "old"
            assume_role_duration_seconds = 1800
            "#,
            AccessReader::terraform(),
        )
        .unwrap();
        let r = a.assume_role.unwrap();
        assert_eq!(r.session_name.as_deref(), Some("old"));
        assert_eq!(r.duration_seconds, Some(1800));
        assert_eq!(a.warnings.len(), 1);
        assert!(a.warnings[0].contains("deprecated"), "{}", a.warnings[0]);
        // Not in environment files, and not both forms at once.
        assert!(read(
            "role_arn = \"arn:aws:iam::1:role/x\"\n",
            AccessReader::env_file()
        )
        .is_err());
        let both = read(
            "role_arn = \"arn:aws:iam::1:role/x\"\nassume_role = { role_arn = \"arn:aws:iam::1:role/y\" }\n",
            AccessReader::terraform(),
        )
        .unwrap_err();
        assert!(both.contains("keep only `assume_role"), "{both}");
    }

    #[test]
    fn bad_values_say_what_to_write() {
        let table: &[(&str, &str)] = &[
            ("assume_role = { duration = \"1h\" }", "needs a `role_arn`"),
            (
                "assume_role = { role_arn = \"state\" }",
                "is not a role ARN",
            ),
            (
                "assume_role = { role_arn = \"arn:aws:iam::1:role/x\", durration = \"1h\" }",
                "unknown key \"durration\"",
            ),
            (
                "assume_role = { role_arn = \"arn:aws:iam::1:role/x\", duration = \"5m\" }",
                "outside what STS allows",
            ),
            ("retry_mode = \"legacy\"", "use \"standard\" or \"adaptive\""),
            ("allowed_account_ids = [\"1234\"]", "is not an AWS account ID"),
            (
                "assume_role_with_web_identity = { role_arn = \"arn:aws:iam::1:role/x\", web_identity_token = \"t\", web_identity_token_file = \"f\" }",
                "not both",
            ),
            ("sts_endpoint = \"localhost:1\"", "is not a URL"),
        ];
        for (body, want) in table {
            let err = read(body, AccessReader::env_file()).unwrap_err();
            assert!(err.contains(want), "{body}: {err}");
        }
    }

    #[test]
    fn account_rules_follow_terraform() {
        let access = |allowed: Option<&[&str]>, forbidden: Option<&[&str]>| AccessSettings {
            allowed_account_ids: allowed.map(|a| a.iter().map(|s| s.to_string()).collect()),
            forbidden_account_ids: forbidden.map(|a| a.iter().map(|s| s.to_string()).collect()),
            ..AccessSettings::default()
        };
        let a = "111111111111";
        let b = "222222222222";
        assert_eq!(account_refusal(&access(None, None), a), None);
        assert_eq!(account_refusal(&access(Some(&[a]), None), a), None);
        assert!(account_refusal(&access(Some(&[b]), None), a)
            .unwrap()
            .contains("not in `allowed_account_ids` (222222222222)"));
        assert!(account_refusal(&access(None, Some(&[a])), a)
            .unwrap()
            .contains("is in `forbidden_account_ids`"));
        assert_eq!(account_refusal(&access(None, Some(&[b])), a), None);
    }

    #[test]
    fn web_identity_from_the_environment_needs_both_variables() {
        let env = |k: &str| match k {
            "AWS_ROLE_ARN" => Some("arn:aws:iam::1:role/ci".to_string()),
            "AWS_WEB_IDENTITY_TOKEN_FILE" => Some("/tmp/token".to_string()),
            _ => None,
        };
        let w = web_identity_from_env(&env).unwrap();
        assert_eq!(w.token_file.as_deref(), Some("/tmp/token"));
        assert!(web_identity_from_env(&|k: &str| env(k).filter(|_| k == "AWS_ROLE_ARN")).is_none());
    }

    #[test]
    fn overlay_is_field_by_field() {
        let low = AccessSettings {
            sts_region: Some("us-east-1".into()),
            max_retries: Some(2),
            ..AccessSettings::default()
        };
        let high = AccessSettings {
            max_retries: Some(9),
            ..AccessSettings::default()
        };
        let m = low.overlay(high);
        assert_eq!(m.sts_region.as_deref(), Some("us-east-1"));
        assert_eq!(m.max_retries, Some(9));
        assert_eq!(m.set_fields(), vec!["sts_region", "max_retries"]);
    }
}
