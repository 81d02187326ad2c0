//! `--backend-dir DIR [--backend-config FILE]...`: the `backend "s3"` block
//! of a Terraform root module, completed by `.tfbackend` files exactly as
//! `terraform init -backend-config=FILE` does.
//!
//! * `DIR/*.tf` are read in name order (files Terraform ignores — hidden,
//!   `*~`, `#*#` — are skipped); `override.tf` / `*_override.tf` are read
//!   last and their backend block replaces the primary one, as in Terraform.
//! * Exactly one backend block is allowed among the primary files.
//! * Each `--backend-config` file's attributes override the block's
//!   (later files override earlier ones); an attribute replaces the block's
//!   attribute of the same name as a whole (so `endpoints = {...}` in a file
//!   replaces the block's `endpoints`).
//! * Terraform 1.0 names (`endpoint`, `dynamodb_endpoint`,
//!   `force_path_style`) and 1.6+ names (`endpoints { s3, dynamodb }` as an
//!   attribute or a nested block, `use_path_style`) are both read; the new
//!   name wins when both are given.
//! * Values must be literals; types convert as Terraform does (`"true"` is a
//!   boolean, `5` is a string where a string is expected).
//! * The workspace is `TF_WORKSPACE`, else `$TF_DATA_DIR/environment`
//!   (default `DIR/.terraform/environment`), else `default`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body, Structure};
use hcl_edit::Span;

use crate::config::access::{string_map, AccessReader};
use crate::config::encryption::EncryptionSettings;
use crate::config::error::ValueType;
use crate::config::error::{ConfigError, ConfigErrorKind};
use crate::config::source::{object_key, SeenKeys, Source};
use crate::config::{validate_workspace_name, BackendSettings, DEFAULT_WORKSPACE};
use crate::envvars::{TF_DATA_DIR, TF_WORKSPACE};

/// Every argument of Terraform's S3 backend from 1.0 to 1.16. All are
/// accepted; README ("Finding the state") says which are honoured, which are
/// refused and which are ignored, and why.
pub const S3_BACKEND_ATTRIBUTES: &[&str] = &[
    "access_key",
    "acl",
    "allowed_account_ids",
    "assume_role",
    "assume_role_duration_seconds",
    "assume_role_policy",
    "assume_role_policy_arns",
    "assume_role_tags",
    "assume_role_transitive_tag_keys",
    "assume_role_with_web_identity",
    "bucket",
    "custom_ca_bundle",
    "dynamodb_endpoint",
    "dynamodb_table",
    "ec2_metadata_service_endpoint",
    "ec2_metadata_service_endpoint_mode",
    "encrypt",
    "endpoint",
    "endpoints",
    "external_id",
    "forbidden_account_ids",
    "force_path_style",
    "http_proxy",
    "https_proxy",
    "iam_endpoint",
    "insecure",
    "key",
    "kms_key_id",
    "lock_tags",
    "max_retries",
    "no_proxy",
    "profile",
    "region",
    "retry_mode",
    "role_arn",
    "secret_key",
    "session_name",
    "shared_config_files",
    "shared_credentials_file",
    "shared_credentials_files",
    "skip_credentials_validation",
    "skip_get_ec2_platforms",
    "skip_metadata_api_check",
    "skip_region_validation",
    "skip_requesting_account_id",
    "skip_s3_checksum",
    "sse_customer_key",
    "state_tags",
    "sts_endpoint",
    "sts_region",
    "token",
    "use_dualstack_endpoint",
    "use_fips_endpoint",
    "use_legacy_workflow",
    "use_lockfile",
    "use_path_style",
    "workspace_key_prefix",
];

/// Object-typed arguments that may also be written as nested blocks.
const OBJECT_ATTRIBUTES: &[&str] = &["endpoints", "assume_role", "assume_role_with_web_identity"];

/// Keys of the 1.6+ `endpoints` object.
const ENDPOINTS_KEYS: &[&str] = &["dynamodb", "iam", "s3", "sso", "sts"];

const BLOCK: &str = "backend \"s3\"";

/// One attribute of the S3 backend with where it was set.
struct RawAttr {
    value: hcl::Value,
    file: PathBuf,
    line: usize,
    column: usize,
    /// Positions of the keys of an object value (`endpoints`).
    key_pos: KeyPos,
}

impl RawAttr {
    fn error(&self, kind: ConfigErrorKind) -> ConfigError {
        ConfigError::at(&self.file, self.line, self.column, kind)
    }
}

type RawBackend = BTreeMap<String, RawAttr>;

/// (line, column) of each key of an object value.
type KeyPos = HashMap<String, (usize, usize)>;

