//! Drills against real Terraform 1.0.3 state on the emulator: every scenario
//! recovers a scratch copy, and the real state object, digest and lock are
//! left exactly as they were.

use std::process::Output;

use crate::support::*;

fn sw(backend: &Backend, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(backend.flags());
    stateward(all)
}

fn platform() -> (Backend, TfProject) {
    let backend = Backend::new("drill");
    let project = platform_project(&backend);
    project.apply(&[("cluster_version", "1.29"), ("node_count", "2")]);
    project.apply(&[("cluster_version", "1.30"), ("node_count", "3")]);
    project.apply(&[("cluster_version", "1.30"), ("node_count", "5")]);
    (backend, project)
}

/// Everything a drill must not change: every version of every key in the
/// bucket, every item in the lock table (the real digest and lock), and the
/// real lock status.
fn snapshot(backend: &Backend) -> (Vec<aws::Listed>, Vec<aws::Item>, serde_json::Value) {
    let mut objects = aws::list_versions(&backend.bucket, "");
    // Which version is the latest may change only with the versions themselves.
    objects.sort();
    let mut items = aws::scan(&backend.table);
    items.sort();
    let lock = json(&sw(backend, &["lock", "status", "--format", "json"]));
    (objects, items, lock)
}

#[test]
fn every_scenario_recovers_and_leaves_the_real_state_untouched() {
    let (backend, project) = platform();
    let before = snapshot(&backend);
    assert!(
        before
            .1
            .iter()
            .any(|i| i.get("LockID").is_some_and(|id| id.ends_with("-md5"))),
        "Terraform keeps a digest: {:?}",
        before.1
    );
    for scenario in [
        "corrupt",
        "truncate",
        "delete",
        "foreign-lineage",
        "stuck-lock",
    ] {
        let o = sw(
            &backend,
            &["drill", "--scenario", scenario, "--format", "json"],
        );
        assert_exit(&o, 0);
        let doc = json(&o);
        assert_schema("drill", &doc);
        assert_eq!(doc["scenario"], scenario);
        assert_eq!(doc["passed"], true, "{doc:#}\n{}", stderr(&o));
        let names: Vec<&str> = doc["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["prepare", "detect", "restore", "verify", "cleanup"],
            "{scenario}"
        );
        let sum: f64 = doc["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["seconds"].as_f64().unwrap())
            .sum();
        assert!((sum - doc["total_seconds"].as_f64().unwrap()).abs() < 1e-6);
        assert_eq!(doc["rto_seconds"], 4.0 * 3600.0, "default RTO is 4h");
        // No scratch object, lock or digest item is left; nothing real changed.
        assert_eq!(snapshot(&backend), before, "{scenario}");
    }
    // Terraform still works on the real state.
    let o = project.run(&[
        "plan",
        "-detailed-exitcode",
        "-no-color",
        "-input=false",
        "-var",
        "cluster_version=1.30",
        "-var",
        "node_count=5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn all_scenarios_in_turn_by_default_and_text_output() {
    let (backend, _project) = platform();
    let before = snapshot(&backend);
    let o = sw(&backend, &["drill", "--format", "json"]);
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("drill", &doc);
    assert_eq!(doc["passed"], true);
    let scenarios: Vec<&str> = doc["drills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(
        scenarios,
        [
            "corrupt",
            "truncate",
            "delete",
            "foreign-lineage",
            "stuck-lock"
        ]
    );
    let o = sw(
        &backend,
        &["drill", "--scenario", "truncate", "--rto", "30m"],
    );
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(text.contains("Drill truncate: PASSED"), "{text}");
    assert!(text.contains("RTO 30m 0s"), "{text}");
    assert!(text.contains("restore"), "{text}");
    assert_eq!(snapshot(&backend), before);
}

#[test]
fn a_drill_over_the_rto_exits_2() {
    let (backend, _project) = platform();
    let before = snapshot(&backend);
    let o = sw(
        &backend,
        &[
            "drill",
            "--scenario",
            "corrupt",
            "--rto",
            "1ms",
            "--format",
            "json",
        ],
    );
    assert_exit(&o, 2);
    let doc = json(&o);
    assert_schema("drill", &doc);
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["rto_seconds"], 0.001);
    assert!(stderr(&o).contains("RTO"), "{}", stderr(&o));
    assert_eq!(snapshot(&backend), before, "cleaned up even when failing");
}

#[test]
fn the_rto_comes_from_the_environment_file() {
    let (backend, _project) = platform();
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("drill.hcl");
    std::fs::write(
        &env,
        format!(
            "backend {{\n  bucket = {:?}\n  key = {:?}\n  region = {:?}\n  dynamodb_table = {:?}\n  endpoint_url = {:?}\n}}\nobjectives {{\n  rpo = \"15m\"\n  rto = \"1h\"\n}}\n",
            backend.bucket, backend.key, REGION, backend.table, endpoint()
        ),
    )
    .unwrap();
    let env = env.to_str().unwrap();
    let o = stateward([
        "drill",
        "--env",
        env,
        "--scenario",
        "delete",
        "--format",
        "json",
    ]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["rto_seconds"], 3600.0);
    // The flag wins over the file.
    let o = stateward([
        "drill",
        "--env",
        env,
        "--scenario",
        "delete",
        "--rto",
        "1ms",
        "--format",
        "json",
    ]);
    assert_exit(&o, 2);
    assert_eq!(json(&o)["rto_seconds"], 0.001);
}

#[test]
fn a_deleted_real_state_is_refused() {
    let (backend, _project) = platform();
    backend.delete(&backend.key);
    let o = sw(&backend, &["drill", "--scenario", "corrupt"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("restore it first"), "{}", stderr(&o));
}

/// Regression (issue 14 item 4): once a command's locked section had run,
/// Ctrl-C did nothing. Now it still ends the command at once (exit 130).
/// Found while testing it: Ctrl-C during a drill ended the process on the
/// spot and left the scratch copy, its `.tflock` and its digest item in the
/// state's bucket and table. Now the drill stops, removes them, and says so.
/// The drill's setup takes and releases the scratch key's lock (the same
/// `lock::with_lock`), then it reads on; the test proxy holds that listing
/// on the wire while Ctrl-C is pressed.
#[test]
fn ctrl_c_during_a_drill_after_its_locked_setup_stops_it_and_removes_the_scratch_copy() {
    use std::process::{Command, Stdio};
    let backend = Backend::new("afterlock");
    backend.put(&backend.key, &crate::support::faults::network(1));
    let proxy = TruncatingProxy::faulty();
    // The setup's lock release is the drill's first DeleteItem; the listing
    // after it (the detection's) gets no answer for longer than the test.
    proxy.fault_after(
        "DeleteItem",
        "versions",
        Fault::Stall(std::time::Duration::from_secs(120)),
        1,
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stateward"));
    aws_env(&mut cmd)
        .args(["drill", "--scenario", "corrupt"])
        .args(backend.flags_via(&proxy.url()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    wait_until("the drill released its setup lock and read on", || {
        !proxy.injected().is_empty()
    });
    let scratch_items = || -> Vec<String> {
        aws::scan(&backend.table)
            .iter()
            .filter_map(|i| i.get("LockID").cloned())
            .filter(|id| id.contains(".stateward-drill-"))
            .collect()
    };
    // The scratch key's lock is gone; its digest item stays until cleanup.
    let items = scratch_items();
    assert!(
        !items.is_empty() && items.iter().all(|id| id.ends_with("-md5")),
        "{items:?}"
    );
    let scratch_versions = || {
        aws::list_versions(
            &backend.bucket,
            &format!("{}.stateward-drill-", backend.key),
        )
        .len()
    };
    assert!(scratch_versions() > 0, "the drill has a scratch copy");
    let pressed = std::time::Instant::now();
    sigint(&child);
    let status = exit_within(
        &mut child,
        std::time::Duration::from_secs(10),
        "one Ctrl-C after the locked section",
    );
    assert_eq!(status.code(), Some(130), "took {:?}", pressed.elapsed());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        err.contains("interrupted (Ctrl-C): the drill stopped and removed its scratch copy s3://"),
        "{err}"
    );
    assert_eq!(scratch_versions(), 0, "scratch versions left: {err}");
    assert_eq!(scratch_items(), Vec::<String>::new(), "{err}");
    // The real state was only read.
    assert_eq!(
        aws::list_versions(&backend.bucket, &backend.key)
            .iter()
            .filter(|v| v.key == backend.key)
            .count(),
        1
    );
}
