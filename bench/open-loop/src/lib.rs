//! A fixed-rate ("open loop") HTTP/1.1 load for the benchmarks.
//!
//! wrk keeps a fixed number of requests in flight and sends the next one
//! when an answer comes back, so it measures a server at saturation, where
//! latency follows from throughput: with 64 in flight, the mean latency is
//! 64 / req/s (Little's law), and a server at 0.75x another's req/s shows
//! 1.33x its latency whatever its tail. To compare latency at the same
//! traffic, requests must leave on a schedule that does not depend on the
//! answers, and each latency must count from the request's scheduled time,
//! so that a stalled server is charged for the requests it kept from being
//! sent ("coordinated omission"). wrk2 does this; it is not packaged where
//! the benchmarks run, and `oha`'s rate mode adds hundreds of microseconds
//! of its own scheduling on one core, more than the servers measured take.
//!
//! [`run`] sends `GET`s at a fixed interval over a pool of keep-alive
//! connections from one thread that polls without sleeping (timers have
//! millisecond resolution; the interval is tens of microseconds). A
//! request whose time has come waits for a free connection if none is;
//! its latency still counts from when it was due. The exception is a pause
//! of this load itself (its thread descheduled; on a virtual machine the
//! host takes a virtual CPU away for milliseconds at a time), which is not
//! charged to the server:
//!
//! - a request that fell due in a short gap between two looks at the clock
//!   (up to [`PAUSE_LIMIT`] by default, a few requests at the rates
//!   measured) counts from the end of the gap, since no server could have
//!   answered it sooner;
//! - the requests that fell due in a longer pause are not sent at all
//!   (`skipped`). Sent at its end, they would reach the server all at once,
//!   as a burst that no steady stream of clients sends, and the server
//!   would be charged for draining it: a 17 ms pause at 12k req/s sends
//!   about 200 requests at once, and a server taking 18 us a request keeps
//!   the last of them 3.6 ms. In loads whose p99 was several times the
//!   usual, up to half of the slowest 1 % of the requests came in the few
//!   milliseconds after such a burst (bench/README.md).
//!
//! A stall of the server itself is charged in full: this load runs on its
//! own core and goes on sending on schedule while the server does not
//! answer. The pauses are reported (`longest_pause`, `paused`, `skipped`).
//! Answers are parsed with `httparse` and must carry a `content-length`,
//! as the measured servers' do.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// What to load, how hard and for how long.
#[derive(Debug, Clone)]
pub struct Load {
    pub addr: SocketAddr,
    /// The request target, e.g. `/medical`.
    pub path: String,
    /// Requests per second.
    pub rate: u32,
    pub connections: usize,
    /// Sent but not measured, so that connections and caches are warm.
    pub warmup: Duration,
    pub duration: Duration,
    /// The requests due in a pause of this load longer than this are
    /// skipped ([`PAUSE_LIMIT`] by default; `Duration::MAX` sends them all).
    pub pause_limit: Duration,
}

/// Latencies of the measured requests, from each one's scheduled time.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Answers counted (scheduled after the warm-up).
    pub requests: usize,
    /// Measured requests per second of the schedule.
    pub rate: f64,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
    /// The most requests that waited for a free connection at once: above
    /// zero, the pool or the server did not keep up with the schedule.
    pub most_waiting: usize,
    /// The longest this load itself went between two looks at the clock
    /// (descheduled, or a slow system call): a pause this long delays every
    /// request due in it, whatever the server does.
    pub longest_pause: Duration,
    /// The time this load spent in pauses longer than its pause limit.
    pub paused: Duration,
    /// Requests due in those pauses, and so neither sent nor measured.
    pub skipped: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("rate must be at least 1 request per second")]
    NoRate,
    #[error("connections must be at least 1")]
    NoConnections,
    #[error("cannot poll the connections: {0}")]
    Poll(std::io::Error),
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("connection {connection}: {source}")]
    Io {
        connection: usize,
        source: std::io::Error,
    },
    #[error("connection {connection} closed by the server")]
    Closed { connection: usize },
    #[error("connection {connection}: the server answered {status}")]
    Status { connection: usize, status: u16 },
    #[error("connection {connection}: unreadable answer: {reason}")]
    Answer {
        connection: usize,
        reason: &'static str,
    },
    #[error("{left} requests still unanswered {waited:?} after the schedule ended")]
    Unanswered { left: usize, waited: Duration },
}

/// How long answers may take after the last scheduled request.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// The default pause limit: the longest gap between two looks at the
/// clock whose due requests are still sent, three requests at 12k req/s.
/// The gaps of a running load are a few microseconds, or one interval when
/// the kernel's network work took the core; the host's pauses last
/// milliseconds.
pub const PAUSE_LIMIT: Duration = Duration::from_micros(250);

