//! `local-stack demo`: the main job. Plays the single-contact scenarios, each
//! with its timeline, then a mixed run of many concurrent contacts with a
//! progress line, a summary and the invariant check, on the local stack.

use std::{
    collections::BTreeMap,
    io::{IsTerminal, Write},
    path::PathBuf,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use shared::{ContactState, IntegrationStatus};

use kit::lambda::FunctionReport;

use crate::{
    connect::{
        flow::Flow,
        simulator::{self, percentiles, Played, Scenario, Simulator, OUTPUT_KEY},
    },
    stack::{
        faults::{OutageReport, StoreOutage},
        function_specs, Host, Metrics, Stack, StackOptions,
    },
};
use load::{Load, LoadWatch};

pub mod load;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connect gives up on a Lambda function after this long.
const CONNECT_LIMIT: Duration = Duration::from_secs(8);

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Single-contact scenarios to play (empty: none).
    pub scenarios: Vec<String>,
    /// Contacts in the mixed run (0: none).
    pub contacts: usize,
    /// Contacts in flight at once in the mixed run.
    pub in_flight: usize,
    /// Contacts of the mixed run arrive evenly over this long (zero: all at once,
    /// as fast as the in-flight limit lets them).
    pub ramp: Duration,
    pub message_time: Duration,
    pub flow_file: PathBuf,
    pub stack: StackOptions,
    /// Stop DynamoDB Local this long once half the mixed run's contacts have begun.
    pub store_outage: Option<Duration>,
}

/// How a demo ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every expectation and invariant held.
    Held,
    /// An expectation or invariant did not hold: the functions broke a promise.
    Failed,
    /// Everything held but Connect's time limit, which calls broke only while
    /// the machine could not keep up: not a verdict on the functions.
    Overloaded,
}

impl Verdict {
    /// The verdict of two parts of one demo: a failure wins, then an overload.
    fn and(self, other: Verdict) -> Verdict {
        use Verdict::*;
        match (self, other) {
            (Failed, _) | (_, Failed) => Failed,
            (Overloaded, _) | (_, Overloaded) => Overloaded,
            (Held, Held) => Held,
        }
    }
}

/// Runs the demo and says how it ended.
pub async fn run(options: DemoOptions) -> Result<Verdict, BoxError> {
    let flow_text = std::fs::read_to_string(&options.flow_file).map_err(|err| {
        format!(
            "reading the contact flow {}: {err}",
            options.flow_file.display()
        )
    })?;
    let flow = Flow::parse(&flow_text)?;
    // Found before anything starts, so a missing piece is said at once.
    let outage = match options.store_outage {
        Some(_) if options.contacts == 0 => {
            return Err("--store-outage-seconds needs a mixed run (--contacts N)".into())
        }
        Some(down) => Some((
            StoreOutage::from_env(options.stack.log_file.with_file_name("dynamodb-local.log"))?,
            down,
        )),
        None => None,
    };
    match &options.stack.host {
        Host::Watch => eprintln!(
            "starting the local stack (functions under cargo lambda watch; the first start builds them)…"
        ),
        Host::Processes(dir) => {
            let limits: Vec<String> = function_specs(&options.stack)
                .iter()
                .map(|spec| format!("{} {}", spec.name, spec.limit))
                .collect();
            eprintln!(
                "starting the local stack: the functions as pools of their binaries in {}, \
                 an instance started when an invocation finds none free (a cold start); \
                 concurrency limits: {}…",
                dir.display(),
                limits.join(", ")
            );
        }
    }
    let began = Instant::now();
    let stack = Stack::start(&options.stack).await?;
    eprintln!(
        "local stack up in {:.1} s: table {}, Lambda front {}",
        began.elapsed().as_secs_f64(),
        stack.store.table(),
        stack.front.url()
    );
    let sim = Simulator {
        store: stack.store.clone(),
        lambda: stack.lambda.clone(),
        flow,
        message_time: options.message_time,
    };
    let outage = outage.map(|(store, down)| (Arc::new(tokio::sync::Mutex::new(store)), down));
    let load = LoadWatch::start();
    let outcome = tokio::select! {
        result = play_all(&sim, &stack, &options, outage.clone(), &load) => result,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    };
    stack.stop().await;
    if let Some((store, _)) = outage {
        store.lock().await.shut_down().await;
    }
    outcome
}

