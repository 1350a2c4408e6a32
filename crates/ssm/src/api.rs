//! The Parameter Store operations: one method per operation, dispatched on `X-Amz-Target`.

use crate::error::{Result, SsmError};
use crate::model::{
    self, FilterKey, FilterUse, ParamType, Ref, Selector, Subject, Tier, TierRequest,
};
use crate::regex::Regex;
use crate::{param_deletes, param_write, version_delete, version_write, Param, Ssm, Version};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::ops::Bound;
use store::ResourceWrite;
use wire::ApiRequest;

/// Page sizes: the largest a caller may ask for and what it gets without asking.
const BY_PATH_PAGE_MAX: u64 = 10;
const DESCRIBE_PAGE_MAX: u64 = 50;
const HISTORY_PAGE_MAX: u64 = 50;

/// The resource types tagging accepts (only parameters exist here).
const RESOURCE_TYPES: [&str; 9] = [
    "Document",
    "ManagedInstance",
    "MaintenanceWindow",
    "Parameter",
    "PatchBaseline",
    "OpsItem",
    "OpsMetadata",
    "Automation",
    "Association",
];

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn wrong_type(key: &str, want: &str) -> SsmError {
    SsmError::Serialization(format!("{key} must be {want}."))
}

fn opt_str<'a>(body: &'a Value, key: &str) -> Result<Option<&'a str>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type(key, "a string")),
    }
}

fn req_str<'a>(body: &'a Value, key: &str) -> Result<&'a str> {
    opt_str(body, key)?.ok_or_else(|| SsmError::missing(&lower_first(key)))
}

fn opt_bool(body: &Value, key: &str) -> Result<bool> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(wrong_type(key, "a boolean")),
    }
}

fn opt_u64(body: &Value, key: &str) -> Result<Option<u64>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| wrong_type(key, "a non-negative whole number")),
    }
}

/// A list of strings with AWS's length bounds.
fn str_list(body: &Value, key: &str, min: usize, max: usize) -> Result<Vec<String>> {
    let field = lower_first(key);
    let list = match body.get(key) {
        None | Some(Value::Null) => return Err(SsmError::missing(&field)),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| wrong_type(key, "a list of strings"))?,
        Some(_) => return Err(wrong_type(key, "a list of strings")),
    };
    if list.len() < min || list.len() > max {
        return Err(SsmError::constraint(
            &format!("[{}]", list.join(", ")),
            &field,
            &format!("Member must have length between {min} and {max}"),
        ));
    }
    Ok(list)
}

/// `MaxResults` within `1..=max`, `max` when absent.
fn page_size(body: &Value, max: u64) -> Result<usize> {
    match opt_u64(body, "MaxResults")? {
        None => Ok(max as usize),
        Some(0) => Err(SsmError::constraint(
            "0",
            "maxResults",
            "Member must have value greater than or equal to 1",
        )),
        Some(n) if n > max => Err(SsmError::constraint(
            &n.to_string(),
            "maxResults",
            &format!("Member must have value less than or equal to {max}"),
        )),
        Some(n) => Ok(n as usize),
    }
}

fn next_token(body: &Value) -> Result<Option<String>> {
    opt_str(body, "NextToken")?
        .map(model::decode_token)
        .transpose()
}

/// Seconds since the epoch, as json 1.1 timestamps are sent.
fn epoch_s(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

fn not_found(name: &str) -> SsmError {
    SsmError::ParameterNotFound(format!("Parameter {name} not found."))
}

fn version_not_found(version: &str, name: &str) -> SsmError {
    SsmError::ParameterVersionNotFound(format!(
        "Systems Manager could not find version {version} of {name}. Verify the version and try again."
    ))
}

/// A name that must not carry a selector (`name:3`, `name:label`).
fn plain_ref(name: &str, region: &str) -> Result<Option<Ref>> {
    let r = model::parse_ref(name, region)?;
    if r.as_ref().is_some_and(|r| r.selector.is_some()) {
        return Err(SsmError::Validation(format!(
            "Parameter name {name} must not include a version or label selector here."
        )));
    }
    Ok(r)
}

/// The version a selector picks.
fn select<'a>(p: &'a Param, selector: Option<&Selector>, name: &str) -> Result<&'a Version> {
    match selector {
        None => p.latest().ok_or_else(|| not_found(name)),
        Some(Selector::Version(n)) => p
            .versions
            .get(n)
            .ok_or_else(|| version_not_found(&n.to_string(), &p.name)),
        Some(Selector::Label(l)) => p
            .versions
            .values()
            .find(|v| v.labels.contains(l))
            .ok_or_else(|| not_found(name)),
    }
}

