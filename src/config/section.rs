//! The reading machinery of environment-file blocks: a [`Section`] is a
//! block of attributes, a [`Field`] one attribute with typed accessors whose
//! errors point at the value.

use std::ops::Range;

use hcl_edit::structure::{Block, Structure};
use hcl_edit::Span;

use crate::config::error::ValueType;
use crate::config::error::{ConfigError, ConfigErrorKind};
use crate::config::source::{SeenKeys, Source};

pub(super) fn wrong_form_block(
    src: &Source,
    key: &str,
    block: Option<&str>,
    span: Option<Range<usize>>,
) -> ConfigError {
    src.error(
        span,
        ConfigErrorKind::WrongForm {
            key: key.to_string(),
            block: block.map(str::to_string),
            expected: format!("a block: `{key} {{ ... }}` (no `=`)"),
        },
    )
}

pub(super) fn wrong_form_attribute(
    src: &Source,
    key: &str,
    block: Option<&str>,
    span: Option<Range<usize>>,
) -> ConfigError {
    src.error(
        span,
        ConfigErrorKind::WrongForm {
            key: key.to_string(),
            block: block.map(str::to_string),
            expected: format!("an attribute: `{key} = value`"),
        },
    )
}

/// A block of an environment file holding only attributes.
pub(crate) trait Section: Default {
    /// The block's name, e.g. `backend`.
    const NAME: &'static str;
    /// Every key the block accepts.
    const KEYS: &'static [&'static str];
    /// Keys that must be present.
    const REQUIRED: &'static [&'static str];
    /// Stores one attribute; `field.key()` is one of `KEYS`.
    fn set(&mut self, field: &Field<'_>) -> Result<(), ConfigError>;
}

/// Reads a label-less block of attributes into `S`, rejecting unknown keys,
/// nested blocks, duplicates and missing required keys.
pub(crate) fn read_section<S: Section>(src: &Source, block: &Block) -> Result<S, ConfigError> {
    if let Some(label) = block.labels.first() {
        return Err(src.error(
            label.span(),
            ConfigErrorKind::UnexpectedLabels {
                block: S::NAME.to_string(),
            },
        ));
    }
    read_attributes(src, block)
}

/// Reads the attributes of a block (its labels are the caller's business).
pub(super) fn read_attributes<S: Section>(src: &Source, block: &Block) -> Result<S, ConfigError> {
    let mut out = S::default();
    let mut seen = SeenKeys::default();
    let mut present: Vec<&str> = Vec::new();
    for structure in block.body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let key = attr.key.as_str();
                let span = attr.key.span();
                if !S::KEYS.contains(&key) {
                    return Err(unknown_in::<S>(src, key, span));
                }
                seen.check(src, key, span, Some(S::NAME))?;
                present.push(key);
                out.set(&Field::new(src, attr, Some(S::NAME))?)?;
            }
            Structure::Block(inner) => {
                let key = inner.ident.as_str();
                let span = inner.ident.span();
                if S::KEYS.contains(&key) {
                    return Err(wrong_form_attribute(src, key, Some(S::NAME), span));
                }
                return Err(unknown_in::<S>(src, key, span));
            }
        }
    }
    if let Some(missing) = S::REQUIRED.iter().find(|k| !present.contains(k)) {
        return Err(src.error(
            block.ident.span(),
            ConfigErrorKind::MissingKey {
                key: missing.to_string(),
                block: Some(S::NAME.to_string()),
            },
        ));
    }
    Ok(out)
}

pub(super) fn unknown_in<S: Section>(
    src: &Source,
    key: &str,
    span: Option<Range<usize>>,
) -> ConfigError {
    src.error(
        span,
        ConfigErrorKind::UnknownKey {
            key: key.to_string(),
            block: Some(S::NAME.to_string()),
            expected: S::KEYS.to_vec(),
        },
    )
}

/// One evaluated attribute with its position, with typed accessors whose
/// errors point at the value.
pub(crate) struct Field<'a> {
    pub(super) src: &'a Source,
    key: &'a str,
    block: Option<&'static str>,
    value: hcl::Value,
    pub(super) span: Option<Range<usize>>,
}

