//! ECR: repositories (DescribeRepositories, 1,000 a page), their lifecycle
//! policies and repository policies (one read per policy the state has:
//! no list call carries them).
//!
//! Repositories compare tag mutability, scan on push and encryption. Tags
//! are not compared: no list call carries them and one
//! ListTagsForResource per repository would double the calls. Policies are
//! compared as parsed documents. All three are identified by the
//! repository name, as the provider does.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{attr_or_id, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::ecr::{Ecr, Repository};
use crate::aws::{Aws, AwsError};

pub const REPOSITORY: &str = "aws_ecr_repository";
pub const LIFECYCLE_POLICY: &str = "aws_ecr_lifecycle_policy";
pub const REPOSITORY_POLICY: &str = "aws_ecr_repository_policy";

fn repository_key(a: &Value) -> Option<String> {
    attr_or_id(a, "name")
}
fn policy_key(a: &Value) -> Option<String> {
    attr_or_id(a, "repository")
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(REPOSITORY, repository_key)
        .compares("image_tag_mutability, scan_on_push, encryption_configuration (not tags)")
        .unmanaged(),
    TypeSpec::new(LIFECYCLE_POLICY, policy_key)
        .compares("policy (as a document)")
        .documents(&["policy"]),
    TypeSpec::new(REPOSITORY_POLICY, policy_key)
        .compares("policy (as a document)")
        .documents(&["policy"]),
];

super::family!("ECR");

/// `aws_ecr_repository`.
pub fn repository_attrs(r: &Repository) -> Vec<(String, Value)> {
    vec![
        ("image_tag_mutability".into(), json!(r.image_tag_mutability)),
        (
            "image_scanning_configuration.0.scan_on_push".into(),
            json!(r.scan_on_push),
        ),
        (
            "encryption_configuration.0.encryption_type".into(),
            json!(r.encryption_type),
        ),
        (
            "encryption_configuration.0.kms_key".into(),
            json!(r.kms_key),
        ),
    ]
}

fn repository_objects(
    unmanaged: bool,
    managed: &BTreeSet<String>,
    all: &[Repository],
) -> Vec<LiveObject> {
    all.iter()
        .filter_map(|r| {
            if managed.contains(&r.name) {
                Some(LiveObject {
                    attrs: repository_attrs(r),
                    ..LiveObject::named(&r.name, &r.name)
                })
            } else if unmanaged {
                Some(LiveObject::named(&r.name, &r.name))
            } else {
                None
            }
        })
        .collect()
}

async fn repositories(ecr: &Ecr, req: &ScanRequest) -> Result<Vec<LiveObject>, AwsError> {
    let managed = req.managed(REPOSITORY);
    let all = if req.naive && !req.unmanaged {
        each(req, managed.iter().cloned().collect(), |name| async move {
            ecr.repositories(Some(&[name])).await
        })
        .await?
        .into_iter()
        .flatten()
        .collect()
    } else {
        ecr.repositories(None).await?
    };
    Ok(repository_objects(req.unmanaged, &managed, &all))
}

/// A policy object, present when the repository has that policy.
fn policy_object(repo: String, policy: Option<String>) -> Option<LiveObject> {
    let policy = policy?;
    Some(LiveObject {
        attrs: vec![
            ("repository".into(), json!(repo)),
            ("policy".into(), json!(policy)),
        ],
        ..LiveObject::named(repo, "")
    })
}

async fn policies(
    ecr: &Ecr,
    req: &ScanRequest,
    type_: &'static str,
) -> Result<Vec<LiveObject>, AwsError> {
    let repos: Vec<String> = req.managed(type_).into_iter().collect();
    let found = each(req, repos, |repo| async move {
        let policy = if type_ == LIFECYCLE_POLICY {
            ecr.lifecycle_policy(&repo).await?
        } else {
            ecr.repository_policy(&repo).await?
        };
        Ok(policy_object(repo, policy))
    })
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// Enumerates the wanted ECR types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let ecr = aws.ecr();
    let result = |r: Result<Vec<LiveObject>, AwsError>| match r {
        Ok(objs) => TypeScan::Listed(objs),
        Err(e) => TypeScan::Failed(e),
    };
    let ecr = &ecr;
    let mut tasks: Vec<futures::future::BoxFuture<'_, (&'static str, TypeScan)>> = Vec::new();
    if req.wants(REPOSITORY) {
        tasks.push(Box::pin(async move {
            (REPOSITORY, result(repositories(ecr, req).await))
        }));
    }
    for t in [LIFECYCLE_POLICY, REPOSITORY_POLICY] {
        if req.wants(t) {
            tasks.push(Box::pin(
                async move { (t, result(policies(ecr, req, t).await)) },
            ));
        }
    }
    super::run_tasks(req, tasks).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_and_their_policies_are_found_by_repository_name() {
        let cases = [
            (
                repository_key as fn(&Value) -> Option<String>,
                json!({"name": "team/api", "id": "team/api"}),
                Some("team/api"),
            ),
            (repository_key, json!({"id": "web"}), Some("web")),
            (
                policy_key,
                json!({"repository": "web", "id": "web", "registry_id": "1"}),
                Some("web"),
            ),
            (policy_key, json!({"id": "api"}), Some("api")),
            (policy_key, json!({"repository": ""}), None),
        ];
        for (f, attrs, want) in cases {
            assert_eq!(f(&attrs).as_deref(), want, "{attrs}");
        }
    }

    #[test]
    fn repository_attributes_map_the_nested_blocks() {
        let r = Repository {
            name: "web".into(),
            image_tag_mutability: Some("IMMUTABLE".into()),
            scan_on_push: Some(true),
            encryption_type: Some("KMS".into()),
            kms_key: Some("arn:aws:kms:eu-west-1:1:key/k".into()),
        };
        assert_eq!(
            repository_attrs(&r),
            vec![
                ("image_tag_mutability".to_owned(), json!("IMMUTABLE")),
                (
                    "image_scanning_configuration.0.scan_on_push".to_owned(),
                    json!(true)
                ),
                (
                    "encryption_configuration.0.encryption_type".to_owned(),
                    json!("KMS")
                ),
                (
                    "encryption_configuration.0.kms_key".to_owned(),
                    json!("arn:aws:kms:eu-west-1:1:key/k")
                ),
            ]
        );
        let managed = BTreeSet::from(["web".to_owned()]);
        let other = Repository {
            name: "other".into(),
            ..Repository::default()
        };
        let objs = repository_objects(true, &managed, &[r.clone(), other.clone()]);
        assert_eq!(objs.len(), 2);
        assert!(objs[1].attrs.is_empty());
        assert_eq!(repository_objects(false, &managed, &[r, other]).len(), 1);
    }

    #[test]
    fn a_policy_exists_only_when_the_repository_has_one() {
        assert_eq!(policy_object("web".into(), None), None);
        let o = policy_object("web".into(), Some("{\"rules\":[]}".into())).expect("present");
        assert_eq!(o.id, "web");
        assert_eq!(
            o.attrs,
            vec![
                ("repository".to_owned(), json!("web")),
                ("policy".to_owned(), json!("{\"rules\":[]}"))
            ]
        );
    }
}