fn policies_view(v: &Version) -> Value {
    Value::Array(
        v.policies
            .iter()
            .map(|p| json!({ "PolicyText": p.text, "PolicyType": p.kind, "PolicyStatus": "Pending" }))
            .collect(),
    )
}

/// DescribeParameters' view of the current version.
fn metadata_view(region: &str, p: &Param, v: &Version) -> Value {
    let mut m = Map::new();
    m.insert("Name".into(), json!(p.name));
    m.insert("ARN".into(), json!(model::arn(region, &p.name)));
    m.insert("Type".into(), json!(v.ty.as_str()));
    if let Some(k) = &v.key_id {
        m.insert("KeyId".into(), json!(k));
    }
    m.insert("LastModifiedDate".into(), epoch_s(v.modified_ms));
    m.insert("LastModifiedUser".into(), json!(v.modified_user));
    if let Some(d) = &v.description {
        m.insert("Description".into(), json!(d));
    }
    if let Some(a) = &v.allowed_pattern {
        m.insert("AllowedPattern".into(), json!(a));
    }
    m.insert("Version".into(), json!(v.version));
    m.insert("Tier".into(), json!(v.tier.as_str()));
    m.insert("Policies".into(), policies_view(v));
    m.insert("DataType".into(), json!(v.data_type));
    Value::Object(m)
}

fn subject<'a>(key: &'a str, p: &'a Param, v: &'a Version) -> Subject<'a> {
    Subject {
        key,
        name: &p.name,
        ty: v.ty,
        key_id: v.key_id.as_deref(),
        tier: v.tier,
        data_type: &v.data_type,
        labels: &v.labels,
        tags: &p.tags,
    }
}

/// A version picked for a reply, copied out of the state so the lock is not held while
/// values are opened.
struct Picked {
    key: String,
    name: String,
    version: Version,
    selector: Option<Selector>,
}

impl Ssm {
    /// Takes the writer lock and copies the parameter `name` (no selector allowed) for a
    /// change; the caller keeps the guard until it has written the copy back to memory.
    async fn param_to_change(
        &self,
        region: &str,
        name: &str,
    ) -> Result<(tokio::sync::MutexGuard<'_, ()>, crate::Key, Param)> {
        let Some(r) = plain_ref(name, region)? else {
            return Err(not_found(name));
        };
        let k = (region.to_string(), r.key);
        let guard = self.live().lock().await;
        let param = self
            .live()
            .read()
            .params
            .get(&k)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        Ok((guard, k, param))
    }

    /// The value a reply shows: SecureString values opened only when asked.
    fn shown_value(&self, region: &str, p: &Picked, decrypt: bool) -> Result<String> {
        if p.version.ty == ParamType::SecureString && decrypt {
            self.open_value(region, &p.key, &p.name, &p.version)
        } else {
            Ok(p.version.value.clone())
        }
    }

    /// GetParameter's view of a version.
    fn parameter_view(&self, region: &str, p: &Picked, decrypt: bool) -> Result<Value> {
        let v = &p.version;
        let mut m = Map::new();
        m.insert("Name".into(), json!(p.name));
        m.insert("Type".into(), json!(v.ty.as_str()));
        m.insert("Value".into(), json!(self.shown_value(region, p, decrypt)?));
        m.insert("Version".into(), json!(v.version));
        if let Some(s) = &p.selector {
            m.insert("Selector".into(), json!(s.text()));
        }
        m.insert("LastModifiedDate".into(), epoch_s(v.modified_ms));
        m.insert("ARN".into(), json!(model::arn(region, &p.name)));
        m.insert("DataType".into(), json!(v.data_type));
        Ok(Value::Object(m))
    }

