//! `stateward rebuild plan` on the emulator: what live AWS lacks, ordered.

use crate::support::*;

const AWS: &str = r#"provider[\"registry.terraform.io/hashicorp/aws\"]"#;

fn state(cluster: &str, db: &str) -> String {
    format!(
        r#"{{
  "version": 4, "terraform_version": "1.5.7", "serial": 12, "lineage": "rebuild-lineage", "outputs": {{}},
  "resources": [
    {{ "module": "module.eks", "mode": "managed", "type": "aws_iam_role", "name": "cluster", "provider": "{AWS}",
       "instances": [{{ "schema_version": 0, "attributes": {{ "id": "{cluster}-role", "name": "{cluster}-role" }} }}] }},
    {{ "module": "module.eks", "mode": "managed", "type": "aws_eks_cluster", "name": "this", "provider": "{AWS}",
       "instances": [{{ "schema_version": 0, "attributes": {{ "id": "{cluster}", "name": "{cluster}" }},
         "dependencies": ["module.eks.aws_iam_role.cluster"] }}] }},
    {{ "module": "module.eks", "mode": "managed", "type": "aws_eks_node_group", "name": "this", "each": "map", "provider": "{AWS}",
       "instances": [
         {{ "index_key": "blue", "schema_version": 0, "attributes": {{ "id": "{cluster}:blue", "cluster_name": "{cluster}", "node_group_name": "blue" }},
           "dependencies": ["module.eks.aws_eks_cluster.this"] }},
         {{ "index_key": "gpu", "schema_version": 0, "attributes": {{ "id": "{cluster}:gpu", "cluster_name": "{cluster}", "node_group_name": "gpu" }},
           "dependencies": ["module.eks.aws_eks_cluster.this"] }}
       ] }},
    {{ "mode": "managed", "type": "helm_release", "name": "mlflow", "provider": "provider[\"registry.terraform.io/hashicorp/helm\"]",
       "instances": [{{ "schema_version": 1, "attributes": {{ "id": "mlflow", "name": "mlflow" }},
         "dependencies": ["module.eks.aws_eks_cluster.this"] }}] }},
    {{ "mode": "managed", "type": "aws_db_instance", "name": "mlflow", "provider": "{AWS}",
       "instances": [{{ "schema_version": 2, "attributes": {{ "id": "{db}", "identifier": "{db}" }} }}] }}
  ]
}}
"#
    )
}

