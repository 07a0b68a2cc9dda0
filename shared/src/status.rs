//! `IntegrationStatus`, the value later rules weigh on.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// The status of a contact's integration run, stored as the Rules Engine spells it.
///
/// ```text
/// START ──► RUN ──► DONE | ERROR | TIMEOUT
///   └──────────────► DONE | ERROR | TIMEOUT
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum IntegrationStatus {
    Start,
    Run,
    Done,
    Error,
    Timeout,
}

impl IntegrationStatus {
    pub const ALL: [Self; 5] = [
        Self::Start,
        Self::Run,
        Self::Done,
        Self::Error,
        Self::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "START",
            Self::Run => "RUN",
            Self::Done => "DONE",
            Self::Error => "ERROR",
            Self::Timeout => "TIMEOUT",
        }
    }

    /// A run in this status may still change: someone is (or should be) working on it.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Start | Self::Run)
    }

    pub fn is_terminal(self) -> bool {
        !self.is_open()
    }
}

impl fmt::Display for IntegrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored status that is none of the five. The text is kept only when it
/// reads as a status word (`FINISHED`): anything else came from whoever wrote the
/// item and may be personal data, so it is not echoed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown integration status {}: expected START, RUN, DONE, ERROR or TIMEOUT", shown(.0))]
pub struct UnknownStatus(pub String);

/// The longest status word an error repeats.
const LONGEST_SHOWN: usize = 16;

fn shown(text: &str) -> String {
    let word = !text.is_empty()
        && text.len() <= LONGEST_SHOWN
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-');
    if word {
        format!("{text:?}")
    } else {
        "(a value that is not a status word)".to_owned()
    }
}

impl FromStr for IntegrationStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            // Only a short prefix is kept: the value came from the table and may be large.
            .ok_or_else(|| UnknownStatus(s.chars().take(LONGEST_SHOWN + 1).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_rules_engine_spelling() {
        for status in IntegrationStatus::ALL {
            assert_eq!(status.as_str().parse::<IntegrationStatus>(), Ok(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
    }

    #[test]
    fn only_start_and_run_are_open() {
        let open: Vec<_> = IntegrationStatus::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .collect();
        assert_eq!(open, [IntegrationStatus::Start, IntegrationStatus::Run]);
    }

    #[test]
    fn an_unknown_status_names_the_accepted_ones() {
        let err = "FINISHED".parse::<IntegrationStatus>().unwrap_err();
        assert!(err.to_string().contains("\"FINISHED\""));
        assert!(err
            .to_string()
            .contains("expected START, RUN, DONE, ERROR or TIMEOUT"));
    }

    #[test]
    fn an_unknown_status_that_is_no_status_word_is_not_echoed() {
        for stored in [
            "+15555550123",
            "Ada Lovelace",
            "done",
            "VERY_LONG_STATUS_WORD_INDEED",
        ] {
            let err = stored.parse::<IntegrationStatus>().unwrap_err().to_string();
            assert!(!err.contains(stored), "{err}");
            assert!(err.contains("not a status word"), "{err}");
        }
    }
}
