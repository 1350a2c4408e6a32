"""SSM Parameter Store through boto3 and the AWS CLI: parameters and their
versions, labels and selectors, hierarchies and search filters, tags, AWS's
error codes, durability across kill -9, and SecureString values that exist at
rest only encrypted under the server's master key."""

import base64
import datetime
import json
import os
import secrets
import shutil
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, REGION, aws, error_code, error_message, http_status, unique


@pytest.fixture(scope="module")
def ssm(server):
    return server.client("ssm")


@pytest.fixture(scope="module")
def raw_ssm(server):
    """A client that sends what it is given, so the server's own checks answer."""
    return server.client("ssm", parameter_validation=False)


def code_of(fn, **kwargs) -> str:
    with pytest.raises(ClientError) as exc:
        fn(**kwargs)
    return error_code(exc)


def arn(name: str) -> str:
    return f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/{name.lstrip('/')}"


def all_pages(call, key="Parameters", **kwargs):
    items, token = [], None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        items.extend(page[key])
        token = page.get("NextToken")
        if not token:
            return items


# --------------------------------------------------------------------------
# Parameters, versions and what they look like
# --------------------------------------------------------------------------


def test_put_get_overwrite(ssm):
    name = f"/{unique('app')}/db/url"
    put = ssm.put_parameter(Name=name, Value="postgres://one", Type="String", Description="the db")
    assert (put["Version"], put["Tier"]) == (1, "Standard")

    p = ssm.get_parameter(Name=name)["Parameter"]
    assert set(p) == {"Name", "Type", "Value", "Version", "LastModifiedDate", "ARN", "DataType"}
    assert (p["Name"], p["Type"], p["Value"], p["Version"]) == (name, "String", "postgres://one", 1)
    assert p["ARN"] == arn(name)
    assert p["DataType"] == "text"
    assert isinstance(p["LastModifiedDate"], datetime.datetime)
    age = datetime.datetime.now(datetime.timezone.utc) - p["LastModifiedDate"]
    assert abs(age.total_seconds()) < 60

    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=name, Value="x", Type="String")
    assert error_code(exc) == "ParameterAlreadyExists"
    assert "overwrite" in error_message(exc)
    assert http_status(exc) == 400

    # Overwrite without Type keeps the type and the description.
    assert ssm.put_parameter(Name=name, Value="postgres://two", Overwrite=True)["Version"] == 2
    p = ssm.get_parameter(Name=name)["Parameter"]
    assert (p["Value"], p["Version"], p["Type"]) == ("postgres://two", 2, "String")
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    assert [m["Description"] for m in meta] == ["the db"]

    # A parameter may change type when overwritten.
    ssm.put_parameter(Name=name, Value="a,b", Type="StringList", Overwrite=True)
    assert ssm.get_parameter(Name=name)["Parameter"]["Type"] == "StringList"


def test_plain_and_slashed_names_are_one_parameter(ssm):
    name = unique("plain")
    ssm.put_parameter(Name=name, Value="v", Type="String")
    p = ssm.get_parameter(Name="/" + name)["Parameter"]
    assert p["Value"] == "v"
    assert p["ARN"] == arn(name)
    assert code_of(ssm.put_parameter, Name="/" + name, Value="w", Type="String") == "ParameterAlreadyExists"
    # The service trims spaces around a name.
    assert ssm.get_parameter(Name=f"  {name}  ")["Parameter"]["Value"] == "v"


def test_string_list_and_data_types(ssm, raw_ssm):
    base = f"/{unique('types')}"
    ssm.put_parameter(Name=f"{base}/list", Value="a,b,c", Type="StringList")
    assert ssm.get_parameter(Name=f"{base}/list")["Parameter"]["Value"] == "a,b,c"
    ssm.put_parameter(Name=f"{base}/ami", Value="ami-0abcdef1234567890", Type="String", DataType="aws:ec2:image")
    assert ssm.get_parameter(Name=f"{base}/ami")["Parameter"]["DataType"] == "aws:ec2:image"
    assert code_of(ssm.put_parameter, Name=f"{base}/bad-ami", Value="nope", Type="String", DataType="aws:ec2:image") == "ValidationException"
    assert (
        code_of(ssm.put_parameter, Name=f"{base}/list-ami", Value="ami-12345678", Type="StringList", DataType="aws:ec2:image")
        == "UnsupportedParameterType"
    )
    assert code_of(ssm.put_parameter, Name=f"{base}/dt", Value="x", Type="String", DataType="json") == "ValidationException"
    assert code_of(raw_ssm.put_parameter, Name=f"{base}/t", Value="x", Type="Secret") == "ValidationException"
    # Creating a parameter needs a type.
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=f"{base}/untyped", Value="x")
    assert error_code(exc) == "ValidationException"
    assert "type is required" in error_message(exc)


