use std::time::Duration;

use time::macros::datetime;
use time::OffsetDateTime;

use super::*;

fn kv(key: &str, id: &str, latest: bool, marker: bool) -> KeyVersion {
    KeyVersion {
        key: key.into(),
        version: ObjectVersion {
            version_id: id.into(),
            last_modified: datetime!(2026-12-01 10:00 UTC),
            size: if marker { 0 } else { 100 },
            is_latest: latest,
            delete_marker: marker,
            etag: None,
        },
    }
}

fn sel() -> Selection {
    Selection {
        prefix: String::new(),
        suffix: DEFAULT_SUFFIX.into(),
        workspace_key_prefix: "env:".into(),
        shard: None,
    }
}

#[test]
fn workspaces_are_named_from_the_prefixed_layout() {
    let cases = [
        ("net/terraform.tfstate", "env:", "default"),
        ("env:/staging/net/terraform.tfstate", "env:", "staging"),
        ("env:/prod/terraform.tfstate", "env:", "prod"),
        ("env:/terraform.tfstate", "env:", "default"),
        ("ws/dev/terraform.tfstate", "ws", "dev"),
        ("env:/staging/net/terraform.tfstate", "ws", "default"),
        ("dev/terraform.tfstate", "", "default"),
    ];
    for (key, prefix, want) in cases {
        assert_eq!(workspace_of(key, prefix), want, "{key} with {prefix:?}");
    }
}

#[test]
fn the_listing_gives_states_counts_and_lock_files_but_never_lock_files_as_states() {
    let listing = vec![
        kv("a/terraform.tfstate", "a3", true, false),
        kv("a/terraform.tfstate", "a2", false, false),
        kv("a/terraform.tfstate", "a1", false, true),
        kv("a/terraform.tfstate.tflock", "l1", true, false),
        kv("b/terraform.tfstate", "b2", true, true),
        kv("b/terraform.tfstate", "b1", false, false),
        kv("b/terraform.tfstate.tflock", "l2", true, true),
        kv("env:/dev/a/terraform.tfstate", "w1", true, false),
        kv("notes.txt", "n1", true, false),
        kv("c/terraform.tfstate.backup", "c1", true, false),
    ];
    let got = states_in("bkt", &listing, &sel());
    let keys: Vec<&str> = got.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "a/terraform.tfstate",
            "b/terraform.tfstate",
            "env:/dev/a/terraform.tfstate"
        ]
    );
    let a = &got[0];
    assert_eq!(a.current.version_id, "a3");
    assert_eq!((a.noncurrent_versions, a.delete_markers), (1, 1));
    assert_eq!(
        a.lockfile.as_ref().map(|v| v.version_id.as_str()),
        Some("l1")
    );
    let b = &got[1];
    assert!(b.current.delete_marker);
    assert_eq!((b.noncurrent_versions, b.delete_markers), (1, 1));
    assert!(b.lockfile.is_none(), "a deleted lock file is no lock");
    assert_eq!(got[2].workspace, "dev");
    assert_eq!(got[0].workspace, "default");
    // The previous version: the newest noncurrent one, never a delete marker.
    assert_eq!(
        a.previous.as_ref().map(|v| v.version_id.as_str()),
        Some("a2")
    );
    assert_eq!(
        b.previous.as_ref().map(|v| v.version_id.as_str()),
        Some("b1")
    );
    assert!(got[2].previous.is_none());
}

