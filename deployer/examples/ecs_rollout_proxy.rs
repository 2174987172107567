//! The rollout proxy of the ECS integration tests (`tests/ecs_support/
//! proxy.rs`) as a program, for `bench/deployer.sh`: it forwards every call
//! to moto, plays ECS's part in rollouts (every deployment completes at its
//! second look), and counts the calls.
//!
//! ```text
//! ecs_rollout_proxy --upstream http://127.0.0.1:5055 --listen 127.0.0.1:5056
//! curl -s http://127.0.0.1:5056/__proxy/calls     # {"count": N, "calls": [...]}
//! curl -s -X POST http://127.0.0.1:5056/__proxy/reset
//! ```

#[allow(dead_code)] // the tests use the rest of it
#[path = "../tests/ecs_support/proxy.rs"]
mod proxy;

use std::net::SocketAddr;

use clap::Parser;

/// Proxy to moto that rolls ECS deployments forward.
#[derive(Debug, Parser)]
struct Args {
    /// The moto server.
    #[arg(long)]
    upstream: String,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

fn main() {
    let args = Args::parse();
    let proxy =
        proxy::RolloutProxy::start_on(&args.upstream, proxy::Script::default(), args.listen);
    println!("{}", proxy.endpoint);
    proxy.wait();
}
