//! `stateward pull`: the exact bytes of one version.

use std::io::Write;

use crate::cli::{out_err, resolve_refs, Context};
use crate::error::{Error, Result};
use crate::exit;
use crate::output::{Format, Printer};

use super::args::PullArgs;

pub async fn run<W: Write>(ctx: &Context, args: PullArgs, printer: &mut Printer<W>) -> Result<u8> {
    // The bytes are the output: a JSON envelope around them would not be the
    // state any more, and ignoring the flag would surprise a script.
    if printer.format() == Format::Json {
        return Err(Error::Usage(
            "pull writes the state's exact bytes (already JSON) and takes no --format json; drop the flag".into(),
        ));
    }
    // One reference in, one out.
    let Some(resolved) = resolve_refs(ctx, &[&args.reference]).await?.pop() else {
        return Err(Error::BadRef(crate::error::BadRef::Nothing {
            reference: args.reference.clone(),
        }));
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
