//! SQS's older query protocol: form-encoded requests (`Action=SendMessage&QueueUrl=...`,
//! flattened lists such as `Attribute.1.Name`) and XML answers. A request is read into
//! the json protocol's body, runs through the same operations, and the json answer is
//! written back as the XML the query protocol's SDKs parse. Pure, apart from the
//! operations it calls.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use wire::query::el;

/// SQS's XML namespace.
pub const NS: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// Members whose value is a number in the json protocol.
const NUMBERS: [&str; 6] = [
    "DelaySeconds",
    "MaxNumberOfMessages",
    "VisibilityTimeout",
    "WaitTimeSeconds",
    "MaxResults",
    "MaxNumberOfMessagesPerSecond",
];

/// Flattened string lists: query name -> json member.
const LISTS: [(&str, &str); 6] = [
    ("AttributeName", "AttributeNames"),
    ("MessageAttributeName", "MessageAttributeNames"),
    ("MessageSystemAttributeName", "MessageSystemAttributeNames"),
    ("TagKey", "TagKeys"),
    ("AWSAccountId", "AWSAccountIds"),
    ("ActionName", "Actions"),
];

/// Flattened lists of structures (batch entries): query name -> json member.
const ENTRIES: [&str; 3] = [
    "SendMessageBatchRequestEntry",
    "DeleteMessageBatchRequestEntry",
    "ChangeMessageVisibilityBatchRequestEntry",
];

fn scalar(key: &str, v: &str) -> Value {
    if NUMBERS.contains(&key) {
        if let Ok(n) = v.parse::<i64>() {
            return json!(n);
        }
    }
    json!(v)
}

/// The json protocol's request body for the form parameters `pairs` (without `Action`
/// and `Version`), for operation `action`.
pub fn to_json(action: &str, pairs: &[(String, String)]) -> Value {
    let mut v = Value::Object(convert(pairs));
    // CreateQueue names its tags `tags` in the json protocol, TagQueue `Tags`.
    if action == "CreateQueue" {
        if let Some(t) = v.as_object_mut().and_then(|m| m.remove("Tags")) {
            v["tags"] = t;
        }
    }
    v
}

type Pairs = Vec<(String, String)>;

fn convert(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut out = Map::new();
    // name -> N -> the rest of each key under `name.N.`, with its value.
    let mut indexed: BTreeMap<&str, BTreeMap<u32, Pairs>> = BTreeMap::new();
    for (k, v) in pairs {
        if k == "Action" || k == "Version" {
            continue;
        }
        let Some((head, rest)) = k.split_once('.') else {
            out.insert(k.clone(), scalar(k, v));
            continue;
        };
        let (n, tail) = rest.split_once('.').unwrap_or((rest, ""));
        let Ok(n) = n.parse::<u32>() else {
            continue;
        };
        indexed
            .entry(head)
            .or_default()
            .entry(n)
            .or_default()
            .push((tail.to_string(), v.clone()));
    }
    for (head, items) in indexed {
        let get = |fields: &[(String, String)], name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if let Some((_, member)) = LISTS.iter().find(|(q, _)| *q == head) {
            let list: Vec<Value> = items
                .values()
                .filter_map(|f| get(f, ""))
                .map(Value::String)
                .collect();
            out.insert(member.to_string(), Value::Array(list));
        } else if ENTRIES.contains(&head) {
            let list: Vec<Value> = items.values().map(|f| Value::Object(convert(f))).collect();
            out.insert("Entries".into(), Value::Array(list));
        } else if head == "Attribute" || head == "Tag" {
            let (key, member) = if head == "Tag" {
                ("Key", "Tags")
            } else {
                ("Name", "Attributes")
            };
            let map: Map<String, Value> = items
                .values()
                .filter_map(|f| Some((get(f, key)?, json!(get(f, "Value").unwrap_or_default()))))
                .collect();
            out.insert(member.into(), Value::Object(map));
        } else if head == "MessageAttribute" || head == "MessageSystemAttribute" {
            let map: Map<String, Value> = items
                .values()
                .filter_map(|f| {
                    let name = get(f, "Name")?;
                    let value: Map<String, Value> = f
                        .iter()
                        .filter_map(|(k, v)| {
                            Some((k.strip_prefix("Value.")?.to_string(), json!(v)))
                        })
                        .collect();
                    Some((name, Value::Object(value)))
                })
                .collect();
            out.insert(format!("{head}s"), Value::Object(map));
        }
    }
    out
}

/// The XML result elements for the json answer `v` of operation `action`.
pub fn result_xml(action: &str, v: &Value) -> String {
    let mut out = String::new();
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            member_xml(action, k, v, &mut out);
        }
    }
    out
}

