//! The pure core of SNS: names and ARNs, topic and subscription attributes, message
//! attributes, filter-policy documents and the shapes a subscriber receives. No IO;
//! time comes in as arguments.

use crate::error::{Result, SnsError};
use crate::form::Form;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Longest message, attributes included, in bytes (256 KiB).
pub const MESSAGE_BYTES_MAX: usize = 262_144;
/// Entries in one PublishBatch.
pub const BATCH_ENTRIES_MAX: usize = 10;
/// Longest Subject, in characters.
pub const SUBJECT_CHARS_MAX: usize = 100;
/// Tags on one topic.
pub const TAGS_MAX: usize = 50;
/// Topics per region (AWS's default quota).
pub const TOPICS_PER_REGION_MAX: usize = 100_000;
/// Subscriptions per topic: AWS allows 12.5 million, a local server's memory less.
pub const SUBSCRIPTIONS_PER_TOPIC_MAX: usize = 10_000;
/// Items per page of the List operations.
pub const PAGE_MAX: usize = 100;
/// How long a FIFO topic remembers a deduplication id, in milliseconds.
pub const DEDUP_WINDOW_MS: i64 = 300_000;

fn invalid(text: impl Into<String>) -> SnsError {
    SnsError::InvalidParameter(text.into())
}

/// Whether `name` is a valid topic name: `[A-Za-z0-9_-]{1,256}`, or for FIFO topics the
/// same ending in `.fifo` (256 characters in all).
pub fn valid_topic_name(name: &str, fifo: bool) -> bool {
    let stem = if fifo {
        match name.strip_suffix(".fifo") {
            Some(s) => s,
            None => return false,
        }
    } else {
        name
    };
    !stem.is_empty()
        && name.len() <= 256
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub fn topic_arn(region: &str, name: &str) -> String {
    format!("arn:aws:sns:{region}:{}:{name}", wire::ACCOUNT_ID)
}

/// (region, name) of a topic ARN.
pub fn parse_topic_arn(arn: &str) -> Option<(String, String)> {
    let p: Vec<&str> = arn.split(':').collect();
    match p.as_slice() {
        ["arn", "aws", "sns", region, _, name]
            if !region.is_empty()
                && (valid_topic_name(name, false) || valid_topic_name(name, true)) =>
        {
            Some((region.to_string(), name.to_string()))
        }
        _ => None,
    }
}

/// The topic ARN of a subscription ARN (`<topic arn>:<id>`).
pub fn topic_of_subscription(arn: &str) -> Option<&str> {
    let (topic, id) = arn.rsplit_once(':')?;
    (parse_topic_arn(topic).is_some() && !id.is_empty()).then_some(topic)
}

/// Whether `arn` names a Lambda function (optionally with a version or alias).
pub fn valid_function_arn(arn: &str) -> bool {
    let p: Vec<&str> = arn.split(':').collect();
    matches!(p.as_slice(), ["arn", "aws", "lambda", region, _, "function", name, ..]
        if !region.is_empty() && !name.is_empty() && p.len() <= 8)
}

fn parse_bool(name: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(format!(
            "Invalid parameter: Attributes Reason: {name}: Invalid value [{v}]. Must be true or false."
        ))),
    }
}

fn check_json(name: &str, v: &str) -> Result<()> {
    match serde_json::from_str::<Value>(v) {
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(invalid(format!(
            "Invalid parameter: Attributes Reason: {name}: failed to parse JSON."
        ))),
    }
}

/// Topic attributes a caller may set (CreateTopic and SetTopicAttributes), besides
/// `FifoTopic`, which only CreateTopic takes.
const TOPIC_SETTABLE: [&str; 14] = [
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
    "ContentBasedDeduplication",
    "ArchivePolicy",
    "DataProtectionPolicy",
    "FifoThroughputScope",
    "HTTPSuccessFeedbackRoleArn",
    "HTTPFailureFeedbackRoleArn",
    "SQSSuccessFeedbackRoleArn",
    "SQSFailureFeedbackRoleArn",
];

