//! Roles and identity: the credentials of an assumed role (`assume_role`,
//! `assume_role_with_web_identity`), fetched once per run and shared by every
//! client built with them, and the caller's identity (`GetCallerIdentity`)
//! for account checks and error messages.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::provider::{self, future, ProvideCredentials};
use aws_credential_types::Credentials;

use super::{AwsError, AwsErrorKind};
use crate::config::{AssumeRole, WebIdentity};

/// Which role, and how it is assumed.
#[derive(Debug, Clone)]
pub(crate) enum Role {
    Assume(AssumeRole),
    WebIdentity(WebIdentity),
}

impl Role {
    fn arn(&self) -> &str {
        match self {
            Role::Assume(r) => &r.role_arn,
            Role::WebIdentity(w) => &w.role_arn,
        }
    }
}

/// Credentials of one role: the first [`RoleCredentials::fetch`] calls STS,
/// later calls return the same credentials until five minutes before they
/// expire, so one run assumes the role once however many clients use it.
#[derive(Debug)]
pub(crate) struct RoleCredentials {
    client: aws_sdk_sts::Client,
    role: Role,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

/// STS session names: `stateward-<unix seconds>` unless configured.
fn default_session_name() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!("stateward-{secs}")
}

fn to_system_time(t: &aws_smithy_types::DateTime) -> Option<SystemTime> {
    u64::try_from(t.secs())
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

impl RoleCredentials {
    /// `client` is an STS client carrying the credentials the role is
    /// assumed with (none are needed for a web identity).
    pub fn new(client: aws_sdk_sts::Client, role: Role) -> Arc<Self> {
        Arc::new(RoleCredentials {
            client,
            role,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// The role's credentials (STS is called once, then they are reused).
    pub async fn fetch(&self) -> Result<Credentials, AwsError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            let fresh = c
                .expiry()
                .is_none_or(|e| e > SystemTime::now() + Duration::from_secs(300));
            if fresh {
                return Ok(c.clone());
            }
        }
        let creds = self.call().await?;
        *cached = Some(creds.clone());
        Ok(creds)
    }

    async fn call(&self) -> Result<Credentials, AwsError> {
        let arn = self.role.arn().to_owned();
        let out = match &self.role {
            Role::Assume(r) => {
                let mut req = self
                    .client
                    .assume_role()
                    .role_arn(&r.role_arn)
                    .role_session_name(r.session_name.clone().unwrap_or_else(default_session_name))
                    .set_external_id(r.external_id.clone())
                    .set_policy(r.policy.clone())
                    .set_source_identity(r.source_identity.clone())
                    .set_duration_seconds(r.duration_seconds.map(|d| d as i32));
                for p in &r.policy_arns {
                    req = req.policy_arns(
                        aws_sdk_sts::types::PolicyDescriptorType::builder()
                            .arn(p)
                            .build(),
                    );
                }
                for (k, v) in &r.tags {
                    let tag = aws_sdk_sts::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .map_err(|e| {
                            config_error(format!("the role tag `{k}` is not valid: {e}"))
                        })?;
                    req = req.tags(tag);
                }
                for k in &r.transitive_tag_keys {
                    req = req.transitive_tag_keys(k);
                }
                req.send()
                    .await
                    .map_err(|e| AwsError::from_sdk("AssumeRole", &arn, e))?
                    .credentials
            }
            Role::WebIdentity(w) => {
                let token = match (&w.token, &w.token_file) {
                    (Some(t), _) => t.trim().to_owned(),
                    (None, Some(path)) => std::fs::read_to_string(path)
                        .map_err(|e| {
                            config_error(format!(
                                "cannot read the web identity token file {path}: {e}; check `web_identity_token_file` or AWS_WEB_IDENTITY_TOKEN_FILE"
                            ))
                        })?
                        .trim()
                        .to_owned(),
                    (None, None) => {
                        return Err(config_error(format!(
                            "`assume_role_with_web_identity` for {arn} has no token: set `web_identity_token_file` (or `web_identity_token`, or AWS_WEB_IDENTITY_TOKEN_FILE)"
                        )))
                    }
                };
                let mut req = self
                    .client
                    .assume_role_with_web_identity()
                    .role_arn(&w.role_arn)
                    .role_session_name(w.session_name.clone().unwrap_or_else(default_session_name))
                    .web_identity_token(token)
                    .set_policy(w.policy.clone())
                    .set_duration_seconds(w.duration_seconds.map(|d| d as i32));
                for p in &w.policy_arns {
                    req = req.policy_arns(
                        aws_sdk_sts::types::PolicyDescriptorType::builder()
                            .arn(p)
                            .build(),
                    );
                }
                req.send()
                    .await
                    .map_err(|e| AwsError::from_sdk("AssumeRoleWithWebIdentity", &arn, e))?
                    .credentials
            }
        };
        let c = out.ok_or_else(|| {
            AwsError::new(
                "AssumeRole",
                arn.clone(),
                AwsErrorKind::Other,
                None,
                Some("STS returned no credentials".into()),
            )
        })?;
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            to_system_time(c.expiration()),
            "stateward-role",
        ))
    }
}

