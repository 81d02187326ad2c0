//! S3 adapter: versions of one key, reads (whole or first bytes), versioning status.

use std::collections::BTreeMap;

use aws_sdk_s3::types::BucketVersioningStatus;
use time::OffsetDateTime;

use super::object::{sort_newest_first, Fetched, KeyVersion, ObjectVersion, Versioning};
use super::{AwsError, AwsErrorKind};

/// What a server-side copy produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The new object's ETag, quotes removed.
    pub etag: Option<String>,
    /// The new version id (`None` on an unversioned bucket).
    pub version_id: Option<String>,
}

/// One bucket, through one S3 client.
#[derive(Clone, Debug)]
pub struct Bucket {
    client: aws_sdk_s3::Client,
    name: String,
}

impl Bucket {
    pub(super) fn new(client: aws_sdk_s3::Client, name: &str) -> Self {
        Bucket {
            client,
            name: name.to_owned(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{}", self.name, key)
    }

    /// Every version and delete marker of exactly `key`, newest first
    /// (ListObjectVersions, all pages up to the key).
    pub async fn list_versions(&self, key: &str) -> Result<Vec<ObjectVersion>, AwsError> {
        let mut out: Vec<ObjectVersion> = self
            .list_object_versions(key, Some(key), &mut |_| {})
            .await?
            .into_iter()
            .filter(|kv| kv.key == key)
            .map(|kv| kv.version)
            .collect();
        sort_newest_first(&mut out);
        Ok(out)
    }

    /// Reads `key` (at `version_id`, or the current version), whole or only its
    /// first `max_bytes` bytes (a ranged GET).
    pub async fn get(
        &self,
        key: &str,
        version_id: Option<&str>,
        max_bytes: Option<u64>,
    ) -> Result<Fetched, AwsError> {
        let resource = match version_id {
            Some(v) => format!("{} (version {v})", self.uri(key)),
            None => self.uri(key),
        };
        let mut req = self.client.get_object().bucket(&self.name).key(key);
        if let Some(v) = version_id {
            req = req.version_id(v);
        }
        if let Some(n) = max_bytes {
            req = req.range(format!("bytes=0-{}", n.saturating_sub(1)));
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            // An empty object cannot satisfy a range: read it whole.
            Err(e) if max_bytes.is_some() && is_invalid_range(&e) => {
                return Box::pin(self.get(key, version_id, None)).await;
            }
            Err(e) => return Err(AwsError::from_sdk("GetObject", resource, e)),
        };
        let total_size = match resp.content_range() {
            Some(range) => range.rsplit('/').next().and_then(|n| n.parse().ok()),
            None => resp.content_length().map(|n| n.max(0) as u64),
        };
        let version_id = resp.version_id().map(str::to_owned);
        // Stream the body into one buffer of the announced size: a 50 MB state
        // is held once, not once per aggregation step.
        let expected = resp.content_length().unwrap_or(0).max(0) as usize;
        let mut bytes = Vec::with_capacity(expected);
        let mut body = resp.body;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                AwsError::new(
                    "GetObject",
                    resource.clone(),
                    AwsErrorKind::Network,
                    None,
                    Some(e.to_string()),
                )
            })?;
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            bytes,
            version_id,
            total_size,
        })
    }

    /// `PutObject`; with `if_none_match`, only when the key does not exist
    /// (`If-None-Match: *`), failing with PreconditionFailed otherwise.
    /// Returns the new version id (`None` on an unversioned bucket).
    pub async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        if_none_match: bool,
    ) -> Result<Option<String>, AwsError> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type("application/json")
            .body(bytes.into());
        if if_none_match {
            req = req.if_none_match("*");
        }
        let resp = req
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("PutObject", self.uri(key), e))?;
        Ok(resp
            .version_id()
            .filter(|v| *v != "null")
            .map(str::to_owned))
    }

    /// `DeleteObject` of the current version (on a versioned bucket this
    /// adds a delete marker; nothing is lost).
    pub async fn delete(&self, key: &str) -> Result<(), AwsError> {
        self.client
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteObject", self.uri(key), e))?;
        Ok(())
    }

    /// `DeleteObject` of one version (or delete marker) by its id: removes it
    /// for good. Deleting the delete marker on top of a key brings the key back.
    pub async fn delete_version(&self, key: &str, version_id: &str) -> Result<(), AwsError> {
        self.client
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .version_id(version_id)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "DeleteObject",
                    format!("{} (version {version_id})", self.uri(key)),
                    e,
                )
            })?;
        Ok(())
    }

    /// Server-side `CopyObject` of `src_bucket/src_key` (at `version_id`, or
    /// its current version) to `dst_key` in this bucket: the bytes never leave
    /// S3. Returns the copy's ETag (quotes removed) and new version id.
    pub async fn copy_from(
        &self,
        src_bucket: &str,
        src_key: &str,
        version_id: Option<&str>,
        dst_key: &str,
    ) -> Result<Copied, AwsError> {
        let mut source = format!("{}/{}", src_bucket, encode_key(src_key));
        if let Some(v) = version_id {
            source.push_str("?versionId=");
            source.push_str(&encode_key(v));
        }
        let resp = self
            .client
            .copy_object()
            .bucket(&self.name)
            .key(dst_key)
            .copy_source(source)
            .content_type("application/json")
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "CopyObject",
                    format!(
                        "s3://{src_bucket}/{src_key}{} to {}",
                        version_id
                            .map(|v| format!(" (version {v})"))
                            .unwrap_or_default(),
                        self.uri(dst_key)
                    ),
                    e,
                )
            })?;
        Ok(Copied {
            etag: resp
                .copy_object_result()
                .and_then(|r| r.e_tag())
                .map(|e| e.trim_matches('"').to_owned()),
            version_id: resp
                .version_id()
                .filter(|v| *v != "null")
                .map(str::to_owned),
        })
    }

    /// The keys of the current objects under `prefix` (ListObjectsV2, all
    /// pages), in S3's (lexicographic) order.
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.name)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListObjectsV2", self.uri(prefix), e))?;
            out.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Every version and delete marker of every key under `prefix`
    /// (ListObjectVersions, all pages), in listing order. `on_page` receives
    /// the number of entries listed so far after each page.
    pub async fn list_prefix_versions(
        &self,
        prefix: &str,
        on_page: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Vec<KeyVersion>, AwsError> {
        self.list_object_versions(prefix, None, on_page).await
    }

    /// ListObjectVersions under `prefix`, page after page, in listing order;
    /// stops early once the listing has passed `last_key`.
    async fn list_object_versions(
        &self,
        prefix: &str,
        last_key: Option<&str>,
        on_page: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Vec<KeyVersion>, AwsError> {
        let mut out = Vec::new();
        let mut key_marker: Option<String> = None;
        let mut version_marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.name)
                .prefix(prefix)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListObjectVersions", self.uri(prefix), e))?;
            for v in page.versions() {
                out.push(KeyVersion {
                    key: v.key().unwrap_or_default().to_owned(),
                    version: ObjectVersion {
                        version_id: v.version_id().unwrap_or("null").to_owned(),
                        last_modified: to_time_or_epoch(v.last_modified()),
                        size: v.size().unwrap_or(0).max(0) as u64,
                        is_latest: v.is_latest().unwrap_or(false),
                        delete_marker: false,
                    },
                });
            }
            for m in page.delete_markers() {
                out.push(KeyVersion {
                    key: m.key().unwrap_or_default().to_owned(),
                    version: ObjectVersion {
                        version_id: m.version_id().unwrap_or("null").to_owned(),
                        last_modified: to_time_or_epoch(m.last_modified()),
                        size: 0,
                        is_latest: m.is_latest().unwrap_or(false),
                        delete_marker: true,
                    },
                });
            }
            on_page(out.len());
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
            let past_last =
                matches!((&key_marker, last_key), (Some(k), Some(last)) if k.as_str() > last);
            if key_marker.is_none() || past_last {
                break;
            }
        }
        Ok(out)
    }

    /// Whether versioning is enabled on the bucket.
    pub async fn versioning(&self) -> Result<Versioning, AwsError> {
        let resp = match self
            .client
            .get_bucket_versioning()
            .bucket(&self.name)
            .send()
            .await
        {
            Ok(resp) => resp,
            Err(e) => {
                // Some S3-compatible servers (moto 5.2.5 among them) answer 200
                // with another XML root element, which the SDK refuses to decode.
                if let Some(raw) = e.raw_response().filter(|r| r.status().as_u16() == 200) {
                    if let Some(body) = raw.body().bytes() {
                        return Ok(versioning_from_xml(&String::from_utf8_lossy(body)));
                    }
                }
                return Err(AwsError::from_sdk(
                    "GetBucketVersioning",
                    format!("s3://{}", self.name),
                    e,
                ));
            }
        };
        Ok(match resp.status() {
            Some(BucketVersioningStatus::Enabled) => Versioning::Enabled,
            Some(BucketVersioningStatus::Suspended) => Versioning::Suspended,
            _ => Versioning::Disabled,
        })
    }
}

