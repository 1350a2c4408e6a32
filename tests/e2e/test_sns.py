"""Amazon SNS through boto3: topics (attributes, tags, paging, name rules),
subscriptions of SQS queues, Lambda functions and http endpoints (with the
confirmation handshake), Publish and PublishBatch, the JSON envelope and raw
delivery, filter policies on attributes and on the body, fan-out, FIFO topics,
http retries ending in a dead-letter queue, EventBridge targets naming a topic,
AWS's error codes, and topics and subscriptions surviving kill -9."""

import base64
import http.server
import json
import re
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, REGION, error_code, error_message, http_get, http_status, unique, wait_until
from recorder import wait_for_event

RECORDER_PREFIX = "sns-recorder"
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(scope="module")
def sns(server):
    return server.client("sns")


@pytest.fixture(scope="module")
def sqs(server):
    return server.client("sqs")


def new_topic(sns, prefix="t", **kwargs) -> str:
    return sns.create_topic(Name=unique(prefix), **kwargs)["TopicArn"]


def new_queue(sqs, prefix="q") -> tuple[str, str]:
    url = sqs.create_queue(QueueName=unique(prefix))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def subscribe_queue(sns, topic, queue_arn, **attributes) -> str:
    resp = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={k: str(v) for k, v in attributes.items()},
        ReturnSubscriptionArn=True,
    )
    return resp["SubscriptionArn"]


def receive(sqs, url, count=1, timeout=15.0) -> list[dict]:
    """Receive (and delete) `count` messages, waiting for them to arrive."""
    got: list[dict] = []

    def poll():
        resp = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        )
        for m in resp.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            got.append(m)
        return len(got) >= count

    wait_until(poll, timeout=timeout, interval=0, message=lambda: f"expected {count} messages, got {got}")
    return got


def queue_is_empty(sqs, url, wait_s=2) -> bool:
    resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s)
    return not resp.get("Messages")


def code_of(fn, **kwargs) -> str:
    with pytest.raises(ClientError) as exc:
        fn(**kwargs)
    return error_code(exc)


# --------------------------------------------------------------------------
# Topics
# --------------------------------------------------------------------------


def test_topic_lifecycle_and_attributes(sns):
    name = unique("life")
    arn = sns.create_topic(Name=name, Attributes={"DisplayName": "Life"})["TopicArn"]
    assert arn == f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}"
    # Idempotent for the same name and attributes; refused with different ones.
    assert sns.create_topic(Name=name, Attributes={"DisplayName": "Life"})["TopicArn"] == arn
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    assert code_of(sns.create_topic, Name=name, Attributes={"DisplayName": "Other"}) == "InvalidParameter"

    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["TopicArn"] == arn
    assert attrs["Owner"] == ACCOUNT_ID
    assert attrs["DisplayName"] == "Life"
    assert attrs["SubscriptionsConfirmed"] == "0"
    assert attrs["SubscriptionsPending"] == "0"
    assert attrs["SubscriptionsDeleted"] == "0"
    policy = json.loads(attrs["Policy"])
    assert policy["Statement"][0]["Resource"] == arn
    assert "http" in json.loads(attrs["EffectiveDeliveryPolicy"])
    assert "FifoTopic" not in attrs

    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Renamed")
    delivery_policy = {"http": {"defaultHealthyRetryPolicy": {"numRetries": 5}}}
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(delivery_policy))
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["DisplayName"] == "Renamed"
    assert json.loads(attrs["DeliveryPolicy"]) == delivery_policy
    assert (
        code_of(sns.set_topic_attributes, TopicArn=arn, AttributeName="Nope", AttributeValue="x") == "InvalidParameter"
    )
    assert (
        code_of(sns.set_topic_attributes, TopicArn=arn, AttributeName="Policy", AttributeValue="{not json")
        == "InvalidParameter"
    )

    assert arn in [t["TopicArn"] for t in sns.get_paginator("list_topics").paginate().build_full_result()["Topics"]]
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)  # deleting again succeeds, as in AWS
    with pytest.raises(ClientError) as exc:
        sns.get_topic_attributes(TopicArn=arn)
    assert error_code(exc) == "NotFound"
    assert http_status(exc) == 404


