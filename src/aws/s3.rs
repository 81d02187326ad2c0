//! S3 adapter: versions of one key, reads (whole or first bytes), versioning status.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_s3::types::BucketVersioningStatus;
use time::OffsetDateTime;

use super::object::{sort_newest_first, Fetched, KeyVersion, ObjectVersion, Versioning};
use super::{AwsError, AwsErrorKind};
use crate::config::{ObjectWrites, Sse};

/// What a server-side copy produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The new object's ETag, quotes removed.
    pub etag: Option<String>,
    /// The new version id (`None` on an unversioned bucket).
    pub version_id: Option<String>,
    /// Whether the ETag is the md5 of the bytes (single part, neither
    /// SSE-KMS nor SSE-C, as the response's SSE headers say).
    pub etag_is_md5: bool,
    /// S3's full-object SHA-256 of the copy (lowercase hex), when it sent one.
    pub checksum_sha256: Option<String>,
}

/// One bucket, through one S3 client, with what its writes send (SSE, ACL,
/// checksum) and the SSE-C key its reads send.
#[derive(Clone, Debug)]
pub struct Bucket {
    client: aws_sdk_s3::Client,
    name: String,
    writes: ObjectWrites,
    transfer: Transfer,
}

/// How long a `GetObject` body may take: no bytes for `stall` cuts it, and
/// so does an average below `min_throughput` bytes per second once `stall`
/// of grace has passed (a floor, not a flat timeout: a large body that
/// keeps moving is never cut). A cut body is a transfer error, read again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub stall: Duration,
    pub min_throughput: u64,
    /// How long a wait stays silent before the progress display says what
    /// it waits for.
    pub notice_after: Duration,
}

impl Default for Transfer {
    fn default() -> Self {
        Transfer::of(&crate::config::RetryPolicy::default())
    }
}

impl Transfer {
    /// The transfer limits of a retry policy.
    pub fn of(p: &crate::config::RetryPolicy) -> Self {
        Transfer {
            stall: p.read_timeout,
            min_throughput: p.min_throughput,
            notice_after: Duration::from_secs(2).min(p.read_timeout),
        }
    }

    /// The longest a body of `len` bytes may take in all. Pure.
    pub fn allowed(&self, len: u64) -> Option<Duration> {
        (self.min_throughput > 0)
            .then(|| self.stall + Duration::from_secs_f64(len as f64 / self.min_throughput as f64))
    }

    /// How long to wait for the next bytes, `elapsed` into a body of `len`
    /// bytes: the stall limit, or less when the floor's deadline is nearer;
    /// `None` once the deadline has passed. Pure.
    pub fn next_wait(&self, len: u64, elapsed: Duration) -> Option<Duration> {
        match self.allowed(len) {
            Some(all) => all
                .checked_sub(elapsed)
                .filter(|left| !left.is_zero())
                .map(|left| left.min(self.stall)),
            None => Some(self.stall),
        }
    }
}

/// Sets the SSE, ACL and checksum headers of a write (PutObject, CopyObject).
macro_rules! write_headers {
    ($req:expr, $writes:expr) => {{
        let w: &ObjectWrites = $writes;
        let mut req = $req;
        match &w.sse {
            Sse::BucketDefault => {}
            Sse::S3 => {
                req = req.server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
            }
            Sse::Kms { key_id } => {
                req = req
                    .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                    .ssekms_key_id(key_id)
            }
            Sse::Customer { key, key_md5 } => {
                req = req
                    .sse_customer_algorithm("AES256")
                    .sse_customer_key(key)
                    .sse_customer_key_md5(key_md5)
            }
        }
        if let Some(acl) = &w.acl {
            req = req.acl(aws_sdk_s3::types::ObjectCannedAcl::from(acl.as_str()));
        }
        if w.checksum {
            req = req.checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256);
        }
        req
    }};
}

