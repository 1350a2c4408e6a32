"""Function URLs, the control plane: Create, Get, Update, Delete and
ListFunctionUrlConfig(s) through boto3, for functions and aliases, with the
errors AWS sends (recorded against AWS by LocalStack's snapshot tests), and
URLs that keep their address across kill -9. Serving HTTP on the URLs is the
data plane's subject, not this file's."""

import re

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, REGION, create_function, error_code, error_message, http_status, unique

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n"

TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
NO_RESOURCE = "The resource you requested does not exist."
NO_FUNCTION = "Function does not exist"
FULL_CORS_DEFAULTS = {
    "AllowCredentials": False,
    "AllowHeaders": [],
    "AllowMethods": [],
    "AllowOrigins": [],
    "ExposeHeaders": [],
    "MaxAge": 0,
}


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def url_id(server, url: str) -> str:
    """The URL id of a function URL on `server`, checking the whole address's shape."""
    port = server.address.rsplit(":", 1)[1]
    m = re.fullmatch(rf"http://([a-z0-9]{{32}})\.lambda-url\.{REGION}\.localhost:{port}/", url)
    assert m, f"unexpected FunctionUrl {url!r} (server on port {port})"
    return m.group(1)


def strip(resp: dict) -> dict:
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


@pytest.fixture(scope="module")
def raw_client(server):
    # botocore checks required members and minimums before sending; the point
    # here is what the server answers, so client-side validation is off.
    return server.client("lambda", parameter_validation=False)


@pytest.fixture(scope="module")
def fn_with_alias(lambda_client):
    """A function with version 1 and alias `live` pointing at it."""
    name = unique("furl")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER})
    version = lambda_client.publish_version(FunctionName=name)["Version"]
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    return name


def new_function(lambda_client, prefix: str = "furl") -> str:
    name = unique(prefix)
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER})
    return name


