//! Answers of the query protocol (STS, SNS, and SQS's older protocol): XML documents with
//! an `<ActionResponse>` wrapper around an `<ActionResult>`, and the `<ErrorResponse>`
//! shape for failures. Each service passes its own XML namespace.

use crate::ApiResponse;
use http::StatusCode;

/// Text escaped for an XML element or attribute. Characters XML 1.0 cannot carry at all
/// are dropped rather than producing a document no parser reads.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// `<name>text</name>`, escaped.
pub fn el(name: &str, text: &str) -> String {
    format!("<{name}>{}</{name}>", escape(text))
}

/// The whole answer of `action` with its result elements (already XML). The result
/// element is there even when empty: botocore looks for it in every operation that has
/// an output shape.
pub fn reply_body(ns: &str, action: &str, result: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<{action}Response xmlns=\"{ns}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    )
}

/// An error answer's document.
pub fn error_body(
    ns: &str,
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: &str,
) -> String {
    let kind = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{ns}\"><Error><Type>{kind}</Type>{}{}</Error>\
         <RequestId>{request_id}</RequestId></ErrorResponse>",
        el("Code", code),
        el("Message", message)
    )
}

/// [`reply_body`] as a `200 text/xml` response.
pub fn reply(ns: &str, action: &str, result: &str, request_id: &str) -> ApiResponse {
    crate::response(
        StatusCode::OK,
        "text/xml",
        reply_body(ns, action, result, request_id),
    )
}

/// [`error_body`] as a `text/xml` response with `status`.
pub fn error(ns: &str, status: StatusCode, code: &str, message: &str) -> ApiResponse {
    let body = error_body(ns, status, code, message, &crate::id::uuid4());
    crate::response(status, "text/xml", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders() {
        assert_eq!(escape("a<b&\"c'\u{1}\r"), "a&lt;b&amp;&quot;c&apos;&#xD;");
        assert_eq!(
            reply_body("urn:x", "Act", &el("A", "1"), "r1"),
            "<?xml version=\"1.0\"?>\n<ActResponse xmlns=\"urn:x\"><ActResult><A>1</A></ActResult>\
             <ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></ActResponse>"
        );
        let e = error_body("urn:x", StatusCode::NOT_FOUND, "NotFound", "a < b", "r");
        assert!(e.contains("<Type>Sender</Type><Code>NotFound</Code><Message>a &lt; b</Message>"));
        let e = error_body(
            "urn:x",
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "x",
            "r",
        );
        assert!(e.contains("<Type>Receiver</Type>"));
    }
}
