//! Names, ARNs and targets as EventBridge and Scheduler define them, and the checks on them.

use crate::error::{EventsError, Result};
use crate::transform::{self, TargetInput};
use delivery::events::{SNS_PUBLISH_KIND, SQS_SEND_KIND};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use wire::ACCOUNT_ID;

pub const DEFAULT_BUS: &str = "default";
pub const DEFAULT_GROUP: &str = "default";
/// Targets one rule may have (AWS's quota).
pub const TARGETS_PER_RULE_MAX: usize = 5;
/// The largest event PutEvents accepts, measured as AWS does (source, detail type,
/// detail, resources and time).
pub const EVENT_BYTES_MAX: usize = 256 * 1024;
/// EventBridge's defaults for a target's retries.
pub const RETRY_ATTEMPTS_DEFAULT: u32 = 185;
pub const EVENT_AGE_S_DEFAULT: i64 = 86_400;

pub fn bus_arn(region: &str, name: &str) -> String {
    format!("arn:aws:events:{region}:{ACCOUNT_ID}:event-bus/{name}")
}

/// Rules on the default bus are `rule/<name>`, on other buses `rule/<bus>/<name>`.
pub fn rule_arn(region: &str, bus: &str, name: &str) -> String {
    if bus == DEFAULT_BUS {
        format!("arn:aws:events:{region}:{ACCOUNT_ID}:rule/{name}")
    } else {
        format!("arn:aws:events:{region}:{ACCOUNT_ID}:rule/{bus}/{name}")
    }
}

pub fn schedule_arn(region: &str, group: &str, name: &str) -> String {
    format!("arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/{group}/{name}")
}

pub fn group_arn(region: &str, name: &str) -> String {
    format!("arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule-group/{name}")
}

fn name_ok(s: &str, max: usize, extra: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b) || extra.contains(&b))
}

/// EventBridge rule names and target ids: `[.\-_A-Za-z0-9]{1,64}`.
pub fn rule_name_ok(s: &str) -> bool {
    name_ok(s, 64, b"")
}

/// Event bus names: `[/.\-_A-Za-z0-9]{1,256}`.
pub fn bus_name_ok(s: &str) -> bool {
    name_ok(s, 256, b"/")
}

/// Scheduler schedule and group names: `[0-9a-zA-Z-_.]{1,64}`.
pub fn schedule_name_ok(s: &str) -> bool {
    name_ok(s, 64, b"")
}

/// AWS's message for a value that fails its constraint, as its validation layer words it.
pub fn constraint_error(value: &str, field: &str, constraint: &str) -> EventsError {
    EventsError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

/// The bus a request names: a bus name or the ARN of a bus in this account and region.
pub fn bus_name(name_or_arn: Option<&str>, region: &str) -> Result<String> {
    let Some(v) = name_or_arn else {
        return Ok(DEFAULT_BUS.to_string());
    };
    if let Some(rest) = v.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if let [_, "events", r, account, res] = parts[..] {
            if let Some(name) = res.strip_prefix("event-bus/") {
                if r == region && account == ACCOUNT_ID && bus_name_ok(name) {
                    return Ok(name.to_string());
                }
                return Err(EventsError::NotFound(format!(
                    "Event bus {name} does not exist."
                )));
            }
        }
        return Err(constraint_error(
            v,
            "eventBusName",
            "Member must satisfy regular expression pattern: (arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[/\\.\\-_A-Za-z0-9]+",
        ));
    }
    if !bus_name_ok(v) {
        return Err(constraint_error(
            v,
            "eventBusName",
            "Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+",
        ));
    }
    Ok(v.to_string())
}

/// What a target ARN points at, and so how an event reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// A function, version or alias: delivered as an asynchronous invoke.
    Lambda,
    /// Another event bus: the event is put on it.
    Bus { region: String, name: String },
    /// A queue, topic or state machine: a message handed to that service's deliverer
    /// through the outbox, of the kind given here (a state machine's waits there until
    /// Eddy has Step Functions).
    Message(&'static str),
}

