//! Parameter Store's rules, as pure functions: names, paths and selectors, values and
//! tiers, labels, tags, key ids, data types, policies, search filters and page tokens.
//! Nothing here does IO or knows the wire; `api` calls these and turns the results into
//! replies.

use crate::error::{Result, SsmError};
use serde_json::Value;
use std::collections::BTreeMap;

/// The ARN and the name together may be this long (AWS counts the ARN's prefix too).
pub const NAME_WITH_ARN_LEN_MAX: usize = 1011;
/// What the API model allows before the count above applies.
pub const NAME_LEN_MAX: usize = 2048;
/// Levels of a hierarchical name.
pub const HIERARCHY_LEVELS_MAX: usize = 15;
/// Value sizes per tier.
pub const STANDARD_VALUE_BYTES_MAX: usize = 4096;
pub const ADVANCED_VALUE_BYTES_MAX: usize = 8192;
/// Versions a parameter keeps; the oldest goes when a new one comes.
pub const VERSIONS_MAX: usize = 100;
pub const LABELS_PER_VERSION_MAX: usize = 10;
pub const LABEL_LEN_MAX: usize = 100;
/// Labels or names one call may carry.
pub const NAMES_PER_CALL_MAX: usize = 10;
pub const TAGS_PER_RESOURCE_MAX: usize = 50;
pub const TAGS_PER_CALL_MAX: usize = 1000;
pub const DESCRIPTION_LEN_MAX: usize = 1024;
pub const ALLOWED_PATTERN_LEN_MAX: usize = 1024;
pub const KEY_ID_LEN_MAX: usize = 256;
pub const DATA_TYPE_LEN_MAX: usize = 128;
pub const POLICIES_MAX: usize = 10;
pub const POLICIES_TEXT_LEN_MAX: usize = 4096;
/// Parameters per region and tier (AWS's quotas).
pub const STANDARD_PARAMETERS_MAX: usize = 10_000;
pub const ADVANCED_PARAMETERS_MAX: usize = 100_000;
/// The key SecureString values name when the caller gives none.
pub const DEFAULT_KEY_ID: &str = "alias/aws/ssm";
pub const DEFAULT_DATA_TYPE: &str = "text";
/// Filters: values per filter and length of a value.
pub const FILTER_VALUES_MAX: usize = 50;
pub const FILTER_VALUE_LEN_MAX: usize = 1024;

const NAME_RULES: &str = "Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_";
const RESERVED_PREFIX: &str =
    "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).";
const PATH_RULES: &str = "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.";
const HIERARCHY_LIMIT: &str = "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and constraints for parameter names in the Amazon Web Services Systems Manager User Guide.";

/// The three kinds of parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    StringList,
    SecureString,
}

impl ParamType {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "String" => Ok(Self::String),
            "StringList" => Ok(Self::StringList),
            "SecureString" => Ok(Self::SecureString),
            _ => Err(SsmError::constraint(
                s,
                "type",
                "Member must satisfy enum value set: [SecureString, StringList, String]",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "String",
            Self::StringList => "StringList",
            Self::SecureString => "SecureString",
        }
    }
}

/// The tier a version is stored in (`Intelligent-Tiering` is a request, not a tier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Standard,
    Advanced,
}

impl Tier {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Standard" => Some(Self::Standard),
            "Advanced" => Some(Self::Advanced),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "Standard",
            Self::Advanced => "Advanced",
        }
    }

    fn value_bytes_max(self) -> usize {
        match self {
            Self::Standard => STANDARD_VALUE_BYTES_MAX,
            Self::Advanced => ADVANCED_VALUE_BYTES_MAX,
        }
    }
}

/// The key a parameter is found by: AWS treats `/name` and `name` as one parameter, so
/// every name is kept in its hierarchical form, which also sorts a path's members
/// together.
pub fn canonical(name: &str) -> String {
    format!("/{}", name.trim_start_matches('/'))
}

/// The parameter's ARN: the name follows `parameter/` without its leading slash.
pub fn arn(region: &str, name: &str) -> String {
    format!(
        "arn:aws:ssm:{region}:{}:parameter/{}",
        wire::ACCOUNT_ID,
        name.trim_start_matches('/')
    )
}

fn name_char_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

/// Whether `name` is well formed: allowed characters, and slashes only as separators of a
/// path that starts with one.
fn well_formed(name: &str) -> bool {
    if name.is_empty() || !name.chars().all(name_char_ok) {
        return false;
    }
    if name.contains('/') {
        let Some(rest) = name.strip_prefix('/') else {
            return false;
        };
        return !rest.is_empty() && rest.split('/').all(|s| !s.is_empty());
    }
    true
}

/// Levels of a well-formed name (`/a/b` has two, `a` one).
fn levels(name: &str) -> usize {
    name.trim_start_matches('/').split('/').count()
}

/// Checks the name of a parameter being created (already trimmed of outer spaces).
pub fn check_new_name(name: &str, region: &str) -> Result<()> {
    if name.is_empty() {
        return Err(SsmError::constraint(
            name,
            "name",
            "Member must have length greater than or equal to 1",
        ));
    }
    if name.len() > NAME_LEN_MAX {
        return Err(SsmError::constraint(
            name,
            "name",
            "Member must have length less than or equal to 2048",
        ));
    }
    if !well_formed(name) {
        return Err(SsmError::Validation(NAME_RULES.into()));
    }
    let is_path = name.starts_with('/');
    let first = name
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if first.starts_with("aws") || first.starts_with("ssm") {
        if is_path && first == "aws" && levels(name) > 1 {
            return Err(SsmError::AccessDenied(format!(
                "No access to reserved parameter name: {name}."
            )));
        }
        return Err(SsmError::Validation(if is_path {
            NAME_RULES.into()
        } else {
            RESERVED_PREFIX.into()
        }));
    }
    if levels(name) > HIERARCHY_LEVELS_MAX {
        return Err(SsmError::HierarchyLevelLimitExceeded(
            HIERARCHY_LIMIT.into(),
        ));
    }
    if arn(region, name).len() > NAME_WITH_ARN_LEN_MAX {
        return Err(SsmError::Validation(format!(
            "Parameter name: must be at most {NAME_WITH_ARN_LEN_MAX} characters long, counting the ARN prefix arn:aws:ssm:{region}:{}:parameter/.",
            wire::ACCOUNT_ID
        )));
    }
    Ok(())
}

/// Which version of a parameter a name asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Version(u64),
    Label(String),
}

