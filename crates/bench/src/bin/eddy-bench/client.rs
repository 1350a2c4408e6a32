//! The HTTP client every measurement shares: one keep-alive HTTP/1.1 connection per
//! worker with Nagle off, SigV4 signing for Eddy's AWS APIs, and the plain unsigned
//! requests a browser sends to an HTTP entry point.

use anyhow::Context;
use bytes::Bytes;
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

pub type Body = Full<Bytes>;

/// What a request came back with.
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The whole answer on one line, `Date` left out: `status (headers): body`.
    pub fn whole(&self) -> String {
        let mut headers: Vec<String> = self
            .headers
            .iter()
            .filter(|(k, _)| *k != http::header::DATE)
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
            .collect();
        headers.sort();
        format!(
            "{} ({}): {}",
            self.status,
            headers.join(", "),
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// One connection; requests on it go one after another.
pub struct Client {
    sender: SendRequest<Body>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        // Each request is one small write; Nagle would delay it behind the last ACK.
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self { sender })
    }

    /// Whether the connection is gone (the server closed it or it failed).
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    pub async fn send(&mut self, req: Request<Body>) -> anyhow::Result<Reply> {
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }
}

/// Builds requests for one server and one service, signed like the AWS SDKs sign them.
#[derive(Clone)]
pub struct Signer {
    host: String,
    /// The signing name of the service (`lambda`, `apigateway`, ...).
    service: &'static str,
}

const ACCESS_KEY: &str = "test";
const SECRET: &str = "test";
const REGION: &str = "us-east-1";

impl Signer {
    /// Signs for Lambda.
    pub fn new(addr: SocketAddr) -> Self {
        Self::for_service(addr, "lambda")
    }

    pub fn for_service(addr: SocketAddr, service: &'static str) -> Self {
        Self {
            host: addr.to_string(),
            service,
        }
    }

    /// The signature headers alone; split out so the signing cost can be timed apart
    /// from building the request.
    pub fn sign(&self, method: &str, path: &str, body: &[u8]) -> Vec<(String, String)> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        sigv4::sign(
            method,
            path,
            "",
            &[("host", &self.host)],
            body,
            ACCESS_KEY,
            SECRET,
            REGION,
            self.service,
            now,
        )
    }

    /// A signed request; `extra` headers are sent but not signed, as SigV4 allows.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        extra: &[(&'static str, &'static str)],
    ) -> Request<Body> {
        let signature = self.sign(method.as_str(), path, &body);
        let mut req = self.unsigned(method, path, body, extra);
        let h = req.headers_mut();
        for (name, value) in signature {
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                h.insert(n, v);
            }
        }
        req
    }

    /// The same request without a signature: what the baseline server is sent.
    pub fn unsigned(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        extra: &[(&'static str, &'static str)],
    ) -> Request<Body> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = path.parse().unwrap_or_default();
        let h = req.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.host) {
            h.insert(http::header::HOST, v);
        }
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in extra {
            h.insert(*name, HeaderValue::from_static(value));
        }
        req
    }
}

/// Unsigned `GET`s of one path on one virtual host, as a browser or curl sends them to
/// a function URL or an API: no body, no signature, the entry point named by the Host
/// header while the connection goes to Eddy's address.
#[derive(Clone)]
pub struct PlainGet {
    host: HeaderValue,
    uri: http::Uri,
}

impl PlainGet {
    /// `host` is the Host header (`<id>.lambda-url.us-east-1.localhost:<port>`).
    pub fn new(host: &str, path: &str) -> anyhow::Result<Self> {
        Ok(Self {
            host: HeaderValue::from_str(host).with_context(|| format!("Host header {host:?}"))?,
            uri: path
                .parse()
                .with_context(|| format!("request path {path:?}"))?,
        })
    }

    pub fn request(&self) -> Request<Body> {
        let mut req = Request::new(Body::default());
        *req.uri_mut() = self.uri.clone();
        req.headers_mut()
            .insert(http::header::HOST, self.host.clone());
        req
    }

    /// The request, for messages.
    pub fn describe(&self) -> String {
        format!(
            "GET {} with Host: {}",
            self.uri,
            self.host.to_str().unwrap_or_default()
        )
    }
}
