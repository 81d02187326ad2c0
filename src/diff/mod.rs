//! Semantic diff of two parsed states, at resource-instance granularity.
//!
//! * Objects are matched by address. A current object is identified by its
//!   instance address (`aws_instance.web[0]`), a deposed object by its
//!   instance address plus ` (deposed object KEY)`; each deposed object is its
//!   own entry in `added` / `removed` / `changed`.
//! * Objects present on both sides are first compared by the raw bytes of
//!   their `attributes` (cheap, no allocation); only when the bytes differ
//!   are both sides parsed into [`serde_json::Value`] and walked to find the
//!   leaf paths that differ. Bytes that differ only in key order or
//!   whitespace therefore produce no change.
//! * Paths are rendered by [`crate::state::sensitive::render_path`]
//!   (`tags.Name`, `ingress[0].cidr_blocks[1]`, `labels["k8s.io/x"]`).
//!   Lists are compared index by index. A value absent on one side, or
//!   `null`, shows as `null`. An object or list present on one side only is
//!   expanded to its leaves (an empty one is reported whole).
//! * Instance metadata that matters is reported under pseudo-paths:
//!   `(status)` (tainted), `(dependencies)` (compared as sets),
//!   `(schema_version)`, `(create_before_destroy)` and, for the resource,
//!   `(provider)`. `private`, `identity` and `sensitive_attributes`
//!   themselves are not compared.
//! * Values are redacted to `"(sensitive)"` per
//!   [`crate::state::sensitive`] (declared paths of either side, and the
//!   name rule) unless [`DiffOptions::show_sensitive`].
//! * Outputs are reported by name only (values never appear). An output is
//!   changed when its value (semantically), type or sensitivity changed.
//! * Order: `added` and `changed` follow the new state's file order,
//!   `removed` the old state's.

mod render;

use std::collections::HashMap;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

pub use render::{render_text, unified_text_diff};

use crate::state::address;
use crate::state::sensitive::{self, AttrPath, PathStep};
use crate::state::{Instance, Resource, State};

/// Options of [`diff`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// Show secret values instead of `"(sensitive)"`.
    pub show_sensitive: bool,
}

/// The difference between two states. Serialises as
/// `{"from","to","added","removed","changed","outputs","summary"}`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StateDiff {
    /// Serial and lineage of the old state.
    pub from: Side,
    /// Serial and lineage of the new state.
    pub to: Side,
    /// Addresses of objects only in the new state.
    pub added: Vec<String>,
    /// Addresses of objects only in the old state.
    pub removed: Vec<String>,
    /// Objects in both states whose attributes or metadata differ.
    pub changed: Vec<ChangedInstance>,
    /// Output names added, removed, changed.
    pub outputs: OutputChanges,
    /// Counts of `added`, `removed`, `changed`.
    pub summary: Summary,
}

impl StateDiff {
    /// No difference between two sides whose bytes are identical (used for
    /// OpenTofu encrypted states, which are compared on their bytes only).
    pub fn identical(from: Side, to: Side) -> StateDiff {
        StateDiff {
            from,
            to,
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
            outputs: OutputChanges::default(),
            summary: Summary::default(),
        }
    }

    /// Whether nothing differs (serial and lineage aside).
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.outputs.added.is_empty()
            && self.outputs.removed.is_empty()
            && self.outputs.changed.is_empty()
    }
}

/// `{"serial","lineage"}` of one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Side {
    /// `serial`.
    pub serial: u64,
    /// `lineage`.
    pub lineage: String,
}

/// One changed object: `{"address","attributes":[..]}`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ChangedInstance {
    /// Instance address (with ` (deposed object KEY)` for a deposed object).
    pub address: String,
    /// The differing leaf paths and pseudo-paths.
    pub attributes: Vec<AttributeChange>,
}

/// One differing path: `{"path","before","after"}`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct AttributeChange {
    /// Rendered path (`tags.Name`) or pseudo-path (`(status)`).
    pub path: String,
    /// Old value; `null` when absent; `"(sensitive)"` when redacted.
    pub before: Value,
    /// New value; `null` when absent; `"(sensitive)"` when redacted.
    pub after: Value,
}

/// Output names: `{"added","removed","changed"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct OutputChanges {
    /// Outputs only in the new state.
    pub added: Vec<String>,
    /// Outputs only in the old state.
    pub removed: Vec<String>,
    /// Outputs whose value, type or sensitivity changed.
    pub changed: Vec<String>,
}

/// `{"added","removed","changed"}` counts of objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// Number of added objects.
    pub added: usize,
    /// Number of removed objects.
    pub removed: usize,
    /// Number of changed objects.
    pub changed: usize,
}

