//! Dispatch from the parsed command line to the module that does the work.

use std::time::Instant;

use crate::cli::{Cli, Command, Target};
use crate::report::Report;

/// Runs the command `cli` names and returns its report.
pub async fn run(cli: Cli) -> anyhow::Result<Report> {
    let started = Instant::now();
    let global = cli.global;
    let command = cli.command.unwrap_or(Command::Deploy(cli.deploy));
    match (command, global.target) {
        (Command::Deploy(args), Target::Aws) => crate::ecs::deploy(&global, &args, started).await,
        (Command::Deploy(args), Target::Local) => {
            crate::local::deploy(&global, &args, started).await
        }
        (Command::Build(args), _) => crate::image::build(&global, &args, started).await,
        (Command::Push(args), _) => crate::image::push(&global, &args, started).await,
        (Command::Render(args), _) => crate::ecs::render(&global, &args, started).await,
        (Command::Diff(args), _) => crate::ecs::diff(&global, &args, started).await,
        (Command::Status(args), Target::Aws) => crate::ecs::status(&global, &args, started).await,
        (Command::Status(args), Target::Local) => {
            crate::local::status(&global, &args, started).await
        }
        (Command::Rollback(args), Target::Aws) => {
            crate::ecs::rollback(&global, &args, started).await
        }
        (Command::Prune(args), Target::Aws) => crate::ecs::prune(&global, &args, started).await,
        (Command::Up(args), _) => crate::local::up(&global, &args, started).await,
        (Command::Down(args), _) => crate::local::down(&global, &args, started).await,
        (Command::Logs(args), _) => crate::logs::logs(&global, &args, started).await,
        (Command::Cost(args), _) => {
            crate::cost::command(&global, &args).map_err(crate::exit::Failure::from)?;
            Ok(Report::new("cost", Vec::new(), started.elapsed()))
        }
        (Command::Rollback(_) | Command::Prune(_), Target::Local) => Err(
            crate::exit::Failure::bad_input(
                "rollback and prune apply to ECS only; on the local target a failed deploy rolls back by itself",
            )
            .into(),
        ),
    }
}
