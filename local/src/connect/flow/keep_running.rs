//! *Keep running while waiting* (the Administrator Guide, "Flow block in
//! Amazon Connect: Wait"): while the Wait waits for the asynchronous
//! invocation, the contact runs the Wait's Continue branch; the invocation's
//! return, or the end of the Wait's time, moves the contact on from wherever
//! it is in that branch, cutting a message short. How the branch is written
//! is [`unpublished::CONTINUE`]'s reading.

use tokio::time::{Duration, Instant};

use super::{
    play::{wait_time, Step},
    unpublished::{self, CONTINUE},
    Action, Contact, Memory, Prompt, WaitTime, Waited, LAMBDA_RETURNED, WAIT_COMPLETED,
};

/// A keep-running Wait, while it waits.
pub(super) struct Waiting<'a> {
    wait: &'a Action,
    /// The invocation waited for (`None`: a wrong id, which only times out).
    id: Option<String>,
    until: Instant,
}

/// Where a keep-running Wait goes first.
pub(super) enum Began<'a> {
    /// The invocation had returned already: its branch at once
    /// ([`unpublished::AN_EARLIER_RETURN_ENDS_A_WAIT`]).
    Returned(Option<&'a str>),
    /// Waiting, on the Continue branch.
    Waiting(Waiting<'a>),
}

impl<'a> Waiting<'a> {
    /// The Wait `wait` begins, for `invocation` (a reference) and `time`.
    pub(super) fn begin(
        wait: &'a Action,
        time: &WaitTime,
        invocation: &str,
        contact: &impl Contact,
        memory: &Memory,
    ) -> Result<Began<'a>, String> {
        let time = wait_time(time, memory)?;
        let id = memory.lookup(invocation);
        if unpublished::AN_EARLIER_RETURN_ENDS_A_WAIT
            && id.as_deref().is_some_and(|id| contact.has_returned(id))
        {
            return Ok(Began::Returned(wait.condition(LAMBDA_RETURNED)));
        }
        Ok(Began::Waiting(Waiting {
            wait,
            id,
            until: Instant::now() + time,
        }))
    }

    fn left(&self) -> Duration {
        self.until.saturating_duration_since(Instant::now())
    }

    /// Where the Wait's event or its time moves the contact, once either has
    /// come (`Some(None)`: a branch the Wait does not have).
    pub(super) fn moved_on(&self, contact: &impl Contact) -> Option<Option<&'a str>> {
        if self
            .id
            .as_deref()
            .is_some_and(|id| contact.has_returned(id))
        {
            return Some(self.wait.condition(LAMBDA_RETURNED));
        }
        self.left()
            .is_zero()
            .then(|| self.wait.condition(WAIT_COMPLETED))
    }

    /// Plays `prompt` until the Wait's event or time cuts it short; `false`
    /// if the caller hung up.
    pub(super) async fn play(&self, prompt: &Prompt, contact: &mut impl Contact) -> bool {
        contact
            .play_while_waiting(prompt, self.id.as_deref(), self.left())
            .await
    }

    /// The Continue branch ran out: the contact waits in silence for the
    /// event or the time; where it goes then (`None`: it hung up).
    pub(super) async fn in_silence(self, contact: &mut impl Contact) -> Option<&'a str> {
        match contact
            .wait_for_lambda(self.id.as_deref(), self.left())
            .await
        {
            Waited::Returned | Waited::AlreadyReturned => self.wait.condition(LAMBDA_RETURNED),
            Waited::TimedOut => self.wait.condition(WAIT_COMPLETED),
            Waited::HungUp => None,
        }
    }
}

impl<'a> Began<'a> {
    /// The step this begins with, `waiting` set while the Wait waits.
    pub(super) fn first(self, waiting: &mut Option<Waiting<'a>>) -> Step<'a> {
        match self {
            Began::Returned(next) => Step::Next(next),
            Began::Waiting(w) => {
                let first = w.wait.condition(CONTINUE);
                *waiting = Some(w);
                Step::Next(first)
            }
        }
    }
}