/// Sets the SSE-C headers of a read (GetObject, HeadObject) when the
/// objects are encrypted with a customer key.
macro_rules! read_headers {
    ($req:expr, $writes:expr) => {{
        let w: &ObjectWrites = $writes;
        let mut req = $req;
        if let Sse::Customer { key, key_md5 } = &w.sse {
            req = req
                .sse_customer_algorithm("AES256")
                .sse_customer_key(key)
                .sse_customer_key_md5(key_md5);
        }
        req
    }};
}

/// The per-request configuration of a write: with `skip_s3_checksum`, no
/// checksum at all (not even the SDK's default CRC32), for S3-compatible
/// stores that reject them.
fn write_config(w: &ObjectWrites) -> aws_sdk_s3::config::Builder {
    let b = aws_sdk_s3::config::Builder::default();
    if w.checksum {
        b
    } else {
        b.request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
    }
}

impl Bucket {
    pub(super) fn new(client: aws_sdk_s3::Client, name: &str) -> Self {
        Bucket {
            client,
            name: name.to_owned(),
            writes: ObjectWrites::plain(),
            transfer: Transfer::default(),
        }
    }

    /// This bucket, whose bodies are read within `transfer`'s limits.
    pub fn with_transfer(mut self, transfer: Transfer) -> Self {
        self.transfer = transfer;
        self
    }

    /// This bucket, whose writes send `writes` (the backend's `encrypt`,
    /// `kms_key_id`, `sse_customer_key`, `acl`, `skip_s3_checksum`) and whose
    /// reads send the SSE-C key, if any.
    pub fn with_writes(mut self, writes: ObjectWrites) -> Self {
        self.writes = writes;
        self
    }