/// A store outage to inject: the process, and how long it stays down.
type Outage = Option<(Arc<tokio::sync::Mutex<StoreOutage>>, Duration)>;

async fn play_all(
    sim: &Simulator,
    stack: &Stack,
    options: &DemoOptions,
    outage: Outage,
    load: &LoadWatch,
) -> Result<Verdict, BoxError> {
    let mut ok = true;
    let mut verdict = Verdict::Held;
    let chosen: Vec<Scenario> = simulator::scenarios()
        .into_iter()
        .filter(|s| {
            options
                .scenarios
                .iter()
                .any(|name| name == s.name || name == "all")
        })
        .collect();
    if !chosen.is_empty() {
        println!(
            "\n== Single contacts ({} scenarios, played at the same time)\n",
            chosen.len()
        );
        let mut tasks = tokio::task::JoinSet::new();
        for (i, scenario) in chosen.iter().cloned().enumerate() {
            let sim = sim.clone();
            tasks.spawn(async move { (i, sim.play(&scenario).await) });
        }
        let mut played: Vec<(usize, Played)> = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let (i, result) = joined?;
            played.push((i, result?));
        }
        played.sort_by_key(|(i, _)| *i);
        let played: Vec<Played> = played.into_iter().map(|(_, p)| p).collect();
        let runs: Vec<String> = played
            .iter()
            .filter_map(|p| p.run_id.as_ref().map(|r| r.to_string()))
            .collect();
        await_metrics(stack, &runs, Duration::from_secs(45)).await;
        for p in &played {
            let state = stack.store.load_state(&p.contact).await?;
            let metrics = p
                .run_id
                .as_ref()
                .map(|r| stack.metrics.for_run(r.as_str()))
                .unwrap_or_default();
            println!("{}", simulator::timeline(p, Some(&state), &metrics));
            let status = state.integration_status();
            if status != Some(p.scenario.expect) {
                ok = false;
                println!(
                    "  ✗ expected {}, got {}\n",
                    p.scenario.expect,
                    status.map_or("none", |s| s.as_str())
                );
            }
        }
        let checked = check_invariants(stack, &played, None, load).await?;
        for (what, held) in &checked.invariants {
            if !held {
                println!("  ✗ {what}");
            }
        }
        let fewer = "try fewer scenarios at once (e.g. --scenarios fast,slow)";
        verdict = checked.verdict(chosen.len(), fewer, played_load(load, &played));
    }
    if !ok {
        verdict = Verdict::Failed;
    }
    if options.contacts > 0 {
        verdict = verdict.and(mixed_run(sim, stack, options, outage, load).await?);
    }
    match stack.lambda_report() {
        Some(report) => lambda_summary(&report),
        None => println!(
            "\nUnder cargo lambda watch the demo does not see the functions' cold starts, limits or queues."
        ),
    }
    Ok(verdict)
}