/// Percent-encodes an object key for `x-amz-copy-source` (`/` kept).
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `<Status>` of a GetBucketVersioning body, whatever its root element.
fn versioning_from_xml(body: &str) -> Versioning {
    let status = body
        .split_once("<Status>")
        .and_then(|(_, rest)| rest.split_once("</Status>"))
        .map(|(s, _)| s.trim());
    match status {
        Some("Enabled") => Versioning::Enabled,
        Some("Suspended") => Versioning::Suspended,
        _ => Versioning::Disabled,
    }
}

fn is_invalid_range<R>(
    e: &aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::get_object::GetObjectError, R>,
) -> bool {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "InvalidRange")
}

/// One bucket as ListBuckets reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketEntry {
    pub name: String,
    /// `BucketRegion`, when the service returns it (AWS does; some emulators do not).
    pub region: Option<String>,
}

/// One lifecycle rule, as far as drift compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    pub id: String,
    /// `Enabled` or `Disabled`.
    pub status: String,
    /// `Expiration.Days`: current versions expire.
    pub expiration_days: Option<i32>,
    /// `NoncurrentVersionExpiration.NoncurrentDays`.
    pub noncurrent_expiration_days: Option<i32>,
    /// The key prefix the rule is limited to (`Filter.Prefix`, `Filter.And.Prefix`
    /// or the legacy `Prefix`); `None` for the whole bucket.
    pub prefix: Option<String>,
}

