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

pub mod dynamodb;
pub mod eks;
pub mod ignore;
pub mod rds;
pub mod s3;

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

pub use ignore::IgnoreRules;

/// Test hook, read only in [`scan`]: a comma-separated list of resource
/// types whose enumeration fails with AccessDenied as if IAM had refused it
/// (e.g. `aws_rds_cluster`). For tests of the `not_checked` path on an
/// emulator without IAM; never set it in production.
pub const TEST_DENY_TYPES_VAR: &str = "STATEWARD_TEST_DENY_TYPES";

/// How a supported type is identified and whether it can be unmanaged.
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
}

/// Every supported type.
pub fn supported_types() -> impl Iterator<Item = &'static TypeSpec> {
    s3::TYPES
        .iter()
        .chain(dynamodb::TYPES)
        .chain(eks::TYPES)
        .chain(rds::TYPES)
}

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
    /// Region from the ARN, else the `region` attribute, else `None` (the
    /// scan's region).
    pub region: Option<String>,
}

/// The managed, current (not deposed) resource instances of a state.
pub fn state_resources(state: &State<'_>) -> Vec<StateResource> {
    let mut out = Vec::new();
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
    out
}

/// A raw JSON `null`.
pub fn null_raw() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).expect("`null` is JSON")
}

/// The region of a resource: the ARN's region field when it has one, else
/// its `region` attribute.
pub fn region_of(attrs: &Value) -> Option<String> {
    if let Some(arn) = attr_str(attrs, "arn") {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() == 6 && parts[0] == "arn" && !parts[3].is_empty() {
            return Some(parts[3].to_owned());
        }
    }
    attr_str(attrs, "region").map(str::to_owned)
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

/// Live objects per type.
pub type Inventory = BTreeMap<String, TypeScan>;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeDrift {
    /// Rendered path, as `diff` prints it (`vpc_config[0].subnet_ids`).
    pub path: String,
    /// Value in state; `null` when absent; `"(sensitive)"` when redacted.
    pub state: Value,
    /// Value in AWS; `null` when absent; `"(sensitive)"` when redacted.
    pub live: Value,
}

/// One finding: `{"kind","address","type","id","attributes"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// Instance address; `null` for unmanaged objects.
    pub address: Option<String>,
    #[serde(rename = "type")]
    pub type_: String,
    pub id: String,
    /// The differing attributes (`changed` only).
    pub attributes: Vec<AttributeDrift>,
}

/// A resource or type that was not checked, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotChecked {
    #[serde(rename = "type")]
    pub type_: String,
    /// Instance address; `null` for a type that failed with no resource of it in the state.
    pub address: Option<String>,
    pub reason: String,
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
}

