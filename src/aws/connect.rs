//! How [`super::Aws::connect`] reaches AWS: the HTTP client (CA bundle,
//! proxies), retries, the shared profile files and the profile check, and the
//! STS clients and roles of the state and the live checks.

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use super::sts::{self, Role, RoleCredentials, SharedRole};
use super::{small_call_timeouts, AwsError, AwsErrorKind, CallCounter};
use crate::config::{AccessSettings, AwsAccess, RetryPolicy};

/// The HTTP client of every AWS client: rustls, plus the backend's
/// `custom_ca_bundle` (or `AWS_CA_BUNDLE`) and `http_proxy` / `https_proxy` /
/// `no_proxy`. `insecure = true` is refused: TLS is always verified.
pub(super) fn http_client(access: &AccessSettings) -> Result<SharedHttpClient, AwsError> {
    let config = |m: String| {
        AwsError::new(
            "configure",
            "the HTTP client",
            AwsErrorKind::Config,
            None,
            Some(m),
        )
    };
    if access.insecure == Some(true) {
        return Err(config("`insecure = true` is not supported: stateward always verifies TLS certificates; give the endpoint's CA with `custom_ca_bundle` (or AWS_CA_BUNDLE) instead".into()));
    }
    let tls_context = match &access.custom_ca_bundle {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                config(format!(
                    "cannot read the CA bundle {path} (`custom_ca_bundle` or AWS_CA_BUNDLE): {e}"
                ))
            })?;
            TlsContext::builder()
                .with_trust_store(TrustStore::default().with_pem_certificate(pem))
                .build()
                .map_err(|e| config(format!("the CA bundle {path} is not usable: {e}")))?
        }
        None => TlsContext::default(),
    };
    let Some(proxy) = proxy_config(access).map_err(config)? else {
        return Ok(aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .tls_context(tls_context)
            .build_https());
    };
    Ok(
        aws_smithy_http_client::Builder::new().build_with_connector_fn(
            move |settings, components| {
                let mut b = aws_smithy_http_client::Connector::builder();
                b.set_connector_settings(settings.cloned());
                if let Some(c) = components {
                    b.set_sleep_impl(c.sleep_impl());
                }
                b.proxy_config(proxy.clone())
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                    .tls_context(tls_context.clone())
                    .build()
            },
        ),
    )
}

/// The backend's proxies as one proxy configuration; `None` without any.
pub(super) fn proxy_config(access: &AccessSettings) -> Result<Option<ProxyConfig>, String> {
    let bad = |which: &str, e: &dyn std::fmt::Display| {
        format!("`{which}` is not a usable proxy URL: {e}")
    };
    let config = match (&access.http_proxy, &access.https_proxy) {
        (None, None) => return Ok(None),
        (Some(h), Some(s)) if h == s => ProxyConfig::all(h.as_str()).map_err(|e| bad("http_proxy", &e))?,
        (Some(_), Some(_)) => return Err("`http_proxy` and `https_proxy` name different proxies, which stateward cannot use together; set one (AWS endpoints are HTTPS: `https_proxy`) or the same URL in both".into()),
        (Some(h), None) => ProxyConfig::http(h.as_str()).map_err(|e| bad("http_proxy", &e))?,
        (None, Some(s)) => ProxyConfig::https(s.as_str()).map_err(|e| bad("https_proxy", &e))?,
    };
    Ok(Some(match &access.no_proxy {
        Some(rules) => config.no_proxy(rules),
        None => config,
    }))
}

/// The backend's `max_retries` (retries after the first attempt) and
/// `retry_mode`, over stateward's policy (standard, [`RetryPolicy::max_attempts`]).
///
/// Standard, not adaptive, unless asked: the adaptive mode's client-side
/// rate limiter charges 10 tokens per retry against a fill rate measured
/// from this process's own (low) request rate, so two throttling answers to
/// a lone lock `PutItem` delayed it 8.4 s and then 18 s (`tests/faults.rs`
/// `bursts_of_5xx_and_throttling_are_retried_and_the_restore_completes`
/// took 79 s); standard retries back off exponentially with jitter (1 s
/// base, 20 s cap).
pub(super) fn retry_config(
    access: &AccessSettings,
    retry: &RetryPolicy,
) -> aws_config::retry::RetryConfig {
    let attempts = access
        .max_retries
        .map_or(retry.max_attempts, |r| r.saturating_add(1));
    let config = match access.retry_mode.as_deref() {
        Some("adaptive") => aws_config::retry::RetryConfig::adaptive(),
        _ => aws_config::retry::RetryConfig::standard(),
    };
    config.with_max_attempts(attempts)
}

