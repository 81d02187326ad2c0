//! Command-line arguments (clap). Records what was typed; no I/O here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::DEFAULT_CONCURRENCY;
use crate::output::Format;
use crate::util::duration::parse_flag;

/// Recover, inspect and validate Terraform state kept in S3.
#[derive(Debug, Parser)]
#[command(name = "stateward", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the subcommand.
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalArgs {
    /// S3 bucket holding the state (highest precedence).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "State location"
    )]
    pub bucket: Option<String>,
    /// Key of the state object (for the default workspace).
    #[arg(
        long,
        global = true,
        value_name = "KEY",
        help_heading = "State location"
    )]
    pub key: Option<String>,
    /// AWS region (else the AWS default chain).
    #[arg(
        long,
        global = true,
        value_name = "REGION",
        help_heading = "State location"
    )]
    pub region: Option<String>,
    /// DynamoDB table used for locking and the md5 digest.
    #[arg(
        long,
        global = true,
        value_name = "TABLE",
        help_heading = "State location"
    )]
    pub dynamodb_table: Option<String>,
    /// Terraform workspace (`default` maps to KEY itself).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "State location"
    )]
    pub workspace: Option<String>,
    /// Prefix of non-default workspaces' keys [default: env:].
    #[arg(
        long,
        global = true,
        value_name = "PREFIX",
        help_heading = "State location"
    )]
    pub workspace_key_prefix: Option<String>,
    /// Use the S3 lock file `<key>.tflock` (Terraform >= 1.10).
    #[arg(long, global = true, help_heading = "State location")]
    pub use_lockfile: bool,
    /// AWS profile for the state (as the backend's `profile`; else AWS_PROFILE).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "State location"
    )]
    pub profile: Option<String>,
    /// Role to assume for the state (as the backend's `assume_role = { role_arn }`).
    #[arg(
        long,
        global = true,
        value_name = "ARN",
        help_heading = "State location"
    )]
    pub role_arn: Option<String>,
    /// Endpoint for every AWS service (an emulator, a VPC endpoint); implies path-style S3.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "State location"
    )]
    pub endpoint_url: Option<String>,
    /// Environment file: `environments/NAME.hcl` or a path to a `.hcl` file.
    #[arg(
        long = "env",
        global = true,
        value_name = "NAME_OR_PATH",
        help_heading = "State location"
    )]
    pub env: Option<String>,
    /// Read the `backend "s3"` block from DIR/*.tf (lowest precedence).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        help_heading = "State location"
    )]
    pub backend_dir: Option<PathBuf>,
    /// A `.tfbackend` file completing the backend block, as `terraform init -backend-config`.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        help_heading = "State location"
    )]
    pub backend_config: Vec<PathBuf>,
    /// Snapshot store: `s3://BUCKET/PREFIX` or a directory (overrides the environment file).
    #[arg(long, global = true, value_name = "URL", help_heading = "Snapshots")]
    pub snapshot_store: Option<String>,

    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// More detail on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the versions of the state, newest first, with their health.
    Versions(VersionsArgs),
    /// Summarise one state version and list its resources.
    Show(ShowArgs),
    /// Write the exact bytes of one state version.
    Pull(PullArgs),
    /// Compare two state versions: resources, attributes, outputs.
    Diff(DiffArgs),
    /// Inspect, take and release the state lock (Terraform/OpenTofu compatible).
    Lock(LockArgs),
    /// Check and repair the md5 digest Terraform keeps in DynamoDB.
    Digest(DigestArgs),
    /// Restore a known-good version as a new version Terraform accepts at once.
    Restore(RestoreArgs),
    /// Copies of the state outside its bucket: create, list, verify, prune.
    Snapshot(super::snapshot::SnapshotArgs),
    /// Rehearse a state incident on a scratch copy; time the recovery against the RTO.
    Drill(DrillArgs),
    /// Whole-bucket operations (bulk undelete).
    S3(S3Args),
    /// Compare a state version with live AWS: missing, changed, unmanaged, not checked.
    Drift(DriftArgs),
    /// Disaster-recovery readiness: pass/warn/fail checks of bucket, locks, state, snapshots, RDS, EKS.
    Doctor(DoctorArgs),
    /// Ordered rebuild of a lost cluster: control plane, node groups, workloads.
    Rebuild(RebuildArgs),
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Version: id, latest, latest~N, serial:N, file:PATH.
    #[arg(value_name = "REF", default_value = "latest")]
    pub reference: String,
    /// Ignore file (driftctl .driftignore syntax) [default: the environment
    /// file's drift.ignore_file, else .statewardignore when present].
    #[arg(long, value_name = "FILE")]
    pub ignore: Option<PathBuf>,
    /// Also report AWS objects of supported types that no resource of this
    /// state describes (scoped by the environment file's drift block).
    #[arg(long)]
    pub unmanaged: bool,
    /// Individual describe calls in flight at once, per service.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY as u16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_concurrency: u16,
    /// Print API calls made and wall time on stderr (benchmarks).
    #[arg(long, hide = true)]
    pub stats: bool,
    /// Benchmark baseline: no list calls, one describe per resource, sequential.
    #[arg(long, hide = true)]
    pub naive: bool,
    /// List the resource types drift checks (what it compares, whether
    /// --unmanaged covers them) and exit; reads no state.
    #[arg(long)]
    pub list_types: bool,
    /// Accept a result where AWS errors (access denied, throttling,
    /// unreachable) left resources unchecked: exit 0 instead of 1 when the
    /// rest is in sync.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Fail (exit 1) unless at least PERCENT of the state's managed
    /// resources were checked.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub min_coverage: Option<f64>,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage (0 to 100)"))?;
    if (0.0..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}` is not a percentage (0 to 100)"))
    }
}

#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// Show at most N versions.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Read only the first bytes of each version (serial, lineage, version):
    /// fast on large states; resource counts and shrink/corruption checks are skipped.
    #[arg(long)]
    pub header_only: bool,
    /// How many versions are read at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// For each version, how many of its resources exist and match live AWS
    /// (one shared enumeration, as `drift` does): which version matches reality.
    #[arg(long, conflicts_with = "header_only")]
    pub against_live: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Version: id, latest, latest~N, serial:N, file:PATH.
    #[arg(value_name = "REF", default_value = "latest")]
    pub reference: String,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Version: id, latest, latest~N, serial:N, file:PATH.
    #[arg(value_name = "REF", default_value = "latest")]
    pub reference: String,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older side: id, latest, latest~N, serial:N, file:PATH.
    #[arg(value_name = "A")]
    pub from: String,
    /// The newer side [default: latest].
    #[arg(value_name = "B", default_value = "latest")]
    pub to: String,
    /// Add a unified text diff of the two documents.
    #[arg(long)]
    pub text: bool,
    /// Print secret values instead of `(sensitive)`.
    #[arg(long)]
    pub show_sensitive: bool,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// Act on the rebuild lock (`<key>.rebuild`, held by `rebuild run
    /// --execute`) instead of the state's lock.
    #[arg(long, global = true)]
    pub rebuild: bool,
    #[command(subcommand)]
    pub command: LockCommand,
}

