//! Time formatting shared by reports.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339 (`2024-05-01T12:00:00Z`); a time RFC 3339 cannot express (a year
/// beyond 9999) falls back to its debug-free display.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Now, in RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}
