"""EventBridge: event buses (default and custom), rules and their targets
(round trips, paging, enable/disable, tags, the checks PutRule and PutTargets
make and that a refused request changes nothing), PutEvents (response shape,
per-entry errors, the size limit), TestEventPattern, and delivery to Lambda:
the event envelope, pattern filtering, disabled rules, Input, InputPath and
InputTransformer, custom buses and bus-to-bus targets, Lambda's async retries
of a failing target, dead-lettering of a target that cannot be reached,
S3 notifications through EventBridge,
scheduled rules, the AWS CLI, and definitions and accepted events surviving
kill -9.

Functions run on this machine and append every event they receive to a file
under the test's tmp dir (recorder.py), one JSON document per line, so the
test sees exactly what was delivered and how often."""

import json
import re
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, REGION, aws, error_code, error_message, function_arn, unique, wait_until
from recorder import make_recorder, read_events, wait_for_event

EVENT_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
BIG_ORDERS = {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}
# Any role will do: Eddy, like AWS for same-account buses, does not need to
# assume it, but AWS's API wants one for bus targets.
EVENTS_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/events"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:dlq"
RECORDER_PREFIX = "ev-recorder"


def bus_arn(name: str) -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{name}"


def rule_arn(name: str, bus: str = "default") -> str:
    if bus == "default":
        return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{name}"
    return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{bus}/{name}"


def detail_of(event) -> dict:
    return event.get("detail", {}) if isinstance(event, dict) else {}


def put_one(events, source: str, detail: dict, detail_type: str = "test", **entry) -> str:
    """PutEvents of one entry that must be accepted; returns its EventId."""
    resp = events.put_events(
        Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), **entry}]
    )
    assert resp["FailedEntryCount"] == 0, resp
    return resp["Entries"][0]["EventId"]


def rule_to(events, recorder: str, pattern: dict, bus: str = "default", **rule) -> str:
    """A rule on `bus` sending events matching `pattern` to function `recorder`."""
    name = unique("rule")
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), EventBusName=bus, **rule)
    resp = events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "recorder", "Arn": function_arn(recorder)}])
    assert resp["FailedEntryCount"] == 0, resp
    return name


@pytest.fixture(scope="module")
def events(server):
    return server.client("events")


@pytest.fixture
def bus(events) -> str:
    name = unique("bus")
    events.create_event_bus(Name=name)
    return name


@pytest.fixture
def source() -> str:
    """An event source no other test uses, so other tests' rules never match."""
    return f"test.{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------
# Buses
# --------------------------------------------------------------------------


def test_default_bus_exists(events):
    bus = events.describe_event_bus()
    assert bus["Name"] == "default"
    assert bus["Arn"] == bus_arn("default")
    assert events.describe_event_bus(Name="default")["Arn"] == bus_arn("default")
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert "default" in names


def test_custom_bus_lifecycle(events):
    name = unique("orders")
    created = events.create_event_bus(Name=name)
    assert created["EventBusArn"] == bus_arn(name)

    described = events.describe_event_bus(Name=name)
    assert described["Name"] == name
    assert described["Arn"] == bus_arn(name)

    listed = events.list_event_buses(NamePrefix=name)["EventBuses"]
    assert [b["Name"] for b in listed] == [name]
    assert listed[0]["Arn"] == bus_arn(name)

    with pytest.raises(ClientError) as exc:
        events.create_event_bus(Name=name)
    assert error_code(exc) == "ResourceAlreadyExistsException"
    assert error_message(exc) == f"Event bus {name} already exists."

    events.delete_event_bus(Name=name)
    with pytest.raises(ClientError) as exc:
        events.describe_event_bus(Name=name)
    assert error_code(exc) == "ResourceNotFoundException"
    assert events.list_event_buses(NamePrefix=name)["EventBuses"] == []


def test_default_bus_cannot_be_deleted(events):
    with pytest.raises(ClientError) as exc:
        events.delete_event_bus(Name="default")
    assert error_code(exc) == "ValidationException"
    assert events.describe_event_bus(Name="default")["Name"] == "default"


def test_describe_unknown_bus(events):
    name = unique("no-such-bus")
    with pytest.raises(ClientError) as exc:
        events.describe_event_bus(Name=name)
    assert error_code(exc) == "ResourceNotFoundException"
    assert name in error_message(exc)


# --------------------------------------------------------------------------
# Rules and targets
# --------------------------------------------------------------------------


