//! Unit tests of the pure core (names, attributes, MD5s, visibility and redrive) and of
//! the queue state driven through the API with a manual clock.

use crate::model::{self, AttrData, AttrValue, ReceiveStep, Visibility};
use crate::SqsError;
use serde_json::json;
use std::collections::BTreeMap;

fn attrs(list: &[(&str, &str, AttrData)]) -> BTreeMap<String, AttrValue> {
    list.iter()
        .map(|(n, t, v)| {
            (
                n.to_string(),
                AttrValue {
                    data_type: t.to_string(),
                    value: v.clone(),
                },
            )
        })
        .collect()
}

fn text(s: &str) -> AttrData {
    AttrData::Text(s.into())
}

#[test]
fn md5_of_message_attributes() {
    // Values computed by the algorithm AWS documents and its SDKs check against.
    let cases: Vec<(BTreeMap<String, AttrValue>, Option<String>)> = vec![
        (BTreeMap::new(), None),
        (
            attrs(&[("a", "String", text("b"))]),
            Some(model::md5_hex(b"\0\0\0\x01a\0\0\0\x06String\x01\0\0\0\x01b")),
        ),
        (
            attrs(&[("z", "Binary", AttrData::Binary(vec![0, 1])), ("a", "Number", text("3"))]),
            Some(model::md5_hex(
                b"\0\0\0\x01a\0\0\0\x06Number\x01\0\0\0\x013\0\0\0\x01z\0\0\0\x06Binary\x02\0\0\0\x02\0\x01",
            )),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(model::md5_of_attributes(&input), want, "{input:?}");
    }
    assert_eq!(model::md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
}

#[test]
fn queue_names() {
    for (name, ok) in [
        ("orders", true),
        ("a-b_C9", true),
        ("x".repeat(80).as_str(), true),
        ("x".repeat(81).as_str(), false),
        ("", false),
        ("has space", false),
        ("q.fifo", true),
        (format!("{}.fifo", "x".repeat(75)).as_str(), true),
        (format!("{}.fifo", "x".repeat(76)).as_str(), false),
        (".fifo", false),
        ("q.fifo.fifo", false),
    ] {
        assert_eq!(model::valid_queue_name(name), ok, "{name}");
    }
    assert!(!model::valid_batch_id("a.fifo"));
}

#[test]
fn fifo_ids_and_sequence_numbers() {
    assert!(model::valid_fifo_id("group-1!?"));
    assert!(!model::valid_fifo_id(""));
    assert!(!model::valid_fifo_id("has space"));
    assert!(!model::valid_fifo_id(&"x".repeat(129)));
    assert_eq!(model::dedup_id(Some("d1"), "body", false).unwrap(), "d1");
    // SHA-256 of the body when the queue deduplicates by content.
    assert_eq!(
        model::dedup_id(None, "abc", true).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(matches!(
        model::dedup_id(None, "abc", false),
        Err(SqsError::InvalidParameterValue(m)) if m.contains("ContentBasedDeduplication")
    ));
    assert!(model::dedup_id(Some("bad id"), "abc", true).is_err());
    let (a, b) = (model::sequence_number(1), model::sequence_number(2));
    assert_eq!(a.len(), 20);
    assert!(a < b);
}

#[test]
fn queue_arns_and_urls() {
    assert_eq!(
        model::parse_queue_arn("arn:aws:sqs:us-east-1:000000000000:dlq"),
        Some(("us-east-1".into(), "dlq".into()))
    );
    for bad in [
        "arn:aws:sns:us-east-1:000000000000:t",
        "dlq",
        "arn:aws:sqs::0:x",
    ] {
        assert_eq!(model::parse_queue_arn(bad), None, "{bad}");
    }
    assert_eq!(
        model::queue_name_from_url("http://localhost:4566/000000000000/orders"),
        Some("orders")
    );
}

#[test]
fn message_attribute_names() {
    for (name, ok) in [
        ("color", true),
        ("a.b-c_d", true),
        ("AWS.thing", false),
        ("amazon.x", false),
        (".lead", false),
        ("trail.", false),
        ("a..b", false),
        ("sp ace", false),
        ("attr.1øßä", true),
        ("a/b", false),
    ] {
        assert_eq!(model::valid_attribute_name(name), ok, "{name}");
    }
}

#[test]
fn message_attribute_values() {
    let parse = |v| model::parse_message_attributes(Some(&v)).map(|m| m.len());
    assert_eq!(
        parse(json!({"a": {"DataType": "String", "StringValue": "x"}})),
        Ok(1)
    );
    assert_eq!(
        parse(json!({"a": {"DataType": "Number.int", "StringValue": "7"}})),
        Ok(1)
    );
    assert_eq!(
        parse(json!({"a": {"DataType": "Binary", "BinaryValue": "AAE="}})),
        Ok(1)
    );
    for bad in [
        json!({"a": {"DataType": "Number", "StringValue": "seven"}}),
        json!({"a": {"DataType": "Date", "StringValue": "x"}}),
        json!({"a": {"DataType": "String"}}),
        json!({"a": {"StringValue": "x"}}),
        json!({"AWS.x": {"DataType": "String", "StringValue": "x"}}),
    ] {
        assert!(
            matches!(parse(bad.clone()), Err(SqsError::InvalidParameterValue(_))),
            "{bad}"
        );
    }
}

#[test]
fn message_checks() {
    let none = BTreeMap::new();
    let cases: Vec<(String, usize, bool)> = vec![
        ("hello".to_string(), 1024, true),
        ("".to_string(), 1024, false),
        ("tab\tnewline\n".to_string(), 1024, true),
        ("nul\u{1}".to_string(), 1024, false),
        ("x".repeat(1025), 1024, false),
        ("x".repeat(1024), 1024, true),
    ];
    for (body, max, ok) in cases {
        assert_eq!(
            model::check_message(&body, &none, max).is_ok(),
            ok,
            "{body:.20} {max}"
        );
    }
}

#[test]
fn queue_attributes() {
    let set = |pairs: &[(&str, &str)]| {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        model::QueueAttrs::default().with(&m)
    };
    assert_eq!(
        set(&[("VisibilityTimeout", "45")])
            .unwrap()
            .visibility_timeout_s,
        45
    );
    let r = set(&[(
        "RedrivePolicy",
        r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d","maxReceiveCount":"3"}"#,
    )])
    .unwrap()
    .redrive
    .unwrap();
    assert_eq!(r.max_receive_count, 3);
    for (k, v) in [
        ("VisibilityTimeout", "43201"),
        ("MessageRetentionPeriod", "59"),
        ("DelaySeconds", "901"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
        ("MaximumMessageSize", "1023"),
        ("RedrivePolicy", "{}"),
        (
            "RedrivePolicy",
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:0:d","maxReceiveCount":0}"#,
        ),
    ] {
        assert!(
            matches!(set(&[(k, v)]), Err(SqsError::InvalidAttributeValue(_))),
            "{k}={v}"
        );
    }
    assert!(matches!(
        set(&[("Bogus", "1")]),
        Err(SqsError::InvalidAttributeName(_))
    ));
    // Standard queues know no FIFO attributes, whatever their value.
    for (k, v) in [
        ("FifoQueue", "true"),
        ("FifoQueue", "false"),
        ("ContentBasedDeduplication", "true"),
        ("DeduplicationScope", "queue"),
        ("FifoThroughputLimit", "perQueue"),
    ] {
        assert!(
            matches!(set(&[(k, v)]), Err(SqsError::InvalidAttributeName(_))),
            "{k}={v}"
        );
    }
    let fifo = |pairs: &[(&str, &str)]| {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        model::QueueAttrs::defaults(true).with(&m)
    };
    let a = fifo(&[
        ("FifoQueue", "true"),
        ("ContentBasedDeduplication", "true"),
        ("DeduplicationScope", "messageGroup"),
        ("FifoThroughputLimit", "perMessageGroupId"),
    ])
    .unwrap();
    let shown = a.to_map();
    assert_eq!(shown["FifoQueue"], "true");
    assert_eq!(shown["ContentBasedDeduplication"], "true");
    assert_eq!(shown["DeduplicationScope"], "messageGroup");
    assert_eq!(shown["FifoThroughputLimit"], "perMessageGroupId");
    assert!(fifo(&[("FifoThroughputLimit", "perMessageGroupId")]).is_err());
    assert!(fifo(&[("DeduplicationScope", "everywhere")]).is_err());
    assert!(fifo(&[("FifoQueue", "false")]).is_err());
    let with_policy = set(&[("Policy", "{}")]).unwrap();
    assert!(with_policy.to_map().contains_key("Policy"));
    let cleared = with_policy
        .with(
            &[("Policy".to_string(), String::new())]
                .into_iter()
                .collect(),
        )
        .unwrap();
    assert!(!cleared.to_map().contains_key("Policy"));
}

#[test]
fn visibility_states() {
    for (visible_at, count, now, want) in [
        (100, 0, 100, Visibility::Visible),
        (200, 0, 100, Visibility::Delayed),
        (200, 1, 100, Visibility::InFlight),
        (50, 3, 100, Visibility::Visible),
    ] {
        assert_eq!(model::visibility(visible_at, count, now), want);
    }
}

#[test]
fn receive_decisions() {
    let day = 86_400;
    // (receive count so far, sent at, retention s, maxReceiveCount, now) -> step
    for (count, sent, retention, max, now, want) in [
        (
            0,
            0,
            day,
            None,
            1_000,
            ReceiveStep::Deliver {
                visible_at_ms: 31_000,
            },
        ),
        (
            1,
            0,
            day,
            Some(2),
            1_000,
            ReceiveStep::Deliver {
                visible_at_ms: 31_000,
            },
        ),
        (2, 0, day, Some(2), 1_000, ReceiveStep::DeadLetter),
        (
            5,
            0,
            day,
            None,
            1_000,
            ReceiveStep::Deliver {
                visible_at_ms: 31_000,
            },
        ),
        (0, 0, 60, None, 60_000, ReceiveStep::Expire),
    ] {
        assert_eq!(
            model::on_receive(count, sent, retention, max, 30, now),
            want,
            "count {count} max {max:?} now {now}"
        );
    }
}

#[test]
fn attribute_selection() {
    let names = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for (name, wanted, ok) in [
        ("a", names(&["All"]), true),
        ("a", names(&[".*"]), true),
        ("a", names(&["a"]), true),
        ("a", names(&["b"]), false),
        ("foo.bar", names(&["foo.*"]), true),
        ("foobar", names(&["foo.*"]), false),
        ("a", names(&[]), false),
    ] {
        assert_eq!(
            model::attribute_selected(name, &wanted),
            ok,
            "{name} {wanted:?}"
        );
    }
}

#[test]
fn receipt_handles_round_trip() {
    let h = model::receipt_handle("us-east-1", "q", 42, "n-1");
    assert_eq!(
        model::parse_receipt_handle(&h),
        Some(("us-east-1".into(), "q".into(), 42, "n-1".into()))
    );
    assert_eq!(model::parse_receipt_handle("garbage!"), None);
}
