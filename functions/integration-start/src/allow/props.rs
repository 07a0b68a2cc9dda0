//! Property tests: the allow-list cannot be bypassed. Random allowed patterns,
//! random references to functions (names, partial and full ARNs) built from
//! them and mutated (qualifiers, other partitions, accounts and regions, case,
//! look-alike characters, white space, partial names), checked against a
//! reference written apart from the code: a reference is allowed only when it
//! names, unqualified, a function of start's own partition, account and region
//! whose name matches a pattern.
//!
//! Each property runs `PROPTEST_CASES` cases, 100,000 unless told otherwise.

use proptest::{
    collection::vec,
    prelude::*,
    sample::select,
    test_runner::{Config, TestRunner},
};

use super::{glob_match, AllowList, FunctionRef};
use reference::{allowed, reference_glob, Own};

mod reference;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(100_000)
}

fn run<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let started = std::time::Instant::now();
    if let Err(failure) = runner.run(&strategy, test) {
        panic!("{name}: {failure}");
    }
    eprintln!(
        "allow-list: {name}: {cases} cases, no bypass, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

const PARTITIONS: [&str; 4] = ["aws", "aws-cn", "aws-us-gov", "AWS"];
const REGIONS: [&str; 5] = [
    "eu-west-2",
    "us-east-1",
    "cn-north-1",
    "EU-WEST-2",
    "eu-west-2 ",
];
const ACCOUNTS: [&str; 4] = [
    "123456789012",
    "999999999999",
    "12345678901",
    "０23456789012",
];

fn own() -> impl Strategy<Value = Option<Own>> {
    let own = (
        select(&PARTITIONS[..3]),
        select(&REGIONS[..3]),
        select(&ACCOUNTS[..2]),
    )
        .prop_map(|(partition, region, account)| Own {
            partition,
            region,
            account,
        });
    prop_oneof![9 => own.prop_map(Some), 1 => Just(None)]
}

/// Compiled once: a bare `&str` strategy compiles its regex for every case.
fn matching(pattern: &str) -> impl Strategy<Value = String> {
    proptest::string::string_regex(pattern).expect("a valid regex")
}

fn name_part() -> impl Strategy<Value = String> {
    matching("[a-zA-Z0-9_-]{0,6}")
}

/// Patterns as operators write them: literal parts and `*`.
fn pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("dev-rules-engine-integration*".to_owned()),
        vec(name_part(), 1..4).prop_map(|parts| parts.join("*")),
    ]
}

/// A name a pattern matches: each `*` filled in.
fn filled(pattern: &str, fills: &[String]) -> String {
    let mut fills = fills.iter().cycle();
    pattern
        .split('*')
        .enumerate()
        .map(|(i, part)| {
            let fill = if i == 0 {
                ""
            } else {
                fills.next().map_or("", String::as_str)
            };
            format!("{fill}{part}")
        })
        .collect()
}

/// Changes a name the way an attacker would: case, look-alikes, white space,
/// more or less of it, characters Lambda's names do not have.
#[derive(Debug, Clone)]
enum NameChange {
    None,
    FlipCase(usize),
    LookAlike(usize, char),
    Insert(usize, &'static str),
    Truncate(usize),
    Prefix(String),
    Suffix(String),
}

fn name_change() -> impl Strategy<Value = NameChange> {
    prop_oneof![
        6 => Just(NameChange::None),
        1 => any::<usize>().prop_map(NameChange::FlipCase),
        1 => (any::<usize>(), select(vec!['а', 'е', 'о', 'і', 'Ｅ', 'ı', 'ſ', '\u{200b}', '\u{0}']))
            .prop_map(|(at, c)| NameChange::LookAlike(at, c)),
        1 => (any::<usize>(), select(vec![" ", "\t", "\n", ".", "/", "*", ":", "%2F", "\u{a0}"]))
            .prop_map(|(at, s)| NameChange::Insert(at, s)),
        1 => any::<usize>().prop_map(NameChange::Truncate),
        1 => name_part().prop_map(NameChange::Prefix),
        1 => name_part().prop_map(NameChange::Suffix),
    ]
}

fn change(name: &str, how: &NameChange) -> String {
    let chars: Vec<char> = name.chars().collect();
    let at = |i: usize| if chars.is_empty() { 0 } else { i % chars.len() };
    match how {
        NameChange::None => name.to_owned(),
        NameChange::FlipCase(i) => chars
            .iter()
            .enumerate()
            .map(|(j, c)| {
                if j == at(*i) {
                    if c.is_uppercase() {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                } else {
                    *c
                }
            })
            .collect(),
        NameChange::LookAlike(i, c) => chars
            .iter()
            .enumerate()
            .map(|(j, old)| if j == at(*i) { *c } else { *old })
            .collect(),
        NameChange::Insert(i, s) => {
            let at = at(*i);
            let (before, after) = chars.split_at(at);
            format!(
                "{}{s}{}",
                before.iter().collect::<String>(),
                after.iter().collect::<String>()
            )
        }
        NameChange::Truncate(i) => chars[..at(*i)].iter().collect(),
        NameChange::Prefix(p) => format!("{p}{name}"),
        NameChange::Suffix(s) => format!("{name}{s}"),
    }
}

/// How the reference is written: a name, a partial ARN or a full ARN, each part
/// start's own or another.
#[derive(Debug, Clone)]
enum Form {
    Name,
    Partial {
        account: &'static str,
    },
    Full {
        partition: &'static str,
        region: &'static str,
        account: &'static str,
        service: &'static str,
        resource: &'static str,
    },
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![
        2 => Just(Form::Name),
        1 => select(ACCOUNTS.to_vec()).prop_map(|account| Form::Partial { account }),
        3 => (
            select(PARTITIONS.to_vec()),
            select(REGIONS.to_vec()),
            select(ACCOUNTS.to_vec()),
            select(vec!["lambda", "lambda", "lambda", "Lambda", "s3"]),
            select(vec!["function", "function", "function", "Function", "layer"]),
        )
            .prop_map(|(partition, region, account, service, resource)| Form::Full {
                partition,
                region,
                account,
                service,
                resource,
            }),
    ]
}

fn qualifier() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        6 => Just(None),
        3 => select(vec!["live", "3", "$LATEST", "", "+15555550123", "a:b", "prod env"])
            .prop_map(|q| Some(q.to_owned())),
        1 => (0usize..500).prop_map(|n| Some("q".repeat(n))),
    ]
}

