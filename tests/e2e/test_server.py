"""Process-level behaviour of `eddy server`: startup, health, help text,
settings from flags and EDDY_* variables, the rules for which listeners need
credentials, and a clean stop on SIGTERM."""

import json
import re
import subprocess
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import DEFAULT_FLAGS, create_function, error_code, http_get, invoke, unique, wait_until


def test_health_endpoint_shape(server):
    status, headers, body = http_get(server.url + "/_eddy/health")
    assert status == 200, f"health returned {status}: {body!r}"
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert "json" in content_type, f"health Content-Type should be JSON, got {content_type!r}"
    doc = json.loads(body)
    assert isinstance(doc, dict), f"health body should be a JSON object, got {doc!r}"
    assert doc.get("status") == "ok", f"health status should be 'ok', got {doc!r}"


def test_unknown_path_is_a_client_error(server):
    status, _, body = http_get(server.url + "/definitely/not/an/api/path")
    assert 400 <= status < 500, f"unknown path should give a 4xx, got {status}: {body!r}"
    # And the server is unharmed.
    assert server.health()["status"] == "ok"


def test_signed_request_to_unknown_path(server):
    # A correctly signed call Eddy has no route for must get a typed JSON
    # error (so SDKs can report it), never a hang or a 500.
    url = server.url + "/2015-03-31/no-such-resource"
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials("test", "test"), "lambda", "us-east-1").add_auth(request)
    status, headers, body = http_get(url, headers=dict(request.headers.items()))
    assert status in (400, 404, 501), f"unknown signed path gave {status}: {body!r}"
    lower = {k.lower(): v for k, v in headers.items()}
    assert lower.get("x-amzn-errortype"), f"error response lacks x-amzn-ErrorType: {headers}"
    assert isinstance(json.loads(body), dict), body


def test_startup_prints_listening_address(server):
    log = server.log()
    match = re.search(r"listening on http://(127\.0\.0\.1:(\d+))", log)
    assert match, f"startup log lacks 'listening on http://127.0.0.1:PORT':\n{log}"
    assert int(match.group(2)) > 0, "with --listen 127.0.0.1:0 the printed port must be the real one"
    assert server.url == f"http://{match.group(1)}"


def test_server_help_lists_flags_and_env_vars(eddy_bin):
    proc = subprocess.run([str(eddy_bin), "server", "--help"], capture_output=True, text=True, timeout=15)
    assert proc.returncode == 0, f"`eddy server --help` exited {proc.returncode}: {proc.stderr}"
    text = proc.stdout + proc.stderr
    for flag in ("--listen", "--data-dir", "--access-key-id", "--secret-access-key"):
        assert flag in text, f"`eddy server --help` does not mention {flag}:\n{text}"
    assert "EDDY_" in text, f"`eddy server --help` should mention the EDDY_* environment variables:\n{text}"


