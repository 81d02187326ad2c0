//! `stateward doctor`: disaster-recovery readiness as pass/warn/fail checks.
//!
//! Gathering the facts talks to AWS (see `cli/doctor.rs`); judging them is
//! this module's pure function [`checks`], of the facts, the objectives and
//! `now`, table-tested below.

pub mod gather;

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::lock::{human_age, DigestStatus, LockStatus};
use crate::store::Versioning;

/// Recovery objectives (environment file `objectives { }`, flags override).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Objectives {
    pub rpo: Duration,
    pub rto: Duration,
    pub min_backup_retention_days: u32,
    pub noncurrent_retention_days: u32,
    /// A lock older than this is stale.
    pub stale_lock_after: Duration,
}

/// A lock older than this is stale unless `--stale-lock-after` says otherwise.
pub const DEFAULT_STALE_LOCK_AFTER: Duration = Duration::from_secs(3600);

impl Objectives {
    /// The environment file's objectives (its documented defaults for keys it
    /// does not set), with the stale-lock threshold.
    pub fn from_config(o: &crate::config::Objectives, stale_lock_after: Duration) -> Objectives {
        Objectives {
            rpo: o.rpo(),
            rto: o.rto(),
            min_backup_retention_days: o.min_backup_retention_days(),
            noncurrent_retention_days: o.noncurrent_retention_days(),
            stale_lock_after,
        }
    }
}

impl Default for Objectives {
    /// RPO 1h, RTO 4h, 7 days of backups, 90 days of noncurrent versions,
    /// locks stale after 1h.
    fn default() -> Self {
        Objectives::from_config(
            &crate::config::Objectives::default(),
            DEFAULT_STALE_LOCK_AFTER,
        )
    }
}

/// One lifecycle rule of the state bucket, as far as retention cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    pub id: String,
    pub enabled: bool,
    /// Whether the rule's filter covers the state key.
    pub applies_to_state: bool,
    /// `NoncurrentVersionExpiration.NoncurrentDays`.
    pub noncurrent_expiration_days: Option<u32>,
    /// `Expiration.Days` (expires current versions).
    pub current_expiration_days: Option<u32>,
}

/// The lock table, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableFact {
    /// No DynamoDB locking configured.
    NotConfigured,
    Missing,
    /// The partition key `(name, type)`.
    Found(Option<(String, String)>),
}

/// The newest state version, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CurrentFact {
    Healthy {
        version_id: String,
        serial: u64,
    },
    Unhealthy {
        version_id: String,
        problem: String,
        last_good: Option<String>,
    },
    NoState,
}

/// The newest snapshot, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotFact {
    NotConfigured,
    NoneTaken,
    Newest {
        id: String,
        created: OffsetDateTime,
        verified: Result<(), String>,
    },
}

/// An RDS instance or cluster that the state manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsFact {
    pub address: String,
    pub identifier: String,
    /// `None`: not found in AWS.
    pub backup_retention_days: Option<u32>,
    pub latest_snapshot: Option<OffsetDateTime>,
    pub found: bool,
}

/// An EKS cluster that the state manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksFact {
    pub address: String,
    pub name: String,
    /// `None`: not found in AWS.
    pub status: Option<String>,
    /// `(node group, status)`.
    pub nodegroups: Vec<(String, String)>,
}

