"""EventBridge Scheduler: schedule groups (life cycle, the default group,
deletion taking the group's schedules along), schedules (the GetSchedule
shape and its defaults, listing and paging, updates, duplicates and
ClientToken retries, refused expressions, time zones and groups), one-time
at() schedules firing on time in UTC and in another time zone, deletion
after completion, schedules deleted, disabled or moved before their time,
Input placeholders, disabled schedules, EventBridge bus targets, and a
firing missed while the server was down happening once after a kill -9 and
restart.

Functions run on this machine and append every input they receive, with
the time they received it, to a file under the test's tmp dir (recorder.py),
one JSON document per line."""

import json
import time
import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, REGION, error_code, error_message, function_arn, unique, wait_until
from recorder import make_recorder, read_lines, wait_for_event, wait_for_line

SCHEDULER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/scheduler"
FLEXIBLE_OFF = {"Mode": "OFF"}
# AWS's documented defaults for a target's RetryPolicy.
DEFAULT_RETRY_POLICY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
# How late a firing may arrive: the timer, an async invoke and a function
# cold start on a loaded machine.
LATENESS_MAX_S = 5.0
RECORDER_PREFIX = "sched-recorder"


def schedule_arn(name: str, group: str = "default") -> str:
    return f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/{group}/{name}"


def group_arn(name: str) -> str:
    return f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule-group/{name}"


def at_expression(epoch_s: int, zone: str = "UTC") -> str:
    """at(...) for the wall-clock time `epoch_s` has in `zone`."""
    local = datetime.fromtimestamp(epoch_s, ZoneInfo(zone))
    return f"at({local.strftime('%Y-%m-%dT%H:%M:%S')})"


def soon(seconds: int) -> int:
    """A whole second `seconds` from now, so at() names it exactly."""
    return int(time.time()) + seconds


def lambda_target(function: str, payload: str | None = None) -> dict:
    target = {"Arn": function_arn(function), "RoleArn": SCHEDULER_ROLE_ARN}
    if payload is not None:
        target["Input"] = payload
    return target


@pytest.fixture(scope="module")
def scheduler(server):
    return server.client("scheduler")


@pytest.fixture
def group(scheduler) -> str:
    name = unique("group")
    scheduler.create_schedule_group(Name=name)
    return name


def create_rate(scheduler, name: str, expression: str = "rate(5 minutes)", **kwargs) -> dict:
    """A schedule that will not fire during a test."""
    kwargs.setdefault("Target", {"Arn": function_arn(unique("fn")), "RoleArn": SCHEDULER_ROLE_ARN})
    return scheduler.create_schedule(Name=name, ScheduleExpression=expression, FlexibleTimeWindow=FLEXIBLE_OFF, **kwargs)


# --------------------------------------------------------------------------
# Schedule groups
# --------------------------------------------------------------------------


def test_default_group_exists(scheduler):
    got = scheduler.get_schedule_group(Name="default")
    assert got["Name"] == "default"
    assert got["Arn"] == group_arn("default")
    assert got["State"] == "ACTIVE"
    names = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
    assert "default" in names


def test_schedule_group_lifecycle(scheduler):
    name = unique("group")
    assert scheduler.create_schedule_group(Name=name)["ScheduleGroupArn"] == group_arn(name)

    got = scheduler.get_schedule_group(Name=name)
    assert got["Name"] == name
    assert got["Arn"] == group_arn(name)
    assert got["State"] == "ACTIVE"
    assert isinstance(got["CreationDate"], datetime)

    listed = scheduler.list_schedule_groups(NamePrefix=name)["ScheduleGroups"]
    assert [g["Name"] for g in listed] == [name]
    assert listed[0]["Arn"] == group_arn(name)

    with pytest.raises(ClientError) as exc:
        scheduler.create_schedule_group(Name=name)
    assert error_code(exc) == "ConflictException"

    scheduler.delete_schedule_group(Name=name)

    # AWS deletes groups asynchronously (State DELETING first).
    def gone():
        try:
            scheduler.get_schedule_group(Name=name)
        except ClientError as err:
            return err.response["Error"]["Code"] == "ResourceNotFoundException"
        return False

    wait_until(gone, timeout=30, message=f"group {name} was not deleted")


def test_default_group_cannot_be_deleted(scheduler):
    with pytest.raises(ClientError) as exc:
        scheduler.delete_schedule_group(Name="default")
    assert error_code(exc) == "ValidationException"
    assert scheduler.get_schedule_group(Name="default")["State"] == "ACTIVE"


