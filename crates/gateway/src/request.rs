//! The HTTP request as a function URL or an API receives it, before any AWS mapping.

use std::borrow::Cow;

use bytes::Bytes;

/// One HTTP request, as received. The server fills this in; everything else in
/// the crate only reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method as sent, e.g. `GET`.
    pub method: String,
    /// The path as sent, still percent-encoded, e.g. `/items/a%20b`.
    pub raw_path: String,
    /// The query string as sent, without the `?`; empty when there is none.
    pub raw_query: String,
    /// Headers as received: names in any case, repeats allowed, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// The address of the immediate peer.
    pub source_ip: String,
    /// When the request arrived, in Unix milliseconds.
    pub time_ms: i64,
}

impl HttpRequest {
    /// Every value of header `name` (compared without case), in arrival order.
    pub fn header_values<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `name` (compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).next()
    }

    /// The media type of the body, lower-cased and without parameters
    /// (`Text/HTML; charset=utf-8` gives `text/html`).
    pub fn media_type(&self) -> Option<String> {
        let value = self.header("content-type")?;
        let media = value.split(';').next().unwrap_or("").trim();
        (!media.is_empty()).then(|| media.to_ascii_lowercase())
    }

    /// The query string's pairs, decoded, in order (see [`query_pairs`]).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        query_pairs(&self.raw_query)
    }
}

/// Splits a raw query string into decoded `(name, value)` pairs, in order.
///
/// `+` decodes to a space as in HTML forms, which is what API Gateway does.
/// A pair without `=` has an empty value; a pair with an empty name is dropped
/// (`?&a=1` and `?=x` carry nothing a function could look up).
pub fn query_pairs(raw: &str) -> Vec<(String, String)> {
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    raw.split('&')
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode_query(name);
            (!name.is_empty()).then(|| (name, decode_query(value)))
        })
        .collect()
}

fn decode_query(s: &str) -> String {
    let plus_as_space: Cow<'_, str> = if s.contains('+') {
        Cow::Owned(s.replace('+', " "))
    } else {
        Cow::Borrowed(s)
    };
    percent_decode(&plus_as_space)
}

/// Percent-decodes `s`; bytes that are not UTF-8 after decoding become U+FFFD,
/// since every consumer of the result is a JSON string.
pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: &[(&str, &str)]) {
        let got = query_pairs(raw);
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, expected, "query {raw:?}");
    }

    #[test]
    fn query_strings() {
        check("", &[]);
        check("a=1", &[("a", "1")]);
        check("?a=1", &[("a", "1")]);
        check("a=1&a=2&b=x", &[("a", "1"), ("a", "2"), ("b", "x")]);
        check("flag", &[("flag", "")]);
        check("flag=", &[("flag", "")]);
        check("&&a=1&", &[("a", "1")]);
        check("=orphan", &[]);
        check("q=a+b%2Bc", &[("q", "a b+c")]);
        check("na%20me=v%3Dw", &[("na me", "v=w")]);
        check("eq=a=b", &[("eq", "a=b")]);
        check("bad=%ff", &[("bad", "\u{fffd}")]);
        check("pct=%zz", &[("pct", "%zz")]);
    }

    #[test]
    fn headers_ignore_case_and_keep_order() {
        let req = HttpRequest {
            headers: vec![
                ("Accept".into(), "a".into()),
                (
                    "content-type".into(),
                    "Application/JSON; charset=utf-8".into(),
                ),
                ("ACCEPT".into(), "b".into()),
            ],
            ..HttpRequest::default()
        };
        assert_eq!(req.header_values("accept").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            req.header("Content-Type"),
            Some("Application/JSON; charset=utf-8")
        );
        assert_eq!(req.media_type().as_deref(), Some("application/json"));
        assert_eq!(req.header("missing"), None);
        assert_eq!(HttpRequest::default().media_type(), None);
    }
}
