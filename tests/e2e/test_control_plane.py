"""Lambda control-plane APIs through boto3: functions, code and configuration
updates, versions, aliases, concurrency, event-invoke config and account
settings. Responses are compared with what real AWS returns."""

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError

from conftest import (
    ACCOUNT_ID,
    REGION,
    create_function,
    error_code,
    http_get,
    unique,
    wait_updated,
    zip_files,
)

HANDLER_V1 = "def handler(event, context):\n    return {'v': 1}\n"
HANDLER_V2 = "def handler(event, context):\n    return {'v': 2}\n"


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def test_create_function_response(lambda_client):
    name = unique("cp-create")
    code = zip_files({"app.py": HANDLER_V1})
    resp = create_function(lambda_client, name, "python3.12", "app.handler", code, wait=False)
    assert resp["FunctionName"] == name
    assert resp["FunctionArn"] == fn_arn(name)
    assert resp["Runtime"] == "python3.12"
    assert resp["Handler"] == "app.handler"
    assert resp["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode(), (
        "CodeSha256 must be the base64 SHA-256 of the uploaded zip"
    )
    assert resp["CodeSize"] == len(code)
    assert resp["Version"] == "$LATEST"
    assert resp["State"] in ("Pending", "Active"), resp["State"]

    lambda_client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    conf = lambda_client.get_function_configuration(FunctionName=name)
    assert conf["State"] == "Active"


def test_get_function_and_configuration(lambda_client):
    name = unique("cp-get")
    create_function(
        lambda_client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": HANDLER_V1},
        Tags={"team": "e2e", "purpose": "get"},
    )
    got = lambda_client.get_function(FunctionName=name)
    assert got["Configuration"]["FunctionName"] == name
    assert got["Configuration"]["FunctionArn"] == fn_arn(name)
    assert got["Configuration"]["State"] == "Active"
    assert got["Code"].get("Location"), f"GetFunction should return Code.Location, got {got['Code']!r}"
    # Like the presigned S3 URL on AWS, the location serves the zip itself.
    status, _, downloaded = http_get(got["Code"]["Location"])
    assert status == 200, f"Code.Location answered {status}"
    assert downloaded == zip_files({"app.py": HANDLER_V1}), "Code.Location must serve the uploaded zip"
    assert got.get("Tags", {}).get("team") == "e2e", f"Tags missing from GetFunction: {got.get('Tags')!r}"
    assert got["Tags"].get("purpose") == "get"

    conf = lambda_client.get_function_configuration(FunctionName=name)
    assert conf["FunctionName"] == name
    assert conf["Runtime"] == "python3.12"
    assert conf["Handler"] == "app.handler"
    assert conf["Version"] == "$LATEST"

    # The full ARN is accepted as a function name too.
    by_arn = lambda_client.get_function_configuration(FunctionName=fn_arn(name))
    assert by_arn["FunctionName"] == name


def test_list_functions_pagination(lambda_client):
    prefix = unique("cp-list")
    names = {f"{prefix}-{i}" for i in range(5)}
    for name in sorted(names):
        create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1}, wait=False)

    seen: list[str] = []
    marker = None
    pages = 0
    while True:
        kwargs = {"MaxItems": 2}
        if marker:
            kwargs["Marker"] = marker
        page = lambda_client.list_functions(**kwargs)
        pages += 1
        assert len(page["Functions"]) <= 2, f"MaxItems=2 returned {len(page['Functions'])} functions"
        seen.extend(f["FunctionName"] for f in page["Functions"])
        marker = page.get("NextMarker")
        if not marker:
            break
        assert pages < 100, "pagination does not terminate"
    assert pages >= 3, f"5+ functions with MaxItems=2 need at least 3 pages, got {pages}"
    assert len(seen) == len(set(seen)), f"pagination returned duplicates: {seen}"
    assert names <= set(seen), f"missing from listing: {names - set(seen)}"