def test_lifecycle_of_a_function_url(server, lambda_client):
    name = new_function(lambda_client)

    created = lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    uid = url_id(server, created["FunctionUrl"])
    # As AWS: Create shows no LastModifiedTime, and InvokeMode only when given.
    assert set(strip(created)) == {"FunctionUrl", "FunctionArn", "AuthType", "CreationTime"}, created
    assert created["FunctionArn"] == fn_arn(name)
    assert created["AuthType"] == "NONE"
    assert TIMESTAMP_RE.match(created["CreationTime"]), created["CreationTime"]

    got = lambda_client.get_function_url_config(FunctionName=name)
    assert strip(got) == {
        "FunctionUrl": created["FunctionUrl"],
        "FunctionArn": fn_arn(name),
        "AuthType": "NONE",
        "CreationTime": created["CreationTime"],
        "LastModifiedTime": created["CreationTime"],
        "InvokeMode": "BUFFERED",
    }

    updated = lambda_client.update_function_url_config(
        FunctionName=name,
        AuthType="AWS_IAM",
        Cors={"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET", "POST"], "MaxAge": 300},
    )
    assert updated["FunctionUrl"] == created["FunctionUrl"], "a URL's address never changes"
    assert updated["AuthType"] == "AWS_IAM"
    assert updated["CreationTime"] == created["CreationTime"]
    assert TIMESTAMP_RE.match(updated["LastModifiedTime"])
    assert updated["LastModifiedTime"] >= created["CreationTime"]
    assert "InvokeMode" not in updated, "AWS echoes InvokeMode from Update only once it was set"
    assert updated["Cors"] == {
        **FULL_CORS_DEFAULTS,
        "AllowOrigins": ["https://example.com"],
        "AllowMethods": ["GET", "POST"],
        "MaxAge": 300,
    }

    got = lambda_client.get_function_url_config(FunctionName=name)
    assert got["AuthType"] == "AWS_IAM"
    assert got["Cors"] == updated["Cors"]
    assert got["LastModifiedTime"] == updated["LastModifiedTime"]

    deleted = lambda_client.delete_function_url_config(FunctionName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lambda_client.get_function_url_config(FunctionName=name)
    assert error_code(exc) == "ResourceNotFoundException"
    assert error_message(exc) == NO_RESOURCE
    assert http_status(exc) == 404

    again = lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert url_id(server, again["FunctionUrl"]) != uid, "a new URL gets a new address"


def test_create_twice_conflicts(lambda_client):
    name = new_function(lambda_client)
    lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")
    with pytest.raises(ClientError) as exc:
        lambda_client.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    assert error_code(exc) == "ResourceConflictException"
    assert http_status(exc) == 409
    assert error_message(exc) == (
        f"Failed to create function url config for [functionArn = {fn_arn(name)}]. "
        "Error message:  FunctionUrlConfig exists for this Lambda function"
    )
    assert lambda_client.get_function_url_config(FunctionName=name)["AuthType"] == "NONE"


def test_invoke_mode_and_cors(lambda_client):
    name = new_function(lambda_client)
    created = lambda_client.create_function_url_config(
        FunctionName=name,
        AuthType="NONE",
        InvokeMode="RESPONSE_STREAM",
        Cors={"AllowCredentials": True, "AllowOrigins": ["*"], "ExposeHeaders": ["x-trace"]},
    )
    assert created["InvokeMode"] == "RESPONSE_STREAM"
    assert created["Cors"] == {
        **FULL_CORS_DEFAULTS,
        "AllowCredentials": True,
        "AllowOrigins": ["*"],
        "ExposeHeaders": ["x-trace"],
    }

    # An update that names nothing keeps everything and moves LastModifiedTime.
    before = lambda_client.get_function_url_config(FunctionName=name)
    updated = lambda_client.update_function_url_config(FunctionName=name)
    assert updated["InvokeMode"] == "RESPONSE_STREAM"
    assert updated["Cors"] == created["Cors"]
    assert updated["LastModifiedTime"] >= before["LastModifiedTime"]

    # A new Cors replaces the old one whole.
    updated = lambda_client.update_function_url_config(
        FunctionName=name, InvokeMode="BUFFERED", Cors={"AllowMethods": ["*"]}
    )
    assert updated["InvokeMode"] == "BUFFERED"
    assert updated["Cors"] == {**FULL_CORS_DEFAULTS, "AllowMethods": ["*"]}
    got = lambda_client.get_function_url_config(FunctionName=name)
    assert got["InvokeMode"] == "BUFFERED"
    assert got["Cors"] == updated["Cors"]


def test_alias_urls(server, lambda_client, fn_with_alias):
    name = fn_with_alias
    plain = lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")
    live = lambda_client.create_function_url_config(FunctionName=name, Qualifier="live", AuthType="AWS_IAM")
    assert live["FunctionArn"] == f"{fn_arn(name)}:live"
    assert url_id(server, live["FunctionUrl"]) != url_id(server, plain["FunctionUrl"])

    # The alias in the name is the same as the alias in Qualifier.
    got = lambda_client.get_function_url_config(FunctionName=f"{name}:live")
    assert got["FunctionUrl"] == live["FunctionUrl"]
    got = lambda_client.get_function_url_config(FunctionName=f"{fn_arn(name)}:live")
    assert got["AuthType"] == "AWS_IAM"
    with pytest.raises(ClientError) as exc:
        lambda_client.get_function_url_config(FunctionName=f"{name}:live", Qualifier="other")
    assert error_code(exc) == "InvalidParameterValueException"
    assert error_message(exc) == "The derived qualifier from the function name does not match the specified qualifier."

    with pytest.raises(ClientError) as exc:
        lambda_client.create_function_url_config(FunctionName=name, Qualifier="live", AuthType="NONE")
    assert error_code(exc) == "ResourceConflictException"
    assert f"[functionArn = {fn_arn(name)}:live]" in error_message(exc)

    listed = lambda_client.list_function_url_configs(FunctionName=name)
    assert "NextMarker" not in listed
    by_arn = {c["FunctionArn"]: c for c in listed["FunctionUrlConfigs"]}
    assert set(by_arn) == {fn_arn(name), f"{fn_arn(name)}:live"}
    assert by_arn[f"{fn_arn(name)}:live"]["FunctionUrl"] == live["FunctionUrl"]
    assert by_arn[f"{fn_arn(name)}:live"]["InvokeMode"] == "BUFFERED"
    assert TIMESTAMP_RE.match(by_arn[fn_arn(name)]["LastModifiedTime"])

    updated = lambda_client.update_function_url_config(FunctionName=name, Qualifier="live", AuthType="NONE")
    assert updated["FunctionArn"] == f"{fn_arn(name)}:live"
    assert lambda_client.get_function_url_config(FunctionName=name)["AuthType"] == "NONE"

    # Deleting the function's URL leaves the alias's (as AWS does), and back.
    lambda_client.delete_function_url_config(FunctionName=name)
    assert lambda_client.get_function_url_config(FunctionName=name, Qualifier="live")["FunctionUrl"] == live["FunctionUrl"]
    lambda_client.delete_function_url_config(FunctionName=name, Qualifier="live")
    assert lambda_client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []


@pytest.mark.parametrize("qualifier", ["$LATEST", "1", "2"])
def test_versions_are_refused(lambda_client, fn_with_alias, qualifier):
    calls = {
        "create": lambda: lambda_client.create_function_url_config(
            FunctionName=fn_with_alias, Qualifier=qualifier, AuthType="NONE"
        ),
        "get": lambda: lambda_client.get_function_url_config(FunctionName=fn_with_alias, Qualifier=qualifier),
        "update": lambda: lambda_client.update_function_url_config(
            FunctionName=fn_with_alias, Qualifier=qualifier, AuthType="NONE"
        ),
        "delete": lambda: lambda_client.delete_function_url_config(FunctionName=fn_with_alias, Qualifier=qualifier),
    }
    for op, call in calls.items():
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "ValidationException", (op, exc.value.response)
        assert http_status(exc) == 400
        assert error_message(exc) == (
            f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)"
        ), op
    # A version in the function's name is a qualifier too.
    with pytest.raises(ClientError) as exc:
        lambda_client.get_function_url_config(FunctionName=f"{fn_with_alias}:1")
    assert error_code(exc) == "ValidationException"


