//! How any service hands an event to EventBridge: the event envelope and the outbox entry
//! that puts it on a bus. They live here, beside the outbox, so that Lambda, S3 and the
//! event bus itself share them without depending on one another.

use serde_json::{json, Value};
use store::NewEntry;

/// An event to put on a bus (S3 notifications, Lambda destinations, bus-to-bus hops,
/// schedules). The target is the bus ARN, the payload the event.
pub const PUT_KIND: &str = "events-put";

/// A dead letter or destination message for an SQS queue.
pub const SQS_SEND_KIND: &str = "sqs-send";
/// A message for an SNS topic (EventBridge targets and dead letters, Lambda destinations).
pub const SNS_PUBLISH_KIND: &str = "sns-publish";

/// An event as EventBridge delivers it (field names and order as AWS writes them; the
/// order is restored when the event is serialized for a target).
pub fn envelope(
    region: &str,
    source: &str,
    detail_type: &str,
    detail: Value,
    resources: Value,
    time: &str,
) -> Value {
    json!({
        "version": "0",
        "id": wire::id::uuid4(),
        "detail-type": detail_type,
        "source": source,
        "account": wire::ACCOUNT_ID,
        "time": time,
        "region": region,
        "resources": resources,
        "detail": detail,
    })
}

/// The outbox entry that puts `event` on the bus `bus_arn`.
pub fn put_entry(bus_arn: &str, event: &Value) -> NewEntry {
    NewEntry {
        kind: PUT_KIND.into(),
        target: bus_arn.to_string(),
        payload: event.to_string().into_bytes(),
        meta: "{}".into(),
        not_before_ms: 0,
    }
}

/// The outbox entry that sends `body` to a queue or topic ARN with message attributes
/// (`None` for other ARNs).
pub fn message_entry(arn: &str, body: Vec<u8>, attributes: Value) -> Option<NewEntry> {
    let kind = match arn.split(':').nth(2) {
        Some("sqs") => SQS_SEND_KIND,
        Some("sns") => SNS_PUBLISH_KIND,
        _ => return None,
    };
    Some(NewEntry {
        kind: kind.into(),
        target: arn.to_string(),
        payload: body,
        meta: json!({ "MessageAttributes": attributes }).to_string(),
        not_before_ms: 0,
    })
}
