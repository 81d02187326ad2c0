//! The AWS adapters: the only place `aws_sdk_*` types are used.
//!
//! [`Aws::connect`] is the one factory: it builds every client from one
//! [`AwsAccess`] (resolved by [`crate::config::Settings`]) with one retry and
//! timeout policy, [`RetryPolicy`], for every command; `connect` holds how it
//! reaches AWS (HTTP client, profiles, STS clients) and `sts` the roles and
//! the caller identity. Each adapter
//! (`s3`, `dynamodb`, `eks`, `rds`, `tagging`) returns the project's own types and
//! maps SDK errors to [`AwsError`].

pub mod acm;
pub mod apigatewayv2;
pub mod autoscaling;
mod connect;
pub mod dynamodb;
pub mod ec2;
pub mod ecr;
pub mod ecs;
pub mod eks;
pub mod elbv2;
pub mod events;
pub mod iam;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod object;
pub mod rds;
pub mod route53;
pub mod s3;
pub mod secretsmanager;
pub mod sns;
pub mod sqs;
pub mod sts;
pub mod tagging;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;

use crate::config::access::account_refusal;
use crate::config::{AwsAccess, RetryPolicy, Target};
use connect::{
    check_profile, http_client, profile_credentials, profile_files, retry_config, sts_client,
    with_role,
};
use sts::Role;

/// Timeouts of calls with small bodies (every service but S3): per attempt
/// and per operation (every attempt and the backoff between them).
fn small_call_timeouts(retry: &RetryPolicy) -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(retry.connect_timeout)
        .operation_attempt_timeout(retry.attempt_timeout)
        .operation_timeout(retry.operation_timeout)
        .build()
}

/// Timeouts of S3, whose bodies (state versions, snapshots) may be large: no
/// attempt or operation timeout, which would cut a long transfer that keeps
/// moving; the read timeout cuts a response whose headers do not come, and
/// a `GetObject` body is held to [`s3::Transfer`] (no bytes for the read
/// timeout, or slower than the throughput floor: cut and read again).
fn transfer_timeouts(retry: &RetryPolicy) -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(retry.connect_timeout)
        .read_timeout(retry.read_timeout)
        .disable_operation_attempt_timeout()
        .disable_operation_timeout()
        .build()
}

/// Awaits `fut`; when it takes longer than `after`, the progress display
/// says `what` it waits for until it ends ("nothing waits in silence").
pub(crate) async fn noticed<F: std::future::Future>(
    after: std::time::Duration,
    what: String,
    fut: F,
) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let throttled_before = throttled_answers();
    match tokio::time::timeout(after, &mut fut).await {
        Ok(v) => v,
        Err(_) => {
            let notice = crate::output::Progress::spinner(what.clone());
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
            let mut shown = 0;
            loop {
                tokio::select! {
                    v = &mut fut => {
                        notice.finish();
                        return v;
                    }
                    _ = tick.tick() => {
                        let n = throttled_answers() - throttled_before;
                        if n != shown {
                            shown = n;
                            notice.set_message(throttle_notice(&what, n));
                        }
                    }
                }
            }
        }
    }
}

/// The progress line of a wait during which AWS answered "slow down" `n`
/// times: the throttling is shown as it happens, not only the wait.
fn throttle_notice(what: &str, n: u64) -> String {
    let times = if n == 1 { "once" } else { "times" };
    let count = if n == 1 {
        String::new()
    } else {
        format!("{n} ")
    };
    format!("{what}; AWS has throttled {count}{times} so far")
}

/// Whether an HTTP answer is AWS asking the caller to slow down: 429, 503
/// (S3's `SlowDown`), or a throttling error code in a 400's body or
/// `x-amzn-ErrorType` header (DynamoDB, IAM, EC2 and the JSON services).
fn is_throttling_answer(status: u16, error_type: Option<&str>, body: Option<&[u8]>) -> bool {
    const CODES: &[&str] = &[
        "Throttl",
        "TooManyRequests",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
        "SlowDown",
        "BandwidthLimitExceeded",
        "PriorRequestNotComplete",
        "LimitExceededException",
    ];
    let names = |text: &str| CODES.iter().any(|c| text.contains(c));
    match status {
        429 | 503 => true,
        400 => {
            error_type.is_some_and(names)
                || body
                    .filter(|b| b.len() <= 8 * 1024)
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .is_some_and(names)
        }
        _ => false,
    }
}

