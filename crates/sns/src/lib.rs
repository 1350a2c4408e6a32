//! Amazon SNS (query protocol, `sns/2010-03-31`): topics, subscriptions for `sqs`,
//! `lambda` and `http` endpoints with filter policies, Publish and PublishBatch (FIFO
//! topics included), and the outbox deliverers that carry one message to one
//! subscription and publish messages other services address to a topic.
//!
//! Invariants: topics and subscriptions live in memory and are written through to the
//! store under one writer lock, memory changing only after the commit; a publish commits
//! one outbox entry per matching confirmed subscription before it answers, so an
//! acknowledged message reaches every subscriber at least once, across crashes. FIFO
//! deduplication ids are remembered in memory only (five minutes).

mod api;
mod deliver;
mod error;
mod form;
pub mod model;
mod xml;

pub use deliver::SnsDeliverer;
pub use error::SnsError;

use form::Form;
use model::{Filter, FilterScope, Protocol, Urls};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use store::{Live, ResourceStore, ResourceWrite};
use wire::string_map;
use wire::time::Clock;
use wire::{ApiRequest, ApiResponse, BoxFuture};

/// The outbox kind of one message for one subscription (target: the subscription ARN).
pub const DELIVER_KIND: &str = "sns-deliver";

/// Where a GET confirms an http subscription (`SubscribeURL`), under Eddy's `/_eddy/`
/// routes, which need no signature.
pub const CONFIRM_PATH: &str = "/_eddy/sns/confirm";

/// Resource kinds in the store.
const TOPIC: &str = "sns.topic";
const SUBSCRIPTION: &str = "sns.subscription";

/// Settings.
#[derive(Debug, Clone)]
pub struct SnsConfig {
    /// Eddy's own address (`http://host:port`), for the URLs delivered messages carry.
    pub public_base: String,
}

#[derive(Debug, Clone)]
struct Topic {
    arn: String,
    region: String,
    name: String,
    /// The attributes set by callers (DisplayName, Policy, FifoTopic, ...).
    attrs: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    created_ms: i64,
}

impl Topic {
    fn fifo(&self) -> bool {
        self.attrs.get("FifoTopic").is_some_and(|v| v == "true")
    }

    fn content_dedup(&self) -> bool {
        self.attrs
            .get("ContentBasedDeduplication")
            .is_some_and(|v| v == "true")
    }

    fn record(&self) -> ResourceWrite {
        ResourceWrite::put(
            TOPIC,
            self.region.as_str(),
            self.name.as_str(),
            json!({"Attributes": self.attrs, "Tags": self.tags, "CreatedMs": self.created_ms})
                .to_string(),
        )
    }
}

#[derive(Debug, Clone)]
struct Subscription {
    arn: String,
    topic_arn: String,
    protocol: Protocol,
    endpoint: String,
    attrs: BTreeMap<String, String>,
    confirmed: bool,
    /// The confirmation token of an http subscription.
    token: Option<String>,
    /// The compiled FilterPolicy and its scope.
    filter: Option<Filter>,
}

impl Subscription {
    fn id(&self) -> &str {
        self.arn.rsplit(':').next().unwrap_or_default()
    }

    fn record(&self) -> ResourceWrite {
        ResourceWrite::put(
            SUBSCRIPTION,
            self.topic_arn.as_str(),
            self.id(),
            json!({
                "Protocol": self.protocol.as_str(),
                "Endpoint": self.endpoint,
                "Attributes": self.attrs,
                "Confirmed": self.confirmed,
                "Token": self.token,
            })
            .to_string(),
        )
    }

    fn delete(&self) -> ResourceWrite {
        ResourceWrite::delete(SUBSCRIPTION, self.topic_arn.as_str(), self.id())
    }

    fn raw(&self) -> bool {
        self.attrs
            .get("RawMessageDelivery")
            .is_some_and(|v| v == "true")
    }

    /// The filter its attributes describe (`None` without a FilterPolicy).
    fn compile_filter(attrs: &BTreeMap<String, String>) -> Option<Filter> {
        let text = attrs.get("FilterPolicy").filter(|t| !t.is_empty())?;
        let scope = match attrs.get("FilterPolicyScope").map(String::as_str) {
            Some("MessageBody") => FilterScope::MessageBody,
            _ => FilterScope::MessageAttributes,
        };
        // Stored policies were checked when they were set.
        let pattern = model::parse_filter_policy(text).ok()?;
        Some(Filter { scope, pattern })
    }
}

/// A FIFO message remembered for deduplication.
#[derive(Debug, Clone)]
struct Remembered {
    message_id: String,
    sequence: String,
}

