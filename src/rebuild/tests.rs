use super::*;

fn node(address: &str, type_: &str, deps: &[&str]) -> Node {
    let resource = match address.rfind('[') {
        Some(i) if address.ends_with(']') => address[..i].to_owned(),
        _ => address.to_owned(),
    };
    Node {
        address: address.into(),
        resource,
        type_: type_.into(),
        dependencies: deps.iter().map(|d| d.to_string()).collect(),
    }
}

/// Module-nested EKS, for_each node groups, an IAM role, add-on, helm
/// releases on the cluster, an RDS instance, a bucket.
fn platform() -> Vec<Node> {
    vec![
        node("module.eks.aws_iam_role.cluster", "aws_iam_role", &[]),
        node(
            "module.eks.aws_eks_cluster.this",
            "aws_eks_cluster",
            &["module.eks.aws_iam_role.cluster"],
        ),
        node(
            "module.eks.aws_eks_node_group.this[\"blue\"]",
            "aws_eks_node_group",
            &["module.eks.aws_eks_cluster.this"],
        ),
        node(
            "module.eks.aws_eks_node_group.this[\"gpu\"]",
            "aws_eks_node_group",
            &["module.eks.aws_eks_cluster.this"],
        ),
        node(
            "module.eks.aws_eks_addon.coredns",
            "aws_eks_addon",
            &[
                "module.eks.aws_eks_cluster.this",
                "module.eks.aws_eks_node_group.this",
            ],
        ),
        node(
            "helm_release.mlflow",
            "helm_release",
            &["module.eks.aws_eks_cluster.this", "aws_db_instance.mlflow"],
        ),
        node("aws_db_instance.mlflow", "aws_db_instance", &[]),
        node("aws_s3_bucket.artifacts", "aws_s3_bucket", &[]),
    ]
}

fn input(missing: &[&str], scope: Scope) -> Input {
    Input {
        nodes: platform(),
        missing: missing.iter().map(|s| s.to_string()).collect(),
        tiers: default_tiers(),
        scope,
        recovery_sources: BTreeMap::new(),
        terraform: "terraform".into(),
        apply_args: vec![],
    }
}

/// The platform on a VPC: the cluster needs a private subnet (which needs
/// the VPC); an IRSA role needs the cluster; a spare subnet nothing needs.
fn network() -> Vec<Node> {
    let mut nodes = vec![
        node("module.vpc.aws_vpc.this", "aws_vpc", &[]),
        node(
            "module.vpc.aws_subnet.private[0]",
            "aws_subnet",
            &["module.vpc.aws_vpc.this"],
        ),
        node(
            "module.vpc.aws_subnet.spare",
            "aws_subnet",
            &["module.vpc.aws_vpc.this"],
        ),
    ];
    for mut n in platform() {
        if n.type_ == "aws_eks_cluster" {
            n.dependencies.push("module.vpc.aws_subnet.private".into());
        }
        nodes.push(n);
    }
    nodes.push(node(
        "module.eks.aws_iam_role.irsa",
        "aws_iam_role",
        &["module.eks.aws_eks_cluster.this"],
    ));
    nodes
}

fn input_with(nodes: Vec<Node>, missing: &[&str]) -> Input {
    Input {
        nodes,
        ..input(missing, Scope::MissingOnly)
    }
}

/// `(wave name, targets)` of each wave.
type Shape = Vec<(String, Vec<String>)>;

