//! The SQS operations: one method per operation, dispatched on `X-Amz-Target`.

use crate::error::{Result, SqsError};
use crate::model::{self, ReceiveStep, Visibility};
use crate::{
    message_delete, message_put, queue_put, visibility_put, Message, Outgoing, Queue, Sqs, QUEUE,
};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use store::ResourceWrite;
use wire::ApiRequest;

/// Longest single sleep of a long poll before it looks at the queue again.
const POLL_SLICE_MS: i64 = 1_000;

pub(crate) fn opt_str<'a>(body: &'a Value, key: &str) -> Result<Option<&'a str>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SqsError::Serialization(format!("{key} must be a string."))),
    }
}

pub(crate) fn req_str<'a>(body: &'a Value, key: &str) -> Result<&'a str> {
    opt_str(body, key)?.ok_or_else(|| {
        SqsError::MissingParameter(format!("The request must contain the parameter {key}."))
    })
}

pub(crate) fn opt_i64(body: &Value, key: &str) -> Result<Option<i64>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| SqsError::Serialization(format!("{key} must be a whole number."))),
    }
}

/// An optional number within `min..=max`, as AWS words the failure.
pub(crate) fn bounded(body: &Value, key: &str, min: i64, max: i64) -> Result<Option<u64>> {
    match opt_i64(body, key)? {
        None => Ok(None),
        Some(v) if (min..=max).contains(&v) => Ok(Some(v as u64)),
        Some(v) => Err(SqsError::InvalidParameterValue(format!(
            "Value {v} for parameter {key} is invalid. Reason: Must be between {min} and {max}, if provided."
        ))),
    }
}

pub(crate) fn str_list(body: &Value, key: &str) -> Result<Vec<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| SqsError::Serialization(format!("{key} must be a list of strings."))),
        Some(_) => Err(SqsError::Serialization(format!(
            "{key} must be a list of strings."
        ))),
    }
}

pub(crate) fn str_map(body: &Value, key: &str) -> Result<BTreeMap<String, String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect::<Option<_>>()
            .ok_or_else(|| SqsError::Serialization(format!("{key} must map strings to strings."))),
        Some(_) => Err(SqsError::Serialization(format!("{key} must be a map."))),
    }
}

fn invalid_receipt(handle: &str) -> SqsError {
    SqsError::ReceiptHandleIsInvalid(format!(
        "The input receipt handle \"{handle}\" is not a valid receipt handle."
    ))
}

/// A batch's entries, checked for count, id format and distinct ids.
fn batch_entries<'a>(body: &'a Value, entry_shape: &str) -> Result<Vec<(&'a str, &'a Value)>> {
    let entries = match body.get("Entries") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(_) => return Err(SqsError::Serialization("Entries must be a list.".into())),
    };
    if entries.is_empty() {
        return Err(SqsError::EmptyBatchRequest(format!(
            "There should be at least one {entry_shape} in the request."
        )));
    }
    if entries.len() > model::BATCH_ENTRIES_MAX {
        return Err(SqsError::TooManyEntriesInBatchRequest(format!(
            "Maximum number of entries per request are {}. You have sent {}.",
            model::BATCH_ENTRIES_MAX,
            entries.len()
        )));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for e in entries {
        let id = req_str(e, "Id")?;
        if !model::valid_batch_id(id) {
            return Err(SqsError::InvalidBatchEntryId(
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.".into(),
            ));
        }
        if !seen.insert(id) {
            return Err(SqsError::BatchEntryIdsNotDistinct(format!(
                "Id {id} repeated."
            )));
        }
        out.push((id, e));
    }
    Ok(out)
}

/// Whether a batch entry's error fails the whole SendMessageBatch: a FIFO entry without
/// its message group or deduplication id.
fn fails_whole_batch(e: &SqsError) -> bool {
    match e {
        SqsError::MissingParameter(m) => m.contains("MessageGroupId"),
        SqsError::InvalidParameterValue(m) => m.contains("ContentBasedDeduplication"),
        _ => false,
    }
}

fn failed_entry(id: &str, e: &SqsError) -> Value {
    let (status, _, code) = e.status_and_codes();
    json!({"Id": id, "SenderFault": !status.is_server_error(), "Code": code, "Message": e.to_string()})
}

fn batch_result(ok: Vec<Value>, failed: Vec<Value>) -> Value {
    json!({"Successful": ok, "Failed": failed})
}

/// A received message, copied out of the state.
pub(crate) struct Received {
    pub(crate) seq: u64,
    pub(crate) msg: Message,
    pub(crate) nonce: String,
}

impl Sqs {
    pub(crate) fn queue_url(&self, req: &ApiRequest, name: &str) -> String {
        let base = match &self.inner.cfg.public_base {
            Some(b) => b.trim_end_matches('/').to_string(),
            None => format!("http://{}", req.header("host").unwrap_or("localhost:4566")),
        };
        format!("{base}/{}/{name}", wire::ACCOUNT_ID)
    }

