//! Snapshots against the emulator and real Terraform 1.0.3: create (S3 store
//! in a second bucket, local directory), idempotency, list, verify (and a
//! tampered snapshot), prune, `diff snapshot:ID` and `restore snapshot:ID`.

use std::process::Output;

use crate::support::*;

fn sw(backend: &Backend, store: &str, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(backend.flags());
    all.push("--snapshot-store".into());
    all.push(store.into());
    stateward(all)
}

fn sw_json(backend: &Backend, store: &str, args: &[&str], code: i32) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let o = sw(backend, store, &a);
    assert_exit(&o, code);
    json(&o)
}

fn ids(doc: &serde_json::Value, field: &str) -> Vec<String> {
    doc[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A second bucket, in another region, for snapshots.
fn snapshot_bucket() -> String {
    let name = unique("snaps");
    aws::create_bucket_in(&name, "eu-central-1", true);
    name
}

const A: &[(&str, &str)] = &[("cluster_version", "1.29"), ("node_count", "2")];
const B: &[(&str, &str)] = &[("cluster_version", "1.30"), ("node_count", "3")];
const C: &[(&str, &str)] = &[("cluster_version", "1.31"), ("node_count", "4")];

#[test]
fn s3_store_create_list_verify_tamper_diff_restore_prune() {
    let backend = Backend::new("snap");
    let project = platform_project(&backend);
    let snaps = snapshot_bucket();
    let store = format!("s3://{snaps}/mlops/platform");

    // Create: a server-side copy of the exact current version, with a manifest.
    project.apply(A);
    let doc = sw_json(
        &backend,
        &store,
        &["snapshot", "create", "--reason", "nightly"],
        0,
    );
    assert_schema("snapshot-create", &doc);
    assert_eq!(doc["created"], true, "{doc:#}");
    let s1 = doc["snapshot"]["id"].as_str().unwrap().to_owned();
    let versions = sw_json(&backend, &store, &["versions"], 0);
    let current = &versions["versions"][0];
    let m = &doc["snapshot"];
    assert_eq!(m["source_version_id"], current["version_id"]);
    assert_eq!(m["serial"], current["serial"]);
    assert_eq!(m["lineage"], current["lineage"]);
    assert_eq!(m["source_bucket"], backend.bucket.as_str());
    assert_eq!(m["source_key"], backend.key.as_str());
    assert_eq!(m["reason"], "nightly");
    assert!(
        s1.contains(&format!("-{}-", m["serial"])),
        "{s1} names its serial"
    );
    let pulled = sw(&backend, &store, &["pull", "latest"]).stdout;
    let copied = aws::get_object(
        &snaps,
        &format!("mlops/platform/{s1}/terraform.tfstate"),
        None,
    );
    assert_eq!(copied, pulled, "the exact bytes");
    let manifest: serde_json::Value = serde_json::from_slice(&aws::get_object(
        &snaps,
        &format!("mlops/platform/{s1}/manifest.json"),
        None,
    ))
    .unwrap();
    assert_eq!(&manifest, m);

    // Idempotent: the same state again creates nothing.
    let doc = sw_json(&backend, &store, &["snapshot", "create"], 0);
    assert_eq!(doc["created"], false, "{doc:#}");
    assert_eq!(doc["snapshot"]["id"], s1.as_str());
    let o = sw(&backend, &store, &["snapshot", "create"]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("nothing was created"), "{}", stdout(&o));

    project.apply(B);
    let doc = sw_json(&backend, &store, &["snapshot", "create"], 0);
    let s2 = doc["snapshot"]["id"].as_str().unwrap().to_owned();
    // Ids of one second can only differ by serial and hash; they sort by
    // time: the next snapshot is taken in a later second (`created` is
    // whole seconds).
    wait_for_clock_past(
        &doc["snapshot"]["created"],
        std::time::Duration::from_secs(1),
    );
    project.apply(C);
    let s3 = sw_json(&backend, &store, &["snapshot", "create"], 0)["snapshot"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // List: oldest first.
    let doc = sw_json(&backend, &store, &["snapshot", "list"], 0);
    assert_schema("snapshot-list", &doc);
    assert_eq!(
        ids(&doc, "snapshots"),
        [s1.as_str(), s2.as_str(), s3.as_str()]
    );
    assert_eq!(doc["snapshots"][0]["serial"], m["serial"]);

    // Verify: the newest, and all.
    let doc = sw_json(&backend, &store, &["snapshot", "verify"], 0);
    assert_schema("snapshot-verify", &doc);
    assert_eq!(ids(&doc, "snapshots"), [s3.as_str()]);
    let doc = sw_json(&backend, &store, &["snapshot", "verify", "--all"], 0);
    assert_eq!(doc["ok"], true);
    assert_eq!(ids(&doc, "snapshots").len(), 3);

    // diff snapshot:ID latest.
    let doc = sw_json(
        &backend,
        &store,
        &["diff", &format!("snapshot:{s1}"), "latest"],
        2,
    );
    assert_schema("diff", &doc);
    let text = stdout(&sw(
        &backend,
        &store,
        &["diff", &format!("snapshot:{s1}"), "latest"],
    ));
    assert!(text.contains(&format!("--- snapshot {s1}")), "{text}");
    assert!(text.contains("1.29") && text.contains("1.31"), "{text}");

    // Tamper with the newest snapshot: verify catches it and names it.
    let tampered = String::from_utf8(pulled.clone())
        .unwrap()
        .replace("1.29", "6.66");
    aws::put_object(
        &snaps,
        &format!("mlops/platform/{s3}/terraform.tfstate"),
        tampered.as_bytes(),
    );
    let o = sw(&backend, &store, &["snapshot", "verify"]);
    assert_exit(&o, 2);
    assert!(
        stdout(&o).contains(&format!("FAIL  {s3}: sha256 is")),
        "{}",
        stdout(&o)
    );
    let doc = sw_json(&backend, &store, &["snapshot", "verify", "--all"], 2);
    assert_schema("snapshot-verify", &doc);
    assert_eq!(doc["ok"], false);
    let failed: Vec<&str> = doc["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ok"] == false)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, [s3.as_str()]);
    // ... and restore refuses it.
    let o = sw(
        &backend,
        &store,
        &["restore", &format!("snapshot:{s3}"), "--yes"],
    );
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("does not match its manifest"),
        "{}",
        stderr(&o)
    );

    // Restore from a snapshot through the normal path; Terraform accepts it.
    let max_serial = sw_json(&backend, &store, &["versions"], 0)["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["serial"].as_u64())
        .max()
        .unwrap();
    let doc = sw_json(
        &backend,
        &store,
        &["restore", &format!("snapshot:{s1}"), "--yes"],
        0,
    );
    assert_schema("restore", &doc);
    assert_eq!(doc["restored_from"], format!("snapshot {s1}"));
    assert_eq!(doc["serial"], max_serial + 1, "{doc:#}");
    assert_eq!(doc["digest_updated"], true);
    let mut plan = vec!["plan", "-detailed-exitcode", "-no-color", "-input=false"];
    let vars: Vec<String> = A.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for v in &vars {
        plan.extend(["-var", v.as_str()]);
    }
    let o = project.run(&plan);
    assert_eq!(
        o.status.code(),
        Some(0),
        "terraform plan after restore:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );

    // Prune: the newest (tampered) is kept as "last"; the newest healthy survives.
    let prune = ["snapshot", "prune", "--keep-last", "1"];
    let mut dry = prune.to_vec();
    dry.push("--dry-run");
    let doc = sw_json(&backend, &store, &dry, 0);
    assert_schema("snapshot-prune", &doc);
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["deleted"], 0);
    assert_eq!(ids(&doc, "keep"), [s3.as_str(), s2.as_str()]);
    assert_eq!(doc["keep"][0]["reasons"], serde_json::json!(["last"]));
    assert_eq!(
        doc["keep"][1]["reasons"],
        serde_json::json!(["newest healthy"])
    );
    assert_eq!(ids(&doc, "forget"), [s1.as_str()]);
    let listed = |b: &Backend| ids(&sw_json(b, &store, &["snapshot", "list"], 0), "snapshots");
    assert_eq!(listed(&backend).len(), 3, "dry run deletes nothing");
    // Without a terminal and without --yes: refused, nothing deleted.
    let o = sw(&backend, &store, &prune);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert_eq!(listed(&backend).len(), 3);
    let mut yes = prune.to_vec();
    yes.push("--yes");
    let doc = sw_json(&backend, &store, &yes, 0);
    assert_schema("snapshot-prune", &doc);
    assert_eq!(doc["deleted"], 1);
    assert_eq!(listed(&backend), [s2.as_str(), s3.as_str()]);
    // The pruned snapshot is gone as a reference too.
    let o = sw(
        &backend,
        &store,
        &["diff", &format!("snapshot:{s1}"), "latest"],
    );
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("snapshot list"), "{}", stderr(&o));
}

