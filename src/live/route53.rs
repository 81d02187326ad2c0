//! Route 53: hosted zones and records.
//!
//! Not written yet: no types.

use super::{Part, ScanRequest, TypeSpec};
use crate::aws::Aws;

pub const TYPES: &[TypeSpec] = &[];

super::family!("Route 53");

/// Enumerates the wanted Route 53 types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let _ = (aws, req);
    Vec::new()
}
