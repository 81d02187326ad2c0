//! Choosing the last known-good version: a pure function of what is known
//! about each version and its health (newest first).

use serde::Serialize;

use crate::live::LiveMatch;
use crate::state::health::{reference_lineage, Content, Health, Status, VersionFacts};

/// A newer version that `--last-good` did not choose, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PassedOver {
    pub version_id: String,
    pub reason: String,
}

/// The outcome of the selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// Index (into the history) of the chosen version.
    Chosen(usize),
    /// The version at this index needs its whole body read (only its header
    /// is known, or its older neighbour's resource count is unknown) before
    /// it can be judged.
    NeedsFullRead(usize),
    /// No version qualifies.
    NoneGood,
}

/// Whether `facts` is known from a full read (resource count known).
fn fully_read(c: &Content) -> bool {
    matches!(
        c,
        Content::Parsed {
            resource_count: Some(_),
            ..
        }
    )
}

/// The newest version that is `ok`, of the reference lineage, and not a
/// suspicious shrink. A candidate whose health depends on content not yet
/// read yields [`Pick::NeedsFullRead`] for the version to read next.
pub fn pick_last_good(facts: &[VersionFacts], health: &[Health]) -> Pick {
    pick_last_good_from(facts, health, 0)
}

/// [`pick_last_good`] among the versions at `start` and older (the next
/// healthy candidate after one already found).
pub fn pick_last_good_from(facts: &[VersionFacts], health: &[Health], start: usize) -> Pick {
    let reference = reference_lineage(facts).map(str::to_owned);
    for (i, (f, h)) in facts.iter().zip(health).enumerate().skip(start) {
        if f.delete_marker || h.status != Status::Ok {
            continue;
        }
        let Content::Parsed { lineage, .. } = &f.content else {
            continue;
        };
        if reference.as_deref().is_some_and(|r| r != lineage) {
            continue;
        }
        if !fully_read(&f.content) {
            return Pick::NeedsFullRead(i);
        }
        // The shrink check compares with the next older readable version of
        // the same lineage: it must be fully read too.
        if let Some(j) = facts[i + 1..]
            .iter()
            .position(|o| {
                !o.delete_marker
                    && matches!(&o.content, Content::Parsed { lineage: l, .. } if l == lineage)
            })
            .map(|p| p + i + 1)
        {
            if !fully_read(&facts[j].content) {
                return Pick::NeedsFullRead(j);
            }
        }
        return Pick::Chosen(i);
    }
    Pick::NoneGood
}

/// Why each version newer than `chosen` was passed over.
pub fn passed_over(facts: &[VersionFacts], health: &[Health], chosen: usize) -> Vec<PassedOver> {
    let reference = reference_lineage(facts);
    facts
        .iter()
        .zip(health)
        .take(chosen)
        .map(|(f, h)| {
            let reason = if f.delete_marker {
                "a delete marker (the state object was deleted)".to_owned()
            } else if h.status != Status::Ok {
                format!("{}: {}", h.status.as_str(), h.problems.join("; "))
            } else {
                match (&f.content, reference) {
                    (Content::Parsed { lineage, .. }, Some(r)) if lineage != r => {
                        format!("lineage {lineage} is not the history's lineage {r}")
                    }
                    _ => "not chosen".to_owned(),
                }
            };
            PassedOver {
                version_id: f.version_id.clone(),
                reason,
            }
        })
        .collect()
}

/// Among healthy candidates (newest first) with how each matches live AWS,
/// the index of the one that matches best: the most resources that exist and
/// match, then the fewest missing or changed, then the newest. `None` when
/// live AWS cannot tell them apart because nothing in any was checked.
pub fn best_live(candidates: &[LiveMatch]) -> Option<usize> {
    if candidates.iter().all(|c| c.checked == 0) {
        return None;
    }
    let key = |c: &LiveMatch| (c.matching, std::cmp::Reverse(c.missing + c.changed));
    let mut best = 0;
    for (i, c) in candidates.iter().enumerate().skip(1) {
        // Strictly better only: on a tie the newer one stays.
        if key(c) > key(&candidates[best]) {
            best = i;
        }
    }
    Some(best)
}