#[test]
fn the_previous_version_is_compared_only_when_its_bytes_may_differ() {
    let with = |cur: Option<&str>, prev: Option<&str>, marker: bool, has_prev: bool| {
        let mut current = kv("k.tfstate", "v2", true, marker).version;
        current.etag = cur.map(str::to_owned);
        let mut previous = kv("k.tfstate", "v1", false, false).version;
        previous.etag = prev.map(str::to_owned);
        Listed {
            bucket: "b".into(),
            key: "k.tfstate".into(),
            workspace: "default".into(),
            current,
            noncurrent_versions: usize::from(has_prev),
            delete_markers: usize::from(marker),
            lockfile: None,
            previous: has_prev.then_some(previous),
        }
    };
    use StateHealth as H;
    let label = |n: &LineageNeed| match n {
        LineageNeed::NotApplicable => "n/a".to_owned(),
        LineageNeed::NoPrevious => "no-previous".to_owned(),
        LineageNeed::SameBytes => "same-bytes".to_owned(),
        LineageNeed::Compare(v) => format!("compare {}", v.version_id),
    };
    // (current etag, previous etag, current deleted, has previous, health, lineage known, need)
    let cases = [
        (
            Some("aa"),
            Some("bb"),
            false,
            true,
            H::Ok,
            true,
            "compare v1",
        ),
        (
            Some("aa"),
            Some("aa"),
            false,
            true,
            H::Ok,
            true,
            "same-bytes",
        ),
        (None, None, false, true, H::Ok, true, "compare v1"),
        (Some("aa"), Some("bb"), true, true, H::Ok, true, "n/a"),
        (
            Some("aa"),
            Some("bb"),
            false,
            false,
            H::Ok,
            true,
            "no-previous",
        ),
        (Some("aa"), Some("bb"), false, true, H::Ok, false, "n/a"),
        (
            Some("aa"),
            Some("bb"),
            false,
            true,
            H::Encrypted,
            true,
            "compare v1",
        ),
        (Some("aa"), Some("bb"), false, true, H::Corrupt, true, "n/a"),
        (
            Some("aa"),
            Some("bb"),
            false,
            true,
            H::Unreadable,
            true,
            "n/a",
        ),
    ];
    for (cur, prev, marker, has_prev, health, known, want) in cases {
        let l = with(cur, prev, marker, has_prev);
        let lineage = known.then_some("L");
        assert_eq!(
            label(&lineage_need(&l, health, lineage)),
            want,
            "{cur:?} {prev:?} deleted={marker} previous={has_prev} {health:?} lineage={known}"
        );
    }
}

#[test]
fn auto_reads_one_previous_header_in_ten_states_but_at_least_twenty() {
    use LineageCheck::*;
    let cases = [
        (Auto, 0, 20),
        (Auto, 62, 20),
        (Auto, 209, 20),
        (Auto, 500, 50),
        (Auto, 2_000, 200),
        (All, 500, usize::MAX),
        (Cached, 500, 0),
        (Cached, 5, 0),
    ];
    for (mode, states, want) in cases {
        assert_eq!(lineage_read_budget(mode, states), want, "{mode:?} {states}");
    }
}

#[test]
fn the_newest_writes_are_compared_first_ties_by_bucket_and_key() {
    let t = |m: u8| datetime!(2026-12-01 10:00 UTC) + Duration::from_secs(u64::from(m) * 60);
    let candidates = [
        (t(1), "b", "old.tfstate"),
        (t(9), "b", "newest.tfstate"),
        (t(5), "b", "z.tfstate"),
        (t(5), "a", "z.tfstate"),
        (t(5), "b", "a.tfstate"),
    ];
    let cases: [(usize, &[usize]); 4] =
        [(0, &[]), (1, &[1]), (3, &[1, 3, 4]), (99, &[1, 3, 4, 2, 0])];
    for (budget, want) in cases {
        assert_eq!(
            pick_lineage_reads(&candidates, budget),
            want,
            "budget {budget}"
        );
    }
}

#[test]
fn a_previous_lineage_gives_a_verdict_only_when_it_was_had() {
    let mut same = entry("s.tfstate");
    apply_previous_lineage(&mut same, "v1", Some("l"));
    assert_eq!(same.lineage_check, LineageCompared::Same);
    assert_eq!(same.health, StateHealth::Ok);

    let mut unknown = entry("u.tfstate");
    apply_previous_lineage(&mut unknown, "v1", None);
    assert_eq!(unknown.lineage_check, LineageCompared::NotCompared);
    assert_eq!(
        unknown.health,
        StateHealth::Ok,
        "no verdict without evidence"
    );
    assert!(problems_of(&unknown).is_empty());

    let mut foreign = entry("f.tfstate");
    apply_previous_lineage(&mut foreign, "v1", Some("other"));
    assert_eq!(foreign.lineage_check, LineageCompared::Differs);
    assert_eq!(foreign.health, StateHealth::ForeignLineage);
    assert_eq!(
        foreign.health_detail.as_deref(),
        Some("lineage l, the previous version v1 has lineage other")
    );
}

