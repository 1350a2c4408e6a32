//! EventBridge (json 1.1, `events/2015-10-07`) and EventBridge Scheduler (rest-json,
//! `scheduler/2021-06-30`): buses, rules with event patterns and schedules, targets,
//! PutEvents, and schedules that fire on time.
//!
//! Invariants: the state lives in memory and is written through to the store before a
//! call answers; every change to it happens under the writer lock, so memory and store
//! agree. An event leaves PutEvents, a schedule or a rule only as outbox entries committed
//! in one transaction (with the timer's next due time, for firings).

mod api;
mod deliver;
mod error;
mod model;
mod scheduler;
mod timers;
pub mod transform;

pub use deliver::{EventsDeliverer, TARGET_KIND};
pub use delivery::events::{envelope, put_entry, PUT_KIND};
pub use error::EventsError;
pub use model::bus_arn;
pub use scheduler::Scheduler;

use error::Result;
use model::Target;
use pattern::{Pattern, RuleSet};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use store::{FunctionStore, Live, NewEntry, ResourceStore, ResourceWrite};
use wire::time::Clock;

/// Settings.
#[derive(Debug, Clone, Copy)]
pub struct EventsConfig {
    /// The first retry of a failed target delivery waits this long (doubling after).
    pub retry_base_delay_ms: i64,
    /// Rules per event bus (AWS's default quota is 300).
    pub rules_per_bus_max: usize,
    /// Schedules in all regions together.
    pub schedules_max: usize,
    /// Custom event buses per region (AWS's quota is 100).
    pub buses_max: usize,
    /// Schedule groups per region (AWS's quota is 500).
    pub groups_max: usize,
    /// Timers fired in one transaction.
    pub fire_batch_max: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            retry_base_delay_ms: 1000,
            rules_per_bus_max: 2000,
            schedules_max: 1_000_000,
            buses_max: 100,
            groups_max: 500,
            fire_batch_max: 512,
        }
    }
}

/// Resource kinds in the store.
const BUS: &str = "events.bus";
const RULE: &str = "events.rule";
const GROUP: &str = "scheduler.group";
const SCHEDULE: &str = "scheduler.schedule";

/// (region, bus, rule name)
type RuleKey = (String, String, String);
/// (region, group, schedule name)
type ScheduleKey = (String, String, String);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKey {
    Rule(RuleKey),
    Schedule(ScheduleKey),
}

/// A rule with its compiled pattern, schedule and targets.
#[derive(Debug, Clone)]
struct Rule {
    /// The stored record: DescribeRule's fields plus `Targets`, `Tags` and `CreatedMs`.
    body: Value,
    pattern: Option<Pattern>,
    schedule: Option<schedule::Expression>,
    targets: Vec<Target>,
    /// When a scheduled, enabled rule fires next.
    due_ms: Option<i64>,
}

impl Rule {
    fn enabled(&self) -> bool {
        self.body["State"].as_str() != Some("DISABLED")
    }
    fn arn(&self) -> &str {
        self.body["Arn"].as_str().unwrap_or_default()
    }
}

/// A Scheduler schedule with its compiled expression.
#[derive(Debug, Clone)]
struct Schedule {
    body: Value,
    expression: schedule::Expression,
    zone: schedule::Zone,
    /// The nominal time of the next firing (what the store keeps).
    due_ms: Option<i64>,
    /// The flexible window's random delay for that firing.
    offset_ms: i64,
}

#[derive(Default)]
struct State {
    /// (region, name) -> the stored record. The default bus of each region is implicit.
    buses: BTreeMap<(String, String), Value>,
    rules: BTreeMap<RuleKey, Rule>,
    /// Compiled pattern rules per (region, bus), rebuilt when a rule there changes.
    matchers: HashMap<(String, String), Arc<RuleSet<RuleKey>>>,
    groups: BTreeMap<(String, String), Value>,
    schedules: BTreeMap<ScheduleKey, Schedule>,
    /// Armed timers by the time they fire.
    timers: BTreeSet<(i64, TimerKey)>,
}

impl State {
    fn bus_exists(&self, region: &str, name: &str) -> bool {
        name == model::DEFAULT_BUS || self.buses.contains_key(&(region.into(), name.into()))
    }

    fn rebuild_matcher(&mut self, region: &str, bus: &str) {
        let mut set = RuleSet::new();
        let lo = (region.to_string(), bus.to_string(), String::new());
        for (k, r) in self.rules.range(lo..) {
            if k.0 != region || k.1 != bus {
                break;
            }
            if let (Some(p), true) = (&r.pattern, r.enabled()) {
                set.insert(k.clone(), p.clone());
            }
        }
        self.matchers
            .insert((region.to_string(), bus.to_string()), Arc::new(set));
    }

