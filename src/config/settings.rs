//! Settings resolved once: [`Settings::resolve`] reads the environment file
//! and the backend directory a single time and answers every setting a
//! command needs.
//!
//! One precedence, highest first, field by field:
//!
//! 1. command-line flags ([`Flags`]; a command's own flags such as
//!    `drift --ignore` or `doctor --rto` are applied by the accessor that
//!    takes them);
//! 2. the environment file (`--env`);
//! 3. the backend directory (`--backend-dir` and its `--backend-config`
//!    files; `TF_WORKSPACE` and `TF_DATA_DIR` act inside this layer, as in
//!    Terraform);
//! 4. the process environment (`AWS_ENDPOINT_URL`/`AWS_ENDPOINT_URL_S3` imply
//!    path-style addressing; the AWS SDK's own chain supplies region,
//!    profile and credentials when none of the above does);
//! 5. the defaults (workspace `default`, prefix `env:`, concurrency
//!    [`DEFAULT_CONCURRENCY`], ignore file `.statewardignore`, the default
//!    objectives, rebuild tiers and [`RetryPolicy`], the version cache's
//!    bound [`DEFAULT_CACHE_MAX_BYTES`]).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::config::backend_dir::load_backend_dir;
use crate::config::encryption::EncryptionSettings;
use crate::config::envfile::{
    load_env_file_with, DriftSettings, EnvFile, RetentionSettings, SnapshotSettings,
    CACHE_SIZE_ADVICE,
};
use crate::config::error::{ConfigError, ConfigErrorKind};
use crate::config::objectives::Objectives;
use crate::config::target::{resolve, Target};
use crate::config::{AccessSettings, AssumeRole, BackendSettings};
use crate::model::tier::Tier;

/// Default number of concurrent AWS calls of a scan or a batch.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// The ignore file read when neither `--ignore` nor the environment file names one.
pub const DEFAULT_IGNORE_FILE: &str = ".statewardignore";
/// The version cache's default bound: 4 GiB.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 4 << 30;

/// What was typed on the command line (no I/O): the global options that
/// name the state and where settings come from.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--bucket`, `--key`, `--region`, ...; unset fields are `None`.
    pub backend: BackendSettings,
    /// `--env NAME_OR_PATH`.
    pub env: Option<String>,
    /// `--backend-dir DIR`.
    pub backend_dir: Option<PathBuf>,
    /// `--backend-config FILE`s (only with `backend_dir`).
    pub backend_config: Vec<PathBuf>,
    /// `--snapshot-store URL`.
    pub snapshot_store: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
}

/// The local version cache of a run: where it lives and its bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSetting {
    /// `None`: no cache (`--no-cache`, a bound of 0, or no directory to put
    /// it in).
    pub dir: Option<PathBuf>,
    pub max_bytes: u64,
}

/// The directory the version cache lives in: `explicit`
/// (`STATEWARD_CACHE_DIR`), else `$XDG_CACHE_HOME/stateward` (when
/// absolute), else `$HOME/.cache/stateward`. Pure.
pub fn cache_dir(
    explicit: Option<&str>,
    xdg_cache_home: Option<&str>,
    home: Option<&str>,
) -> Option<PathBuf> {
    explicit
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            xdg_cache_home
                .map(Path::new)
                .filter(|p| p.is_absolute())
                .map(|p| p.join("stateward"))
        })
        .or_else(|| {
            home.filter(|h| !h.is_empty())
                .map(|h| Path::new(h).join(".cache").join("stateward"))
        })
}

