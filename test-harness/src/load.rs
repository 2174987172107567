//! Load with an exact account of every request, for the graceful-shutdown
//! tests.
//!
//! A request counts as **accepted** once its TCP connection was
//! established: the client's `connect` succeeded, so the server's kernel
//! took the connection on the service's behalf and the client went on to
//! send the request. Every accepted request must get a complete `200`
//! answer. A request whose `connect` fails (refused, or no handshake
//! within the connect timeout) was never accepted and may fail: that is
//! how a server that stopped accepting looks from outside.
//!
//! Each request uses its own connection (`Connection: close`) and raw
//! sockets, so that the connect step and the exchange are told apart
//! exactly; an HTTP client's pool and retries would blur them.
//!
//! Two probes make the check independent of timing luck: a connection
//! opened before the signal that sends its request only after it, and one
//! that sends half its request head before and the rest after. Both are
//! accepted requests, so a server that drops open connections on a signal
//! fails the check every time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a client waits for the handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a client waits for the answer once connected: longer than the
/// server's drain deadline, so a slow drain shows as slow, not as lost.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// How one request ended.
#[derive(Debug)]
pub enum Attempt {
    /// A complete answer with this status.
    Answered(u16),
    /// `connect` failed: never accepted.
    NotAccepted(std::io::Error),
    /// Connected, but no complete answer: an accepted request lost.
    Lost(String),
}

/// The request `GET path`, closing the connection after the answer.
pub fn request_bytes(path: &str, request_id: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nx-request-id: {request_id}\r\n\r\n"
    )
    .into_bytes()
}

/// One request on a new connection.
pub fn attempt(addr: SocketAddr, request: &[u8]) -> Attempt {
    match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
        Err(err) => Attempt::NotAccepted(err),
        Ok(stream) => exchange(stream, request),
    }
}

/// Sends `request` on an established connection and reads the answer.
pub fn exchange(mut stream: TcpStream, request: &[u8]) -> Attempt {
    if let Err(err) = stream.write_all(request) {
        return Attempt::Lost(format!("write: {err}"));
    }
    read_answer(stream)
}

/// Reads an answer to the end of the connection.
pub fn read_answer(mut stream: TcpStream) -> Attempt {
    if let Err(err) = stream.set_read_timeout(Some(ANSWER_TIMEOUT)) {
        return Attempt::Lost(format!("set timeout: {err}"));
    }
    let mut answer = Vec::new();
    if let Err(err) = stream.read_to_end(&mut answer) {
        return Attempt::Lost(format!("read after {} bytes: {err}", answer.len()));
    }
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok());
    match status {
        Some(code) if text.contains("\r\n\r\n") => Attempt::Answered(code),
        _ => Attempt::Lost(format!("incomplete answer: {text:?}")),
    }
}

/// What the load saw.
#[derive(Debug, Default)]
pub struct Tally {
    /// Accepted requests answered 200.
    pub ok: usize,
    /// Their request ids (`x-request-id`), in no particular order.
    pub ok_ids: Vec<String>,
    /// Of those, answered after the signal was sent.
    pub ok_after_signal: usize,
    /// Requests never accepted.
    pub not_accepted: usize,
    /// Accepted requests without a 200 answer, with what happened.
    pub lost: Vec<String>,
}

/// Clients that request `path` from `addr` in a loop, each on a new
/// connection, until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    signalled: Arc<Mutex<Option<Instant>>>,
    tally: Arc<Mutex<Tally>>,
    workers: Vec<JoinHandle<()>>,
}

