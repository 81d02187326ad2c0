//! The ignore file (`.statewardignore`, or `--ignore FILE`; driftctl's
//! `.driftignore` when there is no `.statewardignore`), with driftctl's
//! `.driftignore` semantics:
//!
//! ```text
//! # a comment
//! aws_s3_bucket.my-logs               # one resource: TYPE.ID
//! aws_dynamodb_table.*                # every resource of a type
//! aws_db_instance.*.tags.CostCenter   # one attribute path (TYPE.ID.path)
//! *.*.tags                            # `*` matches any run of characters
//! !aws_s3_bucket.prod-artifacts       # negation: re-include
//! aws_s3_bucket.logs\.example\.com    # `\.` is a literal dot in an ID
//! ```
//!
//! The last matching rule decides (a `!` rule un-ignores). A rule without an
//! attribute path covers the whole resource (it is not checked and never
//! reported unmanaged); a rule with one covers that attribute and everything
//! beneath it. Attribute paths are dotted with list indices as numbers
//! (`vpc_config.0.subnet_ids`). Built-in rules come first, so a user's `!`
//! rule can undo them: the autoscaler-owned node-group desired size,
//! `aws_eks_node_group.*.scaling_config.0.desired_size`.

use std::io;
use std::path::Path;

use crate::config::{IgnoreChanges, IgnoreChangesMap, IgnoreFile};
use crate::error::{Error, Result};
use crate::output::Stderr;

/// driftctl's ignore file, read when there is no `.statewardignore`.
pub const DRIFTCTL_IGNORE_FILE: &str = ".driftignore";

/// The ignore rules of a run: the ignore `file` (when it is optional and
/// missing, driftctl's `.driftignore` beside it, said on `err`), plus
/// `lifecycle.ignore_changes` of the Terraform configuration in
/// `terraform_dir`.
pub fn load(file: IgnoreFile, terraform_dir: Option<&Path>, err: &Stderr) -> Result<IgnoreRules> {
    let IgnoreFile { mut path, required } = file;
    let mut text = match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if !required && e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => return Err(Error::ReadFile { path, source }),
    };
    // driftctl users: their `.driftignore` when there is no `.statewardignore`.
    if text.is_none() {
        let driftctl = path.with_file_name(DRIFTCTL_IGNORE_FILE);
        match std::fs::read_to_string(&driftctl) {
            Ok(t) => {
                err.line(format_args!(
                    "stateward: no {} here; using driftctl's {} (same syntax)",
                    path.display(),
                    driftctl.display()
                ));
                text = Some(t);
                path = driftctl;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::ReadFile {
                    path: driftctl,
                    source,
                })
            }
        }
    }
    let rules = IgnoreRules::parse(text.as_deref())
        .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    Ok(match terraform_dir {
        Some(dir) => rules.with_ignore_changes(crate::config::read_ignore_changes(dir)?),
        None => rules,
    })
}

/// A rule of the user's that matched no resource, with a hint when it looks
/// like a Terraform address where an AWS ID belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    pub rule: String,
    pub hint: Option<String>,
}

/// One resource as ignore rules see it: its type, live ID and address.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub type_: &'a str,
    pub id: Option<&'a str>,
    pub address: &'a str,
}

/// Rules applied before the user's.
pub const DEFAULT_RULES: &[&str] = &[
    "aws_eks_node_group.*.scaling_config.0.desired_size",
    "aws_autoscaling_group.*.desired_capacity",
    "aws_ecs_service.*.desired_count",
];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    negated: bool,
    type_: String,
    id: String,
    attr: Option<String>,
    text: String,
}

/// A parsed ignore file, plus the Terraform configuration's
/// `lifecycle.ignore_changes` when it was read (`--backend-dir`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
    /// By resource address without instance keys.
    ignore_changes: IgnoreChangesMap,
}

/// `module.a["x"].aws_b.c[0]` -> `module.a.aws_b.c`: the configuration
/// address of an instance address (quoted keys may contain brackets).
pub fn config_address(instance: &str) -> String {
    let mut out = String::with_capacity(instance.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in instance.chars() {
        if depth > 0 {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ']' if !quoted => depth -= 1,
                '[' if !quoted => depth += 1,
                _ => {}
            }
        } else if c == '[' {
            depth = 1;
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits on unescaped dots, unescaping `\.`.
fn split_unescaped(s: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                if let Some(p) = parts.last_mut() {
                    p.push('.');
                }
            }
            '.' => parts.push(String::new()),
            c => {
                if let Some(p) = parts.last_mut() {
                    p.push(c)
                }
            }
        }
    }
    parts
}

