//! Test rig: a real AWS emulator (moto's server) on a free loopback port, the
//! real Terraform 1.0.3 binary, and helpers to run the `stateward` binary.
//!
//! Both come from the project's virtualenv, installed by `scripts/setup`
//! (which `scripts/test` runs). A missing piece fails the test with a message
//! naming that command; nothing is skipped.
#![allow(dead_code)]

pub mod aws;
pub mod faults;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

pub const SETUP: &str = "run `scripts/setup` (or `scripts/test`, which runs it) to install the emulator and Terraform into .venv";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn venv_python() -> PathBuf {
    let p = root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "the project virtualenv is missing ({}): {SETUP}",
        p.display()
    );
    p
}

/// The real Terraform 1.0.3 binary.
pub fn terraform_bin() -> PathBuf {
    let p = root().join(".venv/bin/terraform-1.0.3");
    assert!(
        p.exists(),
        "Terraform 1.0.3 is missing ({}): {SETUP}",
        p.display()
    );
    p
}

struct Emulator {
    port: u16,
    _child: Mutex<Child>,
}

/// The emulator's endpoint, e.g. `http://127.0.0.1:41234`. Started once per
/// test binary; it stops by itself when the test process ends (it watches its
/// stdin, which this process holds open).
pub fn endpoint() -> String {
    static EMU: OnceLock<Emulator> = OnceLock::new();
    let emu = EMU.get_or_init(|| {
        let (port, child) = start_emulator();
        Emulator {
            port,
            _child: Mutex::new(child),
        }
    });
    format!("http://127.0.0.1:{}", emu.port)
}

/// Starts one more emulator process (`scripts/emulator.py`) on a free
/// loopback port: its port and the process, which stops by itself when this
/// test process ends (it watches its stdin).
pub fn start_emulator() -> (u16, Child) {
    let mut child = Command::new(venv_python())
        .arg(root().join("scripts/emulator.py"))
        .arg("--watch-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the AWS emulator: {e}; {SETUP}"));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read emulator port");
    let port: u16 = line.trim().parse().unwrap_or_else(|_| {
        panic!("the AWS emulator did not start (printed {line:?}); is moto installed? {SETUP}")
    });
    (port, child)
}

pub const REGION: &str = "eu-west-1";

/// Environment every AWS-touching process gets: fake credentials, no real
/// config files, no instance metadata lookups.
/// The version cache directory of this test process.
pub fn test_cache_dir() -> PathBuf {
    std::env::temp_dir().join(format!("stateward-test-cache-{}", std::process::id()))
}

pub fn aws_env(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        // The version cache of the commands a test runs: one per test
        // process, never the user's.
        .env("STATEWARD_CACHE_DIR", test_cache_dir())
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .env_remove("RUST_LOG")
}

/// A unique, valid bucket/table name for one test.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A state bucket (versioned unless asked otherwise) and lock table in the emulator.
pub struct Backend {
    pub bucket: String,
    pub table: String,
    pub key: String,
}

impl Backend {
    pub fn new(name: &str) -> Backend {
        Self::with_versioning(name, true)
    }

    pub fn with_versioning(name: &str, versioned: bool) -> Backend {
        let bucket = unique(name);
        let table = format!("{bucket}-locks");
        let key = "platform/terraform.tfstate".to_owned();
        aws::create_bucket(&bucket, versioned);
        aws::create_lock_table(&table);
        Backend { bucket, table, key }
    }

    /// Uploads bytes as a new version of `key`; returns the version id.
    pub fn put(&self, key: &str, bytes: &[u8]) -> String {
        aws::put_object(&self.bucket, key, bytes)
    }

    /// Puts a delete marker on `key`.
    pub fn delete(&self, key: &str) {
        aws::delete_object(&self.bucket, key)
    }

    /// `--bucket/--key/--region/--endpoint-url` flags for stateward.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--bucket".into(),
            self.bucket.clone(),
            "--key".into(),
            self.key.clone(),
            "--region".into(),
            REGION.into(),
            "--endpoint-url".into(),
            endpoint(),
            "--dynamodb-table".into(),
            self.table.clone(),
        ]
    }
}

