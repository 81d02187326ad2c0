//! DynamoDB adapter: the lock table's items (lock `Info`, md5 `Digest`).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeyType, ScalarAttributeType};

use super::AwsError;

/// One lock table.
#[derive(Clone, Debug)]
pub struct Table {
    client: aws_sdk_dynamodb::Client,
    name: String,
}

/// The key schema of a table, as far as locking cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableShape {
    /// `(name, type)` of the partition key, e.g. `("LockID", "S")`.
    pub partition_key: Option<(String, String)>,
    pub status: Option<String>,
}

impl Table {
    pub(super) fn new(client: aws_sdk_dynamodb::Client, name: &str) -> Self {
        Table {
            client,
            name: name.to_owned(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn what(&self, id: &str) -> String {
        format!("DynamoDB table {} item {id:?}", self.name)
    }

    /// Reads an item's string attributes (ConsistentRead), `None` when absent.
    pub async fn get(&self, lock_id: &str) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.name)
            .key("LockID", AttributeValue::S(lock_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetItem", self.what(lock_id), e))?;
        Ok(resp.item.map(|item| {
            item.into_iter()
                .filter_map(|(k, v)| match v {
                    AttributeValue::S(s) => Some((k, s)),
                    _ => None,
                })
                .collect()
        }))
    }

    /// `PutItem` with `attribute_not_exists(LockID)`: fails with
    /// [`super::AwsErrorKind::PreconditionFailed`] when the item exists.
    pub async fn put_if_absent(
        &self,
        lock_id: &str,
        attr: &str,
        value: &str,
    ) -> Result<(), AwsError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .item("LockID", AttributeValue::S(lock_id.to_owned()))
            .item(attr, AttributeValue::S(value.to_owned()))
            .condition_expression("attribute_not_exists(LockID)")
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("PutItem", self.what(lock_id), e))?;
        Ok(())
    }

    /// Unconditional `PutItem` (the digest item).
    pub async fn put(&self, lock_id: &str, attr: &str, value: &str) -> Result<(), AwsError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .item("LockID", AttributeValue::S(lock_id.to_owned()))
            .item(attr, AttributeValue::S(value.to_owned()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("PutItem", self.what(lock_id), e))?;
        Ok(())
    }

    /// `DeleteItem`, only if `attr` still equals `value` (what OpenTofu does
    /// for locks), so a lock re-taken meanwhile is never removed.
    pub async fn delete_if(&self, lock_id: &str, attr: &str, value: &str) -> Result<(), AwsError> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .key("LockID", AttributeValue::S(lock_id.to_owned()))
            .condition_expression("#a = :v")
            .expression_attribute_names("#a", attr)
            .expression_attribute_values(":v", AttributeValue::S(value.to_owned()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteItem", self.what(lock_id), e))?;
        Ok(())
    }

    /// Unconditional `DeleteItem`.
    pub async fn delete(&self, lock_id: &str) -> Result<(), AwsError> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .key("LockID", AttributeValue::S(lock_id.to_owned()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteItem", self.what(lock_id), e))?;
        Ok(())
    }

    /// The table's partition key and status (DescribeTable).
    pub async fn shape(&self) -> Result<TableShape, AwsError> {
        let resp = self
            .client
            .describe_table()
            .table_name(&self.name)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("DescribeTable", format!("DynamoDB table {}", self.name), e)
            })?;
        let table = resp.table;
        let partition_key = table.as_ref().and_then(|t| {
            let name = t
                .key_schema()
                .iter()
                .find(|k| k.key_type() == &KeyType::Hash)?
                .attribute_name()
                .to_owned();
            let ty = t
                .attribute_definitions()
                .iter()
                .find(|a| a.attribute_name() == name)
                .map(|a| match a.attribute_type() {
                    ScalarAttributeType::S => "S".to_owned(),
                    other => other.as_str().to_owned(),
                })
                .unwrap_or_default();
            Some((name, ty))
        });
        Ok(TableShape {
            partition_key,
            status: table
                .and_then(|t| t.table_status)
                .map(|s| s.as_str().to_owned()),
        })
    }
}

/// A table as DescribeTable reports it, as far as drift compares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableInfo {
    pub name: String,
    pub arn: String,
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    pub billing_mode: String,
    pub hash_key: Option<String>,
    pub range_key: Option<String>,
    /// `(name, type)` pairs, e.g. `("LockID", "S")`.
    pub attributes: Vec<(String, String)>,
    pub global_secondary_indexes: Vec<IndexInfo>,
    pub read_capacity: Option<i64>,
    pub write_capacity: Option<i64>,
    pub status: Option<String>,
}

/// One global secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexInfo {
    pub name: String,
    pub hash_key: Option<String>,
    pub range_key: Option<String>,
    pub projection_type: Option<String>,
}

/// Account-wide DynamoDB calls.
#[derive(Clone, Debug)]
pub struct Tables {
    client: aws_sdk_dynamodb::Client,
}

fn keys_of(
    schema: &[aws_sdk_dynamodb::types::KeySchemaElement],
) -> (Option<String>, Option<String>) {
    let find = |t: KeyType| {
        schema
            .iter()
            .find(|k| k.key_type() == &t)
            .map(|k| k.attribute_name().to_owned())
    };
    (find(KeyType::Hash), find(KeyType::Range))
}

impl Tables {
    pub(super) fn new(client: aws_sdk_dynamodb::Client) -> Self {
        Tables { client }
    }

