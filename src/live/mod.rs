//! Live validation: does a state version still describe live AWS?
//!
//! Three layers, kept apart so the middle one is testable without AWS:
//!
//! 1. [`state_resources`]: the managed resource instances of a state, each
//!    with the identifier its live counterpart is found by.
//! 2. One module per AWS type family ([`s3`], [`dynamodb`], [`eks`],
//!    [`rds`]), each with its [`TypeSpec`]s (identifier rule), its
//!    enumeration (`scan`: one list/describe-all call per page, individual
//!    describes only for what the list does not give, bounded concurrency)
//!    and its attribute mapping (state attribute path -> live value).
//! 3. [`compare`]: a pure function of state resources, the live
//!    [`Inventory`], the [ignore rules](ignore) and the unmanaged scope,
//!    returning findings and what was not checked.
//!
//! [`scan`] runs 2 for the types a state needs and then 3. A failed type
//! (access denied, throttled after retries, unreachable) is recorded in the
//! inventory and reported under `not_checked`; it never aborts the scan.
//! Only missing credentials or configuration abort.
//!
//! Adding a type: one [`TypeSpec`] in its family's `TYPES`, its enumeration
//! in that family's `scan`, its mapping function and a unit test.
//!
//! Regions: every resource is looked up in the region it lives in (its
//! ARN's region, its `region` attribute, its availability zone's region,
//! else the region most resources of its provider configuration are in),
//! and each region the state uses is scanned at once. Global types (IAM,
//! Route 53) are scanned once, in the [`GLOBAL`] scope.

pub mod acm;
pub mod apigatewayv2;
pub mod autoscaling;
pub mod dynamodb;
pub mod ec2;
pub mod ecr;
pub mod ecs;
pub mod eks;
pub mod elbv2;
pub mod events;
pub mod iam;
pub mod ignore;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod policy;
pub mod rds;
pub mod route53;
pub mod s3;
pub mod secretsmanager;
pub mod sns;
pub mod sqs;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use futures::future::{BoxFuture, Shared};
use futures::{FutureExt, StreamExt};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::aws::tagging::TagIndex;
use crate::aws::{Aws, AwsError, AwsErrorKind};
use crate::state::sensitive::{render_path, shown_value, AttrPath, PathStep};
use crate::state::{Mode, State};

pub use ignore::{IgnoreRules, Seen, Unmatched, DRIFTCTL_IGNORE_FILE};

/// How a supported type is identified, where it lives and how it compares.
#[derive(Debug, Clone, Copy)]
pub struct TypeSpec {
    /// Terraform resource type.
    pub name: &'static str,
    /// The identifier of a state instance, from its attributes; the same
    /// string the enumeration uses as [`LiveObject::id`].
    pub key: fn(&Value) -> Option<String>,
    /// Whether `--unmanaged` reports live objects of this type that no
    /// state resource describes.
    pub unmanaged: bool,
    /// Not regional (IAM, Route 53): enumerated once, in the [`GLOBAL`] scope.
    pub global: bool,
    /// Top-level attributes that hold a JSON policy document: both sides
    /// are compared as [normalised](policy::normalize) documents.
    pub documents: &'static [&'static str],
    /// List attributes to which other resources add live elements (a
    /// group's rules, a table's routes, a role's attached policies): only
    /// state elements missing live are drift.
    pub subset: &'static [&'static str],
    /// Rewrites a state instance's attributes into the form its family's
    /// live attributes take (rules and routes as strings), before comparing.
    pub prepare: Option<fn(&mut Value)>,
    /// What is compared besides existence, for people (`drift --list-types`).
    pub compares: &'static str,
}

impl TypeSpec {
    /// A regional type with plain attributes, not listed as unmanaged.
    pub const fn new(name: &'static str, key: fn(&Value) -> Option<String>) -> Self {
        TypeSpec {
            name,
            key,
            unmanaged: false,
            global: false,
            documents: &[],
            subset: &[],
            prepare: None,
            compares: "",
        }
    }

    /// Describes what is compared besides existence.
    pub const fn compares(mut self, what: &'static str) -> Self {
        self.compares = what;
        self
    }

    /// `--unmanaged` lists this type's live objects that no state resource describes.
    pub const fn unmanaged(mut self) -> Self {
        self.unmanaged = true;
        self
    }

    /// The type is global (IAM, Route 53).
    pub const fn global(mut self) -> Self {
        self.global = true;
        self
    }

    /// These attributes hold policy documents.
    pub const fn documents(mut self, attrs: &'static [&'static str]) -> Self {
        self.documents = attrs;
        self
    }

    /// These list attributes may hold more live than in state.
    pub const fn subset(mut self, attrs: &'static [&'static str]) -> Self {
        self.subset = attrs;
        self
    }

    /// The state's attributes are rewritten by `f` before comparing.
    pub const fn prepare(mut self, f: fn(&mut Value)) -> Self {
        self.prepare = Some(f);
        self
    }
}

/// The scan's results of one family, per type.
pub type Part = Vec<(&'static str, TypeScan)>;

/// A family of types enumerated together (one AWS service, or one set of
/// shared list calls).
pub struct Family {
    /// Shown in progress lines (`EC2`, `IAM`, ...).
    pub name: &'static str,
    pub types: &'static [TypeSpec],
    /// Enumerates the wanted types of the family in the client's region.
    pub scan: for<'a> fn(&'a Aws, &'a ScanRequest) -> BoxFuture<'a, Part>,
}

/// Defines a family's `FAMILY` from its `TYPES` and `async fn scan`.
macro_rules! family {
    ($name:literal) => {
        /// This family, as [`super::families`] lists it.
        pub const FAMILY: super::Family = super::Family {
            name: $name,
            types: TYPES,
            scan: |aws, req| futures::FutureExt::boxed(scan(aws, req)),
        };
    };
}
pub(crate) use family;

/// Every family, in the order their progress lines are shown.
pub fn families() -> &'static [Family] {
    const ALL: &[Family] = &[
        ec2::FAMILY,
        iam::FAMILY,
        s3::FAMILY,
        dynamodb::FAMILY,
        eks::FAMILY,
        rds::FAMILY,
        kms::FAMILY,
        logs::FAMILY,
        lambda::FAMILY,
        ecr::FAMILY,
        autoscaling::FAMILY,
        elbv2::FAMILY,
        apigatewayv2::FAMILY,
        ecs::FAMILY,
        sqs::FAMILY,
        route53::FAMILY,
        secretsmanager::FAMILY,
        acm::FAMILY,
        sns::FAMILY,
        events::FAMILY,
    ];
    ALL
}

