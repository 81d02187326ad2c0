//! EventBridge (CloudWatch Events) adapter.

/// The EventBridge (CloudWatch Events) client.
#[derive(Clone, Debug)]
pub struct Events {
    #[allow(dead_code)]
    client: aws_sdk_eventbridge::Client,
}

impl Events {
    pub(super) fn new(client: aws_sdk_eventbridge::Client) -> Self {
        Events { client }
    }
}
