"""Requests to HTTP APIs (API Gateway v2): quick-created APIs, explicit routes
with path parameters and greedy paths, named and `$default` stages, payload
formats 2.0 and 1.0, function errors, unknown routes, HTTP_PROXY integrations,
CORS preflights, and both addresses (`<api-id>.execute-api.localhost`, which
curl resolves by itself, and `/_eddy/apis/<api-id>/...`).

boto3 builds the APIs; plain HTTP clients (urllib with a Host header, curl)
drive the data plane."""

import json
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import create_function, function_arn, unique
from execute_api import call

ECHO = """
import json


def handler(event, context):
    q = event.get("queryStringParameters") or {}
    if q.get("mode") == "raise":
        raise RuntimeError("failing on purpose")
    if event.get("version") == "1.0":
        return {"statusCode": 202, "headers": {"x-v": "1"}, "body": json.dumps(event)}
    return {"statusCode": 200, "headers": {"x-v": "2"}, "body": json.dumps(event)}
"""


@pytest.fixture(scope="module")
def apis(server):
    return server.client("apigatewayv2")


@pytest.fixture(scope="module")
def echo_fn(lambda_client):
    name = unique("api-echo")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": ECHO})
    return name


def test_quick_create(server, apis, echo_fn):
    api = apis.create_api(Name=unique("shop"), ProtocolType="HTTP", Target=function_arn(echo_fn))
    assert api["ApiEndpoint"].startswith(f"http://{api['ApiId']}.execute-api.localhost:")
    status, headers, body = call(server, api["ApiId"], "/items/42?color=red")
    assert status == 200, body
    assert headers["x-v"] == "2"
    assert headers["apigw-requestid"]
    event = json.loads(body)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/items/42"
    assert event["queryStringParameters"] == {"color": "red"}
    ctx = event["requestContext"]
    assert ctx["apiId"] == api["ApiId"] and ctx["stage"] == "$default"
    assert ctx["http"]["method"] == "GET"
    # curl resolves *.localhost, so the endpoint works as the API prints it.
    out = subprocess.run(["curl", "-s", api["ApiEndpoint"] + "/via/curl"], capture_output=True, text=True, timeout=60)
    assert json.loads(out.stdout)["rawPath"] == "/via/curl", out
    # And the path form, for clients that cannot set a Host header.
    with urllib.request.urlopen(f"{server.url}/_eddy/apis/{api['ApiId']}/path/form", timeout=60) as r:
        assert json.loads(r.read())["rawPath"] == "/path/form"


def explicit_api(apis, function: str, version: str = "2.0", stage: str = "$default", **api_kwargs) -> str:
    api_id = apis.create_api(Name=unique("explicit"), ProtocolType="HTTP", **api_kwargs)["ApiId"]
    integ = apis.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn(function), PayloadFormatVersion=version
    )["IntegrationId"]
    for key in ("GET /items/{id}", "ANY /{proxy+}", "POST /items"):
        apis.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integ}")
    apis.create_stage(ApiId=api_id, StageName=stage, AutoDeploy=True, StageVariables={"env": "test"})
    return api_id


def test_routes_parameters_and_stage_variables(server, apis, echo_fn):
    api_id = explicit_api(apis, echo_fn)
    status, _, body = call(server, api_id, "/items/7")
    event = json.loads(body)
    assert status == 200 and event["routeKey"] == "GET /items/{id}"
    assert event["pathParameters"] == {"id": "7"}
    assert event["stageVariables"] == {"env": "test"}
    event = json.loads(call(server, api_id, "/items", "POST", b"x")[2])
    assert event["routeKey"] == "POST /items"
    event = json.loads(call(server, api_id, "/deep/er/path")[2])
    assert event["routeKey"] == "ANY /{proxy+}" and event["pathParameters"] == {"proxy": "deep/er/path"}


