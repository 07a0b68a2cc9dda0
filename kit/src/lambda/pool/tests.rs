//! The pools with real processes: each instance is the shell runtime of AWS's
//! custom-runtime tutorial (curl against the Runtime API, one invocation at a
//! time), so what is tested is the Runtime API the functions' runtime speaks.
//! The event is a number of seconds to sleep, or `exit` to crash.

use std::{sync::Arc, time::Duration};

use hyper::body::Bytes;

use super::*;

const RUNTIME: &str = r#"#!/bin/sh
set -eu
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
headers="$(mktemp)"
while true; do
  event="$(curl -sS -D "$headers" "$api/invocation/next")"
  id="$(grep -Fi Lambda-Runtime-Aws-Request-Id "$headers" | tr -d '[:space:]' | cut -d: -f2)"
  if [ "$event" = "exit" ]; then exit 3; fi
  sleep "$event"
  curl -sS -o /dev/null -X POST -d "{\"slept\":$event,\"pid\":$$}" "$api/invocation/$id/response"
done
"#;

/// The pools of a test, and the folder of their runtime, removed at the end.
struct TestPools {
    functions: Functions,
    dir: std::path::PathBuf,
}

impl std::ops::Deref for TestPools {
    type Target = Functions;
    fn deref(&self) -> &Functions {
        &self.functions
    }
}

