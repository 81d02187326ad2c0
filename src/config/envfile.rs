//! Environment files: `environments/NAME.hcl`.
//!
//! ```hcl
//! description = "MLOps platform, production"
//! backend {
//!   bucket = "mlops-platform-tfstate-123456789012"
//!   key    = "mlops-platform/prod/terraform.tfstate"
//!   region = "eu-west-1"
//! }
//! ```
//!
//! The loader is strict: unknown keys or blocks, wrong types, duplicates and
//! missing required keys are errors naming `file:line:column`.
//!
//! Optional blocks: `snapshots { store = "s3://bucket/prefix", region = "..." }`
//! (where `stateward snapshot` keeps copies) and `retention { keep_last = 30,
//! keep_daily = 7, keep_within = "30d", ... }` (what `snapshot prune` keeps).
//!
//! Adding a top-level block (e.g. `retention { keep_last = 30 }`) means:
//! one struct implementing [`Section`], one field in [`EnvFile`], one arm in
//! `parse_env_file`'s block match, its name in [`TOP_LEVEL_BLOCKS`], and its
//! keys in `schemas/environment.schema.json`.

use std::ops::Range;
use std::path::{Path, PathBuf};

use hcl_edit::structure::{Block, Structure};
use hcl_edit::Span;
use serde::Serialize;

use crate::config::access::{AccessReader, AccessSettings, AssumeRole};
use crate::config::encryption::EncryptionSettings;
use crate::config::error::{ConfigError, ConfigErrorKind};
use crate::config::objectives::Objectives;
use crate::config::section::{
    read_attributes, read_section, unknown_in, wrong_form_attribute, wrong_form_block, Field,
    Section,
};
use crate::config::source::{SeenKeys, Source};
use crate::config::{
    validate_state_key, validate_workspace_key_prefix, validate_workspace_name, BackendSettings,
    ENVIRONMENTS_DIR,
};
use crate::envvars::STATEWARD_ENVIRONMENTS_DIR;

/// Attributes known at the top level of an environment file.
pub const TOP_LEVEL_KEYS: &[&str] = &["description"];
/// Blocks known at the top level of an environment file.
pub const TOP_LEVEL_BLOCKS: &[&str] = &[
    "backend",
    "snapshots",
    "retention",
    "objectives",
    "drift",
    "rebuild",
    "states",
    "cache",
];
/// Keys of the `backend` block: the names of [`BackendSettings`]'s fields,
/// then the access settings ([`crate::config::access::ENV_FILE_ACCESS_KEYS`]),
/// then the backend's own names of the object settings ([`ENCRYPTION_KEYS`]).
pub const BACKEND_KEYS: &[&str] = &[
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
    "encrypt",
    "kms_key_id",
    "sse_customer_key",
    "acl",
    "skip_s3_checksum",
];

/// A loaded environment file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvFile {
    /// The file that was read (as found: relative when the base dir is `.`).
    pub path: PathBuf,
    pub description: Option<String>,
    /// The `backend` block; `origin` is set to `environment file PATH`.
    pub backend: BackendSettings,
    /// The `snapshots` block, if any.
    pub snapshots: Option<SnapshotSettings>,
    /// The `retention` block, if any.
    pub retention: Option<RetentionSettings>,
    /// The `objectives` block (RPO, RTO, retention), when present.
    pub objectives: Option<Objectives>,
    /// The optional `drift` block (settings of `stateward drift`).
    pub drift: Option<DriftSettings>,
    /// The optional `rebuild` block (tiers and journal of `stateward rebuild`).
    pub rebuild: Option<RebuildSettings>,
    /// The optional `states` block: per key pattern settings of fleet runs.
    pub states: Option<StatesSettings>,
    /// The optional `cache` block (the local version cache).
    pub cache: Option<CacheSettings>,
}

/// The `cache { ... }` block: the local cache of state versions.
///
/// ```hcl
/// cache {
///   max_size = "2GB"   # least recently used bodies go first; "0" turns it off
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CacheSettings {
    /// The bound in bytes (written `"2GB"`, `"500MiB"`, `"1048576"`).
    pub max_size: Option<u64>,
}

/// What a cache size must look like, for error messages.
pub const CACHE_SIZE_ADVICE: &str =
    "write a size such as \"4GB\", \"500MiB\" or a number of bytes (\"0\" turns the cache off)";

impl Section for CacheSettings {
    const NAME: &'static str = "cache";
    const KEYS: &'static [&'static str] = &["max_size"];
    const REQUIRED: &'static [&'static str] = &[];

    fn set(&mut self, f: &Field<'_>) -> Result<(), ConfigError> {
        match f.key() {
            "max_size" => {
                let text = f.non_empty_string()?;
                self.max_size = Some(
                    crate::util::size::parse_size(&text)
                        .ok_or_else(|| f.invalid(CACHE_SIZE_ADVICE))?,
                );
            }
            other => return Err(unknown_in::<Self>(f.src, other, f.span.clone())),
        }
        Ok(())
    }
}

/// The `states { match "PATTERN" { ... } }` block: settings of the states
/// of a fleet run (`stateward states`, `--all-states`, `--states-from`)
/// whose key matches a glob (and, with `bucket`, whose bucket matches too),
/// for fleets that are not uniform. The first `match` that matches a state
/// applies; command-line flags still win.
///
/// ```hcl
/// states {
///   match "team-a/**" {
///     dynamodb_table   = "team-a-locks"
///     region           = "eu-central-1"
///     live_assume_role = { role_arn = "arn:aws:iam::111111111111:role/drift-read" }
///   }
///   match "**" {
///     bucket = "acme-tfstate-us"
///     region = "us-east-1"
///   }
///   match "legacy/*.tfstate" {
///     use_lockfile = true
///   }
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatesSettings {
    /// The `match` blocks, in file order.
    pub rules: Vec<StateRule>,
}

/// One `match "PATTERN" { ... }` of the `states` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StateRule {
    /// A glob over the state key: `*` stays within one `/` segment, `**`
    /// crosses them, `?`, `[ab]` and `{a,b}` as usual.
    pub pattern: String,
    /// Only states in this bucket (a name, or a glob over names such as
    /// `acme-tfstate-*`); `None`: any bucket.
    pub bucket: Option<String>,
    pub dynamodb_table: Option<String>,
    pub region: Option<String>,
    pub use_lockfile: Option<bool>,
    /// The role of the live checks of these states (as `drift { assume_role }`).
    pub live_assume_role: Option<AssumeRole>,
}

/// Keys of a `match` block of `states`.
pub const STATE_RULE_KEYS: &[&str] = &[
    "bucket",
    "dynamodb_table",
    "region",
    "use_lockfile",
    "live_assume_role",
];

impl Section for StateRule {
    const NAME: &'static str = "match";
    const KEYS: &'static [&'static str] = STATE_RULE_KEYS;
    const REQUIRED: &'static [&'static str] = &[];

    fn set(&mut self, f: &Field<'_>) -> Result<(), ConfigError> {
        match f.key() {
            "bucket" => {
                let b = f.non_empty_string()?;
                self.bucket = Some(rule_bucket(&b).map_err(|reason| f.invalid(reason))?);
            }
            "dynamodb_table" => self.dynamodb_table = Some(f.non_empty_string()?),
            "region" => self.region = Some(f.non_empty_string()?),
            "use_lockfile" => self.use_lockfile = Some(f.bool()?),
            "live_assume_role" => {
                let mut access = AccessSettings::default();
                AccessReader::set_env_file(&mut access, "assume_role", f.value())
                    .map_err(|reason| f.invalid(reason))?;
                self.live_assume_role = access.assume_role;
            }
            other => return Err(unknown_in::<Self>(f.src, other, f.span.clone())),
        }
        Ok(())
    }
}

