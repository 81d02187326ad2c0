//! IAM adapter. One paginated `GetAccountAuthorizationDetails` pass gives
//! roles, users and groups with their attached and inline policies, and the
//! account's own managed policies with their versions; `ListRoles` adds what
//! that pass leaves out of roles (description, maximum session). Instance
//! profiles, policy tags, OIDC providers and access keys are read per
//! object (no list call carries their tags or details). The per-resource
//! reads the naive baseline uses are here too.
//!
//! Policy documents are returned as IAM gives them (URL-encoded JSON).

use std::collections::BTreeMap;

use aws_sdk_iam::types::{AttachedPermissionsBoundary, EntityType, Tag};

use super::{AwsError, AwsErrorKind};

/// Tags as a sorted map, without AWS's own `aws:` tags.
fn tags(t: &[Tag]) -> BTreeMap<String, String> {
    super::user_tags(t.iter().map(|t| (Some(t.key()), Some(t.value()))))
}

use super::non_empty as s;

fn boundary(b: Option<&AttachedPermissionsBoundary>) -> Option<String> {
    b.and_then(|b| s(b.permissions_boundary_arn()))
}

fn absent_is_none<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == AwsErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The kinds of entity [`Iam::account_details`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Entity {
    Role,
    User,
    Group,
    /// Customer-managed policies (not AWS-managed ones).
    LocalPolicy,
}

/// An inline policy: name and document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InlinePolicy {
    pub name: String,
    pub document: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub path: String,
    pub assume_role_policy: Option<String>,
    /// Only from `ListRoles`/`GetRole` (the authorization details leave it out).
    pub description: Option<String>,
    /// Only from `ListRoles`/`GetRole`.
    pub max_session_duration: Option<i32>,
    pub permissions_boundary: Option<String>,
    /// ARNs of the attached managed policies.
    pub attached: Vec<String>,
    pub inline: Vec<InlinePolicy>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    pub name: String,
    pub path: String,
    pub permissions_boundary: Option<String>,
    pub attached: Vec<String>,
    pub inline: Vec<InlinePolicy>,
    /// Names of the groups the user is in.
    pub groups: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    pub name: String,
    pub path: String,
    pub attached: Vec<String>,
    pub inline: Vec<InlinePolicy>,
}

/// A customer-managed policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManagedPolicy {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    /// The default version's document.
    pub document: Option<String>,
    /// Known only from `ListPolicyTags`/`GetPolicy`: `None` until read.
    pub tags: Option<BTreeMap<String, String>>,
}

/// What `GetAccountAuthorizationDetails` gives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountDetails {
    pub roles: Vec<Role>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub policies: Vec<ManagedPolicy>,
}

