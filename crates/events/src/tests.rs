//! Rules, routing and timers against an in-memory store and a manual clock: firings,
//! catch-up after downtime and one-time schedules, without sleeping.

use crate::{Events, EventsConfig, Scheduler};
use serde_json::{json, Value};
use std::sync::Arc;
use store::{Outbox, OutboxEntry, ResourceStore, SqliteStore};
use wire::time::{Clock, ManualClock};
use wire::{ApiRequest, Service};

/// 2026-03-01T00:00:00Z
const T0: i64 = 1_772_323_200_000;
const MINUTE: i64 = 60_000;
const FUNCTION: &str = "arn:aws:lambda:us-east-1:000000000000:function:f";

struct Fixture {
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    events: Events,
}

impl Fixture {
    fn new() -> Self {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let clock = Arc::new(ManualClock::new(T0));
        let events = Self::open(&store, &clock);
        Self {
            store,
            clock,
            events,
        }
    }

    fn open(store: &Arc<SqliteStore>, clock: &Arc<ManualClock>) -> Events {
        let delivery = delivery::Delivery::new(store.clone(), clock.clone(), Default::default());
        Events::open(
            store.clone(),
            store.clone(),
            delivery,
            clock.clone(),
            EventsConfig::default(),
        )
        .unwrap()
    }

    /// A restart: everything is loaded again from the store.
    fn reopen(&mut self) {
        self.events = Self::open(&self.store, &self.clock);
    }

    async fn call(&self, op: &str, body: Value) -> Value {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amz-target", format!("AWSEvents.{op}").parse().unwrap());
        let resp = self
            .events
            .handle(request(http::Method::POST, "/", headers, body))
            .await;
        let v: Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(resp.status(), 200, "{op}: {v}");
        v
    }

    async fn scheduler(&self, method: http::Method, path: &str, body: Value) -> Value {
        let s = Scheduler::new(self.events.clone());
        let resp = s
            .handle(request(method, path, http::HeaderMap::new(), body))
            .await;
        let v: Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(resp.status(), 200, "{path}: {v}");
        v
    }

    /// Fires whatever is due now.
    async fn tick(&self) {
        assert!(self.events.fire_due().await);
    }

    fn advance(&self, ms: i64) {
        self.clock.advance(ms);
    }

    /// Takes the outbox entries due now.
    fn drain(&self) -> Vec<OutboxEntry> {
        self.store.claim_due(i64::MAX, 1000).unwrap()
    }
}

fn request(method: http::Method, path: &str, headers: http::HeaderMap, body: Value) -> ApiRequest {
    ApiRequest {
        method,
        path: path.to_string(),
        query: vec![],
        raw_query: String::new(),
        headers,
        body: body.to_string().into(),
        region: "us-east-1".into(),
        request_id: "r".into(),
        stream: None,
        caller: std::sync::Arc::new(wire::identity::Principal::Root),
    }
}

fn payload(e: &OutboxEntry) -> Value {
    serde_json::from_slice(&e.payload).unwrap()
}

