//! The backend's `encrypt`, `kms_key_id`, `sse_customer_key` / `AWS_SSE_CUSTOMER_KEY`,
//! `acl` and `skip_s3_checksum` on the wire, against the emulator: every
//! write of the state, its lock file, a drill's scratch copies and snapshots
//! sends what Terraform sends; every read of an SSE-C object sends the key.

use std::path::{Path, PathBuf};

use crate::support::*;

/// A 256-bit SSE-C key, base64 (`"0123456789abcdef"` twice).
const CUSTOMER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// Its md5, base64, as S3 wants it in `...-customer-key-MD5`.
const CUSTOMER_KEY_MD5: &str = "hRasmdxgYDKV3nvbahU1MA==";

const LINEAGE: &str = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";

fn tfstate(serial: u64, nodes: u64) -> Vec<u8> {
    format!(
        r#"{{
  "version": 4,
  "terraform_version": "1.10.5",
  "serial": {serial},
  "lineage": "{LINEAGE}",
  "outputs": {{}},
  "resources": [
    {{
      "mode": "managed",
      "type": "aws_eks_node_group",
      "name": "this",
      "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
      "instances": [
        {{
          "schema_version": 0,
          "attributes": {{ "id": "blue", "scaling_config": [{{ "desired_size": {nodes} }}] }},
          "sensitive_attributes": []
        }}
      ]
    }}
  ],
  "check_results": null
}}
"#
    )
    .into_bytes()
}

/// An environment file naming `backend` through `endpoint`, with `extra`
/// lines in its backend block and an S3 snapshot store.
fn env_file(dir: &Path, backend: &Backend, endpoint: &str, extra: &str, store: &str) -> PathBuf {
    let path = dir.join("env.hcl");
    std::fs::write(
        &path,
        format!(
            "backend {{\n  bucket = {:?}\n  key = {:?}\n  region = {REGION:?}\n  dynamodb_table = {:?}\n  endpoint_url = {endpoint:?}\n  use_lockfile = true\n{extra}}}\nsnapshots {{\n  store = {store:?}\n}}\n",
            backend.bucket, backend.key, backend.table,
        ),
    )
    .unwrap();
    path
}

fn create_bucket(name: &str) {
    aws::create_bucket(name, true);
}

fn run(env: &Path, extra_env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut a: Vec<&str> = args.to_vec();
    let env = env.display().to_string();
    a.extend(["--env", &env]);
    let mut cmd = stateward_cmd(&root(), a);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.output().expect("run stateward")
}

