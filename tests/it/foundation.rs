//! The foundation against the real emulator and real Terraform 1.0.3:
//! versions, show, pull, diff, references, state discovery and errors.

use std::process::Output;

use crate::support::*;

/// A backend with a history Terraform itself wrote: three applies with
/// different variables (cluster 1.29/2 nodes, 1.30/3 nodes, 1.30/5 nodes and a
/// new password).
fn terraform_history() -> (Backend, TfProject) {
    let backend = Backend::new("tfhist");
    let project = platform_project(&backend);
    project.apply(&[("cluster_version", "1.29"), ("node_count", "2")]);
    project.apply(&[("cluster_version", "1.30"), ("node_count", "3")]);
    project.apply(&[
        ("cluster_version", "1.30"),
        ("node_count", "5"),
        ("db_password", "rotated-secret-value"),
    ]);
    (backend, project)
}

fn sw(backend: &Backend, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(backend.flags());
    stateward(all)
}

fn versions_json(backend: &Backend, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["versions", "--format", "json"];
    args.extend_from_slice(extra);
    let o = sw(backend, &args);
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("versions", &doc);
    doc
}

#[test]
fn versions_lists_a_real_terraform_history_as_healthy() {
    let (backend, _project) = terraform_history();
    let doc = versions_json(&backend, &[]);
    assert_eq!(doc["bucket"], backend.bucket.as_str());
    assert_eq!(doc["key"], backend.key.as_str());
    let versions = doc["versions"].as_array().unwrap();
    assert!(versions.len() >= 3, "{doc:#}");
    assert_eq!(versions[0]["is_latest"], true);
    let lineage = versions[0]["lineage"].as_str().unwrap().to_owned();
    let mut last_serial = u64::MAX;
    for v in versions {
        assert_eq!(v["status"], "ok", "{v:#}");
        assert_eq!(v["problems"].as_array().unwrap().len(), 0);
        assert_eq!(v["delete_marker"], false);
        assert_eq!(v["terraform_version"], "1.0.3");
        assert_eq!(v["lineage"], lineage.as_str());
        assert_eq!(v["resource_count"], 1, "one data source: {v:#}");
        let serial = v["serial"].as_u64().unwrap();
        assert!(serial <= last_serial, "newest first");
        last_serial = serial;
    }
    // Text: a table with the current version marked.
    let o = sw(&backend, &["versions"]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(
        text.contains("VERSION") && text.contains("STATUS"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{} *",
            versions[0]["version_id"].as_str().unwrap()
        )),
        "{text}"
    );
}

#[test]
fn versions_flags_corruption_foreign_lineage_shrink_and_deletion() {
    let (backend, _project) = terraform_history();
    let latest = sw(&backend, &["pull", "latest"]);
    assert_exit(&latest, 0);
    let bytes = latest.stdout.clone();
    // Truncated upload, the way a killed `aws s3 cp` leaves it.
    backend.put(&backend.key, &bytes[..bytes.len() / 2]);
    // Another workspace's state pushed over ours.
    let foreign = String::from_utf8(bytes.clone()).unwrap().replacen(
        "\"lineage\": \"",
        "\"lineage\": \"ffffffff-",
        1,
    );
    backend.put(&backend.key, foreign.as_bytes());
    backend.delete(&backend.key);

    let doc = versions_json(&backend, &[]);
    let versions = doc["versions"].as_array().unwrap();
    let statuses: Vec<&str> = versions
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        &statuses[..3],
        &["deleted", "foreign-lineage", "corrupt"],
        "{doc:#}"
    );
    assert_eq!(versions[0]["delete_marker"], true);
    assert_eq!(versions[0]["is_latest"], true);
    for v in &versions[..3] {
        assert!(!v["problems"].as_array().unwrap().is_empty(), "{v:#}");
    }
    assert!(statuses[3..].iter().all(|s| *s == "ok"), "{statuses:?}");

    // `latest` skips the delete marker; --limit bounds the listing.
    let limited = versions_json(&backend, &["--limit", "2"]);
    assert_eq!(limited["versions"].as_array().unwrap().len(), 2);
    assert_eq!(limited["total_versions"], versions.len());
}