/// Whole-text changes: white space around it, doubled colons.
fn wrapping() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop_oneof![
        8 => Just(("", "")),
        1 => select(vec![(" ", ""), ("", " "), ("", "\n"), ("\t", ""), ("", ":"), (":", "")]),
    ]
}

fn reference(name: String, form: &Form, own: Option<&Own>, qualifier: &Option<String>) -> String {
    // Mostly, the ARN's parts are start's own: the case that must pass.
    let with_qualifier = match qualifier {
        Some(q) => format!("{name}:{q}"),
        None => name,
    };
    match form {
        Form::Name => with_qualifier,
        Form::Partial { account } => format!("{account}:function:{with_qualifier}"),
        Form::Full {
            partition,
            region,
            account,
            service,
            resource,
        } => match own {
            Some(own) if account.len() % 2 == 0 => format!(
                "arn:{}:{service}:{}:{}:{resource}:{with_qualifier}",
                own.partition, own.region, own.account
            ),
            _ => {
                format!("arn:{partition}:{service}:{region}:{account}:{resource}:{with_qualifier}")
            }
        },
    }
}

#[derive(Debug, Clone)]
struct Case {
    patterns: Vec<String>,
    own: Option<Own>,
    target: String,
}

fn case() -> impl Strategy<Value = Case> {
    (
        vec(pattern(), 1..4),
        own(),
        any::<usize>(),
        vec(name_part(), 3),
        prop_oneof![4 => Just(None), 1 => matching("[a-zA-Z0-9_-]{1,70}").prop_map(Some)],
        name_change(),
        form(),
        qualifier(),
        wrapping(),
    )
        .prop_map(
            |(patterns, own, which, fills, random, how, form, qualifier, (before, after))| {
                // Mostly a name that some pattern matches, then changed.
                let name =
                    random.unwrap_or_else(|| filled(&patterns[which % patterns.len()], &fills));
                let name = change(&name, &how);
                let target = reference(name, &form, own.as_ref(), &qualifier);
                Case {
                    patterns,
                    own,
                    target: format!("{before}{target}{after}"),
                }
            },
        )
}

#[test]
fn the_code_s_glob_is_the_textbook_one() {
    let text = prop_oneof![
        matching("[a-c*-]{0,12}"),
        (vec(name_part(), 1..4), vec(name_part(), 3))
            .prop_map(|(parts, fills)| filled(&parts.join("*"), &fills)),
    ];
    run("glob", (pattern(), text), |(pattern, text)| {
        prop_assert_eq!(
            glob_match(&pattern, &text),
            reference_glob(&pattern, &text),
            "{:?} against {:?}",
            pattern,
            text
        );
        Ok(())
    });
}

#[test]
fn a_reference_passes_only_when_it_names_an_allowed_function_of_start_s_own() {
    run("references", case(), |case| {
        let allow = AllowList::new(case.patterns.clone());
        let own = case
            .own
            .as_ref()
            .map(|own| FunctionRef::parse(&own.arn()).expect("start's own ARN parses"));
        let expected = allowed(&case.patterns, case.own.as_ref(), &case.target);
        match allow.check(&case.target, own.as_ref()) {
            Ok(function) => {
                prop_assert_eq!(
                    Some(function.name.as_str()),
                    expected,
                    "{:?} passed",
                    case.target
                );
                prop_assert_eq!(function.qualifier, None);
            }
            Err(refused) => {
                prop_assert_eq!(expected, None, "{:?} refused: {}", case.target, refused);
                // A refusal goes into the run's cause and the log: bounded, and
                // never more of the reference than a valid name and qualifier.
                let text = refused.to_string();
                prop_assert!(text.len() <= 300, "{} bytes", text.len());
                prop_assert!(!text.contains("5555550123"), "{}", text);
                prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
            }
        }
        Ok(())
    });
}

#[test]
fn the_reference_allows_what_it_should() {
    // The reference itself, on the cases that matter.
    let patterns = ["dev-rules-engine-integration*".to_owned()];
    let own = Own {
        partition: "aws",
        region: "eu-west-2",
        account: "123456789012",
    };
    let name = "dev-rules-engine-integrationEcho";
    for ok in [
        name.to_owned(),
        format!("123456789012:function:{name}"),
        format!("arn:aws:lambda:eu-west-2:123456789012:function:{name}"),
    ] {
        assert_eq!(allowed(&patterns, Some(&own), &ok), Some(name), "{ok}");
    }
    for refused in [
        format!("{name}:live"),
        format!("999999999999:function:{name}"),
        format!("arn:aws-cn:lambda:eu-west-2:123456789012:function:{name}"),
        format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
        format!(" {name}"),
        "dev-rules-engine-integratioN".to_owned(),
    ] {
        assert_eq!(allowed(&patterns, Some(&own), &refused), None, "{refused}");
    }
    assert!(reference_glob("a*b*c", "a-x-b-y-c"));
    assert!(!reference_glob("a*bc", "abcbc-"));
    assert!(reference_glob("*", ""));
    assert!(!reference_glob("", "a"));
}
