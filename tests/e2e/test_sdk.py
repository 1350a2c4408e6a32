"""The AWS SDKs that managed runtimes provide: installed once from the package
registries into Eddy's SDK cache, then importable by functions that do not
package them, and pointing back at Eddy through AWS_ENDPOINT_URL.

The cache is shared by every server of the machine (~/.cache/eddy unless
EDDY_SDK_CACHE_DIR says otherwise), so only the first run installs.
"""

import os
from pathlib import Path

import pytest

from conftest import Server, _cleanup, create_function, invoke, unique, wait_until

FLAGS = ["--async-retry-base-delay-ms", "200", "--sdk-install", "true"]


@pytest.fixture(scope="module")
def sdk_server(eddy_bin, tmp_path_factory):
    srv = Server(eddy_bin, tmp_path_factory.mktemp("eddy-sdk"), FLAGS)
    try:
        srv.start()
        yield srv
    finally:
        _cleanup(srv)


def sdk_cache_dir() -> Path:
    if os.environ.get("EDDY_SDK_CACHE_DIR"):
        return Path(os.environ["EDDY_SDK_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "eddy"
    return Path.home() / ".cache" / "eddy"


def wait_sdk_ready(server, language: str) -> None:
    # A first install downloads from the registry; later runs find the cache.
    wait_until(
        lambda: server.health()["sdks"][language] == "ready",
        timeout=280,
        interval=0.5,
        message=lambda: f"{language} SDK never became ready: {server.health()['sdks']}",
    )


def test_python_functions_get_boto3_from_the_sdk_cache(sdk_server):
    client = sdk_server.client("lambda")
    name = unique("sdk-py")
    create_function(
        client,
        name,
        "python3.12",
        "app.handler",
        {
            "app.py": (
                "import boto3\n"
                "def handler(event, context):\n"
                "    names = [f['FunctionName'] for f in boto3.client('lambda').list_functions()['Functions']]\n"
                "    return {'boto3': boto3.__file__, 'names': names}\n"
            )
        },
    )
    wait_sdk_ready(sdk_server, "python")
    resp, body = invoke(client, name, {})
    assert "FunctionError" not in resp, body
    assert name in body["names"], body
    assert body["boto3"].startswith(str(sdk_cache_dir() / "sdk" / "python")), (
        f"boto3 should come from the provided SDK, not the host: {body['boto3']}"
    )


def test_node_functions_import_the_v3_clients(sdk_server):
    client = sdk_server.client("lambda")
    cjs = unique("sdk-cjs")
    esm = unique("sdk-esm")
    create_function(
        client,
        cjs,
        "nodejs20.x",
        "index.handler",
        {
            "index.js": (
                "const { LambdaClient, ListFunctionsCommand } = require('@aws-sdk/client-lambda');\n"
                "exports.handler = async () => {\n"
                "  const out = await new LambdaClient({}).send(new ListFunctionsCommand({}));\n"
                "  return out.Functions.map((f) => f.FunctionName);\n"
                "};\n"
            )
        },
    )
    create_function(
        client,
        esm,
        "nodejs22.x",
        "index.handler",
        {
            "index.mjs": (
                "import { LambdaClient, GetFunctionCommand } from '@aws-sdk/client-lambda';\n"
                "export const handler = async () => {\n"
                "  const out = await new LambdaClient({}).send(new GetFunctionCommand({ FunctionName: process.env.AWS_LAMBDA_FUNCTION_NAME }));\n"
                "  return out.Configuration.FunctionName;\n"
                "};\n"
            )
        },
    )
    wait_sdk_ready(sdk_server, "node")
    resp, body = invoke(client, cjs, {})
    assert "FunctionError" not in resp, body
    assert cjs in body and esm in body, body
    resp, body = invoke(client, esm, {})
    assert "FunctionError" not in resp, body
    assert body == esm


def test_node_function_reads_a_securestring_and_a_secret(sdk_server):
    """With the environment's own credentials, through the provided v3 clients."""
    ssm = sdk_server.client("ssm")
    sm = sdk_server.client("secretsmanager")
    parameter = f"/{unique('node')}/db-url"
    secret = unique("node-secret")
    ssm.put_parameter(Name=parameter, Type="SecureString", Value="pg://node-reads-this")
    sm.create_secret(Name=secret, SecretString="node-secret-value")
    client = sdk_server.client("lambda")
    name = unique("sdk-secrets")
    create_function(
        client,
        name,
        "nodejs20.x",
        "index.handler",
        {
            "index.mjs": (
                "import { SSMClient, GetParameterCommand } from '@aws-sdk/client-ssm';\n"
                "import { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';\n"
                "export const handler = async (event) => {\n"
                "  const p = await new SSMClient({}).send(new GetParameterCommand({ Name: event.parameter, WithDecryption: true }));\n"
                "  const s = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: event.secret }));\n"
                "  return { parameter: p.Parameter.Value, secret: s.SecretString };\n"
                "};\n"
            )
        },
        Timeout=30,
    )
    wait_sdk_ready(sdk_server, "node")
    resp, body = invoke(client, name, {"parameter": parameter, "secret": secret})
    assert "FunctionError" not in resp, body
    assert body == {"parameter": "pg://node-reads-this", "secret": "node-secret-value"}


def test_packaged_copy_wins_over_the_provided_sdk(sdk_server):
    client = sdk_server.client("lambda")
    name = unique("sdk-own")
    create_function(
        client,
        name,
        "python3.12",
        "app.handler",
        {
            "boto3/__init__.py": "PACKAGED = True\n",
            "app.py": "import boto3\ndef handler(event, context):\n    return getattr(boto3, 'PACKAGED', False)\n",
        },
    )
    wait_sdk_ready(sdk_server, "python")
    resp, body = invoke(client, name, {})
    assert body is True, body


def test_health_reports_sdk_states(server):
    # The shared server runs with installs off.
    sdks = server.health()["sdks"]
    assert set(sdks) == {"python", "node"}
    assert all(v in {"not-requested", "unavailable", "ready", "installing", "configured"} for v in sdks.values()), sdks
