use std::collections::BTreeMap;
use std::sync::Mutex;

use super::*;
use crate::rebuild::gate::Checks;
use crate::rebuild::journal::{StateIdentity, WaveEntry, FORMAT};
use crate::rebuild::{Gate, Wave};

/// Exit codes by the command's last argument; records every call.
#[derive(Default)]
struct FakeRunner {
    exit: BTreeMap<String, i32>,
    /// Ctrl-C is pressed while this command runs.
    interrupt_on: Option<(String, Interrupts)>,
    calls: Vec<String>,
}

impl Runner for FakeRunner {
    async fn run(&mut self, argv: &[String], _dir: &Path) -> Finished {
        let last = argv.last().cloned().unwrap_or_default();
        self.calls.push(last.clone());
        let code = self.exit.get(&last).copied().unwrap_or(0);
        let interrupted = match &self.interrupt_on {
            Some((on, i)) if *on == last => {
                i.press();
                true
            }
            _ => false,
        };
        Finished {
            exit_code: Some(code),
            outcome: format!("exited with code {code}"),
            interrupted,
        }
    }
}

/// What AWS reports, by check address; absent unless set. Records every look.
#[derive(Default)]
struct FakeProbe {
    seen: Mutex<BTreeMap<String, Observed>>,
    looks: Mutex<Vec<String>>,
}

impl FakeProbe {
    fn set(&self, address: &str, o: Observed) {
        self.seen.lock().unwrap().insert(address.into(), o);
    }
    fn looks(&self) -> Vec<String> {
        self.looks.lock().unwrap().clone()
    }
}

impl Probe for FakeProbe {
    async fn observe(&self, check: &Check) -> Result<Observed> {
        self.looks.lock().unwrap().push(check.address().into());
        Ok(self
            .seen
            .lock()
            .unwrap()
            .get(check.address())
            .cloned()
            .unwrap_or(Observed::Absent))
    }
}

/// Keeps every saved journal.
#[derive(Default)]
struct MemStore {
    saves: Vec<Journal>,
}

impl Store for MemStore {
    async fn save(&mut self, journal: &mut Journal) -> Result<()> {
        journal.seq += 1;
        self.saves.push(journal.clone());
        Ok(())
    }
}

fn wave(index: usize, name: &str, target: &str, check: Option<Check>) -> WaveEntry {
    let gate = check.as_ref().map(|_| Gate {
        kind: GateKind::AllReady,
        resources: vec![target.into()],
        timeout_seconds: 0,
    });
    WaveEntry::new(
        Wave {
            index,
            name: name.into(),
            targets: vec![target.into()],
            commands: vec![vec![
                "terraform".into(),
                "apply".into(),
                format!("-target={target}"),
            ]],
            gate,
            reasons: BTreeMap::new(),
        },
        Checks {
            checks: check.into_iter().collect(),
            unchecked: vec![],
        },
    )
}

fn cluster_check() -> Check {
    Check::EksCluster {
        address: "aws_eks_cluster.this".into(),
        name: "prod".into(),
    }
}

fn ng_check() -> Check {
    Check::EksNodegroup {
        address: "aws_eks_node_group.gpu".into(),
        cluster: "prod".into(),
        name: "gpu".into(),
        min_size: Some(1),
    }
}

fn journal() -> Journal {
    Journal {
        format: FORMAT,
        seq: 0,
        state: StateIdentity {
            bucket: "b".into(),
            key: "k".into(),
            serial: 1,
            lineage: "L".into(),
        },
        plan_fingerprint: "fp".into(),
        terraform_dir: "/tf".into(),
        status: JournalStatus::Running,
        created_at: "t".into(),
        updated_at: "t".into(),
        runs: vec![],
        waves: vec![
            wave(
                1,
                "control plane",
                "aws_eks_cluster.this",
                Some(cluster_check()),
            ),
            wave(2, "nodes", "aws_eks_node_group.gpu", Some(ng_check())),
            wave(3, "everything else", "helm_release.x", None),
        ],
    }
}

fn opts(resumed: bool) -> Options {
    Options {
        poll: Duration::from_millis(10),
        resumed,
        resume_hint: "HINT".into(),
    }
}

fn active() -> Observed {
    Observed::Status(Some("ACTIVE".into()))
}

fn ng_active() -> Observed {
    Observed::Nodegroup {
        status: Some("ACTIVE".into()),
        desired_size: Some(2),
        health_issues: vec![],
    }
}

async fn go(
    j: &mut Journal,
    runner: &mut FakeRunner,
    probe: &FakeProbe,
    store: &mut MemStore,
    resumed: bool,
) -> Result<()> {
    go_with(j, runner, probe, store, resumed, &Interrupts::default()).await
}

