//! The listening socket, and how it stops taking connections without
//! losing any that a client already saw established.
//!
//! Closing a listening socket resets every connection still waiting in the
//! kernel's accept queue. Those clients completed their handshake, may have
//! sent their request, and get a reset instead of an answer. So shutdown
//! first makes the socket refuse new handshakes (on Linux, a socket filter
//! drops incoming SYNs; those clients retry the SYN and are refused once the
//! socket is closed), then accepts what the queue still holds, and only then
//! closes the socket.
//!
//! Some kernels let only a process with `CAP_NET_ADMIN` attach a socket
//! filter, and containers do not have it. There the listener is closed
//! right after a last sweep of the accept queue instead: only a handshake
//! that completes within the microseconds between that sweep and the close
//! can still be reset. Behind the ALB no new connections arrive by then
//! anyway: ECS deregisters a task and waits out the deregistration delay
//! before it sends SIGTERM.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::{TcpListener, TcpStream};

/// Connections the kernel may queue before the server accepts them.
const BACKLOG: i32 = 1024;

/// A TCP listener that can stop admitting connections before it closes.
#[derive(Debug)]
pub struct Listener {
    inner: TcpListener,
}

/// Binds `addr` with `SO_REUSEADDR`, so that a restart need not wait for
/// the old socket's TIME_WAIT.
pub fn bind(addr: SocketAddr) -> io::Result<Listener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    let inner = TcpListener::from_std(socket.into())?;
    Ok(Listener { inner })
}

impl Listener {
    /// The bound address (with the real port when `0` was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The next connection.
    pub async fn accept(&self) -> io::Result<TcpStream> {
        let (stream, _peer) = self.inner.accept().await?;
        Ok(stream)
    }

    /// Makes the kernel drop new connection requests (SYNs) while letting
    /// handshakes under way complete into the accept queue.
    pub fn refuse_new_connections(&self) -> io::Result<()> {
        refuse_syn(&SockRef::from(&self.inner))
    }

    /// Accepts what is already queued: returns the next connection, or
    /// `None` once none has arrived for `quiet`.
    pub async fn accept_queued(&self, quiet: Duration) -> Option<io::Result<TcpStream>> {
        tokio::time::timeout(quiet, self.accept()).await.ok()
    }

    /// Takes every connection still queued, without waiting, and closes the
    /// socket right after the last one. When new connections could not be
    /// refused, a handshake completing in the microseconds between that last
    /// accept and the close is the only one the close can reset.
    pub fn close(self) -> Vec<TcpStream> {
        let mut taken = Vec::new();
        let Ok(listener) = self.inner.into_std() else {
            return taken;
        };
        loop {
            match listener.accept() {
                Ok((stream, _peer)) => {
                    let stream = stream
                        .set_nonblocking(true)
                        .and_then(|()| TcpStream::from_std(stream));
                    if let Ok(stream) = stream {
                        taken.push(stream);
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::ConnectionAborted => continue,
                // WouldBlock: the queue is empty. Anything else: stop too.
                Err(_) => break,
            }
        }
        drop(listener);
        taken
    }
}

/// Attaches a classic BPF program that drops TCP segments with SYN set and
/// ACK clear, and lets every other segment through. A TCP socket's filter
/// sees the segment from its TCP header on; byte 13 holds the flags.
#[cfg(target_os = "linux")]
fn refuse_syn(socket: &SockRef<'_>) -> io::Result<()> {
    use socket2::SockFilter;
    // Opcodes from linux/filter.h.
    const LD_B_ABS: u16 = 0x10 | 0x20; // BPF_LD (0) | BPF_B | BPF_ABS
    const AND_K: u16 = 0x04 | 0x50; // BPF_ALU | BPF_AND | BPF_K
    const JEQ_K: u16 = 0x05 | 0x10; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const TCP_FLAGS_OFFSET: u32 = 13;
    const SYN: u32 = 0x02;
    const ACK: u32 = 0x10;
    let program = [
        SockFilter::new(LD_B_ABS, 0, 0, TCP_FLAGS_OFFSET),
        SockFilter::new(AND_K, 0, 0, SYN | ACK),
        // A bare SYN falls through to the drop; anything else jumps over it.
        SockFilter::new(JEQ_K, 0, 1, SYN),
        SockFilter::new(RET_K, 0, 0, 0),
        SockFilter::new(RET_K, 0, 0, u32::MAX),
    ];
    socket.attach_filter(&program)
}

#[cfg(not(target_os = "linux"))]
fn refuse_syn(_socket: &SockRef<'_>) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "refusing new connections before closing needs Linux",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, TcpStream as StdStream};

    fn loopback() -> SocketAddr {
        (Ipv4Addr::LOCALHOST, 0).into()
    }

    #[tokio::test]
    async fn a_refusing_listener_still_hands_over_queued_connections() {
        let listener = bind(loopback()).expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Established before the refusal but not accepted yet: it sits in
        // the kernel's queue and must still be handed over.
        let queued = tokio::task::spawn_blocking(move || StdStream::connect(addr))
            .await
            .expect("join")
            .expect("connect before refusing");
        match listener.refuse_new_connections() {
            Ok(()) => {}
            // This kernel wants CAP_NET_ADMIN for socket filters; CI runs
            // as root and must exercise the filter.
            Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
                let required =
                    std::env::var("ECS_PIPELINE_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
                assert!(
                    !required,
                    "attaching the SYN filter needs CAP_NET_ADMIN here: {err}"
                );
                eprintln!("SKIPPED: attaching the SYN filter needs CAP_NET_ADMIN here: {err}");
                return;
            }
            Err(err) => panic!("attach the filter: {err}"),
        }

        let late = tokio::task::spawn_blocking(move || {
            StdStream::connect_timeout(&addr, Duration::from_millis(500))
        })
        .await
        .expect("join");
        let err = late.expect_err("a new connection must not complete once refusing");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");

        let handed_over = listener
            .accept_queued(Duration::from_millis(200))
            .await
            .expect("the queued connection")
            .expect("accept");
        assert_eq!(
            handed_over.peer_addr().expect("peer"),
            queued.local_addr().expect("local")
        );
        assert!(listener
            .accept_queued(Duration::from_millis(100))
            .await
            .is_none());
    }

    #[tokio::test]
    async fn closing_hands_over_every_queued_connection_first() {
        let listener = bind(loopback()).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let queued = tokio::task::spawn_blocking(move || {
            (0..3)
                .map(|_| StdStream::connect(addr).expect("connect"))
                .collect::<Vec<_>>()
        })
        .await
        .expect("join");
        let taken = listener.close();
        assert_eq!(
            taken.len(),
            queued.len(),
            "every queued connection is handed over"
        );
        let err = StdStream::connect(addr).expect_err("closed");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[tokio::test]
    async fn a_closed_listener_refuses_outright() {
        // Once the listener is gone its port is free for anyone, so the
        // test holds it (bound, not listening, no SO_REUSEADDR: nobody else
        // can bind it) before it connects. Should another process have been
        // quicker, the hold fails and the test starts over on a new port.
        for _ in 0..20 {
            let listener = bind(loopback()).expect("bind");
            let addr = listener.local_addr().expect("addr");
            drop(listener);
            let held = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
                .and_then(|socket| socket.bind(&addr.into()).map(|()| socket));
            let Ok(_held) = held else { continue };
            let err = StdStream::connect(addr).expect_err("nothing listens");
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
            return;
        }
        panic!("another process took the released port 20 times in a row");
    }
}