/// `(ServerSideEncryption, SSEKMSKeyId)` of the current version of `key`.
fn head_sse(bucket: &str, key: &str) -> (String, String) {
    aws::head_encryption(bucket, key)
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// `(method, path without query)` of a recorded request.
fn method_path(head: &[String]) -> (String, String) {
    let mut parts = head[0].split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default().to_owned();
    (method, path)
}

#[test]
fn sse_kms_on_restore_drill_snapshot_and_lock_file_writes() {
    let backend = Backend::new("ssekms");
    let store = unique("ssekms-store");
    create_bucket(&store);
    let key_arn = aws::create_kms_key();
    let v1 = backend.put(&backend.key, &tfstate(1, 2));
    backend.put(&backend.key, &tfstate(2, 3));
    let dir = tempfile::tempdir().unwrap();
    let proxy = TruncatingProxy::recording();
    let extra = format!(
        "  encrypt = true\n  kms_key_id = {key_arn:?}\n  acl = \"bucket-owner-full-control\"\n"
    );
    let env = env_file(
        dir.path(),
        &backend,
        &proxy.url(),
        &extra,
        &format!("s3://{store}/snaps"),
    );

    // Restore writes the state with SSE-KMS and that key.
    let o = run(&env, &[], &["restore", &v1, "--yes", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(
        head_sse(&backend.bucket, &backend.key),
        ("aws:kms".to_owned(), key_arn.clone())
    );

    // A snapshot copy keeps the state's encryption.
    let o = run(&env, &[], &["snapshot", "create", "--format", "json"]);
    assert_exit(&o, 0);
    let id = json(&o)["snapshot"]["id"].as_str().unwrap().to_owned();
    for file in ["terraform.tfstate", "manifest.json"] {
        assert_eq!(
            head_sse(&store, &format!("snaps/{id}/{file}")),
            ("aws:kms".to_owned(), key_arn.clone()),
            "{file}"
        );
    }
    let o = run(&env, &[], &["snapshot", "verify", "--all"]);
    assert_exit(&o, 0);

    // A drill's scratch copies and writes, and every lock file, carry it too.
    let o = run(&env, &[], &["drill", "--scenario", "corrupt"]);
    assert_exit(&o, 0);
    let writes: Vec<Vec<String>> = proxy
        .requests()
        .into_iter()
        .filter(|h| method_path(h).0 == "PUT")
        .filter(|h| {
            let p = method_path(h).1;
            p.starts_with(&format!("/{}/", backend.bucket)) || p.starts_with(&format!("/{store}/"))
        })
        .collect();
    let scratch = writes
        .iter()
        .filter(|h| method_path(h).1.contains(".drill-") || method_path(h).1.contains("drill"))
        .count();
    let lockfiles = writes
        .iter()
        .filter(|h| method_path(h).1.ends_with(".tflock"))
        .count();
    assert!(scratch >= 3, "drill writes seen: {scratch}");
    assert!(lockfiles >= 3, "lock file writes seen: {lockfiles}");
    for h in &writes {
        assert_eq!(
            header(h, "x-amz-server-side-encryption"),
            Some("aws:kms"),
            "{h:?}"
        );
        assert_eq!(
            header(h, "x-amz-server-side-encryption-aws-kms-key-id"),
            Some(key_arn.as_str()),
            "{h:?}"
        );
        assert_eq!(
            header(h, "x-amz-acl"),
            Some("bucket-owner-full-control"),
            "{h:?}"
        );
        if header(h, "x-amz-copy-source").is_none() {
            assert!(header(h, "x-amz-checksum-sha256").is_some(), "{h:?}");
        }
        if method_path(h).1.ends_with(".tflock") {
            assert_eq!(header(h, "if-none-match"), Some("*"), "{h:?}");
            assert_eq!(header(h, "content-type"), Some("application/json"), "{h:?}");
        }
    }
}

#[test]
fn sse_c_key_on_every_read_and_write() {
    let backend = Backend::new("ssec");
    let store = unique("ssec-store");
    create_bucket(&store);
    // Written as Terraform would: with the customer key.
    let mut ids = Vec::new();
    for (serial, nodes) in [(1, 2), (2, 3)] {
        ids.push(aws::put_object_sse_c(
            &backend.bucket,
            &backend.key,
            &tfstate(serial, nodes),
            CUSTOMER_KEY,
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let proxy = TruncatingProxy::recording();
    let env = env_file(
        dir.path(),
        &backend,
        &proxy.url(),
        "  encrypt = true\n  skip_s3_checksum = true\n",
        &format!("s3://{store}/snaps"),
    );
    let key_env = [("AWS_SSE_CUSTOMER_KEY", CUSTOMER_KEY)];
    for args in [
        &["versions"][..],
        &["show", "latest"],
        &["pull", "latest"],
        &["restore", &ids[0], "--yes"],
        &["digest", "repair", "--yes"],
        &["digest", "status"],
        &["snapshot", "create"],
        &["snapshot", "verify", "--all"],
        &["drill", "--scenario", "truncate"],
    ] {
        let o = run(&env, &key_env, args);
        assert_exit(&o, 0);
    }
    // Two versions that differ: exit 2.
    assert_exit(&run(&env, &key_env, &["diff", &ids[0], &ids[1]]), 2);
    let object_requests: Vec<Vec<String>> = proxy
        .requests()
        .into_iter()
        .filter(|h| {
            let (m, p) = method_path(h);
            let object = |bucket: &str| {
                p.strip_prefix(&format!("/{bucket}/"))
                    .is_some_and(|k| !k.is_empty())
            };
            matches!(m.as_str(), "GET" | "HEAD" | "PUT")
                && (object(&backend.bucket) || object(&store))
        })
        .collect();
    let count = |m: &str| {
        object_requests
            .iter()
            .filter(|h| method_path(h).0 == m)
            .count()
    };
    assert!(
        count("GET") >= 4 && count("PUT") >= 4,
        "{object_requests:?}"
    );
    // Ranged reads of the first bytes (the listing's serial and lineage) too.
    assert!(
        object_requests
            .iter()
            .any(|h| method_path(h).0 == "GET" && header(h, "range").is_some()),
        "{object_requests:?}"
    );
    let mut copies = 0;
    for h in &object_requests {
        assert_eq!(
            header(h, "x-amz-server-side-encryption-customer-algorithm"),
            Some("AES256"),
            "{h:?}"
        );
        assert_eq!(
            header(h, "x-amz-server-side-encryption-customer-key"),
            Some(CUSTOMER_KEY),
            "{h:?}"
        );
        assert_eq!(
            header(h, "x-amz-server-side-encryption-customer-key-md5"),
            Some(CUSTOMER_KEY_MD5),
            "{h:?}"
        );
        // skip_s3_checksum: no checksum of any kind on a write.
        assert!(
            method_path(h).0 != "PUT"
                || !h
                    .iter()
                    .any(|l| l.to_ascii_lowercase().starts_with("x-amz-checksum-")
                        || l.to_ascii_lowercase().starts_with("x-amz-sdk-checksum")),
            "{h:?}"
        );
        if header(h, "x-amz-copy-source").is_some() {
            copies += 1;
            assert_eq!(
                header(h, "x-amz-copy-source-server-side-encryption-customer-key"),
                Some(CUSTOMER_KEY),
                "{h:?}"
            );
        }
    }
    assert!(copies >= 3, "copies (snapshot + drill): {copies}");

    // The key from the backend's own `sse_customer_key` (no environment variable).
    let dir = tempfile::tempdir().unwrap();
    let env = env_file(
        dir.path(),
        &backend,
        &proxy.url(),
        &format!("  encrypt = true\n  sse_customer_key = {CUSTOMER_KEY:?}\n"),
        &format!("s3://{store}/snaps"),
    );
    let before = proxy.requests().len();
    let o = run(&env, &[], &["pull", &ids[1], "--no-cache"]);
    assert_exit(&o, 0);
    assert_eq!(o.stdout, tfstate(2, 3));
    let gets: Vec<Vec<String>> = proxy.requests()[before..]
        .iter()
        .filter(|h| method_path(h).0 == "GET" && h[0].contains(&ids[1]))
        .cloned()
        .collect();
    assert!(!gets.is_empty());
    for h in &gets {
        assert_eq!(
            header(h, "x-amz-server-side-encryption-customer-key"),
            Some(CUSTOMER_KEY),
            "{h:?}"
        );
    }
}

#[test]
fn conflicting_or_malformed_keys_are_one_sentence_config_errors() {
    let backend = Backend::new("ssebad");
    let dir = tempfile::tempdir().unwrap();
    let env = env_file(
        dir.path(),
        &backend,
        &endpoint(),
        "  encrypt = true\n  kms_key_id = \"alias/state\"\n",
        "s3://nowhere/snaps",
    );
    let o = run(
        &env,
        &[("AWS_SSE_CUSTOMER_KEY", CUSTOMER_KEY)],
        &["versions"],
    );
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(err.contains("cannot both be set"), "{err}");
    assert!(!err.contains(CUSTOMER_KEY), "{err}");
    let o = run(&env, &[("AWS_SSE_CUSTOMER_KEY", "c2hvcnQ=")], &["versions"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("cannot both be set"), "{}", stderr(&o));
    let env = env_file(
        dir.path(),
        &backend,
        &endpoint(),
        "  encrypt = true\n",
        "s3://x/y",
    );
    let o = run(&env, &[("AWS_SSE_CUSTOMER_KEY", "c2hvcnQ=")], &["versions"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("decodes to 5 bytes"), "{}", stderr(&o));
}

#[test]
fn the_snapshot_store_can_have_its_own_kms_key() {
    let backend = Backend::new("ssestore");
    let store = unique("ssestore-snaps");
    create_bucket(&store);
    let kms = |_: &str| aws::create_kms_key();
    let (state_key, store_key) = (kms("state"), kms("store"));
    backend.put(&backend.key, &tfstate(1, 2));
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env.hcl");
    std::fs::write(
        &env,
        format!(
            "backend {{\n  bucket = {:?}\n  key = {:?}\n  region = {REGION:?}\n  endpoint_url = {:?}\n  encrypt = true\n  kms_key_id = {state_key:?}\n}}\nsnapshots {{\n  store = \"s3://{store}/snaps\"\n  encrypt = true\n  kms_key_id = {store_key:?}\n}}\n",
            backend.bucket,
            backend.key,
            endpoint(),
        ),
    )
    .unwrap();
    let o = run(&env, &[], &["snapshot", "create", "--format", "json"]);
    assert_exit(&o, 0);
    let id = json(&o)["snapshot"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        head_sse(&store, &format!("snaps/{id}/terraform.tfstate")),
        ("aws:kms".to_owned(), store_key)
    );
}

#[test]
fn terraform_and_stateward_write_the_same_sse_kms_and_terraform_reads_the_restore() {
    let backend = Backend::new("ssetf");
    let key_arn = aws::create_kms_key();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        format!(
            r#"terraform {{
  backend "s3" {{
    bucket                      = "{bucket}"
    key                         = "{key}"
    region                      = "{REGION}"
    dynamodb_table              = "{table}"
    endpoint                    = "{ep}"
    dynamodb_endpoint           = "{ep}"
    force_path_style            = true
    skip_credentials_validation = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
    encrypt                     = true
    kms_key_id                  = "{key_arn}"
  }}
}}

variable "size" {{}}

output "size" {{
  value = var.size
}}
"#,
            bucket = backend.bucket,
            key = backend.key,
            table = backend.table,
            ep = endpoint(),
        ),
    )
    .unwrap();
    let terraform = |args: &[&str]| {
        let mut cmd = std::process::Command::new(terraform_bin());
        aws_env(&mut cmd)
            .current_dir(dir.path())
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .args(args)
            .stdin(std::process::Stdio::null());
        cmd.output().expect("run terraform")
    };
    assert_exit(&terraform(&["init", "-input=false", "-no-color"]), 0);
    for size in ["3", "5"] {
        let var = format!("size={size}");
        let o = terraform(&[
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-var",
            &var,
        ]);
        assert_exit(&o, 0);
    }
    // Terraform's own write: SSE-KMS with the key.
    assert_eq!(
        head_sse(&backend.bucket, &backend.key),
        ("aws:kms".to_owned(), key_arn.clone())
    );
    let dir_s = dir.path().display().to_string();
    let o = stateward(["versions", "--backend-dir", &dir_s, "--format", "json"]);
    assert_exit(&o, 0);
    let older = json(&o)["versions"][1]["version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = stateward(["restore", &older, "--yes", "--backend-dir", &dir_s]);
    assert_exit(&o, 0);
    // stateward's write: the same headers, and Terraform reads it (digest
    // included) and finds the size of the restored version.
    assert_eq!(
        head_sse(&backend.bucket, &backend.key),
        ("aws:kms".to_owned(), key_arn)
    );
    let o = terraform(&[
        "plan",
        "-detailed-exitcode",
        "-input=false",
        "-no-color",
        "-var",
        "size=3",
    ]);
    assert_exit(&o, 0);
}

#[test]
fn an_older_version_without_sse_c_is_read_without_the_key() {
    let backend = Backend::new("ssecold");
    // Before SSE-C was turned on: a plain version; then an SSE-C one.
    let plain = backend.put(&backend.key, &tfstate(1, 2));
    backend.put(&backend.key, &tfstate(2, 3));
    let dir = tempfile::tempdir().unwrap();
    let proxy = TruncatingProxy::recording();
    proxy.refuse_sse_c_for(&format!("versionId={plain}"));
    let env = env_file(
        dir.path(),
        &backend,
        &proxy.url(),
        "  encrypt = true\n",
        "s3://nowhere/snaps",
    );
    let key_env = [("AWS_SSE_CUSTOMER_KEY", CUSTOMER_KEY)];
    let o = run(&env, &key_env, &["versions", "--format", "json"]);
    assert_exit(&o, 0);
    let doc = json(&o);
    let v = doc["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version_id"] == plain.as_str())
        .unwrap()
        .clone();
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["serial"], 1, "{v}");
    let o = run(&env, &key_env, &["show", &plain, "--format", "json"]);
    assert_exit(&o, 0);
    // Asked with the key (refused), then without it.
    let gets: Vec<bool> = proxy
        .requests()
        .iter()
        .filter(|h| h[0].starts_with("GET ") && h[0].contains(&format!("versionId={plain}")))
        .map(|h| header(h, "x-amz-server-side-encryption-customer-key").is_some())
        .collect();
    assert!(gets.windows(2).any(|w| w == [true, false]), "{gets:?}");
}

/// OpenTofu's `state_tags` and `lock_tags` (1.11+): `x-amz-tagging` on the
/// state's writes and on the lock file, each its own; both land as tags.
#[test]
fn opentofu_state_and_lock_tags_are_sent_on_their_writes() {
    let backend = Backend::new("tags");
    let v1 = backend.put(&backend.key, &tfstate(1, 2));
    backend.put(&backend.key, &tfstate(2, 3));
    let proxy = TruncatingProxy::recording();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        format!(
            "terraform {{\n  backend \"s3\" {{\n    bucket = {:?}\n    key = {:?}\n    region = {REGION:?}\n    endpoints = {{ s3 = {:?} }}\n    use_lockfile = true\n    state_tags = {{ team = \"platform\", \"cost center\" = \"a+b/c\" }}\n    lock_tags = {{ kind = \"lock\" }}\n  }}\n}}\n",
            backend.bucket,
            backend.key,
            proxy.url(),
        ),
    )
    .unwrap();
    let o = stateward_cmd(&root(), ["restore", &v1, "--yes", "--backend-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let puts: Vec<(String, Option<String>)> = proxy
        .requests()
        .iter()
        .filter(|h| method_path(h).0 == "PUT")
        .map(|h| {
            (
                method_path(h).1,
                header(h, "x-amz-tagging").map(str::to_owned),
            )
        })
        .collect();
    let state_path = format!("/{}/{}", backend.bucket, backend.key);
    let lock_path = format!("{state_path}.tflock");
    assert!(
        puts.contains(&(
            state_path.clone(),
            Some("cost%20center=a%2Bb%2Fc&team=platform".into())
        )),
        "{puts:?}"
    );
    assert!(
        puts.contains(&(lock_path, Some("kind=lock".into()))),
        "{puts:?}"
    );
    assert_eq!(
        aws::object_tags(&backend.bucket, &backend.key),
        vec![
            ("cost center".to_owned(), "a+b/c".to_owned()),
            ("team".to_owned(), "platform".to_owned())
        ]
    );
}

/// A state Terraform 1.6+ uploaded multipart (ETag `<hash>-N`, not an md5)
/// is checked on its bytes: listed ok, pulled whole, snapshotted into a
/// bucket (a server-side copy) and verified, restored.
#[test]
fn a_multipart_upload_is_checked_on_its_bytes_not_its_etag() {
    let backend = Backend::new("multipart");
    let store = unique("multipart-store");
    create_bucket(&store);
    let first = backend.put(&backend.key, &tfstate(1, 2));
    let body = tfstate(2, 3);
    let (v2, etag) = aws::put_multipart(&backend.bucket, &backend.key, &body);
    assert!(etag.ends_with("-1"), "{etag}");
    let dir = tempfile::tempdir().unwrap();
    let env = env_file(
        dir.path(),
        &backend,
        &endpoint(),
        "",
        &format!("s3://{store}/snaps"),
    );
    let o = run(&env, &[], &["versions", "--format", "json"]);
    assert_exit(&o, 0);
    let doc = json(&o);
    let v = doc["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version_id"] == v2.as_str())
        .unwrap()
        .clone();
    assert_eq!(v["status"], "ok", "{v}");
    let o = run(&env, &[], &["pull", &v2]);
    assert_exit(&o, 0);
    assert_eq!(o.stdout, body);
    let o = run(&env, &[], &["snapshot", "create", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["snapshot"]["serial"], 2);
    let o = run(&env, &[], &["snapshot", "verify", "--all"]);
    assert_exit(&o, 0);
    // Unchanged since the snapshot: not taken again (the bytes decide).
    let o = run(&env, &[], &["snapshot", "create", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["created"], false, "{}", stdout(&o));
    let o = run(&env, &[], &["restore", &first, "--yes"]);
    assert_exit(&o, 0);
}

/// `encrypt = true` alone: the restore is written with SSE-S3 (AES256), as
/// Terraform writes it.
#[test]
fn encrypt_alone_writes_sse_s3() {
    let backend = Backend::new("sses3");
    let v1 = backend.put(&backend.key, &tfstate(1, 2));
    backend.put(&backend.key, &tfstate(2, 3));
    let dir = tempfile::tempdir().unwrap();
    let env = env_file(
        dir.path(),
        &backend,
        &endpoint(),
        "  encrypt = true\n",
        "s3://nowhere/snaps",
    );
    assert_eq!(head_sse(&backend.bucket, &backend.key).0, "-");
    let o = run(&env, &[], &["restore", &v1, "--yes"]);
    assert_exit(&o, 0);
    assert_eq!(
        head_sse(&backend.bucket, &backend.key),
        ("AES256".to_owned(), "-".to_owned())
    );
}

/// A server-side copy is checked by its ETag only when that is an md5
/// (single part, no SSE-KMS, no SSE-C): the proxy answers each snapshot's
/// CopyObject with another ETag. A plain copy is then refused as changed;
/// an SSE-KMS copy, whose ETag is no md5, is checked on S3's SHA-256 or its
/// bytes and taken.
#[test]
fn a_copys_etag_counts_as_an_md5_only_when_it_is_one() {
    let key_arn = aws::create_kms_key();
    for (extra, exit) in [
        (String::new(), 1),
        (format!("  encrypt = true\n  kms_key_id = {key_arn:?}\n"), 0),
    ] {
        let backend = Backend::new("copyetag");
        let store = unique("copyetag-store");
        create_bucket(&store);
        backend.put(&backend.key, &tfstate(1, 2));
        let proxy = TruncatingProxy::faulty();
        let dir = tempfile::tempdir().unwrap();
        let env = env_file(
            dir.path(),
            &backend,
            &proxy.url(),
            &extra,
            &format!("s3://{store}/snaps"),
        );
        // Every PUT (the copy's answer carries the ETag in its XML body).
        proxy.fault("PUT /", Fault::OtherEtag, usize::MAX);
        let o = run(&env, &[], &["snapshot", "create"]);
        assert_exit(&o, exit);
        assert!(
            !proxy.injected().is_empty(),
            "the copy went through the proxy"
        );
        if exit == 1 {
            assert!(stderr(&o).contains("md5"), "{}", stderr(&o));
        }
    }
}
