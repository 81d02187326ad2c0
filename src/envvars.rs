//! Every environment variable stateward reads, as one named constant each.
//!
//! A leaf module: it imports nothing from the crate, so `config`, `aws` and
//! `cli` may all use it. The process environment is read in one place,
//! `cli` (handed to [`crate::config::Settings::resolve`] as a lookup
//! function), except for the AWS SDK's own chain, which the SDK reads itself.
//! README's "Environment variables" section lists the same variables.

/// A directory of `NAME.hcl` environment files, searched by `--env NAME`
/// after `./environments/`.
pub const STATEWARD_ENVIRONMENTS_DIR: &str = "STATEWARD_ENVIRONMENTS_DIR";

/// When set (to anything), every command ends by printing the number of AWS
/// API requests it sent on stderr: a diagnostic for benchmarks.
pub const STATEWARD_API_STATS: &str = "STATEWARD_API_STATS";

/// The directory of the local version cache (default
/// `$XDG_CACHE_HOME/stateward`, else `~/.cache/stateward`).
pub const STATEWARD_CACHE_DIR: &str = "STATEWARD_CACHE_DIR";

/// The bound of the local version cache, e.g. `4GB` (the default), `500MB`,
/// or a number of bytes; `0` disables it.
pub const STATEWARD_CACHE_MAX: &str = "STATEWARD_CACHE_MAX";

/// `$XDG_CACHE_HOME` and `$HOME`: where the version cache lives by default.
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
pub const HOME: &str = "HOME";

/// Per-attempt timeout of small AWS calls (every service but S3 bodies);
/// a duration such as `30s` (default 30s).
pub const STATEWARD_ATTEMPT_TIMEOUT: &str = "STATEWARD_ATTEMPT_TIMEOUT";

/// Per-operation timeout of small AWS calls: every attempt and the backoff
/// between them (default 120s).
pub const STATEWARD_OPERATION_TIMEOUT: &str = "STATEWARD_OPERATION_TIMEOUT";

/// The longest wait for the next bytes of an S3 response, and the grace
/// before the throughput floor applies (default 30s).
pub const STATEWARD_READ_TIMEOUT: &str = "STATEWARD_READ_TIMEOUT";

/// The slowest average S3 body transfer accepted, bytes per second
/// (`65536`, `64KiB`, `1MiB`; default 64KiB; `0` turns the floor off).
pub const STATEWARD_MIN_THROUGHPUT: &str = "STATEWARD_MIN_THROUGHPUT";

/// `drift` and other live checks: the longest one resource type's calls
/// may take, retries and backoff included, before the type is reported as
/// not checked with cause `throttled` (default 60s).
pub const STATEWARD_TYPE_TIMEOUT: &str = "STATEWARD_TYPE_TIMEOUT";

/// The tracing filter for stderr detail; overrides `-v`.
pub const RUST_LOG: &str = "RUST_LOG";

/// Terraform's workspace override (with `--backend-dir` only).
pub const TF_WORKSPACE: &str = "TF_WORKSPACE";

/// Terraform's data directory (default `.terraform`; with `--backend-dir` only).
pub const TF_DATA_DIR: &str = "TF_DATA_DIR";

/// Set to a non-empty value: no colour with `--color auto` (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";

/// Set to a value other than `0`: colour with `--color auto` even off a terminal.
pub const CLICOLOR_FORCE: &str = "CLICOLOR_FORCE";

/// `dumb`: no colour with `--color auto`.
pub const TERM: &str = "TERM";

/// General endpoint override, applied by the AWS SDK to every service; here
/// it also implies path-style S3 addressing.
pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

/// S3 endpoint override, applied by the AWS SDK; here it also implies
/// path-style S3 addressing.
pub const AWS_ENDPOINT_URL_S3: &str = "AWS_ENDPOINT_URL_S3";

/// DynamoDB endpoint override, applied by the AWS SDK.
pub const AWS_ENDPOINT_URL_DYNAMODB: &str = "AWS_ENDPOINT_URL_DYNAMODB";

/// STS endpoint override (role assumption, caller identity), as Terraform reads it.
pub const AWS_ENDPOINT_URL_STS: &str = "AWS_ENDPOINT_URL_STS";

/// The role of a web identity (CI OIDC), with [`AWS_WEB_IDENTITY_TOKEN_FILE`].
pub const AWS_ROLE_ARN: &str = "AWS_ROLE_ARN";

/// The file holding the web identity token, with [`AWS_ROLE_ARN`].
pub const AWS_WEB_IDENTITY_TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";

/// The session name of a web identity role assumption (optional).
pub const AWS_ROLE_SESSION_NAME: &str = "AWS_ROLE_SESSION_NAME";

/// A PEM bundle of extra trusted certificates (`custom_ca_bundle` wins).
pub const AWS_CA_BUNDLE: &str = "AWS_CA_BUNDLE";

/// The shared config file (default `~/.aws/config`); read through the AWS
/// SDK's own environment access and named in profile errors.
pub const AWS_CONFIG_FILE: &str = "AWS_CONFIG_FILE";

/// Static access key of the environment; only its presence is consulted
/// (with it, the SDK's chain does not use a web identity from the environment).
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";

/// The profile the AWS SDK uses when no `--profile` or `profile` is given;
/// checked (through the SDK's environment access) to exist before connecting.
pub const AWS_PROFILE: &str = "AWS_PROFILE";
/// The SSE-C customer key (base64 of 256 bits) when the backend's
/// `sse_customer_key` is not set, as Terraform reads it.
pub const AWS_SSE_CUSTOMER_KEY: &str = "AWS_SSE_CUSTOMER_KEY";

/// The AWS endpoint variables that imply path-style S3 addressing when set
/// (non-empty) and no `force_path_style` is given.
pub const AWS_ENDPOINT_ENV_VARS: &[&str] = &[AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3];

// No test hooks: crash points and failed writes are planned in process
// through the storage traits' fault wrapper (`storage::faulty`), and tests
// that press Ctrl-C on a real process hold its requests or answers on the
// wire with the test proxy (a command under the lock, an acquire in flight,
// a stalled release, a bulk undelete, a drill's work after its setup lock
// was released); AccessDenied in `drift` is the proxy's answer too.
// Still read where they act: `USER`/`USERNAME`/`LOGNAME` for a lock's `Who`
// (`lock::info::who`).
