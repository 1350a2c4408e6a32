//! The pure core of SQS: names, queue attributes, message attributes and their MD5, and
//! the visibility and redrive decisions. No IO; time comes in as arguments.

use crate::error::{Result, SqsError};
use base64::Engine;
use md5::Md5;
use serde_json::{json, Value};
use sha2::Digest;
use std::collections::BTreeMap;

/// Longest message AWS accepts (body plus attributes), in bytes.
pub const MESSAGE_BYTES_MAX: usize = 262_144;
/// Messages in flight per standard queue (AWS's quota).
pub const INFLIGHT_MAX: usize = 120_000;
/// Queues one region holds: AWS sets no quota, a local server's memory does.
pub const QUEUES_PER_REGION_MAX: usize = 10_000;
/// Messages one queue holds, visible, delayed or in flight: AWS sets no backlog quota,
/// a local server's memory does.
pub const MESSAGES_PER_QUEUE_MAX: usize = 1_000_000;
/// Entries in one batch call.
pub const BATCH_ENTRIES_MAX: usize = 10;
/// Message attributes on one message.
pub const MESSAGE_ATTRIBUTES_MAX: usize = 10;
/// Longest long poll, in seconds.
pub const WAIT_SECONDS_MAX: u64 = 20;
/// Longest visibility timeout, in seconds (12 hours).
pub const VISIBILITY_SECONDS_MAX: u64 = 43_200;
/// How long after a purge another one is refused, in milliseconds.
pub const PURGE_COOLDOWN_MS: i64 = 60_000;

/// How long a FIFO queue remembers a deduplication id, in milliseconds.
pub const DEDUP_WINDOW_MS: i64 = 300_000;
/// How long a FIFO receive attempt id gives back the same messages, in milliseconds.
pub const ATTEMPT_WINDOW_MS: i64 = 300_000;

fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `name` is a valid queue name: `[A-Za-z0-9_-]`, 80 characters at most counting
/// the `.fifo` suffix of a FIFO queue.
pub fn valid_queue_name(name: &str) -> bool {
    name.len() <= 80 && plain_name(name.strip_suffix(".fifo").unwrap_or(name))
}

/// Whether `name` names a FIFO queue.
pub fn is_fifo_name(name: &str) -> bool {
    name.ends_with(".fifo")
}

/// Whether `id` is a valid batch entry id: `[A-Za-z0-9_-]{1,80}`.
pub fn valid_batch_id(id: &str) -> bool {
    id.len() <= 80 && plain_name(id)
}

/// Whether `id` is a valid message group or deduplication id: 1 to 128 characters,
/// letters, digits and ASCII punctuation.
pub fn valid_fifo_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The deduplication id of a FIFO message: the one given, or the SHA-256 of the body
/// when the queue deduplicates by content.
pub fn dedup_id(given: Option<&str>, body: &str, content_based: bool) -> Result<String> {
    match given {
        Some(id) if valid_fifo_id(id) => Ok(id.to_string()),
        Some(id) => Err(SqsError::InvalidParameterValue(format!(
            "Value {id} for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length."
        ))),
        None if content_based => Ok(hex::encode(sha2::Sha256::digest(body.as_bytes()))),
        None => Err(SqsError::InvalidParameterValue(
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly".into(),
        )),
    }
}

/// The sequence number SQS gives the message with send order `seq` in a FIFO queue:
/// 20 digits, growing with every send.
pub fn sequence_number(seq: u64) -> String {
    (10u128.pow(19) + seq as u128).to_string()
}

/// The queue ARN.
pub fn queue_arn(region: &str, name: &str) -> String {
    format!("arn:aws:sqs:{region}:{}:{name}", wire::ACCOUNT_ID)
}

/// (region, name) of a queue ARN.
pub fn parse_queue_arn(arn: &str) -> Option<(String, String)> {
    let p: Vec<&str> = arn.split(':').collect();
    match p.as_slice() {
        ["arn", _, "sqs", region, _, name] if !region.is_empty() && valid_queue_name(name) => {
            Some((region.to_string(), name.to_string()))
        }
        _ => None,
    }
}

/// The queue name in a queue URL (its last path segment).
pub fn queue_name_from_url(url: &str) -> Option<&str> {
    let name = url.trim_end_matches('/').rsplit('/').next()?;
    valid_queue_name(name).then_some(name)
}

