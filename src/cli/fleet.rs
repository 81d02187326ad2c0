//! Fleet runs of per-state commands (`doctor --all-states`, `--states-from`):
//! which states, each state's target, bounded concurrency, one combined
//! report. One state that cannot be checked never stops the others.

use std::io::{Read, Write};

use futures::stream::{self, StreamExt};
use time::OffsetDateTime;

use crate::aws::Aws;
use crate::cli::{out_err, Context};
use crate::config::{BackendSettings, StatesSettings, Target};
use crate::doctor::{self, gather::gather, CheckStatus, Objectives};
use crate::error::{Error, Result};
use crate::fleet::report::{exit_code, single, Entry, ReportPlace, ShardReport};
use crate::fleet::{inventory::list_states, Selection};
use crate::output::{count, Printer, Progress};

use super::args::FleetArgs;
use super::report::{write_report, MergeReport};
use super::states::FleetScope;

/// The states of a fleet run (bucket, key), after the shard filter, and the
/// errors that left some out.
async fn select(
    args: &FleetArgs,
    scope: &FleetScope,
    aws: &Aws,
    rules: &StatesSettings,
    rule_aws: &[Option<Aws>],
) -> Result<(Vec<(String, String)>, Vec<String>)> {
    let keep = |b: &str, k: &str| args.shard.is_none_or(|s| s.contains(b, k));
    if let Some(from) = &args.states_from {
        let text = if from == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|source| Error::ReadFile {
                    path: "-".into(),
                    source,
                })?;
            s
        } else {
            std::fs::read_to_string(from).map_err(|source| Error::ReadFile {
                path: from.into(),
                source,
            })?
        };
        let doc: ShardReport = serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "{from} is not the JSON of `stateward states --format json` ({e})"
            ))
        })?;
        return Ok((
            doc.states
                .into_iter()
                .filter(|e| keep(&e.bucket, &e.key))
                .map(|e| (e.bucket, e.key))
                .collect(),
            Vec::new(),
        ));
    }
    let selection = Selection {
        prefix: args.prefix.clone(),
        suffix: args.suffix.clone(),
        workspace_key_prefix: scope.workspace_key_prefix.clone(),
        shard: args.shard,
    };
    let through = |bucket: &str| {
        rules
            .region_of_bucket(bucket)
            .and_then(|(i, _)| rule_aws.get(i).and_then(Option::as_ref))
            .unwrap_or(aws)
    };
    let (listed, errors) = list_states(&through, &scope.buckets, &selection).await;
    Ok((
        listed.into_iter().map(|l| (l.bucket, l.key)).collect(),
        errors,
    ))
}

/// One fleet run: its flags, where it looks, the AWS connection, and where
/// its report goes.
struct FleetRun<'a> {
    args: &'a FleetArgs,
    scope: FleetScope,
    aws: Aws,
    report_to: Option<ReportPlace>,
    /// The environment file's `states` block (empty without one).
    rules: StatesSettings,
    /// Per rule, its own connection when it sets a region or a live-check role.
    rule_aws: Vec<Option<Aws>>,
}

impl<'a> FleetRun<'a> {
    /// Checks the flags, connects, and selects the states (with the errors
    /// that left some out).
    async fn start(
        ctx: &Context,
        args: &'a FleetArgs,
    ) -> Result<(FleetRun<'a>, Vec<(String, String)>, Vec<String>)> {
        let report_to = args
            .report_to
            .as_deref()
            .map(super::report::parse_place)
            .transpose()?;
        let scope = FleetScope::of(ctx, &[])?;
        let aws = Aws::connect(&scope.access).await?;
        let rules = ctx
            .settings
            .env_file()?
            .and_then(|e| e.states.clone())
            .unwrap_or_default();
        let rule_aws = super::states::rule_connections(ctx, &scope, &rules).await?;
        let (states, errors) = select(args, &scope, &aws, &rules, &rule_aws).await?;
        Ok((
            FleetRun {
                args,
                scope,
                aws,
                report_to,
                rules,
                rule_aws,
            },
            states,
            errors,
        ))
    }