/// Checks one topic attribute and returns its stored value.
pub fn check_topic_attribute(name: &str, value: &str, fifo: bool) -> Result<String> {
    match name {
        "DisplayName" if value.chars().count() > 100 => Err(invalid(
            "Invalid parameter: Attributes Reason: DisplayName: must be at most 100 characters.",
        )),
        "Policy" | "DeliveryPolicy" | "DataProtectionPolicy" | "ArchivePolicy"
            if !value.is_empty() =>
        {
            check_json(name, value).map(|()| value.to_string())
        }
        "ContentBasedDeduplication" => {
            let on = parse_bool(name, value)?;
            if on && !fifo {
                return Err(invalid(
                    "Invalid parameter: Attributes Reason: Content-based deduplication can only be set for FIFO topics",
                ));
            }
            Ok(on.to_string())
        }
        "SignatureVersion" if !matches!(value, "1" | "2") => Err(invalid(
            "Invalid parameter: Attributes Reason: SignatureVersion: must be 1 or 2.",
        )),
        "TracingConfig" if !matches!(value, "PassThrough" | "Active") => Err(invalid(
            "Invalid parameter: Attributes Reason: TracingConfig: must be PassThrough or Active.",
        )),
        n if TOPIC_SETTABLE.contains(&n) => Ok(value.to_string()),
        _ => Err(invalid("Invalid parameter: AttributeName")),
    }
}

/// The policy a topic has until one is set: the account may do everything.
pub fn default_topic_policy(arn: &str) -> String {
    let acct = wire::ACCOUNT_ID;
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic", "SNS:Publish"
            ],
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": acct}}
        }]
    })
    .to_string()
}

/// SNS's default delivery policy for http endpoints, as GetTopicAttributes reports it.
pub fn default_effective_delivery_policy() -> String {
    json!({"http": {
        "defaultHealthyRetryPolicy": {
            "minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3,
            "numMaxDelayRetries": 0, "numNoDelayRetries": 0, "numMinDelayRetries": 0,
            "backoffFunction": "linear"
        },
        "disableSubscriptionOverrides": false,
        "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"}
    }})
    .to_string()
}

/// A delivery protocol Eddy delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Sqs,
    Lambda,
    Http,
    Https,
}

impl Protocol {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sqs => "sqs",
            Self::Lambda => "lambda",
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    /// The protocol of a Subscribe call, with its endpoint checked.
    pub fn parse(protocol: &str, endpoint: &str) -> Result<Self> {
        let p = match protocol {
            "sqs" => Self::Sqs,
            "lambda" => Self::Lambda,
            "http" => Self::Http,
            "https" => Self::Https,
            "email" | "email-json" | "sms" | "application" | "firehose" => {
                return Err(invalid(format!(
                    "Invalid parameter: Eddy cannot deliver to {protocol} endpoints yet (it delivers to sqs, lambda, http and https)."
                )))
            }
            other => {
                return Err(invalid(format!(
                    "Invalid parameter: Amazon SNS does not support this protocol string: {other}"
                )))
            }
        };
        let ok = match p {
            Self::Sqs => sqs::model::parse_queue_arn(endpoint).is_some(),
            Self::Lambda => valid_function_arn(endpoint),
            Self::Http => endpoint
                .strip_prefix("http://")
                .is_some_and(|rest| !rest.is_empty()),
            Self::Https => endpoint
                .strip_prefix("https://")
                .is_some_and(|rest| !rest.is_empty()),
        };
        if !ok {
            let what = match p {
                Self::Sqs => "Invalid parameter: SQS endpoint ARN",
                Self::Lambda => "Invalid parameter: Lambda endpoint ARN",
                Self::Http | Self::Https => {
                    "Invalid parameter: Endpoint must match the specified protocol"
                }
            };
            return Err(invalid(what));
        }
        Ok(p)
    }

