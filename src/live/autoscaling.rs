//! Auto Scaling: groups and launch configurations.
//!
//! Not written yet: no types.

use super::{Part, ScanRequest, TypeSpec};
use crate::aws::Aws;

pub const TYPES: &[TypeSpec] = &[];

super::family!("Auto Scaling");

/// Enumerates the wanted Auto Scaling types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let _ = (aws, req);
    Vec::new()
}
