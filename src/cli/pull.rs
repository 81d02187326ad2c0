//! `stateward pull`: the exact bytes of one version.

use std::io::Write;

use crate::cli::{out_err, resolve_refs, Context};
use crate::error::{Error, Result};
use crate::exit;
use crate::output::Printer;

use super::args::PullArgs;

pub async fn run<W: Write>(ctx: &Context, args: PullArgs, printer: &mut Printer<W>) -> Result<u8> {
    // One reference in, one out.
    let Some(resolved) = resolve_refs(ctx, &[&args.reference]).await?.pop() else {
        return Err(Error::BadRef(format!(
            "{:?} resolved to nothing",
            args.reference
        )));
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &resolved.bytes).map_err(|source| Error::WriteFile {
                path: path.clone(),
                source,
            })?;
            printer.stderr().line(format_args!(
                "wrote {} ({} bytes) to {}",
                resolved.label,
                resolved.bytes.len(),
                path.display()
            ));
        }
        None => printer.raw(&resolved.bytes).map_err(out_err)?,
    }
    Ok(exit::SUCCESS)
}
