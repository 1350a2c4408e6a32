//! The Lambda event for a request: payload format 2.0 (HTTP APIs, function URLs)
//! and 1.0 (HTTP APIs on the old format, REST proxy integrations).

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::request::HttpRequest;
use crate::route::DEFAULT_ROUTE;

/// What the gateway knows about a request besides the request itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventContext {
    pub api_id: String,
    pub domain_name: String,
    /// The first label of `domain_name`; the url id for a function URL.
    pub domain_prefix: String,
    pub stage: String,
    /// The matched route key, e.g. `GET /items/{id}` or `$default`.
    pub route_key: String,
    pub path_parameters: Vec<(String, String)>,
    pub stage_variables: Vec<(String, String)>,
    pub request_id: String,
    pub account_id: String,
    /// `requestContext.authorizer`, e.g. `{"iam": {...}}` for an `AWS_IAM` function URL.
    pub authorizer: Option<Value>,
    /// A REST API's `binaryMediaTypes`, which decide when a 1.0 body is base64.
    /// `None` means HTTP API and function URL rules (see [`body_is_text`]).
    pub binary_media_types: Option<Vec<String>>,
}

impl EventContext {
    /// The context of a function URL request: its url id stands in for the API
    /// id and domain prefix, and route key and stage are `$default`.
    pub fn function_url(
        url_id: &str,
        domain_name: &str,
        account_id: &str,
        request_id: &str,
    ) -> EventContext {
        EventContext {
            api_id: url_id.to_string(),
            domain_name: domain_name.to_string(),
            domain_prefix: url_id.to_string(),
            stage: DEFAULT_ROUTE.to_string(),
            route_key: DEFAULT_ROUTE.to_string(),
            request_id: request_id.to_string(),
            account_id: account_id.to_string(),
            ..EventContext::default()
        }
    }
}

/// The caller identity of a SigV4-signed request to an `AWS_IAM` function URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IamCaller {
    pub access_key: String,
    pub account_id: String,
    pub caller_id: String,
    pub user_arn: String,
    pub user_id: String,
}

impl IamCaller {
    /// The `requestContext.authorizer` value a function URL sends for this caller.
    pub fn authorizer(&self) -> Value {
        json!({
            "iam": {
                "accessKey": self.access_key,
                "accountId": self.account_id,
                "callerId": self.caller_id,
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": self.user_arn,
                "userId": self.user_id,
            }
        })
    }
}

/// The payload format 2.0 event for `req`.
pub fn event_v2(req: &HttpRequest, ctx: &EventContext) -> Value {
    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("routeKey".into(), json!(ctx.route_key));
    event.insert("rawPath".into(), json!(req.raw_path));
    event.insert("rawQueryString".into(), json!(req.raw_query));

    let cookies: Vec<&str> = req
        .header_values("cookie")
        .flat_map(|h| h.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if !cookies.is_empty() {
        event.insert("cookies".into(), json!(cookies));
    }

    // Names lower-cased, repeats joined with commas; cookies travel in `cookies`.
    let mut headers = Map::new();
    for (name, value) in &req.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            continue;
        }
        join_value(&mut headers, name, value);
    }
    event.insert("headers".into(), Value::Object(headers));

    // Repeated parameters are joined with commas too, as 2.0 has no multi-value maps.
    let mut query = Map::new();
    for (name, value) in req.query_pairs() {
        join_value(&mut query, name, &value);
    }
    if !query.is_empty() {
        event.insert("queryStringParameters".into(), Value::Object(query));
    }
    if !ctx.path_parameters.is_empty() {
        event.insert("pathParameters".into(), pairs_object(&ctx.path_parameters));
    }
    if !ctx.stage_variables.is_empty() {
        event.insert("stageVariables".into(), pairs_object(&ctx.stage_variables));
    }

    let mut request_context = json!({
        "accountId": ctx.account_id,
        "apiId": ctx.api_id,
        "domainName": ctx.domain_name,
        "domainPrefix": ctx.domain_prefix,
        "http": {
            "method": req.method,
            "path": req.raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": req.source_ip,
            "userAgent": req.header("user-agent").unwrap_or(""),
        },
        "requestId": ctx.request_id,
        "routeKey": ctx.route_key,
        "stage": ctx.stage,
        "time": clf_time(req.time_ms),
        "timeEpoch": req.time_ms,
    });
    if let Some(authorizer) = &ctx.authorizer {
        request_context["authorizer"] = authorizer.clone();
    }
    event.insert("requestContext".into(), request_context);

    let (body, base64) = encode_body(req, None);
    if let Some(body) = body {
        event.insert("body".into(), json!(body));
    }
    event.insert("isBase64Encoded".into(), json!(base64));
    Value::Object(event)
}