/// The AWS clients of one run.
///
/// S3 and DynamoDB clients are built once (they carry their own endpoint
/// overrides); every other service's client is built from the shared
/// configuration when asked for, which costs no request.
///
/// Two identities: the state's (S3 and DynamoDB clients of [`Aws::bucket`] and
/// [`Aws::table`]: the backend's profile, web identity and `assume_role`) and
/// the live checks' (every other adapter, [`Aws::s3_account`] and
/// [`Aws::dynamodb_tables`]: the caller's own identity, or the environment
/// file's `drift { assume_role }`). Without roles they are the same.
#[derive(Clone, Debug)]
pub struct Aws {
    /// The live checks' configuration.
    sdk: aws_config::SdkConfig,
    /// The state's configuration.
    state_sdk: aws_config::SdkConfig,
    settings: AwsAccess,
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    live_s3: aws_sdk_s3::Client,
    live_dynamodb: aws_sdk_dynamodb::Client,
    calls: CallCounter,
}

/// Builds a service client from the shared configuration, counting its requests.
macro_rules! service_client {
    ($aws:expr, $sdk:ident) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from(&$aws.sdk)
                .interceptor($aws.calls.clone())
                .build(),
        )
    };
}

/// Counts every HTTP request the clients send (retries included): the
/// figure `drift --stats` and the benchmark report; and every answer that
/// asked to slow down, which a wait's progress line shows as it happens.
#[derive(Clone, Debug, Default)]
struct CallCounter(Arc<AtomicU64>);

