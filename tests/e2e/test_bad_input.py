"""Hostile and malformed input: each must be refused with the error AWS
would send, nothing may escape the data dir, and the server must keep
serving afterwards."""

import io
import zipfile

import pytest
from botocore.exceptions import ClientError

from conftest import create_function, error_code, http_status, invoke, unique, zip_files

GOOD_HANDLER = "def handler(event, context):\n    return {'ok': True, 'event': event}\n"


@pytest.fixture(scope="module")
def raw_client(server):
    # botocore checks some limits (Timeout >= 1, ...) before sending; the
    # point here is what the server does, so client-side validation is off.
    return server.client("lambda", parameter_validation=False)


@pytest.fixture(scope="module")
def good_function(raw_client):
    name = unique("bad-good")
    create_function(raw_client, name, "python3.12", "app.handler", {"app.py": GOOD_HANDLER})
    return name


def _create_error(client, name, zip_bytes=None, **kwargs):
    params = dict(
        FunctionName=name,
        Runtime="python3.12",
        Handler="app.handler",
        Role="arn:aws:iam::000000000000:role/lambda-role",
        Code={"ZipFile": zip_bytes if zip_bytes is not None else zip_files({"app.py": GOOD_HANDLER})},
    )
    params.update(kwargs)
    with pytest.raises(ClientError) as exc:
        client.create_function(**params)
    return exc


def test_invalid_function_name(raw_client):
    exc = _create_error(raw_client, "bad name!")
    # AWS answers pattern violations with ValidationException; some
    # emulators use InvalidParameterValueException. Either is a clean refusal.
    assert error_code(exc) in ("ValidationException", "InvalidParameterValueException"), exc.value.response["Error"]
    assert http_status(exc) == 400


def test_unknown_runtime(raw_client):
    exc = _create_error(raw_client, unique("bad-rt"), Runtime="cobol1")
    assert error_code(exc) == "InvalidParameterValueException", exc.value.response["Error"]


def test_not_a_zip(raw_client):
    exc = _create_error(raw_client, unique("bad-zip"), zip_bytes=b"this is definitely not a zip file" * 10)
    assert error_code(exc) == "InvalidParameterValueException", exc.value.response["Error"]


def _evil_files(root):
    """evil.py files that are not inside some function's own code directory."""
    found = []
    for path in root.rglob("evil.py"):
        rel = path.relative_to(root)
        dirs = rel.parts[:-1]
        # Accept only a sanitised copy inside a per-function code dir, at
        # least two levels down (e.g. data/code/<id>/evil.py).
        inside_code = len(dirs) >= 3 and any("code" in d for d in dirs[:-1])
        if not inside_code:
            found.append(path)
    return found


def test_zip_path_traversal(server, raw_client, good_function):
    exc = _create_error(
        raw_client,
        unique("bad-trav"),
        zip_bytes=zip_files({"app.py": GOOD_HANDLER, "../evil.py": "print('escaped')\n"}),
    )
    assert error_code(exc) == "InvalidParameterValueException", exc.value.response["Error"]
    escaped = _evil_files(server.root)
    assert not escaped, f"zip entry ../evil.py was written outside the code dir: {escaped}"
    # Functions created before are unaffected.
    resp, body = invoke(raw_client, good_function, {"n": 1})
    assert "FunctionError" not in resp, body
    assert body["ok"] is True


def test_zip_absolute_path(server, raw_client):
    exc = _create_error(
        raw_client,
        unique("bad-abs"),
        zip_bytes=zip_files({"app.py": GOOD_HANDLER, "/tmp/evil.py": "print('escaped')\n"}),
    )
    assert error_code(exc) == "InvalidParameterValueException", exc.value.response["Error"]


@pytest.fixture(scope="module")
def zip_bomb():
    """Three 100 MiB entries of zeros: ~300 MiB unzipped, a few hundred KiB zipped."""
    buf = io.BytesIO()
    chunk = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("app.py", GOOD_HANDLER)
        for i in range(3):
            with zf.open(f"zeros{i}.bin", "w", force_zip64=True) as fh:
                for _ in range(100):
                    fh.write(chunk)
    data = buf.getvalue()
    assert len(data) < 2 * 1024 * 1024
    return data


def test_zip_bomb_is_refused(server, raw_client, good_function, zip_bomb):
    exc = _create_error(raw_client, unique("bad-bomb"), zip_bytes=zip_bomb)
    assert error_code(exc) == "InvalidParameterValueException", exc.value.response["Error"]
    assert server.health()["status"] == "ok"
    resp, body = invoke(raw_client, good_function, {"n": 2})
    assert "FunctionError" not in resp, body


def test_zip_bomb_update_is_refused(raw_client, good_function, zip_bomb):
    with pytest.raises(ClientError) as exc:
        raw_client.update_function_code(FunctionName=good_function, ZipFile=zip_bomb)
    assert error_code(exc) == "InvalidParameterValueException", exc.value.response["Error"]
    # The old code stays in place.
    resp, body = invoke(raw_client, good_function, {"n": 3})
    assert "FunctionError" not in resp, body


@pytest.mark.parametrize("timeout", [0, 901])
def test_timeout_out_of_range(raw_client, timeout):
    exc = _create_error(raw_client, unique("bad-to"), Timeout=timeout)
    assert error_code(exc) in ("InvalidParameterValueException", "ValidationException"), exc.value.response["Error"]


INVALID = ("InvalidParameterValueException", "ValidationException")


