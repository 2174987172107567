//! A stand-in app for the local-fleet tests (`deployer/tests/local_*.rs`)
//! and `bench/gateway.sh`, with the contract of `service-a` and
//! `service-b`: it reads `APP_NAME`, `APP_PORT`, `APP_BIND` and
//! `APP_VERSION`, answers `GET /<microservice>` with JSON naming the app,
//! version and port, `GET /<microservice>/health` with 200, anything else
//! with a JSON 404, and on SIGTERM finishes the requests in flight and
//! exits 0.
//!
//! The tests package it into an image `FROM debian:bookworm-slim`, so that
//! they exercise the gateway and the rollout without building the real
//! apps' images, which takes minutes on a small machine.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::signal::unix::{signal, SignalKind};

#[derive(Debug, Clone)]
struct Facts {
    app: String,
    version: String,
    port: u16,
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    let port = match var("APP_PORT", "5001").parse::<u16>() {
        Ok(port) => port,
        Err(_) => {
            eprintln!("fleet_fixture: APP_PORT is not a port");
            return ExitCode::from(2);
        }
    };
    let bind = match var("APP_BIND", "127.0.0.1").parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            eprintln!("fleet_fixture: APP_BIND is not an address");
            return ExitCode::from(2);
        }
    };
    let facts = Facts {
        app: var("APP_NAME", "fixture"),
        version: var("APP_VERSION", "dev"),
        port,
    };
    let router = Router::new()
        .route("/{microservice}", get(info))
        .route("/{microservice}/health", get(health))
        .fallback(|| async { (StatusCode::NOT_FOUND, Json(json!({ "error": "no route" }))) })
        .with_state(facts);
    let listener = match tokio::net::TcpListener::bind(SocketAddr::new(bind, port)).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("fleet_fixture: cannot listen on {bind}:{port}: {err}");
            return ExitCode::from(1);
        }
    };
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("fleet_fixture: cannot catch SIGTERM: {err}");
            return ExitCode::from(1);
        }
    };
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    match axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("fleet_fixture: {err}");
            ExitCode::from(1)
        }
    }
}

async fn info(State(facts): State<Facts>, Path(microservice): Path<String>) -> Json<Value> {
    Json(json!({
        "microservice": microservice,
        "app": facts.app,
        "version": facts.version,
        "port": facts.port,
    }))
}

async fn health(State(facts): State<Facts>, Path(microservice): Path<String>) -> Json<Value> {
    Json(json!({ "status": "ok", "microservice": microservice, "app": facts.app }))
}
