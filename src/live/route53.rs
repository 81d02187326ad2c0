//! Route 53 (global): hosted zones from ListHostedZones (100 a page) with
//! their tags from ListTagsForResources (10 managed zones a call), and
//! records from ListResourceRecordSets (300 a page) of each zone the
//! state's records name. The naive baseline reads each zone with
//! GetHostedZone (records have no per-record read: it lists).
//!
//! Identifiers: the bare zone ID (no `/hostedzone/`); for records the
//! provider's `ZONEID_name_TYPE[_setidentifier]`, built from the record's
//! full name (`fqdn`) so that names written relative to the zone match.
//! Names are compared lower case, without the trailing dot, with `\052`
//! escapes decoded; TXT values without their quotes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{attr_str, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::route53::{bare_zone_id, HostedZoneInfo, RecordSetInfo, Route53};
use crate::aws::{Aws, AwsError};

pub const ZONE: &str = "aws_route53_zone";
pub const RECORD: &str = "aws_route53_record";

fn zone_key(a: &Value) -> Option<String> {
    attr_str(a, "zone_id")
        .or_else(|| attr_str(a, "id"))
        .map(|z| bare_zone_id(z).to_owned())
}

/// `ZONEID_name_TYPE[_setidentifier]` from the record's zone, full name,
/// type and set identifier; else the state's `id`.
fn record_key(a: &Value) -> Option<String> {
    let name = attr_str(a, "fqdn").or_else(|| attr_str(a, "name"));
    match (attr_str(a, "zone_id"), name, attr_str(a, "type")) {
        (Some(z), Some(n), Some(t)) => Some(record_id(
            bare_zone_id(z),
            n,
            t,
            attr_str(a, "set_identifier"),
        )),
        _ => attr_str(a, "id").map(str::to_owned),
    }
}

/// The identifier of a record set.
pub fn record_id(zone: &str, name: &str, type_: &str, set_identifier: Option<&str>) -> String {
    let mut id = format!("{zone}_{}_{type_}", normalize_name(name));
    if let Some(s) = set_identifier.filter(|s| !s.is_empty()) {
        id.push('_');
        id.push_str(s);
    }
    id
}

/// A DNS name as compared: `\ddd` octal escapes decoded (`\052` is `*`),
/// lower case, no trailing dot.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        let escaped = rest
            .strip_prefix('\\')
            .and_then(|r| r.get(..3))
            .filter(|d| d.bytes().all(|b| (b'0'..=b'7').contains(&b)))
            .and_then(|d| u32::from_str_radix(d, 8).ok())
            .and_then(char::from_u32);
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                rest = &rest[4..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out.trim_end_matches('.').to_lowercase()
}

/// One record value as compared: TXT/SPF values without their quotes (and
/// the quote pairs between 255-character chunks), other values as names.
pub fn normalize_value(type_: &str, value: &str) -> String {
    if type_ == "TXT" || type_ == "SPF" {
        let v = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        v.replace("\" \"", "").replace("\"\"", "")
    } else {
        value.trim_end_matches('.').to_lowercase()
    }
}

/// The state's records, alias names and TTL in the compared form (an
/// alias record's TTL is stored as 0 or not at all).
fn prepare_record(a: &mut Value) {
    let type_ = attr_str(a, "type").unwrap_or_default().to_owned();
    if let Some(Value::Array(records)) = a.get_mut("records") {
        for r in records.iter_mut() {
            if let Value::String(s) = r {
                *s = normalize_value(&type_, s);
            }
        }
    }
    if let Some(Value::Array(aliases)) = a.get_mut("alias") {
        for alias in aliases.iter_mut() {
            if let Some(Value::String(s)) = alias.get_mut("name") {
                *s = normalize_name(s);
            }
        }
    }
    if a.get("ttl").and_then(Value::as_i64) == Some(0) {
        a["ttl"] = Value::Null;
    }
}

/// The state's zone name in the compared form.
fn prepare_zone(a: &mut Value) {
    if let Some(Value::String(s)) = a.get_mut("name") {
        *s = normalize_name(s);
    }
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(ZONE, zone_key)
        .compares("name, comment, tags")
        .global()
        .prepare(prepare_zone),
    TypeSpec::new(RECORD, record_key)
        .compares("type, ttl, records (as a set), alias, weighted_routing_policy weight")
        .global()
        .prepare(prepare_record),
];

