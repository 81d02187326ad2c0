//! IAM: roles, policies, attachments, inline policies, users, groups,
//! instance profiles, OIDC providers, access keys (global types).
//!
//! One paginated `GetAccountAuthorizationDetails` pass, filtered to the
//! entity kinds the wanted types need, serves roles, users, groups, their
//! attached and inline policies, group memberships, exclusive policy
//! attachments and customer-managed policies (default version document);
//! `ListRoles` adds roles' descriptions and maximum sessions. Per object,
//! for the state's objects only: policy tags (`ListPolicyTags`), instance
//! profiles (`GetInstanceProfile`: no list call carries their tags), OIDC
//! providers (`GetOpenIDConnectProvider` after one list) and access keys
//! (`ListAccessKeys` per user the state's keys belong to).
//!
//! Identifiers follow the provider's import IDs: `role/policy_arn` for
//! attachments, `role:name` for inline policies, names for roles, users,
//! groups and instance profiles, ARNs for policies and OIDC providers.
//! Where the provider's ID is not visible live, a composite of state
//! attributes: `aws_iam_policy_attachment` by its policy ARN,
//! `aws_iam_group_membership` by its group, `aws_iam_access_key` as
//! `user/key_id` (the key's user tells which user's keys to list).
//!
//! The naive baseline reads each resource on its own: GetRole (+
//! ListAttachedRolePolicies), GetPolicy + GetPolicyVersion,
//! ListAttached{Role,User,Group}Policies per attachment,
//! Get{Role,User,Group}Policy, GetUser, GetGroup, ListEntitiesForPolicy;
//! roles and policies come from the list when unmanaged objects are asked for.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::{
    attr_or_id, attr_str, each, joined_or_id, put_all, LiveObject, Part, ScanRequest, TypeScan,
    TypeSpec,
};
use crate::aws::iam::{
    AccessKey, AccountDetails, Entity, Group, Iam, InstanceProfile, ManagedPolicy, OidcProvider,
    Role, RoleSummary, User,
};
use crate::aws::{Aws, AwsError};

pub const ROLE: &str = "aws_iam_role";
pub const SERVICE_LINKED_ROLE: &str = "aws_iam_service_linked_role";
pub const POLICY: &str = "aws_iam_policy";
pub const ROLE_POLICY_ATTACHMENT: &str = "aws_iam_role_policy_attachment";
pub const ROLE_POLICY: &str = "aws_iam_role_policy";
pub const USER: &str = "aws_iam_user";
pub const USER_POLICY: &str = "aws_iam_user_policy";
pub const USER_POLICY_ATTACHMENT: &str = "aws_iam_user_policy_attachment";
pub const GROUP: &str = "aws_iam_group";
pub const GROUP_POLICY: &str = "aws_iam_group_policy";
pub const GROUP_POLICY_ATTACHMENT: &str = "aws_iam_group_policy_attachment";
pub const GROUP_MEMBERSHIP: &str = "aws_iam_group_membership";
pub const POLICY_ATTACHMENT: &str = "aws_iam_policy_attachment";
pub const INSTANCE_PROFILE: &str = "aws_iam_instance_profile";
pub const OIDC_PROVIDER: &str = "aws_iam_openid_connect_provider";
pub const ACCESS_KEY: &str = "aws_iam_access_key";

fn name_key(a: &Value) -> Option<String> {
    attr_or_id(a, "name")
}
fn arn_key(a: &Value) -> Option<String> {
    attr_or_id(a, "arn")
}
/// `entity/policy_arn`: the attachment types' import IDs. Their `id` is a
/// generated `entity-2024...` string that no live object carries.
fn slash_key(a: &Value, entity: &str) -> Option<String> {
    Some(format!(
        "{}/{}",
        attr_str(a, entity)?,
        attr_str(a, "policy_arn")?
    ))
}
fn role_attachment_key(a: &Value) -> Option<String> {
    slash_key(a, "role")
}
fn user_attachment_key(a: &Value) -> Option<String> {
    slash_key(a, "user")
}
fn group_attachment_key(a: &Value) -> Option<String> {
    slash_key(a, "group")
}
fn role_policy_key(a: &Value) -> Option<String> {
    joined_or_id(a, "role", "name")
}
fn user_policy_key(a: &Value) -> Option<String> {
    joined_or_id(a, "user", "name")
}
fn group_policy_key(a: &Value) -> Option<String> {
    joined_or_id(a, "group", "name")
}
/// The exclusive `aws_iam_policy_attachment`: its policy (its own `name`
/// is known only to Terraform).
fn policy_attachment_key(a: &Value) -> Option<String> {
    attr_str(a, "policy_arn").map(str::to_owned)
}
/// `aws_iam_group_membership`: its group (its `name` is Terraform's only).
fn group_membership_key(a: &Value) -> Option<String> {
    attr_str(a, "group").map(str::to_owned)
}
/// `aws_iam_access_key`: `user/key_id`.
fn access_key_key(a: &Value) -> Option<String> {
    Some(format!("{}/{}", attr_str(a, "user")?, attr_str(a, "id")?))
}

/// The provider stores an OIDC provider's URL without its scheme, as IAM
/// returns it; a configuration's `https://` is suppressed by the provider.
fn strip_scheme(url: &str) -> String {
    url.strip_prefix("https://").unwrap_or(url).to_owned()
}

fn prepare_oidc(attrs: &mut Value) {
    if let Some(url) = attrs.get("url").and_then(Value::as_str) {
        let url = strip_scheme(url);
        if let Some(m) = attrs.as_object_mut() {
            m.insert("url".into(), json!(url));
        }
    }
}

