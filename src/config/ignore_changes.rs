//! `lifecycle { ignore_changes = [...] }` of a Terraform configuration
//! (`--backend-dir DIR`), so that drift does not report differences
//! Terraform itself is told to leave alone.
//!
//! The root module's `*.tf` files are read, then its child modules': those
//! `terraform init` installed (`.terraform/modules/modules.json`), else local
//! `source = "./..."` paths. Each reference becomes a dotted attribute path
//! as the ignore file writes them: `tags["Team"]` is `tags.Team`,
//! `scaling_config[0].desired_size` is `scaling_config.0.desired_size`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::structure::{Attribute, Body};
use hcl_edit::Span;

use super::backend_dir::tf_files;
use super::error::{ConfigError, ConfigErrorKind};
use super::source::Source;

/// What one resource's `ignore_changes` covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreChanges {
    /// `ignore_changes = all`.
    All,
    /// Dotted attribute paths.
    Paths(Vec<String>),
}

/// Resource address (`module.eks.aws_eks_node_group.this`, no instance
/// keys) -> what its `ignore_changes` covers.
pub type IgnoreChangesMap = BTreeMap<String, IgnoreChanges>;

/// Module nesting is followed this deep at most (a guard against cycles).
const MAX_MODULE_DEPTH: usize = 16;

/// Reads the `ignore_changes` of every resource of the configuration in `dir`.
pub fn read_ignore_changes(dir: &Path) -> Result<IgnoreChangesMap, ConfigError> {
    let mut out = IgnoreChangesMap::new();
    match installed_modules(dir)? {
        Some(modules) => {
            for (prefix, module_dir) in modules {
                read_module(&module_dir, &prefix, &mut out, None)?;
            }
        }
        None => read_module(dir, "", &mut out, Some(0))?,
    }
    Ok(out)
}

/// `(address prefix, directory)` of the root module and every installed
/// module, from `.terraform/modules/modules.json` (`None` before `terraform init`).
fn installed_modules(dir: &Path) -> Result<Option<Vec<(String, PathBuf)>>, ConfigError> {
    let path = dir.join(".terraform/modules/modules.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::in_file(
                &path,
                ConfigErrorKind::Io {
                    what: "Terraform module manifest".into(),
                    source,
                },
            ))
        }
    };
    #[derive(serde::Deserialize)]
    struct Manifest {
        #[serde(rename = "Modules", default)]
        modules: Vec<Module>,
    }
    #[derive(serde::Deserialize)]
    struct Module {
        #[serde(rename = "Key")]
        key: String,
        #[serde(rename = "Dir")]
        dir: String,
    }
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        ConfigError::in_file(
            &path,
            ConfigErrorKind::Syntax {
                message: format!("not a Terraform module manifest: {e}"),
            },
        )
    })?;
    let mut out = vec![(String::new(), dir.to_path_buf())];
    for m in manifest.modules.into_iter().filter(|m| !m.key.is_empty()) {
        // Key `a.b` is module "b" inside module "a".
        let prefix: String = m.key.split('.').map(|k| format!("module.{k}.")).collect();
        out.push((prefix, dir.join(m.dir)));
    }
    Ok(Some(out))
}

