//! The HTTP response for a function's result, and the gateway's own error answers.

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Map, Value};

/// One HTTP response, ready for the server to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Names as the function gave them; repeats (e.g. `set-cookie`) allowed.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl HttpResponse {
    /// The first value of header `name` (compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A JSON `{"message": ...}` answer, the shape of every gateway error.
    fn message(status: u16, message: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(serde_json::json!({ "message": message }).to_string()),
        }
    }
}

/// Why a function's result is not a usable proxy response. API Gateway logs this
/// as the integration error and shows the client only a generic error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedResponse {
    #[error("the function result is not JSON")]
    NotJson,
    #[error("the function result has no statusCode")]
    NoStatusCode,
    #[error("statusCode must be an integer from 100 to 599")]
    StatusCode,
    #[error("'{field}' must be an object of strings")]
    Headers { field: &'static str },
    #[error("'cookies' must be an array of strings")]
    Cookies,
    #[error("'isBase64Encoded' must be a boolean")]
    Base64Flag,
    #[error("'body' is marked base64 but does not decode")]
    Base64Body,
}

/// Maps a payload format 2.0 result (HTTP APIs, function URLs) to the client's
/// response; a malformed result becomes [`function_error`].
pub fn response_v2(payload: &[u8]) -> HttpResponse {
    parse_v2(payload).unwrap_or_else(|_| function_error())
}

/// Maps a payload format 1.0 result (REST proxy integrations) to the client's
/// response; a malformed result becomes 502 `Internal server error`.
pub fn response_v1(payload: &[u8]) -> HttpResponse {
    parse_v1(payload).unwrap_or_else(|_| HttpResponse::message(502, "Internal server error"))
}

/// [`response_v2`] with the reason a result is malformed.
///
/// A JSON object with `statusCode` is a structured response: `headers`, then one
/// `set-cookie` per entry of `cookies`, and `body`, decoded when `isBase64Encoded`.
/// Any other JSON is the body itself, sent as sent with status 200 and
/// `content-type: application/json`; so a function returning `"hi"` answers with
/// the four bytes `"hi"`, which is what a client of a function URL sees.
pub fn parse_v2(payload: &[u8]) -> Result<HttpResponse, MalformedResponse> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| MalformedResponse::NotJson)?;
    let object = match value {
        Value::Object(object) if object.contains_key("statusCode") => object,
        _ => {
            return Ok(HttpResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: Bytes::copy_from_slice(payload),
            });
        }
    };
    let status = status_code(&object)?;
    let mut headers = single_headers(&object, "headers")?;
    match object.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cookies)) => {
            for cookie in cookies {
                let cookie = cookie.as_str().ok_or(MalformedResponse::Cookies)?;
                headers.push(("set-cookie".into(), cookie.to_string()));
            }
        }
        Some(_) => return Err(MalformedResponse::Cookies),
    }
    Ok(HttpResponse {
        status,
        headers,
        body: body(&object)?,
    })
}

/// [`response_v1`] with the reason a result is malformed.
///
/// `statusCode` is required. `headers` and `multiValueHeaders` are merged; where
/// both name a header, only the `multiValueHeaders` values are sent.
pub fn parse_v1(payload: &[u8]) -> Result<HttpResponse, MalformedResponse> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| MalformedResponse::NotJson)?;
    let Value::Object(object) = value else {
        return Err(MalformedResponse::NoStatusCode);
    };
    if !object.contains_key("statusCode") {
        return Err(MalformedResponse::NoStatusCode);
    }
    let status = status_code(&object)?;
    let multi = multi_headers(&object)?;
    let mut headers: Vec<(String, String)> = single_headers(&object, "headers")?
        .into_iter()
        .filter(|(name, _)| !multi.iter().any(|(m, _)| m.eq_ignore_ascii_case(name)))
        .collect();
    headers.extend(multi);
    Ok(HttpResponse {
        status,
        headers,
        body: body(&object)?,
    })
}

