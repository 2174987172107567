//! Command line. `deployer <app>...` is short for `deployer deploy <app>...`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Build, push and roll out the apps described in `config/<app>.json`, on
/// ECS or on the local Docker engine.
#[derive(Debug, Parser)]
#[command(
    name = "deployer",
    version,
    subcommand_negates_reqs = true,
    after_help = crate::exit::HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// `deployer <app>...`: the same as `deployer deploy <app>...`.
    #[command(flatten)]
    pub deploy: DeployArgs,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Directory holding `<app>.json` for every app.
    #[arg(long, global = true, env = "DEPLOYER_CONFIG_DIR", default_value = app_config::DEFAULT_DIR)]
    pub config_dir: PathBuf,

    /// Read this JSON instead of `<config-dir>/<app>.json` (one app only).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// ECS cluster, instead of the JSON's `deploy.cluster`.
    #[arg(long, global = true, env = "ECS_CLUSTER")]
    pub cluster: Option<String>,

    /// ECS service, instead of the JSON's `deploy.service` (one app only).
    #[arg(long, global = true, env = "ECS_SERVICE")]
    pub service_name: Option<String>,

    /// AWS region. Without it the standard AWS configuration chain decides.
    #[arg(long, global = true)]
    pub region: Option<String>,

    /// The environment the app runs as (its `APP_ENV`).
    #[arg(long, global = true, env = "DEPLOY_ENV")]
    pub environment: Option<String>,

    /// Where apps run: ECS, or the local Docker engine behind the gateway.
    #[arg(long, global = true, value_enum, env = "DEPLOYER_TARGET", default_value_t = Platform::Aws)]
    pub target: Platform,

    /// Print the result as JSON on stdout instead of text.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,

    /// Also write the JSON result to this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub result_file: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, env = "LOG_FORMAT", default_value = "auto")]
    pub log_format: app_config::LogFormat,
}

/// Where apps run (`--target`). Called a platform in the code, because
/// "target" there means a load balancer's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Platform {
    /// Amazon ECS, through the standard AWS configuration
    /// (`AWS_ENDPOINT_URL` and credentials work unchanged).
    Aws,
    /// The local Docker engine, behind the local gateway (`deployer up`).
    Local,
}

impl Platform {
    /// The `--target` value, as the result's `target` field gives it.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Result format on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people.
    Text,
    /// For pipelines: the same document `--result-file` writes.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build, push, register, roll out and follow; roll back on failure;
    /// prune after success.
    Deploy(DeployArgs),
    /// Build an app's image through the Docker engine.
    Build(ImageArgs),
    /// Push an app's built image to its repository.
    Push(ImageArgs),
    /// Print the task definition a deploy would register.
    Render(RenderArgs),
    /// Diff the task definition a deploy would register against the running one.
    Diff(DiffArgs),
    /// Running revision, image, counts, deployments and target health.
    Status(StatusArgs),
    /// Put an app back on its previous revision, or on `--revision N`.
    Rollback(RollbackArgs),
    /// Deregister old revisions that nothing uses.
    Prune(PruneArgs),
    /// Run the whole fleet on the local Docker engine behind the gateway.
    Up(UpArgs),
    /// Remove everything `up` started.
    Down(DownArgs),
    /// An app's log events, newest last (CloudWatch Logs, or the local
    /// fleet's containers with `--target local`).
    Logs(LogsArgs),
    /// Monthly cost of the stack under a week of demand, and the levers
    /// that lower it.
    Cost(CostArgs),
}

/// Which image to deploy.
#[derive(Debug, Clone, Args)]
pub struct ImageSource {
    /// Image tag. Defaults to the git short SHA of the working tree.
    #[arg(long, env = "IMAGE_TAG", conflicts_with = "image")]
    pub tag: Option<String>,

    /// Deploy this image as it is: no build, no push.
    #[arg(long, value_name = "URI")]
    pub image: Option<String>,

    /// Registry host instead of the account's ECR registry, for tests and
    /// mirrors (such as `127.0.0.1:5050`).
    #[arg(long, env = "DEPLOYER_REGISTRY")]
    pub registry: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// Apps to deploy, in parallel (`service-a`, `service-b`).
    #[arg(value_name = "APP", required = true)]
    pub apps: Vec<String>,

    #[command(flatten)]
    pub image: ImageSource,

    /// Build context directory.
    #[arg(long, default_value = ".")]
    pub context: PathBuf,

    /// Print the rendered task definition and its diff; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Give up on the rollout after this long, and roll back: seconds
    /// (`600`) or a duration (`10m`, `1h 30m`).
    #[arg(long, default_value = "15m", value_parser = duration)]
    pub timeout: Duration,

    /// How often to poll the rollout: seconds or a duration.
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub poll_interval: Duration,

    /// After success, keep this many newest revisions (besides any in use).
    #[arg(long, default_value_t = 5)]
    pub keep: usize,

