//! The state table, defined once. The local stack and the tests create tables
//! from this definition, and a test holds the SAM template to it, so they cannot
//! drift apart.

/// An attribute of a key, with its DynamoDB scalar type (`S` or `N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: &'static str,
    pub kind: &'static str,
}

/// A global secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: &'static str,
    pub partition_key: KeyAttribute,
    pub sort_key: KeyAttribute,
    /// Non-key attributes copied into the index (projection `INCLUDE`).
    pub projected: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDefinition {
    pub partition_key: KeyAttribute,
    pub sort_key: KeyAttribute,
    /// The attribute DynamoDB's TTL reads.
    pub ttl_attribute: &'static str,
    /// The stream's view type.
    pub stream_view: &'static str,
    pub indexes: &'static [IndexDefinition],
}

// Attribute names, every one in this one place: the Rules Engine's, then this
// project's run attributes and the stream consumer's, which it ignores.
pub const CONTACT_ID: &str = "ContactId";
pub const WHAT: &str = "What";
pub const VALUE: &str = "Value";
pub const EXPIRY: &str = "Expiry";
pub const RUN_ID: &str = "RunId";
pub const STARTED_AT: &str = "StartedAt";
pub const DEADLINE: &str = "Deadline";
pub const FUNCTION_NAME: &str = "FunctionName";
pub const ENDED_AT: &str = "EndedAt";
pub const PENDING_SHARD: &str = "PendingShard";
/// The cause of an `ERROR`, kept on the status item too: a legacy writer's
/// late put may delete `IntegrationErrorCause`, and a repair puts it back from here.
pub const CAUSE: &str = "Cause";
/// When the stream consumer last repaired the status item after a legacy
/// writer's put (epoch ms): how the consumer knows its own repair on the stream.
pub const REPAIRED_AT: &str = "RepairedAt";
/// The legacy writers' late puts the stream consumer undid on the status item
/// (string set of `<status>@<expiry>`): how their own records are known as undone.
pub const UNDONE_PUTS: &str = "UndonePuts";
/// Set on the status item by a TIMEOUT that the sweep applied (never by
/// check-timeout), to `sweep` (`keys::SWEEP`).
pub const TIMED_OUT_BY: &str = "TimedOutBy";
// The stream consumer's stamp (docs/design.md, "Measured once").
/// When the item's own run was measured (epoch ms); its presence is the stamp.
pub const MEASURED_AT: &str = "MeasuredAt";
/// The measured duration of the item's own run, when it was known.
pub const MEASURED_DURATION_MS: &str = "MeasuredDurationMs";
/// Keys of the contact's runs already measured (string set).
pub const MEASURED_RUNS: &str = "MeasuredRuns";
/// A token unique to the last stamp or mark written.
pub const MEASURED_BY: &str = "MeasuredBy";

/// The sparse index of open runs. An item is in it only while it has a
/// `PendingShard`, which `start` sets and every finishing transition removes;
/// `Deadline` stays on the item after that, as a run attribute.
pub const PENDING_RUNS_INDEX: &str = "PendingRuns";

/// Open runs are spread over this many index partitions (`PendingShard` 0..N), so
/// a busy contact centre does not write one hot index partition, while a sweep
/// stays a handful of queries.
pub const PENDING_SHARDS: u8 = 4;

pub const STATE_TABLE: TableDefinition = TableDefinition {
    partition_key: KeyAttribute {
        name: CONTACT_ID,
        kind: "S",
    },
    sort_key: KeyAttribute {
        name: WHAT,
        kind: "S",
    },
    ttl_attribute: EXPIRY,
    stream_view: "NEW_AND_OLD_IMAGES",
    indexes: &[IndexDefinition {
        name: PENDING_RUNS_INDEX,
        partition_key: KeyAttribute {
            name: PENDING_SHARD,
            kind: "N",
        },
        sort_key: KeyAttribute {
            name: DEADLINE,
            kind: "N",
        },
        projected: &[RUN_ID, FUNCTION_NAME, STARTED_AT],
    }],
};

impl TableDefinition {
    /// Every key attribute of the table and its indexes, once each, for
    /// `AttributeDefinitions`.
    pub fn key_attributes(&self) -> Vec<KeyAttribute> {
        let mut all = vec![self.partition_key, self.sort_key];
        for index in self.indexes {
            for key in [index.partition_key, index.sort_key] {
                if !all.contains(&key) {
                    all.push(key);
                }
            }
        }
        all
    }
}

/// The index shard of a contact's open run: FNV-1a of the contact id, so the
/// same contact always lands on the same shard.
pub fn pending_shard(contact_id: &str) -> u8 {
    let hash = contact_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    (hash % u64::from(PENDING_SHARDS)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_attributes_are_listed_once_each() {
        let names: Vec<_> = STATE_TABLE
            .key_attributes()
            .iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, [CONTACT_ID, WHAT, PENDING_SHARD, DEADLINE]);
    }

    #[test]
    fn pending_shards_are_stable_and_spread() {
        assert_eq!(pending_shard("contact-1"), pending_shard("contact-1"));
        let mut seen = [0usize; PENDING_SHARDS as usize];
        for i in 0..1000 {
            seen[pending_shard(&format!("c-{i}")) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 150), "uneven spread: {seen:?}");
    }
}
