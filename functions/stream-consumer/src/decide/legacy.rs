//! The rows of the decision about legacy puts (bare puts by integration
//! functions written for the Rules Engine): what the put took or landed on,
//! decided against the contact as it stands now.

use chrono::{DateTime, Utc};
use serde_json::json;
use shared::{
    keys::{
        INTEGRATION_END, INTEGRATION_ERROR_CAUSE, INTEGRATION_START, INTEGRATION_STRIPPED_RUN,
        RULE_FUNCTION_NAME, TIMEOUT_CAUSE,
    },
    store::{ContactNow, Restore, Undo},
    time::{format_rules_engine, from_epoch_ms, parse_rules_engine, to_epoch_ms},
    IntegrationStatus::{Done, Error, Start, Timeout},
    RunId, StatusItem,
};

use super::{between, run_key, Completion, Decision, LateFinish, Seen};

/// The largest late output moved into `IntegrationLateFinish`: under
/// DynamoDB's 400 KB item, with room for the JSON escaping of its text.
pub const MAX_KEPT_OUTPUT_BYTES: usize = 150 * 1024;

/// A legacy put over an open run of ours (`run`): its identity back, on the
/// put or on what the same writer put there since; a completion if it finished.
pub(super) fn stripped(seen: &Seen, run: &StatusItem) -> Decision {
    let write = seen.new;
    let Some(now) = seen.now else {
        return Decision::Read;
    };
    let completion = write.status.is_terminal().then(|| {
        let key = run_key(run.run_id.as_ref(), seen.sequence);
        completion_of(run, key, write, write_end(seen, now), write.swept())
    });
    // Why the identity cannot go back, if it cannot.
    let why = match &now.status {
        None => Err("status item removed"),
        Some(current) if current.run_id.is_some() && current.run_id == run.run_id => {
            Err("the run's identity is back already")
        }
        Some(current) if current.run_id.is_some() => Err("a newer run holds the contact"),
        Some(current) => {
            let this_write = current.status == write.status && current.expiry == write.expiry;
            let (restore, ended) = restore_on(seen, now, current, run.clone());
            let past_deadline = |end: DateTime<Utc>| run.deadline.is_some_and(|d| end >= d);
            let started = run.started_at.map(format_rules_engine);
            if current.status == Start && !this_write {
                // The legacy start's new run: not this one.
                Err("a newer run holds the contact")
            } else if current.status.is_terminal() && !this_write && ended.is_none_or(past_deadline)
            {
                // A timeout of ours may lie between the put and this finish:
                // left to the finish's own record, the identity kept aside for it.
                let Some(completion) = completion else {
                    return Decision::KeepAside(aside(run, write));
                };
                return Decision::Measure(completion);
            } else if started.is_some() && now.value(INTEGRATION_START) != started.as_deref() {
                Err("a newer run holds the contact")
            } else {
                Ok(Restore {
                    start_unchanged: started,
                    ..restore
                })
            }
        }
    };
    match (why, completion) {
        (Ok(restore), then) => Decision::Restore {
            restore: Box::new(restore),
            then,
        },
        (Err(_), Some(completion)) => Decision::Measure(completion),
        (Err(why), None) => Decision::Ignore(why),
    }
}

/// The identity of `run`, kept aside with the put `write` that stripped it.
fn aside(run: &StatusItem, write: &StatusItem) -> String {
    json!({
        "RunId": run.run_id.as_ref().map(|id| id.to_string()),
        "StartedAt": run.started_at.map(to_epoch_ms),
        "Deadline": run.deadline.map(to_epoch_ms),
        "FunctionName": run.function_name,
        "StrippedBy": write.put_key(),
    })
    .to_string()
}