/// Adds `value` under `name`, after a comma if the name is already there.
fn join_value(map: &mut Map<String, Value>, name: String, value: &str) {
    match map.get_mut(&name) {
        Some(Value::String(joined)) => {
            joined.push(',');
            joined.push_str(value);
        }
        _ => {
            map.insert(name, json!(value));
        }
    }
}

/// The payload format 1.0 event for `req`.
pub fn event_v1(req: &HttpRequest, ctx: &EventContext) -> Value {
    // 1.0 keeps header names as sent; repeats differing only in case are one
    // header, named as it first arrived.
    let mut headers: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in &req.headers {
        match headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, values)) => values.push(value.clone()),
            None => headers.push((name.clone(), vec![value.clone()])),
        }
    }
    let mut query: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in req.query_pairs() {
        match query.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => query.push((name, vec![value])),
        }
    }
    let (headers, multi_headers) = single_and_multi(&headers);
    let (query, multi_query) = single_and_multi(&query);

    let resource = resource_path(&ctx.route_key);
    let mut request_context = json!({
        "accountId": ctx.account_id,
        "apiId": ctx.api_id,
        "domainName": ctx.domain_name,
        "domainPrefix": ctx.domain_prefix,
        "extendedRequestId": ctx.request_id,
        "httpMethod": req.method,
        "identity": {
            "accessKey": null,
            "accountId": null,
            "caller": null,
            "cognitoAmr": null,
            "cognitoAuthenticationProvider": null,
            "cognitoAuthenticationType": null,
            "cognitoIdentityId": null,
            "cognitoIdentityPoolId": null,
            "principalOrgId": null,
            "sourceIp": req.source_ip,
            "user": null,
            "userAgent": req.header("user-agent").unwrap_or(""),
            "userArn": null,
        },
        "path": req.raw_path,
        "protocol": "HTTP/1.1",
        "requestId": ctx.request_id,
        "requestTime": clf_time(req.time_ms),
        "requestTimeEpoch": req.time_ms,
        "resourceId": ctx.route_key,
        "resourcePath": resource,
        "stage": ctx.stage,
    });
    if let Some(authorizer) = &ctx.authorizer {
        request_context["authorizer"] = authorizer.clone();
    }

    let (body, base64) = encode_body(req, ctx.binary_media_types.as_deref());
    let or_null = |pairs: &[(String, String)]| {
        if pairs.is_empty() {
            Value::Null
        } else {
            pairs_object(pairs)
        }
    };
    json!({
        "version": "1.0",
        "resource": resource,
        "path": req.raw_path,
        "httpMethod": req.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "requestContext": request_context,
        "pathParameters": or_null(&ctx.path_parameters),
        "stageVariables": or_null(&ctx.stage_variables),
        "body": body,
        "isBase64Encoded": base64,
    })
}

/// Whether a body of this media type reaches the function as text. HTTP APIs and
/// function URLs pass `text/*`, JSON, XML and JavaScript as text and base64-encode
/// everything else, a missing content type and form posts included. A REST API
/// base64-encodes exactly the types its `binaryMediaTypes` list.
pub fn body_is_text(media_type: Option<&str>, binary_media_types: Option<&[String]>) -> bool {
    match binary_media_types {
        None => media_type.is_some_and(|m| {
            m.starts_with("text/")
                || matches!(
                    m,
                    "application/json" | "application/xml" | "application/javascript"
                )
        }),
        Some(binary) => !binary.iter().any(|b| media_matches(b, media_type)),
    }
}

