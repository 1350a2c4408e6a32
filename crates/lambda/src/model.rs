//! The Lambda resource model: names and ARNs, validation of every field as AWS checks it,
//! and the stored records. Pure: no IO.

use crate::error::{LambdaError, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const RUNTIMES: &[&str] = &[
    "provided.al2023",
    "provided.al2",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
];

pub const TIMEOUT_S_MAX: u64 = 900;
pub const MEMORY_MB_MIN: u64 = 128;
pub const MEMORY_MB_MAX: u64 = 10_240;
pub const EPHEMERAL_MB_MIN: u64 = 512;
pub const EPHEMERAL_MB_MAX: u64 = 10_240;
pub const ENV_BYTES_MAX: usize = 4 * 1024;
/// Synchronous invoke payloads, request and response (Lambda's 6 MB).
pub const SYNC_PAYLOAD_BYTES_MAX: usize = 6 * 1024 * 1024;
/// Asynchronous invoke payloads (Lambda's 1 MB).
pub const ASYNC_PAYLOAD_BYTES_MAX: usize = 1024 * 1024;
/// The outbox kind of asynchronous invocations.
pub const ASYNC_KIND: &str = "lambda-invoke";
/// Zipped code uploaded directly (Lambda's 50 MB).
pub const ZIP_BYTES_MAX: usize = 50 * 1024 * 1024;

/// A function named in a path or an ARN, with an optional qualifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
}

fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn qualifier_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'$')
}

/// Parses `name`, `name:qualifier`, `123456789012:function:name[:q]` and full ARNs.
pub fn parse_function_ref(s: &str, field: &str) -> Result<FunctionRef> {
    let invalid = || {
        LambdaError::Validation(format!(
            "1 validation error detected: Value '{s}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        ))
    };
    if s.len() > 170 {
        return Err(invalid());
    }
    let parts: Vec<&str> = s.split(':').collect();
    let (name, qualifier) = if s.starts_with("arn:") {
        // arn:aws:lambda:region:account:function:name[:qualifier]
        if !(7..=8).contains(&parts.len()) || parts[2] != "lambda" || parts[5] != "function" {
            return Err(invalid());
        }
        if parts[4] != wire::ACCOUNT_ID && parts[4].len() == 12 {
            return Err(LambdaError::NotFound(format!("Function not found: {s}")));
        }
        (parts[6], parts.get(7).copied())
    } else if parts.len() >= 3 && parts[1] == "function" {
        if parts.len() > 4 || parts[0].len() != 12 {
            return Err(invalid());
        }
        (parts[2], parts.get(3).copied())
    } else {
        match parts.len() {
            1 => (parts[0], None),
            2 => (parts[0], Some(parts[1])),
            _ => return Err(invalid()),
        }
    };
    if !name_ok(name) || qualifier.is_some_and(|q| !qualifier_ok(q)) {
        return Err(invalid());
    }
    Ok(FunctionRef {
        name: name.to_string(),
        qualifier: qualifier.map(str::to_string),
    })
}

pub fn function_arn(region: &str, name: &str) -> String {
    format!(
        "arn:aws:lambda:{region}:{}:function:{name}",
        wire::ACCOUNT_ID
    )
}

pub fn is_version_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks an alias name: letters, digits, `-`, `_`, not all digits.
pub fn check_alias_name(s: &str) -> Result<()> {
    if s.is_empty()
        || s.len() > 128
        || is_version_number(s)
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(LambdaError::Validation(format!(
            "1 validation error detected: Value '{s}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        )));
    }
    Ok(())
}

/// Tags a function may carry (Lambda's limit).
pub const TAGS_MAX: usize = 50;

/// Adds a request's `Tags` map to `tags`, within Lambda's limits on count and length.
pub fn merge_tags(tags: &mut BTreeMap<String, String>, body: &Value) -> Result<()> {
    let Some(new) = body.get("Tags").and_then(Value::as_object) else {
        return Ok(());
    };
    for (k, v) in new {
        let v = v.as_str().unwrap_or("");
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(LambdaError::InvalidParameter(format!(
                "Tag keys must be 1 to 128 characters and values at most 256: {k}"
            )));
        }
        tags.insert(k.clone(), v.to_string());
    }
    if tags.len() > TAGS_MAX {
        return Err(LambdaError::InvalidParameter(format!(
            "A function can have at most {TAGS_MAX} tags"
        )));
    }
    Ok(())
}

/// Function-wide state that is not part of a version.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Meta {
    /// The number the next published version gets.
    pub next_version: u64,
    pub reserved_concurrency: Option<u32>,
    /// Event invoke configs by qualifier (`$LATEST`, a version or an alias).
    #[serde(default)]
    pub invoke_configs: BTreeMap<String, Value>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Function URLs by qualifier: an alias name, or [`UNQUALIFIED_URL`] for the function.
    #[serde(default)]
    pub urls: BTreeMap<String, UrlRecord>,
}

/// One stored version: the configuration exactly as the API shows it, and where its code is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionRecord {
    pub config: Value,
    /// Hex SHA-256 of the zip: names the blob and the unpacked folder.
    pub code: String,
}

/// Fields of CreateFunction / UpdateFunctionConfiguration that shape a configuration.
#[derive(Debug, Clone, Default)]
pub struct ConfigInput {
    pub runtime: Option<String>,
    pub role: Option<String>,
    pub handler: Option<String>,
    pub description: Option<String>,
    pub timeout: Option<u64>,
    pub memory: Option<u64>,
    pub env: Option<BTreeMap<String, String>>,
    pub ephemeral: Option<u64>,
    pub architectures: Option<Vec<String>>,
    pub dead_letter: Option<Value>,
    pub tracing: Option<Value>,
}

fn opt_u64(body: &Value, field: &str) -> Result<Option<u64>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            LambdaError::InvalidParameter(format!("{field} must be a positive integer"))
        }),
    }
}

