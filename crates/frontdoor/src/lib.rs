//! The HTTP entry points in front of functions, served on the same port as the AWS APIs:
//! Lambda function URLs (`<url-id>.lambda-url.<region>.localhost`, or
//! `/_eddy/urls/<url-id>/...`) and API Gateway HTTP APIs (`<api-id>.execute-api.localhost`,
//! or `/_eddy/apis/<api-id>/...`) and REST APIs (the same host form, or
//! `/_eddy/restapis/<api-id>/...`). A request becomes AWS's event, the function runs
//! synchronously in a warm environment when there is one, and its answer becomes the HTTP
//! response, as AWS maps them.

use bytes::Bytes;
use gateway::{Cors, EventContext, HttpRequest, HttpResponse, IamCaller};
use http::StatusCode;
use wire::identity::Principal;
use wire::{ApiRequest, ApiResponse, BoxFuture, FrontDoor};

/// The largest request a function URL passes to its function (Lambda's synchronous
/// payload limit; the event's encoding is counted by the invoke itself).
pub const REQUEST_BYTES_MAX: usize = lambda::model::SYNC_PAYLOAD_BYTES_MAX;

mod apis;
mod auth;
mod rest;
mod stream;

/// Function URLs and API Gateway HTTP APIs.
pub struct FrontDoors {
    lambda: lambda::Lambda,
    apis: Option<apigw::HttpApis>,
    auth: auth::AuthState,
}

impl FrontDoors {
    pub fn new(lambda: lambda::Lambda, apis: Option<apigw::HttpApis>) -> Self {
        Self {
            lambda,
            apis,
            auth: auth::AuthState::new(std::sync::Arc::new(wire::time::SystemClock)),
        }
    }
}

fn to_api(resp: HttpResponse) -> ApiResponse {
    let mut r = http::Response::new(resp.body);
    *r.status_mut() = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (k, v) in resp.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(&v),
        ) {
            r.headers_mut().append(name, value);
        }
    }
    r
}

/// The request as the gateway core sees it; `path` is what the function is told.
pub(crate) fn http_request(req: &ApiRequest, path: String) -> HttpRequest {
    HttpRequest {
        method: req.method.to_string(),
        raw_path: path,
        raw_query: req.raw_query.clone(),
        headers: req
            .headers
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.to_string(), v.to_string())))
            .collect(),
        body: req.body.clone(),
        source_ip: "127.0.0.1".into(),
        time_ms: wire::time::now_ms(),
    }
}

/// The request's `Host` header without its port ("" when it has none).
pub(crate) fn host_name(req: &ApiRequest) -> String {
    req.headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn message(status: u16, text: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: Bytes::from(serde_json::json!({ "Message": text }).to_string()),
    }
}

impl FrontDoors {
    async fn serve(&self, req: ApiRequest) -> ApiResponse {
        let host = req
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_string();
        match wire::front_door(Some(&host), &req.path) {
            Some(FrontDoor::FunctionUrl { url_id, path }) => {
                self.serve_url(req, host, url_id, path).await
            }
            // REST and HTTP APIs share the host form; REST APIs keep their own index.
            Some(FrontDoor::Api { api_id, path }) if self.is_rest_api(&api_id) => {
                to_api(self.serve_rest(req, api_id, path).await)
            }
            Some(FrontDoor::Api { api_id, path }) => {
                to_api(self.serve_api(req, api_id, path).await)
            }
            Some(FrontDoor::RestApi { api_id, path }) => {
                to_api(self.serve_rest(req, api_id, path).await)
            }
            None => to_api(gateway::not_found()),
        }
    }

    async fn serve_url(
        &self,
        req: ApiRequest,
        host: String,
        url_id: String,
        path: String,
    ) -> ApiResponse {
        let Some(url) = self.lambda.function_url(&url_id) else {
            return to_api(message(403, "Forbidden"));
        };
        if url.auth_type == "AWS_IAM" && matches!(req.caller.as_ref(), Principal::Anonymous) {
            return to_api(message(403, "Forbidden"));
        }
        let http_req = http_request(&req, path);
        let cors = Cors::from_json(&url.cors);
        if let Some(pre) = cors.preflight(&http_req) {
            return to_api(pre);
        }
        if req.body.len() > REQUEST_BYTES_MAX {
            return to_api(message(
                413,
                &format!(
                    "Request must be smaller than {REQUEST_BYTES_MAX} bytes for the InvokeFunction operation"
                ),
            ));
        }
        let mut ctx = EventContext::function_url(
            &url_id,
            host.split(':').next().unwrap_or_default(),
            wire::ACCOUNT_ID,
            &req.request_id,
        );
        if !matches!(req.caller.as_ref(), Principal::Anonymous) {
            let arn = req.caller.arn();
            ctx.authorizer = Some(
                IamCaller {
                    access_key: String::new(),
                    account_id: wire::ACCOUNT_ID.into(),
                    caller_id: arn.clone(),
                    user_arn: arn.clone(),
                    user_id: arn,
                }
                .authorizer(),
            );
        }
        let event = gateway::event_v2(&http_req, &ctx);
        // A function that streams is answered as it streams only behind a
        // RESPONSE_STREAM URL; behind a BUFFERED one its whole stream is the answer.
        let streaming = url.invoke_mode == "RESPONSE_STREAM";
        let mut resp = match self
            .lambda
            .invoke_for_http(&url.function_arn, event.to_string().into_bytes(), true)
            .await
        {
            Ok(r) if r.function_error => gateway::function_error(),
            Ok(lambda::HttpInvokeResult {
                stream: Some(stream),
                ..
            }) => match stream::head(&stream).await {
                Some((mut head, body)) if streaming => {
                    cors.apply(&http_req, &mut head);
                    let mut r = to_api(head);
                    r.extensions_mut().insert(body);
                    return r;
                }
                Some((head, body)) => match stream::collect(body).await {
                    Some(bytes) => HttpResponse {
                        body: bytes,
                        ..head
                    },
                    None => gateway::function_error(),
                },
                None => gateway::function_error(),
            },
            Ok(r) => gateway::response_v2(&r.payload),
            Err(lambda::HttpInvokeError::Throttled) => gateway::throttled(),
            Err(lambda::HttpInvokeError::Timeout) => gateway::timeout(),
            Err(lambda::HttpInvokeError::NotFound) => message(404, "Not Found"),
            Err(e) => {
                tracing::warn!("function URL {}: {e:?}", url.function_arn);
                gateway::function_error()
            }
        };
        cors.apply(&http_req, &mut resp);
        to_api(resp)
    }
}

impl wire::Service for FrontDoors {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        Box::pin(self.serve(req))
    }

    fn error(&self, status: StatusCode, _code: &str, message_text: &str) -> ApiResponse {
        to_api(message(status.as_u16(), message_text))
    }
}
