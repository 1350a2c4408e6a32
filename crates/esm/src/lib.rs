//! Event source mappings: functions that consume SQS queues. The control plane answers
//! Lambda's `event-source-mappings` operations (Create, Get, Update, Delete, List); each
//! enabled mapping runs pollers that receive batches, invoke the function synchronously
//! and delete what it handled.
//!
//! Invariants: a mapping is stored before a call answers and its pollers run from the
//! stored record, so mappings resume after a restart. A message is deleted only after
//! the function handled it (or a filter dropped it); anything else returns to the queue
//! when its visibility timeout ends, so delivery stays at least once and the queue's
//! redrive policy applies.

mod error;
pub mod model;
mod poller;

use error::{EsmError, Result};
use http::{Method, StatusCode};
use model::{Mapping, Settings, Shown};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use store::{Live, ResourceStore, ResourceWrite};
use wire::time::Clock;
use wire::{ApiRequest, ApiResponse, BoxFuture};

/// Resource kind of a stored mapping (scope: region, name: UUID).
const KIND: &str = "lambda.esm";

#[derive(Default)]
struct State {
    /// By UUID.
    mappings: BTreeMap<String, Mapping>,
}

struct Inner {
    lambda: lambda::Lambda,
    sqs: sqs::Sqs,
    clock: Arc<dyn Clock>,
    live: Live<State>,
    /// The pollers of each running mapping, by UUID.
    runs: Mutex<BTreeMap<String, Arc<poller::Run>>>,
}

/// The event source mappings of every region.
#[derive(Clone)]
pub struct Mappings {
    inner: Arc<Inner>,
}

fn put(m: &Mapping) -> ResourceWrite {
    ResourceWrite::put(
        KIND,
        m.region.as_str(),
        m.uuid.as_str(),
        serde_json::to_string(m).unwrap_or_default(),
    )
}

fn body_json(req: &ApiRequest) -> Result<Value> {
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(EsmError::InvalidRequestContent(
            "Could not parse request body into json: expected an object".into(),
        )),
    }
}

/// The ARN a `FunctionName` filter of ListEventSourceMappings stands for.
fn function_filter_arn(region: &str, name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_string()
    } else if name.contains(":function:") {
        format!("arn:aws:lambda:{region}:{name}")
    } else {
        let (n, q) = match name.split_once(':') {
            Some((n, q)) => (n, Some(q)),
            None => (name, None),
        };
        let base = lambda::model::function_arn(region, n);
        match q {
            Some(q) => format!("{base}:{q}"),
            None => base,
        }
    }
}