/// Where a queue's messages go after `max_receive_count` receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    pub dead_letter_target_arn: String,
    pub max_receive_count: u32,
}

/// A standard queue's settable attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAttrs {
    pub visibility_timeout_s: u64,
    pub retention_s: u64,
    pub delay_s: u64,
    pub wait_s: u64,
    pub message_bytes_max: usize,
    pub redrive: Option<Redrive>,
    /// Attributes kept and echoed but without behaviour here (Policy, KMS settings).
    pub opaque: BTreeMap<String, String>,
    pub fifo: Option<Fifo>,
}

/// A FIFO queue's own attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fifo {
    pub content_based_dedup: bool,
    /// Deduplication ids are unique per message group (`messageGroup`), else per queue.
    pub dedup_per_group: bool,
    /// `perQueue` or `perMessageGroupId`: stored and shown (throughput is not limited).
    pub throughput_limit: String,
}

impl Default for Fifo {
    fn default() -> Self {
        Self {
            content_based_dedup: false,
            dedup_per_group: false,
            throughput_limit: "perQueue".into(),
        }
    }
}

impl Default for QueueAttrs {
    fn default() -> Self {
        Self {
            visibility_timeout_s: 30,
            retention_s: 345_600,
            delay_s: 0,
            wait_s: 0,
            message_bytes_max: MESSAGE_BYTES_MAX,
            redrive: None,
            opaque: BTreeMap::new(),
            fifo: None,
        }
    }
}

/// Attributes accepted and stored without behaviour.
const OPAQUE: [&str; 5] = [
    "Policy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
];

fn invalid_value(name: &str) -> SqsError {
    SqsError::InvalidAttributeValue(format!("Invalid value for the parameter {name}."))
}

fn bounded(name: &str, value: &str, min: u64, max: u64) -> Result<u64> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| invalid_value(name))
}

/// The redrive policy in its json text (`maxReceiveCount` as a number or a string).
pub fn parse_redrive(text: &str) -> Result<Option<Redrive>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let err = || {
        SqsError::InvalidAttributeValue(format!(
            "Value {text} for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map with deadLetterTargetArn and maxReceiveCount."
        ))
    };
    let v: Value = serde_json::from_str(text).map_err(|_| err())?;
    let arn = v
        .get("deadLetterTargetArn")
        .and_then(Value::as_str)
        .ok_or_else(err)?;
    if parse_queue_arn(arn).is_none() {
        return Err(SqsError::InvalidAttributeValue(format!(
            "Value {text} for parameter RedrivePolicy is invalid. Reason: Invalid value for deadLetterTargetArn."
        )));
    }
    let count = match v.get("maxReceiveCount") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .filter(|n| (1..=1000).contains(n))
    .ok_or_else(|| {
        SqsError::InvalidAttributeValue(format!(
            "Value {text} for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: must be between 1 and 1000."
        ))
    })?;
    Ok(Some(Redrive {
        dead_letter_target_arn: arn.to_string(),
        max_receive_count: count as u32,
    }))
}

impl QueueAttrs {
    /// The defaults of a new queue, FIFO or not.
    pub fn defaults(fifo: bool) -> Self {
        Self {
            fifo: fifo.then(Fifo::default),
            ..Self::default()
        }
    }

