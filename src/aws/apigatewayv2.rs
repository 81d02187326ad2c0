//! API Gateway v2 adapter: GetApis and GetDomainNames (500 a page, the
//! API's maximum) for the region, GetRoutes, GetIntegrations, GetStages,
//! GetDeployments and GetAuthorizers per API, GetApi for one API.

use std::collections::{BTreeMap, HashMap};

use super::{AwsError, AwsErrorKind};

use super::non_empty as s;

/// Tags without `aws:` tags.
fn tags(t: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    super::user_tags(
        t.into_iter()
            .flatten()
            .map(|(k, v)| (Some(k.as_str()), Some(v.as_str()))),
    )
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Api {
    pub id: String,
    pub name: String,
    /// `HTTP` or `WEBSOCKET`.
    pub protocol_type: Option<String>,
    pub route_selection_expression: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    pub id: String,
    pub route_key: Option<String>,
    /// `integrations/ID`.
    pub target: Option<String>,
    pub authorization_type: Option<String>,
    pub authorizer_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Integration {
    pub id: String,
    pub integration_type: Option<String>,
    pub integration_uri: Option<String>,
    pub integration_method: Option<String>,
    pub payload_format_version: Option<String>,
    pub connection_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stage {
    pub name: String,
    pub auto_deploy: Option<bool>,
    pub deployment_id: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Deployment {
    pub id: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authorizer {
    pub id: String,
    pub name: Option<String>,
    /// `REQUEST` or `JWT`.
    pub authorizer_type: Option<String>,
    pub authorizer_uri: Option<String>,
    pub identity_sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainName {
    pub name: String,
    pub certificate_arn: Option<String>,
    pub endpoint_type: Option<String>,
    pub security_policy: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// What one API holds (GetRoutes, GetIntegrations, ... of one API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Child {
    Routes,
    Integrations,
    Stages,
    Deployments,
    Authorizers,
}

/// The children of one API, of the kind asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Children {
    Routes(Vec<Route>),
    Integrations(Vec<Integration>),
    Stages(Vec<Stage>),
    Deployments(Vec<Deployment>),
    Authorizers(Vec<Authorizer>),
}

/// The API Gateway v2 client.
#[derive(Clone, Debug)]
pub struct ApiGatewayV2 {
    client: aws_sdk_apigatewayv2::Client,
}

/// Runs a paginated `Get*` call to the end.
macro_rules! get_all {
    ($op:literal, $what:expr, $call:expr, $map:expr) => {{
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = $call
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk($op, $what, e))?;
            out.extend(page.items().iter().map($map));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok::<_, AwsError>(out)
    }};
}

macro_rules! api {
    ($a:expr) => {
        Api {
            id: $a.api_id().unwrap_or_default().to_owned(),
            name: $a.name().unwrap_or_default().to_owned(),
            protocol_type: $a.protocol_type().map(|p| p.as_str().to_owned()),
            route_selection_expression: s($a.route_selection_expression()),
            description: s($a.description()),
            tags: tags($a.tags()),
        }
    };
}

const PAGE: &str = "500";

impl ApiGatewayV2 {
    pub(super) fn new(client: aws_sdk_apigatewayv2::Client) -> Self {
        ApiGatewayV2 { client }
    }

    /// Every HTTP and WebSocket API (GetApis).
    pub async fn apis(&self) -> Result<Vec<Api>, AwsError> {
        get_all!(
            "GetApis",
            "the region's APIs",
            self.client.get_apis().max_results(PAGE),
            |a| api!(a)
        )
    }

    /// One API, `None` if it does not exist (GetApi).
    pub async fn api(&self, id: &str) -> Result<Option<Api>, AwsError> {
        match self.client.get_api().api_id(id).send().await {
            Ok(a) => Ok(Some(api!(a))),
            Err(e) => {
                let e = AwsError::from_sdk("GetApi", id, e);
                if e.kind == AwsErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// The children of one kind of one API; none if the API is gone.
    pub async fn children(&self, api: &str, kind: Child) -> Result<Children, AwsError> {
        match self.children_of(api, kind).await {
            Err(e) if e.kind == AwsErrorKind::NotFound => Ok(match kind {
                Child::Routes => Children::Routes(Vec::new()),
                Child::Integrations => Children::Integrations(Vec::new()),
                Child::Stages => Children::Stages(Vec::new()),
                Child::Deployments => Children::Deployments(Vec::new()),
                Child::Authorizers => Children::Authorizers(Vec::new()),
            }),
            other => other,
        }
    }

    async fn children_of(&self, api: &str, kind: Child) -> Result<Children, AwsError> {
        let c = &self.client;
        match kind {
            Child::Routes => get_all!(
                "GetRoutes",
                api,
                c.get_routes().api_id(api).max_results(PAGE),
                |r| Route {
                    id: r.route_id().unwrap_or_default().to_owned(),
                    route_key: s(r.route_key()),
                    target: s(r.target()),
                    authorization_type: r.authorization_type().map(|t| t.as_str().to_owned()),
                    authorizer_id: s(r.authorizer_id()),
                }
            )
            .map(Children::Routes),
            Child::Integrations => get_all!(
                "GetIntegrations",
                api,
                c.get_integrations().api_id(api).max_results(PAGE),
                |i| Integration {
                    id: i.integration_id().unwrap_or_default().to_owned(),
                    integration_type: i.integration_type().map(|t| t.as_str().to_owned()),
                    integration_uri: s(i.integration_uri()),
                    integration_method: s(i.integration_method()),
                    payload_format_version: s(i.payload_format_version()),
                    connection_type: i.connection_type().map(|t| t.as_str().to_owned()),
                }
            )
            .map(Children::Integrations),
            Child::Stages => get_all!(
                "GetStages",
                api,
                c.get_stages().api_id(api).max_results(PAGE),
                |st| Stage {
                    name: st.stage_name().unwrap_or_default().to_owned(),
                    auto_deploy: st.auto_deploy(),
                    deployment_id: s(st.deployment_id()),
                    description: s(st.description()),
                    tags: tags(st.tags()),
                }
            )
            .map(Children::Stages),
            Child::Deployments => get_all!(
                "GetDeployments",
                api,
                c.get_deployments().api_id(api).max_results(PAGE),
                |d| Deployment {
                    id: d.deployment_id().unwrap_or_default().to_owned(),
                    description: s(d.description()),
                }
            )
            .map(Children::Deployments),
            Child::Authorizers => get_all!(
                "GetAuthorizers",
                api,
                c.get_authorizers().api_id(api).max_results(PAGE),
                |a| Authorizer {
                    id: a.authorizer_id().unwrap_or_default().to_owned(),
                    name: s(a.name()),
                    authorizer_type: a.authorizer_type().map(|t| t.as_str().to_owned()),
                    authorizer_uri: s(a.authorizer_uri()),
                    identity_sources: a.identity_source().to_vec(),
                }
            )
            .map(Children::Authorizers),
        }
    }

    /// Every custom domain name (GetDomainNames).
    pub async fn domain_names(&self) -> Result<Vec<DomainName>, AwsError> {
        get_all!(
            "GetDomainNames",
            "the region's API domain names",
            self.client.get_domain_names().max_results(PAGE),
            |d| {
                let conf = d.domain_name_configurations().first();
                DomainName {
                    name: d.domain_name().unwrap_or_default().to_owned(),
                    certificate_arn: conf.and_then(|c| s(c.certificate_arn())),
                    endpoint_type: conf
                        .and_then(|c| c.endpoint_type())
                        .map(|t| t.as_str().to_owned()),
                    security_policy: conf
                        .and_then(|c| c.security_policy())
                        .map(|t| t.as_str().to_owned()),
                    tags: tags(d.tags()),
                }
            }
        )
    }
}
