//! A seeded randomized soak (issue 14): short runs of `restore --last-good`,
//! `lock acquire`/`lock release`, `versions` and `drift` through the fault
//! proxy with random faults of every class, the invariants read from the
//! emulator after each run.
//!
//! Bounded for CI (`STATEWARD_SOAK_RUNS`, default 200 runs, and
//! `STATEWARD_SOAK_SECONDS`, default 90 s, whichever ends first); set them
//! higher for a longer soak, and `STATEWARD_SOAK_SEED` to replay one. The
//! figures are printed at the end (`--nocapture`) and in README's
//! reliability section.

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::faults::*;
use crate::support::*;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs stateward through the proxy, killed at `limit` (a violation then).
fn bounded(
    backend: &Backend,
    proxy: &TruncatingProxy,
    args: &[&str],
    limit: Duration,
) -> (Output, Duration, bool) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stateward"));
    aws_env(&mut cmd)
        .envs(FAST.iter().copied())
        // No version cache: every read must cross the faulty wire.
        .env("STATEWARD_CACHE_MAX", "0")
        .args(args)
        .args(backend.flags_via(&proxy.url()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut killed = false;
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    (o, started.elapsed(), killed)
}

/// Whether the state's lock is held (read directly, not through the proxy).
fn locked(backend: &Backend) -> bool {
    let mut args = vec![
        "lock".to_string(),
        "status".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(backend.flags());
    json(&stateward(args))["locked"] == true
}

/// Removes the lock item directly (between runs, after a command said how).
fn unlock(backend: &Backend) {
    aws::delete_item(
        &backend.table,
        &format!("{}/{}", backend.bucket, backend.key),
    );
}

/// A tiny seeded generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % n
    }
}

