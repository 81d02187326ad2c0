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
