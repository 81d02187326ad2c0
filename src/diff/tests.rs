use super::*;
use crate::state::parse;
use serde_json::json;

const FULL: &[u8] = include_bytes!("../../tests/fixtures/full.tfstate");
const FULL_V2: &[u8] = include_bytes!("../../tests/fixtures/full_v2.tfstate");
const LEGACY: &[u8] = include_bytes!("../../tests/fixtures/legacy_flat.tfstate");

const HIDE: DiffOptions = DiffOptions {
    show_sensitive: false,
};
const SHOW: DiffOptions = DiffOptions {
    show_sensitive: true,
};

fn changes<'d>(d: &'d StateDiff, address: &str) -> Vec<(&'d str, &'d Value, &'d Value)> {
    d.changed
        .iter()
        .find(|c| c.address == address)
        .unwrap_or_else(|| panic!("{address} not changed: {d:#?}"))
        .attributes
        .iter()
        .map(|a| (a.path.as_str(), &a.before, &a.after))
        .collect()
}

#[test]
fn fixture_pair() {
    let a = parse(FULL).unwrap();
    let b = parse(FULL_V2).unwrap();
    let d = diff(&a, &b, &HIDE);
    assert_eq!(
        d.from,
        Side {
            serial: 17,
            lineage: a.lineage.to_string()
        }
    );
    assert_eq!(d.to.serial, 18);
    assert_eq!(d.added, vec!["aws_s3_bucket.logs"]);
    assert_eq!(
        d.removed,
        vec![
            "aws_instance.web[1] (deposed object 00000001)",
            "module.eks.module.node_groups[\"blue\"].aws_eks_node_group.this[\"blue\"]",
        ]
    );
    let changed: Vec<&str> = d.changed.iter().map(|c| c.address.as_str()).collect();
    // The node group a"b only had its keys reordered: not changed.
    assert_eq!(
        changed,
        vec![
            "aws_db_instance.main",
            "aws_instance.web[0]",
            "aws_instance.web[1]"
        ]
    );
    assert_eq!(
        changes(&d, "aws_instance.web[0]"),
        vec![
            (
                "(dependencies)",
                &json!(["data.aws_ami.ubuntu"]),
                &json!(["aws_db_instance.main", "data.aws_ami.ubuntu"])
            ),
            ("instance_type", &json!("t3.micro"), &json!("t3.large")),
            ("tags.Name", &json!("web-0"), &json!("web-zero")),
        ]
    );
    assert_eq!(
        changes(&d, "aws_instance.web[1]"),
        vec![("(status)", &json!("tainted"), &Value::Null)]
    );
    // Password redacted (declared and by name); the big int is exact.
    let db = changes(&d, "aws_db_instance.main");
    assert_eq!(db.len(), 2, "{db:?}");
    assert_eq!(db[0].0, "max_bytes");
    assert_eq!(db[0].1.to_string(), "123456789012345678901234567890");
    assert_eq!(db[0].2.to_string(), "123456789012345678901234567891");
    assert_eq!(
        db[1],
        ("password", &json!("(sensitive)"), &json!("(sensitive)"))
    );

    assert_eq!(d.outputs.added, vec!["bucket"]);
    assert_eq!(d.outputs.removed, vec!["subnet_ids"]);
    assert_eq!(d.outputs.changed, vec!["db_password", "vpc_id"]);
    assert_eq!(
        d.summary,
        Summary {
            added: 1,
            removed: 2,
            changed: 3
        }
    );
    let text = serde_json::to_string(&d).unwrap();
    assert!(!text.contains("hunter"), "{text}");
}

#[test]
fn show_sensitive_reveals() {
    let a = parse(FULL).unwrap();
    let b = parse(FULL_V2).unwrap();
    let d = diff(&a, &b, &SHOW);
    let db = changes(&d, "aws_db_instance.main");
    assert_eq!(db[1], ("password", &json!("hunter2"), &json!("hunter3")));
}

#[test]
fn json_shape_is_exact() {
    let a = parse(FULL).unwrap();
    let b = parse(FULL_V2).unwrap();
    let text = serde_json::to_string(&diff(&a, &b, &HIDE)).unwrap();
    assert!(text.starts_with(
        "{\"from\":{\"serial\":17,\"lineage\":\"6a1c2f3e-0b4d-4e5f-8a9b-0c1d2e3f4a5b\"},\"to\":{\"serial\":18,"
    ));
    let order = [
        "\"added\":[",
        "\"removed\":[",
        "\"changed\":[{\"address\":",
        "\"outputs\":{\"added\":[",
        "\"summary\":{\"added\":1,\"removed\":2,\"changed\":3}}",
    ];
    let pos: Vec<usize> = order
        .iter()
        .map(|k| text.find(k).unwrap_or_else(|| panic!("{k} in {text}")))
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(text
        .contains("{\"path\":\"instance_type\",\"before\":\"t3.micro\",\"after\":\"t3.large\"}"));
    assert!(text.contains("\"outputs\":{\"added\":[\"bucket\"],\"removed\":[\"subnet_ids\"],\"changed\":[\"db_password\",\"vpc_id\"]}"));
}

