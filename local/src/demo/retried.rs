//! Connect's retries in a run of contacts: what the demo says of them, and the
//! invariant that a start which died after its invoke and was retried did not
//! call its integration function's back end a second time.

use crate::{connect::simulator::Played, stack::Stack};

/// Connect's retries of the Lambda calls, and the starts that died after
/// their invoke (`--start-deaths-every`).
pub(super) fn summary(stack: &Stack, played: &[Played]) {
    let retries: usize = played.iter().map(Played::retries).sum();
    let retried = played.iter().filter(|p| p.retries() > 0).count();
    let (_, died) = stack.start_deaths();
    let again = died.iter().filter(|(_, calls)| *calls != Some(0)).count();
    println!(
        "Connect retried {retries} Lambda calls of {retried} contacts (a function error or a \
         throttle, up to three times within the block's limit); {} starts died after their \
         invoke, and {again} of those contacts' retries called the integration function again \
         or never answered.\n",
        died.len()
    );
}

/// Connect retried every start that died after its invoke: each retry
/// answered, and called no integration function: the rule activation's
/// function was invoked once, by the start that died (or not at all, when the
/// front refused that invocation on purpose).
pub(super) fn once_per_activation(
    (armed, died): &(bool, Vec<(String, Option<usize>)>),
) -> Option<(String, bool)> {
    if !armed {
        return None;
    }
    if died.is_empty() {
        let what = "a start that died after its invoke was retried by Connect: none died, so the fault tested nothing";
        return Some((what.to_owned(), false));
    }
    let held = died.iter().filter(|(_, calls)| *calls == Some(0)).count();
    for (contact, calls) in died.iter().filter(|(_, calls)| *calls != Some(0)) {
        match calls {
            Some(calls) => println!("  ! {contact}: start died after its invoke; its retry invoked the integration function {calls} more times"),
            None => println!("  ! {contact}: start died after its invoke, and no retry answered"),
        }
    }
    Some((
        format!(
            "a start that died after its invoke was retried by Connect, and the retry invoked no integration function: no second back-end call ({held}/{})",
            died.len()
        ),
        held == died.len(),
    ))
}

#[cfg(test)]
mod tests {
    use super::once_per_activation;

    #[test]
    fn a_retry_that_invoked_again_or_never_answered_breaks_the_invariant() {
        assert_eq!(once_per_activation(&(false, vec![])), None);
        let (what, holds) = once_per_activation(&(true, vec![])).unwrap();
        assert!(!holds, "none died: {what}");
        let held = once_per_activation(&(true, vec![("a".into(), Some(0))])).unwrap();
        assert!(held.1, "{}", held.0);
        for broken in [Some(1), None] {
            let died = vec![("a".into(), Some(0)), ("b".into(), broken)];
            let (what, holds) = once_per_activation(&(true, died)).unwrap();
            assert!(!holds && what.ends_with("(1/2)"), "{what}");
        }
    }
}
