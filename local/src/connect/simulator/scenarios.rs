//! What a contact's integration rule asks for, and what the caller does: the
//! scenarios the demo plays, on the workspace's echo function and on the
//! original Rules Engine's ([`kit::legacy::echo`]), which writes its state
//! without runs or conditions.

use std::time::Duration;

use serde_json::{json, Value};
use shared::IntegrationStatus;

/// The integration function of the framework's scenarios, by its local name.
pub const ECHO: &str = "integration-echo";
/// The original Rules Engine's echo, by its local name: the legacy scenarios'.
pub const LEGACY: &str = "integration-legacy";
/// Where the rule puts its output.
pub const OUTPUT_KEY: &str = "EchoResult";

/// What a contact's integration rule asks for, and what the caller does.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub summary: &'static str,
    /// The function the rule invokes (its `CurrentRule_functionArn` and
    /// `CurrentRule_functionName`), by local name.
    pub function: &'static str,
    /// The rule's payload for the echo function.
    pub payload: Value,
    /// The rule's timeout, in seconds.
    pub timeout_s: u32,
    /// The caller hangs up during this comfort message (1 = the first).
    pub hang_up_at_message: Option<u32>,
    /// The status the run should end in.
    pub expect: IntegrationStatus,
}

impl Scenario {
    /// Whether the rule invokes the original Rules Engine's function.
    pub fn is_legacy(&self) -> bool {
        self.function == LEGACY
    }

    /// How long the function works before it writes its finish: the
    /// payload's `SleepTime` (both echoes read it so).
    pub fn work_time(&self) -> Duration {
        self.payload
            .get("SleepTime")
            .and_then(shared::keys::seconds)
            .filter(|seconds| *seconds > 0.0)
            .map_or(Duration::ZERO, Duration::from_secs_f64)
    }

    /// The scenario's counterpart on the original Rules Engine's function, if
    /// it has one (`slow` is `legacy-slow`).
    pub fn on_legacy(&self) -> Option<Scenario> {
        let name = format!("legacy-{}", self.name);
        scenarios().into_iter().find(|s| s.name == name)
    }
}

/// The single-contact scenarios, in the order the demo plays them: the
/// framework's, then the same on the original Rules Engine's echo.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "fast",
            summary: "the integration answers at once: DONE inside start",
            function: ECHO,
            payload: json!({"Account": "A-1"}),
            timeout_s: 8,
            hang_up_at_message: None,
            expect: IntegrationStatus::Done,
        },
        Scenario {
            name: "slow",
            summary: "the integration takes 5 s: DONE across several check-timeout calls",
            function: ECHO,
            payload: json!({"SleepTime": 5}),
            timeout_s: 15,
            hang_up_at_message: None,
            expect: IntegrationStatus::Done,
        },
        Scenario {
            name: "error",
            summary: "the integration fails: ERROR with its cause",
            function: ECHO,
            payload: json!({"SleepTime": "0.5", "ForcedError": "Billing system unavailable"}),
            timeout_s: 8,
            hang_up_at_message: None,
            expect: IntegrationStatus::Error,
        },
        Scenario {
            name: "timeout",
            summary: "the integration takes 8 s, the rule allows 4 s: TIMEOUT by check-timeout",
            function: ECHO,
            payload: json!({"SleepTime": 8}),
            timeout_s: 4,
            hang_up_at_message: None,
            expect: IntegrationStatus::Timeout,
        },
        Scenario {
            name: "hang-up",
            summary: "the caller hangs up during the first comfort message: the consumer's sweep times the run out",
            function: ECHO,
            payload: json!({"SleepTime": 12}),
            timeout_s: 3,
            hang_up_at_message: Some(1),
            expect: IntegrationStatus::Timeout,
        },
        Scenario {
            name: "legacy-fast",
            summary: "the original Rules Engine's echo answers at once: DONE inside start, over its bare puts",
            function: LEGACY,
            payload: json!({"Account": "A-2"}),
            timeout_s: 8,
            hang_up_at_message: None,
            expect: IntegrationStatus::Done,
        },
        Scenario {
            name: "legacy-slow",
            summary: "the original's echo takes 5 s: DONE across several check-timeout calls",
            function: LEGACY,
            payload: json!({"SleepTime": 5}),
            timeout_s: 15,
            hang_up_at_message: None,
            expect: IntegrationStatus::Done,
        },
        Scenario {
            name: "legacy-error",
            summary: "the original's echo fails after 0.5 s: ERROR with its cause",
            function: LEGACY,
            payload: json!({"SleepTime": "0.5", "ForcedError": "Billing system unavailable"}),
            timeout_s: 8,
            hang_up_at_message: None,
            expect: IntegrationStatus::Error,
        },
        Scenario {
            name: "legacy-timeout",
            summary: "the original's echo takes 8 s, the rule allows 3 s: TIMEOUT by check-timeout, \
                      and its late DONE at 8 s undone by the consumer",
            function: LEGACY,
            payload: json!({"SleepTime": 8}),
            timeout_s: 3,
            hang_up_at_message: None,
            expect: IntegrationStatus::Timeout,
        },
        Scenario {
            name: "legacy-hang-up",
            summary: "the caller hangs up during the first comfort message: the sweep times the run out, \
                      and the original's late DONE at 12 s is undone",
            function: LEGACY,
            payload: json!({"SleepTime": 12}),
            timeout_s: 3,
            hang_up_at_message: Some(1),
            expect: IntegrationStatus::Timeout,
        },
    ]
}