#[test]
fn header_only_listing_reads_a_few_kilobytes_per_version() {
    let backend = Backend::new("hdr");
    // A 600 KB state: header-only must not download it.
    let mut resources = Vec::new();
    for i in 0..600 {
        resources.push(format!(
            r#"{{"mode":"managed","type":"aws_s3_bucket","name":"b{i}","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[{{"schema_version":0,"attributes":{{"id":"bucket-{i}","policy":"{pad}"}},"sensitive_attributes":[]}}]}}"#,
            pad = "x".repeat(900)
        ));
    }
    for serial in 1..=3 {
        let state = format!(
            "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.0.3\",\n  \"serial\": {serial},\n  \"lineage\": \"big-lineage\",\n  \"outputs\": {{}},\n  \"resources\": [{}]\n}}\n",
            resources.join(",")
        );
        backend.put(&backend.key, state.as_bytes());
    }
    let doc = versions_json(&backend, &["--header-only"]);
    let versions = doc["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3);
    for v in versions {
        assert!(v["size"].as_u64().unwrap() > 500_000);
        assert_eq!(v["status"], "ok");
        assert!(v["resource_count"].is_null());
        assert_eq!(v["lineage"], "big-lineage");
    }
    assert_eq!(versions[0]["serial"], 3);
    let per_version = doc["downloaded_bytes"].as_u64().unwrap() / 3;
    assert!(
        per_version <= 8192,
        "downloaded {per_version} bytes per version"
    );
    // The full listing reads everything and counts resources.
    let full = versions_json(&backend, &[]);
    assert_eq!(full["versions"][0]["resource_count"], 600);
}

#[test]
fn show_and_pull_by_every_reference_form() {
    let (backend, project) = terraform_history();
    let doc = versions_json(&backend, &[]);
    let newest = &doc["versions"][0];
    let oldest = doc["versions"].as_array().unwrap().last().unwrap();

    let o = sw(&backend, &["show", "latest", "--format", "json"]);
    assert_exit(&o, 0);
    let show = json(&o);
    assert_schema("show", &show);
    assert_eq!(show["serial"], newest["serial"]);
    assert_eq!(show["terraform_version"], "1.0.3");
    assert_eq!(
        show["resources"][0]["address"],
        "data.terraform_remote_state.network"
    );
    assert_eq!(show["resources"][0]["mode"], "data");
    assert_eq!(
        show["resources"][0]["provider"],
        "provider[\"terraform.io/builtin/terraform\"]"
    );
    let outputs: Vec<&str> = show["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert_eq!(
        outputs,
        ["cluster_version", "db_password", "node_count", "vpc_id"]
    );

    // pull: the exact bytes S3 holds, for a version id and for serial:N.
    let oldest_id = oldest["version_id"].as_str().unwrap();
    let o = sw(&backend, &["pull", oldest_id]);
    assert_exit(&o, 0);
    let s3_bytes = aws::get_object(&backend.bucket, &backend.key, Some(oldest_id));
    assert_eq!(o.stdout, s3_bytes);
    let by_serial = sw(&backend, &["pull", &format!("serial:{}", newest["serial"])]);
    assert_exit(&by_serial, 0);
    let latest = sw(&backend, &["pull", "latest"]);
    assert_eq!(by_serial.stdout, latest.stdout);

    // pull -o FILE, then show file:FILE with no AWS settings at all.
    let file = project.path().join("pulled.tfstate");
    let o = sw(
        &backend,
        &["pull", "latest~1", "-o", file.to_str().unwrap()],
    );
    assert_exit(&o, 0);
    let o = stateward([
        "show",
        &format!("file:{}", file.display()),
        "--format",
        "json",
    ]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["serial"], doc["versions"][1]["serial"]);

    // Text summary.
    let o = sw(&backend, &["show"]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(
        text.contains("data.terraform_remote_state.network"),
        "{text}"
    );
    assert!(text.contains("1.0.3"), "{text}");
}

#[test]
fn diff_between_terraform_versions_redacts_secrets() {
    let (backend, _project) = terraform_history();
    let o = sw(
        &backend,
        &["diff", "latest~1", "latest", "--format", "json"],
    );
    assert_exit(&o, 2);
    let d = json(&o);
    assert_schema("diff", &d);
    let changed = d["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{d:#}");
    assert_eq!(changed[0]["address"], "data.terraform_remote_state.network");
    let paths: Vec<&str> = changed[0]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert!(paths.iter().any(|p| p.contains("node_count")), "{paths:?}");
    let out_changed: Vec<&str> = d["outputs"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(out_changed.contains(&"node_count"), "{d:#}");
    assert!(out_changed.contains(&"db_password"), "{d:#}");
    assert_eq!(d["summary"]["changed"], 1);
    let all = serde_json::to_string(&d).unwrap();
    assert!(
        !all.contains("rotated-secret-value") && !all.contains("correct-horse"),
        "secret leaked: {all}"
    );

    // Text, including the unified text diff: still no secret.
    let o = sw(&backend, &["diff", "latest~1", "latest", "--text"]);
    assert_exit(&o, 2);
    let text = stdout(&o);
    assert!(
        text.contains("data.terraform_remote_state.network"),
        "{text}"
    );
    assert!(
        !text.contains("rotated-secret-value") && !text.contains("correct-horse"),
        "secret leaked: {text}"
    );
    assert!(text.contains("@@"), "unified diff expected: {text}");

    // --show-sensitive is the only way to see it.
    let o = sw(
        &backend,
        &["diff", "latest~1", "latest", "--text", "--show-sensitive"],
    );
    assert_exit(&o, 2);
    assert!(stdout(&o).contains("rotated-secret-value"));

    // Same version on both sides: no differences, exit 0.
    let o = sw(&backend, &["diff", "latest", "latest", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["summary"]["changed"], 0);
}

#[test]
fn backend_dir_and_env_file_find_the_state_terraform_uses() {
    let (backend, project) = terraform_history();
    // --backend-dir reads the backend "s3" block Terraform itself used.
    let o = stateward([
        "versions",
        "--format",
        "json",
        "--backend-dir",
        project.path().to_str().unwrap(),
    ]);
    assert_exit(&o, 0);
    let via_dir = json(&o);
    assert_eq!(via_dir["bucket"], backend.bucket.as_str());
    let direct = versions_json(&backend, &[]);
    assert_eq!(via_dir["versions"], direct["versions"]);

    // An environment file, by path; global options after the subcommand.
    let env = project.path().join("emulator.hcl");
    std::fs::write(
        &env,
        format!(
            "description = \"test\"\nbackend {{\n  bucket = \"{}\"\n  key = \"{}\"\n  region = \"{REGION}\"\n  dynamodb_table = \"{}\"\n  endpoint_url = \"{}\"\n}}\n",
            backend.bucket, backend.key, backend.table, endpoint()
        ),
    )
    .unwrap();
    let o = stateward([
        "show",
        "latest",
        "--env",
        env.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["serial"], direct["versions"][0]["serial"]);
    // By name from environments/ in the working directory.
    std::fs::create_dir_all(project.path().join("environments")).unwrap();
    std::fs::copy(&env, project.path().join("environments/emu.hcl")).unwrap();
    let o = stateward_in(project.path(), ["--env", "emu", "show", "--format", "json"]);
    assert_exit(&o, 0);

    // Flags beat the environment file: a wrong key from flags is what is used.
    let o = stateward([
        "show",
        "--env",
        env.to_str().unwrap(),
        "--key",
        "nope/terraform.tfstate",
    ]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("nope/terraform.tfstate"),
        "{}",
        stderr(&o)
    );

    // An unknown key in an environment file names the file and line.
    std::fs::write(
        &env,
        "backend {\n  bucket = \"b\"\n  key = \"k\"\n  bukcet = \"x\"\n}\n",
    )
    .unwrap();
    let o = stateward(["show", "--env", env.to_str().unwrap()]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(err.contains("emulator.hcl:4"), "{err}");
    assert!(err.contains("bukcet"), "{err}");
}

#[test]
fn aws_endpoint_url_environment_variable_is_honoured() {
    let (backend, _project) = terraform_history();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stateward"));
    aws_env(&mut cmd).env("AWS_ENDPOINT_URL", endpoint()).args([
        "versions",
        "--format",
        "json",
        "--bucket",
        &backend.bucket,
        "--key",
        &backend.key,
    ]);
    let o = cmd.output().unwrap();
    assert_exit(&o, 0);
    assert!(json(&o)["versions"].as_array().unwrap().len() >= 3);
}

#[test]
fn workspaces_map_to_terraform_keys() {
    let backend = Backend::new("ws");
    let project = platform_project(&backend);
    let o = project.run(&["workspace", "new", "staging", "-no-color"]);
    assert!(o.status.success(), "{}", stderr(&o));
    project.apply(&[("node_count", "7")]);
    // Terraform wrote env:/staging/<key>; --workspace finds it.
    let o = sw(
        &backend,
        &["show", "--workspace", "staging", "--format", "json"],
    );
    assert_exit(&o, 0);
    assert_eq!(json(&o)["resources"].as_array().unwrap().len(), 1);
    // --backend-dir follows the selected workspace (.terraform/environment).
    let o = stateward([
        "versions",
        "--format",
        "json",
        "--backend-dir",
        project.path().to_str().unwrap(),
    ]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["key"], format!("env:/staging/{}", backend.key));
}

#[test]
fn errors_are_one_sentence_with_exit_1() {
    let backend = Backend::new("errs");
    // No state object at all.
    let o = sw(&backend, &["versions"]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(
        err.starts_with("error: there is no state at s3://"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // No such bucket.
    let o = stateward([
        "versions",
        "--bucket",
        "no-such-bucket-here",
        "--key",
        "k",
        "--region",
        REGION,
        "--endpoint-url",
        &endpoint(),
        "--format",
        "json",
    ]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(err.contains("does not exist"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_schema("error", &json(&o));
    // A bad reference.
    backend.put(&backend.key, crate::support::NETWORK_STATE.as_bytes());
    let o = sw(&backend, &["show", "latest~x"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("bad version reference"),
        "{}",
        stderr(&o)
    );
    let o = sw(&backend, &["show", "latest~5"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("latest~5"), "{}", stderr(&o));
    let o = sw(&backend, &["show", "0000000-no-such-version"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("stateward versions"), "{}", stderr(&o));
    // Nothing named the state.
    let o = stateward(["versions"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("--bucket"), "{}", stderr(&o));
    // Unreachable endpoint.
    let o = stateward([
        "versions",
        "--bucket",
        "b",
        "--key",
        "k",
        "--region",
        REGION,
        "--endpoint-url",
        "http://127.0.0.1:9",
    ]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("could not be reached"),
        "{}",
        stderr(&o)
    );
    // Usage errors exit 1, not clap's 2.
    let o = stateward(["versions", "--no-such-flag"]);
    assert_exit(&o, 1);
    let o = stateward(["--help"]);
    assert_exit(&o, 0);
}