/// Whether `pattern` (`*/*`, `image/*` or a full type) covers `media_type`.
fn media_matches(pattern: &str, media_type: Option<&str>) -> bool {
    let pattern = pattern.trim().to_ascii_lowercase();
    if pattern == "*/*" {
        return true;
    }
    let Some(media) = media_type else {
        return false;
    };
    match pattern.strip_suffix("/*") {
        Some(kind) => media.split('/').next() == Some(kind),
        None => pattern == media,
    }
}

/// The body as the event carries it, and whether that is base64. An empty body
/// is absent; a body that is not UTF-8 is base64 whatever its type, since an
/// event is JSON and cannot carry it otherwise.
fn encode_body(req: &HttpRequest, binary_media_types: Option<&[String]>) -> (Option<String>, bool) {
    if req.body.is_empty() {
        return (None, false);
    }
    if body_is_text(req.media_type().as_deref(), binary_media_types) {
        if let Ok(text) = std::str::from_utf8(&req.body) {
            return (Some(text.to_string()), false);
        }
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(&req.body);
    (Some(encoded), true)
}

/// `resource` of a 1.0 event: the route's path, or `$default`.
fn resource_path(route_key: &str) -> &str {
    match route_key.split_once(' ') {
        Some((_, path)) => path,
        None => route_key,
    }
}

fn pairs_object(pairs: &[(String, String)]) -> Value {
    let map: Map<String, Value> = pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    Value::Object(map)
}

/// The 1.0 single-value map (last value wins) and multi-value map, both `null`
/// when there is nothing to put in them.
fn single_and_multi(entries: &[(String, Vec<String>)]) -> (Value, Value) {
    if entries.is_empty() {
        return (Value::Null, Value::Null);
    }
    let mut single = Map::new();
    let mut multi = Map::new();
    for (name, values) in entries {
        if let Some(last) = values.last() {
            single.insert(name.clone(), json!(last));
        }
        multi.insert(name.clone(), json!(values));
    }
    (Value::Object(single), Value::Object(multi))
}

/// `dd/Mon/yyyy:HH:mm:ss +0000`, the request time format of both payloads.
pub(crate) fn clf_time(time_ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = time_ms.div_euclid(1000);
    let (year, month, day) = sigv4::civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{day:02}/{}/{year:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[(month - 1) as usize],
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use bytes::Bytes;

    fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpRequest {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        HttpRequest {
            method: method.into(),
            raw_path: path.into(),
            raw_query: query.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Bytes::copy_from_slice(body),
            source_ip: "198.51.100.7".into(),
            time_ms: 1_583_348_638_390,
        }
    }

    fn api() -> EventContext {
        EventContext {
            api_id: "a1b2c3".into(),
            domain_name: "a1b2c3.execute-api.us-east-1.amazonaws.com".into(),
            domain_prefix: "a1b2c3".into(),
            stage: "$default".into(),
            route_key: "$default".into(),
            request_id: "req-1".into(),
            account_id: "123456789012".into(),
            ..EventContext::default()
        }
    }

    /// Compares the top-level fields named in `expected`; `"<absent>"` means the
    /// field must not be there at all.
    fn check(event: &Value, expected: Value) {
        for (key, want) in expected.as_object().unwrap() {
            let got = event.get(key);
            if want == "<absent>" {
                assert_eq!(got, None, "{key} should be absent in {event:#}");
            } else {
                assert_eq!(got, Some(want), "{key} in {event:#}");
            }
        }
    }

    #[test]
    fn v2_full_event() {
        let req = request(
            "POST",
            "/my/path?parameter1=value1&parameter1=value2&parameter2=value",
            &[
                ("Header1", "value1"),
                ("Header2", "value1"),
                ("Cookie", "cookie1=a; cookie2=b"),
                ("header2", "value2"),
                ("User-Agent", "agent"),
                ("Content-Type", "text/plain"),
            ],
            b"Hello from Lambda",
        );
        let ctx = EventContext {
            path_parameters: vec![("parameter1".into(), "value1".into())],
            stage_variables: vec![("stageVariable1".into(), "value1".into())],
            ..api()
        };
        assert_eq!(
            event_v2(&req, &ctx),
            json!({
                "version": "2.0",
                "routeKey": "$default",
                "rawPath": "/my/path",
                "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
                "cookies": ["cookie1=a", "cookie2=b"],
                "headers": {
                    "header1": "value1",
                    "header2": "value1,value2",
                    "user-agent": "agent",
                    "content-type": "text/plain",
                },
                "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
                "pathParameters": {"parameter1": "value1"},
                "stageVariables": {"stageVariable1": "value1"},
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "a1b2c3",
                    "domainName": "a1b2c3.execute-api.us-east-1.amazonaws.com",
                    "domainPrefix": "a1b2c3",
                    "http": {
                        "method": "POST",
                        "path": "/my/path",
                        "protocol": "HTTP/1.1",
                        "sourceIp": "198.51.100.7",
                        "userAgent": "agent",
                    },
                    "requestId": "req-1",
                    "routeKey": "$default",
                    "stage": "$default",
                    "time": "04/Mar/2020:19:03:58 +0000",
                    "timeEpoch": 1_583_348_638_390_i64,
                },
                "body": "Hello from Lambda",
                "isBase64Encoded": false,
            })
        );
    }

    #[test]
    fn v2_optional_fields() {
        let event = event_v2(&request("GET", "/", &[], b""), &api());
        check(
            &event,
            json!({
                "rawQueryString": "",
                "headers": {},
                "cookies": "<absent>",
                "queryStringParameters": "<absent>",
                "pathParameters": "<absent>",
                "stageVariables": "<absent>",
                "body": "<absent>",
                "isBase64Encoded": false,
            }),
        );
        assert_eq!(event["requestContext"]["http"]["userAgent"], "");
        assert_eq!(event["requestContext"].get("authorizer"), None);

        // Cookies from every Cookie header, split at `;`, blanks dropped.
        let req = request(
            "GET",
            "/",
            &[
                ("Cookie", "a=1; b=2;"),
                ("X-Other", "x"),
                ("cookie", " c=3"),
            ],
            b"",
        );
        check(
            &event_v2(&req, &api()),
            json!({"cookies": ["a=1", "b=2", "c=3"], "headers": {"x-other": "x"}}),
        );

        // Query values decoded, raw string left as sent.
        let req = request("GET", "/s?q=a+b&q=c%26d&empty&%3Dk=v", &[], b"");
        check(
            &event_v2(&req, &api()),
            json!({
                "rawQueryString": "q=a+b&q=c%26d&empty&%3Dk=v",
                "queryStringParameters": {"q": "a b,c&d", "empty": "", "=k": "v"},
            }),
        );
    }

    #[test]
    fn v2_body_encoding() {
        // (content type, body, event body, isBase64Encoded)
        let cases: &[(Option<&str>, &[u8], Value, bool)] = &[
            (
                Some("application/json"),
                br#"{"a":1}"#,
                json!(r#"{"a":1}"#),
                false,
            ),
            (
                Some("text/html; charset=utf-8"),
                b"<p>",
                json!("<p>"),
                false,
            ),
            (Some("TEXT/CSV"), b"a,b", json!("a,b"), false),
            (Some("application/xml"), b"<a/>", json!("<a/>"), false),
            (Some("application/javascript"), b"f()", json!("f()"), false),
            (
                Some("application/octet-stream"),
                &[0, 159, 146, 150],
                json!("AJ+Slg=="),
                true,
            ),
            (
                Some("application/x-www-form-urlencoded"),
                b"a=1",
                json!("YT0x"),
                true,
            ),
            (Some("image/png"), b"hi", json!("aGk="), true),
            (None, b"hi", json!("aGk="), true),
            (Some("application/json"), &[0xff, 0xfe], json!("//4="), true),
            (
                Some("application/octet-stream"),
                b"",
                json!("<absent>"),
                false,
            ),
        ];
        for (content_type, body, want_body, want_base64) in cases {
            let headers: Vec<(&str, &str)> =
                content_type.iter().map(|c| ("Content-Type", *c)).collect();
            let event = event_v2(&request("POST", "/", &headers, body), &api());
            check(
                &event,
                json!({"body": want_body, "isBase64Encoded": want_base64}),
            );
        }
    }

    #[test]
    fn v2_function_url() {
        let caller = IamCaller {
            access_key: "AKIAEXAMPLE".into(),
            account_id: "111122223333".into(),
            caller_id: "AIDAEXAMPLE".into(),
            user_arn: "arn:aws:iam::111122223333:user/ann".into(),
            user_id: "AIDAEXAMPLE".into(),
        };
        let ctx = EventContext {
            authorizer: Some(caller.authorizer()),
            ..EventContext::function_url(
                "abcdefg",
                "abcdefg.lambda-url.us-east-1.on.aws",
                "123456789012",
                "req-9",
            )
        };
        let event = event_v2(&request("GET", "/example/test/demo", &[], b""), &ctx);
        check(
            &event,
            json!({"routeKey": "$default", "rawPath": "/example/test/demo"}),
        );
        let rc = &event["requestContext"];
        assert_eq!(rc["apiId"], "abcdefg");
        assert_eq!(rc["domainPrefix"], "abcdefg");
        assert_eq!(rc["domainName"], "abcdefg.lambda-url.us-east-1.on.aws");
        assert_eq!(rc["routeKey"], "$default");
        assert_eq!(rc["stage"], "$default");
        assert_eq!(rc["requestId"], "req-9");
        assert_eq!(
            rc["authorizer"],
            json!({"iam": {
                "accessKey": "AKIAEXAMPLE",
                "accountId": "111122223333",
                "callerId": "AIDAEXAMPLE",
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": "arn:aws:iam::111122223333:user/ann",
                "userId": "AIDAEXAMPLE",
            }})
        );
    }

    #[test]
    fn v1_full_event() {
        let req = request(
            "GET",
            "/pets/7?parameter1=value1&parameter1=value2&parameter2=value",
            &[
                ("Header1", "value1"),
                ("Header2", "value1"),
                ("header2", "value2"),
                ("Cookie", "a=1"),
                ("User-Agent", "user-agent"),
            ],
            b"",
        );
        let ctx = EventContext {
            route_key: "GET /pets/{id}".into(),
            path_parameters: vec![("id".into(), "7".into())],
            ..api()
        };
        assert_eq!(
            event_v1(&req, &ctx),
            json!({
                "version": "1.0",
                "resource": "/pets/{id}",
                "path": "/pets/7",
                "httpMethod": "GET",
                "headers": {
                    "Header1": "value1",
                    "Header2": "value2",
                    "Cookie": "a=1",
                    "User-Agent": "user-agent",
                },
                "multiValueHeaders": {
                    "Header1": ["value1"],
                    "Header2": ["value1", "value2"],
                    "Cookie": ["a=1"],
                    "User-Agent": ["user-agent"],
                },
                "queryStringParameters": {"parameter1": "value2", "parameter2": "value"},
                "multiValueQueryStringParameters": {
                    "parameter1": ["value1", "value2"],
                    "parameter2": ["value"],
                },
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "a1b2c3",
                    "domainName": "a1b2c3.execute-api.us-east-1.amazonaws.com",
                    "domainPrefix": "a1b2c3",
                    "extendedRequestId": "req-1",
                    "httpMethod": "GET",
                    "identity": {
                        "accessKey": null,
                        "accountId": null,
                        "caller": null,
                        "cognitoAmr": null,
                        "cognitoAuthenticationProvider": null,
                        "cognitoAuthenticationType": null,
                        "cognitoIdentityId": null,
                        "cognitoIdentityPoolId": null,
                        "principalOrgId": null,
                        "sourceIp": "198.51.100.7",
                        "user": null,
                        "userAgent": "user-agent",
                        "userArn": null,
                    },
                    "path": "/pets/7",
                    "protocol": "HTTP/1.1",
                    "requestId": "req-1",
                    "requestTime": "04/Mar/2020:19:03:58 +0000",
                    "requestTimeEpoch": 1_583_348_638_390_i64,
                    "resourceId": "GET /pets/{id}",
                    "resourcePath": "/pets/{id}",
                    "stage": "$default",
                },
                "pathParameters": {"id": "7"},
                "stageVariables": null,
                "body": null,
                "isBase64Encoded": false,
            })
        );
    }

    #[test]
    fn v1_empty_and_default() {
        let event = event_v1(&request("POST", "/question", &[], b""), &api());
        check(
            &event,
            json!({
                "resource": "$default",
                "headers": null,
                "multiValueHeaders": null,
                "queryStringParameters": null,
                "multiValueQueryStringParameters": null,
                "pathParameters": null,
                "stageVariables": null,
                "body": null,
                "isBase64Encoded": false,
            }),
        );
        assert_eq!(event["requestContext"]["resourcePath"], "$default");
        assert_eq!(event["requestContext"].get("authorizer"), None);

        let ctx = EventContext {
            authorizer: Some(json!({"claims": null, "scopes": null})),
            stage_variables: vec![("env".into(), "test".into())],
            ..api()
        };
        let event = event_v1(&request("GET", "/", &[], b""), &ctx);
        check(&event, json!({"stageVariables": {"env": "test"}}));
        assert_eq!(
            event["requestContext"]["authorizer"],
            json!({"claims": null, "scopes": null})
        );
    }

    #[test]
    fn v1_body_encoding() {
        let rest = |types: &[&str]| Some(types.iter().map(|t| t.to_string()).collect::<Vec<_>>());
        // (binaryMediaTypes, content type, body, event body, isBase64Encoded)
        type Case<'a> = (Option<Vec<String>>, Option<&'a str>, &'a [u8], Value, bool);
        let cases: &[Case<'_>] = &[
            // HTTP API on payload 1.0: the same rule as 2.0.
            (None, Some("text/plain"), b"hi", json!("hi"), false),
            (
                None,
                Some("application/octet-stream"),
                b"hi",
                json!("aGk="),
                true,
            ),
            // REST API: only the listed binary media types are base64.
            (
                rest(&[]),
                Some("application/octet-stream"),
                b"hi",
                json!("hi"),
                false,
            ),
            (rest(&[]), None, b"hi", json!("hi"), false),
            (
                rest(&["image/*"]),
                Some("image/png"),
                b"hi",
                json!("aGk="),
                true,
            ),
            (
                rest(&["image/*"]),
                Some("imagex/png"),
                b"hi",
                json!("hi"),
                false,
            ),
            (
                rest(&["application/pdf"]),
                Some("Application/PDF"),
                b"hi",
                json!("aGk="),
                true,
            ),
            (
                rest(&["*/*"]),
                Some("application/json"),
                b"{}",
                json!("e30="),
                true,
            ),
            (rest(&["*/*"]), None, b"hi", json!("aGk="), true),
            // Not UTF-8: base64 whatever the configuration says.
            (
                rest(&[]),
                Some("text/plain"),
                &[0xff, 0xfe],
                json!("//4="),
                true,
            ),
        ];
        for (types, content_type, body, want_body, want_base64) in cases {
            let headers: Vec<(&str, &str)> =
                content_type.iter().map(|c| ("Content-Type", *c)).collect();
            let ctx = EventContext {
                binary_media_types: types.clone(),
                ..api()
            };
            let event = event_v1(&request("POST", "/", &headers, body), &ctx);
            check(
                &event,
                json!({"body": want_body, "isBase64Encoded": want_base64}),
            );
        }
    }

    #[test]
    fn request_times() {
        let cases = [
            (0, "01/Jan/1970:00:00:00 +0000"),
            (999, "01/Jan/1970:00:00:00 +0000"),
            (-1, "31/Dec/1969:23:59:59 +0000"),
            (1_583_348_638_390, "04/Mar/2020:19:03:58 +0000"),
            (1_631_055_022_677, "07/Sep/2021:22:50:22 +0000"),
            (1_709_251_199_000, "29/Feb/2024:23:59:59 +0000"),
            (951_868_800_000, "01/Mar/2000:00:00:00 +0000"),
            (4_102_444_800_000, "01/Jan/2100:00:00:00 +0000"),
        ];
        for (ms, want) in cases {
            assert_eq!(clf_time(ms), want, "{ms}");
        }
    }
}
