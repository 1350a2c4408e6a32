#!/usr/bin/env python3
"""Runs AWS-recorded event-pattern cases through Eddy's EventBridge API.

The pattern crate's conformance example checks the matcher in-process; this
script sends the same cases through a real `eddy server` with boto3's
`events.test_event_pattern`, so the HTTP API layer (request parsing, event
validation, error codes and messages) is measured too.

First write the cases with the example (see the module doc of
crates/pattern/examples/conformance.rs for where the templates and the
snapshot come from), then build the server and run this script with the
repository's virtualenv, which has boto3:

    cargo run -p pattern --example conformance -- --dump /tmp/pattern_cases.jsonl \\
        <templates-dir> <snapshot.json>
    cargo build --release -p eddy
    .venv/bin/python scripts/conformance_events.py /tmp/pattern_cases.jsonl

Each case is sent as recorded: the event text as it is in the dump (the
recorded run sent the template's event unchanged, so no envelope field is
added). A `match` or `no-match` case agrees when `Result` is true or false; an
`error` case agrees when the call fails with InvalidEventPatternException and
the first line of its message equals AWS's. The script prints every
disagreement, then "N of M cases agree with AWS (P%)", and exits 0 only when
all agree.

The server listens on 127.0.0.1 on a port it picks, keeps its data in a fresh
temporary directory, and is stopped by pid (SIGTERM, then SIGKILL) at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parents[1]
LISTENING_RE = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
STARTUP_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 15.0
EXPECTED_ERROR_CODE = "InvalidEventPatternException"


def first_line(text: str | None) -> str:
    return (text or "").split("\n", 1)[0]


def start_server(eddy_bin: Path, data_dir: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    """Starts `eddy server` and waits for its "listening on" line in the log."""
    cmd = [
        str(eddy_bin),
        "server",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        str(data_dir),
        "--sdk-install",
        "false",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        match = LISTENING_RE.search(log_path.read_text(errors="replace"))
        if match:
            return proc, match.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    stop_server(proc)
    raise SystemExit(
        f"eddy did not print 'listening on http://127.0.0.1:PORT' within {STARTUP_TIMEOUT_S}s\n"
        f"command: {' '.join(cmd)}\n--- log ---\n{log_path.read_text(errors='replace')}"
    )


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def events_client(url: str):
    return boto3.session.Session().client(
        "events",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30),
    )


def check(client, case: dict) -> str | None:
    """None when Eddy agrees with AWS on this case, else what differed."""
    expect = case["expect"]
    try:
        result = client.test_event_pattern(EventPattern=case["pattern"], Event=case["event"])["Result"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code"), error.get("Message")
        got = f"{code}: {message}"
        if expect != "error":
            return f"expected {expect}, got error {got}"
        if code != EXPECTED_ERROR_CODE:
            return f"expected {EXPECTED_ERROR_CODE}, got error {got}"
        want = case.get("message")
        if want is not None and first_line(message) != first_line(want):
            return f"expected error: {first_line(want)}\n    got error:      {first_line(message)}"
        return None
    got = "match" if result else "no-match"
    if expect == "error":
        return f"expected {EXPECTED_ERROR_CODE}, got {got}"
    return None if got == expect else f"expected {expect}, got {got}"


def one_line(text: str) -> str:
    return " ".join(text.split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("dump", type=Path, help="JSON-lines file written by the conformance example's --dump")
    parser.add_argument(
        "--eddy",
        type=Path,
        default=REPO_ROOT / "target" / "release" / "eddy",
        help="the eddy binary (default: target/release/eddy)",
    )
    args = parser.parse_args()

    cases = [json.loads(line) for line in args.dump.read_text().splitlines() if line.strip()]
    if not cases:
        raise SystemExit(f"no cases in {args.dump}")

    root = Path(tempfile.mkdtemp(prefix="eddy-conformance-"))
    proc = None
    try:
        data_dir = root / "data"
        data_dir.mkdir()
        proc, url = start_server(args.eddy, data_dir, root / "eddy.log")
        client = events_client(url)
        agreed = 0
        by_expect: dict[str, list[int]] = {}
        for case in cases:
            why = check(client, case)
            tally = by_expect.setdefault(case["expect"], [0, 0])
            tally[1] += 1
            if why is None:
                agreed += 1
                tally[0] += 1
            else:
                print(f"FAIL {case['name']}\n    pattern: {one_line(case['pattern'])}\n    {why}")
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(root, ignore_errors=True)

    for expect, (ok, total) in sorted(by_expect.items()):
        print(f"{expect} cases: {ok} of {total} agree")
    total = len(cases)
    print(f"{agreed} of {total} cases agree with AWS ({100.0 * agreed / total:.1f}%)")
    return 0 if agreed == total else 1


if __name__ == "__main__":
    sys.exit(main())
