//! `stateward drift [REF]`: compare a state version with live AWS.

use std::collections::BTreeSet;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::aws::Aws;
use crate::cli::{out_err, parse_resolved, resolve_refs, Context};
use crate::config::{DriftSettings, Target};
use crate::error::{Error, Result};
use crate::exit;
use crate::live::{
    self, Comparison, Finding, IgnoreRules, Kind, NotChecked, ScanOptions, UnmanagedScope,
};
use crate::output::{Format, Printer, Render};

use super::args::DriftArgs;

/// The ignore file read when neither `--ignore` nor the environment file names one.
pub const DEFAULT_IGNORE_FILE: &str = ".statewardignore";

pub async fn run<W: Write>(ctx: &Context, args: DriftArgs, printer: &mut Printer<W>) -> Result<u8> {
    let started = Instant::now();
    let resolved = resolve_refs(ctx, &[&args.reference]).await?;
    let r = &resolved[0];
    let state = parse_resolved(r)?;
    let resources = live::state_resources(&state);

    let drift_settings = ctx.env_file()?.and_then(|e| e.drift).unwrap_or_default();
    let ignore = load_ignore(ctx, args.ignore.as_deref(), &drift_settings)?;

    let mut never_unmanaged = BTreeSet::new();
    if ctx.has_target() {
        let target = ctx.target()?;
        never_unmanaged.insert(("aws_s3_bucket".to_owned(), target.bucket.clone()));
        if let Some(t) = &target.dynamodb_table {
            never_unmanaged.insert(("aws_dynamodb_table".to_owned(), t.clone()));
        }
    }
    let mut settings = ctx.aws_settings()?;
    settings.adaptive_retry = true;
    let aws = Aws::connect(&settings).await?;

    let show_progress = printer.format() == Format::Text && io::stderr().is_terminal();
    let progress: Option<live::Progress> = if show_progress {
        let err = printer.stderr();
        err.line(format_args!(
            "checking {} resources against live AWS...",
            resources.len()
        ));
        Some(Box::new(move |line: &str| {
            err.line(format_args!("  {line}"))
        }))
    } else {
        None
    };
    let opts = ScanOptions {
        unmanaged: args.unmanaged,
        scope: UnmanagedScope {
            name_prefixes: drift_settings.unmanaged_name_prefixes.clone(),
            tags: drift_settings.unmanaged_tags.clone(),
        },
        concurrency: args.max_concurrency as usize,
        naive: args.naive,
        ignore,
        never_unmanaged,
        // An explicit --region limits the scan to that region.
        only_region: ctx.global.region.clone(),
        progress,
    };
    let scan_started = Instant::now();
    let comparison = live::scan(&aws, &resources, &opts).await?;
    if args.stats {
        printer.stderr().line(format_args!(
            "stats: resources={} api_calls={} scan_ms={} total_ms={}",
            comparison.resources,
            aws.calls(),
            scan_started.elapsed().as_millis(),
            started.elapsed().as_millis()
        ));
    }
    let code = if comparison.has_drift() {
        exit::DIFFERENCES
    } else {
        exit::SUCCESS
    };
    let report = DriftReport::new(
        StateInfo {
            serial: state.serial,
            lineage: state.lineage.to_string(),
            version_id: r.version_id.clone(),
        },
        r.label.clone(),
        comparison,
    );
    printer.emit(&report).map_err(out_err)?;
    Ok(code)
}

/// Scan options for checking a state's managed resources only (no unmanaged
/// listing), with the environment file's ignore rules: `versions
/// --against-live` and `rebuild plan` use them.
pub(crate) fn managed_check_options(ctx: &Context, target: &Target) -> Result<ScanOptions> {
    let drift_settings = ctx.env_file()?.and_then(|e| e.drift).unwrap_or_default();
    let mut never = BTreeSet::new();
    never.insert(("aws_s3_bucket".to_owned(), target.bucket.clone()));
    Ok(ScanOptions {
        unmanaged: false,
        scope: UnmanagedScope::default(),
        concurrency: 8,
        naive: false,
        ignore: load_ignore(ctx, None, &drift_settings)?,
        never_unmanaged: never,
        only_region: None,
        progress: None,
    })
}

