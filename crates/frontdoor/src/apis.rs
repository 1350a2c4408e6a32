//! API Gateway HTTP APIs: the data plane. A request to an API's endpoint is resolved to a
//! stage, a route and its integration (by `apigw`), passes the route's authorizer if it
//! has one (`auth`), then goes to a function (payload 1.0 or 2.0) or to an HTTP backend,
//! within the integration's timeout.

use crate::{host_name, http_request, message, FrontDoors};
use apigw::{Integration, Resolved, RouteTarget};
use bytes::Bytes;
use gateway::{Cors, EventContext, HttpRequest, HttpResponse};
use http_body_util::{BodyExt, Full, Limited};
use std::time::Duration;
use wire::identity::Principal;
use wire::ApiRequest;

/// The largest request body an HTTP API accepts (AWS's payload quota).
pub const API_REQUEST_BYTES_MAX: usize = 10 * 1024 * 1024;
/// The largest answer read from an HTTP backend.
const BACKEND_RESPONSE_BYTES_MAX: usize = 10 * 1024 * 1024;

impl FrontDoors {
    pub(crate) async fn serve_api(
        &self,
        req: ApiRequest,
        api_id: String,
        path: String,
    ) -> HttpResponse {
        let Some(apis) = &self.apis else {
            return gateway::not_found();
        };
        let host = host_name(&req);
        let http_req = http_request(&req, path.clone());
        let target = match apis.resolve(&api_id, req.method.as_str(), &path) {
            Resolved::Route(t) => t,
            Resolved::NoRoute { cors } => {
                // An API with CORS answers preflights whatever its routes.
                if let Some(pre) = cors
                    .as_ref()
                    .and_then(|c| Cors::from_json(c).preflight(&http_req))
                {
                    return pre;
                }
                return gateway::not_found();
            }
            Resolved::NoApi | Resolved::NoStage => return gateway::not_found(),
        };
        let cors = target.cors.as_ref().map(Cors::from_json);
        if let Some(pre) = cors.as_ref().and_then(|c| c.preflight(&http_req)) {
            return pre;
        }
        if target.authorization_type == "AWS_IAM"
            && matches!(req.caller.as_ref(), Principal::Anonymous)
        {
            return message(403, "Forbidden");
        }
        if req.body.len() > API_REQUEST_BYTES_MAX {
            return message(413, "Request Entity Too Large");
        }
        let mut ctx = EventContext {
            api_id: target.api_id.clone(),
            domain_name: host.clone(),
            domain_prefix: target.api_id.clone(),
            stage: target.stage.clone(),
            route_key: target.route_key.clone(),
            path_parameters: target.path_parameters.clone(),
            stage_variables: target.stage_variables.clone(),
            request_id: req.request_id.clone(),
            account_id: wire::ACCOUNT_ID.into(),
            ..Default::default()
        };
        // The authorizer's answers get CORS headers too, as API Gateway adds them.
        match self.authorize(&target, &http_req, &ctx).await {
            Ok(authorizer) => ctx.authorizer = authorizer,
            Err(mut resp) => {
                if let Some(c) = &cors {
                    c.apply(&http_req, &mut resp);
                }
                return resp;
            }
        }
        // The event's rawPath keeps the stage prefix, as AWS sends it; routes were matched
        // without it.
        let mut resp = match &target.integration {
            Integration::Lambda {
                function_arn,
                payload_format_version,
                timeout_ms,
            } => {
                self.call_function(
                    &http_req,
                    &target,
                    &ctx,
                    function_arn,
                    payload_format_version,
                    *timeout_ms,
                )
                .await
            }
            Integration::Http {
                uri,
                method,
                timeout_ms,
            } => call_backend(&http_req, &target, uri, method, *timeout_ms).await,
        };
        if let Some(c) = &cors {
            c.apply(&http_req, &mut resp);
        }
        // HTTP APIs name each request in their own header too.
        resp.headers
            .push(("apigw-requestid".into(), req.request_id.clone()));
        resp
    }

    async fn call_function(
        &self,
        http_req: &HttpRequest,
        target: &RouteTarget,
        ctx: &EventContext,
        function_arn: &str,
        version: &str,
        timeout_ms: u64,
    ) -> HttpResponse {
        let v1 = version == "1.0";
        let event = if v1 {
            gateway::event_v1(http_req, ctx)
        } else {
            gateway::event_v2(http_req, ctx)
        };
        let call = self
            .lambda
            .invoke_for_http(function_arn, event.to_string().into_bytes(), false);
        match tokio::time::timeout(Duration::from_millis(timeout_ms), call).await {
            Err(_) => gateway::timeout(),
            Ok(Ok(r)) if r.function_error => gateway::function_error(),
            Ok(Ok(r)) if v1 => gateway::response_v1(&r.payload),
            Ok(Ok(r)) => gateway::response_v2(&r.payload),
            Ok(Err(lambda::HttpInvokeError::Throttled)) => gateway::throttled(),
            Ok(Err(lambda::HttpInvokeError::Timeout)) => gateway::timeout(),
            Ok(Err(e)) => {
                tracing::warn!("API {} route {}: {e:?}", target.api_id, target.route_key);
                gateway::function_error()
            }
        }
    }
}

/// The backend URL for a request: `{name}` placeholders filled from the path parameters
/// (`{proxy}` from `{proxy+}`), the request's query string appended.
fn backend_url(uri: &str, target: &RouteTarget, raw_query: &str) -> String {
    let mut url = uri.to_string();
    for (k, v) in &target.path_parameters {
        url = url.replace(&format!("{{{k}}}"), v);
    }
    if !raw_query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(raw_query);
    }
    url
}

/// Forwards the request to an HTTP backend (plain HTTP only) and returns its answer.
async fn call_backend(
    http_req: &HttpRequest,
    target: &RouteTarget,
    uri: &str,
    method: &str,
    timeout_ms: u64,
) -> HttpResponse {
    let url = backend_url(uri, target, &http_req.raw_query);
    let fut = forward(http_req, &url, method);
    match tokio::time::timeout(Duration::from_millis(timeout_ms), fut).await {
        Err(_) => gateway::timeout(),
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::warn!("API {} HTTP integration {url}: {e}", target.api_id);
            message(502, "Bad Gateway")
        }
    }
}

async fn forward(http_req: &HttpRequest, url: &str, method: &str) -> Result<HttpResponse, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let mut sender = outbound::connect(&uri).await?;
    let method = if method == "ANY" {
        http_req.method.as_str()
    } else {
        method
    };
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    for (k, v) in &http_req.headers {
        // Hop-by-hop headers and Host are the connection's own.
        if !matches!(
            k.to_ascii_lowercase().as_str(),
            "host" | "connection" | "transfer-encoding" | "keep-alive"
        ) {
            builder = builder.header(k, v);
        }
    }
    builder = builder.header(http::header::HOST, outbound::host_header(&uri));
    let req = builder
        .body(Full::new(http_req.body.clone()))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let (parts, body) = resp.into_parts();
    let body: Bytes = Limited::new(body, BACKEND_RESPONSE_BYTES_MAX)
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(HttpResponse {
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "connection" | "transfer-encoding" | "keep-alive" | "content-length"
                )
            })
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.to_string(), v.to_string())))
            .collect(),
        body,
    })
}
