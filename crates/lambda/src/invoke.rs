//! Invoke: synchronous calls go straight to the runtime; `Event` calls become outbox
//! entries, delivered by [`LambdaDeliverer`] with Lambda's retries and destinations.

use crate::error::{LambdaError, Result};
use crate::model::*;
use crate::{Lambda, Resolved};
use base64::Engine;
use bytes::Bytes;
use delivery::{Deliverer, FinalCondition, Outcome, RetryPolicy};
use http::{HeaderValue, StatusCode};
use runtime::{InvokeError, InvokeInput, InvokeOutcome};
use serde_json::{json, Value};
use std::sync::Arc;
use store::{NewEntry, OutboxEntry};
use wire::{ApiRequest, ApiResponse, BoxFuture};

/// The outbox kind for asynchronous invocations.
pub const KIND: &str = ASYNC_KIND;

/// What an async entry carries besides its payload.
#[derive(serde::Serialize, serde::Deserialize)]
struct EntryMeta {
    region: String,
    request_id: String,
}

/// An outbox entry that invokes `function_arn` asynchronously with `payload`, as an
/// `Event` invoke would: for event sources (S3 notifications, rules, schedules).
pub fn async_invoke_entry(function_arn: &str, payload: Vec<u8>, request_id: &str) -> NewEntry {
    let region = function_arn
        .split(':')
        .nth(3)
        .unwrap_or("us-east-1")
        .to_string();
    NewEntry {
        kind: KIND.into(),
        target: function_arn.to_string(),
        payload,
        meta: serde_json::to_string(&EntryMeta {
            region,
            request_id: request_id.to_string(),
        })
        .unwrap_or_default(),
        not_before_ms: 0,
    }
}

fn pick(resolved: &Resolved) -> (Arc<runtime::EnvSpec>, String) {
    if let Some((weight, spec, version)) = &resolved.alternate {
        let roll = (wire::id::next_u64() % 1_000_000) as f64 / 1_000_000.0;
        if roll < *weight {
            return (spec.clone(), version.clone());
        }
    }
    (resolved.spec.clone(), resolved.version.clone())
}

