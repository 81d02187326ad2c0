//! IAM adapter.

/// The IAM client.
#[derive(Clone, Debug)]
pub struct Iam {
    #[allow(dead_code)]
    client: aws_sdk_iam::Client,
}

impl Iam {
    pub(super) fn new(client: aws_sdk_iam::Client) -> Self {
        Iam { client }
    }
}