pub const TYPES: &[TypeSpec] = &[
    TypeSpec::new(ROLE, name_key)
        .compares("assume_role_policy (document), path, description, max session, boundary, tags, managed_policy_arns (declared ones)")
        .global()
        .unmanaged()
        .documents(&["assume_role_policy"])
        .subset(&["managed_policy_arns"]),
    TypeSpec::new(SERVICE_LINKED_ROLE, arn_key)
        .compares("aws_service_name, path, description, tags")
        .global(),
    TypeSpec::new(POLICY, arn_key)
        .compares("policy (default version, as a document), name, path, description, tags")
        .global()
        .unmanaged()
        .documents(&["policy"]),
    TypeSpec::new(ROLE_POLICY_ATTACHMENT, role_attachment_key).global(),
    TypeSpec::new(ROLE_POLICY, role_policy_key)
        .compares("policy (as a document)")
        .global()
        .documents(&["policy"]),
    TypeSpec::new(USER, name_key).compares("path, permissions_boundary, tags").global(),
    TypeSpec::new(USER_POLICY, user_policy_key)
        .compares("policy (as a document)")
        .global()
        .documents(&["policy"]),
    TypeSpec::new(USER_POLICY_ATTACHMENT, user_attachment_key).global(),
    TypeSpec::new(GROUP, name_key).compares("path").global(),
    TypeSpec::new(GROUP_POLICY, group_policy_key)
        .compares("policy (as a document)")
        .global()
        .documents(&["policy"]),
    TypeSpec::new(GROUP_POLICY_ATTACHMENT, group_attachment_key).global(),
    TypeSpec::new(GROUP_MEMBERSHIP, group_membership_key)
        .compares("users (the group's whole membership)")
        .global(),
    TypeSpec::new(POLICY_ATTACHMENT, policy_attachment_key)
        .compares("roles, users, groups (every entity the policy is attached to)")
        .global(),
    TypeSpec::new(INSTANCE_PROFILE, name_key).compares("role, path, tags").global(),
    TypeSpec::new(OIDC_PROVIDER, arn_key)
        .compares("url, client_id_list, thumbprint_list, tags")
        .global()
        .prepare(prepare_oidc),
    TypeSpec::new(ACCESS_KEY, access_key_key).compares("status").global(),
];

super::family!("IAM");

// ---- Attribute mapping -------------------------------------------------------

fn opt<T: serde::Serialize>(v: &Option<T>) -> Value {
    json!(v)
}

/// AWS's own roles: service-linked (`/aws-service-role/`) and those AWS
/// creates for its services (`/aws-reserved/`, e.g. IAM Identity Center).
fn is_aws_role(path: &str) -> bool {
    path.starts_with("/aws-service-role/") || path.starts_with("/aws-reserved/")
}

/// `aws_iam_role`. Inline policies are not compared: the provider stores
/// a placeholder for a role without any, and `aws_iam_role_policy`
/// resources add their own. Attached policies: only the state's missing
/// live are drift (attachment resources add others).
pub fn role_attrs(r: &Role) -> Vec<(String, Value)> {
    vec![
        ("assume_role_policy".into(), opt(&r.assume_role_policy)),
        ("path".into(), json!(r.path)),
        ("description".into(), opt(&r.description)),
        ("max_session_duration".into(), opt(&r.max_session_duration)),
        ("permissions_boundary".into(), opt(&r.permissions_boundary)),
        ("managed_policy_arns".into(), json!(r.attached)),
        ("tags".into(), json!(r.tags)),
    ]
}

/// `aws_iam_service_linked_role`: the service (from the role's path
/// `/aws-service-role/SERVICE/`), description, tags.
pub fn service_linked_role_attrs(r: &Role) -> Vec<(String, Value)> {
    let service = r
        .path
        .strip_prefix("/aws-service-role/")
        .map(|s| s.trim_end_matches('/').to_owned());
    vec![
        ("aws_service_name".into(), opt(&service)),
        ("path".into(), json!(r.path)),
        ("description".into(), opt(&r.description)),
        ("tags".into(), json!(r.tags)),
    ]
}

/// `aws_iam_policy`: default version's document, path, description, name,
/// tags (when read).
pub fn policy_attrs(p: &ManagedPolicy) -> Vec<(String, Value)> {
    let mut attrs = vec![
        ("policy".into(), opt(&p.document)),
        ("path".into(), json!(p.path)),
        ("description".into(), opt(&p.description)),
        ("name".into(), json!(p.name)),
    ];
    if let Some(t) = &p.tags {
        attrs.push(("tags".into(), json!(t)));
    }
    attrs
}

/// `aws_iam_user`: path, permissions boundary, tags.
pub fn user_attrs(u: &User) -> Vec<(String, Value)> {
    vec![
        ("path".into(), json!(u.path)),
        ("permissions_boundary".into(), opt(&u.permissions_boundary)),
        ("tags".into(), json!(u.tags)),
    ]
}

/// `aws_iam_group`: path.
pub fn group_attrs(g: &Group) -> Vec<(String, Value)> {
    vec![("path".into(), json!(g.path))]
}

/// `aws_iam_instance_profile`: its role's name, path, tags.
pub fn instance_profile_attrs(p: &InstanceProfile) -> Vec<(String, Value)> {
    vec![
        ("role".into(), json!(p.roles.first())),
        ("path".into(), json!(p.path)),
        ("tags".into(), json!(p.tags)),
    ]
}

/// `aws_iam_openid_connect_provider`: URL (without scheme), client IDs and
/// thumbprints (sets), tags.
pub fn oidc_attrs(p: &OidcProvider) -> Vec<(String, Value)> {
    vec![
        ("url".into(), json!(p.url.as_deref().map(strip_scheme))),
        ("client_id_list".into(), json!(p.client_ids)),
        ("thumbprint_list".into(), json!(p.thumbprints)),
        ("tags".into(), json!(p.tags)),
    ]
}

/// `aws_iam_access_key`: status.
pub fn access_key_attrs(k: &AccessKey) -> Vec<(String, Value)> {
    vec![("status".into(), opt(&k.status))]
}

