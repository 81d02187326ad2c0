//! Fixtures through the Rust AWS SDK the crate already depends on, in this
//! process: buckets, objects, versions, lock-table items, KMS keys, EKS
//! clusters and node groups, RDS instances and IAM roles in the emulator,
//! without a Python process per call. (The realistic multi-service platform
//! of `tests/fixtures/platform` is still built by its Python script.)

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::OnceLock;

use aws_credential_types::Credentials;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_types::region::Region;

use super::{endpoint, REGION};

/// One runtime for every fixture call of the test process (tests call from
/// their own threads; `block_on` may be entered from several at once).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime for the fixtures")
    })
}

/// Runs one fixture future to completion (on a thread of its own when the
/// caller is itself async, as a runtime cannot be entered from another).
pub fn block<F>(f: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_err() {
        return runtime().block_on(f);
    }
    std::thread::scope(|s| {
        s.spawn(|| runtime().block_on(f))
            .join()
            .expect("fixture thread")
    })
}

fn config(region: &str) -> aws_types::SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_types::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint())
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "tests",
            )),
        )
        .http_client(http)
        .build()
}

/// The S3 client of the tests' region.
pub fn s3() -> &'static aws_sdk_s3::Client {
    static C: OnceLock<aws_sdk_s3::Client> = OnceLock::new();
    C.get_or_init(|| s3_in(REGION))
}

/// An S3 client of another region (path-style addressing, as the emulator needs).
pub fn s3_in(region: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&config(region))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

pub fn ddb() -> &'static aws_sdk_dynamodb::Client {
    static C: OnceLock<aws_sdk_dynamodb::Client> = OnceLock::new();
    C.get_or_init(|| aws_sdk_dynamodb::Client::new(&config(REGION)))
}

pub fn eks() -> &'static aws_sdk_eks::Client {
    static C: OnceLock<aws_sdk_eks::Client> = OnceLock::new();
    C.get_or_init(|| aws_sdk_eks::Client::new(&config(REGION)))
}

pub fn rds() -> &'static aws_sdk_rds::Client {
    static C: OnceLock<aws_sdk_rds::Client> = OnceLock::new();
    C.get_or_init(|| aws_sdk_rds::Client::new(&config(REGION)))
}

pub fn iam() -> &'static aws_sdk_iam::Client {
    static C: OnceLock<aws_sdk_iam::Client> = OnceLock::new();
    C.get_or_init(|| aws_sdk_iam::Client::new(&config(REGION)))
}

/// A DynamoDB client of another region.
pub fn ddb_in(region: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&config(region))
}

/// An EC2 client of `region`.
pub fn ec2_in(region: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&config(region))
}

pub fn kms() -> &'static aws_sdk_kms::Client {
    static C: OnceLock<aws_sdk_kms::Client> = OnceLock::new();
    C.get_or_init(|| aws_sdk_kms::Client::new(&config(REGION)))
}

/// Creates a bucket in `region`, versioned when asked.
pub fn create_bucket_in(bucket: &str, region: &str, versioned: bool) {
    let client = s3_in(region);
    block(async {
        let mut create = client.create_bucket().bucket(bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(region.into())
                    .build(),
            );
        }
        create.send().await.expect("create bucket");
        if versioned {
            set_versioning(&client, bucket, true).await;
        }
    });
}

/// Creates a bucket in the tests' region, versioned when asked.
pub fn create_bucket(bucket: &str, versioned: bool) {
    create_bucket_in(bucket, REGION, versioned)
}

async fn set_versioning(client: &aws_sdk_s3::Client, bucket: &str, enabled: bool) {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let status = if enabled {
        BucketVersioningStatus::Enabled
    } else {
        BucketVersioningStatus::Suspended
    };
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .expect("put bucket versioning");
}

/// Suspends (or re-enables) versioning on `bucket`.
pub fn put_versioning(bucket: &str, enabled: bool) {
    block(set_versioning(s3(), bucket, enabled));
}

/// One lifecycle rule on the whole bucket (`ID` as given) expiring
/// noncurrent versions after `days`.
pub fn expire_noncurrent(bucket: &str, id: &str, days: i32) {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
        NoncurrentVersionExpiration,
    };
    let rule = LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days)
                .build(),
        )
        .build()
        .unwrap();
    block(async {
        s3().put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .rules(rule)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("put bucket lifecycle")
    });
}

