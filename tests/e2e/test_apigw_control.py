"""API Gateway v2 HTTP APIs, the control plane: quick create from the AWS CLI
(an AWS_PROXY integration with payload 2.0, a $default route and an
auto-deployed $default stage), APIs, routes, integrations, stages and
deployments through boto3's apigatewayv2 client with the shapes and defaults
AWS answers with, paging, tags on APIs and stages, AWS's errors for bad input
and missing resources, unimplemented REST API (v1) operations answering
NotImplemented, and all of it surviving a kill -9.

Requests to the APIs themselves (the data plane) are tested elsewhere."""

import json
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, REGION, aws, error_code, error_message, function_arn, http_status, unique

FN = function_arn("shop")
APIGW_FN_URI = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{FN}/invocations"


@pytest.fixture(scope="module")
def apigw(server):
    return server.client("apigatewayv2")


@pytest.fixture(scope="module")
def loose(server):
    """A client that sends what it is given, so the server's own checks are what answer."""
    return server.client("apigatewayv2", parameter_validation=False)


def api_arn(api_id: str) -> str:
    return f"arn:aws:apigateway:{REGION}::/apis/{api_id}"


def new_api(apigw, **kwargs) -> str:
    return apigw.create_api(Name=unique("api"), ProtocolType="HTTP", **kwargs)["ApiId"]


def strip(resp: dict) -> dict:
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def test_quick_create_with_the_cli(server, apigw):
    rc, out, err = aws(server, "apigatewayv2", "create-api", "--name", "shop", "--protocol-type", "HTTP", "--target", FN)
    assert rc == 0, err
    api = json.loads(out)
    api_id = api["ApiId"]
    assert len(api_id) == 10 and api_id.isalnum() and api_id.islower()
    port = server.address.rsplit(":", 1)[1]
    assert api["ApiEndpoint"] == f"http://{api_id}.execute-api.localhost:{port}"
    assert api["Name"] == "shop"
    assert api["ProtocolType"] == "HTTP"
    assert api["RouteSelectionExpression"] == "$request.method $request.path"
    assert api["ApiKeySelectionExpression"] == "$request.header.x-api-key"
    assert api["DisableExecuteApiEndpoint"] is False

    integrations = apigw.get_integrations(ApiId=api_id)["Items"]
    assert len(integrations) == 1
    integration = integrations[0]
    assert len(integration["IntegrationId"]) == 7
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["IntegrationUri"] == FN
    assert integration["IntegrationMethod"] == "POST"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert integration["TimeoutInMillis"] == 30000
    assert integration["ConnectionType"] == "INTERNET"
    assert integration["ApiGatewayManaged"] is True

    routes = apigw.get_routes(ApiId=api_id)["Items"]
    assert [(r["RouteKey"], r["Target"], r["AuthorizationType"]) for r in routes] == [
        ("$default", f"integrations/{integration['IntegrationId']}", "NONE")
    ]
    assert routes[0]["ApiGatewayManaged"] is True

    stage = apigw.get_stage(ApiId=api_id, StageName="$default")
    assert stage["AutoDeploy"] is True
    assert stage["ApiGatewayManaged"] is True
    assert isinstance(stage["CreatedDate"], datetime)
    deployments = apigw.get_deployments(ApiId=api_id)["Items"]
    assert [d["DeploymentId"] for d in deployments] == [stage["DeploymentId"]]
    assert deployments[0]["AutoDeployed"] is True
    assert deployments[0]["DeploymentStatus"] == "DEPLOYED"

    # The CLI reads what it made.
    rc, out, err = aws(server, "apigatewayv2", "get-api", "--api-id", api_id)
    assert rc == 0, err
    assert json.loads(out)["Name"] == "shop"
    rc, out, err = aws(server, "apigatewayv2", "get-routes", "--api-id", api_id)
    assert rc == 0, err
    assert json.loads(out)["Items"][0]["RouteKey"] == "$default"