/// Runs the stateward binary with the emulator's credentials.
pub fn stateward<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    stateward_in(&root(), args)
}

pub fn stateward_in<I, S>(dir: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    stateward_cmd(dir, args).output().expect("run stateward")
}

/// The stateward command with the emulator's credentials, in `dir`, not yet
/// run: add environment variables, then `.output()` or `.spawn()`.
pub fn stateward_cmd<I, S>(dir: &Path, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stateward"));
    aws_env(&mut cmd)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// Runs a command stateward printed (`stateward ...`, shell-quoted) through
/// `sh -c`, as a user pasting it would, with `extra` words appended (e.g.
/// `--yes`).
#[allow(dead_code)]
pub fn run_printed(command: &str, extra: &str) -> Output {
    assert!(
        command.starts_with("stateward "),
        "not a stateward command: {command}"
    );
    sh(&format!("{command} {extra}"))
}

/// `sh -c SCRIPT` with the stateward under test first on PATH and the
/// emulator's credentials, in the repository root, no stdin.
#[allow(dead_code)]
pub fn sh(script: &str) -> Output {
    sh_cmd(script).output().expect("run sh")
}

/// [`sh`], not yet run.
#[allow(dead_code)]
pub fn sh_cmd(script: &str) -> Command {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_stateward"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("sh");
    aws_env(&mut cmd)
        .current_dir(root())
        .env("PATH", path)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null());
    cmd
}

/// The text after `marker` up to the end of its line, or (when `marker`
/// ends with a backquote) up to the closing backquote.
#[allow(dead_code)]
pub fn printed_after(text: &str, marker: &str) -> String {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{text}"))
        + marker.len();
    let rest = &text[start..];
    let end = if marker.ends_with('`') {
        rest.find('`').unwrap()
    } else {
        rest.find('\n').unwrap_or(rest.len())
    };
    rest[..end].trim().to_owned()
}

/// The AWS request count `STATEWARD_API_STATS=1` makes stateward print on stderr.
pub fn api_requests(o: &Output) -> u64 {
    let err = stderr(o);
    err.lines()
        .find_map(|l| {
            l.strip_prefix("stateward: ")?
                .strip_suffix(" AWS API requests")
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count on stderr: {err}"))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

/// Asserts the exit code, showing both streams when it differs.
#[track_caller]
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit code\nstdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Validates a JSON document against `schemas/NAME.schema.json`.
#[track_caller]
pub fn assert_schema(name: &str, doc: &serde_json::Value) {
    let path = root().join("schemas").join(format!("{name}.schema.json"));
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())),
    )
    .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "output does not match {}:\n{}\n{doc:#}",
        path.display(),
        errors.join("\n")
    );
}

/// A Terraform working directory whose S3 backend is a [`Backend`] in the emulator.
pub struct TfProject {
    pub dir: tempfile::TempDir,
}

impl TfProject {
    /// Writes `main.tf` with the backend block and `body`, then `terraform init`.
    pub fn new(backend: &Backend, body: &str) -> TfProject {
        let dir = tempfile::tempdir().unwrap();
        let main = format!(
            r#"terraform {{
  backend "s3" {{
    bucket                      = "{bucket}"
    key                         = "{key}"
    region                      = "{region}"
    dynamodb_table              = "{table}"
    endpoint                    = "{ep}"
    dynamodb_endpoint           = "{ep}"
    force_path_style            = true
    skip_credentials_validation = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
  }}
}}

{body}
"#,
            bucket = backend.bucket,
            key = backend.key,
            region = REGION,
            table = backend.table,
            ep = endpoint(),
        );
        std::fs::write(dir.path().join("main.tf"), main).unwrap();
        let p = TfProject { dir };
        let o = p.run(&["init", "-input=false", "-no-color"]);
        assert!(o.status.success(), "terraform init failed:\n{}", stderr(&o));
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(terraform_bin());
        aws_env(&mut cmd)
            .current_dir(self.dir.path())
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .args(args)
            .stdin(Stdio::null());
        cmd.output().expect("run terraform")
    }

    /// `terraform apply -auto-approve` with `-var` pairs; panics on failure.
    pub fn apply(&self, vars: &[(&str, &str)]) {
        let mut args = vec!["apply", "-auto-approve", "-input=false", "-no-color"];
        let pairs: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for p in &pairs {
            args.push("-var");
            args.push(p);
        }
        let o = self.run(&args);
        assert!(
            o.status.success(),
            "terraform apply failed:\n{}\n{}",
            stdout(&o),
            stderr(&o)
        );
    }
}

