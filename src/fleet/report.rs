//! Fleet reports: one entry per state, written by each shard (`--report-to`)
//! and combined by `stateward report merge` ([`merge`], pure).
//!
//! Every fleet report (of `states`, `doctor --all-states`, ...) is a JSON
//! document with `command`, `shard` (`"I/N"`, absent when unsharded) and
//! `states`: entries with at least `bucket`, `key`, `problems` (sentences;
//! empty when fine) and `unchecked` (the state could not be checked). The
//! rest of each entry is kept as it is.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Shard;

/// One state's entry in any fleet report: what merging needs, and the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub bucket: String,
    pub key: String,
    #[serde(default)]
    pub problems: Vec<String>,
    #[serde(default)]
    pub unchecked: bool,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

/// A fleet report as a shard writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardReport {
    pub command: String,
    #[serde(default)]
    pub shard: Option<String>,
    pub states: Vec<Entry>,
    /// Failures outside any one state (a bucket not listed).
    #[serde(default)]
    pub errors: Vec<String>,
}

/// Where fleet reports go (`--report-to`) and are merged from (`report
/// merge`): a local directory or an S3 prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportPlace {
    Dir(PathBuf),
    /// `s3://BUCKET/PREFIX/`; the prefix without its surrounding slashes.
    S3 {
        bucket: String,
        prefix: String,
    },
}

impl FromStr for ReportPlace {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(
                "the report place is empty: give a directory or s3://BUCKET/PREFIX/".into(),
            );
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!(
                    "`{s}` names no bucket: write it as s3://BUCKET/PREFIX/"
                ));
            }
            return Ok(ReportPlace::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(format!(
                "`{s}`: `{scheme}://` is not supported; give a directory or s3://BUCKET/PREFIX/"
            ));
        }
        Ok(ReportPlace::Dir(PathBuf::from(s)))
    }
}

impl std::fmt::Display for ReportPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportPlace::Dir(d) => write!(f, "{}", d.display()),
            ReportPlace::S3 { bucket, prefix } if prefix.is_empty() => {
                write!(f, "s3://{bucket}/")
            }
            ReportPlace::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}/"),
        }
    }
}

impl ReportPlace {
    /// The S3 key of a report named `name` under an S3 place's prefix (and
    /// the listing prefix, with `name` empty).
    pub fn s3_key(prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}/{name}")
        }
    }
}

/// The file name of a shard's report: `<command>-I-of-N.json`, or
/// `<command>.json` unsharded. Pure.
pub fn report_name(command: &str, shard: Option<Shard>) -> String {
    match shard {
        Some(s) => format!("{command}-{}-of-{}.json", s.index, s.count),
        None => format!("{command}.json"),
    }
}

/// Counts of a fleet report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub states: usize,
    pub ok: usize,
    pub with_problems: usize,
    pub unchecked: usize,
    /// Inventories (`states`): how many states' lineage was not compared
    /// with their previous version (`lineage_check: not-compared`); absent
    /// for the other commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage_not_compared: Option<usize>,
}

/// Shard reports combined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Merged {
    pub command: String,
    /// N of the shards' `I/N` (absent for unsharded reports).
    pub shards_expected: Option<u32>,
    pub shards_found: Vec<String>,
    /// Shards of 0..N with no report, as `I/N`.
    pub missing_shards: Vec<String>,
    pub summary: Counts,
    pub states: Vec<Entry>,
    pub errors: Vec<String>,
}

/// Counts of entries. Pure.
pub fn counts(entries: &[Entry]) -> Counts {
    Counts {
        states: entries.len(),
        ok: entries
            .iter()
            .filter(|e| !e.unchecked && e.problems.is_empty())
            .count(),
        with_problems: entries
            .iter()
            .filter(|e| !e.unchecked && !e.problems.is_empty())
            .count(),
        unchecked: entries.iter().filter(|e| e.unchecked).count(),
        lineage_not_compared: entries
            .iter()
            .any(|e| e.rest.contains_key("lineage_check"))
            .then(|| {
                entries
                    .iter()
                    .filter(|e| {
                        e.rest.get("lineage_check").and_then(|v| v.as_str()) == Some("not-compared")
                    })
                    .count()
            }),
    }
}

