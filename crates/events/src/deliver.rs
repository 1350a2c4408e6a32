//! Delivery of routed events from the outbox: to functions (as asynchronous invokes), to
//! other buses, and to a dead-letter queue once a target's retry policy is spent.

use crate::model::TargetKind;
use crate::Events;
use delivery::events::PUT_KIND;
use delivery::{Deliverer, FinalCondition, Outcome, RetryPolicy};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use store::{NewEntry, OutboxEntry};
use wire::BoxFuture;

/// An event on its way to one target of a rule or schedule.
pub const TARGET_KIND: &str = "events-target";
/// Bus-to-bus hops after which an event is dropped, so a rule that sends a bus's events
/// back to itself cannot circulate forever.
const HOPS_MAX: u32 = 5;

/// Where a target delivery came from, for the dead-letter attributes.
pub enum Origin {
    Rule(String),
    Schedule(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct TargetMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schedule: Option<String>,
    retries: u32,
    age_s: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dlq: Option<String>,
    event_id: String,
    #[serde(default)]
    hops: u32,
}

/// How one target is reached, as stored with its deliveries.
pub struct Delivery<'a> {
    pub arn: &'a str,
    pub retries: u32,
    pub age_s: i64,
    pub dlq: Option<&'a str>,
}

/// The outbox entry that delivers `payload` to a target.
pub fn target_entry(
    to: &Delivery<'_>,
    payload: Vec<u8>,
    origin: Origin,
    event_id: &str,
    hops: u32,
) -> NewEntry {
    let (rule, schedule) = match origin {
        Origin::Rule(a) => (Some(a), None),
        Origin::Schedule(a) => (None, Some(a)),
    };
    NewEntry {
        kind: TARGET_KIND.into(),
        target: to.arn.to_string(),
        payload,
        meta: serde_json::to_string(&TargetMeta {
            rule,
            schedule,
            retries: to.retries,
            age_s: to.age_s,
            dlq: to.dlq.map(String::from),
            event_id: event_id.to_string(),
            hops,
        })
        .unwrap_or_default(),
        not_before_ms: 0,
    }
}

/// (region, bus name) of a bus ARN.
fn bus_of(arn: &str) -> Option<(String, String)> {
    match crate::model::target_kind(arn)? {
        TargetKind::Bus { region, name } => Some((region, name)),
        _ => None,
    }
}

/// Delivers both entry kinds.
pub struct EventsDeliverer {
    events: Events,
}

impl EventsDeliverer {
    pub fn new(events: Events) -> Arc<Self> {
        Arc::new(Self { events })
    }

    fn policy(&self, meta: Option<&TargetMeta>) -> RetryPolicy {
        RetryPolicy {
            max_retries: meta.map_or(0, |m| m.retries),
            max_age_ms: meta.map_or(0, |m| m.age_s) * 1000,
            base_delay_ms: self.events.inner.cfg.retry_base_delay_ms,
        }
    }

    fn bus_exists(&self, arn: &str) -> bool {
        bus_of(arn).is_some_and(|(r, b)| self.events.live().read().bus_exists(&r, &b))
    }

    /// Whether the target can take the event now.
    fn reachable(&self, entry: &OutboxEntry) -> Outcome {
        let ok = match crate::model::target_kind(&entry.target) {
            Some(TargetKind::Lambda) => {
                crate::function_exists(self.events.inner.functions.as_ref(), &entry.target)
            }
            Some(TargetKind::Bus { .. }) => self.bus_exists(&entry.target),
            Some(TargetKind::Message(_)) => true,
            None => false,
        };
        if ok {
            Outcome::Success { response: vec![] }
        } else {
            Outcome::Gone
        }
    }

    fn dead_letter(
        &self,
        entry: &OutboxEntry,
        meta: &TargetMeta,
        condition: FinalCondition,
    ) -> Vec<NewEntry> {
        let Some(dlq) = &meta.dlq else {
            tracing::warn!(
                "event {} for {} dropped after {} attempts ({})",
                meta.event_id,
                entry.target,
                entry.attempt + 1,
                condition.as_str()
            );
            return vec![];
        };
        let (code, message) = match condition {
            FinalCondition::EventAgeExceeded => (
                "EventAgeExceeded",
                "The event was older than the target's maximum event age.",
            ),
            _ => ("ResourceNotFound", "The target does not exist."),
        };
        let origin_key = if meta.schedule.is_some() {
            "SCHEDULE_ARN"
        } else {
            "RULE_ARN"
        };
        let origin = meta
            .rule
            .clone()
            .or(meta.schedule.clone())
            .unwrap_or_default();
        let attrs = json!({
            origin_key: origin,
            "TARGET_ARN": entry.target,
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message,
            "EXHAUSTED_RETRY_CONDITION": if condition == FinalCondition::EventAgeExceeded { "MaximumEventAgeExceeded" } else { "MaximumRetryAttemptsExceeded" },
            "RETRY_ATTEMPTS": entry.attempt.to_string(),
        });
        delivery::events::message_entry(dlq, entry.payload.clone(), attrs)
            .into_iter()
            .collect()
    }
}

impl Deliverer for EventsDeliverer {
    fn deliver<'a>(&'a self, entry: &'a OutboxEntry) -> BoxFuture<'a, (Outcome, RetryPolicy)> {
        Box::pin(async move {
            if entry.kind == PUT_KIND {
                let outcome = if self.bus_exists(&entry.target) {
                    Outcome::Success { response: vec![] }
                } else {
                    Outcome::Gone
                };
                return (outcome, self.policy(None));
            }
            let meta: Option<TargetMeta> = serde_json::from_str(&entry.meta).ok();
            (self.reachable(entry), self.policy(meta.as_ref()))
        })
    }

    fn finish(
        &self,
        entry: &OutboxEntry,
        _outcome: &Outcome,
        condition: FinalCondition,
    ) -> Vec<NewEntry> {
        let route_on = |arn: &str, hops: u32| -> Vec<NewEntry> {
            let Some((region, bus)) = bus_of(arn) else {
                return vec![];
            };
            if hops >= HOPS_MAX {
                tracing::warn!("event dropped after {hops} bus-to-bus hops at {arn}");
                return vec![];
            }
            match serde_json::from_slice::<Value>(&entry.payload) {
                Ok(event) => self.events.route_hops(&region, &bus, &event, hops + 1),
                Err(_) => vec![],
            }
        };
        if entry.kind == PUT_KIND {
            if condition != FinalCondition::Success {
                tracing::warn!("event for missing bus {} dropped", entry.target);
                return vec![];
            }
            return route_on(&entry.target, 0);
        }
        let Ok(meta) = serde_json::from_str::<TargetMeta>(&entry.meta) else {
            return vec![];
        };
        if condition != FinalCondition::Success {
            return self.dead_letter(entry, &meta, condition);
        }
        match crate::model::target_kind(&entry.target) {
            Some(TargetKind::Lambda) => vec![lambda::async_invoke_entry(
                &entry.target,
                entry.payload.clone(),
                &wire::id::uuid4(),
            )],
            Some(TargetKind::Bus { .. }) => route_on(&entry.target, meta.hops),
            Some(TargetKind::Message(kind)) => vec![NewEntry {
                kind: kind.into(),
                target: entry.target.clone(),
                payload: entry.payload.clone(),
                meta: "{}".into(),
                not_before_ms: 0,
            }],
            None => vec![],
        }
    }
}
