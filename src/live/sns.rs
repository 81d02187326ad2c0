//! SNS: topics.
//!
//! Not written yet: no types.

use super::{Part, ScanRequest, TypeSpec};
use crate::aws::Aws;

pub const TYPES: &[TypeSpec] = &[];

super::family!("SNS");

/// Enumerates the wanted SNS types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let _ = (aws, req);
    Vec::new()
}