def test_deleting_a_group_deletes_its_schedules(scheduler, group):
    name = unique("in-group")
    create_rate(scheduler, name, GroupName=group)
    scheduler.delete_schedule_group(Name=group)

    def gone():
        try:
            scheduler.get_schedule(Name=name, GroupName=group)
        except ClientError as err:
            return err.response["Error"]["Code"] == "ResourceNotFoundException"
        return False

    wait_until(gone, timeout=30, message=f"schedule {name} outlived its group")


def test_unknown_group(scheduler):
    group = unique("no-such-group")
    with pytest.raises(ClientError) as exc:
        scheduler.get_schedule_group(Name=group)
    assert error_code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        create_rate(scheduler, unique("orphan"), GroupName=group)
    assert error_code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        scheduler.get_schedule(Name=unique("orphan"), GroupName=group)
    assert error_code(exc) == "ResourceNotFoundException"


# --------------------------------------------------------------------------
# Schedules: the control plane
# --------------------------------------------------------------------------


def test_get_schedule_shape(scheduler):
    name = unique("shape")
    target = {"Arn": function_arn(unique("fn")), "RoleArn": SCHEDULER_ROLE_ARN, "Input": '{"a": 1}'}
    created = scheduler.create_schedule(
        Name=name,
        ScheduleExpression="rate(5 minutes)",
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow=FLEXIBLE_OFF,
        Target=target,
        Description="every five minutes",
    )
    assert created["ScheduleArn"] == schedule_arn(name)

    got = scheduler.get_schedule(Name=name)
    assert got["Arn"] == schedule_arn(name)
    assert got["Name"] == name
    assert got["GroupName"] == "default"
    assert got["ScheduleExpression"] == "rate(5 minutes)"
    assert got["ScheduleExpressionTimezone"] == "UTC"
    assert got["State"] == "ENABLED"
    assert got["Description"] == "every five minutes"
    assert got["FlexibleTimeWindow"] == FLEXIBLE_OFF
    assert got["Target"]["Arn"] == target["Arn"]
    assert got["Target"]["RoleArn"] == SCHEDULER_ROLE_ARN
    assert got["Target"]["Input"] == '{"a": 1}'
    assert got["Target"]["RetryPolicy"] == DEFAULT_RETRY_POLICY
    assert isinstance(got["CreationDate"], datetime)
    assert isinstance(got["LastModificationDate"], datetime)
    assert abs(got["CreationDate"].timestamp() - time.time()) < 60, got["CreationDate"]

    # GroupName "default" is the same as none.
    assert scheduler.get_schedule(Name=name, GroupName="default")["Arn"] == schedule_arn(name)


def test_schedule_in_custom_group(scheduler, group):
    name = unique("grouped")
    assert create_rate(scheduler, name, GroupName=group)["ScheduleArn"] == schedule_arn(name, group)
    got = scheduler.get_schedule(Name=name, GroupName=group)
    assert got["GroupName"] == group
    assert got["Arn"] == schedule_arn(name, group)
    # Names are per group.
    with pytest.raises(ClientError) as exc:
        scheduler.get_schedule(Name=name)
    assert error_code(exc) == "ResourceNotFoundException"
    create_rate(scheduler, name)
    assert scheduler.get_schedule(Name=name)["GroupName"] == "default"