    /// `self` with `attrs` applied (CreateQueue and SetQueueAttributes). A queue is FIFO
    /// from its creation on: `FifoQueue` may only repeat what the queue is.
    pub fn with(&self, attrs: &BTreeMap<String, String>) -> Result<Self> {
        let mut a = self.clone();
        let boolean = |k: &str, v: &str| match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(invalid_value(k)),
        };
        if let Some(v) = attrs.get("FifoQueue") {
            // Standard queues know no FifoQueue attribute at all, whatever its value.
            if a.fifo.is_none() {
                return Err(SqsError::InvalidAttributeName(
                    "Unknown Attribute FifoQueue.".into(),
                ));
            }
            if !boolean("FifoQueue", v)? {
                return Err(invalid_value("FifoQueue"));
            }
        }
        for (k, v) in attrs {
            match k.as_str() {
                "VisibilityTimeout" => {
                    a.visibility_timeout_s = bounded(k, v, 0, VISIBILITY_SECONDS_MAX)?
                }
                "MessageRetentionPeriod" => a.retention_s = bounded(k, v, 60, 1_209_600)?,
                "DelaySeconds" => a.delay_s = bounded(k, v, 0, 900)?,
                "ReceiveMessageWaitTimeSeconds" => a.wait_s = bounded(k, v, 0, WAIT_SECONDS_MAX)?,
                "MaximumMessageSize" => {
                    a.message_bytes_max = bounded(k, v, 1024, MESSAGE_BYTES_MAX as u64)? as usize
                }
                "RedrivePolicy" => a.redrive = parse_redrive(v)?,
                "FifoQueue" => {}
                "ContentBasedDeduplication" | "DeduplicationScope" | "FifoThroughputLimit" => {
                    let Some(f) = a.fifo.as_mut() else {
                        return Err(SqsError::InvalidAttributeName(
                            if k == "ContentBasedDeduplication" {
                                format!("Unknown Attribute {k}.")
                            } else {
                                format!(
                                    "You can specify the {k} only when FifoQueue is set to true."
                                )
                            },
                        ));
                    };
                    match (k.as_str(), v.as_str()) {
                        ("ContentBasedDeduplication", v) => f.content_based_dedup = boolean(k, v)?,
                        ("DeduplicationScope", "messageGroup") => f.dedup_per_group = true,
                        ("DeduplicationScope", "queue") => f.dedup_per_group = false,
                        ("FifoThroughputLimit", v @ ("perQueue" | "perMessageGroupId")) => {
                            f.throughput_limit = v.to_string()
                        }
                        _ => return Err(invalid_value(k)),
                    }
                }
                // An empty value takes the attribute away (a queue without a policy).
                other if OPAQUE.contains(&other) && v.is_empty() => {
                    a.opaque.remove(other);
                }
                other if OPAQUE.contains(&other) => {
                    a.opaque.insert(other.to_string(), v.clone());
                }
                other => {
                    return Err(SqsError::InvalidAttributeName(format!(
                        "Unknown Attribute {other}."
                    )))
                }
            }
        }
        if let Some(f) = &a.fifo {
            if f.throughput_limit == "perMessageGroupId" && !f.dedup_per_group {
                return Err(SqsError::InvalidAttributeValue(
                    "Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId is allowed only when DeduplicationScope is messageGroup.".into(),
                ));
            }
        }
        Ok(a)
    }

    /// The settable attributes as AWS reports them.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert(
            "VisibilityTimeout".into(),
            self.visibility_timeout_s.to_string(),
        );
        m.insert(
            "MessageRetentionPeriod".into(),
            self.retention_s.to_string(),
        );
        m.insert("DelaySeconds".into(), self.delay_s.to_string());
        m.insert(
            "ReceiveMessageWaitTimeSeconds".into(),
            self.wait_s.to_string(),
        );
        m.insert(
            "MaximumMessageSize".into(),
            self.message_bytes_max.to_string(),
        );
        if let Some(r) = &self.redrive {
            m.insert(
                "RedrivePolicy".into(),
                json!({"deadLetterTargetArn": r.dead_letter_target_arn, "maxReceiveCount": r.max_receive_count})
                    .to_string(),
            );
        }
        m.extend(self.opaque.clone());
        if let Some(f) = &self.fifo {
            m.insert("FifoQueue".into(), "true".into());
            m.insert(
                "ContentBasedDeduplication".into(),
                f.content_based_dedup.to_string(),
            );
            m.insert(
                "DeduplicationScope".into(),
                if f.dedup_per_group {
                    "messageGroup"
                } else {
                    "queue"
                }
                .into(),
            );
            m.insert("FifoThroughputLimit".into(), f.throughput_limit.clone());
        }
        m
    }
}

/// Every attribute name GetQueueAttributes knows.
pub const QUEUE_ATTRIBUTE_NAMES: [&str; 22] = [
    "All",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "MaximumMessageSize",
    "RedrivePolicy",
    "Policy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// The MD5 SQS gives of a message's system attributes (only `AWSTraceHeader` exists),
/// computed as for message attributes.
pub fn md5_of_trace_header(trace: Option<&str>) -> Option<String> {
    let t = trace?;
    let attrs: BTreeMap<String, AttrValue> = [("AWSTraceHeader".to_string(), AttrValue::string(t))]
        .into_iter()
        .collect();
    md5_of_attributes(&attrs)
}

/// Tags one queue holds.
pub const TAGS_MAX: usize = 50;

/// Checks tags as SQS does: at most 50, keys of 1 to 128 characters, values of at most 256.
pub fn check_tags(tags: &BTreeMap<String, String>) -> Result<()> {
    if tags.len() > TAGS_MAX {
        return Err(SqsError::InvalidParameterValue(format!(
            "Too many tags added for queue: the limit is {TAGS_MAX}."
        )));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(SqsError::InvalidParameterValue(format!(
                "Tag {k} is invalid: keys are 1 to 128 characters long and values at most 256."
            )));
        }
    }
    Ok(())
}

