//! The edge: one HTTP listener for every API. It finds the service a request is for (by
//! its SigV4 scope), verifies the signature, reads the body within limits, and hands a
//! decoded [`wire::ApiRequest`] to the service. Its accept loop, [`serve_http`], serves
//! the server's other HTTP listeners too.
//!
//! Invariants: no service sees an unauthenticated request (only the unauthenticated
//! `/_eddy/` routes bypass SigV4); every response carries `x-amzn-RequestId`; a panic in a
//! service fails that request only.

mod continue_io;
mod serve;

pub use serve::{serve_http, ListenerConfig};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use wire::identity::{CredentialError, Principal};
use wire::{ApiRequest, ApiResponse, Service};

/// Edge settings.
#[derive(Clone)]
pub struct EdgeConfig {
    /// Accepted access keys: the server's own and temporary ones.
    pub credentials: Arc<wire::identity::Credentials>,
    /// The largest request body read (CreateFunction carries up to 50 MB of base64 zip).
    pub body_bytes_max: usize,
    /// The longest pause allowed while a request body arrives, in milliseconds.
    pub body_idle_timeout_ms: u64,
    /// Connections served at once; more wait in the kernel's accept queue.
    pub connections_max: usize,
}

/// The router: services by SigV4 service name, plus the unauthenticated internal routes.
pub struct Edge {
    cfg: EdgeConfig,
    services: HashMap<String, Arc<dyn Service>>,
    internal: Arc<dyn Service>,
    /// The HTTP entry points in front of functions (function URLs), found by Host or by
    /// the `/_eddy/urls/` path instead of by a signature.
    front_door: Option<Arc<dyn Service>>,
}

type Body = http_body_util::Either<Full<Bytes>, FileStream>;

/// How long a client may take to send a request head.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Pieces a file is sent in.
const FILE_CHUNK_BYTES: usize = 256 * 1024;

fn to_hyper(r: ApiResponse) -> Response<Body> {
    if let Some(f) = r.extensions().get::<wire::FileBody>().cloned() {
        return r.map(|_| http_body_util::Either::Right(FileStream::start(f)));
    }
    if let Some(rx) = r
        .extensions()
        .get::<wire::ResponseStream>()
        .and_then(wire::ResponseStream::take)
    {
        return r.map(|_| {
            http_body_util::Either::Right(FileStream {
                rx,
                remaining: None,
            })
        });
    }
    r.map(|b| http_body_util::Either::Left(Full::new(b)))
}

/// A body sent as its pieces arrive on a small bounded channel, so a slow client holds
/// back the producer instead of filling memory: a file (a blocking task reads it ahead)
/// or a function's streamed response.
pub struct FileStream {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    /// Bytes still to come, when known (files); streams have no length.
    remaining: Option<u64>,
}

impl FileStream {
    fn start(f: wire::FileBody) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let remaining = f.len;
        tokio::task::spawn_blocking(move || {
            use std::os::unix::fs::FileExt;
            let mut offset = f.offset;
            let end = f.offset + f.len;
            while offset < end {
                let n = ((end - offset) as usize).min(FILE_CHUNK_BYTES);
                let mut buf = vec![0u8; n];
                let result = f
                    .file
                    .read_exact_at(&mut buf, offset)
                    .map(|_| Bytes::from(buf));
                let failed = result.is_err();
                if tx.blocking_send(result).is_err() || failed {
                    return;
                }
                offset += n as u64;
            }
        });
        Self {
            rx,
            remaining: Some(remaining),
        }
    }
}

impl hyper::body::Body for FileStream {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        match self.rx.poll_recv(cx) {
            std::task::Poll::Ready(Some(Ok(b))) => {
                if let Some(r) = self.remaining.as_mut() {
                    *r = r.saturating_sub(b.len() as u64);
                }
                std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(b))))
            }
            std::task::Poll::Ready(Some(Err(e))) => std::task::Poll::Ready(Some(Err(e))),
            std::task::Poll::Ready(None) => std::task::Poll::Ready(None),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == Some(0)
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self.remaining {
            Some(n) => hyper::body::SizeHint::with_exact(n),
            None => hyper::body::SizeHint::default(),
        }
    }
}

