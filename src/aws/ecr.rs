//! ECR adapter: DescribeRepositories (1,000 a page, the API's most), and a
//! repository's lifecycle or repository policy (one call each, only for
//! the policies a state manages).

use super::{AwsError, AwsErrorKind};

/// A repository, as far as drift compares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Repository {
    pub name: String,
    /// `MUTABLE`, `IMMUTABLE`, ...
    pub image_tag_mutability: Option<String>,
    pub scan_on_push: Option<bool>,
    /// `AES256`, `KMS`, `KMS_DSSE`.
    pub encryption_type: Option<String>,
    pub kms_key: Option<String>,
}

/// The ECR client.
#[derive(Clone, Debug)]
pub struct Ecr {
    client: aws_sdk_ecr::Client,
}

fn absent_is_none<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == AwsErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl Ecr {
    pub(super) fn new(client: aws_sdk_ecr::Client) -> Self {
        Ecr { client }
    }

    /// The region's repositories, or only those named (an absent name is
    /// left out, not an error).
    pub async fn repositories(
        &self,
        names: Option<&[String]>,
    ) -> Result<Vec<Repository>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut call = self
                .client
                .describe_repositories()
                .set_repository_names(names.map(<[String]>::to_vec))
                .set_next_token(token.take());
            if names.is_none() {
                call = call.max_results(1000);
            }
            let page = match call.send().await {
                Ok(p) => p,
                Err(e) => {
                    let e = AwsError::from_sdk("DescribeRepositories", "ECR repositories", e);
                    if names.is_some() && e.kind == AwsErrorKind::NotFound {
                        return Ok(out);
                    }
                    return Err(e);
                }
            };
            out.extend(page.repositories().iter().filter_map(|r| {
                let enc = r.encryption_configuration();
                Some(Repository {
                    name: r.repository_name()?.to_owned(),
                    image_tag_mutability: r.image_tag_mutability().map(|m| m.as_str().to_owned()),
                    scan_on_push: r.image_scanning_configuration().map(|c| c.scan_on_push()),
                    encryption_type: enc.map(|e| e.encryption_type().as_str().to_owned()),
                    kms_key: enc.and_then(|e| e.kms_key()).map(str::to_owned),
                })
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// A repository's lifecycle policy text; `None` when it has none (or
    /// the repository does not exist).
    pub async fn lifecycle_policy(&self, repo: &str) -> Result<Option<String>, AwsError> {
        let r = self
            .client
            .get_lifecycle_policy()
            .repository_name(repo)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("GetLifecyclePolicy", format!("ECR repository {repo}"), e)
            });
        Ok(absent_is_none(r)?.and_then(|r| r.lifecycle_policy_text().map(str::to_owned)))
    }

    /// A repository's policy text; `None` when it has none (or the
    /// repository does not exist).
    pub async fn repository_policy(&self, repo: &str) -> Result<Option<String>, AwsError> {
        let r = self
            .client
            .get_repository_policy()
            .repository_name(repo)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("GetRepositoryPolicy", format!("ECR repository {repo}"), e)
            });
        Ok(absent_is_none(r)?.and_then(|r| r.policy_text().map(str::to_owned)))
    }
}