impl Load {
    /// Starts `clients` client threads.
    pub fn start(addr: SocketAddr, path: &str, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let signalled = Arc::new(Mutex::new(None::<Instant>));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let workers = (0..clients)
            .map(|client| {
                let (stop, signalled, tally) = (stop.clone(), signalled.clone(), tally.clone());
                let path = path.to_owned();
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let id = format!("load-{client}-{n}");
                        let outcome = attempt(addr, &request_bytes(&path, &id));
                        let answered = Instant::now();
                        let mut t = tally.lock().expect("tally");
                        match outcome {
                            Attempt::Answered(200) => {
                                t.ok += 1;
                                t.ok_ids.push(id);
                                let after = signalled
                                    .lock()
                                    .expect("signal time")
                                    .is_some_and(|at| answered > at);
                                if after {
                                    t.ok_after_signal += 1;
                                }
                            }
                            Attempt::Answered(code) => t.lost.push(format!("{id}: status {code}")),
                            Attempt::NotAccepted(_) => {
                                t.not_accepted += 1;
                                drop(t);
                                // The server is gone or going; do not spin.
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            Attempt::Lost(why) => t.lost.push(format!("{id}: {why}")),
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            signalled,
            tally,
            workers,
        }
    }

    /// Notes that the signal is being sent now.
    pub fn mark_signal(&self) {
        *self.signalled.lock().expect("signal time") = Some(Instant::now());
    }

    /// Answers so far.
    pub fn ok_so_far(&self) -> usize {
        self.tally.lock().expect("tally").ok
    }

    /// Stops the clients and returns the tally.
    pub fn finish(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            worker.join().expect("a load client panicked");
        }
        Arc::try_unwrap(self.tally)
            .map(|m| m.into_inner().expect("tally"))
            .unwrap_or_default()
    }
}

/// The two probes, opened before the signal and finished after it.
pub struct Probes {
    idle: TcpStream,
    half: TcpStream,
    request: Vec<u8>,
}

impl Probes {
    /// Opens both connections; the half probe sends the first half of its
    /// request head.
    pub fn open(addr: SocketAddr, path: &str) -> Probes {
        let idle = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).expect("open the idle probe");
        let mut half =
            TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).expect("open the half probe");
        let request = request_bytes(path, "probe");
        half.write_all(&request[..request.len() / 2])
            .expect("send half a request");
        Probes {
            idle,
            half,
            request,
        }
    }

    /// Sends the rest of both requests and reads both answers.
    pub fn finish(self) -> [Attempt; 2] {
        let Probes {
            idle,
            mut half,
            request,
        } = self;
        let idle = std::thread::spawn({
            let request = request.clone();
            move || exchange(idle, &request)
        });
        let half = match half.write_all(&request[request.len() / 2..]) {
            Ok(()) => read_answer(half),
            Err(err) => Attempt::Lost(format!("write: {err}")),
        };
        [idle.join().expect("idle probe"), half]
    }
}

/// Everything a signal under load showed.
#[derive(Debug)]
pub struct ShutdownReport {
    /// The load's tally.
    pub tally: Tally,
    /// The probes' outcomes.
    pub probes: [Attempt; 2],
    /// The exit status, if the process exited in time.
    pub exit: Option<std::process::ExitStatus>,
    /// From the signal to the exit.
    pub exit_after: Duration,
}

impl ShutdownReport {
    /// Every accepted request that got no 200, probes included.
    pub fn lost(&self) -> Vec<String> {
        let mut lost = self.tally.lost.clone();
        for (name, probe) in ["idle probe", "half probe"].iter().zip(&self.probes) {
            match probe {
                Attempt::Answered(200) => {}
                other => lost.push(format!("{name}: {other:?}")),
            }
        }
        lost
    }
}

/// Puts `service` under load on `path`, opens the probes, sends `signal`,
/// finishes the probes, waits up to `exit_timeout` for the exit and lets
/// the load run on until the server has gone.
pub fn signal_under_load(
    service: &mut crate::service::Service,
    path: &str,
    signal: &str,
    exit_timeout: Duration,
) -> ShutdownReport {
    let addr = service.addr();
    let load = Load::start(addr, path, 16);
    let warm = Instant::now();
    while load.ok_so_far() < 200 && warm.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let probes = Probes::open(addr, path);

    load.mark_signal();
    let signalled = Instant::now();
    service.signal(signal);
    // Long enough for the server to have stopped accepting.
    std::thread::sleep(Duration::from_millis(300));
    let probes = probes.finish();
    let (exit, _) = service.wait_exit(exit_timeout);
    let exit_after = signalled.elapsed();
    // Clients still connecting now are refused; let each see that.
    std::thread::sleep(Duration::from_millis(500));
    ShutdownReport {
        tally: load.finish(),
        probes,
        exit,
        exit_after,
    }
}
