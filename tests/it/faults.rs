//! Faults on the wire (issue 14): a loopback proxy in front of the emulator
//! (`support::TruncatingProxy` with fault rules) injects each class of fault
//! — lost responses after apply, 5xx and throttle bursts, resets mid-body,
//! short bodies with consistent framing, stalls, AccessDenied — and after
//! every faulted run the invariants are read directly from the emulator
//! (`Invariants::check`).

use std::process::Output;
use std::time::Duration;

use crate::support::faults::*;
use crate::support::*;

fn statuses(o: &Output) -> Vec<String> {
    json(o)["versions"]
        .as_array()
        .unwrap_or_else(|| panic!("no versions: {}", stdout(o)))
        .iter()
        .map(|v| v["status"].as_str().unwrap().to_owned())
        .collect()
}

/// Regression (issue 14 items 3 and 6): a body that stalled mid-way was
/// waited for in silence for as long as the stall lasted (the read timeout
/// only covered the headers). Now it is cut after `STATEWARD_READ_TIMEOUT`
/// without bytes and read again.
#[test]
fn a_body_stalled_midway_is_cut_by_the_read_timeout_and_read_again() {
    let backend = Backend::new("stallbody");
    backend.put(&backend.key, &network(1));
    backend.put(&backend.key, &network(2));
    let proxy = TruncatingProxy::faulty();
    let needle = format!("GET /{}/{}", backend.bucket, backend.key);
    proxy.fault(&needle, Fault::StallMidBody(Duration::from_secs(60)), 1);
    let (o, took) = run(&backend, &proxy, FAST, &["versions", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(proxy.injected().len(), 1, "the body stalled once");
    assert_eq!(statuses(&o), ["ok", "ok"], "{}", stdout(&o));
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

/// Regression (issue 14 item 6): a connection cut mid-body was reported as
/// "the AWS endpoint could not be reached" although it answered. Now it is
/// read again; cut every time, the error says the body was cut.
#[test]
fn a_connection_reset_midway_is_read_again_and_never_called_unreachable() {
    let backend = Backend::new("resetbody");
    backend.put(&backend.key, &network(1));
    backend.put(&backend.key, &network(2));
    let needle = format!("GET /{}/{}", backend.bucket, backend.key);
    let proxy = TruncatingProxy::faulty();
    proxy.fault(&needle, Fault::ResetMidBody, 2);
    let (o, _) = run(&backend, &proxy, FAST, &["versions", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(proxy.injected().len(), 2);
    assert_eq!(statuses(&o), ["ok", "ok"], "{}", stdout(&o));

    let proxy = TruncatingProxy::faulty();
    proxy.fault(&needle, Fault::ResetMidBody, usize::MAX);
    let (o, took) = run(&backend, &proxy, FAST, &["versions"]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(!err.contains("could not be reached"), "{err}");
    assert!(err.contains("transfer") || err.contains("cut"), "{err}");
    assert!(!err.contains("corrupt"), "{err}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// 5xx and throttling bursts on every call of a restore (the reads, the
/// write, the lock and digest items) are retried; the restore completes
/// within 30 s and every invariant holds. Regression: under the adaptive
/// retry mode two throttled lock writes alone took 26 s of rate-limiter
/// delay (79 s in all).
#[test]
fn bursts_of_5xx_and_throttling_are_retried_and_the_restore_completes() {
    let backend = damaged_history("bursts");
    let before = held(&backend);
    let proxy = TruncatingProxy::faulty();
    let object = format!("/{}/{}", backend.bucket, backend.key);
    proxy.fault(&format!("GET /{}", backend.bucket), Fault::SLOW_DOWN, 2);
    proxy.fault(&format!("PUT {object}"), Fault::INTERNAL, 1);
    proxy.fault("DynamoDB_20120810.PutItem", Fault::THROTTLED, 2);
    proxy.fault("DynamoDB_20120810.DeleteItem", Fault::THROTTLED, 1);
    let (o, took) = run(
        &backend,
        &proxy,
        FAST,
        &["restore", "--last-good", "--yes", "--no-live"],
    );
    assert_exit(&o, 0);
    assert_eq!(proxy.injected().len(), 6, "{:?}", proxy.injected());
    let after = held(&backend);
    let v = violations(
        &before,
        &after,
        Some(&network(2)),
        &o,
        took,
        Duration::from_secs(30),
    );
    assert!(v.is_empty(), "{v:#?}");
    assert_ne!(after.current, before.current, "restored");
    assert_eq!(
        after.digest.as_deref(),
        Some(md5_hex(&after.current).as_str())
    );
    assert!(!after.lock);
}

/// A response lost after the request was applied, at each write of a
/// restore (lock, state, digest, release): the invariants hold after each.
#[test]
fn a_lost_response_after_apply_at_each_write_leaves_state_digest_and_lock_consistent() {
    for (i, needle) in [
        "DynamoDB_20120810.PutItem",
        "PUT /",
        "DynamoDB_20120810.DeleteItem",
    ]
    .iter()
    .enumerate()
    {
        let backend = damaged_history(&format!("lost{i}"));
        let before = held(&backend);
        let proxy = TruncatingProxy::faulty();
        proxy.fault(needle, Fault::LoseResponse, 1);
        let (o, took) = run(
            &backend,
            &proxy,
            FAST,
            &["restore", "--last-good", "--yes", "--no-live"],
        );
        assert_eq!(
            proxy.injected().len(),
            1,
            "{needle}: {:?}",
            proxy.injected()
        );
        let after = held(&backend);
        let v = violations(
            &before,
            &after,
            Some(&network(2)),
            &o,
            took,
            Duration::from_secs(60),
        );
        assert!(v.is_empty(), "{needle}: {v:#?}\n{}", stderr(&o));
    }
}

/// Regression (issue 14 item 3): a request never answered hung until
/// killed. A stalled DynamoDB call is cut by the attempt timeout and
/// retried; a stalled S3 listing by the read timeout.
#[test]
fn stalled_responses_are_cut_by_their_timeouts_and_retried() {
    let backend = Backend::new("stalls");
    backend.put(&backend.key, &network(1));
    let proxy = TruncatingProxy::faulty();
    proxy.fault(
        "DynamoDB_20120810.GetItem",
        Fault::Stall(Duration::from_secs(60)),
        1,
    );
    let (o, took) = run(&backend, &proxy, FAST, &["lock", "status"]);
    assert_exit(&o, 0);
    assert_eq!(proxy.injected().len(), 1);
    assert!(took < Duration::from_secs(20), "lock status took {took:?}");

    let proxy = TruncatingProxy::faulty();
    proxy.fault("?versions", Fault::Stall(Duration::from_secs(60)), 1);
    let (o, took) = run(&backend, &proxy, FAST, &["versions"]);
    assert_exit(&o, 0);
    assert_eq!(proxy.injected().len(), 1);
    assert!(took < Duration::from_secs(20), "versions took {took:?}");
}

/// A state with one S3 bucket that exists (the backend's own bucket).
fn bucket_state(bucket: &str) -> Vec<u8> {
    format!(
        r#"{{"version": 4, "terraform_version": "1.5.7", "serial": 1, "lineage": "drift-faults", "outputs": {{}},
  "resources": [{{"mode": "managed", "type": "aws_s3_bucket", "name": "b",
    "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
    "instances": [{{"schema_version": 0, "attributes": {{"id": "{bucket}", "bucket": "{bucket}", "arn": "arn:aws:s3:::{bucket}", "region": "{REGION}"}}}}]}}]}}"#
    )
    .into_bytes()
}

/// Regression (issue 14 item 6): persistent throttling gave 80-92 s of
/// silence in `drift` before any output. A type throttled past its retry
/// budget (`STATEWARD_TYPE_TIMEOUT`) is reported as not checked with cause
/// `throttled`, and the result is incomplete (exit 1), well within the
/// budget plus the rest of the run. AccessDenied on the same calls gives
/// cause `error`.
#[test]
fn drift_reports_a_type_throttled_past_its_budget_and_one_denied_as_not_checked() {
    let backend = Backend::new("driftfaults");
    backend.put(&backend.key, &bucket_state(&backend.bucket));
    let proxy = TruncatingProxy::faulty();
    let (o, _) = run(&backend, &proxy, FAST, &["drift", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["summary"]["checked"], 1, "{}", stdout(&o));

    for (fault, cause) in [(Fault::SLOW_DOWN, "throttled"), (Fault::DENIED, "error")] {
        let proxy = TruncatingProxy::faulty();
        // The bucket is checked through ListBuckets (and the tag index).
        proxy.fault("x-id=ListBuckets", fault, usize::MAX);
        let (o, took) = run(&backend, &proxy, FAST, &["drift", "--format", "json"]);
        assert_exit(&o, 1);
        let doc = json(&o);
        assert_schema("drift", &doc);
        let nc = doc["not_checked"].as_array().unwrap();
        assert_eq!(nc.len(), 1, "{doc:#}");
        assert_eq!(nc[0]["cause"], cause, "{doc:#}");
        assert_eq!(doc["summary"]["complete"], false);
        assert!(
            took < Duration::from_secs(30),
            "{cause}: drift took {took:?}"
        );
    }
}

/// AccessDenied on the state's listing: one sentence, exit 1, nothing written.
#[test]
fn access_denied_on_the_state_is_one_sentence_and_writes_nothing() {
    let backend = damaged_history("denied");
    let before = held(&backend);
    let proxy = TruncatingProxy::faulty();
    proxy.fault("?versions", Fault::DENIED, usize::MAX);
    let (o, took) = run(
        &backend,
        &proxy,
        FAST,
        &["restore", "--last-good", "--yes", "--no-live"],
    );
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(err.to_lowercase().contains("denied"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let after = held(&backend);
    assert_eq!(after, before);
    assert!(violations(&before, &after, None, &o, took, Duration::from_secs(30)).is_empty());
}

/// Issue 14 item 6: throttling is shown as it happens. A family AWS keeps
/// throttling shows, on a terminal, what the scan waits for and how many
/// times AWS has asked to slow down so far, before the type is given up.
#[test]
fn throttling_is_shown_live_on_a_terminal() {
    let backend = Backend::new("throttlelive");
    backend.put(&backend.key, &bucket_state(&backend.bucket));
    let proxy = TruncatingProxy::faulty();
    proxy.fault("x-id=ListBuckets", Fault::SLOW_DOWN, usize::MAX);
    let line = std::iter::once(env!("CARGO_BIN_EXE_stateward").to_owned())
        .chain(["drift".to_owned()])
        .chain(backend.flags_via(&proxy.url()))
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = std::process::Command::new("script");
    aws_env(&mut cmd)
        .args(["-qec", &line, "/dev/null"])
        .envs(FAST.iter().copied())
        .env("STATEWARD_TYPE_TIMEOUT", "8s")
        .env("STATEWARD_CACHE_MAX", "0")
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null());
    let o = cmd.output().expect("run script (util-linux)");
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(
        shown.contains("waiting for AWS to answer"),
        "no wait shown: {shown}"
    );
    assert!(
        shown.contains("AWS has throttled") && shown.contains("times so far"),
        "throttling not shown live: {shown}"
    );
    assert!(shown.contains("throttled"), "{shown}");
}

/// Issue 14: SIGINT at each step of a restore, delivered on the wire's
/// clock: the step's request is held at the proxy (then forwarded, as a
/// request already sent is applied by AWS), and Ctrl-C arrives while it is
/// in flight. After each, the invariants hold: the state is unchanged or
/// the intended restore, the digest matches or the command said how to fix
/// it, no lock is left unless the command said how to release it; the run
/// exits 130 unless the restore had already been made, and it never runs
/// on until killed.
#[test]
fn ctrl_c_in_flight_at_each_step_of_a_restore_keeps_the_invariants() {
    const HELD: Duration = Duration::from_millis(2000);
    // (step, request needle, which matching request: 0 = the first).
    let steps: &[(&str, &str, usize)] = &[
        ("listing", "?versions", 0),
        ("body read", "x-id=GetObject", 0),
        ("lock acquire", "DynamoDB_20120810.PutItem", 0),
        ("state write", "x-id=PutObject", 0),
        ("digest write", "DynamoDB_20120810.PutItem", 1),
        ("lock release", "DynamoDB_20120810.DeleteItem", 0),
    ];
    for (i, &(step, needle, nth)) in steps.iter().enumerate() {
        let backend = damaged_history(&format!("sigint{i}"));
        let before = held(&backend);
        let proxy = TruncatingProxy::faulty();
        for _ in 0..nth {
            proxy.fault(needle, Fault::Stall(Duration::ZERO), 1);
        }
        proxy.fault(needle, Fault::Stall(HELD), 1);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stateward"));
        aws_env(&mut cmd)
            .env("STATEWARD_CACHE_MAX", "0")
            .env("STATEWARD_READ_TIMEOUT", "10s")
            .env("STATEWARD_ATTEMPT_TIMEOUT", "10s")
            .env("STATEWARD_OPERATION_TIMEOUT", "30s")
            .args(["restore", "--last-good", "--yes", "--no-live"])
            .args(backend.flags_via(&proxy.url()))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let started = std::time::Instant::now();
        let child = cmd.spawn().unwrap();
        let deadline = started + Duration::from_secs(60);
        while !proxy
            .injected()
            .iter()
            .any(|(_, f)| *f == Fault::Stall(HELD))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{step}: the request never came: {:?}",
                proxy
                    .requests()
                    .iter()
                    .map(|r| r[0].clone())
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sigint(&child);
        let o = child.wait_with_output().unwrap();
        let took = started.elapsed();
        // The held request is applied when the proxy lets it go: read what
        // the emulator holds only after that.
        proxy.wait_settled();
        let after = held(&backend);
        let v = violations(
            &before,
            &after,
            Some(&network(2)),
            &o,
            took,
            Duration::from_secs(45),
        );
        assert!(v.is_empty(), "{step}: {v:#?}\n{}", stderr(&o));
        let restored = after.current != before.current;
        match o.status.code() {
            Some(130) => {}
            Some(0) => assert!(restored, "{step}: exit 0 without the restore"),
            other => panic!("{step}: exit {other:?}: {}", stderr(&o)),
        }
        if !restored {
            assert!(
                !after.lock,
                "{step}: a lock was left although nothing was written: {}",
                stderr(&o)
            );
        }
    }
}
