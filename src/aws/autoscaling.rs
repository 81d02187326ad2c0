//! Auto Scaling adapter.

/// The Auto Scaling client.
#[derive(Clone, Debug)]
pub struct AutoScaling {
    #[allow(dead_code)]
    client: aws_sdk_autoscaling::Client,
}

impl AutoScaling {
    pub(super) fn new(client: aws_sdk_autoscaling::Client) -> Self {
        AutoScaling { client }
    }
}
