//! Which integration functions start may invoke. A state item can be written by
//! anyone who can write the table, so start checks the function it is asked to
//! call against an allow-list before invoking it: by default the Rules Engine's
//! naming, `<stage>-<service>-integration*`, in start's own account and region.

use std::fmt;

/// A function as the Lambda Invoke API names it: a plain name, a partial ARN
/// (`account:function:name`) or a full ARN, each maybe with a qualifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// `aws`, `aws-cn`, …: a full ARN's partition.
    pub partition: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub name: String,
    pub qualifier: Option<String>,
}

/// Why a function may not be invoked. Says what was wrong, never more of the
/// value than its name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the function reference is not a Lambda function name or ARN")]
    Malformed,
    #[error("function {name} is qualified (version or alias {qualifier}); only unqualified functions may be invoked")]
    Qualified { name: String, qualifier: String },
    #[error("function {name} belongs to another partition, account or region")]
    ElsewhereHosted { name: String },
    #[error("function {name} is not on the allow-list")]
    NotAllowed { name: String },
}

impl FunctionRef {
    pub fn parse(text: &str) -> Result<Self, Refused> {
        let parts: Vec<&str> = text.split(':').collect();
        let (partition, region, account, name, qualifier) = match parts.as_slice() {
            [name] => (None, None, None, *name, None),
            [name, qualifier] => (None, None, None, *name, Some(*qualifier)),
            [account, "function", name] => (None, None, Some(*account), *name, None),
            [account, "function", name, qualifier] => {
                (None, None, Some(*account), *name, Some(*qualifier))
            }
            ["arn", partition, "lambda", region, account, "function", name, rest @ ..]
                if partition.starts_with("aws") && rest.len() <= 1 =>
            {
                (
                    Some(*partition),
                    Some(*region),
                    Some(*account),
                    *name,
                    rest.first().copied(),
                )
            }
            _ => return Err(Refused::Malformed),
        };
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let valid_account =
            account.is_none_or(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
        // Lambda's own rule for a version or alias. Checked so that a refusal can
        // name it: the text came from a state item and could be anything, up to
        // 400 KB, which no error cause can hold.
        let valid_qualifier = qualifier.is_none_or(|q| {
            !q.is_empty()
                && q.len() <= 128
                && q.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_$".contains(&b))
        });
        if !valid_name || !valid_account || !valid_qualifier || region.is_some_and(str::is_empty) {
            return Err(Refused::Malformed);
        }
        Ok(Self {
            partition: partition.map(str::to_owned),
            region: region.map(str::to_owned),
            account: account.map(str::to_owned),
            name: name.to_owned(),
            qualifier: qualifier.map(str::to_owned),
        })
    }
}

impl fmt::Display for FunctionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Name patterns (`*` matches any run of characters, matching is anchored and
/// case-sensitive, as Lambda's names are), and the account and region start runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    patterns: Vec<String>,
}

impl AllowList {
    pub fn new(patterns: impl IntoIterator<Item = String>) -> Self {
        Self {
            patterns: patterns.into_iter().collect(),
        }
    }