/// [`go`] with the run's Ctrl-C listener.
async fn go_with(
    j: &mut Journal,
    runner: &mut FakeRunner,
    probe: &FakeProbe,
    store: &mut MemStore,
    resumed: bool,
    interrupts: &Interrupts,
) -> Result<()> {
    execute(
        j,
        Path::new("/tf"),
        runner,
        probe,
        store,
        &opts(resumed),
        interrupts,
        &mut |_| {},
    )
    .await
}

fn statuses(j: &Journal) -> Vec<WaveStatus> {
    j.waves.iter().map(|w| w.status).collect()
}

#[tokio::test]
async fn runs_every_wave_in_order_with_its_gate_saving_after_each_step() {
    let mut j = journal();
    let mut runner = FakeRunner::default();
    let probe = FakeProbe::default();
    probe.set("aws_eks_cluster.this", active());
    probe.set("aws_eks_node_group.gpu", ng_active());
    let mut store = MemStore::default();
    go(&mut j, &mut runner, &probe, &mut store, false)
        .await
        .unwrap();
    assert_eq!(
        runner.calls,
        [
            "-target=aws_eks_cluster.this",
            "-target=aws_eks_node_group.gpu",
            "-target=helm_release.x"
        ]
    );
    assert_eq!(
        probe.looks(),
        ["aws_eks_cluster.this", "aws_eks_node_group.gpu"]
    );
    assert_eq!(j.status, JournalStatus::Completed);
    assert_eq!(statuses(&j), [WaveStatus::Completed; 3]);
    assert_eq!(
        j.waves[0].gate_result.as_ref().unwrap().detail,
        "1 of 1 ready"
    );
    assert_eq!(j.waves[0].commands_run[0].exit_code, Some(0));
    assert_eq!(j.runs.len(), 1);
    assert_eq!(j.runs[0].outcome.as_deref(), Some("completed"));
    // Saved at the start, at each wave's start, after each command and at
    // each wave's end, and at the end: a kill loses at most one step.
    assert_eq!(store.saves.len(), 1 + 3 * 3 + 1);
    assert!(store.saves.windows(2).all(|w| w[0].seq < w[1].seq));
    // The save after wave 1's command has wave 1 running, wave 2 pending.
    assert_eq!(
        statuses(&store.saves[2]),
        [
            WaveStatus::Running,
            WaveStatus::Pending,
            WaveStatus::Pending
        ]
    );
}

#[tokio::test]
async fn a_failed_command_stops_the_run_and_resume_retries_that_wave_only() {
    let mut j = journal();
    let mut runner = FakeRunner::default();
    runner
        .exit
        .insert("-target=aws_eks_node_group.gpu".into(), 3);
    let probe = FakeProbe::default();
    probe.set("aws_eks_cluster.this", active());
    probe.set("aws_eks_node_group.gpu", ng_active());
    let mut store = MemStore::default();
    let err = go(&mut j, &mut runner, &probe, &mut store, false)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RebuildCommand { .. }), "{err:?}");
    assert_eq!(err.exit_code(), crate::exit::ERROR);
    assert_eq!(
        err.to_string(),
        "wave 2 (nodes) stopped: `terraform apply -target=aws_eks_node_group.gpu` exited with code 3 in /tf; fix the cause and rerun `HINT` (the wave runs again from its first command)"
    );
    assert_eq!(
        statuses(&j),
        [
            WaveStatus::Completed,
            WaveStatus::Failed,
            WaveStatus::Pending
        ]
    );
    assert_eq!(j.status, JournalStatus::Failed);
    assert_eq!(j.waves[1].commands_run[0].exit_code, Some(3));
    assert!(
        j.waves[1].gate_result.is_none(),
        "no gate after a failed command"
    );

    // Fixed: --resume re-checks wave 1's gate, does not run it again, and
    // runs wave 2 (second attempt) and 3.
    runner.exit.clear();
    runner.calls.clear();
    let before = probe.looks().len();
    go(&mut j, &mut runner, &probe, &mut store, true)
        .await
        .unwrap();
    assert_eq!(
        runner.calls,
        ["-target=aws_eks_node_group.gpu", "-target=helm_release.x"]
    );
    assert_eq!(
        probe.looks()[before..],
        ["aws_eks_cluster.this", "aws_eks_node_group.gpu"]
    );
    assert!(j.waves[0].gate_result.as_ref().unwrap().recheck);
    assert_eq!(j.waves[1].attempts, 2);
    assert_eq!(j.waves[0].attempts, 1);
    assert_eq!(j.status, JournalStatus::Completed);
    assert_eq!(j.runs.len(), 2);
    assert!(j.runs[1].resumed);
}

