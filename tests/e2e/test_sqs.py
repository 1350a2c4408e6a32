"""Amazon SQS through boto3 and the AWS CLI: queues and their attributes, sends,
receives and deletes (single and batch), visibility timeouts, long polling woken by a
send, redrive to a dead-letter queue, purge, AWS's error codes and the durability of
acknowledged sends across kill -9."""

import hashlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, REGION, aws, error_code, error_message, unique, wait_until


@pytest.fixture(scope="module")
def sqs(server):
    return server.client("sqs")


def code_of(fn, **kwargs) -> str:
    with pytest.raises(ClientError) as exc:
        fn(**kwargs)
    return error_code(exc)


def new_queue(sqs, prefix="q", **attributes) -> str:
    attrs = {k: str(v) for k, v in attributes.items()}
    return sqs.create_queue(QueueName=unique(prefix), Attributes=attrs)["QueueUrl"]


def attrs_of(sqs, url, *names) -> dict:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names) or ["All"])["Attributes"]


def test_send_receive_delete(server, sqs):
    name = unique("basic")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url == f"{server.url}/{ACCOUNT_ID}/{name}"
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix=name)["QueueUrls"]

    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="hello",
        MessageAttributes={
            "color": {"DataType": "String", "StringValue": "blue"},
            "size": {"DataType": "Number", "StringValue": "3"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"hello").hexdigest()
    # boto3 itself does not check MD5OfMessageAttributes; AWS's value for these three.
    assert len(sent["MD5OfMessageAttributes"]) == 32

    got = sqs.receive_message(
        QueueUrl=url,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )["Messages"]
    assert len(got) == 1
    m = got[0]
    assert m["Body"] == "hello"
    assert m["MessageId"] == sent["MessageId"]
    assert m["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert m["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert m["MessageAttributes"]["color"] == {"DataType": "String", "StringValue": "blue"}
    assert m["MessageAttributes"]["raw"]["BinaryValue"] == b"\x00\x01"
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert int(m["Attributes"]["SentTimestamp"]) <= int(m["Attributes"]["ApproximateFirstReceiveTimestamp"])

    # In flight: nothing more to receive.
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    a = attrs_of(sqs, url)
    assert a["ApproximateNumberOfMessagesNotVisible"] == "1"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert attrs_of(sqs, url, "ApproximateNumberOfMessagesNotVisible") == {"ApproximateNumberOfMessagesNotVisible": "0"}
    sqs.delete_queue(QueueUrl=url)
    assert code_of(sqs.get_queue_url, QueueName=name) == "AWS.SimpleQueueService.NonExistentQueue"


def test_md5_of_message_attributes_matches_aws(sqs):
    # The value AWS's documentation examples and the SDKs' checks agree on.
    url = new_queue(sqs)
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="x",
        MessageAttributes={"a": {"DataType": "String", "StringValue": "b"}},
    )
    payload = b"".join(
        [len(b"a").to_bytes(4, "big"), b"a", len(b"String").to_bytes(4, "big"), b"String", b"\x01", len(b"b").to_bytes(4, "big"), b"b"]
    )
    assert sent["MD5OfMessageAttributes"] == hashlib.md5(payload).hexdigest()


def test_batches(sqs):
    url = new_queue(sqs, "batch")
    entries = [{"Id": f"m{i}", "MessageBody": f"body {i}"} for i in range(10)]
    out = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(s["Id"] for s in out["Successful"]) == sorted(e["Id"] for e in entries)
    assert out.get("Failed", []) == []

    bodies = {}
    while len(bodies) < 10:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        assert msgs, "messages went missing"
        for m in msgs:
            bodies[m["Body"]] = m["ReceiptHandle"]
    assert set(bodies) == {f"body {i}" for i in range(10)}
    handles = list(bodies.values())
    out = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": f"d{i}", "ReceiptHandle": h} for i, h in enumerate(handles)][:9]
        + [{"Id": "bad", "ReceiptHandle": "not-a-handle"}],
    )
    assert len(out["Successful"]) == 9
    assert out["Failed"][0]["Id"] == "bad"
    assert out["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"

    too_many = [{"Id": f"m{i}", "MessageBody": "x"} for i in range(11)]
    assert code_of(sqs.send_message_batch, QueueUrl=url, Entries=too_many) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    dup = [{"Id": "same", "MessageBody": "x"}, {"Id": "same", "MessageBody": "y"}]
    assert code_of(sqs.send_message_batch, QueueUrl=url, Entries=dup) == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"


def test_visibility_timeout_expires_and_can_be_changed(sqs):
    url = new_queue(sqs, "vis", VisibilityTimeout=1)
    sqs.send_message(QueueUrl=url, MessageBody="again")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    # Visible again after 1 s; a long poll waits for it.
    second = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert second["Body"] == "again"
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second["ReceiptHandle"] != first["ReceiptHandle"]

    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0)
    third = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"][0]
    out = sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": third["ReceiptHandle"], "VisibilityTimeout": 120}]
    )
    assert [s["Id"] for s in out["Successful"]] == ["a"]


