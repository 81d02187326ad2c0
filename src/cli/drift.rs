//! `stateward drift [REF]`: compare a state version with live AWS.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::time::Instant;

use serde::Serialize;

use crate::aws::Aws;
use crate::cli::{out_err, parse_resolved, resolve_refs, Context};
use crate::error::Result;
use crate::exit;
use crate::live::{
    self, Comparison, Finding, IgnoreRules, Kind, NotChecked, ScanOptions, UnmanagedScope,
};
use crate::output::style::{status_style, BAD, GOOD, NOTE, WARN};
use crate::output::{count, paint, Printer, Render, Stderr};

use super::args::DriftArgs;

pub async fn run<W: Write>(ctx: &Context, args: DriftArgs, printer: &mut Printer<W>) -> Result<u8> {
    if args.list_types {
        printer.emit(&TypeList::supported()).map_err(out_err)?;
        return Ok(exit::SUCCESS);
    }
    if args.fleet.is_fleet() {
        return super::fleet::drift(ctx, &args, printer).await;
    }
    let started = Instant::now();
    let resolved = resolve_refs(ctx, &[&args.reference]).await?;
    let r = &resolved[0];
    let state = parse_resolved(r)?;
    let resources = live::state_resources(&state);

    let drift_settings = ctx.settings.drift()?;
    let ignore = ctx.ignore_rules(args.ignore.as_deref(), &printer.stderr())?;
    warn_unmatched(&printer.stderr(), &ignore, &resources, args.unmanaged);

    let mut never_unmanaged = BTreeSet::new();
    if ctx.has_target() {
        let target = ctx.target()?;
        never_unmanaged.insert(("aws_s3_bucket".to_owned(), target.bucket.clone()));
        if let Some(t) = &target.dynamodb_table {
            never_unmanaged.insert(("aws_dynamodb_table".to_owned(), t.clone()));
        }
    }
    let aws = Aws::connect(&ctx.aws_access()?).await?;

    let progress = live::terminal_progress(format!(
        "checking {} against live AWS",
        count(resources.len(), "resource", "resources")
    ));
    let mut opts = ScanOptions {
        unmanaged: args.unmanaged,
        scope: UnmanagedScope {
            name_prefixes: drift_settings.unmanaged_name_prefixes.clone(),
            tags: drift_settings.unmanaged_tags.clone(),
        },
        concurrency: args.fanout.get(),
        naive: args.naive,
        ignore,
        never_unmanaged,
        // An explicit --region limits the scan to that region.
        only_region: ctx.global.region.clone(),
        progress,
    };
    let scan_started = Instant::now();
    let comparison = live::scan(&aws, &resources, &opts).await?;
    opts.progress = None; // clears the scan's progress line
    if args.stats {
        printer.stderr().line(format_args!(
            "stats: resources={} api_calls={} scan_ms={} total_ms={}",
            comparison.resources,
            aws.calls(),
            scan_started.elapsed().as_millis(),
            started.elapsed().as_millis()
        ));
    }
    let gate = Completeness::judge(&comparison, args.allow_incomplete, args.min_coverage);
    let code = if comparison.has_drift() {
        exit::DIFFERENCES
    } else if gate.incomplete.is_some() {
        exit::ERROR
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
        gate,
    );
    printer.emit(&report).map_err(out_err)?;
    Ok(code)
}

/// Whether a drift result may pass a gate: never when AWS refused or failed
/// calls (unless accepted) or coverage is below the required minimum.
#[derive(Debug, Clone, PartialEq)]
struct Completeness {
    /// Why the result is incomplete, in one sentence; `None` when complete.
    incomplete: Option<String>,
    /// Not checked because of errors, accepted by `--allow-incomplete`.
    accepted_errors: usize,
}

impl Completeness {
    /// Pure: the comparison, `--allow-incomplete` and `--min-coverage`.
    fn judge(c: &Comparison, allow_incomplete: bool, min_coverage: Option<f64>) -> Completeness {
        let errors = c.errors();
        if let Some(min) = min_coverage.filter(|m| c.coverage() < *m) {
            return Completeness {
                incomplete: Some(format!(
                    "coverage {}% is below --min-coverage {min}%: not a pass",
                    c.coverage()
                )),
                accepted_errors: 0,
            };
        }
        if errors > 0 && !allow_incomplete {
            return Completeness {
                incomplete: Some(format!(
                    "{errors} not checked because AWS refused or failed the calls (see Not checked): not a pass; fix the access, or pass --allow-incomplete to accept it"
                )),
                accepted_errors: 0,
            };
        }
        Completeness {
            incomplete: None,
            accepted_errors: errors,
        }
    }
}

