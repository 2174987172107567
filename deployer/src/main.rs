//! `deployer`: builds, pushes and rolls out the apps described in
//! `config/<app>.json`, on ECS or on the local Docker engine.

use std::process::ExitCode;
use std::time::Instant;

use deployer::cli::Output;
use deployer::exit::{self, Code};
use deployer::report::Report;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = deployer::cli::parse();
    telemetry::init(
        cli.global.log_format,
        // The SDK's own warnings (IMDS probes, raw responses) are not for
        // people: the error that matters is reported in one line.
        "info,aws_config=error,aws_runtime=error,aws_smithy_runtime=error,\
         aws_smithy_runtime_api=error",
    );
    // `cost` prints its own table or JSON document, not a deploy report.
    if let Some(deployer::cli::Command::Cost(args)) = &cli.command {
        return match deployer::cost::command(&cli.global, args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err}");
                Code::BadInput.into()
            }
        };
    }
    let started = Instant::now();
    let output = cli.global.output;
    let result_file = cli.global.result_file.clone();

    let report = match deployer::commands::run(cli).await {
        Ok(report) => report,
        Err(err) => {
            let code = exit::code_of(&err);
            eprintln!("error: {}", exit::describe(&err));
            if let Some(file) = &result_file {
                let report = Report::failed(&err, code, started.elapsed());
                if let Err(write_err) = report.write(file) {
                    eprintln!("error: {write_err:#}");
                }
            }
            return code.into();
        }
    };

    match output {
        // `logs` prints its events on stdout; its result goes to
        // --result-file and the summary to stderr only.
        Output::Json if report.command == "logs" => {}
        Output::Json => match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(err) => eprintln!("error: cannot print the result: {err}"),
        },
        Output::Text => eprint!("{}", report.summary()),
    }
    if let Some(file) = &result_file {
        if let Err(err) = report.write(file) {
            eprintln!("error: {err:#}");
            return Code::BadInput.into();
        }
    }
    report.code().into()
}
