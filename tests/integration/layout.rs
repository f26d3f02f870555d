//! The house rules of the source tree, read from `src/`: imports run one way between the
//! top-level modules (data -> physics -> config -> labels -> model -> train -> eval -> grid
//! -> cli, with error, run_folder, progress and metrics below everything), and no two files import each
//! other, directly or round a loop. Test modules (`#[cfg(test)]` onwards) are left out: a
//! test may build its fixtures from anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::root;

/// Each top-level module's layer: a module may import its own and lower layers only.
const LAYERS: [(&str, usize); 14] = [
    ("error", 0),
    ("run_folder", 1),
    ("progress", 1),
    ("metrics", 1),
    ("data", 2),
    ("physics", 3),
    ("config", 4),
    ("presets", 5),
    ("labels", 6),
    ("model", 7),
    ("train", 8),
    ("eval", 9),
    ("grid", 10),
    ("cli", 11),
];

/// A file's module path (`src/train/pretrain.rs` -> `["train", "pretrain"]`; `mod.rs` is
/// its folder's module; `lib.rs` and `main.rs` the crate root).
type ModulePath = Vec<String>;

fn source_files(dir: &Path, files: &mut BTreeMap<ModulePath, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root().join("src")).unwrap().with_extension("");
            let mut module: ModulePath = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if module.last().is_some_and(|m| m == "mod" || m == "lib" || m == "main") {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let shipped = text.split("#[cfg(test)]").next().unwrap();
            let code: String = shipped.lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n");
            files.insert(module, code);
        }
    }
}

/// The paths a `use` tree names, braces expanded (`a::{b, c::{d, e}}` -> a::b, a::c::d, a::c::e).
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else { return vec![tree.split(" as ").next().unwrap().trim().to_string()] };
    let (prefix, inner) = (&tree[..open], &tree[open + 1..tree.rfind('}').unwrap()]);
    let (mut parts, mut depth, mut current) = (Vec::new(), 0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts.iter().filter(|p| !p.trim().is_empty()).flat_map(|p| expand(p)).map(|e| format!("{prefix}{e}")).collect()
}

/// The file a path names from `module` (the longest prefix that is a file), if it is in
/// this crate.
fn resolve(module: &ModulePath, path: &str, files: &BTreeMap<ModulePath, String>) -> Option<ModulePath> {
    let segments: Vec<&str> = path.split("::").map(str::trim).collect();
    let (mut base, rest) = match segments[0] {
        "crate" => (Vec::new(), &segments[1..]),
        "super" => {
            let supers = segments.iter().take_while(|s| **s == "super").count();
            (module[..module.len().saturating_sub(supers)].to_vec(), &segments[supers..])
        }
        "self" => (module.clone(), &segments[1..]),
        _ => return None,
    };
    base.extend(rest.iter().map(|s| s.to_string()));
    (1..=base.len()).rev().map(|n| base[..n].to_vec()).find(|prefix| files.contains_key(prefix))
}

/// Every file each file imports (`use` trees and `crate::` paths in code), other than
/// itself and its own ancestors (a child reads its folder's `mod.rs`).
fn imports(files: &BTreeMap<ModulePath, String>) -> BTreeMap<ModulePath, BTreeSet<ModulePath>> {
    let mut graph = BTreeMap::new();
    for (module, code) in files {
        let mut paths: Vec<String> = Vec::new();
        for statement in code.split(';') {
            if let Some(start) = statement.find("use ") {
                let before = &statement[..start];
                if before.trim().is_empty() || before.trim_end().ends_with("pub") || before.ends_with('\n') {
                    paths.extend(expand(&statement[start + 4..].split_whitespace().collect::<Vec<_>>().join(" ")));
                }
            }
        }
        for (i, _) in code.match_indices("crate::") {
            let tail: String =
                code[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            paths.push(tail.trim_end_matches(':').to_string());
        }
        let targets = paths
            .iter()
            .filter_map(|p| resolve(module, p, files))
            .filter(|target| target != module && !module.starts_with(target))
            .collect();
        graph.insert(module.clone(), targets);
    }
    graph
}

fn files() -> BTreeMap<ModulePath, String> {
    let mut files = BTreeMap::new();
    source_files(&root().join("src"), &mut files);
    files
}

/// The imports against the layers, as `from (layer) imports to (layer)` lines.
fn higher_imports(graph: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> Vec<String> {
    let layer = |module: &ModulePath| {
        let top = module.first().map_or("", String::as_str);
        LAYERS.iter().find(|(name, _)| *name == top).map(|&(_, layer)| layer)
    };
    let mut wrong = Vec::new();
    for (module, targets) in graph {
        let Some(own) = layer(module) else { continue };
        for target in targets {
            if let Some(theirs) = layer(target).filter(|&theirs| theirs > own) {
                wrong.push(format!(
                    "{} (layer {own}) imports {} (layer {theirs})",
                    module.join("::"),
                    target.join("::")
                ));
            }
        }
    }
    wrong
}

/// An import loop, as `a -> b -> a`, if there is one.
fn import_loop(graph: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> Option<String> {
    // Depth-first search for a path back to the start, from every file.
    for start in graph.keys() {
        let mut stack: Vec<Vec<ModulePath>> = vec![vec![start.clone()]];
        let mut seen = BTreeSet::new();
        while let Some(trail) = stack.pop() {
            for next in graph.get(trail.last().unwrap()).into_iter().flatten() {
                let path: Vec<ModulePath> = trail.iter().cloned().chain([next.clone()]).collect();
                if next == start {
                    return Some(path.iter().map(|m| m.join("::")).collect::<Vec<_>>().join(" -> "));
                }
                if seen.insert(next.clone()) {
                    stack.push(path);
                }
            }
        }
    }
    None
}

#[test]
fn no_module_imports_a_higher_one() {
    let files = files();
    let wrong = higher_imports(&imports(&files));
    assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
    // Every top-level module has a layer, so none escapes the check.
    for module in files.keys().filter(|m| m.len() == 1) {
        assert!(LAYERS.iter().any(|(name, _)| *name == module[0]), "src/{}: give it a layer in LAYERS", module[0]);
    }
}

#[test]
fn no_files_import_each_other() {
    assert_eq!(import_loop(&imports(&files())), None);
}

#[test]
fn the_checks_see_a_loop_and_a_higher_import() {
    // The two checks above pass on the tree as it is; this one shows they can fail.
    let module = |m: &[&str]| m.iter().map(|s| s.to_string()).collect::<ModulePath>();
    let mut files = BTreeMap::new();
    files.insert(module(&["data"]), "use crate::train::pretrain::run;".to_string());
    files.insert(module(&["train", "pretrain"]), "use super::objective::{A, b::C};".to_string());
    files.insert(module(&["train", "objective"]), "fn f() { crate::train::pretrain::g() }".to_string());
    files.insert(module(&["train"]), String::new());
    let graph = imports(&files);
    assert_eq!(higher_imports(&graph), ["data (layer 2) imports train::pretrain (layer 8)"]);
    assert_eq!(import_loop(&graph).as_deref(), Some("train::objective -> train::pretrain -> train::objective"));
    assert_eq!(expand("a::{b, c::{d, e as f}}"), ["a::b", "a::c::d", "a::c::e"]);
}
