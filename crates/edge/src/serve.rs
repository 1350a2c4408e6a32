//! The accept loop every HTTP listener of the server shares ([`serve_http`]): a bounded
//! number of connections, HTTP/1.1 with a limit on sending a request head, and a stop on
//! the shutdown signal.

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

/// The limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct ListenerConfig {
    /// Names the listener in logs.
    pub name: &'static str,
    /// Connections served at once; more wait in the kernel's accept queue.
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
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = shutdown.changed() => return,
        };
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
        let (io, service) = connection(stream);
        tokio::spawn(async move {
            // A client that never finishes its request head is dropped after the timeout
            // instead of holding a connection slot.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(cfg.header_read_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(io), service)
                .await;
            drop(permit);
        });
    }
}