/// The error shape used before the service is known.
fn generic_error(status: StatusCode, code: &str, message: &str) -> ApiResponse {
    let body = serde_json::json!({ "__type": code, "message": message, "Type": "User" });
    let mut r = wire::response(status, "application/json", body.to_string());
    if let Ok(v) = HeaderValue::from_str(code) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

fn auth_error(e: &sigv4::AuthError) -> (StatusCode, &'static str, String) {
    use sigv4::AuthError::*;
    match e {
        Missing => (StatusCode::FORBIDDEN, "MissingAuthenticationTokenException", "Missing Authentication Token".into()),
        Incomplete(_) | UnsupportedAlgorithm(_) => (StatusCode::FORBIDDEN, "IncompleteSignatureException", e.to_string()),
        UnknownAccessKey(_) => (
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".into(),
        ),
        SignatureMismatch => (
            StatusCode::FORBIDDEN,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
        ),
        Skewed { .. } => (StatusCode::FORBIDDEN, "InvalidSignatureException", e.to_string()),
        Expired { .. } => (StatusCode::FORBIDDEN, "AccessDenied", "Request has expired".into()),
        PayloadHashMismatch => (StatusCode::BAD_REQUEST, "XAmzContentSHA256Mismatch", e.to_string()),
    }
}

/// The request a service gets.
#[allow(clippy::too_many_arguments)]
fn api_request(
    parts: http::request::Parts,
    path: String,
    raw_query: &str,
    body: Bytes,
    region: String,
    request_id: &str,
    stream: Option<wire::StreamedBody>,
    caller: Arc<Principal>,
) -> ApiRequest {
    ApiRequest {
        method: parts.method,
        path,
        query: wire::parse_query(raw_query),
        raw_query: raw_query.to_owned(),
        headers: parts.headers,
        body,
        region,
        request_id: request_id.to_owned(),
        stream,
        caller,
    }
}

/// The session token a request carries (header, or query for presigned URLs).
fn session_token(headers: &[(&str, &str)], raw_query: &str) -> Option<String> {
    if let Some((_, v)) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-security-token"))
    {
        return Some(v.to_string());
    }
    wire::parse_query(raw_query)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-security-token"))
        .map(|(_, v)| v)
}

fn credential_error(e: CredentialError) -> (StatusCode, &'static str, &'static str) {
    match e {
        CredentialError::UnknownKey | CredentialError::BadToken => (
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        CredentialError::Expired => (
            StatusCode::FORBIDDEN,
            "ExpiredTokenException",
            "The security token included in the request is expired",
        ),
    }
}

/// What a request does, for the audit log: the json operation, else the path.
fn operation_of<'a>(headers: &'a http::HeaderMap, path: &'a str) -> &'a str {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(path)
}

/// Runs a service on one request in its own task: a panic inside fails this request only.
async fn run_service(service: Arc<dyn Service>, api: ApiRequest, request_id: &str) -> ApiResponse {
    let svc = service.clone();
    match tokio::spawn(async move { svc.handle(api).await }).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("request {request_id} failed inside the service: {e}");
            service.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
        }
    }
}

/// A hyper body as a [`wire::BodyStream`].
struct IncomingStream {
    body: Incoming,
    /// The longest pause allowed between two pieces of the body.
    idle: std::time::Duration,
}

impl wire::BodyStream for IncomingStream {
    fn next_chunk(&mut self) -> wire::BoxFuture<'_, Option<Result<Bytes, wire::BodyError>>> {
        Box::pin(async move {
            loop {
                let Ok(frame) = tokio::time::timeout(self.idle, self.body.frame()).await else {
                    return Some(Err(wire::BodyError::Incomplete(
                        "the body paused longer than the server's body idle timeout".into(),
                    )));
                };
                match frame? {
                    Ok(frame) => match frame.into_data() {
                        Ok(data) => return Some(Ok(data)),
                        // Trailers of a chunked HTTP body carry nothing S3 reads here.
                        Err(_) => continue,
                    },
                    Err(e) => return Some(Err(wire::BodyError::Incomplete(e.to_string()))),
                }
            }
        })
    }
}

impl Edge {
    pub fn new(cfg: EdgeConfig, internal: Arc<dyn Service>) -> Self {
        Self {
            cfg,
            services: HashMap::new(),
            internal,
            front_door: None,
        }
    }

    /// Serves requests for function URLs (see [`wire::front_door`]) with `service`.
    pub fn set_front_door(&mut self, service: Arc<dyn Service>) {
        self.front_door = Some(service);
    }

