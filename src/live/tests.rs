//! Table tests of the pure comparison: state resources + inventory + ignore
//! rules -> findings, without AWS.

use super::*;
use serde_json::json;

fn res(type_: &str, name: &str, attrs: Value) -> StateResource {
    StateResource {
        address: format!("{type_}.{name}"),
        type_: type_.to_owned(),
        id: spec(type_).and_then(|s| (s.key)(&attrs)),
        region: region_of(&attrs),
        attributes: serde_json::value::to_raw_value(&attrs).unwrap(),
        sensitive: Vec::new(),
    }
}

fn live(id: &str, attrs: &[(&str, Value)]) -> LiveObject {
    LiveObject {
        attrs: attrs
            .iter()
            .map(|(p, v)| (p.to_string(), v.clone()))
            .collect(),
        tags: Some(BTreeMap::new()),
        ..LiveObject::named(id, id)
    }
}

/// An inventory of eu-west-1 (global types in the global scope).
fn inv(entries: Vec<(&str, Vec<LiveObject>)>) -> Inventory {
    let mut inventory = Inventory::default();
    for (t, o) in entries {
        let scope = if spec(t).is_some_and(|s| s.global) {
            GLOBAL
        } else {
            "eu-west-1"
        };
        inventory.insert(scope, t, TypeScan::Listed(o));
    }
    inventory
}

fn opts() -> CompareOptions {
    CompareOptions {
        default_region: Some("eu-west-1".into()),
        ..CompareOptions::default()
    }
}

fn rules(text: &str) -> IgnoreRules {
    IgnoreRules::parse(Some(text)).unwrap()
}

