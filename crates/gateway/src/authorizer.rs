//! Lambda authorizers' pure parts: reading identity sources off a request, the
//! authorizer event (payload 1.0 and 2.0), judging the function's answer (simple
//! responses and IAM policies), and a bounded cache of decisions with expiry.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::event::{event_v1, event_v2, EventContext};
use crate::request::HttpRequest;
use crate::response::HttpResponse;

/// 401 `Unauthorized`: an identity source is missing, or a JWT is not valid.
pub fn unauthorized() -> HttpResponse {
    message(401, "Unauthorized")
}

/// 403 `Forbidden`: the authorizer said no, or a JWT lacks the route's scopes.
pub fn forbidden() -> HttpResponse {
    message(403, "Forbidden")
}

fn message(status: u16, text: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: json!({ "message": text }).to_string().into(),
    }
}

/// The values of `sources` (`$request.header.Name`, `$request.querystring.name`,
/// `$context.name`, `$stageVariables.name`) for `req`, in order. `None` when any of
/// them is missing or empty, which API Gateway answers with 401 without calling the
/// authorizer. Repeated headers and parameters are joined with commas.
pub fn identity_values(
    sources: &[String],
    req: &HttpRequest,
    ctx: &EventContext,
) -> Option<Vec<String>> {
    sources
        .iter()
        .map(|s| identity_value(s, req, ctx).filter(|v| !v.is_empty()))
        .collect()
}

