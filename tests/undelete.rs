//! Bulk undelete on the emulator: 2,000 objects deleted in one go come back;
//! older deletions, objects rewritten after their delete, and objects outside
//! the prefix are left alone; a dry run changes nothing.

mod support;

use std::process::Output;

use support::*;

fn undelete(bucket: &str, args: &[&str]) -> Output {
    let mut all: Vec<String> = vec!["s3".into(), "undelete".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend([
        "--bucket".into(),
        bucket.into(),
        "--region".into(),
        REGION.into(),
        "--endpoint-url".into(),
        endpoint(),
    ]);
    stateward(all)
}

/// Keys under `prefix` whose current version is a delete marker, sorted.
fn deleted_keys(bucket: &str, prefix: &str) -> Vec<String> {
    let out = boto(&format!(
        "p = s3.get_paginator('list_object_versions')\n\
         keys = set()\n\
         for page in p.paginate(Bucket={bucket:?}, Prefix={prefix:?}):\n\
         \x20   for m in page.get('DeleteMarkers', []):\n\
         \x20       if m['IsLatest']: keys.add(m['Key'])\n\
         print(json.dumps(sorted(keys)))"
    ));
    serde_json::from_str(&out).unwrap()
}

/// Every version and marker of the bucket (key, version id), sorted.
fn all_versions(bucket: &str) -> String {
    boto(&format!(
        "p = s3.get_paginator('list_object_versions')\n\
         out = []\n\
         for page in p.paginate(Bucket={bucket:?}):\n\
         \x20   out += [(v['Key'], v['VersionId'], v['IsLatest']) for v in page.get('Versions', []) + page.get('DeleteMarkers', [])]\n\
         print(json.dumps(sorted(out)))"
    ))
}

/// Seconds between the older deletions and the mass deletion.
const GAP: u64 = 16;

#[test]
fn brings_back_2000_objects_deleted_in_one_go_and_leaves_older_deletions() {
    let backend = Backend::new("undel");
    let b = backend.bucket.clone();
    // 2,000 models, 3 older ones, one rewritten after its delete, one outside the prefix.
    boto(&format!(
        "from concurrent.futures import ThreadPoolExecutor\n\
         keys = ['models/run-%04d/model.bin' % i for i in range(2000)] + ['models/old-%d' % i for i in range(3)] + ['models/rewritten', 'other/keep']\n\
         def put(k): s3.put_object(Bucket={b:?}, Key=k, Body=b'x')\n\
         with ThreadPoolExecutor(16) as ex: list(ex.map(put, keys))\n\
         # Older deletions first.\n\
         s3.delete_objects(Bucket={b:?}, Delete={{'Objects': [{{'Key': 'models/old-%d' % i}} for i in range(3)], 'Quiet': True}})\n"
    ));
    std::thread::sleep(std::time::Duration::from_secs(GAP));
    // The window: from 8s (half the gap) before the mass deletion started
    // until now, however slow the emulator is. The older deletions are outside it.
    let mass_deletion = std::time::Instant::now();
    let since = || format!("{}s", mass_deletion.elapsed().as_secs() + GAP / 2);
    boto(&format!(
        "keys = ['models/run-%04d/model.bin' % i for i in range(2000)] + ['models/rewritten', 'other/keep']\n\
         for i in range(0, len(keys), 1000):\n\
         \x20   s3.delete_objects(Bucket={b:?}, Delete={{'Objects': [{{'Key': k}} for k in keys[i:i+1000]], 'Quiet': True}})\n\
         s3.put_object(Bucket={b:?}, Key='models/rewritten', Body=b'new')\n"
    ));
    assert_eq!(deleted_keys(&b, "models/").len(), 2003);

    let before = all_versions(&b);

    // Dry run: lists, changes nothing.
    let o = undelete(
        &b,
        &[
            "--prefix",
            "models/",
            "--since",
            &since(),
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("undelete", &doc);
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["restored"], 2000);
    assert_eq!(doc["skipped"], 3);
    assert_eq!(all_versions(&b), before, "a dry run changes nothing");

    let o = undelete(
        &b,
        &[
            "--prefix",
            "models/",
            "--since",
            &since(),
            "--yes",
            "--format",
            "json",
        ],
    );
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("undelete", &doc);
    assert_eq!(doc["restored"], 2000);
    assert_eq!(doc["skipped"], 3);
    assert_eq!(doc["dry_run"], false);
    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2000);
    assert_eq!(keys[0], "models/run-0000/model.bin");
    assert!(!keys.iter().any(|k| k == "models/rewritten"));
    // Only the older deletions remain; the other prefix was not touched.
    assert_eq!(
        deleted_keys(&b, "models/"),
        ["models/old-0", "models/old-1", "models/old-2"]
    );
    assert_eq!(deleted_keys(&b, "other/"), ["other/keep"]);
    // The rewritten object is untouched: its newest version is still the new one.
    let body = boto(&format!(
        "print(s3.get_object(Bucket={b:?}, Key='models/rewritten')['Body'].read().decode())"
    ));
    assert_eq!(body.trim(), "new");
    let o = boto(&format!(
        "r = s3.list_object_versions(Bucket={b:?}, Prefix='models/rewritten')\nprint(len(r.get('DeleteMarkers', [])))"
    ));
    assert_eq!(o.trim(), "1", "the marker under the newer version stays");
    // A restored object reads back.
    let body = boto(&format!(
        "print(s3.get_object(Bucket={b:?}, Key='models/run-1999/model.bin')['Body'].read().decode())"
    ));
    assert_eq!(body.trim(), "x");

    // Nothing left to do within the window; without --since the old ones come back too.
    let o = undelete(
        &b,
        &[
            "--prefix",
            "models/",
            "--since",
            &since(),
            "--format",
            "json",
        ],
    );
    assert_exit(&o, 0);
    assert_eq!(json(&o)["restored"], 0);
    let o = undelete(
        &b,
        &["--prefix", "models/", "--since", &since(), "--dry-run"],
    );
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("Would restore 0"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("models/old-0: deleted at"),
        "{}",
        stdout(&o)
    );
    let o = undelete(&b, &["--prefix", "models/", "--dry-run"]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("Would restore 3"), "{}", stdout(&o));
    // Without a terminal and without --yes: refused with the count, nothing changed.
    let o = undelete(&b, &["--prefix", "models/"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert!(stderr(&o).contains("Restore 3 deleted"), "{}", stderr(&o));
    assert_eq!(deleted_keys(&b, "models/").len(), 3);
    let o = undelete(&b, &["--prefix", "models/", "--yes", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["restored"], 3);
    assert!(deleted_keys(&b, "models/").is_empty());
}

#[test]
fn needs_a_bucket() {
    let o = stateward(["s3", "undelete", "--prefix", "x"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("--bucket"), "{}", stderr(&o));
}

/// Regression (issue 14 item 4 / issue 15): Ctrl-C during a bulk undelete
/// says how many objects were restored and the exact command that brings
/// back the rest, exits 130; that command, run as printed, finishes the job.
#[test]
fn ctrl_c_during_undelete_says_what_was_done_and_how_to_finish() {
    let backend = Backend::new("undelint");
    let b = backend.bucket.clone();
    boto(&format!(
        "keys = ['data/obj-%02d' % i for i in range(12)]\n\
         for k in keys: s3.put_object(Bucket={b:?}, Key=k, Body=b'x')\n\
         s3.delete_objects(Bucket={b:?}, Delete={{'Objects': [{{'Key': k}} for k in keys], 'Quiet': True}})\n"
    ));
    assert_eq!(deleted_keys(&b, "data/").len(), 12);
    let mut cmd = stateward_cmd(
        &root(),
        [
            "s3",
            "undelete",
            "--prefix",
            "data/",
            "--since",
            "1h",
            "--concurrency",
            "1",
            "--yes",
            "--bucket",
            &b,
            "--region",
            REGION,
            "--endpoint-url",
            &endpoint(),
        ],
    );
    // Slow enough that the polling below (a Python process per look) sees
    // the first objects come back long before the last one does.
    cmd.env("STATEWARD_TEST_PAUSE_PER_UNDELETE_MS", "1500")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while deleted_keys(&b, "data/").len() > 10 {
        assert!(std::time::Instant::now() < deadline, "nothing was restored");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    assert_exit(&o, 130);
    let err = stderr(&o);
    let left = deleted_keys(&b, "data/").len();
    assert!(
        left > 0,
        "the interrupt came too late to test anything: {err}"
    );
    assert!(
        err.contains(&format!(
            "interrupted (Ctrl-C) after restoring {} of 12 objects under s3://{b}/data/",
            12 - left
        )),
        "{err}"
    );
    let again = printed_after(&err, "run `");
    assert!(
        again.contains("--bucket") && again.contains("--yes"),
        "{again}"
    );
    let o = run_printed(&again, "");
    assert_exit(&o, 0);
    assert!(deleted_keys(&b, "data/").is_empty());
}
