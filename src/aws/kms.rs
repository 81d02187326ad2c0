//! KMS adapter.

/// The KMS client.
#[derive(Clone, Debug)]
pub struct Kms {
    #[allow(dead_code)]
    client: aws_sdk_kms::Client,
}

impl Kms {
    pub(super) fn new(client: aws_sdk_kms::Client) -> Self {
        Kms { client }
    }
}
