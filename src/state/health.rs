//! Assessing the health of a state object's version history.
//!
//! [`assess`] is a pure function over per-version facts ordered **newest
//! first** (as S3 lists versions). Each version gets a [`Health`]: one
//! [`Status`] and every problem found, as sentences.
//!
//! Rules (checked for every version; all problems are listed, the status is
//! the first applicable one in this precedence order):
//!
//! 1. `deleted`: the version is a delete marker.
//! 2. `encrypted`: an OpenTofu encrypted state (cannot be inspected).
//! 3. `corrupt`: not JSON, truncated, not format v4, required fields missing
//!    (whatever the caller classified as [`Content::Corrupt`]).
//! 4. `foreign-lineage`: its lineage differs from the reference lineage
//!    ([`reference_lineage`]: the lineage held by the most versions, ties
//!    broken in favour of the newest version's lineage).
//! 5. `serial-regress`: its serial is lower than the serial of some older
//!    version of the same lineage (the highest such serial is named).
//! 6. `suspicious-shrink`: compared with the previous (next older) version
//!    of the same lineage that is not a delete marker, was parsed, and has a
//!    known resource count, it lost more than half of its resources: the
//!    previous count is at least [`SHRINK_MIN_PREVIOUS`] and
//!    `2 * current < previous`. (Going from 1 to 0 resources is not flagged:
//!    a single resource is too small a sample.) Versions whose count is
//!    unknown (only a header was read) are neither flagged nor used as the
//!    comparison point.
//!
//! Versions with [`Content::Unknown`] (not fetched) that are not delete
//! markers get `ok` with no problems: nothing is known against them. Callers
//! should present them as unchecked. Encrypted versions with a plaintext
//! serial/lineage take part in the lineage vote and the serial checks.

use std::collections::HashMap;

use serde::Serialize;

use crate::state::header::{read_header, Header, HEADER_PREFIX_BYTES};
use crate::state::ParseError;

/// What is known about one object version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFacts {
    /// S3 version id (used to name versions in problem sentences).
    pub version_id: String,
    /// Whether the version is a delete marker.
    pub delete_marker: bool,
    /// What its content turned out to be.
    pub content: Content,
}

/// The content of a version, as far as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A v4 state (fully parsed, or only its header).
    Parsed {
        /// `serial`.
        serial: u64,
        /// `lineage`.
        lineage: String,
        /// Resource instance count; `None` when only the header was read.
        resource_count: Option<usize>,
        /// What is odd but readable (a repeated top-level key), as sentences.
        notes: Vec<String>,
    },
    /// Damaged or not a v4 state.
    Corrupt {
        /// Why, e.g. the parse error's message.
        problem: String,
    },
    /// An OpenTofu encrypted state.
    Encrypted {
        /// Plaintext serial, when present.
        serial: Option<u64>,
        /// Plaintext lineage, when present.
        lineage: Option<String>,
    },
    /// Not fetched.
    Unknown,
}

impl Content {
    /// `(serial, lineage)` when both are known (parsed, or plaintext in an
    /// encrypted state).
    pub fn serial_lineage(&self) -> Option<(u64, &str)> {
        match self {
            Content::Parsed {
                serial, lineage, ..
            } => Some((*serial, lineage)),
            Content::Encrypted {
                serial: Some(s),
                lineage: Some(l),
            } => Some((*s, l)),
            _ => None,
        }
    }

    /// The lineage the content names, when it names one.
    pub fn lineage(&self) -> Option<&str> {
        match self {
            Content::Parsed { lineage, .. } => Some(lineage),
            Content::Encrypted { lineage, .. } => lineage.as_deref(),
            _ => None,
        }
    }
}

/// The verdict on one version. Serialises kebab-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Nothing wrong found.
    Ok,
    /// Not JSON, truncated, not v4, required fields missing.
    Corrupt,
    /// Lineage differs from the reference lineage.
    ForeignLineage,
    /// Serial lower than that of an older version of the same lineage.
    SerialRegress,
    /// Lost more than half of its resources.
    SuspiciousShrink,
    /// A delete marker.
    Deleted,
    /// OpenTofu encrypted state.
    Encrypted,
}