/// Removes every lifecycle rule of `bucket`.
pub fn delete_lifecycle(bucket: &str) {
    block(async {
        s3().delete_bucket_lifecycle()
            .bucket(bucket)
            .send()
            .await
            .expect("delete bucket lifecycle")
    });
}

/// A DynamoDB lock table as Terraform documents it (`LockID` string hash key).
pub fn create_lock_table(table: &str) {
    create_lock_table_with(ddb(), table)
}

/// A lock table through `client` (another region's).
pub fn create_lock_table_with(client: &aws_sdk_dynamodb::Client, table: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    block(async {
        client
            .create_table()
            .table_name(table)
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("LockID")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("LockID")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create lock table")
    });
}

/// Uploads bytes as a new version of `key`, the request shaped by `with`
/// (headers); its version id (`null` unversioned).
fn put_with(
    bucket: &str,
    key: &str,
    bytes: &[u8],
    with: impl FnOnce(PutObjectFluentBuilder) -> PutObjectFluentBuilder,
) -> String {
    let put = with(
        s3().put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(bytes.to_vec())),
    );
    block(async {
        let r = put.send().await.expect("put object");
        r.version_id().unwrap_or("null").to_owned()
    })
}

/// Uploads bytes as a new version of `key`; its version id (`null` unversioned).
pub fn put_object(bucket: &str, key: &str, bytes: &[u8]) -> String {
    put_with(bucket, key, bytes, |p| p)
}

/// Uploads bytes as a one-part multipart upload (as Terraform 1.6+ uploads
/// large states: the ETag is `<hash>-1`, not an md5); (version id, ETag).
#[allow(dead_code)]
pub fn put_multipart(bucket: &str, key: &str, bytes: &[u8]) -> (String, String) {
    block(async {
        let up = s3()
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("create multipart upload");
        let id = up.upload_id().expect("upload id").to_owned();
        let part = s3()
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&id)
            .part_number(1)
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .expect("upload part");
        let done = s3()
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&id)
            .multipart_upload(
                aws_sdk_s3::types::CompletedMultipartUpload::builder()
                    .parts(
                        aws_sdk_s3::types::CompletedPart::builder()
                            .part_number(1)
                            .set_e_tag(part.e_tag().map(str::to_owned))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("complete multipart upload");
        (
            done.version_id().unwrap_or_default().to_owned(),
            done.e_tag()
                .unwrap_or_default()
                .trim_matches('"')
                .to_owned(),
        )
    })
}

/// Uploads a JSON document (`Content-Type: application/json`, as Terraform
/// writes its `.tflock`); its version id.
pub fn put_json(bucket: &str, key: &str, body: &str) -> String {
    put_with(bucket, key, body.as_bytes(), |p| {
        p.content_type("application/json")
    })
}

/// Uploads bytes encrypted with a customer key (SSE-C; `key_b64` is the
/// base64 of the 256-bit key), as Terraform does with `sse_customer_key`;
/// its version id.
pub fn put_object_sse_c(bucket: &str, key: &str, bytes: &[u8], key_b64: &str) -> String {
    use md5::Digest;
    let raw = aws_smithy_types::base64::decode(key_b64).expect("a base64 customer key");
    let key_md5 = aws_smithy_types::base64::encode(md5::Md5::digest(&raw));
    put_with(bucket, key, bytes, |p| {
        p.sse_customer_algorithm("AES256")
            .sse_customer_key(key_b64)
            .sse_customer_key_md5(key_md5)
    })
}

/// The bytes of `key` (its current version, or `version`).
pub fn get_object(bucket: &str, key: &str, version: Option<&str>) -> Vec<u8> {
    block(async {
        let r = s3()
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .send()
            .await
            .unwrap_or_else(|e| panic!("get s3://{bucket}/{key}: {e:?}"));
        r.body.collect().await.expect("read body").to_vec()
    })
}

/// Deletes `key` (a delete marker in a versioned bucket).
pub fn delete_object(bucket: &str, key: &str) {
    block(async {
        s3().delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("delete object")
    });
}

