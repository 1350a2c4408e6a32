//! Secrets, versions and staging labels as Secrets Manager defines them: names and limits,
//! how staging labels move between versions, which deprecated versions go, ListSecrets'
//! filters and rotation schedules. Pure: no IO, no clock, no randomness (callers pass the
//! present and fresh identifiers in).

use crate::error::{Result, SecretsError, QUOTA_EXCEEDED};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Secrets per Region (AWS's quota).
pub const SECRETS_PER_REGION_MAX: usize = 500_000;
pub const AWSCURRENT: &str = "AWSCURRENT";
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";
pub const AWSPENDING: &str = "AWSPENDING";

/// The largest SecretString or SecretBinary (AWS: 64 KB).
pub const VALUE_BYTES_MAX: usize = 65_536;
pub const NAME_CHARS_MAX: usize = 512;
pub const DESCRIPTION_CHARS_MAX: usize = 2048;
pub const SECRET_ID_CHARS_MAX: usize = 2048;
pub const KMS_KEY_ID_CHARS_MAX: usize = 2048;
pub const TOKEN_CHARS_MIN: usize = 32;
pub const TOKEN_CHARS_MAX: usize = 64;
/// Versions one secret keeps; deprecated ones make room once they are a day old.
pub const VERSIONS_MAX: usize = 100;
/// Deprecated versions younger than this are kept even when the secret is full (AWS).
pub const DEPRECATED_KEEP_MS: i64 = DAY_MS;
pub const STAGES_PER_VERSION_MAX: usize = 20;
pub const STAGE_CHARS_MAX: usize = 256;
pub const TAGS_MAX: usize = 50;
pub const TAG_KEY_CHARS_MAX: usize = 128;
pub const TAG_VALUE_CHARS_MAX: usize = 256;
pub const RECOVERY_DAYS_MIN: i64 = 7;
pub const RECOVERY_DAYS_MAX: i64 = 30;
pub const RECOVERY_DAYS_DEFAULT: i64 = 30;
pub const DAY_MS: i64 = 86_400_000;
pub const HOUR_MS: i64 = 3_600_000;

/// A secret's metadata and versions, as stored (values are stored beside it, sealed).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Secret {
    pub arn: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub created_ms: i64,
    pub last_changed_ms: i64,
    /// The day (midnight UTC) of the last GetSecretValue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed_ms: Option<i64>,
    /// When DeleteSecret was called; the secret is scheduled for deletion while set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_ms: Option<i64>,
    /// When a secret scheduled for deletion goes for good (DeleteSecret's DeletionDate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,
    /// Oldest first.
    #[serde(default)]
    pub versions: Vec<Version>,
}

/// One version of a secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Version {
    pub id: String,
    pub stages: Vec<String>,
    pub created_ms: i64,
    /// The day (midnight UTC) of the last GetSecretValue of this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed_ms: Option<i64>,
    /// The sealed value, stored in its own record. `None` for the version a rotation
    /// creates before its function has put a value in it.
    #[serde(skip)]
    pub value: Option<Arc<Sealed>>,
}

/// A value as stored: sealed by the master key, bound to its secret and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Sealed {
    /// SecretBinary rather than SecretString.
    pub binary: bool,
    pub sealed: String,
}

/// A secret value in the clear, only ever held while a request needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Plain {
    pub binary: bool,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Plain(binary: {}, {} bytes)",
            self.binary,
            self.bytes.len()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A secret's rotation configuration and state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rotation {
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RotationRules>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotated_ms: Option<i64>,
    /// The end of the next rotation window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation_ms: Option<i64>,
    /// When the scheduler starts the next rotation: the window's opening, or a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_ms: Option<i64>,
}

/// RotationRules as the API takes and shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatically_after_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
}

impl Secret {
    pub fn version(&self, id: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.id == id)
    }

    fn version_mut(&mut self, id: &str) -> Option<&mut Version> {
        self.versions.iter_mut().find(|v| v.id == id)
    }

    /// The version that carries `stage`, if any.
    pub fn holder(&self, stage: &str) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.stages.iter().any(|s| s == stage))
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_ms.is_some()
    }

    /// The version of a rotation that has not finished: AWSPENDING on a version that is
    /// not AWSCURRENT.
    pub fn unfinished_rotation(&self) -> Option<&Version> {
        self.holder(AWSPENDING)
            .filter(|v| !v.stages.iter().any(|s| s == AWSCURRENT))
    }
}