/// The fixed-rate schedule: which requests are due at each look at the
/// clock, and which fell in a pause of this load (see [`run`]).
struct Schedule {
    interval: Duration,
    pause_limit: Duration,
    measured_from: Instant,
    end: Instant,
    /// When the next request is due.
    next: Instant,
    last_look: Instant,
    longest_pause: Duration,
    paused: Duration,
    skipped: usize,
}

impl Schedule {
    /// `load`'s schedule, starting at `start`; its rate must be above zero.
    fn new(start: Instant, load: &Load) -> Self {
        let measured_from = start + load.warmup;
        Schedule {
            interval: Duration::from_secs_f64(1.0 / f64::from(load.rate)),
            pause_limit: load.pause_limit,
            measured_from,
            end: measured_from + load.duration,
            next: start,
            last_look: start,
            longest_pause: Duration::ZERO,
            paused: Duration::ZERO,
            skipped: 0,
        }
    }

    /// Adds to `waiting` the requests due by `now`, seen at `now`; after a
    /// pause longer than the pause limit, skips those due in it instead.
    fn look(&mut self, now: Instant, waiting: &mut VecDeque<Due>) {
        let gap = now.saturating_duration_since(self.last_look);
        let measured = now >= self.measured_from;
        if measured {
            self.longest_pause = self.longest_pause.max(gap);
        }
        if gap > self.pause_limit {
            if measured {
                self.paused += gap;
            }
            while self.next <= now && self.next < self.end {
                if self.next >= self.measured_from {
                    self.skipped += 1;
                }
                self.next += self.interval;
            }
        }
        self.last_look = now;
        while self.next <= now && self.next < self.end {
            waiting.push_back(Due {
                scheduled: self.next,
                seen: now,
            });
            self.next += self.interval;
        }
    }

    /// Whether every request of the schedule has fallen due.
    fn done(&self) -> bool {
        self.next >= self.end
    }
}

/// A request whose time has come: when it was due, and when this load,
/// running, first saw that it was (the same but for a pause of the load
/// itself; see [`run`]).
#[derive(Clone, Copy)]
struct Due {
    scheduled: Instant,
    seen: Instant,
}

struct Connection {
    stream: TcpStream,
    in_flight: Option<Due>,
    received: Vec<u8>,
}

/// Runs `load` and reports the latencies of the requests scheduled after
/// the warm-up.
///
/// # Errors
/// When a connection fails or closes, an answer is not a `2xx` with a
/// `content-length`, or answers are still missing [`DRAIN_LIMIT`] after the
/// schedule ended.
pub fn run(load: &Load) -> Result<Report, LoadError> {
    if load.rate == 0 {
        return Err(LoadError::NoRate);
    }
    if load.connections == 0 {
        return Err(LoadError::NoConnections);
    }
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: open-loop\r\n\r\n",
        load.path, load.addr
    )
    .into_bytes();
    let mut poll = Poll::new().map_err(LoadError::Poll)?;
    let mut connections = connect(load, &poll)?;
    let mut idle: Vec<usize> = (0..connections.len()).collect();
    let mut events = Events::with_capacity(connections.len());

    let mut schedule = Schedule::new(Instant::now(), load);
    let measured_from = schedule.measured_from;
    let end = schedule.end;
    let mut waiting: VecDeque<Due> = VecDeque::new();
    let mut most_waiting = 0;
    let mut latencies: Vec<Duration> = Vec::new();

    loop {
        let now = Instant::now();
        schedule.look(now, &mut waiting);
        // Requests that found no free connection wait in `waiting`; only
        // those after the warm-up say something about the server.
        if waiting
            .front()
            .is_some_and(|d| d.scheduled >= measured_from)
        {
            most_waiting = most_waiting.max(waiting.len().saturating_sub(idle.len()));
        }
        while let Some(&due) = waiting.front() {
            let Some(index) = idle.pop() else { break };
            send(&mut connections[index], index, &request)?;
            connections[index].in_flight = Some(due);
            waiting.pop_front();
        }
        poll.poll(&mut events, Some(Duration::ZERO))
            .map_err(LoadError::Poll)?;
        for event in &events {
            let index = event.token().0;
            let connection = &mut connections[index];
            if receive(connection, index)? {
                let answered = Instant::now();
                if let Some(due) = connection.in_flight.take() {
                    if due.scheduled >= measured_from {
                        latencies.push(answered - due.seen);
                    }
                }
                idle.push(index);
            }
        }
        if schedule.done() && waiting.is_empty() && idle.len() == connections.len() {
            break;
        }
        // Polling without sleeping keeps this thread runnable all the time;
        // without a yield the scheduler would let the kernel's network
        // work on this core (ksoftirqd, which delivers loopback packets
        // when there are many) run only once this thread's time slice is
        // used up, milliseconds later, and every answer would wait for it.
        if events.is_empty() {
            std::thread::yield_now();
        }
        let waited = now.saturating_duration_since(end);
        if waited > DRAIN_LIMIT {
            return Err(LoadError::Unanswered {
                left: waiting.len() + connections.len() - idle.len(),
                waited,
            });
        }
    }
    Ok(report(latencies, load.duration, most_waiting, &schedule))
}