    /// The (region, name) of the queue a request's `QueueUrl` names; it must exist.
    pub(crate) fn queue_key(&self, region: &str, body: &Value) -> Result<(String, String)> {
        let url = req_str(body, "QueueUrl")?;
        let name = model::queue_name_from_url(url).ok_or(SqsError::QueueDoesNotExist)?;
        let key = (region.to_string(), name.to_string());
        if !self.live().read().queues.contains_key(&key) {
            return Err(SqsError::QueueDoesNotExist);
        }
        Ok(key)
    }

    /// Checks that a redrive policy's dead-letter queue exists.
    fn check_redrive(&self, attrs: &model::QueueAttrs) -> Result<()> {
        if let Some(r) = &attrs.redrive {
            let dlq_fifo = model::parse_queue_arn(&r.dead_letter_target_arn)
                .is_some_and(|(_, n)| model::is_fifo_name(&n));
            if dlq_fifo != attrs.fifo.is_some() {
                return Err(SqsError::InvalidParameterValue(format!(
                    "Value {{\"deadLetterTargetArn\":\"{}\",\"maxReceiveCount\":{}}} for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source..",
                    r.dead_letter_target_arn, r.max_receive_count
                )));
            }
            let exists = model::parse_queue_arn(&r.dead_letter_target_arn)
                .is_some_and(|k| self.live().read().queues.contains_key(&k));
            if !exists {
                return Err(SqsError::InvalidParameterValue(format!(
                    "Value {{\"deadLetterTargetArn\":\"{}\",\"maxReceiveCount\":{}}} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.",
                    r.dead_letter_target_arn, r.max_receive_count
                )));
            }
        }
        Ok(())
    }

    async fn create_queue(&self, req: &ApiRequest, body: &Value) -> Result<Value> {
        let region = req.region.as_str();
        let name = req_str(body, "QueueName")?;
        let requested = str_map(body, "Attributes")?;
        let fifo = requested
            .get("FifoQueue")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !model::valid_queue_name(name) || fifo != model::is_fifo_name(name) {
            return Err(SqsError::InvalidParameterValue(
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length. FIFO queue names must end in .fifo and need the FifoQueue attribute.".into(),
            ));
        }
        let attrs = model::QueueAttrs::defaults(fifo).with(&requested)?;
        let tags = str_map(body, "tags")?;
        model::check_tags(&tags)?;
        self.check_redrive(&attrs)?;
        let key = (region.to_string(), name.to_string());
        let _w = self.live().lock().await;
        if let Some(q) = self.live().read().queues.get(&key) {
            let same = q.attrs.with(&requested)? == q.attrs;
            return if same {
                Ok(json!({"QueueUrl": self.queue_url(req, name)}))
            } else {
                Err(SqsError::QueueNameExists(format!(
                    "A queue already exists with the same name and a different value for attribute(s) {}",
                    requested.keys().cloned().collect::<Vec<_>>().join(", ")
                )))
            };
        }
        let in_region = self
            .live()
            .read()
            .queues
            .range((region.to_string(), String::new())..)
            .take_while(|((r, _), _)| r == region)
            .count();
        if in_region >= model::QUEUES_PER_REGION_MAX {
            return Err(SqsError::OverLimit(format!(
                "Too many queues in this region: the limit is {}.",
                model::QUEUES_PER_REGION_MAX
            )));
        }
        let now = self.now_ms();
        let q = Queue {
            name: name.to_string(),
            attrs,
            created_ms: now,
            modified_ms: now,
            messages: BTreeMap::new(),
            next_seq: 1,
            last_purge_ms: None,
            tags,
            dedup: Default::default(),
            attempts: Default::default(),
        };
        self.live()
            .commit(vec![queue_put(region, &q)], vec![], now)
            .await?;
        self.live().write().queues.insert(key, q);
        Ok(json!({"QueueUrl": self.queue_url(req, name)}))
    }

    fn get_queue_url(&self, req: &ApiRequest, body: &Value) -> Result<Value> {
        let name = req_str(body, "QueueName")?;
        let key = (req.region.clone(), name.to_string());
        if !self.live().read().queues.contains_key(&key) {
            return Err(SqsError::QueueDoesNotExist);
        }
        Ok(json!({"QueueUrl": self.queue_url(req, name)}))
    }

    fn list_queues(&self, req: &ApiRequest, body: &Value) -> Result<Value> {
        let prefix = opt_str(body, "QueueNamePrefix")?.unwrap_or("");
        let max = bounded(body, "MaxResults", 1, 1000)?;
        let after = opt_str(body, "NextToken")?;
        let st = self.live().read();
        let mut names: Vec<&str> = st
            .queues
            .iter()
            .filter(|((r, n), _)| r == &req.region && n.starts_with(prefix))
            .filter(|((_, n), _)| after.is_none_or(|a| n.as_str() > a))
            .map(|((_, n), _)| n.as_str())
            .collect();
        let limit = max.unwrap_or(1000) as usize;
        let more = names.len() > limit;
        names.truncate(limit);
        let mut out = Map::new();
        if !names.is_empty() {
            out.insert(
                "QueueUrls".into(),
                json!(names
                    .iter()
                    .map(|n| self.queue_url(req, n))
                    .collect::<Vec<_>>()),
            );
        }
        if more && max.is_some() {
            if let Some(last) = names.last() {
                out.insert("NextToken".into(), json!(last));
            }
        }
        Ok(Value::Object(out))
    }