def test_update_function_code(lambda_client):
    name = unique("cp-code")
    created = create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    new_code = zip_files({"app.py": HANDLER_V2})
    resp = lambda_client.update_function_code(FunctionName=name, ZipFile=new_code)
    assert resp["CodeSha256"] != created["CodeSha256"]
    assert resp["CodeSha256"] == base64.b64encode(hashlib.sha256(new_code).digest()).decode()
    wait_updated(lambda_client, name)
    conf = lambda_client.get_function_configuration(FunctionName=name)
    assert conf["CodeSha256"] == resp["CodeSha256"]
    assert conf["LastUpdateStatus"] == "Successful"


def test_update_function_configuration(lambda_client):
    name = unique("cp-conf")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    lambda_client.update_function_configuration(
        FunctionName=name,
        Timeout=42,
        MemorySize=256,
        Environment={"Variables": {"COLOR": "blue", "SIZE": "7"}},
        Description="updated by e2e",
    )
    wait_updated(lambda_client, name)
    conf = lambda_client.get_function(FunctionName=name)["Configuration"]
    assert conf["Timeout"] == 42
    assert conf["MemorySize"] == 256
    assert conf["Environment"]["Variables"] == {"COLOR": "blue", "SIZE": "7"}
    assert conf["Description"] == "updated by e2e"


def test_delete_function(lambda_client):
    name = unique("cp-del")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    lambda_client.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as exc:
        lambda_client.get_function(FunctionName=name)
    assert error_code(exc) == "ResourceNotFoundException"


def test_create_twice_conflicts(lambda_client):
    name = unique("cp-twice")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    with pytest.raises(ClientError) as exc:
        create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1}, wait=False)
    assert error_code(exc) == "ResourceConflictException"


def test_publish_versions(lambda_client):
    name = unique("cp-ver")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    v1 = lambda_client.publish_version(FunctionName=name)
    assert v1["Version"] == "1"
    assert v1["FunctionArn"] == fn_arn(name) + ":1"

    # Nothing changed: AWS hands back the existing version instead of a new one.
    again = lambda_client.publish_version(FunctionName=name)
    assert again["Version"] == "1", f"publishing unchanged code should return version 1, got {again['Version']}"

    lambda_client.update_function_code(FunctionName=name, ZipFile=zip_files({"app.py": HANDLER_V2}))
    wait_updated(lambda_client, name)
    v2 = lambda_client.publish_version(FunctionName=name)
    assert v2["Version"] == "2"
    assert v2["CodeSha256"] != v1["CodeSha256"]

    versions = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]

    # A published version keeps its own configuration.
    got = lambda_client.get_function_configuration(FunctionName=name, Qualifier="1")
    assert got["Version"] == "1"
    assert got["CodeSha256"] == v1["CodeSha256"]


def test_aliases(lambda_client):
    name = unique("cp-alias")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    lambda_client.publish_version(FunctionName=name)
    lambda_client.update_function_code(FunctionName=name, ZipFile=zip_files({"app.py": HANDLER_V2}))
    wait_updated(lambda_client, name)
    lambda_client.publish_version(FunctionName=name)

    created = lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1", Description="first")
    assert created["AliasArn"] == fn_arn(name) + ":live"
    assert created["FunctionVersion"] == "1"
    assert created["Name"] == "live"

    got = lambda_client.get_alias(FunctionName=name, Name="live")
    assert got["FunctionVersion"] == "1"
    assert got["Description"] == "first"

    updated = lambda_client.update_alias(FunctionName=name, Name="live", FunctionVersion="2")
    assert updated["FunctionVersion"] == "2"
    assert lambda_client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"

    lambda_client.create_alias(FunctionName=name, Name="beta", FunctionVersion="$LATEST")
    listed = lambda_client.list_aliases(FunctionName=name)["Aliases"]
    assert sorted(a["Name"] for a in listed) == ["beta", "live"]

    lambda_client.delete_alias(FunctionName=name, Name="live")
    with pytest.raises(ClientError) as exc:
        lambda_client.get_alias(FunctionName=name, Name="live")
    assert error_code(exc) == "ResourceNotFoundException"
    assert [a["Name"] for a in lambda_client.list_aliases(FunctionName=name)["Aliases"]] == ["beta"]


