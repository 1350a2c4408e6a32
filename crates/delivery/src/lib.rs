//! The delivery outbox: every asynchronous path (async invokes, destinations, and later
//! S3 notifications, rule targets, schedules, SNS deliveries) is an entry here, delivered
//! at least once with retries, backoff, a maximum age and a final destination.
//!
//! Invariants: an entry is durable before `enqueue` returns; an entry leaves the outbox
//! only in the same transaction that stores its follow-ups; the retry decision is the pure
//! function [`decide`].

pub mod events;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use store::{NewEntry, Outbox, OutboxEntry};
use tokio::sync::{Notify, Semaphore};
use wire::time::Clock;
use wire::BoxFuture;

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success {
        response: Vec<u8>,
    },
    Failed {
        error: Vec<u8>,
    },
    /// The target had no capacity: try again soon, without counting an attempt.
    Throttled,
    /// The target no longer exists: drop the entry (after its failure destination).
    Gone,
}

/// The retry rules for one entry, given by its deliverer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub max_age_ms: i64,
    /// The first retry waits this long, each later one twice as long as the previous.
    pub base_delay_ms: i64,
}

/// Why an entry's delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalCondition {
    Success,
    RetriesExhausted,
    EventAgeExceeded,
}

impl FinalCondition {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::RetriesExhausted => "RetriesExhausted",
            Self::EventAgeExceeded => "EventAgeExceeded",
        }
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Finish(FinalCondition),
    RetryAt { attempt: u32, not_before_ms: i64 },
}

/// How often entries of a kind without a deliverer are looked at again.
const UNDELIVERABLE_RECHECK_MS: i64 = 600_000;

/// Delay for throttled entries: short, so they run as soon as capacity frees up.
pub const THROTTLE_RETRY_MS: i64 = 200;

/// The retry decision. `attempt` counts the attempts made so far, including this one.
pub fn decide(
    policy: &RetryPolicy,
    outcome: &Outcome,
    attempt: u32,
    created_ms: i64,
    now_ms: i64,
) -> Step {
    let age = now_ms - created_ms;
    match outcome {
        Outcome::Success { .. } => Step::Finish(FinalCondition::Success),
        Outcome::Gone => Step::Finish(FinalCondition::RetriesExhausted),
        Outcome::Throttled => {
            if age >= policy.max_age_ms {
                Step::Finish(FinalCondition::EventAgeExceeded)
            } else {
                Step::RetryAt {
                    attempt: attempt.saturating_sub(1),
                    not_before_ms: now_ms + THROTTLE_RETRY_MS,
                }
            }
        }
        Outcome::Failed { .. } => {
            if attempt > policy.max_retries {
                return Step::Finish(FinalCondition::RetriesExhausted);
            }
            let delay = policy
                .base_delay_ms
                .saturating_mul(1 << (attempt - 1).min(20));
            if age + delay > policy.max_age_ms {
                return Step::Finish(FinalCondition::EventAgeExceeded);
            }
            Step::RetryAt {
                attempt,
                not_before_ms: now_ms + delay,
            }
        }
    }
}

/// Delivers entries of one kind.
pub trait Deliverer: Send + Sync + 'static {
    /// Makes one attempt and says which retry rules apply.
    fn deliver<'a>(&'a self, entry: &'a OutboxEntry) -> BoxFuture<'a, (Outcome, RetryPolicy)>;
    /// The follow-up entries (destinations) once delivery has ended.
    fn finish(
        &self,
        entry: &OutboxEntry,
        outcome: &Outcome,
        condition: FinalCondition,
    ) -> Vec<NewEntry>;
}

/// Delivery settings.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryConfig {
    /// Attempts running at once.
    pub concurrency_max: usize,
    /// Entries claimed per database round trip.
    pub claim_batch_max: usize,
    /// Longest sleep between checks for due entries.
    pub poll_ms_max: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            concurrency_max: 256,
            claim_batch_max: 64,
            poll_ms_max: 1000,
        }
    }
}