    /// The target of one state and the connection to check it with: the
    /// run's settings (flags, environment file) with this bucket and key,
    /// default workspace, and the first matching `states` rule's lock
    /// table, region and `use_lockfile` where no flag sets them.
    fn for_state(&self, ctx: &Context, bucket: &str, key: &str) -> Result<(Target, &Aws)> {
        let flags = &ctx.settings.flags().backend;
        let rule = self.rules.rule_for(bucket, key);
        let mut backend = BackendSettings {
            bucket: Some(bucket.to_owned()),
            key: Some(key.to_owned()),
            workspace: Some("default".into()),
            ..flags.clone()
        };
        if let Some((_, r)) = rule {
            backend.dynamodb_table = backend.dynamodb_table.or(r.dynamodb_table.clone());
            backend.region = backend.region.or(r.region.clone());
            backend.use_lockfile = backend.use_lockfile.or(r.use_lockfile);
        }
        // A rule that names the bucket with a region gives it to every state
        // of the bucket.
        let bucket_rule = self.rules.region_of_bucket(bucket);
        backend.region = backend
            .region
            .or_else(|| bucket_rule.map(|(_, r)| r.to_owned()));
        let target = crate::config::resolve(backend, ctx.settings.env_file()?, None, &|k| {
            std::env::var(k).ok()
        })?;
        let aws = rule
            .and_then(|(i, _)| self.rule_aws[i].as_ref())
            .or_else(|| bucket_rule.and_then(|(i, _)| self.rule_aws[i].as_ref()))
            .unwrap_or(&self.aws);
        Ok((target, aws))
    }
}

