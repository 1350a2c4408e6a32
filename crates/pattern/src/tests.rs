//! The pattern language, feature by feature, as tables of
//! (pattern, event, expected) taken from AWS's documentation of event patterns
//! and content filtering, plus AWS's validation errors.

use serde_json::{json, Value};

use crate::{Pattern, RuleSet};

/// Parses `pattern` and asserts whether it matches `event`.
fn check(pattern: &str, event: Value, expected: bool) {
    let p = Pattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    assert_eq!(
        p.matches(&event),
        expected,
        "pattern {pattern}\nevent {event}"
    );
}

/// Asserts that `pattern` is rejected with AWS's `reason`.
fn check_error(pattern: &str, reason: &str) {
    match Pattern::parse(pattern) {
        Ok(_) => panic!("{pattern}: expected error {reason:?}"),
        Err(e) => {
            assert_eq!(e.reason(), reason, "pattern {pattern}");
            assert_eq!(
                e.to_string(),
                format!("Event pattern is not valid. Reason: {reason}")
            );
        }
    }
}

fn ec2_event() -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "us-west-1",
        "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"}
    })
}

#[test]
fn exact_values() {
    let ec2 = r#"{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["terminated"]}}"#;
    check(ec2, ec2_event(), true);
    check(
        r#"{"source": ["aws.ec2", "aws.fargate"]}"#,
        ec2_event(),
        true,
    );
    check(r#"{"source": ["aws.s3"]}"#, ec2_event(), false);
    // Fields the pattern names must exist; others are ignored.
    check(r#"{"detail": {"missing": ["x"]}}"#, ec2_event(), false);
    // Strings match character by character, without case folding.
    check(r#"{"source": ["AWS.EC2"]}"#, ec2_event(), false);
    for (pattern, event, expected) in [
        (r#"{"a": [null]}"#, json!({"a": null}), true),
        (r#"{"a": [null]}"#, json!({}), false),
        (r#"{"a": [null]}"#, json!({"a": "null"}), false),
        (r#"{"a": [""]}"#, json!({"a": ""}), true),
        (r#"{"a": [""]}"#, json!({"a": null}), false),
        (r#"{"a": [true]}"#, json!({"a": true}), true),
        (r#"{"a": [true]}"#, json!({"a": "true"}), false),
        (r#"{"a": [false]}"#, json!({"a": true}), false),
        // Numbers compare by value when a double holds them exactly.
        (r#"{"a": [300]}"#, json!({"a": 300.0}), true),
        (r#"{"a": [3.0e2]}"#, json!({"a": 300}), true),
        (r#"{"a": [300]}"#, json!({"a": "300"}), false),
        (r#"{"a": ["300"]}"#, json!({"a": 300}), false),
        (r#"{"a": [12345678901234567890]}"#, json!({"a": 12345678901234567890u64}), true),
        (r#"{"a": [12345678901234567890]}"#, json!({"a": 12345678901234567000u64}), false),
        // Address-shaped strings compare as addresses.
        (r#"{"ip": ["::1"]}"#, json!({"ip": "0:0:0:0:0:0:0:1"}), true),
        (r#"{"ip": ["10.0.0.1"]}"#, json!({"ip": "10.0.0.1"}), true),
        (r#"{"ip": ["10.0.0.1"]}"#, json!({"ip": "10.0.0.2"}), false),
        // Only JSON objects are events.
        (r#"{"a": [1]}"#, json!([{"a": 1}]), false),
        // A repeated field keeps its last value.
        (r#"{"a": ["x"], "a": ["y"]}"#, json!({"a": "y"}), true),
        (r#"{"a": ["x"], "a": ["y"]}"#, json!({"a": "x"}), false),
        (r#"{"a": ["x"], "exactly": [{"exactly": "y"}]}"#, json!({"a": "x", "exactly": "y"}), true),
    ] {
        check(pattern, event, expected);
    }
}

#[test]
fn nested_and_dotted_fields() {
    for (pattern, event, expected) in [
        (r#"{"detail": {"state": {"status": ["running"]}}}"#, json!({"detail": {"state": {"status": "running"}}}), true),
        // Dots in keys join paths the same way nesting does, on either side.
        (r#"{"detail": {"state": {"status": ["running"]}}}"#, json!({"detail": {"state.status": "running"}}), true),
        (r#"{"detail.state.status": ["running"]}"#, json!({"detail": {"state": {"status": "running"}}}), true),
        (r#"{"detail": {"state.status": {"status": ["running"]}}}"#, json!({"detail": {"state": {"status": "running"}}}), false),
        // A JSON string holding an object is just a string.
        (r#"{"detail": {"k": ["v"]}}"#, json!({"detail": "{\"k\": \"v\"}"}), false),
        (r#"{"detail": ["x"]}"#, json!({"detail": {"a": "x"}}), false),
    ] {
        check(pattern, event, expected);
    }
}

#[test]
fn arrays() {
    let resources = r#"{"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f", "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]}"#;
    for (pattern, event, expected) in [
        (resources, json!({"resources": ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup", "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}), true),
        (resources, json!({"resources": ["arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}), false),
        (resources, json!({"resources": []}), false),
        (r#"{"resources": [null]}"#, json!({"resources": []}), false),
        // Arrays of objects: any element may match…
        (r#"{"detail": {"items": {"id": [{"exists": true}]}}}"#, json!({"detail": {"items": [{"k": 1}, {"id": "x"}]}}), true),
        (r#"{"a": {"b": [2]}}"#, json!({"a": [{"b": 1}, {"b": [5, 2]}]}), true),
        // …but one branch must be satisfied within one element of each array.
        (r#"{"metrics": {"name": ["CPU"], "ns": ["ES"]}}"#, json!({"metrics": [{"name": "CPU", "ns": "EC2"}, {"name": "Req", "ns": "ES"}]}), false),
        (r#"{"metrics": {"name": ["CPU"], "ns": ["ES"]}}"#, json!({"metrics": [{"name": "Req", "ns": "EC2"}, {"name": "CPU", "ns": "ES"}]}), true),
        (r#"{"m": {"name": ["CPU"]}, "top": ["x"]}"#, json!({"m": [{"name": "CPU"}], "top": "x"}), true),
        // Scalars side by side in one array are alternatives of one field.
        (r#"{"a": ["x"], "b": {"c": ["y"]}}"#, json!({"a": ["x", "z"], "b": [{"c": "y"}]}), true),
        // exists:false only sees the element chosen for earlier fields.
        (r#"{"l": {"a": ["1"], "b": [{"exists": false}]}}"#, json!({"l": [{"a": "1"}, {"b": "2"}]}), true),
        (r#"{"l": {"a": ["1"], "b": [{"exists": false}]}}"#, json!({"l": [{"a": "1", "b": "2"}]}), false),
    ] {
        check(pattern, event, expected);
    }
}

#[test]
fn prefix_and_suffix() {
    for (pattern, event, expected) in [
        (r#"{"time": [{"prefix": "2017-10-02"}]}"#, json!({"time": "2017-10-02T18:43:48Z"}), true),
        (r#"{"time": [{"prefix": "2017-10-02"}]}"#, json!({"time": "2017-10-03T18:43:48Z"}), false),
        (r#"{"time": [{"prefix": ""}]}"#, json!({"time": "anything"}), true),
        (r#"{"n": [{"prefix": "1"}]}"#, json!({"n": 123}), false),
        (r#"{"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}"#, json!({"service": "eventbridge"}), true),
        (r#"{"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}"#, json!({"service": "EVENTBRIDGE"}), true),
        (r#"{"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}"#, json!({"service": "Event"}), false),
        (r#"{"FileName": [{"suffix": ".png"}]}"#, json!({"FileName": "image.png"}), true),
        (r#"{"FileName": [{"suffix": ".png"}]}"#, json!({"FileName": "image.PNG"}), false),
        (r#"{"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}"#, json!({"FileName": "image.PNG"}), true),
        (r#"{"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}"#, json!({"FileName": "image.jpg"}), false),
        (r#"{"FileName": [{"suffix": {"equals-ignore-case": "ÄÖ"}}]}"#, json!({"FileName": "xäö"}), true),
    ] {
        check(pattern, event, expected);
    }
}

#[test]
fn equals_ignore_case() {
    for (pattern, event, expected) in [
        (r#"{"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}"#, ec2_event(), true),
        (r#"{"a": [{"equals-ignore-case": "abc"}]}"#, json!({"a": "abcd"}), false),
        (r#"{"a": [{"equals-ignore-case": ""}]}"#, json!({"a": "x"}), false),
        (r#"{"a": [{"equals-ignore-case": "straße"}]}"#, json!({"a": "STRASSE"}), true),
        (r#"{"a": [{"equals-ignore-case": "ÉTÉ"}]}"#, json!({"a": "été"}), true),
        (r#"{"a": [{"equals-ignore-case": "1"}]}"#, json!({"a": 1}), false),
    ] {
        check(pattern, event, expected);
    }
}

#[test]
fn anything_but() {
    for (pattern, event, expected) in [
        (r#"{"state": [{"anything-but": "initializing"}]}"#, json!({"state": "running"}), true),
        (r#"{"state": [{"anything-but": "initializing"}]}"#, json!({"state": "initializing"}), false),
        // A missing field is not "anything"; other types are.
        (r#"{"state": [{"anything-but": "initializing"}]}"#, json!({}), false),
        (r#"{"state": [{"anything-but": "initializing"}]}"#, json!({"state": null}), true),
        (r#"{"state": [{"anything-but": "initializing"}]}"#, json!({"state": 5}), true),
        (r#"{"x-limit": [{"anything-but": 123}]}"#, json!({"x-limit": 123.0}), false),
        (r#"{"x-limit": [{"anything-but": 123}]}"#, json!({"x-limit": "123"}), true),
        (r#"{"state": [{"anything-but": ["stopped", "overloaded"]}]}"#, json!({"state": "stopped"}), false),
        (r#"{"state": [{"anything-but": ["stopped", "overloaded"]}]}"#, json!({"state": "running"}), true),
        (r#"{"x-limit": [{"anything-but": [100, 200, 300]}]}"#, json!({"x-limit": 200}), false),
        (r#"{"x-limit": [{"anything-but": [100, 200, 300]}]}"#, json!({"x-limit": 201}), true),
        // With an array in the event, one element outside the list is enough.
        (r#"{"state": [{"anything-but": "stopped"}]}"#, json!({"state": ["stopped", "running"]}), true),
        (r#"{"state": [{"anything-but": "stopped"}]}"#, json!({"state": ["stopped"]}), false),
        (r#"{"state": [{"anything-but": {"prefix": "init"}}]}"#, json!({"state": "initializing"}), false),
        (r#"{"state": [{"anything-but": {"prefix": "init"}}]}"#, json!({"state": "running"}), true),
        (r#"{"state": [{"anything-but": {"prefix": "init"}}]}"#, json!({"state": 12}), true),
        (r#"{"state": [{"anything-but": {"prefix": ["init", "run"]}}]}"#, json!({"state": "running"}), false),
        (r#"{"FileName": [{"anything-but": {"suffix": ".txt"}}]}"#, json!({"FileName": "a.txt"}), false),
        (r#"{"FileName": [{"anything-but": {"suffix": ".txt"}}]}"#, json!({"FileName": "a.png"}), true),
        (r#"{"state": [{"anything-but": {"equals-ignore-case": "Stopped"}}]}"#, json!({"state": "STOPPED"}), false),
        (r#"{"state": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]}"#, json!({"state": "C"}), true),
        (r#"{"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}"#, json!({"FilePath": "/usr/lib/x"}), false),
        (r#"{"FilePath": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]}"#, json!({"FilePath": "/usr/share/x"}), true),
    ] {
        check(pattern, event, expected);
    }
}

#[test]
fn numeric() {
    let docs = r#"{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"numeric": ["=", 3.018e2]}]}}"#;
    for (pattern, event, expected) in [
        (docs, json!({"detail": {"c-count": 5, "d-count": 7, "x-limit": 301.8}}), true),
        (docs, json!({"detail": {"c-count": 0, "d-count": 7, "x-limit": 301.8}}), false),
        (docs, json!({"detail": {"c-count": 5, "d-count": 10, "x-limit": 301.8}}), false),
        (r#"{"n": [{"numeric": [">", 100]}]}"#, json!({"n": 101.0}), true),
        (r#"{"n": [{"numeric": [">", 100]}]}"#, json!({"n": 100}), false),
        (r#"{"n": [{"numeric": [">=", 100]}]}"#, json!({"n": 100}), true),
        (r#"{"n": [{"numeric": [">=", 1, "<", 2]}]}"#, json!({"n": 2}), false),
        (r#"{"n": [{"numeric": ["<=", -1e9]}]}"#, json!({"n": -5000000000i64}), true),
        // Only JSON numbers take part.
        (r#"{"n": [{"numeric": [">", 100]}]}"#, json!({"n": "300"}), false),
        (r#"{"n": [{"numeric": [">", 100]}]}"#, json!({"n": null}), false),
        // Integers a double cannot hold exactly do not compare.
        (r#"{"n": [{"numeric": [">", 0]}]}"#, json!({"n": 9007199254740993u64}), false),
        (r#"{"n": [{"numeric": [">", 100]}, {"anything-but": "101"}]}"#, json!({"n": "101"}), false),
    ] {
        check(pattern, event, expected);
    }
}

#[test]
fn cidr() {
    for (pattern, event, expected) in [
        (r#"{"ip": [{"cidr": "10.0.0.0/24"}]}"#, json!({"ip": "10.0.0.255"}), true),
        (r#"{"ip": [{"cidr": "10.0.0.0/24"}]}"#, json!({"ip": "10.0.1.0"}), false),
        (r#"{"ip": [{"cidr": "10.0.0.0/24"}]}"#, json!({"ip": 123}), false),
        (r#"{"ip": [{"cidr": "10.0.0.0/24"}]}"#, json!({"ip": "not an ip"}), false),
        (r#"{"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]}"#, json!({"ip": "2001:0db8:1234:1a00:0000:0000:0000:0001"}), true),
        (r#"{"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]}"#, json!({"ip": "2001:db8:1234:1a01::1"}), false),
        (r#"{"ip": [{"cidr": "2001:db8::/32"}]}"#, json!({"ip": "10.0.0.1"}), false),
    ] {
        check(pattern, event, expected);
    }
}

#[test]
fn exists() {
    for (pattern, event, expected) in [
        (r#"{"detail": {"state": [{"exists": true}]}}"#, ec2_event(), true),
        (r#"{"detail": {"nope": [{"exists": true}]}}"#, ec2_event(), false),
        (r#"{"detail": {"nope": [{"exists": false}]}}"#, ec2_event(), true),
        (r#"{"detail": {"state": [{"exists": false}]}}"#, ec2_event(), false),
        (r#"{"a": [{"exists": true}]}"#, json!({"a": null}), true),
        // Only leaves exist: empty arrays and objects do not, parents do not.
        (r#"{"a": [{"exists": true}]}"#, json!({"a": []}), false),
        (r#"{"a": [{"exists": true}]}"#, json!({"a": {}}), false),
        (r#"{"a": [{"exists": true}]}"#, json!({"a": {"b": 1}}), false),
        (r#"{"a": [{"exists": false}]}"#, json!({"a": {"b": 1}}), true),
        (r#"{"a": [{"exists": false}, "x"]}"#, json!({"a": "x"}), true),
        (r#"{"a": [{"exists": false}, "x"]}"#, json!({"a": "y"}), false),
        (r#"{"a": {"b": {"S": [{"anything-but": ["roses"]}, {"exists": false}]}}}"#, json!({"a": {"c": {"N": "789"}}}), true),
        (r#"{"a": [{"exists": true}, {"prefix": "IGNORED"}]}"#, json!({"a": "value"}), true),
    ] {
        check(pattern, event, expected);
    }
}

#[test]
fn wildcard() {
    for (pattern, event, expected) in [
        (r#"{"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}"#, json!({"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/myEventBus"}), true),
        (r#"{"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}"#, json!({"EventBusArn": "arn:aws:events:us-west-2:123456789012:event-bus/myEventBus"}), false),
        (r#"{"FileName": [{"wildcard": "*.png"}]}"#, json!({"FileName": ".png"}), true),
        (r#"{"FileName": [{"wildcard": "dir/*.png"}]}"#, json!({"FileName": "dir/a/b.png"}), true),
        (r#"{"Title": [{"wildcard": "*Title*"}]}"#, json!({"Title": "A Title"}), true),
        (r#"{"a": [{"wildcard": ""}]}"#, json!({"a": "x"}), false),
        (r#"{"a": [{"wildcard": "*"}]}"#, json!({"a": 1}), false),
        // \* is a literal star and \\ a literal backslash.
        (r#"{"a": [{"wildcard": "a\\*b"}]}"#, json!({"a": "a*b"}), true),
        (r#"{"a": [{"wildcard": "a\\*b"}]}"#, json!({"a": "axb"}), false),
        (r#"{"a": [{"wildcard": "a\\\\b"}]}"#, json!({"a": "a\\b"}), true),
        // Repeats after a star stay under the complexity limit up to a point.
        (r#"{"path": [{"wildcard": "/home/*/src/src/src/src/src/main.rs"}]}"#, json!({"path": "/home/me/src/src/src/src/src/main.rs"}), true),
    ] {
        check(pattern, event, expected);
    }
}

#[test]
fn or() {
    let top = r#"{"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]}"#;
    let nested = r#"{"detail": {"$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 10]}]}, {"x-limit": [{"numeric": ["=", 3.018e2]}]}]}}"#;
    for (pattern, event, expected) in [
        (top, json!({"source": "aws.cloudwatch", "metricName": "ReadLatency"}), true),
        (top, json!({"source": "aws.cloudwatch", "namespace": "AWS/ES"}), true),
        (top, json!({"source": "aws.cloudwatch", "namespace": "AWS/S3"}), false),
        (top, json!({"source": "aws.ec2", "namespace": "AWS/ES"}), false),
        (nested, json!({"detail": {"x-limit": 301.8}}), true),
        (nested, json!({"detail": {"c-count": 9, "d-count": 10}}), false),
        // Fields after `$or` apply to every alternative.
        (r#"{"$or": [{"a": [1]}, {"b": [1]}], "c": [1]}"#, json!({"b": 1, "c": 1}), true),
        (r#"{"$or": [{"a": [1]}, {"b": [1]}], "c": [1]}"#, json!({"b": 1}), false),
        (r#"{"$or": [{"a": [1]}, {"$or": [{"b": [1]}, {"c": [1]}]}]}"#, json!({"c": 1}), true),
        (r#"{"$or": [{"a": [{"exists": true}]}, {"b": [{"exists": false}]}]}"#, json!({"c": 1}), true),
    ] {
        check(pattern, event, expected);
    }
}

#[test]
fn validation_errors() {
    let too_complex = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character";
    for (pattern, reason) in [
        // Structure.
        (r#"["not", "a", "dict"]"#, "Filter is not an object"),
        ("", "Filter is not an object"),
        ("42", "Filter is not an object"),
        ("{}", "Empty objects are not allowed"),
        (r#"{"a": {}}"#, "Empty objects are not allowed"),
        (r#"{"source": "aws.ec2"}"#, r#""source" must be an object or an array"#),
        (r#"{"int": 42}"#, r#""int" must be an object or an array"#),
        (r#"{"resources": []}"#, "Empty arrays are not allowed"),
        (r#"{"a": [[1]]}"#, "Match value must be String, number, true, false, or null"),
        (r#"{"a": [{}]}"#, "Match expression name not found"),
        (r#"{"a": [{"EXISTS": true}]}"#, "Unrecognized match type EXISTS"),
        (r#"{"a": [{"regex": "x"}]}"#, "Unrecognized match type regex"),
        (r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#, "Only one key allowed in match expression"),
        // String operators.
        (r#"{"a": [{"prefix": 123}]}"#, "prefix match pattern must be a string"),
        (r#"{"a": [{"prefix": ["x"]}]}"#, "prefix match pattern must be a string"),
        (r#"{"a": [{"suffix": 123}]}"#, "suffix match pattern must be a string"),
        (r#"{"a": [{"prefix": {"wildcard": "x"}}]}"#, "Unsupported prefix pattern: wildcard"),
        (r#"{"a": [{"suffix": {}}]}"#, "Suffix expression name not found"),
        (r#"{"a": [{"prefix": {"equals-ignore-case": 1}}]}"#, "equals-ignore-case match pattern must be a string"),
        (r#"{"a": [{"equals-ignore-case": ["x"]}]}"#, "equals-ignore-case match pattern must be a string"),
        (r#"{"a": [{"exactly": 1}]}"#, "exact match pattern must be a string"),
        (r#"{"a": [{"exists": "yes"}]}"#, "exists match pattern must be either true or false."),
        (r#"{"a": [{"exists": true, "prefix": "x"}]}"#, "Only one key allowed in match expression"),
        // numeric.
        (r#"{"a": [{"numeric": 10}]}"#, "Value of numeric must be an array."),
        (r#"{"a": [{"numeric": []}]}"#, "Invalid member in numeric match: ]"),
        (r#"{"a": [{"numeric": [5]}]}"#, "Invalid member in numeric match: 5"),
        (r#"{"a": [{"numeric": ["!=", 5]}]}"#, "Unrecognized numeric range operator: !="),
        (r#"{"a": [{"numeric": ["=", "5"]}]}"#, "Value of equals must be numeric"),
        (r#"{"a": [{"numeric": ["=", 5, 6]}]}"#, "Too many elements in numeric expression"),
        (r#"{"a": [{"numeric": ["<", 5, ">", 1]}]}"#, "Too many elements in numeric expression"),
        (r#"{"a": [{"numeric": [">", 0, 5]}]}"#, "Bad value in numeric range: 5"),
        (r#"{"a": [{"numeric": [">", 0, ">", 0]}]}"#, "Bad numeric range operator: >"),
        (r#"{"a": [{"numeric": [">", 0, "<"]}]}"#, "Value of < must be numeric"),
        (r#"{"a": [{"numeric": [">", 0, "<", 5, "x"]}]}"#, "Too many terms in numeric range expression"),
        (r#"{"a": [{"numeric": [">", 5, "<", 5]}]}"#, "Bottom must be less than top"),
        (r#"{"a": [{"numeric": [">", 0.30000000000000001]}]}"#, "Cannot compare number : 0.30000000000000001"),
        (r#"{"a": [{"NUMERIC": ["=", 5]}]}"#, "Unrecognized match type NUMERIC"),
        // anything-but.
        (r#"{"a": [{"anything-but": null}]}"#, "Value of anything-but must be an array or single string/number value."),
        (r#"{"a": [{"anything-but": true}]}"#, "Value of anything-but must be an array or single string/number value."),
        (r#"{"a": [{"anything-but": ["x", null]}]}"#, "Inside anything but list, start|null|boolean is not supported."),
        (r#"{"a": [{"anything-but": ["x", 1]}]}"#, "Inside anything but list, either all values are number or string, mixed type is not supported"),
        (r#"{"a": [{"anything-but": []}]}"#, "Inside anything but list, either all values are number or string, mixed type is not supported"),
        (r#"{"a": [{"anything-but": {}}]}"#, "Anything-But expression name not found"),
        (r#"{"a": [{"anything-but": {"exists": true}}]}"#, "Unsupported anything-but pattern: exists"),
        (r#"{"a": [{"anything-but": {"prefix": {"equals-ignore-case": "x"}}}]}"#, "Value of anything-but must be an array or single string/number value."),
        (r#"{"a": [{"anything-but": {"prefix": ""}}]}"#, "Null prefix/suffix not allowed"),
        (r#"{"a": [{"anything-but": {"suffix": [".txt", ""]}}]}"#, "Null prefix/suffix not allowed"),
        (r#"{"a": [{"anything-but": {"suffix": [null, ".txt"]}}]}"#, "prefix/suffix match pattern must be a string"),
        (r#"{"a": [{"anything-but": {"prefix": 123}}]}"#, "prefix/suffix match pattern must be a string"),
        (r#"{"a": [{"anything-but": {"equals-ignore-case": 123}}]}"#, "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."),
        (r#"{"a": [{"anything-but": {"wildcard": [123]}}]}"#, "wildcard match pattern must be a string"),
        (r#"{"a": [{"anything-but": {"wildcard": "a**"}}]}"#, "Consecutive wildcard characters at pos 2"),
        (r#"{"a": [{"anything-but": "x", "prefix": "y"}]}"#, "Too many elements in numeric expression"),
        // cidr.
        (r#"{"ip": [{"cidr": ["10.0.0.0/24"]}]}"#, "prefix match pattern must be a string"),
        (r#"{"ip": [{"cidr": "bad-value"}]}"#, "Malformed CIDR, one '/' required"),
        (r#"{"ip": [{"cidr": "10.0.0.0/xx"}]}"#, "Malformed CIDR, mask bits must be an integer"),
        (r#"{"ip": [{"cidr": "xx.11.xx/24"}]}"#, "Nonstandard IP address: xx.11.xx"),
        (r#"{"ip": [{"cidr": "xxxx:db8:1234:1a00::/64"}]}"#, "Nonstandard IP address: xxxx:db8:1234:1a00::"),
        (r#"{"ip": [{"cidr": "10.0.0.0/32"}]}"#, "IPv4 mask bits must be < 32"),
        // wildcard.
        (r#"{"a": [{"wildcard": 123}]}"#, "wildcard match pattern must be a string"),
        (r#"{"a": [{"wildcard": "arn:aws:sqs:eu-west-1:**:queue"}]}"#, "Consecutive wildcard characters at pos 23"),
        (r#"{"a": [{"wildcard": "a\\b"}]}"#, "Invalid escape character at pos 2"),
        (r#"{"a": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}"#, too_complex),
        (r#"{"$or": [{"a": [{"wildcard": "*a*a*"}]}, {"a": [{"wildcard": "*a*a*a*"}]}]}"#, too_complex),
        // $or.
        (r#"{"$or": {"a": [1]}}"#, "It must be an Array followed with $or."),
        (r#"{"$or": [{"a": [1]}]}"#, "There must have at least 2 Objects in $or relationship."),
        (r#"{"$or": [{"a": [1]}, [1]]}"#, "Only JSON object is allowed in array of $or relationship."),
        (r#"{"$or": [{"a": [1]}, {"prefix": [1]}]}"#, "prefix is Ruler reserved fieldName which cannot be used inside $or."),
        // JSON syntax, worded like AWS's parser.
        ("this is valid json but not a dict", "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"),
        ("{'bad': 'quotation'}", "Unexpected character (''' (code 39)): was expecting double-quote to start field name"),
        // The first problem in document order wins, even before bad syntax.
        (r#"{"a": [], "b": nonsense"#, "Empty arrays are not allowed"),
        // A malformed scalar is reported with its name, before the name is judged.
        (r#"{"a": [{"foo": tru}]}"#, "Unrecognized token 'tru': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"),
        (r#"{"a": [{"foo": "x"}]}"#, "Unrecognized match type foo"),
    ] {
        check_error(pattern, reason);
    }
    // Repeated `$or`s multiply; past the limit the pattern is refused.
    let or = r#""$or": [{"a": [1]}, {"b": [1]}, {"c": [1]}, {"d": [1]}]"#;
    let many = format!("{{{}}}", [or; 6].join(","));
    check_error(
        &many,
        "Too many $or combinations; at most 1024 are supported",
    );
}

#[test]
fn rule_set() {
    // Compiled patterns are shared across request handlers and threads.
    fn shareable<T: Send + Sync + Clone + std::fmt::Debug>() {}
    shareable::<Pattern>();
    shareable::<RuleSet<String>>();
    let mut rules = RuleSet::new();
    let patterns = [
        ("ec2", r#"{"source": ["aws.ec2"]}"#),
        ("ec2-terminated", r#"{"source": ["aws.ec2"], "detail": {"state": ["terminated"]}}"#),
        ("s3", r#"{"source": ["aws.s3"]}"#),
        ("any-aws", r#"{"source": [{"prefix": "aws."}]}"#),
        ("or", r#"{"$or": [{"source": ["aws.s3"]}, {"detail-type": ["EC2 Instance State-change Notification"]}]}"#),
        ("no-state", r#"{"detail": {"state": [{"exists": false}]}}"#),
    ];
    for (key, p) in patterns {
        rules.insert(key, Pattern::parse(p).unwrap());
    }
    assert_eq!(rules.len(), 6);
    assert_eq!(
        rules.matching(&ec2_event()),
        vec!["ec2", "ec2-terminated", "any-aws", "or"]
    );
    assert_eq!(
        rules.matching(&json!({"source": "aws.s3"})),
        vec!["s3", "any-aws", "or", "no-state"]
    );
    assert_eq!(
        rules.matching(&json!(["not", "an", "object"])),
        Vec::<&str>::new()
    );
    rules.retain(|k| !k.starts_with("ec2"));
    assert_eq!(rules.len(), 4);
    assert_eq!(rules.matching(&ec2_event()), vec!["any-aws", "or"]);
    // Every rule set answer agrees with matching the patterns one by one.
    for event in [
        ec2_event(),
        json!({"source": "aws.s3", "detail": {"state": 1}}),
        json!({}),
    ] {
        let one_by_one: Vec<&str> = rules
            .iter()
            .filter(|(_, p)| p.matches(&event))
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(rules.matching(&event), one_by_one);
    }
}

#[test]
fn limits() {
    // Deep patterns parse up to the parser's depth limit; events are followed
    // 256 levels down.
    let deepest = format!("{}[1]{}", r#"{"a":"#.repeat(999), "}".repeat(999));
    assert!(Pattern::parse(&deepest).is_ok());
    let depth = 200;
    let pattern = format!("{}[1]{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    let mut event = json!(1);
    for _ in 0..depth {
        event = json!({"a": event});
    }
    check(&pattern, event, true);
    let too_deep = format!("{}[1]{}", r#"{"a":"#.repeat(1000), "}".repeat(1000));
    check_error(&too_deep, "Document nesting depth (1001) exceeds the maximum allowed (1000, from `StreamReadConstraints.getMaxNestingDepth()`)");
    // Many arrays of objects: the search for a consistent choice stays bounded.
    let items: Vec<Value> = (0..200).map(|i| json!({"x": i, "y": [{"z": i}]})).collect();
    check(r#"{"l": {"x": [{"numeric": [">=", 0]}], "y": {"z": [-1]}}}"#, json!({"l": items}), false);
}
