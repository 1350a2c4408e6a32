//! The pure rules of the HTTP API control plane: ids, names, route keys, integration
//! URIs, stages, CORS, tags, ARNs and paging, checked as API Gateway checks them.

use crate::error::{bad, ApigwError, Result};
use serde_json::{json, Map, Value};

/// What `routeSelectionExpression` is for every HTTP API.
pub const ROUTE_SELECTION: &str = "$request.method $request.path";
/// What `apiKeySelectionExpression` is for every HTTP API.
pub const API_KEY_SELECTION: &str = "$request.header.x-api-key";
/// The stage served at the root of the API's URL.
pub const DEFAULT_STAGE: &str = "$default";
/// The longest and shortest integration timeouts (HTTP APIs allow 50 ms to 30 s).
pub const TIMEOUT_MS_MIN: i64 = 50;
pub const TIMEOUT_MS_MAX: i64 = 30_000;
/// Tags per resource, as AWS allows.
pub const TAGS_MAX: usize = 50;
/// Items per page when `maxResults` is not given, and the most a page holds.
pub const PAGE_DEFAULT: usize = 100;
pub const PAGE_MAX: usize = 500;

/// HTTP methods an HTTP_PROXY integration may use (`ANY` passes the request's own).
const METHODS: [&str; 8] = [
    "ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
];

/// `n` random lower-case letters and digits, the shape of AWS's API (10) and route,
/// integration and deployment (7) ids.
pub fn alnum_id(n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| CHARS[(wire::id::next_u64() % CHARS.len() as u64) as usize] as char)
        .collect()
}

/// An optional string member; any other JSON type is refused.
pub fn opt_str<'a>(body: &'a Value, field: &str) -> Result<Option<&'a str>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("Invalid input: {field} must be a string."))),
    }
}

/// A string member the request must carry; a missing or null one is refused the way API
/// Gateway refuses it.
pub fn req_str<'a>(body: &'a Value, field: &str) -> Result<&'a str> {
    opt_str(body, field)?.ok_or_else(|| bad(format!("Invalid input: {field} is required.")))
}

pub fn opt_bool(body: &Value, field: &str) -> Result<Option<bool>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(format!("Invalid input: {field} must be a boolean."))),
    }
}

pub fn opt_i64(body: &Value, field: &str) -> Result<Option<i64>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad(format!("Invalid input: {field} must be an integer."))),
    }
}

/// An optional map of strings to strings.
pub fn opt_string_map(body: &Value, field: &str) -> Result<Option<Map<String, Value>>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) if m.values().all(Value::is_string) => Ok(Some(m.clone())),
        Some(_) => Err(bad(format!(
            "Invalid input: {field} must be a map of strings to strings."
        ))),
    }
}

/// A string whose length (in characters) must be within `min..=max`.
pub fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(bad(format!(
            "Invalid input: {field} must be between {min} and {max} characters long."
        )));
    }
    Ok(())
}

/// The function ARN a Lambda proxy integration names: a function ARN (with an optional
/// version or alias) itself, or API Gateway's
/// `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function-arn>/invocations`.
pub fn lambda_function_arn(uri: &str) -> Option<String> {
    if let Some(rest) = uri.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if let [partition, "apigateway", region, "lambda", path] = parts[..] {
            if !partition.starts_with("aws") || !region_ok(region) {
                return None;
            }
            let inner = path
                .strip_prefix("path/2015-03-31/functions/")?
                .strip_suffix("/invocations")?;
            return function_arn_ok(inner).then(|| inner.to_string());
        }
    }
    function_arn_ok(uri).then(|| uri.to_string())
}

fn region_ok(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `arn:aws:lambda:<region>:<account>:function:<name>[:<version or alias>]`.
fn function_arn_ok(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    let (name, qualifier) = match parts[..] {
        [_, _, _, _, _, _, name] => (name, None),
        [_, _, _, _, _, _, name, q] => (name, Some(q)),
        _ => return false,
    };
    let name_ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let qualifier_ok = qualifier.is_none_or(|q| {
        (1..=128).contains(&q.len())
            && q.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'$')
    });
    parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "lambda"
        && region_ok(parts[3])
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5] == "function"
        && name_ok
        && qualifier_ok
}

/// An `http://` or `https://` URL with a host.
pub fn http_url_ok(uri: &str) -> bool {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !host.contains(char::is_whitespace)
    })
}

