//! The process: command line, configuration, logging, runtime, server.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit;
use crate::identity::Identity;
use crate::server::Drained;
pub use crate::settings::EmbeddedConfig;
use crate::settings::{Settings, SettingsError};
use crate::shutdown::Signals;

/// Serves the app's microservices (the default), or probes a running one.
///
/// Configuration comes from the app's JSON (compiled in, or `APP_CONFIG`)
/// and the environment: APP_NAME, APP_LAUNCH_TYPE, APP_ENV, APP_PORT,
/// APP_VERSION, APP_BIND, LOG_FORMAT, RUST_LOG.
#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, Subcommand)]
enum Command {
    /// Serve until SIGTERM or SIGINT, then drain and exit 0.
    Serve,
    /// Ask the server on this host for its health check path; exit 0 when
    /// it answers healthy, 1 otherwise.
    Healthcheck,
}

/// Runs the app described by `embedded` (or by `APP_CONFIG`). Both apps'
/// `main` is this call. Exit codes are in [`crate::exit`].
pub fn run(embedded: EmbeddedConfig) -> ExitCode {
    let cli = Cli::parse();
    let settings = match load(embedded) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Healthcheck => healthcheck(&settings),
    }
}

/// The settings, and a router built from them so that a JSON whose routes
/// clash is a configuration error too.
fn load(
    embedded: EmbeddedConfig,
) -> Result<(Settings, crate::middleware::App, Identity), SettingsError> {
    let settings = Settings::load(embedded)?;
    let identity = Identity::from_host_name();
    let router =
        crate::routes::router(&settings.app, &settings.env, identity.clone()).map_err(|err| {
            SettingsError::Routes {
                file: settings.file.clone(),
                field: err.field,
                reason: err.reason,
            }
        })?;
    Ok((settings, router, identity))
}

fn serve((settings, router, identity): (Settings, crate::middleware::App, Identity)) -> ExitCode {
    // Declared before the runtime, so dropped after it: every line logged
    // until the drain ends is written out before the process exits.
    let _log = telemetry::init_non_blocking(settings.env.log_format, "info");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(error = %err, "cannot start the async runtime");
            return ExitCode::from(exit::FAILURE);
        }
    };
    runtime.block_on(async {
        let signals = match Signals::register() {
            Ok(signals) => signals,
            Err(err) => {
                tracing::error!(error = %err, "cannot register signal handlers");
                return ExitCode::from(exit::FAILURE);
            }
        };
        let addr = SocketAddr::new(settings.env.bind, settings.env.port);
        let listener = match crate::listener::bind(addr) {
            Ok(listener) => listener,
            Err(err) => {
                tracing::error!(%addr, error = %err, "cannot listen");
                return ExitCode::from(exit::FAILURE);
            }
        };
        identity.discover_task();
        let microservices = settings
            .app
            .microservices
            .iter()
            .map(|ms| ms.name.as_str())
            .collect::<Vec<_>>()
            .join(",");
        tracing::info!(
            app = %settings.env.app_name,
            %addr,
            %microservices,
            launch_type = %settings.env.launch_type,
            environment = %settings.env.environment,
            version = %settings.env.version,
            config = %settings.file.display(),
            "listening"
        );
        match crate::server::serve(listener, router, signals).await {
            Drained::Complete | Drained::Cut(_) => ExitCode::from(exit::OK),
        }
    })
}

fn healthcheck(
    (settings, _router, _identity): &(Settings, crate::middleware::App, Identity),
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(crate::healthcheck::probe(settings)) {
        Ok(line) => {
            println!("healthy: {line}");
            ExitCode::from(exit::OK)
        }
        Err(reason) => {
            eprintln!("unhealthy: {reason}");
            ExitCode::from(exit::FAILURE)
        }
    }
}