/// The ignore file's rules, plus `lifecycle.ignore_changes` of the Terraform
/// configuration when `--backend-dir` names it.
pub(crate) fn load_ignore(
    ctx: &Context,
    flag: Option<&Path>,
    settings: &DriftSettings,
) -> Result<IgnoreRules> {
    let (path, required) = match (flag, &settings.ignore_file) {
        (Some(p), _) => (p.to_path_buf(), true),
        (None, Some(p)) => (PathBuf::from(p), true),
        (None, None) => (PathBuf::from(DEFAULT_IGNORE_FILE), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if !required && e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => return Err(Error::ReadFile { path, source }),
    };
    let rules = IgnoreRules::parse(text.as_deref())
        .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    Ok(match &ctx.global.backend_dir {
        Some(dir) => rules.with_ignore_changes(crate::config::read_ignore_changes(dir)?),
        None => rules,
    })
}

#[derive(Serialize)]
struct StateInfo {
    serial: u64,
    lineage: String,
    version_id: Option<String>,
}

#[derive(Serialize)]
struct Summary {
    resources: usize,
    checked: usize,
    missing: usize,
    changed: usize,
    unmanaged: usize,
    not_checked: usize,
    /// Checked / managed resources, in percent.
    coverage: f64,
}

/// `{"state","summary","findings","not_checked"}` (schemas/drift.schema.json).
#[derive(Serialize)]
struct DriftReport {
    state: StateInfo,
    summary: Summary,
    findings: Vec<Finding>,
    not_checked: Vec<NotChecked>,
    #[serde(skip)]
    label: String,
}

impl DriftReport {
    fn new(state: StateInfo, label: String, c: Comparison) -> Self {
        DriftReport {
            state,
            summary: Summary {
                resources: c.resources,
                checked: c.checked,
                missing: c.count(Kind::Missing),
                changed: c.count(Kind::Changed),
                unmanaged: c.count(Kind::Unmanaged),
                not_checked: c.not_checked.len(),
                coverage: c.coverage(),
            },
            findings: c.findings,
            not_checked: c.not_checked,
            label,
        }
    }

    fn in_sync(&self) -> bool {
        self.findings.is_empty()
    }

    fn summary_line(&self) -> String {
        let s = &self.summary;
        format!(
            "{} resources, {} checked ({}% coverage): {} missing, {} changed, {} unmanaged, {} not checked",
            s.resources, s.checked, s.coverage, s.missing, s.changed, s.unmanaged, s.not_checked
        )
    }
}

fn compact(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn display_name(f: &Finding) -> String {
    match &f.address {
        Some(a) => format!("{a} ({})", f.id),
        None => format!("{} {}", f.type_, f.id),
    }
}

impl Render for DriftReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Drift of {}: serial {}, lineage {}",
            self.label, self.state.serial, self.state.lineage
        )?;
        for f in &self.findings {
            let kind = f.kind.as_str().to_uppercase();
            writeln!(out, "{kind:<10} {}", display_name(f))?;
            for a in &f.attributes {
                writeln!(
                    out,
                    "           {}: state {} / live {}",
                    a.path,
                    compact(&a.state),
                    compact(&a.live)
                )?;
            }
        }
        if !self.not_checked.is_empty() {
            writeln!(out, "Not checked:")?;
            for n in &self.not_checked {
                writeln!(
                    out,
                    "  {}: {}",
                    n.address.as_deref().unwrap_or(&n.type_),
                    n.reason
                )?;
            }
        }
        writeln!(out, "{}", self.summary_line())?;
        writeln!(
            out,
            "{}",
            if self.in_sync() {
                "In sync with live AWS."
            } else {
                "DRIFT: live AWS no longer matches this state."
            }
        )
    }

    fn render_markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let title = if self.in_sync() {
            "in sync"
        } else {
            "drift found"
        };
        writeln!(out, "### stateward drift: {title}\n")?;
        writeln!(
            out,
            "State serial {}, lineage `{}`{}.\n",
            self.state.serial,
            self.state.lineage,
            self.state
                .version_id
                .as_deref()
                .map(|v| format!(", S3 version `{v}`"))
                .unwrap_or_default()
        )?;
        if !self.findings.is_empty() {
            writeln!(
                out,
                "| finding | resource | id | attribute | state | live |"
            )?;
            writeln!(out, "|---|---|---|---|---|---|")?;
            for f in &self.findings {
                let resource = f.address.clone().unwrap_or_else(|| f.type_.clone());
                if f.attributes.is_empty() {
                    writeln!(
                        out,
                        "| {} | `{}` | `{}` | | | |",
                        f.kind.as_str(),
                        cell(&resource),
                        cell(&f.id)
                    )?;
                }
                for a in &f.attributes {
                    writeln!(
                        out,
                        "| {} | `{}` | `{}` | `{}` | `{}` | `{}` |",
                        f.kind.as_str(),
                        cell(&resource),
                        cell(&f.id),
                        cell(&a.path),
                        cell(&compact(&a.state)),
                        cell(&compact(&a.live))
                    )?;
                }
            }
            writeln!(out)?;
        }
        if !self.not_checked.is_empty() {
            writeln!(out, "**Not checked**\n")?;
            for n in &self.not_checked {
                writeln!(
                    out,
                    "- `{}`: {}",
                    cell(n.address.as_deref().unwrap_or(&n.type_)),
                    cell(&n.reason)
                )?;
            }
            writeln!(out)?;
        }
        writeln!(out, "**Summary:** {}", self.summary_line())
    }
}
