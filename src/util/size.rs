//! Byte sizes as people write them: `4GB`, `500 MiB`, `2g`, `1048576`.

/// Parses a size such as `4GB`, `500MiB`, `2g` or `1048576` (bytes); the
/// units are binary (`GB` and `GiB` are both 2^30). `None` for anything
/// else, or a size that does not fit in 64 bits. Pure.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        for (text, want) in [
            ("4GB", Some(4 << 30)),
            ("500 MiB", Some(500 << 20)),
            ("2g", Some(2 << 30)),
            ("1024", Some(1024)),
            ("0", Some(0)),
            (" 7 kb ", Some(7 << 10)),
            ("lots", None),
            ("", None),
            ("-1GB", None),
            ("1.5GB", None),
            ("99999999999TB", None),
        ] {
            assert_eq!(parse_size(text), want, "{text:?}");
        }
    }
}