fn opt_str(body: &Value, field: &str) -> Result<Option<String>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(LambdaError::InvalidParameter(format!(
            "{field} must be a string"
        ))),
    }
}

impl ConfigInput {
    /// Reads and validates the configuration fields of a request body.
    pub fn parse(body: &Value) -> Result<Self> {
        let mut c = ConfigInput {
            runtime: opt_str(body, "Runtime")?,
            role: opt_str(body, "Role")?,
            handler: opt_str(body, "Handler")?,
            description: opt_str(body, "Description")?,
            timeout: opt_u64(body, "Timeout")?,
            memory: opt_u64(body, "MemorySize")?,
            ..Default::default()
        };
        if let Some(r) = &c.runtime {
            if !RUNTIMES.contains(&r.as_str()) {
                return Err(LambdaError::InvalidParameter(format!(
                    "Value {r} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [{}] or be a valid ARN",
                    RUNTIMES.join(", ")
                )));
            }
        }
        if let Some(role) = &c.role {
            let ok = role.starts_with("arn:aws")
                && role.contains(":iam::")
                && role.contains(":role/")
                && role.len() <= 2048;
            if !ok {
                return Err(LambdaError::Validation(format!(
                    "1 validation error detected: Value '{role}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{{12}}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"
                )));
            }
        }
        if let Some(h) = &c.handler {
            if h.is_empty() || h.len() > 128 || h.chars().any(|ch| ch.is_whitespace()) {
                return Err(LambdaError::Validation(format!(
                    "1 validation error detected: Value '{h}' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+"
                )));
            }
        }
        if let Some(d) = &c.description {
            if d.len() > 256 {
                return Err(LambdaError::Validation(
                    "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256".into(),
                ));
            }
        }
        if let Some(t) = c.timeout {
            if !(1..=TIMEOUT_S_MAX).contains(&t) {
                return Err(LambdaError::InvalidParameter(format!(
                    "1 validation error detected: Value '{t}' at 'timeout' failed to satisfy constraint: Member must have value between 1 and {TIMEOUT_S_MAX}"
                )));
            }
        }
        if let Some(m) = c.memory {
            if !(MEMORY_MB_MIN..=MEMORY_MB_MAX).contains(&m) {
                return Err(LambdaError::InvalidParameter(format!(
                    "1 validation error detected: Value '{m}' at 'memorySize' failed to satisfy constraint: Member must have value between {MEMORY_MB_MIN} and {MEMORY_MB_MAX}"
                )));
            }
        }
        if let Some(env) = body.get("Environment").filter(|v| !v.is_null()) {
            let vars = env.get("Variables").cloned().unwrap_or(json!({}));
            let Value::Object(map) = vars else {
                return Err(LambdaError::InvalidParameter(
                    "Environment.Variables must be a map".into(),
                ));
            };
            let mut out = BTreeMap::new();
            let mut size = 0;
            for (k, v) in map {
                let Value::String(v) = v else {
                    return Err(LambdaError::InvalidParameter(format!(
                        "Environment variable {k} must be a string"
                    )));
                };
                let key_ok = k.chars().next().is_some_and(|ch| ch.is_ascii_alphabetic())
                    && k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
                if !key_ok {
                    return Err(LambdaError::Validation(format!(
                        "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+] ({k})"
                    )));
                }
                const RESERVED: &[&str] = &[
                    "_HANDLER",
                    "_X_AMZN_TRACE_ID",
                    "AWS_DEFAULT_REGION",
                    "AWS_REGION",
                    "AWS_EXECUTION_ENV",
                    "AWS_LAMBDA_FUNCTION_NAME",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                    "AWS_LAMBDA_FUNCTION_VERSION",
                    "AWS_LAMBDA_INITIALIZATION_TYPE",
                    "AWS_LAMBDA_LOG_GROUP_NAME",
                    "AWS_LAMBDA_LOG_STREAM_NAME",
                    "AWS_ACCESS_KEY",
                    "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY",
                    "AWS_SESSION_TOKEN",
                    "AWS_LAMBDA_RUNTIME_API",
                    "LAMBDA_TASK_ROOT",
                    "LAMBDA_RUNTIME_DIR",
                ];
                if RESERVED.contains(&k.as_str()) {
                    return Err(LambdaError::InvalidParameter(format!(
                        "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {k}"
                    )));
                }
                size += k.len() + v.len();
                out.insert(k, v);
            }
            if size > ENV_BYTES_MAX {
                return Err(LambdaError::InvalidParameter(format!(
                    "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {size}"
                )));
            }
            c.env = Some(out);
        }
        if let Some(e) = body.get("EphemeralStorage").filter(|v| !v.is_null()) {
            let size = e.get("Size").and_then(Value::as_u64).unwrap_or(0);
            if !(EPHEMERAL_MB_MIN..=EPHEMERAL_MB_MAX).contains(&size) {
                return Err(LambdaError::Validation(format!(
                    "1 validation error detected: Value '{size}' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value between {EPHEMERAL_MB_MIN} and {EPHEMERAL_MB_MAX}"
                )));
            }
            c.ephemeral = Some(size);
        }
        if let Some(a) = body.get("Architectures").filter(|v| !v.is_null()) {
            let list: Vec<String> = a
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if list.len() != 1 || !matches!(list[0].as_str(), "x86_64" | "arm64") {
                return Err(LambdaError::Validation(
                    "1 validation error detected: Value at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1, and each member must be x86_64 or arm64".into(),
                ));
            }
            c.architectures = Some(list);
        }
        if let Some(layers) = body.get("Layers").and_then(Value::as_array) {
            if !layers.is_empty() {
                return Err(LambdaError::NotImplemented(
                    "Layers are not implemented by Eddy yet; package dependencies in the function's zip".into(),
                ));
            }
        }
        c.dead_letter = body
            .get("DeadLetterConfig")
            .filter(|v| !v.is_null())
            .cloned();
        c.tracing = body.get("TracingConfig").filter(|v| !v.is_null()).cloned();
        Ok(c)
    }

