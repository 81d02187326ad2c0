//! Colour: the one place that says what each kind of output looks like and
//! whether a stream gets colour at all.
//!
//! Renderers always write styled text (ANSI escapes, from [`anstyle`]); the
//! [`Printer`](super::Printer) strips the escapes when colour is off
//! ([`strip`]). Colour is on only when [`ColorChoice::enabled`] says so:
//! `--color always`, or `--color auto` (the default) on a terminal without
//! `NO_COLOR` and with a `TERM` other than `dumb`; `CLICOLOR_FORCE` forces it
//! as other tools do. JSON never carries escapes (serde writes no styles) and
//! markdown is always stripped.

use std::fmt::{self, Display};

use anstyle::{AnsiColor, Style};

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

/// What the environment says about colour (read once, at the edge).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColorEnv {
    /// `NO_COLOR` set to a non-empty value (<https://no-color.org>).
    pub no_color: bool,
    /// `CLICOLOR_FORCE` set to a value other than `0`.
    pub force: bool,
    /// `TERM=dumb`.
    pub dumb_term: bool,
}

impl ColorEnv {
    /// Reads the variables through `var` (the process environment in `main`).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Self {
        ColorEnv {
            no_color: var(crate::envvars::NO_COLOR).is_some_and(|v| !v.is_empty()),
            force: var(crate::envvars::CLICOLOR_FORCE).is_some_and(|v| !v.is_empty() && v != "0"),
            dumb_term: var(crate::envvars::TERM).as_deref() == Some("dumb"),
        }
    }
}

impl ColorChoice {
    /// Whether a stream gets colour. Pure: the caller says whether the stream
    /// is a terminal and what the environment holds.
    pub fn enabled(self, is_terminal: bool, env: &ColorEnv) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if env.no_color => false,
            ColorChoice::Auto if env.force => true,
            ColorChoice::Auto => is_terminal && !env.dumb_term,
        }
    }
}

/// Something added (diff `+`), a check that passed, a healthy version.
pub const GOOD: Style = AnsiColor::Green.on_default();
/// Something removed (diff `-`), a failure, a missing resource.
pub const BAD: Style = AnsiColor::Red.on_default().bold();
/// Something changed (diff `~`), a warning.
pub const WARN: Style = AnsiColor::Yellow.on_default();
/// Context: hunk headers, things not checked, unmanaged objects.
pub const NOTE: Style = AnsiColor::Cyan.on_default();
/// Less important text (skipped, dry run).
pub const DIM: Style = Style::new().dimmed();
/// Headings and file names.
pub const BOLD: Style = Style::new().bold();

/// `text` in `style` (the escapes are stripped later when colour is off).
pub fn paint<T: Display>(style: Style, text: T) -> Painted<T> {
    Painted { style, text }
}

/// A value displayed in a style; see [`paint`].
pub struct Painted<T> {
    style: Style,
    text: T,
}

impl<T: Display> Display for Painted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.style.render(),
            self.text,
            self.style.render_reset()
        )
    }
}

/// The style of a status word (health, check results, drift kinds).
pub fn status_style(status: &str) -> Style {
    match status {
        "ok" | "pass" | "in sync" | "healthy" | "match" | "free" => GOOD,
        "warn" | "changed" | "suspicious-shrink" | "encrypted" | "locked" | "held" => WARN,
        "fail" | "corrupt" | "missing" | "deleted" | "error" | "broken" | "unreadable"
        | "foreign-lineage" | "serial-regress" => BAD,
        "unmanaged" | "not checked" | "skipped" => NOTE,
        _ => Style::new(),
    }
}

/// Colours the lines of a diff by their marker: `+` added, `-` removed, `~`
/// changed (after any indentation), and a unified diff's `+`/`-`/`@@` lines.
/// Other lines are left as they are.
pub fn paint_diff(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let t = body.trim_start();
        let style = if t.starts_with("+ ") || (body.starts_with('+') && !body.starts_with("+++")) {
            Some(GOOD)
        } else if t.starts_with("- ") || (body.starts_with('-') && !body.starts_with("---")) {
            Some(AnsiColor::Red.on_default())
        } else if t.starts_with("~ ") {
            Some(WARN)
        } else if body.starts_with("@@") {
            Some(NOTE)
        } else if body.starts_with("+++") || body.starts_with("---") {
            Some(BOLD)
        } else {
            None
        };
        match style {
            Some(s) => {
                out.push_str(&paint(s, body).to_string());
                out.push_str(nl);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// `bytes` without ANSI escapes (colour off).
pub fn strip(bytes: &[u8]) -> Vec<u8> {
    anstream::adapter::strip_bytes(bytes).into_vec()
}

/// The width of `s` on screen: its characters, escapes not counted.
pub fn width(s: &str) -> usize {
    if s.contains('\x1b') {
        anstream::adapter::strip_str(s).to_string().chars().count()
    } else {
        s.chars().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_is_decided_by_flag_terminal_and_environment() {
        let plain = ColorEnv::default();
        let no_color = ColorEnv {
            no_color: true,
            ..ColorEnv::default()
        };
        let force = ColorEnv {
            force: true,
            ..ColorEnv::default()
        };
        let dumb = ColorEnv {
            dumb_term: true,
            ..ColorEnv::default()
        };
        // (choice, terminal, env, expected)
        let cases = [
            (ColorChoice::Auto, true, &plain, true),
            (ColorChoice::Auto, false, &plain, false),
            (ColorChoice::Auto, true, &no_color, false),
            (ColorChoice::Auto, false, &force, true),
            (ColorChoice::Auto, true, &dumb, false),
            (ColorChoice::Always, false, &no_color, true),
            (ColorChoice::Never, true, &force, false),
            (ColorChoice::Never, true, &plain, false),
        ];
        for (choice, tty, env, want) in cases {
            assert_eq!(
                choice.enabled(tty, env),
                want,
                "{choice:?} tty={tty} {env:?}"
            );
        }
    }

    #[test]
    fn environment_values_are_read_as_documented() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            ColorEnv::from_vars(&move |k| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        assert!(env(&[("NO_COLOR", "1")]).no_color);
        assert!(!env(&[("NO_COLOR", "")]).no_color);
        assert!(env(&[("CLICOLOR_FORCE", "1")]).force);
        assert!(!env(&[("CLICOLOR_FORCE", "0")]).force);
        assert!(env(&[("TERM", "dumb")]).dumb_term);
    }

    #[test]
    fn diff_lines_are_coloured_by_marker_and_strip_back() {
        let text = "serial 1 -> 2\n+ a.b\n- c.d\n~ e.f\n    x: 1 -> 2\noutputs:\n  + o\n";
        let painted = paint_diff(text);
        assert!(painted.contains("\x1b[32m+ a.b\x1b[0m\n"), "{painted:?}");
        assert!(painted.contains("\x1b[31m- c.d"), "{painted:?}");
        assert!(painted.contains("\x1b[33m~ e.f"), "{painted:?}");
        assert!(
            painted.contains("\n    x: 1 -> 2\n"),
            "attribute lines stay plain"
        );
        assert_eq!(String::from_utf8(strip(painted.as_bytes())).unwrap(), text);
    }

    #[test]
    fn width_ignores_escapes() {
        assert_eq!(width(&paint(BAD, "fail").to_string()), 4);
        assert_eq!(width("pass"), 4);
    }
}
