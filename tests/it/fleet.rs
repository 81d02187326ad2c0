//! Every state at once, on the emulator: a bucket of 62 states across keys
//! and workspaces (lock files, DynamoDB locks, a real `terraform console`
//! lock, one corrupt, one deleted, one with a wrong digest, one with a
//! foreign lineage, a stale lock, a broken lock item) is inventoried exactly, problems first, exit 2; shards
//! cover every state exactly once; the cost stays near one request per state.

use std::collections::BTreeSet;
use std::process::Output;
use std::sync::OnceLock;

use crate::support::*;

struct Fleet {
    backend: Backend,
    /// Every state key the bucket holds.
    keys: BTreeSet<String>,
    _console: ConsoleLock,
}

const STALE_CREATED: &str = "2026-01-01T00:00:00Z";

fn state(serial: u32, lineage: &str) -> String {
    format!(
        "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.5.7\",\n  \"serial\": {serial},\n  \"lineage\": \"{lineage}\",\n  \"outputs\": {{}},\n  \"resources\": []\n}}\n"
    )
}

fn lock_info(bucket: &str, key: &str, created: &str, who: &str) -> String {
    format!(
        r#"{{"ID":"11111111-2222-3333-4444-{:012}","Operation":"OperationTypeApply","Info":"","Who":"{who}","Version":"1.10.0","Created":"{created}","Path":"{bucket}/{key}"}}"#,
        key.len()
    )
}

/// The MD5 of `bytes` in lower-case hex, as the digest item holds it.
fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(bytes))
}

fn fleet() -> &'static Fleet {
    static FLEET: OnceLock<Fleet> = OnceLock::new();
    FLEET.get_or_init(|| {
        let backend = Backend::new("fleet");
        let b = &backend.bucket;
        let t = &backend.table;
        // The platform state, written and then held by a real Terraform.
        let project = platform_project(&backend);
        project.apply(&[]);
        let mut keys: BTreeSet<String> = BTreeSet::new();
        keys.insert(backend.key.clone());
        let put = |key: &str, body: &str, digest: bool| {
            aws::put_object(b, key, body.as_bytes());
            if digest {
                aws::put_item(
                    t,
                    &[
                        ("LockID", &format!("{b}/{key}-md5")),
                        ("Digest", &md5_hex(body.as_bytes())),
                    ],
                );
            }
        };
        for i in 0..40 {
            let key = format!("svc{i:02}/terraform.tfstate");
            put(&key, &state(1, &format!("lineage-{i}")), i % 3 != 0);
            if i % 4 == 0 {
                put(&key, &state(2, &format!("lineage-{i}")), i % 3 != 0);
            }
            keys.insert(key);
        }
        for w in 0..16 {
            let key = format!("env:/ws{w:02}/app/terraform.tfstate");
            put(&key, &state(5 + w, &format!("ws-lineage-{w}")), true);
            keys.insert(key);
        }
        put("broken/corrupt.tfstate", "{\n  \"version\": 4,\n  \"serial\": 9,\n  \"lineage\": \"cut\",\n  \"resources\": [", false);
        put("gone/deleted.tfstate", &state(3, "gone"), false);
        put("digest/wrong.tfstate", &state(4, "digest"), false);
        let gone = format!("{b}-gone-logs");
        let drifted = state(2, "drifted").replace(
            "\"resources\": []",
            &format!(
                r#""resources": [{{"mode":"managed","type":"aws_s3_bucket","name":"logs","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[{{"schema_version":0,"attributes":{{"id":"{gone}","bucket":"{gone}","arn":"arn:aws:s3:::{gone}","region":"{REGION}","tags":{{}}}},"sensitive_attributes":[]}}]}}]"#
            ),
        );
        put("drift/app.tfstate", &drifted, false);
        // Another configuration's state pushed over this one: a foreign lineage.
        put("foreign/app.tfstate", &state(1, "own"), false);
        put("foreign/app.tfstate", &state(2, "own"), false);
        put("foreign/app.tfstate", &state(7, "intruder"), false);
        keys.insert("foreign/app.tfstate".into());
        keys.insert("drift/app.tfstate".into());
        for k in ["broken/corrupt.tfstate", "gone/deleted.tfstate", "digest/wrong.tfstate"] {
            keys.insert(k.into());
        }
        // Not states: a lock file of a live state, a stray lock file, notes, a backup.
        put(
            "svc06/terraform.tfstate.tflock",
            &lock_info(b, "svc06/terraform.tfstate", "2099-01-01T00:00:00Z", "young@ci"),
            false,
        );
        put("orphan/terraform.tfstate.tflock", "{}", false);
        put("notes.txt", "hello", false);
        put("svc01/terraform.tfstate.backup", &state(1, "lineage-1"), false);
        aws::delete_object(b, "gone/deleted.tfstate");
        aws::put_item(
            t,
            &[
                ("LockID", &format!("{b}/digest/wrong.tfstate-md5")),
                ("Digest", "0123456789abcdef0123456789abcdef"),
            ],
        );
        let stale = lock_info(b, "svc05/terraform.tfstate", STALE_CREATED, "gone@laptop");
        aws::put_item(
            t,
            &[
                ("LockID", &format!("{b}/svc05/terraform.tfstate")),
                ("Info", &stale),
            ],
        );
        aws::put_item(
            t,
            &[
                ("LockID", &format!("{b}/svc07/terraform.tfstate")),
                ("Info", ""),
            ],
        );
        let console = ConsoleLock::hold(&project, &backend);
        std::mem::forget(project);
        assert_eq!(keys.len(), 62);
        Fleet {
            backend,
            keys,
            _console: console,
        }
    })
}