    /// Do not prune after success.
    #[arg(long)]
    pub no_prune: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ImageArgs {
    /// Apps whose image to build or push.
    #[arg(value_name = "APP", required_unless_present = "repository")]
    pub apps: Vec<String>,

    /// Build or push an image that is not an app (such as deployer's own,
    /// `Dockerfile.deployer`): its repository name, instead of an app's.
    /// Takes `--dockerfile`.
    #[arg(
        long,
        value_name = "NAME",
        requires = "dockerfile",
        conflicts_with = "apps"
    )]
    pub repository: Option<String>,

    /// With `--repository`: the Dockerfile, relative to `--context`.
    #[arg(long, value_name = "FILE", requires = "repository")]
    pub dockerfile: Option<String>,

    /// Image tag. Defaults to the git short SHA of the working tree.
    #[arg(long, env = "IMAGE_TAG")]
    pub tag: Option<String>,

    /// Registry host instead of the account's ECR registry.
    #[arg(long, env = "DEPLOYER_REGISTRY")]
    pub registry: Option<String>,

    /// Build context directory.
    #[arg(long, default_value = ".")]
    pub context: PathBuf,

    /// Do nothing for an app whose tag is already in its repository, and
    /// report `no_change`: a rerun of a built commit neither rebuilds nor
    /// pushes (ECR tags are immutable).
    #[arg(long)]
    pub skip_existing: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// The app.
    #[arg(value_name = "APP")]
    pub app: String,

    #[command(flatten)]
    pub image: ImageSource,
}

#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub render: RenderArgs,

    /// Exit 1 when there are differences, 0 when there are none.
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Apps to show. Defaults to every app in the config directory.
    #[arg(value_name = "APP")]
    pub apps: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RollbackArgs {
    /// The app.
    #[arg(value_name = "APP")]
    pub app: String,

    /// Task definition revision to go back to. Defaults to the revision
    /// before the running one that the last deploy recorded.
    #[arg(long)]
    pub revision: Option<i32>,

    /// Give up waiting for the rollback after this long: seconds (`600`)
    /// or a duration (`10m`).
    #[arg(long, default_value = "15m", value_parser = duration)]
    pub timeout: Duration,

    /// How often to poll the rollout: seconds or a duration.
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub poll_interval: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    /// The app.
    #[arg(value_name = "APP")]
    pub app: String,

    /// Keep this many newest revisions, besides any revision in use.
    #[arg(long, default_value_t = 5)]
    pub keep: usize,

    /// List what would be deregistered; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Apps to run. Defaults to every app in the config directory.
    #[arg(value_name = "APP")]
    pub apps: Vec<String>,

    /// Address the gateway listens on.
    #[arg(long, env = "DEPLOYER_GATEWAY", default_value = "127.0.0.1:8080")]
    pub gateway: std::net::SocketAddr,

    /// Image tag. Defaults to the git short SHA of the working tree.
    #[arg(long, env = "IMAGE_TAG")]
    pub tag: Option<String>,

    /// Use the images already built for `--tag`.
    #[arg(long)]
    pub no_build: bool,

    /// Build context directory.
    #[arg(long, default_value = ".")]
    pub context: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct DownArgs {}

#[derive(Debug, Clone, Args)]
pub struct CostArgs {
    /// Apps to price. Defaults to every app in the config directory.
    #[arg(value_name = "APP")]
    pub apps: Vec<String>,

    /// Demand: `idle` (every app at replicas.min), `peak` (at
    /// replicas.max), `builtin` (the weekday/weekend profile, the default),
    /// or a CSV file of requests per second per app for hours 0-167.
    #[arg(long, value_name = "idle|peak|builtin|FILE")]
    pub traffic: Option<String>,

    /// Terraform variables file, instead of `<infra-dir>/terraform.tfvars`
    /// (else `terraform.tfvars.example`).
    #[arg(long, value_name = "FILE")]
    pub tfvars: Option<PathBuf>,

    /// The Terraform root: its `variables.tf` defaults and tfvars.
    #[arg(long, default_value = "infra")]
    pub infra_dir: PathBuf,

    /// Directory of the price sheets, `<region>.json`.
    #[arg(long, env = "DEPLOYER_PRICING_DIR", default_value = "pricing")]
    pub pricing_dir: PathBuf,

    /// Draw tasks per app and dollars per hour over the week into this SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,

    /// Also write the hourly demand used, as a `--traffic` CSV.
    #[arg(long, value_name = "FILE")]
    pub write_traffic: Option<PathBuf>,
}

/// Parses the process arguments, exiting with a usage error (code 2) when
/// they do not fit.
pub fn parse() -> Cli {
    try_parse_from(std::env::args_os()).unwrap_or_else(|err| err.exit())
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The app.
    #[arg(value_name = "APP")]
    pub app: String,

    /// How far back to start, such as 30s, 15m or 2h.
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub since: String,

    /// Keep printing new events until interrupted.
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// How often `--follow` asks for new events.
    #[arg(long, default_value = "2s", value_name = "DURATION")]
    pub poll_interval: String,

    /// CloudWatch Logs filter pattern, such as `ERROR` or `{ $.level = "WARN" }`
    /// (on the local target: lines containing every term).
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,

    /// One task: its ECS task ID or ARN (on the local target, a container
    /// name or ID).
    #[arg(long, value_name = "TASK")]
    pub task: Option<String>,
}

/// Parses `args`. Deploy flags given before a subcommand
/// (`deployer --dry-run status`) would otherwise be ignored without a word,
/// so they are refused.
///
/// clap's recipe for a default subcommand, `args_conflicts_with_subcommands`,
/// does not fit here: with it, any flag before a subcommand, global ones
/// included, makes clap read the subcommand as an app name, so
/// `deployer --target local status` would deploy an app called `status`
/// (the test `global_flags_may_come_before_the_subcommand` shows it).
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(args)?;
    if let Some((name, _)) = matches.subcommand() {
        let deploy_args = <DeployArgs as Args>::augment_args(clap::Command::new("deploy"));
        let misplaced = deploy_args.get_arguments().find(|arg| {
            matches!(
                matches.value_source(arg.get_id().as_str()),
                Some(clap::parser::ValueSource::CommandLine)
            )
        });
        if let Some(arg) = misplaced {
            let flag = arg
                .get_long()
                .map(|l| format!("--{l}"))
                .unwrap_or_else(|| arg.get_id().to_string());
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "{flag} is a deploy flag; `deployer {name}` does not take it before its name"
                ),
            ));
        }
    }
    Cli::from_arg_matches(&matches)
}