    /// http and https: web endpoints, which confirm their subscriptions.
    pub fn is_web(&self) -> bool {
        matches!(self, Self::Http | Self::Https)
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "sqs" => Some(Self::Sqs),
            "lambda" => Some(Self::Lambda),
            "http" => Some(Self::Http),
            "https" => Some(Self::Https),
            _ => None,
        }
    }
}

/// Where a filter policy looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterScope {
    MessageAttributes,
    MessageBody,
}

/// A compiled filter policy.
#[derive(Debug, Clone)]
pub struct Filter {
    pub scope: FilterScope,
    pub pattern: pattern::Pattern,
}

/// Compiles a FilterPolicy text; the error is SNS's InvalidParameter.
pub fn parse_filter_policy(text: &str) -> Result<pattern::Pattern> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        invalid(format!(
            "Invalid parameter: FilterPolicy: failed to parse JSON. {e}"
        ))
    })?;
    if !v.is_object() {
        return Err(invalid(
            "Invalid parameter: FilterPolicy: Filter policy must be a JSON object",
        ));
    }
    pattern::Pattern::parse(text)
        .map_err(|e| invalid(format!("Invalid parameter: FilterPolicy: {}", e.reason())))
}

/// Checks one subscription attribute for a protocol and returns its stored value.
pub fn check_subscription_attribute(name: &str, value: &str, protocol: Protocol) -> Result<String> {
    match name {
        "FilterPolicy" => {
            if !value.is_empty() {
                parse_filter_policy(value)?;
            }
            Ok(value.to_string())
        }
        "FilterPolicyScope" => match value {
            "MessageAttributes" | "MessageBody" => Ok(value.to_string()),
            _ => Err(invalid(
                "Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value ["
                    .to_string()
                    + value
                    + "]. Please use either MessageBody or MessageAttributes",
            )),
        },
        "RawMessageDelivery" => {
            let on = parse_bool(name, value)?;
            if on && protocol == Protocol::Lambda {
                return Err(invalid(
                    "Invalid parameter: Attributes Reason: Delivery protocol [lambda] does not support raw message delivery.",
                ));
            }
            Ok(on.to_string())
        }
        "RedrivePolicy" => {
            if value.is_empty() {
                return Ok(String::new());
            }
            dead_letter_arn(value).map(|_| value.to_string())
        }
        "DeliveryPolicy" | "ReplayPolicy" => {
            if !value.is_empty() {
                check_json(name, value)?;
            }
            Ok(value.to_string())
        }
        "SubscriptionRoleArn" => Ok(value.to_string()),
        _ => Err(invalid("Invalid parameter: AttributeName")),
    }
}

/// The dead-letter queue ARN of a RedrivePolicy text.
pub fn dead_letter_arn(text: &str) -> Result<String> {
    let v: Value = serde_json::from_str(text)
        .map_err(|_| invalid("Invalid parameter: RedrivePolicy: failed to parse JSON."))?;
    let arn = v
        .get("deadLetterTargetArn")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid("Invalid parameter: RedrivePolicy: deadLetterTargetArn is missing")
        })?;
    if sqs::model::parse_queue_arn(arn).is_none() {
        return Err(invalid(
            "Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn",
        ));
    }
    Ok(arn.to_string())
}

/// One message attribute: its type and value (binary values base64, as in the
/// notification's `MessageAttributes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttr {
    pub data_type: String,
    pub value: String,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Whether an attribute name is valid (SQS's rules, which SNS shares).
fn valid_attribute_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (1..=256).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.")
}