/// `n` lower-case ARN suffix characters drawn from `random` (not secret material).
pub fn arn_suffix(mut random: impl FnMut() -> u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..6)
        .map(|_| ALPHABET[(random() % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

pub fn secret_arn(region: &str, name: &str, suffix: &str) -> String {
    format!(
        "arn:aws:secretsmanager:{region}:{}:secret:{name}-{suffix}",
        wire::ACCOUNT_ID
    )
}

/// What a SecretId names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// A friendly name.
    Name(String),
    /// An ARN: the exact ARN, or a partial one without the random suffix. `name` is what
    /// follows `secret:`.
    Arn { arn: String, name: String },
    /// An ARN of another region, account or service: never found here.
    Elsewhere,
}

/// Reads a SecretId given in `region`.
pub fn secret_ref(id: &str, region: &str) -> SecretRef {
    let Some(rest) = id.strip_prefix("arn:") else {
        return SecretRef::Name(id.to_string());
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    match parts[..] {
        [partition, "secretsmanager", r, account, resource]
            if partition.starts_with("aws") && r == region && account == wire::ACCOUNT_ID =>
        {
            match resource.strip_prefix("secret:") {
                Some(name) if !name.is_empty() => SecretRef::Arn {
                    arn: id.to_string(),
                    name: name.to_string(),
                },
                _ => SecretRef::Elsewhere,
            }
        }
        _ => SecretRef::Elsewhere,
    }
}

/// The model's message for a value that breaks a constraint (AWS's validation layer).
pub fn constraint(field: &str, value: Option<&str>, rule: &str) -> SecretsError {
    let shown = match value {
        Some(v) => format!("Value '{v}' at"),
        None => "Value at".to_string(),
    };
    SecretsError::Validation(format!(
        "1 validation error detected: {shown} '{field}' failed to satisfy constraint: {rule}"
    ))
}

/// Checks a length in characters against the API model.
pub fn check_len(field: &str, value: &str, min: usize, max: usize, show: bool) -> Result<()> {
    let n = value.chars().count();
    let shown = show.then_some(value);
    if n < min {
        return Err(constraint(
            field,
            shown,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(constraint(
            field,
            shown,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// Secret names: ASCII letters, digits and `/_+=.@-`, 1 to 512 characters.
pub fn check_name(name: &str) -> Result<()> {
    check_len("name", name, 1, NAME_CHARS_MAX, false)?;
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
    {
        return Err(SecretsError::InvalidParameter(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!".into(),
        ));
    }
    Ok(())
}

pub fn check_token(token: &str) -> Result<()> {
    check_len(
        "clientRequestToken",
        token,
        TOKEN_CHARS_MIN,
        TOKEN_CHARS_MAX,
        true,
    )
}

pub fn check_stage(stage: &str) -> Result<()> {
    check_len("versionStage", stage, 1, STAGE_CHARS_MAX, true)
}

/// Checks a value's size; the value itself never appears in the error.
pub fn check_value(field: &str, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Err(constraint(
            field,
            None,
            "Member must have length greater than or equal to 1",
        ));
    }
    if bytes.len() > VALUE_BYTES_MAX {
        return Err(constraint(
            field,
            None,
            &format!("Member must have length less than or equal to {VALUE_BYTES_MAX}"),
        ));
    }
    Ok(())
}

/// A version's stages as a request gives them: 1 to 20 labels, each 1 to 256 characters.
pub fn check_stages(stages: &[String]) -> Result<()> {
    if stages.is_empty() || stages.len() > STAGES_PER_VERSION_MAX {
        return Err(constraint(
            "versionStages",
            None,
            &format!("Member must have length between 1 and {STAGES_PER_VERSION_MAX}"),
        ));
    }
    stages.iter().try_for_each(|s| check_stage(s))
}

/// Adds `tags` to `existing`: a key that exists gets the new value.
pub fn merge_tags(existing: &mut Vec<Tag>, tags: Vec<Tag>) -> Result<()> {
    for t in tags {
        match existing.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value,
            None => existing.push(t),
        }
        // The count only grows: stop at once, however many tags the request carries.
        if existing.len() > TAGS_MAX {
            return Err(SecretsError::LimitExceeded(QUOTA_EXCEEDED.into()));
        }
    }
    Ok(())
}

pub fn check_tag(t: &Tag) -> Result<()> {
    check_len("tags.member.key", &t.key, 1, TAG_KEY_CHARS_MAX, true)?;
    check_len("tags.member.value", &t.value, 0, TAG_VALUE_CHARS_MAX, false)
}

/// Attaches `stage` to version `to`, taking it off the version that had it. Moving
/// AWSCURRENT puts AWSPREVIOUS on the version AWSCURRENT left.
fn attach(s: &mut Secret, stage: &str, to: &str) {
    let from = s.holder(stage).map(|v| v.id.clone());
    if from.as_deref() == Some(to) {
        return;
    }
    if let Some(f) = &from {
        if let Some(v) = s.version_mut(f) {
            v.stages.retain(|x| x != stage);
        }
    }
    if let Some(v) = s.version_mut(to) {
        v.stages.push(stage.to_string());
    }
    if stage == AWSCURRENT {
        if let Some(f) = from {
            attach(s, AWSPREVIOUS, &f);
        }
    }
}

/// The labels a new value gets: those asked for, or AWSCURRENT. The first value of a
/// secret (no version is AWSCURRENT yet) always becomes AWSCURRENT.
fn stages_for_new_value(s: &Secret, asked: Option<&[String]>) -> Vec<String> {
    let mut stages: Vec<String> = match asked {
        Some(a) => a.to_vec(),
        None => vec![AWSCURRENT.to_string()],
    };
    if s.holder(AWSCURRENT).is_none() && !stages.iter().any(|x| x == AWSCURRENT) {
        stages.push(AWSCURRENT.to_string());
    }
    stages.dedup();
    stages
}

/// Stores a value as version `id` with the staging labels asked for (AWSCURRENT when none
/// are). A version `id` that exists without a value (made by RotateSecret) gets the value;
/// otherwise a new version is added. The caller has checked that `id` has no value yet and
/// made room ([`make_room`]).
pub fn put_value(
    s: &mut Secret,
    id: &str,
    value: Arc<Sealed>,
    asked: Option<&[String]>,
    now_ms: i64,
) -> Result<()> {
    let stages = stages_for_new_value(s, asked);
    match s.version_mut(id) {
        Some(v) => {
            debug_assert!(v.value.is_none(), "put_value over an existing value");
            v.value = Some(value);
        }
        None => s.versions.push(Version {
            id: id.to_string(),
            stages: vec![],
            created_ms: now_ms,
            last_accessed_ms: None,
            value: Some(value),
        }),
    }
    for st in &stages {
        attach(s, st, id);
    }
    check_stage_count(s, id)
}

/// Adds a version without a value carrying only AWSPENDING: the version a rotation's
/// function fills.
pub fn add_pending(s: &mut Secret, id: &str, now_ms: i64) {
    s.versions.push(Version {
        id: id.to_string(),
        stages: vec![],
        created_ms: now_ms,
        last_accessed_ms: None,
        value: None,
    });
    attach(s, AWSPENDING, id);
}

fn check_stage_count(s: &Secret, id: &str) -> Result<()> {
    if s.version(id)
        .is_some_and(|v| v.stages.len() > STAGES_PER_VERSION_MAX)
    {
        return Err(SecretsError::LimitExceeded(QUOTA_EXCEEDED.into()));
    }
    Ok(())
}

fn version_not_found(id: &str) -> SecretsError {
    SecretsError::NotFound(format!(
        "Secrets Manager can't find the specified secret value for VersionId: {id}"
    ))
}

/// UpdateSecretVersionStage: moves `stage` to `move_to`, or removes it from `remove_from`.
/// A label attached to another version moves only when `remove_from` names that version.
pub fn update_stage(
    s: &mut Secret,
    stage: &str,
    move_to: Option<&str>,
    remove_from: Option<&str>,
) -> Result<()> {
    for id in [move_to, remove_from].into_iter().flatten() {
        if s.version(id).is_none() {
            return Err(version_not_found(id));
        }
    }
    let holder = s.holder(stage).map(|v| v.id.clone());
    match (move_to, remove_from) {
        (None, None) => Err(SecretsError::InvalidParameter(
            "You must specify MoveToVersionId, RemoveFromVersionId or both.".into(),
        )),
        (Some(to), _) if holder.as_deref() == Some(to) => Ok(()),
        (Some(to), remove) => {
            match (&holder, remove) {
                (Some(h), None) => {
                    return Err(SecretsError::InvalidParameter(format!(
                        "The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached to version {h}, so you must explicitly reference that version in RemoveFromVersionId."
                    )))
                }
                (Some(h), Some(r)) if h != r => {
                    return Err(SecretsError::InvalidParameter(format!(
                        "The staging label {stage} is currently attached to version {h}, not to version {r} that RemoveFromVersionId names."
                    )))
                }
                _ => {}
            }
            attach(s, stage, to);
            check_stage_count(s, to)
        }
        (None, Some(from)) => {
            if holder.as_deref() != Some(from) {
                return Err(SecretsError::InvalidParameter(format!(
                    "The staging label {stage} is not attached to version {from}."
                )));
            }
            if stage == AWSCURRENT {
                return Err(SecretsError::InvalidParameter(
                    "You can only move staging label AWSCURRENT to a different secret version. It can't be completely removed.".into(),
                ));
            }
            if let Some(v) = s.version_mut(from) {
                v.stages.retain(|x| x != stage);
            }
            Ok(())
        }
    }
}

/// Makes room for one more version: when the secret is full, its deprecated versions (no
/// staging labels) that are at least a day old go, oldest first. Returns the ids removed,
/// or LimitExceededException when the secret stays full.
pub fn make_room(s: &mut Secret, now_ms: i64) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    while s.versions.len() >= VERSIONS_MAX {
        let oldest = s
            .versions
            .iter()
            .enumerate()
            .filter(|(_, v)| v.stages.is_empty() && now_ms - v.created_ms >= DEPRECATED_KEEP_MS)
            .min_by_key(|(_, v)| v.created_ms)
            .map(|(i, _)| i);
        match oldest {
            Some(i) => removed.push(s.versions.remove(i).id),
            None => {
                return Err(SecretsError::LimitExceeded(format!(
                    "{QUOTA_EXCEEDED} The secret has {VERSIONS_MAX} versions; versions without staging labels are removed once they are 24 hours old."
                )))
            }
        }
    }
    Ok(removed)
}

/// Midnight UTC of the day `ms` falls on (the resolution of LastAccessedDate).
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

// ---------------------------------------------------------------------------------------
// ListSecrets filters
// ---------------------------------------------------------------------------------------

/// A filter key of ListSecrets and BatchGetSecretValue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKey {
    Description,
    Name,
    TagKey,
    TagValue,
    PrimaryRegion,
    OwningService,
    All,
}

impl FilterKey {
    pub const NAMES: &'static str =
        "[description, name, tag-key, tag-value, primary-region, owning-service, all]";

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "description" => Self::Description,
            "name" => Self::Name,
            "tag-key" => Self::TagKey,
            "tag-value" => Self::TagValue,
            "primary-region" => Self::PrimaryRegion,
            "owning-service" => Self::OwningService,
            "all" => Self::All,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub key: FilterKey,
    pub values: Vec<String>,
}

pub const FILTERS_MAX: usize = 10;
pub const FILTER_VALUES_MAX: usize = 10;
pub const FILTER_VALUE_CHARS_MAX: usize = 512;

/// Whether a filter value has the characters AWS allows: `^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$`.
pub fn filter_value_ok(v: &str) -> bool {
    v.chars().count() <= FILTER_VALUE_CHARS_MAX
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" :_@/+=.-!".contains(&b))
}

/// Splits text into the words AWS searches by: runs of letters or digits, also split where
/// a lower-case letter meets an upper-case one and where letters meet digits
/// (`credsDatabase#892` is `creds`, `Database`, `892`).
pub fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    for c in s.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            let camel = p.is_lowercase() && c.is_uppercase();
            let kind_change = p.is_alphabetic() != c.is_alphabetic();
            if (camel || kind_change) && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
        prev = Some(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether every word of `term` begins some word of `texts` (not case-sensitive).
fn words_match(term: &str, texts: &[&str]) -> bool {
    let wanted: Vec<String> = words(term).iter().map(|w| w.to_lowercase()).collect();
    if wanted.is_empty() {
        return false;
    }
    let have: Vec<String> = texts
        .iter()
        .flat_map(|t| words(t))
        .map(|w| w.to_lowercase())
        .collect();
    wanted
        .iter()
        .all(|w| have.iter().any(|h| h.starts_with(w.as_str())))
}

/// Whether one filter term matches a secret under `key`.
fn term_matches(s: &Secret, key: FilterKey, term: &str) -> bool {
    match key {
        FilterKey::Name => s.name.starts_with(term),
        FilterKey::Description => s.description.as_deref().is_some_and(|d| {
            d.to_lowercase().starts_with(&term.to_lowercase()) || words_match(term, &[d])
        }),
        FilterKey::TagKey => s.tags.iter().any(|t| t.key.starts_with(term)),
        FilterKey::TagValue => s.tags.iter().any(|t| t.value.starts_with(term)),
        // Secrets are not replicated and no service owns one.
        FilterKey::PrimaryRegion | FilterKey::OwningService => false,
        FilterKey::All => {
            let mut texts: Vec<&str> = vec![&s.name];
            texts.extend(s.description.as_deref());
            for t in &s.tags {
                texts.push(&t.key);
                texts.push(&t.value);
            }
            words_match(term, &texts)
        }
    }
}

/// Whether a secret passes one filter: any of its plain values matches (when it has
/// any), and none of its `!`-negated values does.
pub fn filter_matches(s: &Secret, f: &Filter) -> bool {
    let (negated, plain): (Vec<&String>, Vec<&String>) =
        f.values.iter().partition(|v| v.starts_with('!'));
    let plain_ok = plain.is_empty() || plain.iter().any(|v| term_matches(s, f.key, v));
    let negated_ok = negated.iter().all(|v| !term_matches(s, f.key, &v[1..]));
    plain_ok && negated_ok
}

/// Whether a secret passes every filter.
pub fn matches(s: &Secret, filters: &[Filter]) -> bool {
    filters.iter().all(|f| filter_matches(s, f))
}

// ---------------------------------------------------------------------------------------
// Rotation schedules
// ---------------------------------------------------------------------------------------

/// A checked rotation schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    expression: schedule::Expression,
    /// The window's length; `None` is AWS's default (an hour for schedules in hours, the
    /// rest of the UTC day otherwise).
    duration_ms: Option<i64>,
    in_hours: bool,
}

fn bad_schedule(why: &str) -> SecretsError {
    SecretsError::InvalidParameter(format!("Invalid RotationRules: {why}"))
}

/// Checks RotationRules and turns them into a schedule (`None` when they set none).
pub fn parse_rules(r: &RotationRules) -> Result<Option<Schedule>> {
    let duration_ms = match &r.duration {
        None => None,
        Some(d) => {
            let hours = d
                .strip_suffix('h')
                .filter(|h| !h.is_empty() && h.len() <= 2 && h.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|h| h.parse::<i64>().ok())
                .ok_or_else(|| {
                    constraint(
                        "rotationRules.duration",
                        Some(d),
                        "Member must satisfy regular expression pattern: [0-9]+h",
                    )
                })?;
            if !(1..=24).contains(&hours) {
                return Err(bad_schedule("Duration must be between 1h and 24h."));
            }
            Some(hours * HOUR_MS)
        }
    };
    let (expression, in_hours) = match (r.automatically_after_days, &r.schedule_expression) {
        (Some(_), Some(_)) => {
            return Err(bad_schedule(
                "You can't specify both AutomaticallyAfterDays and ScheduleExpression.",
            ))
        }
        (Some(days), None) => {
            if !(1..=1000).contains(&days) {
                return Err(constraint(
                    "rotationRules.automaticallyAfterDays",
                    Some(&days.to_string()),
                    "Member must have value between 1 and 1000",
                ));
            }
            (
                schedule::Expression::Rate {
                    every_ms: days * DAY_MS,
                    value: days as u64,
                    unit: schedule::RateUnit::Days,
                },
                false,
            )
        }
        (None, Some(text)) => {
            let e = schedule::parse(text, schedule::Flavor::Scheduler).map_err(|_| {
                bad_schedule(&format!(
                    "{text} is not a valid rate() or cron() expression."
                ))
            })?;
            let in_hours = match &e {
                schedule::Expression::Rate { value, unit, .. } => match unit {
                    schedule::RateUnit::Minutes => {
                        return Err(bad_schedule(
                            "You can rotate a secret as often as every four hours; rate() takes hours or days.",
                        ))
                    }
                    schedule::RateUnit::Hours if *value < 4 => {
                        return Err(bad_schedule(
                            "You can rotate a secret as often as every four hours.",
                        ))
                    }
                    schedule::RateUnit::Days if *value > 1000 => {
                        return Err(bad_schedule("A rate in days can be at most 1000 days."))
                    }
                    u => *u == schedule::RateUnit::Hours,
                },
                schedule::Expression::Cron(_) => {
                    // A cron schedule names hours unless its hours field is `*`.
                    cron_fields(text).get(1).is_some_and(|h| *h != "*")
                }
                schedule::Expression::At(_) => {
                    return Err(bad_schedule("at() expressions are not rotation schedules."))
                }
            };
            (e, in_hours)
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(Schedule {
        expression,
        duration_ms,
        in_hours,
    }))
}

fn cron_fields(text: &str) -> Vec<&str> {
    text.trim()
        .strip_prefix("cron(")
        .and_then(|t| t.strip_suffix(')'))
        .map(|t| t.split_whitespace().collect())
        .unwrap_or_default()
}

/// A rotation window: rotation starts when it opens and is done by its last moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    /// The last moment of the window (NextRotationDate).
    pub end_ms: i64,
}

impl Schedule {
    /// The first rotation window that opens after `after_ms`; rate() windows are counted
    /// from midnight UTC of `anchor_ms`'s day (the last rotation, or when rotation was set
    /// up).
    pub fn next_window(&self, after_ms: i64, anchor_ms: i64) -> Option<Window> {
        let start =
            self.expression
                .next_after(after_ms, day_of(anchor_ms), &schedule::Zone::utc())?;
        let end = match self.duration_ms {
            Some(d) => start + d,
            None if self.in_hours => start + HOUR_MS,
            None => day_of(start) + DAY_MS,
        };
        Some(Window {
            start_ms: start,
            end_ms: end - 1000,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_772_323_200_000; // 2026-03-01T00:00:00Z

    fn secret() -> Secret {
        Secret {
            arn: secret_arn("us-east-1", "db", "AbCdEf"),
            name: "db".into(),
            description: None,
            kms_key_id: None,
            tags: vec![],
            created_ms: T0,
            last_changed_ms: T0,
            last_accessed_ms: None,
            deleted_ms: None,
            purge_at_ms: None,
            rotation: None,
            versions: vec![],
        }
    }

    fn sealed() -> Arc<Sealed> {
        Arc::new(Sealed {
            binary: false,
            sealed: "x".into(),
        })
    }

    /// The secret's versions and their labels, as `id:LABEL,LABEL` in version order.
    fn stages(s: &Secret) -> Vec<String> {
        s.versions
            .iter()
            .map(|v| {
                let mut l = v.stages.clone();
                l.sort();
                format!("{}:{}", v.id, l.join(","))
            })
            .collect()
    }

    fn put(s: &mut Secret, id: &str, asked: Option<&[&str]>) {
        let asked: Option<Vec<String>> = asked.map(|a| a.iter().map(|x| x.to_string()).collect());
        put_value(s, id, sealed(), asked.as_deref(), T0).unwrap();
    }

    #[test]
    fn names() {
        let long = "a".repeat(513);
        let cases: &[(&str, Option<&str>)] = &[
            ("shop/api-key", None),
            ("a+b=c.d@e_f-g", None),
            (&long[..512], None),
            ("", Some("ValidationException")),
            (&long, Some("ValidationException")),
            ("has space", Some("InvalidParameterException")),
            ("colon:x", Some("InvalidParameterException")),
            ("ümlaut", Some("InvalidParameterException")),
            ("star*", Some("InvalidParameterException")),
        ];
        for (name, want) in cases {
            let got = check_name(name).err().map(|e| e.status_and_code().1);
            assert_eq!(got, *want, "{name:?}");
        }
    }

    #[test]
    fn values_tokens_and_stages() {
        assert!(check_value("secretString", b"x").is_ok());
        assert!(check_value("secretString", &[b'x'; VALUE_BYTES_MAX]).is_ok());
        let e = check_value("secretString", &[b'x'; VALUE_BYTES_MAX + 1]).unwrap_err();
        assert_eq!(e.status_and_code().1, "ValidationException");
        assert!(!e.to_string().contains("xxx"), "values are never echoed");
        assert!(check_value("secretBinary", b"").is_err());
        assert!(check_token(&"a".repeat(32)).is_ok());
        assert!(check_token(&"a".repeat(64)).is_ok());
        assert!(check_token(&"a".repeat(31)).is_err());
        assert!(check_token(&"a".repeat(65)).is_err());
        assert!(check_stages(&["AWSCURRENT".into()]).is_ok());
        assert!(check_stages(&[]).is_err());
        assert!(check_stages(&vec!["x".to_string(); 21]).is_err());
        assert!(check_stages(&["".into()]).is_err());
    }

    #[test]
    fn secret_ids() {
        let arn = secret_arn("us-east-1", "shop/key", "AbCdEf");
        let cases = [
            ("shop/key", SecretRef::Name("shop/key".into())),
            (
                arn.as_str(),
                SecretRef::Arn {
                    arn: arn.clone(),
                    name: "shop/key-AbCdEf".into(),
                },
            ),
            (
                "arn:aws:secretsmanager:us-east-1:000000000000:secret:shop/key",
                SecretRef::Arn {
                    arn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:shop/key".into(),
                    name: "shop/key".into(),
                },
            ),
            (
                "arn:aws:secretsmanager:eu-west-1:000000000000:secret:shop/key-AbCdEf",
                SecretRef::Elsewhere,
            ),
            (
                "arn:aws:secretsmanager:us-east-1:111111111111:secret:x",
                SecretRef::Elsewhere,
            ),
            (
                "arn:aws:ssm:us-east-1:000000000000:parameter/x",
                SecretRef::Elsewhere,
            ),
        ];
        for (id, want) in cases {
            assert_eq!(secret_ref(id, "us-east-1"), want, "{id}");
        }
        let mut n = 0u64;
        let s = arn_suffix(|| {
            n += 7;
            n
        });
        assert_eq!(s.len(), 6);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn new_values_move_current_and_previous() {
        let mut s = secret();
        put(&mut s, "v1", None);
        assert_eq!(stages(&s), ["v1:AWSCURRENT"]);
        put(&mut s, "v2", None);
        assert_eq!(stages(&s), ["v1:AWSPREVIOUS", "v2:AWSCURRENT"]);
        put(&mut s, "v3", None);
        assert_eq!(stages(&s), ["v1:", "v2:AWSPREVIOUS", "v3:AWSCURRENT"]);
        // A custom label only: AWSCURRENT stays where it is.
        put(&mut s, "v4", Some(&["beta"]));
        assert_eq!(
            stages(&s),
            ["v1:", "v2:AWSPREVIOUS", "v3:AWSCURRENT", "v4:beta"]
        );
        // Labels move off the version that had them.
        put(&mut s, "v5", Some(&["beta", "AWSCURRENT"]));
        assert_eq!(
            stages(&s),
            ["v1:", "v2:", "v3:AWSPREVIOUS", "v4:", "v5:AWSCURRENT,beta"]
        );
    }

    #[test]
    fn the_first_value_is_always_current() {
        let mut s = secret();
        put(&mut s, "v1", Some(&["AWSPENDING"]));
        assert_eq!(stages(&s), ["v1:AWSCURRENT,AWSPENDING"]);
    }

    #[test]
    fn a_rotation_fills_its_pending_version() {
        let mut s = secret();
        put(&mut s, "v1", None);
        add_pending(&mut s, "r1", T0);
        assert_eq!(stages(&s), ["v1:AWSCURRENT", "r1:AWSPENDING"]);
        assert_eq!(s.unfinished_rotation().map(|v| v.id.as_str()), Some("r1"));
        // createSecret: the function puts the new value into the pending version.
        put(&mut s, "r1", Some(&["AWSPENDING"]));
        assert!(s.version("r1").unwrap().value.is_some());
        assert_eq!(s.versions.len(), 2);
        // finishSecret: AWSCURRENT moves, AWSPREVIOUS follows.
        update_stage(&mut s, AWSCURRENT, Some("r1"), Some("v1")).unwrap();
        assert_eq!(stages(&s), ["v1:AWSPREVIOUS", "r1:AWSCURRENT,AWSPENDING"]);
        assert!(s.unfinished_rotation().is_none());
    }

    #[test]
    fn stage_moves() {
        // (stage, move_to, remove_from, expected stages or error code)
        type Case = (
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            std::result::Result<&'static [&'static str], &'static str>,
        );
        let cases: &[Case] = &[
            (
                "AWSCURRENT",
                Some("v1"),
                Some("v3"),
                Ok(&["v1:AWSCURRENT", "v2:beta", "v3:AWSPREVIOUS"]),
            ),
            (
                "AWSCURRENT",
                Some("v2"),
                Some("v3"),
                Ok(&["v1:", "v2:AWSCURRENT,beta", "v3:AWSPREVIOUS"]),
            ),
            (
                "AWSCURRENT",
                Some("v3"),
                None,
                Ok(&["v1:AWSPREVIOUS", "v2:beta", "v3:AWSCURRENT"]),
            ),
            (
                "AWSCURRENT",
                Some("v1"),
                None,
                Err("InvalidParameterException"),
            ),
            (
                "AWSCURRENT",
                Some("v1"),
                Some("v2"),
                Err("InvalidParameterException"),
            ),
            (
                "AWSCURRENT",
                None,
                Some("v3"),
                Err("InvalidParameterException"),
            ),
            (
                "AWSCURRENT",
                Some("nope"),
                Some("v3"),
                Err("ResourceNotFoundException"),
            ),
            ("AWSCURRENT", None, None, Err("InvalidParameterException")),
            (
                "beta",
                None,
                Some("v2"),
                Ok(&["v1:AWSPREVIOUS", "v2:", "v3:AWSCURRENT"]),
            ),
            ("beta", None, Some("v1"), Err("InvalidParameterException")),
            (
                "beta",
                Some("v3"),
                Some("v2"),
                Ok(&["v1:AWSPREVIOUS", "v2:", "v3:AWSCURRENT,beta"]),
            ),
            ("beta", Some("v3"), None, Err("InvalidParameterException")),
            (
                "gamma",
                Some("v1"),
                None,
                Ok(&["v1:AWSPREVIOUS,gamma", "v2:beta", "v3:AWSCURRENT"]),
            ),
            (
                "AWSPREVIOUS",
                Some("v2"),
                Some("v1"),
                Ok(&["v1:", "v2:AWSPREVIOUS,beta", "v3:AWSCURRENT"]),
            ),
        ];
        for (stage, to, from, want) in cases {
            let mut s = secret();
            put(&mut s, "v1", None);
            put(&mut s, "v2", Some(&["beta"]));
            put(&mut s, "v3", None);
            assert_eq!(stages(&s), ["v1:AWSPREVIOUS", "v2:beta", "v3:AWSCURRENT"]);
            let got = update_stage(&mut s, stage, *to, *from)
                .map(|_| stages(&s))
                .map_err(|e| e.status_and_code().1);
            match want {
                Ok(w) => match got {
                    Ok(g) => assert_eq!(g, *w, "{stage} {to:?} {from:?}"),
                    Err(e) => panic!("{stage} {to:?} {from:?}: {e}"),
                },
                Err(code) => assert_eq!(got.err(), Some(*code), "{stage} {to:?} {from:?}"),
            }
        }
    }

    #[test]
    fn labels_per_version_are_limited() {
        let mut s = secret();
        put(&mut s, "v1", None);
        for i in 0..19 {
            update_stage(&mut s, &format!("l{i}"), Some("v1"), None).unwrap();
        }
        let e = update_stage(&mut s, "l19", Some("v1"), None).unwrap_err();
        assert_eq!(e.status_and_code().1, "LimitExceededException");
    }

    #[test]
    fn deprecated_versions_make_room_after_a_day() {
        let mut s = secret();
        for i in 0..VERSIONS_MAX {
            put_value(&mut s, &format!("v{i}"), sealed(), None, T0 + i as i64).unwrap();
        }
        // Full, and the deprecated versions are young: no room.
        let e = make_room(&mut s.clone(), T0 + 1000).unwrap_err();
        assert_eq!(e.status_and_code().1, "LimitExceededException");
        // A day later the oldest deprecated version goes, and only that one.
        let later = T0 + DAY_MS;
        let removed = make_room(&mut s, later).unwrap();
        assert_eq!(removed, ["v0"]);
        assert_eq!(s.versions.len(), VERSIONS_MAX - 1);
        // Labelled versions are never removed.
        let mut all_labelled = secret();
        for i in 0..VERSIONS_MAX {
            put_value(
                &mut all_labelled,
                &format!("v{i}"),
                sealed(),
                Some(&[format!("l{i}")]),
                T0,
            )
            .unwrap();
        }
        assert!(make_room(&mut all_labelled, T0 + 10 * DAY_MS).is_err());
        // Below the limit nothing is removed.
        let mut small = secret();
        put(&mut small, "a", None);
        put(&mut small, "b", None);
        put(&mut small, "c", None);
        assert!(make_room(&mut small, T0 + 10 * DAY_MS).unwrap().is_empty());
        assert_eq!(small.versions.len(), 3);
    }

    #[test]
    fn word_splitting() {
        let cases: &[(&str, &[&str])] = &[
            ("credsDatabase#892", &["creds", "Database", "892"]),
            ("shop/api-key", &["shop", "api", "key"]),
            ("prod_DB2", &["prod", "DB", "2"]),
            ("HTTPServer", &["HTTPServer"]),
            ("", &[]),
            ("--", &[]),
        ];
        for (s, want) in cases {
            assert_eq!(words(s), *want, "{s}");
        }
    }

    #[test]
    fn filters() {
        let mut s = secret();
        s.name = "prod/Database-main".into();
        s.description = Some("Primary credentials for billing".into());
        s.tags = vec![Tag {
            key: "team".into(),
            value: "Payments".into(),
        }];
        let f = |key: &str, values: &[&str]| Filter {
            key: FilterKey::parse(key).unwrap(),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        let cases = [
            (f("name", &["prod/"]), true),
            (f("name", &["Prod/"]), false),      // case-sensitive
            (f("name", &["Database"]), false),   // a prefix, not a word
            (f("name", &["dev", "prod"]), true), // values are alternatives
            (f("name", &["!prod"]), false),
            (f("name", &["!dev"]), true),
            (f("name", &["prod", "!prod/Data"]), false),
            (f("description", &["primary"]), true), // not case-sensitive
            (f("description", &["billing"]), true), // any word
            (f("description", &["payments"]), false),
            (f("tag-key", &["te"]), true),
            (f("tag-key", &["Te"]), false),
            (f("tag-value", &["Pay"]), true),
            (f("tag-value", &["!Pay"]), false),
            (f("all", &["payments"]), true),
            (f("all", &["database MAIN"]), true),
            (f("all", &["database staging"]), false),
            (f("all", &["cred"]), true),
            (f("all", &["!billing"]), false),
            (f("primary-region", &["us-east-1"]), false),
            (f("owning-service", &["!rds"]), true),
        ];
        for (filter, want) in cases {
            assert_eq!(filter_matches(&s, &filter), want, "{filter:?}");
        }
        assert!(matches(
            &s,
            &[f("name", &["prod"]), f("tag-key", &["team"])]
        ));
        assert!(!matches(
            &s,
            &[f("name", &["prod"]), f("tag-key", &["owner"])]
        ));
        assert!(matches(&s, &[]));
        let mut bare = secret();
        bare.name = "x".into();
        assert!(!filter_matches(&bare, &f("description", &["a"])));
        assert!(filter_matches(&bare, &f("description", &["!a"])));
        assert!(filter_value_ok("!prod/db_1 @x+=.-"));
        assert!(!filter_value_ok("a*b"));
    }

    #[test]
    fn rotation_windows() {
        let rules = |days: Option<i64>, expr: Option<&str>, dur: Option<&str>| RotationRules {
            automatically_after_days: days,
            schedule_expression: expr.map(String::from),
            duration: dur.map(String::from),
        };
        // 2026-03-01T10:00:00Z
        let now = T0 + 10 * HOUR_MS;
        let cases: &[(RotationRules, Option<i64>)] = &[
            // Every 30 days from the day rotation was set up, until the end of that day.
            (rules(Some(30), None, None), Some(T0 + 31 * DAY_MS - 1000)),
            (
                rules(None, Some("rate(10 days)"), None),
                Some(T0 + 11 * DAY_MS - 1000),
            ),
            (
                rules(None, Some("rate(10 days)"), Some("3h")),
                Some(T0 + 10 * DAY_MS + 3 * HOUR_MS - 1000),
            ),
            // Every 4 hours from midnight: 12:00, a one-hour window.
            (
                rules(None, Some("rate(4 hours)"), None),
                Some(T0 + 13 * HOUR_MS - 1000),
            ),
            // The 1st and 15th at 16:00: today's 16:00 window.
            (
                rules(None, Some("cron(0 16 1,15 * ? *)"), None),
                Some(T0 + 17 * HOUR_MS - 1000),
            ),
            (
                rules(None, Some("cron(0 16 1,15 * ? *)"), Some("2h")),
                Some(T0 + 18 * HOUR_MS - 1000),
            ),
        ];
        for (r, want) in cases {
            let s = parse_rules(r).unwrap().unwrap();
            let w = s.next_window(now, now);
            assert_eq!(w.map(|w| w.end_ms), *want, "{r:?}");
            assert!(
                w.is_some_and(|w| w.start_ms > now && w.start_ms < w.end_ms),
                "{r:?}"
            );
        }
        assert!(parse_rules(&rules(None, None, None)).unwrap().is_none());
        for bad in [
            rules(Some(0), None, None),
            rules(Some(1001), None, None),
            rules(Some(5), Some("rate(5 days)"), None),
            rules(None, Some("rate(1 hour)"), None),
            rules(None, Some("rate(30 minutes)"), None),
            rules(None, Some("at(2030-01-01T00:00:00)"), None),
            rules(None, Some("every day"), None),
            rules(None, Some("rate(1 day)"), Some("25h")),
            rules(None, Some("rate(1 day)"), Some("3 hours")),
        ] {
            assert!(parse_rules(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn days_are_midnights() {
        assert_eq!(day_of(T0 + 5 * HOUR_MS + 7), T0);
        assert_eq!(day_of(T0), T0);
        assert_eq!(day_of(T0 - 1), T0 - DAY_MS);
    }
}