impl aws_smithy_runtime_api::client::interceptors::Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "stateward-call-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        PROCESS_CALLS.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let response = context.response();
        if is_throttling_answer(
            response.status().as_u16(),
            response.headers().get("x-amzn-ErrorType"),
            response.body().bytes(),
        ) {
            PROCESS_THROTTLED.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Answers in which AWS asked this process to slow down (see
/// [`is_throttling_answer`]), across all [`Aws`] instances.
static PROCESS_THROTTLED: AtomicU64 = AtomicU64::new(0);

/// How many times AWS has throttled this process so far (retries included).
pub fn throttled_answers() -> u64 {
    PROCESS_THROTTLED.load(Ordering::Relaxed)
}

/// Every AWS request this process sent, across all [`Aws`] instances.
static PROCESS_CALLS: AtomicU64 = AtomicU64::new(0);

/// How many AWS requests this process has sent so far (retries included).
pub fn calls_made() -> u64 {
    PROCESS_CALLS.load(Ordering::Relaxed)
}

impl Aws {
    /// Builds the clients. Credentials and region come from the standard AWS
    /// chain (environment, profiles, SSO, instance metadata) unless set here;
    /// a configured role is assumed here, once, and an account rule
    /// (`allowed_account_ids` / `forbidden_account_ids`) is checked here,
    /// before any command reads or writes anything.
    pub async fn connect(settings: &AwsAccess) -> Result<Aws, AwsError> {
        let access = &settings.access;
        let http = http_client(access)?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http.clone());
        if let Some(region) = &settings.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(files) = profile_files(access) {
            loader = loader.profile_files(files);
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let static_keys = access.static_keys.as_ref().and_then(|k| {
            Some((
                k.access_key.clone()?,
                k.secret_key.clone()?,
                k.token.clone(),
            ))
        });
        if let Some((ak, sk, token)) = static_keys {
            loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                ak,
                sk,
                token,
                None,
                "backend-block",
            ));
        } else if let Some(profile) = &settings.profile {
            // A profile named in the configuration wins over the
            // environment's keys, as in Terraform and the AWS CLI.
            loader = loader.credentials_provider(profile_credentials(settings, profile, http));
        }
        if let Some(fips) = access.use_fips_endpoint {
            loader = loader.use_fips(fips);
        }
        if let Some(dual) = access.use_dualstack_endpoint {
            loader = loader.use_dual_stack(dual);
        }
        // Every command: adaptive retry (or the backend's `retry_mode`), and
        // the small-call timeouts; the S3 client replaces the timeouts with
        // its own (see `build`).
        let retry = &settings.retry;
        loader = loader
            .retry_config(retry_config(access, retry))
            .timeout_config(small_call_timeouts(retry));
        check_profile(settings).await?;
        let base = loader.load().await;
        if base.region().is_none() {
            return Err(AwsError::new(
                "configure",
                "the AWS region",
                AwsErrorKind::Config,
                None,
                Some("no AWS region is configured: pass --region, set `region` in the environment file or backend, or set AWS_REGION".into()),
            ));
        }
        let calls = CallCounter::default();
        let mut state_sdk = base.clone();
        if let Some(w) = &access.web_identity {
            state_sdk =
                with_role(&state_sdk, settings, &calls, Role::WebIdentity(w.clone())).await?;
        }
        if let Some(r) = &access.assume_role {
            state_sdk = with_role(&state_sdk, settings, &calls, Role::Assume(r.clone())).await?;
        }
        let live_sdk = match &settings.live_role {
            Some(r) => with_role(&base, settings, &calls, Role::Assume(r.clone())).await?,
            None => base,
        };
        let state_sts = sts_client(&state_sdk, settings, &calls);
        sts::register_state_sts(state_sts.clone(), settings.region.clone());
        if access.checks_account() {
            let me = sts::caller_identity(&state_sts).await?;
            if let Some(reason) = account_refusal(access, &me.account) {
                return Err(AwsError::new(
                    "configure",
                    "the AWS account",
                    AwsErrorKind::Config,
                    None,
                    Some(reason),
                ));
            }
        }
        Ok(Aws::build(live_sdk, state_sdk, settings.clone(), calls))
    }

    fn build(
        sdk: aws_config::SdkConfig,
        state_sdk: aws_config::SdkConfig,
        settings: AwsAccess,
        calls: CallCounter,
    ) -> Aws {
        let (s3, dynamodb) = Aws::storage_clients(&state_sdk, &settings, &calls);
        let (live_s3, live_dynamodb) = Aws::storage_clients(&sdk, &settings, &calls);
        Aws {
            s3,
            dynamodb,
            live_s3,
            live_dynamodb,
            sdk,
            state_sdk,
            settings,
            calls,
        }
    }

    fn storage_clients(
        sdk: &aws_config::SdkConfig,
        settings: &AwsAccess,
        calls: &CallCounter,
    ) -> (aws_sdk_s3::Client, aws_sdk_dynamodb::Client) {
        let mut s3 = aws_sdk_s3::config::Builder::from(sdk)
            .timeout_config(transfer_timeouts(&settings.retry));
        if let Some(url) = &settings.s3_endpoint {
            s3 = s3.endpoint_url(url);
        }
        if settings.force_path_style || settings.s3_endpoint.is_some() {
            s3 = s3.force_path_style(true);
        }
        let mut ddb = aws_sdk_dynamodb::config::Builder::from(sdk);
        if let Some(url) = &settings.dynamodb_endpoint {
            ddb = ddb.endpoint_url(url);
        }
        let s3 = s3.interceptor(calls.clone());
        let ddb = ddb.interceptor(calls.clone());
        (
            aws_sdk_s3::Client::from_conf(s3.build()),
            aws_sdk_dynamodb::Client::from_conf(ddb.build()),
        )
    }

    /// The same credentials and settings in another region (requests are
    /// counted together).
    pub fn in_region(&self, region: &str) -> Aws {
        if self.region().as_deref() == Some(region) {
            return self.clone();
        }
        let in_region = |sdk: &aws_config::SdkConfig| {
            sdk.to_builder()
                .region(aws_config::Region::new(region.to_owned()))
                .build()
        };
        Aws::build(
            in_region(&self.sdk),
            in_region(&self.state_sdk),
            self.settings.clone(),
            self.calls.clone(),
        )
    }

    /// The retry and timeout policy the clients were built with.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.settings.retry
    }

    /// How many HTTP requests the clients have sent so far (retries included).
    pub fn calls(&self) -> u64 {
        self.calls.0.load(Ordering::Relaxed)
    }

    /// The region the clients talk to.
    pub fn region(&self) -> Option<String> {
        self.sdk.region().map(|r| r.to_string())
    }

    /// Account-wide S3 calls (ListBuckets).
    pub fn s3_account(&self) -> s3::S3Account {
        s3::S3Account::new(self.live_s3.clone())
    }

    /// Account-wide DynamoDB calls (ListTables, DescribeTable, ...).
    pub fn dynamodb_tables(&self) -> dynamodb::Tables {
        dynamodb::Tables::new(self.live_dynamodb.clone())
    }

    /// The EKS adapter.
    pub fn eks(&self) -> eks::Eks {
        eks::Eks::new(service_client!(self, aws_sdk_eks))
    }

    /// The RDS adapter.
    pub fn rds(&self) -> rds::Rds {
        rds::Rds::new(service_client!(self, aws_sdk_rds))
    }

    /// The Resource Groups Tagging adapter (tags of many resources per call).
    pub fn tagging(&self) -> tagging::Tagging {
        tagging::Tagging::new(service_client!(self, aws_sdk_resourcegroupstagging))
    }

    /// The EC2 adapter (VPC networking, instances, launch templates).
    pub fn ec2(&self) -> ec2::Ec2 {
        ec2::Ec2::new(service_client!(self, aws_sdk_ec2))
    }

    /// The IAM adapter (global: any region's client reaches it).
    pub fn iam(&self) -> iam::Iam {
        iam::Iam::new(service_client!(self, aws_sdk_iam))
    }

    /// The KMS adapter.
    pub fn kms(&self) -> kms::Kms {
        kms::Kms::new(service_client!(self, aws_sdk_kms))
    }

    /// The CloudWatch Logs adapter.
    pub fn logs(&self) -> logs::Logs {
        logs::Logs::new(service_client!(self, aws_sdk_cloudwatchlogs))
    }

    /// The Lambda adapter.
    pub fn lambda(&self) -> lambda::Lambda {
        lambda::Lambda::new(service_client!(self, aws_sdk_lambda))
    }

    /// The ECR adapter.
    pub fn ecr(&self) -> ecr::Ecr {
        ecr::Ecr::new(service_client!(self, aws_sdk_ecr))
    }

    /// The Auto Scaling adapter.
    pub fn autoscaling(&self) -> autoscaling::AutoScaling {
        autoscaling::AutoScaling::new(service_client!(self, aws_sdk_autoscaling))
    }

    /// The Elastic Load Balancing v2 adapter.
    pub fn elbv2(&self) -> elbv2::Elbv2 {
        elbv2::Elbv2::new(service_client!(self, aws_sdk_elasticloadbalancingv2))
    }

    /// The API Gateway v2 adapter.
    pub fn apigatewayv2(&self) -> apigatewayv2::ApiGatewayV2 {
        apigatewayv2::ApiGatewayV2::new(service_client!(self, aws_sdk_apigatewayv2))
    }

    /// The ECS adapter.
    pub fn ecs(&self) -> ecs::Ecs {
        ecs::Ecs::new(service_client!(self, aws_sdk_ecs))
    }

    /// The SQS adapter.
    pub fn sqs(&self) -> sqs::Sqs {
        sqs::Sqs::new(service_client!(self, aws_sdk_sqs))
    }

    /// The Route 53 adapter (global).
    pub fn route53(&self) -> route53::Route53 {
        route53::Route53::new(service_client!(self, aws_sdk_route53))
    }

    /// The Secrets Manager adapter.
    pub fn secretsmanager(&self) -> secretsmanager::SecretsManager {
        secretsmanager::SecretsManager::new(service_client!(self, aws_sdk_secretsmanager))
    }

    /// The ACM adapter.
    pub fn acm(&self) -> acm::Acm {
        acm::Acm::new(service_client!(self, aws_sdk_acm))
    }

    /// The SNS adapter.
    pub fn sns(&self) -> sns::Sns {
        sns::Sns::new(service_client!(self, aws_sdk_sns))
    }

    /// The EventBridge (CloudWatch Events) adapter.
    pub fn events(&self) -> events::Events {
        events::Events::new(service_client!(self, aws_sdk_eventbridge))
    }

    /// The DynamoDB adapter for one lock table.
    pub fn table(&self, name: &str) -> dynamodb::Table {
        dynamodb::Table::new(self.dynamodb.clone(), name)
    }

    /// The S3 adapter for one bucket.
    pub fn bucket(&self, bucket: &str) -> s3::Bucket {
        match found_bucket_region(bucket) {
            Some(region) => {
                let sdk = self
                    .state_sdk
                    .to_builder()
                    .region(aws_config::Region::new(region))
                    .build();
                let (s3, _) = Aws::storage_clients(&sdk, &self.settings, &self.calls);
                s3::Bucket::new(s3, bucket)
            }
            None => s3::Bucket::new(self.s3.clone(), bucket),
        }
        .with_transfer(s3::Transfer::of(&self.settings.retry))
    }

    /// The S3 adapter for the state's bucket: its writes send what Terraform
    /// sends for this backend (SSE, ACL, checksum), its reads the SSE-C key.
    pub fn state_bucket(&self, target: &Target) -> s3::Bucket {
        self.bucket(&target.bucket)
            .with_writes(target.encryption.clone())
    }
}

