//! The Secrets Manager operations: requests are checked here, decisions come from
//! `model`, changes go through [`Secrets::change`].

use crate::error::{Result, SecretsError, VERSION_EXISTS};
use crate::model::{
    self, check_len, constraint, day_of, Filter, FilterKey, Plain, Secret, Tag, AWSCURRENT,
};
use crate::password;
use crate::{delete_writes, secret_write, value_delete, value_write, Key, Outcome, Secrets};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use wire::ApiRequest;

/// Items per page when ListSecrets or ListSecretVersionIds gives no MaxResults.
const PAGE_DEFAULT: usize = 100;
const PAGE_MAX: usize = 100;
/// Secrets per BatchGetSecretValue.
const BATCH_MAX: usize = 20;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Seconds since the epoch, as json 1.1 timestamps are sent.
fn epoch_s(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// The camel-case member name AWS's validation messages use.
fn member(key: &str) -> String {
    let mut c = key.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// An optional string member; null counts as absent.
pub(crate) fn opt_str<'a>(body: &'a Value, key: &str) -> Result<Option<&'a str>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SecretsError::Validation(format!(
            "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must be a string",
            member(key)
        ))),
    }
}

pub(crate) fn required<'a>(body: &'a Value, key: &str) -> Result<&'a str> {
    opt_str(body, key)?.ok_or_else(|| {
        SecretsError::Validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            member(key)
        ))
    })
}

pub(crate) fn opt_bool(body: &Value, key: &str) -> Result<Option<bool>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(SecretsError::Validation(format!(
            "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must be a boolean",
            member(key)
        ))),
    }
}

fn opt_int(body: &Value, key: &str) -> Result<Option<i64>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            SecretsError::Validation(format!(
                "1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: Member must be a whole number",
                member(key)
            ))
        }),
    }
}

fn opt_str_list(body: &Value, key: &str) -> Result<Option<Vec<String>>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str().map(String::from).ok_or_else(|| {
                    SecretsError::Validation(format!(
                        "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must be a list of strings",
                        member(key)
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(SecretsError::Validation(format!(
            "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must be a list",
            member(key)
        ))),
    }
}

pub(crate) fn secret_id(body: &Value) -> Result<&str> {
    let id = required(body, "SecretId")?;
    check_len("secretId", id, 1, model::SECRET_ID_CHARS_MAX, true)?;
    Ok(id)
}

/// The request's ClientRequestToken, or a fresh one (what the SDKs send when the caller
/// gives none).
pub(crate) fn token(body: &Value) -> Result<String> {
    match opt_str(body, "ClientRequestToken")? {
        Some(t) => {
            model::check_token(t)?;
            Ok(t.to_string())
        }
        None => Ok(wire::id::uuid4()),
    }
}

fn version_id_param<'a>(body: &'a Value, key: &str) -> Result<Option<&'a str>> {
    let v = opt_str(body, key)?;
    if let Some(id) = v {
        check_len(
            &member(key),
            id,
            model::TOKEN_CHARS_MIN,
            model::TOKEN_CHARS_MAX,
            true,
        )?;
    }
    Ok(v)
}

/// SecretString or SecretBinary, at most one of them.
fn value_param(body: &Value) -> Result<Option<Plain>> {
    let string = opt_str(body, "SecretString")?;
    let binary = opt_str(body, "SecretBinary")?;
    match (string, binary) {
        (Some(_), Some(_)) => Err(SecretsError::InvalidParameter(
            "You can't specify both a binary secret value and a string secret value in the same secret.".into(),
        )),
        (Some(s), None) => {
            model::check_value("secretString", s.as_bytes())?;
            Ok(Some(Plain {
                binary: false,
                bytes: s.as_bytes().to_vec(),
            }))
        }
        (None, Some(b)) => {
            let bytes = b64().decode(b).map_err(|_| {
                SecretsError::Validation(
                    "1 validation error detected: Value at 'secretBinary' failed to satisfy constraint: Member must be base64-encoded binary data".into(),
                )
            })?;
            model::check_value("secretBinary", &bytes)?;
            Ok(Some(Plain {
                binary: true,
                bytes,
            }))
        }
        (None, None) => Ok(None),
    }
}

fn tags_param(body: &Value, key: &str) -> Result<Vec<Tag>> {
    let tags = match body.get(key) {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(SecretsError::Validation(format!(
                "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must be a list",
                member(key)
            )))
        }
    };
    let mut out = Vec::with_capacity(tags.len());
    for t in tags {
        let tag = Tag {
            key: opt_str(t, "Key")?.unwrap_or_default().to_string(),
            value: opt_str(t, "Value")?.unwrap_or_default().to_string(),
        };
        model::check_tag(&tag)?;
        out.push(tag);
    }
    Ok(out)
}

