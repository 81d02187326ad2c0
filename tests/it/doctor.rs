//! `stateward doctor` on an emulator platform: all pass when well kept; each
//! broken safeguard fails exactly its check.

use std::process::Output;

use crate::support::*;

fn platform_state(db: &str, cluster: &str) -> String {
    format!(
        r#"{{
  "version": 4,
  "terraform_version": "1.0.3",
  "serial": 7,
  "lineage": "doctor-lineage",
  "outputs": {{}},
  "resources": [
    {{
      "mode": "managed",
      "type": "aws_db_instance",
      "name": "mlflow",
      "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
      "instances": [{{ "schema_version": 1, "attributes": {{ "id": "{db}", "identifier": "{db}", "password": "hunter2" }}, "sensitive_attributes": [] }}]
    }},
    {{
      "mode": "managed",
      "type": "aws_eks_cluster",
      "name": "this",
      "module": "module.eks",
      "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
      "instances": [{{ "schema_version": 0, "attributes": {{ "id": "{cluster}", "name": "{cluster}" }}, "sensitive_attributes": [] }}]
    }}
  ]
}}
"#
    )
}

fn doctor(backend: &Backend, store: &str) -> (Output, serde_json::Value) {
    let mut args: Vec<String> = vec![
        "doctor".into(),
        "--format".into(),
        "json".into(),
        "--snapshot-store".into(),
        store.into(),
    ];
    args.extend(backend.flags());
    let o = stateward(args);
    let doc = json(&o);
    assert_schema("doctor", &doc);
    (o, doc)
}

