//! Capacity consumed per contact, and requests per check-timeout wait.
//!
//! A contact is played as the contact flow plays it, without the comfort
//! messages: start, then check-timeout again and again while the run is open.
//! Every DynamoDB request of start, check-timeout and the integration function
//! goes through one [`Meter`], so a contact's figure is everything it cost.
//! Ours is the real start, check-timeout and echo (through the integration
//! framework); the naive side is [`crate::naive`].

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use crate::{
    lab::{self, Job, Lab, NAIVE_FUNCTION, OURS_FUNCTION},
    meter::{Meter, Usage},
};
use kit::connect_event;

/// A fast integration (answered inside start), a slow one (six seconds), and
/// one that outlives its rule's timeout (eight seconds of a four-second rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speed {
    Fast,
    Slow,
    TimedOut,
}

impl Speed {
    pub fn work(self) -> Duration {
        match self {
            Speed::Fast => Duration::ZERO,
            Speed::Slow => Duration::from_secs(6),
            Speed::TimedOut => Duration::from_secs(8),
        }
    }

    /// The rule's timeout, in seconds.
    pub fn timeout_s(self) -> u32 {
        match self {
            Speed::Fast | Speed::Slow => 20,
            Speed::TimedOut => 4,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Speed::Fast => "fast (0 s)",
            Speed::Slow => "slow (6 s)",
            Speed::TimedOut => "timed out (8 s, rule 4 s)",
        }
    }
}

/// The functions a contact invokes, as Lambda bills them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Function {
    Start,
    CheckTimeout,
    /// The integration function, invoked asynchronously by start.
    Integration,
}

impl Function {
    pub const ALL: [Function; 3] = [
        Function::Start,
        Function::CheckTimeout,
        Function::Integration,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Function::Start => "integration-start",
            Function::CheckTimeout => "check-timeout",
            Function::Integration => "integration function",
        }
    }
}

/// One contact's cost, and the calls Connect made.
#[derive(Debug, Clone)]
pub struct Contact {
    pub usage: Usage,
    pub calls: u32,
    pub status: String,
    /// Every invocation of the contact and how long it ran, from its start to
    /// its answer (the integration function: to its return).
    pub invocations: Vec<(Function, Duration)>,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub keys: usize,
    pub speed: Speed,
    pub ours: Contact,
    pub naive: Contact,
}

/// Ours and the naive side, side by side, for one contact size and speed; the
/// median (by read capacity) of `repetitions` contacts each.
pub async fn measure(lab: &Arc<Lab>, keys: usize, speed: Speed, repetitions: usize) -> Row {
    let (mut ours, mut naive) = (Vec::new(), Vec::new());
    for _ in 0..repetitions.max(1) {
        let (o, n) = tokio::join!(
            contact(lab, false, keys, speed),
            contact(lab, true, keys, speed)
        );
        ours.push(o);
        naive.push(n);
    }
    Row {
        keys,
        speed,
        ours: median(ours),
        naive: median(naive),
    }
}

fn median(mut contacts: Vec<Contact>) -> Contact {
    contacts.sort_by(|a, b| a.usage.rcu.total_cmp(&b.usage.rcu));
    contacts[contacts.len() / 2].clone()
}

async fn contact(lab: &Lab, naive: bool, keys: usize, speed: Speed) -> Contact {
    let meter = Meter::default();
    let payload = format!("{{\"SleepTime\": {}}}", speed.work().as_secs());
    let function = if naive { NAIVE_FUNCTION } else { OURS_FUNCTION };
    let contact = lab.seed(keys, function, speed.timeout_s(), &payload).await;
    let event = connect_event(&contact);
    let mut calls = 1;
    let mut invocations = Vec::new();
    let mut timed = |function, since: Instant| invocations.push((function, since.elapsed()));
    let (finished, status) = if naive {
        let side = lab.naive(&meter);
        let finished = lab.expect(
            &contact,
            Job::NaiveEcho {
                naive: side.clone(),
                work: speed.work(),
            },
        );
        let since = Instant::now();
        let mut answer = side
            .start(&lab.lambda.client(), contact.as_str(), &event)
            .await
            .expect("the naive start answers");
        timed(Function::Start, since);
        while is_open(answer.get("IntegrationStatus").map_or("", |s| s.as_str())) && calls < 20 {
            let since = Instant::now();
            answer = side
                .check_timeout(contact.as_str())
                .await
                .expect("the naive check-timeout answers");
            timed(Function::CheckTimeout, since);
            calls += 1;
        }
        (
            finished,
            answer.get("IntegrationStatus").cloned().unwrap_or_default(),
        )
    } else {
        let store = lab.store(&meter);
        let finished = lab.expect(
            &contact,
            Job::OursEcho {
                store: store.clone(),
            },
        );
        let start = lab.start_deps(store.clone());
        let check = lab.check_deps(store);
        let since = Instant::now();
        let mut answer = integration_start::handle(event.clone(), None, &start).await;
        timed(Function::Start, since);
        while is_open(lab::answered_status(&answer)) && calls < 20 {
            let since = Instant::now();
            answer = check_timeout::handle(event.clone(), &check).await;
            timed(Function::CheckTimeout, since);
            calls += 1;
        }
        (finished, lab::answered_status(&answer).to_owned())
    };
    // The function's last response may come back after the answer.
    if let Ok(Ok(finish)) = tokio::time::timeout(Duration::from_secs(15), finished).await {
        invocations.push((Function::Integration, finish.ran));
    }
    Contact {
        usage: meter.usage(),
        calls,
        status,
        invocations,
    }
}

fn is_open(status: &str) -> bool {
    matches!(status, "START" | "RUN")
}

/// Requests (and read capacity) of one check-timeout call that waits its whole
/// 2 s for a run that does not finish.
#[derive(Debug, Clone)]
pub struct Wait {
    pub ours: Usage,
    pub naive: Usage,
    pub keys: usize,
}

pub async fn wait(lab: &Arc<Lab>, keys: usize) -> Wait {
    // Ours: a run opened as start opens it, whose function never finishes.
    let meter = Meter::default();
    let contact = lab.seed(keys, OURS_FUNCTION, 20, "").await;
    let store = lab.store(&meter);
    store
        .start(
            &contact,
            shared::RunStart {
                function_name: OURS_FUNCTION.into(),
                timeout: Duration::from_secs(20),
            },
        )
        .await
        .expect("a run opens");
    meter.reset();
    let answer = check_timeout::handle(connect_event(&contact), &lab.check_deps(store)).await;
    assert!(is_open(lab::answered_status(&answer)), "{answer}");
    let ours = meter.usage();

    let meter = Meter::default();
    let contact = lab.seed(keys, NAIVE_FUNCTION, 20, "").await;
    let naive = lab.naive(&meter);
    naive
        .persist(
            contact.as_str(),
            &[
                ("IntegrationStatus", "START".into()),
                (
                    "IntegrationStart",
                    shared::time::format_rules_engine(chrono::Utc::now()),
                ),
            ],
            &[],
        )
        .await
        .expect("a naive run opens");
    meter.reset();
    let answer = naive
        .check_timeout(contact.as_str())
        .await
        .expect("answers");
    assert_eq!(
        answer.get("IntegrationStatus").map(String::as_str),
        Some("START")
    );
    Wait {
        ours,
        naive: meter.usage(),
        keys,
    }
}
