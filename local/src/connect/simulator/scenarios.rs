//! What a contact's integration rule asks for, and what the caller does: the
//! scenarios the demo plays, on the workspace's echo function and on the
//! original Rules Engine's ([`kit::legacy::echo`]), which writes its state
//! without runs or conditions.

use std::time::Duration;

use serde_json::{json, Value};
use shared::IntegrationStatus;

use crate::connect::flow::Channel;

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
    /// The comfort message the rule configures.
    pub message: RuleMessage,
    /// How many times the rule fires in the call: each time, the contact
    /// re-enters the integration flow.
    pub integrations: u32,
    /// The Lambda front refuses the flow's first call for this contact (start,
    /// or the native flow's invocation of the function).
    pub refuse_opening_call: bool,
    /// The contact's channel: a voice call, a chat or a task.
    pub channel: Channel,
}

/// The message an integration rule configures (the Rules Engine's
/// `CurrentRule_functionMessageType` and its message or prompt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleMessage {
    /// No message type set: the flow plays its default message.
    Default,
    /// `none`: nothing.
    Silent,
    /// `text`: the message, played as SSML as the Rules Engine's flow does.
    Text(&'static str),
    Ssml(&'static str),
    /// `prompt`: a stored prompt, by ARN.
    Prompt(&'static str),
}

impl RuleMessage {
    /// The three keys as the rule leaves them: set, or deleted (`null`).
    pub fn keys(self) -> Vec<(String, Value)> {
        let (kind, message, prompt) = match self {
            RuleMessage::Default => (None, None, None),
            RuleMessage::Silent => (Some("none"), None, None),
            RuleMessage::Text(text) => (Some("text"), Some(text), None),
            RuleMessage::Ssml(ssml) => (Some("ssml"), Some(ssml), None),
            RuleMessage::Prompt(arn) => (Some("prompt"), None, Some(arn)),
        };
        [
            ("CurrentRule_functionMessageType", kind),
            ("CurrentRule_functionMessage", message),
            ("CurrentRule_functionMessagePromptArn", prompt),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.map_or(Value::Null, |v| json!(v))))
        .collect()
    }
}

impl Scenario {
    /// Whether the rule invokes the original Rules Engine's function.
    pub fn is_legacy(&self) -> bool {
        self.function == LEGACY
    }

    /// Whether the native flow can play it: the framework's function serves
    /// Connect's event, the original's does not.
    pub fn plays_native(&self) -> bool {
        !self.is_legacy()
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

/// What a scenario is unless it says otherwise: one integration, the flow's
/// default message, nothing refused.
fn one() -> Scenario {
    Scenario {
        name: "",
        summary: "",
        function: ECHO,
        payload: Value::Null,
        timeout_s: 8,
        hang_up_at_message: None,
        expect: IntegrationStatus::Done,
        message: RuleMessage::Default,
        integrations: 1,
        refuse_opening_call: false,
        channel: Channel::Voice,
    }
}

/// The single-contact scenarios, in the order the demo plays them: the
/// framework's, then the same on the original Rules Engine's echo.
pub fn scenarios() -> Vec<Scenario> {
    let mut all = framework();
    all.extend(legacy());
    all
}

/// The scenarios of the framework's echo.
fn framework() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "fast",
            summary: "the integration answers at once: DONE inside start, or at the first wait",
            function: ECHO,
            payload: json!({"Account": "A-1"}),
            timeout_s: 8,
            hang_up_at_message: None,
            expect: IntegrationStatus::Done,
            ..one()
        },
        Scenario {
            name: "slow",
            summary: "the integration takes 4 s: DONE while the caller hears the rule's message",
            function: ECHO,
            payload: json!({"SleepTime": 4}),
            timeout_s: 15,
            hang_up_at_message: None,
            expect: IntegrationStatus::Done,
            message: RuleMessage::Text("Please hold while we check your account."),
            ..one()
        },
        Scenario {
            name: "error",
            summary: "the integration fails: ERROR with its cause",
            function: ECHO,
            payload: json!({"SleepTime": "0.5", "ForcedError": "Billing system unavailable"}),
            timeout_s: 8,
            hang_up_at_message: None,
            expect: IntegrationStatus::Error,
            message: RuleMessage::Prompt("arn:aws:connect:us-east-1:123456789012:instance/demo/prompt/please-hold"),
            ..one()
        },
        Scenario {
            name: "timeout",
            summary: "the integration takes 8 s, the rule allows 4 s: TIMEOUT at the deadline (by check-timeout, or the native run itself)",
            function: ECHO,
            payload: json!({"SleepTime": 8}),
            timeout_s: 4,
            hang_up_at_message: None,
            expect: IntegrationStatus::Timeout,
            message: RuleMessage::Silent,
            ..one()
        },
        Scenario {
            name: "hang-up",
            summary: "the caller hangs up during the first comfort message: TIMEOUT at the deadline (by the consumer's sweep, or the native run itself)",
            function: ECHO,
            payload: json!({"SleepTime": 12}),
            timeout_s: 3,
            hang_up_at_message: Some(1),
            expect: IntegrationStatus::Timeout,
            ..one()
        },
        Scenario {
            name: "six-integrations",
            summary: "six integration rules fire in one call, each taking 5 s: the contact re-enters the flow six times",
            function: ECHO,
            payload: json!({"SleepTime": 5}),
            timeout_s: 15,
            expect: IntegrationStatus::Done,
            message: RuleMessage::Ssml("<speak>One moment.<break time=\"300ms\"/></speak>"),
            integrations: 6,
            ..one()
        },
        Scenario {
            name: "chat",
            summary: "a chat whose integration takes 3 s: the rule's message once, as text, and no comfort messages",
            function: ECHO,
            payload: json!({"SleepTime": 3}),
            timeout_s: 10,
            message: RuleMessage::Text("Please hold while we check your account."),
            channel: Channel::Chat,
            ..one()
        },
        Scenario {
            name: "task",
            summary: "a task whose integration takes 3 s: no message at all",
            function: ECHO,
            payload: json!({"SleepTime": 3}),
            timeout_s: 10,
            message: RuleMessage::Text("Please hold while we check your account."),
            channel: Channel::Task,
            ..one()
        },
        Scenario {
            name: "start-refused",
            summary: "the Lambda front refuses the flow's first call: check-timeout records ERROR before the flow hands back",
            function: ECHO,
            payload: json!({"Account": "A-3"}),
            timeout_s: 8,
            expect: IntegrationStatus::Error,
            refuse_opening_call: true,
            ..one()
        },
    ]
}

