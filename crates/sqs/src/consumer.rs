//! Consumers inside the server: what a function's event source mapping polls, deletes and
//! hands back. Messages are received exactly as `ReceiveMessage` would (visibility,
//! receive counts, redrive) and come out as records of Lambda's SQS event.

use crate::api::Received;
use crate::error::{Result, SqsError};
use crate::model::{self, AttrData};
use crate::Sqs;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// One received message, ready for a function.
#[derive(Debug, Clone)]
pub struct Polled {
    pub message_id: String,
    pub receipt_handle: String,
    /// The record of Lambda's SQS event (`Records[]`).
    pub record: Value,
    /// The record's size as JSON, for the invoke payload limit.
    pub bytes: usize,
}

/// What a consumer needs to know of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFacts {
    pub visibility_timeout_s: u64,
    pub fifo: bool,
}

impl Sqs {
    /// The queue `arn` names, or `None` when there is no such queue.
    pub fn queue_facts(&self, arn: &str) -> Option<QueueFacts> {
        let key = model::parse_queue_arn(arn)?;
        let st = self.live().read();
        let q = st.queues.get(&key)?;
        Some(QueueFacts {
            visibility_timeout_s: q.attrs.visibility_timeout_s,
            fifo: q.name.ends_with(".fifo"),
        })
    }

    /// Receives up to `max` (at most 10) messages of the queue `arn`, waiting up to `wait`
    /// for the first.
    pub async fn poll(&self, arn: &str, max: usize, wait: Duration) -> Result<Vec<Polled>> {
        let key = model::parse_queue_arn(arn).ok_or(SqsError::QueueDoesNotExist)?;
        let got = self
            .receive_wait(&key, max.clamp(1, 10), None, wait)
            .await?;
        Ok(got
            .into_iter()
            .map(|r| polled(&key.0, &key.1, arn, r))
            .collect())
    }

    /// Deletes received messages by receipt handle; ones already gone are fine.
    pub async fn delete_polled(&self, arn: &str, receipt_handles: &[String]) -> Result<()> {
        let key = model::parse_queue_arn(arn).ok_or(SqsError::QueueDoesNotExist)?;
        let seqs: Vec<u64> = receipt_handles
            .iter()
            .filter_map(|h| model::parse_receipt_handle(h))
            .filter(|(r, q, _, _)| *r == key.0 && *q == key.1)
            .map(|(_, _, seq, _)| seq)
            .collect();
        self.delete_seqs(&key, &seqs).await
    }

    /// Makes received messages visible again at once (ones not handed to the function).
    pub async fn return_polled(&self, arn: &str, receipt_handles: &[String]) {
        let Some(key) = model::parse_queue_arn(arn) else {
            return;
        };
        for h in receipt_handles {
            // A message deleted or redelivered meanwhile has nothing to give back.
            let _ = self.change_visibility(&key, h, Some(0)).await;
        }
    }
}

fn polled(region: &str, queue: &str, arn: &str, r: Received) -> Polled {
    let m = &r.msg;
    let receipt_handle = model::receipt_handle(region, queue, r.seq, &r.nonce);
    let mut attributes = Map::new();
    attributes.insert(
        "ApproximateReceiveCount".into(),
        json!(m.receive_count.to_string()),
    );
    attributes.insert("SentTimestamp".into(), json!(m.sent_ms.to_string()));
    attributes.insert("SenderId".into(), json!(wire::ACCOUNT_ID));
    attributes.insert(
        "ApproximateFirstReceiveTimestamp".into(),
        json!(m.first_receive_ms.unwrap_or(m.sent_ms).to_string()),
    );
    if let Some(t) = &m.trace_header {
        attributes.insert("AWSTraceHeader".into(), json!(t));
    }
    if let (Some(g), Some(d)) = (&m.group_id, &m.dedup_id) {
        attributes.insert("MessageGroupId".into(), json!(g));
        attributes.insert("MessageDeduplicationId".into(), json!(d));
        attributes.insert(
            "SequenceNumber".into(),
            json!(model::sequence_number(r.seq)),
        );
    }
    let message_attributes: Map<String, Value> = m
        .attrs
        .iter()
        .map(|(k, v)| {
            let mut a = Map::new();
            match &v.value {
                AttrData::Text(s) => {
                    a.insert("stringValue".into(), json!(s));
                }
                AttrData::Binary(b) => {
                    a.insert(
                        "binaryValue".into(),
                        json!(base64::engine::general_purpose::STANDARD.encode(b)),
                    );
                }
            }
            a.insert("stringListValues".into(), json!([]));
            a.insert("binaryListValues".into(), json!([]));
            a.insert("dataType".into(), json!(v.data_type));
            (k.clone(), Value::Object(a))
        })
        .collect();
    let mut record = Map::new();
    record.insert("messageId".into(), json!(m.id));
    record.insert("receiptHandle".into(), json!(receipt_handle));
    record.insert("body".into(), json!(m.body));
    record.insert("attributes".into(), Value::Object(attributes));
    record.insert(
        "messageAttributes".into(),
        Value::Object(message_attributes),
    );
    record.insert("md5OfBody".into(), json!(m.md5_body));
    if let Some(md5) = &m.md5_attrs {
        record.insert("md5OfMessageAttributes".into(), json!(md5));
    }
    record.insert("eventSource".into(), json!("aws:sqs"));
    record.insert("eventSourceARN".into(), json!(arn));
    record.insert("awsRegion".into(), json!(region));
    let record = Value::Object(record);
    Polled {
        message_id: m.id.clone(),
        bytes: record.to_string().len(),
        receipt_handle,
        record,
    }
}