/// Checks one attribute as the query protocol sends it (`Value.DataType`,
/// `Value.StringValue`, `Value.BinaryValue`).
pub fn parse_message_attr(name: &str, v: &Form) -> Result<MessageAttr> {
    let bad = |text: String| SnsError::InvalidParameterValue(text);
    if !valid_attribute_name(name) {
        return Err(bad(format!(
            "The message attribute name '{name}' is invalid."
        )));
    }
    let data_type = v.get("DataType").unwrap_or_default();
    if data_type.is_empty() {
        return Err(bad(format!(
            "The message attribute '{name}' must contain non-empty message attribute type."
        )));
    }
    let base = if data_type == "String.Array" {
        "String.Array"
    } else {
        data_type.split('.').next().unwrap_or_default()
    };
    let value = match base {
        "String" | "Number" | "String.Array" => {
            let s = v.get("StringValue").unwrap_or_default();
            if s.is_empty() {
                return Err(bad(format!(
                    "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
                )));
            }
            if base == "Number" && s.trim().parse::<f64>().map_or(true, |n| !n.is_finite()) {
                return Err(bad(format!(
                    "An error occurred while trying to parse the Number value of message attribute '{name}'."
                )));
            }
            if base == "String.Array" && !serde_json::from_str::<Value>(s).is_ok_and(|a| a.is_array()) {
                return Err(bad(format!(
                    "The message attribute '{name}' with type 'String.Array' must be a JSON array."
                )));
            }
            s.to_string()
        }
        "Binary" => {
            let s = v.get("BinaryValue").unwrap_or_default();
            if s.is_empty() || b64().decode(s).is_err() {
                return Err(bad(format!(
                    "The message attribute '{name}' must contain non-empty message attribute value for message attribute type 'Binary'."
                )));
            }
            s.to_string()
        }
        _ => {
            return Err(bad(format!(
                "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
            )))
        }
    };
    Ok(MessageAttr {
        data_type: data_type.to_string(),
        value,
    })
}

/// The size a message counts against the 256 KiB limit: the body plus every
/// attribute's name, type and value.
pub fn message_size(message: &str, attrs: &BTreeMap<String, MessageAttr>) -> usize {
    message.len()
        + attrs
            .iter()
            .map(|(k, a)| k.len() + a.data_type.len() + a.value.len())
            .sum::<usize>()
}

/// Checks a Subject: at most 100 printable ASCII characters, no line breaks.
pub fn check_subject(subject: &str) -> Result<()> {
    let ok = !subject.is_empty()
        && subject.chars().count() <= SUBJECT_CHARS_MAX
        && subject
            .chars()
            .all(|c| c.is_ascii() && !c.is_ascii_control());
    if ok {
        Ok(())
    } else {
        Err(invalid("Invalid parameter: Subject"))
    }
}

/// The per-protocol messages of a `MessageStructure=json` message, checked: a JSON
/// object with a string `default`.
pub fn structured_messages(message: &str) -> Result<Map<String, Value>> {
    let v: Value = serde_json::from_str(message).map_err(|_| {
        invalid("Invalid parameter: Message Structure - JSON message body failed to parse")
    })?;
    let Value::Object(m) = v else {
        return Err(invalid(
            "Invalid parameter: Message Structure - JSON message body failed to parse",
        ));
    };
    if !m.get("default").is_some_and(Value::is_string) {
        return Err(invalid(
            "Invalid parameter: Message Structure - No default entry in JSON message body",
        ));
    }
    Ok(m)
}

