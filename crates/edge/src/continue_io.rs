//! `100 Continue` for requests with an empty body. hyper answers an `Expect:
//! 100-continue` request whose body is empty with its final response alone, which HTTP
//! allows; botocore then keeps that response's status line for the next response on the
//! same connection and misreads it. S3 sends `100 Continue` first, so this wrapper writes
//! one before the response of such a request.

use http::Request;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Whether hyper will answer `req` without a `100 Continue` although it asked for one.
pub fn needs_forced_continue<B>(req: &Request<B>) -> bool {
    let expects = req
        .headers()
        .get(http::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    let empty = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0");
    // Only HTTP/1.1 has interim responses written on the connection's byte stream.
    req.version() == http::Version::HTTP_11 && expects && empty
}

/// A connection that writes `100 Continue` before the next response once the flag is set.
pub struct ContinueIo<S> {
    inner: S,
    flag: Arc<AtomicBool>,
    /// What is left of a `100 Continue` being written.
    pending: &'static [u8],
}

impl<S> ContinueIo<S> {
    pub fn new(inner: S) -> (Self, Arc<AtomicBool>) {
        let flag = Arc::new(AtomicBool::new(false));
        (
            Self {
                inner,
                flag: flag.clone(),
                pending: &[],
            },
            flag,
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ContinueIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ContinueIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // Requests on one connection are answered in order, so the next bytes written
        // after the flag is set are that request's response.
        if self.pending.is_empty() && self.flag.swap(false, Ordering::AcqRel) {
            self.pending = CONTINUE;
        }
        while !self.pending.is_empty() {
            let me = &mut *self;
            match Pin::new(&mut me.inner).poll_write(cx, me.pending) {
                Poll::Ready(Ok(n)) => me.pending = &me.pending[n..],
                other => return other.map(|r| r.map(|_| 0)),
            }
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn writes_continue_before_the_next_response_only() {
        let (a, mut b) = tokio::io::duplex(1024);
        let (mut io, flag) = ContinueIo::new(a);
        io.write_all(b"one").await.unwrap();
        flag.store(true, Ordering::Release);
        io.write_all(b"two").await.unwrap();
        io.write_all(b"three").await.unwrap();
        drop(io);
        let mut out = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut b, &mut out)
            .await
            .unwrap();
        assert_eq!(out, b"oneHTTP/1.1 100 Continue\r\n\r\ntwothree");
    }

    #[test]
    fn only_empty_bodies_need_it() {
        let req = |len: &str| {
            Request::builder()
                .header("expect", "100-continue")
                .header("content-length", len)
                .body(())
                .unwrap()
        };
        assert!(needs_forced_continue(&req("0")));
        assert!(!needs_forced_continue(&req("5")));
    }
}
