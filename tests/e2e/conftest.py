"""Shared fixtures and helpers for Eddy's end-to-end tests.

The suite drives a real `eddy` binary over HTTP with the unmodified AWS SDK
(boto3) and the AWS CLI, the way users do. Everything here is about starting
and stopping servers, building function packages and waiting for observable
state; the tests themselves live in the test_*.py files next to this one.

Test modules import the plain helpers directly (`from conftest import ...`);
pytest puts this directory on sys.path because it has no __init__.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sysconfig
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterable

import boto3
import pytest
from botocore.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
# Cache for things that are slow to build (pip packages, the Rust fixture);
# git-ignored, survives between runs on the same machine.
WORK_DIR = E2E_DIR / ".work"

REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/lambda-role"

LISTENING_RE = re.compile(r"listening on http://(127\.0\.0\.1:\d+)")
STARTUP_TIMEOUT = 15.0

# The default flags of the shared server: async retries are spaced from a
# 200 ms base so retry tests finish in seconds instead of minutes, and the
# provided SDKs are not installed from the registries (test_sdk.py covers that
# path on a server of its own), so no test waits on a first install.
# Functions that use boto3 get this venv's copy (the same one the tests use).
DEFAULT_FLAGS = [
    "--async-retry-base-delay-ms",
    "200",
    "--sdk-install",
    "false",
    "--python-sdk-path",
    sysconfig.get_paths()["purelib"],
    # Servers run side by side; each gets a free port for the parameters and
    # secrets endpoint (functions find it in PARAMETERS_SECRETS_EXTENSION_HTTP_PORT).
    "--parameters-secrets-port",
    "0",
]


# --------------------------------------------------------------------------
# Generic helpers
# --------------------------------------------------------------------------


def function_arn(name: str) -> str:
    """The ARN of function `name` (unqualified) in the suite's account and region."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def unique(prefix: str) -> str:
    """A function name that cannot collide with other tests on a shared server."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_until(
    fn: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.1,
    message: str | Callable[[], str] = "condition not met",
) -> Any:
    """Poll `fn` until it returns something truthy and return that value.

    Tests use this instead of fixed sleeps so they are as fast as the server
    allows and only slow (never flaky) when the machine is loaded. Exceptions
    raised by `fn` count as "not yet" until the deadline, then propagate.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    last_value: Any = None
    while True:
        try:
            last_value = fn()
            last_exc = None
            if last_value:
                return last_value
        except Exception as exc:  # noqa: BLE001 - re-raised below
            last_exc = exc
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            if last_exc is not None:
                raise AssertionError(f"{text} (after {timeout}s; last error: {last_exc!r})") from last_exc
            raise AssertionError(f"{text} (after {timeout}s; last value: {last_value!r})")
        time.sleep(interval)


def zip_files(files: dict[str, str | bytes], modes: dict[str, int] | None = None) -> bytes:
    """Build a zip in memory from {name: content}.

    The unix mode goes into the high 16 bits of external_attr, which is where
    Lambda (and unzip) read permissions from; without it a `bootstrap` would
    lose its exec bit. Files default to 0644.
    """
    modes = modes or {}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr is read as a mode
            info.external_attr = (0o100000 | modes.get(name, 0o644)) << 16
            data = content.encode() if isinstance(content, str) else content
            zf.writestr(info, data)
    return buf.getvalue()


def zip_directory(root: Path, extra: dict[str, str | bytes] | None = None, modes: dict[str, int] | None = None) -> bytes:
    """Zip a directory tree (keeping each file's mode) plus extra in-memory files."""
    files: dict[str, bytes] = {}
    file_modes: dict[str, int] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.relative_to(root).as_posix()
            files[rel] = path.read_bytes()
            file_modes[rel] = path.stat().st_mode & 0o777
    for name, content in (extra or {}).items():
        files[name] = content.encode() if isinstance(content, str) else content
    file_modes.update(modes or {})
    return zip_files(files, file_modes)


def create_function(
    client,
    name: str,
    runtime: str,
    handler: str,
    files: dict[str, str | bytes] | bytes,
    modes: dict[str, int] | None = None,
    wait: bool = True,
    **kwargs,
) -> dict:
    """CreateFunction from in-memory files (or ready zip bytes) and wait until Active."""
    zip_bytes = files if isinstance(files, (bytes, bytearray)) else zip_files(files, modes)
    kwargs.setdefault("Role", ROLE_ARN)
    resp = client.create_function(
        FunctionName=name,
        Runtime=runtime,
        Handler=handler,
        Code={"ZipFile": zip_bytes},
        **kwargs,
    )
    if wait:
        wait_active(client, name)
    return resp


