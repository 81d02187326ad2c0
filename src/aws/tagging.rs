//! The Resource Groups Tagging API: the tags of many resources of several
//! services in one paginated call (GetResources, up to 100 resources a page),
//! instead of one GetBucketTagging / ListTagsOfResource per resource.
//!
//! The API is regional and returns only resources that carry (or once
//! carried) tags; a resource it does not return has no tags.

use std::collections::BTreeMap;

use super::AwsError;

/// Tags by resource name, per service, for one region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagIndex {
    /// The region the index was read in.
    pub region: String,
    /// S3 buckets by name.
    pub buckets: BTreeMap<String, BTreeMap<String, String>>,
    /// DynamoDB tables by name.
    pub tables: BTreeMap<String, BTreeMap<String, String>>,
}

impl TagIndex {
    /// Files one resource's tags under its service and name; other ARNs are ignored.
    pub fn insert(&mut self, arn: &str, tags: BTreeMap<String, String>) {
        match parse_arn(arn) {
            Some(Named::Bucket(name)) => {
                self.buckets.insert(name.to_owned(), tags);
            }
            Some(Named::Table(name)) => {
                self.tables.insert(name.to_owned(), tags);
            }
            None => {}
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Named<'a> {
    Bucket(&'a str),
    Table(&'a str),
}

/// `arn:PARTITION:s3:::NAME` and `arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME`.
fn parse_arn(arn: &str) -> Option<Named<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some(service), Some(_region), Some(_account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    match service {
        "s3" if !rest.is_empty() && !rest.contains('/') => Some(Named::Bucket(rest)),
        "dynamodb" => rest
            .strip_prefix("table/")
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .map(Named::Table),
        _ => None,
    }
}

/// The tagging client of one region.
#[derive(Clone, Debug)]
pub struct Tagging {
    client: aws_sdk_resourcegroupstagging::Client,
}

impl Tagging {
    pub(super) fn new(client: aws_sdk_resourcegroupstagging::Client) -> Self {
        Tagging { client }
    }

    /// Tags of every S3 bucket and DynamoDB table of the client's region
    /// that has tags (GetResources, one call per 100 resources).
    pub async fn buckets_and_tables(&self) -> Result<TagIndex, AwsError> {
        let mut index = TagIndex {
            region: self
                .client
                .config()
                .region()
                .map(|r| r.to_string())
                .unwrap_or_default(),
            ..TagIndex::default()
        };
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_resources()
                .resource_type_filters("s3:bucket")
                .resource_type_filters("dynamodb:table")
                .resources_per_page(100)
                .set_pagination_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("GetResources", "tags of S3 buckets and DynamoDB tables", e)
                })?;
            for m in page.resource_tag_mapping_list() {
                let Some(arn) = m.resource_arn() else {
                    continue;
                };
                let tags = m
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect();
                index.insert(arn, tags);
            }
            match page.pagination_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_filed_by_service_and_name() {
        let mut i = TagIndex::default();
        let t = |k: &str| BTreeMap::from([(k.to_owned(), "v".to_owned())]);
        i.insert("arn:aws:s3:::artifacts", t("a"));
        i.insert("arn:aws-cn:s3:::cn-bucket", t("b"));
        i.insert(
            "arn:aws:dynamodb:eu-west-1:123456789012:table/locks",
            t("c"),
        );
        // Not buckets or tables: objects, indexes, streams, other services.
        i.insert("arn:aws:s3:::artifacts/key", t("x"));
        i.insert(
            "arn:aws:dynamodb:eu-west-1:1:table/locks/index/by-user",
            t("x"),
        );
        i.insert("arn:aws:rds:eu-west-1:1:db:mlflow", t("x"));
        i.insert("not-an-arn", t("x"));
        assert_eq!(i.buckets.len(), 2);
        assert_eq!(i.buckets["artifacts"], t("a"));
        assert_eq!(i.buckets["cn-bucket"], t("b"));
        assert_eq!(i.tables.len(), 1);
        assert_eq!(i.tables["locks"], t("c"));
    }
}
