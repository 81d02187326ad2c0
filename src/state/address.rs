//! Rendering of Terraform resource and resource-instance addresses.
//!
//! Addresses are rendered the way Terraform itself prints them (`terraform
//! state list`, plan output):
//!
//! * managed resources: `TYPE.NAME`, data sources: `data.TYPE.NAME`;
//! * a module prefix (as stored in the state's `module` field, e.g.
//!   `module.a.module.b["x"]`) is put in front, joined by `.`;
//! * integer keys render as `[0]`, string keys as `["key"]` quoted with
//!   Terraform's `toHCLQuotedString` (see [`quote_key`]).
//!
//! Note: Terraform does **not** use Go's `%q` for instance keys; it uses an
//! HCL-compatible quoting (`\n`, `\r`, `\t`, `\"`, `\\`, template introducers
//! `${`/`%{` doubled to `$${`/`%%{`, every other non-printable rune as
//! `\uXXXX`/`\UXXXXXXXX`, everything else — including non-ASCII — verbatim).
//! This module follows Terraform.

use std::fmt::{self, Write as _};

/// The mode of a resource: managed (`resource` block) or data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// `"mode": "managed"`.
    Managed,
    /// `"mode": "data"`.
    Data,
}

impl Mode {
    /// The wire spelling (`managed` / `data`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Managed => "managed",
            Mode::Data => "data",
        }
    }
}

/// The key of one instance of a resource using `count` or `for_each`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceKey {
    /// A `count` index.
    Int(i64),
    /// A `for_each` key.
    Str(String),
}

impl fmt::Display for InstanceKey {
    /// Renders the key with its brackets: `[0]`, `["blue"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => {
                f.write_char('[')?;
                f.write_str(&quote_key(s))?;
                f.write_char(']')
            }
        }
    }
}

/// Renders the address of a resource (not of one of its instances):
/// `module.a.aws_instance.web`, `data.aws_ami.ubuntu`.
///
/// `module` is the state's `module` field verbatim (`None` or empty at root).
pub fn resource_address(module: Option<&str>, mode: Mode, type_: &str, name: &str) -> String {
    let mut out =
        String::with_capacity(module.map_or(0, |m| m.len() + 1) + type_.len() + name.len() + 6);
    if let Some(m) = module.filter(|m| !m.is_empty()) {
        out.push_str(m);
        out.push('.');
    }
    if mode == Mode::Data {
        out.push_str("data.");
    }
    out.push_str(type_);
    out.push('.');
    out.push_str(name);
    out
}

/// Renders the address of a resource instance: the resource address followed
/// by the rendered key, if any (`aws_instance.web[0]`,
/// `module.a.aws_eks_node_group.this["blue"]`).
pub fn instance_address(resource_address: &str, key: Option<&InstanceKey>) -> String {
    match key {
        None => resource_address.to_owned(),
        Some(k) => {
            let mut s = String::with_capacity(resource_address.len() + 8);
            s.push_str(resource_address);
            // Writing to a String cannot fail.
            let _ = write!(s, "{k}");
            s
        }
    }
}

/// Renders how a deposed object is reported: the instance address followed by
/// ` (deposed object KEY)`, e.g. `aws_instance.a (deposed object 00000001)`.
pub fn deposed_address(instance_address: &str, deposed_key: &str) -> String {
    format!("{instance_address} (deposed object {deposed_key})")
}

