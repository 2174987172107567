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
//!   milliseconds after such a burst (bench/HISTORY.md).
//!
//! A stall of the server itself is charged in full: this load runs on its
//! own core and goes on sending on schedule while the server does not
//! answer. The pauses are reported (`longest_pause`, `paused`, `skipped`).
//! Answers are parsed with `httparse` and must carry a `content-length`,
//! as the measured servers' do.
//!
//! A load may have several targets, each with its own connections: the
//! schedule's time is then cut into slices of [`Load::slice`], and each
//! slice's requests go to the next target in turn, so that every target
//! gets the same traffic at the same moments, and the host's stalls, which
//! come and go over seconds on a shared machine, fall on all of them
//! alike. Each target's latencies are reported apart; compared within one
//! load, they differ by what the servers do, not by when each was loaded.
//! Their turns last [`SLICE`] unless told otherwise; its doc says why.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// One server and the path to request from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    /// The request target, e.g. `/medical`.
    pub path: String,
}

/// What to load, how hard and for how long.
#[derive(Debug, Clone)]
pub struct Load {
    /// One or more; with several, they take turns by [`Load::slice`].
    pub targets: Vec<Target>,
    /// How long each target's turn lasts when there are several.
    pub slice: Duration,
    /// Requests per second, over all the targets.
    pub rate: u32,
    /// Keep-alive connections to each target.
    pub connections: usize,
    /// Sent but not measured, so that connections and caches are warm.
    pub warmup: Duration,
    pub duration: Duration,
    /// The requests due in a pause of this load longer than this are
    /// skipped ([`PAUSE_LIMIT`] by default; `Duration::MAX` sends them all).
    pub pause_limit: Duration,
}

/// Latencies of one target's measured requests, from each one's scheduled
/// time.
#[derive(Debug, Clone, PartialEq)]
pub struct Latencies {
    /// Answers counted (scheduled after the warm-up).
    pub requests: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

/// What a load measured: each target's latencies, in the order of
/// [`Load::targets`], and what the load itself saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub targets: Vec<Latencies>,
    /// Measured requests per second of the schedule, over all the targets.
    pub rate: f64,
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
    #[error("there must be at least one target")]
    NoTargets,
    #[error("with several targets, the slice must be longer than zero")]
    NoSlice,
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

/// The default turn of each target in a load with several: 9.9 ms.
///
/// - Shorter than the host's longest pauses of a virtual CPU (tens of ms),
///   so that those fall on every target, and much longer than a server
///   takes to catch up after a pause of a millisecond or two, so that one
///   target's backlog rarely spills into the next one's turn
///   (bench/HISTORY.md).
/// - Not a divisor of the periods at which a machine's stalls recur. On
///   the machine of the runs at `efb2398` (bench/HISTORY.md) a stall of
///   about 0.6 ms recurred on multiples of 100 ms, and others once a
///   second. With turns of 10 ms,
///   two targets' 20 ms cycle divides 100 ms, so every such stall of a
///   load fell in the same target's turns: loading the baseline against
///   itself, one side's p999 was 0.3-1.6 ms and the other's 0.05-0.1 ms,
///   and which side changed from one load to the next. At 9.9 ms, 100 ms
///   is 5.05 cycles of two targets, so a stall moves 1 ms along the cycle
///   each time and crosses both turns every 2 s, and 1 s is 50.5 cycles,
///   so a stall once a second falls on each target in turn.
/// - Just under half of the apps' log writer's gathering time
///   (`telemetry::GATHER_FOR`, 20 ms). The writer gathers from the first
///   line it gets, so its batches fall in the app's own turns and their
///   writes are charged to the app. Each batch moves 0.2 ms, plus its
///   write, later in the app's turn than the one before, so about one
///   batch in thirty is written at the start of the other target's turn,
///   after which the writer waits for the app's next turn again. A cycle
///   longer than the gathering time would put nearly every write in the
///   other target's turns.
///
/// The tests below check the last two: the turns against stalls recurring
/// every 4 ms, 100 ms, 510 ms and 1 s, and the writer's batches.
pub const SLICE: Duration = Duration::from_micros(9_900);

/// The fixed-rate schedule: which requests are due at each look at the
/// clock, and which fell in a pause of this load (see [`run`]).
struct Schedule {
    interval: Duration,
    start: Instant,
    slice: Duration,
    targets: usize,
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
            start,
            slice: load.slice,
            targets: load.targets.len().max(1),
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

