//! ACM adapter.

/// The ACM client.
#[derive(Clone, Debug)]
pub struct Acm {
    #[allow(dead_code)]
    client: aws_sdk_acm::Client,
}

impl Acm {
    pub(super) fn new(client: aws_sdk_acm::Client) -> Self {
        Acm { client }
    }
}
