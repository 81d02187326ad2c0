//! JSON Schemas of the `--format json` outputs, derived from the types that
//! serialise them (schemars), so a schema cannot drift from its output.
//! `stateward schema` prints them and writes `schemas/` (see `cli::meta`).
//!
//! Every schema is generated for the serialising side (a field is required
//! unless it can be skipped), as JSON Schema 2020-12, and closed: an object
//! with declared properties admits no others, so a new output field is a
//! schema change reviewers see.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{Map, Value};

/// Where the published schemas live; a schema's `$id` is this plus its file name.
pub const ID_BASE: &str = "https://stateward.dev/schemas/";

/// The file name of the schema called `name` (`versions.schema.json`).
pub fn file_name(name: &str) -> String {
    format!("{name}.schema.json")
}

/// The schema of what `T` serialises to, with its `$id`, `title` and
/// `description` (for the user: `T`'s own doc comment speaks to developers,
/// its fields' doc comments describe the fields).
pub fn schema_for<T: JsonSchema>(name: &str, title: &str, description: Option<&str>) -> Value {
    let generator = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    close_objects(&mut schema);
    if let Value::Object(map) = &mut schema {
        map.insert(
            "$id".into(),
            Value::String(format!("{ID_BASE}{}", file_name(name))),
        );
        map.insert("title".into(), Value::String(title.into()));
        match description {
            Some(text) => map.insert("description".into(), Value::String(text.into())),
            None => map.remove("description"),
        };
    }
    schema
}

/// The text of a schema file: pretty JSON (keys sorted) and a final newline.
pub fn file_text(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

/// `additionalProperties: false` on every object schema that declares
/// properties and says nothing about others (maps already say what their
/// values are; an object combined from `allOf`/`anyOf`/`oneOf` branches
/// cannot be closed this way, the branches' properties would be refused).
fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if is_open_struct(map) {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for value in map.values_mut() {
                close_objects(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

fn is_open_struct(map: &Map<String, Value>) -> bool {
    map.get("properties").is_some_and(Value::is_object)
        && !map.contains_key("additionalProperties")
        && !map.contains_key("unevaluatedProperties")
        && !["allOf", "anyOf", "oneOf"]
            .iter()
            .any(|k| map.contains_key(*k))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests only: a struct, a nested struct, a map and a skippable field.
    #[derive(serde::Serialize, JsonSchema)]
    #[allow(dead_code)]
    struct Demo {
        /// Always there.
        count: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        inner: Inner,
        tags: std::collections::BTreeMap<String, String>,
    }

    #[derive(serde::Serialize, JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        ok: bool,
    }

    #[test]
    fn schemas_are_closed_and_required_follows_serialisation() {
        let s = schema_for::<Demo>("demo", "a demo", None);
        assert_eq!(s["$id"], "https://stateward.dev/schemas/demo.schema.json");
        assert_eq!(s["title"], "a demo");
        assert!(
            s.get("description").is_none(),
            "the type's doc comment is not the schema's"
        );
        assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["required"], serde_json::json!(["count", "inner", "tags"]));
        assert_eq!(s["properties"]["count"]["description"], "Always there.");
        assert_eq!(s["$defs"]["Inner"]["additionalProperties"], false);
        assert_eq!(
            s["properties"]["tags"]["additionalProperties"]["type"],
            "string"
        );
        assert!(file_text(&s).ends_with("}\n"));
    }
}