impl Status {
    /// The serialised spelling (`ok`, `foreign-lineage`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Corrupt => "corrupt",
            Status::ForeignLineage => "foreign-lineage",
            Status::SerialRegress => "serial-regress",
            Status::SuspiciousShrink => "suspicious-shrink",
            Status::Deleted => "deleted",
            Status::Encrypted => "encrypted",
        }
    }
}

/// The assessment of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Health {
    /// The most important applicable status (see the module docs).
    pub status: Status,
    /// Every problem found, most important first.
    pub problems: Vec<String>,
}

/// The smallest previous resource count for which a shrink is flagged.
pub const SHRINK_MIN_PREVIOUS: usize = 2;

/// The reference ("good") lineage of a history ordered newest first: the
/// lineage held by the most versions (delete markers and versions without a
/// known lineage do not vote); ties go to the lineage of the newest of the
/// tied versions. `None` when no version has a known lineage.
pub fn reference_lineage(history: &[VersionFacts]) -> Option<&str> {
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new(); // lineage -> (count, first index)
    for (i, v) in history.iter().enumerate() {
        if v.delete_marker {
            continue;
        }
        if let Some(l) = v.content.lineage() {
            counts.entry(l).or_insert((0, i)).0 += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
        .map(|(l, _)| l)
}

/// Assesses every version of a history ordered newest first; the result is
/// in the same order. See the module docs for the rules.
pub fn assess(history: &[VersionFacts]) -> Vec<Health> {
    problems_of(history, reference_lineage(history))
        .into_iter()
        .map(verdict)
        .collect()
}

/// The health of version `i` of a history (newest first) judged as
/// [`assess`] does, against `reference` (the whole history's
/// [`reference_lineage`]) and only the `context` next older versions: what
/// a window of a long history knows of a version's neighbours, and what
/// lets its rows be final before the older versions are read. Pure.
pub fn assess_row(
    history: &[VersionFacts],
    i: usize,
    reference: Option<&str>,
    context: usize,
) -> Health {
    let end = i
        .saturating_add(context)
        .saturating_add(1)
        .min(history.len());
    problems_of(&history[i..end], reference)
        .into_iter()
        .next()
        .map_or_else(|| verdict(Vec::new()), verdict)
}

/// [`reference_lineage`] of a whole history, when the versions read so far
/// (`read`, the newest ones) already settle it whatever the `unread_votes`
/// older versions that could still vote (not delete markers) say: the
/// leading lineage stays ahead even if every unread vote goes to its closest
/// rival or to a new lineage (which, being older, loses a tie). `None`
/// while it is open; `Some(None)` when every version was read and none
/// names a lineage. Pure.
pub fn settled_reference(read: &[VersionFacts], unread_votes: usize) -> Option<Option<&str>> {
    let leader = reference_lineage(read);
    if unread_votes == 0 {
        return Some(leader);
    }
    let leader = leader?;
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, v) in read.iter().enumerate() {
        if v.delete_marker {
            continue;
        }
        if let Some(l) = v.content.lineage() {
            counts.entry(l).or_insert((0, i)).0 += 1;
        }
    }
    let &(lead, lead_first) = counts.get(leader)?;
    // A lineage not yet seen starts after every read version: it loses a tie.
    let beats_new = lead >= unread_votes;
    let beats_rivals = counts
        .iter()
        .filter(|(l, _)| **l != leader)
        .all(|(_, &(n, first))| {
            let rival = n + unread_votes;
            lead > rival || (lead == rival && lead_first < first)
        });
    (beats_new && beats_rivals).then_some(Some(leader))
}

/// Every problem of every version of `history` (newest first), judged
/// against `reference`.
fn problems_of(history: &[VersionFacts], reference: Option<&str>) -> Vec<Vec<(Status, String)>> {
    let n = history.len();
    let mut problems: Vec<Vec<(Status, String)>> = vec![Vec::new(); n];

    // Walk from oldest to newest, keeping per lineage the highest serial seen
    // so far (in older versions) and the latest known resource count.
    let mut max_serial: HashMap<&str, (u64, &str)> = HashMap::new();
    let mut last_count: HashMap<&str, (usize, &str)> = HashMap::new();
    for i in (0..n).rev() {
        let v = &history[i];
        let out = &mut problems[i];
        if v.delete_marker {
            out.push((
                Status::Deleted,
                "this version is a delete marker".to_owned(),
            ));
            continue;
        }
        match &v.content {
            Content::Encrypted { .. } => out.push((
                Status::Encrypted,
                "the state is encrypted (OpenTofu); its contents cannot be inspected".to_owned(),
            )),
            Content::Corrupt { problem } => out.push((
                Status::Corrupt,
                format!("the state is unreadable: {problem}"),
            )),
            // Readable: noted, the status stays what the other checks say.
            Content::Parsed { notes, .. } => {
                out.extend(notes.iter().map(|n| (Status::Ok, n.clone())))
            }
            _ => {}
        }
        if let (Some(l), Some(r)) = (v.content.lineage(), reference) {
            if l != r {
                out.push((
                    Status::ForeignLineage,
                    format!("lineage {l} differs from the lineage {r} of most versions"),
                ));
            }
        }
        if let Some((serial, lineage)) = v.content.serial_lineage() {
            if let Some(&(older, older_id)) = max_serial.get(lineage) {
                if serial < older {
                    out.push((
                        Status::SerialRegress,
                        format!(
                            "serial {serial} is lower than serial {older} of an older version ({older_id})"
                        ),
                    ));
                }
            }
            let e = max_serial.entry(lineage).or_insert((serial, &v.version_id));
            if serial > e.0 {
                *e = (serial, &v.version_id);
            }
        }
        if let Content::Parsed {
            lineage,
            resource_count: Some(count),
            ..
        } = &v.content
        {
            if let Some(&(prev, prev_id)) = last_count.get(lineage.as_str()) {
                if prev >= SHRINK_MIN_PREVIOUS && count.saturating_mul(2) < prev {
                    out.push((
                        Status::SuspiciousShrink,
                        format!(
                            "resource count fell from {prev} to {count} compared with the previous version ({prev_id})"
                        ),
                    ));
                }
            }
            last_count.insert(lineage, (*count, &v.version_id));
        }
    }

    problems
}

fn verdict(mut found: Vec<(Status, String)>) -> Health {
    found.sort_by_key(|(s, _)| precedence(*s));
    Health {
        status: found.first().map_or(Status::Ok, |(s, _)| *s),
        problems: found.into_iter().map(|(_, p)| p).collect(),
    }
}

fn precedence(s: Status) -> u8 {
    match s {
        Status::Deleted => 0,
        Status::Encrypted => 1,
        Status::Corrupt => 2,
        Status::ForeignLineage => 3,
        Status::SerialRegress => 4,
        Status::SuspiciousShrink => 5,
        Status::Ok => 6,
    }
}

/// Version facts for table tests (here and in `restore::select`).
/// What a whole object says about itself, for the health assessment.
pub fn content_of(bytes: &[u8]) -> (Content, Option<String>) {
    match crate::state::parse(bytes) {
        Ok(state) => (
            Content::Parsed {
                serial: state.serial,
                lineage: state.lineage.to_string(),
                resource_count: Some(state.resource_count()),
                notes: state
                    .duplicate_keys
                    .iter()
                    .map(|k| format!("the JSON repeats the top-level key `{k}`; Terraform (Go) uses the last value, and so does stateward"))
                    .collect(),
            },
            Some(state.terraform_version.to_string()),
        ),
        Err(ParseError::Encrypted { serial, lineage }) => {
            (Content::Encrypted { serial, lineage }, None)
        }
        Err(e) => (
            Content::Corrupt {
                problem: e.to_string(),
            },
            read_header(bytes).terraform_version,
        ),
    }
}

/// What the first bytes of an object say about it (no resource count; a
/// truncated body cannot be told from a header alone).
pub fn content_of_header(h: &Header) -> (Content, Option<String>) {
    let content = if h.encrypted {
        Content::Encrypted {
            serial: h.serial,
            lineage: h.lineage.clone(),
        }
    } else {
        match (h.version, h.serial, &h.lineage) {
            (Some(4), Some(serial), Some(lineage)) => Content::Parsed {
                serial,
                lineage: lineage.clone(),
                resource_count: None,
                notes: Vec::new(),
            },
            (Some(v), _, _) if v != 4 => Content::Corrupt {
                problem: format!(
                    "state format version {v} is not supported (stateward reads version 4)"
                ),
            },
            _ if h.complete => Content::Corrupt {
                problem: "the header lacks version, serial or lineage".into(),
            },
            _ => Content::Corrupt {
                problem: format!(
                    "the first {HEADER_PREFIX_BYTES} bytes do not start a Terraform state"
                ),
            },
        }
    };
    (content, h.terraform_version.clone())
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    pub(crate) fn ok(id: &str, serial: u64, lineage: &str, count: Option<usize>) -> VersionFacts {
        VersionFacts {
            version_id: id.into(),
            delete_marker: false,
            content: Content::Parsed {
                serial,
                lineage: lineage.into(),
                resource_count: count,
                notes: Vec::new(),
            },
        }
    }
    pub(crate) fn corrupt(id: &str) -> VersionFacts {
        VersionFacts {
            version_id: id.into(),
            delete_marker: false,
            content: Content::Corrupt {
                problem: "truncated JSON".into(),
            },
        }
    }
    pub(crate) fn deleted(id: &str) -> VersionFacts {
        VersionFacts {
            version_id: id.into(),
            delete_marker: true,
            content: Content::Unknown,
        }
    }
    pub(crate) fn enc(id: &str, serial: Option<u64>, lineage: Option<&str>) -> VersionFacts {
        VersionFacts {
            version_id: id.into(),
            delete_marker: false,
            content: Content::Encrypted {
                serial,
                lineage: lineage.map(Into::into),
            },
        }
    }
    pub(crate) fn unknown(id: &str) -> VersionFacts {
        VersionFacts {
            version_id: id.into(),
            delete_marker: false,
            content: Content::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    use Status::*;

    #[test]
    fn table() {
        #[allow(clippy::type_complexity)]
        let cases: Vec<(&str, Vec<VersionFacts>, Vec<(Status, usize)>)> = vec![
            ("empty history", vec![], vec![]),
            (
                "all good, increasing serials",
                vec![
                    ok("v3", 3, "L", Some(10)),
                    ok("v2", 2, "L", Some(10)),
                    ok("v1", 1, "L", Some(9)),
                ],
                vec![(Ok, 0), (Ok, 0), (Ok, 0)],
            ),
            (
                "delete marker on top",
                vec![
                    deleted("d"),
                    ok("v2", 2, "L", Some(3)),
                    ok("v1", 1, "L", Some(3)),
                ],
                vec![(Deleted, 1), (Ok, 0), (Ok, 0)],
            ),
            (
                "corrupt newest",
                vec![corrupt("c"), ok("v2", 2, "L", Some(3))],
                vec![(Corrupt, 1), (Ok, 0)],
            ),
            (
                "serial regress",
                vec![
                    ok("v3", 7, "L", Some(3)),
                    ok("v2", 9, "L", Some(3)),
                    ok("v1", 8, "L", Some(3)),
                ],
                vec![(SerialRegress, 1), (Ok, 0), (Ok, 0)],
            ),
            (
                "equal serial is not a regress",
                vec![ok("v2", 5, "L", Some(3)), ok("v1", 5, "L", Some(3))],
                vec![(Ok, 0), (Ok, 0)],
            ),
            (
                "foreign lineage in the middle; its serial does not count",
                vec![
                    ok("v3", 4, "L", Some(3)),
                    ok("v2", 100, "X", Some(3)),
                    ok("v1", 3, "L", Some(3)),
                ],
                vec![(Ok, 0), (ForeignLineage, 1), (Ok, 0)],
            ),
            (
                "shrink by more than half",
                vec![ok("v2", 2, "L", Some(4)), ok("v1", 1, "L", Some(10))],
                vec![(SuspiciousShrink, 1), (Ok, 0)],
            ),
            (
                "exactly half is not a shrink",
                vec![ok("v2", 2, "L", Some(5)), ok("v1", 1, "L", Some(10))],
                vec![(Ok, 0), (Ok, 0)],
            ),
            (
                "2 to 0 is a shrink, 1 to 0 is not",
                vec![
                    ok("v4", 4, "L", Some(0)),
                    ok("v3", 3, "L", Some(1)),
                    ok("v2", 2, "L", Some(0)),
                    ok("v1", 1, "L", Some(2)),
                ],
                vec![(Ok, 0), (Ok, 0), (SuspiciousShrink, 1), (Ok, 0)],
            ),
            (
                "shrink compares with the previous known count, skipping unknown/corrupt/deleted",
                vec![
                    ok("v5", 5, "L", Some(3)),
                    ok("v4", 4, "L", None),
                    corrupt("c"),
                    deleted("d"),
                    ok("v1", 1, "L", Some(8)),
                ],
                vec![
                    (SuspiciousShrink, 1),
                    (Ok, 0),
                    (Corrupt, 1),
                    (Deleted, 1),
                    (Ok, 0),
                ],
            ),
            (
                "regress and shrink together: regress wins, both listed",
                vec![ok("v2", 1, "L", Some(1)), ok("v1", 2, "L", Some(10))],
                vec![(SerialRegress, 2), (Ok, 0)],
            ),
            (
                "lineage tie broken by the newest version",
                vec![
                    ok("v4", 2, "B", Some(1)),
                    ok("v3", 9, "A", Some(1)),
                    ok("v2", 1, "B", Some(1)),
                    ok("v1", 8, "A", Some(1)),
                ],
                vec![(Ok, 0), (ForeignLineage, 1), (Ok, 0), (ForeignLineage, 1)],
            ),
            (
                "majority lineage wins over newest",
                vec![
                    ok("v3", 1, "NEW", Some(1)),
                    ok("v2", 2, "OLD", Some(1)),
                    ok("v1", 1, "OLD", Some(1)),
                ],
                vec![(ForeignLineage, 1), (Ok, 0), (Ok, 0)],
            ),
            (
                "foreign lineage and regress within its own lineage",
                vec![
                    ok("v4", 1, "X", Some(1)),
                    ok("v3", 5, "X", Some(1)),
                    ok("v2", 3, "L", Some(1)),
                    ok("v1", 2, "L", Some(1)),
                    ok("v0", 1, "L", Some(1)),
                ],
                vec![
                    (ForeignLineage, 2),
                    (ForeignLineage, 1),
                    (Ok, 0),
                    (Ok, 0),
                    (Ok, 0),
                ],
            ),
            (
                "encrypted with plaintext serial takes part in serial checks",
                vec![
                    ok("v3", 3, "L", Some(2)),
                    enc("e", Some(10), Some("L")),
                    ok("v1", 1, "L", Some(2)),
                ],
                vec![(SerialRegress, 1), (Encrypted, 1), (Ok, 0)],
            ),
            (
                "encrypted without metadata",
                vec![enc("e", None, None), ok("v1", 1, "L", Some(2))],
                vec![(Encrypted, 1), (Ok, 0)],
            ),
            (
                "unknown content is ok",
                vec![unknown("u"), ok("v1", 1, "L", Some(2))],
                vec![(Ok, 0), (Ok, 0)],
            ),
            (
                "all corrupt",
                vec![corrupt("a"), corrupt("b")],
                vec![(Corrupt, 1), (Corrupt, 1)],
            ),
        ];
        for (name, history, want) in cases {
            let got = assess(&history);
            let got: Vec<(Status, usize)> =
                got.iter().map(|h| (h.status, h.problems.len())).collect();
            assert_eq!(got, want, "case: {name}");
        }
    }

    #[test]
    fn problem_sentences_name_versions() {
        let h = assess(&[ok("new", 7, "L", Some(1)), ok("old", 9, "L", Some(10))]);
        assert_eq!(h[0].status, SerialRegress);
        assert_eq!(
            h[0].problems[0],
            "serial 7 is lower than serial 9 of an older version (old)"
        );
        assert_eq!(
            h[0].problems[1],
            "resource count fell from 10 to 1 compared with the previous version (old)"
        );
    }

    #[test]
    fn reference_lineage_rules() {
        assert_eq!(reference_lineage(&[]), None);
        assert_eq!(reference_lineage(&[deleted("d"), corrupt("c")]), None);
        assert_eq!(
            reference_lineage(&[ok("a", 1, "B", None), ok("b", 1, "A", None)]),
            Some("B")
        );
        assert_eq!(
            reference_lineage(&[
                ok("a", 1, "B", None),
                ok("b", 1, "A", None),
                enc("c", Some(1), Some("A"))
            ]),
            Some("A")
        );
    }

    #[test]
    fn status_serialises_kebab_case() {
        let all = [
            Ok,
            Corrupt,
            ForeignLineage,
            SerialRegress,
            SuspiciousShrink,
            Deleted,
            Encrypted,
        ];
        for s in all {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(
            serde_json::to_string(&Health {
                status: ForeignLineage,
                problems: vec!["x".into()]
            })
            .unwrap(),
            r#"{"status":"foreign-lineage","problems":["x"]}"#
        );
    }

    #[test]
    fn settled_reference_table() {
        // (case, read newest first, unread votes, expected)
        #[allow(clippy::type_complexity)]
        let cases: Vec<(&str, Vec<VersionFacts>, usize, Option<Option<&str>>)> = vec![
            ("nothing read, nothing left", vec![], 0, Some(None)),
            ("nothing read, votes left", vec![], 3, None),
            (
                "all read",
                vec![ok("a", 2, "L", None), ok("b", 1, "X", None)],
                0,
                Some(Some("L")),
            ),
            (
                "3 of L, 3 unread: a new lineage could tie, and loses the tie",
                vec![
                    ok("a", 3, "L", None),
                    ok("b", 2, "L", None),
                    ok("c", 1, "L", None),
                ],
                3,
                Some(Some("L")),
            ),
            (
                "3 of L, 4 unread: open",
                vec![
                    ok("a", 3, "L", None),
                    ok("b", 2, "L", None),
                    ok("c", 1, "L", None),
                ],
                4,
                None,
            ),
            (
                "a rival seen: it could take the unread votes",
                vec![
                    ok("a", 3, "L", None),
                    ok("b", 2, "L", None),
                    ok("c", 9, "X", None),
                ],
                2,
                None,
            ),
            (
                "a rival that would tie is older: the leader keeps the tie",
                vec![
                    ok("a", 3, "L", None),
                    ok("b", 2, "L", None),
                    ok("c", 9, "X", None),
                ],
                1,
                Some(Some("L")),
            ),
            (
                "a newer rival wins a tie: open while it can tie",
                vec![
                    ok("c", 9, "X", None),
                    ok("a", 3, "L", None),
                    ok("b", 2, "L", None),
                ],
                1,
                None,
            ),
            (
                "delete markers and unknown lineages do not vote",
                vec![deleted("d"), corrupt("c"), ok("a", 1, "L", None)],
                1,
                Some(Some("L")),
            ),
        ];
        for (name, read, unread, want) in cases {
            assert_eq!(settled_reference(&read, unread), want, "{name}");
        }
    }

    #[test]
    fn a_settled_reference_is_the_whole_histories_reference() {
        // Every split of a few histories: once settled, never different.
        let histories = vec![
            vec![
                ok("1", 5, "X", None),
                ok("2", 4, "L", None),
                ok("3", 3, "L", None),
                ok("4", 2, "X", None),
                deleted("5"),
                ok("6", 1, "L", None),
            ],
            vec![
                ok("1", 5, "L", None),
                ok("2", 4, "L", None),
                ok("3", 3, "L", None),
                ok("4", 2, "L", None),
            ],
            vec![
                ok("1", 5, "X", None),
                ok("2", 4, "X", None),
                ok("3", 3, "L", None),
                ok("4", 2, "L", None),
                ok("5", 2, "L", None),
            ],
        ];
        for h in &histories {
            let whole = reference_lineage(h);
            for p in 0..=h.len() {
                let unread = h[p..].iter().filter(|v| !v.delete_marker).count();
                if let Some(r) = settled_reference(&h[..p], unread) {
                    assert_eq!(r, whole, "{h:?} settled after {p}");
                }
            }
        }
    }

    #[test]
    fn assess_row_sees_only_its_context_and_matches_assess_within_it() {
        let h = vec![
            ok("v4", 3, "L", Some(10)),
            ok("v3", 4, "L", Some(10)),
            ok("v2", 2, "L", Some(10)),
            ok("v1", 9, "L", Some(10)),
        ];
        // v4 regresses below v3 (its first neighbour) and v1 (the third).
        assert_eq!(assess_row(&h, 0, Some("L"), 3), assess(&h)[0]);
        assert_eq!(assess_row(&h, 0, Some("L"), 1).problems.len(), 1);
        assert!(assess_row(&h, 0, Some("L"), 1).problems[0].contains("serial 4"));
        // v2 (serial 2) against v1 (9) is a regress with a context of 1.
        assert_eq!(assess_row(&h, 2, Some("L"), 1).status, SerialRegress);
        // The reference comes from the caller, not the context.
        assert_eq!(assess_row(&h, 3, Some("X"), 10).status, ForeignLineage);
        assert_eq!(assess_row(&h, 3, None, 10).status, Ok);
    }
}