def test_alias_to_missing_version(lambda_client):
    name = unique("cp-alias-bad")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    with pytest.raises(ClientError) as exc:
        lambda_client.create_alias(FunctionName=name, Name="ghost", FunctionVersion="42")
    assert error_code(exc) == "ResourceNotFoundException"


def test_function_concurrency(lambda_client):
    name = unique("cp-conc")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    put = lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    assert put["ReservedConcurrentExecutions"] == 5
    got = lambda_client.get_function_concurrency(FunctionName=name)
    assert got.get("ReservedConcurrentExecutions") == 5
    lambda_client.delete_function_concurrency(FunctionName=name)
    got = lambda_client.get_function_concurrency(FunctionName=name)
    assert "ReservedConcurrentExecutions" not in got, f"concurrency should be gone after delete: {got}"


def test_event_invoke_config(lambda_client):
    name = unique("cp-eic")
    dest = unique("cp-eic-dest")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    create_function(lambda_client, dest, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    destination = {"OnFailure": {"Destination": fn_arn(dest)}}
    put = lambda_client.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=1,
        MaximumEventAgeInSeconds=120,
        DestinationConfig=destination,
    )
    assert put["MaximumRetryAttempts"] == 1
    assert put["MaximumEventAgeInSeconds"] == 120

    got = lambda_client.get_function_event_invoke_config(FunctionName=name)
    assert got["MaximumRetryAttempts"] == 1
    assert got["MaximumEventAgeInSeconds"] == 120
    assert got["DestinationConfig"]["OnFailure"]["Destination"] == fn_arn(dest)
    assert got["FunctionArn"].startswith(fn_arn(name))

    lambda_client.delete_function_event_invoke_config(FunctionName=name)
    with pytest.raises(ClientError) as exc:
        lambda_client.get_function_event_invoke_config(FunctionName=name)
    assert error_code(exc) == "ResourceNotFoundException"


def test_account_settings(lambda_client):
    create_function(lambda_client, unique("cp-acct"), "python3.12", "app.handler", {"app.py": HANDLER_V1})
    settings = lambda_client.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] > 0
    assert settings["AccountUsage"]["FunctionCount"] >= 1


def test_region_comes_from_the_signature(server, lambda_client):
    # Each region is a separate namespace, as on AWS; the region is taken
    # from the SigV4 credential scope.
    eu_client = server.client("lambda", region="eu-west-1")
    name = unique("cp-region")
    created = create_function(eu_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    assert created["FunctionArn"] == f"arn:aws:lambda:eu-west-1:{ACCOUNT_ID}:function:{name}"
    with pytest.raises(ClientError) as exc:
        lambda_client.get_function(FunctionName=name)
    assert error_code(exc) == "ResourceNotFoundException", "a function made in eu-west-1 must not appear in us-east-1"
    assert eu_client.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name


def test_tags_api(lambda_client):
    name = unique("cp-tags")
    created = create_function(
        lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1}, Tags={"keep": "1"}
    )
    arn = created["FunctionArn"]
    lambda_client.tag_resource(Resource=arn, Tags={"env": "test", "owner": "e2e"})
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"keep": "1", "env": "test", "owner": "e2e"}
    lambda_client.untag_resource(Resource=arn, TagKeys=["env", "keep"])
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"owner": "e2e"}
    assert lambda_client.get_function(FunctionName=name)["Tags"] == {"owner": "e2e"}


def test_qualified_names(lambda_client):
    # FunctionName may carry the qualifier itself: "name:1" or a full
    # qualified ARN, as the SDKs and the CLI allow.
    name = unique("cp-qual")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    lambda_client.publish_version(FunctionName=name)
    assert lambda_client.get_function(FunctionName=f"{name}:1")["Configuration"]["Version"] == "1"
    assert lambda_client.get_function(FunctionName=fn_arn(name) + ":1")["Configuration"]["Version"] == "1"
    resp = lambda_client.invoke(FunctionName=f"{name}:1", Payload=b"{}")
    assert resp["ExecutedVersion"] == "1"
    resp = lambda_client.invoke(FunctionName=fn_arn(name) + ":1", Payload=b"{}")
    assert resp["ExecutedVersion"] == "1"


