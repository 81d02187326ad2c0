//! The command-line edge: parse, run, map the outcome to an exit code.

pub mod args;
mod diff;
mod doctor;
mod drift;
mod drill;
mod lock;
mod pull;
mod rebuild;
mod restore;
mod s3;
mod show;
mod snapshot;
mod versions;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;

pub use args::{Cli, Command, GlobalArgs};

use crate::aws::Aws;
use crate::config::{
    AccessSettings, AssumeRole, AwsAccess, BackendSettings, Flags, Settings, Target,
};
use crate::error::{Error, Result};
use crate::exit;
use crate::output::{Format, Printer, Stderr};
use crate::store::refs::{Resolved, Resolver, VersionRef};

/// Parses the process arguments, runs the command, returns the exit code.
pub fn main() -> ExitCode {
    let argv = terraform_style_flags(std::env::args_os().collect());
    // Every printed command repeats the targeting flags given here.
    crate::hint::set_args(
        argv.iter()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned()),
    );
    let cli = match Cli::try_parse_from(argv.clone()) {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => exit::SUCCESS,
                _ => exit::ERROR,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_tracing(cli.global.verbose);
    let format = cli.global.format;
    let stdout = io::stdout();
    let mut printer = Printer::new(format, stdout.lock());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer
                .stderr()
                .line(format_args!("error: cannot start the async runtime: {e}"));
            return ExitCode::from(exit::ERROR);
        }
    };
    let argv_again = argv.clone();
    let run_once = |cli: Cli, printer: &mut Printer<_>| {
        runtime.block_on(async {
            crate::interrupt::install();
            tokio::select! {
                biased;
                r = run(cli, printer) => r,
                // Ctrl-C while nothing holds a lock or has a write in flight:
                // nothing is half-done, stop now.
                _ = crate::interrupt::unclaimed() => Err(Error::Interrupted(format!(
                    "interrupted (Ctrl-C) while no lock was held and no write was in flight; `{}` shows what the state holds now",
                    crate::hint::command(&["versions"])
                ))),
            }
        })
    };
    let mut outcome = run_once(cli, &mut printer);
    // A state bucket in another region than configured: S3 names its region;
    // say so once and run the command again against it (nothing was written:
    // S3's answer came before any write to that bucket).
    if let Err(Error::Aws(e)) = &outcome {
        if let Some(note) = crate::aws::follow_bucket_region(e) {
            printer.stderr().line(format_args!("stateward: {note}"));
            if let Ok(cli) = Cli::try_parse_from(argv_again) {
                outcome = run_once(cli, &mut printer);
            }
        }
    }
    let outcome = match outcome {
        // Name the identity that was denied, the region a table was sought in.
        Err(Error::Aws(e)) => Err(Error::Aws(runtime.block_on(crate::aws::sts::explain(e)))),
        other => other,
    };
    if std::env::var_os(crate::envvars::STATEWARD_API_STATS).is_some() {
        printer.stderr().line(format_args!(
            "stateward: {} AWS API requests",
            crate::aws::calls_made()
        ));
    }
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::from(exit::SUCCESS)
        }
        Err(e) => {
            report_error(&mut printer, &e);
            ExitCode::from(e.exit_code())
        }
    }
}

/// Terraform's single-dash `-lock-timeout=5m` / `-lock-timeout 5m`, accepted
/// as `--lock-timeout` (clap has no single-dash long flags). Pure.
pub fn terraform_style_flags(argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::with_capacity(argv.len());
    let mut rest = false;
    for a in argv {
        if rest {
            out.push(a);
            continue;
        }
        match a.to_str() {
            Some("--") => {
                rest = true;
                out.push(a);
            }
            Some("-lock-timeout") => out.push("--lock-timeout".into()),
            Some(s) if s.starts_with("-lock-timeout=") => out.push(format!("-{s}").into()),
            _ => out.push(a),
        }
    }
    out
}

/// Runs one parsed command line, writing through `printer`.
pub async fn run<W: Write>(cli: Cli, printer: &mut Printer<W>) -> Result<u8> {
    let ctx = Context::new(cli.global);
    match cli.command {
        Command::Versions(a) => versions::run(&ctx, a, printer).await,
        Command::Show(a) => show::run(&ctx, a, printer).await,
        Command::Pull(a) => pull::run(&ctx, a, printer).await,
        Command::Diff(a) => diff::run(&ctx, a, printer).await,
        Command::Lock(a) => lock::run_lock(&ctx, a.command, a.rebuild, printer).await,
        Command::Digest(a) => lock::run_digest(&ctx, a.command, printer).await,
        Command::Restore(a) => restore::run(&ctx, a, printer).await,
        Command::Snapshot(a) => snapshot::run(&ctx, a, printer).await,
        Command::Drill(a) => drill::run(&ctx, a, printer).await,
        Command::S3(a) => s3::run(&ctx, a, printer).await,
        Command::Drift(a) => drift::run(&ctx, a, printer).await,
        Command::Doctor(a) => doctor::run(&ctx, a, printer).await,
        Command::Rebuild(a) => rebuild::run(&ctx, a.command, printer).await,
    }
}