/// A backend block found in a `.tf` file.
struct Found {
    backend_type: String,
    at: String,
    attrs: RawBackend,
}

/// Reads `DIR/*.tf`'s `backend "s3"` block, completes it with
/// `backend_configs` (in order, later wins) and determines the workspace from
/// `env` (`TF_WORKSPACE`, `TF_DATA_DIR`) and `DIR/.terraform/environment`.
pub fn load_backend_dir(
    dir: &Path,
    backend_configs: &[PathBuf],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BackendSettings, ConfigError> {
    let (primary, overrides) = list_tf_files(dir)?;
    let mut found: Option<Found> = None;
    for path in &primary {
        for backend in backends_in(path)? {
            if let Some(first) = &found {
                let describe = |f: &Found| format!("`backend \"{}\"` at {}", f.backend_type, f.at);
                return Err(ConfigError::new(ConfigErrorKind::DuplicateBackend {
                    first: describe(first),
                    second: describe(&backend),
                }));
            }
            found = Some(backend);
        }
    }
    for path in &overrides {
        if let Some(last) = backends_in(path)?.pop() {
            found = Some(last);
        }
    }
    let found = match found {
        Some(f) if f.backend_type == "s3" => f,
        other => {
            return Err(ConfigError::new(ConfigErrorKind::NoS3Backend {
                dir: dir.to_path_buf(),
                other: other.map(|f| (f.backend_type, f.at)),
            }))
        }
    };

    let mut attrs = found.attrs;
    let mut used = vec![found.at.clone()];
    for path in backend_configs {
        let src = Source::read(path, "backend config file")?;
        let body = src.parse()?;
        attrs.extend(read_backend_body(&src, &body)?);
        used.push(path.display().to_string());
    }

    let mut settings = interpret(&attrs)?;
    settings.workspace = Some(terraform_workspace(dir, env)?);
    settings.origin = Some(format!(
        "backend dir {} ({})",
        dir.display(),
        used.join(" + ")
    ));
    Ok(settings)
}

/// `.tf` files of `dir`, sorted, split into primary and override files.
fn list_tf_files(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|source| {
        ConfigError::in_file(
            dir,
            ConfigErrorKind::Io {
                what: "backend directory".into(),
                source,
            },
        )
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| !t.is_dir()).unwrap_or(false))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tf") && !terraform_ignores(n))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(ConfigError::new(ConfigErrorKind::NoTfFiles {
            dir: dir.to_path_buf(),
        }));
    }
    let (overrides, primary): (Vec<String>, Vec<String>) = names
        .into_iter()
        .partition(|n| n == "override.tf" || n.ends_with("_override.tf"));
    let full = |v: Vec<String>| v.into_iter().map(|n| dir.join(n)).collect();
    Ok((full(primary), full(overrides)))
}