/// The outbox and its worker.
#[derive(Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Outbox>,
    clock: Arc<dyn Clock>,
    deliverers: std::sync::RwLock<HashMap<String, Arc<dyn Deliverer>>>,
    /// Wakes the worker when an entry is enqueued or a slot frees up.
    wake: Notify,
    slots: Arc<Semaphore>,
    cfg: DeliveryConfig,
}

impl Delivery {
    pub fn new(store: Arc<dyn Outbox>, clock: Arc<dyn Clock>, cfg: DeliveryConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                deliverers: Default::default(),
                wake: Notify::new(),
                slots: Arc::new(Semaphore::new(cfg.concurrency_max)),
                cfg,
            }),
        }
    }

    pub fn register(&self, kind: &str, d: Arc<dyn Deliverer>) {
        self.inner
            .deliverers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kind.to_owned(), d);
    }

    /// Stores an entry durably and wakes the worker.
    pub async fn enqueue(&self, entry: NewEntry) -> store::Result<i64> {
        let store = self.inner.store.clone();
        let now = self.inner.clock.now_ms();
        let id = tokio::task::spawn_blocking(move || store.enqueue(&entry, now))
            .await
            .map_err(|e| store::StoreError::Io(std::io::Error::other(e)))??;
        self.inner.wake.notify_one();
        Ok(id)
    }

    /// Wakes the worker after entries were stored by another path (in the same
    /// transaction as the write that caused them).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    pub fn pending(&self) -> u64 {
        self.inner.store.pending().unwrap_or(0)
    }

    /// Runs the worker until `shutdown` turns true.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        match self.inner.store.release_all() {
            Ok(n) if n > 0 => {
                tracing::info!("{n} deliveries from before the restart will run again")
            }
            Ok(_) => {}
            Err(e) => tracing::error!("could not release outbox leases: {e}"),
        }
        loop {
            let free = self
                .inner
                .slots
                .available_permits()
                .min(self.inner.cfg.claim_batch_max);
            let mut claimed = 0;
            if free > 0 {
                let store = self.inner.store.clone();
                let now = self.inner.clock.now_ms();
                match tokio::task::spawn_blocking(move || store.claim_due(now, free)).await {
                    Ok(Ok(entries)) => {
                        claimed = entries.len();
                        for e in entries {
                            let permit = self.inner.slots.clone().acquire_owned().await;
                            let me = self.clone();
                            tokio::spawn(async move {
                                me.attempt(e).await;
                                drop(permit);
                                me.inner.wake.notify_one();
                            });
                        }
                    }
                    Ok(Err(e)) => tracing::error!("outbox claim failed: {e}"),
                    Err(e) => tracing::error!("outbox claim task failed: {e}"),
                }
            }
            if claimed == free && free > 0 {
                continue;
            }
            let wait = match self.inner.store.next_due_ms() {
                Ok(Some(due)) => (due - self.inner.clock.now_ms())
                    .clamp(1, self.inner.cfg.poll_ms_max as i64)
                    as u64,
                _ => self.inner.cfg.poll_ms_max,
            };
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn attempt(&self, entry: OutboxEntry) {
        let d = self
            .inner
            .deliverers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&entry.kind)
            .cloned();
        let Some(d) = d else {
            // Entries for services this build does not have yet (a dead-letter queue
            // before SQS exists) wait here instead of being dropped.
            tracing::warn!(
                "no deliverer for outbox entry kind {:?} (target {}); keeping it",
                entry.kind,
                entry.target
            );
            let _ = self.inner.store.reschedule(
                entry.id,
                entry.attempt,
                self.inner.clock.now_ms() + UNDELIVERABLE_RECHECK_MS,
                &entry.meta,
            );
            return;
        };
        let (outcome, policy) = d.deliver(&entry).await;
        let now = self.inner.clock.now_ms();
        let attempt = entry.attempt + 1;
        let step = decide(&policy, &outcome, attempt, entry.created_ms, now);
        let store = self.inner.store.clone();
        let result = match step {
            Step::Finish(cond) => {
                let followups = d.finish(&entry, &outcome, cond);
                tokio::task::spawn_blocking(move || store.complete(entry.id, &followups, now)).await
            }
            Step::RetryAt {
                attempt,
                not_before_ms,
            } => {
                let meta = entry.meta.clone();
                tokio::task::spawn_blocking(move || {
                    store.reschedule(entry.id, attempt, not_before_ms, &meta)
                })
                .await
            }
        };
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("outbox update failed: {e}"),
            Err(e) => tracing::error!("outbox update task failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_retries: 2,
        max_age_ms: 6 * 3600 * 1000,
        base_delay_ms: 60_000,
    };

    fn check(outcome: Outcome, attempt: u32, age_ms: i64, expected: Step) {
        assert_eq!(decide(&POLICY, &outcome, attempt, 0, age_ms), expected);
    }

    #[test]
    fn retry_decisions() {
        let failed = || Outcome::Failed { error: vec![] };
        check(
            Outcome::Success { response: vec![] },
            1,
            0,
            Step::Finish(FinalCondition::Success),
        );
        check(
            failed(),
            1,
            0,
            Step::RetryAt {
                attempt: 1,
                not_before_ms: 60_000,
            },
        );
        check(
            failed(),
            2,
            60_000,
            Step::RetryAt {
                attempt: 2,
                not_before_ms: 180_000,
            },
        );
        check(
            failed(),
            3,
            180_000,
            Step::Finish(FinalCondition::RetriesExhausted),
        );
        check(
            failed(),
            1,
            POLICY.max_age_ms - 1000,
            Step::Finish(FinalCondition::EventAgeExceeded),
        );
        check(
            Outcome::Throttled,
            1,
            5,
            Step::RetryAt {
                attempt: 0,
                not_before_ms: 5 + THROTTLE_RETRY_MS,
            },
        );
        check(
            Outcome::Throttled,
            1,
            POLICY.max_age_ms,
            Step::Finish(FinalCondition::EventAgeExceeded),
        );
        check(
            Outcome::Gone,
            1,
            0,
            Step::Finish(FinalCondition::RetriesExhausted),
        );
    }

    struct Flaky {
        fail_first: u32,
        seen: std::sync::Mutex<Vec<u32>>,
        finished: std::sync::Mutex<Vec<FinalCondition>>,
    }

    impl Deliverer for Flaky {
        fn deliver<'a>(&'a self, e: &'a OutboxEntry) -> BoxFuture<'a, (Outcome, RetryPolicy)> {
            Box::pin(async move {
                self.seen.lock().unwrap().push(e.attempt);
                let o = if e.attempt < self.fail_first {
                    Outcome::Failed { error: vec![] }
                } else {
                    Outcome::Success { response: vec![] }
                };
                (
                    o,
                    RetryPolicy {
                        max_retries: 2,
                        max_age_ms: 60_000,
                        base_delay_ms: 1,
                    },
                )
            })
        }
        fn finish(&self, _: &OutboxEntry, _: &Outcome, c: FinalCondition) -> Vec<NewEntry> {
            self.finished.lock().unwrap().push(c);
            vec![]
        }
    }

    #[tokio::test]
    async fn worker_retries_then_succeeds() {
        let store = Arc::new(store::SqliteStore::in_memory().unwrap());
        let delivery = Delivery::new(
            store.clone(),
            Arc::new(wire::time::SystemClock),
            DeliveryConfig::default(),
        );
        let d = Arc::new(Flaky {
            fail_first: 2,
            seen: Default::default(),
            finished: Default::default(),
        });
        delivery.register("flaky", d.clone());
        let (tx, rx) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(delivery.clone().run(rx));
        delivery
            .enqueue(NewEntry {
                kind: "flaky".into(),
                target: "t".into(),
                payload: vec![],
                meta: "{}".into(),
                not_before_ms: 0,
            })
            .await
            .unwrap();
        for _ in 0..500 {
            if !d.finished.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(*d.seen.lock().unwrap(), vec![0, 1, 2]);
        assert_eq!(*d.finished.lock().unwrap(), vec![FinalCondition::Success]);
        assert_eq!(delivery.pending(), 0);
        tx.send(true).unwrap();
        worker.await.unwrap();
    }
}
