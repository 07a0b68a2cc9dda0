//! The template's functions: every package under `functions/` is one, built by
//! cargo-lambda from the workspace, named as the Rules Engine names integration
//! functions only if it is one, and invocable by Connect within its time limit
//! where Connect calls it.

use serde_yaml_ng::Value;

use crate::root;
use crate::template::{function, of_type, strings, sub_text, template, workspace_functions};

/// Functions of the workspace that are not integration functions: they must stay
/// out of the Rules Engine's `<stage>-<service>-integration*` naming.
const NOT_INTEGRATIONS: &[&str] = &["integration-start", "check-timeout", "stream-consumer"];

/// Functions Connect invokes from the contact flow, within its 8-second limit.
const CONNECT_FACING: &[&str] = &["integration-start", "check-timeout"];

#[test]
fn every_function_of_the_workspace_is_built_by_cargo_lambda_from_the_workspace() {
    let template = template();
    assert_eq!(
        template["Globals"]["Function"]["Runtime"],
        "provided.al2023"
    );
    assert_eq!(template["Globals"]["Function"]["Handler"], "bootstrap");
    for name in workspace_functions() {
        let (id, resource) = function(&template, &name)
            .unwrap_or_else(|| panic!("functions/{name} has no function in the template"));
        assert_eq!(
            resource["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{id}"
        );
        // cargo-lambda builds in the workspace root, where target/lambda/<binary> is.
        let code_uri = resource["Properties"]["CodeUri"].as_str().unwrap_or("");
        let workspace =
            std::fs::read_to_string(root().join("infra").join(code_uri).join("Cargo.toml"))
                .unwrap_or_default();
        assert!(
            workspace.contains("[workspace]"),
            "{id}: CodeUri {code_uri:?} is not the workspace root"
        );
        assert!(
            matches!(
                resource["Properties"]["Role"],
                Value::Tagged(_) | Value::String(_)
            ),
            "{id} has its own role"
        );
        assert!(
            resource["Properties"]["Policies"].is_null(),
            "{id}: SAM policies would bypass the role review"
        );
    }
}

#[test]
fn every_function_of_the_template_is_a_package_of_the_workspace() {
    let template = template();
    let packages = workspace_functions();
    for (id, resource) in of_type(&template, "AWS::Serverless::Function") {
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} names no binary to build"));
        assert!(
            packages.iter().any(|p| p == binary),
            "{id} builds {binary}, which is no package under functions/"
        );
    }
}

#[test]
fn only_integration_functions_follow_the_rules_engine_integration_naming() {
    let template = template();
    for name in workspace_functions() {
        let (id, resource) = function(&template, &name).expect("checked above");
        let full = sub_text(&resource["Properties"]["FunctionName"])
            .unwrap_or_else(|| panic!("{id}: FunctionName is a !Sub"));
        let rest = full
            .strip_prefix("${Stage}-${Service}-")
            .unwrap_or_else(|| panic!("{id}: {full} does not start with <stage>-<service>-"));
        let listed = rest.starts_with("integration");
        let integration = !NOT_INTEGRATIONS.contains(&name.as_str());
        assert_eq!(
            listed, integration,
            "{id}: {full} (integration function: {integration})"
        );
    }
}

#[test]
fn connect_may_invoke_the_connect_facing_functions_within_its_time_limit() {
    let template = template();
    let permissions = of_type(&template, "AWS::Lambda::Permission");
    for name in CONNECT_FACING {
        let (id, resource) =
            function(&template, name).unwrap_or_else(|| panic!("{name} is in the template"));
        let timeout = resource["Properties"]["Timeout"]
            .as_u64()
            .expect("a Timeout");
        // Connect's synchronous calls wait at most 8 s; start is also invoked
        // asynchronously (up to 60 s) to wait until the run ends, and must
        // outlast that wait's own limit.
        let most = if *name == "integration-start" {
            let needed = integration_start::WaitMode::UntilEnd
                .answer_limit(&shared::waiting::WaitConfig::default())
                .as_secs_f64();
            assert!(
                timeout as f64 >= needed,
                "{id}: Timeout {timeout} s, its wait until the end takes up to {needed} s"
            );
            60
        } else {
            8
        };
        assert!(
            timeout <= most,
            "{id}: Timeout {timeout} s is past Connect's {most} s"
        );
        let granted = permissions.iter().any(|(_, p)| {
            let p = &p["Properties"];
            strings(&p["FunctionName"])
                .iter()
                .any(|f| f.starts_with(&format!("{id}.")) || *f == id)
                && p["Principal"] == "connect.amazonaws.com"
                && strings(&p["SourceArn"]) == ["ConnectInstanceArn"]
                && !p["SourceAccount"].is_null()
        });
        assert!(
            granted,
            "{id}: no Connect invoke permission scoped to the instance"
        );
    }
}

/// The local stack's process pools stop an instance at its function's
/// timeout, as Lambda does: at the template's, or the stand-in would kill
/// (or spare) what AWS spares (or kills).
#[test]
fn the_local_stacks_function_timeouts_are_the_templates() {
    use local_stack::stack::{
        faults::{Refusals, StartDeaths},
        function_specs, Host, StackOptions,
    };
    let template = template();
    let options = StackOptions {
        in_flight: 1,
        max_instances: 1,
        schedule_every: std::time::Duration::from_secs(60),
        abandoned_grace: std::time::Duration::from_secs(2),
        log_file: "functions.log".into(),
        refusals: Refusals::every(0),
        start_deaths: StartDeaths::every(0),
        host: Host::Processes("target/debug".into()),
    };
    let mut checked = 0;
    for spec in function_specs(&options) {
        let Some((id, resource)) = function(&template, spec.name) else {
            continue; // the original Rules Engine's echo, which the template does not hold
        };
        let timeout = resource["Properties"]["Timeout"]
            .as_u64()
            .expect("a Timeout");
        assert_eq!(spec.timeout.as_secs(), timeout, "{id}: {}", spec.name);
        checked += 1;
    }
    assert_eq!(checked, 4);
}
