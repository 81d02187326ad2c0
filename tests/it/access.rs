//! Reaching the state the way Terraform does: assumed roles (backend
//! `assume_role`, `--role-arn`, web identity), account rules, and the errors
//! a first run meets (access denied, a missing lock table, an unknown profile).
//!
//! The role tests run against a second emulator with moto's IAM enforcement
//! on: a user `ci` that may only call `sts:AssumeRole` on the role `state`,
//! which may read and write the state bucket and the lock table (and
//! describe RDS, for the live checks of `doctor`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::support::*;

const ACCOUNT: &str = "123456789012";

/// The enforcing emulator and what was set up in it.
struct Enforcing {
    endpoint: String,
    ci_key: String,
    ci_secret: String,
    admin_key: String,
    admin_secret: String,
    role_arn: String,
    _child: Mutex<Child>,
}

/// One enforcing emulator per test binary: set up without enforcement,
/// then enforcement is switched on (`/moto-api/reset-auth`).
fn enforcing() -> &'static Enforcing {
    static E: OnceLock<Enforcing> = OnceLock::new();
    E.get_or_init(|| {
        let (port, child) = start_emulator();
        let endpoint = format!("http://127.0.0.1:{port}");
        let script = format!(
            r#"
import boto3, json, urllib.request
EP = {endpoint:?}
def c(svc, **kw):
    return boto3.client(svc, endpoint_url=EP, region_name={REGION:?}, aws_access_key_id=kw.get('ak', 'x'), aws_secret_access_key=kw.get('sk', 'x'))
iam = c('iam')
iam.create_user(UserName='admin')
iam.put_user_policy(UserName='admin', PolicyName='all', PolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}}]}}))
admin = iam.create_access_key(UserName='admin')['AccessKey']
iam.create_user(UserName='ci')
trust = {{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Principal': {{'AWS': 'arn:aws:iam::{ACCOUNT}:user/ci'}}, 'Action': 'sts:AssumeRole'}}, {{'Effect': 'Allow', 'Principal': {{'Federated': 'arn:aws:iam::{ACCOUNT}:oidc-provider/ci.example'}}, 'Action': 'sts:AssumeRoleWithWebIdentity'}}]}}
role = iam.create_role(RoleName='state', AssumeRolePolicyDocument=json.dumps(trust))['Role']
iam.put_role_policy(RoleName='state', PolicyName='state', PolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': ['s3:*', 'dynamodb:*', 'rds:Describe*'], 'Resource': '*'}}]}}))
iam.put_user_policy(UserName='ci', PolicyName='assume', PolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Resource': role['Arn']}}]}}))
ci = iam.create_access_key(UserName='ci')['AccessKey']
req = urllib.request.Request(EP + '/moto-api/reset-auth', data=b'0', method='POST', headers={{'Content-Type': 'text/plain'}})
urllib.request.urlopen(req).read()
print(json.dumps({{'admin': [admin['AccessKeyId'], admin['SecretAccessKey']], 'ci': [ci['AccessKeyId'], ci['SecretAccessKey']], 'role': role['Arn']}}))
"#
        );
        let out = Command::new(venv_python())
            .arg("-c")
            .arg(script)
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "IAM setup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let s = |p: &str| v.pointer(p).and_then(|x| x.as_str()).unwrap().to_owned();
        Enforcing {
            endpoint,
            admin_key: s("/admin/0"),
            admin_secret: s("/admin/1"),
            ci_key: s("/ci/0"),
            ci_secret: s("/ci/1"),
            role_arn: s("/role"),
            _child: Mutex::new(child),
        }
    })
}

fn state(serial: u64) -> String {
    format!(
        "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.0.3\",\n  \"serial\": {serial},\n  \"lineage\": \"access-lineage\",\n  \"outputs\": {{}},\n  \"resources\": []\n}}\n"
    )
}

/// A state bucket (two versions) and lock table in the enforcing emulator,
/// made with the admin's keys. Returns (bucket, table, version ids).
fn enforced_backend(name: &str) -> (String, String, Vec<String>) {
    enforced_backend_with(name, &[state(1), state(2)])
}