    /// A request for an entry point in front of functions. A signed request is verified
    /// like any other and carries its signer; an unsigned one goes on as anonymous, and the
    /// entry point decides whether that is enough.
    async fn front(
        &self,
        front: Arc<dyn Service>,
        parts: http::request::Parts,
        body: Incoming,
        path: String,
        raw_query: String,
        request_id: &str,
    ) -> ApiResponse {
        let body = match self.read_body(front.as_ref(), body).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        let header_pairs: Vec<(&str, &str)> = parts
            .headers
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
            .collect();
        // Only a SigV4 Authorization header is a signature: any other (a bearer token, a
        // Lambda authorizer's identity source) belongs to the API and passes through, and
        // the request is anonymous.
        let signed = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("AWS4-"))
            || raw_query.contains("X-Amz-Signature=");
        let (caller, region) = if signed {
            let sreq = sigv4::Request {
                method: parts.method.as_str(),
                path: &path,
                query: &raw_query,
                headers: &header_pairs,
            };
            let now_ms = wire::time::now_ms();
            let verified =
                match sigv4::verify(&sreq, &body, now_ms / 1000, &|k: &str| self.secret_for(k)) {
                    Ok(v) => v,
                    Err(e) => {
                        let (s, c, m) = auth_error(&e);
                        return front.error(s, c, &m);
                    }
                };
            let token = session_token(&header_pairs, &raw_query);
            match self
                .cfg
                .credentials
                .authenticate(&verified.access_key, token.as_deref(), now_ms)
            {
                Ok(p) => (p, verified.region),
                Err(e) => {
                    let (s, c, m) = credential_error(e);
                    return front.error(s, c, m);
                }
            }
        } else {
            (Arc::new(Principal::Anonymous), "us-east-1".to_string())
        };
        drop(header_pairs);
        let api = api_request(
            parts, path, &raw_query, body, region, request_id, None, caller,
        );
        run_service(front, api, request_id).await
    }

    /// Serves `service` for requests signed for `signing_name` (`lambda`, `logs`, ...).
    pub fn register(&mut self, signing_name: &str, service: Arc<dyn Service>) {
        self.services.insert(signing_name.to_owned(), service);
    }

    pub fn service_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.services.keys().cloned().collect();
        v.sort();
        v
    }

    fn secret_for(&self, key: &str) -> Option<String> {
        self.cfg.credentials.secret_for(key)
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let request_id = wire::id::uuid4();
        let mut resp = self.route(req, &request_id).await;
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert("x-amzn-requestid", v);
        }
        to_hyper(resp)
    }

    async fn route(&self, req: Request<Incoming>, request_id: &str) -> ApiResponse {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_owned();
        let raw_query = parts.uri.query().unwrap_or("").to_owned();

        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        if let (Some(front), Some(_)) = (&self.front_door, wire::front_door(host.as_deref(), &path))
        {
            return self
                .front(front.clone(), parts, body, path, raw_query, request_id)
                .await;
        }

        if path.starts_with("/_eddy/") {
            let body = match Limited::new(body, 1024 * 1024).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    return generic_error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "RequestEntityTooLargeException",
                        "Request body too large",
                    )
                }
            };
            let api = api_request(
                parts,
                path,
                &raw_query,
                body,
                "us-east-1".into(),
                request_id,
                None,
                Arc::new(Principal::Root),
            );
            return self.internal.handle(api).await;
        }

        let header_pairs: Vec<(&str, &str)> = parts
            .headers
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
            .collect();
        let sreq = sigv4::Request {
            method: parts.method.as_str(),
            path: &path,
            query: &raw_query,
            headers: &header_pairs,
        };
        // Which service, and whether the request is signed with S3's Signature Version 2
        // (boto3's default for presigned S3 URLs), which only S3 accepts.
        let (service, v2) = match sigv4::scope(&sreq) {
            None if sigv4::v2::is_v2(&sreq) => match self.services.get("s3") {
                Some(s3) => (s3.clone(), true),
                None => {
                    return generic_error(
                        StatusCode::NOT_IMPLEMENTED,
                        "NotImplemented",
                        "S3 is not served here",
                    )
                }
            },
            None => {
                // Unsigned requests that are not shaped like another API's (no
                // X-Amz-Target, no dated REST prefix) get S3's answer, as S3 clients
                // sending anonymous requests expect XML.
                let dated = path
                    .trim_start_matches('/')
                    .split('/')
                    .next()
                    .is_some_and(|s| {
                        s.len() == 10 && s.starts_with("20") && s.as_bytes()[4] == b'-'
                    });
                if !dated && !parts.headers.contains_key("x-amz-target") {
                    if let Some(s3) = self.services.get("s3") {
                        return s3.error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied");
                    }
                }
                let (s, c, m) = auth_error(&sigv4::AuthError::Missing);
                return generic_error(s, c, &m);
            }
            Some(Err(e)) => {
                let (s, c, m) = auth_error(&e);
                return generic_error(s, c, &m);
            }
            Some(Ok(scope)) => {
                let Some(service) = self.services.get(&scope.service).cloned() else {
                    return generic_error(
                        StatusCode::NOT_IMPLEMENTED,
                        "NotImplemented",
                        &format!(
                            "Eddy does not implement the {:?} service yet",
                            scope.service
                        ),
                    );
                };
                // Refuse unknown keys before reading what may be a large body.
                if self.secret_for(&scope.access_key).is_none() {
                    let (s, c, m) =
                        auth_error(&sigv4::AuthError::UnknownAccessKey(scope.access_key));
                    return service.error(s, c, &m);
                }
                (service, false)
            }
        };
        let now = wire::time::now_ms() / 1000;
        let secret_for = |k: &str| self.secret_for(k);
        let streams = service.streams(&parts);
        // Everything but the body is verified first when the body is streamed, and with
        // v2, which does not sign the body; otherwise the body is read and verified with it.
        let early = if v2 {
            let host_bucket = parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .and_then(wire::s3_bucket_from_host);
            Some(
                sigv4::v2::verify(&sreq, host_bucket.as_deref(), now, &secret_for)
                    .map(|v| (v, sigv4::PayloadCheck::Unsigned)),
            )
        } else if streams {
            Some(sigv4::verify_deferred(&sreq, now, &secret_for))
        } else {
            None
        };
        let early = match early.transpose() {
            Ok(e) => e,
            Err(e) => {
                let (s, c, m) = auth_error(&e);
                return service.error(s, c, &m);
            }
        };
        let (region, access_key, body, stream) = match early {
            Some((v, check)) if streams => (
                v.region,
                v.access_key,
                Bytes::new(),
                Some(wire::StreamedBody {
                    reader: Box::new(IncomingStream {
                        body,
                        idle: std::time::Duration::from_millis(self.cfg.body_idle_timeout_ms),
                    }),
                    check,
                }),
            ),
            Some((v, _)) => match self.read_body(service.as_ref(), body).await {
                Ok(b) => (v.region, v.access_key, b, None),
                Err(r) => return r,
            },
            None => {
                let body = match self.read_body(service.as_ref(), body).await {
                    Ok(b) => b,
                    Err(r) => return r,
                };
                match sigv4::verify(&sreq, &body, now, &secret_for) {
                    Ok(v) => (v.region, v.access_key, body, None),
                    Err(e) => {
                        let (s, c, m) = auth_error(&e);
                        return service.error(s, c, &m);
                    }
                }
            }
        };
        let token = session_token(&header_pairs, &raw_query);
        drop(header_pairs);
        let caller = match self.cfg.credentials.authenticate(
            &access_key,
            token.as_deref(),
            wire::time::now_ms(),
        ) {
            Ok(p) => p,
            Err(e) => {
                let (s, c, m) = credential_error(e);
                return service.error(s, c, m);
            }
        };
        if let Some(function) = caller.function() {
            // The audit trail: every call made with an environment's credentials.
            tracing::info!(
                target: "eddy::audit",
                "{function} called {} {} ({})",
                parts.method,
                operation_of(&parts.headers, &path),
                request_id
            );
        }
        let api = api_request(
            parts, path, &raw_query, body, region, request_id, stream, caller,
        );
        run_service(service, api, request_id).await
    }

    /// Reads a whole request body within `--body-bytes-max`.
    async fn read_body(&self, service: &dyn Service, body: Incoming) -> Result<Bytes, ApiResponse> {
        let too_large = || {
            service.error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
                &format!(
                    "Request must be smaller than {} bytes",
                    self.cfg.body_bytes_max
                ),
            )
        };
        let idle = std::time::Duration::from_millis(self.cfg.body_idle_timeout_ms);
        let mut body = Limited::new(body, self.cfg.body_bytes_max);
        let mut out = bytes::BytesMut::new();
        loop {
            // A client that stops sending its body is cut off instead of holding the
            // connection (and the memory read so far) for ever.
            match tokio::time::timeout(idle, body.frame()).await {
                Err(_) => {
                    return Err(service.error(
                        StatusCode::REQUEST_TIMEOUT,
                        "RequestTimeout",
                        "The request body did not arrive in time; send it without pauses longer than the server's body idle timeout.",
                    ))
                }
                Ok(None) => return Ok(out.freeze()),
                Ok(Some(Err(_))) => return Err(too_large()),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        out.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    /// Accepts connections until `shutdown` turns true.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: watch::Receiver<bool>) {
        let cfg = ListenerConfig {
            name: "edge",
            connections_max: self.cfg.connections_max,
            header_read_timeout: HEADER_READ_TIMEOUT,
        };
        serve_http(listener, shutdown, cfg, |stream| {
            let _ = stream.set_nodelay(true);
            let (stream, continue_flag) = continue_io::ContinueIo::new(stream);
            let edge = self.clone();
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let edge = edge.clone();
                if continue_io::needs_forced_continue(&req) {
                    continue_flag.store(true, std::sync::atomic::Ordering::Release);
                }
                async move { Ok::<_, std::convert::Infallible>(edge.handle(req).await) }
            });
            (stream, svc)
        })
        .await;
    }
}
