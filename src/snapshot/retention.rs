//! Which snapshots a retention policy keeps: a pure function of
//! (snapshots, policy, now), modelled on restic's `forget`.
//!
//! Snapshots are considered newest first. Each rule keeps snapshots
//! independently; a snapshot is kept when any rule keeps it, and the reasons
//! of every rule that kept it are listed:
//!
//! | rule | keeps | reason |
//! |---|---|---|
//! | `keep_last N` | the N newest snapshots | `last` |
//! | `keep_hourly N` | the newest snapshot of each of the last N hours *that have snapshots* | `hourly` |
//! | `keep_daily N` | the same per calendar day (UTC) | `daily` |
//! | `keep_weekly N` | the same per ISO-8601 week (Monday to Sunday, UTC; ISO week-year) | `weekly` |
//! | `keep_monthly N` | the same per calendar month (UTC) | `monthly` |
//! | `keep_within D` | every snapshot created at or after `now - D` (and any dated in the future) | `within D` |
//!
//! As in restic, "the last N days" means the N most recent days on which a
//! snapshot was taken, not the N calendar days before `now`: a state that
//! has not changed for a month still keeps N daily snapshots.
//!
//! Two rules restic does not have:
//! - the newest *healthy* snapshot is always kept (reason `newest healthy`),
//!   whatever the policy says, so a prune can never leave nothing to restore;
//! - an empty policy keeps everything (reason `no policy`): restic refuses to
//!   run without a policy, we make the safe choice explicit instead, so
//!   `snapshot prune` on an environment without `retention` deletes nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use time::{OffsetDateTime, UtcOffset};

/// One snapshot as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub created: OffsetDateTime,
    /// Whether its content verified as a healthy state.
    pub healthy: bool,
}

/// `keep_within`: a duration and how it was written (for the reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Within {
    pub duration: Duration,
    pub text: String,
}

impl Within {
    /// Parses `30d`, `12h`, `2w`, `1h30m` (`m` is minutes); a bare number is seconds.
    pub fn parse(text: &str) -> Result<Within, String> {
        let duration = crate::util::duration::parse_flag(text.trim())?;
        Ok(Within {
            duration,
            text: text.trim().to_owned(),
        })
    }
}

/// A retention policy. `None` means the rule is not used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub keep_last: Option<u32>,
    pub keep_hourly: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_within: Option<Within>,
}

impl Policy {
    /// The environment file's `retention` block as a policy; its
    /// `keep_within` is parsed here (an unreadable one is the error).
    pub fn from_settings(r: &crate::config::RetentionSettings) -> Result<Policy, String> {
        Ok(Policy {
            keep_last: r.keep_last,
            keep_hourly: r.keep_hourly,
            keep_daily: r.keep_daily,
            keep_weekly: r.keep_weekly,
            keep_monthly: r.keep_monthly,
            keep_within: match &r.keep_within {
                Some(t) => Some(
                    Within::parse(t)
                        .map_err(|e| format!("keep_within {t:?} in the environment file: {e}"))?,
                ),
                None => None,
            },
        })
    }

    /// Whether no rule is set.
    pub fn is_empty(&self) -> bool {
        self == &Policy::default()
    }

    /// `self` with every rule set in `higher` replaced by it (flags over the file).
    pub fn overlay(self, higher: Policy) -> Policy {
        Policy {
            keep_last: higher.keep_last.or(self.keep_last),
            keep_hourly: higher.keep_hourly.or(self.keep_hourly),
            keep_daily: higher.keep_daily.or(self.keep_daily),
            keep_weekly: higher.keep_weekly.or(self.keep_weekly),
            keep_monthly: higher.keep_monthly.or(self.keep_monthly),
            keep_within: higher.keep_within.or(self.keep_within),
        }
    }
}

/// A kept snapshot and every reason it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Kept {
    pub id: String,
    #[schemars(
        length(min = 1),
        inner(regex(
            pattern = "^(last|hourly|daily|weekly|monthly|within .+|newest healthy|no policy)$"
        ))
    )]
    pub reasons: Vec<String>,
}

/// The outcome: what to keep (with reasons) and what to forget, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub keep: Vec<Kept>,
    pub forget: Vec<String>,
}

/// Reason for the newest healthy snapshot.
pub const NEWEST_HEALTHY: &str = "newest healthy";
/// Reason for every snapshot when the policy is empty.
pub const NO_POLICY: &str = "no policy";