/// How every AWS client retries and times out: the same for all commands.
///
/// Standard retry (exponential backoff with jitter, throttling included) with
/// up to `max_attempts` attempts. Small calls (every service but S3) have a
/// per-attempt timeout and an operation timeout (all attempts and backoff).
/// S3 moves state bodies of any size, so its client has neither: a stalled
/// transfer is cut by `read_timeout` (no byte for that long) instead, and a
/// large `GetObject` body is held to a throughput floor (`min_throughput`
/// bytes per second on average, after a first `read_timeout` of grace)
/// rather than a flat timeout; a body cut either way is read again.
///
/// Set from `STATEWARD_ATTEMPT_TIMEOUT`, `STATEWARD_OPERATION_TIMEOUT`,
/// `STATEWARD_READ_TIMEOUT`, `STATEWARD_MIN_THROUGHPUT` and
/// `STATEWARD_TYPE_TIMEOUT` (see
/// [`RetryPolicy::from_env`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// Per attempt, for small calls.
    pub attempt_timeout: Duration,
    /// Per operation (every attempt and the backoff between), for small calls.
    pub operation_timeout: Duration,
    /// S3: longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Every client: longest wait for a connection (the SDK's default).
    pub connect_timeout: Duration,
    /// S3 bodies: the slowest average transfer accepted, in bytes per second.
    pub min_throughput: u64,
    /// Live checks (`drift`): the longest one type's calls may take, retries
    /// and backoff included, before it is reported as not checked
    /// (throttled).
    pub type_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            attempt_timeout: Duration::from_secs(30),
            operation_timeout: Duration::from_secs(120),
            read_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_millis(3100),
            min_throughput: 64 * 1024,
            type_budget: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The defaults with the timeout variables that are set applied
    /// (`lookup` reads the process environment). Pure. `Err` names the
    /// variable and what to write.
    pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        use crate::envvars as v;
        let mut p = RetryPolicy::default();
        let duration = |name: &str, into: &mut Duration| -> Result<(), ConfigError> {
            if let Some(raw) = lookup(name) {
                *into = crate::util::duration::parse_positive(raw.trim()).map_err(|reason| {
                    ConfigError::new(ConfigErrorKind::InvalidSetting {
                        what: format!("timeout {raw:?}"),
                        origin: name.to_string(),
                        reason: format!("{reason}; unset it for the default"),
                    })
                })?;
            }
            Ok(())
        };
        duration(v::STATEWARD_ATTEMPT_TIMEOUT, &mut p.attempt_timeout)?;
        duration(v::STATEWARD_OPERATION_TIMEOUT, &mut p.operation_timeout)?;
        duration(v::STATEWARD_READ_TIMEOUT, &mut p.read_timeout)?;
        duration(v::STATEWARD_TYPE_TIMEOUT, &mut p.type_budget)?;
        if let Some(raw) = lookup(v::STATEWARD_MIN_THROUGHPUT) {
            p.min_throughput = parse_rate(raw.trim()).ok_or_else(|| {
                ConfigError::new(ConfigErrorKind::InvalidSetting {
                    what: format!("throughput {raw:?}"),
                    origin: v::STATEWARD_MIN_THROUGHPUT.to_string(),
                    reason:
                        "write bytes per second, e.g. 65536, 64KiB or 1MiB (0 turns the floor off)"
                            .into(),
                })
            })?;
        }
        Ok(p)
    }
}

/// `65536`, `64KiB`, `1MiB` (per second). Pure.
fn parse_rate(s: &str) -> Option<u64> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().ok()?;
    let factor = match unit.trim().trim_end_matches("/s") {
        "" | "B" => 1,
        "KiB" | "K" | "k" | "KB" | "kB" => 1024,
        "MiB" | "M" | "MB" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// Everything needed to build the AWS clients (see `aws::Aws::connect`).
#[derive(Debug, Clone, Default)]
pub struct AwsAccess {
    /// `None`: the AWS default chain (`AWS_REGION`, profile, IMDS).
    pub region: Option<String>,
    pub profile: Option<String>,
    pub s3_endpoint: Option<String>,
    pub dynamodb_endpoint: Option<String>,
    /// Endpoint for every other service (EKS, RDS, ...).
    pub endpoint_url: Option<String>,
    pub force_path_style: bool,
    pub retry: RetryPolicy,
    /// Credentials, roles and connection settings of the state.
    pub access: AccessSettings,
    /// The role of the live checks (environment file `drift { assume_role }`);
    /// `None`: the caller's own identity.
    pub live_role: Option<AssumeRole>,
}

impl AwsAccess {
    /// The access of a resolved state target.
    pub fn of_target(target: &Target, retry: RetryPolicy) -> Self {
        AwsAccess {
            region: target.region.clone(),
            profile: target.profile.clone(),
            s3_endpoint: target.s3_endpoint.clone().or(target.endpoint_url.clone()),
            dynamodb_endpoint: target
                .dynamodb_endpoint
                .clone()
                .or(target.endpoint_url.clone()),
            endpoint_url: target.endpoint_url.clone(),
            force_path_style: target.force_path_style,
            retry,
            access: target.access.clone(),
            live_role: None,
        }
    }
}

/// Where `stateward snapshot` keeps its copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotStoreSetting {
    /// `s3://bucket/prefix` or a directory.
    pub url: String,
    /// The store's region when it differs from the state's (environment file only).
    pub region: Option<String>,
    /// The store's own encryption settings (the `snapshots` block's
    /// `encrypt`, `kms_key_id`, ...); `None`: copies keep the state's.
    pub encryption: Option<EncryptionSettings>,
}

