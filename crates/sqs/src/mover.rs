//! Message move tasks: redrive from a dead-letter queue, back to the queues its messages
//! came from or to a queue named, at an optional rate (StartMessageMoveTask,
//! ListMessageMoveTasks, CancelMessageMoveTask). Tasks live in memory; each batch of
//! moved messages is deleted from the source and written to its destination in one
//! commit, so a crash never loses or doubles a message.

use crate::api::{bounded, opt_str, req_str};
use crate::error::{Result, SqsError};
use crate::{message_delete, message_put, model, Message, Sqs};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Messages one commit moves at most.
const BATCH_MAX: usize = 100;
/// Finished tasks kept per source queue for ListMessageMoveTasks.
const HISTORY_MAX: usize = 10;

/// What one batch adds to one destination queue: its next seq, and the messages by seq.
type Arriving = (u64, Vec<(u64, Message)>);

/// A move task as ListMessageMoveTasks shows it.
#[derive(Debug, Clone)]
pub(crate) struct MoveTask {
    handle: String,
    source_arn: String,
    destination_arn: Option<String>,
    rate: Option<u64>,
    status: &'static str,
    moved: u64,
    to_move: u64,
    started_ms: i64,
    failure: Option<String>,
}

impl MoveTask {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        });
        if self.status == "RUNNING" {
            v["TaskHandle"] = json!(self.handle);
        }
        if let Some(d) = &self.destination_arn {
            v["DestinationArn"] = json!(d);
        }
        if let Some(r) = self.rate {
            v["MaxNumberOfMessagesPerSecond"] = json!(r);
        }
        if let Some(f) = &self.failure {
            v["FailureReason"] = json!(f);
        }
        v
    }
}

fn not_found(what: &str) -> SqsError {
    SqsError::ResourceNotFound(format!(
        "The resource that you specified for the {what} parameter doesn't exist."
    ))
}

impl Sqs {
    pub(crate) async fn start_move(&self, body: &Value) -> Result<Value> {
        let source_arn = req_str(body, "SourceArn")?.to_string();
        let destination_arn = opt_str(body, "DestinationArn")?.map(str::to_string);
        let rate = bounded(body, "MaxNumberOfMessagesPerSecond", 1, 500)?;
        let source = model::parse_queue_arn(&source_arn).ok_or_else(|| not_found("SourceArn"))?;
        let _w = self.live().lock().await;
        let now = self.now_ms();
        let handle = {
            let st = self.live().read();
            let q = st
                .queues
                .get(&source)
                .ok_or_else(|| not_found("SourceArn"))?;
            if q.attrs.fifo.is_some() {
                return Err(SqsError::Unsupported(
                    "Message move tasks are not supported for FIFO queues.".into(),
                ));
            }
            let is_dlq = st.queues.values().any(|o| {
                o.attrs
                    .redrive
                    .as_ref()
                    .is_some_and(|r| r.dead_letter_target_arn == source_arn)
            });
            if !is_dlq {
                return Err(SqsError::Unsupported(
                    "Source queue must be configured as a Dead Letter Queue.".into(),
                ));
            }
            if let Some(d) = &destination_arn {
                let exists = model::parse_queue_arn(d)
                    .is_some_and(|k| k != source && st.queues.contains_key(&k));
                if !exists {
                    return Err(not_found("DestinationArn"));
                }
            }
            if st
                .moves
                .values()
                .any(|t| t.source_arn == source_arn && matches!(t.status, "RUNNING" | "CANCELLING"))
            {
                return Err(SqsError::Unsupported(
                    "There is already a task running. Only one active task is allowed for a source queue arn at a given time.".into(),
                ));
            }
            base64::engine::general_purpose::STANDARD
                .encode(format!("{source_arn} {}", wire::id::uuid4()))
        };
        let to_move = {
            let st = self.live().read();
            st.queues.get(&source).map_or(0, |q| {
                q.messages
                    .values()
                    .filter(|m| m.visible_at_ms <= now)
                    .count() as u64
            })
        };
        {
            let mut st = self.live().write();
            // Keep a short history per source queue.
            let mut old: Vec<(i64, String)> = st
                .moves
                .values()
                .filter(|t| t.source_arn == source_arn)
                .map(|t| (t.started_ms, t.handle.clone()))
                .collect();
            old.sort();
            while old.len() >= HISTORY_MAX {
                let (_, h) = old.remove(0);
                st.moves.remove(&h);
            }
            st.moves.insert(
                handle.clone(),
                MoveTask {
                    handle: handle.clone(),
                    source_arn: source_arn.clone(),
                    destination_arn: destination_arn.clone(),
                    rate,
                    status: "RUNNING",
                    moved: 0,
                    to_move,
                    started_ms: now,
                    failure: None,
                },
            );
        }
        let sqs = self.clone();
        let h = handle.clone();
        tokio::spawn(async move {
            sqs.run_move(h, source, destination_arn, rate, to_move)
                .await
        });
        Ok(json!({ "TaskHandle": handle }))
    }