/// Decides which snapshots `policy` keeps at time `now`. Pure: no I/O, no clock.
pub fn decide(snapshots: &[Item], policy: &Policy, now: OffsetDateTime) -> Decision {
    let mut items: Vec<&Item> = snapshots.iter().collect();
    items.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));

    let mut reasons: Vec<Vec<String>> = vec![Vec::new(); items.len()];
    let newest_healthy = items.iter().position(|i| i.healthy);

    if policy.is_empty() {
        for r in reasons.iter_mut() {
            r.push(NO_POLICY.to_owned());
        }
    } else {
        if let Some(n) = policy.keep_last {
            for r in reasons.iter_mut().take(n as usize) {
                r.push("last".to_owned());
            }
        }
        let bucketed: [(Option<u32>, &str, BucketOf); 4] = [
            (policy.keep_hourly, "hourly", hour_bucket),
            (policy.keep_daily, "daily", day_bucket),
            (policy.keep_weekly, "weekly", week_bucket),
            (policy.keep_monthly, "monthly", month_bucket),
        ];
        for (limit, reason, bucket_of) in bucketed {
            let Some(limit) = limit else { continue };
            // Newest first: the first snapshot met in a bucket is its newest.
            let mut seen: BTreeMap<i64, ()> = BTreeMap::new();
            for (i, item) in items.iter().enumerate() {
                if seen.len() >= limit as usize {
                    break;
                }
                let b = bucket_of(item.created.to_offset(UtcOffset::UTC));
                if seen.insert(b, ()).is_none() {
                    reasons[i].push(reason.to_owned());
                }
            }
        }
        if let Some(within) = &policy.keep_within {
            let since = now - within.duration;
            for (i, item) in items.iter().enumerate() {
                if item.created >= since {
                    reasons[i].push(format!("within {}", within.text));
                }
            }
        }
    }
    if let Some(i) = newest_healthy {
        reasons[i].push(NEWEST_HEALTHY.to_owned());
    }

    let mut decision = Decision::default();
    for (item, reasons) in items.into_iter().zip(reasons) {
        if reasons.is_empty() {
            decision.forget.push(item.id.clone());
        } else {
            decision.keep.push(Kept {
                id: item.id.clone(),
                reasons,
            });
        }
    }
    decision
}

/// Maps a UTC time to its hour, day, week or month.
type BucketOf = fn(OffsetDateTime) -> i64;

fn day_bucket(t: OffsetDateTime) -> i64 {
    t.date().to_julian_day() as i64
}

fn hour_bucket(t: OffsetDateTime) -> i64 {
    day_bucket(t) * 24 + t.hour() as i64
}

fn week_bucket(t: OffsetDateTime) -> i64 {
    let (year, week, _) = t.date().to_iso_week_date();
    year as i64 * 100 + week as i64
}

