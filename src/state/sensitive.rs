//! Deciding which attribute values are secrets, and redacting them.
//!
//! A value at an attribute path is secret when any of these holds:
//!
//! 1. **Declared**: the path lies under (or equals, or contains) a path listed
//!    in the instance's `sensitive_attributes`. A declared path covers
//!    everything beneath it; a value *containing* a declared path (e.g. a
//!    whole block reported at once) is secret too.
//! 2. **Name rule**: some object-key segment of the path looks like a secret
//!    name (see [`is_secret_name`]).
//! 3. **Outputs**: an output with `sensitive: true` is secret as a whole.
//!
//! Redacted values render as the string [`REDACTED`] (`(sensitive)`).

use serde_json::Value;

/// What a redacted value renders as.
pub const REDACTED: &str = "(sensitive)";

/// One step of an attribute path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    /// An object attribute or map key (`get_attr`, or `index` by string).
    Key(String),
    /// A list/tuple element (`index` by number).
    Index(u64),
}

/// An attribute path: a sequence of steps from the instance's attributes.
pub type AttrPath = Vec<PathStep>;

/// Renders a path: identifiers joined with `.` (`tags.Name`), list indices
/// as `[0]` (`ingress[0].cidr_blocks[1]`), and keys that are not HCL-style
/// identifiers (`[A-Za-z_][A-Za-z0-9_-]*`) as a JSON-quoted index
/// (`labels["k8s.io/x"]`). A leading non-identifier key renders as
/// `["key"]`.
pub fn render_path(path: &[PathStep]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathStep::Key(k) if is_identifier(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathStep::Key(k) => {
                out.push('[');
                out.push_str(&serde_json::to_string(k).unwrap_or_else(|_| format!("{k:?}")));
                out.push(']');
            }
            PathStep::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Words that make a segment secret on their own.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwords",
    "passwd",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "tokens",
    "credential",
    "credentials",
    "kubeconfig",
    "apikey",
    "auth",
];

/// Adjacent word pairs that make a segment secret.
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("private", "key"),
    ("access", "key"),
    ("secret", "key"),
    ("api", "key"),
    ("client", "secret"),
    ("master", "password"),
];

/// Substrings that make a segment secret even without word boundaries
/// (`adminpassword`, `masterPasswd`).
const SECRET_SUBSTRINGS: &[&str] = &["password", "passwd", "kubeconfig", "apikey"];

/// A last word that says the segment names metadata *about* a secret, not
/// the secret itself (`secret_arn`, `password_length`, `auth_type`).
const METADATA_LAST_WORDS: &[&str] = &[
    "arn",
    "arns",
    "id",
    "ids",
    "name",
    "names",
    "type",
    "types",
    "mode",
    "method",
    "methods",
    "enabled",
    "ttl",
    "length",
    "expiration",
    "expiry",
    "policy",
    "rotation",
    "count",
];

/// The name rule: whether an attribute or key name marks a secret.
///
/// The segment is split into lower-cased words at non-alphanumeric
/// characters and camelCase boundaries (`clientSecret` → `client`,
/// `secret`; `APIKey` → `api`, `key`). It is secret when
/// * a word is one of `password(s)`, `passwd`, `passphrase`, `secret(s)`,
///   `token(s)`, `credential(s)`, `kubeconfig`, `apikey`, `auth`; or
/// * two adjacent words are `private key`, `access key`, `secret key`,
///   `api key`, `client secret` or `master password`; or
/// * the lower-cased segment contains `password`, `passwd`, `kubeconfig` or
///   `apikey` anywhere;
///
/// unless its last word names metadata (`arn`, `id`, `name`, `type`,
/// `mode`, `method`, `enabled`, `ttl`, `length`, `expiration`, `policy`,
/// `rotation`, `count` and plurals), e.g. `secret_arn`, `auth_type`,
/// `minimum_password_length`, `access_key_id`.
///
/// Whole words avoid false positives such as `author`, `authorization`,
/// `oauth_scopes`, `tokenizer`. Certificate authority data
/// (`certificate_authority`) is public and is not matched.
pub fn is_secret_name(segment: &str) -> bool {
    let words = split_words(segment);
    let Some(last) = words.last() else {
        return false;
    };
    if METADATA_LAST_WORDS.contains(&last.as_str()) {
        return false;
    }
    if words.iter().any(|w| SECRET_WORDS.contains(&w.as_str())) {
        return true;
    }
    if words
        .windows(2)
        .any(|p| SECRET_PAIRS.contains(&(p[0].as_str(), p[1].as_str())))
    {
        return true;
    }
    let lower = segment.to_ascii_lowercase();
    SECRET_SUBSTRINGS.iter().any(|s| lower.contains(s))
}

fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Whether `path` overlaps one of the declared sensitive paths: it lies
/// under one of them, or one of them lies under it.
pub fn is_declared_sensitive(path: &[PathStep], declared: &[AttrPath]) -> bool {
    declared.iter().any(|d| {
        let n = d.len().min(path.len());
        d[..n] == path[..n]
    })
}

/// Whether the value at `path` must be redacted: declared sensitive (see
/// [`is_declared_sensitive`]) or some key segment matches
/// [`is_secret_name`].
pub fn is_sensitive(path: &[PathStep], declared: &[AttrPath]) -> bool {
    is_declared_sensitive(path, declared)
        || path.iter().any(|s| match s {
            PathStep::Key(k) => is_secret_name(k),
            PathStep::Index(_) => false,
        })
}

/// Replaces, in place, every secret value under `value` (which sits at
/// `path`) with [`REDACTED`]. Structure (objects, arrays) is kept where it
/// is not itself secret, so a reader still sees which keys exist.
pub fn redact_in_place(value: &mut Value, path: &mut AttrPath, declared: &[AttrPath]) {
    let declared_here = declared
        .iter()
        .any(|d| d.len() <= path.len() && path[..d.len()] == d[..]);
    let named = matches!(path.last(), Some(PathStep::Key(k)) if is_secret_name(k));
    if declared_here || named {
        if !value.is_null() {
            *value = Value::String(REDACTED.to_owned());
        }
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                path.push(PathStep::Key(k.clone()));
                redact_in_place(v, path, declared);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                path.push(PathStep::Index(i as u64));
                redact_in_place(v, path, declared);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The value to show for `value` at `path`: the value itself, or
/// [`REDACTED`] when [`is_sensitive`] says so (unless `show_sensitive`).
/// `null` (absent) is never redacted, so additions and removals stay
/// visible.
pub fn shown_value(
    value: Option<&Value>,
    path: &[PathStep],
    declared: &[AttrPath],
    show_sensitive: bool,
) -> Value {
    match value {
        None | Some(Value::Null) => Value::Null,
        Some(v) if show_sensitive || !is_sensitive(path, declared) => v.clone(),
        Some(_) => Value::String(REDACTED.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> PathStep {
        PathStep::Key(s.to_owned())
    }

    #[test]
    fn name_rule_table() {
        let secret = [
            "password",
            "master_password",
            "masterPassword",
            "adminpassword",
            "passwd",
            "db_passwd",
            "secret",
            "client_secret",
            "clientSecret",
            "webhook_secret",
            "secret_string",
            "token",
            "auth_token",
            "bearer_token",
            "private_key",
            "private_key_pem",
            "privateKey",
            "access_key",
            "secret_key",
            "api_key",
            "apikey",
            "APIKey",
            "x-api-key",
            "credentials",
            "credential",
            "auth",
            "basic_auth",
            "kubeconfig",
            "kube_config_raw_kubeconfig",
            "passphrase",
            "TOKEN",
        ];
        let public = [
            "author",
            "authors",
            "authorization",
            "oauth_scopes",
            "tokenizer",
            "certificate_authority",
            "certificate_authority_data",
            "secret_arn",
            "secret_id",
            "auth_type",
            "minimum_password_length",
            "access_key_id",
            "kms_key_id",
            "name",
            "tags",
            "arn",
            "public_key",
            "key_name",
            "description",
            "",
            "keys",
            "secretive",
        ];
        for s in secret {
            assert!(is_secret_name(s), "{s} should be secret");
        }
        for s in public {
            assert!(!is_secret_name(s), "{s} should not be secret");
        }
    }

    #[test]
    fn declared_paths_cover_descendants_and_ancestors() {
        let declared = vec![vec![k("connection"), k("password")], vec![k("user_data")]];
        assert!(is_declared_sensitive(&[k("user_data")], &declared));
        assert!(is_declared_sensitive(
            &[k("connection"), k("password"), PathStep::Index(0)],
            &declared
        ));
        assert!(is_declared_sensitive(&[k("connection")], &declared));
        assert!(!is_declared_sensitive(
            &[k("connection"), k("host")],
            &declared
        ));
        assert!(!is_declared_sensitive(&[k("tags")], &declared));

        let indexed = vec![vec![k("ingress"), PathStep::Index(1), k("description")]];
        assert!(is_declared_sensitive(
            &[k("ingress"), PathStep::Index(1), k("description")],
            &indexed
        ));
        assert!(!is_declared_sensitive(
            &[k("ingress"), PathStep::Index(0), k("description")],
            &indexed
        ));
    }

    #[test]
    fn sensitive_combines_rules() {
        assert!(is_sensitive(&[k("tags"), k("api_token")], &[]));
        assert!(!is_sensitive(&[k("tags"), k("Name")], &[]));
        assert!(is_sensitive(&[k("tags"), k("Name")], &[vec![k("tags")]]));
    }

    #[test]
    fn render_paths() {
        assert_eq!(render_path(&[k("tags"), k("Name")]), "tags.Name");
        assert_eq!(
            render_path(&[
                k("ingress"),
                PathStep::Index(0),
                k("cidr_blocks"),
                PathStep::Index(1)
            ]),
            "ingress[0].cidr_blocks[1]"
        );
        assert_eq!(
            render_path(&[k("labels"), k("k8s.io/x")]),
            "labels[\"k8s.io/x\"]"
        );
        assert_eq!(render_path(&[k("a b")]), "[\"a b\"]");
        assert_eq!(render_path(&[k("tags"), k("a\"b")]), "tags[\"a\\\"b\"]");
        assert_eq!(render_path(&[k("x-y")]), "x-y");
    }

    #[test]
    fn redact_in_place_keeps_structure() {
        let mut v: Value = serde_json::from_str(
            r#"{"name":"db","password":"hunter2","tags":{"Owner":"me"},
                "nested":[{"token":"t","host":"h"}],"user_data":"x","gone":null}"#,
        )
        .unwrap();
        let declared = vec![vec![k("user_data")]];
        redact_in_place(&mut v, &mut Vec::new(), &declared);
        assert_eq!(v["name"], "db");
        assert_eq!(v["password"], REDACTED);
        assert_eq!(v["tags"]["Owner"], "me");
        assert_eq!(v["nested"][0]["token"], REDACTED);
        assert_eq!(v["nested"][0]["host"], "h");
        assert_eq!(v["user_data"], REDACTED);
        assert!(v["gone"].is_null());
    }

    #[test]
    fn shown_value_redacts_unless_asked() {
        let v = Value::String("hunter2".into());
        let p = [k("password")];
        assert_eq!(shown_value(Some(&v), &p, &[], false), REDACTED);
        assert_eq!(shown_value(Some(&v), &p, &[], true), "hunter2");
        assert_eq!(shown_value(None, &p, &[], false), Value::Null);
    }
}
