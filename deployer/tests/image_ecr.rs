//! The ECR path against moto: the repository URI from
//! `DescribeRepositories`, the credentials from `GetAuthorizationToken`,
//! the error for a missing repository, and `exists()` through
//! `DescribeImages`.
//!
//! moto answers `GetAuthorizationToken` with base64 of
//! `AWS:<account>-auth-token` and a proxy endpoint that is not a real
//! registry, so nothing is pushed to it. The last test pushes with the
//! ECR-issued credentials to the local registry instead (which accepts any),
//! to show that the credentials travel with bollard's push.

mod image_support;

use deployer::image::pusher;
use deployer::image::registry::{Destination, Registry};
use image_support::{engine, manifest, runtime, unique, ImageCleanup, TestApp, BASE_IMAGE};

/// moto's default account.
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

async fn aws_for(moto: &test_harness::Moto) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_ecr::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

async fn create_repository(aws: &aws_config::SdkConfig, name: &str) {
    aws_sdk_ecr::Client::new(aws)
        .create_repository()
        .repository_name(name)
        .send()
        .await
        .expect("create the ECR repository in moto");
}

#[test]
fn the_ecr_destination_comes_from_the_repository_and_the_token() {
    let Some(moto) = test_harness::Moto::start() else {
        return;
    };
    runtime().block_on(async {
        let aws = aws_for(&moto).await;
        create_repository(&aws, "team/service-b").await;
        let destination = Registry::Ecr(&aws)
            .destination("team/service-b")
            .await
            .expect("resolve the ECR destination");
        let host = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com");
        assert_eq!(destination.repository, format!("{host}/team/service-b"));
        assert_eq!(destination.host(), host);
        let credentials = destination.credentials.expect("ECR credentials");
        assert_eq!(credentials.username.as_deref(), Some("AWS"));
        assert_eq!(
            credentials.password.as_deref(),
            Some(format!("{ACCOUNT}-auth-token").as_str())
        );
        assert_eq!(
            credentials.serveraddress.as_deref(),
            Some(format!("https://{host}").as_str())
        );
    });
}

#[test]
fn a_missing_ecr_repository_fails_preflight_before_anything_is_pushed() {
    let (Some(_), Some(moto)) = (test_harness::docker_host(), test_harness::Moto::start()) else {
        return;
    };
    let app = TestApp::new("Dockerfile", &[("Dockerfile", "FROM scratch\n")]);
    let env: Vec<(&str, String)> = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = app.deployer("push", &["--tag", "t1"], &env);
    run.expect_code(3);
    run.expect_stderr(&format!(
        "ECR repository `{}` does not exist in {REGION}",
        app.repository()
    ));
    run.expect_stderr("--registry");
}

#[test]
fn exists_looks_ecr_images_up_with_describe_images() {
    let Some(moto) = test_harness::Moto::start() else {
        return;
    };
    runtime().block_on(async {
        let aws = aws_for(&moto).await;
        create_repository(&aws, "service-a").await;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                       "digest": format!("sha256:{}", "a".repeat(64))},
            "layers": []
        });
        aws_sdk_ecr::Client::new(&aws)
            .put_image()
            .repository_name("service-a")
            .image_manifest(manifest.to_string())
            .image_tag("v1")
            .send()
            .await
            .expect("put an image into moto");
        let base = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com");
        for (uri, expected) in [
            (format!("{base}/service-a:v1"), true),
            (format!("{base}/service-a:v2"), false),
            (format!("{base}/no-such-repo:v1"), false),
        ] {
            let found = deployer::image::exists(&uri, &aws)
                .await
                .unwrap_or_else(|err| panic!("exists({uri}): {err:#}"));
            assert_eq!(found, expected, "{uri}");
        }
    });
}

#[test]
fn ecr_credentials_are_sent_with_the_push() {
    let (Some(_), Some(registry), Some(moto)) = (
        test_harness::docker_host(),
        test_harness::registry(),
        test_harness::Moto::start(),
    ) else {
        return;
    };
    let app = TestApp::new(
        "Dockerfile",
        &[
            ("Dockerfile", &format!("FROM {BASE_IMAGE}\nCOPY f /\n")),
            ("f", &unique("layer")),
        ],
    );
    let tag = unique("t");
    let remote = format!("{registry}/{}", app.repository());
    let _cleanup = ImageCleanup(vec![app.local_image(&tag), format!("{remote}:{tag}")]);
    app.deployer("build", &["--tag", &tag], &[]).expect_code(0);

    let pushed = runtime().block_on(async {
        let aws = aws_for(&moto).await;
        create_repository(&aws, &app.repository()).await;
        let ecr = Registry::Ecr(&aws)
            .destination(&app.repository())
            .await
            .expect("resolve the ECR destination");
        // Same credentials, local registry instead of moto's fake host.
        let destination = Destination {
            repository: remote.clone(),
            credentials: ecr.credentials,
        };
        pusher::push(
            &engine().await,
            &app.name,
            &app.local_image(&tag),
            &destination,
            &tag,
            "deployer build",
        )
        .await
        .expect("push with ECR credentials")
    });
    assert_eq!(pushed.tagged, format!("{remote}:{tag}"));
    assert_eq!(pushed.pinned, format!("{remote}@{}", pushed.digest));
    assert_eq!(
        manifest(&registry, &app.repository(), &tag).1.as_deref(),
        Some(pushed.digest.as_str())
    );
}

#[test]
fn the_push_command_resolves_ecr_and_then_needs_the_built_image() {
    // With the repository in ECR, `deployer push` gets past the ECR look-ups
    // and stops at the local image, which was never built: nothing is sent
    // to moto's registry host, which does not exist.
    let (Some(_), Some(moto)) = (test_harness::docker_host(), test_harness::Moto::start()) else {
        return;
    };
    let app = TestApp::new("Dockerfile", &[("Dockerfile", "FROM scratch\n")]);
    runtime().block_on(async {
        create_repository(&aws_for(&moto).await, &app.repository()).await;
    });
    let env: Vec<(&str, String)> = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = app.deployer("push", &["--tag", "t2"], &env);
    run.expect_code(3);
    run.expect_stderr(&format!(
        "image {} is not in the Docker engine",
        app.local_image("t2")
    ));
}