fn enforced_backend_with(name: &str, bodies: &[String]) -> (String, String, Vec<String>) {
    let e = enforcing();
    let bucket = unique(name);
    let table = format!("{bucket}-locks");
    let bodies = format!(
        "[{}]",
        bodies
            .iter()
            .map(|b| format!("{b:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let script = format!(
        r#"
import boto3, hashlib
kw = dict(endpoint_url={ep:?}, region_name={REGION:?}, aws_access_key_id={ak:?}, aws_secret_access_key={sk:?})
s3 = boto3.client('s3', **kw)
ddb = boto3.client('dynamodb', **kw)
s3.create_bucket(Bucket={bucket:?}, CreateBucketConfiguration={{'LocationConstraint': {REGION:?}}})
s3.put_bucket_versioning(Bucket={bucket:?}, VersioningConfiguration={{'Status': 'Enabled'}})
ddb.create_table(TableName={table:?}, KeySchema=[{{'AttributeName': 'LockID', 'KeyType': 'HASH'}}], AttributeDefinitions=[{{'AttributeName': 'LockID', 'AttributeType': 'S'}}], BillingMode='PAY_PER_REQUEST')
for body in {bodies}:
    v = s3.put_object(Bucket={bucket:?}, Key='platform/terraform.tfstate', Body=body.encode())['VersionId']
    print(v)
ddb.put_item(TableName={table:?}, Item={{'LockID': {{'S': {bucket:?} + '/platform/terraform.tfstate-md5'}}, 'Digest': {{'S': hashlib.md5(body.encode()).hexdigest()}}}})
"#,
        ep = e.endpoint,
        ak = e.admin_key,
        sk = e.admin_secret,
    );
    let out = Command::new(venv_python())
        .arg("-c")
        .arg(script)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "backend setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (bucket, table, ids)
}

/// A Terraform directory whose backend block holds `extra`.
fn backend_dir(bucket: &str, table: &str, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        format!(
            "terraform {{\n  backend \"s3\" {{\n    bucket = \"{bucket}\"\n    key = \"platform/terraform.tfstate\"\n    region = \"{REGION}\"\n    dynamodb_table = \"{table}\"\n{extra}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    dir
}

/// stateward as the user `ci` against the enforcing emulator.
fn as_ci(dir: &Path, args: &[&str]) -> Output {
    let e = enforcing();
    as_user(dir, args, &e.ci_key, &e.ci_secret, &[])
}

fn as_user(dir: &Path, args: &[&str], key: &str, secret: &str, env: &[(&str, &str)]) -> Output {
    let dir = dir.display().to_string();
    let mut all = args.to_vec();
    all.extend(["--backend-dir", dir.as_str()]);
    as_user_with(&all, key, secret, env)
}

/// stateward against the enforcing emulator with these keys (the target is in `args`).
fn as_user_with(args: &[&str], key: &str, secret: &str, env: &[(&str, &str)]) -> Output {
    let e = enforcing();
    stateward_cmd(&root(), args)
        .arg("--endpoint-url")
        .arg(&e.endpoint)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .envs(env.iter().copied())
        .output()
        .expect("run stateward")
}

/// versions, pull, lock status/acquire/release, digest status, diff,
/// snapshot create/verify, drill and restore, each as `run` runs them.
fn core_commands(run: &dyn Fn(&[&str]) -> Output, ids: &[String]) {
    let o = run(&["versions", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["versions"].as_array().unwrap().len(), 2);

    let o = run(&["pull"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), state(2));

    let o = run(&["lock", "status"]);
    assert_exit(&o, 0);

    let o = run(&["digest", "status"]);
    assert_exit(&o, 0);

    let o = run(&["lock", "acquire", "--reason", "access test"]);
    assert_exit(&o, 0);
    let id = stdout(&o)
        .split_whitespace()
        .find(|w| w.len() == 36 && w.matches('-').count() == 4)
        .unwrap_or_else(|| panic!("no lock ID in {}", stdout(&o)))
        .to_owned();
    let o = run(&["lock", "release", &id, "--yes"]);
    assert_exit(&o, 0);

    // The two versions differ only in their serial: no differences.
    let o = run(&["diff", &ids[0], &ids[1]]);
    assert_exit(&o, 0);

    let store = tempfile::tempdir().unwrap();
    let store = store.path().display().to_string();
    let o = run(&["snapshot", "create", "--snapshot-store", &store]);
    assert_exit(&o, 0);
    let o = run(&["snapshot", "verify", "--all", "--snapshot-store", &store]);
    assert_exit(&o, 0);

    // A drill: scratch copies written and removed in the state's bucket, under the lock.
    let o = run(&["drill", "--scenario", "corrupt"]);
    assert_exit(&o, 0);

    // The older version back as the current state (serial 3, same lineage).
    let o = run(&["restore", &ids[0], "--yes"]);
    assert_exit(&o, 0);
    let o = run(&["show", "latest", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["serial"], 3);
}

/// Every core command fails at once, in one sentence naming `ci` and the
/// denied action.
fn denied_everywhere(run: &dyn Fn(&[&str]) -> Output, ids: &[String]) {
    for args in [
        vec!["versions"],
        vec!["pull"],
        vec!["lock", "status"],
        vec!["lock", "acquire"],
        vec!["digest", "status"],
        vec!["diff", ids[0].as_str(), ids[1].as_str()],
        vec![
            "snapshot",
            "create",
            "--snapshot-store",
            "/nonexistent-store",
        ],
        vec!["drill", "--scenario", "corrupt"],
        vec!["restore", ids[0].as_str(), "--yes"],
    ] {
        let o = run(&args);
        assert_exit(&o, 1);
        let err = stderr(&o);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        let last = lines.last().copied().unwrap_or_default();
        assert!(
            last.starts_with("error: ")
                && last.contains(&format!("access denied for arn:aws:iam::{ACCOUNT}:user/ci")),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("DispatchFailure") && !err.contains("SdkError"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn every_core_command_works_with_assume_role_and_is_denied_without() {
    let e = enforcing();
    let (bucket, table, ids) = enforced_backend("role");
    let with_role = backend_dir(
        &bucket,
        &table,
        &format!("    assume_role = {{\n      role_arn = \"{}\"\n      session_name = \"stateward-test\"\n    }}", e.role_arn),
    );
    let without = backend_dir(&bucket, &table, "");

    denied_everywhere(&|args| as_ci(without.path(), args), &ids);
    core_commands(&|args| as_ci(with_role.path(), args), &ids);

    // The role is assumed once per run, whatever the command calls: the
    // same command sends exactly one request more (AssumeRole) than as a
    // user who needs no role.
    let stats = [("STATEWARD_API_STATS", "1")];
    let with = as_user(
        with_role.path(),
        &["digest", "status"],
        &e.ci_key,
        &e.ci_secret,
        &stats,
    );
    let plain = as_user(
        without.path(),
        &["digest", "status"],
        &e.admin_key,
        &e.admin_secret,
        &stats,
    );
    assert_exit(&with, 0);
    assert_exit(&plain, 0);
    assert!(
        api_requests(&plain) >= 2,
        "S3 and DynamoDB: {}",
        stderr(&plain)
    );
    assert_eq!(api_requests(&with), api_requests(&plain) + 1);

    // --role-arn does the same as the backend's `assume_role`.
    let o = as_ci(
        without.path(),
        &["versions", "--format", "json", "--role-arn", &e.role_arn],
    );
    assert_exit(&o, 0);
    assert_eq!(json(&o)["versions"].as_array().unwrap().len(), 3);
}

#[test]
fn the_deprecated_role_arn_works_with_a_warning() {
    let e = enforcing();
    let (bucket, table, _) = enforced_backend("legacy");
    let dir = backend_dir(
        &bucket,
        &table,
        &format!("    role_arn = \"{}\"", e.role_arn),
    );
    let o = as_ci(dir.path(), &["versions"]);
    assert_exit(&o, 0);
    let err = stderr(&o);
    assert_eq!(
        err.matches("warning: `role_arn` in the backend block is deprecated")
            .count(),
        1,
        "{err}"
    );
}

#[test]
fn a_role_the_caller_may_not_assume_is_one_sentence() {
    let (bucket, table, _) = enforced_backend("norole");
    let other = format!("arn:aws:iam::{ACCOUNT}:role/not-this-one");
    let dir = backend_dir(
        &bucket,
        &table,
        &format!("    assume_role = {{ role_arn = \"{other}\" }}"),
    );
    let o = as_ci(dir.path(), &["versions"]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("AssumeRole on {other} failed")),
        "{err}"
    );
}

#[test]
fn web_identity_from_the_backend_or_the_environment() {
    let e = enforcing();
    let (bucket, table, ids) = enforced_backend("oidc");
    let token_dir = tempfile::tempdir().unwrap();
    let token = token_dir.path().join("token");
    std::fs::File::create(&token)
        .unwrap()
        .write_all(b"eyJhbGciOi.ci-oidc-token.sig\n")
        .unwrap();
    let dir = backend_dir(
        &bucket,
        &table,
        &format!(
            "    assume_role_with_web_identity = {{\n      role_arn = \"{}\"\n      web_identity_token_file = \"{}\"\n    }}",
            e.role_arn,
            token.display()
        ),
    );
    core_commands(&|args| as_ci(dir.path(), args), &ids);

    // The token itself in the block (`web_identity_token`).
    let inline = backend_dir(
        &bucket,
        &table,
        &format!(
            "    assume_role_with_web_identity = {{\n      role_arn = \"{}\"\n      web_identity_token = \"eyJhbGciOi.ci-oidc-token.sig\"\n      session_name = \"ci-job\"\n      duration = \"1h\"\n    }}",
            e.role_arn
        ),
    );
    let o = as_ci(inline.path(), &["versions", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["versions"].as_array().unwrap().len(), 3);

    // AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, no static keys (a CI job).
    let plain = backend_dir(&bucket, &table, "");
    let o = stateward_cmd(&root(), ["versions", "--format", "json"])
        .arg("--backend-dir")
        .arg(plain.path())
        .arg("--endpoint-url")
        .arg(&e.endpoint)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_ROLE_ARN", &e.role_arn)
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    assert_eq!(json(&o)["versions"].as_array().unwrap().len(), 3);
}

/// allowed/forbidden_account_ids stop a restore before anything is written.
#[test]
fn account_rules_refuse_before_a_write() {
    let backend = Backend::new("accounts");
    let first = backend.put(&backend.key, state(1).as_bytes());
    backend.put(&backend.key, state(2).as_bytes());
    for (rule, says) in [
        (
            "allowed_account_ids = [\"111111111111\"]",
            format!("AWS account {ACCOUNT} is not in `allowed_account_ids` (111111111111)"),
        ),
        (
            &*format!("forbidden_account_ids = [\"{ACCOUNT}\"]"),
            format!("AWS account {ACCOUNT} is in `forbidden_account_ids`"),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("prod.hcl");
        std::fs::write(
            &env,
            format!(
                "backend {{\n  bucket = \"{}\"\n  key = \"{}\"\n  region = \"{REGION}\"\n  endpoint_url = \"{}\"\n  dynamodb_table = \"{}\"\n  {rule}\n}}\n",
                backend.bucket,
                backend.key,
                endpoint(),
                backend.table
            ),
        )
        .unwrap();
        let env = env.display().to_string();
        let o = stateward(["restore", &first, "--yes", "--env", &env]);
        assert_exit(&o, 1);
        let err = stderr(&o);
        assert!(err.contains(&says), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // Nothing was written: still two versions, the current one is serial 2.
    let mut args = vec!["versions".to_string(), "--format".into(), "json".into()];
    args.extend(backend.flags());
    let o = stateward(&args);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["versions"].as_array().unwrap().len(), 2);
    let mut args = vec!["pull".to_string()];
    args.extend(backend.flags());
    assert_eq!(stdout(&stateward(&args)), state(2));
}

#[test]
fn a_missing_lock_table_is_named_with_its_region_and_the_fix() {
    let backend = Backend::new("notable");
    backend.put(&backend.key, state(1).as_bytes());
    let mut args: Vec<String> = backend.flags();
    let at = args.iter().position(|a| a == "--dynamodb-table").unwrap();
    args[at + 1] = "no-such-locks".into();
    for cmd in [vec!["lock", "status"], vec!["lock", "acquire"]] {
        let mut full: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        full.extend(args.iter().cloned());
        let o = stateward(&full);
        assert_exit(&o, 1);
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "the DynamoDB lock table `no-such-locks` does not exist in {REGION}"
            )) && err.contains("--dynamodb-table"),
            "{cmd:?}: {err}"
        );
        assert!(!err.contains("check the bucket, key"), "{cmd:?}: {err}");
    }
}

#[test]
fn an_unknown_profile_names_the_profiles_there() {
    let backend = Backend::new("profile");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[default]\nregion = eu-west-1\n\n[profile acme]\nregion = eu-west-1\n",
    )
    .unwrap();
    let mut args = vec!["versions".to_string(), "--profile".into(), "acmee".into()];
    args.extend(backend.flags());
    let o = stateward_cmd(&root(), &args)
        .env("AWS_CONFIG_FILE", &config)
        .output()
        .unwrap();
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert_eq!(
        err.trim(),
        format!(
            "error: profile `acmee` is not in {} (profiles: acme, default); pass --profile with one of them, or fix `profile` in the backend or AWS_PROFILE",
            config.display()
        )
    );
}

/// The Python handler both loopback fronts share: `Relay` passes each
/// request to the emulator at `HOST:PORT` unless `intercept` answered it.
macro_rules! relay_py {
    () => {
        r#"
class Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a):
        pass
    def intercept(self):
        return False
    def relay(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else None
        if self.intercept():
            return
        c = http.client.HTTPConnection(HOST, PORT)
        c.request(self.command, self.path, body=body, headers={k: v for k, v in self.headers.items()})
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ('transfer-encoding', 'connection', 'content-length'):
                self.send_header(k, v)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = relay
"#
    };
}

/// A loopback proxy in front of the emulator that answers every S3 request
/// signed for `us-east-1` as S3 answers a request to a bucket in another
/// region (301 `PermanentRedirect` with `x-amz-bucket-region: eu-west-1`),
/// which the emulator never does, and passes everything else through.
const REDIRECTING_PROXY: &str = concat!(
    r#"
import http.client, http.server, sys, threading
HOST, PORT = sys.argv[1], int(sys.argv[2])
"#,
    relay_py!(),
    r#"
class H(Relay):
    def intercept(self):
        if '/us-east-1/s3/' not in self.headers.get('Authorization', ''):
            return False
        payload = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>'
        self.send_response(301)
        self.send_header('x-amz-bucket-region', 'eu-west-1')
        self.send_header('Content-Type', 'application/xml')
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(payload)
        return True
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
threading.Thread(target=s.serve_forever, daemon=True).start()
sys.stdin.read()
"#
);

#[test]
fn a_bucket_in_another_region_is_followed_and_said_once() {
    let backend = Backend::new("moved");
    backend.put(&backend.key, state(4).as_bytes());
    let (mut proxy, via) = start_proxy();
    let target = [
        "--bucket",
        backend.bucket.as_str(),
        "--key",
        backend.key.as_str(),
        "--region",
        "us-east-1",
        "--endpoint-url",
        via.as_str(),
    ];
    let note = format!(
        "stateward: the bucket {} is in eu-west-1; using it; pass --region eu-west-1 to skip this",
        backend.bucket
    );
    let mut args = vec!["pull"];
    args.extend(target);
    let o = stateward(&args);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), state(4));
    assert_eq!(stderr(&o).matches(&note).count(), 1, "{}", stderr(&o));

    let mut args = vec!["versions", "--format", "json"];
    args.extend(target);
    let o = stateward(&args);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["versions"].as_array().unwrap().len(), 1);
    assert_eq!(stderr(&o).matches(&note).count(), 1, "{}", stderr(&o));

    drop(proxy.stdin.take());
    let _ = proxy.wait();
}

/// Live checks run as the caller by default, not as the state's role; the
/// environment file's `drift { assume_role }` gives them a role of their own.
#[test]
fn live_checks_use_the_callers_identity_unless_the_env_file_gives_a_role() {
    let e = enforcing();
    let (bucket, table, _) = enforced_backend_with("live", &[state(1)]);
    // The state manages its own bucket: one live S3 check.
    let body = format!(
        "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.5.7\",\n  \"serial\": 2,\n  \"lineage\": \"access-lineage\",\n  \"outputs\": {{}},\n  \"resources\": [{{\"mode\":\"managed\",\"type\":\"aws_s3_bucket\",\"name\":\"state\",\"provider\":\"provider[\\\"registry.terraform.io/hashicorp/aws\\\"]\",\"instances\":[{{\"schema_version\":0,\"attributes\":{{\"id\":\"{bucket}\",\"bucket\":\"{bucket}\",\"arn\":\"arn:aws:s3:::{bucket}\",\"region\":\"{REGION}\",\"tags\":{{}}}},\"sensitive_attributes\":[]}}]}}]\n}}\n"
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &body).unwrap();
    let out = Command::new(venv_python())
        .arg("-c")
        .arg(format!(
            "import boto3\nboto3.client('s3', endpoint_url={ep:?}, region_name={REGION:?}, aws_access_key_id={ak:?}, aws_secret_access_key={sk:?}).put_object(Bucket={bucket:?}, Key='platform/terraform.tfstate', Body=open({f:?}, 'rb').read())",
            ep = e.endpoint,
            ak = e.admin_key,
            sk = e.admin_secret,
            f = file.path().display().to_string(),
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let env_file = |drift: &str| {
        let path = dir.path().join(format!("{}.hcl", drift.len()));
        std::fs::write(
            &path,
            format!(
                "backend {{\n  bucket = \"{bucket}\"\n  key = \"platform/terraform.tfstate\"\n  region = \"{REGION}\"\n  dynamodb_table = \"{table}\"\n  assume_role = {{ role_arn = \"{}\" }}\n}}\n{drift}",
                e.role_arn
            ),
        )
        .unwrap();
        path.display().to_string()
    };
    // The state's role reads the state, but the live check runs as `ci`,
    // who may not read the bucket's configuration: incomplete, exit 1.
    let plain = env_file("");
    let o = as_user_with(
        &["drift", "--format", "json", "--env", &plain],
        &e.ci_key,
        &e.ci_secret,
        &[],
    );
    assert_exit(&o, 1);
    assert!(
        stdout(&o).contains("AccessDenied") || stderr(&o).contains("access denied"),
        "{}\n{}",
        stdout(&o),
        stderr(&o)
    );

    // With the environment file's live role, the check runs: in sync or drift, not incomplete.
    let with_live = env_file(&format!(
        "drift {{\n  assume_role = {{ role_arn = \"{}\" }}\n}}\n",
        e.role_arn
    ));
    let o = as_user_with(
        &["drift", "--format", "json", "--env", &with_live],
        &e.ci_key,
        &e.ci_secret,
        &[],
    );
    assert!(
        matches!(o.status.code(), Some(0) | Some(2)),
        "{}\n{}",
        stdout(&o),
        stderr(&o)
    );
}

/// Starts [`REDIRECTING_PROXY`] in front of the shared emulator; returns the
/// child (stop it by dropping its stdin) and its URL.
fn start_proxy() -> (Child, String) {
    let emulator = endpoint();
    let port = emulator.rsplit(':').next().unwrap().to_owned();
    let mut proxy = Command::new(venv_python())
        .arg("-c")
        .arg(REDIRECTING_PROXY)
        .arg("127.0.0.1")
        .arg(port)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(proxy.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (proxy, format!("http://127.0.0.1:{}", line.trim()))
}

/// The backend's proxy, CA bundle and `insecure` are honoured or refused in
/// one sentence, never ignored.
#[test]
fn connection_arguments_are_honoured_or_refused_clearly() {
    let backend = Backend::new("conn");
    backend.put(&backend.key, state(5).as_bytes());
    let run = |extra: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.tf"),
            format!(
                "terraform {{\n  backend \"s3\" {{\n    bucket = \"{}\"\n    key = \"{}\"\n    region = \"{REGION}\"\n    endpoints = {{ s3 = \"{}\" }}\n    max_retries = 0\n{extra}\n  }}\n}}\n",
                backend.bucket,
                backend.key,
                endpoint()
            ),
        )
        .unwrap();
        stateward_cmd(&root(), ["pull", "--backend-dir"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    // Through a proxy that passes requests on: the state comes back.
    let (mut proxy, url) = start_proxy();
    let o = run(&format!("    http_proxy = \"{url}\""));
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), state(5));
    drop(proxy.stdin.take());
    let _ = proxy.wait();
    // Through a proxy that is not there: the request never reaches S3.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let o = run(&format!("    http_proxy = \"{dead}\""));
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("could not be reached"),
        "{}",
        stderr(&o)
    );

    // `no_proxy` naming the endpoint's host: the dead proxy is not used.
    let o = run(&format!(
        "    http_proxy = \"{dead}\"\n    no_proxy = \"localhost,127.0.0.1\""
    ));
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), state(5));

    let o = run("    insecure = true");
    assert_exit(&o, 1);
    assert_eq!(
        stderr(&o).trim(),
        "error: `insecure = true` is not supported: stateward always verifies TLS certificates; give the endpoint's CA with `custom_ca_bundle` (or AWS_CA_BUNDLE) instead"
    );
    let o = run("    custom_ca_bundle = \"/no/such/ca.pem\"");
    assert_exit(&o, 1);
    assert!(
        stderr(&o).starts_with("error: cannot read the CA bundle /no/such/ca.pem"),
        "{}",
        stderr(&o)
    );
    let o = run("    http_proxy = \"http://a:1\"\n    https_proxy = \"http://b:2\"");
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("name different proxies"),
        "{}",
        stderr(&o)
    );
}

/// A named profile (`--profile`, or the backend's `profile` with its
/// `shared_credentials_files`) gives the credentials even when the
/// environment holds other keys, as Terraform (aws-sdk-go-v2: a profile set
/// in the configuration wins over AWS_ACCESS_KEY_ID) and the AWS CLI do.
#[test]
fn a_named_profile_wins_over_the_environments_keys() {
    let e = enforcing();
    let (bucket, table, _) = enforced_backend("profile-keys");
    let files = tempfile::tempdir().unwrap();
    let credentials = files.path().join("credentials");
    std::fs::write(
        &credentials,
        format!(
            "[platform]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            e.admin_key, e.admin_secret
        ),
    )
    .unwrap();
    let config = files.path().join("config");
    std::fs::write(&config, format!("[profile platform]\nregion = {REGION}\n")).unwrap();

    // The environment's keys are `ci`'s, who may only assume the role.
    let plain = backend_dir(&bucket, &table, "");
    let o = as_ci(plain.path(), &["versions"]);
    assert_exit(&o, 1);

    // `--profile` with the SDK's files named in the environment.
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
    ];
    let o = as_user(
        plain.path(),
        &["versions", "--format", "json", "--profile", "platform"],
        &e.ci_key,
        &e.ci_secret,
        &env,
    );
    assert_exit(&o, 0);
    assert_eq!(json(&o)["versions"].as_array().unwrap().len(), 2);

    // The backend's `profile` and `shared_credentials_files` / `shared_config_files`.
    let in_backend = backend_dir(
        &bucket,
        &table,
        &format!(
            "    profile = \"platform\"\n    shared_credentials_files = [\"{}\"]\n    shared_config_files = [\"{}\"]",
            credentials.display(),
            config.display()
        ),
    );
    let o = as_ci(in_backend.path(), &["versions", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["versions"].as_array().unwrap().len(), 2);
}

/// The role is assumed through `endpoints.sts` (else AWS_ENDPOINT_URL_STS)
/// and signed for `sts_region`; S3 and DynamoDB keep their own endpoints.
#[test]
fn the_role_is_assumed_through_the_sts_endpoint_in_the_sts_region() {
    let backend = Backend::new("sts-endpoint");
    backend.put(&backend.key, state(1).as_bytes());
    let role = format!("arn:aws:iam::{ACCOUNT}:role/state");
    for via_env in [false, true] {
        let proxy = TruncatingProxy::recording();
        let sts = if via_env {
            String::new()
        } else {
            format!(", sts = \"{}\"", proxy.url())
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.tf"),
            format!(
                "terraform {{\n  backend \"s3\" {{\n    bucket = \"{}\"\n    key = \"{}\"\n    region = \"{REGION}\"\n    dynamodb_table = \"{}\"\n    endpoints = {{ s3 = \"{ep}\", dynamodb = \"{ep}\"{sts} }}\n    sts_region = \"us-west-2\"\n    assume_role = {{ role_arn = \"{role}\" }}\n    allowed_account_ids = [\"{ACCOUNT}\"]\n  }}\n}}\n",
                backend.bucket,
                backend.key,
                backend.table,
                ep = endpoint(),
            ),
        )
        .unwrap();
        let mut cmd = stateward_cmd(&root(), ["digest", "status", "--backend-dir"]);
        cmd.arg(dir.path());
        if via_env {
            cmd.env("AWS_ENDPOINT_URL_STS", proxy.url());
        }
        let o = cmd.output().unwrap();
        assert_exit(&o, 0);
        let heads = proxy.requests();
        // AssumeRole, then GetCallerIdentity for the account rule: both STS,
        // both signed for sts_region; nothing else went through the proxy.
        assert_eq!(heads.len(), 2, "via_env {via_env}: {heads:?}");
        for h in &heads {
            let auth = h
                .iter()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .starts_with("authorization:")
                        .then(|| l.clone())
                })
                .unwrap_or_default();
            assert!(auth.contains("/us-west-2/sts/aws4_request"), "{h:?}");
        }
    }
}

