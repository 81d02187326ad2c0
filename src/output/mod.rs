//! The one printer every command writes through, so every command has
//! `--format json` and text rendering is testable into a `Vec<u8>`. Human
//! messages and progress on stderr go through its [`Stderr`] handle. The
//! print macros are denied everywhere else (`[lints.clippy]` in Cargo.toml).
//! Colour is decided in [`style`], progress configured in [`progress`].

pub mod progress;
pub mod schema;
pub mod style;

pub use progress::Progress;
pub use style::{paint, ColorChoice};

use std::fmt::Display;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

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

/// Writes reports in the chosen format (stdout), and messages to stderr.
pub struct Printer<W: Write> {
    format: Format,
    out: W,
    err: Stderr,
    color: bool,
}

impl<W: Write> Printer<W> {
    /// A printer without colour (see [`Printer::with_color`]).
    pub fn new(format: Format, out: W) -> Self {
        Printer {
            format,
            out,
            err: Stderr::default(),
            color: false,
        }
    }

    /// Keeps the renderers' colours in text output (see [`style`]).
    pub fn with_color(mut self, color: bool) -> Self {
        self.color = color;
        self
    }

    /// Whether text output is coloured.
    pub fn color(&self) -> bool {
        self.color
    }

    /// Messages into `err` instead of the process's stderr (tests).
    pub fn with_stderr(mut self, err: Stderr) -> Self {
        self.err = err;
        self
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The handle for human messages and progress on stderr.
    pub fn stderr(&self) -> Stderr {
        self.err.clone()
    }

    /// One line of text on stdout (progress that belongs with the report).
    pub fn line(&mut self, text: impl Display) -> io::Result<()> {
        let text = format!("{text}\n");
        self.styled(text.as_bytes(), self.color)
    }

    /// Prints a report. Text keeps its colours only when colour is on;
    /// markdown never has any.
    pub fn emit<R: Render + ?Sized>(&mut self, report: &R) -> io::Result<()> {
        match self.format {
            Format::Text => {
                let mut buf = Vec::new();
                report.render_text(&mut buf)?;
                self.styled(&buf, self.color)
            }
            Format::Markdown => {
                let mut buf = Vec::new();
                report.render_markdown(&mut buf)?;
                self.styled(&buf, false)
            }
            Format::Json => {
                // `From<serde_json::Error>` keeps an I/O error's kind (a
                // closed pipe stays `BrokenPipe`).
                serde_json::to_writer_pretty(&mut self.out, report).map_err(io::Error::from)?;
                self.out.write_all(b"\n")?;
                self.out.flush()
            }
        }
    }

    /// Writes rendered text, without its escapes unless `color`.
    fn styled(&mut self, bytes: &[u8], color: bool) -> io::Result<()> {
        if color {
            self.out.write_all(bytes)?;
        } else {
            self.out.write_all(&style::strip(bytes))?;
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

/// Human messages and progress on stderr. Every command writes them through
/// this one handle (from [`Printer::stderr`]), so nothing else prints and
/// tests can capture them. Write errors are ignored: a closed stderr must
/// neither stop nor panic a command.
#[derive(Clone)]
pub struct Stderr {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    /// Keep the colour of messages (`error:` in red); off unless said.
    color: bool,
}

impl Default for Stderr {
    fn default() -> Self {
        Stderr::to(io::stderr())
    }
}

impl std::fmt::Debug for Stderr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stderr")
    }
}

impl Stderr {
    /// Messages into `out` instead of the process's stderr (tests).
    pub fn to(out: impl Write + Send + 'static) -> Self {
        Stderr {
            out: Arc::new(Mutex::new(Box::new(out))),
            color: false,
        }
    }

    /// Keeps the colour of messages (see [`style`]); without it their
    /// escapes are stripped.
    pub fn with_color(mut self, color: bool) -> Self {
        self.color = color;
        self
    }

    /// One line.
    pub fn line(&self, text: impl Display) {
        self.write(format_args!("{text}\n"));
    }

    /// Text without a newline (a prompt, or a `\r` progress counter).
    pub fn part(&self, text: impl Display) {
        self.write(format_args!("{text}"));
    }

    /// Bytes as they are (a child process's output).
    pub fn bytes(&self, bytes: &[u8]) {
        if let Ok(mut out) = self.out.lock() {
            progress::suspend(|| {
                let _ = out.write_all(bytes);
                let _ = out.flush();
            });
        }
    }

    fn write(&self, args: std::fmt::Arguments<'_>) {
        let text = args.to_string();
        let bytes = if self.color {
            text.into_bytes()
        } else {
            style::strip(text.as_bytes())
        };
        if let Ok(mut out) = self.out.lock() {
            progress::suspend(|| {
                let _ = out.write_all(&bytes);
                let _ = out.flush();
            });
        }
    }
}

/// `1 version`, `2 versions`: a count with its noun in the right number.
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Renders a simple left-aligned table (header + rows) for text output.
/// Cells may carry colour ([`paint`]); widths count only what is shown.
pub fn table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| style::width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(style::width(cell));
            }
        }
    }
    writeln!(out, "{}", table_line(&widths, header))?;
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        writeln!(out, "{}", table_line(&widths, &cells))?;
    }
    Ok(())
}

/// One line of a [`table`] whose column widths are given (a table printed
/// row by row): each cell but the last padded to its width plus two spaces;
/// a cell wider than its column pushes the rest right. Pure.
pub fn table_line(widths: &[usize], cells: &[&str]) -> String {
    let last = cells.len().saturating_sub(1);
    let mut s = String::new();
    for (i, c) in cells.iter().enumerate() {
        s.push_str(c);
        if i < last {
            let w = widths.get(i).copied().unwrap_or(0);
            let pad = w.saturating_sub(style::width(c)) + 2;
            s.extend(std::iter::repeat_n(' ', pad));
        }
    }
    s.trim_end().to_owned()
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
    fn messages_go_to_the_stderr_handle() {
        #[derive(Clone, Default)]
        struct Shared(Arc<Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let captured = Shared::default();
        let mut p =
            Printer::new(Format::Text, Vec::new()).with_stderr(Stderr::to(captured.clone()));
        p.stderr().part("a ");
        p.stderr().line(format_args!("b{}", 1));
        p.line("out").unwrap();
        assert_eq!(captured.0.lock().unwrap().as_slice(), b"a b1\n");
        assert_eq!(p.into_inner(), b"out\n");
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