/// 500 `Internal Server Error`: the function failed or returned a malformed result.
pub fn function_error() -> HttpResponse {
    HttpResponse::message(500, "Internal Server Error")
}

/// 429 `Too Many Requests`: the function is throttled.
pub fn throttled() -> HttpResponse {
    HttpResponse::message(429, "Too Many Requests")
}

/// 503 `Service Unavailable`: what an HTTP API answers when its integration
/// times out (function URLs and HTTP APIs alike; see [`timeout_rest`] for REST).
pub fn timeout() -> HttpResponse {
    HttpResponse::message(503, "Service Unavailable")
}

/// 504 `Endpoint request timed out`: what a REST API answers when its
/// integration times out.
pub fn timeout_rest() -> HttpResponse {
    HttpResponse::message(504, "Endpoint request timed out")
}

/// 404 `Not Found`: no route (and no `$default`) matches.
pub fn not_found() -> HttpResponse {
    HttpResponse::message(404, "Not Found")
}

/// `statusCode` as a number or a string of digits (both reach AWS from real
/// functions), within HTTP's range.
fn status_code(object: &Map<String, Value>) -> Result<u16, MalformedResponse> {
    let code = match object.get("statusCode") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    code.filter(|c| (100..=599).contains(c))
        .map(|c| c as u16)
        .ok_or(MalformedResponse::StatusCode)
}

/// A header map of single values; numbers and booleans are sent as their text
/// and `null` values are skipped.
fn single_headers(
    object: &Map<String, Value>,
    field: &'static str,
) -> Result<Vec<(String, String)>, MalformedResponse> {
    let map = match object.get(field) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(MalformedResponse::Headers { field }),
    };
    let mut headers = Vec::new();
    for (name, value) in map {
        if let Some(text) = header_text(value).ok_or(MalformedResponse::Headers { field })? {
            headers.push((name.clone(), text));
        }
    }
    Ok(headers)
}

fn multi_headers(object: &Map<String, Value>) -> Result<Vec<(String, String)>, MalformedResponse> {
    const FIELD: &str = "multiValueHeaders";
    let map = match object.get(FIELD) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(MalformedResponse::Headers { field: FIELD }),
    };
    let mut headers = Vec::new();
    for (name, values) in map {
        let values = match values {
            Value::Null => continue,
            Value::Array(values) => values,
            _ => return Err(MalformedResponse::Headers { field: FIELD }),
        };
        for value in values {
            let text = header_text(value).ok_or(MalformedResponse::Headers { field: FIELD })?;
            if let Some(text) = text {
                headers.push((name.clone(), text));
            }
        }
    }
    Ok(headers)
}

