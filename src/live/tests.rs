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

fn inv(entries: Vec<(&str, Vec<LiveObject>)>) -> Inventory {
    entries
        .into_iter()
        .map(|(t, o)| (t.to_owned(), TypeScan::Listed(o)))
        .collect()
}

fn opts() -> CompareOptions {
    CompareOptions {
        region: Some("eu-west-1".into()),
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
        res("aws_iam_role", "r", json!({"name": "r"})),
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
        "aws_rds_cluster".into(),
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
        reasons[1].1.contains("does not check aws_iam_role"),
        "{reasons:?}"
    );
    assert!(reasons[2].1.contains("region us-east-1"), "{reasons:?}");
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
}