    fn set_rule_timer(&mut self, key: &RuleKey, due: Option<i64>) {
        if let Some(r) = self.rules.get_mut(key) {
            if let Some(old) = r.due_ms.take() {
                self.timers.remove(&(old, TimerKey::Rule(key.clone())));
            }
            r.due_ms = due;
            if let Some(d) = due {
                self.timers.insert((d, TimerKey::Rule(key.clone())));
            }
        }
    }

    fn set_schedule_timer(&mut self, key: &ScheduleKey, due: Option<i64>, offset_ms: i64) {
        if let Some(s) = self.schedules.get_mut(key) {
            if let Some(old) = s.due_ms.take() {
                self.timers
                    .remove(&(old + s.offset_ms, TimerKey::Schedule(key.clone())));
            }
            s.due_ms = due;
            s.offset_ms = offset_ms;
            if let Some(d) = due {
                self.timers
                    .insert((d + offset_ms, TimerKey::Schedule(key.clone())));
            }
        }
    }
}

/// Lateness samples kept for the firing statistics.
const LATENESS_SAMPLES_MAX: usize = 100_000;

struct Inner {
    functions: Arc<dyn FunctionStore>,
    delivery: delivery::Delivery,
    clock: Arc<dyn Clock>,
    cfg: EventsConfig,
    /// Buses, rules, groups, schedules and timers, written through to the store; read by
    /// PutEvents and deliveries without waiting for writers' store commits.
    live: Live<State>,
    /// Wakes the timer loop when the earliest timer may have changed.
    timers_changed: tokio::sync::Notify,
    /// How late firings were (ms), newest last; bounded.
    lateness: Mutex<std::collections::VecDeque<i64>>,
}

/// The EventBridge service; [`Scheduler`] shares its state.
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

impl Events {
    /// Loads the stored buses, rules, groups and schedules.
    pub fn open(
        store: Arc<dyn ResourceStore>,
        functions: Arc<dyn FunctionStore>,
        delivery: delivery::Delivery,
        clock: Arc<dyn Clock>,
        cfg: EventsConfig,
    ) -> Result<Self> {
        let mut st = State::default();
        for r in store.resources(BUS)? {
            if let Ok(v) = serde_json::from_str(&r.body) {
                st.buses.insert((r.scope, r.name), v);
            }
        }
        for r in store.resources(RULE)? {
            let Some((region, bus)) = r.scope.split_once('/') else {
                continue;
            };
            let Ok(body) = serde_json::from_str::<Value>(&r.body) else {
                tracing::warn!("skipping unreadable rule {}/{}", r.scope, r.name);
                continue;
            };
            match compile_rule(body) {
                Ok(rule) => {
                    let key = (region.to_string(), bus.to_string(), r.name);
                    st.rules.insert(key.clone(), rule);
                    st.set_rule_timer(&key, r.due_ms);
                }
                Err(e) => tracing::warn!("skipping rule {}/{}: {e}", r.scope, r.name),
            }
        }
        let pairs: BTreeSet<(String, String)> = st
            .rules
            .keys()
            .map(|k| (k.0.clone(), k.1.clone()))
            .collect();
        for (region, bus) in pairs {
            st.rebuild_matcher(&region, &bus);
        }
        for r in store.resources(GROUP)? {
            if let Ok(v) = serde_json::from_str(&r.body) {
                st.groups.insert((r.scope, r.name), v);
            }
        }
        for r in store.resources(SCHEDULE)? {
            let Some((region, group)) = r.scope.split_once('/') else {
                continue;
            };
            let Ok(body) = serde_json::from_str::<Value>(&r.body) else {
                continue;
            };
            match scheduler::compile(body) {
                Ok(s) => {
                    let key = (region.to_string(), group.to_string(), r.name);
                    let offset = scheduler::flexible_offset_ms(&s.body);
                    st.schedules.insert(key.clone(), s);
                    st.set_schedule_timer(&key, r.due_ms, offset);
                }
                Err(e) => tracing::warn!("skipping schedule {}/{}: {e}", r.scope, r.name),
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                functions,
                delivery,
                clock,
                cfg,
                live: Live::new(store, st),
                timers_changed: tokio::sync::Notify::new(),
                lateness: Mutex::new(Default::default()),
            }),
        })
    }

    /// The buses, rules, groups, schedules and timers, written through to the store.
    fn live(&self) -> &Live<State> {
        &self.inner.live
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Commits writes and outbox entries, off the async threads, and wakes the delivery
    /// worker for the entries.
    async fn commit(&self, writes: Vec<ResourceWrite>, entries: Vec<NewEntry>) -> Result<()> {
        let has_entries = !entries.is_empty();
        self.live().commit(writes, entries, self.now_ms()).await?;
        if has_entries {
            self.inner.delivery.wake();
        }
        Ok(())
    }

    /// The outbox entries that deliver `event` to the targets of every enabled rule on
    /// `bus` whose pattern matches it.
    fn route(&self, region: &str, bus: &str, event: &Value) -> Vec<NewEntry> {
        self.route_hops(region, bus, event, 0)
    }

    /// [`Self::route`] for an event that already crossed `hops` buses.
    fn route_hops(&self, region: &str, bus: &str, event: &Value, hops: u32) -> Vec<NewEntry> {
        let st = self.live().read();
        let Some(set) = st.matchers.get(&(region.to_string(), bus.to_string())) else {
            return vec![];
        };
        let mut out = Vec::new();
        let ingestion = wire::time::iso8601(self.now_ms());
        for key in set.matching(event) {
            if let Some(rule) = st.rules.get(&key) {
                target_entries(rule, &key.2, event, &ingestion, hops, &mut out);
            }
        }
        out
    }

    /// Firing lateness so far: (count, p50 ms, p99 ms, max ms).
    pub fn lateness(&self) -> (usize, i64, i64, i64) {
        let mut v: Vec<i64> = self
            .inner
            .lateness
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        if v.is_empty() {
            return (0, 0, 0, 0);
        }
        v.sort_unstable();
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        (v.len(), at(0.5), at(0.99), *v.last().unwrap_or(&0))
    }

    /// Counts of rules and schedules with armed timers, for health output.
    pub fn timer_count(&self) -> usize {
        self.live().read().timers.len()
    }
}