#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Show who holds the state lock, without taking it.
    Status,
    /// Take the state lock (as Terraform would) and keep it until released.
    Acquire {
        /// A message stored in the lock's Info, shown to whoever is blocked.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
        /// Wait this long for the lock, retrying with backoff (e.g. 30s, 5m);
        /// Terraform's `-lock-timeout=5m` is accepted too [default: 0s, one try].
        #[arg(long, alias = "timeout", value_name = "DURATION", value_parser = parse_flag)]
        lock_timeout: Option<std::time::Duration>,
    },
    /// Remove the lock with this ID, whoever took it (like `terraform force-unlock`).
    Release {
        /// The lock ID, as `stateward lock status` shows it.
        #[arg(value_name = "ID", required_unless_present = "broken")]
        id: Option<String>,
        /// Remove a lock item whose Info is missing or not JSON.
        #[arg(long, conflicts_with = "id")]
        broken: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Show what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    #[command(subcommand)]
    pub command: DigestCommand,
}

#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Compare the stored md5 digest with the md5 of the current state object.
    Status,
    /// Under the lock, set the stored digest to the md5 of the current object.
    Repair {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Show before/after, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Wait this long for the lock, retrying with backoff (e.g. 30s, 5m);
        /// Terraform's `-lock-timeout=5m` is accepted too [default: 0s, one try].
        #[arg(long, value_name = "DURATION", value_parser = parse_flag)]
        lock_timeout: Option<std::time::Duration>,
        /// Repair even when the current version is deleted, corrupt or of
        /// another lineage (then `restore --last-good` is the fix, not this).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The version to restore: id, latest~N, serial:N, file:PATH.
    #[arg(
        value_name = "REF",
        required_unless_present = "last_good",
        conflicts_with = "last_good"
    )]
    pub reference: Option<String>,
    /// Restore the newest healthy version of the history's lineage (and show
    /// how well each healthy candidate matches live AWS).
    #[arg(long)]
    pub last_good: bool,
    /// With --last-good: do not compare healthy versions with live AWS.
    #[arg(long, conflicts_with_all = ["reference", "prefer_live"])]
    pub no_live: bool,
    /// With --last-good: choose the healthy version that best matches live
    /// AWS, even when it is older than the newest healthy one.
    #[arg(long, conflicts_with = "reference")]
    pub prefer_live: bool,
    /// Show what would be restored and the changes; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Allow restoring a version whose lineage differs from the history's.
    #[arg(long)]
    pub allow_lineage_change: bool,
    /// A message stored in the lock's Info while the restore runs.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Print secret values in the change summary instead of `(sensitive)`.
    #[arg(long)]
    pub show_sensitive: bool,
    /// Wait this long for the lock, retrying with backoff (e.g. 30s, 5m);
    /// Terraform's `-lock-timeout=5m` is accepted too [default: 0s, one try].
    #[arg(long, value_name = "DURATION", value_parser = parse_flag)]
    pub lock_timeout: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The incident to rehearse [default: every scenario in turn].
    #[arg(long, value_enum, value_name = "SCENARIO")]
    pub scenario: Option<crate::drill::Scenario>,
    /// Recovery time objective to hold the drill to (e.g. 30m, 4h); overrides
    /// the environment file's `objectives { rto }` [default: 4h].
    #[arg(long, value_name = "DURATION", value_parser = parse_flag)]
    pub rto: Option<std::time::Duration>,
    /// Wait this long for the scratch key's lock, retrying with backoff
    /// (e.g. 30s); Terraform's `-lock-timeout=30s` is accepted too.
    #[arg(long, value_name = "DURATION", value_parser = parse_flag)]
    pub lock_timeout: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct S3Args {
    #[command(subcommand)]
    pub command: S3Command,
}

