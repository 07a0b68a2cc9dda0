//! The invariants of a run of contacts: what every run must come to whatever
//! the machine did, and Connect's time limit ([`timeliness`]), judged beside
//! the machine's load ([`verdict`]).

use std::{collections::BTreeMap, time::Duration};

use shared::{keys::INTEGRATION_ERROR_CAUSE, ContactState, IntegrationStatus};
use stream_consumer::emit::UNKNOWN_FUNCTION;

use super::{
    evidence::{completions, expects_late_finish, late_finishes, LateFinishes, Measured},
    BoxError, Load, LoadWatch, Window,
};
use crate::{
    connect::{
        flow::{Channel, Ending},
        simulator::{Played, OUTPUT_KEY},
    },
    stack::Stack,
};

use timeliness::{overload_note, timeliness};
pub(super) use verdict::Checked;

/// How many of the contacts an invariant was checked on held it.
#[derive(Debug, Default, Clone, Copy)]
struct Count {
    held: usize,
    of: usize,
}

impl Count {
    fn holds(&self) -> bool {
        self.held == self.of
    }
}

/// The invariants' counts over a run's contacts, and what broke them.
#[derive(Default)]
struct Tally {
    terminal: Count,
    told: Count,
    one_metric: Count,
    final_measured: Count,
    output_iff_done: Count,
    in_time: Count,
    routable: Count,
    unopened_error: Count,
    refused_error: Count,
    late_undone: Count,
    channel: Count,
    overloaded: Vec<Load>,
    problems: Vec<String>,
}

/// What the contacts are checked against: the run's metrics by run (its
/// completions, and the late finishes undone), the contacts whose invocations
/// the front refused, and when the store was down.
struct Evidence<'a> {
    measured: BTreeMap<String, Vec<Measured>>,
    late: LateFinishes,
    refused: std::collections::HashSet<String>,
    outage: Window,
    load: &'a LoadWatch,
}

/// The invariants of a run of contacts, each with whether it held.
pub(super) async fn check(
    stack: &Stack,
    played: &[Played],
    outage: Window,
    load: &LoadWatch,
) -> Result<Checked, BoxError> {
    let evidence = Evidence {
        measured: completions(&stack.metrics),
        late: late_finishes(&stack.metrics),
        refused: stack.front_refusals(),
        outage,
        load,
    };
    let mut tally = Tally::default();
    for p in played {
        let state: ContactState = match &p.snapshot {
            Some(state) => state.clone(),
            None => stack.store.load_state(&p.contact).await?,
        };
        tally.contact(p, &state, &evidence);
    }
    for problem in tally.problems.iter().take(20) {
        println!("  ! {problem}");
    }
    // Every refused contact counts, also one whose run could not be opened.
    tally.refused_error.of = played
        .iter()
        .filter(|p| evidence.refused.contains(p.contact.as_str()))
        .count();
    let any_refused = tally.refused_error.of > 0;
    let mut checked = tally.checked(any_refused);
    checked
        .invariants
        .extend(super::retried::once_per_activation(&stack.start_deaths()));
    Ok(checked)
}

impl Tally {
    /// Counts `held` for the invariant `which` picks; says `problem` otherwise.
    fn check(
        &mut self,
        which: fn(&mut Tally) -> &mut Count,
        held: bool,
        problem: impl FnOnce() -> String,
    ) {
        let count = which(self);
        count.of += 1;
        if held {
            count.held += 1;
        } else {
            self.problems.push(problem());
        }
    }

    /// Checks one contact's calls and run.
    fn contact(&mut self, p: &Played, state: &ContactState, evidence: &Evidence) {
        if p.scenario.channel != Channel::Voice {
            self.channel(p);
        }
        // A call the front refused on purpose fails as the fault says; the
        // flow routes it on its error branch.
        let refused = evidence.refused.contains(p.contact.as_str());
        let calls = timeliness(p.call_steps(), refused, evidence.load);
        let excused = calls.overloaded.len();
        self.overloaded.extend(calls.overloaded);
        self.check(
            |t| &mut t.routable,
            calls.answered + excused == calls.calls,
            || format!("{}: a call answered late or without a status", p.contact),
        );
        if p.run_id.is_none() && state.status().is_none() {
            // The opening write never landed (the store was down): there is no
            // run to finish or measure. Start must have said ERROR. On an
            // asynchronous flow the invocation may fail instead (the native
            // function, which opens its own run; start, which died), and
            // Connect takes the Lambda error branch to the error flow, or the
            // caller hung up before its result was loaded and heard nothing.
            let first = p.call_steps().next();
            let status = first.as_ref().and_then(|call| call.status);
            let native_failed = p.flow.is_asynchronous()
                && first.as_ref().is_none_or(|call| call.failed)
                && (first.is_some() || p.ending == Ending::HungUp);
            self.check(
                |t| &mut t.unopened_error,
                status == Some(IntegrationStatus::Error.as_str()) || native_failed,
                || {
                    let first = first.as_ref().map(|call| (call.status, call.failed));
                    format!(
                        "{}: no run opened on the {:?} flow, ending {:?}; the first call (status, failed): {first:?}",
                        p.contact, p.flow, p.ending
                    )
                },
            );
            return;
        }
        if evidence.refused.contains(p.contact.as_str()) {
            self.refused(p, state, evidence.outage);
        }
        self.run(p, state, evidence);
        self.check(
            |t| &mut t.in_time,
            calls.late == excused,
            || format!("{}: a call took longer than Connect's 8 s", p.contact),
        );
    }