fn connect(load: &Load, poll: &Poll) -> Result<Vec<Connection>, LoadError> {
    (0..load.connections)
        .map(|index| {
            let connect_error = |source| LoadError::Connect {
                addr: load.addr,
                source,
            };
            // A blocking connect, so that every connection is up before
            // the schedule starts.
            let stream = std::net::TcpStream::connect(load.addr).map_err(connect_error)?;
            stream.set_nodelay(true).map_err(connect_error)?;
            stream.set_nonblocking(true).map_err(connect_error)?;
            let mut stream = TcpStream::from_std(stream);
            poll.registry()
                .register(&mut stream, Token(index), Interest::READABLE)
                .map_err(connect_error)?;
            Ok(Connection {
                stream,
                in_flight: None,
                received: Vec::with_capacity(4096),
            })
        })
        .collect()
}

fn send(connection: &mut Connection, index: usize, request: &[u8]) -> Result<(), LoadError> {
    // A request of a few dozen bytes on a connection with nothing in
    // flight fits its empty send buffer, so it is written whole at once.
    match connection.stream.write(request) {
        Ok(n) if n == request.len() => Ok(()),
        Ok(_) => Err(LoadError::Answer {
            connection: index,
            reason: "the request was not written whole",
        }),
        Err(source) => Err(LoadError::Io {
            connection: index,
            source,
        }),
    }
}

/// Reads what has arrived; true once the whole answer is in.
fn receive(connection: &mut Connection, index: usize) -> Result<bool, LoadError> {
    let mut chunk = [0u8; 4096];
    // Readiness is edge-triggered: read until the socket is empty.
    loop {
        match connection.stream.read(&mut chunk) {
            Ok(0) => return Err(LoadError::Closed { connection: index }),
            Ok(n) => connection.received.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(LoadError::Io {
                    connection: index,
                    source,
                })
            }
        }
    }
    let Some(length) = answer_length(&connection.received, index)? else {
        return Ok(false);
    };
    if connection.received.len() > length {
        // The server sent more than one answer to one request.
        return Err(LoadError::Answer {
            connection: index,
            reason: "bytes after the answer",
        });
    }
    connection.received.clear();
    Ok(true)
}

/// The whole answer's length once `received` holds all of it.
fn answer_length(received: &[u8], index: usize) -> Result<Option<usize>, LoadError> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let unreadable = |reason| LoadError::Answer {
        connection: index,
        reason,
    };
    let head = match response.parse(received) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(unreadable("not an HTTP/1.1 answer")),
    };
    let status = response.code.unwrap_or(0);
    if !(200..300).contains(&status) {
        return Err(LoadError::Status {
            connection: index,
            status,
        });
    }
    let body = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .ok_or_else(|| unreadable("no content-length"))?;
    let body: usize = std::str::from_utf8(body.value)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| unreadable("content-length is not a number"))?;
    let whole = head + body;
    Ok((received.len() >= whole).then_some(whole))
}