    /// Adds to `waiting`, by target, the requests due by `now`, seen at
    /// `now`; after a pause longer than the pause limit, skips those due in
    /// it instead. `waiting` has one queue per target.
    fn look(&mut self, now: Instant, waiting: &mut [VecDeque<Due>]) {
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
            waiting[self.target_at(self.next)].push_back(Due {
                scheduled: self.next,
                seen: now,
            });
            self.next += self.interval;
        }
    }

    /// The target whose turn it is at `at`: slices of the schedule's time
    /// go to each target in turn.
    fn target_at(&self, at: Instant) -> usize {
        if self.targets == 1 {
            return 0;
        }
        let slices = at.saturating_duration_since(self.start).as_nanos() / self.slice.as_nanos();
        (slices % self.targets as u128) as usize
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
    /// The index of its target in [`Load::targets`].
    target: usize,
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
    if load.targets.is_empty() {
        return Err(LoadError::NoTargets);
    }
    if load.targets.len() > 1 && load.slice.is_zero() {
        return Err(LoadError::NoSlice);
    }
    let requests: Vec<Vec<u8>> = load
        .targets
        .iter()
        .map(|target| {
            format!(
                "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: open-loop\r\n\r\n",
                target.path, target.addr
            )
            .into_bytes()
        })
        .collect();
    let mut poll = Poll::new().map_err(LoadError::Poll)?;
    let mut connections = connect(load, &poll)?;
    // Each target's free connections, and its requests due but not sent.
    let mut idle: Vec<Vec<usize>> = vec![Vec::new(); load.targets.len()];
    for (index, connection) in connections.iter().enumerate() {
        idle[connection.target].push(index);
    }
    let mut waiting: Vec<VecDeque<Due>> = vec![VecDeque::new(); load.targets.len()];
    let mut events = Events::with_capacity(connections.len());

    let mut schedule = Schedule::new(Instant::now(), load);
    let measured_from = schedule.measured_from;
    let end = schedule.end;
    let mut most_waiting = 0;
    let mut latencies: Vec<Vec<Duration>> = vec![Vec::new(); load.targets.len()];

    loop {
        let now = Instant::now();
        schedule.look(now, &mut waiting);
        for (target, queue) in waiting.iter_mut().enumerate() {
            // Requests that found no free connection wait in their queue;
            // only those after the warm-up say something about the server.
            if queue.front().is_some_and(|d| d.scheduled >= measured_from) {
                most_waiting = most_waiting.max(queue.len().saturating_sub(idle[target].len()));
            }
            while let Some(&due) = queue.front() {
                let Some(index) = idle[target].pop() else {
                    break;
                };
                send(&mut connections[index], index, &requests[target])?;
                connections[index].in_flight = Some(due);
                queue.pop_front();
            }
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
                        latencies[connection.target].push(answered - due.seen);
                    }
                }
                idle[connection.target].push(index);
            }
        }
        let in_flight = connections.len() - idle.iter().map(Vec::len).sum::<usize>();
        let unsent: usize = waiting.iter().map(VecDeque::len).sum();
        if schedule.done() && unsent == 0 && in_flight == 0 {
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
                left: unsent + in_flight,
                waited,
            });
        }
    }
    Ok(report(latencies, load.duration, most_waiting, &schedule))
}