def test_missing_function_alias_or_url(lambda_client, fn_with_alias):
    missing = unique("furl-missing")
    cases = [
        ("create", dict(FunctionName=missing, AuthType="NONE"), NO_FUNCTION),
        ("create", dict(FunctionName=fn_arn(missing), AuthType="NONE"), NO_FUNCTION),
        ("create", dict(FunctionName=fn_with_alias, Qualifier="nope", AuthType="NONE"), NO_FUNCTION),
        ("get", dict(FunctionName=missing), NO_RESOURCE),
        ("get", dict(FunctionName=fn_with_alias, Qualifier="nope"), NO_RESOURCE),
        ("update", dict(FunctionName=missing, AuthType="NONE"), NO_FUNCTION),
        ("update", dict(FunctionName=fn_with_alias, Qualifier="nope", AuthType="NONE"), NO_FUNCTION),
        ("delete", dict(FunctionName=missing), NO_RESOURCE),
        ("delete", dict(FunctionName=fn_with_alias, Qualifier="nope"), NO_RESOURCE),
        ("list", dict(FunctionName=missing), NO_FUNCTION),
    ]
    ops = {
        "create": lambda_client.create_function_url_config,
        "get": lambda_client.get_function_url_config,
        "update": lambda_client.update_function_url_config,
        "delete": lambda_client.delete_function_url_config,
        "list": lambda_client.list_function_url_configs,
    }
    for op, args, message in cases:
        with pytest.raises(ClientError) as exc:
            ops[op](**args)
        assert error_code(exc) == "ResourceNotFoundException", (op, args, exc.value.response)
        assert http_status(exc) == 404
        assert error_message(exc) == message, (op, args)

    # A function without a URL.
    name = new_function(lambda_client)
    for op in ("get", "delete"):
        with pytest.raises(ClientError) as exc:
            ops[op](FunctionName=name)
        assert error_message(exc) == NO_RESOURCE, op
    with pytest.raises(ClientError) as exc:
        lambda_client.update_function_url_config(FunctionName=name, AuthType="NONE")
    assert error_code(exc) == "ResourceNotFoundException"
    assert error_message(exc) == NO_RESOURCE


