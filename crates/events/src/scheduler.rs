//! EventBridge Scheduler (rest-json): schedule groups and schedules, and what a schedule
//! delivers when it fires.

use crate::deliver::{self, Origin};
use crate::error::{EventsError, Result};
use crate::model::{
    self, constraint_error, decode_token, encode_token, tags_list, tags_to_map, TargetKind,
    DEFAULT_GROUP,
};
use crate::{Events, Schedule, ScheduleKey, GROUP, SCHEDULE};
use http::{Method, StatusCode};
use serde_json::{json, Map, Value};
use store::{NewEntry, Resource, ResourceWrite};
use wire::{ApiRequest, ApiResponse, BoxFuture};

const PAGE_MAX: usize = 100;

/// The Scheduler service; it shares the timers and outbox with [`Events`].
#[derive(Clone)]
pub struct Scheduler {
    events: Events,
}

impl Scheduler {
    pub fn new(events: Events) -> Self {
        Self { events }
    }
}

fn epoch_s(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// A timestamp member as rest-json clients send it: epoch seconds (number) or ISO 8601.
fn timestamp_ms(v: &Value, field: &str) -> Result<Option<i64>> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64().map(|s| (s * 1000.0) as i64)),
        Value::String(s) => parse_iso8601_ms(s)
            .map(Some)
            .ok_or_else(|| EventsError::Validation(format!("Invalid {field} {s}."))),
        _ => Err(EventsError::Validation(format!("Invalid {field}."))),
    }
}

/// `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]` as milliseconds since the epoch.
fn parse_iso8601_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut ms = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let f = &frac[..digits];
        ms = format!("{f:0<3}").get(..3)?.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset_s = match rest {
        "" | "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let v = o[1..3].parse::<i64>().ok()? * 3600 + o[4..6].parse::<i64>().ok()? * 60;
            if o.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let days = wire::time::days_from_civil(y, mo as u32, d as u32);
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec - offset_s) * 1000) + ms)
}

/// Compiles a stored or new schedule record.
pub(crate) fn compile(body: Value) -> Result<Schedule> {
    let expr = body["ScheduleExpression"].as_str().unwrap_or_default();
    let expression = schedule::parse(expr, schedule::Flavor::Scheduler)
        .map_err(|_| EventsError::Validation(format!("Invalid Schedule Expression {expr}.")))?;
    let tz = body["ScheduleExpressionTimezone"].as_str().unwrap_or("UTC");
    let zone = schedule::Zone::parse(tz)
        .map_err(|_| EventsError::Validation(format!("Invalid time zone {tz}.")))?;
    Ok(Schedule {
        body,
        expression,
        zone,
        due_ms: None,
        offset_ms: 0,
    })
}

/// The flexible time window's random delay for one firing.
pub(crate) fn flexible_offset_ms(body: &Value) -> i64 {
    if body["FlexibleTimeWindow"]["Mode"].as_str() != Some("FLEXIBLE") {
        return 0;
    }
    let window_ms = body["FlexibleTimeWindow"]["MaximumWindowInMinutes"]
        .as_i64()
        .unwrap_or(0)
        * 60_000;
    if window_ms <= 0 {
        return 0;
    }
    (wire::id::next_u64() % window_ms as u64) as i64
}

impl Schedule {
    fn enabled(&self) -> bool {
        self.body["State"].as_str() != Some("DISABLED")
    }

    /// The nominal time of the first firing after `after_ms`, within StartDate and EndDate.
    pub(crate) fn next_due(&self, after_ms: i64) -> Option<i64> {
        if !self.enabled() {
            return None;
        }
        let start = self.body["StartMs"].as_i64();
        let end = self.body["EndMs"].as_i64();
        let anchor = start.unwrap_or(self.body["CreatedMs"].as_i64().unwrap_or(0));
        let from = match start {
            Some(s) => after_ms.max(s - 1),
            None => after_ms,
        };
        let next = self.expression.next_after(from, anchor, &self.zone)?;
        match end {
            Some(e) if next > e => None,
            _ => Some(next),
        }
    }