/// `Some(None)` for a null value to skip, `None` for a value no header can hold.
fn header_text(value: &Value) -> Option<Option<String>> {
    match value {
        Value::Null => Some(None),
        Value::String(s) => Some(Some(s.clone())),
        Value::Number(n) => Some(Some(n.to_string())),
        Value::Bool(b) => Some(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// `body` as bytes. A body that is JSON but not a string is sent as its JSON
/// text rather than refused: functions do return `"body": {...}` and the client
/// can still use what it gets.
fn body(object: &Map<String, Value>) -> Result<Bytes, MalformedResponse> {
    let base64 = match object.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(MalformedResponse::Base64Flag),
    };
    let text = match object.get("body") {
        None | Some(Value::Null) => return Ok(Bytes::new()),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if !base64 {
        return Ok(Bytes::from(text));
    }
    // Encoders that wrap lines (Python's `encodebytes`, MIME tools) leave
    // newlines in the text; padding is optional for the same reason.
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine
        .decode(compact)
        .map(Bytes::from)
        .map_err(|_| MalformedResponse::Base64Body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected` is `"STATUS\nname: value\n...\n\nbody"`; header order is
    /// compared by name only (a JSON object's key order is not the function's
    /// to promise), keeping the order of repeats.
    fn render(resp: &HttpResponse) -> String {
        let mut headers = resp.headers.clone();
        headers.sort_by_key(|(name, _)| name.to_ascii_lowercase());
        let mut out = resp.status.to_string();
        for (name, value) in headers {
            out.push_str(&format!("\n{name}: {value}"));
        }
        out.push_str("\n\n");
        out.push_str(&String::from_utf8_lossy(&resp.body));
        out
    }

    fn check(parse: fn(&[u8]) -> HttpResponse, payload: &str, expected: &str) {
        assert_eq!(
            render(&parse(payload.as_bytes())),
            expected,
            "payload {payload}"
        );
    }

    fn check_v2(payload: &str, expected: &str) {
        check(response_v2, payload, expected);
    }

    fn check_v1(payload: &str, expected: &str) {
        check(response_v1, payload, expected);
    }

    const JSON_200: &str = "200\ncontent-type: application/json\n\n";
    const ERROR_500: &str =
        "500\ncontent-type: application/json\n\n{\"message\":\"Internal Server Error\"}";
    const ERROR_502: &str =
        "502\ncontent-type: application/json\n\n{\"message\":\"Internal server error\"}";

    // The case tables read best one case per line, wider than rustfmt allows.

    #[test]
    #[rustfmt::skip]
    fn v2_inferred() {
        // Valid JSON without statusCode is the body, unchanged.
        check_v2(r#""Hello, world!""#, &format!("{JSON_200}\"Hello, world!\""));
        check_v2(r#"{ "message": "Hello, world!" }"#, &format!("{JSON_200}{{ \"message\": \"Hello, world!\" }}"));
        check_v2("[1, 2]", &format!("{JSON_200}[1, 2]"));
        check_v2("42", &format!("{JSON_200}42"));
        check_v2("null", &format!("{JSON_200}null"));
        check_v2("true", &format!("{JSON_200}true"));
        // An object that looks like a response but lacks statusCode is still data.
        check_v2(r#"{"body": "x", "headers": {"a": "b"}}"#, &format!("{JSON_200}{{\"body\": \"x\", \"headers\": {{\"a\": \"b\"}}}}"));
        // Not JSON at all.
        check_v2("Hello", ERROR_500);
        check_v2("", ERROR_500);
    }

    #[test]
    #[rustfmt::skip]
    fn v2_structured() {
        check_v2(
            r#"{"statusCode": 201, "headers": {"Content-Type": "application/json", "My-Custom-Header": "Custom Value"},
                "body": "{ \"message\": \"Hello, world!\" }", "isBase64Encoded": false}"#,
            "201\nContent-Type: application/json\nMy-Custom-Header: Custom Value\n\n{ \"message\": \"Hello, world!\" }",
        );
        check_v2(
            r#"{"statusCode": 201, "cookies": ["Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT", "Cookie_2=Value2; Max-Age=78000"]}"#,
            "201\nset-cookie: Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT\nset-cookie: Cookie_2=Value2; Max-Age=78000\n\n",
        );
        check_v2(r#"{"statusCode": 204}"#, "204\n\n");
        check_v2(r#"{"statusCode": "302", "headers": {"Location": "/x"}}"#, "302\nLocation: /x\n\n");
        check_v2(r#"{"statusCode": 200, "body": "aGk=", "isBase64Encoded": true}"#, "200\n\nhi");
        check_v2(r#"{"statusCode": 200, "body": "aGk", "isBase64Encoded": true}"#, "200\n\nhi");
        check_v2(r#"{"statusCode": 200, "body": "aG\nk=\n", "isBase64Encoded": true}"#, "200\n\nhi");
        check_v2(r#"{"statusCode": 200, "body": "aGk=", "isBase64Encoded": false}"#, "200\n\naGk=");
        check_v2(r#"{"statusCode": 200, "headers": {"n": 5, "b": true, "z": null}}"#, "200\nb: true\nn: 5\n\n");
        check_v2(r#"{"statusCode": 200, "body": {"a": 1}}"#, "200\n\n{\"a\":1}");
        check_v2(r#"{"statusCode": 200, "headers": null, "cookies": null, "body": null}"#, "200\n\n");
        // 2.0 has no multiValueHeaders; they are ignored.
        check_v2(r#"{"statusCode": 200, "multiValueHeaders": {"a": ["1", "2"]}}"#, "200\n\n");
    }

    #[test]
    #[rustfmt::skip]
    fn v2_malformed() {
        let cases = [
            (r#"{"statusCode": "abc"}"#, MalformedResponse::StatusCode),
            (r#"{"statusCode": 99}"#, MalformedResponse::StatusCode),
            (r#"{"statusCode": 600}"#, MalformedResponse::StatusCode),
            (r#"{"statusCode": 200.5}"#, MalformedResponse::StatusCode),
            (r#"{"statusCode": null}"#, MalformedResponse::StatusCode),
            (r#"{"statusCode": 200, "headers": []}"#, MalformedResponse::Headers { field: "headers" }),
            (r#"{"statusCode": 200, "headers": {"a": ["1"]}}"#, MalformedResponse::Headers { field: "headers" }),
            (r#"{"statusCode": 200, "cookies": "a=1"}"#, MalformedResponse::Cookies),
            (r#"{"statusCode": 200, "cookies": [1]}"#, MalformedResponse::Cookies),
            (r#"{"statusCode": 200, "isBase64Encoded": "yes"}"#, MalformedResponse::Base64Flag),
            (r#"{"statusCode": 200, "body": "!!", "isBase64Encoded": true}"#, MalformedResponse::Base64Body),
            ("{", MalformedResponse::NotJson),
        ];
        for (payload, reason) in cases {
            assert_eq!(parse_v2(payload.as_bytes()), Err(reason), "{payload}");
            check_v2(payload, ERROR_500);
        }
    }

    #[test]
    #[rustfmt::skip]
    fn v1_responses() {
        check_v1(r#"{"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "ok"}"#, "200\nContent-Type: text/plain\n\nok");
        check_v1(r#"{"statusCode": "404", "body": "gone"}"#, "404\n\ngone");
        check_v1(r#"{"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}}"#, "200\nSet-Cookie: a=1\nSet-Cookie: b=2\n\n");
        // A header named in both maps takes only the multiValueHeaders values.
        check_v1(
            r#"{"statusCode": 200, "headers": {"X-A": "single", "X-B": "b"}, "multiValueHeaders": {"x-a": ["m1", "m2"]}}"#,
            "200\nx-a: m1\nx-a: m2\nX-B: b\n\n",
        );
        check_v1(r#"{"statusCode": 200, "body": "aGk=", "isBase64Encoded": true}"#, "200\n\nhi");
        check_v1(r#"{"statusCode": 200, "multiValueHeaders": {"a": null, "b": [null, "x"]}}"#, "200\nb: x\n\n");
        // No statusCode, or not an object: REST's 502.
        check_v1(r#"{"body": "x"}"#, ERROR_502);
        check_v1(r#""Hello""#, ERROR_502);
        check_v1("not json", ERROR_502);
        check_v1(r#"{"statusCode": 200, "multiValueHeaders": {"a": "1"}}"#, ERROR_502);
        check_v1(r#"{"statusCode": 200, "body": "%%", "isBase64Encoded": true}"#, ERROR_502);
        assert_eq!(parse_v1(b"{}"), Err(MalformedResponse::NoStatusCode));
    }

    #[test]
    #[rustfmt::skip]
    fn gateway_answers() {
        check(|_| function_error(), "", ERROR_500);
        check(|_| throttled(), "", "429\ncontent-type: application/json\n\n{\"message\":\"Too Many Requests\"}");
        check(|_| timeout(), "", "503\ncontent-type: application/json\n\n{\"message\":\"Service Unavailable\"}");
        check(|_| timeout_rest(), "", "504\ncontent-type: application/json\n\n{\"message\":\"Endpoint request timed out\"}");
        check(|_| not_found(), "", "404\ncontent-type: application/json\n\n{\"message\":\"Not Found\"}");
    }
}
