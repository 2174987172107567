//! The image's platform against the app's `cpu_architecture`: `deployer
//! build` builds for it (X86_64 by default, linux/amd64), and the preflight
//! check reads the platforms of a pushed image from the local registry that
//! stands in for ECR. No arm64 engine is needed: the refusal is of an amd64
//! image for an ARM64 app.

mod image_support;

use app_config::CpuArchitecture;
use deployer::exit::Code;
use deployer::image::platform;
use image_support::{runtime, unique, ImageCleanup, TestApp, BASE_IMAGE};

/// AWS configuration that is never used: the local registry is not ECR.
fn no_aws() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .build()
}

#[test]
fn a_pushed_image_is_held_to_the_apps_architecture() {
    let (Some(_), Some(registry)) = (test_harness::docker_host(), test_harness::registry()) else {
        return;
    };
    let app = TestApp::new(
        "Dockerfile",
        &[
            (
                "Dockerfile",
                &format!("FROM {BASE_IMAGE}\nCOPY hello.txt /\n"),
            ),
            ("hello.txt", &unique("content")),
        ],
    );
    let tag = unique("t");
    let remote = format!("{registry}/{}", app.repository());
    let _cleanup = ImageCleanup(vec![app.local_image(&tag), format!("{remote}:{tag}")]);

    app.deployer("build", &["--tag", &tag], &[])
        .expect_code(0)
        .expect_stderr("for linux/amd64");
    app.deployer("push", &["--tag", &tag, "--registry", &registry], &[])
        .expect_code(0);

    let uri = format!("{remote}:{tag}");
    let platforms = runtime()
        .block_on(platform::published(&uri, &no_aws()))
        .unwrap_or_else(|err| panic!("platforms of {uri}: {err:#}"));
    assert!(
        platforms
            .iter()
            .any(|p| p.os == "linux" && p.architecture == "amd64"),
        "{platforms:?}"
    );
    platform::check_published(&uri, CpuArchitecture::X86_64, &platforms, "app.json")
        .expect("an amd64 image for an X86_64 app");
    let err = platform::check_published(&uri, CpuArchitecture::Arm64, &platforms, "app.json")
        .expect_err("an amd64 image for an ARM64 app");
    assert_eq!(err.code, Code::Preflight);
    assert!(err.message.contains("exec format error"), "{}", err.message);
}
