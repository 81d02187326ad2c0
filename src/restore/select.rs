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

/// How many versions' header facts a search reads first (newest first).
pub const FIRST_HEADER_WINDOW: usize = 64;

/// Whether the header facts of the newest versions settle what `restore`
/// decides from the history, or how many of the newest to read instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Yes,
    /// Read the newest this many (more than were read; at most all).
    ReadNewest(usize),
}

/// What restore needs of a history it reads newest first, judged from the
/// facts of the newest `facts.len()` versions of `total` (`headers[i]`: the
/// serial and lineage the first bytes of version `i` name, kept even when the
/// version is corrupt). Pure.
///
/// Settled when (1) the reference lineage is known: every read version
/// that names a lineage names the same one and at least
/// [`FIRST_HEADER_WINDOW`] were read (no evidence of another lineage), or,
/// when another lineage shows, the leading one is held by more of the read
/// versions than any other lineage, by more than the number still unread; (2) the highest serial of that lineage is known: a read
/// version of it names one, and serials only grow within a lineage, so no
/// older version has a higher one (see [`highest_serial`]); and (3) the
/// newest healthy candidate of that lineage has its older neighbour of the
/// same lineage among the read versions (for the shrink check). Otherwise: how many to read, at least twice as
/// many, and at once as many as (1) needs if every unread version were of
/// the leading lineage.
pub fn headers_settle(
    facts: &[VersionFacts],
    headers: &[Option<(u64, &str)>],
    total: usize,
) -> Settled {
    let read = facts.len();
    if read >= total {
        return Settled::Yes;
    }
    let unread = total - read;
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for f in facts.iter().filter(|f| !f.delete_marker) {
        if let Some(l) = f.content.lineage() {
            match counts.iter_mut().find(|(x, _)| *x == l) {
                Some(c) => c.1 += 1,
                None => counts.push((l, 1)),
            }
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    let (lead, lead_n) = counts.first().copied().unwrap_or(("", 0));
    let second = counts.get(1).map_or(0, |c| c.1);
    let more = |need: usize| Settled::ReadNewest(need.max(read * 2).max(read + 1).min(total));
    // No evidence of a lineage change: every read version that names a
    // lineage (the first window at least) names one. That lineage, the
    // current state's, is the history's; an older lineage further back was
    // replaced by it and has not been applied since. Only when another
    // lineage shows among them is the count over the whole history needed.
    let one_lineage = counts.len() == 1 && read >= FIRST_HEADER_WINDOW;
    if !one_lineage && lead_n <= second + unread {
        // lead + x > second + (unread - x)  =>  x > (second + unread - lead) / 2
        let x = (second + unread - lead_n) / 2 + 1;
        return more(read + x);
    }
    if matches!(highest_serial(headers, total, lead), Highest::ReadMore) {
        return more(0);
    }
    let health = crate::state::health::assess(facts);
    let candidate = facts.iter().zip(&health).position(|(f, h)| {
        !f.delete_marker && h.status == Status::Ok && f.content.lineage() == Some(lead)
    });
    match candidate {
        Some(i) if has_older_of_lineage(facts, i) => Settled::Yes,
        // No healthy version among them, or only the oldest read.
        _ => more(0),
    }
}

/// Whether a version older than `i` has the lineage of version `i` (the
/// one its shrink check compares with). Pure.
pub fn has_older_of_lineage(facts: &[VersionFacts], i: usize) -> bool {
    let Some(lineage) = facts.get(i).and_then(|f| f.content.lineage()) else {
        return false;
    };
    facts[i + 1..]
        .iter()
        .any(|o| !o.delete_marker && o.content.lineage() == Some(lineage))
}

/// The highest serial of a lineage, as far as header facts read newest first
/// tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Highest {
    /// Certain (`None`: the lineage names no serial in the whole history).
    Certain(Option<u64>),
    /// Not yet: an older version may hold it.
    ReadMore,
}

/// The highest serial `lineage` has used, from the serial and lineage the
/// newest `headers.len()` of `total` versions name (newest first). Serials
/// only grow within a lineage, so it is certain as soon as one version of
/// the lineage with a serial was read: the newest such one holds the highest
/// (the maximum of those read is returned all the same). Pure.
pub fn highest_serial(headers: &[Option<(u64, &str)>], total: usize, lineage: &str) -> Highest {
    let found = max_serial(headers.iter().flatten().copied(), lineage);
    match found {
        Some(s) => Highest::Certain(Some(s)),
        None if headers.len() >= total => Highest::Certain(None),
        None => Highest::ReadMore,
    }
}

/// Where `serial:N` is, from the serials the newest versions' headers name
/// (newest first, `None` where unknown): the first that names it. Serials
/// only grow within a lineage, so the newest version naming it is the one
/// `serial:N` means; the caller checks it with a whole read. Pure.
pub fn find_serial(serials: &[Option<u64>], serial: u64) -> Option<usize> {
    serials.iter().position(|s| *s == Some(serial))
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

    fn h(serial: u64, lineage: &str) -> Option<(u64, &str)> {
        Some((serial, lineage))
    }

    #[test]
    fn highest_serial_stops_at_the_newest_version_of_the_lineage() {
        type Case = (
            &'static str,
            Vec<Option<(u64, &'static str)>>,
            usize,
            Highest,
        );
        let cases: Vec<Case> = vec![
            (
                "newest names it",
                vec![h(9, "L"), h(8, "L")],
                100,
                Highest::Certain(Some(9)),
            ),
            (
                "behind another lineage",
                vec![h(50, "X"), None, h(7, "L")],
                100,
                Highest::Certain(Some(7)),
            ),
            (
                "only others read so far",
                vec![h(50, "X"), None],
                100,
                Highest::ReadMore,
            ),
            (
                "all read, none of it",
                vec![h(50, "X"), None],
                2,
                Highest::Certain(None),
            ),
            ("nothing read", vec![], 3, Highest::ReadMore),
            // A lower serial newer than a higher one (a regress): the maximum.
            (
                "regress",
                vec![h(3, "L"), h(5, "L")],
                10,
                Highest::Certain(Some(5)),
            ),
        ];
        for (name, headers, total, want) in cases {
            assert_eq!(highest_serial(&headers, total, "L"), want, "{name}");
        }
    }

    #[test]
    fn find_serial_is_the_newest_naming_it() {
        let serials = [Some(9), None, Some(7), Some(7), Some(3)];
        assert_eq!(find_serial(&serials, 7), Some(2));
        assert_eq!(find_serial(&serials, 9), Some(0));
        assert_eq!(find_serial(&serials, 4), None);
        assert_eq!(find_serial(&[], 1), None);
    }

    #[test]
    fn headers_settle_table() {
        let l = "L";
        let heads = |f: &[VersionFacts]| -> Vec<Option<(u64, String)>> {
            f.iter()
                .map(|v| v.content.serial_lineage().map(|(s, l)| (s, l.to_owned())))
                .collect()
        };
        let run = |facts: Vec<VersionFacts>, total: usize| {
            let hs = heads(&facts);
            let hs: Vec<Option<(u64, &str)>> = hs
                .iter()
                .map(|o| o.as_ref().map(|(s, l)| (*s, l.as_str())))
                .collect();
            headers_settle(&facts, &hs, total)
        };
        let ls = |n: u64, lineage: &'static str| -> Vec<VersionFacts> {
            (0..n)
                .map(|i| ok(&format!("v{i}"), 1000 - i, lineage, None))
                .collect()
        };
        // Everything read: settled whatever it holds.
        assert_eq!(run(ls(3, l), 3), Settled::Yes);
        assert_eq!(run(vec![corrupt("c")], 1), Settled::Yes);
        // One lineage in the first window: no evidence of another, settled.
        assert_eq!(run(ls(64, l), 1000), Settled::Yes);
        assert_eq!(run(ls(64, l), 100), Settled::Yes);
        // Fewer than the first window read: the count decides.
        assert_eq!(run(ls(63, l), 1000), Settled::ReadNewest(501));
        assert_eq!(run(ls(10, l), 12), Settled::Yes);
        // Another lineage older in the window is evidence: the count over
        // the whole history decides (it must outnumber every unread one).
        let mut changed = ls(60, l);
        changed.extend(ls(4, "X"));
        assert_eq!(run(changed.clone(), 1000), Settled::ReadNewest(505));
        let mut more_read = ls(501, l);
        more_read.extend(ls(4, "X"));
        assert_eq!(run(more_read, 1000), Settled::Yes);
        // Corrupt versions (no lineage) are no evidence of another lineage.
        let mut with_corrupt = vec![corrupt("c")];
        with_corrupt.extend(ls(63, l));
        assert_eq!(run(with_corrupt, 1000), Settled::Yes);
        // A foreign lineage on top: the leading one must still win the count.
        let mut mixed = ls(2, "X");
        mixed.extend(ls(62, l));
        assert_eq!(run(mixed.clone(), 100), Settled::Yes);
        assert_eq!(run(mixed, 130), Settled::ReadNewest(128));
        // The leading lineage's newest readable version is corrupt with no
        // serial in the header read: still settled by the next one.
        let mut c = vec![corrupt("c")];
        c.extend(ls(10, l));
        assert_eq!(run(c, 12), Settled::Yes);
        // The newer version regresses, so the candidate is the oldest read:
        // its shrink neighbour is unread, read more.
        let regress = vec![ok("a", 3, l, None), ok("b", 5, l, None)];
        assert_eq!(run(regress, 3), Settled::ReadNewest(3));
        // No candidate at all among many read: the counts decide.
        let none: Vec<VersionFacts> = (0..40).map(|i| corrupt(&format!("c{i}"))).collect();
        assert_eq!(run(none, 100), Settled::ReadNewest(80));
    }
}
