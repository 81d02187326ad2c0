//! `stateward diff A B`: resource, attribute and output changes.

use std::io::{self, Write};

use serde::Serialize;

use crate::cli::{out_err, resolve_refs, Context};
use crate::diff::{diff, render_text, unified_text_diff, DiffOptions, Side, StateDiff};
use crate::error::{Error, Result};
use crate::exit;
use crate::output::style::{paint_diff, BOLD};
use crate::output::{paint, Printer, Render};
use crate::state::parse_pair;

use super::args::DiffArgs;

pub async fn run<W: Write>(ctx: &Context, args: DiffArgs, printer: &mut Printer<W>) -> Result<u8> {
    let resolved = resolve_refs(ctx, &[&args.from, &args.to]).await?;
    let (a, b) = (&resolved[0], &resolved[1]);
    let opts = DiffOptions {
        show_sensitive: args.show_sensitive,
    };
    let (sa, sb) = parse_pair(&a.bytes, &b.bytes);
    let unreadable = |label: &str, e: crate::state::ParseError| Error::Unreadable {
        what: label.to_owned(),
        problem: e.to_string(),
    };
    // An OpenTofu encrypted state is compared on its bytes only.
    let encrypted = |r: &std::result::Result<_, crate::state::ParseError>| {
        matches!(r, Err(crate::state::ParseError::Encrypted { .. }))
    };
    if encrypted(&sa) || encrypted(&sb) {
        if a.bytes == b.bytes {
            let side = |r: &std::result::Result<
                crate::state::State<'_>,
                crate::state::ParseError,
            >| match r {
                Ok(s) => Side {
                    serial: s.serial,
                    lineage: s.lineage.to_string(),
                },
                Err(crate::state::ParseError::Encrypted { serial, lineage }) => Side {
                    serial: serial.unwrap_or(0),
                    lineage: lineage.clone().unwrap_or_default(),
                },
                Err(_) => Side {
                    serial: 0,
                    lineage: String::new(),
                },
            };
            let report = DiffReport {
                from_label: a.label.clone(),
                to_label: b.label.clone(),
                diff: StateDiff::identical(side(&sa), side(&sb)),
                text: None,
            };
            printer.emit(&report).map_err(out_err)?;
            return Ok(exit::SUCCESS);
        }
        let which = if encrypted(&sa) { &a.label } else { &b.label };
        return Err(Error::Unreadable {
            what: which.clone(),
            problem: "it is an encrypted OpenTofu state, whose contents stateward cannot compare; the two versions' bytes differ (compare them with `tofu show` after decryption)".into(),
        });
    }
    let sa = sa.map_err(|e| unreadable(&a.label, e))?;
    let sb = sb.map_err(|e| unreadable(&b.label, e))?;
    let d = diff(&sa, &sb, &opts);
    let text = if args.text {
        Some(
            unified_text_diff(&a.bytes, &b.bytes, &a.label, &b.label, &opts)
                .map_err(|e| unreadable(&a.label, e))?,
        )
    } else {
        None
    };
    let code = if d.is_empty() {
        exit::SUCCESS
    } else {
        exit::DIFFERENCES
    };
    let report = DiffReport {
        from_label: a.label.clone(),
        to_label: b.label.clone(),
        diff: d,
        text,
    };
    printer.emit(&report).map_err(out_err)?;
    Ok(code)
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct DiffReport {
    #[serde(skip)]
    from_label: String,
    #[serde(skip)]
    to_label: String,
    #[serde(flatten)]
    diff: StateDiff,
    /// The unified text diff, with `--text` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    text: Option<String>,
}

impl Render for DiffReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{}",
            paint(BOLD, format_args!("--- {}", self.from_label))
        )?;
        writeln!(
            out,
            "{}",
            paint(BOLD, format_args!("+++ {}", self.to_label))
        )?;
        let mut buf = Vec::new();
        render_text(&self.diff, &mut buf)?;
        // `+` added, `-` removed, `~` changed (plain when colour is off).
        out.write_all(paint_diff(&String::from_utf8_lossy(&buf)).as_bytes())?;
        if let Some(text) = &self.text {
            writeln!(out)?;
            out.write_all(paint_diff(text).as_bytes())?;
        }
        Ok(())
    }
}