/// A run that never named itself finished (opened by a legacy start, or
/// stripped before its identity could go back): measured with the identity
/// kept aside for it, or an earlier repair put on this very write, or else
/// with what the state holds. Known by its record, so a replay finds its mark.
pub(super) fn unnamed(seen: &Seen) -> Decision {
    let (write, over) = (seen.new, seen.old);
    let Some(now) = seen.now else {
        return Decision::Read;
    };
    let current = now.status.as_ref();
    let key = run_key(None, seen.sequence);
    let this_write = current
        .filter(|c| c.run_id.is_none() && c.status == write.status && c.expiry == write.expiry);
    if let (Some(over), Some(current)) = (over, this_write) {
        if let Some(run) = kept_aside(now, over) {
            let (restore, ended) = restore_on(seen, now, current, run);
            return Decision::Restore {
                then: Some(completion_of(
                    &restore.run,
                    key,
                    write,
                    ended,
                    current.swept(),
                )),
                restore: Box::new(Restore {
                    from_aside: true,
                    ..restore
                }),
            };
        }
    }
    if current.is_some_and(|c| c.undone_puts.contains(&write.put_key())) {
        return Decision::Ignore("a late put, undone already");
    }
    let named = current.filter(|c| {
        c.run_id.is_some()
            && c.repaired_at.is_some()
            && c.status == write.status
            && c.expiry == write.expiry
    });
    Decision::Measure(match named {
        // Named by an earlier record's repair of this very put.
        Some(current) => completion_of(current, key, write, current.ended_at, current.swept()),
        None => {
            let started = now
                .value(INTEGRATION_START)
                .and_then(|t| parse_rules_engine(t).ok());
            Completion {
                key,
                item_run: None,
                run_id: None,
                status: write.status,
                function_name: now.value(RULE_FUNCTION_NAME).map(str::to_owned),
                duration: between(started, write_end(seen, now)),
                swept: write.swept(),
            }
        }
    })
}

/// The run kept aside for the bare open put `over`, if that is the put it names.
fn kept_aside(now: &ContactNow, over: &StatusItem) -> Option<StatusItem> {
    if !(over.is_bare() && over.status.is_open()) {
        return None;
    }
    let kept: serde_json::Value =
        serde_json::from_str(now.value(INTEGRATION_STRIPPED_RUN)?).ok()?;
    if kept["StrippedBy"].as_str() != Some(over.put_key().as_str()) {
        return None;
    }
    let time = |name: &str| kept[name].as_i64().and_then(from_epoch_ms);
    Some(StatusItem {
        run_id: Some(RunId::parse(kept["RunId"].as_str()?).ok()?),
        started_at: time("StartedAt"),
        deadline: time("Deadline"),
        function_name: kept["FunctionName"].as_str().map(str::to_owned),
        ..over.clone()
    })
}