impl Selector {
    /// The `Selector` member of a reply (AWS includes the colon).
    pub fn text(&self) -> String {
        match self {
            Self::Version(v) => format!(":{v}"),
            Self::Label(l) => format!(":{l}"),
        }
    }
}

/// A reference to a parameter: its canonical key, the name as given (without ARN or
/// selector) and the selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub key: String,
    pub name: String,
    pub selector: Option<Selector>,
}

/// Parses a name, `name:version`, `name:label` or a parameter ARN (optionally with a
/// selector). `Ok(None)`: the ARN names another account or region, which hold nothing here.
pub fn parse_ref(input: &str, region: &str) -> Result<Option<Ref>> {
    let input = input.trim();
    if input.is_empty() {
        return Err(SsmError::constraint(
            input,
            "name",
            "Member must have length greater than or equal to 1",
        ));
    }
    if input.len() > NAME_LEN_MAX {
        return Err(SsmError::constraint(
            input,
            "name",
            "Member must have length less than or equal to 2048",
        ));
    }
    let (mut absent, body) = match input.strip_prefix("arn:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [partition, "ssm", r, account, resource] = parts[..] else {
                return Err(SsmError::Validation(NAME_RULES.into()));
            };
            let Some(res) = resource.strip_prefix("parameter/") else {
                return Err(SsmError::Validation(NAME_RULES.into()));
            };
            // Another account's or region's parameter: none exist here.
            let foreign =
                !partition.starts_with("aws") || r != region || account != wire::ACCOUNT_ID;
            // A hierarchical name keeps its leading slash; a plain one has none.
            let (name_part, sel) = match res.split_once(':') {
                Some((n, s)) => (n, Some(s)),
                None => (res, None),
            };
            let name = if name_part.contains('/') {
                format!("/{name_part}")
            } else {
                name_part.to_string()
            };
            (foreign, (name, sel.map(str::to_string)))
        }
        None => match input.split_once(':') {
            Some((n, s)) => (false, (n.to_string(), Some(s.to_string()))),
            None => (false, (input.to_string(), None)),
        },
    };
    let (name, sel) = body;
    if !well_formed(&name) {
        return Err(SsmError::Validation(NAME_RULES.into()));
    }
    let selector = match sel {
        None => None,
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => match s.parse() {
            Ok(v) => Some(Selector::Version(v)),
            Err(_) => {
                absent = true; // no parameter has that many versions
                None
            }
        },
        Some(s) if !s.is_empty() && !s.contains(':') => Some(Selector::Label(s)),
        Some(_) => return Err(SsmError::Validation(NAME_RULES.into())),
    };
    if absent {
        return Ok(None);
    }
    Ok(Some(Ref {
        key: canonical(&name),
        name,
        selector,
    }))
}

/// Checks a `GetParametersByPath` path and returns it in the form members are found by:
/// `/` or `/a/b` (a trailing slash dropped).
pub fn check_path(path: &str) -> Result<String> {
    let path = path.trim();
    if path.is_empty() {
        return Err(SsmError::constraint(
            path,
            "path",
            "Member must have length greater than or equal to 1",
        ));
    }
    if path.len() > NAME_LEN_MAX {
        return Err(SsmError::constraint(
            path,
            "path",
            "Member must have length less than or equal to 2048",
        ));
    }
    if path == "/" {
        return Ok(path.to_string());
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    if !trimmed.starts_with('/') || !well_formed(trimmed) {
        return Err(SsmError::Validation(PATH_RULES.into()));
    }
    if levels(trimmed) > HIERARCHY_LEVELS_MAX {
        return Err(SsmError::HierarchyLevelLimitExceeded(
            HIERARCHY_LIMIT.into(),
        ));
    }
    Ok(trimmed.to_string())
}

/// The path a canonical key lives in: `/a/b/c` in `/a/b`, `/a` in `/`.
pub fn parent_path(key: &str) -> &str {
    match key.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &key[..i],
    }
}

/// Whether `key` is in `path`: directly, or anywhere below it when `recursive`.
pub fn in_path(key: &str, path: &str, recursive: bool) -> bool {
    if recursive {
        path == "/" || key.strip_prefix(path).is_some_and(|r| r.starts_with('/'))
    } else {
        parent_path(key) == path
    }
}

/// Checks a value against the rules every type shares (the tier's size is checked later).
pub fn check_value(value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(SsmError::sensitive_constraint(
            "value",
            "Member must have length greater than or equal to 1",
        ));
    }
    if let Some(open) = value.find("{{") {
        if value[open + 2..].contains("}}") {
            return Err(SsmError::Validation(
                "Parameter value can't nest another parameter. Do not use \"{{}}\" in the value."
                    .into(),
            ));
        }
    }
    Ok(())
}

/// What the caller asked for in `Tier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierRequest {
    Default,
    Standard,
    Advanced,
    Intelligent,
}

impl TierRequest {
    pub fn parse(s: Option<&str>) -> Result<Self> {
        match s {
            None => Ok(Self::Default),
            Some("Standard") => Ok(Self::Standard),
            Some("Advanced") => Ok(Self::Advanced),
            Some("Intelligent-Tiering") => Ok(Self::Intelligent),
            Some(other) => Err(SsmError::constraint(
                other,
                "tier",
                "Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]",
            )),
        }
    }
}

/// The tier a new version goes in. `existing` is the current version's tier;
/// `standard_full` says the region has no room for another standard parameter.
pub fn choose_tier(
    request: TierRequest,
    existing: Option<Tier>,
    value_bytes: usize,
    has_policies: bool,
    standard_full: bool,
) -> Result<Tier> {
    let needs_advanced = value_bytes > STANDARD_VALUE_BYTES_MAX || has_policies;
    let tier = match request {
        TierRequest::Default => existing.unwrap_or(Tier::Standard),
        TierRequest::Standard => Tier::Standard,
        TierRequest::Advanced => Tier::Advanced,
        TierRequest::Intelligent => {
            if existing == Some(Tier::Advanced)
                || needs_advanced
                || (existing.is_none() && standard_full)
            {
                Tier::Advanced
            } else {
                Tier::Standard
            }
        }
    };
    if tier == Tier::Standard && existing == Some(Tier::Advanced) {
        return Err(SsmError::Validation(
            "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.".into(),
        ));
    }
    if tier == Tier::Standard && has_policies {
        return Err(SsmError::Validation(
            "Standard tier parameters don't support parameter policies. To use parameter policies, use the advanced-parameter tier.".into(),
        ));
    }
    if value_bytes > tier.value_bytes_max() {
        return Err(SsmError::Validation(match tier {
            Tier::Standard => format!(
                "Standard tier parameters support a maximum parameter value of {STANDARD_VALUE_BYTES_MAX} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
            ),
            Tier::Advanced => format!(
                "Advanced tier parameters support a maximum parameter value of {ADVANCED_VALUE_BYTES_MAX} characters."
            ),
        }));
    }
    Ok(tier)
}