/// Buckets S3 said are in another region than the one asked (its
/// `x-amz-bucket-region`), with that region: [`Aws::bucket`] uses it.
static BUCKET_REGIONS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

fn found_bucket_region(bucket: &str) -> Option<String> {
    BUCKET_REGIONS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|(b, _)| b == bucket)
        .map(|(_, r)| r.clone())
}

/// When `e` is S3 saying the bucket is in another region, remembers that
/// region for the bucket (later [`Aws::bucket`]s use it) and returns the note
/// to print; `None` for any other error, or when the bucket's region was
/// already followed once (no loop).
pub fn follow_bucket_region(e: &AwsError) -> Option<String> {
    let region = e.context.bucket_region.as_ref()?;
    let bucket = e.resource.strip_prefix("s3://")?.split('/').next()?;
    let mut known = BUCKET_REGIONS.lock().unwrap_or_else(|p| p.into_inner());
    if bucket.is_empty() || known.iter().any(|(b, _)| b == bucket) {
        return None;
    }
    known.push((bucket.to_owned(), region.clone()));
    Some(format!(
        "the bucket {bucket} is in {region}; using it; pass --region {region} to skip this"
    ))
}

/// A string the API gave, owned; `None` when absent or empty.
pub(crate) fn non_empty(v: Option<&str>) -> Option<String> {
    v.filter(|v| !v.is_empty()).map(str::to_owned)
}

