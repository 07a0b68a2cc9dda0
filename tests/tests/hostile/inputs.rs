//! Generators of hostile input: strings, numbers, keys and values meant to
//! break parsers, and JSON text that is not quite JSON.
//!
//! Personal data is planted as [`PHONE`], often where a parser expects another
//! type, which is where an error message would quote it if it quoted values.

use proptest::{
    collection::{btree_map, vec},
    prelude::*,
    sample::select,
};
use serde_json::{Map, Value};

/// The personal data planted in inputs: a caller's phone number.
pub const PHONE: &str = "+15555550123";

/// Strings matching `pattern`. Compiled once: a bare `&str` strategy compiles its
/// regex again for every case.
pub fn matching(pattern: &str) -> impl Strategy<Value = String> {
    proptest::string::string_regex(pattern).expect("a valid regex")
}

/// Whether `text` (an error's message) echoes the planted personal data.
pub fn leaks(text: &str) -> bool {
    text.contains("5555550123")
}

/// DynamoDB's item limit, for sizing strings around it.
const ITEM_LIMIT: usize = 400 * 1024;

/// Deeply nested JSON text: `[[[…]]]` or `{"a":{"a":…}}`, `depth` levels, with the
/// phone number at the bottom. serde_json stops at 128 levels; the generators
/// go well past it.
pub fn nested_text(depth: usize, objects: bool) -> String {
    let (open, close) = if objects {
        (r#"{"a":"#, "}")
    } else {
        ("[", "]")
    };
    format!("{}\"{PHONE}\"{}", open.repeat(depth), close.repeat(depth))
}

/// A value nested `depth` levels deep, phone number at the bottom.
pub fn nested_value(depth: usize, objects: bool) -> Value {
    let mut value = Value::String(PHONE.into());
    for _ in 0..depth {
        value = if objects {
            Value::Object(Map::from_iter([("a".to_owned(), value)]))
        } else {
            Value::Array(vec![value])
        };
    }
    value
}

/// Text that looks like JSON and is not, or is but is odd: bad escapes, lone
/// surrogates, truncation, numbers out of range, nesting past any limit.
pub fn json_looking_text() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            r#"{"a":"\ud800"}"#,
            r#"["\udc00\ud800"]"#,
            r#"{"a":"\x41"}"#,
            r#"["\u12"]"#,
            r#"["\"]"#,
            r#"{"a":1"#,
            r#"{"a":1}}"#,
            r#"[1,2,]"#,
            r#"{"a":NaN}"#,
            r#"[1e999]"#,
            r#"[-1e999]"#,
            r#"[18446744073709551616]"#,
            r#"{"__proto__":{"polluted":true}}"#,
            r#"{"constructor":{"prototype":{"x":1}}}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"phone":"+15555550123"}"#,
            "[\"\u{0}\"]",
            "{\"a\":\"\n\"}",
            "[]",
            "{}",
            " [ ] ",
            "{ \"a\" : [ 1 , { } ] }",
        ])
        .prop_map(str::to_owned),
        // A megabyte of nesting, rarely: slow to make.
        (0u16..1000).prop_map(|one_in_1000| if one_in_1000 == 0 {
            nested_text(200_000, true)
        } else {
            "[[]]".to_owned()
        }),
        (1usize..400, any::<bool>()).prop_map(|(depth, objects)| nested_text(depth, objects)),
        (100usize..140, any::<bool>()).prop_map(|(depth, objects)| nested_text(depth, objects)),
    ]
}

/// A string meant to be hostile wherever a string goes.
pub fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(PHONE.to_owned()),
        1 => Just(String::new()),
        2 => select(vec![
            "__proto__",
            "constructor",
            "prototype",
            "null",
            "undefined",
            "true",
            "-1",
            "0",
            "DONE",
            "IntegrationStatus",
            " ",
            "\t\n",
            "\u{0}",
            "\u{202e}evil",
            "é🎧",
            "\u{feff}",
            "a.b",
            "..",
        ])
        .prop_map(str::to_owned),
        3 => matching("\\PC{0,24}"),
        2 => matching(".{0,24}"),
        2 => json_looking_text(),
        1 => (0usize..5_000).prop_map(|n| format!("{PHONE}{}", "x".repeat(n))),
        // Around DynamoDB's item limit, rarely: they are slow to make and to parse.
        1 => prop_oneof![
            99 => Just(String::from("small")),
            1 => (ITEM_LIMIT - 64..ITEM_LIMIT + 64).prop_map(|n| "x".repeat(n)),
        ],
    ]
}

/// A number at the edges: zero, negatives, the extremes of the integer types,
/// fractions, and the largest float.
pub fn hostile_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(vec![
            Value::from(0),
            Value::from(-1),
            Value::from(i64::MIN),
            Value::from(i64::MAX),
            Value::from(u64::MAX),
            Value::from(0.5),
            Value::from(-0.0),
            Value::from(1e308),
            Value::from(5555550123_u64),
        ]),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
    ]
}

/// Any value, from scalars at the edges to containers nested past serde_json's
/// own limit. Values that reach a parser come from parsing the invocation's
/// text, which serde_json caps at 128 levels, so nesting stays under it here;
/// text generators go past it.
pub fn hostile_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => hostile_number(),
        6 => hostile_string().prop_map(Value::String),
    ];
    prop_oneof![
        8 => leaf.clone(),
        1 => (1usize..127, any::<bool>()).prop_map(|(depth, objects)| nested_value(depth, objects)),
        2 => leaf.prop_recursive(3, 12, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(Value::Array),
                btree_map(hostile_key(), inner, 0..4)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        }),
    ]
    .boxed()
}

/// An object key meant to confuse: prototype names, empty, personal data, case
/// variants of real field names.
pub fn hostile_key() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "__proto__",
            "constructor",
            "prototype",
            "",
            PHONE,
            "Details",
            "details",
            "ContactData",
            "contactData",
            "ContactId",
            "InitialContactId",
            "Parameters",
            "Keys",
            "NewImage",
            "OldImage",
            "What",
            "Value",
            "S",
            "N",
            "M",
            "NULL",
            "keepWarm",
            "Payload",
            "RunId",
            "OriginalRequest",
        ])
        .prop_map(str::to_owned),
        matching("\\PC{0,12}"),
    ]
}
