//! `stateward show`: summary and resource list of one version.

use std::io::{self, Write};

use crate::cli::{out_err, parse_resolved, resolve_refs, Context};
use crate::error::Result;
use crate::exit;
use crate::output::{table, Printer, Render};
use crate::state::Show;

use super::args::ShowArgs;

pub async fn run<W: Write>(ctx: &Context, args: ShowArgs, printer: &mut Printer<W>) -> Result<u8> {
    let resolved = resolve_refs(ctx, &[&args.reference]).await?;
    let state = parse_resolved(&resolved[0])?;
    printer
        .emit(&ShowReport {
            label: resolved[0].label.clone(),
            show: state.show(),
        })
        .map_err(out_err)?;
    Ok(exit::SUCCESS)
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct ShowReport {
    #[serde(skip)]
    label: String,
    #[serde(flatten)]
    show: Show,
}

impl Render for ShowReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let s = &self.show;
        let instances: usize = s.resources.iter().map(|r| r.instances).sum();
        writeln!(out, "{}", self.label)?;
        writeln!(out, "  serial:            {}", s.serial)?;
        writeln!(out, "  lineage:           {}", s.lineage)?;
        writeln!(out, "  terraform version: {}", s.terraform_version)?;
        writeln!(
            out,
            "  resources:         {} ({} instances)",
            s.resources.len(),
            instances
        )?;
        writeln!(out, "  outputs:           {}", s.outputs.len())?;
        if !s.resources.is_empty() {
            writeln!(out)?;
            let rows: Vec<Vec<String>> = s
                .resources
                .iter()
                .map(|r| {
                    vec![
                        r.address.clone(),
                        r.instances.to_string(),
                        r.provider.clone(),
                    ]
                })
                .collect();
            table(out, &["RESOURCE", "INSTANCES", "PROVIDER"], &rows)?;
        }
        if !s.outputs.is_empty() {
            writeln!(out)?;
            writeln!(out, "outputs: {}", s.outputs.join(", "))?;
        }
        Ok(())
    }
}