/// A Terraform configuration that needs no provider downloads: outputs and a
/// `terraform_remote_state` data source (built into Terraform) reading a local
/// state file, so every apply with new variables writes a new state version.
pub const PLATFORM_TF: &str = r#"
variable "cluster_version" {
  type    = string
  default = "1.29"
}
variable "node_count" {
  type    = number
  default = 2
}
variable "db_password" {
  type      = string
  default   = "correct-horse-battery-staple"
  sensitive = true
}

data "terraform_remote_state" "network" {
  backend = "local"
  config = {
    path = "${path.module}/network.tfstate"
  }
  defaults = {
    cluster_version = var.cluster_version
    node_count      = var.node_count
  }
}

output "cluster_version" {
  value = var.cluster_version
}
output "node_count" {
  value = var.node_count
}
output "db_password" {
  value     = var.db_password
  sensitive = true
}
output "vpc_id" {
  value = data.terraform_remote_state.network.outputs.vpc_id
}
"#;

/// The local state the platform config's data source reads.
pub const NETWORK_STATE: &str = r#"{
  "version": 4,
  "terraform_version": "1.0.3",
  "serial": 1,
  "lineage": "network-lineage",
  "outputs": {
    "vpc_id": { "value": "vpc-0a1b2c3d", "type": "string" }
  },
  "resources": []
}
"#;

/// A Terraform project on the platform config, with `network.tfstate` beside it.
pub fn platform_project(backend: &Backend) -> TfProject {
    let p = TfProject::new(backend, PLATFORM_TF);
    std::fs::write(p.path().join("network.tfstate"), NETWORK_STATE).unwrap();
    p
}

/// `terraform console` in `project`, which holds the state lock while it
/// waits on stdin. Returns once the lock item exists; dropping the returned
/// handle's stdin (see [`ConsoleLock::release`]) makes Terraform unlock and exit.
pub struct ConsoleLock {
    child: std::process::Child,
}

impl ConsoleLock {
    // The child is handed to `ConsoleLock`, which waits on it in `release`
    // (or kills and waits on drop).
    #[allow(clippy::zombie_processes)]
    pub fn hold(project: &TfProject, backend: &Backend) -> ConsoleLock {
        let mut cmd = Command::new(terraform_bin());
        aws_env(&mut cmd)
            .current_dir(project.path())
            .env("CHECKPOINT_DISABLE", "1")
            .args(["console", "-no-color"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start terraform console");
        let lock_id = format!("{}/{}", backend.bucket, backend.key);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if aws::get_item(&backend.table, &lock_id).is_some() {
                return ConsoleLock { child };
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("terraform console never took the lock");
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// Ends the console: Terraform releases its lock.
    pub fn release(mut self) {
        drop(self.child.stdin.take());
        self.child.wait().expect("terraform console exits");
    }
}

impl Drop for ConsoleLock {
    /// A test that fails while the console runs leaves no Terraform behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// In-process use of the library against the emulator: the AWS SDK's default
/// chain reads the same fake credentials the child processes get. Set once,
/// to the values every test uses.
pub fn in_process_aws_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ] {
            std::env::set_var(k, v);
        }
    });
}

impl Backend {
    /// The library's view of this backend (in process): the same targeting
    /// the command-line flags give, with or without the DynamoDB table and
    /// the S3 lock file.
    pub fn context(&self, dynamodb: bool, lockfile: bool) -> stateward::cli::Context {
        in_process_aws_env();
        stateward::cli::Context::new(stateward::cli::GlobalArgs {
            bucket: vec![self.bucket.clone()],
            key: Some(self.key.clone()),
            region: Some(REGION.into()),
            endpoint_url: Some(endpoint()),
            dynamodb_table: dynamodb.then(|| self.table.clone()),
            use_lockfile: lockfile,
            ..Default::default()
        })
    }