def wait_active(client, name: str) -> None:
    client.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


def wait_updated(client, name: str) -> None:
    client.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


def invoke(client, name: str, payload: Any = None, **kwargs) -> tuple[dict, Any]:
    """Invoke and return (response, decoded payload).

    The payload is JSON-decoded when possible, else returned as bytes.
    """
    if payload is not None and not isinstance(payload, (bytes, bytearray, str)):
        payload = json.dumps(payload)
    if payload is not None:
        kwargs["Payload"] = payload
    resp = client.invoke(FunctionName=name, **kwargs)
    raw = resp["Payload"].read() if "Payload" in resp else b""
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    return resp, body


def error_code(exc_info) -> str:
    """The AWS error code of a botocore ClientError captured by pytest.raises."""
    return exc_info.value.response.get("Error", {}).get("Code", "")


def error_message(exc_info) -> str:
    """The AWS error message of a botocore ClientError captured by pytest.raises."""
    return exc_info.value.response.get("Error", {}).get("Message", "")


def http_status(exc_info) -> int:
    return exc_info.value.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)


def http_get(url: str, timeout: float = 5.0, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """Plain unsigned GET returning (status, headers, body), also for 4xx/5xx."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def env_processes(marker: str) -> list[int]:
    """PIDs of processes whose environment contains the exact `marker` (e.g. KEY=VALUE).

    Used to find function environments started by Eddy, which all carry
    AWS_LAMBDA_FUNCTION_NAME; processes we cannot read are skipped.
    """
    needle = marker.encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
        except OSError:
            continue
        if needle in environ:
            pids.append(int(entry))
    return pids


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --------------------------------------------------------------------------
# The server under test
# --------------------------------------------------------------------------


class Server:
    """One `eddy server` process on a loopback port with its own data dir.

    stdout and stderr go to a log file next to the data dir; the log is shown
    in assertion messages when startup fails, since that is usually where the
    reason is.
    """

    def __init__(
        self,
        eddy_bin: Path,
        root: Path,
        flags: Iterable[str] = (),
        listen: str = "127.0.0.1:0",
        env: dict[str, str] | None = None,
    ):
        self.eddy_bin = Path(eddy_bin)
        self.root = Path(root)
        self.data_dir = self.root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.flags = list(flags)
        self.listen = listen
        # Extra environment for the server process (EDDY_* settings).
        self.env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.address = ""
        self.log_path = self.root / "eddy.log"
        self._starts = 0

    # -- lifecycle ---------------------------------------------------------

    def start(self, extra_flags: Iterable[str] | None = None) -> "Server":
        if extra_flags is not None:
            self.flags = list(extra_flags)
        self._starts += 1
        # One log per start so a restart's wait does not match the old line.
        self.log_path = self.root / f"eddy-{self._starts}.log"
        cmd = [
            str(self.eddy_bin),
            "server",
            "--listen",
            self.listen,
            "--data-dir",
            str(self.data_dir),
            *self.flags,
        ]
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.root,
                env={**os.environ, **self.env},
            )
        finally:
            log.close()  # the child has its own copy of the descriptor
        self._wait_listening(cmd)
        self._wait_healthy()
        return self

    def _wait_listening(self, cmd: list[str]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            match = LISTENING_RE.search(self.log())
            if match:
                self.address = match.group(1)
                self.url = f"http://{self.address}"
                return
            if self.proc.poll() is not None:
                pytest.fail(
                    f"eddy exited with {self.proc.returncode} before listening\n"
                    f"command: {' '.join(cmd)}\n--- log ---\n{self.log()}"
                )
            time.sleep(0.05)
        self.kill9()
        pytest.fail(
            f"eddy did not print 'listening on http://127.0.0.1:PORT' within {STARTUP_TIMEOUT}s\n"
            f"command: {' '.join(cmd)}\n--- log ---\n{self.log()}"
        )

    def _wait_healthy(self) -> None:
        def healthy():
            status, _, body = http_get(self.url + "/_eddy/health", timeout=2)
            return status == 200 and json.loads(body).get("status") == "ok"

        wait_until(
            healthy,
            timeout=STARTUP_TIMEOUT,
            interval=0.05,
            message=lambda: f"/_eddy/health never answered 200 {{\"status\":\"ok\"}}\n--- log ---\n{self.log()}",
        )

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def all_logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.root.glob("eddy-*.log")))

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then wait; escalates to SIGKILL if the server hangs."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def restart(self, extra_flags: Iterable[str] | None = None) -> "Server":
        """Stop (if still running) and start again on the same data dir."""
        self.stop()
        return self.start(extra_flags)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- clients -----------------------------------------------------------

    def client(
        self, service: str, access_key: str = "test", secret_key: str = "test", region: str = REGION, **config
    ):
        """A boto3 client for this server; extra kwargs go into botocore's Config."""
        cfg = Config(
            region_name=region,
            retries={"max_attempts": 1, "mode": "standard"},
            read_timeout=70,
            connect_timeout=5,
            **config,
        )
        return boto3.session.Session().client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=cfg,
        )

    def health(self) -> dict:
        status, _, body = http_get(self.url + "/_eddy/health")
        assert status == 200, f"health returned {status}: {body!r}"
        return json.loads(body)