/// Tags from `(key, value)` pairs as a sorted map, without AWS's own `aws:`
/// tags (which no configuration can set) and pairs without a key.
pub(crate) fn user_tags<'a>(
    pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> std::collections::BTreeMap<String, String> {
    pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k?, v.unwrap_or_default())))
        .filter(|(k, _)| !k.starts_with("aws:"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// An SDK timestamp as the project's time type (`None` if out of range).
pub(crate) fn to_time(t: &aws_smithy_types::DateTime) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(
        t.secs() as i128 * 1_000_000_000 + t.subsec_nanos() as i128,
    )
    .ok()
}

/// What kind of failure an AWS call ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// The bucket, key, version, table or item does not exist.
    NotFound,
    /// The caller may not do this.
    AccessDenied,
    /// No usable credentials.
    Credentials,
    /// Throttled after the SDK's retries.
    Throttled,
    /// The endpoint could not be reached.
    Network,
    /// A conditional write lost (S3 412, DynamoDB ConditionalCheckFailed).
    PreconditionFailed,
    /// Local configuration problem (region, endpoint).
    Config,
    /// Anything else the service said.
    Other,
}

impl AwsErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AwsErrorKind::NotFound => "not-found",
            AwsErrorKind::AccessDenied => "access-denied",
            AwsErrorKind::Credentials => "credentials",
            AwsErrorKind::Throttled => "throttled",
            AwsErrorKind::Network => "network",
            AwsErrorKind::PreconditionFailed => "precondition-failed",
            AwsErrorKind::Config => "aws-config",
            AwsErrorKind::Other => "aws",
        }
    }
}

/// Whether `operation` is one stateward makes with the state's credentials
/// (S3 objects and buckets, DynamoDB lock items, STS), not a live check of
/// another service (EKS, RDS, EC2, ...), which runs as the caller or with
/// the environment file's `drift { assume_role }`. Pure.
pub fn uses_the_states_credentials(operation: &str) -> bool {
    operation.contains("Object")
        || operation.contains("Bucket")
        || operation.ends_with("Item")
        || matches!(
            operation,
            "Scan"
                | "Query"
                | "DescribeTable"
                | "GetCallerIdentity"
                | "AssumeRole"
                | "AssumeRoleWithWebIdentity"
        )
}

/// A failed AWS call, in one sentence: what failed, why, and what to do.
#[derive(Debug, Clone)]
pub struct AwsError {
    /// The API operation, e.g. `GetObject`.
    pub operation: &'static str,
    /// What it was about, e.g. `s3://bucket/key`.
    pub resource: String,
    pub kind: AwsErrorKind,
    /// The service's error code, when it gave one.
    pub code: Option<String>,
    /// The service's message or the transport's description.
    pub message: Option<String>,
    /// What is known about the circumstances (boxed: errors stay small).
    pub context: Box<ErrorContext>,
}

/// The circumstances of an [`AwsError`], filled when known.
#[derive(Debug, Clone, Default)]
pub struct ErrorContext {
    /// The identity that was denied (ARN) ([`sts::explain`]).
    pub identity: Option<String>,
    /// The region the call went to ([`sts::explain`]).
    pub region: Option<String>,
    /// S3's `x-amz-bucket-region` on a wrong-region answer.
    pub bucket_region: Option<String>,
}

impl AwsError {
    pub fn new(
        operation: &'static str,
        resource: impl Into<String>,
        kind: AwsErrorKind,
        code: Option<String>,
        message: Option<String>,
    ) -> Self {
        AwsError {
            operation,
            resource: resource.into(),
            kind,
            code,
            message,
            context: Box::default(),
        }
    }

    /// The DynamoDB table this error is about, if any (`DynamoDB table NAME ...`).
    fn table(&self) -> Option<&str> {
        self.resource
            .strip_prefix("DynamoDB table ")
            .and_then(|rest| rest.split_whitespace().next())
    }