    /// A contact whose invocation the front refused: start records the refusal
    /// as ERROR; with the store down it cannot, and the run is left to the sweep.
    fn refused(&mut self, p: &Played, state: &ContactState, outage: Window) {
        let cause = state.get(INTEGRATION_ERROR_CAUSE);
        let store_down = outage.is_some_and(|(from, to)| {
            p.call_steps()
                .next()
                .is_some_and(|call| call.sent < to && call.sent + call.took > from)
        });
        let status = state.integration_status();
        let held = status == Some(IntegrationStatus::Error) && cause.is_some()
            || store_down && status == Some(IntegrationStatus::Timeout);
        let count = &mut self.refused_error;
        if held {
            count.held += 1;
        } else {
            self.problems.push(format!(
                "{}: invocation refused, run ended {status:?} (cause {cause:?})",
                p.contact
            ));
        }
    }

    /// The run's end, what the caller was told, its metrics and its output.
    fn run(&mut self, p: &Played, state: &ContactState, evidence: &Evidence) {
        let record = state.status();
        let status = record.map(|r| r.status);
        // A status item that names no run is not this run's end: a legacy
        // writer's put took its identity, and nothing put it back.
        let ours =
            p.run_id.is_some() && record.and_then(|r| r.run_id.as_ref()) == p.run_id.as_ref();
        self.check(
            |t| &mut t.terminal,
            ours && status.is_some_and(IntegrationStatus::is_terminal),
            || {
                format!(
                    "{}: run not finished ({status:?}, run named: {ours})",
                    p.contact
                )
            },
        );
        // A caller who hung up heard nothing: the sweep owes the run TIMEOUT,
        // but when the store was down while the sweep was due the run's own
        // finish may come first and stand (the measured status must match it,
        // checked below).
        let raced = p.ending == Ending::HungUp && sweep_met_outage(p, evidence.outage);
        if let Some(told) = p.told() {
            self.check(
                |t| &mut t.told,
                status == Some(told)
                    || (raced && status.is_some_and(IntegrationStatus::is_terminal)),
                || {
                    format!(
                        "{}: the caller was told {told}, the state holds {status:?}",
                        p.contact
                    )
                },
            );
        }
        let run = p.run_id.as_ref().map(|r| r.as_str());
        let measured = run
            .and_then(|r| evidence.measured.get(r))
            .cloned()
            .unwrap_or_default();
        let named = measured
            .iter()
            .all(|m| !m.function.is_empty() && m.function != UNKNOWN_FUNCTION);
        self.check(
            |t| &mut t.one_metric,
            measured.len() == 1 && named,
            || {
                let functions: Vec<&str> = measured.iter().map(|m| m.function.as_str()).collect();
                format!(
                    "{}: {} completion metrics, for functions {functions:?}",
                    p.contact,
                    measured.len()
                )
            },
        );
        // A run measured as TIMEOUT (or anything) must still hold that status:
        // a DONE landing after the TIMEOUT would show here.
        let final_measured = measured
            .iter()
            .all(|m| Some(m.status.as_str()) == status.map(IntegrationStatus::as_str));
        self.check(
            |t| &mut t.final_measured,
            final_measured,
            || {
                let statuses: Vec<&str> = measured.iter().map(|m| m.status.as_str()).collect();
                format!(
                    "{}: measured {statuses:?}, state holds {status:?}",
                    p.contact
                )
            },
        );
        // Every scenario's payload is echoed, so DONE has an output and nothing else has.
        let has_output = state.get(OUTPUT_KEY).is_some();
        self.check(
            |t| &mut t.output_iff_done,
            has_output == (status == Some(IntegrationStatus::Done)),
            || {
                let present = if has_output { "present" } else { "absent" };
                format!("{}: output {present} with status {status:?}", p.contact)
            },
        );
        let late = run
            .and_then(|r| evidence.late.by_run.get(r))
            .copied()
            .unwrap_or(0);
        let timed_out = status == Some(IntegrationStatus::Timeout);
        let expected = usize::from(expects_late_finish(p, status) && (!raced || timed_out));
        // The original's echo does not retry a failed write: if the store was
        // down when its late finish was due, there may be no late finish at all.
        let lost_to_outage = expected == 1 && late == 0 && finish_met_outage(p, evidence.outage);
        self.check(
            |t| &mut t.late_undone,
            late == expected || lost_to_outage,
            || {
                format!(
                    "{}: {late} late finishes undone, {expected} expected",
                    p.contact
                )
            },
        );
    }