    /// Writes the given fields over a configuration.
    pub fn apply_to(&self, config: &mut Value) {
        let set = |config: &mut Value, k: &str, v: Value| {
            config[k] = v;
        };
        if let Some(v) = &self.runtime {
            set(config, "Runtime", json!(v));
        }
        if let Some(v) = &self.role {
            set(config, "Role", json!(v));
        }
        if let Some(v) = &self.handler {
            set(config, "Handler", json!(v));
        }
        if let Some(v) = &self.description {
            set(config, "Description", json!(v));
        }
        if let Some(v) = self.timeout {
            set(config, "Timeout", json!(v));
        }
        if let Some(v) = self.memory {
            set(config, "MemorySize", json!(v));
        }
        if let Some(v) = &self.env {
            set(config, "Environment", json!({ "Variables": v }));
        }
        if let Some(v) = self.ephemeral {
            set(config, "EphemeralStorage", json!({ "Size": v }));
        }
        if let Some(v) = &self.architectures {
            set(config, "Architectures", json!(v));
        }
        if let Some(v) = &self.dead_letter {
            set(config, "DeadLetterConfig", v.clone());
        }
        if let Some(v) = &self.tracing {
            set(config, "TracingConfig", v.clone());
        }
    }
}

/// A new `$LATEST` configuration with AWS's defaults.
pub fn new_config(region: &str, name: &str, now_ms: i64) -> Value {
    json!({
        "FunctionName": name,
        "FunctionArn": function_arn(region, name),
        "Runtime": null,
        "Role": null,
        "Handler": null,
        "CodeSize": 0,
        "Description": "",
        "Timeout": 3,
        "MemorySize": 128,
        "LastModified": wire::time::lambda_timestamp(now_ms),
        "CodeSha256": "",
        "Version": "$LATEST",
        "TracingConfig": { "Mode": "PassThrough" },
        "RevisionId": wire::id::uuid4(),
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": { "Size": 512 },
        "SnapStart": { "ApplyOn": "None", "OptimizationStatus": "Off" },
        "LoggingConfig": { "LogFormat": "Text", "LogGroup": format!("/aws/lambda/{name}") },
    })
}

/// The configuration fields that make two versions "the same" for PublishVersion.
pub fn publish_fingerprint(config: &Value) -> Value {
    let mut c = config.clone();
    if let Value::Object(m) = &mut c {
        for k in [
            "Version",
            "FunctionArn",
            "RevisionId",
            "LastModified",
            "Description",
            "State",
            "LastUpdateStatus",
        ] {
            m.remove(k);
        }
    }
    c
}

/// The key in [`Meta::urls`] of the unqualified function's URL (it serves `$LATEST`).
pub const UNQUALIFIED_URL: &str = "$LATEST";
/// Characters in a function URL's id (AWS's length).
pub const URL_ID_LEN: usize = 32;
/// ListFunctionUrlConfigs' page size, default and most (the model's 1–50).
pub const URL_LIST_ITEMS_MAX: usize = 50;
/// `Cors.MaxAge`, seconds (the model's 0–86400).
pub const CORS_MAX_AGE_S_MAX: u64 = 86_400;

