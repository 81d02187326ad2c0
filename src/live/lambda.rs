//! Lambda: functions and permissions.
//!
//! Not written yet: no types.

use super::{Part, ScanRequest, TypeSpec};
use crate::aws::Aws;

pub const TYPES: &[TypeSpec] = &[];

super::family!("Lambda");

/// Enumerates the wanted Lambda types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let _ = (aws, req);
    Vec::new()
}
