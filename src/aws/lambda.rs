//! Lambda adapter: ListFunctions (50 a page, the API's most), GetFunction
//! (the naive baseline) and GetPolicy (a function's resource policy, for
//! the permissions a state manages).

use std::collections::BTreeMap;

use aws_sdk_lambda::types::FunctionConfiguration;

use super::{AwsError, AwsErrorKind};

/// A function's `$LATEST` configuration, as far as drift compares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Function {
    pub name: String,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub role: Option<String>,
    pub description: Option<String>,
    pub memory_size: Option<i32>,
    pub timeout: Option<i32>,
    pub architectures: Vec<String>,
    /// `Zip` or `Image`.
    pub package_type: Option<String>,
    /// Environment variables; `None` when the function has none.
    pub variables: Option<BTreeMap<String, String>>,
    pub kms_key_arn: Option<String>,
    /// Layer ARNs (with version).
    pub layers: Vec<String>,
    /// `PassThrough` or `Active`.
    pub tracing_mode: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub ephemeral_storage: Option<i32>,
    pub dead_letter_target: Option<String>,
}

fn function(c: &FunctionConfiguration) -> Option<Function> {
    let vpc = c.vpc_config();
    Some(Function {
        name: c.function_name()?.to_owned(),
        runtime: c.runtime().map(|r| r.as_str().to_owned()),
        handler: c.handler().map(str::to_owned),
        role: c.role().map(str::to_owned),
        description: c.description().map(str::to_owned),
        memory_size: c.memory_size(),
        timeout: c.timeout(),
        architectures: c
            .architectures()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        package_type: c.package_type().map(|p| p.as_str().to_owned()),
        variables: c.environment().and_then(|e| e.variables()).map(|v| {
            v.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<_, _>>()
        }),
        kms_key_arn: c.kms_key_arn().map(str::to_owned),
        layers: c
            .layers()
            .iter()
            .filter_map(|l| l.arn().map(str::to_owned))
            .collect(),
        tracing_mode: c
            .tracing_config()
            .and_then(|t| t.mode())
            .map(|m| m.as_str().to_owned()),
        subnet_ids: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
        security_group_ids: vpc
            .map(|v| v.security_group_ids().to_vec())
            .unwrap_or_default(),
        ephemeral_storage: c.ephemeral_storage().map(|e| e.size()),
        dead_letter_target: c
            .dead_letter_config()
            .and_then(|d| d.target_arn())
            .map(str::to_owned),
    })
}

/// The Lambda client.
#[derive(Clone, Debug)]
pub struct Lambda {
    client: aws_sdk_lambda::Client,
}

impl Lambda {
    pub(super) fn new(client: aws_sdk_lambda::Client) -> Self {
        Lambda { client }
    }

    /// Every function of the region (ListFunctions, `$LATEST` versions).
    pub async fn functions(&self) -> Result<Vec<Function>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_functions()
                .max_items(50)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("ListFunctions", "the region's Lambda functions", e)
                })?;
            out.extend(page.functions().iter().filter_map(function));
            match page.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// One function (GetFunction); `None` when it does not exist.
    pub async fn function(&self, name: &str) -> Result<Option<Function>, AwsError> {
        match self.client.get_function().function_name(name).send().await {
            Ok(r) => Ok(r.configuration().and_then(function)),
            Err(e) => {
                let e = AwsError::from_sdk("GetFunction", format!("Lambda function {name}"), e);
                if e.kind == AwsErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// A function's (or a qualified version's or alias's) resource policy
    /// (GetPolicy); `None` when the function or its policy does not exist.
    pub async fn policy(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Option<String>, AwsError> {
        let r = self
            .client
            .get_policy()
            .function_name(name)
            .set_qualifier(qualifier.map(str::to_owned))
            .send()
            .await;
        match r {
            Ok(r) => Ok(r.policy().map(str::to_owned)),
            Err(e) => {
                let e = AwsError::from_sdk("GetPolicy", format!("Lambda function {name}"), e);
                if e.kind == AwsErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }
}