/// One message attribute value: `String`, `Number` or `Binary`, with an optional
/// custom suffix (`Number.float`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrValue {
    pub data_type: String,
    /// The string value, or the binary value's bytes.
    pub value: AttrData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrData {
    Text(String),
    Binary(Vec<u8>),
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl AttrValue {
    pub fn string(s: &str) -> Self {
        Self {
            data_type: "String".into(),
            value: AttrData::Text(s.into()),
        }
    }

    /// The wire shape (`MessageAttributeValue`).
    pub fn to_json(&self) -> Value {
        match &self.value {
            AttrData::Text(s) => json!({"DataType": self.data_type, "StringValue": s}),
            AttrData::Binary(b) => {
                json!({"DataType": self.data_type, "BinaryValue": b64().encode(b)})
            }
        }
    }

    /// The wire shape back, as sent by a client or stored.
    pub fn from_json(name: &str, v: &Value) -> Result<Self> {
        let data_type = v.get("DataType").and_then(Value::as_str).ok_or_else(|| {
            SqsError::InvalidParameterValue(format!(
                "The message attribute '{name}' must contain non-empty message attribute type."
            ))
        })?;
        let base = data_type.split('.').next().unwrap_or("");
        let bad_value = || {
            SqsError::InvalidParameterValue(format!(
                "The message attribute '{name}' with type '{base}' must use field '{}'.",
                if base == "Binary" { "Binary" } else { "String" }
            ))
        };
        let value = match base {
            "String" | "Number" => {
                let s = v
                    .get("StringValue")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(bad_value)?;
                if base == "Number" && s.trim().parse::<f64>().is_err() {
                    return Err(SqsError::InvalidParameterValue(format!(
                        "Can't cast the value of message (user) attribute '{name}' to a number."
                    )));
                }
                AttrData::Text(s.to_string())
            }
            "Binary" => {
                let s = v
                    .get("BinaryValue")
                    .and_then(Value::as_str)
                    .ok_or_else(bad_value)?;
                AttrData::Binary(b64().decode(s).map_err(|_| bad_value())?)
            }
            _ => {
                return Err(SqsError::InvalidParameterValue(format!(
                    "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
                )))
            }
        };
        Ok(Self {
            data_type: data_type.to_string(),
            value,
        })
    }

    fn size_bytes(&self) -> usize {
        self.data_type.len()
            + match &self.value {
                AttrData::Text(s) => s.len(),
                AttrData::Binary(b) => b.len(),
            }
    }
}

/// Whether a message attribute name is valid.
pub fn valid_attribute_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (1..=256).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.")
}

/// Parses and checks a `MessageAttributes` map.
pub fn parse_message_attributes(v: Option<&Value>) -> Result<BTreeMap<String, AttrValue>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(BTreeMap::new());
    };
    let map = v
        .as_object()
        .ok_or_else(|| SqsError::Serialization("MessageAttributes must be a map.".into()))?;
    if map.len() > MESSAGE_ATTRIBUTES_MAX {
        return Err(SqsError::InvalidParameterValue(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MESSAGE_ATTRIBUTES_MAX}].",
            map.len()
        )));
    }
    let mut out = BTreeMap::new();
    for (name, value) in map {
        if !valid_attribute_name(name) {
            return Err(SqsError::InvalidParameterValue(format!(
                "Message (user) attribute name '{name}' is invalid."
            )));
        }
        out.insert(name.clone(), AttrValue::from_json(name, value)?);
    }
    Ok(out)
}