#[test]
fn identical_and_self_diff_is_empty() {
    let a = parse(FULL).unwrap();
    let d = diff(&a, &a, &HIDE);
    assert!(d.is_empty());
    assert_eq!(d.summary, Summary::default());
}

fn one(attrs: &str, extra: &str) -> String {
    format!(
        r#"{{"version":4,"terraform_version":"1.9.0","serial":1,"lineage":"L","outputs":{{}},
        "resources":[{{"mode":"managed","type":"t","name":"a","provider":"p",
        "instances":[{{"attributes":{attrs}{extra}}}]}}]}}"#
    )
}

fn attr_diff(
    a: &str,
    b: &str,
    extra_a: &str,
    extra_b: &str,
    opts: &DiffOptions,
) -> Vec<(String, Value, Value)> {
    let sa = one(a, extra_a);
    let sb = one(b, extra_b);
    let (pa, pb) = (parse(sa.as_bytes()).unwrap(), parse(sb.as_bytes()).unwrap());
    let d = diff(&pa, &pb, opts);
    d.changed
        .into_iter()
        .flat_map(|c| c.attributes)
        .map(|a| (a.path, a.before, a.after))
        .collect()
}

#[test]
fn key_order_and_whitespace_only_is_no_change() {
    let got = attr_diff(
        r#"{"a":1,"b":{"x":[1,2],"y":"z"}}"#,
        r#"{ "b" : { "y":"z", "x":[1, 2] }, "a":1 }"#,
        "",
        "",
        &HIDE,
    );
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn leaf_paths() {
    let got = attr_diff(
        r#"{"ingress":[{"cidr_blocks":["10.0.0.0/8","10.1.0.0/16"]}],"labels":{"k8s.io/x":"a"},"gone":{"k":1},"list":[1]}"#,
        r#"{"ingress":[{"cidr_blocks":["10.0.0.0/8","10.2.0.0/16"]}],"labels":{"k8s.io/x":"b"},"new":{},"list":[1,2],"n":null}"#,
        "",
        "",
        &HIDE,
    );
    assert_eq!(
        got,
        vec![
            ("gone.k".to_owned(), json!(1), Value::Null),
            (
                "ingress[0].cidr_blocks[1]".to_owned(),
                json!("10.1.0.0/16"),
                json!("10.2.0.0/16")
            ),
            ("labels[\"k8s.io/x\"]".to_owned(), json!("a"), json!("b")),
            ("list[1]".to_owned(), Value::Null, json!(2)),
            ("new".to_owned(), Value::Null, json!({})),
        ]
    );
}

#[test]
fn redaction_rules() {
    let declared = r#","sensitive_attributes":[[{"type":"get_attr","value":"conn"},{"type":"get_attr","value":"host"}]]"#;
    let a = r#"{"conn":{"host":"h1","port":1},"master_password":"p1","tags":{"Name":"n1"},"author":"a1"}"#;
    let b = r#"{"conn":{"host":"h2","port":2},"master_password":"p2","tags":{"Name":"n2"},"author":"a2"}"#;
    let got = attr_diff(a, b, declared, "", &HIDE);
    assert_eq!(
        got,
        vec![
            ("author".to_owned(), json!("a1"), json!("a2")),
            (
                "conn.host".to_owned(),
                json!("(sensitive)"),
                json!("(sensitive)")
            ),
            ("conn.port".to_owned(), json!(1), json!(2)),
            (
                "master_password".to_owned(),
                json!("(sensitive)"),
                json!("(sensitive)")
            ),
            ("tags.Name".to_owned(), json!("n1"), json!("n2")),
        ]
    );
    // Declared on the new side only still redacts both values.
    let got = attr_diff(a, b, "", declared, &HIDE);
    assert_eq!(got[1].1, json!("(sensitive)"));
    // Added secret: before stays null, after redacted.
    let got = attr_diff(r#"{}"#, r#"{"token":"t"}"#, "", "", &HIDE);
    assert_eq!(
        got,
        vec![("token".to_owned(), Value::Null, json!("(sensitive)"))]
    );
    let got = attr_diff(r#"{}"#, r#"{"token":"t"}"#, "", "", &SHOW);
    assert_eq!(got, vec![("token".to_owned(), Value::Null, json!("t"))]);
}

#[test]
fn metadata_pseudo_paths() {
    let got = attr_diff(
        r#"{"a":1}"#,
        r#"{"a":1}"#,
        r#","schema_version":1,"create_before_destroy":false"#,
        r#","schema_version":2,"status":"tainted","create_before_destroy":true"#,
        &HIDE,
    );
    assert_eq!(
        got,
        vec![
            ("(status)".to_owned(), Value::Null, json!("tainted")),
            ("(schema_version)".to_owned(), json!(1), json!(2)),
            (
                "(create_before_destroy)".to_owned(),
                json!(false),
                json!(true)
            ),
        ]
    );
    // Dependencies compare as sets.
    let got = attr_diff(
        r#"{"a":1}"#,
        r#"{"a":1}"#,
        r#","dependencies":["x","y"]"#,
        r#","dependencies":["y","x"]"#,
        &HIDE,
    );
    assert!(got.is_empty());
}

#[test]
fn deposed_objects_are_their_own_entries() {
    let mk = |deposed: &str| {
        format!(
            r#"{{"version":4,"terraform_version":"1.9.0","serial":1,"lineage":"L","resources":[
            {{"mode":"managed","type":"t","name":"a","provider":"p","instances":[
              {{"attributes":{{"v":1}}}}{deposed}]}}]}}"#
        )
    };
    let a = mk(r#",{"deposed":"00000001","attributes":{"v":0}}"#);
    let b = mk(
        r#",{"deposed":"00000001","attributes":{"v":5}},{"deposed":"00000002","attributes":{"v":6}}"#,
    );
    let (pa, pb) = (parse(a.as_bytes()).unwrap(), parse(b.as_bytes()).unwrap());
    let d = diff(&pa, &pb, &HIDE);
    assert_eq!(d.added, vec!["t.a (deposed object 00000002)"]);
    assert!(d.removed.is_empty());
    assert_eq!(d.changed.len(), 1);
    assert_eq!(d.changed[0].address, "t.a (deposed object 00000001)");
    assert_eq!(pb.resource_count(), 1);
}

#[test]
fn legacy_flat_attributes() {
    let a = parse(LEGACY).unwrap();
    let text = String::from_utf8(LEGACY.to_vec())
        .unwrap()
        .replace("\"p4ss\"", "\"n3w\"")
        .replace("\"123\"", "\"124\"");
    let b = parse(text.as_bytes()).unwrap();
    let d = diff(&a, &b, &HIDE);
    let ch = changes(&d, "null_resource.old");
    assert_eq!(
        ch,
        vec![
            ("id", &json!("123"), &json!("124")),
            (
                "[\"triggers.password\"]",
                &json!("(sensitive)"),
                &json!("(sensitive)")
            ),
        ]
    );
}

#[test]
fn big_numbers_compare_exactly() {
    let got = attr_diff(
        r#"{"n":123456789012345678901234567890,"f":1.0000000000000002}"#,
        r#"{"n":123456789012345678901234567891,"f":1.0000000000000002}"#,
        "",
        "",
        &HIDE,
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2.to_string(), "123456789012345678901234567891");
}

#[test]
fn render_text_output() {
    let a = parse(FULL).unwrap();
    let b = parse(FULL_V2).unwrap();
    let d = diff(&a, &b, &HIDE);
    let mut out = Vec::new();
    render_text(&d, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with(
            "serial 17 -> 18, lineage 6a1c2f3e-0b4d-4e5f-8a9b-0c1d2e3f4a5b (unchanged)\n"
        ),
        "{text}"
    );
    assert!(text.contains("\n+ aws_s3_bucket.logs\n"));
    assert!(text.contains("\n- aws_instance.web[1] (deposed object 00000001)\n"));
    assert!(text.contains("\n~ aws_instance.web[0]\n    (dependencies): [\"data.aws_ami.ubuntu\"] -> [\"aws_db_instance.main\",\"data.aws_ami.ubuntu\"]\n"), "{text}");
    assert!(text.contains("\n    instance_type: \"t3.micro\" -> \"t3.large\"\n"));
    assert!(text.contains("    password: \"(sensitive)\" -> \"(sensitive)\"\n"));
    assert!(text.contains("outputs:\n  + bucket\n  - subnet_ids\n  ~ db_password\n  ~ vpc_id\n"));
    assert!(text.ends_with("1 added, 2 removed, 3 changed\n"));
    assert!(!text.contains("hunter"));
}

#[test]
fn unified_text_diff_redacts_by_default() {
    let t = unified_text_diff(FULL, FULL_V2, "a.tfstate", "b.tfstate", &HIDE).unwrap();
    assert!(t.starts_with("--- a.tfstate\n+++ b.tfstate\n"), "{t}");
    assert!(
        t.contains("-            \"instance_type\": \"t3.micro\","),
        "{t}"
    );
    assert!(!t.contains("hunter"), "{t}");
    assert!(!t.contains("eyJzY2hlbWFf"), "{t}");
    let shown = unified_text_diff(FULL, FULL_V2, "a", "b", &SHOW).unwrap();
    assert!(shown.contains("hunter3"));
    assert!(unified_text_diff(b"{}", FULL, "a", "b", &HIDE).is_err());
    assert_eq!(unified_text_diff(FULL, FULL, "a", "b", &HIDE).unwrap(), "");
}
