//! Terraform's LockInfo, written byte for byte as Go's `json.Marshal` writes it.
//!
//! Terraform compares only the ID when unlocking, but OpenTofu deletes the
//! DynamoDB item with `ConditionExpression "Info = :info"`, where `:info` is its
//! own re-marshalling of the parsed Info. A lock we take is only removable by
//! OpenTofu if our bytes equal Go's: field order `ID, Operation, Info, Who,
//! Version, Created, Path`, compact, `<`, `>`, `&`, U+2028 and U+2029 escaped,
//! and `Created` in RFC 3339 with nanoseconds, trailing zeros trimmed, UTC `Z`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The lock record, with Terraform's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LockInfo {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Operation")]
    pub operation: String,
    #[serde(rename = "Info")]
    pub info: String,
    #[serde(rename = "Who")]
    pub who: String,
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "Created")]
    pub created: String,
    #[serde(rename = "Path")]
    pub path: String,
}

impl LockInfo {
    /// A new lock record for `path` (`<bucket>/<state key>`), created now.
    pub fn new(path: &str, operation: &str, info: &str, now: OffsetDateTime) -> LockInfo {
        LockInfo {
            id: new_lock_id(),
            operation: operation.to_owned(),
            info: info.to_owned(),
            who: who(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            created: go_rfc3339_nano(now),
            path: path.to_owned(),
        }
    }

    /// [`LockInfo::new`] with a given ID: for tests that pre-write the lock
    /// this process will take (an SDK retry after a lost response finds it).
    #[doc(hidden)]
    pub fn with_id(
        id: &str,
        path: &str,
        operation: &str,
        info: &str,
        now: OffsetDateTime,
    ) -> LockInfo {
        LockInfo {
            id: id.to_owned(),
            ..LockInfo::new(path, operation, info, now)
        }
    }

    /// Go's `json.Marshal(info)`, byte for byte.
    pub fn to_go_json(&self) -> String {
        // Only strings: serialising cannot fail.
        let compact = serde_json::to_string(self).unwrap_or_default();
        go_escape(&compact)
    }

    /// Parses an `Info` attribute or `.tflock` body.
    pub fn parse(raw: &str) -> Result<LockInfo, String> {
        if raw.trim().is_empty() {
            return Err("the lock's Info is empty (`unexpected end of JSON input`)".into());
        }
        serde_json::from_str(raw)
            .map_err(|e| format!("the lock's Info is not valid lock JSON: {e}"))
    }

    /// When the lock was taken, if `Created` parses.
    pub fn created_at(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(
            &self.created,
            &time::format_description::well_known::Rfc3339,
        )
        .ok()
    }
}

/// Replaces what Go's encoder escapes and serde_json does not. Only string
/// contents can hold these characters, so a whole-document replace is exact.
fn go_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `time.RFC3339Nano` of a UTC time: fraction with trailing zeros
/// trimmed (and no dot at all when zero), `Z` suffix.
pub fn go_rfc3339_nano(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond();
    if nanos == 0 {
        format!("{base}Z")
    } else {
        let frac = format!("{nanos:09}");
        format!("{base}.{}Z", frac.trim_end_matches('0'))
    }
}

/// A lock ID in the shape Terraform's go-uuid makes (8-4-4-4-12 hex).
pub fn new_lock_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// `user@hostname`, as Terraform writes `Who`.
pub fn who() -> String {
    let user = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    format!("{user}@{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn marshals_exactly_like_go() {
        // The example from Terraform's own lock item (reference §1).
        let info = LockInfo {
            id: "f9763602-b03f-e35c-da30-4083cdbb99ae".into(),
            operation: "OperationTypeApply".into(),
            info: "".into(),
            who: "user@host".into(),
            version: "1.0.7".into(),
            created: "2021-09-27T00:10:27.424064363Z".into(),
            path: "mybucket/path/to/key".into(),
        };
        assert_eq!(
            info.to_go_json(),
            r#"{"ID":"f9763602-b03f-e35c-da30-4083cdbb99ae","Operation":"OperationTypeApply","Info":"","Who":"user@host","Version":"1.0.7","Created":"2021-09-27T00:10:27.424064363Z","Path":"mybucket/path/to/key"}"#
        );
    }

    #[test]
    fn escapes_html_and_line_separators_like_go() {
        let mut info = LockInfo::new("b/k", "stateward-lock", "", OffsetDateTime::UNIX_EPOCH);
        info.info = "fix <prod> & \"db\"\n\u{2028}é\t".into();
        let json = info.to_go_json();
        assert!(
            json.contains(r#""Info":"fix \u003cprod\u003e \u0026 \"db\"\n\u2028é\t""#),
            "{json}"
        );
        // And it still parses back to the same record.
        assert_eq!(LockInfo::parse(&json).unwrap(), info);
    }

    #[test]
    fn created_uses_go_rfc3339_nano() {
        let cases = [
            (
                datetime!(2021-09-27 00:10:27.424064363 UTC),
                "2021-09-27T00:10:27.424064363Z",
            ),
            (
                datetime!(2021-09-27 00:10:27.4240643 UTC),
                "2021-09-27T00:10:27.4240643Z",
            ),
            (datetime!(2021-09-27 00:10:27 UTC), "2021-09-27T00:10:27Z"),
            (
                datetime!(2026-01-02 03:04:05.5 +02:00),
                "2026-01-02T01:04:05.5Z",
            ),
        ];
        for (t, want) in cases {
            assert_eq!(go_rfc3339_nano(t), want);
        }
    }

    #[test]
    fn ids_look_like_terraforms() {
        let id = new_lock_id();
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_ne!(id, new_lock_id());
    }

    #[test]
    fn broken_info_is_reported_not_panicked() {
        assert!(LockInfo::parse("")
            .unwrap_err()
            .contains("unexpected end of JSON input"));
        assert!(LockInfo::parse("{\"ID\":").is_err());
        assert!(LockInfo::parse("[]").is_err());
    }

    #[test]
    fn who_is_user_at_host() {
        let w = who();
        assert!(w.contains('@'), "{w}");
    }
}
