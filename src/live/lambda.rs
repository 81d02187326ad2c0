//! Lambda: functions (ListFunctions, 50 a page) and permissions (GetPolicy
//! once per function, or qualified version/alias, that the state's
//! permissions name).
//!
//! Functions: runtime, handler, role, memory, timeout, architectures,
//! package type, description, KMS key, layers, tracing, VPC, ephemeral
//! storage, dead-letter target and environment variables are compared.
//! Variables are compared one by one (each value under its own path, so
//! the engine redacts secret-named and declared-sensitive ones) and their
//! names as a set (`environment.0.variable_names`, which the state side is
//! given by `prepare`), so a variable removed live is seen without its
//! value being shown. Tags are not compared: ListFunctions does not carry
//! them and one ListTags per function would double the calls.
//!
//! Permissions are identified as the provider imports them:
//! `function/statement_id`, `function:qualifier/statement_id`.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{attr_or_id, attr_str, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::lambda::{Function, Lambda};
use crate::aws::{Aws, AwsError};

pub const FUNCTION: &str = "aws_lambda_function";
pub const PERMISSION: &str = "aws_lambda_permission";

fn function_key(a: &Value) -> Option<String> {
    attr_or_id(a, "function_name")
}

/// A function named by name or ARN (`arn:aws:lambda:r:a:function:NAME[:Q]`):
/// its name and the ARN's qualifier.
fn function_ref(f: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = f.split(':').collect();
    if parts.len() >= 7 && parts[0] == "arn" && parts[5] == "function" {
        (
            parts[6].to_owned(),
            parts
                .get(7)
                .filter(|q| !q.is_empty())
                .map(|q| (*q).to_owned()),
        )
    } else {
        (f.to_owned(), None)
    }
}

/// `function[:qualifier]/statement_id`.
fn permission_key(a: &Value) -> Option<String> {
    let (name, arn_qualifier) = function_ref(attr_str(a, "function_name")?);
    let sid = attr_str(a, "statement_id").or_else(|| attr_str(a, "id"))?;
    let qualifier = attr_str(a, "qualifier")
        .map(str::to_owned)
        .or(arn_qualifier);
    Some(match qualifier {
        Some(q) => format!("{name}:{q}/{sid}"),
        None => format!("{name}/{sid}"),
    })
}

/// Splits a [`permission_key`] into the function (and qualifier) GetPolicy
/// is asked for.
fn policy_target(key: &str) -> Option<(String, Option<String>)> {
    let (function, _sid) = key.split_once('/')?;
    Some(match function.split_once(':') {
        Some((f, q)) => (f.to_owned(), Some(q.to_owned())),
        None => (function.to_owned(), None),
    })
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(FUNCTION, function_key)
        .compares("runtime, handler, role, memory, timeout, architectures, package, layers, VPC, env, tracing, DLQ, KMS key")
        .unmanaged()
        .prepare(prepare_function),
    TypeSpec::new(PERMISSION, permission_key)
        .compares("action, principal, source_arn, source_account, principal_org_id, function_url_auth_type")
        .prepare(prepare_permission),
];

super::family!("Lambda");

/// Gives the state's environment the names of its variables, as the live
/// side has them (`environment.0.variable_names`).
fn prepare_function(attrs: &mut Value) {
    let Some(env) = attrs
        .get_mut("environment")
        .and_then(Value::as_array_mut)
        .and_then(|a| a.first_mut())
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let names: Vec<String> = env
        .get("variables")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    env.insert("variable_names".into(), json!(names));
}