/// The kind of a target ARN, or `None` if Eddy cannot deliver to that service.
pub fn target_kind(arn: &str) -> Option<TargetKind> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" || !parts[1].starts_with("aws") {
        return None;
    }
    let (service, region, resource) = (parts[2], parts[3], parts[5]);
    match service {
        "lambda" => {
            let rest = resource.strip_prefix("function:")?;
            let mut it = rest.split(':');
            let name = it.next()?;
            (!name.is_empty() && it.count() <= 1).then_some(TargetKind::Lambda)
        }
        "events" => {
            let name = resource.strip_prefix("event-bus/")?;
            bus_name_ok(name).then(|| TargetKind::Bus {
                region: region.to_string(),
                name: name.to_string(),
            })
        }
        "sqs" => (!resource.is_empty()).then_some(TargetKind::Message(SQS_SEND_KIND)),
        "sns" => (!resource.is_empty()).then_some(TargetKind::Message(SNS_PUBLISH_KIND)),
        "states" => resource
            .starts_with("stateMachine:")
            .then_some(TargetKind::Message("states-start")),
        _ => None,
    }
}

/// A rule's target, checked and compiled.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub arn: String,
    pub input: TargetInput,
    pub max_retries: u32,
    pub max_age_s: i64,
    pub dead_letter_arn: Option<String>,
    /// The target as the caller gave it, returned by ListTargetsByRule.
    pub raw: Value,
}

/// Checks one target of a PutTargets call.
pub fn parse_target(v: &Value, position: usize) -> Result<Target> {
    let id = v["Id"].as_str().unwrap_or_default();
    if !rule_name_ok(id) {
        return Err(constraint_error(
            id,
            &format!("targets.{position}.member.id"),
            "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
        ));
    }
    let arn = v["Arn"].as_str().unwrap_or_default();
    if arn.is_empty() || arn.len() > 1600 {
        return Err(constraint_error(
            arn,
            &format!("targets.{position}.member.arn"),
            "Member must have length between 1 and 1600",
        ));
    }
    let kind = target_kind(arn).ok_or_else(|| {
        EventsError::Validation(format!(
            "Parameter {arn} is not valid. Reason: Provided Arn is not in correct format."
        ))
    })?;
    let paths: Option<BTreeMap<String, String>> = v.get("InputTransformer").map(|t| {
        t["InputPathsMap"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    });
    let template = v["InputTransformer"]["InputTemplate"].as_str();
    if paths.is_some() && template.is_none() {
        return Err(constraint_error(
            "null",
            &format!("targets.{position}.member.inputTransformer.inputTemplate"),
            "Member must not be null",
        ));
    }
    let transformer = paths.as_ref().zip(template);
    let input = transform::target_input(
        transform::TargetRef { id, position },
        v["Input"].as_str(),
        v["InputPath"].as_str(),
        transformer,
    )
    .map_err(|e| EventsError::Validation(e.to_string()))?;
    if matches!(kind, TargetKind::Bus { .. }) && !matches!(input, TargetInput::Event) {
        return Err(EventsError::Validation(format!(
            "Parameter(s) Input, InputPath or InputTransformer are not supported for target {id}."
        )));
    }
    let (max_retries, max_age_s) = retry_policy(
        &v["RetryPolicy"],
        &format!("targets.{position}.member.retryPolicy"),
    )?;
    let dead_letter_arn = match v["DeadLetterConfig"]["Arn"].as_str() {
        Some(a) if a.starts_with("arn:aws:sqs:") => Some(a.to_string()),
        Some(a) => {
            return Err(EventsError::Validation(format!(
                "Parameter {a} is not valid. Reason: The dead-letter queue must be an Amazon SQS queue ARN."
            )))
        }
        None => None,
    };
    Ok(Target {
        id: id.to_string(),
        arn: arn.to_string(),
        input,
        max_retries,
        max_age_s,
        dead_letter_arn,
        raw: v.clone(),
    })
}

/// A RetryPolicy object: (MaximumRetryAttempts 0-185, MaximumEventAgeInSeconds 60-86400),
/// with EventBridge's defaults for what is missing.
pub fn retry_policy(v: &Value, field: &str) -> Result<(u32, i64)> {
    let retries = match &v["MaximumRetryAttempts"] {
        Value::Null => RETRY_ATTEMPTS_DEFAULT,
        n => match n.as_u64() {
            Some(n) if n <= 185 => n as u32,
            _ => {
                return Err(constraint_error(
                    &n.to_string(),
                    &format!("{field}.maximumRetryAttempts"),
                    "Member must have value less than or equal to 185",
                ))
            }
        },
    };
    let age = match &v["MaximumEventAgeInSeconds"] {
        Value::Null => EVENT_AGE_S_DEFAULT,
        n => match n.as_i64() {
            Some(n) if (60..=86_400).contains(&n) => n,
            _ => {
                return Err(constraint_error(
                    &n.to_string(),
                    &format!("{field}.maximumEventAgeInSeconds"),
                    "Member must have value between 60 and 86400",
                ))
            }
        },
    };
    Ok((retries, age))
}

/// A pagination token: the opaque form of the last name a page returned.
pub fn encode_token(name: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(name)
}

pub fn decode_token(t: &str) -> Result<String> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| EventsError::Validation("The nextToken provided is invalid.".into()))
}