impl Drop for TestPools {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A pool of the shell runtime with `limit` instances and `timeout`.
fn pool(limit: u32, timeout: Duration) -> TestPools {
    pool_of(RUNTIME, limit, timeout)
}

/// A pool of the runtime `script`.
fn pool_of(script: &str, limit: u32, timeout: Duration) -> TestPools {
    let dir = std::env::temp_dir().join(format!("pool-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let binary = dir.join("shell-runtime");
    std::fs::write(&binary, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let stdout: OutputSink = Arc::new(|out| {
        tokio::spawn(async move {
            let mut out = out;
            let _ = tokio::io::copy(&mut out, &mut tokio::io::sink()).await;
        });
    });
    let launch = Launch {
        bin_dir: dir.clone(),
        env: Vec::new(),
        // The shell runtime needs PATH for curl.
        inherit_env: true,
        log: std::fs::File::create(dir.join("stderr.log")).unwrap(),
        stdout,
    };
    let spec = FunctionSpec {
        name: "shell-runtime",
        limit,
        timeout,
        env: Vec::new(),
    };
    TestPools {
        functions: Functions::start(launch, &[spec]).unwrap(),
        dir,
    }
}

fn invocation(invocation_type: InvocationType, event: &'static str) -> Invocation {
    Invocation {
        function: "shell-runtime".into(),
        invocation_type,
        payload: Bytes::from_static(event.as_bytes()),
        caller: None,
    }
}

fn report(functions: &Functions) -> FunctionReport {
    functions.report().remove(0)
}

fn error_type(reply: &Reply) -> String {
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
    body["errorType"].as_str().unwrap_or_default().to_owned()
}

/// Answers the next invocation well (on a new instance, where the last one
/// ended), and reports the pool after it.
async fn served_again(functions: &Functions) -> FunctionReport {
    let next = functions
        .invoke(invocation(InvocationType::RequestResponse, "0"))
        .await;
    assert_eq!((next.status, next.function_error), (200, None));
    report(functions)
}

#[tokio::test]
async fn asynchronous_invocations_beyond_the_limit_queue_for_a_free_instance() {
    // GIVEN a function of at most two instances
    let functions = pool(2, Duration::from_secs(10));

    // WHEN four asynchronous invocations of 0.6 s arrive at once
    for _ in 0..4 {
        let reply = functions
            .invoke(invocation(InvocationType::Event, "0.6"))
            .await;
        assert_eq!(reply.status, 202);
    }
    let until = Instant::now() + Duration::from_secs(20);
    while report(&functions).async_queue_delays.len() < 4 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // THEN two instances start, each takes one at a time, and the other two
    // wait in the queue until an instance has answered
    let report = report(&functions);
    assert_eq!(report.async_invocations, 4);
    assert_eq!(report.cold_starts.len(), 2, "{report:?}");
    assert_eq!(report.peak_concurrency, 2);
    let mut delays = report.async_queue_delays.clone();
    delays.sort();
    assert_eq!(delays.len(), 4, "{report:?}");
    assert!(delays[2] >= Duration::from_millis(600), "{delays:?}");
    functions.stop().await;
}

#[tokio::test]
async fn a_synchronous_invocation_at_the_limit_is_throttled_and_a_free_instance_reused() {
    // GIVEN a function of one instance, busy with a synchronous invocation
    let functions = Arc::new(pool(1, Duration::from_secs(10)));
    let busy = {
        let functions = functions.clone();
        tokio::spawn(async move {
            functions
                .invoke(invocation(InvocationType::RequestResponse, "1"))
                .await
        })
    };
    let until = Instant::now() + Duration::from_secs(10);
    while report(&functions).peak_concurrency == 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // WHEN another synchronous invocation arrives
    let throttled = functions
        .invoke(invocation(InvocationType::RequestResponse, "0"))
        .await;

    // THEN it is refused as Lambda throttles, and once the first has been
    // answered the same instance takes the next
    assert_eq!(throttled.status, 429);
    assert_eq!(
        throttled.error_type.as_deref(),
        Some("TooManyRequestsException")
    );
    let first = busy.await.unwrap();
    assert_eq!(first.status, 200);
    assert_eq!(first.function_error, None);
    let again = functions
        .invoke(invocation(InvocationType::RequestResponse, "0"))
        .await;
    assert_eq!(again.status, 200, "{again:?}");
    let pid = |reply: &Reply| {
        serde_json::from_slice::<serde_json::Value>(&reply.body).unwrap()["pid"].clone()
    };
    assert_eq!(pid(&first), pid(&again));
    let report = report(&functions);
    assert_eq!((report.throttled, report.cold_starts.len()), (1, 1));
    functions.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synchronous_invocations_arriving_at_once_get_no_more_than_the_limit() {
    // GIVEN a function of at most two instances
    let functions = Arc::new(pool(2, Duration::from_secs(10)));

    // WHEN six synchronous invocations of 1 s arrive at once
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let functions = functions.clone();
            tokio::spawn(async move {
                functions
                    .invoke(invocation(InvocationType::RequestResponse, "1"))
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for call in calls {
        statuses.push(call.await.unwrap().status);
    }

    // THEN two run and four are throttled, none queued behind the others
    statuses.sort();
    assert_eq!(statuses, [200, 200, 429, 429, 429, 429]);
    assert_eq!(report(&functions).throttled, 4);
    functions.stop().await;
}

#[tokio::test]
async fn an_instance_that_dies_is_answered_for_and_replaced() {
    // GIVEN a function of one instance
    let functions = pool(1, Duration::from_secs(10));

    // WHEN its instance dies during an invocation
    let died = functions
        .invoke(invocation(InvocationType::RequestResponse, "exit"))
        .await;

    // THEN that invocation is answered with Lambda's exit error, and the next
    // one is served by a new instance
    assert_eq!(died.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(error_type(&died), "Runtime.ExitError");
    let report = served_again(&functions).await;
    assert_eq!((report.crashed, report.cold_starts.len()), (1, 2));
    functions.stop().await;
}

#[tokio::test]
async fn an_invocation_past_the_timeout_is_answered_as_lambda_answers_it() {
    // GIVEN a function with a timeout of half a second
    let functions = pool(1, Duration::from_millis(500));

    // WHEN an invocation runs for 5 s
    let began = Instant::now();
    let reply = functions
        .invoke(invocation(InvocationType::RequestResponse, "5"))
        .await;

    // THEN it is answered at the timeout with Lambda's error, and a new
    // instance serves the next invocation
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(error_type(&reply), "Sandbox.Timedout");
    let report = served_again(&functions).await;
    assert_eq!((report.timed_out, report.cold_starts.len()), (1, 2));
    // Stopped for its timeout, not crashed.
    assert_eq!(report.crashed, 0);
    functions.stop().await;
}

#[tokio::test]
async fn an_instance_not_ready_within_the_init_limit_fails_the_invocation_waiting_for_it() {
    // GIVEN a runtime that never asks for work
    let functions = pool_of("#!/bin/sh\nexec sleep 60\n", 1, Duration::from_secs(30));

    // WHEN an invocation waits for its first instance
    let began = Instant::now();
    let reply = functions
        .invoke(invocation(InvocationType::RequestResponse, "0"))
        .await;

    // THEN it fails at Lambda's init limit, and the instance counts as crashed
    assert_eq!(error_type(&reply), "Runtime.ExitError", "{reply:?}");
    assert!(began.elapsed() >= INIT_LIMIT, "{:?}", began.elapsed());
    let report = report(&functions);
    assert_eq!((report.crashed, report.cold_starts.len()), (1, 0));
    functions.stop().await;
}

#[tokio::test]
async fn an_unknown_function_is_not_found() {
    let functions = pool(1, Duration::from_secs(1));
    let reply = functions
        .invoke(Invocation {
            function: "no-such-function".into(),
            invocation_type: InvocationType::RequestResponse,
            payload: Bytes::new(),
            caller: None,
        })
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.error_type.as_deref(),
        Some("ResourceNotFoundException")
    );
}
