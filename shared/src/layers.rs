//! Holds the modules to the layers written in `lib.rs`: a module may use its
//! own layer and those before it, never one after it.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
};

/// Each module's layer, and each re-exported name's module, read from `lib.rs`.
fn layers(lib: &str) -> (HashMap<String, usize>, HashMap<String, String>) {
    let (mut layer, mut modules, mut names) = (0, HashMap::new(), HashMap::new());
    for line in lib.lines() {
        if let Some(n) = line
            .strip_prefix("// ")
            .and_then(|rest| rest.split('.').next())
        {
            layer = n.parse().unwrap_or(layer);
        } else if let Some(module) = line.strip_prefix("pub mod ") {
            modules.insert(module.trim_end_matches(';').to_owned(), layer);
        } else if let Some(list) = line.strip_prefix("pub use ") {
            let (module, items) = list.split_once("::").expect("pub use module::...");
            for item in items.split(|c: char| !c.is_alphanumeric() && c != '_') {
                names.insert(item.to_owned(), module.to_owned());
            }
        }
    }
    (modules, names)
}

/// The modules and root names that `text` reaches through `crate::`: the
/// first word after it, or of each part of a `crate::{...}` group.
fn uses(text: &str) -> Vec<String> {
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            found.push(word(rest));
            continue;
        };
        let (mut depth, mut part_starts) = (0, true);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => part_starts = true,
                c if part_starts && (c.is_alphanumeric() || c == '_') => {
                    found.push(word(&group[i..]));
                    part_starts = false;
                }
                _ => {}
            }
        }
    }
    found
}

/// Every `.rs` file of `module`: its own file, and all below its folder.
fn files_of(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut files = vec![src.join(format!("{module}.rs"))];
    let mut folders = vec![src.join(module)];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.retain(|file| file.exists());
    files
}

/// Each module of `lib.rs`, with the other modules its files use.
fn graph(
    src: &Path,
    modules: &HashMap<String, usize>,
    names: &HashMap<String, String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for module in modules.keys() {
        let mut used = BTreeSet::new();
        for file in files_of(src, module) {
            let text = std::fs::read_to_string(&file).expect("a module's source");
            for name in uses(&text) {
                let target = names.get(&name).unwrap_or(&name);
                if modules.contains_key(target) && target != module {
                    used.insert(target.clone());
                }
            }
        }
        graph.insert(module.clone(), used);
    }
    graph
}

/// A cycle of `graph`, if it has one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        at: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == at) {
            return Some(path[start..].to_vec());
        }
        if !done.insert(at.to_owned()) {
            return None;
        }
        path.push(at.to_owned());
        for next in &graph[at] {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

#[test]
fn every_module_uses_only_its_own_layer_and_those_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let (modules, names) = layers(&lib);
    assert!(modules.len() >= 15, "lib.rs lists its modules: {modules:?}");
    let graph = graph(&src, &modules, &names);
    let broken: Vec<String> = graph
        .iter()
        .flat_map(|(module, used)| used.iter().map(move |target| (module, target)))
        .filter(|(module, target)| modules[*target] > modules[*module])
        .map(|(module, target)| {
            format!(
                "{module} (layer {}) uses {target} (layer {})",
                modules[module], modules[target]
            )
        })
        .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    assert_eq!(cycle(&graph), None, "modules that use each other");
}

#[test]
fn a_cycle_is_found() {
    let graph = |edges: &[(&str, &str)]| {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            graph
                .entry(from.to_string())
                .or_default()
                .insert(to.to_string());
            graph.entry(to.to_string()).or_default();
        }
        graph
    };
    assert_eq!(cycle(&graph(&[("a", "b"), ("b", "c")])), None);
    assert_eq!(
        cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "b")])),
        Some(vec!["b".to_owned(), "c".to_owned()])
    );
}

#[test]
fn the_reader_finds_each_module_a_use_names() {
    let text = "use crate::{a::b, C, d::{e, f}};\nlet x = crate::g::h();";
    assert_eq!(uses(text), ["a", "C", "d", "g"]);
}
