//! The rebuild journal: what `rebuild run --execute` is executing and how far
//! it got, saved after every step so `--resume` continues where it stopped.
//!
//! Kept at `<terraform dir>/.stateward/rebuild-journal.json` (written to a
//! temporary file and renamed over the old one), and optionally in S3 at
//! `<state key>.rebuild-journal.json`. [`decide`] and [`next_step`] are pure
//! and table-tested.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::gate::Checks;
use super::{Gate, Tier, Wave};
use crate::error::{Error, Refusal, Result};

/// The journal's format version.
pub const FORMAT: u32 = 1;

/// `<dir>/.stateward/rebuild-journal.json`.
pub fn local_path(dir: &Path) -> PathBuf {
    dir.join(".stateward").join("rebuild-journal.json")
}

/// The S3 copy's key, next to the state: `<state key>.rebuild-journal.json`.
pub fn s3_key(state_key: &str) -> String {
    format!("{state_key}.rebuild-journal.json")
}

/// Which state a journal is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateIdentity {
    pub bucket: String,
    pub key: String,
    pub serial: u64,
    pub lineage: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JournalStatus {
    Running,
    Failed,
    Interrupted,
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WaveStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Interrupted,
}

impl WaveStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WaveStatus::Pending => "pending",
            WaveStatus::Running => "running",
            WaveStatus::Completed => "completed",
            WaveStatus::Failed => "failed",
            WaveStatus::Interrupted => "interrupted",
        }
    }
}

/// One command as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CommandRecord {
    #[schemars(length(min = 1))]
    pub argv: Vec<String>,
    #[schemars(extend("format" = "date-time"))]
    pub started_at: String,
    pub seconds: f64,
    /// `None` when it could not start or was killed by a signal.
    pub exit_code: Option<i32>,
    /// `exit code 0`, `killed by signal 9`, `could not be started (...)`.
    pub outcome: String,
}

/// One evaluation of a wave's gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GateRecord {
    pub kind: super::GateKind,
    pub passed: bool,
    pub seconds: f64,
    #[schemars(extend("format" = "date-time"))]
    pub checked_at: String,
    /// What was seen: `2 of 2 ready`, or the first resource not ready.
    pub detail: String,
    /// True when this was the re-check of a wave completed by an earlier run.
    pub recheck: bool,
}

/// A wave of the plan and what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WaveEntry {
    #[schemars(range(min = 1))]
    pub index: usize,
    pub name: String,
    pub targets: Vec<String>,
    #[schemars(inner(length(min = 1)))]
    pub commands: Vec<Vec<String>>,
    pub gate: Option<Gate>,
    pub reasons: std::collections::BTreeMap<String, String>,
    /// The gate's live checks, resolved from the state when the plan was made.
    pub checks: Checks,
    pub status: WaveStatus,
    /// How many times its commands were started.
    pub attempts: u32,
    /// Which run of the journal (1-based, see [`Journal::runs`]) last started it.
    #[schemars(range(min = 1))]
    pub run: Option<usize>,
    #[schemars(extend("format" = "date-time"))]
    pub started_at: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub finished_at: Option<String>,
    /// The commands of the last attempt.
    pub commands_run: Vec<CommandRecord>,
    /// The last gate evaluation (of the last attempt, or a re-check).
    pub gate_result: Option<GateRecord>,
    pub command_seconds: f64,
    pub gate_seconds: f64,
    /// Why the wave stopped, when it did.
    pub error: Option<String>,
}

impl WaveEntry {
    pub fn new(w: Wave, checks: Checks) -> WaveEntry {
        WaveEntry {
            index: w.index,
            name: w.name,
            targets: w.targets,
            commands: w.commands,
            gate: w.gate,
            reasons: w.reasons,
            checks,
            status: WaveStatus::Pending,
            attempts: 0,
            run: None,
            started_at: None,
            finished_at: None,
            commands_run: vec![],
            gate_result: None,
            command_seconds: 0.0,
            gate_seconds: 0.0,
            error: None,
        }
    }