/// A `states` pattern as a matcher: `*` does not cross `/`. The error is
/// globset's reason.
pub fn state_glob(pattern: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

/// Checks a rule's `bucket`: a bucket name (S3's rules: 3 to 63 of
/// lowercase letters, digits, `.` and `-`) or a glob over names; never a
/// path or URL. Returns it as written. Pure.
pub fn rule_bucket(b: &str) -> Result<String, String> {
    if b.starts_with("s3://") || b.contains('/') {
        return Err(format!(
            "\"{b}\" is not a bucket name: write only the name (bucket = \"acme-tfstate\") and put the key part in the match label"
        ));
    }
    let globbing = b.contains(['*', '?', '[', '{']);
    if globbing {
        return state_glob(b)
            .map(|_| b.to_owned())
            .map_err(|why| format!("\"{b}\" is not a glob over bucket names ({why})"));
    }
    let ok_chars = b
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    if !(3..=63).contains(&b.len()) || !ok_chars {
        return Err(format!(
            "\"{b}\" is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens), nor a glob over names such as \"acme-tfstate-*\""
        ));
    }
    Ok(b.to_owned())
}

impl StateRule {
    /// Whether this rule applies to the state `bucket`/`key`. Pure.
    pub fn matches(&self, bucket: &str, key: &str) -> bool {
        let bucket_ok = self
            .bucket
            .as_deref()
            .is_none_or(|b| state_glob(b).is_ok_and(|g| g.is_match(bucket)));
        bucket_ok && state_glob(&self.pattern).is_ok_and(|g| g.is_match(key))
    }
}

impl StatesSettings {
    /// The first rule that matches the state `bucket`/`key` (with its
    /// index). Pure.
    pub fn rule_for(&self, bucket: &str, key: &str) -> Option<(usize, &StateRule)> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(bucket, key))
    }

    /// The region the rules give a bucket: the first rule that names it
    /// (`bucket` matching) and sets a region. Pure.
    pub fn region_of_bucket(&self, bucket: &str) -> Option<(usize, &str)> {
        self.rules.iter().enumerate().find_map(|(i, r)| {
            let named = r
                .bucket
                .as_deref()
                .is_some_and(|b| state_glob(b).is_ok_and(|g| g.is_match(bucket)));
            if named {
                r.region.as_deref().map(|reg| (i, reg))
            } else {
                None
            }
        })
    }
}

/// Reads the `states` block: `match "PATTERN" { ... }` blocks only, each
/// pattern a valid glob, no pattern twice.
/// The one label of a labelled block nested in another (`match "GLOB"` in
/// `states`, `tier "NAME"` in `rebuild`), and errors reported at it.
struct Label<'a> {
    src: &'a Source,
    /// The label, trimmed; empty when the block has none, or several.
    text: String,
    /// The label's place, else the block keyword's.
    span: Option<Range<usize>>,
    /// The block keyword (`match`, `tier`) and the block it is in.
    key: String,
    within: &'static str,
}

impl<'a> Label<'a> {
    fn of(src: &'a Source, inner: &Block, within: &'static str) -> Label<'a> {
        let text = match inner.labels.as_slice() {
            [label] => label.as_str().trim().to_owned(),
            _ => String::new(),
        };
        let span = inner
            .labels
            .first()
            .and_then(|l| l.span())
            .or(inner.ident.span());
        Label {
            src,
            text,
            span,
            key: inner.ident.as_str().to_owned(),
            within,
        }
    }

    /// An invalid-value error at the label.
    fn error(&self, reason: String) -> ConfigError {
        self.src.error(
            self.span.clone(),
            ConfigErrorKind::InvalidValue {
                key: self.key.clone(),
                block: Some(self.within.to_string()),
                reason,
            },
        )
    }

    /// The label's line (0 when it has no place).
    fn line(&self) -> usize {
        self.span
            .as_ref()
            .map_or(0, |r| self.src.line_col(r.start).0)
    }
}

fn read_states(src: &Source, block: &Block) -> Result<StatesSettings, ConfigError> {
    const NAME: &str = "states";
    if let Some(label) = block.labels.first() {
        return Err(src.error(
            label.span(),
            ConfigErrorKind::UnexpectedLabels {
                block: NAME.to_string(),
            },
        ));
    }
    let unknown = |key: &str, span| {
        src.error(
            span,
            ConfigErrorKind::UnknownKey {
                key: key.to_string(),
                block: Some(NAME.to_string()),
                expected: vec!["match"],
            },
        )
    };
    let mut out = StatesSettings::default();
    let mut lines: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for structure in block.body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let key = attr.key.as_str();
                let span = attr.key.span();
                if key == "match" {
                    return Err(wrong_form_block(src, key, Some(NAME), span));
                }
                return Err(unknown(key, span));
            }
            Structure::Block(inner) => {
                let key = inner.ident.as_str();
                let span = inner.ident.span();
                if key != "match" {
                    return Err(unknown(key, span));
                }
                let label = Label::of(src, inner, NAME);
                let pattern = label.text.clone();
                if pattern.is_empty() {
                    return Err(label.error(
                        "a match needs exactly one non-empty label, a glob over the state key: `match \"team-a/**\" { ... }`".into(),
                    ));
                }
                if let Err(why) = state_glob(&pattern) {
                    return Err(label.error(format!(
                        "\"{pattern}\" is not a glob ({why}); write e.g. \"team-a/**\" or \"env:/*/app/terraform.tfstate\""
                    )));
                }
                let rule: StateRule = read_attributes(src, inner)?;
                let line = label.line();
                let scope = (rule.bucket.clone().unwrap_or_default(), pattern.clone());
                if let Some(first) = lines.insert(scope, line) {
                    let within = rule
                        .bucket
                        .as_deref()
                        .map(|b| format!(" in bucket \"{b}\""))
                        .unwrap_or_default();
                    return Err(label.error(format!(
                        "\"{pattern}\"{within} is matched twice (first on line {first}); merge the two blocks"
                    )));
                }
                out.rules.push(StateRule { pattern, ..rule });
            }
        }
    }
    Ok(out)
}

/// The `drift { ... }` block: how `stateward drift` scopes and ignores.
///
/// ```hcl
/// drift {
///   unmanaged_name_prefixes = ["mlops-platform-prod-"]
///   unmanaged_tags          = { Project = "mlops-platform" }
///   ignore_file             = ".statewardignore"
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DriftSettings {
    /// `--unmanaged` reports only objects whose name starts with one of these.
    pub unmanaged_name_prefixes: Vec<String>,
    /// `--unmanaged` reports only objects carrying all these tags.
    pub unmanaged_tags: std::collections::BTreeMap<String, String>,
    /// The ignore file (relative to the current directory), unless `--ignore` is given.
    pub ignore_file: Option<String>,
    /// `assume_role = { ... }`: the role of every live check (drift, doctor,
    /// rebuild gates); unset, they run as the caller's own identity.
    pub assume_role: Option<AssumeRole>,
}

impl Section for DriftSettings {
    const NAME: &'static str = "drift";
    const KEYS: &'static [&'static str] = &[
        "unmanaged_name_prefixes",
        "unmanaged_tags",
        "ignore_file",
        "assume_role",
    ];
    const REQUIRED: &'static [&'static str] = &[];

    fn set(&mut self, f: &Field<'_>) -> Result<(), ConfigError> {
        match f.key() {
            "unmanaged_name_prefixes" => self.unmanaged_name_prefixes = f.string_list()?,
            "unmanaged_tags" => self.unmanaged_tags = f.string_map()?,
            "ignore_file" => self.ignore_file = Some(f.non_empty_string()?),
            "assume_role" => {
                let mut access = AccessSettings::default();
                AccessReader::set_env_file(&mut access, "assume_role", f.value())
                    .map_err(|reason| f.invalid(reason))?;
                self.assume_role = access.assume_role;
            }
            other => return Err(unknown_in::<Self>(f.src, other, f.span.clone())),
        }
        Ok(())
    }
}

/// The `snapshots` block: where `stateward snapshot` keeps its copies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SnapshotSettings {
    /// `s3://bucket/prefix` or a local directory (relative to the current directory).
    pub store: Option<String>,
    /// Region of the snapshot bucket when it differs from the state's.
    pub region: Option<String>,
    /// The snapshot bucket's own `encrypt`, `kms_key_id`, ... (the backend's
    /// names); unset: copies keep the state's.
    pub encryption: EncryptionSettings,
}

/// Keys of the `snapshots` block.
pub const SNAPSHOTS_KEYS: &[&str] = &[
    "store",
    "region",
    "encrypt",
    "kms_key_id",
    "sse_customer_key",
    "acl",
    "skip_s3_checksum",
];

/// The `retention` block: the policy `stateward snapshot prune` applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionSettings {
    pub keep_last: Option<u32>,
    pub keep_hourly: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    /// A duration such as `30d` (checked when the file is loaded).
    pub keep_within: Option<String>,
}

/// Keys of the `retention` block.
pub const RETENTION_KEYS: &[&str] = &[
    "keep_last",
    "keep_hourly",
    "keep_daily",
    "keep_weekly",
    "keep_monthly",
    "keep_within",
];

