//! Command-line arguments (clap). Records what was typed; no I/O here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::DEFAULT_CONCURRENCY;
use crate::output::{ColorChoice, Format};
use crate::util::duration::parse_flag;

/// The heading of the flags that say where the state is, shown after each
/// command's own flags.
pub const STATE_LOCATION: &str = "State location";
/// The heading of the output flags (format, colour, verbosity).
pub const OUTPUT: &str = "Output";

/// Recover, inspect and validate Terraform state kept in S3.
#[derive(Debug, Parser)]
#[command(
    name = "stateward",
    version,
    about,
    propagate_version = true,
    arg_required_else_help = true,
    after_help = EXAMPLES_TOP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the subcommand.
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalArgs {
    /// S3 bucket holding the state (highest precedence). Repeatable for
    /// `states` and fleet runs (`--all-states`): every bucket named.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        action = clap::ArgAction::Append,
        help_heading = STATE_LOCATION
    )]
    pub bucket: Vec<String>,
    /// Key of the state object (for the default workspace).
    #[arg(
        long,
        global = true,
        value_name = "KEY",
        help_heading = STATE_LOCATION
    )]
    pub key: Option<String>,
    /// AWS region (else the AWS default chain).
    #[arg(
        long,
        global = true,
        value_name = "REGION",
        help_heading = STATE_LOCATION
    )]
    pub region: Option<String>,
    /// DynamoDB table used for locking and the md5 digest.
    #[arg(
        long,
        global = true,
        value_name = "TABLE",
        help_heading = STATE_LOCATION
    )]
    pub dynamodb_table: Option<String>,
    /// Terraform workspace (`default` maps to KEY itself).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = STATE_LOCATION
    )]
    pub workspace: Option<String>,
    /// Prefix of non-default workspaces' keys [default: env:].
    #[arg(
        long,
        global = true,
        value_name = "PREFIX",
        help_heading = STATE_LOCATION
    )]
    pub workspace_key_prefix: Option<String>,
    /// Use the S3 lock file `<key>.tflock` (Terraform >= 1.10).
    #[arg(long, global = true, help_heading = STATE_LOCATION)]
    pub use_lockfile: bool,
    /// AWS profile for the state (as the backend's `profile`; else AWS_PROFILE).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = STATE_LOCATION
    )]
    pub profile: Option<String>,
    /// Role to assume for the state (as the backend's `assume_role = { role_arn }`).
    #[arg(
        long,
        global = true,
        value_name = "ARN",
        help_heading = STATE_LOCATION
    )]
    pub role_arn: Option<String>,
    /// Endpoint for every AWS service (an emulator, a VPC endpoint); implies path-style S3.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = STATE_LOCATION
    )]
    pub endpoint_url: Option<String>,
    /// Environment file: `environments/NAME.hcl` or a path to a `.hcl` file.
    #[arg(
        long = "env",
        global = true,
        value_name = "NAME_OR_PATH",
        help_heading = STATE_LOCATION
    )]
    pub env: Option<String>,
    /// Read the `backend "s3"` block from DIR/*.tf (lowest precedence).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        help_heading = STATE_LOCATION
    )]
    pub backend_dir: Option<PathBuf>,
    /// A `.tfbackend` file completing the backend block, as `terraform init -backend-config`.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        help_heading = STATE_LOCATION
    )]
    pub backend_config: Vec<PathBuf>,
    /// Snapshot store: `s3://BUCKET/PREFIX` or a directory (overrides the environment file).
    #[arg(long, global = true, value_name = "URL", help_heading = "Snapshots")]
    pub snapshot_store: Option<String>,

    /// Output format (`markdown` only for drift, doctor and states).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text, help_heading = OUTPUT)]
    pub format: Format,
    /// Colour: `auto` on a terminal unless NO_COLOR is set.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value_t = ColorChoice::Auto,
        help_heading = OUTPUT
    )]
    pub color: ColorChoice,
    /// More detail on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = OUTPUT)]
    pub verbose: u8,
    /// Do not use the local cache of state versions (every version is read
    /// from S3, and nothing is cached); see `stateward cache info`.
    #[arg(long, global = true)]
    pub no_cache: bool,
}

