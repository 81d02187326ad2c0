//! Test rig: a real AWS emulator (moto's server) on a free loopback port, the
//! real Terraform 1.0.3 binary, and helpers to run the `stateward` binary.
//!
//! Both come from the project's virtualenv, installed by `scripts/setup`
//! (which `scripts/test` runs). A missing piece fails the test with a message
//! naming that command; nothing is skipped.
#![allow(dead_code)]

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
        let python = venv_python();
        let mut child = Command::new(python)
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
        Emulator {
            port,
            _child: Mutex::new(child),
        }
    });
    format!("http://127.0.0.1:{}", emu.port)
}

pub const REGION: &str = "eu-west-1";

/// Environment every AWS-touching process gets: fake credentials, no real
/// config files, no instance metadata lookups.
pub fn aws_env(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
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

/// Runs a Python snippet with boto3 (installed with moto) against the
/// emulator; `ENDPOINT` and `REGION` are predefined. Returns stdout.
pub fn boto(script: &str) -> String {
    let prelude = format!(
        "import boto3, json, sys\nENDPOINT = {:?}\nREGION = {:?}\ns3 = boto3.client('s3', endpoint_url=ENDPOINT, region_name=REGION)\nddb = boto3.client('dynamodb', endpoint_url=ENDPOINT, region_name=REGION)\n",
        endpoint(),
        REGION
    );
    let mut cmd = Command::new(venv_python());
    aws_env(&mut cmd)
        .arg("-c")
        .arg(format!("{prelude}{script}"));
    let out = cmd.output().expect("run python");
    assert!(
        out.status.success(),
        "boto3 script failed: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
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
        boto(&format!(
            "s3.create_bucket(Bucket={bucket:?}, CreateBucketConfiguration={{'LocationConstraint': REGION}})\n\
             if {versioned}:\n    s3.put_bucket_versioning(Bucket={bucket:?}, VersioningConfiguration={{'Status': 'Enabled'}})\n\
             ddb.create_table(TableName={table:?}, KeySchema=[{{'AttributeName': 'LockID', 'KeyType': 'HASH'}}], \
             AttributeDefinitions=[{{'AttributeName': 'LockID', 'AttributeType': 'S'}}], BillingMode='PAY_PER_REQUEST')\n",
            versioned = if versioned { "True" } else { "False" }
        ));
        Backend { bucket, table, key }
    }

    /// Uploads bytes as a new version of `key`; returns the version id.
    pub fn put(&self, key: &str, bytes: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("body");
        std::fs::write(&file, bytes).unwrap();
        boto(&format!(
            "r = s3.put_object(Bucket={:?}, Key={key:?}, Body=open({:?}, 'rb').read())\nprint(r.get('VersionId', 'null'))",
            self.bucket,
            file.display().to_string()
        ))
        .trim()
        .to_owned()
    }

    /// Puts a delete marker on `key`.
    pub fn delete(&self, key: &str) {
        boto(&format!(
            "s3.delete_object(Bucket={:?}, Key={key:?})",
            self.bucket
        ));
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
            let found = boto(&format!(
                "print('Item' in ddb.get_item(TableName={:?}, Key={{'LockID': {{'S': {lock_id:?}}}}}, ConsistentRead=True))",
                backend.table
            ));
            if found.trim() == "True" {
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
