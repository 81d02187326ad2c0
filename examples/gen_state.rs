//! Generates two realistic Terraform v4 states for benchmarking the diff.
//!
//! ```text
//! cargo run --release --example gen_state -- OUT_A OUT_B [--resources 20000] [--changed 300] [--seed N]
//! ```
//!
//! `--resources` is the number of resource instances in OUT_A (about 2.5 KB
//! each, so 20,000 give ~50 MB). OUT_B is OUT_A with `--changed` instances
//! changed in one attribute, a few instances removed and a few added, and
//! the serial bumped. Deterministic for a given seed (built-in PRNG).

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};

use serde::Serialize;
use serde_json::{json, Value};

/// SplitMix64: tiny, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(len);
        s
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Serialize, Clone)]
struct StateOut {
    version: u64,
    terraform_version: &'static str,
    serial: u64,
    lineage: String,
    outputs: BTreeMap<String, OutputOut>,
    resources: Vec<ResourceOut>,
    check_results: Option<()>,
}

#[derive(Serialize, Clone)]
struct OutputOut {
    value: Value,
    #[serde(rename = "type")]
    type_: Value,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    sensitive: bool,
}

#[derive(Serialize, Clone)]
struct ResourceOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    module: Option<String>,
    mode: &'static str,
    #[serde(rename = "type")]
    type_: &'static str,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    each: Option<&'static str>,
    provider: &'static str,
    instances: Vec<InstanceOut>,
}

#[derive(Serialize, Clone)]
struct InstanceOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    index_key: Option<Value>,
    schema_version: u64,
    attributes: Value,
    sensitive_attributes: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    private: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dependencies: Vec<String>,
}

const AWS: &str = "provider[\"registry.terraform.io/hashicorp/aws\"]";
const TYPES: &[&str] = &[
    "aws_instance",
    "aws_s3_bucket",
    "aws_iam_role",
    "aws_security_group",
    "aws_iam_policy",
    "aws_route53_record",
    "aws_db_instance",
];
const MODULES: &[&str] = &[
    "",
    "",
    "module.vpc",
    "module.eks",
    "module.eks.module.node_groups[\"blue\"]",
    "module.eks.module.node_groups[\"green\"]",
    "module.apps[\"payments\"]",
    "module.apps[\"search\"]",
];

fn tags(rng: &mut Rng, name: &str) -> Value {
    json!({
        "Name": name,
        "Environment": rng.pick(&["prod", "staging", "dev"]),
        "Team": rng.pick(&["platform", "data", "payments", "search"]),
        "CostCenter": format!("cc-{}", rng.below(9000) + 1000),
        "ManagedBy": "terraform",
        "kubernetes.io/cluster/main": "owned",
    })
}

fn policy(rng: &mut Rng, statements: usize) -> String {
    let stmts: Vec<Value> = (0..statements)
        .map(|i| {
            json!({
                "Sid": format!("Stmt{i}{}", rng.below(100000)),
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "kms:Decrypt"],
                "Resource": [
                    format!("arn:aws:s3:::bucket-{}/*", rng.hex(12)),
                    format!("arn:aws:kms:eu-west-1:123456789012:key/{}", rng.hex(32)),
                ],
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": format!("o-{}", rng.hex(10))}}
            })
        })
        .collect();
    serde_json::to_string(&json!({"Version": "2012-10-17", "Statement": stmts})).unwrap()
}

