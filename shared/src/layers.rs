//! Holds the modules to the layers written in `lib.rs`: a module may use its
//! own layer and those before it, never one after it.

use std::{collections::HashMap, path::Path};

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

#[test]
fn every_module_uses_only_its_own_layer_and_those_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let (modules, names) = layers(&lib);
    assert!(modules.len() >= 15, "lib.rs lists its modules: {modules:?}");
    let mut broken = Vec::new();
    for (module, &layer) in &modules {
        let file = src.join(format!("{module}.rs"));
        let mut files = vec![if file.exists() {
            file
        } else {
            src.join(module).join("mod.rs")
        }];
        if let Ok(dir) = std::fs::read_dir(src.join(module)) {
            files.extend(dir.filter_map(|entry| Some(entry.ok()?.path())));
        }
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        {
            let text = std::fs::read_to_string(file).expect("a module's source");
            for used in uses(&text) {
                let target = names.get(&used).unwrap_or(&used);
                if let Some(&used_layer) = modules.get(target) {
                    if used_layer > layer {
                        broken.push(format!(
                            "{} (layer {layer}) uses {target} (layer {used_layer})",
                            file.strip_prefix(&src).unwrap_or(file).display()
                        ));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_reader_finds_each_module_a_use_names() {
    let text = "use crate::{a::b, C, d::{e, f}};\nlet x = crate::g::h();";
    assert_eq!(uses(text), ["a", "C", "d", "g"]);
}
