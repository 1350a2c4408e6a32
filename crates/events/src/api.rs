//! The EventBridge operations.

use crate::error::{EventsError, Result};
use crate::model::{
    self, constraint_error, decode_token, encode_token, tags_list, tags_to_map, DEFAULT_BUS,
};
use crate::{compile_rule, Events, RuleKey, BUS, RULE};
use http::StatusCode;
use serde_json::{json, Map, Value};
use store::{Resource, ResourceWrite};
use wire::{ApiRequest, ApiResponse, BoxFuture};

/// Items per page when a List call gives no Limit.
const PAGE_DEFAULT: usize = 100;

fn str_field<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

fn required<'a>(body: &'a Value, key: &str) -> Result<&'a str> {
    str_field(body, key).ok_or_else(|| {
        EventsError::Validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(key)
        ))
    })
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Limit and the position after which a page starts.
fn page(body: &Value) -> Result<(usize, Option<String>)> {
    let limit = match body.get("Limit") {
        None | Some(Value::Null) => PAGE_DEFAULT,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=100) => n as usize,
            _ => {
                return Err(constraint_error(
                    &v.to_string(),
                    "limit",
                    "Member must have value between 1 and 100",
                ))
            }
        },
    };
    let after = match str_field(body, "NextToken") {
        Some(t) => Some(decode_token(t)?),
        None => None,
    };
    Ok((limit, after))
}