    /// [`Backend::flags`] with the endpoint replaced (a proxy in front of the emulator).
    /// [`Backend::flags`] for the S3 lock file (`--use-lockfile`), with the
    /// DynamoDB table too when `dynamodb`.
    pub fn lockfile_flags(&self, dynamodb: bool) -> Vec<String> {
        let mut f = self.flags();
        if !dynamodb {
            let at = f.iter().position(|x| x == "--dynamodb-table").unwrap();
            f.drain(at..at + 2);
        }
        f.push("--use-lockfile".into());
        f
    }

    pub fn flags_via(&self, url: &str) -> Vec<String> {
        let mut f = self.flags();
        let ep = endpoint();
        for x in &mut f {
            if *x == ep {
                *x = url.to_owned();
            }
        }
        f
    }
}

/// A loopback HTTP proxy in front of the emulator that cuts bodies short
/// while keeping the framing consistent (as a middlebox rewriting
/// Content-Length would): the first `times` responses to a whole-object GET
/// (no Range header) whose request line contains `needle` carry only half
/// their body, with Content-Length rewritten to match. Everything else is
/// passed through unchanged. One request per connection (`Connection: close`).
/// Every request's head (request line and headers) is recorded.
///
/// It is also the fault-injecting proxy of `tests/faults.rs` and
/// `tests/soak.rs`: [`TruncatingProxy::fault`] and
/// [`TruncatingProxy::random_faults`] add rules that answer matching
/// requests with a [`Fault`] (the request line and `X-Amz-Target` are
/// matched, so `PutItem`, `GET /bucket/key` or `ListObjectVersions`'
/// `?versions` all select).
pub struct TruncatingProxy {
    port: u16,
    truncated: std::sync::Arc<AtomicUsize>,
    requests: std::sync::Arc<Mutex<Vec<Vec<String>>>>,
    refuse_sse_c: std::sync::Arc<Mutex<Option<String>>>,
    faults: std::sync::Arc<Faults>,
}

/// One fault the proxy injects in a response. Rules match the request line,
/// the `X-Amz-Target` header (JSON protocols) and the `Action=` of a query
/// protocol's form body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// An error answer with this HTTP status and AWS error code, not
    /// forwarded (S3: XML; DynamoDB and JSON services: `__type`).
    Status(u16, &'static str),
    /// The request is applied by the emulator, then the connection is closed
    /// without an answer (a lost response).
    LoseResponse,
    /// The head and half the body are sent (Content-Length intact), then the
    /// connection is closed (a reset mid-body).
    ResetMidBody,
    /// Half the body with Content-Length rewritten to match (consistent framing).
    ShortBody,
    /// No answer for this long, then the answer (a stalled response); the
    /// request reaches the emulator only after the wait.
    Stall(std::time::Duration),
    /// The request is applied by the emulator at once, its answer held this
    /// long (a response in flight).
    HoldAnswer(std::time::Duration),
    /// The head and half the body, then nothing for this long, then the rest.
    StallMidBody(std::time::Duration),
    /// The answer with the first `<ETag>` of its XML body (CopyObject's
    /// result) replaced by another 32-hex value of the same length.
    OtherEtag,
}

impl Fault {
    /// S3's throttling answer.
    pub const SLOW_DOWN: Fault = Fault::Status(503, "SlowDown");
    /// An internal error.
    pub const INTERNAL: Fault = Fault::Status(500, "InternalError");
    /// DynamoDB's throttling answer.
    pub const THROTTLED: Fault = Fault::Status(400, "ThrottlingException");
    /// Access denied (S3 `AccessDenied`, JSON services `AccessDeniedException`).
    pub const DENIED: Fault = Fault::Status(403, "AccessDenied");
}

/// The rules of a fault-injecting proxy: `(needle, fault, times left,
/// chance in per mille)`, checked in order; the first that matches and
/// fires is injected.
/// `(needle, fault, times left, chance in per mille)`.
type Rule = (String, Fault, usize, u32);

#[derive(Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    /// `(trigger, rule)`: the rule joins `rules` once a request matching
    /// the trigger has passed.
    armed_by: Mutex<Vec<(String, Rule)>>,
    rng: Mutex<u64>,
    injected: Mutex<Vec<(String, Fault)>>,
    /// Requests received whose exchange with the emulator has not ended.
    upstream: AtomicUsize,
}