/// A legacy put that landed on a finished run whose status the caller was
/// told (`told`): that status back, what the put brought kept aside.
pub(super) fn late(seen: &Seen, told: &StatusItem) -> Decision {
    let record_late = seen.new;
    let Some(now) = seen.now else {
        return Decision::Read;
    };
    let Some(current) = &now.status else {
        return Decision::Ignore("status item removed");
    };
    if current.undone_puts.contains(&record_late.put_key()) {
        return Decision::Ignore("the late write is undone already");
    }
    // The put to undo: this record's, or a later one of the same writer over
    // it (its finish after a late RUN, say), with at most the consumer's marks.
    let standing = current.is_legacy_put()
        && current.status != Start
        && current.expiry.unwrap_or_default() >= record_late.expiry.unwrap_or_default();
    if !standing {
        return Decision::Ignore("a newer write replaced the late one before it was undone");
    }
    let late = current;
    let mut undone = vec![late.put_key(), record_late.put_key()];
    undone.dedup();
    let written = |what: &str| now.written_with(what, late.expiry);
    let late_end = written(INTEGRATION_END);
    let mut kept = json!({
        "Status": late.status.as_str(),
        "ToldStatus": told.status.as_str(),
        "FinishedAt": late_end,
    });
    let mut remove_output = None;
    if late.status == Done && told.status != Done {
        if let Some((key, output)) = now.output_key().and_then(|key| Some((key, written(key)?))) {
            kept["OutputKey"] = key.into();
            if output.len() < MAX_KEPT_OUTPUT_BYTES {
                remove_output = Some((key.to_owned(), late.expiry.unwrap_or_default()));
                kept["Output"] = output.into();
            } else {
                // Too large to move into an item beside it: left where it was written.
                kept["OutputLeftInPlace"] = output.len().into();
            }
        }
    } else if late.status == Error {
        kept["Cause"] = written(INTEGRATION_ERROR_CAUSE).into();
    }
    let cause = match told.status {
        Timeout => Some(Some(TIMEOUT_CAUSE.to_owned())),
        // An ERROR without its cause kept (a legacy writer's): leave the cause be.
        Error => told.cause.clone().map(Some),
        _ => Some(None),
    };
    let terminal = late.status.is_terminal();
    Decision::Undo {
        undo: Box::new(Undo {
            told: told.clone(),
            late: late.clone(),
            undone,
            cause,
            end: told.ended_at.map(format_rules_engine),
            late_finish: terminal.then(|| kept.to_string()),
            remove_output,
        }),
        finish: terminal.then(|| LateFinish {
            run: told.run_id.clone(),
            function_name: (told.function_name.as_deref())
                .or(now.value(RULE_FUNCTION_NAME))
                .map(str::to_owned),
            late: late.status,
            told: told.status,
            finished_at: late_end.and_then(|end| parse_rules_engine(end).ok()),
        }),
    }
}

/// The completion of `run` (the item that names it) finished by `write` at `ended`.
fn completion_of(
    run: &StatusItem,
    key: String,
    write: &StatusItem,
    ended: Option<DateTime<Utc>>,
    swept: bool,
) -> Completion {
    Completion {
        key,
        item_run: run.run_id.clone(),
        run_id: run.run_id.clone(),
        status: write.status,
        function_name: run.function_name.clone(),
        duration: between(run.started_at, ended),
        swept,
    }
}

/// The repair naming `run` on `current` (a legacy put), and when `current`
/// ended, if it is a finish.
fn restore_on(
    seen: &Seen,
    now: &ContactNow,
    current: &StatusItem,
    run: StatusItem,
) -> (Restore, Option<DateTime<Utc>>) {
    let ended = current
        .ended_at
        .or_else(|| finish_end(now, current, seen.at));
    let restore = Restore {
        run,
        on: current.clone(),
        ended: current.ended_at.is_none().then_some(ended).flatten(),
        cause: written_cause(now, current),
        start_unchanged: None,
        from_aside: false,
    };
    (restore, ended)
}

/// When the record's own write ended: its `EndedAt`, its `IntegrationEnd`,
/// or the record's time.
fn write_end(seen: &Seen, now: &ContactNow) -> Option<DateTime<Utc>> {
    let write = seen.new;
    write
        .ended_at
        .or_else(|| written_end(now, write))
        .or(seen.created)
}

/// When the legacy writer finished `item`, by the `IntegrationEnd` of its put.
fn written_end(now: &ContactNow, item: &StatusItem) -> Option<DateTime<Utc>> {
    let end = now.written_with(INTEGRATION_END, item.expiry)?;
    parse_rules_engine(end).ok()
}

/// When the legacy finish `current` ended, for an item that does not say:
/// its `IntegrationEnd`, or `at`. `None` while open.
fn finish_end(now: &ContactNow, current: &StatusItem, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    current
        .status
        .is_terminal()
        .then(|| written_end(now, current).unwrap_or(at))
}

/// The cause a legacy `ERROR` put wrote with it.
fn written_cause(now: &ContactNow, current: &StatusItem) -> Option<String> {
    let cause = now.written_with(INTEGRATION_ERROR_CAUSE, current.expiry);
    (current.status == Error).then_some(cause?.to_owned())
}
