//! `deployer push` and `publish` against the real engine and the local
//! registry that stands in for ECR (`--registry`), checked through the
//! registry's own v2 API; and `exists()` on that registry.

mod image_support;

use deployer::image::{self, reference::ImageRef};
use image_support::{manifest, runtime, unique, ImageCleanup, TestApp, BASE_IMAGE};

fn small_app() -> TestApp {
    TestApp::new(
        "Dockerfile",
        &[
            (
                "Dockerfile",
                &format!("FROM {BASE_IMAGE}\nCOPY hello.txt /\n"),
            ),
            ("hello.txt", &unique("content")), // a new layer, so a real upload
        ],
    )
}

/// AWS configuration that is never used: the local registry is not ECR.
fn no_aws() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .build()
}

/// A small app to push to `registry` with a fresh tag; its local and
/// remote images are removed from the engine at the end.
struct PushCase {
    registry: String,
    app: TestApp,
    tag: String,
    /// `<registry>/<repository>`.
    remote: String,
    _cleanup: ImageCleanup,
}

impl PushCase {
    /// `None` when the engine or the registry is missing (and optional).
    fn new() -> Option<Self> {
        let (Some(_), Some(registry)) = (test_harness::docker_host(), test_harness::registry())
        else {
            return None;
        };
        let app = small_app();
        let tag = unique("t");
        let remote = format!("{registry}/{}", app.repository());
        let cleanup = ImageCleanup(vec![app.local_image(&tag), format!("{remote}:{tag}")]);
        Some(PushCase {
            registry,
            app,
            tag,
            remote,
            _cleanup: cleanup,
        })
    }
}

#[test]
fn build_then_push_puts_the_manifest_in_the_registry_and_reports_the_digest() {
    let Some(PushCase {
        registry,
        app,
        tag,
        remote,
        _cleanup,
    }) = PushCase::new()
    else {
        return;
    };

    app.deployer("build", &["--tag", &tag], &[]).expect_code(0);
    let run = app.deployer(
        "push",
        &["--tag", &tag, "--registry", &registry, "--output", "json"],
        &[],
    );
    run.expect_code(0);
    let report = run.report();
    assert_eq!(report["command"], "push");
    assert_eq!(report["apps"][0]["outcome"], "completed");
    let pinned = report["apps"][0]["image"]
        .as_str()
        .expect("an image")
        .to_owned();
    let digest = pinned
        .strip_prefix(&format!("{remote}@"))
        .unwrap_or_else(|| panic!("{pinned} is not {remote}@<digest>"));
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    // Layer progress, and the new layer (hello.txt) is uploaded.
    run.expect_stderr("layers 0/1 done: Preparing")
        .expect_stderr("done: Pushed");

    // The registry has the manifest under the tag, with that digest.
    let (status, served) = manifest(&registry, &app.repository(), &tag);
    assert_eq!(status, 200, "manifest for {tag}");
    assert_eq!(served.as_deref(), Some(digest));
    assert_eq!(manifest(&registry, &app.repository(), digest).0, 200);
    assert_eq!(manifest(&registry, &app.repository(), "no-such-tag").0, 404);

    // exists() sees it by tag and by digest, and not what is not there.
    let aws = no_aws();
    let rt = runtime();
    let exists = |uri: &str| {
        rt.block_on(image::exists(uri, &aws))
            .unwrap_or_else(|err| panic!("exists({uri}): {err:#}"))
    };
    assert!(exists(&format!("{remote}:{tag}")));
    assert!(exists(&pinned));
    assert!(!exists(&format!("{remote}:no-such-tag")));
    assert!(!exists(&format!(
        "{registry}/deployer-tests/{}:{tag}",
        unique("absent")
    )));
}