/// Checks a `KeyId`: a key id, a multi-Region key id, a key or alias ARN, or `alias/...`.
pub fn check_key_id(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > KEY_ID_LEN_MAX {
        return Err(SsmError::constraint(
            key,
            "keyId",
            "Member must have length between 1 and 256",
        ));
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '_' | '-'))
    {
        return Err(SsmError::constraint(
            key,
            "keyId",
            "Member must satisfy regular expression pattern: ^([a-zA-Z0-9:/_-]+)$",
        ));
    }
    let alias_ok = |a: &str| {
        a.strip_prefix("alias/")
            .is_some_and(|n| !n.is_empty() && !n.ends_with('/'))
    };
    let id_ok = |id: &str| uuid_like(id) || mrk_like(id);
    let ok = if let Some(rest) = key.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        matches!(parts[..], [p, "kms", r, account, res]
            if p.starts_with("aws") && !r.is_empty()
                && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
                && (res.strip_prefix("key/").is_some_and(id_ok) || alias_ok(res)))
    } else {
        alias_ok(key) || id_ok(key)
    };
    if ok {
        Ok(())
    } else {
        Err(SsmError::InvalidKeyId(format!(
            "Invalid KeyId {key}: give a key id, a key ARN, an alias name (alias/...) or an alias ARN."
        )))
    }
}

fn uuid_like(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn mrk_like(s: &str) -> bool {
    s.strip_prefix("mrk-")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Checks a `DataType` against the parameter's type and value.
pub fn check_data_type(data_type: &str, ty: ParamType, value: &str) -> Result<()> {
    if data_type.len() > DATA_TYPE_LEN_MAX {
        return Err(SsmError::constraint(
            data_type,
            "dataType",
            "Member must have length less than or equal to 128",
        ));
    }
    match data_type {
        "text" | "aws:ssm:integration" => Ok(()),
        "aws:ec2:image" => {
            if ty != ParamType::String {
                return Err(SsmError::UnsupportedParameterType(format!(
                    "The data type aws:ec2:image is supported for String parameters only, not {}.",
                    ty.as_str()
                )));
            }
            let id_ok = value.strip_prefix("ami-").is_some_and(|h| {
                (8..=17).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_alphanumeric())
            });
            if !id_ok {
                return Err(SsmError::Validation(
                    "Parameter value must be a valid AMI ID in the format ami-12345abcdeEXAMPLE."
                        .into(),
                ));
            }
            Ok(())
        }
        other => Err(SsmError::Validation(format!(
            "The following data type is not supported: {other} (Data type names are all lowercase.)"
        ))),
    }
}

/// Checks a label. `Ok(false)`: a label AWS lists in `InvalidLabels` rather than failing
/// the call for.
pub fn label_ok(label: &str) -> Result<bool> {
    let n = label.chars().count();
    if n == 0 || n > LABEL_LEN_MAX {
        return Err(SsmError::constraint(
            label,
            "labels",
            "Member must satisfy constraint: [Member must have length less than or equal to 100, Member must have length greater than or equal to 1]",
        ));
    }
    let lower = label.to_ascii_lowercase();
    Ok(label
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !label.starts_with(|c: char| c.is_ascii_digit())
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm"))
}

fn tag_char_ok(c: char) -> bool {
    // `[\p{L}\p{Z}\p{N}_.:/=+\-@]`: letters, separators, numbers and a few symbols.
    c.is_alphanumeric()
        || (c.is_whitespace() && !c.is_control())
        || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

/// A `Tags` list as (key, value) pairs, each checked as AWS's model does.
pub fn parse_tags(tags: &Value) -> Result<Vec<(String, String)>> {
    let Some(list) = tags.as_array() else {
        return Err(SsmError::Serialization(
            "Tags must be a list of {Key, Value} objects.".into(),
        ));
    };
    if list.len() > TAGS_PER_CALL_MAX {
        return Err(SsmError::constraint(
            "[...]",
            "tags",
            "Member must have length less than or equal to 1000",
        ));
    }
    let pattern =
        "Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$";
    let mut out = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let field = |m: &str| format!("tags.{}.member.{m}", i + 1);
        let key = t
            .get("Key")
            .and_then(Value::as_str)
            .ok_or_else(|| SsmError::missing(&field("key")))?;
        let value = t
            .get("Value")
            .and_then(Value::as_str)
            .ok_or_else(|| SsmError::missing(&field("value")))?;
        let klen = key.chars().count();
        if klen == 0 || klen > 128 {
            return Err(SsmError::constraint(
                key,
                &field("key"),
                "Member must have length between 1 and 128",
            ));
        }
        if !key.chars().all(tag_char_ok) {
            return Err(SsmError::constraint(key, &field("key"), pattern));
        }
        if value.chars().count() > 256 {
            return Err(SsmError::constraint(
                value,
                &field("value"),
                "Member must have length less than or equal to 256",
            ));
        }
        if !value.chars().all(tag_char_ok) {
            return Err(SsmError::constraint(value, &field("value"), pattern));
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

/// Tags added to a resource's, checked against the per-resource limit.
pub fn merged_tags(
    current: &BTreeMap<String, String>,
    add: &[(String, String)],
) -> Result<BTreeMap<String, String>> {
    let mut tags = current.clone();
    for (k, v) in add {
        tags.insert(k.clone(), v.clone());
    }
    if tags.len() > TAGS_PER_RESOURCE_MAX {
        return Err(SsmError::TooManyTags(format!(
            "A resource can have at most {TAGS_PER_RESOURCE_MAX} tags. Remove one or more tags and try again."
        )));
    }
    Ok(tags)
}

/// One parameter policy: its JSON text and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub text: String,
    pub kind: String,
}

/// Parses `Policies`, a JSON list of `{Type, Version, Attributes}`. An empty list clears a
/// parameter's policies.
pub fn parse_policies(text: &str) -> Result<Vec<Policy>> {
    if text.is_empty() || text.len() > POLICIES_TEXT_LEN_MAX {
        return Err(SsmError::constraint(
            "<policies>",
            "policies",
            "Member must have length between 1 and 4096",
        ));
    }
    let bad = |why: &str| SsmError::InvalidPolicyAttribute(format!("Invalid policies: {why}"));
    let parsed: Value = serde_json::from_str(text).map_err(|_| bad("not valid JSON"))?;
    let items = match parsed {
        Value::Array(a) => a,
        v @ Value::Object(_) => vec![v],
        _ => return Err(bad("expected a JSON list of policies")),
    };
    if items.len() > POLICIES_MAX {
        return Err(SsmError::PoliciesLimitExceeded(format!(
            "You specified more than the maximum number of allowed policies for the parameter. The maximum is {POLICIES_MAX}."
        )));
    }
    let mut out: Vec<Policy> = Vec::with_capacity(items.len());
    for item in &items {
        let kind = item.get("Type").and_then(Value::as_str).unwrap_or_default();
        if !matches!(
            kind,
            "Expiration" | "ExpirationNotification" | "NoChangeNotification"
        ) {
            return Err(SsmError::InvalidPolicyType(format!(
                "The policy type {kind:?} isn't supported. Parameter Store supports the following policy types: Expiration, ExpirationNotification, and NoChangeNotification."
            )));
        }
        if item.get("Version").and_then(Value::as_str) != Some("1.0") {
            return Err(bad("Version must be \"1.0\""));
        }
        let attrs = item
            .get("Attributes")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("Attributes must be an object"))?;
        let attr = |k: &str| attrs.get(k).and_then(Value::as_str);
        match kind {
            "Expiration" => {
                if attr("Timestamp").is_none_or(str::is_empty) {
                    return Err(bad("an Expiration policy needs a Timestamp"));
                }
            }
            _ => {
                let amount = if kind == "ExpirationNotification" {
                    "Before"
                } else {
                    "After"
                };
                if !attr(amount)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Err(bad(&format!("a {kind} policy needs {amount} as a number")));
                }
                if !matches!(attr("Unit"), Some("Days" | "Hours")) {
                    return Err(bad("Unit must be Days or Hours"));
                }
            }
        }
        if out.iter().any(|p| p.kind == kind) {
            return Err(SsmError::IncompatiblePolicy(format!(
                "There is a conflict in the policies specified for this parameter: more than one {kind} policy."
            )));
        }
        out.push(Policy {
            text: item.to_string(),
            kind: kind.to_string(),
        });
    }
    Ok(out)
}

/// What a filter compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterKey {
    Name,
    Type,
    KeyId,
    Path,
    Label,
    Tier,
    DataType,
    Tag(String),
}

impl FilterKey {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Name" => Self::Name,
            "Type" => Self::Type,
            "KeyId" => Self::KeyId,
            "Path" => Self::Path,
            "Label" => Self::Label,
            "Tier" => Self::Tier,
            "DataType" => Self::DataType,
            t => Self::Tag(
                t.strip_prefix("tag:")
                    .filter(|k| !k.is_empty())?
                    .to_string(),
            ),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOption {
    Equals,
    BeginsWith,
    Contains,
    Recursive,
    OneLevel,
}

/// One search filter, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub key: FilterKey,
    pub option: FilterOption,
    pub values: Vec<String>,
}

/// The operation a filter list belongs to; each accepts other keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterUse {
    Describe,
    ByPath,
}