def _thaw(pid: int) -> None:
    """Undo a cgroup-v1 freezer on `pid`'s cgroup; a frozen task cannot die."""
    try:
        with open(f"/proc/{pid}/cgroup") as fh:
            for line in fh:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if "freezer" in controllers.split(",") and path not in ("", "/"):
                    with open(f"/sys/fs/cgroup/freezer{path}/freezer.state", "w") as state:
                        state.write("THAWED")
    except OSError:
        pass


def _cleanup(server: Server) -> None:
    """Teardown: stop the server, then kill any function environment it left.

    SIGTERM first so the server can shut its environments down itself, with
    SIGKILL as the fallback. Leftover environments are found by the endpoint
    URL Eddy gives them, which is unique to this server's port, so only
    processes this test caused are touched. Leaks are the subject of
    test_durability.py; here they are only cleaned up.
    """
    url = server.url
    if server.proc is not None:
        server.stop(timeout=10)
    if url:
        for pid in env_processes(f"AWS_ENDPOINT_URL={url}"):
            _thaw(pid)
            for sig in (signal.SIGKILL, signal.SIGCONT):
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def eddy_bin() -> Path:
    """The binary under test; built by scripts/test.sh, not here."""
    path = Path(os.environ.get("EDDY_BIN") or REPO_ROOT / "target" / "release" / "eddy")
    if not path.is_file():
        pytest.fail(f"eddy binary not found at {path}; run `cargo build --release` or set EDDY_BIN")
    return path


@pytest.fixture(scope="module")
def server(eddy_bin, tmp_path_factory):
    """A server shared by the tests of one module."""
    srv = Server(eddy_bin, tmp_path_factory.mktemp("eddy"), DEFAULT_FLAGS)
    try:
        srv.start()
        yield srv
    finally:
        _cleanup(srv)


@pytest.fixture
def fresh_server(eddy_bin, tmp_path_factory):
    """Factory for tests that need a server of their own (restarts, auth flags).

    fresh_server(flags=None, listen=..., env=None, start=True); flags default
    to the shared server's flags.
    """
    servers: list[Server] = []

    def make(
        flags: Iterable[str] | None = None,
        listen: str = "127.0.0.1:0",
        env: dict[str, str] | None = None,
        start: bool = True,
    ) -> Server:
        srv = Server(
            eddy_bin,
            tmp_path_factory.mktemp("eddy-fresh"),
            DEFAULT_FLAGS if flags is None else flags,
            listen=listen,
            env=env,
        )
        servers.append(srv)
        if start:
            srv.start()
        return srv

    try:
        yield make
    finally:
        for srv in servers:
            _cleanup(srv)


@pytest.fixture(scope="module")
def lambda_client(server):
    return server.client("lambda")


def aws(server: Server, *args: str, timeout: float = 120, cwd: str | Path | None = None) -> tuple[int, str, str]:
    """Run the AWS CLI (v1, from this venv) against `server`.

    Config and credential files are pointed at nothing so the host's own AWS
    setup cannot leak into the run.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=server.url,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_MAX_ATTEMPTS="1",
        AWS_RETRY_MODE="standard",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "awscli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def out_file(tmp_path) -> Path:
    """Where a recorder function (see recorder.py) writes what it receives."""
    return tmp_path / "events.jsonl"


@pytest.fixture
def recorder(request, lambda_client, out_file) -> str:
    """A recorder function writing to `out_file`, named with the test module's
    RECORDER_PREFIX."""
    from recorder import make_recorder

    prefix = getattr(request.module, "RECORDER_PREFIX", "recorder")
    return make_recorder(lambda_client, out_file, prefix)