/// `aws_route53_zone`: name, comment, and tags when they were read.
pub fn zone_attrs(
    z: &HostedZoneInfo,
    tags: Option<&BTreeMap<String, String>>,
) -> Vec<(String, Value)> {
    let mut attrs = vec![
        ("name".into(), json!(normalize_name(&z.name))),
        (
            "comment".into(),
            json!(z.comment.clone().unwrap_or_default()),
        ),
    ];
    if let Some(t) = tags {
        attrs.push(("tags".into(), json!(t)));
    }
    attrs
}

/// `aws_route53_record`: type, TTL, values (a set), alias target and the
/// weight of a weighted record.
pub fn record_attrs(r: &RecordSetInfo) -> Vec<(String, Value)> {
    let records: Vec<String> = r
        .records
        .iter()
        .map(|v| normalize_value(&r.type_, v))
        .collect();
    let alias: Vec<Value> = r
        .alias
        .iter()
        .map(|(name, zone, health)| {
            json!({"name": normalize_name(name), "zone_id": zone, "evaluate_target_health": health})
        })
        .collect();
    vec![
        ("type".into(), json!(r.type_)),
        ("ttl".into(), json!(r.ttl)),
        ("records".into(), json!(records)),
        ("alias".into(), Value::Array(alias)),
        ("weighted_routing_policy.0.weight".into(), json!(r.weight)),
    ]
}

super::family!("Route 53");

/// Enumerates the wanted Route 53 types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let r53 = aws.route53();
    let mut out = Part::new();
    if req.wants(ZONE) {
        out.push((ZONE, listed(zones(&r53, req).await)));
    }
    if req.wants(RECORD) {
        out.push((RECORD, listed(records(&r53, req).await)));
    }
    out
}

fn listed(r: Result<Vec<LiveObject>, AwsError>) -> TypeScan {
    match r {
        Ok(objs) => TypeScan::Listed(objs),
        Err(e) => TypeScan::Failed(e),
    }
}

async fn zones(r53: &Route53, req: &ScanRequest) -> Result<Vec<LiveObject>, AwsError> {
    let managed = req.managed(ZONE);
    let found: Vec<HostedZoneInfo> = if req.naive {
        each(req, managed.iter().cloned().collect(), |id| {
            let r53 = r53.clone();
            async move { r53.get_hosted_zone(&id).await }
        })
        .await?
        .into_iter()
        .flatten()
        .collect()
    } else {
        r53.list_hosted_zones()
            .await?
            .into_iter()
            .filter(|z| managed.contains(&z.id))
            .collect()
    };
    let ids: Vec<String> = found.iter().map(|z| z.id.clone()).collect();
    let tags = r53.zone_tags(&ids).await?;
    Ok(found
        .iter()
        .map(|z| LiveObject {
            attrs: zone_attrs(z, tags.get(&z.id)),
            tags: tags.get(&z.id).cloned(),
            ..LiveObject::named(&z.id, normalize_name(&z.name))
        })
        .collect())
}

