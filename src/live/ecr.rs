//! ECR: repositories.
//!
//! Not written yet: no types.

use super::{Part, ScanRequest, TypeSpec};
use crate::aws::Aws;

pub const TYPES: &[TypeSpec] = &[];

super::family!("ECR");

/// Enumerates the wanted ECR types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let _ = (aws, req);
    Vec::new()
}
