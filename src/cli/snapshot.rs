//! `stateward snapshot create | list | verify | prune`.

use std::io::{self, Write};

use clap::{Args, Subcommand};
use serde::Serialize;
use time::OffsetDateTime;

use crate::aws::Aws;
use crate::cli::{confirm, out_err, Context};
use crate::config::{self, ObjectWrites, SnapshotStoreSetting};
use crate::error::{Error, Result, Unconfigured};
use crate::exit;
use crate::output::Stderr;
use crate::output::{count, table, Format, Printer, Render};
use crate::snapshot::retention::{Kept, Policy, Within};
use crate::snapshot::{self, Created, Listing, SnapshotStore, StoreUrl, Verified};

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    pub command: SnapshotCommand,
    #[command(flatten)]
    pub fanout: super::args::Fanout,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Copy the current state version into the snapshot store, with a manifest
    /// (nothing is created when it equals the newest snapshot).
    #[command(after_help = "Examples:
  stateward --env prod snapshot create --reason 'before the upgrade'
  stateward --env prod --snapshot-store s3://acme-dr/tfstate/prod snapshot create
  stateward --env prod --snapshot-store ./snapshots snapshot create --format json")]
    Create {
        /// Why the snapshot was taken, kept in its manifest.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
        #[command(flatten)]
        fleet: super::args::FleetArgs,
    },
    /// List the snapshots, oldest first.
    #[command(after_help = "Examples:
  stateward --env prod snapshot list
  stateward --snapshot-store s3://acme-dr/tfstate/prod snapshot list --format json")]
    List,
    /// Re-read snapshots and check their hashes and that they are healthy states (exit 2 on failure).
    #[command(after_help = "Examples:
  stateward --env prod snapshot verify
  stateward --env prod snapshot verify --all --concurrency 16")]
    Verify {
        /// Verify every snapshot, not only the newest.
        #[arg(long)]
        all: bool,
    },
    /// Delete the snapshots the retention policy does not keep.
    #[command(after_help = "Examples:
  stateward --env prod snapshot prune --dry-run
  stateward --env prod snapshot prune --keep-last 10 --keep-daily 7 --keep-monthly 12 --yes
  stateward --env prod snapshot prune --keep-within 30d --dry-run --format json")]
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Show what would be kept and deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Keep the N newest snapshots.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest snapshot of each of the last N hours that have snapshots.
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<u32>,
    /// Keep the newest snapshot of each of the last N days that have snapshots.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest snapshot of each of the last N ISO weeks that have snapshots.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest snapshot of each of the last N months that have snapshots.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Keep every snapshot younger than DURATION (e.g. 30d, 12h, 2w).
    #[arg(long, value_name = "DURATION", value_parser = Within::parse)]
    pub keep_within: Option<Within>,
}

pub async fn run<W: Write>(
    ctx: &Context,
    args: SnapshotArgs,
    printer: &mut Printer<W>,
) -> Result<u8> {
    match args.command {
        SnapshotCommand::Create { reason, fleet } if fleet.is_fleet() => {
            super::fleet::snapshot_create(ctx, &fleet, &reason, printer).await
        }
        SnapshotCommand::Create { reason, .. } => create(ctx, &reason, printer).await,
        SnapshotCommand::List => list(ctx, printer).await,
        SnapshotCommand::Verify { all } => verify(ctx, all, printer).await,
        SnapshotCommand::Prune(a) => prune(ctx, a, printer).await,
    }
}

