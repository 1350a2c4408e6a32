"""Requests to function URLs: the payload-2.0 event a function receives (field
by field), the mapping of its answer back to HTTP (status, headers, cookies,
plain values, binary bodies), function errors, AWS_IAM URLs with SigV4,
CORS preflights, unknown URLs, and both addresses: the URL's own host
(`<url-id>.lambda-url.<region>.localhost`, which curl resolves by itself) and
the path form `/_eddy/urls/<url-id>/...`.

Plain HTTP clients drive the data plane (urllib with a Host header, and curl);
boto3 creates the functions and URLs."""

import json
import re
import subprocess
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION, create_function, unique

ECHO = """
import json


def handler(event, context):
    mode = (event.get("queryStringParameters") or {}).get("mode")
    if mode == "raise":
        raise RuntimeError("failing on purpose")
    if mode == "plain":
        return {"plain": True}
    if mode == "binary":
        return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
                "body": event["body"], "isBase64Encoded": True}
    return {
        "statusCode": 201,
        "headers": {"x-echo": "yes", "content-type": "application/json"},
        "cookies": ["session=abc; Path=/", "theme=dark"],
        "body": json.dumps(event),
    }
"""

URL_RE = re.compile(r"^http://([a-z0-9]{32})\.lambda-url\.us-east-1\.localhost:(\d+)/$")


def make_url(lambda_client, auth="NONE", **extra) -> tuple[str, str]:
    name = unique("url-echo")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": ECHO})
    url = lambda_client.create_function_url_config(FunctionName=name, AuthType=auth, **extra)["FunctionUrl"]
    return name, url


def request(server, url: str, path: str = "/", method: str = "GET", body: bytes | None = None, headers=None):
    """Sends to 127.0.0.1 with the URL's host in the Host header."""
    host = url.split("//", 1)[1].rstrip("/")
    req = urllib.request.Request(server.url + path, data=body, method=method, headers={"Host": host, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@pytest.fixture(scope="module")
def echo(lambda_client):
    return make_url(lambda_client)


def test_url_form(echo, server):
    _, url = echo
    m = URL_RE.match(url)
    assert m, url
    assert int(m.group(2)) == int(server.url.rsplit(":", 1)[1])


def test_event_and_response_mapping(server, echo):
    _, url = echo
    url_id = URL_RE.match(url).group(1)
    status, headers, body = request(
        server,
        url,
        "/items/42?color=red&size=m&color=blue",
        "POST",
        b'{"n": 1}',
        {"Content-Type": "application/json", "Cookie": "a=1; b=2", "X-Custom": "v"},
    )
    assert status == 201, body
    assert headers["x-echo"] == "yes"
    assert headers.get_all("set-cookie") == ["session=abc; Path=/", "theme=dark"]
    event = json.loads(body)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/items/42"
    assert event["rawQueryString"] == "color=red&size=m&color=blue"
    assert event["queryStringParameters"] == {"color": "red,blue", "size": "m"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-custom"] == "v"
    assert event["headers"]["content-type"] == "application/json"
    assert event["body"] == '{"n": 1}'
    assert event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["apiId"] == url_id and ctx["domainPrefix"] == url_id
    assert ctx["domainName"].startswith(f"{url_id}.lambda-url.")
    assert ctx["http"]["method"] == "POST" and ctx["http"]["path"] == "/items/42"
    assert ctx["routeKey"] == "$default" and ctx["stage"] == "$default"
    assert isinstance(ctx["timeEpoch"], int) and ctx["requestId"]


def test_plain_results_become_json(server, echo):
    _, url = echo
    status, headers, body = request(server, url, "/?mode=plain")
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"plain": True}


def test_binary_bodies_round_trip(server, echo):
    _, url = echo
    payload = bytes(range(256)) * 4
    status, headers, body = request(
        server, url, "/?mode=binary", "POST", payload, {"Content-Type": "application/octet-stream"}
    )
    assert status == 200
    assert body == payload


def test_function_error_is_500(server, echo):
    _, url = echo
    status, _, body = request(server, url, "/?mode=raise")
    assert status == 500
    assert json.loads(body)["message"] == "Internal Server Error"


def test_path_form_and_curl(server, echo):
    _, url = echo
    url_id = URL_RE.match(url).group(1)
    with urllib.request.urlopen(f"{server.url}/_eddy/urls/{url_id}/a/b?x=1", timeout=60) as r:
        event = json.loads(r.read())
    assert event["rawPath"] == "/a/b" and event["rawQueryString"] == "x=1"
    # curl resolves *.localhost itself, so the URL works as AWS prints it.
    out = subprocess.run(["curl", "-s", f"{url}c/d"], capture_output=True, text=True, timeout=60)
    assert json.loads(out.stdout)["rawPath"] == "/c/d", out


def test_unknown_url_is_forbidden(server):
    status, _, _ = request(server, "http://" + "a" * 32 + ".lambda-url.us-east-1.localhost:1/")
    assert status == 403


def test_aws_iam_urls_need_a_signature(server, lambda_client):
    _, url = make_url(lambda_client, auth="AWS_IAM")
    status, _, _ = request(server, url, "/")
    assert status == 403
    host = url.split("//", 1)[1].rstrip("/")
    aws_req = AWSRequest(method="GET", url=f"{server.url}/signed?q=1", headers={"Host": host})
    SigV4Auth(Credentials("test", "test"), "lambda", REGION).add_auth(aws_req)
    status, _, body = request(server, url, "/signed?q=1", headers=dict(aws_req.headers))
    assert status == 201, body
    event = json.loads(body)
    assert event["requestContext"]["authorizer"]["iam"]["accountId"] == "000000000000"
    # A wrong signature is refused.
    bad = dict(aws_req.headers)
    bad["Authorization"] = bad["Authorization"][:-4] + "0000"
    status, _, _ = request(server, url, "/signed?q=1", headers=bad)
    assert status == 403


def test_cors_preflight_and_headers(server, lambda_client):
    _, url = make_url(
        lambda_client,
        Cors={"AllowOrigins": ["https://shop.example"], "AllowMethods": ["GET", "POST"], "MaxAge": 60},
    )
    status, headers, _ = request(
        server,
        url,
        "/",
        "OPTIONS",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert status in (200, 204)
    assert headers["access-control-allow-origin"] == "https://shop.example"
    status, headers, _ = request(server, url, "/", headers={"Origin": "https://shop.example"})
    assert status == 201
    assert headers["access-control-allow-origin"] == "https://shop.example"