def test_quick_create_with_a_route_key_and_an_update(apigw):
    api = apigw.create_api(Name=unique("qc"), ProtocolType="HTTP", Target=APIGW_FN_URI, RouteKey="GET /items/{id}")
    api_id = api["ApiId"]
    assert [r["RouteKey"] for r in apigw.get_routes(ApiId=api_id)["Items"]] == ["GET /items/{id}"]
    # UpdateApi changes the quick-created route and integration.
    other = function_arn("other")
    apigw.update_api(ApiId=api_id, Target=other, RouteKey="ANY /{proxy+}")
    assert [r["RouteKey"] for r in apigw.get_routes(ApiId=api_id)["Items"]] == ["ANY /{proxy+}"]
    assert apigw.get_integrations(ApiId=api_id)["Items"][0]["IntegrationUri"] == other


def test_api_life_cycle(apigw):
    cors = {"AllowOrigins": ["https://shop.example"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["content-type"], "MaxAge": 300, "AllowCredentials": True}
    name = unique("shop")
    created = apigw.create_api(
        Name=name, ProtocolType="HTTP", Description="the shop", CorsConfiguration=cors, Tags={"team": "web"}, Version="1.0"
    )
    api_id = created["ApiId"]
    got = strip(apigw.get_api(ApiId=api_id))
    assert got == strip(created)
    assert got["CorsConfiguration"] == cors
    assert got["Tags"] == {"team": "web"}
    assert got["Description"] == "the shop"
    assert got["Version"] == "1.0"

    updated = apigw.update_api(ApiId=api_id, Name=name + "-2", Description="changed", DisableExecuteApiEndpoint=True)
    assert updated["Name"] == name + "-2"
    assert updated["Description"] == "changed"
    assert updated["DisableExecuteApiEndpoint"] is True
    assert updated["CorsConfiguration"] == cors
    apigw.delete_cors_configuration(ApiId=api_id)
    assert "CorsConfiguration" not in apigw.get_api(ApiId=api_id)

    apigw.delete_api(ApiId=api_id)
    with pytest.raises(ClientError) as e:
        apigw.get_api(ApiId=api_id)
    assert error_code(e) == "NotFoundException"
    assert http_status(e) == 404
    assert error_message(e) == f"Invalid API identifier specified {ACCOUNT_ID}:{api_id}"
    with pytest.raises(ClientError) as e:
        apigw.delete_api(ApiId=api_id)
    assert error_code(e) == "NotFoundException"


def test_get_apis_pages(apigw):
    made = {new_api(apigw) for _ in range(5)}
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"MaxResults": "2"}
        if token:
            kwargs["NextToken"] = token
        page = apigw.get_apis(**kwargs)
        assert len(page["Items"]) <= 2
        seen += [a["ApiId"] for a in page["Items"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert made <= set(seen)
    assert len(seen) == len(set(seen))
    assert pages >= 3
    # The paginator follows the same tokens.
    listed = [a["ApiId"] for p in apigw.get_paginator("get_apis").paginate(PaginationConfig={"PageSize": 2}) for a in p["Items"]]
    assert listed == seen


def test_routes_and_integrations(apigw):
    api_id = new_api(apigw)
    lam = apigw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=FN)
    assert lam["PayloadFormatVersion"] == "2.0"
    assert lam["TimeoutInMillis"] == 30000
    assert lam["IntegrationMethod"] == "POST"
    v1 = apigw.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=APIGW_FN_URI, PayloadFormatVersion="1.0", TimeoutInMillis=5000
    )
    assert (v1["PayloadFormatVersion"], v1["TimeoutInMillis"]) == ("1.0", 5000)
    web = apigw.create_integration(
        ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationUri="https://example.com/{proxy}", IntegrationMethod="ANY"
    )
    assert web["PayloadFormatVersion"] == "1.0"
    assert strip(apigw.get_integration(ApiId=api_id, IntegrationId=web["IntegrationId"])) == strip(web)

    route = apigw.create_route(ApiId=api_id, RouteKey="GET /items/{id}", Target=f"integrations/{lam['IntegrationId']}")
    assert len(route["RouteId"]) == 7
    assert route["AuthorizationType"] == "NONE"
    assert route["ApiKeyRequired"] is False
    iam = apigw.create_route(ApiId=api_id, RouteKey="POST /items", AuthorizationType="AWS_IAM", Target=f"integrations/{v1['IntegrationId']}")
    assert iam["AuthorizationType"] == "AWS_IAM"
    proxy = apigw.create_route(ApiId=api_id, RouteKey="ANY /{proxy+}", Target=f"integrations/{web['IntegrationId']}")
    assert strip(apigw.get_route(ApiId=api_id, RouteId=route["RouteId"])) == strip(route)
    keys = sorted(r["RouteKey"] for r in apigw.get_routes(ApiId=api_id)["Items"])
    assert keys == ["ANY /{proxy+}", "GET /items/{id}", "POST /items"]

    # Duplicates conflict; updates move keys and targets.
    with pytest.raises(ClientError) as e:
        apigw.create_route(ApiId=api_id, RouteKey="GET /items/{id}")
    assert (error_code(e), http_status(e)) == ("ConflictException", 409)
    updated = apigw.update_route(ApiId=api_id, RouteId=route["RouteId"], RouteKey="GET /things/{id}", Target=f"integrations/{v1['IntegrationId']}")
    assert updated["RouteKey"] == "GET /things/{id}"
    assert updated["Target"] == f"integrations/{v1['IntegrationId']}"
    with pytest.raises(ClientError) as e:
        apigw.update_route(ApiId=api_id, RouteId=route["RouteId"], RouteKey="POST /items")
    assert error_code(e) == "ConflictException"

    changed = apigw.update_integration(ApiId=api_id, IntegrationId=lam["IntegrationId"], TimeoutInMillis=100, PayloadFormatVersion="1.0")
    assert (changed["TimeoutInMillis"], changed["PayloadFormatVersion"], changed["IntegrationUri"]) == (100, "1.0", FN)

    # An integration a route uses cannot go; once unused it can.
    with pytest.raises(ClientError) as e:
        apigw.delete_integration(ApiId=api_id, IntegrationId=web["IntegrationId"])
    assert error_code(e) == "ConflictException"
    apigw.delete_route(ApiId=api_id, RouteId=proxy["RouteId"])
    apigw.delete_integration(ApiId=api_id, IntegrationId=web["IntegrationId"])
    with pytest.raises(ClientError) as e:
        apigw.get_integration(ApiId=api_id, IntegrationId=web["IntegrationId"])
    assert error_code(e) == "NotFoundException"
    assert error_message(e) == f"Invalid Integration identifier specified {web['IntegrationId']}"
    with pytest.raises(ClientError) as e:
        apigw.get_route(ApiId=api_id, RouteId=proxy["RouteId"])
    assert error_code(e) == "NotFoundException"
    assert error_message(e) == f"Invalid Route identifier specified {proxy['RouteId']}"


