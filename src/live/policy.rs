//! IAM policy documents compared as documents, never as strings.
//!
//! The AWS provider stores normalised JSON (sorted keys, its own choice of
//! string or list); IAM returns documents URL-encoded, in its own key order,
//! with a single string where the state has a one-element list and account
//! IDs sometimes as root ARNs. [`normalize`] brings both to one form:
//! statements as a list sorted by content, `Action`/`Resource`/principal and
//! condition values as sorted, de-duplicated lists of strings, account IDs
//! as `arn:aws:iam::ID:root`, empty `Sid`s dropped.

use serde_json::{Map, Value};

/// Parses a policy document as the state or an API gives it: JSON, or
/// URL-encoded JSON (IAM's `GetAccountAuthorizationDetails`, `GetRolePolicy`).
/// `None` when it is neither.
pub fn parse_document(text: &str) -> Option<Value> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Some(v);
    }
    let decoded = percent_decode(text)?;
    serde_json::from_str(&decoded).ok()
}

/// `%XX` and `+` decoding (application/x-www-form-urlencoded, as IAM encodes).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A document value (a JSON string or an already parsed object) in the
/// normalised form; a value that is not a document is returned unchanged.
pub fn normalize_value(v: &Value) -> Value {
    match v {
        Value::String(s) => match parse_document(s) {
            Some(doc) => normalize(&doc),
            None => v.clone(),
        },
        Value::Object(_) => normalize(v),
        other => other.clone(),
    }
}

/// The normalised form of a parsed policy document.
pub fn normalize(doc: &Value) -> Value {
    let Value::Object(m) = doc else {
        return doc.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        match k.as_str() {
            "Statement" => {
                let list: Vec<&Value> = match v {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                let mut statements: Vec<Value> = list.into_iter().map(statement).collect();
                statements.sort_by_cached_key(|s| s.to_string());
                out.insert(k.clone(), Value::Array(statements));
            }
            "Id" => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

fn statement(s: &Value) -> Value {
    let Value::Object(m) = s else {
        return s.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        let nv = match k.as_str() {
            "Sid" if v.as_str().is_some_and(str::is_empty) || v.is_null() => continue,
            "Action" | "NotAction" | "Resource" | "NotResource" => string_set(v, |s| s),
            "Principal" | "NotPrincipal" => principal(v),
            "Condition" => condition(v),
            _ => v.clone(),
        };
        out.insert(k.clone(), nv);
    }
    Value::Object(out)
}

/// A string or list as a sorted, de-duplicated list of strings.
fn string_set(v: &Value, map: impl Fn(String) -> String) -> Value {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut strings: Vec<String> = items.into_iter().map(|x| map(scalar_string(x))).collect();
    strings.sort();
    strings.dedup();
    Value::Array(strings.into_iter().map(Value::String).collect())
}

fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn principal(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let nv = if k == "AWS" {
                        string_set(v, account_root)
                    } else {
                        string_set(v, |s| s)
                    };
                    (k.clone(), nv)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `123456789012` -> `arn:aws:iam::123456789012:root` (IAM's own rewrite).
fn account_root(s: String) -> String {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("arn:aws:iam::{s}:root")
    } else {
        s
    }
}

fn condition(v: &Value) -> Value {
    match v {
        Value::Object(ops) => Value::Object(
            ops.iter()
                .map(|(op, keys)| {
                    let nk = match keys {
                        Value::Object(km) => Value::Object(
                            km.iter()
                                .map(|(k, vals)| (k.clone(), string_set(vals, |s| s)))
                                .collect(),
                        ),
                        other => other.clone(),
                    };
                    (op.clone(), nk)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn state_and_iam_forms_of_one_document_are_equal() {
        // As the provider stores it (sorted keys, one-element list).
        let state = r#"{"Statement":[{"Action":["sts:AssumeRole"],"Effect":"Allow","Principal":{"Service":["eks.amazonaws.com"]},"Sid":""}],"Version":"2012-10-17"}"#;
        // As IAM returns it: URL-encoded, its own key order, single strings.
        let iam = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22eks.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        assert_eq!(normalize_value(&json!(state)), normalize_value(&json!(iam)));
    }

    #[test]
    fn normalisation_table() {
        // (a, b, equal?)
        let cases = [
            // Statement order does not matter.
            (
                json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                    {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]}),
                json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Deny", "Action": ["s3:DeleteObject"], "Resource": ["*"]},
                    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}),
                true,
            ),
            // A single statement object is a one-element list.
            (
                json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}),
                json!({"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}]}),
                true,
            ),
            // Account ID and root ARN are the same principal.
            (
                json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}]}),
                json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]}, "Action": "sts:AssumeRole"}]}),
                true,
            ),
            // Condition values: string or list, booleans as strings.
            (
                json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": false}}}]}),
                json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}}]}),
                true,
            ),
            // Action lists in another order are the same set.
            (
                json!({"Statement": [{"Effect": "Allow", "Action": ["b:B", "a:A"], "Resource": "*"}]}),
                json!({"Statement": [{"Effect": "Allow", "Action": ["a:A", "b:B", "a:A"], "Resource": "*"}]}),
                true,
            ),
            // A changed action is a change.
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}),
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
                false,
            ),
            // A changed effect is a change.
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}),
                json!({"Statement": [{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]}),
                false,
            ),
        ];
        for (i, (a, b, equal)) in cases.iter().enumerate() {
            assert_eq!(normalize(a) == normalize(b), *equal, "case {i}");
        }
    }

    #[test]
    fn parses_plain_and_url_encoded_documents() {
        assert_eq!(parse_document(r#"{"a":1}"#), Some(json!({"a": 1})));
        assert_eq!(parse_document("%7B%22a%22%3A1%7D"), Some(json!({"a": 1})));
        assert_eq!(parse_document(""), None);
        assert_eq!(parse_document("not a document"), None);
        // Not a document: returned as it is.
        assert_eq!(normalize_value(&json!("x")), json!("x"));
    }
}
