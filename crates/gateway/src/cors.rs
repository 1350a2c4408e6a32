//! CORS as HTTP APIs and function URLs apply it: the gateway answers preflight
//! requests itself and stamps the configured headers on every other response.

use bytes::Bytes;
use serde_json::Value;

use crate::request::HttpRequest;
use crate::response::HttpResponse;

/// A `CorsConfiguration` (API Gateway) or `Cors` (Lambda function URL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    /// Exact origins, `*` for any, or `https://*` / `http://*` for any of a scheme.
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    /// Seconds a browser may cache a preflight answer.
    pub max_age: Option<i64>,
    pub allow_credentials: bool,
}

impl Cors {
    /// Reads the configuration as either API stores it: API Gateway's
    /// `allowOrigins` style or Lambda's and CloudFormation's `AllowOrigins` style.
    /// Fields of the wrong type count as absent; the control plane validates.
    pub fn from_json(value: &Value) -> Cors {
        let field = |camel: &str| {
            let mut pascal = camel.to_string();
            pascal[..1].make_ascii_uppercase();
            value.get(camel).or_else(|| value.get(&pascal))
        };
        let list = |camel: &str| -> Vec<String> {
            field(camel)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        Cors {
            allow_origins: list("allowOrigins"),
            allow_methods: list("allowMethods"),
            allow_headers: list("allowHeaders"),
            expose_headers: list("exposeHeaders"),
            max_age: field("maxAge").and_then(Value::as_i64),
            allow_credentials: field("allowCredentials")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }

    /// The gateway's own answer to a preflight request (`OPTIONS` with `Origin`
    /// and `Access-Control-Request-Method`), or `None` when `req` is not one and
    /// must be routed as usual. The answer is `204`; it carries CORS headers only
    /// when the origin is allowed, and the browser judges methods and headers.
    pub fn preflight(&self, req: &HttpRequest) -> Option<HttpResponse> {
        if !req.method.eq_ignore_ascii_case("OPTIONS")
            || req.header("access-control-request-method").is_none()
        {
            return None;
        }
        let origin = req.header("origin")?;
        let mut resp = HttpResponse {
            status: 204,
            headers: Vec::new(),
            body: Bytes::new(),
        };
        if let Some(allowed) = self.allowed_origin(origin) {
            let headers = &mut resp.headers;
            headers.push(("access-control-allow-origin".into(), allowed));
            if self.allow_credentials {
                headers.push(("access-control-allow-credentials".into(), "true".into()));
            }
            if !self.allow_methods.is_empty() {
                headers.push((
                    "access-control-allow-methods".into(),
                    self.allow_methods.join(","),
                ));
            }
            if !self.allow_headers.is_empty() {
                headers.push((
                    "access-control-allow-headers".into(),
                    self.allow_headers.join(","),
                ));
            }
            if let Some(max_age) = self.max_age {
                headers.push(("access-control-max-age".into(), max_age.to_string()));
            }
        }
        Some(resp)
    }

    /// Puts the configured CORS headers on `resp` for a request from an allowed
    /// origin. CORS headers the function set itself are dropped first, whatever
    /// the origin, because a configured API ignores them.
    pub fn apply(&self, req: &HttpRequest, resp: &mut HttpResponse) {
        resp.headers.retain(|(name, _)| {
            !name
                .get(..15)
                .is_some_and(|p| p.eq_ignore_ascii_case("access-control-"))
        });
        let Some(allowed) = req.header("origin").and_then(|o| self.allowed_origin(o)) else {
            return;
        };
        resp.headers
            .push(("access-control-allow-origin".into(), allowed));
        if self.allow_credentials {
            resp.headers
                .push(("access-control-allow-credentials".into(), "true".into()));
        }
        if !self.expose_headers.is_empty() {
            resp.headers.push((
                "access-control-expose-headers".into(),
                self.expose_headers.join(","),
            ));
        }
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed:
    /// `*` for a wildcard configuration, otherwise the origin itself. With
    /// credentials allowed a browser refuses `*`, so the origin is echoed then.
    fn allowed_origin(&self, origin: &str) -> Option<String> {
        let mut wildcard = false;
        let matched = self.allow_origins.iter().any(|allowed| {
            if allowed == "*" {
                wildcard = true;
                return true;
            }
            match allowed.strip_suffix('*') {
                // `https://*`: any origin of that scheme.
                Some(prefix) if prefix.ends_with("://") => origin
                    .get(..prefix.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(prefix)),
                _ => allowed.trim_end_matches('/').eq_ignore_ascii_case(origin),
            }
        });
        if !matched {
            return None;
        }
        Some(if wildcard && !self.allow_credentials {
            "*".to_string()
        } else {
            origin.to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    fn request(method: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            raw_path: "/".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..HttpRequest::default()
        }
    }

    fn render(resp: &HttpResponse) -> String {
        let mut out = resp.status.to_string();
        for (name, value) in &resp.headers {
            out.push_str(&format!("\n{name}: {value}"));
        }
        out
    }

    /// Preflight: `expected` is the rendered answer, or `"-"` for "route it".
    fn check_preflight(config: Value, method: &str, headers: &[(&str, &str)], expected: &str) {
        let cors = Cors::from_json(&config);
        let got = cors
            .preflight(&request(method, headers))
            .map_or("-".to_string(), |r| render(&r));
        assert_eq!(got, expected, "{config} {method} {headers:?}");
    }

    /// Actual request: the function's response headers before and after `apply`.
    fn check_apply(config: Value, origin: Option<&str>, returned: &[(&str, &str)], expected: &str) {
        let cors = Cors::from_json(&config);
        let headers: Vec<(&str, &str)> = origin.iter().map(|o| ("Origin", *o)).collect();
        let mut resp = HttpResponse {
            status: 200,
            headers: returned
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Bytes::new(),
        };
        cors.apply(&request("GET", &headers), &mut resp);
        assert_eq!(render(&resp), expected, "{config} origin {origin:?}");
    }

    #[test]
    fn parses_both_spellings() {
        let want = Cors {
            allow_origins: vec!["https://www.example.com".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["authorization".into()],
            expose_headers: vec!["date".into(), "x-api-id".into()],
            max_age: Some(300),
            allow_credentials: true,
        };
        let camel = json!({
            "allowOrigins": ["https://www.example.com"],
            "allowMethods": ["GET", "POST"],
            "allowHeaders": ["authorization"],
            "exposeHeaders": ["date", "x-api-id"],
            "maxAge": 300,
            "allowCredentials": true,
        });
        let pascal = json!({
            "AllowOrigins": ["https://www.example.com"],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["authorization"],
            "ExposeHeaders": ["date", "x-api-id"],
            "MaxAge": 300,
            "AllowCredentials": true,
        });
        assert_eq!(Cors::from_json(&camel), want);
        assert_eq!(Cors::from_json(&pascal), want);
        assert_eq!(Cors::from_json(&json!({})), Cors::default());
        assert_eq!(
            Cors::from_json(
                &json!({"allowOrigins": "*", "maxAge": "300", "allowCredentials": "true"})
            ),
            Cors::default()
        );
    }

    #[test]
    fn preflight() {
        let full = json!({
            "allowOrigins": ["https://www.example.com"],
            "allowMethods": ["GET", "POST", "DELETE"],
            "allowHeaders": ["authorization", "content-type"],
            "exposeHeaders": ["x-api-id"],
            "maxAge": 300,
        });
        let preflight = [
            ("Origin", "https://www.example.com"),
            ("Access-Control-Request-Method", "POST"),
        ];
        check_preflight(
            full.clone(),
            "OPTIONS",
            &preflight,
            "204\naccess-control-allow-origin: https://www.example.com\n\
             access-control-allow-methods: GET,POST,DELETE\n\
             access-control-allow-headers: authorization,content-type\n\
             access-control-max-age: 300",
        );
        // Header names and values compared without case.
        check_preflight(
            json!({"allowOrigins": ["https://WWW.example.com"]}),
            "OPTIONS",
            &[
                ("origin", "https://www.example.com"),
                ("access-control-request-method", "GET"),
            ],
            "204\naccess-control-allow-origin: https://www.example.com",
        );
        // Another origin: answered, but with nothing that lets the browser go on.
        check_preflight(
            full.clone(),
            "OPTIONS",
            &[
                ("Origin", "https://evil.example"),
                ("Access-Control-Request-Method", "POST"),
            ],
            "204",
        );
        // Not a preflight: plain OPTIONS, or missing Origin, or another method.
        check_preflight(
            full.clone(),
            "OPTIONS",
            &[("Origin", "https://www.example.com")],
            "-",
        );
        check_preflight(
            full.clone(),
            "OPTIONS",
            &[("Access-Control-Request-Method", "GET")],
            "-",
        );
        check_preflight(full.clone(), "OPTIONS", &[], "-");
        check_preflight(full, "GET", &preflight, "-");
        // Wildcards, credentials.
        check_preflight(
            json!({"allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"]}),
            "OPTIONS",
            &preflight,
            "204\naccess-control-allow-origin: *\naccess-control-allow-methods: *\naccess-control-allow-headers: *",
        );
        check_preflight(
            json!({"allowOrigins": ["https://*"], "allowCredentials": true, "maxAge": 0}),
            "OPTIONS",
            &preflight,
            "204\naccess-control-allow-origin: https://www.example.com\n\
             access-control-allow-credentials: true\naccess-control-max-age: 0",
        );
        check_preflight(
            json!({"allowOrigins": ["http://*"]}),
            "OPTIONS",
            &preflight,
            "204",
        );
        check_preflight(
            json!({"allowOrigins": ["*"], "allowCredentials": true}),
            "OPTIONS",
            &preflight,
            "204\naccess-control-allow-origin: https://www.example.com\naccess-control-allow-credentials: true",
        );
    }

    #[test]
    fn actual_requests() {
        let config = json!({
            "allowOrigins": ["https://www.example.com", "http://localhost:3000"],
            "allowMethods": ["GET"],
            "exposeHeaders": ["date", "x-api-id"],
            "allowCredentials": true,
        });
        check_apply(
            config.clone(),
            Some("http://localhost:3000"),
            &[("content-type", "text/plain")],
            "200\ncontent-type: text/plain\n\
             access-control-allow-origin: http://localhost:3000\n\
             access-control-allow-credentials: true\n\
             access-control-expose-headers: date,x-api-id",
        );
        // The function's own CORS headers never reach the client.
        check_apply(
            config.clone(),
            Some("https://evil.example"),
            &[
                ("Access-Control-Allow-Origin", "*"),
                ("x-a", "1"),
                ("ACCESS-CONTROL-MAX-AGE", "9"),
            ],
            "200\nx-a: 1",
        );
        check_apply(config, None, &[("access-control-allow-origin", "*")], "200");
        check_apply(
            json!({"AllowOrigins": ["*"]}),
            Some("https://any.example"),
            &[],
            "200\naccess-control-allow-origin: *",
        );
        check_apply(
            json!({"allowOrigins": ["https://www.example.com/"]}),
            Some("https://www.example.com"),
            &[],
            "200\naccess-control-allow-origin: https://www.example.com",
        );
        check_apply(
            json!({}),
            Some("https://www.example.com"),
            &[("access-control-x", "1")],
            "200",
        );
    }
}