/// One entry of a version listing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    pub key: String,
    pub version_id: String,
    pub etag: Option<String>,
    pub is_latest: bool,
    /// A delete marker rather than a version.
    pub marker: bool,
}

/// Every version and delete marker under `prefix` (all pages).
pub fn list_versions(bucket: &str, prefix: &str) -> Vec<Listed> {
    block(async {
        let mut out = Vec::new();
        let (mut key_marker, mut version_marker) = (None, None);
        loop {
            let r = s3()
                .list_object_versions()
                .bucket(bucket)
                .prefix(prefix)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .expect("list object versions");
            for v in r.versions() {
                out.push(Listed {
                    key: v.key().unwrap_or_default().to_owned(),
                    version_id: v.version_id().unwrap_or("null").to_owned(),
                    etag: v.e_tag().map(str::to_owned),
                    is_latest: v.is_latest().unwrap_or(false),
                    marker: false,
                });
            }
            for m in r.delete_markers() {
                out.push(Listed {
                    key: m.key().unwrap_or_default().to_owned(),
                    version_id: m.version_id().unwrap_or("null").to_owned(),
                    etag: None,
                    is_latest: m.is_latest().unwrap_or(false),
                    marker: true,
                });
            }
            if r.is_truncated() != Some(true) {
                return out;
            }
            key_marker = r.next_key_marker().map(str::to_owned);
            version_marker = r.next_version_id_marker().map(str::to_owned);
        }
    })
}

/// The keys of the current objects under `prefix` (ListObjectsV2, all pages).
pub fn list_keys(bucket: &str, prefix: &str) -> Vec<String> {
    block(async {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let r = s3()
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .expect("list objects");
            keys.extend(
                r.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            match r.next_continuation_token() {
                Some(t) if r.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => return keys,
            }
        }
    })
}

/// A lock-table item of string attributes.
pub type Item = BTreeMap<String, String>;

/// Writes an item of string attributes (`LockID` among them).
pub fn put_item(table: &str, item: &[(&str, &str)]) {
    put_item_with(ddb(), table, item)
}

/// Writes an item of string attributes through `client` (another region's).
pub fn put_item_with(client: &aws_sdk_dynamodb::Client, table: &str, item: &[(&str, &str)]) {
    block(async {
        let mut put = client.put_item().table_name(table);
        for (k, v) in item {
            put = put.item(*k, AttributeValue::S((*v).to_owned()));
        }
        put.send().await.expect("put item")
    });
}

/// The item whose `LockID` is `lock_id` (its string attributes), read consistently.
pub fn get_item(table: &str, lock_id: &str) -> Option<Item> {
    block(async {
        let r = ddb()
            .get_item()
            .table_name(table)
            .key("LockID", AttributeValue::S(lock_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("get item");
        r.item().map(strings)
    })
}

pub fn delete_item(table: &str, lock_id: &str) {
    block(async {
        ddb()
            .delete_item()
            .table_name(table)
            .key("LockID", AttributeValue::S(lock_id.to_owned()))
            .send()
            .await
            .expect("delete item")
    });
}

/// Every item of the table (string attributes), read consistently.
pub fn scan(table: &str) -> Vec<Item> {
    block(async {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let r = ddb()
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("scan");
            out.extend(r.items().iter().map(strings));
            match r.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return out,
            }
        }
    })
}

fn strings(item: &std::collections::HashMap<String, AttributeValue>) -> Item {
    item.iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.clone(), s.clone())))
        .collect()
}

/// A new KMS key; its ARN.
pub fn create_kms_key() -> String {
    block(async {
        let r = kms().create_key().send().await.expect("create KMS key");
        r.key_metadata()
            .and_then(|m| m.arn())
            .expect("the new key's ARN")
            .to_owned()
    })
}

/// The encryption S3 reports for `key`: (`ServerSideEncryption`, `SSEKMSKeyId`), `-` when absent.
pub fn head_encryption(bucket: &str, key: &str) -> (String, String) {
    block(async {
        let h = s3()
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("head object");
        (
            h.server_side_encryption()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|| "-".into()),
            h.ssekms_key_id().unwrap_or("-").to_owned(),
        )
    })
}

