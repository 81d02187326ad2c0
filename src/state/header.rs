//! Reading a state's header (version, terraform_version, serial, lineage)
//! from only the first bytes of a possibly huge or truncated object.
//!
//! Terraform writes `version`, `terraform_version`, `serial` and `lineage`
//! before `outputs` and `resources`, so a short prefix (an S3 ranged GET)
//! is enough. The prefix is driven through serde_json with a visitor that
//! records each field as soon as it is read and stops at `outputs` /
//! `resources`; the error serde_json reports for the rest of the (cut)
//! document is ignored.

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

/// How many bytes to fetch for [`read_header`].
///
/// The four header fields take about 150 bytes in Terraform's 2-space
/// indented output (`version` 1 digit, `terraform_version` ≤ ~30 bytes,
/// `serial` ≤ 20 digits, `lineage` a 36-byte UUID, plus keys and
/// indentation). In the OpenTofu encrypted form, `serial`/`lineage` precede
/// `meta`, whose key-provider metadata may be a few hundred bytes. 4 KiB is
/// an order of magnitude of headroom (hand-edited files with unusual key
/// order or whitespace), is one memory page, and costs the same S3 request
/// as one byte.
pub const HEADER_PREFIX_BYTES: usize = 4096;

/// What could be read from the beginning of a state object.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    /// `version`, when read.
    pub version: Option<u64>,
    /// `terraform_version`, when read.
    pub terraform_version: Option<String>,
    /// `serial` (plaintext also in encrypted OpenTofu states), when read.
    pub serial: Option<u64>,
    /// `lineage`, when read.
    pub lineage: Option<String>,
    /// The object is an OpenTofu encrypted state (`encrypted_data` or
    /// `encryption_version` key seen).
    pub encrypted: bool,
    /// The header part was read to its end: the reader reached `outputs`,
    /// `resources`, or the end of the object. When `true`, a field still
    /// `None` is really absent rather than cut off.
    pub complete: bool,
}

/// Reads the header from `prefix` (the first bytes of an object, or the
/// whole object). Never fails: fields that could not be read stay `None`.
pub fn read_header(prefix: &[u8]) -> Header {
    let mut header = Header::default();
    // Cut at the last complete UTF-8 sequence so a prefix ending inside a
    // multi-byte character still reads up to there.
    let text = match std::str::from_utf8(prefix) {
        Ok(t) => t,
        Err(e) => match std::str::from_utf8(&prefix[..e.valid_up_to()]) {
            Ok(t) => t,
            Err(_) => return header,
        },
    };
    let mut de = serde_json::Deserializer::from_str(text);
    // The result is deliberately ignored: on a prefix it is an EOF error, and
    // after an early stop it is a "expected `,` or `}`" error. Everything
    // useful has been recorded into `header` already.
    let _ = de::Deserializer::deserialize_map(
        &mut de,
        HeaderVisitor {
            header: &mut header,
            text,
        },
    );
    header
}

struct HeaderVisitor<'h, 't> {
    header: &'h mut Header,
    text: &'t str,
}

impl<'de> Visitor<'de> for HeaderVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let h = self.header;
        let text = self.text;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "version" => h.version = read_u64(text, map.next_value()?),
                "serial" => h.serial = read_u64(text, map.next_value()?),
                "terraform_version" => h.terraform_version = map.next_value()?,
                "lineage" => h.lineage = map.next_value()?,
                "outputs" | "resources" => {
                    h.complete = true;
                    return Ok(());
                }
                "encrypted_data" | "encryption_version" => {
                    h.encrypted = true;
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        h.complete = true;
        Ok(())
    }
}

