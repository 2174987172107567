//! A connection wrapper that tells when the client's first bytes arrive.
//!
//! On shutdown, hyper closes at once an HTTP/1 connection on which it has
//! read nothing yet. A client that connected just before the signal saw its
//! connection established and may be sending its request that very moment,
//! so the server first waits (briefly) for those bytes; see
//! [`crate::server`].

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// `S`, noting its first successful read in a shared [`Notify`].
#[derive(Debug)]
pub struct FirstRead<S> {
    inner: S,
    first_read: Option<Arc<Notify>>,
}

impl<S> FirstRead<S> {
    /// Wraps `inner`; the returned [`Notify`] holds a permit from the first
    /// read that returns bytes on.
    pub fn new(inner: S) -> (FirstRead<S>, Arc<Notify>) {
        let notify = Arc::new(Notify::new());
        let wrapped = FirstRead {
            inner,
            first_read: Some(Arc::clone(&notify)),
        };
        (wrapped, notify)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FirstRead<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            if let Some(notify) = self.first_read.take() {
                // A permit is stored when nobody waits yet.
                notify.notify_one();
            }
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FirstRead<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