    /// The version `name` (with an optional selector or as an ARN) refers to.
    fn pick(&self, region: &str, name: &str) -> Result<Picked> {
        let Some(r) = model::parse_ref(name, region)? else {
            return Err(not_found(name));
        };
        let st = self.live().read();
        let p = st
            .params
            .get(&(region.to_string(), r.key.clone()))
            .ok_or_else(|| not_found(name))?;
        let v = select(p, r.selector.as_ref(), name)?;
        Ok(Picked {
            key: r.key,
            name: p.name.clone(),
            version: v.clone(),
            selector: r.selector,
        })
    }

    async fn put_parameter(&self, region: &str, user: String, body: &Value) -> Result<Value> {
        let name = req_str(body, "Name")?.trim();
        model::check_new_name(name, region)?;
        let value = req_str(body, "Value")?;
        model::check_value(value)?;
        let ty_in = opt_str(body, "Type")?.map(ParamType::parse).transpose()?;
        let overwrite = opt_bool(body, "Overwrite")?;
        let tags = match body.get("Tags") {
            None | Some(Value::Null) => vec![],
            Some(t) => model::parse_tags(t)?,
        };
        if overwrite && !tags.is_empty() {
            return Err(SsmError::Validation(
                "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.".into(),
            ));
        }
        let description = opt_str(body, "Description")?;
        if description.is_some_and(|d| d.chars().count() > model::DESCRIPTION_LEN_MAX) {
            return Err(SsmError::constraint(
                "<description>",
                "description",
                "Member must have length less than or equal to 1024",
            ));
        }
        let pattern_in = opt_str(body, "AllowedPattern")?;
        if let Some(p) = pattern_in {
            if p.chars().count() > model::ALLOWED_PATTERN_LEN_MAX {
                return Err(SsmError::constraint(
                    p,
                    "allowedPattern",
                    "Member must have length less than or equal to 1024",
                ));
            }
        }
        let key_id_in = opt_str(body, "KeyId")?;
        if let Some(k) = key_id_in {
            model::check_key_id(k)?;
        }
        let tier_request = TierRequest::parse(opt_str(body, "Tier")?)?;
        let policies_in = opt_str(body, "Policies")?
            .map(model::parse_policies)
            .transpose()?;
        let data_type_in = opt_str(body, "DataType")?;
        let key = model::canonical(name);

        let k = (region.to_string(), key.clone());
        let _w = self.live().lock().await;
        // Only what the checks need is copied out: a parameter may hold 100 versions.
        let (latest, oldest) = {
            let st = self.live().read();
            match st.params.get(&k) {
                Some(p) => (
                    p.latest().cloned(),
                    (p.versions.len() >= model::VERSIONS_MAX)
                        .then(|| p.versions.values().next().cloned())
                        .flatten(),
                ),
                None => (None, None),
            }
        };
        if latest.is_some() && !overwrite {
            return Err(SsmError::ParameterAlreadyExists);
        }
        // Counting scans the region, so it happens only when a quota can be hit: for a
        // new parameter, or one that may move to the advanced tier.
        let (standard_count, advanced_count) = {
            let st = self.live().read();
            match latest.as_ref().map(|v| v.tier) {
                None => (
                    st.count(region, Tier::Standard),
                    st.count(region, Tier::Advanced),
                ),
                Some(Tier::Standard) => (0, st.count(region, Tier::Advanced)),
                Some(Tier::Advanced) => (0, 0),
            }
        };
        let ty = ty_in.or(latest.as_ref().map(|v| v.ty)).ok_or_else(|| {
            SsmError::Validation("A parameter type is required when you create a parameter.".into())
        })?;
        let key_id = match ty {
            ParamType::SecureString => Some(
                key_id_in
                    .map(str::to_string)
                    .or_else(|| latest.as_ref().and_then(|v| v.key_id.clone()))
                    .unwrap_or_else(|| model::DEFAULT_KEY_ID.into()),
            ),
            _ if key_id_in.is_some() => {
                return Err(SsmError::Validation(format!(
                    "KeyId applies to SecureString parameters only, not to type {}.",
                    ty.as_str()
                )))
            }
            _ => None,
        };
        let description = description
            .map(str::to_string)
            .or_else(|| latest.as_ref().and_then(|v| v.description.clone()));
        // An empty pattern clears the one a previous version had.
        let allowed_pattern = match pattern_in {
            Some("") => None,
            Some(p) => Some(p.to_string()),
            None => latest.as_ref().and_then(|v| v.allowed_pattern.clone()),
        };
        if let Some(p) = &allowed_pattern {
            let re = Regex::new(p).map_err(|e| {
                SsmError::InvalidAllowedPattern(format!(
                    "The allowed pattern is not a valid regular expression: {e}"
                ))
            })?;
            if !re.is_full_match(value) {
                return Err(SsmError::ParameterPatternMismatch(format!(
                    "Parameter value, cannot be validated against allowedPattern: {p}"
                )));
            }
        }
        let data_type = data_type_in
            .map(str::to_string)
            .or_else(|| latest.as_ref().map(|v| v.data_type.clone()))
            .unwrap_or_else(|| model::DEFAULT_DATA_TYPE.into());
        model::check_data_type(&data_type, ty, value)?;
        let policies = policies_in
            .or_else(|| latest.as_ref().map(|v| v.policies.clone()))
            .unwrap_or_default();
        let existing_tier = latest.as_ref().map(|v| v.tier);
        let tier = model::choose_tier(
            tier_request,
            existing_tier,
            value.len(),
            !policies.is_empty(),
            standard_count >= self.inner.cfg.standard_parameters_max,
        )?;
        let limit_hit = match (existing_tier, tier) {
            (None, Tier::Standard) => standard_count >= self.inner.cfg.standard_parameters_max,
            (None | Some(Tier::Standard), Tier::Advanced) => {
                advanced_count >= self.inner.cfg.advanced_parameters_max
            }
            _ => false,
        };
        if limit_hit {
            return Err(SsmError::ParameterLimitExceeded(
                "You have exceeded the number of parameters for this Amazon Web Services account. Delete one or more parameters and try again.".into(),
            ));
        }
        let mut writes: Vec<ResourceWrite> = Vec::new();
        if let Some(old) = &oldest {
            if !old.labels.is_empty() {
                return Err(SsmError::ParameterMaxVersionLimitExceeded(format!(
                    "You attempted to create a new version of {name} by calling the PutParameter API with the overwrite flag. Version {}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.",
                    old.version
                )));
            }
            writes.push(version_delete(region, &key, old.version));
        }
        let number = latest.as_ref().map_or(1, |v| v.version + 1);
        let stored_value = match ty {
            ParamType::SecureString => self.seal(region, &key, number, value)?,
            _ => value.to_string(),
        };
        let version = Version {
            version: number,
            ty,
            value: stored_value,
            description,
            allowed_pattern,
            key_id,
            tier,
            data_type,
            policies,
            labels: vec![],
            modified_ms: self.now_ms(),
            modified_user: user,
        };
        let new_param = match latest {
            Some(_) => None,
            None => {
                let p = Param {
                    name: name.to_string(),
                    tags: model::merged_tags(&BTreeMap::new(), &tags)?,
                    versions: BTreeMap::new(),
                };
                writes.push(param_write(region, &key, &p));
                Some(p)
            }
        };
        writes.push(version_write(region, &key, &version));
        self.live().commit(writes, vec![], self.now_ms()).await?;
        // The writer lock is still held: the parameter is as it was read above.
        let mut st = self.live().write();
        if let Some(p) = new_param {
            st.params.insert(k.clone(), p);
        }
        if let Some(param) = st.params.get_mut(&k) {
            if let Some(old) = oldest {
                param.versions.remove(&old.version);
            }
            param.versions.insert(number, version);
        }
        Ok(json!({ "Version": number, "Tier": tier.as_str() }))
    }

