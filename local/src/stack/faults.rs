//! Faults the demo can inject into the local stack, to show what the functions
//! do when a part outside them fails:
//!
//! - [`StoreOutage`]: DynamoDB Local stopped and, after a while, started again
//!   with the same arguments (its data kept when it runs with `-dbPath`).
//! - [`Refusals`]: the Lambda front refusing every invocation of one contact in
//!   `every`, as Lambda does when it throttles (`TooManyRequestsException`);
//!   and every invocation of one function for a contact named to it (the
//!   simulator names a contact whose flow's first call must fail).
//! - [`StartDeaths`]: start dying after its invoke, for one contact in
//!   `every`: Connect sees a dead instance's error and retries.

use std::{
    collections::HashSet,
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::process::{Child, Command};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// DynamoDB Local as a process this one may stop and start again: the one named
/// by `DYNAMODB_LOCAL_PID` (exported by `scripts/dynamodb-local.sh`), restarted
/// with its own command line and working directory, on the port the endpoint
/// variables name, so every client finds it again where it was.
pub struct StoreOutage {
    pid: u32,
    command: Vec<String>,
    cwd: PathBuf,
    port: u16,
    log: PathBuf,
    restarted: Option<Child>,
}

/// What an outage came to, as measured.
#[derive(Debug, Clone, Copy)]
pub struct OutageReport {
    /// From the stop to the moment DynamoDB Local answered again.
    pub down_for: Duration,
    /// Of which the restart (the JVM starting and loading its data) took this long.
    pub restart_took: Duration,
}

impl StoreOutage {
    /// Finds the DynamoDB Local process; an error says what is missing.
    pub fn from_env(log: PathBuf) -> Result<Self, BoxError> {
        Self::find(log, true)
    }

    /// Finds the DynamoDB Local process, in memory or not: restarted in
    /// memory, it comes back empty, a fresh store (the benchmark's, for the
    /// sections that DynamoDB Local slows down for after thousands of contacts).
    pub fn fresh_from_env(log: PathBuf) -> Result<Self, BoxError> {
        Self::find(log, false)
    }

    fn find(log: PathBuf, keeping_data: bool) -> Result<Self, BoxError> {
        let pid: u32 = std::env::var("DYNAMODB_LOCAL_PID")
            .map_err(|_| "DYNAMODB_LOCAL_PID is not set: a store outage needs the DynamoDB Local that scripts/dynamodb-local.sh started")?
            .parse()
            .map_err(|_| "DYNAMODB_LOCAL_PID is not a process id")?;
        let raw = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map_err(|err| format!("reading DynamoDB Local's command line (pid {pid}): {err}"))?;
        let command: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|arg| !arg.is_empty())
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        if keeping_data && !command.iter().any(|arg| arg == "-dbPath") {
            return Err("DynamoDB Local runs in memory: a store outage needs it started with -dbPath, so that its data survives the restart".into());
        }
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))?;
        let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")?;
        let port = endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .ok_or_else(|| format!("no port in AWS_ENDPOINT_URL_DYNAMODB={endpoint}"))?;
        Ok(Self {
            pid,
            command,
            cwd,
            port,
            log,
            restarted: None,
        })
    }

    /// Stops DynamoDB Local, waits `down`, starts it again and waits until it answers.
    pub async fn run(&mut self, down: Duration) -> Result<OutageReport, BoxError> {
        let stopped = Instant::now();
        self.stop().await;
        tokio::time::sleep(down).await;
        let restarting = Instant::now();
        let mut args = self.command.clone();
        // The first start took any free port; the restart must take the same one.
        if let Some(i) = args.iter().position(|a| a == "-port") {
            if let Some(port) = args.get_mut(i + 1) {
                *port = self.port.to_string();
            }
        }
        let log = std::fs::File::create(&self.log)?;
        let child = Command::new(&args[0])
            .args(&args[1..])
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| format!("restarting DynamoDB Local: {err}"))?;
        self.pid = child.id().unwrap_or_default();
        self.restarted = Some(child);
        let until = Instant::now() + Duration::from_secs(60);
        while !self.answers().await {
            if let Some(Ok(Some(status))) = self.restarted.as_mut().map(Child::try_wait) {
                return Err(format!(
                    "DynamoDB Local exited as it restarted ({status}); see {}",
                    self.log.display()
                )
                .into());
            }
            if Instant::now() > until {
                return Err("DynamoDB Local did not answer within 60 s of its restart".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(OutageReport {
            down_for: stopped.elapsed(),
            restart_took: restarting.elapsed(),
        })
    }

    async fn stop(&mut self) {
        // Asked to stop, then killed if it has not within 10 s: the restart
        // must not find the old one still holding the port.
        for (signal, patience) in [("-TERM", 10), ("-KILL", 5)] {
            let _ = std::process::Command::new("kill")
                .args([signal, &self.pid.to_string()])
                .status();
            let until = Instant::now() + Duration::from_secs(patience);
            while self.running() && Instant::now() < until {
                if let Some(child) = &mut self.restarted {
                    let _ = child.try_wait();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if !self.running() {
                return;
            }
        }
    }

    /// Gone once its command line is: a process that has exited but is not
    /// reaped yet (the first one is the shell's child) shows an empty one.
    fn running(&self) -> bool {
        std::fs::read(format!("/proc/{}/cmdline", self.pid)).is_ok_and(|c| !c.is_empty())
    }

    async fn answers(&self) -> bool {
        let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let request = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n\
                       Content-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        if stream.write_all(request.as_bytes()).await.is_err() {
            return false;
        }
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer));
        // Any HTTP answer will do (unsigned, this one is refused): the server is up.
        matches!(read.await, Ok(Ok(_))) && answer.starts_with(b"HTTP/1.1 ")
    }

    /// Stops the restarted DynamoDB Local, if this started one.
    pub async fn shut_down(&mut self) {
        if let Some(mut child) = self.restarted.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

/// The front's refusals: every invocation of one contact in `every`, chosen by
/// arrival order, is refused for as long as the contact lives.
#[derive(Debug, Clone, Default)]
pub struct Refusals {
    every: usize,
    state: Arc<Mutex<RefusalState>>,
}

#[derive(Debug, Default)]
struct RefusalState {
    seen: HashSet<String>,
    refused: HashSet<String>,
    /// `(function, contact)` pairs refused whatever `every` says.
    calls: HashSet<(String, String)>,
}

impl Refusals {
    /// Refuses the contacts numbered `every`, `2 * every`, ... in order of
    /// their first invocation; 0 refuses nothing.
    pub fn every(every: usize) -> Self {
        Self {
            every,
            state: Arc::default(),
        }
    }

    /// Whether an invocation for `contact` is refused.
    pub fn refuses(&self, contact: &str) -> bool {
        if self.every == 0 {
            return false;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.seen.insert(contact.to_owned()) && state.seen.len().is_multiple_of(self.every) {
            state.refused.insert(contact.to_owned());
        }
        state.refused.contains(contact)
    }

    /// Refuses every invocation of `function` for `contact` from now on.
    pub fn refuse_call(&self, function: &str, contact: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .calls
            .insert((function.to_owned(), contact.to_owned()));
    }

    /// Whether an invocation of `function` for `contact` is one
    /// [`Self::refuse_call`] named; such a contact counts as refused.
    pub fn refuses_call(&self, function: &str, contact: &str) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let refused = state
            .calls
            .contains(&(function.to_owned(), contact.to_owned()));
        if refused {
            state.refused.insert(contact.to_owned());
        }
        refused
    }

    /// The contacts refused so far.
    pub fn refused(&self) -> HashSet<String> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .refused
            .clone()
    }
}

/// Starts that die after their invoke: of every `every` contacts that call
/// start, in order of start's first answer, that answer is lost as when
/// start's instance dies after invoking the integration function (a crash, a
/// time-out): start did its work, and Connect gets the error Lambda returns
/// for a dead instance, which it retries. The integration invocations made
/// between the death and the next answer of start for that contact (its
/// retry's) are counted: a retry that called the back end again shows there.
#[derive(Debug, Clone, Default)]
pub struct StartDeaths {
    every: usize,
    state: Arc<Mutex<DeathState>>,
}

#[derive(Debug, Default)]
struct DeathState {
    seen: HashSet<String>,
    /// Integration invocations per contact, so far.
    invoked: std::collections::HashMap<String, usize>,
    /// Contacts whose start died: their invocations at the death, and those
    /// their retry made (`None` while no retry has answered).
    died: std::collections::BTreeMap<String, (usize, Option<usize>)>,
}

impl StartDeaths {
    /// Kills the first answer of start for the contacts numbered `every`,
    /// `2 * every`, ...; 0 kills none.
    pub fn every(every: usize) -> Self {
        Self {
            every,
            state: Arc::default(),
        }
    }

    /// Start answered for `contact` (`answered`: with a payload, not a
    /// throttle or an error); whether that answer dies instead.
    pub fn after_start(&self, contact: &str, answered: bool) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !answered || self.every == 0 {
            return false;
        }
        let now = state.invoked.get(contact).copied().unwrap_or(0);
        if let Some((at_death, retry @ None)) = state.died.get_mut(contact) {
            *retry = Some(now - *at_death);
            return false;
        }
        let dies =
            state.seen.insert(contact.to_owned()) && state.seen.len().is_multiple_of(self.every);
        if dies {
            state.died.insert(contact.to_owned(), (now, None));
        }
        dies
    }

    /// Whether starts are made to die at all.
    pub fn armed(&self) -> bool {
        self.every > 0
    }

    /// Counts an invocation of an integration function for `contact`.
    pub fn invoked(&self, contact: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *state.invoked.entry(contact.to_owned()).or_default() += 1;
    }

    /// The contacts whose start died, each with the integration invocations
    /// its retry made (`None`: no retry answered).
    pub fn died(&self) -> Vec<(String, Option<usize>)> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let died = state.died.iter();
        died.map(|(c, (_, retry))| (c.clone(), *retry)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{Refusals, StartDeaths};

    #[test]
    fn the_first_answer_of_every_nth_contact_dies_and_its_retry_s_invocations_are_counted() {
        let deaths = StartDeaths::every(2);
        // a's first answer is a throttle: it does not count.
        assert!(!deaths.after_start("a", false));
        deaths.invoked("a");
        assert!(!deaths.after_start("a", true));
        deaths.invoked("b");
        assert!(deaths.after_start("b", true), "b is the second to answer");
        assert_eq!(deaths.died(), [("b".into(), None)]);
        // b's retry answers without invoking again; c's dies, d's retry invokes.
        assert!(!deaths.after_start("b", true));
        assert!(!deaths.after_start("c", true));
        deaths.invoked("d");
        assert!(deaths.after_start("d", true));
        deaths.invoked("d");
        assert!(!deaths.after_start("d", true));
        assert_eq!(
            deaths.died(),
            [("b".into(), Some(0)), ("d".into(), Some(1))]
        );
        assert!(!StartDeaths::every(0).after_start("a", true));
    }

    #[test]
    fn every_nth_contact_is_refused_each_time_it_comes_back() {
        let refusals = Refusals::every(3);
        let first: Vec<bool> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|c| refusals.refuses(c))
            .collect();
        assert_eq!(first, [false, false, true, false, false, true]);
        assert!(refusals.refuses("c"), "a refused contact stays refused");
        assert!(!refusals.refuses("a"));
        assert_eq!(refusals.refused().len(), 2);
        assert!(!Refusals::every(0).refuses("a"));
    }

    #[test]
    fn a_call_named_for_a_contact_is_refused_and_counts_the_contact() {
        let refusals = Refusals::every(0);
        refusals.refuse_call("integration-start", "c");
        assert!(!refusals.refuses_call("check-timeout", "c"));
        assert!(!refusals.refuses_call("integration-start", "d"));
        assert!(refusals.refused().is_empty());
        assert!(refusals.refuses_call("integration-start", "c"));
        assert!(refusals.refused().contains("c"));
    }
}
