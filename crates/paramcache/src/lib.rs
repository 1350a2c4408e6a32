//! The parameters and secrets endpoint functions read on `localhost:2773`, as AWS's
//! Parameters and Secrets Lambda Extension serves it: `GET /systemsmanager/parameters/get`
//! and `GET /secretsmanager/get`, authenticated by the environment's session token in
//! `X-Aws-Parameters-Secrets-Token`, answered with the JSON of GetParameter and
//! GetSecretValue, through a per-function cache.
//!
//! One listener serves every environment (they share the host's network); the token says
//! which environment, and so which function and whose cache, is asking. The answers come
//! from the SSM and Secrets Manager services in-process, as that function.

pub mod cache;

use bytes::Bytes;
use cache::{FunctionCache, Kind, Policy};
use edge::ListenerConfig;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;
use wire::identity::{Credentials, Principal};
use wire::time::Clock;
use wire::{ApiRequest, Service};

/// Connections served at once.
const CONNECTIONS_MAX: usize = 256;
/// Functions with a cache; past this, the caches start over (a bound, not a policy).
const FUNCTIONS_MAX: usize = 10_000;
/// How long a client may take to send its request head.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
pub const TOKEN_HEADER: &str = "x-aws-parameters-secrets-token";

/// The endpoint.
pub struct ParamCache {
    credentials: Arc<Credentials>,
    ssm: Arc<dyn Service>,
    secrets: Arc<dyn Service>,
    clock: Arc<dyn Clock>,
    /// Per function (`region:name:version`); a std lock: held only to read or insert.
    caches: Mutex<HashMap<String, FunctionCache>>,
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

fn message(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    reply(status, serde_json::json!({ "message": text }).to_string())
}

/// A request the endpoint understood: which API, the cache key and the API call's body.
#[derive(Debug, PartialEq)]
struct Call {
    kind: Kind,
    key: String,
    target: &'static str,
    body: serde_json::Value,
}

/// Parses the path and query of a request (pure).
fn parse_call(path: &str, query: &[(String, String)]) -> Result<Call, String> {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match path {
        "/systemsmanager/parameters/get" => {
            let name = get("name")
                .filter(|n| !n.is_empty())
                .ok_or("name is required")?;
            let (version, label) = (get("version"), get("label"));
            if version.is_some() && label.is_some() {
                return Err("give version or label, not both".into());
            }
            let selector = version
                .or(label)
                .map(|s| format!(":{s}"))
                .unwrap_or_default();
            let decrypt = match get("withDecryption") {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => return Err("withDecryption must be true or false".into()),
            };
            let full = format!("{name}{selector}");
            Ok(Call {
                kind: Kind::Parameter,
                key: format!("{full}\u{0}{decrypt}"),
                target: "AmazonSSM.GetParameter",
                body: serde_json::json!({ "Name": full, "WithDecryption": decrypt }),
            })
        }
        "/secretsmanager/get" => {
            let id = get("secretId")
                .filter(|n| !n.is_empty())
                .ok_or("secretId is required")?;
            let mut body = serde_json::json!({ "SecretId": id });
            if let Some(v) = get("versionId") {
                body["VersionId"] = v.into();
            }
            if let Some(s) = get("versionStage") {
                body["VersionStage"] = s.into();
            }
            Ok(Call {
                kind: Kind::Secret,
                key: format!(
                    "{id}\u{0}{}\u{0}{}",
                    get("versionId").unwrap_or_default(),
                    get("versionStage").unwrap_or_default()
                ),
                target: "secretsmanager.GetSecretValue",
                body,
            })
        }
        _ => Err(format!("no such path {path}")),
    }
}

impl ParamCache {
    pub fn new(
        credentials: Arc<Credentials>,
        ssm: Arc<dyn Service>,
        secrets: Arc<dyn Service>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        Arc::new(Self {
            credentials,
            ssm,
            secrets,
            clock,
            caches: Mutex::new(HashMap::new()),
        })
    }