    /// A chat reads the rule's message at most once, and no comfort
    /// messages (none when the run ends in the first wait, or fails first);
    /// a task reads none.
    fn channel(&mut self, p: &Played) {
        let messages = p.messages();
        let held = match p.scenario.channel {
            Channel::Chat => messages <= 1,
            _ => messages == 0,
        };
        let channel = p.scenario.channel;
        self.check(
            |t| &mut t.channel,
            held,
            || {
                format!(
                    "{}: {messages} messages to a {channel:?} contact",
                    p.contact
                )
            },
        );
    }

    /// The invariants, as the demo prints them.
    fn checked(self, any_refused: bool) -> Checked {
        let said = |count: Count| format!("{}/{}", count.held, count.of);
        let late = overload_note(&self.overloaded);
        let mut invariants = vec![
            (format!("every run ended in exactly one terminal status ({})", said(self.terminal)), self.terminal.holds()),
            (format!("the final status is the one the caller was told, TIMEOUT after a hang-up unless the store was down while the sweep was due ({})", said(self.told)), self.told.holds()),
            (format!("exactly one completion metric per run, naming its function ({})", said(self.one_metric)), self.one_metric.holds()),
            (format!("no DONE after TIMEOUT: the measured status is the final one ({})", said(self.final_measured)), self.final_measured.holds()),
            (format!("no output without DONE ({})", said(self.output_iff_done)), self.output_iff_done.holds()),
            (format!("every late finish of the original's echo undone, once: a LateFinishes per legacy run told TIMEOUT (or told nothing of it and timed out) whose finish was written (not lost to a store outage), none elsewhere ({})", said(self.late_undone)), self.late_undone.holds()),
            (format!("every Connect-facing call answered within its limit, 8 s (an asynchronous one's, its block's) ({}){late}", said(self.in_time)), self.in_time.holds()),
            (format!("every Connect-facing call answered in time with a status the flow routes on, or refused by the front on purpose ({} contacts){late}", said(self.routable)), self.routable.holds()),
        ];
        if self.channel.of > 0 {
            invariants.push((
                format!(
                    "a chat reads at most one message, a task none ({})",
                    said(self.channel)
                ),
                self.channel.holds(),
            ));
        }
        if self.unopened_error.of > 0 {
            invariants.push((
                format!(
                    "a contact whose run could not be opened was answered ERROR by start, or sent down the Lambda error branch on an asynchronous flow ({})",
                    said(self.unopened_error)
                ),
                self.unopened_error.holds(),
            ));
        }
        if any_refused {
            invariants.push((
                format!("a run whose invocation the front refused ended ERROR with a cause, or TIMEOUT when the store was down ({})", said(self.refused_error)),
                self.refused_error.holds(),
            ));
        }
        Checked {
            invariants,
            overloaded: self.overloaded,
        }
    }
}

mod timeliness;
mod verdict;

#[cfg(test)]
mod tests;

/// Whether the store was down between `p`'s deadline and its integration
/// function's finish (the call's start plus the payload's `SleepTime`), when
/// the sweep was due to time the run out.
fn sweep_met_outage(p: &Played, outage: Window) -> bool {
    let deadline = p.began + Duration::from_secs(p.scenario.timeout_s.into());
    let finish = p.began + p.scenario.work_time();
    outage.is_some_and(|(from, to)| from <= finish && to >= deadline)
}

/// Whether the store was down around the time `p`'s integration function was
/// due to write its finish (the call's start plus the payload's `SleepTime`).
pub(super) fn finish_met_outage(p: &Played, outage: Window) -> bool {
    let due = p.began + p.scenario.work_time();
    outage.is_some_and(|(from, to)| {
        due + Duration::from_secs(2) >= from && due <= to + Duration::from_secs(2)
    })
}