/// Loads `--env NAME_OR_PATH`: a path if it contains `/` or ends with
/// `.hcl` (relative to `base_dir`), otherwise `base_dir/environments/NAME.hcl`,
/// falling back to `$STATEWARD_ENVIRONMENTS_DIR/NAME.hcl`.
pub fn load_env_file_with(
    name_or_path: &str,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<EnvFile, ConfigError> {
    let candidates = env_file_path_candidates(name_or_path, base_dir, env);
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        return Err(ConfigError::new(ConfigErrorKind::EnvNotFound {
            name: name_or_path.to_string(),
            available: available_envs(base_dir, env),
            tried: candidates,
        }));
    };
    let src = Source::read(path, "environment file")?;
    parse_env_file(&src)
}

/// The files `--env NAME_OR_PATH` may refer to, in lookup order.
pub fn env_file_path_candidates(
    name_or_path: &str,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<PathBuf> {
    if is_path_like(name_or_path) {
        return vec![join_base(base_dir, Path::new(name_or_path))];
    }
    let file = format!("{name_or_path}.hcl");
    let mut out = vec![join_base(
        base_dir,
        &Path::new(ENVIRONMENTS_DIR).join(&file),
    )];
    if let Some(dir) = env(STATEWARD_ENVIRONMENTS_DIR).filter(|d| !d.is_empty()) {
        out.push(join_base(base_dir, &Path::new(&dir).join(&file)));
    }
    out
}

fn is_path_like(s: &str) -> bool {
    s.contains('/') || s.contains(std::path::MAIN_SEPARATOR) || s.ends_with(".hcl")
}

/// `base.join(p)`, keeping `p` as written when the base is `.` or empty so
/// messages show `environments/prod.hcl`, not `./environments/prod.hcl`.
fn join_base(base: &Path, p: &Path) -> PathBuf {
    if base.as_os_str().is_empty() || base == Path::new(".") {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn available_envs(base_dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut dirs = vec![join_base(base_dir, Path::new(ENVIRONMENTS_DIR))];
    if let Some(dir) = env(STATEWARD_ENVIRONMENTS_DIR).filter(|d| !d.is_empty()) {
        dirs.push(join_base(base_dir, Path::new(&dir)));
    }
    let mut names: Vec<String> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".hcl").map(str::to_string)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Parses an environment file's text (the fuzz harness's entry point,
/// `tests/fuzz.rs`).
pub fn parse_env_file_text(text: &str) -> Result<EnvFile, ConfigError> {
    parse_env_file(&Source::new(PathBuf::from("fuzz.hcl"), text.to_owned()))
}

/// Parses an environment file already read into `src`.
pub(crate) fn parse_env_file(src: &Source) -> Result<EnvFile, ConfigError> {
    let body = src.parse()?;
    let mut seen = SeenKeys::default();
    let mut description = None;
    let mut backend: Option<BackendSettings> = None;
    let mut snapshots: Option<SnapshotSettings> = None;
    let mut retention: Option<RetentionSettings> = None;
    let mut objectives: Option<Objectives> = None;
    let mut drift: Option<DriftSettings> = None;
    let mut rebuild: Option<RebuildSettings> = None;
    let mut states: Option<StatesSettings> = None;
    let mut cache: Option<CacheSettings> = None;

    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let key = attr.key.as_str();
                let span = attr.key.span();
                if TOP_LEVEL_BLOCKS.contains(&key) {
                    return Err(wrong_form_block(src, key, None, span));
                }
                seen.check(src, key, span.clone(), None)?;
                let field = Field::new(src, attr, None)?;
                match key {
                    "description" => description = Some(field.string()?),
                    _ => return Err(unknown_top_level(src, key, span)),
                }
            }
            Structure::Block(block) => {
                let name = block.ident.as_str();
                let span = block.ident.span();
                if TOP_LEVEL_KEYS.contains(&name) {
                    return Err(wrong_form_attribute(src, name, None, span));
                }
                seen.check(src, name, span.clone(), None)?;
                match name {
                    "backend" => backend = Some(read_section::<BackendSettings>(src, block)?),
                    "snapshots" => snapshots = Some(read_section::<SnapshotSettings>(src, block)?),
                    "retention" => retention = Some(read_section::<RetentionSettings>(src, block)?),
                    "objectives" => objectives = Some(read_section::<Objectives>(src, block)?),
                    "drift" => drift = Some(read_section::<DriftSettings>(src, block)?),
                    "rebuild" => rebuild = Some(read_rebuild(src, block)?),
                    "states" => states = Some(read_states(src, block)?),
                    "cache" => cache = Some(read_section::<CacheSettings>(src, block)?),
                    _ => return Err(unknown_top_level(src, name, span)),
                }
            }
        }
    }

    let mut backend = backend.ok_or_else(|| {
        ConfigError::in_file(
            &src.path,
            ConfigErrorKind::MissingBlock {
                name: "backend".into(),
            },
        )
    })?;
    backend.origin = Some(format!("environment file {}", src.path.display()));
    Ok(EnvFile {
        path: src.path.clone(),
        description,
        backend,
        snapshots,
        retention,
        objectives,
        drift,
        rebuild,
        states,
        cache,
    })
}

fn unknown_top_level(src: &Source, key: &str, span: Option<Range<usize>>) -> ConfigError {
    src.error(
        span,
        ConfigErrorKind::UnknownKey {
            key: key.to_string(),
            block: None,
            expected: TOP_LEVEL_KEYS
                .iter()
                .chain(TOP_LEVEL_BLOCKS)
                .copied()
                .collect(),
        },
    )
}

impl Section for BackendSettings {
    const NAME: &'static str = "backend";
    const KEYS: &'static [&'static str] = BACKEND_KEYS;
    const REQUIRED: &'static [&'static str] = &["bucket", "key"];

    fn set(&mut self, f: &Field<'_>) -> Result<(), ConfigError> {
        match f.key() {
            "bucket" => self.bucket = Some(f.non_empty_string()?),
            "key" => self.key = Some(f.validated(f.string()?, validate_state_key)?),
            "region" => self.region = Some(f.non_empty_string()?),
            "dynamodb_table" => self.dynamodb_table = Some(f.non_empty_string()?),
            "workspace" => {
                self.workspace = Some(f.validated(f.string()?, validate_workspace_name)?)
            }
            "workspace_key_prefix" => {
                self.workspace_key_prefix =
                    Some(f.validated(f.string()?, validate_workspace_key_prefix)?)
            }
            "endpoint_url" => self.endpoint_url = Some(f.url()?),
            "s3_endpoint" => self.s3_endpoint = Some(f.url()?),
            "dynamodb_endpoint" => self.dynamodb_endpoint = Some(f.url()?),
            "force_path_style" => self.force_path_style = Some(f.bool()?),
            "use_lockfile" => self.use_lockfile = Some(f.bool()?),
            "profile" => self.profile = Some(f.non_empty_string()?),
            "encrypt" => self.encryption.encrypt = Some(f.bool()?),
            "kms_key_id" => self.encryption.kms_key_id = Some(f.non_empty_string()?),
            "sse_customer_key" => self.encryption.sse_customer_key = Some(f.non_empty_string()?),
            "acl" => self.encryption.acl = Some(f.non_empty_string()?),
            "skip_s3_checksum" => self.encryption.skip_s3_checksum = Some(f.bool()?),
            other => {
                if !AccessReader::set_env_file(&mut self.access, other, f.value())
                    .map_err(|reason| f.invalid(reason))?
                {
                    return Err(unknown_in::<Self>(f.src, other, f.span.clone()));
                }
            }
        }
        Ok(())
    }
}

impl Section for SnapshotSettings {
    const NAME: &'static str = "snapshots";
    const KEYS: &'static [&'static str] = SNAPSHOTS_KEYS;
    const REQUIRED: &'static [&'static str] = &["store"];

    fn set(&mut self, f: &Field<'_>) -> Result<(), ConfigError> {
        match f.key() {
            "store" => {
                let s = f.non_empty_string()?;
                if let Some((scheme, _)) = s.split_once("://") {
                    if scheme != "s3" {
                        return Err(f.invalid(format!(
                            "`{scheme}://` is not a snapshot store; use \"s3://BUCKET/PREFIX\" or a directory path"
                        )));
                    }
                    if s.trim_start_matches("s3://")
                        .split('/')
                        .next()
                        .unwrap_or("")
                        .is_empty()
                    {
                        return Err(
                            f.invalid("it names no bucket; write it as \"s3://BUCKET/PREFIX\"")
                        );
                    }
                }
                self.store = Some(s);
            }
            "region" => self.region = Some(f.non_empty_string()?),
            "encrypt" => self.encryption.encrypt = Some(f.bool()?),
            "kms_key_id" => self.encryption.kms_key_id = Some(f.non_empty_string()?),
            "sse_customer_key" => self.encryption.sse_customer_key = Some(f.non_empty_string()?),
            "acl" => self.encryption.acl = Some(f.non_empty_string()?),
            "skip_s3_checksum" => self.encryption.skip_s3_checksum = Some(f.bool()?),
            other => return Err(unknown_in::<Self>(f.src, other, f.span.clone())),
        }
        Ok(())
    }
}