/// The message one protocol receives: its own key, else `default`.
pub fn message_for(structured: &Map<String, Value>, protocol: Protocol) -> String {
    structured
        .get(protocol.as_str())
        .or_else(|| structured.get("default"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The document a MessageAttributes-scoped filter policy matches: strings as strings,
/// numbers as numbers, string arrays as arrays; binary attributes take no part.
pub fn filter_document(attrs: &BTreeMap<String, MessageAttr>) -> Value {
    let mut doc = Map::new();
    for (name, a) in attrs {
        let v = match a.data_type.split('.').next().unwrap_or_default() {
            "String" if a.data_type == "String.Array" => {
                serde_json::from_str(&a.value).ok().filter(Value::is_array)
            }
            "String" => Some(Value::String(a.value.clone())),
            "Number" => a
                .value
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|n| {
                    serde_json::from_str::<serde_json::Number>(a.value.trim())
                        .ok()
                        .or_else(|| serde_json::Number::from_f64(n))
                })
                .map(Value::Number),
            _ => None,
        };
        if let Some(v) = v {
            doc.insert(name.clone(), v);
        }
    }
    Value::Object(doc)
}

/// Whether a message passes a subscription's filter.
pub fn passes(
    filter: Option<&Filter>,
    message: &str,
    attrs: &BTreeMap<String, MessageAttr>,
) -> bool {
    let Some(f) = filter else {
        return true;
    };
    match f.scope {
        FilterScope::MessageAttributes => f.pattern.matches(&filter_document(attrs)),
        FilterScope::MessageBody => {
            serde_json::from_str::<Value>(message).is_ok_and(|body| f.pattern.matches(&body))
        }
    }
}

/// Message attributes as the JSON notification carries them.
pub fn attrs_json(attrs: &BTreeMap<String, MessageAttr>) -> Value {
    Value::Object(
        attrs
            .iter()
            .map(|(k, a)| (k.clone(), json!({"Type": a.data_type, "Value": a.value})))
            .collect(),
    )
}

/// Message attributes back from their JSON notification shape.
pub fn attrs_from_json(v: &Value) -> BTreeMap<String, MessageAttr> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, a)| {
                    Some((
                        k.clone(),
                        MessageAttr {
                            data_type: a.get("Type")?.as_str()?.to_string(),
                            value: a.get("Value")?.as_str()?.to_string(),
                        },
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What one delivery carries, stored as an outbox entry's payload: a notification, or
/// an http subscription's confirmation request.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub message_id: String,
    pub topic_arn: String,
    pub subject: Option<String>,
    pub message: String,
    pub timestamp_ms: i64,
    pub attrs: BTreeMap<String, MessageAttr>,
    /// FIFO topics: the message group and deduplication id, passed on to FIFO queues.
    pub fifo: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeKind {
    Notification,
    /// A SubscriptionConfirmation with its token.
    Confirmation {
        token: String,
    },
}

impl Notice {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "MessageId": self.message_id,
            "TopicArn": self.topic_arn,
            "Message": self.message,
            "TimestampMs": self.timestamp_ms,
            "MessageAttributes": attrs_json(&self.attrs),
        });
        if let Some(s) = &self.subject {
            v["Subject"] = json!(s);
        }
        if let NoticeKind::Confirmation { token } = &self.kind {
            v["Token"] = json!(token);
        }
        if let Some((g, d)) = &self.fifo {
            v["MessageGroupId"] = json!(g);
            v["MessageDeduplicationId"] = json!(d);
        }
        v
    }

    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            kind: match v.get("Token").and_then(Value::as_str) {
                Some(t) => NoticeKind::Confirmation { token: t.into() },
                None => NoticeKind::Notification,
            },
            message_id: v.get("MessageId")?.as_str()?.into(),
            topic_arn: v.get("TopicArn")?.as_str()?.into(),
            subject: v.get("Subject").and_then(Value::as_str).map(str::to_string),
            message: v.get("Message")?.as_str()?.into(),
            timestamp_ms: v.get("TimestampMs")?.as_i64()?,
            attrs: attrs_from_json(v.get("MessageAttributes").unwrap_or(&Value::Null)),
            fifo: v
                .get("MessageGroupId")
                .and_then(Value::as_str)
                .zip(v.get("MessageDeduplicationId").and_then(Value::as_str))
                .map(|(g, d)| (g.to_string(), d.to_string())),
        })
    }
}

/// The URLs a delivered message names, on Eddy's own address.
#[derive(Debug, Clone)]
pub struct Urls {
    pub base: String,
}

fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Urls {
    /// The ARN goes in as it is, as SNS writes it (an ARN holds no character a query
    /// needs escaped).
    pub fn unsubscribe(&self, subscription_arn: &str) -> String {
        format!(
            "{}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
            self.base
        )
    }

    pub fn subscribe(&self, topic_arn: &str, token: &str) -> String {
        format!(
            "{}{}?Action=ConfirmSubscription&TopicArn={}&Token={}",
            self.base,
            crate::CONFIRM_PATH,
            query_escape(topic_arn),
            query_escape(token)
        )
    }
}