    /// What writes to this bucket send.
    pub fn writes(&self) -> &ObjectWrites {
        &self.writes
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
    /// first `max_bytes` bytes (a ranged GET). The body is checked against
    /// what S3 said of it (see [`Bucket::get_checked`]).
    pub async fn get(
        &self,
        key: &str,
        version_id: Option<&str>,
        max_bytes: Option<u64>,
    ) -> Result<Fetched, AwsError> {
        self.get_checked(key, version_id, max_bytes, None).await
    }

    /// [`Bucket::get`], also checking the body's length against the size the
    /// listing reported for this version (`listed_size`). A body that does not
    /// match what S3 said of it (length, plain-md5 ETag, S3's own checksum) or
    /// that was cut mid-way is a transfer error: read again, up to
    /// [`BODY_ATTEMPTS`] times with backoff, and never handed on to be judged.
    pub async fn get_checked(
        &self,
        key: &str,
        version_id: Option<&str>,
        max_bytes: Option<u64>,
        listed_size: Option<u64>,
    ) -> Result<Fetched, AwsError> {
        self.get_retrying(key, version_id, max_bytes.map(ReadRange::Head), listed_size)
            .await
    }

    /// The last `n` bytes of `key` (a suffix-ranged GET), checked as
    /// [`Bucket::get_checked`] checks a prefix: `total_size` is the whole
    /// object's size.
    pub async fn get_tail_checked(
        &self,
        key: &str,
        version_id: Option<&str>,
        n: u64,
        listed_size: Option<u64>,
    ) -> Result<Fetched, AwsError> {
        self.get_retrying(key, version_id, Some(ReadRange::Tail(n)), listed_size)
            .await
    }

    async fn get_retrying(
        &self,
        key: &str,
        version_id: Option<&str>,
        range: Option<ReadRange>,
        listed_size: Option<u64>,
    ) -> Result<Fetched, AwsError> {
        let mut delay = std::time::Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            match self.get_once(key, version_id, range, listed_size).await {
                Err(e) if is_transfer_error(&e) && attempt < BODY_ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, "reading the object again");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn get_once(
        &self,
        key: &str,
        version_id: Option<&str>,
        range: Option<ReadRange>,
        listed_size: Option<u64>,
    ) -> Result<Fetched, AwsError> {
        let max_bytes = range.map(|r| match r {
            ReadRange::Head(n) | ReadRange::Tail(n) => n,
        });
        let resource = match version_id {
            Some(v) => format!("{} (version {v})", self.uri(key)),
            None => self.uri(key),
        };
        let mut req = read_headers!(
            self.client.get_object().bucket(&self.name).key(key),
            &self.writes
        );
        if let Some(v) = version_id {
            req = req.version_id(v);
        }
        match range {
            Some(ReadRange::Head(n)) => req = req.range(format!("bytes=0-{}", n.saturating_sub(1))),
            Some(ReadRange::Tail(n)) => req = req.range(format!("bytes=-{}", n.max(1))),
            // S3's own checksum of the object, when it has one: the SDK
            // validates the body against it as it streams.
            None => req = req.checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled),
        }
        let resp = match super::noticed(
            self.transfer.notice_after,
            format!("waiting for S3 to answer the read of {resource}"),
            req.send(),
        )
        .await
        {
            Ok(resp) => resp,
            // An empty object cannot satisfy a range: read it whole.
            Err(e) if max_bytes.is_some() && is_invalid_range(&e) => {
                return Box::pin(self.get_once(key, version_id, None, listed_size)).await;
            }
            Err(e) => {
                let err = AwsError::from_sdk("GetObject", resource.clone(), e);
                let customer = matches!(self.writes.sse, Sse::Customer { .. });
                return match sse_c_verdict(&err, customer) {
                    // A version written before SSE-C was used (or a lock file
                    // of a client that sends no SSE): read it without the key.
                    Some(SseCVerdict::NotEncryptedWithAKey) => {
                        let plain = Bucket {
                            writes: ObjectWrites {
                                sse: Sse::BucketDefault,
                                ..self.writes.clone()
                            },
                            ..self.clone()
                        };
                        Box::pin(plain.get_once(key, version_id, range, listed_size)).await
                    }
                    Some(SseCVerdict::Explain(why)) => Err(AwsError::new(
                        "GetObject",
                        resource,
                        AwsErrorKind::Config,
                        err.code.clone(),
                        Some(format!("{} {why}", err.resource)),
                    )),
                    None => Err(err),
                };
            }
        };
        let range_total = resp
            .content_range()
            .and_then(|range| range.rsplit('/').next().and_then(|n| n.parse().ok()));
        let ranged = resp.content_range().is_some();
        let content_length = resp.content_length().map(|n| n.max(0) as u64);
        let total_size = if ranged { range_total } else { content_length };
        let version_id = resp.version_id().map(str::to_owned);
        let full_object_checksum = !matches!(
            resp.checksum_type(),
            Some(aws_sdk_s3::types::ChecksumType::Composite)
        );
        let claims = BodyClaims {
            listed_size,
            content_length,
            range_total,
            requested: max_bytes,
            ranged,
            etag: resp.e_tag().map(|t| t.trim_matches('"').to_owned()),
            sse: resp.server_side_encryption().map(|s| s.as_str().to_owned()),
            sse_customer: resp.sse_customer_algorithm().is_some(),
            checksum_sha256: resp
                .checksum_sha256()
                .filter(|_| full_object_checksum)
                .map(str::to_owned),
        };
        // Stream the body into one buffer of the announced size: a 50 MB state
        // is held once, not once per aggregation step.
        let expected = content_length.unwrap_or(0) as usize;
        let mut bytes = Vec::with_capacity(expected);
        let mut body = resp.body;
        let started = Instant::now();
        let mut notice = crate::output::Progress::hidden();
        loop {
            let len = content_length.unwrap_or(bytes.len() as u64);
            let cut = |why: String| {
                AwsError::new(
                    "GetObject",
                    resource.clone(),
                    AwsErrorKind::Other,
                    Some(BODY_INTERRUPTED.into()),
                    Some(format!(
                        "the body {why}: cut and to be read again (a slow or stalled network or proxy, not a problem of the object)"
                    )),
                )
            };
            let Some(wait) = self.transfer.next_wait(len, started.elapsed()) else {
                return Err(cut(format!(
                    "arrived slower than {}/s ({} of {len} bytes in {:.0?})",
                    human_bytes(self.transfer.min_throughput),
                    bytes.len(),
                    started.elapsed()
                )));
            };
            let next = body.next();
            let mut next = std::pin::pin!(next);
            let quiet = wait.min(self.transfer.notice_after);
            let chunk = match tokio::time::timeout(quiet, &mut next).await {
                Ok(c) => c,
                Err(_) => {
                    if !notice.is_drawn() {
                        notice = crate::output::Progress::spinner(format!(
                            "waiting for the rest of {resource} ({} of {len} bytes received; cut and read again after {} without bytes)",
                            bytes.len(),
                            crate::util::duration::format(self.transfer.stall)
                        ));
                    }
                    match tokio::time::timeout(wait - quiet, &mut next).await {
                        Ok(c) => c,
                        Err(_) => {
                            return Err(cut(format!(
                                "stalled: no bytes for {} after {} of {len} bytes",
                                crate::util::duration::format(wait),
                                bytes.len()
                            )))
                        }
                    }
                }
            };
            notice.finish();
            notice = crate::output::Progress::hidden();
            let Some(chunk) = chunk else { break };
            let chunk = chunk.map_err(|e| {
                AwsError::new(
                    "GetObject",
                    resource.clone(),
                    AwsErrorKind::Other,
                    Some(BODY_INTERRUPTED.into()),
                    Some(format!(
                        "the body stopped or failed S3's checksum after {} bytes ({e}): damaged in transfer (a proxy or the network), not a problem of the object",
                        bytes.len()
                    )),
                )
            })?;
            bytes.extend_from_slice(&chunk);
        }
        if let Err(problem) = check_body(&claims, &bytes) {
            return Err(AwsError::new(
                "GetObject",
                resource,
                AwsErrorKind::Other,
                Some(BODY_MISMATCH.into()),
                Some(format!(
                    "{problem}: the body was damaged in transfer (a proxy or the network), not a corrupt object; nothing was judged from it"
                )),
            ));
        }
        Ok(Fetched {
            bytes,
            version_id,
            total_size,
        })
    }
}

/// Which part of an object a ranged GET asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadRange {
    /// The first N bytes.
    Head(u64),
    /// The last N bytes.
    Tail(u64),
}