fn plan(backend: &Backend, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<String> = vec![
        "rebuild".into(),
        "plan".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(backend.flags());
    let o = stateward(&args);
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_schema("rebuild-plan", &doc);
    doc
}

fn waves(doc: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    doc["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["name"].as_str().unwrap().to_owned(),
                w["targets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Creates the EKS cluster (and its IAM role) with node groups `blue` and `gpu`.
fn create_cluster(cluster: &str) {
    aws::iam_role(&format!("{cluster}-role"), "eks.amazonaws.com");
    aws::eks_cluster(cluster, &["subnet-1"]);
    for ng in ["blue", "gpu"] {
        aws::node_group(cluster, ng);
    }
}

#[test]
fn plans_exactly_what_live_aws_lacks_in_the_right_waves() {
    let backend = Backend::new("rebuild");
    let cluster = format!("{}-eks", backend.bucket);
    let db = format!("{}-db", backend.bucket);
    create_cluster(&cluster);
    aws::rds_instance(&db, 7);
    backend.put(&backend.key, state(&cluster, &db).as_bytes());

    // Everything is there: nothing to rebuild.
    let doc = plan(&backend, &[]);
    assert_eq!(waves(&doc), vec![], "{doc:#}");
    assert_eq!(doc["state"]["serial"], 12);

    // A node group is lost: only it, then the final apply.
    aws::delete_node_group(&cluster, "gpu");
    let doc = plan(&backend, &[]);
    assert_eq!(
        waves(&doc),
        vec![
            (
                "node groups and add-ons".to_owned(),
                s(&["module.eks.aws_eks_node_group.this[\"gpu\"]"])
            ),
            ("everything else".to_owned(), vec![]),
        ],
        "{doc:#}"
    );
    let wave = &doc["waves"][0];
    assert_eq!(
        wave["commands"][0],
        serde_json::json!([
            "terraform",
            "apply",
            "-target=module.eks.aws_eks_node_group.this[\"gpu\"]"
        ])
    );
    assert_eq!(wave["gate"]["kind"], "eks-nodegroups-active");
    assert_eq!(
        wave["reasons"]["module.eks.aws_eks_node_group.this[\"gpu\"]"],
        "missing in AWS"
    );

    // The whole cluster is lost, and the database with a snapshot left.
    aws::delete_node_group(&cluster, "blue");
    aws::delete_eks_cluster(&cluster);
    aws::rds_snapshot(&db, &format!("{db}-nightly"));
    aws::delete_rds_instance(&db);
    let doc = plan(&backend, &[]);
    assert_eq!(
        waves(&doc),
        vec![
            (
                "control plane".to_owned(),
                s(&["module.eks.aws_eks_cluster.this"])
            ),
            (
                "node groups and add-ons".to_owned(),
                s(&[
                    "module.eks.aws_eks_node_group.this[\"blue\"]",
                    "module.eks.aws_eks_node_group.this[\"gpu\"]"
                ])
            ),
            ("workloads".to_owned(), s(&["helm_release.mlflow"])),
            ("everything else".to_owned(), s(&["aws_db_instance.mlflow"])),
        ],
        "{doc:#}"
    );
    assert_eq!(doc["data_recovery"][0]["address"], "aws_db_instance.mlflow");
    assert_eq!(
        doc["data_recovery"][0]["source"],
        format!("rds-snapshot:{db}")
    );
    assert_eq!(
        doc["waves"][2]["reasons"]["helm_release.mlflow"],
        "depends on module.eks.aws_eks_cluster.this, which is rebuilt"
    );

    // --all: the full sequence; the IAM role the cluster needs comes first.
    let doc = plan(&backend, &["--all"]);
    assert_eq!(
        waves(&doc)[..2],
        [
            (
                "network and IAM".to_owned(),
                s(&["module.eks.aws_iam_role.cluster"])
            ),
            (
                "control plane".to_owned(),
                s(&["module.eks.aws_eks_cluster.this"])
            )
        ]
    );
    assert_eq!(
        waves(&doc).last().unwrap().1,
        s(&["aws_db_instance.mlflow"])
    );

    // Text shows shell-quoted commands.
    let mut args: Vec<String> = vec!["rebuild".into(), "plan".into()];
    args.extend(backend.flags());
    let o = stateward(&args);
    let text = stdout(&o);
    assert!(
        text.contains(r#"$ terraform apply '-target=module.eks.aws_eks_node_group.this["blue"]'"#),
        "{text}"
    );
    assert!(text.contains("DATA STORES MISSING"), "{text}");
}

// ---- rebuild run ----------------------------------------------------------

const CLUSTER: &str = "module.eks.aws_eks_cluster.this";
const BLUE: &str = "module.eks.aws_eks_node_group.this[\"blue\"]";
const GPU: &str = "module.eks.aws_eks_node_group.this[\"gpu\"]";

/// A cluster, two node groups (min_size 1) and a workload on it.
fn cluster_state(cluster: &str) -> String {
    format!(
        r#"{{
  "version": 4, "terraform_version": "1.5.7", "serial": 7, "lineage": "run-lineage", "outputs": {{}},
  "resources": [
    {{ "module": "module.eks", "mode": "managed", "type": "aws_eks_cluster", "name": "this", "provider": "{AWS}",
       "instances": [{{ "schema_version": 0, "attributes": {{ "id": "{cluster}", "name": "{cluster}" }} }}] }},
    {{ "module": "module.eks", "mode": "managed", "type": "aws_eks_node_group", "name": "this", "each": "map", "provider": "{AWS}",
       "instances": [
         {{ "index_key": "blue", "schema_version": 0, "attributes": {{ "id": "{cluster}:blue", "cluster_name": "{cluster}", "node_group_name": "blue",
              "scaling_config": [{{ "min_size": 1, "max_size": 3, "desired_size": 2 }}] }},
           "dependencies": ["module.eks.aws_eks_cluster.this"] }},
         {{ "index_key": "gpu", "schema_version": 0, "attributes": {{ "id": "{cluster}:gpu", "cluster_name": "{cluster}", "node_group_name": "gpu",
              "scaling_config": [{{ "min_size": 1, "max_size": 3, "desired_size": 2 }}] }},
           "dependencies": ["module.eks.aws_eks_cluster.this"] }}
       ] }},
    {{ "mode": "managed", "type": "helm_release", "name": "mlflow", "provider": "provider[\"registry.terraform.io/hashicorp/helm\"]",
       "instances": [{{ "schema_version": 1, "attributes": {{ "id": "mlflow", "name": "mlflow" }},
         "dependencies": ["module.eks.aws_eks_cluster.this"] }}] }}
  ]
}}
"#
    )
}

/// A backend whose state describes a live cluster with two node groups.
struct Platform {
    backend: Backend,
    cluster: String,
    /// The Terraform directory (commands run here; the journal lives here).
    tf: tempfile::TempDir,
    /// Logs, resources file and environment files.
    work: tempfile::TempDir,
}

impl Platform {
    fn new(name: &str) -> Platform {
        let backend = Backend::new(name);
        let cluster = format!("{}-eks", backend.bucket);
        create_cluster(&cluster);
        backend.put(&backend.key, cluster_state(&cluster).as_bytes());
        let work = tempfile::tempdir().unwrap();
        let resources = serde_json::json!({
            CLUSTER: {"type": "aws_eks_cluster", "name": cluster},
            BLUE: {"type": "aws_eks_node_group", "cluster": cluster, "name": "blue"},
            GPU: {"type": "aws_eks_node_group", "cluster": cluster, "name": "gpu"},
        });
        std::fs::write(work.path().join("resources.json"), resources.to_string()).unwrap();
        Platform {
            backend,
            cluster,
            tf: tempfile::tempdir().unwrap(),
            work,
        }
    }

    fn delete_nodegroups(&self, names: &[&str], cluster_too: bool) {
        for ng in names {
            aws::delete_node_group(&self.cluster, ng);
        }
        if cluster_too {
            aws::delete_eks_cluster(&self.cluster);
        }
    }

    /// The cluster's live node groups and their status, sorted by name.
    fn nodegroups(&self) -> Vec<(String, String)> {
        aws::node_group_statuses(&self.cluster)
    }

    fn log(&self) -> std::path::PathBuf {
        self.work.path().join("argv.log")
    }

    /// Every recorded call of the test double: (argv, cwd).
    fn calls(&self) -> Vec<(Vec<String>, String)> {
        std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["argv"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a.as_str().unwrap().to_owned())
                        .collect(),
                    v["cwd"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn calls_with(&self, arg: &str) -> usize {
        self.calls()
            .iter()
            .filter(|(argv, _)| argv.iter().any(|a| a == arg))
            .count()
    }

    fn journal(&self) -> serde_json::Value {
        let path = self.tf.path().join(".stateward/rebuild-journal.json");
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    }

    /// An environment file for this backend with a `rebuild` block.
    fn env_file(&self, rebuild: &str) -> String {
        let path = self.work.path().join("test.hcl");
        std::fs::write(
            &path,
            format!(
                "backend {{\n  bucket = {:?}\n  key = {:?}\n  region = {REGION:?}\n  dynamodb_table = {:?}\n  endpoint_url = {:?}\n}}\n{rebuild}",
                self.backend.bucket,
                self.backend.key,
                self.backend.table,
                endpoint()
            ),
        )
        .unwrap();
        path.display().to_string()
    }

    /// `stateward rebuild run ARGS --dir TF` with the test double's environment.
    fn run_cmd(&self, args: &[&str], state: &[String]) -> std::process::Command {
        let mut all: Vec<String> = vec!["rebuild".into(), "run".into()];
        all.extend(args.iter().map(|s| s.to_string()));
        // No terminal here: --execute needs --yes (tested on its own).
        if args.contains(&"--execute") && !args.contains(&"--no-yes") {
            all.push("--yes".into());
        }
        all.retain(|a| a != "--no-yes");
        all.extend(["--dir".into(), self.tf.path().display().to_string()]);
        all.extend(state.iter().cloned());
        let mut cmd = stateward_cmd(&root(), &all);
        cmd.env("FAKE_TF_LOG", self.log())
            .env("FAKE_TF_ENDPOINT", endpoint())
            .env("FAKE_TF_RESOURCES", self.work.path().join("resources.json"))
            .env("CHECKPOINT_DISABLE", "1");
        cmd
    }

    /// Runs `rebuild run ARGS` and checks its exit code.
    fn run(&self, args: &[&str], state: &[String], code: i32) -> std::process::Output {
        let o = self.run_cmd(args, state).output().unwrap();
        assert_exit(&o, code);
        o
    }
}

fn fake_terraform() -> String {
    root()
        .join("tests/fixtures/fake-terraform")
        .display()
        .to_string()
}

fn wait_for(what: &str, cond: impl FnMut() -> bool) {
    wait_until_within(what, std::time::Duration::from_secs(90), cond)
}

#[test]
fn run_executes_the_waves_with_real_gates_and_resumes_after_a_kill_without_repeating_waves() {
    let p = Platform::new("rbrun");
    let fake = fake_terraform();
    let env = p.env_file(&format!(
        r#"rebuild {{
  tier "control plane" {{
    types        = ["aws_eks_cluster"]
    gate         = "eks-cluster-active"
    gate_timeout = "1m"
  }}
  tier "node groups" {{
    types        = ["aws_eks_node_group", "aws_eks_addon"]
    gate         = "eks-nodegroups-active"
    gate_timeout = "1m"
  }}
  tier "workloads" {{
    types    = ["helm_release", "kubernetes_*"]
    commands = [[{fake:?}, "kubectl", "apply", "-k", "infrastructure/kubernetes/"]]
  }}
}}
"#
    ));
    let state = vec!["--env".to_owned(), env];
    // The whole cluster is lost.
    p.delete_nodegroups(&["blue", "gpu"], true);

    // Without --execute: the plan and what would run; nothing runs.
    let o = p.run(&["--format", "json", "--terraform", &fake], &state, 0);
    let doc = json(&o);
    assert_schema("rebuild-run", &doc);
    assert_eq!(doc["executed"], false);
    assert_eq!(doc["status"], "dry-run");
    let names: Vec<&str> = doc["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "control plane",
            "node groups",
            "workloads",
            "everything else"
        ]
    );
    assert_eq!(
        doc["waves"][0]["commands"][0],
        serde_json::json!([
            fake,
            "apply",
            "-input=false",
            "-auto-approve",
            format!("-target={CLUSTER}")
        ])
    );
    assert_eq!(
        doc["waves"][2]["commands"][1],
        serde_json::json!([fake, "kubectl", "apply", "-k", "infrastructure/kubernetes/"])
    );
    assert_eq!(doc["waves"][1]["checks"]["checks"][1]["name"], "gpu");
    assert!(p.calls().is_empty(), "nothing may run without --execute");
    assert!(!p.tf.path().join(".stateward").exists());

    // --execute; the double blocks in wave 2, and the run is killed there.
    let marker = p.work.path().join("release");
    let mut child = p
        .run_cmd(&["--execute", "--terraform", &fake], &state)
        .env("FAKE_TF_BLOCK", "aws_eks_node_group")
        .env("FAKE_TF_MARKER", &marker)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("wave 2's command", || p.calls().len() == 2);
    let j = p.journal();
    assert_eq!(j["waves"][0]["status"], "completed", "{j:#}");
    assert_eq!(j["waves"][0]["gate_result"]["passed"], true);
    assert_eq!(j["waves"][1]["status"], "running");
    child.kill().unwrap(); // SIGKILL: no cleanup at all
    child.wait().unwrap();
    std::fs::write(&marker, b"").unwrap(); // the orphaned double exits
    assert!(p.nodegroups().is_empty(), "{:?}", p.nodegroups());

    // A new run refuses to silently redo an unfinished journal.
    let o = p.run(&["--execute", "--terraform", &fake], &state, 1);
    let err = stderr(&o);
    assert!(
        err.contains("an unfinished rebuild journal exists at"),
        "{err}"
    );
    assert!(
        err.contains("wave 2 (node groups) of 4 is running"),
        "{err}"
    );
    assert!(err.contains("pass --resume to continue it"), "{err}");
    // The killed run's lock (same user and host, dead process) was taken over.
    assert!(err.contains("taking over the rebuild lock"), "{err}");

    // --resume: wave 1's gate is re-checked, not its command; wave 2 runs again.
    let o = p.run(
        &[
            "--execute",
            "--resume",
            "--format",
            "json",
            "--terraform",
            &fake,
        ],
        &state,
        0,
    );
    let doc = json(&o);
    assert_schema("rebuild-run", &doc);
    assert_eq!(
        (doc["status"].as_str(), doc["resumed"].as_bool()),
        (Some("completed"), Some(true))
    );
    assert!(
        stderr(&o).contains("fake: created EKS node group"),
        "the double's output goes to stderr"
    );
    assert_eq!(
        p.calls_with(&format!("-target={CLUSTER}")),
        1,
        "wave 1 ran once: {:?}",
        p.calls()
    );
    assert_eq!(
        p.calls_with(&format!("-target={BLUE}")),
        2,
        "wave 2: killed, then rerun"
    );
    assert_eq!(p.calls_with("infrastructure/kubernetes/"), 1);
    let calls = p.calls();
    let (last, _) = calls.last().unwrap();
    assert_eq!(
        last,
        &["apply", "-input=false", "-auto-approve"],
        "the final full apply comes last"
    );
    let tf = std::fs::canonicalize(p.tf.path())
        .unwrap()
        .display()
        .to_string();
    assert!(calls.iter().all(|(_, cwd)| *cwd == tf), "{calls:?}");
    assert_eq!(doc["waves"][0]["gate_result"]["recheck"], true);
    assert_eq!(doc["waves"][0]["attempts"], 1);
    assert_eq!(doc["waves"][1]["attempts"], 2);
    assert_eq!(doc["waves"][1]["gate_result"]["detail"], "2 of 2 ready");
    // Wave 1 was last run by the killed run (1), the others by this one (2).
    let runs: Vec<&serde_json::Value> = doc["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["run"])
        .collect();
    assert_eq!(runs, [1, 2, 2, 2]);
    assert_eq!(
        p.nodegroups(),
        [
            ("blue".to_owned(), "ACTIVE".to_owned()),
            ("gpu".to_owned(), "ACTIVE".to_owned())
        ],
        "the real gate saw them"
    );
    let j = p.journal();
    assert_eq!(j["status"], "completed");
    assert_eq!(j["runs"].as_array().unwrap().len(), 2);
    assert_eq!(
        j["runs"][0]["outcome"],
        serde_json::Value::Null,
        "the killed run never finished"
    );

    // The rebuild lock is free again; the state's own lock was never taken.
    for extra in [&["--rebuild"][..], &[][..]] {
        let mut args = vec!["lock", "status", "--format", "json"];
        args.extend(extra);
        args.extend(["--env", &state[1]]);
        let o = stateward(&args);
        assert_exit(&o, 0);
        assert_eq!(json(&o)["locked"], false, "{extra:?}");
    }
}

#[test]
fn a_failing_command_stops_the_run_and_resume_retries_that_wave() {
    let p = Platform::new("rbfail");
    p.delete_nodegroups(&["gpu"], false);
    let fake = fake_terraform();
    let flags = p.backend.flags();
    let o = p
        .run_cmd(
            &[
                "--execute",
                "--s3-journal",
                "--format",
                "json",
                "--terraform",
                &fake,
            ],
            &flags,
        )
        .env("FAKE_TF_FAIL", "aws_eks_node_group")
        .env("FAKE_TF_FAIL_CODE", "3")
        .output()
        .unwrap();
    assert_exit(&o, 1);
    let tf = std::fs::canonicalize(p.tf.path())
        .unwrap()
        .display()
        .to_string();
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "error: wave 1 (node groups and add-ons) stopped: `{fake} apply -input=false -auto-approve '-target={GPU}'` exited with code 3 in {tf}; fix the cause and rerun `stateward rebuild run --execute --resume --s3-journal --yes --terraform {fake} --dir {tf} {}",
            p.backend.flags().join(" ")
        )),
        "{err}"
    );
    assert!(
        err.contains("Error: simulated failure"),
        "the command's own stderr is shown"
    );
    let doc = json(&o);
    assert_schema("error", &doc);
    assert_eq!(doc["error"]["kind"], "rebuild-command-failed");
    assert_eq!(doc["error"]["exit_code"], 1);
    let j = p.journal();
    assert_eq!(j["status"], "failed");
    assert_eq!(j["waves"][0]["status"], "failed");
    assert_eq!(j["waves"][0]["commands_run"][0]["exit_code"], 3);
    assert!(j["waves"][0]["error"]
        .as_str()
        .unwrap()
        .contains("exited with code 3"));
    assert_eq!(j["waves"][1]["status"], "pending");
    // --s3-journal: the same journal next to the state.
    let copy = aws::get_object(
        &p.backend.bucket,
        &format!("{}.rebuild-journal.json", p.backend.key),
        None,
    );
    let copy: serde_json::Value = serde_json::from_slice(&copy).unwrap();
    assert_eq!(copy, j, "the S3 copy equals the local journal");

    // Fixed: the printed resume command, run as printed (from another
    // directory), runs that wave again, then the rest.
    let resume = printed_after(&err, "rerun `");
    let mut cmd = sh_cmd(&resume);
    cmd.current_dir(std::env::temp_dir())
        .env("FAKE_TF_LOG", p.log())
        .env("FAKE_TF_ENDPOINT", endpoint())
        .env("FAKE_TF_RESOURCES", p.work.path().join("resources.json"))
        .env("CHECKPOINT_DISABLE", "1");
    let o = cmd.output().unwrap();
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("completed"), "{out}");
    assert!(out.contains("Total:"), "{out}");
    assert_eq!(p.calls_with(&format!("-target={GPU}")), 2);
    assert_eq!(p.calls().len(), 3, "{:?}", p.calls());
    assert!(p
        .nodegroups()
        .contains(&("gpu".to_owned(), "ACTIVE".to_owned())));
    assert_eq!(p.journal()["waves"][0]["attempts"], 2);

    // The journal is completed: --resume only re-checks; a new run plans afresh
    // (and finds nothing missing).
    let o = p.run(
        &["--execute", "--format", "json", "--terraform", &fake],
        &flags,
        0,
    );
    assert_eq!(json(&o)["status"], "nothing-to-do");
}

