//! CloudWatch Logs, read side (json 1.1, `logs/2014-03-28`): DescribeLogGroups,
//! DescribeLogStreams, GetLogEvents and FilterLogEvents over the logs the runtime stores.

pub mod pattern;

use http::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use store::{LogQuery, LogStore};
use wire::{ApiRequest, ApiResponse, BoxFuture};

/// Events scanned by one FilterLogEvents call before it returns a token to go on.
const FILTER_SCAN_MAX: usize = 200_000;
const EVENTS_LIMIT_MAX: usize = 10_000;

/// Why a Logs call failed.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Service(String),
}

impl LogsError {
    fn into_response(self) -> ApiResponse {
        let (status, code) = match &self {
            Self::NotFound(_) => (StatusCode::BAD_REQUEST, "ResourceNotFoundException"),
            Self::InvalidParameter(_) => (StatusCode::BAD_REQUEST, "InvalidParameterException"),
            Self::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
            Self::Service(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceUnavailableException",
            ),
        };
        wire::aws_json_error(status, code, &self.to_string())
    }
}

impl From<store::StoreError> for LogsError {
    fn from(e: store::StoreError) -> Self {
        Self::Service(e.to_string())
    }
}

type Result<T> = std::result::Result<T, LogsError>;

/// The Logs API.
pub struct Logs {
    store: Arc<dyn LogStore>,
}

fn group_arn(region: &str, name: &str) -> String {
    format!(
        "arn:aws:logs:{region}:{}:log-group:{name}",
        wire::ACCOUNT_ID
    )
}

fn limit(body: &Value, default: usize, max: usize) -> Result<usize> {
    match body.get("limit").and_then(Value::as_u64) {
        None => Ok(default),
        Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
        Some(n) => Err(LogsError::InvalidParameter(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {max}"
        ))),
    }
}

fn group_name(body: &Value) -> Result<String> {
    let g = body
        .get("logGroupName")
        .or_else(|| body.get("logGroupIdentifier"))
        .and_then(Value::as_str)
        .ok_or_else(|| LogsError::InvalidParameter("logGroupName is required".into()))?;
    // An identifier may be the group's ARN.
    Ok(match g.split_once(":log-group:") {
        Some((_, rest)) => rest.trim_end_matches(":*").to_string(),
        None => g.to_string(),
    })
}

impl Logs {
    pub fn new(store: Arc<dyn LogStore>) -> Self {
        Self { store }
    }

    fn require_group(&self, region: &str, group: &str) -> Result<()> {
        if self.store.group_exists(region, group)? {
            Ok(())
        } else {
            Err(LogsError::NotFound(
                "The specified log group does not exist.".into(),
            ))
        }
    }

    fn describe_groups(&self, region: &str, body: &Value) -> Result<Value> {
        let n = limit(body, 50, 50)?;
        let prefix = body.get("logGroupNamePrefix").and_then(Value::as_str);
        let after = body.get("nextToken").and_then(Value::as_str);
        let mut groups = self.store.groups(region, prefix, after, n + 1)?;
        let more = groups.len() > n;
        groups.truncate(n);
        let list: Vec<Value> = groups
            .iter()
            .map(|g| {
                let mut v = json!({
                    "logGroupName": g.name,
                    "creationTime": g.created_ms,
                    "metricFilterCount": 0,
                    "arn": format!("{}:*", group_arn(region, &g.name)),
                    "logGroupArn": group_arn(region, &g.name),
                    "storedBytes": g.stored_bytes,
                    "logGroupClass": "STANDARD",
                });
                if let Some(r) = g.retention_days {
                    v["retentionInDays"] = json!(r);
                }
                v
            })
            .collect();
        let mut out = json!({ "logGroups": list });
        if more {
            out["nextToken"] = json!(groups.last().map(|g| g.name.clone()));
        }
        Ok(out)
    }

    fn describe_streams(&self, region: &str, body: &Value) -> Result<Value> {
        let group = group_name(body)?;
        self.require_group(region, &group)?;
        let n = limit(body, 50, 50)?;
        let prefix = body.get("logStreamNamePrefix").and_then(Value::as_str);
        let by_time = body.get("orderBy").and_then(Value::as_str) == Some("LastEventTime");
        if by_time && prefix.is_some() {
            return Err(LogsError::InvalidParameter(
                "Cannot order by LastEventTime with a logStreamNamePrefix.".into(),
            ));
        }
        let descending = body
            .get("descending")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let token = body.get("nextToken").and_then(Value::as_str);
        let mut streams = self.store.streams(region, &group, prefix, None, 100_000)?;
        if by_time {
            streams.sort_by_key(|s| (s.last_event_ms.unwrap_or(0), s.name.clone()));
        }
        if descending {
            streams.reverse();
        }
        let start = match token {
            Some(t) => t.parse::<usize>().map_err(|_| {
                LogsError::InvalidParameter("The specified nextToken is invalid.".into())
            })?,
            None => 0,
        };
        let page: Vec<Value> = streams
            .iter()
            .skip(start)
            .take(n)
            .map(|s| {
                json!({
                    "logStreamName": s.name,
                    "creationTime": s.created_ms,
                    "firstEventTimestamp": s.first_event_ms,
                    "lastEventTimestamp": s.last_event_ms,
                    "lastIngestionTime": s.last_ingestion_ms,
                    "uploadSequenceToken": "1",
                    "arn": format!("{}:log-stream:{}", group_arn(region, &group), s.name),
                    "storedBytes": s.stored_bytes,
                })
            })
            .collect();
        let mut out = json!({ "logStreams": page });
        if start + n < streams.len() {
            out["nextToken"] = json!((start + n).to_string());
        }
        Ok(out)
    }

