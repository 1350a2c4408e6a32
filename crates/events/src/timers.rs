//! The timer loop: fires scheduled rules and Scheduler schedules when they are due.
//!
//! Each batch of due timers becomes one transaction holding the deliveries and every
//! timer's next due time, so a firing is neither lost nor repeated across a crash. A
//! timer that fell due while the server was down fires once at start-up and then
//! continues from the present: missed firings are not replayed one by one.

use crate::{target_entries, Events, TimerKey, RULE, SCHEDULE};
use serde_json::json;
use std::time::Duration;
use store::ResourceWrite;

/// Longest sleep between looks at the timers (a safety net; changes wake the loop).
const IDLE_POLL_MS: i64 = 60_000;
/// Pause after a failed commit before the batch is tried again.
const RETRY_AFTER_FAILURE_MS: u64 = 1000;

/// What one due timer turned into.
enum Fired {
    Rule {
        key: crate::RuleKey,
        next: Option<i64>,
    },
    Schedule {
        key: crate::ScheduleKey,
        next: Option<i64>,
        offset_ms: i64,
        delete: bool,
    },
}

impl Events {
    /// Runs the timers until `stop` turns true.
    pub async fn run_timers(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let now = self.now_ms();
            let first = self.read().timers.first().map(|(due, _)| *due);
            if first.is_some_and(|due| due <= now) {
                if !self.fire_due().await {
                    tokio::time::sleep(Duration::from_millis(RETRY_AFTER_FAILURE_MS)).await;
                }
                continue;
            }
            let wait_ms = first.map_or(IDLE_POLL_MS, |due| (due - now).clamp(1, IDLE_POLL_MS));
            tokio::select! {
                _ = self.inner.timers_changed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Fires one batch of due timers; false if the commit failed.
    pub(crate) async fn fire_due(&self) -> bool {
        let _w = self.inner.writer.lock().await;
        let now = self.now_ms();
        let mut writes = Vec::new();
        let mut entries = Vec::new();
        let mut fired = Vec::new();
        let mut due_times = Vec::new();
        let mut stale = Vec::new();
        {
            let st = self.read();
            let ingestion = wire::time::iso8601(now);
            for (due, key) in st
                .timers
                .iter()
                .take_while(|(due, _)| *due <= now)
                .take(self.inner.cfg.fire_batch_max)
            {
                due_times.push(*due);
                match key {
                    TimerKey::Rule(k) => {
                        let Some(rule) = st.rules.get(k) else {
                            stale.push((*due, key.clone()));
                            continue;
                        };
                        let event = crate::envelope(
                            &k.0,
                            "aws.events",
                            "Scheduled Event",
                            json!({}),
                            json!([rule.arn()]),
                            &wire::time::iso8601(*due),
                        );
                        target_entries(rule, &k.2, &event, &ingestion, 0, &mut entries);
                        let anchor = rule.body["CreatedMs"].as_i64().unwrap_or(now);
                        let next = rule.schedule.as_ref().and_then(|s| {
                            s.next_after(now.max(*due), anchor, &schedule::Zone::utc())
                        });
                        writes.push(ResourceWrite::SetDue {
                            kind: RULE.into(),
                            scope: format!("{}/{}", k.0, k.1),
                            name: k.2.clone(),
                            due_ms: next,
                        });
                        fired.push(Fired::Rule {
                            key: k.clone(),
                            next,
                        });
                    }
                    TimerKey::Schedule(k) => {
                        let Some(s) = st.schedules.get(k) else {
                            stale.push((*due, key.clone()));
                            continue;
                        };
                        let nominal = s.due_ms.unwrap_or(*due);
                        entries.extend(s.firing(nominal));
                        let next = s.next_due(now.max(nominal));
                        let delete = next.is_none() && s.delete_when_done();
                        let scope = format!("{}/{}", k.0, k.1);
                        writes.push(if delete {
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
                                due_ms: next,
                            }
                        });
                        fired.push(Fired::Schedule {
                            key: k.clone(),
                            next,
                            offset_ms: crate::scheduler::flexible_offset_ms(&s.body),
                            delete,
                        });
                    }
                }
            }
        }
        if let Err(e) = self.commit(writes, entries).await {
            tracing::error!("firing {} timers failed: {e}", fired.len());
            return false;
        }
        let done = self.now_ms();
        let mut st = self.write();
        for t in &stale {
            st.timers.remove(t);
        }
        for f in fired {
            match f {
                Fired::Rule { key, next } => st.set_rule_timer(&key, next),
                Fired::Schedule {
                    key,
                    next,
                    offset_ms,
                    delete,
                } => {
                    st.set_schedule_timer(&key, next, offset_ms);
                    if delete {
                        st.schedules.remove(&key);
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
        for due in due_times {
            if late.len() == crate::LATENESS_SAMPLES_MAX {
                late.pop_front();
            }
            late.push_back(done - due);
        }
        true
    }
}