    /// Maps any SDK error to an [`AwsError`].
    pub(crate) fn from_sdk<E>(
        operation: &'static str,
        resource: impl Into<String>,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let resource = resource.into();
        tracing::debug!(operation, %resource, error = ?err, "AWS call failed");
        match &err {
            SdkError::ServiceError(service) => {
                let code = service.err().code().map(str::to_owned);
                let message = service.err().message().map(str::to_owned);
                let status = Some(service.raw().status().as_u16());
                let bucket_region = service
                    .raw()
                    .headers()
                    .get("x-amz-bucket-region")
                    .map(str::to_owned);
                let kind = classify(code.as_deref(), status);
                let mut e = AwsError::new(operation, resource, kind, code, message);
                if matches!(status, Some(301) | Some(400) | Some(403)) {
                    e.context.bucket_region = bucket_region;
                }
                e
            }
            SdkError::DispatchFailure(failure) => {
                let detail = source_chain(&err);
                let kind = if failure.is_io() || failure.is_timeout() {
                    AwsErrorKind::Network
                } else if detail.contains("credentials") {
                    AwsErrorKind::Credentials
                } else {
                    AwsErrorKind::Network
                };
                AwsError::new(operation, resource, kind, None, Some(detail))
            }
            SdkError::TimeoutError(_) => AwsError::new(
                operation,
                resource,
                AwsErrorKind::Network,
                None,
                Some("the request timed out".into()),
            ),
            SdkError::ConstructionFailure(_) => {
                let detail = source_chain(&err);
                let kind = if detail.contains("credentials") {
                    AwsErrorKind::Credentials
                } else {
                    AwsErrorKind::Config
                };
                AwsError::new(operation, resource, kind, None, Some(detail))
            }
            SdkError::ResponseError(_) => AwsError::new(
                operation,
                resource,
                AwsErrorKind::Other,
                None,
                Some(source_chain(&err)),
            ),
            _ => AwsError::new(
                operation,
                resource,
                AwsErrorKind::Other,
                None,
                Some(source_chain(&err)),
            ),
        }
    }
}

/// Classifies a service error code (and HTTP status) into a kind.
pub(crate) fn classify(code: Option<&str>, status: Option<u16>) -> AwsErrorKind {
    match code.unwrap_or_default() {
        "NoSuchBucket"
        | "NoSuchKey"
        | "NoSuchVersion"
        | "NotFound"
        | "ResourceNotFoundException"
        | "DBInstanceNotFound"
        | "DBInstanceNotFoundFault"
        | "DBClusterNotFoundFault"
        | "DBSubnetGroupNotFoundFault"
        | "NoSuchTagSet"
        | "NoSuchTagSetError"
        | "NoSuchLifecycleConfiguration"
        | "ServerSideEncryptionConfigurationNotFoundError"
        | "NoSuchPublicAccessBlockConfiguration" => AwsErrorKind::NotFound,
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "AllAccessDisabled"
        | "AuthorizationError"
        | "Forbidden" => AwsErrorKind::AccessDenied,
        "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "InvalidToken"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId" => AwsErrorKind::Credentials,
        "Throttling"
        | "ThrottlingException"
        | "SlowDown"
        | "RequestLimitExceeded"
        | "ProvisionedThroughputExceededException"
        | "TooManyRequestsException" => AwsErrorKind::Throttled,
        "PreconditionFailed" | "ConditionalCheckFailedException" | "ConditionalRequestConflict" => {
            AwsErrorKind::PreconditionFailed
        }
        // EC2's `InvalidVpcID.NotFound`, IAM's `NoSuchEntity`, KMS's
        // `NotFoundException`, ECS's `ClusterNotFoundException`, ...
        c if c.ends_with(".NotFound")
            || c.ends_with("NotFound")
            || c.ends_with("NotFoundException")
            || c.ends_with("NotFoundFault")
            || c.starts_with("NoSuch") =>
        {
            AwsErrorKind::NotFound
        }
        c if c.starts_with("AccessDenied") || c.ends_with("AccessDeniedException") => {
            AwsErrorKind::AccessDenied
        }
        _ => match status {
            Some(404) => AwsErrorKind::NotFound,
            Some(403) => AwsErrorKind::AccessDenied,
            Some(412) => AwsErrorKind::PreconditionFailed,
            Some(429) | Some(503) => AwsErrorKind::Throttled,
            _ => AwsErrorKind::Other,
        },
    }
}

