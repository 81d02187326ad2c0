//! Content digests of state bytes.
//!
//! MD5 is what S3 reports as the ETag of an object uploaded in one part (and
//! what Terraform's S3 backend stores in DynamoDB as the state's `Digest`),
//! so it lets a caller check downloaded bytes against listings without
//! another request; SHA-256 is a collision-resistant identity for
//! de-duplicating identical versions.

use md5::{Digest as _, Md5};
use sha2::Sha256;

/// Hex digests of some bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Digests {
    /// Lower-case hex MD5 (32 characters).
    pub md5: String,
    /// Lower-case hex SHA-256 (64 characters).
    pub sha256: String,
}

/// Computes the MD5 and SHA-256 of `bytes`.
pub fn digests(bytes: &[u8]) -> Digests {
    Digests {
        md5: hex::encode(Md5::digest(bytes)),
        sha256: hex::encode(Sha256::digest(bytes)),
    }
}

/// Whether `bytes` match an S3 ETag. Quotes around the ETag are ignored.
/// Multipart ETags (`…-N`) cannot be checked this way and return `None`.
pub fn matches_etag(bytes: &[u8], etag: &str) -> Option<bool> {
    let etag = etag.trim().trim_matches('"');
    if etag.contains('-') {
        return None;
    }
    Some(etag.eq_ignore_ascii_case(&hex::encode(Md5::digest(bytes))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let d = digests(b"abc");
        assert_eq!(d.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            matches_etag(b"abc", "\"900150983cd24fb0d6963f7d28e17f72\""),
            Some(true)
        );
        assert_eq!(
            matches_etag(b"abd", "900150983cd24fb0d6963f7d28e17f72"),
            Some(false)
        );
        assert_eq!(matches_etag(b"abc", "\"abc-2\""), None);
    }
}
