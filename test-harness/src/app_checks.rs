//! The checks every app binary must pass, run against the real binary by
//! each app's integration tests through [`crate::service_binary_tests`].

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::load::signal_under_load;
use crate::service::{
    app_config, assert_access_logged, assert_serves_app, call, edited_config, path_str,
    run_to_exit, Expected, Service,
};

/// The server's drain deadline (`service_core::server::DRAIN_DEADLINE`).
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(20);

/// The exit code of a configuration error (`service_core::exit::CONFIG`).
pub const CONFIG_EXIT: i32 = 2;

fn ready_path(app: &str) -> String {
    app_config(app).health_check_path()
}

fn start(bin: &str, app: &str, env: &[(&str, &str)]) -> Service {
    Service::start(bin, env, &ready_path(app))
}

/// Every route of every microservice in the JSON, and the errors around
/// them, with the environment's values reported back.
pub fn serves_every_route_of_its_microservices(bin: &str, app: &str) {
    let cfg = app_config(app);
    let service = start(bin, app, &[("APP_ENV", "test"), ("APP_VERSION", "1.2.3")]);
    let expected = Expected::from_json(&cfg, "test", "1.2.3", service.port);
    assert_serves_app(&service.url(""), &cfg, &expected);
}

/// Requests that are not HTTP, or broken HTTP, get a 4xx and the server
/// goes on serving.
pub fn malformed_requests_get_a_4xx(bin: &str, app: &str) {
    let service = start(bin, app, &[]);
    let first = format!("/{}", app_config(app).microservices[0].name);
    let malformed = [
        "GARBAGE\r\n\r\n".to_owned(),
        format!("GET {first} HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"),
        format!("GET {first} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
        format!("GET {first}%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        format!(
            "GET {first} HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(1_000_000)
        ),
    ];
    for request in &malformed {
        let code = status_of(service.addr(), request.as_bytes())
            .unwrap_or_else(|why| panic!("no answer to {request:.60}: {why}"));
        assert!((400..500).contains(&code), "{code} for {request:.60}");
    }
    call(&service.url(""), "GET", &first, 200);
}

/// Sends raw bytes and returns the status of the answer. The server may
/// keep the connection open after an error answer, so this reads only
/// until the status line is in.
fn status_of(addr: std::net::SocketAddr, request: &[u8]) -> Result<u16, String> {
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    // The server may stop reading a request it rejects; its answer counts.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match std::io::Read::read(&mut stream, &mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(err) => return Err(format!("{err} after {answer:?}")),
        }
    }
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {text:?}"))
}

/// `APP_NAME` and `APP_LAUNCH_TYPE` override the JSON in what is reported.
pub fn reports_the_environment(bin: &str, app: &str) {
    let cfg = app_config(app);
    let service = start(
        bin,
        app,
        &[
            ("APP_NAME", "renamed"),
            ("APP_LAUNCH_TYPE", "fargate"),
            ("APP_ENV", "staging"),
            ("APP_VERSION", "abc123"),
        ],
    );
    let first = &cfg.microservices[0].name;
    let info = call(&service.url(""), "GET", &format!("/{first}"), 200);
    assert_eq!(info["app"], "renamed", "{info}");
    assert_eq!(info["launch_type"], "FARGATE", "{info}");
    assert_eq!(info["environment"], "staging", "{info}");
    assert_eq!(info["version"], "abc123", "{info}");
    assert!(info.get("task").is_none(), "no ECS, no task: {info}");
}