def test_bad_input(raw_client):
    name = new_function(raw_client)
    cases = [
        (dict(), "ValidationException", "Value null at 'authType' failed to satisfy constraint: Member must not be null"),
        (
            dict(AuthType="PUBLIC"),
            "ValidationException",
            "Value 'PUBLIC' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [AWS_IAM, NONE]",
        ),
        (
            dict(AuthType="NONE", InvokeMode="STREAMING"),
            "ValidationException",
            "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]",
        ),
        (
            dict(AuthType="NONE", Cors={"MaxAge": 86401}),
            "ValidationException",
            "Value '86401' at 'cors.maxAge' failed to satisfy constraint: Member must have value less than or equal to 86400",
        ),
        (
            dict(AuthType="NONE", Cors={"MaxAge": -1}),
            "ValidationException",
            "Member must have value greater than or equal to 0",
        ),
        (
            dict(AuthType="NONE", Cors={"AllowMethods": ["GET", "PUT", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS"]}),
            "ValidationException",
            "at 'cors.allowMethods' failed to satisfy constraint: Member must have length less than or equal to 6",
        ),
        (
            dict(AuthType="NONE", Cors={"AllowMethods": ["OPTIONS"]}),
            "ValidationException",
            "Member must satisfy constraint: [Member must have length less than or equal to 6]",
        ),
        (
            dict(AuthType="NONE", Cors={"AllowOrigins": ["x" * 254]}),
            "ValidationException",
            "Member must have length less than or equal to 253",
        ),
        (
            dict(AuthType="NONE", Cors={"AllowHeaders": ["x-h"] * 101}),
            "ValidationException",
            "at 'cors.allowHeaders' failed to satisfy constraint: Member must have length less than or equal to 100",
        ),
        (
            dict(AuthType="X", InvokeMode="Y"),
            "ValidationException",
            "2 validation errors detected: ",
        ),
        (
            dict(AuthType="NONE", Qualifier="bad!alias"),
            "ValidationException",
            "Value 'bad!alias' at 'qualifier'",
        ),
    ]
    for args, code, text in cases:
        with pytest.raises(ClientError) as exc:
            raw_client.create_function_url_config(FunctionName=name, **args)
        assert error_code(exc) == code, (args, exc.value.response)
        assert http_status(exc) == 400, args
        assert text in error_message(exc), (args, error_message(exc))
    # Nothing was created by any of them.
    assert raw_client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []

    raw_client.create_function_url_config(FunctionName=name, AuthType="NONE")
    with pytest.raises(ClientError) as exc:
        raw_client.update_function_url_config(FunctionName=name, Cors={"MaxAge": 100000})
    assert error_code(exc) == "ValidationException"
    for max_items, text in [(0, "greater than or equal to 1"), (51, "less than or equal to 50")]:
        with pytest.raises(ClientError) as exc:
            raw_client.list_function_url_configs(FunctionName=name, MaxItems=max_items)
        assert error_code(exc) == "ValidationException", max_items
        assert f"Value '{max_items}' at 'maxItems' failed to satisfy constraint: Member must have value {text}" in error_message(exc)


def test_list_pagination(lambda_client):
    name = new_function(lambda_client)
    version = lambda_client.publish_version(FunctionName=name)["Version"]
    aliases = ["a1", "b2", "c3", "d4"]
    created = {lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]}
    for alias in aliases:
        lambda_client.create_alias(FunctionName=name, Name=alias, FunctionVersion=version)
        resp = lambda_client.create_function_url_config(FunctionName=name, Qualifier=alias, AuthType="AWS_IAM")
        created.add(resp["FunctionUrl"])
    assert len(created) == 5

    seen = []
    marker = None
    pages = 0
    while True:
        kwargs = {"Marker": marker} if marker else {}
        page = lambda_client.list_function_url_configs(FunctionName=name, MaxItems=2, **kwargs)
        pages += 1
        assert len(page["FunctionUrlConfigs"]) <= 2
        seen += [c["FunctionUrl"] for c in page["FunctionUrlConfigs"]]
        marker = page.get("NextMarker")
        if not marker:
            break
        assert pages < 10, "pagination does not end"
    assert pages == 3
    assert len(seen) == 5 and set(seen) == created

    paged = lambda_client.get_paginator("list_function_url_configs").paginate(
        FunctionName=name, PaginationConfig={"PageSize": 1}
    )
    assert sorted(c["FunctionUrl"] for p in paged for c in p["FunctionUrlConfigs"]) == sorted(created)


def test_deleting_function_or_alias_deletes_urls(lambda_client):
    name = new_function(lambda_client)
    version = lambda_client.publish_version(FunctionName=name)["Version"]
    lambda_client.create_alias(FunctionName=name, Name="gone", FunctionVersion=version)
    lambda_client.create_alias(FunctionName=name, Name="kept", FunctionVersion=version)
    lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")
    lambda_client.create_function_url_config(FunctionName=name, Qualifier="gone", AuthType="NONE")
    lambda_client.create_function_url_config(FunctionName=name, Qualifier="kept", AuthType="NONE")

    lambda_client.delete_alias(FunctionName=name, Name="gone")
    arns = {c["FunctionArn"] for c in lambda_client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]}
    assert arns == {fn_arn(name), f"{fn_arn(name)}:kept"}
    # A new alias of the same name starts without a URL.
    lambda_client.create_alias(FunctionName=name, Name="gone", FunctionVersion=version)
    with pytest.raises(ClientError) as exc:
        lambda_client.get_function_url_config(FunctionName=name, Qualifier="gone")
    assert error_code(exc) == "ResourceNotFoundException"
    # Deleting a version (no URL can name one) leaves the URLs alone.
    lambda_client.delete_alias(FunctionName=name, Name="gone")
    lambda_client.delete_alias(FunctionName=name, Name="kept")
    lambda_client.delete_function(FunctionName=name, Qualifier=version)
    assert [c["FunctionArn"] for c in lambda_client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]] == [
        fn_arn(name)
    ]

    lambda_client.delete_function(FunctionName=name)
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER})
    assert lambda_client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []
    with pytest.raises(ClientError) as exc:
        lambda_client.get_function_url_config(FunctionName=name)
    assert error_code(exc) == "ResourceNotFoundException"


