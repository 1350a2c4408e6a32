//! The pollers of one mapping. A run starts with one poller; a poller that receives a full
//! batch starts another (up to the mapping's maximum concurrency), and a poller that finds
//! the queue empty ends unless it is the last. Each poller receives a batch, drops what
//! the filters refuse, invokes the function synchronously and deletes what it handled.

use crate::model::{batch_result, BatchResult, Filters, Mapping};
use crate::Inner;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long one receive waits for a first message (SQS's longest long poll).
const WAIT: Duration = Duration::from_secs(20);
/// The largest invoke payload: a batch stops growing before it would pass this.
const PAYLOAD_BYTES_MAX: usize = 6 * 1024 * 1024 - 1024;
/// Pollers a mapping may start at once.
const INITIAL_POLLERS: usize = 5;
/// After those, at most one more poller this often.
const GROW_EVERY: Duration = Duration::from_millis(200);
/// Pause after a failure of the queue or of the invoke itself (not of the function).
const BACKOFF: Duration = Duration::from_millis(500);

/// The running pollers of one mapping.
pub struct Run {
    stop: watch::Sender<bool>,
    pollers: AtomicUsize,
    mapping: Mapping,
    filters: Filters,
    max_pollers: usize,
    last_grow: std::sync::Mutex<std::time::Instant>,
}

impl Run {
    pub fn start(inner: Arc<Inner>, mapping: Mapping) -> Arc<Self> {
        let (stop, _) = watch::channel(false);
        let run = Arc::new(Self {
            stop,
            pollers: AtomicUsize::new(0),
            filters: Filters::of(&mapping),
            max_pollers: mapping
                .maximum_concurrency
                .unwrap_or(crate::model::CONCURRENCY_DEFAULT)
                .max(1) as usize,
            mapping,
            last_grow: std::sync::Mutex::new(std::time::Instant::now()),
        });
        run.spawn(inner);
        run
    }

    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    fn spawn(self: &Arc<Self>, inner: Arc<Inner>) {
        self.pollers.fetch_add(1, Ordering::AcqRel);
        let run = self.clone();
        let stopped = self.stop.subscribe();
        tokio::spawn(async move {
            if poll_loop(&inner, &run, stopped).await == Exit::Stopped {
                run.pollers.fetch_sub(1, Ordering::AcqRel);
            }
        });
    }

    /// Starts one more poller when the queue has more than the running ones take: up to
    /// five at once, then one more every 200 ms at most (Lambda's scaling: five batches
    /// at first, then up to 300 more a minute).
    fn grow(self: &Arc<Self>, inner: &Arc<Inner>) {
        let n = self.pollers.load(Ordering::Acquire);
        if n >= self.max_pollers || *self.stop.borrow() {
            return;
        }
        {
            let mut last = self.last_grow.lock().unwrap_or_else(|p| p.into_inner());
            if n >= INITIAL_POLLERS && last.elapsed() < GROW_EVERY {
                return;
            }
            *last = std::time::Instant::now();
        }
        self.spawn(inner.clone());
    }

    /// Counts a poller out because the queue ran dry, unless it is the last one.
    fn shrink(&self) -> bool {
        self.pollers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n > 1).then_some(n - 1)
            })
            .is_ok()
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Exit {
    /// The run stopped; the poller still counts.
    Stopped,
    /// The poller counted itself out.
    Shrunk,
}

/// Waits for `d` unless the run stops first (`false`).
async fn pause(stopped: &mut watch::Receiver<bool>, d: Duration) -> bool {
    let slept = tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = stopped.wait_for(|s| *s) => false,
    };
    slept && !*stopped.borrow()
}

async fn poll_loop(inner: &Arc<Inner>, run: &Arc<Run>, mut stopped: watch::Receiver<bool>) -> Exit {
    let m = &run.mapping;
    let arn = m.event_source_arn.as_str();
    loop {
        if *stopped.borrow() {
            return Exit::Stopped;
        }
        // The receive runs as a task of its own so that a stop never cuts it off half-way;
        // what it receives after the stop goes straight back to the queue.
        let mut receiving = tokio::spawn(receive_batch(inner.clone(), m.clone()));
        let batch = tokio::select! {
            r = &mut receiving => r,
            _ = stopped.wait_for(|s| *s) => {
                let (inner, arn) = (inner.clone(), m.event_source_arn.clone());
                tokio::spawn(async move {
                    if let Ok(Ok(batch)) = receiving.await {
                        let handles = handles(&batch, |_| true);
                        inner.sqs.return_polled(&arn, &handles).await;
                    }
                });
                return Exit::Stopped;
            }
        };
        let batch = match batch {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                tracing::warn!("event source mapping {} cannot read {arn}: {e}", m.uuid);
                if !pause(&mut stopped, BACKOFF * 10).await {
                    return Exit::Stopped;
                }
                continue;
            }
            Err(e) => {
                tracing::error!("event source mapping {}: a receive failed: {e}", m.uuid);
                if !pause(&mut stopped, BACKOFF).await {
                    return Exit::Stopped;
                }
                continue;
            }
        };
        if batch.is_empty() {
            if run.shrink() {
                return Exit::Shrunk;
            }
            continue;
        }
        if batch.len() as u64 >= m.batch_size.min(10) {
            run.grow(inner);
        }
        handle_batch(inner, run, batch).await;
    }
}