/// The default encryption of a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    pub sse_algorithm: String,
    pub kms_master_key_id: Option<String>,
    pub bucket_key_enabled: Option<bool>,
}

/// A bucket's public access block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub block_public_policy: bool,
    pub ignore_public_acls: bool,
    pub restrict_public_buckets: bool,
}

/// Account-wide S3 calls.
#[derive(Clone, Debug)]
pub struct S3Account {
    client: aws_sdk_s3::Client,
}

impl S3Account {
    pub(super) fn new(client: aws_sdk_s3::Client) -> Self {
        S3Account { client }
    }

    /// Every bucket of the account (ListBuckets, one call per page), or with
    /// `region` only the buckets located there (ListBuckets' `BucketRegion`
    /// filter).
    pub async fn list_buckets(&self, region: Option<&str>) -> Result<Vec<BucketEntry>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_buckets()
                .max_buckets(1000)
                .set_bucket_region(region.map(str::to_owned))
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListBuckets", "the account's S3 buckets", e))?;
            for b in page.buckets() {
                if let Some(name) = b.name() {
                    out.push(BucketEntry {
                        name: name.to_owned(),
                        region: b
                            .bucket_region()
                            .or(region)
                            .filter(|r| !r.is_empty())
                            .map(str::to_owned),
                    });
                }
            }
            match page.continuation_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// A bucket adapter on the same client.
    pub fn bucket(&self, name: &str) -> Bucket {
        Bucket::new(self.client.clone(), name)
    }
}