fn description_param(body: &Value) -> Result<Option<&str>> {
    let d = opt_str(body, "Description")?;
    if let Some(d) = d {
        check_len("description", d, 0, model::DESCRIPTION_CHARS_MAX, false)?;
    }
    Ok(d)
}

fn kms_param(body: &Value) -> Result<Option<&str>> {
    let k = opt_str(body, "KmsKeyId")?;
    if let Some(k) = k {
        check_len("kmsKeyId", k, 0, model::KMS_KEY_ID_CHARS_MAX, true)?;
    }
    Ok(k)
}

fn filters_param(body: &Value) -> Result<Option<Vec<Filter>>> {
    let list = match body.get("Filters") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(SecretsError::Validation(
                "1 validation error detected: Value at 'filters' failed to satisfy constraint: Member must be a list".into(),
            ))
        }
    };
    if list.len() > model::FILTERS_MAX {
        return Err(constraint(
            "filters",
            None,
            &format!(
                "Member must have length less than or equal to {}",
                model::FILTERS_MAX
            ),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, f) in list.iter().enumerate() {
        let key_text = opt_str(f, "Key")?.unwrap_or_default();
        let key = FilterKey::parse(key_text).ok_or_else(|| {
            constraint(
                &format!("filters.{}.member.key", i + 1),
                Some(key_text),
                &format!("Member must satisfy enum value set: {}", FilterKey::NAMES),
            )
        })?;
        let values = opt_str_list(f, "Values")?.unwrap_or_default();
        if values.is_empty() || values.len() > model::FILTER_VALUES_MAX {
            return Err(constraint(
                &format!("filters.{}.member.values", i + 1),
                None,
                &format!(
                    "Member must have length between 1 and {}",
                    model::FILTER_VALUES_MAX
                ),
            ));
        }
        if let Some(bad) = values.iter().find(|v| !model::filter_value_ok(v)) {
            return Err(constraint(
                &format!("filters.{}.member.values", i + 1),
                Some(bad),
                "Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$",
            ));
        }
        out.push(Filter { key, values });
    }
    Ok(Some(out))
}

fn max_results(body: &Value, max: usize, default: usize) -> Result<usize> {
    match opt_int(body, "MaxResults")? {
        None => Ok(default),
        Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
        Some(n) => Err(constraint(
            "maxResults",
            Some(&n.to_string()),
            &format!("Member must have value between 1 and {max}"),
        )),
    }
}

fn encode_token(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn decode_token(body: &Value) -> Result<Option<Value>> {
    let Some(t) = opt_str(body, "NextToken")? else {
        return Ok(None);
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .map(Some)
        .ok_or_else(|| {
            SecretsError::InvalidNextToken("You provided an invalid NextToken value.".into())
        })
}

fn tags_json(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({ "Key": t.key, "Value": t.value }))
            .collect(),
    )
}

/// DescribeSecret's view of a secret, or ListSecrets' (which names the version map
/// `SecretVersionsToStages`).
pub(crate) fn secret_view(s: &Secret, list: bool) -> Value {
    let mut v = Map::new();
    v.insert("ARN".into(), json!(s.arn));
    v.insert("Name".into(), json!(s.name));
    if let Some(d) = s.description.as_deref().filter(|d| !d.is_empty()) {
        v.insert("Description".into(), json!(d));
    }
    if let Some(k) = &s.kms_key_id {
        v.insert("KmsKeyId".into(), json!(k));
    }
    if let Some(r) = &s.rotation {
        v.insert("RotationEnabled".into(), json!(r.enabled));
        if let Some(a) = &r.lambda_arn {
            v.insert("RotationLambdaARN".into(), json!(a));
        }
        if let Some(rules) = &r.rules {
            v.insert(
                "RotationRules".into(),
                serde_json::to_value(rules).unwrap_or_default(),
            );
        }
        if let Some(t) = r.last_rotated_ms {
            v.insert("LastRotatedDate".into(), epoch_s(t));
        }
        if let (true, Some(t)) = (r.enabled, r.next_rotation_ms) {
            v.insert("NextRotationDate".into(), epoch_s(t));
        }
    }
    v.insert("LastChangedDate".into(), epoch_s(s.last_changed_ms));
    if let Some(t) = s.last_accessed_ms {
        v.insert("LastAccessedDate".into(), epoch_s(t));
    }
    if let Some(t) = s.deleted_ms {
        v.insert("DeletedDate".into(), epoch_s(t));
    }
    if !s.tags.is_empty() {
        v.insert("Tags".into(), tags_json(&s.tags));
    }
    let stages: Map<String, Value> = s
        .versions
        .iter()
        .filter(|ver| !ver.stages.is_empty())
        .map(|ver| (ver.id.clone(), json!(ver.stages)))
        .collect();
    if !stages.is_empty() {
        let map_key = if list {
            "SecretVersionsToStages"
        } else {
            "VersionIdsToStages"
        };
        v.insert(map_key.into(), Value::Object(stages));
    }
    v.insert("CreatedDate".into(), epoch_s(s.created_ms));
    Value::Object(v)
}

/// A version's value as GetSecretValue and BatchGetSecretValue return it.
struct Found {
    key: Key,
    arn: String,
    name: String,
    version_id: String,
    stages: Vec<String>,
    created_ms: i64,
    sealed: Arc<model::Sealed>,
}

fn no_value_for(label: &str, what: &str) -> SecretsError {
    SecretsError::NotFound(format!(
        "Secrets Manager can't find the specified secret value for {label}: {what}"
    ))
}

impl Secrets {
    /// Finds the version GetSecretValue asks for (AWSCURRENT unless a version id or label
    /// is given).
    fn find_value(
        &self,
        region: &str,
        id: &str,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<Found> {
        self.with_secret(region, id, |key, s| {
            if s.is_deleted() {
                return Err(SecretsError::marked_for_deletion());
            }
            let (version, label, what) = match (version_id, stage) {
                (Some(vid), stage) => {
                    let v = s
                        .version(vid)
                        .ok_or_else(|| no_value_for("VersionId", vid))?;
                    if let Some(st) = stage {
                        if !v.stages.iter().any(|x| x == st) {
                            return Err(SecretsError::InvalidRequest(
                                "You provided a VersionStage that is not associated to the provided VersionId.".into(),
                            ));
                        }
                    }
                    (v, "VersionId", vid)
                }
                (None, stage) => {
                    let st = stage.unwrap_or(AWSCURRENT);
                    let v = s
                        .holder(st)
                        .ok_or_else(|| no_value_for("staging label", st))?;
                    (v, "staging label", st)
                }
            };
            let sealed = version
                .value
                .clone()
                .ok_or_else(|| no_value_for(label, what))?;
            Ok(Found {
                key: key.clone(),
                arn: s.arn.clone(),
                name: s.name.clone(),
                version_id: version.id.clone(),
                stages: version.stages.clone(),
                created_ms: version.created_ms,
                sealed,
            })
        })
    }

    /// Opens a found value into GetSecretValue's answer and notes the access.
    async fn value_answer(&self, region: &str, f: Found) -> Result<Value> {
        let plain = self.open_value(region, &f.arn, &f.version_id, &f.sealed)?;
        let mut out = json!({
            "ARN": f.arn,
            "Name": f.name,
            "VersionId": f.version_id,
            "VersionStages": f.stages,
            "CreatedDate": epoch_s(f.created_ms),
        });
        if plain.binary {
            out["SecretBinary"] = json!(b64().encode(&plain.bytes));
        } else {
            out["SecretString"] = json!(String::from_utf8_lossy(&plain.bytes));
        }
        self.note_access(&f.key, &f.arn, &f.version_id).await;
        Ok(out)
    }

    /// Records the day of an access (LastAccessedDate) for the secret and the version:
    /// stored at most once a day each, so reads stay reads.
    async fn note_access(&self, key: &Key, arn: &str, version_id: &str) {
        let today = day_of(self.now_ms());
        let stale = |s: &Secret| {
            s.arn == arn
                && (s.last_accessed_ms != Some(today)
                    || s.version(version_id)
                        .is_some_and(|v| v.last_accessed_ms != Some(today)))
        };
        if !self.live().read().secrets.get(key).is_some_and(stale) {
            return;
        }
        let _w = self.live().lock().await;
        let Some(mut s) = self
            .live()
            .read()
            .secrets
            .get(key)
            .filter(|s| stale(s))
            .cloned()
        else {
            return;
        };
        s.last_accessed_ms = Some(today);
        if let Some(v) = s.versions.iter_mut().find(|v| v.id == version_id) {
            v.last_accessed_ms = Some(today);
        }
        match self
            .live()
            .commit(vec![secret_write(&key.0, &s)], vec![], self.now_ms())
            .await
        {
            Ok(()) => self.live().write().insert(key.clone(), s),
            Err(e) => tracing::warn!("recording an access to {arn} failed: {e}"),
        }
    }

    async fn create_secret(&self, region: &str, body: &Value) -> Result<Value> {
        let name = required(body, "Name")?;
        model::check_name(name)?;
        let token = token(body)?;
        let description = description_param(body)?;
        let kms = kms_param(body)?;
        let value = value_param(body)?;
        let tags = tags_param(body, "Tags")?;
        if body
            .get("AddReplicaRegions")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            return Err(SecretsError::NotImplemented(
                "Eddy does not replicate secrets to other Regions (AddReplicaRegions).".into(),
            ));
        }
        let _w = self.live().lock().await;
        let key: Key = (region.to_string(), name.to_string());
        if let Some(existing) = self.live().read().secrets.get(&key).cloned() {
            if existing.is_deleted() {
                return Err(SecretsError::InvalidRequest(
                    "You can't create this secret because a secret with this name is already scheduled for deletion.".into(),
                ));
            }
            // A retry of the call that created it: same token, same value.
            if let (Some(v), Some(asked)) = (existing.version(&token), &value) {
                if let Some(sealed) = &v.value {
                    if self.open_value(region, &existing.arn, &v.id, sealed)? == *asked {
                        return Ok(json!({
                            "ARN": existing.arn, "Name": existing.name, "VersionId": v.id,
                        }));
                    }
                }
                return Err(SecretsError::Exists(VERSION_EXISTS.into()));
            }
            return Err(SecretsError::Exists(format!(
                "The operation failed because the secret {name} already exists."
            )));
        }
        // AWS's quota of secrets per Region, so callers cannot grow memory without bound.
        let in_region = self
            .live()
            .read()
            .secrets
            .range((region.to_string(), String::new())..)
            .take_while(|(k, _)| k.0 == region)
            .count();
        if in_region >= model::SECRETS_PER_REGION_MAX {
            return Err(SecretsError::LimitExceeded(
                crate::error::QUOTA_EXCEEDED.into(),
            ));
        }
        let now = self.now_ms();
        let arn = model::secret_arn(region, name, &model::arn_suffix(wire::id::next_u64));
        let mut s = Secret {
            arn: arn.clone(),
            name: name.to_string(),
            description: description.map(String::from),
            kms_key_id: kms.filter(|k| !k.is_empty()).map(String::from),
            tags: vec![],
            created_ms: now,
            last_changed_ms: now,
            last_accessed_ms: None,
            deleted_ms: None,
            purge_at_ms: None,
            rotation: None,
            versions: vec![],
        };
        model::merge_tags(&mut s.tags, tags)?;
        let mut writes = Vec::new();
        if let Some(plain) = &value {
            let sealed = self.seal(region, &arn, &token, plain)?;
            writes.push(value_write(&arn, &token, &sealed));
            model::put_value(&mut s, &token, Arc::new(sealed), None, now)?;
        }
        writes.push(secret_write(region, &s));
        self.live().commit(writes, vec![], self.now_ms()).await?;
        self.live().write().insert(key, s);
        let mut out = json!({ "ARN": arn, "Name": name });
        if value.is_some() {
            out["VersionId"] = json!(token);
        }
        Ok(out)
    }

    async fn get_secret_value(&self, region: &str, body: &Value) -> Result<Value> {
        let id = secret_id(body)?;
        let version_id = version_id_param(body, "VersionId")?;
        let stage = opt_str(body, "VersionStage")?;
        if let Some(st) = stage {
            model::check_stage(st)?;
        }
        let found = self.find_value(region, id, version_id, stage)?;
        self.value_answer(region, found).await
    }

    async fn batch_get_secret_value(&self, region: &str, body: &Value) -> Result<Value> {
        let ids = opt_str_list(body, "SecretIdList")?;
        let filters = filters_param(body)?;
        let max_given = body.get("MaxResults").is_some_and(|v| !v.is_null());
        let (ids, filters) = match (ids, filters) {
            (Some(_), Some(_)) => {
                return Err(SecretsError::InvalidParameter(
                    "Either 'SecretIdList' or 'Filters' must be provided, but not both.".into(),
                ))
            }
            (None, None) => {
                return Err(SecretsError::InvalidParameter(
                    "Either 'SecretIdList' or 'Filters' must be provided.".into(),
                ))
            }
            (ids, filters) => (ids, filters),
        };
        if max_given && filters.is_none() {
            return Err(SecretsError::InvalidParameter(
                "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.".into(),
            ));
        }
        let mut values = Vec::new();
        let mut errors = Vec::new();
        let mut next = None;
        let wanted: Vec<String> = match (ids, filters) {
            (Some(ids), _) => {
                if ids.is_empty() || ids.len() > BATCH_MAX {
                    return Err(constraint(
                        "secretIdList",
                        None,
                        &format!("Member must have length between 1 and {BATCH_MAX}"),
                    ));
                }
                ids
            }
            (None, Some(filters)) => {
                let limit = max_results(body, BATCH_MAX, BATCH_MAX)?;
                let after = match decode_token(body)? {
                    Some(Value::String(s)) => Some(s),
                    Some(_) => {
                        return Err(SecretsError::InvalidNextToken(
                            "You provided an invalid NextToken value.".into(),
                        ))
                    }
                    None => None,
                };
                let st = self.live().read();
                let mut names: Vec<String> = st
                    .secrets
                    .range((region.to_string(), after.clone().unwrap_or_default())..)
                    .take_while(|(k, _)| k.0 == region)
                    .filter(|(k, s)| {
                        after.as_deref() != Some(k.1.as_str())
                            && !s.is_deleted()
                            && model::matches(s, &filters)
                    })
                    .map(|(k, _)| k.1.clone())
                    .take(limit + 1)
                    .collect();
                if names.len() > limit {
                    names.truncate(limit);
                    next = names.last().map(|n| encode_token(&json!(n)));
                }
                names
            }
            (None, None) => vec![],
        };
        for id in wanted {
            let got = match self.find_value(region, &id, None, None) {
                Ok(found) => self.value_answer(region, found).await,
                Err(e) => Err(e),
            };
            match got {
                Ok(v) => values.push(v),
                Err(e) => {
                    let (_, code) = e.status_and_code();
                    errors.push(
                        json!({ "SecretId": id, "ErrorCode": code, "Message": e.to_string() }),
                    );
                }
            }
        }
        let mut out = json!({ "SecretValues": values, "Errors": errors });
        if let Some(n) = next {
            out["NextToken"] = json!(n);
        }
        Ok(out)
    }

    /// Stores `plain` as version `token` of `s` (PutSecretValue, UpdateSecret): the same
    /// value under the same token again changes nothing; another value under a token in
    /// use is refused.
    fn store_value(
        &self,
        region: &str,
        s: &mut Secret,
        token: &str,
        plain: &Plain,
        stages: Option<&[String]>,
        writes: &mut Vec<crate::ResourceWrite>,
    ) -> Result<bool> {
        let now = self.now_ms();
        if let Some(v) = s.version(token) {
            if let Some(sealed) = &v.value {
                if self.open_value(region, &s.arn, &v.id, sealed)? == *plain {
                    return Ok(false);
                }
                return Err(SecretsError::Exists(VERSION_EXISTS.into()));
            }
        } else {
            for gone in model::make_room(s, now)? {
                writes.push(value_delete(&s.arn, &gone));
            }
        }
        let sealed = self.seal(region, &s.arn, token, plain)?;
        writes.push(value_write(&s.arn, token, &sealed));
        model::put_value(s, token, Arc::new(sealed), stages, now)?;
        s.last_changed_ms = now;
        Ok(true)
    }

    async fn put_secret_value(&self, region: &str, body: &Value) -> Result<Value> {
        let id = secret_id(body)?;
        let token = token(body)?;
        let plain = value_param(body)?.ok_or_else(|| {
            SecretsError::InvalidParameter(
                "You must provide either SecretString or SecretBinary.".into(),
            )
        })?;
        let stages = opt_str_list(body, "VersionStages")?;
        if let Some(st) = &stages {
            model::check_stages(st)?;
        }
        self.change(region, id, |s, writes| {
            if s.is_deleted() {
                return Err(SecretsError::marked_for_deletion());
            }
            let changed = self.store_value(region, s, &token, &plain, stages.as_deref(), writes)?;
            let out = json!({
                "ARN": s.arn,
                "Name": s.name,
                "VersionId": token,
                "VersionStages": s.version(&token).map(|v| v.stages.clone()).unwrap_or_default(),
            });
            Ok(if changed {
                Outcome::Changed(out)
            } else {
                Outcome::Unchanged(out)
            })
        })
        .await
    }

    async fn update_secret(&self, region: &str, body: &Value) -> Result<Value> {
        let id = secret_id(body)?;
        let token = token(body)?;
        let description = description_param(body)?;
        let kms = kms_param(body)?;
        let value = value_param(body)?;
        let now = self.now_ms();
        self.change(region, id, |s, writes| {
            if s.is_deleted() {
                return Err(SecretsError::marked_for_deletion());
            }
            let mut out = json!({ "ARN": s.arn, "Name": s.name });
            if let Some(plain) = &value {
                // UpdateSecret never reuses a version id, even for the same value.
                if s.version(&token).is_some() {
                    return Err(SecretsError::Exists(VERSION_EXISTS.into()));
                }
                self.store_value(region, s, &token, plain, None, writes)?;
                out["VersionId"] = json!(token);
            }
            if let Some(d) = description {
                s.description = Some(d.to_string());
            }
            if let Some(k) = kms {
                s.kms_key_id = Some(k.to_string()).filter(|k| !k.is_empty());
            }
            if value.is_none() && description.is_none() && kms.is_none() {
                return Ok(Outcome::Unchanged(out));
            }
            s.last_changed_ms = now;
            Ok(Outcome::Changed(out))
        })
        .await
    }

    async fn update_secret_version_stage(&self, region: &str, body: &Value) -> Result<Value> {
        let id = secret_id(body)?;
        let stage = required(body, "VersionStage")?;
        model::check_stage(stage)?;
        let move_to = version_id_param(body, "MoveToVersionId")?;
        let remove_from = version_id_param(body, "RemoveFromVersionId")?;
        let now = self.now_ms();
        self.change(region, id, |s, _| {
            if s.is_deleted() {
                return Err(SecretsError::marked_for_deletion());
            }
            model::update_stage(s, stage, move_to, remove_from)?;
            s.last_changed_ms = now;
            Ok(Outcome::Changed(json!({ "ARN": s.arn, "Name": s.name })))
        })
        .await
    }

    fn describe_secret(&self, region: &str, body: &Value) -> Result<Value> {
        let id = secret_id(body)?;
        self.with_secret(region, id, |_, s| Ok(secret_view(s, false)))
    }

    fn list_secrets(&self, region: &str, body: &Value) -> Result<Value> {
        let include_deleted = opt_bool(body, "IncludePlannedDeletion")?.unwrap_or(false);
        let limit = max_results(body, PAGE_MAX, PAGE_DEFAULT)?;
        let filters = filters_param(body)?.unwrap_or_default();
        let descending = match opt_str(body, "SortOrder")? {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(constraint(
                    "sortOrder",
                    Some(other),
                    "Member must satisfy enum value set: [asc, desc]",
                ))
            }
        };
        let sort_by = opt_str(body, "SortBy")?.unwrap_or("created-date");
        // Every secret sorts by (key, name): the key SortBy names, the name to break ties.
        let sort_key = |s: &Secret| -> Value {
            match sort_by {
                "name" => json!(s.name),
                "last-accessed-date" => json!(s.last_accessed_ms.unwrap_or(-1)),
                "last-changed-date" => json!(s.last_changed_ms),
                _ => json!(s.created_ms),
            }
        };
        if ![
            "created-date",
            "last-accessed-date",
            "last-changed-date",
            "name",
        ]
        .contains(&sort_by)
        {
            return Err(constraint(
                "sortBy",
                Some(sort_by),
                "Member must satisfy enum value set: [created-date, last-accessed-date, last-changed-date, name]",
            ));
        }
        let after = decode_token(body)?;
        let st = self.live().read();
        let mut rows: Vec<(Value, &Secret)> = st
            .secrets
            .range((region.to_string(), String::new())..)
            .take_while(|(k, _)| k.0 == region)
            .map(|(_, s)| s)
            .filter(|s| (include_deleted || !s.is_deleted()) && model::matches(s, &filters))
            .map(|s| (json!([sort_key(s), s.name]), s))
            .collect();
        let order = |a: &Value, b: &Value| compare(a, b);
        rows.sort_by(|a, b| order(&a.0, &b.0));
        if descending {
            rows.reverse();
        }
        if let Some(after) = &after {
            rows.retain(|(k, _)| {
                let o = order(k, after);
                if descending {
                    o.is_lt()
                } else {
                    o.is_gt()
                }
            });
        }
        let mut out = json!({});
        if rows.len() > limit {
            out["NextToken"] = json!(encode_token(&rows[limit - 1].0));
            rows.truncate(limit);
        }
        out["SecretList"] = Value::Array(rows.iter().map(|(_, s)| secret_view(s, true)).collect());
        Ok(out)
    }

    fn list_secret_version_ids(&self, region: &str, body: &Value) -> Result<Value> {
        let id = secret_id(body)?;
        let limit = max_results(body, PAGE_MAX, PAGE_DEFAULT)?;
        let include_deprecated = opt_bool(body, "IncludeDeprecated")?.unwrap_or(false);
        let after = decode_token(body)?;
        self.with_secret(region, id, |_, s| {
            let shown: Vec<&model::Version> = s
                .versions
                .iter()
                .rev()
                .filter(|v| include_deprecated || !v.stages.is_empty())
                .collect();
            let start = match &after {
                None => 0,
                Some(Value::String(last)) => shown
                    .iter()
                    .position(|v| &v.id == last)
                    .map(|i| i + 1)
                    .ok_or_else(|| {
                        SecretsError::InvalidNextToken(
                            "You provided an invalid NextToken value.".into(),
                        )
                    })?,
                Some(_) => {
                    return Err(SecretsError::InvalidNextToken(
                        "You provided an invalid NextToken value.".into(),
                    ))
                }
            };
            let page: Vec<&&model::Version> = shown.iter().skip(start).take(limit).collect();
            let kms = s.kms_key_id.as_deref().unwrap_or("DefaultEncryptionKey");
            let versions: Vec<Value> = page
                .iter()
                .map(|v| {
                    let mut e = json!({
                        "VersionId": v.id,
                        "CreatedDate": epoch_s(v.created_ms),
                        "KmsKeyIds": [kms],
                    });
                    if !v.stages.is_empty() {
                        e["VersionStages"] = json!(v.stages);
                    }
                    if let Some(t) = v.last_accessed_ms {
                        e["LastAccessedDate"] = epoch_s(t);
                    }
                    e
                })
                .collect();
            let mut out = json!({ "Versions": versions, "ARN": s.arn, "Name": s.name });
            if start + limit < shown.len() {
                if let Some(last) = page.last() {
                    out["NextToken"] = json!(encode_token(&json!(last.id)));
                }
            }
            Ok(out)
        })
    }

    async fn delete_secret(&self, region: &str, body: &Value) -> Result<Value> {
        let id = secret_id(body)?;
        let window = opt_int(body, "RecoveryWindowInDays")?;
        let force = opt_bool(body, "ForceDeleteWithoutRecovery")?.unwrap_or(false);
        if window.is_some() && force {
            return Err(SecretsError::InvalidParameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.".into(),
            ));
        }
        let days = window.unwrap_or(model::RECOVERY_DAYS_DEFAULT);
        if !(model::RECOVERY_DAYS_MIN..=model::RECOVERY_DAYS_MAX).contains(&days) {
            return Err(SecretsError::InvalidParameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).".into(),
            ));
        }
        let now = self.now_ms();
        if force {
            let _w = self.live().lock().await;
            let found = self
                .live()
                .read()
                .find(region, id)
                .map(|(k, s)| (k.clone(), s.clone()));
            let Some((key, s)) = found else {
                // AWS: forcing the deletion of a secret that does not exist succeeds.
                let mut out = json!({ "DeletionDate": epoch_s(now) });
                match model::secret_ref(id, region) {
                    model::SecretRef::Name(n) => out["Name"] = json!(n),
                    _ => out["ARN"] = json!(id),
                }
                return Ok(out);
            };
            self.live()
                .commit(delete_writes(region, &s), vec![], self.now_ms())
                .await?;
            self.live().write().remove(&key);
            return Ok(json!({ "ARN": s.arn, "Name": s.name, "DeletionDate": epoch_s(now) }));
        }
        self.change(region, id, |s, _| {
            if s.is_deleted() {
                return Err(SecretsError::marked_for_deletion());
            }
            let at = now + days * model::DAY_MS;
            s.deleted_ms = Some(now);
            s.purge_at_ms = Some(at);
            s.last_changed_ms = now;
            Ok(Outcome::Changed(
                json!({ "ARN": s.arn, "Name": s.name, "DeletionDate": epoch_s(at) }),
            ))
        })
        .await
    }

    async fn restore_secret(&self, region: &str, body: &Value) -> Result<Value> {
        let id = secret_id(body)?;
        let now = self.now_ms();
        self.change(region, id, |s, _| {
            let out = json!({ "ARN": s.arn, "Name": s.name });
            if !s.is_deleted() {
                return Ok(Outcome::Unchanged(out));
            }
            s.deleted_ms = None;
            s.purge_at_ms = None;
            s.last_changed_ms = now;
            Ok(Outcome::Changed(out))
        })
        .await
    }

    async fn tag_resource(&self, region: &str, body: &Value) -> Result<Value> {
        let id = secret_id(body)?;
        if body.get("Tags").is_none_or(Value::is_null) {
            required(body, "Tags")?;
        }
        let tags = tags_param(body, "Tags")?;
        let now = self.now_ms();
        self.change(region, id, |s, _| {
            if s.is_deleted() {
                return Err(SecretsError::marked_for_deletion());
            }
            model::merge_tags(&mut s.tags, tags)?;
            s.last_changed_ms = now;
            Ok(Outcome::Changed(json!({})))
        })
        .await
    }

    async fn untag_resource(&self, region: &str, body: &Value) -> Result<Value> {
        let id = secret_id(body)?;
        let keys = opt_str_list(body, "TagKeys")?.ok_or_else(|| {
            SecretsError::Validation(
                "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null".into(),
            )
        })?;
        let now = self.now_ms();
        self.change(region, id, |s, _| {
            if s.is_deleted() {
                return Err(SecretsError::marked_for_deletion());
            }
            let before = s.tags.len();
            s.tags.retain(|t| !keys.contains(&t.key));
            if s.tags.len() == before {
                return Ok(Outcome::Unchanged(json!({})));
            }
            s.last_changed_ms = now;
            Ok(Outcome::Changed(json!({})))
        })
        .await
    }

    fn get_random_password(&self, body: &Value) -> Result<Value> {
        let length = match body.get("PasswordLength") {
            None | Some(Value::Null) => password::LENGTH_DEFAULT,
            Some(v) => v.as_u64().ok_or_else(|| {
                constraint(
                    "passwordLength",
                    Some(&v.to_string()),
                    &format!(
                        "Member must have value between 1 and {}",
                        password::LENGTH_MAX
                    ),
                )
            })?,
        };
        let exclude = opt_str(body, "ExcludeCharacters")?.unwrap_or_default();
        check_len("excludeCharacters", exclude, 0, 4096, false)?;
        let flag = |k: &str| opt_bool(body, k).map(|b| b.unwrap_or(false));
        let o = password::Options {
            length,
            exclude_characters: exclude.to_string(),
            exclude_numbers: flag("ExcludeNumbers")?,
            exclude_punctuation: flag("ExcludePunctuation")?,
            exclude_uppercase: flag("ExcludeUppercase")?,
            exclude_lowercase: flag("ExcludeLowercase")?,
            include_space: flag("IncludeSpace")?,
            require_each_included_type: opt_bool(body, "RequireEachIncludedType")?.unwrap_or(true),
        };
        Ok(json!({ "RandomPassword": password::generate_os(&o)? }))
    }

    pub(crate) async fn dispatch(&self, req: &ApiRequest) -> Result<Value> {
        let target = req.header("x-amz-target").unwrap_or("");
        let op = target.strip_prefix("secretsmanager.").unwrap_or(target);
        let body: Value = if req.body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&req.body).map_err(|_| {
                SecretsError::Validation("The request body is not valid JSON.".into())
            })?
        };
        if !body.is_object() {
            return Err(SecretsError::Validation(
                "The request body must be a JSON object.".into(),
            ));
        }
        self.purge_due().await?;
        let region = req.region.as_str();
        match op {
            "CreateSecret" => self.create_secret(region, &body).await,
            "GetSecretValue" => self.get_secret_value(region, &body).await,
            "BatchGetSecretValue" => self.batch_get_secret_value(region, &body).await,
            "PutSecretValue" => self.put_secret_value(region, &body).await,
            "UpdateSecret" => self.update_secret(region, &body).await,
            "UpdateSecretVersionStage" => self.update_secret_version_stage(region, &body).await,
            "DescribeSecret" => self.describe_secret(region, &body),
            "ListSecrets" => self.list_secrets(region, &body),
            "ListSecretVersionIds" => self.list_secret_version_ids(region, &body),
            "DeleteSecret" => self.delete_secret(region, &body).await,
            "RestoreSecret" => self.restore_secret(region, &body).await,
            "TagResource" => self.tag_resource(region, &body).await,
            "UntagResource" => self.untag_resource(region, &body).await,
            "GetRandomPassword" => self.get_random_password(&body),
            "RotateSecret" => self.rotate_secret(region, &body).await,
            "CancelRotateSecret" => self.cancel_rotate_secret(region, &body).await,
            "" => Err(SecretsError::Validation(
                "Missing X-Amz-Target header naming the operation.".into(),
            )),
            other => Err(SecretsError::NotImplemented(format!(
                "Eddy does not implement the Secrets Manager operation {other} yet."
            ))),
        }
    }
}

/// Orders ListSecrets sort keys: `[key, name]` pairs whose key is a number or a string.
fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    let part = |v: &Value, i: usize| v.get(i).cloned().unwrap_or(Value::Null);
    let one = |x: &Value, y: &Value| match (x, y) {
        (Value::Number(p), Value::Number(q)) => p
            .as_i64()
            .unwrap_or_default()
            .cmp(&q.as_i64().unwrap_or_default()),
        _ => x
            .as_str()
            .unwrap_or_default()
            .cmp(y.as_str().unwrap_or_default()),
    };
    one(&part(a, 0), &part(b, 0)).then_with(|| one(&part(a, 1), &part(b, 1)))
}