#[tokio::test]
async fn put_events_routes_matching_events_to_every_target() {
    let f = Fixture::new();
    f.call(
        "PutRule",
        json!({"Name": "big", "EventPattern": r#"{"source":["shop"],"detail":{"total":[{"numeric":[">",100]}]}}"#}),
    )
    .await;
    f.call(
        "PutTargets",
        json!({"Rule": "big", "Targets": [
            {"Id": "a", "Arn": FUNCTION},
            {"Id": "b", "Arn": FUNCTION, "InputPath": "$.detail"},
        ]}),
    )
    .await;
    let out = f
        .call(
            "PutEvents",
            json!({"Entries": [
                {"Source": "shop", "DetailType": "order", "Detail": r#"{"total":250}"#},
                {"Source": "shop", "DetailType": "order", "Detail": r#"{"total":50}"#},
            ]}),
        )
        .await;
    assert_eq!(out["FailedEntryCount"], 0);
    let entries = f.drain();
    assert_eq!(
        entries.len(),
        2,
        "only the first event matches, once per target"
    );
    let whole = entries
        .iter()
        .find(|e| payload(e).get("id").is_some())
        .unwrap();
    assert_eq!(payload(whole)["id"], out["Entries"][0]["EventId"]);
    assert_eq!(payload(whole)["time"], "2026-03-01T00:00:00Z");
    assert!(entries.iter().any(|e| payload(e) == json!({"total": 250})));
}

#[tokio::test]
async fn disabled_rules_match_nothing() {
    let f = Fixture::new();
    f.call(
        "PutRule",
        json!({"Name": "r", "EventPattern": r#"{"source":["x"]}"#, "State": "DISABLED"}),
    )
    .await;
    f.call(
        "PutTargets",
        json!({"Rule": "r", "Targets": [{"Id": "a", "Arn": FUNCTION}]}),
    )
    .await;
    f.call(
        "PutEvents",
        json!({"Entries": [{"Source": "x", "DetailType": "t", "Detail": "{}"}]}),
    )
    .await;
    assert!(f.drain().is_empty());
}

#[tokio::test]
async fn scheduled_rule_fires_on_time_and_once_after_downtime() {
    let mut f = Fixture::new();
    f.call(
        "PutRule",
        json!({"Name": "tick", "ScheduleExpression": "rate(5 minutes)"}),
    )
    .await;
    f.call(
        "PutTargets",
        json!({"Rule": "tick", "Targets": [{"Id": "a", "Arn": FUNCTION}]}),
    )
    .await;

    f.advance(5 * MINUTE - 1);
    f.tick().await;
    assert!(f.drain().is_empty(), "not due yet");

    f.advance(1);
    f.tick().await;
    let fired = f.drain();
    assert_eq!(fired.len(), 1);
    let event = payload(&fired[0]);
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert_eq!(event["source"], "aws.events");
    assert_eq!(event["time"], "2026-03-01T00:05:00Z");
    assert_eq!(
        event["resources"],
        json!(["arn:aws:events:us-east-1:000000000000:rule/tick"])
    );

    // Down for an hour: twelve firings were missed; one happens at start-up.
    f.advance(60 * MINUTE);
    f.reopen();
    f.tick().await;
    assert_eq!(f.drain().len(), 1);
    f.tick().await;
    assert!(f.drain().is_empty(), "no burst of missed firings");
    // And the next one is on the rate's grid again.
    f.advance(5 * MINUTE);
    f.tick().await;
    assert_eq!(f.drain().len(), 1);
    // Lateness is counted since the restart: the catch-up firing and the one on time.
    let (fired, _, _, max_late) = f.events.lateness();
    assert_eq!(fired, 2);
    assert_eq!(
        max_late,
        55 * MINUTE,
        "the catch-up firing was due at 00:10"
    );
}

#[tokio::test]
async fn one_time_schedule_in_a_zone_fires_once_and_deletes_itself() {
    let f = Fixture::new();
    // 01:30 in Paris on 2026-03-01 is 00:30 UTC (winter time, UTC+1).
    f.scheduler(
        http::Method::POST,
        "/schedules/once",
        json!({
            "ScheduleExpression": "at(2026-03-01T01:30:00)",
            "ScheduleExpressionTimezone": "Europe/Paris",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "Target": {
                "Arn": FUNCTION,
                "RoleArn": "arn:aws:iam::000000000000:role/r",
                "Input": r#"{"at":"<aws.scheduler.scheduled-time>"}"#,
            },
        }),
    )
    .await;
    f.advance(30 * MINUTE - 1);
    f.tick().await;
    assert!(f.drain().is_empty());
    f.advance(1);
    f.tick().await;
    let fired = f.drain();
    assert_eq!(fired.len(), 1);
    assert_eq!(payload(&fired[0]), json!({"at": "2026-03-01T00:30:00Z"}));
    assert!(f.events.live().read().schedules.is_empty());
    assert!(f.store.resources(crate::SCHEDULE).unwrap().is_empty());
    assert_eq!(f.events.timer_count(), 0);
}

#[tokio::test]
async fn rules_and_schedules_survive_a_restart() {
    let mut f = Fixture::new();
    f.call("CreateEventBus", json!({"Name": "orders"})).await;
    f.call(
        "PutRule",
        json!({"Name": "r", "EventBusName": "orders", "EventPattern": r#"{"source":["x"]}"#}),
    )
    .await;
    f.call(
        "PutTargets",
        json!({"Rule": "r", "EventBusName": "orders", "Targets": [{"Id": "a", "Arn": FUNCTION}]}),
    )
    .await;
    f.scheduler(
        http::Method::POST,
        "/schedules/daily",
        json!({
            "ScheduleExpression": "cron(0 2 * * ? *)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": FUNCTION, "RoleArn": "arn:aws:iam::000000000000:role/r"},
        }),
    )
    .await;
    f.reopen();
    let rule = f
        .call(
            "DescribeRule",
            json!({"Name": "r", "EventBusName": "orders"}),
        )
        .await;
    assert_eq!(
        rule["Arn"],
        "arn:aws:events:us-east-1:000000000000:rule/orders/r"
    );
    f.call(
        "PutEvents",
        json!({"Entries": [{"Source": "x", "DetailType": "t", "Detail": "{}", "EventBusName": "orders"}]}),
    )
    .await;
    assert_eq!(f.drain().len(), 1);
    assert_eq!(f.events.timer_count(), 1);
    f.advance(2 * 60 * MINUTE);
    f.tick().await;
    assert_eq!(f.drain().len(), 1);
    assert_eq!(f.clock.now_ms(), T0 + 2 * 60 * MINUTE);
}