    /// Whether the schedule is to be deleted after its last firing.
    pub(crate) fn delete_when_done(&self) -> bool {
        self.body["ActionAfterCompletion"].as_str() == Some("DELETE")
    }

    /// What firing at `nominal_ms` delivers.
    pub(crate) fn firing(&self, nominal_ms: i64) -> Option<NewEntry> {
        let target = &self.body["Target"];
        let arn = target["Arn"].as_str()?;
        let sched_arn = self.body["Arn"].as_str().unwrap_or_default();
        let execution = wire::id::uuid4();
        let input = target["Input"]
            .as_str()
            .unwrap_or("{}")
            .replace("<aws.scheduler.schedule-arn>", sched_arn)
            .replace(
                "<aws.scheduler.scheduled-time>",
                &wire::time::iso8601(nominal_ms),
            )
            .replace("<aws.scheduler.execution-id>", &execution)
            .replace("<aws.scheduler.attempt-number>", "1");
        let kind = model::target_kind(arn)?;
        let payload = match &kind {
            TargetKind::Bus { .. } => {
                let p = &target["EventBridgeParameters"];
                let detail: Value = serde_json::from_str(&input).unwrap_or_else(|_| json!({}));
                let region = self.body["Region"].as_str().unwrap_or("us-east-1");
                crate::envelope(
                    region,
                    p["Source"].as_str().unwrap_or_default(),
                    p["DetailType"].as_str().unwrap_or_default(),
                    detail,
                    json!([sched_arn]),
                    &wire::time::iso8601(nominal_ms),
                )
                .to_string()
            }
            _ => input,
        };
        let retries = target["RetryPolicy"]["MaximumRetryAttempts"]
            .as_u64()
            .unwrap_or(model::RETRY_ATTEMPTS_DEFAULT as u64) as u32;
        let age = target["RetryPolicy"]["MaximumEventAgeInSeconds"]
            .as_i64()
            .unwrap_or(model::EVENT_AGE_S_DEFAULT);
        Some(deliver::target_entry(
            &deliver::Delivery {
                arn,
                retries,
                age_s: age,
                dlq: target["DeadLetterConfig"]["Arn"].as_str(),
            },
            payload.into_bytes(),
            Origin::Schedule(sched_arn.to_string()),
            &execution,
            0,
        ))
    }
}

/// Checks a schedule's target; the stored form has Scheduler's defaults filled in.
fn check_target(t: &Value) -> Result<Value> {
    let arn = t["Arn"].as_str().unwrap_or_default();
    if arn.is_empty() || arn.len() > 1600 {
        return Err(constraint_error(
            arn,
            "target.arn",
            "Member must have length between 1 and 1600",
        ));
    }
    if arn.starts_with("arn:aws:scheduler:::aws-sdk:") {
        return Err(EventsError::NotImplemented(format!(
            "Eddy does not deliver to universal targets ({arn}) yet; use the templated target ARN of the service."
        )));
    }
    let kind = model::target_kind(arn)
        .ok_or_else(|| EventsError::Validation(format!("Invalid target ARN {arn}.")))?;
    if matches!(kind, TargetKind::Bus { .. }) {
        let p = &t["EventBridgeParameters"];
        if p["DetailType"].as_str().is_none() || p["Source"].as_str().is_none() {
            return Err(EventsError::Validation(
                "EventBridgeParameters with DetailType and Source are required for an EventBridge target.".into(),
            ));
        }
    }
    if t["Input"].as_str().is_some_and(str::is_empty) {
        return Err(constraint_error(
            "",
            "target.input",
            "Member must have length greater than or equal to 1",
        ));
    }
    let (retries, age) = model::retry_policy(&t["RetryPolicy"], "target.retryPolicy")?;
    if let Some(d) = t["DeadLetterConfig"]["Arn"].as_str() {
        if !d.starts_with("arn:aws:sqs:") {
            return Err(EventsError::Validation(format!(
                "Invalid DeadLetterConfig ARN {d}: it must be an Amazon SQS queue."
            )));
        }
    }
    let mut out = t.clone();
    out["RetryPolicy"] =
        json!({ "MaximumRetryAttempts": retries, "MaximumEventAgeInSeconds": age });
    Ok(out)
}

