//! `stateward completions SHELL` and `stateward man [--dir DIR]`: generated
//! from the same clap definition as the parser, so they never drift from it.

use std::io::Write;

use clap::CommandFactory as _;

use crate::cli::{out_err, Cli};
use crate::error::{Error, Result};
use crate::exit;
use crate::output::Printer;

use super::args::{CompletionsArgs, ManArgs};

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