/// The JSON document http endpoints receive and non-raw SQS subscriptions get as the
/// message body. Eddy has no signing certificate: `Signature` and `SigningCertURL` are
/// empty.
pub fn envelope(n: &Notice, subscription_arn: &str, urls: &Urls) -> Value {
    let mut v = Map::new();
    let put = |v: &mut Map<String, Value>, k: &str, x: Value| {
        v.insert(k.to_string(), x);
    };
    match &n.kind {
        NoticeKind::Notification => {
            put(&mut v, "Type", json!("Notification"));
            put(&mut v, "MessageId", json!(n.message_id));
            put(&mut v, "TopicArn", json!(n.topic_arn));
            if let Some(s) = &n.subject {
                put(&mut v, "Subject", json!(s));
            }
            put(&mut v, "Message", json!(n.message));
            put(
                &mut v,
                "Timestamp",
                json!(wire::time::iso8601_ms(n.timestamp_ms)),
            );
            put(&mut v, "SignatureVersion", json!("1"));
            put(&mut v, "Signature", json!(""));
            put(&mut v, "SigningCertURL", json!(""));
            put(
                &mut v,
                "UnsubscribeURL",
                json!(urls.unsubscribe(subscription_arn)),
            );
            if !n.attrs.is_empty() {
                put(&mut v, "MessageAttributes", attrs_json(&n.attrs));
            }
        }
        NoticeKind::Confirmation { token } => {
            put(&mut v, "Type", json!("SubscriptionConfirmation"));
            put(&mut v, "MessageId", json!(n.message_id));
            put(&mut v, "Token", json!(token));
            put(&mut v, "TopicArn", json!(n.topic_arn));
            put(&mut v, "Message", json!(n.message));
            put(
                &mut v,
                "SubscribeURL",
                json!(urls.subscribe(&n.topic_arn, token)),
            );
            put(
                &mut v,
                "Timestamp",
                json!(wire::time::iso8601_ms(n.timestamp_ms)),
            );
            put(&mut v, "SignatureVersion", json!("1"));
            put(&mut v, "Signature", json!(""));
            put(&mut v, "SigningCertURL", json!(""));
        }
    }
    Value::Object(v)
}

/// The event a Lambda subscription's function receives (AWS spells `SigningCertUrl`
/// and `UnsubscribeUrl` this way in it).
pub fn lambda_event(n: &Notice, subscription_arn: &str, urls: &Urls) -> Value {
    json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": "Notification",
            "MessageId": n.message_id,
            "TopicArn": n.topic_arn,
            "Subject": n.subject,
            "Message": n.message,
            "Timestamp": wire::time::iso8601_ms(n.timestamp_ms),
            "SignatureVersion": "1",
            "Signature": "",
            "SigningCertUrl": "",
            "UnsubscribeUrl": urls.unsubscribe(subscription_arn),
            "MessageAttributes": attrs_json(&n.attrs),
        }
    }]})
}

