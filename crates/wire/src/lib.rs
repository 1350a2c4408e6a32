//! Types shared by the edge and every AWS service: the decoded request, the reply, and
//! the error shapes of each AWS protocol.
//!
//! Invariant: this crate does no IO. It knows HTTP types but not how they travel.

pub mod id;
pub mod identity;
pub mod query;
pub mod recent;
pub mod time;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use std::future::Future;
use std::pin::Pin;

/// The account every resource belongs to.
pub const ACCOUNT_ID: &str = "000000000000";

/// One authenticated AWS API request, as the edge hands it to a service.
#[derive(Debug)]
pub struct ApiRequest {
    pub method: Method,
    /// The raw, still percent-encoded path.
    pub path: String,
    /// Query parameters, percent-decoded, in wire order.
    pub query: Vec<(String, String)>,
    /// The query string as sent (for the HTTP entry points, which pass it on verbatim).
    pub raw_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The region of the request's signature scope.
    pub region: String,
    /// A fresh id for this request, echoed in `x-amzn-RequestId`.
    pub request_id: String,
    /// The body, when the service asked to stream it instead of `body` (see
    /// [`Service::streams`]); the signature over everything else is already verified.
    pub stream: Option<StreamedBody>,
    /// Who signed the request.
    pub caller: std::sync::Arc<identity::Principal>,
}

/// A response body the edge reads from a file as it sends it (large objects), put in
/// the response's extensions; the response's own body is then ignored.
#[derive(Debug, Clone)]
pub struct FileBody {
    pub file: std::sync::Arc<std::fs::File>,
    pub offset: u64,
    pub len: u64,
}

/// A response body that arrives in pieces while it is sent (functions that stream their
/// response), put in the response's extensions like [`FileBody`]. The receiver is taken
/// once, by whoever sends the response; the sender ending closes the body.
#[derive(Debug, Clone)]
pub struct ResponseStream(
    std::sync::Arc<std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>>>>,
);

impl ResponseStream {
    pub fn new(rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>) -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(Some(rx))))
    }

    /// The pieces, the first time only.
    pub fn take(&self) -> Option<tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Why reading a streamed body failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// The connection failed or closed before the body was complete.
    Incomplete(String),
}

/// A request body still arriving.
pub trait BodyStream: Send + Sync {
    /// The next piece of the body; `None` once it is complete.
    fn next_chunk(&mut self) -> BoxFuture<'_, Option<Result<Bytes, BodyError>>>;
}

/// A streamed body and what it must still satisfy to be authentic.
pub struct StreamedBody {
    pub reader: Box<dyn BodyStream>,
    pub check: sigv4::PayloadCheck,
}

impl std::fmt::Debug for StreamedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamedBody")
            .field("check", &self.check)
            .finish()
    }
}

impl ApiRequest {
    /// The first query parameter named `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A header's value as text, when present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The path split into percent-decoded segments (leading slash dropped).
    pub fn segments(&self) -> Vec<String> {
        self.path
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect()
    }
}

pub type ApiResponse = http::Response<Bytes>;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An AWS service behind the edge.
pub trait Service: Send + Sync + 'static {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse>;

    /// Whether this request's body should be streamed to the service instead of read
    /// into memory (and verified with the signature) first: large uploads.
    fn streams(&self, _head: &http::request::Parts) -> bool {
        false
    }

    /// An error in this service's protocol shape (used by the edge for auth failures).
    fn error(&self, status: StatusCode, code: &str, message: &str) -> ApiResponse {
        rest_json_error(status, code, message)
    }
}

/// The bucket a virtual-hosted style S3 Host header names (`photos.localhost:4566`,
/// `photos.s3.amazonaws.com`), or `None` for path-style hosts.
pub fn s3_bucket_from_host(host: &str) -> Option<String> {
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let host = host.to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return None;
    }
    if let Some(b) = host.strip_suffix(".localhost") {
        let b = b.strip_suffix(".s3").unwrap_or(b);
        return (!b.is_empty() && b != "s3").then(|| b.to_string());
    }
    if let Some(i) = host.find(".s3.").or_else(|| host.find(".s3-")) {
        let b = &host[..i];
        return (!b.is_empty()).then(|| b.to_string());
    }
    None
}