#[test]
fn publish_builds_and_pushes_or_takes_the_image_as_given() {
    let Some(PushCase {
        registry,
        app,
        tag,
        _cleanup,
        ..
    }) = PushCase::new()
    else {
        return;
    };

    let cli = <deployer::cli::Cli as clap::Parser>::try_parse_from([
        "deployer",
        "deploy",
        &app.name,
        "--config-dir",
        app.config_dir().to_str().expect("utf-8"),
        "--tag",
        &tag,
        "--registry",
        &registry,
    ])
    .expect("parse the command line");
    let Some(deployer::cli::Command::Deploy(args)) = cli.command else {
        panic!("not parsed as deploy");
    };
    let targets =
        deployer::apps::resolve(&cli.global, &args.apps, "test").expect("resolve the app");
    let aws = no_aws();
    let rt = runtime();

    let published = rt
        .block_on(image::publish(
            &targets[0],
            &args.image,
            &app.context(),
            &aws,
        ))
        .expect("publish");
    // A deploy names the tag (the app reports it as its version); the
    // registry must hold that tag.
    let parsed = ImageRef::parse(&published, "published").expect("a reference");
    assert_eq!(parsed.reference.registry(), registry);
    assert_eq!(parsed.reference.tag(), Some(tag.as_str()));
    assert!(parsed.reference.digest().is_none(), "{published}");
    assert!(
        manifest(&registry, &app.repository(), &tag).1.is_some(),
        "{published} is not in the registry"
    );

    // --image skips build and push.
    let given = deployer::cli::ImageSource {
        tag: None,
        image: Some(format!("{registry}/somewhere/else:v9")),
        registry: None,
    };
    let as_given = rt
        .block_on(image::publish(
            &targets[0],
            &given,
            std::path::Path::new("/nonexistent"),
            &aws,
        ))
        .expect("publish --image");
    assert_eq!(as_given, format!("{registry}/somewhere/else:v9"));
}

#[test]
fn skip_existing_builds_and_pushes_a_new_tag_and_leaves_a_pushed_one_alone() {
    let Some(PushCase {
        registry,
        app,
        tag,
        remote,
        _cleanup,
    }) = PushCase::new()
    else {
        return;
    };
    let image_args = |command: &str| {
        let run = app.deployer(
            command,
            &[
                "--tag",
                &tag,
                "--registry",
                &registry,
                "--skip-existing",
                "--output",
                "json",
            ],
            &[],
        );
        run.expect_code(0);
        run.report()
    };
    // A tag the registry does not hold is built and pushed as usual.
    let built = image_args("build");
    assert_eq!(built["apps"][0]["outcome"], "completed", "{built}");
    let pushed = image_args("push");
    assert_eq!(pushed["apps"][0]["outcome"], "completed", "{pushed}");
    assert_eq!(manifest(&registry, &app.repository(), &tag).0, 200);

    // The rerun of that commit on a fresh engine: nothing built locally.
    drop(ImageCleanup(vec![app.local_image(&tag)]));
    for command in ["build", "push"] {
        let report = image_args(command);
        assert_eq!(report["outcome"], "no_change", "{command}: {report}");
        assert_eq!(
            report["apps"][0]["outcome"], "no_change",
            "{command}: {report}"
        );
        assert_eq!(report["apps"][0]["image"], format!("{remote}:{tag}"));
        let message = report["apps"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("already in the registry"),
            "{command}: {message}"
        );
    }
    // build --skip-existing really built nothing: a plain push finds no
    // local image to push.
    app.deployer("push", &["--tag", &tag, "--registry", &registry], &[])
        .expect_code(3)
        .expect_stderr("build it first");
}

#[test]
fn pushing_an_image_that_was_not_built_says_how_to_build_it() {
    let (Some(_), Some(registry)) = (test_harness::docker_host(), test_harness::registry()) else {
        return;
    };
    let app = small_app();
    let run = app.deployer(
        "push",
        &["--tag", "never-built", "--registry", &registry],
        &[],
    );
    run.expect_code(3);
    run.expect_stderr(&format!(
        "build it first with `deployer build {} --tag never-built`",
        app.name
    ));
}

#[test]
fn an_unreachable_registry_is_an_actionable_error() {
    let Some(_) = test_harness::docker_host() else {
        return;
    };
    let app = small_app();
    let tag = unique("t");
    let held = test_harness::closed_port();
    let closed = held.addr().to_string();
    let _cleanup = ImageCleanup(vec![
        app.local_image(&tag),
        format!("{closed}/{}:{tag}", app.repository()),
    ]);
    app.deployer("build", &["--tag", &tag], &[]).expect_code(0);
    let run = app.deployer("push", &["--tag", &tag, "--registry", &closed], &[]);
    run.expect_code(6);
    assert!(
        run.stderr
            .contains(&format!("cannot reach the registry {closed}")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_registry_that_is_not_a_host_is_bad_input() {
    let app = small_app();
    let run = app.deployer("push", &["--tag", "t1", "--registry", "Not A Host"], &[]);
    run.expect_code(2);
    run.expect_stderr("--registry");
}