/// Options of [`compare`].
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// Report unmanaged objects.
    pub unmanaged: bool,
    pub scope: UnmanagedScope,
    /// The region the scan covers; resources elsewhere are not checked.
    pub region: Option<String>,
    /// `(type, id)` never reported as unmanaged (the state's own bucket and lock table).
    pub never_unmanaged: BTreeSet<(String, String)>,
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
    for r in resources {
        let not_checked = |reason: String| NotChecked {
            type_: r.type_.clone(),
            address: Some(r.address.clone()),
            reason,
        };
        if spec(&r.type_).is_none() {
            out.not_checked.push(not_checked(format!(
                "stateward does not check {} resources",
                r.type_
            )));
            continue;
        }
        let Some(id) = &r.id else {
            out.not_checked.push(not_checked(
                "its attributes do not give its identifier".into(),
            ));
            continue;
        };
        if let Some(rule) = ignore.resource_rule(&r.type_, id) {
            out.not_checked
                .push(not_checked(format!("ignored by rule `{rule}`")));
            continue;
        }
        if let (Some(rr), Some(scan)) = (&r.region, &opts.region) {
            if rr != scan {
                out.not_checked.push(not_checked(format!(
                    "it is in region {rr}; this scan covers {scan}"
                )));
                continue;
            }
        }
        let live = match inventory.get(&r.type_) {
            Some(TypeScan::Listed(objs)) => objs,
            Some(TypeScan::Failed(e)) => {
                out.not_checked.push(not_checked(failure_reason(e)));
                continue;
            }
            None => {
                out.not_checked
                    .push(not_checked("its type was not enumerated".into()));
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
        let state_attrs: Value = serde_json::from_str(r.attributes.get()).unwrap_or(Value::Null);
        for (dotted, live_value) in &obj.attrs {
            let path = parse_dotted(dotted);
            let Some(state_value) = state_value_at(&state_attrs, &path) else {
                continue;
            };
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
        for (type_, scan) in inventory {
            let Some(spec) = spec(type_) else { continue };
            if !spec.unmanaged {
                continue;
            }
            match scan {
                TypeScan::Listed(objs) => {
                    let known = state_ids.get(type_.as_str());
                    for o in objs {
                        if known.is_some_and(|k| k.contains(o.id.as_str()))
                            || opts
                                .never_unmanaged
                                .contains(&(type_.clone(), o.id.clone()))
                            || !opts.scope.contains(o)
                            || ignore.resource_rule(type_, &o.id).is_some()
                        {
                            continue;
                        }
                        out.findings.push(Finding {
                            kind: Kind::Unmanaged,
                            address: None,
                            type_: type_.clone(),
                            id: o.id.clone(),
                            attributes: Vec::new(),
                        });
                    }
                }
                TypeScan::Failed(e) => {
                    if !resources.iter().any(|r| &r.type_ == type_) {
                        out.not_checked.push(NotChecked {
                            type_: type_.clone(),
                            address: None,
                            reason: failure_reason(e),
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

/// How a scan runs.
pub struct ScanOptions {
    pub unmanaged: bool,
    pub scope: UnmanagedScope,
    pub concurrency: usize,
    pub naive: bool,
    pub ignore: IgnoreRules,
    pub never_unmanaged: BTreeSet<(String, String)>,
    /// Called with one line per finished type family (progress display).
    pub progress: Option<Progress>,
}

/// How one state version matches live AWS (`versions --against-live`, and
/// `restore --last-good` choosing among healthy versions).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
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
        region: aws.region(),
        never_unmanaged: opts.never_unmanaged.clone(),
    }
}

/// Enumerates the live objects `resources` need (list calls, shared), for
/// one or several [`compare`]s (e.g. every version of a history).
pub async fn inventory(
    aws: &Aws,
    resources: &[StateResource],
    opts: &ScanOptions,
) -> Result<Inventory, AwsError> {
    let region = aws.region();
    let mut req = ScanRequest {
        unmanaged: opts.unmanaged,
        scope: opts.scope.clone(),
        concurrency: opts.concurrency,
        naive: opts.naive,
        ..ScanRequest::default()
    };
    for r in resources {
        let Some(spec) = spec(&r.type_) else { continue };
        let Some(id) = &r.id else { continue };
        if r.region.is_some() && region.is_some() && r.region != region {
            continue;
        }
        req.wanted.insert(spec.name);
        req.managed.entry(spec.name).or_default().insert(id.clone());
    }
    if opts.unmanaged {
        req.wanted
            .extend(supported_types().filter(|s| s.unmanaged).map(|s| s.name));
    }
    // The one place the test hook is read.
    let denied: BTreeSet<String> = std::env::var(TEST_DENY_TYPES_VAR)
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let mut inventory = Inventory::new();
    for t in &denied {
        if let Some(spec) = spec(t) {
            if req.wanted.remove(spec.name) {
                inventory.insert(
                    t.clone(),
                    TypeScan::Failed(AwsError::new(
                        "List",
                        format!("{t} (denied by {TEST_DENY_TYPES_VAR})"),
                        AwsErrorKind::AccessDenied,
                        Some("AccessDenied".into()),
                        None,
                    )),
                );
            }
        }
    }
    // The tags S3 and DynamoDB both need, in one paginated pass that runs
    // while they list and describe.
    let tags = (!req.naive && (req.wants(s3::BUCKET) || req.wants(dynamodb::TABLE)))
        .then(|| SharedTags::new(aws));
    req.tags = tags.clone();
    let wants = |types: &[TypeSpec]| types.iter().any(|t| req.wants(t.name));
    let started = std::time::Instant::now();
    let report = |family: &str, part: &[(&'static str, TypeScan)]| {
        tracing::debug!(
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
            p(&format!("{family}: {}", counts.join(", ")));
        }
    };
    type Part = Vec<(&'static str, TypeScan)>;
    let mut families: Vec<BoxFuture<'_, Part>> = Vec::new();
    if let Some(t) = &tags {
        families.push(
            async {
                t.get().await;
                tracing::debug!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "tag index read"
                );
                Part::new()
            }
            .boxed(),
        );
    }
    let report = &report;
    let scans: [(&[TypeSpec], &'static str, BoxFuture<'_, Part>); 4] = [
        (s3::TYPES, "S3", s3::scan(aws, &req).boxed()),
        (
            dynamodb::TYPES,
            "DynamoDB",
            dynamodb::scan(aws, &req).boxed(),
        ),
        (eks::TYPES, "EKS", eks::scan(aws, &req).boxed()),
        (rds::TYPES, "RDS", rds::scan(aws, &req).boxed()),
    ];
    for (types, name, scan) in scans {
        if wants(types) {
            families.push(
                scan.map(move |r| {
                    report(name, &r);
                    r
                })
                .boxed(),
            );
        }
    }
    // The services are scanned at once; the naive baseline scans one after
    // the other, as it makes one call at a time.
    let parts: Vec<Part> = if req.naive {
        let mut parts = Vec::new();
        for f in families {
            parts.push(f.await);
        }
        parts
    } else {
        futures::future::join_all(families).await
    };
    for (t, s) in parts.into_iter().flatten() {
        if let TypeScan::Failed(e) = &s {
            if matches!(e.kind, AwsErrorKind::Credentials | AwsErrorKind::Config) {
                return Err(e.clone());
            }
        }
        inventory.insert(t.to_owned(), s);
    }
    Ok(inventory)
}

#[cfg(test)]
mod tests;
