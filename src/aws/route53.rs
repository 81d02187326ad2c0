//! Route 53 adapter.

/// The Route 53 client.
#[derive(Clone, Debug)]
pub struct Route53 {
    #[allow(dead_code)]
    client: aws_sdk_route53::Client,
}

impl Route53 {
    pub(super) fn new(client: aws_sdk_route53::Client) -> Self {
        Route53 { client }
    }
}