    fn get_parameter(&self, region: &str, body: &Value) -> Result<Value> {
        let name = req_str(body, "Name")?;
        let decrypt = opt_bool(body, "WithDecryption")?;
        let picked = self.pick(region, name)?;
        Ok(json!({ "Parameter": self.parameter_view(region, &picked, decrypt)? }))
    }

    fn get_parameters(&self, region: &str, body: &Value) -> Result<Value> {
        let names = str_list(body, "Names", 1, model::NAMES_PER_CALL_MAX)?;
        let decrypt = opt_bool(body, "WithDecryption")?;
        let mut found = Vec::new();
        let mut invalid = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for name in &names {
            if !seen.insert(name.as_str()) {
                continue;
            }
            match self.pick(region, name) {
                Ok(p) => found.push(self.parameter_view(region, &p, decrypt)?),
                Err(
                    SsmError::ParameterNotFound(_)
                    | SsmError::ParameterVersionNotFound(_)
                    | SsmError::Validation(_),
                ) => invalid.push(json!(name)),
                Err(e) => return Err(e),
            }
        }
        Ok(json!({ "Parameters": found, "InvalidParameters": invalid }))
    }

    fn get_parameters_by_path(&self, region: &str, body: &Value) -> Result<Value> {
        let path = model::check_path(req_str(body, "Path")?)?;
        let recursive = opt_bool(body, "Recursive")?;
        let decrypt = opt_bool(body, "WithDecryption")?;
        let filters = model::parse_filters(
            body.get("ParameterFilters").unwrap_or(&Value::Null),
            FilterUse::ByPath,
        )?;
        let limit = page_size(body, BY_PATH_PAGE_MAX)?;
        let after = next_token(body)?;
        let label = filters.iter().find(|f| f.key == FilterKey::Label);
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        // A token from another listing may point before this path: start at the path then.
        let lower = match &after {
            Some(a) if *a >= prefix => Bound::Excluded((region.to_string(), a.clone())),
            _ => Bound::Included((region.to_string(), prefix.clone())),
        };
        let mut picked = Vec::new();
        let mut more = false;
        {
            let st = self.live().read();
            for ((r, key), p) in st.params.range((lower, Bound::Unbounded)) {
                if r != region || !key.starts_with(&prefix) {
                    break;
                }
                if !model::in_path(key, &path, recursive) {
                    continue;
                }
                // A Label filter picks the version carrying the label, not the latest.
                let version = match label {
                    Some(f) => p
                        .versions
                        .values()
                        .rev()
                        .find(|v| v.labels.iter().any(|l| f.values.contains(l))),
                    None => p.latest(),
                };
                let Some(v) = version else { continue };
                let s = subject(key, p, v);
                if !filters.iter().all(|f| f.matches(&s)) {
                    continue;
                }
                if picked.len() == limit {
                    more = true;
                    break;
                }
                picked.push(Picked {
                    key: key.clone(),
                    name: p.name.clone(),
                    version: v.clone(),
                    selector: None,
                });
            }
        }
        let mut out = json!({ "Parameters": picked
            .iter()
            .map(|p| self.parameter_view(region, p, decrypt))
            .collect::<Result<Vec<_>>>()? });
        if more {
            if let Some(last) = picked.last() {
                out["NextToken"] = json!(model::encode_token(&last.key));
            }
        }
        Ok(out)
    }

