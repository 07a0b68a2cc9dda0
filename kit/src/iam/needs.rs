//! What IAM requires of a request: the actions and the resources AWS checks
//! for each operation (the Service Authorization Reference's tables for
//! DynamoDB and Lambda, and DynamoDB's Developer Guide on transactions: "each
//! item of a `TransactWriteItems` is authorised by its kind, `ConditionCheck`
//! by `dynamodb:ConditionCheckItem`, `Put` by `dynamodb:PutItem`, `Update` by
//! `dynamodb:UpdateItem` and `Delete` by `dynamodb:DeleteItem`"; the items of
//! a `TransactGetItems` by `dynamodb:GetItem`). A query or scan of an index is
//! checked against the index's ARN, a stream's operations against the
//! stream's.

use serde_json::Value;

use super::{ACCOUNT, PARTITION, REGION};

/// One action on one resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Need {
    pub action: String,
    pub resource: String,
}

impl Need {
    fn new(action: &str, resource: String) -> Self {
        Self {
            action: action.to_owned(),
            resource,
        }
    }
}

/// A table's ARN in the local stack's account and region.
pub fn table_arn(table: &str) -> String {
    format!("arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
}

/// A function's ARN in the local stack's account and region.
pub fn function_arn(function: &str) -> String {
    format!("arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{function}")
}

/// What invoking `function` needs: the Invoke API takes a name (with a
/// qualifier or not), a partial ARN (`account:function:name`) or a whole one.
pub fn invoke(function: &str) -> Need {
    let resource = if function.starts_with("arn:") {
        function.to_owned()
    } else if let Some((account, name)) = function.split_once(":function:") {
        format!("arn:{PARTITION}:lambda:{REGION}:{account}:function:{name}")
    } else {
        function_arn(function)
    };
    Need::new("lambda:InvokeFunction", resource)
}

/// What a DynamoDB or DynamoDB Streams request needs: `target` is its
/// `X-Amz-Target` (`DynamoDB_20120810.GetItem`), `body` its JSON. `None` for a
/// request that cannot be read: DynamoDB refuses it itself.
pub fn dynamodb(target: &str, body: &Value) -> Option<Vec<Need>> {
    let (service, operation) = target.split_once('.')?;
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let table = || text(&body["TableName"]).map(|t| table_arn(&t));
    let action = |name: &str| format!("dynamodb:{name}");
    if service.starts_with("DynamoDBStreams") {
        let stream = match operation {
            "ListStreams" => Some("*".to_owned()),
            "GetRecords" => text(&body["ShardIterator"]).and_then(|i| stream_in(&i)),
            _ => text(&body["StreamArn"]).and_then(|arn| stream_in(&arn)),
        };
        return Some(vec![Need::new(&action(operation), stream?)]);
    }
    let needs = match operation {
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()?
            .iter()
            .map(|item| {
                let (kind, inner) = item.as_object()?.iter().next()?;
                let action = match kind.as_str() {
                    "ConditionCheck" => "dynamodb:ConditionCheckItem",
                    "Put" => "dynamodb:PutItem",
                    "Update" => "dynamodb:UpdateItem",
                    "Delete" => "dynamodb:DeleteItem",
                    "Get" => "dynamodb:GetItem",
                    _ => return None,
                };
                Some(Need::new(action, table_arn(inner["TableName"].as_str()?)))
            })
            .collect::<Option<Vec<_>>>()?,
        "BatchWriteItem" | "BatchGetItem" => body["RequestItems"]
            .as_object()?
            .keys()
            .map(|t| Need::new(&action(operation), table_arn(t)))
            .collect(),
        "Query" | "Scan" => {
            let resource = match text(&body["IndexName"]) {
                Some(index) => format!("{}/index/{index}", table()?),
                None => table()?,
            };
            vec![Need::new(&action(operation), resource)]
        }
        "ListTables" | "DescribeLimits" | "DescribeEndpoints" => {
            vec![Need::new(&action(operation), "*".into())]
        }
        _ => vec![Need::new(&action(operation), table()?)],
    };
    Some(needs)
}

/// The stream ARN in a stream ARN or shard iterator, in the local stack's
/// account and region: DynamoDB Local writes its own (`ddblocal`,
/// `000000000000`), and its shard iterators carry the stream's ARN.
fn stream_in(text: &str) -> Option<String> {
    let from = text.find(":table/")?;
    let rest = &text[from + ":table/".len()..];
    let end = rest.find('|').unwrap_or(rest.len());
    Some(format!(
        "arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{}",
        &rest[..end]
    ))
}
