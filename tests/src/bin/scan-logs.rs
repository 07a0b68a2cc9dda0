//! Searches log files for the personal data of the Connect fixtures: the
//! caller's and the system's addresses (phone numbers) and every contact
//! attribute value. Fails when any is found, and when there was nothing to
//! search, so that an empty log directory cannot pass for a clean one.
//!
//! Usage: `scan-logs FIXTURE_DIR LOG_FILE_OR_DIR...` (scripts/test runs it on the
//! suite's logs, `TEST_LOG_DIR`, and the demo's function logs). Exits 0 when
//! the logs are clean, 1 when personal data or no log line was found, and 2
//! when it cannot search (bad usage, unreadable fixtures or logs).

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::Parser;
use serde_json::Value;

/// Searches log files for the personal data of the Connect event fixtures.
#[derive(Parser)]
#[command(name = "scan-logs")]
struct Args {
    /// The folder of Connect event fixtures whose personal data is searched for.
    #[arg(value_name = "FIXTURE_DIR")]
    fixtures: PathBuf,
    /// Log files, and folders searched through for them.
    #[arg(value_name = "LOG_FILE_OR_DIR", required = true)]
    logs: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let Args { fixtures, logs } = Args::parse();
    let personal = match personal_values(&fixtures) {
        Ok(values) if !values.is_empty() => values,
        Ok(_) => {
            eprintln!(
                "scan-logs: no personal data found in the fixtures of {}",
                fixtures.display()
            );
            return ExitCode::from(2);
        }
        Err(err) => {
            eprintln!(
                "scan-logs: reading the fixtures of {}: {err}",
                fixtures.display()
            );
            return ExitCode::from(2);
        }
    };
    let mut files = Vec::new();
    for log in &logs {
        collect_files(log, &mut files);
    }
    let (mut lines, mut found) = (0usize, 0usize);
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else {
            eprintln!("scan-logs: cannot read {}", file.display());
            return ExitCode::from(2);
        };
        let text = String::from_utf8_lossy(&bytes);
        for (number, line) in text.lines().enumerate() {
            lines += 1;
            for value in personal
                .iter()
                .filter(|value| line.contains(value.as_str()))
            {
                found += 1;
                println!(
                    "personal data in {}:{}: the fixture value {value:?}",
                    file.display(),
                    number + 1
                );
            }
        }
    }
    println!(
        "scan-logs: {} fixture values searched for in {lines} lines of {} log files: {found} found",
        personal.len(),
        files.len()
    );
    if lines == 0 {
        eprintln!("scan-logs: there were no log lines to search");
        return ExitCode::FAILURE;
    }
    if found > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The personal values of every Connect event fixture: endpoint addresses and
/// contact attribute values.
fn personal_values(dir: &Path) -> std::io::Result<BTreeSet<String>> {
    let mut values = BTreeSet::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let event: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
            let data = &event["Details"]["ContactData"];
            for endpoint in ["CustomerEndpoint", "SystemEndpoint"] {
                if let Some(address) = data[endpoint]["Address"].as_str() {
                    values.insert(address.to_owned());
                }
            }
            if let Some(attributes) = data["Attributes"].as_object() {
                values.extend(
                    attributes
                        .values()
                        .filter_map(Value::as_str)
                        .map(str::to_owned),
                );
            }
        }
    }
    // A value too short to be told from ordinary text would only raise noise.
    values.retain(|value| value.len() >= 6);
    Ok(values)
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            entries.sort();
            for entry in entries {
                collect_files(&entry, files);
            }
        }
    } else if path.is_file() {
        files.push(path.to_owned());
    }
}
