//! The template's Rules refuse, when CloudFormation validates the parameters,
//! the combinations that would otherwise fail halfway through a deploy.

use crate::template::{function, template};
use kit::iam::template::{Resolved, Stack};

#[test]
fn subnets_and_security_groups_are_given_together_or_not_at_all() {
    let template = template();
    let cases = [
        ("", "", true),
        ("subnet-0a1b2c3d", "sg-0a1b2c3d", true),
        (
            "subnet-0a1b2c3d,subnet-1a1b2c3d,subnet-2a1b2c3d",
            "sg-0a1b2c3d",
            true,
        ),
        ("subnet-0a1b2c3d", "", false),
        ("subnet-0a1b2c3d,subnet-1a1b2c3d", "", false),
        ("", "sg-0a1b2c3d", false),
    ];
    for (subnets, groups, valid) in cases {
        let stack = Stack::new(
            &template,
            &[
                ("IntegrationSubnetIds", subnets),
                ("IntegrationSecurityGroupIds", groups),
            ],
        );
        let failed = stack.failed_rules();
        assert_eq!(
            failed.is_empty(),
            valid,
            "subnets {subnets:?}, security groups {groups:?}: refused by {failed:?}"
        );
        for description in &failed {
            assert!(
                description.contains("IntegrationSubnetIds")
                    && description.contains("IntegrationSecurityGroupIds"),
                "a refusal names both parameters: {description}"
            );
        }
        // What the rules let through is what echo's VpcConfig is built from.
        if valid {
            let (_, echo) = function(&template, "integration-echo").expect("echo");
            match stack.resolve(&echo["Properties"]["VpcConfig"]) {
                Resolved::NoValue => assert!(subnets.is_empty(), "{subnets}: no VpcConfig"),
                Resolved::Map(config) => {
                    assert_eq!(config["SubnetIds"].texts().join(","), subnets);
                    assert_eq!(config["SecurityGroupIds"].texts().join(","), groups);
                }
                other => panic!("VpcConfig {other:?}"),
            }
        }
    }
}

#[test]
fn an_existing_table_is_given_with_its_stream() {
    let template = template();
    let stream = "arn:aws:dynamodb:eu-west-2:123456789012:table/dev-rules-engine-state-ddb/stream/2026-01-01T00:00:00.000";
    let cases = [
        ("", "", true),
        ("dev-rules-engine-state-ddb", stream, true),
        ("dev-rules-engine-state-ddb", "", false),
    ];
    for (table, arn, valid) in cases {
        let stack = Stack::new(
            &template,
            &[
                ("ExistingStateTableName", table),
                ("ExistingStateTableStreamArn", arn),
            ],
        );
        assert_eq!(
            stack.failed_rules().is_empty(),
            valid,
            "table {table:?}, stream {arn:?}"
        );
    }
}