fn name_error(value: &str, field: &str) -> EventsError {
    constraint_error(
        value,
        field,
        "Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$",
    )
}

impl Scheduler {
    fn key(&self, region: &str, group: Option<&str>, name: &str) -> Result<ScheduleKey> {
        if !model::schedule_name_ok(name) {
            return Err(name_error(name, "name"));
        }
        let group = group.unwrap_or(DEFAULT_GROUP);
        if !model::schedule_name_ok(group) {
            return Err(name_error(group, "groupName"));
        }
        if group != DEFAULT_GROUP
            && !self
                .events
                .live()
                .read()
                .groups
                .contains_key(&(region.to_string(), group.to_string()))
        {
            return Err(EventsError::NotFound(format!(
                "Schedule group {group} does not exist."
            )));
        }
        Ok((region.to_string(), group.to_string(), name.to_string()))
    }

    /// Builds and checks a schedule record from a Create or Update body.
    fn record(&self, key: &ScheduleKey, body: &Value, created_ms: i64) -> Result<Schedule> {
        let expr = body["ScheduleExpression"]
            .as_str()
            .ok_or_else(|| EventsError::Validation("ScheduleExpression is required.".into()))?;
        let ftw = &body["FlexibleTimeWindow"];
        match ftw["Mode"].as_str() {
            Some("OFF") => {}
            Some("FLEXIBLE") => {
                let m = ftw["MaximumWindowInMinutes"].as_i64();
                if !m.is_some_and(|m| (1..=1440).contains(&m)) {
                    return Err(EventsError::Validation(
                        "MaximumWindowInMinutes between 1 and 1440 is required when FlexibleTimeWindow Mode is FLEXIBLE.".into(),
                    ));
                }
            }
            _ => {
                return Err(EventsError::Validation(
                    "FlexibleTimeWindow with Mode OFF or FLEXIBLE is required.".into(),
                ))
            }
        }
        let state = body["State"].as_str().unwrap_or("ENABLED");
        if !["ENABLED", "DISABLED"].contains(&state) {
            return Err(constraint_error(
                state,
                "state",
                "Member must satisfy enum value set: [ENABLED, DISABLED]",
            ));
        }
        let after = body["ActionAfterCompletion"].as_str().unwrap_or("NONE");
        if !["NONE", "DELETE"].contains(&after) {
            return Err(constraint_error(
                after,
                "actionAfterCompletion",
                "Member must satisfy enum value set: [NONE, DELETE]",
            ));
        }
        if body["Description"].as_str().is_some_and(|d| d.len() > 512) {
            return Err(constraint_error(
                "<description>",
                "description",
                "Member must have length less than or equal to 512",
            ));
        }
        let target = check_target(&body["Target"])?;
        let start = timestamp_ms(&body["StartDate"], "StartDate")?;
        let end = timestamp_ms(&body["EndDate"], "EndDate")?;
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                return Err(EventsError::Validation(
                    "The EndDate you specify must be after the StartDate.".into(),
                ));
            }
        }
        let now = self.events.now_ms();
        if end.is_some_and(|e| e <= now) {
            return Err(EventsError::Validation(
                "The EndDate you specify cannot be earlier than the current time.".into(),
            ));
        }
        let mut rec = json!({
            "Name": key.2,
            "GroupName": key.1,
            "Region": key.0,
            "Arn": model::schedule_arn(&key.0, &key.1, &key.2),
            "ScheduleExpression": expr,
            "ScheduleExpressionTimezone": body["ScheduleExpressionTimezone"].as_str().unwrap_or("UTC"),
            "FlexibleTimeWindow": ftw,
            "Target": target,
            "State": state,
            "ActionAfterCompletion": after,
            "CreatedMs": created_ms,
            "ModifiedMs": now,
        });
        for k in ["Description", "KmsKeyArn"] {
            if let Some(v) = body[k].as_str() {
                rec[k] = json!(v);
            }
        }
        if let Some(s) = start {
            rec["StartMs"] = json!(s);
        }
        if let Some(e) = end {
            rec["EndMs"] = json!(e);
        }
        compile(rec)
    }

    async fn save(&self, key: &ScheduleKey, s: Schedule) -> Result<()> {
        let now = self.events.now_ms();
        let due = s.next_due(now);
        let offset = flexible_offset_ms(&s.body);
        self.events
            .commit(
                vec![ResourceWrite::Put(Resource {
                    kind: SCHEDULE.into(),
                    scope: format!("{}/{}", key.0, key.1),
                    name: key.2.clone(),
                    body: s.body.to_string(),
                    due_ms: due,
                })],
                vec![],
            )
            .await?;
        let mut st = self.events.live().write();
        st.set_schedule_timer(key, None, 0);
        st.schedules.insert(key.clone(), s);
        st.set_schedule_timer(key, due, offset);
        drop(st);
        self.events.inner.timers_changed.notify_one();
        Ok(())
    }

    async fn create_schedule(&self, region: &str, name: &str, body: &Value) -> Result<Value> {
        let key = self.key(region, body["GroupName"].as_str(), name)?;
        let token = body["ClientToken"].as_str();
        let _w = self.events.live().lock().await;
        if let Some(existing) = self.events.live().read().schedules.get(&key) {
            // A retried create (same ClientToken) gets the same answer again.
            if token.is_some() && existing.body["ClientToken"].as_str() == token {
                return Ok(json!({ "ScheduleArn": existing.body["Arn"] }));
            }
            return Err(EventsError::Conflict(format!(
                "Schedule {name} already exists."
            )));
        }
        let count = self.events.live().read().schedules.len();
        if count >= self.events.inner.cfg.schedules_max {
            return Err(EventsError::LimitExceeded(
                "The number of schedules has reached the service quota.".into(),
            ));
        }
        let mut s = self.record(&key, body, self.events.now_ms())?;
        if let Some(t) = token {
            s.body["ClientToken"] = json!(t);
        }
        let arn = s.body["Arn"].clone();
        self.save(&key, s).await?;
        Ok(json!({ "ScheduleArn": arn }))
    }

    async fn update_schedule(&self, region: &str, name: &str, body: &Value) -> Result<Value> {
        let key = self.key(region, body["GroupName"].as_str(), name)?;
        let _w = self.events.live().lock().await;
        let created = self
            .events
            .live()
            .read()
            .schedules
            .get(&key)
            .map(|s| s.body["CreatedMs"].as_i64().unwrap_or(0))
            .ok_or_else(|| not_found(&key))?;
        let s = self.record(&key, body, created)?;
        let arn = s.body["Arn"].clone();
        self.save(&key, s).await?;
        Ok(json!({ "ScheduleArn": arn }))
    }

    fn get_schedule(&self, region: &str, name: &str, req: &ApiRequest) -> Result<Value> {
        let key = self.key(region, req.query_param("groupName"), name)?;
        let st = self.events.live().read();
        let s = st.schedules.get(&key).ok_or_else(|| not_found(&key))?;
        Ok(schedule_view(&s.body))
    }

    async fn delete_schedule(&self, region: &str, name: &str, req: &ApiRequest) -> Result<Value> {
        let key = self.key(region, req.query_param("groupName"), name)?;
        let _w = self.events.live().lock().await;
        if !self.events.live().read().schedules.contains_key(&key) {
            return Err(not_found(&key));
        }
        self.events.commit(vec![delete_write(&key)], vec![]).await?;
        let mut st = self.events.live().write();
        st.set_schedule_timer(&key, None, 0);
        st.schedules.remove(&key);
        Ok(json!({}))
    }

    fn list_schedules(&self, region: &str, req: &ApiRequest) -> Result<Value> {
        let group = req.query_param("ScheduleGroup");
        let prefix = req.query_param("NamePrefix").unwrap_or_default();
        let state = req.query_param("State");
        let limit = max_results(req)?;
        let after = req.query_param("NextToken").map(decode_token).transpose()?;
        let st = self.events.live().read();
        let mut out = Vec::new();
        let mut next = None;
        for (k, s) in st.schedules.iter().filter(|(k, _)| k.0 == region) {
            let pos = format!("{}/{}", k.1, k.2);
            if group.is_some_and(|g| g != k.1)
                || !k.2.starts_with(prefix)
                || state.is_some_and(|x| s.body["State"].as_str() != Some(x))
                || after.as_ref().is_some_and(|a| pos.as_str() <= a.as_str())
            {
                continue;
            }
            if out.len() == limit {
                next = out.last().map(|v: &Value| {
                    encode_token(&format!(
                        "{}/{}",
                        v["GroupName"].as_str().unwrap_or_default(),
                        v["Name"].as_str().unwrap_or_default()
                    ))
                });
                break;
            }
            out.push(json!({
                "Arn": s.body["Arn"], "Name": k.2, "GroupName": k.1, "State": s.body["State"],
                "CreationDate": epoch_s(s.body["CreatedMs"].as_i64().unwrap_or(0)),
                "LastModificationDate": epoch_s(s.body["ModifiedMs"].as_i64().unwrap_or(0)),
                "Target": { "Arn": s.body["Target"]["Arn"] },
            }));
        }
        let mut v = json!({ "Schedules": out });
        if let Some(n) = next {
            v["NextToken"] = json!(n);
        }
        Ok(v)
    }

    async fn create_group(&self, region: &str, name: &str, body: &Value) -> Result<Value> {
        if !model::schedule_name_ok(name) {
            return Err(name_error(name, "name"));
        }
        let token = body["ClientToken"].as_str();
        let _w = self.events.live().lock().await;
        let k = (region.to_string(), name.to_string());
        if let Some(g) = self.events.live().read().groups.get(&k) {
            // A retried create (same ClientToken) gets the same answer again.
            if token.is_some() && g["ClientToken"].as_str() == token {
                return Ok(json!({ "ScheduleGroupArn": g["Arn"] }));
            }
        }
        if name == DEFAULT_GROUP || self.events.live().read().groups.contains_key(&k) {
            return Err(EventsError::Conflict(format!(
                "Schedule group {name} already exists."
            )));
        }
        let groups = self
            .events
            .live()
            .read()
            .groups
            .keys()
            .filter(|g| g.0 == region)
            .count();
        if groups >= self.events.inner.cfg.groups_max {
            return Err(EventsError::LimitExceeded(
                "The number of schedule groups has reached the service quota.".into(),
            ));
        }
        let now = self.events.now_ms();
        let tags = tags_to_map(&body["Tags"])?;
        let mut rec = json!({
            "Name": name, "Arn": model::group_arn(region, name), "State": "ACTIVE",
            "CreatedMs": now, "ModifiedMs": now, "Tags": tags,
        });
        if let Some(t) = token {
            rec["ClientToken"] = json!(t);
        }
        self.events
            .commit(
                vec![ResourceWrite::Put(Resource {
                    kind: GROUP.into(),
                    scope: region.into(),
                    name: name.into(),
                    body: rec.to_string(),
                    due_ms: None,
                })],
                vec![],
            )
            .await?;
        self.events.live().write().groups.insert(k, rec.clone());
        Ok(json!({ "ScheduleGroupArn": rec["Arn"] }))
    }

    fn group_view(&self, region: &str, name: &str) -> Option<Value> {
        if name == DEFAULT_GROUP {
            return Some(json!({
                "Name": DEFAULT_GROUP, "Arn": model::group_arn(region, DEFAULT_GROUP), "State": "ACTIVE",
            }));
        }
        let st = self.events.live().read();
        let g = st.groups.get(&(region.to_string(), name.to_string()))?;
        Some(json!({
            "Name": g["Name"], "Arn": g["Arn"], "State": g["State"],
            "CreationDate": epoch_s(g["CreatedMs"].as_i64().unwrap_or(0)),
            "LastModificationDate": epoch_s(g["ModifiedMs"].as_i64().unwrap_or(0)),
        }))
    }

    async fn delete_group(&self, region: &str, name: &str) -> Result<Value> {
        if name == DEFAULT_GROUP {
            return Err(EventsError::Validation(
                "The default schedule group cannot be deleted.".into(),
            ));
        }
        let _w = self.events.live().lock().await;
        let k = (region.to_string(), name.to_string());
        if !self.events.live().read().groups.contains_key(&k) {
            return Err(EventsError::NotFound(format!(
                "Schedule group {name} does not exist."
            )));
        }
        // Deleting a group deletes its schedules, as on AWS.
        let keys: Vec<ScheduleKey> = self
            .events
            .live()
            .read()
            .schedules
            .keys()
            .filter(|s| s.0 == region && s.1 == name)
            .cloned()
            .collect();
        let mut writes: Vec<ResourceWrite> = keys.iter().map(delete_write).collect();
        writes.push(ResourceWrite::Delete {
            kind: GROUP.into(),
            scope: region.into(),
            name: name.into(),
        });
        self.events.commit(writes, vec![]).await?;
        let mut st = self.events.live().write();
        for key in &keys {
            st.set_schedule_timer(key, None, 0);
            st.schedules.remove(key);
        }
        st.groups.remove(&k);
        Ok(json!({}))
    }

    fn list_groups(&self, region: &str, req: &ApiRequest) -> Result<Value> {
        let prefix = req.query_param("NamePrefix").unwrap_or_default();
        let limit = max_results(req)?;
        let after = req.query_param("NextToken").map(decode_token).transpose()?;
        let mut names = vec![DEFAULT_GROUP.to_string()];
        names.extend(
            self.events
                .live()
                .read()
                .groups
                .keys()
                .filter(|k| k.0 == region)
                .map(|k| k.1.clone()),
        );
        names.sort();
        let (out, next) = model::page_of_names(&names, prefix, after.as_deref(), limit, |n| {
            self.group_view(region, n)
        });
        let mut v = json!({ "ScheduleGroups": out });
        if let Some(n) = next {
            v["NextToken"] = json!(n);
        }
        Ok(v)
    }

    async fn tags(&self, req: &ApiRequest, arn: &str, body: &Value) -> Result<Value> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let not_found = || EventsError::NotFound(format!("Resource {arn} does not exist."));
        let [_, _, "scheduler", region, _, res] = parts[..] else {
            return Err(not_found());
        };
        let name = res.strip_prefix("schedule-group/").ok_or_else(not_found)?;
        let k = (region.to_string(), name.to_string());
        let _w = self.events.live().lock().await;
        let mut rec = self
            .events
            .live()
            .read()
            .groups
            .get(&k)
            .cloned()
            .ok_or_else(not_found)?;
        let mut tags = rec["Tags"].as_object().cloned().unwrap_or_default();
        match req.method {
            Method::GET => return Ok(json!({ "Tags": tags_list(&rec["Tags"]) })),
            Method::POST => tags.extend(tags_to_map(&body["Tags"])?),
            _ => {
                for (q, v) in &req.query {
                    if q == "TagKeys" {
                        tags.remove(v);
                    }
                }
            }
        }
        if tags.len() > 200 {
            return Err(EventsError::LimitExceeded("Too many tags.".into()));
        }
        rec["Tags"] = Value::Object(tags);
        self.events
            .commit(
                vec![ResourceWrite::Put(Resource {
                    kind: GROUP.into(),
                    scope: k.0.clone(),
                    name: k.1.clone(),
                    body: rec.to_string(),
                    due_ms: None,
                })],
                vec![],
            )
            .await?;
        self.events.live().write().groups.insert(k, rec);
        Ok(json!({}))
    }

    async fn dispatch(&self, req: &ApiRequest) -> Result<Value> {
        let segs = req.segments();
        let body: Value = if req.body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&req.body).map_err(|_| {
                EventsError::Validation("The request body is not valid JSON.".into())
            })?
        };
        let region = req.region.as_str();
        let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
        match (&req.method, seg.as_slice()) {
            (&Method::POST, ["schedules", name]) => self.create_schedule(region, name, &body).await,
            (&Method::PUT, ["schedules", name]) => self.update_schedule(region, name, &body).await,
            (&Method::GET, ["schedules", name]) => self.get_schedule(region, name, req),
            (&Method::DELETE, ["schedules", name]) => self.delete_schedule(region, name, req).await,
            (&Method::GET, ["schedules"]) => self.list_schedules(region, req),
            (&Method::POST, ["schedule-groups", name]) => {
                self.create_group(region, name, &body).await
            }
            (&Method::GET, ["schedule-groups", name]) => {
                self.group_view(region, name).ok_or_else(|| {
                    EventsError::NotFound(format!("Schedule group {name} does not exist."))
                })
            }
            (&Method::DELETE, ["schedule-groups", name]) => self.delete_group(region, name).await,
            (&Method::GET, ["schedule-groups"]) => self.list_groups(region, req),
            (_, ["tags", arn]) => self.tags(req, arn, &body).await,
            _ => Err(EventsError::NotImplemented(format!(
                "Eddy does not implement {} {} in EventBridge Scheduler.",
                req.method, req.path
            ))),
        }
    }
}