/// The confirmation message's text.
pub fn confirmation_text(topic_arn: &str) -> String {
    format!(
        "You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the subscription, visit the SubscribeURL included in this message."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_arns() {
        assert!(valid_topic_name("orders_1-a", false));
        assert!(!valid_topic_name("", false));
        assert!(!valid_topic_name("has space", false));
        assert!(!valid_topic_name("a.fifo", false));
        assert!(valid_topic_name("a.fifo", true));
        assert!(!valid_topic_name(".fifo", true));
        assert!(!valid_topic_name("plain", true));
        assert!(valid_topic_name(&"x".repeat(256), false));
        assert!(!valid_topic_name(&"x".repeat(257), false));
        assert!(!valid_topic_name(
            &format!("{}.fifo", "x".repeat(252)),
            true
        ));
        let arn = topic_arn("us-east-1", "t");
        assert_eq!(arn, "arn:aws:sns:us-east-1:000000000000:t");
        assert_eq!(
            parse_topic_arn(&arn),
            Some(("us-east-1".into(), "t".into()))
        );
        assert_eq!(
            parse_topic_arn("arn:aws:sqs:us-east-1:000000000000:t"),
            None
        );
        assert_eq!(
            topic_of_subscription(&format!("{arn}:abc")),
            Some(arn.as_str())
        );
        assert_eq!(topic_of_subscription(&arn), None);
        assert!(valid_function_arn(
            "arn:aws:lambda:us-east-1:000000000000:function:f"
        ));
        assert!(valid_function_arn(
            "arn:aws:lambda:us-east-1:000000000000:function:f:live"
        ));
        assert!(!valid_function_arn(
            "arn:aws:lambda:us-east-1:000000000000:layer:f"
        ));
    }

    #[test]
    fn protocols() {
        let q = "arn:aws:sqs:us-east-1:000000000000:q";
        assert_eq!(Protocol::parse("sqs", q), Ok(Protocol::Sqs));
        assert!(Protocol::parse("sqs", "http://x").is_err());
        assert_eq!(
            Protocol::parse("http", "http://localhost:1/x"),
            Ok(Protocol::Http)
        );
        assert_eq!(Protocol::parse("https", "https://x"), Ok(Protocol::Https));
        assert!(Protocol::parse("https", "http://x").is_err());
        let sms = Protocol::parse("sms", "+15555550100")
            .unwrap_err()
            .to_string();
        assert!(sms.contains("Eddy cannot deliver to sms"), "{sms}");
        assert!(Protocol::parse("carrier-pigeon", "x").is_err());
    }

    fn attr(t: &str, v: &str) -> MessageAttr {
        MessageAttr {
            data_type: t.into(),
            value: v.into(),
        }
    }

    #[test]
    fn message_attributes_from_the_form() {
        let f = |pairs: &[(&str, &str)]| {
            Form::new(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert_eq!(
            parse_message_attr("n", &f(&[("DataType", "Number"), ("StringValue", "1.5")])),
            Ok(attr("Number", "1.5"))
        );
        assert!(
            parse_message_attr("n", &f(&[("DataType", "Number"), ("StringValue", "x")])).is_err()
        );
        assert!(parse_message_attr(
            "a",
            &f(&[("DataType", "String.Array"), ("StringValue", "[1,\"b\"]")])
        )
        .is_ok());
        assert!(parse_message_attr(
            "a",
            &f(&[("DataType", "String.Array"), ("StringValue", "b")])
        )
        .is_err());
        assert!(
            parse_message_attr("b", &f(&[("DataType", "Binary"), ("BinaryValue", "AAE=")])).is_ok()
        );
        assert!(parse_message_attr("s", &f(&[("DataType", "String")])).is_err());
        assert!(
            parse_message_attr("s", &f(&[("DataType", "Date"), ("StringValue", "x")])).is_err()
        );
        assert!(
            parse_message_attr("aws.x", &f(&[("DataType", "String"), ("StringValue", "x")]))
                .is_err()
        );
    }

    #[test]
    fn filter_documents_and_policies() {
        let mut attrs = BTreeMap::new();
        attrs.insert("color".to_string(), attr("String", "blue"));
        attrs.insert("size".to_string(), attr("Number", "12"));
        attrs.insert("price".to_string(), attr("Number", "1.5e2"));
        attrs.insert("tags".to_string(), attr("String.Array", "[\"a\",\"b\"]"));
        attrs.insert("blob".to_string(), attr("Binary", "AAE="));
        assert_eq!(
            filter_document(&attrs),
            json!({"color": "blue", "size": 12, "price": 150.0, "tags": ["a", "b"]})
        );
        let check = |policy: &str, scope, message: &str, expected: bool| {
            let f = Filter {
                scope,
                pattern: parse_filter_policy(policy).unwrap(),
            };
            assert_eq!(
                passes(Some(&f), message, &attrs),
                expected,
                "{policy} on {message}"
            );
        };
        use FilterScope::*;
        check(r#"{"color": ["blue", "red"]}"#, MessageAttributes, "", true);
        check(r#"{"color": ["green"]}"#, MessageAttributes, "", false);
        check(
            r#"{"size": [{"numeric": [">", 10]}]}"#,
            MessageAttributes,
            "",
            true,
        );
        check(r#"{"tags": ["b"]}"#, MessageAttributes, "", true);
        check(
            r#"{"blob": [{"exists": true}]}"#,
            MessageAttributes,
            "",
            false,
        );
        check(
            r#"{"kind": ["order"]}"#,
            MessageBody,
            r#"{"kind": "order"}"#,
            true,
        );
        check(r#"{"kind": ["order"]}"#, MessageBody, "not json", false);
        assert!(passes(None, "", &attrs));
        let bad = parse_filter_policy(r#"{"color": "blue"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            bad.starts_with("Invalid parameter: FilterPolicy: "),
            "{bad}"
        );
        assert!(parse_filter_policy("[1]").is_err());
        assert!(parse_filter_policy("{").is_err());
    }

    #[test]
    fn structure_subject_and_size() {
        assert!(structured_messages(r#"{"sqs": "x"}"#).is_err());
        assert!(structured_messages("nope").is_err());
        let m = structured_messages(r#"{"default": "d", "lambda": "l"}"#).unwrap();
        assert_eq!(message_for(&m, Protocol::Lambda), "l");
        assert_eq!(message_for(&m, Protocol::Sqs), "d");
        assert!(check_subject("Hello").is_ok());
        assert!(check_subject("two\nlines").is_err());
        assert!(check_subject(&"s".repeat(101)).is_err());
        let mut attrs = BTreeMap::new();
        attrs.insert("k".to_string(), attr("String", "vv"));
        assert_eq!(message_size("abc", &attrs), 3 + 1 + 6 + 2);
    }

    #[test]
    fn shapes_delivered() {
        let urls = Urls {
            base: "http://127.0.0.1:1".into(),
        };
        let mut attrs = BTreeMap::new();
        attrs.insert("color".to_string(), attr("String", "blue"));
        let n = Notice {
            kind: NoticeKind::Notification,
            message_id: "m".into(),
            topic_arn: "arn:aws:sns:us-east-1:000000000000:t".into(),
            subject: None,
            message: "hi".into(),
            timestamp_ms: 0,
            attrs,
            fifo: None,
        };
        assert_eq!(Notice::from_json(&n.to_json()), Some(n.clone()));
        let f = Notice {
            fifo: Some(("g".into(), "d".into())),
            ..n.clone()
        };
        assert_eq!(Notice::from_json(&f.to_json()), Some(f));
        let sub = "arn:aws:sns:us-east-1:000000000000:t:s1";
        let e = envelope(&n, sub, &urls);
        assert_eq!(e["Type"], "Notification");
        assert_eq!(e["Timestamp"], "1970-01-01T00:00:00.000Z");
        assert!(e.get("Subject").is_none());
        assert_eq!(
            e["MessageAttributes"]["color"],
            json!({"Type": "String", "Value": "blue"})
        );
        assert_eq!(
            e["UnsubscribeURL"],
            "http://127.0.0.1:1/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:000000000000:t:s1"
        );
        let l = lambda_event(&n, sub, &urls);
        assert_eq!(l["Records"][0]["Sns"]["Subject"], Value::Null);
        assert_eq!(l["Records"][0]["EventSubscriptionArn"], sub);
        let c = Notice {
            kind: NoticeKind::Confirmation {
                token: "tok".into(),
            },
            ..n
        };
        let e = envelope(&c, sub, &urls);
        assert_eq!(e["Type"], "SubscriptionConfirmation");
        assert_eq!(e["Token"], "tok");
        assert!(e["SubscribeURL"].as_str().unwrap().contains("Token=tok"));
    }
}
