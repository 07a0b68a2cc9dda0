//! `infra/template.yaml`, read with its CloudFormation short-form tags (`!Ref`,
//! `!Sub`, `!If`) kept, so the checks see exactly what CloudFormation will; and
//! the walks over it the checks share.

use serde_yaml_ng::Value;

use crate::root;

pub fn template() -> Value {
    let path = root().join("infra/template.yaml");
    let text = std::fs::read_to_string(&path).expect("infra/template.yaml is readable");
    serde_yaml_ng::from_str(&text).expect("infra/template.yaml is YAML")
}

/// The package names of `functions/*/Cargo.toml`.
pub fn workspace_functions() -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root().join("functions")).expect("functions/ is listable") {
        let manifest = entry.expect("a directory entry").path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let name = text
            .lines()
            .skip_while(|line| line.trim() != "[package]")
            .find_map(|line| line.trim().strip_prefix("name = "))
            .unwrap_or_else(|| panic!("{} names its package", manifest.display()));
        names.push(name.trim_matches('"').to_owned());
    }
    assert!(!names.is_empty(), "functions/ holds no package");
    names.sort();
    names
}

/// The template's resources, by logical id.
fn resources(template: &Value) -> Vec<(String, &Value)> {
    template["Resources"]
        .as_mapping()
        .expect("the template has Resources")
        .iter()
        .map(|(id, resource)| (id.as_str().expect("a logical id").to_owned(), resource))
        .collect()
}

/// The one resource of a type.
pub fn single<'a>(template: &'a Value, kind: &str) -> &'a Value {
    match of_type(template, kind).as_slice() {
        [(_, resource)] => resource,
        other => panic!("{} resources of type {kind}, expected one", other.len()),
    }
}

pub fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(String, &'a Value)> {
    resources(template)
        .into_iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .collect()
}

/// The function resource built from the binary `name`.
pub fn function<'a>(template: &'a Value, name: &str) -> Option<(String, &'a Value)> {
    of_type(template, "AWS::Serverless::Function")
        .into_iter()
        .find(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(name))
}

/// `(tag, value)` of a short-form intrinsic such as `!Sub "..."`.
fn tagged(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => Some((
            tagged.tag.to_string().trim_start_matches('!').to_owned(),
            &tagged.value,
        )),
        _ => None,
    }
}

/// The template string of a `!Sub "..."`.
pub fn sub_text(value: &Value) -> Option<&str> {
    match tagged(value)? {
        (tag, Value::String(text)) if tag == "Sub" => Some(text),
        _ => None,
    }
}

/// Every string of a value, through lists and `!If` branches.
pub fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        Value::Tagged(tagged) => strings(&tagged.value),
        _ => Vec::new(),
    }
}

/// Every IAM statement in the template (a mapping with `Effect` and `Action`),
/// wherever it sits, `!If` branches included.
pub fn statements(value: &Value) -> Vec<&Value> {
    match value {
        Value::Mapping(map) => {
            let mut found: Vec<&Value> = map.values().flat_map(statements).collect();
            if map.contains_key("Effect") && map.contains_key("Action") {
                found.push(value);
            }
            found
        }
        Value::Sequence(items) => items.iter().flat_map(statements).collect(),
        Value::Tagged(tagged) => statements(&tagged.value),
        _ => Vec::new(),
    }
}