/// Everything doctor looks at. A fact that could not be read is an `Err`
/// with the reason; it becomes a failed check, never an abort.
#[derive(Debug, Clone)]
pub struct Facts {
    pub versioning: Result<Versioning, String>,
    /// `Ok(None)`: the bucket has no lifecycle configuration.
    pub lifecycle: Result<Option<Vec<LifecycleRule>>, String>,
    pub lock_table: Result<TableFact, String>,
    pub lock: Result<LockStatus, String>,
    pub digest: Result<DigestStatus, String>,
    pub current: Result<CurrentFact, String>,
    pub snapshot: Result<SnapshotFact, String>,
    pub rds: Result<Vec<RdsFact>, String>,
    pub eks: Result<Vec<EksFact>, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Check {
    /// state-bucket-versioning, state-bucket-lifecycle, lock-table, stale-lock, digest, latest-
    /// state, snapshot, rds-backups:<address>, eks:<address> (or rds / eks when they could not be
    /// listed).
    pub id: String,
    pub status: CheckStatus,
    pub detail: String,
}

fn check(id: impl Into<String>, status: CheckStatus, detail: impl Into<String>) -> Check {
    Check {
        id: id.into(),
        status,
        detail: detail.into(),
    }
}

fn unreadable(id: &str, e: &str) -> Check {
    check(id, CheckStatus::Fail, format!("could not be checked: {e}"))
}

fn days(d: Duration) -> String {
    crate::util::duration::format(d)
}

/// Judges the facts. Pure.
pub fn checks(f: &Facts, o: &Objectives, now: OffsetDateTime) -> Vec<Check> {
    use CheckStatus::*;
    let mut out = Vec::new();

    out.push(match &f.versioning {
        Err(e) => unreadable("state-bucket-versioning", e),
        Ok(Versioning::Enabled) => check("state-bucket-versioning", Pass, "versioning is enabled"),
        Ok(v) => check(
            "state-bucket-versioning",
            Fail,
            format!("versioning is {}: an overwrite or delete of the state loses it for good; enable versioning", match v {
                Versioning::Suspended => "suspended",
                _ => "not enabled",
            }),
        ),
    });

    out.push(match &f.lifecycle {
        Err(e) => unreadable("state-bucket-lifecycle", e),
        Ok(None) => check(
            "state-bucket-lifecycle",
            Fail,
            format!("no lifecycle rule: add one that keeps noncurrent versions at least {} days and never expires current versions", o.noncurrent_retention_days),
        ),
        Ok(Some(rules)) => lifecycle_check(rules, o),
    });

    out.push(match &f.lock_table {
        Err(e) => unreadable("lock-table", e),
        Ok(TableFact::NotConfigured) => check("lock-table", Warn, "no DynamoDB lock table is configured (no digest is kept)"),
        Ok(TableFact::Missing) => check("lock-table", Fail, "the DynamoDB lock table does not exist: Terraform cannot lock; create it with partition key LockID (S)"),
        Ok(TableFact::Found(Some((name, ty)))) if name == "LockID" && ty == "S" => {
            check("lock-table", Pass, "the lock table exists with partition key LockID (S)")
        }
        Ok(TableFact::Found(key)) => check(
            "lock-table",
            Fail,
            format!("the lock table's partition key is {key:?}, not LockID (S): Terraform cannot lock with it"),
        ),
    });

    out.push(match &f.lock {
        Err(e) => unreadable("stale-lock", e),
        Ok(l) if !l.locked => check("stale-lock", Pass, "the state is not locked"),
        Ok(l) if l.broken => check(
            "stale-lock",
            Fail,
            format!(
                "a broken lock item blocks Terraform: {}",
                l.problems.join("; ")
            ),
        ),
        Ok(l) => {
            let age = l.age_seconds.unwrap_or(i64::MAX);
            let who = l
                .lock
                .as_ref()
                .map(|i| format!("{} by {} (ID {})", i.operation, i.who, i.id))
                .unwrap_or_default();
            if age as u64 > o.stale_lock_after.as_secs() {
                check(
                    "stale-lock",
                    Fail,
                    format!(
                        "locked for {} ({who}), longer than {}: if its holder is gone, `{}`",
                        human_age(age),
                        days(o.stale_lock_after),
                        crate::hint::command(&[
                            "lock",
                            "release",
                            l.lock.as_ref().map_or("ID", |i| i.id.as_str())
                        ])
                    ),
                )
            } else {
                check(
                    "stale-lock",
                    Warn,
                    format!(
                        "locked {} ago ({who}): someone is working on the state",
                        human_age(age)
                    ),
                )
            }
        }
    });

    out.push(match &f.digest {
        Err(e) => unreadable("digest", e),
        Ok(d) if d.consistent && d.stored.is_none() => check("digest", Pass, "no digest is stored (nothing to mismatch)"),
        Ok(d) if d.consistent => check("digest", Pass, "the stored md5 digest matches the current object"),
        Ok(d) => {
            // Repairing the digest of a deleted or unhealthy current version
            // would make Terraform accept it: the fix is the last good version.
            let unhealthy = d.actual.is_none()
                || matches!(&f.current, Ok(CurrentFact::Unhealthy { .. }) | Ok(CurrentFact::NoState));
            let fix = if unhealthy {
                format!(
                    "the current version is not healthy, so do not repair the digest: `{}`",
                    crate::hint::command(&["restore", "--last-good"])
                )
            } else {
                format!("`{}`", crate::hint::command(&["digest", "repair"]))
            };
            check(
                "digest",
                Fail,
                format!(
                    "the stored digest {} does not match the current object ({}): Terraform will refuse the state; {fix}",
                    d.stored.as_deref().unwrap_or("-"),
                    d.actual.as_deref().unwrap_or("deleted")
                ),
            )
        }
    });

    out.push(match &f.current {
        Err(e) => unreadable("latest-state", e),
        Ok(CurrentFact::Healthy { version_id, serial }) => {
            check("latest-state", Pass, format!("the current version {version_id} (serial {serial}) is healthy"))
        }
        Ok(CurrentFact::Unhealthy { version_id, problem, last_good }) => check(
            "latest-state",
            Fail,
            match last_good {
                Some(g) => format!(
                    "the current version {version_id} is not healthy ({problem}); the last good version is {g}: `{}`",
                    crate::hint::command(&["restore", "--last-good"])
                ),
                None => format!("the current version {version_id} is not healthy ({problem}) and no healthy version was found"),
            },
        ),
        Ok(CurrentFact::NoState) => check("latest-state", Fail, "there is no state object at all"),
    });

    out.push(match &f.snapshot {
        Err(e) => unreadable("snapshot", e),
        Ok(SnapshotFact::NotConfigured) => check(
            "snapshot",
            Warn,
            "no snapshot store is configured (`snapshots { store = ... }` or --snapshot-store)",
        ),
        Ok(SnapshotFact::NoneTaken) => check(
            "snapshot",
            Fail,
            format!(
                "no snapshot has been taken: `{}`",
                crate::hint::command(&["snapshot", "create"])
            ),
        ),
        Ok(SnapshotFact::Newest {
            id,
            created,
            verified,
        }) => {
            let age = (now - *created).whole_seconds().max(0);
            match verified {
                Err(e) => check(
                    "snapshot",
                    Fail,
                    format!("the newest snapshot {id} does not verify: {e}"),
                ),
                Ok(()) if age as u64 > o.rpo.as_secs() => check(
                    "snapshot",
                    Fail,
                    format!(
                        "the newest snapshot {id} is {} old, older than the RPO of {}",
                        human_age(age),
                        days(o.rpo)
                    ),
                ),
                Ok(()) => check(
                    "snapshot",
                    Pass,
                    format!(
                        "the newest snapshot {id} is {} old and verifies",
                        human_age(age)
                    ),
                ),
            }
        }
    });

    match &f.rds {
        Err(e) => out.push(unreadable("rds", e)),
        Ok(list) => {
            for r in list {
                let id = format!("rds-backups:{}", r.address);
                out.push(if !r.found {
                    check(
                        id,
                        Fail,
                        format!("{} is in state but not found in AWS", r.identifier),
                    )
                } else {
                    let retention = r.backup_retention_days.unwrap_or(0);
                    let snap_age = r.latest_snapshot.map(|t| (now - t).whole_seconds().max(0));
                    if retention == 0 {
                        check(
                            id,
                            Fail,
                            format!("{}: automated backups are off", r.identifier),
                        )
                    } else if retention < o.min_backup_retention_days {
                        check(
                            id,
                            Fail,
                            format!(
                                "{}: backups are kept {retention} days, less than {}",
                                r.identifier, o.min_backup_retention_days
                            ),
                        )
                    } else {
                        match snap_age {
                            None => check(id, Fail, format!("{}: no snapshot found", r.identifier)),
                            Some(a) if a as u64 > o.rpo.as_secs() => check(
                                id,
                                Fail,
                                format!(
                                    "{}: the latest snapshot is {} old, older than the RPO of {}",
                                    r.identifier,
                                    human_age(a),
                                    days(o.rpo)
                                ),
                            ),
                            Some(a) => check(
                                id,
                                Pass,
                                format!(
                                    "{}: backups kept {retention} days; latest snapshot {} old",
                                    r.identifier,
                                    human_age(a)
                                ),
                            ),
                        }
                    }
                });
            }
        }
    }

    match &f.eks {
        Err(e) => out.push(unreadable("eks", e)),
        Ok(list) => {
            for c in list {
                let id = format!("eks:{}", c.address);
                let bad: Vec<String> = c
                    .nodegroups
                    .iter()
                    .filter(|(_, s)| s != "ACTIVE")
                    .map(|(n, s)| match s.as_str() {
                        "MISSING" => format!("{n} is in state but not found in AWS"),
                        _ => format!("{n} is {s}"),
                    })
                    .collect();
                out.push(match c.status.as_deref() {
                    None => check(
                        id,
                        Fail,
                        format!("cluster {} is in state but not found in AWS", c.name),
                    ),
                    Some("ACTIVE") if bad.is_empty() => check(
                        id,
                        Pass,
                        format!(
                            "cluster {} and the {} the state holds are ACTIVE",
                            c.name,
                            crate::output::count(c.nodegroups.len(), "node group", "node groups")
                        ),
                    ),
                    Some("ACTIVE") => check(
                        id,
                        Fail,
                        format!(
                            "cluster {} is ACTIVE but node groups the state holds are not: {}",
                            c.name,
                            bad.join(", ")
                        ),
                    ),
                    Some(s) => check(id, Fail, format!("cluster {} is {s}", c.name)),
                });
            }
        }
    }
    out
}

fn lifecycle_check(rules: &[LifecycleRule], o: &Objectives) -> Check {
    use CheckStatus::*;
    let live: Vec<&LifecycleRule> = rules
        .iter()
        .filter(|r| r.enabled && r.applies_to_state)
        .collect();
    if let Some(r) = live.iter().find(|r| r.current_expiration_days.is_some()) {
        return check(
            "state-bucket-lifecycle",
            Fail,
            format!("lifecycle rule {:?} expires current versions after {} days: it would delete the live state", r.id, r.current_expiration_days.unwrap_or(0)),
        );
    }
    let shortest = live
        .iter()
        .filter_map(|r| r.noncurrent_expiration_days)
        .min();
    match shortest {
        Some(d) if d < o.noncurrent_retention_days => check(
            "state-bucket-lifecycle",
            Fail,
            format!("noncurrent versions expire after {d} days, less than the {} days required", o.noncurrent_retention_days),
        ),
        Some(d) => check("state-bucket-lifecycle", Pass, format!("noncurrent versions are kept {d} days; current versions never expire")),
        None if live.is_empty() => check(
            "state-bucket-lifecycle",
            Fail,
            format!("no enabled lifecycle rule covers the state: add one that keeps noncurrent versions at least {} days", o.noncurrent_retention_days),
        ),
        None => check("state-bucket-lifecycle", Pass, "noncurrent versions never expire; current versions never expire"),
    }
}

/// Counts per status, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
}

