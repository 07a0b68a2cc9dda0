//! `infra/template.yaml` as CloudFormation resolves it for given parameters: a
//! small evaluator of the intrinsic functions the template uses (`Ref`,
//! `Fn::Sub`, `Fn::Join`, `Fn::Split`, `Fn::Select`, `Fn::If` and the condition
//! and rule functions), so that the infrastructure checks can look at the
//! policies, names and rules a stack would get, in a partition, region and
//! account of their choosing, and the local stack can hold each function to
//! its role ([`super::Policies`]).
//!
//! Resources' own values (`!Ref StateTable`, `!GetAtt Role.Arn`) are not known
//! before a deploy: they resolve to `<StateTable>`, `<Role.Arn>`, unless the
//! stack is told a resource's physical name ([`Stack::with_resource`]).

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

/// A resolved value. `NoValue` is `AWS::NoValue`: dropped from the list or
/// mapping that holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Text(String),
    Bool(bool),
    List(Vec<Resolved>),
    Map(BTreeMap<String, Resolved>),
    NoValue,
}

impl Resolved {
    pub fn text(&self) -> &str {
        match self {
            Resolved::Text(text) => text,
            other => panic!("expected a string, found {other:?}"),
        }
    }

    fn truth(&self) -> bool {
        match self {
            Resolved::Bool(b) => *b,
            other => panic!("expected a condition, found {other:?}"),
        }
    }

    /// The strings of a string or a list of them.
    pub fn texts(&self) -> Vec<String> {
        match self {
            Resolved::Text(text) => vec![text.clone()],
            Resolved::List(items) => items.iter().flat_map(Resolved::texts).collect(),
            Resolved::NoValue => Vec::new(),
            other => panic!("expected strings, found {other:?}"),
        }
    }
}

/// A stack of the template: parameter values (the template's defaults unless
/// given) and the pseudo parameters.
pub struct Stack<'a> {
    template: &'a Value,
    parameters: BTreeMap<String, Resolved>,
    resources: BTreeMap<String, String>,
    pub partition: &'static str,
    pub region: &'static str,
    pub account: &'static str,
}

impl<'a> Stack<'a> {
    /// A stack in a partition other than `aws`, so that a hard-coded `arn:aws:`
    /// shows.
    pub fn new(template: &'a Value, given: &[(&str, &str)]) -> Self {
        let declared = template["Parameters"]
            .as_mapping()
            .expect("the template has Parameters");
        for (name, _) in given {
            assert!(
                declared.contains_key(*name),
                "the template has no parameter {name}"
            );
        }
        let parameters = declared
            .iter()
            .map(|(name, declaration)| {
                let name = name.as_str().expect("a parameter name");
                let value = given
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
                    .or_else(|| scalar(&declaration["Default"]))
                    .unwrap_or_default();
                let list = declaration["Type"]
                    .as_str()
                    .is_some_and(|t| t == "CommaDelimitedList" || t.starts_with("List<"));
                let value = if list {
                    Resolved::List(value.split(',').map(|v| Resolved::Text(v.into())).collect())
                } else {
                    Resolved::Text(value)
                };
                (name.to_owned(), value)
            })
            .collect();
        Self {
            template,
            parameters,
            resources: BTreeMap::new(),
            partition: "aws-us-gov",
            region: "us-gov-west-1",
            account: "123456789012",
        }
    }

    /// The stack with `!Ref logical_id` (and `${logical_id}`) resolved to
    /// `physical`, as once the resource exists.
    pub fn with_resource(mut self, logical_id: &str, physical: &str) -> Self {
        self.resources
            .insert(logical_id.to_owned(), physical.to_owned());
        self
    }

    /// A condition of the Conditions section.
    pub fn condition(&self, name: &str) -> bool {
        let definition = &self.template["Conditions"][name];
        assert!(!definition.is_null(), "no condition {name}");
        self.resolve(definition).truth()
    }

    /// The descriptions of the rules' assertions these parameters fail:
    /// CloudFormation refuses the stack with them before it creates anything.
    pub fn failed_rules(&self) -> Vec<String> {
        let Some(rules) = self.template["Rules"].as_mapping() else {
            return Vec::new();
        };
        let mut failed = Vec::new();
        for (_, rule) in rules {
            let applies = match &rule["RuleCondition"] {
                Value::Null => true,
                condition => self.resolve(condition).truth(),
            };
            if !applies {
                continue;
            }
            for assertion in rule["Assertions"].as_sequence().expect("Assertions") {
                if !self.resolve(&assertion["Assert"]).truth() {
                    failed.push(scalar(&assertion["AssertDescription"]).unwrap_or_default());
                }
            }
        }
        failed
    }

    /// The value of a resource's property (or anything else in the template),
    /// as CloudFormation would pass it on.
    pub fn resolve(&self, value: &Value) -> Resolved {
        if let Some((function, argument)) = intrinsic(value) {
            return self.function(&function, argument);
        }
        match value {
            Value::Sequence(items) => Resolved::List(
                items
                    .iter()
                    .map(|item| self.resolve(item))
                    .filter(|item| *item != Resolved::NoValue)
                    .collect(),
            ),
            Value::Mapping(map) => Resolved::Map(
                map.iter()
                    .map(|(key, value)| (scalar(key).expect("a key"), self.resolve(value)))
                    .filter(|(_, value)| *value != Resolved::NoValue)
                    .collect(),
            ),
            Value::Bool(b) => Resolved::Bool(*b),
            other => Resolved::Text(scalar(other).unwrap_or_default()),
        }
    }