/// A backend directory reaching the shared emulator's state through
/// `s3_endpoint` (no DynamoDB), with `extra` lines in the block.
fn connection_dir(backend: &Backend, s3_endpoint: Option<&str>, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let endpoints = s3_endpoint
        .map(|e| format!("    endpoints = {{ s3 = \"{e}\" }}\n"))
        .unwrap_or_default();
    std::fs::write(
        dir.path().join("main.tf"),
        format!(
            "terraform {{\n  backend \"s3\" {{\n    bucket = \"{}\"\n    key = \"{}\"\n    region = \"{REGION}\"\n{endpoints}{extra}\n  }}\n}}\n",
            backend.bucket, backend.key,
        ),
    )
    .unwrap();
    dir
}

/// `max_retries` sets how many times a failed call is tried again (and
/// `retry_mode` is accepted): 500s answered to the listing are retried
/// exactly that often.
#[test]
fn max_retries_is_the_number_of_retries() {
    let backend = Backend::new("retries");
    backend.put(&backend.key, state(1).as_bytes());
    for (retries, mode, faults, exit) in [
        (0, "standard", 1, 1),
        (1, "standard", 2, 1),
        (2, "adaptive", 2, 0),
    ] {
        let proxy = TruncatingProxy::faulty();
        proxy.fault("versions", Fault::INTERNAL, 2);
        let dir = connection_dir(
            &backend,
            Some(&proxy.url()),
            &format!("    max_retries = {retries}\n    retry_mode = \"{mode}\""),
        );
        let o = stateward_cmd(&root(), ["versions", "--backend-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert_exit(&o, exit);
        assert_eq!(
            proxy.injected().len(),
            faults,
            "max_retries {retries}: {}",
            stderr(&o)
        );
    }
}

/// `use_fips_endpoint`, `use_dualstack_endpoint` and `https_proxy` on the
/// wire: without a custom endpoint, the proxy is asked to connect to the
/// FIPS or dual-stack S3 host of the region.
#[test]
fn fips_and_dualstack_endpoints_are_the_hosts_asked_for() {
    let backend = Backend::new("fips");
    for (setting, host) in [
        (
            "use_fips_endpoint = true",
            "s3-fips.eu-west-1.amazonaws.com",
        ),
        (
            "use_dualstack_endpoint = true",
            "s3.dualstack.eu-west-1.amazonaws.com",
        ),
        ("use_fips_endpoint = false", "s3.eu-west-1.amazonaws.com"),
    ] {
        let proxy = TruncatingProxy::recording();
        let dir = connection_dir(
            &backend,
            None,
            &format!(
                "    https_proxy = \"{}\"\n    max_retries = 0\n    {setting}",
                proxy.url()
            ),
        );
        let o = stateward_cmd(&root(), ["versions", "--backend-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert_exit(&o, 1);
        let first = proxy
            .requests()
            .first()
            .map(|h| h[0].clone())
            .unwrap_or_default();
        assert!(
            first.starts_with("CONNECT ") && first.contains(&format!("{host}:443")),
            "{setting}: {first:?} {}",
            stderr(&o)
        );
    }
}

/// `doctor`'s live checks (RDS) run as the caller by default, not as the
/// state's role; the environment file's `drift { assume_role }` gives them
/// one. The state is read through the backend's role either way.
#[test]
fn doctor_live_checks_use_the_callers_identity_unless_the_env_file_gives_a_role() {
    let e = enforcing();
    let db = unique("doctor-db");
    let body = db_state(&db);
    let (bucket, table, _) = enforced_backend_with("doctor", &[body]);
    let dir = tempfile::tempdir().unwrap();
    let env_file =
        |name: &str, drift: &str| role_env_file(dir.path(), name, &bucket, &table, drift);
    let store = tempfile::tempdir().unwrap();
    let store = store.path().display().to_string();
    let checks = |env: &str| -> Vec<(String, String)> {
        let o = as_user_with(
            &[
                "doctor",
                "--format",
                "json",
                "--snapshot-store",
                &store,
                "--env",
                env,
            ],
            &e.ci_key,
            &e.ci_secret,
            &[],
        );
        let doc = json(&o);
        doc["checks"]
            .as_array()
            .unwrap_or_else(|| panic!("{}\n{}", stdout(&o), stderr(&o)))
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().to_owned(),
                    c["detail"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    // As `ci`: the state is read (through the role), RDS is denied.
    let plain = checks(&env_file("plain", ""));
    let rds = plain.iter().find(|(id, _)| id == "rds");
    assert!(
        rds.is_some_and(|(_, d)| d.contains("DescribeDBInstances") && d.contains("access denied")),
        "{plain:?}"
    );
    assert!(
        plain.iter().any(|(id, _)| id == "latest-state"),
        "{plain:?}"
    );
    // With the environment file's live role: RDS answers (the instance is missing).
    let with_role = checks(&env_file(
        "live",
        &format!(
            "drift {{\n  assume_role = {{ role_arn = \"{}\" }}\n}}\n",
            e.role_arn
        ),
    ));
    assert!(
        !with_role.iter().any(|(id, _)| id == "rds"),
        "{with_role:?}"
    );
    assert!(
        with_role
            .iter()
            .any(|(id, _)| id == "rds-backups:aws_db_instance.db"),
        "{with_role:?}"
    );
}

/// A TLS front for the emulator with a certificate of its own test CA: it
/// writes the CA's PEM to argv[3], prints its port, and passes requests on.
const TLS_FRONT: &str = concat!(
    r#"
import datetime, http.client, http.server, ipaddress, ssl, sys, tempfile, threading
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
HOST, PORT, CA_OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
now = datetime.datetime.now(datetime.timezone.utc)
def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (x509.CertificateBuilder().subject_name(name('stateward test CA')).issuer_name(name('stateward test CA'))
      .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
      .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
      .sign(ca_key, hashes.SHA256()))
key = ec.generate_private_key(ec.SECP256R1())
leaf = (x509.CertificateBuilder().subject_name(name('127.0.0.1')).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256()))
open(CA_OUT, 'wb').write(ca.public_bytes(serialization.Encoding.PEM))
pem = tempfile.NamedTemporaryFile(suffix='.pem', delete=False)
pem.write(leaf.public_bytes(serialization.Encoding.PEM))
pem.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
pem.close()
"#,
    relay_py!(),
    r#"
H = Relay
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(pem.name)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
threading.Thread(target=s.serve_forever, daemon=True).start()
sys.stdin.read()
"#
);

/// `custom_ca_bundle` (or AWS_CA_BUNDLE) is trusted: an HTTPS endpoint with a
/// certificate of a private CA is reached with it and refused without it.
#[test]
fn a_custom_ca_bundle_is_trusted_for_an_https_endpoint() {
    let backend = Backend::new("cabundle");
    backend.put(&backend.key, state(6).as_bytes());
    let emulator = endpoint();
    let port = emulator.rsplit(':').next().unwrap().to_owned();
    let ca_dir = tempfile::tempdir().unwrap();
    let ca = ca_dir.path().join("ca.pem");
    let mut front = Command::new(venv_python())
        .arg("-c")
        .arg(TLS_FRONT)
        .arg("127.0.0.1")
        .arg(port)
        .arg(&ca)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(front.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = format!("https://127.0.0.1:{}", line.trim());
    let pull = |extra: &str, env: &[(&str, &str)]| {
        let dir = connection_dir(
            &backend,
            Some(&url),
            &format!("    max_retries = 0\n{extra}"),
        );
        stateward_cmd(&root(), ["pull", "--backend-dir"])
            .arg(dir.path())
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    let o = pull("", &[]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("certificate"), "{}", stderr(&o));
    let o = pull(&format!("    custom_ca_bundle = \"{}\"", ca.display()), &[]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), state(6));
    let o = pull("", &[("AWS_CA_BUNDLE", ca.to_str().unwrap())]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), state(6));
    drop(front.stdin.take());
    let _ = front.wait();
}

/// A state (serial 2) that holds one RDS instance, `db`.
fn db_state(db: &str) -> String {
    format!(
        "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.5.7\",\n  \"serial\": 2,\n  \"lineage\": \"access-lineage\",\n  \"outputs\": {{}},\n  \"resources\": [{{\"mode\":\"managed\",\"type\":\"aws_db_instance\",\"name\":\"db\",\"provider\":\"provider[\\\"registry.terraform.io/hashicorp/aws\\\"]\",\"instances\":[{{\"schema_version\":1,\"attributes\":{{\"id\":\"{db}\",\"identifier\":\"{db}\"}},\"sensitive_attributes\":[]}}]}}]\n}}\n"
    )
}

/// An environment file `dir/NAME.hcl` whose backend reads `bucket` through
/// the enforcing emulator's role, with `extra` (a `drift` block) after it.
fn role_env_file(dir: &Path, name: &str, bucket: &str, table: &str, extra: &str) -> String {
    let path = dir.join(format!("{name}.hcl"));
    std::fs::write(
        &path,
        format!(
            "backend {{\n  bucket = \"{bucket}\"\n  key = \"platform/terraform.tfstate\"\n  region = \"{REGION}\"\n  dynamodb_table = \"{table}\"\n  assume_role = {{ role_arn = \"{}\" }}\n}}\n{extra}",
            enforcing().role_arn
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// `rebuild plan`'s live scan runs as the caller too, not with the state's
/// role: as `ci`, RDS is denied, so the plan says its check is incomplete
/// (exit 1); with the environment file's `drift { assume_role }` RDS
/// answers, the database is found missing and planned with its data
/// called out.
#[test]
fn rebuild_plans_live_checks_use_the_callers_identity_unless_the_env_file_gives_a_role() {
    let e = enforcing();
    let db = unique("rebuild-db");
    let body = db_state(&db);
    let (bucket, table, _) = enforced_backend_with("rebuild", &[body]);
    let dir = tempfile::tempdir().unwrap();
    let env_file =
        |name: &str, drift: &str| role_env_file(dir.path(), name, &bucket, &table, drift);
    let plan = |env: &str| {
        as_user_with(
            &["rebuild", "plan", "--format", "json", "--env", env],
            &e.ci_key,
            &e.ci_secret,
            &[],
        )
    };
    let o = plan(&env_file("plain", ""));
    assert_exit(&o, 1);
    let doc = json(&o);
    assert_eq!(doc["failed_checks"], 1, "{doc:#}");
    assert_eq!(
        doc["state"]["serial"], 2,
        "the state was read through the role"
    );
    assert!(
        stderr(&o).contains("could not be checked because AWS refused or failed"),
        "{}",
        stderr(&o)
    );
    let o = plan(&env_file(
        "live",
        &format!(
            "drift {{\n  assume_role = {{ role_arn = \"{}\" }}\n}}\n",
            e.role_arn
        ),
    ));
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_eq!(doc["failed_checks"], 0, "{doc:#}");
    assert_eq!(
        doc["data_recovery"][0]["address"], "aws_db_instance.db",
        "{doc:#}"
    );
}
