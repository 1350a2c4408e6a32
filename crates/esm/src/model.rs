//! Event source mappings, the pure part: what a mapping holds, how requests to create and
//! update one are checked (AWS's rules and words for SQS sources), how a mapping is shown,
//! which messages its filters keep, and what a function's partial-batch answer means.

use crate::error::{EsmError, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// Batch size when a request gives none (SQS).
pub const BATCH_SIZE_DEFAULT: u64 = 10;
/// Largest batch of a standard queue.
pub const BATCH_SIZE_MAX: u64 = 10_000;
/// Largest batch of a FIFO queue.
pub const FIFO_BATCH_SIZE_MAX: u64 = 10;
/// Longest batching window, in seconds.
pub const WINDOW_SECONDS_MAX: u64 = 300;
/// Filters per mapping (AWS's default quota).
pub const FILTERS_MAX: usize = 5;
/// Bounds of `ScalingConfig.MaximumConcurrency`.
pub const MAX_CONCURRENCY_RANGE: std::ops::RangeInclusive<u64> = 2..=1000;
/// Concurrent batches of a mapping without a `ScalingConfig`.
pub const CONCURRENCY_DEFAULT: u64 = 1000;
/// Mappings per region.
pub const MAPPINGS_MAX: usize = 10_000;

/// A mapping as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mapping {
    #[serde(rename = "UUID")]
    pub uuid: String,
    pub region: String,
    pub event_source_arn: String,
    pub function_arn: String,
    pub batch_size: u64,
    pub maximum_batching_window_in_seconds: u64,
    /// `{"Filters": [{"Pattern": "..."}]}`, as given.
    pub filter_criteria: Option<Value>,
    pub function_response_types: Vec<String>,
    pub maximum_concurrency: Option<u64>,
    pub enabled: bool,
    pub created_ms: i64,
    pub last_modified_ms: i64,
}

/// The state a response names: the transition a call started, or where a mapping is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Creating,
    Updating,
    Enabling,
    Disabling,
    Deleting,
    Settled,
}

impl Mapping {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:event-source-mapping:{}",
            self.region,
            wire::ACCOUNT_ID,
            self.uuid
        )
    }

    pub fn reports_item_failures(&self) -> bool {
        self.function_response_types
            .iter()
            .any(|t| t == "ReportBatchItemFailures")
    }

    /// `EventSourceMappingConfiguration`.
    pub fn to_json(&self, shown: Shown) -> Value {
        let state = match shown {
            Shown::Creating => "Creating",
            Shown::Updating => "Updating",
            Shown::Enabling => "Enabling",
            Shown::Disabling => "Disabling",
            Shown::Deleting => "Deleting",
            Shown::Settled if self.enabled => "Enabled",
            Shown::Settled => "Disabled",
        };
        let mut m = Map::new();
        m.insert("UUID".into(), json!(self.uuid));
        m.insert("BatchSize".into(), json!(self.batch_size));
        m.insert(
            "MaximumBatchingWindowInSeconds".into(),
            json!(self.maximum_batching_window_in_seconds),
        );
        m.insert("EventSourceArn".into(), json!(self.event_source_arn));
        if let Some(f) = &self.filter_criteria {
            m.insert("FilterCriteria".into(), f.clone());
        }
        m.insert("FunctionArn".into(), json!(self.function_arn));
        m.insert(
            "LastModified".into(),
            json!(self.last_modified_ms as f64 / 1000.0),
        );
        m.insert("State".into(), json!(state));
        m.insert("StateTransitionReason".into(), json!("USER_INITIATED"));
        m.insert(
            "FunctionResponseTypes".into(),
            json!(self.function_response_types),
        );
        if let Some(c) = self.maximum_concurrency {
            m.insert("ScalingConfig".into(), json!({"MaximumConcurrency": c}));
        }
        m.insert("EventSourceMappingArn".into(), json!(self.arn()));
        Value::Object(m)
    }
}