const STATE: &str = r#"{
  "version": 4,
  "terraform_version": "1.0.3",
  "serial": SERIAL,
  "lineage": "5f1c0c8e-2b0c-4c1e-9d3a-0b5a7f0e1a2b",
  "outputs": {
    "node_count": { "value": NODES, "type": "number" }
  },
  "resources": []
}
"#;

fn state(serial: u64, nodes: u64) -> Vec<u8> {
    STATE
        .replace("SERIAL", &serial.to_string())
        .replace("NODES", &nodes.to_string())
        .into_bytes()
}

#[test]
fn local_store_from_the_environment_file() {
    let backend = Backend::new("snaplocal");
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("snaps");
    let env = dir.path().join("env.hcl");
    std::fs::write(
        &env,
        format!(
            "backend {{\n  bucket = {:?}\n  key = {:?}\n  region = {:?}\n  dynamodb_table = {:?}\n  endpoint_url = {:?}\n}}\nsnapshots {{\n  store = {:?}\n}}\nretention {{\n  keep_last = 1\n}}\n",
            backend.bucket,
            backend.key,
            REGION,
            backend.table,
            endpoint(),
            store_dir.display().to_string()
        ),
    )
    .unwrap();
    let env = env.display().to_string();
    let run = |args: &[&str]| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--env", &env]);
        stateward(a)
    };
    let run_json = |args: &[&str], code: i32| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--format", "json"]);
        let o = run(&a);
        assert_exit(&o, code);
        json(&o)
    };

    backend.put(&backend.key, &state(1, 2));
    let doc = run_json(&["snapshot", "create"], 0);
    assert_schema("snapshot-create", &doc);
    assert_eq!(doc["store"], store_dir.display().to_string());
    let s1 = doc["snapshot"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        std::fs::read(store_dir.join(&s1).join("terraform.tfstate")).unwrap(),
        state(1, 2)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store_dir.join(&s1).join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest, doc["snapshot"]);
    assert_eq!(run_json(&["snapshot", "create"], 0)["created"], false);

    backend.put(&backend.key, &state(2, 3));
    let s2 = run_json(&["snapshot", "create"], 0)["snapshot"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(s1, s2);
    assert_eq!(
        ids(&run_json(&["snapshot", "list"], 0), "snapshots"),
        [s1.as_str(), s2.as_str()]
    );
    assert_eq!(run_json(&["snapshot", "verify", "--all"], 0)["ok"], true);

    // A corrupt current state is not snapshotted.
    backend.put(&backend.key, b"{\"version\": 4, \"serial\": 3, \"lin");
    let o = run(&["snapshot", "create"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("not a healthy Terraform state"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        ids(&run_json(&["snapshot", "list"], 0), "snapshots").len(),
        2
    );

    // diff between a snapshot and a file needs no state bucket.
    let f = dir.path().join("s.tfstate");
    std::fs::write(&f, state(1, 2)).unwrap();
    let o = stateward([
        "diff".to_string(),
        format!("snapshot:{s1}"),
        format!("file:{}", f.display()),
        "--snapshot-store".into(),
        store_dir.display().to_string(),
    ]);
    assert_exit(&o, 0);

    // Flags override the file's retention; the file's keep_last = 1 applies otherwise.
    let doc = run_json(&["snapshot", "prune", "--keep-last", "5", "--dry-run"], 0);
    assert_eq!(ids(&doc, "forget"), Vec::<String>::new());
    let doc = run_json(&["snapshot", "prune", "--yes"], 0);
    assert_schema("snapshot-prune", &doc);
    assert_eq!(ids(&doc, "keep"), [s2.as_str()]);
    assert_eq!(ids(&doc, "forget"), [s1.as_str()]);
    assert!(!store_dir.join(&s1).exists());

    // Tampering with the local copy is caught.
    std::fs::write(store_dir.join(&s2).join("terraform.tfstate"), state(2, 4)).unwrap();
    let doc = run_json(&["snapshot", "verify"], 2);
    assert_eq!(doc["snapshots"][0]["id"], s2.as_str());
    assert_eq!(doc["ok"], false);

    // No store configured: a usage error naming what to do.
    let mut flags = backend.flags();
    flags.extend(["snapshot".into(), "list".into()]);
    let o = stateward(flags);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("--snapshot-store"), "{}", stderr(&o));
}
