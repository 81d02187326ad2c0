//! Locks and the md5 digest against real Terraform 1.0.3 and the emulator.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

fn sw(backend: &Backend, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(backend.flags());
    stateward(all)
}

/// `lock status` as JSON; its exit code says the same: 3 held, 0 free.
fn status_json(backend: &Backend) -> serde_json::Value {
    let o = sw(backend, &["lock", "status", "--format", "json"]);
    let doc = json(&o);
    assert_schema("lock-status", &doc);
    assert_exit(&o, if doc["locked"] == true { 3 } else { 0 });
    doc
}

fn applied(name: &str) -> (Backend, TfProject) {
    let backend = Backend::new(name);
    let project = platform_project(&backend);
    project.apply(&[("node_count", "2")]);
    (backend, project)
}

#[test]
fn a_terraform_lock_stops_stateward_and_shows_its_holder() {
    let (backend, project) = applied("tfholds");
    let console = ConsoleLock::hold(&project, &backend);
    let doc = status_json(&backend);
    assert_eq!(doc["locked"], true);
    assert_eq!(doc["backends"], serde_json::json!(["dynamodb"]));
    let lock = &doc["lock"];
    assert_eq!(lock["Operation"], "OperationTypeInvalid");
    assert_eq!(lock["Version"], "1.0.3");
    assert_eq!(lock["Path"], format!("{}/{}", backend.bucket, backend.key));
    assert!(lock["Who"].as_str().unwrap().contains('@'));
    assert!(doc["age_seconds"].as_i64().unwrap() >= 0);
    let id = lock["ID"].as_str().unwrap().to_owned();

    // Text shows the same holder.
    let o = sw(&backend, &["lock", "status"]);
    assert!(
        stdout(&o).contains(&id) && stdout(&o).contains("LOCKED"),
        "{}",
        stdout(&o)
    );

    // stateward cannot take it: exit 3, holder in the message.
    let o = sw(&backend, &["lock", "acquire"]);
    assert_exit(&o, 3);
    assert!(stderr(&o).contains(&id), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("OperationTypeInvalid"),
        "{}",
        stderr(&o)
    );
    // With a timeout it retries, then still exits 3.
    let started = Instant::now();
    let o = sw(&backend, &["lock", "acquire", "--timeout", "2s"]);
    assert_exit(&o, 3);
    assert!(started.elapsed() >= Duration::from_secs(2));

    // The console ends: Terraform releases, and stateward can lock.
    console.release();
    assert_eq!(status_json(&backend)["locked"], false);
}