/// The MD5 of a message body, hex, as AWS reports it.
pub fn md5_hex(bytes: &[u8]) -> String {
    let digest = Md5::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5 of message attributes as AWS computes it: for each attribute in name order,
/// the length-prefixed (4 bytes, big-endian) name and data type, a transport byte (1 for
/// string values, 2 for binary) and the length-prefixed value. `None` for none.
pub fn md5_of_attributes(attrs: &BTreeMap<String, AttrValue>) -> Option<String> {
    if attrs.is_empty() {
        return None;
    }
    let mut buf = Vec::new();
    let put = |b: &[u8], buf: &mut Vec<u8>| {
        buf.extend_from_slice(&(b.len() as u32).to_be_bytes());
        buf.extend_from_slice(b);
    };
    for (name, v) in attrs {
        put(name.as_bytes(), &mut buf);
        put(v.data_type.as_bytes(), &mut buf);
        match &v.value {
            AttrData::Text(s) => {
                buf.push(1);
                put(s.as_bytes(), &mut buf);
            }
            AttrData::Binary(b) => {
                buf.push(2);
                put(b, &mut buf);
            }
        }
    }
    Some(md5_hex(&buf))
}

/// Checks a message body and its attributes against the queue's size limit and the
/// characters SQS allows.
pub fn check_message(
    body: &str,
    attrs: &BTreeMap<String, AttrValue>,
    bytes_max: usize,
) -> Result<()> {
    if body.is_empty() {
        return Err(SqsError::MissingParameter(
            "The request must contain the parameter MessageBody.".into(),
        ));
    }
    let allowed = |c: char| matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}');
    if !body.chars().all(allowed) {
        return Err(SqsError::InvalidMessageContents(
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF".into(),
        ));
    }
    let size = body.len()
        + attrs
            .iter()
            .map(|(k, v)| k.len() + v.size_bytes())
            .sum::<usize>();
    if size > bytes_max {
        return Err(SqsError::InvalidParameterValue(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {bytes_max} bytes."
        )));
    }
    Ok(())
}

/// A message's place in the visibility life cycle at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Still inside its delivery delay, never received.
    Delayed,
    /// Can be received.
    Visible,
    /// Received and inside its visibility timeout.
    InFlight,
}

/// Where a message is at `now_ms`.
pub fn visibility(visible_at_ms: i64, receive_count: u32, now_ms: i64) -> Visibility {
    if visible_at_ms <= now_ms {
        Visibility::Visible
    } else if receive_count == 0 {
        Visibility::Delayed
    } else {
        Visibility::InFlight
    }
}

/// What a receive does with a visible message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveStep {
    /// Hand it out; it becomes visible again at `visible_at_ms`.
    Deliver { visible_at_ms: i64 },
    /// It was received `maxReceiveCount` times already: move it to the dead-letter queue.
    DeadLetter,
    /// Older than the retention period: drop it.
    Expire,
}

/// The receive decision for one visible message.
pub fn on_receive(
    receive_count: u32,
    sent_ms: i64,
    retention_s: u64,
    max_receive_count: Option<u32>,
    visibility_timeout_s: u64,
    now_ms: i64,
) -> ReceiveStep {
    if now_ms - sent_ms >= (retention_s as i64).saturating_mul(1000) {
        return ReceiveStep::Expire;
    }
    if max_receive_count.is_some_and(|max| receive_count >= max) {
        return ReceiveStep::DeadLetter;
    }
    ReceiveStep::Deliver {
        visible_at_ms: now_ms + (visibility_timeout_s as i64) * 1000,
    }
}

/// Whether `name` is selected by MessageAttributeNames (`All`, `.*`, `prefix.*`, names).
pub fn attribute_selected(name: &str, wanted: &[String]) -> bool {
    wanted.iter().any(|w| {
        w == "All"
            || w == ".*"
            || w == name
            || w.strip_suffix(".*")
                .is_some_and(|p| name.starts_with(p) && name[p.len()..].starts_with('.'))
    })
}

/// The receipt handle of one receive of a message.
pub fn receipt_handle(region: &str, queue: &str, seq: u64, nonce: &str) -> String {
    b64().encode(format!("{region}:{queue}:{seq}:{nonce}"))
}

/// (region, queue, seq, nonce) of a receipt handle.
pub fn parse_receipt_handle(handle: &str) -> Option<(String, String, u64, String)> {
    let text = String::from_utf8(b64().decode(handle).ok()?).ok()?;
    let mut p = text.splitn(4, ':');
    let region = p.next()?.to_string();
    let queue = p.next()?.to_string();
    let seq = p.next()?.parse().ok()?;
    let nonce = p.next()?.to_string();
    Some((region, queue, seq, nonce))
}