/// `load.connections` connections to each target, in the order of the
/// targets; a connection's index is its poll token.
fn connect(load: &Load, poll: &Poll) -> Result<Vec<Connection>, LoadError> {
    let mut connections = Vec::with_capacity(load.targets.len() * load.connections);
    for (target, Target { addr, .. }) in load.targets.iter().enumerate() {
        for _ in 0..load.connections {
            let connect_error = |source| LoadError::Connect {
                addr: *addr,
                source,
            };
            // A blocking connect, so that every connection is up before
            // the schedule starts.
            let stream = std::net::TcpStream::connect(addr).map_err(connect_error)?;
            stream.set_nodelay(true).map_err(connect_error)?;
            stream.set_nonblocking(true).map_err(connect_error)?;
            let mut stream = TcpStream::from_std(stream);
            poll.registry()
                .register(&mut stream, Token(connections.len()), Interest::READABLE)
                .map_err(connect_error)?;
            connections.push(Connection {
                stream,
                target,
                in_flight: None,
                received: Vec::with_capacity(4096),
            });
        }
    }
    Ok(connections)
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
    latencies: Vec<Vec<Duration>>,
    duration: Duration,
    most_waiting: usize,
    schedule: &Schedule,
) -> Report {
    let requests: usize = latencies.iter().map(Vec::len).sum();
    Report {
        targets: latencies.into_iter().map(quantiles).collect(),
        rate: requests as f64 / duration.as_secs_f64(),
        most_waiting,
        longest_pause: schedule.longest_pause,
        paused: schedule.paused,
        skipped: schedule.skipped,
    }
}