/// The drift ignore file: which file, and whether it must exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreFile {
    pub path: PathBuf,
    /// Named by `--ignore` or the environment file (must exist), or the
    /// default (read when present).
    pub required: bool,
}

/// The process environment variables configuration consults (the AWS SDK
/// reads its own chain itself).
const CONSULTED: &[&str] = &[
    crate::envvars::STATEWARD_ENVIRONMENTS_DIR,
    crate::envvars::TF_WORKSPACE,
    crate::envvars::TF_DATA_DIR,
    crate::envvars::AWS_ENDPOINT_URL,
    crate::envvars::AWS_ENDPOINT_URL_S3,
    crate::envvars::AWS_ENDPOINT_URL_STS,
    crate::envvars::AWS_ROLE_ARN,
    crate::envvars::AWS_WEB_IDENTITY_TOKEN_FILE,
    crate::envvars::AWS_ROLE_SESSION_NAME,
    crate::envvars::AWS_CA_BUNDLE,
    crate::envvars::AWS_ACCESS_KEY_ID,
    crate::envvars::AWS_SSE_CUSTOMER_KEY,
    crate::envvars::STATEWARD_ATTEMPT_TIMEOUT,
    crate::envvars::STATEWARD_OPERATION_TIMEOUT,
    crate::envvars::STATEWARD_READ_TIMEOUT,
    crate::envvars::STATEWARD_MIN_THROUGHPUT,
    crate::envvars::STATEWARD_TYPE_TIMEOUT,
    crate::envvars::STATEWARD_CACHE_DIR,
    crate::envvars::STATEWARD_CACHE_MAX,
    crate::envvars::XDG_CACHE_HOME,
    crate::envvars::HOME,
];

/// Every setting of one run, resolved once.
///
/// The environment file and the backend dir are read when a setting first
/// needs them, and at most once: a command that needs neither (`show
/// file:PATH`, `drift --list-types`) never fails on them, and every other
/// one reads each a single time. A read error is returned each time it is
/// asked for (the command stops at the first).
#[derive(Debug)]
pub struct Settings {
    flags: Flags,
    process_env: Vec<(String, String)>,
    env_file: OnceLock<Option<EnvFile>>,
    backend_dir: OnceLock<Option<BackendSettings>>,
    target: OnceLock<Target>,
    retry: RetryPolicy,
    /// A timeout variable that could not be read (reported with the target).
    retry_error: Option<ConfigError>,
}

impl Settings {
    /// Settings from the flags and the process environment (`env` is
    /// consulted now, for the variables configuration reads); the files the
    /// flags name are read on first use.
    pub fn resolve(flags: Flags, env: &dyn Fn(&str) -> Option<String>) -> Self {
        let process_env: Vec<(String, String)> = CONSULTED
            .iter()
            .filter_map(|k| env(k).map(|v| (k.to_string(), v)))
            .collect();
        let (retry, retry_error) = match RetryPolicy::from_env(&|k| {
            process_env
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        }) {
            Ok(p) => (p, None),
            Err(e) => (RetryPolicy::default(), Some(e)),
        };
        Settings {
            flags,
            process_env,
            env_file: OnceLock::new(),
            backend_dir: OnceLock::new(),
            target: OnceLock::new(),
            retry,
            retry_error,
        }
    }