fn identity_value(source: &str, req: &HttpRequest, ctx: &EventContext) -> Option<String> {
    if let Some(name) = source.strip_prefix("$request.header.") {
        let values: Vec<&str> = req.header_values(name).collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if let Some(name) = source.strip_prefix("$request.querystring.") {
        let values: Vec<String> = req
            .query_pairs()
            .into_iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if let Some(name) = source.strip_prefix("$stageVariables.") {
        return pair(&ctx.stage_variables, name);
    }
    if let Some(name) = source.strip_prefix("$context.") {
        return match name {
            "apiId" => Some(ctx.api_id.clone()),
            "stage" => Some(ctx.stage.clone()),
            "routeKey" => Some(ctx.route_key.clone()),
            "requestId" => Some(ctx.request_id.clone()),
            "domainName" => Some(ctx.domain_name.clone()),
            "httpMethod" => Some(req.method.clone()),
            "path" => Some(req.raw_path.clone()),
            "identity.sourceIp" => Some(req.source_ip.clone()),
            _ => None,
        };
    }
    None
}

fn pair(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// Whether `source` is an identity source Eddy can read (see [`identity_values`]).
pub fn identity_source_ok(source: &str) -> bool {
    [
        "$request.header.",
        "$request.querystring.",
        "$context.",
        "$stageVariables.",
    ]
    .iter()
    .any(|p| source.strip_prefix(p).is_some_and(|rest| !rest.is_empty()))
}

/// The ARN an authorizer is asked about and a policy must allow:
/// `arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD><path>`.
pub fn route_arn(
    region: &str,
    account_id: &str,
    api_id: &str,
    stage: &str,
    method: &str,
    path: &str,
) -> String {
    format!("arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{method}{path}")
}

/// The payload format 2.0 authorizer event: the request's 2.0 event without its body,
/// with `type`, `routeArn` and the identity source values.
pub fn authorizer_event_v2(
    req: &HttpRequest,
    ctx: &EventContext,
    route_arn: &str,
    identity: &[String],
) -> Value {
    let mut event = event_v2(req, ctx);
    if let Some(m) = event.as_object_mut() {
        m.remove("body");
        m.remove("isBase64Encoded");
        m.insert("type".into(), json!("REQUEST"));
        m.insert("routeArn".into(), json!(route_arn));
        m.insert("identitySource".into(), json!(identity));
    }
    event
}

/// The payload format 1.0 authorizer event: the request's 1.0 event without its body,
/// with `type`, `methodArn` and the identity source values joined with commas (also as
/// `authorizationToken`).
pub fn authorizer_event_v1(
    req: &HttpRequest,
    ctx: &EventContext,
    method_arn: &str,
    identity: &[String],
) -> Value {
    let mut event = event_v1(req, ctx);
    let joined = identity.join(",");
    if let Some(m) = event.as_object_mut() {
        m.remove("body");
        m.remove("isBase64Encoded");
        m.insert("type".into(), json!("REQUEST"));
        m.insert("methodArn".into(), json!(method_arn));
        m.insert("identitySource".into(), json!(joined));
        m.insert("authorizationToken".into(), json!(joined));
    }
    event
}

/// What an authorizer decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The request goes on; `context` (an object, or null) reaches the integration as
    /// `requestContext.authorizer.lambda`.
    Allow { context: Value },
    /// 403.
    Deny,
}

/// An authorizer's answer that is neither a simple response nor an IAM policy
/// (API Gateway answers 500).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed authorizer response: {0}")]
pub struct MalformedAuthorizerResponse(pub String);

/// Judges a Lambda authorizer's answer: `{"isAuthorized": bool, "context": {...}}`
/// when `simple`, otherwise `{"principalId", "policyDocument", "context"}` whose policy
/// must allow `execute-api:Invoke` on `arn` and deny it nowhere.
pub fn decide(
    payload: &[u8],
    simple: bool,
    arn: &str,
) -> Result<Decision, MalformedAuthorizerResponse> {
    let bad = |why: &str| MalformedAuthorizerResponse(why.to_string());
    let v: Value = serde_json::from_slice(payload).map_err(|_| bad("not JSON"))?;
    let context = match v.get("context") {
        None | Some(Value::Null) => Value::Null,
        Some(c @ Value::Object(_)) => c.clone(),
        Some(_) => return Err(bad("context is not an object")),
    };
    let allowed = if simple {
        v.get("isAuthorized")
            .and_then(Value::as_bool)
            .ok_or_else(|| bad("isAuthorized is not a boolean"))?
    } else {
        let doc = v
            .get("policyDocument")
            .filter(|d| d.is_object())
            .ok_or_else(|| bad("no policyDocument"))?;
        policy_allows(doc, arn).map_err(bad)?
    };
    Ok(if allowed {
        Decision::Allow { context }
    } else {
        Decision::Deny
    })
}

/// Whether an IAM policy document allows `execute-api:Invoke` on `arn`: some Allow
/// statement matches and no Deny statement does (an explicit Deny wins).
pub fn policy_allows(doc: &Value, arn: &str) -> Result<bool, &'static str> {
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => return Err("policyDocument has no Statement"),
    };
    let mut allowed = false;
    for s in statements {
        let matches = strings(s.get("Action"))
            .iter()
            .any(|a| glob(&a.to_ascii_lowercase(), "execute-api:invoke"))
            && strings(s.get("Resource")).iter().any(|r| glob(r, arn));
        if !matches {
            continue;
        }
        match s.get("Effect").and_then(Value::as_str) {
            Some("Allow") => allowed = true,
            Some("Deny") => return Ok(false),
            _ => return Err("a statement's Effect is neither Allow nor Deny"),
        }
    }
    Ok(allowed)
}

/// A string or an array of strings, as IAM writes Action and Resource.
fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// IAM's wildcard match: `*` is any run of characters, `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was and the text position it is matching up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A bounded map whose entries expire. Time is the caller's (`now_ms`), so tests move
/// it by hand. When full, expired entries go first, then the one expiring soonest.
#[derive(Debug)]
pub struct TtlCache<V> {
    entries: HashMap<String, (i64, V)>,
    entries_max: usize,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(entries_max: usize) -> Self {
        debug_assert!(entries_max > 0);
        Self {
            entries: HashMap::new(),
            entries_max,
        }
    }

    /// The value under `key` if it has not expired by `now_ms`.
    pub fn get(&self, key: &str, now_ms: i64) -> Option<V> {
        self.entries
            .get(key)
            .filter(|(expires_ms, _)| *expires_ms > now_ms)
            .map(|(_, v)| v.clone())
    }

