"""SQS FIFO queues through boto3: order within message groups, one group's messages held
while one of them is in flight, five-minute deduplication (explicit ids, content-based,
per queue or per group), receive attempt ids, sequence numbers, redrive to a FIFO
dead-letter queue, AWS's errors for what FIFO queues refuse, and a function consuming a
FIFO queue in order."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, REGION, error_code, error_message, unique, wait_until
from recorder import read_events

RECORDER_PREFIX = "fifo-rec"


@pytest.fixture(scope="module")
def sqs(server):
    return server.client("sqs")


def fifo_queue(sqs, prefix="f", **attributes) -> str:
    attrs = {"FifoQueue": "true", **{k: str(v) for k, v in attributes.items()}}
    return sqs.create_queue(QueueName=unique(prefix) + ".fifo", Attributes=attrs)["QueueUrl"]


def receive(sqs, url, n=10, **kw) -> list[dict]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=n, MessageSystemAttributeNames=["All"], **kw).get("Messages", [])


def code_of(fn, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        fn(**kwargs)
    return error_code(exc), error_message(exc)


def test_groups_keep_order_and_hold_while_in_flight(sqs):
    url = fifo_queue(sqs)
    for i in range(3):
        for g in ("a", "b"):
            sent = sqs.send_message(QueueUrl=url, MessageBody=f"{g}{i}", MessageGroupId=g, MessageDeduplicationId=f"{g}{i}")
            assert len(sent["SequenceNumber"]) == 20
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true" and attrs["ContentBasedDeduplication"] == "false"
    assert attrs["DeduplicationScope"] == "queue" and attrs["FifoThroughputLimit"] == "perQueue"

    # As many of one group as a receive can take, before another group's.
    first = receive(sqs, url, n=2)
    assert [m["Body"] for m in first] == ["a0", "a1"]
    a0 = first[0]
    assert a0["Attributes"]["MessageGroupId"] == "a"
    assert a0["Attributes"]["MessageDeduplicationId"] == "a0"
    assert int(first[0]["Attributes"]["SequenceNumber"]) < int(first[1]["Attributes"]["SequenceNumber"])
    # Group a has messages in flight: only b's come.
    second = receive(sqs, url)
    assert [m["Body"] for m in second] == ["b0", "b1", "b2"]
    assert receive(sqs, url) == []
    for m in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert [m["Body"] for m in receive(sqs, url)] == ["a2"]
    # Made visible again, b's messages come back in order, received a second time.
    for m in second:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    again = receive(sqs, url)
    assert [m["Body"] for m in again] == ["b0", "b1", "b2"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_an_expired_receipt_handle_cannot_delete(sqs):
    url = fifo_queue(sqs, "expired")
    sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", MessageDeduplicationId="m")
    [first] = receive(sqs, url, VisibilityTimeout=1)
    time.sleep(1.2)
    code, msg = code_of(sqs.delete_message, QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    assert code == "InvalidParameterValue" and "expired" in msg
    [again] = receive(sqs, url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    assert receive(sqs, url) == []


def test_deduplication_within_five_minutes(sqs):
    url = fifo_queue(sqs, "dedup")
    one = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d")
    two = sqs.send_message(QueueUrl=url, MessageBody="y", MessageGroupId="g", MessageDeduplicationId="d")
    assert two["MessageId"] == one["MessageId"] and two["SequenceNumber"] == one["SequenceNumber"]
    got = receive(sqs, url)
    assert [m["Body"] for m in got] == ["x"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    # Still deduplicated after the message is gone.
    sqs.send_message(QueueUrl=url, MessageBody="z", MessageGroupId="g", MessageDeduplicationId="d")
    assert receive(sqs, url) == []

    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "1", "MessageBody": "p", "MessageGroupId": "g", "MessageDeduplicationId": "e"},
        {"Id": "2", "MessageBody": "q", "MessageGroupId": "g", "MessageDeduplicationId": "e"},
    ])
    ids = {e["Id"]: e["MessageId"] for e in batch["Successful"]}
    assert ids["1"] == ids["2"]
    assert [m["Body"] for m in receive(sqs, url)] == ["p"]


def test_content_based_and_per_group_deduplication(sqs):
    url = fifo_queue(sqs, "content", ContentBasedDeduplication="true", DeduplicationScope="messageGroup")
    a = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g1")
    b = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g1")
    c = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g2")
    assert a["MessageId"] == b["MessageId"] != c["MessageId"]
    assert sorted(m["Attributes"]["MessageGroupId"] for m in receive(sqs, url)) == ["g1", "g2"]


def test_receive_attempt_ids_give_back_the_same_messages(sqs):
    url = fifo_queue(sqs, "attempt")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i), MessageGroupId="g", MessageDeduplicationId=str(i))
    first = receive(sqs, url, n=2, ReceiveRequestAttemptId="try-1")
    again = receive(sqs, url, n=2, ReceiveRequestAttemptId="try-1")
    assert [m["ReceiptHandle"] for m in again] == [m["ReceiptHandle"] for m in first]
    assert receive(sqs, url, ReceiveRequestAttemptId="try-2") == []


def test_redrive_to_a_fifo_dead_letter_queue(sqs):
    dlq = fifo_queue(sqs, "dlq")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = fifo_queue(sqs, "src", VisibilityTimeout=0, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", MessageDeduplicationId="m")
    assert [m["Body"] for m in receive(sqs, url)] == ["m"]
    assert receive(sqs, url) == []
    moved = receive(sqs, dlq)
    assert [m["Body"] for m in moved] == ["m"]
    assert moved[0]["Attributes"]["MessageGroupId"] == "g"
    # A standard queue cannot be a FIFO queue's dead-letter queue.
    std = sqs.create_queue(QueueName=unique("std"))["QueueUrl"]
    std_arn = sqs.get_queue_attributes(QueueUrl=std, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    code, _ = code_of(sqs.set_queue_attributes, QueueUrl=url, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": std_arn, "maxReceiveCount": 1})})
    assert code == "InvalidParameterValue"


def test_fifo_errors(sqs):
    url = fifo_queue(sqs, "err")
    code, msg = code_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")
    assert code == "MissingParameter" and "MessageGroupId" in msg
    code, msg = code_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g")
    assert code == "InvalidParameterValue" and "ContentBasedDeduplication" in msg
    code, _ = code_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d", DelaySeconds=5)
    assert code == "InvalidParameterValue"
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="zero", DelaySeconds=0)
    code, _ = code_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="has space", MessageDeduplicationId="d")
    assert code == "InvalidParameterValue"
    code, _ = code_of(sqs.set_queue_attributes, QueueUrl=url, Attributes={"FifoQueue": "false"})
    assert code == "InvalidAttributeValue"
    std = sqs.create_queue(QueueName=unique("plain"))["QueueUrl"]
    code, _ = code_of(sqs.send_message, QueueUrl=std, MessageBody="x", MessageDeduplicationId="d")
    assert code == "InvalidParameterValue"
    code, _ = code_of(sqs.create_queue, QueueName=unique("plain"), Attributes={"ContentBasedDeduplication": "true"})
    assert code == "InvalidAttributeName"
    code, msg = code_of(sqs.create_queue, QueueName=unique("plain"), Attributes={"FifoQueue": "false"})
    assert (code, msg) == ("InvalidAttributeName", "Unknown Attribute FifoQueue.")
    code, _ = code_of(sqs.set_queue_attributes, QueueUrl=std, Attributes={"FifoQueue": "true"})
    assert code == "InvalidAttributeName"
    # A FIFO batch entry without its deduplication id fails the whole call.
    code, msg = code_of(sqs.send_message_batch, QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
        {"Id": "b", "MessageBody": "x", "MessageGroupId": "g"},
    ])
    assert code == "InvalidParameterValue" and "ContentBasedDeduplication" in msg
    # Standard queues accept a group id (fair queues) and otherwise ignore it.
    sqs.send_message(QueueUrl=std, MessageBody="x", MessageGroupId="tenant-1")
    code, _ = code_of(sqs.send_message, QueueUrl=std, MessageBody="x", MessageGroupId="has space")
    assert code == "InvalidParameterValue"


def test_a_function_consumes_a_fifo_queue_in_order(server, sqs, lambda_client, recorder, out_file):
    url = fifo_queue(sqs, "esm")
    name = url.rsplit("/", 1)[1]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
    for i in range(12):
        sqs.send_message(QueueUrl=url, MessageBody=str(i), MessageGroupId=f"g{i % 2}", MessageDeduplicationId=str(i))
    with pytest.raises(ClientError) as exc:
        lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=recorder, BatchSize=20, MaximumBatchingWindowInSeconds=1)
    assert error_code(exc) == "InvalidParameterValueException"
    m = lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=recorder, BatchSize=3)
    wait_until(lambda: sum(len(e["Records"]) for e in read_events(out_file)) >= 12, timeout=30)
    records = [r for e in read_events(out_file) for r in e["Records"]]
    for g in ("g0", "g1"):
        bodies = [int(r["body"]) for r in records if r["attributes"]["MessageGroupId"] == g]
        assert bodies == sorted(bodies) and len(bodies) == 6
    assert all(r["attributes"]["SequenceNumber"] for r in records)
    lambda_client.delete_event_source_mapping(UUID=m["UUID"])
