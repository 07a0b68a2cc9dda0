//! Holds `infra/template.yaml` to the code: every function of the workspace is in
//! it and built by cargo-lambda, its state table is the one `shared::table`
//! defines, its roles grant nothing on `*` that could be narrower, and the stream
//! mapping, Connect permissions and dashboard are wired as the functions expect.
//!
//! The template is read with its CloudFormation short-form tags (`!Ref`, `!Sub`,
//! `!If`) kept, so the test sees exactly what CloudFormation will.

use std::{collections::BTreeSet, path::PathBuf};

use serde_yaml_ng::Value;
use shared::table::{KeyAttribute, STATE_TABLE};

/// Actions allowed on `Resource: '*'`, each with the reason no narrower resource
/// exists for it.
const STAR_RESOURCE_ACTIONS: &[(&str, &str)] = &[
    (
        "ec2:DescribeNetworkInterfaces",
        "EC2 Describe actions support no resource-level permissions (VPC functions)",
    ),
    (
        "ec2:DescribeSubnets",
        "EC2 Describe actions support no resource-level permissions (VPC functions)",
    ),
];

/// Wildcards allowed inside a resource ARN, each with its reason.
const RESOURCE_PATTERNS: &[(&str, &str)] = &[
    (
        ":function:${Stage}-${Service}-integration*",
        "the Rules Engine's naming of integration functions: start may invoke any of them",
    ),
    (
        ":ec2:${AWS::Region}:${AWS::AccountId}:*/*",
        "network interfaces of VPC functions are created with names not known in advance",
    ),
    (
        "arn:aws:lambda:*:*:function:",
        "an explicit AllowedFunctions list: CloudFormation cannot prefix each name with this \
         account and region (a Join delimiter is a literal); start itself refuses functions \
         of another account or region",
    ),
    (
        "/stream/*",
        "the state table's stream, whose label changes when it is re-enabled",
    ),
];

/// Functions of the workspace that are not integration functions: they must stay
/// out of the Rules Engine's `<stage>-<service>-integration*` naming.
const NOT_INTEGRATIONS: &[&str] = &["integration-start", "check-timeout", "stream-consumer"];

/// Functions Connect invokes from the contact flow, within its 8-second limit.
const CONNECT_FACING: &[&str] = &["integration-start", "check-timeout"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> Value {
    let path = root().join("infra/template.yaml");
    let text = std::fs::read_to_string(&path).expect("infra/template.yaml is readable");
    serde_yaml_ng::from_str(&text).expect("infra/template.yaml is YAML")
}

/// The package names of `functions/*/Cargo.toml`.
fn workspace_functions() -> Vec<String> {
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
fn single<'a>(template: &'a Value, kind: &str) -> &'a Value {
    match of_type(template, kind).as_slice() {
        [(_, resource)] => resource,
        other => panic!("{} resources of type {kind}, expected one", other.len()),
    }
}

fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(String, &'a Value)> {
    resources(template)
        .into_iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .collect()
}

/// The function resource built from the binary `name`.
fn function<'a>(template: &'a Value, name: &str) -> Option<(String, &'a Value)> {
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
fn sub_text(value: &Value) -> Option<&str> {
    match tagged(value)? {
        (tag, Value::String(text)) if tag == "Sub" => Some(text),
        _ => None,
    }
}

/// Every string of a value, through lists and `!If` branches.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        Value::Tagged(tagged) => strings(&tagged.value),
        _ => Vec::new(),
    }
}