/// Every `.tf` file of a module directory, primary files then overrides,
/// each group in name order (no `.tf` file is not an error here).
pub(crate) fn tf_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    match list_tf_files(dir) {
        Ok((mut primary, overrides)) => {
            primary.extend(overrides);
            Ok(primary)
        }
        Err(e) if matches!(*e.kind, ConfigErrorKind::NoTfFiles { .. }) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Files Terraform skips when loading a module (editor backups and hidden files).
fn terraform_ignores(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || (name.starts_with('#') && name.ends_with('#'))
}

/// Parses Terraform text (`tfbackend: false`: a `.tf` file's `terraform {
/// backend "s3" { ... } }` blocks) or a `.tfbackend` file's attributes, as
/// [`load_backend_dir`] does, from text: the fuzz harness's entry point
/// (`tests/fuzz.rs`).
pub fn parse_backend_text(
    text: &str,
    tfbackend: bool,
) -> Result<Vec<BackendSettings>, ConfigError> {
    let src = Source::new(PathBuf::from("fuzz.tf"), text.to_owned());
    let body = src.parse()?;
    if tfbackend {
        return Ok(vec![interpret(&read_backend_body(&src, &body)?)?]);
    }
    let mut out = Vec::new();
    for tf in body.get_blocks("terraform") {
        for backend in tf.body.get_blocks("backend") {
            out.push(interpret(&read_backend_body(&src, &backend.body)?)?);
        }
    }
    Ok(out)
}

/// Every `backend` block inside the `terraform` blocks of one file.
fn backends_in(path: &Path) -> Result<Vec<Found>, ConfigError> {
    let src = Source::read(path, "Terraform file")?;
    let body = src.parse()?;
    let mut out = Vec::new();
    for tf in body.get_blocks("terraform") {
        for backend in tf.body.get_blocks("backend") {
            let backend_type = backend
                .labels
                .first()
                .map(|l| l.as_str().to_string())
                .unwrap_or_default();
            let at = src.label(backend.ident.span());
            let attrs = if backend_type == "s3" {
                read_backend_body(&src, &backend.body)?
            } else {
                RawBackend::new()
            };
            out.push(Found {
                backend_type,
                at,
                attrs,
            });
        }
    }
    Ok(out)
}

/// Reads the attributes of a `backend "s3"` body or a `.tfbackend` file.
fn read_backend_body(src: &Source, body: &Body) -> Result<RawBackend, ConfigError> {
    let mut out = RawBackend::new();
    let mut seen = SeenKeys::default();
    for structure in body.iter() {
        let (key, span, value, key_pos) = match structure {
            Structure::Attribute(attr) => {
                let key = attr.key.as_str();
                let span = attr.key.span();
                check_known(src, key, span.clone())?;
                seen.check(src, key, span.clone(), Some(BLOCK))?;
                let value = src.literal(&attr.value, key, Some(BLOCK))?;
                (key, span, value, object_key_positions(src, &attr.value))
            }
            Structure::Block(block) => {
                let key = block.ident.as_str();
                let span = block.ident.span();
                if !OBJECT_ATTRIBUTES.contains(&key) {
                    if S3_BACKEND_ATTRIBUTES.contains(&key) {
                        return Err(src.error(
                            span,
                            ConfigErrorKind::WrongForm {
                                key: key.into(),
                                block: Some(BLOCK.into()),
                                expected: format!("an attribute: `{key} = value`"),
                            },
                        ));
                    }
                    check_known(src, key, span.clone())?;
                }
                seen.check(src, key, span.clone(), Some(BLOCK))?;
                let (value, key_pos) = nested_block_object(src, block)?;
                (key, span, value, key_pos)
            }
        };
        let (line, column) = span.map_or((0, 0), |r| src.line_col(r.start));
        out.insert(
            key.to_string(),
            RawAttr {
                value,
                file: src.path.clone(),
                line,
                column,
                key_pos,
            },
        );
    }
    Ok(out)
}

fn check_known(
    src: &Source,
    key: &str,
    span: Option<std::ops::Range<usize>>,
) -> Result<(), ConfigError> {
    if S3_BACKEND_ATTRIBUTES.contains(&key) {
        return Ok(());
    }
    let reason = if key == "workspace" {
        "; the workspace is not a backend setting: use `terraform workspace select`, TF_WORKSPACE or --workspace"
    } else {
        ""
    };
    let mut err = src.error(
        span,
        ConfigErrorKind::UnknownKey {
            key: key.to_string(),
            block: Some(BLOCK.into()),
            expected: S3_BACKEND_ATTRIBUTES.to_vec(),
        },
    );
    if !reason.is_empty() {
        *err.kind = ConfigErrorKind::InvalidValue {
            key: key.to_string(),
            block: Some(BLOCK.into()),
            reason: format!("Terraform's S3 backend has no such argument{reason}"),
        };
    }
    Err(err)
}

/// Positions of literal keys in an object constructor.
fn object_key_positions(src: &Source, expr: &Expression) -> KeyPos {
    let mut out = HashMap::new();
    if let Expression::Object(obj) = expr {
        for (k, _) in obj.iter() {
            if let Some((name, Some(span))) = object_key(k) {
                out.insert(name, src.line_col(span.start));
            }
        }
    }
    out
}

/// A nested block such as `endpoints { s3 = "..." }` read as an object value.
fn nested_block_object(src: &Source, block: &Block) -> Result<(hcl::Value, KeyPos), ConfigError> {
    let name = block.ident.as_str();
    let context = format!("{BLOCK} {name}");
    if let Some(label) = block.labels.first() {
        return Err(src.error(
            label.span(),
            ConfigErrorKind::UnexpectedLabels { block: name.into() },
        ));
    }
    let mut map = hcl::Map::new();
    let mut key_pos = HashMap::new();
    let mut seen = SeenKeys::default();
    for structure in block.body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let key = attr.key.as_str();
                let span = attr.key.span();
                seen.check(src, key, span.clone(), Some(&context))?;
                let value = src.literal(&attr.value, key, Some(&context))?;
                if let Some(r) = span {
                    key_pos.insert(key.to_string(), src.line_col(r.start));
                }
                map.insert(key.to_string(), value);
            }
            Structure::Block(inner) => {
                return Err(src.error(
                    inner.ident.span(),
                    ConfigErrorKind::WrongForm {
                        key: inner.ident.as_str().into(),
                        block: Some(context),
                        expected: "an attribute: `key = value`".into(),
                    },
                ))
            }
        }
    }
    Ok((hcl::Value::Object(map), key_pos))
}