#[derive(Default)]
struct State {
    /// By topic ARN.
    topics: BTreeMap<String, Topic>,
    /// By subscription ARN (`<topic arn>:<id>`), so a topic's subscriptions are a range.
    subs: BTreeMap<String, Subscription>,
    /// (topic ARN, deduplication id) -> the message that used it.
    dedup: wire::recent::Recent<(String, String), Remembered>,
    /// The last sequence number per FIFO topic.
    sequences: HashMap<String, u128>,
}

impl State {
    fn subs_of<'a>(&'a self, topic_arn: &str) -> impl Iterator<Item = &'a Subscription> + 'a {
        let prefix = format!("{topic_arn}:");
        self.subs
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(_, s)| s)
    }
}

struct Inner {
    clock: Arc<dyn Clock>,
    urls: Urls,
    /// Topics and subscriptions, written through to the store.
    live: Live<State>,
    delivery: delivery::Delivery,
    sqs: sqs::Sqs,
}

/// The SNS API.
#[derive(Clone)]
pub struct Sns {
    inner: Arc<Inner>,
}

impl Sns {
    /// Loads the stored topics and subscriptions.
    pub fn open(
        store: Arc<dyn ResourceStore>,
        delivery: delivery::Delivery,
        sqs: sqs::Sqs,
        clock: Arc<dyn Clock>,
        cfg: SnsConfig,
    ) -> std::result::Result<Self, store::StoreError> {
        let mut st = State::default();
        for r in store.resources(TOPIC)? {
            let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            let arn = model::topic_arn(&r.scope, &r.name);
            st.topics.insert(
                arn.clone(),
                Topic {
                    arn,
                    region: r.scope,
                    name: r.name,
                    attrs: string_map(&body["Attributes"]),
                    tags: string_map(&body["Tags"]),
                    created_ms: body["CreatedMs"].as_i64().unwrap_or(0),
                },
            );
        }
        for r in store.resources(SUBSCRIPTION)? {
            let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            let protocol = body["Protocol"].as_str().and_then(Protocol::from_stored);
            let (Some(protocol), Some(endpoint), true) = (
                protocol,
                body["Endpoint"].as_str(),
                st.topics.contains_key(&r.scope),
            ) else {
                tracing::warn!("skipping subscription record {}/{}", r.scope, r.name);
                continue;
            };
            let attrs = string_map(&body["Attributes"]);
            let arn = format!("{}:{}", r.scope, r.name);
            st.subs.insert(
                arn.clone(),
                Subscription {
                    arn,
                    topic_arn: r.scope,
                    protocol,
                    endpoint: endpoint.to_string(),
                    filter: Subscription::compile_filter(&attrs),
                    attrs,
                    confirmed: body["Confirmed"].as_bool().unwrap_or(false),
                    token: body["Token"].as_str().map(str::to_string),
                },
            );
        }
        Ok(Self {
            inner: Arc::new(Inner {
                clock,
                urls: Urls {
                    base: cfg.public_base.trim_end_matches('/').to_string(),
                },
                live: Live::new(store, st),
                delivery,
                sqs,
            }),
        })
    }

    fn live(&self) -> &Live<State> {
        &self.inner.live
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Answers a GET of a `SubscribeURL` (`CONFIRM_PATH?TopicArn=..&Token=..`): confirms
    /// the subscription as ConfirmSubscription does. For Eddy's unsigned `/_eddy/` routes.
    pub async fn confirm_by_url(&self, query: &[(String, String)]) -> ApiResponse {
        let form = Form::new(query.to_vec());
        let request_id = wire::id::uuid4();
        match self.confirm_subscription(&form).await {
            Ok(result) => reply("ConfirmSubscription", &result, &request_id),
            Err(e) => e.into_response(),
        }
    }
}

fn reply(action: &str, result: &str, request_id: &str) -> ApiResponse {
    wire::response(
        http::StatusCode::OK,
        "text/xml",
        xml::reply_body(action, result, request_id),
    )
}

/// The request's parameters: the query string and a form-encoded body.
fn params(req: &ApiRequest) -> Form {
    let mut pairs = req.query.clone();
    if !req.body.is_empty() {
        pairs.extend(wire::parse_form(&req.body));
    }
    Form::new(pairs)
}

impl wire::Service for Sns {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        Box::pin(async move {
            let form = params(&req);
            let action = form.get("Action").unwrap_or_default().to_string();
            match self.dispatch(&req, &action, &form).await {
                Ok(result) => reply(&action, &result, &req.request_id),
                Err(e) => e.into_response(),
            }
        })
    }

    fn error(&self, status: http::StatusCode, code: &str, message: &str) -> ApiResponse {
        error::error_response(status, code, message)
    }
}