impl Section for RetentionSettings {
    const NAME: &'static str = "retention";
    const KEYS: &'static [&'static str] = RETENTION_KEYS;
    const REQUIRED: &'static [&'static str] = &[];

    fn set(&mut self, f: &Field<'_>) -> Result<(), ConfigError> {
        match f.key() {
            "keep_last" => self.keep_last = Some(f.count()?),
            "keep_hourly" => self.keep_hourly = Some(f.count()?),
            "keep_daily" => self.keep_daily = Some(f.count()?),
            "keep_weekly" => self.keep_weekly = Some(f.count()?),
            "keep_monthly" => self.keep_monthly = Some(f.count()?),
            "keep_within" => {
                let s = f.non_empty_string()?;
                crate::util::duration::parse_flag(s.trim()).map_err(|e| f.invalid(e))?;
                self.keep_within = Some(s);
            }
            other => return Err(unknown_in::<Self>(f.src, other, f.span.clone())),
        }
        Ok(())
    }
}

/// The `rebuild { ... }` block: the waves of `stateward rebuild` and where
/// its journal is kept.
///
/// ```hcl
/// rebuild {
///   s3_journal = true   # also keep the journal next to the state in S3
///   tier "control plane" {
///     types        = ["aws_eks_cluster"]
///     gate         = "eks-cluster-active"
///     gate_timeout = "30m"
///   }
///   tier "workloads" {
///     types    = ["helm_release", "kubernetes_*", "kubectl_manifest"]
///     commands = [["kubectl", "apply", "-k", "infrastructure/kubernetes/"]]
///   }
/// }
/// ```
///
/// Any `tier` block replaces the default tiers as a whole, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RebuildSettings {
    /// Keep a copy of the journal at `<state key>.rebuild-journal.json`.
    pub s3_journal: Option<bool>,
    /// The tiers, in order; empty means the defaults.
    pub tiers: Vec<crate::model::tier::Tier>,
}

/// Attributes of the `rebuild` block.
pub const REBUILD_KEYS: &[&str] = &["s3_journal"];
/// Blocks inside the `rebuild` block.
pub const REBUILD_BLOCKS: &[&str] = &["tier"];
/// Default `gate_timeout` of a tier with a gate: 30 minutes.
pub const DEFAULT_GATE_TIMEOUT_SECONDS: u64 = 1800;

/// One `tier "NAME" { ... }` block, as written.
#[derive(Debug, Clone, Default)]
struct TierSettings {
    types: Vec<String>,
    commands: Vec<Vec<String>>,
    gate: Option<crate::model::tier::GateKind>,
    gate_timeout_seconds: Option<u64>,
}

impl Section for TierSettings {
    const NAME: &'static str = "tier";
    const KEYS: &'static [&'static str] = &["types", "commands", "gate", "gate_timeout"];
    const REQUIRED: &'static [&'static str] = &["types"];

    fn set(&mut self, f: &Field<'_>) -> Result<(), ConfigError> {
        match f.key() {
            "types" => {
                let types = f.string_list()?;
                if types.is_empty() {
                    return Err(f.invalid(
                        "a tier needs at least one resource type, e.g. [\"aws_eks_cluster\"]",
                    ));
                }
                for t in &types {
                    let prefix = t.strip_suffix('*').unwrap_or(t);
                    if prefix.is_empty()
                        || !prefix
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        return Err(f.invalid(format!(
                            "\"{t}\" is not a resource type or a prefix pattern; write e.g. \"aws_eks_node_group\" or \"kubernetes_*\" (`*` only at the end)"
                        )));
                    }
                }
                self.types = types;
            }
            "commands" => {
                let commands = f.string_lists()?;
                if commands
                    .iter()
                    .any(|c| c.first().is_none_or(|p| p.trim().is_empty()))
                {
                    return Err(f.invalid(
                        "every command must be a non-empty list starting with the program, e.g. [\"kubectl\", \"apply\", \"-k\", \"infrastructure/kubernetes/\"]",
                    ));
                }
                self.commands = commands;
            }
            "gate" => {
                let g = f.non_empty_string()?;
                self.gate = Some(g.parse().map_err(|e: String| f.invalid(e))?);
            }
            "gate_timeout" => {
                let s = f.non_empty_string()?;
                let d = crate::util::duration::parse_positive(&s).map_err(|e| f.invalid(e))?;
                self.gate_timeout_seconds = Some(d.as_secs().max(1));
            }
            other => return Err(unknown_in::<Self>(f.src, other, f.span.clone())),
        }
        Ok(())
    }
}

