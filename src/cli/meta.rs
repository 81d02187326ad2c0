//! `stateward completions SHELL` and `stateward man [--dir DIR]`: generated
//! from the same clap definition as the parser, so they never drift from it;
//! `stateward schema [NAME]`: the JSON Schemas of the `--format json`
//! outputs, derived from the output types (see [`crate::output::schema`]).

use std::io::Write;

use clap::CommandFactory as _;

use crate::cli::{out_err, Cli};
use crate::error::{Error, Result};
use crate::exit;
use crate::output::{count, schema, Printer, Render};

use super::args::{CompletionsArgs, ManArgs, SchemaArgs};

/// The completion script for `args.shell`, on stdout.
pub fn completions<W: Write>(args: CompletionsArgs, printer: &mut Printer<W>) -> Result<u8> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "stateward", &mut script);
    printer.raw(&script).map_err(out_err)?;
    Ok(exit::SUCCESS)
}

/// The main manual page on stdout, or every page (`stateward.1`,
/// `stateward-versions.1`, `stateward-lock-status.1`, ...) into `--dir`.
pub fn man<W: Write>(args: ManArgs, printer: &mut Printer<W>) -> Result<u8> {
    let cmd = Cli::command();
    match args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut page)
                .map_err(out_err)?;
            printer.raw(&page).map_err(out_err)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|source| Error::WriteFile {
                path: dir.clone(),
                source,
            })?;
            clap_mangen::generate_to(cmd, &dir).map_err(|source| Error::WriteFile {
                path: dir.clone(),
                source,
            })?;
            printer
                .stderr()
                .line(format_args!("wrote the manual pages to {}", dir.display()));
        }
    }
    Ok(exit::SUCCESS)
}

/// One JSON Schema `stateward schema` knows: generated from the output type,
/// or (the environment file, parsed by hand from HCL with no serde type to
/// derive from) the hand-written file.
pub struct SchemaEntry {
    /// The file is `schemas/NAME.schema.json`.
    pub name: &'static str,
    pub title: &'static str,
    /// What the schema describes, when the title is not enough.
    pub description: Option<&'static str>,
    source: SchemaSource,
}

enum SchemaSource {
    Generated(fn(&str, &str, Option<&str>) -> serde_json::Value),
    HandWritten(&'static str),
}

impl SchemaEntry {
    /// The schema document.
    pub fn schema(&self) -> serde_json::Value {
        match self.source {
            SchemaSource::Generated(generate) => generate(self.name, self.title, self.description),
            SchemaSource::HandWritten(text) => {
                serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
            }
        }
    }

    /// The file's text: generated, or the hand-written file as it is.
    pub fn text(&self) -> String {
        match self.source {
            SchemaSource::Generated(_) => schema::file_text(&self.schema()),
            SchemaSource::HandWritten(text) => text.to_owned(),
        }
    }

    /// Whether the schema is derived from the output type.
    pub fn generated(&self) -> bool {
        matches!(self.source, SchemaSource::Generated(_))
    }
}

const fn generated<T: schemars::JsonSchema>(
    name: &'static str,
    title: &'static str,
) -> SchemaEntry {
    SchemaEntry {
        name,
        title,
        description: None,
        source: SchemaSource::Generated(schema::schema_for::<T>),
    }
}

impl SchemaEntry {
    const fn described(mut self, description: &'static str) -> SchemaEntry {
        self.description = Some(description);
        self
    }
}

/// `drill`'s output: one scenario's report, or every scenario's.
#[derive(serde::Serialize, schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Only its schema is used.
enum DrillOutput {
    /// With --scenario: one drill.
    One(crate::drill::Report),
    /// Without: every scenario in turn.
    All(super::drill::AllDrills),
}

/// Every schema, in the order `stateward schema` lists them.
pub const SCHEMAS: &[SchemaEntry] = &[
    generated::<super::versions::Report>("versions", "stateward versions --format json"),
    generated::<super::show::ShowReport>("show", "stateward show --format json"),
    generated::<super::diff::DiffReport>("diff", "stateward diff --format json"),
    generated::<super::lock::StatusReport<'static>>(
        "lock-status",
        "stateward lock status --format json",
    ),
    generated::<super::lock::Acquired>("lock-acquire", "stateward lock acquire --format json"),
    generated::<super::lock::Released>("lock-release", "stateward lock release --format json"),
    generated::<super::lock::DigestReport>(
        "digest-status",
        "stateward digest status --format json",
    ),
    generated::<super::lock::Repair>("digest-repair", "stateward digest repair --format json"),
    generated::<super::restore::Report>("restore", "stateward restore --format json"),
    generated::<crate::snapshot::Created>(
        "snapshot-create",
        "stateward snapshot create --format json",
    ),
    generated::<super::snapshot::ListReport>(
        "snapshot-list",
        "stateward snapshot list --format json",
    ),
    generated::<super::snapshot::VerifyReport>(
        "snapshot-verify",
        "stateward snapshot verify --format json",
    ),
    generated::<super::snapshot::PruneReport>(
        "snapshot-prune",
        "stateward snapshot prune --format json",
    ),
    generated::<DrillOutput>("drill", "stateward drill --format json").described(
        "With --scenario: one drill. Without: every scenario in turn, wrapped as {\"passed\",\"drills\"}.",
    ),
    generated::<super::s3::UndeleteReport>("undelete", "stateward s3 undelete --format json"),
    generated::<super::drift::DriftReport>("drift", "stateward drift --format json"),
    generated::<super::doctor::Report>("doctor", "stateward doctor --format json"),
    generated::<super::rebuild::Report>("rebuild-plan", "stateward rebuild plan --format json"),
    generated::<crate::rebuild::session::RunReport>("rebuild-run", "stateward rebuild run --format json")
        .described(
            "Without --execute: the plan and what would run (status dry-run), or with --resume the journal's waves (status would-resume). With --execute: every wave of the journal and what happened (status completed); a failed run prints the error document instead (schemas/error.schema.json) and its details stay in the journal, which has the same wave shape.",
        ),
    generated::<super::ErrorReport<'static>>(
        "error",
        "Any stateward command's JSON output when it fails",
    )
    .described("Printed on stdout with --format json when a command fails; the message is also on stderr."),
    // The fleet reports are assembled from per-state documents of each
    // command; their schemas are hand-written for now.
    SchemaEntry {
        name: "states",
        title: "stateward states --format json",
        description: None,
        source: SchemaSource::HandWritten(include_str!("../../schemas/states.schema.json")),
    },
    SchemaEntry {
        name: "report-merge",
        title: "stateward report merge --format json (and every --all-states / --states-from run)",
        description: None,
        source: SchemaSource::HandWritten(include_str!("../../schemas/report-merge.schema.json")),
    },
    SchemaEntry {
        name: "environment",
        title: "stateward environment file",
        description: None,
        source: SchemaSource::HandWritten(include_str!("../../schemas/environment.schema.json")),
    },
];