fn states(f: &Fleet, extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec!["states".into()];
    args.extend(fleet_flags(f));
    args.extend(extra.iter().map(|s| s.to_string()));
    stateward(args)
}

fn keys_of(doc: &serde_json::Value) -> Vec<String> {
    doc["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap().to_owned())
        .collect()
}

fn find<'a>(doc: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    doc["states"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("{key} not reported"))
}

#[test]
fn states_reports_every_state_exactly_with_problems_first() {
    let f = fleet();
    let o = states(f, &["--format", "json"]);
    assert_exit(&o, 2);
    let doc = json(&o);
    assert_schema("states", &doc);
    let keys = keys_of(&doc);
    assert_eq!(keys.len(), 62, "{keys:?}");
    assert_eq!(keys.iter().cloned().collect::<BTreeSet<_>>(), f.keys);
    assert!(keys.iter().all(|k| !k.ends_with(".tflock")));

    // Problems first: exactly these six, before any healthy state.
    let with_problems: Vec<&str> = doc["states"]
        .as_array()
        .unwrap()
        .iter()
        .take_while(|s| !s["problems"].as_array().unwrap().is_empty())
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = [
        "broken/corrupt.tfstate",
        "digest/wrong.tfstate",
        "foreign/app.tfstate",
        "gone/deleted.tfstate",
        "svc05/terraform.tfstate",
        "svc07/terraform.tfstate",
    ]
    .into();
    assert_eq!(with_problems.iter().copied().collect::<BTreeSet<_>>(), want);
    assert_eq!(doc["summary"]["with_problems"], 6);

    let foreign = find(&doc, "foreign/app.tfstate");
    assert_eq!(foreign["health"], "foreign-lineage");
    assert_eq!(foreign["lineage"], "intruder");
    assert!(foreign["problems"][0]
        .as_str()
        .unwrap()
        .contains("has lineage own"));
    assert_eq!(foreign["lineage_check"], "differs");
    // Two versions of one lineage are no problem.
    assert_eq!(find(&doc, "svc04/terraform.tfstate")["health"], "ok");
    assert_eq!(
        find(&doc, "svc04/terraform.tfstate")["lineage_check"],
        "same"
    );
    assert_eq!(
        find(&doc, "svc03/terraform.tfstate")["lineage_check"],
        "no-previous"
    );
    // Fewer than 20 previous versions: `auto` compares every one.
    assert_eq!(doc["summary"]["lineage_not_compared"], 0);

    let corrupt = find(&doc, "broken/corrupt.tfstate");
    assert_eq!(corrupt["health"], "corrupt");
    assert_eq!(corrupt["serial"], 9, "the header is still read");
    assert_eq!(find(&doc, "gone/deleted.tfstate")["health"], "deleted");
    let wrong = find(&doc, "digest/wrong.tfstate");
    assert_eq!(wrong["digest"], "mismatch");
    assert!(wrong["problems"][0]
        .as_str()
        .unwrap()
        .contains("digest repair"));
    let stale = find(&doc, "svc05/terraform.tfstate");
    assert_eq!(stale["lock"]["stale"], true);
    assert_eq!(stale["lock"]["who"], "gone@laptop");
    assert_eq!(stale["lock"]["mechanisms"], serde_json::json!(["dynamodb"]));
    let broken = find(&doc, "svc07/terraform.tfstate");
    assert!(broken["lock"]["unreadable"]
        .as_str()
        .unwrap()
        .contains("empty"));

    // The lock Terraform holds (console), and a young lock file: shown, no problem.
    let platform = find(&doc, &f.backend.key);
    assert_eq!(
        platform["lock"]["mechanisms"],
        serde_json::json!(["dynamodb"])
    );
    assert_eq!(platform["lock"]["operation"], "OperationTypeInvalid");
    assert_eq!(platform["lock"]["stale"], false);
    assert_eq!(platform["digest"], "ok", "Terraform wrote the digest");
    assert_eq!(platform["problems"], serde_json::json!([]));
    let lockfile = find(&doc, "svc06/terraform.tfstate");
    assert_eq!(
        lockfile["lock"]["mechanisms"],
        serde_json::json!(["lockfile"])
    );
    assert_eq!(lockfile["lock"]["who"], "young@ci");
    assert_eq!(doc["summary"]["locked"], 4);

    // Listing facts: workspaces, version counts, digests, serials.
    let ws = find(&doc, "env:/ws03/app/terraform.tfstate");
    assert_eq!(ws["workspace"], "ws03");
    assert_eq!(ws["serial"], 8);
    assert_eq!(ws["digest"], "ok");
    let svc4 = find(&doc, "svc04/terraform.tfstate");
    assert_eq!(svc4["serial"], 2);
    assert_eq!(svc4["noncurrent_versions"], 1);
    assert_eq!(svc4["workspace"], "default");
    assert_eq!(svc4["versioning"], "enabled");
    assert_eq!(find(&doc, "svc03/terraform.tfstate")["digest"], "missing");
    assert_eq!(
        find(&doc, "svc03/terraform.tfstate")["noncurrent_versions"],
        0
    );

    // The cost: about one request per state, and at most one header read
    // more for each state whose previous version has other bytes (10 svc
    // states with a second serial, the foreign one, the platform's history),
    // fewer when another test's run left them in the version cache.
    let summary = &doc["summary"];
    let previous = summary["previous_reads"].as_u64().unwrap();
    assert!(previous <= 14, "{previous} previous reads");
    let rest = (summary["requests"].as_u64().unwrap() - previous) as f64 / 62.0;
    assert!(
        rest <= 1.2,
        "{rest} requests per state besides previous reads"
    );
}