/// Every supported type.
pub fn supported_types() -> impl Iterator<Item = &'static TypeSpec> {
    families().iter().flat_map(|f| f.types.iter())
}

/// The scope of global types in an [`Inventory`].
pub const GLOBAL: &str = "global";

/// The spec of a supported type.
pub fn spec(type_: &str) -> Option<&'static TypeSpec> {
    supported_types().find(|s| s.name == type_)
}

/// A string attribute of a state instance.
pub(crate) fn attr_str<'v>(attrs: &'v Value, name: &str) -> Option<&'v str> {
    attrs.get(name)?.as_str().filter(|s| !s.is_empty())
}

/// `attrs[key]`, else `attrs.id`: the live identifier of most types.
pub(crate) fn attr_or_id(attrs: &Value, key: &str) -> Option<String> {
    attr_str(attrs, key)
        .or_else(|| attr_str(attrs, "id"))
        .map(str::to_owned)
}

/// `A:B` of two attributes (EKS child objects: `cluster:name`), else `attrs.id`.
pub(crate) fn joined_or_id(attrs: &Value, a: &str, b: &str) -> Option<String> {
    match (attr_str(attrs, a), attr_str(attrs, b)) {
        (Some(x), Some(y)) => Some(format!("{x}:{y}")),
        _ => attr_str(attrs, "id").map(str::to_owned),
    }
}

/// One managed resource instance of a state.
#[derive(Debug, Clone)]
pub struct StateResource {
    /// Instance address (`module.x.aws_s3_bucket.a["k"]`).
    pub address: String,
    pub type_: String,
    /// The live identifier ([`TypeSpec::key`]); `None` for unsupported
    /// types or when the attributes do not give it.
    pub id: Option<String>,
    /// The instance's attributes as raw JSON (`null` for types stateward
    /// does not check), parsed again only while compared: the resources of
    /// several versions can be held at once (`restore --last-good`) at about
    /// the size of their JSON.
    pub attributes: Box<RawValue>,
    /// Its declared `sensitive_attributes`.
    pub sensitive: Vec<AttrPath>,
    /// Region from the ARN, else the `region` attribute, else the
    /// availability zone's region, else the region most resources of the
    /// same provider configuration are in, else `None` (the scan's default
    /// region).
    pub region: Option<String>,
}

/// The managed, current (not deposed) resource instances of a state.
pub fn state_resources(state: &State<'_>) -> Vec<StateResource> {
    let mut out = Vec::new();
    // Per provider configuration: how many of its resources are in each region.
    let mut provider_regions: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut providers: Vec<String> = Vec::new();
    for r in &state.resources {
        if r.mode != Mode::Managed {
            continue;
        }
        let ra = r.address();
        for inst in &r.instances {
            if inst.deposed.is_some() {
                continue;
            }
            // Attributes are kept only for types stateward checks: the rest
            // is counted and listed as not checked, never compared.
            let spec = spec(&r.type_);
            let raw = spec.and(inst.attributes);
            let parsed: Value = raw
                .and_then(|raw| serde_json::from_str(raw.get()).ok())
                .unwrap_or(Value::Null);
            let id = spec.and_then(|s| (s.key)(&parsed));
            let region = region_of(&parsed);
            if let Some(region) = &region {
                *provider_regions
                    .entry(r.provider.to_string())
                    .or_default()
                    .entry(region.clone())
                    .or_default() += 1;
            }
            providers.push(r.provider.to_string());
            let attributes = match raw {
                Some(raw) if !parsed.is_null() => raw.to_owned(),
                _ => null_raw(),
            };
            out.push(StateResource {
                address: crate::state::address::instance_address(&ra, inst.index_key.as_ref()),
                type_: r.type_.to_string(),
                id,
                attributes,
                sensitive: inst.sensitive_attributes.clone(),
                region,
            });
        }
    }
    // Resources that carry no region of their own (security group rules,
    // route table associations, ...) are where their provider's others are.
    let majority: BTreeMap<&str, &str> = provider_regions
        .iter()
        .filter_map(|(p, counts)| {
            let (region, _) = counts
                .iter()
                .max_by_key(|(r, n)| (**n, std::cmp::Reverse(*r)))?;
            Some((p.as_str(), region.as_str()))
        })
        .collect();
    for (r, provider) in out.iter_mut().zip(&providers) {
        if r.region.is_none() {
            r.region = majority.get(provider.as_str()).map(|s| (*s).to_owned());
        }
    }
    out
}

/// A raw JSON `null`.
pub fn null_raw() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

/// The region of a resource: the ARN's region field when it has one, else
/// its `region` attribute (AWS provider 6 stores it on every regional
/// resource), else its availability zone's region.
pub fn region_of(attrs: &Value) -> Option<String> {
    if let Some(arn) = attr_str(attrs, "arn") {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() == 6 && parts[0] == "arn" && !parts[3].is_empty() {
            return Some(parts[3].to_owned());
        }
    }
    attr_str(attrs, "region")
        .map(str::to_owned)
        .or_else(|| attr_str(attrs, "availability_zone").and_then(zone_region))
}

/// The region of an availability zone name (`eu-west-1a` -> `eu-west-1`,
/// `us-west-2-lax-1a` -> `us-west-2`, `us-gov-west-1b` -> `us-gov-west-1`).
pub fn zone_region(zone: &str) -> Option<String> {
    let parts: Vec<&str> = zone.split('-').collect();
    // The region ends at the first part that starts with a digit.
    let end = parts
        .iter()
        .position(|p| p.starts_with(|c: char| c.is_ascii_digit()))?;
    if end < 2 {
        return None;
    }
    let number: String = parts[end]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let mut region: Vec<&str> = parts[..end].to_vec();
    region.push(&number);
    Some(region.join("-"))
}