/// Runs `check` on every state, at most `concurrency` at once, with a
/// progress bar; one entry per state, whatever happens to the others.
async fn each<F, Fut>(
    states: Vec<(String, String)>,
    what: &str,
    concurrency: usize,
    check: F,
) -> Vec<Entry>
where
    F: Fn(String, String) -> Fut,
    Fut: std::future::Future<Output = Entry>,
{
    let progress = Progress::items(what.to_owned(), states.len() as u64);
    let entries = stream::iter(states)
        .map(|(bucket, key)| {
            let progress = &progress;
            let run = check(bucket, key);
            async move {
                let entry = run.await;
                progress.inc(1);
                entry
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    progress.finish();
    entries
}

/// `doctor --all-states`: the readiness checks of every state.
pub async fn doctor<W: Write>(
    ctx: &Context,
    args: &FleetArgs,
    objectives: &Objectives,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let (run, states, errors) = FleetRun::start(ctx, args).await?;
    let fleet_run = &run;
    let now = OffsetDateTime::now_utc();
    let entries = each(
        states,
        "checking states",
        ctx.concurrency.clamp(1, 16),
        |bucket, key| async move {
            match fleet_run.for_state(ctx, &bucket, &key) {
                Err(e) => unchecked(bucket, key, &e.to_string()),
                Ok((t, aws)) => {
                    let facts = gather(aws, &t, None, now, 2).await;
                    let state_unread = facts.current.as_ref().err().cloned();
                    let checks = doctor::checks(&facts, objectives, now);
                    let summary = doctor::summarise(&checks);
                    let problems = checks
                        .iter()
                        .filter(|c| c.status == CheckStatus::Fail)
                        .map(|c| format!("{}: {}", c.id, c.detail))
                        .collect();
                    let mut rest = serde_json::Map::new();
                    rest.insert(
                        "checks".into(),
                        serde_json::to_value(&checks).unwrap_or_default(),
                    );
                    rest.insert(
                        "summary".into(),
                        serde_json::to_value(summary).unwrap_or_default(),
                    );
                    Entry {
                        bucket,
                        key,
                        problems,
                        unchecked: state_unread.is_some(),
                        rest,
                    }
                }
            }
        },
    )
    .await;
    finish(&run, "doctor", entries, errors, printer).await
}

/// `versions --all-states`: each state's history (the window `--limit`,
/// `--all` and `--header-only` choose), judged by its current version: an
/// unhealthy one (corrupt, deleted, foreign lineage, serial regress,
/// suspicious shrink) is a finding; a history that cannot be read is not
/// checked.
pub async fn versions<W: Write>(
    ctx: &Context,
    args: &super::args::VersionsArgs,
    opts: crate::store::HistoryOptions,
    printer: &mut Printer<W>,
) -> Result<u8> {
    use crate::state::health::Status;
    if args.against_live {
        return Err(Error::Usage(
            "--against-live compares one state's versions with live AWS: run it per state, or `drift --all-states` for every state's current version".into(),
        ));
    }
    let fleet = &args.fleet;
    let (run, states, errors) = FleetRun::start(ctx, fleet).await?;
    let fleet_run = &run;
    // Each history reads its window a few versions at a time.
    let per_state = opts.concurrency.clamp(1, 4);
    let entries = each(
        states,
        "reading histories",
        (ctx.concurrency / per_state).clamp(1, 16),
        |bucket, key| async move {
            let read = async {
                let (target, aws) = fleet_run.for_state(ctx, &bucket, &key)?;
                let b = aws.state_bucket(&target);
                crate::store::history(
                    &b,
                    &key,
                    crate::store::HistoryOptions {
                        concurrency: per_state,
                        ..opts
                    },
                )
                .await
            }
            .await;
            let h = match read {
                Ok(h) => h,
                Err(e) => return unchecked(bucket, key, &e.to_string()),
            };
            let Some(current) = h.versions.first() else {
                return unchecked(bucket, key, "it has no versions");
            };
            let problems = match current.health.status {
                Status::Ok | Status::Encrypted => Vec::new(),
                _ => current
                    .health
                    .problems
                    .iter()
                    .map(|p| format!("current version {}: {p}", current.version.version_id))
                    .collect(),
            };
            let mut rest = serde_json::Map::new();
            rest.insert(
                "current".into(),
                serde_json::to_value(current).unwrap_or_default(),
            );
            rest.insert("total_versions".into(), h.total_versions.into());
            rest.insert("downloaded_bytes".into(), h.downloaded_bytes.into());
            Entry {
                bucket,
                key,
                problems,
                unchecked: false,
                rest,
            }
        },
    )
    .await;
    finish(&run, "versions", entries, errors, printer).await
}

/// `snapshot create --all-states`: a snapshot of each state's current
/// version, in the store under `<bucket>/<key>/`. A state that cannot be
/// snapshotted (unreadable, deleted, corrupt, the store refused) is not
/// checked; a snapshot taken or already there is fine.
pub async fn snapshot_create<W: Write>(
    ctx: &Context,
    args: &FleetArgs,
    reason: &str,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let (run, states, errors) = FleetRun::start(ctx, args).await?;
    let fleet_run = &run;
    let store = super::snapshot::open_store(ctx).await?;
    let now = OffsetDateTime::now_utc();
    let store = &store;
    let entries = each(
        states,
        "taking snapshots",
        ctx.concurrency.clamp(1, 16),
        |bucket, key| async move {
            let made = async {
                let (target, aws) = fleet_run.for_state(ctx, &bucket, &key)?;
                let own = store.under(&format!("{bucket}/{key}"))?;
                crate::snapshot::create(&own, &aws.state_bucket(&target), &key, reason, now).await
            }
            .await;
            match made {
                Err(e) => unchecked(bucket, key, &e.to_string()),
                Ok(c) => {
                    let mut rest = serde_json::Map::new();
                    rest.insert("created".into(), c.created.into());
                    rest.insert("store".into(), c.store.into());
                    rest.insert(
                        "snapshot".into(),
                        serde_json::to_value(&c.snapshot).unwrap_or_default(),
                    );
                    Entry {
                        bucket,
                        key,
                        problems: Vec::new(),
                        unchecked: false,
                        rest,
                    }
                }
            }
        },
    )
    .await;
    finish(&run, "snapshot-create", entries, errors, printer).await
}

fn unchecked(bucket: String, key: String, why: &str) -> Entry {
    Entry {
        bucket,
        key,
        problems: vec![format!("not checked: {why}")],
        unchecked: true,
        rest: serde_json::Map::new(),
    }
}

/// Writes the report (`--report-to`), prints the combined form, returns the exit code.
async fn finish<W: Write>(
    run: &FleetRun<'_>,
    command: &str,
    entries: Vec<Entry>,
    errors: Vec<String>,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let args = run.args;
    let report = ShardReport {
        command: command.into(),
        shard: args.shard.map(|s| s.to_string()),
        states: entries,
        errors,
    };
    if let Some(place) = &run.report_to {
        write_report(
            place,
            &run.aws,
            &run.scope.writes,
            command,
            args.shard,
            &report,
        )
        .await?;
    }
    let merged = single(report);
    let code = exit_code(&merged);
    printer.emit(&MergeReport(merged)).map_err(out_err)?;
    Ok(code)
}

/// `drift --all-states`: every state's current version against live AWS.
/// A state that cannot be read or parsed, or whose check AWS left
/// incomplete (unless `--allow-incomplete`), is not checked.
pub async fn drift<W: Write>(
    ctx: &Context,
    args: &super::args::DriftArgs,
    printer: &mut Printer<W>,
) -> Result<u8> {
    use crate::live::{self, ScanOptions, UnmanagedScope};
    let fleet = &args.fleet;
    let (run, states, errors) = FleetRun::start(ctx, fleet).await?;
    let fleet_run = &run;
    let ignore = ctx.ignore_rules(args.ignore.as_deref(), &printer.stderr())?;
    let per_state = (ctx.concurrency / 4).max(1);
    let ignore = &ignore;
    let entries = each(
        states,
        "checking states against live AWS",
        ctx.concurrency.clamp(1, 8),
        |bucket, key| async move {
        async {
                let (target, aws) = fleet_run.for_state(ctx, &bucket, &key)?;
                let fetched = aws.state_bucket(&target).get(&key, None, None).await?;
                let state = crate::state::parse(&fetched.bytes).map_err(|e| {
                    Error::Unreadable {
                        what: format!("s3://{bucket}/{key}"),
                        problem: e.to_string(),
                    }
                })?;
                let resources = live::state_resources(&state);
                let opts = ScanOptions {
                    unmanaged: false,
                    scope: UnmanagedScope::default(),
                    concurrency: per_state,
                    naive: false,
                    ignore: ignore.clone(),
                    never_unmanaged: Default::default(),
                    only_region: ctx.global.region.clone(),
                    progress: None,
                };
                let c = live::scan(aws, &resources, &opts).await?;
                let errors = c.errors();
                let problems: Vec<String> = c
                    .findings
                    .iter()
                    .map(|f| {
                        format!(
                            "{} {} ({} {})",
                            f.kind.as_str(),
                            f.address.as_deref().unwrap_or("-"),
                            f.type_,
                            f.id
                        )
                    })
                    .collect();
                let mut rest = serde_json::Map::new();
                rest.insert("serial".into(), state.serial.into());
                rest.insert("resources".into(), c.resources.into());
                rest.insert("checked".into(), c.checked.into());
                rest.insert("coverage".into(), serde_json::json!(c.coverage()));
                rest.insert(
                    "findings".into(),
                    serde_json::to_value(&c.findings).unwrap_or_default(),
                );
                let incomplete = errors > 0 && !args.allow_incomplete;
                let mut problems = problems;
                if incomplete {
                    problems.push(format!(
                        "not checked: AWS refused or failed the calls for {} (`drift` on this state shows which)",
                        count(errors, "resource", "resources")
                    ));
                }
                Ok::<_, Error>(Entry {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    problems,
                    unchecked: incomplete,
                    rest,
                })
            }
            .await
            .unwrap_or_else(|e| unchecked(bucket.clone(), key.clone(), &e.to_string()))
        },
    )
    .await;
    finish(&run, "drift", entries, errors, printer).await
}