/// One object (current or deposed) with its address.
struct Obj<'s, 'a> {
    address: String,
    resource: &'s Resource<'a>,
    instance: &'s Instance<'a>,
}

fn objects<'s, 'a>(state: &'s State<'a>) -> Vec<Obj<'s, 'a>> {
    let mut out = Vec::new();
    for r in &state.resources {
        let ra = r.address();
        for inst in &r.instances {
            let ia = address::instance_address(&ra, inst.index_key.as_ref());
            let address = match &inst.deposed {
                Some(d) => address::deposed_address(&ia, d),
                None => ia,
            };
            out.push(Obj {
                address,
                resource: r,
                instance: inst,
            });
        }
    }
    out
}

/// Computes the difference from `a` (old) to `b` (new). See the module docs.
pub fn diff(a: &State<'_>, b: &State<'_>, opts: &DiffOptions) -> StateDiff {
    let objs_a = objects(a);
    let objs_b = objects(b);
    let index_a: HashMap<&str, usize> = objs_a
        .iter()
        .enumerate()
        .map(|(i, o)| (o.address.as_str(), i))
        .collect();
    let mut matched = vec![false; objs_a.len()];

    let mut added = Vec::new();
    let mut changed = Vec::new();
    for ob in &objs_b {
        match index_a.get(ob.address.as_str()) {
            None => added.push(ob.address.clone()),
            Some(&i) => {
                matched[i] = true;
                let attributes = compare(&objs_a[i], ob, opts);
                if !attributes.is_empty() {
                    changed.push(ChangedInstance {
                        address: ob.address.clone(),
                        attributes,
                    });
                }
            }
        }
    }
    let removed: Vec<String> = objs_a
        .iter()
        .zip(&matched)
        .filter(|(_, m)| !**m)
        .map(|(o, _)| o.address.clone())
        .collect();

    let outputs = diff_outputs(a, b);
    let summary = Summary {
        added: added.len(),
        removed: removed.len(),
        changed: changed.len(),
    };
    StateDiff {
        from: Side {
            serial: a.serial,
            lineage: a.lineage.to_string(),
        },
        to: Side {
            serial: b.serial,
            lineage: b.lineage.to_string(),
        },
        added,
        removed,
        changed,
        outputs,
        summary,
    }
}

fn diff_outputs(a: &State<'_>, b: &State<'_>) -> OutputChanges {
    let in_a: HashMap<&str, &crate::state::Output<'_>> =
        a.outputs.iter().map(|o| (o.name.as_ref(), o)).collect();
    let in_b: HashMap<&str, &crate::state::Output<'_>> =
        b.outputs.iter().map(|o| (o.name.as_ref(), o)).collect();
    let mut out = OutputChanges::default();
    for ob in &b.outputs {
        match in_a.get(ob.name.as_ref()) {
            None => out.added.push(ob.name.to_string()),
            Some(oa) => {
                if oa.sensitive != ob.sensitive
                    || !raw_equal(oa.value, ob.value)
                    || !raw_equal(oa.type_, ob.type_)
                {
                    out.changed.push(ob.name.to_string());
                }
            }
        }
    }
    for oa in &a.outputs {
        if !in_b.contains_key(oa.name.as_ref()) {
            out.removed.push(oa.name.to_string());
        }
    }
    out
}

/// Semantic equality of two optional raw values: byte equality first, a
/// parse only when the bytes differ. Absent equals `null`.
fn raw_equal(a: Option<&RawValue>, b: Option<&RawValue>) -> bool {
    let a = a.map(RawValue::get).unwrap_or("null");
    let b = b.map(RawValue::get).unwrap_or("null");
    a == b || to_value(a) == to_value(b)
}

fn to_value(raw: &str) -> Value {
    // The raw text was validated by the state parser, so this cannot fail;
    // null is a safe fallback all the same.
    serde_json::from_str(raw).unwrap_or(Value::Null)
}

fn pseudo(path: &str, before: Value, after: Value) -> AttributeChange {
    AttributeChange {
        path: path.to_owned(),
        before,
        after,
    }
}

