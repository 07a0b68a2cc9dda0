//! Connect's retries in a run of contacts: what the demo says of them, and the
//! invariant that a start which died after its invoke and was retried did not
//! call its integration function's back end a second time.

use crate::{connect::simulator::Played, stack::Stack};

/// Connect's retries of the Lambda calls, and the starts that died after
/// their invoke (`--start-deaths-every`).
pub(super) fn summary(stack: &Stack, played: &[Played]) {
    let retries: usize = played.iter().map(Played::retries).sum();
    let retried = played.iter().filter(|p| p.retries() > 0).count();
    let died = stack.start_deaths();
    let again = died.iter().filter(|(_, invoked)| *invoked > 1).count();
    println!(
        "Connect retried {retries} Lambda calls of {retried} contacts (a function error or a \
         throttle, up to three times within the block's limit); {} starts died after their \
         invoke, and {again} of those contacts had their integration function invoked a \
         second time.\n",
        died.len()
    );
}

/// Connect retried every start that died after its invoke: each such
/// contact's integration function was invoked at most once (not at all when
/// the front refused that invocation on purpose), not once per try.
pub(super) fn once_per_activation(died: &[(String, usize)]) -> Option<(String, bool)> {
    if died.is_empty() {
        return None;
    }
    let once = died.iter().filter(|(_, invoked)| *invoked <= 1).count();
    for (contact, invoked) in died.iter().filter(|(_, invoked)| *invoked > 1) {
        println!("  ! {contact}: start died after its invoke; the integration function was invoked {invoked} times");
    }
    Some((
        format!(
            "a start that died after its invoke, retried by Connect, invoked the integration function at most once: no second back-end call ({once}/{})",
            died.len()
        ),
        once == died.len(),
    ))
}
