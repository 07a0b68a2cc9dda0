//! Older writers: integration functions (and a start) written for the original
//! Rules Engine, which write the status item with a bare put, no run
//! attributes and no condition. The stream shows each such put with the item
//! it replaced, and the consumer writes back what the put took away:
//!
//! - over an open run of ours (the original's `RUN` over our `START`): the
//!   run's identity, so the run stays in the pending-runs index (sweepable)
//!   and is measured with its run id, function and duration;
//! - over a finished run (a late `DONE` or `ERROR` after `TIMEOUT`): the
//!   status the caller was told, with its cause and end, the late output or
//!   cause kept in `IntegrationLateFinish`, counted as `LateFinishes`;
//! - a run that never named itself (opened by an older start) is measured
//!   with what the state holds: `CurrentRule_functionName`,
//!   `IntegrationStart`, the end.
//!
//! Every repair is one transaction guarded by what it read (the status, the
//! put's `Expiry`, the run's `IntegrationStart`), so it lands on the write it
//! saw and never on a newer run. docs/design.md ("Older writers") says why
//! this way, and what it cannot prevent.
//!
//! (Over 400 lines, not split by concern here: the consumer's read → decide →
//! act redesign, the issue "The stream consumer reads, decides once, and
//! acts", replaces this module's decisions with one decision table; a split
//! now would move code that redesign deletes.)

use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde_json::json;
use shared::{
    keys::{
        FUNCTION_NAME, INTEGRATION_END, INTEGRATION_ERROR_CAUSE, INTEGRATION_LATE_FINISH,
        INTEGRATION_START, INTEGRATION_STRIPPED_RUN, OUTPUT_KEY, TIMEOUT_CAUSE,
    },
    store::{Conditional, Item, Repair},
    table,
    time::{format_rules_engine, from_epoch_ms, parse_rules_engine, to_epoch_ms},
    ContactId, IntegrationStatus, ItemChange, RunId, StoreError,
};

use crate::{
    emit,
    process::Outcome,
    record::{run_key, status_image, Completion, OlderWrite, StatusImage},
    stamp::{MEASURED_BY, MEASURED_RUNS},
    Consumer,
};

/// The largest late output moved into `IntegrationLateFinish`: under
/// DynamoDB's 400 KB item, with room for the JSON escaping of its text.
const MAX_KEPT_OUTPUT_BYTES: usize = 150 * 1024;

/// How often a repair is tried again after the item moved under it (another
/// write landed between the read and the repair).
const REPAIR_ATTEMPTS: u32 = 3;

/// What putting a run's identity back came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Adoption {
    /// Written back, by this delivery.
    Adopted,
    /// The item names the run already (an earlier delivery put it back).
    Named,
    /// The item or `IntegrationStart` belongs to a newer run now.
    Newer,
    /// The item moved on to a finish past the run's deadline: whether one of
    /// ours timed the run out between the two, only that finish's own record
    /// tells.
    FinishedLate,
    Gone,
}

/// A state item's `Value` and `Expiry`, as read.
struct Written {
    value: String,
    expiry: Option<i64>,
}

impl Consumer {
    /// Repairs (or measures) what a write without run attributes did.
    pub(crate) async fn older(
        &self,
        contact: &ContactId,
        write: &OlderWrite,
        sequence: &str,
        created: Option<DateTime<Utc>>,
    ) -> Result<Outcome, StoreError> {
        match write {
            OlderWrite::Stripped { run, write } => {
                self.stripped(contact, run, write, sequence, created).await
            }
            OlderWrite::Unnamed { write, over } => {
                self.unnamed(contact, write, over.as_ref(), sequence, created)
                    .await
            }
            OlderWrite::Late {
                told,
                told_item,
                late,
            } => self.late(contact, told, told_item, late).await,
        }
    }

