//! DynamoDB tables: ListTables (one call per 100 tables), then for tables
//! the state has, DescribeTable and DescribeContinuousBackups (the list gives
//! names only); tags come from the scan's shared tag index (GetResources),
//! else ListTagsOfResource per table.

use serde_json::{json, Value};

use super::{attr_or_id, each, put_all, LiveObject, ScanRequest, TypeScan, TypeSpec};
use crate::aws::dynamodb::TableInfo;
use crate::aws::{Aws, AwsError};
use std::collections::BTreeMap;

pub const TABLE: &str = "aws_dynamodb_table";

fn table_key(a: &Value) -> Option<String> {
    attr_or_id(a, "name")
}

pub const TYPES: &[TypeSpec] = &[TypeSpec::new(TABLE, table_key)
    .compares("billing_mode, keys, attribute, GSIs (keys, projection), point_in_time_recovery, tags, provisioned capacity")
    .unmanaged()];

/// `aws_dynamodb_table`: billing mode, keys, attribute definitions, GSIs,
/// capacity (provisioned tables), point-in-time recovery and tags.
pub fn table_attrs(
    t: &TableInfo,
    pitr: bool,
    tags: &BTreeMap<String, String>,
) -> Vec<(String, Value)> {
    let mut v = vec![
        ("billing_mode".to_owned(), json!(t.billing_mode)),
        ("hash_key".to_owned(), json!(t.hash_key)),
        ("range_key".to_owned(), json!(t.range_key)),
        (
            "attribute".to_owned(),
            Value::Array(
                t.attributes
                    .iter()
                    .map(|(n, ty)| json!({"name": n, "type": ty}))
                    .collect(),
            ),
        ),
        (
            "global_secondary_index".to_owned(),
            Value::Array(
                t.global_secondary_indexes
                    .iter()
                    .map(|g| {
                        json!({"name": g.name, "hash_key": g.hash_key, "range_key": g.range_key,
                               "projection_type": g.projection_type})
                    })
                    .collect(),
            ),
        ),
        ("point_in_time_recovery.0.enabled".to_owned(), json!(pitr)),
        ("tags".to_owned(), json!(tags)),
    ];
    if t.billing_mode == "PROVISIONED" {
        v.push(("read_capacity".to_owned(), json!(t.read_capacity)));
        v.push(("write_capacity".to_owned(), json!(t.write_capacity)));
    }
    v
}

super::family!("DynamoDB");

/// Enumerates DynamoDB tables.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Vec<(&'static str, TypeScan)> {
    let mut out = Vec::new();
    let r = scan_inner(aws, req, &mut out).await;
    put_all(&mut out, &[TABLE], req, &r);
    out
}

async fn scan_inner(
    aws: &Aws,
    req: &ScanRequest,
    out: &mut Vec<(&'static str, TypeScan)>,
) -> Result<(), AwsError> {
    let tables = aws.dynamodb_tables();
    let managed = req.managed(TABLE);
    let names: Vec<String> = if req.naive {
        managed.iter().cloned().collect()
    } else {
        tables.list().await?
    };
    let tag_scope = req.unmanaged && !req.scope.tags.is_empty();
    let mut objs = Vec::new();
    let mut todo = Vec::new();
    for n in names {
        if managed.contains(&n) {
            todo.push((n, true));
        } else if req.unmanaged && req.scope.name_matches(&n) {
            if tag_scope {
                todo.push((n, false));
            } else {
                objs.push(LiveObject::named(&n, &n));
            }
        }
    }
    let described = each(req, todo, |(name, is_managed)| {
        let tables = tables.clone();
        let index = req.tags.clone();
        async move {
            let Some(info) = tables.describe(&name).await? else {
                return Ok(None);
            };
            let indexed = match &index {
                Some(t) => t.get().await,
                None => None,
            };
            // Tables are listed in the client's region, the tag index's region.
            let tags = match indexed {
                Some(i) => i.tables.get(&name).cloned().unwrap_or_default(),
                None => tables.tags(&info.arn).await?,
            };
            let mut o = LiveObject::named(&name, &name);
            if is_managed {
                let pitr = tables.point_in_time_recovery(&name).await?;
                o.attrs = table_attrs(&info, pitr, &tags);
            }
            o.tags = Some(tags);
            Ok(Some(o))
        }
    })
    .await?;
    objs.extend(described.into_iter().flatten());
    out.push((TABLE, TypeScan::Listed(objs)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::dynamodb::IndexInfo;

    #[test]
    fn maps_a_provisioned_table() {
        let t = TableInfo {
            name: "events".into(),
            billing_mode: "PROVISIONED".into(),
            hash_key: Some("pk".into()),
            attributes: vec![("pk".into(), "S".into())],
            global_secondary_indexes: vec![IndexInfo {
                name: "by-user".into(),
                hash_key: Some("user".into()),
                ..IndexInfo::default()
            }],
            read_capacity: Some(5),
            write_capacity: Some(5),
            ..TableInfo::default()
        };
        let attrs: BTreeMap<String, Value> = table_attrs(&t, true, &BTreeMap::new())
            .into_iter()
            .collect();
        assert_eq!(attrs["billing_mode"], "PROVISIONED");
        assert_eq!(attrs["attribute"], json!([{"name": "pk", "type": "S"}]));
        assert_eq!(attrs["global_secondary_index"][0]["name"], "by-user");
        assert_eq!(attrs["point_in_time_recovery.0.enabled"], true);
        assert_eq!(attrs["read_capacity"], 5);
        assert_eq!(
            table_key(&json!({"name": "events", "id": "events"})),
            Some("events".into())
        );
    }

    #[test]
    fn on_demand_tables_have_no_capacity_to_compare() {
        let t = TableInfo {
            billing_mode: "PAY_PER_REQUEST".into(),
            ..TableInfo::default()
        };
        assert!(!table_attrs(&t, false, &BTreeMap::new())
            .iter()
            .any(|(p, _)| p == "read_capacity"));
    }
}