#[tokio::test]
async fn a_gate_that_does_not_pass_stops_with_exit_2_and_names_the_resource() {
    let mut j = journal();
    let mut runner = FakeRunner::default();
    let probe = FakeProbe::default();
    probe.set("aws_eks_cluster.this", active());
    let mut store = MemStore::default();
    let err = go(&mut j, &mut runner, &probe, &mut store, false)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), crate::exit::DIFFERENCES);
    assert_eq!(
        err.to_string(),
        "wave 2 (nodes) stopped: its gate all-ready did not pass (0 of 1 ready: EKS node group prod:gpu does not exist yet); fix that and rerun `HINT` (the wave runs again from its first command)"
    );
    assert_eq!(runner.calls.len(), 2, "wave 3 never started");
    let g = j.waves[1].gate_result.as_ref().unwrap();
    assert!(!g.passed && !g.recheck);

    // A terminal status fails at once.
    probe.set(
        "aws_eks_node_group.gpu",
        Observed::Nodegroup {
            status: Some("CREATE_FAILED".into()),
            desired_size: None,
            health_issues: vec![],
        },
    );
    let err = go(&mut j, &mut runner, &probe, &mut store, true)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("EKS node group prod:gpu is CREATE_FAILED"),
        "{err}"
    );
}

#[tokio::test]
async fn a_completed_wave_whose_gate_no_longer_passes_is_run_again() {
    let mut j = journal();
    let mut runner = FakeRunner::default();
    let probe = FakeProbe::default();
    probe.set("aws_eks_cluster.this", active());
    let mut store = MemStore::default();
    let _ = go(&mut j, &mut runner, &probe, &mut store, false).await;
    // The cluster is lost again before the resume.
    probe.set("aws_eks_cluster.this", Observed::Absent);
    runner.calls.clear();
    let err = go(&mut j, &mut runner, &probe, &mut store, true)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), crate::exit::DIFFERENCES);
    assert!(
        err.to_string().starts_with("wave 1 (control plane) completed in an earlier run but its gate all-ready no longer passes (0 of 1 ready: EKS cluster prod does not exist yet)"),
        "{err}"
    );
    assert!(
        runner.calls.is_empty(),
        "nothing runs after a failed re-check"
    );
    assert_eq!(statuses(&j)[0], WaveStatus::Failed);
    // Next resume starts at wave 1 again.
    probe.set("aws_eks_cluster.this", active());
    probe.set("aws_eks_node_group.gpu", ng_active());
    go(&mut j, &mut runner, &probe, &mut store, true)
        .await
        .unwrap();
    assert_eq!(runner.calls.len(), 3);
    assert_eq!(j.waves[0].attempts, 2);
}

#[tokio::test]
async fn ctrl_c_during_a_command_marks_the_wave_interrupted() {
    let mut j = journal();
    let interrupts = Interrupts::default();
    let mut runner = FakeRunner {
        interrupt_on: Some(("-target=aws_eks_cluster.this".into(), interrupts.clone())),
        ..FakeRunner::default()
    };
    let probe = FakeProbe::default();
    let mut store = MemStore::default();
    let err = go_with(&mut j, &mut runner, &probe, &mut store, false, &interrupts)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("interrupted (Ctrl-C) during wave 1 (control plane)"),
        "{err}"
    );
    assert_eq!(j.status, JournalStatus::Interrupted);
    assert_eq!(statuses(&j)[0], WaveStatus::Interrupted);
    assert_eq!(j.runs[0].outcome.as_deref(), Some("interrupted"));
    assert!(
        probe.looks().is_empty(),
        "no gate after an interrupted command"
    );
}

#[test]
fn relative_programs_with_a_slash_run_from_the_terraform_directory() {
    let dir = Path::new("/tf");
    assert_eq!(program_path("terraform", dir), PathBuf::from("terraform"));
    assert_eq!(
        program_path("./bin/x.sh", dir),
        PathBuf::from("/tf/./bin/x.sh")
    );
    assert_eq!(
        program_path("/usr/bin/kubectl", dir),
        PathBuf::from("/usr/bin/kubectl")
    );
}

#[tokio::test]
async fn ctrl_c_before_the_first_wave_runs_nothing() {
    let mut j = journal();
    let mut runner = FakeRunner::default();
    let probe = FakeProbe::default();
    let mut store = MemStore::default();
    let interrupts = Interrupts::default();
    interrupts.press(); // e.g. during the drift scan that made the plan
    let err = go_with(&mut j, &mut runner, &probe, &mut store, false, &interrupts)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("before any wave ran"), "{err}");
    assert!(runner.calls.is_empty());
    assert_eq!(j.status, JournalStatus::Interrupted);
    assert_eq!(statuses(&j), [WaveStatus::Pending; 3]);
}
