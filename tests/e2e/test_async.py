"""Asynchronous invocation (InvocationType=Event): acceptance, retries of
failing events, MaximumRetryAttempts, OnSuccess/OnFailure destinations, and
DryRun. Functions run on this machine, so they report what they did by
writing files into a directory the test gives them."""

import json
import os

import pytest

from conftest import ACCOUNT_ID, REGION, create_function, invoke, unique, wait_until, wait_updated, zip_files

# Appends one line per attempt to <OUT_DIR>/<id>.log; fails when asked to.
WORKER = """
import json
import os


def handler(event, context):
    with open(os.path.join(os.environ["OUT_DIR"], event["id"] + ".log"), "a") as fh:
        fh.write(context.aws_request_id + "\\n")
    if event.get("fail"):
        raise RuntimeError("failing on purpose: " + event["id"])
    return {"done": event["id"]}
"""

# Stores each destination record as <OUT_DIR>/dest-<id>.json, written
# atomically so the test never reads half a file.
DESTINATION = """
import json
import os


def handler(event, context):
    payload = event.get("requestPayload") or {}
    path = os.path.join(os.environ["OUT_DIR"], "dest-" + str(payload.get("id")) + ".json")
    with open(path + ".tmp", "w") as fh:
        json.dump(event, fh)
    os.rename(path + ".tmp", path)
    return "recorded"
"""


def arn(name):
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


@pytest.fixture
def out_dir(tmp_path):
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.fixture
def worker(lambda_client, out_dir):
    name = unique("async-worker")
    create_function(
        lambda_client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": WORKER},
        Environment={"Variables": {"OUT_DIR": str(out_dir)}},
    )
    return name


@pytest.fixture
def destination(lambda_client, out_dir):
    name = unique("async-dest")
    create_function(
        lambda_client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": DESTINATION},
        Environment={"Variables": {"OUT_DIR": str(out_dir)}},
    )
    return name


def attempts(out_dir, event_id):
    path = out_dir / f"{event_id}.log"
    return path.read_text().splitlines() if path.exists() else []


def wait_record(out_dir, event_id, timeout=45):
    path = out_dir / f"dest-{event_id}.json"
    wait_until(path.exists, timeout=timeout, interval=0.1, message=f"destination never received a record for {event_id}")
    return json.loads(path.read_text())


def test_event_invoke_is_accepted_and_runs(lambda_client, worker, out_dir):
    resp, body = invoke(lambda_client, worker, {"id": "ok1"}, InvocationType="Event")
    assert resp["StatusCode"] == 202
    assert not body, f"an Event invoke has no payload, got {body!r}"
    wait_until(lambda: attempts(out_dir, "ok1"), timeout=30, message="the async invocation never ran")
    assert len(attempts(out_dir, "ok1")) == 1


def test_failing_event_is_retried_twice(lambda_client, worker, destination, out_dir):
    # Only a destination is configured, so MaximumRetryAttempts keeps its
    # default of 2; the OnFailure record tells us when retries are over.
    lambda_client.put_function_event_invoke_config(
        FunctionName=worker, DestinationConfig={"OnFailure": {"Destination": arn(destination)}}
    )
    payload = {"id": "fail3", "fail": True}
    resp, _ = invoke(lambda_client, worker, payload, InvocationType="Event")
    assert resp["StatusCode"] == 202
    record = wait_record(out_dir, "fail3")
    lines = attempts(out_dir, "fail3")
    assert len(lines) == 3, f"expected 1 attempt + 2 retries, the handler saw {len(lines)}"
    assert len(set(lines)) == 1, f"retries keep the original request id, got {lines}"

    ctx = record["requestContext"]
    assert ctx["condition"] == "RetriesExhausted", record
    assert ctx["approximateInvokeCount"] == 3, record
    assert ctx["requestId"] == lines[0]
    assert ctx["functionArn"].startswith(arn(worker)), ctx["functionArn"]
    assert record["requestPayload"] == payload
    assert "failing on purpose: fail3" in record["responsePayload"]["errorMessage"], record
    assert record["responseContext"]["functionError"] == "Unhandled", record
    assert record.get("version") == "1.0", record