def test_delete_and_recreate(lambda_client):
    name = unique("cp-recreate")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    lambda_client.publish_version(FunctionName=name)
    assert lambda_client.invoke(FunctionName=name, Payload=b"{}")["Payload"].read() == b'{"v": 1}'
    lambda_client.delete_function(FunctionName=name)

    # Deleting the function deletes its versions, and a new function of the
    # same name must not reuse the old environments.
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V2})
    assert lambda_client.invoke(FunctionName=name, Payload=b"{}")["Payload"].read() == b'{"v": 2}'
    versions = [v["Version"] for v in lambda_client.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST"], versions
    with pytest.raises(ClientError) as exc:
        lambda_client.get_function(FunctionName=name, Qualifier="1")
    assert error_code(exc) == "ResourceNotFoundException"


def test_delete_version(lambda_client):
    name = unique("cp-delver")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1})
    lambda_client.publish_version(FunctionName=name)
    lambda_client.delete_function(FunctionName=name, Qualifier="1")
    with pytest.raises(ClientError) as exc:
        lambda_client.get_function(FunctionName=name, Qualifier="1")
    assert error_code(exc) == "ResourceNotFoundException"
    # $LATEST is untouched.
    assert lambda_client.get_function(FunctionName=name)["Configuration"]["Version"] == "$LATEST"


def test_publish_flag_on_create_and_update(lambda_client):
    name = unique("cp-pubflag")
    created = create_function(
        lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1}, Publish=True
    )
    assert created["Version"] == "1", "CreateFunction with Publish=True returns the new version"
    updated = lambda_client.update_function_code(
        FunctionName=name, ZipFile=zip_files({"app.py": HANDLER_V2}), Publish=True
    )
    assert updated["Version"] == "2"
    wait_updated(lambda_client, name)
    versions = [v["Version"] for v in lambda_client.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "1", "2"]


def test_list_functions_all_versions(lambda_client):
    # FunctionVersion=ALL adds one entry per published version.
    name = unique("cp-allver")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1}, Publish=True)
    entries = [
        f["Version"]
        for page in lambda_client.get_paginator("list_functions").paginate(FunctionVersion="ALL")
        for f in page["Functions"]
        if f["FunctionName"] == name
    ]
    assert sorted(entries) == ["$LATEST", "1"], f"ListFunctions(FunctionVersion=ALL) gave versions {entries}"


def test_sdk_paginators_and_waiters(lambda_client):
    # The SDK's own helpers are built on the documented response shapes.
    name = unique("cp-sdk")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": HANDLER_V1}, Publish=True)
    lambda_client.get_waiter("function_exists").wait(FunctionName=name)
    lambda_client.get_waiter("function_active").wait(FunctionName=name)
    lambda_client.get_waiter("published_version_active").wait(FunctionName=name, Qualifier="1")
    listed = [f["FunctionName"] for page in lambda_client.get_paginator("list_functions").paginate() for f in page["Functions"]]
    assert name in listed
    versions = [
        v["Version"]
        for page in lambda_client.get_paginator("list_versions_by_function").paginate(FunctionName=name)
        for v in page["Versions"]
    ]
    assert versions == ["$LATEST", "1"]
    lambda_client.create_alias(FunctionName=name, Name="prod", FunctionVersion="1")
    aliases = [a["Name"] for page in lambda_client.get_paginator("list_aliases").paginate(FunctionName=name) for a in page["Aliases"]]
    assert aliases == ["prod"]
    # An alias qualifier resolves to the version's configuration.
    assert lambda_client.get_function_configuration(FunctionName=name, Qualifier="prod")["Version"] == "1"