    fn describe_parameters(&self, region: &str, body: &Value) -> Result<Value> {
        let legacy = model::parse_legacy_filters(body.get("Filters").unwrap_or(&Value::Null))?;
        let filters = model::parse_filters(
            body.get("ParameterFilters").unwrap_or(&Value::Null),
            FilterUse::Describe,
        )?;
        if !legacy.is_empty() && !filters.is_empty() {
            return Err(SsmError::Validation(
                "You can use either Filters or ParameterFilters in a single request.".into(),
            ));
        }
        let limit = page_size(body, DESCRIBE_PAGE_MAX)?;
        let after = next_token(body)?;
        if opt_bool(body, "Shared")? {
            // Nothing is shared with this account.
            return Ok(json!({ "Parameters": [] }));
        }
        let lower = match &after {
            Some(a) => Bound::Excluded((region.to_string(), a.clone())),
            None => Bound::Included((region.to_string(), String::new())),
        };
        let st = self.live().read();
        let mut out = Vec::new();
        let mut last_key = None;
        let mut more = false;
        for ((r, key), p) in st.params.range((lower, Bound::Unbounded)) {
            if r != region {
                break;
            }
            let Some(v) = p.latest() else { continue };
            let s = subject(key, p, v);
            if !legacy.iter().chain(&filters).all(|f| f.matches(&s)) {
                continue;
            }
            if out.len() == limit {
                more = true;
                break;
            }
            out.push(metadata_view(region, p, v));
            last_key = Some(key.clone());
        }
        let mut reply = json!({ "Parameters": out });
        if let (true, Some(k)) = (more, last_key) {
            reply["NextToken"] = json!(model::encode_token(&k));
        }
        Ok(reply)
    }