/// The integration a quick create's `target` makes: a Lambda proxy integration for a
/// function ARN, an HTTP proxy integration for a URL.
pub fn quick_create_integration(target: &str) -> Result<Value> {
    check_len("target", target, 1, 2048)?;
    let mut rec = if lambda_function_arn(target).is_some() {
        json!({ "integrationType": "AWS_PROXY", "integrationUri": target,
                "integrationMethod": "POST", "payloadFormatVersion": "2.0" })
    } else if http_url_ok(target) {
        json!({ "integrationType": "HTTP_PROXY", "integrationUri": target,
                "integrationMethod": "ANY", "payloadFormatVersion": "1.0" })
    } else {
        return Err(bad(format!(
            "Invalid target specified {target}: use a Lambda function ARN or an HTTP(S) URL."
        )));
    };
    check_integration(&mut rec)?;
    Ok(rec)
}

/// Checks an integration record (a create's body, or a stored record with an update's
/// members merged in) and fills in API Gateway's defaults for HTTP APIs.
pub fn check_integration(rec: &mut Value) -> Result<()> {
    let kind = req_str(rec, "integrationType")?.to_string();
    if opt_str(rec, "integrationSubtype")?.is_some() {
        return Err(ApigwError::NotImplemented(
            "Eddy does not implement AWS service integrations (integrationSubtype) yet; use AWS_PROXY with a Lambda function or HTTP_PROXY.".into(),
        ));
    }
    match opt_str(rec, "connectionType")? {
        None | Some("INTERNET") => rec["connectionType"] = json!("INTERNET"),
        Some("VPC_LINK") => {
            return Err(ApigwError::NotImplemented(
                "Eddy does not implement VPC links; use connectionType INTERNET.".into(),
            ))
        }
        Some(other) => {
            return Err(bad(format!(
                "Invalid connectionType {other}: use INTERNET or VPC_LINK."
            )))
        }
    }
    let uri = opt_str(rec, "integrationUri")?
        .ok_or_else(|| bad("Invalid input: integrationUri is required for HTTP APIs."))?
        .to_string();
    check_len("integrationUri", &uri, 1, 2048)?;
    let method = opt_str(rec, "integrationMethod")?.map(str::to_string);
    let payload = opt_str(rec, "payloadFormatVersion")?.map(str::to_string);
    match kind.as_str() {
        "AWS_PROXY" => {
            if lambda_function_arn(&uri).is_none() {
                return Err(bad(format!(
                    "Invalid integration URI specified {uri}: use a Lambda function ARN or arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations."
                )));
            }
            rec["integrationMethod"] = json!(method.as_deref().unwrap_or("POST"));
            let payload = payload.as_deref().unwrap_or("2.0");
            if !matches!(payload, "1.0" | "2.0") {
                return Err(bad(format!(
                    "Invalid payloadFormatVersion {payload}: Lambda proxy integrations support 1.0 and 2.0."
                )));
            }
            rec["payloadFormatVersion"] = json!(payload);
        }
        "HTTP_PROXY" => {
            if !http_url_ok(&uri) {
                return Err(bad(format!(
                    "Invalid integration URI specified {uri}: an HTTP proxy integration needs an http:// or https:// URL."
                )));
            }
            let method = method.ok_or_else(|| {
                bad("Invalid input: integrationMethod is required for HTTP_PROXY integrations.")
            })?;
            if !METHODS.contains(&method.as_str()) {
                return Err(bad(format!("Invalid integrationMethod {method}.")));
            }
            let payload = payload.as_deref().unwrap_or("1.0");
            if payload != "1.0" {
                return Err(bad(format!(
                    "Invalid payloadFormatVersion {payload}: HTTP proxy integrations support only 1.0."
                )));
            }
            rec["payloadFormatVersion"] = json!(payload);
        }
        "AWS" | "HTTP" | "MOCK" => {
            return Err(bad(format!(
            "Integration type {kind} is not supported for HTTP APIs; use AWS_PROXY or HTTP_PROXY."
        )))
        }
        other => {
            return Err(bad(format!(
                "Invalid integrationType {other}: use AWS_PROXY or HTTP_PROXY."
            )))
        }
    }
    let timeout = opt_i64(rec, "timeoutInMillis")?.unwrap_or(TIMEOUT_MS_MAX);
    if !(TIMEOUT_MS_MIN..=TIMEOUT_MS_MAX).contains(&timeout) {
        return Err(bad(format!(
            "Invalid timeoutInMillis {timeout}: it must be between {TIMEOUT_MS_MIN} and {TIMEOUT_MS_MAX}."
        )));
    }
    rec["timeoutInMillis"] = json!(timeout);
    if let Some(d) = opt_str(rec, "description")? {
        check_len("description", d, 0, 1024)?;
    }
    for field in ["requestParameters", "responseParameters", "tlsConfig"] {
        if rec
            .get(field)
            .is_some_and(|v| !v.is_object() && !v.is_null())
        {
            return Err(bad(format!("Invalid input: {field} must be an object.")));
        }
    }
    Ok(())
}