def test_no_retries_when_maximum_is_zero(lambda_client, worker, destination, out_dir):
    lambda_client.put_function_event_invoke_config(
        FunctionName=worker,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arn(destination)}},
    )
    resp, _ = invoke(lambda_client, worker, {"id": "fail1", "fail": True}, InvocationType="Event")
    assert resp["StatusCode"] == 202
    record = wait_record(out_dir, "fail1")
    assert len(attempts(out_dir, "fail1")) == 1, "MaximumRetryAttempts=0 must mean exactly one attempt"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1


def test_on_success_destination(lambda_client, worker, destination, out_dir):
    lambda_client.put_function_event_invoke_config(
        FunctionName=worker, DestinationConfig={"OnSuccess": {"Destination": arn(destination)}}
    )
    payload = {"id": "good"}
    invoke(lambda_client, worker, payload, InvocationType="Event")
    record = wait_record(out_dir, "good")
    assert record["requestContext"]["condition"] == "Success", record
    assert record["requestContext"]["approximateInvokeCount"] == 1, record
    assert record["requestPayload"] == payload
    assert record["responsePayload"] == {"done": "good"}
    assert record["responseContext"]["statusCode"] == 200, record
    assert len(attempts(out_dir, "good")) == 1


def test_timeouts_are_retried(lambda_client, destination, out_dir):
    # A timed-out attempt is a failure like any other and is retried.
    name = unique("async-slow")
    code = WORKER.replace('    if event.get("fail"):', '    import time\n    time.sleep(5)\n    if event.get("fail"):')
    create_function(
        lambda_client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": code},
        Timeout=1,
        Environment={"Variables": {"OUT_DIR": str(out_dir)}},
    )
    lambda_client.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": arn(destination)}},
    )
    invoke(lambda_client, name, {"id": "slow"}, InvocationType="Event")
    record = wait_record(out_dir, "slow")
    assert len(attempts(out_dir, "slow")) == 2, "MaximumRetryAttempts=1: one attempt plus one retry"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert "Task timed out" in json.dumps(record["responsePayload"]), record


def test_qualified_async_invoke(lambda_client, worker, destination, out_dir):
    lambda_client.publish_version(FunctionName=worker)
    # $LATEST moves on, so the result shows which code ran.
    lambda_client.update_function_code(
        FunctionName=worker, ZipFile=zip_files({"app.py": WORKER.replace('{"done"', '{"latest"')})
    )
    wait_updated(lambda_client, worker)
    lambda_client.put_function_event_invoke_config(
        FunctionName=worker, Qualifier="1", DestinationConfig={"OnSuccess": {"Destination": arn(destination)}}
    )
    invoke(lambda_client, worker, {"id": "v1"}, InvocationType="Event", Qualifier="1")
    record = wait_record(out_dir, "v1")
    assert record["requestContext"]["functionArn"] == arn(worker) + ":1", record
    assert record["responsePayload"] == {"done": "v1"}, f"version 1's code should have run: {record}"
    assert record["responseContext"]["executedVersion"] == "1", record


def test_throttled_event_runs_once_throttle_is_lifted(lambda_client, worker, out_dir):
    # Async events are not dropped when the function has no concurrency;
    # Lambda keeps retrying them.
    lambda_client.put_function_concurrency(FunctionName=worker, ReservedConcurrentExecutions=0)
    resp, _ = invoke(lambda_client, worker, {"id": "held"}, InvocationType="Event")
    assert resp["StatusCode"] == 202
    assert not attempts(out_dir, "held"), "a function with concurrency 0 must not run"
    lambda_client.delete_function_concurrency(FunctionName=worker)
    wait_until(lambda: attempts(out_dir, "held"), timeout=60, message="the held event never ran after unthrottling")
    assert len(attempts(out_dir, "held")) == 1


def test_dry_run(lambda_client, worker, out_dir):
    resp, _ = invoke(lambda_client, worker, {"id": "dry"}, InvocationType="DryRun")
    assert resp["StatusCode"] == 204
    assert not os.path.exists(out_dir / "dry.log"), "DryRun must not run the function"
