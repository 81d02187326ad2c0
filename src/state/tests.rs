use super::*;

const FULL: &[u8] = include_bytes!("../../tests/fixtures/full.tfstate");
const FULL_V2: &[u8] = include_bytes!("../../tests/fixtures/full_v2.tfstate");
const LEGACY: &[u8] = include_bytes!("../../tests/fixtures/legacy_flat.tfstate");
const ENCRYPTED: &[u8] = include_bytes!("../../tests/fixtures/encrypted.tfstate");
const V3: &[u8] = include_bytes!("../../tests/fixtures/v3.tfstate");

fn minimal(extra_resources: &str) -> String {
    format!(
        r#"{{"version":4,"terraform_version":"1.9.0","serial":1,"lineage":"L","outputs":{{}},"resources":[{extra_resources}]}}"#
    )
}

#[test]
fn parses_all_fields() {
    let s = parse(FULL).unwrap();
    assert_eq!(s.version, 4);
    assert_eq!(s.terraform_version, "1.12.1");
    assert_eq!(s.serial, 17);
    assert_eq!(s.lineage, "6a1c2f3e-0b4d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_eq!(
        s.output_names(),
        vec!["db_password", "vpc_id", "subnet_ids"]
    );
    assert!(s.outputs[0].sensitive);
    assert!(!s.outputs[1].sensitive);
    assert_eq!(
        s.outputs[1].value.unwrap().get(),
        "\"vpc-0123456789abcdef0\""
    );
    assert_eq!(s.outputs[1].type_.unwrap().get(), "\"string\"");
    assert!(s
        .check_results
        .unwrap()
        .get()
        .contains("aws_instance.web[0]"));

    let ami = &s.resources[0];
    assert_eq!(ami.mode, Mode::Data);
    assert_eq!(ami.module, None);
    assert_eq!(ami.each, None);
    assert_eq!(
        ami.provider,
        "provider[\"registry.terraform.io/hashicorp/aws\"]"
    );

    let db = &s.resources[1].instances[0];
    assert_eq!(db.schema_version, 2);
    assert_eq!(
        db.sensitive_attributes,
        vec![
            vec![PathStep::Key("password".into())],
            vec![PathStep::Key("user_data".into())]
        ]
    );
    assert_eq!(db.identity_schema_version, Some(0));
    assert_eq!(
        db.identity
            .unwrap()
            .get()
            .split_whitespace()
            .collect::<String>(),
        r#"{"id":"db-1","region":"eu-west-1"}"#
    );
    assert_eq!(
        db.private.as_deref(),
        Some("eyJzY2hlbWFfdmVyc2lvbiI6IjIifQ==")
    );

    let web = &s.resources[2];
    assert_eq!(web.each, Some(Each::List));
    assert_eq!(web.instances.len(), 3);
    assert_eq!(web.instances[0].index_key, Some(InstanceKey::Int(0)));
    assert_eq!(web.instances[0].dependencies, vec!["data.aws_ami.ubuntu"]);
    assert!(web.instances[1].is_tainted());
    assert!(!web.instances[0].is_tainted());
    assert_eq!(web.instances[2].deposed.as_deref(), Some("00000001"));
    assert!(web.instances[2].create_before_destroy);

    let ng = &s.resources[4];
    assert_eq!(
        ng.module.as_deref(),
        Some("module.eks.module.node_groups[\"blue\"]")
    );
    assert_eq!(ng.each, Some(Each::Map));
    assert_eq!(
        ng.instances[0].index_key,
        Some(InstanceKey::Str("a\"b".into()))
    );
    assert_eq!(
        ng.instances[2].sensitive_attributes,
        vec![vec![
            PathStep::Key("scaling_config".into()),
            PathStep::Index(0)
        ]]
    );
}

#[test]
fn addresses_like_state_list() {
    let s = parse(FULL).unwrap();
    let want = vec![
        "data.aws_ami.ubuntu",
        "aws_db_instance.main",
        "aws_instance.web[0]",
        "aws_instance.web[1]",
        "module.network.data.aws_availability_zones.available",
        "module.eks.module.node_groups[\"blue\"].aws_eks_node_group.this[\"a\\\"b\"]",
        "module.eks.module.node_groups[\"blue\"].aws_eks_node_group.this[\"blue\"]",
        "module.eks.module.node_groups[\"blue\"].aws_eks_node_group.this[\"日本 $${x}\"]",
    ];
    assert_eq!(s.addresses(), want);
    assert_eq!(s.resource_count(), 8);
}