def test_long_poll_is_woken_by_a_send(sqs):
    url = new_queue(sqs, "poll")
    result = {}

    def poll():
        t = time.monotonic()
        result["msgs"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
        result["secs"] = time.monotonic() - t

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(1.0)
    sqs.send_message(QueueUrl=url, MessageBody="wake up")
    th.join(30)
    assert [m["Body"] for m in result["msgs"]] == ["wake up"]
    assert result["secs"] < 10


def test_empty_long_poll_waits(sqs):
    url = new_queue(sqs, "empty")
    t = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert time.monotonic() - t >= 0.9


def test_delay_seconds(sqs):
    url = new_queue(sqs, "delay")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    assert attrs_of(sqs, url, "ApproximateNumberOfMessagesDelayed")["ApproximateNumberOfMessagesDelayed"] == "1"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert got[0]["Body"] == "later"


def test_redrive_to_dead_letter_queue(sqs):
    dlq = new_queue(sqs, "dlq")
    dlq_arn = attrs_of(sqs, dlq, "QueueArn")["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    src = new_queue(sqs, "src", RedrivePolicy=policy, VisibilityTimeout=0)
    assert json.loads(attrs_of(sqs, src, "RedrivePolicy")["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": 2,
    }
    sent = sqs.send_message(QueueUrl=src, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=src)["Messages"][0]["Body"] == "poison"
    # The third receive moves it instead of handing it out.
    assert "Messages" not in sqs.receive_message(QueueUrl=src)
    moved = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=2)["Messages"][0]
    assert moved["Body"] == "poison"
    assert moved["MessageId"] == sent["MessageId"]


def test_purge(sqs):
    url = new_queue(sqs, "purge")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    assert attrs_of(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "3"
    sqs.purge_queue(QueueUrl=url)
    assert attrs_of(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "0"
    assert code_of(sqs.purge_queue, QueueUrl=url) == "AWS.SimpleQueueService.PurgeQueueInProgress"


def test_attributes(sqs):
    url = new_queue(sqs, "attrs", VisibilityTimeout=45, DelaySeconds=2, MaximumMessageSize=2048)
    a = attrs_of(sqs, url)
    assert a["VisibilityTimeout"] == "45"
    assert a["DelaySeconds"] == "2"
    assert a["MaximumMessageSize"] == "2048"
    assert a["MessageRetentionPeriod"] == "345600"
    assert a["ReceiveMessageWaitTimeSeconds"] == "0"
    assert a["QueueArn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{url.rsplit('/', 1)[1]}"
    assert abs(int(a["CreatedTimestamp"]) - time.time()) < 60
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "10"})
    assert attrs_of(sqs, url, "VisibilityTimeout") == {"VisibilityTimeout": "10"}
    # Same attributes: the existing queue; different ones: an error.
    name = url.rsplit("/", 1)[1]
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "10"})["QueueUrl"] == url
    assert code_of(sqs.create_queue, QueueName=name, Attributes={"VisibilityTimeout": "11"}) == "QueueAlreadyExists"
    big = "x" * 3000
    assert code_of(sqs.send_message, QueueUrl=url, MessageBody=big) == "InvalidParameterValue"


def test_errors(server, sqs):
    missing = f"{server.url}/{ACCOUNT_ID}/{unique('missing')}"
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=missing, MessageBody="x")
    assert error_code(exc) == "AWS.SimpleQueueService.NonExistentQueue"
    assert error_message(exc) == "The specified queue does not exist."
    assert code_of(sqs.create_queue, QueueName="bad name!") == "InvalidParameterValue"
    # A FIFO name needs the FifoQueue attribute, and the attribute a FIFO name.
    assert code_of(sqs.create_queue, QueueName=unique("fifo") + ".fifo") == "InvalidParameterValue"
    assert code_of(sqs.create_queue, QueueName=unique("fifo"), Attributes={"FifoQueue": "true"}) == "InvalidParameterValue"
    assert code_of(sqs.create_queue, QueueName=unique("v"), Attributes={"VisibilityTimeout": "99999"}) == "InvalidAttributeValue"
    assert code_of(sqs.create_queue, QueueName=unique("v"), Attributes={"Nope": "1"}) == "InvalidAttributeName"
    url = new_queue(sqs)
    assert code_of(sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=11) == "InvalidParameterValue"
    assert code_of(sqs.delete_message, QueueUrl=url, ReceiptHandle="garbage") == "ReceiptHandleIsInvalid"
    assert code_of(sqs.send_message, QueueUrl=url, MessageBody="bad \x01 char") == "InvalidMessageContents"


