//! `deployer`: builds, pushes and rolls out the apps described in
//! `config/<app>.json`, on ECS or on the local Docker engine.

use std::process::ExitCode;
use std::time::Instant;

use deployer::commands::Run;
use deployer::exit;
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
    let started = Instant::now();
    let output = cli.global.output;
    let result_file = cli.global.result_file.clone();
    match deployer::commands::run(cli).await {
        Ok(Run::Report(report)) => {
            deployer::output::deliver(&report, output, result_file.as_deref()).into()
        }
        Ok(Run::Page(text)) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {}", exit::describe(&err));
            let report = Report::failed(err, started);
            if let Some(file) = &result_file {
                if let Err(write_err) = report.write(file) {
                    eprintln!("error: {write_err:#}");
                }
            }
            report.code().into()
        }
    }
}
