"""S3 event notifications to Lambda functions: the event record S3 sends
(fields, URL-encoded keys, sequencers), prefix/suffix filters, the event
names of put, copy, multipart completion and delete, configuration round
trips and validation, retries and OnFailure destinations of a failing
function, delivery after kill -9, and one event per object for `aws s3 sync`.

Functions run on this machine and append every event they receive to a file
under the test's tmp dir (recorder.py), one JSON document per line, so the
test sees exactly what was delivered and how often."""

import hashlib
import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, aws, error_code, function_arn, http_status, unique, wait_until
from recorder import make_recorder, read_events

MiB = 1024 * 1024
RECORDER_PREFIX = "s3-recorder"


def read_records(path: Path) -> list[dict]:
    return [record for event in read_events(path) for record in event.get("Records", [])]


def keys_seen(path: Path) -> list[str]:
    return [r["s3"]["object"]["key"] for r in read_records(path)]


def wait_for_key(path: Path, key: str, timeout: float = 60) -> dict:
    """The first record for `key` (as encoded in events)."""

    def find():
        return next((r for r in read_records(path) if r["s3"]["object"]["key"] == key), None)

    return wait_until(find, timeout=timeout, interval=0.1, message=lambda: f"no event for {key!r}; got {keys_seen(path)}")


def lambda_config(name: str, events: list[str], prefix: str | None = None, suffix: str | None = None, config_id: str | None = None) -> dict:
    config: dict = {"LambdaFunctionArn": function_arn(name), "Events": events}
    rules = []
    if prefix is not None:
        rules.append({"Name": "prefix", "Value": prefix})
    if suffix is not None:
        rules.append({"Name": "suffix", "Value": suffix})
    if rules:
        config["Filter"] = {"Key": {"FilterRules": rules}}
    if config_id:
        config["Id"] = config_id
    return config


@pytest.fixture(scope="module")
def s3(server):
    return server.client("s3")


@pytest.fixture
def bucket(s3) -> str:
    name = unique("notify")
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def jpg_bucket(s3, bucket, recorder) -> str:
    """A bucket that notifies `recorder` of created objects under in/*.jpg."""
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [lambda_config(recorder, ["s3:ObjectCreated:*"], "in/", ".jpg", "jpg-created")]
        },
    )
    return bucket


def test_put_invokes_function_with_s3_record(s3, jpg_bucket, out_file):
    data = b"\xff\xd8 not really a jpeg"
    s3.put_object(Bucket=jpg_bucket, Key="in/a b.jpg", Body=data)
    # S3 URL-encodes keys in events the way HTML forms do: space -> "+".
    record = wait_for_key(out_file, "in/a+b.jpg")

    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["awsRegion"] == REGION
    assert record["eventTime"].endswith("Z") and "T" in record["eventTime"], record["eventTime"]
    for field in ("userIdentity", "requestParameters", "responseElements"):
        assert field in record, f"record lacks {field}: {record}"
    s3info = record["s3"]
    assert s3info["s3SchemaVersion"] == "1.0"
    assert s3info["configurationId"] == "jpg-created"
    assert s3info["bucket"]["name"] == jpg_bucket
    assert s3info["bucket"]["arn"] == f"arn:aws:s3:::{jpg_bucket}"
    obj = s3info["object"]
    assert obj["key"] == "in/a+b.jpg"
    assert obj["size"] == len(data)
    assert obj["eTag"] == hashlib.md5(data).hexdigest()
    first_sequencer = obj["sequencer"]
    int(first_sequencer, 16)  # a hex string

    events = read_events(out_file)
    assert len(events) == 1, f"one put, one invocation; got {len(events)}"
    assert len(events[0]["Records"]) == 1

    # A later write of the same key has a greater sequencer. AWS: compare
    # after left-padding the shorter with zeros, i.e. as hex numbers.
    s3.put_object(Bucket=jpg_bucket, Key="in/a b.jpg", Body=b"second version")
    wait_until(lambda: len(read_records(out_file)) >= 2, timeout=60, message="second write was not notified")
    second = read_records(out_file)[1]
    assert second["s3"]["object"]["eTag"] == hashlib.md5(b"second version").hexdigest()
    assert int(second["s3"]["object"]["sequencer"], 16) > int(first_sequencer, 16), (first_sequencer, second["s3"]["object"]["sequencer"])


