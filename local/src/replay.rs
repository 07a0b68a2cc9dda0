//! Replays: saved stream events (the JSON Lambda delivers) fed to the consumer
//! again, with a line per record saying what the consumer did with it.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use serde_json::Value;
use stream_consumer::{Consumer, Outcome};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not JSON")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} holds no stream event (no Records array)")]
    NotAStreamEvent { path: PathBuf },
    #[error("writing the report failed")]
    Write(#[source] std::io::Error),
}

/// How many records came to what.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    pub records: usize,
    pub measured: usize,
    pub failed: usize,
}

/// The saved events at `path`: the file, or every `.json` file of the folder, by name.
pub fn load_events(path: &Path) -> Result<Vec<(PathBuf, Value)>, ReplayError> {
    let read_error = |source| ReplayError::Read {
        path: path.to_owned(),
        source,
    };
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(read_error)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_owned()]
    };
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).map_err(|source| ReplayError::Read {
                path: file.clone(),
                source,
            })?;
            let event: Value = serde_json::from_str(&text).map_err(|source| ReplayError::Json {
                path: file.clone(),
                source,
            })?;
            if !event["Records"].is_array() {
                return Err(ReplayError::NotAStreamEvent { path: file });
            }
            Ok((file, event))
        })
        .collect()
}

/// Feeds each event to the consumer, as one batch each, and writes a line per record.
pub async fn replay(
    consumer: &Consumer,
    events: &[(PathBuf, Value)],
    out: &mut impl Write,
) -> Result<ReplaySummary, ReplayError> {
    let mut summary = ReplaySummary::default();
    for (file, event) in events {
        let records = event["Records"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let report = consumer.stream_batch(records).await;
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        for record in &report.records {
            summary.records += 1;
            match record.outcome {
                Outcome::Measured { .. }
                | Outcome::AbandonedPastDeadline
                | Outcome::AbandonedSuperseded => summary.measured += 1,
                Outcome::Failed(_) => summary.failed += 1,
                _ => {}
            }
            writeln!(
                out,
                "{name} {sequence} contact={contact} run={run}: {outcome}",
                sequence = record.sequence,
                contact = record
                    .contact_id
                    .as_ref()
                    .map(|c| c.as_str())
                    .unwrap_or("-"),
                run = record.run.as_deref().unwrap_or("-"),
                outcome = record.outcome,
            )
            .map_err(ReplayError::Write)?;
        }
        if let Some(sweep) = &report.sweep {
            writeln!(
                out,
                "{name} sweep: {} abandoned run(s) timed out, {} already finished",
                sweep.timed_out, sweep.already_finished
            )
            .map_err(ReplayError::Write)?;
        }
    }
    Ok(summary)
}