    /// A put that replaced an open run of ours: its identity back, then, if
    /// the put finished the run, its completion.
    async fn stripped(
        &self,
        contact: &ContactId,
        run: &StatusImage,
        write: &StatusImage,
        sequence: &str,
        created: Option<DateTime<Utc>>,
    ) -> Result<Outcome, StoreError> {
        let adoption = self.adopt(contact, run, write).await?;
        tracing::info!(contact_id = %contact, run = run.run_id.as_ref().map(|r| r.as_str()), ?adoption, "RUN_IDENTITY_RESTORED");
        if write.status.is_open() {
            return Ok(match adoption {
                Adoption::Adopted => Outcome::Adopted,
                Adoption::Named => Outcome::Ignored("the run's identity is back already"),
                Adoption::Newer => Outcome::Ignored("a newer run holds the contact"),
                Adoption::FinishedLate => {
                    self.keep_aside(contact, run, write).await?;
                    Outcome::Ignored(
                        "a later finish past the deadline, left to its own record (the run's identity kept aside for it)",
                    )
                }
                Adoption::Gone => Outcome::Ignored("status item removed"),
            });
        }
        let ended = match write.ended_at {
            Some(ended) => Some(ended),
            None => self.written_end(contact, write.expiry).await?.or(created),
        };
        let run_id = run.run_id.clone();
        let completion = Completion {
            key: run_key(run_id.as_ref(), sequence),
            item_run: run_id.clone(),
            run_id,
            status: write.status,
            function_name: run.function_name.clone(),
            duration: between(run.started_at, ended),
            swept: write.swept,
        };
        self.complete(contact, &completion).await
    }

    /// A run that never named itself in its records finished: measured with
    /// the identity an earlier repair put on this very write, or else with
    /// what the state holds.
    async fn unnamed(
        &self,
        contact: &ContactId,
        write: &StatusImage,
        over: Option<&StatusImage>,
        sequence: &str,
        created: Option<DateTime<Utc>>,
    ) -> Result<Outcome, StoreError> {
        let mut current = self.current_status(contact).await?;
        if let Some(named) = self
            .kept_aside(contact, write, over, current.as_ref())
            .await?
        {
            current = Some(named);
        }
        if current
            .as_ref()
            .is_some_and(|current| current.undone.contains(&write.put_key()))
        {
            return Ok(Outcome::Ignored("a late put, undone already"));
        }
        // Named by an earlier record's repair of this very put.
        let named = current.filter(|current| {
            current.run_id.is_some()
                && current.repaired
                && current.status == write.status
                && current.expiry == write.expiry
        });
        // Known by its record whatever names it later, so a replay finds its mark.
        let key = run_key(None, sequence);
        let completion = match named {
            Some(current) => Completion {
                key,
                item_run: current.run_id.clone(),
                run_id: current.run_id,
                status: write.status,
                function_name: current.function_name,
                duration: between(current.started_at, current.ended_at),
                swept: current.swept,
            },
            None => {
                let state = self.store.load_state(contact).await?;
                let time = |key: &str| {
                    state
                        .get_str(key)
                        .and_then(|text| parse_rules_engine(text).ok())
                };
                let ended = match write.ended_at {
                    Some(ended) => Some(ended),
                    None => self.written_end(contact, write.expiry).await?.or(created),
                };
                Completion {
                    key,
                    item_run: None,
                    run_id: None,
                    status: write.status,
                    function_name: state.get_str(FUNCTION_NAME).map(str::to_owned),
                    duration: between(time(INTEGRATION_START), ended),
                    swept: write.swept,
                }
            }
        };
        self.complete(contact, &completion).await
    }

    /// Keeps `run`'s identity aside when the put `write` that took it was
    /// followed by a finish past the deadline before the consumer could put
    /// it back ([`Adoption::FinishedLate`]): the finish's own record tells
    /// whether it came straight after `write` (its old image is `write`) and
    /// then names the run with it ([`Consumer::kept_aside`]).
    async fn keep_aside(
        &self,
        contact: &ContactId,
        run: &StatusImage,
        write: &StatusImage,
    ) -> Result<(), StoreError> {
        let kept = json!({
            "RunId": run.run_id.as_ref().map(|id| id.to_string()),
            "StartedAt": run.started_at.map(to_epoch_ms),
            "Deadline": run.deadline,
            "FunctionName": run.function_name,
            "StrippedBy": write.put_key(),
        });
        let change = ItemChange::put(INTEGRATION_STRIPPED_RUN, kept.to_string());
        self.store.write(contact, &[change]).await
    }

