//! DynamoDB Local warmed up before contacts are timed against Connect's limits.

use std::{sync::Arc, time::Duration};

use kit::aws::create_table;
use shared::{table::STATE_TABLE, Store, SystemClock};

use super::BoxError;

/// Runs a few hundred requests of every kind the functions make, on a scratch
/// table of the same definition, so DynamoDB Local's JVM has compiled its hot
/// paths before the first contact's calls are timed against Connect's limits:
/// `contacts` contacts' runs opened and finished side by side, `rounds` each.
pub async fn warm_dynamodb(
    dynamodb: &aws_sdk_dynamodb::Client,
    contacts: usize,
    rounds: usize,
) -> Result<(), BoxError> {
    let table = format!("warm-up-{}", uuid::Uuid::new_v4().simple());
    create_table(dynamodb, &table, &STATE_TABLE).await?;
    let store = Store::new(dynamodb.clone(), &table, Arc::new(SystemClock));
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..contacts {
        let store = store.clone();
        workers.spawn(async move {
            let contact = shared::ContactId::parse(format!("warm-up-{worker}"))?;
            let run = shared::RunStart {
                function_name: "warm-up".into(),
                timeout: Duration::from_secs(10),
            };
            for _ in 0..rounds {
                let opened = store.start(&contact, run.clone()).await?;
                store.run(&contact, Some(&opened.id)).await?;
                store.status(&contact).await?;
                store.done(&contact, Some(&opened.id), &[]).await?;
                store.load_state(&contact).await?;
            }
            Ok::<_, BoxError>(())
        });
    }
    while let Some(worker) = workers.join_next().await {
        worker??;
    }
    dynamodb
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .map_err(aws_sdk_dynamodb::Error::from)?;
    Ok(())
}
