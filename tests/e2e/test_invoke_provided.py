"""Custom runtimes (provided.al2023): Eddy's Runtime API must work for a
hand-written bootstrap, for AWS's official Python runtime interface client
(awslambdaric) and for the official Rust client (lambda_runtime), and a
broken bootstrap must be reported the way AWS reports it."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import E2E_DIR, REPO_ROOT, WORK_DIR, create_function, invoke, unique, zip_directory, zip_files

# A complete custom runtime in a few lines of urllib: poll /next, run the
# "handler", post the result (or an error) back.
PY_BOOTSTRAP = """#!/usr/bin/env python3
import json
import os
import urllib.request

BASE = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"


def post(path, payload, headers=None):
    req = urllib.request.Request(
        BASE + path, data=json.dumps(payload).encode(), method="POST", headers=headers or {}
    )
    with urllib.request.urlopen(req) as resp:
        resp.read()


while True:
    with urllib.request.urlopen(BASE + "/invocation/next") as resp:
        request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
        function_arn = resp.headers.get("Lambda-Runtime-Invoked-Function-Arn")
        deadline_ms = resp.headers.get("Lambda-Runtime-Deadline-Ms")
        event = json.loads(resp.read() or b"null")
    if isinstance(event, dict) and event.get("fail"):
        post(
            "/invocation/" + request_id + "/error",
            {"errorMessage": "asked to fail", "errorType": "CustomError", "stackTrace": []},
            {"Lambda-Runtime-Function-Error-Type": "CustomError"},
        )
        continue
    post(
        "/invocation/" + request_id + "/response",
        {
            "echo": event,
            "request_id": request_id,
            "arn": function_arn,
            "deadline_ms": int(deadline_ms) if deadline_ms else None,
            "handler": os.environ.get("_HANDLER"),
        },
    )
