//! API Gateway v2 adapter.

/// The API Gateway v2 client.
#[derive(Clone, Debug)]
pub struct ApiGatewayV2 {
    #[allow(dead_code)]
    client: aws_sdk_apigatewayv2::Client,
}

impl ApiGatewayV2 {
    pub(super) fn new(client: aws_sdk_apigatewayv2::Client) -> Self {
        ApiGatewayV2 { client }
    }
}
