//! The command-line surface: help and its examples, completions and the man
//! page, usage errors, closed pipes, `--format` refusals, `--concurrency`,
//! colour and progress (off a terminal, and on a pseudo-terminal via
//! util-linux `script`).

use std::io::Read;
use std::process::{Command, Output, Stdio};

use crate::support::*;
use clap::CommandFactory;

fn fixture(name: &str) -> String {
    format!(
        "file:{}",
        root().join("tests/fixtures").join(name).display()
    )
}

/// A backend whose state has two versions (serial 17, then 18).
fn two_versions() -> Backend {
    let backend = Backend::new("surface");
    for f in ["full.tfstate", "full_v2.tfstate"] {
        let bytes = std::fs::read(root().join("tests/fixtures").join(f)).unwrap();
        backend.put(&backend.key, &bytes);
    }
    backend
}

fn with_backend(backend: &Backend, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(backend.flags());
    all
}

#[test]
fn no_subcommand_shows_the_help_and_exits_1() {
    let o = stateward(Vec::<String>::new());
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("Usage: stateward"), "{}", stderr(&o));
    assert!(stderr(&o).contains("versions"), "{}", stderr(&o));
    // A group without its subcommand too.
    let o = stateward(["lock"]);
    assert_exit(&o, 1);
    // Asked-for help is a success.
    assert_exit(&stateward(["--help"]), 0);
    assert_exit(&stateward(["lock", "--help"]), 0);
}

#[test]
fn usage_errors_in_json_mode_print_the_error_envelope() {
    for args in [
        vec!["versions", "--no-such-flag", "--format", "json"],
        vec!["--format=json", "drift", "--concurrency", "0"],
        vec!["--format", "json"],
    ] {
        let o = stateward(&args);
        assert_exit(&o, 1);
        let doc = json(&o);
        assert_schema("error", &doc);
        assert_eq!(doc["error"]["kind"], "usage", "{args:?}");
        assert_eq!(doc["error"]["exit_code"], 1);
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.contains('\n'),
            "{message:?}"
        );
        assert!(!message.contains('\x1b'), "{message:?}");
    }
    // Text mode: nothing on stdout.
    let o = stateward(["versions", "--no-such-flag"]);
    assert_exit(&o, 1);
    assert!(o.stdout.is_empty());
}

/// Runs stateward with its stdout a pipe whose reading end is closed
/// before stateward writes (it talks to the emulator first).
fn into_closed_pipe(args: &[String]) -> Output {
    let mut cmd = stateward_cmd(&root(), args);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{args:?}: {err}"
    );
    Output {
        status,
        stdout: vec![],
        stderr: err.into_bytes(),
    }
}

#[test]
fn a_closed_pipe_exits_0_in_every_format() {
    let backend = two_versions();
    for format in ["text", "json"] {
        let o = into_closed_pipe(&with_backend(&backend, &["versions", "--format", format]));
        assert_exit(&o, 0);
    }
    let o = into_closed_pipe(&with_backend(&backend, &["doctor", "--format", "markdown"]));
    assert_exit(&o, 0);
}

#[test]
fn pull_refuses_json_and_markdown_is_only_for_reports_made_for_it() {
    let o = stateward(["pull", &fixture("full.tfstate"), "--format", "json"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("pull writes the state's exact bytes"),
        "{}",
        stderr(&o)
    );
    assert_eq!(json(&o)["error"]["kind"], "usage");
    // Text: the bytes, untouched.
    let o = stateward(["pull", &fixture("full.tfstate")]);
    assert_exit(&o, 0);
    assert_eq!(
        o.stdout,
        std::fs::read(root().join("tests/fixtures/full.tfstate")).unwrap()
    );

    let o = stateward(["show", &fixture("full.tfstate"), "--format", "markdown"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("--format markdown is only for drift, doctor, states and report merge"),
        "{}",
        stderr(&o)
    );
    let o = stateward(["drift", "--list-types", "--format", "markdown"]);
    assert_exit(&o, 0);
    assert!(stdout(&o).starts_with("| type |"), "{}", stdout(&o));
}

/// Every command path (`versions`, `lock status`, ...) but `help`.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut p = path.clone();
            p.push(sub.get_name().to_owned());
            out.push(p.clone());
            walk(sub, p, out);
        }
    }
    let mut out = Vec::new();
    walk(&stateward::cli::Cli::command(), vec![], &mut out);
    out
}

