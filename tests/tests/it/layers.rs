//! The runtime's modules form layers: every `crate::` path in a module (imports and paths in
//! code alike, test code included, comments aside) points to a module below it, never back up.
//! A path through a name the crate root re-exports counts as a path to the module it comes from.
//! docs/architecture.md draws the layers this test computes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn source_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tars-mqtt/src")
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The top-level modules, each with its source text (comments removed).
fn modules() -> BTreeMap<String, String> {
    let root = source_root();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for file in rust_files(&root) {
        let relative = file.strip_prefix(&root).unwrap();
        let first = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" {
            continue;
        }
        let code: String = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .map(|line| format!("{line}\n"))
            .collect();
        out.entry(module).or_default().push_str(&code);
    }
    out
}

/// Identifiers right after each `crate::` in `code`, with `crate::{a, b::c}` giving `a` and `b`.
fn crate_paths(code: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let preceded_by_ident = code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if preceded_by_ident {
            continue; // e.g. `tars_mqtt_crate::`, not this crate
        }
        let rest = &code[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                out.extend(group.split(',').map(|item| ident(item.trim())));
            }
            None => out.push(ident(rest)),
        }
    }
    out.retain(|name| !name.is_empty() && name != "self");
    out
}

/// The names the crate root re-exports, with the module each comes from.
fn root_reexports(modules: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(source_root().join("lib.rs")).unwrap();
    let mut out = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(at) = statement.find("pub use ") else {
            continue;
        };
        let path = statement[at + "pub use ".len()..].trim();
        let Some((module, names)) = path.split_once("::") else {
            continue;
        };
        if !modules.contains_key(module) {
            continue;
        }
        let names = names.trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            out.insert(name.to_owned(), module.to_owned());
        }
    }
    out
}

/// Module → the other modules it uses.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let reexports = root_reexports(&modules);
    let mut graph = BTreeMap::new();
    for (module, code) in &modules {
        let mut uses = BTreeSet::new();
        for name in crate_paths(code) {
            let target = if modules.contains_key(&name) {
                name.clone()
            } else {
                reexports.get(&name).cloned().unwrap_or_else(|| {
                    panic!("`crate::{name}` in `{module}` is neither a module nor re-exported by lib.rs")
                })
            };
            if &target != module {
                uses.insert(target);
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

/// A cycle through `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in &graph[node] {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// Each module's layer: 0 for a module that uses no other, otherwise one above the highest
/// module it uses.
fn layers(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, usize> {
    fn layer(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        memo: &mut BTreeMap<String, usize>,
    ) -> usize {
        if let Some(&known) = memo.get(node) {
            return known;
        }
        let value = graph[node]
            .iter()
            .map(|next| layer(next, graph, memo) + 1)
            .max()
            .unwrap_or(0);
        memo.insert(node.to_owned(), value);
        value
    }
    let mut memo = BTreeMap::new();
    for node in graph.keys() {
        layer(node, graph, &mut memo);
    }
    memo
}

#[test]
fn the_runtime_modules_have_no_import_cycle() {
    let graph = graph();
    assert!(graph.len() >= 20, "only {} modules found", graph.len());
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "the modules of tars-mqtt/src import each other in a circle: {}. Move what the \
             lower module needs below it (docs/architecture.md shows the layers).",
            cycle.join(" → ")
        );
    }
    let layers = layers(&graph);
    let mut by_layer: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (module, layer) in &layers {
        by_layer.entry(*layer).or_default().push(module);
    }
    for (layer, modules) in by_layer.iter().rev() {
        println!("layer {layer}: {}", modules.join(", "));
    }
}

#[test]
fn the_check_sees_imports_and_finds_cycles() {
    assert_eq!(
        crate_paths(
            "use crate::QoS;\nlet x = crate::envelope::now();\nuse crate::{a, b::c, self};\nmy_crate::x"
        ),
        ["QoS", "envelope", "a", "b"]
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(from, to)| (from.to_owned(), BTreeSet::from([to.to_owned()])))
        .collect();
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
}