fn read_rebuild(src: &Source, block: &Block) -> Result<RebuildSettings, ConfigError> {
    const NAME: &str = "rebuild";
    if let Some(label) = block.labels.first() {
        return Err(src.error(
            label.span(),
            ConfigErrorKind::UnexpectedLabels {
                block: NAME.to_string(),
            },
        ));
    }
    let expected: Vec<&'static str> = REBUILD_KEYS.iter().chain(REBUILD_BLOCKS).copied().collect();
    let unknown = |key: &str, span| {
        src.error(
            span,
            ConfigErrorKind::UnknownKey {
                key: key.to_string(),
                block: Some(NAME.to_string()),
                expected: expected.clone(),
            },
        )
    };
    let mut out = RebuildSettings::default();
    let mut seen = SeenKeys::default();
    // Where each type pattern was first listed: (tier name).
    let mut owner: std::collections::BTreeMap<String, String> = Default::default();
    // Tier names, with the line of each.
    let mut names: std::collections::BTreeMap<String, usize> = Default::default();
    for structure in block.body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let key = attr.key.as_str();
                let span = attr.key.span();
                if REBUILD_BLOCKS.contains(&key) {
                    return Err(wrong_form_block(src, key, Some(NAME), span));
                }
                if !REBUILD_KEYS.contains(&key) {
                    return Err(unknown(key, span));
                }
                seen.check(src, key, span, Some(NAME))?;
                let field = Field::new(src, attr, Some(NAME))?;
                if key == "s3_journal" {
                    out.s3_journal = Some(field.bool()?);
                }
            }
            Structure::Block(inner) => {
                let key = inner.ident.as_str();
                let span = inner.ident.span();
                if REBUILD_KEYS.contains(&key) {
                    return Err(wrong_form_attribute(src, key, Some(NAME), span));
                }
                if !REBUILD_BLOCKS.contains(&key) {
                    return Err(unknown(key, span));
                }
                let label = Label::of(src, inner, NAME);
                let name = label.text.clone();
                if name.is_empty() {
                    return Err(label.error(
                        "a tier needs exactly one non-empty label, its name: `tier \"control plane\" { ... }`".into(),
                    ));
                }
                if name == crate::model::tier::FINAL_WAVE {
                    return Err(label.error(format!(
                        "\"{name}\" is the name of the final full apply; give the tier another name"
                    )));
                }
                let line = label.line();
                if let Some(first) = names.insert(name.clone(), line) {
                    return Err(label.error(format!(
                        "there are two tiers named \"{name}\" (the first on line {first}); give each tier its own name"
                    )));
                }
                let t: TierSettings = read_attributes(src, inner)?;
                if t.gate_timeout_seconds.is_some() && t.gate.is_none() {
                    return Err(label.error(format!(
                        "tier \"{name}\" sets gate_timeout without a gate; add `gate = \"...\"` or remove gate_timeout"
                    )));
                }
                for ty in &t.types {
                    if let Some(first) = owner.insert(ty.clone(), name.clone()) {
                        return Err(label.error(format!(
                            "\"{ty}\" is listed in tier \"{first}\" and in tier \"{name}\"; a type belongs to one tier"
                        )));
                    }
                }
                out.tiers.push(crate::model::tier::Tier {
                    name,
                    types: t.types,
                    commands: t.commands,
                    gate_timeout_seconds: match &t.gate {
                        Some(_) => t
                            .gate_timeout_seconds
                            .unwrap_or(DEFAULT_GATE_TIMEOUT_SECONDS),
                        None => 0,
                    },
                    gate: t.gate,
                    needed_only: false,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of a JSON object, sorted.
    fn sorted_keys(v: &serde_json::Value) -> Vec<&str> {
        let mut keys: Vec<&str> = v
            .as_object()
            .expect("a JSON object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        keys
    }
    use crate::config::resolve;

    fn parse(text: &str) -> Result<EnvFile, ConfigError> {
        parse_env_file(&Source::new("environments/test.hcl".into(), text.into()))
    }

    #[test]
    fn backend_keys_are_the_fields_and_the_object_settings() {
        let mut want: Vec<&str> = BackendSettings::FIELDS.to_vec();
        want.extend(crate::config::access::ENV_FILE_ACCESS_KEYS);
        want.extend(crate::config::ENCRYPTION_KEYS);
        assert_eq!(BACKEND_KEYS, want.as_slice());
    }

    #[test]
    fn encryption_settings_in_the_backend_block() {
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let env = parse(&format!(
            "backend {{\n  bucket = \"b\"\n  key = \"k\"\n  encrypt = true\n  sse_customer_key = \"{key}\"\n  acl = \"private\"\n}}\n"
        ))
        .unwrap();
        let t = resolve(BackendSettings::default(), Some(&env), None, &no_env).unwrap();
        assert!(matches!(
            t.encryption.sse,
            crate::config::Sse::Customer { .. }
        ));
        assert_eq!(t.encryption.acl.as_deref(), Some("private"));
        // kms_key_id in the file and a customer key in the environment conflict.
        let env = parse(
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n  encrypt = true\n  kms_key_id = \"alias/x\"\n}\n",
        )
        .unwrap();
        let lookup = |v: &str| (v == "AWS_SSE_CUSTOMER_KEY").then(|| key.to_string());
        let err = resolve(BackendSettings::default(), Some(&env), None, &lookup).unwrap_err();
        assert!(err.to_string().contains("cannot both be set"), "{err}");
        assert!(!err.to_string().contains(key), "{err}");
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    const GOOD: &str = r#"# comment
description = "test"
backend {
  bucket = "b"
  key    = "k/terraform.tfstate"
  region = "eu-west-1"
  use_lockfile = true
}
"#;

    #[test]
    fn parses_a_minimal_file() {
        let env = parse(GOOD).unwrap();
        assert_eq!(env.description.as_deref(), Some("test"));
        assert_eq!(env.backend.bucket.as_deref(), Some("b"));
        assert_eq!(env.backend.key.as_deref(), Some("k/terraform.tfstate"));
        assert_eq!(env.backend.region.as_deref(), Some("eu-west-1"));
        assert_eq!(env.backend.use_lockfile, Some(true));
        assert_eq!(env.backend.dynamodb_table, None);
        assert_eq!(
            env.backend.origin.as_deref(),
            Some("environment file environments/test.hcl")
        );
    }

    /// (name, file text, expected line, expected column, substring of message)
    const ERRORS: &[(&str, &str, usize, usize, &str)] = &[
        (
            "unknown key in backend",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n  bukcet = \"x\"\n}\n",
            4,
            3,
            "unknown key \"bukcet\" in block \"backend\" (expected one of: bucket, key, region,",
        ),
        (
            "missing bucket",
            "description = \"x\"\n\nbackend {\n  key = \"k\"\n}\n",
            3,
            1,
            "missing required key \"bucket\" in block \"backend\"",
        ),
        (
            "missing key",
            "backend {\n  bucket = \"b\"\n}\n",
            1,
            1,
            "missing required key \"key\"",
        ),
        (
            "wrong type bool",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n  use_lockfile = \"yes\"\n}\n",
            4,
            18,
            "\"use_lockfile\" in block \"backend\" must be a boolean (true or false), found a string",
        ),
        (
            "wrong type string",
            "backend {\n  bucket = 42\n  key = \"k\"\n}\n",
            2,
            12,
            "\"bucket\" in block \"backend\" must be a string, found a number",
        ),
        (
            "syntax error",
            "backend {\n  bucket = \"b\"\n  key = \n}\n",
            3,
            9,
            "HCL syntax error",
        ),
        (
            "unclosed string",
            "description = \"x\nbackend {}\n",
            1,
            1,
            "HCL syntax error",
        ),
        (
            "duplicate key",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n  bucket = \"c\"\n}\n",
            4,
            3,
            "duplicate key \"bucket\" in block \"backend\" (first set on line 2)",
        ),
        (
            "duplicate top-level attribute",
            "description = \"a\"\n\ndescription = \"b\"\n",
            3,
            1,
            "duplicate key \"description\" at top level (first set on line 1)",
        ),
        (
            "duplicate block",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\nbackend {\n  bucket = \"b\"\n  key = \"k\"\n}\n",
            5,
            1,
            "duplicate key \"backend\" at top level (first set on line 1)",
        ),
        (
            "unknown top-level block",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\nretension {\n  keep_last = 3\n}\n",
            5,
            1,
            "unknown key \"retension\" at top level (expected one of: description, backend, snapshots, retention, objectives, drift, rebuild, states, cache)",
        ),
        (
            "unknown key in retention",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\nretention {\n  keep_lats = 3\n}\n",
            6,
            3,
            "unknown key \"keep_lats\" in block \"retention\" (expected one of: keep_last, keep_hourly,",
        ),
        (
            "negative keep count",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\nretention {\n  keep_daily = -1\n}\n",
            6,
            16,
            "invalid value for \"keep_daily\"",
        ),
        (
            "keep count as a string",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\nretention {\n  keep_daily = \"7\"\n}\n",
            6,
            16,
            "must be a number",
        ),
        (
            "bad keep_within",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\nretention {\n  keep_within = \"a month\"\n}\n",
            6,
            17,
            "invalid value for \"keep_within\"",
        ),
        (
            "snapshots without store",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\nsnapshots {\n  region = \"eu-central-1\"\n}\n",
            5,
            1,
            "missing required key \"store\" in block \"snapshots\"",
        ),
        (
            "snapshot store with another scheme",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\nsnapshots {\n  store = \"gs://b/p\"\n}\n",
            6,
            11,
            "is not a snapshot store",
        ),
        (
            "unknown top-level attribute",
            "descripton = \"x\"\n",
            1,
            1,
            "unknown key \"descripton\" at top level",
        ),
        (
            "nested block in backend",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n  endpoints {\n    s3 = \"x\"\n  }\n}\n",
            4,
            3,
            "unknown key \"endpoints\" in block \"backend\"",
        ),
        (
            "backend as attribute",
            "backend = { bucket = \"b\" }\n",
            1,
            1,
            "must be written as a block",
        ),
        (
            "labelled backend",
            "backend \"s3\" {\n  bucket = \"b\"\n  key = \"k\"\n}\n",
            1,
            9,
            "takes no labels",
        ),
        (
            "variable reference",
            "backend {\n  bucket = var.bucket\n  key = \"k\"\n}\n",
            2,
            12,
            "not a literal value (it refers to `var`)",
        ),
        (
            "invalid workspace",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n  workspace = \"a/b\"\n}\n",
            4,
            15,
            "invalid value for \"workspace\"",
        ),
        (
            "endpoint without scheme",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n  endpoint_url = \"127.0.0.1:5055\"\n}\n",
            4,
            18,
            "is not a URL",
        ),
        (
            "empty bucket",
            "backend {\n  bucket = \"\"\n  key = \"k\"\n}\n",
            2,
            12,
            "must not be empty",
        ),
    ];

    #[test]
    fn errors_name_file_line_and_column() {
        for (name, text, line, col, msg) in ERRORS {
            let err = parse(text).expect_err(name);
            assert_eq!(
                err.file.as_deref(),
                Some(Path::new("environments/test.hcl")),
                "{name}"
            );
            assert_eq!(
                (err.line, err.column),
                (Some(*line), Some(*col)),
                "{name}: {err}"
            );
            let rendered = err.to_string();
            assert!(
                rendered.starts_with(&format!("environments/test.hcl:{line}:{col}: ")),
                "{name}: {rendered}"
            );
            assert!(rendered.contains(msg), "{name}: {rendered}");
        }
    }

    #[test]
    fn crlf_no_trailing_newline_and_one_line_blocks() {
        for text in [
            "backend {\r\n  bucket = \"b\"\r\n  key = \"k\"\r\n}\r\n",
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n}",
            "backend { bucket = \"b\" }\n",
        ] {
            let r = parse(text);
            if text.contains("key") {
                assert_eq!(r.unwrap().backend.key.as_deref(), Some("k"), "{text:?}");
            } else {
                assert!(r
                    .unwrap_err()
                    .to_string()
                    .contains("missing required key \"key\""));
            }
        }
        // Line numbers on a CRLF file.
        let err = parse("backend {\r\n  bucket = \"b\"\r\n  key = \"k\"\r\n  x = 1\r\n}\r\n")
            .unwrap_err();
        assert_eq!((err.line, err.column), (Some(4), Some(3)), "{err}");
    }

    #[test]
    fn missing_backend_block_names_the_file() {
        let err = parse("description = \"x\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "environments/test.hcl: missing required block \"backend\"; add `backend { ... }` to the file"
        );
    }

    #[test]
    fn name_or_path_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::create_dir_all(base.join("environments")).unwrap();
        std::fs::create_dir_all(base.join("elsewhere")).unwrap();
        std::fs::create_dir_all(base.join("custom")).unwrap();
        std::fs::write(base.join("environments/prod.hcl"), GOOD).unwrap();
        std::fs::write(base.join("elsewhere/staging.hcl"), GOOD).unwrap();
        std::fs::write(base.join("custom/my.hcl"), GOOD).unwrap();
        let with_var = |k: &str| (k == STATEWARD_ENVIRONMENTS_DIR).then(|| "elsewhere".to_string());

        // A name: environments/NAME.hcl under the base dir.
        let env = load_env_file_with("prod", base, &no_env).unwrap();
        assert_eq!(env.path, base.join("environments/prod.hcl"));
        // A path (contains `/`), relative to the base dir.
        let env = load_env_file_with("custom/my.hcl", base, &no_env).unwrap();
        assert_eq!(env.path, base.join("custom/my.hcl"));
        // A path (ends with .hcl), absolute.
        let abs = base.join("custom/my.hcl");
        let env =
            load_env_file_with(abs.to_str().unwrap(), Path::new("/nonexistent"), &no_env).unwrap();
        assert_eq!(env.path, abs);
        // Fallback to STATEWARD_ENVIRONMENTS_DIR.
        let env = load_env_file_with("staging", base, &with_var).unwrap();
        assert_eq!(env.path, base.join("elsewhere/staging.hcl"));
        // environments/ wins over the variable.
        let env = load_env_file_with("prod", base, &with_var).unwrap();
        assert_eq!(env.path, base.join("environments/prod.hcl"));

        // Not found: lists what was tried and what exists.
        let err = load_env_file_with("staging", base, &no_env).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("environment \"staging\" not found"), "{msg}");
        assert!(msg.contains("environments/staging.hcl"), "{msg}");
        assert!(msg.contains("available environments: prod"), "{msg}");
    }

    #[test]
    fn base_dot_keeps_relative_paths() {
        assert_eq!(
            env_file_path_candidates("prod", Path::new("."), &no_env),
            vec![PathBuf::from("environments/prod.hcl")]
        );
        assert_eq!(
            env_file_path_candidates("x.hcl", Path::new(""), &no_env),
            vec![PathBuf::from("x.hcl")]
        );
    }

    fn shipped_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(ENVIRONMENTS_DIR)
    }

    #[test]
    fn shipped_environments_load_and_resolve() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in ["local", "dev", "prod"] {
            let env =
                load_env_file_with(name, base, &no_env).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(env.description.is_some(), "{name}");
            let target = resolve(Default::default(), Some(&env), None, &no_env)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                target.source.contains(&format!("{name}.hcl")),
                "{}",
                target.source
            );
        }
        for (name, rpo, rto) in [
            ("local", 3600, 4 * 3600),
            ("dev", 900, 3600),
            ("prod", 900, 3600),
        ] {
            let o = load_env_file_with(name, base, &no_env)
                .unwrap()
                .objectives
                .unwrap();
            assert_eq!(o.rpo().as_secs(), rpo, "{name}");
            assert_eq!(o.rto().as_secs(), rto, "{name}");
        }
        let local = load_env_file_with("local", base, &no_env).unwrap();
        let b = &local.backend;
        assert_eq!(b.bucket.as_deref(), Some("stateward-demo"));
        assert_eq!(b.key.as_deref(), Some("platform/terraform.tfstate"));
        assert_eq!(b.region.as_deref(), Some("eu-west-1"));
        assert_eq!(b.dynamodb_table.as_deref(), Some("stateward-demo-locks"));
        assert_eq!(b.endpoint_url.as_deref(), Some("http://127.0.0.1:5055"));
        let t = resolve(Default::default(), Some(&local), None, &no_env).unwrap();
        assert!(t.force_path_style);
        assert_eq!(t.s3_endpoint.as_deref(), Some("http://127.0.0.1:5055"));
        assert_eq!(
            t.dynamodb_endpoint.as_deref(),
            Some("http://127.0.0.1:5055")
        );

        // Every shipped file is one of the three (a new one must be added above).
        let mut names: Vec<String> = std::fs::read_dir(shipped_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["dev.hcl", "local.hcl", "prod.hcl"]);
    }

    #[test]
    fn the_backend_block_reads_access_settings_by_their_terraform_names() {
        let env = parse(
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n  assume_role = {\n    role_arn = \"arn:aws:iam::111111111111:role/state\"\n    duration = \"30m\"\n  }\n  sts_region = \"us-east-1\"\n  allowed_account_ids = [\"111111111111\"]\n  max_retries = 2\n}\ndrift {\n  assume_role = { role_arn = \"arn:aws:iam::222222222222:role/live\" }\n}\n",
        )
        .unwrap();
        let a = &env.backend.access;
        let role = a.assume_role.as_ref().unwrap();
        assert_eq!(role.role_arn, "arn:aws:iam::111111111111:role/state");
        assert_eq!(role.duration_seconds, Some(1800));
        assert_eq!(a.sts_region.as_deref(), Some("us-east-1"));
        assert_eq!(a.max_retries, Some(2));
        assert_eq!(
            env.drift.unwrap().assume_role.unwrap().role_arn,
            "arn:aws:iam::222222222222:role/live"
        );

        // The deprecated top-level names belong to backend blocks only.
        let e = parse("backend {\n  bucket = \"b\"\n  key = \"k\"\n  role_arn = \"arn:aws:iam::1:role/x\"\n}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key \"role_arn\""), "{e}");
        // A bad value is placed at the value.
        let e = parse("backend {\n  bucket = \"b\"\n  key = \"k\"\n  retry_mode = \"fast\"\n}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(":4:") && e.contains("\"standard\" or \"adaptive\""),
            "{e}"
        );
    }

    #[test]
    fn parses_the_drift_block() {
        let env = parse(
            "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\ndrift {\n  unmanaged_name_prefixes = [\"mlops-\"]\n  unmanaged_tags = { Project = \"mlops\" }\n  ignore_file = \".statewardignore\"\n}\n",
        )
        .unwrap();
        let d = env.drift.unwrap();
        assert_eq!(d.unmanaged_name_prefixes, ["mlops-"]);
        assert_eq!(d.unmanaged_tags["Project"], "mlops");
        assert_eq!(d.ignore_file.as_deref(), Some(".statewardignore"));
        let e = parse("backend {\n  bucket = \"b\"\n  key = \"k\"\n}\ndrift {\n  unmanaged_tags = [\"x\"]\n}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":6:"), "{e}");
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schemas/environment.schema.json")).unwrap();
        let keys = sorted_keys(&schema["$defs"]["drift"]["properties"]);
        let mut want = <DriftSettings as Section>::KEYS.to_vec();
        want.sort();
        assert_eq!(keys, want);
    }

    #[test]
    fn a_states_rule_can_name_its_bucket_or_a_glob_over_buckets() {
        let base = "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\n";
        let env = parse(&format!(
            "{base}states {{\n  match \"team-a/**\" {{\n    bucket = \"acme-us\"\n    dynamodb_table = \"us-locks\"\n  }}\n  match \"**\" {{\n    bucket = \"acme-eu-*\"\n    region = \"eu-central-1\"\n  }}\n  match \"team-a/**\" {{\n    use_lockfile = true\n  }}\n  match \"**\" {{\n    bucket = \"acme-us\"\n    region = \"us-east-1\"\n  }}\n}}\n"
        ))
        .unwrap();
        let st = env.states.unwrap();
        assert_eq!(st.rules[0].bucket.as_deref(), Some("acme-us"));
        assert_eq!(st.rules[2].bucket, None);
        let cases = [
            ("acme-us", "team-a/x.tfstate", Some(0)),
            ("acme-other", "team-a/x.tfstate", Some(2)),
            ("acme-eu-1", "team-a/x.tfstate", Some(1)),
            ("acme-eu-2", "b/y.tfstate", Some(1)),
            ("acme-us", "b/y.tfstate", Some(3)),
            ("acme-other", "b/y.tfstate", None),
        ];
        for (bucket, key, want) in cases {
            assert_eq!(
                st.rule_for(bucket, key).map(|(i, _)| i),
                want,
                "{bucket}/{key}"
            );
        }
        // The region of a whole bucket: the first rule naming it with a region.
        let regions = [
            ("acme-us", Some((3, "us-east-1"))),
            ("acme-eu-9", Some((1, "eu-central-1"))),
            ("acme-other", None),
        ];
        for (bucket, want) in regions {
            assert_eq!(st.region_of_bucket(bucket), want, "{bucket}");
        }
    }

    #[test]
    fn the_states_block_maps_key_globs_to_settings_first_match_wins() {
        let base = "backend {\n  bucket = \"b\"\n  key = \"k\"\n}\n";
        let env = parse(&format!(
            "{base}states {{\n  match \"team-a/**\" {{\n    dynamodb_table = \"a-locks\"\n    region = \"eu-central-1\"\n    live_assume_role = {{ role_arn = \"arn:aws:iam::1:role/r\" }}\n  }}\n  match \"*/terraform.tfstate\" {{\n    use_lockfile = true\n  }}\n}}\n"
        ))
        .unwrap();
        let st = env.states.unwrap();
        assert_eq!(st.rules.len(), 2);
        let cases = [
            ("team-a/net/terraform.tfstate", Some(0)),
            ("team-a/terraform.tfstate", Some(0)),
            ("svc/terraform.tfstate", Some(1)),
            ("deep/svc/terraform.tfstate", None),
            ("team-b/x.tfstate", None),
        ];
        for (key, want) in cases {
            assert_eq!(st.rule_for("b", key).map(|(i, _)| i), want, "{key}");
        }
        let a = &st.rules[0];
        assert_eq!(a.dynamodb_table.as_deref(), Some("a-locks"));
        assert_eq!(a.region.as_deref(), Some("eu-central-1"));
        assert_eq!(
            a.live_assume_role.as_ref().map(|r| r.role_arn.as_str()),
            Some("arn:aws:iam::1:role/r")
        );
        assert_eq!(st.rules[1].use_lockfile, Some(true));

        // Mistakes name the file and line.
        let errors = [
            ("states {\n  match \"a/[\" {\n  }\n}\n", ":6:", "not a glob"),
            (
                "states {\n  match \"a\" {\n  }\n  match \"a\" {\n  }\n}\n",
                ":8:",
                "matched twice",
            ),
            (
                "states {\n  match \"a\" {\n    table = \"x\"\n  }\n}\n",
                ":7:",
                "table",
            ),
            (
                "states {\n  match {\n  }\n}\n",
                ":6:",
                "one non-empty label",
            ),
            ("states {\n  rule \"a\" {\n  }\n}\n", ":6:", "rule"),
            (
                "states {\n  match \"a\" {\n    use_lockfile = \"yes\"\n  }\n}\n",
                ":7:",
                "use_lockfile",
            ),
            (
                "states {\n  match \"a\" {\n    bucket = \"s3://acme/a\"\n  }\n}\n",
                ":7:",
                "not a bucket name: write only the name",
            ),
            (
                "states {\n  match \"a\" {\n    bucket = \"Acme_State\"\n  }\n}\n",
                ":7:",
                "not an S3 bucket name",
            ),
            (
                "states {\n  match \"a\" {\n    bucket = \"acme-[\"\n  }\n}\n",
                ":7:",
                "not a glob over bucket names",
            ),
            (
                "states {\n  match \"a\" {\n\n    bucket = \"\"\n  }\n}\n",
                ":8:",
                "must not be empty",
            ),
            (
                "states {\n  match \"a\" {\n    bucket = \"xy1\"\n  }\n  match \"a\" {\n    bucket = \"xy1\"\n  }\n}\n",
                ":9:",
                "\"a\" in bucket \"xy1\" is matched twice",
            ),
        ];
        for (text, line, word) in errors {
            let e = parse(&format!("{base}{text}")).unwrap_err().to_string();
            assert!(
                e.contains(&format!("environments/test.hcl{line}")),
                "{text}: {e}"
            );
            assert!(e.contains(word), "{text}: {e}");
        }
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schemas/environment.schema.json")).unwrap();
        let keys = sorted_keys(&schema["$defs"]["stateRule"]["properties"]);
        let mut want = STATE_RULE_KEYS.to_vec();
        want.sort();
        assert_eq!(keys, want);
    }

    #[test]
    fn schema_lists_every_accepted_key() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schemas/environment.schema.json")).unwrap();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        let top = schema["properties"].as_object().unwrap();
        let mut top_keys: Vec<&str> = top.keys().map(String::as_str).collect();
        top_keys.sort();
        let mut expected: Vec<&str> = TOP_LEVEL_KEYS
            .iter()
            .chain(TOP_LEVEL_BLOCKS)
            .copied()
            .collect();
        expected.sort();
        assert_eq!(top_keys, expected, "top-level properties");
        assert_eq!(schema["additionalProperties"], false);

        let backend = &schema["$defs"]["backend"];
        let props = backend["properties"].as_object().unwrap();
        let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
        keys.sort();
        let mut expected = BACKEND_KEYS.to_vec();
        expected.sort();
        assert_eq!(keys, expected, "backend properties");
        assert_eq!(backend["additionalProperties"], false);
        let required: Vec<&str> = backend["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(required, <BackendSettings as Section>::REQUIRED);
        for key in ["force_path_style", "use_lockfile"] {
            assert_eq!(props[key]["type"], "boolean", "{key}");
        }
        assert_eq!(schema["required"], serde_json::json!(["backend"]));

        for (def, keys, required) in [
            (
                "snapshots",
                SNAPSHOTS_KEYS,
                <SnapshotSettings as Section>::REQUIRED,
            ),
            (
                "retention",
                RETENTION_KEYS,
                <RetentionSettings as Section>::REQUIRED,
            ),
            (
                "objectives",
                Objectives::KEYS,
                <Objectives as Section>::REQUIRED,
            ),
            (
                "drift",
                <DriftSettings as Section>::KEYS,
                <DriftSettings as Section>::REQUIRED,
            ),
            (
                "cache",
                <CacheSettings as Section>::KEYS,
                <CacheSettings as Section>::REQUIRED,
            ),
        ] {
            assert_eq!(top[def]["$ref"], format!("#/$defs/{def}"), "{def}");
            let block = &schema["$defs"][def];
            let mut got: Vec<&str> = block["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{def} properties"))
                .keys()
                .map(String::as_str)
                .collect();
            got.sort();
            let mut want = keys.to_vec();
            want.sort();
            assert_eq!(got, want, "{def} properties");
            assert_eq!(block["additionalProperties"], false, "{def}");
            let req: Vec<&str> = block["required"]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
                .unwrap_or_default();
            assert_eq!(req, required, "{def} required");
        }
    }

    #[test]
    fn parses_snapshots_and_retention() {
        let env = parse(&format!(
            "{GOOD}snapshots {{\n  store  = \"s3://snaps/prod\"\n  region = \"eu-central-1\"\n}}\nretention {{\n  keep_last = 3\n  keep_daily = 7\n  keep_within = \"30d\"\n}}\n"
        ))
        .unwrap();
        let snaps = env.snapshots.unwrap();
        assert_eq!(snaps.store.as_deref(), Some("s3://snaps/prod"));
        assert_eq!(snaps.region.as_deref(), Some("eu-central-1"));
        let r = env.retention.unwrap();
        assert_eq!(r.keep_last, Some(3));
        assert_eq!(r.keep_daily, Some(7));
        assert_eq!(r.keep_hourly, None);
        assert_eq!(r.keep_within.as_deref(), Some("30d"));
        let env = parse(GOOD).unwrap();
        assert_eq!((env.snapshots, env.retention), (None, None));
    }

    #[test]
    fn reads_objectives_with_defaults() {
        let env = parse(&format!(
            "{GOOD}objectives {{\n  rpo = \"15m\"\n  rto = \"1h\"\n  noncurrent_retention_days = 30\n}}\n"
        ))
        .unwrap();
        let o = env.objectives.unwrap();
        assert_eq!(o.rpo(), std::time::Duration::from_secs(900));
        assert_eq!(o.rto(), std::time::Duration::from_secs(3600));
        assert_eq!(o.min_backup_retention_days(), 7);
        assert_eq!(o.noncurrent_retention_days(), 30);
        let none = parse(GOOD).unwrap();
        assert!(none.objectives.is_none());
        let d = Objectives::default();
        assert_eq!(d.rpo(), std::time::Duration::from_secs(3600));
        assert_eq!(d.rto(), std::time::Duration::from_secs(4 * 3600));
        assert_eq!(d.noncurrent_retention_days(), 90);

        for (text, msg) in [
            ("objectives {\n  rto = \"soon\"\n}\n", "is not a duration"),
            ("objectives {\n  rto = \"0s\"\n}\n", "more than zero"),
            ("objectives {\n  rto = 3600\n}\n", "rto"),
            (
                "objectives {\n  noncurrent_retention_days = -1\n}\n",
                "whole number",
            ),
            (
                "objectives {\n  min_backup_retention_days = \"7\"\n}\n",
                "min_backup_retention_days",
            ),
            (
                "objectives {\n  rtoo = \"1h\"\n}\n",
                "unknown key \"rtoo\" in block \"objectives\"",
            ),
        ] {
            let err = parse(&format!("{GOOD}{text}")).expect_err(text);
            assert!(err.to_string().contains(msg), "{text}: {err}");
        }
    }

    #[test]
    fn parses_the_rebuild_block() {
        let env = parse(&format!(
            "{GOOD}rebuild {{\n  s3_journal = true\n  tier \"control plane\" {{\n    types = [\"aws_eks_cluster\"]\n    gate = \"eks-cluster-active\"\n    gate_timeout = \"20m\"\n  }}\n  tier \"nodes\" {{\n    types = [\"aws_eks_node_group\", \"aws_eks_addon\"]\n    gate = \"eks-nodegroups-active\"\n  }}\n  tier \"workloads\" {{\n    types = [\"helm_release\", \"kubernetes_*\"]\n    commands = [[\"kubectl\", \"apply\", \"-k\", \"infrastructure/kubernetes/\"], [\"velero\", \"restore\", \"create\", \"--from-backup\", \"nightly\"]]\n  }}\n}}\n"
        ))
        .unwrap();
        let r = env.rebuild.unwrap();
        assert_eq!(r.s3_journal, Some(true));
        let shape: Vec<(&str, usize, Option<&str>, u64, usize)> = r
            .tiers
            .iter()
            .map(|t| {
                (
                    t.name.as_str(),
                    t.types.len(),
                    t.gate.map(|g| g.as_str()),
                    t.gate_timeout_seconds,
                    t.commands.len(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("control plane", 1, Some("eks-cluster-active"), 1200, 0),
                ("nodes", 2, Some("eks-nodegroups-active"), 1800, 0),
                ("workloads", 2, None, 0, 2),
            ]
        );
        assert_eq!(
            r.tiers[2].commands[0],
            ["kubectl", "apply", "-k", "infrastructure/kubernetes/"]
        );
        // A block without tiers keeps the default tiers (an empty list here).
        let env = parse(&format!("{GOOD}rebuild {{\n  s3_journal = false\n}}\n")).unwrap();
        assert_eq!(
            env.rebuild,
            Some(RebuildSettings {
                s3_journal: Some(false),
                tiers: vec![]
            })
        );
        assert_eq!(parse(GOOD).unwrap().rebuild, None);
    }

    #[test]
    fn rebuild_block_errors_name_file_line_and_column() {
        // GOOD has 6 lines; the rebuild block starts on line 7.
        let base = GOOD.lines().count();
        let cases: &[(&str, &str, usize, usize, &str)] = &[
            ("unknown attribute", "rebuild {\n  journal = true\n}\n", 2, 3, "unknown key \"journal\" in block \"rebuild\" (expected one of: s3_journal, tier)"),
            ("s3_journal not bool", "rebuild {\n  s3_journal = \"yes\"\n}\n", 2, 16, "must be a bool"),
            ("tier without label", "rebuild {\n  tier {\n    types = [\"a\"]\n  }\n}\n", 2, 3, "needs exactly one non-empty label"),
            ("tier with two labels", "rebuild {\n  tier \"a\" \"b\" {\n    types = [\"a\"]\n  }\n}\n", 2, 8, "needs exactly one non-empty label"),
            ("reserved name", "rebuild {\n  tier \"everything else\" {\n    types = [\"a\"]\n  }\n}\n", 2, 8, "name of the final full apply"),
            ("duplicate tier", "rebuild {\n  tier \"a\" {\n    types = [\"x\"]\n  }\n  tier \"a\" {\n    types = [\"y\"]\n  }\n}\n", 5, 8, "there are two tiers named \"a\" (the first on line 10)"),
            ("type in two tiers", "rebuild {\n  tier \"a\" {\n    types = [\"x\"]\n  }\n  tier \"b\" {\n    types = [\"x\"]\n  }\n}\n", 5, 8, "\"x\" is listed in tier \"a\" and in tier \"b\""),
            ("missing types", "rebuild {\n  tier \"a\" {\n    gate = \"eks-cluster-active\"\n  }\n}\n", 2, 3, "missing required key \"types\" in block \"tier\""),
            ("empty types", "rebuild {\n  tier \"a\" {\n    types = []\n  }\n}\n", 3, 13, "at least one resource type"),
            ("star in the middle", "rebuild {\n  tier \"a\" {\n    types = [\"kube*netes\"]\n  }\n}\n", 3, 13, "`*` only at the end"),
            ("lone star", "rebuild {\n  tier \"a\" {\n    types = [\"*\"]\n  }\n}\n", 3, 13, "not a resource type"),
            ("unknown gate", "rebuild {\n  tier \"a\" {\n    types = [\"x\"]\n    gate = \"eks-active\"\n  }\n}\n", 4, 12, "\"eks-active\" is not a gate; use one of: eks-cluster-active, eks-nodegroups-active, rds-available, all-ready"),
            ("bad timeout", "rebuild {\n  tier \"a\" {\n    types = [\"x\"]\n    gate = \"rds-available\"\n    gate_timeout = \"soon\"\n  }\n}\n", 5, 20, "is not a duration"),
            ("timeout without gate", "rebuild {\n  tier \"a\" {\n    types = [\"x\"]\n    gate_timeout = \"5m\"\n  }\n}\n", 2, 8, "gate_timeout without a gate"),
            ("command not a list", "rebuild {\n  tier \"a\" {\n    types = [\"x\"]\n    commands = [\"kubectl apply -k .\"]\n  }\n}\n", 4, 16, "must be a list of strings"),
            ("empty command", "rebuild {\n  tier \"a\" {\n    types = [\"x\"]\n    commands = [[]]\n  }\n}\n", 4, 16, "non-empty list starting with the program"),
            ("commands not a list", "rebuild {\n  tier \"a\" {\n    types = [\"x\"]\n    commands = \"kubectl\"\n  }\n}\n", 4, 16, "must be a list"),
            ("unknown tier key", "rebuild {\n  tier \"a\" {\n    types = [\"x\"]\n    wait = 1\n  }\n}\n", 4, 5, "unknown key \"wait\" in block \"tier\""),
            ("nested block in tier", "rebuild {\n  tier \"a\" {\n    types = [\"x\"]\n    gate {\n    }\n  }\n}\n", 4, 5, "must be written as an attribute"),
            ("tier as attribute", "rebuild {\n  tier = {}\n}\n", 2, 3, "must be written as a block"),
            ("labelled rebuild", "rebuild \"x\" {\n}\n", 1, 9, "takes no labels"),
            ("rebuild as attribute", "rebuild = {}\n", 1, 1, "must be written as a block"),
        ];
        for (name, text, line, col, msg) in cases {
            let err = parse(&format!("{GOOD}{text}")).expect_err(name);
            let rendered = err.to_string();
            assert_eq!(
                (err.line, err.column),
                (Some(base + line), Some(*col)),
                "{name}: {rendered}"
            );
            assert!(
                rendered.starts_with(&format!("environments/test.hcl:{}:{col}: ", base + line)),
                "{name}: {rendered}"
            );
            assert!(rendered.contains(msg), "{name}: {rendered}");
        }
    }

    #[test]
    fn schema_describes_the_rebuild_block() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schemas/environment.schema.json")).unwrap();
        let block = &schema["$defs"]["rebuild"];
        let keys = sorted_keys(&block["properties"]);
        let mut want: Vec<&str> = REBUILD_KEYS.iter().chain(REBUILD_BLOCKS).copied().collect();
        want.sort();
        assert_eq!(keys, want);
        let tier = &schema["$defs"]["rebuildTier"];
        let keys = sorted_keys(&tier["properties"]);
        let mut want = <TierSettings as Section>::KEYS.to_vec();
        want.sort();
        assert_eq!(keys, want);
        let gates: Vec<&str> = tier["properties"]["gate"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let kinds: Vec<&str> = crate::model::tier::GateKind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(gates, kinds);
        assert_eq!(schema["properties"]["rebuild"]["$ref"], "#/$defs/rebuild");
    }
}