/// Refuses a route key API Gateway would refuse, checked with the data plane's own
/// route table so the control plane never stores a key the data plane cannot compile.
/// `others` are the API's other route keys: a key defined twice is a conflict.
pub fn check_route_key(key: &str, others: &[String]) -> Result<()> {
    if others.iter().any(|k| k == key) {
        return Err(ApigwError::Conflict(format!(
            "Route with key {key} already exists for this API"
        )));
    }
    gateway::RouteTable::new(&[key.to_string()])
        .map(|_| ())
        .map_err(|e| bad(format!("Invalid route key: {e}.")))
}

/// Checks a route's authorization: NONE and AWS_IAM take no authorizer; CUSTOM and JWT
/// need one (that it exists and has the right type is checked against the API).
pub fn check_authorization(rec: &Value) -> Result<()> {
    let kind = opt_str(rec, "authorizationType")?.unwrap_or("NONE");
    let authorizer = opt_str(rec, "authorizerId")?;
    match (kind, authorizer) {
        ("NONE" | "AWS_IAM", None) | ("JWT" | "CUSTOM", Some(_)) => {}
        ("NONE" | "AWS_IAM", Some(_)) => {
            return Err(bad(format!(
                "Authorization type {kind} takes no authorizerId; use CUSTOM or JWT."
            )))
        }
        ("JWT" | "CUSTOM", None) => {
            return Err(bad(format!(
                "Authorization type {kind} needs an authorizerId."
            )))
        }
        (other, _) => {
            return Err(bad(format!(
                "Invalid authorizationType {other}: use NONE, AWS_IAM, CUSTOM or JWT."
            )))
        }
    }
    match rec.get("authorizationScopes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            if !a.is_empty() && kind != "JWT" {
                return Err(bad(
                    "authorizationScopes are supported only for JWT routes in HTTP APIs.",
                ));
            }
        }
        Some(_) => {
            return Err(bad(
                "Invalid input: authorizationScopes must be a list of strings.",
            ))
        }
    }
    if opt_bool(rec, "apiKeyRequired")? == Some(true) {
        return Err(bad("API keys are not supported for HTTP APIs."));
    }
    if let Some(name) = opt_str(rec, "operationName")? {
        check_len("operationName", name, 1, 64)?;
    }
    Ok(())
}

/// The integration id of a route target `integrations/<id>`.
pub fn target_integration(target: &str) -> Result<&str> {
    target
        .strip_prefix("integrations/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| {
            bad(format!(
                "Invalid target {target}: a route's target must be integrations/<integration id>."
            ))
        })
}

/// `$default`, or up to 128 letters, digits, `-` and `_`.
pub fn check_stage_name(name: &str) -> Result<()> {
    let ok = name == DEFAULT_STAGE
        || ((1..=128).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    if !ok {
        return Err(bad(format!(
            "Invalid stage name {name}: use $default or letters, digits, '-' and '_' (at most 128)."
        )));
    }
    Ok(())
}

/// Stage variable names are letters, digits and `_`; values are at most 2048 of letters,
/// digits and ` -._~:/?#&=,`.
pub fn check_stage_variables(vars: &Map<String, Value>) -> Result<()> {
    for (k, v) in vars {
        let v = v.as_str().unwrap_or_default();
        let name_ok = (1..=64).contains(&k.len())
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok {
            return Err(bad(format!(
                "Invalid stage variable name {k}: use letters, digits and '_' (at most 64)."
            )));
        }
        let value_ok = v.len() <= 2048
            && v.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(
                        c,
                        ' ' | '-' | '.' | '_' | '~' | ':' | '/' | '?' | '#' | '&' | '=' | ','
                    )
            });
        if !value_ok {
            return Err(bad(format!(
                "Invalid stage variable value for {k}: use letters, digits and ' -._~:/?#&=,' (at most 2048)."
            )));
        }
    }
    Ok(())
}