/// One function URL as stored in its function's [`Meta`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UrlRecord {
    /// The host's first label: fixed for the URL's life.
    pub url_id: String,
    pub auth_type: String,
    /// The normalized `Cors` (see [`parse_cors`]), when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<Value>,
    /// As last given; `None` until then. AWS echoes `InvokeMode` from Create and Update
    /// only once set, and Get and List show `BUFFERED` until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoke_mode: Option<String>,
    pub creation_time: String,
    pub last_modified_time: String,
}

impl UrlRecord {
    /// The mode the URL answers in.
    pub fn invoke_mode(&self) -> &str {
        self.invoke_mode.as_deref().unwrap_or("BUFFERED")
    }
}

/// The fields of CreateFunctionUrlConfig and UpdateFunctionUrlConfig, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UrlInput {
    pub auth_type: Option<String>,
    /// Normalized by [`parse_cors`].
    pub cors: Option<Value>,
    pub invoke_mode: Option<String>,
}

/// AWS's report of failed model constraints: every failure, in one message.
fn validation_error(errors: Vec<String>) -> LambdaError {
    let n = errors.len();
    let plural = if n == 1 { "" } else { "s" };
    LambdaError::Validation(format!(
        "{n} validation error{plural} detected: {}",
        errors.join("; ")
    ))
}

/// A field of the wrong JSON type: Lambda cannot deserialize the body.
fn wrong_type(field: &str, expected: &str) -> LambdaError {
    LambdaError::InvalidRequestContent(format!(
        "Could not parse request body into json: {field} must be {expected}"
    ))
}

/// Java's `List.toString`, the way AWS quotes a list in a validation message.
fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn enum_field(
    body: &Value,
    field: &str,
    path: &str,
    allowed: &[&str],
    errors: &mut Vec<String>,
) -> Result<Option<String>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if !allowed.contains(&s.as_str()) {
                errors.push(format!(
                    "Value '{s}' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ));
            }
            Ok(Some(s.clone()))
        }
        Some(_) => Err(wrong_type(field, "a string")),
    }
}

impl UrlInput {
    /// Reads a request body; `create` makes `AuthType` required, as CreateFunctionUrlConfig's
    /// model does.
    pub fn parse(body: &Value, create: bool) -> Result<Self> {
        let mut errors = Vec::new();
        let auth_type = enum_field(
            body,
            "AuthType",
            "authType",
            &["AWS_IAM", "NONE"],
            &mut errors,
        )?;
        if create && auth_type.is_none() {
            errors.push(
                "Value null at 'authType' failed to satisfy constraint: Member must not be null"
                    .into(),
            );
        }
        let invoke_mode = enum_field(
            body,
            "InvokeMode",
            "invokeMode",
            &["BUFFERED", "RESPONSE_STREAM"],
            &mut errors,
        )?;
        let cors = match body.get("Cors") {
            None | Some(Value::Null) => None,
            Some(c) => Some(cors_fields(c, &mut errors)?),
        };
        if !errors.is_empty() {
            return Err(validation_error(errors));
        }
        Ok(Self {
            auth_type,
            cors,
            invoke_mode,
        })
    }
}

/// Checks a `Cors` structure against the model's limits and returns it with every field
/// present (AWS shows the defaults: no credentials, empty lists, `MaxAge` 0).
pub fn parse_cors(cors: &Value) -> Result<Value> {
    let mut errors = Vec::new();
    let out = cors_fields(cors, &mut errors)?;
    if !errors.is_empty() {
        return Err(validation_error(errors));
    }
    Ok(out)
}

fn cors_fields(cors: &Value, errors: &mut Vec<String>) -> Result<Value> {
    let Value::Object(m) = cors else {
        return Err(wrong_type("Cors", "an object"));
    };
    let allow_credentials = match m.get("AllowCredentials") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(wrong_type("Cors.AllowCredentials", "a boolean")),
    };
    // (field, path in messages, most items, shortest and longest member)
    let lists: [(&str, &str, usize, usize, usize); 4] = [
        ("AllowHeaders", "cors.allowHeaders", 100, 0, 1024),
        ("AllowMethods", "cors.allowMethods", 6, 0, 6),
        ("AllowOrigins", "cors.allowOrigins", 100, 1, 253),
        ("ExposeHeaders", "cors.exposeHeaders", 100, 0, 1024),
    ];
    let mut out = serde_json::Map::new();
    out.insert("AllowCredentials".into(), json!(allow_credentials));
    for (field, path, items_max, len_min, len_max) in lists {
        let items: Vec<String> = match m.get(field) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| wrong_type(&format!("Cors.{field}"), "a list of strings"))?,
            Some(_) => return Err(wrong_type(&format!("Cors.{field}"), "a list of strings")),
        };
        if items.len() > items_max {
            errors.push(format!(
                "Value '{}' at '{path}' failed to satisfy constraint: Member must have length less than or equal to {items_max}",
                java_list(&items)
            ));
        }
        let lens = items.iter().map(|s| s.chars().count());
        if lens.clone().any(|n| n > len_max) {
            errors.push(format!(
                "Value '{}' at '{path}' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to {len_max}]",
                java_list(&items)
            ));
        }
        if lens.clone().any(|n| n < len_min) {
            errors.push(format!(
                "Value '{}' at '{path}' failed to satisfy constraint: Member must satisfy constraint: [Member must have length greater than or equal to {len_min}]",
                java_list(&items)
            ));
        }
        out.insert(field.into(), json!(items));
    }
    let max_age = match m.get("MaxAge") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(age) if age < 0 => {
                errors.push(format!(
                    "Value '{age}' at 'cors.maxAge' failed to satisfy constraint: Member must have value greater than or equal to 0"
                ));
                0
            }
            Some(age) if age as u64 > CORS_MAX_AGE_S_MAX => {
                errors.push(format!(
                    "Value '{age}' at 'cors.maxAge' failed to satisfy constraint: Member must have value less than or equal to {CORS_MAX_AGE_S_MAX}"
                ));
                0
            }
            Some(age) => age,
            None => return Err(wrong_type("Cors.MaxAge", "an integer")),
        },
        Some(_) => return Err(wrong_type("Cors.MaxAge", "an integer")),
    };
    out.insert("MaxAge".into(), json!(max_age));
    Ok(Value::Object(out))
}

