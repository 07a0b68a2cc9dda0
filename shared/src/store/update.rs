//! One builder for every guarded update of an item: the run transitions, the
//! stream consumer's stamps, marks and repairs all say what they `SET`, `ADD`
//! and `REMOVE`, and on what condition, through [`Update`]; no expression is
//! written by hand anywhere else.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

/// An update expression, its condition, and the placeholders both use. Each
/// attribute gets one name placeholder however often it is used, so none is
/// left unused (DynamoDB refuses those).
#[derive(Debug, Clone, Default)]
pub(crate) struct Update {
    set: Vec<String>,
    add: Vec<String>,
    remove: Vec<String>,
    guards: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

/// The expressions of an [`Update`], for the SDK's builders.
pub(crate) struct Expressions {
    pub update: String,
    pub condition: Option<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Update {
    fn name(&mut self, attribute: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, a)| *a == attribute) {
            return placeholder.clone();
        }
        let placeholder = format!("#a{}", self.names.len());
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    pub fn set(mut self, attribute: &str, value: AttributeValue) -> Self {
        let (name, value) = (self.name(attribute), self.value(value));
        self.set.push(format!("{name} = {value}"));
        self
    }

    /// Adds `keys` to the string set `attribute` (a union; nothing when empty).
    pub fn add(mut self, attribute: &str, keys: &[String]) -> Self {
        if !keys.is_empty() {
            let (name, value) = (
                self.name(attribute),
                self.value(AttributeValue::Ss(keys.to_vec())),
            );
            self.add.push(format!("{name} {value}"));
        }
        self
    }

    pub fn remove(mut self, attribute: &str) -> Self {
        let name = self.name(attribute);
        self.remove.push(name);
        self
    }

    /// Only if `attribute` holds `value`.
    pub fn only_if_equal(mut self, attribute: &str, value: AttributeValue) -> Self {
        let (name, value) = (self.name(attribute), self.value(value));
        self.guards.push(format!("{name} = {value}"));
        self
    }

    /// Only if `attribute` holds `value`, or is absent when `value` is `None`.
    pub fn only_if(self, attribute: &str, value: Option<AttributeValue>) -> Self {
        match value {
            Some(value) => self.only_if_equal(attribute, value),
            None => self.only_if_absent(attribute),
        }
    }

    pub fn only_if_absent(mut self, attribute: &str) -> Self {
        let name = self.name(attribute);
        self.guards.push(format!("attribute_not_exists({name})"));
        self
    }

    pub fn only_if_present(mut self, attribute: &str) -> Self {
        let name = self.name(attribute);
        self.guards.push(format!("attribute_exists({name})"));
        self
    }

    /// Only if `attribute` holds one of `values`.
    pub fn only_if_one_of(mut self, attribute: &str, values: Vec<AttributeValue>) -> Self {
        let name = self.name(attribute);
        let values: Vec<String> = values.into_iter().map(|v| self.value(v)).collect();
        self.guards
            .push(format!("{name} IN ({})", values.join(", ")));
        self
    }

    /// Only if the set `attribute` does not hold `key` (or is absent).
    pub fn only_if_lacks(mut self, attribute: &str, key: &str) -> Self {
        let (name, value) = (
            self.name(attribute),
            self.value(AttributeValue::S(key.into())),
        );
        self.guards.push(format!("NOT contains({name}, {value})"));
        self
    }

    pub fn expressions(self) -> Expressions {
        let mut update = Vec::new();
        if !self.set.is_empty() {
            update.push(format!("SET {}", self.set.join(", ")));
        }
        if !self.add.is_empty() {
            update.push(format!("ADD {}", self.add.join(", ")));
        }
        if !self.remove.is_empty() {
            update.push(format!("REMOVE {}", self.remove.join(", ")));
        }
        Expressions {
            update: update.join(" "),
            condition: (!self.guards.is_empty()).then(|| self.guards.join(" AND ")),
            names: self.names,
            values: self.values,
        }
    }
}

/// A number attribute.
pub(crate) fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

pub(crate) fn text(s: impl Into<String>) -> AttributeValue {
    AttributeValue::S(s.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_attribute_has_one_placeholder_and_every_clause_its_keyword() {
        let e = Update::default()
            .set("Value", text("DONE"))
            .add("MeasuredRuns", &["r1".into()])
            .add("Empty", &[])
            .remove("PendingShard")
            .only_if_equal("Value", text("RUN"))
            .only_if_absent("RunId")
            .only_if_lacks("MeasuredRuns", "r1")
            .expressions();
        assert_eq!(e.update, "SET #a0 = :v0 ADD #a1 :v1 REMOVE #a2");
        assert_eq!(
            e.condition.as_deref(),
            Some("#a0 = :v2 AND attribute_not_exists(#a3) AND NOT contains(#a1, :v3)")
        );
        assert_eq!(e.names.len(), 4);
        assert_eq!(e.values.len(), 4);
        assert!(!e.names.values().any(|a| a == "Empty"));
    }

    #[test]
    fn an_update_without_guards_has_no_condition() {
        let e = Update::default().set("Value", text("RUN")).expressions();
        assert_eq!((e.update.as_str(), e.condition), ("SET #a0 = :v0", None));
    }
}
