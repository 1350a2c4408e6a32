"""The README quick-start and the rest of a function's life cycle, run with
the AWS CLI (v1) exactly as a user would type it."""

import base64
import json

from conftest import aws, zip_files

HELLO = """
def handler(event, context):
    return {"greeting": "hello " + event.get("name", "world")}
"""


def run(server, *args, cwd=None):
    rc, out, err = aws(server, *args, cwd=cwd)
    assert rc == 0, f"`aws {' '.join(args)}` failed with {rc}:\n{err}\n{out}"
    return out


def test_readme_flow(server, tmp_path):
    # AWS CLI v1 sends --payload as-is; v2 needs --cli-binary-format
    # raw-in-base64-out for the same call, and v1 rejects that flag.
    (tmp_path / "hello.zip").write_bytes(zip_files({"app.py": HELLO}))
    created = json.loads(
        run(
            server,
            "lambda",
            "create-function",
            "--function-name",
            "hello",
            "--runtime",
            "python3.12",
            "--handler",
            "app.handler",
            "--role",
            "arn:aws:iam::000000000000:role/lambda-role",
            "--zip-file",
            "fileb://hello.zip",
            cwd=tmp_path,
        )
    )
    assert created["FunctionName"] == "hello"
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:hello"

    run(server, "lambda", "wait", "function-active-v2", "--function-name", "hello")

    result = json.loads(
        run(
            server,
            "lambda",
            "invoke",
            "--function-name",
            "hello",
            "--payload",
            '{"name":"x"}',
            "out.json",
            cwd=tmp_path,
        )
    )
    assert result["StatusCode"] == 200
    assert "FunctionError" not in result, result
    assert json.loads((tmp_path / "out.json").read_text()) == {"greeting": "hello x"}

    listed = json.loads(run(server, "lambda", "list-functions"))
    assert "hello" in [f["FunctionName"] for f in listed["Functions"]]

    got = json.loads(run(server, "lambda", "get-function", "--function-name", "hello"))
    assert got["Configuration"]["FunctionName"] == "hello"
    assert got["Configuration"]["Runtime"] == "python3.12"
    assert got["Code"]["Location"]


def test_update_tail_and_delete(server, tmp_path):
    (tmp_path / "v1.zip").write_bytes(zip_files({"app.py": HELLO}))
    (tmp_path / "v2.zip").write_bytes(zip_files({"app.py": HELLO.replace("hello ", "bye ")}))
    run(
        server,
        "lambda",
        "create-function",
        "--function-name",
        "cli-cycle",
        "--runtime",
        "python3.12",
        "--handler",
        "app.handler",
        "--role",
        "arn:aws:iam::000000000000:role/lambda-role",
        "--zip-file",
        "fileb://v1.zip",
        cwd=tmp_path,
    )
    run(server, "lambda", "wait", "function-active-v2", "--function-name", "cli-cycle")
    run(server, "lambda", "update-function-code", "--function-name", "cli-cycle", "--zip-file", "fileb://v2.zip", cwd=tmp_path)
    run(server, "lambda", "wait", "function-updated-v2", "--function-name", "cli-cycle")

    log_b64 = run(
        server,
        "lambda",
        "invoke",
        "--function-name",
        "cli-cycle",
        "--payload",
        '{"name":"y"}',
        "--log-type",
        "Tail",
        "--query",
        "LogResult",
        "--output",
        "text",
        "out.json",
        cwd=tmp_path,
    )
    assert json.loads((tmp_path / "out.json").read_text()) == {"greeting": "bye y"}
    assert "REPORT RequestId" in base64.b64decode(log_b64.strip()).decode()

    run(server, "lambda", "delete-function", "--function-name", "cli-cycle")
    rc, _, err = aws(server, "lambda", "get-function", "--function-name", "cli-cycle")
    assert rc != 0 and "ResourceNotFoundException" in err, err


def test_cli_reports_errors(server):
    rc, out, err = aws(server, "lambda", "get-function", "--function-name", "no-such-function-here")
    assert rc != 0
    assert "ResourceNotFoundException" in err, err
