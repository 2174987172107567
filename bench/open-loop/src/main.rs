//! `open-loop`: loads one URL at a fixed rate and prints the latencies, from
//! each request's scheduled time, as one JSON object (see the library's
//! documentation for why wrk cannot measure this).
//!
//! ```console
//! $ open-loop --rate 30000 --connections 64 --duration 5s http://127.0.0.1:5990/medical
//! {"targets":[{"url":"http://127.0.0.1:5990/medical","requests":150000,"p50_ms":0.041,...}],"rate":30000.0,"most_waiting":0,...,"skipped":0}
//! ```
//!
//! With several URLs, they take turns by `--slice` (see the library's
//! documentation), and `targets` has each one's latencies in their order.
//!
//! Exit codes: 0 measured; 1 the load failed (a connection failed or
//! closed, an answer was not a `2xx` with a `content-length`, or answers
//! stopped coming); 2 bad arguments.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use open_loop::{run, Load, Target, PAUSE_LIMIT, SLICE};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Loads one URL at a fixed rate; prints latencies from each request's scheduled time"
)]
struct Args {
    /// Requests per second.
    #[arg(long)]
    rate: u32,
    /// Keep-alive connections to each URL.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// With several URLs, how long each one's turn lasts [default: 9900us;
    /// the library's `SLICE` says why].
    #[arg(long, value_parser = humantime::parse_duration)]
    slice: Option<Duration>,
    /// How long to measure, after the warm-up.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// How long to load before measuring.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// The requests due in a pause of this load longer than this are not
    /// sent [default: 250us].
    #[arg(long, value_parser = humantime::parse_duration)]
    pause_limit: Option<Duration>,
    /// `http://IP:PORT/PATH`: an address, not a name, so that nothing is
    /// resolved. Several take turns.
    #[arg(required = true)]
    urls: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let load = match load_from(&args) {
        Ok(load) => load,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    match run(&load) {
        Ok(report) => {
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let targets: Vec<_> = args
                .urls
                .iter()
                .zip(&report.targets)
                .map(|(url, latencies)| {
                    serde_json::json!({
                        "url": url,
                        "requests": latencies.requests,
                        "p50_ms": ms(latencies.p50),
                        "p90_ms": ms(latencies.p90),
                        "p99_ms": ms(latencies.p99),
                        "p999_ms": ms(latencies.p999),
                        "max_ms": ms(latencies.max),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "targets": targets,
                    "rate": report.rate,
                    "most_waiting": report.most_waiting,
                    "longest_pause_ms": ms(report.longest_pause),
                    "paused_ms": ms(report.paused),
                    "skipped": report.skipped,
                })
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!(
                "error: {} at {} req/s: {err}",
                args.urls.join(" "),
                args.rate
            );
            ExitCode::FAILURE
        }
    }
}

fn load_from(args: &Args) -> anyhow::Result<Load> {
    let slice = args.slice.unwrap_or(SLICE);
    if args.urls.len() > 1 && slice.is_zero() {
        bail!("--slice must be longer than zero with several urls");
    }
    Ok(Load {
        targets: args
            .urls
            .iter()
            .map(|url| target_from(url))
            .collect::<anyhow::Result<_>>()?,
        slice,
        rate: args.rate,
        connections: args.connections,
        warmup: args.warmup,
        duration: args.duration,
        pause_limit: args.pause_limit.unwrap_or(PAUSE_LIMIT),
    })
}

fn target_from(url: &str) -> anyhow::Result<Target> {
    let uri: http::Uri = url.parse().with_context(|| format!("url {url:?}"))?;
    if uri.scheme_str() != Some("http") {
        bail!("url {url:?}: only http:// is measured");
    }
    let authority = uri
        .authority()
        .with_context(|| format!("url {url:?} has no address"))?;
    let addr: SocketAddr = authority
        .as_str()
        .parse()
        .with_context(|| format!("url {url:?}: the address must be IP:PORT"))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    Ok(Target { addr, path })
}