    /// For a finish `write` straight over the put that stripped a run
    /// (`over`), whose identity [`Consumer::keep_aside`] kept: that identity
    /// put on the finish, which is still `current`, and the item as it is
    /// then. `None` when nothing was kept for that put or the item moved on.
    async fn kept_aside(
        &self,
        contact: &ContactId,
        write: &StatusImage,
        over: Option<&StatusImage>,
        current: Option<&StatusImage>,
    ) -> Result<Option<StatusImage>, StoreError> {
        let (Some(over), Some(current)) = (over, current) else {
            return Ok(None);
        };
        let this_write = current.run_id.is_none()
            && current.status == write.status
            && current.expiry == write.expiry;
        if !(over.bare && over.status.is_open() && this_write) {
            return Ok(None);
        }
        let kept = self
            .store
            .raw_item(contact, INTEGRATION_STRIPPED_RUN)
            .await?;
        let Some(kept) = written(kept.as_ref())
            .and_then(|kept| serde_json::from_str::<serde_json::Value>(&kept.value).ok())
        else {
            return Ok(None);
        };
        if kept["StrippedBy"].as_str() != Some(over.put_key().as_str()) {
            return Ok(None);
        }
        let Some(run_id) = kept["RunId"].as_str().and_then(|id| RunId::parse(id).ok()) else {
            return Ok(None);
        };
        let run = StatusImage {
            run_id: Some(run_id),
            started_at: kept["StartedAt"].as_i64().and_then(from_epoch_ms),
            deadline: kept["Deadline"].as_i64(),
            function_name: kept["FunctionName"].as_str().map(str::to_owned),
            ..over.clone()
        };
        let ended = match current.ended_at {
            Some(ended) => Some(ended),
            None => self.finish_end(contact, current).await?,
        };
        let cause = self.error_cause(contact, current).await?;
        let repair = Repair {
            status: self.adoption(contact, &run, current, ended, cause),
            changes: vec![ItemChange::delete(INTEGRATION_STRIPPED_RUN)],
            ..Repair::default()
        };
        if !self.store.repair(contact, repair).await? {
            return Ok(None);
        }
        tracing::info!(contact_id = %contact, run = run.run_id.as_ref().map(|r| r.as_str()), "RUN_IDENTITY_RESTORED_FROM_ASIDE");
        self.current_status(contact).await
    }

    /// Puts `run`'s identity back on the contact's status item, on the put
    /// `write` or on what the older writer put there since (its finish, when
    /// the consumer reads the stream late), as long as no newer run began: the
    /// item names no run and `IntegrationStart` is still this run's.
    ///
    /// A finish that came after `write` and past the run's deadline is left
    /// alone: a timeout of ours may lie between the two, and then the finish
    /// is late, which its own record shows (and undoes).
    async fn adopt(
        &self,
        contact: &ContactId,
        run: &StatusImage,
        write: &StatusImage,
    ) -> Result<Adoption, StoreError> {
        let started = run.started_at.map(format_rules_engine);
        for _ in 0..REPAIR_ATTEMPTS {
            let Some(current) = self.current_status(contact).await? else {
                return Ok(Adoption::Gone);
            };
            if current.run_id.is_some() {
                return Ok(if current.run_id == run.run_id {
                    Adoption::Named
                } else {
                    Adoption::Newer
                });
            }
            let ended = match current.ended_at {
                None => self.finish_end(contact, &current).await?,
                Some(_) => None,
            };
            let this_write = current.status == write.status && current.expiry == write.expiry;
            if current.status == IntegrationStatus::Start && !this_write {
                // The original start's new run: not this one.
                return Ok(Adoption::Newer);
            }
            let past_deadline =
                |end: DateTime<Utc>| run.deadline.is_some_and(|d| to_epoch_ms(end) >= d);
            if current.status.is_terminal()
                && !this_write
                && ended.or(current.ended_at).is_none_or(past_deadline)
            {
                return Ok(Adoption::FinishedLate);
            }
            let cause = self.error_cause(contact, &current).await?;
            let repair = Repair {
                status: self.adoption(contact, run, &current, ended, cause),
                unchanged: started
                    .iter()
                    .map(|text| (INTEGRATION_START.to_owned(), text.clone()))
                    .collect(),
                ..Repair::default()
            };
            if self.store.repair(contact, repair).await? {
                return Ok(Adoption::Adopted);
            }
            let start_now = self.store.raw_item(contact, INTEGRATION_START).await?;
            if started.is_some() && written(start_now.as_ref()).map(|w| w.value) != started {
                return Ok(Adoption::Newer);
            }
        }
        Ok(Adoption::Newer)
    }