    /// `wave 2 (node groups and add-ons)`.
    pub fn label(&self) -> String {
        format!("wave {} ({})", self.index, self.name)
    }
}

/// One invocation of `rebuild run --execute` on this journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub started_at: String,
    pub resumed: bool,
    pub finished_at: Option<String>,
    /// `completed`, `failed`, `interrupted`; `None` while running (or when killed).
    pub outcome: Option<String>,
    /// The process that ran it.
    pub pid: u32,
}

/// The journal document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    pub format: u32,
    /// Incremented on every save: the newer of two copies has the larger one.
    pub seq: u64,
    pub state: StateIdentity,
    /// Digest of the settings the plan was made with (tiers, scope, Terraform command).
    pub plan_fingerprint: String,
    pub terraform_dir: String,
    pub status: JournalStatus,
    pub created_at: String,
    pub updated_at: String,
    pub runs: Vec<RunRecord>,
    pub waves: Vec<WaveEntry>,
}

impl Journal {
    /// `wave 2 of 4`, the first not completed (for messages).
    pub fn position(&self) -> String {
        match self
            .waves
            .iter()
            .find(|w| w.status != WaveStatus::Completed)
        {
            Some(w) => format!(
                "{} of {} is {}",
                w.label(),
                self.waves.len(),
                w.status.as_str()
            ),
            None => format!("all {} waves completed", self.waves.len()),
        }
    }
}

/// The settings a plan depends on besides the state and live AWS.
pub fn fingerprint(tiers: &[Tier], all: bool, terraform: &str, apply_args: &[String]) -> String {
    let doc = serde_json::json!({
        "tiers": tiers,
        "scope": if all { "all" } else { "missing-only" },
        "terraform": terraform,
        "apply_args": apply_args,
    });
    hex::encode(Sha256::digest(doc.to_string().as_bytes()))
}

/// What a run does with the journal it finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Plan afresh and write a new journal.
    Fresh,
    /// Continue the journal's plan.
    Resume,
}

/// Decides whether a run may start, given the journal found (if any). Pure.
/// `where_` names the journal in messages.
pub fn decide(
    existing: Option<&Journal>,
    resume: bool,
    current: &StateIdentity,
    fingerprint: &str,
    where_: &str,
) -> Result<Start, String> {
    let Some(j) = existing else {
        return if resume {
            Err(format!(
                "there is no rebuild journal at {where_} to resume; run without --resume to plan and start a rebuild"
            ))
        } else {
            Ok(Start::Fresh)
        };
    };
    if !resume {
        return if j.status == JournalStatus::Completed {
            Ok(Start::Fresh)
        } else {
            Err(format!(
                "an unfinished rebuild journal exists at {where_} ({}, last updated {}): pass --resume to continue it, or remove the file to plan a new rebuild",
                j.position(),
                j.updated_at
            ))
        };
    }
    if j.format != FORMAT {
        return Err(format!(
            "the rebuild journal at {where_} has format {} and this stateward writes format {FORMAT}: finish it with the stateward that wrote it, or remove it to plan afresh",
            j.format
        ));
    }
    if (j.state.bucket.as_str(), j.state.key.as_str())
        != (current.bucket.as_str(), current.key.as_str())
    {
        return Err(format!(
            "the rebuild journal at {where_} is for the state s3://{}/{}, not s3://{}/{}: run from the right Terraform directory or with the right state settings",
            j.state.bucket, j.state.key, current.bucket, current.key
        ));
    }
    if j.state.lineage != current.lineage {
        return Err(format!(
            "the rebuild journal at {where_} is for state lineage {}, but the state now has lineage {}: it is a different state, so remove the journal and plan afresh",
            j.state.lineage, current.lineage
        ));
    }
    if current.serial < j.state.serial {
        return Err(format!(
            "the rebuild journal at {where_} was planned from serial {}, but the state is now at serial {} (older: it was restored or rolled back): remove the journal and plan afresh",
            j.state.serial, current.serial
        ));
    }
    if j.plan_fingerprint != fingerprint {
        return Err(format!(
            "the rebuild settings changed since the journal at {where_} was written (the environment file's tiers, --all or --terraform): use the same settings to resume, or remove the journal and plan afresh"
        ));
    }
    Ok(Start::Resume)
}