    /// Keeps `value` under `key` until `expires_ms`.
    pub fn insert(&mut self, key: String, value: V, expires_ms: i64, now_ms: i64) {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.entries_max {
            self.entries.retain(|_, (e, _)| *e > now_ms);
            if self.entries.len() >= self.entries_max {
                let soonest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (e, _))| *e)
                    .map(|(k, _)| k.clone());
                if let Some(k) = soonest {
                    self.entries.remove(&k);
                }
            }
        }
        self.entries.insert(key, (expires_ms, value));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            raw_path: "/pets".into(),
            raw_query: query.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn identity_sources() {
        let check = |sources: &[&str], expected: Option<&[&str]>| {
            let req = request(
                "token=q1&token=q2&empty=",
                &[("Authorization", "abc"), ("x-multi", "1"), ("X-Multi", "2")],
            );
            let ctx = EventContext {
                stage: "prod".into(),
                stage_variables: vec![("env".into(), "test".into())],
                ..Default::default()
            };
            let sources: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
            let got = identity_values(&sources, &req, &ctx);
            let expected = expected.map(|e| e.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, expected, "{sources:?}");
        };
        check(&["$request.header.authorization"], Some(&["abc"]));
        check(&["$request.header.X-MULTI"], Some(&["1,2"]));
        check(&["$request.querystring.token"], Some(&["q1,q2"]));
        check(
            &["$context.stage", "$stageVariables.env"],
            Some(&["prod", "test"]),
        );
        check(
            &["$request.header.Authorization", "$request.header.nope"],
            None,
        );
        check(&["$request.querystring.empty"], None);
        check(&["$stageVariables.nope"], None);
        check(&[], Some(&[]));
    }

    #[test]
    fn identity_source_syntax() {
        assert!(identity_source_ok("$request.header.Authorization"));
        assert!(identity_source_ok("$request.querystring.x"));
        assert!(!identity_source_ok("$request.header."));
        assert!(!identity_source_ok("request.header.x"));
        assert!(!identity_source_ok("$request.body.x"));
    }

    #[test]
    fn events() {
        let req = HttpRequest {
            body: "secret".into(),
            ..request("a=1", &[("Authorization", "tok")])
        };
        let ctx = EventContext {
            api_id: "abc".into(),
            stage: "$default".into(),
            route_key: "GET /pets".into(),
            ..Default::default()
        };
        let arn = route_arn("us-east-1", "123", "abc", "$default", "GET", "/pets");
        assert_eq!(
            arn,
            "arn:aws:execute-api:us-east-1:123:abc/$default/GET/pets"
        );
        let v2 = authorizer_event_v2(&req, &ctx, &arn, &["tok".into()]);
        assert_eq!(v2["type"], "REQUEST");
        assert_eq!(v2["version"], "2.0");
        assert_eq!(v2["routeArn"], arn);
        assert_eq!(v2["identitySource"], json!(["tok"]));
        assert_eq!(v2["routeKey"], "GET /pets");
        assert_eq!(v2["queryStringParameters"], json!({"a": "1"}));
        assert_eq!(v2.get("body"), None);
        let v1 = authorizer_event_v1(&req, &ctx, &arn, &["tok".into(), "x".into()]);
        assert_eq!(v1["version"], "1.0");
        assert_eq!(v1["methodArn"], arn);
        assert_eq!(v1["identitySource"], "tok,x");
        assert_eq!(v1["authorizationToken"], "tok,x");
        assert_eq!(v1["headers"]["Authorization"], "tok");
        assert_eq!(v1.get("body"), None);
    }

    const ARN: &str = "arn:aws:execute-api:us-east-1:123:abc/prod/GET/pets";

    fn check_decide(simple: bool, payload: &str, expected: Result<Decision, &str>) {
        let got = decide(payload.as_bytes(), simple, ARN).map_err(|e| e.0);
        assert_eq!(got, expected.map_err(str::to_string), "{payload}");
    }

    #[test]
    fn simple_responses() {
        let allow = |c: Value| Ok(Decision::Allow { context: c });
        check_decide(true, r#"{"isAuthorized": true}"#, allow(Value::Null));
        check_decide(
            true,
            r#"{"isAuthorized": true, "context": {"user": "ann", "n": 1}}"#,
            allow(json!({"user": "ann", "n": 1})),
        );
        check_decide(true, r#"{"isAuthorized": false}"#, Ok(Decision::Deny));
        check_decide(
            true,
            r#"{"isAuthorized": "yes"}"#,
            Err("isAuthorized is not a boolean"),
        );
        check_decide(true, "nope", Err("not JSON"));
        check_decide(
            true,
            r#"{"isAuthorized": true, "context": 3}"#,
            Err("context is not an object"),
        );
    }

    #[test]
    fn policy_responses() {
        let policy = |stmts: &str| {
            format!(
                r#"{{"principalId": "u", "policyDocument": {{"Version": "2012-10-17", "Statement": {stmts}}}, "context": {{"k": "v"}}}}"#
            )
        };
        let allow = Ok(Decision::Allow {
            context: json!({"k": "v"}),
        });
        let stmt = |effect: &str, action: &str, resource: &str| {
            format!(r#"{{"Effect": "{effect}", "Action": "{action}", "Resource": "{resource}"}}"#)
        };
        check_decide(
            false,
            &policy(&format!("[{}]", stmt("Allow", "execute-api:Invoke", ARN))),
            allow.clone(),
        );
        // A single statement need not be in an array; wildcards match.
        check_decide(
            false,
            &policy(&stmt(
                "Allow",
                "execute-api:*",
                "arn:aws:execute-api:*:*:abc/*",
            )),
            allow.clone(),
        );
        check_decide(false, &policy(&stmt("Allow", "*", "*")), allow.clone());
        check_decide(
            false,
            &policy(&stmt(
                "Allow",
                "execute-api:Invoke",
                "arn:aws:execute-api:us-east-1:123:abc/prod/POST/*",
            )),
            Ok(Decision::Deny),
        );
        // An explicit Deny wins over an Allow.
        check_decide(
            false,
            &policy(&format!(
                "[{}, {}]",
                stmt("Allow", "*", "*"),
                stmt("Deny", "execute-api:Invoke", "*/GET/pets")
            )),
            Ok(Decision::Deny),
        );
        check_decide(false, &policy("[]"), Ok(Decision::Deny));
        check_decide(false, r#"{"principalId": "u"}"#, Err("no policyDocument"));
        check_decide(
            false,
            &policy(&stmt("Maybe", "*", "*")),
            Err("a statement's Effect is neither Allow nor Deny"),
        );
    }

    #[test]
    fn globs() {
        for (p, t, m) in [
            ("*", "", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbb", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*/GET/*", "x/GET/pets", true),
            ("*b*b", "abxb", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ] {
            assert_eq!(glob(p, t), m, "{p} {t}");
        }
    }

    #[test]
    fn cache_expires_and_stays_bounded() {
        let mut c = TtlCache::new(2);
        c.insert("a".into(), 1, 1_000, 0);
        assert_eq!(c.get("a", 999), Some(1));
        assert_eq!(c.get("a", 1_000), None);
        c.insert("b".into(), 2, 5_000, 0);
        // Full: the entry expiring soonest goes.
        c.insert("c".into(), 3, 3_000, 0);
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c.get("a", 0), c.get("b", 0), c.get("c", 0)),
            (None, Some(2), Some(3))
        );
        // Expired entries go before live ones.
        c.insert("d".into(), 4, 9_000, 4_000);
        assert_eq!(
            (c.get("b", 4_000), c.get("c", 0), c.get("d", 4_000)),
            (Some(2), None, Some(4))
        );
        // Replacing a key never evicts another.
        c.insert("d".into(), 5, 9_000, 4_000);
        assert_eq!((c.get("b", 4_000), c.get("d", 4_000)), (Some(2), Some(5)));
    }
}
