//! The command-line edge: parse, run, map the outcome to an exit code.

pub mod args;
mod cache;
mod diff;
mod doctor;
mod drift;
mod drill;
mod fleet;
mod lock;
mod meta;
mod pull;
mod rebuild;
mod report;
mod restore;
mod s3;
mod show;
mod snapshot;
mod states;
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
use crate::error::{Error, Refusal, Result};
use crate::exit;
use crate::output::style::{self, ColorEnv};
use crate::output::{paint, progress, Format, Printer, Stderr};
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
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(usage_error(&e, format_in_argv(&argv))),
    };
    init_tracing(cli.global.verbose);
    let format = cli.global.format;
    let color_env = ColorEnv::from_vars(&|name| std::env::var(name).ok());
    let color = cli
        .global
        .color
        .enabled(io::stdout().is_terminal(), &color_env);
    // Progress: on a terminal's stderr, never in JSON mode.
    progress::enable(format != Format::Json && io::stderr().is_terminal());
    let err_color = cli
        .global
        .color
        .enabled(io::stderr().is_terminal(), &color_env);
    let stdout = io::stdout();
    let mut printer = Printer::new(format, stdout.lock())
        .with_color(color)
        .with_stderr(Stderr::default().with_color(err_color));
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
                _ = crate::interrupt::unclaimed() => Err(Error::Interrupted(crate::error::Interruption::Idle {
                    look: crate::hint::command(&["versions"]),
                })),
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

/// What clap's own outcomes exit with: help and version 0; help shown
/// because a (sub)command is missing 1; any other usage error 1, with the
/// JSON error envelope on stdout in JSON mode.
fn usage_error(e: &clap::Error, format: Format) -> u8 {
    use clap::error::ErrorKind;
    let code = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => exit::SUCCESS,
        _ => exit::ERROR,
    };
    let _ = e.print();
    if code != exit::SUCCESS && format == Format::Json {
        let message = match e.kind() {
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                "a subcommand is needed; see --help".to_owned()
            }
            _ => clap_message(e),
        };
        let text = error_json("usage", message, code);
        let _ = io::stdout().lock().write_all(text.as_bytes());
    }
    code
}

/// The first line of a clap error, without its `error: ` prefix and styles.
fn clap_message(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    first
        .strip_prefix("error: ")
        .unwrap_or(first)
        .trim()
        .to_owned()
}

