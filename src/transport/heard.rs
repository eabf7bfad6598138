//! A byte stream that remembers when it last heard from the other side.
//!
//! The SSH handshake is timed by silence, not by its total length: a server
//! busy with a thousand handshakes answers each one slowly but keeps
//! answering, and is not an unreachable host. OpenSSH's ConnectTimeout
//! likewise covers the TCP connect and the server's banner, not the whole
//! key exchange.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// When the stream last delivered bytes; shared with the one waiting.
#[derive(Clone)]
pub struct LastHeard {
    since: Instant,
    /// Nanoseconds after `since`; 0 while nothing has been heard.
    nanos: Arc<AtomicU64>,
}

impl LastHeard {
    /// When bytes last came, if any did.
    pub fn at(&self) -> Option<Instant> {
        match self.nanos.load(Ordering::Relaxed) {
            0 => None,
            n => Some(self.since + std::time::Duration::from_nanos(n)),
        }
    }

    fn mark(&self) {
        let nanos = self.since.elapsed().as_nanos().max(1);
        self.nanos
            .store(nanos.min(u64::MAX as u128) as u64, Ordering::Relaxed);
    }
}

/// `inner`, noting every read that brings bytes.
pub struct Heard<S> {
    inner: S,
    last: LastHeard,
}

/// Wraps `inner`; the `LastHeard` tells when it last delivered bytes.
pub fn watch<S>(inner: S) -> (Heard<S>, LastHeard) {
    let last = LastHeard {
        since: Instant::now(),
        nanos: Arc::new(AtomicU64::new(0)),
    };
    (
        Heard {
            inner,
            last: last.clone(),
        },
        last,
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for Heard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.last.mark();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Heard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_that_bring_bytes_are_noted() {
        let (near, mut far) = tokio::io::duplex(64);
        let (mut near, last) = watch(near);
        assert_eq!(last.at(), None);
        let before = Instant::now();
        far.write_all(b"SSH-2.0-x\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        let n = near.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"SSH-2.0-x\r\n");
        assert!(last.at().unwrap() >= before);
    }
}