/// One live object of a supported type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveObject {
    /// Identifier (the same rule as [`TypeSpec::key`]).
    pub id: String,
    /// Name used by the unmanaged name filter.
    pub name: String,
    /// Compared attributes: dotted state attribute path (`vpc_config.0.subnet_ids`)
    /// and live value. Filled for objects the state manages.
    pub attrs: Vec<(String, Value)>,
    /// Tags when known (used by the unmanaged tag filter).
    pub tags: Option<BTreeMap<String, String>>,
}

impl LiveObject {
    pub fn named(id: impl Into<String>, name: impl Into<String>) -> Self {
        LiveObject {
            id: id.into(),
            name: name.into(),
            ..LiveObject::default()
        }
    }
}

/// What the enumeration of one type gave.
#[derive(Debug, Clone)]
pub enum TypeScan {
    /// Every live object of the type the scan looked for.
    Listed(Vec<LiveObject>),
    /// The type could not be enumerated.
    Failed(AwsError),
}

/// Live objects per scope (a region's name, or [`GLOBAL`]) and type.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub scopes: BTreeMap<String, BTreeMap<String, TypeScan>>,
}

impl Inventory {
    /// What the scan of `type_` in `scope` gave.
    pub fn get(&self, scope: &str, type_: &str) -> Option<&TypeScan> {
        self.scopes.get(scope)?.get(type_)
    }

    pub fn insert(&mut self, scope: &str, type_: &str, scan: TypeScan) {
        self.scopes
            .entry(scope.to_owned())
            .or_default()
            .insert(type_.to_owned(), scan);
    }

    /// Every type's scan in every scope.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &TypeScan)> {
        self.scopes.iter().flat_map(|(scope, types)| {
            types
                .iter()
                .map(move |(t, s)| (scope.as_str(), t.as_str(), s))
        })
    }
}

/// Which unmanaged objects count: by name prefix and by tags (from the
/// environment file's `drift` block). Empty means everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnmanagedScope {
    pub name_prefixes: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

impl UnmanagedScope {
    /// Whether a live object is within scope.
    pub fn contains(&self, obj: &LiveObject) -> bool {
        let name_ok = self.name_prefixes.is_empty()
            || self
                .name_prefixes
                .iter()
                .any(|p| obj.name.starts_with(p.as_str()));
        let tags_ok = self.tags.is_empty()
            || obj
                .tags
                .as_ref()
                .is_some_and(|t| self.tags.iter().all(|(k, v)| t.get(k) == Some(v)));
        name_ok && tags_ok
    }

    /// Whether an object with this name may be in scope (before its tags are known).
    pub fn name_matches(&self, name: &str) -> bool {
        self.name_prefixes.is_empty()
            || self
                .name_prefixes
                .iter()
                .any(|p| name.starts_with(p.as_str()))
    }
}

/// What a family's `scan` is asked for.
#[derive(Debug, Clone, Default)]
pub struct ScanRequest {
    /// Types to enumerate.
    pub wanted: BTreeSet<&'static str>,
    /// Identifiers the state has, per type (only these get individual describes).
    pub managed: BTreeMap<&'static str, BTreeSet<String>>,
    /// Also list objects the state does not manage.
    pub unmanaged: bool,
    pub scope: UnmanagedScope,
    /// Individual describes in flight at once, per family.
    pub concurrency: usize,
    /// The naive strategy (benchmark baseline): no list calls, one describe
    /// per managed resource, sequentially.
    pub naive: bool,
    /// Tags of the region's buckets and tables from one GetResources pass,
    /// read while the families list; `None` (naive) means one tag call per
    /// resource.
    pub tags: Option<SharedTags>,
}

/// The scan's tag index, read once (GetResources) and awaited by every
/// describe that needs tags, so reading it overlaps the listings.
#[derive(Clone)]
pub struct SharedTags(Shared<BoxFuture<'static, Option<Arc<TagIndex>>>>);

impl SharedTags {
    /// Starts nothing yet: the read runs when first awaited.
    fn new(aws: &Aws) -> Self {
        let tagging = aws.tagging();
        SharedTags(
            async move {
                match tagging.buckets_and_tables().await {
                    Ok(index) => Some(Arc::new(index)),
                    Err(e) => {
                        // For example no `tag:GetResources` permission: not an
                        // error, the scan reads tags one resource at a time.
                        tracing::info!("reading tags one resource at a time: {e}");
                        None
                    }
                }
            }
            .boxed()
            .shared(),
        )
    }

    /// The index; `None` if the tagging API refused.
    pub async fn get(&self) -> Option<Arc<TagIndex>> {
        self.0.clone().await
    }
}

impl std::fmt::Debug for SharedTags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedTags")
    }
}

impl ScanRequest {
    pub fn wants(&self, type_: &str) -> bool {
        self.wanted.contains(type_)
    }

    pub fn managed(&self, type_: &str) -> BTreeSet<String> {
        self.managed.get(type_).cloned().unwrap_or_default()
    }

    fn limit(&self) -> usize {
        if self.naive {
            1
        } else {
            self.concurrency.max(1)
        }
    }
}

/// Runs `f` on every item, at most `req`'s concurrency at once; the first
/// error wins.
pub(crate) async fn each<T, R, F, Fut>(
    req: &ScanRequest,
    items: Vec<T>,
    f: F,
) -> Result<Vec<R>, AwsError>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<R, AwsError>>,
{
    futures::stream::iter(items.into_iter().map(f))
        .buffer_unordered(req.limit())
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// The result of one call, for each wanted type it serves: its part, or
/// each of those types failed with the call's error.
pub(crate) fn part_or_failed(
    req: &ScanRequest,
    types: &[&'static str],
    r: Result<Part, AwsError>,
) -> Part {
    match r {
        Ok(p) => p,
        Err(e) => types
            .iter()
            .filter(|t| req.wants(t))
            .map(|t| (*t, TypeScan::Failed(e.clone())))
            .collect(),
    }
}

/// The live objects of `type_` that the state manages: the scan result of a
/// type that is never reported unmanaged.
pub(crate) fn managed_only(
    req: &ScanRequest,
    type_: &'static str,
    objs: Vec<LiveObject>,
) -> (&'static str, TypeScan) {
    let managed = req.managed(type_);
    (
        type_,
        TypeScan::Listed(
            objs.into_iter()
                .filter(|o| managed.contains(&o.id))
                .collect(),
        ),
    )
}

/// Runs a family's tasks (one per call): all at once, or one after the
/// other for the naive baseline, which makes one call at a time.
pub(crate) async fn run_tasks<T>(req: &ScanRequest, tasks: Vec<BoxFuture<'_, T>>) -> Vec<T> {
    if req.naive {
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await);
        }
        out
    } else {
        futures::future::join_all(tasks).await
    }
}