/// Opens the snapshot store: `--snapshot-store`, else the environment file's
/// `snapshots { store }`. An S3 store uses the state's AWS settings (endpoint,
/// profile), with the `snapshots { region }` of the environment file when the
/// store comes from there. Copies into it keep the state's encryption (the
/// backend's `encrypt`, `kms_key_id`, `sse_customer_key`, `acl`), so an SSE-C
/// state's snapshots are read with the same key, unless the `snapshots` block
/// gives the store its own (a KMS key of the store's region or account).
pub(crate) async fn open_store(ctx: &Context) -> Result<SnapshotStore> {
    let Some(SnapshotStoreSetting {
        url,
        region,
        encryption,
    }) = ctx.settings.snapshot_store()?
    else {
        return Err(no_store());
    };
    match StoreUrl::parse(&url)? {
        StoreUrl::Local(dir) => Ok(SnapshotStore::local(&dir).with_concurrency(ctx.concurrency)),
        StoreUrl::S3 { bucket, prefix } => {
            let mut settings = ctx.aws_access()?;
            if region.is_some() {
                settings.region = region;
            }
            let aws = Aws::connect(&settings).await?;
            let writes = match encryption {
                Some(own) => config::resolve_encryption(&own, None).map_err(|reason| {
                    Error::Usage(format!(
                        "the `snapshots` block's encryption settings are not usable: {reason}"
                    ))
                })?,
                None => ctx
                    .target()
                    .map(|t| t.encryption)
                    .unwrap_or_else(|_| ObjectWrites::plain()),
            };
            Ok(
                SnapshotStore::s3(aws.bucket(&bucket).with_writes(writes), &prefix)
                    .with_concurrency(ctx.concurrency),
            )
        }
    }
}

fn no_store() -> Error {
    Unconfigured::SnapshotStore.into()
}

fn warn_broken(err: &Stderr, listing: &Listing, store: &SnapshotStore) {
    for (id, problem) in &listing.broken {
        err.line(format_args!(
            "warning: {id} in {} is not a complete snapshot ({problem}); it is left alone",
            store.url()
        ));
    }
}

use crate::util::time::rfc3339;

// ---- create ----

async fn create<W: Write>(ctx: &Context, reason: &str, printer: &mut Printer<W>) -> Result<u8> {
    let target = ctx.target()?;
    let aws = ctx.aws(&target).await?;
    let bucket = aws.state_bucket(&target);
    let store = open_store(ctx).await?;
    let created = snapshot::create(
        &store,
        &bucket,
        &target.state_key(),
        reason,
        OffsetDateTime::now_utc(),
    )
    .await?;
    printer.emit(&created).map_err(out_err)?;
    Ok(exit::SUCCESS)
}

impl Render for Created {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let m = &self.snapshot;
        if self.created {
            writeln!(
                out,
                "Created snapshot {} in {}: serial {}, lineage {}, {} bytes.",
                m.id, self.store, m.serial, m.lineage, m.size
            )?;
            writeln!(
                out,
                "  source: s3://{}/{} version {}",
                m.source_bucket, m.source_key, m.source_version_id
            )?;
            writeln!(out, "  sha256: {}", m.sha256)?;
            writeln!(out, "  md5:    {}", m.md5)
        } else {
            writeln!(
                out,
                "Unchanged: the current state (serial {}, sha256 {}) is already snapshot {} in {}; nothing was created.",
                m.serial, m.sha256, m.id, self.store
            )
        }
    }
}

// ---- list ----