/// Maps the merged raw attributes onto [`BackendSettings`].
fn interpret(attrs: &RawBackend) -> Result<BackendSettings, ConfigError> {
    let string = |name: &str| -> Result<Option<String>, ConfigError> {
        attrs.get(name).map_or(Ok(None), |a| to_string(a, name))
    };
    let boolean = |name: &str| -> Result<Option<bool>, ConfigError> {
        attrs.get(name).map_or(Ok(None), |a| to_bool(a, name))
    };
    let tags = |name: &str| -> Result<Option<BTreeMap<String, String>>, ConfigError> {
        attrs.get(name).map_or(Ok(None), |a| {
            string_map(&a.value).map(Some).map_err(|reason| {
                a.error(ConfigErrorKind::InvalidValue {
                    key: name.into(),
                    block: Some(BLOCK.into()),
                    reason,
                })
            })
        })
    };
    let endpoints = match attrs.get("endpoints") {
        Some(a) => endpoints(a)?,
        None => HashMap::new(),
    };
    let mut reader = AccessReader::terraform();
    for (key, a) in attrs {
        reader.set(key, &a.value).map_err(|reason| {
            a.error(ConfigErrorKind::InvalidValue {
                key: key.clone(),
                block: Some(BLOCK.into()),
                reason,
            })
        })?;
    }
    reader.endpoints(
        endpoints.get("sts"),
        endpoints.get("iam"),
        endpoints.get("sso"),
    );
    let access = reader.finish().map_err(|(key, reason)| {
        let kind = ConfigErrorKind::InvalidValue {
            key: key.clone(),
            block: Some(BLOCK.into()),
            reason,
        };
        match attrs.get(&key) {
            Some(a) => a.error(kind),
            None => ConfigError::new(kind),
        }
    })?;
    Ok(BackendSettings {
        bucket: string("bucket")?,
        key: string("key")?,
        region: string("region")?,
        dynamodb_table: string("dynamodb_table")?,
        workspace: None,
        // An empty prefix is meaningful (no prefix), so keep it.
        workspace_key_prefix: match attrs.get("workspace_key_prefix") {
            Some(a) => match &a.value {
                hcl::Value::String(s) => Some(s.clone()),
                _ => to_string(a, "workspace_key_prefix")?,
            },
            None => None,
        },
        endpoint_url: None,
        s3_endpoint: match endpoints.get("s3") {
            Some(v) => Some(v.clone()),
            None => string("endpoint")?,
        },
        dynamodb_endpoint: match endpoints.get("dynamodb") {
            Some(v) => Some(v.clone()),
            None => string("dynamodb_endpoint")?,
        },
        force_path_style: match boolean("use_path_style")? {
            Some(v) => Some(v),
            None => boolean("force_path_style")?,
        },
        use_lockfile: boolean("use_lockfile")?,
        profile: string("profile")?,
        access,
        encryption: EncryptionSettings {
            encrypt: boolean("encrypt")?,
            kms_key_id: string("kms_key_id")?,
            sse_customer_key: string("sse_customer_key")?,
            acl: string("acl")?,
            skip_s3_checksum: boolean("skip_s3_checksum")?,
            state_tags: tags("state_tags")?,
            lock_tags: tags("lock_tags")?,
        },
        origin: None,
    })
}

fn wrong_type(a: &RawAttr, key: &str, expected: ValueType, found: &hcl::Value) -> ConfigError {
    a.error(ConfigErrorKind::WrongType {
        key: key.to_string(),
        block: Some(BLOCK.into()),
        expected,
        found: ValueType::of(found),
    })
}

/// Terraform's string conversion: numbers and booleans become strings,
/// null and "" mean unset.
fn scalar_string(a: &RawAttr, key: &str, v: &hcl::Value) -> Result<Option<String>, ConfigError> {
    match v {
        hcl::Value::Null => Ok(None),
        hcl::Value::String(s) if s.is_empty() => Ok(None),
        hcl::Value::String(s) => Ok(Some(s.clone())),
        hcl::Value::Number(n) => Ok(Some(n.to_string())),
        hcl::Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(wrong_type(a, key, ValueType::String, other)),
    }
}

fn to_string(a: &RawAttr, key: &str) -> Result<Option<String>, ConfigError> {
    scalar_string(a, key, &a.value)
}

/// Terraform's bool conversion: `true`/`false`, or the strings
/// `"true"`/`"false"`/`"1"`/`"0"`; null means unset.
fn to_bool(a: &RawAttr, key: &str) -> Result<Option<bool>, ConfigError> {
    match &a.value {
        hcl::Value::Null => Ok(None),
        hcl::Value::Bool(b) => Ok(Some(*b)),
        hcl::Value::String(s) if s == "true" || s == "1" => Ok(Some(true)),
        hcl::Value::String(s) if s == "false" || s == "0" => Ok(Some(false)),
        other => Err(wrong_type(a, key, ValueType::Bool, other)),
    }
}