    fn get_parameter_history(&self, region: &str, body: &Value) -> Result<Value> {
        let name = req_str(body, "Name")?;
        let decrypt = opt_bool(body, "WithDecryption")?;
        let limit = page_size(body, HISTORY_PAGE_MAX)?;
        let after = match next_token(body)? {
            Some(t) => Some(t.parse::<u64>().map_err(|_| {
                SsmError::InvalidNextToken("The specified token isn't valid.".into())
            })?),
            None => None,
        };
        let Some(r) = plain_ref(name, region)? else {
            return Err(not_found(name));
        };
        let (param_name, versions, more) = {
            let st = self.live().read();
            let p = st
                .params
                .get(&(region.to_string(), r.key.clone()))
                .ok_or_else(|| not_found(name))?;
            let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
            let mut it = p.versions.range((lower, Bound::Unbounded)).map(|(_, v)| v);
            let page: Vec<Version> = it.by_ref().take(limit).cloned().collect();
            (p.name.clone(), page, it.next().is_some())
        };
        let mut out = Vec::with_capacity(versions.len());
        for v in &versions {
            let picked = Picked {
                key: r.key.clone(),
                name: param_name.clone(),
                version: v.clone(),
                selector: None,
            };
            let mut m = Map::new();
            m.insert("Name".into(), json!(param_name));
            m.insert("Type".into(), json!(v.ty.as_str()));
            if let Some(k) = &v.key_id {
                m.insert("KeyId".into(), json!(k));
            }
            m.insert("LastModifiedDate".into(), epoch_s(v.modified_ms));
            m.insert("LastModifiedUser".into(), json!(v.modified_user));
            if let Some(d) = &v.description {
                m.insert("Description".into(), json!(d));
            }
            m.insert(
                "Value".into(),
                json!(self.shown_value(region, &picked, decrypt)?),
            );
            if let Some(a) = &v.allowed_pattern {
                m.insert("AllowedPattern".into(), json!(a));
            }
            m.insert("Version".into(), json!(v.version));
            m.insert("Labels".into(), json!(v.labels));
            m.insert("Tier".into(), json!(v.tier.as_str()));
            m.insert("Policies".into(), policies_view(v));
            m.insert("DataType".into(), json!(v.data_type));
            out.push(Value::Object(m));
        }
        let mut reply = json!({ "Parameters": out });
        if let (true, Some(v)) = (more, versions.last()) {
            reply["NextToken"] = json!(model::encode_token(&v.version.to_string()));
        }
        Ok(reply)
    }

    async fn delete_parameter(&self, region: &str, body: &Value) -> Result<Value> {
        let name = req_str(body, "Name")?;
        let Some(r) = plain_ref(name, region)? else {
            return Err(not_found(name));
        };
        let k = (region.to_string(), r.key.clone());
        let _w = self.live().lock().await;
        let writes = {
            let st = self.live().read();
            let p = st.params.get(&k).ok_or_else(|| not_found(name))?;
            param_deletes(region, &r.key, p)
        };
        self.live().commit(writes, vec![], self.now_ms()).await?;
        self.live().write().params.remove(&k);
        Ok(json!({}))
    }