/// `*` matches any run of characters (dots included).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl IgnoreRules {
    /// Parses an ignore file; `None` text means no file. The built-in rules
    /// are always included first. An error names the line.
    pub fn parse(text: Option<&str>) -> Result<IgnoreRules, String> {
        let mut rules = Vec::new();
        for line in DEFAULT_RULES {
            rules.push(Self::rule(line).map_err(|e| format!("built-in rule {line}: {e}"))?);
        }
        for (n, raw) in text.unwrap_or_default().lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = match line.find(" #") {
                Some(i) => line[..i].trim_end(),
                None => line,
            };
            rules.push(Self::rule(line).map_err(|e| format!("line {}: {e}", n + 1))?);
        }
        Ok(IgnoreRules {
            rules,
            ignore_changes: IgnoreChangesMap::new(),
        })
    }

    /// Adds the configuration's `lifecycle.ignore_changes`.
    pub fn with_ignore_changes(mut self, map: IgnoreChangesMap) -> Self {
        self.ignore_changes = map;
        self
    }

    /// Whether the configuration's `ignore_changes` of the resource at
    /// `instance_address` covers a differing attribute (dotted path).
    pub fn ignore_changes_covers(&self, instance_address: &str, path: &str) -> bool {
        match self.ignore_changes.get(&config_address(instance_address)) {
            Some(IgnoreChanges::All) => true,
            Some(IgnoreChanges::Paths(paths)) => paths.iter().any(|p| {
                path == p
                    || path
                        .strip_prefix(p.as_str())
                        .is_some_and(|r| r.starts_with('.'))
            }),
            None => false,
        }
    }

    fn rule(line: &str) -> Result<Rule, String> {
        let (negated, body) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, line),
        };
        if body.is_empty() {
            return Err(format!(
                "`{line}` names nothing; write TYPE.ID, TYPE.* or TYPE.ID.attribute.path"
            ));
        }
        if body.contains(char::is_whitespace) {
            return Err(format!(
                "`{line}` contains spaces; write TYPE.ID, TYPE.* or TYPE.ID.attribute.path"
            ));
        }
        let mut parts = split_unescaped(body);
        let type_ = parts.remove(0);
        let id = if parts.is_empty() {
            "*".to_owned()
        } else {
            parts.remove(0)
        };
        if type_.is_empty() || id.is_empty() {
            return Err(format!("`{line}` has an empty type or ID"));
        }
        let attr = (!parts.is_empty()).then(|| parts.join("."));
        Ok(Rule {
            negated,
            type_,
            id,
            attr,
            text: line.to_owned(),
        })
    }

    /// The user's rules (not the built-in ones) that match none of
    /// `resources`, in file order. A rule whose ID is a Terraform resource
    /// name of its type (`aws_s3_bucket.logs` for `aws_s3_bucket.logs` whose
    /// bucket is `acme-logs`), or that starts with `module.`/`data.`, gets a
    /// hint: rules name AWS IDs, not Terraform addresses.
    pub fn unmatched(&self, resources: &[Seen<'_>]) -> Vec<Unmatched> {
        let user = self.rules.iter().skip(DEFAULT_RULES.len());
        user.filter(|r| {
            !resources.iter().any(|s| {
                glob(&r.type_, s.type_)
                    && match s.id {
                        Some(id) => glob(&r.id, id),
                        None => r.id.chars().all(|c| c == '*'),
                    }
            })
        })
        .map(|r| Unmatched {
            rule: r.text.clone(),
            hint: Self::address_hint(r, resources),
        })
        .collect()
    }

    fn address_hint(r: &Rule, resources: &[Seen<'_>]) -> Option<String> {
        if r.type_ == "module" || r.type_ == "data" {
            return Some(format!(
                "`{}` looks like a Terraform address; ignore rules name TYPE.AWS_ID (e.g. aws_s3_bucket.my-bucket-name)",
                r.text
            ));
        }
        let by_name = resources.iter().find(|s| {
            s.type_ == r.type_
                && config_address(s.address).ends_with(&format!("{}.{}", r.type_, r.id))
        })?;
        let id = by_name.id?;
        Some(format!(
            "`{}` is the Terraform name of {}; ignore rules match the AWS ID: write `{}.{}`",
            r.text,
            by_name.address,
            r.type_,
            id.replace('.', "\\.")
        ))
    }

    /// The rule that makes a whole resource ignored, if the last matching
    /// resource-level rule is not a negation.
    pub fn resource_rule(&self, type_: &str, id: &str) -> Option<&str> {
        self.rules
            .iter()
            .rev()
            .find(|r| r.attr.is_none() && glob(&r.type_, type_) && glob(&r.id, id))
            .filter(|r| !r.negated)
            .map(|r| r.text.as_str())
    }

    /// Whether a differing attribute (dotted path) is ignored.
    pub fn attribute_ignored(&self, type_: &str, id: &str, path: &str) -> bool {
        self.rules
            .iter()
            .rev()
            .find(|r| {
                glob(&r.type_, type_)
                    && glob(&r.id, id)
                    && match &r.attr {
                        None => true,
                        Some(a) => {
                            glob(a, path) || {
                                // A rule on a path covers everything beneath it.
                                let mut prefix = String::new();
                                path.split('.').any(|seg| {
                                    if !prefix.is_empty() {
                                        prefix.push('.');
                                    }
                                    prefix.push_str(seg);
                                    glob(a, &prefix)
                                })
                            }
                        }
                    }
            })
            .is_some_and(|r| !r.negated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_that_match_nothing_are_found_with_a_hint_for_addresses() {
        let rules = IgnoreRules::parse(Some(
            "aws_s3_bucket.acme-logs\naws_s3_bucket.logs\naws_iam_role.*\nmodule.eks.aws_eks_cluster.this\naws_sqs_queue.gone\n!aws_s3_bucket.acme-*\n",
        ))
        .unwrap();
        let seen = [
            Seen {
                type_: "aws_s3_bucket",
                id: Some("acme-logs"),
                address: "aws_s3_bucket.logs",
            },
            Seen {
                type_: "aws_s3_bucket",
                id: Some("acme.data"),
                address: "module.m.aws_s3_bucket.data[0]",
            },
        ];
        let got = rules.unmatched(&seen);
        let rules_of: Vec<&str> = got.iter().map(|u| u.rule.as_str()).collect();
        // Built-in rules are never reported, even though nothing here has
        // a node group.
        assert_eq!(
            rules_of,
            [
                "aws_s3_bucket.logs",
                "aws_iam_role.*",
                "module.eks.aws_eks_cluster.this",
                "aws_sqs_queue.gone"
            ]
        );
        assert_eq!(
            got[0].hint.as_deref(),
            Some("`aws_s3_bucket.logs` is the Terraform name of aws_s3_bucket.logs; ignore rules match the AWS ID: write `aws_s3_bucket.acme-logs`")
        );
        assert_eq!(got[1].hint, None);
        assert!(got[2]
            .hint
            .as_deref()
            .unwrap()
            .contains("looks like a Terraform address"));
        assert_eq!(got[3].hint, None);
        // A dotted ID is written escaped.
        let rules = IgnoreRules::parse(Some("aws_s3_bucket.data\n")).unwrap();
        let got = rules.unmatched(&seen);
        assert!(
            got[0]
                .hint
                .as_deref()
                .unwrap()
                .ends_with("write `aws_s3_bucket.acme\\.data`"),
            "{got:?}"
        );
    }

    #[test]
    fn config_addresses_drop_instance_keys() {
        let cases = [
            ("aws_s3_bucket.logs", "aws_s3_bucket.logs"),
            ("aws_s3_bucket.logs[0]", "aws_s3_bucket.logs"),
            (
                r#"module.eks["blue"].aws_eks_node_group.this["a[1]"]"#,
                "module.eks.aws_eks_node_group.this",
            ),
            (r#"aws_x.y["q\"]"]"#, "aws_x.y"),
        ];
        for (instance, want) in cases {
            assert_eq!(config_address(instance), want, "{instance}");
        }
    }

    #[test]
    fn ignore_changes_cover_paths_beneath_them() {
        let rules = IgnoreRules::parse(None)
            .unwrap()
            .with_ignore_changes(IgnoreChangesMap::from([
                (
                    "module.eks.aws_eks_node_group.this".to_owned(),
                    IgnoreChanges::Paths(vec!["labels".into(), "scaling_config.0.max_size".into()]),
                ),
                ("aws_db_instance.db".to_owned(), IgnoreChanges::All),
            ]));
        let ng = r#"module.eks.aws_eks_node_group.this["blue"]"#;
        assert!(rules.ignore_changes_covers(ng, "labels"));
        assert!(rules.ignore_changes_covers(ng, "labels.pool"));
        assert!(rules.ignore_changes_covers(ng, "scaling_config.0.max_size"));
        assert!(!rules.ignore_changes_covers(ng, "scaling_config.0.min_size"));
        assert!(!rules.ignore_changes_covers(ng, "labelsx"));
        assert!(rules.ignore_changes_covers("aws_db_instance.db", "instance_class"));
        assert!(!rules.ignore_changes_covers("aws_db_instance.other", "instance_class"));
    }

    #[test]
    fn glob_table() {
        let cases = [
            ("*", "", true),
            ("*", "anything.at.all", true),
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("a*c", "abbbc", true),
            ("a*c", "abbb", false),
            ("*-logs", "prod-logs", true),
            ("prod-*", "dev-logs", false),
            ("a*b*c", "axxbyyc", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(glob(p, t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn resource_and_attribute_rules_table() {
        let file = "\
# comment
aws_s3_bucket.logs
aws_dynamodb_table.*
!aws_dynamodb_table.keep-me
aws_db_instance.*.tags.CostCenter
aws_eks_cluster.main.vpc_config   # trailing comment
aws_s3_bucket.www\\.example\\.com
";
        let r = IgnoreRules::parse(Some(file)).unwrap();
        // (type, id, attribute or None, ignored?)
        let cases: &[(&str, &str, Option<&str>, bool)] = &[
            ("aws_s3_bucket", "logs", None, true),
            ("aws_s3_bucket", "logs", Some("tags.Name"), true),
            ("aws_s3_bucket", "data", None, false),
            ("aws_s3_bucket", "www.example.com", None, true),
            ("aws_s3_bucket", "wwwxexample.com", None, false),
            ("aws_dynamodb_table", "anything", None, true),
            ("aws_dynamodb_table", "keep-me", None, false),
            ("aws_dynamodb_table", "keep-me", Some("billing_mode"), false),
            ("aws_db_instance", "db1", None, false),
            ("aws_db_instance", "db1", Some("tags.CostCenter"), true),
            ("aws_db_instance", "db1", Some("tags.Owner"), false),
            (
                "aws_eks_cluster",
                "main",
                Some("vpc_config.0.subnet_ids"),
                true,
            ),
            ("aws_eks_cluster", "main", Some("version"), false),
            (
                "aws_eks_node_group",
                "c:ng",
                Some("scaling_config.0.desired_size"),
                true,
            ),
            (
                "aws_eks_node_group",
                "c:ng",
                Some("scaling_config.0.max_size"),
                false,
            ),
        ];
        for (t, id, attr, want) in cases {
            let got = match attr {
                None => r.resource_rule(t, id).is_some(),
                Some(a) => r.attribute_ignored(t, id, a),
            };
            assert_eq!(got, *want, "{t}.{id} {attr:?}");
        }
    }

    #[test]
    fn negation_undoes_the_built_in_desired_size_rule() {
        let r = IgnoreRules::parse(Some("!aws_eks_node_group.*.scaling_config.0.desired_size"))
            .unwrap();
        assert!(!r.attribute_ignored(
            "aws_eks_node_group",
            "c:ng",
            "scaling_config.0.desired_size"
        ));
        let none = IgnoreRules::parse(None).unwrap();
        assert!(none.attribute_ignored(
            "aws_eks_node_group",
            "c:ng",
            "scaling_config.0.desired_size"
        ));
    }

    #[test]
    fn bad_lines_name_their_line() {
        let e = IgnoreRules::parse(Some("# ok\n\n!\n")).unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
        let e = IgnoreRules::parse(Some("aws_s3_bucket..x")).unwrap_err();
        assert!(e.contains("empty type or ID"), "{e}");
        // TYPE alone means every resource of the type.
        let r = IgnoreRules::parse(Some("aws_s3_bucket")).unwrap();
        assert!(r.resource_rule("aws_s3_bucket", "x").is_some());
    }
}