    /// The flags as typed.
    pub fn flags(&self) -> &Flags {
        &self.flags
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.process_env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// The environment file, if `--env` was given (read once).
    pub fn env_file(&self) -> Result<Option<&EnvFile>, ConfigError> {
        if let Some(loaded) = self.env_file.get() {
            return Ok(loaded.as_ref());
        }
        let loaded = match &self.flags.env {
            Some(name) => Some(load_env_file_with(name, Path::new("."), &|k| {
                self.lookup(k)
            })?),
            None => None,
        };
        Ok(self.env_file.get_or_init(|| loaded).as_ref())
    }

    /// The backend dir's layer, if `--backend-dir` was given (read once).
    fn backend_dir(&self) -> Result<Option<&BackendSettings>, ConfigError> {
        if let Some(loaded) = self.backend_dir.get() {
            return Ok(loaded.as_ref());
        }
        let loaded = match &self.flags.backend_dir {
            Some(dir) => Some(load_backend_dir(dir, &self.flags.backend_config, &|k| {
                self.lookup(k)
            })?),
            None => None,
        };
        Ok(self.backend_dir.get_or_init(|| loaded).as_ref())
    }

    /// Whether any way of naming the state was given.
    pub fn has_target(&self) -> bool {
        let f = &self.flags;
        f.backend.bucket.is_some()
            || f.backend.key.is_some()
            || f.env.is_some()
            || f.backend_dir.is_some()
    }

    /// The state: flags over the environment file over the backend dir,
    /// validated once.
    pub fn target(&self) -> Result<&Target, ConfigError> {
        if let Some(t) = self.target.get() {
            return Ok(t);
        }
        if let Some(e) = self.retry_error() {
            return Err(e);
        }
        let env_file = self.env_file()?;
        let backend_dir = self.backend_dir()?.cloned();
        let t = resolve(self.flags.backend.clone(), env_file, backend_dir, &|k| {
            self.lookup(k)
        })?;
        tracing::debug!(target = ?t, "resolved state target");
        Ok(self.target.get_or_init(|| t))
    }

    /// The timeout variable that could not be read, as a fresh error.
    fn retry_error(&self) -> Option<ConfigError> {
        match self.retry_error.as_ref().map(|e| &*e.kind) {
            Some(ConfigErrorKind::InvalidSetting {
                what,
                origin,
                reason,
            }) => Some(ConfigError::new(ConfigErrorKind::InvalidSetting {
                what: what.clone(),
                origin: origin.clone(),
                reason: reason.clone(),
            })),
            _ => None,
        }
    }

    /// The retry and timeout policy of every AWS client.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// AWS access for a resolved target.
    pub fn aws_access_of(&self, target: &Target) -> AwsAccess {
        AwsAccess {
            live_role: self.live_role(),
            ..AwsAccess::of_target(target, self.retry)
        }
    }

    /// The environment file's role for live checks (`drift { assume_role }`);
    /// an unreadable file was reported when the target was resolved.
    fn live_role(&self) -> Option<AssumeRole> {
        self.env_file()
            .ok()
            .flatten()
            .and_then(|e| e.drift.as_ref())
            .and_then(|d| d.assume_role.clone())
    }

    /// AWS access: the target's when the state is named, else only the
    /// region and endpoint flags (for commands that can run without a
    /// state, e.g. `drift file:PATH` or a snapshot store alone).
    pub fn aws_access(&self) -> Result<AwsAccess, ConfigError> {
        if let Some(e) = self.retry_error() {
            return Err(e);
        }
        if self.has_target() {
            return Ok(self.aws_access_of(self.target()?));
        }
        let b = &self.flags.backend;
        Ok(AwsAccess {
            region: b.region.clone(),
            s3_endpoint: b.endpoint_url.clone(),
            dynamodb_endpoint: b.endpoint_url.clone(),
            endpoint_url: b.endpoint_url.clone(),
            force_path_style: b.endpoint_url.is_some(),
            profile: b.profile.clone(),
            retry: self.retry,
            access: b.access.clone(),
            live_role: self.live_role(),
        })
    }

    /// AWS access for a command that needs a bucket but no state key
    /// (`s3 undelete`): the target's, with a placeholder key when nothing
    /// but flags is given.
    pub fn aws_access_without_key(&self) -> Result<AwsAccess, ConfigError> {
        let f = &self.flags;
        if f.backend.key.is_none() && f.env.is_none() && f.backend_dir.is_none() {
            let mut backend = f.backend.clone();
            backend.key = Some("unused".into());
            let t = resolve(backend, None, None, &|k| self.lookup(k))?;
            return Ok(self.aws_access_of(&t));
        }
        Ok(self.aws_access_of(self.target()?))
    }

    /// The recovery objectives of the environment file (unset keys: defaults;
    /// a command's flags such as `--rto` override them).
    pub fn objectives(&self) -> Result<Objectives, ConfigError> {
        Ok(self
            .env_file()?
            .and_then(|e| e.objectives.clone())
            .unwrap_or_default())
    }

    /// The `drift` block (scope of `--unmanaged`, ignore file).
    pub fn drift(&self) -> Result<DriftSettings, ConfigError> {
        Ok(self
            .env_file()?
            .and_then(|e| e.drift.clone())
            .unwrap_or_default())
    }

    /// The drift ignore file: `flag` (`--ignore`), else the environment
    /// file's `drift { ignore_file }`, else `.statewardignore` if present.
    pub fn ignore_file(&self, flag: Option<&Path>) -> Result<IgnoreFile, ConfigError> {
        let from_file = self
            .env_file()?
            .and_then(|e| e.drift.as_ref())
            .and_then(|d| d.ignore_file.as_ref());
        Ok(match (flag, from_file) {
            (Some(p), _) => IgnoreFile {
                path: p.to_path_buf(),
                required: true,
            },
            (None, Some(p)) => IgnoreFile {
                path: PathBuf::from(p),
                required: true,
            },
            (None, None) => IgnoreFile {
                path: PathBuf::from(DEFAULT_IGNORE_FILE),
                required: false,
            },
        })
    }

    /// The Terraform directory whose `lifecycle.ignore_changes` drift honours.
    pub fn terraform_dir(&self) -> Option<&Path> {
        self.flags.backend_dir.as_deref()
    }

    /// The environment file's rebuild tiers; `None` means the defaults.
    pub fn rebuild_tiers(&self) -> Result<Option<Vec<Tier>>, ConfigError> {
        Ok(self
            .env_file()?
            .and_then(|e| e.rebuild.as_ref())
            .filter(|r| !r.tiers.is_empty())
            .map(|r| r.tiers.clone()))
    }

    /// Whether the environment file asks for the journal in S3 too.
    pub fn rebuild_s3_journal(&self) -> Result<bool, ConfigError> {
        Ok(self
            .env_file()?
            .and_then(|e| e.rebuild.as_ref())
            .and_then(|r| r.s3_journal)
            .unwrap_or(false))
    }

    /// Whether a snapshot store is configured (flag or environment file block).
    pub fn snapshot_store_configured(&self) -> Result<bool, ConfigError> {
        let from_file = self.env_file()?.is_some_and(|e| e.snapshots.is_some());
        Ok(self.flags.snapshot_store.is_some() || from_file)
    }

    /// The snapshot store: `--snapshot-store`, else the environment file's
    /// `snapshots { store, region }`; `None` when neither names one.
    pub fn snapshot_store(&self) -> Result<Option<SnapshotStoreSetting>, ConfigError> {
        let from_file: Option<&SnapshotSettings> =
            self.env_file()?.and_then(|e| e.snapshots.as_ref());
        if let Some(url) = &self.flags.snapshot_store {
            return Ok(Some(SnapshotStoreSetting {
                url: url.clone(),
                region: None,
                encryption: None,
            }));
        }
        Ok(from_file.and_then(|s| {
            Some(SnapshotStoreSetting {
                url: s.store.clone()?,
                region: s.region.clone(),
                encryption: (!s.encryption.set_fields().is_empty()).then(|| s.encryption.clone()),
            })
        }))
    }

    /// The environment file's `retention` block (`--keep-*` flags override it).
    pub fn retention(&self) -> Result<Option<&RetentionSettings>, ConfigError> {
        Ok(self.env_file()?.and_then(|e| e.retention.as_ref()))
    }

    /// The version cache: off with `--no-cache`; else bounded by the
    /// environment file's `cache { max_size }`, else `STATEWARD_CACHE_MAX`,
    /// else [`DEFAULT_CACHE_MAX_BYTES`] (a bound of 0 turns it off), in
    /// [`cache_dir`]. An unreadable environment file is not reported here
    /// (the command reports it when it needs the file); an unreadable size
    /// is an error naming where it was written.
    pub fn cache(&self) -> Result<CacheSetting, ConfigError> {
        use crate::envvars::{HOME, STATEWARD_CACHE_DIR, STATEWARD_CACHE_MAX, XDG_CACHE_HOME};
        let off = CacheSetting {
            dir: None,
            max_bytes: 0,
        };
        if self.flags.no_cache {
            return Ok(off);
        }
        let from_file = self
            .env_file()
            .ok()
            .flatten()
            .and_then(|e| e.cache.as_ref())
            .and_then(|c| c.max_size);
        let max_bytes = match (from_file, self.lookup(STATEWARD_CACHE_MAX)) {
            (Some(n), _) => n,
            (None, Some(raw)) => crate::util::size::parse_size(&raw).ok_or_else(|| {
                ConfigError::new(ConfigErrorKind::InvalidSetting {
                    what: format!("cache size {raw:?}"),
                    origin: STATEWARD_CACHE_MAX.to_string(),
                    reason: format!("{CACHE_SIZE_ADVICE}, or unset it for the default (4GB)"),
                })
            })?,
            (None, None) => DEFAULT_CACHE_MAX_BYTES,
        };
        if max_bytes == 0 {
            return Ok(off);
        }
        let dir = cache_dir(
            self.lookup(STATEWARD_CACHE_DIR).as_deref(),
            self.lookup(XDG_CACHE_HOME).as_deref(),
            self.lookup(HOME).as_deref(),
        );
        Ok(CacheSetting { dir, max_bytes })
    }

    /// Concurrent AWS calls when no flag sets it.
    pub fn concurrency(&self) -> usize {
        DEFAULT_CONCURRENCY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    fn flags(backend: BackendSettings) -> Flags {
        Flags {
            backend,
            ..Flags::default()
        }
    }

    #[test]
    fn flags_over_env_file_over_backend_dir_over_process_env() {
        let dir = tempfile::tempdir().unwrap();
        let tf = dir.path().join("tf");
        fs::create_dir(&tf).unwrap();
        fs::write(
            tf.join("main.tf"),
            "terraform {\n  backend \"s3\" {\n    bucket = \"dir-bucket\"\n    key = \"dir/key\"\n    region = \"eu-west-1\"\n    dynamodb_table = \"dir-locks\"\n  }\n}\n",
        )
        .unwrap();
        let envf = dir.path().join("prod.hcl");
        fs::write(
            &envf,
            "backend {\n  bucket = \"env-bucket\"\n  key = \"env/key\"\n}\nsnapshots {\n  store = \"s3://snaps/p\"\n  region = \"us-east-1\"\n}\n",
        )
        .unwrap();
        let f = Flags {
            backend: BackendSettings {
                key: s("flag/key"),
                ..Default::default()
            },
            env: Some(envf.display().to_string()),
            backend_dir: Some(tf),
            ..Flags::default()
        };
        let env = |k: &str| (k == crate::envvars::AWS_ENDPOINT_URL).then(|| "http://x".to_string());
        let settings = Settings::resolve(f, &env);
        let t = settings.target().unwrap();
        assert_eq!(t.key, "flag/key");
        assert_eq!(t.bucket, "env-bucket");
        assert_eq!(t.region.as_deref(), Some("eu-west-1"));
        assert_eq!(t.dynamodb_table.as_deref(), Some("dir-locks"));
        assert!(t.force_path_style, "implied by AWS_ENDPOINT_URL");
        assert_eq!(
            settings.snapshot_store().unwrap(),
            Some(SnapshotStoreSetting {
                url: "s3://snaps/p".into(),
                region: s("us-east-1"),
                encryption: None,
            })
        );
        // Same object on every call: resolved once.
        assert!(std::ptr::eq(t, settings.target().unwrap()));
    }

    #[test]
    fn defaults_without_files() {
        let settings = Settings::resolve(
            flags(BackendSettings {
                bucket: s("b"),
                key: s("k"),
                ..Default::default()
            }),
            &|_| None,
        );
        let t = settings.target().unwrap();
        assert_eq!(t.workspace, "default");
        assert_eq!(t.workspace_key_prefix, "env:");
        assert!(!t.force_path_style);
        assert_eq!(settings.concurrency(), DEFAULT_CONCURRENCY);
        assert_eq!(settings.objectives().unwrap(), Objectives::default());
        assert_eq!(settings.rebuild_tiers().unwrap(), None);
        assert_eq!(settings.snapshot_store().unwrap(), None);
        assert_eq!(
            settings.ignore_file(None).unwrap(),
            IgnoreFile {
                path: PathBuf::from(DEFAULT_IGNORE_FILE),
                required: false
            }
        );
        assert_eq!(settings.retry(), RetryPolicy::default());
    }

    #[test]
    fn timeouts_come_from_the_environment_with_defaults() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            RetryPolicy::from_env(&env(&[])).unwrap(),
            RetryPolicy::default()
        );
        let p = RetryPolicy::from_env(&env(&[
            ("STATEWARD_ATTEMPT_TIMEOUT", "5s"),
            ("STATEWARD_OPERATION_TIMEOUT", "1m"),
            ("STATEWARD_READ_TIMEOUT", "2"),
            ("STATEWARD_MIN_THROUGHPUT", "1MiB"),
        ]))
        .unwrap();
        assert_eq!(p.attempt_timeout, Duration::from_secs(5));
        assert_eq!(p.operation_timeout, Duration::from_secs(60));
        assert_eq!(p.read_timeout, Duration::from_secs(2));
        assert_eq!(p.min_throughput, 1024 * 1024);
        for (raw, want) in [
            ("65536", Some(65536)),
            ("64KiB", Some(65536)),
            ("0", Some(0)),
            ("fast", None),
            ("3GiB", None),
        ] {
            assert_eq!(parse_rate(raw), want, "{raw}");
        }
        let bad = RetryPolicy::from_env(&env(&[("STATEWARD_READ_TIMEOUT", "0s")])).unwrap_err();
        assert!(bad.to_string().contains("STATEWARD_READ_TIMEOUT"), "{bad}");
        let settings =
            Settings::resolve(Flags::default(), &env(&[("STATEWARD_MIN_THROUGHPUT", "x")]));
        assert!(settings.aws_access().is_err());
    }