/// Records one result for several types.
pub(crate) fn put_all(
    out: &mut Vec<(&'static str, TypeScan)>,
    types: &[&'static str],
    req: &ScanRequest,
    result: &Result<(), AwsError>,
) {
    if let Err(e) = result {
        for t in types {
            if req.wants(t) && !out.iter().any(|(n, _)| n == t) {
                out.push((t, TypeScan::Failed(e.clone())));
            }
        }
    }
}

/// Kind of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Missing,
    Changed,
    Unmanaged,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Missing => "missing",
            Kind::Changed => "changed",
            Kind::Unmanaged => "unmanaged",
        }
    }
}

/// One differing attribute: `{"path","state","live"}`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct AttributeDrift {
    /// Rendered path, as `diff` prints it (`vpc_config[0].subnet_ids`).
    pub path: String,
    /// Value in state; `null` when absent; `"(sensitive)"` when redacted.
    pub state: Value,
    /// Value in AWS; `null` when absent; `"(sensitive)"` when redacted.
    pub live: Value,
}

/// One finding: `{"kind","address","type","id","attributes"}`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub kind: Kind,
    /// Instance address; `null` for unmanaged objects.
    pub address: Option<String>,
    #[serde(rename = "type")]
    pub type_: String,
    /// Identifier in AWS: bucket/table/cluster name, cluster:name for EKS children, DB identifier,
    /// subnet group name.
    pub id: String,
    /// The differing attributes (`changed` only).
    pub attributes: Vec<AttributeDrift>,
}

/// Why a resource or type was not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// stateward does not check the type.
    Unsupported,
    /// An ignore rule covers it.
    Ignored,
    /// Its attributes give no identifier, or nothing gives its region.
    Unidentified,
    /// `--region` limits the scan to another region.
    OtherRegion,
    /// AWS refused or failed the calls that would have checked it: the
    /// result is incomplete.
    Error,
    /// AWS kept throttling (or answering too slowly) the calls that would
    /// have checked it until the type's retry budget ran out: the result is
    /// incomplete.
    Throttled,
}

impl Cause {
    /// Whether this cause makes the result incomplete (an AWS failure, not
    /// a choice or a limit of stateward).
    pub fn is_failure(self) -> bool {
        matches!(self, Cause::Error | Cause::Throttled)
    }
}

/// The cause of a type whose enumeration failed with `e`.
fn failure_cause(e: &AwsError) -> Cause {
    if e.kind == AwsErrorKind::Throttled {
        Cause::Throttled
    } else {
        Cause::Error
    }
}

/// A resource or type that was not checked, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct NotChecked {
    #[serde(rename = "type")]
    pub type_: String,
    /// Instance address; `null` for a type that failed with no resource of it in the state.
    pub address: Option<String>,
    pub reason: String,
    pub cause: Cause,
}

/// The outcome of [`compare`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// Managed resource instances in the state.
    pub resources: usize,
    /// Those compared with live AWS.
    pub checked: usize,
    pub findings: Vec<Finding>,
    pub not_checked: Vec<NotChecked>,
}

impl Comparison {
    pub fn count(&self, kind: Kind) -> usize {
        self.findings.iter().filter(|f| f.kind == kind).count()
    }

    /// Checked / managed, in percent (100 for an empty state).
    pub fn coverage(&self) -> f64 {
        if self.resources == 0 {
            100.0
        } else {
            (self.checked as f64 * 1000.0 / self.resources as f64).round() / 10.0
        }
    }

    pub fn has_drift(&self) -> bool {
        !self.findings.is_empty()
    }

    /// Entries not checked because AWS refused, failed or throttled the calls.
    pub fn errors(&self) -> usize {
        self.not_checked
            .iter()
            .filter(|n| n.cause.is_failure())
            .count()
    }
}

/// Options of [`compare`].
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// Report unmanaged objects.
    pub unmanaged: bool,
    pub scope: UnmanagedScope,
    /// The region of resources that give none (the clients' region).
    pub default_region: Option<String>,
    /// `--region`: the one region scanned; resources elsewhere are not checked.
    pub only_region: Option<String>,
    /// `(type, id)` never reported as unmanaged (the state's own bucket and lock table).
    pub never_unmanaged: BTreeSet<(String, String)>,
}

/// The [`Inventory`] scope a resource of `spec` is looked up in: [`GLOBAL`]
/// for global types, else its region, else `default_region`.
pub fn scope_of(
    spec: &TypeSpec,
    region: Option<&str>,
    default_region: Option<&str>,
) -> Option<String> {
    if spec.global {
        Some(GLOBAL.to_owned())
    } else {
        region.or(default_region).map(str::to_owned)
    }
}

/// One sentence on why a type could not be enumerated.
pub fn failure_reason(e: &AwsError) -> String {
    let detail = e
        .code
        .as_deref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    match e.kind {
        AwsErrorKind::AccessDenied => format!("access denied: {} was refused{detail}", e.operation),
        AwsErrorKind::Throttled if e.code.as_deref() == Some(TYPE_BUDGET_EXHAUSTED) => format!(
            "throttled: {}",
            e.message.as_deref().unwrap_or("the retry budget ran out")
        ),
        AwsErrorKind::Throttled => format!(
            "throttled: {} still throttled after retries{detail}",
            e.operation
        ),
        AwsErrorKind::Network => {
            format!("unreachable: {} could not reach the endpoint", e.operation)
        }
        _ => e.to_string(),
    }
}