/// What a request to one of the HTTP entry points in front of functions names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrontDoor {
    /// A function URL: its id, and the path the function sees.
    FunctionUrl { url_id: String, path: String },
    /// An API Gateway API: its id, and the path after the host (stage included).
    Api { api_id: String, path: String },
    /// An API Gateway REST API by its path form: its id, and the path after the id
    /// (stage included).
    RestApi { api_id: String, path: String },
}

/// Path-style addresses of function URLs, for clients that cannot set a Host header:
/// `/_eddy/urls/<url-id>/<path>`.
pub const FUNCTION_URL_PATH_PREFIX: &str = "/_eddy/urls/";
/// Path-style addresses of APIs: `/_eddy/apis/<api-id>/<stage>/<path>`.
pub const API_PATH_PREFIX: &str = "/_eddy/apis/";
/// Path-style addresses of REST APIs: `/_eddy/restapis/<api-id>/<stage>/<path>`.
pub const REST_API_PATH_PREFIX: &str = "/_eddy/restapis/";

fn api_id_ok(id: &str) -> bool {
    id.len() == 10
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn function_url_id_ok(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The front door a request is for, from its Host header (`<url-id>.lambda-url.<region>.
/// <anything>`, `<api-id>.execute-api.<anything>`) or its path (`/_eddy/urls/<url-id>/...`,
/// `/_eddy/apis/<api-id>/...`, `/_eddy/restapis/<api-id>/...`), or `None` for AWS APIs.
pub fn front_door(host: Option<&str>, path: &str) -> Option<FrontDoor> {
    if let Some(rest) = path.strip_prefix(FUNCTION_URL_PATH_PREFIX) {
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        return function_url_id_ok(id).then(|| FrontDoor::FunctionUrl {
            url_id: id.to_string(),
            path: format!("/{tail}"),
        });
    }
    if let Some(rest) = path.strip_prefix(API_PATH_PREFIX) {
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        return api_id_ok(id).then(|| FrontDoor::Api {
            api_id: id.to_string(),
            path: format!("/{tail}"),
        });
    }
    if let Some(rest) = path.strip_prefix(REST_API_PATH_PREFIX) {
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        return api_id_ok(id).then(|| FrontDoor::RestApi {
            api_id: id.to_string(),
            path: format!("/{tail}"),
        });
    }
    let host = host?.to_ascii_lowercase();
    let mut labels = host.split('.');
    let id = labels.next()?;
    let kind = labels.next()?;
    labels.next()?;
    match kind {
        "lambda-url" if function_url_id_ok(id) => Some(FrontDoor::FunctionUrl {
            url_id: id.to_string(),
            path: path.to_string(),
        }),
        "execute-api" if api_id_ok(id) => Some(FrontDoor::Api {
            api_id: id.to_string(),
            path: path.to_string(),
        }),
        _ => None,
    }
}

/// Decodes `%XX` escapes; invalid escapes are kept as written.
/// The string members of a JSON object (stored records, attribute maps); members of
/// other types, and anything that is not an object, read as absent.
pub fn string_map(v: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Parses a raw query string into decoded pairs (`+` stays `+`, as AWS's REST APIs read it).
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// The pairs of an `application/x-www-form-urlencoded` body, where `+` stands for a
/// space (unlike in a URL's query, where Eddy keeps it, as SigV4 does).
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body).replace('+', " ");
    parse_query(&text)
}

/// A reply with a body and content type.
pub fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> ApiResponse {
    let mut r = http::Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    r
}

/// A JSON reply for rest-json services.
pub fn json_response(status: StatusCode, value: &serde_json::Value) -> ApiResponse {
    response(
        status,
        "application/json",
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

/// An empty reply (204 and friends).
pub fn empty_response(status: StatusCode) -> ApiResponse {
    let mut r = http::Response::new(Bytes::new());
    *r.status_mut() = status;
    r
}

/// An error as rest-json services (Lambda, Scheduler, API Gateway v2) send it: the code in
/// `x-amzn-ErrorType`, the text in the body's `message`.
pub fn rest_json_error(status: StatusCode, code: &str, message: &str) -> ApiResponse {
    let body = serde_json::json!({ "Type": "User", "message": message });
    let mut r = json_response(status, &body);
    if let Ok(v) = HeaderValue::from_str(code) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

/// An error as json 1.0/1.1 services (Logs, SQS, EventBridge) send it.
pub fn aws_json_error(status: StatusCode, code: &str, message: &str) -> ApiResponse {
    let body = serde_json::json!({ "__type": code, "message": message });
    let mut r = response(
        status,
        "application/x-amz-json-1.1",
        serde_json::to_vec(&body).unwrap_or_default(),
    );
    if let Ok(v) = HeaderValue::from_str(code) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

/// A json 1.1 success reply.
pub fn aws_json_response(value: &serde_json::Value) -> ApiResponse {
    response(
        StatusCode::OK,
        "application/x-amz-json-1.1",
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_doors() {
        let id = "abcdefghijklmnopqrstuvwxyz012345";
        let url = |path: &str| FrontDoor::FunctionUrl {
            url_id: id.into(),
            path: path.into(),
        };
        assert_eq!(
            front_door(
                Some(&format!("{id}.lambda-url.us-east-1.localhost:4566")),
                "/a?b"
            ),
            Some(url("/a?b"))
        );
        assert_eq!(
            front_door(None, &format!("/_eddy/urls/{id}/x/y")),
            Some(url("/x/y"))
        );
        assert_eq!(
            front_door(None, &format!("/_eddy/urls/{id}")),
            Some(url("/"))
        );
        assert_eq!(front_door(Some("localhost:4566"), "/"), None);
        assert_eq!(
            front_door(Some("short.lambda-url.us-east-1.localhost"), "/"),
            None
        );
        assert_eq!(front_door(Some("photos.s3.localhost"), "/"), None);
        assert_eq!(front_door(None, "/_eddy/health"), None);
        let api = |path: &str| FrontDoor::Api {
            api_id: "a1b2c3d4e5".into(),
            path: path.into(),
        };
        assert_eq!(
            front_door(Some("a1b2c3d4e5.execute-api.localhost:4566"), "/prod/x"),
            Some(api("/prod/x"))
        );
        assert_eq!(
            front_door(None, "/_eddy/apis/a1b2c3d4e5/prod/x"),
            Some(api("/prod/x"))
        );
        assert_eq!(
            front_door(Some("toolong1234.execute-api.localhost"), "/"),
            None
        );
    }

    #[test]
    fn rest_api_path_form() {
        let rest = |path: &str| {
            Some(FrontDoor::RestApi {
                api_id: "a1b2c3d4e5".into(),
                path: path.into(),
            })
        };
        let cases: &[(&str, Option<FrontDoor>)] = &[
            (
                "/_eddy/restapis/a1b2c3d4e5/test/items/1?x=1",
                rest("/test/items/1?x=1"),
            ),
            ("/_eddy/restapis/a1b2c3d4e5/test", rest("/test")),
            ("/_eddy/restapis/a1b2c3d4e5", rest("/")),
            ("/_eddy/restapis/A1B2C3D4E5/test", None),
            ("/_eddy/restapis/short/test", None),
            ("/_eddy/restapis/", None),
        ];
        for (path, expected) in cases {
            // The path form wins over any Host header.
            assert_eq!(
                &front_door(Some("a1b2c3d4e5.execute-api.localhost"), path),
                expected,
                "{path}"
            );
        }
    }

    #[test]
    fn query_parsing_decodes_and_keeps_order() {
        let q = parse_query("b=2&a=x%3Ay&flag&c=a+b");
        assert_eq!(
            q,
            vec![
                ("b".into(), "2".into()),
                ("a".into(), "x:y".into()),
                ("flag".into(), "".into()),
                ("c".into(), "a+b".into())
            ]
        );
    }

    #[test]
    fn rest_json_error_carries_code_in_header() {
        let r = rest_json_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", "nope");
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["x-amzn-errortype"], "ResourceNotFoundException");
        let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(v["message"], "nope");
    }
}