fn member_xml(action: &str, key: &str, v: &Value, out: &mut String) {
    match (key, v) {
        ("QueueUrls" | "queueUrls", Value::Array(a)) => {
            for u in a {
                out.push_str(&el("QueueUrl", u.as_str().unwrap_or_default()));
            }
        }
        ("Attributes", Value::Object(m)) => {
            for (k, v) in m {
                out.push_str(&format!(
                    "<Attribute>{}{}</Attribute>",
                    el("Name", k),
                    el("Value", &text(v))
                ));
            }
        }
        ("Tags", Value::Object(m)) => {
            for (k, v) in m {
                out.push_str(&format!(
                    "<Tag>{}{}</Tag>",
                    el("Key", k),
                    el("Value", &text(v))
                ));
            }
        }
        ("MessageAttributes", Value::Object(m)) => {
            for (k, v) in m {
                let mut value = String::new();
                for field in ["StringValue", "BinaryValue", "DataType"] {
                    if let Some(s) = v.get(field).and_then(Value::as_str) {
                        value.push_str(&el(field, s));
                    }
                }
                out.push_str(&format!(
                    "<MessageAttribute>{}<Value>{value}</Value></MessageAttribute>",
                    el("Name", k)
                ));
            }
        }
        ("Messages", Value::Array(a)) => {
            for m in a {
                out.push_str(&format!("<Message>{}</Message>", result_xml(action, m)));
            }
        }
        ("Successful", Value::Array(a)) => {
            for e in a {
                out.push_str(&format!(
                    "<{action}ResultEntry>{}</{action}ResultEntry>",
                    result_xml(action, e)
                ));
            }
        }
        ("Failed", Value::Array(a)) => {
            for e in a {
                out.push_str(&format!(
                    "<BatchResultErrorEntry>{}</BatchResultErrorEntry>",
                    result_xml(action, e)
                ));
            }
        }
        ("Results", Value::Array(a)) => {
            for e in a {
                out.push_str(&format!(
                    "<ListMessageMoveTasksResultEntry>{}</ListMessageMoveTasksResultEntry>",
                    result_xml(action, e)
                ));
            }
        }
        (_, Value::Object(m)) => {
            let inner: String = m
                .iter()
                .map(|(k, v)| {
                    let mut s = String::new();
                    member_xml(action, k, v, &mut s);
                    s
                })
                .collect();
            out.push_str(&format!("<{key}>{inner}</{key}>"));
        }
        (_, Value::Array(a)) => {
            for item in a {
                member_xml(action, key, item, out);
            }
        }
        (_, v) => out.push_str(&el(key, &text(v))),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Whether a request speaks the query protocol: no `X-Amz-Target`, and an `Action`.
pub fn params(req: &wire::ApiRequest) -> Option<Vec<(String, String)>> {
    if req.header("x-amz-target").is_some() {
        return None;
    }
    let mut pairs = req.query.clone();
    let form = req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if form {
        pairs.extend(wire::parse_form(&req.body));
    }
    pairs.iter().any(|(k, _)| k == "Action").then_some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn forms_become_json_bodies() {
        let body = to_json(
            "SendMessageBatch",
            &pairs(&[
                ("Action", "SendMessageBatch"),
                ("QueueUrl", "http://h/000000000000/q"),
                ("SendMessageBatchRequestEntry.1.Id", "a"),
                ("SendMessageBatchRequestEntry.1.MessageBody", "one"),
                ("SendMessageBatchRequestEntry.1.DelaySeconds", "5"),
                (
                    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name",
                    "color",
                ),
                (
                    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType",
                    "String",
                ),
                (
                    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue",
                    "red",
                ),
                ("SendMessageBatchRequestEntry.2.Id", "b"),
                ("SendMessageBatchRequestEntry.2.MessageBody", "two"),
            ]),
        );
        assert_eq!(
            body,
            json!({
                "QueueUrl": "http://h/000000000000/q",
                "Entries": [
                    {"Id": "a", "MessageBody": "one", "DelaySeconds": 5,
                     "MessageAttributes": {"color": {"DataType": "String", "StringValue": "red"}}},
                    {"Id": "b", "MessageBody": "two"},
                ]
            })
        );
        let body = to_json(
            "CreateQueue",
            &pairs(&[
                ("QueueName", "q"),
                ("Attribute.1.Name", "VisibilityTimeout"),
                ("Attribute.1.Value", "40"),
                ("Tag.1.Key", "team"),
                ("Tag.1.Value", "a"),
            ]),
        );
        assert_eq!(
            body,
            json!({"QueueName": "q", "Attributes": {"VisibilityTimeout": "40"}, "tags": {"team": "a"}})
        );
        let body = to_json(
            "ReceiveMessage",
            &pairs(&[("AttributeName.1", "All"), ("MaxNumberOfMessages", "x")]),
        );
        assert_eq!(
            body,
            json!({"AttributeNames": ["All"], "MaxNumberOfMessages": "x"})
        );
    }

    #[test]
    fn json_answers_become_xml() {
        let v = json!({"Messages": [{
            "MessageId": "m", "Body": "a<b",
            "Attributes": {"SentTimestamp": "1"},
            "MessageAttributes": {"c": {"DataType": "String", "StringValue": "red"}},
        }]});
        assert_eq!(
            result_xml("ReceiveMessage", &v),
            "<Message><Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>\
             <Body>a&lt;b</Body>\
             <MessageAttribute><Name>c</Name><Value><StringValue>red</StringValue>\
             <DataType>String</DataType></Value></MessageAttribute>\
             <MessageId>m</MessageId></Message>"
        );
        let v = json!({"Successful": [{"Id": "a", "MessageId": "m"}], "Failed": [{"Id": "b", "SenderFault": true, "Code": "X", "Message": "no"}]});
        assert_eq!(
            result_xml("SendMessageBatch", &v),
            "<BatchResultErrorEntry><Code>X</Code><Id>b</Id><Message>no</Message><SenderFault>true</SenderFault></BatchResultErrorEntry>\
             <SendMessageBatchResultEntry><Id>a</Id><MessageId>m</MessageId></SendMessageBatchResultEntry>"
        );
        assert_eq!(
            result_xml("ListQueues", &json!({"QueueUrls": ["u1", "u2"]})),
            "<QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl>"
        );
    }
}
