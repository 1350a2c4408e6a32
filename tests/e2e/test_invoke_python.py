"""Synchronous invocation of python3.x functions: environment reuse, the
context object, environment variables, error shapes, timeouts, crashes,
log tails, versions and aliases, concurrency and memory limits, and the
AWS SDK inside a function."""

import base64
import concurrent.futures
import json
import os
import sysconfig
import time

import pytest
from botocore.exceptions import ClientError

from conftest import (
    create_function,
    error_code,
    http_status,
    invoke,
    unique,
    wait_until,
    wait_updated,
    zip_files,
)

ECHO = """
import os
import time

COUNT = 0


def handler(event, context):
    global COUNT
    COUNT += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"event": event, "count": COUNT, "pid": os.getpid()}
"""

CONTEXT = """
import os


def handler(event, context):
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "environ": dict(os.environ),
    }
"""


def test_environment_is_reused(lambda_client):
    name = unique("py-reuse")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": ECHO})
    bodies = [invoke(lambda_client, name, {"i": i})[1] for i in range(3)]
    assert [b["count"] for b in bodies] == [1, 2, 3], f"module code should run once per environment: {bodies}"
    assert len({b["pid"] for b in bodies}) == 1, f"sequential invokes should reuse one process: {bodies}"
    assert [b["event"] for b in bodies] == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_context_object(lambda_client):
    name = unique("py-ctx")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": CONTEXT}, Timeout=7, MemorySize=256)
    resp, body = invoke(lambda_client, name, {})
    assert "FunctionError" not in resp, body
    assert body["function_name"] == name
    assert body["function_version"] == "$LATEST"
    assert int(body["memory_limit_in_mb"]) == 256
    assert len(body["aws_request_id"]) >= 32, body["aws_request_id"]
    assert body["aws_request_id"] == resp["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid"), (
        "the context's request id should be the invoke's x-amzn-RequestId"
    )
    assert body["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert body["log_group_name"] == f"/aws/lambda/{name}"
    assert 0 < body["remaining"] <= 7000, f"remaining time should be within the 7 s timeout: {body['remaining']}"


def test_lambda_environment_variables(server, lambda_client):
    name = unique("py-env")
    create_function(
        lambda_client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": CONTEXT},
        Environment={"Variables": {"GREETING": "hola", "EMPTYISH": "x"}},
    )
    resp, body = invoke(lambda_client, name, {})
    env = body["environ"]
    expected = {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_REGION": "us-east-1",
        "_HANDLER": "app.handler",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "GREETING": "hola",
        "EMPTYISH": "x",
    }
    for key, value in expected.items():
        assert env.get(key) == value, f"os.environ[{key!r}] should be {value!r}, got {env.get(key)!r}"
    for key in ("LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_EXECUTION_ENV", "AWS_ENDPOINT_URL"):
        assert env.get(key), f"os.environ[{key!r}] should be set, environ: {sorted(env)}"
    assert env["AWS_EXECUTION_ENV"].startswith("AWS_Lambda_python"), env["AWS_EXECUTION_ENV"]
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == body["log_stream_name"]
    assert env["AWS_ENDPOINT_URL"].rstrip("/") == server.url, (
        f"AWS_ENDPOINT_URL should point at Eddy ({server.url}), got {env['AWS_ENDPOINT_URL']}"
    )


def test_unhandled_exception(lambda_client):
    name = unique("py-raise")
    code = "def handler(event, context):\n    raise ValueError('boom')\n"
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": code})
    resp, body = invoke(lambda_client, name, {})
    assert resp["StatusCode"] == 200, "function errors still return 200"
    assert resp.get("FunctionError") == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "boom"
    assert isinstance(body.get("stackTrace"), list) and body["stackTrace"], body


def test_import_error(lambda_client):
    name = unique("py-import")
    code = "import definitely_not_a_module_xyz\n\ndef handler(event, context):\n    return 1\n"
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": code})
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), f"import failure must be a function error: {body}"
    assert body["errorType"] == "Runtime.ImportModuleError", body


def test_missing_handler(lambda_client):
    name = unique("py-nohandler")
    create_function(lambda_client, name, "python3.12", "app.not_there", {"app.py": "X = 1\n"})
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), body
    assert body["errorType"] == "Runtime.HandlerNotFound", body


