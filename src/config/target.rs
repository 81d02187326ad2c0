//! The resolved state location: [`resolve`] merges the three layers and
//! validates them into a [`Target`].

use serde::Serialize;

use crate::config::access::{web_identity_from_env, AccessSettings};
use crate::config::encryption::{resolve_encryption, ObjectWrites};
use crate::config::envfile::EnvFile;
use crate::config::error::{ConfigError, ConfigErrorKind};
use crate::config::{
    validate_state_key, validate_workspace_key_prefix, validate_workspace_name, BackendSettings,
    DEFAULT_WORKSPACE, DEFAULT_WORKSPACE_KEY_PREFIX,
};
use crate::envvars::AWS_SSE_CUSTOMER_KEY;
use crate::envvars::{
    AWS_ACCESS_KEY_ID, AWS_CA_BUNDLE, AWS_ENDPOINT_ENV_VARS, AWS_ENDPOINT_URL_STS, AWS_PROFILE,
    AWS_ROLE_SESSION_NAME, AWS_WEB_IDENTITY_TOKEN_FILE,
};

/// Where the state is, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub bucket: String,
    /// The base key as written in the backend; see [`Target::state_key`].
    pub key: String,
    pub workspace: String,
    pub workspace_key_prefix: String,
    /// `None`: the AWS default chain (`AWS_REGION`, profile, IMDS).
    pub region: Option<String>,
    pub dynamodb_table: Option<String>,
    pub use_lockfile: bool,
    /// Effective S3 endpoint: `s3_endpoint`, else `endpoint_url`.
    pub s3_endpoint: Option<String>,
    /// Effective DynamoDB endpoint: `dynamodb_endpoint`, else `endpoint_url`.
    pub dynamodb_endpoint: Option<String>,
    /// Endpoint for every AWS service (STS, KMS, ...), if given.
    pub endpoint_url: Option<String>,
    /// Path-style S3 addressing: as set, else implied by any custom S3
    /// endpoint (including the `AWS_ENDPOINT_URL*` variables).
    pub force_path_style: bool,
    pub profile: Option<String>,
    /// Credentials, roles and connection settings, merged; the process
    /// environment's web identity (`AWS_ROLE_ARN` +
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`, when no static keys are set) and
    /// `AWS_ENDPOINT_URL_STS` / `AWS_CA_BUNDLE` fill what no layer sets.
    pub access: AccessSettings,
    /// What every write of the state or its lock file sends (SSE, ACL,
    /// checksum), and the SSE-C key every read sends.
    pub encryption: ObjectWrites,
    /// Which of `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3` are set (non-empty);
    /// the AWS SDK applies them itself when no endpoint is configured here.
    pub aws_endpoint_env: Vec<String>,
    /// Where the settings came from, e.g. `environment file
    /// environments/prod.hcl (bucket, key, region); command-line flags
    /// (--workspace)`.
    pub source: String,
}

impl Target {
    /// The object key of the state in the current workspace, as Terraform
    /// computes it: `key` for `default`, else `<prefix>/<workspace>/<key>`
    /// (without the prefix when it is empty).
    pub fn state_key(&self) -> String {
        if self.workspace == DEFAULT_WORKSPACE {
            self.key.clone()
        } else if self.workspace_key_prefix.is_empty() {
            format!("{}/{}", self.workspace, self.key)
        } else {
            format!(
                "{}/{}/{}",
                self.workspace_key_prefix, self.workspace, self.key
            )
        }
    }

    /// The DynamoDB `LockID` of the state lock: `<bucket>/<state_key>`.
    pub fn lock_id(&self) -> String {
        crate::model::lock_names::lock_id(&self.bucket, &self.state_key())
    }

    /// The DynamoDB `LockID` of the state's MD5 digest item.
    pub fn digest_lock_id(&self) -> String {
        crate::model::lock_names::digest_id(&self.lock_id())
    }

    /// The S3 lock object key used with `use_lockfile`: `<state_key>.tflock`.
    pub fn lockfile_key(&self) -> String {
        crate::model::lock_names::lock_file_key(&self.state_key())
    }
}