fn not_found(key: &ScheduleKey) -> EventsError {
    EventsError::NotFound(format!("Schedule {} does not exist.", key.2))
}

fn delete_write(key: &ScheduleKey) -> ResourceWrite {
    ResourceWrite::Delete {
        kind: SCHEDULE.into(),
        scope: format!("{}/{}", key.0, key.1),
        name: key.2.clone(),
    }
}

fn max_results(req: &ApiRequest) -> Result<usize> {
    match req.query_param("MaxResults") {
        None => Ok(PAGE_MAX),
        Some(v) => match v.parse::<usize>() {
            Ok(n @ 1..=PAGE_MAX) => Ok(n),
            _ => Err(constraint_error(
                v,
                "maxResults",
                "Member must have value between 1 and 100",
            )),
        },
    }
}

/// GetSchedule's view of a stored record.
fn schedule_view(rec: &Value) -> Value {
    let mut v = Map::new();
    for k in [
        "Name",
        "GroupName",
        "Arn",
        "ScheduleExpression",
        "ScheduleExpressionTimezone",
        "FlexibleTimeWindow",
        "Target",
        "State",
        "ActionAfterCompletion",
        "Description",
        "KmsKeyArn",
    ] {
        if let Some(x) = rec.get(k) {
            v.insert(k.into(), x.clone());
        }
    }
    for (from, to) in [
        ("CreatedMs", "CreationDate"),
        ("ModifiedMs", "LastModificationDate"),
        ("StartMs", "StartDate"),
        ("EndMs", "EndDate"),
    ] {
        if let Some(ms) = rec[from].as_i64() {
            v.insert(to.into(), epoch_s(ms));
        }
    }
    Value::Object(v)
}

impl wire::Service for Scheduler {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        Box::pin(async move {
            match self.dispatch(&req).await {
                Ok(v) => wire::json_response(StatusCode::OK, &v),
                Err(e) => e.into_scheduler_response(),
            }
        })
    }

    fn error(&self, status: StatusCode, code: &str, message: &str) -> ApiResponse {
        let body = json!({ "Message": message });
        let mut r = wire::json_response(status, &body);
        if let Ok(v) = http::HeaderValue::from_str(code) {
            r.headers_mut().insert("x-amzn-errortype", v);
        }
        r
    }
}