#[test]
fn a_foreign_lineage_is_a_problem_that_names_the_way_back() {
    let mut e = entry("k.tfstate");
    e.health = StateHealth::ForeignLineage;
    e.health_detail = Some("lineage B, the previous version v1 has lineage A".into());
    let p = problems_of(&e);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("foreign lineage (lineage B, the previous version v1 has lineage A)"),
        "{}",
        p[0]
    );
    assert!(p[0].contains("restore --last-good"), "{}", p[0]);
}

#[test]
fn prefix_and_suffix_select_keys() {
    let listing = vec![
        kv("prod/x.tfstate", "1", true, false),
        kv("dev/x.tfstate", "2", true, false),
        kv("prod/y.state", "3", true, false),
    ];
    let s = Selection {
        prefix: "prod/".into(),
        suffix: ".state".into(),
        ..sel()
    };
    let got = states_in("b", &listing, &s);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].key, "prod/y.state");
}

#[test]
fn shards_parse_and_reject_nonsense() {
    assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
    for bad in ["5/5", "1/0", "x/3", "3", "-1/3", ""] {
        let e = bad.parse::<Shard>().unwrap_err();
        assert!(e.contains("I/N"), "{bad}: {e}");
    }
    assert_eq!(Shard { index: 0, count: 4 }.to_string(), "0/4");
}