#[test]
fn text_and_markdown_put_problems_first_and_say_how_to_fix_them() {
    let f = fleet();
    let o = states(f, &[]);
    assert_exit(&o, 2);
    let text = stdout(&o);
    let first_row = text.lines().nth(1).unwrap();
    assert!(
        !first_row.contains("svc00") && !first_row.contains("env:/ws"),
        "problems first: {text}"
    );
    assert!(text.contains("Problems:"), "{text}");
    assert!(text.contains("lock release --broken"), "{text}");
    assert!(
        text.contains("62 states in 1 bucket: 6 with problems, 4 locked"),
        "{text}"
    );
    let md = stdout(&states(f, &["--format", "markdown"]));
    assert!(md.contains("| STATE | WORKSPACE |"), "{md}");
    assert!(md.contains("**Problems**"), "{md}");
}

#[test]
fn shards_cover_every_state_exactly_once_and_their_merge_is_the_unsharded_report() {
    let f = fleet();
    let n = 3;
    let reports = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..n)
        .map(|i| {
            let shard = format!("{i}/{n}");
            let dir = reports.path().display().to_string();
            std::thread::spawn({
                let bucket = f.backend.bucket.clone();
                let table = f.backend.table.clone();
                move || {
                    stateward([
                        "states",
                        "--bucket",
                        &bucket,
                        "--region",
                        REGION,
                        "--endpoint-url",
                        &endpoint(),
                        "--dynamodb-table",
                        &table,
                        "--format",
                        "json",
                        "--shard",
                        &shard,
                        "--report-to",
                        &dir,
                    ])
                }
            })
        })
        .collect();
    let mut seen: Vec<String> = Vec::new();
    for c in children {
        let o = c.join().unwrap();
        let doc = json(&o);
        assert!(doc["shard"].as_str().unwrap().ends_with("/3"));
        let keys = keys_of(&doc);
        assert!(!keys.is_empty(), "every shard of 62 states has some");
        seen.extend(keys);
    }
    seen.sort();
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), unique.len(), "a state was in two shards");
    assert_eq!(unique, f.keys);

    // The merge reproduces the unsharded report: same states, same order,
    // same problems, same exit code.
    let whole = json(&states(f, &["--format", "json"]));
    let merged = stateward([
        "report",
        "merge",
        &reports.path().display().to_string(),
        "--format",
        "json",
    ]);
    assert_exit(&merged, 2);
    let merged = json(&merged);
    assert_schema("report-merge", &merged);
    assert_eq!(merged["missing_shards"], serde_json::json!([]));
    let strip = |doc: &serde_json::Value| -> Vec<(String, serde_json::Value, serde_json::Value)> {
        doc["states"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["key"].as_str().unwrap().to_owned(),
                    s["problems"].clone(),
                    s["health"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(strip(&merged), strip(&whole));
    assert_eq!(merged["summary"]["with_problems"], 6);
    let text = stdout(&stateward([
        "report",
        "merge",
        &reports.path().display().to_string(),
    ]));
    assert!(
        text.contains("states: 62 states from 3 of 3 shards: 56 ok, 6 with problems"),
        "{text}"
    );

    // A shard that never reported is named, and the merge fails.
    std::fs::remove_file(reports.path().join("states-1-of-3.json")).unwrap();
    let o = stateward(["report", "merge", &reports.path().display().to_string()]);
    assert_exit(&o, 1);
    assert!(
        stdout(&o).contains("shard 1/3 has no report"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn the_matrix_is_what_a_ci_job_matrix_takes() {
    let o = stateward(["states", "--matrix", "4"]);
    assert_exit(&o, 0);
    let doc = json(&o);
    let shards: Vec<&str> = doc["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["shard"].as_str().unwrap())
        .collect();
    assert_eq!(shards, ["0/4", "1/4", "2/4", "3/4"]);
}

#[test]
fn a_bucket_that_cannot_be_listed_is_an_error_but_the_others_are_reported() {
    let f = fleet();
    let o = states(f, &["--bucket", "no-such-bucket-fleet", "--format", "json"]);
    assert_exit(&o, 1);
    let doc = json(&o);
    assert_eq!(keys_of(&doc).len(), 62);
    assert!(doc["errors"][0]
        .as_str()
        .unwrap()
        .contains("no-such-bucket-fleet"));
    // The older positional form still names extra buckets.
    let o = states(f, &["no-such-bucket-fleet", "--format", "json"]);
    assert_exit(&o, 1);
    assert_eq!(json(&o)["buckets"].as_array().unwrap().len(), 2);
}

#[test]
fn several_buckets_are_for_fleet_runs_only() {
    let f = fleet();
    let mut args = vec![
        "doctor".to_string(),
        "--all-states".into(),
        "--prefix".into(),
        "svc0".into(),
        "--bucket".into(),
        "no-such-bucket-fleet".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(fleet_flags(f));
    let o = stateward(&args);
    // The bucket that cannot be listed is an error; the other's states are checked.
    assert_exit(&o, 1);
    let doc = json(&o);
    assert_eq!(keys_of(&doc).len(), 10);
    assert!(doc["errors"][0]
        .as_str()
        .unwrap()
        .contains("no-such-bucket-fleet"));
    // One state, two buckets: refused before anything is read.
    let o = stateward([
        "versions",
        "--bucket",
        "a",
        "--bucket",
        "b",
        "--key",
        "k.tfstate",
    ]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("--bucket is given 2 times"),
        "{}",
        stderr(&o)
    );
}

fn fleet_flags(f: &Fleet) -> Vec<String> {
    vec![
        "--bucket".into(),
        f.backend.bucket.clone(),
        "--region".into(),
        REGION.into(),
        "--endpoint-url".into(),
        endpoint(),
        "--dynamodb-table".into(),
        f.backend.table.clone(),
    ]
}

fn problems_of(doc: &serde_json::Value, key: &str) -> String {
    find(doc, key)["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn doctor_all_states_checks_each_state_once_and_says_which_failed() {
    let f = fleet();
    let mut args = vec![
        "doctor".to_string(),
        "--all-states".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(fleet_flags(f));
    let o = stateward(&args);
    assert_exit(&o, 2);
    let doc = json(&o);
    let keys = keys_of(&doc);
    assert_eq!(keys.len(), 62);
    assert_eq!(keys.iter().cloned().collect::<BTreeSet<_>>(), f.keys);
    assert_eq!(doc["command"], "doctor");
    assert!(problems_of(&doc, "broken/corrupt.tfstate").contains("latest-state"));
    assert!(problems_of(&doc, "svc05/terraform.tfstate").contains("stale-lock"));
    assert!(!problems_of(&doc, "svc00/terraform.tfstate").contains("stale-lock"));
    assert!(!problems_of(&doc, "svc00/terraform.tfstate").contains("latest-state"));
    // Each state's own checks are kept.
    let checks = find(&doc, "svc00/terraform.tfstate")["checks"]
        .as_array()
        .unwrap()
        .len();
    assert!(checks >= 5, "{checks}");
}

#[test]
fn doctor_states_from_runs_on_exactly_the_listed_states_and_shards_them() {
    let f = fleet();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("states.json");
    let o = states(f, &["--prefix", "env:/", "--format", "json"]);
    std::fs::write(&list, &o.stdout).unwrap();
    let mut seen = Vec::new();
    for i in 0..2 {
        let mut args = vec![
            "doctor".to_string(),
            "--states-from".into(),
            list.display().to_string(),
            "--shard".into(),
            format!("{i}/2"),
            "--format".into(),
            "json".into(),
        ];
        args.extend(fleet_flags(f));
        let doc = json(&stateward(&args));
        seen.extend(keys_of(&doc));
    }
    seen.sort();
    let want: Vec<String> = f
        .keys
        .iter()
        .filter(|k| k.starts_with("env:/"))
        .cloned()
        .collect();
    assert_eq!(seen, want);
}

#[test]
fn drift_all_states_reports_per_state_and_one_unreadable_state_stops_nothing() {
    let f = fleet();
    let mut args = vec![
        "drift".to_string(),
        "--all-states".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(fleet_flags(f));
    let o = stateward(&args);
    // Two states cannot be checked (corrupt, deleted): exit 1, all others reported.
    assert_exit(&o, 1);
    let doc = json(&o);
    assert_eq!(
        keys_of(&doc).iter().cloned().collect::<BTreeSet<_>>(),
        f.keys
    );
    assert_eq!(doc["command"], "drift");
    assert_schema("report-merge", &doc);
    assert_eq!(doc["summary"]["unchecked"], 2, "{doc:#}");
    assert_eq!(doc["summary"]["with_problems"], 1, "{doc:#}");
    let drifted = problems_of(&doc, "drift/app.tfstate");
    assert!(drifted.contains("missing aws_s3_bucket.logs"), "{drifted}");
    assert_eq!(
        find(&doc, "svc00/terraform.tfstate")["problems"],
        serde_json::json!([])
    );
    assert_eq!(find(&doc, "broken/corrupt.tfstate")["unchecked"], true);
    // Without the unreadable ones: exit 2 for the drift.
    let mut args = vec![
        "drift".to_string(),
        "--all-states".into(),
        "--prefix".into(),
        "drift/".into(),
    ];
    args.extend(fleet_flags(f));
    let o = stateward(&args);
    assert_exit(&o, 2);
    assert!(
        stdout(&o).contains("missing aws_s3_bucket.logs"),
        "{}",
        stdout(&o)
    );
}

/// A `--states-from` file naming these states (the JSON `states` writes).
fn states_file(dir: &std::path::Path, bucket: &str, keys: &[&str]) -> String {
    let states: Vec<serde_json::Value> = keys
        .iter()
        .map(|k| serde_json::json!({ "bucket": bucket, "key": k, "problems": [], "unchecked": false }))
        .collect();
    let path = dir.join("list.json");
    std::fs::write(
        &path,
        serde_json::json!({ "command": "states", "states": states }).to_string(),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn versions_all_states_finds_the_unhealthy_current_versions() {
    let f = fleet();
    let mut args = vec![
        "versions".to_string(),
        "--all-states".into(),
        "--header-only".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(fleet_flags(f));
    let o = stateward(&args);
    assert_exit(&o, 2);
    let doc = json(&o);
    assert_schema("report-merge", &doc);
    assert_eq!(doc["command"], "versions");
    assert_eq!(
        keys_of(&doc).iter().cloned().collect::<BTreeSet<_>>(),
        f.keys
    );
    assert_eq!(doc["summary"]["unchecked"], 0, "{doc:#}");
    assert_eq!(doc["summary"]["with_problems"], 3, "{doc:#}");
    assert!(problems_of(&doc, "gone/deleted.tfstate").contains("delete marker"));
    assert!(problems_of(&doc, "foreign/app.tfstate").contains("lineage"));
    assert!(!problems_of(&doc, "broken/corrupt.tfstate").is_empty());
    let svc4 = find(&doc, "svc04/terraform.tfstate");
    assert_eq!(svc4["total_versions"], 2);
    assert_eq!(svc4["current"]["serial"], 2);
    assert_eq!(svc4["problems"], serde_json::json!([]));

    // A state that cannot be read is not checked (exit 1); the others still are.
    let dir = tempfile::tempdir().unwrap();
    let list = states_file(
        dir.path(),
        &f.backend.bucket,
        &["svc01/terraform.tfstate", "no/such.tfstate"],
    );
    let mut args = vec![
        "versions".to_string(),
        "--states-from".into(),
        list,
        "--format".into(),
        "json".into(),
    ];
    args.extend(fleet_flags(f));
    let o = stateward(&args);
    assert_exit(&o, 1);
    let doc = json(&o);
    assert_eq!(find(&doc, "no/such.tfstate")["unchecked"], true);
    assert_eq!(find(&doc, "svc01/terraform.tfstate")["unchecked"], false);
    assert_eq!(doc["summary"]["ok"], 1);
}

#[test]
fn snapshot_create_all_states_keeps_each_state_apart_and_a_failure_stops_nothing() {
    let f = fleet();
    let store = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "snapshot".to_string(),
            "create".into(),
            "--snapshot-store".into(),
            store.path().display().to_string(),
            "--reason".into(),
            "nightly".into(),
            "--format".into(),
            "json".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(fleet_flags(f));
        stateward(&args)
    };
    let o = run(&["--all-states", "--prefix", "env:/"]);
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("report-merge", &doc);
    assert_eq!(doc["command"], "snapshot-create");
    assert_eq!(doc["summary"]["states"], 16);
    assert_eq!(doc["summary"]["ok"], 16);
    let ws3 = find(&doc, "env:/ws03/app/terraform.tfstate");
    assert_eq!(ws3["created"], true);
    assert_eq!(ws3["snapshot"]["serial"], 8);
    // Each state's snapshots sit under <store>/<bucket>/<key>/.
    let own = store
        .path()
        .join(&f.backend.bucket)
        .join("env:/ws03/app/terraform.tfstate");
    assert_eq!(std::fs::read_dir(&own).unwrap().count(), 1);
    // Again: nothing changed, nothing created.
    let again = json(&run(&["--all-states", "--prefix", "env:/"]));
    assert_eq!(
        find(&again, "env:/ws03/app/terraform.tfstate")["created"],
        false
    );

    // A corrupt state cannot be snapshotted: not checked, exit 1; the other is taken.
    let dir = tempfile::tempdir().unwrap();
    let list = states_file(
        dir.path(),
        &f.backend.bucket,
        &["broken/corrupt.tfstate", "svc02/terraform.tfstate"],
    );
    let o = run(&["--states-from", &list]);
    assert_exit(&o, 1);
    let doc = json(&o);
    assert_eq!(find(&doc, "broken/corrupt.tfstate")["unchecked"], true);
    assert!(problems_of(&doc, "broken/corrupt.tfstate").contains("not a healthy"));
    assert_eq!(find(&doc, "svc02/terraform.tfstate")["created"], true);
}

#[test]
fn shard_reports_go_to_s3_and_merge_from_there_naming_a_missing_shard() {
    let f = fleet();
    let reports = unique("fleet-reports");
    aws::create_bucket(&reports, false);
    let place = format!("s3://{reports}/ci/run-1/");
    // Which shard a state falls in hashes its bucket and key, and the bucket
    // name holds the process id: a shard may hold no problem state (exit 0).
    let mut problems = 0;
    for i in 0..2 {
        let shard = format!("{i}/2");
        let o = states(
            f,
            &["--shard", &shard, "--report-to", &place, "--format", "json"],
        );
        let with = json(&o)["summary"]["with_problems"].as_u64().unwrap();
        assert_exit(&o, if with > 0 { 2 } else { 0 });
        problems += with;
    }
    assert_eq!(problems, 6);
    let merge = || {
        stateward([
            "report",
            "merge",
            &place,
            "--region",
            REGION,
            "--endpoint-url",
            &endpoint(),
            "--format",
            "json",
        ])
    };
    let o = merge();
    assert_exit(&o, 2);
    let doc = json(&o);
    assert_eq!(doc["missing_shards"], serde_json::json!([]));
    assert_eq!(
        keys_of(&doc).iter().cloned().collect::<BTreeSet<_>>(),
        f.keys
    );
    assert_eq!(doc["summary"]["with_problems"], 6);
    let listed = aws::list_keys(&reports, "");
    assert!(
        listed.contains(&"ci/run-1/states-0-of-2.json".to_owned())
            && listed.contains(&"ci/run-1/states-1-of-2.json".to_owned()),
        "{listed:?}"
    );
    aws::delete_object(&reports, "ci/run-1/states-0-of-2.json");
    let o = merge();
    assert_exit(&o, 1);
    assert_eq!(json(&o)["missing_shards"], serde_json::json!(["0/2"]));
}

#[test]
fn the_environment_files_states_block_gives_matching_states_their_own_lock_table() {
    let f = fleet();
    let b = &f.backend;
    let other = unique("fleet-other-locks");
    aws::create_lock_table(&other);
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("fleet.hcl");
    std::fs::write(
        &env,
        format!(
            "backend {{\n  bucket = {:?}\n  key = \"svc00/terraform.tfstate\"\n  region = {REGION:?}\n  endpoint_url = {:?}\n  dynamodb_table = {:?}\n}}\nstates {{\n  match \"svc05/*\" {{\n    dynamodb_table = {other:?}\n  }}\n}}\n",
            b.bucket,
            endpoint(),
            b.table
        ),
    )
    .unwrap();
    let env = env.display().to_string();
    // The inventory reads svc05's items from its own (empty) table: no lock, no digest.
    let o = stateward([
        "states", "--env", &env, "--prefix", "svc0", "--format", "json",
    ]);
    // Only svc07's broken lock item (in the backend's table) is left a problem.
    assert_exit(&o, 2);
    let doc = json(&o);
    assert_eq!(keys_of(&doc).len(), 10);
    assert_eq!(doc["summary"]["with_problems"], 1, "{doc:#}");
    assert!(!problems_of(&doc, "svc07/terraform.tfstate").is_empty());
    let svc5 = find(&doc, "svc05/terraform.tfstate");
    assert_eq!(svc5["lock"], serde_json::Value::Null, "{svc5:#}");
    assert_eq!(svc5["digest"], "missing");
    assert_eq!(find(&doc, "svc01/terraform.tfstate")["digest"], "ok");
    // Fleet checks apply it too: doctor sees no stale lock on svc05 there.
    let o = stateward([
        "doctor",
        "--all-states",
        "--env",
        &env,
        "--prefix",
        "svc05/",
        "--format",
        "json",
    ]);
    let doc = json(&o);
    assert_eq!(keys_of(&doc), ["svc05/terraform.tfstate"]);
    assert!(
        !problems_of(&doc, "svc05/terraform.tfstate").contains("stale-lock"),
        "{doc:#}"
    );
    // Without the block's rule, the same run finds the stale lock.
    let mut args = vec![
        "doctor".to_string(),
        "--all-states".into(),
        "--prefix".into(),
        "svc05/".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(fleet_flags(f));
    let doc = json(&stateward(&args));
    assert!(problems_of(&doc, "svc05/terraform.tfstate").contains("stale-lock"));
}

#[test]
fn the_lineage_check_reads_within_its_budget_newest_first_and_never_claims_what_it_did_not_read() {
    // 30 states of two versions of other bytes each, on a cold version
    // cache: `auto` may read 20 previous headers (at least 20, one state in
    // ten). The newest write has a foreign lineage, and so has the oldest.
    let backend = Backend::new("fleet-lineage");
    let b = &backend.bucket;
    let mut keys = vec!["z-oldest/terraform.tfstate".to_owned()];
    keys.extend((0..28).map(|i| format!("m{i:02}/terraform.tfstate")));
    keys.push("a-newest/terraform.tfstate".into());
    for (i, key) in keys.iter().enumerate() {
        let foreign = i == 0 || i == keys.len() - 1;
        let second = state(2, if foreign { "intruder" } else { "own" });
        aws::put_object(b, key, state(1, "own").as_bytes());
        aws::put_object(b, key, second.as_bytes());
    }
    let cache = tempfile::tempdir().unwrap();
    let run = |mode: &str| {
        let o = stateward_cmd(
            &root(),
            [
                "states",
                "--bucket",
                b,
                "--region",
                REGION,
                "--endpoint-url",
                &endpoint(),
                "--lineage-check",
                mode,
                "--format",
                "json",
            ],
        )
        .env("STATEWARD_CACHE_DIR", cache.path())
        .env("STATEWARD_API_STATS", "1")
        .output()
        .unwrap();
        assert_exit(&o, 2);
        let doc = json(&o);
        assert_schema("states", &doc);
        (api_requests(&o), doc)
    };
    let lineage = |doc: &serde_json::Value, key: &str| {
        let e = find(doc, key);
        (
            e["lineage_check"].as_str().unwrap().to_owned(),
            e["health"].as_str().unwrap().to_owned(),
        )
    };
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());

    // 1 listing, 1 versioning, 30 current versions, 20 previous headers.
    let (requests, doc) = run("auto");
    assert_eq!(requests, 52, "{:#}", doc["summary"]);
    assert_eq!(doc["summary"]["requests"], 52);
    assert_eq!(doc["summary"]["previous_reads"], 20);
    assert_eq!(doc["summary"]["lineage_not_compared"], 10);
    assert_eq!(
        lineage(&doc, "a-newest/terraform.tfstate"),
        pair("differs", "foreign-lineage")
    );
    // Not read: no verdict, and no claim of the same lineage.
    assert_eq!(
        lineage(&doc, "z-oldest/terraform.tfstate"),
        pair("not-compared", "ok")
    );
    let counts = |doc: &serde_json::Value, what: &str| {
        doc["states"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["lineage_check"] == what)
            .count()
    };
    assert_eq!((counts(&doc, "same"), counts(&doc, "differs")), (19, 1));

    // `all` reads the 10 the cache lacks, and finds the oldest one too.
    let (requests, doc) = run("all");
    assert_eq!(requests, 42);
    assert_eq!(doc["summary"]["previous_reads"], 10);
    assert_eq!(doc["summary"]["lineage_not_compared"], 0);
    assert_eq!(
        lineage(&doc, "z-oldest/terraform.tfstate"),
        pair("differs", "foreign-lineage")
    );
    assert_eq!(doc["summary"]["with_problems"], 2);

    // From now on every previous header is in the cache: `cached` and
    // `auto` compare all 30 at one request per state (plus 2).
    for mode in ["cached", "auto"] {
        let (requests, doc) = run(mode);
        assert_eq!(requests, 32, "{mode}");
        assert_eq!(doc["summary"]["previous_reads"], 0);
        assert_eq!(doc["summary"]["lineage_not_compared"], 0);
        assert_eq!((counts(&doc, "same"), counts(&doc, "differs")), (28, 2));
    }

    // A new version of one state: its previous version is the one the last
    // run read as current, so it is compared with no read.
    backend.put("m05/terraform.tfstate", state(3, "own").as_bytes());
    let (requests, doc) = run("cached");
    assert_eq!(requests, 32);
    assert_eq!(lineage(&doc, "m05/terraform.tfstate"), pair("same", "ok"));
    assert_eq!(doc["summary"]["lineage_not_compared"], 0);

    // Text: the column, and the sentence that says what was not compared.
    let cold = tempfile::tempdir().unwrap();
    let o = stateward_cmd(
        &root(),
        [
            "states",
            "--bucket",
            b,
            "--region",
            REGION,
            "--endpoint-url",
            &endpoint(),
            "--lineage-check",
            "cached",
        ],
    )
    .env("STATEWARD_CACHE_DIR", cold.path())
    .output()
    .unwrap();
    let text = stdout(&o);
    assert!(text.contains("LINEAGE"), "{text}");
    assert!(
        text.contains("lineage not compared with the previous version for 30 states")
            && text.contains("--lineage-check all"),
        "{text}"
    );
    assert_exit(&o, 0);
}

#[test]
fn states_rules_give_the_inventory_their_region_lock_table_and_use_lockfile_by_bucket_and_key() {
    let f = fleet();
    let b1 = &f.backend.bucket;
    // A second bucket, whose states' lock table is in another region.
    let b2 = unique("fleet-us");
    let (us_a, us_b) = (unique("fleet-us-a"), unique("fleet-us-b"));
    let body = state(3, "us-svc02");
    let east = aws::ddb_in("us-east-1");
    aws::create_lock_table_with(&east, &us_a);
    aws::create_lock_table_with(&east, &us_b);
    aws::create_bucket(&b2, true);
    aws::put_object(&b2, "svc02/terraform.tfstate", body.as_bytes());
    aws::put_item_with(
        &east,
        &us_b,
        &[
            ("LockID", &format!("{b2}/svc02/terraform.tfstate-md5")),
            ("Digest", &md5_hex(body.as_bytes())),
        ],
    );
    let info = lock_info(b1, "svc02/terraform.tfstate", STALE_CREATED, "us@east");
    aws::put_item_with(
        &east,
        &us_a,
        &[
            ("LockID", &format!("{b1}/svc02/terraform.tfstate")),
            ("Info", &info),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("fleet.hcl");
    std::fs::write(
        &env,
        format!(
            "backend {{\n  bucket = {b1:?}\n  key = \"svc00/terraform.tfstate\"\n  region = {REGION:?}\n  endpoint_url = {:?}\n  dynamodb_table = {:?}\n}}\n\
             states {{\n\
             \x20 match \"**\" {{\n    bucket = {b2:?}\n    dynamodb_table = {us_b:?}\n    region = \"us-east-1\"\n  }}\n\
             \x20 match \"svc02/*\" {{\n    dynamodb_table = {us_a:?}\n    region = \"us-east-1\"\n  }}\n\
             \x20 match \"svc06/*\" {{\n    use_lockfile = false\n  }}\n\
             }}\n",
            endpoint(),
            f.backend.table
        ),
    )
    .unwrap();
    let env = env.display().to_string();
    let o = stateward([
        "states", "--env", &env, "--bucket", b1, "--bucket", &b2, "--prefix", "svc0", "--format",
        "json",
    ]);
    let doc = json(&o);
    // Every table was found in its region: no error, exit 2 for the stale locks.
    assert_eq!(doc["errors"], serde_json::json!([]), "{doc:#}");
    assert_exit(&o, 2);
    let entry = |bucket: &str, key: &str| {
        doc["states"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["bucket"] == bucket && s["key"] == key)
            .unwrap_or_else(|| panic!("{bucket}/{key} not reported"))
            .clone()
    };
    // svc02 of the first bucket: its lock and digest items are in us-east-1.
    let svc02 = entry(b1, "svc02/terraform.tfstate");
    assert_eq!(svc02["lock"]["who"], "us@east", "{svc02:#}");
    assert_eq!(svc02["lock"]["stale"], true);
    assert_eq!(
        svc02["digest"], "missing",
        "the backend table's digest is not read"
    );
    // The same key in the second bucket: the bucket's rule comes first.
    let other = entry(&b2, "svc02/terraform.tfstate");
    assert_eq!(other["digest"], "ok", "{other:#}");
    assert_eq!(other["lock"], serde_json::Value::Null);
    // use_lockfile = false: Terraform ignores svc06's .tflock, so does the inventory.
    assert_eq!(
        entry(b1, "svc06/terraform.tfstate")["lock"],
        serde_json::Value::Null
    );
    // The bucket's rule does not reach the first bucket: states no rule
    // matches keep the backend's table.
    assert_eq!(
        entry(b1, "svc05/terraform.tfstate")["lock"]["who"],
        "gone@laptop"
    );
    assert_eq!(entry(b1, "svc01/terraform.tfstate")["digest"], "ok");

    // Fleet checks match the rules by bucket too: doctor reads the second
    // bucket's digest from its rule's table, in its rule's region.
    let o = stateward([
        "doctor",
        "--all-states",
        "--env",
        &env,
        "--bucket",
        &b2,
        "--format",
        "json",
    ]);
    let doc = json(&o);
    let digest = find(&doc, "svc02/terraform.tfstate")["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "digest")
        .cloned()
        .unwrap_or_else(|| panic!("no digest check: {doc:#}"));
    assert_eq!(digest["status"], "pass", "{digest:#}");
    assert!(
        digest["detail"].as_str().unwrap().contains("matches"),
        "{digest:#}"
    );

    // Flags still win: --use-lockfile brings svc06's lock file back.
    let o = stateward([
        "states",
        "--env",
        &env,
        "--bucket",
        b1,
        "--prefix",
        "svc06/",
        "--use-lockfile",
        "--format",
        "json",
    ]);
    let doc = json(&o);
    assert_eq!(
        find(&doc, "svc06/terraform.tfstate")["lock"]["who"],
        "young@ci"
    );
}
