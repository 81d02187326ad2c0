//! Lambda adapter.

/// The Lambda client.
#[derive(Clone, Debug)]
pub struct Lambda {
    #[allow(dead_code)]
    client: aws_sdk_lambda::Client,
}

impl Lambda {
    pub(super) fn new(client: aws_sdk_lambda::Client) -> Self {
        Lambda { client }
    }
}
