//! The one printer every command writes through, so every command has
//! `--format json` and text rendering is testable into a `Vec<u8>`.

use std::io::{self, Write};

use serde::Serialize;

/// Output format, chosen with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
    /// Markdown, for a pull-request comment or a CI job summary.
    Markdown,
}

/// A command's result: serialisable for JSON, renderable as text.
pub trait Render: Serialize {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()>;

    /// Markdown; by default the text rendering inside a code fence.
    fn render_markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "```")?;
        self.render_text(out)?;
        writeln!(out, "```")
    }
}

/// Writes reports in the chosen format.
pub struct Printer<W: Write> {
    format: Format,
    out: W,
}

impl<W: Write> Printer<W> {
    pub fn new(format: Format, out: W) -> Self {
        Printer { format, out }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Prints a report.
    pub fn emit<R: Render + ?Sized>(&mut self, report: &R) -> io::Result<()> {
        match self.format {
            Format::Text => report.render_text(&mut self.out)?,
            Format::Markdown => report.render_markdown(&mut self.out)?,
            Format::Json => {
                serde_json::to_writer_pretty(&mut self.out, report).map_err(io::Error::other)?;
                self.out.write_all(b"\n")?;
            }
        }
        self.out.flush()
    }

    /// Writes bytes as they are (`pull` to stdout).
    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Renders a simple left-aligned table (header + rows) for text output.
pub fn table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |out: &mut dyn Write, cells: Vec<&str>| -> io::Result<()> {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i < last {
                let pad = widths[i] - c.chars().count() + 2;
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", s.trim_end())
    };
    line(out, header.to_vec())?;
    for row in rows {
        line(out, row.iter().map(String::as_str).collect())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Demo {
        n: u32,
    }
    impl Render for Demo {
        fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
            writeln!(out, "n is {}", self.n)
        }
    }

    #[test]
    fn prints_text_and_json() {
        let mut p = Printer::new(Format::Text, Vec::new());
        p.emit(&Demo { n: 3 }).unwrap();
        assert_eq!(String::from_utf8(p.into_inner()).unwrap(), "n is 3\n");
        let mut p = Printer::new(Format::Json, Vec::new());
        p.emit(&Demo { n: 3 }).unwrap();
        assert_eq!(
            String::from_utf8(p.into_inner()).unwrap(),
            "{\n  \"n\": 3\n}\n"
        );
    }

    #[test]
    fn markdown_falls_back_to_fenced_text() {
        let mut p = Printer::new(Format::Markdown, Vec::new());
        p.emit(&Demo { n: 3 }).unwrap();
        assert_eq!(
            String::from_utf8(p.into_inner()).unwrap(),
            "```\nn is 3\n```\n"
        );
    }

    #[test]
    fn aligns_tables() {
        let mut out = Vec::new();
        table(
            &mut out,
            &["A", "LONG"],
            &[vec!["xyz".into(), "1".into()], vec!["q".into(), "".into()]],
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "A    LONG\nxyz  1\nq\n");
    }
}