/// Seconds since the epoch, as json 1.1 timestamps are sent.
fn epoch_s(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

impl Events {
    fn rule_not_found(name: &str, bus: &str) -> EventsError {
        EventsError::NotFound(format!("Rule {name} does not exist on EventBus {bus}."))
    }

    fn bus_not_found(name: &str) -> EventsError {
        EventsError::NotFound(format!("Event bus {name} does not exist."))
    }

    /// The bus a request names, which must exist.
    fn existing_bus(&self, region: &str, body: &Value, key: &str) -> Result<String> {
        let bus = model::bus_name(str_field(body, key), region)?;
        if !self.live().read().bus_exists(region, &bus) {
            return Err(Self::bus_not_found(&bus));
        }
        Ok(bus)
    }

    fn rule_key(&self, region: &str, body: &Value, name_key: &str) -> Result<RuleKey> {
        let name = required(body, name_key)?;
        if !model::rule_name_ok(name) {
            return Err(constraint_error(
                name,
                &lower_first(name_key),
                "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
            ));
        }
        let bus = self.existing_bus(region, body, "EventBusName")?;
        Ok((region.to_string(), bus, name.to_string()))
    }

    fn rule_body(&self, key: &RuleKey) -> Result<Value> {
        self.live()
            .read()
            .rules
            .get(key)
            .map(|r| r.body.clone())
            .ok_or_else(|| Self::rule_not_found(&key.2, &key.1))
    }

    /// Stores a rule record and applies it to memory (pattern index and timer).
    async fn save_rule(&self, key: &RuleKey, body: Value) -> Result<()> {
        let mut rule = compile_rule(body)?;
        let now = self.now_ms();
        let due = match (&rule.schedule, rule.enabled()) {
            (Some(s), true) => {
                let anchor = rule.body["CreatedMs"].as_i64().unwrap_or(now);
                s.next_after(now, anchor, &schedule::Zone::utc())
            }
            _ => None,
        };
        rule.due_ms = None;
        let write = ResourceWrite::Put(Resource {
            kind: RULE.into(),
            scope: format!("{}/{}", key.0, key.1),
            name: key.2.clone(),
            body: rule.body.to_string(),
            due_ms: due,
        });
        self.commit(vec![write], vec![]).await?;
        let mut st = self.live().write();
        if let Some(old) = st.rules.get(key).and_then(|r| r.due_ms) {
            st.timers.remove(&(old, crate::TimerKey::Rule(key.clone())));
        }
        st.rules.insert(key.clone(), rule);
        st.set_rule_timer(key, due);
        st.rebuild_matcher(&key.0, &key.1);
        drop(st);
        self.inner.timers_changed.notify_one();
        Ok(())
    }

    async fn put_rule(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.rule_key(region, body, "Name")?;
        let pattern = str_field(body, "EventPattern");
        let schedule = str_field(body, "ScheduleExpression");
        if pattern.is_none() && schedule.is_none() {
            return Err(EventsError::Validation(
                "Parameter(s) EventPattern or ScheduleExpression must be specified.".into(),
            ));
        }
        if schedule.is_some() && key.1 != DEFAULT_BUS {
            return Err(EventsError::Validation(
                "ScheduleExpression is supported only on the default event bus.".into(),
            ));
        }
        if let Some(p) = pattern {
            if p.len() > 4096 {
                return Err(constraint_error(
                    p,
                    "eventPattern",
                    "Member must have length less than or equal to 4096",
                ));
            }
        }
        let state = str_field(body, "State").unwrap_or("ENABLED");
        if ![
            "ENABLED",
            "DISABLED",
            "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
        ]
        .contains(&state)
        {
            return Err(constraint_error(
                state,
                "state",
                "Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]",
            ));
        }
        let description = str_field(body, "Description");
        if description.is_some_and(|d| d.len() > 512) {
            return Err(constraint_error(
                "<description>",
                "description",
                "Member must have length less than or equal to 512",
            ));
        }
        let tags = tags_to_map(&body["Tags"])?;
        let _w = self.live().lock().await;
        let existing = self.live().read().rules.get(&key).map(|r| r.body.clone());
        if existing.is_none() {
            let count = self
                .live()
                .read()
                .rules
                .keys()
                .filter(|k| k.0 == key.0 && k.1 == key.1)
                .count();
            if count >= self.inner.cfg.rules_per_bus_max {
                return Err(EventsError::LimitExceeded(
                    "The requested resource exceeds the maximum number allowed.".into(),
                ));
            }
        }
        let arn = model::rule_arn(region, &key.1, &key.2);
        let mut rec = json!({
            "Name": key.2,
            "Arn": arn,
            "State": state,
            "EventBusName": key.1,
            "CreatedBy": wire::ACCOUNT_ID,
            "CreatedMs": existing.as_ref().and_then(|e| e["CreatedMs"].as_i64()).unwrap_or(self.now_ms()),
            "Targets": existing.as_ref().map(|e| e["Targets"].clone()).unwrap_or(json!([])),
        });
        let mut all_tags = existing
            .as_ref()
            .and_then(|e| e["Tags"].as_object().cloned())
            .unwrap_or_default();
        all_tags.extend(tags);
        rec["Tags"] = Value::Object(all_tags);
        for (k, v) in [
            ("EventPattern", pattern),
            ("ScheduleExpression", schedule),
            ("Description", description),
            ("RoleArn", str_field(body, "RoleArn")),
        ] {
            if let Some(v) = v {
                rec[k] = json!(v);
            }
        }
        self.save_rule(&key, rec).await?;
        Ok(json!({ "RuleArn": arn }))
    }

    fn describe_rule(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.rule_key(region, body, "Name")?;
        let rec = self.rule_body(&key)?;
        Ok(rule_view(&rec))
    }

    async fn set_rule_state(&self, region: &str, body: &Value, state: &str) -> Result<Value> {
        let key = self.rule_key(region, body, "Name")?;
        let _w = self.live().lock().await;
        let mut rec = self.rule_body(&key)?;
        rec["State"] = json!(state);
        self.save_rule(&key, rec).await?;
        Ok(json!({}))
    }

    async fn delete_rule(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.rule_key(region, body, "Name")?;
        let _w = self.live().lock().await;
        let Some(rec) = self.live().read().rules.get(&key).map(|r| r.body.clone()) else {
            return Ok(json!({}));
        };
        if rec["Targets"].as_array().is_some_and(|t| !t.is_empty()) {
            return Err(EventsError::Validation(
                "Rule can't be deleted since it has targets.".into(),
            ));
        }
        self.commit(
            vec![ResourceWrite::Delete {
                kind: RULE.into(),
                scope: format!("{}/{}", key.0, key.1),
                name: key.2.clone(),
            }],
            vec![],
        )
        .await?;
        let mut st = self.live().write();
        st.set_rule_timer(&key, None);
        st.rules.remove(&key);
        st.rebuild_matcher(&key.0, &key.1);
        Ok(json!({}))
    }

    fn list_rules(&self, region: &str, body: &Value) -> Result<Value> {
        let bus = self.existing_bus(region, body, "EventBusName")?;
        let prefix = str_field(body, "NamePrefix").unwrap_or_default();
        let (limit, after) = page(body)?;
        let st = self.live().read();
        let lo = (
            region.to_string(),
            bus.clone(),
            after.clone().unwrap_or_default(),
        );
        let mut rules = Vec::new();
        let mut next = None;
        for (k, r) in st.rules.range(lo..) {
            if k.0 != region || k.1 != bus {
                break;
            }
            if after.as_deref() == Some(k.2.as_str()) || !k.2.starts_with(prefix) {
                continue;
            }
            if rules.len() == limit {
                next = Some(encode_token(&rules_last(&rules)));
                break;
            }
            let mut view = rule_view(&r.body);
            // ListRules leaves out CreatedBy, which DescribeRule shows.
            if let Some(m) = view.as_object_mut() {
                m.remove("CreatedBy");
            }
            rules.push(view);
        }
        let mut out = json!({ "Rules": rules });
        if let Some(n) = next {
            out["NextToken"] = json!(n);
        }
        Ok(out)
    }

    fn list_rule_names_by_target(&self, region: &str, body: &Value) -> Result<Value> {
        let target = required(body, "TargetArn")?;
        let bus = self.existing_bus(region, body, "EventBusName")?;
        let (limit, after) = page(body)?;
        let st = self.live().read();
        let mut names = Vec::new();
        let mut next = None;
        let lo = (
            region.to_string(),
            bus.clone(),
            after.clone().unwrap_or_default(),
        );
        for (k, r) in st.rules.range(lo..) {
            if k.0 != region || k.1 != bus {
                break;
            }
            if after.as_deref() == Some(k.2.as_str()) || !r.targets.iter().any(|t| t.arn == target)
            {
                continue;
            }
            if names.len() == limit {
                next = names
                    .last()
                    .map(|n: &Value| encode_token(n.as_str().unwrap_or_default()));
                break;
            }
            names.push(json!(k.2));
        }
        let mut out = json!({ "RuleNames": names });
        if let Some(n) = next {
            out["NextToken"] = json!(n);
        }
        Ok(out)
    }

    async fn put_targets(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.rule_key(region, body, "Rule")?;
        let given = body["Targets"].as_array().cloned().unwrap_or_default();
        if given.is_empty() || given.len() > 100 {
            return Err(constraint_error(
                "[]",
                "targets",
                "Member must have length between 1 and 100",
            ));
        }
        let mut parsed = Vec::new();
        for (i, t) in given.iter().enumerate() {
            parsed.push(model::parse_target(t, i + 1)?);
        }
        let _w = self.live().lock().await;
        let mut rec = self.rule_body(&key)?;
        let mut targets: Vec<Value> = rec["Targets"].as_array().cloned().unwrap_or_default();
        for t in parsed {
            match targets.iter_mut().find(|x| x["Id"] == json!(t.id)) {
                Some(slot) => *slot = t.raw.clone(),
                None => targets.push(t.raw.clone()),
            }
        }
        if targets.len() > model::TARGETS_PER_RULE_MAX {
            return Err(EventsError::LimitExceeded(format!(
                "The requested resource exceeds the maximum number allowed. A rule can have at most {} targets.",
                model::TARGETS_PER_RULE_MAX
            )));
        }
        rec["Targets"] = Value::Array(targets);
        self.save_rule(&key, rec).await?;
        Ok(json!({ "FailedEntryCount": 0, "FailedEntries": [] }))
    }

    async fn remove_targets(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.rule_key(region, body, "Rule")?;
        let ids: Vec<String> = body["Ids"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if ids.is_empty() || ids.len() > 100 {
            return Err(constraint_error(
                "[]",
                "ids",
                "Member must have length between 1 and 100",
            ));
        }
        let _w = self.live().lock().await;
        let mut rec = self.rule_body(&key)?;
        let mut targets: Vec<Value> = rec["Targets"].as_array().cloned().unwrap_or_default();
        let mut failed = Vec::new();
        for id in &ids {
            let before = targets.len();
            targets.retain(|t| t["Id"].as_str() != Some(id));
            if targets.len() == before {
                failed.push(json!({
                    "TargetId": id,
                    "ErrorCode": "ResourceNotFoundException",
                    "ErrorMessage": format!("Target {id} does not exist on rule {}.", key.2),
                }));
            }
        }
        rec["Targets"] = Value::Array(targets);
        self.save_rule(&key, rec).await?;
        Ok(json!({ "FailedEntryCount": failed.len(), "FailedEntries": failed }))
    }

    fn list_targets_by_rule(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.rule_key(region, body, "Rule")?;
        let rec = self.rule_body(&key)?;
        let (limit, after) = page(body)?;
        let all = rec["Targets"].as_array().cloned().unwrap_or_default();
        let start = match after {
            Some(a) => all
                .iter()
                .position(|t| t["Id"].as_str() == Some(a.as_str()))
                .map_or(all.len(), |i| i + 1),
            None => 0,
        };
        let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
        let mut out = json!({ "Targets": page });
        if start + limit < all.len() {
            if let Some(last) = page.last().and_then(|t| t["Id"].as_str()) {
                out["NextToken"] = json!(encode_token(last));
            }
        }
        Ok(out)
    }

    async fn create_event_bus(&self, region: &str, body: &Value) -> Result<Value> {
        let name = required(body, "Name")?;
        if !model::bus_name_ok(name) {
            return Err(constraint_error(
                name,
                "name",
                "Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+",
            ));
        }
        if name.contains('/') {
            return Err(EventsError::Validation(format!(
                "Event bus name must not contain '/'. Partner event buses are not supported; {name} is not a valid name."
            )));
        }
        if body.get("EventSourceName").is_some() {
            return Err(EventsError::NotImplemented(
                "Partner event sources are not implemented.".into(),
            ));
        }
        let tags = tags_to_map(&body["Tags"])?;
        let _w = self.live().lock().await;
        if self.live().read().bus_exists(region, name) {
            return Err(EventsError::AlreadyExists(format!(
                "Event bus {name} already exists."
            )));
        }
        let buses = self
            .live()
            .read()
            .buses
            .keys()
            .filter(|k| k.0 == region)
            .count();
        if buses >= self.inner.cfg.buses_max {
            return Err(EventsError::LimitExceeded(
                "The requested resource exceeds the maximum number allowed.".into(),
            ));
        }
        let now = self.now_ms();
        let arn = model::bus_arn(region, name);
        let mut rec = json!({
            "Name": name, "Arn": arn, "CreatedMs": now, "ModifiedMs": now, "Tags": tags,
        });
        if let Some(d) = str_field(body, "Description") {
            rec["Description"] = json!(d);
        }
        self.commit(
            vec![ResourceWrite::Put(Resource {
                kind: BUS.into(),
                scope: region.into(),
                name: name.into(),
                body: rec.to_string(),
                due_ms: None,
            })],
            vec![],
        )
        .await?;
        self.live()
            .write()
            .buses
            .insert((region.into(), name.into()), rec.clone());
        let mut out = json!({ "EventBusArn": arn });
        if let Some(d) = rec.get("Description") {
            out["Description"] = d.clone();
        }
        Ok(out)
    }

    fn bus_view(&self, region: &str, name: &str) -> Option<Value> {
        if name == DEFAULT_BUS {
            return Some(
                json!({ "Name": DEFAULT_BUS, "Arn": model::bus_arn(region, DEFAULT_BUS) }),
            );
        }
        let st = self.live().read();
        let rec = st.buses.get(&(region.to_string(), name.to_string()))?;
        let mut v = json!({
            "Name": rec["Name"], "Arn": rec["Arn"],
            "CreationTime": epoch_s(rec["CreatedMs"].as_i64().unwrap_or(0)),
            "LastModifiedTime": epoch_s(rec["ModifiedMs"].as_i64().unwrap_or(0)),
        });
        if let Some(d) = rec.get("Description") {
            v["Description"] = d.clone();
        }
        Some(v)
    }

    fn describe_event_bus(&self, region: &str, body: &Value) -> Result<Value> {
        let name = model::bus_name(str_field(body, "Name"), region)?;
        self.bus_view(region, &name)
            .ok_or_else(|| Self::bus_not_found(&name))
    }

    fn list_event_buses(&self, region: &str, body: &Value) -> Result<Value> {
        let prefix = str_field(body, "NamePrefix").unwrap_or_default();
        let (limit, after) = page(body)?;
        let mut names: Vec<String> = vec![DEFAULT_BUS.to_string()];
        names.extend(
            self.live()
                .read()
                .buses
                .keys()
                .filter(|k| k.0 == region)
                .map(|k| k.1.clone()),
        );
        names.sort();
        let (out_buses, next) =
            model::page_of_names(&names, prefix, after.as_deref(), limit, |n| {
                self.bus_view(region, n)
            });
        let mut out = json!({ "EventBuses": out_buses });
        if let Some(n) = next {
            out["NextToken"] = json!(n);
        }
        Ok(out)
    }

    async fn delete_event_bus(&self, region: &str, body: &Value) -> Result<Value> {
        let name = required(body, "Name")?;
        if name == DEFAULT_BUS {
            return Err(EventsError::Validation(
                "Cannot delete event bus default.".into(),
            ));
        }
        let _w = self.live().lock().await;
        if !self.live().read().bus_exists(region, name) {
            return Ok(json!({}));
        }
        let rules: Vec<RuleKey> = self
            .live()
            .read()
            .rules
            .keys()
            .filter(|k| k.0 == region && k.1 == name)
            .cloned()
            .collect();
        let mut writes = vec![ResourceWrite::Delete {
            kind: BUS.into(),
            scope: region.into(),
            name: name.into(),
        }];
        for k in &rules {
            writes.push(ResourceWrite::Delete {
                kind: RULE.into(),
                scope: format!("{}/{}", k.0, k.1),
                name: k.2.clone(),
            });
        }
        self.commit(writes, vec![]).await?;
        let mut st = self.live().write();
        for k in &rules {
            st.rules.remove(k);
        }
        st.buses.remove(&(region.to_string(), name.to_string()));
        st.matchers.remove(&(region.to_string(), name.to_string()));
        Ok(json!({}))
    }

    async fn put_events(&self, region: &str, body: &Value) -> Result<Value> {
        let entries = body["Entries"].as_array().cloned().unwrap_or_default();
        if entries.is_empty() || entries.len() > 10 {
            return Err(constraint_error(
                &format!("{} entries", entries.len()),
                "entries",
                "Member must have length less than or equal to 10",
            ));
        }
        let total: usize = entries.iter().map(model::entry_size).sum();
        if total > model::EVENT_BYTES_MAX {
            return Err(EventsError::Validation(
                "Total size of the entries in the request is over the limit.".into(),
            ));
        }
        let now = self.now_ms();
        let mut results = Vec::with_capacity(entries.len());
        let mut outbox = Vec::new();
        let mut failed = 0;
        for e in &entries {
            match self.accept_entry(region, e, now) {
                Ok((id, routed)) => {
                    outbox.extend(routed);
                    results.push(json!({ "EventId": id }));
                }
                Err((code, message)) => {
                    failed += 1;
                    results.push(json!({ "ErrorCode": code, "ErrorMessage": message }));
                }
            }
        }
        if let Err(e) = self.commit(vec![], outbox).await {
            tracing::error!("PutEvents could not store its deliveries: {e}");
            for r in results.iter_mut().filter(|r| r.get("EventId").is_some()) {
                *r = json!({ "ErrorCode": "InternalFailure", "ErrorMessage": "The event could not be stored; retry." });
                failed += 1;
            }
        }
        Ok(json!({ "FailedEntryCount": failed, "Entries": results }))
    }

    /// Checks one PutEvents entry and routes it: the event id and its deliveries, or an
    /// (ErrorCode, ErrorMessage) pair.
    fn accept_entry(
        &self,
        region: &str,
        e: &Value,
        now: i64,
    ) -> std::result::Result<(String, Vec<store::NewEntry>), (String, String)> {
        let missing = |field: &str| {
            (
                "InvalidArgument".to_string(),
                format!("Parameter {field} is not valid. Reason: {field} is a required argument."),
            )
        };
        let source = str_field(e, "Source").ok_or_else(|| missing("Source"))?;
        let detail_type = str_field(e, "DetailType").ok_or_else(|| missing("DetailType"))?;
        let detail = str_field(e, "Detail").ok_or_else(|| missing("Detail"))?;
        // Sources under `aws.` belong to AWS services; callers may not use them.
        if source.starts_with("aws.") {
            return Err((
                "NotAuthorizedForSourceException".into(),
                "Not authorized for the source.".into(),
            ));
        }
        let detail: Value = match serde_json::from_str(detail) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return Err(("MalformedDetail".into(), "Detail is malformed.".into()));
            }
        };
        let bus = model::bus_name(str_field(e, "EventBusName"), region)
            .map_err(|err| ("InvalidArgument".to_string(), err.to_string()))?;
        // AWS accepts events for a bus that does not exist (and delivers them nowhere).
        let time_ms = match e.get("Time").and_then(Value::as_f64) {
            Some(s) => (s * 1000.0) as i64,
            None => now,
        };
        let resources = match e.get("Resources") {
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => Value::Array(a.clone()),
            Some(Value::Array(_)) => {
                return Err((
                    "InvalidArgument".into(),
                    "Parameter Resources is not valid. Reason: Resources must be strings.".into(),
                ))
            }
            _ => json!([]),
        };
        let event = crate::envelope(
            region,
            source,
            detail_type,
            detail,
            resources,
            &wire::time::iso8601(time_ms),
        );
        let id = event["id"].as_str().unwrap_or_default().to_string();
        Ok((id, self.route(region, &bus, &event)))
    }

    fn test_event_pattern(&self, body: &Value) -> Result<Value> {
        let pattern = required(body, "EventPattern")?;
        let event = required(body, "Event")?;
        let p = pattern::Pattern::parse(pattern)
            .map_err(|e| EventsError::InvalidPattern(e.to_string()))?;
        let event: Value = serde_json::from_str(event)
            .map_err(|_| EventsError::Validation("Parameter Event is not valid.".into()))?;
        // AWS checks that the envelope's fields are present, not their types.
        let envelope_ok = ["id", "account", "source", "time", "region", "detail-type"]
            .iter()
            .all(|f| event.get(f).is_some_and(|v| !v.is_null()));
        if !envelope_ok {
            return Err(EventsError::Validation(
                "Parameter Event is not valid.".into(),
            ));
        }
        Ok(json!({ "Result": p.matches(&event) }))
    }

    /// The stored tags of a rule or bus named by ARN: (store key, record).
    fn tagged(&self, arn: &str) -> Result<(TagOwner, Value)> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let not_found = || EventsError::NotFound(format!("Resource {arn} does not exist."));
        let [_, _, "events", region, _, res] = parts[..] else {
            return Err(not_found());
        };
        let st = self.live().read();
        if let Some(name) = res.strip_prefix("event-bus/") {
            let k = (region.to_string(), name.to_string());
            return st
                .buses
                .get(&k)
                .map(|b| (TagOwner::Bus(k.clone()), b.clone()))
                .ok_or_else(not_found);
        }
        if let Some(rest) = res.strip_prefix("rule/") {
            let (bus, name) = rest.rsplit_once('/').unwrap_or((DEFAULT_BUS, rest));
            let k = (region.to_string(), bus.to_string(), name.to_string());
            return st
                .rules
                .get(&k)
                .map(|r| (TagOwner::Rule(k.clone()), r.body.clone()))
                .ok_or_else(not_found);
        }
        Err(not_found())
    }

    async fn change_tags(
        &self,
        body: &Value,
        add: Option<&Value>,
        remove: Option<&Value>,
    ) -> Result<Value> {
        let arn = required(body, "ResourceARN")?;
        let _w = self.live().lock().await;
        let (owner, mut rec) = self.tagged(arn)?;
        let mut tags = rec["Tags"].as_object().cloned().unwrap_or_default();
        if let Some(a) = add {
            tags.extend(tags_to_map(a)?);
        }
        for k in remove
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if let Some(k) = k.as_str() {
                tags.remove(k);
            }
        }
        if tags.len() > 50 {
            return Err(EventsError::LimitExceeded(
                "The requested resource exceeds the maximum number allowed.".into(),
            ));
        }
        rec["Tags"] = Value::Object(tags);
        match owner {
            TagOwner::Rule(k) => self.save_rule(&k, rec).await?,
            TagOwner::Bus((region, name)) => {
                self.commit(
                    vec![ResourceWrite::Put(Resource {
                        kind: BUS.into(),
                        scope: region.clone(),
                        name: name.clone(),
                        body: rec.to_string(),
                        due_ms: None,
                    })],
                    vec![],
                )
                .await?;
                self.live().write().buses.insert((region, name), rec);
            }
        }
        Ok(json!({}))
    }

    async fn dispatch(&self, req: &ApiRequest) -> Result<Value> {
        let target = req.header("x-amz-target").unwrap_or("");
        let op = target.strip_prefix("AWSEvents.").unwrap_or(target);
        let body: Value = if req.body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&req.body).map_err(|_| {
                EventsError::Validation("The request body is not valid JSON.".into())
            })?
        };
        if !body.is_object() {
            return Err(EventsError::Validation(
                "The request body must be a JSON object.".into(),
            ));
        }
        let region = req.region.as_str();
        match op {
            "PutRule" => self.put_rule(region, &body).await,
            "DescribeRule" => self.describe_rule(region, &body),
            "EnableRule" => self.set_rule_state(region, &body, "ENABLED").await,
            "DisableRule" => self.set_rule_state(region, &body, "DISABLED").await,
            "DeleteRule" => self.delete_rule(region, &body).await,
            "ListRules" => self.list_rules(region, &body),
            "ListRuleNamesByTarget" => self.list_rule_names_by_target(region, &body),
            "PutTargets" => self.put_targets(region, &body).await,
            "RemoveTargets" => self.remove_targets(region, &body).await,
            "ListTargetsByRule" => self.list_targets_by_rule(region, &body),
            "CreateEventBus" => self.create_event_bus(region, &body).await,
            "DescribeEventBus" => self.describe_event_bus(region, &body),
            "ListEventBuses" => self.list_event_buses(region, &body),
            "DeleteEventBus" => self.delete_event_bus(region, &body).await,
            "PutEvents" => self.put_events(region, &body).await,
            "TestEventPattern" => self.test_event_pattern(&body),
            "TagResource" => self.change_tags(&body, Some(&body["Tags"]), None).await,
            "UntagResource" => self.change_tags(&body, None, Some(&body["TagKeys"])).await,
            "ListTagsForResource" => {
                let arn = required(&body, "ResourceARN")?;
                let (_, rec) = self.tagged(arn)?;
                Ok(json!({ "Tags": tags_list(&rec["Tags"]) }))
            }
            "" => Err(EventsError::Validation(
                "Missing X-Amz-Target header naming the operation.".into(),
            )),
            other => Err(EventsError::NotImplemented(format!(
                "Eddy does not implement the EventBridge operation {other} yet."
            ))),
        }
    }
}

enum TagOwner {
    Rule(RuleKey),
    Bus((String, String)),
}

fn rules_last(rules: &[Value]) -> String {
    rules
        .last()
        .and_then(|r| r["Name"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// DescribeRule's and ListRules' view of a stored rule record.
fn rule_view(rec: &Value) -> Value {
    let mut v = Map::new();
    for k in [
        "Name",
        "Arn",
        "EventPattern",
        "ScheduleExpression",
        "State",
        "Description",
        "RoleArn",
        "EventBusName",
        "CreatedBy",
    ] {
        if let Some(x) = rec.get(k) {
            v.insert(k.into(), x.clone());
        }
    }
    Value::Object(v)
}

impl wire::Service for Events {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        Box::pin(async move {
            match self.dispatch(&req).await {
                Ok(v) => wire::aws_json_response(&v),
                Err(e) => e.into_events_response(),
            }
        })
    }

    fn error(&self, status: StatusCode, code: &str, message: &str) -> ApiResponse {
        wire::aws_json_error(status, code, message)
    }
}
