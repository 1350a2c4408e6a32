"""REST APIs (API Gateway v1) with Lambda proxy integrations: the control plane
through boto3's `apigateway` client (APIs, the root resource, `{param}` and
`{proxy+}` resources, methods, AWS_PROXY integrations, deployments, stages and
stage variables), the data plane at both addresses
(`<api-id>.execute-api.localhost/<stage>/...`, which curl resolves by itself, and
`/_eddy/restapis/<api-id>/<stage>/...`), the payload 1.0 event field by field,
REST's error answers, and persistence across kill -9."""

import base64
import json
import subprocess
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, create_function, error_code, function_arn, http_status, unique
from execute_api import call, lambda_uri

ECHO = """
import base64
import json


def handler(event, context):
    q = event.get("queryStringParameters") or {}
    if q.get("mode") == "raise":
        raise RuntimeError("failing on purpose")
    if q.get("mode") == "malformed":
        return {"body": "no status code"}
    if q.get("mode") == "binary":
        return {"statusCode": 200, "headers": {"content-type": "image/png"},
                "body": base64.b64encode(b"\\x89PNG").decode(), "isBase64Encoded": True}
    return {"statusCode": 201, "headers": {"x-echo": "1"},
            "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]}, "body": json.dumps(event)}
"""


@pytest.fixture(scope="module")
def rest(server):
    return server.client("apigateway")


@pytest.fixture(scope="module")
def echo_fn(lambda_client):
    name = unique("rest-echo")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": ECHO})
    return name


def build_api(rest, function: str, **api_kwargs) -> dict:
    """An API with `/{proxy+}` (ANY) and `/items/{id}` (GET, POST), deployed to `test`."""
    api = rest.create_rest_api(name=unique("rest"), **api_kwargs)
    api_id = api["id"]
    resources = rest.get_resources(restApiId=api_id)["items"]
    assert [r["path"] for r in resources] == ["/"]
    root = resources[0]["id"]
    assert root == api["rootResourceId"]
    proxy = rest.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")
    items = rest.create_resource(restApiId=api_id, parentId=root, pathPart="items")
    item = rest.create_resource(restApiId=api_id, parentId=items["id"], pathPart="{id}")
    assert (proxy["path"], items["path"], item["path"]) == ("/{proxy+}", "/items", "/items/{id}")
    assert item["parentId"] == items["id"] and item["pathPart"] == "{id}"
    for res, method in ((proxy, "ANY"), (item, "GET"), (item, "POST")):
        m = rest.put_method(restApiId=api_id, resourceId=res["id"], httpMethod=method, authorizationType="NONE")
        assert m["httpMethod"] == method and m["authorizationType"] == "NONE"
        integ = rest.put_integration(
            restApiId=api_id,
            resourceId=res["id"],
            httpMethod=method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_uri(function),
        )
        assert integ["type"] == "AWS_PROXY" and integ["uri"] == lambda_uri(function)
    dep = rest.create_deployment(restApiId=api_id, stageName="test", variables={"env": "testing"})
    return {"id": api_id, "root": root, "proxy": proxy["id"], "items": items["id"], "item": item["id"], "deployment": dep["id"]}


