//! ECR adapter.

/// The ECR client.
#[derive(Clone, Debug)]
pub struct Ecr {
    #[allow(dead_code)]
    client: aws_sdk_ecr::Client,
}

impl Ecr {
    pub(super) fn new(client: aws_sdk_ecr::Client) -> Self {
        Ecr { client }
    }
}