/// `aws_iam_policy_attachment`: every entity the policy is attached to.
pub fn policy_attachment_attrs(e: &Entities) -> Vec<(String, Value)> {
    vec![
        ("roles".into(), json!(e.roles)),
        ("users".into(), json!(e.users)),
        ("groups".into(), json!(e.groups)),
    ]
}

/// The entities one managed policy is attached to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entities {
    pub roles: BTreeSet<String>,
    pub users: BTreeSet<String>,
    pub groups: BTreeSet<String>,
}

/// Per policy ARN, the roles, users and groups it is attached to.
fn attachments_by_policy(d: &AccountDetails) -> BTreeMap<&str, Entities> {
    let mut out: BTreeMap<&str, Entities> = BTreeMap::new();
    for r in &d.roles {
        for p in &r.attached {
            out.entry(p).or_default().roles.insert(r.name.clone());
        }
    }
    for u in &d.users {
        for p in &u.attached {
            out.entry(p).or_default().users.insert(u.name.clone());
        }
    }
    for g in &d.groups {
        for p in &g.attached {
            out.entry(p).or_default().groups.insert(g.name.clone());
        }
    }
    out
}

/// Inline policies as `entity:name` objects compared on `policy`.
fn inline_objects<'a>(
    entity: &'a str,
    list: &'a [crate::aws::iam::InlinePolicy],
) -> impl Iterator<Item = LiveObject> + 'a {
    list.iter().map(move |p| LiveObject {
        attrs: vec![("policy".into(), opt(&p.document))],
        ..LiveObject::named(format!("{entity}:{}", p.name), &p.name)
    })
}

/// `entity/policy_arn` objects (existence only).
fn attachment_objects<'a>(
    entity: &'a str,
    arns: &'a [String],
) -> impl Iterator<Item = LiveObject> + 'a {
    arns.iter()
        .map(move |a| LiveObject::named(format!("{entity}/{a}"), ""))
}

// ---- Enumeration -------------------------------------------------------------

use super::managed_only;

/// The state's objects with their attributes and, with `--unmanaged`, the
/// others in scope with name and tags only.
fn with_unmanaged(
    req: &ScanRequest,
    type_: &'static str,
    objs: Vec<(LiveObject, bool)>,
) -> (&'static str, TypeScan) {
    let managed = req.managed(type_);
    let kept = objs
        .into_iter()
        .filter_map(|(o, may_be_unmanaged)| {
            if managed.contains(&o.id) {
                Some(o)
            } else if req.unmanaged && may_be_unmanaged && req.scope.contains(&o) {
                Some(LiveObject {
                    attrs: Vec::new(),
                    ..o
                })
            } else {
                None
            }
        })
        .collect();
    (type_, TypeScan::Listed(kept))
}

const BY_ROLE: &[&str] = &[
    ROLE,
    SERVICE_LINKED_ROLE,
    ROLE_POLICY_ATTACHMENT,
    ROLE_POLICY,
    POLICY_ATTACHMENT,
];
const BY_USER: &[&str] = &[
    USER,
    USER_POLICY,
    USER_POLICY_ATTACHMENT,
    POLICY_ATTACHMENT,
    GROUP_MEMBERSHIP,
];
const BY_GROUP: &[&str] = &[
    GROUP,
    GROUP_POLICY,
    GROUP_POLICY_ATTACHMENT,
    POLICY_ATTACHMENT,
    GROUP_MEMBERSHIP,
];
const BY_POLICY: &[&str] = &[POLICY];

/// Enumerates the wanted IAM types.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    let iam = aws.iam();
    let mut out = Part::new();
    let mut done: BTreeSet<&'static str> = BTreeSet::new();
    if req.naive {
        naive(&iam, req, &mut out, &mut done).await;
    }
    let wants = |t: &&'static str| req.wants(t) && !done.contains(t);
    let all: Vec<&'static str> = TYPES.iter().map(|t| t.name).filter(wants).collect();
    let detail_types: Vec<&'static str> = all
        .iter()
        .copied()
        .filter(|t| {
            [BY_ROLE, BY_USER, BY_GROUP, BY_POLICY]
                .iter()
                .any(|g| g.contains(t))
        })
        .collect();
    let iam = &iam;
    let mut tasks: Vec<BoxFuture<'_, Part>> = vec![details(iam, req, &detail_types).boxed()];
    macro_rules! one {
        ($t:expr, $f:expr) => {
            if all.contains(&$t) {
                tasks.push(
                    async move {
                        match $f.await {
                            Ok(p) => vec![p],
                            Err(e) => vec![($t, TypeScan::Failed(e))],
                        }
                    }
                    .boxed(),
                );
            }
        };
    }
    one!(INSTANCE_PROFILE, instance_profiles(iam, req));
    one!(OIDC_PROVIDER, oidc_providers(iam, req));
    one!(ACCESS_KEY, access_keys(iam, req));
    out.extend(super::run_tasks(req, tasks).await.into_iter().flatten());
    out
}