    /// The update that names `run` on the `current` item again: its run
    /// attributes, the pending-runs index while it is open, its end once finished.
    fn adoption(
        &self,
        contact: &ContactId,
        run: &StatusImage,
        current: &StatusImage,
        ended: Option<DateTime<Utc>>,
        cause: Option<String>,
    ) -> Conditional {
        let mut update = Update::default();
        let now = to_epoch_ms(self.store.clock().now());
        update.set(table::REPAIRED_AT, AttributeValue::N(now.to_string()));
        if let Some(id) = &run.run_id {
            update.set(table::RUN_ID, AttributeValue::S(id.to_string()));
        }
        if let Some(started) = run.started_at {
            update.set(table::STARTED_AT, number(to_epoch_ms(started)));
        }
        if let Some(deadline) = run.deadline {
            update.set(table::DEADLINE, number(deadline));
        }
        if let Some(name) = &run.function_name {
            update.set(table::FUNCTION_NAME, AttributeValue::S(name.clone()));
        }
        if current.status.is_open() {
            let shard = table::pending_shard(contact.as_str());
            update.set(table::PENDING_SHARD, number(i64::from(shard)));
        }
        if let Some(ended) = ended {
            update.set(table::ENDED_AT, number(to_epoch_ms(ended)));
        }
        if let Some(cause) = cause {
            update.set(table::CAUSE, AttributeValue::S(cause));
        }
        update.add_measured(&run.measured_runs);
        update.unchanged_since(current)
    }

    /// A put that landed on a finished run: the status the caller was told
    /// back, with its cause and end; what the put brought kept aside.
    async fn late(
        &self,
        contact: &ContactId,
        told: &StatusImage,
        told_item: &Item,
        record_late: &StatusImage,
    ) -> Result<Outcome, StoreError> {
        for _ in 0..REPAIR_ATTEMPTS {
            let Some(current) = self.current_status(contact).await? else {
                return Ok(Outcome::Ignored("status item removed"));
            };
            if current.undone.contains(&record_late.put_key()) {
                return Ok(Outcome::Ignored("the late write is undone already"));
            }
            // The put to undo: this record's, or a later one of the same
            // writer over it (its finish after a late RUN, say), not yet
            // undone, with at most the consumer's marks added since.
            let standing = current.marked_put
                && current.status != IntegrationStatus::Start
                && current.expiry.unwrap_or_default() >= record_late.expiry.unwrap_or_default();
            if !standing {
                tracing::warn!(contact_id = %contact, late = %record_late.status, "LATE_WRITE_REPLACED_BEFORE_UNDONE");
                return Ok(Outcome::Ignored(
                    "a newer write replaced the late one before it was undone",
                ));
            }
            let late = &current;
            let state = self.store.load_state(contact).await?;
            let mut undone = vec![late.put_key(), record_late.put_key()];
            undone.dedup();
            let (repair, finished_at) = self
                .undo(
                    contact,
                    told,
                    told_item,
                    late,
                    &undone,
                    state.get_str(OUTPUT_KEY),
                )
                .await?;
            if !self.store.repair(contact, repair).await? {
                continue;
            }
            let now = self.store.clock().now();
            let stood = finished_at.and_then(|at| (now - at).to_std().ok());
            let function = told
                .function_name
                .as_deref()
                .or(state.get_str(FUNCTION_NAME));
            tracing::warn!(contact_id = %contact, run = told.run_id.as_ref().map(|r| r.as_str()), late = %late.status, told = %told.status, stood_ms = stood.map(|s| s.as_millis() as u64), "LATE_WRITE_UNDONE");
            if late.status.is_terminal() {
                let finish = emit::LateFinish {
                    run: told.run_id.as_ref(),
                    function_name: function,
                    late: late.status,
                    told: told.status,
                    stood,
                };
                self.emit(emit::late_finish(now, contact, &finish));
            }
            let late = late.status;
            return Ok(Outcome::LateUndone { late });
        }
        Ok(Outcome::Ignored(
            "the state kept moving; the late write was left",
        ))
    }