#[derive(Debug, Subcommand)]
pub enum S3Command {
    /// Bring back every object under a prefix deleted within a window, by
    /// removing its delete markers. The bucket is the (global) `--bucket B`.
    Undelete {
        /// Only keys starting with this prefix [default: the whole bucket].
        #[arg(
            long,
            value_name = "PREFIX",
            default_value = "",
            hide_default_value = true
        )]
        prefix: String,
        /// Only objects deleted within this long before now (e.g. 30m, 2h, 7d)
        /// [default: any time].
        #[arg(long, value_name = "DURATION", value_parser = parse_flag)]
        since: Option<std::time::Duration>,
        /// List what would be restored; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// How many objects are restored at once.
        #[arg(long, value_name = "N", default_value_t = 16)]
        concurrency: usize,
    },
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Recovery point objective [default: the environment file's, else 1h].
    #[arg(long, value_name = "DURATION", value_parser = parse_flag)]
    pub rpo: Option<std::time::Duration>,
    /// Recovery time objective [default: the environment file's, else 4h].
    #[arg(long, value_name = "DURATION", value_parser = parse_flag)]
    pub rto: Option<std::time::Duration>,
    /// Minimum days RDS automated backups must be kept [default: file, else 7].
    #[arg(long, value_name = "DAYS")]
    pub min_backup_retention_days: Option<u32>,
    /// Minimum days the state bucket keeps noncurrent versions [default: file, else 90].
    #[arg(long, value_name = "DAYS")]
    pub noncurrent_retention_days: Option<u32>,
    /// A lock older than this fails the check (a younger one warns).
    #[arg(long, value_name = "DURATION", value_parser = parse_flag, default_value = "1h")]
    pub stale_lock_after: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    #[command(subcommand)]
    pub command: RebuildCommand,
}

#[derive(Debug, Subcommand)]
pub enum RebuildCommand {
    /// Plan the ordered rebuild of what live AWS lacks (or everything with --all).
    Plan {
        /// Version: id, latest, latest~N, serial:N, file:PATH, snapshot:ID.
        #[arg(value_name = "REF", default_value = "latest")]
        reference: String,
        /// Only what live AWS lacks, and what depends on it (the default).
        #[arg(long, conflicts_with = "all")]
        missing_only: bool,
        /// The full sequence, for a cluster rebuilt from nothing.
        #[arg(long)]
        all: bool,
        /// The Terraform command the plan's commands use.
        #[arg(long, value_name = "PATH", default_value = "terraform")]
        terraform: String,
    },
    /// Run the rebuild plan wave by wave: commands, readiness gates, a
    /// journal, `--resume`. Without --execute, only shows what would run.
    Run(RebuildRunArgs),
}

#[derive(Debug, Args)]
pub struct RebuildRunArgs {
    /// Version: id, latest, latest~N, serial:N, file:PATH, snapshot:ID.
    #[arg(value_name = "REF", default_value = "latest")]
    pub reference: String,
    /// Run the commands and wait on the gates (otherwise nothing is executed).
    #[arg(long)]
    pub execute: bool,
    /// Continue the journal's rebuild: re-check the gates of completed
    /// waves, then run from the first wave not completed.
    #[arg(long)]
    pub resume: bool,
    /// The full sequence, for a cluster rebuilt from nothing (default:
    /// only what live AWS lacks, and what depends on it).
    #[arg(long)]
    pub all: bool,
    /// The Terraform command (a relative path with `/` is taken from the
    /// current directory).
    #[arg(long, value_name = "PATH", default_value = "terraform")]
    pub terraform: String,
    /// The Terraform directory: commands run there and the journal is
    /// kept in its `.stateward/rebuild-journal.json`.
    #[arg(long = "dir", value_name = "TERRAFORM_DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Also keep the journal in S3 next to the state
    /// (`<state key>.rebuild-journal.json`); same as `s3_journal = true`
    /// in the environment file's `rebuild` block.
    #[arg(long)]
    pub s3_journal: bool,
    /// Run even though data stores (RDS, DynamoDB, S3) are missing: the
    /// final apply then creates them EMPTY.
    #[arg(long)]
    pub allow_empty_data_stores: bool,
    /// With --execute: do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Wait this long for the lock, retrying with backoff (e.g. 30s, 5m);
    /// Terraform's `-lock-timeout=5m` is accepted too [default: 0s, one try].
    #[arg(long, value_name = "DURATION", value_parser = parse_flag)]
    pub lock_timeout: Option<std::time::Duration>,
}
