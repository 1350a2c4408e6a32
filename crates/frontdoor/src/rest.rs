//! API Gateway REST APIs (v1): the data plane for Lambda proxy integrations. A request
//! (`<api-id>.execute-api.localhost/<stage>/<path>` or `/_eddy/restapis/<api-id>/<stage>/
//! <path>`) is resolved to a deployed stage, resource and method (by `apigw`), becomes a
//! payload 1.0 event, and the function's answer is mapped back as REST APIs map it.

use crate::{host_name, http_request, FrontDoors};
use apigw::{RestResolved, RestTarget};
use bytes::Bytes;
use gateway::{EventContext, HttpResponse};
use serde_json::{json, Value};
use std::time::Duration;
use wire::identity::Principal;
use wire::ApiRequest;

/// The largest request body a REST API accepts (AWS's payload quota).
pub const REST_REQUEST_BYTES_MAX: usize = 10 * 1024 * 1024;

/// A REST API's own error answer: `{"message": ...}` and its `x-amzn-ErrorType`.
fn rest_error(status: u16, error_type: &str, text: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-amzn-ErrorType".into(), error_type.into()),
        ],
        body: Bytes::from(json!({ "message": text }).to_string()),
    }
}

/// No resource or method matches: REST APIs answer this rather than 404.
fn missing_token() -> HttpResponse {
    rest_error(
        403,
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    )
}

/// The function failed or its answer is malformed.
fn internal_error() -> HttpResponse {
    rest_error(502, "InternalServerErrorException", "Internal server error")
}

impl FrontDoors {
    /// Whether `api_id` is a REST API (rather than an HTTP API).
    pub(crate) fn is_rest_api(&self, api_id: &str) -> bool {
        self.apis.as_ref().is_some_and(|a| a.is_rest_api(api_id))
    }

    pub(crate) async fn serve_rest(
        &self,
        req: ApiRequest,
        api_id: String,
        path: String,
    ) -> HttpResponse {
        let Some(apis) = &self.apis else {
            return rest_error(403, "ForbiddenException", "Forbidden");
        };
        let target = match apis.resolve_rest(&api_id, req.method.as_str(), &path) {
            Some(RestResolved::Target(t)) => t,
            Some(RestResolved::NoResource) => return missing_token(),
            // An unknown API or stage: what AWS answers for a host it does not know.
            Some(RestResolved::NoStage) | None => {
                return rest_error(403, "ForbiddenException", "Forbidden")
            }
        };
        match target.authorization_type.as_str() {
            "NONE" => {}
            "AWS_IAM" if !matches!(req.caller.as_ref(), Principal::Anonymous) => {}
            "AWS_IAM" => return missing_token(),
            // Authorizers are not implemented for REST APIs: nobody gets through.
            _ => return rest_error(401, "UnauthorizedException", "Unauthorized"),
        }
        if req.body.len() > REST_REQUEST_BYTES_MAX {
            return rest_error(413, "RequestTooLargeException", "Request Too Long");
        }
        self.call_rest_function(&req, &target).await
    }

    async fn call_rest_function(&self, req: &ApiRequest, target: &RestTarget) -> HttpResponse {
        let host = host_name(req);
        // The function sees the path without the stage; requestContext.path keeps it.
        let http_req = http_request(req, target.path.clone());
        let ctx = EventContext {
            api_id: target.api_id.clone(),
            domain_name: host,
            domain_prefix: target.api_id.clone(),
            stage: target.stage.clone(),
            // A route key without a method is its own resource path in a 1.0 event.
            route_key: target.resource_path.clone(),
            path_parameters: target.path_parameters.clone(),
            stage_variables: target.stage_variables.clone(),
            request_id: req.request_id.clone(),
            account_id: wire::ACCOUNT_ID.into(),
            binary_media_types: Some(target.binary_media_types.clone()),
            ..Default::default()
        };
        let event = rest_event(gateway::event_v1(&http_req, &ctx), target);
        let call = self.lambda.invoke_for_http(
            &target.function_arn,
            event.to_string().into_bytes(),
            false,
        );
        match tokio::time::timeout(Duration::from_millis(target.timeout_ms), call).await {
            Err(_) => gateway::timeout_rest(),
            Ok(Ok(r)) if r.function_error => internal_error(),
            Ok(Ok(r)) => gateway::response_v1(&r.payload),
            Ok(Err(lambda::HttpInvokeError::Throttled)) => gateway::throttled(),
            Ok(Err(lambda::HttpInvokeError::Timeout)) => gateway::timeout_rest(),
            Ok(Err(e)) => {
                tracing::warn!(
                    "REST API {} {} {}: {e:?}",
                    target.api_id,
                    req.method,
                    target.resource_path
                );
                internal_error()
            }
        }
    }
}

/// A payload 1.0 event as a REST API sends it, from the one HTTP APIs send: no
/// `version`, the resource id in `resourceId`, the stage in `requestContext.path`.
fn rest_event(mut event: Value, target: &RestTarget) -> Value {
    if let Some(o) = event.as_object_mut() {
        o.remove("version");
    }
    let ctx = &mut event["requestContext"];
    ctx["resourceId"] = json!(target.resource_id);
    ctx["resourcePath"] = json!(target.resource_path);
    let path = if target.path == "/" {
        format!("/{}/", target.stage)
    } else {
        format!("/{}{}", target.stage, target.path)
    };
    ctx["path"] = json!(path);
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> RestTarget {
        RestTarget {
            api_id: "a1b2c3d4e5".into(),
            stage: "test".into(),
            resource_id: "abc123".into(),
            resource_path: "/items/{id}".into(),
            path: path.into(),
            path_parameters: vec![("id".into(), "7".into())],
            stage_variables: vec![],
            binary_media_types: vec![],
            authorization_type: "NONE".into(),
            function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
            timeout_ms: 29_000,
        }
    }

    #[test]
    fn rest_events_carry_resource_and_stage() {
        let cases = [("/items/7", "/test/items/7"), ("/", "/test/")];
        for (path, ctx_path) in cases {
            let t = target(path);
            let req = gateway::HttpRequest {
                method: "GET".into(),
                raw_path: path.into(),
                ..Default::default()
            };
            let ctx = EventContext {
                route_key: t.resource_path.clone(),
                path_parameters: t.path_parameters.clone(),
                stage: "test".into(),
                binary_media_types: Some(vec![]),
                ..Default::default()
            };
            let event = rest_event(gateway::event_v1(&req, &ctx), &t);
            assert!(event.get("version").is_none());
            assert_eq!(event["resource"], "/items/{id}");
            assert_eq!(event["path"], path);
            assert_eq!(event["pathParameters"], json!({"id": "7"}));
            assert_eq!(event["requestContext"]["resourceId"], "abc123");
            assert_eq!(event["requestContext"]["resourcePath"], "/items/{id}");
            assert_eq!(event["requestContext"]["path"], ctx_path);
            assert_eq!(event["requestContext"]["stage"], "test");
        }
    }

    #[test]
    fn error_answers_are_rest_shaped() {
        let r = missing_token();
        assert_eq!(r.status, 403);
        assert_eq!(
            &r.body[..],
            br#"{"message":"Missing Authentication Token"}"#
        );
        assert_eq!(internal_error().status, 502);
    }
}
