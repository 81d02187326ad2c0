//! Restore against real Terraform 1.0.3 and the emulator: last-good selection,
//! roll-forward, digest, lock, undelete, refusals and crash safety (the
//! crash points and failures planned in process on the adapters' calls).

use std::process::{Command, Output, Stdio};

use crate::support::*;

fn sw(backend: &Backend, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(backend.flags());
    stateward(all)
}

/// The library's restore pieces on the emulator, every storage call through
/// `faults` (the in-process fault plan that replaced the environment hooks):
/// the state bucket, the lock, the state key.
async fn wired(
    backend: &Backend,
    faults: &std::sync::Arc<stateward::storage::faulty::Faults>,
) -> (
    std::sync::Arc<dyn stateward::storage::StateObjects>,
    stateward::lock::Locker,
    String,
) {
    use stateward::storage::faulty::Faulty;
    use stateward::storage::{LockItems, StateObjects};
    use std::sync::Arc;
    let ctx = backend.context(true, false);
    let target = ctx.target().unwrap();
    let aws = ctx.aws(&target).await.unwrap();
    let store: Arc<dyn StateObjects> =
        Arc::new(Faulty::new(aws.state_bucket(&target), faults.clone()));
    let table = target
        .dynamodb_table
        .as_deref()
        .map(|t| Arc::new(Faulty::new(aws.table(t), faults.clone())) as Arc<dyn LockItems>);
    let key = target.state_key();
    let locker = stateward::lock::Locker::on(
        store.clone(),
        &target.bucket,
        &key,
        table,
        target.use_lockfile,
    )
    .unwrap();
    (store, locker, key)
}

/// `restore --last-good --no-live` through the library, on `store`.
async fn restore_in_process(
    store: &dyn stateward::storage::StateObjects,
    locker: &stateward::lock::Locker,
    key: &str,
) -> stateward::error::Result<stateward::restore::Outcome> {
    use stateward::restore::{self, Source};
    let plan = restore::plan(store, key, &Source::LastGood, false, false, None, 8).await?;
    restore::execute(
        plan,
        store,
        locker,
        "",
        std::time::Duration::ZERO,
        &mut |_| {},
    )
    .await
}

/// The vars of the last good apply, used again by `terraform plan`.
const GOOD: &[(&str, &str)] = &[("cluster_version", "1.30"), ("node_count", "5")];

fn history() -> (Backend, TfProject) {
    let backend = Backend::new("restore");
    let project = platform_project(&backend);
    project.apply(&[("cluster_version", "1.29"), ("node_count", "2")]);
    project.apply(&[("cluster_version", "1.30"), ("node_count", "3")]);
    project.apply(GOOD);
    (backend, project)
}

fn versions(backend: &Backend) -> Vec<serde_json::Value> {
    let o = sw(backend, &["versions", "--format", "json"]);
    assert_exit(&o, 0);
    json(&o)["versions"].as_array().unwrap().clone()
}

fn ids(vs: &[serde_json::Value]) -> Vec<String> {
    vs.iter()
        .map(|v| v["version_id"].as_str().unwrap().to_owned())
        .collect()
}