def test_rule_round_trip(events):
    name = unique("rule")
    pattern = {"source": ["shop"], "detail-type": ["order"]}
    resp = events.put_rule(Name=name, EventPattern=json.dumps(pattern), Description="orders")
    assert resp["RuleArn"] == rule_arn(name)

    rule = events.describe_rule(Name=name)
    assert rule["Name"] == name
    assert rule["Arn"] == rule_arn(name)
    assert json.loads(rule["EventPattern"]) == pattern
    assert rule["State"] == "ENABLED"
    assert rule["EventBusName"] == "default"
    assert rule["Description"] == "orders"
    assert "ScheduleExpression" not in rule

    listed = events.list_rules(NamePrefix=name)["Rules"]
    assert [r["Name"] for r in listed] == [name]
    assert listed[0]["Arn"] == rule_arn(name)
    assert listed[0]["State"] == "ENABLED"
    assert json.loads(listed[0]["EventPattern"]) == pattern


def test_rule_on_custom_bus(events, bus):
    name = unique("rule")
    pattern = {"source": ["billing"]}
    resp = events.put_rule(Name=name, EventPattern=json.dumps(pattern), EventBusName=bus)
    assert resp["RuleArn"] == rule_arn(name, bus)

    rule = events.describe_rule(Name=name, EventBusName=bus)
    assert rule["Arn"] == rule_arn(name, bus)
    assert rule["EventBusName"] == bus
    assert json.loads(rule["EventPattern"]) == pattern

    # The bus may also be named by its ARN.
    assert events.describe_rule(Name=name, EventBusName=bus_arn(bus))["Name"] == name

    assert [r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"]] == [name]
    # The rule lives on its bus only.
    assert events.list_rules(NamePrefix=name)["Rules"] == []
    with pytest.raises(ClientError) as exc:
        events.describe_rule(Name=name)
    assert error_code(exc) == "ResourceNotFoundException"
    assert error_message(exc) == f"Rule {name} does not exist on EventBus default."


def test_list_rules_prefix_and_paging(events):
    prefix = unique("page")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    events.put_rule(Name=unique("other"), EventPattern=json.dumps({"source": ["other"]}))

    seen = []
    pages = 0
    kwargs = {"NamePrefix": prefix, "Limit": 2}
    while True:
        page = events.list_rules(**kwargs)
        pages += 1
        assert len(page["Rules"]) <= 2, page
        seen += [r["Name"] for r in page["Rules"]]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
        assert pages < 10, "paging does not end"
    assert sorted(seen) == names
    assert pages == 3

    everything = [r["Name"] for r in events.list_rules(NamePrefix=prefix)["Rules"]]
    assert sorted(everything) == names


def test_enable_disable(events):
    name = unique("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}), State="DISABLED")
    assert events.describe_rule(Name=name)["State"] == "DISABLED"
    events.enable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "ENABLED"
    events.disable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "DISABLED"
    assert events.list_rules(NamePrefix=name)["Rules"][0]["State"] == "DISABLED"

    with pytest.raises(ClientError) as exc:
        events.enable_rule(Name=unique("no-such-rule"))
    assert error_code(exc) == "ResourceNotFoundException"


def test_delete_rule_with_targets_is_refused(events):
    name = unique("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}))
    events.put_targets(Rule=name, Targets=[{"Id": "t1", "Arn": function_arn(unique("fn"))}])

    with pytest.raises(ClientError) as exc:
        events.delete_rule(Name=name)
    assert error_code(exc) == "ValidationException"
    assert error_message(exc) == "Rule can't be deleted since it has targets."
    assert events.describe_rule(Name=name)["Name"] == name

    removed = events.remove_targets(Rule=name, Ids=["t1"])
    assert removed["FailedEntryCount"] == 0, removed
    assert events.list_targets_by_rule(Rule=name)["Targets"] == []
    events.delete_rule(Name=name)
    with pytest.raises(ClientError) as exc:
        events.describe_rule(Name=name)
    assert error_code(exc) == "ResourceNotFoundException"


def test_put_rule_again_keeps_targets(events):
    name = unique("rule")
    fn = unique("fn")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["a"]}))
    events.put_targets(
        Rule=name,
        Targets=[
            {"Id": "one", "Arn": function_arn(fn)},
            {"Id": "two", "Arn": function_arn(fn), "Input": '{"k": 1}'},
        ],
    )
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["b"]}))
    assert json.loads(events.describe_rule(Name=name)["EventPattern"]) == {"source": ["b"]}

    targets = {t["Id"]: t for t in events.list_targets_by_rule(Rule=name)["Targets"]}
    assert set(targets) == {"one", "two"}
    assert targets["one"]["Arn"] == function_arn(fn)
    assert targets["two"]["Input"] == '{"k": 1}'

    # Putting a target with an existing Id replaces it.
    events.put_targets(Rule=name, Targets=[{"Id": "two", "Arn": function_arn(fn), "InputPath": "$.detail"}])
    targets = {t["Id"]: t for t in events.list_targets_by_rule(Rule=name)["Targets"]}
    assert set(targets) == {"one", "two"}
    assert targets["two"]["InputPath"] == "$.detail"
    assert "Input" not in targets["two"]

    other = unique("rule")
    events.put_rule(Name=other, EventPattern=json.dumps({"source": ["c"]}))
    events.put_targets(Rule=other, Targets=[{"Id": "x", "Arn": function_arn(fn)}])
    by_target = events.list_rule_names_by_target(TargetArn=function_arn(fn))["RuleNames"]
    assert sorted(by_target) == sorted([name, other])
    assert events.list_rule_names_by_target(TargetArn=function_arn(unique("nobody")))["RuleNames"] == []