    fn get_queue_attributes(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let names = str_list(body, "AttributeNames")?;
        for n in &names {
            if !model::QUEUE_ATTRIBUTE_NAMES.contains(&n.as_str()) {
                return Err(SqsError::InvalidAttributeName(format!(
                    "Unknown Attribute {n}."
                )));
            }
        }
        let all = names.iter().any(|n| n == "All");
        let now = self.now_ms();
        let st = self.live().read();
        let q = st.queues.get(&key).ok_or(SqsError::QueueDoesNotExist)?;
        let mut m = q.attrs.to_map();
        m.insert(
            "ApproximateNumberOfMessages".into(),
            q.count(now, Visibility::Visible).to_string(),
        );
        m.insert(
            "ApproximateNumberOfMessagesNotVisible".into(),
            q.count(now, Visibility::InFlight).to_string(),
        );
        m.insert(
            "ApproximateNumberOfMessagesDelayed".into(),
            q.count(now, Visibility::Delayed).to_string(),
        );
        m.insert("CreatedTimestamp".into(), (q.created_ms / 1000).to_string());
        m.insert(
            "LastModifiedTimestamp".into(),
            (q.modified_ms / 1000).to_string(),
        );
        m.insert("QueueArn".into(), model::queue_arn(region, &q.name));
        m.retain(|k, _| all || names.contains(k));
        if m.is_empty() {
            return Ok(json!({}));
        }
        Ok(json!({"Attributes": m}))
    }

    async fn set_queue_attributes(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let requested = str_map(body, "Attributes")?;
        let now = self.now_ms();
        self.update_queue(&key, |q| {
            q.attrs = q.attrs.with(&requested)?;
            self.check_redrive(&q.attrs)?;
            q.modified_ms = now;
            Ok(())
        })
        .await?;
        Ok(json!({}))
    }

    async fn delete_queue(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let _w = self.live().lock().await;
        let writes = {
            let st = self.live().read();
            let q = st.queues.get(&key).ok_or(SqsError::QueueDoesNotExist)?;
            let mut w = vec![ResourceWrite::delete(QUEUE, key.0.as_str(), key.1.as_str())];
            w.extend(
                q.messages
                    .keys()
                    .flat_map(|&s| message_delete(&key.0, &key.1, s)),
            );
            w
        };
        self.live().commit(writes, vec![], self.now_ms()).await?;
        self.live().write().queues.remove(&key);
        Ok(json!({}))
    }

    async fn purge_queue(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let _w = self.live().lock().await;
        let now = self.now_ms();
        let writes = {
            let st = self.live().read();
            let q = st.queues.get(&key).ok_or(SqsError::QueueDoesNotExist)?;
            if q.last_purge_ms
                .is_some_and(|t| now - t < model::PURGE_COOLDOWN_MS)
            {
                return Err(SqsError::PurgeQueueInProgress(format!(
                    "Only one PurgeQueue operation on {} is allowed every 60 seconds.",
                    q.name
                )));
            }
            q.messages
                .keys()
                .flat_map(|&s| message_delete(&key.0, &key.1, s))
                .collect()
        };
        self.live().commit(writes, vec![], now).await?;
        if let Some(q) = self.live().write().queues.get_mut(&key) {
            q.messages.clear();
            q.dedup.clear();
            q.attempts.clear();
            q.last_purge_ms = Some(now);
        }
        Ok(json!({}))
    }

