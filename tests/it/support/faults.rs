//! What the fault tests (`tests/faults.rs`, `tests/soak.rs`) share: a
//! damaged history, runs through the fault proxy with short limits, what the
//! emulator holds, and the invariants of issue 14.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use md5::Digest;

use super::*;

/// A state that is not JSON: what `restore --last-good` replaces.
pub const GARBAGE: &[u8] = b"{\"version\": 4, \"serial\": 9, \"lineage\": \"network-li";

/// A small state of `serial`, lineage `network-lineage`, no resources.
pub fn network(serial: u64) -> Vec<u8> {
    NETWORK_STATE
        .replace("\"serial\": 1,", &format!("\"serial\": {serial},"))
        .into_bytes()
}

/// Runs stateward through `proxy` with `env`; returns the output and how long it ran.
pub fn run(
    backend: &Backend,
    proxy: &TruncatingProxy,
    env: &[(&str, &str)],
    args: &[&str],
) -> (Output, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stateward"));
    aws_env(&mut cmd)
        .envs(env.iter().copied())
        // No version cache: every read must cross the faulty wire.
        .env("STATEWARD_CACHE_MAX", "0")
        .args(args)
        .args(backend.flags_via(&proxy.url()))
        .stdin(Stdio::null());
    let started = Instant::now();
    let o = cmd.output().unwrap();
    (o, started.elapsed())
}

/// Short limits so a fault costs seconds, not minutes.
pub const FAST: &[(&str, &str)] = &[
    ("STATEWARD_READ_TIMEOUT", "1s"),
    ("STATEWARD_ATTEMPT_TIMEOUT", "2s"),
    ("STATEWARD_OPERATION_TIMEOUT", "20s"),
    ("STATEWARD_TYPE_TIMEOUT", "3s"),
];

/// What the emulator holds for one state, read directly (through the SDK).
#[derive(Debug, PartialEq)]
pub struct Held {
    /// The current version's body.
    pub current: Vec<u8>,
    pub versions: usize,
    /// The digest item's md5, if any.
    pub digest: Option<String>,
    pub lock: bool,
}

pub fn held(backend: &Backend) -> Held {
    let current = aws::get_object(&backend.bucket, &backend.key, None);
    let versions = aws::list_versions(&backend.bucket, &backend.key)
        .iter()
        .filter(|v| !v.marker && v.key == backend.key)
        .count();
    let digest_id = format!("{}/{}-md5", backend.bucket, backend.key);
    let digest = aws::get_item(&backend.table, &digest_id).and_then(|i| i.get("Digest").cloned());
    let lock = aws::get_item(
        &backend.table,
        &format!("{}/{}", backend.bucket, backend.key),
    )
    .is_some();
    Held {
        current,
        versions,
        digest,
        lock,
    }
}

pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest as _, Md5};
    hex::encode(Md5::digest(bytes))
}

/// The state JSON without its serial (what a restore keeps of its source).
pub fn without_serial(bytes: &[u8]) -> Option<serde_json::Value> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.as_object_mut()?.remove("serial");
    Some(v)
}

/// The invariants of issue 14, checked after a faulted run from what the
/// emulator holds: the current state is unchanged or the intended restore;
/// the digest matches it or the command said how to fix it; no lock is left
/// unless the command said how to release it; the run ended within `limit`.
/// Returns the violations (empty: none).
pub fn violations(
    before: &Held,
    after: &Held,
    intended: Option<&[u8]>,
    o: &Output,
    took: Duration,
    limit: Duration,
) -> Vec<String> {
    let mut v = Vec::new();
    let err = stderr(o);
    let unchanged = after.current == before.current;
    let restored = intended.is_some_and(|want| {
        without_serial(&after.current).is_some()
            && without_serial(&after.current) == without_serial(want)
    });
    if !unchanged && !restored {
        v.push(format!(
            "the current state is neither unchanged nor the intended restore: {}",
            String::from_utf8_lossy(&after.current)
        ));
    }
    if let Some(d) = &after.digest {
        if *d != md5_hex(&after.current) && !err.contains("digest repair") {
            v.push(format!(
                "the digest {d} does not match and nothing said how to fix it: {err}"
            ));
        }
    }
    if after.lock && !err.contains("lock release") {
        v.push(format!(
            "a lock was left and nothing said how to release it: {err}"
        ));
    }
    if err.contains("panicked") {
        v.push(format!("a panic: {err}"));
    }
    if took > limit {
        v.push(format!("ran {took:?}, longer than {limit:?}"));
    }
    if o.status.code() == Some(0) && !unchanged && !restored {
        v.push("exit 0 with a state other than the intended".into());
    }
    v
}

/// A history whose current version is damaged: `restore --last-good` puts
/// back `network(2)` (with a higher serial).
pub fn damaged_history(name: &str) -> Backend {
    let backend = Backend::new(name);
    backend.put(&backend.key, &network(1));
    backend.put(&backend.key, &network(2));
    backend.put(&backend.key, GARBAGE);
    backend
}

/// Puts a damaged version over the current one, as a crash mid-write of a
/// client that kept no digest would, with the digest item made to match it
/// (so the digest invariant judges only stateward); returns its version id.
pub fn damage(backend: &Backend) -> String {
    let version = backend.put(&backend.key, GARBAGE);
    let digest_id = format!("{}/{}-md5", backend.bucket, backend.key);
    let md5 = format!("{:x}", md5::Md5::digest(GARBAGE));
    aws::put_item(&backend.table, &[("LockID", &digest_id), ("Digest", &md5)]);
    version
}