def test_control_plane_shapes(rest, echo_fn):
    api = build_api(rest, echo_fn, description="d", binaryMediaTypes=["image/png"])
    api_id = api["id"]
    got = rest.get_rest_api(restApiId=api_id)
    assert got["description"] == "d" and got["binaryMediaTypes"] == ["image/png"]
    assert got["rootResourceId"] == api["root"]
    assert len(api_id) == 10 and api_id.isalnum() and api_id.islower()
    assert api_id in [a["id"] for a in rest.get_rest_apis()["items"]]

    by_path = {r["path"]: r for r in rest.get_resources(restApiId=api_id, embed=["methods"])["items"]}
    assert set(by_path) == {"/", "/{proxy+}", "/items", "/items/{id}"}
    assert 6 <= len(by_path["/items/{id}"]["id"]) <= 10
    assert set(by_path["/items/{id}"]["resourceMethods"]) == {"GET", "POST"}
    assert by_path["/items/{id}"]["resourceMethods"]["GET"]["methodIntegration"]["type"] == "AWS_PROXY"
    assert rest.get_resource(restApiId=api_id, resourceId=api["item"])["path"] == "/items/{id}"

    method = rest.get_method(restApiId=api_id, resourceId=api["proxy"], httpMethod="ANY")
    assert method["methodIntegration"]["httpMethod"] == "POST"
    integ = rest.get_integration(restApiId=api_id, resourceId=api["proxy"], httpMethod="ANY")
    assert integ["timeoutInMillis"] == 29000 and integ["passthroughBehavior"] == "WHEN_NO_MATCH"

    stage = rest.get_stage(restApiId=api_id, stageName="test")
    assert stage["deploymentId"] == api["deployment"] and stage["variables"] == {"env": "testing"}
    assert [s["stageName"] for s in rest.get_stages(restApiId=api_id)["item"]] == ["test"]
    assert [d["id"] for d in rest.get_deployments(restApiId=api_id)["items"]] == [api["deployment"]]

    # A second stage from the same deployment, its variables patched.
    rest.create_stage(restApiId=api_id, stageName="prod", deploymentId=api["deployment"], variables={"env": "p"})
    updated = rest.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/variables/env", "value": "production"},
            {"op": "add", "path": "/variables/color", "value": "blue"},
        ],
    )
    assert updated["variables"] == {"env": "production", "color": "blue"}
    rest.delete_stage(restApiId=api_id, stageName="prod")
    assert [s["stageName"] for s in rest.get_stages(restApiId=api_id)["item"]] == ["test"]


def test_requests_reach_the_function(server, rest, echo_fn):
    api = build_api(rest, echo_fn)
    api_id = api["id"]
    status, headers, body = call(
        server, api_id, "/test/items/42?color=red&color=blue&size=m", headers={"X-Custom": "yes", "User-Agent": "t/1"}
    )
    assert status == 201, body
    assert headers["x-echo"] == "1"
    assert headers.get_all("set-cookie") == ["a=1", "b=2"]
    event = json.loads(body)
    assert "version" not in event
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["stageVariables"] == {"env": "testing"}
    assert event["queryStringParameters"] == {"color": "blue", "size": "m"}
    assert event["multiValueQueryStringParameters"] == {"color": ["red", "blue"], "size": ["m"]}
    # Header names arrive as the server's HTTP stack hands them on (lower case).
    headers_in = {k.lower(): v for k, v in event["headers"].items()}
    assert headers_in["x-custom"] == "yes"
    assert {k.lower(): v for k, v in event["multiValueHeaders"].items()}["x-custom"] == ["yes"]
    assert event["body"] is None and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["apiId"] == api_id
    assert ctx["stage"] == "test"
    assert ctx["resourcePath"] == "/items/{id}"
    assert ctx["resourceId"] == api["item"]
    assert ctx["httpMethod"] == "GET"
    assert ctx["path"] == "/test/items/42"
    assert ctx["accountId"] == ACCOUNT_ID
    assert ctx["identity"]["userAgent"] == "t/1"
    assert ctx["domainName"] == f"{api_id}.execute-api.localhost"
    assert ctx["requestId"]

    # POST on the same resource, with a body.
    status, _, body = call(server, api_id, "/test/items/7", "POST", b'{"a": 1}', {"Content-Type": "application/json"})
    event = json.loads(body)
    assert status == 201 and event["httpMethod"] == "POST" and event["body"] == '{"a": 1}'
    assert event["resource"] == "/items/{id}"

    # What /items/{id} does not serve, and deeper paths, go to {proxy+} (ANY).
    for method, path, proxy in (("DELETE", "/items/42", "items/42"), ("PUT", "/a/b/c", "a/b/c"), ("GET", "/items", "items")):
        status, _, body = call(server, api_id, "/test" + path, method, b"x" if method == "PUT" else None)
        event = json.loads(body)
        assert status == 201, body
        assert event["resource"] == "/{proxy+}" and event["pathParameters"] == {"proxy": proxy}
        assert event["httpMethod"] == method and event["requestContext"]["resourceId"] == api["proxy"]

    # The path form, for clients that cannot set a Host header.
    with urllib.request.urlopen(f"{server.url}/_eddy/restapis/{api_id}/test/items/9", timeout=60) as r:
        event = json.loads(r.read())
        assert event["pathParameters"] == {"id": "9"} and event["path"] == "/items/9"

    # curl resolves *.localhost, so the host form works as AWS prints it.
    port = server.url.rsplit(":", 1)[1]
    out = subprocess.run(
        ["curl", "-s", f"http://{api_id}.execute-api.localhost:{port}/test/via/curl"], capture_output=True, text=True, timeout=60
    )
    assert json.loads(out.stdout)["pathParameters"] == {"proxy": "via/curl"}, out