    async fn delete_parameters(&self, region: &str, body: &Value) -> Result<Value> {
        let names = str_list(body, "Names", 1, model::NAMES_PER_CALL_MAX)?;
        let _w = self.live().lock().await;
        let mut deleted = Vec::new();
        let mut invalid = Vec::new();
        let mut keys = Vec::new();
        let mut writes = Vec::new();
        {
            let st = self.live().read();
            for name in &names {
                let r = match plain_ref(name, region) {
                    Ok(Some(r)) => r,
                    Ok(None) | Err(_) => {
                        invalid.push(name.clone());
                        continue;
                    }
                };
                let k = (region.to_string(), r.key.clone());
                if keys.contains(&k) {
                    continue;
                }
                match st.params.get(&k) {
                    Some(p) => {
                        writes.extend(param_deletes(region, &r.key, p));
                        keys.push(k);
                        deleted.push(name.clone());
                    }
                    None => invalid.push(name.clone()),
                }
            }
        }
        self.live().commit(writes, vec![], self.now_ms()).await?;
        let mut st = self.live().write();
        for k in &keys {
            st.params.remove(k);
        }
        Ok(json!({ "DeletedParameters": deleted, "InvalidParameters": invalid }))
    }

    async fn label_parameter_version(&self, region: &str, body: &Value) -> Result<Value> {
        let name = req_str(body, "Name")?;
        let labels = str_list(body, "Labels", 1, model::LABELS_PER_VERSION_MAX)?;
        let requested = opt_u64(body, "ParameterVersion")?;
        let mut valid: Vec<String> = Vec::new();
        let mut invalid = Vec::new();
        for l in &labels {
            if !model::label_ok(l)? {
                invalid.push(l.clone());
            } else if !valid.contains(l) {
                valid.push(l.clone());
            }
        }
        let (_w, k, mut param) = self.param_to_change(region, name).await?;
        let target = match requested {
            Some(n) => n,
            None => param.latest().map(|v| v.version).unwrap_or_default(),
        };
        let Some(current) = param.versions.get(&target) else {
            return Err(version_not_found(&target.to_string(), &param.name));
        };
        let adding: Vec<String> = valid
            .into_iter()
            .filter(|l| !current.labels.contains(l))
            .collect();
        if current.labels.len() + adding.len() > model::LABELS_PER_VERSION_MAX {
            return Err(SsmError::ParameterVersionLabelLimitExceeded(
                "A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.".into(),
            ));
        }
        // A label names one version: attaching it here takes it off any other.
        let mut changed = vec![target];
        for v in param.versions.values_mut() {
            if v.version != target && v.labels.iter().any(|l| adding.contains(l)) {
                v.labels.retain(|l| !adding.contains(l));
                changed.push(v.version);
            }
        }
        if let Some(v) = param.versions.get_mut(&target) {
            v.labels.extend(adding.iter().cloned());
        }
        if !adding.is_empty() {
            let writes = changed
                .iter()
                .filter_map(|n| param.versions.get(n))
                .map(|v| version_write(region, &k.1, v))
                .collect();
            self.live().commit(writes, vec![], self.now_ms()).await?;
            self.live().write().params.insert(k, param);
        }
        Ok(json!({ "InvalidLabels": invalid, "ParameterVersion": target }))
    }

    async fn unlabel_parameter_version(&self, region: &str, body: &Value) -> Result<Value> {
        let name = req_str(body, "Name")?;
        let target = opt_u64(body, "ParameterVersion")?
            .ok_or_else(|| SsmError::missing("parameterVersion"))?;
        let labels = str_list(body, "Labels", 1, model::LABELS_PER_VERSION_MAX)?;
        let (_w, k, mut param) = self.param_to_change(region, name).await?;
        let param_name = param.name.clone();
        let Some(v) = param.versions.get_mut(&target) else {
            return Err(version_not_found(&target.to_string(), &param_name));
        };
        let mut removed = Vec::new();
        let mut invalid = Vec::new();
        for l in labels {
            if v.labels.contains(&l) {
                if !removed.contains(&l) {
                    v.labels.retain(|x| *x != l);
                    removed.push(l);
                }
            } else if !removed.contains(&l) {
                invalid.push(l);
            }
        }
        if !removed.is_empty() {
            let w = version_write(region, &k.1, v);
            self.live().commit(vec![w], vec![], self.now_ms()).await?;
            self.live().write().params.insert(k, param);
        }
        Ok(json!({ "RemovedLabels": removed, "InvalidLabels": invalid }))
    }