fn absent_is_none<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == AwsErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl Bucket {
    fn arn_like(&self) -> String {
        format!("s3://{}", self.name)
    }

    /// The bucket's region (GetBucketLocation; an empty constraint is us-east-1).
    pub async fn location(&self) -> Result<String, AwsError> {
        let resp = self
            .client
            .get_bucket_location()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetBucketLocation", self.arn_like(), e))?;
        Ok(match resp.location_constraint() {
            Some(c) if !c.as_str().is_empty() => match c.as_str() {
                "EU" => "eu-west-1".to_owned(),
                other => other.to_owned(),
            },
            _ => "us-east-1".to_owned(),
        })
    }

    /// The bucket's tags (GetBucketTagging); no tag set is an empty map.
    pub async fn tags(&self) -> Result<BTreeMap<String, String>, AwsError> {
        let r = self
            .client
            .get_bucket_tagging()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetBucketTagging", self.arn_like(), e));
        Ok(absent_is_none(r)?
            .map(|resp| {
                resp.tag_set()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Lifecycle rules (GetBucketLifecycleConfiguration); `None` without a configuration.
    pub async fn lifecycle(&self) -> Result<Option<Vec<LifecycleRule>>, AwsError> {
        let r = self
            .client
            .get_bucket_lifecycle_configuration()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetBucketLifecycleConfiguration", self.arn_like(), e));
        Ok(absent_is_none(r)?.map(|resp| {
            resp.rules()
                .iter()
                .map(|rule| {
                    #[allow(deprecated)]
                    let legacy_prefix = rule.prefix();
                    let filter = rule.filter();
                    let prefix = filter
                        .and_then(|f| f.prefix())
                        .or_else(|| filter.and_then(|f| f.and()).and_then(|a| a.prefix()))
                        .or(legacy_prefix)
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned);
                    LifecycleRule {
                        id: rule.id().unwrap_or_default().to_owned(),
                        status: rule.status().as_str().to_owned(),
                        expiration_days: rule.expiration().and_then(|e| e.days()),
                        noncurrent_expiration_days: rule
                            .noncurrent_version_expiration()
                            .and_then(|n| n.noncurrent_days()),
                        prefix,
                    }
                })
                .collect()
        }))
    }

    /// Default encryption (GetBucketEncryption); `None` without a configuration.
    pub async fn encryption(&self) -> Result<Option<Encryption>, AwsError> {
        let r = self
            .client
            .get_bucket_encryption()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetBucketEncryption", self.arn_like(), e));
        Ok(absent_is_none(r)?.and_then(|resp| {
            let rule = resp
                .server_side_encryption_configuration()?
                .rules()
                .first()?;
            let default = rule.apply_server_side_encryption_by_default()?;
            Some(Encryption {
                sse_algorithm: default.sse_algorithm().as_str().to_owned(),
                kms_master_key_id: default.kms_master_key_id().map(str::to_owned),
                bucket_key_enabled: rule.bucket_key_enabled(),
            })
        }))
    }

    /// The public access block (GetPublicAccessBlock); `None` without one.
    pub async fn public_access_block(&self) -> Result<Option<PublicAccessBlock>, AwsError> {
        let r = self
            .client
            .get_public_access_block()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetPublicAccessBlock", self.arn_like(), e));
        Ok(absent_is_none(r)?.and_then(|resp| {
            let c = resp.public_access_block_configuration()?;
            Some(PublicAccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            })
        }))
    }
}

/// One grant of a bucket ACL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AclGrant {
    /// `CanonicalUser`, `Group` or `AmazonCustomerByEmail`.
    pub grantee_type: String,
    pub id: Option<String>,
    pub uri: Option<String>,
    pub email_address: Option<String>,
    /// `FULL_CONTROL`, `READ`, ...
    pub permission: String,
}

/// A bucket's ACL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BucketAcl {
    pub owner_id: Option<String>,
    pub grants: Vec<AclGrant>,
}

/// One CORS rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorsRule {
    pub id: Option<String>,
    pub allowed_headers: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<i32>,
}

/// Where a bucket's access logs go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Logging {
    pub target_bucket: String,
    pub target_prefix: String,
}

/// A bucket's static website configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Website {
    pub index_suffix: Option<String>,
    pub error_key: Option<String>,
    /// `(host name, protocol)` when every request is redirected.
    pub redirect_all_to: Option<(String, Option<String>)>,
}

/// What HeadObject tells of an object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectHead {
    /// The ETag, quotes removed.
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub size: Option<i64>,
}

impl Bucket {
    /// The bucket policy document (GetBucketPolicy); `None` without one.
    pub async fn policy(&self) -> Result<Option<String>, AwsError> {
        let r = self
            .client
            .get_bucket_policy()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetBucketPolicy", self.arn_like(), e));
        Ok(absent_is_none(r)?.and_then(|resp| resp.policy().map(str::to_owned)))
    }