def test_rule_tags(events):
    name = unique("rule")
    arn = events.put_rule(
        Name=name, EventPattern=json.dumps({"source": ["x"]}), Tags=[{"Key": "team", "Value": "shop"}]
    )["RuleArn"]
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "shop"}]

    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "ops"}])
    tags = {t["Key"]: t["Value"] for t in events.list_tags_for_resource(ResourceARN=arn)["Tags"]}
    assert tags == {"team": "ops", "env": "dev"}

    events.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]

    with pytest.raises(ClientError) as exc:
        events.list_tags_for_resource(ResourceARN=rule_arn(unique("no-such-rule")))
    assert error_code(exc) == "ResourceNotFoundException"


def test_bus_tags(events):
    name = unique("tagged-bus")
    arn = events.create_event_bus(Name=name, Tags=[{"Key": "team", "Value": "shop"}])["EventBusArn"]
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "shop"}]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}])
    events.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]


# --------------------------------------------------------------------------
# Refused input changes nothing
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(events):
    """A rule with one target on the default bus and one on a custom bus.

    Refused requests below aim at these names; each test checks afterwards
    that they are exactly as they were.
    """
    bus = unique("baseline-bus")
    events.create_event_bus(Name=bus)
    rules = []
    for bus_name in ("default", bus):
        name = unique("baseline")
        events.put_rule(
            Name=name, EventPattern=json.dumps({"source": ["baseline"]}), EventBusName=bus_name, Description="kept"
        )
        events.put_targets(
            Rule=name, EventBusName=bus_name, Targets=[{"Id": "kept", "Arn": function_arn(unique("fn")), "Input": '{"a": 1}'}]
        )
        rules.append((bus_name, name))
    return {"bus": bus, "rules": rules, "snapshot": snapshot(events, rules)}


def snapshot(events, rules):
    state = []
    for bus_name, name in rules:
        rule = events.describe_rule(Name=name, EventBusName=bus_name)
        rule.pop("ResponseMetadata", None)
        targets = events.list_targets_by_rule(Rule=name, EventBusName=bus_name)["Targets"]
        state.append((rule, targets))
    return state


def assert_unchanged(events, baseline):
    assert snapshot(events, baseline["rules"]) == baseline["snapshot"]


def default_rule(baseline) -> str:
    return baseline["rules"][0][1]


def test_invalid_rule_name(events, baseline):
    for bad in ("bad name!", "slash/name", "x" * 65):
        with pytest.raises(ClientError) as exc:
            events.put_rule(Name=bad, EventPattern=json.dumps({"source": ["x"]}))
        assert error_code(exc) == "ValidationException", bad
    assert_unchanged(events, baseline)


def test_rule_needs_pattern_or_schedule(events, baseline):
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name=default_rule(baseline))
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name=unique("rule"))
    assert error_code(exc) == "ValidationException"
    assert_unchanged(events, baseline)


@pytest.mark.parametrize(
    "pattern",
    [
        "not json",
        '{"source": "shop"}',  # values must be arrays
        '{"detail": {"n": [{"numeric": [">", "x"]}]}}',
        '{"source": [{"no-such-operator": 1}]}',
        '["source"]',
    ],
)
def test_invalid_event_pattern(events, baseline, pattern):
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name=default_rule(baseline), EventPattern=pattern)
    assert error_code(exc) == "InvalidEventPatternException", pattern
    assert_unchanged(events, baseline)