/// What the process pools did.
fn lambda_summary(report: &[FunctionReport]) {
    println!("\nLambda stand-in (process pools), since the stack started:\n");
    println!("| function | concurrency limit | invocations, sync / async | peak concurrent | cold starts | cold start p50 / max | async queue delay p50 / p95 / max | async failures | throttled | timed out | instances crashed |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let ms = |d: Duration| format!("{} ms", d.as_millis());
    for f in report {
        let cold = percentiles(f.cold_starts.clone()).map_or("–".into(), |p| {
            format!("{} / {}", ms(p["p50"]), ms(p["max"]))
        });
        let queued = percentiles(f.async_queue_delays.clone()).map_or("–".into(), |p| {
            format!("{} / {} / {}", ms(p["p50"]), ms(p["p95"]), ms(p["max"]))
        });
        println!(
            "| {} | {} | {} / {} | {} | {} | {cold} | {queued} | {} | {} | {} | {} |",
            f.name,
            f.limit,
            f.sync_invocations,
            f.async_invocations,
            f.peak_concurrency,
            f.cold_starts.len(),
            f.async_failures,
            f.throttled,
            f.timed_out,
            f.crashed
        );
    }
}

/// Waits until every run has its completion metric, or `limit` passes.
async fn await_metrics(stack: &Stack, runs: &[String], limit: Duration) {
    let until = Instant::now() + limit;
    let mut swept = Instant::now();
    while Instant::now() < until {
        let measured = completions(&stack.metrics);
        if runs.iter().all(|run| measured.contains_key(run)) {
            return;
        }
        // The schedule sweeps too; sweeping here as well only makes the wait shorter.
        if swept.elapsed() > Duration::from_secs(2) {
            let _ = stack.sweep_now().await;
            swept = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Completion documents by run id, with the status each gave: `IntegrationCount`
/// for a run that ended while the caller waited, `AbandonedRuns` with reason
/// `Deadline` for one the consumer's sweep timed out.
fn completions(metrics: &Metrics) -> BTreeMap<String, Vec<String>> {
    let mut by_run: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for doc in metrics.all() {
        let status = if doc.get("IntegrationCount").is_some() {
            doc["Status"].as_str()
        } else if doc.get("AbandonedRuns").is_some() && doc["Reason"] == "Deadline" {
            Some(IntegrationStatus::Timeout.as_str())
        } else {
            None
        };
        if let (Some(run), Some(status)) = (doc["RunId"].as_str(), status) {
            by_run
                .entry(run.to_owned())
                .or_default()
                .push(status.to_owned());
        }
    }
    by_run
}

/// The mixed run's scenario for contact `i`: a fixed, repeatable mix.
fn mixed_scenario(i: usize) -> Scenario {
    let all = simulator::scenarios();
    let pick = |name: &str| {
        all.iter()
            .find(|s| s.name == name)
            .expect("a known scenario")
            .clone()
    };
    // Out of every 20 contacts: 8 fast, 4 slow, 3 error, 3 timeout, 2 hang-up,
    // interleaved (7 and 20 are coprime, so each block of 20 takes every slot once).
    let slot = (i * 7 + 3) % 20;
    let mut scenario = match slot {
        0..=7 => pick("fast"),
        8..=11 => pick("slow"),
        12..=14 => pick("error"),
        15..=17 => pick("timeout"),
        _ => pick("hang-up"),
    };
    if scenario.name == "slow" {
        // Slow runs of 1 to 5 s, so some finish inside start and most do not.
        scenario.payload = serde_json::json!({"SleepTime": 1 + i % 5});
    }
    scenario
}

async fn mixed_run(
    sim: &Simulator,
    stack: &Stack,
    options: &DemoOptions,
    outage: Outage,
    load: &LoadWatch,
) -> Result<Verdict, BoxError> {
    let (contacts, in_flight) = (options.contacts, options.in_flight);
    let ramp = if options.ramp.is_zero() {
        String::new()
    } else {
        format!(", arriving over {:.0} s", options.ramp.as_secs_f64())
    };
    println!("\n== Mixed run: {contacts} contacts, {in_flight} at a time{ramp}\n");
    let arrival = options.ramp / contacts.max(1) as u32;
    let began = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(in_flight.max(1)));
    let injected = outage.map(|(store, down)| {
        let started = started.clone();
        tokio::spawn(async move {
            while started.load(Ordering::Relaxed) < contacts.div_ceil(2) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            eprintln!(
                "\n  ! stopping DynamoDB Local for {:.1} s",
                down.as_secs_f64()
            );
            let at = Instant::now();
            let report = store.lock().await.run(down).await;
            eprintln!("  ! DynamoDB Local answers again");
            report.map(|report| (at, report))
        })
    });
    // The rules' state is written before the first call, as a queue of callers
    // would have it, so that arrivals are not held back by the store's writes.
    let scenarios: Vec<Scenario> = (0..contacts).map(mixed_scenario).collect();
    let mut arriving = tokio::task::JoinSet::new();
    for (i, scenario) in scenarios.iter().cloned().enumerate() {
        let sim = sim.clone();
        arriving.spawn(async move { (i, sim.arrive(&scenario).await) });
    }
    let mut arrived = vec![None; contacts];
    while let Some(joined) = arriving.join_next().await {
        let (i, contact) = joined?;
        arrived[i] = Some(contact?);
    }
    eprintln!(
        "  the rules' state of {contacts} contacts written in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let began = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (scenario, contact)) in scenarios.into_iter().zip(arrived).enumerate() {
        let contact = contact.expect("every contact arrived");
        let (sim, finished, semaphore) = (sim.clone(), done.clone(), semaphore.clone());
        let started = started.clone();
        tasks.spawn(async move {
            tokio::time::sleep(arrival * i as u32).await;
            // Every contact waits its turn here, so the progress line moves from the start.
            let permit = semaphore
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            started.fetch_add(1, Ordering::Relaxed);
            let played = sim.play_arrived(contact, &scenario).await;
            finished.fetch_add(1, Ordering::Relaxed);
            drop(permit);
            played
        });
    }
    let mut played = Vec::with_capacity(contacts);
    progress(0, contacts, began);
    while let Some(result) = tasks.join_next().await {
        played.push(result??);
        progress(done.load(Ordering::Relaxed), contacts, began);
    }
    let elapsed = began.elapsed();
    eprintln!();
    late_runs(sim, &mut played).await?;
    let runs: Vec<String> = played
        .iter()
        .filter_map(|p| p.run_id.as_ref().map(|r| r.to_string()))
        .collect();
    eprintln!(
        "all contacts played in {:.1} s; waiting for the consumer's metrics…",
        elapsed.as_secs_f64()
    );
    let outage = match injected {
        Some(task) => Some(
            task.await?
                .map_err(|err| format!("the store outage failed: {err}"))?,
        ),
        None => None,
    };
    await_metrics(stack, &runs, Duration::from_secs(90)).await;
    // On a machine far behind, an opening write may land later still.
    let later = late_runs(sim, &mut played).await?;
    await_metrics(stack, &later, Duration::from_secs(90)).await;
    let window = outage.map(|(at, report)| (at, at + report.down_for));
    println!(
        "Machine while the mixed run played: {}.\n",
        played_load(load, &played).describe()
    );
    let mut verdict = summary(stack, &played, elapsed, window, load, options).await?;
    if let Some((at, report)) = outage {
        if !outage_summary(&played, began, at, report) {
            verdict = Verdict::Failed;
        }
    }
    Ok(verdict)
}

/// The runs of contacts whose run was not known when they ended: an opening
/// write still queued in DynamoDB when start had given up on it and answered
/// ERROR shows up later.
async fn late_runs(sim: &Simulator, played: &mut [Played]) -> Result<Vec<String>, BoxError> {
    let mut found = Vec::new();
    for p in played.iter_mut().filter(|p| p.run_id.is_none()) {
        p.run_id = sim.run_of(&p.contact).await?;
        found.extend(p.run_id.as_ref().map(|r| r.to_string()));
    }
    Ok(found)
}

/// What the Connect-facing calls did while DynamoDB Local was down.
fn outage_summary(played: &[Played], began: Instant, at: Instant, report: OutageReport) -> bool {
    let until = at + report.down_for;
    let mut answers: BTreeMap<&str, usize> = BTreeMap::new();
    let mut slowest = Duration::ZERO;
    for (sent, took, status) in played.iter().flat_map(Played::call_steps) {
        if sent < until && sent + took > at {
            *answers.entry(status.unwrap_or("no status")).or_default() += 1;
            slowest = slowest.max(took);
        }
    }
    let calls: usize = answers.values().sum();
    println!(
        "\nStore outage: DynamoDB Local stopped {:.1} s into the run and answered again {:.1} s later \
         (the restart itself took {:.1} s), its data kept.",
        at.duration_since(began).as_secs_f64(),
        report.down_for.as_secs_f64(),
        report.restart_took.as_secs_f64()
    );
    let answered: Vec<String> = answers.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!(
        "{calls} Connect-facing calls overlapped the outage; they answered {}; the slowest took {} ms.",
        if answered.is_empty() { "nothing".into() } else { answered.join(", ") },
        slowest.as_millis()
    );
    // The outage must have met some calls, or it tested nothing.
    let met = calls > 0;
    println!(
        "  {} the outage met Connect-facing calls ({calls})",
        if met { "✓" } else { "✗" }
    );
    met
}

fn progress(done: usize, total: usize, began: Instant) {
    let interactive = std::io::stderr().is_terminal();
    let step = (total / 10).max(1);
    if !interactive && !done.is_multiple_of(step) && done != total {
        return;
    }
    let width = 30;
    let filled = done * width / total.max(1);
    let bar: String = "#".repeat(filled) + &" ".repeat(width - filled);
    let line = format!(
        "  [{bar}] {done}/{total} contacts, {:.0} s",
        began.elapsed().as_secs_f64()
    );
    if interactive {
        eprint!("\r{line}");
    } else {
        eprintln!("{line}");
    }
    let _ = std::io::stderr().flush();
}

/// The most contacts that were in their call at the same moment.
fn peak_in_flight(played: &[Played]) -> usize {
    let mut edges: Vec<(Instant, i32)> = played
        .iter()
        .flat_map(|p| [(p.began, 1), (p.ended(), -1)])
        .collect();
    // Ends before starts at the same instant: a contact that ended as another
    // began was not in flight with it.
    edges.sort();
    let (mut now, mut peak) = (0i32, 0i32);
    for (_, change) in edges {
        now += change;
        peak = peak.max(now);
    }
    peak as usize
}

/// When the store was down, if it was.
type Window = Option<(Instant, Instant)>;

async fn summary(
    stack: &Stack,
    played: &[Played],
    elapsed: Duration,
    outage: Window,
    load: &LoadWatch,
    options: &DemoOptions,
) -> Result<Verdict, BoxError> {
    let mut outcomes: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for p in played {
        outcomes.entry(p.scenario.expect.as_str()).or_default().1 += 1;
    }
    for p in played {
        let status = stack.store.status(&p.contact).await?.map(|r| r.status);
        outcomes
            .entry(status.map_or("none", IntegrationStatus::as_str))
            .or_default()
            .0 += 1;
    }
    println!(
        "Played {} contacts in {:.1} s, at most {} of them in flight at once.\n",
        played.len(),
        elapsed.as_secs_f64(),
        peak_in_flight(played)
    );
    println!("| final status | contacts | expected by scenario |");
    println!("| --- | --- | --- |");
    for (status, (got, expected)) in &outcomes {
        println!("| {status} | {got} | {expected} |");
    }
    println!("\n| Connect-facing call | calls | p50 | p95 | p99 | max |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut by_function: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for p in played {
        for (function, took) in p.calls() {
            by_function.entry(function).or_default().push(took);
        }
    }
    let contact_times: Vec<Duration> = played
        .iter()
        .filter_map(|p| p.steps.last().map(|s| s.at))
        .collect();
    for (name, times) in by_function
        .into_iter()
        .chain([("whole contact", contact_times)])
    {
        let n = times.len();
        if let Some(p) = percentiles(times) {
            let ms = |k: &str| format!("{} ms", p[k].as_millis());
            println!(
                "| {name} | {n} | {} | {} | {} | {} |",
                ms("p50"),
                ms("p95"),
                ms("p99"),
                ms("max")
            );
        }
    }
    let runs: std::collections::BTreeSet<String> = played
        .iter()
        .filter_map(|p| p.run_id.as_ref().map(|r| r.to_string()))
        .collect();
    let all = stack.metrics.all();
    let of_these_runs = |name: &str| {
        all.iter()
            .filter(|d| {
                d.get(name).is_some() && d["RunId"].as_str().is_some_and(|r| runs.contains(r))
            })
            .count()
    };
    let count = |name: &str| all.iter().filter(|d| d.get(name).is_some()).count();
    println!(
        "\nMetrics the consumer emitted for these runs: {} IntegrationCount documents, {} AbandonedRuns documents; \
         since the stack started: {} StreamLag and {} MalformedRecords documents.\n",
        of_these_runs("IntegrationCount"),
        of_these_runs("AbandonedRuns"),
        count("StreamLag"),
        count("MalformedRecords")
    );
    println!("Invariants:");
    let checked = check_invariants(stack, played, outage, load).await?;
    for (what, held) in &checked.invariants {
        println!("  {} {what}", if *held { "✓" } else { "✗" });
    }
    let fewer = format!(
        "try fewer contacts in flight (--in-flight {}), or spread their arrivals (--ramp-seconds)",
        (options.in_flight / 2).max(1)
    );
    Ok(checked.verdict(options.in_flight, &fewer, played_load(load, played)))
}

/// The machine's load from the first contact's call to the last one's end.
fn played_load(load: &LoadWatch, played: &[Played]) -> Load {
    let from = played.iter().map(|p| p.began).min();
    let to = played.iter().map(Played::ended).max();
    match (from, to) {
        (Some(from), Some(to)) => load.between(from, to),
        _ => Load::of(&[], 1),
    }
}

/// What the invariant check found.
struct Checked {
    invariants: Vec<(String, bool)>,
    /// The machine's load during each call that broke Connect's limit while the
    /// machine could not keep up; such calls are not held against the functions.
    overloaded: Vec<Load>,
}

impl Checked {
    /// The verdict, said in plain words when the machine was overloaded.
    /// `in_flight` is how many contacts played at once, `fewer` how to play fewer.
    fn verdict(&self, in_flight: usize, fewer: &str, whole: Load) -> Verdict {
        let held = self.invariants.iter().all(|(_, held)| *held);
        let worst = self.overloaded.iter().max_by(|a, b| {
            (a.worst_lag, a.runnable)
                .partial_cmp(&(b.worst_lag, b.runnable))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let (what, load) = match worst {
            Some(worst) => (
                format!(
                    "{} Connect-facing call(s) went over 8 s while it was overloaded",
                    self.overloaded.len()
                ),
                worst,
            ),
            None if whole.overloaded() => (
                "it was overloaded while the contacts played".to_owned(),
                &whole,
            ),
            None => return if held { Verdict::Held } else { Verdict::Failed },
        };
        let consequence = match (worst.is_some(), held) {
            (true, true) => format!(
                "Those calls say nothing about the functions, and everything else held. For a run \
                 that does, {fewer}"
            ),
            (true, false) => format!(
                "Those calls say nothing about the functions; the invariants marked ✗ above failed \
                 all the same, perhaps for the same reason. To tell, {fewer}"
            ),
            (false, true) => format!(
                "Every invariant held all the same, but the outcomes above are the machine's more \
                 than the integrations'. For a run that shows the integrations, {fewer}"
            ),
            (false, false) => {
                format!("The invariants marked ✗ above may have failed for it. To tell, {fewer}")
            }
        };
        println!(
            "\n{} The machine could not carry this run: {what} ({}). On Lambda every instance \
             has a CPU of its own; here {in_flight} contacts in flight, their functions, DynamoDB \
             Local and the simulator share {} cores. {consequence}.",
            if held { "!" } else { "✗" },
            load.describe(),
            load.cores,
        );
        match (held, worst) {
            (false, _) => Verdict::Failed,
            (true, Some(_)) => Verdict::Overloaded,
            (true, None) => Verdict::Held,
        }
    }
}

/// The invariants of a run of contacts, each with whether it held.
async fn check_invariants(
    stack: &Stack,
    played: &[Played],
    outage: Window,
    load: &LoadWatch,
) -> Result<Checked, BoxError> {
    let measured = completions(&stack.metrics);
    let mut overloaded = Vec::new();
    let (mut terminal, mut one_metric, mut no_done_after_timeout, mut output_iff_done, mut in_time) =
        (0, 0, 0, 0, 0);
    let (mut routable, mut unopened, mut unopened_error) = (0, 0, 0);
    let refused = stack.front_refusals();
    let mut refused_error = 0;
    let mut problems = Vec::new();
    for p in played {
        let calls = timeliness(p.call_steps(), load);
        let excused = calls.overloaded.len();
        overloaded.extend(calls.overloaded);
        if calls.answered + excused == calls.calls {
            routable += 1;
        } else {
            problems.push(format!(
                "{}: a call answered late or without a status",
                p.contact
            ));
        }
        let state: ContactState = stack.store.load_state(&p.contact).await?;
        if p.run_id.is_none() && state.status().is_none() {
            // Start's opening write never landed (the store was down): there is
            // no run to finish or measure, and start must have said ERROR.
            unopened += 1;
            let first = p.call_steps().next().and_then(|(_, _, status)| status);
            if first == Some(IntegrationStatus::Error.as_str()) {
                unopened_error += 1;
            } else {
                problems.push(format!(
                    "{}: no run opened, start answered {first:?}",
                    p.contact
                ));
            }
            continue;
        }
        if refused.contains(p.contact.as_str()) {
            let cause = state.get(shared::store::INTEGRATION_ERROR_CAUSE);
            // Start records the refusal as ERROR; with the store down it cannot,
            // and the run is left to the sweep.
            let store_down = outage.is_some_and(|(from, to)| {
                p.call_steps()
                    .next()
                    .is_some_and(|(sent, took, _)| sent < to && sent + took > from)
            });
            let status = state.integration_status();
            if status == Some(IntegrationStatus::Error) && cause.is_some()
                || store_down && status == Some(IntegrationStatus::Timeout)
            {
                refused_error += 1;
            } else {
                problems.push(format!(
                    "{}: invocation refused, run ended {:?} (cause {cause:?})",
                    p.contact,
                    state.integration_status()
                ));
            }
        }
        let record = state.status();
        let status = record.map(|r| r.status);
        let ours = record.and_then(|r| r.run_id.as_ref()) == p.run_id.as_ref();
        if ours && status.is_some_and(IntegrationStatus::is_terminal) {
            terminal += 1;
        } else {
            problems.push(format!("{}: run not finished ({status:?})", p.contact));
        }
        let statuses = p
            .run_id
            .as_ref()
            .and_then(|r| measured.get(r.as_str()))
            .cloned()
            .unwrap_or_default();
        if statuses.len() == 1 {
            one_metric += 1;
        } else {
            problems.push(format!(
                "{}: {} completion metrics",
                p.contact,
                statuses.len()
            ));
        }
        // A run measured as TIMEOUT (or anything) must still hold that status:
        // a DONE landing after the TIMEOUT would show here.
        if statuses
            .iter()
            .all(|s| Some(s.as_str()) == status.map(IntegrationStatus::as_str))
        {
            no_done_after_timeout += 1;
        } else {
            problems.push(format!(
                "{}: measured {statuses:?}, state holds {status:?}",
                p.contact
            ));
        }
        // Every scenario's payload is echoed, so DONE has an output and nothing else has.
        let has_output = state.get(OUTPUT_KEY).is_some();
        if has_output == (status == Some(IntegrationStatus::Done)) {
            output_iff_done += 1;
        } else {
            problems.push(format!(
                "{}: output {} with status {status:?}",
                p.contact,
                if has_output { "present" } else { "absent" }
            ));
        }
        if calls.late == excused {
            in_time += 1;
        } else {
            problems.push(format!(
                "{}: a call took longer than Connect's 8 s",
                p.contact
            ));
        }
    }
    let contacts = played.len();
    let n = contacts - unopened;
    for problem in problems.iter().take(20) {
        println!("  ! {problem}");
    }
    let mut invariants = vec![
        (format!("every run ended in exactly one terminal status ({terminal}/{n})"), terminal == n),
        (format!("exactly one completion metric per run ({one_metric}/{n})"), one_metric == n),
        (format!("no DONE after TIMEOUT: the measured status is the final one ({no_done_after_timeout}/{n})"), no_done_after_timeout == n),
        (format!("no output without DONE ({output_iff_done}/{n})"), output_iff_done == n),
        (format!("every Connect-facing call answered within 8 s ({in_time}/{n}){}", overload_note(&overloaded)), in_time == n),
        (format!("every Connect-facing call answered within 8 s with a status the flow routes on ({routable}/{contacts} contacts){}", overload_note(&overloaded)), routable == contacts),
    ];
    if unopened > 0 {
        invariants.push((
            format!("a contact whose run could not be opened was answered ERROR ({unopened_error}/{unopened})"),
            unopened_error == unopened,
        ));
    }
    if !refused.is_empty() {
        let refused_played = played
            .iter()
            .filter(|p| refused.contains(p.contact.as_str()))
            .count();
        invariants.push((
            format!("a run whose invocation the front refused ended ERROR with a cause, or TIMEOUT when the store was down ({refused_error}/{refused_played})"),
            refused_error == refused_played,
        ));
    }
    Ok(Checked {
        invariants,
        overloaded,
    })
}

/// How one contact's Connect-facing calls stood against Connect's limit.
struct Timeliness {
    calls: usize,
    /// Answered within the limit with a status the flow's Compare blocks route
    /// on (also an answer given while the store was down).
    answered: usize,
    /// Over the limit.
    late: usize,
    /// The machine's load during each late call made while it could not keep
    /// up: such a call is said as such, not held against the functions.
    overloaded: Vec<Load>,
}

fn timeliness<'a>(
    steps: impl Iterator<Item = (Instant, Duration, Option<&'a str>)>,
    load: &LoadWatch,
) -> Timeliness {
    let mut t = Timeliness {
        calls: 0,
        answered: 0,
        late: 0,
        overloaded: Vec::new(),
    };
    for (sent, took, status) in steps {
        t.calls += 1;
        if took >= CONNECT_LIMIT {
            t.late += 1;
            let during = load.between(sent, sent + took);
            if during.overloaded() {
                t.overloaded.push(during);
            }
        } else if status.is_some_and(|s| s.parse::<IntegrationStatus>().is_ok()) {
            t.answered += 1;
        }
    }
    t
}

/// Said after the time-limit invariants when calls broke the limit on an
/// overloaded machine.
fn overload_note(overloaded: &[Load]) -> String {
    match overloaded.len() {
        0 => String::new(),
        n => format!(", but for {n} call(s) over 8 s on an overloaded machine (below)"),
    }
}

#[cfg(test)]
mod tests {
    use super::load::Sample;
    use super::*;

    fn load(busy: f64, runnable: u32) -> Load {
        let sample = Sample {
            at: Instant::now(),
            lag: Duration::from_millis(5),
            busy: Some(busy),
            runnable: Some(runnable),
        };
        Load::of(&[sample], 2)
    }

    fn checked(held: bool, late_while_overloaded: usize) -> Checked {
        Checked {
            invariants: vec![("a promise".into(), true), ("another".into(), held)],
            overloaded: vec![load(1.0, 12); late_while_overloaded],
        }
    }

    #[test]
    fn late_calls_on_an_overloaded_machine_are_the_machines_verdict() {
        assert_eq!(
            checked(true, 3).verdict(32, "fewer", load(1.0, 12)),
            Verdict::Overloaded
        );
    }

    #[test]
    fn a_broken_promise_fails_the_demo_whatever_the_load() {
        assert_eq!(
            checked(false, 3).verdict(32, "fewer", load(1.0, 12)),
            Verdict::Failed
        );
        assert_eq!(
            checked(false, 0).verdict(32, "fewer", load(1.0, 12)),
            Verdict::Failed
        );
        assert_eq!(
            checked(false, 0).verdict(32, "fewer", load(0.3, 1)),
            Verdict::Failed
        );
    }

    #[test]
    fn an_overloaded_machine_on_which_everything_held_passes() {
        assert_eq!(
            checked(true, 0).verdict(32, "fewer", load(1.0, 12)),
            Verdict::Held
        );
        assert_eq!(
            checked(true, 0).verdict(32, "fewer", load(0.3, 1)),
            Verdict::Held
        );
    }

    #[test]
    fn a_late_call_is_excused_only_while_the_machine_was_overloaded() {
        // GIVEN a machine that kept up for 10 s, then was saturated for 10 s
        let t0 = Instant::now();
        let samples = (1..=200).map(|i| {
            let saturated = i > 100;
            Sample {
                at: t0 + super::load::EVERY * i,
                lag: Duration::from_millis(5),
                busy: Some(if saturated { 1.0 } else { 0.5 }),
                runnable: Some(if saturated { 12 } else { 2 }),
            }
        });
        let load = LoadWatch::from_samples(samples.collect(), 2);
        let second = Duration::from_secs(1);

        // WHEN a contact made a routable call in time, a late call while the
        // machine kept up, and a late call while it was saturated
        let calls = timeliness(
            [
                (t0, second, Some("RUN")),
                (t0 + second, 8 * second, Some("DONE")),
                (t0 + 11 * second, 8 * second, None),
                (t0 + 19 * second, second, Some("maybe")),
            ]
            .into_iter(),
            &load,
        );

        // THEN both late calls count as late, only the second is excused, and
        // an answer the flow cannot route on is not counted as answered
        assert_eq!((calls.calls, calls.answered, calls.late), (4, 1, 2));
        assert_eq!(calls.overloaded.len(), 1);
    }

    #[test]
    fn a_failure_outweighs_an_overload_and_an_overload_a_pass() {
        use Verdict::*;
        assert_eq!(Held.and(Overloaded), Overloaded);
        assert_eq!(Overloaded.and(Failed), Failed);
        assert_eq!(Held.and(Held), Held);
    }
}
