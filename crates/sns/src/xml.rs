//! The XML of SNS answers (pure): the `<ActionResponse>` wrapper, the error body and
//! small builders for the members, entries and maps the operations return.

use http::StatusCode;
use std::collections::BTreeMap;

pub const NS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

/// Text escaped for an XML element or attribute. Characters XML 1.0 cannot carry at
/// all are dropped rather than producing a document no parser reads.
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

/// The whole answer of `action` with its result elements. The result element is there
/// even when empty: botocore looks for it in every operation that has an output shape.
pub fn reply_body(action: &str, result: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<{action}Response xmlns=\"{NS}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    )
}

/// An error answer.
pub fn error_body(status: StatusCode, code: &str, message: &str, request_id: &str) -> String {
    let kind = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{NS}\"><Error><Type>{kind}</Type>{}{}</Error>\
         <RequestId>{request_id}</RequestId></ErrorResponse>",
        el("Code", code),
        el("Message", message)
    )
}

/// A string map as `<name><entry><key/><value/></entry>...</name>`.
pub fn string_map(name: &str, map: &BTreeMap<String, String>) -> String {
    let entries: String = map
        .iter()
        .map(|(k, v)| format!("<entry>{}{}</entry>", el("key", k), el("value", v)))
        .collect();
    format!("<{name}>{entries}</{name}>")
}

/// A list as `<name><member>...</member>...</name>`; members are already XML.
pub fn members(name: &str, items: &[String]) -> String {
    let inner: String = items
        .iter()
        .map(|i| format!("<member>{i}</member>"))
        .collect();
    format!("<{name}>{inner}</{name}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders() {
        assert_eq!(escape("a<b&\"c'\u{1}"), "a&lt;b&amp;&quot;c&apos;");
        assert_eq!(
            reply_body("CreateTopic", &el("TopicArn", "arn:x"), "r1"),
            format!(
                "<?xml version=\"1.0\"?>\n<CreateTopicResponse xmlns=\"{NS}\"><CreateTopicResult>\
                 <TopicArn>arn:x</TopicArn></CreateTopicResult><ResponseMetadata><RequestId>r1\
                 </RequestId></ResponseMetadata></CreateTopicResponse>"
            )
        );
        assert!(
            reply_body("TagResource", "", "r").contains("<TagResourceResult></TagResourceResult>")
        );
        let mut m = BTreeMap::new();
        m.insert("A".to_string(), "1&2".to_string());
        assert_eq!(
            string_map("Attributes", &m),
            "<Attributes><entry><key>A</key><value>1&amp;2</value></entry></Attributes>"
        );
        assert_eq!(
            members("Topics", &[el("TopicArn", "t")]),
            "<Topics><member><TopicArn>t</TopicArn></member></Topics>"
        );
        let e = error_body(
            StatusCode::NOT_FOUND,
            "NotFound",
            "Topic does not exist",
            "r",
        );
        assert!(e.contains(
            "<Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message>"
        ));
    }
}