/// Warns about ignore rules that match no resource of the state (a rule may
/// also hide unmanaged objects, so with `--unmanaged` only the rules that
/// look like a Terraform address are reported).
fn warn_unmatched(
    err: &Stderr,
    rules: &IgnoreRules,
    resources: &[live::StateResource],
    unmanaged: bool,
) {
    let seen: Vec<live::Seen<'_>> = resources
        .iter()
        .map(|r| live::Seen {
            type_: &r.type_,
            id: r.id.as_deref(),
            address: &r.address,
        })
        .collect();
    for u in rules.unmatched(&seen) {
        match (&u.hint, unmanaged) {
            (Some(hint), _) => err.line(format_args!(
                "{} ignore rule `{}` matches no resource of this state: {hint}",
                paint(WARN, "warning:"),
                u.rule
            )),
            (None, false) => err.line(format_args!(
                "{} ignore rule `{}` matches no resource of this state",
                paint(WARN, "warning:"),
                u.rule
            )),
            (None, true) => {}
        }
    }
}

/// `drift --list-types`: `[{"type","service","compares","unmanaged","global"}]`.
#[derive(Serialize)]
#[serde(transparent)]
pub struct TypeList(Vec<TypeRow>);

#[derive(Serialize)]
pub struct TypeRow {
    #[serde(rename = "type")]
    type_: &'static str,
    /// The family (AWS service) that enumerates it.
    service: &'static str,
    /// What is compared besides existence.
    compares: &'static str,
    /// Whether `--unmanaged` reports live objects of it that no resource describes.
    unmanaged: bool,
    /// Global (IAM, Route 53) rather than regional.
    global: bool,
}

impl TypeList {
    pub fn supported() -> TypeList {
        let mut rows: Vec<TypeRow> = live::families()
            .iter()
            .flat_map(|f| {
                f.types.iter().map(|t| TypeRow {
                    type_: t.name,
                    service: f.name,
                    compares: if t.compares.is_empty() {
                        "existence"
                    } else {
                        t.compares
                    },
                    unmanaged: t.unmanaged,
                    global: t.global,
                })
            })
            .collect();
        rows.sort_by_key(|r| r.type_);
        TypeList(rows)
    }
}

