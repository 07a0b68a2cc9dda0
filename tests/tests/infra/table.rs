//! The template's state table is the one `shared::table` defines: keys, index,
//! stream, expiry and the settings a production table needs.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;
use shared::table::{KeyAttribute, STATE_TABLE};

use crate::template::{single, strings, template};

fn key(attribute: &KeyAttribute) -> (String, String) {
    (attribute.name.to_owned(), attribute.kind.to_owned())
}

/// `(name, type)` of each of the table's `AttributeDefinitions`.
fn attribute_types(definitions: &Value) -> BTreeSet<(String, String)> {
    let text = |v: &Value| v.as_str().expect("a name or type").to_owned();
    definitions
        .as_sequence()
        .expect("AttributeDefinitions")
        .iter()
        .map(|d| (text(&d["AttributeName"]), text(&d["AttributeType"])))
        .collect()
}

/// `(name, type, HASH|RANGE)` of each key of a key schema.
fn key_schema(schema: &Value, definitions: &Value) -> Vec<(String, String, String)> {
    let kinds = attribute_types(definitions);
    schema
        .as_sequence()
        .expect("KeySchema")
        .iter()
        .map(|k| {
            let name = k["AttributeName"].as_str().unwrap().to_owned();
            let kind = kinds
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| t.clone())
                .unwrap_or_default();
            (name, kind, k["KeyType"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn the_state_table_is_the_shared_definition() {
    let template = template();
    let table = single(&template, "AWS::DynamoDB::Table");
    let p = &table["Properties"];
    let definitions = &p["AttributeDefinitions"];

    let defined = attribute_types(definitions);
    let expected: BTreeSet<_> = STATE_TABLE.key_attributes().iter().map(key).collect();
    assert_eq!(defined, expected, "AttributeDefinitions");

    let (pk, sk) = (key(&STATE_TABLE.partition_key), key(&STATE_TABLE.sort_key));
    assert_eq!(
        key_schema(&p["KeySchema"], definitions),
        [(pk.0, pk.1, "HASH".into()), (sk.0, sk.1, "RANGE".into())]
    );
    assert_eq!(
        p["StreamSpecification"]["StreamViewType"],
        STATE_TABLE.stream_view
    );
    assert_eq!(
        p["TimeToLiveSpecification"]["AttributeName"],
        STATE_TABLE.ttl_attribute
    );
    assert_eq!(p["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(p["SSESpecification"]["SSEEnabled"], true);

    let indexes = p["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("the indexes");
    assert_eq!(indexes.len(), STATE_TABLE.indexes.len());
    for index in STATE_TABLE.indexes {
        let found = indexes
            .iter()
            .find(|i| i["IndexName"] == index.name)
            .unwrap_or_else(|| panic!("index {} is missing", index.name));
        let (pk, sk) = (key(&index.partition_key), key(&index.sort_key));
        assert_eq!(
            key_schema(&found["KeySchema"], definitions),
            [(pk.0, pk.1, "HASH".into()), (sk.0, sk.1, "RANGE".into())],
            "{}",
            index.name
        );
        assert_eq!(found["Projection"]["ProjectionType"], "INCLUDE");
        let projected: BTreeSet<String> = strings(&found["Projection"]["NonKeyAttributes"])
            .into_iter()
            .collect();
        let expected: BTreeSet<String> = index.projected.iter().map(|a| a.to_string()).collect();
        assert_eq!(projected, expected, "{} projection", index.name);
    }
}
