//! Shared plumbing for reading HCL files: byte offsets -> line/column,
//! syntax errors with positions, literal evaluation and duplicate detection.
//!
//! Parsing is done by `hcl-edit` (which keeps source spans); values are
//! evaluated by `hcl-rs` with an empty context, so anything that is not a
//! literal (variables, function calls, references) fails, as it does in a
//! Terraform backend block.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use hcl::eval::{Context, Evaluate};
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::Body;
use hcl_edit::Span;

use crate::config::error::{ConfigError, ConfigErrorKind};

/// One HCL file held in memory with its line index.
pub(crate) struct Source {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl Source {
    pub fn read(path: &Path, what: &str) -> Result<Source, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            ConfigError::in_file(
                path,
                ConfigErrorKind::Io {
                    what: what.to_string(),
                    source,
                },
            )
        })?;
        Ok(Source::new(path.to_path_buf(), text))
    }

    pub fn new(path: PathBuf, text: String) -> Source {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            path,
            text,
            line_starts,
        }
    }

    /// 1-based (line, column) of a byte offset; the column counts characters.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line_idx];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line_idx + 1, col)
    }

    /// `file:line` label for messages that mention another position.
    pub fn label(&self, span: Option<Range<usize>>) -> String {
        match span {
            Some(r) => format!("{}:{}", self.path.display(), self.line_col(r.start).0),
            None => self.path.display().to_string(),
        }
    }

    /// An error located at the start of `span` (or at the file when unknown).
    pub fn error(&self, span: Option<Range<usize>>, kind: ConfigErrorKind) -> ConfigError {
        match span {
            Some(r) => {
                let (line, col) = self.line_col(r.start);
                ConfigError::at(&self.path, line, col, kind)
            }
            None => ConfigError::in_file(&self.path, kind),
        }
    }

    /// Parses the whole file as an HCL body; syntax errors carry line/column.
    pub fn parse(&self) -> Result<Body, ConfigError> {
        hcl_edit::parser::parse_body(&self.text).map_err(|e| {
            let loc = e.location();
            let kind = self
                .redefined_attribute(e.message(), e.line(), loc.line())
                .unwrap_or_else(|| ConfigErrorKind::Syntax {
                    message: e.message().to_string(),
                });
            ConfigError::at(&self.path, loc.line(), loc.column(), kind)
        })
    }

    /// hcl-edit reports a repeated top-level attribute as a syntax error;
    /// turn it into a `DuplicateKey` naming the key and its first line.
    fn redefined_attribute(
        &self,
        message: &str,
        line_text: &str,
        line: usize,
    ) -> Option<ConfigErrorKind> {
        if !message.contains("redefined attribute") {
            return None;
        }
        let key = line_text
            .trim_start()
            .split(|c: char| c == '=' || c.is_whitespace())
            .next()
            .filter(|k| !k.is_empty())?;
        let first_line = self
            .text
            .lines()
            .take(line.saturating_sub(1))
            .position(|l| {
                l.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })?
            + 1;
        Some(ConfigErrorKind::DuplicateKey {
            key: key.to_string(),
            block: self.enclosing_block(line),
            first_line,
        })
    }

    /// Best-effort name of the block enclosing `line` (for messages only):
    /// follows `name "label" {` / `}` lines, ignoring one-line blocks.
    fn enclosing_block(&self, line: usize) -> Option<String> {
        let mut stack: Vec<Option<String>> = Vec::new();
        for text in self.text.lines().take(line.saturating_sub(1)) {
            let t = text.split('#').next().unwrap_or("").trim();
            if t.starts_with('}') {
                stack.pop();
            } else if let Some(head) = t.strip_suffix('{') {
                let head = head.trim();
                stack.push((!head.contains('=')).then(|| head.to_string()));
            }
        }
        stack.pop().flatten()
    }

    /// Evaluates a literal expression; anything referring to variables,
    /// functions or other objects is a `NonLiteral` error at the expression.
    /// (hcl-edit keeps only the last of duplicate keys in an object
    /// constructor, so those cannot be reported.)
    pub fn literal(
        &self,
        expr: &Expression,
        key: &str,
        block: Option<&str>,
    ) -> Result<hcl::Value, ConfigError> {
        let converted: hcl::Expression = expr.clone().into();
        converted.evaluate(&Context::new()).map_err(|e| {
            let detail = match e.kind() {
                hcl::eval::ErrorKind::UndefinedVar(v) => format!("it refers to `{v}`"),
                hcl::eval::ErrorKind::UndefinedFunc(f) => format!("it calls function `{f}()`"),
                other => other.to_string(),
            };
            self.error(
                expr.span(),
                ConfigErrorKind::NonLiteral {
                    key: key.to_string(),
                    block: block.map(str::to_string),
                    detail,
                },
            )
        })
    }
}

/// The name and span of a literal object key (`name = ...` or `"name" = ...`).
pub(crate) fn object_key(key: &ObjectKey) -> Option<(String, Option<Range<usize>>)> {
    match key {
        ObjectKey::Ident(ident) => Some((ident.as_str().to_string(), ident.span())),
        ObjectKey::Expression(Expression::String(s)) => Some((s.as_str().to_string(), s.span())),
        ObjectKey::Expression(_) => None,
    }
}

/// Tracks keys already seen in one body so duplicates are reported with the
/// line of the first occurrence.
#[derive(Default)]
pub(crate) struct SeenKeys {
    first_line: HashMap<String, usize>,
}

impl SeenKeys {
    pub fn check(
        &mut self,
        src: &Source,
        key: &str,
        span: Option<Range<usize>>,
        block: Option<&str>,
    ) -> Result<(), ConfigError> {
        let line = span.as_ref().map_or(0, |r| src.line_col(r.start).0);
        if let Some(first_line) = self.first_line.get(key) {
            return Err(src.error(
                span,
                ConfigErrorKind::DuplicateKey {
                    key: key.to_string(),
                    block: block.map(str::to_string),
                    first_line: *first_line,
                },
            ));
        }
        self.first_line.insert(key.to_string(), line);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_and_in_chars() {
        let src = Source::new("f.hcl".into(), "a = 1\n\u{e9}b = 2\n".into());
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(4), (1, 5));
        assert_eq!(src.line_col(6), (2, 1));
        // 'b' comes after a two-byte character: column 2.
        assert_eq!(src.line_col(8), (2, 2));
    }

    #[test]
    fn literal_rejects_references_and_functions() {
        let src = Source::new(
            "f.hcl".into(),
            "a = var.x\nb = lower(\"X\")\nc = \"x-${y}\"\nd = <<EOT\nhello\nEOT\n".into(),
        );
        let body = src.parse().unwrap();
        let attrs: Vec<_> = body.attributes().collect();
        for (attr, line) in attrs.iter().take(3).zip(1..) {
            let err = src
                .literal(&attr.value, attr.key.as_str(), None)
                .unwrap_err();
            assert!(
                matches!(*err.kind, ConfigErrorKind::NonLiteral { .. }),
                "{err}"
            );
            assert_eq!(err.line, Some(line), "{err}");
        }
        let heredoc = src.literal(&attrs[3].value, "d", None).unwrap();
        assert_eq!(heredoc, hcl::Value::String("hello\n".into()));
    }
}
