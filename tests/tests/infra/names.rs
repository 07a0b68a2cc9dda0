//! Every function name the template gives fits Lambda's limit, at the longest
//! values its parameters accept: a name that passes would fail the deploy
//! halfway, after the parameters were accepted.

use crate::template::{of_type, sub_text, template};
use kit::iam::template::Stack;

/// Lambda's limit on a function's name: "If you specify only the function name,
/// it is limited to 64 characters in length" (FunctionName, Lambda API reference).
const FUNCTION_NAME_LIMIT: usize = 64;

/// The longest string a parameter's `AllowedPattern` matches, for the patterns
/// of names: anchors, literals and character classes, each maybe with `{m,n}`,
/// `{n}` or `?`. `None` if it is unbounded (`*`, `+`); a pattern of another form
/// panics, to be taught here.
fn longest_match(pattern: &str) -> Option<usize> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut total = 0;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '^' | '$' => {
                i += 1;
                continue;
            }
            '[' => {
                i = i
                    + chars[i..]
                        .iter()
                        .position(|c| *c == ']')
                        .expect("a closed class")
                    + 1
            }
            '\\' => i += 2,
            '(' | ')' | '|' => panic!("{pattern}: groups and alternatives are not handled"),
            _ => i += 1,
        }
        let atom = match chars.get(i) {
            Some('{') => {
                let close = i + chars[i..]
                    .iter()
                    .position(|c| *c == '}')
                    .expect("a closed {}");
                let bounds: String = chars[i + 1..close].iter().collect();
                i = close + 1;
                let upper = bounds.rsplit(',').next().expect("a bound");
                upper.parse::<usize>().expect("a numeric bound")
            }
            Some('?') => {
                i += 1;
                1
            }
            Some('*' | '+') => return None,
            _ => 1,
        };
        total += atom;
    }
    Some(total)
}

#[test]
fn the_longest_match_of_a_name_pattern_is_its_upper_bound() {
    assert_eq!(longest_match("^[A-Za-z0-9]{1,10}$"), Some(10));
    assert_eq!(longest_match("^[A-Za-z0-9][A-Za-z0-9-]{0,22}$"), Some(23));
    assert_eq!(longest_match("^[a-z]{3}-x?$"), Some(5));
    assert_eq!(longest_match("^[A-Za-z0-9_.-]+$"), None);
}

/// The parameters a `!Sub` text names (not pseudo parameters).
fn parameters_of(text: &str) -> Vec<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .filter(|name| !name.starts_with("AWS::"))
        .collect()
}

#[test]
fn every_function_name_fits_lambdas_limit_at_the_longest_parameters() {
    let template = template();
    let functions = of_type(&template, "AWS::Serverless::Function");
    assert!(functions.len() >= 4, "{} functions", functions.len());

    // Each parameter a name uses, at the longest value it accepts.
    let mut longest: Vec<(String, String)> = Vec::new();
    for (id, function) in &functions {
        let name = sub_text(&function["Properties"]["FunctionName"])
            .unwrap_or_else(|| panic!("{id}: FunctionName is a !Sub"));
        for parameter in parameters_of(name) {
            if longest.iter().any(|(p, _)| *p == parameter) {
                continue;
            }
            let declaration = &template["Parameters"][parameter.as_str()];
            let max_length = declaration["MaxLength"]
                .as_u64()
                .unwrap_or_else(|| panic!("{id}: parameter {parameter} has no MaxLength"));
            let pattern = declaration["AllowedPattern"]
                .as_str()
                .unwrap_or_else(|| panic!("parameter {parameter} has no AllowedPattern"));
            assert_eq!(
                longest_match(pattern),
                Some(max_length as usize),
                "{parameter}: MaxLength and AllowedPattern {pattern} disagree"
            );
            // Every name pattern here accepts letters throughout.
            longest.push((parameter, "a".repeat(max_length as usize)));
        }
    }
    assert!(
        longest.iter().any(|(p, _)| p == "Stage") && longest.iter().any(|(p, _)| p == "Service")
    );

    let given: Vec<(&str, &str)> = longest
        .iter()
        .map(|(p, v)| (p.as_str(), v.as_str()))
        .collect();
    let stack = Stack::new(&template, &given);
    let mut report = Vec::new();
    for (id, function) in &functions {
        let name = stack.resolve(&function["Properties"]["FunctionName"]);
        let name = name.text();
        assert!(
            name.contains(&"a".repeat(10)),
            "{id}: {name} used no parameter"
        );
        report.push(format!("{id}: {} characters", name.len()));
        assert!(
            name.len() <= FUNCTION_NAME_LIMIT,
            "{id}: {name} is {} characters at the parameters' maxima, past Lambda's {FUNCTION_NAME_LIMIT}",
            name.len()
        );
    }
    println!("{}", report.join("\n"));
}
