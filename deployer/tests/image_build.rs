//! `deployer build` on the real Docker engine, through the real binary:
//! the image, its labels and build arguments, `.dockerignore`, the default
//! tag from git, and the errors a person sees.

mod image_support;

use image_support::{files_in_image, inspect, unique, ImageCleanup, TestApp, BASE_IMAGE};

/// A Dockerfile that fails when a file `.dockerignore` should keep out
/// reaches the build, and records build arguments: its base image only
/// exists when `BASE_TAG` comes from the environment, and `GREETING` lands
/// in a label.
fn checking_dockerfile() -> String {
    let (name, _) = BASE_IMAGE.split_once(':').expect("name:tag");
    format!(
        "ARG BASE_TAG=no-such-tag\n\
         FROM {name}:${{BASE_TAG}}\n\
         ARG GREETING=unset\n\
         LABEL test.greeting=$GREETING\n\
         COPY . /ctx/\n\
         RUN if [ -e /ctx/secret.txt ]; then echo 'secret.txt reached the build' >&2; exit 7; fi\n"
    )
}

/// The base image's tag, from a plain variable: it is declared before
/// `FROM`.
fn base_tag() -> (&'static str, &'static str) {
    ("BASE_TAG", BASE_IMAGE.split_once(':').expect("name:tag").1)
}

fn checking_app() -> TestApp {
    TestApp::new(
        "docker/Dockerfile",
        &[
            ("docker/Dockerfile", &checking_dockerfile()),
            (
                ".dockerignore",
                "secret.txt\ncache\n!cache/keep.me\n*.log\n",
            ),
            ("kept.txt", "kept"),
            ("secret.txt", "must not be sent"),
            ("cache/blob", "xx"),
            ("cache/keep.me", "kept by an exception"),
            ("build.log", "log"),
            ("src/build.log", "not at the root, so kept"),
        ],
    )
}

#[test]
fn builds_the_app_image_with_labels_build_args_and_dockerignore() {
    if test_harness::docker_host().is_none() {
        return;
    }
    let app = checking_app();
    let tag = unique("t");
    let image = app.local_image(&tag);
    let _cleanup = ImageCleanup(vec![image.clone()]);

    let run = app.deployer(
        "build",
        &["--tag", &tag, "--output", "json"],
        &[
            base_tag(),
            // A stage's argument is not read from a plain variable...
            ("GREETING", "plain variable"),
            // ...only from the prefixed one.
            ("DEPLOYER_BUILD_ARG_GREETING", "hello from the environment"),
        ],
    );
    run.expect_code(0);
    let report = run.report();
    assert_eq!(report["command"], "build");
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["apps"][0]["app"], app.name.as_str());
    assert_eq!(report["apps"][0]["outcome"], "completed");
    assert_eq!(report["apps"][0]["image"], image.as_str());
    // Progress shows the steps.
    run.expect_stderr("Step 1/");
    run.expect_stderr(" : COPY . /ctx/");

    let inspected = inspect(&image);
    let labels = inspected
        .config
        .and_then(|c| c.labels)
        .expect("the image has labels");
    assert_eq!(labels["test.greeting"], "hello from the environment");
    assert_eq!(labels["org.opencontainers.image.title"], app.name);
    assert_eq!(labels["org.opencontainers.image.version"], tag);

    let files = files_in_image(&image, "/ctx");
    let has = |path: &str| files.iter().any(|f| f.trim_end_matches('/') == path);
    for kept in [
        "ctx/kept.txt",
        "ctx/cache/keep.me",
        "ctx/src/build.log",
        "ctx/docker/Dockerfile",
    ] {
        assert!(has(kept), "{kept} missing from the image: {files:?}");
    }
    for left_out in ["ctx/secret.txt", "ctx/cache/blob", "ctx/build.log"] {
        assert!(!has(left_out), "{left_out} reached the image: {files:?}");
    }
}

#[test]
fn without_the_dockerignore_the_excluded_file_reaches_the_build() {
    // The planted mistake for the test above: the same context without its
    // `.dockerignore` must fail the check in the Dockerfile.
    if test_harness::docker_host().is_none() {
        return;
    }
    let app = checking_app();
    std::fs::remove_file(app.context().join(".dockerignore")).expect("remove .dockerignore");
    let tag = unique("t");
    let _cleanup = ImageCleanup(vec![app.local_image(&tag)]);
    let run = app.deployer("build", &["--tag", &tag], &[base_tag()]);
    run.expect_code(6);
    run.expect_stderr("secret.txt reached the build");
}