/// What filters look at: a parameter and the version being considered.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub ty: ParamType,
    pub key_id: Option<&'a str>,
    pub tier: Tier,
    pub data_type: &'a str,
    pub labels: &'a [String],
    pub tags: &'a BTreeMap<String, String>,
}

impl Filter {
    pub fn matches(&self, s: &Subject<'_>) -> bool {
        let compare = |have: &str| {
            self.values.iter().any(|v| match self.option {
                FilterOption::BeginsWith => have.starts_with(v.as_str()),
                FilterOption::Contains => have.contains(v.as_str()),
                _ => have == v,
            })
        };
        match &self.key {
            FilterKey::Name => match self.option {
                FilterOption::Contains => compare(s.name),
                FilterOption::BeginsWith => self
                    .values
                    .iter()
                    .any(|v| s.key.starts_with(canonical(v).as_str())),
                _ => self.values.iter().any(|v| canonical(v) == s.key),
            },
            FilterKey::Path => {
                let recursive = self.option == FilterOption::Recursive;
                self.values.iter().any(|v| {
                    let path = if v == "/" {
                        "/"
                    } else {
                        v.strip_suffix('/').unwrap_or(v)
                    };
                    in_path(s.key, path, recursive)
                })
            }
            FilterKey::Type => compare(s.ty.as_str()),
            FilterKey::KeyId => s.key_id.is_some_and(compare),
            FilterKey::Tier => compare(s.tier.as_str()),
            FilterKey::DataType => compare(s.data_type),
            FilterKey::Label => s.labels.iter().any(|l| self.values.contains(l)),
            FilterKey::Tag(k) => match s.tags.get(k) {
                None => false,
                Some(_) if self.values.is_empty() => true,
                Some(v) => compare(v),
            },
        }
    }
}

fn key_text(key: &FilterKey) -> String {
    match key {
        FilterKey::Name => "Name".into(),
        FilterKey::Type => "Type".into(),
        FilterKey::KeyId => "KeyId".into(),
        FilterKey::Path => "Path".into(),
        FilterKey::Label => "Label".into(),
        FilterKey::Tier => "Tier".into(),
        FilterKey::DataType => "DataType".into(),
        FilterKey::Tag(k) => format!("tag:{k}"),
    }
}