#[test]
fn soak_random_faults_never_break_an_invariant() {
    let seed = env_or("STATEWARD_SOAK_SEED", 14);
    let max_runs = env_or("STATEWARD_SOAK_RUNS", 200);
    let budget = Duration::from_secs(env_or("STATEWARD_SOAK_SECONDS", 90));
    let limit = Duration::from_secs(60);
    let mut rng = Rng(seed.max(1));
    let backend = damaged_history("soak");
    // The damaged versions, known before any fault.
    let mut args = vec!["versions".to_string(), "--format".into(), "json".into()];
    args.extend(backend.flags());
    let o = stateward(args);
    assert_exit(&o, 0);
    let mut garbage: Vec<String> = json(&o)["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["status"] != "ok")
        .map(|v| v["version_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(garbage.len(), 1);
    let proxy = TruncatingProxy::faulty();
    let stall = Duration::from_millis(1500);
    proxy.random_faults(
        seed,
        12,
        &[
            ("", Fault::SLOW_DOWN),
            ("", Fault::INTERNAL),
            ("DynamoDB", Fault::THROTTLED),
            ("PUT /", Fault::LoseResponse),
            ("DynamoDB_20120810.PutItem", Fault::LoseResponse),
            ("DynamoDB_20120810.DeleteItem", Fault::LoseResponse),
            ("GET /", Fault::ResetMidBody),
            ("GET /", Fault::ShortBody),
            ("GET /", Fault::StallMidBody(stall)),
            ("", Fault::Stall(stall)),
        ],
    );
    let started = Instant::now();
    let mut runs: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut violations_seen: Vec<String> = Vec::new();
    let mut n = 0;
    let mut faults = 0;
    let mut last: Option<Held> = None;
    while n < max_runs && started.elapsed() < budget {
        n += 1;
        let which = ["restore", "lock", "versions", "drift"][rng.below(4) as usize];
        proxy.reset_injected();
        let mut v: Vec<String> = Vec::new();
        let ok;
        match which {
            "restore" => {
                // A damaged current version to restore over (unless one is).
                if last.as_ref().is_none_or(|h| h.current != GARBAGE) {
                    garbage.push(damage(&backend));
                    last = None;
                }
                let before = last.take().unwrap_or_else(|| held(&backend));
                let (o, took, killed) = bounded(
                    &backend,
                    &proxy,
                    &["restore", "--last-good", "--yes", "--no-live"],
                    limit,
                );
                let after = held(&backend);
                faults += proxy.injected().len();
                v.extend(violations(
                    &before,
                    &after,
                    Some(&network(2)),
                    &o,
                    took,
                    limit,
                ));
                if killed {
                    v.push("killed at the limit".into());
                }
                ok = o.status.success();
                // Leave no lock for the next run when the command said how
                // to release it (it is then not a violation).
                if after.lock {
                    unlock(&backend);
                    last = None;
                } else {
                    last = Some(after);
                }
            }
            "lock" => {
                let (o, took, killed) = bounded(
                    &backend,
                    &proxy,
                    &["lock", "acquire", "--format", "json"],
                    limit,
                );
                if killed || took > limit {
                    v.push(format!("lock acquire ran {took:?}"));
                }
                let acquired = o.status.success();
                let mut released = !acquired;
                if acquired {
                    let id = json(&o)["id"].as_str().unwrap_or_default().to_owned();
                    let (r, took, killed) =
                        bounded(&backend, &proxy, &["lock", "release", &id, "--yes"], limit);
                    if killed || took > limit {
                        v.push(format!("lock release ran {took:?}"));
                    }
                    released = r.status.success();
                    if released && locked(&backend) {
                        v.push("lock release exited 0 but the lock is still there".into());
                    }
                    if !released && !stderr(&r).contains("lock release") {
                        v.push(format!(
                            "lock release failed without saying how to release: {}",
                            stderr(&r)
                        ));
                    }
                } else {
                    if locked(&backend) && !stderr(&o).contains("lock release") {
                        v.push(format!(
                            "a failed acquire left a lock and did not say how to release it: {}",
                            stderr(&o)
                        ));
                    }
                }
                ok = acquired && released;
                faults += proxy.injected().len();
                if locked(&backend) {
                    unlock(&backend);
                }
            }
            "versions" => {
                let (o, took, killed) =
                    bounded(&backend, &proxy, &["versions", "--format", "json"], limit);
                if killed || took > limit {
                    v.push(format!("versions ran {took:?}"));
                }
                ok = o.status.success();
                faults += proxy.injected().len();
                if ok {
                    for ver in json(&o)["versions"].as_array().unwrap() {
                        let id = ver["version_id"].as_str().unwrap_or_default();
                        let bad = garbage.iter().any(|g| g == id);
                        let status = ver["status"].as_str().unwrap_or_default();
                        if !bad && status != "ok" {
                            v.push(format!("a healthy version was called {status}: {ver}"));
                        }
                    }
                }
            }
            _ => {
                let (o, took, killed) = bounded(&backend, &proxy, &["drift"], limit);
                if killed || took > limit {
                    v.push(format!("drift ran {took:?}"));
                }
                ok = o.status.success();
                faults += proxy.injected().len();
                if stderr(&o).contains("panicked") {
                    v.push(format!("a panic: {}", stderr(&o)));
                }
            }
        }
        let e = runs.entry(which).or_default();
        e.0 += 1;
        if ok {
            e.1 += 1;
        }
        for x in v {
            violations_seen.push(format!(
                "run {n} ({which}, faults {:?}): {x}",
                proxy.injected()
            ));
        }
    }
    let report: Vec<String> = runs
        .iter()
        .map(|(k, (all, ok))| format!("{k}: {all} runs, {ok} exit 0"))
        .collect();
    eprintln!(
        "soak seed {seed}: {n} runs in {:.0?} ({}); {faults} faults injected; {} invariant violations",
        started.elapsed(),
        report.join("; "),
        violations_seen.len()
    );
    assert!(n >= 20, "the soak ran only {n} runs");
    assert!(
        violations_seen.is_empty(),
        "{} violations:\n{}",
        violations_seen.len(),
        violations_seen.join("\n")
    );
}