/// A duration as people type it: a bare number is seconds (`60`), anything
/// else is humantime's (`90s`, `10m`, `1h 30m`).
fn duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if let Ok(seconds) = trimmed.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(trimmed)
        .map_err(|err| format!("{err}: give seconds (`600`) or a duration (`10m`, `1h 30m`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        try_parse_from(std::iter::once("deployer").chain(args.iter().copied()))
    }

    #[test]
    fn an_app_name_alone_means_deploy() {
        let cli = parse(&["service-b", "--image", "r/s:1", "--cluster", "c"]).expect("parses");
        assert!(cli.command.is_none());
        assert_eq!(cli.deploy.apps, ["service-b"]);
        assert_eq!(cli.deploy.image.image.as_deref(), Some("r/s:1"));
        assert_eq!(cli.global.cluster.as_deref(), Some("c"));
    }

    #[test]
    fn global_flags_may_come_before_the_subcommand() {
        let cli = parse(&["--config-dir", "x", "deploy", "service-a"]).expect("parses");
        match cli.command {
            Some(Command::Deploy(args)) => assert_eq!(args.apps, ["service-a"]),
            other => panic!("expected deploy, got {other:?}"),
        }
        assert_eq!(cli.global.config_dir, std::path::Path::new("x"));
        let cli = parse(&["--target", "local", "status"]).expect("parses");
        assert!(matches!(cli.command, Some(Command::Status(_))));
        assert_eq!(cli.global.target, Platform::Local);
    }

    #[test]
    fn deploy_flags_before_another_subcommand_are_refused() {
        let err = parse(&["--dry-run", "status"]).expect_err("refused");
        assert!(err.to_string().contains("--dry-run"), "{err}");
    }

    #[test]
    fn an_image_named_by_repository_takes_no_app() {
        let cli = parse(&[
            "push",
            "--repository",
            "deployer",
            "--dockerfile",
            "Dockerfile.deployer",
        ])
        .expect("parses");
        match cli.command {
            Some(Command::Push(args)) => {
                assert!(args.apps.is_empty());
                assert_eq!(args.repository.as_deref(), Some("deployer"));
                assert_eq!(args.dockerfile.as_deref(), Some("Dockerfile.deployer"));
            }
            other => panic!("expected push, got {other:?}"),
        }
        let err = parse(&["build", "--repository", "deployer"]).expect_err("no --dockerfile");
        assert!(err.to_string().contains("--dockerfile"), "{err}");
        let err = parse(&["build", "--dockerfile", "D"]).expect_err("no --repository");
        assert!(err.to_string().contains("--repository"), "{err}");
        let err = parse(&[
            "build",
            "service-a",
            "--repository",
            "r",
            "--dockerfile",
            "D",
        ])
        .expect_err("app and --repository");
        assert!(err.to_string().contains("--repository"), "{err}");
        assert!(parse(&["build"]).is_err());
    }

    #[test]
    fn tag_and_image_exclude_each_other() {
        assert!(parse(&["deploy", "service-a", "--tag", "t", "--image", "r/s:1"]).is_err());
    }

    #[test]
    fn a_bare_number_is_seconds() {
        let cli = parse(&["deploy", "service-a", "--timeout", "60"]).expect("parses");
        match cli.command {
            Some(Command::Deploy(args)) => assert_eq!(args.timeout, Duration::from_secs(60)),
            other => panic!("expected deploy, got {other:?}"),
        }
        assert_eq!(duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(duration("1h 30m"), Ok(Duration::from_secs(5400)));
        let err = duration("ten").expect_err("refused");
        assert!(err.contains("give seconds"), "{err}");
    }
}