@pytest.mark.parametrize(
    "expression",
    ["rate(0 minutes)", "rate(1 minutes)", "rate(5 minute)", "cron(0 1 * * * *)", "cron(71 8 1 * ? *)", "every minute"],
)
def test_invalid_schedule_expression(events, baseline, expression):
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name=default_rule(baseline), ScheduleExpression=expression)
    assert error_code(exc) == "ValidationException", expression
    assert error_message(exc) == "Parameter ScheduleExpression is not valid.", expression
    assert_unchanged(events, baseline)


def test_valid_schedule_expressions_are_accepted(events):
    for expression in ("rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(2 days)", "cron(0 12 * * ? *)", "cron(15 10 ? * MON-FRI *)"):
        name = unique("sched")
        events.put_rule(Name=name, ScheduleExpression=expression, State="DISABLED")
        assert events.describe_rule(Name=name)["ScheduleExpression"] == expression


def test_schedule_only_on_default_bus(events, baseline):
    bus_name, name = baseline["rules"][1]
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name=name, ScheduleExpression="rate(5 minutes)", EventBusName=bus_name)
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name=unique("rule"), ScheduleExpression="rate(5 minutes)", EventBusName=bus_name)
    assert error_code(exc) == "ValidationException"
    assert_unchanged(events, baseline)


def test_too_many_targets(events, baseline):
    fn = function_arn(unique("fn"))
    with pytest.raises(ClientError) as exc:
        events.put_targets(Rule=default_rule(baseline), Targets=[{"Id": f"t{i}", "Arn": fn} for i in range(6)])
    assert error_code(exc) == "LimitExceededException"
    assert_unchanged(events, baseline)


def test_invalid_target_input(events, baseline):
    fn = function_arn(unique("fn"))
    rule = default_rule(baseline)
    for target in (
        {"Id": "kept", "Arn": fn, "Input": "not json"},
        {"Id": "kept", "Arn": fn, "Input": '{"a": 1}', "InputPath": "$.detail"},
        {"Id": "new", "Arn": fn, "Input": "{"},
        {"Id": "new", "Arn": fn, "InputPath": "$.detail", "InputTransformer": {"InputTemplate": '"x"'}},
    ):
        with pytest.raises(ClientError) as exc:
            events.put_targets(Rule=rule, Targets=[target])
        assert error_code(exc) == "ValidationException", target
    assert_unchanged(events, baseline)


def test_unknown_rule(events, baseline):
    name = unique("no-such-rule")
    with pytest.raises(ClientError) as exc:
        events.describe_rule(Name=name)
    assert error_code(exc) == "ResourceNotFoundException"
    assert error_message(exc) == f"Rule {name} does not exist on EventBus default."

    with pytest.raises(ClientError) as exc:
        events.put_targets(Rule=name, Targets=[{"Id": "t", "Arn": function_arn(unique("fn"))}])
    assert error_code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}), EventBusName=unique("no-such-bus"))
    assert error_code(exc) == "ResourceNotFoundException"
    assert_unchanged(events, baseline)


def test_baseline_survives_all_refusals(events, baseline):
    # Runs after the refusals above (pytest keeps file order); they each
    # check this too, so this is the last word when run as a whole module.
    assert_unchanged(events, baseline)
    for bus_name, name in baseline["rules"]:
        assert events.describe_rule(Name=name, EventBusName=bus_name)["Description"] == "kept"


# --------------------------------------------------------------------------
# PutEvents
# --------------------------------------------------------------------------


def test_put_events_response_shape(events, source):
    resp = events.put_events(
        Entries=[
            {"Source": source, "DetailType": "a", "Detail": '{"n": 1}'},
            {"Source": source, "DetailType": "b", "Detail": '{"n": 2}', "Resources": ["arn:aws:s3:::bucket"]},
        ]
    )
    assert resp["FailedEntryCount"] == 0
    assert len(resp["Entries"]) == 2
    ids = [e["EventId"] for e in resp["Entries"]]
    assert all(ids) and len(set(ids)) == 2, ids
    for entry in resp["Entries"]:
        assert "ErrorCode" not in entry, entry


def test_put_events_per_entry_errors(events, source):
    resp = events.put_events(
        Entries=[
            {"Source": source, "DetailType": "ok", "Detail": "{}"},
            {"Source": source, "DetailType": "no-detail"},
            {"Source": source, "DetailType": "bad-detail", "Detail": "not json"},
        ]
    )
    assert resp["FailedEntryCount"] == 2, resp
    good, missing, malformed = resp["Entries"]
    assert good.get("EventId"), good
    assert missing["ErrorCode"] == "InvalidArgument", missing
    assert missing.get("ErrorMessage"), missing
    assert "EventId" not in missing, missing
    assert malformed["ErrorCode"] == "MalformedDetail", malformed
    assert "EventId" not in malformed, malformed


