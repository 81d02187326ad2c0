//! Human renderings: [`render_text`] for a [`StateDiff`] and
//! [`unified_text_diff`] for the `--text` view.

use std::io::{self, Write};
use std::time::Duration;

use serde_json::Value;
use similar::TextDiff;

use super::{DiffOptions, StateDiff};
use crate::state::sensitive::{self, REDACTED};
use crate::state::{self, ParseError};

/// Writes a human rendering of `d`:
///
/// ```text
/// serial 17 -> 18, lineage 6a1c… (unchanged)
/// + aws_s3_bucket.logs
/// - aws_instance.web[1] (deposed object 00000001)
/// ~ aws_instance.web[0]
///     instance_type: "t3.micro" -> "t3.large"
/// outputs:
///   + bucket
/// 1 added, 1 removed, 1 changed
/// ```
///
/// Values are printed as compact JSON exactly as they are in `d` (so already
/// redacted unless the diff was made with `show_sensitive`).
pub fn render_text(d: &StateDiff, w: &mut impl Write) -> io::Result<()> {
    if d.from.lineage == d.to.lineage {
        writeln!(
            w,
            "serial {} -> {}, lineage {} (unchanged)",
            d.from.serial, d.to.serial, d.to.lineage
        )?;
    } else {
        writeln!(
            w,
            "serial {} -> {}, lineage CHANGED {} -> {}",
            d.from.serial, d.to.serial, d.from.lineage, d.to.lineage
        )?;
    }
    for a in &d.added {
        writeln!(w, "+ {a}")?;
    }
    for r in &d.removed {
        writeln!(w, "- {r}")?;
    }
    for c in &d.changed {
        writeln!(w, "~ {}", c.address)?;
        for ch in &c.attributes {
            writeln!(
                w,
                "    {}: {} -> {}",
                ch.path,
                compact(&ch.before),
                compact(&ch.after)
            )?;
        }
    }
    let o = &d.outputs;
    if !(o.added.is_empty() && o.removed.is_empty() && o.changed.is_empty()) {
        writeln!(w, "outputs:")?;
        for n in &o.added {
            writeln!(w, "  + {n}")?;
        }
        for n in &o.removed {
            writeln!(w, "  - {n}")?;
        }
        for n in &o.changed {
            writeln!(w, "  ~ {n}")?;
        }
    }
    writeln!(
        w,
        "{} added, {} removed, {} changed",
        d.summary.added, d.summary.removed, d.summary.changed
    )
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "?".to_owned())
}

/// A unified line diff (as `diff -u`) of two states, for the `--text` view.
///
/// Both states are parsed (they must be valid v4 states), normalised to
/// pretty JSON with sorted keys (like `jq -S .`) and — unless
/// `opts.show_sensitive` — redacted first: secret attribute values (declared
/// `sensitive_attributes` and the name rule of
/// [`crate::state::sensitive`]), values of `sensitive` outputs and every
/// instance's `private` blob become `"(sensitive)"`. So secrets do not leak
/// by default. The diff is computed with `similar` (Myers, at most 30 s;
/// past that it is still correct but may be less minimal).
///
/// This builds full `Value` trees and text for both states: it is meant for
/// the explicit `--text` flag, not for the default fast path ([`super::diff`]).
pub fn unified_text_diff(
    a: &[u8],
    b: &[u8],
    a_label: &str,
    b_label: &str,
    opts: &DiffOptions,
) -> Result<String, ParseError> {
    let ta = normalised_text(a, opts.show_sensitive)?;
    let tb = normalised_text(b, opts.show_sensitive)?;
    let diff = TextDiff::configure()
        .timeout(Duration::from_secs(30))
        .diff_lines(&ta, &tb);
    Ok(diff
        .unified_diff()
        .context_radius(3)
        .header(a_label, b_label)
        .to_string())
}

/// Pretty, key-sorted JSON of a state, redacted unless `show_sensitive`.
fn normalised_text(bytes: &[u8], show_sensitive: bool) -> Result<String, ParseError> {
    let st = state::parse(bytes)?;
    let mut v: Value = serde_json::from_slice(bytes).map_err(|e| ParseError::Invalid {
        message: e.to_string(),
    })?;
    if !show_sensitive {
        redact_state_value(&mut v, &st);
    }
    let mut text = serde_json::to_string_pretty(&v).map_err(|e| ParseError::Invalid {
        message: e.to_string(),
    })?;
    text.push('\n');
    Ok(text)
}

/// Redacts a whole-state Value using the declared sensitive paths of the
/// parsed model (resources and instances are in the same order in both).
fn redact_state_value(v: &mut Value, st: &state::State<'_>) {
    if let Some(outputs) = v.get_mut("outputs").and_then(Value::as_object_mut) {
        for o in st.outputs.iter().filter(|o| o.sensitive) {
            if let Some(val) = outputs
                .get_mut(o.name.as_ref())
                .and_then(|x| x.get_mut("value"))
            {
                *val = Value::String(REDACTED.to_owned());
            }
        }
    }
    let Some(resources) = v.get_mut("resources").and_then(Value::as_array_mut) else {
        return;
    };
    for (rv, r) in resources.iter_mut().zip(&st.resources) {
        let Some(instances) = rv.get_mut("instances").and_then(Value::as_array_mut) else {
            continue;
        };
        for (iv, inst) in instances.iter_mut().zip(&r.instances) {
            if let Some(attrs) = iv.get_mut("attributes") {
                sensitive::redact_in_place(attrs, &mut Vec::new(), &inst.sensitive_attributes);
            }
            if let Some(Value::Object(flat)) = iv.get_mut("attributes_flat") {
                for (k, val) in flat.iter_mut() {
                    if sensitive::is_secret_name(k) {
                        *val = Value::String(REDACTED.to_owned());
                    }
                }
            }
            if let Some(p) = iv.get_mut("private") {
                if !p.is_null() {
                    *p = Value::String(REDACTED.to_owned());
                }
            }
        }
    }
}