pub fn summarise(checks: &[Check]) -> Summary {
    let mut s = Summary::default();
    for c in checks {
        match c.status {
            CheckStatus::Pass => s.pass += 1,
            CheckStatus::Warn => s.warn += 1,
            CheckStatus::Fail => s.fail += 1,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::LockInfo;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 12:00 UTC);

    fn good() -> Facts {
        Facts {
            versioning: Ok(Versioning::Enabled),
            lifecycle: Ok(Some(vec![LifecycleRule {
                id: "keep".into(),
                enabled: true,
                applies_to_state: true,
                noncurrent_expiration_days: Some(90),
                current_expiration_days: None,
            }])),
            lock_table: Ok(TableFact::Found(Some(("LockID".into(), "S".into())))),
            lock: Ok(LockStatus {
                locked: false,
                backends: vec![],
                lock: None,
                age_seconds: None,
                broken: false,
                problems: vec![],
                configured: vec![],
                mechanisms: vec![],
            }),
            digest: Ok(DigestStatus {
                stored: Some("a".into()),
                actual: Some("a".into()),
                consistent: true,
                digest_kept: true,
            }),
            current: Ok(CurrentFact::Healthy {
                version_id: "v9".into(),
                serial: 9,
            }),
            snapshot: Ok(SnapshotFact::Newest {
                id: "s1".into(),
                created: NOW - time::Duration::minutes(20),
                verified: Ok(()),
            }),
            rds: Ok(vec![RdsFact {
                address: "aws_db_instance.mlflow".into(),
                identifier: "mlflow".into(),
                backup_retention_days: Some(7),
                latest_snapshot: Some(NOW - time::Duration::minutes(30)),
                found: true,
            }]),
            eks: Ok(vec![EksFact {
                address: "module.eks.aws_eks_cluster.this".into(),
                name: "mlops".into(),
                status: Some("ACTIVE".into()),
                nodegroups: vec![("general".into(), "ACTIVE".into())],
            }]),
        }
    }

    fn failing(f: &Facts) -> Vec<String> {
        checks(f, &Objectives::default(), NOW)
            .into_iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .map(|c| c.id)
            .collect()
    }

    #[test]
    fn a_well_kept_platform_passes() {
        let all = checks(&good(), &Objectives::default(), NOW);
        assert!(
            all.iter().all(|c| c.status == CheckStatus::Pass),
            "{all:#?}"
        );
        assert_eq!(
            summarise(&all),
            Summary {
                pass: 9,
                warn: 0,
                fail: 0
            }
        );
    }

    #[test]
    fn each_problem_fails_exactly_its_check() {
        type Break = fn(&mut Facts);
        let cases: Vec<(&str, Break, &[&str])> = vec![
            (
                "versioning suspended",
                |f| f.versioning = Ok(Versioning::Suspended),
                &["state-bucket-versioning"],
            ),
            (
                "no lifecycle",
                |f| f.lifecycle = Ok(None),
                &["state-bucket-lifecycle"],
            ),
            (
                "short noncurrent retention",
                |f| {
                    f.lifecycle = Ok(Some(vec![LifecycleRule {
                        id: "r".into(),
                        enabled: true,
                        applies_to_state: true,
                        noncurrent_expiration_days: Some(30),
                        current_expiration_days: None,
                    }]))
                },
                &["state-bucket-lifecycle"],
            ),
            (
                "expires current versions",
                |f| {
                    f.lifecycle = Ok(Some(vec![LifecycleRule {
                        id: "r".into(),
                        enabled: true,
                        applies_to_state: true,
                        noncurrent_expiration_days: Some(90),
                        current_expiration_days: Some(30),
                    }]))
                },
                &["state-bucket-lifecycle"],
            ),
            (
                "table missing",
                |f| f.lock_table = Ok(TableFact::Missing),
                &["lock-table"],
            ),
            (
                "wrong key",
                |f| f.lock_table = Ok(TableFact::Found(Some(("id".into(), "S".into())))),
                &["lock-table"],
            ),
            (
                "stale lock",
                |f| {
                    f.lock = Ok(LockStatus {
                        locked: true,
                        backends: vec![],
                        lock: Some(LockInfo::new(
                            "b/k",
                            "OperationTypeApply",
                            "",
                            NOW - time::Duration::hours(5),
                        )),
                        age_seconds: Some(5 * 3600),
                        broken: false,
                        problems: vec![],
                        configured: vec![],
                        mechanisms: vec![],
                    })
                },
                &["stale-lock"],
            ),
            (
                "digest mismatch",
                |f| {
                    f.digest = Ok(DigestStatus {
                        stored: Some("a".into()),
                        actual: Some("b".into()),
                        consistent: false,
                        digest_kept: true,
                    })
                },
                &["digest"],
            ),
            (
                "corrupt current",
                |f| {
                    f.current = Ok(CurrentFact::Unhealthy {
                        version_id: "v".into(),
                        problem: "truncated".into(),
                        last_good: Some("g".into()),
                    })
                },
                &["latest-state"],
            ),
            (
                "old snapshot",
                |f| {
                    f.snapshot = Ok(SnapshotFact::Newest {
                        id: "s".into(),
                        created: NOW - time::Duration::hours(3),
                        verified: Ok(()),
                    })
                },
                &["snapshot"],
            ),
            (
                "tampered snapshot",
                |f| {
                    f.snapshot = Ok(SnapshotFact::Newest {
                        id: "s".into(),
                        created: NOW,
                        verified: Err("sha256 differs".into()),
                    })
                },
                &["snapshot"],
            ),
            (
                "rds backups off",
                |f| {
                    if let Ok(r) = &mut f.rds {
                        r[0].backup_retention_days = Some(0)
                    }
                },
                &["rds-backups:aws_db_instance.mlflow"],
            ),
            (
                "node group degraded",
                |f| {
                    if let Ok(e) = &mut f.eks {
                        e[0].nodegroups[0].1 = "DEGRADED".into()
                    }
                },
                &["eks:module.eks.aws_eks_cluster.this"],
            ),
            (
                "an unreadable fact fails, never aborts",
                |f| f.versioning = Err("AccessDenied".into()),
                &["state-bucket-versioning"],
            ),
        ];
        for (name, brk, want) in cases {
            let mut f = good();
            brk(&mut f);
            assert_eq!(failing(&f), want.to_vec(), "{name}");
        }
    }

    #[test]
    fn a_young_lock_and_no_snapshot_store_only_warn() {
        let mut f = good();
        f.lock = Ok(LockStatus {
            locked: true,
            backends: vec![],
            lock: Some(LockInfo::new("b/k", "OperationTypeApply", "", NOW)),
            age_seconds: Some(60),
            broken: false,
            problems: vec![],
            configured: vec![],
            mechanisms: vec![],
        });
        f.snapshot = Ok(SnapshotFact::NotConfigured);
        let all = checks(&f, &Objectives::default(), NOW);
        let s = summarise(&all);
        assert_eq!((s.warn, s.fail), (2, 0), "{all:#?}");
    }
}