async fn records(r53: &Route53, req: &ScanRequest) -> Result<Vec<LiveObject>, AwsError> {
    let managed = req.managed(RECORD);
    let zones: BTreeSet<String> = managed
        .iter()
        .filter_map(|id| id.split_once('_').map(|(z, _)| z.to_owned()))
        .collect();
    let lists = each(req, zones.into_iter().collect(), |zone| {
        let r53 = r53.clone();
        async move {
            let sets = r53.list_record_sets(&zone).await?.unwrap_or_default();
            Ok((zone, sets))
        }
    })
    .await?;
    let mut objs = Vec::new();
    for (zone, sets) in lists {
        for r in sets {
            let id = record_id(&zone, &r.name, &r.type_, r.set_identifier.as_deref());
            if managed.contains(&id) {
                objs.push(LiveObject {
                    attrs: record_attrs(&r),
                    ..LiveObject::named(&id, normalize_name(&r.name))
                });
            }
        }
    }
    Ok(objs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_and_record_identifiers() {
        let cases = [
            (json!({"id": "Z1", "zone_id": "Z1"}), Some("Z1")),
            (json!({"id": "/hostedzone/Z2"}), Some("Z2")),
            (json!({"name": "example.com"}), None),
        ];
        for (attrs, want) in cases {
            assert_eq!(zone_key(&attrs).as_deref(), want, "{attrs}");
        }
        let cases = [
            (
                json!({"id": "Z1_www_A", "zone_id": "Z1", "name": "www", "fqdn": "www.example.com", "type": "A"}),
                Some("Z1_www.example.com_A"),
            ),
            (
                json!({"zone_id": "Z1", "name": "API.Example.com.", "type": "CNAME", "set_identifier": "blue"}),
                Some("Z1_api.example.com_CNAME_blue"),
            ),
            (
                json!({"zone_id": "Z1", "fqdn": "*.example.com", "type": "A", "set_identifier": ""}),
                Some("Z1_*.example.com_A"),
            ),
            (json!({"id": "Z9_x_TXT"}), Some("Z9_x_TXT")),
            (json!({"zone_id": "Z1"}), None),
        ];
        for (attrs, want) in cases {
            assert_eq!(record_key(&attrs).as_deref(), want, "{attrs}");
        }
        assert_eq!(
            record_id("Z1", "\\052.Example.COM.", "A", Some("w")),
            "Z1_*.example.com_A_w"
        );
    }

    #[test]
    fn names_and_values_are_normalised() {
        assert_eq!(normalize_name("\\052.example.com."), "*.example.com");
        assert_eq!(normalize_name("WWW.Example.com"), "www.example.com");
        assert_eq!(normalize_name("a\\"), "a\\");
        assert_eq!(normalize_value("TXT", "\"v=spf1 -all\""), "v=spf1 -all");
        assert_eq!(normalize_value("TXT", "\"abc\" \"def\""), "abcdef");
        assert_eq!(normalize_value("TXT", "abc\"\"def"), "abcdef");
        assert_eq!(
            normalize_value("CNAME", "Target.example.com."),
            "target.example.com"
        );
        assert_eq!(normalize_value("A", "10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn state_records_are_prepared_like_live_ones() {
        let mut a = json!({"type": "TXT", "records": ["\"hello\"", "x"], "ttl": 0,
            "alias": [{"name": "LB.example.com.", "zone_id": "Z2"}]});
        prepare_record(&mut a);
        assert_eq!(a["records"], json!(["hello", "x"]));
        assert_eq!(a["alias"][0]["name"], "lb.example.com");
        assert!(a["ttl"].is_null());
        let mut z = json!({"name": "Example.com."});
        prepare_zone(&mut z);
        assert_eq!(z["name"], "example.com");
    }

    #[test]
    fn mappings_use_terraform_attribute_paths() {
        let r = RecordSetInfo {
            name: "www.example.com.".into(),
            type_: "TXT".into(),
            ttl: Some(300),
            records: vec!["\"a b\"".into()],
            ..RecordSetInfo::default()
        };
        let attrs: BTreeMap<String, Value> = record_attrs(&r).into_iter().collect();
        assert_eq!(attrs["type"], "TXT");
        assert_eq!(attrs["ttl"], 300);
        assert_eq!(attrs["records"], json!(["a b"]));
        assert_eq!(attrs["alias"], json!([]));
        assert!(attrs["weighted_routing_policy.0.weight"].is_null());
        let weighted = RecordSetInfo {
            set_identifier: Some("blue".into()),
            weight: Some(90),
            ..r.clone()
        };
        let attrs: BTreeMap<String, Value> = record_attrs(&weighted).into_iter().collect();
        assert_eq!(attrs["weighted_routing_policy.0.weight"], 90);
        let alias = RecordSetInfo {
            name: "app.example.com.".into(),
            type_: "A".into(),
            alias: Some((
                "LB-1.eu-west-1.elb.amazonaws.com.".into(),
                "Z32O".into(),
                true,
            )),
            ..RecordSetInfo::default()
        };
        let attrs: BTreeMap<String, Value> = record_attrs(&alias).into_iter().collect();
        assert_eq!(
            attrs["alias"],
            json!([{"name": "lb-1.eu-west-1.elb.amazonaws.com", "zone_id": "Z32O", "evaluate_target_health": true}])
        );
        assert!(attrs["ttl"].is_null());
        let z = HostedZoneInfo {
            id: "Z1".into(),
            name: "Example.com.".into(),
            comment: None,
            private_zone: false,
        };
        let tags = BTreeMap::from([("team".to_owned(), "dns".to_owned())]);
        let attrs: BTreeMap<String, Value> = zone_attrs(&z, Some(&tags)).into_iter().collect();
        assert_eq!(attrs["name"], "example.com");
        assert_eq!(attrs["comment"], "");
        assert_eq!(attrs["tags"], json!({"team": "dns"}));
        assert_eq!(zone_attrs(&z, None).len(), 2);
    }
}