impl Bucket {
    /// `PutObject` with `Content-Type: application/json` and this bucket's
    /// write headers (SSE, ACL, a precomputed SHA-256 unless
    /// `skip_s3_checksum`); with `if_none_match`, only when the key does not
    /// exist (`If-None-Match: *`), failing with PreconditionFailed otherwise.
    /// Returns the new version id (`None` on an unversioned bucket).
    pub async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        if_none_match: bool,
    ) -> Result<Option<String>, AwsError> {
        use sha2::{Digest as _, Sha256};
        let sha256 = self
            .writes
            .checksum
            .then(|| aws_smithy_types::base64::encode(Sha256::digest(&bytes)));
        let mut req = write_headers!(
            self.client
                .put_object()
                .bucket(&self.name)
                .key(key)
                .content_type("application/json")
                .content_length(bytes.len() as i64)
                .set_checksum_sha256(sha256)
                .set_tagging(self.writes.tagging_for(key).map(str::to_owned)),
            &self.writes
        )
        .body(bytes.into());
        if if_none_match {
            req = req.if_none_match("*");
        }
        let resp = req
            .customize()
            .config_override(write_config(&self.writes))
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

    /// Server-side `CopyObject` of `src_key` of bucket `src` (at
    /// `version_id`, or its current version) to `dst_key` in this bucket: the
    /// bytes never leave S3. The source's SSE-C key (if any) is sent as the
    /// copy source's; the copy gets this bucket's write headers. Returns the
    /// copy's ETag (quotes removed), whether it is an md5, and the version id.
    pub async fn copy_from(
        &self,
        src: &Bucket,
        src_key: &str,
        version_id: Option<&str>,
        dst_key: &str,
    ) -> Result<Copied, AwsError> {
        let src_bucket = src.name();
        let mut source = format!("{}/{}", src_bucket, encode_key(src_key));
        if let Some(v) = version_id {
            source.push_str("?versionId=");
            source.push_str(&encode_key(v));
        }
        let mut req = write_headers!(
            self.client
                .copy_object()
                .bucket(&self.name)
                .key(dst_key)
                .copy_source(source)
                .content_type("application/json")
                .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace),
            &self.writes
        );
        if let Sse::Customer { key, key_md5 } = &src.writes.sse {
            req = req
                .copy_source_sse_customer_algorithm("AES256")
                .copy_source_sse_customer_key(key)
                .copy_source_sse_customer_key_md5(key_md5);
        }
        let resp = req
            .customize()
            .config_override(write_config(&self.writes))
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
        let etag = resp
            .copy_object_result()
            .and_then(|r| r.e_tag())
            .map(|e| e.trim_matches('"').to_owned());
        let claims = BodyClaims {
            etag: etag.clone(),
            sse: resp.server_side_encryption().map(|s| s.as_str().to_owned()),
            sse_customer: resp.sse_customer_algorithm().is_some(),
            ..BodyClaims::default()
        };
        Ok(Copied {
            etag_is_md5: etag_is_md5(&claims),
            etag,
            checksum_sha256: resp
                .copy_object_result()
                .and_then(|r| r.checksum_sha256())
                .filter(|c| !c.contains('-'))
                .and_then(|c| aws_smithy_types::base64::decode(c).ok())
                .map(hex::encode),
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
                        etag: v.e_tag().map(|t| t.trim_matches('"').to_owned()),
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
                        etag: None,
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

/// `64 KiB`, `1 MiB`. Pure.
fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1024 * 1024 && n % (1024 * 1024) == 0 => format!("{} MiB", n / (1024 * 1024)),
        n if n >= 1024 && n % 1024 == 0 => format!("{} KiB", n / 1024),
        n => format!("{n} B"),
    }
}

/// How many times a read whose body did not arrive intact is tried in all.
pub const BODY_ATTEMPTS: u32 = 3;

/// The error code of a body that does not match what S3 said of it.
pub const BODY_MISMATCH: &str = "BodyMismatch";
/// The error code of a body cut mid-way or failing the SDK's checksum check.
pub const BODY_INTERRUPTED: &str = "BodyInterrupted";

/// Whether a read failed in transfer (worth reading again).
pub fn is_transfer_error(e: &AwsError) -> bool {
    e.operation == "GetObject"
        && matches!(e.code.as_deref(), Some(BODY_MISMATCH | BODY_INTERRUPTED))
}

/// What S3 said of a body before sending it, to check the bytes against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyClaims {
    /// The version's `Size` in the listing (the whole object).
    pub listed_size: Option<u64>,
    /// The response's `Content-Length`.
    pub content_length: Option<u64>,
    /// The whole object's size from `Content-Range` (ranged reads).
    pub range_total: Option<u64>,
    /// The bytes asked for (a ranged read), `None` for the whole object.
    pub requested: Option<u64>,
    /// The response is a range (206 with `Content-Range`).
    pub ranged: bool,
    /// The ETag, quotes removed.
    pub etag: Option<String>,
    /// `x-amz-server-side-encryption` (`AES256`, `aws:kms`, `aws:kms:dsse`).
    pub sse: Option<String>,
    /// SSE-C was used (`x-amz-server-side-encryption-customer-algorithm`).
    pub sse_customer: bool,
    /// S3's full-object SHA-256 (base64), when the object has one.
    pub checksum_sha256: Option<String>,
}