/// A bad environment value stops the process with exit code 2 and a
/// message that names the variable.
pub fn bad_env_values_exit_2_naming_the_variable(bin: &str, _app: &str) {
    let cases = [
        ("APP_PORT", "abc"),
        ("APP_PORT", "0"),
        ("APP_PORT", "70000"),
        ("APP_LAUNCH_TYPE", "LAMBDA"),
        ("APP_BIND", "everywhere"),
        ("APP_ENV", " "),
        ("APP_VERSION", ""),
        ("LOG_FORMAT", "xml"),
    ];
    for (var, value) in cases {
        let (status, stderr) = run_to_exit(bin, &[(var, value)]);
        assert_eq!(
            status.code(),
            Some(CONFIG_EXIT),
            "{var}={value:?}: {stderr}"
        );
        assert!(
            stderr.contains(var) && stderr.contains(&format!("{value:?}")),
            "{var}={value:?}: the message must name the variable and value: {stderr}"
        );
    }
}

/// A bad `APP_CONFIG` file stops the process with exit code 2 and a
/// message that names the file and the field.
pub fn bad_config_files_exit_2_naming_file_and_field(bin: &str, app: &str) {
    let missing = crate::service::scratch_file("missing.json");
    let (status, stderr) = run_to_exit(bin, &[("APP_CONFIG", path_str(&missing))]);
    assert_eq!(status.code(), Some(CONFIG_EXIT), "{stderr}");
    assert!(stderr.contains(path_str(&missing)), "{stderr}");

    let not_json = crate::service::scratch_file("not.json");
    std::fs::write(&not_json, "{ \"app\": ").expect("write");
    let garbage_field = "."; // a syntax error is about the whole document
    check_config_error(bin, &not_json, garbage_field);

    let cases: [(&str, JsonEdit); 4] = [
        ("port", |j| j["port"] = json!("five thousand")),
        ("replicas.min", |j| j["replicas"]["min"] = json!(9)),
        ("microservices[1].path_patterns[0]", |j| {
            j["microservices"][1]["path_patterns"][0] = json!("no-slash")
        }),
        // Valid on its own, but two routes on one path: the router says so.
        ("microservices[1].health_path", |j| {
            let first = j["microservices"][0]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            j["microservices"][1]["health_path"] = json!(format!("/{first}"))
        }),
    ];
    for (field, edit) in cases {
        let file = edited_config(app, edit);
        check_config_error(bin, &file, field);
        let _ = std::fs::remove_file(file);
    }
    let _ = std::fs::remove_file(not_json);
}

/// A change to an app JSON document.
type JsonEdit = fn(&mut Value);

fn check_config_error(bin: &str, file: &std::path::Path, field: &str) {
    let (status, stderr) = run_to_exit(bin, &[("APP_CONFIG", path_str(file))]);
    assert_eq!(status.code(), Some(CONFIG_EXIT), "{field}: {stderr}");
    assert!(
        stderr.contains(path_str(file)),
        "{field}: the message must name the file: {stderr}"
    );
    if field != "." {
        assert!(
            stderr.contains(&format!("`{field}`")),
            "the message must name the field `{field}`: {stderr}"
        );
    }
}

/// `APP_CONFIG` replaces the compiled-in JSON, and a microservice added
/// there is served with its routes.
pub fn a_microservice_added_to_the_json_gets_its_routes(bin: &str, app: &str) {
    let file = edited_config(app, |j| {
        if let Some(list) = j["microservices"].as_array_mut() {
            list.push(json!({
                "name": "radiology",
                "path_patterns": ["/radiology", "/radiology/*"],
                "priority": 4242
            }));
        }
    });
    let service = start(bin, app, &[("APP_CONFIG", path_str(&file))]);
    let info = call(&service.url(""), "GET", "/radiology", 200);
    assert_eq!(info["microservice"], "radiology", "{info}");
    let health = call(&service.url(""), "GET", "/radiology/health", 200);
    assert_eq!(health["microservice"], "radiology", "{health}");
    let _ = std::fs::remove_file(file);
}

