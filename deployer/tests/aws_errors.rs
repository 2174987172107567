//! What a person sees when AWS cannot be reached or no credentials are
//! found: one line each, and the documented exit codes 10 and 11, from the
//! real binary. Neither case needs an AWS endpoint that answers: the first
//! fails before any request, the second at the connection.

use std::process::Output;

/// `deployer status service-b` with the AWS environment replaced by `env`;
/// every credential source that could reach outside the machine is cut.
fn status(env: &[(&str, &str)], home: &std::path::Path) -> Output {
    let args = ["status", "service-b", "--cluster", "C"];
    let mut cmd = test_harness::deployer_command(env!("CARGO_BIN_EXE_deployer"), &args);
    cmd.env(
        "DEPLOYER_CONFIG_DIR",
        test_harness::repo_root().join("config"),
    )
    .env("HOME", home)
    .env("AWS_REGION", "us-east-1")
    // No instance or container role: those live at link-local
    // addresses this machine must not call.
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env("AWS_CONFIG_FILE", home.join("no-config"))
    .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"));
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ENDPOINT_URL",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    test_harness::run_echoed(&mut cmd, &args)
}

/// The lines of stderr that are not blank.
fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn no_credentials_is_one_line_and_exit_10() {
    let home = tempfile::tempdir().expect("temp dir");
    let closed = test_harness::closed_port();
    let endpoint = format!("http://127.0.0.1:{}", closed.port);
    let out = status(&[("AWS_ENDPOINT_URL", &endpoint)], home.path());
    assert_eq!(out.status.code(), Some(10));
    let lines = lines(&out);
    let said = lines.join("\n");
    assert!(
        said.contains("no AWS credentials found"),
        "names the problem: {said}"
    );
    assert!(said.contains("AWS_PROFILE"), "says what to set: {said}");
    assert!(
        !said.contains("IMDS") && !said.contains("dispatch failure"),
        "no SDK internals at the default log level: {said}"
    );
    assert!(
        lines.len() <= 2,
        "one line (and the result), not a dump: {said}"
    );
}

#[test]
fn an_unreachable_endpoint_is_one_line_and_exit_11() {
    let home = tempfile::tempdir().expect("temp dir");
    let closed = test_harness::closed_port();
    let endpoint = format!("http://127.0.0.1:{}", closed.port);
    let out = status(
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(11));
    let lines = lines(&out);
    let said = lines.join("\n");
    assert!(said.contains("cannot reach"), "names the problem: {said}");
    assert!(
        said.contains(&endpoint) || said.contains("127.0.0.1"),
        "{said}"
    );
    assert!(!said.contains("dispatch failure"), "{said}");
    assert!(
        lines.len() <= 2,
        "one line (and the result), not a dump: {said}"
    );
}