    /// Every table name (ListTables, one call per page of 100).
    pub async fn list(&self) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let page = self
                .client
                .list_tables()
                .set_exclusive_start_table_name(start.take())
                .limit(100)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("ListTables", "the account's DynamoDB tables", e)
                })?;
            out.extend(page.table_names().iter().cloned());
            match page.last_evaluated_table_name() {
                Some(t) => start = Some(t.to_owned()),
                None => break,
            }
        }
        Ok(out)
    }

    /// DescribeTable; `None` when the table does not exist.
    pub async fn describe(&self, name: &str) -> Result<Option<TableInfo>, AwsError> {
        let resp = match self.client.describe_table().table_name(name).send().await {
            Ok(r) => r,
            Err(e) => {
                let e = AwsError::from_sdk("DescribeTable", format!("DynamoDB table {name}"), e);
                return if e.kind == super::AwsErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
        };
        let Some(t) = resp.table else {
            return Ok(None);
        };
        let (hash_key, range_key) = keys_of(t.key_schema());
        Ok(Some(TableInfo {
            name: t.table_name().unwrap_or(name).to_owned(),
            arn: t.table_arn().unwrap_or_default().to_owned(),
            billing_mode: t
                .billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .map(|m| m.as_str().to_owned())
                .unwrap_or_else(|| "PROVISIONED".to_owned()),
            hash_key,
            range_key,
            attributes: t
                .attribute_definitions()
                .iter()
                .map(|a| {
                    (
                        a.attribute_name().to_owned(),
                        a.attribute_type().as_str().to_owned(),
                    )
                })
                .collect(),
            global_secondary_indexes: t
                .global_secondary_indexes()
                .iter()
                .map(|g| {
                    let (hash_key, range_key) = keys_of(g.key_schema());
                    IndexInfo {
                        name: g.index_name().unwrap_or_default().to_owned(),
                        hash_key,
                        range_key,
                        projection_type: g
                            .projection()
                            .and_then(|p| p.projection_type())
                            .map(|p| p.as_str().to_owned()),
                    }
                })
                .collect(),
            read_capacity: t
                .provisioned_throughput()
                .and_then(|p| p.read_capacity_units()),
            write_capacity: t
                .provisioned_throughput()
                .and_then(|p| p.write_capacity_units()),
            status: t.table_status().map(|s| s.as_str().to_owned()),
        }))
    }

    /// Whether point-in-time recovery is enabled (DescribeContinuousBackups).
    pub async fn point_in_time_recovery(&self, name: &str) -> Result<bool, AwsError> {
        let resp = self
            .client
            .describe_continuous_backups()
            .table_name(name)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "DescribeContinuousBackups",
                    format!("DynamoDB table {name}"),
                    e,
                )
            })?;
        Ok(resp
            .continuous_backups_description()
            .and_then(|c| c.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status())
            .is_some_and(|s| s.as_str() == "ENABLED"))
    }

    /// The tags of a table (ListTagsOfResource, all pages).
    pub async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let mut out = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_tags_of_resource()
                .resource_arn(arn)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListTagsOfResource", arn.to_owned(), e))?;
            for t in page.tags() {
                out.insert(t.key().to_owned(), t.value().to_owned());
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }
}

/// How many keys one `BatchGetItem` call may ask for (DynamoDB's limit).
pub const BATCH_GET_MAX: usize = 100;

impl Table {
    /// Reads many items at once (`BatchGetItem`, ConsistentRead, at most
    /// [`BATCH_GET_MAX`] keys a call, unprocessed keys asked again): the
    /// string attributes of every item found, by `LockID`. Absent items are
    /// absent from the map.
    pub async fn batch_get(
        &self,
        lock_ids: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut out = BTreeMap::new();
        let mut ids: Vec<&String> = lock_ids.iter().collect();
        ids.sort();
        ids.dedup();
        for chunk in ids.chunks(BATCH_GET_MAX) {
            let keys: Vec<_> = chunk
                .iter()
                .map(|id| {
                    std::collections::HashMap::from([(
                        "LockID".to_owned(),
                        AttributeValue::S((*id).clone()),
                    )])
                })
                .collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| {
                        AwsError::new(
                            "BatchGetItem",
                            format!("DynamoDB table {}", self.name),
                            super::AwsErrorKind::Config,
                            None,
                            Some(e.to_string()),
                        )
                    })?,
            );
            let mut delay = std::time::Duration::from_millis(50);
            while let Some(request) = pending.take() {
                let resp = self
                    .client
                    .batch_get_item()
                    .request_items(&self.name, request)
                    .send()
                    .await
                    .map_err(|e| {
                        AwsError::from_sdk(
                            "BatchGetItem",
                            format!("DynamoDB table {}", self.name),
                            e,
                        )
                    })?;
                for item in resp
                    .responses
                    .and_then(|mut r| r.remove(&self.name))
                    .unwrap_or_default()
                {
                    let attrs: BTreeMap<String, String> = item
                        .into_iter()
                        .filter_map(|(k, v)| match v {
                            AttributeValue::S(s) => Some((k, s)),
                            _ => None,
                        })
                        .collect();
                    if let Some(id) = attrs.get("LockID").cloned() {
                        out.insert(id, attrs);
                    }
                }
                pending = resp
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.name))
                    .filter(|k| !k.keys().is_empty());
                if pending.is_some() {
                    // Throttled part of the batch: ask again after a backoff.
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(2));
                }
            }
        }
        Ok(out)
    }
}
