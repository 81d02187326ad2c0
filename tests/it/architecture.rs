//! The module graph has no cycles.
//!
//! Derived from the source text: every `crate::a::…` path (in `use` lines,
//! grouped `use crate::{a, b::c}` included, and in expressions), every
//! `super::…` path resolved against the file's (and inline module's)
//! position, and `self::…`. Nodes are the top-level modules of `src/`, and,
//! one level down, the submodules of `config`. `cli` is the edge: it may
//! depend on everything, nothing may depend on it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Modules whose submodules are nodes of their own (one level down).
const SPLIT: &[&str] = &["config"];
/// The command-line edge: a sink nothing else may import.
const EDGE: &str = "cli";

#[test]
fn top_level_modules_form_no_cycle() {
    let edges = module_edges();
    let top: BTreeMap<String, BTreeSet<String>> = collapse(&edges, top_of);
    let into_edge: Vec<_> = top
        .iter()
        .filter(|(from, to)| from.as_str() != EDGE && to.contains(EDGE))
        .map(|(from, _)| from.clone())
        .collect();
    assert!(
        into_edge.is_empty(),
        "nothing may depend on `{EDGE}`, but these do: {into_edge:?}"
    );
    let mut graph = top;
    graph.remove(EDGE);
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn split_modules_submodules_form_no_cycle() {
    let edges = module_edges();
    for parent in SPLIT {
        let prefix = format!("{parent}::");
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, tos) in &edges {
            let Some(_) = from.strip_prefix(&prefix) else {
                continue;
            };
            for to in tos {
                if to.starts_with(&prefix) && to != from {
                    graph.entry(from.clone()).or_default().insert(to.clone());
                }
            }
        }
        if let Some(cycle) = find_cycle(&graph) {
            panic!("module cycle inside `{parent}`: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_deriver_sees_paths_of_every_form() {
    let src = r#"
        use crate::a::X;
        use crate::{b, c::{D, E}};
        // use crate::commented::Out;
        let s = "crate::in_string::Out";
        fn f() { crate::d::call(); }
        mod inner { use super::super::e::Y; use super::Z; }
        macro_rules! m { () => { super::Elsewhere } }
    "#;
    let got = references(src, &["m".to_string(), "n".to_string()]);
    let firsts: BTreeSet<String> = got.iter().map(|p| p.join("::")).collect();
    let want: BTreeSet<String> = ["a::X", "b", "c::D", "c::E", "d::call", "m::e::Y", "m::n::Z"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(firsts, want);
}

/// `from node -> to nodes`, with nodes as `top` or `split::sub`.
fn module_edges() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&root).expect("under src");
        let Some(module) = module_path(rel) else {
            continue;
        };
        let text = fs::read_to_string(&file).expect("readable source");
        let from = node_of(&module);
        for path in references(&text, &module) {
            if path.is_empty() {
                continue;
            }
            let to = node_of(&path);
            if to != from && !to.is_empty() {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    edges
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `config/envfile.rs` -> `[config, envfile]`; `store/mod.rs` -> `[store]`;
/// `lib.rs` and `main.rs` are the crate root (not a node).
fn module_path(rel: &Path) -> Option<Vec<String>> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    if parts.is_empty() && (stem == "lib" || stem == "main") {
        return None;
    }
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    Some(parts)
}

/// The graph node a module path belongs to.
fn node_of(path: &[String]) -> String {
    let Some(top) = path.first() else {
        return String::new();
    };
    if SPLIT.contains(&top.as_str()) {
        if let Some(sub) = path.get(1) {
            // Only real submodules are nodes; `config::Item` is the facade.
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(top);
            if dir.join(format!("{sub}.rs")).exists() || dir.join(sub).is_dir() {
                return format!("{top}::{sub}");
            }
        }
    }
    top.clone()
}

fn top_of(node: &str) -> String {
    node.split("::").next().unwrap_or(node).to_string()
}

fn collapse(
    edges: &BTreeMap<String, BTreeSet<String>>,
    f: impl Fn(&str) -> String,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in edges {
        for to in tos {
            let (a, b) = (f(from), f(to));
            if a != b {
                out.entry(a).or_default().insert(b);
            }
        }
    }
    out
}

/// A cycle, as `a -> b -> … -> a`, if the graph has one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Open);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, marks, stack) {
                return Some(c);
            }
        }
        stack.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

/// Every crate-relative path the source names, resolved to absolute module
/// paths (without `crate`). `module` is the file's own module path.
fn references(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let tokens = tokenize(text);
    let mut out = Vec::new();
    // Inline modules: (name, brace depth at which its body opened).
    let mut inline: Vec<(String, usize)> = Vec::new();
    // Inside a `macro_rules!` body (the depth it opened at): `super::` and
    // `self::` there resolve where the macro is used, not here.
    let mut in_macro: Option<usize> = None;
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        match t {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                if in_macro == Some(depth) {
                    in_macro = None;
                }
            }
            "macro_rules" if in_macro.is_none() && tokens.get(i + 3).is_some_and(|t| t == "{") => {
                in_macro = Some(depth);
            }
            "mod" if tokens.get(i + 2).is_some_and(|t| t == "{") => {
                inline.push((tokens[i + 1].clone(), depth));
            }
            _ => {}
        }
        let here: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(n, _)| n.clone()))
            .collect();
        let base: Option<(Vec<String>, usize)> = if t == "crate" && next_is_path(&tokens, i) {
            Some((Vec::new(), i + 2))
        } else if (t == "super" || t == "self")
            && in_macro.is_none()
            && next_is_path(&tokens, i)
            && (i == 0 || tokens[i - 1] != "::")
        {
            let mut base = here.clone();
            let mut j = i;
            if t == "self" {
                j += 2;
            } else {
                while tokens.get(j).is_some_and(|t| t == "super") && next_is_path(&tokens, j) {
                    base.pop();
                    j += 2;
                }
            }
            Some((base, j))
        } else {
            None
        };
        if let Some((base, j)) = base {
            let end = path_tail(&tokens, j, base, &mut out);
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

fn next_is_path(tokens: &[String], i: usize) -> bool {
    tokens.get(i + 1).is_some_and(|t| t == "::")
}

/// Reads `a::b::{c, d::e}` starting at `tokens[j]`, pushing each full path.
/// Returns the index after the path.
fn path_tail(
    tokens: &[String],
    mut j: usize,
    mut base: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        match tokens.get(j).map(String::as_str) {
            Some("{") => {
                // A group: each comma-separated item is its own path.
                j += 1;
                loop {
                    match tokens.get(j).map(String::as_str) {
                        Some("}") => return j + 1,
                        Some(",") => j += 1,
                        Some(_) => {
                            j = path_tail(tokens, j, base.clone(), out);
                            // Skip `as alias`.
                            if tokens.get(j).is_some_and(|t| t == "as") {
                                j += 2;
                            }
                        }
                        None => return j,
                    }
                }
            }
            Some(t) if is_ident(t) => {
                if t != "self" {
                    base.push(t.to_string());
                }
                if next_is_path(tokens, j) {
                    j += 2;
                    continue;
                }
                out.push(base);
                return j + 1;
            }
            _ => {
                // `*` or the end: the path so far.
                out.push(base);
                return j + 1;
            }
        }
    }
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Identifiers, `::` and single punctuation; comments, strings and char
/// literals dropped.
fn tokenize(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut level = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    level += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    level -= 1;
                    i += 2;
                    if level == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('#') || next == Some('"'))
            && raw_string_start(&chars, i).is_some()
        {
            let (hashes, body) = raw_string_start(&chars, i).unwrap_or((0, i));
            i = body;
            while i < chars.len() {
                if chars[i] == '"' && (0..hashes).all(|k| chars.get(i + 1 + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
        } else if c == 'b' && next == Some('"') {
            i += 1;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '{') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && next == Some(':') {
            out.push("::".into());
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

/// At `r"`/`r#"`: the number of `#` and the index of the body.
fn raw_string_start(chars: &[char], i: usize) -> Option<(usize, usize)> {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    let mut j = i + 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (chars.get(j) == Some(&'"')).then_some((hashes, j + 1))
}

#[test]
#[ignore = "prints the derived graph: cargo test --test it architecture:: -- --ignored --nocapture"]
fn print_graph() {
    for (from, tos) in module_edges() {
        println!(
            "{from} -> {}",
            tos.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
}