/// Every IAM statement in the template (a mapping with `Effect` and `Action`),
/// wherever it sits, `!If` branches included.
fn statements(value: &Value) -> Vec<&Value> {
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

#[test]
fn every_function_of_the_workspace_is_built_by_cargo_lambda_from_the_workspace() {
    let template = template();
    assert_eq!(
        template["Globals"]["Function"]["Runtime"],
        "provided.al2023"
    );
    assert_eq!(template["Globals"]["Function"]["Handler"], "bootstrap");
    for name in workspace_functions() {
        let (id, resource) = function(&template, &name)
            .unwrap_or_else(|| panic!("functions/{name} has no function in the template"));
        assert_eq!(
            resource["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{id}"
        );
        // cargo-lambda builds in the workspace root, where target/lambda/<binary> is.
        let code_uri = resource["Properties"]["CodeUri"].as_str().unwrap_or("");
        let workspace =
            std::fs::read_to_string(root().join("infra").join(code_uri).join("Cargo.toml"))
                .unwrap_or_default();
        assert!(
            workspace.contains("[workspace]"),
            "{id}: CodeUri {code_uri:?} is not the workspace root"
        );
        assert!(
            matches!(
                resource["Properties"]["Role"],
                Value::Tagged(_) | Value::String(_)
            ),
            "{id} has its own role"
        );
        assert!(
            resource["Properties"]["Policies"].is_null(),
            "{id}: SAM policies would bypass the role review"
        );
    }
}

#[test]
fn every_function_of_the_template_is_a_package_of_the_workspace() {
    let template = template();
    let packages = workspace_functions();
    for (id, resource) in of_type(&template, "AWS::Serverless::Function") {
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} names no binary to build"));
        assert!(
            packages.iter().any(|p| p == binary),
            "{id} builds {binary}, which is no package under functions/"
        );
    }
}

#[test]
fn only_integration_functions_follow_the_rules_engine_integration_naming() {
    let template = template();
    for name in workspace_functions() {
        let (id, resource) = function(&template, &name).expect("checked above");
        let full = sub_text(&resource["Properties"]["FunctionName"])
            .unwrap_or_else(|| panic!("{id}: FunctionName is a !Sub"));
        let rest = full
            .strip_prefix("${Stage}-${Service}-")
            .unwrap_or_else(|| panic!("{id}: {full} does not start with <stage>-<service>-"));
        let listed = rest.starts_with("integration");
        let integration = !NOT_INTEGRATIONS.contains(&name.as_str());
        assert_eq!(
            listed, integration,
            "{id}: {full} (integration function: {integration})"
        );
    }
}

#[test]
fn start_may_invoke_only_the_rules_engine_integration_functions_by_default() {
    let template = template();
    let (_, start) = of_type(&template, "AWS::IAM::Role")
        .into_iter()
        .find(|(id, _)| id == "StartRole")
        .expect("StartRole");
    let invokes: Vec<&Value> = statements(start)
        .into_iter()
        .filter(|s| strings(&s["Action"]).contains(&"lambda:InvokeFunction".to_owned()))
        .collect();
    let default = invokes
        .iter()
        .find(|s| s["Sid"] == "InvokeRulesEngineIntegrations")
        .expect("the default invoke statement");
    let resource = sub_text(&default["Resource"]).expect("a !Sub resource");
    assert!(
        resource.ends_with(":function:${Stage}-${Service}-integration*"),
        "{resource}"
    );
    for statement in invokes {
        assert!(!strings(&statement["Resource"])
            .iter()
            .any(|r| r.ends_with(":function:*")));
    }
}

#[test]
fn no_policy_grants_on_every_resource_what_a_narrower_resource_could_hold() {
    let template = template();
    let statements = statements(&template["Resources"]);
    assert!(
        statements.len() > 10,
        "found only {} statements",
        statements.len()
    );
    for statement in statements {
        let actions = strings(&statement["Action"]);
        for action in &actions {
            assert!(!action.ends_with('*'), "wildcard action {action}");
        }
        if statement["Resource"].is_null() {
            continue; // a trust policy
        }
        if strings(&statement["Resource"]).iter().any(|r| r == "*") {
            for action in &actions {
                assert!(
                    STAR_RESOURCE_ACTIONS
                        .iter()
                        .any(|(allowed, _)| allowed == action),
                    "{action} is granted on Resource '*'"
                );
            }
        }
    }
}

#[test]
fn a_wildcard_inside_a_resource_arn_is_one_of_the_known_patterns() {
    let template = template();
    let mut patterns = 0;
    for statement in statements(&template["Resources"]) {
        let resources: Vec<String> = match &statement["Resource"] {
            Value::Null => continue,
            value => strings(value)
                .into_iter()
                .chain(sub_text(value).map(str::to_owned))
                .collect(),
        };
        for resource in resources.iter().filter(|r| *r != "*" && r.contains('*')) {
            patterns += 1;
            assert!(
                RESOURCE_PATTERNS
                    .iter()
                    .any(|(pattern, _)| resource.ends_with(pattern)),
                "unexpected wildcard in resource {resource}"
            );
        }
    }
    assert!(
        patterns > 0,
        "no resource pattern found: is the walk reading !Sub?"
    );
}

#[test]
fn only_connect_of_the_configured_instance_and_account_may_invoke_a_function() {
    let template = template();
    let permissions = of_type(&template, "AWS::Lambda::Permission");
    assert!(permissions.len() >= 3, "{} permissions", permissions.len());
    for (name, permission) in permissions {
        let properties = &permission["Properties"];
        assert_eq!(
            properties["Action"].as_str(),
            Some("lambda:InvokeFunction"),
            "{name}"
        );
        let principal = properties["Principal"].as_str().unwrap_or_default();
        assert!(
            !principal.contains('*') && principal.ends_with(".amazonaws.com"),
            "{name}: principal {principal:?}"
        );
        assert!(
            !properties["SourceArn"].is_null() && !properties["SourceAccount"].is_null(),
            "{name} must name the source instance and account"
        );
    }
}

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

#[test]
fn connect_may_invoke_the_connect_facing_functions_within_its_time_limit() {
    let template = template();
    let permissions = of_type(&template, "AWS::Lambda::Permission");
    for name in CONNECT_FACING {
        let (id, resource) =
            function(&template, name).unwrap_or_else(|| panic!("{name} is in the template"));
        let timeout = resource["Properties"]["Timeout"]
            .as_u64()
            .expect("a Timeout");
        assert!(
            timeout <= 8,
            "{id}: Timeout {timeout} s is past Connect's 8 s"
        );
        let granted = permissions.iter().any(|(_, p)| {
            let p = &p["Properties"];
            strings(&p["FunctionName"])
                .iter()
                .any(|f| f.starts_with(&format!("{id}.")) || *f == id)
                && p["Principal"] == "connect.amazonaws.com"
                && strings(&p["SourceArn"]) == ["ConnectInstanceArn"]
                && !p["SourceAccount"].is_null()
        });
        assert!(
            granted,
            "{id}: no Connect invoke permission scoped to the instance"
        );
    }
}

#[test]
fn the_stream_mapping_reports_failures_per_record_and_gives_up_in_bounds() {
    let template = template();
    let (id, consumer) = function(&template, "stream-consumer").expect("the consumer");
    let events = consumer["Properties"]["Events"]
        .as_mapping()
        .expect("its events");
    let stream = events
        .values()
        .find(|e| e["Type"] == "DynamoDB")
        .unwrap_or_else(|| panic!("{id} has no stream event"));
    let p = &stream["Properties"];
    assert_eq!(
        strings(&p["FunctionResponseTypes"]),
        ["ReportBatchItemFailures"]
    );
    assert_eq!(p["BisectBatchOnFunctionError"], true);
    let retries = p["MaximumRetryAttempts"].as_u64().expect("bounded retries");
    assert!((1..=100).contains(&retries), "{retries} retries");
    let age = p["MaximumRecordAgeInSeconds"]
        .as_u64()
        .expect("a bounded record age");
    assert!((60..=86_400).contains(&age), "record age {age} s");
    assert!(
        !p["DestinationConfig"]["OnFailure"]["Destination"].is_null(),
        "an on-failure destination"
    );

    let pattern = p["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .expect("a filter");
    let pattern: serde_json::Value = serde_json::from_str(pattern).expect("the filter is JSON");
    let consumers: serde_json::Value = serde_json::from_str(stream_consumer::FILTER_PATTERN)
        .expect("the consumer's filter is JSON");
    assert_eq!(
        pattern, consumers,
        "the mapping filters as the consumer (and the local poller) expect"
    );

    let schedule = events
        .values()
        .find(|e| e["Type"] == "Schedule")
        .expect("a schedule");
    assert_eq!(schedule["Properties"]["Schedule"], "rate(1 minute)");
}

#[test]
fn the_dashboard_shows_every_consumer_metric_and_every_alarm() {
    let template = template();
    let dashboard = single(&template, "AWS::CloudWatch::Dashboard");
    let body = sub_text(&dashboard["Properties"]["DashboardBody"]).expect("a !Sub body");
    for (id, _) in of_type(&template, "AWS::CloudWatch::Alarm") {
        assert!(
            body.contains(&format!("${{{id}.Arn}}")),
            "alarm {id} is not on the dashboard"
        );
    }
    // The consumer's metric names, from its metrics module.
    use stream_consumer::metrics::{
        ABANDONED_RUNS, INTEGRATION_COUNT, INTEGRATION_DURATION, MALFORMED_RECORDS, STREAM_LAG,
    };
    for metric in [
        INTEGRATION_DURATION,
        INTEGRATION_COUNT,
        ABANDONED_RUNS,
        STREAM_LAG,
        MALFORMED_RECORDS,
    ] {
        assert!(body.contains(metric), "{metric} is not on the dashboard");
    }
    // What CloudWatch receives once CloudFormation has substituted the variables.
    let mut substituted = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').expect("a closed ${...}") + start;
        substituted.push_str(&rest[..start]);
        substituted.push_str("value");
        rest = &rest[end + 1..];
    }
    substituted.push_str(rest);
    let parsed: serde_json::Value =
        serde_json::from_str(&substituted).expect("the dashboard body is JSON");
    assert!(parsed["widgets"].as_array().is_some_and(|w| w.len() >= 6));
}