/// The tags of the current version of `key`, sorted by key.
#[allow(dead_code)]
pub fn object_tags(bucket: &str, key: &str) -> Vec<(String, String)> {
    block(async {
        let t = s3()
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("get object tagging");
        let mut tags: Vec<(String, String)> = t
            .tag_set()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        tags.sort();
        tags
    })
}

/// A conditional no-op update: sets `attr` to `value` only where it already
/// is `value` (OpenTofu's unlock condition, proved without deleting).
/// Panics when the condition does not hold.
pub fn update_if_equal(table: &str, lock_id: &str, attr: &str, value: &str) {
    block(async {
        ddb()
            .update_item()
            .table_name(table)
            .key("LockID", AttributeValue::S(lock_id.to_owned()))
            .update_expression("SET #a = :v")
            .condition_expression("#a = :v")
            .expression_attribute_names("#a", attr)
            .expression_attribute_values(":v", AttributeValue::S(value.to_owned()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("the condition {attr} = {value:?} does not hold: {e:?}"))
    });
}

/// Uploads `body` under every key, 16 at a time.
pub fn put_many(bucket: &str, keys: &[String], body: &[u8]) {
    use futures::StreamExt;
    type Put = std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
    let puts: Vec<Put> = keys
        .iter()
        .map(|k| {
            let put = s3()
                .put_object()
                .bucket(bucket)
                .key(k)
                .body(ByteStream::from(body.to_vec()));
            Box::pin(async move { put.send().await.map(drop).map_err(|e| format!("{e:?}")) }) as Put
        })
        .collect();
    let results: Vec<_> = block(futures::stream::iter(puts).buffer_unordered(16).collect());
    for r in results {
        r.expect("put object");
    }
}

/// Deletes every key (delete markers in a versioned bucket), 1,000 per
/// DeleteObjects call as S3 allows.
pub fn delete_many(bucket: &str, keys: &[String]) {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    block(async {
        for chunk in keys.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build().unwrap())
                .collect();
            let r = s3()
                .delete_objects()
                .bucket(bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(objects))
                        .quiet(true)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .expect("delete objects");
            assert!(r.errors().is_empty(), "delete objects: {:?}", r.errors());
        }
    });
}

// ---- EKS, RDS, IAM ---------------------------------------------------------

/// An EKS cluster (role `arn:aws:iam::123456789012:role/eks`) on `subnets`.
pub fn eks_cluster(name: &str, subnets: &[&str]) {
    use aws_sdk_eks::types::VpcConfigRequest;
    let vpc = VpcConfigRequest::builder()
        .set_subnet_ids(Some(subnets.iter().map(|s| s.to_string()).collect()))
        .build();
    block(async {
        eks()
            .create_cluster()
            .name(name)
            .role_arn("arn:aws:iam::123456789012:role/eks")
            .resources_vpc_config(vpc)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create EKS cluster {name}: {e:?}"))
    });
}

/// A managed node group of `cluster` (role `arn:aws:iam::123456789012:role/node`,
/// subnet `subnet-1`, min 1, max 3, desired 2).
pub fn node_group(cluster: &str, name: &str) {
    use aws_sdk_eks::types::NodegroupScalingConfig;
    block(async {
        eks()
            .create_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .node_role("arn:aws:iam::123456789012:role/node")
            .subnets("subnet-1")
            .scaling_config(
                NodegroupScalingConfig::builder()
                    .min_size(1)
                    .max_size(3)
                    .desired_size(2)
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("create node group {cluster}/{name}: {e:?}"))
    });
}

pub fn delete_node_group(cluster: &str, name: &str) {
    block(async {
        eks()
            .delete_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete node group {cluster}/{name}: {e:?}"))
    });
}

pub fn delete_eks_cluster(name: &str) {
    block(async {
        eks()
            .delete_cluster()
            .name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete EKS cluster {name}: {e:?}"))
    });
}