def test_secure_string_with_and_without_decryption(ssm):
    name = f"/{unique('sec')}/token"
    ssm.put_parameter(Name=name, Value="s3cr3t-value", Type="SecureString")
    clear = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert (clear["Value"], clear["Type"]) == ("s3cr3t-value", "SecureString")
    sealed = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    assert sealed != "s3cr3t-value" and "s3cr3t" not in sealed
    base64.b64decode(sealed, validate=True)  # an opaque ciphertext blob, as AWS sends

    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"][0]
    assert meta["KeyId"] == "alias/aws/ssm"

    custom = f"/{unique('sec')}/custom"
    key = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    ssm.put_parameter(Name=custom, Value="v", Type="SecureString", KeyId=key)
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "KeyId", "Values": [key]}])["Parameters"]
    assert [m["Name"] for m in meta] == [custom]
    assert ssm.get_parameter(Name=custom, WithDecryption=True)["Parameter"]["Value"] == "v"

    assert code_of(ssm.put_parameter, Name=f"/{unique('sec')}/k", Value="v", Type="SecureString", KeyId="not-a-key") == "InvalidKeyId"
    assert code_of(ssm.put_parameter, Name=f"/{unique('sec')}/k", Value="v", Type="String", KeyId="alias/aws/ssm") == "ValidationException"
    # Decryption is ignored for plain types.
    plain = f"/{unique('sec')}/plain"
    ssm.put_parameter(Name=plain, Value="open", Type="String")
    assert ssm.get_parameter(Name=plain, WithDecryption=True)["Parameter"]["Value"] == "open"


def test_history_selectors_and_get_parameters(ssm):
    name = f"/{unique('hist')}/p"
    for i, v in enumerate(["one", "two", "three"], start=1):
        assert ssm.put_parameter(Name=name, Value=v, Type="SecureString", Overwrite=True)["Version"] == i
    ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["stable"])

    history = all_pages(ssm.get_parameter_history, Name=name, WithDecryption=True, MaxResults=2)
    assert [(h["Version"], h["Value"], h["Labels"]) for h in history] == [
        (1, "one", []),
        (2, "two", ["stable"]),
        (3, "three", []),
    ]
    h = history[0]
    assert {"Name", "Type", "KeyId", "LastModifiedDate", "LastModifiedUser", "Value", "Version", "Labels", "Tier", "Policies", "DataType"} <= set(h)
    assert (h["KeyId"], h["Tier"], h["Policies"]) == ("alias/aws/ssm", "Standard", [])
    sealed = ssm.get_parameter_history(Name=name)["Parameters"][0]["Value"]
    assert sealed != "one"

    by_version = ssm.get_parameter(Name=f"{name}:1", WithDecryption=True)["Parameter"]
    assert (by_version["Value"], by_version["Version"], by_version["Selector"], by_version["Name"]) == ("one", 1, ":1", name)
    by_label = ssm.get_parameter(Name=f"{name}:stable", WithDecryption=True)["Parameter"]
    assert (by_label["Value"], by_label["Version"], by_label["Selector"]) == ("two", 2, ":stable")
    by_arn = ssm.get_parameter(Name=arn(name), WithDecryption=True)["Parameter"]
    assert (by_arn["Name"], by_arn["Value"]) == (name, "three")
    assert ssm.get_parameter(Name=arn(name) + ":1", WithDecryption=True)["Parameter"]["Value"] == "one"

    with pytest.raises(ClientError) as exc:
        ssm.get_parameter(Name=f"{name}:9")
    assert error_code(exc) == "ParameterVersionNotFound"
    assert "could not find version 9" in error_message(exc)
    assert code_of(ssm.get_parameter, Name=f"{name}:nolabel") == "ParameterNotFound"
    assert code_of(ssm.get_parameter, Name=f"{name}-missing") == "ParameterNotFound"
    assert code_of(ssm.get_parameter_history, Name=f"{name}-missing") == "ParameterNotFound"
    assert code_of(ssm.get_parameter, Name=f"arn:aws:ssm:eu-west-1:{ACCOUNT_ID}:parameter{name}") == "ParameterNotFound"

    got = ssm.get_parameters(Names=[name, f"{name}:1", f"{name}-missing", f"{name}:9"], WithDecryption=True)
    assert [(p["Name"], p["Value"]) for p in got["Parameters"]] == [(name, "three"), (name, "one")]
    assert got["Parameters"][1]["Selector"] == ":1"
    assert sorted(got["InvalidParameters"]) == sorted([f"{name}-missing", f"{name}:9"])