/// The scenarios of the original Rules Engine's echo: the framework's first
/// five, on it.
fn legacy() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "legacy-fast",
            summary: "the original Rules Engine's echo answers at once: DONE inside start, over its bare puts",
            function: LEGACY,
            payload: json!({"Account": "A-2"}),
            timeout_s: 8,
            hang_up_at_message: None,
            expect: IntegrationStatus::Done,
            ..one()
        },
        Scenario {
            name: "legacy-slow",
            summary: "the original's echo takes 4 s: DONE after the rule's message",
            function: LEGACY,
            payload: json!({"SleepTime": 4}),
            timeout_s: 15,
            hang_up_at_message: None,
            expect: IntegrationStatus::Done,
            message: RuleMessage::Text("Please hold while we check your account."),
            ..one()
        },
        Scenario {
            name: "legacy-error",
            summary: "the original's echo fails after 0.5 s: ERROR with its cause",
            function: LEGACY,
            payload: json!({"SleepTime": "0.5", "ForcedError": "Billing system unavailable"}),
            timeout_s: 8,
            hang_up_at_message: None,
            expect: IntegrationStatus::Error,
            message: RuleMessage::Prompt("arn:aws:connect:us-east-1:123456789012:instance/demo/prompt/please-hold"),
            ..one()
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
            message: RuleMessage::Silent,
            ..one()
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
            ..one()
        },
    ]
}