def test_stages_and_deployments(apigw):
    api_id = new_api(apigw)
    lam = apigw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=FN)
    with pytest.raises(ClientError) as e:
        apigw.create_deployment(ApiId=api_id)
    assert error_code(e) == "BadRequestException"
    assert error_message(e) == "Unable to deploy API because no routes exist in this API"
    apigw.create_route(ApiId=api_id, RouteKey="GET /", Target=f"integrations/{lam['IntegrationId']}")

    stage = apigw.create_stage(ApiId=api_id, StageName="prod", StageVariables={"env": "production"}, Tags={"tier": "1"})
    assert stage["StageName"] == "prod"
    assert stage["AutoDeploy"] is False
    assert stage["StageVariables"] == {"env": "production"}
    assert stage["Tags"] == {"tier": "1"}
    assert "DeploymentId" not in stage
    with pytest.raises(ClientError) as e:
        apigw.create_stage(ApiId=api_id, StageName="prod")
    assert (error_code(e), http_status(e)) == ("ConflictException", 409)

    deployment = apigw.create_deployment(ApiId=api_id, StageName="prod", Description="first")
    assert len(deployment["DeploymentId"]) == 7
    assert deployment["DeploymentStatus"] == "DEPLOYED"
    assert deployment["AutoDeployed"] is False
    assert deployment["Description"] == "first"
    assert apigw.get_stage(ApiId=api_id, StageName="prod")["DeploymentId"] == deployment["DeploymentId"]
    assert strip(apigw.get_deployment(ApiId=api_id, DeploymentId=deployment["DeploymentId"])) == strip(deployment)
    assert apigw.update_deployment(ApiId=api_id, DeploymentId=deployment["DeploymentId"], Description="renamed")["Description"] == "renamed"

    second = apigw.create_deployment(ApiId=api_id)
    assert {d["DeploymentId"] for d in apigw.get_deployments(ApiId=api_id)["Items"]} == {
        deployment["DeploymentId"],
        second["DeploymentId"],
    }
    updated = apigw.update_stage(
        ApiId=api_id, StageName="prod", DeploymentId=second["DeploymentId"], StageVariables={"region": "eu"}, Description="live"
    )
    assert updated["DeploymentId"] == second["DeploymentId"]
    assert updated["StageVariables"] == {"env": "production", "region": "eu"}
    assert updated["Description"] == "live"
    apigw.delete_deployment(ApiId=api_id, DeploymentId=deployment["DeploymentId"])
    with pytest.raises(ClientError) as e:
        apigw.delete_deployment(ApiId=api_id, DeploymentId=second["DeploymentId"])
    assert error_code(e) == "BadRequestException"

    auto = apigw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    assert auto["AutoDeploy"] is True
    assert auto["DeploymentId"] not in (deployment["DeploymentId"], second["DeploymentId"])
    assert sorted(s["StageName"] for s in apigw.get_stages(ApiId=api_id)["Items"]) == ["$default", "prod"]

    apigw.delete_stage(ApiId=api_id, StageName="prod")
    with pytest.raises(ClientError) as e:
        apigw.get_stage(ApiId=api_id, StageName="prod")
    assert error_code(e) == "NotFoundException"
    with pytest.raises(ClientError) as e:
        apigw.update_stage(ApiId=api_id, StageName="prod", Description="x")
    assert error_code(e) == "NotFoundException"