impl Render for TypeList {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|r| {
                vec![
                    r.type_.to_owned(),
                    r.service.to_owned(),
                    if r.unmanaged { "yes" } else { "" }.to_owned(),
                    r.compares.to_owned(),
                ]
            })
            .collect();
        crate::output::table(out, &["TYPE", "SERVICE", "UNMANAGED", "COMPARES"], &rows)?;
        writeln!(out, "{} types.", self.0.len())
    }

    fn render_markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "| type | service | compared (besides existence) | `--unmanaged` |"
        )?;
        writeln!(out, "|---|---|---|---|")?;
        for r in &self.0 {
            writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                r.type_,
                r.service,
                r.compares.replace('|', "\\|"),
                if r.unmanaged { "yes" } else { "no" }
            )?;
        }
        Ok(())
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct StateInfo {
    serial: u64,
    lineage: String,
    /// S3 version id; null for a file: reference.
    version_id: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct Summary {
    /// Managed resource instances in the state.
    resources: usize,
    /// Those compared with live AWS.
    checked: usize,
    missing: usize,
    changed: usize,
    unmanaged: usize,
    /// Entries of not_checked.
    not_checked: usize,
    /// Checked / managed resources, in percent.
    #[schemars(range(min = 0, max = 100))]
    coverage: f64,
    /// Entries of not_checked caused by AWS errors (access denied, throttled, unreachable).
    errors: usize,
    /// False when errors left resources unchecked (without --allow-incomplete)
    /// or coverage is below --min-coverage: the result is not a pass.
    complete: bool,
}

/// `{"state","summary","findings","not_checked"}` (schemas/drift.schema.json).
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct DriftReport {
    state: StateInfo,
    summary: Summary,
    findings: Vec<Finding>,
    not_checked: Vec<NotChecked>,
    #[serde(skip)]
    label: String,
    #[serde(skip)]
    gate: Completeness,
}

impl DriftReport {
    fn new(state: StateInfo, label: String, c: Comparison, gate: Completeness) -> Self {
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
                errors: c.errors(),
                complete: gate.incomplete.is_none(),
            },
            findings: c.findings,
            not_checked: c.not_checked,
            label,
            gate,
        }
    }

    fn in_sync(&self) -> bool {
        self.findings.is_empty()
    }

    /// The verdict line: drift, incomplete, or in sync (never when incomplete).
    fn verdict(&self) -> String {
        let mut lines = Vec::new();
        if !self.in_sync() {
            lines.push("DRIFT: live AWS no longer matches this state.".to_owned());
        }
        if let Some(why) = &self.gate.incomplete {
            lines.push(format!("INCOMPLETE: {why}."));
        } else if self.in_sync() {
            lines.push(match self.gate.accepted_errors {
                0 => "In sync with live AWS.".to_owned(),
                n => format!("In sync with live AWS where checked; {n} not checked because of AWS errors (accepted by --allow-incomplete)."),
            });
        }
        lines.join("\n")
    }

    fn summary_line(&self) -> String {
        let s = &self.summary;
        format!(
            "{}, {} checked ({}% coverage): {} missing, {} changed, {} unmanaged, {} not checked",
            count(s.resources, "resource", "resources"),
            s.checked,
            s.coverage,
            s.missing,
            s.changed,
            s.unmanaged,
            s.not_checked
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
            let kind = format!("{:<10}", f.kind.as_str().to_uppercase());
            let style = status_style(f.kind.as_str());
            writeln!(out, "{} {}", paint(style, kind), display_name(f))?;
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
            writeln!(out, "{}", paint(NOTE, "Not checked:"))?;
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
        let style = match (self.in_sync(), self.gate.incomplete.is_some()) {
            (false, _) => BAD,
            (true, true) => WARN,
            (true, false) => GOOD,
        };
        writeln!(out, "{}", paint(style, self.verdict()))
    }

    fn render_markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let title = match (self.in_sync(), self.gate.incomplete.is_some()) {
            (false, _) => "drift found",
            (true, true) => "incomplete",
            (true, false) => "in sync",
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
        writeln!(
            out,
            "**Summary:** {}\n\n{}",
            self.summary_line(),
            self.verdict()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{Cause, NotChecked};

    fn comparison(resources: usize, checked: usize, causes: &[Cause]) -> Comparison {
        Comparison {
            resources,
            checked,
            findings: Vec::new(),
            not_checked: causes
                .iter()
                .map(|c| NotChecked {
                    type_: "aws_x".into(),
                    address: None,
                    reason: "r".into(),
                    cause: *c,
                })
                .collect(),
        }
    }

    /// An unchecked drift gate never passes silently.
    #[test]
    fn completeness_table() {
        use Cause::*;
        // (comparison, --allow-incomplete, --min-coverage, incomplete?, accepted errors)
        let cases = [
            (comparison(10, 10, &[]), false, None, false, 0),
            // Unsupported or ignored types are not errors.
            (
                comparison(10, 8, &[Unsupported, Ignored]),
                false,
                None,
                false,
                0,
            ),
            (comparison(10, 9, &[OtherRegion]), false, None, false, 0),
            // Every call refused: 0% checked is not "in sync".
            (
                comparison(3, 0, &[Error, Error, Error]),
                false,
                None,
                true,
                0,
            ),
            (comparison(10, 9, &[Error]), false, None, true, 0),
            (comparison(10, 9, &[Error]), true, None, false, 1),
            // A type throttled past its retry budget is a failure too.
            (comparison(10, 9, &[Throttled]), false, None, true, 0),
            (comparison(10, 9, &[Throttled]), true, None, false, 1),
            // Coverage below the minimum, whatever the cause.
            (
                comparison(10, 8, &[Unsupported, Unsupported]),
                false,
                Some(90.0),
                true,
                0,
            ),
            (comparison(10, 9, &[Error]), true, Some(95.0), true, 0),
            (
                comparison(10, 9, &[Unsupported]),
                false,
                Some(90.0),
                false,
                0,
            ),
        ];
        for (i, (c, allow, min, incomplete, accepted)) in cases.into_iter().enumerate() {
            let g = Completeness::judge(&c, allow, min);
            assert_eq!(g.incomplete.is_some(), incomplete, "case {i}: {g:?}");
            assert_eq!(g.accepted_errors, accepted, "case {i}");
        }
    }

    /// README's table of checked types is `drift --list-types --format
    /// markdown`, so the two never disagree.
    #[test]
    fn readme_lists_the_checked_types_as_list_types_does() {
        let readme = include_str!("../../README.md");
        let (begin, end) = ("<!-- drift-types:begin -->\n", "<!-- drift-types:end -->");
        let i = readme.find(begin).expect("README has the types table") + begin.len();
        let j = readme.find(end).expect("README's types table ends");
        let mut out = Vec::new();
        TypeList::supported().render_markdown(&mut out).unwrap();
        assert_eq!(
            &readme[i..j],
            String::from_utf8(out).unwrap(),
            "README's checked types differ from `stateward drift --list-types --format markdown`: paste its output between the markers"
        );
    }
}
