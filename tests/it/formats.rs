//! State formats of Terraform 1.3 to 1.16 and OpenTofu 1.6 to 1.12
//! (tests/fixtures/formats): read, pulled and restored byte for byte (the
//! serial aside); encrypted and aws-chunked objects as the reference says.

use crate::support::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/formats").join(name)).unwrap()
}

fn sw(backend: &Backend, args: &[&str]) -> std::process::Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(backend.flags());
    stateward(all)
}

/// The fixture with its `"serial": 5` (either spacing) set to `serial`.
fn with_serial(bytes: &[u8], serial: u64) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let out = text
        .replace("\"serial\": 5,", &format!("\"serial\": {serial},"))
        .replace("\"serial\":5,", &format!("\"serial\":{serial},"));
    assert_ne!(out, text, "the fixture has serial 5");
    out.into_bytes()
}

fn versions(backend: &Backend) -> Vec<serde_json::Value> {
    let o = sw(backend, &["versions", "--format", "json"]);
    assert_exit(&o, 0);
    json(&o)["versions"].as_array().unwrap().clone()
}

#[test]
fn new_format_fields_round_trip_through_pull_and_restore() {
    for name in [
        "check_results.tfstate",
        "identity.tfstate",
        "opentofu.tfstate",
        "no_terraform_version.tfstate",
        "duplicate_key.tfstate",
    ] {
        let backend = Backend::new("formats");
        let bytes = fixture(name);
        let good = backend.put(&backend.key, &bytes);
        backend.put(&backend.key, b"<html><body>502 Bad Gateway</body></html>\n");

        let vs = versions(&backend);
        let v = vs.iter().find(|v| v["version_id"] == good).unwrap();
        assert_eq!(v["status"], "ok", "{name}: {v}");
        assert_eq!(v["serial"], 5, "{name}: {v}");
        if name == "duplicate_key.tfstate" {
            let problems = v["problems"].to_string();
            assert!(
                problems.contains("repeats the top-level key `outputs`"),
                "{problems}"
            );
        }

        // pull: the exact bytes.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pulled.tfstate");
        let o = sw(&backend, &["pull", &good, "-o", out.to_str().unwrap()]);
        assert_exit(&o, 0);
        assert_eq!(std::fs::read(&out).unwrap(), bytes, "{name}: pull");

        // restore: the same bytes, serial past every serial used.
        let o = sw(&backend, &["restore", "--last-good", "--yes"]);
        assert_exit(&o, 0);
        let o = sw(&backend, &["pull", "latest", "-o", out.to_str().unwrap()]);
        assert_exit(&o, 0);
        assert_eq!(
            String::from_utf8(std::fs::read(&out).unwrap()).unwrap(),
            String::from_utf8(with_serial(&bytes, 6)).unwrap(),
            "{name}: restore"
        );
    }
}

#[test]
fn opentofu_encrypted_versions_keep_their_history_and_are_handled_as_bytes() {
    let backend = Backend::new("formats-enc");
    let enc = fixture("encrypted.tfstate");
    let v1 = backend.put(&backend.key, &enc);
    let v2 = backend.put(&backend.key, &with_serial(&enc, 6));

    let vs = versions(&backend);
    for (id, serial) in [(&v1, 5), (&v2, 6)] {
        let v = vs.iter().find(|v| v["version_id"] == *id).unwrap();
        assert_eq!(v["status"], "encrypted", "{v}");
        assert_eq!(v["serial"], serial, "{v}");
        assert_eq!(v["lineage"], "bf5a0b6d-7e8c-4d9e-9f4a-5b6c7d8e9fa0", "{v}");
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pulled.tfstate");
    let o = sw(&backend, &["pull", &v1, "-o", out.to_str().unwrap()]);
    assert_exit(&o, 0);
    assert_eq!(std::fs::read(&out).unwrap(), enc);

    // diff: equal bytes are equal; different ones cannot be compared.
    let o = sw(&backend, &["diff", &v1, &v1]);
    assert_exit(&o, 0);
    let o = sw(&backend, &["diff", &v1, &v2]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("cannot compare"), "{}", stderr(&o));

    // A snapshot of an encrypted state keeps its bytes and plain serial.
    let store = tempfile::tempdir().unwrap();
    let store_path = store.path().to_str().unwrap().to_owned();
    let o = sw(
        &backend,
        &[
            "snapshot",
            "create",
            "--snapshot-store",
            &store_path,
            "--format",
            "json",
        ],
    );
    assert_exit(&o, 0);
    let doc = json(&o);
    assert_eq!(doc["snapshot"]["serial"], 6);
    let id = doc["snapshot"]["id"].as_str().unwrap();
    assert_eq!(
        std::fs::read(store.path().join(id).join("terraform.tfstate")).unwrap(),
        with_serial(&enc, 6)
    );
    let o = sw(
        &backend,
        &[
            "snapshot",
            "verify",
            "--all",
            "--snapshot-store",
            &store_path,
        ],
    );
    assert_exit(&o, 0);

    // Restore works on the bytes: only the plain serial moves on, and the
    // digest is the md5 of the encrypted bytes.
    let o = sw(&backend, &["restore", &v1, "--yes", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["serial"], 7);
    let o = sw(&backend, &["pull", "latest", "-o", out.to_str().unwrap()]);
    assert_exit(&o, 0);
    let restored = std::fs::read(&out).unwrap();
    assert_eq!(restored, with_serial(&enc, 7));
    let o = sw(&backend, &["digest", "status", "--format", "json"]);
    assert_exit(&o, 0);
    let md5 = format!("{:x}", <md5::Md5 as md5::Digest>::digest(&restored));
    assert_eq!(json(&o)["stored"], md5, "{}", stdout(&o));
}

#[test]
fn aws_chunked_framing_is_corrupt_with_its_cause() {
    let backend = Backend::new("formats-chunked");
    let good = backend.put(&backend.key, &fixture("no_terraform_version.tfstate"));
    let framed = backend.put(&backend.key, &fixture("aws_chunked.tfstate"));
    let vs = versions(&backend);
    let v = vs.iter().find(|v| v["version_id"] == framed).unwrap();
    assert_eq!(v["status"], "corrupt", "{v}");
    assert!(v["problems"].to_string().contains("aws-chunked"), "{v}");
    let o = sw(
        &backend,
        &["restore", "--last-good", "--yes", "--format", "json"],
    );
    assert_exit(&o, 0);
    assert_eq!(json(&o)["restored_from"], good, "{}", stdout(&o));
}