fn quantiles(mut latencies: Vec<Duration>) -> Latencies {
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
    Latencies {
        requests: latencies.len(),
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        p999: at(0.999),
        max: at(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_taken_from_each_targets_sorted_latencies() {
        let first = (1..=1000).rev().map(Duration::from_micros).collect();
        let second = (1..=10).map(Duration::from_millis).collect();
        let schedule = schedule(Instant::now(), Duration::ZERO);
        let report = report(vec![first, second], Duration::from_secs(2), 3, &schedule);
        assert!((report.rate - 505.0).abs() < 1e-9);
        assert_eq!(report.most_waiting, 3);
        let [first, second] = &report.targets[..] else {
            panic!("two targets: {:?}", report.targets)
        };
        assert_eq!(first.requests, 1000);
        assert_eq!(first.p50, Duration::from_micros(500));
        assert_eq!(first.p90, Duration::from_micros(900));
        assert_eq!(first.p99, Duration::from_micros(990));
        assert_eq!(first.p999, Duration::from_micros(999));
        assert_eq!(first.max, Duration::from_micros(1000));
        assert_eq!(second.requests, 10);
        assert_eq!(second.p50, Duration::from_millis(5));
        assert_eq!(second.p99, Duration::from_millis(10));
    }

    /// A request every 100 us for a second after `warmup`, with the default
    /// pause limit, to one target.
    fn schedule(start: Instant, warmup: Duration) -> Schedule {
        schedule_of(start, warmup, 1)
    }

    /// As [`schedule`], to `targets` targets taking turns by 1 ms.
    fn schedule_of(start: Instant, warmup: Duration, targets: u16) -> Schedule {
        schedule_sliced(start, warmup, targets, Duration::from_millis(1))
    }

    /// As [`schedule`], to `targets` targets taking turns by `slice`.
    fn schedule_sliced(
        start: Instant,
        warmup: Duration,
        targets: u16,
        slice: Duration,
    ) -> Schedule {
        let load = Load {
            targets: (0..targets)
                .map(|port| Target {
                    addr: SocketAddr::from(([127, 0, 0, 1], port)),
                    path: "/".into(),
                })
                .collect(),
            slice,
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
        let mut waiting = [VecDeque::new()];
        schedule.look(start + Duration::from_micros(at), &mut waiting);
        waiting[0]
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
    fn several_targets_take_turns_by_slice() {
        let start = Instant::now();
        let mut schedule = schedule_of(start, Duration::ZERO, 3);
        let mut waiting = vec![VecDeque::new(); 3];
        // Up to 3.5 ms: the requests of the slices 0-1, 1-2 and 2-3 ms go
        // to the targets 0, 1 and 2, and those from 3 ms to target 0 again.
        for at in (0..=3_500).step_by(100) {
            schedule.look(start + Duration::from_micros(at), &mut waiting);
        }
        let due: Vec<Vec<u128>> = waiting
            .iter()
            .map(|queue| {
                queue
                    .iter()
                    .map(|d| (d.scheduled - start).as_micros() / 100)
                    .collect()
            })
            .collect();
        assert_eq!(
            due,
            [
                (0..10).chain(30..36).collect::<Vec<u128>>(),
                (10..20).collect(),
                (20..30).collect()
            ]
        );
    }

    /// How many of the stalls recurring every `period` from `phase` after
    /// the start, over a bench load (1 s of warm-up and 10 s), fall in each
    /// of `targets` targets' turns of `slice`.
    fn stalls_per_target(
        slice: Duration,
        targets: u16,
        period: Duration,
        phase: Duration,
    ) -> Vec<usize> {
        let start = Instant::now();
        let schedule = schedule_sliced(start, Duration::ZERO, targets, slice);
        let mut counts = vec![0; usize::from(targets)];
        let mut at = phase;
        while at < Duration::from_secs(11) {
            counts[schedule.target_at(start + at)] += 1;
            at += period;
        }
        counts
    }

    /// The periods at which stalls recurred on the bench's machine, or are
    /// common on Linux: the 4 ms tick at 250 Hz, 100 ms, a memory monitor's
    /// 510 ms, and once a second.
    const STALL_PERIODS_MS: [u64; 4] = [4, 100, 510, 1_000];

    /// Whether, for every period and phase, each target gets at least a
    /// quarter of its even share of the stalls.
    fn stalls_fall_on_every_target(slice: Duration, targets: u16) -> Result<(), String> {
        let cycle = slice * u32::from(targets);
        for period in STALL_PERIODS_MS.map(Duration::from_millis) {
            for step in 0..20 {
                let phase = cycle * step / 20;
                let counts = stalls_per_target(slice, targets, period, phase);
                let even = counts.iter().sum::<usize>() / counts.len();
                if counts.iter().any(|&n| n * 4 < even) {
                    return Err(format!(
                        "stalls every {period:?} from {phase:?}: {counts:?} per target"
                    ));
                }
            }
        }
        Ok(())
    }

    #[test]
    fn stalls_that_recur_at_a_fixed_period_fall_on_every_target() {
        for targets in [2, 3, 4] {
            assert_eq!(stalls_fall_on_every_target(SLICE, targets), Ok(()));
        }
    }

    #[test]
    fn turns_that_divide_a_stalls_period_put_all_of_it_on_one_target() {
        // The check above bites: with turns of 10 ms, two targets' cycle
        // divides 100 ms and 1 s, and four targets' (40 ms) divides 1 s.
        let ten = Duration::from_millis(10);
        let counts = stalls_per_target(ten, 2, Duration::from_millis(100), ten / 2);
        assert_eq!(counts, [110, 0]);
        assert!(stalls_fall_on_every_target(ten, 2).is_err());
        assert!(stalls_fall_on_every_target(ten, 4).is_err());
    }

    /// The share of the log writer's batches written in the other target's
    /// turns, when the app is the second of two targets taking turns by
    /// `slice`, logs a line per request only in its own turns, and each
    /// write takes `write`. The writer (`telemetry::batch`) waits for a
    /// first line, gathers for `GATHER_FOR`, writes, and waits again.
    fn writes_outside_the_apps_turns(slice: Duration, write: Duration) -> f64 {
        let start = Instant::now();
        let schedule = schedule_sliced(start, Duration::ZERO, 2, slice);
        let app = 1;
        let interval = Duration::from_micros(30);
        let (mut at, mut writes, mut outside) = (Duration::ZERO, 0u32, 0u32);
        while at < Duration::from_secs(10) {
            // The next line the app logs: the next request in its turns.
            while schedule.target_at(start + at) != app {
                at += interval;
            }
            let written = at + telemetry::GATHER_FOR;
            writes += 1;
            if schedule.target_at(start + written) != app {
                outside += 1;
            }
            at = written + write;
        }
        f64::from(outside) / f64::from(writes)
    }

    #[test]
    fn the_apps_log_writer_writes_in_the_apps_own_turns() {
        for write in [10, 50, 100].map(Duration::from_micros) {
            let outside = writes_outside_the_apps_turns(SLICE, write);
            assert!(outside < 0.05, "{outside} of the writes of {write:?}");
        }
        // The check bites: with a cycle longer than the gathering time, a
        // batch gathered from the start of the app's turn is written at the
        // end of the other target's.
        let long = writes_outside_the_apps_turns(Duration::from_micros(10_500), Duration::ZERO);
        assert!(long > 0.9, "{long}");
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
