//! `stateward drift` against the emulator: a small platform (state bucket,
//! lock table, an EKS cluster with two node groups, an RDS instance, an
//! artifacts bucket) with a state that describes it exactly, then drift.

use std::process::{Command, Output, Stdio};

use crate::support::*;

/// Creates the platform (an EKS cluster with node groups `ng-a` and `ng-b`,
/// a PostgreSQL instance, a versioned artifacts bucket, all named from
/// `pre`) and returns a Terraform v4 state that describes it exactly (ids,
/// ARNs and values as the emulator returns them).
fn build_platform(pre: &str) -> String {
    use aws_sdk_eks::types::{NodegroupScalingConfig, VpcConfigRequest};
    let cluster_name = format!("{pre}-eks");
    let db_id = format!("{pre}-db");
    let artifacts = format!("{pre}-artifacts");
    let (cluster, ngs, db) = aws::block(async {
        let cluster = aws::eks()
            .create_cluster()
            .name(&cluster_name)
            .version("1.29")
            .role_arn("arn:aws:iam::123456789012:role/eks")
            .resources_vpc_config(
                VpcConfigRequest::builder()
                    .subnet_ids("subnet-0a")
                    .subnet_ids("subnet-0b")
                    .build(),
            )
            .send()
            .await
            .expect("create cluster")
            .cluster
            .expect("the cluster");
        let mut ngs = Vec::new();
        for n in ["ng-a", "ng-b"] {
            let ng = aws::eks()
                .create_nodegroup()
                .cluster_name(&cluster_name)
                .nodegroup_name(n)
                .node_role("arn:aws:iam::123456789012:role/node")
                .subnets("subnet-0a")
                .scaling_config(
                    NodegroupScalingConfig::builder()
                        .min_size(1)
                        .max_size(3)
                        .desired_size(2)
                        .build(),
                )
                .instance_types("m5.large")
                .labels("pool", n)
                .send()
                .await
                .expect("create node group")
                .nodegroup
                .expect("the node group");
            ngs.push((n, ng));
        }
        let db = aws::rds()
            .create_db_instance()
            .db_instance_identifier(&db_id)
            .db_instance_class("db.t3.micro")
            .engine("postgres")
            .allocated_storage(20)
            .master_username("mlflow")
            .master_user_password("hunter2hunter2")
            .send()
            .await
            .expect("create DB instance")
            .db_instance
            .expect("the DB instance");
        (cluster, ngs, db)
    });
    aws::create_bucket(&artifacts, true);

    let res = |type_: &str, name: &str, attrs: serde_json::Value, sensitive: &[&str]| {
        let sensitive: Vec<_> = sensitive
            .iter()
            .map(|s| serde_json::json!([{"type": "get_attr", "value": s}]))
            .collect();
        serde_json::json!({
            "mode": "managed", "type": type_, "name": name,
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{"schema_version": 0, "attributes": attrs, "sensitive_attributes": sensitive}]
        })
    };
    let vpc = cluster.resources_vpc_config();
    let mut resources = vec![
        res(
            "aws_db_instance",
            "mlflow",
            serde_json::json!({
                "id": db_id, "identifier": db_id, "arn": db.db_instance_arn().unwrap(),
                "instance_class": "db.t3.micro", "engine": "postgres",
                "engine_version": db.engine_version().unwrap(),
                "allocated_storage": 20, "storage_type": db.storage_type().unwrap(),
                "multi_az": db.multi_az().unwrap(),
                "backup_retention_period": db.backup_retention_period().unwrap(),
                "deletion_protection": false,
                "storage_encrypted": db.storage_encrypted().unwrap(),
                "publicly_accessible": db.publicly_accessible().unwrap_or(false),
                "status": "available", "password": "hunter2hunter2", "tags": {}, "tags_all": {}
            }),
            &["password"],
        ),
        res(
            "aws_eks_cluster",
            "main",
            serde_json::json!({
                "id": cluster_name, "name": cluster_name, "arn": cluster.arn().unwrap(),
                "version": "1.29", "role_arn": cluster.role_arn().unwrap(),
                "status": cluster.status().unwrap().as_str(),
                "vpc_config": [{"subnet_ids": ["subnet-0b", "subnet-0a"],
                    "endpoint_private_access": vpc.map(|v| v.endpoint_private_access()).unwrap_or(false),
                    "endpoint_public_access": vpc.map(|v| v.endpoint_public_access()).unwrap_or(false),
                    "security_group_ids": [], "public_access_cidrs": []}],
                "tags": {}, "tags_all": {}
            }),
            &[],
        ),
    ];
    for (n, ng) in &ngs {
        resources.push(res(
            "aws_eks_node_group",
            &n.replace('-', "_"),
            serde_json::json!({
                "id": format!("{cluster_name}:{n}"), "cluster_name": cluster_name,
                "node_group_name": n, "arn": ng.nodegroup_arn().unwrap(),
                "scaling_config": [{"min_size": 1, "max_size": 3, "desired_size": 2}],
                "instance_types": ["m5.large"], "ami_type": ng.ami_type().unwrap().as_str(),
                "capacity_type": ng.capacity_type().unwrap().as_str(),
                "labels": {"pool": n}, "taint": [], "node_role_arn": ng.node_role().unwrap(),
                "subnet_ids": ["subnet-0a"], "status": ng.status().unwrap().as_str(),
                "tags": null, "tags_all": {}
            }),
            &[],
        ));
    }
    resources.push(res(
        "aws_s3_bucket",
        "artifacts",
        serde_json::json!({"id": artifacts, "bucket": artifacts,
            "arn": format!("arn:aws:s3:::{artifacts}"), "region": REGION, "tags": {}, "tags_all": {}}),
        &[],
    ));
    resources.push(res(
        "aws_s3_bucket_versioning",
        "artifacts",
        serde_json::json!({"id": artifacts, "bucket": artifacts,
            "versioning_configuration": [{"status": "Enabled", "mfa_delete": ""}]}),
        &[],
    ));
    // In Terraform's key order: the header fields first.
    format!(
        "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.9.5\",\n  \"serial\": 7,\n  \"lineage\": \"drift-test-lineage\",\n  \"outputs\": {{}},\n  \"resources\": {}\n}}\n",
        serde_json::to_string_pretty(&resources).unwrap()
    )
}

