//! Dispatch from the parsed command line to the module that does the work.

use std::time::Instant;

use crate::cli::{Cli, Command, GlobalArgs, Platform};
use crate::report::Report;

/// What a command returns.
#[derive(Debug)]
pub enum Run {
    /// The result of a command on apps: rendered by [`crate::output`].
    Report(Report),
    /// A document of its own (`cost`'s table or JSON), printed as it is.
    Page(String),
}

/// Runs the command `cli` names and returns what it found.
pub async fn run(cli: Cli) -> anyhow::Result<Run> {
    let started = Instant::now();
    let global = cli.global;
    let command = cli.command.unwrap_or(Command::Deploy(cli.deploy));
    if let Command::Cost(args) = &command {
        let page = crate::cost::command(&global, args).map_err(crate::exit::Failure::from)?;
        return Ok(Run::Page(page));
    }
    run_on_apps(command, global, started).await.map(Run::Report)
}

async fn run_on_apps(
    command: Command,
    global: GlobalArgs,
    started: Instant,
) -> anyhow::Result<Report> {
    match (command, global.target) {
        (Command::Deploy(args), Platform::Aws) => crate::ecs::deploy(&global, &args, started).await,
        (Command::Deploy(args), Platform::Local) => {
            crate::local::deploy(&global, &args, started).await
        }
        (Command::Build(args), _) => crate::image::build(&global, &args, started).await,
        (Command::Push(args), _) => crate::image::push(&global, &args, started).await,
        (Command::Render(args), _) => crate::ecs::render(&global, &args, started).await,
        (Command::Diff(args), _) => crate::ecs::diff(&global, &args, started).await,
        (Command::Status(args), Platform::Aws) => crate::ecs::status(&global, &args, started).await,
        (Command::Status(args), Platform::Local) => {
            crate::local::status(&global, &args, started).await
        }
        (Command::Rollback(args), Platform::Aws) => {
            crate::ecs::rollback(&global, &args, started).await
        }
        (Command::Prune(args), Platform::Aws) => crate::ecs::prune(&global, &args, started).await,
        (Command::Up(args), _) => crate::local::up(&global, &args, started).await,
        (Command::Down(args), _) => crate::local::down(&global, &args, started).await,
        (Command::Logs(args), _) => crate::logs::logs(&global, &args, started).await,
        (Command::Cost(_), _) => Err(crate::exit::Failure::bad_input(
            "cost is not a command on apps",
        )
        .into()),
        (Command::Rollback(_) | Command::Prune(_), Platform::Local) => Err(
            crate::exit::Failure::bad_input(
                "rollback and prune apply to ECS only; on the local target a failed deploy rolls back by itself",
            )
            .into(),
        ),
    }
}