#[cfg(test)]
mod tests {
    use super::terraform_style_flags;

    #[test]
    fn terraform_style_lock_timeout_is_the_long_flag() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        let cases: &[(&[&str], &[&str])] = &[
            (
                &["sw", "restore", "-lock-timeout=5m"],
                &["sw", "restore", "--lock-timeout=5m"],
            ),
            (
                &["sw", "restore", "-lock-timeout", "5m"],
                &["sw", "restore", "--lock-timeout", "5m"],
            ),
            (
                &["sw", "restore", "--lock-timeout", "5m"],
                &["sw", "restore", "--lock-timeout", "5m"],
            ),
            (
                &["sw", "x", "--", "-lock-timeout=1s"],
                &["sw", "x", "--", "-lock-timeout=1s"],
            ),
        ];
        for (given, want) in cases {
            assert_eq!(terraform_style_flags(args(given)), args(want), "{given:?}");
        }
    }
}

#[derive(Serialize)]
struct ErrorReport<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    kind: &'a str,
    message: String,
    exit_code: u8,
}

/// Errors go to stderr as one sentence; in JSON mode stdout also gets
/// `{"error":{"kind","message","exit_code"}}` so pipelines can parse it.
fn report_error<W: Write>(printer: &mut Printer<W>, e: &Error) {
    let message = e.to_string();
    printer.stderr().line(format_args!("error: {message}"));
    if printer.format() == Format::Json {
        let report = ErrorReport {
            error: ErrorBody {
                kind: e.kind(),
                message,
                exit_code: e.exit_code(),
            },
        };
        if let Ok(text) = serde_json::to_string_pretty(&report) {
            let _ = printer.raw(format!("{text}\n").as_bytes());
        }
    }
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "stateward=warn,error",
        1 => "stateward=debug,warn",
        2 => "stateward=trace,aws_config=debug,aws_smithy_runtime=debug,info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env(crate::envvars::RUST_LOG)
        .unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .try_init();
}

/// What every command needs: the global options as typed and the settings,
/// resolved once from them, the environment file, the backend dir and the
/// process environment ([`Settings::resolve`]).
pub struct Context {
    pub global: GlobalArgs,
    pub settings: Settings,
    /// The configuration's warnings (deprecated backend arguments) are
    /// printed once per run.
    warned: std::sync::Once,
}

impl Context {
    /// The settings of this run, from the flags and the process environment.
    pub fn new(global: GlobalArgs) -> Self {
        let settings = Settings::resolve(flags_of(&global), &|name| std::env::var(name).ok());
        Context {
            global,
            settings,
            warned: std::sync::Once::new(),
        }
    }

    /// Whether any way of naming the state was given.
    pub fn has_target(&self) -> bool {
        self.settings.has_target()
    }

    /// The state target (validated once).
    pub fn target(&self) -> Result<Target> {
        // As ever: the environment file is read (and reported) first.
        self.settings.env_file()?;
        self.check_backend_config()?;
        let target = self.settings.target()?;
        self.warned.call_once(|| {
            let err = crate::output::Stderr::default();
            for w in &target.access.warnings {
                err.line(format_args!("warning: {w}"));
            }
        });
        Ok(target.clone())
    }

    /// `--backend-config` completes a `--backend-dir`; alone it is a mistake.
    pub(crate) fn check_backend_config(&self) -> Result<()> {
        if self.global.backend_dir.is_none() && !self.global.backend_config.is_empty() {
            return Err(Error::Usage(
                "--backend-config needs --backend-dir DIR (the directory holding the `backend \"s3\"` block)".into(),
            ));
        }
        Ok(())
    }

    /// AWS access: the target's when the state is named, else only the
    /// region and endpoint flags (for commands that can run without a state,
    /// e.g. `drift file:PATH` or a snapshot store alone).
    pub fn aws_access(&self) -> Result<AwsAccess> {
        if self.has_target() {
            return Ok(self.settings.aws_access_of(&self.target()?));
        }
        Ok(self.settings.aws_access()?)
    }