def test_list_schedules(scheduler, group):
    prefix = unique("listed")
    in_default = [f"{prefix}-a", f"{prefix}-b"]
    in_group = [f"{prefix}-c"]
    for name in in_default:
        create_rate(scheduler, name)
    for name in in_group:
        create_rate(scheduler, name, GroupName=group)

    everywhere = scheduler.list_schedules(NamePrefix=prefix)["Schedules"]
    assert sorted(s["Name"] for s in everywhere) == sorted(in_default + in_group)

    default_only = scheduler.list_schedules(NamePrefix=prefix, GroupName="default")["Schedules"]
    assert sorted(s["Name"] for s in default_only) == in_default
    group_only = scheduler.list_schedules(GroupName=group)["Schedules"]
    assert [s["Name"] for s in group_only] == in_group
    summary = group_only[0]
    assert summary["Arn"] == schedule_arn(in_group[0], group)
    assert summary["GroupName"] == group
    assert summary["State"] == "ENABLED"
    assert summary["Target"]["Arn"].startswith(f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:")

    paged = []
    kwargs = {"NamePrefix": prefix, "MaxResults": 2}
    for _ in range(5):
        page = scheduler.list_schedules(**kwargs)
        assert len(page["Schedules"]) <= 2, page
        paged += [s["Name"] for s in page["Schedules"]]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    assert sorted(paged) == sorted(in_default + in_group)


def test_update_schedule(scheduler):
    name = unique("updated")
    create_rate(scheduler, name)
    before = scheduler.get_schedule(Name=name)
    target = {"Arn": function_arn(unique("fn")), "RoleArn": SCHEDULER_ROLE_ARN}
    updated = scheduler.update_schedule(
        Name=name,
        ScheduleExpression="cron(0 12 * * ? *)",
        ScheduleExpressionTimezone="Europe/Paris",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10},
        Target=target,
        State="DISABLED",
    )
    assert updated["ScheduleArn"] == schedule_arn(name)
    after = scheduler.get_schedule(Name=name)
    assert after["ScheduleExpression"] == "cron(0 12 * * ? *)"
    assert after["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert after["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10}
    assert after["Target"]["Arn"] == target["Arn"]
    assert after["State"] == "DISABLED"
    assert after["CreationDate"] == before["CreationDate"]
    assert after["LastModificationDate"] >= before["LastModificationDate"]

    with pytest.raises(ClientError) as exc:
        scheduler.update_schedule(
            Name=unique("no-such-schedule"), ScheduleExpression="rate(5 minutes)", FlexibleTimeWindow=FLEXIBLE_OFF, Target=target
        )
    assert error_code(exc) == "ResourceNotFoundException"


def test_delete_schedule(scheduler):
    name = unique("deleted")
    create_rate(scheduler, name)
    scheduler.delete_schedule(Name=name)
    with pytest.raises(ClientError) as exc:
        scheduler.get_schedule(Name=name)
    assert error_code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        scheduler.delete_schedule(Name=name)
    assert error_code(exc) == "ResourceNotFoundException"


def test_duplicate_schedule(scheduler):
    name = unique("twice")
    create_rate(scheduler, name)
    with pytest.raises(ClientError) as exc:
        create_rate(scheduler, name, expression="rate(10 minutes)")
    assert error_code(exc) == "ConflictException"
    assert scheduler.get_schedule(Name=name)["ScheduleExpression"] == "rate(5 minutes)"


def test_client_token_makes_create_idempotent(scheduler):
    # An SDK retrying a create whose response was lost sends the same
    # ClientToken again; AWS documents the token as what makes the request
    # idempotent, so the retry succeeds instead of conflicting.
    name = unique("retried")
    token = uuid.uuid4().hex
    first = create_rate(scheduler, name, ClientToken=token)
    again = create_rate(scheduler, name, ClientToken=token)
    assert again["ScheduleArn"] == first["ScheduleArn"]
    with pytest.raises(ClientError) as exc:
        create_rate(scheduler, name, ClientToken=uuid.uuid4().hex)
    assert error_code(exc) == "ConflictException"

    group = unique("retried-group")
    token = uuid.uuid4().hex
    first = scheduler.create_schedule_group(Name=group, ClientToken=token)
    again = scheduler.create_schedule_group(Name=group, ClientToken=token)
    assert again["ScheduleGroupArn"] == first["ScheduleGroupArn"]


@pytest.mark.parametrize(
    "expression",
    ["rate(0 minutes)", "cron(0 1 * * * *)", "at(2021-12-31T23:59:59Z)", "at(2030-13-01T00:00:00)", "sometimes"],
)
def test_invalid_schedule_expression(scheduler, expression):
    name = unique("invalid")
    with pytest.raises(ClientError) as exc:
        create_rate(scheduler, name, expression=expression)
    assert error_code(exc) == "ValidationException", expression
    assert error_message(exc) == f"Invalid Schedule Expression {expression}.", expression
    with pytest.raises(ClientError) as exc:
        scheduler.get_schedule(Name=name)
    assert error_code(exc) == "ResourceNotFoundException"

    # An update with the same expression is refused and changes nothing.
    kept = unique("kept")
    create_rate(scheduler, kept)
    with pytest.raises(ClientError) as exc:
        scheduler.update_schedule(
            Name=kept,
            ScheduleExpression=expression,
            FlexibleTimeWindow=FLEXIBLE_OFF,
            Target={"Arn": function_arn(unique("fn")), "RoleArn": SCHEDULER_ROLE_ARN},
        )
    assert error_code(exc) == "ValidationException", expression
    assert scheduler.get_schedule(Name=kept)["ScheduleExpression"] == "rate(5 minutes)"