    /// The repair undoing `late`, and when the late writer finished (its
    /// `IntegrationEnd`), if it says.
    async fn undo(
        &self,
        contact: &ContactId,
        told: &StatusImage,
        told_item: &Item,
        late: &StatusImage,
        undone: &[String],
        output_key: Option<&str>,
    ) -> Result<(Repair, Option<DateTime<Utc>>), StoreError> {
        let mut update = Update::default();
        update.set(table::VALUE, AttributeValue::S(told.status.as_str().into()));
        let now = to_epoch_ms(self.store.clock().now());
        update.set(table::REPAIRED_AT, AttributeValue::N(now.to_string()));
        for (name, value) in told_item {
            let kept = [
                table::CONTACT_ID,
                table::WHAT,
                table::VALUE,
                table::EXPIRY,
                table::REPAIRED_AT,
                table::PENDING_SHARD,
                table::UNDONE_PUTS,
                MEASURED_RUNS,
                MEASURED_BY,
            ];
            if !kept.contains(&name.as_str()) {
                update.set(name, value.clone());
            }
        }
        update.add_measured(&told.measured_runs);
        update.add(table::UNDONE_PUTS, undone);
        let mut repair = Repair {
            status: update.unchanged_since(late),
            ..Repair::default()
        };
        let cause = match told.status {
            IntegrationStatus::Timeout => {
                Some(ItemChange::put(INTEGRATION_ERROR_CAUSE, TIMEOUT_CAUSE))
            }
            // An ERROR without its cause kept (an older writer's): leave the cause be.
            IntegrationStatus::Error => told
                .cause
                .as_deref()
                .map(|cause| ItemChange::put(INTEGRATION_ERROR_CAUSE, cause)),
            _ => Some(ItemChange::delete(INTEGRATION_ERROR_CAUSE)),
        };
        repair.changes.extend(cause);
        // What the late put wrote beside the status, in the same batch (the same Expiry).
        let late_end = self
            .written_with(contact, INTEGRATION_END, late.expiry)
            .await?;
        let finished_at = late_end
            .as_deref()
            .and_then(|end| parse_rules_engine(end).ok());
        if let Some(ended) = told.ended_at {
            repair
                .changes
                .push(ItemChange::put(INTEGRATION_END, format_rules_engine(ended)));
        }
        let mut kept = json!({
            "Status": late.status.as_str(),
            "ToldStatus": told.status.as_str(),
            "FinishedAt": late_end,
        });
        match late.status {
            IntegrationStatus::Done if told.status != IntegrationStatus::Done => {
                if let Some(key) = output_key {
                    if let Some(output) = self.written_with(contact, key, late.expiry).await? {
                        kept["OutputKey"] = key.into();
                        if output.len() < MAX_KEPT_OUTPUT_BYTES {
                            let expiry = late.expiry.unwrap_or_default();
                            repair.remove_if_expiry.push((key.to_owned(), expiry));
                            kept["Output"] = output.into();
                        } else {
                            // Too large to move into an item beside it: left where
                            // it was written, and said so.
                            kept["OutputLeftInPlace"] = output.len().into();
                        }
                    }
                }
            }
            IntegrationStatus::Error => {
                let cause = self
                    .written_with(contact, INTEGRATION_ERROR_CAUSE, late.expiry)
                    .await?;
                kept["Cause"] = cause.into();
            }
            _ => {}
        }
        if late.status.is_terminal() {
            repair
                .changes
                .push(ItemChange::put(INTEGRATION_LATE_FINISH, kept.to_string()));
        }
        Ok((repair, finished_at))
    }

    /// The status item as it is now, read consistently.
    async fn current_status(&self, contact: &ContactId) -> Result<Option<StatusImage>, StoreError> {
        let Some(item) = self.store.raw_status(contact).await? else {
            return Ok(None);
        };
        status_image(item.into(), &|_| "its attributes cannot be read".to_owned())
            .map(Some)
            .map_err(|reason| StoreError::Malformed {
                contact_id: contact.clone(),
                what: shared::keys::INTEGRATION_STATUS.into(),
                reason,
            })
    }