def test_put_events_over_256kb(events, source):
    detail = json.dumps({"blob": "x" * (260 * 1024)})
    with pytest.raises(ClientError) as exc:
        events.put_events(Entries=[{"Source": source, "DetailType": "big", "Detail": detail}])
    assert error_code(exc) == "ValidationException"
    # Just under the limit is fine.
    small = json.dumps({"blob": "x" * (200 * 1024)})
    assert events.put_events(Entries=[{"Source": source, "DetailType": "big", "Detail": small}])["FailedEntryCount"] == 0


def test_put_events_to_unknown_bus_still_gets_event_id(events, source):
    resp = events.put_events(
        Entries=[{"Source": source, "DetailType": "lost", "Detail": "{}", "EventBusName": unique("no-such-bus")}]
    )
    assert resp["FailedEntryCount"] == 0, resp
    assert resp["Entries"][0].get("EventId"), resp


# --------------------------------------------------------------------------
# TestEventPattern
# --------------------------------------------------------------------------


def sample_event(source="com.shop", detail=None) -> str:
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "account": ACCOUNT_ID,
            "source": source,
            "time": "2024-01-01T00:00:00Z",
            "region": REGION,
            "resources": [],
            "detail-type": "order",
            "detail": detail if detail is not None else {"n": 5, "state": "running"},
        }
    )


@pytest.mark.parametrize(
    "pattern, event, expected",
    [
        ({"source": [{"prefix": "com."}]}, sample_event("com.shop"), True),
        ({"source": [{"prefix": "com."}]}, sample_event("org.shop"), False),
        ({"detail": {"n": [{"numeric": [">", 0, "<=", 5]}]}}, sample_event(detail={"n": 5}), True),
        ({"detail": {"n": [{"numeric": [">", 0, "<=", 5]}]}}, sample_event(detail={"n": 6}), False),
        ({"detail": {"state": [{"anything-but": ["stopped"]}]}}, sample_event(detail={"state": "running"}), True),
        ({"detail": {"state": [{"anything-but": ["stopped"]}]}}, sample_event(detail={"state": "stopped"}), False),
        ({"detail": {"c": [{"exists": False}]}}, sample_event(detail={"n": 1}), True),
        ({"detail": {"c": [{"exists": False}]}}, sample_event(detail={"c": 1}), False),
        ({"detail": {"c": [{"exists": True}]}}, sample_event(detail={"c": 1}), True),
        ({"detail-type": ["order"], "source": ["com.shop"]}, sample_event("com.shop"), True),
    ],
)
def test_event_pattern_operators(events, pattern, event, expected):
    assert events.test_event_pattern(EventPattern=json.dumps(pattern), Event=event)["Result"] is expected


def test_event_pattern_errors(events):
    with pytest.raises(ClientError) as exc:
        events.test_event_pattern(EventPattern='{"source": "x"}', Event=sample_event())
    assert error_code(exc) == "InvalidEventPatternException"
    for bad_event in ("not json", json.dumps({"source": "com.shop"})):
        with pytest.raises(ClientError) as exc:
            events.test_event_pattern(EventPattern='{"source": ["com.shop"]}', Event=bad_event)
        assert error_code(exc) == "ValidationException", bad_event


# --------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------


def test_matching_event_is_delivered_once_with_envelope(events, recorder, out_file):
    name = rule_to(events, recorder, BIG_ORDERS)
    event_id = put_one(events, "shop", {"total": 250, "order": "o-1"}, "order", Resources=["arn:aws:shop:o-1"])

    event = wait_for_event(out_file, lambda e: detail_of(e).get("order") == "o-1", what="matching order")
    assert event["version"] == "0"
    assert event["id"] == event_id
    assert event["detail-type"] == "order"
    assert event["source"] == "shop"
    assert event["account"] == ACCOUNT_ID
    assert EVENT_TIME_RE.match(event["time"]), event["time"]
    assert event["region"] == REGION
    assert event["resources"] == ["arn:aws:shop:o-1"]
    assert event["detail"] == {"total": 250, "order": "o-1"}

    # Too small an order does not match. A matching marker sent after it
    # shows when the small one would have arrived had it matched.
    put_one(events, "shop", {"total": 50, "order": "small"}, "order")
    put_one(events, "shop", {"total": 101, "order": "marker"}, "order")
    wait_for_event(out_file, lambda e: detail_of(e).get("order") == "marker", what="marker")
    orders = [detail_of(e).get("order") for e in read_events(out_file)]
    assert orders == ["o-1", "marker"], orders

    events.remove_targets(Rule=name, Ids=["recorder"])
    events.delete_rule(Name=name)