/// Counts a request as on its way to the emulator until dropped.
struct OnTheWay<'a>(&'a AtomicUsize);

impl Drop for OnTheWay<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Faults {
    fn pick(&self, target: &str) -> Option<Fault> {
        let picked = self.pick_now(target);
        // Rules armed by this request act from the next one on.
        let mut armed_by = self.armed_by.lock().unwrap();
        let mut rules = self.rules.lock().unwrap();
        armed_by.retain(|(trigger, rule)| {
            let hit = target.contains(trigger.as_str());
            if hit {
                rules.push(rule.clone());
            }
            !hit
        });
        picked
    }

    fn pick_now(&self, target: &str) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap();
        for (needle, fault, left, chance) in rules.iter_mut() {
            if *left == 0 || !target.contains(needle.as_str()) {
                continue;
            }
            if *chance < 1000 {
                let mut x = self.rng.lock().unwrap();
                // xorshift64*: seeded, reproducible.
                *x ^= *x >> 12;
                *x ^= *x << 25;
                *x ^= *x >> 27;
                let r = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % 1000;
                if r as u32 >= *chance {
                    continue;
                }
            }
            *left = left.saturating_sub(1);
            self.injected
                .lock()
                .unwrap()
                .push((target.to_owned(), *fault));
            return Some(*fault);
        }
        None
    }
}

impl TruncatingProxy {
    /// A proxy that passes everything through unchanged, recording each
    /// request's head: what the emulator would not check (SSE-C headers).
    pub fn recording() -> TruncatingProxy {
        TruncatingProxy::start("", 0)
    }