def test_tags_on_apis_and_stages(apigw):
    api_id = new_api(apigw, Tags={"a": "1"})
    apigw.tag_resource(ResourceArn=api_arn(api_id), Tags={"b": "2", "c": "3"})
    apigw.untag_resource(ResourceArn=api_arn(api_id), TagKeys=["a", "c"])
    assert apigw.get_tags(ResourceArn=api_arn(api_id))["Tags"] == {"b": "2"}
    assert apigw.get_api(ApiId=api_id)["Tags"] == {"b": "2"}

    apigw.create_stage(ApiId=api_id, StageName="dev")
    stage_arn = f"{api_arn(api_id)}/stages/dev"
    apigw.tag_resource(ResourceArn=stage_arn, Tags={"s": "x"})
    assert apigw.get_tags(ResourceArn=stage_arn)["Tags"] == {"s": "x"}
    assert apigw.get_stage(ApiId=api_id, StageName="dev")["Tags"] == {"s": "x"}

    with pytest.raises(ClientError) as e:
        apigw.get_tags(ResourceArn=api_arn("nosuchapi1"))
    assert error_code(e) == "NotFoundException"
    with pytest.raises(ClientError) as e:
        apigw.tag_resource(ResourceArn=f"{api_arn(api_id)}/stages/nope", Tags={"a": "b"})
    assert error_code(e) == "NotFoundException"


@pytest.mark.parametrize(
    "call,kwargs,code,message",
    [
        ("create_api", {"Name": "ws", "ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"}, "BadRequestException", "WebSocket APIs are not implemented in Eddy yet; use protocolType HTTP."),
        ("create_api", {"Name": "x", "ProtocolType": "HTTP", "Target": "not-a-function"}, "BadRequestException", "Invalid target specified not-a-function: use a Lambda function ARN or an HTTP(S) URL."),
        ("create_api", {"Name": "x", "ProtocolType": "HTTP", "Target": FN, "RouteKey": "GET items"}, "BadRequestException", "Invalid route key: route key 'GET items' has a path that does not start with '/'."),
        ("create_api", {"Name": "x", "ProtocolType": "HTTP", "CorsConfiguration": {"MaxAge": 100000}}, "BadRequestException", "Invalid CORS maxAge 100000: it must be between -1 and 86400."),
        ("create_api", {"Name": "x" * 129, "ProtocolType": "HTTP"}, "BadRequestException", "Invalid input: name must be between 1 and 128 characters long."),
        ("create_api", {"Name": "x", "ProtocolType": "SOAP"}, "BadRequestException", "Invalid protocolType SOAP: use HTTP."),
        ("create_api", {"ProtocolType": "HTTP"}, "BadRequestException", "Invalid input: name is required."),
    ],
)
def test_bad_apis(loose, call, kwargs, code, message):
    with pytest.raises(ClientError) as e:
        getattr(loose, call)(**kwargs)
    assert (error_code(e), error_message(e)) == (code, message)
    assert http_status(e) == 400


