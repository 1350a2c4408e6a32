//! The timer loop: fires scheduled rules and Scheduler schedules when they are due.
//!
//! Each batch of due timers becomes one transaction holding the deliveries and every
//! timer's next due time, so a firing is neither lost nor repeated across a crash. A
//! timer that fell due while the server was down fires once at start-up and then
//! continues from the present: missed firings are not replayed one by one.
//!
//! A batch is built shortly before it is due ([`PREPARE_AHEAD_MS`]) and committed at its
//! due time, so only the commit stands between the due time and the firing. Timers that
//! changed in between are left out at commit time (changes happen under the writer lock,
//! which the commit holds).

use crate::{target_entries, Events, TimerKey, RULE, SCHEDULE};
use serde_json::json;
use std::time::Duration;
use store::{NewEntry, ResourceWrite};

/// Longest sleep between looks at the timers (a safety net; changes wake the loop).
const IDLE_POLL_MS: i64 = 60_000;
/// Pause after a failed commit before the batch is tried again.
const RETRY_AFTER_FAILURE_MS: u64 = 1000;
/// How long before its due time a batch is built.
const PREPARE_AHEAD_MS: i64 = 50;

/// What one due timer turned into, ready to commit.
struct Firing {
    due: i64,
    key: TimerKey,
    entries: Vec<NewEntry>,
    write: Option<ResourceWrite>,
    next: Option<i64>,
    /// For schedules: the flexible window's delay of the next firing.
    offset_ms: i64,
    /// For one-time schedules with ActionAfterCompletion DELETE.
    delete: bool,
}

impl Events {
    /// Runs the timers until `stop` turns true.
    pub async fn run_timers(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let now = self.now_ms();
            let first = self.live().read().timers.first().map(|(due, _)| *due);
            if let Some(due) = first.filter(|due| *due <= now + PREPARE_AHEAD_MS) {
                let batch = self.prepare(due.max(now));
                let wait_ms = due - self.now_ms();
                if wait_ms > 0 {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
                        _ = stop.changed() => return,
                    }
                }
                if !self.commit_firings(batch).await {
                    tokio::time::sleep(Duration::from_millis(RETRY_AFTER_FAILURE_MS)).await;
                }
                continue;
            }
            let wait_ms = first.map_or(IDLE_POLL_MS, |due| {
                (due - PREPARE_AHEAD_MS - now).clamp(1, IDLE_POLL_MS)
            });
            tokio::select! {
                _ = self.inner.timers_changed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Fires the timers due now, in one batch; false if the commit failed.
    #[cfg(test)]
    pub(crate) async fn fire_due(&self) -> bool {
        let batch = self.prepare(self.now_ms());
        self.commit_firings(batch).await
    }

    /// Builds the firings of up to one batch of timers due at or before `until`.
    fn prepare(&self, until: i64) -> Vec<Firing> {
        let st = self.live().read();
        let ingestion = wire::time::iso8601(self.now_ms());
        let mut out = Vec::new();
        for (due, key) in st
            .timers
            .iter()
            .take_while(|(due, _)| *due <= until)
            .take(self.inner.cfg.fire_batch_max)
        {
            let mut f = Firing {
                due: *due,
                key: key.clone(),
                entries: Vec::new(),
                write: None,
                next: None,
                offset_ms: 0,
                delete: false,
            };
            match key {
                TimerKey::Rule(k) => {
                    // A timer without its rule is dropped by the commit (`write` is None).
                    if let Some(rule) = st.rules.get(k) {
                        let event = crate::envelope(
                            &k.0,
                            "aws.events",
                            "Scheduled Event",
                            json!({}),
                            json!([rule.arn()]),
                            &wire::time::iso8601(*due),
                        );
                        target_entries(rule, &k.2, &event, &ingestion, 0, &mut f.entries);
                        let anchor = rule.body["CreatedMs"].as_i64().unwrap_or(*due);
                        let after = until.max(*due);
                        f.next = rule
                            .schedule
                            .as_ref()
                            .and_then(|s| s.next_after(after, anchor, &schedule::Zone::utc()));
                        f.write = Some(ResourceWrite::SetDue {
                            kind: RULE.into(),
                            scope: format!("{}/{}", k.0, k.1),
                            name: k.2.clone(),
                            due_ms: f.next,
                        });
                    }
                }
                TimerKey::Schedule(k) => {
                    if let Some(s) = st.schedules.get(k) {
                        let nominal = s.due_ms.unwrap_or(*due);
                        f.entries.extend(s.firing(nominal));
                        f.next = s.next_due(until.max(nominal));
                        f.delete = f.next.is_none() && s.delete_when_done();
                        f.offset_ms = crate::scheduler::flexible_offset_ms(&s.body);
                        let scope = format!("{}/{}", k.0, k.1);
                        f.write = Some(if f.delete {
                            ResourceWrite::Delete {
                                kind: SCHEDULE.into(),
                                scope,
                                name: k.2.clone(),
                            }
                        } else {
                            ResourceWrite::SetDue {
                                kind: SCHEDULE.into(),
                                scope,
                                name: k.2.clone(),
                                due_ms: f.next,
                            }
                        });
                    }
                }
            }
            out.push(f);
        }
        out
    }

    /// Commits prepared firings whose timers are still armed as they were; false if the
    /// commit failed (the timers stay armed and are tried again).
    async fn commit_firings(&self, mut batch: Vec<Firing>) -> bool {
        let _w = self.live().lock().await;
        let mut stale = Vec::new();
        {
            let st = self.live().read();
            batch.retain(|f| {
                let armed = st.timers.contains(&(f.due, f.key.clone()));
                if armed && f.write.is_none() {
                    stale.push((f.due, f.key.clone()));
                }
                armed && f.write.is_some()
            });
        }
        let writes: Vec<ResourceWrite> = batch.iter_mut().filter_map(|f| f.write.take()).collect();
        let entries: Vec<NewEntry> = batch
            .iter_mut()
            .flat_map(|f| std::mem::take(&mut f.entries))
            .collect();
        if let Err(e) = self.commit(writes, entries).await {
            tracing::error!("firing {} timers failed: {e}", batch.len());
            return false;
        }
        let done = self.now_ms();
        let mut st = self.live().write();
        for t in &stale {
            st.timers.remove(t);
        }
        for f in &batch {
            match &f.key {
                TimerKey::Rule(key) => st.set_rule_timer(key, f.next),
                TimerKey::Schedule(key) => {
                    st.set_schedule_timer(key, f.next, f.offset_ms);
                    if f.delete {
                        st.schedules.remove(key);
                    }
                }
            }
        }
        drop(st);
        let mut late = self
            .inner
            .lateness
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for f in &batch {
            if late.len() == crate::LATENESS_SAMPLES_MAX {
                late.pop_front();
            }
            late.push_back(done - f.due);
        }
        true
    }
}