def test_labels(ssm):
    name = f"/{unique('lab')}/p"
    for v in ["a", "b", "c"]:
        ssm.put_parameter(Name=name, Value=v, Type="String", Overwrite=True)
    r = ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["prod", "9lives", "awsy", "ssmx", "bad label"])
    assert r["ParameterVersion"] == 1
    assert sorted(r["InvalidLabels"]) == sorted(["9lives", "awsy", "ssmx", "bad label"])
    assert ssm.get_parameter(Name=f"{name}:prod")["Parameter"]["Value"] == "a"

    # Without ParameterVersion the latest gets the label; it leaves version 1.
    r = ssm.label_parameter_version(Name=name, Labels=["prod"])
    assert (r["ParameterVersion"], r["InvalidLabels"]) == (3, [])
    assert ssm.get_parameter(Name=f"{name}:prod")["Parameter"]["Value"] == "c"
    labels = {h["Version"]: h["Labels"] for h in ssm.get_parameter_history(Name=name)["Parameters"]}
    assert labels == {1: [], 2: [], 3: ["prod"]}

    ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=[f"l{i}" for i in range(10)])
    with pytest.raises(ClientError) as exc:
        ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["eleventh"])
    assert error_code(exc) == "ParameterVersionLabelLimitExceeded"
    # Labels already on the version do not count twice.
    ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["l0", "l1"])

    r = ssm.unlabel_parameter_version(Name=name, ParameterVersion=2, Labels=["l0", "prod"])
    assert (r["RemovedLabels"], r["InvalidLabels"]) == (["l0"], ["prod"])

    assert code_of(ssm.label_parameter_version, Name=name, ParameterVersion=7, Labels=["x"]) == "ParameterVersionNotFound"
    assert code_of(ssm.label_parameter_version, Name=f"{name}-missing", Labels=["x"]) == "ParameterNotFound"
    assert code_of(ssm.unlabel_parameter_version, Name=name, ParameterVersion=7, Labels=["x"]) == "ParameterVersionNotFound"
    assert code_of(ssm.unlabel_parameter_version, Name=f"{name}-missing", ParameterVersion=1, Labels=["x"]) == "ParameterNotFound"
    assert code_of(ssm.label_parameter_version, Name=name, Labels=["x" * 101]) == "ValidationException"


def test_a_hundred_versions(ssm):
    name = f"/{unique('many')}/p"
    for i in range(1, 101):
        ssm.put_parameter(Name=name, Value=f"v{i}", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["oldest"])
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=name, Value="v101", Type="String", Overwrite=True)
    assert error_code(exc) == "ParameterMaxVersionLimitExceeded"
    assert "Version 1, the oldest version" in error_message(exc)

    ssm.unlabel_parameter_version(Name=name, ParameterVersion=1, Labels=["oldest"])
    assert ssm.put_parameter(Name=name, Value="v101", Type="String", Overwrite=True)["Version"] == 101
    versions = [h["Version"] for h in all_pages(ssm.get_parameter_history, Name=name)]
    assert versions == list(range(2, 102))
    assert code_of(ssm.get_parameter, Name=f"{name}:1") == "ParameterVersionNotFound"


# --------------------------------------------------------------------------
# Hierarchies, search and paging
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree(ssm):
    """/<root>/{a,b,c} at the top, /<root>/app/{x,y,secret} below, and deeper ones."""
    root = f"/{unique('tree')}"
    names = {
        f"{root}/a": ("String", "1"),
        f"{root}/b": ("String", "2"),
        f"{root}/c": ("StringList", "3,4"),
        f"{root}/app/x": ("String", "x"),
        f"{root}/app/y": ("String", "y"),
        f"{root}/app/secret": ("SecureString", "hidden"),
        f"{root}/app/deep/z": ("String", "z"),
        f"{root}/app/deep/er/w": ("String", "w"),
    }
    for n, (t, v) in names.items():
        ssm.put_parameter(Name=n, Value=v, Type=t, Tags=[{"Key": "tree", "Value": "yes"}])
    # Siblings that share the root's text but are not under it.
    ssm.put_parameter(Name=f"{root}x/outside", Value="o", Type="String")
    ssm.put_parameter(Name=f"{root}/app/x", Value="x2", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name=f"{root}/app/x", ParameterVersion=1, Labels=["first"])
    return root, names