#[test]
fn a_stateward_lock_stops_terraform_and_force_unlock_removes_it() {
    let (backend, project) = applied("swholds");
    let o = sw(
        &backend,
        &[
            "lock",
            "acquire",
            "--reason",
            "restore <prod> & check",
            "--format",
            "json",
        ],
    );
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("lock-acquire", &doc);
    let id = doc["id"].as_str().unwrap().to_owned();

    // The stored Info is Go's json.Marshal byte for byte: re-marshalling it
    // the way OpenTofu does yields the same bytes.
    let lock_id = format!("{}/{}", backend.bucket, backend.key);
    let raw = aws::get_item(&backend.table, &lock_id).unwrap()["Info"].clone();
    assert!(raw.starts_with(&format!("{{\"ID\":\"{id}\",\"Operation\":\"stateward-lock\",\"Info\":\"restore \\u003cprod\\u003e \\u0026 check\",\"Who\":\"")), "{raw}");
    let ordered: Vec<&str> = [
        "\"ID\"",
        "\"Operation\"",
        "\"Info\"",
        "\"Who\"",
        "\"Version\"",
        "\"Created\"",
        "\"Path\"",
    ]
    .into_iter()
    .collect();
    let mut at = 0;
    for k in ordered {
        let pos = raw[at..]
            .find(k)
            .unwrap_or_else(|| panic!("{k} out of order in {raw}"));
        at += pos;
    }
    // OpenTofu's unlock: a conditional delete on the exact Info bytes. Prove
    // the condition matches (without deleting) by a conditional no-op update.
    aws::update_if_equal(&backend.table, &lock_id, "Info", &raw);

    // Terraform is stopped, and shows who holds the lock.
    let o = project.run(&["plan", "-no-color", "-input=false", "-lock-timeout=0s"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("Error acquiring the state lock"), "{err}");
    assert!(err.contains(&id), "{err}");
    assert!(err.contains("stateward-lock"), "{err}");

    // `terraform force-unlock` accepts our lock.
    let o = project.run(&["force-unlock", "-force", &id]);
    assert!(
        o.status.success(),
        "force-unlock failed: {}{}",
        stdout(&o),
        stderr(&o)
    );
    assert_eq!(status_json(&backend)["locked"], false);
    let o = project.run(&["plan", "-no-color", "-input=false"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn release_checks_the_id_asks_and_handles_broken_locks() {
    let (backend, _project) = applied("release");
    let o = sw(&backend, &["lock", "acquire", "--format", "json"]);
    assert_exit(&o, 0);
    let id = json(&o)["id"].as_str().unwrap().to_owned();

    // Wrong ID: an error that shows the real holder; nothing removed.
    let o = sw(
        &backend,
        &[
            "lock",
            "release",
            "00000000-0000-0000-0000-000000000000",
            "--yes",
        ],
    );
    assert_exit(&o, 1);
    assert!(stderr(&o).contains(&id), "{}", stderr(&o));
    assert_eq!(status_json(&backend)["locked"], true);
    // No terminal and no --yes: refused, shows what it would remove.
    let o = sw(&backend, &["lock", "release", &id]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert!(stderr(&o).contains(&id), "{}", stderr(&o));
    // --dry-run removes nothing.
    let o = sw(&backend, &["lock", "release", &id, "--dry-run"]);
    assert_exit(&o, 0);
    assert_eq!(status_json(&backend)["locked"], true);
    // --yes releases.
    let o = sw(
        &backend,
        &["lock", "release", &id, "--yes", "--format", "json"],
    );
    assert_exit(&o, 0);
    assert_eq!(json(&o)["released"]["ID"], id.as_str());
    assert_eq!(status_json(&backend)["locked"], false);

    // A lock item with no Info (Terraform: `unexpected end of JSON input`).
    let lock_id = format!("{}/{}", backend.bucket, backend.key);
    aws::put_item(&backend.table, &[("LockID", &lock_id)]);
    let doc = status_json(&backend);
    assert_eq!(doc["locked"], true);
    assert_eq!(doc["broken"], true);
    assert!(doc["lock"].is_null());
    let o = sw(&backend, &["lock", "acquire"]);
    assert_exit(&o, 3);
    assert!(stderr(&o).contains("--broken"), "{}", stderr(&o));
    let o = sw(&backend, &["lock", "release", "--broken", "--yes"]);
    assert_exit(&o, 0);
    assert_eq!(status_json(&backend)["locked"], false);
    // The digest item is untouched by all this.
    let o = sw(&backend, &["digest", "status", "--format", "json"]);
    assert_exit(&o, 0);
    assert!(json(&o)["stored"].is_string());
}

#[test]
fn digest_mismatch_after_a_hand_edit_is_found_and_repaired() {
    let (backend, project) = applied("digest");
    let o = sw(&backend, &["digest", "status", "--format", "json"]);
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("digest-status", &doc);
    assert_eq!(doc["consistent"], true);
    assert_eq!(doc["stored"], doc["actual"]);

    // Someone edits the state by hand and uploads it with the AWS CLI.
    let current = sw(&backend, &["pull", "latest"]).stdout;
    let edited = String::from_utf8(current)
        .unwrap()
        .replace("vpc-0a1b2c3d", "vpc-edited00");
    backend.put(&backend.key, edited.as_bytes());

    let o = project.run(&["plan", "-no-color", "-input=false"]);
    assert!(
        !o.status.success(),
        "terraform accepted a state with the wrong digest"
    );
    assert!(
        stderr(&o).contains("does not have the expected content"),
        "{}",
        stderr(&o)
    );

    let o = sw(&backend, &["digest", "status", "--format", "json"]);
    assert_exit(&o, 2);
    let doc = json(&o);
    assert_eq!(doc["consistent"], false);
    assert_ne!(doc["stored"], doc["actual"]);
    let o = sw(&backend, &["digest", "status"]);
    assert_exit(&o, 2);
    assert!(stdout(&o).contains("MISMATCH"), "{}", stdout(&o));

    // Dry run changes nothing; no terminal without --yes is refused.
    let o = sw(&backend, &["digest", "repair", "--dry-run"]);
    assert_exit(&o, 0);
    assert_exit(&sw(&backend, &["digest", "status"]), 2);
    let o = sw(&backend, &["digest", "repair"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));

    let o = sw(&backend, &["digest", "repair", "--yes", "--format", "json"]);
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_eq!(doc["changed"], true);
    assert_eq!(doc["after"].as_str().unwrap().len(), 32);
    assert_exit(&sw(&backend, &["digest", "status"]), 0);
    assert_eq!(
        status_json(&backend)["locked"],
        false,
        "repair released its lock"
    );

    let o = project.run(&["plan", "-no-color", "-input=false"]);
    assert!(
        o.status.success(),
        "terraform still rejects the state: {}",
        stderr(&o)
    );

    // State deleted by hand: repairing the digest would delete the item and
    // Terraform would then see no state and plan to create everything. The
    // advice is `restore --last-good`, and repair refuses unless --force.
    backend.delete(&backend.key);
    let o = sw(&backend, &["digest", "status", "--format", "json"]);
    assert_exit(&o, 2);
    let doc = json(&o);
    assert_schema("digest-status", &doc);
    assert!(doc["actual"].is_null());
    assert_eq!(doc["current_problem"]["kind"], "deleted", "{doc:#}");
    let flags = backend.flags().join(" ");
    assert_eq!(
        doc["fix"],
        format!("stateward restore --last-good {flags}").as_str()
    );
    let o = sw(&backend, &["digest", "status"]);
    assert_exit(&o, 2);
    assert!(
        !stdout(&o).contains("digest repair") && stdout(&o).contains("Do not repair the digest"),
        "{}",
        stdout(&o)
    );
    let o = sw(&backend, &["digest", "repair", "--yes"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains(&format!("`stateward restore --last-good {flags}`"))
            && stderr(&o).contains("--force"),
        "{}",
        stderr(&o)
    );
    let o = sw(&backend, &["digest", "status", "--format", "json"]);
    assert!(
        json(&o)["stored"].is_string(),
        "a refused repair changes nothing"
    );
    assert_exit(&sw(&backend, &["digest", "repair", "--yes", "--force"]), 0);
    let o = sw(&backend, &["digest", "status", "--format", "json"]);
    assert!(json(&o)["stored"].is_null());
}

#[test]
fn lock_file_mode_round_trips_and_matches_terraform_format() {
    let backend = Backend::new("lockfile");
    backend.put(&backend.key, NETWORK_STATE.as_bytes());
    let flags = backend.lockfile_flags(false);
    let run = |args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(flags.iter().cloned());
        stateward(all)
    };
    let o = run(&["lock", "acquire", "--format", "json"]);
    assert_exit(&o, 0);
    let id = json(&o)["id"].as_str().unwrap().to_owned();
    let o = run(&["lock", "acquire"]);
    assert_exit(&o, 3);
    assert!(
        stderr(&o).contains(&id) && stderr(&o).contains("S3 lock file"),
        "{}",
        stderr(&o)
    );
    let o = run(&["lock", "status", "--format", "json"]);
    let doc = json(&o);
    assert_eq!(doc["backends"], serde_json::json!(["s3-lockfile"]));
    assert_eq!(doc["lock"]["ID"], id.as_str());

    // The .tflock body has exactly the shape Terraform writes.
    let body = String::from_utf8(aws::get_object(
        &backend.bucket,
        &format!("{}.tflock", backend.key),
        None,
    ))
    .unwrap();
    let fixture =
        std::fs::read_to_string(root().join("tests/fixtures/tflock/terraform-1.10.tflock"))
            .unwrap();
    let keys = |s: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(s).unwrap();
        assert!(v.is_object());
        s.split("\":")
            .filter_map(|p| p.rsplit('"').next().map(str::to_owned))
            .collect()
    };
    assert_eq!(keys(&body), keys(&fixture), "{body}\n{fixture}");
    assert!(
        !body.contains('\n') && !body.contains(": "),
        "compact like Go: {body}"
    );
    let created = serde_json::from_str::<serde_json::Value>(&body).unwrap()["Created"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(created.ends_with('Z') && created.contains('T'), "{created}");

    let o = run(&["lock", "release", &id, "--yes"]);
    assert_exit(&o, 0);
    let o = run(&["lock", "status", "--format", "json"]);
    assert_eq!(json(&o)["locked"], false);
    // No digest is kept in lock-file-only mode.
    let o = run(&["digest", "status", "--format", "json"]);
    assert_exit(&o, 0);
    assert!(json(&o)["stored"].is_null());
}

#[test]
fn both_backends_take_the_file_first_and_undo_it_when_dynamodb_is_held() {
    let backend = Backend::new("both");
    backend.put(&backend.key, NETWORK_STATE.as_bytes());
    // Someone holds the DynamoDB lock.
    let o = sw(&backend, &["lock", "acquire", "--format", "json"]);
    let id = json(&o)["id"].as_str().unwrap().to_owned();
    let mut both: Vec<String> = vec!["lock".into(), "acquire".into(), "--use-lockfile".into()];
    both.extend(backend.flags());
    let o = stateward(&both);
    assert_exit(&o, 3);
    // The lock file we took first was removed again.
    let mut status: Vec<String> = vec![
        "lock".into(),
        "status".into(),
        "--use-lockfile".into(),
        "--format".into(),
        "json".into(),
    ];
    status.extend(backend.flags());
    let doc = json(&stateward(&status));
    assert_eq!(doc["backends"], serde_json::json!(["dynamodb"]));
    assert_eq!(doc["lock"]["ID"], id.as_str());
    // Released, both can be taken together, with one ID.
    assert_exit(&sw(&backend, &["lock", "release", &id, "--yes"]), 0);
    assert_exit(&stateward(&both), 0);
    let doc = json(&stateward(&status));
    assert_eq!(
        doc["backends"],
        serde_json::json!(["s3-lockfile", "dynamodb"])
    );
    assert!(doc["problems"].as_array().unwrap().is_empty());
}

#[test]
fn racing_stateward_processes_exactly_one_wins_every_time() {
    let backend = Backend::new("race");
    backend.put(&backend.key, NETWORK_STATE.as_bytes());
    for mode in ["dynamodb", "lockfile"] {
        let flags = if mode == "dynamodb" {
            backend.flags()
        } else {
            backend.lockfile_flags(false)
        };
        for round in 0..15 {
            let spawn = || {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_stateward"));
                aws_env(&mut cmd)
                    .args(["lock", "acquire", "--format", "json"])
                    .args(&flags)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                cmd.spawn().unwrap()
            };
            let a = spawn();
            let b = spawn();
            let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
            let mut codes = [a.status.code(), b.status.code()];
            codes.sort();
            assert_eq!(
                codes,
                [Some(0), Some(3)],
                "{mode} round {round}: {}{}",
                stderr(&a),
                stderr(&b)
            );
            let winner = if a.status.success() { &a } else { &b };
            let id = json(winner)["id"].as_str().unwrap().to_owned();
            let mut rel: Vec<String> = vec!["lock".into(), "release".into(), id, "--yes".into()];
            rel.extend(flags.iter().cloned());
            assert_exit(&stateward(&rel), 0);
        }
    }
}

/// Writes `info` as the lock item and/or lock file, as an acquire whose
/// response was lost left it.
fn prewrite_lock(backend: &Backend, dynamodb: bool, lockfile: bool, info: &str) {
    let path = format!("{}/{}", backend.bucket, backend.key);
    if lockfile {
        aws::put_json(&backend.bucket, &format!("{}.tflock", backend.key), info);
    }
    if dynamodb {
        aws::put_item(&backend.table, &[("LockID", &path), ("Info", info)]);
    }
}

/// Regression (issue 14, item 1): the lock's conditional write reached AWS but
/// its response was lost; the SDK's retry then fails its condition on our
/// own lock. It used to exit 3 blaming "lock ID X" where X was its own lock,
/// and leave it. The lock is pre-written with the ID the acquire will use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_acquire_response_finds_our_own_lock_and_proceeds() {
    use stateward::lock::{LockInfo, Locker};
    for (dynamodb, lockfile) in [(true, false), (false, true), (true, true)] {
        let what = format!("dynamodb={dynamodb} lockfile={lockfile}");
        let backend = Backend::new("ownlock");
        let ctx = backend.context(dynamodb, lockfile);
        let target = ctx.target().unwrap();
        let aws = ctx.aws(&target).await.unwrap();
        let locker = Locker::new(&aws, &target).unwrap();
        let now = time::OffsetDateTime::now_utc();
        let ours = LockInfo::with_id(
            "5f0c7a52-3b1e-4d2a-9c41-0d8e6b7f1a23",
            &locker.path,
            "stateward-lock",
            "",
            now,
        );
        prewrite_lock(&backend, dynamodb, lockfile, &ours.to_go_json());
        locker
            .acquire(&ours, Duration::ZERO)
            .await
            .unwrap_or_else(|e| panic!("{what}: our own lock must be ours, got: {e}"));
        let status = locker.status(now).await.unwrap();
        assert_eq!(
            status.lock.as_ref().map(|l| l.id.as_str()),
            Some(ours.id.as_str()),
            "{what}"
        );
        locker.release(&ours.id).await.unwrap();
        assert!(!locker.status(now).await.unwrap().locked, "{what}");

        // Someone else's lock is still someone else's: exit 3, naming it.
        let theirs = LockInfo::with_id(
            "f9763602-b03f-e35c-da30-4083cdbb99ae",
            &locker.path,
            "OperationTypeApply",
            "",
            now,
        );
        prewrite_lock(&backend, dynamodb, lockfile, &theirs.to_go_json());
        let err = locker.acquire(&ours, Duration::ZERO).await.unwrap_err();
        assert_eq!(err.exit_code(), 3, "{what}: {err}");
        assert!(err.to_string().contains(&theirs.id), "{what}: {err}");
        // Their lock is untouched.
        let status = locker.status(now).await.unwrap();
        assert_eq!(status.lock.map(|l| l.id), Some(theirs.id.clone()), "{what}");
    }
}

/// Regression (issue 14, item 1): Ctrl-C while the acquire is in flight (its
/// writes applied, its response not yet seen) used to kill the process and
/// leave the lock. Now what of our lock landed is removed, exit 130.
#[test]
fn ctrl_c_while_the_acquire_is_in_flight_leaves_no_lock() {
    let backend = Backend::new("acqint");
    let mut flags = backend.flags();
    flags.push("--use-lockfile".into());
    // The lock item's PutItem (the acquire's last write) is applied at once
    // and its answer held on the wire: the acquire is in flight.
    let proxy = TruncatingProxy::faulty();
    proxy.fault("PutItem", Fault::HoldAnswer(Duration::from_secs(5)), 1);
    let mut via = backend.flags_via(&proxy.url());
    via.push("--use-lockfile".into());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stateward"));
    aws_env(&mut cmd)
        .args(["lock", "acquire"])
        .args(&via)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let status = |flags: &[String]| {
        let mut args = vec![
            "lock".to_string(),
            "status".into(),
            "--format".into(),
            "json".into(),
        ];
        args.extend(flags.iter().cloned());
        let o = stateward(args);
        let doc = json(&o);
        assert_exit(&o, if doc["locked"] == true { 3 } else { 0 });
        doc
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let doc = status(&flags);
        if doc["backends"].as_array().unwrap().len() == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the acquire never wrote its lock"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    sigint(&child);
    let o = child.wait_with_output().unwrap();
    assert_exit(&o, 130);
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("S3 lock file and DynamoDB"),
        "{}",
        stderr(&o)
    );
    let doc = status(&flags);
    assert_eq!(doc["locked"], false, "{doc:#}");
    // And the lock can be taken again at once.
    let mut args = vec!["lock".to_string(), "acquire".into()];
    args.extend(flags.iter().cloned());
    assert_exit(&stateward(args), 0);
}

/// `s` as one shell word.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The backend flags, shell-quoted, for a script.
fn quoted_flags(backend: &Backend) -> String {
    backend
        .flags()
        .iter()
        .map(|f| sh_quote(f))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Regression (issue 15): `ID=$(stateward lock acquire)` works (only the ID
/// on stdout, the sentence on stderr); `lock status` exits 3 when held and
/// 0 when free; Terraform's `-lock-timeout=2s` waits (1 s, then 1 s more)
/// before exit 3; a writing command checks the lock before its prompt.
#[test]
fn lock_acquire_prints_only_the_id_status_exits_3_and_lock_timeout_waits() {
    let backend = Backend::new("idonly");
    backend.put(&backend.key, NETWORK_STATE.as_bytes());
    let flags = quoted_flags(&backend);
    let o = sh(&format!(
        "ID=$(stateward lock acquire {flags}) || exit 9\n\
         echo \"id=$ID\"\n\
         stateward lock status {flags} >/dev/null; echo \"held=$?\"\n\
         stateward lock release \"$ID\" --yes {flags} >/dev/null || exit 8\n\
         stateward lock status {flags} >/dev/null; echo \"free=$?\""
    ));
    assert_exit(&o, 0);
    let out = stdout(&o);
    let id = printed_after(&out, "id=");
    assert_eq!(id.len(), 36, "only the ID on stdout: {out}");
    assert!(
        out.contains("held=3") && out.contains("free=0"),
        "{out}\n{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("Locked ")
            && stderr(&o).contains("Release with: stateward lock release"),
        "{}",
        stderr(&o)
    );

    // Held: `-lock-timeout=2s` (and `--lock-timeout 2s`) retry, then exit 3.
    let held = sw(&backend, &["lock", "acquire", "--format", "json"]);
    assert_exit(&held, 0);
    let id = json(&held)["id"].as_str().unwrap().to_owned();
    for form in [&["-lock-timeout=2s"][..], &["--lock-timeout", "2s"][..]] {
        let started = Instant::now();
        let mut args = vec!["lock", "acquire"];
        args.extend(form);
        let o = sw(&backend, &args);
        assert_exit(&o, 3);
        assert!(started.elapsed() >= Duration::from_secs(2), "{form:?}");
        assert!(stderr(&o).contains(&id), "{}", stderr(&o));
        // Off a terminal, the wait is silent.
        assert!(!stderr(&o).contains("waiting for lock"), "{}", stderr(&o));
    }
    // `restore` takes -lock-timeout too, and checks the lock before asking:
    // without a terminal and without --yes it says "locked" (exit 3), not
    // "refusing without a terminal".
    let o = sw(&backend, &["restore", "latest", "-lock-timeout=0s"]);
    assert_exit(&o, 3);
    assert!(stderr(&o).contains(&id), "{}", stderr(&o));
    assert!(!stderr(&o).contains("--yes"), "{}", stderr(&o));
    // So does `digest repair` (a digest that does not match the object).
    wrong_digest(&backend);
    let o = sw(&backend, &["digest", "repair"]);
    assert_exit(&o, 3);
    assert!(stderr(&o).contains(&id), "{}", stderr(&o));
    let o = sw(&backend, &["lock", "release", &id, "--yes"]);
    assert_exit(&o, 0);
}

/// Regression (issue 15): on a terminal, a lock wait says who holds it and
/// for how long ("waiting for lock held by X (op, who) for 1s...").
#[test]
fn a_lock_wait_on_a_terminal_names_the_holder() {
    require_script();
    let backend = Backend::new("waitline");
    backend.put(&backend.key, NETWORK_STATE.as_bytes());
    let held = sw(&backend, &["lock", "acquire", "--format", "json"]);
    assert_exit(&held, 0);
    let id = json(&held)["id"].as_str().unwrap().to_owned();
    let inner = format!(
        "stateward lock acquire -lock-timeout=3s {}",
        quoted_flags(&backend)
    );
    let o = sh(&format!("script -qec {} /dev/null", sh_quote(&inner)));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("waiting for lock held by {id} (stateward-lock, ")),
        "{out}"
    );
    assert!(out.contains("for 1s..."), "{out}");
}

/// Regression (issue 15): every command stateward prints about locks and
/// the digest carries the targeting the user gave, shell-quoted (here a key
/// with a space in it), and runs as printed.
#[test]
fn every_printed_lock_and_digest_hint_runs_as_printed() {
    let mut backend = Backend::new("hints");
    backend.key = "platform/my state.tfstate".into();
    backend.put(&backend.key, NETWORK_STATE.as_bytes());

    // `lock acquire`: "Release with: ..." works.
    let o = sw(&backend, &["lock", "acquire"]);
    assert_exit(&o, 0);
    let release = printed_after(&stderr(&o), "Release with: ");
    assert!(release.contains("'platform/my state.tfstate'"), "{release}");
    assert_exit(&run_printed(&release, "--yes"), 0);
    assert_eq!(status_json(&backend)["locked"], false);

    // `lock status`: "If its holder is gone: ..." works.
    assert_exit(&sw(&backend, &["lock", "acquire"]), 0);
    let o = sw(&backend, &["lock", "status"]);
    assert_exit(&o, 3);
    let release = printed_after(&stdout(&o), "If its holder is gone: ");
    assert_exit(&run_printed(&release, "--yes"), 0);
    assert_eq!(status_json(&backend)["locked"], false);

    // `digest status` on a mismatch: "Fix: stateward digest repair ..." works.
    wrong_digest(&backend);
    let o = sw(&backend, &["digest", "status"]);
    assert_exit(&o, 2);
    let fix = printed_after(&stdout(&o), "Fix: ");
    assert!(fix.starts_with("stateward digest repair "), "{fix}");
    assert_exit(&run_printed(&fix, "--yes"), 0);
    assert_exit(&sw(&backend, &["digest", "status"]), 0);

    // Deleted: "Fix: stateward restore --last-good ..." works.
    backend.delete(&backend.key);
    let o = sw(&backend, &["digest", "status"]);
    assert_exit(&o, 2);
    let fix = printed_after(&stdout(&o), "Fix: ");
    assert!(fix.starts_with("stateward restore --last-good "), "{fix}");
    let o = run_printed(&fix, "--yes");
    assert_exit(&o, 0);
    assert_exit(&sw(&backend, &["digest", "status"]), 0);
    // Nothing to undo to (the state was deleted), but the way back works.
    let out = stdout(&o);
    assert!(out.contains("Nothing to undo to"), "{out}");
    let back = printed_after(&out, "is version ");
    let back = printed_after(&back, ": `");
    assert_exit(&run_printed(&back, "--yes"), 0);
}

/// `stateward ARGS BACKEND-FLAGS` on a pseudo-terminal (`script`), its
/// output read as it comes.
fn on_a_terminal(
    backend: &Backend,
    args: &[&str],
) -> (std::process::Child, std::sync::mpsc::Receiver<u8>) {
    require_script();
    let inner = format!("stateward {} {}", args.join(" "), quoted_flags(backend));
    let mut cmd = sh_cmd(&format!("script -qec {} /dev/null", sh_quote(&inner)));
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut b = [0u8; 1];
        while let Ok(1) = out.read(&mut b) {
            if tx.send(b[0]).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Reads `rx` until `needle` appears (30 s at most); returns what was read.
fn read_until(rx: &std::sync::mpsc::Receiver<u8>, needle: &str) -> String {
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains(needle) {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(b) => seen.push(b),
            Err(_) => panic!("no {needle:?} in: {}", String::from_utf8_lossy(&seen)),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// Regression (issue 15): on a terminal, a writing command checks the lock
/// before asking (nobody answers "y" to be told it is locked), and Ctrl-C at
/// the prompt cancels at once, exit 130, nothing changed.
#[test]
fn on_a_terminal_the_lock_comes_before_the_prompt_and_ctrl_c_at_it_exits_130() {
    let backend = Backend::new("ptyask");
    let v1 = backend.put(&backend.key, NETWORK_STATE.as_bytes());
    backend.put(
        &backend.key,
        NETWORK_STATE
            .replace("\"serial\": 1,", "\"serial\": 2,")
            .as_bytes(),
    );
    let held = sw(&backend, &["lock", "acquire", "--format", "json"]);
    assert_exit(&held, 0);
    let id = json(&held)["id"].as_str().unwrap().to_owned();

    // Locked: the holder, exit 3, and no question.
    let (child, rx) = on_a_terminal(&backend, &["restore", &v1]);
    let o = child.wait_with_output().unwrap();
    let text: String = String::from_utf8_lossy(&rx.iter().collect::<Vec<u8>>()).into_owned();
    assert_eq!(o.status.code(), Some(3), "{text}");
    assert!(text.contains(&id), "{text}");
    assert!(!text.contains("[y/N]"), "asked although locked: {text}");
    assert_exit(&sw(&backend, &["lock", "release", &id, "--yes"]), 0);

    // Free: it asks; Ctrl-C at the prompt exits 130 and writes nothing.
    let versions_before = json(&sw(&backend, &["versions", "--format", "json"]))["versions"]
        .as_array()
        .unwrap()
        .len();
    let (mut child, rx) = on_a_terminal(&backend, &["restore", &v1]);
    read_until(&rx, "[y/N]");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"\x03").unwrap();
        stdin.flush().unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("Ctrl-C at the prompt was ignored for 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(status.code(), Some(130));
    }
    let text: String = String::from_utf8_lossy(&rx.iter().collect::<Vec<u8>>()).into_owned();
    assert!(text.contains("cancelled (Ctrl-C)"), "{text}");
    let versions_after = json(&sw(&backend, &["versions", "--format", "json"]))["versions"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(versions_before, versions_after, "nothing written");
    assert_eq!(status_json(&backend)["locked"], false);
}

/// The in-memory twin answers as the adapters do against the emulator: the
/// same script of calls (versions, delete markers, ranged reads,
/// `If-None-Match`, a server-side copy, conditional item writes) gives the
/// same observations, version ids numbered by first appearance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_memory_twin_answers_as_the_adapters_do() {
    use stateward::aws::object::Versioning;
    use stateward::storage::memory::{MemoryBucket, MemoryTable};
    use stateward::storage::{LockItems, StateObjects};

    async fn script(b: &dyn StateObjects, t: &dyn LockItems) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        let mut id = |v: &str| match ids.iter().position(|x| x == v) {
            Some(i) => format!("v{i}"),
            None => {
                ids.push(v.to_owned());
                format!("v{}", ids.len() - 1)
            }
        };
        let mut out = Vec::new();
        let (k, lock, copy) = ("conform/a.tfstate", "conform/a.tfstate.tflock", "conform/b");
        out.push(format!("{:?}", b.versioning().await.unwrap()));
        let v1 = b
            .put(k, b"{\"serial\": 1}\n".to_vec(), false)
            .await
            .unwrap()
            .unwrap();
        out.push(id(&v1));
        let v2 = b
            .put(k, b"{\"serial\": 2}\n".to_vec(), false)
            .await
            .unwrap()
            .unwrap();
        out.push(id(&v2));
        let listing = |l: Vec<stateward::store::ObjectVersion>,
                       id: &mut dyn FnMut(&str) -> String| {
            l.iter()
                .map(|v| {
                    format!(
                        "{} size={} latest={} marker={} etag={:?}",
                        id(&v.version_id),
                        v.size,
                        v.is_latest,
                        v.delete_marker,
                        v.etag
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        out.push(listing(b.list_versions(k).await.unwrap(), &mut id));
        // Ranged and tail reads, by version.
        let f = b.get(k, Some(&v1), Some(4)).await.unwrap();
        out.push(format!(
            "{:?} {:?} {}",
            String::from_utf8_lossy(&f.bytes),
            f.total_size,
            id(f.version_id.as_deref().unwrap())
        ));
        let f = b.get_tail_checked(k, None, 3, None).await.unwrap();
        out.push(format!(
            "{:?} {:?}",
            String::from_utf8_lossy(&f.bytes),
            f.total_size
        ));
        // A delete marker: the key reads as absent, older versions stay.
        b.delete(k).await.unwrap();
        out.push(listing(b.list_versions(k).await.unwrap(), &mut id));
        out.push(format!(
            "{:?}",
            b.get(k, None, None).await.unwrap_err().kind
        ));
        let marker = b.list_versions(k).await.unwrap()[0].version_id.clone();
        b.delete_version(k, &marker).await.unwrap();
        out.push(String::from_utf8_lossy(&b.get(k, None, None).await.unwrap().bytes).into_owned());
        // A copy made by the store.
        let c = b.copy_version(k, &v1, copy).await.unwrap().unwrap();
        out.push(format!(
            "{} {:?}",
            id(&c),
            String::from_utf8_lossy(&b.get(copy, None, None).await.unwrap().bytes)
        ));
        // If-None-Match: *, before and after a delete marker.
        b.put(lock, b"ours".to_vec(), true).await.unwrap();
        out.push(format!(
            "{:?}",
            b.put(lock, b"theirs".to_vec(), true)
                .await
                .unwrap_err()
                .kind
        ));
        b.delete(lock).await.unwrap();
        out.push(format!(
            "{:?}",
            b.put(lock, b"next".to_vec(), true)
                .await
                .map(|v| v.is_some())
        ));
        out.push(format!(
            "{:?}",
            b.get(lock, None, None).await.unwrap().bytes
        ));
        // Conditional items.
        let i = "conform/a.tfstate";
        t.put_if_absent(i, "Info", "a").await.unwrap();
        out.push(format!(
            "{:?}",
            t.put_if_absent(i, "Info", "b").await.unwrap_err().kind
        ));
        out.push(format!("{:?}", t.get(i).await.unwrap()));
        out.push(format!(
            "{:?}",
            t.delete_if(i, "Info", "b").await.unwrap_err().kind
        ));
        t.delete_if(i, "Info", "a").await.unwrap();
        out.push(format!("{:?}", t.get(i).await.unwrap()));
        out.push(format!(
            "{:?}",
            t.delete_if(i, "Info", "a").await.map_err(|e| e.kind)
        ));
        t.put("conform/a-md5", "Digest", "x").await.unwrap();
        t.put("conform/a-md5", "Digest", "y").await.unwrap();
        out.push(format!("{:?}", t.get("conform/a-md5").await.unwrap()));
        t.delete("conform/a-md5").await.unwrap();
        out.push(format!(
            "{:?}",
            t.delete("conform/a-md5").await.map_err(|e| e.kind)
        ));
        out
    }

    let backend = Backend::new("conform");
    let ctx = backend.context(true, false);
    let target = ctx.target().unwrap();
    let aws = ctx.aws(&target).await.unwrap();
    let adapters = script(
        &aws.state_bucket(&target),
        &aws.table(target.dynamodb_table.as_deref().unwrap()),
    )
    .await;
    let twin = script(
        &MemoryBucket::new(&target.bucket, Versioning::Enabled),
        &MemoryTable::new("locks"),
    )
    .await;
    assert_eq!(twin, adapters);
}

/// Sets the digest item to an md5 that matches no version.
fn wrong_digest(backend: &Backend) {
    let digest_id = format!("{}/{}-md5", backend.bucket, backend.key);
    aws::put_item(
        &backend.table,
        &[
            ("LockID", &digest_id),
            ("Digest", "0123456789abcdef0123456789abcdef"),
        ],
    );
}