    #[test]
    fn the_cache_setting_flag_over_env_file_over_process_env_over_default() {
        let dir = tempfile::tempdir().unwrap();
        let with_block = dir.path().join("with.hcl");
        fs::write(
            &with_block,
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\ncache {\n  max_size = \"2GB\"\n}\n",
        )
        .unwrap();
        let without = dir.path().join("without.hcl");
        fs::write(&without, "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\n").unwrap();
        let env_of = |pairs: Vec<(&'static str, &'static str)>| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let home = ("HOME", "/home/u");
        type Case<'a> = (
            Option<&'a Path>,
            bool,
            Vec<(&'static str, &'static str)>,
            Result<CacheSetting, &'static str>,
        );
        let cases: Vec<Case> = vec![
            // Defaults: 4 GiB under ~/.cache/stateward.
            (None, false, vec![home], Ok(CacheSetting { dir: Some("/home/u/.cache/stateward".into()), max_bytes: DEFAULT_CACHE_MAX_BYTES })),
            // The variable sets the bound and the directory.
            (None, false, vec![home, ("STATEWARD_CACHE_MAX", "500MiB"), ("STATEWARD_CACHE_DIR", "/c")], Ok(CacheSetting { dir: Some("/c".into()), max_bytes: 500 << 20 })),
            (Some(&without), false, vec![home, ("STATEWARD_CACHE_MAX", "1GB")], Ok(CacheSetting { dir: Some("/home/u/.cache/stateward".into()), max_bytes: 1 << 30 })),
            // The environment file over the variable (even an invalid one).
            (Some(&with_block), false, vec![home, ("STATEWARD_CACHE_MAX", "lots"), ("XDG_CACHE_HOME", "/x")], Ok(CacheSetting { dir: Some("/x/stateward".into()), max_bytes: 2 << 30 })),
            // --no-cache over everything; a bound of 0 turns it off.
            (Some(&with_block), true, vec![home], Ok(CacheSetting { dir: None, max_bytes: 0 })),
            (None, false, vec![home, ("STATEWARD_CACHE_MAX", "0")], Ok(CacheSetting { dir: None, max_bytes: 0 })),
            // An unreadable size is an error naming the variable.
            (None, false, vec![home, ("STATEWARD_CACHE_MAX", "lots")], Err("invalid cache size \"lots\" (from STATEWARD_CACHE_MAX): write a size such as \"4GB\", \"500MiB\" or a number of bytes (\"0\" turns the cache off), or unset it for the default (4GB)")),
            // No directory to put it in: no cache.
            (None, false, vec![], Ok(CacheSetting { dir: None, max_bytes: DEFAULT_CACHE_MAX_BYTES })),
        ];
        for (i, (file, no_cache, env, want)) in cases.into_iter().enumerate() {
            let settings = Settings::resolve(
                Flags {
                    env: file.map(|p| p.display().to_string()),
                    no_cache,
                    ..Flags::default()
                },
                &env_of(env),
            );
            match (settings.cache(), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "case {i}"),
                (Err(got), Err(want)) => assert_eq!(got.to_string(), want, "case {i}"),
                (got, want) => panic!("case {i}: {got:?}, want {want:?}"),
            }
        }
        // An invalid size in the environment file is that file's error.
        let bad = dir.path().join("bad.hcl");
        fs::write(
            &bad,
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\ncache {\n  max_size = \"huge\"\n}\n",
        )
        .unwrap();
        let settings = Settings::resolve(
            Flags {
                env: Some(bad.display().to_string()),
                ..Flags::default()
            },
            &|_| None,
        );
        let e = settings.env_file().unwrap_err().to_string();
        assert!(
            e.contains("bad.hcl:6") && e.contains("max_size") && e.contains("\"500MiB\""),
            "{e}"
        );
    }