const FLAGS_LABEL: &str = "command-line flags";

/// Merges the layers (backend dir, then the environment file, then flags;
/// each set field of a higher layer wins) and validates the result.
///
/// `flags` must leave unset everything the user did not pass (in particular
/// `workspace_key_prefix`: its `env:` default is applied here, last).
/// `env` looks up process environment variables (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_S3`).
pub fn resolve(
    flags: BackendSettings,
    env_file: Option<&EnvFile>,
    backend_dir: Option<BackendSettings>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Target, ConfigError> {
    // Lowest first.
    let mut layers: Vec<(String, BackendSettings)> = Vec::new();
    if let Some(dir) = backend_dir {
        let label = dir.origin.clone().unwrap_or_else(|| "backend dir".into());
        layers.push((label, dir));
    }
    if let Some(file) = env_file {
        let label = format!("environment file {}", file.path.display());
        layers.push((label, file.backend.clone()));
    }
    layers.push((FLAGS_LABEL.to_string(), flags));

    // Who provided each field (index into `layers`).
    let mut provider: [Option<usize>; 12] = [None; 12];
    for (i, (_, layer)) in layers.iter().enumerate() {
        for (slot, set) in provider.iter_mut().zip(layer.is_set()) {
            if set {
                *slot = Some(i);
            }
        }
    }
    let origin_of = |field: &str| -> String {
        BackendSettings::FIELDS
            .iter()
            .position(|f| *f == field)
            .and_then(|i| provider[i])
            .map_or_else(|| "default".to_string(), |i| layers[i].0.clone())
    };
    let source = describe(&layers, &provider);

    let merged = layers
        .iter()
        .fold(BackendSettings::default(), |acc, (_, l)| {
            acc.overlay(l.clone())
        });

    let bucket = match merged.bucket {
        None => {
            return Err(ConfigError::new(ConfigErrorKind::MissingSetting {
                what: "state bucket",
                flag: "--bucket",
                key: "bucket",
            }))
        }
        Some(b) if b.is_empty() => {
            return Err(ConfigError::new(ConfigErrorKind::InvalidSetting {
                what: format!("bucket {b:?}"),
                origin: origin_of("bucket"),
                reason: "the bucket name must not be empty".into(),
            }))
        }
        Some(b) => b,
    };
    let Some(key) = merged.key else {
        return Err(ConfigError::new(ConfigErrorKind::MissingSetting {
            what: "state key",
            flag: "--key",
            key: "key",
        }));
    };
    validate_state_key(&key).map_err(|reason| {
        ConfigError::new(ConfigErrorKind::InvalidSetting {
            what: format!("state key {key:?}"),
            origin: origin_of("key"),
            reason,
        })
    })?;

    let workspace = merged
        .workspace
        .unwrap_or_else(|| DEFAULT_WORKSPACE.to_string());
    validate_workspace_name(&workspace).map_err(|reason| {
        ConfigError::new(ConfigErrorKind::InvalidWorkspace {
            name: workspace.clone(),
            origin: origin_of("workspace"),
            reason,
        })
    })?;
    let workspace_key_prefix = merged
        .workspace_key_prefix
        .unwrap_or_else(|| DEFAULT_WORKSPACE_KEY_PREFIX.to_string());
    validate_workspace_key_prefix(&workspace_key_prefix).map_err(|reason| {
        ConfigError::new(ConfigErrorKind::InvalidSetting {
            what: format!("workspace key prefix {workspace_key_prefix:?}"),
            origin: origin_of("workspace_key_prefix"),
            reason,
        })
    })?;

    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let endpoint_url = non_empty(merged.endpoint_url);
    let s3_endpoint = non_empty(merged.s3_endpoint).or_else(|| endpoint_url.clone());
    let dynamodb_endpoint = non_empty(merged.dynamodb_endpoint).or_else(|| endpoint_url.clone());
    let aws_endpoint_env: Vec<String> = AWS_ENDPOINT_ENV_VARS
        .iter()
        .filter(|v| env(v).is_some_and(|val| !val.is_empty()))
        .map(|v| v.to_string())
        .collect();
    let force_path_style = merged
        .force_path_style
        .unwrap_or(s3_endpoint.is_some() || !aws_endpoint_env.is_empty());

    let customer_key_env = env(AWS_SSE_CUSTOMER_KEY);
    let encryption =
        resolve_encryption(&merged.encryption, customer_key_env.as_deref()).map_err(|reason| {
            let set = merged.encryption.set_fields();
            let origin = layers
                .iter()
                .rev()
                .find(|(_, l)| !l.encryption.set_fields().is_empty())
                .map(|(label, _)| label.clone())
                .unwrap_or_else(|| AWS_SSE_CUSTOMER_KEY.to_string());
            ConfigError::new(ConfigErrorKind::InvalidSetting {
                what: if set.is_empty() {
                    "the SSE-C key".to_string()
                } else {
                    format!("the encryption settings ({})", set.join(", "))
                },
                origin,
                reason,
            })
        })?;

    Ok(Target {
        bucket,
        key,
        workspace,
        workspace_key_prefix,
        region: non_empty(merged.region),
        dynamodb_table: non_empty(merged.dynamodb_table),
        use_lockfile: merged.use_lockfile.unwrap_or(false),
        s3_endpoint,
        dynamodb_endpoint,
        endpoint_url,
        force_path_style,
        access: access_with_env(
            merged.access,
            non_empty(merged.profile.clone()).as_deref(),
            env,
        ),
        profile: non_empty(merged.profile),
        encryption,
        aws_endpoint_env,
        source,
    })
}

/// The merged access settings completed from the process environment.
///
/// The environment's web identity (`AWS_ROLE_ARN` +
/// `AWS_WEB_IDENTITY_TOKEN_FILE`) is a link of the default credential chain,
/// as in Terraform: it applies only when nothing before it gives
/// credentials, i.e. no `access_key`/`secret_key` in the backend, no named
/// profile (`profile`, `--profile` or `AWS_PROFILE`: aws-sdk-go-v2 takes a
/// profile that is set before the environment's web identity) and no
/// `AWS_ACCESS_KEY_ID`.
fn access_with_env(
    mut access: AccessSettings,
    profile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> AccessSettings {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    if access.web_identity.is_none()
        && access.static_keys.is_none()
        && profile.is_none()
        && var(AWS_PROFILE).is_none()
        && var(AWS_ACCESS_KEY_ID).is_none()
    {
        access.web_identity = web_identity_from_env(env);
    }
    if let Some(w) = access.web_identity.as_mut() {
        // Terraform fills an incomplete block from the environment.
        if w.token.is_none() && w.token_file.is_none() {
            w.token_file = var(AWS_WEB_IDENTITY_TOKEN_FILE);
        }
        if w.session_name.is_none() {
            w.session_name = var(AWS_ROLE_SESSION_NAME);
        }
    }
    if access.sts_endpoint.is_none() {
        access.sts_endpoint = var(AWS_ENDPOINT_URL_STS);
    }
    if access.custom_ca_bundle.is_none() {
        access.custom_ca_bundle = var(AWS_CA_BUNDLE);
    }
    access
}

/// `label (field, field); label (--flag)` for the layers that won a field.
fn describe(layers: &[(String, BackendSettings)], provider: &[Option<usize>; 12]) -> String {
    let parts: Vec<String> = layers
        .iter()
        .enumerate()
        .filter_map(|(i, (label, _))| {
            let fields: Vec<String> = BackendSettings::FIELDS
                .iter()
                .zip(provider)
                .filter(|(_, p)| **p == Some(i))
                .map(|(f, _)| {
                    if label == FLAGS_LABEL {
                        format!("--{}", f.replace('_', "-"))
                    } else {
                        f.to_string()
                    }
                })
                .collect();
            (!fields.is_empty()).then(|| format!("{label} ({})", fields.join(", ")))
        })
        .collect();
    if parts.is_empty() {
        "defaults".into()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn env_file(backend: BackendSettings) -> EnvFile {
        EnvFile {
            path: PathBuf::from("environments/prod.hcl"),
            description: None,
            backend,
            snapshots: None,
            retention: None,
            objectives: None,
            drift: None,
            rebuild: None,
            cache: None,
            states: None,
        }
    }

    fn minimal() -> BackendSettings {
        BackendSettings {
            bucket: s("b"),
            key: s("k/terraform.tfstate"),
            ..Default::default()
        }
    }

    #[test]
    fn precedence_flags_over_env_file_over_backend_dir_field_by_field() {
        let dir = BackendSettings {
            bucket: s("dir-bucket"),
            key: s("dir/key"),
            region: s("us-east-1"),
            dynamodb_table: s("dir-locks"),
            workspace: s("default"),
            profile: s("dir-profile"),
            origin: s("backend dir infra (main.tf:3)"),
            ..Default::default()
        };
        let file = env_file(BackendSettings {
            bucket: s("env-bucket"),
            key: s("env/key"),
            region: s("eu-west-1"),
            ..Default::default()
        });
        let flags = BackendSettings {
            key: s("flag/key"),
            workspace: s("staging"),
            ..Default::default()
        };

        // (layers present, expected bucket, key, region, table, workspace, profile)
        type Row = (
            bool,
            bool,
            bool,
            &'static str,
            &'static str,
            &'static str,
            Option<&'static str>,
            &'static str,
            Option<&'static str>,
        );
        let table: &[Row] = &[
            (
                true,
                true,
                true,
                "env-bucket",
                "flag/key",
                "eu-west-1",
                Some("dir-locks"),
                "staging",
                Some("dir-profile"),
            ),
            (
                true,
                true,
                false,
                "env-bucket",
                "env/key",
                "eu-west-1",
                Some("dir-locks"),
                "default",
                Some("dir-profile"),
            ),
            (
                true,
                false,
                true,
                "dir-bucket",
                "flag/key",
                "us-east-1",
                Some("dir-locks"),
                "staging",
                Some("dir-profile"),
            ),
            (
                false,
                true,
                true,
                "env-bucket",
                "flag/key",
                "eu-west-1",
                None,
                "staging",
                None,
            ),
            (
                true,
                false,
                false,
                "dir-bucket",
                "dir/key",
                "us-east-1",
                Some("dir-locks"),
                "default",
                Some("dir-profile"),
            ),
        ];
        for (i, (d, e, f, bucket, key, region, table, ws, profile)) in table.iter().enumerate() {
            let t = resolve(
                if *f {
                    flags.clone()
                } else {
                    BackendSettings::default()
                },
                e.then_some(&file),
                d.then(|| dir.clone()),
                &no_env,
            )
            .unwrap_or_else(|err| panic!("row {i}: {err}"));
            assert_eq!(t.bucket, *bucket, "row {i}");
            assert_eq!(t.key, *key, "row {i}");
            assert_eq!(t.region.as_deref(), Some(*region), "row {i}");
            assert_eq!(t.dynamodb_table.as_deref(), *table, "row {i}");
            assert_eq!(t.workspace, *ws, "row {i}");
            assert_eq!(t.profile.as_deref(), *profile, "row {i}");
        }

        let t = resolve(flags, Some(&file), Some(dir), &no_env).unwrap();
        assert_eq!(
            t.source,
            "backend dir infra (main.tf:3) (dynamodb_table, profile); \
             environment file environments/prod.hcl (bucket, region); \
             command-line flags (--key, --workspace)"
        );
    }

    #[test]
    fn the_environments_web_identity_is_a_link_of_the_default_chain() {
        use crate::config::access::StaticKeys;
        let env = |k: &str| match k {
            "AWS_ROLE_ARN" => Some("arn:aws:iam::1:role/ci".to_string()),
            "AWS_WEB_IDENTITY_TOKEN_FILE" => Some("/run/token".to_string()),
            _ => None,
        };
        let with_keys = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKIA".to_string()),
            _ => env(k),
        };
        let with_profile = |k: &str| match k {
            "AWS_PROFILE" => Some("ops".to_string()),
            _ => env(k),
        };
        let static_keys = AccessSettings {
            static_keys: Some(StaticKeys {
                access_key: Some("a".into()),
                secret_key: Some("s".into()),
                token: None,
            }),
            ..AccessSettings::default()
        };
        type Env<'a> = &'a dyn Fn(&str) -> Option<String>;
        let cases: Vec<(&str, AccessSettings, Option<&str>, Env, bool)> = vec![
            (
                "nothing else: used",
                AccessSettings::default(),
                None,
                &env,
                true,
            ),
            (
                "AWS_ACCESS_KEY_ID first",
                AccessSettings::default(),
                None,
                &with_keys,
                false,
            ),
            (
                "AWS_PROFILE first",
                AccessSettings::default(),
                None,
                &with_profile,
                false,
            ),
            (
                "a named profile first",
                AccessSettings::default(),
                Some("ops"),
                &env,
                false,
            ),
            ("the backend's keys first", static_keys, None, &env, false),
        ];
        for (name, access, profile, env, used) in cases {
            let got = access_with_env(access, profile, env);
            assert_eq!(got.web_identity.is_some(), used, "{name}");
        }
    }

    #[test]
    fn workspace_key_mapping() {
        // (workspace, prefix, state key)
        let table: &[(&str, Option<&str>, &str)] = &[
            ("default", None, "k/terraform.tfstate"),
            ("default", Some("custom"), "k/terraform.tfstate"),
            ("staging", None, "env:/staging/k/terraform.tfstate"),
            (
                "staging",
                Some("workspaces"),
                "workspaces/staging/k/terraform.tfstate",
            ),
            ("staging", Some("a/b"), "a/b/staging/k/terraform.tfstate"),
            ("staging", Some(""), "staging/k/terraform.tfstate"),
        ];
        for (ws, prefix, expected) in table {
            let flags = BackendSettings {
                workspace: s(ws),
                workspace_key_prefix: prefix.map(str::to_string),
                ..minimal()
            };
            let t = resolve(flags, None, None, &no_env).unwrap();
            assert_eq!(t.state_key(), *expected, "{ws} {prefix:?}");
            assert_eq!(t.lock_id(), format!("b/{expected}"));
            assert_eq!(t.digest_lock_id(), format!("b/{expected}-md5"));
            assert_eq!(t.lockfile_key(), format!("{expected}.tflock"));
        }
        let t = resolve(minimal(), None, None, &no_env).unwrap();
        assert_eq!(
            (t.workspace.as_str(), t.workspace_key_prefix.as_str()),
            ("default", "env:")
        );
    }

    #[test]
    fn invalid_workspace_key_and_prefix() {
        let cases: &[(BackendSettings, &str)] = &[
            (
                BackendSettings {
                    workspace: s("a/b"),
                    ..minimal()
                },
                "invalid workspace name \"a/b\" (from command-line flags)",
            ),
            (
                BackendSettings {
                    workspace: s(""),
                    ..minimal()
                },
                "must not be empty",
            ),
            (
                BackendSettings {
                    key: s("/abs"),
                    ..minimal()
                },
                "invalid state key \"/abs\"",
            ),
            (
                BackendSettings {
                    workspace_key_prefix: s("env:/"),
                    ..minimal()
                },
                "invalid workspace key prefix",
            ),
            (
                BackendSettings {
                    bucket: s(""),
                    ..minimal()
                },
                "bucket name must not be empty",
            ),
        ];
        for (flags, msg) in cases {
            let err = resolve(flags.clone(), None, None, &no_env).unwrap_err();
            assert!(err.to_string().contains(msg), "{err}");
        }
    }

    #[test]
    fn missing_bucket_or_key_names_the_three_ways() {
        let err = resolve(
            BackendSettings {
                key: s("k"),
                ..Default::default()
            },
            None,
            None,
            &no_env,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("no state bucket given; give the state bucket with --bucket"),
            "{err}"
        );
        assert!(
            err.contains("--env NAME") && err.contains("--backend-dir"),
            "{err}"
        );
        let err = resolve(
            BackendSettings {
                bucket: s("b"),
                ..Default::default()
            },
            None,
            None,
            &no_env,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("no state key given; give the state key with --key"),
            "{err}"
        );
    }

    /// (flags, env lookup, s3 endpoint, dynamodb endpoint, path style, env vars noted)
    type PathStyleRow<'a> = (
        BackendSettings,
        &'a dyn Fn(&str) -> Option<String>,
        Option<&'a str>,
        Option<&'a str>,
        bool,
        Vec<&'a str>,
    );

    #[test]
    fn endpoints_and_path_style() {
        let aws_s3 = |k: &str| (k == "AWS_ENDPOINT_URL_S3").then(|| "http://x".to_string());
        let aws_all = |k: &str| (k == "AWS_ENDPOINT_URL").then(|| "http://x".to_string());
        let aws_empty = |k: &str| (k == "AWS_ENDPOINT_URL").then(String::new);
        type EnvFn = fn(&str) -> Option<String>;
        // (settings, env, s3, dynamodb, path style, env vars noted)
        let table: Vec<PathStyleRow> = vec![
            (minimal(), &(no_env as EnvFn), None, None, false, vec![]),
            (
                BackendSettings {
                    endpoint_url: s("http://all"),
                    ..minimal()
                },
                &(no_env as EnvFn),
                Some("http://all"),
                Some("http://all"),
                true,
                vec![],
            ),
            (
                BackendSettings {
                    endpoint_url: s("http://all"),
                    s3_endpoint: s("http://s3"),
                    ..minimal()
                },
                &(no_env as EnvFn),
                Some("http://s3"),
                Some("http://all"),
                true,
                vec![],
            ),
            (
                BackendSettings {
                    dynamodb_endpoint: s("http://ddb"),
                    ..minimal()
                },
                &(no_env as EnvFn),
                None,
                Some("http://ddb"),
                false,
                vec![],
            ),
            (
                BackendSettings {
                    s3_endpoint: s("http://s3"),
                    force_path_style: Some(false),
                    ..minimal()
                },
                &(no_env as EnvFn),
                Some("http://s3"),
                None,
                false,
                vec![],
            ),
            (
                BackendSettings {
                    force_path_style: Some(true),
                    ..minimal()
                },
                &(no_env as EnvFn),
                None,
                None,
                true,
                vec![],
            ),
            (
                minimal(),
                &aws_s3,
                None,
                None,
                true,
                vec!["AWS_ENDPOINT_URL_S3"],
            ),
            (
                minimal(),
                &aws_all,
                None,
                None,
                true,
                vec!["AWS_ENDPOINT_URL"],
            ),
            (minimal(), &aws_empty, None, None, false, vec![]),
            (
                BackendSettings {
                    force_path_style: Some(false),
                    ..minimal()
                },
                &aws_s3,
                None,
                None,
                false,
                vec!["AWS_ENDPOINT_URL_S3"],
            ),
        ];
        for (i, (flags, env, s3, ddb, path_style, vars)) in table.into_iter().enumerate() {
            let t = resolve(flags, None, None, env).unwrap();
            assert_eq!(t.s3_endpoint.as_deref(), s3, "row {i}");
            assert_eq!(t.dynamodb_endpoint.as_deref(), ddb, "row {i}");
            assert_eq!(t.force_path_style, path_style, "row {i}");
            assert_eq!(t.aws_endpoint_env, vars, "row {i}");
        }
    }

    #[test]
    fn backend_dir_end_to_end_with_fixture() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backend_dir");
        let settings =
            crate::config::load_backend_dir(&dir, &[dir.join("prod.s3.tfbackend")], &no_env)
                .unwrap();
        let flags = BackendSettings {
            workspace: s("blue"),
            ..Default::default()
        };
        let t = resolve(flags, None, Some(settings), &no_env).unwrap();
        assert_eq!(
            t.state_key(),
            "env:/blue/mlops-platform/prod/terraform.tfstate"
        );
        assert_eq!(
            t.lock_id(),
            "mlops-platform-tfstate-123456789012/env:/blue/mlops-platform/prod/terraform.tfstate"
        );
        assert!(!t.force_path_style);
        assert!(t.source.starts_with("backend dir "), "{}", t.source);
        assert!(
            t.source.ends_with("command-line flags (--workspace)"),
            "{}",
            t.source
        );
    }
}