/// Compares state resources with the live inventory. Pure.
pub fn compare(
    resources: &[StateResource],
    inventory: &Inventory,
    ignore: &IgnoreRules,
    opts: &CompareOptions,
) -> Comparison {
    let mut out = Comparison {
        resources: resources.len(),
        ..Comparison::default()
    };
    let mut state_ids: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in resources {
        if let Some(id) = &r.id {
            state_ids
                .entry(r.type_.as_str())
                .or_default()
                .insert(id.as_str());
        }
    }
    // Tags set on a resource by `aws_ec2_tag`s of the same state: live on
    // the resource, but not its own configuration's.
    let mut external_tags: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in resources.iter().filter(|r| r.type_ == ec2::EC2_TAG) {
        if let Some((id, key)) = r.id.as_deref().and_then(|i| i.split_once(',')) {
            external_tags.entry(id).or_default().insert(key);
        }
    }
    for r in resources {
        let not_checked = |cause: Cause, reason: String| NotChecked {
            type_: r.type_.clone(),
            address: Some(r.address.clone()),
            reason,
            cause,
        };
        let Some(spec) = spec(&r.type_) else {
            out.not_checked.push(not_checked(
                Cause::Unsupported,
                format!("stateward does not check {} resources", r.type_),
            ));
            continue;
        };
        let Some(id) = &r.id else {
            out.not_checked.push(not_checked(
                Cause::Unidentified,
                "its attributes do not give its identifier".into(),
            ));
            continue;
        };
        if let Some(rule) = ignore.resource_rule(&r.type_, id) {
            out.not_checked.push(not_checked(
                Cause::Ignored,
                format!("ignored by rule `{rule}`"),
            ));
            continue;
        }
        let Some(scope) = scope_of(spec, r.region.as_deref(), opts.default_region.as_deref())
        else {
            out.not_checked.push(not_checked(
                Cause::Unidentified,
                "neither it nor the AWS configuration gives its region".into(),
            ));
            continue;
        };
        if let Some(only) = &opts.only_region {
            if scope != GLOBAL && &scope != only {
                out.not_checked.push(not_checked(
                    Cause::OtherRegion,
                    format!("it is in region {scope}; --region limits this scan to {only}"),
                ));
                continue;
            }
        }
        let live = match inventory.get(&scope, &r.type_) {
            Some(TypeScan::Listed(objs)) => objs,
            Some(TypeScan::Failed(e)) => {
                out.not_checked
                    .push(not_checked(failure_cause(e), failure_reason(e)));
                continue;
            }
            None => {
                out.not_checked.push(not_checked(
                    Cause::Error,
                    "its type was not enumerated".into(),
                ));
                continue;
            }
        };
        out.checked += 1;
        let Some(obj) = live.iter().find(|o| &o.id == id) else {
            out.findings.push(Finding {
                kind: Kind::Missing,
                address: Some(r.address.clone()),
                type_: r.type_.clone(),
                id: id.clone(),
                attributes: Vec::new(),
            });
            continue;
        };
        let mut attributes = Vec::new();
        let mut state_attrs: Value =
            serde_json::from_str(r.attributes.get()).unwrap_or(Value::Null);
        if let Some(prepare) = spec.prepare {
            prepare(&mut state_attrs);
        }
        for (dotted, live_value) in &obj.attrs {
            let path = parse_dotted(dotted);
            let Some(mut state_value) = state_value_at(&state_attrs, &path) else {
                continue;
            };
            let mut live_value = std::borrow::Cow::Borrowed(live_value);
            if spec.documents.contains(&dotted.as_str()) {
                state_value = policy::normalize_value(&state_value);
                live_value = std::borrow::Cow::Owned(policy::normalize_value(&live_value));
            }
            if spec.subset.contains(&dotted.as_str()) {
                live_value = std::borrow::Cow::Owned(only_in(&live_value, &state_value));
            }
            if let (Some(keys), "tags", Value::Object(m)) = (
                external_tags.get(id.as_str()),
                dotted.as_str(),
                live_value.as_ref(),
            ) {
                let mut m = m.clone();
                m.retain(|k, _| !keys.contains(k.as_str()));
                live_value = std::borrow::Cow::Owned(Value::Object(m));
            }
            let live_value = live_value.as_ref();
            let mut p = path.clone();
            walk(
                &mut p,
                Some(&state_value),
                live_value,
                &r.sensitive,
                &mut attributes,
            );
        }
        attributes.retain(|a: &(AttrPath, AttributeDrift)| {
            let dotted = dotted_of(&a.0);
            !ignore.attribute_ignored(&r.type_, id, &dotted)
                && !ignore.ignore_changes_covers(&r.address, &dotted)
        });
        if !attributes.is_empty() {
            out.findings.push(Finding {
                kind: Kind::Changed,
                address: Some(r.address.clone()),
                type_: r.type_.clone(),
                id: id.clone(),
                attributes: attributes.into_iter().map(|(_, a)| a).collect(),
            });
        }
    }
    if opts.unmanaged {
        let mut failed_types: BTreeSet<&str> = BTreeSet::new();
        for (_scope, type_, scan) in inventory.iter() {
            let Some(spec) = spec(type_) else { continue };
            if !spec.unmanaged {
                continue;
            }
            match scan {
                TypeScan::Listed(objs) => {
                    let known = state_ids.get(type_);
                    for o in objs {
                        if known.is_some_and(|k| k.contains(o.id.as_str()))
                            || opts
                                .never_unmanaged
                                .contains(&(type_.to_owned(), o.id.clone()))
                            || !opts.scope.contains(o)
                            || ignore.resource_rule(type_, &o.id).is_some()
                        {
                            continue;
                        }
                        out.findings.push(Finding {
                            kind: Kind::Unmanaged,
                            address: None,
                            type_: type_.to_owned(),
                            id: o.id.clone(),
                            attributes: Vec::new(),
                        });
                    }
                }
                TypeScan::Failed(e) => {
                    if !resources.iter().any(|r| r.type_ == type_) && failed_types.insert(type_) {
                        out.not_checked.push(NotChecked {
                            type_: type_.to_owned(),
                            address: None,
                            reason: failure_reason(e),
                            cause: failure_cause(e),
                        });
                    }
                }
            }
        }
    }
    out.findings
        .sort_by(|a, b| (a.kind, &a.type_, &a.id).cmp(&(b.kind, &b.type_, &b.id)));
    out
}