/// Whether an ETag is the md5 of the object: a single-part upload (no `-N`)
/// without SSE-KMS or SSE-C. Pure.
pub fn etag_is_md5(claims: &BodyClaims) -> bool {
    let plain = claims
        .etag
        .as_deref()
        .is_some_and(|e| e.len() == 32 && e.bytes().all(|b| b.is_ascii_hexdigit()));
    let kms = claims
        .sse
        .as_deref()
        .is_some_and(|s| s.starts_with("aws:kms"));
    plain && !kms && !claims.sse_customer
}

/// Checks a received body against what S3 said of it. Pure. `Err` says what
/// does not match.
pub fn check_body(claims: &BodyClaims, bytes: &[u8]) -> Result<(), String> {
    use md5::{Digest as _, Md5};
    use sha2::Sha256;
    let got = bytes.len() as u64;
    if let Some(n) = claims.content_length {
        if n != got {
            return Err(format!(
                "received {got} bytes where Content-Length said {n}"
            ));
        }
    }
    if claims.ranged {
        if let (Some(listed), Some(total)) = (claims.listed_size, claims.range_total) {
            if listed != total {
                return Err(format!(
                    "the response says the object has {total} bytes where the listing says {listed}"
                ));
            }
        }
        if let (Some(size), Some(asked)) =
            (claims.listed_size.or(claims.range_total), claims.requested)
        {
            let want = size.min(asked);
            if got != want {
                return Err(format!("received {got} bytes of the first {want}"));
            }
        }
        return Ok(());
    }
    if let Some(listed) = claims.listed_size {
        if listed != got {
            return Err(format!(
                "received {got} bytes where the listing says the version has {listed}"
            ));
        }
    }
    if etag_is_md5(claims) {
        let etag = claims.etag.as_deref().unwrap_or_default();
        let md5 = hex::encode(Md5::digest(bytes));
        if !md5.eq_ignore_ascii_case(etag) {
            return Err(format!(
                "the md5 of the {got} bytes received is {md5} where the ETag says {etag}"
            ));
        }
    }
    if let Some(want) = claims
        .checksum_sha256
        .as_deref()
        .filter(|c| !c.contains('-'))
    {
        let sha = aws_smithy_types::base64::encode(Sha256::digest(bytes));
        if sha != want {
            return Err(format!(
                "the SHA-256 of the {got} bytes received is {sha} where S3's checksum says {want}"
            ));
        }
    }
    Ok(())
}

