//! API Gateway v2: HTTP and WebSocket APIs, their routes, integrations,
//! stages, deployments and authorizers, and custom domain names.
//!
//! GetApis and GetDomainNames (500 a page) list the region. An API's
//! children have no region-wide list: GetRoutes, GetIntegrations, ... run
//! once per API that holds a state resource of that kind. The API comes
//! from the key: children are identified as `api_id/id` (`api_id/name` for
//! stages), since their own IDs are unique only within their API. The naive
//! baseline reads each managed API with GetApi (children: per API as above).

use std::collections::{BTreeMap, BTreeSet};

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::{attr_or_id, attr_str, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::apigatewayv2::{
    Api, ApiGatewayV2, Authorizer, Child, Children, Deployment, DomainName, Integration, Route,
    Stage,
};
use crate::aws::{Aws, AwsError};

pub const API: &str = "aws_apigatewayv2_api";
pub const ROUTE: &str = "aws_apigatewayv2_route";
pub const INTEGRATION: &str = "aws_apigatewayv2_integration";
pub const STAGE: &str = "aws_apigatewayv2_stage";
pub const DEPLOYMENT: &str = "aws_apigatewayv2_deployment";
pub const AUTHORIZER: &str = "aws_apigatewayv2_authorizer";
pub const DOMAIN_NAME: &str = "aws_apigatewayv2_domain_name";

fn id_key(a: &Value) -> Option<String> {
    attr_str(a, "id").map(str::to_owned)
}
/// `api_id/id` of an API's child.
fn child_key(a: &Value) -> Option<String> {
    Some(format!("{}/{}", attr_str(a, "api_id")?, attr_str(a, "id")?))
}
/// `api_id/name` of a stage (the provider's ID is the name).
fn stage_key(a: &Value) -> Option<String> {
    let name = attr_str(a, "name").or_else(|| attr_str(a, "id"))?;
    Some(format!("{}/{name}", attr_str(a, "api_id")?))
}
fn domain_key(a: &Value) -> Option<String> {
    attr_or_id(a, "domain_name")
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(API, id_key)
        .compares("name, protocol_type, route_selection_expression, description, tags"),
    TypeSpec::new(ROUTE, child_key)
        .compares("route_key, target, authorization_type, authorizer_id"),
    TypeSpec::new(INTEGRATION, child_key)
        .compares("integration_type, integration_uri, integration_method, connection_type, payload_format_version"),
    TypeSpec::new(STAGE, stage_key)
        .compares("auto_deploy, description, tags, deployment_id (unless auto-deployed)"),
    TypeSpec::new(DEPLOYMENT, child_key).compares("description"),
    TypeSpec::new(AUTHORIZER, child_key)
        .compares("name, authorizer_type, authorizer_uri, identity_sources"),
    TypeSpec::new(DOMAIN_NAME, domain_key)
        .compares("domain_name_configuration (certificate_arn, endpoint_type, security_policy), tags"),
];

super::family!("API Gateway v2");

/// The API of a child key.
fn api_of(key: &str) -> &str {
    key.split_once('/').map_or(key, |(a, _)| a)
}

// ---- Mappings ----------------------------------------------------------------

/// `aws_apigatewayv2_api`: name, protocol, route selection, description, tags.
pub fn api_attrs(a: &Api) -> Vec<(String, Value)> {
    vec![
        ("name".into(), json!(a.name)),
        ("protocol_type".into(), json!(a.protocol_type)),
        (
            "route_selection_expression".into(),
            json!(a.route_selection_expression),
        ),
        ("description".into(), json!(a.description)),
        ("tags".into(), json!(a.tags)),
    ]
}

/// `aws_apigatewayv2_route`: key, target, authorization.
pub fn route_attrs(r: &Route) -> Vec<(String, Value)> {
    vec![
        ("route_key".into(), json!(r.route_key)),
        ("target".into(), json!(r.target)),
        ("authorization_type".into(), json!(r.authorization_type)),
        ("authorizer_id".into(), json!(r.authorizer_id)),
    ]
}

/// `aws_apigatewayv2_integration`: type, URI, method, payload format, connection.
pub fn integration_attrs(i: &Integration) -> Vec<(String, Value)> {
    let mut attrs = vec![
        ("integration_type".into(), json!(i.integration_type)),
        ("integration_uri".into(), json!(i.integration_uri)),
        ("integration_method".into(), json!(i.integration_method)),
        // `INTERNET` unless it says otherwise (the API's default).
        (
            "connection_type".into(),
            json!(i.connection_type.as_deref().unwrap_or("INTERNET")),
        ),
    ];
    // The provider stores `1.0` where a WebSocket API's integration may say nothing.
    if let Some(v) = &i.payload_format_version {
        attrs.push(("payload_format_version".into(), json!(v)));
    }
    attrs
}

/// `aws_apigatewayv2_stage`: auto deploy, description, tags; the deployment
/// only when not auto-deployed (API Gateway moves it on every change then).
pub fn stage_attrs(st: &Stage) -> Vec<(String, Value)> {
    let mut attrs = vec![
        ("auto_deploy".into(), json!(st.auto_deploy.unwrap_or(false))),
        ("description".into(), json!(st.description)),
        ("tags".into(), json!(st.tags)),
    ];
    if st.auto_deploy != Some(true) {
        attrs.push(("deployment_id".into(), json!(st.deployment_id)));
    }
    attrs
}

/// `aws_apigatewayv2_deployment`: description.
pub fn deployment_attrs(d: &Deployment) -> Vec<(String, Value)> {
    vec![("description".into(), json!(d.description))]
}

/// `aws_apigatewayv2_authorizer`: name, type, URI, identity sources.
pub fn authorizer_attrs(a: &Authorizer) -> Vec<(String, Value)> {
    vec![
        ("name".into(), json!(a.name)),
        ("authorizer_type".into(), json!(a.authorizer_type)),
        ("authorizer_uri".into(), json!(a.authorizer_uri)),
        ("identity_sources".into(), json!(a.identity_sources)),
    ]
}

/// `aws_apigatewayv2_domain_name`: certificate, endpoint type, TLS policy, tags.
pub fn domain_name_attrs(d: &DomainName) -> Vec<(String, Value)> {
    vec![
        (
            "domain_name_configuration.0.certificate_arn".into(),
            json!(d.certificate_arn),
        ),
        (
            "domain_name_configuration.0.endpoint_type".into(),
            json!(d.endpoint_type),
        ),
        (
            "domain_name_configuration.0.security_policy".into(),
            json!(d.security_policy),
        ),
        ("tags".into(), json!(d.tags)),
    ]
}

/// An API's children as live objects keyed `api/id`.
fn child_objects(api: &str, c: &Children) -> Vec<LiveObject> {
    let obj = |id: &str, attrs| LiveObject {
        attrs,
        ..LiveObject::named(format!("{api}/{id}"), id)
    };
    match c {
        Children::Routes(v) => v.iter().map(|r| obj(&r.id, route_attrs(r))).collect(),
        Children::Integrations(v) => v.iter().map(|i| obj(&i.id, integration_attrs(i))).collect(),
        Children::Stages(v) => v.iter().map(|s| obj(&s.name, stage_attrs(s))).collect(),
        Children::Deployments(v) => v.iter().map(|d| obj(&d.id, deployment_attrs(d))).collect(),
        Children::Authorizers(v) => v.iter().map(|a| obj(&a.id, authorizer_attrs(a))).collect(),
    }
}

// ---- Enumeration -------------------------------------------------------------

fn result(
    type_: &'static str,
    r: Result<(&'static str, TypeScan), AwsError>,
) -> (&'static str, TypeScan) {
    r.unwrap_or_else(|e| (type_, TypeScan::Failed(e)))
}

async fn apis(gw: &ApiGatewayV2, req: &ScanRequest) -> Result<(&'static str, TypeScan), AwsError> {
    let all: Vec<Api> = if req.naive {
        each(
            req,
            req.managed(API).into_iter().collect(),
            |id| async move { gw.api(&id).await },
        )
        .await?
        .into_iter()
        .flatten()
        .collect()
    } else {
        gw.apis().await?
    };
    let objs = all
        .iter()
        .map(|a| LiveObject {
            attrs: api_attrs(a),
            tags: Some(a.tags.clone()),
            ..LiveObject::named(&a.id, &a.name)
        })
        .collect();
    Ok(super::managed_only(req, API, objs))
}

async fn children(
    gw: &ApiGatewayV2,
    req: &ScanRequest,
    type_: &'static str,
    kind: Child,
) -> Result<(&'static str, TypeScan), AwsError> {
    let apis: BTreeSet<String> = req
        .managed(type_)
        .iter()
        .map(|k| api_of(k).to_owned())
        .collect();
    let per_api = each(req, apis.into_iter().collect(), |api| async move {
        let c = gw.children(&api, kind).await?;
        Ok::<_, AwsError>(child_objects(&api, &c))
    })
    .await?;
    Ok(super::managed_only(
        req,
        type_,
        per_api.into_iter().flatten().collect(),
    ))
}

async fn domain_names(
    gw: &ApiGatewayV2,
    req: &ScanRequest,
) -> Result<(&'static str, TypeScan), AwsError> {
    let objs = gw
        .domain_names()
        .await?
        .iter()
        .map(|d| LiveObject {
            attrs: domain_name_attrs(d),
            ..LiveObject::named(&d.name, &d.name)
        })
        .collect();
    Ok(super::managed_only(req, DOMAIN_NAME, objs))
}

/// Enumerates the wanted API Gateway v2 types: one task per type, all at once.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let gw = aws.apigatewayv2();
    let gw = &gw;
    let mut tasks: Vec<BoxFuture<'_, (&'static str, TypeScan)>> = Vec::new();
    if req.wants(API) {
        tasks.push(async move { result(API, apis(gw, req).await) }.boxed());
    }
    let kinds: BTreeMap<&'static str, Child> = BTreeMap::from([
        (ROUTE, Child::Routes),
        (INTEGRATION, Child::Integrations),
        (STAGE, Child::Stages),
        (DEPLOYMENT, Child::Deployments),
        (AUTHORIZER, Child::Authorizers),
    ]);
    for (t, kind) in kinds {
        if req.wants(t) {
            tasks.push(async move { result(t, children(gw, req, t, kind).await) }.boxed());
        }
    }
    if req.wants(DOMAIN_NAME) {
        tasks.push(async move { result(DOMAIN_NAME, domain_names(gw, req).await) }.boxed());
    }
    super::run_tasks(req, tasks).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Vec<(String, Value)>) -> BTreeMap<String, Value> {
        v.into_iter().collect()
    }

    #[test]
    fn identifiers() {
        let cases = [
            (API, json!({"id": "a1b2c3"}), Some("a1b2c3")),
            (ROUTE, json!({"id": "r1", "api_id": "a1"}), Some("a1/r1")),
            (
                INTEGRATION,
                json!({"id": "i1", "api_id": "a1"}),
                Some("a1/i1"),
            ),
            (
                DEPLOYMENT,
                json!({"id": "d1", "api_id": "a1"}),
                Some("a1/d1"),
            ),
            (
                AUTHORIZER,
                json!({"id": "z1", "api_id": "a1"}),
                Some("a1/z1"),
            ),
            (ROUTE, json!({"id": "r1"}), None),
            (
                STAGE,
                json!({"id": "$default", "name": "$default", "api_id": "a1"}),
                Some("a1/$default"),
            ),
            (
                STAGE,
                json!({"id": "prod", "api_id": "a1"}),
                Some("a1/prod"),
            ),
            (
                DOMAIN_NAME,
                json!({"id": "api.example.com", "domain_name": "api.example.com"}),
                Some("api.example.com"),
            ),
        ];
        for (t, attrs, want) in cases {
            let key = TYPES
                .iter()
                .find(|s| s.name == t)
                .and_then(|s| (s.key)(&attrs));
            assert_eq!(key.as_deref(), want, "{t} {attrs}");
        }
        assert_eq!(api_of("a1/$default"), "a1");
    }

    #[test]
    fn mappings() {
        let a = Api {
            id: "a1".into(),
            name: "web".into(),
            protocol_type: Some("HTTP".into()),
            route_selection_expression: Some("$request.method $request.path".into()),
            description: None,
            tags: BTreeMap::from([("team".into(), "web".into())]),
        };
        let m = map(api_attrs(&a));
        assert_eq!(m["protocol_type"], "HTTP");
        assert_eq!(
            m["route_selection_expression"],
            "$request.method $request.path"
        );
        assert_eq!(m["tags"], json!({"team": "web"}));

        let r = Route {
            id: "r1".into(),
            route_key: Some("GET /items".into()),
            target: Some("integrations/i1".into()),
            authorization_type: Some("NONE".into()),
            authorizer_id: None,
        };
        let objs = child_objects("a1", &Children::Routes(vec![r]));
        assert_eq!(objs[0].id, "a1/r1");
        let m = map(objs[0].attrs.clone());
        assert_eq!(m["route_key"], "GET /items");
        assert_eq!(m["target"], "integrations/i1");

        let i = Integration {
            id: "i1".into(),
            integration_type: Some("HTTP_PROXY".into()),
            integration_uri: Some("https://example.com".into()),
            integration_method: Some("GET".into()),
            payload_format_version: Some("1.0".into()),
            connection_type: Some("INTERNET".into()),
        };
        let m = map(integration_attrs(&i));
        assert_eq!(m["integration_type"], "HTTP_PROXY");
        assert_eq!(m["payload_format_version"], "1.0");
        assert_eq!(m["integration_method"], "GET");
        let unsaid = Integration {
            connection_type: None,
            ..i
        };
        assert_eq!(
            map(integration_attrs(&unsaid))["connection_type"],
            "INTERNET"
        );

        let st = Stage {
            name: "$default".into(),
            auto_deploy: Some(true),
            deployment_id: Some("d9".into()),
            ..Stage::default()
        };
        let objs = child_objects("a1", &Children::Stages(vec![st.clone()]));
        assert_eq!(objs[0].id, "a1/$default");
        let m = map(stage_attrs(&st));
        assert_eq!(m["auto_deploy"], true);
        assert!(!m.contains_key("deployment_id"));
        let manual = Stage {
            auto_deploy: None,
            ..st
        };
        let m = map(stage_attrs(&manual));
        assert_eq!(m["auto_deploy"], false);
        assert_eq!(m["deployment_id"], "d9");

        let z = Authorizer {
            id: "z1".into(),
            name: Some("jwt".into()),
            authorizer_type: Some("JWT".into()),
            authorizer_uri: None,
            identity_sources: vec!["$request.header.Authorization".into()],
        };
        let m = map(authorizer_attrs(&z));
        assert_eq!(
            m["identity_sources"],
            json!(["$request.header.Authorization"])
        );
        let d = DomainName {
            name: "api.example.com".into(),
            certificate_arn: Some("arn:cert".into()),
            endpoint_type: Some("REGIONAL".into()),
            security_policy: Some("TLS_1_2".into()),
            tags: BTreeMap::new(),
        };
        let m = map(domain_name_attrs(&d));
        assert_eq!(m["domain_name_configuration.0.certificate_arn"], "arn:cert");
        assert_eq!(m["domain_name_configuration.0.endpoint_type"], "REGIONAL");
        let m = map(deployment_attrs(&Deployment {
            id: "d1".into(),
            description: Some("v1".into()),
        }));
        assert_eq!(m["description"], "v1");
    }
}