fn big(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

fn attributes(rng: &mut Rng, type_: &str, name: &str) -> (Value, Vec<Value>) {
    let id = rng.hex(17);
    let arn_acct = "123456789012";
    let mut sensitive = Vec::new();
    let v = match type_ {
        "aws_instance" => json!({
            "ami": format!("ami-{}", rng.hex(17)),
            "arn": format!("arn:aws:ec2:eu-west-1:{arn_acct}:instance/i-{id}"),
            "associate_public_ip_address": false,
            "availability_zone": rng.pick(&["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
            "cpu_core_count": rng.below(8) + 1,
            "ebs_block_device": [],
            "ebs_optimized": true,
            "id": format!("i-{id}"),
            "instance_state": "running",
            "instance_type": rng.pick(&["t3.micro", "t3.large", "m5.xlarge", "c6i.2xlarge"]),
            "metadata_options": [{"http_endpoint": "enabled", "http_put_response_hop_limit": 2, "http_tokens": "required"}],
            "private_ip": format!("10.{}.{}.{}", rng.below(256), rng.below(256), rng.below(256)),
            "root_block_device": [{"delete_on_termination": true, "encrypted": true, "iops": 3000,
                "kms_key_id": format!("arn:aws:kms:eu-west-1:{arn_acct}:key/{}", rng.hex(32)),
                "tags": {}, "throughput": 125, "volume_id": format!("vol-{}", rng.hex(17)), "volume_size": 50, "volume_type": "gp3"}],
            "subnet_id": format!("subnet-{}", rng.hex(17)),
            "tags": tags(rng, name),
            "tags_all": tags(rng, name),
            "user_data": rng.hex(40),
            "vpc_security_group_ids": [format!("sg-{}", rng.hex(17)), format!("sg-{}", rng.hex(17))],
            "cpu_credits_float": 0.30000000000000004,
        }),
        "aws_s3_bucket" => json!({
            "acceleration_status": "",
            "arn": format!("arn:aws:s3:::bucket-{id}"),
            "bucket": format!("bucket-{id}"),
            "bucket_domain_name": format!("bucket-{id}.s3.amazonaws.com"),
            "force_destroy": false,
            "hosted_zone_id": "Z1BKCTXD74EZPE",
            "id": format!("bucket-{id}"),
            "object_lock_enabled": false,
            "policy": policy(rng, 3),
            "server_side_encryption_configuration": [{"rule": [{"apply_server_side_encryption_by_default": [{"kms_master_key_id": "", "sse_algorithm": "AES256"}], "bucket_key_enabled": false}]}],
            "tags": tags(rng, name),
            "versioning": [{"enabled": true, "mfa_delete": false}],
            "max_object_bytes": big("123456789012345678901234567890"),
        }),
        "aws_iam_role" => json!({
            "arn": format!("arn:aws:iam::{arn_acct}:role/{name}"),
            "assume_role_policy": policy(rng, 2),
            "create_date": "2024-03-01T10:00:00Z",
            "description": "Role managed by Terraform",
            "force_detach_policies": false,
            "id": name,
            "inline_policy": [{"name": format!("{name}-inline"), "policy": policy(rng, 1)}],
            "managed_policy_arns": [format!("arn:aws:iam::{arn_acct}:policy/p-{}", rng.hex(8))],
            "max_session_duration": 3600,
            "name": name,
            "path": "/",
            "tags": tags(rng, name),
            "unique_id": format!("AROA{}", rng.hex(17).to_uppercase()),
        }),
        "aws_security_group" => {
            let rules: Vec<Value> = (0..4)
                .map(|i| {
                    json!({
                        "cidr_blocks": [format!("10.{}.0.0/16", rng.below(256)), format!("172.16.{}.0/24", rng.below(256))],
                        "description": format!("rule {i}"),
                        "from_port": 443 + i,
                        "ipv6_cidr_blocks": [],
                        "prefix_list_ids": [],
                        "protocol": "tcp",
                        "security_groups": [format!("sg-{}", rng.hex(17))],
                        "self": false,
                        "to_port": 443 + i
                    })
                })
                .collect();
            json!({
                "arn": format!("arn:aws:ec2:eu-west-1:{arn_acct}:security-group/sg-{id}"),
                "description": "Managed by Terraform",
                "egress": [{"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 0, "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "-1", "security_groups": [], "self": false, "to_port": 0}],
                "id": format!("sg-{id}"),
                "ingress": rules,
                "name": name,
                "owner_id": arn_acct,
                "tags": tags(rng, name),
                "vpc_id": format!("vpc-{}", rng.hex(17)),
            })
        }
        "aws_iam_policy" => json!({
            "arn": format!("arn:aws:iam::{arn_acct}:policy/{name}"),
            "description": "",
            "id": format!("arn:aws:iam::{arn_acct}:policy/{name}"),
            "name": name,
            "path": "/",
            "policy": policy(rng, 5),
            "policy_id": format!("ANPA{}", rng.hex(17).to_uppercase()),
            "tags": {},
        }),
        "aws_route53_record" => json!({
            "alias": [],
            "fqdn": format!("{name}.example.com"),
            "id": format!("Z{}_{name}.example.com_A", rng.hex(12).to_uppercase()),
            "name": format!("{name}.example.com"),
            "records": [format!("10.0.{}.{}", rng.below(256), rng.below(256))],
            "ttl": 300,
            "type": "A",
            "zone_id": format!("Z{}", rng.hex(12).to_uppercase()),
            "weight_big": big("18446744073709551616"),
            "extra_notes": rng.hex(1200),
        }),
        _ => {
            sensitive.push(json!([{"type": "get_attr", "value": "password"}]));
            json!({
                "address": format!("{name}.{}.eu-west-1.rds.amazonaws.com", rng.hex(12)),
                "allocated_storage": 100,
                "arn": format!("arn:aws:rds:eu-west-1:{arn_acct}:db:{name}"),
                "engine": "postgres",
                "engine_version": "16.3",
                "id": format!("db-{}", rng.hex(26).to_uppercase()),
                "instance_class": "db.r6g.large",
                "multi_az": true,
                "parameter_group_name": "default.postgres16",
                "password": rng.hex(24),
                "port": 5432,
                "storage_encrypted": true,
                "tags": tags(rng, name),
                "username": "admin",
                "vpc_security_group_ids": [format!("sg-{}", rng.hex(17))],
                "notes": rng.hex(1500),
            })
        }
    };
    (v, sensitive)
}

fn make_resource(rng: &mut Rng, k: usize, want: usize) -> ResourceOut {
    let type_ = rng.pick(TYPES);
    let module = rng.pick(MODULES);
    let name = format!("{}_{k}", type_.trim_start_matches("aws_"));
    let shape = rng.below(10);
    let keys: Vec<Option<Value>> = if shape < 6 || want < 5 {
        vec![None]
    } else if shape < 8 {
        (0..rng.below(4) + 2).map(|i| Some(json!(i))).collect()
    } else {
        let odd = [
            "blue",
            "green",
            "k8s.io/role",
            "a\"quoted\"",
            "日本",
            "with space",
        ];
        (0..rng.below(4) + 2)
            .map(|i| Some(json!(format!("{}-{i}", odd[(k + i as usize) % odd.len()]))))
            .collect()
    };
    let each = match keys.first() {
        Some(Some(Value::Number(_))) => Some("list"),
        Some(Some(_)) => Some("map"),
        _ => None,
    };
    let instances = keys
        .into_iter()
        .map(|index_key| {
            let (attributes, sensitive_attributes) = attributes(rng, type_, &name);
            InstanceOut {
                index_key,
                schema_version: rng.below(3),
                attributes,
                sensitive_attributes,
                private: Some(format!("eyJ{}", rng.hex(60))),
                dependencies: if rng.below(3) == 0 {
                    vec![format!("aws_iam_role.iam_role_{}", rng.below(k as u64 + 1))]
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    ResourceOut {
        module: (!module.is_empty()).then(|| module.to_owned()),
        mode: "managed",
        type_,
        name,
        each,
        provider: AWS,
        instances,
    }
}

fn write(path: &str, s: &StateOut) -> std::io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    serde_json::to_writer_pretty(&mut w, s)?;
    w.write_all(b"\n")?;
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut paths = Vec::new();
    let (mut n, mut changed, mut seed) = (20_000usize, 300usize, 42u64);
    let mut i = 0;
    while i < args.len() {
        let num = |j: usize| -> u64 {
            args.get(j)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{} needs a number", args[j - 1]))
        };
        match args[i].as_str() {
            "--resources" => {
                n = num(i + 1) as usize;
                i += 1;
            }
            "--changed" => {
                changed = num(i + 1) as usize;
                i += 1;
            }
            "--seed" => {
                seed = num(i + 1);
                i += 1;
            }
            p => paths.push(p.to_owned()),
        }
        i += 1;
    }
    if paths.len() != 2 {
        eprintln!("usage: gen_state OUT_A OUT_B [--resources N] [--changed N] [--seed N]");
        std::process::exit(2);
    }
    let mut rng = Rng(seed);

    let mut resources = Vec::new();
    let mut count = 0;
    let mut k = 0;
    while count < n {
        let r = make_resource(&mut rng, k, n - count);
        count += r.instances.len();
        resources.push(r);
        k += 1;
    }
    let mut outputs = BTreeMap::new();
    for (name, value, sensitive) in [
        ("vpc_id", json!("vpc-0123456789abcdef0"), false),
        (
            "cluster_endpoint",
            json!("https://ABC.gr7.eu-west-1.eks.amazonaws.com"),
            false,
        ),
        ("db_password", json!(rng.hex(24)), true),
    ] {
        outputs.insert(
            name.to_owned(),
            OutputOut {
                value,
                type_: json!("string"),
                sensitive,
            },
        );
    }
    let a = StateOut {
        version: 4,
        terraform_version: "1.9.5",
        serial: 1000,
        lineage: "6a1c2f3e-0b4d-4e5f-8a9b-0c1d2e3f4a5b".to_owned(),
        outputs,
        resources,
        check_results: None,
    };

    // B: change `changed` distinct instances, remove 5, add 5.
    let mut b = a.clone();
    b.serial += 1;
    let mut done = HashSet::new();
    while done.len() < changed.min(count) {
        let ri = rng.below(b.resources.len() as u64) as usize;
        let ii = rng.below(b.resources[ri].instances.len() as u64) as usize;
        if !done.insert((ri, ii)) {
            continue;
        }
        let attrs = &mut b.resources[ri].instances[ii].attributes;
        match rng.below(3) {
            0 if attrs.get("tags").is_some_and(|t| t.get("Name").is_some()) => {
                attrs["tags"]["Name"] = json!(format!("renamed-{}", rng.hex(6)));
            }
            1 if attrs.get("password").is_some() => {
                attrs["password"] = json!(rng.hex(24));
            }
            _ => {
                attrs["id"] = json!(format!("changed-{}", rng.hex(12)));
            }
        }
    }
    for _ in 0..5 {
        let ri = rng.below(b.resources.len() as u64) as usize;
        b.resources.remove(ri);
    }
    for j in 0..5 {
        let r = make_resource(&mut rng, k + j, 1);
        b.resources.push(r);
    }
    b.outputs.get_mut("vpc_id").unwrap().value = json!("vpc-0fedcba9876543210");

    let sa = write(&paths[0], &a).expect("write OUT_A");
    let sb = write(&paths[1], &b).expect("write OUT_B");
    println!(
        "wrote {} ({} bytes, {} instances) and {} ({} bytes)",
        paths[0], sa, count, paths[1], sb
    );
}