"""


def test_python_script_bootstrap(lambda_client):
    name = unique("prov-py")
    create_function(
        lambda_client,
        name,
        "provided.al2023",
        "my.handler",
        {"bootstrap": PY_BOOTSTRAP},
        modes={"bootstrap": 0o755},
    )
    resp, body = invoke(lambda_client, name, {"k": "v"})
    assert "FunctionError" not in resp, body
    assert body["echo"] == {"k": "v"}
    assert body["arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert body["handler"] == "my.handler"
    assert body["deadline_ms"] and body["deadline_ms"] > 0
    assert body["request_id"] == resp["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid")

    # Second invoke goes through the same loop.
    resp, body = invoke(lambda_client, name, [1, 2, 3])
    assert body["echo"] == [1, 2, 3]


def test_python_script_bootstrap_error(lambda_client):
    name = unique("prov-py-err")
    create_function(
        lambda_client, name, "provided.al2023", "x", {"bootstrap": PY_BOOTSTRAP}, modes={"bootstrap": 0o755}
    )
    resp, body = invoke(lambda_client, name, {"fail": True})
    assert resp.get("FunctionError"), body
    assert body["errorType"] == "CustomError", body
    assert body["errorMessage"] == "asked to fail", body
    # The runtime keeps working after reporting an error.
    resp, body = invoke(lambda_client, name, {"fine": True})
    assert "FunctionError" not in resp, body


def _pinned(package: str) -> str:
    text = (E2E_DIR / "requirements.txt").read_text()
    match = re.search(rf"^{re.escape(package)}==(\S+)", text, re.MULTILINE)
    assert match, f"{package} is not pinned in requirements.txt"
    return match.group(1)


@pytest.fixture(scope="session")
def awslambdaric_dir():
    """awslambdaric installed with pip into a cached directory (once per version)."""
    version = _pinned("awslambdaric")
    target = WORK_DIR / f"awslambdaric-{version}"
    if (target / ".complete").exists():
        return target
    staging = WORK_DIR / f"awslambdaric-{version}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--target",
            str(staging),
            f"awslambdaric=={version}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        pytest.fail(f"pip install awslambdaric failed:\n{proc.stdout}\n{proc.stderr}")
    shutil.rmtree(staging / "bin", ignore_errors=True)
    (staging / ".complete").write_text(version)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


RIC_BOOTSTRAP = '#!/bin/sh\ncd "$LAMBDA_TASK_ROOT"\nexec python3 -m awslambdaric app.handler\n'


def _ric_zip(ric_dir, app_py):
    return zip_directory(
        ric_dir,
        extra={"app.py": app_py, "bootstrap": RIC_BOOTSTRAP},
        modes={"bootstrap": 0o755},
    )


@pytest.mark.timeout(900)
def test_awslambdaric(lambda_client, awslambdaric_dir):
    name = unique("prov-ric")
    app = (
        "def handler(event, context):\n"
        "    return {'ric': True, 'event': event, 'fn': context.function_name}\n"
    )
    create_function(lambda_client, name, "provided.al2023", "app.handler", _ric_zip(awslambdaric_dir, app), Timeout=30)
    resp, body = invoke(lambda_client, name, {"via": "ric"})
    assert "FunctionError" not in resp, body
    assert body == {"ric": True, "event": {"via": "ric"}, "fn": name}


@pytest.mark.timeout(900)
def test_awslambdaric_init_error(lambda_client, awslambdaric_dir):
    name = unique("prov-ric-init")
    app = "raise RuntimeError('init went wrong')\n\ndef handler(event, context):\n    return 1\n"
    create_function(lambda_client, name, "provided.al2023", "app.handler", _ric_zip(awslambdaric_dir, app), Timeout=30)
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), f"an exception at import must be a function error: {body!r}"
    assert "init went wrong" in str(body), body


RUST_FN_DIR = REPO_ROOT / "tests" / "fixtures" / "rust-fn"


@pytest.fixture(scope="session")
def rust_fn_binary():
    """Build tests/fixtures/rust-fn (cached target dir; incremental after the first time)."""
    cargo = shutil.which("cargo") or os.path.expanduser("~/.cargo/bin/cargo")
    # CI keeps this outside the clone (EDDY_FIXTURE_TARGET_DIR) so builds are reused.
    target_dir = Path(os.environ.get("EDDY_FIXTURE_TARGET_DIR") or WORK_DIR / "rust-target")
    env = dict(os.environ, CARGO_TARGET_DIR=str(target_dir))
    proc = subprocess.run(
        [cargo, "build", "--release", "--locked", "--quiet"],
        cwd=RUST_FN_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=880,
    )
    if proc.returncode != 0:
        pytest.fail(f"building tests/fixtures/rust-fn failed:\n{proc.stdout}\n{proc.stderr}")
    binary = target_dir / "release" / "rust-fn"
    assert binary.is_file(), f"cargo did not produce {binary}"
    return binary


@pytest.mark.timeout(900)
def test_rust_lambda_runtime(lambda_client, rust_fn_binary):
    name = unique("prov-rust")
    package = zip_files({"bootstrap": rust_fn_binary.read_bytes()}, modes={"bootstrap": 0o755})
    create_function(lambda_client, name, "provided.al2023", "unused", package)
    resp, body = invoke(lambda_client, name, {"from": "rust"})
    assert "FunctionError" not in resp, body
    assert body == {"echo": {"from": "rust"}, "fn": name}
    resp, body = invoke(lambda_client, name, {"again": 2})
    assert body == {"echo": {"again": 2}, "fn": name}


INIT_ERROR_BOOTSTRAP = """#!/usr/bin/env python3
import json
import os
import urllib.request

url = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/init/error"
body = json.dumps({"errorMessage": "config missing", "errorType": "InitFailed", "stackTrace": []}).encode()
req = urllib.request.Request(url, data=body, method="POST", headers={"Lambda-Runtime-Function-Error-Type": "InitFailed"})
urllib.request.urlopen(req).read()
"""


def test_bootstrap_init_error(lambda_client):
    name = unique("prov-initerr")
    create_function(
        lambda_client, name, "provided.al2023", "x", {"bootstrap": INIT_ERROR_BOOTSTRAP}, modes={"bootstrap": 0o755}
    )
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), body
    assert body["errorMessage"] == "config missing", body


def test_bootstrap_that_exits(lambda_client):
    name = unique("prov-exit")
    create_function(
        lambda_client, name, "provided.al2023", "x", {"bootstrap": "#!/bin/sh\nexit 4\n"}, modes={"bootstrap": 0o755}
    )
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), body
    assert body["errorType"] == "Runtime.ExitError", body


@pytest.mark.parametrize(
    "files,modes",
    [
        ({"bootstrap": PY_BOOTSTRAP}, {"bootstrap": 0o644}),
        ({"not-a-bootstrap": "x"}, {}),
    ],
    ids=["no-exec-bit", "no-bootstrap"],
)
def test_invalid_entrypoint(lambda_client, files, modes):
    # A bootstrap that is missing or cannot be executed is reported the way
    # AWS does (Runtime.InvalidEntrypoint) instead of hanging the invoke.
    name = unique("prov-noentry")
    create_function(lambda_client, name, "provided.al2023", "x", files, modes=modes)
    resp, body = invoke(lambda_client, name, {})
    assert resp.get("FunctionError"), body
    assert body["errorType"] == "Runtime.InvalidEntrypoint", body
