//! Long histories (issue #16): the `versions` window, the tail check of
//! `--header-only`, and the local version cache, against the emulator.

use std::path::Path;
use std::process::Output;

use crate::support::*;

const LINEAGE: &str = "5d2b2f4e-7f0c-4c39-9d5e-1c0a7b1e9a11";

/// A v4 state of `resources` resources (each with a padded attribute so the
/// document is larger than the 4 KiB header read).
fn state(serial: u64, resources: usize) -> Vec<u8> {
    let res: Vec<serde_json::Value> = (0..resources)
        .map(|i| {
            serde_json::json!({
                "mode": "managed",
                "type": "aws_sqs_queue",
                "name": format!("q{i}"),
                "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{"schema_version": 0, "attributes": {"id": format!("q{i}"), "pad": "x".repeat(300)}}]
            })
        })
        .collect();
    // In Terraform's key order: the header fields first.
    let mut text = format!(
        "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.9.5\",\n  \"serial\": {serial},\n  \"lineage\": \"{LINEAGE}\",\n  \"outputs\": {{}},\n  \"resources\": {}\n}}",
        serde_json::to_string_pretty(&res).unwrap()
    )
    .into_bytes();
    text.push(b'\n');
    text
}

/// Uploads `bodies` in order (oldest first), 10 ms apart.
fn put_all(backend: &Backend, bodies: &[Vec<u8>]) {
    for b in bodies {
        aws::put_object(&backend.bucket, &backend.key, b);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn sw(backend: &Backend, cache: &Path, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(backend.flags());
    let mut cmd = stateward_cmd(&root(), all);
    cmd.env("STATEWARD_CACHE_DIR", cache)
        .env("STATEWARD_API_STATS", "1");
    cmd.output().unwrap()
}

#[test]
fn versions_shows_the_newest_twenty_and_says_how_many_more() {
    let backend = Backend::new("hwin");
    let bodies: Vec<Vec<u8>> = (1..=25).map(|s| state(s, 3)).collect();
    put_all(&backend, &bodies);
    let cache = tempfile::tempdir().unwrap();
    let o = sw(
        &backend,
        cache.path(),
        &["versions", "--format", "json", "--no-cache"],
    );
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("versions", &doc);
    assert_eq!(doc["versions"].as_array().unwrap().len(), 20);
    assert_eq!(doc["total_versions"], 25);
    assert_eq!(doc["versions"][0]["serial"], 25);
    assert_eq!(doc["versions"][19]["status"], "ok");
    // Only the window is downloaded whole (20 shown + 1 neighbour), the
    // other context versions by their first bytes.
    let body = bodies[0].len() as u64;
    let downloaded = doc["downloaded_bytes"].as_u64().unwrap();
    assert!(downloaded <= 21 * body + 9 * 4096, "{downloaded}");
    let o = sw(&backend, cache.path(), &["versions", "--no-cache"]);
    assert!(
        stdout(&o).contains("20 of 25 versions shown (* = current); 5 older not shown"),
        "{}",
        stdout(&o)
    );
    let o = sw(
        &backend,
        cache.path(),
        &["versions", "--all", "--format", "json", "--no-cache"],
    );
    assert_eq!(json(&o)["versions"].as_array().unwrap().len(), 25);
    let o = sw(
        &backend,
        cache.path(),
        &["versions", "--limit", "3", "--format", "json"],
    );
    assert_eq!(json(&o)["versions"].as_array().unwrap().len(), 3);
}

#[test]
fn header_only_calls_a_truncated_current_version_corrupt() {
    let backend = Backend::new("htail");
    let good = state(1, 40);
    let mut cut = state(2, 40);
    cut.truncate(cut.len() * 2 / 3);
    put_all(&backend, &[good, cut]);
    let cache = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        // The second run answers from the cache: still corrupt.
        let o = sw(
            &backend,
            cache.path(),
            &["versions", "--header-only", "--format", "json"],
        );
        assert_exit(&o, 0);
        let doc = json(&o);
        assert_eq!(doc["versions"][0]["status"], "corrupt", "{doc:#}");
        assert_eq!(doc["versions"][1]["status"], "ok", "{doc:#}");
        assert!(doc["versions"][0]["problems"][0]
            .as_str()
            .unwrap()
            .contains("truncated"));
    }
}

#[test]
fn a_second_run_downloads_no_body_and_no_cache_does() {
    let backend = Backend::new("hcache");
    let bodies: Vec<Vec<u8>> = (1..=6).map(|s| state(s, 20)).collect();
    put_all(&backend, &bodies);
    let cache = tempfile::tempdir().unwrap();
    let first = sw(&backend, cache.path(), &["versions", "--format", "json"]);
    assert_exit(&first, 0);
    let second = sw(&backend, cache.path(), &["versions", "--format", "json"]);
    assert_exit(&second, 0);
    assert!(json(&first)["downloaded_bytes"].as_u64().unwrap() > 0);
    assert_eq!(json(&second)["downloaded_bytes"], 0);
    assert_eq!(json(&first)["versions"], json(&second)["versions"]);
    // The listing only.
    assert_eq!(api_requests(&second), 1, "{}", stderr(&second));
    assert!(api_requests(&first) > 6);
    // show and serial:N read from the cache too.
    let o = sw(
        &backend,
        cache.path(),
        &["show", "serial:3", "--format", "json"],
    );
    assert_exit(&o, 0);
    assert_eq!(json(&o)["serial"], 3);
    assert_eq!(api_requests(&o), 1, "{}", stderr(&o));
    // --no-cache reads everything again and leaves the cache alone.
    let before = sw(
        &backend,
        cache.path(),
        &["cache", "info", "--format", "json"],
    );
    let n = sw(
        &backend,
        cache.path(),
        &["versions", "--format", "json", "--no-cache"],
    );
    assert!(json(&n)["downloaded_bytes"].as_u64().unwrap() > 0);
    let after = sw(
        &backend,
        cache.path(),
        &["cache", "info", "--format", "json"],
    );
    assert_eq!(json(&before), json(&after));
    assert_eq!(json(&after)["bodies"], 6);
    // clear empties it.
    let o = sw(&backend, cache.path(), &["cache", "clear"]);
    assert_exit(&o, 0);
    let info = sw(
        &backend,
        cache.path(),
        &["cache", "info", "--format", "json"],
    );
    assert_eq!(json(&info)["versions"], 0);
}

#[test]
fn a_tampered_cache_entry_is_detected_and_read_again() {
    let backend = Backend::new("htamper");
    let bodies: Vec<Vec<u8>> = (1..=3).map(|s| state(s, 10)).collect();
    put_all(&backend, &bodies);
    let cache = tempfile::tempdir().unwrap();
    assert_exit(
        &sw(&backend, cache.path(), &["show", "--format", "json"]),
        0,
    );
    // Change the cached body (same length; its facts untouched).
    let dir = cache.path().join("v1");
    let mut changed = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "body") {
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(&p, text.replacen("\"serial\": 3", "\"serial\": 9", 1)).unwrap();
            changed += 1;
        }
    }
    assert_eq!(changed, 1);
    let o = sw(&backend, cache.path(), &["show", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["serial"], 3, "the tampered copy was not used");
    // Read from S3 again (listing + the body).
    assert!(api_requests(&o) >= 2, "{}", stderr(&o));
    let v = sw(&backend, cache.path(), &["versions", "--format", "json"]);
    assert_eq!(json(&v)["versions"][0]["serial"], 3);
}