/// `--concurrency N` of every command that fans out (reads versions,
/// describes resources, verifies snapshots); `--max-concurrency` is kept as a
/// hidden alias.
#[derive(Debug, Clone, Copy, Args)]
pub struct Fanout {
    /// AWS requests of one kind in flight at once (versions read, resources
    /// described per service, snapshots verified).
    #[arg(
        long = "concurrency",
        alias = "max-concurrency",
        global = true,
        value_name = "N",
        default_value_t = DEFAULT_CONCURRENCY as u16,
        value_parser = clap::value_parser!(u16).range(1..=128)
    )]
    pub concurrency: u16,
}

impl Fanout {
    pub fn get(self) -> usize {
        usize::from(self.concurrency)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the versions of the state, newest first, with their health.
    #[command(after_help = EXAMPLES_VERSIONS)]
    Versions(VersionsArgs),
    /// Summarise one state version and list its resources.
    #[command(after_help = EXAMPLES_SHOW)]
    Show(ShowArgs),
    /// Write the exact bytes of one state version.
    #[command(after_help = EXAMPLES_PULL)]
    Pull(PullArgs),
    /// Compare two state versions: resources, attributes, outputs.
    #[command(after_help = EXAMPLES_DIFF)]
    Diff(DiffArgs),
    /// Inspect, take and release the state lock (Terraform/OpenTofu compatible).
    #[command(after_help = EXAMPLES_LOCK)]
    Lock(LockArgs),
    /// Check and repair the md5 digest Terraform keeps in DynamoDB.
    #[command(after_help = EXAMPLES_DIGEST)]
    Digest(DigestArgs),
    /// Restore a known-good version as a new version Terraform accepts at once.
    #[command(after_help = EXAMPLES_RESTORE)]
    Restore(RestoreArgs),
    /// Copies of the state outside its bucket: create, list, verify, prune.
    #[command(after_help = EXAMPLES_SNAPSHOT)]
    Snapshot(super::snapshot::SnapshotArgs),
    /// Rehearse a state incident on a scratch copy; time the recovery against the RTO.
    #[command(after_help = EXAMPLES_DRILL)]
    Drill(DrillArgs),
    /// Whole-bucket operations (bulk undelete).
    #[command(after_help = EXAMPLES_UNDELETE)]
    S3(S3Args),
    /// Compare a state version with live AWS: missing, changed, unmanaged, not checked.
    #[command(after_help = EXAMPLES_DRIFT)]
    Drift(DriftArgs),
    /// Disaster-recovery readiness: pass/warn/fail checks of bucket, locks, state, snapshots, RDS, EKS.
    #[command(after_help = EXAMPLES_DOCTOR)]
    Doctor(DoctorArgs),
    /// Ordered rebuild of a lost cluster: control plane, node groups, workloads.
    #[command(after_help = EXAMPLES_REBUILD)]
    Rebuild(RebuildArgs),
    /// Every state in the bucket(s): health, lock, digest, versions; problems first.
    #[command(after_help = EXAMPLES_STATES)]
    States(StatesArgs),
    /// Fleet reports: combine the reports of sharded runs.
    #[command(after_help = EXAMPLES_REPORT_MERGE)]
    Report(ReportArgs),
    /// The local cache of state versions: where it is, how full, clear it.
    #[command(after_help = EXAMPLES_CACHE)]
    Cache(CacheArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = EXAMPLES_COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per command into a directory.
    #[command(after_help = EXAMPLES_MAN)]
    Man(ManArgs),
    /// List the JSON Schemas of the --format json outputs, print one, or write them all.
    #[command(after_help = EXAMPLES_SCHEMA)]
    Schema(SchemaArgs),
}

impl Command {
    /// The `--concurrency` of a command that fans out.
    pub fn concurrency(&self) -> Option<usize> {
        match self {
            Command::Versions(a) => Some(a.fanout.get()),
            Command::Show(a) => Some(a.fanout.get()),
            Command::Pull(a) => Some(a.fanout.get()),
            Command::Diff(a) => Some(a.fanout.get()),
            Command::Restore(a) => Some(a.fanout.get()),
            Command::Snapshot(a) => Some(a.fanout.get()),
            Command::Drill(a) => Some(a.fanout.get()),
            Command::Drift(a) => Some(a.fanout.get()),
            Command::Doctor(a) => Some(a.fanout.get()),
            Command::Rebuild(a) => Some(a.fanout.get()),
            Command::States(a) => Some(a.fanout.get()),
            Command::S3(S3Args {
                command: S3Command::Undelete { concurrency, .. },
            }) => Some(usize::from(*concurrency)),
            Command::Lock(_)
            | Command::Digest(_)
            | Command::Report(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Schema(_)
            | Command::Cache(_) => None,
        }
    }

    /// Whether `--format markdown` means something for this command (a report
    /// made for a pull-request comment or a job summary).
    pub fn takes_markdown(&self) -> bool {
        matches!(
            self,
            Command::Drift(_) | Command::Doctor(_) | Command::States(_) | Command::Report(_)
        ) || self.is_fleet_run()
    }

    /// The fleet flags of a command that has them.
    pub fn fleet(&self) -> Option<&FleetArgs> {
        match self {
            Command::Drift(a) => Some(&a.fleet),
            Command::Doctor(a) => Some(&a.fleet),
            Command::Versions(a) => Some(&a.fleet),
            Command::Snapshot(a) => match &a.command {
                super::snapshot::SnapshotCommand::Create { fleet, .. } => Some(fleet),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether this run covers many states: `states`, or a command with
    /// `--all-states` / `--states-from` (several `--bucket`s are for these).
    pub fn is_fleet_run(&self) -> bool {
        matches!(self, Command::States(_)) || self.fleet().is_some_and(FleetArgs::is_fleet)
    }

    /// Whether the command may read state versions (and so uses the version
    /// cache): every one but the help generators, `report merge` and
    /// `cache` itself (which is handed the cache).
    pub fn reads_states(&self) -> bool {
        !matches!(
            self,
            Command::Completions(_) | Command::Man(_) | Command::Report(_) | Command::Cache(_)
        )
    }
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub command: CacheCommand,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Where the cache is, its bound, and how many versions and bytes it holds.
    #[command(after_help = EXAMPLES_CACHE_INFO)]
    Info,
    /// Remove every cached version.
    #[command(after_help = EXAMPLES_CACHE_CLEAR)]
    Clear,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `stateward.1` and one `stateward-COMMAND.1` per command into DIR
    /// instead of printing the main page to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema to print (`versions`, `lock-status`, `error`, ...); without
    /// it, the list of schemas.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Write `NAME.schema.json` for every schema (or only NAME) into DIR
    /// instead of printing.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
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
    #[command(flatten)]
    pub fanout: Fanout,
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
    #[command(flatten)]
    pub fleet: FleetArgs,
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
    /// Show the newest N versions (default 20).
    #[arg(long, value_name = "N", conflicts_with = "all")]
    pub limit: Option<usize>,
    /// Show every version (reads every version: slow on a long history).
    #[arg(long)]
    pub all: bool,
    /// Read only the first bytes of each version (serial, lineage, version):
    /// fast on large states; resource counts and shrink/corruption checks are skipped.
    #[arg(long)]
    pub header_only: bool,
    #[command(flatten)]
    pub fanout: Fanout,
    /// For each version, how many of its resources exist and match live AWS
    /// (one shared enumeration, as `drift` does): which version matches reality.
    #[arg(long, conflicts_with = "header_only")]
    pub against_live: bool,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Version: id, latest, latest~N, serial:N, file:PATH.
    #[arg(value_name = "REF", default_value = "latest")]
    pub reference: String,
    #[command(flatten)]
    pub fanout: Fanout,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Version: id, latest, latest~N, serial:N, file:PATH.
    #[arg(value_name = "REF", default_value = "latest")]
    pub reference: String,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub fanout: Fanout,
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
    #[command(flatten)]
    pub fanout: Fanout,
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
    #[command(after_help = EXAMPLES_LOCK_STATUS)]
    Status,
    /// Take the state lock (as Terraform would) and keep it until released.
    #[command(after_help = EXAMPLES_LOCK_ACQUIRE)]
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
    #[command(after_help = EXAMPLES_LOCK_RELEASE)]
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
    #[command(after_help = EXAMPLES_DIGEST_STATUS)]
    Status,
    /// Under the lock, set the stored digest to the md5 of the current object.
    #[command(after_help = EXAMPLES_DIGEST_REPAIR)]
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
    #[command(flatten)]
    pub fanout: Fanout,
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
    #[command(flatten)]
    pub fanout: Fanout,
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
    #[command(after_help = EXAMPLES_UNDELETE)]
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
        #[arg(
            long,
            alias = "max-concurrency",
            value_name = "N",
            default_value_t = 16,
            value_parser = clap::value_parser!(u16).range(1..=128)
        )]
        concurrency: u16,
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
    #[command(flatten)]
    pub fanout: Fanout,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

/// The heading of the fleet flags.
pub const FLEET: &str = "Fleet";

/// `--all-states` / `--states-from` and the selection of a fleet run.
#[derive(Debug, Clone, Args)]
pub struct FleetArgs {
    /// Run for every state in the bucket(s) (`--bucket`, else the
    /// environment file's), one combined report.
    #[arg(long, conflicts_with = "states_from", help_heading = FLEET)]
    pub all_states: bool,
    /// Run for the states listed in FILE (`-`: stdin), the JSON of `stateward states`.
    #[arg(long, value_name = "FILE", help_heading = FLEET)]
    pub states_from: Option<String>,
    /// With --all-states: only keys under this prefix.
    #[arg(long, value_name = "PREFIX", default_value = "", help_heading = FLEET)]
    pub prefix: String,
    /// With --all-states: keys ending in this are states.
    #[arg(long, value_name = "SUFFIX", default_value = crate::fleet::DEFAULT_SUFFIX, help_heading = FLEET)]
    pub suffix: String,
    /// Only slice I of N (0-based) of the states (stable hash of bucket and key).
    #[arg(long, value_name = "I/N", help_heading = FLEET)]
    pub shard: Option<crate::fleet::Shard>,
    /// Also write the JSON report into DIR or s3://BUCKET/PREFIX/, for
    /// `stateward report merge` of the same place.
    #[arg(long, value_name = "DIR|S3URL", help_heading = FLEET)]
    pub report_to: Option<String>,
}

impl FleetArgs {
    /// Whether this is a fleet run.
    pub fn is_fleet(&self) -> bool {
        self.all_states || self.states_from.is_some()
    }
}

#[derive(Debug, Args)]
pub struct StatesArgs {
    /// More buckets to take stock of (the older form of repeating
    /// `--bucket`; without any: the environment file's or backend's bucket).
    #[arg(value_name = "BUCKET")]
    pub buckets: Vec<String>,
    /// Only keys under this prefix.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub prefix: String,
    /// Keys ending in this are states (lock files `.tflock` never are).
    #[arg(long, value_name = "SUFFIX", default_value = crate::fleet::DEFAULT_SUFFIX)]
    pub suffix: String,
    /// A lock held longer than this is a problem (exit 2); a younger one is shown.
    #[arg(long, value_name = "DURATION", value_parser = parse_flag, default_value = "1h")]
    pub stale_lock_after: std::time::Duration,
    /// Only slice I of N (0-based) of the states, by a stable hash of bucket
    /// and key: N runs with 0/N .. N-1/N cover every state exactly once.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<crate::fleet::Shard>,
    /// Print the JSON matrix of N shards for a CI job matrix
    /// (`{"include":[{"shard":"0/N",...}]}`) and exit; reads nothing.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub matrix: Option<u32>,
    /// Also write the JSON report into DIR or s3://BUCKET/PREFIX/
    /// (`states-I-of-N.json` with --shard, else `states.json`), for
    /// `stateward report merge` of the same place.
    #[arg(long, value_name = "DIR|S3URL")]
    pub report_to: Option<String>,
    /// How far each state's lineage is compared with its previous
    /// version's: `auto` takes it from the version cache and reads the
    /// previous header of the most recently written states, at most one
    /// state in ten (at least 20); `all` reads every one the cache lacks (one
    /// request more each); `cached` reads none. States left out say
    /// `not-compared`.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub lineage_check: crate::fleet::LineageCheck,
    #[command(flatten)]
    pub fanout: Fanout,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Combine the JSON reports shards wrote with --report-to into one
    /// summary; names the shards that are missing (exit 1).
    #[command(after_help = EXAMPLES_REPORT_MERGE)]
    Merge {
        /// Where the shards wrote (every `*.json` in it): a directory or
        /// s3://BUCKET/PREFIX/.
        #[arg(value_name = "DIR|S3URL")]
        from: String,
    },
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    #[command(subcommand)]
    pub command: RebuildCommand,
    #[command(flatten)]
    pub fanout: Fanout,
}

#[derive(Debug, Subcommand)]
pub enum RebuildCommand {
    /// Plan the ordered rebuild of what live AWS lacks (or everything with --all).
    #[command(after_help = EXAMPLES_REBUILD_PLAN)]
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
    #[command(after_help = EXAMPLES_REBUILD_RUN)]
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

// ---- Examples shown at the end of each command's --help ----

const EXAMPLES_TOP: &str = r#"Examples:
  stateward --env prod versions                   # the history of prod's state, with health
  stateward --env prod diff latest~1 latest       # what changed in the last write?
  stateward --env prod restore --last-good        # bring back the newest healthy version
  stateward --backend-dir infra/ drift            # state against live AWS

Shell completions: `stateward completions bash`; manual: `stateward man`."#;

const EXAMPLES_VERSIONS: &str = r#"Examples:
  stateward --env prod versions
  stateward --bucket acme-tfstate --key prod/terraform.tfstate --region eu-west-1 versions --limit 20
  stateward --env prod versions --header-only --concurrency 32
  stateward --env prod versions --against-live --format json"#;

const EXAMPLES_CACHE: &str = r#"Examples:
  stateward cache info
  stateward cache clear
  STATEWARD_CACHE_MAX=10GB stateward --env prod versions --all"#;

const EXAMPLES_CACHE_INFO: &str = r#"Examples:
  stateward cache info
  stateward cache info --format json"#;

const EXAMPLES_CACHE_CLEAR: &str = r#"Examples:
  stateward cache clear
  STATEWARD_CACHE_DIR=/tmp/sw-cache stateward cache clear"#;

const EXAMPLES_SHOW: &str = r#"Examples:
  stateward --env prod show
  stateward --env prod show latest~1
  stateward show file:terraform.tfstate --format json"#;

const EXAMPLES_PULL: &str = r#"Examples:
  stateward --env prod pull > prod.tfstate
  stateward --env prod pull serial:41 -o serial-41.tfstate
  stateward --backend-dir infra/ pull latest~1 | jq '.resources | length'"#;

const EXAMPLES_DIFF: &str = r#"Examples:
  stateward --env prod diff latest~1 latest
  stateward --env prod diff serial:40 serial:42 --text
  stateward --env prod diff snapshot:20261122T135501Z-41-1a2b3c4d latest
  stateward diff file:before.tfstate file:after.tfstate --format json"#;

const EXAMPLES_LOCK: &str = r#"Examples:
  stateward --env prod lock status
  ID=$(stateward --env prod lock acquire --reason 'incident 42')
  stateward --env prod lock release "$ID"
  stateward --env prod lock --rebuild status"#;

const EXAMPLES_LOCK_STATUS: &str = r#"Examples:
  stateward --env prod lock status
  stateward --env prod lock status --format json
  stateward --env prod lock --rebuild status"#;

const EXAMPLES_LOCK_ACQUIRE: &str = r#"Examples:
  ID=$(stateward --env prod lock acquire --reason 'incident 42')
  stateward --env prod lock acquire --reason 'restore drill' --format json"#;

const EXAMPLES_LOCK_RELEASE: &str = r#"Examples:
  stateward --env prod lock release 3b9e1c2a-5d4f-4e6a-9b8c-7d6e5f4a3b2c
  stateward --env prod lock release "$ID" --yes
  stateward --env prod lock release --broken --dry-run"#;

const EXAMPLES_DIGEST: &str = r#"Examples:
  stateward --env prod digest status
  stateward --env prod digest repair --dry-run
  stateward --env prod digest repair --yes"#;

const EXAMPLES_DIGEST_STATUS: &str = r#"Examples:
  stateward --env prod digest status
  stateward --env prod digest status --format json"#;

const EXAMPLES_DIGEST_REPAIR: &str = r#"Examples:
  stateward --env prod digest repair --dry-run
  stateward --env prod digest repair --yes"#;

const EXAMPLES_RESTORE: &str = r#"Examples:
  stateward --env prod restore --last-good --dry-run
  stateward --env prod restore --last-good
  stateward --env prod restore serial:41 --reason 'bad apply at 14:02'
  stateward --env prod restore snapshot:20261122T135501Z-41-1a2b3c4d --yes"#;

const EXAMPLES_SNAPSHOT: &str = r#"Examples:
  stateward --env prod snapshot create --reason 'before the upgrade'
  stateward --env prod snapshot list
  stateward --env prod snapshot verify --all
  stateward --env prod snapshot prune --keep-daily 7 --keep-monthly 12 --dry-run"#;

const EXAMPLES_DRILL: &str = r#"Examples:
  stateward --env prod drill
  stateward --env prod drill --scenario corrupt --rto 30m
  stateward --env prod drill --format json | tee drill.json"#;

const EXAMPLES_UNDELETE: &str = r#"Examples:
  stateward s3 undelete --bucket acme-tfstate --since 2h --dry-run
  stateward s3 undelete --bucket acme-tfstate --prefix prod/ --since 30m --yes
  stateward --region eu-west-1 s3 undelete --bucket acme-tfstate --concurrency 32"#;

const EXAMPLES_DRIFT: &str = r#"Examples:
  stateward --env prod drift
  stateward --env prod drift --unmanaged --ignore .driftignore
  stateward --env prod drift --format markdown > drift.md
  stateward drift file:terraform.tfstate --region eu-west-1 --min-coverage 90"#;

const EXAMPLES_DOCTOR: &str = r#"Examples:
  stateward --env prod doctor
  stateward --env prod doctor --rpo 15m --rto 1h
  stateward --env prod doctor --format markdown >> "$GITHUB_STEP_SUMMARY""#;

const EXAMPLES_STATES: &str = r#"Examples:
  stateward states --bucket acme-tfstate
  stateward states --bucket acme-tfstate --bucket acme-tfstate-eu --stale-lock-after 30m
  stateward states --matrix 8
  stateward states --bucket acme-tfstate --shard 3/8 --format json"#;

const EXAMPLES_REPORT_MERGE: &str = r#"Examples:
  stateward states --bucket acme-tfstate --shard 0/4 --report-to reports/
  stateward report merge reports/ --format markdown >> "$GITHUB_STEP_SUMMARY"
  stateward --env prod doctor --all-states --shard 1/4 --report-to s3://acme-ci/fleet/run-42/
  stateward --region eu-west-1 report merge s3://acme-ci/fleet/run-42/"#;

const EXAMPLES_REBUILD: &str = r#"Examples:
  stateward --env prod rebuild plan
  stateward --env prod rebuild plan --all --format json
  stateward --env prod rebuild run --dir infra/ --execute
  stateward --env prod rebuild run --dir infra/ --execute --resume"#;

const EXAMPLES_REBUILD_PLAN: &str = r#"Examples:
  stateward --env prod rebuild plan
  stateward --env prod rebuild plan snapshot:20261122T135501Z-41-1a2b3c4d --all
  stateward --env prod rebuild plan --format json"#;

const EXAMPLES_REBUILD_RUN: &str = r#"Examples:
  stateward --env prod rebuild run --dir infra/
  stateward --env prod rebuild run --dir infra/ --execute
  stateward --env prod rebuild run --dir infra/ --execute --resume"#;

const EXAMPLES_COMPLETIONS: &str = r#"Examples:
  stateward completions bash > /etc/bash_completion.d/stateward
  stateward completions zsh > "${fpath[1]}/_stateward"
  stateward completions fish > ~/.config/fish/completions/stateward.fish
  stateward completions powershell >> $PROFILE"#;

const EXAMPLES_MAN: &str = r#"Examples:
  stateward man | man -l -
  stateward man --dir /usr/local/share/man/man1"#;

const EXAMPLES_SCHEMA: &str = r#"Examples:
  stateward schema
  stateward schema drift > drift.schema.json
  stateward schema --write schemas"#;