/// Parses and checks `ParameterFilters` for `usage`.
pub fn parse_filters(raw: &Value, usage: FilterUse) -> Result<Vec<Filter>> {
    let list = match raw {
        Value::Null => return Ok(vec![]),
        Value::Array(a) => a,
        _ => {
            return Err(SsmError::Serialization(
                "ParameterFilters must be a list.".into(),
            ))
        }
    };
    let mut out: Vec<Filter> = Vec::with_capacity(list.len());
    for (i, f) in list.iter().enumerate() {
        let field = |m: &str| format!("parameterFilters.{}.member.{m}", i + 1);
        let key_text_in = f
            .get("Key")
            .and_then(Value::as_str)
            .ok_or_else(|| SsmError::missing(&field("key")))?;
        if key_text_in.is_empty() || key_text_in.len() > 132 {
            return Err(SsmError::constraint(
                key_text_in,
                &field("key"),
                "Member must have length between 1 and 132",
            ));
        }
        let key = FilterKey::parse(key_text_in).ok_or_else(|| {
            SsmError::constraint(
                key_text_in,
                &field("key"),
                "Member must satisfy regular expression pattern: tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType",
            )
        })?;
        let option_in = f.get("Option").and_then(Value::as_str);
        if let Some(o) = option_in {
            if o.is_empty() || o.len() > 10 {
                return Err(SsmError::constraint(
                    o,
                    &field("option"),
                    "Member must have length between 1 and 10",
                ));
            }
        }
        let values: Vec<String> = match f.get("Values") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| SsmError::Serialization("Filter values must be strings.".into()))?,
            Some(_) => {
                return Err(SsmError::Serialization(
                    "Filter values must be a list.".into(),
                ))
            }
        };
        if f.get("Values").is_some_and(|v| !v.is_null())
            && (values.is_empty() || values.len() > FILTER_VALUES_MAX)
        {
            return Err(SsmError::constraint(
                &format!("{values:?}"),
                &field("values"),
                "Member must have length between 1 and 50",
            ));
        }
        if let Some(v) = values
            .iter()
            .find(|v| v.is_empty() || v.chars().count() > FILTER_VALUE_LEN_MAX)
        {
            return Err(SsmError::constraint(
                v,
                &field("values"),
                "Member must have length between 1 and 1024",
            ));
        }
        let shown = key_text(&key);
        let allowed = match usage {
            FilterUse::Describe => !matches!(key, FilterKey::Label),
            FilterUse::ByPath => {
                matches!(key, FilterKey::Type | FilterKey::KeyId | FilterKey::Label)
            }
        };
        if !allowed {
            let valid = match usage {
                FilterUse::Describe => "[Path, Name, Type, KeyId, Tier, DataType, tag:<key>]",
                FilterUse::ByPath => "[Type, KeyId, Label]",
            };
            return Err(SsmError::InvalidFilterKey(format!(
                "The following filter key is not valid: {shown}. Valid filter keys include: {valid}."
            )));
        }
        if out.iter().any(|o| o.key == key) {
            return Err(SsmError::InvalidFilterKey(format!(
                "The following filter is duplicated in the request: {shown}. A request can contain only one occurrence of a specific filter."
            )));
        }
        let (default, valid): (FilterOption, &[(&str, FilterOption)]) = match key {
            FilterKey::Path => (
                FilterOption::OneLevel,
                &[
                    ("Recursive", FilterOption::Recursive),
                    ("OneLevel", FilterOption::OneLevel),
                ],
            ),
            FilterKey::Name => (
                FilterOption::Equals,
                &[
                    ("BeginsWith", FilterOption::BeginsWith),
                    ("Equals", FilterOption::Equals),
                    ("Contains", FilterOption::Contains),
                ],
            ),
            FilterKey::Label => (FilterOption::Equals, &[("Equals", FilterOption::Equals)]),
            _ => (
                FilterOption::Equals,
                &[
                    ("BeginsWith", FilterOption::BeginsWith),
                    ("Equals", FilterOption::Equals),
                ],
            ),
        };
        let option = match option_in {
            None => default,
            Some(o) => valid
                .iter()
                .find(|(n, _)| *n == o)
                .map(|(_, v)| *v)
                .ok_or_else(|| {
                    let names: Vec<&str> = valid.iter().map(|(n, _)| *n).collect();
                    SsmError::InvalidFilterOption(format!(
                        "The following filter option is not valid: {o}. Valid options include: [{}].",
                        names.join(", ")
                    ))
                })?,
        };
        if values.is_empty() && !matches!(key, FilterKey::Tag(_)) {
            return Err(SsmError::InvalidFilterValue(format!(
                "The following filter values are missing : null for filter key {shown}."
            )));
        }
        let enum_values: Option<&[&str]> = match key {
            FilterKey::Type => Some(&["String", "StringList", "SecureString"]),
            FilterKey::Tier => Some(&["Standard", "Advanced", "Intelligent-Tiering"]),
            _ => None,
        };
        if let (Some(valid), FilterOption::Equals) = (enum_values, option) {
            if let Some(v) = values.iter().find(|v| !valid.contains(&v.as_str())) {
                return Err(SsmError::InvalidFilterValue(format!(
                    "The following filter value is not valid: {v}. Valid values include: [{}].",
                    valid.join(", ")
                )));
            }
        }
        if key == FilterKey::Path {
            for v in &values {
                let lower = v.to_ascii_lowercase();
                if lower.starts_with("/aws") || lower.starts_with("/ssm") {
                    return Err(SsmError::Validation(
                        "Filters for common parameters can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).".into(),
                    ));
                }
                if v != "/" && check_path(v).is_err() {
                    return Err(SsmError::Validation(PATH_RULES.into()));
                }
            }
        }
        if key == FilterKey::Label {
            for v in &values {
                label_ok(v)?;
            }
        }
        out.push(Filter {
            key,
            option,
            values,
        });
    }
    Ok(out)
}

/// Parses the deprecated `Filters` of DescribeParameters (`Name` is a prefix match, `Type`
/// and `KeyId` exact) into filters.
pub fn parse_legacy_filters(raw: &Value) -> Result<Vec<Filter>> {
    let list = match raw {
        Value::Null => return Ok(vec![]),
        Value::Array(a) => a,
        _ => return Err(SsmError::Serialization("Filters must be a list.".into())),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, f) in list.iter().enumerate() {
        let field = |m: &str| format!("filters.{}.member.{m}", i + 1);
        let key = f
            .get("Key")
            .and_then(Value::as_str)
            .ok_or_else(|| SsmError::missing(&field("key")))?;
        let (key, option) = match key {
            "Name" => (FilterKey::Name, FilterOption::BeginsWith),
            "Type" => (FilterKey::Type, FilterOption::Equals),
            "KeyId" => (FilterKey::KeyId, FilterOption::Equals),
            other => {
                return Err(SsmError::constraint(
                    other,
                    &field("key"),
                    "Member must satisfy enum value set: [Name, Type, KeyId]",
                ))
            }
        };
        let values: Vec<String> = f
            .get("Values")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if values.is_empty() || values.len() > FILTER_VALUES_MAX {
            return Err(SsmError::constraint(
                &format!("{values:?}"),
                &field("values"),
                "Member must have length between 1 and 50",
            ));
        }
        out.push(Filter {
            key,
            option,
            values,
        });
    }
    Ok(out)
}