/// `aws_lambda_function`.
pub fn function_attrs(f: &Function) -> Vec<(String, Value)> {
    let variables = f.variables.clone().unwrap_or_default();
    let names: Vec<&String> = variables.keys().collect();
    let mut attrs = vec![
        ("runtime".into(), json!(f.runtime)),
        ("handler".into(), json!(f.handler)),
        ("role".into(), json!(f.role)),
        ("description".into(), json!(f.description)),
        ("memory_size".into(), json!(f.memory_size)),
        ("timeout".into(), json!(f.timeout)),
        ("architectures".into(), json!(f.architectures)),
        ("package_type".into(), json!(f.package_type)),
        ("kms_key_arn".into(), json!(f.kms_key_arn)),
        ("layers".into(), json!(f.layers)),
        ("vpc_config.0.subnet_ids".into(), json!(f.subnet_ids)),
        (
            "vpc_config.0.security_group_ids".into(),
            json!(f.security_group_ids),
        ),
        (
            "dead_letter_config.0.target_arn".into(),
            json!(f.dead_letter_target),
        ),
        ("environment.0.variables".into(), json!(variables)),
        ("environment.0.variable_names".into(), json!(names)),
    ];
    if let Some(m) = &f.tracing_mode {
        attrs.push(("tracing_config.0.mode".into(), json!(m)));
    }
    if let Some(s) = f.ephemeral_storage {
        attrs.push(("ephemeral_storage.0.size".into(), json!(s)));
    }
    attrs
}

/// A principal as the provider writes it: an account's root ARN as the
/// account ID.
fn principal_name(p: &str) -> String {
    match p
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.strip_suffix(":root"))
    {
        Some(account) if account.chars().all(|c| c.is_ascii_digit()) => account.to_owned(),
        _ => p.to_owned(),
    }
}

fn prepare_permission(attrs: &mut Value) {
    if let Some(p) = attr_str(attrs, "principal") {
        let p = principal_name(p);
        if let Some(m) = attrs.as_object_mut() {
            m.insert("principal".into(), json!(p));
        }
    }
}

fn first_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// The condition value of `key` (case-insensitive) under any operator.
fn condition(stmt: &Value, key: &str) -> Option<String> {
    stmt.get("Condition")?
        .as_object()?
        .values()
        .filter_map(Value::as_object)
        .flat_map(|m| m.iter())
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| first_string(v))
}

/// The permissions in a function's resource policy, by statement ID:
/// `(sid, attrs)`.
pub fn permissions(policy: &str) -> Vec<(String, Vec<(String, Value)>)> {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return Vec::new();
    };
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    };
    statements
        .into_iter()
        .filter_map(|s| {
            let sid = s.get("Sid")?.as_str()?.to_owned();
            let principal = match s.get("Principal") {
                Some(Value::Object(m)) => m.values().find_map(first_string),
                Some(v) => first_string(v),
                None => None,
            }
            .map(|p| principal_name(&p));
            let attrs = vec![
                (
                    "action".into(),
                    json!(s.get("Action").and_then(first_string)),
                ),
                ("principal".into(), json!(principal)),
                ("source_arn".into(), json!(condition(s, "AWS:SourceArn"))),
                (
                    "source_account".into(),
                    json!(condition(s, "AWS:SourceAccount")),
                ),
                (
                    "principal_org_id".into(),
                    json!(condition(s, "aws:PrincipalOrgID")),
                ),
                (
                    "function_url_auth_type".into(),
                    json!(condition(s, "lambda:FunctionUrlAuthType")),
                ),
            ];
            Some((sid, attrs))
        })
        .collect()
}

async fn functions(lambda: &Lambda, req: &ScanRequest) -> Result<Vec<LiveObject>, AwsError> {
    let managed = req.managed(FUNCTION);
    let all: Vec<Function> = if req.naive && !req.unmanaged {
        each(req, managed.iter().cloned().collect(), |name| async move {
            lambda.function(&name).await
        })
        .await?
        .into_iter()
        .flatten()
        .collect()
    } else {
        lambda.functions().await?
    };
    Ok(function_objects(req.unmanaged, &managed, &all))
}