/// `stateward schema`: the names of the schemas, one schema on stdout, or
/// the files written into `--write DIR`.
pub fn schema<W: Write>(args: SchemaArgs, printer: &mut Printer<W>) -> Result<u8> {
    let chosen: Vec<&SchemaEntry> = match &args.name {
        None => SCHEMAS.iter().collect(),
        Some(name) => match SCHEMAS.iter().find(|s| s.name == name.as_str()) {
            Some(entry) => vec![entry],
            None => {
                return Err(Error::Usage(format!(
                    "there is no schema named `{name}`; `stateward schema` lists them"
                )))
            }
        },
    };
    match (&args.write, &args.name) {
        (Some(dir), _) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::WriteFile {
                path: dir.clone(),
                source,
            })?;
            for entry in &chosen {
                let path = dir.join(schema::file_name(entry.name));
                std::fs::write(&path, entry.text())
                    .map_err(|source| Error::WriteFile { path, source })?;
            }
            printer.stderr().line(format_args!(
                "wrote {} to {}",
                count(chosen.len(), "schema", "schemas"),
                dir.display()
            ));
        }
        (None, Some(_)) => {
            for entry in &chosen {
                printer.raw(entry.text().as_bytes()).map_err(out_err)?;
            }
        }
        (None, None) => printer.emit(&SchemaList::of(&chosen)).map_err(out_err)?,
    }
    Ok(exit::SUCCESS)
}

/// `stateward schema` without a name: what there is.
#[derive(serde::Serialize)]
struct SchemaList {
    schemas: Vec<ListedSchema>,
}

#[derive(serde::Serialize)]
struct ListedSchema {
    name: &'static str,
    title: &'static str,
    file: String,
    generated: bool,
}

impl SchemaList {
    fn of(entries: &[&SchemaEntry]) -> SchemaList {
        SchemaList {
            schemas: entries
                .iter()
                .map(|e| ListedSchema {
                    name: e.name,
                    title: e.title,
                    file: schema::file_name(e.name),
                    generated: e.generated(),
                })
                .collect(),
        }
    }
}

impl Render for SchemaList {
    fn render_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let width = self.schemas.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for s in &self.schemas {
            let note = if s.generated { "" } else { " (hand-written)" };
            writeln!(out, "{:width$}  {}{note}", s.name, s.title)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The committed `schemas/` are what the types generate.
    #[test]
    fn committed_schemas_match_the_output_types() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let mut stale = Vec::new();
        for entry in SCHEMAS {
            let path = dir.join(schema::file_name(entry.name));
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != entry.text() {
                stale.push(path.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "these schemas differ from the output types; run `cargo run -- schema --write schemas`:\n{}",
            stale.join("\n")
        );
    }

    #[test]
    fn every_schema_compiles_and_names_are_unique() {
        let mut names = std::collections::BTreeSet::new();
        for entry in SCHEMAS {
            assert!(names.insert(entry.name), "{} twice", entry.name);
            let s = entry.schema();
            assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
            assert_eq!(s["title"], entry.title, "{}", entry.name);
        }
    }
}