def test_by_path_levels(ssm, tree):
    root, names = tree
    top = all_pages(ssm.get_parameters_by_path, Path=root)
    assert sorted(p["Name"] for p in top) == [f"{root}/a", f"{root}/b", f"{root}/c"]
    assert sorted(p["Name"] for p in all_pages(ssm.get_parameters_by_path, Path=f"{root}/")) == sorted(p["Name"] for p in top)

    everything = all_pages(ssm.get_parameters_by_path, Path=root, Recursive=True, WithDecryption=True)
    assert sorted(p["Name"] for p in everything) == sorted(names)
    values = {p["Name"]: p["Value"] for p in everything}
    assert values[f"{root}/app/secret"] == "hidden"
    assert values[f"{root}/app/x"] == "x2"
    sealed = {p["Name"]: p["Value"] for p in all_pages(ssm.get_parameters_by_path, Path=root, Recursive=True)}
    assert sealed[f"{root}/app/secret"] != "hidden"

    app = all_pages(ssm.get_parameters_by_path, Path=f"{root}/app")
    assert sorted(p["Name"] for p in app) == [f"{root}/app/secret", f"{root}/app/x", f"{root}/app/y"]
    assert all_pages(ssm.get_parameters_by_path, Path=f"{root}/nothing", Recursive=True) == []


def test_by_path_paging(ssm, tree):
    root, names = tree
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = ssm.get_parameters_by_path(Path=root, Recursive=True, MaxResults=3, **kwargs)
        assert len(page["Parameters"]) <= 3
        seen += [p["Name"] for p in page["Parameters"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(names) and len(seen) == len(set(seen))
    assert pages == 3
    # The paginator the SDK ships works the same way.
    paginator = ssm.get_paginator("get_parameters_by_path")
    listed = [p["Name"] for page in paginator.paginate(Path=root, Recursive=True, PaginationConfig={"PageSize": 2}) for p in page["Parameters"]]
    assert sorted(listed) == sorted(names)


def test_by_path_filters(ssm, raw_ssm, tree):
    root, _ = tree

    def names(**kwargs):
        return sorted(p["Name"] for p in all_pages(ssm.get_parameters_by_path, Path=root, Recursive=True, **kwargs))

    assert names(ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}]) == [f"{root}/app/secret"]
    assert names(ParameterFilters=[{"Key": "Type", "Option": "BeginsWith", "Values": ["StringL"]}]) == [f"{root}/c"]
    assert names(ParameterFilters=[{"Key": "KeyId", "Values": ["alias/aws/ssm"]}]) == [f"{root}/app/secret"]
    # A Label filter returns the version that carries the label.
    labelled = all_pages(ssm.get_parameters_by_path, Path=root, Recursive=True, ParameterFilters=[{"Key": "Label", "Values": ["first"]}])
    assert [(p["Name"], p["Value"], p["Version"]) for p in labelled] == [(f"{root}/app/x", "x", 1)]

    for filters, code in [
        ([{"Key": "Name", "Values": ["x"]}], "InvalidFilterKey"),
        ([{"Key": "tag:tree"}], "InvalidFilterKey"),
        ([{"Key": "Type", "Option": "Contains", "Values": ["S"]}], "InvalidFilterOption"),
        ([{"Key": "Label", "Option": "BeginsWith", "Values": ["f"]}], "InvalidFilterOption"),
        ([{"Key": "Type", "Values": ["Secret"]}], "InvalidFilterValue"),
        ([{"Key": "Type", "Values": ["String"]}, {"Key": "Type", "Values": ["String"]}], "InvalidFilterKey"),
        ([{"Key": "Colour", "Values": ["red"]}], "ValidationException"),
    ]:
        assert code_of(raw_ssm.get_parameters_by_path, Path=root, ParameterFilters=filters) == code, filters
    assert code_of(raw_ssm.get_parameters_by_path, Path="no-slash") == "ValidationException"
    assert code_of(raw_ssm.get_parameters_by_path, Path="/a//b") == "ValidationException"
    assert code_of(raw_ssm.get_parameters_by_path, Path=root, MaxResults=11) == "ValidationException"
    assert code_of(raw_ssm.get_parameters_by_path, Path=root, NextToken="not-a-token") == "InvalidNextToken"
    deep = "/" + "/".join(f"l{i}" for i in range(16))
    assert code_of(raw_ssm.get_parameters_by_path, Path=deep) == "HierarchyLevelLimitExceededException"