/// The elements of the list `live` that the list `state` also holds (as
/// sets of scalars): a subset attribute's live value, so that elements other
/// resources added are not drift. Non-lists are returned unchanged.
fn only_in(live: &Value, state: &Value) -> Value {
    match (live, state) {
        (Value::Array(l), Value::Array(s)) => Value::Array(
            l.iter()
                .filter(|x| s.iter().any(|y| scalar_eq(x, y)))
                .cloned()
                .collect(),
        ),
        (Value::Array(_), s) if is_empty(s) => Value::Array(Vec::new()),
        _ => live.clone(),
    }
}

/// `vpc_config.0.subnet_ids` -> steps (all-digit segments are indices).
pub fn parse_dotted(dotted: &str) -> AttrPath {
    dotted
        .split('.')
        .map(|s| match s.parse::<u64>() {
            Ok(i) => PathStep::Index(i),
            Err(_) => PathStep::Key(s.to_owned()),
        })
        .collect()
}

/// Steps -> `vpc_config.0.subnet_ids` (the form ignore rules use).
pub fn dotted_of(path: &[PathStep]) -> String {
    path.iter()
        .map(|s| match s {
            PathStep::Key(k) => k.clone(),
            PathStep::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The state's value at `path`: `None` when an object key on the way is
/// absent (the provider version that wrote the state has no such
/// attribute: nothing to compare), `Some(Null)` for a missing list element.
/// `tags` reads `tags_all` when present (provider default tags are live tags too).
fn state_value_at(attrs: &Value, path: &[PathStep]) -> Option<Value> {
    let mut cur = attrs;
    for (i, step) in path.iter().enumerate() {
        match (step, cur) {
            (PathStep::Key(k), Value::Object(m)) => {
                let v = if i == 0 && k == "tags" {
                    m.get("tags_all")
                        .filter(|v| !v.is_null())
                        .or_else(|| m.get(k))
                } else {
                    m.get(k)
                };
                cur = v?;
            }
            (PathStep::Index(n), Value::Array(a)) => match a.get(*n as usize) {
                Some(v) => cur = v,
                None => return Some(Value::Null),
            },
            (_, Value::Null) => return Some(Value::Null),
            _ => return None,
        }
    }
    Some(cur.clone())
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            s.parse::<f64>().ok() == n.as_f64()
        }
        (Value::String(s), Value::Bool(b)) | (Value::Bool(b), Value::String(s)) => {
            s == if *b { "true" } else { "false" }
        }
        _ => a == b,
    }
}

fn is_map_path(path: &[PathStep]) -> bool {
    matches!(path.last(), Some(PathStep::Key(k)) if k == "tags" || k == "labels" || k.ends_with("_tags"))
}

/// Sort key of a list element: scalars by value, objects by `name`/`key`/`id`, else by JSON.
fn sort_key(v: &Value) -> String {
    match v {
        Value::Object(m) => ["name", "key", "id", "namespace"]
            .iter()
            .find_map(|k| m.get(*k).map(|v| v.to_string()))
            .unwrap_or_else(|| v.to_string()),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Compares a state value with a live value at `path`, pushing leaf
/// differences. Lists are compared as sets (Terraform's sets and the API's
/// lists disagree on order); objects on the live object's keys, maps
/// (`tags`, `labels`) on both sides' keys.
fn walk(
    path: &mut AttrPath,
    state: Option<&Value>,
    live: &Value,
    sensitive: &[AttrPath],
    out: &mut Vec<(AttrPath, AttributeDrift)>,
) {
    let s_empty = state.is_none_or(is_empty);
    if s_empty && is_empty(live) {
        return;
    }
    let empty_map = serde_json::Map::new();
    match (state, live) {
        (s, Value::Object(lm)) if s.is_none_or(|s| s.is_object() || is_empty(s)) => {
            let sm = s.and_then(Value::as_object).unwrap_or(&empty_map);
            let mut keys: BTreeSet<&String> = lm.keys().collect();
            if is_map_path(path) {
                keys.extend(sm.keys());
            }
            for k in keys {
                path.push(PathStep::Key(k.clone()));
                walk(
                    path,
                    sm.get(k),
                    lm.get(k).unwrap_or(&Value::Null),
                    sensitive,
                    out,
                );
                path.pop();
            }
        }
        (Some(Value::Array(sa)), Value::Array(la)) if sa.len() == la.len() => {
            let mut sa: Vec<&Value> = sa.iter().collect();
            let mut la: Vec<&Value> = la.iter().collect();
            sa.sort_by_key(|v| sort_key(v));
            la.sort_by_key(|v| sort_key(v));
            let scalars = la.iter().all(|v| !v.is_object() && !v.is_array());
            if scalars {
                if !sa.iter().zip(&la).all(|(a, b)| scalar_eq(a, b)) {
                    push(path, state, live, sensitive, out);
                }
                return;
            }
            for (i, (s, l)) in sa.iter().zip(&la).enumerate() {
                path.push(PathStep::Index(i as u64));
                walk(path, Some(s), l, sensitive, out);
                path.pop();
            }
        }
        (Some(s), l) if !s_empty && !is_empty(l) && !s.is_array() && !l.is_array() => {
            if !scalar_eq(s, l) {
                push(path, state, live, sensitive, out);
            }
        }
        _ => push(path, state, live, sensitive, out),
    }
}

fn push(
    path: &AttrPath,
    state: Option<&Value>,
    live: &Value,
    sensitive: &[AttrPath],
    out: &mut Vec<(AttrPath, AttributeDrift)>,
) {
    out.push((
        path.clone(),
        AttributeDrift {
            path: render_path(path),
            state: shown_value(state, path, sensitive, false),
            live: shown_value(Some(live), path, sensitive, false),
        },
    ));
}

/// A progress callback: one line per finished type family.
pub type Progress = Box<dyn Fn(&str) + Send + Sync>;

/// Live-scan progress on a terminal's stderr: a spinner that counts the
/// services (type families) done and shows the last one's counts. `None`
/// when progress is not drawn (JSON, off a terminal).
pub fn terminal_progress(what: String) -> Option<Progress> {
    let bar = crate::output::Progress::spinner(what.clone());
    if !bar.is_drawn() {
        return None;
    }
    let done = std::sync::atomic::AtomicUsize::new(0);
    Some(Box::new(move |line: &str| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        bar.set_message(format!(
            "{what}: {} done, last {line}",
            crate::output::count(n, "service", "services")
        ));
    }))
}

/// How a scan runs.
pub struct ScanOptions {
    pub unmanaged: bool,
    pub scope: UnmanagedScope,
    pub concurrency: usize,
    pub naive: bool,
    pub ignore: IgnoreRules,
    pub never_unmanaged: BTreeSet<(String, String)>,
    /// `--region`: scan this region only (and the global types).
    pub only_region: Option<String>,
    /// Called with one line per finished type family (progress display).
    pub progress: Option<Progress>,
}

impl ScanOptions {
    /// Checking a state's managed resources only (no unmanaged listing), as
    /// `versions --against-live`, `restore --last-good` and `rebuild` do:
    /// the state bucket itself is never reported unmanaged.
    pub fn managed(
        state_bucket: &str,
        concurrency: usize,
        ignore: IgnoreRules,
        progress: Option<Progress>,
    ) -> ScanOptions {
        ScanOptions {
            unmanaged: false,
            scope: UnmanagedScope::default(),
            concurrency,
            naive: false,
            ignore,
            never_unmanaged: BTreeSet::from([(
                "aws_s3_bucket".to_owned(),
                state_bucket.to_owned(),
            )]),
            only_region: None,
            progress,
        }
    }
}

/// How one state version matches live AWS (`versions --against-live`, and
/// `restore --last-good` choosing among healthy versions).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default, schemars::JsonSchema)]
pub struct LiveMatch {
    /// Managed resource instances in the version.
    pub resources: usize,
    /// Those stateward could compare with live AWS.
    pub checked: usize,
    /// Checked, exist, and match.
    pub matching: usize,
    pub missing: usize,
    pub changed: usize,
}

impl LiveMatch {
    /// The figures of one comparison.
    pub fn of(c: &Comparison) -> LiveMatch {
        let (missing, changed) = (c.count(Kind::Missing), c.count(Kind::Changed));
        LiveMatch {
            resources: c.resources,
            checked: c.checked,
            matching: c.checked.saturating_sub(missing + changed),
            missing,
            changed,
        }
    }
}

/// Each listed version of a state matched against one shared live
/// inventory (`versions --against-live`): the versions are read one at a
/// time, so only one body is held, and through the version cache, so bodies
/// a listing just read are not downloaded again. A delete marker or an
/// unreadable version gets `None`.
pub async fn match_listed(
    aws: &Aws,
    bucket: &dyn crate::storage::StateObjects,
    key: &str,
    versions: &[&crate::store::ObjectVersion],
    opts: &ScanOptions,
) -> crate::error::Result<Vec<Option<LiveMatch>>> {
    let mut per_version: Vec<Option<Vec<StateResource>>> = Vec::with_capacity(versions.len());
    for v in versions {
        if v.delete_marker {
            per_version.push(None);
            continue;
        }
        let (bytes, _) = crate::store::read_whole(bucket, key, v).await?;
        per_version.push(
            crate::state::parse(&bytes)
                .ok()
                .map(|s| state_resources(&s)),
        );
    }
    Ok(match_versions(aws, &per_version, opts).await?)
}

/// Compares several versions' resources (`None`: an unreadable version) with
/// live AWS through one shared enumeration.
pub async fn match_versions(
    aws: &Aws,
    versions: &[Option<Vec<StateResource>>],
    opts: &ScanOptions,
) -> Result<Vec<Option<LiveMatch>>, AwsError> {
    let all: Vec<StateResource> = versions.iter().flatten().flatten().cloned().collect();
    let inventory = inventory(aws, &all, opts).await?;
    let copts = compare_options(aws, opts);
    Ok(versions
        .iter()
        .map(|r| {
            r.as_ref()
                .map(|r| LiveMatch::of(&compare(r, &inventory, &opts.ignore, &copts)))
        })
        .collect())
}

/// Enumerates what the state needs (and, with `unmanaged`, every type that
/// can be unmanaged), then compares. Fails only when AWS cannot be used at
/// all (no credentials, no region).
pub async fn scan(
    aws: &Aws,
    resources: &[StateResource],
    opts: &ScanOptions,
) -> Result<Comparison, AwsError> {
    let inventory = inventory(aws, resources, opts).await?;
    Ok(compare(
        resources,
        &inventory,
        &opts.ignore,
        &compare_options(aws, opts),
    ))
}

/// The comparison options a scan with `opts` uses.
pub fn compare_options(aws: &Aws, opts: &ScanOptions) -> CompareOptions {
    CompareOptions {
        unmanaged: opts.unmanaged,
        scope: opts.scope.clone(),
        default_region: aws.region(),
        only_region: opts.only_region.clone(),
        never_unmanaged: opts.never_unmanaged.clone(),
    }
}

/// Enumerates the live objects `resources` need (list calls, shared), for
/// one or several [`compare`]s (e.g. every version of a history): every
/// region the resources are in at once, global types once.
pub async fn inventory(
    aws: &Aws,
    resources: &[StateResource],
    opts: &ScanOptions,
) -> Result<Inventory, AwsError> {
    let default_region = aws.region();
    let mut requests: BTreeMap<String, ScanRequest> = BTreeMap::new();
    let new_request = || ScanRequest {
        unmanaged: opts.unmanaged,
        scope: opts.scope.clone(),
        concurrency: opts.concurrency,
        naive: opts.naive,
        ..ScanRequest::default()
    };
    let in_limit = |scope: &str| {
        scope == GLOBAL || opts.only_region.as_deref().is_none_or(|only| only == scope)
    };
    for r in resources {
        let Some(spec) = spec(&r.type_) else { continue };
        let Some(id) = &r.id else { continue };
        let Some(scope) = scope_of(spec, r.region.as_deref(), default_region.as_deref()) else {
            continue;
        };
        if !in_limit(&scope) {
            continue;
        }
        let req = requests.entry(scope).or_insert_with(new_request);
        req.wanted.insert(spec.name);
        req.managed.entry(spec.name).or_default().insert(id.clone());
    }
    if opts.unmanaged {
        // Unmanaged objects are looked for in every region the state uses
        // (the clients' region when it uses none) and in the global scope.
        let mut regions: Vec<String> = requests
            .keys()
            .filter(|s| s.as_str() != GLOBAL)
            .cloned()
            .collect();
        if regions.is_empty() {
            regions.extend(opts.only_region.clone().or(default_region.clone()));
        }
        for region in regions {
            let req = requests.entry(region).or_insert_with(new_request);
            req.wanted.extend(
                supported_types()
                    .filter(|s| s.unmanaged && !s.global)
                    .map(|s| s.name),
            );
        }
        let req = requests
            .entry(GLOBAL.to_owned())
            .or_insert_with(new_request);
        req.wanted.extend(
            supported_types()
                .filter(|s| s.unmanaged && s.global)
                .map(|s| s.name),
        );
    }
    let mut inventory = Inventory::default();
    let started = std::time::Instant::now();
    let several = requests.len() > 1;
    let report = |scope: &str, family: &str, part: &[(&'static str, TypeScan)]| {
        tracing::debug!(
            scope,
            family,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "scan finished"
        );
        if let Some(p) = &opts.progress {
            let counts: Vec<String> = part
                .iter()
                .map(|(t, s)| match s {
                    TypeScan::Listed(o) => format!("{t}: {}", o.len()),
                    TypeScan::Failed(_) => format!("{t}: failed"),
                })
                .collect();
            let place = if several {
                format!("{scope} ")
            } else {
                String::new()
            };
            p(&format!("{place}{family}: {}", counts.join(", ")));
        }
    };
    let report = &report;
    // One client set per region; the requests are built before any runs.
    let clients: BTreeMap<&str, Aws> = requests
        .keys()
        .map(|scope| {
            let client = match scope.as_str() {
                GLOBAL => aws.clone(),
                region => aws.in_region(region),
            };
            (scope.as_str(), client)
        })
        .collect();
    let mut requests: Vec<(&str, ScanRequest)> = requests
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    for (scope, req) in &mut requests {
        // The tags S3 and DynamoDB both need, in one paginated pass that
        // runs while they list and describe.
        if !req.naive && (req.wants(s3::BUCKET) || req.wants(dynamodb::TABLE)) {
            req.tags = Some(SharedTags::new(&clients[scope]));
        }
    }
    let budget = aws.retry_policy().type_budget;
    let mut tasks: Vec<BoxFuture<'_, (&str, Part)>> = Vec::new();
    for (scope, req) in &requests {
        let aws = &clients[scope];
        if let Some(t) = &req.tags {
            tasks.push(
                async move {
                    // Bounded like the families that wait for it (which
                    // then report their types as throttled).
                    let _ = tokio::time::timeout(budget, t.get()).await;
                    tracing::debug!(
                        scope,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "tag index read"
                    );
                    (*scope, Part::new())
                }
                .boxed(),
            );
        }
        for family in families() {
            if !family.types.iter().any(|t| req.wants(t.name)) {
                continue;
            }
            let wanted: Vec<&'static str> = family
                .types
                .iter()
                .map(|t| t.name)
                .filter(|t| req.wants(t))
                .collect();
            let what = match several {
                true => format!("{scope} {}", family.name),
                false => family.name.to_owned(),
            };
            tasks.push(
                bounded((family.scan)(aws, req), budget, what, wanted)
                    .map(move |part| {
                        report(scope, family.name, &part);
                        (*scope, part)
                    })
                    .boxed(),
            );
        }
    }
    // The services and regions are scanned at once; the naive baseline
    // scans one after the other, as it makes one call at a time.
    let parts: Vec<(&str, Part)> = if opts.naive {
        let mut parts = Vec::new();
        for t in tasks {
            parts.push(t.await);
        }
        parts
    } else {
        futures::future::join_all(tasks).await
    };
    for (scope, part) in parts {
        for (t, s) in part {
            if let TypeScan::Failed(e) = &s {
                if matches!(e.kind, AwsErrorKind::Credentials | AwsErrorKind::Config) {
                    return Err(e.clone());
                }
            }
            inventory.insert(scope, t, s);
        }
    }
    Ok(inventory)
}

/// Runs one family's scan within `budget` (all its calls, retries and
/// backoff); past it, every type of `wanted` is a [`TypeScan::Failed`] as
/// throttled, so a type AWS keeps throttling is reported as not checked
/// instead of holding the whole scan. A wait longer than a few seconds is
/// shown in the progress display.
async fn bounded(
    scan: BoxFuture<'_, Part>,
    budget: std::time::Duration,
    what: String,
    wanted: Vec<&'static str>,
) -> Part {
    let notice = format!(
        "waiting for AWS to answer {what} (retrying with backoff; given up as throttled after {})",
        crate::util::duration::format(budget)
    );
    let after = std::time::Duration::from_secs(3).min(budget);
    match tokio::time::timeout(budget, crate::aws::noticed(after, notice, scan)).await {
        Ok(part) => part,
        Err(_) => {
            tracing::warn!(what, "type retry budget exhausted");
            wanted
                .into_iter()
                .map(|t| {
                    (
                        t,
                        TypeScan::Failed(AwsError::new(
                            "List",
                            t.to_owned(),
                            AwsErrorKind::Throttled,
                            Some(TYPE_BUDGET_EXHAUSTED.into()),
                            Some(format!(
                                "AWS throttled or did not answer the calls that list {t} within {} of retries",
                                crate::util::duration::format(budget)
                            )),
                        )),
                    )
                })
                .collect()
        }
    }
}

/// The error code of a type whose retry budget ran out.
pub const TYPE_BUDGET_EXHAUSTED: &str = "RetryBudgetExhausted";

#[cfg(test)]
mod tests;
