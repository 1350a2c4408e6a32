//! The outbox deliverers: `sns-deliver` carries one message (or one subscription
//! confirmation) to one subscription; `sns-publish` publishes a message another service
//! addressed to a topic (EventBridge targets, Lambda destinations).

use crate::model::{self, Notice, NoticeKind, Protocol};
use crate::{Sns, SnsError, Subscription, DELIVER_KIND};
use base64::Engine;
use bytes::Bytes;
use delivery::{Deliverer, FinalCondition, Outcome, RetryPolicy};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use store::{NewEntry, OutboxEntry};
use wire::BoxFuture;

/// An http endpoint gets this long to answer one POST (SNS's default is 15 s).
const HTTP_TIMEOUT_MS: u64 = 15_000;
/// How much of an endpoint's answer is read before it is dropped.
const HTTP_RESPONSE_BYTES_MAX: usize = 64 * 1024;

/// SNS's http policy, shortened: three retries a second apart and doubling; then the
/// subscription's dead-letter queue, if it has one.
const HTTP_POLICY: RetryPolicy = RetryPolicy {
    max_retries: 3,
    max_age_ms: 3_600_000,
    base_delay_ms: 1_000,
};

/// Queues and functions: AWS retries for days; a local server a few times within the
/// hour, then the dead-letter queue.
const QUEUE_POLICY: RetryPolicy = RetryPolicy {
    max_retries: 5,
    max_age_ms: 3_600_000,
    base_delay_ms: 1_000,
};

/// Delivers `sns-deliver` and `sns-publish` outbox entries.
pub struct SnsDeliverer {
    sns: Sns,
}

/// Sends one message to a queue subscription: SNS's envelope, or with raw delivery the
/// message and its attributes; a FIFO topic's group and deduplication id go along.
pub(crate) async fn to_queue(
    sns: &Sns,
    sub: &Subscription,
    notice: &Notice,
) -> Result<String, sqs::SqsError> {
    let (body, attrs) = if sub.raw() {
        (notice.message.clone(), sqs_attrs(&notice.attrs))
    } else {
        (
            model::envelope(notice, &sub.arn, &sns.inner.urls).to_string(),
            BTreeMap::new(),
        )
    };
    sns.inner
        .sqs
        .send_typed_to_arn(&sub.endpoint, body, attrs, notice.fifo.clone())
        .await
}

impl SnsDeliverer {
    pub fn new(sns: Sns) -> Arc<Self> {
        Arc::new(Self { sns })
    }
}

fn failed(text: impl Into<String>) -> Outcome {
    Outcome::Failed {
        error: text.into().into_bytes(),
    }
}

/// Message attributes as SQS message attributes (raw delivery).
fn sqs_attrs(
    attrs: &BTreeMap<String, model::MessageAttr>,
) -> BTreeMap<String, sqs::model::AttrValue> {
    use sqs::model::{AttrData, AttrValue};
    attrs
        .iter()
        .map(|(k, a)| {
            let value = if a.data_type.starts_with("Binary") {
                AttrData::Binary(
                    base64::engine::general_purpose::STANDARD
                        .decode(&a.value)
                        .unwrap_or_default(),
                )
            } else {
                AttrData::Text(a.value.clone())
            };
            (
                k.clone(),
                AttrValue {
                    data_type: a.data_type.clone(),
                    value,
                },
            )
        })
        .collect()
}

/// POSTs `body` to an http or https endpoint and answers its status.
async fn post(url: &str, headers: &[(&str, &str)], body: String) -> Result<u16, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let authority = outbound::host_header(&uri);
    let exchange = async {
        let mut sender = outbound::connect(&uri).await?;
        let mut builder = http::Request::builder()
            .method(http::Method::POST)
            .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
            .header(http::header::HOST, authority)
            .header(http::header::CONTENT_TYPE, "text/plain; charset=UTF-8")
            .header(
                http::header::USER_AGENT,
                "Amazon Simple Notification Service Agent",
            );
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let req = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        // Read (a bounded part of) the answer so the endpoint sees a clean exchange.
        let _ = Limited::new(resp.into_body(), HTTP_RESPONSE_BYTES_MAX)
            .collect()
            .await;
        Ok::<u16, String>(status)
    };
    match tokio::time::timeout(Duration::from_millis(HTTP_TIMEOUT_MS), exchange).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {HTTP_TIMEOUT_MS} ms")),
    }
}

impl SnsDeliverer {
    fn subscription(&self, arn: &str) -> Option<Subscription> {
        self.sns.live().read().subs.get(arn).cloned()
    }