def test_keys_outside_filter_do_not_invoke(s3, jpg_bucket, out_file):
    for key in ("out/x.jpg", "in/x.png", "in/x.JPG", "x.jpg", "in.jpg", "in/x.jpg.bak"):
        s3.put_object(Bucket=jpg_bucket, Key=key, Body=b"x")
    # A matching put made after them: once its event is in, the others
    # would have been too if they had been going to arrive.
    s3.put_object(Bucket=jpg_bucket, Key="in/last.jpg", Body=b"x")
    wait_for_key(out_file, "in/last.jpg")
    assert keys_seen(out_file) == ["in/last.jpg"]


def test_unicode_and_special_key_encoding(s3, jpg_bucket, out_file):
    # Keys are URL-encoded in events (spaces as "+", non-ASCII as UTF-8
    # percent escapes). Unsure whether AWS escapes every reserved character
    # the same way, so the check is that decoding gives the key back.
    import urllib.parse

    key = "in/ünï cödé+plus&amp=eq.jpg"
    s3.put_object(Bucket=jpg_bucket, Key=key, Body=b"x")
    wait_until(lambda: read_records(out_file), timeout=60, message="no event")
    encoded = read_records(out_file)[0]["s3"]["object"]["key"]
    assert " " not in encoded and "ü" not in encoded, encoded
    assert urllib.parse.unquote_plus(encoded) == key


def test_copy_event(s3, jpg_bucket, out_file):
    s3.put_object(Bucket=jpg_bucket, Key="src/original.jpg", Body=b"image")  # outside the filter
    s3.copy_object(Bucket=jpg_bucket, Key="in/copy.jpg", CopySource={"Bucket": jpg_bucket, "Key": "src/original.jpg"})
    record = wait_for_key(out_file, "in/copy.jpg")
    assert record["eventName"] == "ObjectCreated:Copy"
    assert record["s3"]["object"]["size"] == len(b"image")
    assert record["s3"]["object"]["eTag"] == hashlib.md5(b"image").hexdigest()


def test_multipart_completion_is_one_event(s3, jpg_bucket, out_file):
    parts = [os.urandom(5 * MiB), b"tail"]
    upload_id = s3.create_multipart_upload(Bucket=jpg_bucket, Key="in/multi.jpg")["UploadId"]
    done = []
    for number, data in enumerate(parts, start=1):
        etag = s3.upload_part(Bucket=jpg_bucket, Key="in/multi.jpg", UploadId=upload_id, PartNumber=number, Body=data)["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    completed = s3.complete_multipart_upload(Bucket=jpg_bucket, Key="in/multi.jpg", UploadId=upload_id, MultipartUpload={"Parts": done})

    record = wait_for_key(out_file, "in/multi.jpg")
    assert record["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert record["s3"]["object"]["size"] == sum(map(len, parts))
    assert record["s3"]["object"]["eTag"] == completed["ETag"].strip('"')

    # A later event marks the point by which any per-part events would be in.
    s3.put_object(Bucket=jpg_bucket, Key="in/marker.jpg", Body=b"m")
    wait_for_key(out_file, "in/marker.jpg")
    assert keys_seen(out_file).count("in/multi.jpg") == 1, keys_seen(out_file)


def test_delete_event(s3, bucket, recorder, out_file):
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [lambda_config(recorder, ["s3:ObjectRemoved:*"], config_id="removed")]
        },
    )
    s3.put_object(Bucket=bucket, Key="doomed.txt", Body=b"bye")
    s3.delete_object(Bucket=bucket, Key="doomed.txt")
    record = wait_for_key(out_file, "doomed.txt")
    assert record["eventName"] == "ObjectRemoved:Delete"
    assert record["s3"]["configurationId"] == "removed"
    int(record["s3"]["object"]["sequencer"], 16)
    # Only the delete was subscribed to: the put produced nothing.
    assert [r["eventName"] for r in read_records(out_file)] == ["ObjectRemoved:Delete"]

    # DeleteObjects produces one event per deleted key.
    for key in ("batch/1", "batch/2"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "batch/1"}, {"Key": "batch/2"}]})
    wait_for_key(out_file, "batch/1")
    wait_for_key(out_file, "batch/2")