    fn caches(&self) -> std::sync::MutexGuard<'_, HashMap<String, FunctionCache>> {
        self.caches.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() != Method::GET {
            return message(StatusCode::METHOD_NOT_ALLOWED, "only GET is served");
        }
        let Some(token) = req
            .headers()
            .get(TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
        else {
            return message(
                StatusCode::UNAUTHORIZED,
                "the X-Aws-Parameters-Secrets-Token header (the environment's AWS_SESSION_TOKEN) is required",
            );
        };
        let now = self.clock.now_ms();
        let Some(principal) = self.credentials.by_session_token(token, now) else {
            return message(
                StatusCode::FORBIDDEN,
                "the token is not a live environment's session token",
            );
        };
        let (Some(function), Principal::Function { region, .. }) =
            (principal.function(), principal.as_ref())
        else {
            return message(
                StatusCode::FORBIDDEN,
                "only execution environments may use this endpoint",
            );
        };
        let query = wire::parse_query(req.uri().query().unwrap_or_default());
        let call = match parse_call(req.uri().path(), &query) {
            Ok(c) => c,
            Err(e) => return message(StatusCode::BAD_REQUEST, &e),
        };
        let policy = Policy::from_settings(|k| principal.setting(k).map(str::to_string));
        if let Some(hit) = self
            .caches()
            .get(&function)
            .and_then(|c| c.get(&policy, call.kind, &call.key, now))
        {
            return reply(StatusCode::OK, hit);
        }
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amz-target", http::HeaderValue::from_static(call.target));
        let api = ApiRequest {
            method: Method::POST,
            path: "/".into(),
            query: vec![],
            raw_query: String::new(),
            headers,
            body: call.body.to_string().into(),
            region: region.clone(),
            request_id: wire::id::uuid4(),
            stream: None,
            caller: principal.clone(),
        };
        let service = match call.kind {
            Kind::Parameter => &self.ssm,
            Kind::Secret => &self.secrets,
        };
        let resp = service.handle(api).await;
        let (parts, body) = resp.into_parts();
        if parts.status == StatusCode::OK {
            let mut caches = self.caches();
            if caches.len() >= FUNCTIONS_MAX && !caches.contains_key(&function) {
                caches.clear();
            }
            caches.entry(function).or_default().put(
                &policy,
                call.kind,
                &call.key,
                body.clone(),
                now,
            );
        }
        reply(parts.status, body)
    }

    /// Serves until `shutdown` turns true.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: watch::Receiver<bool>) {
        let cfg = ListenerConfig {
            name: "parameters and secrets endpoint",
            connections_max: CONNECTIONS_MAX,
            header_read_timeout: HEADER_READ_TIMEOUT,
        };
        edge::serve_http(listener, shutdown, cfg, |stream| {
            let me = self.clone();
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let me = me.clone();
                async move { Ok::<_, std::convert::Infallible>(me.handle(req).await) }
            });
            (stream, svc)
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn calls() {
        let c = parse_call(
            "/systemsmanager/parameters/get",
            &q(&[
                ("name", "/db/url"),
                ("version", "3"),
                ("withDecryption", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(c.target, "AmazonSSM.GetParameter");
        assert_eq!(
            c.body,
            serde_json::json!({"Name": "/db/url:3", "WithDecryption": true})
        );
        let s = parse_call(
            "/secretsmanager/get",
            &q(&[("secretId", "shop/key"), ("versionStage", "AWSPREVIOUS")]),
        )
        .unwrap();
        assert_eq!(
            s.body,
            serde_json::json!({"SecretId": "shop/key", "VersionStage": "AWSPREVIOUS"})
        );
        for (path, query) in [
            ("/systemsmanager/parameters/get", q(&[])),
            (
                "/systemsmanager/parameters/get",
                q(&[("name", "a"), ("version", "1"), ("label", "x")]),
            ),
            (
                "/systemsmanager/parameters/get",
                q(&[("name", "a"), ("withDecryption", "yes")]),
            ),
            ("/secretsmanager/get", q(&[])),
            ("/other", q(&[])),
        ] {
            assert!(parse_call(path, &query).is_err(), "{path} {query:?}");
        }
    }
}