def test_unknown_timezone(scheduler):
    name = unique("mars")
    with pytest.raises(ClientError) as exc:
        create_rate(scheduler, name, ScheduleExpressionTimezone="Mars/Base")
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        scheduler.get_schedule(Name=name)
    assert error_code(exc) == "ResourceNotFoundException"


def test_disabled_schedule(scheduler, recorder):
    name = unique("disabled")
    create_rate(scheduler, name, expression="rate(1 minute)", Target=lambda_target(recorder, "{}"), State="DISABLED")
    assert scheduler.get_schedule(Name=name)["State"] == "DISABLED"
    listed = scheduler.list_schedules(NamePrefix=name, State="DISABLED")["Schedules"]
    assert [s["Name"] for s in listed] == [name]
    assert scheduler.list_schedules(NamePrefix=name, State="ENABLED")["Schedules"] == []


# --------------------------------------------------------------------------
# Schedules: firing
# --------------------------------------------------------------------------


def test_at_schedule_fires_on_time(scheduler, recorder, out_file):
    name = unique("at-utc")
    fire_at = soon(3)
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression=at_expression(fire_at),
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow=FLEXIBLE_OFF,
        Target=lambda_target(recorder, '{"hello":"world"}'),
    )
    line = wait_for_line(out_file, timeout=fire_at - time.time() + 30, what="scheduled input")
    assert line["event"] == {"hello": "world"}
    assert line["received"] >= fire_at, f"fired {fire_at - line['received']:.3f}s early"
    assert line["received"] - fire_at <= LATENESS_MAX_S, f"fired {line['received'] - fire_at:.3f}s late"

    # Without ActionAfterCompletion the completed schedule stays.
    assert scheduler.get_schedule(Name=name)["Arn"] == schedule_arn(name)
    assert len(read_lines(out_file)) == 1


def test_at_schedule_is_deleted_after_completion(scheduler, recorder, out_file):
    name = unique("at-delete")
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression=at_expression(soon(2)),
        FlexibleTimeWindow=FLEXIBLE_OFF,
        Target=lambda_target(recorder, '{"delete":"me"}'),
        ActionAfterCompletion="DELETE",
    )
    assert scheduler.get_schedule(Name=name)["ActionAfterCompletion"] == "DELETE"
    wait_for_line(out_file, lambda e: e == {"delete": "me"}, timeout=30, what="scheduled input")

    def gone():
        try:
            scheduler.get_schedule(Name=name)
        except ClientError as err:
            return err.response["Error"]["Code"] == "ResourceNotFoundException"
        return False

    wait_until(gone, timeout=30, message=f"schedule {name} still exists after firing")


def test_deleted_disabled_and_moved_at_schedules(scheduler, recorder, out_file):
    fire_at = soon(3)

    def target(name):
        return lambda_target(recorder, json.dumps({"name": name}))

    names = {kind: unique(kind) for kind in ("deleted", "disabled", "moved", "marker")}
    for kind in ("deleted", "disabled", "moved"):
        scheduler.create_schedule(
            Name=names[kind], ScheduleExpression=at_expression(fire_at), FlexibleTimeWindow=FLEXIBLE_OFF, Target=target(kind)
        )
    scheduler.delete_schedule(Name=names["deleted"])
    scheduler.update_schedule(
        Name=names["disabled"],
        ScheduleExpression=at_expression(fire_at),
        FlexibleTimeWindow=FLEXIBLE_OFF,
        Target=target("disabled"),
        State="DISABLED",
    )
    moved_at = fire_at + 3
    scheduler.update_schedule(
        Name=names["moved"], ScheduleExpression=at_expression(moved_at), FlexibleTimeWindow=FLEXIBLE_OFF, Target=target("moved")
    )
    # Fires after the old time and before the new one.
    scheduler.create_schedule(
        Name=names["marker"], ScheduleExpression=at_expression(fire_at + 1), FlexibleTimeWindow=FLEXIBLE_OFF, Target=target("marker")
    )

    wait_for_line(out_file, lambda e: e["name"] == "marker", timeout=30, what="marker")
    moved = wait_for_line(out_file, lambda e: e["name"] == "moved", timeout=30, what="moved schedule")
    assert moved["received"] >= moved_at, f"fired at its old time, {moved_at - moved['received']:.3f}s early"
    assert sorted(line["event"]["name"] for line in read_lines(out_file)) == ["marker", "moved"]


