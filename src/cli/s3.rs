//! `stateward s3 undelete --bucket B [--prefix P] [--since DURATION] [--dry-run] [--yes]`.
//!
//! `--bucket` is the global flag (clap allows one `--bucket`): here it names
//! the bucket to undelete in, not the state. Region, endpoint and profile
//! come from the usual flags or `--env`.

use std::io::{self, Write};

use serde::Serialize;
use time::OffsetDateTime;

use crate::aws::Aws;
use crate::cli::{confirm, out_err, Context};
use crate::error::{Error, Refusal, Result};
use crate::exit;
use crate::output::{count, Printer, Progress, Render};
use crate::undelete::{self, Skip};

use super::args::{S3Args, S3Command};

pub async fn run<W: Write>(ctx: &Context, args: S3Args, printer: &mut Printer<W>) -> Result<u8> {
    match args.command {
        S3Command::Undelete {
            prefix,
            since,
            dry_run,
            yes,
            concurrency,
        } => {
            let concurrency = usize::from(concurrency);
            run_undelete(ctx, &prefix, since, dry_run, yes, concurrency, printer).await
        }
    }
}

async fn run_undelete<W: Write>(
    ctx: &Context,
    prefix: &str,
    since: Option<std::time::Duration>,
    dry_run: bool,
    yes: bool,
    concurrency: usize,
    printer: &mut Printer<W>,
) -> Result<u8> {
    let Some(bucket_name) = ctx.global.bucket.first().cloned() else {
        return Err(Error::Usage(
            "s3 undelete needs --bucket B, the bucket to undelete in (it is never taken from an environment file or backend)".into(),
        ));
    };
    // Only the AWS settings matter here (region, endpoints, profile): the state
    // key is not used, so a placeholder stands in when none is configured.
    ctx.check_backend_config()?;
    let aws = Aws::connect(&ctx.settings.aws_access_without_key()?).await?;
    let bucket = aws.bucket(&bucket_name);
    // The window ends when the command starts, not when the listing ends.
    let now = OffsetDateTime::now_utc();

    let listed = Progress::counter(format!(
        "listing versions and delete markers under s3://{bucket_name}/{prefix}"
    ));
    let mut on_page = |n: usize| listed.set_position(n as u64);
    let listing = bucket.list_prefix_versions(prefix, &mut on_page).await?;
    listed.finish();
    let decision = undelete::decide(&listing, now, since);
    drop(listing);
    let n = decision.restore.len();
    let markers: usize = decision.restore.iter().map(|u| u.markers.len()).sum();
    let mut report = UndeleteReport {
        restored: n,
        skipped: decision.skipped.len(),
        keys: decision.restore.iter().map(|u| u.key.clone()).collect(),
        dry_run,
        skipped_keys: decision.skipped.clone(),
    };
    let place = format!("s3://{bucket_name}/{prefix}");
    if dry_run || n == 0 {
        printer.emit(&report).map_err(out_err)?;
        return Ok(exit::SUCCESS);
    }
    confirm(
        &printer.stderr(),
        &format!(
            "Restore {} under {place} by removing {} ({} left alone)?",
            count(n, "deleted object", "deleted objects"),
            count(markers, "delete marker", "delete markers"),
            count(report.skipped, "deleted object", "deleted objects"),
        ),
        yes,
    )?;
    let bar = Progress::items("restoring objects", n as u64);
    let mut progress = |done: usize| bar.set_position(done as u64);
    // Ctrl-C comes to the run below, which stops, waits for the removals in
    // flight and says what was done; a second press exits at once.
    let shield = crate::interrupt::shield(format!(
        "objects under {place} were being restored and some removals may still land; list what is still deleted with `{}`",
        crate::hint::command(&if prefix.is_empty() {
            vec!["s3", "undelete", "--dry-run"]
        } else {
            vec!["s3", "undelete", "--prefix", prefix, "--dry-run"]
        })
    ));
    let run = undelete::execute(&bucket, &decision.restore, concurrency, &mut progress).await;
    drop(shield);
    bar.finish();
    let (restored, failed) = (run.restored, run.failed);
    // The same command, its window stretched by the time since it started.
    let again = || {
        let mut words: Vec<String> = vec!["s3".into(), "undelete".into()];
        if !prefix.is_empty() {
            words.extend(["--prefix".into(), prefix.to_owned()]);
        }
        if let Some(since) = since {
            let elapsed = (OffsetDateTime::now_utc() - now).whole_seconds().max(0) as u64 + 1;
            words.extend(["--since".into(), format!("{}s", since.as_secs() + elapsed)]);
        }
        words.extend([
            "--concurrency".into(),
            concurrency.to_string(),
            "--yes".into(),
        ]);
        crate::hint::command(&words)
    };
    if run.interrupted {
        return Err(Error::Interrupted(crate::error::Interruption::Undelete {
            restored: restored.len(),
            total: count(n, "object", "objects"),
            place: place.to_string(),
            failed: failed.len(),
            unsettled: run.unsettled,
            rest: again(),
        }));
    }
    if let Some((_, first)) = failed.first() {
        return Err(Error::Refused(Refusal::Incomplete {
            message: format!(
                "{} of {n} objects could not be restored (first: {first}); {} were restored; run `{}` to retry the rest",
                failed.len(),
                restored.len(),
                again()
            ),
        }));
    }
    report.restored = restored.len();
    report.keys = restored;
    printer.emit(&report).map_err(out_err)?;
    Ok(exit::SUCCESS)
}

/// `{"restored","skipped","keys","dry_run"}`; in a dry run, `restored` and
/// `keys` are what would be restored.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct UndeleteReport {
    /// Objects brought back (with --dry-run: that would be).
    restored: usize,
    /// Deleted objects left deleted: deleted before the --since window, or with no version to bring
    /// back.
    skipped: usize,
    /// The keys restored (with --dry-run: that would be), sorted.
    keys: Vec<String>,
    dry_run: bool,
    #[serde(skip)]
    skipped_keys: Vec<Skip>,
}

impl Render for UndeleteReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let verb = if self.dry_run {
            "Would restore"
        } else {
            "Restored"
        };
        writeln!(
            out,
            "{verb} {}:",
            count(self.restored, "deleted object", "deleted objects")
        )?;
        for k in &self.keys {
            writeln!(out, "  {k}")?;
        }
        if !self.skipped_keys.is_empty() {
            writeln!(out, "Left deleted ({}):", self.skipped)?;
            for s in &self.skipped_keys {
                writeln!(out, "  {}: {}", s.key, s.reason)?;
            }
        }
        if self.dry_run {
            writeln!(out, "Dry run: nothing was changed.")?;
        }
        Ok(())
    }
}
