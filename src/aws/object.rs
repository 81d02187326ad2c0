//! What the S3 adapter returns: object versions, reads, versioning status.
//! Plain values the domain (`store`, `restore`, `live`, ...) builds on.

use serde::Serialize;
use time::OffsetDateTime;

/// One entry of ListObjectVersions for the state key.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct ObjectVersion {
    pub version_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub last_modified: OffsetDateTime,
    pub size: u64,
    pub is_latest: bool,
    pub delete_marker: bool,
    /// The listing's ETag (without quotes): the md5 of a single-part upload
    /// without SSE-KMS/SSE-C. Used to check cached copies.
    #[serde(skip)]
    pub etag: Option<String>,
}

/// One entry of a ListObjectVersions over a prefix: which key, and the version.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyVersion {
    pub key: String,
    #[serde(flatten)]
    pub version: ObjectVersion,
}

/// Bytes read from S3.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    /// The version id S3 reported for what was read.
    pub version_id: Option<String>,
    /// The whole object's size (known even for a ranged read).
    pub total_size: Option<u64>,
}

/// A bucket's versioning status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Versioning {
    Enabled,
    Suspended,
    Disabled,
}

/// Orders versions newest first: the current one first, then by time.
/// The sort is stable, so S3's own order breaks ties.
pub fn sort_newest_first(versions: &mut [ObjectVersion]) {
    versions.sort_by(|a, b| {
        b.is_latest
            .cmp(&a.is_latest)
            .then(b.last_modified.cmp(&a.last_modified))
    });
}
