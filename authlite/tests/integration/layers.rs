//! The library's layering (README "Architecture"), checked from its source: each file may
//! import only from its own layer or those below (values ← crypto ← store ← features ←
//! the facade), the database clients (rusqlite, r2d2, postgres) appear only in the store,
//! and the file-level dependency graph has no cycle. Its edges are imports and, between
//! feature files, calls of another file's `impl Engine` methods (`self.method(`), which no
//! `use` line shows. Re-exports (`pub(crate) use` in a `mod.rs`) and `mod` lines are a
//! module's interface, not dependencies. Test modules (`#[cfg(test)]`) are not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const LAYERS: [&str; 5] = ["values", "crypto", "store", "features", "top"];

fn layer(module: &str) -> usize {
    let first = module.split("::").next().unwrap_or("");
    LAYERS.iter().position(|l| *l == first).unwrap_or(LAYERS.len() - 1)
}

/// Module path of every source file, e.g. `features::sessions`, `store` for store/mod.rs.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> =
                rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            out.insert(parts.join("::"), std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

/// The modules `text` (the source of `module`) imports from.
fn imports(module: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent = match module.rsplit_once("::") {
        Some((parent, _)) => parent.to_owned(),
        None => String::new(),
    };
    let is_dir_module = known.iter().any(|m| m.starts_with(&format!("{module}::")));
    let base_for_super = if is_dir_module { parent.clone() } else { parent };
    let mut deps = BTreeSet::new();
    for line in text.lines().take_while(|l| !l.starts_with("#[cfg(test)]")) {
        let line = line.trim();
        if line.starts_with("//") || line.starts_with("mod ") || line.starts_with("pub(crate) mod ")
        {
            continue;
        }
        if is_dir_module && line.starts_with("pub(crate) use ") {
            continue; // a directory module's re-exports are its interface
        }
        let mut paths = Vec::new();
        for (prefix, base) in [("crate::", String::new()), ("super::", base_for_super.clone())] {
            let mut rest = line;
            while let Some(at) = rest.find(prefix) {
                let before = rest[..at].chars().last();
                rest = &rest[at + prefix.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let head: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                // One level of `{a, b::c}` groups.
                let group = rest[head.len()..].strip_prefix('{').and_then(|g| g.split_once('}'));
                let tails: Vec<String> = match group {
                    Some((items, _)) => items.split(',').map(|i| i.trim().to_owned()).collect(),
                    None => vec![String::new()],
                };
                for tail in tails {
                    let path = format!("{head}{tail}");
                    let path = path.trim_end_matches(':');
                    paths.push(if base.is_empty() {
                        path.to_owned()
                    } else {
                        format!("{base}::{path}")
                    });
                }
            }
        }
        for path in paths {
            // The longest known module the path starts with.
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let found = (1..=segments.len())
                .rev()
                .map(|n| segments[..n].join("::"))
                .find(|candidate| known.contains(candidate));
            if let Some(dep) = found.filter(|d| d != module) {
                deps.insert(dep);
            } else if known.contains("lib")
                && segments
                    .first()
                    .is_some_and(|s| s.chars().next().is_some_and(char::is_uppercase))
            {
                deps.insert("lib".into()); // crate::Auth and other root re-exports
            }
        }
    }
    deps
}

/// The source of `text` before its test module.
fn code(text: &str) -> impl Iterator<Item = &str> {
    text.lines().take_while(|l| !l.starts_with("#[cfg(test)]"))
}

/// The names of the methods a feature file defines on `Engine`.
fn engine_methods(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_engine = false;
    for line in code(text) {
        if line.starts_with("impl ") {
            in_engine = line.starts_with("impl Engine");
        } else if line.starts_with('}') {
            in_engine = false;
        }
        let trimmed = line.trim_start();
        let def = ["pub(crate) fn ", "pub(super) fn ", "fn "]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p));
        if let (true, Some(rest)) = (in_engine, def) {
            out.insert(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
    }
    out
}

/// The feature files whose `Engine` methods `text` calls through `self.`.
fn method_calls(
    module: &str,
    text: &str,
    owners: &BTreeMap<String, BTreeSet<String>>,
) -> BTreeSet<String> {
    let mut deps = BTreeSet::new();
    for line in code(text) {
        let mut rest = line;
        while let Some(at) = rest.find("self.") {
            rest = &rest[at + 5..];
            let name: String =
                rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !rest[name.len()..].starts_with('(') {
                continue; // a field
            }
            for (owner, methods) in owners {
                if owner != module && methods.contains(&name) {
                    deps.insert(owner.clone());
                }
            }
        }
    }
    deps
}

#[test]
fn layers_point_one_way_and_nothing_imports_in_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = modules(&src);
    let known: BTreeSet<String> = files.keys().cloned().collect();
    let owners: BTreeMap<String, BTreeSet<String>> = files
        .iter()
        .filter(|(module, _)| module.starts_with("features"))
        .map(|(module, text)| (module.clone(), engine_methods(text)))
        .collect();
    let mut graph = BTreeMap::new();
    let mut wrong = Vec::new();
    for (module, text) in &files {
        let mut deps = imports(module, text, &known);
        if module.starts_with("features") {
            deps.extend(method_calls(module, text, &owners));
        }
        for dep in &deps {
            if layer(dep) > layer(module) {
                wrong.push(format!("{module} imports {dep}, a layer above it"));
            }
        }
        let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
        let clients = ["rusqlite", "r2d2", "postgres::"];
        let sql_crate = code.clone().any(|l| clients.iter().any(|c| l.contains(c)));
        if sql_crate && !module.starts_with("store") {
            wrong.push(format!("{module} names a database client crate outside the store"));
        }
        graph.insert(module.clone(), deps);
    }
    assert!(graph.len() > 30, "the walk found the source files: {:?}", graph.keys());
    assert!(graph["features::sessions"].contains("features::engine"), "edges are found");
    assert!(graph["store::users"].contains("store"), "super:: edges are found");
    assert!(graph["features::signin"].contains("features::sessions"), "self. calls are found");
    assert!(wrong.is_empty(), "{wrong:#?}");

    // Depth-first search for a back edge.
    fn visit<'g>(
        node: &'g str,
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'g str, bool>,
        stack: &mut Vec<&'g str>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(true) => return None,
            Some(false) => {
                let start = stack.iter().position(|n| *n == node).unwrap_or(0);
                return Some(stack[start..].iter().map(|s| s.to_string()).collect());
            }
            None => {}
        }
        state.insert(node, false);
        stack.push(node);
        for dep in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(dep, graph, state, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        state.insert(node, true);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        let cycle = visit(node, &graph, &mut state, &mut Vec::new());
        assert!(cycle.is_none(), "import cycle: {cycle:?}");
    }
}