#[test]
fn attribute_comparison_table() {
    // (state attributes, live path, live value, expected [(path, state, live)])
    type Case = (
        Value,
        &'static str,
        Value,
        Vec<(&'static str, Value, Value)>,
    );
    let cases: Vec<Case> = vec![
        (
            json!({"name": "t", "billing_mode": "PAY_PER_REQUEST"}),
            "billing_mode",
            json!("PAY_PER_REQUEST"),
            vec![],
        ),
        (
            json!({"name": "t", "billing_mode": "PAY_PER_REQUEST"}),
            "billing_mode",
            json!("PROVISIONED"),
            vec![(
                "billing_mode",
                json!("PAY_PER_REQUEST"),
                json!("PROVISIONED"),
            )],
        ),
        // Attribute absent from state: not compared.
        (
            json!({"name": "t"}),
            "billing_mode",
            json!("PROVISIONED"),
            vec![],
        ),
        // Sets: order does not matter.
        (
            json!({"name": "t", "ids": ["b", "a"]}),
            "ids",
            json!(["a", "b"]),
            vec![],
        ),
        (
            json!({"name": "t", "ids": ["a"]}),
            "ids",
            json!(["a", "b"]),
            vec![("ids", json!(["a"]), json!(["a", "b"]))],
        ),
        // null, "", [] and {} are all "nothing".
        (
            json!({"name": "t", "tags": null}),
            "tags",
            json!({}),
            vec![],
        ),
        (
            json!({"name": "t", "range_key": ""}),
            "range_key",
            Value::Null,
            vec![],
        ),
        // Numbers and numeric strings, booleans.
        (json!({"name": "t", "n": 20}), "n", json!(20.0), vec![]),
        (json!({"name": "t", "n": "20"}), "n", json!(20), vec![]),
        (
            json!({"name": "t", "b": true}),
            "b",
            json!(false),
            vec![("b", json!(true), json!(false))],
        ),
        // Nested blocks by index, maps key by key (both sides).
        (
            json!({"name": "t", "pitr": [{"enabled": true}]}),
            "pitr.0.enabled",
            json!(false),
            vec![("pitr[0].enabled", json!(true), json!(false))],
        ),
        (
            json!({"name": "t", "tags": {"a": "1", "gone": "x"}}),
            "tags",
            json!({"a": "2", "new": "y"}),
            vec![
                ("tags.a", json!("1"), json!("2")),
                ("tags.gone", json!("x"), Value::Null),
                ("tags.new", Value::Null, json!("y")),
            ],
        ),
        // tags_all wins over tags (provider default tags).
        (
            json!({"name": "t", "tags": {}, "tags_all": {"env": "prod"}}),
            "tags",
            json!({"env": "prod"}),
            vec![],
        ),
        // Objects in lists: compared on the live object's keys only.
        (
            json!({"name": "t", "attribute": [{"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}]}),
            "attribute",
            json!([{"name": "sk", "type": "N"}, {"name": "pk", "type": "S"}]),
            vec![],
        ),
    ];
    for (state, path, live_value, want) in cases {
        let r = res("aws_dynamodb_table", "t", state.clone());
        let inventory = inv(vec![(
            "aws_dynamodb_table",
            vec![live("t", &[(path, live_value.clone())])],
        )]);
        let c = compare(&[r], &inventory, &IgnoreRules::default(), &opts());
        let got: Vec<(String, Value, Value)> = c
            .findings
            .iter()
            .flat_map(|f| {
                f.attributes
                    .iter()
                    .map(|a| (a.path.clone(), a.state.clone(), a.live.clone()))
            })
            .collect();
        let want: Vec<(String, Value, Value)> = want
            .into_iter()
            .map(|(p, s, l)| (p.to_owned(), s, l))
            .collect();
        assert_eq!(got, want, "state {state} vs {path} = {live_value}");
        assert_eq!(c.checked, 1);
    }
}

#[test]
fn missing_changed_unmanaged_and_not_checked() {
    let resources = vec![
        res(
            "aws_s3_bucket",
            "artifacts",
            json!({"bucket": "p-artifacts", "region": "eu-west-1"}),
        ),
        res(
            "aws_eks_node_group",
            "a",
            json!({"cluster_name": "p", "node_group_name": "a"}),
        ),
        res(
            "aws_eks_node_group",
            "b",
            json!({"cluster_name": "p", "node_group_name": "b"}),
        ),
        res(
            "aws_db_instance",
            "db",
            json!({"identifier": "p-db", "instance_class": "db.t3.micro"}),
        ),
        res(
            "aws_rds_cluster",
            "aurora",
            json!({"cluster_identifier": "p-aurora"}),
        ),
        res("aws_imagebuilder_image", "r", json!({"name": "r"})),
        res(
            "aws_s3_bucket",
            "far",
            json!({"bucket": "far", "arn": "arn:aws:s3:::far", "region": "us-east-1"}),
        ),
    ];
    let mut inventory = inv(vec![
        (
            "aws_s3_bucket",
            vec![
                live("p-artifacts", &[("region", json!("eu-west-1"))]),
                live("p-extra", &[]),
                live("other-team", &[]),
            ],
        ),
        (
            "aws_eks_node_group",
            vec![live("p:a", &[("scaling_config.0.desired_size", json!(7))])],
        ),
        (
            "aws_db_instance",
            vec![live("p-db", &[("instance_class", json!("db.t3.large"))])],
        ),
    ]);
    inventory.insert(
        "eu-west-1",
        "aws_rds_cluster",
        TypeScan::Failed(AwsError::new(
            "DescribeDBClusters",
            "x",
            AwsErrorKind::AccessDenied,
            Some("AccessDenied".into()),
            None,
        )),
    );
    let o = CompareOptions {
        unmanaged: true,
        scope: UnmanagedScope {
            name_prefixes: vec!["p-".into()],
            tags: BTreeMap::new(),
        },
        only_region: Some("eu-west-1".into()),
        ..opts()
    };
    let c = compare(
        &resources,
        &inventory,
        &IgnoreRules::parse(None).unwrap(),
        &o,
    );
    let kinds: Vec<(Kind, &str, &str)> = c
        .findings
        .iter()
        .map(|f| (f.kind, f.type_.as_str(), f.id.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Kind::Missing, "aws_eks_node_group", "p:b"),
            (Kind::Changed, "aws_db_instance", "p-db"),
            (Kind::Unmanaged, "aws_s3_bucket", "p-extra"),
        ]
    );
    assert_eq!(c.findings[1].attributes[0].path, "instance_class");
    let reasons: Vec<(&str, &str)> = c
        .not_checked
        .iter()
        .map(|n| (n.type_.as_str(), n.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0]
            .1
            .starts_with("access denied: DescribeDBClusters"),
        "{reasons:?}"
    );
    assert!(
        reasons[1]
            .1
            .contains("does not check aws_imagebuilder_image"),
        "{reasons:?}"
    );
    assert_eq!(
        reasons[2].1,
        "it is in region us-east-1; --region limits this scan to eu-west-1"
    );
    assert_eq!((c.resources, c.checked), (7, 4));
    assert_eq!(c.coverage(), 57.1);

    // Ignore rules: a resource, an attribute, and an unmanaged object.
    let r =
        rules("aws_eks_node_group.p:b\naws_db_instance.*.instance_class\naws_s3_bucket.p-extra\n");
    let c = compare(&resources, &inventory, &r, &o);
    assert!(c.findings.is_empty(), "{:?}", c.findings);
    assert!(c.not_checked.iter().any(|n| n
        .reason
        .contains("ignored by rule `aws_eks_node_group.p:b`")));
}

#[test]
fn secrets_are_redacted_like_diff() {
    let mut r = res(
        "aws_db_instance",
        "db",
        json!({"identifier": "db", "password": "old", "tags": {"token": "a"}}),
    );
    r.sensitive = vec![vec![PathStep::Key("password".into())]];
    let inventory = inv(vec![(
        "aws_db_instance",
        vec![live(
            "db",
            &[("password", json!("new")), ("tags", json!({"token": "b"}))],
        )],
    )]);
    let c = compare(&[r], &inventory, &IgnoreRules::default(), &opts());
    let attrs = &c.findings[0].attributes;
    assert_eq!(attrs.len(), 2);
    for a in attrs {
        assert_eq!(a.state, json!("(sensitive)"), "{a:?}");
        assert_eq!(a.live, json!("(sensitive)"), "{a:?}");
    }
}

#[test]
fn region_comes_from_the_arn_first() {
    assert_eq!(
        region_of(&json!({"arn": "arn:aws:eks:us-west-2:1:cluster/x", "region": "eu-west-1"})),
        Some("us-west-2".into())
    );
    assert_eq!(
        region_of(&json!({"arn": "arn:aws:s3:::b", "region": "eu-west-1"})),
        Some("eu-west-1".into())
    );
    assert_eq!(region_of(&json!({"arn": "arn:aws:s3:::b"})), None);
    assert_eq!(
        region_of(&json!({"region": "eu-west-1"})),
        Some("eu-west-1".into())
    );
    assert_eq!(
        region_of(&json!({"availability_zone": "eu-central-1b"})),
        Some("eu-central-1".into())
    );
}

#[test]
fn zone_names_give_their_region() {
    let cases = [
        ("eu-west-1a", Some("eu-west-1")),
        ("us-west-2-lax-1a", Some("us-west-2")),
        ("us-gov-west-1b", Some("us-gov-west-1")),
        ("ap-southeast-2c", Some("ap-southeast-2")),
        ("cn-north-1a", Some("cn-north-1")),
        ("nonsense", None),
        ("1a", None),
    ];
    for (zone, want) in cases {
        assert_eq!(zone_region(zone).as_deref(), want, "{zone}");
    }
}

/// A state with two provider configurations: resources without a region
/// of their own take the region of their provider's other resources.
#[test]
fn resources_without_a_region_take_their_providers_region() {
    let text = r#"{"version": 4, "terraform_version": "1.9.5", "serial": 1, "lineage": "l", "outputs": {},
      "resources": [
        {"mode": "managed", "type": "aws_subnet", "name": "a", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
         "instances": [{"schema_version": 1, "attributes": {"id": "subnet-1", "arn": "arn:aws:ec2:eu-west-1:1:subnet/subnet-1"}}]},
        {"mode": "managed", "type": "aws_subnet", "name": "b", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"].west",
         "instances": [{"schema_version": 1, "attributes": {"id": "subnet-2", "availability_zone": "us-west-2a"}}]},
        {"mode": "managed", "type": "aws_route_table_association", "name": "a", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
         "instances": [{"schema_version": 0, "attributes": {"id": "rtbassoc-1"}}]},
        {"mode": "managed", "type": "aws_route_table_association", "name": "b", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"].west",
         "instances": [{"schema_version": 0, "attributes": {"id": "rtbassoc-2"}}]},
        {"mode": "managed", "type": "aws_security_group_rule", "name": "c", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"].east",
         "instances": [{"schema_version": 2, "attributes": {"id": "sgrule-3"}}]}
      ]}"#;
    let state = crate::state::parse(text.as_bytes()).unwrap();
    let regions: Vec<Option<String>> = state_resources(&state)
        .into_iter()
        .map(|r| r.region)
        .collect();
    assert_eq!(
        regions,
        vec![
            Some("eu-west-1".into()),
            Some("us-west-2".into()),
            Some("eu-west-1".into()),
            Some("us-west-2".into()),
            None
        ]
    );
}

#[test]
fn every_region_is_looked_up_in_its_own_scope() {
    let resources = vec![
        res(
            "aws_dynamodb_table",
            "a",
            json!({"name": "t", "arn": "arn:aws:dynamodb:eu-west-1:1:table/t"}),
        ),
        res(
            "aws_dynamodb_table",
            "b",
            json!({"name": "t", "arn": "arn:aws:dynamodb:us-east-1:1:table/t"}),
        ),
    ];
    let mut inventory = inv(vec![("aws_dynamodb_table", vec![live("t", &[])])]);
    inventory.insert(
        "us-east-1",
        "aws_dynamodb_table",
        TypeScan::Listed(Vec::new()),
    );
    let c = compare(&resources, &inventory, &IgnoreRules::default(), &opts());
    assert_eq!(c.checked, 2);
    let missing: Vec<&str> = c
        .findings
        .iter()
        .map(|f| f.address.as_deref().unwrap())
        .collect();
    assert_eq!(missing, vec!["aws_dynamodb_table.b"]);
}

/// The share of a real-state mix's AWS instances whose type drift checks:
/// `(checked instances, all instances)` over `tests/fixtures/real-state-mix.tsv`.
pub(crate) fn real_state_mix_coverage() -> (u64, u64) {
    let text = include_str!("../../tests/fixtures/real-state-mix.tsv");
    let (mut checked, mut all) = (0, 0);
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut cols = line.split('\t');
        let (type_, n) = (cols.next().unwrap(), cols.next().unwrap());
        let n: u64 = n.parse().unwrap();
        all += n;
        let supported = match type_ {
            "[checked before]" => true,
            "[other types]" => false,
            t => spec(t).is_some(),
        };
        if supported {
            checked += n;
        }
    }
    (checked, all)
}

/// Issue #11's bar: at least 90% of the AWS managed instances of the
/// measured real-state mix are of a type drift checks.
#[test]
fn real_state_mix_is_at_least_90_percent_covered() {
    let (checked, all) = real_state_mix_coverage();
    assert_eq!(all, 3155);
    let share = checked as f64 * 100.0 / all as f64;
    let unsupported: Vec<&str> = include_str!("../../tests/fixtures/real-state-mix.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split('\t').next())
        .filter(|t| spec(t).is_none())
        .collect();
    assert!(
        share >= 90.0,
        "{checked} of {all} instances ({share:.1}%) are of a checked type; unsupported: {unsupported:?}"
    );
}