fn plan_args(vars: &[(&str, &str)]) -> Vec<String> {
    let mut args: Vec<String> = ["plan", "-detailed-exitcode", "-no-color", "-input=false"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (k, v) in vars {
        args.push("-var".into());
        args.push(format!("{k}={v}"));
    }
    args
}

/// `terraform plan -detailed-exitcode` with the good vars exits 0, then an
/// apply with new vars writes serial + 1.
fn assert_terraform_accepts(project: &TfProject, backend: &Backend, restored_serial: u64) {
    let args = plan_args(GOOD);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = project.run(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "terraform plan after restore:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    project.apply(&[("cluster_version", "1.30"), ("node_count", "6")]);
    let o = sw(backend, &["show", "latest", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["serial"], restored_serial + 1);
}

fn restore_last_good(backend: &Backend) -> serde_json::Value {
    let o = sw(
        backend,
        &["restore", "--last-good", "--yes", "--format", "json"],
    );
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("restore", &doc);
    doc
}

#[test]
fn restores_after_garbage_truncation_foreign_lineage_and_deletion() {
    for incident in ["garbage", "truncated", "foreign", "deleted"] {
        let (backend, project) = history();
        let before = versions(&backend);
        let good_id = before[0]["version_id"].as_str().unwrap().to_owned();
        let good_serial = before[0]["serial"].as_u64().unwrap();
        let max_serial = before
            .iter()
            .filter_map(|v| v["serial"].as_u64())
            .max()
            .unwrap();
        let good_bytes = sw(&backend, &["pull", "latest"]).stdout;
        match incident {
            "garbage" => {
                backend.put(&backend.key, b"<html>503 Service Unavailable</html>");
            }
            "truncated" => {
                backend.put(&backend.key, &good_bytes[..good_bytes.len() / 2]);
            }
            "foreign" => {
                let other = Backend::new("other");
                let p = platform_project(&other);
                p.apply(&[("node_count", "9")]);
                p.apply(&[("node_count", "10")]);
                p.apply(&[("node_count", "11")]);
                p.apply(&[("node_count", "12")]);
                let o = sw(&other, &["pull", "latest"]);
                backend.put(&backend.key, &o.stdout);
            }
            "deleted" => backend.delete(&backend.key),
            _ => unreachable!(),
        }
        // Terraform is broken now (except for the foreign state, which it reads as another state).
        let doc = restore_last_good(&backend);
        assert_eq!(
            doc["restored_from"],
            good_id.as_str(),
            "{incident}: {doc:#}"
        );
        assert_eq!(doc["serial"], max_serial + 1, "{incident}");
        assert_eq!(doc["digest_updated"], true, "{incident}");
        assert_eq!(doc["dry_run"], false);
        let passed = doc["passed_over"].as_array().unwrap();
        assert_eq!(passed.len(), 1, "{incident}: {doc:#}");
        if incident == "deleted" {
            assert!(doc["replaced_version"].is_null());
            assert!(passed[0]["reason"]
                .as_str()
                .unwrap()
                .contains("delete marker"));
        } else {
            assert!(doc["replaced_version"].is_string());
        }
        // The restored object is the good one with only the serial changed.
        let restored = sw(&backend, &["pull", "latest"]).stdout;
        let expected = String::from_utf8(good_bytes.clone()).unwrap().replacen(
            &format!("\"serial\": {good_serial},"),
            &format!("\"serial\": {},", max_serial + 1),
            1,
        );
        assert_eq!(String::from_utf8(restored).unwrap(), expected, "{incident}");
        // Nothing was lost: every earlier version is still there.
        let after = ids(&versions(&backend));
        for id in ids(&before) {
            assert!(after.contains(&id), "{incident}: lost version {id}");
        }
        assert_exit(&sw(&backend, &["digest", "status"]), 0);
        assert_eq!(
            json(&sw(&backend, &["lock", "status", "--format", "json"]))["locked"],
            false
        );
        assert_terraform_accepts(&project, &backend, max_serial + 1);
    }
}

#[test]
fn shows_the_change_asks_and_dry_runs() {
    let (backend, _project) = history();
    let before = versions(&backend);
    // Restoring an older healthy version over a healthy current one.
    let older = before[2]["version_id"].as_str().unwrap().to_owned();
    let o = sw(&backend, &["restore", &older, "--dry-run"]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(text.contains("Changes from the current state"), "{text}");
    assert!(text.contains("node_count"), "{text}");
    assert!(text.contains("Dry run"), "{text}");
    assert!(!text.contains("correct-horse"), "secret leaked: {text}");
    let o = sw(
        &backend,
        &["restore", &older, "--dry-run", "--format", "json"],
    );
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("restore", &doc);
    assert_eq!(doc["dry_run"], true);
    assert!(doc["new_version"].is_null());
    assert!(!doc["changes"]["outputs"]["changed"]
        .as_array()
        .unwrap()
        .is_empty());
    // No terminal and no --yes: refused, nothing written.
    let o = sw(&backend, &["restore", &older]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert_eq!(versions(&backend).len(), before.len());

    // Restore it, then undo with the printed handle.
    let o = sw(&backend, &["restore", &older, "--yes", "--format", "json"]);
    assert_exit(&o, 0);
    let doc = json(&o);
    let replaced = doc["replaced_version"].as_str().unwrap().to_owned();
    assert_eq!(replaced, before[0]["version_id"].as_str().unwrap());
    let o = sw(
        &backend,
        &["restore", &replaced, "--yes", "--format", "json"],
    );
    assert_exit(&o, 0);
    let undo = json(&o);
    assert_eq!(undo["serial"], doc["serial"].as_u64().unwrap() + 1);
    let o = sw(&backend, &["diff", &replaced, "latest", "--format", "json"]);
    assert_exit(&o, 0); // same content, only the serial differs
}

#[test]
fn refuses_what_is_unsafe() {
    let (backend, _project) = history();
    let good = sw(&backend, &["pull", "latest"]).stdout;
    // A corrupt version is never restored.
    let corrupt = backend.put(&backend.key, b"{\"version\": 4, \"serial\": 3");
    // A state of another lineage, then the good state again on top.
    let foreign = backend.put(&backend.key, NETWORK_STATE.as_bytes());
    backend.put(&backend.key, &good);
    let o = sw(&backend, &["restore", &corrupt, "--yes"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("never restores a corrupt version"),
        "{}",
        stderr(&o)
    );
    // Another lineage needs --allow-lineage-change.
    let o = sw(&backend, &["restore", &foreign, "--yes"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("--allow-lineage-change"),
        "{}",
        stderr(&o)
    );
    let n = versions(&backend).len();
    let o = sw(
        &backend,
        &["restore", &foreign, "--yes", "--allow-lineage-change"],
    );
    assert_exit(&o, 0);
    assert_eq!(versions(&backend).len(), n + 1);

    // Without bucket versioning a restore could destroy the only copy.
    let unversioned = Backend::with_versioning("nover", false);
    unversioned.put(&unversioned.key, NETWORK_STATE.as_bytes());
    let o = sw(&unversioned, &["restore", "--last-good", "--yes"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("versioning is not enabled"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_restore_while_terraform_holds_the_lock_exits_3_and_writes_nothing() {
    let (backend, project) = history();
    let console = ConsoleLock::hold(&project, &backend);
    // Meanwhile the state object is broken.
    backend.put(&backend.key, b"garbage");
    let before = ids(&versions(&backend));
    let o = sw(&backend, &["restore", "--last-good", "--yes"]);
    assert_exit(&o, 3);
    assert!(
        stderr(&o).contains("OperationTypeInvalid"),
        "{}",
        stderr(&o)
    );
    assert_eq!(ids(&versions(&backend)), before, "nothing written");
    console.release();
    // Terraform released: the restore goes through.
    restore_last_good(&backend);
}

/// Each crash point of a restore: its calls paused at the point forever and
/// the restore dropped there, as a killed process leaves it; then the
/// commands a user runs, and Terraform reading the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_at_every_step_loses_nothing_and_a_rerun_completes() {
    use stateward::storage::faulty::{Faults, Op, When};
    let (backend, project) = history();
    for point in ["record", "write", "digest", "release"] {
        backend.put(&backend.key, b"\x00\x01 not a state");
        let before = ids(&versions(&backend));
        let faults = Faults::new();
        let (store, locker, key) = wired(&backend, &faults).await;
        let digest_id = locker.digest_id();
        let (op, at, when) = match point {
            "record" => (Op::Put, key.as_str(), When::Before),
            "write" => (Op::Put, key.as_str(), When::After),
            "digest" => (Op::ItemPut, digest_id.as_str(), When::After),
            _ => (Op::ItemDeleteIf, locker.path.as_str(), When::After),
        };
        let pause = faults.pause(point, op, Some(at), 1, when);
        tokio::select! {
            r = restore_in_process(store.as_ref(), &locker, &key) => panic!("{point}: the restore ended first: {r:?}"),
            () = pause.reached() => {}
        }
        // Nothing is lost.
        let after = ids(&versions(&backend));
        for id in &before {
            assert!(after.contains(id), "{point}: lost version {id}");
        }
        // What is left to do is visible.
        let lock = json(&sw(&backend, &["lock", "status", "--format", "json"]));
        let digest = sw(&backend, &["digest", "status", "--format", "json"]);
        match point {
            "record" | "write" => {
                assert_eq!(lock["locked"], true, "{point}");
                assert_eq!(lock["lock"]["Operation"], "stateward-restore");
                assert_exit(&digest, 2); // the digest is out of date
            }
            "digest" => {
                assert_eq!(lock["locked"], true, "{point}");
                assert_exit(&digest, 0);
            }
            _ => {
                assert_eq!(lock["locked"], false, "{point}");
                assert_exit(&digest, 0);
            }
        }
        if point == "write" || point == "digest" || point == "release" {
            assert_eq!(
                after.len(),
                before.len() + 1,
                "{point}: the restored version was written"
            );
        } else {
            assert_eq!(after.len(), before.len(), "{point}: nothing written yet");
        }
        // The user releases the stale lock (stateward never does it by itself) and reruns.
        if lock["locked"] == true {
            let id = lock["lock"]["ID"].as_str().unwrap();
            let o = sw(&backend, &["restore", "--last-good", "--yes"]);
            assert_exit(&o, 3);
            assert!(stderr(&o).contains(id), "{}", stderr(&o));
            assert_exit(&sw(&backend, &["lock", "release", id, "--yes"]), 0);
        }
        let o = sw(
            &backend,
            &["restore", "--last-good", "--yes", "--format", "json"],
        );
        assert_exit(&o, 0);
        assert_exit(&sw(&backend, &["digest", "status"]), 0);
        assert_eq!(
            json(&sw(&backend, &["lock", "status", "--format", "json"]))["locked"],
            false
        );
        let args = plan_args(GOOD);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = project.run(&args);
        assert_eq!(o.status.code(), Some(0), "{point}: {}", stderr(&o));
    }
}

#[test]
fn a_truncated_write_still_counts_its_serial() {
    let (backend, project) = history();
    let good = String::from_utf8(sw(&backend, &["pull", "latest"]).stdout).unwrap();
    let serial = json(&sw(&backend, &["show", "--format", "json"]))["serial"]
        .as_u64()
        .unwrap();
    // A client wrote serial 50 and died half-way through the upload.
    let bumped = good.replacen(&format!("\"serial\": {serial},"), "\"serial\": 50,", 1);
    backend.put(&backend.key, &bumped.as_bytes()[..bumped.len() / 2]);
    let listed = versions(&backend);
    assert_eq!(listed[0]["status"], "corrupt");
    assert_eq!(
        listed[0]["serial"], 50,
        "the header of a corrupt version is still shown"
    );
    let doc = restore_last_good(&backend);
    assert_eq!(doc["serial"], 51);
    assert_terraform_accepts(&project, &backend, 51);
}

#[test]
fn ctrl_c_under_the_lock_releases_it_and_writes_nothing() {
    let (backend, _project) = history();
    backend.put(&backend.key, b"garbage");
    let before = ids(&versions(&backend));
    // Under the lock, the restore first lists the versions again: that
    // listing is held on the wire (a read: it changes nothing when it lands).
    let proxy = TruncatingProxy::faulty();
    proxy.fault_after(
        "PutItem",
        "?versions",
        Fault::Stall(std::time::Duration::from_secs(20)),
        1,
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stateward"));
    aws_env(&mut cmd)
        .args(["restore", "--last-good", "--yes"])
        .args(backend.flags_via(&proxy.url()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let lock = json(&sw(&backend, &["lock", "status", "--format", "json"]));
        if lock["locked"] == true {
            assert_eq!(lock["lock"]["Operation"], "stateward-restore");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the restore never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Ctrl-C.
    sigint(&child);
    let o = child.wait_with_output().unwrap();
    assert_exit(&o, 130);
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    assert_eq!(
        json(&sw(&backend, &["lock", "status", "--format", "json"]))["locked"],
        false
    );
    assert_eq!(ids(&versions(&backend)), before, "nothing written");
    // And the same restore then goes through.
    restore_last_good(&backend);
}

/// Regression (issue 14, item 1): a restore whose lock `PutItem` reached
/// DynamoDB but whose response was lost found its own lock and exited 3,
/// leaving it. The write is applied and then answered as the SDK's retry
/// is (its condition failed), through the fault plan over the adapters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_whose_lock_response_was_lost_proceeds_and_releases_it() {
    use stateward::aws::AwsErrorKind;
    use stateward::storage::faulty::{Faults, Op};
    let (backend, project) = history();
    backend.put(&backend.key, b"garbage");
    let faults = Faults::new();
    let (store, locker, key) = wired(&backend, &faults).await;
    faults.lose_response(
        Op::ItemPutIfAbsent,
        Some(&locker.path),
        1,
        AwsErrorKind::PreconditionFailed,
    );
    let outcome = restore_in_process(store.as_ref(), &locker, &key)
        .await
        .unwrap_or_else(|e| panic!("the restore must proceed on its own lock: {e}"));
    assert!(outcome.digest_updated);
    assert_eq!(
        json(&sw(&backend, &["lock", "status", "--format", "json"]))["locked"],
        false,
        "our lock was released"
    );
    assert_exit(&sw(&backend, &["digest", "status"]), 0);
    let args = plan_args(GOOD);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(project.run(&args).status.code(), Some(0));
}

fn sw_via(backend: &Backend, proxy: &TruncatingProxy, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(backend.flags_via(&proxy.url()));
    stateward(all)
}

/// Regression (issue 14, item 2): a GET whose body was cut short while its
/// framing still looked complete (a middlebox rewriting Content-Length) was
/// parsed as a truncated state: `versions` called the healthy current version
/// corrupt and `restore --last-good --yes` wrote the previous version over it.
/// Served here through a loopback proxy that cuts the current version's body.
#[test]
fn a_body_cut_short_in_transfer_is_read_again_never_judged_corrupt_or_replaced() {
    let (backend, project) = history();
    let before = versions(&backend);
    let current = before[0]["version_id"].as_str().unwrap().to_owned();
    let needle = format!("versionId={current}");

    // Cut once: the read is retried and the version is healthy.
    let proxy = TruncatingProxy::start(&needle, 1);
    // Past the version cache: these reads must reach S3.
    let o = sw_via(
        &backend,
        &proxy,
        &["versions", "--format", "json", "--no-cache"],
    );
    assert_exit(&o, 0);
    assert_eq!(proxy.truncated(), 1, "the proxy cut the body");
    let listed = json(&o)["versions"].as_array().unwrap().clone();
    assert_eq!(listed[0]["version_id"], current.as_str());
    assert_eq!(listed[0]["status"], "ok", "{:#}", listed[0]);

    let proxy = TruncatingProxy::start(&needle, 1);
    let o = sw_via(
        &backend,
        &proxy,
        &[
            "restore",
            "--last-good",
            "--yes",
            "--no-live",
            "--format",
            "json",
        ],
    );
    assert_exit(&o, 0);
    assert_eq!(proxy.truncated(), 1, "the proxy cut the body");
    let doc = json(&o);
    assert_eq!(doc["restored_from"], current.as_str(), "{doc:#}");
    assert_eq!(
        ids(&versions(&backend)),
        ids(&before),
        "nothing was written"
    );

    // Cut every time: a transfer error (exit 1), never "corrupt", nothing written.
    let proxy = TruncatingProxy::start(&needle, usize::MAX);
    // Past the version cache: these reads must reach S3.
    let o = sw_via(
        &backend,
        &proxy,
        &["versions", "--format", "json", "--no-cache"],
    );
    assert_exit(&o, 1);
    let doc = json(&o);
    assert!(doc["versions"].is_null(), "no version was judged: {doc:#}");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(message.contains("damaged in transfer"), "{message}");
    assert_eq!(proxy.truncated(), 3, "three attempts");
    let o = sw_via(
        &backend,
        &proxy,
        &["restore", "--last-good", "--yes", "--no-live"],
    );
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("damaged in transfer"), "{}", stderr(&o));
    assert_eq!(
        ids(&versions(&backend)),
        ids(&before),
        "nothing was written"
    );
    assert_exit(&sw(&backend, &["digest", "status"]), 0);
    let args = plan_args(GOOD);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(project.run(&args).status.code(), Some(0));
}

/// The command between backquotes that starts with `prefix`, as arguments.
fn advised(text: &str, prefix: &str) -> Vec<String> {
    let start = text
        .find(&format!("`{prefix}"))
        .unwrap_or_else(|| panic!("no `{prefix}...` in: {text}"));
    let rest = &text[start + 1..];
    let end = rest.find('`').unwrap();
    rest[..end]
        .split_whitespace()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

/// Regression (issue 14, item 7): after a partial success the message says
/// what was done and gives the exact command that finishes the job, with the
/// targeting flags the user gave. The failures are planned on the adapters'
/// calls; the printed commands run as the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_success_says_what_was_done_and_the_exact_command_that_finishes_it() {
    use stateward::aws::AwsErrorKind;
    use stateward::storage::faulty::{Faults, Op};
    let (backend, project) = history();
    let flags = backend.flags().join(" ");
    // The targeting flags, recorded as the binary records its command line.
    stateward::hint::set_args(backend.flags());

    // The state is written, the digest update fails.
    backend.put(&backend.key, b"garbage");
    let before = ids(&versions(&backend));
    let faults = Faults::new();
    let (store, locker, key) = wired(&backend, &faults).await;
    faults.fail(
        Op::ItemPut,
        Some(&locker.digest_id()),
        1,
        AwsErrorKind::Network,
    );
    let e = restore_in_process(store.as_ref(), &locker, &key)
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 1);
    let err = e.to_string();
    assert!(err.contains("the restored state was written to"), "{err}");
    assert!(err.contains("Terraform will refuse this state"), "{err}");
    assert!(
        err.contains(&format!("`stateward digest repair {flags}`")),
        "{err}"
    );
    assert_eq!(ids(&versions(&backend)).len(), before.len() + 1);
    assert_exit(&sw(&backend, &["digest", "status"]), 2);
    assert_eq!(
        json(&sw(&backend, &["lock", "status", "--format", "json"]))["locked"],
        false
    );
    // The printed command fixes it.
    let mut repair = advised(&err, "stateward digest repair");
    repair.push("--yes".into());
    assert_exit(&stateward(repair), 0);
    assert_exit(&sw(&backend, &["digest", "status"]), 0);

    // The restore succeeds, the lock release fails.
    backend.put(&backend.key, b"garbage");
    let faults = Faults::new();
    let (store, locker, key) = wired(&backend, &faults).await;
    faults.fail(
        Op::ItemDeleteIf,
        Some(&locker.path),
        1,
        AwsErrorKind::Network,
    );
    let e = restore_in_process(store.as_ref(), &locker, &key)
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 1);
    let err = e.to_string();
    assert!(err.contains("the restore succeeded"), "{err}");
    let lock = json(&sw(&backend, &["lock", "status", "--format", "json"]));
    assert_eq!(lock["locked"], true);
    let id = lock["lock"]["ID"].as_str().unwrap();
    assert!(
        err.contains(&format!("`stateward lock release {id} {flags}`")),
        "{err}"
    );
    assert_exit(&sw(&backend, &["digest", "status"]), 0);
    let mut release = advised(&err, "stateward lock release");
    release.push("--yes".into());
    assert_exit(&stateward(release), 0);
    assert_eq!(
        json(&sw(&backend, &["lock", "status", "--format", "json"]))["locked"],
        false
    );
    let args = plan_args(GOOD);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(project.run(&args).status.code(), Some(0));
}

/// A small state of `serial`, lineage `network-lineage`, no resources.
fn network(serial: u64) -> Vec<u8> {
    NETWORK_STATE
        .replace("\"serial\": 1,", &format!("\"serial\": {serial},"))
        .into_bytes()
}

/// A restore of the last good version (no live comparison) started with
/// `env`, its stderr read line by line.
fn spawn_restore(
    flags: &[String],
    env: &[(&str, &str)],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stateward"));
    aws_env(&mut cmd)
        .envs(env.iter().copied())
        .args(["restore", "--last-good", "--yes", "--no-live"])
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Regression (issue 14 item 4): with a stalled lock release, Ctrl-C was
/// ignored twice. The first now says the lock is being released; the second
/// exits at once (130), naming the lock and the exact command that releases
/// it, which works as printed.
#[test]
fn a_second_ctrl_c_during_a_stalled_release_exits_at_once_naming_the_lock() {
    let backend = Backend::new("stallrel");
    backend.put(&backend.key, &network(1));
    backend.put(&backend.key, &network(2));
    backend.put(&backend.key, b"garbage");
    // The release (the lock item's DeleteItem) is held on the wire, before
    // it reaches DynamoDB, for longer than the test lasts.
    let proxy = TruncatingProxy::faulty();
    proxy.fault(
        "DeleteItem",
        Fault::Stall(std::time::Duration::from_secs(120)),
        1,
    );
    let via = backend.flags_via(&proxy.url());
    let (mut child, err) = spawn_restore(&via, &[]);
    wait_until("the restore wrote the state", || {
        versions(&backend).len() == 4
    });
    let lock = json(&sw(&backend, &["lock", "status", "--format", "json"]));
    assert_eq!(lock["locked"], true, "{lock:#}");
    let id = lock["lock"]["ID"].as_str().unwrap().to_owned();
    sigint(&child);
    let mut lines = Vec::new();
    loop {
        let line = err
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no word after the first Ctrl-C: {lines:#?}"));
        let done = line.contains("releasing the lock");
        lines.push(line);
        if done {
            break;
        }
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first Ctrl-C lets the release go on"
    );
    let pressed = std::time::Instant::now();
    sigint(&child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(pressed.elapsed() < std::time::Duration::from_secs(5));
    lines.extend(err.iter());
    let text = lines.join("\n");
    assert!(text.contains("interrupted again"), "{text}");
    let release = printed_after(&text, "release it with `");
    assert_eq!(
        release,
        format!("stateward lock release {id} {}", via.join(" "))
    );
    assert_exit(&run_printed(&release, "--yes"), 0);
    assert_eq!(
        json(&sw(&backend, &["lock", "status", "--format", "json"]))["locked"],
        false
    );
    assert_exit(&sw(&backend, &["digest", "status"]), 0);
}

/// Regression (issue 15): "Undo: stateward restore <id>" named the replaced
/// version even when it was corrupt, which restore refuses. Now: nothing to
/// undo to, and the way back to this restore's result; a restore over a
/// healthy version prints an undo that works as printed.
#[test]
fn undo_advice_is_true_and_runs_as_printed() {
    let backend = Backend::new("undo");
    let v1 = backend.put(&backend.key, &network(1));
    backend.put(&backend.key, &network(2));
    let corrupt = backend.put(&backend.key, b"garbage");
    let o = sw(&backend, &["restore", "--last-good", "--yes", "--no-live"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(!out.contains("Undo:"), "{out}");
    assert!(
        out.contains(&format!(
            "Nothing to undo to: the replaced version {corrupt} is corrupt"
        )),
        "{out}"
    );
    let written = versions(&backend)[0]["version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        out.contains(&format!(
            "this restore's result is version {written}: `stateward restore {written} {}` brings it back",
            backend.flags().join(" ")
        )),
        "{out}"
    );
    let json_doc = json(&sw(
        &backend,
        &[
            "restore",
            "--last-good",
            "--yes",
            "--no-live",
            "--dry-run",
            "--format",
            "json",
        ],
    ));
    assert!(json_doc["undo"]["command"].is_string(), "{json_doc:#}");

    // Restore v1 over the healthy current version: the undo runs as printed.
    let current = versions(&backend)[0]["version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = sw(&backend, &["restore", &v1, "--yes"]);
    assert_exit(&o, 0);
    let undo = printed_after(&stdout(&o), "Undo: ");
    assert_eq!(
        undo,
        format!("stateward restore {current} {}", backend.flags().join(" "))
    );
    let o = run_printed(&undo, "--yes --format json");
    assert_exit(&o, 0);
    assert_eq!(json(&o)["restored_from"], current.as_str());
}