/// Orders entries as every fleet report does: unchecked first, then those
/// with problems, then by bucket and key. Pure.
pub fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        super::problems_first(a.unchecked, &a.problems, &a.bucket, &a.key).cmp(
            &super::problems_first(b.unchecked, &b.problems, &b.bucket, &b.key),
        )
    });
}

/// 1 when anything could not be checked (or shards are missing), else 2
/// when any state has a problem, else 0. Pure.
pub fn exit_code(m: &Merged) -> u8 {
    if !m.missing_shards.is_empty() || !m.errors.is_empty() || m.summary.unchecked > 0 {
        crate::exit::ERROR
    } else if m.summary.with_problems > 0 {
        crate::exit::DIFFERENCES
    } else {
        crate::exit::SUCCESS
    }
}

/// One run's report as the combined form (what a fleet command prints):
/// sorted, counted, no shards missing. Pure.
pub fn single(r: ShardReport) -> Merged {
    let mut states = r.states;
    sort_entries(&mut states);
    Merged {
        command: r.command,
        shards_expected: None,
        shards_found: r.shard.into_iter().collect(),
        missing_shards: Vec::new(),
        summary: counts(&states),
        states,
        errors: r.errors,
    }
}

/// Combines shard reports of one command: every entry once (a state in two
/// reports, e.g. a shard run twice, is kept once: the later report wins),
/// sorted, with the shards missing from 0..N. Errors when the reports are of
/// different commands or of different shard counts. Pure.
pub fn merge(reports: Vec<ShardReport>) -> Result<Merged, String> {
    let Some(first) = reports.first() else {
        return Err("no fleet reports to merge: point `report merge` at the directory the shards wrote with --report-to".into());
    };
    let command = first.command.clone();
    let mut expected: Option<u32> = None;
    let mut found: BTreeSet<u32> = BTreeSet::new();
    let mut by_state: std::collections::BTreeMap<(String, String), Entry> = Default::default();
    let mut errors = Vec::new();
    for r in reports {
        if r.command != command {
            return Err(format!(
                "the reports are of different commands (`{command}` and `{}`): merge each command's reports separately",
                r.command
            ));
        }
        if let Some(s) = &r.shard {
            let shard: Shard = s.parse()?;
            match expected {
                Some(n) if n != shard.count => {
                    return Err(format!(
                        "the reports were made with different shard counts ({n} and {}): merge one run's reports",
                        shard.count
                    ))
                }
                _ => expected = Some(shard.count),
            }
            found.insert(shard.index);
        }
        errors.extend(r.errors);
        for e in r.states {
            by_state.insert((e.bucket.clone(), e.key.clone()), e);
        }
    }
    let missing_shards = match expected {
        Some(n) => (0..n)
            .filter(|i| !found.contains(i))
            .map(|i| format!("{i}/{n}"))
            .collect(),
        None => Vec::new(),
    };
    let mut states: Vec<Entry> = by_state.into_values().collect();
    sort_entries(&mut states);
    Ok(Merged {
        command,
        shards_expected: expected,
        shards_found: found
            .iter()
            .map(|i| format!("{i}/{}", expected.unwrap_or(0)))
            .collect(),
        missing_shards,
        summary: counts(&states),
        states,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, problems: &[&str], unchecked: bool) -> Entry {
        Entry {
            bucket: "b".into(),
            key: key.into(),
            problems: problems.iter().map(|p| p.to_string()).collect(),
            unchecked,
            rest: serde_json::Map::new(),
        }
    }

    fn report(shard: Option<&str>, states: Vec<Entry>) -> ShardReport {
        ShardReport {
            command: "states".into(),
            shard: shard.map(str::to_owned),
            states,
            errors: Vec::new(),
        }
    }

    #[test]
    fn merging_shards_gives_every_state_once_problems_first() {
        let m = merge(vec![
            report(
                Some("1/3"),
                vec![entry("c", &[], false), entry("a", &["bad"], false)],
            ),
            report(Some("0/3"), vec![entry("b", &[], false)]),
            report(Some("2/3"), vec![entry("d", &[], true)]),
        ])
        .unwrap();
        let keys: Vec<&str> = m.states.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["d", "a", "b", "c"]);
        assert!(m.missing_shards.is_empty());
        assert_eq!(
            m.summary,
            Counts {
                states: 4,
                ok: 2,
                with_problems: 1,
                unchecked: 1,
                lineage_not_compared: None,
            }
        );
        assert_eq!(exit_code(&m), crate::exit::ERROR);
    }

    #[test]
    fn merged_inventories_total_the_states_whose_lineage_was_not_compared() {
        let with = |key: &str, check: &str| {
            let mut e = entry(key, &[], false);
            e.rest.insert("lineage_check".into(), check.into());
            e
        };
        let m = merge(vec![
            report(
                Some("0/2"),
                vec![with("a", "not-compared"), with("b", "same")],
            ),
            report(
                Some("1/2"),
                vec![with("c", "not-compared"), with("d", "no-previous")],
            ),
        ])
        .unwrap();
        assert_eq!(m.summary.lineage_not_compared, Some(2));
        let doc = serde_json::to_value(&m.summary).unwrap();
        assert_eq!(doc["lineage_not_compared"], 2);
        // Other commands' reports have no such count.
        let other = merge(vec![report(None, vec![entry("a", &[], false)])]).unwrap();
        assert_eq!(other.summary.lineage_not_compared, None);
        assert!(serde_json::to_value(&other.summary).unwrap()["lineage_not_compared"].is_null());
    }

    #[test]
    fn missing_shards_are_named_and_fail() {
        let m = merge(vec![report(Some("2/4"), vec![entry("a", &["x"], false)])]).unwrap();
        assert_eq!(m.missing_shards, ["0/4", "1/4", "3/4"]);
        assert_eq!(exit_code(&m), crate::exit::ERROR);
        let all = merge(vec![
            report(Some("0/2"), vec![entry("a", &["x"], false)]),
            report(Some("1/2"), vec![]),
        ])
        .unwrap();
        assert_eq!(exit_code(&all), crate::exit::DIFFERENCES);
        let fine = merge(vec![report(None, vec![entry("a", &[], false)])]).unwrap();
        assert_eq!(exit_code(&fine), crate::exit::SUCCESS);
    }

    #[test]
    fn report_places_are_directories_or_s3_prefixes() {
        let cases: [(&str, Result<ReportPlace, &str>); 6] = [
            ("reports/", Ok(ReportPlace::Dir("reports/".into()))),
            (
                "s3://acme-ci/stateward/run-42/",
                Ok(ReportPlace::S3 {
                    bucket: "acme-ci".into(),
                    prefix: "stateward/run-42".into(),
                }),
            ),
            (
                "s3://acme-ci",
                Ok(ReportPlace::S3 {
                    bucket: "acme-ci".into(),
                    prefix: String::new(),
                }),
            ),
            ("s3:///x", Err("names no bucket")),
            ("gs://b/x", Err("not supported")),
            (" ", Err("empty")),
        ];
        for (given, want) in cases {
            match (given.parse::<ReportPlace>(), want) {
                (Ok(got), Ok(w)) => assert_eq!(got, w, "{given}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{given}: {e}"),
                (got, w) => panic!("{given}: {got:?} vs {w:?}"),
            }
        }
        let p: ReportPlace = "s3://b/p/".parse().unwrap();
        assert_eq!(p.to_string(), "s3://b/p/");
        assert_eq!(ReportPlace::s3_key("p", "x.json"), "p/x.json");
        assert_eq!(ReportPlace::s3_key("", "x.json"), "x.json");
        let shard = Shard { index: 2, count: 5 };
        assert_eq!(report_name("doctor", Some(shard)), "doctor-2-of-5.json");
        assert_eq!(report_name("states", None), "states.json");
    }

    #[test]
    fn reports_of_different_runs_do_not_merge() {
        let mut other = report(Some("0/2"), vec![]);
        other.command = "doctor".into();
        let e = merge(vec![report(Some("1/2"), vec![]), other]).unwrap_err();
        assert!(e.contains("different commands"), "{e}");
        let e = merge(vec![
            report(Some("0/2"), vec![]),
            report(Some("0/3"), vec![]),
        ])
        .unwrap_err();
        assert!(e.contains("different shard counts"), "{e}");
        assert!(merge(vec![]).unwrap_err().contains("--report-to"));
    }
}