#[test]
fn a_gate_that_never_passes_stops_the_run_with_exit_2() {
    let p = Platform::new("rbgate");
    p.delete_nodegroups(&["gpu"], false);
    let env = p.env_file(
        "rebuild {\n  tier \"node groups\" {\n    types = [\"aws_eks_node_group\"]\n    gate = \"eks-nodegroups-active\"\n    gate_timeout = \"2s\"\n  }\n}\n",
    );
    let o = p
        .run_cmd(
            &["--execute", "--terraform", &fake_terraform()],
            &["--env".into(), env],
        )
        .env("FAKE_TF_NOOP", "1")
        .output()
        .unwrap();
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "error: wave 1 (node groups) stopped: its gate eks-nodegroups-active did not pass (0 of 1 ready within 2s: EKS node group {}:gpu does not exist yet); fix that and rerun",
            p.cluster
        )),
        "{err}"
    );
    let j = p.journal();
    assert_eq!(j["waves"][0]["gate_result"]["passed"], false);
    assert!(j["waves"][0]["gate_seconds"].as_f64().unwrap() >= 2.0);
    assert_eq!(p.calls().len(), 1, "the final apply never ran");
}

#[test]
fn a_second_run_gets_exit_3_while_the_first_holds_the_rebuild_lock() {
    let p = Platform::new("rbconc");
    p.delete_nodegroups(&["gpu"], false);
    let fake = fake_terraform();
    let flags = p.backend.flags();
    // The first run's Terraform waits for the marker: it holds the rebuild
    // lock until the second run has been turned away.
    let marker = p.work.path().join("second-run-done");
    let first = p
        .run_cmd(&["--execute", "--terraform", &fake], &flags)
        .env("FAKE_TF_HOLD", "-target=")
        .env("FAKE_TF_MARKER", &marker)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lock_id = format!("{}/{}.rebuild", p.backend.bucket, p.backend.key);
    wait_for("the rebuild lock", || {
        aws::get_item(&p.backend.table, &lock_id).is_some()
    });
    let o = p.run(&["--execute", "--terraform", &fake], &flags, 3);
    let err = stderr(&o);
    assert!(
        err.contains("another rebuild holds the rebuild lock"),
        "{err}"
    );
    assert!(
        err.contains(&lock_id) && err.contains("OperationTypeRebuild"),
        "{err}"
    );
    // Only the rebuild lock: the state's own lock stays free for Terraform.
    let mut args = vec![
        "lock".to_owned(),
        "status".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(flags.clone());
    assert_eq!(json(&stateward(&args))["locked"], false);
    std::fs::write(&marker, "").unwrap();
    let o = first.wait_with_output().unwrap();
    assert_exit(&o, 0);
    assert_eq!(
        p.calls_with(&format!("-target={GPU}")),
        1,
        "the second run ran nothing"
    );
}

#[test]
fn real_terraform_runs_in_the_directory_and_its_failure_stops_the_run() {
    let p = Platform::new("rbtf");
    p.delete_nodegroups(&["gpu"], false);
    // No gates: real Terraform has no AWS provider here, it only applies outputs.
    let env = p.env_file(
        "rebuild {\n  tier \"node groups\" {\n    types = [\"aws_eks_node_group\"]\n  }\n}\n",
    );
    let state = vec!["--env".to_owned(), env];
    std::fs::write(
        p.tf.path().join("main.tf"),
        "output \"rebuilt\" {\n  value = \"yes\"\n}\n",
    )
    .unwrap();
    // A relative --terraform is taken from the current directory (the repository here).
    let o = p.run(
        &[
            "--execute",
            "--format",
            "json",
            "--terraform",
            ".venv/bin/terraform-1.0.3",
        ],
        &state,
        0,
    );
    let doc = json(&o);
    assert_schema("rebuild-run", &doc);
    let tf_bin = terraform_bin().display().to_string();
    let ran: Vec<serde_json::Value> = doc["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["commands_run"].as_array().unwrap().clone())
        .collect();
    assert_eq!(ran.len(), 2);
    assert_eq!(
        ran[0]["argv"],
        serde_json::json!([
            tf_bin,
            "apply",
            "-input=false",
            "-auto-approve",
            format!("-target={GPU}")
        ])
    );
    assert_eq!(
        ran[1]["argv"],
        serde_json::json!([tf_bin, "apply", "-input=false", "-auto-approve"])
    );
    assert!(ran.iter().all(|c| c["exit_code"] == 0), "{ran:?}");
    // Terraform really ran there: its local state holds the output.
    let tfstate: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.tf.path().join("terraform.tfstate")).unwrap())
            .unwrap();
    assert_eq!(tfstate["outputs"]["rebuilt"]["value"], "yes");
    assert!(
        stderr(&o).contains("Apply complete!"),
        "Terraform's output is streamed to stderr"
    );

    // A broken configuration: Terraform exits 1 and the run stops there.
    std::fs::write(
        p.tf.path().join("main.tf"),
        "output \"rebuilt\" {\n  value =\n}\n",
    )
    .unwrap();
    let o = p.run(&["--execute", "--terraform", &tf_bin], &state, 1);
    let err = stderr(&o);
    assert!(
        err.contains("Error: "),
        "Terraform's own error is shown: {err}"
    );
    assert!(
        err.contains(&format!("error: wave 1 (node groups) stopped: `{tf_bin} apply -input=false -auto-approve '-target={GPU}'` exited with code 1")),
        "{err}"
    );
    let j = p.journal();
    assert_eq!(j["waves"][0]["commands_run"][0]["exit_code"], 1);
    assert_eq!(j["waves"][1]["status"], "pending");
}

