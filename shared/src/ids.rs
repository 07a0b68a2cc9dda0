//! Identifiers, parsed at the boundary so the rest of the program never holds an
//! unchecked string.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid identifier. The offending value is never echoed:
/// it came from outside and may be anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} is longer than {max} bytes")]
    TooLong { what: &'static str, max: usize },
    #[error("{what} contains a control character or white space")]
    BadCharacter { what: &'static str },
}

fn check(what: &'static str, value: String, max: usize) -> Result<String, IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { what });
    }
    if value.len() > max {
        return Err(IdError::TooLong { what, max });
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(IdError::BadCharacter { what });
    }
    Ok(value)
}

/// A contact's state key: Connect's `InitialContactId`, so that every leg of a
/// transferred contact shares one state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContactId(String);

impl ContactId {
    /// Connect's ids are 36-character UUIDs; anything up to 256 bytes is taken so
    /// that other channels and test tools can use their own ids.
    pub const MAX_LEN: usize = 256;

    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        check("contact id", value.into(), Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Identifies one integration run of a contact. A new run supersedes the old one;
/// every transition names the run it is for, so a late writer cannot touch a newer run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    pub const MAX_LEN: usize = 128;

    /// A fresh, random run id.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        check("run id", value.into(), Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(value)
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
string_newtype!(ContactId);
string_newtype!(RunId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_contact_id_is_refused_with_a_clear_error() {
        let err = ContactId::parse("").unwrap_err();
        assert_eq!(err.to_string(), "contact id is empty");
    }

    #[test]
    fn ids_with_white_space_or_too_long_are_refused() {
        assert!(matches!(
            ContactId::parse("a b"),
            Err(IdError::BadCharacter { .. })
        ));
        assert!(matches!(
            RunId::parse("r\n"),
            Err(IdError::BadCharacter { .. })
        ));
        let long = "x".repeat(ContactId::MAX_LEN + 1);
        assert!(matches!(
            ContactId::parse(long),
            Err(IdError::TooLong { .. })
        ));
    }

    #[test]
    fn new_run_ids_are_distinct_and_parse_back() {
        let (a, b) = (RunId::new(), RunId::new());
        assert_ne!(a, b);
        assert_eq!(RunId::parse(a.to_string()).unwrap(), a);
    }
}