impl Lambda {
    pub(crate) async fn invoke(&self, req: &ApiRequest, f: &FunctionRef) -> Result<ApiResponse> {
        let region = &req.region;
        let kind = req
            .header("x-amz-invocation-type")
            .unwrap_or("RequestResponse");
        let limit = match kind {
            "RequestResponse" | "DryRun" => SYNC_PAYLOAD_BYTES_MAX,
            "Event" => ASYNC_PAYLOAD_BYTES_MAX,
            other => {
                return Err(LambdaError::InvalidParameter(format!(
                    "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
                )))
            }
        };
        if req.body.len() > limit {
            return Err(LambdaError::RequestTooLarge(format!(
                "Request must be smaller than {limit} bytes for the InvokeFunction operation"
            )));
        }
        if !req.body.is_empty() {
            if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&req.body) {
                return Err(LambdaError::InvalidRequestContent(format!(
                    "Could not parse request body into json: Could not parse payload into json: {e}"
                )));
            }
        }
        let resolved = self.resolve(region, &f.name, f.qualifier.as_deref())?;
        let mut invoked_arn = function_arn(region, &f.name);
        if let Some(q) = &f.qualifier {
            invoked_arn.push(':');
            invoked_arn.push_str(q);
        }
        match kind {
            "DryRun" => Ok(wire::empty_response(StatusCode::NO_CONTENT)),
            "Event" => {
                let meta = EntryMeta {
                    region: region.clone(),
                    request_id: req.request_id.clone(),
                };
                self.inner
                    .delivery
                    .enqueue(NewEntry {
                        kind: KIND.into(),
                        target: invoked_arn,
                        payload: req.body.to_vec(),
                        meta: serde_json::to_string(&meta).unwrap_or_default(),
                        not_before_ms: 0,
                    })
                    .await?;
                let mut r = wire::empty_response(StatusCode::ACCEPTED);
                if let Ok(v) = HeaderValue::from_str(&req.request_id) {
                    r.headers_mut().insert("x-amzn-requestid", v);
                }
                Ok(r)
            }
            _ => {
                let client_context = req
                    .header("x-amz-client-context")
                    .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
                    .and_then(|b| String::from_utf8(b).ok());
                let (spec, version) = pick(&resolved);
                let input = InvokeInput {
                    request_id: req.request_id.clone(),
                    payload: req.body.clone(),
                    invoked_arn,
                    client_context,
                    tail: req.header("x-amz-log-type") == Some("Tail"),
                };
                let outcome = self
                    .inner
                    .runtime
                    .invoke(&spec, input)
                    .await
                    .map_err(invoke_error)?;
                Ok(sync_response(buffered(outcome).await, &version))
            }
        }
    }

    /// Whether `function_arn` (a function, version or alias ARN) names something that can
    /// be invoked now.
    pub fn can_invoke(&self, function_arn: &str) -> bool {
        parse_target(function_arn).is_some_and(|t| {
            self.resolve(&t.region, &t.name, t.qualifier.as_deref())
                .is_ok()
        })
    }

    /// Runs `function_arn` (a function, version or alias ARN) once with `payload` and
    /// waits for what it returned: the synchronous invoke of callers inside the server.
    async fn invoke_arn(
        &self,
        function_arn: &str,
        payload: Bytes,
        keep_stream: bool,
    ) -> Result<InvokeOutcome> {
        let t = parse_target(function_arn).ok_or_else(|| {
            LambdaError::NotFound(format!("{function_arn} is not a Lambda function ARN"))
        })?;
        let resolved = self.resolve(&t.region, &t.name, t.qualifier.as_deref())?;
        let (spec, _) = pick(&resolved);
        let input = InvokeInput {
            request_id: wire::id::uuid4(),
            payload,
            invoked_arn: function_arn.to_string(),
            client_context: None,
            tail: false,
        };
        let o = self
            .inner
            .runtime
            .invoke(&spec, input)
            .await
            .map_err(invoke_error)?;
        Ok(if keep_stream { o } else { buffered(o).await })
    }

    /// Invokes `function_arn` synchronously with `payload`, for services that run functions
    /// themselves (Secrets Manager rotation). `Err` says why the function failed (its error
    /// type only: the message could hold what the function was handling) or did not run.
    pub async fn invoke_function(
        &self,
        function_arn: &str,
        payload: Vec<u8>,
    ) -> std::result::Result<(), String> {
        let o = self
            .invoke_arn(function_arn, Bytes::from(payload), false)
            .await
            .map_err(|e| e.to_string())?;
        match o.function_error {
            None => Ok(()),
            Some(kind) => Err(format!(
                "the function failed ({kind}: {})",
                o.error_type.as_deref().unwrap_or("unknown error type")
            )),
        }
    }

    /// Invokes `function_arn` (a function or alias ARN, as [`FunctionUrl::function_arn`]
    /// names it) synchronously for the HTTP data plane of function URLs: the function's
    /// response, or why there is none.
    ///
    /// [`FunctionUrl::function_arn`]: crate::FunctionUrl::function_arn
    /// With `stream`, a function that streams its response gives the stream
    /// ([`HttpInvokeResult::stream`]) rather than the whole response.
    pub async fn invoke_for_http(
        &self,
        function_arn: &str,
        payload: Vec<u8>,
        stream: bool,
    ) -> std::result::Result<HttpInvokeResult, HttpInvokeError> {
        if payload.len() > SYNC_PAYLOAD_BYTES_MAX {
            return Err(HttpInvokeError::Other(format!(
                "Request must be smaller than {SYNC_PAYLOAD_BYTES_MAX} bytes for the InvokeFunction operation"
            )));
        }
        http_result(
            self.invoke_arn(function_arn, Bytes::from(payload), stream)
                .await,
        )
    }
}

/// A streamed response read whole, for callers that cannot stream (Invoke, asynchronous
/// invokes, services): up to the synchronous payload limit, a failure of the stream
/// becoming the function's error.
async fn buffered(mut o: InvokeOutcome) -> InvokeOutcome {
    if let Some(s) = o.stream.take() {
        let (payload, failed) = s.collect(runtime::RESPONSE_BYTES_MAX).await;
        match failed {
            None => o.payload = payload,
            Some(t) => {
                o.payload = runtime::error_body(&t, "The function's streamed response failed.");
                o.function_error = Some("Unhandled".into());
                o.error_type = Some(t);
            }
        }
    }
    o
}

