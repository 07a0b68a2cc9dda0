//! The template's roles and permissions: nothing granted on `*` that a
//! narrower resource could hold, wildcards only in the known ARN patterns, and
//! only Connect of the configured instance invoking the functions.

use serde_yaml_ng::Value;

use crate::template::{of_type, statements, strings, sub_text, template};

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
        "/stream/*",
        "the state table's stream, whose label changes when it is re-enabled",
    ),
];

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
