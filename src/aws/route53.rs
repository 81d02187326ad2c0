//! Route 53 adapter: hosted zones (ListHostedZones, 100 a page; GetHostedZone
//! for one), their tags (ListTagsForResources, 10 zones a call) and record
//! sets (ListResourceRecordSets, 300 a page, per zone).

use std::collections::BTreeMap;

use aws_sdk_route53::types::{RrType, TagResourceType};

use super::{AwsError, AwsErrorKind};

/// A hosted zone, as drift compares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostedZoneInfo {
    /// The zone ID without `/hostedzone/`.
    pub id: String,
    /// The zone's name as the API gives it (with the trailing dot).
    pub name: String,
    pub comment: Option<String>,
    pub private_zone: bool,
}

/// One record set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordSetInfo {
    /// The record's name as the API gives it (trailing dot, `\052` escapes).
    pub name: String,
    /// `A`, `CNAME`, ...
    pub type_: String,
    pub set_identifier: Option<String>,
    /// The weight of a weighted record.
    pub weight: Option<i64>,
    pub ttl: Option<i64>,
    /// The values of `ResourceRecords` (TXT values in their quotes).
    pub records: Vec<String>,
    /// `(dns name, hosted zone id, evaluate target health)` of an alias record.
    pub alias: Option<(String, String, bool)>,
}

/// The Route 53 client.
#[derive(Clone, Debug)]
pub struct Route53 {
    client: aws_sdk_route53::Client,
}

/// `/hostedzone/Z123` -> `Z123`.
pub fn bare_zone_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

fn zone(z: &aws_sdk_route53::types::HostedZone) -> HostedZoneInfo {
    HostedZoneInfo {
        id: bare_zone_id(z.id()).to_owned(),
        name: z.name().to_owned(),
        comment: z.config().and_then(|c| c.comment()).map(str::to_owned),
        private_zone: z.config().is_some_and(|c| c.private_zone()),
    }
}

impl Route53 {
    pub(super) fn new(client: aws_sdk_route53::Client) -> Self {
        Route53 { client }
    }

    /// Every hosted zone of the account (ListHostedZones, pages of 100).
    pub async fn list_hosted_zones(&self) -> Result<Vec<HostedZoneInfo>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_hosted_zones()
                .max_items(100)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("ListHostedZones", "the account's hosted zones", e)
                })?;
            out.extend(page.hosted_zones().iter().map(zone));
            match page.next_marker() {
                Some(m) if page.is_truncated() && !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// One hosted zone (GetHostedZone); `None` when it does not exist.
    pub async fn get_hosted_zone(&self, id: &str) -> Result<Option<HostedZoneInfo>, AwsError> {
        let r = self
            .client
            .get_hosted_zone()
            .id(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetHostedZone", format!("hosted zone {id}"), e));
        match r {
            Ok(resp) => Ok(resp.hosted_zone().map(zone)),
            Err(e) if e.kind == AwsErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The tags of hosted zones (ListTagsForResources, 10 zones a call), by
    /// bare zone ID.
    pub async fn zone_tags(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
        let mut out = BTreeMap::new();
        for chunk in ids.chunks(10) {
            let resp = self
                .client
                .list_tags_for_resources()
                .resource_type(TagResourceType::Hostedzone)
                .set_resource_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        "ListTagsForResources",
                        format!("hosted zones {}", chunk.join(", ")),
                        e,
                    )
                })?;
            for set in resp.resource_tag_sets() {
                let Some(id) = set.resource_id() else {
                    continue;
                };
                let tags = set
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_owned(),
                            t.value().unwrap_or_default().to_owned(),
                        ))
                    })
                    .collect();
                out.insert(bare_zone_id(id).to_owned(), tags);
            }
        }
        Ok(out)
    }

    /// Every record set of a zone (ListResourceRecordSets, pages of 300);
    /// `None` when the zone does not exist.
    pub async fn list_record_sets(
        &self,
        zone_id: &str,
    ) -> Result<Option<Vec<RecordSetInfo>>, AwsError> {
        let mut out = Vec::new();
        let mut start: Option<(String, RrType, Option<String>)> = None;
        loop {
            let mut call = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .max_items(300);
            if let Some((name, type_, identifier)) = start.take() {
                call = call
                    .start_record_name(name)
                    .start_record_type(type_)
                    .set_start_record_identifier(identifier);
            }
            let page = match call.send().await {
                Ok(page) => page,
                Err(e) => {
                    let e = AwsError::from_sdk(
                        "ListResourceRecordSets",
                        format!("hosted zone {zone_id}"),
                        e,
                    );
                    if e.kind == AwsErrorKind::NotFound {
                        return Ok(None);
                    }
                    return Err(e);
                }
            };
            out.extend(page.resource_record_sets().iter().map(|r| {
                RecordSetInfo {
                    name: r.name().to_owned(),
                    type_: r.r#type().as_str().to_owned(),
                    set_identifier: r.set_identifier().map(str::to_owned),
                    weight: r.weight(),
                    ttl: r.ttl(),
                    records: r
                        .resource_records()
                        .iter()
                        .map(|v| v.value().to_owned())
                        .collect(),
                    alias: r.alias_target().map(|a| {
                        (
                            a.dns_name().to_owned(),
                            a.hosted_zone_id().to_owned(),
                            a.evaluate_target_health(),
                        )
                    }),
                }
            }));
            match (page.is_truncated(), page.next_record_name()) {
                (true, Some(name)) => {
                    let type_ = page.next_record_type().cloned().unwrap_or(RrType::A);
                    start = Some((
                        name.to_owned(),
                        type_,
                        page.next_record_identifier().map(str::to_owned),
                    ));
                }
                _ => break,
            }
        }
        Ok(Some(out))
    }
}
