//! The bench's local stack: a fresh state table on DynamoDB Local, a Lambda
//! Invoke API endpoint standing in for Lambda (asynchronous invocations answered
//! 202 at once, then played by the job registered for the contact), contacts
//! seeded as the Rules Engine leaves them when an integration rule fires, and
//! both sides' functions built on clients of the caller's choosing.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use kit::{lambda::fake::FakeLambda, Rule, TestTable};
use serde_json::{json, Value};
use shared::{
    connect::Instance, waiting::WaitConfig, ContactId, ItemChange, RunId, Store, SystemClock,
};
use tokio::sync::oneshot;

use crate::{meter::Meter, naive::Naive};

/// The function start invokes, allowed by the bench's allow-list.
pub const OURS_FUNCTION: &str = "bench-integrationOurs";
pub const NAIVE_FUNCTION: &str = "bench-integrationNaive";

/// What the stand-in for Lambda does with a contact's asynchronous invocation.
pub enum Job {
    /// Ours, minimal: queued for `queued`, then `RUN`, the work, `DONE` through
    /// `shared::Store`.
    OursFinisher {
        store: Store,
        queued: Duration,
        work: Duration,
    },
    /// The real echo through the integration framework, on `store`.
    OursEcho { store: Store },
    /// The naive side, minimal: queued for `queued`, then `RUN`, the work,
    /// `DONE`, plain writes.
    NaiveFinisher {
        naive: Naive,
        queued: Duration,
        work: Duration,
    },
    /// The naive integration function, whole.
    NaiveEcho { naive: Naive, work: Duration },
}

/// What a contact's function did: when its `DONE` committed (finishers and
/// the naive echo), and how long it ran, from its start to its return (what
/// Lambda bills).
#[derive(Debug, Clone, Copy)]
pub struct Finish {
    pub committed: Option<Instant>,
    pub ran: Duration,
}

type Finished = oneshot::Sender<Finish>;

pub struct Lab {
    pub table: TestTable,
    pub lambda: FakeLambda,
    jobs: Arc<Mutex<HashMap<String, (Job, Finished)>>>,
}

impl Lab {
    pub async fn new() -> Self {
        let table = TestTable::new().await;
        let jobs: Arc<Mutex<HashMap<String, (Job, Finished)>>> = Arc::default();
        let registry = jobs.clone();
        let lambda = FakeLambda::accepting(move |invocation| {
            let Some(contact) = invocation.payload["ContactId"].as_str() else {
                return;
            };
            let Some((job, finished)) = registry.lock().expect("not poisoned").remove(contact)
            else {
                return;
            };
            play(job, finished, contact.to_owned(), invocation.payload);
        })
        .await;
        Self {
            table,
            lambda,
            jobs,
        }
    }

    /// Registers what the function invoked for `contact` does; the receiver says
    /// when it has finished: how long it ran, and when its `DONE` committed.
    pub fn expect(&self, contact: &ContactId, job: Job) -> oneshot::Receiver<Finish> {
        let (sender, receiver) = oneshot::channel();
        self.jobs
            .lock()
            .expect("not poisoned")
            .insert(contact.to_string(), (job, sender));
        receiver
    }