/// The settings a create or update request may carry (absent: unchanged / default).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Settings {
    pub function_name: Option<String>,
    pub enabled: Option<bool>,
    pub batch_size: Option<u64>,
    pub window_s: Option<u64>,
    /// `Some(None)`: the request removes the filters.
    pub filter_criteria: Option<Option<Value>>,
    pub function_response_types: Option<Vec<String>>,
    /// `Some(None)`: the request removes the scaling config.
    pub maximum_concurrency: Option<Option<u64>>,
}

/// Parameters that only stream and broker sources take.
const STREAM_ONLY: &[&str] = &[
    "StartingPosition",
    "StartingPositionTimestamp",
    "ParallelizationFactor",
    "DestinationConfig",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "TumblingWindowInSeconds",
    "Topics",
    "Queues",
    "SourceAccessConfigurations",
    "SelfManagedEventSource",
    "SelfManagedKafkaEventSourceConfig",
    "AmazonManagedKafkaEventSourceConfig",
    "DocumentDBEventSourceConfig",
];

fn invalid(msg: impl Into<String>) -> EsmError {
    EsmError::InvalidParameter(msg.into())
}

fn validation(field: &str, value: &Value, constraint: &str) -> EsmError {
    EsmError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

fn opt_u64(body: &Value, key: &str, field: &str, min: u64, max: u64) -> Result<Option<u64>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n < min => Err(validation(
                field,
                v,
                &format!("Member must have value greater than or equal to {min}"),
            )),
            Some(n) if n > max => Err(validation(
                field,
                v,
                &format!("Member must have value less than or equal to {max}"),
            )),
            Some(n) => Ok(Some(n)),
            None => Err(EsmError::InvalidRequestContent(format!(
                "{key} must be a whole number"
            ))),
        },
    }
}

/// Checks a `FilterCriteria` value; `None` for an empty one (which removes the filters).
fn parse_filters(v: &Value) -> Result<Option<Value>> {
    if v.is_null() {
        return Ok(None);
    }
    let filters = match v.get("Filters") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(EsmError::InvalidRequestContent(
                "FilterCriteria.Filters must be a list".into(),
            ))
        }
    };
    if filters.is_empty() {
        return Ok(None);
    }
    if filters.len() > FILTERS_MAX {
        return Err(invalid(format!(
            "The number of filters ({}) exceeds the limit of {FILTERS_MAX} filters for this event source mapping.",
            filters.len()
        )));
    }
    let mut kept = Vec::new();
    for f in filters {
        let Some(p) = f.get("Pattern").and_then(Value::as_str) else {
            return Err(invalid("Invalid filter pattern definition."));
        };
        if p.len() > 4096 {
            return Err(validation(
                "filterCriteria.filters.member.pattern",
                &json!(p),
                "Member must have length less than or equal to 4096",
            ));
        }
        pattern::Pattern::parse(p).map_err(|_| invalid("Invalid filter pattern definition."))?;
        kept.push(json!({"Pattern": p}));
    }
    Ok(Some(json!({ "Filters": kept })))
}

