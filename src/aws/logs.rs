//! CloudWatch Logs adapter.

/// The CloudWatch Logs client.
#[derive(Clone, Debug)]
pub struct Logs {
    #[allow(dead_code)]
    client: aws_sdk_cloudwatchlogs::Client,
}

impl Logs {
    pub(super) fn new(client: aws_sdk_cloudwatchlogs::Client) -> Self {
        Logs { client }
    }
}
