//! Secrets Manager adapter.

/// The Secrets Manager client.
#[derive(Clone, Debug)]
pub struct SecretsManager {
    #[allow(dead_code)]
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub(super) fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsManager { client }
    }
}