#[test]
fn show_json_shape() {
    let s = parse(FULL).unwrap();
    let v = serde_json::to_value(s.show()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec![
            "lineage",
            "outputs",
            "resources",
            "serial",
            "terraform_version"
        ]
    );
    assert_eq!(v["serial"], 17);
    assert_eq!(v["outputs"][2], "subnet_ids");
    assert_eq!(v["resources"].as_array().unwrap().len(), 5);
    assert_eq!(
        v["resources"][2],
        serde_json::json!({
            "address": "aws_instance.web",
            "type": "aws_instance",
            "mode": "managed",
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": 2
        })
    );
    assert_eq!(v["resources"][0]["mode"], "data");
    assert_eq!(v["resources"][0]["address"], "data.aws_ami.ubuntu");
    // Serialised field order is the documented one.
    let text = serde_json::to_string(&s.show()).unwrap();
    let order = [
        "\"serial\"",
        "\"lineage\"",
        "\"terraform_version\"",
        "\"resources\"",
        "\"outputs\"",
    ];
    let pos: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
    let rtext = serde_json::to_string(&s.show().resources[0]).unwrap();
    assert!(rtext.starts_with("{\"address\":"), "{rtext}");
}

#[test]
fn legacy_attributes_flat() {
    let s = parse(LEGACY).unwrap();
    let inst = &s.resources[0].instances[0];
    assert!(inst.attributes.is_none());
    let flat = inst.attributes_flat.as_ref().unwrap();
    assert_eq!(flat[2], ("triggers.password".into(), "p4ss".into()));
    assert_eq!(s.addresses(), vec!["null_resource.old"]);
}

