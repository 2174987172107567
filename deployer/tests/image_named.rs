//! `deployer build|push --repository NAME --dockerfile FILE`: an image that
//! is not an app (deployer's own), against the real engine and the local
//! registry, with no app JSON at all.

mod image_support;

use image_support::{
    deployer, engine_turn, manifest, unique, EngineTurn, ImageCleanup, BASE_IMAGE,
};

/// A build context with `Dockerfile.tool`, and a config directory with no
/// app in it: nothing may be read from an app's JSON.
struct NamedCase {
    dir: tempfile::TempDir,
    registry: String,
    repository: String,
    tag: String,
    _cleanup: ImageCleanup,
    /// Builds happen during this test's turn at the engine.
    _turn: EngineTurn,
}

impl NamedCase {
    fn new() -> Option<Self> {
        let (Some(_), Some(registry)) = (test_harness::docker_host(), test_harness::registry())
        else {
            return None;
        };
        let turn = engine_turn();
        let dir = tempfile::tempdir().expect("create a temp dir");
        std::fs::create_dir_all(dir.path().join("context")).expect("mkdir context");
        std::fs::create_dir_all(dir.path().join("config")).expect("mkdir config");
        std::fs::write(
            dir.path().join("context/Dockerfile.tool"),
            format!("FROM {BASE_IMAGE}\nCOPY tool.txt /\n"),
        )
        .expect("write the Dockerfile");
        std::fs::write(dir.path().join("context/tool.txt"), unique("tool"))
            .expect("write tool.txt");
        let repository = format!("deployer-tests/{}", unique("tool"));
        let tag = unique("t");
        let cleanup = ImageCleanup(vec![
            format!("{repository}:{tag}"),
            format!("{registry}/{repository}:{tag}"),
        ]);
        Some(NamedCase {
            dir,
            registry,
            repository,
            tag,
            _cleanup: cleanup,
            _turn: turn,
        })
    }

    fn run(&self, command: &str, extra: &[&str]) -> image_support::Run {
        let context = self.dir.path().join("context");
        let config = self.dir.path().join("config");
        let mut args = vec![
            command,
            "--repository",
            &self.repository,
            "--dockerfile",
            "Dockerfile.tool",
            "--context",
            context.to_str().expect("utf-8 path"),
            "--config-dir",
            config.to_str().expect("utf-8 path"),
            "--tag",
            &self.tag,
            "--registry",
            &self.registry,
            "--output",
            "json",
        ];
        args.extend(extra);
        deployer(&args, &[])
    }
}

#[test]
fn a_named_image_is_built_pushed_and_skipped_once_pushed() {
    let Some(case) = NamedCase::new() else {
        return;
    };
    let remote = format!("{}/{}", case.registry, case.repository);

    let built = case.run("build", &["--skip-existing"]);
    built.expect_code(0);
    let built = built.report();
    assert_eq!(built["apps"][0]["outcome"], "completed", "{built}");
    assert_eq!(built["apps"][0]["app"], case.repository.as_str());
    assert_eq!(
        built["apps"][0]["image"],
        format!("{}:{}", case.repository, case.tag)
    );

    let pushed = case.run("push", &["--skip-existing"]);
    pushed.expect_code(0);
    let pushed = pushed.report();
    assert_eq!(pushed["apps"][0]["outcome"], "completed", "{pushed}");
    let pinned = pushed["apps"][0]["image"].as_str().expect("an image");
    let digest = pinned
        .strip_prefix(&format!("{remote}@"))
        .unwrap_or_else(|| panic!("{pinned} is not {remote}@<digest>"));
    let (status, served) = manifest(&case.registry, &case.repository, &case.tag);
    assert_eq!(status, 200);
    assert_eq!(served.as_deref(), Some(digest));

    // The rerun: the tag is in the registry, so neither builds nor pushes.
    drop(ImageCleanup(vec![format!(
        "{}:{}",
        case.repository, case.tag
    )]));
    for command in ["build", "push"] {
        let run = case.run(command, &["--skip-existing"]);
        run.expect_code(0);
        let report = run.report();
        assert_eq!(report["outcome"], "no_change", "{command}: {report}");
        assert_eq!(report["apps"][0]["image"], format!("{remote}:{}", case.tag));
    }
    // Nothing was built: a plain push has no local image, and its hint
    // names the flags that build it.
    case.run("push", &[])
        .expect_code(3)
        .expect_stderr("--repository")
        .expect_stderr("--dockerfile Dockerfile.tool");
}

#[test]
fn bad_named_image_flags_are_refused_naming_the_flag() {
    let Some(case) = NamedCase::new() else {
        return;
    };
    // Bad input exits 2 (see `deployer --help`). A Dockerfile that is not
    // in the context:
    let context = case.dir.path().join("context");
    let run = deployer(
        &[
            "build",
            "--repository",
            &case.repository,
            "--dockerfile",
            "Dockerfile.missing",
            "--context",
            context.to_str().expect("utf-8 path"),
            "--tag",
            &case.tag,
        ],
        &[],
    );
    run.expect_code(2).expect_stderr("--dockerfile");
    // A repository name with a host in it.
    let run = deployer(
        &[
            "build",
            "--repository",
            "127.0.0.1:5050/deployer",
            "--dockerfile",
            "Dockerfile.tool",
            "--tag",
            &case.tag,
        ],
        &[],
    );
    run.expect_code(2).expect_stderr("--repository");
    // --repository without --dockerfile is a usage error.
    deployer(&["build", "--repository", "deployer"], &[])
        .expect_code(2)
        .expect_stderr("--dockerfile");
}
