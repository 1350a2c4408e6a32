"""Function logs in the CloudWatch Logs API: groups, streams, events, the
START/END/REPORT lines, filter patterns (also through the AWS CLI), and the
order of stdout/stderr lines."""

import base64
import json
import re

import pytest
from botocore.exceptions import ClientError

from conftest import aws, create_function, invoke, unique, wait_until

CODE = """
def handler(event, context):
    print(event["say"])
    return "said"
"""

STREAM_RE = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")


@pytest.fixture(scope="module")
def logged_fn(server, lambda_client):
    name = unique("logs")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": CODE})
    resp, body = invoke(lambda_client, name, {"say": "hello-logs-123"})
    assert body == "said"
    return name


@pytest.fixture(scope="module")
def logs_client(server):
    return server.client("logs")


def test_filter_log_events_with_cli(server, logged_fn):
    def find():
        rc, out, err = aws(
            server,
            "logs",
            "filter-log-events",
            "--log-group-name",
            f"/aws/lambda/{logged_fn}",
            "--filter-pattern",
            "hello-logs-123",
        )
        assert rc == 0, f"aws logs filter-log-events failed ({rc}): {err}"
        events = json.loads(out)["events"]
        return [e for e in events if "hello-logs-123" in e["message"]]

    events = wait_until(find, timeout=20, interval=0.5, message="the printed line never showed up in the logs")
    assert len(events) == 1, events
    assert events[0]["logStreamName"], events[0]


def test_log_group_exists(logs_client, logged_fn):
    group = f"/aws/lambda/{logged_fn}"

    def listed():
        groups = logs_client.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        return [g for g in groups if g["logGroupName"] == group]

    wait_until(listed, timeout=20, message=f"{group} missing from DescribeLogGroups")


def _stream(logs_client, name):
    def streams():
        return logs_client.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]

    return wait_until(streams, timeout=20, message="no log stream")[0]


def test_log_stream_name_format(logs_client, logged_fn):
    stream = _stream(logs_client, logged_fn)
    assert STREAM_RE.match(stream["logStreamName"]), (
        f"stream name should look like YYYY/MM/DD/[$LATEST]<32 hex>, got {stream['logStreamName']!r}"
    )


def test_platform_lines(logs_client, lambda_client):
    # A function of its own so its first invoke (the cold start) is known.
    name = unique("logs-report")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": CODE}, MemorySize=192)
    invoke(lambda_client, name, {"say": "first"})
    invoke(lambda_client, name, {"say": "second"})
    stream = _stream(logs_client, name)

    def messages():
        events = logs_client.get_log_events(
            logGroupName=f"/aws/lambda/{name}", logStreamName=stream["logStreamName"], startFromHead=True
        )["events"]
        msgs = [e["message"] for e in events]
        return msgs if sum(m.startswith("REPORT RequestId") for m in msgs) == 2 else None

    msgs = wait_until(messages, timeout=20, message="two REPORT lines never reached the log stream")
    text = "\n".join(msgs)
    assert sum(m.startswith("START RequestId") for m in msgs) == 2, text
    assert sum(m.startswith("END RequestId") for m in msgs) == 2, text
    assert any("first" in m for m in msgs) and any("second" in m for m in msgs), text
    first, second = [m for m in msgs if m.startswith("REPORT RequestId")]
    for field in ("Duration:", "Billed Duration:", "Memory Size: 192 MB", "Max Memory Used:", "Init Duration:"):
        assert field in first, f"REPORT line lacks {field!r}: {first!r}"
    # Only a cold start reports an init phase.
    assert "Init Duration:" not in second, f"warm invoke reported an init: {second!r}"


def test_version_stream_name(logs_client, lambda_client):
    name = unique("logs-ver")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": CODE})
    lambda_client.publish_version(FunctionName=name)
    invoke(lambda_client, name, {"say": "from version 1"}, Qualifier="1")
    stream = _stream(logs_client, name)
    assert re.match(r"^\d{4}/\d{2}/\d{2}/\[1\][0-9a-f]{32}$", stream["logStreamName"]), stream["logStreamName"]


PATTERNS_CODE = """
def handler(event, context):
    print("alpha beta")
    print("alpha gamma")
    print("ERROR disk full")
    return "ok"
"""


@pytest.mark.parametrize(
    "pattern,expected",
    [
        ("alpha beta", ["alpha beta"]),  # all terms must appear
        ('"alpha gamma"', ["alpha gamma"]),  # quoted phrase
        ("alpha -gamma", ["alpha beta"]),  # exclusion
        ("?beta ?gamma", ["alpha beta", "alpha gamma"]),  # any of
        ("ERROR", ["ERROR disk full"]),
    ],
    ids=["and", "phrase", "exclude", "or", "single"],
)
def test_filter_patterns(logs_client, patterns_fn, pattern, expected):
    def matched():
        events = logs_client.filter_log_events(logGroupName=f"/aws/lambda/{patterns_fn}", filterPattern=pattern)["events"]
        return sorted(e["message"].strip() for e in events)

    got = wait_until(matched, timeout=20, message=f"pattern {pattern!r} matched nothing")
    assert got == expected, f"filter pattern {pattern!r}: expected {expected}, got {got}"


@pytest.fixture(scope="module")
def patterns_fn(lambda_client):
    name = unique("logs-pat")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": PATTERNS_CODE})
    invoke(lambda_client, name, {})
    return name


def test_missing_log_group(logs_client):
    with pytest.raises(ClientError) as exc:
        logs_client.get_log_events(logGroupName="/aws/lambda/never-existed", logStreamName="x")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


ORDERED_NODE = """
exports.handler = async () => {
  console.log("order-1");
  console.error("order-2");
  console.log("order-3");
  console.warn("order-4");
  return "ok";
};
"""

ORDERED_PYTHON = """
import sys


def handler(event, context):
    print("order-1")
    print("order-2", file=sys.stderr)
    print("order-3")
    sys.stderr.write("order-4\\n")
    return "ok"
"""


@pytest.mark.parametrize(
    "runtime,handler,files",
    [
        ("nodejs20.x", "index.handler", {"index.js": ORDERED_NODE}),
        ("python3.12", "app.handler", {"app.py": ORDERED_PYTHON}),
    ],
    ids=["node", "python"],
)
def test_stdout_and_stderr_keep_their_order(logs_client, lambda_client, runtime, handler, files):
    # Lambda captures stdout and stderr as one stream, so lines written in
    # turn to each appear in the order they were written.
    name = unique("logs-order")
    create_function(lambda_client, name, runtime, handler, files)
    resp, _ = invoke(lambda_client, name, {}, LogType="Tail")
    tail = base64.b64decode(resp["LogResult"]).decode()
    tail_order = [tag for line in tail.splitlines() for tag in ["order-1", "order-2", "order-3", "order-4"] if tag in line]
    assert tail_order == ["order-1", "order-2", "order-3", "order-4"], f"LogResult out of order:\n{tail}"

    stream = _stream(logs_client, name)

    def ordered():
        events = logs_client.get_log_events(
            logGroupName=f"/aws/lambda/{name}", logStreamName=stream["logStreamName"], startFromHead=True
        )["events"]
        tags = [t for e in events for t in ["order-1", "order-2", "order-3", "order-4"] if t in e["message"]]
        return tags if len(tags) == 4 else None

    tags = wait_until(ordered, timeout=20, message="not all four lines reached the log stream")
    assert tags == ["order-1", "order-2", "order-3", "order-4"], f"GetLogEvents out of order: {tags}"