def test_configuration_round_trip(s3, bucket, recorder):
    configs = [
        lambda_config(recorder, ["s3:ObjectCreated:*"], "in/", ".jpg", "created-jpg"),
        lambda_config(recorder, ["s3:ObjectRemoved:Delete"], "in/", config_id="removed"),
    ]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": configs})
    got = s3.get_bucket_notification_configuration(Bucket=bucket)["LambdaFunctionConfigurations"]
    by_id = {c["Id"]: c for c in got}
    assert set(by_id) == {"created-jpg", "removed"}
    for want in configs:
        have = by_id[want["Id"]]
        assert have["LambdaFunctionArn"] == want["LambdaFunctionArn"]
        assert have["Events"] == want["Events"]
        # S3 returns filter rule names capitalised ("Prefix"); compare
        # without case since that detail is not what users rely on.
        want_rules = {(r["Name"].lower(), r["Value"]) for r in want.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
        have_rules = {(r["Name"].lower(), r["Value"]) for r in have.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
        assert have_rules == want_rules

    # Without an Id, S3 makes one up.
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": [lambda_config(recorder, ["s3:ObjectCreated:Put"])]}
    )
    got = s3.get_bucket_notification_configuration(Bucket=bucket)["LambdaFunctionConfigurations"]
    assert len(got) == 1 and got[0].get("Id"), got

    # An empty configuration removes notifications.
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    assert not s3.get_bucket_notification_configuration(Bucket=bucket).get("LambdaFunctionConfigurations")


def test_overlapping_configurations_are_rejected(s3, bucket, recorder):
    overlapping = [
        lambda_config(recorder, ["s3:ObjectCreated:*"], "in/", config_id="one"),
        lambda_config(recorder, ["s3:ObjectCreated:Put"], "in/sub/", config_id="two"),
    ]
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": overlapping})
    assert error_code(exc) == "InvalidArgument"
    assert http_status(exc) == 400

    # Disjoint prefixes with the same event types are fine.
    disjoint = [
        lambda_config(recorder, ["s3:ObjectCreated:*"], "a/", config_id="a"),
        lambda_config(recorder, ["s3:ObjectCreated:*"], "b/", config_id="b"),
    ]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": disjoint})


def test_unknown_event_name_is_rejected(s3, bucket, recorder):
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={"LambdaFunctionConfigurations": [lambda_config(recorder, ["s3:ObjectExploded:*"])]},
        )
    # AWS answers 400 "The event is not supported for notifications"; the
    # code is InvalidArgument as far as we know (not verified against AWS).
    assert http_status(exc) == 400
    assert error_code(exc) == "InvalidArgument"


def test_unknown_function_is_rejected(s3, bucket):
    # S3 validates destinations when the configuration is put.
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={"LambdaFunctionConfigurations": [lambda_config(unique("nope"), ["s3:ObjectCreated:*"])]},
        )
    assert http_status(exc) == 400
    assert error_code(exc) == "InvalidArgument"


def test_failing_function_is_retried_then_sent_to_on_failure(s3, lambda_client, bucket, tmp_path):
    attempts_file = tmp_path / "attempts.jsonl"
    failures_file = tmp_path / "failures.jsonl"
    failing = make_recorder(lambda_client, attempts_file, RECORDER_PREFIX, FAIL="1")
    destination = make_recorder(lambda_client, failures_file, RECORDER_PREFIX)
    lambda_client.put_function_event_invoke_config(
        FunctionName=failing,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": function_arn(destination)}},
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": [lambda_config(failing, ["s3:ObjectCreated:*"])]}
    )
    s3.put_object(Bucket=bucket, Key="will-fail", Body=b"x")

    wait_until(lambda: read_events(failures_file), timeout=60, message="OnFailure destination never received a record")
    record = read_events(failures_file)[0]
    assert record["requestContext"]["condition"] == "RetriesExhausted", record
    assert record["requestContext"]["approximateInvokeCount"] == 2, record
    s3_record = record["requestPayload"]["Records"][0]
    assert s3_record["eventName"] == "ObjectCreated:Put"
    assert s3_record["s3"]["object"]["key"] == "will-fail"
    # One attempt plus MaximumRetryAttempts=1 retry.
    assert keys_seen(attempts_file) == ["will-fail", "will-fail"]