/// Every type served by the authorization details (and ListRoles, policy
/// tags): a failed call fails only the types it serves.
async fn details(iam: &Iam, req: &ScanRequest, types: &[&'static str]) -> Part {
    let mut out = Part::new();
    if types.is_empty() {
        return out;
    }
    let needs = |group: &[&str]| types.iter().any(|t| group.contains(t));
    let mut kinds = Vec::new();
    if needs(BY_ROLE) {
        kinds.push(Entity::Role);
    }
    if needs(BY_USER) {
        kinds.push(Entity::User);
    }
    if needs(BY_GROUP) {
        kinds.push(Entity::Group);
    }
    if needs(BY_POLICY) {
        kinds.push(Entity::LocalPolicy);
    }
    // Descriptions and sessions of the state's roles only: unmanaged roles
    // are reported by name and tags.
    let wants_summaries = (types.contains(&ROLE) && !req.managed(ROLE).is_empty())
        || types.contains(&SERVICE_LINKED_ROLE);
    let (d, summaries) = futures::future::join(iam.account_details(&kinds), async {
        if wants_summaries {
            iam.role_summaries().await.map(Some)
        } else {
            Ok(None)
        }
    })
    .await;
    let mut d = match d {
        Ok(d) => d,
        Err(e) => {
            put_all(&mut out, types, req, &Err(e));
            return out;
        }
    };
    // Roles: merged with ListRoles, or failed with it.
    let role_types: Vec<&'static str> = [ROLE, SERVICE_LINKED_ROLE]
        .into_iter()
        .filter(|t| types.contains(t))
        .collect();
    match summaries {
        Ok(s) => {
            merge_summaries(&mut d.roles, s.unwrap_or_default());
            out.extend(role_parts(req, &d.roles, &role_types));
        }
        Err(e) => put_all(&mut out, &role_types, req, &Err(e)),
    }
    if types.contains(&POLICY) {
        match policy_part(iam, req, &mut d.policies).await {
            Ok(p) => out.push(p),
            Err(e) => put_all(&mut out, &[POLICY], req, &Err(e)),
        }
    }
    out.extend(
        entity_parts(req, &d)
            .into_iter()
            .filter(|(t, _)| types.contains(t)),
    );
    out
}

fn merge_summaries(roles: &mut [Role], summaries: Vec<RoleSummary>) {
    let by_name: BTreeMap<String, RoleSummary> =
        summaries.into_iter().map(|s| (s.name.clone(), s)).collect();
    for r in roles {
        if let Some(s) = by_name.get(&r.name) {
            r.description = s.description.clone();
            r.max_session_duration = s.max_session_duration;
        }
    }
}

fn role_parts(req: &ScanRequest, roles: &[Role], types: &[&'static str]) -> Part {
    let mut out = Part::new();
    if types.contains(&ROLE) {
        let objs = roles
            .iter()
            .map(|r| {
                let o = LiveObject {
                    attrs: role_attrs(r),
                    tags: Some(r.tags.clone()),
                    ..LiveObject::named(&r.name, &r.name)
                };
                (o, !is_aws_role(&r.path))
            })
            .collect();
        out.push(with_unmanaged(req, ROLE, objs));
    }
    if types.contains(&SERVICE_LINKED_ROLE) {
        let objs = roles
            .iter()
            .filter(|r| r.path.starts_with("/aws-service-role/"))
            .map(|r| LiveObject {
                attrs: service_linked_role_attrs(r),
                ..LiveObject::named(&r.arn, &r.name)
            })
            .collect();
        out.push(managed_only(req, SERVICE_LINKED_ROLE, objs));
    }
    out
}

/// Customer-managed policies; tags read for the state's policies (and, when
/// the unmanaged scope filters on tags, for unmanaged ones whose name is in scope).
async fn policy_part(
    iam: &Iam,
    req: &ScanRequest,
    policies: &mut [ManagedPolicy],
) -> Result<(&'static str, TypeScan), AwsError> {
    let managed = req.managed(POLICY);
    let tag_unmanaged = req.unmanaged && !req.scope.tags.is_empty();
    let need: Vec<String> = policies
        .iter()
        .filter(|p| managed.contains(&p.arn) || (tag_unmanaged && req.scope.name_matches(&p.name)))
        .map(|p| p.arn.clone())
        .collect();
    let tags = each(req, need, |arn| async move {
        let t = iam.policy_tags(&arn).await?;
        Ok((arn, t))
    })
    .await?;
    let mut gone: BTreeSet<String> = BTreeSet::new();
    let tags: BTreeMap<String, _> = tags
        .into_iter()
        .filter_map(|(arn, t)| match t {
            Some(t) => Some((arn, t)),
            None => {
                gone.insert(arn);
                None
            }
        })
        .collect();
    for p in policies.iter_mut() {
        if let Some(t) = tags.get(&p.arn) {
            p.tags = Some(t.clone());
        }
    }
    let objs = policies
        .iter()
        // Deleted between the two calls: absent.
        .filter(|p| !gone.contains(&p.arn))
        .map(|p| {
            let o = LiveObject {
                attrs: policy_attrs(p),
                tags: p.tags.clone(),
                ..LiveObject::named(&p.arn, &p.name)
            };
            (o, true)
        })
        .collect();
    Ok(with_unmanaged(req, POLICY, objs))
}

/// Every type that comes from users, groups and roles' policies.
fn entity_parts(req: &ScanRequest, d: &AccountDetails) -> Part {
    let mut role_attachments = Vec::new();
    let mut role_policies = Vec::new();
    for r in &d.roles {
        role_attachments.extend(attachment_objects(&r.name, &r.attached));
        role_policies.extend(inline_objects(&r.name, &r.inline));
    }
    let mut users = Vec::new();
    let mut user_attachments = Vec::new();
    let mut user_policies = Vec::new();
    let mut members: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for u in &d.users {
        users.push(LiveObject {
            attrs: user_attrs(u),
            tags: Some(u.tags.clone()),
            ..LiveObject::named(&u.name, &u.name)
        });
        user_attachments.extend(attachment_objects(&u.name, &u.attached));
        user_policies.extend(inline_objects(&u.name, &u.inline));
        for g in &u.groups {
            members.entry(g).or_default().push(&u.name);
        }
    }
    let mut groups = Vec::new();
    let mut group_attachments = Vec::new();
    let mut group_policies = Vec::new();
    let mut memberships = Vec::new();
    for g in &d.groups {
        groups.push(LiveObject {
            attrs: group_attrs(g),
            ..LiveObject::named(&g.name, &g.name)
        });
        group_attachments.extend(attachment_objects(&g.name, &g.attached));
        group_policies.extend(inline_objects(&g.name, &g.inline));
        let users = members.get(g.name.as_str()).cloned().unwrap_or_default();
        memberships.push(LiveObject {
            attrs: vec![("users".into(), json!(users))],
            ..LiveObject::named(&g.name, &g.name)
        });
    }
    let exclusive: Vec<LiveObject> = attachments_by_policy(d)
        .into_iter()
        .map(|(arn, e)| LiveObject {
            attrs: policy_attachment_attrs(&e),
            ..LiveObject::named(arn, "")
        })
        .collect();
    vec![
        managed_only(req, ROLE_POLICY_ATTACHMENT, role_attachments),
        managed_only(req, ROLE_POLICY, role_policies),
        managed_only(req, USER, users),
        managed_only(req, USER_POLICY_ATTACHMENT, user_attachments),
        managed_only(req, USER_POLICY, user_policies),
        managed_only(req, GROUP, groups),
        managed_only(req, GROUP_POLICY_ATTACHMENT, group_attachments),
        managed_only(req, GROUP_POLICY, group_policies),
        managed_only(req, GROUP_MEMBERSHIP, memberships),
        managed_only(req, POLICY_ATTACHMENT, exclusive),
    ]
}

/// The state's instance profiles, one GetInstanceProfile each: the list
/// call does not return tags.
async fn instance_profiles(
    iam: &Iam,
    req: &ScanRequest,
) -> Result<(&'static str, TypeScan), AwsError> {
    let names: Vec<String> = req.managed(INSTANCE_PROFILE).into_iter().collect();
    let found = each(
        req,
        names,
        |n| async move { iam.instance_profile(&n).await },
    )
    .await?;
    let objs = found
        .into_iter()
        .flatten()
        .map(|p| LiveObject {
            attrs: instance_profile_attrs(&p),
            ..LiveObject::named(&p.name, &p.name)
        })
        .collect();
    Ok((INSTANCE_PROFILE, TypeScan::Listed(objs)))
}

/// The state's OIDC providers that are listed, one Get each.
async fn oidc_providers(
    iam: &Iam,
    req: &ScanRequest,
) -> Result<(&'static str, TypeScan), AwsError> {
    let managed = req.managed(OIDC_PROVIDER);
    let arns: Vec<String> = if req.naive {
        managed.into_iter().collect()
    } else {
        iam.oidc_provider_arns()
            .await?
            .into_iter()
            .filter(|a| managed.contains(a))
            .collect()
    };
    let found = each(req, arns, |a| async move { iam.oidc_provider(&a).await }).await?;
    let objs = found
        .into_iter()
        .flatten()
        .map(|p| LiveObject {
            attrs: oidc_attrs(&p),
            ..LiveObject::named(&p.arn, "")
        })
        .collect();
    Ok((OIDC_PROVIDER, TypeScan::Listed(objs)))
}

/// The keys of the users the state's keys belong to, one ListAccessKeys each.
async fn access_keys(iam: &Iam, req: &ScanRequest) -> Result<(&'static str, TypeScan), AwsError> {
    let users: BTreeSet<String> = req
        .managed(ACCESS_KEY)
        .iter()
        .filter_map(|k| k.split_once('/').map(|(u, _)| u.to_owned()))
        .collect();
    let found = each(req, users.into_iter().collect(), |u| async move {
        iam.access_keys(&u).await
    })
    .await?;
    let objs = found
        .into_iter()
        .flatten()
        .map(|k| LiveObject {
            attrs: access_key_attrs(&k),
            ..LiveObject::named(format!("{}/{}", k.user, k.id), "")
        })
        .collect();
    Ok((ACCESS_KEY, TypeScan::Listed(objs)))
}

// ---- The naive baseline ------------------------------------------------------

/// Naive: one read per identifier the state has of `type_` (when wanted).
async fn one_by_one<F, Fut>(
    req: &ScanRequest,
    type_: &'static str,
    out: &mut Part,
    done: &mut BTreeSet<&'static str>,
    f: F,
) where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<LiveObject>, AwsError>>,
{
    if !req.wants(type_) {
        return;
    }
    done.insert(type_);
    let ids: Vec<String> = req.managed(type_).into_iter().collect();
    out.push(match each(req, ids, f).await {
        Ok(objs) => (
            type_,
            TypeScan::Listed(objs.into_iter().flatten().collect()),
        ),
        Err(e) => (type_, TypeScan::Failed(e)),
    });
}

/// An attachment object `k` (`entity/policy_arn`) when `attached` holds its policy.
fn attachment_if(k: String, attached: Option<Vec<String>>) -> Option<LiveObject> {
    let (_, arn) = k.split_once('/')?;
    attached?
        .iter()
        .any(|a| a == arn)
        .then(|| LiveObject::named(k.clone(), ""))
}

/// An inline policy object `k` (`entity:name`) with its document.
fn inline_if(k: String, document: Option<String>) -> Option<LiveObject> {
    let name = k.split_once(':').map(|(_, n)| n.to_owned())?;
    let d = document?;
    Some(LiveObject {
        attrs: vec![("policy".into(), json!(d))],
        ..LiveObject::named(k, name)
    })
}

fn entity_of(k: &str, sep: char) -> (String, String) {
    match k.split_once(sep) {
        Some((a, b)) => (a.to_owned(), b.to_owned()),
        None => (k.to_owned(), String::new()),
    }
}

/// The naive baseline: every type read one resource at a time (roles and
/// policies by the list when unmanaged objects are asked for too).
async fn naive(iam: &Iam, req: &ScanRequest, out: &mut Part, done: &mut BTreeSet<&'static str>) {
    if !req.unmanaged {
        one_by_one(req, ROLE, out, done, |n| async move {
            let Some(mut role) = iam.role(&n).await? else {
                return Ok(None);
            };
            role.attached = iam.attached_role_policies(&n).await?.unwrap_or_default();
            Ok(Some(LiveObject {
                attrs: role_attrs(&role),
                ..LiveObject::named(&role.name, &role.name)
            }))
        })
        .await;
        one_by_one(req, POLICY, out, done, |a| async move {
            Ok(iam.policy(&a).await?.map(|p| LiveObject {
                attrs: policy_attrs(&p),
                ..LiveObject::named(&p.arn, &p.name)
            }))
        })
        .await;
    }
    one_by_one(req, SERVICE_LINKED_ROLE, out, done, |arn| async move {
        let name = arn.rsplit('/').next().unwrap_or_default().to_owned();
        Ok(iam.role(&name).await?.map(|r| LiveObject {
            attrs: service_linked_role_attrs(&r),
            ..LiveObject::named(&r.arn, &r.name)
        }))
    })
    .await;
    one_by_one(req, ROLE_POLICY_ATTACHMENT, out, done, |k| async move {
        let (e, _) = entity_of(&k, '/');
        Ok(attachment_if(k, iam.attached_role_policies(&e).await?))
    })
    .await;
    one_by_one(req, USER_POLICY_ATTACHMENT, out, done, |k| async move {
        let (e, _) = entity_of(&k, '/');
        Ok(attachment_if(k, iam.attached_user_policies(&e).await?))
    })
    .await;
    one_by_one(req, GROUP_POLICY_ATTACHMENT, out, done, |k| async move {
        let (e, _) = entity_of(&k, '/');
        Ok(attachment_if(k, iam.attached_group_policies(&e).await?))
    })
    .await;
    one_by_one(req, ROLE_POLICY, out, done, |k| async move {
        let (e, n) = entity_of(&k, ':');
        Ok(inline_if(k, iam.role_policy(&e, &n).await?))
    })
    .await;
    one_by_one(req, USER_POLICY, out, done, |k| async move {
        let (e, n) = entity_of(&k, ':');
        Ok(inline_if(k, iam.user_policy(&e, &n).await?))
    })
    .await;
    one_by_one(req, GROUP_POLICY, out, done, |k| async move {
        let (e, n) = entity_of(&k, ':');
        Ok(inline_if(k, iam.group_policy(&e, &n).await?))
    })
    .await;
    one_by_one(req, USER, out, done, |n| async move {
        Ok(iam.user(&n).await?.map(|u| LiveObject {
            attrs: user_attrs(&u),
            ..LiveObject::named(&u.name, &u.name)
        }))
    })
    .await;
    one_by_one(req, GROUP, out, done, |n| async move {
        Ok(iam.group(&n).await?.map(|g| LiveObject {
            attrs: group_attrs(&g.group),
            ..LiveObject::named(&g.group.name, &g.group.name)
        }))
    })
    .await;
    one_by_one(req, GROUP_MEMBERSHIP, out, done, |n| async move {
        Ok(iam.group(&n).await?.map(|g| LiveObject {
            attrs: vec![("users".into(), json!(g.users))],
            ..LiveObject::named(&g.group.name, &g.group.name)
        }))
    })
    .await;
    one_by_one(req, POLICY_ATTACHMENT, out, done, |a| async move {
        Ok(iam.policy_entities(&a).await?.and_then(|e| {
            let e = Entities {
                roles: e.roles.into_iter().collect(),
                users: e.users.into_iter().collect(),
                groups: e.groups.into_iter().collect(),
            };
            let attached = !(e.roles.is_empty() && e.users.is_empty() && e.groups.is_empty());
            attached.then(|| LiveObject {
                attrs: policy_attachment_attrs(&e),
                ..LiveObject::named(a, "")
            })
        }))
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::iam::InlinePolicy;

    fn key_of(type_: &str, attrs: Value) -> Option<String> {
        let spec = TYPES.iter().find(|t| t.name == type_).map(|t| t.key);
        spec.and_then(|k| k(&attrs))
    }

    #[test]
    fn keys_follow_the_providers_import_ids() {
        let arn = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy";
        let cases = [
            (ROLE, json!({"id": "r", "name": "r"}), Some("r".to_owned())),
            (ROLE, json!({"id": "r"}), Some("r".to_owned())),
            (
                POLICY,
                json!({"id": "arn:p", "arn": "arn:p", "name": "p"}),
                Some("arn:p".to_owned()),
            ),
            (
                ROLE_POLICY_ATTACHMENT,
                json!({"id": "node-2024", "role": "node", "policy_arn": arn}),
                Some(format!("node/{arn}")),
            ),
            (
                ROLE_POLICY_ATTACHMENT,
                json!({"id": "node-2024", "role": "node"}),
                None,
            ),
            (
                USER_POLICY_ATTACHMENT,
                json!({"user": "ci", "policy_arn": arn}),
                Some(format!("ci/{arn}")),
            ),
            (
                GROUP_POLICY_ATTACHMENT,
                json!({"group": "ops", "policy_arn": arn}),
                Some(format!("ops/{arn}")),
            ),
            (
                ROLE_POLICY,
                json!({"id": "lambda:logs", "role": "lambda", "name": "logs"}),
                Some("lambda:logs".to_owned()),
            ),
            (
                USER_POLICY,
                json!({"id": "ci:ecr", "user": "ci", "name": ""}),
                Some("ci:ecr".to_owned()),
            ),
            (
                GROUP_POLICY,
                json!({"group": "ops", "name": "x"}),
                Some("ops:x".to_owned()),
            ),
            (
                POLICY_ATTACHMENT,
                json!({"id": "att", "name": "att", "policy_arn": arn}),
                Some(arn.to_owned()),
            ),
            (
                GROUP_MEMBERSHIP,
                json!({"id": "m", "name": "m", "group": "ops", "users": ["a"]}),
                Some("ops".to_owned()),
            ),
            (
                ACCESS_KEY,
                json!({"id": "AKIA1", "user": "ci", "status": "Active"}),
                Some("ci/AKIA1".to_owned()),
            ),
            (ACCESS_KEY, json!({"id": "AKIA1"}), None),
            (
                INSTANCE_PROFILE,
                json!({"id": "node", "name": "node"}),
                Some("node".to_owned()),
            ),
            (
                OIDC_PROVIDER,
                json!({"id": "arn:o", "arn": "arn:o"}),
                Some("arn:o".to_owned()),
            ),
            (
                SERVICE_LINKED_ROLE,
                json!({"id": "arn:r", "arn": "arn:r", "aws_service_name": "eks.amazonaws.com"}),
                Some("arn:r".to_owned()),
            ),
            (USER, json!({"name": "ci"}), Some("ci".to_owned())),
            (GROUP, json!({"name": "ops"}), Some("ops".to_owned())),
        ];
        for (t, attrs, want) in cases {
            assert_eq!(key_of(t, attrs.clone()), want, "{t} {attrs}");
        }
    }

    #[test]
    fn every_type_is_global() {
        assert!(TYPES.iter().all(|t| t.global));
        let unmanaged: Vec<&str> = TYPES
            .iter()
            .filter(|t| t.unmanaged)
            .map(|t| t.name)
            .collect();
        assert_eq!(unmanaged, vec![ROLE, POLICY]);
    }

    #[test]
    fn roles_map_to_their_state_attributes() {
        let r = Role {
            name: "node".into(),
            arn: "arn:aws:iam::1:role/node".into(),
            path: "/".into(),
            assume_role_policy: Some("%7B%7D".into()),
            description: Some("nodes".into()),
            max_session_duration: Some(3600),
            permissions_boundary: None,
            attached: vec!["arn:p".into()],
            inline: vec![InlinePolicy {
                name: "x".into(),
                document: None,
            }],
            tags: BTreeMap::from([("Team".into(), "a".into())]),
        };
        let attrs: BTreeMap<String, Value> = role_attrs(&r).into_iter().collect();
        assert_eq!(attrs["assume_role_policy"], json!("%7B%7D"));
        assert_eq!(attrs["path"], json!("/"));
        assert_eq!(attrs["description"], json!("nodes"));
        assert_eq!(attrs["max_session_duration"], json!(3600));
        assert_eq!(attrs["permissions_boundary"], Value::Null);
        assert_eq!(attrs["managed_policy_arns"], json!(["arn:p"]));
        assert_eq!(attrs["tags"], json!({"Team": "a"}));
        // Never the inline policies (the provider's placeholder).
        assert!(!attrs.contains_key("inline_policy"));
        assert!(!attrs.contains_key("name"));

        let slr = Role {
            path: "/aws-service-role/eks.amazonaws.com/".into(),
            ..r
        };
        let attrs: BTreeMap<String, Value> = service_linked_role_attrs(&slr).into_iter().collect();
        assert_eq!(attrs["aws_service_name"], json!("eks.amazonaws.com"));
        assert!(is_aws_role(&slr.path));
        assert!(is_aws_role("/aws-reserved/sso.amazonaws.com/"));
        assert!(!is_aws_role("/service/"));
    }

    #[test]
    fn the_role_list_adds_description_and_session() {
        let mut roles = vec![Role {
            name: "a".into(),
            ..Role::default()
        }];
        merge_summaries(
            &mut roles,
            vec![RoleSummary {
                name: "a".into(),
                description: Some("d".into()),
                max_session_duration: Some(7200),
            }],
        );
        assert_eq!(roles[0].description.as_deref(), Some("d"));
        assert_eq!(roles[0].max_session_duration, Some(7200));
    }

    #[test]
    fn policies_users_groups_profiles_map() {
        let p = ManagedPolicy {
            arn: "arn:p".into(),
            name: "p".into(),
            path: "/app/".into(),
            description: None,
            document: Some("{}".into()),
            tags: None,
        };
        let attrs: BTreeMap<String, Value> = policy_attrs(&p).into_iter().collect();
        assert_eq!(attrs["policy"], json!("{}"));
        assert_eq!(attrs["path"], json!("/app/"));
        assert_eq!(attrs["name"], json!("p"));
        assert_eq!(attrs["description"], Value::Null);
        // Tags not read: not compared.
        assert!(!attrs.contains_key("tags"));
        let p = ManagedPolicy {
            tags: Some(BTreeMap::new()),
            ..p
        };
        assert_eq!(policy_attrs(&p).last(), Some(&("tags".into(), json!({}))));

        let u = User {
            name: "ci".into(),
            path: "/ci/".into(),
            permissions_boundary: Some("arn:b".into()),
            ..User::default()
        };
        assert_eq!(
            user_attrs(&u),
            vec![
                ("path".into(), json!("/ci/")),
                ("permissions_boundary".into(), json!("arn:b")),
                ("tags".into(), json!({})),
            ]
        );
        let g = Group {
            name: "ops".into(),
            path: "/".into(),
            ..Group::default()
        };
        assert_eq!(group_attrs(&g), vec![("path".into(), json!("/"))]);
        let ip = InstanceProfile {
            name: "node".into(),
            path: "/".into(),
            roles: vec!["node-role".into()],
            tags: BTreeMap::new(),
        };
        let attrs: BTreeMap<String, Value> = instance_profile_attrs(&ip).into_iter().collect();
        assert_eq!(attrs["role"], json!("node-role"));
        let empty = InstanceProfile::default();
        let attrs: BTreeMap<String, Value> = instance_profile_attrs(&empty).into_iter().collect();
        assert_eq!(attrs["role"], Value::Null);
    }

    #[test]
    fn oidc_urls_compare_without_scheme() {
        let p = OidcProvider {
            arn: "arn:o".into(),
            url: Some("oidc.eks.eu-west-1.amazonaws.com/id/X".into()),
            client_ids: vec!["sts.amazonaws.com".into()],
            thumbprints: vec!["ab".into()],
            tags: BTreeMap::new(),
        };
        let attrs: BTreeMap<String, Value> = oidc_attrs(&p).into_iter().collect();
        assert_eq!(attrs["url"], json!("oidc.eks.eu-west-1.amazonaws.com/id/X"));
        assert_eq!(attrs["client_id_list"], json!(["sts.amazonaws.com"]));
        assert_eq!(attrs["thumbprint_list"], json!(["ab"]));
        let mut state = json!({"url": "https://oidc.eks.eu-west-1.amazonaws.com/id/X"});
        prepare_oidc(&mut state);
        assert_eq!(state["url"], attrs["url"]);
        let k = AccessKey {
            id: "AKIA1".into(),
            user: "ci".into(),
            status: Some("Inactive".into()),
        };
        assert_eq!(
            access_key_attrs(&k),
            vec![("status".into(), json!("Inactive"))]
        );
    }

    #[test]
    fn attachments_inline_policies_and_memberships_come_from_the_details() {
        let d = AccountDetails {
            roles: vec![Role {
                name: "node".into(),
                attached: vec!["arn:a".into(), "arn:b".into()],
                inline: vec![InlinePolicy {
                    name: "logs".into(),
                    document: Some("%7B%7D".into()),
                }],
                ..Role::default()
            }],
            users: vec![
                User {
                    name: "ci".into(),
                    attached: vec!["arn:a".into()],
                    groups: vec!["ops".into()],
                    ..User::default()
                },
                User {
                    name: "bob".into(),
                    groups: vec!["ops".into()],
                    ..User::default()
                },
            ],
            groups: vec![
                Group {
                    name: "ops".into(),
                    attached: vec!["arn:a".into()],
                    ..Group::default()
                },
                Group {
                    name: "empty".into(),
                    ..Group::default()
                },
            ],
            policies: Vec::new(),
        };
        let by = attachments_by_policy(&d);
        assert_eq!(
            policy_attachment_attrs(&by["arn:a"]),
            vec![
                ("roles".into(), json!(["node"])),
                ("users".into(), json!(["ci"])),
                ("groups".into(), json!(["ops"])),
            ]
        );
        assert_eq!(by["arn:b"].users.len(), 0);
        let mut req = ScanRequest::default();
        for (t, id) in [
            (ROLE_POLICY_ATTACHMENT, "node/arn:b"),
            (ROLE_POLICY_ATTACHMENT, "node/arn:gone"),
            (ROLE_POLICY, "node:logs"),
            (USER_POLICY_ATTACHMENT, "ci/arn:a"),
            (GROUP_MEMBERSHIP, "ops"),
            (GROUP_MEMBERSHIP, "empty"),
            (POLICY_ATTACHMENT, "arn:a"),
        ] {
            req.wanted.insert(t);
            req.managed.entry(t).or_default().insert(id.to_owned());
        }
        let parts: BTreeMap<&str, Vec<LiveObject>> = entity_parts(&req, &d)
            .into_iter()
            .filter_map(|(t, s)| match s {
                TypeScan::Listed(o) => Some((t, o)),
                TypeScan::Failed(_) => None,
            })
            .collect();
        let ids = |t: &str| -> Vec<String> { parts[t].iter().map(|o| o.id.clone()).collect() };
        assert_eq!(ids(ROLE_POLICY_ATTACHMENT), vec!["node/arn:b"]);
        assert_eq!(ids(ROLE_POLICY), vec!["node:logs"]);
        assert_eq!(
            parts[ROLE_POLICY][0].attrs,
            vec![("policy".into(), json!("%7B%7D"))]
        );
        assert_eq!(ids(USER_POLICY_ATTACHMENT), vec!["ci/arn:a"]);
        assert_eq!(ids(GROUP_MEMBERSHIP), vec!["ops", "empty"]);
        let ops = parts[GROUP_MEMBERSHIP].iter().find(|o| o.id == "ops");
        assert_eq!(
            ops.map(|o| o.attrs.clone()),
            Some(vec![("users".into(), json!(["ci", "bob"]))])
        );
        assert_eq!(ids(POLICY_ATTACHMENT), vec!["arn:a"]);
        // Not in the state: not returned.
        assert!(ids(USER).is_empty());
    }

    #[test]
    fn naive_reads_become_objects_of_the_key() {
        let arn = "arn:aws:iam::1:policy/app/p";
        let k = format!("node/{arn}");
        assert_eq!(entity_of(&k, '/'), ("node".into(), arn.to_owned()));
        assert_eq!(
            attachment_if(k.clone(), Some(vec!["arn:x".into(), arn.into()])).map(|o| o.id),
            Some(k.clone())
        );
        assert_eq!(attachment_if(k.clone(), Some(vec!["arn:x".into()])), None);
        assert_eq!(attachment_if(k, None), None);
        assert_eq!(
            entity_of("lambda:logs", ':'),
            ("lambda".into(), "logs".into())
        );
        let o = inline_if("lambda:logs".into(), Some("%7B%7D".into()));
        assert_eq!(
            o.map(|o| (o.id, o.name, o.attrs)),
            Some((
                "lambda:logs".into(),
                "logs".into(),
                vec![("policy".into(), json!("%7B%7D"))]
            ))
        );
        assert_eq!(inline_if("lambda:logs".into(), None), None);
    }

    #[test]
    fn unmanaged_roles_skip_aws_roles_and_keep_no_attributes() {
        let mut req = ScanRequest {
            unmanaged: true,
            ..ScanRequest::default()
        };
        req.wanted.insert(ROLE);
        req.managed.entry(ROLE).or_default().insert("mine".into());
        let role = |name: &str, path: &str| Role {
            name: name.into(),
            path: path.into(),
            ..Role::default()
        };
        let roles = vec![
            role("mine", "/"),
            role("other", "/"),
            role(
                "AWSServiceRoleForEKS",
                "/aws-service-role/eks.amazonaws.com/",
            ),
        ];
        let part = role_parts(&req, &roles, &[ROLE]);
        let Some((_, TypeScan::Listed(objs))) = part.first() else {
            panic!("roles listed");
        };
        let ids: Vec<&str> = objs.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, vec!["mine", "other"]);
        assert!(!objs[0].attrs.is_empty());
        assert!(objs[1].attrs.is_empty());
    }
}