def test_disabled_rule_delivers_nothing(events, lambda_client, source, tmp_path):
    disabled_out = tmp_path / "disabled.jsonl"
    enabled_out = tmp_path / "enabled.jsonl"
    disabled = rule_to(events, make_recorder(lambda_client, disabled_out, RECORDER_PREFIX), {"source": [source]})
    rule_to(events, make_recorder(lambda_client, enabled_out, RECORDER_PREFIX), {"source": [source]})
    events.disable_rule(Name=disabled)

    put_one(events, source, {"n": 1})
    wait_for_event(enabled_out, lambda e: detail_of(e).get("n") == 1, what="event on the enabled rule")
    # The enabled rule's copy is in, so the disabled one's would be too.
    assert read_events(disabled_out) == []

    events.enable_rule(Name=disabled)
    put_one(events, source, {"n": 2})
    wait_for_event(disabled_out, lambda e: detail_of(e).get("n") == 2, what="event after enabling")
    assert [detail_of(e).get("n") for e in read_events(disabled_out)] == [2]


def test_target_input_transformations(events, recorder, out_file):
    kind = unique("transform")
    name = unique("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["shop"], "detail": {"kind": [kind]}}))
    arn = function_arn(recorder)
    events.put_targets(
        Rule=name,
        Targets=[
            {"Id": "constant", "Arn": arn, "Input": '{"constant": true}'},
            {"Id": "path", "Arn": arn, "InputPath": "$.detail"},
            {
                "Id": "transformer",
                "Arn": arn,
                "InputTransformer": {
                    "InputPathsMap": {"t": "$.detail.total", "s": "$.source"},
                    "InputTemplate": '{"total": <t>, "src": <s>, "rule": "<aws.events.rule-name>"}',
                },
            },
        ],
    )
    put_one(events, "shop", {"total": 250, "kind": kind}, "order")

    expected = [{"constant": True}, {"total": 250, "kind": kind}, {"total": 250, "src": "shop", "rule": name}]
    wait_until(
        lambda: len(read_events(out_file)) >= 3,
        timeout=60,
        message=lambda: f"not every target received its input; got {read_events(out_file)}",
    )
    got = read_events(out_file)
    for want in expected:
        assert got.count(want) == 1, f"{want} not delivered exactly once; got {got}"
    assert len(got) == 3, got


def test_custom_bus_rule_sees_only_its_bus(events, lambda_client, bus, source, tmp_path):
    custom_out = tmp_path / "custom.jsonl"
    default_out = tmp_path / "default.jsonl"
    rule_to(events, make_recorder(lambda_client, custom_out, RECORDER_PREFIX), {"source": [source]}, bus=bus)
    rule_to(events, make_recorder(lambda_client, default_out, RECORDER_PREFIX), {"source": [source]})

    put_one(events, source, {"where": "default"})
    put_one(events, source, {"where": "custom"}, EventBusName=bus)
    wait_for_event(default_out, lambda e: detail_of(e).get("where") == "default", what="event on the default bus")
    wait_for_event(custom_out, lambda e: detail_of(e).get("where") == "custom", what="event on the custom bus")

    # A marker on the custom bus, after which the default bus's event would
    # have arrived at the custom rule had it leaked.
    put_one(events, source, {"where": "marker"}, EventBusName=bus_arn(bus))
    wait_for_event(custom_out, lambda e: detail_of(e).get("where") == "marker", what="marker put by bus ARN")
    assert [detail_of(e)["where"] for e in read_events(custom_out)] == ["custom", "marker"]
    assert [detail_of(e)["where"] for e in read_events(default_out)] == ["default"]


def test_bus_to_bus_target(events, recorder, out_file, bus, source):
    rule_to(events, recorder, {"source": [source]}, bus=bus)
    forward = unique("forward")
    events.put_rule(Name=forward, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=forward, Targets=[{"Id": "bus", "Arn": bus_arn(bus), "RoleArn": EVENTS_ROLE_ARN}])

    put_one(events, source, {"hop": 1}, "forwarded")
    event = wait_for_event(out_file, lambda e: detail_of(e).get("hop") == 1, what="forwarded event")
    assert event["source"] == source
    assert event["detail-type"] == "forwarded"
    assert event["detail"] == {"hop": 1}
    assert event["account"] == ACCOUNT_ID


def test_s3_notifications_to_eventbridge(server, events, recorder, out_file):
    """A bucket with EventBridgeConfiguration puts S3's events on the default bus."""
    s3 = server.client("s3")
    bucket = unique("ev-bucket")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    rule_to(events, recorder, {"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}})

    s3.put_object(Bucket=bucket, Key="in/a b.txt", Body=b"hello")
    created = wait_for_event(out_file, lambda e: e.get("detail-type") == "Object Created", what="Object Created")
    assert created["source"] == "aws.s3"
    assert created["resources"] == [f"arn:aws:s3:::{bucket}"]
    assert created["region"] == REGION
    detail = created["detail"]
    assert detail["bucket"] == {"name": bucket}
    assert detail["object"]["key"] == "in/a b.txt"
    assert detail["object"]["size"] == 5
    assert detail["object"]["etag"] == "5d41402abc4b2a76b9719d911017c592"
    assert detail["reason"] == "PutObject"

    s3.delete_object(Bucket=bucket, Key="in/a b.txt")
    deleted = wait_for_event(out_file, lambda e: e.get("detail-type") == "Object Deleted", what="Object Deleted")
    assert deleted["detail"]["object"]["key"] == "in/a b.txt"
    assert deleted["detail"]["reason"] == "DeleteObject"
    assert deleted["detail"]["deletion-type"] == "Permanently Deleted"
    assert len(read_events(out_file)) == 2


def test_aws_sources_are_reserved(events):
    resp = events.put_events(Entries=[{"Source": "aws.ec2", "DetailType": "x", "Detail": "{}"}])
    assert resp["FailedEntryCount"] == 1
    assert resp["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"


def test_failing_target_uses_lambda_async_retries(events, lambda_client, source, tmp_path):
    attempts_out = tmp_path / "attempts.jsonl"
    failures_out = tmp_path / "failures.jsonl"
    failing = make_recorder(lambda_client, attempts_out, RECORDER_PREFIX, FAIL="1")
    destination = make_recorder(lambda_client, failures_out, RECORDER_PREFIX)
    lambda_client.put_function_event_invoke_config(
        FunctionName=failing,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": function_arn(destination)}},
    )
    rule_to(events, failing, {"source": [source]})
    event_id = put_one(events, source, {"n": 1})

    # EventBridge invokes Lambda asynchronously, so Lambda's own retries
    # apply; the OnFailure record says when they are over.
    record = wait_for_event(failures_out, lambda e: True, timeout=90, what="OnFailure record")
    assert record["requestContext"]["condition"] == "RetriesExhausted", record
    assert record["requestContext"]["approximateInvokeCount"] == 2, record
    assert record["requestPayload"]["id"] == event_id, record
    attempts = read_events(attempts_out)
    assert [e["id"] for e in attempts] == [event_id, event_id], "one attempt plus MaximumRetryAttempts=1 retry"


def test_unreachable_target_is_dead_lettered(fresh_server, tmp_path):
    srv = fresh_server()
    events = srv.client("events")
    lam = srv.client("lambda")
    sqs = srv.client("sqs")
    dlq_url = sqs.create_queue(QueueName=DLQ_ARN.rsplit(":", 1)[1])["QueueUrl"]
    source = f"test.{uuid.uuid4().hex[:10]}"

    name = unique("dead")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    target = {
        "Id": "missing",
        "Arn": function_arn(unique("no-such-function")),
        "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
        "DeadLetterConfig": {"Arn": DLQ_ARN},
    }
    assert events.put_targets(Rule=name, Targets=[target])["FailedEntryCount"] == 0
    stored = events.list_targets_by_rule(Rule=name)["Targets"][0]
    assert stored["RetryPolicy"] == target["RetryPolicy"]
    assert stored["DeadLetterConfig"] == target["DeadLetterConfig"]

    marker_out = tmp_path / "marker.jsonl"
    marker_source = f"marker.{uuid.uuid4().hex[:10]}"
    rule_to(events, make_recorder(lam, marker_out, RECORDER_PREFIX), {"source": [marker_source]})

    put_one(events, source, {"doomed": True})
    put_one(events, marker_source, {"marker": True})
    wait_for_event(marker_out, lambda e: detail_of(e).get("marker"), what="marker")

    # The dead letter lands in the queue the DeadLetterConfig names.
    msgs = sqs.receive_message(
        QueueUrl=dlq_url, WaitTimeSeconds=20, MessageAttributeNames=["All"]
    ).get("Messages", [])
    assert msgs, f"no dead letter in the queue: {srv.health()}"
    dead = json.loads(msgs[0]["Body"])
    assert dead["source"] == source
    assert dead["detail"] == {"doomed": True}
    assert msgs[0].get("MessageAttributes"), msgs[0]


@pytest.mark.timeout(180)
def test_scheduled_rule_fires(events, recorder, out_file):
    name = unique("every-minute")
    arn = events.put_rule(Name=name, ScheduleExpression="rate(1 minute)")["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "recorder", "Arn": function_arn(recorder)}])
    try:
        event = wait_for_event(out_file, lambda e: True, timeout=90, what="Scheduled Event")
    finally:
        events.remove_targets(Rule=name, Ids=["recorder"])
        events.delete_rule(Name=name)
    assert event["source"] == "aws.events"
    assert event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [arn]
    assert event["detail"] == {}
    assert event["account"] == ACCOUNT_ID
    assert event["region"] == REGION
    assert EVENT_TIME_RE.match(event["time"]), event["time"]


def test_aws_cli(server, recorder, out_file):
    def run(*args):
        rc, out, err = aws(server, *args)
        assert rc == 0, f"`aws {' '.join(args)}` failed with {rc}:\n{err}\n{out}"
        return json.loads(out) if out.strip() else {}

    name = unique("big-orders")
    created = run("events", "put-rule", "--name", name, "--event-pattern", json.dumps(BIG_ORDERS))
    assert created["RuleArn"] == rule_arn(name)
    put = run("events", "put-targets", "--rule", name, "--targets", f"Id=1,Arn={function_arn(recorder)}")
    assert put["FailedEntryCount"] == 0
    entries = [{"Source": "shop", "DetailType": "order", "Detail": json.dumps({"total": 250})}]
    sent = run("events", "put-events", "--entries", json.dumps(entries))
    assert sent["FailedEntryCount"] == 0
    event_id = sent["Entries"][0]["EventId"]

    event = wait_for_event(out_file, lambda e: e.get("id") == event_id, what="event put with the CLI")
    assert event["detail"] == {"total": 250}
    assert event["source"] == "shop"

    rules = run("events", "list-rules", "--name-prefix", name)["Rules"]
    assert [r["Name"] for r in rules] == [name]
    rc, _, err = aws(server, "events", "describe-rule", "--name", unique("no-such-rule"))
    assert rc != 0 and "ResourceNotFoundException" in err, err

    run("events", "remove-targets", "--rule", name, "--ids", "1")
    run("events", "delete-rule", "--name", name)


# --------------------------------------------------------------------------
# Durability
# --------------------------------------------------------------------------


def test_definitions_survive_kill9(fresh_server):
    srv = fresh_server()
    events = srv.client("events")
    bus = unique("durable-bus")
    events.create_event_bus(Name=bus)
    name = unique("durable-rule")
    pattern = {"source": ["durable"]}
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), EventBusName=bus, Tags=[{"Key": "k", "Value": "v"}])
    fn = function_arn(unique("fn"))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "t", "Arn": fn, "InputPath": "$.detail"}])
    scheduled = unique("durable-schedule")
    events.put_rule(Name=scheduled, ScheduleExpression="cron(0 12 * * ? *)", State="DISABLED")

    srv.kill9()
    srv.start()
    events = srv.client("events")

    assert events.describe_event_bus(Name=bus)["Arn"] == bus_arn(bus)
    rule = events.describe_rule(Name=name, EventBusName=bus)
    assert rule["Arn"] == rule_arn(name, bus)
    assert json.loads(rule["EventPattern"]) == pattern
    assert rule["State"] == "ENABLED"
    targets = events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
    assert len(targets) == 1, targets
    assert (targets[0]["Id"], targets[0]["Arn"], targets[0].get("InputPath")) == ("t", fn, "$.detail")
    assert events.list_tags_for_resource(ResourceARN=rule_arn(name, bus))["Tags"] == [{"Key": "k", "Value": "v"}]
    sched = events.describe_rule(Name=scheduled)
    assert sched["ScheduleExpression"] == "cron(0 12 * * ? *)"
    assert sched["State"] == "DISABLED"


def test_accepted_events_survive_kill9(fresh_server, tmp_path):
    srv = fresh_server()
    events = srv.client("events")
    out = tmp_path / "durable.jsonl"
    recorder = make_recorder(srv.client("lambda"), out, RECORDER_PREFIX)
    source = f"test.{uuid.uuid4().hex[:10]}"
    rule_to(events, recorder, {"source": [source]})

    ids = [put_one(events, source, {"n": n}) for n in range(3)]
    # Straight after the acknowledgements: the events must already be
    # recorded durably.
    srv.kill9()
    srv.start()

    # At-least-once: every event shows up, duplicates are allowed.
    wait_until(
        lambda: set(ids) <= {e["id"] for e in read_events(out)},
        timeout=90,
        message=lambda: f"events lost across kill -9; delivered {read_events(out)}",
    )