/// One page of `names` (sorted): the views of those starting with `prefix` that come after
/// `after`, and the token of the next page when more follow.
pub fn page_of_names(
    names: &[String],
    prefix: &str,
    after: Option<&str>,
    limit: usize,
    view: impl Fn(&str) -> Option<Value>,
) -> (Vec<Value>, Option<String>) {
    let mut out = Vec::new();
    let mut last: Option<&str> = None;
    for n in names
        .iter()
        .filter(|n| n.starts_with(prefix) && after.is_none_or(|a| n.as_str() > a))
    {
        if out.len() == limit {
            return (out, last.map(encode_token));
        }
        if let Some(v) = view(n) {
            out.push(v);
            last = Some(n);
        }
    }
    (out, None)
}

/// A `Tags` list (`[{Key, Value}]`) as a map, checked against AWS's limits.
pub fn tags_to_map(tags: &Value) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for t in tags.as_array().map(Vec::as_slice).unwrap_or_default() {
        let k = t["Key"].as_str().unwrap_or_default();
        if k.is_empty() || k.len() > 128 {
            return Err(constraint_error(
                k,
                "tags.member.key",
                "Member must have length between 1 and 128",
            ));
        }
        out.insert(k.to_string(), t["Value"].clone());
    }
    if out.len() > 50 {
        return Err(EventsError::LimitExceeded(
            "The requested resource exceeds the maximum number allowed.".into(),
        ));
    }
    Ok(out)
}

/// A tag map as the `[{Key, Value}]` list the APIs return.
pub fn tags_list(map: &Value) -> Value {
    Value::Array(
        map.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// The size AWS counts for a PutEvents entry.
pub fn entry_size(entry: &Value) -> usize {
    let s = |k: &str| entry[k].as_str().map_or(0, str::len);
    let resources: usize = entry["Resources"].as_array().map_or(0, |a| {
        a.iter().filter_map(Value::as_str).map(str::len).sum()
    });
    let time = if entry.get("Time").is_some() { 14 } else { 0 };
    s("Source") + s("DetailType") + s("Detail") + resources + time
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        assert_eq!(
            rule_arn("us-east-1", "default", "r"),
            "arn:aws:events:us-east-1:000000000000:rule/r"
        );
        assert_eq!(
            rule_arn("us-east-1", "orders", "r"),
            "arn:aws:events:us-east-1:000000000000:rule/orders/r"
        );
    }

    #[test]
    fn target_kinds() {
        let check = |arn: &str, expected: Option<TargetKind>| {
            assert_eq!(target_kind(arn), expected, "{arn}")
        };
        check(
            "arn:aws:lambda:us-east-1:000000000000:function:f",
            Some(TargetKind::Lambda),
        );
        check(
            "arn:aws:lambda:us-east-1:000000000000:function:f:live",
            Some(TargetKind::Lambda),
        );
        check("arn:aws:lambda:us-east-1:000000000000:function:f:1:2", None);
        check(
            "arn:aws:events:eu-west-1:000000000000:event-bus/other",
            Some(TargetKind::Bus {
                region: "eu-west-1".into(),
                name: "other".into(),
            }),
        );
        check(
            "arn:aws:sqs:us-east-1:000000000000:q",
            Some(TargetKind::Message("sqs-send")),
        );
        check("arn:aws:ec2:us-east-1:000000000000:instance/i", None);
        check("not-an-arn", None);
    }

    #[test]
    fn bus_names() {
        assert_eq!(bus_name(None, "us-east-1").unwrap(), "default");
        assert_eq!(
            bus_name(
                Some("arn:aws:events:us-east-1:000000000000:event-bus/b"),
                "us-east-1"
            )
            .unwrap(),
            "b"
        );
        assert!(bus_name(Some("bad name"), "us-east-1").is_err());
    }

    #[test]
    fn retry_policies() {
        assert_eq!(retry_policy(&Value::Null, "p").unwrap(), (185, 86_400));
        let v = serde_json::json!({"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60});
        assert_eq!(retry_policy(&v, "p").unwrap(), (0, 60));
        assert!(retry_policy(&serde_json::json!({"MaximumRetryAttempts": 186}), "p").is_err());
        assert!(retry_policy(&serde_json::json!({"MaximumEventAgeInSeconds": 59}), "p").is_err());
    }
}