impl Settings {
    /// Reads a create (`create == true`) or update request's body.
    pub fn parse(body: &Value, create: bool) -> Result<Self> {
        for k in STREAM_ONLY {
            if body.get(*k).is_some_and(|v| !v.is_null()) {
                return Err(invalid(format!(
                    "Unsupported {k} parameter for given event source."
                )));
            }
        }
        let function_name = match body.get("FunctionName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 140 => Some(s.clone()),
            Some(v) => {
                return Err(validation(
                    "functionName",
                    v,
                    "Member must have length between 1 and 140",
                ))
            }
        };
        if create && function_name.is_none() {
            return Err(validation(
                "functionName",
                &Value::Null,
                "Member must not be null",
            ));
        }
        let enabled = match body.get("Enabled") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(EsmError::InvalidRequestContent(
                    "Enabled must be a boolean".into(),
                ))
            }
        };
        let batch_size = opt_u64(body, "BatchSize", "batchSize", 1, BATCH_SIZE_MAX)?;
        let window_s = opt_u64(
            body,
            "MaximumBatchingWindowInSeconds",
            "maximumBatchingWindowInSeconds",
            0,
            WINDOW_SECONDS_MAX,
        )?;
        let filter_criteria = match body.get("FilterCriteria") {
            None => None,
            Some(v) => Some(parse_filters(v)?),
        };
        let function_response_types = match body.get("FunctionResponseTypes") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => {
                let mut out = Vec::new();
                for t in a {
                    match t.as_str() {
                        Some("ReportBatchItemFailures") => {
                            if !out.iter().any(|x: &String| x == "ReportBatchItemFailures") {
                                out.push("ReportBatchItemFailures".to_string());
                            }
                        }
                        _ => {
                            return Err(validation(
                                "functionResponseTypes",
                                &Value::Array(a.clone()),
                                "Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]",
                            ))
                        }
                    }
                }
                Some(out)
            }
            Some(_) => {
                return Err(EsmError::InvalidRequestContent(
                    "FunctionResponseTypes must be a list".into(),
                ))
            }
        };
        let maximum_concurrency = match body.get("ScalingConfig") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(c) => {
                let mc = opt_u64(
                    c,
                    "MaximumConcurrency",
                    "scalingConfig.maximumConcurrency",
                    *MAX_CONCURRENCY_RANGE.start(),
                    *MAX_CONCURRENCY_RANGE.end(),
                )?;
                Some(mc)
            }
        };
        Ok(Self {
            function_name,
            enabled,
            batch_size,
            window_s,
            filter_criteria,
            function_response_types,
            maximum_concurrency,
        })
    }

    /// Applies these settings over `m` (a new mapping's defaults, or the current one).
    pub fn apply(&self, m: &mut Mapping) {
        if let Some(e) = self.enabled {
            m.enabled = e;
        }
        if let Some(b) = self.batch_size {
            m.batch_size = b;
        }
        if let Some(w) = self.window_s {
            m.maximum_batching_window_in_seconds = w;
        }
        if let Some(f) = &self.filter_criteria {
            m.filter_criteria = f.clone();
        }
        if let Some(t) = &self.function_response_types {
            m.function_response_types = t.clone();
        }
        if let Some(c) = self.maximum_concurrency {
            m.maximum_concurrency = c;
        }
    }
}

/// The rules that involve several settings, the queue and the function, checked on the
/// mapping as it would be after a create or update.
pub fn check(
    m: &Mapping,
    queue_fifo: bool,
    visibility_s: u64,
    function_timeout_s: u64,
) -> Result<()> {
    if queue_fifo && m.batch_size > FIFO_BATCH_SIZE_MAX {
        return Err(invalid(format!(
            "BatchSize must be less than or equal to {FIFO_BATCH_SIZE_MAX} for FIFO queues."
        )));
    }
    if m.batch_size > 10 && m.maximum_batching_window_in_seconds == 0 {
        return Err(invalid(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        ));
    }
    if visibility_s < function_timeout_s {
        return Err(invalid(format!(
            "Queue visibility timeout: {visibility_s} seconds is less than Function timeout: {function_timeout_s} seconds"
        )));
    }
    Ok(())
}

/// The compiled filters of a mapping: a message is kept when any filter matches.
pub struct Filters(Vec<pattern::Pattern>);

impl Filters {
    pub fn of(m: &Mapping) -> Self {
        let patterns = m
            .filter_criteria
            .as_ref()
            .and_then(|f| f["Filters"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|f| pattern::Pattern::parse(f["Pattern"].as_str()?).ok())
            .collect();
        Self(patterns)
    }

    /// Whether the SQS record passes: a body holding a JSON object is matched by its
    /// fields, any other body as the plain string it is.
    pub fn keeps(&self, record: &Value) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let parsed = record["body"]
            .as_str()
            .and_then(|b| serde_json::from_str::<Value>(b).ok())
            .filter(Value::is_object);
        let view;
        let subject = match parsed {
            Some(body) => {
                let mut r = record.clone();
                r["body"] = body;
                view = r;
                &view
            }
            None => record,
        };
        self.0.iter().any(|p| p.matches(subject))
    }
}