def test_list_topics_pages_by_100(server):
    # A region of its own, so other tests' topics do not count.
    sns = server.client("sns", region="eu-west-3")
    arns = {sns.create_topic(Name=f"page-{i:03}")["TopicArn"] for i in range(105)}
    first = sns.list_topics()
    assert len(first["Topics"]) == 100
    second = sns.list_topics(NextToken=first["NextToken"])
    assert len(second["Topics"]) == 5
    assert "NextToken" not in second
    assert {t["TopicArn"] for t in first["Topics"] + second["Topics"]} == arns
    assert all(":eu-west-3:" in a for a in arns)


def test_tags(sns):
    arn = new_topic(sns, Tags=[{"Key": "team", "Value": "a"}])
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}])
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"env": "dev", "team": "b"}
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    missing = arn + "-missing"
    with pytest.raises(ClientError) as exc:
        sns.list_tags_for_resource(ResourceArn=missing)
    assert error_code(exc) == "ResourceNotFound"
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert code_of(sns.tag_resource, ResourceArn=arn, Tags=too_many) == "TagLimitExceeded"


# --------------------------------------------------------------------------
# Delivery to queues
# --------------------------------------------------------------------------


def test_sqs_subscription_gets_the_envelope(server, sns, sqs):
    topic = new_topic(sns)
    url, queue_arn = new_queue(sqs)
    sub = subscribe_queue(sns, topic, queue_arn)
    assert sub.startswith(topic + ":")

    attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attrs["Protocol"] == "sqs"
    assert attrs["Endpoint"] == queue_arn
    assert attrs["PendingConfirmation"] == "false"
    assert attrs["RawMessageDelivery"] == "false"
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsConfirmed"] == "1"
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert listed == [
        {"SubscriptionArn": sub, "Owner": ACCOUNT_ID, "Protocol": "sqs", "Endpoint": queue_arn, "TopicArn": topic}
    ]
    assert sub in [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]]

    message_id = sns.publish(
        TopicArn=topic,
        Message="hello queue",
        Subject="Greeting",
        MessageAttributes={
            "color": {"DataType": "String", "StringValue": "blue"},
            "size": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )["MessageId"]

    [msg] = receive(sqs, url)
    body = json.loads(msg["Body"])
    assert body["Type"] == "Notification"
    assert body["MessageId"] == message_id
    assert body["TopicArn"] == topic
    assert body["Subject"] == "Greeting"
    assert body["Message"] == "hello queue"
    assert TIMESTAMP_RE.match(body["Timestamp"]), body["Timestamp"]
    assert body["SignatureVersion"] == "1"
    assert "Signature" in body and "SigningCertURL" in body
    assert body["UnsubscribeURL"].startswith(server.url + "/?Action=Unsubscribe&SubscriptionArn=")
    assert body["MessageAttributes"] == {
        "color": {"Type": "String", "Value": "blue"},
        "size": {"Type": "Number", "Value": "3"},
        "blob": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01").decode()},
    }
    # The envelope is the body: no SQS message attributes.
    assert "MessageAttributes" not in msg

    # Without a Subject the envelope has none; TargetArn works like TopicArn.
    sns.publish(TargetArn=topic, Message="no subject")
    [msg] = receive(sqs, url)
    assert "Subject" not in json.loads(msg["Body"])

    sns.unsubscribe(SubscriptionArn=sub)
    sns.unsubscribe(SubscriptionArn=sub)  # again: no error, as on AWS
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    assert code_of(sns.get_subscription_attributes, SubscriptionArn=sub) == "NotFound"
    sns.publish(TopicArn=topic, Message="after unsubscribe")
    assert queue_is_empty(sqs, url)


def test_raw_delivery_carries_message_attributes(sns, sqs):
    topic = new_topic(sns)
    url, queue_arn = new_queue(sqs)
    sub = subscribe_queue(sns, topic, queue_arn)
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true")
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["RawMessageDelivery"] == "true"

    sns.publish(
        TopicArn=topic,
        Message="raw body",
        MessageAttributes={
            "color": {"DataType": "String", "StringValue": "blue"},
            "size": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            "list": {"DataType": "String.Array", "StringValue": '["a", "b"]'},
        },
    )
    [msg] = receive(sqs, url)
    assert msg["Body"] == "raw body"
    assert msg["MessageAttributes"] == {
        "color": {"DataType": "String", "StringValue": "blue"},
        "size": {"DataType": "Number", "StringValue": "3"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        "list": {"DataType": "String.Array", "StringValue": '["a", "b"]'},
    }


def test_fan_out_to_several_queues(sns, sqs):
    topic = new_topic(sns)
    queues = [new_queue(sqs) for _ in range(3)]
    for _, arn in queues:
        subscribe_queue(sns, topic, arn)
    message_id = sns.publish(TopicArn=topic, Message="to everyone")["MessageId"]
    for url, _ in queues:
        [msg] = receive(sqs, url)
        body = json.loads(msg["Body"])
        assert (body["Message"], body["MessageId"]) == ("to everyone", message_id)


def test_filter_policy_on_attributes(sns, sqs):
    topic = new_topic(sns)
    blue_url, blue_arn = new_queue(sqs, "blue")
    all_url, all_arn = new_queue(sqs, "all")
    sub = subscribe_queue(
        sns, topic, blue_arn, FilterPolicy=json.dumps({"color": ["blue"], "size": [{"numeric": [">", 2]}]})
    )
    subscribe_queue(sns, topic, all_arn)
    attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attrs["FilterPolicyScope"] == "MessageAttributes"

    def publish(color, size):
        sns.publish(
            TopicArn=topic,
            Message=f"{color}-{size}",
            MessageAttributes={
                "color": {"DataType": "String", "StringValue": color},
                "size": {"DataType": "Number", "StringValue": str(size)},
            },
        )

    publish("red", 5)
    publish("blue", 1)
    publish("blue", 5)
    sns.publish(TopicArn=topic, Message="no attributes")
    got = receive(sqs, all_url, count=4)
    assert sorted(json.loads(m["Body"])["Message"] for m in got) == ["blue-1", "blue-5", "no attributes", "red-5"]
    [blue] = receive(sqs, blue_url)
    assert json.loads(blue["Body"])["Message"] == "blue-5"
    assert queue_is_empty(sqs, blue_url)

    # String.Array attributes match any of their members.
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=json.dumps({"tags": ["urgent"]})
    )
    sns.publish(
        TopicArn=topic,
        Message="tagged",
        MessageAttributes={"tags": {"DataType": "String.Array", "StringValue": '["low", "urgent"]'}},
    )
    [tagged] = receive(sqs, blue_url)
    assert json.loads(tagged["Body"])["Message"] == "tagged"


def test_filter_policy_on_the_body(sns, sqs):
    topic = new_topic(sns)
    url, queue_arn = new_queue(sqs)
    subscribe_queue(
        sns,
        topic,
        queue_arn,
        FilterPolicy=json.dumps({"order": {"total": [{"numeric": [">=", 100]}]}}),
        FilterPolicyScope="MessageBody",
        RawMessageDelivery="true",
    )
    sns.publish(TopicArn=topic, Message=json.dumps({"order": {"total": 5}}))
    sns.publish(TopicArn=topic, Message="not json at all")
    sns.publish(TopicArn=topic, Message=json.dumps({"order": {"total": 250}}))
    [msg] = receive(sqs, url)
    assert json.loads(msg["Body"]) == {"order": {"total": 250}}
    assert queue_is_empty(sqs, url)


def test_message_structure_json(sns, sqs):
    topic = new_topic(sns)
    url, queue_arn = new_queue(sqs)
    subscribe_queue(sns, topic, queue_arn)
    sns.publish(
        TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "for all", "sqs": "for queues"})
    )
    [msg] = receive(sqs, url)
    assert json.loads(msg["Body"])["Message"] == "for queues"
    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn=topic, MessageStructure="json", Message=json.dumps({"sqs": "x"}))
    assert error_code(exc) == "InvalidParameter"
    assert "No default entry" in error_message(exc)


