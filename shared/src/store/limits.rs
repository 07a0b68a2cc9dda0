//! DynamoDB's size limits, as they bear on writing a run's output: what fits in
//! one item, and how to recognise a write DynamoDB refused as invalid (an item
//! over 400 KB, for one), which no retry can fix.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use super::StoreError;
use crate::ItemChange;

pub use crate::limits::MAX_ITEM_BYTES;

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn cut_to(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The stored size of `change`'s value, in bytes. A value over [`MAX_ITEM_BYTES`]
/// cannot be written; the item's other attributes (keys, expiry) add a few dozen
/// bytes more, so a value just under the limit may still be refused, which
/// [`StoreError::is_refused_as_invalid`] tells.
pub fn value_bytes(change: &ItemChange) -> usize {
    change.value.as_ref().map_or(0, String::len)
}

impl StoreError {
    /// DynamoDB refused the request as invalid (`ValidationException`): an item
    /// too large, an expression it cannot take. The same request will be refused
    /// again, so the caller records the failure instead of retrying.
    pub fn is_refused_as_invalid(&self) -> bool {
        match self {
            StoreError::Request { source, .. } => source.code() == Some("ValidationException"),
            _ => false,
        }
    }

    /// IAM refused the request (`AccessDeniedException`): the function's role
    /// lacks a grant, which no retry brings.
    pub fn is_denied(&self) -> bool {
        match self {
            StoreError::Request { source, .. } => source.code() == Some("AccessDeniedException"),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        assert_eq!(cut_to("short", 10), "short");
        assert_eq!(cut_to("éé", 3), "é");
        assert_eq!(cut_to("éé", 4), "éé");
        assert_eq!(cut_to("abc", 0), "");
    }
}