/// Checks a function URL's qualifier: an alias name. `$LATEST` and version numbers are
/// refused as AWS refuses them, against the model's pattern.
pub fn check_url_qualifier(q: &str) -> Result<()> {
    let ok = !q.is_empty()
        && q.len() <= 128
        && !is_version_number(q)
        && q.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        return Ok(());
    }
    Err(validation_error(vec![format!(
        "Value '{q}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)"
    )]))
}

/// ListFunctionUrlConfigs' `MaxItems` (absent: the most).
pub fn url_list_max_items(max_items: Option<&str>) -> Result<usize> {
    let Some(m) = max_items else {
        return Ok(URL_LIST_ITEMS_MAX);
    };
    let constraint = match m.parse::<i64>() {
        Ok(n) if n < 1 => "Member must have value greater than or equal to 1".to_string(),
        Ok(n) if n as usize > URL_LIST_ITEMS_MAX => {
            format!("Member must have value less than or equal to {URL_LIST_ITEMS_MAX}")
        }
        Ok(n) => return Ok(n as usize),
        Err(_) => "Member must be an integer".to_string(),
    };
    Err(validation_error(vec![format!(
        "Value '{m}' at 'maxItems' failed to satisfy constraint: {constraint}"
    )]))
}

/// A new URL id: [`URL_ID_LEN`] lower-case letters and digits drawn from `next`.
pub fn new_url_id(mut next: impl FnMut() -> u64) -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..URL_ID_LEN)
        .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

/// Whether `s` has the shape of a URL id, so lookups can refuse anything else cheaply.
pub fn is_url_id(s: &str) -> bool {
    s.len() == URL_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A function URL's address: `http://<url-id>.lambda-url.<region>.localhost:<port>/`
/// (AWS's `https://<url-id>.lambda-url.<region>.on.aws/`, on this server).
pub fn function_url_address(url_id: &str, region: &str, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("http://{url_id}.lambda-url.{region}.localhost:{p}/"),
        None => format!("http://{url_id}.lambda-url.{region}.localhost/"),
    }
}

/// The port of a `host:port` (`127.0.0.1:4566`, `[::1]:4566`, `localhost:4566`).
pub fn port_of(authority: &str) -> Option<u16> {
    let (host, port) = authority.rsplit_once(':')?;
    if host.is_empty() || host.ends_with(':') {
        return None; // a bare IPv6 address, no port
    }
    port.parse().ok()
}

/// `CreationTime` and `LastModifiedTime`: ISO-8601 in UTC with microseconds, as AWS shows
/// them (`2022-09-07T19:28:23.808713Z`); Eddy's clock counts milliseconds.
pub fn url_timestamp(ms: i64) -> String {
    let t = wire::time::iso8601_ms(ms);
    format!("{}000Z", t.trim_end_matches('Z'))
}