fn compare(oa: &Obj<'_, '_>, ob: &Obj<'_, '_>, opts: &DiffOptions) -> Vec<AttributeChange> {
    let (a, b) = (oa.instance, ob.instance);
    let mut out = Vec::new();
    if oa.resource.provider != ob.resource.provider {
        out.push(pseudo(
            "(provider)",
            Value::String(oa.resource.provider.to_string()),
            Value::String(ob.resource.provider.to_string()),
        ));
    }
    if a.status != b.status {
        let s = |v: &Option<std::borrow::Cow<'_, str>>| {
            v.as_ref()
                .map_or(Value::Null, |s| Value::String(s.to_string()))
        };
        out.push(pseudo("(status)", s(&a.status), s(&b.status)));
    }
    if a.schema_version != b.schema_version {
        out.push(pseudo(
            "(schema_version)",
            a.schema_version.into(),
            b.schema_version.into(),
        ));
    }
    if a.create_before_destroy != b.create_before_destroy {
        out.push(pseudo(
            "(create_before_destroy)",
            a.create_before_destroy.into(),
            b.create_before_destroy.into(),
        ));
    }
    let mut deps_a: Vec<&str> = a.dependencies.iter().map(|d| d.as_ref()).collect();
    let mut deps_b: Vec<&str> = b.dependencies.iter().map(|d| d.as_ref()).collect();
    deps_a.sort_unstable();
    deps_a.dedup();
    deps_b.sort_unstable();
    deps_b.dedup();
    if deps_a != deps_b {
        out.push(pseudo("(dependencies)", deps_a.into(), deps_b.into()));
    }

    let raw_a = a.attributes.map(RawValue::get);
    let raw_b = b.attributes.map(RawValue::get);
    let same_bytes = raw_a == raw_b && flat_equal(a, b);
    if !same_bytes {
        let va = attributes_value(a);
        let vb = attributes_value(b);
        if va != vb {
            let mut declared: Vec<AttrPath> = a.sensitive_attributes.clone();
            declared.extend(b.sensitive_attributes.iter().cloned());
            let mut leaves = Vec::new();
            walk(&mut Vec::new(), Some(&va), Some(&vb), &mut leaves);
            for (path, before, after) in leaves {
                out.push(AttributeChange {
                    path: sensitive::render_path(&path),
                    before: sensitive::shown_value(before, &path, &declared, opts.show_sensitive),
                    after: sensitive::shown_value(after, &path, &declared, opts.show_sensitive),
                });
            }
        }
    }
    out
}

fn flat_equal(a: &Instance<'_>, b: &Instance<'_>) -> bool {
    a.attributes_flat == b.attributes_flat
}

/// The instance's attributes as a Value: `attributes`, else
/// `attributes_flat` as an object of strings (flat keys kept verbatim),
/// else null.
fn attributes_value(i: &Instance<'_>) -> Value {
    if let Some(raw) = i.attributes {
        return to_value(raw.get());
    }
    match &i.attributes_flat {
        Some(flat) => Value::Object(
            flat.iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
        ),
        None => Value::Null,
    }
}

type Leaf<'v> = (AttrPath, Option<&'v Value>, Option<&'v Value>);

/// Collects the leaf paths where `a` and `b` differ. `None` and `null` are
/// the same (absent).
fn walk<'v>(
    path: &mut AttrPath,
    a: Option<&'v Value>,
    b: Option<&'v Value>,
    out: &mut Vec<Leaf<'v>>,
) {
    let a = a.filter(|v| !v.is_null());
    let b = b.filter(|v| !v.is_null());
    match (a, b) {
        (None, None) => {}
        (Some(Value::Object(ma)), Some(Value::Object(mb))) => {
            for (k, va) in ma {
                path.push(PathStep::Key(k.clone()));
                walk(path, Some(va), mb.get(k), out);
                path.pop();
            }
            for (k, vb) in mb {
                if !ma.contains_key(k) {
                    path.push(PathStep::Key(k.clone()));
                    walk(path, None, Some(vb), out);
                    path.pop();
                }
            }
        }
        (Some(Value::Array(xa)), Some(Value::Array(xb))) => {
            for i in 0..xa.len().max(xb.len()) {
                path.push(PathStep::Index(i as u64));
                walk(path, xa.get(i), xb.get(i), out);
                path.pop();
            }
        }
        (Some(Value::Object(m)), None) if !m.is_empty() => {
            for (k, v) in m {
                path.push(PathStep::Key(k.clone()));
                walk(path, Some(v), None, out);
                path.pop();
            }
        }
        (None, Some(Value::Object(m))) if !m.is_empty() => {
            for (k, v) in m {
                path.push(PathStep::Key(k.clone()));
                walk(path, None, Some(v), out);
                path.pop();
            }
        }
        (Some(Value::Array(x)), None) if !x.is_empty() => {
            for (i, v) in x.iter().enumerate() {
                path.push(PathStep::Index(i as u64));
                walk(path, Some(v), None, out);
                path.pop();
            }
        }
        (None, Some(Value::Array(x))) if !x.is_empty() => {
            for (i, v) in x.iter().enumerate() {
                path.push(PathStep::Index(i as u64));
                walk(path, None, Some(v), out);
                path.pop();
            }
        }
        (a, b) => {
            if a != b {
                out.push((path.clone(), a, b));
            }
        }
    }
}

#[cfg(test)]
mod tests;
