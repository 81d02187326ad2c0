//! ECS adapter.

/// The ECS client.
#[derive(Clone, Debug)]
pub struct Ecs {
    #[allow(dead_code)]
    client: aws_sdk_ecs::Client,
}

impl Ecs {
    pub(super) fn new(client: aws_sdk_ecs::Client) -> Self {
        Ecs { client }
    }
}