/// Receives up to the mapping's batch size, gathering for its batching window, and never
/// more than one invoke payload holds.
async fn receive_batch(inner: Arc<Inner>, m: Mapping) -> Result<Vec<sqs::Polled>, sqs::SqsError> {
    let arn = m.event_source_arn.as_str();
    let want = m.batch_size as usize;
    let mut batch = inner.sqs.poll(arn, want.min(10), WAIT).await?;
    if batch.is_empty() {
        return Ok(batch);
    }
    let window = Duration::from_secs(m.maximum_batching_window_in_seconds);
    let until = tokio::time::Instant::now() + window;
    let mut bytes: usize = batch.iter().map(|p| p.bytes).sum();
    while batch.len() < want && bytes < PAYLOAD_BYTES_MAX {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        let more = inner
            .sqs
            .poll(arn, (want - batch.len()).min(10), left)
            .await?;
        bytes += more.iter().map(|p| p.bytes).sum::<usize>();
        batch.extend(more);
    }
    // What does not fit in one payload goes back to the queue at once.
    let mut over = Vec::new();
    while bytes > PAYLOAD_BYTES_MAX && batch.len() > 1 {
        if let Some(p) = batch.pop() {
            bytes -= p.bytes;
            over.push(p.receipt_handle);
        }
    }
    if !over.is_empty() {
        inner.sqs.return_polled(arn, &over).await;
    }
    Ok(batch)
}

async fn handle_batch(inner: &Inner, run: &Run, batch: Vec<sqs::Polled>) {
    let m = &run.mapping;
    let arn = m.event_source_arn.as_str();
    let (kept, dropped): (Vec<sqs::Polled>, Vec<sqs::Polled>) = batch
        .into_iter()
        .partition(|p| run.filters.keeps(&p.record));
    if !dropped.is_empty() {
        // Lambda deletes the messages a filter refuses.
        let handles: Vec<String> = dropped.into_iter().map(|p| p.receipt_handle).collect();
        if let Err(e) = inner.sqs.delete_polled(arn, &handles).await {
            tracing::warn!(
                "event source mapping {} could not delete filtered messages: {e}",
                m.uuid
            );
        }
    }
    if kept.is_empty() {
        return;
    }
    let records: Vec<&Value> = kept.iter().map(|p| &p.record).collect();
    let payload = serde_json::to_vec(&json!({ "Records": records })).unwrap_or_default();
    let done: Vec<String> = match inner
        .lambda
        .invoke_for_http(&m.function_arn, payload, false)
        .await
    {
        Ok(r) if !r.function_error => {
            if m.reports_item_failures() {
                let ids: HashSet<&str> = kept.iter().map(|p| p.message_id.as_str()).collect();
                match batch_result(&r.payload, &ids) {
                    BatchResult::AllDone => handles(&kept, |_| true),
                    BatchResult::Failed(failed) => {
                        handles(&kept, |p| !failed.contains(&p.message_id))
                    }
                    BatchResult::AllFailed => Vec::new(),
                }
            } else {
                handles(&kept, |_| true)
            }
        }
        // The function failed: the whole batch returns after its visibility timeout.
        Ok(_) => Vec::new(),
        Err(e) => {
            tracing::debug!(
                "event source mapping {} could not invoke {}: {e}",
                m.uuid,
                m.function_arn
            );
            tokio::time::sleep(BACKOFF).await;
            Vec::new()
        }
    };
    if !done.is_empty() {
        if let Err(e) = inner.sqs.delete_polled(arn, &done).await {
            tracing::warn!(
                "event source mapping {} could not delete handled messages: {e}",
                m.uuid
            );
        }
    }
}

fn handles(batch: &[sqs::Polled], keep: impl Fn(&sqs::Polled) -> bool) -> Vec<String> {
    batch
        .iter()
        .filter(|p| keep(p))
        .map(|p| p.receipt_handle.clone())
        .collect()
}
