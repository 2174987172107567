//! `open_loop::run` against a small server on 127.0.0.1: every scheduled
//! request is answered and counted, and a server that stalls is charged for
//! the requests that waited to be sent, not only for the one it held.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use open_loop::{run, Load, LoadError};

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

/// One load at a time: each keeps a core busy, and a load starved of CPU
/// would send late what it should have sent on time.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOADS: Mutex<()> = Mutex::new(());
    LOADS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A thread per connection answering each request with [`ANSWER`]; the
/// first request of all waits `stall` before its answer.
fn server(stall: Duration, answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let stalled = Arc::new(AtomicBool::new(false));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let stalled = Arc::clone(&stalled);
            std::thread::spawn(move || answer_each(stream, &stalled, stall, answer));
        }
    });
    addr
}

fn answer_each(mut stream: TcpStream, stalled: &AtomicBool, stall: Duration, answer: &[u8]) {
    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        while let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            received.drain(..end + 4);
            if !stalled.swap(true, Ordering::SeqCst) {
                std::thread::sleep(stall);
            }
            if stream.write_all(answer).is_err() {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
    }
}

fn load(addr: SocketAddr, connections: usize) -> Load {
    Load {
        addr,
        path: "/".into(),
        rate: 1000,
        connections,
        warmup: Duration::ZERO,
        duration: Duration::from_millis(500),
        // Every request is sent, however long this load is paused: these
        // tests are about what the server is charged for, and a busy test
        // machine pauses the load. The skipping is the unit tests' subject.
        pause_limit: Duration::MAX,
    }
}

#[test]
fn every_scheduled_request_is_answered_and_counted() {
    let _one = one_at_a_time();
    let addr = server(Duration::ZERO, ANSWER);
    let report = run(&load(addr, 4)).expect("the load runs");
    // 1,000 a second for half a second, whatever the server's speed.
    assert_eq!(report.requests, 500);
    assert_eq!(report.skipped, 0);
    assert!((report.rate - 1000.0).abs() < 1e-9);
    assert!(report.p50 <= report.p99 && report.p99 <= report.max);
}

#[test]
fn a_stalled_server_is_charged_for_the_requests_that_waited() {
    let _one = one_at_a_time();
    // One connection: while the server holds the first request for 200 ms,
    // the 199 requests due after it cannot be sent. Counted from when each
    // was due, the n-th of them waited at least 200 - n ms, so a fifth of
    // the 500 requests took 100 ms or more. A load that counts from when it
    // sent each request would show one slow request in 500.
    let stall = Duration::from_millis(200);
    let addr = server(stall, ANSWER);
    let report = run(&load(addr, 1)).expect("the load runs");
    assert_eq!(report.requests, 500);
    assert!(report.max >= stall, "max {:?}", report.max);
    assert!(
        report.p99 >= Duration::from_millis(100),
        "p99 {:?}",
        report.p99
    );
    assert!(
        report.most_waiting >= 100,
        "most waiting {}",
        report.most_waiting
    );
}

#[test]
fn an_answer_that_is_not_a_success_fails_the_load() {
    let _one = one_at_a_time();
    let addr = server(
        Duration::ZERO,
        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n",
    );
    let err = run(&load(addr, 2)).expect_err("a 500 fails the load");
    assert!(
        matches!(err, LoadError::Status { status: 500, .. }),
        "{err}"
    );
}