#[derive(Serialize, schemars::JsonSchema)]
struct ListEntry {
    /// Snapshot id: creation time (UTC), serial, first 8 hex digits of the sha256; sorts by time.
    #[schemars(regex(pattern = "^[0-9]{8}T[0-9]{6}Z-[0-9]+-[0-9a-f]{8}$"))]
    id: String,
    /// RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    created: String,
    serial: u64,
    lineage: String,
    size: u64,
    #[schemars(regex(pattern = "^[0-9a-f]{64}$"))]
    sha256: String,
    source_version_id: String,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct ListReport {
    #[serde(skip)]
    store: String,
    /// Oldest first.
    snapshots: Vec<ListEntry>,
}

async fn list<W: Write>(ctx: &Context, printer: &mut Printer<W>) -> Result<u8> {
    let store = open_store(ctx).await?;
    let listing = store.list().await?;
    warn_broken(&printer.stderr(), &listing, &store);
    let report = ListReport {
        store: store.url().to_string(),
        snapshots: listing
            .snapshots
            .iter()
            .map(|m| ListEntry {
                id: m.id.clone(),
                created: rfc3339(m.created),
                serial: m.serial,
                lineage: m.lineage.clone(),
                size: m.size,
                sha256: m.sha256.clone(),
                source_version_id: m.source_version_id.clone(),
            })
            .collect(),
    };
    printer.emit(&report).map_err(out_err)?;
    Ok(exit::SUCCESS)
}

impl Render for ListReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.snapshots.is_empty() {
            return writeln!(out, "No snapshots in {}.", self.store);
        }
        let rows: Vec<Vec<String>> = self
            .snapshots
            .iter()
            .map(|s| {
                vec![
                    s.id.clone(),
                    s.created.clone(),
                    s.serial.to_string(),
                    s.lineage.chars().take(8).collect(),
                    s.size.to_string(),
                    s.source_version_id.clone(),
                ]
            })
            .collect();
        table(
            out,
            &[
                "ID",
                "CREATED",
                "SERIAL",
                "LINEAGE",
                "SIZE",
                "SOURCE VERSION",
            ],
            &rows,
        )?;
        writeln!(
            out,
            "{} in {}.",
            count(self.snapshots.len(), "snapshot", "snapshots"),
            self.store
        )
    }
}

// ---- verify ----

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct VerifyReport {
    store: String,
    /// Every snapshot checked passed (and there was at least one).
    ok: bool,
    /// Newest first (--all: every snapshot, then incomplete entries).
    snapshots: Vec<Verified>,
}

async fn verify<W: Write>(ctx: &Context, all: bool, printer: &mut Printer<W>) -> Result<u8> {
    let store = open_store(ctx).await?;
    let listing = store.list().await?;
    let checked = if all {
        listing.snapshots.len()
    } else {
        usize::from(listing.newest().is_some())
    };
    let progress = crate::output::Progress::spinner(format!(
        "verifying {} in {}",
        count(checked, "snapshot", "snapshots"),
        store.url()
    ));
    let results = snapshot::verify_listing(&store, &listing, all).await?;
    progress.finish();
    let ok = !results.is_empty() && results.iter().all(|r| r.ok);
    let report = VerifyReport {
        store: store.url().to_string(),
        ok,
        snapshots: results,
    };
    printer.emit(&report).map_err(out_err)?;
    Ok(if ok { exit::SUCCESS } else { exit::DIFFERENCES })
}

impl Render for VerifyReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.snapshots.is_empty() {
            return writeln!(
                out,
                "FAIL: there are no snapshots in {} to verify; take one with `stateward snapshot create`.",
                self.store
            );
        }
        for r in &self.snapshots {
            if r.ok {
                writeln!(out, "ok    {}", r.id)?;
            } else {
                writeln!(out, "FAIL  {}: {}", r.id, r.problems.join("; "))?;
            }
        }
        let failed = self.snapshots.iter().filter(|r| !r.ok).count();
        if failed == 0 {
            writeln!(
                out,
                "{} in {} verified.",
                count(self.snapshots.len(), "snapshot", "snapshots"),
                self.store
            )
        } else {
            writeln!(
                out,
                "{failed} of {} in {} failed verification.",
                count(self.snapshots.len(), "snapshot", "snapshots"),
                self.store
            )
        }
    }
}

// ---- prune ----