def test_publish_batch(sns, sqs):
    topic = new_topic(sns)
    url, queue_arn = new_queue(sqs)
    subscribe_queue(sns, topic, queue_arn)
    resp = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": "one", "Message": "first"},
            {
                "Id": "two",
                "Message": "second",
                "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
            },
            {"Id": "bad", "Message": "x", "Subject": "line\nbreak"},
        ],
    )
    assert sorted(s["Id"] for s in resp["Successful"]) == ["one", "two"]
    assert all(s["MessageId"] for s in resp["Successful"])
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in resp["Failed"]] == [("bad", "InvalidParameter", True)]
    got = receive(sqs, url, count=2)
    bodies = {json.loads(m["Body"])["Message"]: json.loads(m["Body"]) for m in got}
    assert set(bodies) == {"first", "second"}
    assert bodies["second"]["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}

    dup = [{"Id": "same", "Message": "a"}, {"Id": "same", "Message": "b"}]
    assert code_of(sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=dup) == "BatchEntryIdsNotDistinct"
    eleven = [{"Id": f"e{i}", "Message": "m"} for i in range(11)]
    assert (
        code_of(sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=eleven) == "TooManyEntriesInBatchRequest"
    )
    assert code_of(sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=[]) == "EmptyBatchRequest"
    bad_id = [{"Id": "not ok!", "Message": "m"}]
    assert code_of(sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=bad_id) == "InvalidBatchEntryId"


def test_fifo_topics(sns):
    name = unique("orders") + ".fifo"
    arn = sns.create_topic(Name=name, Attributes={"FifoTopic": "true"})["TopicArn"]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["FifoTopic"] == "true"
    assert attrs["ContentBasedDeduplication"] == "false"
    # FIFO names need FifoTopic=true, and FifoTopic=true needs the suffix.
    assert code_of(sns.create_topic, Name=unique("x") + ".fifo") == "InvalidParameter"
    assert code_of(sns.create_topic, Name=unique("x"), Attributes={"FifoTopic": "true"}) == "InvalidParameter"

    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn=arn, Message="m", MessageDeduplicationId="d1")
    assert error_code(exc) == "InvalidParameter"
    assert "MessageGroupId" in error_message(exc)
    assert (
        code_of(sns.publish, TopicArn=arn, Message="m", MessageGroupId="g") == "InvalidParameter"
    )  # no dedup id, no content-based deduplication

    first = sns.publish(TopicArn=arn, Message="m", MessageGroupId="g", MessageDeduplicationId="d1")
    again = sns.publish(TopicArn=arn, Message="m", MessageGroupId="g", MessageDeduplicationId="d1")
    other = sns.publish(TopicArn=arn, Message="m", MessageGroupId="g", MessageDeduplicationId="d2")
    assert again["MessageId"] == first["MessageId"]
    assert other["MessageId"] != first["MessageId"]
    assert int(other["SequenceNumber"]) > int(first["SequenceNumber"])

    sns.set_topic_attributes(TopicArn=arn, AttributeName="ContentBasedDeduplication", AttributeValue="true")
    a = sns.publish(TopicArn=arn, Message="same body", MessageGroupId="g")
    b = sns.publish(TopicArn=arn, Message="same body", MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"]

    standard = new_topic(sns)
    assert (
        code_of(sns.publish, TopicArn=standard, Message="m", MessageDeduplicationId="d") == "InvalidParameter"
    )


def test_fifo_topic_fans_out_to_fifo_queues_in_order(sns, sqs):
    topic = sns.create_topic(Name=unique("ledger") + ".fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    queues = []
    for _ in range(2):
        url = sqs.create_queue(QueueName=unique("ledger-q") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        queues.append(url)
    # Queues subscribe to FIFO topics (standard ones too), FIFO queues never to standard topics.
    std_url, std_arn = new_queue(sqs, "std")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=std_arn, Attributes={"RawMessageDelivery": "true"})
    fifo_arn = sqs.get_queue_attributes(QueueUrl=queues[0], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert code_of(sns.subscribe, TopicArn=new_topic(sns), Protocol="sqs", Endpoint=fifo_arn) == "InvalidParameter"

    for i in range(5):
        sns.publish(TopicArn=topic, Message=f"entry {i}", MessageGroupId="acct-1", MessageDeduplicationId=f"e{i}")
    for url in queues:
        got = []
        deadline = time.time() + 15
        while len(got) < 5 and time.time() < deadline:
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            for m in batch:
                got.append(m)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        assert [m["Body"] for m in got] == [f"entry {i}" for i in range(5)]
        assert {m["Attributes"]["MessageGroupId"] for m in got} == {"acct-1"}
        assert [m["Attributes"]["MessageDeduplicationId"] for m in got] == [f"e{i}" for i in range(5)]
    assert sorted(m["Body"] for m in receive(sqs, std_url, count=5)) == [f"entry {i}" for i in range(5)]


# --------------------------------------------------------------------------
# Lambda and http subscriptions
# --------------------------------------------------------------------------


def test_lambda_subscription_receives_the_sns_event(sns, recorder, out_file):
    topic = new_topic(sns)
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{recorder}"
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    message_id = sns.publish(
        TopicArn=topic,
        Message="to the function",
        MessageAttributes={"color": {"DataType": "String", "StringValue": "blue"}},
    )["MessageId"]

    event = wait_for_event(out_file, what="SNS event")
    [record] = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == sub
    s = record["Sns"]
    assert s["Type"] == "Notification"
    assert s["MessageId"] == message_id
    assert s["TopicArn"] == topic
    assert s["Subject"] is None
    assert s["Message"] == "to the function"
    assert TIMESTAMP_RE.match(s["Timestamp"])
    assert s["SignatureVersion"] == "1"
    assert s["MessageAttributes"] == {"color": {"Type": "String", "Value": "blue"}}
    assert "UnsubscribeUrl" in s and "SigningCertUrl" in s

    with pytest.raises(ClientError) as exc:
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true")
    assert error_code(exc) == "InvalidParameter"


class Endpoint:
    """A small HTTP server standing in for a subscriber: records every POST and
    answers with `status`."""

    def __init__(self, status=200):
        self.status = status
        self.posts: list[dict] = []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                endpoint.posts.append({"path": self.path, "headers": headers, "body": body})
                self.send_response(endpoint.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, message_type, count=1, timeout=15.0) -> list[dict]:
        def found():
            posts = [p for p in self.posts if p["headers"].get("x-amz-sns-message-type") == message_type]
            return posts if len(posts) >= count else None

        return wait_until(found, timeout=timeout, message=lambda: f"no {message_type}; got {self.posts}")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def endpoint():
    e = Endpoint()
    try:
        yield e
    finally:
        e.close()


def test_http_subscription_handshake_and_notification(server, sns, endpoint):
    topic = new_topic(sns)
    resp = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
    assert resp["SubscriptionArn"] == "pending confirmation"

    [post] = endpoint.wait_for("SubscriptionConfirmation")
    assert post["path"] == "/hook"
    assert post["headers"]["content-type"] == "text/plain; charset=UTF-8"
    assert post["headers"]["x-amz-sns-topic-arn"] == topic
    confirmation = json.loads(post["body"])
    assert confirmation["Type"] == "SubscriptionConfirmation"
    assert confirmation["TopicArn"] == topic
    assert post["headers"]["x-amz-sns-message-id"] == confirmation["MessageId"]
    for key in ("Token", "Message", "SubscribeURL", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL"):
        assert key in confirmation, key
    assert confirmation["SubscribeURL"].startswith(server.url + "/")
    assert TIMESTAMP_RE.match(confirmation["Timestamp"])

    [pending] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert pending["SubscriptionArn"] == "PendingConfirmation"
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsPending"] == "1"
    # Nothing goes to a pending subscription.
    sns.publish(TopicArn=topic, Message="too early")

    assert code_of(sns.confirm_subscription, TopicArn=topic, Token="0" * 64) == "InvalidParameter"
    # Fetching the SubscribeURL confirms, as on AWS (no signature needed: the token is
    # the proof).
    status, _, body = http_get(confirmation["SubscribeURL"])
    assert status == 200, body
    assert b"<SubscriptionArn>" in body
    sub = sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"] == sub
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["PendingConfirmation"] == "false"

    message_id = sns.publish(TopicArn=topic, Message="hello http", Subject="Hi")["MessageId"]
    [post] = endpoint.wait_for("Notification")
    assert post["headers"]["x-amz-sns-message-id"] == message_id
    assert post["headers"]["x-amz-sns-topic-arn"] == topic
    assert post["headers"]["x-amz-sns-subscription-arn"] == sub
    note = json.loads(post["body"])
    assert (note["Type"], note["Message"], note["Subject"], note["MessageId"]) == (
        "Notification",
        "hello http",
        "Hi",
        message_id,
    )
    assert not [p for p in endpoint.posts if "too early" in p["body"]]


def test_http_failures_are_retried_then_dead_lettered(sns, sqs, endpoint):
    endpoint.status = 500
    topic = new_topic(sns)
    dlq_url, dlq_arn = new_queue(sqs, "dlq")
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
    token = json.loads(endpoint.wait_for("SubscriptionConfirmation")[0]["body"])["Token"]
    sub = sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="RedrivePolicy", AttributeValue=json.dumps({"deadLetterTargetArn": dlq_arn})
    )
    message_id = sns.publish(TopicArn=topic, Message="will fail")["MessageId"]
    # The first attempt and three retries (1 s, 2 s, 4 s apart), then the queue.
    [dead] = receive(sqs, dlq_url, timeout=30)
    assert json.loads(dead["Body"])["MessageId"] == message_id
    assert len(endpoint.wait_for("Notification", count=4)) == 4


def test_eventbridge_target_publishes_to_the_topic(server, sns, sqs):
    events = server.client("events")
    topic = new_topic(sns)
    url, queue_arn = new_queue(sqs)
    subscribe_queue(sns, topic, queue_arn, RawMessageDelivery="true")
    source = unique("sns.test")
    rule = unique("to-sns")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "topic", "Arn": topic}])
    events.put_events(Entries=[{"Source": source, "DetailType": "t", "Detail": json.dumps({"n": 1})}])
    [msg] = receive(sqs, url, timeout=30)
    event = json.loads(msg["Body"])
    assert (event["source"], event["detail"]) == (source, {"n": 1})


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_topics_belong_to_their_region(server, sns):
    topic = new_topic(sns)
    other = server.client("sns", region="eu-west-1")
    for call in (
        lambda: other.publish(TopicArn=topic, Message="m"),
        lambda: other.get_topic_attributes(TopicArn=topic),
        lambda: other.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:eu-west-1:000000000000:q"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert (error_code(exc), error_message(exc)) == ("InvalidParameter", "Invalid parameter: TopicArn")
    assert topic not in [t["TopicArn"] for t in other.list_topics()["Topics"]]


def test_bad_input(server, sns, sqs):
    for name in ["", "has space", "x" * 257, "dots.not.allowed"]:
        with pytest.raises(ClientError) as exc:
            sns.create_topic(Name=name)
        assert error_code(exc) == "InvalidParameter", name
        assert http_status(exc) == 400

    missing = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{unique('missing')}"
    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn=missing, Message="m")
    assert (error_code(exc), http_status(exc)) == ("NotFound", 404)
    assert code_of(sns.subscribe, TopicArn=missing, Protocol="sqs", Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:q") == (
        "NotFound"
    )
    assert code_of(sns.list_subscriptions_by_topic, TopicArn=missing) == "NotFound"

    topic = new_topic(sns)
    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn=topic, Message="x" * (256 * 1024 + 1))
    assert error_code(exc) == "InvalidParameter"
    assert "too long" in error_message(exc)
    assert sns.publish(TopicArn=topic, Message="x" * (256 * 1024))["MessageId"]
    assert code_of(sns.publish, TopicArn=topic, Message="") == "InvalidParameter"
    assert (
        code_of(
            sns.publish,
            TopicArn=topic,
            Message="m",
            MessageAttributes={"n": {"DataType": "Number", "StringValue": "not a number"}},
        )
        == "ParameterValueInvalid"
    )

    _, queue_arn = new_queue(sqs)
    with pytest.raises(ClientError) as exc:
        sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"FilterPolicy": '{"color": "blue"}'}
        )
    assert error_code(exc) == "InvalidParameter"
    assert error_message(exc).startswith("Invalid parameter: FilterPolicy:")
    assert code_of(sns.subscribe, TopicArn=topic, Protocol="sqs", Endpoint="not-an-arn") == "InvalidParameter"
    with pytest.raises(ClientError) as exc:
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="someone@example.com")
    assert error_code(exc) == "InvalidParameter"
    assert "Eddy cannot deliver to email" in error_message(exc)
    assert code_of(sns.subscribe, TopicArn=topic, Protocol="https", Endpoint="http://example.com/") == "InvalidParameter"
    with pytest.raises(ClientError) as exc:
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"FilterPolicyScope": "Elsewhere"},
        )
    assert error_code(exc) == "InvalidParameter"

    # Subscribing again with the same attributes answers the same subscription.
    first = subscribe_queue(sns, topic, queue_arn)
    assert subscribe_queue(sns, topic, queue_arn) == first
    assert code_of(sns.subscribe, TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}) == (
        "InvalidParameter"
    )

    with pytest.raises(ClientError) as exc:
        sns.list_platform_applications()
    assert error_code(exc) == "InvalidAction"
    assert http_status(exc) == 400
    assert "Eddy does not implement" in error_message(exc)