/// One JSON line per request with method, path, status, latency and id.
pub fn json_logs_carry_each_request(bin: &str, app: &str) {
    let cfg = app_config(app);
    let mut service = start(bin, app, &[]);
    let base = service.url("");
    let first = format!("/{}", cfg.microservices[0].name);
    call(&base, "GET", &first, 200);
    call(&base, "GET", "/nope", 404);
    call(&base, "DELETE", &first, 405);
    service.signal("TERM");
    let (status, _) = service.wait_exit(Duration::from_secs(10));
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    let lines = service.log_lines();
    assert_access_logged(&lines, &format!("check-GET-{first}"), "GET", &first, 200);
    assert_access_logged(&lines, "check-GET-/nope", "GET", "/nope", 404);
    assert_access_logged(
        &lines,
        &format!("check-DELETE-{first}"),
        "DELETE",
        &first,
        405,
    );
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "drained: every connection finished"),
        "{lines:#?}"
    );
}

/// SIGTERM (`signal` `TERM`) or SIGINT under load: every accepted request
/// is answered, connections opened before the signal included, and the
/// process exits 0 well within the drain deadline.
pub fn signal_under_load_loses_no_accepted_request(bin: &str, app: &str, signal: &str) {
    let cfg = app_config(app);
    let mut service = start(bin, app, &[]);
    let path = format!("/{}", cfg.microservices[0].name);
    let report = signal_under_load(
        &mut service,
        &path,
        signal,
        DRAIN_DEADLINE + Duration::from_secs(5),
    );
    let log = service.log_text();
    assert_eq!(
        report.lost(),
        Vec::<String>::new(),
        "accepted requests lost; log:\n{log}"
    );
    assert!(
        report.tally.ok >= 200,
        "the load did not run: {:?}",
        report.tally
    );
    assert!(
        report.tally.not_accepted > 0,
        "the load never saw the listener close: {:?}",
        report.tally
    );
    let status = report
        .exit
        .unwrap_or_else(|| panic!("no exit after SIG{signal}; log:\n{log}"));
    assert_eq!(status.code(), Some(0), "log:\n{log}");
    assert!(
        report.exit_after < DRAIN_DEADLINE,
        "exit took {:?}, not within the drain deadline",
        report.exit_after
    );
    assert!(
        log.contains(&format!("\"signal\":\"SIG{signal}\"")),
        "{log}"
    );
}