/// What an SSE-C related read failure means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseCVerdict {
    /// The key was sent, but the object is not encrypted with one: read it
    /// again without.
    NotEncryptedWithAKey,
    /// The rest of a one-sentence error (after the object's name): what is
    /// wrong and what to do.
    Explain(String),
}

/// Reads S3's answer to a GetObject that failed over SSE-C (`customer`: a
/// key was sent). Pure.
pub fn sse_c_verdict(err: &AwsError, customer: bool) -> Option<SseCVerdict> {
    let message = err
        .message
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let code = err.code.as_deref().unwrap_or_default();
    if customer && code == "InvalidRequest" && message.contains("not applicable") {
        return Some(SseCVerdict::NotEncryptedWithAKey);
    }
    if customer && message.contains("did not match") && message.contains("key") {
        return Some(SseCVerdict::Explain(
            "is encrypted with another customer key (SSE-C) than the one configured: set `sse_customer_key` (or AWS_SSE_CUSTOMER_KEY) to the key Terraform uses".into(),
        ));
    }
    if !customer && code == "InvalidRequest" && message.contains("server side encryption") {
        return Some(SseCVerdict::Explain(
            "is encrypted with a customer-provided key (SSE-C): set `encrypt = true` and `sse_customer_key` in the backend or environment file (or AWS_SSE_CUSTOMER_KEY), as Terraform needs them".into(),
        ));
    }
    None
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
    /// `x-amz-server-side-encryption` (`AES256`, `aws:kms`, ...).
    pub sse: Option<String>,
    /// The KMS key of an SSE-KMS object.
    pub kms_key_id: Option<String>,
    /// SSE-C was used.
    pub sse_customer: bool,
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
        let r = read_headers!(
            self.client.head_object().bucket(&self.name).key(key),
            &self.writes
        )
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("HeadObject", self.uri(key), e));
        Ok(absent_is_none(r)?.map(|resp| ObjectHead {
            etag: resp.e_tag().map(|t| t.trim_matches('"').to_owned()),
            content_type: resp.content_type().map(str::to_owned),
            size: resp.content_length(),
            sse: resp.server_side_encryption().map(|s| s.as_str().to_owned()),
            kms_key_id: resp.ssekms_key_id().map(str::to_owned),
            sse_customer: resp.sse_customer_algorithm().is_some(),
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
    fn body_checks_table() {
        let body = b"{\"version\": 4}\n";
        let md5 = "ab7a1e2fdbe6c1cbd5ee7c2d0b6d5b5d"; // not the body's md5
        let real_md5 = {
            use md5::{Digest as _, Md5};
            hex::encode(Md5::digest(body))
        };
        let sha = {
            use sha2::{Digest as _, Sha256};
            aws_smithy_types::base64::encode(Sha256::digest(body))
        };
        let n = body.len() as u64;
        let whole = BodyClaims {
            listed_size: Some(n),
            content_length: Some(n),
            etag: Some(real_md5.clone()),
            ..BodyClaims::default()
        };
        let cases: Vec<(&str, BodyClaims, &[u8], Option<&str>)> = vec![
            ("all agree", whole.clone(), body, None),
            (
                "cut short, framing rewritten to match",
                BodyClaims {
                    content_length: Some(n - 4),
                    ..whole.clone()
                },
                &body[..body.len() - 4],
                Some("the listing says"),
            ),
            (
                "shorter than Content-Length",
                whole.clone(),
                &body[..3],
                Some("Content-Length"),
            ),
            (
                "same length, other bytes: the md5 ETag tells",
                BodyClaims {
                    etag: Some(md5.into()),
                    ..whole.clone()
                },
                body,
                Some("ETag"),
            ),
            (
                "multipart ETag is not an md5",
                BodyClaims {
                    etag: Some(format!("{md5}-3")),
                    ..whole.clone()
                },
                body,
                None,
            ),
            (
                "SSE-KMS ETag is not an md5",
                BodyClaims {
                    etag: Some(md5.into()),
                    sse: Some("aws:kms".into()),
                    ..whole.clone()
                },
                body,
                None,
            ),
            (
                "SSE-C ETag is not an md5",
                BodyClaims {
                    etag: Some(md5.into()),
                    sse_customer: true,
                    ..whole.clone()
                },
                body,
                None,
            ),
            (
                "SSE-S3 ETag is an md5",
                BodyClaims {
                    etag: Some(md5.into()),
                    sse: Some("AES256".into()),
                    ..whole.clone()
                },
                body,
                Some("ETag"),
            ),
            (
                "S3's SHA-256 agrees",
                BodyClaims {
                    etag: None,
                    checksum_sha256: Some(sha.clone()),
                    ..whole.clone()
                },
                body,
                None,
            ),
            (
                "S3's SHA-256 disagrees",
                BodyClaims {
                    etag: None,
                    checksum_sha256: Some(sha.clone()),
                    ..whole.clone()
                },
                b"{\"version\": 5}\n",
                Some("SHA-256"),
            ),
            (
                "no listing size: the ETag still tells",
                BodyClaims {
                    listed_size: None,
                    content_length: Some(3),
                    ..whole.clone()
                },
                &body[..3],
                Some("ETag"),
            ),
            (
                "ranged read of the first bytes",
                BodyClaims {
                    listed_size: Some(100),
                    content_length: Some(10),
                    range_total: Some(100),
                    requested: Some(10),
                    ranged: true,
                    etag: Some(md5.into()),
                    ..BodyClaims::default()
                },
                &[b' '; 10],
                None,
            ),
            (
                "ranged read cut short",
                BodyClaims {
                    listed_size: Some(100),
                    content_length: Some(6),
                    range_total: Some(100),
                    requested: Some(10),
                    ranged: true,
                    ..BodyClaims::default()
                },
                &[b' '; 6],
                Some("first 10"),
            ),
            (
                "ranged total differs from the listing",
                BodyClaims {
                    listed_size: Some(100),
                    content_length: Some(10),
                    range_total: Some(60),
                    requested: Some(10),
                    ranged: true,
                    ..BodyClaims::default()
                },
                &[b' '; 10],
                Some("listing says 100"),
            ),
        ];
        for (name, claims, bytes, want) in cases {
            match (check_body(&claims, bytes), want) {
                (Ok(()), None) => {}
                (Err(e), Some(w)) => assert!(e.contains(w), "{name}: {e}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn sse_c_failures_say_what_to_do() {
        let e = |code: &str, msg: &str| {
            AwsError::new(
                "GetObject",
                "s3://b/k",
                AwsErrorKind::Other,
                Some(code.into()),
                Some(msg.into()),
            )
        };
        let not_applicable = e(
            "InvalidRequest",
            "The encryption parameters are not applicable to this object.",
        );
        let needs_key = e(
            "InvalidRequest",
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
        );
        let wrong_key = e(
            "AccessDenied",
            "The calculated MD5 hash of the key did not match the hash that was provided.",
        );
        assert_eq!(
            sse_c_verdict(&not_applicable, true),
            Some(SseCVerdict::NotEncryptedWithAKey)
        );
        assert_eq!(sse_c_verdict(&not_applicable, false), None);
        assert!(
            matches!(sse_c_verdict(&needs_key, false), Some(SseCVerdict::Explain(m)) if m.contains("sse_customer_key"))
        );
        assert!(
            matches!(sse_c_verdict(&wrong_key, true), Some(SseCVerdict::Explain(m)) if m.contains("another customer key"))
        );
        assert_eq!(sse_c_verdict(&e("NoSuchKey", "gone"), true), None);
    }

    #[test]
    fn a_body_is_held_to_a_throughput_floor_not_a_flat_timeout() {
        let t = Transfer {
            stall: Duration::from_secs(30),
            min_throughput: 64 * 1024,
            notice_after: Duration::from_secs(2),
        };
        let s = Duration::from_secs;
        // 64 MiB at the floor: 30 s of grace plus 1024 s.
        assert_eq!(t.allowed(64 << 20), Some(s(1054)));
        // Early on, the next bytes may take the stall limit.
        assert_eq!(t.next_wait(64 << 20, s(10)), Some(s(30)));
        // Near the deadline, only what is left of it.
        assert_eq!(t.next_wait(64 << 20, s(1050)), Some(s(4)));
        // Past it: cut.
        assert_eq!(t.next_wait(64 << 20, s(1054)), None);
        // A small body gets the stall limit as its whole budget.
        assert_eq!(t.next_wait(0, s(0)), Some(s(30)));
        assert_eq!(t.next_wait(0, s(31)), None);
        // No floor: only the stall limit.
        let no_floor = Transfer {
            min_throughput: 0,
            ..t
        };
        assert_eq!(no_floor.allowed(1 << 40), None);
        assert_eq!(no_floor.next_wait(1 << 40, s(100_000)), Some(s(30)));
        assert_eq!(human_bytes(65536), "64 KiB");
        assert_eq!(human_bytes(1 << 20), "1 MiB");
        assert_eq!(human_bytes(1000), "1000 B");
    }

    #[test]
    fn only_transfer_errors_are_read_again() {
        let e = |op, code: Option<&str>| {
            AwsError::new(
                op,
                "s3://b/k",
                AwsErrorKind::Other,
                code.map(str::to_owned),
                None,
            )
        };
        assert!(is_transfer_error(&e("GetObject", Some(BODY_MISMATCH))));
        assert!(is_transfer_error(&e("GetObject", Some(BODY_INTERRUPTED))));
        assert!(!is_transfer_error(&e("GetObject", Some("NoSuchKey"))));
        assert!(!is_transfer_error(&e("PutObject", Some(BODY_MISMATCH))));
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
