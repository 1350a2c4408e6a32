//! The accept loop every HTTP listener of the server shares ([`serve_http`]): a bounded
//! number of connections (past it, a clean 503 and close), HTTP/1.1 with keep-alive and
//! HTTP/2 over cleartext (prior knowledge), a limit on sending a request head, and a stop
//! on the shutdown signal.

use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::service::Service;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// The pause after a failed accept (out of file descriptors, for example), so a failure
/// that persists does not spin.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(10);
/// The largest request head read (a larger one is answered 431): far above what AWS's
/// APIs accept in headers, far below what could hurt the server.
const HEADER_BYTES_MAX: usize = 64 * 1024;
/// How long writing the 503 to a connection past the limit may take.
const REJECT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// Connections answered with a 503 at once while the listener is full; past this they are
/// closed without an answer.
const REJECTS_MAX: usize = 64;
/// What a connection past the limit is told.
const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 60\r\nconnection: close\r\n\r\n{\"message\":\"Too many connections; retry in a moment please\"}";

/// The limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct ListenerConfig {
    /// Names the listener in logs.
    pub name: &'static str,
    /// Connections served at once; more are answered 503.
    pub connections_max: usize,
    /// How long a client may take to send a request head.
    pub header_read_timeout: Duration,
}

/// Accepts connections on `listener` until `shutdown` turns true, and serves each with
/// HTTP/1.1 on a task of its own. `connection` turns an accepted stream into the IO hyper
/// reads and writes (the stream itself, or a wrapper around it) and the service that
/// answers the requests on it.
pub async fn serve_http<C, I, S, B>(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    cfg: ListenerConfig,
    mut connection: C,
) where
    C: FnMut(TcpStream) -> (I, S),
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // A connection holds a permit until it closes.
    let slots = Arc::new(Semaphore::new(cfg.connections_max));
    let rejects = Arc::new(Semaphore::new(REJECTS_MAX));
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("{}: accept failed: {e}", cfg.name);
                    tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            if let Ok(r) = rejects.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    use tokio::io::AsyncWriteExt;
                    let mut stream = stream;
                    let _ =
                        tokio::time::timeout(REJECT_WRITE_TIMEOUT, stream.write_all(BUSY_RESPONSE))
                            .await;
                    drop(r);
                });
            }
            continue;
        };
        let (io, service) = connection(stream);
        tokio::spawn(async move {
            // A client that never finishes its request head (or stays idle between
            // requests) is dropped after the timeout instead of holding a slot.
            let mut builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(cfg.header_read_timeout)
                .max_buf_size(HEADER_BYTES_MAX);
            builder
                .http2()
                .timer(hyper_util::rt::TokioTimer::new())
                .keep_alive_interval(Some(cfg.header_read_timeout));
            let _ = builder
                .serve_connection(hyper_util::rt::TokioIo::new(io), service)
                .await;
            drop(permit);
        });
    }
}