/// SIGTERM under load: every request answered 200, before or after the
/// signal, has its access-log line in the log, which the server writes
/// from a queue on another thread: the queue must be written out before
/// the process exits.
///
/// The log reader stops reading once the load runs, as a busy log driver
/// may, so that thousands of lines are still queued in the server when its
/// drain ends, and reads again only once every request has its answer: a
/// server that exits without writing out its queue loses them, however
/// fast its writer thread is.
pub fn sigterm_under_load_loses_no_access_log_line(bin: &str, app: &str) {
    let cfg = app_config(app);
    let mut service = Service::start_with_log_valve(bin, &[], &ready_path(app));
    let path = format!("/{}", cfg.microservices[0].name);
    let addr = service.addr();
    let load = crate::load::Load::start(addr, &path, 16);
    let until = |n: usize| {
        let started = Instant::now();
        while load.ok_so_far() < n && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    until(200);
    service.log_valve().close();
    // About 300 bytes a line: far more than the pipe and the writer's
    // buffer hold, far fewer than the queue's limit.
    until(200 + QUEUED_WHILE_CLOSED);
    let probes = crate::load::Probes::open(addr, &path);
    load.mark_signal();
    service.signal("TERM");
    // Long enough for the server to have stopped accepting.
    std::thread::sleep(Duration::from_millis(300));
    let probes = probes.finish();
    let tally = load.finish();
    assert!(
        tally.ok >= 200 + QUEUED_WHILE_CLOSED,
        "the load did not run: {tally:?}"
    );
    // The server may still be writing out its queue: it exits only after.
    service.log_valve().open();
    let (exit, _) = service.wait_exit(DRAIN_DEADLINE + Duration::from_secs(5));
    let status = exit.unwrap_or_else(|| panic!("no exit after SIGTERM"));
    service.log_valve().drain();
    assert_eq!(status.code(), Some(0), "log:\n{}", service.log_text());
    let answered = &tally.ok_ids;
    let lines = service.log_lines();
    let logged_ok = |l: &&serde_json::Value| l["message"] == "request" && l["status"] == 200;
    let logged: std::collections::HashSet<&str> = lines
        .iter()
        .filter(logged_ok)
        .filter_map(|l| l["request_id"].as_str())
        .collect();
    let missing: Vec<&String> = answered
        .iter()
        .filter(|id| !logged.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered requests have no access-log line, e.g. {:?}",
        missing.len(),
        answered.len(),
        &missing[..missing.len().min(5)]
    );
    // Both probes send the id `probe`.
    let probes_answered = probes
        .iter()
        .filter(|a| matches!(a, crate::load::Attempt::Answered(200)))
        .count();
    let probes_logged = lines
        .iter()
        .filter(logged_ok)
        .filter(|l| l["request_id"] == "probe")
        .count();
    assert_eq!(
        probes_logged, probes_answered,
        "the probes' access-log lines"
    );
}

/// Requests answered while the log reader of
/// [`sigterm_under_load_loses_no_access_log_line`] reads nothing.
const QUEUED_WHILE_CLOSED: usize = 2_000;

/// SIGTERM, as ECS and `docker stop` send it.
pub fn sigterm_under_load_loses_no_accepted_request(bin: &str, app: &str) {
    signal_under_load_loses_no_accepted_request(bin, app, "TERM");
}

/// SIGINT, as Ctrl-C sends it.
pub fn sigint_under_load_loses_no_accepted_request(bin: &str, app: &str) {
    signal_under_load_loses_no_accepted_request(bin, app, "INT");
}

/// The negative control: SIGKILL under the same load and probes must show
/// lost requests, or the check above could not catch a server that drops
/// them.
pub fn sigkill_under_load_is_caught_by_the_same_check(bin: &str, app: &str) {
    let cfg = app_config(app);
    let mut service = start(bin, app, &[]);
    let path = format!("/{}", cfg.microservices[0].name);
    let report = signal_under_load(&mut service, &path, "KILL", Duration::from_secs(5));
    let lost = report.lost();
    assert!(
        lost.iter().any(|l| l.starts_with("idle probe"))
            && lost.iter().any(|l| l.starts_with("half probe")),
        "SIGKILL must lose both probes' requests: {lost:?}"
    );
    assert!(
        report.exit.is_some_and(|s| s.code().is_none()),
        "{:?}",
        report.exit
    );
}

/// A client that never finishes its request cannot hold the process past
/// the drain deadline; the process still exits 0.
pub fn a_stalled_client_is_cut_at_the_drain_deadline(bin: &str, app: &str) {
    let cfg = app_config(app);
    let mut service = start(bin, app, &[]);
    let mut stalled = std::net::TcpStream::connect(service.addr()).expect("connect");
    let path = format!("/{}", cfg.microservices[0].name);
    stalled
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n").as_bytes())
        .expect("send part of a request");
    service.signal("TERM");
    let (status, waited) = service.wait_exit(DRAIN_DEADLINE + Duration::from_secs(10));
    let log = service.log_text();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "log:\n{log}");
    assert!(
        waited >= DRAIN_DEADLINE - Duration::from_secs(1),
        "exited after {waited:?}: it did not wait for the open connection"
    );
    assert!(
        log.contains("\"cut\":1"),
        "the log must count the cut connection:\n{log}"
    );
}