def test_kill9_keeps_acknowledged_messages(fresh_server):
    srv = fresh_server()
    sqs = srv.client("sqs")
    url = sqs.create_queue(QueueName="durable", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="deleted")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    sqs.send_message(QueueUrl=url, MessageBody="in flight")
    [in_flight] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert in_flight["Body"] == "in flight"
    sqs.send_message(QueueUrl=url, MessageBody="soon visible")
    [soon] = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=soon["ReceiptHandle"], VisibilityTimeout=2)
    sqs.send_message(
        QueueUrl=url, MessageBody="acknowledged", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}}
    )
    srv.kill9()

    srv.start()
    sqs = srv.client("sqs")
    # The port is new after the restart; the queue is the same.
    url = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
    assert url == f"{srv.url}/{ACCOUNT_ID}/durable"
    assert attrs_of(sqs, url, "VisibilityTimeout") == {"VisibilityTimeout": "300"}
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    # In-flight messages stay invisible for the rest of their visibility timeout.
    assert [m["Body"] for m in msgs] == ["acknowledged"]
    assert msgs[0]["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}
    # The shortened one comes back when its new timeout ends, received a second time.
    back = []
    wait_until(lambda: back.extend(sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"]).get("Messages", [])) or back, timeout=10)
    assert back[0]["Body"] == "soon visible"
    assert back[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    # A receipt handle from before the restart still deletes its message.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=in_flight["ReceiptHandle"])
    counts = attrs_of(sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    assert counts == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "2"}


def test_aws_cli(server):
    # The CLI's sqs commands answer to --endpoint-url but not AWS_ENDPOINT_URL.
    def run(*args):
        rc, out, err = aws(server, *args, "--endpoint-url", server.url)
        assert rc == 0, f"`aws {' '.join(args)}` failed with {rc}:\n{err}\n{out}"
        return json.loads(out) if out.strip() else {}

    name = unique("cli")
    url = run("sqs", "create-queue", "--queue-name", name)["QueueUrl"]
    assert url.endswith(f"/{ACCOUNT_ID}/{name}")
    sent = run("sqs", "send-message", "--queue-url", url, "--message-body", "from the cli")
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"from the cli").hexdigest()
    got = run("sqs", "receive-message", "--queue-url", url, "--wait-time-seconds", "1")
    assert got["Messages"][0]["Body"] == "from the cli"
    rc, out, err = aws(server, "sqs", "get-queue-url", "--queue-name", unique("nope"), "--endpoint-url", server.url)
    assert rc != 0
    assert "NonExistentQueue" in err


def test_tags_permissions_and_dead_letter_sources(server, sqs):
    name = unique("tagged")
    url = sqs.create_queue(QueueName=name, tags={"team": "a", "env": "dev"})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "a", "env": "dev"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "prod", "cost": "7"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "prod", "cost": "7"}
    assert code_of(sqs.tag_queue, QueueUrl=url, Tags={f"k{i}": "v" for i in range(60)}) == "InvalidParameterValue"

    sqs.add_permission(QueueUrl=url, Label="senders", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    policy = json.loads(attrs_of(sqs, url, "Policy")["Policy"])
    [statement] = policy["Statement"]
    assert statement["Sid"] == "senders"
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root"]}
    assert statement["Action"] == ["SQS:SendMessage"]
    assert code_of(sqs.add_permission, QueueUrl=url, Label="senders", AWSAccountIds=["1"], Actions=["*"]) == "InvalidParameterValue"
    sqs.remove_permission(QueueUrl=url, Label="senders")
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    assert code_of(sqs.remove_permission, QueueUrl=url, Label="senders") == "InvalidParameterValue"

    dlq_url = new_queue(sqs, "dlq")
    dlq_arn = attrs_of(sqs, dlq_url, "QueueArn")["QueueArn"]
    sources = [new_queue(sqs, "src", RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})) for _ in range(2)]
    assert sorted(sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"]) == sorted(sources)
    assert sqs.list_dead_letter_source_queues(QueueUrl=url)["queueUrls"] == []


def test_message_move_tasks_redrive_dead_letters(sqs):
    dlq_url = new_queue(sqs, "move-dlq")
    dlq_arn = attrs_of(sqs, dlq_url, "QueueArn")["QueueArn"]
    src_url = new_queue(sqs, "move-src", VisibilityTimeout=0, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    src_arn = attrs_of(sqs, src_url, "QueueArn")["QueueArn"]

    def dead_letters() -> int:
        return int(attrs_of(sqs, dlq_url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"])

    def fail_all_into_dlq():
        # Received once each (visibility 0), the next receive moves them to the DLQ.
        def moved():
            sqs.receive_message(QueueUrl=src_url, MaxNumberOfMessages=10)
            return dead_letters() == 5

        wait_until(moved, timeout=20, message="the messages never reached the DLQ")

    for i in range(5):
        sqs.send_message(QueueUrl=src_url, MessageBody=f"m{i}")
    fail_all_into_dlq()

    # Not a dead-letter queue; no such queue.
    assert code_of(sqs.start_message_move_task, SourceArn=src_arn) == "AWS.SimpleQueueService.UnsupportedOperation"
    assert code_of(sqs.start_message_move_task, SourceArn=dlq_arn + "-nope") == "ResourceNotFoundException"

    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    wait_until(lambda: sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]["Status"] == "COMPLETED", timeout=20)
    [task] = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    assert task["ApproximateNumberOfMessagesMoved"] == 5 and task["ApproximateNumberOfMessagesToMove"] == 5
    assert "DestinationArn" not in task and "TaskHandle" not in task
    # Back in the queue they came from, with fresh receive counts.
    back = sqs.receive_message(QueueUrl=src_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])["Messages"]
    assert sorted(m["Body"] for m in back) == [f"m{i}" for i in range(5)]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in back} == {"1"}
    assert dead_letters() == 0

    # To a named destination, slowly enough to cancel half-way.
    fail_all_into_dlq()
    other_url = new_queue(sqs, "move-dest")
    other_arn = attrs_of(sqs, other_url, "QueueArn")["QueueArn"]
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=other_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    assert code_of(sqs.start_message_move_task, SourceArn=dlq_arn) == "AWS.SimpleQueueService.UnsupportedOperation"
    time.sleep(1.5)
    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert 1 <= moved < 5
    wait_until(lambda: sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]["Status"] == "CANCELLED", timeout=10)
    assert code_of(sqs.cancel_message_move_task, TaskHandle=handle) == "ResourceNotFoundException"
    tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    assert [t["Status"] for t in tasks] == ["CANCELLED", "COMPLETED"]
    assert tasks[0]["DestinationArn"] == other_arn and tasks[0]["MaxNumberOfMessagesPerSecond"] == 1
    in_other = int(attrs_of(sqs, other_url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"])
    assert in_other + dead_letters() == 5


QUERY_VENV = Path(__file__).resolve().parents[2] / ".venv-sqs-query"


def query_protocol_python() -> Path:
    """The interpreter of a venv with a boto3 release that speaks SQS's query protocol,
    built on first use from tests/e2e/sqs_query/requirements.txt."""
    python = QUERY_VENV / "bin" / "python"
    reqs = Path(__file__).parent / "sqs_query" / "requirements.txt"
    stamp = QUERY_VENV / "requirements.txt"
    if not python.exists() or not stamp.exists() or stamp.read_text() != reqs.read_text():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(QUERY_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps", "-r", str(reqs)],
            check=True,
        )
        stamp.write_text(reqs.read_text())
    return python


def test_query_protocol_with_an_older_sdk(server):
    python = query_protocol_python()
    script = Path(__file__).parent / "sqs_query" / "client.py"
    proc = subprocess.run([str(python), str(script), server.url], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["botocore"] == "1.31.0"
    assert out["url"] == f"{server.url}/{ACCOUNT_ID}/legacy"
    assert out["attrs"] == {"VisibilityTimeout": "45", "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:legacy"}
    assert out["tags"] == {"team": "a"}
    assert out["sent"]["MD5OfMessageBody"] == hashlib.md5(b"hello <&> world").hexdigest()
    assert out["batch_ok"] == ["a", "b"]
    assert out["batch_error"] == "AWS.SimpleQueueService.InvalidBatchEntryId"
    bodies = sorted(m["Body"] for m in out["received"])
    assert bodies == ["hello <&> world", "one", "two"]
    first = next(m for m in out["received"] if m["Body"] == "hello <&> world")
    assert first["color"] == {"StringValue": "blue", "DataType": "String"}
    assert "SentTimestamp" in first["Attrs"] and "ApproximateReceiveCount" in first["Attrs"]
    assert out["binary"] == [0, 1]
    assert out["deleted"] == 3
    assert out["urls"] == [out["url"]]
    assert out["error"] == ["AWS.SimpleQueueService.NonExistentQueue", 400]


def test_trace_header_system_attribute(sqs):
    url = new_queue(sqs, "trace")
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    sent = sqs.send_message(
        QueueUrl=url, MessageBody="x",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}},
    )
    assert len(sent["MD5OfMessageSystemAttributes"]) == 32
    [m] = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"]
    assert m["Attributes"] == {"AWSTraceHeader": trace}
    assert code_of(
        sqs.send_message, QueueUrl=url, MessageBody="x",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "Number", "StringValue": "1"}},
    ) == "InvalidParameterValue"