fn month_bucket(t: OffsetDateTime) -> i64 {
    t.year() as i64 * 100 + t.month() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::format_description::well_known::Rfc3339;

    fn at(s: &str) -> OffsetDateTime {
        OffsetDateTime::parse(s, &Rfc3339).unwrap()
    }

    #[test]
    fn the_environment_files_retention_becomes_a_checked_policy() {
        use crate::config::RetentionSettings;
        let file = RetentionSettings {
            keep_last: Some(3),
            keep_daily: Some(7),
            keep_within: Some(" 30d".into()),
            ..RetentionSettings::default()
        };
        let p = Policy::from_settings(&file).unwrap();
        assert_eq!(
            p,
            Policy {
                keep_last: Some(3),
                keep_daily: Some(7),
                keep_within: Some(Within {
                    duration: Duration::from_secs(30 * 86_400),
                    text: "30d".into()
                }),
                ..Policy::default()
            }
        );
        assert!(Policy::from_settings(&RetentionSettings::default())
            .unwrap()
            .is_empty());
        let bad = RetentionSettings {
            keep_within: Some("soon".into()),
            ..RetentionSettings::default()
        };
        let e = Policy::from_settings(&bad).unwrap_err();
        assert!(
            e.starts_with("keep_within \"soon\" in the environment file: "),
            "{e}"
        );
    }

    const NOW: &str = "2026-11-22T12:00:00Z";

    /// (id, created): newest first; ISO weeks noted.
    const SNAPSHOTS: &[(&str, &str)] = &[
        ("s01", "2026-11-22T11:30:00Z"), // Sun, W47
        ("s02", "2026-11-22T11:10:00Z"), // same hour as s01
        ("s03", "2026-11-22T09:00:00Z"),
        ("s04", "2026-11-21T23:00:00Z"), // Sat, W47
        ("s05", "2026-11-21T08:00:00Z"),
        ("s06", "2026-11-20T12:00:00Z"), // Fri, W47, exactly now - 2d
        ("s07", "2026-11-16T12:00:00Z"), // Mon, W47
        ("s08", "2026-11-15T12:00:00Z"), // Sun, W46
        ("s09", "2026-11-09T12:00:00Z"), // Mon, W46
        ("s10", "2026-11-01T12:00:00Z"), // Sun, W44
        ("s11", "2026-10-31T12:00:00Z"), // Sat, W44
        ("s12", "2026-10-15T12:00:00Z"), // W42
        ("s13", "2026-09-30T12:00:00Z"), // W40
        ("s14", "2026-08-01T12:00:00Z"), // W31
        ("s15", "2025-12-31T12:00:00Z"), // ISO week 2026-W01
    ];

    fn items(unhealthy: &[&str]) -> Vec<Item> {
        // Deliberately not in order: the function sorts.
        let mut v: Vec<Item> = SNAPSHOTS
            .iter()
            .map(|(id, t)| Item {
                id: id.to_string(),
                created: at(t),
                healthy: !unhealthy.contains(id),
            })
            .collect();
        v.reverse();
        v.swap(0, 7);
        v
    }

    fn within(text: &str) -> Option<Within> {
        Some(Within::parse(text).unwrap())
    }

    struct Case {
        name: &'static str,
        policy: Policy,
        unhealthy: &'static [&'static str],
        /// (id, reasons) kept, newest first; everything else is forgotten.
        keep: &'static [(&'static str, &'static [&'static str])],
    }

    fn cases() -> Vec<Case> {
        let p = Policy::default;
        vec![
            Case {
                name: "empty policy keeps everything",
                policy: p(),
                unhealthy: &[],
                keep: &[
                    ("s01", &["no policy", "newest healthy"]),
                    ("s02", &["no policy"]),
                    ("s03", &["no policy"]),
                    ("s04", &["no policy"]),
                    ("s05", &["no policy"]),
                    ("s06", &["no policy"]),
                    ("s07", &["no policy"]),
                    ("s08", &["no policy"]),
                    ("s09", &["no policy"]),
                    ("s10", &["no policy"]),
                    ("s11", &["no policy"]),
                    ("s12", &["no policy"]),
                    ("s13", &["no policy"]),
                    ("s14", &["no policy"]),
                    ("s15", &["no policy"]),
                ],
            },
            Case {
                name: "keep-last 3",
                policy: Policy { keep_last: Some(3), ..p() },
                unhealthy: &[],
                keep: &[
                    ("s01", &["last", "newest healthy"]),
                    ("s02", &["last"]),
                    ("s03", &["last"]),
                ],
            },
            Case {
                name: "keep-last 1",
                policy: Policy { keep_last: Some(1), ..p() },
                unhealthy: &[],
                keep: &[("s01", &["last", "newest healthy"])],
            },
            Case {
                name: "keep-last 0 still keeps the newest healthy",
                policy: Policy { keep_last: Some(0), ..p() },
                unhealthy: &[],
                keep: &[("s01", &["newest healthy"])],
            },
            Case {
                name: "keep-last more than there are",
                policy: Policy { keep_last: Some(100), ..p() },
                unhealthy: &["s01"],
                keep: &[
                    ("s01", &["last"]),
                    ("s02", &["last", "newest healthy"]),
                    ("s03", &["last"]),
                    ("s04", &["last"]),
                    ("s05", &["last"]),
                    ("s06", &["last"]),
                    ("s07", &["last"]),
                    ("s08", &["last"]),
                    ("s09", &["last"]),
                    ("s10", &["last"]),
                    ("s11", &["last"]),
                    ("s12", &["last"]),
                    ("s13", &["last"]),
                    ("s14", &["last"]),
                    ("s15", &["last"]),
                ],
            },
            Case {
                name: "keep-hourly 3: one per hour that has snapshots",
                policy: Policy { keep_hourly: Some(3), ..p() },
                unhealthy: &[],
                keep: &[
                    ("s01", &["hourly", "newest healthy"]),
                    ("s03", &["hourly"]),
                    ("s04", &["hourly"]),
                ],
            },
            Case {
                name: "keep-daily 3",
                policy: Policy { keep_daily: Some(3), ..p() },
                unhealthy: &[],
                keep: &[
                    ("s01", &["daily", "newest healthy"]),
                    ("s04", &["daily"]),
                    ("s06", &["daily"]),
                ],
            },
            Case {
                name: "keep-daily counts days with snapshots, not calendar days",
                policy: Policy { keep_daily: Some(6), ..p() },
                unhealthy: &[],
                keep: &[
                    ("s01", &["daily", "newest healthy"]),
                    ("s04", &["daily"]),
                    ("s06", &["daily"]),
                    ("s07", &["daily"]),
                    ("s08", &["daily"]),
                    ("s09", &["daily"]),
                ],
            },
            Case {
                name: "keep-weekly 3: ISO weeks, Monday to Sunday",
                policy: Policy { keep_weekly: Some(3), ..p() },
                unhealthy: &[],
                keep: &[
                    ("s01", &["weekly", "newest healthy"]),
                    ("s08", &["weekly"]),
                    ("s10", &["weekly"]),
                ],
            },
            Case {
                name: "keep-weekly 10: 2025-12-31 is in ISO week 2026-W01",
                policy: Policy { keep_weekly: Some(10), ..p() },
                unhealthy: &[],
                keep: &[
                    ("s01", &["weekly", "newest healthy"]),
                    ("s08", &["weekly"]),
                    ("s10", &["weekly"]),
                    ("s12", &["weekly"]),
                    ("s13", &["weekly"]),
                    ("s14", &["weekly"]),
                    ("s15", &["weekly"]),
                ],
            },
            Case {
                name: "keep-monthly 3",
                policy: Policy { keep_monthly: Some(3), ..p() },
                unhealthy: &[],
                keep: &[
                    ("s01", &["monthly", "newest healthy"]),
                    ("s11", &["monthly"]),
                    ("s13", &["monthly"]),
                ],
            },
            Case {
                name: "keep-monthly across a year boundary",
                policy: Policy { keep_monthly: Some(12), ..p() },
                unhealthy: &[],
                keep: &[
                    ("s01", &["monthly", "newest healthy"]),
                    ("s11", &["monthly"]),
                    ("s13", &["monthly"]),
                    ("s14", &["monthly"]),
                    ("s15", &["monthly"]),
                ],
            },
            Case {
                name: "keep-within 2d: the boundary is kept",
                policy: Policy { keep_within: within("2d"), ..p() },
                unhealthy: &[],
                keep: &[
                    ("s01", &["within 2d", "newest healthy"]),
                    ("s02", &["within 2d"]),
                    ("s03", &["within 2d"]),
                    ("s04", &["within 2d"]),
                    ("s05", &["within 2d"]),
                    ("s06", &["within 2d"]),
                ],
            },
            Case {
                name: "keep-within 1h30m",
                policy: Policy { keep_within: within("1h30m"), ..p() },
                unhealthy: &[],
                keep: &[
                    ("s01", &["within 1h30m", "newest healthy"]),
                    ("s02", &["within 1h30m"]),
                ],
            },
            Case {
                name: "keep-within shorter than the newest snapshot's age keeps only the newest healthy",
                policy: Policy { keep_within: within("10m"), ..p() },
                unhealthy: &[],
                keep: &[("s01", &["newest healthy"])],
            },
            Case {
                name: "daily + monthly combine their reasons",
                policy: Policy { keep_daily: Some(2), keep_monthly: Some(2), ..p() },
                unhealthy: &[],
                keep: &[
                    ("s01", &["daily", "monthly", "newest healthy"]),
                    ("s04", &["daily"]),
                    ("s11", &["monthly"]),
                ],
            },
            Case {
                name: "every rule at once",
                policy: Policy {
                    keep_last: Some(2),
                    keep_hourly: Some(2),
                    keep_daily: Some(2),
                    keep_weekly: Some(2),
                    keep_monthly: Some(2),
                    keep_within: within("1d"),
                },
                unhealthy: &[],
                keep: &[
                    ("s01", &["last", "hourly", "daily", "weekly", "monthly", "within 1d", "newest healthy"]),
                    ("s02", &["last", "within 1d"]),
                    ("s03", &["hourly", "within 1d"]),
                    ("s04", &["daily", "within 1d"]),
                    ("s08", &["weekly"]),
                    ("s11", &["monthly"]),
                ],
            },
            Case {
                name: "unhealthy newest snapshots: the newest healthy one survives",
                policy: Policy { keep_last: Some(1), ..p() },
                unhealthy: &["s01", "s02"],
                keep: &[("s01", &["last"]), ("s03", &["newest healthy"])],
            },
            Case {
                name: "newest healthy is old and outside every rule",
                policy: Policy { keep_within: within("1d"), ..p() },
                unhealthy: &[
                    "s01", "s02", "s03", "s04", "s05", "s06", "s07", "s08", "s09", "s10", "s11",
                ],
                keep: &[
                    ("s01", &["within 1d"]),
                    ("s02", &["within 1d"]),
                    ("s03", &["within 1d"]),
                    ("s04", &["within 1d"]),
                    ("s12", &["newest healthy"]),
                ],
            },
            Case {
                name: "nothing healthy: only the policy applies",
                policy: Policy { keep_last: Some(1), ..p() },
                unhealthy: &[
                    "s01", "s02", "s03", "s04", "s05", "s06", "s07", "s08", "s09", "s10", "s11",
                    "s12", "s13", "s14", "s15",
                ],
                keep: &[("s01", &["last"])],
            },
        ]
    }

    #[test]
    fn policies_table() {
        let now = at(NOW);
        for case in cases() {
            let d = decide(&items(case.unhealthy), &case.policy, now);
            let got: Vec<(String, Vec<String>)> = d
                .keep
                .iter()
                .map(|k| (k.id.clone(), k.reasons.clone()))
                .collect();
            let want: Vec<(String, Vec<String>)> = case
                .keep
                .iter()
                .map(|(id, r)| (id.to_string(), r.iter().map(|s| s.to_string()).collect()))
                .collect();
            assert_eq!(got, want, "{}", case.name);
            // Everything not kept is forgotten, newest first; nothing twice.
            let want_forget: Vec<String> = SNAPSHOTS
                .iter()
                .map(|(id, _)| id.to_string())
                .filter(|id| !case.keep.iter().any(|(k, _)| k == id))
                .collect();
            assert_eq!(d.forget, want_forget, "{}", case.name);
        }
    }

    #[test]
    fn no_snapshots_no_decision() {
        let d = decide(
            &[],
            &Policy {
                keep_last: Some(3),
                ..Policy::default()
            },
            at(NOW),
        );
        assert_eq!(d, Decision::default());
    }

    #[test]
    fn future_snapshots_are_within() {
        let snaps = [
            Item {
                id: "future".into(),
                created: at("2026-11-23T00:00:00Z"),
                healthy: false,
            },
            Item {
                id: "old".into(),
                created: at("2026-01-01T00:00:00Z"),
                healthy: true,
            },
        ];
        let policy = Policy {
            keep_within: within("1h"),
            ..Policy::default()
        };
        let d = decide(&snaps, &policy, at(NOW));
        assert_eq!(
            d.keep,
            vec![
                Kept {
                    id: "future".into(),
                    reasons: vec!["within 1h".into()]
                },
                Kept {
                    id: "old".into(),
                    reasons: vec!["newest healthy".into()]
                },
            ]
        );
        assert!(d.forget.is_empty());
    }

    #[test]
    fn time_zones_bucket_in_utc() {
        // 00:30 on the 22nd at +02:00 and 23:30 on the 21st at +02:00 are both the 21st in UTC.
        let snaps = [
            Item {
                id: "b".into(),
                created: at("2026-11-22T00:30:00+02:00"),
                healthy: true,
            },
            Item {
                id: "a".into(),
                created: at("2026-11-21T23:30:00+02:00"),
                healthy: true,
            },
        ];
        let policy = Policy {
            keep_daily: Some(2),
            ..Policy::default()
        };
        let d = decide(&snaps, &policy, at(NOW));
        assert_eq!(d.keep.len(), 1, "{d:?}");
        assert_eq!(d.forget, vec!["a".to_owned()]);
    }

    #[test]
    fn overlay_prefers_flags() {
        let file = Policy {
            keep_last: Some(5),
            keep_daily: Some(7),
            ..Policy::default()
        };
        let flags = Policy {
            keep_daily: Some(1),
            keep_within: within("30d"),
            ..Policy::default()
        };
        let p = file.overlay(flags);
        assert_eq!(p.keep_last, Some(5));
        assert_eq!(p.keep_daily, Some(1));
        assert_eq!(
            p.keep_within.unwrap().duration,
            Duration::from_secs(30 * 86400)
        );
        assert!(Within::parse("soon").is_err());
    }
}
