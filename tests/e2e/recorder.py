"""Recorder functions for the tests of event sources (S3 notifications,
EventBridge, Scheduler).

A recorder is a Python function run on this machine that appends every event
it receives, with the time it received it, to a file under the test's tmp
dir: one JSON document `{"received": <epoch seconds>, "event": <event>}` per
line. The test reads the file back, so it sees exactly what was delivered,
how often and when. With FAIL set in its environment the function records
the event and then fails, to exercise retries and OnFailure destinations.

Test modules import these helpers directly (`from recorder import ...`);
pytest puts this directory on sys.path, as for conftest.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from conftest import create_function, unique, wait_until

RECORDER = """
import json
import os
import time


def handler(event, context):
    # One write per event on an O_APPEND file, so concurrent environments
    # never interleave inside a line.
    with open(os.environ["OUT_FILE"], "a") as fh:
        fh.write(json.dumps({"received": time.time(), "event": event}) + "\\n")
    if os.environ.get("FAIL"):
        raise RuntimeError("failing on purpose")
    return "ok"
"""


def make_recorder(lambda_client, out_file: Path, prefix: str = "recorder", **env: str) -> str:
    """Create a recorder writing to `out_file`; returns its name.

    `prefix` starts the function's name; `env` adds environment variables
    (FAIL="1" for one that always fails).
    """
    name = unique(prefix)
    create_function(
        lambda_client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": RECORDER},
        Environment={"Variables": {"OUT_FILE": str(out_file), **env}},
    )
    # Real AWS also needs lambda add_permission for the service principal
    # that invokes the function (s3.amazonaws.com, events.amazonaws.com);
    # Eddy does not implement function policies (AddPermission answers
    # NotImplemented), so it is not called.
    return name


def read_lines(path: Path) -> list[dict]:
    """Every recorded line, {"received": ..., "event": ...}.

    Complete lines only: a line still being written has no newline yet.
    """
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines(keepends=True) if line.endswith("\n")]


def read_events(path: Path) -> list:
    """The recorded events, in the order they were received."""
    return [line["event"] for line in read_lines(path)]


def wait_for_line(
    path: Path, predicate: Callable[[Any], Any] = lambda event: True, timeout: float = 60, what: str = "event"
) -> dict:
    """The first recorded line whose event satisfies `predicate`."""

    def find():
        return next((line for line in read_lines(path) if predicate(line["event"])), None)

    return wait_until(find, timeout=timeout, interval=0.05, message=lambda: f"no {what} arrived; got {read_lines(path)}")


def wait_for_event(
    path: Path, predicate: Callable[[Any], Any] = lambda event: True, timeout: float = 60, what: str = "event"
) -> Any:
    """The first recorded event that satisfies `predicate`."""
    return wait_for_line(path, predicate, timeout, what)["event"]
