//! The real app images: `Dockerfile.a` and `Dockerfile.b` at the repository
//! root, built through `deployer build` (bollard) with the repository as
//! the context, pushed to the local registry, and started to answer their
//! health check.
//!
//! These are full release builds of the services, so they take minutes.
//! Until the Dockerfiles exist in the tree, the test says so and skips.

mod image_support;

use std::time::Duration;

use image_support::{deployer, manifest, unique, Container, ImageCleanup};

const APPS: [&str; 2] = ["service-a", "service-b"];

#[test]
fn both_app_images_build_push_and_answer_their_health_check() {
    let (Some(_), Some(registry)) = (test_harness::docker_host(), test_harness::registry()) else {
        return;
    };
    let root = test_harness::repo_root();
    let config_dir = root.join("config");
    let configs: Vec<app_config::AppConfig> = APPS
        .iter()
        .map(|app| app_config::load_app(&config_dir, app).expect("load the app's JSON"))
        .collect();
    let missing: Vec<String> = configs
        .iter()
        .map(|c| root.join(&c.deploy.dockerfile))
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
    if !missing.is_empty() {
        eprintln!("SKIPPED: no {} yet", missing.join(", "));
        return;
    }

    let tag = unique("apptest");
    let mut cleanup = ImageCleanup(Vec::new());
    for cfg in &configs {
        cleanup.0.push(format!("{}:{tag}", cfg.repository()));
        cleanup
            .0
            .push(format!("{registry}/{}:{tag}", cfg.repository()));
    }
    let root_arg = root.to_str().expect("utf-8 path");
    let config_arg = config_dir.to_str().expect("utf-8 path");
    let common = [
        "--config-dir",
        config_arg,
        "--context",
        root_arg,
        "--tag",
        &tag,
    ];

    let build = deployer(
        &[
            &["build", APPS[0], APPS[1]][..],
            &common,
            &["--output", "json"],
        ]
        .concat(),
        &[],
    );
    build.expect_code(0);
    let push = deployer(
        &[
            &["push", APPS[0], APPS[1]][..],
            &common,
            &["--registry", &registry, "--output", "json"],
        ]
        .concat(),
        &[],
    );
    push.expect_code(0);
    let report = push.report();

    for (i, cfg) in configs.iter().enumerate() {
        let pinned = report["apps"][i]["image"].as_str().expect("a pushed image");
        let digest = pinned.rsplit_once('@').expect("pinned by digest").1;
        assert_eq!(
            manifest(&registry, cfg.repository(), &tag).1.as_deref(),
            Some(digest),
            "{} in the registry",
            cfg.app
        );

        // The image runs the app: start it on a free port and ask for the
        // load balancer's health path.
        let reserved = test_harness::reserve_port();
        let port = reserved.port;
        let container = Container::start(
            pinned,
            vec![
                format!("APP_PORT={port}"),
                "APP_BIND=127.0.0.1".to_owned(),
                format!("APP_VERSION={tag}"),
            ],
        );
        let url = format!("http://127.0.0.1:{port}{}", cfg.health_check_path());
        assert!(
            test_harness::wait_http_ok(&url, Duration::from_secs(60)),
            "{} did not answer {url}; logs:\n{}",
            cfg.app,
            container.logs()
        );
    }
}