#[test]
fn a_failing_build_exits_6_and_names_the_step_and_its_output() {
    if test_harness::docker_host().is_none() {
        return;
    }
    let app = TestApp::new(
        "Dockerfile",
        &[(
            "Dockerfile",
            &format!(
                "FROM {BASE_IMAGE}\nRUN echo first step fine\nRUN echo 'compiler says: boom' >&2 && exit 3\n"
            ),
        )],
    );
    let tag = unique("t");
    let _cleanup = ImageCleanup(vec![app.local_image(&tag)]);
    let result_file = app.dir.path().join("result.json");
    let run = app.deployer(
        "build",
        &[
            "--tag",
            &tag,
            "--result-file",
            result_file.to_str().expect("utf-8"),
        ],
        &[],
    );
    run.expect_code(6);
    for expected in [
        &format!("docker build of {} failed at Step 3/", app.name),
        " : RUN echo 'compiler says: boom' >&2 && exit 3: ",
        "returned a non-zero code: 3",
        "last output of that step:\n  compiler says: boom",
    ] {
        run.expect_stderr(expected);
    }
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&result_file).expect("the result file is written on failure"),
    )
    .expect("JSON");
    assert_eq!(report["exit_code"], 6);
    assert_eq!(report["outcome"], "error");
}

#[test]
fn a_missing_dockerfile_exits_2_and_names_the_file() {
    if test_harness::docker_host().is_none() {
        return;
    }
    let app = TestApp::new("Dockerfile.missing", &[("kept.txt", "x")]);
    let run = app.deployer("build", &["--tag", "t1"], &[]);
    run.expect_code(2);
    let expected_path = app.context().join("Dockerfile.missing");
    assert!(
        run.stderr
            .contains(&format!("Dockerfile {} not found", expected_path.display())),
        "{}",
        run.stderr
    );
    run.expect_stderr("field `deploy.dockerfile`");
    run.expect_stderr(&format!("{}.json", app.name));
}

#[test]
fn the_build_network_is_passed_to_the_engine() {
    // The engine refuses a network that does not exist: proof that the
    // setting reaches it (the other builds here only work with `host`).
    if test_harness::docker_host().is_none() {
        return;
    }
    let app = TestApp::new(
        "Dockerfile",
        &[("Dockerfile", &format!("FROM {BASE_IMAGE}\nRUN true\n"))],
    );
    let tag = unique("t");
    let _cleanup = ImageCleanup(vec![app.local_image(&tag)]);
    let run = app.deployer(
        "build",
        &["--tag", &tag],
        &[("DEPLOYER_BUILD_NETWORK", "no-such-network-for-tests")],
    );
    run.expect_code(6);
    run.expect_stderr("no-such-network-for-tests");
}

#[test]
fn the_default_tag_is_the_git_short_sha_and_marks_a_dirty_tree() {
    if test_harness::docker_host().is_none() {
        return;
    }
    let app = TestApp::new(
        "Dockerfile",
        &[
            (
                "Dockerfile",
                &format!("FROM {BASE_IMAGE}\nCOPY app.txt /\n"),
            ),
            ("app.txt", "v1"),
        ],
    );
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(app.context())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .status()
            .expect("run git");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "v1"]);
    let sha = String::from_utf8(
        std::process::Command::new("git")
            .arg("-C")
            .arg(app.context())
            .args(["rev-parse", "HEAD"])
            .output()
            .expect("git rev-parse")
            .stdout,
    )
    .expect("utf-8");

    let mut cleanup = ImageCleanup(Vec::new());
    let run = app.deployer("build", &["--output", "json"], &[]);
    run.expect_code(0);
    let image = run.report()["apps"][0]["image"]
        .as_str()
        .expect("an image")
        .to_owned();
    cleanup.0.push(image.clone());
    let tag = image
        .strip_prefix(&format!("{}:", app.repository()))
        .expect("named after the repository");
    assert!(
        tag.len() >= 7 && sha.starts_with(tag),
        "tag {tag} is not a short form of {sha}"
    );
    assert_eq!(
        inspect(&image)
            .config
            .and_then(|c| c.labels)
            .expect("labels")["org.opencontainers.image.revision"],
        sha.trim()
    );

    app.write("app.txt", "v2, not committed");
    let run = app.deployer("build", &["--output", "json"], &[]);
    run.expect_code(0);
    let dirty = run.report()["apps"][0]["image"]
        .as_str()
        .expect("an image")
        .to_owned();
    cleanup.0.push(dirty.clone());
    assert!(
        dirty.starts_with(&format!("{image}-dirty-")),
        "{dirty} should be {image}-dirty-<hash>"
    );
}

#[test]
fn an_invalid_tag_is_bad_input() {
    let app = TestApp::new("Dockerfile", &[("Dockerfile", "FROM scratch\n")]);
    let run = app.deployer("build", &["--tag", "not a tag"], &[]);
    run.expect_code(2);
    run.expect_stderr("--tag");
}