#[test]
fn shards_cover_every_state_exactly_once_and_are_stable() {
    let keys: Vec<String> = (0..500)
        .map(|i| format!("svc{i}/terraform.tfstate"))
        .collect();
    for n in [1u32, 2, 3, 7, 16] {
        let mut seen = vec![0u32; keys.len()];
        let mut sizes = vec![0usize; n as usize];
        for i in 0..n {
            let shard = Shard { index: i, count: n };
            for (k, key) in keys.iter().enumerate() {
                if shard.contains("bkt", key) {
                    seen[k] += 1;
                    sizes[i as usize] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&c| c == 1), "n={n}");
        // Balanced enough to be worth sharding: no slice twice its share.
        let share = keys.len() / n as usize;
        assert!(
            sizes.iter().all(|&s| s <= 2 * share + 5),
            "n={n}: {sizes:?}"
        );
    }
    // Pinned: the slice of a state never changes between versions.
    assert_eq!(
        shard_of("bkt", "svc1/terraform.tfstate", 7),
        shard_of("bkt", "svc1/terraform.tfstate", 7)
    );
    assert_ne!(
        (0..20)
            .map(|i| shard_of("a", &format!("k{i}"), 4))
            .collect::<Vec<_>>(),
        (0..20)
            .map(|i| shard_of("b", &format!("k{i}"), 4))
            .collect::<Vec<_>>(),
        "the bucket is part of the hash"
    );
}

#[test]
fn the_matrix_lists_every_shard() {
    let m = matrix(3);
    let shards: Vec<&str> = m["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["shard"].as_str().unwrap())
        .collect();
    assert_eq!(shards, ["0/3", "1/3", "2/3"]);
}

const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

fn info(created: &str) -> String {
    format!(
        r#"{{"ID":"abc","Operation":"OperationTypeApply","Info":"","Who":"ci@runner","Version":"1.0.3","Created":"{created}","Path":"b/k"}}"#
    )
}

#[test]
fn locks_are_seen_in_either_mechanism_and_stale_past_the_threshold() {
    let hour = Duration::from_secs(3600);
    assert_eq!(lock_view(&LockFacts::default(), NOW, hour), None);
    let young = lock_view(
        &LockFacts {
            dynamodb_info: Some(info("2026-12-01T11:30:00Z")),
            lockfile_body: None,
        },
        NOW,
        hour,
    )
    .unwrap();
    assert_eq!(young.mechanisms, ["dynamodb"]);
    assert_eq!(young.age_seconds, Some(1800));
    assert!(!young.stale);
    assert_eq!(young.who.as_deref(), Some("ci@runner"));
    let old = lock_view(
        &LockFacts {
            dynamodb_info: Some(info("2026-12-01T09:00:00Z")),
            lockfile_body: Some(info("2026-12-01T09:00:00Z")),
        },
        NOW,
        hour,
    )
    .unwrap();
    assert_eq!(old.mechanisms, ["dynamodb", "lockfile"]);
    assert!(old.stale);
    let broken = lock_view(
        &LockFacts {
            dynamodb_info: Some(String::new()),
            lockfile_body: None,
        },
        NOW,
        hour,
    )
    .unwrap();
    assert!(broken.unreadable.unwrap().contains("empty"));
    assert_eq!(broken.id, None);
}

fn entry(key: &str) -> StateEntry {
    StateEntry {
        bucket: "b".into(),
        key: key.into(),
        workspace: "default".into(),
        size: 100,
        last_modified: NOW,
        version_id: "v".into(),
        serial: Some(1),
        lineage: Some("l".into()),
        terraform_version: Some("1.0.3".into()),
        health: StateHealth::Ok,
        health_detail: None,
        lock: None,
        digest: DigestState::Ok,
        versioning: "enabled".into(),
        noncurrent_versions: 0,
        delete_markers: 0,
        lineage_check: LineageCompared::Same,
        problems: Vec::new(),
        unchecked: false,
    }
}

#[test]
fn verdicts_name_each_problem_with_the_command_that_fixes_it() {
    let hour = Duration::from_secs(3600);
    let stale_lock = lock_view(
        &LockFacts {
            dynamodb_info: Some(info("2026-12-01T01:00:00Z")),
            lockfile_body: None,
        },
        NOW,
        hour,
    );
    let young_lock = lock_view(
        &LockFacts {
            dynamodb_info: Some(info("2026-12-01T11:59:00Z")),
            lockfile_body: None,
        },
        NOW,
        hour,
    );
    let cases: Vec<(StateEntry, &[&str])> = vec![
        (entry("ok.tfstate"), &[]),
        (
            StateEntry {
                health: StateHealth::Encrypted,
                ..entry("enc.tfstate")
            },
            &[],
        ),
        (
            StateEntry {
                health: StateHealth::Corrupt,
                health_detail: Some("EOF while parsing".into()),
                ..entry("c.tfstate")
            },
            &["is corrupt (EOF while parsing)", "restore --last-good"],
        ),
        (
            StateEntry {
                health: StateHealth::Deleted,
                digest: DigestState::Mismatch,
                ..entry("d.tfstate")
            },
            &["delete marker", "versions"],
        ),
        (
            StateEntry {
                digest: DigestState::Mismatch,
                ..entry("m.tfstate")
            },
            &[
                "digest of s3://b/m.tfstate does not match",
                "--bucket b --key m.tfstate digest repair",
            ],
        ),
        (
            StateEntry {
                lock: stale_lock,
                ..entry("l.tfstate")
            },
            &[
                "locked for 11h 0m by ci@runner (OperationTypeApply)",
                "lock release abc",
            ],
        ),
        (
            StateEntry {
                lock: young_lock,
                digest: DigestState::Missing,
                ..entry("y.tfstate")
            },
            &[],
        ),
    ];
    for (e, want) in cases {
        let got = problems_of(&e);
        let all = got.join("\n");
        if want.is_empty() {
            assert!(got.is_empty(), "{}: {all}", e.key);
        } else {
            assert_eq!(got.len(), 1, "{}: {all}", e.key);
            for w in want {
                assert!(all.contains(w), "{}: {w:?} not in {all}", e.key);
            }
        }
    }
}

#[test]
fn problems_come_first_and_exit_codes_follow_the_contract() {
    let mut entries = vec![
        entry("a.tfstate"),
        StateEntry {
            problems: vec!["x".into()],
            ..entry("z.tfstate")
        },
        StateEntry {
            problems: vec!["y".into()],
            ..entry("b.tfstate")
        },
    ];
    assert_eq!(exit_code(&entries, 0), crate::exit::DIFFERENCES);
    assert_eq!(exit_code(&entries, 1), crate::exit::ERROR);
    sort_problems_first(&mut entries);
    let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["b.tfstate", "z.tfstate", "a.tfstate"]);
    entries.push(StateEntry {
        unchecked: true,
        problems: vec!["could not be read".into()],
        ..entry("u.tfstate")
    });
    sort_problems_first(&mut entries);
    assert_eq!(entries[0].key, "u.tfstate");
    assert_eq!(exit_code(&entries, 0), crate::exit::ERROR);
    assert_eq!(exit_code(&[entry("a")], 0), crate::exit::SUCCESS);
}

#[test]
fn each_state_takes_its_rules_table_region_and_lockfile_unless_a_flag_says() {
    use crate::config::{StateRule, StatesSettings};
    use inventory::{settings_of, InventoryOptions, StateSettings};
    let rules = StatesSettings {
        rules: vec![
            StateRule {
                pattern: "**".into(),
                bucket: Some("acme-us".into()),
                region: Some("us-east-1".into()),
                dynamodb_table: Some("us-locks".into()),
                ..StateRule::default()
            },
            StateRule {
                pattern: "team-a/**".into(),
                dynamodb_table: Some("a-locks".into()),
                use_lockfile: Some(false),
                ..StateRule::default()
            },
            StateRule {
                pattern: "team-b/**".into(),
                region: Some("eu-central-1".into()),
                use_lockfile: Some(true),
                ..StateRule::default()
            },
        ],
    };
    let opts = |table_flag: bool, lockfile_flag: bool| InventoryOptions {
        buckets: vec![],
        selection: sel(),
        table: Some("locks".into()),
        table_from_flag: table_flag,
        use_lockfile: lockfile_flag.then_some(true),
        use_lockfile_from_flag: lockfile_flag,
        rules: rules.clone(),
        rule_aws: Vec::new(),
        concurrency: 1,
        lineage_check: LineageCheck::Auto,
        stale_lock_after: Duration::from_secs(3600),
        now: NOW,
    };
    // Rules 0 and 2 set a region: connections of their own.
    let own = [true, false, true];
    let want = |connection: Option<usize>, table: &str, use_lockfile: Option<bool>| StateSettings {
        connection,
        table: Some((connection, table.to_owned())),
        use_lockfile,
    };
    let cases = [
        // (table flag, lockfile flag, bucket, key, settings)
        (
            false,
            false,
            "acme",
            "team-a/x.tfstate",
            want(None, "a-locks", Some(false)),
        ),
        (
            false,
            false,
            "acme",
            "team-b/x.tfstate",
            want(Some(2), "locks", Some(true)),
        ),
        (
            false,
            false,
            "acme",
            "other/x.tfstate",
            want(None, "locks", None),
        ),
        // The bucket's rule comes first for every key of that bucket.
        (
            false,
            false,
            "acme-us",
            "team-a/x.tfstate",
            want(Some(0), "us-locks", None),
        ),
        // Flags win over the rules.
        (
            true,
            false,
            "acme",
            "team-a/x.tfstate",
            want(None, "locks", Some(false)),
        ),
        (
            false,
            true,
            "acme",
            "team-a/x.tfstate",
            want(None, "a-locks", Some(true)),
        ),
    ];
    for (table_flag, lockfile_flag, bucket, key, want) in cases {
        assert_eq!(
            settings_of(&opts(table_flag, lockfile_flag), &own, bucket, key),
            want,
            "{bucket}/{key} table flag {table_flag}, lockfile flag {lockfile_flag}"
        );
    }
    // A state of a bucket whose region a rule gives, matched by a rule with
    // no connection of its own, is read through the bucket's rule's.
    let by_bucket = StatesSettings {
        rules: vec![
            StateRule {
                pattern: "team-a/**".into(),
                use_lockfile: Some(true),
                ..StateRule::default()
            },
            rules.rules[0].clone(),
        ],
    };
    let o = InventoryOptions {
        rules: by_bucket,
        ..opts(false, false)
    };
    let got = settings_of(&o, &[false, true], "acme-us", "team-a/x.tfstate");
    assert_eq!(got.connection, Some(1));
    assert_eq!(got.table, Some((Some(1), "locks".into())));
    assert_eq!(got.use_lockfile, Some(true));
}