/// Appends the deliveries of `event` to each of `rule`'s targets.
fn target_entries(
    rule: &Rule,
    rule_name: &str,
    event: &Value,
    ingestion: &str,
    hops: u32,
    out: &mut Vec<NewEntry>,
) {
    let ctx = transform::Context {
        rule_arn: rule.arn(),
        rule_name,
        ingestion_time: ingestion,
    };
    let event_id = event["id"].as_str().unwrap_or_default();
    for t in &rule.targets {
        let payload = match t.input.render(event, &ctx) {
            Ok(p) => p,
            Err(e) => {
                // AWS counts these as failed invocations; the event is not delivered.
                tracing::warn!("rule {} target {}: {e}", rule.arn(), t.id);
                continue;
            }
        };
        out.push(deliver::target_entry(
            &deliver::Delivery {
                arn: &t.arn,
                retries: t.max_retries,
                age_s: t.max_age_s,
                dlq: t.dead_letter_arn.as_deref(),
            },
            payload.into_bytes(),
            deliver::Origin::Rule(rule.arn().to_string()),
            event_id,
            hops,
        ));
    }
}

/// Compiles a stored or new rule record.
fn compile_rule(body: Value) -> Result<Rule> {
    let pattern = match body["EventPattern"].as_str() {
        Some(p) => {
            Some(Pattern::parse(p).map_err(|e| error::EventsError::InvalidPattern(e.to_string()))?)
        }
        None => None,
    };
    let schedule = match body["ScheduleExpression"].as_str() {
        Some(s) => Some(schedule::parse(s, schedule::Flavor::Rule).map_err(|_| {
            error::EventsError::Validation("Parameter ScheduleExpression is not valid.".into())
        })?),
        None => None,
    };
    let targets = body["Targets"]
        .as_array()
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, t)| model::parse_target(t, i + 1))
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(Rule {
        body,
        pattern,
        schedule,
        targets,
        due_ms: None,
    })
}

/// Whether a Lambda target names a function (and version or alias) that exists.
fn function_exists(functions: &dyn FunctionStore, arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    let (Some(region), Some(name)) = (parts.get(3), parts.get(6)) else {
        return false;
    };
    match functions.function_meta(region, name) {
        Ok(Some(_)) => {}
        _ => return false,
    }
    match parts.get(7) {
        None | Some(&"$LATEST") => true,
        Some(q) if q.bytes().all(|b| b.is_ascii_digit()) => {
            matches!(functions.version(region, name, q), Ok(Some(_)))
        }
        Some(q) => matches!(functions.alias(region, name, q), Ok(Some(_))),
    }
}

#[cfg(test)]
mod tests;
