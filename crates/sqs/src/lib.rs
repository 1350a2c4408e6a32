//! Amazon SQS (json 1.0, `sqs/2012-11-05`): standard and FIFO queues with visibility
//! timeouts, delays, long polling, batches, redrive to a dead-letter queue and back, plus
//! the outbox deliverer that sends dead letters and destination messages to a queue.
//!
//! Invariants: queues and messages live in memory and are written through to the store
//! before a call answers, under the writer lock, so an acknowledged send survives a
//! crash and so does an acknowledged delete. Visibility (who holds a message, until when)
//! and receive counts are written through too, without a sync: they survive the process
//! being killed, and a power cut at worst makes a message visible early (delivery stays
//! at least once).

mod admin;
mod api;
mod consumer;
mod error;
pub mod model;
mod mover;
mod publish;
mod query;

pub use consumer::{Polled, QueueFacts};
pub use error::SqsError;

use delivery::{Deliverer, FinalCondition, Outcome, RetryPolicy};
use error::Result;
use model::{AttrValue, QueueAttrs};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use store::{Live, NewEntry, OutboxEntry, ResourceStore, ResourceWrite};
use wire::recent::Recent;
use wire::string_map;
use wire::time::Clock;
use wire::BoxFuture;

/// The json 1.0 content type.
pub(crate) const JSON_1_0: &str = "application/x-amz-json-1.0";

/// Resource kinds in the store: one record per queue, one per message.
const QUEUE: &str = "sqs.queue";
const MESSAGE: &str = "sqs.message";
/// One record per received message: its visibility and receive count.
const VISIBILITY: &str = "sqs.visibility";

/// Settings.
#[derive(Debug, Clone, Default)]
pub struct SqsConfig {
    /// The base of queue URLs (`http://host:port`); the request's Host when unset.
    pub public_base: Option<String>,
}

/// One message in a queue.
#[derive(Debug, Clone, PartialEq)]
struct Message {
    id: String,
    body: String,
    attrs: BTreeMap<String, AttrValue>,
    md5_body: String,
    md5_attrs: Option<String>,
    sent_ms: i64,
    /// When it can next be received (end of its delay or visibility timeout).
    visible_at_ms: i64,
    receive_count: u32,
    first_receive_ms: Option<i64>,
    /// The nonce of the latest receipt handle.
    receipt: Option<String>,
    /// FIFO queues: the message group and the deduplication id.
    group_id: Option<String>,
    dedup_id: Option<String>,
    /// Dead letters: the ARN of the queue the message was moved from, where a message
    /// move task without a destination returns it.
    origin: Option<String>,
    /// The `AWSTraceHeader` system attribute the sender gave.
    trace_header: Option<String>,
}

impl Message {
    fn record(&self) -> Value {
        let attrs: Map<String, Value> = self
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        json!({
            "MessageId": self.id,
            "Body": self.body,
            "MessageAttributes": attrs,
            "SentMs": self.sent_ms,
            "AvailableMs": self.visible_at_ms.max(self.sent_ms),
            "GroupId": self.group_id,
            "DedupId": self.dedup_id,
            "Origin": self.origin,
            "TraceHeader": self.trace_header,
        })
    }