/// Regression (issue 15): `rebuild run --execute` used to start `terraform
/// apply -auto-approve` without showing or asking. It shows the waves and
/// asks on a terminal (here a pseudo-terminal answering "n": nothing runs),
/// and refuses without one unless --yes.
#[test]
fn execute_shows_the_waves_and_asks_or_refuses_without_a_terminal() {
    let p = Platform::new("rbask");
    p.delete_nodegroups(&["gpu"], false);
    let fake = fake_terraform();
    let flags = p.backend.flags();

    // No terminal, no --yes: refused, the waves shown, nothing run.
    let o = p.run(&["--execute", "--no-yes", "--terraform", &fake], &flags, 1);
    let err = stderr(&o);
    assert!(err.contains("Rebuild plan: 2 waves"), "{err}");
    assert!(err.contains("leave out --execute to only look"), "{err}");
    assert!(err.contains(&format!("-target={GPU}")), "{err}");
    assert!(err.contains("refusing without a terminal"), "{err}");
    assert!(p.calls().is_empty(), "nothing may run unconfirmed");
    assert!(!p.tf.path().join(".stateward").exists());

    // On a terminal, answering "n": cancelled, nothing run.
    require_script();
    let cmd = p.run_cmd(&["--execute", "--no-yes", "--terraform", &fake], &flags);
    let argv: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', r"'\''")))
        .collect();
    let inner = argv.join(" ");
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf 'n\\n' | script -qec '{}' /dev/null",
            inner.replace('\'', r"'\''")
        ))
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(
        out.contains("Run 2 waves") && out.contains("[y/N]"),
        "{out}"
    );
    assert!(out.contains("cancelled: nothing was changed"), "{out}");
    assert!(p.calls().is_empty(), "nothing may run after \"n\"");
}