def test_describe_parameters(ssm, raw_ssm, tree):
    root, names = tree

    def described(**kwargs):
        return sorted(p["Name"] for p in all_pages(ssm.describe_parameters, **kwargs))

    assert described(ParameterFilters=[{"Key": "Path", "Values": [root]}]) == [f"{root}/a", f"{root}/b", f"{root}/c"]
    assert described(ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [root]}]) == sorted(names)
    assert described(ParameterFilters=[{"Key": "Name", "Values": [f"{root}/a"]}]) == [f"{root}/a"]
    assert described(ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [f"{root}/app/d"]}]) == [
        f"{root}/app/deep/er/w",
        f"{root}/app/deep/z",
    ]
    assert described(ParameterFilters=[{"Key": "Name", "Option": "Contains", "Values": [root.lstrip("/") + "/app/se"]}]) == [f"{root}/app/secret"]
    assert described(
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [root]}, {"Key": "Type", "Values": ["SecureString"]}]
    ) == [f"{root}/app/secret"]
    assert described(ParameterFilters=[{"Key": "tag:tree", "Values": ["yes"]}, {"Key": "Path", "Values": [f"{root}/app"]}]) == [
        f"{root}/app/secret",
        f"{root}/app/x",
        f"{root}/app/y",
    ]
    assert described(ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [root]}, {"Key": "Tier", "Values": ["Advanced"]}]) == []
    assert described(ParameterFilters=[{"Key": "Path", "Values": [root]}, {"Key": "DataType", "Values": ["text"]}]) == [
        f"{root}/a",
        f"{root}/b",
        f"{root}/c",
    ]
    # The deprecated Filters: Name matches by prefix.
    assert described(Filters=[{"Key": "Name", "Values": [f"{root}/app/deep"]}]) == [f"{root}/app/deep/er/w", f"{root}/app/deep/z"]

    page = ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [root]}], MaxResults=5)
    assert len(page["Parameters"]) == 5 and page["NextToken"]
    meta = next(p for p in all_pages(ssm.describe_parameters, ParameterFilters=[{"Key": "Name", "Values": [f"{root}/app/x"]}]))
    assert meta["Version"] == 2 and meta["ARN"] == arn(f"{root}/app/x")
    assert meta["LastModifiedUser"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert "Value" not in meta

    assert (
        code_of(
            raw_ssm.describe_parameters,
            Filters=[{"Key": "Name", "Values": ["x"]}],
            ParameterFilters=[{"Key": "Name", "Values": ["x"]}],
        )
        == "ValidationException"
    )
    assert code_of(raw_ssm.describe_parameters, ParameterFilters=[{"Key": "Label", "Values": ["first"]}]) == "InvalidFilterKey"
    assert code_of(raw_ssm.describe_parameters, ParameterFilters=[{"Key": "Path", "Option": "Equals", "Values": [root]}]) == "InvalidFilterOption"
    assert code_of(raw_ssm.describe_parameters, ParameterFilters=[{"Key": "Tier", "Values": ["Gold"]}]) == "InvalidFilterValue"
    assert code_of(raw_ssm.describe_parameters, ParameterFilters=[{"Key": "Name"}]) == "InvalidFilterValue"
    assert code_of(raw_ssm.describe_parameters, MaxResults=51) == "ValidationException"
    assert code_of(raw_ssm.describe_parameters, NextToken="xyz") == "InvalidNextToken"


# --------------------------------------------------------------------------
# Deleting, tagging
# --------------------------------------------------------------------------


def test_delete(ssm):
    base = f"/{unique('del')}"
    for n in ["one", "two", "three"]:
        ssm.put_parameter(Name=f"{base}/{n}", Value=n, Type="SecureString")
    ssm.delete_parameter(Name=f"{base}/one")
    assert code_of(ssm.get_parameter, Name=f"{base}/one") == "ParameterNotFound"
    assert code_of(ssm.delete_parameter, Name=f"{base}/one") == "ParameterNotFound"
    r = ssm.delete_parameters(Names=[f"{base}/two", f"{base}/none", f"{base}/three"])
    assert sorted(r["DeletedParameters"]) == [f"{base}/three", f"{base}/two"]
    assert r["InvalidParameters"] == [f"{base}/none"]
    assert all_pages(ssm.get_parameters_by_path, Path=base) == []
    # Deleted and created again, a parameter starts at version 1 with no history.
    assert ssm.put_parameter(Name=f"{base}/one", Value="again", Type="String")["Version"] == 1
    assert len(ssm.get_parameter_history(Name=f"{base}/one")["Parameters"]) == 1


def test_tags(ssm, raw_ssm):
    name = f"/{unique('tag')}/p"
    ssm.put_parameter(Name=name, Value="v", Type="String", Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "core"}])

    def tags():
        return {t["Key"]: t["Value"] for t in ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]}

    assert tags() == {"env": "dev", "team": "core"}
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=name, Value="w", Type="String", Overwrite=True, Tags=[{"Key": "env", "Value": "prod"}])
    assert error_code(exc) == "ValidationException"
    assert "tags and overwrite can't be used together" in error_message(exc)

    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "cost", "Value": "42"}])
    assert tags() == {"env": "prod", "team": "core", "cost": "42"}
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name, TagKeys=["team", "absent"])
    assert tags() == {"env": "prod", "cost": "42"}
    # Tags survive a new version.
    ssm.put_parameter(Name=name, Value="w", Overwrite=True)
    assert tags() == {"env": "prod", "cost": "42"}

    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(49)]
    assert code_of(ssm.add_tags_to_resource, ResourceType="Parameter", ResourceId=name, Tags=too_many) == "TooManyTagsError"
    assert code_of(ssm.add_tags_to_resource, ResourceType="Parameter", ResourceId=f"{name}-missing", Tags=[{"Key": "a", "Value": "b"}]) == "InvalidResourceId"
    assert code_of(ssm.list_tags_for_resource, ResourceType="Parameter", ResourceId=f"{name}-missing") == "InvalidResourceId"
    assert code_of(ssm.list_tags_for_resource, ResourceType="Document", ResourceId="doc") == "InvalidResourceId"
    assert code_of(raw_ssm.list_tags_for_resource, ResourceType="Bucket", ResourceId=name) == "InvalidResourceType"
    assert code_of(raw_ssm.add_tags_to_resource, ResourceType="Parameter", ResourceId=name, Tags=[{"Key": "bad;key", "Value": "v"}]) == "ValidationException"


