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
