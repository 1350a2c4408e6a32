"""Drives SQS through a boto3 release that speaks the query protocol, against the
endpoint in argv[1]; prints one JSON document with what it saw, for the test to check.
Run with the interpreter of the venv built from requirements.txt beside this file."""

import json
import sys

import boto3
import botocore
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
sqs = boto3.client(
    "sqs", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id="test", aws_secret_access_key="test",
)
assert sqs.meta.service_model.protocol == "query", sqs.meta.service_model.protocol
out = {"botocore": botocore.__version__}

url = sqs.create_queue(QueueName="legacy", Attributes={"VisibilityTimeout": "45"}, tags={"team": "a"})["QueueUrl"]
out["url"] = url
out["attrs"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "QueueArn"])["Attributes"]
out["tags"] = sqs.list_queue_tags(QueueUrl=url)["Tags"]
sent = sqs.send_message(
    QueueUrl=url, MessageBody="hello <&> world",
    MessageAttributes={"color": {"DataType": "String", "StringValue": "blue"},
                       "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}},
)
out["sent"] = {k: sent[k] for k in ("MessageId", "MD5OfMessageBody", "MD5OfMessageAttributes")}
batch = sqs.send_message_batch(QueueUrl=url, Entries=[
    {"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "two"},
])
out["batch_ok"] = sorted(e["Id"] for e in batch.get("Successful", []))
try:
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "bad!", "MessageBody": "x"}])
except ClientError as e:
    out["batch_error"] = e.response["Error"]["Code"]
got = sqs.receive_message(
    QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=1,
)["Messages"]
out["received"] = [
    {"Body": m["Body"], "Attrs": sorted(m.get("Attributes", {})), "MD5OfBody": m["MD5OfBody"],
     "color": m.get("MessageAttributes", {}).get("color")}
    for m in got
]
for m in got:
    raw = m.get("MessageAttributes", {}).get("raw", {}).get("BinaryValue")
    if raw is not None:
        out["binary"] = list(raw)
deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
out["deleted"] = len(deleted.get("Successful", []))
out["urls"] = sqs.list_queues(QueueNamePrefix="leg")["QueueUrls"]
try:
    sqs.get_queue_url(QueueName="missing")
except ClientError as e:
    out["error"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
sqs.delete_queue(QueueUrl=url)
print(json.dumps(out))