# --------------------------------------------------------------------------
# Durability
# --------------------------------------------------------------------------


def test_topics_and_subscriptions_survive_kill9(fresh_server):
    srv = fresh_server()
    sns, sqs = srv.client("sns"), srv.client("sqs")
    topic = sns.create_topic(Name="durable", Attributes={"DisplayName": "Durable"}, Tags=[{"Key": "k", "Value": "v"}])[
        "TopicArn"
    ]
    url = sqs.create_queue(QueueName="durable-q")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:durable-q"
    sub = subscribe_queue(sns, topic, queue_arn, FilterPolicy=json.dumps({"color": ["blue"]}))
    srv.kill9()

    srv.start()
    sns, sqs = srv.client("sns"), srv.client("sqs")
    assert topic in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["DisplayName"] == "Durable"
    assert sns.list_tags_for_resource(ResourceArn=topic)["Tags"] == [{"Key": "k", "Value": "v"}]
    [listed] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert listed["SubscriptionArn"] == sub
    assert json.loads(sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["FilterPolicy"]) == {
        "color": ["blue"]
    }
    url = sqs.get_queue_url(QueueName="durable-q")["QueueUrl"]
    sns.publish(TopicArn=topic, Message="red", MessageAttributes={"color": {"DataType": "String", "StringValue": "red"}})
    sns.publish(TopicArn=topic, Message="blue", MessageAttributes={"color": {"DataType": "String", "StringValue": "blue"}})
    [msg] = receive(sqs, url)
    body = json.loads(msg["Body"])
    assert body["Message"] == "blue"
    # The URLs a message names follow the server's new address.
    assert body["UnsubscribeURL"].startswith(srv.url + "/")