    /// The Rules Engine's naming for a stage and service.
    pub fn rules_engine(stage: &str, service: &str) -> Self {
        Self::new([format!("{stage}-{service}-integration*")])
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Checks `target` for start running as `own` (its own ARN, from the Lambda
    /// context): a function elsewhere than `own`'s partition, account and region
    /// is refused, and so is one whose account or region cannot be compared.
    pub fn check(&self, target: &str, own: Option<&FunctionRef>) -> Result<FunctionRef, Refused> {
        let target = FunctionRef::parse(target)?;
        if let Some(qualifier) = &target.qualifier {
            return Err(Refused::Qualified {
                name: target.name.clone(),
                qualifier: qualifier.clone(),
            });
        }
        let same = |theirs: &Option<String>, ours: Option<&Option<String>>| match theirs {
            None => true,
            Some(theirs) => ours.and_then(Option::as_ref) == Some(theirs),
        };
        if !same(&target.account, own.map(|o| &o.account))
            || !same(&target.region, own.map(|o| &o.region))
            || !same(&target.partition, own.map(|o| &o.partition))
        {
            return Err(Refused::ElsewhereHosted {
                name: target.name.clone(),
            });
        }
        if !self.patterns.iter().any(|p| glob_match(p, &target.name)) {
            return Err(Refused::NotAllowed {
                name: target.name.clone(),
            });
        }
        Ok(target)
    }
}

/// Anchored match where `*` stands for any run of characters (also none).
fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let Some(last) = parts.pop() else {
        // No `*` at all: the whole text must be the pattern.
        return rest.is_empty();
    };
    for part in parts {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> FunctionRef {
        FunctionRef::parse("arn:aws:lambda:eu-west-2:123456789012:function:dev-rules-engine-connectintegrationstart").unwrap()
    }

    fn allow() -> AllowList {
        AllowList::rules_engine("dev", "rules-engine")
    }

    #[test]
    fn globs_are_anchored_and_case_sensitive() {
        assert!(glob_match("dev-re-integration*", "dev-re-integrationEcho"));
        assert!(glob_match("dev-re-integration*", "dev-re-integration"));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match(
            "dev-re-integration*",
            "xdev-re-integrationEcho"
        ));
        assert!(!glob_match("dev-re-integration*", "DEV-re-integrationEcho"));
        assert!(!glob_match("a*bc", "abcbc-"));
        assert!(glob_match("a*bc", "abcbc"));
    }

    #[test]
    fn names_and_arns_of_allowed_functions_in_the_same_account_pass() {
        for target in [
            "dev-rules-engine-integrationEcho",
            "123456789012:function:dev-rules-engine-integrationEcho",
            "arn:aws:lambda:eu-west-2:123456789012:function:dev-rules-engine-integrationEcho",
        ] {
            let checked = allow().check(target, Some(&own())).unwrap();
            assert_eq!(checked.name, "dev-rules-engine-integrationEcho");
        }
    }

    #[test]
    fn other_functions_accounts_regions_qualifiers_and_odd_names_are_refused() {
        let refused = |target: &str| allow().check(target, Some(&own())).unwrap_err();
        let kind = |target: &str| match refused(target) {
            Refused::NotAllowed { .. } => "not allowed",
            Refused::Qualified { .. } => "qualified",
            Refused::ElsewhereHosted { .. } => "elsewhere hosted",
            _ => "refused otherwise",
        };
        for (target, expected) in [
            ("dev-rules-engine-connectintegrationstart", "not allowed"),
            ("prod-rules-engine-integrationEcho", "not allowed"),
            ("Dev-rules-engine-integrationEcho", "not allowed"),
            ("dev-rules-engine-integrationEcho:live", "qualified"),
            (
                "arn:aws:lambda:eu-west-2:123456789012:function:dev-rules-engine-integrationEcho:$LATEST",
                "qualified",
            ),
            (
                "arn:aws:lambda:eu-west-2:999999999999:function:dev-rules-engine-integrationEcho",
                "elsewhere hosted",
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:dev-rules-engine-integrationEcho",
                "elsewhere hosted",
            ),
            (
                "arn:aws-cn:lambda:eu-west-2:123456789012:function:dev-rules-engine-integrationEcho",
                "elsewhere hosted",
            ),
        ] {
            assert_eq!(kind(target), expected, "{target}");
        }
        for odd in [
            "",
            "dev-rules-engine-integration Echo",
            "a:b:c:d:e",
            "arn:aws:s3:::bucket",
            "dev-rules-engine-integration/../x",
            // A qualifier Lambda would not take either: too long, or no qualifier
            // at all after the colon.
            &format!("dev-rules-engine-integrationEcho:{}", "x".repeat(129)),
            "dev-rules-engine-integrationEcho:",
            "dev-rules-engine-integrationEcho:+15555550123",
        ] {
            assert_eq!(refused(odd), Refused::Malformed, "{odd:?}");
        }
    }

    #[test]
    fn an_arn_cannot_be_checked_without_knowing_our_own_account() {
        let err = allow()
            .check(
                "123456789012:function:dev-rules-engine-integrationEcho",
                None,
            )
            .unwrap_err();
        assert!(matches!(err, Refused::ElsewhereHosted { .. }));
        assert!(allow()
            .check("dev-rules-engine-integrationEcho", None)
            .is_ok());
    }
}
