//! Fleet runs of per-state commands (`doctor --all-states`, `--states-from`):
//! which states, each state's target, bounded concurrency, one combined
//! report. One state that cannot be checked never stops the others.

use std::io::{Read, Write};

use futures::stream::{self, StreamExt};
use time::OffsetDateTime;

use crate::aws::Aws;
use crate::cli::{out_err, Context};
use crate::config::{BackendSettings, Target};
use crate::doctor::{self, gather::gather, CheckStatus, Objectives};
use crate::error::{Error, Result};
use crate::fleet::report::{exit_code, single, Entry, ShardReport};
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
    let (listed, errors) = list_states(aws, &scope.buckets, &selection).await;
    Ok((
        listed.into_iter().map(|l| (l.bucket, l.key)).collect(),
        errors,
    ))
}

/// The target of one state of the fleet: the run's settings (environment
/// file, flags) with this bucket and key, default workspace.
fn target_of(ctx: &Context, bucket: &str, key: &str) -> Result<Target> {
    let backend = BackendSettings {
        bucket: Some(bucket.to_owned()),
        key: Some(key.to_owned()),
        workspace: Some("default".into()),
        ..ctx.settings.flags().backend.clone()
    };
    Ok(crate::config::resolve(
        backend,
        ctx.settings.env_file()?,
        None,
        &|k| std::env::var(k).ok(),
    )?)
}

/// `doctor --all-states`: the readiness checks of every state.
pub async fn doctor<W: Write>(
    ctx: &Context,
    args: &FleetArgs,
    objectives: &Objectives,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let scope = FleetScope::of(ctx, &[])?;
    let aws = Aws::connect(&scope.access).await?;
    let (states, errors) = select(args, &scope, &aws).await?;
    let now = OffsetDateTime::now_utc();
    let progress = Progress::items("checking states", states.len() as u64);
    let entries: Vec<Entry> = stream::iter(states)
        .map(|(bucket, key)| {
            let aws = &aws;
            let progress = &progress;
            async move {
                let entry = match target_of(ctx, &bucket, &key) {
                    Err(e) => unchecked(bucket, key, &e.to_string()),
                    Ok(t) => {
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
                };
                progress.inc(1);
                entry
            }
        })
        .buffer_unordered(ctx.concurrency.clamp(1, 16))
        .collect()
        .await;
    progress.finish();
    finish(args, "doctor", entries, errors, printer)
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
fn finish<W: Write>(
    args: &FleetArgs,
    command: &str,
    entries: Vec<Entry>,
    errors: Vec<String>,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let report = ShardReport {
        command: command.into(),
        shard: args.shard.map(|s| s.to_string()),
        states: entries,
        errors,
    };
    if let Some(dir) = &args.report_to {
        write_report(dir, command, args.shard, &report)?;
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
    let scope = FleetScope::of(ctx, &[])?;
    let aws = Aws::connect(&scope.access).await?;
    let (states, errors) = select(fleet, &scope, &aws).await?;
    let ignore = super::drift::load_ignore(ctx, args.ignore.as_deref(), &printer.stderr())?;
    let progress = Progress::items("checking states against live AWS", states.len() as u64);
    let per_state = (ctx.concurrency / 4).max(1);
    let entries: Vec<Entry> = stream::iter(states)
        .map(|(bucket, key)| {
            let aws = &aws;
            let progress = &progress;
            let ignore = ignore.clone();
            async move {
                let entry = async {
                    let target = target_of(ctx, &bucket, &key)?;
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
                        ignore,
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
                .unwrap_or_else(|e| unchecked(bucket.clone(), key.clone(), &e.to_string()));
                progress.inc(1);
                entry
            }
        })
        .buffer_unordered(ctx.concurrency.clamp(1, 8))
        .collect()
        .await;
    progress.finish();
    finish(fleet, "drift", entries, errors, printer)
}
