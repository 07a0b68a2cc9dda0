//! Connect's time limit: how a contact's calls stood against it, and what is
//! said of calls that broke it while the machine could not keep up.

use std::time::Duration;

use shared::IntegrationStatus;

use crate::{
    connect::simulator::Timed,
    demo::{Load, LoadWatch},
};

/// The longest a call may take: Connect's limit for an asynchronous
/// invocation (a synchronous one's is the block's, at most 8 s).
const ASYNC_LIMIT: Duration = Duration::from_secs(60);

/// How one contact's Connect-facing calls stood against Connect's limit.
pub(super) struct Timeliness {
    pub(super) calls: usize,
    /// Answered within the limit with a status the flow's Compare blocks route
    /// on (also an answer given while the store was down).
    pub(super) answered: usize,
    /// Over the limit.
    pub(super) late: usize,
    /// The machine's load during each late call made while it could not keep
    /// up: such a call is said as such, not held against the functions.
    pub(super) overloaded: Vec<Load>,
}

pub(super) fn timeliness<'a>(
    calls: impl Iterator<Item = Timed<'a>>,
    refused: bool,
    load: &LoadWatch,
) -> Timeliness {
    let mut t = Timeliness {
        calls: 0,
        answered: 0,
        late: 0,
        overloaded: Vec::new(),
    };
    for call in calls {
        t.calls += 1;
        if call.took >= call.limit.min(ASYNC_LIMIT) {
            t.late += 1;
            let during = load.between(call.sent, call.sent + call.took);
            if during.overloaded() {
                t.overloaded.push(during);
            }
        } else if call
            .status
            .is_some_and(|s| s.parse::<IntegrationStatus>().is_ok())
            || refused && call.failed
        {
            t.answered += 1;
        }
    }
    t
}

/// Said after the time-limit invariants when calls broke the limit on an
/// overloaded machine.
pub(super) fn overload_note(overloaded: &[Load]) -> String {
    match overloaded.len() {
        0 => String::new(),
        n => format!(", but for {n} call(s) over 8 s on an overloaded machine (below)"),
    }
}