fn source_chain(err: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p: &String| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = format!("{} on {}", self.operation, self.resource);
        let detail = match (&self.code, &self.message) {
            (Some(c), Some(m)) if !m.is_empty() => format!(" ({c}: {m})"),
            (Some(c), _) => format!(" ({c})"),
            (None, Some(m)) => format!(" ({m})"),
            (None, None) => String::new(),
        };
        if let Some(region) = &self.context.bucket_region {
            return write!(f, "{what} failed: the bucket is in {region}, not the region stateward used{detail}; pass --region {region} (or set `region` in the backend)");
        }
        let in_region = self
            .context
            .region
            .as_deref()
            .map(|r| format!(" in {r}"))
            .unwrap_or_default();
        match self.kind {
            AwsErrorKind::NotFound => match self.table() {
                Some(table) => write!(f, "the DynamoDB lock table `{table}` does not exist{in_region} ({} failed{detail}); name the right table with --dynamodb-table or `dynamodb_table`, and its region with --region or `region`", self.operation),
                None => write!(f, "{what} failed: it does not exist{detail}; check the bucket, key and region"),
            },
            AwsErrorKind::AccessDenied => {
                let who = self
                    .context
                    .identity
                    .as_deref()
                    .map(|i| format!(" for {i}"))
                    .unwrap_or_default();
                if uses_the_states_credentials(self.operation) {
                    write!(f, "{what} failed: access denied{who}{detail}; check that this identity, or the role the backend assumes (`assume_role`, --role-arn), may call {}", self.operation)
                } else {
                    write!(f, "{what} failed: access denied{who}{detail}; live checks run as the caller, or with the environment file's `drift {{ assume_role }}`: check that this identity may call {}", self.operation)
                }
            }
            AwsErrorKind::Credentials => write!(f, "{what} failed: no valid AWS credentials{detail}; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or log in with `aws sso login`"),
            AwsErrorKind::Throttled => write!(f, "{what} failed: AWS throttled the request after retries{detail}; wait and run the command again"),
            AwsErrorKind::Network => write!(f, "{what} failed: the AWS endpoint could not be reached{detail}; check the network, the region and any --endpoint-url"),
            AwsErrorKind::PreconditionFailed => write!(f, "{what} failed: a conditional write found the object changed or already present{detail}"),
            AwsErrorKind::Config => match &self.message {
                Some(m) => write!(f, "{m}"),
                None => write!(f, "{what} failed: the AWS configuration is incomplete"),
            },
            AwsErrorKind::Other => write!(f, "{what} failed{detail}; run with -v for details"),
        }
    }
}

