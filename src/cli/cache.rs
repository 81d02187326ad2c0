//! `stateward cache info|clear`: the local cache of state versions.

use std::io::{self, Write};

use serde::Serialize;

use crate::cli::{out_err, Context};
use crate::error::{Error, Result};
use crate::exit;
use crate::output::{Printer, Render};
use crate::store::cache::CacheInfo;

use super::args::{CacheArgs, CacheCommand};

pub fn run<W: Write>(ctx: &Context, args: CacheArgs, printer: &mut Printer<W>) -> Result<u8> {
    let cache = ctx.cache()?;
    match args.command {
        CacheCommand::Info => {
            printer.emit(&Info(cache.info())).map_err(out_err)?;
        }
        CacheCommand::Clear => {
            let info = cache.info();
            let removed = cache.clear().map_err(|source| Error::WriteFile {
                path: info.dir.clone().unwrap_or_default(),
                source,
            })?;
            printer
                .emit(&Cleared {
                    dir: info.dir,
                    removed_versions: info.versions,
                    removed_bytes: info.bytes,
                    removed_files: removed,
                })
                .map_err(out_err)?;
        }
    }
    Ok(exit::SUCCESS)
}

#[derive(Serialize)]
#[serde(transparent)]
struct Info(CacheInfo);

impl Render for Info {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let i = &self.0;
        match &i.dir {
            None => writeln!(
                out,
                "The version cache is off (--no-cache or STATEWARD_CACHE_MAX=0)."
            ),
            Some(dir) => {
                writeln!(out, "directory: {}", dir.display())?;
                writeln!(
                    out,
                    "versions:  {} ({} with their body)",
                    i.versions, i.bodies
                )?;
                writeln!(
                    out,
                    "size:      {} of at most {}",
                    mib(i.bytes),
                    mib(i.max_bytes)
                )
            }
        }
    }
}

#[derive(Serialize)]
struct Cleared {
    dir: Option<std::path::PathBuf>,
    removed_versions: usize,
    removed_bytes: u64,
    #[serde(skip)]
    removed_files: usize,
}

impl Render for Cleared {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        match &self.dir {
            None => writeln!(out, "The version cache is off: nothing to clear."),
            Some(dir) => writeln!(
                out,
                "Removed {} cached versions ({}, {} files) from {}.",
                self.removed_versions,
                mib(self.removed_bytes),
                self.removed_files,
                dir.display()
            ),
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
