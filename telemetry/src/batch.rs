//! A lossless writer that gathers lines and writes them in batches from
//! its own thread.
//!
//! A server logs a line per request. `tracing-appender`'s non-blocking
//! writer sends each line through a channel as its own `Vec`, so every
//! line costs an allocation on the request path and a receive, a copy and
//! a free on the writer thread, which is busy for as long as requests
//! come; with the server on one core, that thread takes the core from the
//! requests (bench/HISTORY.md measures it). Here a line is appended to one
//! shared buffer under a lock, and the writer thread takes the whole buffer
//! at once:
//!
//! - it sleeps until a first line arrives (an idle server makes no
//!   wake-ups), then gathers for [`GATHER_FOR`] or until
//!   [`WRITE_AT_BYTES`] have gathered, whichever comes first, swaps the
//!   buffer for an empty one and writes it in one `write`: one wake-up per
//!   batch, none per line;
//! - it is lossless: when [`BUFFER_LIMIT_BYTES`] wait unwritten (the
//!   reader of the output is slower than the server), a logging thread
//!   waits for the writer rather than drop its line;
//! - [`BatchGuard`]'s drop writes out everything gathered and then returns,
//!   waiting at most [`FLUSH_DEADLINE`]; a line logged after that is
//!   written straight to the output by the thread that logs it.
//!
//! Each `write_all` is one whole line (both the access log and the general
//! formatter write a line in one call), so lines never interleave.
//!
//! On Linux the writer thread runs at the lowest priority
//! ([`WRITER_NICE`]). A server on one core (an ECS task at a fraction of a
//! vCPU) shares that core with it, and the kernel's scheduler lets a thread
//! that wakes take the core from the one running: at the default priority
//! the writer, waking for each batch, held up the requests that arrived
//! while it wrote, and at a steady 12k req/s the p99 of service-a with its
//! access log to a file was 0.14-0.19 ms against the bare baseline's 0.09;
//! at the lowest priority it was 0.10 ms (bench/HISTORY.md). A request
//! thread that wakes now takes the core from the writer instead. The writer
//! still gets its share when the core is busy, and when it falls behind the
//! buffer limit makes the logging threads wait for it, so nothing is lost.

use std::io::Write;
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer thread gathers lines after the first one before it
/// writes them: the most a line waits before it reaches the output.
/// The bench's fixed-rate load times its servers' turns against it
/// (`open_loop::SLICE`, whose tests read this constant).
pub const GATHER_FOR: Duration = Duration::from_millis(20);

/// The writer thread writes as soon as this much has gathered, without
/// waiting out [`GATHER_FOR`].
pub const WRITE_AT_BYTES: usize = 256 * 1024;

/// Unwritten bytes at which a logging thread waits for the writer thread
/// instead of adding its line.
pub const BUFFER_LIMIT_BYTES: usize = 4 * 1024 * 1024;

/// How long dropping a [`BatchGuard`] waits at most for the writer thread
/// to write out what has gathered: within what ECS leaves a task between
/// the end of the server's 20 s drain and its 30 s stop timeout.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// The nice value of the writer thread: the lowest priority, so that it
/// writes when the request threads leave the core free.
pub const WRITER_NICE: i32 = 19;

/// What the writer thread is doing, so that a logging thread wakes it only
/// when it waits for that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// Asleep until a first line arrives.
    Idle,
    /// Gathering until [`GATHER_FOR`] has passed or [`WRITE_AT_BYTES`] have
    /// gathered.
    Gathering,
    /// Woken or writing: no one needs to wake it.
    Busy,
    /// Gone: lines go straight to the output.
    Stopped,
}

struct State {
    lines: Vec<u8>,
    writer: Writer,
    stopping: bool,
    /// Logging threads waiting for room in `lines`.
    waiting_for_room: usize,
}

struct Shared<W> {
    state: Mutex<State>,
    /// Wakes the writer thread.
    wake: Condvar,
    /// Wakes logging threads waiting for room.
    room: Condvar,
    /// The output, used by the writer thread, and by logging threads once
    /// it has stopped.
    out: Mutex<W>,
}

impl<W> Shared<W> {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the buffer whole (appends
        // and swaps do not panic halfway), so the lines stay usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<W: Write> Shared<W> {
    /// Writes `bytes` to the output and flushes it.
    fn write_out(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.write_all(bytes).and_then(|()| out.flush())
    }
}

/// The writer [`tracing_subscriber`] formats lines into; cheap to clone.
pub struct BatchWriter<W> {
    shared: Arc<Shared<W>>,
}

impl<W> Clone for BatchWriter<W> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Keeps the writer thread running; dropping it writes out every line
/// gathered so far (see [`FLUSH_DEADLINE`]).
#[must_use = "dropping the guard stops the log writer"]
pub struct BatchGuard {
    stop: Box<dyn Fn() + Send + Sync>,
    /// Disconnects when the writer thread has written its last batch.
    finished: mpsc::Receiver<()>,
}

impl std::fmt::Debug for BatchGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchGuard").finish_non_exhaustive()
    }
}