#[derive(Serialize, schemars::JsonSchema)]
struct Forget {
    id: String,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct PruneReport {
    #[serde(skip)]
    store: String,
    #[serde(skip)]
    empty_policy: bool,
    /// Newest first.
    keep: Vec<Kept>,
    /// Newest first; deleted unless --dry-run.
    forget: Vec<Forget>,
    dry_run: bool,
    /// How many snapshots were deleted.
    deleted: usize,
}

/// The environment file's retention with the `--keep-*` flags over it.
fn policy_of(file: Option<&config::RetentionSettings>, a: &PruneArgs) -> Result<Policy> {
    let from_file = match file {
        None => Policy::default(),
        Some(r) => Policy::from_settings(r).map_err(Error::Usage)?,
    };
    Ok(from_file.overlay(Policy {
        keep_last: a.keep_last,
        keep_hourly: a.keep_hourly,
        keep_daily: a.keep_daily,
        keep_weekly: a.keep_weekly,
        keep_monthly: a.keep_monthly,
        keep_within: a.keep_within.clone(),
    }))
}

async fn prune<W: Write>(ctx: &Context, a: PruneArgs, printer: &mut Printer<W>) -> Result<u8> {
    let policy = policy_of(ctx.settings.retention()?, &a)?;
    let store = open_store(ctx).await?;
    let stderr = printer.stderr();
    let listing = store.list().await?;
    warn_broken(&stderr, &listing, &store);
    let decision = snapshot::prune_decision(
        &store,
        &listing,
        &policy,
        OffsetDateTime::now_utc(),
        &mut |id, problems| {
            stderr.line(format_args!(
                "warning: snapshot {id} fails verification: {}",
                problems.join("; ")
            ))
        },
    )
    .await;

    let mut report = PruneReport {
        store: store.url().to_string(),
        empty_policy: policy.is_empty(),
        keep: decision.keep,
        forget: decision
            .forget
            .into_iter()
            .map(|id| Forget { id })
            .collect(),
        dry_run: a.dry_run,
        deleted: 0,
    };
    // The decision goes to stdout in text mode, to stderr in JSON mode.
    let mut explained = Vec::new();
    explain(&report, &mut explained).map_err(out_err)?;
    if printer.format() == Format::Text {
        printer.raw(&explained).map_err(out_err)?;
    } else {
        io::stderr().write_all(&explained).map_err(out_err)?;
    }

    if !report.forget.is_empty() && !a.dry_run {
        confirm(
            &printer.stderr(),
            &format!(
                "Delete {} from {}?",
                count(report.forget.len(), "snapshot", "snapshots"),
                report.store
            ),
            a.yes,
        )?;
        for f in &report.forget {
            store.delete(&f.id).await?;
            report.deleted += 1;
        }
    }
    printer.emit(&report).map_err(out_err)?;
    Ok(exit::SUCCESS)
}

fn explain(r: &PruneReport, out: &mut dyn Write) -> io::Result<()> {
    if r.empty_policy {
        writeln!(out, "No retention policy (no `retention` block in the environment file and no --keep-* flag): every snapshot is kept.")?;
    }
    let mut rows: Vec<Vec<String>> = r
        .keep
        .iter()
        .map(|k| vec!["keep".into(), k.id.clone(), k.reasons.join(", ")])
        .collect();
    rows.extend(
        r.forget
            .iter()
            .map(|f| vec!["forget".into(), f.id.clone(), String::new()]),
    );
    rows.sort_by(|a, b| b[1].cmp(&a[1]));
    if rows.is_empty() {
        return writeln!(out, "No snapshots in {}.", r.store);
    }
    table(out, &["ACTION", "SNAPSHOT", "REASONS"], &rows)
}

impl Render for PruneReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.forget.is_empty() {
            writeln!(
                out,
                "Nothing to prune: {} kept.",
                count(self.keep.len(), "snapshot", "snapshots")
            )
        } else if self.dry_run {
            writeln!(
                out,
                "Dry run: {} would be deleted; nothing was deleted.",
                count(self.forget.len(), "snapshot", "snapshots")
            )
        } else {
            writeln!(
                out,
                "Deleted {} from {}; {} kept.",
                count(self.deleted, "snapshot", "snapshots"),
                self.store,
                self.keep.len()
            )
        }
    }
}