impl<'a> Field<'a> {
    pub(super) fn new(
        src: &'a Source,
        attr: &'a hcl_edit::structure::Attribute,
        block: Option<&'static str>,
    ) -> Result<Field<'a>, ConfigError> {
        let key = attr.key.as_str();
        let value = src.literal(&attr.value, key, block)?;
        Ok(Field {
            src,
            key,
            block,
            value,
            span: attr.value.span(),
        })
    }

    pub fn key(&self) -> &str {
        self.key
    }

    /// The value as evaluated (for readers with their own conversions).
    pub fn value(&self) -> &hcl::Value {
        &self.value
    }

    fn wrong_type(&self, expected: ValueType) -> ConfigError {
        self.src.error(
            self.span.clone(),
            ConfigErrorKind::WrongType {
                key: self.key.to_string(),
                block: self.block.map(str::to_string),
                expected,
                found: ValueType::of(&self.value),
            },
        )
    }

    /// An `InvalidValue` error at this field's value.
    pub fn invalid(&self, reason: impl Into<String>) -> ConfigError {
        self.src.error(
            self.span.clone(),
            ConfigErrorKind::InvalidValue {
                key: self.key.to_string(),
                block: self.block.map(str::to_string),
                reason: reason.into(),
            },
        )
    }

    pub fn string(&self) -> Result<String, ConfigError> {
        match &self.value {
            hcl::Value::String(s) => Ok(s.clone()),
            _ => Err(self.wrong_type(ValueType::String)),
        }
    }

    pub fn non_empty_string(&self) -> Result<String, ConfigError> {
        let s = self.string()?;
        if s.is_empty() {
            return Err(self.invalid("it must not be empty; remove the line to leave it unset"));
        }
        Ok(s)
    }

    pub fn url(&self) -> Result<String, ConfigError> {
        let s = self.non_empty_string()?;
        if !(s.starts_with("http://") || s.starts_with("https://")) {
            return Err(self.invalid(format!(
                "\"{s}\" is not a URL; write it with its scheme, e.g. \"http://127.0.0.1:5055\""
            )));
        }
        Ok(s)
    }

    /// A list of lists of strings (`[["kubectl", "apply"], ["velero", "restore"]]`).
    pub fn string_lists(&self) -> Result<Vec<Vec<String>>, ConfigError> {
        match &self.value {
            hcl::Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    hcl::Value::Array(inner) => inner
                        .iter()
                        .map(|v| match v {
                            hcl::Value::String(s) => Ok(s.clone()),
                            _ => Err(self.invalid("every element of every inner list must be a string")),
                        })
                        .collect(),
                    _ => Err(self.invalid(
                        "every element must be a list of strings (one command: program and arguments)",
                    )),
                })
                .collect(),
            _ => Err(self.wrong_type(ValueType::List)),
        }
    }

    /// A list of strings.
    pub fn string_list(&self) -> Result<Vec<String>, ConfigError> {
        match &self.value {
            hcl::Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    hcl::Value::String(s) => Ok(s.clone()),
                    _ => Err(self.invalid("every element must be a string")),
                })
                .collect(),
            _ => Err(self.wrong_type(ValueType::List)),
        }
    }

    /// An object of string values (`{ Key = "value" }`).
    pub fn string_map(&self) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
        match &self.value {
            hcl::Value::Object(m) => m
                .iter()
                .map(|(k, v)| match v {
                    hcl::Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(self.invalid(format!("the value of \"{k}\" must be a string"))),
                })
                .collect(),
            _ => Err(self.wrong_type(ValueType::Object)),
        }
    }

    pub fn bool(&self) -> Result<bool, ConfigError> {
        match &self.value {
            hcl::Value::Bool(b) => Ok(*b),
            _ => Err(self.wrong_type(ValueType::Bool)),
        }
    }

    /// A whole number from 0 to 2^32-1 (a count of snapshots, of days).
    pub fn count(&self) -> Result<u32, ConfigError> {
        match &self.value {
            hcl::Value::Number(n) => {
                n.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        self.invalid(format!("{n} is not a whole number from 0 to 4294967295"))
                    })
            }
            _ => Err(self.wrong_type(ValueType::Number)),
        }
    }

    /// Applies a validator returning `Err(reason)`.
    pub fn validated(
        &self,
        value: String,
        check: fn(&str) -> Result<(), String>,
    ) -> Result<String, ConfigError> {
        check(&value).map_err(|reason| self.invalid(reason))?;
        Ok(value)
    }
}