/// Checks an event invoke config request body.
pub fn parse_invoke_config(body: &Value) -> Result<Value> {
    let mut out = serde_json::Map::new();
    if let Some(n) = body.get("MaximumRetryAttempts").filter(|v| !v.is_null()) {
        match n.as_u64() {
            Some(n) if n <= 2 => {
                out.insert("MaximumRetryAttempts".into(), json!(n));
            }
            _ => {
                return Err(LambdaError::Validation(format!(
                    "1 validation error detected: Value '{n}' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2"
                )))
            }
        }
    }
    if let Some(n) = body
        .get("MaximumEventAgeInSeconds")
        .filter(|v| !v.is_null())
    {
        match n.as_u64() {
            Some(n) if (60..=21_600).contains(&n) => {
                out.insert("MaximumEventAgeInSeconds".into(), json!(n));
            }
            _ => {
                return Err(LambdaError::Validation(format!(
                    "1 validation error detected: Value '{n}' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 21600"
                )))
            }
        }
    }
    if let Some(d) = body.get("DestinationConfig").filter(|v| !v.is_null()) {
        let mut dc = serde_json::Map::new();
        for k in ["OnSuccess", "OnFailure"] {
            if let Some(dest) = d
                .get(k)
                .and_then(|x| x.get("Destination"))
                .and_then(Value::as_str)
            {
                let service = dest.split(':').nth(2).unwrap_or("");
                if !dest.starts_with("arn:")
                    || !matches!(service, "lambda" | "sqs" | "sns" | "events" | "s3")
                {
                    return Err(LambdaError::InvalidParameter(format!(
                        "The provided destination config DestinationConfig.{k}.Destination is invalid: {dest}"
                    )));
                }
                dc.insert(k.into(), json!({ "Destination": dest }));
            } else {
                dc.insert(k.into(), json!({}));
            }
        }
        out.insert("DestinationConfig".into(), Value::Object(dc));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_ref(input: &str, expected: Option<(&str, Option<&str>)>) {
        let got = parse_function_ref(input, "functionName").ok();
        let expected = expected.map(|(n, q)| FunctionRef {
            name: n.into(),
            qualifier: q.map(Into::into),
        });
        assert_eq!(got, expected, "{input}");
    }

    #[test]
    fn function_refs() {
        check_ref("hello", Some(("hello", None)));
        check_ref("hello:prod", Some(("hello", Some("prod"))));
        check_ref("hello:$LATEST", Some(("hello", Some("$LATEST"))));
        check_ref(
            "arn:aws:lambda:us-east-1:000000000000:function:hello",
            Some(("hello", None)),
        );
        check_ref(
            "arn:aws:lambda:us-east-1:000000000000:function:hello:7",
            Some(("hello", Some("7"))),
        );
        check_ref("000000000000:function:hello", Some(("hello", None)));
        check_ref("bad name!", None);
        check_ref("", None);
        check_ref("a:b:c", None);
        check_ref(&"x".repeat(65), None);
    }

    #[test]
    fn config_validation() {
        let ok = json!({"Runtime": "python3.12", "Timeout": 30, "MemorySize": 256,
            "Role": "arn:aws:iam::000000000000:role/r", "Environment": {"Variables": {"A_B": "1"}}});
        let c = ConfigInput::parse(&ok).unwrap();
        let mut config = new_config("us-east-1", "f", 0);
        c.apply_to(&mut config);
        assert_eq!(config["Timeout"], 30);
        assert_eq!(config["Environment"]["Variables"]["A_B"], "1");
        for bad in [
            json!({"Runtime": "cobol1"}),
            json!({"Timeout": 0}),
            json!({"Timeout": 901}),
            json!({"MemorySize": 64}),
            json!({"Role": "nope"}),
            json!({"Environment": {"Variables": {"AWS_REGION": "x"}}}),
            json!({"Environment": {"Variables": {"1x": "x"}}}),
            json!({"EphemeralStorage": {"Size": 100}}),
            json!({"Handler": "a b"}),
        ] {
            assert!(ConfigInput::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tag_limits() {
        let mut tags = BTreeMap::new();
        merge_tags(&mut tags, &json!({"Tags": {"a": "1"}})).unwrap();
        assert_eq!(tags["a"], "1");
        assert!(merge_tags(&mut tags, &json!({"Tags": {"": "x"}})).is_err());
        let many: serde_json::Map<String, Value> =
            (0..60).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(merge_tags(&mut BTreeMap::new(), &json!({ "Tags": many })).is_err());
    }

    /// The normalized input, or the AWS error code and a piece of its message.
    type Expected = std::result::Result<UrlInput, (&'static str, &'static str)>;

    /// Parses a function URL request body (`create`: as CreateFunctionUrlConfig).
    fn check_url_input(body: Value, create: bool, expected: Expected) {
        let got = UrlInput::parse(&body, create);
        match (got, expected) {
            (Ok(g), Ok(e)) => assert_eq!(g, e, "{body}"),
            (Err(g), Err((code, text))) => {
                assert_eq!(g.status_and_code().1, code, "{body}: {g}");
                assert!(g.to_string().contains(text), "{body}: {g}");
            }
            (g, e) => panic!("{body}: got {g:?}, expected {e:?}"),
        }
    }

    fn cors(v: Value) -> Option<Value> {
        Some(v)
    }

    #[test]
    fn url_inputs() {
        const V: &str = "ValidationException";
        const C: &str = "InvalidRequestContentException";
        let full_cors = json!({"AllowCredentials": false, "AllowHeaders": [], "AllowMethods": [],
            "AllowOrigins": [], "ExposeHeaders": [], "MaxAge": 0});
        let cases: Vec<(Value, bool, Expected)> = vec![
            (
                json!({"AuthType": "NONE"}),
                true,
                Ok(UrlInput { auth_type: Some("NONE".into()), ..Default::default() }),
            ),
            (
                json!({"AuthType": "AWS_IAM", "InvokeMode": "RESPONSE_STREAM"}),
                true,
                Ok(UrlInput {
                    auth_type: Some("AWS_IAM".into()),
                    invoke_mode: Some("RESPONSE_STREAM".into()),
                    ..Default::default()
                }),
            ),
            // Update needs no field at all.
            (json!({}), false, Ok(UrlInput::default())),
            (json!({"AuthType": null, "Cors": null}), false, Ok(UrlInput::default())),
            (json!({}), true, Err((V, "Value null at 'authType' failed to satisfy constraint: Member must not be null"))),
            (json!({"AuthType": "none"}), true, Err((V, "Value 'none' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [AWS_IAM, NONE]"))),
            (json!({"AuthType": "NONE", "InvokeMode": "STREAM"}), true, Err((V, "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]"))),
            (json!({"AuthType": 1}), true, Err((C, "AuthType must be a string"))),
            // Every failure is reported, counted.
            (json!({"AuthType": "X", "InvokeMode": "Y"}), true, Err((V, "2 validation errors detected: Value 'X' at 'authType'"))),
            // An empty Cors shows every field with its default.
            (json!({"Cors": {}}), false, Ok(UrlInput { cors: cors(full_cors.clone()), ..Default::default() })),
            (
                json!({"Cors": {"AllowOrigins": ["*"], "AllowMethods": ["GET", "POST"], "MaxAge": 300, "AllowCredentials": true}}),
                false,
                Ok(UrlInput {
                    cors: cors(json!({"AllowCredentials": true, "AllowHeaders": [], "AllowMethods": ["GET", "POST"],
                        "AllowOrigins": ["*"], "ExposeHeaders": [], "MaxAge": 300})),
                    ..Default::default()
                }),
            ),
            (json!({"Cors": {"MaxAge": 86400}}), false, Ok(UrlInput {
                cors: cors(json!({"AllowCredentials": false, "AllowHeaders": [], "AllowMethods": [],
                    "AllowOrigins": [], "ExposeHeaders": [], "MaxAge": 86400})),
                ..Default::default()
            })),
            (json!({"Cors": {"MaxAge": 86401}}), false, Err((V, "Value '86401' at 'cors.maxAge' failed to satisfy constraint: Member must have value less than or equal to 86400"))),
            (json!({"Cors": {"MaxAge": -1}}), false, Err((V, "Member must have value greater than or equal to 0"))),
            (json!({"Cors": {"MaxAge": "10"}}), false, Err((C, "Cors.MaxAge must be an integer"))),
            (json!({"Cors": {"MaxAge": 1.5}}), false, Err((C, "Cors.MaxAge must be an integer"))),
            (
                json!({"Cors": {"AllowMethods": ["GET", "PUT", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS"]}}),
                false,
                Err((V, "Value '[GET, PUT, POST, HEAD, PATCH, DELETE, OPTIONS]' at 'cors.allowMethods' failed to satisfy constraint: Member must have length less than or equal to 6")),
            ),
            (json!({"Cors": {"AllowMethods": ["OPTIONS"]}}), false, Err((V, "at 'cors.allowMethods' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 6]"))),
            (json!({"Cors": {"AllowMethods": ["*"]}}), false, Ok(UrlInput {
                cors: cors(json!({"AllowCredentials": false, "AllowHeaders": [], "AllowMethods": ["*"],
                    "AllowOrigins": [], "ExposeHeaders": [], "MaxAge": 0})),
                ..Default::default()
            })),
            (json!({"Cors": {"AllowOrigins": [""]}}), false, Err((V, "Value '[]' at 'cors.allowOrigins' failed to satisfy constraint: Member must satisfy constraint: [Member must have length greater than or equal to 1]"))),
            (json!({"Cors": {"AllowOrigins": ["x".repeat(254)]}}), false, Err((V, "Member must have length less than or equal to 253"))),
            (json!({"Cors": {"AllowHeaders": vec!["h"; 101]}}), false, Err((V, "at 'cors.allowHeaders' failed to satisfy constraint: Member must have length less than or equal to 100"))),
            (json!({"Cors": {"ExposeHeaders": ["x".repeat(1025)]}}), false, Err((V, "at 'cors.exposeHeaders' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 1024]"))),
            (json!({"Cors": {"AllowHeaders": [""]}}), false, Ok(UrlInput {
                cors: cors(json!({"AllowCredentials": false, "AllowHeaders": [""], "AllowMethods": [],
                    "AllowOrigins": [], "ExposeHeaders": [], "MaxAge": 0})),
                ..Default::default()
            })),
            (json!({"Cors": {"AllowHeaders": "x-a"}}), false, Err((C, "Cors.AllowHeaders must be a list of strings"))),
            (json!({"Cors": {"AllowHeaders": [1]}}), false, Err((C, "Cors.AllowHeaders must be a list of strings"))),
            (json!({"Cors": {"AllowCredentials": "yes"}}), false, Err((C, "Cors.AllowCredentials must be a boolean"))),
            (json!({"Cors": []}), false, Err((C, "Cors must be an object"))),
        ];
        for (body, create, expected) in cases {
            check_url_input(body, create, expected);
        }
        assert_eq!(parse_cors(&json!({})).unwrap(), full_cors);
    }

    #[test]
    fn url_qualifiers() {
        for (q, ok) in [
            ("prod", true),
            ("blue-green_2", true),
            ("v1", true),
            ("$LATEST", false),
            ("1", false),
            ("42", false),
            ("", false),
            ("a:b", false),
            ("a b", false),
            (&"a".repeat(128), true),
            (&"a".repeat(129), false),
        ] {
            let got = check_url_qualifier(q);
            assert_eq!(got.is_ok(), ok, "{q}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.status_and_code().1, "ValidationException");
                assert_eq!(
                    e.to_string(),
                    format!("1 validation error detected: Value '{q}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)")
                );
            }
        }
    }

    #[test]
    fn url_list_page_sizes() {
        for (m, expected) in [
            (None, Ok(50)),
            (Some("1"), Ok(1)),
            (Some("50"), Ok(50)),
            (Some("0"), Err("Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1")),
            (Some("51"), Err("Value '51' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50")),
            (Some("x"), Err("Value 'x' at 'maxItems'")),
        ] {
            let got = url_list_max_items(m).map_err(|e| e.to_string());
            match (got, expected) {
                (Ok(g), Ok(e)) => assert_eq!(g, e, "{m:?}"),
                (Err(g), Err(e)) => assert!(g.contains(e), "{m:?}: {g}"),
                (g, e) => panic!("{m:?}: got {g:?}, expected {e:?}"),
            }
        }
    }

    #[test]
    fn url_ids_and_addresses() {
        let mut n = 0u64;
        let id = new_url_id(|| {
            n += 1;
            n * 7
        });
        assert_eq!(id.len(), URL_ID_LEN);
        assert!(is_url_id(&id), "{id}");
        assert_eq!(&id[..4], "hov2"); // 7, 14, 21 and 28 in a-z0-9
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = new_url_id(wire::id::next_u64);
            assert!(is_url_id(&id), "{id}");
            assert!(seen.insert(id), "ids repeat");
        }
        for (s, ok) in [
            ("abcdefghijklmnopqrstuvwxyz012345", true),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", false),
            ("abcdefghijklmnopqrstuvwxyz01234", false),
            ("abcdefghijklmnopqrstuvwxyz01234-", false),
        ] {
            assert_eq!(is_url_id(s), ok, "{s}");
        }
        for (authority, port) in [
            ("127.0.0.1:4566", Some(4566)),
            ("[::1]:8080", Some(8080)),
            ("localhost:1", Some(1)),
            ("localhost", None),
            ("::1", None),
            (":80", None),
            ("host:x", None),
        ] {
            assert_eq!(port_of(authority), port, "{authority}");
        }
        assert_eq!(
            function_url_address(&id, "eu-west-1", Some(4566)),
            format!("http://{id}.lambda-url.eu-west-1.localhost:4566/")
        );
        assert_eq!(
            function_url_address(&id, "us-east-1", None),
            format!("http://{id}.lambda-url.us-east-1.localhost/")
        );
        // 2024-05-01T12:00:00.123Z
        assert_eq!(
            url_timestamp(1_714_564_800_123),
            "2024-05-01T12:00:00.123000Z"
        );
    }

    #[test]
    fn url_records_round_trip_and_old_records_load() {
        let old = r#"{"next_version":2,"reserved_concurrency":null}"#;
        let meta: Meta = serde_json::from_str(old).unwrap();
        assert!(meta.urls.is_empty());
        let r = UrlRecord {
            url_id: "a".repeat(32),
            auth_type: "NONE".into(),
            cors: None,
            invoke_mode: None,
            creation_time: url_timestamp(0),
            last_modified_time: url_timestamp(0),
        };
        assert_eq!(r.invoke_mode(), "BUFFERED");
        let mut meta = meta;
        meta.urls.insert(UNQUALIFIED_URL.into(), r.clone());
        let back: Meta = serde_json::from_str(&serde_json::to_string(&meta).unwrap()).unwrap();
        assert_eq!(back.urls[UNQUALIFIED_URL], r);
    }

    #[test]
    fn alias_names_and_invoke_configs() {
        assert!(check_alias_name("prod").is_ok());
        assert!(check_alias_name("123").is_err());
        assert!(parse_invoke_config(&json!({"MaximumRetryAttempts": 3})).is_err());
        assert!(parse_invoke_config(&json!({"MaximumEventAgeInSeconds": 30})).is_err());
        let c = parse_invoke_config(&json!({"MaximumRetryAttempts": 0,
            "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:lambda:us-east-1:000000000000:function:x"}}}))
        .unwrap();
        assert_eq!(c["MaximumRetryAttempts"], 0);
        assert_eq!(c["DestinationConfig"]["OnSuccess"], json!({}));
    }
}