    /// What the older writer wrote to `what` in the same put as a status
    /// (the same batch, so the same `Expiry`); `None` if it wrote nothing
    /// there, or another write has replaced it since.
    async fn written_with(
        &self,
        contact: &ContactId,
        what: &str,
        expiry: Option<i64>,
    ) -> Result<Option<String>, StoreError> {
        let item = self.store.raw_item(contact, what).await?;
        Ok(written(item.as_ref())
            .filter(|written| written.expiry == expiry)
            .map(|written| written.value))
    }

    /// When the older writer's finish `current` ended, for an item that does
    /// not say (`EndedAt`): its `IntegrationEnd`, or now. `None` while open.
    async fn finish_end(
        &self,
        contact: &ContactId,
        current: &StatusImage,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        if !current.status.is_terminal() {
            return Ok(None);
        }
        let end = self.written_end(contact, current.expiry).await?;
        Ok(Some(end.unwrap_or_else(|| self.store.clock().now())))
    }

    /// The cause an older writer's `ERROR` put wrote with it; `None` for
    /// any other status.
    async fn error_cause(
        &self,
        contact: &ContactId,
        current: &StatusImage,
    ) -> Result<Option<String>, StoreError> {
        match current.status {
            IntegrationStatus::Error => {
                self.written_with(contact, INTEGRATION_ERROR_CAUSE, current.expiry)
                    .await
            }
            _ => Ok(None),
        }
    }

    /// When the older writer finished: the `IntegrationEnd` of its put.
    async fn written_end(
        &self,
        contact: &ContactId,
        expiry: Option<i64>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let end = self.written_with(contact, INTEGRATION_END, expiry).await?;
        Ok(end.and_then(|end| parse_rules_engine(&end).ok()))
    }
}

/// An item's `Value` and `Expiry`.
fn written(item: Option<&Item>) -> Option<Written> {
    let item = item?;
    let value = match item.get(table::VALUE) {
        Some(AttributeValue::S(value)) => value.clone(),
        _ => return None,
    };
    let expiry = match item.get(table::EXPIRY) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    };
    Some(Written { value, expiry })
}

fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn between(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Option<Duration> {
    (end? - start?).to_std().ok()
}

/// A repair's update of the status item, built attribute by attribute.
#[derive(Default)]
struct Update {
    set: Vec<String>,
    add: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    fn set(&mut self, name: &str, value: AttributeValue) {
        let i = self.names.len();
        self.names.insert(format!("#a{i}"), name.to_owned());
        self.values.insert(format!(":a{i}"), value);
        self.set.push(format!("#a{i} = :a{i}"));
    }

    /// Adds `keys` to the item's measured runs (a union with what it holds).
    fn add_measured(&mut self, keys: &[String]) {
        self.add(MEASURED_RUNS, keys);
    }

    /// Adds `keys` to the string set `name` (a union with what it holds).
    fn add(&mut self, name: &str, keys: &[String]) {
        if keys.is_empty() {
            return;
        }
        let i = self.names.len();
        self.names.insert(format!("#s{i}"), name.to_owned());
        self.values
            .insert(format!(":s{i}"), AttributeValue::Ss(keys.to_vec()));
        self.add.push(format!("#s{i} :s{i}"));
    }

    /// The update, on condition that the item is still exactly the put
    /// `seen` shows: no run id, the same status, the same `Expiry`.
    fn unchanged_since(mut self, seen: &StatusImage) -> Conditional {
        self.names.insert("#c_run".into(), table::RUN_ID.into());
        self.names.insert("#c_v".into(), table::VALUE.into());
        self.names.insert("#c_exp".into(), table::EXPIRY.into());
        self.values.insert(
            ":c_v".into(),
            AttributeValue::S(seen.status.as_str().into()),
        );
        let expiry = match seen.expiry {
            Some(expiry) => {
                self.values.insert(":c_exp".into(), number(expiry));
                "#c_exp = :c_exp"
            }
            None => "attribute_not_exists(#c_exp)",
        };
        let mut update = format!("SET {}", self.set.join(", "));
        if !self.add.is_empty() {
            update.push_str(&format!(" ADD {}", self.add.join(", ")));
        }
        Conditional {
            update,
            condition: format!("attribute_not_exists(#c_run) AND #c_v = :c_v AND {expiry}"),
            names: self.names,
            values: self.values,
        }
    }
}