    /// A SendMessage request (or batch entry) checked against the queue.
    fn outgoing(&self, key: &(String, String), e: &Value) -> Result<Outgoing> {
        let body = req_str(e, "MessageBody")?.to_string();
        let attrs = model::parse_message_attributes(e.get("MessageAttributes"))?;
        let delay_s = bounded(e, "DelaySeconds", 0, 900)?;
        let (bytes_max, fifo) = {
            let st = self.live().read();
            let q = st.queues.get(key).ok_or(SqsError::QueueDoesNotExist)?;
            (q.attrs.message_bytes_max, q.attrs.fifo.clone())
        };
        model::check_message(&body, &attrs, bytes_max)?;
        let group = opt_str(e, "MessageGroupId")?;
        let dedup = opt_str(e, "MessageDeduplicationId")?;
        let not_for_this_type = |p: &str, v: &str| {
            SqsError::InvalidParameterValue(format!(
                "Value {v} for parameter {p} is invalid. Reason: The request include parameter that is not valid for this queue type."
            ))
        };
        let fifo = match fifo {
            None => {
                if let Some(d) = dedup {
                    return Err(not_for_this_type("MessageDeduplicationId", d));
                }
                // Standard queues take a group id (fair queues) and otherwise ignore it.
                if let Some(g) = group.filter(|g| !model::valid_fifo_id(g)) {
                    return Err(SqsError::InvalidParameterValue(format!(
                        "Value {g} for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length."
                    )));
                }
                None
            }
            Some(f) => {
                if let Some(d) = delay_s.filter(|d| *d > 0) {
                    return Err(not_for_this_type("DelaySeconds", &d.to_string()));
                }
                let group = group.ok_or_else(|| {
                    SqsError::MissingParameter(
                        "The request must contain the parameter MessageGroupId.".into(),
                    )
                })?;
                if !model::valid_fifo_id(group) {
                    return Err(SqsError::InvalidParameterValue(format!(
                        "Value {group} for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length."
                    )));
                }
                let dedup = model::dedup_id(dedup, &body, f.content_based_dedup)?;
                Some((group.to_string(), dedup))
            }
        };
        let trace_header = match e.get("MessageSystemAttributes") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => {
                if let Some(other) = m.keys().find(|k| *k != "AWSTraceHeader") {
                    return Err(SqsError::InvalidParameterValue(format!(
                        "Message system attribute name '{other}' is invalid."
                    )));
                }
                match m.get("AWSTraceHeader") {
                    None => None,
                    Some(v) => match (v["DataType"].as_str(), v["StringValue"].as_str()) {
                        (Some("String"), Some(t)) if !t.is_empty() => Some(t.to_string()),
                        _ => return Err(SqsError::InvalidParameterValue(
                            "Message system attribute AWSTraceHeader must be a non-empty String."
                                .into(),
                        )),
                    },
                }
            }
            Some(_) => {
                return Err(SqsError::Serialization(
                    "MessageSystemAttributes must be a map.".into(),
                ))
            }
        };
        Ok(Outgoing {
            body,
            attrs,
            delay_s,
            fifo,
            trace_header,
        })
    }

    fn sent_json(s: &crate::Sent, id: Option<&str>) -> Value {
        let mut m = Map::new();
        if let Some(id) = id {
            m.insert("Id".into(), json!(id));
        }
        m.insert("MessageId".into(), json!(s.id));
        m.insert("MD5OfMessageBody".into(), json!(s.md5_body));
        if let Some(a) = &s.md5_attrs {
            m.insert("MD5OfMessageAttributes".into(), json!(a));
        }
        if let Some(n) = &s.sequence {
            m.insert("SequenceNumber".into(), json!(n));
        }
        if let Some(md5) = &s.md5_system {
            m.insert("MD5OfMessageSystemAttributes".into(), json!(md5));
        }
        Value::Object(m)
    }

    async fn send_message(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let out = self.outgoing(&key, body)?;
        let sent = self.send_messages(&key.0, &key.1, vec![out]).await?;
        let s = sent
            .first()
            .ok_or_else(|| SqsError::Internal("nothing was sent".into()))?;
        Ok(Self::sent_json(s, None))
    }

    async fn send_message_batch(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let entries = batch_entries(body, "SendMessageBatchRequestEntry")?;
        let total: usize = entries
            .iter()
            .map(|(_, e)| {
                e.get("MessageBody")
                    .and_then(Value::as_str)
                    .map_or(0, str::len)
            })
            .sum();
        if total > model::MESSAGE_BYTES_MAX {
            return Err(SqsError::BatchRequestTooLong(format!(
                "Batch requests cannot be longer than {} bytes. You have sent {total} bytes.",
                model::MESSAGE_BYTES_MAX
            )));
        }
        let mut ok_ids = Vec::new();
        let mut outs = Vec::new();
        let mut failed = Vec::new();
        for (id, e) in entries {
            match self.outgoing(&key, e) {
                Ok(o) => {
                    ok_ids.push(id);
                    outs.push(o);
                }
                // A FIFO entry without its group or deduplication id fails the whole call,
                // as on AWS; other entry errors fail only the entry.
                Err(err) if fails_whole_batch(&err) => return Err(err),
                Err(err) => failed.push(failed_entry(id, &err)),
            }
        }
        let sent = if outs.is_empty() {
            Vec::new()
        } else {
            self.send_messages(&key.0, &key.1, outs).await?
        };
        let ok = ok_ids
            .iter()
            .zip(&sent)
            .map(|(id, s)| Self::sent_json(s, Some(id)))
            .collect();
        Ok(batch_result(ok, failed))
    }

    /// One pass of a receive: hands out up to `max` visible messages, moves those past
    /// `maxReceiveCount` to the dead-letter queue and drops expired ones.
    async fn receive_once(
        &self,
        key: &(String, String),
        max: usize,
        visibility_s: Option<u64>,
    ) -> Result<Vec<Received>> {
        let _w = self.live().lock().await;
        let now = self.now_ms();
        let mut deliver = Vec::new();
        let mut dead = Vec::new();
        let mut expired = Vec::new();
        let dlq_key;
        {
            let st = self.live().read();
            let q = st.queues.get(key).ok_or(SqsError::QueueDoesNotExist)?;
            dlq_key = q
                .attrs
                .redrive
                .as_ref()
                .and_then(|r| model::parse_queue_arn(&r.dead_letter_target_arn))
                .filter(|k| k != key && st.queues.contains_key(k));
            let max_receive = q
                .attrs
                .redrive
                .as_ref()
                .filter(|_| dlq_key.is_some())
                .map(|r| r.max_receive_count);
            let vt = visibility_s.unwrap_or(q.attrs.visibility_timeout_s);
            if q.count(now, Visibility::InFlight) >= model::INFLIGHT_MAX {
                return Err(SqsError::OverLimit(format!(
                    "Too many messages in flight: the limit is {}.",
                    model::INFLIGHT_MAX
                )));
            }
            // FIFO: a group with a message in flight gives nothing until that message is
            // deleted or visible again, and a group stops at its first message that cannot
            // be received now, so each group is received in order.
            let fifo = q.attrs.fifo.is_some();
            let mut blocked: HashSet<&str> = if fifo {
                q.messages
                    .values()
                    .filter(|m| m.receive_count > 0 && m.visible_at_ms > now)
                    .filter_map(|m| m.group_id.as_deref())
                    .collect()
            } else {
                HashSet::new()
            };
            // The messages a receive may look at, in the order it takes them: FIFO
            // queues give as many of one group as they can before the next group's.
            let order: Box<dyn Iterator<Item = (u64, &Message)>> = if fifo {
                let mut groups: Vec<(&str, Vec<(u64, &Message)>)> = Vec::new();
                for (&seq, m) in &q.messages {
                    let g = m.group_id.as_deref().unwrap_or_default();
                    if blocked.contains(g) {
                        continue;
                    }
                    if m.visible_at_ms > now {
                        blocked.insert(g);
                        continue;
                    }
                    match groups.iter_mut().find(|(name, _)| *name == g) {
                        Some((_, list)) => list.push((seq, m)),
                        None => groups.push((g, vec![(seq, m)])),
                    }
                }
                Box::new(groups.into_iter().flat_map(|(_, list)| list))
            } else {
                Box::new(
                    q.messages
                        .iter()
                        .filter(|(_, m)| m.visible_at_ms <= now)
                        .map(|(&seq, m)| (seq, m)),
                )
            };
            for (seq, m) in order {
                if deliver.len() >= max {
                    break;
                }
                match model::on_receive(
                    m.receive_count,
                    m.sent_ms,
                    q.attrs.retention_s,
                    max_receive,
                    vt,
                    now,
                ) {
                    ReceiveStep::Deliver { visible_at_ms } => deliver.push((seq, visible_at_ms)),
                    ReceiveStep::DeadLetter => dead.push((seq, m.clone())),
                    ReceiveStep::Expire => expired.push(seq),
                }
            }
        }
        if !dead.is_empty() || !expired.is_empty() {
            let mut writes: Vec<ResourceWrite> = expired
                .iter()
                .chain(dead.iter().map(|(s, _)| s))
                .flat_map(|&s| message_delete(&key.0, &key.1, s))
                .collect();
            let mut moved = Vec::new();
            if let Some(dk) = &dlq_key {
                let next = self.live().read().queues.get(dk).map_or(1, |q| q.next_seq);
                for (i, (_, m)) in dead.iter().enumerate() {
                    let mut m = m.clone();
                    m.receive_count = 0;
                    m.first_receive_ms = None;
                    m.receipt = None;
                    m.visible_at_ms = now;
                    m.origin = Some(model::queue_arn(&key.0, &key.1));
                    let seq = next + i as u64;
                    writes.push(message_put(&dk.0, &dk.1, seq, &m));
                    moved.push((seq, m));
                }
            }
            self.live().commit(writes, vec![], now).await?;
            let mut st = self.live().write();
            if let Some(q) = st.queues.get_mut(key) {
                for s in expired.iter().chain(dead.iter().map(|(s, _)| s)) {
                    q.messages.remove(s);
                }
            }
            if let Some(dq) = dlq_key.as_ref().and_then(|dk| st.queues.get_mut(dk)) {
                if let Some((last, _)) = moved.last() {
                    dq.next_seq = last + 1;
                }
                dq.messages.extend(moved);
            }
        }
        let mut out = Vec::new();
        {
            let st = self.live().read();
            if let Some(q) = st.queues.get(key) {
                for (seq, visible_at_ms) in deliver {
                    if let Some(m) = q.messages.get(&seq) {
                        let nonce = wire::id::uuid4();
                        let mut m = m.clone();
                        m.receive_count += 1;
                        m.first_receive_ms.get_or_insert(now);
                        m.visible_at_ms = visible_at_ms;
                        m.receipt = Some(nonce.clone());
                        out.push(Received { seq, msg: m, nonce });
                    }
                }
            }
        }
        // Receipt handles stay valid across a restart for as long as their visibility lasts.
        let writes = out
            .iter()
            .map(|r| visibility_put(&key.0, &key.1, r.seq, &r.msg))
            .collect();
        self.live().commit_unsynced(writes, now).await?;
        let mut st = self.live().write();
        if let Some(q) = st.queues.get_mut(key) {
            for r in &out {
                if let Some(m) = q.messages.get_mut(&r.seq) {
                    m.receive_count = r.msg.receive_count;
                    m.first_receive_ms = r.msg.first_receive_ms;
                    m.visible_at_ms = r.msg.visible_at_ms;
                    m.receipt = r.msg.receipt.clone();
                }
            }
        }
        Ok(out)
    }

    /// How long a long poll may sleep before something in the queue can change by itself.
    fn next_due_ms(&self, key: &(String, String), now: i64) -> Option<i64> {
        let st = self.live().read();
        st.queues
            .get(key)?
            .messages
            .values()
            .map(|m| m.visible_at_ms)
            .filter(|&t| t > now)
            .min()
    }

    /// Receives up to `max` messages, waiting up to `wait` for the first to be visible.
    pub(crate) async fn receive_wait(
        &self,
        key: &(String, String),
        max: usize,
        visibility_s: Option<u64>,
        wait: Duration,
    ) -> Result<Vec<Received>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.inner.sent.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let got = self.receive_once(key, max, visibility_s).await?;
            let now = tokio::time::Instant::now();
            if !got.is_empty() || now >= deadline {
                return Ok(got);
            }
            let mut sleep_ms = (deadline - now).as_millis() as i64;
            let clock_now = self.now_ms();
            if let Some(due) = self.next_due_ms(key, clock_now) {
                sleep_ms = sleep_ms.min(due - clock_now);
            }
            let sleep_ms = sleep_ms.clamp(1, POLL_SLICE_MS) as u64;
            let _ = tokio::time::timeout(Duration::from_millis(sleep_ms), notified).await;
        }
    }

    async fn receive_message(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let max = bounded(body, "MaxNumberOfMessages", 1, 10)?.unwrap_or(1) as usize;
        let vt = bounded(
            body,
            "VisibilityTimeout",
            0,
            model::VISIBILITY_SECONDS_MAX as i64,
        )?;
        let wait_s = match bounded(body, "WaitTimeSeconds", 0, model::WAIT_SECONDS_MAX as i64)? {
            Some(w) => w,
            None => self
                .live()
                .read()
                .queues
                .get(&key)
                .map_or(0, |q| q.attrs.wait_s),
        };
        let mut sys = str_list(body, "AttributeNames")?;
        sys.extend(str_list(body, "MessageSystemAttributeNames")?);
        let user = str_list(body, "MessageAttributeNames")?;
        let fifo = self
            .live()
            .read()
            .queues
            .get(&key)
            .is_some_and(|q| q.attrs.fifo.is_some());
        let attempt = opt_str(body, "ReceiveRequestAttemptId")?.filter(|_| fifo);
        if let Some(id) = attempt {
            if !model::valid_fifo_id(id) {
                return Err(SqsError::InvalidParameterValue(format!(
                    "Value {id} for parameter ReceiveRequestAttemptId is invalid. Reason: ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to 128 in length."
                )));
            }
        }
        let again = match attempt {
            Some(id) => self.attempt_again(&key, id),
            None => None,
        };
        let got = match again {
            Some(got) => got,
            None => {
                let got = self
                    .receive_wait(&key, max, vt, Duration::from_secs(wait_s))
                    .await?;
                if let Some(id) = attempt {
                    self.remember_attempt(&key, id, &got).await;
                }
                got
            }
        };
        if got.is_empty() {
            return Ok(json!({}));
        }
        let messages: Vec<Value> = got
            .into_iter()
            .map(|r| received_json(region, &key.1, r, &sys, &user))
            .collect();
        Ok(json!({"Messages": messages}))
    }

    /// The messages an earlier receive with the same attempt id handed out, when every
    /// one of them is still in flight under that receive's handle.
    fn attempt_again(&self, key: &(String, String), id: &str) -> Option<Vec<Received>> {
        let now = self.now_ms();
        let st = self.live().read();
        let q = st.queues.get(key)?;
        q.attempts
            .get(&id.to_string(), now)?
            .iter()
            .map(|(seq, nonce)| {
                let m = q.messages.get(seq)?;
                (m.receipt.as_deref() == Some(nonce.as_str()) && m.visible_at_ms > now).then(|| {
                    Received {
                        seq: *seq,
                        msg: m.clone(),
                        nonce: nonce.clone(),
                    }
                })
            })
            .collect()
    }

    async fn remember_attempt(&self, key: &(String, String), id: &str, got: &[Received]) {
        let _w = self.live().lock().await;
        let now = self.now_ms();
        let mut st = self.live().write();
        if let Some(q) = st.queues.get_mut(key) {
            q.attempts.forget_expired(now);
            let handed = got.iter().map(|r| (r.seq, r.nonce.clone())).collect();
            q.attempts
                .insert(id.to_string(), handed, now + model::ATTEMPT_WINDOW_MS);
        }
    }

    /// (seq) of the message a receipt handle names in this queue.
    fn receipt_seq(key: &(String, String), handle: &str) -> Result<(u64, String)> {
        match model::parse_receipt_handle(handle) {
            Some((r, q, seq, nonce)) if r == key.0 && q == key.1 => Ok((seq, nonce)),
            _ => Err(invalid_receipt(handle)),
        }
    }

    /// Deletes the messages named by receipt handles; a message already gone is fine.
    pub(crate) async fn delete_seqs(&self, key: &(String, String), seqs: &[u64]) -> Result<()> {
        let _w = self.live().lock().await;
        let present: Vec<u64> = {
            let st = self.live().read();
            let q = st.queues.get(key).ok_or(SqsError::QueueDoesNotExist)?;
            seqs.iter()
                .copied()
                .filter(|s| q.messages.contains_key(s))
                .collect()
        };
        let writes = present
            .iter()
            .flat_map(|&s| message_delete(&key.0, &key.1, s))
            .collect();
        self.live().commit(writes, vec![], self.now_ms()).await?;
        if let Some(q) = self.live().write().queues.get_mut(key) {
            for s in &present {
                q.messages.remove(s);
            }
        }
        Ok(())
    }

    async fn delete_message(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let seq = self.deletable(&key, req_str(body, "ReceiptHandle")?)?;
        self.delete_seqs(&key, &[seq]).await?;
        Ok(json!({}))
    }

    /// The message a delete's receipt handle names. In a FIFO queue the handle must be
    /// the message's latest and its visibility timeout not over: after that another
    /// consumer may hold the message, and SQS refuses the old handle.
    fn deletable(&self, key: &(String, String), handle: &str) -> Result<u64> {
        let (seq, nonce) = Self::receipt_seq(key, handle)?;
        let now = self.now_ms();
        let st = self.live().read();
        let Some(q) = st.queues.get(key).filter(|q| q.attrs.fifo.is_some()) else {
            return Ok(seq);
        };
        match q.messages.get(&seq) {
            Some(m)
                if m.receipt.as_deref() != Some(nonce.as_str()) || m.visible_at_ms <= now =>
            {
                Err(SqsError::InvalidParameterValue(format!(
                    "Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
                )))
            }
            _ => Ok(seq),
        }
    }

    async fn delete_message_batch(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let entries = batch_entries(body, "DeleteMessageBatchRequestEntry")?;
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        let mut seqs = Vec::new();
        for (id, e) in entries {
            match req_str(e, "ReceiptHandle").and_then(|h| self.deletable(&key, h)) {
                Ok(seq) => {
                    seqs.push(seq);
                    ok.push(json!({"Id": id}));
                }
                Err(err) => failed.push(failed_entry(id, &err)),
            }
        }
        self.delete_seqs(&key, &seqs).await?;
        Ok(batch_result(ok, failed))
    }

    /// Moves one in-flight message's visibility deadline (memory only).
    pub(crate) async fn change_visibility(
        &self,
        key: &(String, String),
        handle: &str,
        timeout_s: Option<i64>,
    ) -> Result<()> {
        let (seq, _) = Self::receipt_seq(key, handle)?;
        let timeout_s = match timeout_s {
            Some(t) if (0..=model::VISIBILITY_SECONDS_MAX as i64).contains(&t) => t,
            Some(t) => {
                return Err(SqsError::InvalidParameterValue(format!(
                    "Value {t} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200."
                )))
            }
            None => {
                return Err(SqsError::MissingParameter(
                    "The request must contain the parameter VisibilityTimeout.".into(),
                ))
            }
        };
        let _w = self.live().lock().await;
        let now = self.now_ms();
        let changed = {
            let st = self.live().read();
            let q = st.queues.get(key).ok_or(SqsError::QueueDoesNotExist)?;
            match q.messages.get(&seq) {
                    Some(m)
                        if model::visibility(m.visible_at_ms, m.receive_count, now)
                            == Visibility::InFlight =>
                    {
                        let mut m = m.clone();
                        m.visible_at_ms = now + timeout_s * 1000;
                        m
                    }
                    _ => {
                        return Err(SqsError::InvalidParameterValue(format!(
                            "Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."
                        )))
                    }
                }
        };
        self.live()
            .commit_unsynced(vec![visibility_put(&key.0, &key.1, seq, &changed)], now)
            .await?;
        if let Some(m) = self
            .live()
            .write()
            .queues
            .get_mut(key)
            .and_then(|q| q.messages.get_mut(&seq))
        {
            m.visible_at_ms = changed.visible_at_ms;
        }
        Ok(())
    }

    async fn change_message_visibility(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let handle = req_str(body, "ReceiptHandle")?;
        self.change_visibility(&key, handle, opt_i64(body, "VisibilityTimeout")?)
            .await?;
        Ok(json!({}))
    }

    async fn change_message_visibility_batch(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let entries = batch_entries(body, "ChangeMessageVisibilityBatchRequestEntry")?;
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for (id, e) in entries {
            let r = match (req_str(e, "ReceiptHandle"), opt_i64(e, "VisibilityTimeout")) {
                (Ok(h), Ok(t)) => self.change_visibility(&key, h, t).await,
                (Err(err), _) | (_, Err(err)) => Err(err),
            };
            match r {
                Ok(()) => ok.push(json!({"Id": id})),
                Err(err) => failed.push(failed_entry(id, &err)),
            }
        }
        Ok(batch_result(ok, failed))
    }

    pub(crate) async fn dispatch(&self, req: &ApiRequest) -> Result<Value> {
        let target = req.header("x-amz-target").unwrap_or("");
        let op = target.strip_prefix("AmazonSQS.").unwrap_or(target);
        let body: Value = if req.body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&req.body).map_err(|_| {
                SqsError::Serialization("The request body is not valid JSON.".into())
            })?
        };
        self.run(req, op, &body).await
    }

    /// Runs operation `op` on a json protocol body (also what the query protocol's
    /// requests are read into).
    pub(crate) async fn run(&self, req: &ApiRequest, op: &str, body: &Value) -> Result<Value> {
        if !body.is_object() {
            return Err(SqsError::Serialization(
                "The request body must be a JSON object.".into(),
            ));
        }
        let region = req.region.as_str();
        match op {
            "CreateQueue" => self.create_queue(req, body).await,
            "GetQueueUrl" => self.get_queue_url(req, body),
            "ListQueues" => self.list_queues(req, body),
            "GetQueueAttributes" => self.get_queue_attributes(region, body),
            "SetQueueAttributes" => self.set_queue_attributes(region, body).await,
            "DeleteQueue" => self.delete_queue(region, body).await,
            "PurgeQueue" => self.purge_queue(region, body).await,
            "SendMessage" => self.send_message(region, body).await,
            "SendMessageBatch" => self.send_message_batch(region, body).await,
            "ReceiveMessage" => self.receive_message(region, body).await,
            "DeleteMessage" => self.delete_message(region, body).await,
            "DeleteMessageBatch" => self.delete_message_batch(region, body).await,
            "ChangeMessageVisibility" => self.change_message_visibility(region, body).await,
            "ChangeMessageVisibilityBatch" => {
                self.change_message_visibility_batch(region, body).await
            }
            "TagQueue" => self.tag_queue(region, body).await,
            "UntagQueue" => self.untag_queue(region, body).await,
            "ListQueueTags" => self.list_queue_tags(region, body),
            "ListDeadLetterSourceQueues" => self.dead_letter_sources(req, body),
            "AddPermission" => self.add_permission(region, body).await,
            "StartMessageMoveTask" => self.start_move(body).await,
            "ListMessageMoveTasks" => self.list_moves(body),
            "CancelMessageMoveTask" => self.cancel_move(body).await,
            "RemovePermission" => self.remove_permission(region, body).await,
            "" => Err(SqsError::MissingParameter(
                "Missing X-Amz-Target header naming the operation.".into(),
            )),
            other => Err(SqsError::NotImplemented(format!(
                "Eddy does not implement the SQS operation {other} yet."
            ))),
        }
    }
}