@pytest.fixture(scope="module")
def api_with_integration(apigw):
    api_id = new_api(apigw)
    integration = apigw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=FN)["IntegrationId"]
    return api_id, integration


@pytest.mark.parametrize(
    "call,kwargs,code,message",
    [
        ("create_route", {"RouteKey": "FETCH /x"}, "BadRequestException", "Invalid route key: route key 'FETCH /x' has an unsupported method 'FETCH'."),
        ("create_route", {"RouteKey": "GET /{proxy+}/x"}, "BadRequestException", "Invalid route key: route key 'GET /{proxy+}/x' has a greedy path variable that is not the last segment."),
        ("create_route", {"RouteKey": "GET /{id}/{id}"}, "BadRequestException", "Invalid route key: route key 'GET /{id}/{id}' names path variable 'id' twice."),
        ("create_route", {"RouteKey": "GET /x", "AuthorizationType": "JWT", "AuthorizerId": "abc1234"}, "NotFoundException", "Invalid Authorizer identifier specified abc1234"),
        ("create_route", {"RouteKey": "GET /x", "AuthorizationType": "CUSTOM"}, "BadRequestException", "Authorization type CUSTOM needs an authorizerId."),
        ("create_authorizer", {"Name": "a", "AuthorizerType": "JWT", "IdentitySource": ["$request.header.Authorization"]}, "BadRequestException", "Invalid input: jwtConfiguration is required for JWT authorizers."),
        ("get_authorizer", {"AuthorizerId": "nope12"}, "NotFoundException", "Invalid Authorizer identifier specified nope12"),
        ("create_route", {"RouteKey": "GET /x", "Target": "integrations/nope123"}, "BadRequestException", "Invalid target integrations/nope123: this API has no integration nope123."),
        ("create_integration", {"IntegrationType": "AWS_PROXY", "IntegrationUri": FN, "TimeoutInMillis": 30001}, "BadRequestException", "Invalid timeoutInMillis 30001: it must be between 50 and 30000."),
        ("create_integration", {"IntegrationType": "AWS_PROXY", "IntegrationUri": FN, "TimeoutInMillis": 10}, "BadRequestException", "Invalid timeoutInMillis 10: it must be between 50 and 30000."),
        ("create_integration", {"IntegrationType": "AWS_PROXY", "IntegrationUri": FN, "PayloadFormatVersion": "3.0"}, "BadRequestException", "Invalid payloadFormatVersion 3.0: Lambda proxy integrations support 1.0 and 2.0."),
        ("create_integration", {"IntegrationType": "AWS_PROXY", "IntegrationUri": "arn:aws:s3:::bucket"}, "BadRequestException", "Invalid integration URI specified arn:aws:s3:::bucket: use a Lambda function ARN or arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations."),
        ("create_integration", {"IntegrationType": "HTTP_PROXY", "IntegrationUri": "https://example.com"}, "BadRequestException", "Invalid input: integrationMethod is required for HTTP_PROXY integrations."),
        ("create_integration", {"IntegrationType": "MOCK", "IntegrationUri": "x"}, "BadRequestException", "Integration type MOCK is not supported for HTTP APIs; use AWS_PROXY or HTTP_PROXY."),
        ("create_stage", {"StageName": "bad name"}, "BadRequestException", "Invalid stage name bad name: use $default or letters, digits, '-' and '_' (at most 128)."),
        ("create_stage", {"StageName": "v", "StageVariables": {"a b": "c"}}, "BadRequestException", "Invalid stage variable name a b: use letters, digits and '_' (at most 64)."),
        ("create_stage", {"StageName": "v", "DeploymentId": "nope123"}, "NotFoundException", "Invalid Deployment identifier specified nope123"),
        ("create_deployment", {"StageName": "nope"}, "NotFoundException", "Invalid stage identifier specified nope"),
        ("get_route", {"RouteId": "nope123"}, "NotFoundException", "Invalid Route identifier specified nope123"),
        ("get_stage", {"StageName": "nope"}, "NotFoundException", "Invalid stage identifier specified nope"),
    ],
)
def test_bad_api_parts(loose, api_with_integration, call, kwargs, code, message):
    api_id, _ = api_with_integration
    with pytest.raises(ClientError) as e:
        getattr(loose, call)(ApiId=api_id, **kwargs)
    assert (error_code(e), error_message(e)) == (code, message)