# --------------------------------------------------------------------------
# Names, values, tiers and policies: AWS's checks
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,code",
    [
        pytest.param("has space inside", "ValidationException", id="space"),
        pytest.param("semi;colon", "ValidationException", id="character"),
        pytest.param("rel/path", "ValidationException", id="relative-path"),
        pytest.param("/double//slash", "ValidationException", id="double-slash"),
        pytest.param("/trailing/", "ValidationException", id="trailing-slash"),
        pytest.param("awsParam", "ValidationException", id="aws-prefix"),
        pytest.param("SSMparam", "ValidationException", id="ssm-prefix"),
        pytest.param("/ssm/param", "ValidationException", id="ssm-path"),
        pytest.param("/aws/param", "AccessDeniedException", id="aws-path"),
        pytest.param("/" + "/".join(f"l{i}" for i in range(16)), "HierarchyLevelLimitExceededException", id="16-levels"),
        pytest.param("/" + "n" * 1000, "ValidationException", id="too-long"),
        pytest.param("", "ValidationException", id="empty"),
    ],
)
def test_invalid_names(raw_ssm, name, code):
    assert code_of(raw_ssm.put_parameter, Name=name, Value="v", Type="String") == code


def test_fifteen_levels_and_long_names_are_fine(ssm):
    deep = f"/{unique('deep')}/" + "/".join(f"l{i}" for i in range(14))
    ssm.put_parameter(Name=deep, Value="v", Type="String")
    long_name = f"/{unique('long')}" + "n" * 900
    ssm.put_parameter(Name=long_name, Value="v", Type="String")
    assert ssm.get_parameter(Name=long_name)["Parameter"]["ARN"] == arn(long_name)


def test_values_tiers_and_patterns(ssm, raw_ssm):
    base = f"/{unique('val')}"
    assert code_of(raw_ssm.put_parameter, Name=f"{base}/empty", Value="", Type="String") == "ValidationException"
    assert code_of(ssm.put_parameter, Name=f"{base}/nest", Value="{{ssm:other}}", Type="String") == "ValidationException"

    ssm.put_parameter(Name=f"{base}/4k", Value="x" * 4096, Type="String")
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=f"{base}/big", Value="x" * 4097, Type="String")
    assert error_code(exc) == "ValidationException"
    assert "Standard tier parameters support a maximum parameter value of 4096" in error_message(exc)
    assert ssm.put_parameter(Name=f"{base}/big", Value="x" * 4097, Type="String", Tier="Intelligent-Tiering")["Tier"] == "Advanced"
    assert ssm.put_parameter(Name=f"{base}/small", Value="x", Type="String", Tier="Intelligent-Tiering")["Tier"] == "Standard"
    assert ssm.put_parameter(Name=f"{base}/8k", Value="x" * 8192, Type="SecureString", Tier="Advanced")["Tier"] == "Advanced"
    assert ssm.get_parameter(Name=f"{base}/8k", WithDecryption=True)["Parameter"]["Value"] == "x" * 8192
    assert code_of(ssm.put_parameter, Name=f"{base}/9k", Value="x" * 8193, Type="String", Tier="Advanced") == "ValidationException"
    # An advanced parameter stays advanced.
    assert code_of(ssm.put_parameter, Name=f"{base}/big", Value="y", Tier="Standard", Overwrite=True) == "ValidationException"
    assert ssm.put_parameter(Name=f"{base}/big", Value="y", Overwrite=True)["Tier"] == "Advanced"
    assert code_of(raw_ssm.put_parameter, Name=f"{base}/tier", Value="v", Type="String", Tier="Gold") == "ValidationException"

    ssm.put_parameter(Name=f"{base}/digits", Value="123", Type="String", AllowedPattern=r"^\d+$")
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=f"{base}/digits", Value="12a", Overwrite=True)
    assert error_code(exc) == "ParameterPatternMismatchException"
    assert ssm.put_parameter(Name=f"{base}/digits", Value="456", Overwrite=True)["Version"] == 2
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [f"{base}/digits"]}])["Parameters"][0]
    assert meta["AllowedPattern"] == r"^\d+$"
    assert code_of(ssm.put_parameter, Name=f"{base}/re", Value="v", Type="String", AllowedPattern="([a-z]") == "InvalidAllowedPatternException"
    assert code_of(ssm.put_parameter, Name=f"{base}/re", Value="abc", Type="String", AllowedPattern="[a-z]{2}") == "ParameterPatternMismatchException"