/// `<bin> healthcheck` exits 0 against a running server and 1 when
/// nothing answers.
pub fn healthcheck_probes_the_local_server(bin: &str, app: &str) {
    let service = start(bin, app, &[]);
    let port = service.port.to_string();
    let probe = |port: &str| {
        std::process::Command::new(bin)
            .arg("healthcheck")
            .env("APP_BIND", "127.0.0.1")
            .env("APP_PORT", port)
            .env_remove("APP_CONFIG")
            .output()
            .expect("run healthcheck")
    };
    let healthy = probe(&port);
    let out = String::from_utf8_lossy(&healthy.stdout);
    assert_eq!(healthy.status.code(), Some(0), "{healthy:?}");
    assert!(out.contains(&app_config(app).health_check_path()), "{out}");
    drop(service);
    let closed = crate::closed_port();
    let down = probe(&closed.port.to_string());
    assert_eq!(down.status.code(), Some(1), "{down:?}");
}

/// On ECS the info routes name the task from the metadata endpoint; an
/// endpoint that never answers does not delay startup.
pub fn reports_the_ecs_task_and_never_waits_for_it(bin: &str, app: &str) {
    let arn = "arn:aws:ecs:us-east-1:123456789012:task/ecs-pipeline/0123456789abcdef";
    let metadata = fake_metadata_endpoint(Some(arn));
    let first = format!("/{}", app_config(app).microservices[0].name);
    let service = start(bin, app, &[("ECS_CONTAINER_METADATA_URI_V4", &metadata)]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = call(&service.url(""), "GET", &first, 200);
        if info["task"] == arn {
            break;
        }
        assert!(Instant::now() < deadline, "no task in {info}");
        std::thread::sleep(Duration::from_millis(100));
    }

    let silent = fake_metadata_endpoint(None);
    let started = Instant::now();
    let service = start(bin, app, &[("ECS_CONTAINER_METADATA_URI_V4", &silent)]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "startup waited for the metadata endpoint: {:?}",
        started.elapsed()
    );
    let info = call(&service.url(""), "GET", &first, 200);
    assert!(info.get("task").is_none(), "{info}");
}

/// A stand-in for the ECS task metadata endpoint v4 on 127.0.0.1: answers
/// `GET <base>/task` with the task ARN, or, given `None`, accepts and never
/// answers. Returns the base URI.
fn fake_metadata_endpoint(task_arn: Option<&str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the metadata endpoint");
    let base = format!(
        "http://{}/v4/0123456789abcdef-1234",
        listener.local_addr().expect("addr")
    );
    let body = task_arn.map(|arn| json!({ "Cluster": "ecs-pipeline", "TaskARN": arn }).to_string());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let Some(body) = &body else {
                held.push(stream); // never answer
                continue;
            };
            let mut stream = stream;
            let mut request = [0u8; 4096];
            let n = std::io::Read::read(&mut stream, &mut request).unwrap_or(0);
            let head = String::from_utf8_lossy(&request[..n]);
            let (status, body) = if head.starts_with("GET /v4/0123456789abcdef-1234/task ") {
                ("200 OK", body.as_str())
            } else {
                ("404 Not Found", "{}")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

/// Every check above as a `#[test]` of the same name for one app binary:
/// `test_harness::service_binary_tests!("service-a", env!("CARGO_BIN_EXE_service-a"));`
#[macro_export]
macro_rules! service_binary_tests {
    ($app:literal, $bin:expr) => {
        const APP: &str = $app;
        const BIN: &str = $bin;
        $crate::service_binary_tests!(@each
            serves_every_route_of_its_microservices,
            malformed_requests_get_a_4xx,
            reports_the_environment,
            bad_env_values_exit_2_naming_the_variable,
            bad_config_files_exit_2_naming_file_and_field,
            a_microservice_added_to_the_json_gets_its_routes,
            json_logs_carry_each_request,
            sigterm_under_load_loses_no_accepted_request,
            sigint_under_load_loses_no_accepted_request,
            sigterm_under_load_loses_no_access_log_line,
            sigkill_under_load_is_caught_by_the_same_check,
            healthcheck_probes_the_local_server,
            reports_the_ecs_task_and_never_waits_for_it
        );
    };
    (@each $($check:ident),*) => {
        $(
            #[test]
            fn $check() {
                $crate::app_checks::$check(BIN, APP);
            }
        )*
    };
}
