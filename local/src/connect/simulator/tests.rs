use super::*;

#[test]
fn the_flows_functions_map_to_the_workspaces_binaries() {
    assert_eq!(local_function("{{StartFunctionArn}}"), "integration-start");
    assert_eq!(
        local_function("{{CheckTimeoutFunctionArn}}"),
        "check-timeout"
    );
    assert_eq!(
        local_function(
            "arn:aws:lambda:eu-west-2:123456789012:function:dev-re-connectintegrationstart"
        ),
        "integration-start"
    );
    assert_eq!(
        local_function("dev-re-connectchecktimeout"),
        "check-timeout"
    );
    assert_eq!(local_function("integration-echo"), "integration-echo");
}