impl Drop for BatchGuard {
    fn drop(&mut self) {
        (self.stop)();
        let _ = self.finished.recv_timeout(FLUSH_DEADLINE);
    }
}

/// Starts the writer thread, writing to `out`, and returns the writer to
/// log through and the guard that keeps the thread running.
///
/// # Errors
/// When the thread cannot be started.
pub fn batch_writer<W>(out: W) -> std::io::Result<(BatchWriter<W>, BatchGuard)>
where
    W: Write + Send + 'static,
{
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            lines: Vec::with_capacity(WRITE_AT_BYTES),
            writer: Writer::Busy,
            stopping: false,
            waiting_for_room: 0,
        }),
        wake: Condvar::new(),
        room: Condvar::new(),
        out: Mutex::new(out),
    });
    let (finished_tx, finished) = mpsc::channel::<()>();
    let thread_shared = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || {
            lower_own_priority();
            write_batches(&thread_shared);
            drop(finished_tx);
        })?;
    let stop_shared = Arc::clone(&shared);
    let guard = BatchGuard {
        stop: Box::new(move || {
            stop_shared.state().stopping = true;
            stop_shared.wake.notify_one();
        }),
        finished,
    };
    Ok((BatchWriter { shared }, guard))
}

/// Sets the calling thread's nice value to [`WRITER_NICE`]. On Linux the
/// nice value belongs to each thread, and `setpriority(PRIO_PROCESS, tid)`
/// sets one thread's; a process may always lower its own priority.
#[cfg(target_os = "linux")]
fn lower_own_priority() {
    // A sandbox that refuses the call leaves the writer at the default
    // priority: lines are still written, requests just wait a little more
    // behind each batch. There is nowhere to log it but this writer.
    // SAFETY: both calls only read and set the scheduling attributes of the
    // calling thread; neither touches memory.
    let _ = unsafe {
        libc::setpriority(
            libc::PRIO_PROCESS,
            libc::gettid().unsigned_abs(),
            WRITER_NICE,
        )
    };
}

#[cfg(not(target_os = "linux"))]
fn lower_own_priority() {}

