//! A fresh DynamoDB Local between sections: restarted in memory, and warmed
//! up where a section times its first requests.

use local_stack::stack::faults::StoreOutage;

use crate::{say, Error};

/// Restarts DynamoDB Local in memory: empty, and as quick as when it began;
/// `false` when it was not started by `scripts/dynamodb-local.sh` (which says
/// where it is), and the section goes on on the same one.
pub(crate) async fn restart_store(
    fresh: &mut Option<StoreOutage>,
    warm: bool,
) -> Result<bool, Error> {
    if fresh.is_none() && std::env::var_os("DYNAMODB_LOCAL_PID").is_none() {
        say("DYNAMODB_LOCAL_PID is not set (scripts/bench sets it): the next section is measured on the same DynamoDB Local, slower after the sections before it");
        return Ok(false);
    }
    let store = match fresh {
        Some(store) => store,
        None => fresh.insert(StoreOutage::fresh_from_env(std::path::PathBuf::from(
            ".local/bench/dynamodb-local.log",
        ))?),
    };
    std::fs::create_dir_all(".local/bench")?;
    let restart = store.run(std::time::Duration::ZERO).await?;
    let warmed = if warm {
        let warming = std::time::Instant::now();
        warm_up().await?;
        format!(", warmed up in {:.1} s", warming.elapsed().as_secs_f64())
    } else {
        String::new()
    };
    say(&format!(
        "a fresh DynamoDB Local for the next section (restarted in {:.1} s{warmed})",
        restart.restart_took.as_secs_f64()
    ));
    Ok(true)
}

/// A restarted DynamoDB Local is a cold JVM: its first thousands of requests
/// are slow (right after a restart, start's 1 s store timeouts met the first
/// contacts played 20 at once). So before the caller's wait, 16 contacts' runs
/// are opened and finished on a scratch table, 60 each, side by side.
async fn warm_up() -> Result<(), Error> {
    let client = aws_sdk_dynamodb::Client::new(&kit::aws::sdk_config().await);
    local_stack::stack::warm_dynamodb(&client, 16, 60).await
}