/// Where a resumed run starts: the completed waves before the first wave not
/// completed (their gates are re-checked first), and that wave (`None` when
/// every wave is completed). Every wave from it on runs again. Pure.
pub fn next_step(journal: &Journal) -> (Vec<usize>, Option<usize>) {
    let from = journal
        .waves
        .iter()
        .position(|w| w.status != WaveStatus::Completed);
    let recheck = (0..from.unwrap_or(journal.waves.len())).collect();
    (recheck, from)
}

/// Reads a journal file; `None` when it does not exist.
pub fn load(path: &Path) -> Result<Option<Journal>> {
    match std::fs::read(path) {
        Ok(bytes) => parse(&bytes, &path.display().to_string()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::ReadFile {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Parses journal bytes; `what` names them in the error.
pub fn parse(bytes: &[u8], what: &str) -> Result<Journal> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::Refused(Refusal::Journal {
            message: format!(
                "the rebuild journal {what} is not readable ({e}): move it away to plan a new rebuild"
            ),
        })
    })
}

/// The journal as saved (pretty JSON).
pub fn to_bytes(journal: &Journal) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(journal).unwrap_or_default();
    v.push(b'\n');
    v
}

/// Writes the journal atomically: a temporary file beside it, synced, then
/// renamed over the old one. A crash leaves the old or the new journal, never half.
pub fn save_atomic(path: &Path, journal: &Journal) -> Result<()> {
    crate::util::fs::write_durably(path, &to_bytes(journal)).map_err(|source| Error::WriteFile {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(serial: u64, lineage: &str) -> StateIdentity {
        StateIdentity {
            bucket: "b".into(),
            key: "k".into(),
            serial,
            lineage: lineage.into(),
        }
    }

    fn wave(index: usize, status: WaveStatus) -> WaveEntry {
        let mut w = WaveEntry::new(
            Wave {
                index,
                name: format!("w{index}"),
                targets: vec![],
                commands: vec![vec!["terraform".into(), "apply".into()]],
                gate: None,
                reasons: Default::default(),
            },
            Checks::default(),
        );
        w.status = status;
        w
    }

    fn journal(status: JournalStatus, waves: &[WaveStatus]) -> Journal {
        Journal {
            format: FORMAT,
            seq: 3,
            state: identity(12, "L"),
            plan_fingerprint: "fp".into(),
            terraform_dir: "/tf".into(),
            status,
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:05:00Z".into(),
            runs: vec![],
            waves: waves
                .iter()
                .enumerate()
                .map(|(i, s)| wave(i + 1, *s))
                .collect(),
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn decides_whether_to_start_fresh_resume_or_refuse() {
        use JournalStatus as J;
        use WaveStatus as W;
        let running = journal(J::Running, &[W::Completed, W::Running, W::Pending]);
        let done = journal(J::Completed, &[W::Completed, W::Completed]);
        let mut other_format = running.clone();
        other_format.format = 99;
        let mut other_key = running.clone();
        other_key.state.key = "other".into();
        let cases: Vec<(&str, Option<&Journal>, bool, StateIdentity, &str, Result<Start, &str>)> = vec![
            ("no journal, new run", None, false, identity(12, "L"), "fp", Ok(Start::Fresh)),
            ("no journal, --resume", None, true, identity(12, "L"), "fp", Err("there is no rebuild journal at J to resume; run without --resume")),
            ("unfinished, new run", Some(&running), false, identity(12, "L"), "fp", Err("an unfinished rebuild journal exists at J (wave 2 (w2) of 3 is running, last updated 2026-01-01T00:05:00Z): pass --resume to continue it, or remove the file")),
            ("completed, new run", Some(&done), false, identity(12, "L"), "fp", Ok(Start::Fresh)),
            ("completed, --resume re-checks", Some(&done), true, identity(12, "L"), "fp", Ok(Start::Resume)),
            ("same state", Some(&running), true, identity(12, "L"), "fp", Ok(Start::Resume)),
            ("Terraform wrote newer serials", Some(&running), true, identity(15, "L"), "fp", Ok(Start::Resume)),
            ("older serial", Some(&running), true, identity(11, "L"), "fp", Err("planned from serial 12, but the state is now at serial 11")),
            ("other lineage", Some(&running), true, identity(12, "M"), "fp", Err("is for state lineage L, but the state now has lineage M")),
            ("other settings", Some(&running), true, identity(12, "L"), "fp2", Err("the rebuild settings changed")),
            ("other state key", Some(&other_key), true, identity(12, "L"), "fp", Err("is for the state s3://b/other, not s3://b/k")),
            ("other format", Some(&other_format), true, identity(12, "L"), "fp", Err("has format 99")),
        ];
        for (name, j, resume, current, fp, want) in cases {
            let got = decide(j, resume, &current, fp, "J");
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{name}"),
                (Err(g), Err(w)) => assert!(g.contains(w), "{name}: {g}"),
                (g, w) => panic!("{name}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn resumes_at_the_first_wave_not_completed_rechecking_those_before() {
        use JournalStatus as J;
        use WaveStatus as W;
        let cases: Vec<(&str, Vec<WaveStatus>, Vec<usize>, Option<usize>)> = vec![
            ("fresh", vec![W::Pending, W::Pending], vec![], Some(0)),
            (
                "killed in wave 2",
                vec![W::Completed, W::Running, W::Pending],
                vec![0],
                Some(1),
            ),
            (
                "failed in wave 3",
                vec![W::Completed, W::Completed, W::Failed, W::Pending],
                vec![0, 1],
                Some(2),
            ),
            (
                "interrupted in wave 1",
                vec![W::Interrupted, W::Pending],
                vec![],
                Some(0),
            ),
            (
                "re-check of wave 1 failed after later waves ran",
                vec![W::Failed, W::Completed, W::Completed],
                vec![],
                Some(0),
            ),
            (
                "all done",
                vec![W::Completed, W::Completed],
                vec![0, 1],
                None,
            ),
        ];
        for (name, waves, recheck, from) in cases {
            let j = journal(J::Running, &waves);
            assert_eq!(next_step(&j), (recheck, from), "{name}");
        }
    }

    #[test]
    fn saves_atomically_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = local_path(dir.path());
        assert_eq!(load(&path).unwrap(), None);
        let j = journal(JournalStatus::Running, &[WaveStatus::Completed]);
        save_atomic(&path, &j).unwrap();
        assert_eq!(load(&path).unwrap(), Some(j.clone()));
        let mut j2 = j.clone();
        j2.seq = 4;
        save_atomic(&path, &j2).unwrap();
        assert_eq!(load(&path).unwrap().unwrap().seq, 4);
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["rebuild-journal.json"]);
        std::fs::write(&path, b"{not json").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.contains("is not readable") && e.contains("move it away"),
            "{e}"
        );
        assert_eq!(
            s3_key("env/terraform.tfstate"),
            "env/terraform.tfstate.rebuild-journal.json"
        );
    }

    #[test]
    fn fingerprint_follows_the_settings() {
        let t = super::super::default_tiers();
        let a = fingerprint(&t, false, "terraform", &[]);
        assert_eq!(a, fingerprint(&t, false, "terraform", &[]));
        assert_ne!(a, fingerprint(&t, true, "terraform", &[]));
        assert_ne!(a, fingerprint(&t, false, "/opt/terraform", &[]));
        assert_ne!(a, fingerprint(&t[..2], false, "terraform", &[]));
    }
}