/// Reads one module directory; with `depth`, follows local module sources.
fn read_module(
    dir: &Path,
    prefix: &str,
    out: &mut IgnoreChangesMap,
    depth: Option<usize>,
) -> Result<(), ConfigError> {
    for path in tf_files(dir)? {
        let src = Source::read(&path, "Terraform file")?;
        let body = src.parse()?;
        read_body(&src, &body, prefix, out)?;
        let Some(depth) = depth.filter(|d| *d < MAX_MODULE_DEPTH) else {
            continue;
        };
        for module in body.get_blocks("module") {
            let Some(name) = module.labels.first().map(|l| l.as_str().to_owned()) else {
                continue;
            };
            let source = module
                .body
                .get_attribute("source")
                .and_then(|a| match &a.value {
                    Expression::String(s) => Some(s.value().to_owned()),
                    _ => None,
                });
            if let Some(local) = source.filter(|s| s.starts_with("./") || s.starts_with("../")) {
                let child = dir.join(local);
                if child.is_dir() {
                    read_module(
                        &child,
                        &format!("{prefix}module.{name}."),
                        out,
                        Some(depth + 1),
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn read_body(
    src: &Source,
    body: &Body,
    prefix: &str,
    out: &mut IgnoreChangesMap,
) -> Result<(), ConfigError> {
    for resource in body.get_blocks("resource") {
        let [type_, name] = &resource.labels[..] else {
            continue;
        };
        for lifecycle in resource.body.get_blocks("lifecycle") {
            if let Some(attr) = lifecycle.body.get_attribute("ignore_changes") {
                out.insert(
                    format!("{prefix}{}.{}", type_.as_str(), name.as_str()),
                    ignore_changes(src, attr)?,
                );
            }
        }
    }
    Ok(())
}

fn ignore_changes(src: &Source, attr: &Attribute) -> Result<IgnoreChanges, ConfigError> {
    let wrong = |span| {
        src.error(
            span,
            ConfigErrorKind::Syntax {
                message: "ignore_changes must be `all` or a list of attribute references such as [tags, scaling_config[0].desired_size]".into(),
            },
        )
    };
    match &attr.value {
        Expression::Variable(v) if v.as_str() == "all" => Ok(IgnoreChanges::All),
        Expression::Array(items) => items
            .iter()
            .map(|e| reference_path(e).ok_or_else(|| wrong(e.span())))
            .collect::<Result<Vec<_>, _>>()
            .map(IgnoreChanges::Paths),
        other => Err(wrong(other.span())),
    }
}

/// `tags["Team"]` -> `tags.Team`; the pre-0.12 quoted form `"tags"` too.
fn reference_path(e: &Expression) -> Option<String> {
    match e {
        Expression::Variable(v) => Some(v.as_str().to_owned()),
        Expression::String(s) => Some(s.value().to_owned()),
        Expression::Traversal(t) => {
            let Expression::Variable(base) = &t.expr else {
                return None;
            };
            let mut parts = vec![base.as_str().to_owned()];
            for op in &t.operators {
                parts.push(match op.value() {
                    TraversalOperator::GetAttr(i) => i.as_str().to_owned(),
                    TraversalOperator::LegacyIndex(n) => n.value().to_string(),
                    TraversalOperator::Index(Expression::Number(n)) => n.value().to_string(),
                    TraversalOperator::Index(Expression::String(s)) => s.value().to_owned(),
                    _ => return None,
                });
            }
            Some(parts.join("."))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn reads_references_all_and_local_modules() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "main.tf",
            r#"
resource "aws_s3_bucket" "logs" {
  bucket = "logs"
  lifecycle {
    ignore_changes = [tags["Team"], "region"]
  }
}
resource "aws_db_instance" "db" {
  lifecycle { ignore_changes = all }
}
resource "aws_dynamodb_table" "plain" {}
module "eks" {
  source = "./modules/eks"
}
module "remote" {
  source = "terraform-aws-modules/eks/aws"
}
"#,
        );
        write(
            d.path(),
            "modules/eks/main.tf",
            r#"
resource "aws_eks_node_group" "this" {
  for_each = var.groups
  lifecycle {
    ignore_changes = [scaling_config[0].desired_size, labels]
  }
}
"#,
        );
        let m = read_ignore_changes(d.path()).unwrap();
        assert_eq!(
            m.get("aws_s3_bucket.logs"),
            Some(&IgnoreChanges::Paths(vec![
                "tags.Team".into(),
                "region".into()
            ]))
        );
        assert_eq!(m.get("aws_db_instance.db"), Some(&IgnoreChanges::All));
        assert_eq!(
            m.get("module.eks.aws_eks_node_group.this"),
            Some(&IgnoreChanges::Paths(vec![
                "scaling_config.0.desired_size".into(),
                "labels".into()
            ]))
        );
        assert_eq!(m.len(), 3, "{m:?}");
    }

    #[test]
    fn installed_modules_come_from_the_manifest() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "main.tf",
            "module \"eks\" {\n  source = \"x/y/aws\"\n}\n",
        );
        write(
            d.path(),
            ".terraform/modules/modules.json",
            r#"{"Modules":[{"Key":"","Source":"","Dir":"."},{"Key":"eks","Source":"x/y/aws","Dir":".terraform/modules/eks"},{"Key":"eks.nodes","Source":"./nodes","Dir":".terraform/modules/eks/nodes"}]}"#,
        );
        write(
            d.path(),
            ".terraform/modules/eks/main.tf",
            "resource \"aws_eks_cluster\" \"this\" {\n  lifecycle {\n    ignore_changes = [version]\n  }\n}\n",
        );
        write(
            d.path(),
            ".terraform/modules/eks/nodes/main.tf",
            "resource \"aws_eks_node_group\" \"this\" {\n  lifecycle {\n    ignore_changes = all\n  }\n}\n",
        );
        let m = read_ignore_changes(d.path()).unwrap();
        assert_eq!(
            m.get("module.eks.aws_eks_cluster.this"),
            Some(&IgnoreChanges::Paths(vec!["version".into()]))
        );
        assert_eq!(
            m.get("module.eks.module.nodes.aws_eks_node_group.this"),
            Some(&IgnoreChanges::All)
        );
    }

    #[test]
    fn a_non_reference_is_an_error_with_its_line() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "main.tf",
            "resource \"aws_s3_bucket\" \"b\" {\n  lifecycle {\n    ignore_changes = [\"a\", 1 + 2]\n  }\n}\n",
        );
        let e = read_ignore_changes(d.path()).unwrap_err().to_string();
        assert!(
            e.contains("main.tf:3") && e.contains("ignore_changes must be"),
            "{e}"
        );
    }
}