/// What `ListRoles` adds to a role of the authorization details.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleSummary {
    pub name: String,
    pub description: Option<String>,
    pub max_session_duration: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstanceProfile {
    pub name: String,
    pub path: String,
    /// Names of its roles (at most one).
    pub roles: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OidcProvider {
    pub arn: String,
    /// As IAM returns it: without `https://`.
    pub url: Option<String>,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessKey {
    pub id: String,
    pub user: String,
    /// `Active` or `Inactive`.
    pub status: Option<String>,
}

/// The entities a managed policy is attached to (`ListEntitiesForPolicy`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyEntities {
    pub roles: Vec<String>,
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

/// A group and its users (`GetGroup`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupWithUsers {
    pub group: Group,
    pub users: Vec<String>,
}

/// The IAM client.
#[derive(Clone, Debug)]
pub struct Iam {
    client: aws_sdk_iam::Client,
}

const ACCOUNT: &str = "the account's IAM entities";

/// Runs a `Marker`-paginated IAM call to the end: `$call` is a request
/// builder, `$each` is called with every page.
macro_rules! pages {
    ($op:literal, $what:expr, $call:expr, |$page:ident| $each:block) => {{
        let mut marker: Option<String> = None;
        loop {
            let $page = $call
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk($op, $what, e))?;
            $each
            match $page.marker() {
                Some(m) if $page.is_truncated() && !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
    }};
}

/// A `ListAttached{Role,User,Group}Policies` read: the attached policy
/// ARNs, `None` if the entity is absent.
macro_rules! attached_of {
    ($fn:ident, $call:ident, $param:ident, $op:literal, $doc:literal) => {
        #[doc = $doc]
        pub async fn $fn(&self, entity: &str) -> Result<Option<Vec<String>>, AwsError> {
            let r: Result<Vec<String>, AwsError> = async {
                let mut out = Vec::new();
                pages!(
                    $op,
                    entity,
                    self.client.$call().$param(entity).max_items(1000),
                    |page| {
                        out.extend(attached(page.attached_policies()));
                    }
                );
                Ok(out)
            }
            .await;
            absent_is_none(r)
        }
    };
}

/// A `Get{Role,User,Group}Policy` read: the inline policy's document,
/// `None` if it (or its entity) is absent.
macro_rules! inline_of {
    ($fn:ident, $call:ident, $param:ident, $op:literal, $doc:literal) => {
        #[doc = $doc]
        pub async fn $fn(&self, entity: &str, name: &str) -> Result<Option<String>, AwsError> {
            let r = self
                .client
                .$call()
                .$param(entity)
                .policy_name(name)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk($op, format!("{entity}:{name}"), e));
            Ok(absent_is_none(r)?.map(|o| o.policy_document().to_owned()))
        }
    };
}

fn inline(list: &[aws_sdk_iam::types::PolicyDetail]) -> Vec<InlinePolicy> {
    list.iter()
        .map(|p| InlinePolicy {
            name: p.policy_name().unwrap_or_default().to_owned(),
            document: s(p.policy_document()),
        })
        .collect()
}

fn attached(list: &[aws_sdk_iam::types::AttachedPolicy]) -> Vec<String> {
    list.iter().filter_map(|p| s(p.policy_arn())).collect()
}

/// The name in a policy ARN (`arn:aws:iam::1:policy/path/name` -> `name`).
fn name_of_arn(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_owned()
}

/// The path in a policy ARN (`arn:aws:iam::1:policy/a/b/name` -> `/a/b/`).
fn path_of_arn(arn: &str) -> String {
    let rest = arn.split_once(":policy").map(|(_, r)| r).unwrap_or("/");
    match rest.rfind('/') {
        Some(i) => rest[..=i].to_owned(),
        None => "/".to_owned(),
    }
}

fn role_of(r: &aws_sdk_iam::types::Role) -> Role {
    Role {
        name: r.role_name().to_owned(),
        arn: r.arn().to_owned(),
        path: r.path().to_owned(),
        assume_role_policy: s(r.assume_role_policy_document()),
        description: s(r.description()),
        max_session_duration: r.max_session_duration(),
        permissions_boundary: boundary(r.permissions_boundary()),
        tags: tags(r.tags()),
        ..Role::default()
    }
}

impl Iam {
    pub(super) fn new(client: aws_sdk_iam::Client) -> Self {
        Iam { client }
    }

    /// The account's entities of the given kinds, with their policies
    /// (GetAccountAuthorizationDetails, 1,000 items a page).
    pub async fn account_details(&self, kinds: &[Entity]) -> Result<AccountDetails, AwsError> {
        let filter: Vec<EntityType> = kinds
            .iter()
            .map(|k| match k {
                Entity::Role => EntityType::Role,
                Entity::User => EntityType::User,
                Entity::Group => EntityType::Group,
                Entity::LocalPolicy => EntityType::LocalManagedPolicy,
            })
            .collect();
        let mut out = AccountDetails::default();
        if filter.is_empty() {
            return Ok(out);
        }
        pages!(
            "GetAccountAuthorizationDetails",
            ACCOUNT,
            self.client
                .get_account_authorization_details()
                .set_filter(Some(filter.clone()))
                .max_items(1000),
            |page| {
                out.roles
                    .extend(page.role_detail_list().iter().map(|r| Role {
                        name: r.role_name().unwrap_or_default().to_owned(),
                        arn: r.arn().unwrap_or_default().to_owned(),
                        path: r.path().unwrap_or("/").to_owned(),
                        assume_role_policy: s(r.assume_role_policy_document()),
                        description: None,
                        max_session_duration: None,
                        permissions_boundary: boundary(r.permissions_boundary()),
                        attached: attached(r.attached_managed_policies()),
                        inline: inline(r.role_policy_list()),
                        tags: tags(r.tags()),
                    }));
                out.users
                    .extend(page.user_detail_list().iter().map(|u| User {
                        name: u.user_name().unwrap_or_default().to_owned(),
                        path: u.path().unwrap_or("/").to_owned(),
                        permissions_boundary: boundary(u.permissions_boundary()),
                        attached: attached(u.attached_managed_policies()),
                        inline: inline(u.user_policy_list()),
                        groups: u.group_list().to_vec(),
                        tags: tags(u.tags()),
                    }));
                out.groups
                    .extend(page.group_detail_list().iter().map(|g| Group {
                        name: g.group_name().unwrap_or_default().to_owned(),
                        path: g.path().unwrap_or("/").to_owned(),
                        attached: attached(g.attached_managed_policies()),
                        inline: inline(g.group_policy_list()),
                    }));
                out.policies.extend(page.policies().iter().filter_map(|p| {
                    let arn = s(p.arn())?;
                    let default = p.default_version_id();
                    let document = p
                        .policy_version_list()
                        .iter()
                        .find(|v| {
                            v.is_default_version()
                                || (default.is_some() && v.version_id() == default)
                        })
                        .and_then(|v| s(v.document()));
                    Some(ManagedPolicy {
                        name: s(p.policy_name()).unwrap_or_else(|| name_of_arn(&arn)),
                        path: s(p.path()).unwrap_or_else(|| path_of_arn(&arn)),
                        description: s(p.description()),
                        document,
                        tags: None,
                        arn,
                    })
                }));
            }
        );
        Ok(out)
    }

    /// Every role's description and maximum session (ListRoles).
    pub async fn role_summaries(&self) -> Result<Vec<RoleSummary>, AwsError> {
        let mut out = Vec::new();
        pages!(
            "ListRoles",
            ACCOUNT,
            self.client.list_roles().max_items(1000),
            |page| {
                out.extend(page.roles().iter().map(|r| RoleSummary {
                    name: r.role_name().to_owned(),
                    description: s(r.description()),
                    max_session_duration: r.max_session_duration(),
                }));
            }
        );
        Ok(out)
    }

    /// A managed policy's tags (ListPolicyTags); `None` if it is gone.
    pub async fn policy_tags(
        &self,
        arn: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let r: Result<BTreeMap<String, String>, AwsError> = async {
            let mut out = BTreeMap::new();
            pages!(
                "ListPolicyTags",
                arn,
                self.client
                    .list_policy_tags()
                    .policy_arn(arn)
                    .max_items(1000),
                |page| {
                    out.extend(tags(page.tags()));
                }
            );
            Ok(out)
        }
        .await;
        absent_is_none(r)
    }

    /// One instance profile (GetInstanceProfile); `None` if it is absent.
    pub async fn instance_profile(&self, name: &str) -> Result<Option<InstanceProfile>, AwsError> {
        let r = self
            .client
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetInstanceProfile", name, e));
        Ok(absent_is_none(r)?.and_then(|o| {
            let p = o.instance_profile()?;
            Some(InstanceProfile {
                name: p.instance_profile_name().to_owned(),
                path: p.path().to_owned(),
                roles: p.roles().iter().map(|r| r.role_name().to_owned()).collect(),
                tags: tags(p.tags()),
            })
        }))
    }

    /// The ARNs of every OIDC provider (ListOpenIDConnectProviders, not paginated).
    pub async fn oidc_provider_arns(&self) -> Result<Vec<String>, AwsError> {
        let out = self
            .client
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListOpenIDConnectProviders", ACCOUNT, e))?;
        Ok(out
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| s(p.arn()))
            .collect())
    }

    /// One OIDC provider (GetOpenIDConnectProvider); `None` if it is absent.
    pub async fn oidc_provider(&self, arn: &str) -> Result<Option<OidcProvider>, AwsError> {
        let r = self
            .client
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetOpenIDConnectProvider", arn, e));
        Ok(absent_is_none(r)?.map(|o| OidcProvider {
            arn: arn.to_owned(),
            url: s(o.url()),
            client_ids: o.client_id_list().to_vec(),
            thumbprints: o.thumbprint_list().to_vec(),
            tags: tags(o.tags()),
        }))
    }

    /// A user's access keys (ListAccessKeys); none if the user is gone.
    pub async fn access_keys(&self, user: &str) -> Result<Vec<AccessKey>, AwsError> {
        let r: Result<Vec<AccessKey>, AwsError> = async {
            let mut out = Vec::new();
            pages!(
                "ListAccessKeys",
                user,
                self.client
                    .list_access_keys()
                    .user_name(user)
                    .max_items(1000),
                |page| {
                    out.extend(page.access_key_metadata().iter().map(|k| AccessKey {
                        id: k.access_key_id().unwrap_or_default().to_owned(),
                        user: k.user_name().unwrap_or(user).to_owned(),
                        status: k.status().map(|s| s.as_str().to_owned()),
                    }));
                }
            );
            Ok(out)
        }
        .await;
        Ok(absent_is_none(r)?.unwrap_or_default())
    }

    // ---- Per-resource reads (the naive baseline) ---------------------------

    /// One role (GetRole); `None` if it is absent. Attached and inline
    /// policies are not read.
    pub async fn role(&self, name: &str) -> Result<Option<Role>, AwsError> {
        let r = self
            .client
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetRole", name, e));
        Ok(absent_is_none(r)?.and_then(|o| o.role().map(role_of)))
    }

    attached_of!(
        attached_role_policies,
        list_attached_role_policies,
        role_name,
        "ListAttachedRolePolicies",
        "A role's attached managed policies (ListAttachedRolePolicies)."
    );
    attached_of!(
        attached_user_policies,
        list_attached_user_policies,
        user_name,
        "ListAttachedUserPolicies",
        "A user's attached managed policies (ListAttachedUserPolicies)."
    );
    attached_of!(
        attached_group_policies,
        list_attached_group_policies,
        group_name,
        "ListAttachedGroupPolicies",
        "A group's attached managed policies (ListAttachedGroupPolicies)."
    );
    inline_of!(
        role_policy,
        get_role_policy,
        role_name,
        "GetRolePolicy",
        "A role's inline policy document (GetRolePolicy)."
    );
    inline_of!(
        user_policy,
        get_user_policy,
        user_name,
        "GetUserPolicy",
        "A user's inline policy document (GetUserPolicy)."
    );
    inline_of!(
        group_policy,
        get_group_policy,
        group_name,
        "GetGroupPolicy",
        "A group's inline policy document (GetGroupPolicy)."
    );

    /// One user (GetUser); `None` if absent. Policies and groups not read.
    pub async fn user(&self, name: &str) -> Result<Option<User>, AwsError> {
        let r = self
            .client
            .get_user()
            .user_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetUser", name, e));
        Ok(absent_is_none(r)?.and_then(|o| {
            let u = o.user()?;
            Some(User {
                name: u.user_name().to_owned(),
                path: u.path().to_owned(),
                permissions_boundary: boundary(u.permissions_boundary()),
                tags: tags(u.tags()),
                ..User::default()
            })
        }))
    }

    /// One group and its users (GetGroup); `None` if absent.
    pub async fn group(&self, name: &str) -> Result<Option<GroupWithUsers>, AwsError> {
        let r: Result<GroupWithUsers, AwsError> = async {
            let mut out = GroupWithUsers::default();
            pages!(
                "GetGroup",
                name,
                self.client.get_group().group_name(name).max_items(1000),
                |page| {
                    if let Some(g) = page.group() {
                        out.group.name = g.group_name().to_owned();
                        out.group.path = g.path().to_owned();
                    }
                    out.users
                        .extend(page.users().iter().map(|u| u.user_name().to_owned()));
                }
            );
            Ok(out)
        }
        .await;
        absent_is_none(r)
    }

    /// The roles, users and groups a managed policy is attached to
    /// (ListEntitiesForPolicy); `None` if the policy is absent.
    pub async fn policy_entities(&self, arn: &str) -> Result<Option<PolicyEntities>, AwsError> {
        let r: Result<PolicyEntities, AwsError> = async {
            let mut out = PolicyEntities::default();
            pages!(
                "ListEntitiesForPolicy",
                arn,
                self.client
                    .list_entities_for_policy()
                    .policy_arn(arn)
                    .max_items(1000),
                |page| {
                    out.roles
                        .extend(page.policy_roles().iter().filter_map(|r| s(r.role_name())));
                    out.users
                        .extend(page.policy_users().iter().filter_map(|u| s(u.user_name())));
                    out.groups.extend(
                        page.policy_groups()
                            .iter()
                            .filter_map(|g| s(g.group_name())),
                    );
                }
            );
            Ok(out)
        }
        .await;
        absent_is_none(r)
    }

    /// One customer-managed policy with its default version's document and
    /// its tags (GetPolicy, GetPolicyVersion); `None` if it is absent.
    pub async fn policy(&self, arn: &str) -> Result<Option<ManagedPolicy>, AwsError> {
        let r = self
            .client
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetPolicy", arn, e));
        let Some(p) = absent_is_none(r)?.and_then(|o| o.policy().cloned()) else {
            return Ok(None);
        };
        let document = match p.default_version_id() {
            Some(v) => {
                let r = self
                    .client
                    .get_policy_version()
                    .policy_arn(arn)
                    .version_id(v)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("GetPolicyVersion", arn, e));
                absent_is_none(r)?.and_then(|o| o.policy_version().and_then(|v| s(v.document())))
            }
            None => None,
        };
        Ok(Some(ManagedPolicy {
            arn: arn.to_owned(),
            name: s(p.policy_name()).unwrap_or_else(|| name_of_arn(arn)),
            path: s(p.path()).unwrap_or_else(|| path_of_arn(arn)),
            description: s(p.description()),
            document,
            tags: Some(tags(p.tags())),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_arns_give_name_and_path() {
        let arn = "arn:aws:iam::123456789012:policy/app/team/reader";
        assert_eq!(name_of_arn(arn), "reader");
        assert_eq!(path_of_arn(arn), "/app/team/");
        let arn = "arn:aws:iam::aws:policy/ReadOnlyAccess";
        assert_eq!(name_of_arn(arn), "ReadOnlyAccess");
        assert_eq!(path_of_arn(arn), "/");
    }

    #[test]
    fn aws_tags_are_left_out() {
        let t = vec![
            Tag::builder().key("Team").value("a").build(),
            Tag::builder()
                .key("aws:cloudformation:stack-name")
                .value("x")
                .build(),
        ];
        let t: Vec<Tag> = t.into_iter().flatten().collect();
        assert_eq!(
            tags(&t),
            BTreeMap::from([("Team".to_owned(), "a".to_owned())])
        );
    }
}
