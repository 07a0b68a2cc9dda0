//! The SDK pointed at the local endpoints, and the state table created there.

use aws_sdk_dynamodb::{
    types::{
        AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
        KeyType, Projection, ProjectionType, ScalarAttributeType, StreamSpecification,
        StreamViewType, TimeToLiveSpecification,
    },
    Client,
};
use shared::table::{KeyAttribute, TableDefinition};

/// The SDK's configuration from the environment (the endpoints come from
/// `AWS_ENDPOINT_URL_*`); DynamoDB Local takes any credentials and region, so
/// stand-ins are used when none are set.
pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_loader().load().await
}

/// [`sdk_config`] before it is loaded, for a caller that sets more (an
/// endpoint, retries).
pub fn sdk_loader() -> aws_config::ConfigLoader {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "local",
        ));
    }
    loader
}

/// A consistent Query of every item of one contact (one page; page on with
/// `into_paginator`), as a poller of the original Rules Engine reads its state.
pub fn contact_query(
    client: &Client,
    table: &str,
    contact_id: &str,
) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    client
        .query()
        .table_name(table)
        .key_condition_expression("ContactId = :c")
        .expression_attribute_values(":c", AttributeValue::S(contact_id.to_owned()))
        .consistent_read(true)
}

/// Creates a state table from `definition` (keys, stream, index, TTL), as the
/// template does, on DynamoDB Local.
pub async fn create_table(
    client: &Client,
    name: &str,
    definition: &TableDefinition,
) -> Result<(), aws_sdk_dynamodb::Error> {
    let key = |attribute: KeyAttribute, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(attribute.name)
            .key_type(kind)
            .build()
            .expect("name and type set")
    };
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(definition.partition_key, KeyType::Hash))
        .key_schema(key(definition.sort_key, KeyType::Range))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(definition.stream_view))
                .build()
                .expect("stream enabled is set"),
        );
    for attribute in definition.key_attributes() {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute.name)
                .attribute_type(ScalarAttributeType::from(attribute.kind))
                .build()
                .expect("name and type set"),
        );
    }
    for index in definition.indexes {
        let projection = Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(
                index
                    .projected
                    .iter()
                    .map(|name| name.to_string())
                    .collect(),
            ))
            .build();
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.partition_key, KeyType::Hash))
                .key_schema(key(index.sort_key, KeyType::Range))
                .projection(projection)
                .build()
                .expect("name, keys and projection set"),
        );
    }
    create.send().await?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(definition.ttl_attribute)
                .build()
                .expect("enabled and name set"),
        )
        .send()
        .await?;
    Ok(())
}