/// A received message in the wire shape, with the system and user attributes asked for.
fn received_json(region: &str, queue: &str, r: Received, sys: &[String], user: &[String]) -> Value {
    let m = &r.msg;
    let mut out = Map::new();
    out.insert("MessageId".into(), json!(m.id));
    out.insert(
        "ReceiptHandle".into(),
        json!(model::receipt_handle(region, queue, r.seq, &r.nonce)),
    );
    out.insert("MD5OfBody".into(), json!(m.md5_body));
    out.insert("Body".into(), json!(m.body));
    let want = |n: &str| sys.iter().any(|s| s == "All" || s == n);
    let mut attrs = Map::new();
    if want("SenderId") {
        attrs.insert("SenderId".into(), json!(wire::ACCOUNT_ID));
    }
    if want("SentTimestamp") {
        attrs.insert("SentTimestamp".into(), json!(m.sent_ms.to_string()));
    }
    if want("ApproximateReceiveCount") {
        attrs.insert(
            "ApproximateReceiveCount".into(),
            json!(m.receive_count.to_string()),
        );
    }
    if want("ApproximateFirstReceiveTimestamp") {
        if let Some(t) = m.first_receive_ms {
            attrs.insert(
                "ApproximateFirstReceiveTimestamp".into(),
                json!(t.to_string()),
            );
        }
    }
    if let Some(t) = m.trace_header.as_ref().filter(|_| want("AWSTraceHeader")) {
        attrs.insert("AWSTraceHeader".into(), json!(t));
    }
    if let (Some(g), Some(d)) = (&m.group_id, &m.dedup_id) {
        if want("MessageGroupId") {
            attrs.insert("MessageGroupId".into(), json!(g));
        }
        if want("MessageDeduplicationId") {
            attrs.insert("MessageDeduplicationId".into(), json!(d));
        }
        if want("SequenceNumber") {
            attrs.insert(
                "SequenceNumber".into(),
                json!(model::sequence_number(r.seq)),
            );
        }
    }
    if !attrs.is_empty() {
        out.insert("Attributes".into(), Value::Object(attrs));
    }
    if let Some(md5) = &m.md5_attrs {
        out.insert("MD5OfMessageAttributes".into(), json!(md5));
    }
    let user_attrs: Map<String, Value> = m
        .attrs
        .iter()
        .filter(|(k, _)| model::attribute_selected(k, user))
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    if !user_attrs.is_empty() {
        out.insert("MessageAttributes".into(), Value::Object(user_attrs));
    }
    Value::Object(out)
}