/// The 1.6+ `endpoints` object, with unknown service names rejected.
fn endpoints(a: &RawAttr) -> Result<HashMap<String, String>, ConfigError> {
    let map = match &a.value {
        hcl::Value::Null => return Ok(HashMap::new()),
        hcl::Value::Object(m) => m,
        other => return Err(wrong_type(a, "endpoints", ValueType::Object, other)),
    };
    let mut out = HashMap::new();
    for (service, value) in map {
        let located = |kind: ConfigErrorKind| match a.key_pos.get(service) {
            Some((line, col)) => ConfigError::at(&a.file, *line, *col, kind),
            None => a.error(kind),
        };
        if !ENDPOINTS_KEYS.contains(&service.as_str()) {
            return Err(located(ConfigErrorKind::UnknownKey {
                key: service.clone(),
                block: Some(format!("{BLOCK} endpoints")),
                expected: ENDPOINTS_KEYS.to_vec(),
            }));
        }
        let key = format!("endpoints.{service}");
        match scalar_string(a, &key, value) {
            Ok(Some(url)) => {
                out.insert(service.clone(), url);
            }
            Ok(None) => {}
            Err(e) => return Err(located(*e.kind)),
        }
    }
    Ok(out)
}

/// The workspace Terraform would use in `dir`.
fn terraform_workspace(
    dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    if let Some(ws) = env(TF_WORKSPACE).filter(|w| !w.is_empty()) {
        validate_workspace_name(&ws).map_err(|reason| {
            ConfigError::new(ConfigErrorKind::InvalidWorkspace {
                name: ws.clone(),
                origin: format!("environment variable {TF_WORKSPACE}"),
                reason,
            })
        })?;
        return Ok(ws);
    }
    let data_dir = env(TF_DATA_DIR)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| ".terraform".to_string());
    let path = dir.join(data_dir).join("environment");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let ws = text.trim();
            if ws.is_empty() {
                return Ok(DEFAULT_WORKSPACE.to_string());
            }
            validate_workspace_name(ws).map_err(|reason| {
                ConfigError::in_file(
                    &path,
                    ConfigErrorKind::InvalidWorkspace {
                        name: ws.to_string(),
                        origin: path.display().to_string(),
                        reason,
                    },
                )
            })?;
            Ok(ws.to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DEFAULT_WORKSPACE.to_string()),
        Err(source) => Err(ConfigError::in_file(
            &path,
            ConfigErrorKind::Io {
                what: "Terraform workspace file".into(),
                source,
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backend_dir")
    }

    /// A temp dir with the given files (path, content).
    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn load(files: &[(&str, &str)], configs: &[&str]) -> Result<BackendSettings, ConfigError> {
        let dir = dir_with(files);
        let configs: Vec<PathBuf> = configs.iter().map(|c| dir.path().join(c)).collect();
        load_backend_dir(dir.path(), &configs, &no_env)
    }

    #[test]
    fn fixture_partial_block_completed_by_tfbackend() {
        let dir = fixture();
        let s = load_backend_dir(&dir, &[dir.join("prod.s3.tfbackend")], &no_env).unwrap();
        assert_eq!(
            s.bucket.as_deref(),
            Some("mlops-platform-tfstate-123456789012")
        );
        assert_eq!(
            s.key.as_deref(),
            Some("mlops-platform/prod/terraform.tfstate")
        );
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            s.dynamodb_table.as_deref(),
            Some("mlops-platform-tfstate-lock")
        );
        assert_eq!(s.workspace.as_deref(), Some("default"));
        assert_eq!(s.s3_endpoint, None);
        assert_eq!(s.force_path_style, None);
        let origin = s.origin.unwrap();
        assert!(origin.contains("main.tf:"), "{origin}");
        assert!(origin.contains("prod.s3.tfbackend"), "{origin}");
    }

    #[test]
    fn fixture_without_config_lacks_bucket_and_key() {
        let s = load_backend_dir(&fixture(), &[], &no_env).unwrap();
        assert_eq!(s.bucket, None);
        assert_eq!(s.key, None);
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn fixture_emulator_config_uses_terraform_1_0_names() {
        let dir = fixture();
        let s = load_backend_dir(&dir, &[dir.join("local.s3.tfbackend")], &no_env).unwrap();
        assert_eq!(s.s3_endpoint.as_deref(), Some("http://127.0.0.1:5055"));
        assert_eq!(
            s.dynamodb_endpoint.as_deref(),
            Some("http://127.0.0.1:5055")
        );
        assert_eq!(s.force_path_style, Some(true));
    }

    #[test]
    fn later_backend_config_files_win() {
        let s = load(
            &[
                (
                    "main.tf",
                    "terraform {\n  backend \"s3\" {\n    bucket = \"from-block\"\n    region = \"us-east-1\"\n  }\n}\n",
                ),
                ("a.tfbackend", "bucket = \"from-a\"\nkey = \"a/key\"\n"),
                ("b.tfbackend", "key = \"b/key\"\nprofile = \"ops\"\n"),
            ],
            &["a.tfbackend", "b.tfbackend"],
        )
        .unwrap();
        assert_eq!(s.bucket.as_deref(), Some("from-a"));
        assert_eq!(s.key.as_deref(), Some("b/key"));
        assert_eq!(s.region.as_deref(), Some("us-east-1"));
        assert_eq!(s.profile.as_deref(), Some("ops"));
    }

    /// (name, backend body, s3 endpoint, dynamodb endpoint, path style)
    #[allow(clippy::type_complexity)]
    const ENDPOINT_CASES: &[(&str, &str, Option<&str>, Option<&str>, Option<bool>)] = &[
        (
            "1.0 names",
            "endpoint = \"http://old-s3\"\ndynamodb_endpoint = \"http://old-ddb\"\nforce_path_style = true",
            Some("http://old-s3"),
            Some("http://old-ddb"),
            Some(true),
        ),
        (
            "1.6 attribute",
            "endpoints = { s3 = \"http://new-s3\", dynamodb = \"http://new-ddb\" }\nuse_path_style = true",
            Some("http://new-s3"),
            Some("http://new-ddb"),
            Some(true),
        ),
        (
            "1.6 block",
            "endpoints {\n  s3 = \"http://new-s3\"\n  dynamodb = \"http://new-ddb\"\n}\nuse_path_style = false",
            Some("http://new-s3"),
            Some("http://new-ddb"),
            Some(false),
        ),
        (
            "both: new wins",
            "endpoint = \"http://old-s3\"\ndynamodb_endpoint = \"http://old-ddb\"\nforce_path_style = false\nendpoints { s3 = \"http://new-s3\" }\nuse_path_style = true",
            Some("http://new-s3"),
            Some("http://old-ddb"),
            Some(true),
        ),
        (
            "string booleans convert",
            "force_path_style = \"true\"",
            None,
            None,
            Some(true),
        ),
        (
            "ignored arguments",
            "encrypt = true\nkms_key_id = \"arn:aws:kms:eu-west-1:1:key/x\"\nacl = \"private\"\nassume_role {\n  role_arn = \"arn:aws:iam::1:role/y\"\n}\nskip_credentials_validation = true\nskip_region_validation = true\nskip_metadata_api_check = true\nsts_endpoint = \"http://sts\"\nshared_credentials_file = \"~/.aws/credentials\"\nshared_credentials_files = [\"a\", \"b\"]\nmax_retries = 5",
            None,
            None,
            None,
        ),
    ];

    #[test]
    fn endpoint_names_of_terraform_1_0_and_1_6() {
        for (name, body, s3, ddb, path_style) in ENDPOINT_CASES {
            let tf = format!(
                "terraform {{\n  backend \"s3\" {{\n    bucket = \"b\"\n    key = \"k\"\n{body}\n  }}\n}}\n"
            );
            let s = load(&[("main.tf", &tf)], &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s.s3_endpoint.as_deref(), *s3, "{name}");
            assert_eq!(s.dynamodb_endpoint.as_deref(), *ddb, "{name}");
            assert_eq!(s.force_path_style, *path_style, "{name}");
            assert_eq!(s.endpoint_url, None, "{name}");
        }
    }

    #[test]
    fn access_arguments_old_and_new() {
        let s = load(
            &[
                (
                    "main.tf",
                    "terraform {\n  backend \"s3\" {\n    role_arn = \"arn:aws:iam::111111111111:role/old\"\n    session_name = \"s\"\n    sts_endpoint = \"http://old-sts\"\n    endpoints = { sts = \"http://new-sts\" }\n    shared_credentials_file = \"creds\"\n    profile = \"p\"\n    forbidden_account_ids = [\"222222222222\"]\n  }\n}\n",
                ),
                (
                    "x.tfbackend",
                    "assume_role_with_web_identity = { role_arn = \"arn:aws:iam::111111111111:role/ci\", web_identity_token_file = \"/t\" }\n",
                ),
            ],
            &["x.tfbackend"],
        )
        .unwrap();
        let a = &s.access;
        let role = a.assume_role.as_ref().unwrap();
        assert_eq!(role.role_arn, "arn:aws:iam::111111111111:role/old");
        assert_eq!(role.session_name.as_deref(), Some("s"));
        assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
        assert_eq!(a.sts_endpoint.as_deref(), Some("http://new-sts"));
        assert_eq!(a.shared_credentials_files, Some(vec!["creds".to_string()]));
        assert_eq!(
            a.web_identity.as_ref().unwrap().token_file.as_deref(),
            Some("/t")
        );
        assert_eq!(s.profile.as_deref(), Some("p"));

        let err = load(
            &[(
                "main.tf",
                "terraform {\n  backend \"s3\" {\n    assume_role {\n      role_arn = \"nope\"\n    }\n  }\n}\n",
            )],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("main.tf:3") && err.contains("is not a role ARN"),
            "{err}"
        );
    }

    #[test]
    fn encryption_settings_from_block_and_tfbackend() {
        let s = load(
            &[
                (
                    "main.tf",
                    "terraform {\n  backend \"s3\" {\n    bucket = \"b\"\n    key = \"k\"\n    encrypt = \"true\"\n    acl = \"private\"\n  }\n}\n",
                ),
                (
                    "prod.s3.tfbackend",
                    "kms_key_id = \"alias/state\"\nacl = \"bucket-owner-full-control\"\nskip_s3_checksum = true\nstate_tags = { team = \"platform\" }\nlock_tags = { kind = \"lock\" }\n",
                ),
            ],
            &["prod.s3.tfbackend"],
        )
        .unwrap();
        assert_eq!(
            s.encryption,
            EncryptionSettings {
                encrypt: Some(true),
                kms_key_id: Some("alias/state".into()),
                sse_customer_key: None,
                acl: Some("bucket-owner-full-control".into()),
                skip_s3_checksum: Some(true),
                state_tags: Some([("team".to_string(), "platform".to_string())].into()),
                lock_tags: Some([("kind".to_string(), "lock".to_string())].into()),
            }
        );
        let err = load(
            &[(
                "main.tf",
                "terraform {\n  backend \"s3\" {\n    bucket = \"b\"\n    key = \"k\"\n    lock_tags = [\"x\"]\n  }\n}\n",
            )],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("main.tf:5")
                && err.contains("lock_tags")
                && err.contains("object of strings"),
            "{err}"
        );
        let err = load(
            &[(
                "main.tf",
                "terraform {\n  backend \"s3\" {\n    bucket = \"b\"\n    key = \"k\"\n    encrypt = \"yes\"\n  }\n}\n",
            )],
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("encrypt"), "{err}");
    }

    #[test]
    fn tfbackend_endpoints_override_block_endpoint() {
        let s = load(
            &[
                (
                    "main.tf",
                    "terraform {\n  backend \"s3\" {\n    endpoint = \"http://old\"\n  }\n}\n",
                ),
                ("x.tfbackend", "endpoints = { s3 = \"http://new\" }\n"),
            ],
            &["x.tfbackend"],
        )
        .unwrap();
        assert_eq!(s.s3_endpoint.as_deref(), Some("http://new"));
    }

    #[test]
    fn workspace_from_tf_workspace_then_environment_file_then_default() {
        let dir = dir_with(&[
            ("main.tf", "terraform {\n  backend \"s3\" {}\n}\n"),
            (".terraform/environment", "staging\n"),
            ("data/environment", "from-data-dir"),
        ]);
        let tf_ws = |k: &str| (k == TF_WORKSPACE).then(|| "feature-x".to_string());
        let data = |k: &str| (k == TF_DATA_DIR).then(|| "data".to_string());
        let ws = |env: &dyn Fn(&str) -> Option<String>| {
            load_backend_dir(dir.path(), &[], env)
                .unwrap()
                .workspace
                .unwrap()
        };
        assert_eq!(ws(&tf_ws), "feature-x");
        assert_eq!(ws(&no_env), "staging");
        assert_eq!(ws(&data), "from-data-dir");
        std::fs::remove_file(dir.path().join(".terraform/environment")).unwrap();
        assert_eq!(ws(&no_env), "default");

        let bad = |k: &str| (k == TF_WORKSPACE).then(|| "a/b".to_string());
        let err = load_backend_dir(dir.path(), &[], &bad).unwrap_err();
        assert!(err.to_string().contains("TF_WORKSPACE"), "{err}");
    }

    #[test]
    fn files_are_read_in_order_and_ignored_files_skipped() {
        // Backups and hidden files would be duplicate backends if read.
        let block = "terraform {\n  backend \"s3\" { bucket = \"real\" }\n}\n";
        let s = load(
            &[
                ("b.tf", block),
                ("a.tf", "variable \"x\" {}\n"),
                (".hidden.tf", block),
                ("b.tf~", block),
                ("#b.tf#", block),
                ("notes.txt", block),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(s.bucket.as_deref(), Some("real"));
    }

    #[test]
    fn override_file_replaces_backend() {
        let s = load(
            &[
                (
                    "main.tf",
                    "terraform {\n  backend \"s3\" { bucket = \"main\" }\n}\n",
                ),
                (
                    "main_override.tf",
                    "terraform {\n  backend \"s3\" { bucket = \"override\" }\n}\n",
                ),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(s.bucket.as_deref(), Some("override"));
    }

    #[test]
    fn errors() {
        let two = load(
            &[
                ("a.tf", "terraform {\n  backend \"s3\" {}\n}\n"),
                ("b.tf", "\n\nterraform {\n  backend \"s3\" {}\n}\n"),
            ],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(two.contains("a.tf:2") && two.contains("b.tf:4"), "{two}");
        assert!(two.starts_with("two backend blocks"), "{two}");

        let none = load(&[("main.tf", "provider \"aws\" {}\n")], &[])
            .unwrap_err()
            .to_string();
        assert!(none.contains("no `backend \"s3\"` block"), "{none}");

        let other = load(
            &[("main.tf", "terraform {\n  backend \"local\" {}\n}\n")],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(other.contains("found `backend \"local\"` at"), "{other}");

        let empty = load(&[("README.md", "x")], &[]).unwrap_err().to_string();
        assert!(empty.contains("no .tf files"), "{empty}");

        // (name, main.tf, line, column, message)
        let located: &[(&str, &str, usize, usize, &str)] = &[
            (
                "variable",
                "terraform {\n  backend \"s3\" {\n    bucket = var.bucket\n  }\n}\n",
                3,
                14,
                "not a literal value (it refers to `var`)",
            ),
            (
                "function",
                "terraform {\n  backend \"s3\" {\n    key = \"x\"\n    bucket = lower(\"B\")\n  }\n}\n",
                4,
                14,
                "it calls function `lower()`",
            ),
            (
                "unknown key",
                "terraform {\n  backend \"s3\" {\n    bukcet = \"b\"\n  }\n}\n",
                3,
                5,
                "unknown key \"bukcet\" in block `backend \"s3\"` (expected one of: access_key,",
            ),
            (
                "unknown endpoint service",
                "terraform {\n  backend \"s3\" {\n    endpoints = {\n      s4 = \"x\"\n    }\n  }\n}\n",
                4,
                7,
                "unknown key \"s4\"",
            ),
            (
                "wrong type",
                "terraform {\n  backend \"s3\" {\n    use_path_style = \"maybe\"\n  }\n}\n",
                3,
                5,
                "must be a boolean",
            ),
            (
                "workspace is not a backend argument",
                "terraform {\n  backend \"s3\" {\n    workspace = \"x\"\n  }\n}\n",
                3,
                5,
                "TF_WORKSPACE",
            ),
            (
                "duplicate argument",
                "terraform {\n  backend \"s3\" {\n    region = \"eu-west-1\"\n    region = \"us-east-1\"\n  }\n}\n",
                4,
                5,
                "duplicate key \"region\" in block `backend \"s3\"` (first set on line 3)",
            ),
            (
                "syntax",
                "terraform {\n  backend \"s3\" {\n    bucket = \n  }\n}\n",
                3,
                14,
                "HCL syntax error",
            ),
        ];
        for (name, text, line, col, msg) in located {
            let err = load(&[("main.tf", text)], &[]).unwrap_err();
            assert!(
                err.file.as_ref().unwrap().ends_with("main.tf"),
                "{name}: {err}"
            );
            assert_eq!(
                (err.line, err.column),
                (Some(*line), Some(*col)),
                "{name}: {err}"
            );
            assert!(err.to_string().contains(msg), "{name}: {err}");
        }

        // Errors in a .tfbackend file name that file.
        let err = load(
            &[
                ("main.tf", "terraform {\n  backend \"s3\" {}\n}\n"),
                ("x.tfbackend", "bucket = \"b\"\n\nbucket = \"c\"\n"),
            ],
            &["x.tfbackend"],
        )
        .unwrap_err();
        assert!(err.file.as_ref().unwrap().ends_with("x.tfbackend"), "{err}");
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.to_string().contains("first set on line 1"), "{err}");

        let missing = load(
            &[("main.tf", "terraform {\n  backend \"s3\" {}\n}\n")],
            &["nope.tfbackend"],
        )
        .unwrap_err()
        .to_string();
        assert!(
            missing.contains("cannot read backend config file"),
            "{missing}"
        );
    }
}
