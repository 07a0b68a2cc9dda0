//! The limits on what the state holds and how long it lives.

use std::time::Duration;

/// Every item written lives this long after its last write (the Rules Engine's TTL).
pub const STATE_TTL: Duration = Duration::from_secs(4 * 60 * 60);

/// A cause longer than this (in bytes) is cut: it is written to state, logged,
/// and read back by Connect, whose whole answer holds 32 KB.
pub const MAX_CAUSE_BYTES: usize = 4 * 1024;

/// DynamoDB's limit on one item: 400 KB, attribute names and values included.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