/// The roles of this run, so that a second connection (a snapshot store in
/// another region, a command that connects twice) reuses the credentials
/// instead of assuming the role again.
static ROLES: std::sync::Mutex<Vec<(String, Arc<RoleCredentials>)>> =
    std::sync::Mutex::new(Vec::new());

/// The run's credentials for `role` through `endpoint`, made by `make` the
/// first time.
pub(crate) fn role_of_run(
    role: &Role,
    endpoint: Option<&str>,
    make: impl FnOnce() -> Arc<RoleCredentials>,
) -> Arc<RoleCredentials> {
    let key = format!("{role:?}|{endpoint:?}");
    let mut roles = ROLES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, found)) = roles.iter().find(|(k, _)| *k == key) {
        return found.clone();
    }
    let made = make();
    roles.push((key, made.clone()));
    made
}

fn config_error(message: String) -> AwsError {
    AwsError::new(
        "configure",
        "the AWS credentials",
        AwsErrorKind::Config,
        None,
        Some(message),
    )
}

/// The SDK's view: [`RoleCredentials`] as a credentials provider.
#[derive(Debug, Clone)]
pub(crate) struct SharedRole(pub Arc<RoleCredentials>);

impl ProvideCredentials for SharedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.0
                .fetch()
                .await
                .map_err(|e| provider::error::CredentialsError::provider_error(e.to_string()))
        })
    }
}

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

/// `GetCallerIdentity` with `client`'s credentials.
pub(crate) async fn caller_identity(client: &aws_sdk_sts::Client) -> Result<Identity, AwsError> {
    let out = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("GetCallerIdentity", "the AWS credentials", e))?;
    Ok(Identity {
        account: out.account().unwrap_or_default().to_owned(),
        arn: out.arn().unwrap_or_default().to_owned(),
    })
}

/// The STS client of the state's credentials and the configured region,
/// registered by the first [`super::Aws::connect`] of the run, so that an
/// error can name the identity that was denied or the region a table was
/// looked for in ([`explain`]).
static STATE: OnceLock<(aws_sdk_sts::Client, Option<String>)> = OnceLock::new();

pub(crate) fn register_state_sts(client: aws_sdk_sts::Client, region: Option<String>) {
    let _ = STATE.set((client, region));
}

/// The ARN of the state's credentials, when this run connected and STS
/// answers within a few seconds; `None` otherwise.
pub async fn state_identity() -> Option<String> {
    let (client, _) = STATE.get()?;
    tokio::time::timeout(Duration::from_secs(5), caller_identity(client))
        .await
        .ok()?
        .ok()
        .map(|i| i.arn)
        .filter(|a| !a.is_empty())
}

/// Completes an error for the person reading it: an access denial names the
/// identity that was denied (one `GetCallerIdentity`), a missing lock table
/// the region it was looked for in.
pub async fn explain(mut e: AwsError) -> AwsError {
    match e.kind {
        // Only the state's calls are made as the state's identity; a live
        // check's denial is not named after it.
        AwsErrorKind::AccessDenied
            if e.context.identity.is_none() && super::uses_the_states_credentials(e.operation) =>
        {
            e.context.identity = state_identity().await;
        }
        AwsErrorKind::NotFound if e.context.region.is_none() => {
            e.context.region = client_region();
        }
        _ => {}
    }
    e
}

fn client_region() -> Option<String> {
    let (client, configured) = STATE.get()?;
    configured
        .clone()
        .or_else(|| client.config().region().map(|r| r.to_string()))
}