fn function_objects(
    unmanaged: bool,
    managed: &BTreeSet<String>,
    all: &[Function],
) -> Vec<LiveObject> {
    all.iter()
        .filter_map(|f| {
            if managed.contains(&f.name) {
                Some(LiveObject {
                    attrs: function_attrs(f),
                    ..LiveObject::named(&f.name, &f.name)
                })
            } else if unmanaged {
                Some(LiveObject::named(&f.name, &f.name))
            } else {
                None
            }
        })
        .collect()
}

async fn permission_objects(
    lambda: &Lambda,
    req: &ScanRequest,
) -> Result<Vec<LiveObject>, AwsError> {
    let targets: BTreeSet<(String, Option<String>)> = req
        .managed(PERMISSION)
        .iter()
        .filter_map(|k| policy_target(k))
        .collect();
    let policies = each(req, targets.into_iter().collect(), |(f, q)| async move {
        let policy = lambda.policy(&f, q.as_deref()).await?;
        Ok((f, q, policy))
    })
    .await?;
    let mut out = Vec::new();
    for (f, q, policy) in policies {
        let prefix = match &q {
            Some(q) => format!("{f}:{q}"),
            None => f.clone(),
        };
        for (sid, attrs) in permissions(policy.as_deref().unwrap_or_default()) {
            out.push(LiveObject {
                attrs,
                ..LiveObject::named(format!("{prefix}/{sid}"), "")
            });
        }
    }
    Ok(out)
}

