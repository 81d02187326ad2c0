//! The one duration parser: flags (`--lock-timeout 30s`), retention
//! (`keep_within = "30d"`), objectives (`rto = "1h"`) and gate timeouts.

use std::time::Duration;

/// Parses `30s`, `5m`, `1h30m`, `500ms`, `2w` (humantime; `m` is minutes);
/// a bare number is seconds.
pub fn parse(s: &str) -> Result<Duration, humantime::DurationError> {
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s)
}

/// [`parse`] with the message a flag or a retention rule gives.
pub fn parse_flag(s: &str) -> Result<Duration, String> {
    parse(s).map_err(|e| format!("{e} (use e.g. 30s, 5m, 1h)"))
}

/// [`parse`] for an objective or a timeout written in a file: must be more than zero.
pub fn parse_positive(s: &str) -> Result<Duration, String> {
    let d = parse(s).map_err(|e| {
        format!("\"{s}\" is not a duration ({e}); write e.g. \"15m\", \"1h\", \"4h\"")
    })?;
    if d.is_zero() {
        return Err(format!("\"{s}\" must be more than zero"));
    }
    Ok(d)
}

/// `1h 30m`, `30days`: humantime's rendering.
pub fn format(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        for (text, secs) in [
            ("90", 90),
            ("30s", 30),
            ("5m", 300),
            ("1h30m", 5400),
            ("2w", 14 * 86400),
            ("30d", 30 * 86400),
        ] {
            assert_eq!(parse(text).ok(), Some(Duration::from_secs(secs)), "{text}");
        }
        assert_eq!(parse("500ms").ok(), Some(Duration::from_millis(500)));
        assert!(parse_flag("soon").is_err_and(|e| e.ends_with("(use e.g. 30s, 5m, 1h)")));
        assert!(parse_positive("0s").is_err_and(|e| e.contains("more than zero")));
        assert!(parse_positive("soon").is_err_and(|e| e.contains("is not a duration")));
    }
}