/// What a function's answer says about a batch it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchResult {
    /// Every message was handled.
    AllDone,
    /// These message ids failed; the rest were handled.
    Failed(Vec<String>),
    /// The whole batch counts as failed.
    AllFailed,
}

/// Reads a `ReportBatchItemFailures` answer, by AWS's rules: an empty or null answer or
/// list is success; a malformed answer, or an item without a valid identifier of this
/// batch, fails the whole batch.
pub fn batch_result(response: &[u8], batch: &HashSet<&str>) -> BatchResult {
    let trimmed = response.trim_ascii();
    if trimmed.is_empty() {
        return BatchResult::AllDone;
    }
    let Ok(v) = serde_json::from_slice::<Value>(trimmed) else {
        return BatchResult::AllFailed;
    };
    let items = match &v {
        Value::Null => return BatchResult::AllDone,
        Value::Object(o) => match o.get("batchItemFailures") {
            None | Some(Value::Null) => return BatchResult::AllDone,
            Some(Value::Array(a)) => a,
            Some(_) => return BatchResult::AllFailed,
        },
        _ => return BatchResult::AllDone,
    };
    if items.is_empty() {
        return BatchResult::AllDone;
    }
    let mut failed = Vec::new();
    for item in items {
        match item.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if !id.is_empty() && batch.contains(id) => {
                if !failed.iter().any(|f| f == id) {
                    failed.push(id.to_string());
                }
            }
            _ => return BatchResult::AllFailed,
        }
    }
    BatchResult::Failed(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Mapping {
        Mapping {
            uuid: "u".into(),
            region: "us-east-1".into(),
            event_source_arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
            batch_size: BATCH_SIZE_DEFAULT,
            maximum_batching_window_in_seconds: 0,
            filter_criteria: None,
            function_response_types: Vec::new(),
            maximum_concurrency: None,
            enabled: true,
            created_ms: 1000,
            last_modified_ms: 1500,
        }
    }

    #[test]
    fn batch_answers_follow_aws_rules() {
        let batch: HashSet<&str> = ["a", "b", "c"].into_iter().collect();
        let cases: &[(&str, BatchResult)] = &[
            ("", BatchResult::AllDone),
            ("null", BatchResult::AllDone),
            ("{}", BatchResult::AllDone),
            (r#"{"batchItemFailures":null}"#, BatchResult::AllDone),
            (r#"{"batchItemFailures":[]}"#, BatchResult::AllDone),
            (r#""ok""#, BatchResult::AllDone),
            (
                r#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#,
                BatchResult::Failed(vec!["b".into()]),
            ),
            (
                r#"{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"a"},{"itemIdentifier":"c"}]}"#,
                BatchResult::Failed(vec!["a".into(), "c".into()]),
            ),
            (
                r#"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
                BatchResult::AllFailed,
            ),
            (
                r#"{"batchItemFailures":[{"itemIdentifier":null}]}"#,
                BatchResult::AllFailed,
            ),
            (
                r#"{"batchItemFailures":[{"id":"a"}]}"#,
                BatchResult::AllFailed,
            ),
            (
                r#"{"batchItemFailures":[{"itemIdentifier":"zz"}]}"#,
                BatchResult::AllFailed,
            ),
            (r#"{"batchItemFailures":"a"}"#, BatchResult::AllFailed),
            ("{not json", BatchResult::AllFailed),
        ];
        for (answer, want) in cases {
            assert_eq!(&batch_result(answer.as_bytes(), &batch), want, "{answer}");
        }
    }

    #[test]
    fn filters_match_json_bodies_by_field_and_others_as_text() {
        let mut m = mapping();
        m.filter_criteria = Some(json!({"Filters": [
            {"Pattern": r#"{"body": {"kind": ["big"]}}"#},
            {"Pattern": r#"{"body": ["plain"]}"#},
        ]}));
        let f = Filters::of(&m);
        let rec = |body: &str| json!({"messageId": "m", "body": body, "attributes": {}});
        assert!(f.keeps(&rec(r#"{"kind":"big","n":1}"#)));
        assert!(!f.keeps(&rec(r#"{"kind":"small"}"#)));
        assert!(f.keeps(&rec("plain")));
        assert!(!f.keeps(&rec("other")));
        assert!(!f.keeps(&rec("[1,2]")));
        assert!(Filters::of(&mapping()).keeps(&rec("anything")));
    }

    #[test]
    fn settings_are_checked_with_aws_errors() {
        let err = |b: Value, create: bool| Settings::parse(&b, create).unwrap_err();
        assert!(matches!(
            err(json!({}), true),
            EsmError::Validation(m) if m.contains("functionName")
        ));
        assert!(matches!(
            err(json!({"FunctionName": "f", "BatchSize": 0}), true),
            EsmError::Validation(m) if m.contains("greater than or equal to 1")
        ));
        assert!(matches!(
            err(json!({"FunctionName": "f", "BatchSize": 10001}), true),
            EsmError::Validation(_)
        ));
        assert!(matches!(
            err(json!({"FunctionName": "f", "StartingPosition": "LATEST"}), true),
            EsmError::InvalidParameter(m) if m.contains("StartingPosition")
        ));
        assert!(matches!(
            err(
                json!({"FunctionName": "f", "FunctionResponseTypes": ["Nope"]}),
                true
            ),
            EsmError::Validation(_)
        ));
        assert!(matches!(
            err(
                json!({"FunctionName": "f", "ScalingConfig": {"MaximumConcurrency": 1}}),
                true
            ),
            EsmError::Validation(_)
        ));
        assert!(matches!(
            err(json!({"FunctionName": "f", "FilterCriteria": {"Filters": [{"Pattern": "{\"a\": 1}"}]}}), true),
            EsmError::InvalidParameter(m) if m == "Invalid filter pattern definition."
        ));
        let s = Settings::parse(
            &json!({"FunctionName": "f", "BatchSize": 50, "MaximumBatchingWindowInSeconds": 2,
                    "FilterCriteria": {"Filters": []}, "ScalingConfig": {"MaximumConcurrency": 5},
                    "FunctionResponseTypes": ["ReportBatchItemFailures"]}),
            true,
        )
        .unwrap();
        let mut m = mapping();
        m.filter_criteria = Some(json!({"Filters": [{"Pattern": "{}"}]}));
        s.apply(&mut m);
        assert_eq!(m.batch_size, 50);
        assert_eq!(m.filter_criteria, None, "empty filters remove them");
        assert_eq!(m.maximum_concurrency, Some(5));
        assert!(m.reports_item_failures());
    }

    #[test]
    fn cross_checks() {
        let mut m = mapping();
        assert!(check(&m, false, 30, 3).is_ok());
        assert!(matches!(
            check(&m, false, 30, 60),
            Err(EsmError::InvalidParameter(msg)) if msg == "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds"
        ));
        m.batch_size = 11;
        assert!(
            check(&m, false, 30, 3).is_err(),
            "a window is needed past 10"
        );
        m.maximum_batching_window_in_seconds = 1;
        assert!(check(&m, false, 30, 3).is_ok());
        assert!(check(&m, true, 30, 3).is_err(), "FIFO batches stop at 10");
    }

    #[test]
    fn shown_as_aws_does() {
        let m = mapping();
        let v = m.to_json(Shown::Creating);
        assert_eq!(v["State"], "Creating");
        assert_eq!(v["LastModified"], 1.5);
        assert_eq!(
            v["EventSourceMappingArn"],
            "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:u"
        );
        assert!(v.get("FilterCriteria").is_none());
        let mut off = m.clone();
        off.enabled = false;
        assert_eq!(off.to_json(Shown::Settled)["State"], "Disabled");
        assert_eq!(m.to_json(Shown::Settled)["State"], "Enabled");
    }
}