def test_input_placeholders(scheduler, recorder, out_file, group):
    name = unique("placeholders")
    fire_at = soon(3)
    payload = json.dumps({"arn": "<aws.scheduler.schedule-arn>", "time": "<aws.scheduler.scheduled-time>", "fixed": 1})
    scheduler.create_schedule(
        Name=name,
        GroupName=group,
        ScheduleExpression=at_expression(fire_at),
        FlexibleTimeWindow=FLEXIBLE_OFF,
        Target=lambda_target(recorder, payload),
    )
    event = wait_for_event(out_file, timeout=30, what="scheduled input")
    assert event["arn"] == schedule_arn(name, group)
    assert event["time"] == datetime.fromtimestamp(fire_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert event["fixed"] == 1


def test_at_schedule_in_another_time_zone(scheduler, recorder, out_file):
    # Paris is one or two hours ahead of UTC, so reading the local time as
    # UTC would fire hours late and miss the window below.
    name = unique("at-paris")
    fire_at = soon(3)
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression=at_expression(fire_at, "Europe/Paris"),
        ScheduleExpressionTimezone="Europe/Paris",
        FlexibleTimeWindow=FLEXIBLE_OFF,
        Target=lambda_target(recorder, '{"city":"paris"}'),
    )
    line = wait_for_line(out_file, timeout=fire_at - time.time() + 30, what="scheduled input")
    assert line["event"] == {"city": "paris"}
    assert line["received"] >= fire_at, f"fired {fire_at - line['received']:.3f}s early"
    assert line["received"] - fire_at <= LATENESS_MAX_S, f"fired {line['received'] - fire_at:.3f}s late"


def test_event_bus_target(server, scheduler, recorder, out_file):
    events = server.client("events")
    source = f"my.scheduler.{uuid.uuid4().hex[:8]}"
    rule = unique("from-scheduler")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "recorder", "Arn": function_arn(recorder)}])

    name = unique("to-bus")
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression=at_expression(soon(2)),
        FlexibleTimeWindow=FLEXIBLE_OFF,
        Target={
            "Arn": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/default",
            "RoleArn": SCHEDULER_ROLE_ARN,
            "Input": '{"n":1}',
            "EventBridgeParameters": {"DetailType": "tick", "Source": source},
        },
    )
    event = wait_for_event(out_file, timeout=30, what="event from the schedule")
    assert event["source"] == source
    assert event["detail-type"] == "tick"
    assert event["detail"] == {"n": 1}
    assert event["account"] == ACCOUNT_ID
    assert event["region"] == REGION


def test_queue_target(server, scheduler):
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=unique("sched-q"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    scheduler.create_schedule(
        Name=unique("to-queue"),
        ScheduleExpression=at_expression(soon(2)),
        FlexibleTimeWindow=FLEXIBLE_OFF,
        Target={"Arn": arn, "RoleArn": SCHEDULER_ROLE_ARN, "Input": '{"job":"nightly"}'},
    )
    got = []

    def arrived():
        got.extend(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []))
        return got

    wait_until(arrived, timeout=30, message="the schedule's message never reached the queue")
    assert [json.loads(m["Body"]) for m in got] == [{"job": "nightly"}]


def test_missed_firing_happens_once_after_kill9(fresh_server, tmp_path):
    srv = fresh_server()
    out = tmp_path / "durable.jsonl"
    recorder = make_recorder(srv.client("lambda"), out, RECORDER_PREFIX)
    scheduler = srv.client("scheduler")
    fire_at = soon(8)
    scheduler.create_schedule(
        Name=unique("missed"),
        ScheduleExpression=at_expression(fire_at),
        FlexibleTimeWindow=FLEXIBLE_OFF,
        Target=lambda_target(recorder, '{"missed":true}'),
    )
    srv.kill9()
    assert read_lines(out) == [], "fired before its time"
    wait_until(lambda: time.time() > fire_at + 1, timeout=20, interval=0.2, message="clock did not pass the at() time")

    srv.start()
    scheduler = srv.client("scheduler")
    line = wait_for_line(out, lambda e: e.get("missed"), timeout=60, what="missed firing")
    assert line["received"] > fire_at

    # A later schedule marks the point by which a second copy of the missed
    # firing would have arrived.
    scheduler.create_schedule(
        Name=unique("marker"),
        ScheduleExpression=at_expression(soon(2)),
        FlexibleTimeWindow=FLEXIBLE_OFF,
        Target=lambda_target(recorder, '{"marker":true}'),
    )
    wait_for_line(out, lambda e: e.get("marker"), timeout=30, what="marker")
    missed = [line for line in read_lines(out) if line["event"].get("missed")]
    assert len(missed) == 1, f"the missed firing should happen once; got {len(missed)}"
