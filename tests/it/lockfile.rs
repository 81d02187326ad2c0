//! The S3 lock file against a client speaking Terraform 1.10's protocol byte
//! for byte (tests/it/support/tf110_lockfile.py, written from the reference):
//! each side's lock stops the other, each side releases the other's lock by
//! ID; listings with lock-file history show only state versions.

use std::process::{Command, Output};

use crate::support::*;

const STATE: &str = r#"{
  "version": 4,
  "terraform_version": "1.10.5",
  "serial": SERIAL,
  "lineage": "c06b1c7e-8f9d-4e0f-a1b2-c3d4e5f6a7b8",
  "outputs": {},
  "resources": [],
  "check_results": null
}
"#;

fn state(serial: u64) -> Vec<u8> {
    STATE.replace("SERIAL", &serial.to_string()).into_bytes()
}

/// Runs the Terraform 1.10 lock-file client.
fn tf(args: &[&str]) -> Output {
    let mut cmd = Command::new(venv_python());
    aws_env(&mut cmd)
        .env("ENDPOINT", endpoint())
        .arg(root().join("tests/it/support/tf110_lockfile.py"))
        .args(args);
    cmd.output().expect("run the lock-file client")
}

fn sw(backend: &Backend, dynamodb: bool, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(backend.lockfile_flags(dynamodb));
    stateward(all)
}

#[test]
fn terraform_1_10_and_stateward_lock_files_stop_and_release_each_other() {
    let backend = Backend::new("tflock");
    backend.put(&backend.key, &state(1));
    let (b, k) = (backend.bucket.as_str(), backend.key.as_str());
    let tf_id = "6f1d2c3b-4a5e-6f70-8192-a3b4c5d6e7f8";

    // Terraform's lock stops stateward, which names the holder.
    assert_exit(&tf(&["lock", b, k, tf_id]), 0);
    let o = sw(&backend, false, &["lock", "acquire"]);
    assert_exit(&o, 3);
    assert!(stderr(&o).contains(tf_id), "{}", stderr(&o));
    let o = sw(&backend, false, &["lock", "status", "--format", "json"]);
    let doc = json(&o);
    assert_schema("lock-status", &doc);
    assert_eq!(doc["lock"]["ID"], tf_id);
    assert_eq!(doc["lock"]["Version"], "1.10.5");
    // A restore is refused too (exit 3), nothing written.
    let o = sw(&backend, false, &["restore", "--last-good", "--yes"]);
    assert_exit(&o, 3);

    // stateward releases Terraform's lock by its ID (force-unlock).
    assert_exit(
        &sw(&backend, false, &["lock", "release", "wrong-id", "--yes"]),
        1,
    );
    assert_exit(
        &sw(&backend, false, &["lock", "release", tf_id, "--yes"]),
        0,
    );
    assert_exit(&tf(&["read", b, k]), 1);

    // stateward's lock stops Terraform, which reads a holder it can parse.
    let o = sw(&backend, false, &["lock", "acquire", "--format", "json"]);
    assert_exit(&o, 0);
    let sw_id = json(&o)["id"].as_str().unwrap().to_owned();
    let o = tf(&["lock", b, k, "0a1b2c3d-0000-0000-0000-000000000000"]);
    assert_exit(&o, 3);
    let holder: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(holder["ID"], sw_id.as_str());
    assert_eq!(holder["Path"], format!("{b}/{k}"));
    // Byte for byte Go's json.Marshal of the LockInfo, no trailing newline.
    let o = tf(&["check", b, k]);
    assert_exit(&o, 0);
    assert!(!o.stdout.ends_with(b"\n"));

    // Terraform releases stateward's lock by its ID, and only by it.
    let o = tf(&["unlock", b, k, "6f1d2c3b-0000-0000-0000-000000000000"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains(&format!("does not match the existing lock ID '{sw_id}'")),
        "{}",
        stderr(&o)
    );
    assert_exit(&tf(&["unlock", b, k, &sw_id]), 0);
    let o = sw(&backend, false, &["lock", "status", "--format", "json"]);
    assert_eq!(json(&o)["locked"], false);
}

#[test]
fn with_both_mechanisms_a_lock_in_one_only_is_reported_per_mechanism() {
    let backend = Backend::new("tflock-both");
    backend.put(&backend.key, &state(1));
    let (b, k) = (backend.bucket.as_str(), backend.key.as_str());
    // Terraform 1.10 with use_lockfile only (or a half-released lock): the
    // file is held, the DynamoDB item is not.
    let tf_id = "7a2e3d4c-5b6f-7081-92a3-b4c5d6e7f809";
    assert_exit(&tf(&["lock", b, k, tf_id]), 0);
    let o = sw(&backend, true, &["lock", "status", "--format", "json"]);
    assert_exit(&o, 3); // held: exit 3 (issue 15)
    let doc = json(&o);
    assert_schema("lock-status", &doc);
    assert_eq!(
        doc["mechanisms"],
        serde_json::json!([
            {"backend": "s3-lockfile", "state": "locked", "id": tf_id},
            {"backend": "dynamodb", "state": "free", "id": null},
        ])
    );
    let problems = doc["problems"].to_string();
    assert!(
        problems.contains("only the S3 lock file holds a lock"),
        "{problems}"
    );
    let o = sw(&backend, true, &["lock", "status"]);
    let text = stdout(&o);
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        lines.contains(&vec!["S3", "lock", "file:", "locked", tf_id])
            && lines.contains(&vec!["DynamoDB:", "free"]),
        "{text}"
    );
    // Taken with both, the file comes first and both carry one ID.
    assert_exit(&sw(&backend, true, &["lock", "release", tf_id, "--yes"]), 0);
    let o = sw(&backend, true, &["lock", "acquire", "--format", "json"]);
    assert_exit(&o, 0);
    let id = json(&o)["id"].as_str().unwrap().to_owned();
    let doc = json(&sw(&backend, true, &["lock", "status", "--format", "json"]));
    assert_eq!(doc["mechanisms"][0]["id"], id.as_str());
    assert_eq!(doc["mechanisms"][1]["id"], id.as_str());
    assert!(doc["problems"].as_array().unwrap().is_empty());
    // Terraform (file) releases its part; stateward sees the half-released lock.
    assert_exit(&tf(&["unlock", b, k, &id]), 0);
    let doc = json(&sw(&backend, true, &["lock", "status", "--format", "json"]));
    assert!(
        doc["problems"]
            .to_string()
            .contains("only the DynamoDB lock item holds a lock"),
        "{doc}"
    );
    assert_exit(&sw(&backend, true, &["lock", "release", &id, "--yes"]), 0);
    assert_eq!(
        json(&sw(&backend, true, &["lock", "status", "--format", "json"]))["locked"],
        false
    );
}