    pub fn start(needle: &str, times: usize) -> TruncatingProxy {
        use std::net::{TcpListener, TcpStream};
        use std::sync::Arc;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let upstream = endpoint().trim_start_matches("http://").to_owned();
        let remaining = Arc::new(Mutex::new(times));
        let truncated = Arc::new(AtomicUsize::new(0));
        let needle = needle.to_owned();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let refuse_sse_c: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let faults: Arc<Faults> = Arc::new(Faults::default());
        let (rem, trunc, reqs, refuse, fl) = (
            remaining.clone(),
            truncated.clone(),
            requests.clone(),
            refuse_sse_c.clone(),
            faults.clone(),
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let (upstream, needle, rem, trunc, reqs, refuse, fl) = (
                    upstream.clone(),
                    needle.clone(),
                    rem.clone(),
                    trunc.clone(),
                    reqs.clone(),
                    refuse.clone(),
                    fl.clone(),
                );
                std::thread::spawn(move || {
                    let _ = proxy_one(
                        client, &upstream, &needle, &rem, &trunc, &reqs, &refuse, &fl,
                    );
                });
            }
        });

        fn read_head(r: &mut impl BufRead) -> std::io::Result<Option<Vec<String>>> {
            let mut lines = Vec::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line)? == 0 {
                    return Ok(None);
                }
                let line = line.trim_end_matches(['\r', '\n']).to_owned();
                if line.is_empty() {
                    return Ok(Some(lines));
                }
                lines.push(line);
            }
        }
        fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
            head.iter().skip(1).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
            })
        }
        #[allow(clippy::too_many_arguments)]
        fn proxy_one(
            client: TcpStream,
            upstream: &str,
            needle: &str,
            remaining: &Mutex<usize>,
            truncated: &AtomicUsize,
            requests: &Mutex<Vec<Vec<String>>>,
            refuse_sse_c: &Mutex<Option<String>>,
            faults: &Faults,
        ) -> std::io::Result<()> {
            use std::io::{Read, Write};
            let mut out = client.try_clone()?;
            let mut r = BufReader::new(client);
            let Some(head) = read_head(&mut r)? else {
                return Ok(());
            };
            requests.lock().unwrap().push(head.clone());
            faults.upstream.fetch_add(1, Ordering::SeqCst);
            let on_the_way = OnTheWay(&faults.upstream);
            if header(&head, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
                out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            }
            let mut body = Vec::new();
            if header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
                loop {
                    let mut size = String::new();
                    r.read_line(&mut size)?;
                    body.extend_from_slice(size.as_bytes());
                    let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                        .unwrap_or(0);
                    if n == 0 {
                        loop {
                            let mut t = String::new();
                            r.read_line(&mut t)?;
                            body.extend_from_slice(t.as_bytes());
                            if t == "\r\n" || t.is_empty() {
                                break;
                            }
                        }
                        break;
                    }
                    let mut chunk = vec![0; n + 2];
                    r.read_exact(&mut chunk)?;
                    body.extend_from_slice(&chunk);
                }
            } else if let Some(n) = header(&head, "content-length").and_then(|n| n.parse().ok()) {
                body = vec![0; n];
                r.read_exact(&mut body)?;
            }
            // As S3 answers SSE-C parameters on an object stored without them.
            let refused = refuse_sse_c
                .lock()
                .unwrap()
                .as_deref()
                .is_some_and(|n| head[0].contains(n))
                && header(&head, "x-amz-server-side-encryption-customer-key").is_some();
            if refused {
                let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidRequest</Code><Message>The encryption parameters are not applicable to this object.</Message></Error>";
                out.write_all(
                    format!(
                        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )?;
                return out.flush();
            }
            let amz_target = header(&head, "x-amz-target").unwrap_or("").to_owned();
            // The query protocol (RDS, IAM, EC2, ...) names its operation in
            // the form body: `Action=DescribeDBInstances`.
            let action = header(&head, "content-type")
                .filter(|t| t.starts_with("application/x-www-form-urlencoded"))
                .and_then(|_| {
                    String::from_utf8_lossy(&body)
                        .split('&')
                        .find(|p| p.starts_with("Action="))
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            let fault = faults.pick(&format!("{} {amz_target} {action}", head[0]));
            match fault {
                Some(Fault::Status(status, code)) => {
                    let (ctype, body) = if !action.is_empty() {
                        (
                            "text/xml",
                            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected by the test proxy</Message></Error><RequestId>0</RequestId></ErrorResponse>"),
                        )
                    } else if amz_target.is_empty() {
                        (
                            "application/xml",
                            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected by the test proxy</Message><RequestId>0</RequestId></Error>"),
                        )
                    } else {
                        let code = if code == "AccessDenied" {
                            "AccessDeniedException"
                        } else {
                            code
                        };
                        (
                            "application/x-amz-json-1.0",
                            format!("{{\"__type\":\"com.amazonaws.dynamodb.v20120810#{code}\",\"message\":\"injected by the test proxy\"}}"),
                        )
                    };
                    out.write_all(
                        format!(
                            "HTTP/1.1 {status} Injected\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )?;
                    return out.flush();
                }
                Some(Fault::Stall(d)) => std::thread::sleep(d),
                _ => {}
            }
            let mut up = TcpStream::connect(upstream)?;
            let mut req = String::new();
            for (i, l) in head.iter().enumerate() {
                let name = l
                    .split(':')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                if i > 0 && (name == "connection" || name == "expect") {
                    continue;
                }
                req.push_str(l);
                req.push_str("\r\n");
            }
            req.push_str("Connection: close\r\n\r\n");
            up.write_all(req.as_bytes())?;
            up.write_all(&body)?;
            let mut resp = Vec::new();
            up.read_to_end(&mut resp)?;
            // The emulator has applied it and answered.
            drop(on_the_way);
            if let Some(Fault::HoldAnswer(d)) = fault {
                std::thread::sleep(d);
            }
            let split = resp
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|p| p + 4)
                .unwrap_or(resp.len());
            let (rhead, rbody) = resp.split_at(split);
            let rhead = String::from_utf8_lossy(rhead).into_owned();
            let rlines: Vec<String> = rhead
                .split("\r\n")
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            let whole_get = head[0].starts_with("GET ")
                && head[0].contains(needle)
                && header(&head, "range").is_none();
            let ok = rlines.first().is_some_and(|s| s.contains(" 200 "));
            let chunked = header(&rlines, "transfer-encoding").is_some();
            if fault == Some(Fault::LoseResponse) {
                // Applied upstream; the answer never arrives.
                let _ = out.shutdown(std::net::Shutdown::Both);
                return Ok(());
            }
            let partial = rlines.first().is_some_and(|s| s.contains(" 206 "));
            let midway = (ok || partial) && !chunked && rbody.len() > 1;
            let faulted_cut = midway && fault == Some(Fault::ShortBody);
            if midway && matches!(fault, Some(Fault::ResetMidBody | Fault::StallMidBody(_))) {
                let mut head_out = String::new();
                for l in &rlines {
                    if l.to_ascii_lowercase().starts_with("connection:") {
                        continue;
                    }
                    head_out.push_str(l);
                    head_out.push_str("\r\n");
                }
                head_out.push_str("Connection: close\r\n\r\n");
                out.write_all(head_out.as_bytes())?;
                out.write_all(&rbody[..rbody.len() / 2])?;
                out.flush()?;
                if let Some(Fault::StallMidBody(d)) = fault {
                    std::thread::sleep(d);
                    out.write_all(&rbody[rbody.len() / 2..])?;
                    return out.flush();
                }
                let _ = out.shutdown(std::net::Shutdown::Both);
                return Ok(());
            }
            let cut = faulted_cut
                || whole_get && ok && !chunked && rbody.len() > 1 && {
                    let mut left = remaining.lock().unwrap();
                    let take = *left > 0;
                    if take {
                        *left -= 1;
                    }
                    take
                };
            let body_out: &[u8] = if cut {
                truncated.fetch_add(1, Ordering::SeqCst);
                &rbody[..rbody.len() / 2]
            } else {
                rbody
            };
            let rewritten;
            let body_out: &[u8] = if fault == Some(Fault::OtherEtag) {
                rewritten = other_etag(body_out);
                &rewritten
            } else {
                body_out
            };
            let mut head_out = String::new();
            for (i, l) in rlines.iter().enumerate() {
                let name = l
                    .split(':')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                if i > 0 && name == "connection" {
                    continue;
                }
                if i > 0 && cut && name == "content-length" {
                    head_out.push_str(&format!("Content-Length: {}\r\n", body_out.len()));
                    continue;
                }
                head_out.push_str(l);
                head_out.push_str("\r\n");
            }
            head_out.push_str("Connection: close\r\n\r\n");
            out.write_all(head_out.as_bytes())?;
            out.write_all(body_out)?;
            out.flush()
        }

        TruncatingProxy {
            port,
            truncated,
            requests,
            refuse_sse_c,
            faults,
        }
    }

    /// A proxy that passes everything through until faults are added.
    pub fn faulty() -> TruncatingProxy {
        TruncatingProxy::start("", 0)
    }

    /// The next `times` requests matching `needle` get `fault`.
    pub fn fault(&self, needle: &str, fault: Fault, times: usize) {
        self.faults
            .rules
            .lock()
            .unwrap()
            .push((needle.to_owned(), fault, times, 1000));
    }

    /// Every request matching one of `rules`' needles gets its fault with
    /// the chance `per_mille` / 1000, drawn from a generator seeded with
    /// `seed` (reproducible for one order of requests).
    pub fn random_faults(&self, seed: u64, per_mille: u32, rules: &[(&str, Fault)]) {
        *self.faults.rng.lock().unwrap() = seed.max(1);
        let mut all = self.faults.rules.lock().unwrap();
        for (needle, fault) in rules {
            all.push((needle.to_string(), *fault, usize::MAX, per_mille));
        }
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.faults.rules.lock().unwrap().clear();
        self.faults.armed_by.lock().unwrap().clear();
    }

    /// [`TruncatingProxy::fault`], armed only once a request matching
    /// `trigger` has passed (e.g. the listing made under the lock: after
    /// the lock's `PutItem`).
    pub fn fault_after(&self, trigger: &str, needle: &str, fault: Fault, times: usize) {
        self.faults
            .armed_by
            .lock()
            .unwrap()
            .push((trigger.to_owned(), (needle.to_owned(), fault, times, 1000)));
    }

    /// The faults injected so far: the matched request line (and
    /// `X-Amz-Target`) and the fault.
    pub fn injected(&self) -> Vec<(String, Fault)> {
        self.faults.injected.lock().unwrap().clone()
    }

    /// Forgets the faults injected so far.
    pub fn reset_injected(&self) {
        self.faults.injected.lock().unwrap().clear();
    }

    /// From now on, requests whose request line contains `needle` and that
    /// carry SSE-C headers get S3's 400 `InvalidRequest` for an object
    /// stored without a customer key.
    pub fn refuse_sse_c_for(&self, needle: &str) {
        *self.refuse_sse_c.lock().unwrap() = Some(needle.to_owned());
    }

    /// The heads (request line, then `Name: value` lines) of every request
    /// so far, in arrival order.
    pub fn requests(&self) -> Vec<Vec<String>> {
        self.requests.lock().unwrap().clone()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits (60 s at most) until every request received so far has been
    /// applied by the emulator: stalled requests have been forwarded and
    /// answered (their answers may still be held).
    pub fn wait_settled(&self) {
        wait_until(
            "the requests held by the proxy reached the emulator",
            || self.faults.upstream.load(Ordering::SeqCst) == 0,
        );
    }

    /// How many bodies were cut so far.
    pub fn truncated(&self) -> usize {
        self.truncated.load(Ordering::SeqCst)
    }
}

/// Ctrl-C to a running process: SIGINT, as a terminal sends it.
pub fn sigint(child: &Child) {
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
}

/// Waits (60 s at most) until `cond` holds.
pub fn wait_until(what: &str, cond: impl FnMut() -> bool) {
    wait_until_within(what, std::time::Duration::from_secs(60), cond)
}

/// Waits (`limit` at most) until `cond` holds, looking every 100 ms.
pub fn wait_until_within(what: &str, limit: std::time::Duration, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Waits (`limit` at most) for `child` to exit; kills it and fails the test
/// when it does not.
pub fn exit_within(
    child: &mut Child,
    limit: std::time::Duration,
    what: &str,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits until the wall clock has passed `created` (an RFC 3339 time
/// printed by stateward, e.g. a snapshot's `created`) by `by`: polls the
/// clock (the one stateward reads) instead of sleeping a fixed time, and
/// is usually done at once.
pub fn wait_for_clock_past(created: &serde_json::Value, by: std::time::Duration) {
    let created = created
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {created}"));
    let at = time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{created:?} is not RFC 3339: {e}"))
        + by;
    while time::OffsetDateTime::now_utc() < at {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// `body` with the 32 hex digits of its first `<ETag>` (quoted as `"` or
/// `&quot;`) replaced by `0123456789abcdef0123456789abcdef` (the same length).
fn other_etag(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    let text = String::from_utf8_lossy(body);
    if let Some(at) = text.find("<ETag>") {
        let mut start = at + "<ETag>".len();
        for quote in ["&quot;", "&#34;", "\""] {
            if text[start..].starts_with(quote) {
                start += quote.len();
                break;
            }
        }
        let digits = text.get(start..start + 32).unwrap_or_default();
        if digits.len() == 32 && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            out[start..start + 32].copy_from_slice(b"0123456789abcdef0123456789abcdef");
        }
    }
    out
}

/// The terminal tests drive a pseudo-terminal with util-linux `script`;
/// without it they fail (never skip) saying what to install.
pub fn require_script() {
    let ok = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the terminal tests need `script` from util-linux: install it (apt-get install util-linux) and run scripts/test again"
    );
}

/// A state (lineage `live-lineage`) of one `aws_s3_bucket` per name, in
/// the shape the AWS provider writes.
pub fn bucket_state(serial: u64, buckets: &[String]) -> String {
    let resources: Vec<String> = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            format!(
                r#"{{"mode":"managed","type":"aws_s3_bucket","name":"b{i}","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[{{"schema_version":0,"attributes":{{"id":"{b}","bucket":"{b}","arn":"arn:aws:s3:::{b}","region":"{REGION}","tags":{{}}}},"sensitive_attributes":[]}}]}}"#
            )
        })
        .collect();
    format!(
        "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.5.7\",\n  \"serial\": {serial},\n  \"lineage\": \"live-lineage\",\n  \"outputs\": {{}},\n  \"resources\": [{}]\n}}\n",
        resources.join(",")
    )
}