/// A page token: the opaque (hex) form of the last key a page returned.
pub fn encode_token(last: &str) -> String {
    last.bytes().map(|b| format!("{b:02x}")).collect()
}

pub fn decode_token(token: &str) -> Result<String> {
    let invalid = || SsmError::InvalidNextToken("The specified token isn't valid.".into());
    if token.is_empty() || !token.len().is_multiple_of(2) || token.len() > 2 * (NAME_LEN_MAX + 1) {
        return Err(invalid());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<std::result::Result<Vec<u8>, _>>()
        .map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REGION: &str = "us-east-1";

    /// One table-driven helper: `f(input)` rendered as text against the expected text.
    fn check<T: ?Sized + std::fmt::Debug, R: std::fmt::Debug>(
        f: impl Fn(&T) -> R,
        cases: &[(&T, &str)],
    ) {
        for (input, expected) in cases {
            let got = format!("{:?}", f(input));
            assert!(
                got.contains(expected),
                "{input:?}: expected {expected:?} in {got}"
            );
        }
    }

    /// The AWS error code of a result, or `ok`.
    fn code<T>(r: Result<T>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(e) => e.status_and_code().1,
        }
    }

    #[test]
    fn new_names() {
        let deep = format!("/{}", vec!["l"; 15].join("/"));
        let too_deep = format!("/{}", vec!["l"; 16].join("/"));
        let long = format!("/{}", "n".repeat(NAME_WITH_ARN_LEN_MAX - 45));
        let too_long = format!("/{}", "n".repeat(NAME_WITH_ARN_LEN_MAX - 44));
        check(
            |n: &str| code(check_new_name(n, REGION)),
            &[
                ("db-url", "ok"),
                ("/shop/db-url", "ok"),
                ("/Dev/Prod/East/Project-ABC/My.Param_1", "ok"),
                ("/single", "ok"),
                (deep.as_str(), "ok"),
                (too_deep.as_str(), "HierarchyLevelLimitExceededException"),
                (long.as_str(), "ok"),
                (too_long.as_str(), "ValidationException"),
                ("x".repeat(2049).as_str(), "ValidationException"),
                ("", "ValidationException"),
                ("has space", "ValidationException"),
                ("semi;colon", "ValidationException"),
                ("name:1", "ValidationException"),
                ("a/b", "ValidationException"),
                ("/a//b", "ValidationException"),
                ("/a/", "ValidationException"),
                ("/", "ValidationException"),
                ("awsParam", "ValidationException"),
                ("SSM-param", "ValidationException"),
                ("/ssm/x", "ValidationException"),
                ("/aws/x", "AccessDeniedException"),
                ("/AWS/x", "AccessDeniedException"),
                ("/awsome/x", "ValidationException"),
                ("/myaws/x", "ok"),
                ("ünïcode", "ValidationException"),
            ],
        );
    }

    #[test]
    fn references() {
        let arn_base = "arn:aws:ssm:us-east-1:000000000000:parameter";
        let cases = [
            (
                "db",
                "Some(Ref { key: \"/db\", name: \"db\", selector: None })",
            ),
            ("/db", "key: \"/db\", name: \"/db\", selector: None"),
            (
                "/a/b:3",
                "key: \"/a/b\", name: \"/a/b\", selector: Some(Version(3))",
            ),
            ("/a/b:prod", "selector: Some(Label(\"prod\"))"),
            (" /a/b ", "key: \"/a/b\""),
            ("/a/b:", "ValidationException"),
            ("/a/b:x:y", "ValidationException"),
            ("a/b", "ValidationException"),
            ("bad name", "ValidationException"),
            ("", "ValidationException"),
            ("/a:99999999999999999999999", "Ok(None)"),
            (
                "arn:aws:ssm:us-east-1:000000000000:parameter/a/b",
                "key: \"/a/b\", name: \"/a/b\"",
            ),
            (
                "arn:aws:ssm:us-east-1:000000000000:parameter/db:2",
                "name: \"db\", selector: Some(Version(2))",
            ),
            (
                "arn:aws:ssm:eu-west-1:000000000000:parameter/db",
                "Ok(None)",
            ),
            (
                "arn:aws:ssm:us-east-1:111111111111:parameter/db",
                "Ok(None)",
            ),
            ("arn:aws:s3:::bucket", "ValidationException"),
        ];
        for (input, expected) in cases {
            let got = match parse_ref(input, REGION) {
                Ok(r) => format!("Ok({r:?})"),
                Err(e) => e.status_and_code().1.to_string(),
            };
            assert!(got.contains(expected), "{input:?}: {got}");
        }
        assert_eq!(arn(REGION, "/a/b"), format!("{arn_base}/a/b"));
        assert_eq!(arn(REGION, "db"), format!("{arn_base}/db"));
        assert_eq!(
            Selector::Label("prod".into()).text(),
            ":prod",
            "AWS's Selector keeps the colon"
        );
    }

    #[test]
    fn paths() {
        check(
            |p: &str| match check_path(p) {
                Ok(p) => p,
                Err(e) => e.status_and_code().1.to_string(),
            },
            &[
                ("/", "\"/\""),
                ("/a", "\"/a\""),
                ("/a/b/", "\"/a/b\""),
                ("a", "ValidationException"),
                ("/a//b", "ValidationException"),
                ("/a b", "ValidationException"),
                ("", "ValidationException"),
                ("/aws/service/ami", "\"/aws/service/ami\""),
            ],
        );
        for (key, path, recursive, expected) in [
            ("/a/b", "/a", false, true),
            ("/a/b/c", "/a", false, false),
            ("/a/b/c", "/a", true, true),
            ("/ab/c", "/a", true, false),
            ("/x", "/", false, true),
            ("/x/y", "/", false, false),
            ("/x/y", "/", true, true),
            ("/a", "/a", true, false),
        ] {
            assert_eq!(in_path(key, path, recursive), expected, "{key} in {path}");
        }
    }

    #[test]
    fn values_and_tiers() {
        check(
            |v: &str| code(check_value(v)),
            &[
                ("plain", "ok"),
                ("", "ValidationException"),
                ("{{ssm:other}}", "ValidationException"),
                ("{{}}", "ValidationException"),
                ("{\"json\": {\"x\": 1}}", "ok"),
                ("}} before {{", "ok"),
            ],
        );
        use TierRequest::*;
        // (request, current tier, value bytes, has policies, standard tier full, expected)
        type Case = (TierRequest, Option<Tier>, usize, bool, bool, &'static str);
        let cases: &[Case] = &[
            (Default, None, 10, false, false, "Ok(Standard)"),
            (Default, None, 4096, false, false, "Ok(Standard)"),
            (
                Default,
                None,
                4097,
                false,
                false,
                "Standard tier parameters support a maximum parameter value of 4096",
            ),
            (
                Default,
                Some(Tier::Advanced),
                5000,
                false,
                false,
                "Ok(Advanced)",
            ),
            (
                Standard,
                Some(Tier::Advanced),
                10,
                false,
                false,
                "can't downgrade",
            ),
            (
                Standard,
                None,
                10,
                true,
                false,
                "don't support parameter policies",
            ),
            (Advanced, None, 8192, false, false, "Ok(Advanced)"),
            (
                Advanced,
                None,
                8193,
                false,
                false,
                "maximum parameter value of 8192",
            ),
            (Intelligent, None, 100, false, false, "Ok(Standard)"),
            (Intelligent, None, 5000, false, false, "Ok(Advanced)"),
            (Intelligent, None, 100, true, false, "Ok(Advanced)"),
            (Intelligent, None, 100, false, true, "Ok(Advanced)"),
            (
                Intelligent,
                Some(Tier::Standard),
                100,
                false,
                true,
                "Ok(Standard)",
            ),
            (
                Intelligent,
                Some(Tier::Advanced),
                100,
                false,
                false,
                "Ok(Advanced)",
            ),
        ];
        for (req, existing, bytes, policies, full, expected) in cases {
            let got = format!(
                "{:?}",
                choose_tier(*req, *existing, *bytes, *policies, *full)
            );
            assert!(
                got.contains(expected),
                "{req:?} {existing:?} {bytes}: {got}"
            );
        }
        assert_eq!(
            code(TierRequest::parse(Some("Premium"))),
            "ValidationException"
        );
        assert_eq!(code(ParamType::parse("Secure")), "ValidationException");
    }

    #[test]
    fn key_ids_and_data_types() {
        check(
            |k: &str| code(check_key_id(k)),
            &[
                ("alias/aws/ssm", "ok"),
                ("alias/my-key", "ok"),
                ("1234abcd-12ab-34cd-56ef-1234567890ab", "ok"),
                ("mrk-1234abcd12ab34cd56ef1234567890ab", "ok"),
                (
                    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                    "ok",
                ),
                ("arn:aws:kms:us-east-1:111122223333:alias/my-key", "ok"),
                ("not-a-key", "InvalidKeyId"),
                ("alias/", "InvalidKeyId"),
                ("arn:aws:kms:us-east-1:1:key/x", "InvalidKeyId"),
                ("bad key", "ValidationException"),
                ("", "ValidationException"),
            ],
        );
        let cases = [
            ("text", ParamType::SecureString, "x", "ok"),
            ("aws:ec2:image", ParamType::String, "ami-12345678", "ok"),
            (
                "aws:ec2:image",
                ParamType::String,
                "not-an-ami",
                "ValidationException",
            ),
            (
                "aws:ec2:image",
                ParamType::StringList,
                "ami-12345678",
                "UnsupportedParameterType",
            ),
            ("Text", ParamType::String, "x", "ValidationException"),
            ("json", ParamType::String, "x", "ValidationException"),
        ];
        for (dt, ty, v, expected) in cases {
            assert_eq!(
                code(check_data_type(dt, ty, v)),
                expected,
                "{dt} {ty:?} {v}"
            );
        }
    }

    #[test]
    fn labels() {
        check(
            |l: &str| match label_ok(l) {
                Ok(b) => b.to_string(),
                Err(e) => e.status_and_code().1.to_string(),
            },
            &[
                ("prod", "true"),
                ("Release-1.2_b", "true"),
                ("1st", "false"),
                ("awsLabel", "false"),
                ("SSMx", "false"),
                ("has space", "false"),
                ("a/b", "false"),
                ("", "ValidationException"),
                ("l".repeat(100).as_str(), "true"),
                ("l".repeat(101).as_str(), "ValidationException"),
            ],
        );
    }

    #[test]
    fn tags() {
        let ok = json!([{"Key": "env", "Value": "prod"}, {"Key": "team name", "Value": ""}]);
        assert_eq!(parse_tags(&ok).unwrap().len(), 2);
        for (tags, expected) in [
            (json!([{"Key": "", "Value": "v"}]), "ValidationException"),
            (json!([{"Key": "k"}]), "ValidationException"),
            (json!([{"Key": "k;", "Value": "v"}]), "ValidationException"),
            (
                json!([{"Key": "k", "Value": "v".repeat(257)}]),
                "ValidationException",
            ),
            (json!({"Key": "k"}), "SerializationException"),
        ] {
            assert_eq!(code(parse_tags(&tags)), expected, "{tags}");
        }
        let current: BTreeMap<String, String> = (0..50)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        assert_eq!(
            code(merged_tags(&current, &[("k1".into(), "w".into())])),
            "ok"
        );
        assert_eq!(
            code(merged_tags(&current, &[("new".into(), "w".into())])),
            "TooManyTagsError"
        );
    }

    #[test]
    fn policies() {
        let exp = r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-12-02T21:34:33.000Z"}}]"#;
        let both = r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-12-02T21:34:33.000Z"}},{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"60","Unit":"Days"}}]"#;
        let twice = r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"a"}},{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"b"}}]"#;
        check(
            |p: &str| code(parse_policies(p)),
            &[
                (exp, "ok"),
                (both, "ok"),
                ("[]", "ok"),
                (twice, "IncompatiblePolicyException"),
                (
                    r#"[{"Type":"Rotate","Version":"1.0","Attributes":{}}]"#,
                    "InvalidPolicyTypeException",
                ),
                (
                    r#"[{"Type":"Expiration","Version":"2.0","Attributes":{"Timestamp":"a"}}]"#,
                    "InvalidPolicyAttributeException",
                ),
                (
                    r#"[{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"x","Unit":"Days"}}]"#,
                    "InvalidPolicyAttributeException",
                ),
                ("not json", "InvalidPolicyAttributeException"),
                ("", "ValidationException"),
            ],
        );
        assert_eq!(
            parse_policies(both).unwrap()[1].kind,
            "NoChangeNotification"
        );
    }

    fn subject<'a>(
        key: &'a str,
        tags: &'a BTreeMap<String, String>,
        labels: &'a [String],
    ) -> Subject<'a> {
        Subject {
            key,
            name: key,
            ty: ParamType::SecureString,
            key_id: Some("alias/aws/ssm"),
            tier: Tier::Standard,
            data_type: "text",
            labels,
            tags,
        }
    }

    #[test]
    fn filters_parse() {
        use FilterUse::*;
        let cases = [
            (json!([{"Key": "Name", "Values": ["/a"]}]), Describe, "ok"),
            (
                json!([{"Key": "Name", "Option": "Contains", "Values": ["a"]}]),
                Describe,
                "ok",
            ),
            (json!([{"Key": "tag:env"}]), Describe, "ok"),
            (
                json!([{"Key": "Path", "Option": "Recursive", "Values": ["/a"]}]),
                Describe,
                "ok",
            ),
            (json!([{"Key": "Label", "Values": ["prod"]}]), ByPath, "ok"),
            (json!([{"Key": "Type", "Values": ["String"]}]), ByPath, "ok"),
            (
                json!([{"Key": "Label", "Values": ["prod"]}]),
                Describe,
                "InvalidFilterKey",
            ),
            (
                json!([{"Key": "Name", "Values": ["a"]}]),
                ByPath,
                "InvalidFilterKey",
            ),
            (json!([{"Key": "tag:env"}]), ByPath, "InvalidFilterKey"),
            (
                json!([{"Key": "Colour", "Values": ["a"]}]),
                Describe,
                "ValidationException",
            ),
            (json!([{"Key": "tag:"}]), Describe, "ValidationException"),
            (json!([{"Values": ["a"]}]), Describe, "ValidationException"),
            (
                json!([{"Key": "Type", "Values": ["String"]}, {"Key": "Type", "Values": ["String"]}]),
                Describe,
                "InvalidFilterKey",
            ),
            (
                json!([{"Key": "Type", "Option": "Contains", "Values": ["S"]}]),
                Describe,
                "InvalidFilterOption",
            ),
            (
                json!([{"Key": "Path", "Option": "Equals", "Values": ["/a"]}]),
                Describe,
                "InvalidFilterOption",
            ),
            (
                json!([{"Key": "Label", "Option": "BeginsWith", "Values": ["p"]}]),
                ByPath,
                "InvalidFilterOption",
            ),
            (json!([{"Key": "Name"}]), Describe, "InvalidFilterValue"),
            (
                json!([{"Key": "Type", "Values": ["Text"]}]),
                Describe,
                "InvalidFilterValue",
            ),
            (
                json!([{"Key": "Tier", "Values": ["Premium"]}]),
                Describe,
                "InvalidFilterValue",
            ),
            (
                json!([{"Key": "Path", "Values": ["a/b"]}]),
                Describe,
                "ValidationException",
            ),
            (
                json!([{"Key": "Path", "Values": ["/aws/x"]}]),
                Describe,
                "ValidationException",
            ),
            (
                json!([{"Key": "Name", "Values": []}]),
                Describe,
                "ValidationException",
            ),
            (
                json!([{"Key": "Name", "Values": [""]}]),
                Describe,
                "ValidationException",
            ),
            (json!({"Key": "Name"}), Describe, "SerializationException"),
        ];
        for (raw, usage, expected) in cases {
            assert_eq!(
                code(parse_filters(&raw, usage)),
                expected,
                "{raw} for {usage:?}"
            );
        }
        assert_eq!(
            code(parse_legacy_filters(
                &json!([{"Key": "Tier", "Values": ["Standard"]}])
            )),
            "ValidationException"
        );
    }

    #[test]
    fn filters_match() {
        let tags: BTreeMap<String, String> = [("env".to_string(), "prod-eu".to_string())].into();
        let labels = vec!["live".to_string()];
        let s = subject("/app/db/url", &tags, &labels);
        let cases = [
            (json!([{"Key": "Name", "Values": ["/app/db/url"]}]), true),
            (json!([{"Key": "Name", "Values": ["app/db/url"]}]), true),
            (json!([{"Key": "Name", "Values": ["/app/db"]}]), false),
            (
                json!([{"Key": "Name", "Option": "BeginsWith", "Values": ["/app/d"]}]),
                true,
            ),
            (
                json!([{"Key": "Name", "Option": "Contains", "Values": ["db/u"]}]),
                true,
            ),
            (json!([{"Key": "Path", "Values": ["/app/db"]}]), true),
            (json!([{"Key": "Path", "Values": ["/app/db/"]}]), true),
            (json!([{"Key": "Path", "Values": ["/app"]}]), false),
            (
                json!([{"Key": "Path", "Option": "Recursive", "Values": ["/app"]}]),
                true,
            ),
            (
                json!([{"Key": "Path", "Option": "Recursive", "Values": ["/ap"]}]),
                false,
            ),
            (json!([{"Key": "Type", "Values": ["SecureString"]}]), true),
            (
                json!([{"Key": "Type", "Values": ["String", "StringList"]}]),
                false,
            ),
            (json!([{"Key": "KeyId", "Values": ["alias/aws/ssm"]}]), true),
            (json!([{"Key": "Tier", "Values": ["Advanced"]}]), false),
            (json!([{"Key": "DataType", "Values": ["text"]}]), true),
            (json!([{"Key": "tag:env"}]), true),
            (json!([{"Key": "tag:env", "Values": ["prod-eu"]}]), true),
            (
                json!([{"Key": "tag:env", "Option": "BeginsWith", "Values": ["prod"]}]),
                true,
            ),
            (json!([{"Key": "tag:env", "Values": ["prod"]}]), false),
            (json!([{"Key": "tag:team"}]), false),
        ];
        for (raw, expected) in cases {
            let filters = parse_filters(&raw, FilterUse::Describe).unwrap();
            assert_eq!(filters.iter().all(|f| f.matches(&s)), expected, "{raw}");
        }
        let by_label = parse_filters(
            &json!([{"Key": "Label", "Values": ["live", "x"]}]),
            FilterUse::ByPath,
        )
        .unwrap();
        assert!(by_label[0].matches(&s));
        let legacy = parse_legacy_filters(&json!([{"Key": "Name", "Values": ["/app"]}])).unwrap();
        assert!(legacy[0].matches(&s), "legacy Name filters match by prefix");
    }

    #[test]
    fn tokens() {
        for key in ["/a/b", "db", "/ünï"] {
            assert_eq!(decode_token(&encode_token(key)).unwrap(), key);
        }
        for bad in ["", "zz", "abc", "ff"] {
            assert_eq!(code(decode_token(bad)), "InvalidNextToken", "{bad}");
        }
    }
}