#[test]
fn every_help_has_examples_and_the_state_location_after_the_commands_own_flags() {
    let paths = command_paths();
    assert!(paths.len() > 20, "{paths:?}");
    for path in paths {
        let mut args = path.clone();
        args.push("--help".into());
        let o = stateward(&args);
        assert_exit(&o, 0);
        let help = stdout(&o);
        let examples = help
            .split_once("Examples:\n")
            .unwrap_or_else(|| panic!("`{}` has no examples:\n{help}", path.join(" ")))
            .1;
        let n = examples
            .lines()
            .take_while(|l| l.starts_with("  "))
            .filter(|l| l.contains("stateward "))
            .count();
        assert!(
            (2..=4).contains(&n),
            "`{}` has {n} examples:\n{help}",
            path.join(" ")
        );
        // Each example runs the command it documents.
        assert!(
            examples.contains(&path.join(" ")),
            "`{}`'s examples do not use it:\n{examples}",
            path.join(" ")
        );
        let own = help.find("Options:").expect("an Options heading");
        let location = help
            .find("State location:")
            .expect("a State location heading");
        let output = help.find("Output:").expect("an Output heading");
        assert!(
            own < location && own < output,
            "`{}`:\n{help}",
            path.join(" ")
        );
    }
}

#[test]
fn completions_and_the_man_page_cover_every_command() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let o = stateward(["completions", shell]);
        assert_exit(&o, 0);
        let script = stdout(&o);
        for sub in [
            "versions",
            "restore",
            "drift",
            "doctor",
            "completions",
            "undelete",
        ] {
            assert!(script.contains(sub), "{shell} completions lack {sub}");
        }
        assert!(
            script.contains("concurrency"),
            "{shell} completions lack --concurrency"
        );
    }
    let o = stateward(["completions", "tcsh"]);
    assert_exit(&o, 1);

    let o = stateward(["man"]);
    assert_exit(&o, 0);
    let page = stdout(&o);
    assert!(page.contains(".TH stateward 1"), "{page}");
    for sub in ["versions", "restore", "drift", "completions"] {
        assert!(page.contains(sub), "man page lacks {sub}");
    }
    let dir = tempfile::tempdir().unwrap();
    let o = stateward(["man", "--dir", dir.path().to_str().unwrap()]);
    assert_exit(&o, 0);
    for page in [
        "stateward.1",
        "stateward-versions.1",
        "stateward-lock-status.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    let lock = std::fs::read_to_string(dir.path().join("stateward-lock-release.1")).unwrap();
    assert!(lock.contains("Examples"), "{lock}");
}

