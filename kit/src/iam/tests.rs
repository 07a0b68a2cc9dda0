use serde_json::json;

use super::*;

fn policies() -> Policies {
    Policies::for_stack("state", "integration-*")
}

fn need(action: &str, resource: &str) -> Need {
    Need {
        action: action.into(),
        resource: resource.into(),
    }
}

#[test]
fn iam_wildcards_match_runs_and_single_characters() {
    assert!(matches_pattern("a*c", "abbbc"));
    assert!(matches_pattern("a*", "a"));
    assert!(matches_pattern("a?c", "abc"));
    assert!(!matches_pattern("a?c", "ac"));
    assert!(!matches_pattern("abc", "abcd"));
    assert!(matches_pattern("*/stream/*", "t/stream/2026"));
    assert!(!matches_pattern("table/t", "table/t/index/i"));
    assert!(matches_pattern("*x", "*ax"), "a star in the text is text");
}

#[test]
fn an_action_matches_whatever_its_case_and_an_explicit_deny_wins() {
    let table = needs::table_arn("state");
    let mut policies = policies();
    let statements = policies.roles.get_mut(&Role::Echo).unwrap();
    statements[1].actions.push("DynamoDB:scan".into());
    assert!(policies
        .check(Role::Echo, &need("dynamodb:Scan", &table))
        .is_ok());
    policies
        .roles
        .get_mut(&Role::Echo)
        .unwrap()
        .push(Statement {
            sid: "NoScan".into(),
            allow: false,
            actions: vec!["dynamodb:Scan".into()],
            resources: vec!["*".into()],
        });
    let denied = policies
        .check(Role::Echo, &need("dynamodb:Scan", &table))
        .unwrap_err();
    assert!(denied.explicitly);
    assert!(denied
        .to_string()
        .ends_with("with an explicit deny in an identity-based policy"));
}

#[test]
fn an_invocation_names_its_function_by_name_or_arn() {
    let whole = "arn:aws:lambda:us-east-1:123456789012:function:integration-echo";
    assert_eq!(needs::invoke("integration-echo").resource, whole);
    assert_eq!(needs::invoke(whole).resource, whole);
    assert_eq!(
        needs::invoke("123456789012:function:integration-echo").resource,
        whole
    );
}

#[test]
fn a_request_whose_needs_cannot_be_told_has_none() {
    let partiql = json!({"Statement": "SELECT * FROM state"});
    assert_eq!(
        needs::dynamodb("DynamoDB_20120810.ExecuteStatement", &partiql),
        None
    );
    assert_eq!(needs::dynamodb("", &json!({})), None);
}

#[test]
fn a_transaction_needs_each_item_s_own_action_on_its_table() {
    // DynamoDB Developer Guide, "Using IAM with DynamoDB transactions".
    let body = json!({"TransactItems": [
        {"ConditionCheck": {"TableName": "state", "Key": {}}},
        {"Put": {"TableName": "state", "Item": {}}},
        {"Update": {"TableName": "state", "Key": {}}},
        {"Delete": {"TableName": "other", "Key": {}}},
    ]});
    let needs = needs::dynamodb("DynamoDB_20120810.TransactWriteItems", &body).unwrap();
    let table = needs::table_arn("state");
    assert_eq!(
        needs,
        [
            need("dynamodb:ConditionCheckItem", &table),
            need("dynamodb:PutItem", &table),
            need("dynamodb:UpdateItem", &table),
            need("dynamodb:DeleteItem", &needs::table_arn("other")),
        ]
    );
}

#[test]
fn a_query_of_an_index_is_checked_against_the_index_s_arn() {
    let body = json!({"TableName": "state", "IndexName": "PendingRuns"});
    let needs = needs::dynamodb("DynamoDB_20120810.Query", &body).unwrap();
    assert_eq!(
        needs,
        [need(
            "dynamodb:Query",
            &format!("{}/index/PendingRuns", needs::table_arn("state"))
        )]
    );
}

#[test]
fn a_stream_s_arn_and_iterator_name_the_stream_in_the_local_account() {
    let arn = "arn:aws:dynamodb:ddblocal:000000000000:table/state/stream/2026-12-07T00:00:00.000";
    let wanted = format!(
        "{}/stream/2026-12-07T00:00:00.000",
        needs::table_arn("state")
    );
    let described = needs::dynamodb(
        "DynamoDBStreams_20120810.DescribeStream",
        &json!({ "StreamArn": arn }),
    );
    assert_eq!(
        described,
        Some(vec![need("dynamodb:DescribeStream", &wanted)])
    );
    let read = needs::dynamodb(
        "DynamoDBStreams_20120810.GetRecords",
        &json!({ "ShardIterator": format!("000|{arn}|AAAA") }),
    );
    assert_eq!(read, Some(vec![need("dynamodb:GetRecords", &wanted)]));
}

#[test]
fn each_role_is_allowed_its_function_s_calls_and_refused_the_others() {
    let policies = policies();
    let table = needs::table_arn("state");
    let update = need("dynamodb:UpdateItem", &table);
    for role in Role::ALL {
        assert!(policies.check(role, &update).is_ok(), "{role:?}");
    }
    let sweep = need("dynamodb:Query", &format!("{table}/index/PendingRuns"));
    assert!(policies.check(Role::Consumer, &sweep).is_ok());
    assert!(policies.check(Role::Start, &sweep).is_err());
    assert!(policies
        .check(Role::Start, &needs::invoke("integration-echo"))
        .is_ok());
    assert!(policies
        .check(Role::Echo, &needs::invoke("integration-echo"))
        .is_err());
    let other_table = need("dynamodb:GetItem", &needs::table_arn("another"));
    assert!(policies.check(Role::Start, &other_table).is_err());
    assert!(policies
        .check(Role::Start, &need("dynamodb:Scan", &table))
        .is_err());
}

#[test]
fn a_denial_names_the_role_the_action_and_the_resource_as_aws_does() {
    let denied = policies()
        .check(
            Role::Echo,
            &need("dynamodb:Scan", &needs::table_arn("state")),
        )
        .unwrap_err();
    let text = denied.to_string();
    assert!(text.starts_with("User: arn:aws:sts::123456789012:assumed-role/EchoRole/"));
    assert!(text.contains("is not authorized to perform: dynamodb:Scan on resource: arn:aws:dynamodb:us-east-1:123456789012:table/state"));
}

#[test]
fn the_signing_key_names_the_caller_s_role() {
    let header = "AWS4-HMAC-SHA256 Credential=ConsumerRole/20261207/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0";
    assert_eq!(caller(Some(header)), Some(Role::Consumer));
    assert_eq!(caller(Some(&header.replace("ConsumerRole", "local"))), None);
    assert_eq!(caller(None), None);
}