/// The function an event source mapping invokes, as [`Lambda::mapping_function`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingFunction {
    /// The function's ARN, qualified when the name carried a version or alias.
    pub arn: String,
    /// The function's timeout in seconds (of the version the qualifier names).
    pub timeout_s: u64,
}

impl Lambda {
    /// Finds the function, version or alias that `function_name` (a name, partial ARN or
    /// ARN) names in `region`, for an event source mapping. `Err` is Lambda's own answer
    /// (`ResourceNotFoundException`, or a validation error for a malformed name).
    pub fn mapping_function(
        &self,
        region: &str,
        function_name: &str,
    ) -> std::result::Result<MappingFunction, Box<ApiResponse>> {
        let found = || -> Result<MappingFunction> {
            let f = crate::model::parse_function_ref(function_name, "functionName")?;
            let resolved = self.resolve(region, &f.name, f.qualifier.as_deref())?;
            let base = crate::model::function_arn(region, &f.name);
            Ok(MappingFunction {
                arn: match &f.qualifier {
                    Some(q) => format!("{base}:{q}"),
                    None => base,
                },
                timeout_s: resolved.spec.timeout_ms / 1000,
            })
        };
        found().map_err(|e| Box::new(e.into_response()))
    }
}

/// How the data plane sees an invocation's result.
fn http_result(r: Result<InvokeOutcome>) -> std::result::Result<HttpInvokeResult, HttpInvokeError> {
    match r {
        Ok(o) if o.function_error.is_some() && o.error_type.as_deref() == Some(TIMED_OUT) => {
            Err(HttpInvokeError::Timeout)
        }
        Ok(o) => Ok(HttpInvokeResult {
            function_error: o.function_error.is_some(),
            payload: o.payload,
            stream: o.stream,
        }),
        Err(LambdaError::Throttled(_)) => Err(HttpInvokeError::Throttled),
        Err(LambdaError::NotFound(_)) => Err(HttpInvokeError::NotFound),
        Err(e) => Err(HttpInvokeError::Other(e.to_string())),
    }
}

/// The error type the runtime gives an invocation (or an init) that ran out of time, whose
/// message says `Task timed out after N.NN seconds`.
const TIMED_OUT: &str = "Sandbox.Timedout";

/// What a function answered to [`Lambda::invoke_for_http`].
#[derive(Debug, Clone)]
pub struct HttpInvokeResult {
    /// The response payload, or the error document when `function_error` is set.
    pub payload: Bytes,
    /// Whether the function failed (Lambda's `X-Amz-Function-Error`).
    pub function_error: bool,
    /// The response as the function streams it (asked for, and the function streams):
    /// `payload` is then empty.
    pub stream: Option<runtime::ResponseStream>,
}

/// Why [`Lambda::invoke_for_http`] has no response to give.
#[derive(Debug, thiserror::Error)]
pub enum HttpInvokeError {
    /// No concurrency was left (the function's reservation or the account's): HTTP 429.
    #[error("Rate Exceeded.")]
    Throttled,
    /// The function, or the alias, does not exist (any more).
    #[error("the function does not exist")]
    NotFound,
    /// The function ran out of time (Lambda's `Task timed out`).
    #[error("Task timed out")]
    Timeout,
    /// Anything else: the function could not be prepared or the request was refused.
    #[error("{0}")]
    Other(String),
}

fn invoke_error(e: InvokeError) -> LambdaError {
    match e {
        InvokeError::Throttled(r) => LambdaError::Throttled(r.as_str()),
    }
}

fn sync_response(o: InvokeOutcome, version: &str) -> ApiResponse {
    let mut r = http::Response::new(o.payload);
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(version) {
        h.insert("x-amz-executed-version", v);
    }
    if let Some(fe) = o
        .function_error
        .as_deref()
        .and_then(|e| HeaderValue::from_str(e).ok())
    {
        h.insert("x-amz-function-error", fe);
    }
    if let Some(tail) = o.log_tail {
        let b64 = base64::engine::general_purpose::STANDARD.encode(tail.as_bytes());
        if let Ok(v) = HeaderValue::from_str(&b64) {
            h.insert("x-amz-log-result", v);
        }
    }
    r
}

/// Delivers asynchronous invocations and their destinations.
pub struct LambdaDeliverer {
    lambda: Lambda,
}