/// Checks a `corsConfiguration` and returns what is stored: only its known members.
pub fn check_cors(v: &Value) -> Result<Value> {
    let Value::Object(m) = v else {
        return Err(bad("Invalid input: corsConfiguration must be an object."));
    };
    let mut out = Map::new();
    for field in [
        "allowOrigins",
        "allowMethods",
        "allowHeaders",
        "exposeHeaders",
    ] {
        match m.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                out.insert(field.into(), json!(items));
            }
            Some(_) => {
                return Err(bad(format!(
                    "Invalid input: corsConfiguration.{field} must be a list of strings."
                )))
            }
        }
    }
    if let Some(methods) = out.get("allowMethods").and_then(Value::as_array) {
        for method in methods.iter().filter_map(Value::as_str) {
            if method != "*" && !METHODS[1..].contains(&method.to_ascii_uppercase().as_str()) {
                return Err(bad(format!(
                    "Invalid CORS allowMethods {method}: use HTTP methods or *."
                )));
            }
        }
    }
    if let Some(age) = opt_i64(v, "maxAge")? {
        if !(-1..=86_400).contains(&age) {
            return Err(bad(format!(
                "Invalid CORS maxAge {age}: it must be between -1 and 86400."
            )));
        }
        out.insert("maxAge".into(), json!(age));
    }
    if let Some(b) = opt_bool(v, "allowCredentials")? {
        out.insert("allowCredentials".into(), json!(b));
    }
    Ok(Value::Object(out))
}

/// Checks tags: at most [`TAGS_MAX`], keys of 1 to 128 characters not starting with
/// `aws:`, values of at most 256.
pub fn check_tags(tags: &Map<String, Value>) -> Result<()> {
    if tags.len() > TAGS_MAX {
        return Err(bad(format!(
            "Too many tags: a resource has at most {TAGS_MAX}."
        )));
    }
    for (k, v) in tags {
        check_len("tag key", k, 1, 128)?;
        if k.starts_with("aws:") {
            return Err(bad(format!(
                "Invalid tag key {k}: the aws: prefix is reserved."
            )));
        }
        check_len("tag value", v.as_str().unwrap_or_default(), 0, 256)?;
    }
    Ok(())
}

pub fn api_arn(region: &str, api_id: &str) -> String {
    format!("arn:aws:apigateway:{region}::/apis/{api_id}")
}

pub fn stage_arn(region: &str, api_id: &str, stage: &str) -> String {
    format!("arn:aws:apigateway:{region}::/apis/{api_id}/stages/{stage}")
}

/// What a taggable ARN names: (region, API id, stage name for a stage).
pub fn parse_tag_arn(arn: &str) -> Option<(String, String, Option<String>)> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("apigateway:")?;
    let (region, rest) = rest.split_once(':')?;
    let path = rest.strip_prefix(":/apis/")?;
    if !partition.starts_with("aws") || !region_ok(region) {
        return None;
    }
    let segs: Vec<&str> = path.split('/').collect();
    match segs[..] {
        [api] if !api.is_empty() => Some((region.into(), api.into(), None)),
        [api, "stages", stage] if !api.is_empty() && !stage.is_empty() => {
            Some((region.into(), api.into(), Some(stage.into())))
        }
        _ => None,
    }
}

/// The page size a `maxResults` query parameter asks for.
pub fn max_results(raw: Option<&str>) -> Result<usize> {
    match raw {
        None => Ok(PAGE_DEFAULT),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(PAGE_MAX)),
            _ => Err(bad(format!(
                "Invalid maxResults {v}: it must be a positive integer."
            ))),
        },
    }
}

pub fn encode_token(key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

pub fn decode_token(token: &str) -> Result<String> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| bad("Invalid nextToken specified."))
}

/// One page of `items` (in key order): those after the token's key, at most `limit`,
/// as `{"items": [...], "nextToken": ...}` with the token only when more follow.
pub fn page<'a>(
    items: impl Iterator<Item = (&'a String, Value)>,
    token: Option<&str>,
    limit: usize,
) -> Result<Value> {
    let after = token.map(decode_token).transpose()?;
    let mut out = Vec::new();
    let mut last: Option<&String> = None;
    let mut more = false;
    for (key, item) in items {
        if after.as_ref().is_some_and(|a| key <= a) {
            continue;
        }
        if out.len() == limit {
            more = true;
            break;
        }
        out.push(item);
        last = Some(key);
    }
    let mut v = json!({ "items": out });
    if let (true, Some(k)) = (more, last) {
        v["nextToken"] = json!(encode_token(k));
    }
    Ok(v)
}
