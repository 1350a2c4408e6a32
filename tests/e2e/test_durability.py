"""Crash safety: state, accepted async events and pending retries survive
`kill -9`, and a stopped or killed server leaves no function environment
running."""

import json

import pytest

from conftest import create_function, env_processes, invoke, pid_alive, unique, wait_until

SLOW_MARKER = """
import os
import time


def handler(event, context):
    time.sleep(0.3)
    path = os.path.join(os.environ["OUT_DIR"], "marker-" + str(event["n"]))
    with open(path, "a") as fh:
        fh.write(context.aws_request_id + "\\n")
    return event["n"]
"""


@pytest.mark.timeout(300)
def test_kill9_keeps_state_and_async_events(fresh_server, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    srv = fresh_server()
    client = srv.client("lambda")
    name = unique("durable")
    create_function(
        client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": SLOW_MARKER},
        Environment={"Variables": {"OUT_DIR": str(out)}},
        Timeout=30,
    )
    version = client.publish_version(FunctionName=name)["Version"]
    client.create_alias(FunctionName=name, Name="stable", FunctionVersion=version)

    for n in range(5):
        resp, _ = invoke(client, name, {"n": n}, InvocationType="Event")
        assert resp["StatusCode"] == 202

    # Kill before the queue can drain (5 x 0.3 s of work): a 202 is a promise
    # that must survive the crash.
    envs_before = env_processes(f"AWS_LAMBDA_FUNCTION_NAME={name}")
    srv.kill9()
    done_before_kill = [n for n in range(5) if (out / f"marker-{n}").exists()]
    assert len(done_before_kill) < 5, "all events ran before the kill; the test proved nothing"

    srv.start()
    client = srv.client("lambda")

    markers = [out / f"marker-{n}" for n in range(5)]
    wait_until(
        lambda: all(m.exists() for m in markers),
        timeout=60,
        interval=0.2,
        message=lambda: "async events lost across kill -9; present: "
        + str(sorted(p.name for p in out.iterdir()))
        + f"\n--- log after restart ---\n{srv.log()}",
    )

    conf = client.get_function_configuration(FunctionName=name)
    assert conf["FunctionName"] == name
    versions = [v["Version"] for v in client.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", version], versions
    alias = client.get_alias(FunctionName=name, Name="stable")
    assert alias["FunctionVersion"] == version
    resp, body = invoke(client, name, {"n": 99}, Qualifier="stable")
    assert resp["ExecutedVersion"] == version
    assert body == 99

    # Environments that belonged to the killed server must be gone.
    wait_until(
        lambda: not [p for p in envs_before if pid_alive(p)],
        timeout=10,
        message=lambda: f"environments of the killed server still running: {[p for p in envs_before if pid_alive(p)]}",
    )


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("frozen", [False, True], ids=["warm", "frozen"])
def test_kill9_leaves_no_environment_behind(fresh_server, frozen):
    # An idle environment is frozen; it must still die with its server
    # (a cgroup-v1-frozen process cannot act on a SIGKILL until thawed).
    flags = ["--async-retry-base-delay-ms", "200", "--freeze-after-ms", "0" if frozen else "600000"]
    srv = fresh_server(flags=flags)
    client = srv.client("lambda")
    name = unique("orphan")
    code = "import os\n\ndef handler(event, context):\n    return os.getpid()\n"
    create_function(client, name, "python3.12", "app.handler", {"app.py": code})
    _, pid = invoke(client, name, {})
    marker = f"AWS_LAMBDA_FUNCTION_NAME={name}"
    assert pid in env_processes(marker), "the warm environment should be visible in /proc"
    if frozen:
        wait_until(lambda: _state(pid) in ("T", "D"), timeout=10, message="the idle environment was never frozen")

    srv.kill9()
    # No restart here: the environment must die with its server, not wait
    # for a new server to clean up.
    wait_until(
        lambda: not [p for p in env_processes(marker) if pid_alive(p)],
        timeout=10,
        message=lambda: f"function environments outlived the killed server: "
        f"{[(p, _state(p)) for p in env_processes(marker)]}",
    )


@pytest.mark.timeout(120)
def test_sigterm_leaves_no_environment_behind(fresh_server):
    srv = fresh_server(flags=["--async-retry-base-delay-ms", "200", "--freeze-after-ms", "0"])
    client = srv.client("lambda")
    name = unique("term-env")
    code = "import os\n\ndef handler(event, context):\n    return os.getpid()\n"
    create_function(client, name, "python3.12", "app.handler", {"app.py": code})
    invoke(client, name, {})
    assert srv.stop() == 0
    marker = f"AWS_LAMBDA_FUNCTION_NAME={name}"
    wait_until(
        lambda: not [p for p in env_processes(marker) if pid_alive(p)],
        timeout=10,
        message=lambda: f"environments outlived a graceful stop: {env_processes(marker)}",
    )


FAILING = """
import json
import os


def handler(event, context):
    with open(os.path.join(os.environ["OUT_DIR"], "attempts"), "a") as fh:
        fh.write(context.aws_request_id + "\\n")
    raise RuntimeError("always fails")
"""

RECORDER = """
import json
import os


def handler(event, context):
    path = os.path.join(os.environ["OUT_DIR"], "record.json")
    with open(path + ".tmp", "w") as fh:
        json.dump(event, fh)
    os.rename(path + ".tmp", path)
"""


@pytest.mark.timeout(300)
def test_retries_continue_after_kill9(fresh_server, tmp_path):
    # A 1 s base delay leaves a clear gap after the first failed attempt in
    # which to kill the server; the pending retries must survive it.
    out = tmp_path / "out"
    out.mkdir()
    srv = fresh_server(flags=["--async-retry-base-delay-ms", "1000"])
    client = srv.client("lambda")
    env = {"Variables": {"OUT_DIR": str(out)}}
    name = unique("durable-retry")
    dest = unique("durable-dest")
    create_function(client, name, "python3.12", "app.handler", {"app.py": FAILING}, Environment=env)
    create_function(client, dest, "python3.12", "app.handler", {"app.py": RECORDER}, Environment=env)
    dest_arn = client.get_function_configuration(FunctionName=dest)["FunctionArn"]
    client.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": dest_arn}}
    )
    invoke(client, name, {"job": 7}, InvocationType="Event")

    attempts = out / "attempts"
    wait_until(attempts.exists, timeout=30, message="first attempt never ran")
    srv.kill9()
    srv.start()

    record_path = out / "record.json"
    wait_until(record_path.exists, timeout=90, interval=0.2, message="retries did not finish after the restart")
    lines = attempts.read_text().splitlines()
    assert len(lines) >= 3, f"1 attempt + 2 retries expected across the restart, saw {len(lines)}"
    record = json.loads(record_path.read_text())
    assert record["requestContext"]["condition"] == "RetriesExhausted", record
    assert record["requestPayload"] == {"job": 7}