impl Mappings {
    /// Loads the stored mappings; their pollers start with [`Mappings::start`].
    pub fn open(
        store: Arc<dyn ResourceStore>,
        lambda: lambda::Lambda,
        sqs: sqs::Sqs,
        clock: Arc<dyn Clock>,
    ) -> std::result::Result<Self, store::StoreError> {
        let mut st = State::default();
        for r in store.resources(KIND)? {
            match serde_json::from_str::<Mapping>(&r.body) {
                Ok(m) => {
                    st.mappings.insert(m.uuid.clone(), m);
                }
                Err(e) => {
                    tracing::warn!("skipping unreadable event source mapping {}: {e}", r.name)
                }
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                lambda,
                sqs,
                clock,
                live: Live::new(store, st),
                runs: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// Starts the pollers of every enabled mapping (at start-up).
    pub fn start(&self) {
        let enabled: Vec<Mapping> = self
            .inner
            .live
            .read()
            .mappings
            .values()
            .filter(|m| m.enabled)
            .cloned()
            .collect();
        for m in enabled {
            self.restart(&m.uuid, Some(m.clone()));
        }
    }

    /// Stops every poller (shutdown).
    pub fn stop(&self) {
        let runs = std::mem::take(&mut *self.runs());
        for r in runs.values() {
            r.stop();
        }
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<poller::Run>>> {
        self.inner.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops the pollers of `uuid` and, given an enabled mapping, starts new ones on it.
    fn restart(&self, uuid: &str, m: Option<Mapping>) {
        let mut runs = self.runs();
        if let Some(old) = runs.remove(uuid) {
            old.stop();
        }
        if let Some(m) = m.filter(|m| m.enabled) {
            let run = poller::Run::start(self.inner.clone(), m);
            runs.insert(uuid.to_string(), run);
        }
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Checks the queue and the function a mapping would have; answers the function ARN
    /// to store.
    fn check_targets(&self, m: &Mapping, function_name: &str) -> Result<String> {
        let arn = &m.event_source_arn;
        let service = arn.split(':').nth(2).unwrap_or("");
        if service != "sqs" {
            return Err(match service {
                "kinesis" | "dynamodb" | "kafka" | "mq" | "docdb" => EsmError::NotImplemented(format!(
                    "Eddy does not implement event source mappings for {service} yet; SQS queues are supported."
                )),
                _ => EsmError::InvalidParameter(format!(
                    "Unrecognized event source, must be kinesis, dynamodb stream, sqs, msk or mq: {arn}"
                )),
            });
        }
        let f = self
            .inner
            .lambda
            .mapping_function(&m.region, function_name)
            .map_err(EsmError::Lambda)?;
        let Some(q) = self.inner.sqs.queue_facts(arn) else {
            return Err(EsmError::InvalidParameter(
                "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist or you do not have access to it.".into(),
            ));
        };
        model::check(m, q.fifo, q.visibility_timeout_s, f.timeout_s)?;
        Ok(f.arn)
    }

    async fn create(&self, req: &ApiRequest) -> Result<ApiResponse> {
        let body = body_json(req)?;
        let settings = Settings::parse(&body, true)?;
        let source = match body.get("EventSourceArn") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(EsmError::InvalidParameter(
                    "Event source ARN must be specified.".into(),
                ))
            }
        };
        let now = self.now_ms();
        let mut m = Mapping {
            uuid: wire::id::uuid4(),
            region: req.region.clone(),
            event_source_arn: source,
            function_arn: String::new(),
            batch_size: model::BATCH_SIZE_DEFAULT,
            maximum_batching_window_in_seconds: 0,
            filter_criteria: None,
            function_response_types: Vec::new(),
            maximum_concurrency: None,
            enabled: true,
            created_ms: now,
            last_modified_ms: now,
        };
        settings.apply(&mut m);
        let function_name = settings.function_name.clone().unwrap_or_default();
        let _w = self.inner.live.lock().await;
        m.function_arn = self.check_targets(&m, &function_name)?;
        {
            let st = self.inner.live.read();
            if let Some(same) = st.mappings.values().find(|o| {
                o.event_source_arn == m.event_source_arn && o.function_arn == m.function_arn
            }) {
                return Err(EsmError::Conflict(format!(
                    "The event source arn ({}) and function ({}) provided mapping already exists. Please update or delete the existing mapping with UUID {}",
                    m.event_source_arn, m.function_arn, same.uuid
                )));
            }
            if st
                .mappings
                .values()
                .filter(|o| o.region == m.region)
                .count()
                >= model::MAPPINGS_MAX
            {
                return Err(EsmError::InvalidParameter(format!(
                    "Too many event source mappings: the limit is {} per region.",
                    model::MAPPINGS_MAX
                )));
            }
        }
        self.save(&m, now).await?;
        Ok(wire::json_response(
            StatusCode::ACCEPTED,
            &m.to_json(Shown::Creating),
        ))
    }

    /// Stores a created or changed mapping, then runs its pollers on it. The caller holds
    /// the writer lock.
    async fn save(&self, m: &Mapping, now: i64) -> Result<()> {
        self.inner.live.commit(vec![put(m)], vec![], now).await?;
        self.inner
            .live
            .write()
            .mappings
            .insert(m.uuid.clone(), m.clone());
        self.restart(&m.uuid, Some(m.clone()));
        Ok(())
    }

    fn find(&self, region: &str, uuid: &str) -> Result<Mapping> {
        self.inner
            .live
            .read()
            .mappings
            .get(uuid)
            .filter(|m| m.region == region)
            .cloned()
            .ok_or(EsmError::NotFound)
    }

    async fn update(&self, req: &ApiRequest, uuid: &str) -> Result<ApiResponse> {
        let body = body_json(req)?;
        let settings = Settings::parse(&body, false)?;
        let _w = self.inner.live.lock().await;
        let old = self.find(&req.region, uuid)?;
        let mut m = old.clone();
        settings.apply(&mut m);
        let function_name = settings
            .function_name
            .clone()
            .unwrap_or_else(|| old.function_arn.clone());
        m.function_arn = self.check_targets(&m, &function_name)?;
        let now = self.now_ms();
        m.last_modified_ms = now;
        self.save(&m, now).await?;
        let shown = match (old.enabled, m.enabled) {
            (false, true) => Shown::Enabling,
            (true, false) => Shown::Disabling,
            _ => Shown::Updating,
        };
        Ok(wire::json_response(StatusCode::ACCEPTED, &m.to_json(shown)))
    }

    async fn delete(&self, region: &str, uuid: &str) -> Result<ApiResponse> {
        let _w = self.inner.live.lock().await;
        let m = self.find(region, uuid)?;
        self.inner
            .live
            .commit(
                vec![ResourceWrite::delete(
                    KIND,
                    m.region.as_str(),
                    m.uuid.as_str(),
                )],
                vec![],
                self.now_ms(),
            )
            .await?;
        self.inner.live.write().mappings.remove(uuid);
        self.restart(uuid, None);
        Ok(wire::json_response(
            StatusCode::ACCEPTED,
            &m.to_json(Shown::Deleting),
        ))
    }

    fn list(&self, req: &ApiRequest) -> Result<ApiResponse> {
        let source = req.query_param("EventSourceArn").filter(|s| !s.is_empty());
        let function = req
            .query_param("FunctionName")
            .filter(|s| !s.is_empty())
            .map(|f| function_filter_arn(&req.region, f));
        let max = match req.query_param("MaxItems") {
            None => 100,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=10_000).contains(&n) => n,
                _ => {
                    return Err(EsmError::Validation(format!(
                        "1 validation error detected: Value '{s}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000"
                    )))
                }
            },
        };
        let marker = req.query_param("Marker").filter(|s| !s.is_empty());
        let st = self.inner.live.read();
        let mut all: Vec<&Mapping> = st
            .mappings
            .values()
            .filter(|m| m.region == req.region)
            .filter(|m| source.is_none_or(|s| m.event_source_arn == s))
            .filter(|m| {
                function.as_deref().is_none_or(|f| {
                    m.function_arn == f
                        || m.function_arn
                            .strip_prefix(f)
                            .is_some_and(|rest| rest.starts_with(':'))
                })
            })
            .collect();
        all.sort_by(|a, b| (a.created_ms, &a.uuid).cmp(&(b.created_ms, &b.uuid)));
        let start = match marker {
            Some(mk) => all
                .iter()
                .position(|m| m.uuid == mk)
                .map(|i| i + 1)
                .ok_or_else(|| EsmError::InvalidParameter(format!("Invalid marker: {mk}")))?,
            None => 0,
        };
        let page: Vec<Value> = all
            .iter()
            .skip(start)
            .take(max)
            .map(|m| m.to_json(Shown::Settled))
            .collect();
        let mut out = json!({ "EventSourceMappings": page });
        if start + max < all.len() {
            out["NextMarker"] = json!(all[start + max - 1].uuid);
        }
        Ok(wire::json_response(StatusCode::OK, &out))
    }

    async fn route(&self, req: &ApiRequest) -> Result<ApiResponse> {
        let seg = req.segments();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        match (&req.method, seg.as_slice()) {
            (&Method::POST, [_, "event-source-mappings"] | [_, "event-source-mappings", ""]) => {
                self.create(req).await
            }
            (&Method::GET, [_, "event-source-mappings"] | [_, "event-source-mappings", ""]) => {
                self.list(req)
            }
            (&Method::GET, [_, "event-source-mappings", uuid]) => Ok(wire::json_response(
                StatusCode::OK,
                &self.find(&req.region, uuid)?.to_json(Shown::Settled),
            )),
            (&Method::PUT, [_, "event-source-mappings", uuid]) => self.update(req, uuid).await,
            (&Method::DELETE, [_, "event-source-mappings", uuid]) => {
                self.delete(&req.region, uuid).await
            }
            _ => Err(EsmError::NotImplemented(format!(
                "Eddy does not implement {} {} yet.",
                req.method, req.path
            ))),
        }
    }

    /// Whether a Lambda API request is one of these operations.
    pub fn owns(req: &ApiRequest) -> bool {
        req.path
            .trim_start_matches('/')
            .split('/')
            .nth(1)
            .is_some_and(|s| s == "event-source-mappings")
    }
}

impl wire::Service for Mappings {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        Box::pin(async move {
            match self.route(&req).await {
                Ok(r) => r,
                Err(e) => e.into_response(),
            }
        })
    }
}

/// The Lambda API with event source mappings: their paths go to [`Mappings`], every
/// other to Lambda.
pub struct LambdaFront {
    pub lambda: Arc<dyn wire::Service>,
    pub mappings: Mappings,
}

impl wire::Service for LambdaFront {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        if Mappings::owns(&req) {
            self.mappings.handle(req)
        } else {
            self.lambda.handle(req)
        }
    }

    fn streams(&self, head: &http::request::Parts) -> bool {
        self.lambda.streams(head)
    }

    fn error(&self, status: StatusCode, code: &str, message: &str) -> ApiResponse {
        self.lambda.error(status, code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_filters_name_the_arn() {
        let r = "us-east-1";
        let base = "arn:aws:lambda:us-east-1:000000000000:function:f";
        assert_eq!(function_filter_arn(r, "f"), base);
        assert_eq!(function_filter_arn(r, "f:live"), format!("{base}:live"));
        assert_eq!(function_filter_arn(r, "000000000000:function:f"), base);
        assert_eq!(function_filter_arn(r, base), base);
    }
}
