//! Lists every action the template grants a function's role that nothing in
//! the suite used, each with its reason, and fails when that list changes: a
//! grant that became unused is one to remove (or to explain), and one that
//! became used takes its line out of the list.
//!
//! Usage: `iam-unused USAGE_DIR EXPECTED` (scripts/test runs it after the
//! tests, the demo and the reliability run, with the `IAM_USAGE_DIR` they all
//! recorded into, and `tests/fixtures/iam-unused.tsv`). EXPECTED has one line
//! per unused grant: role, statement id, action and the reason, separated by
//! tabs. Exits 0 when the unused grants are exactly those listed, 1 when they
//! differ or nothing was recorded, 2 when it cannot read its inputs.

use std::{collections::BTreeMap, path::PathBuf, process::ExitCode};

use clap::Parser;
use kit::iam::{usage, Policies, Role, LOCAL_ALLOWED_FUNCTIONS};

#[derive(Parser)]
#[command(name = "iam-unused")]
struct Args {
    /// Where the gates recorded the grants they used (`IAM_USAGE_DIR`).
    usage_dir: PathBuf,
    /// The grants expected to be unused, with their reasons.
    expected: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let used = match usage::used(&args.usage_dir) {
        Ok(used) if !used.is_empty() => used,
        Ok(_) => {
            eprintln!(
                "iam-unused: no grant was recorded under {}",
                args.usage_dir.display()
            );
            return ExitCode::from(1);
        }
        Err(err) => {
            eprintln!("iam-unused: {}: {err}", args.usage_dir.display());
            return ExitCode::from(2);
        }
    };
    let expected = match std::fs::read_to_string(&args.expected) {
        Ok(text) => parse_expected(&text),
        Err(err) => {
            eprintln!("iam-unused: {}: {err}", args.expected.display());
            return ExitCode::from(2);
        }
    };
    let policies = Policies::for_stack("state", LOCAL_ALLOWED_FUNCTIONS);
    let mut unused = Vec::new();
    for role in Role::ALL {
        for statement in policies.statements(role).iter().filter(|s| s.allow) {
            for action in &statement.actions {
                let grant = (
                    role.logical_id().to_owned(),
                    statement.sid.clone(),
                    action.clone(),
                );
                if !used.contains(&grant) {
                    unused.push(grant);
                }
            }
        }
    }
    println!(
        "Granted actions nothing in the suite used ({}):",
        unused.len()
    );
    let mut differs = false;
    for grant in &unused {
        match expected.get(grant) {
            Some(reason) => println!("  {} {} {}: {reason}", grant.0, grant.1, grant.2),
            None => {
                differs = true;
                println!(
                    "  {} {} {}: NOT LISTED (remove the grant, or list it with its reason)",
                    grant.0, grant.1, grant.2
                );
            }
        }
    }
    for grant in expected.keys().filter(|g| !unused.contains(g)) {
        differs = true;
        println!(
            "  listed but used now (or no longer granted): {} {} {}",
            grant.0, grant.1, grant.2
        );
    }
    println!("Grants used: {}", used.len());
    if differs {
        eprintln!(
            "iam-unused: the unused grants differ from {}",
            args.expected.display()
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// `role<TAB>sid<TAB>action<TAB>reason` lines; `#` starts a comment.
fn parse_expected(text: &str) -> BTreeMap<usage::Grant, String> {
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let mut fields = line.splitn(4, '\t').map(str::trim);
            let grant = (
                fields.next()?.to_owned(),
                fields.next()?.to_owned(),
                fields.next()?.to_owned(),
            );
            Some((grant, fields.next().unwrap_or_default().to_owned()))
        })
        .collect()
}
