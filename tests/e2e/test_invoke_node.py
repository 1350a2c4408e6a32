"""Synchronous invocation of nodejs20.x functions: CommonJS, ES modules,
callback-style handlers, the context object, thrown errors, init failures,
timeouts, crashes and environment reuse."""

import base64

from conftest import create_function, invoke, unique

COMMONJS = """
let count = 0;
exports.handler = async (event, context) => {
  count += 1;
  return { event, count, pid: process.pid, fn: context.functionName };
};
"""

ESM = """
export const handler = async (event) => {
  return { esm: true, event };
};
"""

CALLBACK = """
exports.handler = (event, context, callback) => {
  setTimeout(() => callback(null, { style: "callback", event }), 10);
};
"""

THROWS = """
exports.handler = async () => {
  throw new Error("kaboom");
};
"""


def test_commonjs_handler(lambda_client):
    name = unique("node-cjs")
    create_function(lambda_client, name, "nodejs20.x", "index.handler", {"index.js": COMMONJS})
    resp, body = invoke(lambda_client, name, {"hello": "node"})
    assert "FunctionError" not in resp, body
    assert body["event"] == {"hello": "node"}
    assert body["fn"] == name


def test_es_module_handler(lambda_client):
    name = unique("node-esm")
    create_function(lambda_client, name, "nodejs20.x", "index.handler", {"index.mjs": ESM})
    resp, body = invoke(lambda_client, name, {"x": 1})
    assert "FunctionError" not in resp, body
    assert body == {"esm": True, "event": {"x": 1}}


def test_es_module_by_package_type(lambda_client):
    name = unique("node-esm-pkg")
    files = {
        "package.json": '{"type": "module"}',
        "index.js": "export const handler = async (event) => ({ pkgType: true, event });\n",
    }
    create_function(lambda_client, name, "nodejs20.x", "index.handler", files)
    resp, body = invoke(lambda_client, name, {"z": 3})
    assert "FunctionError" not in resp, body
    assert body == {"pkgType": True, "event": {"z": 3}}


def test_callback_handler(lambda_client):
    name = unique("node-cb")
    create_function(lambda_client, name, "nodejs20.x", "index.handler", {"index.js": CALLBACK})
    resp, body = invoke(lambda_client, name, {"y": 2})
    assert "FunctionError" not in resp, body
    assert body == {"style": "callback", "event": {"y": 2}}


def test_thrown_error(lambda_client):
    name = unique("node-err")
    create_function(lambda_client, name, "nodejs20.x", "index.handler", {"index.js": THROWS})
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), body
    assert body["errorType"] == "Error", body
    assert body["errorMessage"] == "kaboom", body


def test_module_state_is_reused(lambda_client):
    name = unique("node-reuse")
    create_function(lambda_client, name, "nodejs20.x", "index.handler", {"index.js": COMMONJS})
    bodies = [invoke(lambda_client, name, {"i": i})[1] for i in range(3)]
    assert [b["count"] for b in bodies] == [1, 2, 3], bodies
    assert len({b["pid"] for b in bodies}) == 1, bodies


CONTEXT = """
console.log("node-init-line");
exports.handler = async (event, context) => {
  console.log("node-handler-line");
  return {
    remaining: context.getRemainingTimeInMillis(),
    arn: context.invokedFunctionArn,
    requestId: context.awsRequestId,
    memory: String(context.memoryLimitInMB),
    version: context.functionVersion,
    logGroup: context.logGroupName,
    envName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    custom: process.env.CUSTOM,
  };
};
"""

SLOW = """
exports.handler = async () => {
  await new Promise((resolve) => setTimeout(resolve, 3000));
  return "too late";
};
"""


def test_context_and_environment(lambda_client):
    name = unique("node-ctx")
    create_function(
        lambda_client,
        name,
        "nodejs20.x",
        "index.handler",
        {"index.js": CONTEXT},
        Timeout=5,
        MemorySize=256,
        Environment={"Variables": {"CUSTOM": "yes"}},
    )
    resp, body = invoke(lambda_client, name, {}, LogType="Tail")
    assert "FunctionError" not in resp, body
    assert 0 < body["remaining"] <= 5000, body
    assert body["arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert body["requestId"] == resp["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid")
    assert body["memory"] == "256"
    assert body["version"] == "$LATEST"
    assert body["logGroup"] == f"/aws/lambda/{name}"
    assert body["envName"] == name
    assert body["custom"] == "yes"
    log = base64.b64decode(resp["LogResult"]).decode()
    assert "node-handler-line" in log, log


def test_timeout(lambda_client):
    name = unique("node-timeout")
    create_function(lambda_client, name, "nodejs20.x", "index.handler", {"index.js": SLOW}, Timeout=1)
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), body
    assert "Task timed out after 1.00 seconds" in body["errorMessage"], body


def test_missing_module(lambda_client):
    name = unique("node-nomod")
    create_function(lambda_client, name, "nodejs20.x", "missing.handler", {"index.js": COMMONJS})
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), body
    assert body["errorType"] == "Runtime.ImportModuleError", body


def test_missing_handler(lambda_client):
    name = unique("node-nohandler")
    create_function(lambda_client, name, "nodejs20.x", "index.nothere", {"index.js": COMMONJS})
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), body
    assert body["errorType"] == "Runtime.HandlerNotFound", body


def test_callback_error(lambda_client):
    name = unique("node-cberr")
    code = 'exports.handler = (event, context, callback) => callback(new Error("cb-fail"));\n'
    create_function(lambda_client, name, "nodejs20.x", "index.handler", {"index.js": code})
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), body
    assert body["errorType"] == "Error", body
    assert body["errorMessage"] == "cb-fail", body


def test_process_exit_then_recovery(lambda_client):
    name = unique("node-exit")
    code = (
        "exports.handler = async (event) => {\n"
        "  if (event.exit) process.exit(2);\n"
        "  return { pid: process.pid };\n"
        "};\n"
    )
    create_function(lambda_client, name, "nodejs20.x", "index.handler", {"index.js": code})
    resp, body = invoke(lambda_client, name, {"exit": True})
    assert resp.get("FunctionError"), body
    assert body["errorType"] == "Runtime.ExitError", body
    resp, body = invoke(lambda_client, name, {})
    assert "FunctionError" not in resp, body