/// The writer thread: waits for a first line, gathers, swaps the buffer
/// out and writes it, until stopped with nothing left.
fn write_batches<W: Write>(shared: &Shared<W>) {
    let mut batch = Vec::with_capacity(WRITE_AT_BYTES);
    loop {
        let mut state = shared.state();
        while state.lines.is_empty() && !state.stopping {
            state.writer = Writer::Idle;
            state = shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let deadline = Instant::now() + GATHER_FOR;
        state.writer = Writer::Gathering;
        while state.lines.len() < WRITE_AT_BYTES && !state.stopping {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = shared
                .wake
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.writer = Writer::Busy;
        if state.lines.is_empty() && state.stopping {
            state.writer = Writer::Stopped;
            return;
        }
        std::mem::swap(&mut state.lines, &mut batch);
        let someone_waits = state.waiting_for_room > 0;
        drop(state);
        if someone_waits {
            shared.room.notify_all();
        }
        // A failed write loses this batch only; there is nowhere to report
        // it, and the next batch may well succeed.
        let _ = shared.write_out(&batch);
        batch.clear();
        if batch.capacity() > BUFFER_LIMIT_BYTES {
            batch.shrink_to(WRITE_AT_BYTES);
        }
    }
}

impl<W: Write> BatchWriter<W> {
    fn append(&self, line: &[u8]) -> std::io::Result<()> {
        let shared = &*self.shared;
        let mut state = shared.state();
        while state.lines.len() >= BUFFER_LIMIT_BYTES && state.writer != Writer::Stopped {
            state.waiting_for_room += 1;
            state = shared
                .room
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.waiting_for_room -= 1;
        }
        // Wake the writer thread only when it waits for this line: asleep
        // for a first line, or gathering and this line fills the batch.
        let wake = match state.writer {
            Writer::Stopped => {
                drop(state);
                return shared.write_out(line);
            }
            Writer::Idle => true,
            Writer::Gathering => state.lines.len() + line.len() >= WRITE_AT_BYTES,
            Writer::Busy => false,
        };
        state.lines.extend_from_slice(line);
        if wake {
            state.writer = Writer::Busy;
            drop(state);
            shared.wake.notify_one();
        }
        Ok(())
    }
}

/// One line's writer, made by [`BatchWriter`] per event.
pub struct LineWriter<'a, W> {
    batch: &'a BatchWriter<W>,
}

impl<W: Write> Write for LineWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.batch.append(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.batch.append(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a, W: Write + 'static> MakeWriter<'a> for BatchWriter<W> {
    type Writer = LineWriter<'a, W>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter { batch: self }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// An output that keeps what it is given, counts its writes, can be
    /// slow, like a busy log driver, and records the nice value of the
    /// thread that writes each time (Linux only).
    #[derive(Clone, Default)]
    struct Output {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<AtomicUsize>,
        delay: Duration,
        nices: Arc<Mutex<Vec<i32>>>,
    }

    impl Write for Output {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            #[cfg(target_os = "linux")]
            {
                // SAFETY: reads the calling thread's scheduling attribute only.
                let nice =
                    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid().unsigned_abs()) };
                self.nices.lock().expect("lock").push(nice);
            }
            std::thread::sleep(self.delay);
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.bytes.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Output {
        fn text(&self) -> String {
            String::from_utf8(self.bytes.lock().expect("lock").clone()).expect("UTF-8")
        }
    }

    /// Logs `lines` lines of `width` bytes from each of `threads` threads.
    fn log_from_threads(writer: &BatchWriter<Output>, threads: usize, lines: usize, width: usize) {
        std::thread::scope(|scope| {
            for t in 0..threads {
                scope.spawn(move || {
                    for n in 0..lines {
                        let line = format!("{t} {n:0width$}\n", width = width);
                        writer
                            .make_writer()
                            .write_all(line.as_bytes())
                            .expect("write");
                    }
                });
            }
        });
    }

    /// Every line is there, once, whole, and in the order each thread
    /// logged its lines.
    fn assert_complete(text: &str, threads: usize, lines: usize) {
        let mut next = vec![0usize; threads];
        for line in text.lines() {
            let (t, n) = line.split_once(' ').expect("a whole line");
            let t: usize = t.parse().expect("thread");
            let n: usize = n.parse().expect("number");
            assert_eq!(n, next[t], "thread {t}: line {n} out of order");
            next[t] += 1;
        }
        assert_eq!(next, vec![lines; threads], "lines written per thread");
    }

    #[test]
    fn every_line_is_written_in_order_once_the_guard_drops() {
        let output = Output::default();
        let (writer, guard) = batch_writer(output.clone()).expect("writer thread");
        log_from_threads(&writer, 4, 20_000, 8);
        drop(guard);
        assert_complete(&output.text(), 4, 20_000);
        let writes = output.writes.load(Ordering::SeqCst);
        assert!(
            writes < 80_000 / 10,
            "lines are written in batches: {writes} writes"
        );
    }

    #[test]
    fn a_slow_output_makes_logging_wait_and_loses_nothing() {
        // 8 MiB through an output that takes 20 ms a write: the buffer
        // fills to its limit, and the logging threads wait for room.
        let output = Output {
            delay: Duration::from_millis(20),
            ..Output::default()
        };
        let (writer, guard) = batch_writer(output.clone()).expect("writer thread");
        log_from_threads(&writer, 2, 4096, 1100);
        drop(guard);
        let text = output.text();
        assert!(text.len() > 2 * BUFFER_LIMIT_BYTES, "{} bytes", text.len());
        assert_complete(&text, 2, 4096);
    }

    #[test]
    fn a_lone_line_is_written_without_waiting_for_more() {
        let output = Output::default();
        let (writer, _guard) = batch_writer(output.clone()).expect("writer thread");
        writer.make_writer().write_all(b"0 0\n").expect("write");
        // Generous: the line is due after `GATHER_FOR`.
        let deadline = Instant::now() + Duration::from_secs(10);
        while output.text().is_empty() {
            assert!(Instant::now() < deadline, "the line was never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(output.text(), "0 0\n");
    }

    /// Logs the line `0 0` and drops the guard: the writer thread has
    /// written it and stopped.
    fn one_line_then_stopped() -> (Output, BatchWriter<Output>) {
        let output = Output::default();
        let (writer, guard) = batch_writer(output.clone()).expect("writer thread");
        writer.make_writer().write_all(b"0 0\n").expect("write");
        drop(guard);
        (output, writer)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_writer_thread_writes_at_the_lowest_priority() {
        let (output, _writer) = one_line_then_stopped();
        assert_eq!(*output.nices.lock().expect("lock"), vec![WRITER_NICE]);
    }

    #[test]
    fn a_line_after_the_guard_drops_goes_straight_out() {
        let (output, writer) = one_line_then_stopped();
        writer.make_writer().write_all(b"0 1\n").expect("write");
        assert_complete(&output.text(), 1, 2);
    }
}