#[test]
fn schema_lists_prints_and_writes_the_committed_schemas() {
    // The list names every committed schema file.
    let o = stateward(["schema", "--format", "json"]);
    assert_exit(&o, 0);
    let listed = json(&o);
    let schemas = listed["schemas"].as_array().unwrap();
    let mut files: Vec<&str> = schemas
        .iter()
        .map(|s| s["file"].as_str().unwrap())
        .collect();
    files.sort();
    let mut committed: Vec<String> = std::fs::read_dir(root().join("schemas"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    committed.sort();
    for file in &files {
        assert!(
            committed.iter().any(|c| c == file),
            "{file} is not in schemas/"
        );
    }
    let text = stdout(&stateward(["schema"]));
    assert!(
        text.contains("lock-status") && text.contains("(hand-written)"),
        "{text}"
    );

    // One schema on stdout is the committed file, byte for byte.
    let o = stateward(["schema", "drift"]);
    assert_exit(&o, 0);
    let drift = std::fs::read(root().join("schemas/drift.schema.json")).unwrap();
    assert_eq!(o.stdout, drift);

    // --write: every file as committed.
    let dir = tempfile::tempdir().unwrap();
    let o = stateward(["schema", "--write", dir.path().to_str().unwrap()]);
    assert_exit(&o, 0);
    assert!(
        stderr(&o).contains(&format!("wrote {} schemas", files.len())),
        "{}",
        stderr(&o)
    );
    for file in &files {
        let written = std::fs::read(dir.path().join(file)).unwrap();
        let committed = std::fs::read(root().join("schemas").join(file)).unwrap();
        assert!(
            written == committed,
            "{file} differs: run `cargo run -- schema --write schemas`"
        );
    }

    let o = stateward(["schema", "no-such-schema", "--format", "json"]);
    assert_exit(&o, 1);
    assert_schema("error", &json(&o));
    assert!(
        stderr(&o).contains("there is no schema named `no-such-schema`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn concurrency_is_one_flag_with_the_old_name_hidden() {
    for path in [
        "versions", "show", "pull", "diff", "restore", "drill", "drift", "doctor",
    ] {
        let o = stateward([path, "--help"]);
        let help = stdout(&o);
        assert!(help.contains("--concurrency <N>"), "{path}:\n{help}");
        assert!(!help.contains("max-concurrency"), "{path}:\n{help}");
    }
    for path in [
        ["snapshot", "verify"],
        ["rebuild", "plan"],
        ["s3", "undelete"],
    ] {
        let o = stateward([path[0], path[1], "--help"]);
        assert!(stdout(&o).contains("--concurrency <N>"), "{path:?}");
    }
    // The old name still parses; out-of-range values are usage errors.
    assert_exit(
        &stateward(["drift", "--list-types", "--max-concurrency", "3"]),
        0,
    );
    assert_exit(
        &stateward(["drift", "--list-types", "--concurrency", "0"]),
        1,
    );

    let backend = two_versions();
    let o = stateward(with_backend(
        &backend,
        &["versions", "--concurrency", "1", "--format", "json"],
    ));
    assert_exit(&o, 0);
    assert_eq!(json(&o)["versions"].as_array().unwrap().len(), 2);
}

/// Runs `stateward ARGS` on a pseudo-terminal (util-linux `script`), with
/// `env` added; returns what the terminal showed (stdout and stderr).
fn on_a_terminal(args: &[String], env: &[(&str, &str)]) -> String {
    let line = std::iter::once(env!("CARGO_BIN_EXE_stateward").to_owned())
        .chain(args.iter().cloned())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("script");
    aws_env(&mut cmd)
        .args(["-qec", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "xterm")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("run script (util-linux)");
    String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n")
}

#[test]
fn colour_only_on_a_terminal_or_when_asked() {
    let (a, b) = (fixture("full.tfstate"), fixture("full_v2.tfstate"));
    // Off a terminal: plain.
    let o = stateward(["diff", &a, &b]);
    assert_exit(&o, 2);
    assert!(!stdout(&o).contains('\x1b'), "{:?}", stdout(&o));
    assert!(
        stdout(&o).contains("\n+ aws_s3_bucket.logs\n"),
        "{}",
        stdout(&o)
    );
    // Asked for.
    let o = stateward(["diff", &a, &b, "--color", "always"]);
    assert!(
        stdout(&o).contains("\x1b[32m+ aws_s3_bucket.logs"),
        "{:?}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("\x1b[31m- aws_instance.web[1]"),
        "{:?}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("\x1b[33m~ aws_db_instance.main"),
        "{:?}",
        stdout(&o)
    );
    // JSON never has escapes.
    let o = stateward(["diff", &a, &b, "--color", "always", "--format", "json"]);
    assert!(!stdout(&o).contains('\x1b'));
    json(&o);

    // On a terminal: coloured, unless NO_COLOR or --color never.
    let args = vec!["diff".to_owned(), a.clone(), b.clone()];
    let shown = on_a_terminal(&args, &[]);
    assert!(shown.contains("\x1b[32m+ aws_s3_bucket.logs"), "{shown:?}");
    let shown = on_a_terminal(&args, &[("NO_COLOR", "1")]);
    assert!(
        shown.contains("+ aws_s3_bucket.logs") && !shown.contains('\x1b'),
        "{shown:?}"
    );
    let mut never = args.clone();
    never.extend(["--color".to_owned(), "never".to_owned()]);
    let shown = on_a_terminal(&never, &[]);
    assert!(
        shown.contains("+ aws_s3_bucket.logs") && !shown.contains('\x1b'),
        "{shown:?}"
    );

    // Errors on stderr: red on a terminal, plain elsewhere.
    let missing = vec!["show".to_owned(), "file:/no/such/state".to_owned()];
    let shown = on_a_terminal(&missing, &[]);
    assert!(shown.contains("\x1b[31merror:\x1b[0m "), "{shown:?}");
    let o = stateward(&missing);
    assert_exit(&o, 1);
    assert!(stderr(&o).starts_with("error: "), "{:?}", stderr(&o));
}

#[test]
fn no_progress_off_a_terminal_or_in_json_mode() {
    let backend = two_versions();
    // Off a terminal: stderr stays empty.
    let o = stateward(with_backend(&backend, &["versions"]));
    assert_exit(&o, 0);
    assert_eq!(stderr(&o), "", "stderr off a terminal");
    assert!(
        stdout(&o).contains("2 versions (* = current)."),
        "{}",
        stdout(&o)
    );
    // JSON on a terminal: the document and nothing else.
    let shown = on_a_terminal(
        &with_backend(&backend, &["versions", "--format", "json"]),
        &[],
    );
    assert!(!shown.contains('\x1b'), "{shown:?}");
    let doc: serde_json::Value = serde_json::from_str(&shown)
        .unwrap_or_else(|e| panic!("terminal showed more than the JSON ({e}): {shown:?}"));
    assert_eq!(doc["versions"].as_array().unwrap().len(), 2);
}

/// A state of three buckets named `b0`, `b1`, `b2` in Terraform; the first
/// two exist live, the third does not.
fn three_buckets(dir: &std::path::Path) -> (String, [String; 3]) {
    let backend = Backend::new("ign");
    let names = ["a", "b", "c"].map(|s| format!("{}-{s}", backend.bucket));
    for b in &names[..2] {
        aws::create_bucket(b, false);
    }
    let state = bucket_state(1, &names);
    let path = dir.join("state.json");
    std::fs::write(&path, state).unwrap();
    (format!("file:{}", path.display()), names)
}

#[test]
fn drift_reads_driftctl_ignore_files_and_warns_about_rules_that_match_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (state, [a, _b, c]) = three_buckets(dir.path());
    let run = |dir: &std::path::Path| {
        stateward_in(
            dir,
            [
                "drift",
                &state,
                "--region",
                REGION,
                "--endpoint-url",
                &endpoint(),
            ],
        )
    };
    // Without an ignore file: c is missing.
    let o = run(dir.path());
    assert_exit(&o, 2);
    assert!(stdout(&o).contains(&c), "{}", stdout(&o));

    // driftctl's file, with the missing bucket, a Terraform name where the
    // bucket name belongs, and a rule for nothing at all.
    std::fs::write(
        dir.path().join(".driftignore"),
        format!("aws_s3_bucket.{c}\naws_s3_bucket.b0\naws_sqs_queue.nothing\n"),
    )
    .unwrap();
    let o = run(dir.path());
    assert_exit(&o, 0);
    let err = stderr(&o);
    assert!(
        err.contains("no .statewardignore here; using driftctl's .driftignore"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "warning: ignore rule `aws_s3_bucket.b0` matches no resource of this state: `aws_s3_bucket.b0` is the Terraform name of aws_s3_bucket.b0; ignore rules match the AWS ID: write `aws_s3_bucket.{a}`"
        )),
        "{err}"
    );
    assert!(
        err.contains(
            "warning: ignore rule `aws_sqs_queue.nothing` matches no resource of this state\n"
        ),
        "{err}"
    );
    assert!(
        !err.contains(&format!("`aws_s3_bucket.{c}` matches no")),
        "{err}"
    );

    // stateward's own file wins, and then .driftignore is not read.
    std::fs::write(dir.path().join(".statewardignore"), "# nothing ignored\n").unwrap();
    let o = run(dir.path());
    assert_exit(&o, 2);
    assert!(!stderr(&o).contains(".driftignore"), "{}", stderr(&o));
}

#[test]
fn latest_n_counts_readable_versions_so_diff_works_after_a_corrupt_write() {
    // A good write, a corrupt one, then a good one again (e.g. a restore).
    let backend = Backend::new("tilde");
    let v1 = std::fs::read(root().join("tests/fixtures/full.tfstate")).unwrap();
    let v3 = std::fs::read(root().join("tests/fixtures/full_v2.tfstate")).unwrap();
    let first = backend.put(&backend.key, &v1);
    let corrupt = backend.put(&backend.key, b"{\"version\": 4, \"seri");
    backend.put(&backend.key, &v3);

    let o = stateward(with_backend(&backend, &["diff", "latest~1", "latest"]));
    assert_exit(&o, 2);
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "--- version {first} (latest~1, 1 unreadable version not counted)"
        )),
        "{out}"
    );
    assert!(out.contains("serial 17 -> 18"), "{out}");
    assert!(!out.contains(&corrupt), "{out}");
    // pull latest~1 is the good version's bytes.
    let o = stateward(with_backend(&backend, &["pull", "latest~1"]));
    assert_exit(&o, 0);
    assert_eq!(o.stdout, v1);
    // There is no second readable version before the latest.
    let o = stateward(with_backend(&backend, &["show", "latest~2"]));
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains(
            "has 1 readable version before the latest (and 1 that cannot be read as a state)"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn progress_is_drawn_on_a_terminal_and_cleared() {
    let backend = two_versions();
    let shown = on_a_terminal(&with_backend(&backend, &["versions"]), &[]);
    assert!(
        shown.contains(&format!(
            "listing the versions of s3://{}/{}",
            backend.bucket, backend.key
        )),
        "{shown:?}"
    );
    // Cleared before the report: the report's lines are whole.
    assert!(
        shown.contains("\nVERSION ") || shown.contains("\x1b[2KVERSION "),
        "{shown:?}"
    );
    assert!(shown.contains("2 versions (* = current)."), "{shown:?}");
}

/// The examples of a help text, as argv without the shell around them
/// (`ID=$(...)`, `> file`, `| jq`).
fn example_argvs(help: &str) -> Vec<Vec<String>> {
    let Some((_, examples)) = help.split_once("Examples:\n") else {
        return vec![];
    };
    examples
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| {
            let l = l.trim();
            let l = l
                .strip_prefix("ID=$(")
                .map_or(l, |r| r.trim_end_matches(')'));
            let cut = [" | ", " > ", " >> "]
                .iter()
                .filter_map(|op| l.find(op))
                .min()
                .unwrap_or(l.len());
            let l = l[..cut].split(" # ").next().unwrap_or_default();
            l.starts_with("stateward ")
                .then(|| shlex::split(l).expect("quoted"))
        })
        .collect()
}

#[test]
fn every_help_example_parses() {
    let mut checked = 0;
    let mut helps = vec![stdout(&stateward(["--help"]))];
    for path in command_paths() {
        let mut args = path;
        args.push("--help".into());
        helps.push(stdout(&stateward(&args)));
    }
    for help in helps {
        for argv in example_argvs(&help) {
            if let Err(e) = <stateward::cli::Cli as clap::Parser>::try_parse_from(&argv) {
                panic!("example `{}` does not parse: {e}", argv.join(" "));
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} examples found");
}
