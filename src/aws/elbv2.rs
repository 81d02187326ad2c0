//! Elastic Load Balancing v2 adapter.

/// The Elastic Load Balancing v2 client.
#[derive(Clone, Debug)]
pub struct Elbv2 {
    #[allow(dead_code)]
    client: aws_sdk_elasticloadbalancingv2::Client,
}

impl Elbv2 {
    pub(super) fn new(client: aws_sdk_elasticloadbalancingv2::Client) -> Self {
        Elbv2 { client }
    }
}