    /// The bucket ACL (GetBucketAcl); `None` when the bucket is gone.
    pub async fn acl(&self) -> Result<Option<BucketAcl>, AwsError> {
        let r = self
            .client
            .get_bucket_acl()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetBucketAcl", self.arn_like(), e));
        Ok(absent_is_none(r)?.map(|resp| BucketAcl {
            owner_id: resp.owner().and_then(|o| o.id()).map(str::to_owned),
            grants: resp
                .grants()
                .iter()
                .map(|g| {
                    let grantee = g.grantee();
                    AclGrant {
                        grantee_type: grantee
                            .map(|x| x.r#type().as_str().to_owned())
                            .unwrap_or_default(),
                        id: grantee.and_then(|x| x.id()).map(str::to_owned),
                        uri: grantee.and_then(|x| x.uri()).map(str::to_owned),
                        email_address: grantee.and_then(|x| x.email_address()).map(str::to_owned),
                        permission: g
                            .permission()
                            .map(|p| p.as_str().to_owned())
                            .unwrap_or_default(),
                    }
                })
                .collect(),
        }))
    }

    /// The object ownership setting (GetBucketOwnershipControls); `None`
    /// without ownership controls.
    pub async fn ownership(&self) -> Result<Option<String>, AwsError> {
        let r = self
            .client
            .get_bucket_ownership_controls()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetBucketOwnershipControls", self.arn_like(), e));
        let r = match r {
            Err(e) if e.code.as_deref() == Some("OwnershipControlsNotFoundError") => Ok(None),
            other => absent_is_none(other),
        };
        Ok(r?.and_then(|resp| {
            resp.ownership_controls()?
                .rules()
                .first()
                .map(|rule| rule.object_ownership().as_str().to_owned())
        }))
    }

    /// CORS rules (GetBucketCors); `None` without a configuration.
    pub async fn cors(&self) -> Result<Option<Vec<CorsRule>>, AwsError> {
        let r = self
            .client
            .get_bucket_cors()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetBucketCors", self.arn_like(), e));
        Ok(absent_is_none(r)?.map(|resp| {
            resp.cors_rules()
                .iter()
                .map(|c| CorsRule {
                    id: c.id().map(str::to_owned),
                    allowed_headers: c.allowed_headers().to_vec(),
                    allowed_methods: c.allowed_methods().to_vec(),
                    allowed_origins: c.allowed_origins().to_vec(),
                    expose_headers: c.expose_headers().to_vec(),
                    max_age_seconds: c.max_age_seconds(),
                })
                .collect()
        }))
    }

    /// Access logging (GetBucketLogging); `None` when logging is off.
    pub async fn logging(&self) -> Result<Option<Logging>, AwsError> {
        let r = self
            .client
            .get_bucket_logging()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetBucketLogging", self.arn_like(), e));
        Ok(absent_is_none(r)?.and_then(|resp| {
            resp.logging_enabled().map(|l| Logging {
                target_bucket: l.target_bucket().to_owned(),
                target_prefix: l.target_prefix().to_owned(),
            })
        }))
    }

    /// The website configuration (GetBucketWebsite); `None` without one.
    pub async fn website(&self) -> Result<Option<Website>, AwsError> {
        let r = self
            .client
            .get_bucket_website()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetBucketWebsite", self.arn_like(), e));
        Ok(absent_is_none(r)?.map(|resp| Website {
            index_suffix: resp.index_document().map(|d| d.suffix().to_owned()),
            error_key: resp.error_document().map(|d| d.key().to_owned()),
            redirect_all_to: resp.redirect_all_requests_to().map(|r| {
                (
                    r.host_name().to_owned(),
                    r.protocol().map(|p| p.as_str().to_owned()),
                )
            }),
        }))
    }

    /// HeadObject of the current version of `key`; `None` when absent.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectHead>, AwsError> {
        let r = self
            .client
            .head_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("HeadObject", self.uri(key), e));
        Ok(absent_is_none(r)?.map(|resp| ObjectHead {
            etag: resp.e_tag().map(|t| t.trim_matches('"').to_owned()),
            content_type: resp.content_type().map(str::to_owned),
            size: resp.content_length(),
        }))
    }
}

/// S3 always sends LastModified; a missing one sorts as the oldest.
fn to_time_or_epoch(t: Option<&aws_smithy_types::DateTime>) -> OffsetDateTime {
    t.and_then(super::to_time)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_copy_source_keys() {
        assert_eq!(
            encode_key("env:/blue/a b+c.tfstate"),
            "env%3A/blue/a%20b%2Bc.tfstate"
        );
        assert_eq!(
            encode_key("platform/terraform.tfstate"),
            "platform/terraform.tfstate"
        );
        assert_eq!(encode_key("env:/blue/k x+é"), "env%3A/blue/k%20x%2B%C3%A9");
    }

    #[test]
    fn reads_versioning_status_from_any_root() {
        let cases = [
            ("<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>", Versioning::Enabled),
            ("<GetBucketVersioningResponse xmlns=\"x\"><Status>Suspended</Status></GetBucketVersioningResponse>", Versioning::Suspended),
            ("<VersioningConfiguration/>", Versioning::Disabled),
        ];
        for (xml, want) in cases {
            assert_eq!(versioning_from_xml(xml), want, "{xml}");
        }
    }
}