/// The journal's S3 copy is written as the state is: with the backend's
/// SSE-KMS key (issue 13: every write into the state's bucket).
#[test]
fn the_s3_journal_carries_the_backends_encryption() {
    let p = Platform::new("rbsse");
    p.delete_nodegroups(&["gpu"], false);
    let key_arn = aws::create_kms_key();
    let env = p.work.path().join("sse.hcl");
    std::fs::write(
        &env,
        format!(
            "backend {{\n  bucket = {:?}\n  key = {:?}\n  region = {REGION:?}\n  dynamodb_table = {:?}\n  endpoint_url = {:?}\n  use_lockfile = true\n  encrypt = true\n  kms_key_id = {key_arn:?}\n}}\n",
            p.backend.bucket,
            p.backend.key,
            p.backend.table,
            endpoint()
        ),
    )
    .unwrap();
    let o = p.run(
        &[
            "--execute",
            "--s3-journal",
            "--format",
            "json",
            "--terraform",
            &fake_terraform(),
        ],
        &["--env".into(), env.display().to_string()],
        0,
    );
    assert_eq!(json(&o)["status"], "completed", "{}", stdout(&o));
    assert_eq!(
        aws::head_encryption(
            &p.backend.bucket,
            &format!("{}.rebuild-journal.json", p.backend.key)
        ),
        ("aws:kms".to_owned(), key_arn)
    );
}

