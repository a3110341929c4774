//! No module of a crate of the project imports, directly or through
//! others, a module that imports it back: each crate's modules form a
//! directed acyclic graph, so a reader can learn them bottom up.
//!
//! The graph is read from the sources: an edge `a -> b` for every `crate::`
//! or `super::` path in `a`'s code (comments and unit-test modules left out)
//! that names module `b`, neither being inside the other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The crates checked, by their source folder.
const CRATES: [&str; 6] =
    ["core/src", "server/src", "nats/src", "fleetctl/src", "bindings/java/src", "bindings/python/src"];

type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// Every `.rs` file under `dir`, by module path (`a::b`; `""` for the root).
fn modules(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            modules(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                parts.pop();
            }
            if parts.first().is_some_and(|p| p == "bin") {
                continue; // binaries are crates of their own
            }
            out.insert(parts.join("::"), std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The longest module that `path` (`a::b::Item`) starts with.
fn resolve<'m>(mods: &'m BTreeMap<String, String>, path: &str) -> Option<&'m str> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    (1..=parts.len()).rev().find_map(|n| mods.get_key_value(&parts[..n].join("::")).map(|(k, _)| k.as_str()))
}

/// The module paths a `crate::` or `super::` reference starting at `rest` names
/// (`a::{b, c::D}` gives `a::b` and `a::c::D`).
fn targets(rest: &str) -> Vec<String> {
    let head: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
    let head = head.trim_end_matches(':').to_owned();
    match rest[head.len()..].trim_start_matches(':').strip_prefix('{') {
        Some(group) => group
            .split('}')
            .next()
            .unwrap_or_default()
            .split(',')
            .filter_map(|item| item.trim().split("::").next().filter(|s| !s.is_empty() && *s != "self"))
            .map(|item| if head.is_empty() { item.to_owned() } else { format!("{head}::{item}") })
            .collect(),
        None => vec![head],
    }
}

fn graph(dir: &Path) -> Graph {
    let mut mods = BTreeMap::new();
    modules(dir, dir, &mut mods);
    assert!(mods.len() > 3, "{}: too few modules read; has the layout moved?", dir.display());
    let mut graph = Graph::new();
    for (module, source) in &mods {
        let code = source.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (prefix, base) in [("crate::", ""), ("super::", parent)] {
                for (at, _) in line.match_indices(prefix) {
                    for target in targets(&line[at + prefix.len()..]) {
                        let full = if base.is_empty() { target } else { format!("{base}::{target}") };
                        let Some(to) = resolve(&mods, &full) else { continue };
                        let inside = |a: &str, b: &str| b.is_empty() || a.starts_with(&format!("{b}::"));
                        if to != module && !inside(module, to) && !inside(to, module) {
                            graph.entry(module.clone()).or_default().insert(to.to_owned(), full);
                        }
                    }
                }
            }
        }
    }
    graph
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(graph: &Graph) -> Vec<BTreeSet<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        found: Vec<BTreeSet<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flat_map(|e| e.keys()) {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let lw = self.low[w.as_str()];
                    self.low.entry(v).and_modify(|l| *l = (*l).min(lw));
                } else if self.stack.contains(&w.as_str()) {
                    let iw = self.index[w.as_str()];
                    self.low.entry(v).and_modify(|l| *l = (*l).min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().rposition(|&m| m == v).unwrap();
                let component: BTreeSet<String> = self.stack.drain(at..).map(str::to_owned).collect();
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), found: Vec::new() };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn no_crate_has_a_module_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut report = String::new();
    for dir in CRATES {
        let graph = graph(&root.join(dir));
        for cycle in cycles(&graph) {
            report += &format!("{dir}: {cycle:?}\n");
            for from in &cycle {
                for (to, path) in graph[from].iter().filter(|(to, _)| cycle.contains(*to)) {
                    report += &format!("    {from} -> {to} (by {path})\n");
                }
            }
        }
    }
    assert!(report.is_empty(), "module cycles:\n{report}");
}

#[test]
fn a_cycle_is_found() {
    let mut graph = Graph::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        graph.entry(a.into()).or_default().insert(b.into(), String::new());
    }
    let found = cycles(&graph);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0], ["a", "b", "c"].map(String::from).into_iter().collect::<BTreeSet<_>>());
    assert_eq!(targets("x::{y, z::W}; rest"), ["x::y", "x::z"]);
    assert_eq!(targets("engine::Engine;"), ["engine::Engine"]);
}
