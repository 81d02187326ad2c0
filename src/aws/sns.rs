//! SNS adapter.

/// The SNS client.
#[derive(Clone, Debug)]
pub struct Sns {
    #[allow(dead_code)]
    client: aws_sdk_sns::Client,
}

impl Sns {
    pub(super) fn new(client: aws_sdk_sns::Client) -> Self {
        Sns { client }
    }
}
