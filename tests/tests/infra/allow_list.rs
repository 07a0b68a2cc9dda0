//! Start's role may invoke exactly start's allow-list, in the stack's own
//! partition, account and region, and no policy of the template reaches past
//! the stack's partition, account and region.

use std::collections::BTreeSet;

use integration_start::StartConfig;
use serde_yaml_ng::Value;
use shared::config::lookup_in;

use crate::template::{function, of_type, template};
use kit::iam::template::{Resolved, Stack};

/// The resolved statements (mappings with `Effect` and `Action`) in a value.
fn statements(value: &Resolved) -> Vec<&std::collections::BTreeMap<String, Resolved>> {
    match value {
        Resolved::Map(map) => {
            let mut found: Vec<_> = map.values().flat_map(statements).collect();
            if map.contains_key("Effect") && map.contains_key("Action") {
                found.push(map);
            }
            found
        }
        Resolved::List(items) => items.iter().flat_map(statements).collect(),
        _ => Vec::new(),
    }
}

fn role<'a>(template: &'a Value, id: &str) -> &'a Value {
    of_type(template, "AWS::IAM::Role")
        .into_iter()
        .find(|(name, _)| name == id)
        .map(|(_, role)| role)
        .unwrap_or_else(|| panic!("no role {id}"))
}

/// The functions start's role may invoke, as resolved ARNs.
fn invocable(stack: &Stack, template: &Value) -> BTreeSet<String> {
    let policies = stack.resolve(&role(template, "StartRole")["Properties"]["Policies"]);
    statements(&policies)
        .into_iter()
        .filter(|s| {
            s["Action"]
                .texts()
                .contains(&"lambda:InvokeFunction".to_owned())
        })
        .flat_map(|s| s["Resource"].texts())
        .collect()
}

/// The patterns start itself allows, from the environment the template gives it.
fn start_allows(stack: &Stack, template: &Value) -> Vec<String> {
    let (_, start) = function(template, "integration-start").expect("start");
    let Resolved::Map(variables) = stack.resolve(&start["Properties"]["Environment"]["Variables"])
    else {
        panic!("start's environment variables")
    };
    let variables: Vec<(String, String)> = variables
        .iter()
        .map(|(name, value)| (name.clone(), value.text().to_owned()))
        .collect();
    let variables: Vec<(&str, &str)> = variables
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let config = StartConfig::from_lookup(lookup_in(&variables)).expect("start's settings");
    config.allow.patterns().to_vec()
}

/// How many patterns AllowedFunctions accepts: its `(,pattern){0,N}` plus one.
fn most_allowed_functions(template: &Value) -> usize {
    let pattern = template["Parameters"]["AllowedFunctions"]["AllowedPattern"]
        .as_str()
        .expect("AllowedFunctions has a pattern");
    let (_, bound) = pattern
        .rsplit_once("){0,")
        .unwrap_or_else(|| panic!("{pattern} bounds the number of patterns"));
    let bound: usize = bound.trim_end_matches("}$").parse().expect("a bound");
    bound + 1
}

#[test]
fn starts_role_may_invoke_exactly_the_allow_list_in_the_stacks_partition_account_and_region() {
    let template = template();
    let most = most_allowed_functions(&template);
    assert!(most >= 5, "only {most} patterns");
    let many: Vec<String> = (1..=most).map(|i| format!("fn-{i}_*")).collect();
    let lists = [
        String::new(),
        "dev-rules-engine-integrationLookup".to_owned(),
        "dev-rules-engine-integration*,legacy_lookup,crm-*".to_owned(),
        many.join(","),
    ];
    for list in lists {
        let stack = Stack::new(&template, &[("AllowedFunctions", &list)]);
        let patterns = start_allows(&stack, &template);
        if list.is_empty() {
            assert_eq!(patterns, ["dev-rules-engine-integration*"]);
        } else {
            assert_eq!(patterns.join(","), list, "start allows what was given");
        }
        let expected: BTreeSet<String> = patterns
            .iter()
            .map(|p| {
                format!(
                    "arn:{}:lambda:{}:{}:function:{p}",
                    stack.partition, stack.region, stack.account
                )
            })
            .collect();
        assert_eq!(
            invocable(&stack, &template),
            expected,
            "AllowedFunctions {list:?}"
        );
    }
}

#[test]
fn every_policy_resource_is_in_the_stacks_partition_account_and_region() {
    let template = template();
    let stream = "arn:aws-us-gov:dynamodb:us-gov-west-1:123456789012:table/t-state/stream/2026";
    let settings: [&[(&str, &str)]; 4] = [
        &[],
        &[("AllowedFunctions", "a-*,b")],
        &[
            ("IntegrationSubnetIds", "subnet-0a1b2c3d"),
            ("IntegrationSecurityGroupIds", "sg-0a1b2c3d"),
        ],
        &[
            ("ExistingStateTableName", "t-state"),
            ("ExistingStateTableStreamArn", stream),
        ],
    ];
    let mut checked = 0;
    for given in settings {
        let stack = Stack::new(&template, given);
        assert!(stack.failed_rules().is_empty(), "{given:?}");
        let own = format!("{}:{}:", stack.region, stack.account);
        for (id, role) in of_type(&template, "AWS::IAM::Role") {
            let policies = stack.resolve(&role["Properties"]["Policies"]);
            for statement in statements(&policies) {
                for resource in statement["Resource"].texts() {
                    checked += 1;
                    // '*' is held to its actions in policies.rs; <X.Arn> is a
                    // resource of this stack.
                    if resource == "*" || (resource.starts_with('<') && resource.ends_with('>')) {
                        continue;
                    }
                    let rest = resource
                        .strip_prefix(&format!("arn:{}:", stack.partition))
                        .unwrap_or_else(|| {
                            panic!("{id}: {resource} is not in the stack's partition")
                        });
                    let (_service, rest) = rest.split_once(':').expect("an ARN's service");
                    assert!(
                        rest.starts_with(&own),
                        "{id}: {resource} is not in the stack's region and account ({given:?})"
                    );
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} resources checked");
}

#[test]
fn no_resource_hard_codes_a_partition() {
    let text =
        std::fs::read_to_string(crate::root().join("infra/template.yaml")).expect("template");
    let resources = text
        .split_once("\nResources:")
        .expect("a Resources section")
        .1;
    for (number, line) in resources.lines().enumerate() {
        assert!(
            !line.contains("arn:aws:") && !line.contains("arn:aws-"),
            "Resources line {}: {line}: use arn:${{AWS::Partition}}:",
            number + 1
        );
    }
}