def test_events_survive_kill9(fresh_server, tmp_path):
    srv = fresh_server()
    s3 = srv.client("s3")
    lam = srv.client("lambda")
    out = tmp_path / "durable.jsonl"
    name = make_recorder(lam, out, RECORDER_PREFIX)
    bucket = unique("notify-durable")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": [lambda_config(name, ["s3:ObjectCreated:*"])]}
    )
    keys = [f"obj-{i}" for i in range(5)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    # Straight after the acknowledgements: the events must already be
    # recorded durably, since the writes were.
    srv.kill9()
    srv.restart()
    # At-least-once: every key shows up, duplicates are allowed.
    wait_until(
        lambda: set(keys) <= set(keys_seen(out)),
        timeout=90,
        message=lambda: f"events lost across kill -9; delivered {sorted(set(keys_seen(out)))}",
    )


def test_cli_sync_invokes_once_per_object(server, s3, bucket, recorder, out_file, tmp_path):
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": [lambda_config(recorder, ["s3:ObjectCreated:*"])]}
    )
    folder = tmp_path / "folder"
    folder.mkdir()
    names = [f"file-{i:02d}.txt" for i in range(20)]
    for name in names:
        (folder / name).write_text(f"content of {name}\n")
    code, out, err = aws(server, "s3", "sync", str(folder), f"s3://{bucket}/synced/")
    assert code == 0, f"aws s3 sync failed: {out}\n{err}"

    expected = {f"synced/{n}" for n in names}
    wait_until(
        lambda: set(keys_seen(out_file)) >= expected,
        timeout=120,
        message=lambda: f"missing events for {sorted(expected - set(keys_seen(out_file)))}",
    )
    seen = keys_seen(out_file)
    assert sorted(seen) == sorted(expected), "expected exactly one event per synced object"
    assert len(read_events(out_file)) == 20


def test_queue_and_topic_configurations_deliver(server, s3, bucket):
    import json

    sqs, sns = server.client("sqs"), server.client("sns")

    def new_queue():
        url = sqs.create_queue(QueueName=unique("s3-q"))["QueueUrl"]
        return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def bodies(url, count):
        got = []

        def more():
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                got.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return len(got) >= count

        wait_until(more, timeout=30, message=lambda: f"only {got}")
        return got

    direct_url, direct_arn = new_queue()
    fan_url, fan_arn = new_queue()
    topic = sns.create_topic(Name=unique("s3-t"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=fan_arn, Attributes={"RawMessageDelivery": "true"})
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"Id": "to-queue", "QueueArn": direct_arn, "Events": ["s3:ObjectCreated:*"]}],
            "TopicConfigurations": [{"Id": "to-topic", "TopicArn": topic, "Events": ["s3:ObjectRemoved:*"]}],
        },
    )
    # Each destination first gets S3's test event.
    [test_event] = bodies(direct_url, 1)
    assert test_event["Event"] == "s3:TestEvent" and test_event["Bucket"] == bucket
    assert bodies(fan_url, 1)[0]["Event"] == "s3:TestEvent"

    s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hi")
    [created] = bodies(direct_url, 1)
    r = created["Records"][0]
    assert (r["eventSource"], r["eventName"]) == ("aws:s3", "ObjectCreated:Put")
    assert r["s3"]["configurationId"] == "to-queue"
    assert r["s3"]["object"]["key"] == "a/b.txt" and r["s3"]["object"]["size"] == 2

    s3.delete_object(Bucket=bucket, Key="a/b.txt")
    [removed] = bodies(fan_url, 1)
    assert removed["Records"][0]["eventName"] == "ObjectRemoved:Delete"
    assert removed["Records"][0]["s3"]["configurationId"] == "to-topic"