    fn function(&self, function: &str, argument: &Value) -> Resolved {
        let args = || argument.as_sequence().expect("a list of arguments");
        let text = |value: &Value| self.resolve(value).text().to_owned();
        let truth = |value: &Value| self.resolve(value).truth();
        match function {
            "Ref" => self.reference(argument.as_str().expect("Ref names something")),
            "Condition" => Resolved::Bool(self.condition(argument.as_str().expect("a name"))),
            "Fn::GetAtt" => match argument {
                Value::String(path) => Resolved::Text(format!("<{path}>")),
                _ => Resolved::Text(format!("<{}.{}>", text(&args()[0]), text(&args()[1]))),
            },
            "Fn::Sub" => match argument {
                Value::String(template) => Resolved::Text(self.substitute(template, &[])),
                _ => {
                    let variables: Vec<(String, String)> = args()[1]
                        .as_mapping()
                        .expect("Fn::Sub's variables")
                        .iter()
                        .map(|(name, value)| (scalar(name).expect("a name"), text(value)))
                        .collect();
                    Resolved::Text(self.substitute(&text(&args()[0]), &variables))
                }
            },
            "Fn::Join" => {
                let parts = self.resolve(&args()[1]).texts();
                Resolved::Text(parts.join(&text(&args()[0])))
            }
            "Fn::Split" => Resolved::List(
                text(&args()[1])
                    .split(&text(&args()[0]))
                    .map(|part| Resolved::Text(part.to_owned()))
                    .collect(),
            ),
            "Fn::Select" => {
                let index: usize = text(&args()[0]).parse().expect("an index");
                match self.resolve(&args()[1]) {
                    Resolved::List(items) => items.get(index).cloned().unwrap_or_else(|| {
                        panic!(
                            "Fn::Select {index} of {} items: the stack fails",
                            items.len()
                        )
                    }),
                    other => panic!("Fn::Select of {other:?}"),
                }
            }
            "Fn::If" => {
                let name = args()[0].as_str().expect("Fn::If names a condition");
                self.resolve(&args()[if self.condition(name) { 1 } else { 2 }])
            }
            "Fn::Equals" => Resolved::Bool(self.resolve(&args()[0]) == self.resolve(&args()[1])),
            "Fn::Not" => Resolved::Bool(!truth(&args()[0])),
            "Fn::And" => Resolved::Bool(args().iter().all(truth)),
            "Fn::Or" => Resolved::Bool(args().iter().any(truth)),
            "Fn::EachMemberEquals" => {
                let wanted = text(&args()[1]);
                Resolved::Bool(
                    self.resolve(&args()[0])
                        .texts()
                        .iter()
                        .all(|m| *m == wanted),
                )
            }
            "Fn::Contains" => {
                let wanted = text(&args()[1]);
                Resolved::Bool(self.resolve(&args()[0]).texts().contains(&wanted))
            }
            other => panic!("the evaluator does not know {other}: teach it"),
        }
    }

    fn reference(&self, name: &str) -> Resolved {
        match name {
            "AWS::NoValue" => Resolved::NoValue,
            "AWS::Partition" => Resolved::Text(self.partition.into()),
            "AWS::Region" => Resolved::Text(self.region.into()),
            "AWS::AccountId" => Resolved::Text(self.account.into()),
            "AWS::StackName" => Resolved::Text("stack".into()),
            _ => match self.parameters.get(name) {
                Some(value) => value.clone(),
                None if self.resources.contains_key(name) => {
                    Resolved::Text(self.resources[name].clone())
                }
                None => {
                    assert!(
                        !self.template["Resources"][name].is_null(),
                        "Ref to {name}, which is neither a parameter nor a resource"
                    );
                    Resolved::Text(format!("<{name}>"))
                }
            },
        }
    }

    /// `${Name}` replaced by a variable, parameter, pseudo parameter or resource.
    fn substitute(&self, template: &str, variables: &[(String, String)]) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("a closed ${...}") + start;
            let name = &rest[start + 2..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some((_, value)) = variables.iter().find(|(n, _)| n == name) {
                out.push_str(value);
            } else if name.contains('.') && !name.starts_with("AWS::") {
                out.push_str(&format!("<{name}>"));
            } else {
                out.push_str(self.reference(name).text());
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// `(function, argument)` of `!Tag argument` or `{"Fn::Tag": argument}`.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let function = match tag {
                "Ref" | "Condition" => tag.to_owned(),
                _ => format!("Fn::{tag}"),
            };
            Some((function, &tagged.value))
        }
        Value::Mapping(map) if map.len() == 1 => {
            let (key, argument) = map.iter().next()?;
            let key = key.as_str()?;
            (key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
                .then(|| (key.to_owned(), argument))
        }
        _ => None,
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