    #[test]
    fn cache_directories() {
        assert_eq!(
            cache_dir(None, Some("/x"), Some("/h")),
            Some(PathBuf::from("/x/stateward"))
        );
        assert_eq!(
            cache_dir(None, Some("rel"), Some("/h")),
            Some(PathBuf::from("/h/.cache/stateward"))
        );
        assert_eq!(cache_dir(Some("/t"), None, None), Some(PathBuf::from("/t")));
        assert_eq!(cache_dir(Some(""), None, None), None);
    }

    #[test]
    fn a_missing_key_is_reported_when_the_target_is_asked_for() {
        let settings = Settings::resolve(
            flags(BackendSettings {
                bucket: s("b"),
                ..Default::default()
            }),
            &|_| None,
        );
        assert!(settings.has_target());
        assert!(settings.target().is_err());
        let access = settings.aws_access_without_key().unwrap();
        assert!(!access.force_path_style);
    }

    #[test]
    fn files_are_read_only_when_a_setting_needs_them() {
        let settings = Settings::resolve(
            Flags {
                env: Some("does/not/exist.hcl".into()),
                ..Flags::default()
            },
            &|_| None,
        );
        assert_eq!(settings.flags().env.as_deref(), Some("does/not/exist.hcl"));
        assert!(settings.env_file().is_err());
        assert!(settings.target().is_err());
    }

    #[test]
    fn without_a_target_aws_access_comes_from_flags() {
        let settings = Settings::resolve(
            flags(BackendSettings {
                region: s("eu-west-2"),
                endpoint_url: s("http://localhost:5055"),
                ..Default::default()
            }),
            &|_| None,
        );
        assert!(!settings.has_target());
        let a = settings.aws_access().unwrap();
        assert_eq!(a.region.as_deref(), Some("eu-west-2"));
        assert_eq!(a.s3_endpoint.as_deref(), Some("http://localhost:5055"));
        assert!(a.force_path_style);
    }
}