def test_timeout_then_recovery(lambda_client):
    name = unique("py-timeout")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": ECHO}, Timeout=1)
    _, first = invoke(lambda_client, name, {"sleep": 0})
    started = time.monotonic()
    resp, body = invoke(lambda_client, name, {"sleep": 3})
    elapsed = time.monotonic() - started
    assert resp.get("FunctionError"), f"a timed-out invoke must report FunctionError: {body}"
    assert "Task timed out after 1.00 seconds" in body.get("errorMessage", ""), body
    assert elapsed < 2.9, f"the invoke should end at the 1 s timeout, took {elapsed:.2f}s"

    resp, after = invoke(lambda_client, name, {"sleep": 0})
    assert "FunctionError" not in resp, after
    assert after["pid"] != first["pid"], "a timed-out environment must be replaced by a new one"
    assert after["count"] == 1


def test_exit_is_runtime_exit_error(lambda_client):
    name = unique("py-exit")
    code = (
        "import os\n\n"
        "def handler(event, context):\n"
        "    if event.get('exit'):\n"
        "        os._exit(3)\n"
        "    return {'pid': os.getpid()}\n"
    )
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": code})
    resp, body = invoke(lambda_client, name, {"exit": True})
    assert resp.get("FunctionError"), body
    assert body["errorType"] == "Runtime.ExitError", body
    resp, body = invoke(lambda_client, name, {})
    assert "FunctionError" not in resp, f"the invoke after a crash must work: {body}"
    assert body["pid"] > 0


def test_log_tail(lambda_client):
    name = unique("py-tail")
    code = "def handler(event, context):\n    print('tail-marker-42')\n    return 'ok'\n"
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": code})
    resp, body = invoke(lambda_client, name, {}, LogType="Tail")
    assert body == "ok"
    log = base64.b64decode(resp["LogResult"]).decode()
    for needle in ("tail-marker-42", "START RequestId", "END RequestId", "REPORT RequestId"):
        assert needle in log, f"LogResult lacks {needle!r}:\n{log}"
    assert log.index("START RequestId") < log.index("tail-marker-42") < log.index("END RequestId")


def test_unserialisable_result(lambda_client):
    name = unique("py-marshal")
    code = "import datetime\n\ndef handler(event, context):\n    return datetime.datetime.now()\n"
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": code})
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), body
    assert body["errorType"] == "Runtime.MarshalError", body


def test_none_result_and_unicode(lambda_client):
    name = unique("py-none")
    code = "def handler(event, context):\n    return None if event.get('none') else event\n"
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": code})
    resp = lambda_client.invoke(FunctionName=name, Payload=b'{"none": true}')
    assert resp["Payload"].read() == b"null"
    text = {"s": "h\u00e9llo \u2713 \U0001F680"}
    assert invoke(lambda_client, name, text)[1] == text


def test_client_context(lambda_client):
    name = unique("py-cc")
    code = "def handler(event, context):\n    return context.client_context.custom\n"
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": code})
    encoded = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    resp, body = invoke(lambda_client, name, {}, ClientContext=encoded)
    assert body == {"k": "v"}, body


@pytest.mark.parametrize(
    "handler,files",
    [
        ("pkg/mod.handler", {"pkg/mod.py": "def handler(e, c):\n    return 'nested'\n"}),
        ("pkg.mod.handler", {"pkg/__init__.py": "", "pkg/mod.py": "def handler(e, c):\n    return 'nested'\n"}),
    ],
    ids=["slash", "dotted"],
)
def test_handler_in_subdirectory(lambda_client, handler, files):
    name = unique("py-nested")
    create_function(lambda_client, name, "python3.12", handler, files)
    resp, body = invoke(lambda_client, name, {})
    assert body == "nested", body


def test_response_too_large(lambda_client):
    name = unique("py-bigresp")
    code = "def handler(event, context):\n    return 'x' * (7 * 1024 * 1024)\n"
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": code})
    resp, body = invoke(lambda_client, name, {})
    assert resp["StatusCode"] == 200
    assert resp.get("FunctionError"), "a response over 6 MB must be a function error"
    assert body["errorType"] == "Function.ResponseSizeTooLarge", body


def test_configuration_update_reaches_the_function(lambda_client):
    name = unique("py-envupd")
    create_function(
        lambda_client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": CONTEXT},
        Environment={"Variables": {"COLOR": "red"}},
    )
    assert invoke(lambda_client, name, {})[1]["environ"]["COLOR"] == "red"
    lambda_client.update_function_configuration(FunctionName=name, Environment={"Variables": {"COLOR": "blue"}})
    wait_updated(lambda_client, name)
    # Warm environments hold the old variables, so they must be replaced.
    assert invoke(lambda_client, name, {})[1]["environ"]["COLOR"] == "blue"


