//! Bulk undelete on the emulator: 2,000 objects deleted in one go come back;
//! older deletions, objects rewritten after their delete, and objects outside
//! the prefix are left alone; a dry run changes nothing.

use std::process::Output;

use crate::support::*;

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
    let keys: std::collections::BTreeSet<String> = aws::list_versions(bucket, prefix)
        .into_iter()
        .filter(|v| v.marker && v.is_latest)
        .map(|v| v.key)
        .collect();
    keys.into_iter().collect()
}

/// Every version and marker of the bucket (key, version id), sorted.
fn all_versions(bucket: &str) -> Vec<(String, String, bool)> {
    let mut all: Vec<_> = aws::list_versions(bucket, "")
        .into_iter()
        .map(|v| (v.key, v.version_id, v.is_latest))
        .collect();
    all.sort();
    all
}

/// Seconds between the older deletions and the mass deletion (S3 times its
/// markers to the second).
const GAP: u64 = 4;

#[test]
fn brings_back_2000_objects_deleted_in_one_go_and_leaves_older_deletions() {
    let backend = Backend::new("undel");
    let b = backend.bucket.clone();
    // 2,000 models, 3 older ones, one rewritten after its delete, one outside the prefix.
    let runs: Vec<String> = (0..2000)
        .map(|i| format!("models/run-{i:04}/model.bin"))
        .collect();
    let old: Vec<String> = (0..3).map(|i| format!("models/old-{i}")).collect();
    let others = ["models/rewritten".to_owned(), "other/keep".to_owned()];
    let every: Vec<String> = runs.iter().chain(&old).chain(&others).cloned().collect();
    aws::put_many(&b, &every, b"x");
    // Older deletions first.
    aws::delete_many(&b, &old);
    let older_deleted = std::time::Instant::now();
    // The clock moves on by the gap (the markers are timed to the second).
    while older_deleted.elapsed() < std::time::Duration::from_secs(GAP) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The window: from half the gap before the mass deletion started until
    // now, however slow the emulator is. The older deletions are outside it.
    let mass_deletion = std::time::Instant::now();
    let since = || format!("{}s", mass_deletion.elapsed().as_secs() + GAP / 2);
    let mass: Vec<String> = runs.iter().chain(&others).cloned().collect();
    aws::delete_many(&b, &mass);
    aws::put_object(&b, "models/rewritten", b"new");
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
    let body = aws::get_object(&b, "models/rewritten", None);
    assert_eq!(body, b"new");
    let markers = aws::list_versions(&b, "models/rewritten")
        .iter()
        .filter(|v| v.marker)
        .count();
    assert_eq!(markers, 1, "the marker under the newer version stays");
    // A restored object reads back.
    let body = aws::get_object(&b, "models/run-1999/model.bin", None);
    assert_eq!(body, b"x");

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
    let keys: Vec<String> = (0..12).map(|i| format!("data/obj-{i:02}")).collect();
    aws::put_many(&b, &keys, b"x");
    aws::delete_many(&b, &keys);
    assert_eq!(deleted_keys(&b, "data/").len(), 12);
    // Each removal is held 1.5 s on the wire before it reaches S3, so Ctrl-C
    // comes while removals are in flight: they land (S3 applies what it
    // received) and must be counted, not dropped unanswered.
    let proxy = TruncatingProxy::faulty();
    proxy.fault(
        &format!("DELETE /{b}/data/"),
        Fault::Stall(std::time::Duration::from_millis(1500)),
        12,
    );
    let via = proxy.url();
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
            "2",
            "--yes",
            "--bucket",
            &b,
            "--region",
            REGION,
            "--endpoint-url",
            &via,
        ],
    );
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while deleted_keys(&b, "data/").len() > 10 {
        assert!(std::time::Instant::now() < deadline, "nothing was restored");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    sigint(&child);
    let o = child.wait_with_output().unwrap();
    assert_exit(&o, 130);
    let err = stderr(&o);
    // Whatever was held on the wire reaches S3: the count said must be
    // what S3 holds, not what had answered.
    proxy.wait_settled();
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
    proxy.clear_faults();
    let o = run_printed(&again, "");
    assert_exit(&o, 0);
    assert!(deleted_keys(&b, "data/").is_empty());
}