def test_public_listener_without_keys_is_refused(eddy_bin, tmp_path):
    # Binding beyond loopback with the well-known test/test key would let
    # anyone on the network run code on this machine, so it must not start.
    proc = subprocess.run(
        [str(eddy_bin), "server", "--listen", "0.0.0.0:0", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=20,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"eddy should refuse 0.0.0.0 without keys but exited 0:\n{output}"
    assert "--access-key-id" in output, f"the refusal should tell the user about --access-key-id:\n{output}"


@pytest.fixture
def keyed_server(fresh_server):
    return fresh_server(flags=["--access-key-id", "AK", "--secret-access-key", "SK"])


def test_configured_keys_replace_the_default(keyed_server):
    with pytest.raises(ClientError) as exc:
        keyed_server.client("lambda").list_functions()
    assert error_code(exc) == "UnrecognizedClientException", (
        f"test/test must be refused once keys are configured, got {exc.value.response.get('Error')}"
    )

    resp = keyed_server.client("lambda", access_key="AK", secret_key="SK").list_functions()
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "Functions" in resp


def test_public_listener_with_keys_starts(fresh_server):
    # With real keys a non-loopback listener is allowed; only loopback
    # traffic is sent here.
    srv = fresh_server(flags=["--access-key-id", "AK", "--secret-access-key", "SK"], listen="0.0.0.0:0")
    with pytest.raises(ClientError) as exc:
        srv.client("lambda").list_functions()
    assert error_code(exc) == "UnrecognizedClientException"
    assert srv.client("lambda", access_key="AK", secret_key="SK").list_functions()["Functions"] == []


def test_settings_from_environment(fresh_server):
    # Every flag has an EDDY_<FLAG> twin so the server can be configured
    # from a container environment.
    srv = fresh_server(env={"EDDY_ACCESS_KEY_ID": "ENVAK", "EDDY_SECRET_ACCESS_KEY": "ENVSK"})
    with pytest.raises(ClientError) as exc:
        srv.client("lambda").list_functions()
    assert error_code(exc) == "UnrecognizedClientException"
    assert srv.client("lambda", access_key="ENVAK", secret_key="ENVSK").list_functions()["Functions"] == []


def test_sigterm_stops_cleanly_and_state_survives(fresh_server):
    srv = fresh_server()
    client = srv.client("lambda")
    name = unique("srv-term")
    create_function(client, name, "python3.12", "app.handler", {"app.py": "def handler(e, c):\n    return 'hi'\n"})
    resp, body = invoke(client, name, {})
    assert body == "hi"

    started = time.monotonic()
    code = srv.stop()
    assert code == 0, f"SIGTERM should end eddy with status 0, got {code}\n--- log ---\n{srv.log()}"
    assert time.monotonic() - started < 10, "shutdown on SIGTERM took too long"

    srv.start()
    client = srv.client("lambda")
    assert client.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name
    resp, body = invoke(client, name, {})
    assert body == "hi"
    # Logs written before a graceful stop are kept too.
    streams = srv.client("logs").describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert streams, "log streams from before the restart are gone"


def raw_exchange(srv, request: bytes) -> bytes:
    """Sends raw bytes on a new connection and reads until the server closes it (or
    15 s pass, or it resets the connection)."""
    import socket

    host, port = srv.url.rsplit("//", 1)[1].split(":")
    reply = b""
    with socket.create_connection((host, int(port))) as sock:
        sock.settimeout(15)
        try:
            sock.sendall(request)
            while chunk := sock.recv(4096):
                reply += chunk
        except (ConnectionResetError, BrokenPipeError, socket.timeout):
            pass
    return reply


def test_http2_over_cleartext(server):
    out = subprocess.run(
        ["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", server.url + "/_eddy/health"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.stdout == "2 200", out


def test_connections_past_the_limit_get_a_503(fresh_server):
    import socket

    srv = fresh_server(flags=[*DEFAULT_FLAGS, "--connections-max", "2"])
    host, port = srv.url.rsplit("//", 1)[1].split(":")
    held = [socket.create_connection((host, int(port))) for _ in range(2)]
    try:
        extra = socket.create_connection((host, int(port)))
        extra.settimeout(10)
        head = extra.recv(64)
        assert head.startswith(b"HTTP/1.1 503"), head
        extra.close()
    finally:
        for s in held:
            s.close()
    wait_until(lambda: srv.health()["status"] == "ok", timeout=10)


def test_a_stalled_request_body_is_cut_off(fresh_server):
    """A client that stops sending its body gets 408 (bodies read whole) or loses the
    connection (streamed uploads) after the idle timeout, and the server stays up."""
    srv = fresh_server(flags=[*DEFAULT_FLAGS, "--body-idle-timeout-ms", "1000"])
    host, port = srv.url.rsplit("//", 1)[1].split(":")
    srv.client("s3").create_bucket(Bucket="stall")
    cases = [
        ("lambda", "POST", "/2015-03-31/functions", {}),
        ("s3", "PUT", "/stall/key", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}),
    ]
    for service, method, path, extra in cases:
        req = AWSRequest(
            method=method,
            url=f"{srv.url}{path}",
            headers={"Content-Length": "100", **extra},
        )
        SigV4Auth(Credentials("test", "test"), service, "us-east-1").add_auth(req)
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in req.headers.items()
        )
        started = time.monotonic()
        reply = raw_exchange(srv, head.encode() + b"\r\n0123456789")
        waited = time.monotonic() - started
        assert 0.8 < waited < 12, f"{path}: cut off after {waited:.1f} s: {reply[:200]!r}"
        if service == "lambda":
            assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert srv.health()["status"] == "ok"


def test_an_oversized_request_head_is_refused(server):
    reply = raw_exchange(server, f"GET /_eddy/health HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 200_000}\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 431"), reply[:100]
    assert server.health()["status"] == "ok"