impl std::error::Error for AwsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_answers_are_told_from_other_errors() {
        let ddb =
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"x"}"#;
        let pte = br#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}"#;
        let ec2 = b"<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error></Errors></Response>";
        let denied = br#"{"__type":"AccessDeniedException"}"#;
        type Case<'a> = (u16, Option<&'a str>, Option<&'a [u8]>, bool);
        let cases: &[Case] = &[
            (503, None, None, true),
            (429, None, None, true),
            (400, None, Some(ddb), true),
            (400, None, Some(pte), true),
            (400, None, Some(ec2), true),
            (400, Some("ThrottlingException:http://internal"), None, true),
            (400, None, Some(denied), false),
            (400, None, None, false),
            (403, None, Some(ddb), false),
            (500, None, None, false),
            (200, None, Some(b"Throttling"), false),
        ];
        for &(status, header, body, want) in cases {
            assert_eq!(
                is_throttling_answer(status, header, body),
                want,
                "{status} {header:?} {:?}",
                body.map(String::from_utf8_lossy)
            );
        }
        assert_eq!(
            throttle_notice("waiting for AWS", 1),
            "waiting for AWS; AWS has throttled once so far"
        );
        assert_eq!(
            throttle_notice("waiting for AWS", 7),
            "waiting for AWS; AWS has throttled 7 times so far"
        );
    }

    #[test]
    fn classifies_codes_and_statuses() {
        let cases: &[(Option<&str>, Option<u16>, AwsErrorKind)] = &[
            (Some("NoSuchBucket"), Some(404), AwsErrorKind::NotFound),
            (Some("NoSuchKey"), None, AwsErrorKind::NotFound),
            (Some("AccessDenied"), Some(403), AwsErrorKind::AccessDenied),
            (
                Some("InvalidAccessKeyId"),
                Some(403),
                AwsErrorKind::Credentials,
            ),
            (Some("SlowDown"), Some(503), AwsErrorKind::Throttled),
            (
                Some("ConditionalCheckFailedException"),
                Some(400),
                AwsErrorKind::PreconditionFailed,
            ),
            (None, Some(412), AwsErrorKind::PreconditionFailed),
            (None, Some(404), AwsErrorKind::NotFound),
            (Some("Weird"), Some(500), AwsErrorKind::Other),
            (
                Some("InvalidVpcID.NotFound"),
                Some(400),
                AwsErrorKind::NotFound,
            ),
            (Some("NoSuchEntity"), Some(404), AwsErrorKind::NotFound),
            (
                Some("ClusterNotFoundException"),
                Some(400),
                AwsErrorKind::NotFound,
            ),
            (Some("NoSuchHostedZone"), Some(404), AwsErrorKind::NotFound),
        ];
        for (code, status, want) in cases {
            assert_eq!(classify(*code, *status), *want, "{code:?} {status:?}");
        }
    }

    #[test]
    fn messages_are_one_sentence_with_advice() {
        let e = AwsError::new(
            "GetObject",
            "s3://b/k",
            AwsErrorKind::AccessDenied,
            Some("AccessDenied".into()),
            Some("Access Denied".into()),
        );
        let text = e.to_string();
        assert_eq!(
            text,
            "GetObject on s3://b/k failed: access denied (AccessDenied: Access Denied); check that this identity, or the role the backend assumes (`assume_role`, --role-arn), may call GetObject"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn a_wrong_region_answer_is_followed_once_per_bucket() {
        let mut moved = AwsError::new(
            "ListObjectVersions",
            "s3://follow-me-bucket/platform/terraform.tfstate",
            AwsErrorKind::Other,
            Some("PermanentRedirect".into()),
            None,
        );
        assert_eq!(follow_bucket_region(&moved), None, "no region header");
        moved.context.bucket_region = Some("eu-west-1".into());
        assert_eq!(
            follow_bucket_region(&moved).as_deref(),
            Some("the bucket follow-me-bucket is in eu-west-1; using it; pass --region eu-west-1 to skip this")
        );
        assert_eq!(
            found_bucket_region("follow-me-bucket").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            follow_bucket_region(&moved),
            None,
            "followed once, never again"
        );
        let other = AwsError::new(
            "GetItem",
            "DynamoDB table t",
            AwsErrorKind::Other,
            None,
            None,
        );
        assert_eq!(follow_bucket_region(&other), None);
    }

    #[test]
    fn a_denied_live_check_points_at_the_live_identity_not_the_backends_role() {
        let cases = [
            ("GetObject", true),
            ("ListObjectVersions", true),
            ("GetBucketVersioning", true),
            ("PutItem", true),
            ("DeleteItem", true),
            ("Scan", true),
            ("AssumeRole", true),
            ("GetCallerIdentity", true),
            ("DescribeCluster", false),
            ("DescribeDBInstances", false),
            ("DescribeVpcs", false),
            ("ListNodegroups", false),
            ("BatchGetImage", false),
        ];
        for (op, state) in cases {
            assert_eq!(uses_the_states_credentials(op), state, "{op}");
        }
        let live = AwsError::new(
            "DescribeCluster",
            "EKS cluster prod",
            AwsErrorKind::AccessDenied,
            Some("AccessDeniedException".into()),
            None,
        );
        let text = live.to_string();
        assert!(
            text.contains("live checks run as the caller, or with the environment file's `drift { assume_role }`: check that this identity may call DescribeCluster"),
            "{text}"
        );
        assert!(!text.contains("--role-arn"), "{text}");
    }

    #[test]
    fn errors_name_the_identity_the_table_region_and_the_bucket_region() {
        let mut denied = AwsError::new(
            "ListObjectVersions",
            "s3://b/k",
            AwsErrorKind::AccessDenied,
            Some("AccessDenied".into()),
            None,
        );
        denied.context.identity = Some("arn:aws:iam::123456789012:user/ci".into());
        assert!(denied
            .to_string()
            .contains("access denied for arn:aws:iam::123456789012:user/ci (AccessDenied)"));

        let mut table = AwsError::new(
            "GetItem",
            "DynamoDB table locks item \"b/k\"",
            AwsErrorKind::NotFound,
            Some("ResourceNotFoundException".into()),
            Some("Requested resource not found".into()),
        );
        table.context.region = Some("eu-west-1".into());
        let text = table.to_string();
        assert!(
            text.starts_with(
                "the DynamoDB lock table `locks` does not exist in eu-west-1 (GetItem failed"
            ),
            "{text}"
        );
        assert!(
            text.contains("--dynamodb-table") && !text.contains("bucket, key"),
            "{text}"
        );

        let mut moved = AwsError::new(
            "ListObjectVersions",
            "s3://b/k",
            classify(Some("PermanentRedirect"), Some(301)),
            Some("PermanentRedirect".into()),
            None,
        );
        moved.context.bucket_region = Some("eu-west-1".into());
        let text = moved.to_string();
        assert!(
            text.contains("the bucket is in eu-west-1")
                && text.ends_with("pass --region eu-west-1 (or set `region` in the backend)"),
            "{text}"
        );
    }
}
