//! `stateward rebuild plan` on the emulator: what live AWS lacks, ordered.

mod support;

use support::*;

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

#[test]
fn plans_exactly_what_live_aws_lacks_in_the_right_waves() {
    let backend = Backend::new("rebuild");
    let cluster = format!("{}-eks", backend.bucket);
    let db = format!("{}-db", backend.bucket);
    boto(&format!(
        r#"
eks = boto3.client("eks", endpoint_url=ENDPOINT, region_name=REGION)
eks.create_cluster(name={cluster:?}, roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={{"subnetIds": ["subnet-1"]}})
for ng in ["blue", "gpu"]:
    eks.create_nodegroup(clusterName={cluster:?}, nodegroupName=ng, nodeRole="arn:aws:iam::123456789012:role/node",
        subnets=["subnet-1"], scalingConfig={{"minSize": 1, "maxSize": 3, "desiredSize": 2}})
rds = boto3.client("rds", endpoint_url=ENDPOINT, region_name=REGION)
rds.create_db_instance(DBInstanceIdentifier={db:?}, Engine="postgres", DBInstanceClass="db.t3.micro",
    AllocatedStorage=20, MasterUsername="mlflow", MasterUserPassword="hunter2hunter2", BackupRetentionPeriod=7)
"#
    ));
    backend.put(&backend.key, state(&cluster, &db).as_bytes());

    // Everything is there: nothing to rebuild.
    let doc = plan(&backend, &[]);
    assert_eq!(waves(&doc), vec![], "{doc:#}");
    assert_eq!(doc["state"]["serial"], 12);

    // A node group is lost: only it, then the final apply.
    boto(&format!(
        "eks = boto3.client('eks', endpoint_url=ENDPOINT, region_name=REGION)\neks.delete_nodegroup(clusterName={cluster:?}, nodegroupName='gpu')"
    ));
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
    boto(&format!(
        r#"
eks = boto3.client("eks", endpoint_url=ENDPOINT, region_name=REGION)
eks.delete_nodegroup(clusterName={cluster:?}, nodegroupName="blue")
eks.delete_cluster(name={cluster:?})
rds = boto3.client("rds", endpoint_url=ENDPOINT, region_name=REGION)
rds.create_db_snapshot(DBInstanceIdentifier={db:?}, DBSnapshotIdentifier={db:?} + "-nightly")
rds.delete_db_instance(DBInstanceIdentifier={db:?}, SkipFinalSnapshot=True)
"#
    ));
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

    // --all: the full sequence; the IAM role (unchecked type) joins the control plane.
    let doc = plan(&backend, &["--all"]);
    assert_eq!(
        waves(&doc)[0].1,
        s(&[
            "module.eks.aws_iam_role.cluster",
            "module.eks.aws_eks_cluster.this"
        ])
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