fn failing(doc: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_well_kept_platform_passes_and_each_broken_safeguard_fails_its_check() {
    let backend = Backend::new("doctor");
    let db = format!("{}-mlflow", backend.bucket);
    let cluster = format!("{}-eks", backend.bucket);
    aws::expire_noncurrent(&backend.bucket, "keep-noncurrent-90d", 90);
    aws::rds_instance(&db, 7);
    aws::rds_snapshot(&db, &format!("{db}-manual"));
    aws::eks_cluster(&cluster, &["subnet-1", "subnet-2"]);
    aws::node_group(&cluster, "general");
    backend.put(&backend.key, platform_state(&db, &cluster).as_bytes());
    // The hand upload left no digest item: nothing to mismatch. Take a snapshot.
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap().to_owned();
    let mut snap: Vec<String> = vec![
        "snapshot".into(),
        "create".into(),
        "--snapshot-store".into(),
        store.clone(),
    ];
    snap.extend(backend.flags());
    snap.extend(["--format".into(), "json".into()]);
    let o = stateward(snap);
    assert_exit(&o, 0);
    let created = json(&o)["snapshot"]["created"].clone();

    let (o, doc) = doctor(&backend, &store);
    assert_exit(&o, 0);
    assert_eq!(failing(&doc), Vec::<String>::new(), "{doc:#}");
    let ids: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for id in [
        "state-bucket-versioning",
        "state-bucket-lifecycle",
        "lock-table",
        "stale-lock",
        "digest",
        "latest-state",
        "snapshot",
        "rds-backups:aws_db_instance.mlflow",
        "eks:module.eks.aws_eks_cluster.this",
    ] {
        assert!(ids.contains(&id), "missing check {id}: {doc:#}");
    }
    assert_eq!(doc["summary"]["fail"], 0);
    assert!(!serde_json::to_string(&doc).unwrap().contains("hunter2"));

    // Break four safeguards.
    let lock_id = format!("{}/{}", backend.bucket, backend.key);
    aws::put_versioning(&backend.bucket, false);
    aws::delete_lifecycle(&backend.bucket);
    // In the key order and compact form Terraform writes.
    let info = format!(
        r#"{{"ID":"5e1f0c1a-0000-4000-8000-000000000001","Operation":"OperationTypeApply","Info":"","Who":"runner@ci-7","Version":"1.0.3","Created":"2026-01-01T00:00:00Z","Path":{}}}"#,
        serde_json::Value::from(lock_id.as_str())
    );
    aws::put_item(&backend.table, &[("LockID", &lock_id), ("Info", &info)]);
    aws::rds_backup_retention(&db, 0);
    let (o, doc) = doctor(&backend, &store);
    assert_exit(&o, 2);
    assert_eq!(
        failing(&doc),
        [
            "rds-backups:aws_db_instance.mlflow",
            "stale-lock",
            "state-bucket-lifecycle",
            "state-bucket-versioning",
        ],
        "{doc:#}"
    );
    assert_eq!(doc["summary"]["fail"], 4);

    // Text and markdown say the same.
    let mut args: Vec<String> = vec!["doctor".into(), "--snapshot-store".into(), store.clone()];
    args.extend(backend.flags());
    let o = stateward(&args);
    assert_exit(&o, 2);
    assert!(stdout(&o).contains("FAIL  stale-lock"), "{}", stdout(&o));
    args.extend(["--format".into(), "markdown".into()]);
    let o = stateward(&args);
    assert!(
        stdout(&o).contains("| ❌ | `state-bucket-versioning` |"),
        "{}",
        stdout(&o)
    );

    // Objectives from flags: an RPO of one second makes the snapshot too old.
    let mut args: Vec<String> = vec![
        "doctor".into(),
        "--format".into(),
        "json".into(),
        "--snapshot-store".into(),
        store,
        "--rpo".into(),
        "1s".into(),
    ];
    args.extend(backend.flags());
    // Older than 1 s in whole seconds (doctor's age): 2 s after `created`.
    wait_for_clock_past(&created, std::time::Duration::from_secs(2));
    let doc = json(&stateward(&args));
    assert!(failing(&doc).contains(&"snapshot".to_owned()), "{doc:#}");
}

/// Regression (issue 15): doctor passed "cluster X and its 2 node group(s)
/// are ACTIVE" while the state held 3 node groups and one was gone. The
/// check is about what the STATE holds: a node group in state and missing
/// live fails it; a live node group the state does not hold is not counted.
#[test]
fn eks_readiness_is_about_the_node_groups_the_state_holds() {
    let backend = Backend::new("doceks");
    let cluster = format!("{}-eks", backend.bucket);
    aws::eks_cluster(&cluster, &["subnet-1", "subnet-2"]);
    for ng in ["general", "gpu", "unmanaged-extra"] {
        aws::node_group(&cluster, ng);
    }
    let nodegroup = |ng: &str| {
        format!(
            r#"{{ "mode": "managed", "type": "aws_eks_node_group", "name": "{ng}", "module": "module.eks",
      "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
      "instances": [{{ "schema_version": 0, "attributes": {{ "id": "{cluster}:{ng}", "cluster_name": "{cluster}", "node_group_name": "{ng}" }}, "sensitive_attributes": [] }}] }}"#
        )
    };
    let state = |groups: &[&str]| {
        let mut resources = vec![format!(
            r#"{{ "mode": "managed", "type": "aws_eks_cluster", "name": "this", "module": "module.eks",
      "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
      "instances": [{{ "schema_version": 0, "attributes": {{ "id": "{cluster}", "name": "{cluster}" }}, "sensitive_attributes": [] }}] }}"#
        )];
        resources.extend(groups.iter().map(|g| nodegroup(g)));
        format!(
            r#"{{ "version": 4, "terraform_version": "1.0.3", "serial": {}, "lineage": "eks-lineage", "outputs": {{}}, "resources": [{}] }}"#,
            groups.len(),
            resources.join(",\n")
        )
    };
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap().to_owned();
    let eks_check = |doc: &serde_json::Value| {
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "eks:module.eks.aws_eks_cluster.this")
            .unwrap_or_else(|| panic!("no eks check: {doc:#}"))
            .clone()
    };

    // The state's two node groups are both live: pass, counting the state's.
    backend.put(&backend.key, state(&["general", "gpu"]).as_bytes());
    let (_, doc) = doctor(&backend, &store);
    let c = eks_check(&doc);
    assert_eq!(c["status"], "pass", "{c:#}");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("2 node groups the state holds"),
        "{c:#}"
    );

    // The state holds a third, gone from AWS: fail, naming it.
    backend.put(&backend.key, state(&["batch", "general", "gpu"]).as_bytes());
    let (_, doc) = doctor(&backend, &store);
    let c = eks_check(&doc);
    assert_eq!(c["status"], "fail", "{c:#}");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("batch is in state but not found in AWS"),
        "{c:#}"
    );
}