def test_policies(ssm):
    base = f"/{unique('pol')}"
    policies = json.dumps(
        [
            {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2030-12-02T21:34:33.000Z"}},
            {"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "60", "Unit": "Days"}},
        ]
    )
    r = ssm.put_parameter(Name=f"{base}/p", Value="v", Type="String", Tier="Intelligent-Tiering", Policies=policies)
    assert r["Tier"] == "Advanced"
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [f"{base}/p"]}])["Parameters"][0]
    assert [p["PolicyType"] for p in meta["Policies"]] == ["Expiration", "NoChangeNotification"]
    assert json.loads(meta["Policies"][0]["PolicyText"])["Attributes"]["Timestamp"] == "2030-12-02T21:34:33.000Z"
    assert code_of(ssm.put_parameter, Name=f"{base}/s", Value="v", Type="String", Tier="Standard", Policies=policies) == "ValidationException"
    bad_type = json.dumps([{"Type": "Rotate", "Version": "1.0", "Attributes": {}}])
    assert code_of(ssm.put_parameter, Name=f"{base}/t", Value="v", Type="String", Tier="Advanced", Policies=bad_type) == "InvalidPolicyTypeException"
    twice = json.dumps([json.loads(policies)[0]] * 2)
    assert code_of(ssm.put_parameter, Name=f"{base}/t", Value="v", Type="String", Tier="Advanced", Policies=twice) == "IncompatiblePolicyException"


def test_unimplemented_operations_answer_501(ssm):
    with pytest.raises(ClientError) as exc:
        ssm.list_documents()
    assert error_code(exc) == "NotImplemented"
    assert http_status(exc) == 501


# --------------------------------------------------------------------------
# The AWS CLI
# --------------------------------------------------------------------------


def test_cli_secure_string(server):
    name = f"/shop/{unique('db-url')}"
    rc, out, err = aws(server, "ssm", "put-parameter", "--name", name, "--type", "SecureString", "--value", "postgres://user:pw@db:5432/shop")
    assert rc == 0, err
    assert json.loads(out) == {"Version": 1, "Tier": "Standard"}
    rc, out, err = aws(server, "ssm", "get-parameter", "--name", name, "--with-decryption")
    assert rc == 0, err
    p = json.loads(out)["Parameter"]
    assert (p["Name"], p["Type"], p["Value"]) == (name, "SecureString", "postgres://user:pw@db:5432/shop")
    rc, out, err = aws(server, "ssm", "get-parameter", "--name", name, "--query", "Parameter.Value", "--output", "text")
    assert rc == 0, err
    assert "postgres" not in out

    rc, out, err = aws(server, "ssm", "put-parameter", "--name", name, "--type", "SecureString", "--value", "x")
    assert rc != 0 and "ParameterAlreadyExists" in err
    rc, out, err = aws(server, "ssm", "put-parameter", "--name", name, "--value", "postgres://new", "--overwrite")
    assert rc == 0, err
    rc, out, err = aws(server, "ssm", "get-parameters-by-path", "--path", "/shop", "--with-decryption")
    assert rc == 0, err
    values = {p["Name"]: p["Value"] for p in json.loads(out)["Parameters"]}
    assert values[name] == "postgres://new"
    rc, out, err = aws(server, "ssm", "label-parameter-version", "--name", name, "--parameter-version", "1", "--labels", "first")
    assert rc == 0, err
    rc, out, err = aws(server, "ssm", "get-parameter", "--name", f"{name}:first", "--with-decryption")
    assert rc == 0, err
    assert json.loads(out)["Parameter"]["Value"] == "postgres://user:pw@db:5432/shop"
    rc, out, err = aws(server, "ssm", "delete-parameter", "--name", name)
    assert rc == 0, err
    rc, out, err = aws(server, "ssm", "get-parameter", "--name", name)
    assert rc != 0 and "ParameterNotFound" in err


# --------------------------------------------------------------------------
# Durability and encryption at rest
# --------------------------------------------------------------------------