struct Platform {
    backend: Backend,
    prefix: String,
    version_id: String,
}

fn platform() -> Platform {
    let backend = Backend::new("drift-state");
    let prefix = unique("plat");
    let state = build_platform(&prefix);
    let version_id = backend.put(&backend.key, state.as_bytes());
    Platform {
        backend,
        prefix,
        version_id,
    }
}

/// `drift` on the platform, straight to the emulator or `via` a proxy
/// (which refuses some calls).
fn drift(p: &Platform, extra: &[&str], via: Option<&TruncatingProxy>) -> Output {
    let flags = match via {
        Some(proxy) => p.backend.flags_via(&proxy.url()),
        None => p.backend.flags(),
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stateward"));
    aws_env(&mut cmd)
        .arg("drift")
        .args(extra)
        .args(flags)
        .current_dir(root())
        .stdin(Stdio::null());
    cmd.output().expect("run stateward")
}

fn drift_json(
    p: &Platform,
    extra: &[&str],
    via: Option<&TruncatingProxy>,
    code: i32,
) -> serde_json::Value {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let o = drift(p, &args, via);
    assert_exit(&o, code);
    let doc = json(&o);
    assert_schema("drift", &doc);
    doc
}

/// `(kind, type, id, [attribute paths])` of every finding.
fn findings(doc: &serde_json::Value) -> Vec<(String, String, String, Vec<String>)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_owned(),
                f["type"].as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
                f["attributes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["path"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

fn f(kind: &str, type_: &str, id: &str, paths: &[&str]) -> (String, String, String, Vec<String>) {
    (
        kind.into(),
        type_.into(),
        id.into(),
        paths.iter().map(|s| s.to_string()).collect(),
    )
}

#[test]
fn drift_proof_scenario_in_sync_then_drifted_ignored_and_denied() {
    let p = platform();
    let pre = &p.prefix;

    // 1. The state describes the platform exactly: in sync.
    let doc = drift_json(&p, &[], None, 0);
    assert_eq!(findings(&doc), vec![], "{doc:#}");
    assert_eq!(doc["state"]["serial"], 7);
    assert_eq!(doc["state"]["lineage"], "drift-test-lineage");
    assert_eq!(doc["state"]["version_id"], p.version_id.as_str());
    let s = &doc["summary"];
    assert_eq!(
        (s["resources"].as_u64(), s["checked"].as_u64()),
        (Some(6), Some(6)),
        "{doc:#}"
    );
    assert_eq!(s["coverage"], 100.0);
    assert_eq!(doc["not_checked"], serde_json::json!([]));

    // A denied list call: that type is not checked, the rest still is, and
    // the result is incomplete (exit 1), never "in sync".
    let deny = TruncatingProxy::faulty();
    deny.fault("Action=DescribeDBInstances", Fault::DENIED, usize::MAX);
    let doc = drift_json(&p, &[], Some(&deny), 1);
    let nc = doc["not_checked"].as_array().unwrap();
    assert_eq!(nc.len(), 1, "{doc:#}");
    assert_eq!(nc[0]["type"], "aws_db_instance");
    assert_eq!(nc[0]["address"], "aws_db_instance.mlflow");
    assert_eq!(nc[0]["cause"], "error");
    assert!(
        nc[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("access denied"),
        "{doc:#}"
    );
    assert_eq!(doc["summary"]["checked"], 5);
    assert_eq!(
        (&doc["summary"]["errors"], &doc["summary"]["complete"]),
        (&serde_json::json!(1), &serde_json::json!(false))
    );
    let o = drift(&p, &[], Some(&deny));
    assert_exit(&o, 1);
    let text = stdout(&o);
    assert!(!text.contains("In sync"), "{text}");
    assert!(
        text.contains("INCOMPLETE: 1 not checked because AWS refused or failed the calls"),
        "{text}"
    );
    // Accepted on purpose: exit 0, and says so.
    let doc = drift_json(&p, &["--allow-incomplete"], Some(&deny), 0);
    assert_eq!(doc["summary"]["complete"], true);
    // Every type denied: 0% checked is never a pass.
    let all = TruncatingProxy::faulty();
    for live_call in [
        "Action=DescribeDBInstances",
        "/clusters",
        "x-id=ListBuckets",
        "?versioning",
    ] {
        all.fault(live_call, Fault::DENIED, usize::MAX);
    }
    let doc = drift_json(&p, &[], Some(&all), 1);
    assert_eq!(doc["summary"]["checked"], 0, "{doc:#}");
    // A pipeline can require coverage: 5 of 6 is below 90%.
    let doc = drift_json(
        &p,
        &["--allow-incomplete", "--min-coverage", "90"],
        Some(&deny),
        1,
    );
    assert_eq!(doc["summary"]["complete"], false);

    // 2. Drift: a node group deleted, the DB class changed, versioning
    //    suspended on the artifacts bucket, an extra bucket created.
    aws::delete_node_group(&format!("{pre}-eks"), "ng-b");
    aws::rds_instance_class(&format!("{pre}-db"), "db.t3.large");
    aws::put_versioning(&format!("{pre}-artifacts"), false);
    aws::create_bucket(&format!("{pre}-extra"), false);
    let doc = drift_json(&p, &[], None, 2);
    let want = vec![
        f(
            "missing",
            "aws_eks_node_group",
            &format!("{pre}-eks:ng-b"),
            &[],
        ),
        f(
            "changed",
            "aws_db_instance",
            &format!("{pre}-db"),
            &["instance_class"],
        ),
        f(
            "changed",
            "aws_s3_bucket_versioning",
            &format!("{pre}-artifacts"),
            &["versioning_configuration[0].status"],
        ),
    ];
    assert_eq!(findings(&doc), want, "{doc:#}");
    let changed = &doc["findings"][1]["attributes"][0];
    assert_eq!(changed["state"], "db.t3.micro");
    assert_eq!(changed["live"], "db.t3.large");
    assert_eq!(doc["findings"][0]["address"], "aws_eks_node_group.ng_b");
    assert_eq!(doc["findings"][2]["attributes"][0]["live"], "Suspended");
    let s = &doc["summary"];
    assert_eq!(
        (
            s["missing"].as_u64(),
            s["changed"].as_u64(),
            s["unmanaged"].as_u64()
        ),
        (Some(1), Some(2), Some(0))
    );
    assert!(
        !String::from_utf8_lossy(&drift(&p, &["--format", "json"], None).stdout)
            .contains("hunter2")
    );

    // 3. --unmanaged, scoped by the environment file's drift block: the extra bucket too.
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("drift.hcl");
    std::fs::write(
        &env_file,
        format!(
            "backend {{\n  bucket = \"{}\"\n  key = \"{}\"\n  region = \"{REGION}\"\n  endpoint_url = \"{}\"\n  dynamodb_table = \"{}\"\n}}\n\
             drift {{\n  unmanaged_name_prefixes = [\"{pre}-\"]\n}}\n",
            p.backend.bucket,
            p.backend.key,
            endpoint(),
            p.backend.table
        ),
    )
    .unwrap();
    let env_arg = env_file.display().to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stateward"));
    aws_env(&mut cmd)
        .args([
            "drift",
            "--unmanaged",
            "--format",
            "json",
            "--env",
            &env_arg,
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null());
    let o = cmd.output().unwrap();
    assert_exit(&o, 2);
    let doc = json(&o);
    assert_schema("drift", &doc);
    let mut with_extra = want.clone();
    with_extra.push(f(
        "unmanaged",
        "aws_s3_bucket",
        &format!("{pre}-extra"),
        &[],
    ));
    assert_eq!(findings(&doc), with_extra, "{doc:#}");
    assert_eq!(doc["findings"][3]["address"], serde_json::Value::Null);

    // 4. An ignore rule hides one finding; the resource is listed as not checked.
    let ignore = dir.path().join("ignore");
    std::fs::write(
        &ignore,
        format!("# versioning is being migrated\naws_s3_bucket_versioning.{pre}-artifacts\n"),
    )
    .unwrap();
    let ignore_arg = ignore.display().to_string();
    let doc = drift_json(&p, &["--ignore", &ignore_arg], None, 2);
    assert_eq!(findings(&doc), want[..2].to_vec(), "{doc:#}");
    assert!(
        doc["not_checked"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("ignored by rule"),
        "{doc:#}"
    );

    // 4b. The Terraform configuration's lifecycle.ignore_changes
    //     (`--backend-dir`) hides the instance class, and only that.
    let tf = dir.path().join("tf");
    std::fs::create_dir_all(&tf).unwrap();
    std::fs::write(
        tf.join("main.tf"),
        "terraform {\n  backend \"s3\" {}\n}\n\
         resource \"aws_db_instance\" \"mlflow\" {\n  instance_class = \"db.t3.micro\"\n  lifecycle {\n    ignore_changes = [instance_class, tags[\"Team\"]]\n  }\n}\n",
    )
    .unwrap();
    let tf_arg = tf.display().to_string();
    let doc = drift_json(&p, &["--backend-dir", &tf_arg], None, 2);
    assert_eq!(
        findings(&doc),
        vec![want[0].clone(), want[2].clone()],
        "{doc:#}"
    );

    // 5. Text and markdown.
    let o = drift(&p, &[], None);
    assert_exit(&o, 2);
    let text = stdout(&o);
    assert!(
        text.contains("MISSING")
            && text.contains("instance_class: state \"db.t3.micro\" / live \"db.t3.large\""),
        "{text}"
    );
    assert!(
        stderr(&o).is_empty(),
        "no progress without a terminal: {}",
        stderr(&o)
    );
    let o = drift(&p, &["--format", "markdown"], None);
    assert_exit(&o, 2);
    let md = stdout(&o);
    assert!(md.starts_with("### stateward drift: drift found"), "{md}");
    assert!(
        md.contains("| changed | `aws_db_instance.mlflow` |"),
        "{md}"
    );
}

#[test]
fn drift_errors_are_one_sentence_and_exit_1() {
    let p = platform();
    let dir = tempfile::tempdir().unwrap();
    let ignore = dir.path().join("bad");
    std::fs::write(&ignore, "ok.rule\n!\n").unwrap();
    let arg = ignore.display().to_string();
    let o = drift(&p, &["--ignore", &arg], None);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(err.contains("line 2:") && err.lines().count() == 1, "{err}");
    let o = drift(&p, &["--ignore", "/nonexistent/ignore"], None);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("cannot read /nonexistent/ignore"),
        "{}",
        stderr(&o)
    );
}

/// Three bucket names beside the backend's; `a` and `b` exist live, `c` does not.
fn buckets_a_b_live(backend: &Backend) -> (String, String, String) {
    let (a, b, c) = (
        format!("{}-a", backend.bucket),
        format!("{}-b", backend.bucket),
        format!("{}-c", backend.bucket),
    );
    for name in [&a, &b] {
        aws::create_bucket(name, false);
    }
    (a, b, c)
}

#[test]
fn versions_against_live_says_which_version_matches_reality() {
    let backend = Backend::new("against");
    let (a, b, c) = buckets_a_b_live(&backend);
    // v1 describes reality; v2 adds a bucket that does not exist; v3 is corrupt.
    backend.put(
        &backend.key,
        bucket_state(1, &[a.clone(), b.clone()]).as_bytes(),
    );
    backend.put(&backend.key, bucket_state(2, &[a, b, c]).as_bytes());
    backend.put(&backend.key, b"{\"version\": 4, \"seri");
    let mut args: Vec<String> = vec![
        "versions".into(),
        "--against-live".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(backend.flags());
    let o = stateward(&args);
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("versions", &doc);
    let v = doc["versions"].as_array().unwrap();
    assert!(v[0]["live"].is_null(), "corrupt version: {doc:#}");
    assert_eq!(
        v[1]["live"],
        serde_json::json!({"resources": 3, "checked": 3, "matching": 2, "missing": 1, "changed": 0})
    );
    assert_eq!(
        v[2]["live"],
        serde_json::json!({"resources": 2, "checked": 2, "matching": 2, "missing": 0, "changed": 0})
    );
    // Without the flag there is no `live` field at all.
    let mut args: Vec<String> = vec!["versions".into(), "--format".into(), "json".into()];
    args.extend(backend.flags());
    let doc = json(&stateward(&args));
    assert!(doc["versions"][0].get("live").is_none());
    // Text: a LIVE column.
    let mut args: Vec<String> = vec!["versions".into(), "--against-live".into()];
    args.extend(backend.flags());
    let text = stdout(&stateward(&args));
    assert!(
        text.contains("LIVE") && text.contains("2/2 match") && text.contains("2/3 match"),
        "{text}"
    );
}

/// Tags come from one tagging pass (GetResources) instead of a call per
/// bucket and per table, and tag drift is still seen; a bucket that is not
/// where the state says is found through GetBucketLocation.
#[test]
fn tags_come_from_one_pass_and_tag_drift_is_still_seen() {
    let backend = Backend::new("tagpass");
    let pre = unique("tags");
    let res = |type_: &str, name: &str, attrs: serde_json::Value| {
        serde_json::json!({
            "mode": "managed", "type": type_, "name": name,
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{"schema_version": 0, "attributes": attrs, "sensitive_attributes": []}]
        })
    };
    let mut resources = Vec::new();
    for i in 0..20 {
        let b = format!("{pre}-b{i}");
        let n = i.to_string();
        aws::create_bucket(&b, false);
        aws::put_bucket_tags(&b, &[("team", "ml"), ("n", &n)]);
        let tags = serde_json::json!({"team": "ml", "n": n});
        resources.push(res(
            "aws_s3_bucket",
            &format!("b{i}"),
            serde_json::json!({"id": b, "bucket": b, "arn": format!("arn:aws:s3:::{b}"),
                               "region": REGION, "tags": tags, "tags_all": tags}),
        ));
    }
    for i in 0..3 {
        let t = format!("{pre}-t{i}");
        aws::create_tagged_table(&t, &[("team", "ml")]);
        let tags = serde_json::json!({"team": "ml"});
        resources.push(res(
            "aws_dynamodb_table",
            &format!("t{i}"),
            serde_json::json!({"id": t, "name": t, "billing_mode": "PAY_PER_REQUEST",
                "hash_key": "pk", "range_key": null, "attribute": [{"name": "pk", "type": "S"}],
                "global_secondary_index": [], "point_in_time_recovery": [{"enabled": false}],
                "tags": tags, "tags_all": tags}),
        ));
    }
    // The state says this region; the bucket lives in another.
    let moved = format!("{pre}-moved");
    aws::create_bucket_in(&moved, "us-east-1", false);
    resources.push(res(
        "aws_s3_bucket",
        "moved",
        serde_json::json!({"id": moved, "bucket": moved, "arn": format!("arn:aws:s3:::{moved}"),
                           "region": REGION, "tags": {}, "tags_all": {}}),
    ));
    // In Terraform's key order: the header fields first.
    let state = format!(
        r#"{{"version": 4, "terraform_version": "1.9.5", "serial": 3, "lineage": "tags-lineage", "outputs": {{}}, "resources": {}}}"#,
        serde_json::Value::from(resources)
    );
    backend.put(&backend.key, state.as_bytes());
    let run = || {
        let mut args: Vec<String> = vec!["drift".into(), "--format".into(), "json".into()];
        args.extend(backend.flags());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stateward"));
        aws_env(&mut cmd)
            .args(&args)
            .env("STATEWARD_API_STATS", "1")
            .current_dir(root())
            .stdin(Stdio::null());
        let o = cmd.output().expect("run stateward");
        let calls = api_requests(&o);
        (o, calls)
    };

    let (o, calls) = run();
    assert_exit(&o, 2);
    let doc = json(&o);
    assert_schema("drift", &doc);
    assert_eq!(
        findings(&doc),
        vec![f(
            "changed",
            "aws_s3_bucket",
            &format!("{pre}-moved"),
            &["region"]
        )],
        "{doc:#}"
    );
    assert_eq!(doc["findings"][0]["attributes"][0]["live"], "us-east-1");
    // 24 resources. One tag call per bucket and per table would alone be 23;
    // the whole run (state read, listings, one tagging pass, DescribeTable and
    // DescribeContinuousBackups per table, the moved bucket's location and
    // tags) stays well under that.
    assert!(calls <= 18, "{calls} API calls for 24 resources");

    // Tag drift on a bucket and a table is seen through the tagging pass.
    aws::put_bucket_tags(&format!("{pre}-b7"), &[("team", "web"), ("n", "7")]);
    aws::tag_table(&format!("{pre}-t1"), "owner", "someone");
    let (o, _) = run();
    assert_exit(&o, 2);
    let doc = json(&o);
    let got = findings(&doc);
    assert!(
        got.contains(&f(
            "changed",
            "aws_s3_bucket",
            &format!("{pre}-b7"),
            &["tags.team"]
        )) && got.contains(&f(
            "changed",
            "aws_dynamodb_table",
            &format!("{pre}-t1"),
            &["tags.owner"]
        )) && got.len() == 3,
        "{doc:#}"
    );
}

/// Regression (issue 15): `restore --last-good` restores the NEWEST healthy
/// version by default, even when an older one matches live AWS better (live
/// disagreement is usually drift); it shows how each candidate matches, says
/// prominently that the older one matches better, with the exact command
/// that restores it, and that command works. `--prefer-live` chooses by live
/// agreement; `--no-live` skips the comparison and JSON says so.
#[test]
fn restore_last_good_takes_the_newest_healthy_and_names_a_better_live_match() {
    let backend = Backend::new("prefer");
    let (a, b, c) = buckets_a_b_live(&backend);
    // v1 describes reality; v2 also records bucket c, which is gone; v3 is corrupt.
    let v1 = backend.put(
        &backend.key,
        bucket_state(1, &[a.clone(), b.clone()]).as_bytes(),
    );
    let v2 = backend.put(
        &backend.key,
        bucket_state(2, &[a.clone(), b.clone(), c.clone()]).as_bytes(),
    );
    backend.put(&backend.key, b"{\"version\": 4, \"seri");
    let restore = |extra: &[&str]| {
        let mut args: Vec<String> = vec!["restore".into(), "--last-good".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(backend.flags());
        stateward(&args)
    };

    // Default: the newest healthy version, v2, and the better match named.
    let o = restore(&["--dry-run", "--format", "json"]);
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("restore", &doc);
    assert_eq!(doc["restored_from"], v2.as_str(), "{doc:#}");
    assert_eq!(doc["live"]["compared"], true, "{doc:#}");
    assert_eq!(doc["live"]["chosen_by"], "newest-healthy", "{doc:#}");
    let cands = doc["live"]["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 2, "{doc:#}");
    assert_eq!(
        (
            cands[0]["version_id"].as_str(),
            cands[0]["missing"].as_u64()
        ),
        (Some(v2.as_str()), Some(1))
    );
    assert_eq!(
        (
            cands[1]["version_id"].as_str(),
            cands[1]["matching"].as_u64()
        ),
        (Some(v1.as_str()), Some(2))
    );
    let better = &doc["live"]["better_match"];
    assert_eq!(better["version_id"], v1.as_str(), "{doc:#}");
    let command = better["command"].as_str().unwrap().to_owned();
    assert_eq!(
        command,
        format!("stateward restore {v1} {}", backend.flags().join(" "))
    );

    // Text shows every candidate and says it prominently, with the command.
    let text = stdout(&restore(&["--dry-run"]));
    assert!(
        text.contains("live AWS:") && text.contains("NOTE: the older healthy version"),
        "{text}"
    );
    assert!(text.contains(&command), "{text}");
    assert!(text.contains(&format!("{v2}  2/3 checked match")), "{text}");

    // --prefer-live: the version that matches live AWS best, as before.
    let doc = json(&restore(&[
        "--dry-run",
        "--prefer-live",
        "--format",
        "json",
    ]));
    assert_schema("restore", &doc);
    assert_eq!(doc["restored_from"], v1.as_str(), "{doc:#}");
    assert_eq!(doc["live"]["chosen_by"], "live-agreement", "{doc:#}");
    assert!(doc["live"].get("better_match").is_none(), "{doc:#}");
    let v2_reason = doc["passed_over"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["version_id"] == v2.as_str())
        .map(|p| p["reason"].as_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(v2_reason.contains("matches live AWS less"), "{doc:#}");

    // --no-live goes with --last-good only, and not with --prefer-live.
    let mut args: Vec<String> = vec!["restore".into(), "latest".into(), "--no-live".into()];
    args.extend(backend.flags());
    let o = stateward(&args);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("--no-live"), "{}", stderr(&o));
    assert_exit(&restore(&["--dry-run", "--no-live", "--prefer-live"]), 1);

    // --no-live: the newest healthy version; JSON says live AWS was not compared, and why.
    let doc = json(&restore(&["--dry-run", "--no-live", "--format", "json"]));
    assert_schema("restore", &doc);
    assert_eq!(doc["restored_from"], v2.as_str(), "{doc:#}");
    assert_eq!(doc["live"]["compared"], false, "{doc:#}");
    assert!(
        doc["live"]["reason"]
            .as_str()
            .unwrap()
            .contains("--no-live"),
        "{doc:#}"
    );

    // The printed command restores the better match, as printed (plus --yes).
    let o = run_printed(&command, "--yes --format json");
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("restore", &doc);
    assert_eq!(doc["restored_from"], v1.as_str());
    assert_eq!(doc["serial"], 3);

    // Bucket c comes back: the newest healthy version (now the restored v1
    // copy) matches, and is chosen after one comparison.
    let doc = json(&restore(&["--dry-run", "--format", "json"]));
    assert_eq!(doc["live"]["candidates"].as_array().unwrap().len(), 1);
    assert!(doc["live"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("the newest healthy version matches live AWS"));
    assert!(doc["live"].get("better_match").is_none(), "{doc:#}");
}

/// The id of the subnet tagged `Name = name`.
async fn subnet_named(ec2: &aws_sdk_ec2::Client, name: &str) -> String {
    let filter = aws_sdk_ec2::types::Filter::builder()
        .name("tag:Name")
        .values(name)
        .build();
    ec2.describe_subnets()
        .filters(filter)
        .send()
        .await
        .unwrap()
        .subnets()[0]
        .subnet_id()
        .unwrap()
        .to_owned()
}

/// Drifts the full platform through the APIs, as people and other tools do:
/// a private subnet (and its route table association) and a second-region
/// subnet deleted, a security group rule revoked, an unmanaged security group
/// created, a policy detached from its role and given a wider default
/// version, a KMS key scheduled for deletion. The ids involved, by name.
fn drift_full_platform(pre: &str) -> serde_json::Value {
    use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};
    let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
    let ec2 = aws::ec2_in(REGION);
    let west = aws::ec2_in("us-west-2");
    aws::block(async {
        let sub = subnet_named(&ec2, &format!("{pre}-private-{REGION}b")).await;
        let rts = ec2
            .describe_route_tables()
            .filters(filter("association.subnet-id", &sub))
            .send()
            .await
            .unwrap();
        let assoc = rts.route_tables()[0]
            .associations()
            .iter()
            .find(|a| a.subnet_id() == Some(sub.as_str()))
            .and_then(|a| a.route_table_association_id())
            .unwrap()
            .to_owned();
        ec2.disassociate_route_table()
            .association_id(&assoc)
            .send()
            .await
            .unwrap();
        ec2.delete_subnet().subnet_id(&sub).send().await.unwrap();
        let node = ec2
            .describe_security_groups()
            .filters(filter("group-name", &format!("{pre}-node")))
            .send()
            .await
            .unwrap()
            .security_groups()[0]
            .group_id()
            .unwrap()
            .to_owned();
        ec2.revoke_security_group_ingress()
            .group_id(&node)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(IpRange::builder().cidr_ip("10.1.0.0/16").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let vpc = ec2
            .describe_vpcs()
            .filters(filter("tag:Name", pre))
            .send()
            .await
            .unwrap()
            .vpcs()[0]
            .vpc_id()
            .unwrap()
            .to_owned();
        let extra = ec2
            .create_security_group()
            .group_name(format!("{pre}-extra"))
            .description("made by hand")
            .vpc_id(vpc)
            .send()
            .await
            .unwrap()
            .group_id()
            .unwrap()
            .to_owned();
        let dr = subnet_named(&west, &format!("{pre}-dr-a")).await;
        west.delete_subnet().subnet_id(&dr).send().await.unwrap();

        let iam = aws::iam();
        let policy = iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .path_prefix("/app/")
            .send()
            .await
            .unwrap()
            .policies()
            .iter()
            .find(|x| x.policy_name() == Some(format!("{pre}-lambda-data").as_str()))
            .and_then(|x| x.arn())
            .unwrap()
            .to_owned();
        iam.detach_role_policy()
            .role_name(format!("{pre}-lambda"))
            .policy_arn(&policy)
            .send()
            .await
            .unwrap();
        let v1 = iam
            .get_policy_version()
            .policy_arn(&policy)
            .version_id("v1")
            .send()
            .await
            .unwrap();
        let text = v1.policy_version().and_then(|v| v.document()).unwrap();
        // IAM sends the document URL-encoded.
        let mut doc: serde_json::Value = serde_json::from_str(&percent_decode(text)).unwrap();
        for st in doc["Statement"].as_array_mut().unwrap() {
            if st["Action"] == "sqs:SendMessage" {
                st["Action"] = "sqs:*".into();
            }
        }
        iam.create_policy_version()
            .policy_arn(&policy)
            .policy_document(doc.to_string())
            .set_as_default(true)
            .send()
            .await
            .unwrap();

        let kms = aws::kms();
        let key = kms
            .list_aliases()
            .send()
            .await
            .unwrap()
            .aliases()
            .iter()
            .find(|a| a.alias_name() == Some(format!("alias/eks/{pre}").as_str()))
            .and_then(|a| a.target_key_id())
            .unwrap()
            .to_owned();
        kms.schedule_key_deletion()
            .key_id(&key)
            .pending_window_in_days(7)
            .send()
            .await
            .unwrap();
        serde_json::json!({"subnet": sub, "assoc": assoc, "node": node, "extra": extra, "dr": dr,
                           "policy": policy, "key": key})
    })
}

/// `%XX` escapes decoded (a document that is not URL-encoded is unchanged).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("a UTF-8 policy document")
}

/// The realistic platform of `tests/fixtures/platform` (every family, a
/// second region): its state, stored in a fresh backend, and the
/// environment file that targets it (no `--region`: every region the state
/// uses is scanned) with `--unmanaged` scoped to the platform's names.
struct FullPlatform {
    prefix: String,
    dir: tempfile::TempDir,
    env_file: String,
}

fn full_platform() -> FullPlatform {
    let backend = Backend::new("platform-state");
    let prefix = unique("pf");
    let script = root().join("tests/fixtures/platform/build.py");
    let mut cmd = Command::new(venv_python());
    let out = aws_env(&mut cmd)
        .arg(&script)
        .args([&endpoint(), REGION, &prefix])
        .output()
        .expect("run the platform fixture");
    assert!(
        out.status.success(),
        "platform fixture failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    backend.put(&backend.key, &out.stdout);
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("platform.hcl");
    std::fs::write(
        &env_file,
        format!(
            "backend {{\n  bucket = \"{}\"\n  key = \"{}\"\n  region = \"{REGION}\"\n  endpoint_url = \"{}\"\n  dynamodb_table = \"{}\"\n}}\n\
             drift {{\n  unmanaged_name_prefixes = [\"{prefix}\"]\n}}\n",
            backend.bucket,
            backend.key,
            endpoint(),
            backend.table
        ),
    )
    .unwrap();
    FullPlatform {
        env_file: env_file.display().to_string(),
        prefix,
        dir,
    }
}

fn platform_drift(p: &FullPlatform, extra: &[&str], code: i32) -> serde_json::Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stateward"));
    aws_env(&mut cmd)
        .args(["drift", "--format", "json", "--env", &p.env_file])
        .args(extra)
        .current_dir(p.dir.path())
        .stdin(Stdio::null());
    let o = cmd.output().unwrap();
    assert_exit(&o, code);
    let doc = json(&o);
    assert_schema("drift", &doc);
    doc
}

/// The issue's proof: a platform created exactly as its state describes is
/// in sync with every resource checked, in both regions; then each kind of
/// drift made to it is reported, and nothing else.
#[test]
fn whole_platform_is_checked_in_every_region_and_each_drift_is_reported() {
    let p = full_platform();
    let pre = &p.prefix;
    let doc = platform_drift(&p, &[], 0);
    let s = &doc["summary"];
    assert!(s["resources"].as_u64().unwrap() >= 35, "{s}");
    assert_eq!(s["checked"], s["resources"], "{doc:#}");
    assert_eq!(doc["not_checked"], serde_json::json!([]), "{doc:#}");
    assert_eq!(doc["findings"], serde_json::json!([]), "{doc:#}");

    // Drift it, through the APIs, as people and other tools do.
    let ids = drift_full_platform(pre);
    let id = |k: &str| ids[k].as_str().unwrap().to_owned();
    let doc = platform_drift(&p, &["--unmanaged"], 2);
    let mut got = findings(&doc);
    got.sort();
    let mut want = vec![
        f("missing", "aws_subnet", &id("subnet"), &[]),
        f("missing", "aws_route_table_association", &id("assoc"), &[]),
        f(
            "missing",
            "aws_security_group_rule",
            &format!("{}_ingress_tcp_22_22_10.1.0.0/16", id("node")),
            &[],
        ),
        f("missing", "aws_subnet", &id("dr"), &[]),
        f("unmanaged", "aws_security_group", &id("extra"), &[]),
        f(
            "missing",
            "aws_iam_role_policy_attachment",
            &format!("{pre}-lambda/{}", id("policy")),
            &[],
        ),
        f(
            "changed",
            "aws_iam_policy",
            &id("policy"),
            &["policy.Statement[1].Action"],
        ),
        // A key pending deletion is gone; its alias still points at it.
        f("missing", "aws_kms_key", &id("key"), &[]),
    ];
    want.sort();
    assert_eq!(got, want, "{doc:#}");
    assert_eq!(doc["not_checked"], serde_json::json!([]), "{doc:#}");

    // --region limits the scan: the second region's resources are not
    // checked, and say why.
    let doc = platform_drift(&p, &["--region", REGION], 2);
    let west: Vec<&serde_json::Value> = doc["not_checked"].as_array().unwrap().iter().collect();
    assert_eq!(west.len(), 3, "{doc:#}");
    assert!(west.iter().all(|n| n["reason"]
        == format!("it is in region us-west-2; --region limits this scan to {REGION}")));
}