def test_binary_media_types(server, rest, echo_fn):
    api = build_api(rest, echo_fn, binaryMediaTypes=["image/*"])
    data = b"\x00\x01binary"
    _, _, body = call(server, api["id"], "/test/items/1", "POST", data, {"Content-Type": "image/png"})
    event = json.loads(body)
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == data
    _, _, body = call(server, api["id"], "/test/items/1", "POST", b"plain", {"Content-Type": "text/plain"})
    event = json.loads(body)
    assert event["isBase64Encoded"] is False and event["body"] == "plain"
    status, headers, body = call(server, api["id"], "/test/items/1?mode=binary")
    assert status == 200 and body == b"\x89PNG" and headers["content-type"] == "image/png"


def test_data_plane_errors(server, rest, echo_fn):
    api = build_api(rest, echo_fn)
    api_id = api["id"]
    status, headers, body = call(server, api_id, "/test/items/1?mode=raise")
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
    status, _, body = call(server, api_id, "/test/items/1?mode=malformed")
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
    # No stage of that name.
    status, _, body = call(server, api_id, "/nostage/items/1")
    assert status == 403, body
    # The root has no method.
    status, headers, body = call(server, api_id, "/test")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"

    # A resource with no catch-all: unknown paths and methods are 403 as well.
    plain = rest.create_rest_api(name=unique("plain"))
    res = rest.create_resource(restApiId=plain["id"], parentId=plain["rootResourceId"], pathPart="only")
    rest.put_method(restApiId=plain["id"], resourceId=res["id"], httpMethod="GET", authorizationType="NONE")
    rest.put_integration(
        restApiId=plain["id"], resourceId=res["id"], httpMethod="GET", type="AWS_PROXY", integrationHttpMethod="POST", uri=lambda_uri(echo_fn)
    )
    rest.create_deployment(restApiId=plain["id"], stageName="v1")
    assert call(server, plain["id"], "/v1/only")[0] == 201
    for method, path in (("POST", "/v1/only"), ("GET", "/v1/other")):
        status, _, body = call(server, plain["id"], path, method, b"" if method == "POST" else None)
        assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"}), (method, path)

    # Methods with an authorizer type Eddy does not run refuse everyone.
    guarded = rest.create_resource(restApiId=plain["id"], parentId=plain["rootResourceId"], pathPart="guarded")
    rest.put_method(restApiId=plain["id"], resourceId=guarded["id"], httpMethod="GET", authorizationType="CUSTOM", authorizerId="abc")
    rest.put_integration(
        restApiId=plain["id"], resourceId=guarded["id"], httpMethod="GET", type="AWS_PROXY", integrationHttpMethod="POST", uri=lambda_uri(echo_fn)
    )
    rest.create_deployment(restApiId=plain["id"], stageName="v1")
    assert call(server, plain["id"], "/v1/guarded")[0] == 401


