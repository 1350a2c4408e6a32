//! The XML of SNS answers (pure): the `<ActionResponse>` wrapper, the error body and
//! small builders for the members, entries and maps the operations return.

use http::StatusCode;
use std::collections::BTreeMap;

pub const NS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

pub use wire::query::el;

/// The whole answer of `action` with its result elements.
pub fn reply_body(action: &str, result: &str, request_id: &str) -> String {
    wire::query::reply_body(NS, action, result, request_id)
}

/// An error answer.
pub fn error_body(status: StatusCode, code: &str, message: &str, request_id: &str) -> String {
    wire::query::error_body(NS, status, code, message, request_id)
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