#[test]
fn eviction_keeps_the_cache_within_its_bound() {
    let backend = Backend::new("hevict");
    let bodies: Vec<Vec<u8>> = (1..=5).map(|s| state(s, 20)).collect();
    let one = bodies[0].len() as u64;
    put_all(&backend, &bodies);
    let cache = tempfile::tempdir().unwrap();
    let bound = one * 2 + 4096;
    let mut all: Vec<String> = ["versions", "--format", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    all.extend(backend.flags());
    let mut cmd = stateward_cmd(&root(), all);
    cmd.env("STATEWARD_CACHE_DIR", cache.path())
        .env("STATEWARD_CACHE_MAX", bound.to_string());
    let o = cmd.output().unwrap();
    assert_exit(&o, 0);
    let info = sw(
        &backend,
        cache.path(),
        &["cache", "info", "--format", "json"],
    );
    let info = json(&info);
    assert!(info["bytes"].as_u64().unwrap() <= bound, "{info:#}");
    assert!(info["bodies"].as_u64().unwrap() <= 2, "{info:#}");
}

#[test]
fn the_environment_file_bounds_the_cache_and_an_unreadable_bound_is_an_error() {
    let backend = Backend::new("hbound");
    let bodies: Vec<Vec<u8>> = (1..=5).map(|s| state(s, 20)).collect();
    let one = bodies[0].len() as u64;
    put_all(&backend, &bodies);
    let cache = tempfile::tempdir().unwrap();
    let bound = one * 2 + 4096;
    let env_file = cache.path().join("bench.hcl");
    std::fs::write(
        &env_file,
        format!(
            "backend {{\n  bucket = {:?}\n  key = {:?}\n}}\ncache {{\n  max_size = \"{bound}\"\n}}\n",
            backend.bucket, backend.key
        ),
    )
    .unwrap();
    let dir = cache.path().join("c");
    let run = |max: &str, extra: &[&str]| {
        let mut all: Vec<String> = ["versions", "--format", "json"]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect();
        all.extend(backend.flags());
        let mut cmd = stateward_cmd(&root(), all);
        cmd.env("STATEWARD_CACHE_DIR", &dir)
            .env("STATEWARD_CACHE_MAX", max);
        cmd.output().unwrap()
    };
    // The file's bound wins over the variable (which would turn it off).
    let env_arg = env_file.display().to_string();
    let o = run("0", &["--env", &env_arg]);
    assert_exit(&o, 0);
    let info = json(&sw(&backend, &dir, &["cache", "info", "--format", "json"]));
    assert!(info["bodies"].as_u64().unwrap() >= 1, "{info:#}");
    assert!(info["bytes"].as_u64().unwrap() <= bound, "{info:#}");
    // An unreadable bound is one sentence naming the variable, exit 1.
    let o = run("lots", &[]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("invalid cache size \"lots\" (from STATEWARD_CACHE_MAX)")
            && err.contains("\"4GB\""),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Whole-object GETs of `key` a recording proxy saw (no `Range` header),
/// as the version id asked for (`None`: the current object).
fn whole_reads(proxy: &TruncatingProxy, backend: &Backend) -> Vec<Option<String>> {
    let path = format!("/{}/{}", backend.bucket, backend.key);
    proxy
        .requests()
        .into_iter()
        .filter_map(|head| {
            let mut parts = head[0].split_whitespace();
            let (method, target) = (parts.next()?, parts.next()?);
            let (p, query) = target.split_once('?').unwrap_or((target, ""));
            let ranged = head
                .iter()
                .skip(1)
                .any(|l| l.to_ascii_lowercase().starts_with("range:"));
            (method == "GET" && p == path && !ranged && !query.contains("versions")).then(|| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("versionId="))
                    .map(str::to_owned)
            })
        })
        .collect()
}

#[test]
fn doctor_reads_the_newest_version_whole_once() {
    let backend = Backend::new("hdoctor");
    let bodies: Vec<Vec<u8>> = (1..=6).map(|s| state(s, 20)).collect();
    put_all(&backend, &bodies);
    let cache = tempfile::tempdir().unwrap();
    let listed = sw(
        &backend,
        cache.path(),
        &[
            "versions",
            "--header-only",
            "--format",
            "json",
            "--no-cache",
        ],
    );
    let newest = json(&listed)["versions"][0]["version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let proxy = TruncatingProxy::recording();
    let mut args: Vec<String> = ["doctor", "--format", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(backend.flags_via(&proxy.url()));
    let mut cmd = stateward_cmd(&root(), args);
    cmd.env("STATEWARD_CACHE_DIR", cache.path())
        .env("STATEWARD_API_STATS", "1");
    let o = cmd.output().unwrap();
    assert!(matches!(o.status.code(), Some(0 | 2)), "{}", stderr(&o));
    let doc = json(&o);
    let check = |id: &str| {
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no check {id}: {doc:#}"))
            .clone()
    };
    assert_eq!(check("latest-state")["status"], "pass", "{doc:#}");
    let reads = whole_reads(&proxy, &backend);
    let of_newest = reads
        .iter()
        .filter(|v| v.is_none() || v.as_deref() == Some(newest.as_str()))
        .count();
    // Its health, the digest check and the RDS/EKS checks share one read;
    // beyond it only the next older version (the shrink check).
    assert_eq!(of_newest, 1, "{reads:?}");
    assert!(reads.len() <= 2, "{reads:?}");
    assert!(api_requests(&o) < 20, "{}", stderr(&o));
}

/// `restore --last-good --dry-run --no-live --format json`.
const RESTORE_LAST_GOOD: [&str; 6] = [
    "restore",
    "--last-good",
    "--dry-run",
    "--no-live",
    "--format",
    "json",
];

/// A history of `n` versions (serials 1..=n, `resources` each) whose newest
/// is cut short, and [`RESTORE_LAST_GOOD`] run on it (exit 0) with its own
/// version cache, which is returned for a second run.
fn restore_a_cut_history(
    name: &str,
    n: u64,
    resources: usize,
) -> (Backend, tempfile::TempDir, Output) {
    let backend = Backend::new(name);
    let mut bodies: Vec<Vec<u8>> = (1..=n).map(|s| state(s, resources)).collect();
    let last = bodies.last_mut().unwrap();
    last.truncate(last.len() / 2);
    put_all(&backend, &bodies);
    let cache = tempfile::tempdir().unwrap();
    let o = sw(&backend, cache.path(), &RESTORE_LAST_GOOD);
    assert_exit(&o, 0);
    (backend, cache, o)
}

#[test]
fn restore_last_good_stops_reading_headers_once_the_choice_is_certain() {
    // 100 versions, serials 1..=100; the newest is cut short.
    let (backend, cache, o) = restore_a_cut_history("hsettle", 100, 3);
    let doc = json(&o);
    // The second newest (serial 99) is chosen, rolled forward past 100.
    assert_eq!(doc["passed_over"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(doc["serial"], 101, "{doc:#}");
    // Versioning, the listing, the headers of the newest 64 (+10 of
    // context: their lineage outnumbers every unread version, and serial 99
    // is the highest of it), the current object, and the whole reads of the
    // choice and its neighbour: about 80, not one header per version (106).
    let n = api_requests(&o);
    assert!(n <= 85, "{n} requests: {}", stderr(&o));
    // The cache serves the headers the second time: versioning, the
    // listing and the whole reads restore makes from S3 (the current
    // object, the choice and its neighbour, the choice again).
    let again = sw(&backend, cache.path(), &RESTORE_LAST_GOOD);
    assert_eq!(json(&again)["serial"], 101);
    assert!(api_requests(&again) <= 8, "{}", stderr(&again));
}

#[test]
fn versions_prints_the_rows_of_a_long_history_as_the_whole_table_does() {
    let backend = Backend::new("hstream");
    // 60 versions: a corrupt one, a serial regress and a shrink among them.
    let mut bodies: Vec<Vec<u8>> = (1..=60).map(|s| state(s, 4)).collect();
    bodies[20] = b"{\"version\": 4, \"serial\": ".to_vec();
    bodies[40] = state(12, 4);
    bodies[50] = state(51, 1);
    put_all(&backend, &bodies);
    let cache = tempfile::tempdir().unwrap();
    let args = ["versions", "--all", "--concurrency", "3"];
    // Text is printed row by row as rows become final: each row says what
    // the JSON report (built whole) says, in its order, lined up.
    let text = sw(&backend, cache.path(), &args);
    assert_exit(&text, 0);
    let doc = json(&sw(
        &backend,
        cache.path(),
        &[&args[..], &["--format", "json"]].concat(),
    ));
    let text = stdout(&text);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("s3://{}/{}", backend.bucket, backend.key));
    assert!(lines[1].starts_with("VERSION"), "{text}");
    let versions = doc["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 60);
    let status_at = lines[1].find("STATUS").unwrap();
    let dash = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "-".to_owned(),
        serde_json::Value::String(s) => s.chars().take(8).collect(),
        v => v.to_string(),
    };
    for (i, (line, v)) in lines[2..62].iter().zip(versions).enumerate() {
        let mut want = vec![v["version_id"].as_str().unwrap().to_owned()];
        if i == 0 {
            want.push("*".into());
        }
        want.push(v["last_modified"].as_str().unwrap().to_owned());
        want.push(v["size"].to_string());
        want.extend([&v["serial"], &v["lineage"], &v["resource_count"]].map(dash));
        want.push(v["status"].as_str().unwrap().to_owned());
        let got: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(got, want, "row {i}: {text}");
        assert_eq!(line.find(got.last().unwrap()), Some(status_at), "{text}");
    }
    assert!(lines[62..].contains(&"Problems:"), "{text}");
    assert_eq!(*lines.last().unwrap(), "60 versions (* = current).");
    let status = |i: usize| versions[i]["status"].as_str().unwrap();
    assert_eq!(status(60 - 21), "corrupt");
    assert_eq!(status(60 - 41), "serial-regress");
    assert_eq!(status(60 - 51), "suspicious-shrink");
    assert_eq!(status(0), "ok");
}

#[test]
fn restore_on_a_one_lineage_history_reads_only_the_first_window_of_headers() {
    // 300 versions of one lineage; the newest is cut short.
    let (_backend, _cache, o) = restore_a_cut_history("honeline", 300, 1);
    let doc = json(&o);
    assert_eq!(doc["serial"], 301, "{doc:#}");
    // Versioning, the listing, the headers of the first window (64 + 10 of
    // context: one lineage, no evidence of another), the current object and
    // the whole reads of the choice and its neighbour: 81 requests. The
    // majority count over the whole history read 161 headers (169 requests).
    let n = api_requests(&o);
    assert!(n <= 85, "{n} requests: {}", stderr(&o));
}