    /// The parameter a tagging call names: its key, name and tags.
    fn tagged(
        &self,
        region: &str,
        body: &Value,
    ) -> Result<(String, String, BTreeMap<String, String>)> {
        let ty = req_str(body, "ResourceType")?;
        let id = req_str(body, "ResourceId")?;
        if !RESOURCE_TYPES.contains(&ty) {
            return Err(SsmError::InvalidResourceType(format!(
                "The resource type {ty} isn't valid."
            )));
        }
        let invalid_id = || {
            SsmError::InvalidResourceId(
                "The resource ID isn't valid. Verify that you entered the correct ID and try again."
                    .into(),
            )
        };
        if ty != "Parameter" {
            // Eddy keeps no documents, instances or windows: no such id exists.
            return Err(invalid_id());
        }
        let r = plain_ref(id, region)
            .map_err(|_| invalid_id())?
            .ok_or_else(invalid_id)?;
        let st = self.live().read();
        let p = st
            .params
            .get(&(region.to_string(), r.key.clone()))
            .ok_or_else(invalid_id)?;
        Ok((r.key, p.name.clone(), p.tags.clone()))
    }

    async fn change_tags(&self, region: &str, body: &Value, adding: bool) -> Result<Value> {
        let _w = self.live().lock().await;
        let (key, name, mut tags) = self.tagged(region, body)?;
        if adding {
            let add = match body.get("Tags") {
                None | Some(Value::Null) => return Err(SsmError::missing("tags")),
                Some(t) => model::parse_tags(t)?,
            };
            tags = model::merged_tags(&tags, &add)?;
        } else {
            for k in str_list(body, "TagKeys", 0, usize::MAX)? {
                tags.remove(&k);
            }
        }
        let record = Param {
            name,
            tags,
            versions: BTreeMap::new(),
        };
        self.live()
            .commit(
                vec![param_write(region, &key, &record)],
                vec![],
                self.now_ms(),
            )
            .await?;
        // The writer lock is still held: the parameter exists as it was read above.
        if let Some(p) = self
            .live()
            .write()
            .params
            .get_mut(&(region.to_string(), key))
        {
            p.tags = record.tags;
        }
        Ok(json!({}))
    }

    fn list_tags(&self, region: &str, body: &Value) -> Result<Value> {
        let (_, _, tags) = self.tagged(region, body)?;
        let list: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({ "Key": k, "Value": v }))
            .collect();
        Ok(json!({ "TagList": list }))
    }

    pub(crate) async fn dispatch(&self, req: &ApiRequest) -> Result<Value> {
        let target = req.header("x-amz-target").unwrap_or("");
        let op = target.strip_prefix("AmazonSSM.").unwrap_or(target);
        let body: Value = if req.body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&req.body).map_err(|_| {
                SsmError::Serialization("The request body is not valid JSON.".into())
            })?
        };
        if !body.is_object() {
            return Err(SsmError::Serialization(
                "The request body must be a JSON object.".into(),
            ));
        }
        let region = req.region.as_str();
        match op {
            "PutParameter" => self.put_parameter(region, req.caller.arn(), &body).await,
            "GetParameter" => self.get_parameter(region, &body),
            "GetParameters" => self.get_parameters(region, &body),
            "GetParametersByPath" => self.get_parameters_by_path(region, &body),
            "DescribeParameters" => self.describe_parameters(region, &body),
            "GetParameterHistory" => self.get_parameter_history(region, &body),
            "DeleteParameter" => self.delete_parameter(region, &body).await,
            "DeleteParameters" => self.delete_parameters(region, &body).await,
            "LabelParameterVersion" => self.label_parameter_version(region, &body).await,
            "UnlabelParameterVersion" => self.unlabel_parameter_version(region, &body).await,
            "AddTagsToResource" => self.change_tags(region, &body, true).await,
            "RemoveTagsFromResource" => self.change_tags(region, &body, false).await,
            "ListTagsForResource" => self.list_tags(region, &body),
            "" => Err(SsmError::Validation(
                "Missing X-Amz-Target header naming the operation.".into(),
            )),
            other => Err(SsmError::NotImplemented(format!(
                "Eddy does not implement the SSM operation {other} yet."
            ))),
        }
    }
}
