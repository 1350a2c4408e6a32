"""SigV4 authentication as seen by clients: wrong secrets, unknown keys,
unsigned requests, clock skew, tampering, presigned URLs, and robustness
against malformed HTTP."""

import datetime
import json
import socket
import urllib.error
import urllib.request
from unittest import mock

import botocore.compat
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import error_code, http_get, http_status


def test_wrong_secret_is_invalid_signature(server):
    client = server.client("lambda", access_key="test", secret_key="not-the-secret")
    with pytest.raises(ClientError) as exc:
        client.list_functions()
    assert error_code(exc) == "InvalidSignatureException", exc.value.response.get("Error")
    assert http_status(exc) == 403


def test_unknown_key_is_unrecognized(server):
    client = server.client("lambda", access_key="AKIDNOBODY", secret_key="whatever")
    with pytest.raises(ClientError) as exc:
        client.list_functions()
    assert error_code(exc) == "UnrecognizedClientException", exc.value.response.get("Error")
    assert http_status(exc) == 403


def test_unsigned_request_is_missing_token(server):
    status, headers, body = http_get(server.url + "/2015-03-31/functions/")
    assert status == 403, f"unsigned ListFunctions should be 403, got {status}: {body!r}"
    lower = {k.lower(): v for k, v in headers.items()}
    error_type = lower.get("x-amzn-errortype", "")
    # AWS may append ":<url>" to the type, so compare the prefix only.
    assert error_type.split(":")[0] == "MissingAuthenticationTokenException", (
        f"x-amzn-ErrorType should be MissingAuthenticationTokenException, got {error_type!r}"
    )


def _send_raw(server, data: bytes) -> bytes:
    host, port = server.address.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError:
            # A reset is an acceptable answer to garbage.
            return b""
    return b"".join(chunks)


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xff\x13garbage that is not http\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort",
        b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200_000 + b"\r\n\r\n",
        b"POST /2015-03-31/functions/x/invocations HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: AWS4-HMAC-SHA256 garbage\r\nContent-Length: 2\r\n\r\n{}",
    ],
    ids=["binary", "truncated-body", "bad-content-length", "huge-path", "huge-header", "bad-authorization"],
)
def test_server_survives_garbage(server, garbage):
    _send_raw(server, garbage)
    assert server.alive(), f"eddy died after garbage input\n--- log ---\n{server.log()}"
    assert server.health()["status"] == "ok"
    # Signed requests still work afterwards.
    assert server.client("lambda").list_functions()["ResponseMetadata"]["HTTPStatusCode"] == 200


def _signed_headers(url, method="GET", body=None, minutes_ago=0, secret="test"):
    """SigV4 headers for `url` as botocore makes them, optionally with a skewed clock."""
    request = AWSRequest(method=method, url=url, data=body)
    when = botocore.compat.get_current_datetime() - datetime.timedelta(minutes=minutes_ago)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4Auth(Credentials("test", secret), "lambda", "us-east-1").add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("minutes_ago,expected", [(20, 403), (-20, 403), (3, 200), (-3, 200)])
def test_clock_skew_window(server, minutes_ago, expected):
    # AWS accepts signatures up to 15 minutes off the server clock.
    url = server.url + "/2015-03-31/functions/"
    status, headers, body = http_get(url, headers=_signed_headers(url, minutes_ago=minutes_ago))
    assert status == expected, f"X-Amz-Date {minutes_ago} min off: expected {expected}, got {status}: {body!r}"
    if expected == 403:
        lower = {k.lower(): v for k, v in headers.items()}
        assert lower.get("x-amzn-errortype", "").startswith("InvalidSignatureException"), headers
        assert b"Signature" in body, body


def test_tampered_body_is_rejected(server):
    name = "tamper-target"
    url = f"{server.url}/2015-03-31/functions/{name}/invocations"
    headers = _signed_headers(url, method="POST", body=b'{"a": 1}')
    request = urllib.request.Request(url, data=b'{"a": 2}', headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            status, err_type = resp.status, resp.headers.get("x-amzn-ErrorType", "")
    except urllib.error.HTTPError as err:
        status, err_type = err.code, err.headers.get("x-amzn-ErrorType", "")
    assert status == 403, f"a body that does not match its signature must be refused, got {status}"
    assert err_type.startswith("InvalidSignatureException"), err_type


def test_presigned_url(server):
    # Query-string SigV4 (X-Amz-Signature in the URL) is accepted as well.
    url = server.client("lambda").generate_presigned_url("list_functions", ExpiresIn=60)
    status, _, body = http_get(url)
    assert status == 200, f"presigned ListFunctions gave {status}: {body!r}"
    assert "Functions" in json.loads(body)