/// The highest serial among `(serial, lineage)` pairs of `lineage`: every
/// serial the lineage has used, whatever read revealed it.
pub fn max_serial<'a>(
    seen: impl IntoIterator<Item = (u64, &'a str)>,
    lineage: &str,
) -> Option<u64> {
    seen.into_iter()
        .filter(|(_, l)| *l == lineage)
        .map(|(s, _)| s)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::health::assess;
    use crate::state::health::fixtures::{corrupt, deleted, ok};

    fn m(checked: usize, matching: usize, missing: usize, changed: usize) -> LiveMatch {
        LiveMatch {
            resources: checked,
            checked,
            matching,
            missing,
            changed,
        }
    }

    #[test]
    fn best_live_match_table() {
        let cases: &[(&str, Vec<LiveMatch>, Option<usize>)] = &[
            (
                "nothing checkable anywhere",
                vec![m(0, 0, 0, 0), m(0, 0, 0, 0)],
                None,
            ),
            (
                "newest matches fully",
                vec![m(10, 10, 0, 0), m(8, 8, 0, 0)],
                Some(0),
            ),
            (
                "tie on everything: newest",
                vec![m(5, 5, 0, 0), m(5, 5, 0, 0)],
                Some(0),
            ),
            // The newer version records a bucket destroyed since: the older matches exactly.
            (
                "same matches, fewer missing",
                vec![m(3, 2, 1, 0), m(2, 2, 0, 0)],
                Some(1),
            ),
            // An older version that lacks 50 resources live AWS has is worse
            // than a newer one with one changed tag.
            (
                "more matching beats fewer mismatches",
                vec![m(100, 99, 0, 1), m(50, 50, 0, 0)],
                Some(0),
            ),
            (
                "older matches more",
                vec![m(10, 4, 6, 0), m(10, 9, 0, 1), m(10, 9, 1, 0)],
                Some(1),
            ),
            (
                "only an older one checkable",
                vec![m(0, 0, 0, 0), m(2, 1, 1, 0)],
                Some(1),
            ),
        ];
        for (name, cands, want) in cases {
            assert_eq!(best_live(cands), *want, "{name}");
        }
        assert_eq!(best_live(&[]), None);
    }

    fn pick(facts: &[VersionFacts]) -> Pick {
        pick_last_good(facts, &assess(facts))
    }

    #[test]
    fn table() {
        let l = "L";
        let cases: Vec<(&str, Vec<VersionFacts>, Pick)> = vec![
            (
                "healthy latest",
                vec![ok("v3", 3, l, Some(5)), ok("v2", 2, l, Some(5))],
                Pick::Chosen(0),
            ),
            (
                "corrupt latest",
                vec![
                    corrupt("v3"),
                    ok("v2", 2, l, Some(5)),
                    ok("v1", 1, l, Some(5)),
                ],
                Pick::Chosen(1),
            ),
            (
                "deleted",
                vec![
                    deleted("d"),
                    ok("v2", 2, l, Some(5)),
                    ok("v1", 1, l, Some(5)),
                ],
                Pick::Chosen(1),
            ),
            (
                "foreign lineage on top",
                vec![
                    ok("x", 9, "OTHER", Some(5)),
                    ok("v2", 2, l, Some(5)),
                    ok("v1", 1, l, Some(5)),
                ],
                Pick::Chosen(1),
            ),
            (
                "shrink is passed over",
                vec![
                    ok("v3", 3, l, Some(1)),
                    ok("v2", 2, l, Some(10)),
                    ok("v1", 1, l, Some(10)),
                ],
                Pick::Chosen(1),
            ),
            (
                "header only: read it",
                vec![ok("v2", 2, l, None), ok("v1", 1, l, None)],
                Pick::NeedsFullRead(0),
            ),
            (
                "neighbour unknown: read it",
                vec![ok("v2", 2, l, Some(4)), ok("v1", 1, l, None)],
                Pick::NeedsFullRead(1),
            ),
            (
                "oldest alone",
                vec![corrupt("v2"), ok("v1", 1, l, Some(3))],
                Pick::Chosen(1),
            ),
            (
                "nothing good",
                vec![corrupt("v2"), deleted("d")],
                Pick::NoneGood,
            ),
        ];
        for (name, facts, want) in cases {
            assert_eq!(pick(&facts), want, "{name}");
        }
    }

    #[test]
    fn explains_every_newer_version() {
        let facts = vec![
            deleted("d"),
            corrupt("c"),
            ok("x", 9, "OTHER", Some(5)),
            ok("v2", 2, "L", Some(5)),
            ok("v1", 1, "L", Some(5)),
        ];
        let health = assess(&facts);
        assert_eq!(pick_last_good(&facts, &health), Pick::Chosen(3));
        let why = passed_over(&facts, &health, 3);
        assert_eq!(why.len(), 3);
        assert!(why[0].reason.contains("delete marker"));
        assert!(why[1].reason.starts_with("corrupt"), "{}", why[1].reason);
        assert!(
            why[2].reason.contains("foreign-lineage"),
            "{}",
            why[2].reason
        );
    }

    #[test]
    fn max_serial_spans_the_lineage_only() {
        let facts = [
            ok("x", 99, "OTHER", None),
            ok("b", 7, "L", None),
            corrupt("c"),
            ok("a", 4, "L", Some(1)),
        ];
        let seen = || facts.iter().filter_map(|f| f.content.serial_lineage());
        assert_eq!(max_serial(seen(), "L"), Some(7));
        assert_eq!(max_serial(seen(), "NONE"), None);
    }
}
