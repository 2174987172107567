//! `open-loop`: loads one URL at a fixed rate and prints the latencies, from
//! each request's scheduled time, as one JSON object (see the library's
//! documentation for why wrk cannot measure this).
//!
//! ```console
//! $ open-loop --rate 30000 --connections 64 --duration 5s http://127.0.0.1:5990/medical
//! {"requests":150000,"rate":30000.0,"p50_ms":0.041,...,"most_waiting":0,...,"skipped":0}
//! ```
//!
//! Exit codes: 0 measured; 1 the load failed (a connection failed or
//! closed, an answer was not a `2xx` with a `content-length`, or answers
//! stopped coming); 2 bad arguments.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use open_loop::{run, Load, PAUSE_LIMIT};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Loads one URL at a fixed rate; prints latencies from each request's scheduled time"
)]
struct Args {
    /// Requests per second.
    #[arg(long)]
    rate: u32,
    /// Keep-alive connections to spread the requests over.
    #[arg(long, default_value_t = 64)]
    connections: usize,
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
    /// resolved.
    url: String,
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
            println!(
                "{}",
                serde_json::json!({
                    "requests": report.requests,
                    "rate": report.rate,
                    "p50_ms": ms(report.p50),
                    "p90_ms": ms(report.p90),
                    "p99_ms": ms(report.p99),
                    "p999_ms": ms(report.p999),
                    "max_ms": ms(report.max),
                    "most_waiting": report.most_waiting,
                    "longest_pause_ms": ms(report.longest_pause),
                    "paused_ms": ms(report.paused),
                    "skipped": report.skipped,
                })
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {} at {} req/s: {err}", args.url, args.rate);
            ExitCode::FAILURE
        }
    }
}

fn load_from(args: &Args) -> anyhow::Result<Load> {
    let uri: http::Uri = args
        .url
        .parse()
        .with_context(|| format!("url {:?}", args.url))?;
    if uri.scheme_str() != Some("http") {
        bail!("url {:?}: only http:// is measured", args.url);
    }
    let authority = uri
        .authority()
        .with_context(|| format!("url {:?} has no address", args.url))?;
    let addr: SocketAddr = authority
        .as_str()
        .parse()
        .with_context(|| format!("url {:?}: the address must be IP:PORT", args.url))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    Ok(Load {
        addr,
        path,
        rate: args.rate,
        connections: args.connections,
        warmup: args.warmup,
        duration: args.duration,
        pause_limit: args.pause_limit.unwrap_or(PAUSE_LIMIT),
    })
}
