"""Functions consuming SQS queues through event source mappings, with boto3 and the
AWS CLI: the control plane and its errors, the SQS event as functions receive it,
batching windows, partial batch failures, filters, redrive to a dead-letter queue
after failed batches, disabling and enabling, and mappings that survive kill -9."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, ACCOUNT_ID, aws, create_function, error_code, error_message, unique, wait_until
from recorder import read_events, wait_for_event

RECORDER_PREFIX = "esm-rec"

# Records each batch; answers batchItemFailures for the messages whose body says "fail".
PARTIAL = """
import json
import os


def handler(event, context):
    with open(os.environ["OUT_FILE"], "a") as fh:
        fh.write(json.dumps({"received": 0, "event": event}) + "\\n")
    return {"batchItemFailures": [
        {"itemIdentifier": r["messageId"]} for r in event["Records"] if "fail" in r["body"]
    ]}
"""


@pytest.fixture(scope="module")
def sqs(server):
    return server.client("sqs")


def queue(sqs, prefix="esm", **attributes) -> tuple[str, str]:
    name = unique(prefix)
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"


def counts(sqs, url) -> tuple[int, int]:
    a = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def records(out_file) -> list[dict]:
    return [r for e in read_events(out_file) for r in e["Records"]]


def code_of(fn, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        fn(**kwargs)
    return error_code(exc), error_message(exc)


def test_messages_reach_the_function_in_sqs_event_format(server, sqs, lambda_client, recorder, out_file):
    url, arn = queue(sqs)
    m = lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=recorder, BatchSize=5)
    assert m["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert m["State"] == "Creating"
    assert m["EventSourceArn"] == arn
    assert m["FunctionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{recorder}"
    assert m["BatchSize"] == 5 and m["MaximumBatchingWindowInSeconds"] == 0
    assert m["EventSourceMappingArn"].endswith(f":event-source-mapping:{m['UUID']}")

    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody='{"order": 7}',
        MessageAttributes={
            "color": {"DataType": "String", "StringValue": "blue"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
        },
    )
    event = wait_for_event(out_file, timeout=30)
    assert list(event) == ["Records"] and len(event["Records"]) == 1
    r = event["Records"][0]
    assert r["messageId"] == sent["MessageId"]
    assert r["body"] == '{"order": 7}'
    assert r["md5OfBody"] == sent["MD5OfMessageBody"]
    assert r["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert r["eventSource"] == "aws:sqs" and r["eventSourceARN"] == arn and r["awsRegion"] == REGION
    assert r["receiptHandle"]
    assert r["attributes"]["ApproximateReceiveCount"] == "1"
    assert r["attributes"]["SenderId"] == ACCOUNT_ID
    assert int(r["attributes"]["SentTimestamp"]) > 0
    assert int(r["attributes"]["ApproximateFirstReceiveTimestamp"]) >= int(r["attributes"]["SentTimestamp"])
    assert r["messageAttributes"]["color"] == {
        "stringValue": "blue", "stringListValues": [], "binaryListValues": [], "dataType": "String"
    }
    assert r["messageAttributes"]["blob"]["binaryValue"] == "AQI="
    assert r["messageAttributes"]["blob"]["dataType"] == "Binary"
    # A handled message is deleted.
    wait_until(lambda: counts(sqs, url) == (0, 0), timeout=10, message="the handled message stayed in the queue")

    got = lambda_client.get_event_source_mapping(UUID=m["UUID"])
    assert got["State"] == "Enabled" and got["StateTransitionReason"] == "USER_INITIATED"
    listed = lambda_client.list_event_source_mappings(FunctionName=recorder)["EventSourceMappings"]
    assert [x["UUID"] for x in listed] == [m["UUID"]]
    assert [x["UUID"] for x in lambda_client.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]] == [m["UUID"]]
    deleted = lambda_client.delete_event_source_mapping(UUID=m["UUID"])
    assert deleted["State"] == "Deleting"
    assert code_of(lambda_client.get_event_source_mapping, UUID=m["UUID"])[0] == "ResourceNotFoundException"


def test_a_batching_window_gathers_more_than_ten(server, sqs, lambda_client, recorder, out_file):
    url, arn = queue(sqs, "window")
    for start in range(0, 25, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, min(start + 10, 25))],
        )
    m = lambda_client.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=recorder, BatchSize=25, MaximumBatchingWindowInSeconds=2
    )
    wait_until(lambda: len(records(out_file)) >= 25, timeout=30, message="not every message arrived")
    batches = read_events(out_file)
    assert len(batches) == 1, [len(b["Records"]) for b in batches]
    assert sorted(r["body"] for r in batches[0]["Records"]) == sorted(f"m{i}" for i in range(25))
    wait_until(lambda: counts(sqs, url) == (0, 0), timeout=10)
    lambda_client.delete_event_source_mapping(UUID=m["UUID"])


def test_partial_batch_failures_return_only_the_failed_items(server, sqs, lambda_client, out_file):
    dlq_url, dlq_arn = queue(sqs, "partial-dlq")
    url, arn = queue(
        sqs,
        "partial",
        VisibilityTimeout=2,
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    )
    fn = unique("esm-partial")
    create_function(
        lambda_client, fn, "python3.12", "app.handler", {"app.py": PARTIAL},
        Timeout=2, Environment={"Variables": {"OUT_FILE": str(out_file)}},
    )
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "a", "MessageBody": "ok 1"}, {"Id": "b", "MessageBody": "please fail"}, {"Id": "c", "MessageBody": "ok 2"}],
    )
    m = lambda_client.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fn, BatchSize=10, MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # The failed message comes back after its visibility timeout, then moves to the DLQ.
    dead = wait_until(
        lambda: sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages"),
        timeout=30, message="the failed message never reached the dead-letter queue",
    )
    assert [d["Body"] for d in dead] == ["please fail"]
    bodies = [r["body"] for r in records(out_file)]
    assert bodies.count("ok 1") == 1 and bodies.count("ok 2") == 1, bodies
    assert bodies.count("please fail") == 2, bodies
    assert counts(sqs, url) == (0, 0)
    lambda_client.delete_event_source_mapping(UUID=m["UUID"])


def test_a_failing_function_sends_the_batch_to_the_dead_letter_queue(server, sqs, lambda_client, out_file):
    from recorder import make_recorder

    dlq_url, dlq_arn = queue(sqs, "fail-dlq")
    url, arn = queue(
        sqs, "fail", VisibilityTimeout=3,
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    )
    fn = make_recorder(lambda_client, out_file, "esm-failing", FAIL="1")
    sqs.send_message(QueueUrl=url, MessageBody="doomed")
    m = lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn)
    dead = wait_until(
        lambda: sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages"),
        timeout=30, message="the failing batch never reached the dead-letter queue",
    )
    assert [d["Body"] for d in dead] == ["doomed"]
    counts_seen = [r["attributes"]["ApproximateReceiveCount"] for r in records(out_file)]
    assert counts_seen == ["1", "2"]
    lambda_client.delete_event_source_mapping(UUID=m["UUID"])


def test_filters_keep_matching_messages_and_delete_the_rest(server, sqs, lambda_client, recorder, out_file):
    url, arn = queue(sqs, "filtered")
    m = lambda_client.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=recorder,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["big"]}})}]},
    )
    assert json.loads(m["FilterCriteria"]["Filters"][0]["Pattern"]) == {"body": {"kind": ["big"]}}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "small", "n": 1}))
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "big", "n": 2}))
    wait_for_event(out_file, timeout=30)
    wait_until(lambda: counts(sqs, url) == (0, 0), timeout=10, message="filtered messages were not deleted")
    time.sleep(0.5)
    assert [json.loads(r["body"])["n"] for r in records(out_file)] == [2]

    # Removing the filters lets everything through.
    up = lambda_client.update_event_source_mapping(UUID=m["UUID"], FilterCriteria={"Filters": []})
    assert up["State"] == "Updating" and "FilterCriteria" not in up
    sqs.send_message(QueueUrl=url, MessageBody="plain")
    wait_until(lambda: any(r["body"] == "plain" for r in records(out_file)), timeout=30)
    lambda_client.delete_event_source_mapping(UUID=m["UUID"])


def test_disabled_mappings_leave_messages_in_the_queue(server, sqs, lambda_client, recorder, out_file):
    url, arn = queue(sqs, "toggle")
    m = lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=recorder, Enabled=False)
    assert lambda_client.get_event_source_mapping(UUID=m["UUID"])["State"] == "Disabled"
    sqs.send_message(QueueUrl=url, MessageBody="waits")
    time.sleep(1.5)
    assert read_events(out_file) == []
    assert counts(sqs, url) == (1, 0)
    up = lambda_client.update_event_source_mapping(UUID=m["UUID"], Enabled=True)
    assert up["State"] == "Enabling"
    wait_for_event(out_file, timeout=30)
    wait_until(lambda: counts(sqs, url) == (0, 0), timeout=10)
    assert lambda_client.update_event_source_mapping(UUID=m["UUID"], Enabled=False)["State"] == "Disabling"
    lambda_client.delete_event_source_mapping(UUID=m["UUID"])


def test_bad_mappings_get_aws_errors(server, sqs, lambda_client, recorder):
    url, arn = queue(sqs, "bad")
    create = lambda_client.create_event_source_mapping
    missing_q = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{unique('nope')}"
    code, msg = code_of(create, EventSourceArn=missing_q, FunctionName=recorder)
    assert code == "InvalidParameterValueException" and "NonExistentQueue" in msg
    code, msg = code_of(create, EventSourceArn=arn, FunctionName=unique("no-such-fn"))
    assert code == "ResourceNotFoundException"
    code, msg = code_of(create, EventSourceArn=arn, FunctionName=recorder, BatchSize=20)
    assert code == "InvalidParameterValueException" and "batch window" in msg
    code, msg = code_of(create, EventSourceArn=arn, FunctionName=recorder, StartingPosition="LATEST")
    assert code == "InvalidParameterValueException" and "StartingPosition" in msg
    code, msg = code_of(
        create, EventSourceArn=arn, FunctionName=recorder, FilterCriteria={"Filters": [{"Pattern": '{"body": 1}'}]}
    )
    assert (code, msg) == ("InvalidParameterValueException", "Invalid filter pattern definition.")
    # (Out-of-range numbers are refused by boto3 itself; the server's checks are unit-tested.)

    slow = unique("esm-slow")
    create_function(lambda_client, slow, "python3.12", "app.handler", {"app.py": "def handler(e, c):\n    return 1\n"}, Timeout=60)
    code, msg = code_of(create, EventSourceArn=arn, FunctionName=slow)
    assert code == "InvalidParameterValueException"
    assert msg == "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds"

    m = create(EventSourceArn=arn, FunctionName=recorder)
    code, msg = code_of(create, EventSourceArn=arn, FunctionName=recorder)
    assert code == "ResourceConflictException" and m["UUID"] in msg
    code, msg = code_of(lambda_client.update_event_source_mapping, UUID=m["UUID"], BatchSize=50)
    assert code == "InvalidParameterValueException" and "batch window" in msg
    code, _ = code_of(lambda_client.get_event_source_mapping, UUID="00000000-0000-0000-0000-000000000000")
    assert code == "ResourceNotFoundException"
    code, _ = code_of(lambda_client.delete_event_source_mapping, UUID="00000000-0000-0000-0000-000000000000")
    assert code == "ResourceNotFoundException"
    kinesis = f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/s"
    code, _ = code_of(create, EventSourceArn=kinesis, FunctionName=recorder, StartingPosition="LATEST")
    assert code == "InvalidParameterValueException"
    lambda_client.delete_event_source_mapping(UUID=m["UUID"])
    assert server.alive()


def test_listing_pages_with_markers(server, sqs, lambda_client, recorder):
    made = []
    for _ in range(3):
        _, arn = queue(sqs, "page")
        made.append(lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=recorder, Enabled=False)["UUID"])
    first = lambda_client.list_event_source_mappings(FunctionName=recorder, MaxItems=2)
    assert [m["UUID"] for m in first["EventSourceMappings"]] == made[:2]
    rest = lambda_client.list_event_source_mappings(FunctionName=recorder, MaxItems=2, Marker=first["NextMarker"])
    assert [m["UUID"] for m in rest["EventSourceMappings"]] == made[2:]
    assert "NextMarker" not in rest
    for u in made:
        lambda_client.delete_event_source_mapping(UUID=u)


def test_the_cli_creates_and_lists_mappings(server, sqs, lambda_client, recorder):
    _, arn = queue(sqs, "cli")
    rc, out, err = aws(
        server, "lambda", "create-event-source-mapping", "--function-name", recorder,
        "--event-source-arn", arn, "--batch-size", "10", "--function-response-types", "ReportBatchItemFailures",
    )
    assert rc == 0, err
    uuid = json.loads(out)["UUID"]
    rc, out, err = aws(server, "lambda", "list-event-source-mappings", "--event-source-arn", arn)
    assert rc == 0, err
    assert [m["UUID"] for m in json.loads(out)["EventSourceMappings"]] == [uuid]
    rc, out, err = aws(server, "lambda", "delete-event-source-mapping", "--uuid", uuid)
    assert rc == 0, err


def test_mappings_survive_kill9(fresh_server, out_file):
    from recorder import make_recorder

    srv = fresh_server()
    lam, sqs = srv.client("lambda"), srv.client("sqs")
    fn = make_recorder(lam, out_file, "esm-durable")
    url, arn = queue(sqs, "durable")
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn)
    srv.kill9()
    srv.restart()
    lam, sqs = srv.client("lambda"), srv.client("sqs")
    assert lam.get_event_source_mapping(UUID=m["UUID"])["State"] == "Enabled"
    url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="after restart")
    event = wait_for_event(out_file, timeout=30)
    assert event["Records"][0]["body"] == "after restart"
