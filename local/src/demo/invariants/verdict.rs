//! The verdict on a run's invariants, said in plain words when the machine
//! could not carry the run.

use crate::demo::{Load, Verdict};

/// What the invariant check found.
pub(in crate::demo) struct Checked {
    pub(in crate::demo) invariants: Vec<(String, bool)>,
    /// The machine's load during each call that broke Connect's limit while the
    /// machine could not keep up; such calls are not held against the functions.
    pub(super) overloaded: Vec<Load>,
}

impl Checked {
    /// The verdict, said in plain words when the machine was overloaded.
    /// `in_flight` is how many contacts played at once, `fewer` how to play fewer.
    pub(in crate::demo) fn verdict(&self, in_flight: usize, fewer: &str, whole: Load) -> Verdict {
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