    fn from_record(v: &Value) -> Option<Self> {
        let body = v.get("Body")?.as_str()?.to_string();
        let attrs = model::parse_message_attributes(v.get("MessageAttributes")).ok()?;
        let sent_ms = v.get("SentMs")?.as_i64()?;
        Some(Self {
            id: v.get("MessageId")?.as_str()?.to_string(),
            md5_body: model::md5_hex(body.as_bytes()),
            md5_attrs: model::md5_of_attributes(&attrs),
            body,
            attrs,
            sent_ms,
            visible_at_ms: v
                .get("AvailableMs")
                .and_then(Value::as_i64)
                .unwrap_or(sent_ms),
            receive_count: 0,
            first_receive_ms: None,
            receipt: None,
            group_id: v.get("GroupId").and_then(Value::as_str).map(str::to_string),
            dedup_id: v.get("DedupId").and_then(Value::as_str).map(str::to_string),
            origin: v.get("Origin").and_then(Value::as_str).map(str::to_string),
            trace_header: v
                .get("TraceHeader")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}

/// A standard queue.
#[derive(Debug, Clone)]
struct Queue {
    name: String,
    attrs: QueueAttrs,
    created_ms: i64,
    modified_ms: i64,
    /// Messages by sequence number (send order).
    messages: BTreeMap<u64, Message>,
    next_seq: u64,
    last_purge_ms: Option<i64>,
    tags: BTreeMap<String, String>,
    /// FIFO queues: deduplication keys sent in the last five minutes, with what the first
    /// send answered (message id and seq).
    dedup: Recent<String, (String, u64)>,
    /// FIFO queues: receive attempt ids and the (seq, receipt nonce) they handed out.
    attempts: Recent<String, Vec<(u64, String)>>,
}

impl Queue {
    fn record(&self) -> Value {
        json!({
            "Name": self.name,
            "Attributes": self.attrs.to_map(),
            "CreatedMs": self.created_ms,
            "ModifiedMs": self.modified_ms,
            "Tags": self.tags,
        })
    }

    /// The key a FIFO message's deduplication id is remembered under.
    fn dedup_key(&self, group: &str, dedup: &str) -> String {
        dedup_key(self.attrs.fifo.as_ref(), group, dedup)
    }

    fn count(&self, now_ms: i64, which: model::Visibility) -> usize {
        self.messages
            .values()
            .filter(|m| model::visibility(m.visible_at_ms, m.receive_count, now_ms) == which)
            .count()
    }
}

/// The key a FIFO message's deduplication id is remembered under: per group or per
/// queue, as the queue's DeduplicationScope says.
fn dedup_key(fifo: Option<&model::Fifo>, group: &str, dedup: &str) -> String {
    match fifo {
        Some(f) if f.dedup_per_group => format!("{group}\n{dedup}"),
        _ => dedup.to_string(),
    }
}

/// (region, name) -> queue.
type Key = (String, String);

#[derive(Default)]
struct State {
    queues: BTreeMap<Key, Queue>,
    /// Message move tasks by task handle (memory only).
    moves: BTreeMap<String, mover::MoveTask>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    cfg: SqsConfig,
    /// Queues and messages, written through to the store.
    live: Live<State>,
    /// Woken on every send, so long polls look again (a Notify: waiters only need to know
    /// that something changed, and recheck the state themselves).
    sent: tokio::sync::Notify,
}

/// The SQS API.
#[derive(Clone)]
pub struct Sqs {
    inner: Arc<Inner>,
}

fn message_scope(region: &str, queue: &str) -> String {
    format!("{region}:{queue}")
}

fn message_name(seq: u64) -> String {
    format!("{seq:020}")
}

fn message_put(region: &str, queue: &str, seq: u64, m: &Message) -> ResourceWrite {
    ResourceWrite::put(
        MESSAGE,
        message_scope(region, queue),
        message_name(seq),
        m.record().to_string(),
    )
}

/// Deletes a message's record and its visibility record.
fn message_delete(region: &str, queue: &str, seq: u64) -> [ResourceWrite; 2] {
    let (scope, name) = (message_scope(region, queue), message_name(seq));
    [
        ResourceWrite::delete(MESSAGE, scope.as_str(), name.as_str()),
        ResourceWrite::delete(VISIBILITY, scope, name),
    ]
}

/// A received message's visibility: when it is visible again, how often it was
/// received and the nonce of its latest receipt handle (written without a sync).
fn visibility_put(region: &str, queue: &str, seq: u64, m: &Message) -> ResourceWrite {
    ResourceWrite::put(
        VISIBILITY,
        message_scope(region, queue),
        message_name(seq),
        json!({
            "VisibleMs": m.visible_at_ms,
            "Count": m.receive_count,
            "FirstMs": m.first_receive_ms,
            "Receipt": m.receipt,
        })
        .to_string(),
    )
}

fn queue_put(region: &str, q: &Queue) -> ResourceWrite {
    ResourceWrite::put(QUEUE, region, q.name.as_str(), q.record().to_string())
}

/// The group and deduplication id of a message another service sends to the queue
/// `name` without naming them (dead letters, destinations): FIFO queues put all such
/// messages in one group and deduplicate none of them.
fn fifo_fallback(name: &str) -> Option<(String, String)> {
    model::is_fifo_name(name).then(|| ("default".to_string(), wire::id::uuid4()))
}

/// A message to send, already checked.
struct Outgoing {
    body: String,
    attrs: BTreeMap<String, AttrValue>,
    delay_s: Option<u64>,
    /// FIFO queues: (message group, deduplication id).
    fifo: Option<(String, String)>,
    /// The `AWSTraceHeader` system attribute.
    trace_header: Option<String>,
}

/// What a send answers.
struct Sent {
    id: String,
    md5_body: String,
    md5_attrs: Option<String>,
    /// FIFO queues: the message's sequence number.
    sequence: Option<String>,
    /// The MD5 of the system attributes, when the message has any.
    md5_system: Option<String>,
}

impl Sqs {
    /// Loads the stored queues and messages.
    pub fn open(
        store: Arc<dyn ResourceStore>,
        clock: Arc<dyn Clock>,
        cfg: SqsConfig,
    ) -> std::result::Result<Self, store::StoreError> {
        let mut st = State::default();
        for r in store.resources(QUEUE)? {
            let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            let attrs = string_map(&body["Attributes"]);
            let fifo = model::is_fifo_name(&r.name);
            let Ok(attrs) = QueueAttrs::defaults(fifo).with(&attrs) else {
                tracing::warn!("skipping unreadable queue record {}/{}", r.scope, r.name);
                continue;
            };
            let created_ms = body["CreatedMs"].as_i64().unwrap_or(0);
            st.queues.insert(
                (r.scope.clone(), r.name.clone()),
                Queue {
                    name: r.name,
                    attrs,
                    created_ms,
                    modified_ms: body["ModifiedMs"].as_i64().unwrap_or(created_ms),
                    messages: BTreeMap::new(),
                    next_seq: 1,
                    last_purge_ms: None,
                    tags: string_map(&body["Tags"]),
                    dedup: Recent::default(),
                    attempts: Recent::default(),
                },
            );
        }
        for r in store.resources(MESSAGE)? {
            let Some((region, queue)) = r.scope.split_once(':') else {
                continue;
            };
            let msg = serde_json::from_str::<Value>(&r.body)
                .ok()
                .and_then(|v| Message::from_record(&v));
            let (Some(m), Ok(seq), Some(q)) = (
                msg,
                r.name.parse::<u64>(),
                st.queues.get_mut(&(region.to_string(), queue.to_string())),
            ) else {
                tracing::warn!("skipping message record {}/{}", r.scope, r.name);
                continue;
            };
            q.next_seq = q.next_seq.max(seq + 1);
            // Deduplication ids of messages still held are remembered across a restart
            // (those of messages already deleted are not).
            if let (Some(g), Some(d)) = (&m.group_id, &m.dedup_id) {
                let until = m.sent_ms + model::DEDUP_WINDOW_MS;
                let k = q.dedup_key(g, d);
                q.dedup.insert(k, (m.id.clone(), seq), until);
            }
            q.messages.insert(seq, m);
        }
        // Received messages: visible again when their visibility ends, not before.
        for r in store.resources(VISIBILITY)? {
            let (Some((region, queue)), Ok(seq)) = (r.scope.split_once(':'), r.name.parse::<u64>())
            else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(&r.body) else {
                continue;
            };
            if let Some(m) = st
                .queues
                .get_mut(&(region.to_string(), queue.to_string()))
                .and_then(|q| q.messages.get_mut(&seq))
            {
                m.visible_at_ms = v["VisibleMs"].as_i64().unwrap_or(m.visible_at_ms);
                m.receive_count = v["Count"].as_u64().unwrap_or(0) as u32;
                m.first_receive_ms = v["FirstMs"].as_i64();
                m.receipt = v["Receipt"].as_str().map(str::to_string);
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                clock,
                cfg,
                live: Live::new(store, st),
                sent: tokio::sync::Notify::new(),
            }),
        })
    }

    fn live(&self) -> &Live<State> {
        &self.inner.live
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Sends checked messages to one queue in one commit; answers in order.
    async fn send_messages(
        &self,
        region: &str,
        name: &str,
        out: Vec<Outgoing>,
    ) -> Result<Vec<Sent>> {
        let key = (region.to_string(), name.to_string());
        let _w = self.live().lock().await;
        let now = self.now_ms();
        let (first_seq, delay_s, fifo) = {
            let st = self.live().read();
            let q = st.queues.get(&key).ok_or(SqsError::QueueDoesNotExist)?;
            if q.messages.len() + out.len() > model::MESSAGES_PER_QUEUE_MAX {
                return Err(SqsError::OverLimit(format!(
                    "Too many messages in the queue: the limit is {}.",
                    model::MESSAGES_PER_QUEUE_MAX
                )));
            }
            (q.next_seq, q.attrs.delay_s, q.attrs.fifo.clone())
        };
        let mut writes = Vec::new();
        let mut msgs: Vec<(u64, Message)> = Vec::new();
        let mut sent = Vec::new();
        // FIFO deduplication: keys of this batch, and what the queue remembers.
        let mut fresh: HashMap<String, (String, u64)> = HashMap::new();
        for o in out {
            let md5_body = model::md5_hex(o.body.as_bytes());
            let md5_attrs = model::md5_of_attributes(&o.attrs);
            let dedup_key = o
                .fifo
                .as_ref()
                .map(|(group, dedup)| dedup_key(fifo.as_ref(), group, dedup));
            if let Some(k) = &dedup_key {
                let remembered = fresh.get(k).cloned().or_else(|| {
                    let st = self.live().read();
                    st.queues.get(&key)?.dedup.get(k, now).cloned()
                });
                if let Some((id, seq)) = remembered {
                    // A duplicate within five minutes: accepted, not enqueued, and answered
                    // as the first send was.
                    sent.push(Sent {
                        id,
                        md5_body,
                        md5_attrs,
                        sequence: Some(model::sequence_number(seq)),
                        md5_system: model::md5_of_trace_header(o.trace_header.as_deref()),
                    });
                    continue;
                }
            }
            let seq = first_seq + msgs.len() as u64;
            let m = Message {
                id: wire::id::uuid4(),
                md5_body,
                md5_attrs,
                body: o.body,
                attrs: o.attrs,
                sent_ms: now,
                visible_at_ms: now + (o.delay_s.unwrap_or(delay_s) as i64) * 1000,
                receive_count: 0,
                first_receive_ms: None,
                receipt: None,
                group_id: o.fifo.as_ref().map(|f| f.0.clone()),
                dedup_id: o.fifo.as_ref().map(|f| f.1.clone()),
                origin: None,
                trace_header: o.trace_header.clone(),
            };
            if let Some(k) = dedup_key {
                fresh.insert(k, (m.id.clone(), seq));
            }
            writes.push(message_put(region, name, seq, &m));
            sent.push(Sent {
                id: m.id.clone(),
                md5_body: m.md5_body.clone(),
                md5_attrs: m.md5_attrs.clone(),
                sequence: m.group_id.as_ref().map(|_| model::sequence_number(seq)),
                md5_system: model::md5_of_trace_header(m.trace_header.as_deref()),
            });
            msgs.push((seq, m));
        }
        self.live().commit(writes, vec![], now).await?;
        {
            let mut st = self.live().write();
            if let Some(q) = st.queues.get_mut(&key) {
                q.next_seq = first_seq + msgs.len() as u64;
                q.dedup.forget_expired(now);
                for (k, first) in fresh {
                    q.dedup.insert(k, first, now + model::DEDUP_WINDOW_MS);
                }
                q.messages.extend(msgs);
            }
        }
        self.inner.sent.notify_waiters();
        Ok(sent)
    }

    /// Sends `body` to the queue `arn` with string attributes (dead letters and
    /// destination messages from other services); attributes SQS would refuse are left
    /// out rather than failing the message.
    pub async fn send_to_arn(
        &self,
        arn: &str,
        body: String,
        attributes: &BTreeMap<String, String>,
    ) -> std::result::Result<String, SqsError> {
        let attrs: BTreeMap<String, AttrValue> = attributes
            .iter()
            .filter(|(k, v)| model::valid_attribute_name(k) && !v.is_empty())
            .take(model::MESSAGE_ATTRIBUTES_MAX)
            .map(|(k, v)| (k.clone(), AttrValue::string(v)))
            .collect();
        self.send_typed_to_arn(arn, body, attrs, None).await
    }
}

impl Sqs {
    /// A request of the query protocol: read into a json body, run, answered in XML.
    async fn handle_query(
        &self,
        req: &wire::ApiRequest,
        pairs: &[(String, String)],
    ) -> wire::ApiResponse {
        let action = pairs
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        let body = query::to_json(action, pairs);
        match self.run(req, action, &body).await {
            Ok(v) => wire::query::reply(
                query::NS,
                action,
                &query::result_xml(action, &v),
                &wire::id::uuid4(),
            ),
            Err(e) => {
                let (status, _, code) = e.status_and_codes();
                wire::query::error(query::NS, status, code, &e.to_string())
            }
        }
    }
}

impl wire::Service for Sqs {
    fn handle(&self, req: wire::ApiRequest) -> BoxFuture<'_, wire::ApiResponse> {
        Box::pin(async move {
            if let Some(pairs) = query::params(&req) {
                return self.handle_query(&req, &pairs).await;
            }
            match self.dispatch(&req).await {
                Ok(v) => wire::response(
                    http::StatusCode::OK,
                    JSON_1_0,
                    serde_json::to_vec(&v).unwrap_or_default(),
                ),
                Err(e) => e.into_response(),
            }
        })
    }

    fn error(&self, status: http::StatusCode, code: &str, message: &str) -> wire::ApiResponse {
        error::error_response(status, code, code, message)
    }
}

/// Delivers `SQS_SEND_KIND` outbox entries: dead letters and destination messages.
pub struct SqsDeliverer {
    sqs: Sqs,
}

impl SqsDeliverer {
    pub fn new(sqs: Sqs) -> Arc<Self> {
        Arc::new(Self { sqs })
    }
}

/// Retries for a send that failed on the store: a few, an hour at most.
const DELIVER_POLICY: RetryPolicy = RetryPolicy {
    max_retries: 5,
    max_age_ms: 3_600_000,
    base_delay_ms: 1_000,
};

impl Deliverer for SqsDeliverer {
    fn deliver<'a>(&'a self, entry: &'a OutboxEntry) -> BoxFuture<'a, (Outcome, RetryPolicy)> {
        Box::pin(async move {
            let meta: Value = serde_json::from_str(&entry.meta).unwrap_or(Value::Null);
            let attrs = string_map(&meta["MessageAttributes"]);
            let body = String::from_utf8_lossy(&entry.payload).into_owned();
            let outcome = match self.sqs.send_to_arn(&entry.target, body, &attrs).await {
                Ok(id) => Outcome::Success {
                    response: id.into_bytes(),
                },
                Err(SqsError::Internal(e)) => Outcome::Failed {
                    error: e.into_bytes(),
                },
                Err(e) => {
                    tracing::warn!("dropping the message for {}: {e}", entry.target);
                    Outcome::Gone
                }
            };
            (outcome, DELIVER_POLICY)
        })
    }

    fn finish(&self, _: &OutboxEntry, _: &Outcome, _: FinalCondition) -> Vec<NewEntry> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests;