/// `--format` as typed, for errors found before the arguments parsed
/// (`--format json`, `--format=json`); text when absent or unreadable.
fn format_in_argv(argv: &[std::ffi::OsString]) -> Format {
    let mut found = Format::Text;
    let mut args = argv.iter().skip(1).filter_map(|a| a.to_str());
    while let Some(a) = args.next() {
        if a == "--" {
            break;
        }
        let value = match a.strip_prefix("--format") {
            Some("") => args.next(),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        if let Some(v) = value {
            if let Ok(f) = <Format as clap::ValueEnum>::from_str(v, true) {
                found = f;
            }
        }
    }
    found
}

/// Runs one parsed command line, writing through `printer`.
pub async fn run<W: Write>(cli: Cli, printer: &mut Printer<W>) -> Result<u8> {
    if printer.format() == Format::Markdown && !cli.command.takes_markdown() {
        return Err(Error::Usage(
            "--format markdown is only for drift, doctor, states and report merge, and --all-states runs (reports made for a pull-request comment or a job summary); use --format text or --format json".into(),
        ));
    }
    if cli.global.bucket.len() > 1 && !cli.command.is_fleet_run() {
        return Err(Error::Usage(format!(
            "--bucket is given {} times, but this command works on one state: name one bucket (several are for `states` and --all-states / --states-from runs)",
            cli.global.bucket.len()
        )));
    }
    let concurrency = cli.command.concurrency();
    let mut ctx = Context::new(cli.global);
    if let Some(n) = concurrency {
        ctx.concurrency = n;
    }
    // The reads of the state store (`store::history`, `read_whole`, ...)
    // use the cache installed here; `stateward cache` is handed it.
    if cli.command.reads_states() {
        crate::store::cache::install(ctx.cache()?);
    }
    match cli.command {
        Command::Completions(a) => meta::completions(a, printer),
        Command::Man(a) => meta::man(a, printer),
        Command::Schema(a) => meta::schema(a, printer),
        Command::Cache(a) => cache::run(&ctx, a, printer),
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
        Command::States(a) => states::run(&ctx, a, printer).await,
        Command::Report(a) => report::run(&ctx, a, printer).await,
    }
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct ErrorReport<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct ErrorBody<'a> {
    kind: &'a str,
    message: String,
    #[schemars(extend("enum" = [1, 2, 3, 130]))]
    exit_code: u8,
}

/// Errors go to stderr as one sentence; in JSON mode stdout also gets
/// `{"error":{"kind","message","exit_code"}}` so pipelines can parse it.
fn report_error<W: Write>(printer: &mut Printer<W>, e: &Error) {
    let message = e.to_string();
    printer
        .stderr()
        .line(format_args!("{} {message}", paint(style::BAD, "error:")));
    if printer.format() == Format::Json {
        let text = error_json(e.kind(), message, e.exit_code());
        let _ = printer.raw(text.as_bytes());
    }
}

/// The JSON error envelope, with its final newline.
fn error_json(kind: &str, message: String, exit_code: u8) -> String {
    let report = ErrorReport {
        error: ErrorBody {
            kind,
            message,
            exit_code,
        },
    };
    match serde_json::to_string_pretty(&report) {
        Ok(text) => format!("{text}\n"),
        Err(_) => String::new(),
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
    /// The command's `--concurrency` (AWS requests of one kind in flight).
    pub concurrency: usize,
}

impl Context {
    /// The settings of this run, from the flags and the process environment.
    pub fn new(global: GlobalArgs) -> Self {
        let settings = Settings::resolve(flags_of(&global), &|name| std::env::var(name).ok());
        let concurrency = settings.concurrency();
        Context {
            global,
            settings,
            warned: std::sync::Once::new(),
            concurrency,
        }
    }

    /// The local version cache of this run, as the settings resolve it
    /// ([`Settings::cache`]).
    pub fn cache(&self) -> Result<crate::store::cache::Cache> {
        use crate::store::cache::Cache;
        let setting = self.settings.cache()?;
        Ok(match setting.dir {
            Some(dir) => Cache::at(dir, setting.max_bytes),
            None => Cache::disabled(),
        })
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

    /// The ignore rules (`--ignore FILE` or the settings' ignore file, and
    /// the Terraform configuration's `ignore_changes`).
    pub(crate) fn ignore_rules(
        &self,
        flag: Option<&std::path::Path>,
        err: &Stderr,
    ) -> Result<crate::live::IgnoreRules> {
        crate::live::ignore::load(
            self.settings.ignore_file(flag)?,
            self.settings.terraform_dir(),
            err,
        )
    }

    /// The live scan of a state's managed resources that `versions
    /// --against-live`, `restore --last-good` and `rebuild` run.
    pub(crate) fn managed_scan(&self, target: &Target) -> Result<crate::live::ScanOptions> {
        Ok(crate::live::ScanOptions::managed(
            &target.bucket,
            self.concurrency,
            self.ignore_rules(None, &Stderr::default())?,
            crate::live::terminal_progress("comparing with live AWS".to_owned()),
        ))
    }
}

/// What the global options say about where settings come from (no I/O).
fn flags_of(g: &GlobalArgs) -> Flags {
    Flags {
        backend: BackendSettings {
            bucket: g.bucket.first().cloned(),
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
        no_cache: g.no_cache,
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
    let mut resolver = Resolver::new(
        bucket
            .as_ref()
            .map(|b| b as &dyn crate::storage::StateObjects),
        &key,
    )
    .with_snapshots(store.as_ref())
    .with_concurrency(ctx.concurrency);
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
        return Err(Error::Refused(Refusal::NotATerminal {
            question: question.to_owned(),
            look: look.to_owned(),
        }));
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
        Err(Error::Refused(Refusal::Cancelled))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_found_in_arguments_that_do_not_parse() {
        let cases: &[(&[&str], Format)] = &[
            (&["versions", "--bogus"], Format::Text),
            (&["versions", "--format", "json", "--bogus"], Format::Json),
            (&["--format=json", "versions"], Format::Json),
            (&["drift", "--format", "markdown"], Format::Markdown),
            (&["versions", "--format", "yaml"], Format::Text),
            (&["versions", "--format"], Format::Text),
            (&["pull", "--", "--format", "json"], Format::Text),
        ];
        for (args, want) in cases {
            let argv: Vec<std::ffi::OsString> = std::iter::once("stateward")
                .chain(args.iter().copied())
                .map(Into::into)
                .collect();
            assert_eq!(format_in_argv(&argv), *want, "{args:?}");
        }
    }

    #[test]
    fn clap_errors_become_one_plain_sentence() {
        let e = match Cli::try_parse_from(["stateward", "versions", "--bogus"]) {
            Err(e) => e,
            Ok(_) => panic!("--bogus parsed"),
        };
        assert_eq!(clap_message(&e), "unexpected argument '--bogus' found");
    }

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

    /// Printed commands repeat the flags that name the state: the hint
    /// builder's list must be exactly the "State location" flags of the
    /// parser, so a new targeting flag cannot be left out of the hints.
    #[test]
    fn hints_repeat_every_state_location_flag() {
        use clap::CommandFactory;
        let cmd = Cli::command();
        let mut with_value: Vec<String> = Vec::new();
        let mut switches: Vec<String> = Vec::new();
        for arg in cmd.get_arguments() {
            if arg.get_help_heading() != Some(args::STATE_LOCATION) {
                continue;
            }
            let name = format!("--{}", arg.get_long().unwrap_or_default());
            if arg.get_action().takes_values() {
                with_value.push(name);
            } else {
                switches.push(name);
            }
        }
        let sorted = |v: &[&str]| {
            let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        };
        with_value.sort();
        switches.sort();
        assert_eq!(with_value, sorted(crate::hint::WITH_VALUE));
        assert_eq!(switches, sorted(crate::hint::SWITCHES));
    }
}