def test_kill9_keeps_acknowledged_parameters(fresh_server):
    srv = fresh_server()
    ssm = srv.client("ssm")
    ssm.put_parameter(Name="/durable/plain", Value="v1", Type="String", Tags=[{"Key": "k", "Value": "t"}])
    ssm.put_parameter(Name="/durable/plain", Value="v2", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name="/durable/plain", ParameterVersion=1, Labels=["old"])
    ssm.put_parameter(Name="/durable/secret", Value="kept-secret", Type="SecureString")
    ssm.put_parameter(Name="/durable/gone", Value="x", Type="String")
    ssm.delete_parameter(Name="/durable/gone")
    # The last call was acknowledged: it must survive a crash that follows at once.
    ssm.put_parameter(Name="/durable/last", Value="acknowledged", Type="SecureString")
    srv.kill9()

    srv.start()
    ssm = srv.client("ssm")
    assert ssm.get_parameter(Name="/durable/last", WithDecryption=True)["Parameter"]["Value"] == "acknowledged"
    assert ssm.get_parameter(Name="/durable/secret", WithDecryption=True)["Parameter"]["Value"] == "kept-secret"
    assert ssm.get_parameter(Name="/durable/plain")["Parameter"]["Value"] == "v2"
    assert ssm.get_parameter(Name="/durable/plain:old")["Parameter"]["Value"] == "v1"
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/durable/plain")["TagList"]
    assert tags == [{"Key": "k", "Value": "t"}]
    assert code_of(ssm.get_parameter, Name="/durable/gone") == "ParameterNotFound"
    assert ssm.put_parameter(Name="/durable/plain", Value="v3", Overwrite=True)["Version"] == 3


def files_containing(root: Path, needle: bytes) -> list[str]:
    hits = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            path = Path(dirpath) / f
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if needle in data:
                hits.append(str(path))
    return hits


def test_secure_strings_are_encrypted_at_rest(fresh_server):
    # Trace logging, so nothing the server could log stays out of the check.
    srv = fresh_server(env={"EDDY_LOG_LEVEL": "trace"})
    ssm = srv.client("ssm")
    secret = f"plaintext-{secrets.token_hex(16)}"
    control = f"visible-{secrets.token_hex(16)}"
    ssm.put_parameter(Name="/vault/first", Value=secret, Type="SecureString")
    ssm.put_parameter(Name="/vault/first", Value=secret + "-v2", Type="SecureString", Overwrite=True, Tier="Advanced")
    ssm.put_parameter(Name="/vault/plain", Value=control, Type="String")
    assert ssm.get_parameter(Name="/vault/first:1", WithDecryption=True)["Parameter"]["Value"] == secret
    assert ssm.get_parameters_by_path(Path="/vault", WithDecryption=True)["Parameters"]
    ssm.get_parameter_history(Name="/vault/first", WithDecryption=True)

    # Killed: the write-ahead log still holds the latest writes.
    srv.kill9()
    data_files = [p.name for p in srv.data_dir.rglob("*") if p.is_file()]
    assert any(n.endswith("-wal") for n in data_files), data_files
    assert files_containing(srv.data_dir, control.encode()), "the walk must see stored values"
    assert files_containing(srv.root, secret.encode()) == []

    # Stopped cleanly after another read: checkpointed database, logs and all.
    srv.start()
    ssm = srv.client("ssm")
    assert ssm.get_parameter(Name="/vault/first", WithDecryption=True)["Parameter"]["Value"] == secret + "-v2"
    srv.stop()
    assert files_containing(srv.data_dir, control.encode())
    assert files_containing(srv.root, secret.encode()) == []
    assert secret not in srv.all_logs()

    # A copy of the data with another master key reads everything but the secrets.
    other = fresh_server(start=False)
    shutil.copytree(srv.data_dir, other.data_dir, dirs_exist_ok=True)
    (other.data_dir / "master.key").write_text(base64.b64encode(secrets.token_bytes(32)).decode())
    other.start()
    ssm = other.client("ssm")
    with pytest.raises(ClientError) as exc:
        ssm.get_parameter(Name="/vault/first", WithDecryption=True)
    assert error_code(exc) == "InvalidKeyId"
    assert secret not in json.dumps(exc.value.response, default=str)
    sealed = ssm.get_parameter(Name="/vault/first")["Parameter"]["Value"]
    assert secret not in sealed
    with pytest.raises(ClientError):
        ssm.get_parameters_by_path(Path="/vault", WithDecryption=True)
    assert ssm.get_parameter(Name="/vault/plain")["Parameter"]["Value"] == control
    assert other.alive()

    # The original key still opens them.
    srv.start()
    assert srv.client("ssm").get_parameter(Name="/vault/first", WithDecryption=True)["Parameter"]["Value"] == secret + "-v2"