    async fn deliver_one(&self, entry: &OutboxEntry) -> (Outcome, RetryPolicy) {
        let notice = serde_json::from_slice::<Value>(&entry.payload)
            .ok()
            .and_then(|v| Notice::from_json(&v));
        let Some(notice) = notice else {
            tracing::warn!("dropping an unreadable SNS delivery for {}", entry.target);
            return (Outcome::Gone, QUEUE_POLICY);
        };
        // Unsubscribed (or its topic deleted) since the publish: nothing to deliver.
        let Some(sub) = self.subscription(&entry.target) else {
            return (Outcome::Gone, QUEUE_POLICY);
        };
        let urls = &self.sns.inner.urls;
        match sub.protocol {
            Protocol::Sqs => {
                let sent = to_queue(&self.sns, &sub, &notice).await;
                let outcome = match sent {
                    Ok(id) => Outcome::Success {
                        response: id.into_bytes(),
                    },
                    Err(e) => {
                        tracing::warn!("SNS delivery to {} failed: {e}", sub.endpoint);
                        failed(e.to_string())
                    }
                };
                (outcome, QUEUE_POLICY)
            }
            // The invoke itself is the follow-up `finish` names: Lambda's async path
            // owns its retries and destinations from there.
            Protocol::Lambda => (
                Outcome::Success {
                    response: Vec::new(),
                },
                QUEUE_POLICY,
            ),
            Protocol::Http | Protocol::Https => {
                let (kind, body) = match &notice.kind {
                    NoticeKind::Confirmation { .. } => (
                        "SubscriptionConfirmation",
                        model::envelope(&notice, &sub.arn, urls).to_string(),
                    ),
                    NoticeKind::Notification if sub.raw() => {
                        ("Notification", notice.message.clone())
                    }
                    NoticeKind::Notification => (
                        "Notification",
                        model::envelope(&notice, &sub.arn, urls).to_string(),
                    ),
                };
                let mut headers = vec![
                    ("x-amz-sns-message-type", kind),
                    ("x-amz-sns-message-id", notice.message_id.as_str()),
                    ("x-amz-sns-topic-arn", notice.topic_arn.as_str()),
                ];
                if matches!(notice.kind, NoticeKind::Notification) {
                    headers.push(("x-amz-sns-subscription-arn", sub.arn.as_str()));
                }
                if sub.raw() {
                    headers.push(("x-amz-sns-rawdelivery", "true"));
                }
                let outcome = match post(&sub.endpoint, &headers, body).await {
                    Ok(status) if (200..300).contains(&status) => Outcome::Success {
                        response: Vec::new(),
                    },
                    Ok(status) => failed(format!("the endpoint answered HTTP {status}")),
                    Err(e) => failed(e),
                };
                if let Outcome::Failed { error } = &outcome {
                    tracing::info!(
                        "SNS delivery to {} failed: {}",
                        sub.endpoint,
                        String::from_utf8_lossy(error)
                    );
                }
                (outcome, HTTP_POLICY)
            }
        }
    }

    async fn publish_one(&self, entry: &OutboxEntry) -> (Outcome, RetryPolicy) {
        let meta: Value = serde_json::from_str(&entry.meta).unwrap_or(Value::Null);
        let attrs = crate::string_map(&meta["MessageAttributes"]);
        let body = String::from_utf8_lossy(&entry.payload).into_owned();
        let outcome = match self
            .sns
            .publish_from_entry(&entry.target, body, attrs)
            .await
        {
            Ok(id) => Outcome::Success {
                response: id.into_bytes(),
            },
            Err(SnsError::Internal(e)) => failed(e),
            Err(e) => {
                tracing::warn!("dropping the message for {}: {e}", entry.target);
                Outcome::Gone
            }
        };
        (outcome, QUEUE_POLICY)
    }
}

impl Deliverer for SnsDeliverer {
    fn deliver<'a>(&'a self, entry: &'a OutboxEntry) -> BoxFuture<'a, (Outcome, RetryPolicy)> {
        Box::pin(async move {
            if entry.kind == DELIVER_KIND {
                self.deliver_one(entry).await
            } else {
                self.publish_one(entry).await
            }
        })
    }

    fn finish(
        &self,
        entry: &OutboxEntry,
        outcome: &Outcome,
        condition: FinalCondition,
    ) -> Vec<NewEntry> {
        if entry.kind != DELIVER_KIND {
            return Vec::new();
        }
        let Some(sub) = self.subscription(&entry.target) else {
            return Vec::new();
        };
        let notice = serde_json::from_slice::<Value>(&entry.payload)
            .ok()
            .and_then(|v| Notice::from_json(&v));
        let Some(notice) = notice.filter(|n| n.kind == NoticeKind::Notification) else {
            return Vec::new();
        };
        let urls = &self.sns.inner.urls;
        if condition == FinalCondition::Success {
            if sub.protocol == Protocol::Lambda && matches!(outcome, Outcome::Success { .. }) {
                let event = model::lambda_event(&notice, &sub.arn, urls);
                return vec![lambda::async_invoke_entry(
                    &sub.endpoint,
                    event.to_string().into_bytes(),
                    &wire::id::uuid4(),
                )];
            }
            return Vec::new();
        }
        // Undeliverable: to the subscription's dead-letter queue, as SNS does, with the
        // message as the subscriber would have received it.
        let Some(dlq) = sub
            .attrs
            .get("RedrivePolicy")
            .and_then(|p| model::dead_letter_arn(p).ok())
        else {
            tracing::warn!(
                "SNS message {} for {} was not delivered and has no dead-letter queue",
                notice.message_id,
                sub.arn
            );
            return Vec::new();
        };
        let body = if sub.raw() {
            notice.message.clone()
        } else {
            model::envelope(&notice, &sub.arn, urls).to_string()
        };
        delivery::events::message_entry(&dlq, body.into_bytes(), serde_json::json!({}))
            .into_iter()
            .collect()
    }
}
