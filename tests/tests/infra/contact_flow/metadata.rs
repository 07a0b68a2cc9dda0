//! The metadata the console's flow editor keeps beside each block
//! (`Metadata.ActionMetadata`), as its exports show it: without it an import
//! works, but the editor may lose a block's settings on its first save.

use std::collections::BTreeSet;

use serde_json::Value;

use super::model::Flow;

/// A value the flow looks up when it runs (a `$.` reference).
fn dynamic(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.starts_with("$."))
}

/// A Compare's conditions, a Wait's results: one entry each, in order, with an id.
fn conditions(flow: &Flow, id: &str, m: &Value) {
    let operands: Vec<String> = flow
        .edges(id)
        .into_iter()
        .filter(|(label, _)| label != "next" && !label.starts_with("NoMatching"))
        .map(|(label, _)| label)
        .collect();
    let kept = m["conditionMetadata"]
        .as_array()
        .expect("conditionMetadata");
    let values: Vec<&str> = kept.iter().filter_map(|c| c["value"].as_str()).collect();
    assert_eq!(values, operands, "{}: {id}: conditionMetadata", flow.name);
    let ids: BTreeSet<&str> = kept.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(
        ids.len(),
        values.len(),
        "{}: {id}: an id per condition",
        flow.name
    );
    if flow.kind(id) == "Compare" {
        let equals = kept.iter().all(|c| c["operator"]["value"] == "Equals");
        assert!(equals, "{}: {id}: the operators", flow.name);
    }
}

/// A Lambda block: the function's name, and which invocation attributes are dynamic.
fn lambda(flow: &Flow, id: &str, m: &Value) {
    let named = m["parameters"]["LambdaFunctionARN"]["displayName"].is_string();
    assert!(named, "{}: {id}: the function's name", flow.name);
    let kept = m["dynamicMetadata"].as_object().expect("dynamicMetadata");
    let attributes = flow.param(id, "LambdaInvocationAttributes");
    for (key, value) in attributes.as_object().into_iter().flatten() {
        let expected = Value::Bool(dynamic(value));
        assert_eq!(kept.get(key), Some(&expected), "{}: {id}: {key}", flow.name);
    }
}

/// A transfer: the target flow, by its placeholder and a name.
fn transfer(flow: &Flow, id: &str, m: &Value) {
    let target = flow.param(id, "ContactFlowId");
    assert_eq!(
        m["ContactFlow"]["id"], *target,
        "{}: {id}: ContactFlow",
        flow.name
    );
    assert!(m["ContactFlow"]["text"].is_string(), "{}: {id}", flow.name);
    let named = m["parameters"]["ContactFlowId"]["displayName"].is_string();
    assert!(named, "{}: {id}: the flow's name", flow.name);
}

/// A message or attributes: which values are dynamic.
fn dynamics(flow: &Flow, id: &str, m: &Value) {
    if flow.kind(id) == "MessageParticipant" {
        let played = ["Text", "SSML", "PromptId"]
            .iter()
            .map(|p| flow.param(id, p))
            .find(|v| v.is_string())
            .expect("a prompt");
        assert_eq!(m["useDynamic"], dynamic(played), "{}: {id}", flow.name);
        return;
    }
    let attributes = flow
        .param(id, "Attributes")
        .as_object()
        .expect("Attributes");
    let kept: Vec<&str> = m["dynamicParams"]
        .as_array()
        .expect("dynamicParams")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let expected: Vec<&str> = attributes
        .iter()
        .filter(|(_, v)| dynamic(v))
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(kept, expected, "{}: {id}: dynamicParams", flow.name);
}

#[test]
fn every_block_has_the_metadata_the_console_keeps() {
    for flow in Flow::all() {
        let meta = &flow.doc["Metadata"];
        assert!(meta["entryPointPosition"]["x"].is_number(), "{}", flow.name);
        let kept = meta["ActionMetadata"].as_object().expect("ActionMetadata");
        let described: BTreeSet<&String> = kept.keys().collect();
        let blocks: BTreeSet<&String> = flow.actions.keys().collect();
        assert_eq!(
            described, blocks,
            "{}: metadata for exactly the blocks",
            flow.name
        );
        for id in flow.actions.keys() {
            let m = &kept[id];
            let placed = m["position"]["x"].is_number() && m["position"]["y"].is_number();
            assert!(placed, "{}: {id}: position", flow.name);
            match flow.kind(id) {
                "Compare" | "Wait" => conditions(&flow, id, m),
                "InvokeLambdaFunction" if flow.param(id, "LambdaFunctionARN").is_string() => {
                    lambda(&flow, id, m)
                }
                "TransferToFlow" => transfer(&flow, id, m),
                "MessageParticipant" | "UpdateContactAttributes" => dynamics(&flow, id, m),
                _ => {}
            }
        }
    }
}