@pytest.mark.parametrize(
    "overrides",
    [
        {"MemorySize": 127},
        {"MemorySize": 10241},
        {"Environment": {"Variables": {"BIG": "x" * 5000}}},
        {"Environment": {"Variables": {"AWS_REGION": "eu-west-1"}}},
        {"Role": "not-an-arn"},
        {"Handler": ""},
        {"FunctionName": "a" * 65},
    ],
    ids=["memory-low", "memory-high", "env-over-4kb", "env-reserved-key", "role", "empty-handler", "long-name"],
)
def test_invalid_configuration(raw_client, overrides):
    overrides = dict(overrides)  # parametrize values are shared between runs
    name = overrides.pop("FunctionName", unique("bad-conf"))
    exc = _create_error(raw_client, name, **overrides)
    assert error_code(exc) in INVALID, exc.value.response["Error"]
    assert http_status(exc) == 400


def test_invalid_invocation_type(raw_client, good_function):
    with pytest.raises(ClientError) as exc:
        raw_client.invoke(FunctionName=good_function, InvocationType="Sometimes", Payload=b"{}")
    assert error_code(exc) in INVALID, exc.value.response["Error"]


def test_invalid_event_invoke_config(raw_client, good_function):
    for params in ({"MaximumRetryAttempts": 3}, {"MaximumEventAgeInSeconds": 59}):
        with pytest.raises(ClientError) as exc:
            raw_client.put_function_event_invoke_config(FunctionName=good_function, **params)
        assert error_code(exc) in INVALID, (params, exc.value.response["Error"])


def test_version_and_alias_rules(raw_client):
    name = unique("bad-rules")
    create_function(raw_client, name, "python3.12", "app.handler", {"app.py": GOOD_HANDLER}, Publish=True)
    raw_client.create_alias(FunctionName=name, Name="prod", FunctionVersion="1")

    with pytest.raises(ClientError) as exc:
        raw_client.create_alias(FunctionName=name, Name="prod", FunctionVersion="1")
    assert error_code(exc) == "ResourceConflictException", "duplicate alias"

    with pytest.raises(ClientError) as exc:
        raw_client.create_alias(FunctionName=name, Name="123", FunctionVersion="1")
    assert error_code(exc) in INVALID, "an all-digit alias name would be ambiguous with a version"

    with pytest.raises(ClientError) as exc:
        raw_client.delete_function(FunctionName=name, Qualifier="1")
    assert error_code(exc) == "ResourceConflictException", "a version an alias points to cannot be deleted"

    with pytest.raises(ClientError) as exc:
        raw_client.delete_function(FunctionName=name, Qualifier="$LATEST")
    assert error_code(exc) == "InvalidParameterValueException", "$LATEST is only deleted with the function"


def test_reserved_concurrency_keeps_unreserved_minimum(raw_client, good_function):
    # AWS keeps at least 100 of the account's concurrency unreserved; the
    # account limit is 1000 unless the server was told otherwise.
    limit = raw_client.get_account_settings()["AccountLimit"]["ConcurrentExecutions"]
    try:
        with pytest.raises(ClientError) as exc:
            raw_client.put_function_concurrency(FunctionName=good_function, ReservedConcurrentExecutions=limit - 50)
        assert error_code(exc) == "InvalidParameterValueException", exc.value.response["Error"]
    finally:
        # Leave the shared function unthrottled whatever happened.
        raw_client.delete_function_concurrency(FunctionName=good_function)


def test_payload_too_large(raw_client, good_function):
    payload = b'{"blob": "' + b"x" * (7 * 1024 * 1024) + b'"}'
    with pytest.raises(ClientError) as exc:
        raw_client.invoke(FunctionName=good_function, Payload=payload)
    assert error_code(exc) == "RequestTooLargeException", exc.value.response["Error"]
    assert http_status(exc) == 413


def test_payload_just_under_the_limit(raw_client):
    # 6 MB is the documented synchronous limit; a 5.5 MB event must pass.
    name = unique("bad-bigok")
    code = "def handler(event, context):\n    return len(event['blob'])\n"
    create_function(raw_client, name, "python3.12", "app.handler", {"app.py": code}, MemorySize=512)
    size = 5_500_000
    resp, body = invoke(raw_client, name, b'{"blob": "' + b"x" * size + b'"}')
    assert "FunctionError" not in resp, body
    assert body == size


def test_invalid_json_payload(raw_client, good_function):
    with pytest.raises(ClientError) as exc:
        raw_client.invoke(FunctionName=good_function, Payload=b"{not json")
    assert error_code(exc) == "InvalidRequestContentException", exc.value.response["Error"]
    assert http_status(exc) == 400


def test_unknown_qualifier(raw_client, good_function):
    with pytest.raises(ClientError) as exc:
        raw_client.invoke(FunctionName=good_function, Qualifier="nope", Payload=b"{}")
    assert error_code(exc) == "ResourceNotFoundException", exc.value.response["Error"]


def test_nonexistent_function(raw_client):
    with pytest.raises(ClientError) as exc:
        raw_client.invoke(FunctionName=unique("does-not-exist"), Payload=b"{}")
    assert error_code(exc) == "ResourceNotFoundException", exc.value.response["Error"]
    assert http_status(exc) == 404


def test_server_still_healthy(server, raw_client, good_function):
    # Runs last in this module (pytest keeps file order): everything above
    # must have left the server in working order.
    assert server.alive(), f"eddy died\n--- log ---\n{server.log()}"
    assert server.health()["status"] == "ok"
    resp, body = invoke(raw_client, good_function, {"final": True})
    assert body["event"] == {"final": True}
