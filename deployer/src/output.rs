//! The one place a command's result reaches people and programs: the JSON
//! document on stdout (`--output json`) or text (`--output text`: what a
//! command found on stdout, one summary line per app on stderr), and the
//! JSON document in `--result-file`. Commands return a [`Report`]; only
//! this module prints it.

use std::path::Path;

use crate::cli::Output;
use crate::exit::Code;
use crate::report::{Details, Report};

/// Prints `report` as `output` asks, writes it to `result_file` when one
/// is given, and returns the process exit code.
pub fn deliver(report: &Report, output: Output, result_file: Option<&Path>) -> Code {
    match output {
        // `logs` prints its events on stdout; its result goes to
        // --result-file and the summary to stderr only.
        Output::Json if report.command == "logs" => {}
        Output::Json => match serde_json::to_string_pretty(report) {
            Ok(text) => println!("{text}"),
            Err(err) => eprintln!("error: cannot print the result: {err}"),
        },
        Output::Text => {
            print!("{}", page(report));
            eprint!("{}", report.summary());
        }
    }
    if let Some(file) = result_file {
        if let Err(err) = report.write(file) {
            eprintln!("error: {err:#}");
            return Code::BadInput;
        }
    }
    report.code()
}

/// What the command found, as a person reads it on stdout: empty for
/// commands that report only an outcome.
pub fn page(report: &Report) -> String {
    let mut out = String::new();
    let local_status: Vec<&crate::local::status::AppStatus> = report
        .apps
        .iter()
        .filter_map(|app| match &app.details {
            Some(Details::LocalStatus(status)) => Some(status),
            _ => None,
        })
        .collect();
    if !local_status.is_empty() {
        out.push_str(&crate::local::status::text(&local_status));
    }
    for app in &report.apps {
        match &app.details {
            Some(Details::Rendered(rendered)) => match report.command {
                "diff" => out.push_str(rendered.diff.as_deref().unwrap_or_default()),
                "render" => out.push_str(&rendered.text(&app.app, false)),
                _ => out.push_str(&rendered.text(&app.app, true)),
            },
            Some(Details::EcsStatus(status)) => {
                out.push_str(&status.text(&app.app));
                out.push('\n');
            }
            Some(Details::Container(body)) => {
                out.push_str(&serde_json::to_string_pretty(body).unwrap_or_default());
                out.push('\n');
            }
            Some(Details::Prune(_) | Details::LocalStatus(_)) | None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ecs::RenderedDetails;
    use crate::report::{AppReport, Outcome};

    fn rendered(command: &'static str, diff: Option<&str>) -> Report {
        let mut app = AppReport::new("service-a", "aws");
        app.end(Outcome::DryRun, "");
        app.details = Some(Details::Rendered(RenderedDetails {
            running_revision: "service-a:3".to_owned(),
            task_definition: serde_json::json!({ "family": "service-a" }),
            diff: diff.map(str::to_owned),
        }));
        Report::new(command, vec![app], Duration::ZERO)
    }

    #[test]
    fn render_shows_the_task_definition_only() {
        let page = page(&rendered("render", Some("-a\n+b\n")));
        assert!(page.contains("\"family\": \"service-a\""), "{page}");
        assert!(!page.contains("+b"), "{page}");
    }

    #[test]
    fn diff_shows_the_diff_only() {
        assert_eq!(page(&rendered("diff", Some("-a\n+b\n"))), "-a\n+b\n");
        assert_eq!(page(&rendered("diff", None)), "");
    }

    #[test]
    fn a_dry_run_shows_both_and_says_when_nothing_differs() {
        let page = page(&rendered("deploy", None));
        assert!(
            page.starts_with("# service-a: task definition rendered from service-a:3\n{"),
            "{page}"
        );
        assert!(
            page.ends_with("# service-a: diff against service-a:3\n(no differences)\n"),
            "{page}"
        );
    }

    #[test]
    fn commands_without_details_print_nothing_on_stdout() {
        let mut app = AppReport::new("service-a", "aws");
        app.end(Outcome::Completed, "done");
        assert_eq!(page(&Report::new("deploy", vec![app], Duration::ZERO)), "");
    }
}