/// `shared_config_files` / `shared_credentials_files` as the SDK's file set
/// (each replaces its default file, as in Terraform); `None` when neither is set.
#[allow(deprecated)]
pub(super) fn profile_files(
    access: &AccessSettings,
) -> Option<aws_config::profile::profile_file::ProfileFiles> {
    use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
    if access.shared_config_files.is_none() && access.shared_credentials_files.is_none() {
        return None;
    }
    let mut b = ProfileFiles::builder();
    match &access.shared_config_files {
        Some(files) => {
            for f in files {
                b = b.with_file(ProfileFileKind::Config, f);
            }
        }
        None => b = b.include_default_config_file(true),
    }
    match &access.shared_credentials_files {
        Some(files) => {
            for f in files {
                b = b.with_file(ProfileFileKind::Credentials, f);
            }
        }
        None => b = b.include_default_credentials_file(true),
    }
    Some(b.build())
}

/// The credentials of the profile named by `--profile`, the backend's or the
/// environment file's `profile` (not `AWS_PROFILE`), from the shared files
/// (`shared_config_files` / `shared_credentials_files` when set). The SDK's
/// default chain would take `AWS_ACCESS_KEY_ID` before any profile; Terraform
/// (aws-sdk-go-v2) and the AWS CLI use a profile named in the configuration
/// first, and so does stateward.
#[allow(deprecated)]
pub(super) fn profile_credentials(
    settings: &AwsAccess,
    profile: &str,
    http: SharedHttpClient,
) -> aws_config::profile::ProfileFileCredentialsProvider {
    let conf = aws_config::provider_config::ProviderConfig::without_region()
        .with_http_client(http)
        .with_region(settings.region.clone().map(aws_config::Region::new));
    let mut b = aws_config::profile::ProfileFileCredentialsProvider::builder()
        .configure(&conf)
        .profile_name(profile);
    if let Some(files) = profile_files(&settings.access) {
        b = b.profile_files(files);
    }
    b.build()
}

/// A named profile (`--profile`, `profile`, or `AWS_PROFILE`) must exist in
/// the shared files: one sentence naming it, the file and the profiles there.
pub(super) async fn check_profile(settings: &AwsAccess) -> Result<(), AwsError> {
    let env = aws_types::os_shim_internal::Env::real();
    let name = match settings
        .profile
        .clone()
        .or_else(|| env.get(crate::envvars::AWS_PROFILE).ok())
    {
        Some(n) if !n.is_empty() => n,
        _ => return Ok(()),
    };
    #[allow(deprecated)]
    let files = profile_files(&settings.access).unwrap_or_default();
    let fs = aws_types::os_shim_internal::Fs::real();
    let where_ = match &settings.access.shared_config_files {
        Some(files) => files.join(", "),
        None => env
            .get(crate::envvars::AWS_CONFIG_FILE)
            .unwrap_or_else(|_| "~/.aws/config".into()),
    };
    let config = |m: String| {
        AwsError::new(
            "configure",
            "the AWS profile",
            AwsErrorKind::Config,
            None,
            Some(m),
        )
    };
    let set = aws_config::profile::load(&fs, &env, &files, None)
        .await
        .map_err(|e| {
            config(format!(
                "cannot read the AWS config files for profile `{name}`: {e}"
            ))
        })?;
    if set.get_profile(&name).is_some() {
        return Ok(());
    }
    let mut names: Vec<&str> = set.profiles().collect();
    names.sort_unstable();
    let known = if names.is_empty() {
        "it has no profiles".to_string()
    } else {
        format!("profiles: {}", names.join(", "))
    };
    Err(config(format!(
        "profile `{name}` is not in {where_} ({known}); pass --profile with one of them, or fix `profile` in the backend or AWS_PROFILE"
    )))
}

/// An STS client for `sdk`'s credentials: in `sts_region` when set, through
/// `endpoints.sts` (or AWS_ENDPOINT_URL_STS, or the general endpoint).
pub(super) fn sts_client(
    sdk: &aws_config::SdkConfig,
    settings: &AwsAccess,
    calls: &CallCounter,
) -> aws_sdk_sts::Client {
    let mut b = aws_sdk_sts::config::Builder::from(sdk)
        .timeout_config(small_call_timeouts(&settings.retry))
        .interceptor(calls.clone());
    if let Some(region) = &settings.access.sts_region {
        b = b.region(aws_config::Region::new(region.clone()));
    }
    if let Some(url) = settings
        .access
        .sts_endpoint
        .as_ref()
        .or(settings.endpoint_url.as_ref())
    {
        b = b.endpoint_url(url);
    }
    aws_sdk_sts::Client::from_conf(b.build())
}

/// `sdk` with the credentials of `role`, assumed now (once: every client
/// built from the result shares them) with `sdk`'s own credentials.
pub(super) async fn with_role(
    sdk: &aws_config::SdkConfig,
    settings: &AwsAccess,
    calls: &CallCounter,
    role: Role,
) -> Result<aws_config::SdkConfig, AwsError> {
    let endpoint = settings
        .access
        .sts_endpoint
        .as_deref()
        .or(settings.endpoint_url.as_deref());
    let creds = sts::role_of_run(&role.clone(), endpoint, || {
        RoleCredentials::new(sts_client(sdk, settings, calls), role)
    });
    creds.fetch().await?;
    Ok(sdk
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(SharedRole(creds)))
        .build())
}