def test_versions_aliases_and_code_updates(lambda_client):
    name = unique("py-ver")
    v1_code = ECHO.replace('"count": COUNT', '"code": "v1", "count": COUNT')
    v2_code = ECHO.replace('"count": COUNT', '"code": "v2", "count": COUNT')
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": v1_code})
    lambda_client.publish_version(FunctionName=name)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")

    resp, latest_before = invoke(lambda_client, name, {})
    assert resp["ExecutedVersion"] == "$LATEST"
    assert latest_before["code"] == "v1"

    lambda_client.update_function_code(FunctionName=name, ZipFile=zip_files({"app.py": v2_code}))
    wait_updated(lambda_client, name)

    resp, body = invoke(lambda_client, name, {}, Qualifier="1")
    assert resp["ExecutedVersion"] == "1"
    assert body["code"] == "v1", "version 1 must keep running the code it was published with"

    resp, body = invoke(lambda_client, name, {}, Qualifier="live")
    assert resp["ExecutedVersion"] == "1", "an alias reports the version it resolved to"
    assert body["code"] == "v1"

    resp, latest_after = invoke(lambda_client, name, {})
    assert resp["ExecutedVersion"] == "$LATEST"
    assert latest_after["code"] == "v2"
    assert latest_after["pid"] != latest_before["pid"], "updating code must retire the old $LATEST environments"

    resp, body = invoke(lambda_client, name, {}, Qualifier="$LATEST")
    assert resp["ExecutedVersion"] == "$LATEST"
    assert body["code"] == "v2"


PARALLEL = """
import os
import time


def handler(event, context):
    start = time.time()
    time.sleep(0.5)
    return {"i": event["i"], "pid": os.getpid(), "start": start, "end": time.time()}
"""


def test_parallel_invocations(lambda_client):
    name = unique("py-par")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": PARALLEL}, Timeout=30)

    def call(i):
        return invoke(lambda_client, name, {"i": i})

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(8)))
    elapsed = time.monotonic() - started
    for resp, body in results:
        assert "FunctionError" not in resp, body
    bodies = [body for _, body in results]
    assert sorted(b["i"] for b in bodies) == list(range(8))
    assert len({b["pid"] for b in bodies}) > 1, "concurrent invokes should be spread over several environments"
    # The handlers' own clocks prove overlap independently of host load...
    peak = max(sum(1 for o in bodies if o["start"] <= b["start"] < o["end"]) for b in bodies)
    assert peak >= 4, f"at most {peak} of 8 invocations ran at the same time"
    # ...and the whole batch must beat running them one by one (8 x 0.5 s).
    assert elapsed < 3.5, f"8 concurrent 0.5 s invokes took {elapsed:.2f}s; they look serialised"


SLOW_WITH_MARKER = """
import os
import time


def handler(event, context):
    open(os.path.join(os.environ["OUT_DIR"], event["id"]), "w").close()
    time.sleep(event.get("sleep", 0))
    return {"id": event["id"]}
"""


def test_reserved_concurrency_throttles(lambda_client, tmp_path):
    name = unique("py-rc1")
    create_function(
        lambda_client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": SLOW_WITH_MARKER},
        Timeout=30,
        Environment={"Variables": {"OUT_DIR": str(tmp_path)}},
    )
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(invoke, lambda_client, name, {"id": "first", "sleep": 3})
        # Only once the first invoke is really running is the slot taken.
        wait_until(lambda: (tmp_path / "first").exists(), timeout=20, message="first invoke never started")
        with pytest.raises(ClientError) as exc:
            invoke(lambda_client, name, {"id": "second"})
        assert error_code(exc) == "TooManyRequestsException", exc.value.response["Error"]
        assert http_status(exc) == 429
        resp, body = slow.result(timeout=60)
    assert "FunctionError" not in resp, body
    assert body == {"id": "first"}
    assert not (tmp_path / "second").exists(), "the throttled invoke must not have run"


def test_reserved_concurrency_serialises_async_events(lambda_client, tmp_path):
    # With one reserved slot, queued events run one after another.
    name = unique("py-rc-async")
    code = """
import os
import time


def handler(event, context):
    start = time.time()
    time.sleep(0.3)
    with open(os.path.join(os.environ["OUT_DIR"], event["id"]), "w") as fh:
        fh.write(f"{start} {time.time()}")
"""
    create_function(
        lambda_client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": code},
        Environment={"Variables": {"OUT_DIR": str(tmp_path)}},
    )
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    ids = [f"e{i}" for i in range(4)]
    for event_id in ids:
        invoke(lambda_client, name, {"id": event_id}, InvocationType="Event")
    wait_until(lambda: all((tmp_path / i).exists() for i in ids), timeout=60, message="queued events never all ran")
    spans = sorted(tuple(map(float, (tmp_path / i).read_text().split())) for i in ids)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start >= end - 0.01, f"events overlapped despite ReservedConcurrentExecutions=1: {spans}"