fn shape(p: &Plan) -> Shape {
    p.waves
        .iter()
        .map(|w| (w.name.clone(), w.targets.clone()))
        .collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn table() {
    let cases: Vec<(&str, Input, Shape)> = vec![
        (
            "cluster lost: its missing role first, then the cluster, node groups and add-on, workloads, the rest",
            input(&["module.eks.aws_eks_cluster.this", "module.eks.aws_iam_role.cluster", "module.eks.aws_eks_node_group.this[\"blue\"]", "module.eks.aws_eks_node_group.this[\"gpu\"]"], Scope::MissingOnly),
            vec![
                ("network and IAM".into(), s(&["module.eks.aws_iam_role.cluster"])),
                ("control plane".into(), s(&["module.eks.aws_eks_cluster.this"])),
                ("node groups and add-ons".into(), s(&["module.eks.aws_eks_node_group.this[\"blue\"]", "module.eks.aws_eks_node_group.this[\"gpu\"]", "module.eks.aws_eks_addon.coredns"])),
                ("workloads".into(), s(&["helm_release.mlflow"])),
                ("everything else".into(), vec![]),
            ],
        ),
        (
            "one node group lost: it, the add-on that depends on node groups, the final apply",
            input(&["module.eks.aws_eks_node_group.this[\"gpu\"]"], Scope::MissingOnly),
            vec![
                ("node groups and add-ons".into(), s(&["module.eks.aws_eks_node_group.this[\"gpu\"]", "module.eks.aws_eks_addon.coredns"])),
                ("everything else".into(), vec![]),
            ],
        ),
        ("nothing missing: no waves", input(&[], Scope::MissingOnly), vec![]),
        (
            "cluster and its network lost: the network and IAM it sits on first, in their own wave",
            input_with(
                network(),
                &["module.eks.aws_eks_cluster.this", "module.vpc.aws_subnet.private[0]", "module.vpc.aws_vpc.this", "module.eks.aws_iam_role.cluster", "module.eks.aws_iam_role.irsa"],
            ),
            vec![
                ("network and IAM".into(), s(&["module.vpc.aws_vpc.this", "module.vpc.aws_subnet.private[0]", "module.eks.aws_iam_role.cluster"])),
                ("control plane".into(), s(&["module.eks.aws_eks_cluster.this"])),
                ("node groups and add-ons".into(), s(&["module.eks.aws_eks_node_group.this[\"blue\"]", "module.eks.aws_eks_node_group.this[\"gpu\"]", "module.eks.aws_eks_addon.coredns"])),
                ("workloads".into(), s(&["helm_release.mlflow"])),
                // The spare subnet sits on the rebuilt VPC but no tier needs
                // it; the IRSA role needs the cluster's OIDC issuer: both
                // with the final apply, after everything they need.
                ("everything else".into(), s(&["module.vpc.aws_subnet.spare", "module.eks.aws_iam_role.irsa"])),
            ],
        ),
        (
            "a lone subnet lost that no tier needs: the final apply, not a wave of its own",
            input_with(network(), &["module.vpc.aws_subnet.spare"]),
            vec![("everything else".into(), s(&["module.vpc.aws_subnet.spare"]))],
        ),
        (
            "--all: every tier; an untiered dependency joins the first wave that needs it, the rest the final apply",
            input(&[], Scope::All),
            vec![
                ("network and IAM".into(), s(&["module.eks.aws_iam_role.cluster"])),
                ("control plane".into(), s(&["module.eks.aws_eks_cluster.this"])),
                ("node groups and add-ons".into(), s(&["module.eks.aws_eks_node_group.this[\"blue\"]", "module.eks.aws_eks_node_group.this[\"gpu\"]", "module.eks.aws_eks_addon.coredns"])),
                ("workloads".into(), s(&["aws_db_instance.mlflow", "helm_release.mlflow"])),
                ("everything else".into(), s(&["aws_s3_bucket.artifacts"])),
            ],
        ),
    ];
    for (name, inp, want) in cases {
        let p = plan(&inp).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(shape(&p), want, "{name}");
        for (i, w) in p.waves.iter().enumerate() {
            assert_eq!(w.index, i + 1, "{name}");
            for t in &w.targets {
                assert!(w.reasons.contains_key(t), "{name}: no reason for {t}");
            }
        }
    }
}

#[test]
fn commands_gates_and_reasons() {
    let p = plan(&input(
        &["module.eks.aws_eks_node_group.this[\"gpu\"]"],
        Scope::MissingOnly,
    ))
    .unwrap();
    let w = &p.waves[0];
    assert_eq!(
        w.commands[0],
        s(&[
            "terraform",
            "apply",
            "-target=module.eks.aws_eks_node_group.this[\"gpu\"]",
            "-target=module.eks.aws_eks_addon.coredns"
        ])
    );
    assert_eq!(
        shell_line(&w.commands[0]),
        r#"terraform apply '-target=module.eks.aws_eks_node_group.this["gpu"]' -target=module.eks.aws_eks_addon.coredns"#
    );
    let gate = w.gate.as_ref().unwrap();
    assert_eq!(gate.kind, GateKind::EksNodegroupsActive);
    assert_eq!(gate.timeout_seconds, 1800);
    assert_eq!(
        w.reasons["module.eks.aws_eks_node_group.this[\"gpu\"]"],
        "missing in AWS"
    );
    assert!(w.reasons["module.eks.aws_eks_addon.coredns"]
        .starts_with("depends on module.eks.aws_eks_node_group.this"));
    let last = p.waves.last().unwrap();
    assert_eq!(last.commands, vec![s(&["terraform", "apply"])]);
    assert!(last.gate.is_none());
}

#[test]
fn a_cycle_is_an_error_naming_its_addresses() {
    let mut inp = input(&[], Scope::All);
    inp.nodes = vec![
        node("aws_iam_role.a", "aws_iam_role", &["aws_iam_role.b"]),
        node("aws_iam_role.b", "aws_iam_role", &["aws_iam_role.a"]),
        node("aws_s3_bucket.c", "aws_s3_bucket", &["aws_iam_role.a"]),
    ];
    let err = plan(&inp).unwrap_err();
    assert_eq!(
        err,
        PlanError::Cycle(s(&["aws_iam_role.a", "aws_iam_role.b"]))
    );
    assert!(err.to_string().contains("aws_iam_role.a, aws_iam_role.b"));
}

#[test]
fn a_dependency_on_a_later_wave_is_an_error() {
    let mut inp = input(&[], Scope::All);
    inp.nodes = vec![
        node("helm_release.ingress", "helm_release", &[]),
        node(
            "aws_eks_cluster.this",
            "aws_eks_cluster",
            &["helm_release.ingress"],
        ),
    ];
    let err = plan(&inp).unwrap_err();
    assert!(
        matches!(err, PlanError::Backwards { ref from, ref to, .. } if from == "aws_eks_cluster.this" && to == "helm_release.ingress"),
        "{err}"
    );
}

#[test]
fn missing_data_stores_are_called_out_with_their_source() {
    let mut inp = input(
        &["aws_db_instance.mlflow", "aws_s3_bucket.artifacts"],
        Scope::MissingOnly,
    );
    inp.recovery_sources.insert(
        "aws_db_instance.mlflow".into(),
        (
            "rds-snapshot:mlflow-2026-11-22".into(),
            "latest snapshot, 3h 10m old".into(),
        ),
    );
    let p = plan(&inp).unwrap();
    assert_eq!(p.data_recovery.len(), 2);
    assert_eq!(p.data_recovery[0].source, "rds-snapshot:mlflow-2026-11-22");
    assert_eq!(p.data_recovery[1].source, "none found");
    // The helm release depends on the database: both come back in the
    // workloads wave, the database first; the bucket with the final apply.
    assert_eq!(
        shape(&p),
        vec![
            (
                "workloads".to_owned(),
                s(&["aws_db_instance.mlflow", "helm_release.mlflow"])
            ),
            (
                "everything else".to_owned(),
                s(&["aws_s3_bucket.artifacts"])
            ),
        ]
    );
    assert!(p.waves[0].reasons["aws_db_instance.mlflow"].contains("needed by helm_release.mlflow"));
}

#[test]
fn configured_commands_run_after_a_rebuild_even_without_targets_of_their_tier() {
    let kubectl = s(&["kubectl", "apply", "-k", "infrastructure/kubernetes/"]);
    let mut inp = input(
        &["module.eks.aws_eks_node_group.this[\"gpu\"]"],
        Scope::MissingOnly,
    );
    inp.tiers[3].commands = vec![kubectl.clone()];
    inp.apply_args = s(&["-input=false", "-auto-approve"]);
    let p = plan(&inp).unwrap();
    assert_eq!(
        shape(&p),
        vec![
            (
                "node groups and add-ons".to_owned(),
                s(&[
                    "module.eks.aws_eks_node_group.this[\"gpu\"]",
                    "module.eks.aws_eks_addon.coredns"
                ])
            ),
            ("workloads".to_owned(), vec![]),
            ("everything else".to_owned(), vec![]),
        ]
    );
    assert_eq!(
        p.waves[0].commands[0][..4],
        s(&["terraform", "apply", "-input=false", "-auto-approve"])[..]
    );
    // The workloads wave has no targets: only its commands, never an
    // untargeted apply before the final wave.
    assert_eq!(p.waves[1].commands, vec![kubectl.clone()]);
    assert!(p.waves[1].gate.is_none());
    assert_eq!(
        p.waves[2].commands,
        vec![s(&["terraform", "apply", "-input=false", "-auto-approve"])]
    );

    // With workloads to rebuild, the commands follow the targeted apply.
    let mut inp = input(&["module.eks.aws_eks_cluster.this"], Scope::MissingOnly);
    inp.tiers[3].commands = vec![kubectl.clone()];
    let p = plan(&inp).unwrap();
    assert_eq!(
        p.waves[2].commands,
        vec![
            s(&["terraform", "apply", "-target=helm_release.mlflow"]),
            kubectl.clone()
        ]
    );

    // Nothing rebuilt before it (or at all): the commands do not run.
    let mut inp = input(&["aws_s3_bucket.artifacts"], Scope::MissingOnly);
    inp.tiers[2].commands = vec![kubectl];
    let p = plan(&inp).unwrap();
    assert_eq!(
        shape(&p),
        vec![(
            "everything else".to_owned(),
            s(&["aws_s3_bucket.artifacts"])
        )]
    );
}