/// Reads a number token, refusing one that ends exactly where the input
/// ends: a prefix cut after `"serial": 4` may be the start of `42`.
fn read_u64(text: &str, raw: &RawValue) -> Option<u64> {
    let token = raw.get();
    let end = token.as_ptr() as usize + token.len() - text.as_ptr() as usize;
    if end >= text.len() {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = r#"{
  "version": 4,
  "terraform_version": "1.9.5",
  "serial": 42,
  "lineage": "3f0c7a2e-1111-2222-3333-444455556666",
  "outputs": {},
  "resources": [],
  "check_results": null
}
"#;

    #[test]
    fn full_state() {
        let h = read_header(STATE.as_bytes());
        assert_eq!(h.version, Some(4));
        assert_eq!(h.terraform_version.as_deref(), Some("1.9.5"));
        assert_eq!(h.serial, Some(42));
        assert_eq!(
            h.lineage.as_deref(),
            Some("3f0c7a2e-1111-2222-3333-444455556666")
        );
        assert!(h.complete);
        assert!(!h.encrypted);
    }

    #[test]
    fn every_prefix_is_safe_and_monotone() {
        let bytes = STATE.as_bytes();
        let lineage_end = STATE.find("4455556666\"").unwrap() + 11;
        let mut prev = Header::default();
        for cut in 0..=bytes.len() {
            let h = read_header(&bytes[..cut]);
            // Fields, once read, stay read with the same value.
            for (a, b) in [(prev.version, h.version), (prev.serial, h.serial)] {
                if a.is_some() {
                    assert_eq!(a, b, "cut {cut}");
                }
            }
            if prev.lineage.is_some() {
                assert_eq!(prev.lineage, h.lineage, "cut {cut}");
            }
            if cut > lineage_end {
                assert_eq!(h.serial, Some(42), "cut {cut}");
                assert!(h.lineage.is_some(), "cut {cut}");
            }
            prev = h;
        }
    }

    #[test]
    fn truncated_in_the_middle_of_resources() {
        let big = STATE.replace(
            "\"resources\": []",
            "\"resources\": [{\"mode\":\"managed\",\"type\":\"aws_instance\"",
        );
        let h = read_header(&big.as_bytes()[..big.len() - 40]);
        assert_eq!(h.serial, Some(42));
        assert!(h.complete);
    }

    #[test]
    fn number_cut_short_is_not_misread() {
        // "serial": 4 followed by EOF could be the start of 42: must not be
        // reported as 4.
        let s = r#"{"version":4,"terraform_version":"1.9.5","serial":4"#;
        let h = read_header(s.as_bytes());
        assert_eq!(h.serial, None);
        assert!(!h.complete);
    }

    #[test]
    fn encrypted_opentofu() {
        let s = r#"{"serial":3,"lineage":"abc","meta":{"key_provider.pbkdf2.k":"eyJ9"},"encrypted_data":"AAAA","encryption_version":"v0"}"#;
        let h = read_header(s.as_bytes());
        assert!(h.encrypted);
        assert_eq!(h.serial, Some(3));
        assert_eq!(h.lineage.as_deref(), Some("abc"));
        assert_eq!(h.version, None);
        assert!(h.complete);
        let h = read_header(&s.as_bytes()[..s.find("AAAA").unwrap()]);
        assert_eq!(h.serial, Some(3));
        assert!(!h.complete);
    }

    #[test]
    fn garbage_and_non_object() {
        assert_eq!(read_header(b""), Header::default());
        assert_eq!(read_header(b"\x00\xff garbage"), Header::default());
        assert_eq!(read_header(b"[1,2,3]"), Header::default());
        let h = read_header(b"{\"version\": 3, \"serial\": 1, \"modules\": [");
        assert_eq!(h.version, Some(3));
        assert_eq!(h.serial, Some(1));
        assert!(!h.complete);
    }

    #[test]
    fn fixture_prefix() {
        let full = include_bytes!("../../tests/fixtures/full.tfstate");
        let h = read_header(&full[..HEADER_PREFIX_BYTES.min(200)]);
        assert_eq!(h.version, Some(4));
        assert_eq!(h.terraform_version.as_deref(), Some("1.12.1"));
        assert_eq!(h.serial, Some(17));
        assert_eq!(
            h.lineage.as_deref(),
            Some("6a1c2f3e-0b4d-4e5f-8a9b-0c1d2e3f4a5b")
        );
        assert!(h.complete);
        let enc = include_bytes!("../../tests/fixtures/encrypted.tfstate");
        let h = read_header(enc);
        assert!(h.encrypted && h.complete);
        assert_eq!(h.serial, Some(12));
    }

    #[test]
    fn cut_inside_multibyte_character() {
        let s = "{\"version\":4,\"serial\":7,\"lineage\":\"x\",\"zz\":\"é\"";
        let cut = s.find('é').unwrap() + 1;
        let h = read_header(&s.as_bytes()[..cut]);
        assert_eq!(h.serial, Some(7));
    }
}