    /// Connects to AWS for a target.
    pub async fn aws(&self, target: &Target) -> Result<Aws> {
        Ok(Aws::connect(&self.settings.aws_access_of(target)).await?)
    }
}

/// What the global options say about where settings come from (no I/O).
fn flags_of(g: &GlobalArgs) -> Flags {
    Flags {
        backend: BackendSettings {
            bucket: g.bucket.clone(),
            key: g.key.clone(),
            region: g.region.clone(),
            dynamodb_table: g.dynamodb_table.clone(),
            workspace: g.workspace.clone(),
            workspace_key_prefix: g.workspace_key_prefix.clone(),
            endpoint_url: g.endpoint_url.clone(),
            use_lockfile: g.use_lockfile.then_some(true),
            profile: g.profile.clone(),
            access: AccessSettings {
                assume_role: g.role_arn.clone().map(|role_arn| AssumeRole {
                    role_arn,
                    ..AssumeRole::default()
                }),
                ..AccessSettings::default()
            },
            ..BackendSettings::default()
        },
        env: g.env.clone(),
        backend_dir: g.backend_dir.clone(),
        backend_config: g.backend_config.clone(),
        snapshot_store: g.snapshot_store.clone(),
    }
}

/// Resolves version references, connecting to S3 only when one needs it.
pub(crate) async fn resolve_refs(ctx: &Context, refs: &[&str]) -> Result<Vec<Resolved>> {
    let parsed: Vec<VersionRef> = refs.iter().map(|r| r.parse()).collect::<Result<_>>()?;
    let needs_s3 = parsed.iter().any(VersionRef::needs_s3);
    let (target, aws) = if needs_s3 {
        let target = ctx.target()?;
        let aws = ctx.aws(&target).await?;
        (Some(target), Some(aws))
    } else {
        (None, None)
    };
    let bucket = match (&target, &aws) {
        (Some(t), Some(a)) => Some(a.state_bucket(t)),
        _ => None,
    };
    let key = target.as_ref().map(Target::state_key).unwrap_or_default();
    let store = match parsed.iter().any(VersionRef::needs_snapshot_store) {
        true => Some(snapshot::open_store(ctx).await?),
        false => None,
    };
    let mut resolver = Resolver::new(bucket.as_ref(), &key).with_snapshots(store.as_ref());
    let mut out = Vec::with_capacity(parsed.len());
    for r in &parsed {
        out.push(resolver.resolve(r).await?);
    }
    Ok(out)
}

/// The lock of `target`, showing lock waits on stderr when that is a
/// terminal in text mode.
pub(crate) fn locker<W: Write>(
    printer: &Printer<W>,
    aws: &Aws,
    target: &Target,
) -> Result<crate::lock::Locker> {
    Ok(crate::lock::Locker::new(aws, target)?.with_wait_notice(shows_progress(printer)))
}

/// Whether progress lines go to stderr: a terminal, text output.
pub(crate) fn shows_progress<W: Write>(printer: &Printer<W>) -> bool {
    printer.format() == Format::Text && io::stderr().is_terminal()
}

/// Asks `question` on the terminal; `yes` answers it in advance. Without a
/// terminal (CI, pipes) and without `--yes`, refuses. The question goes to
/// `err`.
pub(crate) fn confirm(err: &Stderr, question: &str, yes: bool) -> Result<()> {
    confirm_or(err, question, yes, "--dry-run to only look")
}

/// [`confirm`], where `look` says how to only look (`--dry-run to only look`).
pub(crate) fn confirm_or(err: &Stderr, question: &str, yes: bool, look: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !io::stdin().is_terminal() {
        return Err(Error::Refused(format!(
            "{question} — refusing without a terminal to confirm on; pass --yes to proceed (or {look})"
        )));
    }
    // Marked before the question shows: a Ctrl-C as soon as it is seen
    // must find the prompt waiting.
    let waiting = crate::interrupt::prompt();
    err.part(format_args!("{question} [y/N] "));
    let mut answer = String::new();
    io::stdin().read_line(&mut answer).map_err(Error::Output)?;
    drop(waiting);
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(Error::Refused("cancelled: nothing was changed".into()))
    }
}

/// Parses resolved bytes as state, or says why they are not readable.
pub(crate) fn parse_resolved(r: &Resolved) -> Result<crate::state::State<'_>> {
    crate::state::parse(&r.bytes).map_err(|e| Error::Unreadable {
        what: r.label.clone(),
        problem: e.to_string(),
    })
}

/// Output write errors become [`Error::Output`].
pub(crate) fn out_err(e: io::Error) -> Error {
    Error::Output(e)
}