impl LambdaDeliverer {
    pub fn new(lambda: Lambda) -> Arc<Self> {
        Arc::new(Self { lambda })
    }

    fn policy(&self, config: Option<&Value>) -> RetryPolicy {
        RetryPolicy {
            max_retries: config
                .and_then(|c| c["MaximumRetryAttempts"].as_u64())
                .unwrap_or(2) as u32,
            max_age_ms: config
                .and_then(|c| c["MaximumEventAgeInSeconds"].as_i64())
                .unwrap_or(21_600)
                * 1000,
            base_delay_ms: self.lambda.inner.cfg.async_retry_base_delay_ms,
        }
    }
}

struct Target {
    region: String,
    name: String,
    qualifier: Option<String>,
}

fn parse_target(arn: &str) -> Option<Target> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 7 || parts[2] != "lambda" {
        return None;
    }
    Some(Target {
        region: parts[3].to_string(),
        name: parts[6].to_string(),
        qualifier: parts.get(7).map(|s| s.to_string()),
    })
}

impl Deliverer for LambdaDeliverer {
    fn deliver<'a>(&'a self, entry: &'a OutboxEntry) -> BoxFuture<'a, (Outcome, RetryPolicy)> {
        Box::pin(async move {
            let Some(t) = parse_target(&entry.target) else {
                return (Outcome::Gone, self.policy(None));
            };
            let config = self.lambda.invoke_config_for(
                &t.region,
                &t.name,
                t.qualifier.as_deref().unwrap_or("$LATEST"),
            );
            let policy = self.policy(config.as_ref());
            let resolved = match self
                .lambda
                .resolve(&t.region, &t.name, t.qualifier.as_deref())
            {
                Ok(r) => r,
                Err(LambdaError::NotFound(_)) => return (Outcome::Gone, policy),
                Err(e) => {
                    tracing::warn!("async invoke of {} failed to resolve: {e}", entry.target);
                    return (
                        Outcome::Failed {
                            error: e.to_string().into_bytes(),
                        },
                        policy,
                    );
                }
            };
            let meta: EntryMeta = serde_json::from_str(&entry.meta).unwrap_or(EntryMeta {
                region: t.region.clone(),
                request_id: wire::id::uuid4(),
            });
            let (spec, _) = pick(&resolved);
            let input = InvokeInput {
                request_id: meta.request_id,
                payload: Bytes::from(entry.payload.clone()),
                invoked_arn: entry.target.clone(),
                client_context: None,
                tail: false,
            };
            let invoked = match self.lambda.inner.runtime.invoke(&spec, input).await {
                Ok(o) => Ok(buffered(o).await),
                Err(e) => Err(e),
            };
            let outcome = match invoked {
                Ok(o) if o.function_error.is_some() => Outcome::Failed {
                    error: o.payload.to_vec(),
                },
                Ok(o) => Outcome::Success {
                    response: o.payload.to_vec(),
                },
                Err(InvokeError::Throttled(_)) => Outcome::Throttled,
            };
            (outcome, policy)
        })
    }