def test_control_plane_errors(rest, echo_fn):
    def fails(code, status, fn, **kwargs):
        with pytest.raises(ClientError) as e:
            fn(**kwargs)
        assert (error_code(e), http_status(e)) == (code, status), e.value.response

    api = rest.create_rest_api(name=unique("errs"))
    api_id, root = api["id"], api["rootResourceId"]
    fails("NotFoundException", 404, rest.get_rest_api, restApiId="nosuchapi1")
    fails("NotFoundException", 404, rest.get_resource, restApiId=api_id, resourceId="nosuch")
    fails("BadRequestException", 400, rest.create_resource, restApiId=api_id, parentId=root, pathPart="bad part")
    rest.create_resource(restApiId=api_id, parentId=root, pathPart="{id}")
    fails("BadRequestException", 400, rest.create_resource, restApiId=api_id, parentId=root, pathPart="{other}")
    rest.create_resource(restApiId=api_id, parentId=root, pathPart="x")
    fails("ConflictException", 409, rest.create_resource, restApiId=api_id, parentId=root, pathPart="x")
    x = [r for r in rest.get_resources(restApiId=api_id)["items"] if r["path"] == "/x"][0]
    greedy = rest.create_resource(restApiId=api_id, parentId=x["id"], pathPart="{proxy+}")
    fails("BadRequestException", 400, rest.create_resource, restApiId=api_id, parentId=greedy["id"], pathPart="deeper")
    fails("BadRequestException", 400, rest.put_method, restApiId=api_id, resourceId=root, httpMethod="TRACE", authorizationType="NONE")
    fails("NotFoundException", 404, rest.get_method, restApiId=api_id, resourceId=root, httpMethod="GET")
    rest.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    fails("ConflictException", 409, rest.put_method, restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    # No integration yet: nothing to deploy.
    fails("BadRequestException", 400, rest.create_deployment, restApiId=api_id, stageName="s")
    fails("NotImplemented", 501, rest.put_integration, restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    fails(
        "BadRequestException", 400, rest.put_integration,
        restApiId=api_id, resourceId=root, httpMethod="GET", type="AWS_PROXY", integrationHttpMethod="POST", uri=function_arn(echo_fn),
    )
    fails("BadRequestException", 400, rest.delete_resource, restApiId=api_id, resourceId=root)
    fails("NotFoundException", 404, rest.create_stage, restApiId=api_id, stageName="s", deploymentId="nodep1")
    # What Eddy does not implement says so.
    fails("NotImplemented", 501, rest.get_api_keys)
    fails("NotImplemented", 501, rest.get_authorizers, restApiId=api_id)
    fails("NotImplemented", 501, rest.get_models, restApiId=api_id)

    # Deleting a resource deletes its children; deleting the API deletes everything.
    items = rest.create_resource(restApiId=api_id, parentId=root, pathPart="items")
    rest.create_resource(restApiId=api_id, parentId=items["id"], pathPart="child")
    rest.delete_resource(restApiId=api_id, resourceId=items["id"])
    paths = {r["path"] for r in rest.get_resources(restApiId=api_id)["items"]}
    assert paths == {"/", "/{id}", "/x", "/x/{proxy+}"}
    rest.delete_rest_api(restApiId=api_id)
    fails("NotFoundException", 404, rest.get_resources, restApiId=api_id)


def test_rest_and_http_apis_stay_apart(server, rest, echo_fn):
    http_apis = server.client("apigatewayv2")
    rest_api = build_api(rest, echo_fn)
    http_api = http_apis.create_api(Name=unique("http"), ProtocolType="HTTP", Target=function_arn(echo_fn))["ApiId"]
    assert rest_api["id"] not in [a["ApiId"] for a in http_apis.get_apis()["Items"]]
    assert http_api not in [a["id"] for a in rest.get_rest_apis()["items"]]
    # The HTTP API's path form does not serve a REST API, nor the other way round.
    assert call(server, http_api, "/x")[0] == 201  # quick create: $default, payload 2.0
    status, _, _ = call(server, "x", f"/_eddy/restapis/{http_api}/test/x")
    assert status == 403


def test_kill9_keeps_rest_apis(fresh_server):
    srv = fresh_server()
    lam = srv.client("lambda")
    name = unique("rest-persist")
    create_function(lam, name, "python3.12", "app.handler", {"app.py": ECHO})
    rest = srv.client("apigateway")
    api = build_api(rest, name, binaryMediaTypes=["image/png"])
    api_id = api["id"]

    def snapshot():
        return {
            "api": rest.get_rest_api(restApiId=api_id),
            "resources": sorted(rest.get_resources(restApiId=api_id, embed=["methods"])["items"], key=lambda r: r["id"]),
            "stages": rest.get_stages(restApiId=api_id)["item"],
            "deployments": rest.get_deployments(restApiId=api_id)["items"],
        }

    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k != "ResponseMetadata"}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v

    before = strip(snapshot())
    srv.kill9()
    srv.start()
    rest = srv.client("apigateway")
    assert strip(snapshot()) == before
    status, _, body = call(srv, api_id, "/test/items/5")
    assert status == 201, body
    event = json.loads(body)
    assert event["pathParameters"] == {"id": "5"} and event["stageVariables"] == {"env": "testing"}
