"""Credentials: STS GetCallerIdentity and AssumeRole, temporary credentials that
need their session token, the credentials each execution environment gets of
its own (acting as the function's role), and their end with the environment.

Functions use the boto3 of the tests' venv (the shared server's
--python-sdk-path) and reach Eddy through AWS_ENDPOINT_URL."""

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, REGION, create_function, error_code, invoke, unique, wait_until

WHOAMI = """
import os

import boto3


def handler(event, context):
    return {
        "arn": boto3.client("sts").get_caller_identity()["Arn"],
        "key": os.environ["AWS_ACCESS_KEY_ID"],
        "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
        "token": os.environ["AWS_SESSION_TOKEN"],
    }
"""


def client_with(server, service: str, creds: dict):
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def sts(server):
    return server.client("sts")


def test_root_identity(sts):
    ident = sts.get_caller_identity()
    assert ident["Account"] == ACCOUNT_ID
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"


def test_assume_role_credentials_need_their_token(server, sts):
    session = unique("s")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/app", RoleSessionName=session)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    ident = client_with(server, "sts", creds).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/app/{session}"
    # The same keys with another token, or none, are refused.
    for token in ("forged", None):
        with pytest.raises(ClientError) as exc:
            client_with(server, "sts", {**creds, "SessionToken": token}).get_caller_identity()
        assert error_code(exc) in ("UnrecognizedClientException", "InvalidClientTokenId")
    # Other services accept them too.
    client_with(server, "lambda", creds).list_functions()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"RoleArn": "arn:aws:iam::111111111111:role/app", "RoleSessionName": "ok-name"},
        {"RoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/app", "RoleSessionName": "bad name"},
        {"RoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/app", "RoleSessionName": "ok-name", "DurationSeconds": 60},
    ],
)
def test_assume_role_bad_input(server, kwargs):
    # The server's own checks, not botocore's.
    sts = server.client("sts", parameter_validation=False)
    with pytest.raises(ClientError) as exc:
        sts.assume_role(**kwargs)
    assert error_code(exc) == "ValidationError"


def test_environment_has_credentials_of_its_own(server, lambda_client):
    name = unique("whoami")
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/service-role/{name}-role"
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": WHOAMI}, Role=role, Timeout=30)
    resp, body = invoke(lambda_client, name, {})
    assert "FunctionError" not in resp, body
    assert body["arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{name}-role/{name}"
    assert body["key"].startswith("ASIA")
    creds = {"AccessKeyId": body["key"], "SecretAccessKey": body["secret"], "SessionToken": body["token"]}
    assert client_with(server, "sts", creds).get_caller_identity()["Arn"] == body["arn"]

    # A warm environment keeps its credentials.
    _, again = invoke(lambda_client, name, {})
    assert again["key"] == body["key"]

    # A configuration change retires the environment: its credentials end with it.
    lambda_client.update_function_configuration(FunctionName=name, MemorySize=256)

    def refused():
        try:
            client_with(server, "sts", creds).get_caller_identity()
            return False
        except ClientError as e:
            return e.response["Error"]["Code"] == "UnrecognizedClientException"

    wait_until(refused, timeout=30, message="credentials of a retired environment still work")
    _, fresh = invoke(lambda_client, name, {})
    assert fresh["key"] != body["key"]


def test_environments_do_not_get_the_server_keys(server, lambda_client):
    name = unique("env-keys")
    code = "import os\ndef handler(e, c):\n    return {k: v for k, v in os.environ.items() if k.startswith('AWS_')}\n"
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": code})
    _, env = invoke(lambda_client, name, {})
    assert env["AWS_ACCESS_KEY_ID"] != "test"
    assert env["AWS_SECRET_ACCESS_KEY"] != "test"
    assert env["AWS_SESSION_TOKEN"]
    assert env["AWS_ENDPOINT_URL"] == server.url
    assert json.dumps(env).count(env["AWS_SESSION_TOKEN"]) == 1