/// The node groups of `cluster` with their status, sorted by name.
pub fn node_group_statuses(cluster: &str) -> Vec<(String, String)> {
    block(async {
        let names = eks()
            .list_nodegroups()
            .cluster_name(cluster)
            .send()
            .await
            .expect("list node groups")
            .nodegroups()
            .to_vec();
        let mut out = Vec::new();
        for n in names {
            let d = eks()
                .describe_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(&n)
                .send()
                .await
                .expect("describe node group");
            let status = d
                .nodegroup()
                .and_then(|g| g.status())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default();
            out.push((n, status));
        }
        out.sort();
        out
    })
}

/// A PostgreSQL instance (`db.t3.micro`, 20 GiB, user `mlflow`) keeping
/// automated backups `backup_retention` days.
pub fn rds_instance(id: &str, backup_retention: i32) {
    block(async {
        rds()
            .create_db_instance()
            .db_instance_identifier(id)
            .engine("postgres")
            .db_instance_class("db.t3.micro")
            .allocated_storage(20)
            .master_username("mlflow")
            .master_user_password("hunter2hunter2")
            .backup_retention_period(backup_retention)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create DB instance {id}: {e:?}"))
    });
}

/// A manual snapshot of `db` named `snapshot`.
pub fn rds_snapshot(db: &str, snapshot: &str) {
    block(async {
        rds()
            .create_db_snapshot()
            .db_instance_identifier(db)
            .db_snapshot_identifier(snapshot)
            .send()
            .await
            .unwrap_or_else(|e| panic!("snapshot DB instance {db}: {e:?}"))
    });
}

/// Sets how many days of automated backups `db` keeps, applied immediately.
pub fn rds_backup_retention(db: &str, days: i32) {
    block(async {
        rds()
            .modify_db_instance()
            .db_instance_identifier(db)
            .backup_retention_period(days)
            .apply_immediately(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("modify DB instance {db}: {e:?}"))
    });
}

/// Deletes `db` without a final snapshot.
pub fn delete_rds_instance(db: &str) {
    block(async {
        rds()
            .delete_db_instance()
            .db_instance_identifier(db)
            .skip_final_snapshot(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete DB instance {db}: {e:?}"))
    });
}

/// An IAM role that `service` (e.g. `eks.amazonaws.com`) may assume.
pub fn iam_role(name: &str, service: &str) {
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
    });
    block(async {
        iam()
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("create IAM role {name}: {e:?}"))
    });
}

/// Changes the instance class of `db`, applied immediately.
pub fn rds_instance_class(db: &str, class: &str) {
    block(async {
        rds()
            .modify_db_instance()
            .db_instance_identifier(db)
            .db_instance_class(class)
            .apply_immediately(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("modify DB instance {db}: {e:?}"))
    });
}

/// Replaces the tag set of `bucket`.
pub fn put_bucket_tags(bucket: &str, tags: &[(&str, &str)]) {
    use aws_sdk_s3::types::{Tag, Tagging};
    let set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap())
        .collect();
    block(async {
        s3().put_bucket_tagging()
            .bucket(bucket)
            .tagging(Tagging::builder().set_tag_set(Some(set)).build().unwrap())
            .send()
            .await
            .unwrap_or_else(|e| panic!("tag bucket {bucket}: {e:?}"))
    });
}

/// A DynamoDB table (string hash key `pk`, on demand) created with `tags`.
pub fn create_tagged_table(table: &str, tags: &[(&str, &str)]) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, Tag,
    };
    let tags = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap())
        .collect();
    block(async {
        ddb()
            .create_table()
            .table_name(table)
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .set_tags(Some(tags))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create table {table}: {e:?}"))
    });
}

/// Adds one tag to the DynamoDB table `table` (by its ARN, as TagResource takes it).
pub fn tag_table(table: &str, key: &str, value: &str) {
    use aws_sdk_dynamodb::types::Tag;
    block(async {
        let arn = ddb()
            .describe_table()
            .table_name(table)
            .send()
            .await
            .expect("describe table")
            .table()
            .and_then(|t| t.table_arn())
            .expect("the table's ARN")
            .to_owned();
        ddb()
            .tag_resource()
            .resource_arn(arn)
            .tags(Tag::builder().key(key).value(value).build().unwrap())
            .send()
            .await
            .unwrap_or_else(|e| panic!("tag table {table}: {e:?}"))
    });
}
