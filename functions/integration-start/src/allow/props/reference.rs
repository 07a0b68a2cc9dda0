//! The reference the property tests hold the allow-list to, written apart
//! from the code: a reference is allowed only when it names, unqualified, a
//! function of start's own partition, account and region whose name matches
//! a pattern.

/// Anchored glob, `*` any run of characters: the textbook dynamic programme,
/// to hold the code's greedy matcher to.
pub(super) fn reference_glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // matches[j]: pattern so far matches text[..j].
    let mut matches = vec![false; t.len() + 1];
    matches[0] = true;
    for c in &p {
        if *c == '*' {
            for j in 1..=t.len() {
                matches[j] = matches[j] || matches[j - 1];
            }
        } else {
            for j in (1..=t.len()).rev() {
                matches[j] = matches[j - 1] && t[j - 1] == *c;
            }
            matches[0] = false;
        }
    }
    matches[t.len()]
}

/// A Lambda function name: 1 to 64 of `A-Z a-z 0-9 - _`.
fn lambda_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Debug, Clone)]
pub(super) struct Own {
    pub(super) partition: &'static str,
    pub(super) region: &'static str,
    pub(super) account: &'static str,
}

impl Own {
    pub(super) fn arn(&self) -> String {
        format!(
            "arn:{}:lambda:{}:{}:function:dev-rules-engine-connectintegrationstart",
            self.partition, self.region, self.account
        )
    }
}

/// The function `target` names, if start running as `own` may invoke it: the
/// three unqualified forms the Invoke API takes, in `own`'s partition, account
/// and region, with a name a pattern matches.
pub(super) fn allowed<'a>(
    patterns: &[String],
    own: Option<&Own>,
    target: &'a str,
) -> Option<&'a str> {
    let name = if target.starts_with("arn:") {
        let own = own?;
        target.strip_prefix(&format!(
            "arn:{}:lambda:{}:{}:function:",
            own.partition, own.region, own.account
        ))?
    } else if target.contains(':') {
        target.strip_prefix(&format!("{}:function:", own?.account))?
    } else {
        target
    };
    (lambda_name(name) && patterns.iter().any(|p| reference_glob(p, name))).then_some(name)
}