    fn get_events(&self, region: &str, body: &Value) -> Result<Value> {
        let group = group_name(body)?;
        self.require_group(region, &group)?;
        let stream = body
            .get("logStreamName")
            .and_then(Value::as_str)
            .ok_or_else(|| LogsError::InvalidParameter("logStreamName is required".into()))?;
        let n = limit(body, EVENTS_LIMIT_MAX, EVENTS_LIMIT_MAX)?;
        let token = body.get("nextToken").and_then(Value::as_str);
        let (backward, cursor) = match token {
            Some(t) => {
                let (dir, id) = t.split_once('/').ok_or_else(|| {
                    LogsError::InvalidParameter("The specified nextToken is invalid.".into())
                })?;
                let id = id.parse::<i64>().map_err(|_| {
                    LogsError::InvalidParameter("The specified nextToken is invalid.".into())
                })?;
                (dir == "b", Some(id))
            }
            // AWS reads from the end unless told to start from the head.
            None => (
                !body
                    .get("startFromHead")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                None,
            ),
        };
        let q = LogQuery {
            streams: Some(vec![stream.to_string()]),
            start_ms: body.get("startTime").and_then(Value::as_i64),
            end_ms: body.get("endTime").and_then(Value::as_i64).map(|e| e - 1),
            cursor,
            backward,
            limit: n,
            ..Default::default()
        };
        let mut events = self.store.events(region, &group, &q)?;
        if backward {
            events.reverse();
        }
        let first = events.first().map(|e| e.id).or(cursor).unwrap_or(0);
        let last = events.last().map(|e| e.id).or(cursor).unwrap_or(0);
        let list: Vec<Value> = events
            .iter()
            .map(|e| json!({ "timestamp": e.timestamp_ms, "message": e.message, "ingestionTime": e.ingestion_ms }))
            .collect();
        Ok(json!({
            "events": list,
            "nextForwardToken": format!("f/{last:020}"),
            "nextBackwardToken": format!("b/{first:020}"),
        }))
    }

    fn filter_events(&self, region: &str, body: &Value) -> Result<Value> {
        let group = group_name(body)?;
        self.require_group(region, &group)?;
        let n = limit(body, EVENTS_LIMIT_MAX, EVENTS_LIMIT_MAX)?;
        let pattern = pattern::Pattern::parse(
            body.get("filterPattern")
                .and_then(Value::as_str)
                .unwrap_or(""),
        )
        .map_err(LogsError::InvalidParameter)?;
        let streams = body
            .get("logStreamNames")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect::<Vec<_>>()
            });
        let mut cursor = match body.get("nextToken").and_then(Value::as_str) {
            Some(t) => Some(t.parse::<i64>().map_err(|_| {
                LogsError::InvalidParameter("The specified nextToken is invalid.".into())
            })?),
            None => None,
        };
        let mut found = Vec::new();
        let mut scanned = 0;
        let mut more = false;
        loop {
            let q = LogQuery {
                streams: streams.clone(),
                stream_prefix: body
                    .get("logStreamNamePrefix")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                start_ms: body.get("startTime").and_then(Value::as_i64),
                end_ms: body.get("endTime").and_then(Value::as_i64),
                cursor,
                backward: false,
                limit: 5_000,
            };
            let batch = self.store.events(region, &group, &q)?;
            let done = batch.len() < q.limit;
            for e in batch {
                scanned += 1;
                cursor = Some(e.id);
                if pattern.matches(&e.message) {
                    found.push(e);
                    if found.len() >= n {
                        break;
                    }
                }
            }
            if found.len() >= n || scanned >= FILTER_SCAN_MAX {
                more = true;
                break;
            }
            if done {
                break;
            }
        }
        let list: Vec<Value> = found
            .iter()
            .map(|e| {
                json!({
                    "logStreamName": e.stream,
                    "timestamp": e.timestamp_ms,
                    "message": e.message,
                    "ingestionTime": e.ingestion_ms,
                    "eventId": format!("{:056}", e.id),
                })
            })
            .collect();
        let mut out = json!({ "events": list, "searchedLogStreams": [] });
        if more {
            if let Some(c) = cursor {
                out["nextToken"] = json!(c.to_string());
            }
        }
        Ok(out)
    }

    fn route(&self, req: &ApiRequest) -> Result<ApiResponse> {
        let target = req.header("x-amz-target").unwrap_or("");
        let op = target.strip_prefix("Logs_20140328.").unwrap_or(target);
        let body: Value = if req.body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&req.body)
                .map_err(|e| LogsError::InvalidParameter(format!("Malformed request body: {e}")))?
        };
        let out = match op {
            "DescribeLogGroups" => self.describe_groups(&req.region, &body)?,
            "DescribeLogStreams" => self.describe_streams(&req.region, &body)?,
            "GetLogEvents" => self.get_events(&req.region, &body)?,
            "FilterLogEvents" => self.filter_events(&req.region, &body)?,
            other => {
                return Err(LogsError::NotImplemented(format!(
                    "Eddy does not implement the Logs operation {other:?} yet"
                )))
            }
        };
        Ok(wire::aws_json_response(&out))
    }
}

impl wire::Service for Logs {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        Box::pin(async move { self.route(&req).unwrap_or_else(LogsError::into_response) })
    }

    fn error(&self, status: StatusCode, code: &str, message: &str) -> ApiResponse {
        wire::aws_json_error(status, code, message)
    }
}