#[test]
fn encrypted_opentofu_is_recognised() {
    match parse(ENCRYPTED) {
        Err(ParseError::Encrypted { serial, lineage }) => {
            assert_eq!(serial, Some(12));
            assert_eq!(lineage.as_deref(), Some("enc-lineage"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!parse(ENCRYPTED).unwrap_err().is_corrupt());
}

#[test]
fn other_versions_are_rejected_with_the_version() {
    assert!(matches!(
        parse(V3),
        Err(ParseError::UnsupportedVersion { found: 3 })
    ));
    let v5 = r#"{"version":5,"serial":1,"lineage":"x","resources":{"weird":true}}"#;
    assert!(matches!(
        parse(v5.as_bytes()),
        Err(ParseError::UnsupportedVersion { found: 5 })
    ));
}

#[test]
fn error_classes() {
    let cases: Vec<(&[u8], &str)> = vec![
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"not json", "notjson"),
        (b"{\"version\":4,}", "notjson"),
        (b"\xff\xfe{}", "notjson"),
        (b"{\"version\": 4", "truncated"),
        (b"[1,2]", "invalid"),
        (b"{\"version\": \"4\"}", "invalid"),
        (b"{}", "missing:version"),
        (
            b"{\"version\":4,\"terraform_version\":\"1\",\"serial\":1}",
            "missing:lineage",
        ),
        (
            b"{\"version\":4,\"terraform_version\":\"1\",\"lineage\":\"x\"}",
            "missing:serial",
        ),
        (
            b"{\"version\":4,\"terraform_version\":\"1\",\"serial\":null,\"lineage\":\"x\"}",
            "missing:serial",
        ),
        // Terraform reads a state without terraform_version.
        (b"{\"version\":4,\"serial\":1,\"lineage\":\"x\"}", "ok"),
        (
            b"{\"version\":4,\"terraform_version\":\"1\",\"serial\":-1,\"lineage\":\"x\"}",
            "invalid",
        ),
        // A repeated key is read as Go reads it (the last wins).
        (b"{\"version\":4,\"version\":4}", "missing:serial"),
        (
            b"8c;chunk-signature=ab12\r\n{\"version\":4}\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
            "awschunked",
        ),
        (
            b"8c\r\n{\"version\":4,\"serial\":1}\r\n0\r\nx-amz-checksum-sha256:abc=\r\n\r\n",
            "awschunked",
        ),
        (b"{\"version\":4} trailing", "notjson"),
    ];
    for (input, want) in cases {
        let got = match parse(input) {
            Ok(_) => "ok".to_owned(),
            Err(ParseError::Empty) => "empty".to_owned(),
            Err(ParseError::NotJson { .. }) => "notjson".to_owned(),
            Err(ParseError::Truncated { .. }) => "truncated".to_owned(),
            Err(ParseError::Invalid { .. }) => "invalid".to_owned(),
            Err(ParseError::MissingField { field }) => format!("missing:{field}"),
            Err(ParseError::AwsChunked) => "awschunked".to_owned(),
            Err(e) => format!("{e:?}"),
        };
        assert_eq!(got, want, "input {:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn resource_level_validation() {
    let missing_type = minimal(r#"{"mode":"managed","name":"a","provider":"p","instances":[]}"#);
    match parse(missing_type.as_bytes()) {
        Err(ParseError::MissingField { field }) => assert_eq!(field, "resources[0].type"),
        other => panic!("{other:?}"),
    }
    let bad_mode = minimal(r#"{"mode":"weird","type":"t","name":"a","provider":"p"}"#);
    assert!(matches!(
        parse(bad_mode.as_bytes()),
        Err(ParseError::Invalid { .. })
    ));
    let float_key = minimal(
        r#"{"mode":"managed","type":"t","name":"a","provider":"p","instances":[{"index_key":1.5,"attributes":{}}]}"#,
    );
    assert!(matches!(
        parse(float_key.as_bytes()),
        Err(ParseError::Invalid { .. })
    ));
    let wrong_type = minimal(r#"{"mode":"managed","type":"t","name":7,"provider":"p"}"#);
    assert!(matches!(
        parse(wrong_type.as_bytes()),
        Err(ParseError::Invalid { .. })
    ));
    let bare_index = minimal(
        r#"{"mode":"managed","type":"t","name":"a","provider":"p","instances":[{"attributes":{},
            "sensitive_attributes":[[{"type":"get_attr","value":"m"},{"type":"index","value":"k"}],
            [{"type":"index","value":3}]]}]}"#,
    );
    let s = parse(bare_index.as_bytes()).unwrap();
    assert_eq!(
        s.resources[0].instances[0].sensitive_attributes,
        vec![
            vec![PathStep::Key("m".into()), PathStep::Key("k".into())],
            vec![PathStep::Index(3)]
        ]
    );
}

#[test]
fn unknown_keys_and_key_order_are_tolerated() {
    // resources before version; escaped top-level key; unknown keys.
    let s = r#"{"resources":[{"mode":"managed","type":"t","name":"a","provider":"p","new_thing":1,
        "instances":[{"attributes":{"x":1},"brand_new":[1,2]}]}],
        "x-extra":{"a":[1]},"version":4,"terraform_version":"1.9.0","\u0073erial":5,"lineage":"L",
        "outputs":{"o":{"value":1,"type":"number","extra":true}},"check_results":null}"#;
    let st = parse(s.as_bytes()).unwrap();
    assert_eq!(st.serial, 5);
    assert_eq!(st.addresses(), vec!["t.a"]);
    assert!(st.check_results.is_none());
    assert_eq!(st.output_names(), vec!["o"]);
}

#[test]
fn truncated_prefixes_never_panic() {
    for input in [FULL, FULL_V2, LEGACY] {
        let text = std::str::from_utf8(input).unwrap();
        let complete = text.trim_end().len();
        for cut in 0..input.len() {
            let r = parse(&input[..cut]);
            if cut >= complete {
                assert!(r.is_ok(), "cut {cut}");
                continue;
            }
            match r {
                Err(ParseError::Empty) => assert_eq!(cut, 0),
                Err(ParseError::Truncated { .. }) => {}
                other => panic!("cut {cut}: {other:?}"),
            }
        }
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    // Flip single bytes at many places: any outcome but a panic is fine.
    let mut buf = FULL.to_vec();
    for i in (0..buf.len()).step_by(7) {
        let orig = buf[i];
        for b in [b'"', b'}', b'x', 0xff, b'0'] {
            buf[i] = b;
            let _ = parse(&buf);
            let _ = header::read_header(&buf);
        }
        buf[i] = orig;
    }
}

#[test]
fn large_numbers_survive_byte_exact() {
    let s = parse(FULL).unwrap();
    let attrs = s.resources[1].instances[0].attributes.unwrap().get();
    assert!(attrs.contains("\"max_bytes\": 123456789012345678901234567890"));
    assert!(attrs.contains("\"ratio\": 1.0000000000000002"));
    assert!(attrs.contains("\"huge\": 1e400"));
    // And through a Value (arbitrary_precision).
    let v: serde_json::Value = serde_json::from_str(attrs).unwrap();
    assert_eq!(v["max_bytes"].to_string(), "123456789012345678901234567890");
    assert_eq!(v["ratio"].to_string(), "1.0000000000000002");
    // serde_json normalises exponent notation in a Value; the raw bytes
    // above stay authoritative.
    assert_eq!(v["huge"].to_string(), "1e+400");
    // The attributes slice is exactly a slice of the input.
    let start = attrs.as_ptr() as usize - FULL.as_ptr() as usize;
    assert_eq!(&FULL[start..start + attrs.len()], attrs.as_bytes());
}

#[test]
fn set_serial_changes_only_the_serial_token() {
    for (input, old) in [(FULL, "17"), (FULL_V2, "18"), (LEGACY, "3")] {
        for new in [0u64, 9, 18, 100, u64::MAX] {
            let out = set_serial(input, new).unwrap();
            let span = parse(input).unwrap().serial_span();
            assert_eq!(&input[span.clone()], old.as_bytes());
            assert_eq!(&out[..span.start], &input[..span.start]);
            let digits = new.to_string();
            assert_eq!(
                &out[span.start..span.start + digits.len()],
                digits.as_bytes()
            );
            assert_eq!(&out[span.start + digits.len()..], &input[span.end..]);
            assert_eq!(parse(&out).unwrap().serial, new);
        }
    }
    // Big numbers and a nested "serial" key elsewhere are untouched.
    let s = r#"{"version":4,"terraform_version":"1.9.0","serial":  41 ,"lineage":"L","outputs":{},
        "resources":[{"mode":"managed","type":"t","name":"a","provider":"p",
        "instances":[{"attributes":{"serial":41,"n":123456789012345678901234567890,"f":1.0000000000000002,"g":1e400}}]}]}"#;
    let out = set_serial(s.as_bytes(), 42).unwrap();
    let want = s.replacen("\"serial\":  41 ,", "\"serial\":  42 ,", 1);
    assert_eq!(String::from_utf8(out).unwrap(), want);
    assert!(set_serial(b"{\"version\":3}", 1).is_err());
    // An encrypted state without a plain serial cannot be rolled forward.
    assert!(set_serial(br#"{"encrypted_data":"eA==","encryption_version":"v0"}"#, 1).is_err());
}

#[test]
fn parse_pair_parses_both() {
    let (a, b) = parse_pair(FULL, FULL_V2);
    assert_eq!(a.unwrap().serial, 17);
    assert_eq!(b.unwrap().serial, 18);
    let (a, b) = parse_pair(V3, b"");
    assert!(a.is_err() && b.is_err());
}

#[test]
fn strings_borrow_from_input_when_unescaped() {
    let s = parse(FULL).unwrap();
    assert!(matches!(s.lineage, Cow::Borrowed(_)));
    assert!(matches!(s.resources[0].type_, Cow::Borrowed(_)));
    // The provider string has escaped quotes, so it is owned.
    assert!(matches!(s.resources[0].provider, Cow::Owned(_)));
}

#[test]
fn repeated_top_level_keys_keep_the_last_value_as_go_does() {
    let text = br#"{"version":4,"terraform_version":"1.5.0","serial":3,"lineage":"a","serial":7,"outputs":{},"resources":[]}"#;
    let state = parse(text).unwrap();
    assert_eq!(state.serial, 7);
    assert_eq!(state.duplicate_keys, ["serial"]);
    // The roll-forward rewrites the value Go reads.
    let bumped = set_serial(text, 9).unwrap();
    assert_eq!(parse(&bumped).unwrap().serial, 9);
    let (content, _) = crate::state::health::content_of(text);
    let facts = vec![crate::state::health::VersionFacts {
        version_id: "v1".into(),
        delete_marker: false,
        content,
    }];
    let health = crate::state::health::assess(&facts);
    assert_eq!(health[0].status, crate::state::health::Status::Ok);
    assert!(
        health[0].problems[0].contains("repeats the top-level key `serial`"),
        "{:?}",
        health[0].problems
    );
}

#[test]
fn opentofu_per_instance_provider_and_new_fields_are_read() {
    let text = br#"{"version":4,"terraform_version":"1.9.0","serial":2,"lineage":"l","outputs":{"o":{"value":"x","type":"string","deprecated":"use p"}},"resources":[{"mode":"managed","type":"aws_s3_bucket","name":"b","instances":[{"schema_version":0,"provider":"provider[\"registry.opentofu.org/hashicorp/aws\"]","attributes":{"id":"b"},"identity_schema_version":0,"identity":{"bucket":"b"},"skip_destroy":true}]}],"check_results":[{"object_kind":"check","config_addr":"check.c","status":"pass","objects":null}]}"#;
    let state = parse(text).unwrap();
    assert_eq!(
        state.resources[0].provider,
        "provider[\"registry.opentofu.org/hashicorp/aws\"]"
    );
    assert!(state.check_results.is_some());
    assert!(state.resources[0].instances[0].identity.is_some());
}

#[test]
fn the_plain_serial_of_an_encrypted_state_is_rolled_forward_alone() {
    let out = set_serial(ENCRYPTED, 40).unwrap();
    let want = String::from_utf8_lossy(ENCRYPTED).replace("\"serial\":12", "\"serial\":40");
    assert_eq!(String::from_utf8_lossy(&out), want);
    assert!(matches!(
        parse(&out),
        Err(ParseError::Encrypted {
            serial: Some(40),
            ..
        })
    ));
}
