//! SQS adapter.

/// The SQS client.
#[derive(Clone, Debug)]
pub struct Sqs {
    #[allow(dead_code)]
    client: aws_sdk_sqs::Client,
}

impl Sqs {
    pub(super) fn new(client: aws_sdk_sqs::Client) -> Self {
        Sqs { client }
    }
}
