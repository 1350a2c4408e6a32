"""Execution environment lifecycle: idle environments are frozen and thawed
without losing state, stopped after the idle timeout, and removed when their
function is deleted; many concurrent requests are served without errors."""

import concurrent.futures

from conftest import create_function, invoke, pid_alive, unique, wait_until

STATEFUL = """
import os

COUNT = 0


def handler(event, context):
    global COUNT
    COUNT += 1
    return {"pid": os.getpid(), "count": COUNT}
"""


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def test_frozen_environment_keeps_state(fresh_server):
    srv = fresh_server(flags=["--async-retry-base-delay-ms", "200", "--freeze-after-ms", "0"])
    client = srv.client("lambda")
    name = unique("life-freeze")
    create_function(client, name, "python3.12", "app.handler", {"app.py": STATEFUL})
    first = invoke(client, name, {})[1]
    # Frozen between invokes (stopped or in the cgroup freezer)...
    wait_until(lambda: _state(first["pid"]) in ("T", "D"), timeout=10, message="idle environment never frozen")
    # ...and thawed for the next one, with its memory intact.
    second = invoke(client, name, {})[1]
    assert second == {"pid": first["pid"], "count": 2}, (first, second)


def test_idle_environment_is_stopped(fresh_server):
    srv = fresh_server(flags=["--async-retry-base-delay-ms", "200", "--idle-timeout-ms", "500"])
    client = srv.client("lambda")
    name = unique("life-idle")
    create_function(client, name, "python3.12", "app.handler", {"app.py": STATEFUL})
    first = invoke(client, name, {})[1]
    wait_until(lambda: not pid_alive(first["pid"]), timeout=15, message="idle environment was never stopped")
    second = invoke(client, name, {})[1]
    assert second["pid"] != first["pid"]
    assert second["count"] == 1, "a stopped environment's replacement starts from scratch"


def test_delete_function_stops_environments(server, lambda_client):
    name = unique("life-del")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": STATEFUL})
    pid = invoke(lambda_client, name, {})[1]["pid"]
    assert pid_alive(pid)
    lambda_client.delete_function(FunctionName=name)
    wait_until(lambda: not pid_alive(pid), timeout=15, message="environment outlived its deleted function")


def test_many_concurrent_requests(server, lambda_client):
    name = unique("life-many")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": STATEFUL})
    # Boto3 clients are thread-safe; give the pool enough connections.
    client = server.client("lambda", max_pool_connections=32)

    def call(i):
        if i % 2:
            return client.list_functions(MaxItems=5)["ResponseMetadata"]["HTTPStatusCode"]
        resp, body = invoke(client, name, {})
        assert "FunctionError" not in resp, body
        return resp["StatusCode"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(call, range(120)))
    assert statuses == [200] * 120
    assert server.health()["status"] == "ok"