def test_named_stage(server, apis, echo_fn):
    api_id = explicit_api(apis, echo_fn, stage="prod")
    status, _, body = call(server, api_id, "/prod/items/3")
    assert status == 200, body
    event = json.loads(body)
    assert event["requestContext"]["stage"] == "prod"
    assert event["pathParameters"] == {"id": "3"}
    assert event["rawPath"] == "/prod/items/3"
    status, _, _ = call(server, api_id, "/staging/items/3")
    assert status == 404


def test_payload_format_1(server, apis, echo_fn):
    api_id = explicit_api(apis, echo_fn, version="1.0")
    status, headers, body = call(server, api_id, "/items/9?a=1&a=2", headers={"X-Multi": "m"})
    assert status == 202, body
    assert headers["x-v"] == "1"
    event = json.loads(body)
    assert event["version"] == "1.0"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "9"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}


def test_errors(server, apis, echo_fn):
    api_id = explicit_api(apis, echo_fn)
    status, _, body = call(server, api_id, "/items/1?mode=raise")
    assert status == 500 and json.loads(body)["message"] == "Internal Server Error"
    no_default = apis.create_api(Name=unique("bare"), ProtocolType="HTTP")["ApiId"]
    status, _, body = call(server, no_default, "/anything")
    assert status == 404
    status, _, _ = call(server, "zzzzzzzzzz", "/")
    assert status == 404


class _Backend(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "header": self.headers.get("X-Test")}).encode()
        self.send_response(203)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_http_proxy_integration(server, apis):
    backend = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    try:
        port = backend.server_address[1]
        api_id = apis.create_api(Name=unique("proxy"), ProtocolType="HTTP")["ApiId"]
        integ = apis.create_integration(
            ApiId=api_id,
            IntegrationType="HTTP_PROXY",
            IntegrationUri=f"http://127.0.0.1:{port}/backend/{{proxy}}",
            IntegrationMethod="ANY",
            PayloadFormatVersion="1.0",
        )["IntegrationId"]
        apis.create_route(ApiId=api_id, RouteKey="ANY /{proxy+}", Target=f"integrations/{integ}")
        apis.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        status, _, body = call(server, api_id, "/a/b?q=1", headers={"X-Test": "yes"})
        assert status == 203, body
        assert json.loads(body) == {"path": "/backend/a/b?q=1", "header": "yes"}
    finally:
        backend.shutdown()


def test_cors(server, apis, echo_fn):
    api_id = explicit_api(
        apis,
        echo_fn,
        CorsConfiguration={"AllowOrigins": ["https://shop.example"], "AllowMethods": ["GET"], "MaxAge": 30},
    )
    status, headers, _ = call(
        server,
        api_id,
        "/items/1",
        "OPTIONS",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"},
    )
    assert status in (200, 204)
    assert headers["access-control-allow-origin"] == "https://shop.example"
    status, headers, _ = call(server, api_id, "/items/1", headers={"Origin": "https://shop.example"})
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://shop.example"


SLOW = """
import time


def handler(event, context):
    time.sleep(float((event.get("queryStringParameters") or {}).get("sleep", "0")))
    return {"ok": True}
"""


def test_integration_timeout_and_throttling(server, apis, lambda_client):
    name = unique("api-slow")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": SLOW}, Timeout=15)
    api_id = apis.create_api(Name=unique("slow"), ProtocolType="HTTP")["ApiId"]
    integ = apis.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=function_arn(name),
        PayloadFormatVersion="2.0",
        TimeoutInMillis=1000,
    )["IntegrationId"]
    apis.create_route(ApiId=api_id, RouteKey="$default", Target=f"integrations/{integ}")
    apis.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    assert call(server, api_id, "/?sleep=0")[0] == 200
    # Past the integration's timeout the API answers 503 without waiting for the function.
    started = time.monotonic()
    status, _, body = call(server, api_id, "/?sleep=5")
    assert status == 503, body
    assert time.monotonic() - started < 4.5
    # A function that may not run (reserved concurrency 0) is throttled: 429.
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    status, _, body = call(server, api_id, "/")
    assert status == 429, body