/// Quotes a string key exactly like Terraform's `toHCLQuotedString`
/// (`addrs/instance_key.go`), including the surrounding double quotes.
///
/// Go's `unicode.IsPrint` is approximated: control characters, every
/// whitespace other than ASCII space, private-use characters and the common
/// format characters (soft hyphen, zero-width and bidi controls, BOM, tag
/// characters …) are escaped; unassigned code points are kept verbatim (Go
/// would escape them, but knowing them needs Unicode tables).
pub fn quote_key(s: &str) -> String {
    let mut buf = String::with_capacity(s.len() + 2);
    buf.push('"');
    for (i, c) in s.char_indices() {
        match c {
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '$' | '%' => {
                buf.push(c);
                if s.as_bytes().get(i + 1) == Some(&b'{') {
                    buf.push(c);
                }
            }
            c if !is_print(c) => {
                let cp = c as u32;
                if cp < 0x10000 {
                    let _ = write!(buf, "\\u{cp:04x}");
                } else {
                    let _ = write!(buf, "\\U{cp:08x}");
                }
            }
            c => buf.push(c),
        }
    }
    buf.push('"');
    buf
}

/// Approximation of Go's `unicode.IsPrint`.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let cp = c as u32;
    !matches!(cp,
        0x00AD
        | 0x0600..=0x0605
        | 0x061C
        | 0x06DD
        | 0x070F
        | 0x08E2
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x2064
        | 0x2066..=0x206F
        | 0xD800..=0xDFFF
        | 0xE000..=0xF8FF
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F
        | 0xF0000..=0x10FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_addresses() {
        assert_eq!(
            resource_address(None, Mode::Managed, "aws_instance", "web"),
            "aws_instance.web"
        );
        assert_eq!(
            resource_address(Some(""), Mode::Managed, "aws_instance", "web"),
            "aws_instance.web"
        );
        assert_eq!(
            resource_address(None, Mode::Data, "aws_ami", "a"),
            "data.aws_ami.a"
        );
        assert_eq!(
            resource_address(Some("module.x"), Mode::Data, "aws_ami", "a"),
            "module.x.data.aws_ami.a"
        );
        assert_eq!(
            resource_address(
                Some("module.a.module.b[\"x\"]"),
                Mode::Managed,
                "aws_eks_node_group",
                "this"
            ),
            "module.a.module.b[\"x\"].aws_eks_node_group.this"
        );
    }

    #[test]
    fn instance_keys() {
        let r = "module.a.module.b.aws_eks_node_group.this";
        assert_eq!(
            instance_address(r, Some(&InstanceKey::Str("blue".into()))),
            "module.a.module.b.aws_eks_node_group.this[\"blue\"]"
        );
        assert_eq!(
            instance_address("aws_instance.a", Some(&InstanceKey::Int(0))),
            "aws_instance.a[0]"
        );
        assert_eq!(
            instance_address("aws_instance.a", Some(&InstanceKey::Int(-3))),
            "aws_instance.a[-3]"
        );
        assert_eq!(instance_address("aws_instance.a", None), "aws_instance.a");
    }

    #[test]
    fn odd_keys_are_quoted_like_terraform() {
        let cases: &[(&str, &str)] = &[
            ("", r#""""#),
            ("a\"b", r#""a\"b""#),
            ("back\\slash", r#""back\\slash""#),
            ("line\nbreak\r\ttab", r#""line\nbreak\r\ttab""#),
            ("bell\u{7}", r#""bell\u0007""#),
            ("del\u{7f}", r#""del\u007f""#),
            ("héllo wörld 日本", "\"héllo wörld 日本\""),
            ("emoji 🚀", "\"emoji 🚀\""),
            ("${var.x}", r#""$${var.x}""#),
            ("%{if}", r#""%%{if}""#),
            ("$ and % alone", r#""$ and % alone""#),
            ("nbsp\u{a0}", r#""nbsp\u00a0""#),
            ("zw\u{200b}", r#""zw\u200b""#),
            ("tag\u{e0041}", r#""tag\U000e0041""#),
            ("k8s.io/role", r#""k8s.io/role""#),
        ];
        for (raw, want) in cases {
            assert_eq!(quote_key(raw), *want, "key {raw:?}");
        }
    }

    #[test]
    fn deposed_rendering() {
        assert_eq!(
            deposed_address("aws_instance.a", "00000001"),
            "aws_instance.a (deposed object 00000001)"
        );
    }
}
