//! `open_loop::run` against small servers on 127.0.0.1: every scheduled
//! request is answered and counted, a server that stalls is charged for
//! the requests that waited to be sent, not only for the one it held, and
//! several targets take turns, each charged for its own answers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use open_loop::{run, Load, LoadError, Target};

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

/// One load at a time: each keeps a core busy, and a load starved of CPU
/// would send late what it should have sent on time.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOADS: Mutex<()> = Mutex::new(());
    LOADS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How a test server answers.
#[derive(Clone, Copy)]
struct Answers {
    /// What every request gets.
    answer: &'static [u8],
    /// How long the first request of all waits for its answer.
    stall: Duration,
    /// How long every request waits for its answer.
    each: Duration,
}

/// A thread per connection answering each request with `answer`; the
/// first request of all waits `stall` before its answer.
fn server(stall: Duration, answer: &'static [u8]) -> SocketAddr {
    serve(Answers {
        answer,
        stall,
        each: Duration::ZERO,
    })
    .0
}

/// A thread per connection answering each request as `answers` says;
/// returns the address and the count of requests answered.
fn serve(answers: Answers) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let stalled = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&answered);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let stalled = Arc::clone(&stalled);
            let answered = Arc::clone(&answered);
            std::thread::spawn(move || answer_each(stream, &stalled, &answered, answers));
        }
    });
    (addr, count)
}

fn answer_each(
    mut stream: TcpStream,
    stalled: &AtomicBool,
    answered: &AtomicUsize,
    answers: Answers,
) {
    let Answers {
        answer,
        stall,
        each,
    } = answers;
    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        while let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            received.drain(..end + 4);
            if !stalled.swap(true, Ordering::SeqCst) {
                std::thread::sleep(stall);
            }
            std::thread::sleep(each);
            answered.fetch_add(1, Ordering::SeqCst);
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
    load_of(&[addr], connections)
}

/// 1,000 requests a second for half a second, over `addrs` taking turns by
/// 100 ms.
fn load_of(addrs: &[SocketAddr], connections: usize) -> Load {
    Load {
        targets: addrs
            .iter()
            .map(|&addr| Target {
                addr,
                path: "/".into(),
            })
            .collect(),
        slice: Duration::from_millis(100),
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
    let [latencies] = &report.targets[..] else {
        panic!("one target: {:?}", report.targets)
    };
    assert_eq!(latencies.requests, 500);
    assert_eq!(report.skipped, 0);
    assert!((report.rate - 1000.0).abs() < 1e-9);
    assert!(latencies.p50 <= latencies.p99 && latencies.p99 <= latencies.max);
}

#[test]
fn targets_take_turns_and_each_is_charged_for_its_own_answers() {
    let _one = one_at_a_time();
    let (quick, quick_count) = serve(Answers {
        answer: ANSWER,
        stall: Duration::ZERO,
        each: Duration::ZERO,
    });
    // Eight connections of 5 ms answers serve 1,600 a second, more than
    // the 1,000 a second of its turns.
    let slow_answer = Duration::from_millis(5);
    let (slow, slow_count) = serve(Answers {
        answer: ANSWER,
        stall: Duration::ZERO,
        each: slow_answer,
    });
    let report = run(&load_of(&[quick, slow], 8)).expect("the load runs");
    // Five slices of 100 ms: the first, third and fifth are the quick
    // server's (300 requests), the second and fourth the slow one's (200).
    let [first, second] = &report.targets[..] else {
        panic!("two targets: {:?}", report.targets)
    };
    assert_eq!((first.requests, second.requests), (300, 200));
    assert_eq!(
        (
            quick_count.load(Ordering::SeqCst),
            slow_count.load(Ordering::SeqCst)
        ),
        (300, 200)
    );
    // Every answer of the slow server took at least 5 ms.
    assert!(second.p50 >= slow_answer, "slow p50 {:?}", second.p50);
    assert!(report.skipped == 0 && (report.rate - 1000.0).abs() < 1e-9);
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
    let latencies = &report.targets[0];
    assert_eq!(latencies.requests, 500);
    assert!(latencies.max >= stall, "max {:?}", latencies.max);
    assert!(
        latencies.p99 >= Duration::from_millis(100),
        "p99 {:?}",
        latencies.p99
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