    async fn run_move(
        &self,
        handle: String,
        source: (String, String),
        destination: Option<String>,
        rate: Option<u64>,
        to_move: u64,
    ) {
        let mut moved = 0u64;
        let outcome: std::result::Result<(), String> = loop {
            let cancelling = self
                .live()
                .read()
                .moves
                .get(&handle)
                .is_none_or(|t| t.status == "CANCELLING");
            if cancelling || moved >= to_move {
                break Ok(());
            }
            let n = rate
                .map_or(BATCH_MAX, |r| r as usize)
                .min(BATCH_MAX)
                .min((to_move - moved) as usize);
            let started = tokio::time::Instant::now();
            match self.move_batch(&source, destination.as_deref(), n).await {
                Ok(0) => break Ok(()),
                Ok(k) => {
                    moved += k as u64;
                    self.set_move(&handle, |t| t.moved = moved).await;
                }
                Err(e) => break Err(e),
            }
            if let Some(r) = rate {
                // `r` messages a second: a batch of `n` takes n / r seconds.
                let due = Duration::from_millis(n as u64 * 1000 / r.max(1));
                tokio::time::sleep_until(started + due).await;
            } else {
                tokio::task::yield_now().await;
            }
        };
        self.set_move(&handle, |t| match outcome {
            Ok(()) if t.status == "CANCELLING" => t.status = "CANCELLED",
            Ok(()) => t.status = "COMPLETED",
            Err(reason) => {
                t.status = "FAILED";
                t.failure = Some(reason);
            }
        })
        .await;
    }

    async fn set_move(&self, handle: &str, change: impl FnOnce(&mut MoveTask)) {
        let _w = self.live().lock().await;
        if let Some(t) = self.live().write().moves.get_mut(handle) {
            change(t);
        }
    }

    /// Moves up to `n` visible messages of `source` to `destination` (or each to the queue
    /// it came from) in one commit; answers how many moved.
    async fn move_batch(
        &self,
        source: &(String, String),
        destination: Option<&str>,
        n: usize,
    ) -> std::result::Result<usize, String> {
        let _w = self.live().lock().await;
        let now = self.now_ms();
        let mut writes = Vec::new();
        let mut arriving: BTreeMap<(String, String), Arriving> = BTreeMap::new();
        let mut leaving = Vec::new();
        {
            let st = self.live().read();
            let q = st
                .queues
                .get(source)
                .ok_or("the source queue was deleted")?;
            for (&seq, m) in q
                .messages
                .iter()
                .filter(|(_, m)| m.visible_at_ms <= now)
                .take(n)
            {
                let target = match destination.or(m.origin.as_deref()) {
                    Some(arn) => model::parse_queue_arn(arn)
                        .filter(|k| st.queues.contains_key(k))
                        .ok_or_else(|| format!("the destination queue {arn} does not exist"))?,
                    None => {
                        return Err(
                            "a message's source queue is not known; start the task with a DestinationArn"
                                .to_string(),
                        )
                    }
                };
                let next = st.queues.get(&target).map_or(1, |d| d.next_seq);
                let slot = arriving.entry(target.clone()).or_insert((next, Vec::new()));
                let new_seq = slot.0 + slot.1.len() as u64;
                let mut moved = m.clone();
                moved.receive_count = 0;
                moved.first_receive_ms = None;
                moved.receipt = None;
                moved.visible_at_ms = now;
                moved.origin = None;
                writes.extend(message_delete(&source.0, &source.1, seq));
                writes.push(message_put(&target.0, &target.1, new_seq, &moved));
                slot.1.push((new_seq, moved));
                leaving.push(seq);
            }
        }
        if leaving.is_empty() {
            return Ok(0);
        }
        self.live()
            .commit(writes, vec![], now)
            .await
            .map_err(|e| e.to_string())?;
        let mut st = self.live().write();
        if let Some(q) = st.queues.get_mut(source) {
            for s in &leaving {
                q.messages.remove(s);
            }
        }
        for (key, (_, msgs)) in arriving {
            if let Some(d) = st.queues.get_mut(&key) {
                if let Some((last, _)) = msgs.last() {
                    d.next_seq = last + 1;
                }
                d.messages.extend(msgs);
            }
        }
        drop(st);
        self.inner.sent.notify_waiters();
        Ok(leaving.len())
    }

    pub(crate) fn list_moves(&self, body: &Value) -> Result<Value> {
        let source_arn = req_str(body, "SourceArn")?;
        let max = bounded(body, "MaxResults", 1, 10)?.unwrap_or(1) as usize;
        let st = self.live().read();
        if model::parse_queue_arn(source_arn).is_none_or(|k| !st.queues.contains_key(&k)) {
            return Err(not_found("SourceArn"));
        }
        let mut tasks: Vec<&MoveTask> = st
            .moves
            .values()
            .filter(|t| t.source_arn == source_arn)
            .collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.started_ms));
        let results: Vec<Value> = tasks.iter().take(max).map(|t| t.to_json()).collect();
        Ok(json!({ "Results": results }))
    }

    pub(crate) async fn cancel_move(&self, body: &Value) -> Result<Value> {
        let handle = req_str(body, "TaskHandle")?;
        let _w = self.live().lock().await;
        let mut st = self.live().write();
        match st.moves.get_mut(handle) {
            Some(t) if t.status == "RUNNING" => {
                t.status = "CANCELLING";
                Ok(json!({ "ApproximateNumberOfMessagesMoved": t.moved }))
            }
            _ => Err(SqsError::ResourceNotFound(
                "Task does not exist, or it is not running.".into(),
            )),
        }
    }
}