/// Found in the issue 13 audit: with the EKS calls denied, `rebuild plan`
/// exited 0 with no wave and said nothing, as if the cluster were there. A
/// plan made on a scan AWS refused is incomplete: it is printed, names how
/// many resources were not checked, says so on stderr and exits 1; so does a
/// `rebuild run` dry run.
#[test]
fn a_plan_on_a_scan_aws_refused_says_so_and_exits_1() {
    let backend = Backend::new("rbdenied");
    let cluster = format!("{}-eks", backend.bucket);
    backend.put(&backend.key, cluster_state(&cluster).as_bytes());
    let proxy = TruncatingProxy::faulty();
    proxy.fault("/clusters", Fault::DENIED, usize::MAX);
    let via = backend.flags_via(&proxy.url());

    let mut args: Vec<String> = ["rebuild", "plan", "--format", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(via.iter().cloned());
    let o = stateward(&args);
    assert_exit(&o, 1);
    let doc = json(&o);
    assert_schema("rebuild-plan", &doc);
    assert!(doc["failed_checks"].as_u64().unwrap() >= 1, "{doc:#}");
    assert!(doc["not_checked"].as_u64().unwrap() >= doc["failed_checks"].as_u64().unwrap());
    let err = stderr(&o);
    assert!(
        err.contains("could not be checked because AWS refused or failed the calls"),
        "{err}"
    );
    assert!(
        !proxy.injected().is_empty(),
        "the EKS calls went through the proxy"
    );

    // Every check answered: exit 0, nothing failed.
    let mut args: Vec<String> = ["rebuild", "plan", "--format", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(backend.flags());
    let o = stateward(&args);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["failed_checks"], 0);

    // The dry run of `rebuild run` is a check too.
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = ["rebuild", "run", "--format", "json", "--dir"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(dir.path().display().to_string());
    args.extend(via);
    let o = stateward(&args);
    assert_exit(&o, 1);
    let doc = json(&o);
    assert_schema("rebuild-run", &doc);
    assert_eq!(doc["status"], "dry-run", "{doc:#}");
    assert!(doc["failed_checks"].as_u64().unwrap() >= 1, "{doc:#}");
    assert!(
        doc["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("refused or failed")),
        "{doc:#}"
    );
}