    fn finish(
        &self,
        entry: &OutboxEntry,
        outcome: &Outcome,
        condition: FinalCondition,
    ) -> Vec<NewEntry> {
        let Some(t) = parse_target(&entry.target) else {
            return vec![];
        };
        let config = self.lambda.invoke_config_for(
            &t.region,
            &t.name,
            t.qualifier.as_deref().unwrap_or("$LATEST"),
        );
        let which = if condition == FinalCondition::Success {
            "OnSuccess"
        } else {
            "OnFailure"
        };
        let Some(dest) = config
            .as_ref()
            .and_then(|c| c["DestinationConfig"][which]["Destination"].as_str())
            .map(str::to_string)
        else {
            if condition != FinalCondition::Success {
                tracing::warn!(
                    "async invocation of {} dropped after {} attempts ({})",
                    entry.target,
                    entry.attempt + 1,
                    condition.as_str()
                );
            }
            return vec![];
        };
        let meta: Option<EntryMeta> = serde_json::from_str(&entry.meta).ok();
        let request_id = meta.map(|m| m.request_id).unwrap_or_default();
        // The version the qualifier names now: the one that ran, unless an alias moved
        // in between or routes by weight.
        let executed = self
            .lambda
            .resolve(&t.region, &t.name, t.qualifier.as_deref())
            .map(|r| r.version.clone())
            .unwrap_or_else(|_| "$LATEST".to_string());
        let parse = |b: &[u8]| {
            serde_json::from_slice::<Value>(b).unwrap_or_else(|_| json!(String::from_utf8_lossy(b)))
        };
        let mut record = json!({
            "version": "1.0",
            "timestamp": wire::time::iso8601_ms(wire::time::now_ms()),
            "requestContext": {
                "requestId": request_id,
                "functionArn": if t.qualifier.is_some() { entry.target.clone() } else { format!("{}:$LATEST", entry.target) },
                "condition": condition.as_str(),
                "approximateInvokeCount": entry.attempt + 1,
            },
            "requestPayload": parse(&entry.payload),
            "responseContext": { "statusCode": 200, "executedVersion": executed },
        });
        match outcome {
            Outcome::Success { response } => record["responsePayload"] = parse(response),
            Outcome::Failed { error } => {
                record["responseContext"]["functionError"] = json!("Unhandled");
                record["responsePayload"] = parse(error);
            }
            _ => {}
        }
        match dest.split(':').nth(2) {
            Some("lambda") => {}
            Some("events") => {
                let region = dest.split(':').nth(3).unwrap_or(&t.region);
                let result = if condition == FinalCondition::Success {
                    "Success"
                } else {
                    "Failure"
                };
                let function = record["requestContext"]["functionArn"].clone();
                let event = delivery::events::envelope(
                    region,
                    "lambda",
                    &format!("Lambda Function Invocation Result - {result}"),
                    record,
                    json!([dest, function]),
                    &wire::time::iso8601(wire::time::now_ms()),
                );
                return vec![delivery::events::put_entry(&dest, &event)];
            }
            // Queues and topics: the message waits in the outbox until those services exist.
            _ => {
                return delivery::events::message_entry(
                    &dest,
                    record.to_string().into_bytes(),
                    json!({}),
                )
                .into_iter()
                .collect();
            }
        }
        let region = dest.split(':').nth(3).unwrap_or(&t.region).to_string();
        vec![NewEntry {
            kind: KIND.into(),
            target: dest,
            payload: record.to_string().into_bytes(),
            meta: serde_json::to_string(&EntryMeta {
                region,
                request_id: wire::id::uuid4(),
            })
            .unwrap_or_default(),
            not_before_ms: 0,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(payload: &str, error: Option<(&str, &str)>) -> InvokeOutcome {
        InvokeOutcome {
            payload: Bytes::from(payload.to_string()),
            function_error: error.map(|(kind, _)| kind.to_string()),
            error_type: error.map(|(_, t)| t.to_string()),
            log_tail: None,
            duration_ms: 1.0,
            init_duration_ms: None,
            cold: false,
            stream: None,
        }
    }

    /// `expected`: the payload and whether it was a function error, or the error's text.
    fn check(r: Result<InvokeOutcome>, expected: std::result::Result<(&str, bool), &str>) {
        match (http_result(r), expected) {
            (Ok(got), Ok((payload, function_error))) => {
                assert_eq!(got.payload, payload.as_bytes());
                assert_eq!(got.function_error, function_error);
            }
            (Err(got), Err(text)) => assert_eq!(got.to_string(), text),
            (got, expected) => panic!("got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn http_results() {
        check(
            Ok(outcome(r#"{"statusCode":200}"#, None)),
            Ok((r#"{"statusCode":200}"#, false)),
        );
        check(
            Ok(outcome(
                r#"{"errorType":"KeyError"}"#,
                Some(("Unhandled", "KeyError")),
            )),
            Ok((r#"{"errorType":"KeyError"}"#, true)),
        );
        check(
            Ok(outcome(
                r#"{"errorMessage":"RequestId: x Error: Task timed out after 1.00 seconds"}"#,
                Some(("Unhandled", "Sandbox.Timedout")),
            )),
            Err("Task timed out"),
        );
        check(
            Err(LambdaError::Throttled(
                "ReservedFunctionConcurrentInvocationLimitExceeded",
            )),
            Err("Rate Exceeded."),
        );
        check(
            Err(LambdaError::NotFound("Function not found".into())),
            Err("the function does not exist"),
        );
        check(
            Err(LambdaError::Service("could not unpack code".into())),
            Err("could not unpack code"),
        );
    }
}