@pytest.mark.timeout(120)
def test_urls_survive_kill9(fresh_server):
    srv = fresh_server()
    client = srv.client("lambda")
    name = new_function(client, "furl-durable")
    version = client.publish_version(FunctionName=name)["Version"]
    client.create_alias(FunctionName=name, Name="prod", FunctionVersion=version)
    plain = client.create_function_url_config(FunctionName=name, AuthType="NONE")
    prod = client.create_function_url_config(
        FunctionName=name,
        Qualifier="prod",
        AuthType="AWS_IAM",
        InvokeMode="RESPONSE_STREAM",
        Cors={"AllowOrigins": ["https://example.com"]},
    )
    before = {
        q: client.get_function_url_config(FunctionName=name, **({"Qualifier": q} if q else {}))
        for q in (None, "prod")
    }
    ids = {q: url_id(srv, before[q]["FunctionUrl"]) for q in before}
    assert ids[None] == url_id(srv, plain["FunctionUrl"])
    assert ids["prod"] == url_id(srv, prod["FunctionUrl"])

    srv.kill9()
    srv.start()  # on a new port
    client = srv.client("lambda")

    for q, old in before.items():
        now = client.get_function_url_config(FunctionName=name, **({"Qualifier": q} if q else {}))
        assert url_id(srv, now["FunctionUrl"]) == ids[q], "the URL id is kept for the URL's life"
        for key in ("FunctionArn", "AuthType", "CreationTime", "LastModifiedTime", "InvokeMode"):
            assert now[key] == old[key], key
        assert now.get("Cors") == old.get("Cors")

    # Still one URL per qualifier, and still changeable.
    with pytest.raises(ClientError) as exc:
        client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert error_code(exc) == "ResourceConflictException"
    client.delete_function_url_config(FunctionName=name, Qualifier="prod")
    srv.kill9()
    srv.start()
    client = srv.client("lambda")
    listed = client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
    assert [c["FunctionArn"] for c in listed] == [fn_arn(name)]
    assert url_id(srv, listed[0]["FunctionUrl"]) == ids[None]