#[test]
fn listings_with_lock_file_history_and_a_backup_show_only_state_versions() {
    let backend = Backend::new("tflock-list");
    let (b, k) = (backend.bucket.as_str(), backend.key.as_str());
    let mut ids = Vec::new();
    for serial in 1..=3 {
        // Each apply: lock, write, unlock (a .tflock version and a delete marker).
        let lock_id = format!("00000000-0000-0000-0000-00000000000{serial}");
        assert_exit(&tf(&["lock", b, k, &lock_id]), 0);
        ids.push(backend.put(k, &state(serial)));
        assert_exit(&tf(&["unlock", b, k, &lock_id]), 0);
    }
    // One lock left held, a backup beside the state, and an unrelated key
    // sharing the prefix.
    assert_exit(
        &tf(&["lock", b, k, "00000000-0000-0000-0000-0000000000ff"]),
        0,
    );
    backend.put(&format!("{k}.backup"), &state(2));
    backend.put(&format!("{k}.tflock.old"), b"{}");
    let o = sw(&backend, false, &["versions", "--format", "json"]);
    assert_exit(&o, 0);
    let doc = json(&o);
    let listed: Vec<String> = doc["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version_id"].as_str().unwrap().to_owned())
        .collect();
    ids.reverse();
    assert_eq!(listed, ids, "{doc}");
    for v in doc["versions"].as_array().unwrap() {
        assert_eq!(v["status"], "ok", "{v}");
    }
}

/// A workspace's lock file is `env:/<ws>/<key>.tflock` with `Path`
/// `<bucket>/env:/<ws>/<key>`, as Terraform writes it; the default
/// workspace's lock is another.
#[test]
fn a_workspace_lock_file_sits_beside_the_workspace_state() {
    let backend = Backend::new("tflock-ws");
    let b = backend.bucket.as_str();
    let ws_key = format!("env:/blue/{}", backend.key);
    backend.put(&backend.key, &state(1));
    backend.put(&ws_key, &state(1));
    let tf_id = "8b3f4e5d-6c70-8192-a3b4-c5d6e7f8091a";
    assert_exit(&tf(&["lock", b, &ws_key, tf_id]), 0);
    let o = sw(
        &backend,
        false,
        &["lock", "status", "--workspace", "blue", "--format", "json"],
    );
    assert_exit(&o, 3);
    assert_eq!(json(&o)["lock"]["ID"], tf_id);
    let o = sw(&backend, false, &["lock", "status", "--format", "json"]);
    assert_eq!(json(&o)["locked"], false, "the default workspace is free");
    assert_exit(
        &sw(
            &backend,
            false,
            &["lock", "release", tf_id, "--workspace", "blue", "--yes"],
        ),
        0,
    );
    // stateward's lock in the workspace is what Terraform reads there.
    let o = sw(
        &backend,
        false,
        &["lock", "acquire", "--workspace", "blue", "--format", "json"],
    );
    assert_exit(&o, 0);
    let id = json(&o)["id"].as_str().unwrap().to_owned();
    let o = tf(&["lock", b, &ws_key, "0a1b2c3d-0000-0000-0000-00000000000b"]);
    assert_exit(&o, 3);
    let holder: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(holder["ID"], id.as_str());
    assert_eq!(holder["Path"], format!("{b}/{ws_key}"));
    assert_exit(&tf(&["check", b, &ws_key]), 0);
    assert_exit(&tf(&["unlock", b, &ws_key, &id]), 0);
}
