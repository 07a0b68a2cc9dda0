//! What the deploy relies on outside the template's resources: the build and
//! the deploy agree on the functions' instruction set, and the documented
//! procedure for an existing Rules Engine table waits for DynamoDB where it must.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::root;
use crate::template::{of_type, template};

#[test]
fn the_instruction_set_is_written_once_in_the_template_for_build_and_deploy() {
    let template = template();
    let architectures: Vec<&str> = template["Globals"]["Function"]["Architectures"]
        .as_sequence()
        .expect("Globals sets the functions' Architectures")
        .iter()
        .map(|value| {
            // A !Ref would be a parameter, which `sam deploy --guided` saves for
            // deploy only: the build would not see it.
            value.as_str().unwrap_or_else(|| {
                panic!("Architectures holds {value:?}: write the instruction set out")
            })
        })
        .collect();
    assert!(
        matches!(architectures.as_slice(), ["x86_64"] | ["arm64"]),
        "{architectures:?}"
    );
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        assert!(
            function["Properties"]["Architectures"].is_null(),
            "{id} sets its own Architectures: set Globals' only"
        );
    }
    let parameters = template["Parameters"].as_mapping().expect("Parameters");
    for (name, _) in parameters {
        let name = name.as_str().unwrap_or_default();
        assert!(!name.contains("Architecture"), "parameter {name}");
    }

    let samconfig = read("infra/samconfig.toml");
    assert!(
        !samconfig.contains("Architecture="),
        "samconfig.toml overrides an Architecture"
    );
    // scripts/check-infra builds and checks the bootstraps for the template's value.
    let check = read("scripts/check-infra");
    assert!(check.contains("template_architecture") && !check.contains("--release --x86-64"));
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The first `sh` block under a heading of a Markdown file, unindented.
fn shell_block(path: &str, heading: &str) -> String {
    let text = read(path);
    let section = text
        .split_once(heading)
        .unwrap_or_else(|| panic!("{path} has no {heading}"))
        .1;
    let start = section.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let block = &section[start..];
    let end = block.find("```").expect("a closed block");
    let indent = block.len() - block.trim_start_matches(' ').len();
    block[..end]
        .lines()
        .map(|line| line.get(indent.min(line.len())..).unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A stand-in for the AWS CLI's `dynamodb update-table` and `describe-table`,
/// as DynamoDB behaves: an update leaves the table UPDATING for a few polls and
/// is refused while it is; a new index is CREATING (backfilling) for longer.
/// Anything else it does not know fails, `aws dynamodb wait` included.
const FAKE_AWS: &str = r#"#!/usr/bin/env bash
set -u
state=$FAKE_AWS_STATE
echo "$*" >>"$state/calls"
get() { cat "$state/$1" 2>/dev/null || printf '%s\n' "$2"; }
poll() { # one poll of a status that settles to ACTIVE
  local left; left=$(get "$1.polls" 0)
  if [ "$left" -gt 0 ]; then echo $((left - 1)) >"$state/$1.polls"; else echo ACTIVE >"$state/$1"; fi
}
[ "${1:-}" = dynamodb ] || { echo "fake aws: unexpected $*" >&2; exit 2; }
case "${2:-}" in
  update-table)
    if [ "$(get table ACTIVE)" != ACTIVE ]; then
      echo "An error occurred (ResourceInUseException) when calling the UpdateTable operation: table is being updated" >&2
      echo "$*" >>"$state/refused"
      exit 254
    fi
    echo UPDATING >"$state/table"; echo 2 >"$state/table.polls"
    case "$*" in *--stream-specification*) echo on >"$state/stream" ;; esac
    case "$*" in *--global-secondary-index-updates*PendingRuns*)
      echo CREATING >"$state/index"; echo 4 >"$state/index.polls" ;;
    esac ;;
  describe-table)
    case "$*" in
      *PendingRuns*IndexStatus*) status=$(get index ''); echo "$status"; [ -z "$status" ] || poll index ;;
      *Table.TableStatus*) get table ACTIVE; poll table ;;
      *Table.LatestStreamArn*)
        get index missing >"$state/index-when-done"
        if [ -f "$state/stream" ]; then echo "arn:aws:dynamodb:eu-west-2:123456789012:table/t/stream/2026"; else echo None; fi ;;
      *) echo "fake aws: unexpected $*" >&2; exit 2 ;;
    esac ;;
  *) echo "fake aws: unexpected $*" >&2; exit 2 ;;
esac
"#;

/// Runs `script` with the stand-in `aws` (and a `sleep` that returns at once)
/// first on PATH; returns whether it succeeded, its output and the state dir.
fn run_with_fake_aws(name: &str, script: &str) -> (bool, String, PathBuf) {
    let dir = std::env::temp_dir().join(format!("infra-deploy-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (bin, state) = (dir.join("bin"), dir.join("state"));
    std::fs::create_dir_all(&bin).expect("a bin dir");
    std::fs::create_dir_all(&state).expect("a state dir");
    write_executable(&bin.join("aws"), FAKE_AWS);
    write_executable(
        &bin.join("sleep"),
        "#!/bin/sh\necho \"$*\" >>\"$FAKE_AWS_STATE/sleeps\"\n",
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .env("PATH", path)
        .env("FAKE_AWS_STATE", &state)
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text, state)
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("writable");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn the_existing_table_procedure_waits_for_the_table_and_the_index_to_be_active() {
    let heading = "### With an existing Rules Engine installation";
    let script = shell_block("docs/design.md", heading);
    assert!(
        !script.contains("wait table-exists"),
        "`aws dynamodb wait table-exists` waits neither for an update nor for an index"
    );

    let (ok, output, state) = run_with_fake_aws("documented", &script);
    assert!(ok, "the documented commands fail:\n{output}");
    let calls = std::fs::read_to_string(state.join("calls")).unwrap_or_default();
    assert_eq!(calls.matches("update-table").count(), 2, "{calls}");
    assert!(
        !state.join("refused").exists(),
        "an update-table was refused:\n{output}"
    );
    assert!(
        state.join("sleeps").exists(),
        "the commands never waited:\n{calls}"
    );
    let index = std::fs::read_to_string(state.join("index-when-done")).unwrap_or_default();
    assert_eq!(
        index.trim(),
        "ACTIVE",
        "the procedure ends (and the deploy follows) before PendingRuns is ACTIVE"
    );
    assert!(
        output.contains("/stream/"),
        "the stream ARN is printed:\n{output}"
    );

    // The stand-in is strict: the same commands without their waits are refused.
    let unwaited: String = script
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            !line.starts_with("wait_active") || line.starts_with("wait_active()")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let (ok, output, state) = run_with_fake_aws("unwaited", &unwaited);
    assert!(
        !ok && state.join("refused").exists(),
        "without waits the second update-table should be refused:\n{output}"
    );

    // The deploy step says to wait for the index, here and in the README.
    let design = read("docs/design.md");
    let steps = design.split_once(heading).expect("the section").1;
    assert!(steps.contains("Deploy only once `wait_active PendingRuns` has returned"));
    let readme = read("README.md");
    let readme = readme.split_once(heading).expect("the README's section").1;
    assert!(readme.contains("`ACTIVE`") && readme.contains("Only then deploy"));
}