def test_missing_api_everywhere(apigw):
    missing = "nosuchapi0"
    expected = f"Invalid API identifier specified {ACCOUNT_ID}:{missing}"
    for call, kwargs in [
        ("get_routes", {}),
        ("create_route", {"RouteKey": "GET /"}),
        ("get_integrations", {}),
        ("get_stages", {}),
        ("create_stage", {"StageName": "x"}),
        ("get_deployments", {}),
        ("update_api", {"Name": "x"}),
    ]:
        with pytest.raises(ClientError) as e:
            getattr(apigw, call)(ApiId=missing, **kwargs)
        assert (error_code(e), error_message(e), http_status(e)) == ("NotFoundException", expected, 404), call


def test_an_api_of_another_region_is_not_found(server, apigw):
    api_id = new_api(apigw)
    other = server.client("apigatewayv2", region="eu-west-1")
    with pytest.raises(ClientError) as e:
        other.get_api(ApiId=api_id)
    assert error_code(e) == "NotFoundException"
    assert api_id not in [a["ApiId"] for a in other.get_apis()["Items"]]


def test_unimplemented_rest_api_operations(server):
    # REST APIs themselves are served (test_apigw_rest.py); API keys are not.
    v1 = server.client("apigateway")
    with pytest.raises(ClientError) as e:
        v1.get_api_keys()
    assert http_status(e) == 501
    assert error_code(e) == "NotImplemented"


def test_kill9_keeps_apis(fresh_server):
    srv = fresh_server()
    apigw = srv.client("apigatewayv2")
    quick = apigw.create_api(Name="quick", ProtocolType="HTTP", Target=FN, Tags={"k": "v"})["ApiId"]
    api_id = apigw.create_api(Name="manual", ProtocolType="HTTP", CorsConfiguration={"AllowOrigins": ["*"]})["ApiId"]
    lam = apigw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=FN, PayloadFormatVersion="1.0")
    route = apigw.create_route(ApiId=api_id, RouteKey="GET /items/{id}", Target=f"integrations/{lam['IntegrationId']}")
    apigw.create_stage(ApiId=api_id, StageName="prod", StageVariables={"env": "p"})
    deployment = apigw.create_deployment(ApiId=api_id, StageName="prod")

    def snapshot():
        out = {}
        for a in (quick, api_id):
            api = strip(apigw.get_api(ApiId=a))
            api.pop("ApiEndpoint")  # the restarted server listens on another port
            out[a] = {
                "api": api,
                "routes": apigw.get_routes(ApiId=a)["Items"],
                "integrations": apigw.get_integrations(ApiId=a)["Items"],
                "stages": apigw.get_stages(ApiId=a)["Items"],
                "deployments": apigw.get_deployments(ApiId=a)["Items"],
                "tags": apigw.get_tags(ResourceArn=api_arn(a))["Tags"],
            }
        return out

    before = snapshot()
    srv.kill9()
    srv.start()
    apigw = srv.client("apigatewayv2")
    assert snapshot() == before
    port = srv.address.rsplit(":", 1)[1]
    assert apigw.get_api(ApiId=api_id)["ApiEndpoint"] == f"http://{api_id}.execute-api.localhost:{port}"
    assert apigw.get_stage(ApiId=api_id, StageName="prod")["DeploymentId"] == deployment["DeploymentId"]

    # The loaded state takes changes as before, and deletions stick across another kill.
    with pytest.raises(ClientError) as e:
        apigw.create_route(ApiId=api_id, RouteKey="GET /items/{id}")
    assert error_code(e) == "ConflictException"
    apigw.delete_route(ApiId=api_id, RouteId=route["RouteId"])
    apigw.delete_api(ApiId=quick)
    srv.kill9()
    srv.start()
    apigw = srv.client("apigatewayv2")
    assert apigw.get_routes(ApiId=api_id)["Items"] == []
    with pytest.raises(ClientError) as e:
        apigw.get_api(ApiId=quick)
    assert error_code(e) == "NotFoundException"