    /// The stand-in for Lambda, for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn lambda_url(&self) -> String {
        self.lambda.url()
    }

    /// A store on the table through `meter`.
    pub fn store(&self, meter: &Meter) -> Store {
        Store::new(
            meter.client(&self.table.client),
            &self.table.name,
            Arc::new(SystemClock),
        )
    }

    pub fn naive(&self, meter: &Meter) -> Naive {
        Naive {
            client: meter.client(&self.table.client),
            table: self.table.name.clone(),
        }
    }

    /// integration-start's dependencies, configured by this process's environment
    /// as the function is by its own (`POLL_FIRST_MS` and the rest), but for the
    /// bench's table and allow-list.
    pub fn start_deps(&self, store: Store) -> integration_start::Deps {
        let table = self.table.name.clone();
        let config = integration_start::StartConfig::from_lookup(|name| match name {
            "STATE_TABLE" => Some(table.clone()),
            "ALLOWED_FUNCTIONS" => Some("bench-integration*".into()),
            _ => std::env::var(name).ok(),
        })
        .expect("the wait settings are valid");
        integration_start::Deps {
            store,
            lambda: self.lambda.client(),
            config,
            instance: Instance::new(),
        }
    }

    pub fn check_deps(&self, store: Store) -> check_timeout::Deps {
        check_timeout::Deps {
            store,
            wait: wait_config(),
            instance: Instance::new(),
        }
    }

    /// Seeds a contact with `keys_wanted` state keys (at least the rule's
    /// four) as an integration rule leaves them: the rule's function, output
    /// key, timeout and payload, and customer data.
    pub async fn seed(
        &self,
        keys_wanted: usize,
        function: &str,
        timeout_s: u32,
        payload: &str,
    ) -> ContactId {
        let contact = kit::new_contact();
        let rule = Rule {
            name: "Integration",
            function,
            output_key: "Result",
            timeout_s,
            payload,
        };
        // The keys start and the function read, then customer data, as many as asked.
        let mut keys = rule.function_keys();
        for i in keys.len()..keys_wanted {
            keys.push((
                format!("Customer_{i:03}"),
                json!(format!("value of customer key {i:03}")),
            ));
        }
        kit::contacts::write_state(&self.table.store(), &contact, keys)
            .await
            .expect("seeding a contact");
        contact
    }
}

/// The wait settings start and check-timeout run with here (checked by `main`
/// before anything runs).
pub fn wait_config() -> WaitConfig {
    WaitConfig::from_env().expect("the wait settings are valid")
}

/// The wait settings in a line, for the report.
pub fn describe(wait: &WaitConfig) -> String {
    let ms = |d: Duration| d.as_millis();
    format!(
        "start reads the status item {} ms after the invoke, then every {} ms; check-timeout reads it every {} ms; each call waits up to {} ms",
        ms(wait.poll.first),
        ms(wait.poll.every),
        ms(wait.check_poll.every),
        ms(wait.budget)
    )
}

fn play(job: Job, finished: Finished, contact: String, payload: Value) {
    match job {
        Job::OursFinisher {
            store,
            queued,
            work,
        } => finish(finished, queued, async move {
            let contact = ContactId::parse(contact).expect("a seeded contact");
            let run = payload["RunId"].as_str().and_then(|r| RunId::parse(r).ok());
            store.run(&contact, run.as_ref()).await.ok()?;
            tokio::time::sleep(work).await;
            let output = [ItemChange::put("Result", "ok")];
            store.done(&contact, run.as_ref(), &output).await.ok()?;
            Some(Instant::now())
        }),
        Job::NaiveFinisher {
            naive,
            queued,
            work,
        } => finish(finished, queued, async move {
            let running = [("IntegrationStatus", "RUN".into())];
            naive.persist(&contact, &running, &[]).await.ok()?;
            tokio::time::sleep(work).await;
            naive.done(&contact, "Result", "ok".into()).await.ok()
        }),
        Job::NaiveEcho { naive, work } => {
            tokio::spawn(async move {
                let began = Instant::now();
                let committed = naive.integration(&contact, work).await.ok();
                let ran = began.elapsed();
                let _ = finished.send(Finish { committed, ran });
            });
        }
        Job::OursEcho { store } => {
            let began = Instant::now();
            kit::lambda::fake::run_echo(store, payload, move || {
                let ran = began.elapsed();
                let _ = finished.send(Finish {
                    committed: None,
                    ran,
                });
            });
        }
    }
}

/// A finisher: queued for `queued`, then `run`, whose answer is when its `DONE`
/// committed (none when a write failed).
fn finish(
    finished: Finished,
    queued: Duration,
    run: impl Future<Output = Option<Instant>> + Send + 'static,
) {
    tokio::spawn(async move {
        tokio::time::sleep(queued).await;
        let began = Instant::now();
        let committed = run.await;
        let ran = began.elapsed();
        let _ = finished.send(Finish { committed, ran });
    });
}

/// The status in Connect's answer.
pub fn answered_status(answer: &Value) -> &str {
    answer["IntegrationStatus"].as_str().unwrap_or("")
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}