fn report(
    mut latencies: Vec<Duration>,
    duration: Duration,
    most_waiting: usize,
    schedule: &Schedule,
) -> Report {
    latencies.sort_unstable();
    // The latency at quantile `q`: the smallest one at least a share `q` of
    // the requests do not exceed.
    let at = |q: f64| -> Duration {
        if latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * latencies.len() as f64).ceil() as usize;
        latencies[rank.clamp(1, latencies.len()) - 1]
    };
    Report {
        requests: latencies.len(),
        rate: latencies.len() as f64 / duration.as_secs_f64(),
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        p999: at(0.999),
        max: at(1.0),
        most_waiting,
        longest_pause: schedule.longest_pause,
        paused: schedule.paused,
        skipped: schedule.skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_taken_from_the_sorted_latencies() {
        let latencies = (1..=1000).rev().map(Duration::from_micros).collect();
        let schedule = schedule(Instant::now(), Duration::ZERO);
        let report = report(latencies, Duration::from_secs(2), 3, &schedule);
        assert_eq!(report.requests, 1000);
        assert!((report.rate - 500.0).abs() < 1e-9);
        assert_eq!(report.p50, Duration::from_micros(500));
        assert_eq!(report.p90, Duration::from_micros(900));
        assert_eq!(report.p99, Duration::from_micros(990));
        assert_eq!(report.p999, Duration::from_micros(999));
        assert_eq!(report.max, Duration::from_micros(1000));
        assert_eq!(report.most_waiting, 3);
    }

    /// A request every 100 us for a second after `warmup`, with the default
    /// pause limit.
    fn schedule(start: Instant, warmup: Duration) -> Schedule {
        let load = Load {
            addr: SocketAddr::from(([127, 0, 0, 1], 9)),
            path: "/".into(),
            rate: 10_000,
            connections: 1,
            warmup,
            duration: Duration::from_secs(1),
            pause_limit: PAUSE_LIMIT,
        };
        Schedule::new(start, &load)
    }

    /// Looks at `at` after the schedule's start; returns the requests that
    /// fell due, as (due, seen) in microseconds after the start.
    fn look_at(schedule: &mut Schedule, start: Instant, at: u64) -> Vec<(u128, u128)> {
        let mut waiting = VecDeque::new();
        schedule.look(start + Duration::from_micros(at), &mut waiting);
        waiting
            .iter()
            .map(|d| {
                (
                    (d.scheduled - start).as_micros(),
                    (d.seen - start).as_micros(),
                )
            })
            .collect()
    }

    #[test]
    fn requests_due_in_a_short_gap_are_sent_late_and_counted_from_when_seen() {
        let start = Instant::now();
        let mut schedule = schedule(start, Duration::ZERO);
        assert_eq!(look_at(&mut schedule, start, 0), [(0, 0)]);
        let gap = PAUSE_LIMIT.as_micros() as u64;
        let due = look_at(&mut schedule, start, gap);
        let expected: Vec<(u128, u128)> = (1..=u128::from(gap) / 100)
            .map(|k| (k * 100, u128::from(gap)))
            .collect();
        assert_eq!(due, expected);
        assert_eq!((schedule.skipped, schedule.paused), (0, Duration::ZERO));
        assert_eq!(schedule.longest_pause, PAUSE_LIMIT);
    }

    #[test]
    fn requests_due_in_a_longer_pause_are_skipped_and_the_pause_reported() {
        let start = Instant::now();
        let mut schedule = schedule(start, Duration::ZERO);
        assert_eq!(look_at(&mut schedule, start, 50), [(0, 50)]);
        // Paused from 50 us to 1,050 us: the ten requests due at 100 to
        // 1,000 us are not sent.
        assert_eq!(look_at(&mut schedule, start, 1_050), []);
        assert_eq!(schedule.skipped, 10);
        assert_eq!(schedule.paused, Duration::from_millis(1));
        assert_eq!(schedule.longest_pause, Duration::from_millis(1));
        // The schedule goes on where it is.
        assert_eq!(look_at(&mut schedule, start, 1_110), [(1_100, 1_110)]);
        assert_eq!(schedule.skipped, 10);
    }

    #[test]
    fn a_pause_in_the_warm_up_skips_requests_without_counting_them() {
        let start = Instant::now();
        let mut schedule = schedule(start, Duration::from_micros(500));
        assert_eq!(look_at(&mut schedule, start, 0), [(0, 0)]);
        // Paused from 0 to 800 us: seven requests fall due, of which the
        // four from 500 us on count as skipped; the pause itself ends in
        // the measured time but started before it.
        assert_eq!(look_at(&mut schedule, start, 800), []);
        assert_eq!(schedule.skipped, 4);
        assert!(!schedule.done());
    }

    #[test]
    fn an_answer_is_whole_only_with_its_body() {
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody";
        assert_eq!(
            answer_length(&answer[..answer.len() - 1], 0).ok(),
            Some(None)
        );
        assert_eq!(answer_length(answer, 0).ok(), Some(Some(answer.len())));
        assert_eq!(answer_length(&answer[..10], 0).ok(), Some(None));
    }

    #[test]
    fn an_answer_without_a_length_or_success_is_an_error() {
        let no_length = b"HTTP/1.1 200 OK\r\n\r\n";
        assert!(matches!(
            answer_length(no_length, 1),
            Err(LoadError::Answer { connection: 1, .. })
        ));
        let failed = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
        assert!(matches!(
            answer_length(failed, 2),
            Err(LoadError::Status {
                connection: 2,
                status: 503
            })
        ));
    }
}