def test_account_concurrency_limit(fresh_server, tmp_path):
    srv = fresh_server(flags=["--async-retry-base-delay-ms", "200", "--account-concurrency", "2"])
    client = srv.client("lambda")
    names = [unique("py-acct") for _ in range(3)]
    for name in names:
        create_function(
            client,
            name,
            "python3.12",
            "app.handler",
            {"app.py": SLOW_WITH_MARKER},
            Timeout=30,
            Environment={"Variables": {"OUT_DIR": str(tmp_path)}},
        )
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        running = [pool.submit(invoke, client, names[i], {"id": f"run{i}", "sleep": 3}) for i in range(2)]
        wait_until(
            lambda: (tmp_path / "run0").exists() and (tmp_path / "run1").exists(),
            timeout=20,
            message="the first two invokes never started",
        )
        # The limit is for the whole account, so a third function is throttled too.
        with pytest.raises(ClientError) as exc:
            invoke(client, names[2], {"id": "third"})
        assert error_code(exc) == "TooManyRequestsException", exc.value.response["Error"]
        assert http_status(exc) == 429
        for future in running:
            resp, body = future.result(timeout=60)
            assert "FunctionError" not in resp, body


def test_reserved_concurrency_zero(lambda_client):
    name = unique("py-rc0")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": ECHO})
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    for _ in range(2):
        with pytest.raises(ClientError) as exc:
            invoke(lambda_client, name, {})
        assert error_code(exc) == "TooManyRequestsException", exc.value.response["Error"]
        assert http_status(exc) == 429
    lambda_client.delete_function_concurrency(FunctionName=name)
    resp, body = invoke(lambda_client, name, {})
    assert "FunctionError" not in resp, body


def _host_has_memory_cgroup() -> bool:
    """Whether a memory cgroup could be created here (v1 or v2 hierarchy)."""
    v1 = "/sys/fs/cgroup/memory"
    if os.path.isdir(v1):
        return os.access(v1, os.W_OK)
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as fh:
            controllers = fh.read().split()
    except OSError:
        return False
    return "memory" in controllers and os.access("/sys/fs/cgroup", os.W_OK)


def test_memory_limit(server, lambda_client):
    name = unique("py-oom")
    code = (
        "def handler(event, context):\n"
        "    block = bytearray(400 * 1024 * 1024)\n"
        "    for i in range(0, len(block), 4096):\n"
        "        block[i] = 1\n"
        "    return len(block)\n"
    )
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": code}, MemorySize=128, Timeout=60)
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), f"allocating 400 MB in a 128 MB function must fail, got {body!r}"
    # Runtime.OutOfMemory needs a memory cgroup, which not every host lets
    # the server create; without one any function error is acceptable.
    if _host_has_memory_cgroup():
        assert isinstance(body, dict) and body.get("errorType") == "Runtime.OutOfMemory", body
    assert server.alive(), f"eddy died\n--- log ---\n{server.log()}"
    assert server.health()["status"] == "ok"


def test_function_uses_boto3_against_eddy(fresh_server):
    # The function's SDK comes from this venv; AWS_ENDPOINT_URL in the
    # environment routes its calls back to Eddy.
    purelib = sysconfig.get_paths()["purelib"]
    srv = fresh_server(flags=["--async-retry-base-delay-ms", "200", "--python-sdk-path", purelib])
    client = srv.client("lambda")
    other = unique("py-sdk-other")
    create_function(client, other, "python3.12", "app.handler", {"app.py": ECHO})
    name = unique("py-sdk")
    code = (
        "import boto3\n\n"
        "def handler(event, context):\n"
        "    names = [f['FunctionName'] for f in boto3.client('lambda').list_functions()['Functions']]\n"
        "    return sorted(names)\n"
    )
    create_function(client, name, "python3.12", "app.handler", {"app.py": code}, Timeout=30)
    resp, body = invoke(client, name, {})
    assert "FunctionError" not in resp, f"boto3 inside the function failed: {body}"
    assert body == sorted([name, other])