/// Enumerates the wanted Lambda types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let lambda = aws.lambda();
    let result = |r: Result<Vec<LiveObject>, AwsError>| match r {
        Ok(objs) => TypeScan::Listed(objs),
        Err(e) => TypeScan::Failed(e),
    };
    let lambda = &lambda;
    let f = async move {
        if req.wants(FUNCTION) {
            Some((FUNCTION, result(functions(lambda, req).await)))
        } else {
            None
        }
    };
    let p = async move {
        if req.wants(PERMISSION) {
            Some((PERMISSION, result(permission_objects(lambda, req).await)))
        } else {
            None
        }
    };
    // At once, but one call at a time for the naive baseline.
    let (f, p) = if req.naive {
        (f.await, p.await)
    } else {
        futures::future::join(f, p).await
    };
    f.into_iter().chain(p).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn functions_by_name_and_permissions_as_imported() {
        let cases = [
            (
                function_key as fn(&Value) -> Option<String>,
                json!({"function_name": "f", "id": "f"}),
                Some("f"),
            ),
            (function_key, json!({"id": "g"}), Some("g")),
            (
                permission_key,
                json!({"function_name": "f", "statement_id": "AllowS3", "qualifier": ""}),
                Some("f/AllowS3"),
            ),
            (
                permission_key,
                json!({"function_name": "f", "statement_id": "A", "qualifier": "live"}),
                Some("f:live/A"),
            ),
            (
                permission_key,
                json!({"function_name": "arn:aws:lambda:eu-west-1:123456789012:function:f", "statement_id": "A"}),
                Some("f/A"),
            ),
            (
                permission_key,
                json!({"function_name": "arn:aws:lambda:eu-west-1:123456789012:function:f:3", "statement_id": "A", "qualifier": ""}),
                Some("f:3/A"),
            ),
            (
                permission_key,
                json!({"function_name": "f", "id": "A"}),
                Some("f/A"),
            ),
            (permission_key, json!({"statement_id": "A"}), None),
        ];
        for (f, attrs, want) in cases {
            assert_eq!(f(&attrs).as_deref(), want, "{attrs}");
        }
        assert_eq!(policy_target("f/A"), Some(("f".into(), None)));
        assert_eq!(
            policy_target("f:live/A"),
            Some(("f".into(), Some("live".into())))
        );
    }

    #[test]
    fn function_attributes_and_variable_names() {
        let f = Function {
            name: "f".into(),
            runtime: Some("python3.12".into()),
            handler: Some("app.handler".into()),
            role: Some("arn:aws:iam::1:role/r".into()),
            memory_size: Some(256),
            timeout: Some(30),
            architectures: vec!["arm64".into()],
            package_type: Some("Zip".into()),
            variables: Some(vars(&[("STAGE", "prod"), ("DB_PASSWORD", "x")])),
            tracing_mode: Some("Active".into()),
            ephemeral_storage: Some(512),
            ..Function::default()
        };
        let attrs: BTreeMap<String, Value> = function_attrs(&f).into_iter().collect();
        assert_eq!(attrs["runtime"], json!("python3.12"));
        assert_eq!(attrs["handler"], json!("app.handler"));
        assert_eq!(attrs["role"], json!("arn:aws:iam::1:role/r"));
        assert_eq!(attrs["memory_size"], json!(256));
        assert_eq!(attrs["timeout"], json!(30));
        assert_eq!(attrs["architectures"], json!(["arm64"]));
        assert_eq!(attrs["package_type"], json!("Zip"));
        assert_eq!(attrs["tracing_config.0.mode"], json!("Active"));
        assert_eq!(attrs["ephemeral_storage.0.size"], json!(512));
        assert_eq!(
            attrs["environment.0.variables"],
            json!({"STAGE": "prod", "DB_PASSWORD": "x"})
        );
        assert_eq!(
            attrs["environment.0.variable_names"],
            json!(["DB_PASSWORD", "STAGE"])
        );
        // No variables live: an empty map, never null (a null would show
        // the state's values whole).
        let bare: BTreeMap<String, Value> =
            function_attrs(&Function::default()).into_iter().collect();
        assert_eq!(bare["environment.0.variables"], json!({}));
        assert!(!bare.contains_key("tracing_config.0.mode"));

        let mut s = json!({"environment": [{"variables": {"B": "1", "A": "2"}}]});
        prepare_function(&mut s);
        assert_eq!(s["environment"][0]["variable_names"], json!(["A", "B"]));
        let mut none = json!({"environment": []});
        prepare_function(&mut none);
        assert_eq!(none, json!({"environment": []}));
    }

    #[test]
    fn permissions_are_read_from_the_resource_policy() {
        let policy = json!({"Version": "2012-10-17", "Id": "default", "Statement": [
            {"Sid": "AllowS3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
             "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:eu-west-1:1:function:f",
             "Condition": {"StringEquals": {"AWS:SourceAccount": "123456789012"},
                           "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"}}},
            {"Sid": "Cross", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
             "Action": ["lambda:GetFunction"], "Resource": "*"}
        ]})
        .to_string();
        let got: BTreeMap<String, BTreeMap<String, Value>> = permissions(&policy)
            .into_iter()
            .map(|(sid, a)| (sid, a.into_iter().collect()))
            .collect();
        let s3 = &got["AllowS3"];
        assert_eq!(s3["action"], json!("lambda:InvokeFunction"));
        assert_eq!(s3["principal"], json!("s3.amazonaws.com"));
        assert_eq!(s3["source_arn"], json!("arn:aws:s3:::bucket"));
        assert_eq!(s3["source_account"], json!("123456789012"));
        assert_eq!(s3["principal_org_id"], Value::Null);
        let cross = &got["Cross"];
        assert_eq!(cross["principal"], json!("210987654321"));
        assert_eq!(cross["action"], json!("lambda:GetFunction"));
        assert!(permissions("").is_empty());

        let mut st = json!({"principal": "arn:aws:iam::210987654321:root"});
        prepare_permission(&mut st);
        assert_eq!(st["principal"], json!("210987654321"));
    }

    #[test]
    fn unmanaged_functions_carry_no_attributes() {
        let all = vec![
            Function {
                name: "a".into(),
                ..Function::default()
            },
            Function {
                name: "b".into(),
                ..Function::default()
            },
        ];
        let managed = BTreeSet::from(["a".to_owned()]);
        let objs = function_objects(true, &managed, &all);
        assert_eq!(objs.len(), 2);
        assert!(!objs[0].attrs.is_empty());
        assert!(objs[1].attrs.is_empty());
        assert_eq!(function_objects(false, &managed, &all).len(), 1);
    }
}
