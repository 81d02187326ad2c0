//! The AWS adapters: the only place `aws_sdk_*` types are used.
//!
//! [`Aws::connect`] is the one factory: it builds every client from one
//! [`AwsAccess`] (resolved by [`crate::config::Settings`]) with one retry and
//! timeout policy, [`RetryPolicy`], for every command. Each adapter
//! (`s3`, `dynamodb`, `eks`, `rds`, `tagging`) returns the project's own types and
//! maps SDK errors to [`AwsError`].

pub mod acm;
pub mod apigatewayv2;
pub mod autoscaling;
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
pub mod tagging;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;

use crate::config::{AwsAccess, RetryPolicy, Target};

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
/// moving; a stalled one is cut by the read timeout.
fn transfer_timeouts(retry: &RetryPolicy) -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(retry.connect_timeout)
        .read_timeout(retry.read_timeout)
        .disable_operation_attempt_timeout()
        .disable_operation_timeout()
        .build()
}

/// The AWS clients of one run.
///
/// S3 and DynamoDB clients are built once (they carry their own endpoint
/// overrides); every other service's client is built from the shared
/// configuration when asked for, which costs no request.
#[derive(Clone, Debug)]
pub struct Aws {
    sdk: aws_config::SdkConfig,
    settings: AwsAccess,
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
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
/// figure `drift --stats` and the benchmark report.
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
}

/// Every AWS request this process sent, across all [`Aws`] instances.
static PROCESS_CALLS: AtomicU64 = AtomicU64::new(0);

/// How many AWS requests this process has sent so far (retries included).
pub fn calls_made() -> u64 {
    PROCESS_CALLS.load(Ordering::Relaxed)
}

impl Aws {
    /// Builds the clients. Credentials and region come from the standard AWS
    /// chain (environment, profiles, SSO, instance metadata) unless set here.
    pub async fn connect(settings: &AwsAccess) -> Result<Aws, AwsError> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
        if let Some(region) = &settings.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        // Every command: adaptive retry, and the small-call timeouts; the S3
        // client replaces the timeouts with its own (see `build`).
        let retry = &settings.retry;
        loader = loader
            .retry_config(
                aws_config::retry::RetryConfig::adaptive().with_max_attempts(retry.max_attempts),
            )
            .timeout_config(small_call_timeouts(retry));
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            return Err(AwsError::new(
                "configure",
                "the AWS region",
                AwsErrorKind::Config,
                None,
                Some("no AWS region is configured: pass --region, set `region` in the environment file or backend, or set AWS_REGION".into()),
            ));
        }
        Ok(Aws::build(sdk, settings.clone(), CallCounter::default()))
    }

    fn build(sdk: aws_config::SdkConfig, settings: AwsAccess, calls: CallCounter) -> Aws {
        let mut s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .timeout_config(transfer_timeouts(&settings.retry));
        if let Some(url) = &settings.s3_endpoint {
            s3 = s3.endpoint_url(url);
        }
        if settings.force_path_style || settings.s3_endpoint.is_some() {
            s3 = s3.force_path_style(true);
        }
        let mut ddb = aws_sdk_dynamodb::config::Builder::from(&sdk);
        if let Some(url) = &settings.dynamodb_endpoint {
            ddb = ddb.endpoint_url(url);
        }
        let s3 = s3.interceptor(calls.clone());
        let ddb = ddb.interceptor(calls.clone());
        Aws {
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(ddb.build()),
            sdk,
            settings,
            calls,
        }
    }

    /// The same credentials and settings in another region (requests are
    /// counted together).
    pub fn in_region(&self, region: &str) -> Aws {
        if self.region().as_deref() == Some(region) {
            return self.clone();
        }
        let sdk = self
            .sdk
            .to_builder()
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        Aws::build(sdk, self.settings.clone(), self.calls.clone())
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
        s3::S3Account::new(self.s3.clone())
    }

    /// Account-wide DynamoDB calls (ListTables, DescribeTable, ...).
    pub fn dynamodb_tables(&self) -> dynamodb::Tables {
        dynamodb::Tables::new(self.dynamodb.clone())
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
        s3::Bucket::new(self.s3.clone(), bucket)
    }

    /// The S3 adapter for the state's bucket: its writes send what Terraform
    /// sends for this backend (SSE, ACL, checksum), its reads the SSE-C key.
    pub fn state_bucket(&self, target: &Target) -> s3::Bucket {
        self.bucket(&target.bucket)
            .with_writes(target.encryption.clone())
    }
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
        }
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
                let kind = classify(code.as_deref(), status);
                AwsError::new(operation, resource, kind, code, message)
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
        match self.kind {
            AwsErrorKind::NotFound => write!(f, "{what} failed: it does not exist{detail}; check the bucket, key and region"),
            AwsErrorKind::AccessDenied => write!(f, "{what} failed: access denied{detail}; check that your AWS credentials or role allow {}", self.operation),
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
            "GetObject on s3://b/k failed: access denied (AccessDenied: Access Denied); check that your AWS credentials or role allow GetObject"
        );
        assert!(!text.contains('\n'));
    }
}
