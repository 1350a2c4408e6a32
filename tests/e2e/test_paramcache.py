"""Functions read parameters and secrets at run time: through the SDK with the
environment's own credentials, and through the local endpoint of AWS's
Parameters and Secrets extension (port in PARAMETERS_SECRETS_EXTENSION_HTTP_PORT,
authenticated by the environment's session token), with its per-function cache.

Functions use the boto3 of the tests' venv (the shared server's
--python-sdk-path) and reach Eddy through AWS_ENDPOINT_URL."""

import json
import urllib.error
import urllib.request

import pytest

from conftest import create_function, invoke, unique, wait_until

READER = """
import json
import os
import urllib.error
import urllib.request

import boto3


def handler(event, context):
    if event.get("sdk"):
        ssm = boto3.client("ssm").get_parameter(Name=event["parameter"], WithDecryption=True)
        sm = boto3.client("secretsmanager").get_secret_value(SecretId=event["secret"])
        return {"parameter": ssm["Parameter"]["Value"], "secret": sm["SecretString"]}
    port = os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]
    headers = {}
    if event.get("token", True):
        headers["X-Aws-Parameters-Secrets-Token"] = event.get("use_token") or os.environ["AWS_SESSION_TOKEN"]
    req = urllib.request.Request(f"http://localhost:{port}{event['path']}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return {"status": r.status, "body": json.loads(r.read()), "port": port,
                    "token": os.environ["AWS_SESSION_TOKEN"]}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read().decode(), "port": port}
"""

NODE_READER = """
export const handler = async (event) => {
  const port = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT;
  const r = await fetch(`http://localhost:${port}${event.path}`, {
    headers: { "X-Aws-Parameters-Secrets-Token": process.env.AWS_SESSION_TOKEN },
  });
  return { status: r.status, body: await r.json() };
};
"""


@pytest.fixture(scope="module")
def ssm(server):
    return server.client("ssm")


@pytest.fixture(scope="module")
def sm(server):
    return server.client("secretsmanager")


@pytest.fixture(scope="module")
def values(ssm, sm):
    """A SecureString and a secret with values found nowhere else."""
    parameter = f"/{unique('shop')}/db-url"
    secret = f"{unique('shop')}/api-key"
    pvalue = f"postgres://{unique('pw')}@db"
    svalue = json.dumps({"key": unique("k")})
    ssm.put_parameter(Name=parameter, Type="SecureString", Value=pvalue)
    sm.create_secret(Name=secret, SecretString=svalue)
    return {"parameter": parameter, "secret": secret, "pvalue": pvalue, "svalue": svalue}


def reader(lambda_client, **env) -> str:
    name = unique("reader")
    create_function(
        lambda_client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": READER},
        Timeout=30,
        Environment={"Variables": env} if env else {},
    )
    return name


def call(lambda_client, name: str, event: dict) -> dict:
    resp, body = invoke(lambda_client, name, event)
    assert "FunctionError" not in resp, body
    return body


def test_sdk_inside_a_function(lambda_client, values):
    name = reader(lambda_client)
    got = call(lambda_client, name, {"sdk": True, "parameter": values["parameter"], "secret": values["secret"]})
    assert got == {"parameter": values["pvalue"], "secret": values["svalue"]}


def test_endpoint_answers_as_the_api(lambda_client, values):
    name = reader(lambda_client)
    got = call(lambda_client, name, {"path": f"/systemsmanager/parameters/get?name={values['parameter']}&withDecryption=true"})
    assert got["status"] == 200, got
    assert got["body"]["Parameter"]["Value"] == values["pvalue"]
    assert got["body"]["Parameter"]["Type"] == "SecureString"
    got = call(lambda_client, name, {"path": f"/secretsmanager/get?secretId={values['secret']}"})
    assert got["status"] == 200, got
    assert got["body"]["SecretString"] == values["svalue"]
    assert "AWSCURRENT" in got["body"]["VersionStages"]
    # Without decryption the value stays sealed.
    got = call(lambda_client, name, {"path": f"/systemsmanager/parameters/get?name={values['parameter']}"})
    assert got["status"] == 200 and got["body"]["Parameter"]["Value"] != values["pvalue"]


def test_node_function_reads_the_endpoint(lambda_client, values):
    name = unique("node-reader")
    create_function(lambda_client, name, "nodejs20.x", "index.handler", {"index.mjs": NODE_READER}, Timeout=30)
    got = call(lambda_client, name, {"path": f"/secretsmanager/get?secretId={values['secret']}"})
    assert got["status"] == 200, got
    assert got["body"]["SecretString"] == values["svalue"]


def test_unknown_names_answer_as_the_api(lambda_client):
    name = reader(lambda_client)
    got = call(lambda_client, name, {"path": "/systemsmanager/parameters/get?name=/no/such/thing"})
    assert got["status"] == 400 and "ParameterNotFound" in json.dumps(got["body"]), got
    got = call(lambda_client, name, {"path": "/secretsmanager/get?secretId=no-such-secret"})
    assert got["status"] == 400 and "ResourceNotFoundException" in json.dumps(got["body"]), got


def test_cache_and_its_ttl(lambda_client, ssm):
    parameter = f"/{unique('cached')}/v"
    ssm.put_parameter(Name=parameter, Type="String", Value="one")
    path = f"/systemsmanager/parameters/get?name={parameter}"
    cached = reader(lambda_client)
    uncached = reader(lambda_client, SSM_PARAMETER_STORE_TTL="0")
    assert call(lambda_client, cached, {"path": path})["body"]["Parameter"]["Value"] == "one"
    assert call(lambda_client, uncached, {"path": path})["body"]["Parameter"]["Value"] == "one"
    ssm.put_parameter(Name=parameter, Type="String", Value="two", Overwrite=True)
    # The default TTL (300 s) serves the cached value; a TTL of 0 reads through.
    assert call(lambda_client, cached, {"path": path})["body"]["Parameter"]["Value"] == "one"
    assert call(lambda_client, uncached, {"path": path})["body"]["Parameter"]["Value"] == "two"
    # Caches are per function: another function sees the new value at once.
    assert call(lambda_client, reader(lambda_client), {"path": path})["body"]["Parameter"]["Value"] == "two"


def test_endpoint_needs_a_live_environments_token(lambda_client, values):
    name = reader(lambda_client)
    path = f"/secretsmanager/get?secretId={values['secret']}"
    assert call(lambda_client, name, {"path": path, "token": False})["status"] == 401
    assert call(lambda_client, name, {"path": path, "use_token": "forged"})["status"] == 403
    ok = call(lambda_client, name, {"path": path})
    assert ok["status"] == 200
    # The token of an environment that ended is refused.
    lambda_client.update_function_configuration(FunctionName=name, MemorySize=256)

    def refused():
        req = urllib.request.Request(
            f"http://127.0.0.1:{ok['port']}{path}", headers={"X-Aws-Parameters-Secrets-Token": ok["token"]}
        )
        try:
            urllib.request.urlopen(req, timeout=5)
            return False
        except urllib.error.HTTPError as e:
            return e.code == 403

    wait_until(refused, timeout=30, message="an ended environment's token still works")
