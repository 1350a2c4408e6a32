#!/usr/bin/env python3
"""S3 benchmark for Eddy.

Measures Eddy's S3 PUT and GET throughput and latency against two baselines
measured in the same run on the same machine:

- moto's server (`moto_server`), the reference S3 emulator, driven by exactly
  the same boto3 client code;
- the floor: a raw write+fsync+rename of an object-sized file done by this
  process, on the same disk as Eddy's data dir.

It also measures, on Eddy only, how long an S3 bucket notification takes to
reach a Lambda handler after PUT returns (moto does not run functions).

It prints a Markdown report and optionally writes it to a file. It installs
nothing; see docs/benchmarks.md ("S3") for the virtualenv it expects:

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -r bench/requirements.txt
    .venv-bench/bin/python bench/s3_bench.py [--seconds N] [--quick] [--out FILE]

Every server it starts listens on 127.0.0.1 only, gets a fresh temporary
directory, and is stopped by pid (SIGTERM, then SIGKILL); the directories are
removed at the end.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import io
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import boto3
import botocore
from botocore.config import Config

REPO_ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ACCESS_KEY = "test"
SECRET_KEY = "test"
ROLE_ARN = "arn:aws:iam::000000000000:role/bench"

KIB = 1024
MIB = 1024 * 1024
SIZES = [4 * KIB, 1 * MIB]
CONCURRENCY = [1, 16]
# Objects pre-written per size for the GET points; enough that 16 workers do not
# all hammer one key, small enough to write in well under a second.
GET_KEYS = 32

# The targets for PUT-to-handler latency.
NOTIFY_P50_TARGET_MS = 5.0
NOTIFY_P99_TARGET_MS = 20.0

EDDY_LISTEN_RE = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
MOTO_LISTEN_RE = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")

# The function the notification benchmark installs. It stamps the time first, so
# the number is when the handler started running, not when its write finished.
HANDLER_SOURCE = '''\
"""Appends "<time.time()> <key>" per S3 record to the file named by BENCH_OUT."""
import os
import time

OUT = os.environ["BENCH_OUT"]


def handler(event, context):
    now = time.time()
    if "bench_hold" in event:
        # A direct warm-up invoke: keeping this environment busy for a moment makes
        # concurrent warm-up invokes land in separate environments.
        time.sleep(event["bench_hold"])
        return {}
    lines = "".join(
        "%.6f %s\\n" % (now, r["s3"]["object"]["key"]) for r in event.get("Records", [])
    )
    # One O_APPEND write per event keeps lines from concurrent environments whole.
    fd = os.open(OUT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, lines.encode())
    finally:
        os.close(fd)
    return {}
'''


def progress(msg: str) -> None:
    print(f"s3-bench: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Statistics and formatting
# --------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile, the same definition eddy-bench uses."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n * p / 100)
    return sorted_values[min(len(sorted_values), int(rank)) - 1]


def num(x: float) -> str:
    """A number with about three significant digits, for tables."""
    if x != x:  # NaN
        return "–"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def ratio(a: float, b: float) -> str:
    if not b or a != a or b != b:
        return "–"
    return f"{a / b:.2f}×"


def size_name(n: int) -> str:
    return f"{n // MIB} MiB" if n >= MIB else f"{n // KIB} KiB"


def markdown_table(headers: list[str], rows: list[list[str]], align: str) -> str:
    """`align` has one character per column: l or r."""
    out = ["| " + " | ".join(headers) + " |"]
    out.append("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


# --------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------


def read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def command_output(args: list[str], cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def cpu_model() -> str:
    m = re.search(r"^model name\s*:\s*(.+)$", read_text("/proc/cpuinfo"), re.M)
    return m.group(1).strip() if m else platform.processor() or "unknown"


def memory_gib() -> float:
    m = re.search(r"^MemTotal:\s+(\d+) kB", read_text("/proc/meminfo"), re.M)
    return int(m.group(1)) / (1024 * 1024) if m else float("nan")


def filesystem_of(path: str) -> str:
    """Device and type of the mount holding `path` (longest matching mount point)."""
    real = os.path.realpath(path)
    best = ("", "?", "?")
    for line in read_text("/proc/mounts").splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        dev, mnt, fstype = parts[0], parts[1].replace("\\040", " "), parts[2]
        if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[0]):
            best = (mnt, dev, fstype)
    return f"{best[2]} on {best[1]}"


def eddy_commit() -> str:
    commit = command_output(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT)
    if not commit:
        return "unknown"
    dirty = command_output(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT)
    return f"{commit} (with uncommitted changes)" if dirty else commit


def process_cpu_seconds(pid: int) -> float:
    """User+system CPU of a process (all its threads) from /proc/<pid>/stat."""
    stat = read_text(f"/proc/{pid}/stat")
    if not stat:
        return float("nan")
    # The command name may contain spaces; the fields after it are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs, to tell how close the machine was to full."""
    fields = [int(x) for x in read_text("/proc/stat").splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Runs in the child before exec: a killed benchmark must not leave servers behind."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Server:
    """A server process whose output goes to a file, found ready by a line in it."""

    def __init__(self, name: str, args: list[str], log_path: Path, listen_re: re.Pattern,
                 env: dict[str, str] | None = None, timeout: float = 30.0):
        self.name = name
        self.log_path = log_path
        # Output goes to a file, not a pipe, so nothing in this process has to drain
        # it while the load runs (moto logs every request).
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_die_with_parent,
        )
        self.pid = self.proc.pid
        self.endpoint = self._wait_for_line(listen_re, timeout)

    def _wait_for_line(self, listen_re: re.Pattern, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = listen_re.search(self.log_path.read_text(errors="replace"))
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        tail = self.log_path.read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"{self.name} did not start (exit {self.proc.returncode}):\n{tail}")

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; by pid, and only this process."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def wait_healthy(endpoint: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/_eddy/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{endpoint}/_eddy/health never answered 200")
        time.sleep(0.01)


def eddy_health(endpoint: str) -> str:
    try:
        with urllib.request.urlopen(f"{endpoint}/_eddy/health", timeout=5) as r:
            return r.read().decode()
    except (urllib.error.URLError, OSError) as e:
        return f"unavailable: {e}"


# Eddy's start-up lines on stdout (where it listens, where HTTP APIs and function URLs
# answer); anything else in its log is a warning or an error (it runs at level warn).
EDDY_STARTUP_RE = re.compile(r"listening on http://|^HTTP APIs answer at ")


def log_problems(server: Server) -> list[str]:
    """The lines of Eddy's log past its start-up lines: warnings and errors."""
    return [line for line in server.log_path.read_text(errors="replace").splitlines()
            if line.strip() and not EDDY_STARTUP_RE.search(line)]


def problems_summary(lines: list[str]) -> str:
    """How a report's metadata shows the lines `log_problems` returned."""
    return "none" if not lines else f"{len(lines)}, first: `{lines[0][:300]}`"


# --------------------------------------------------------------------------
# What every benchmark's main() shares
# --------------------------------------------------------------------------


def run_threads(threads: list[threading.Thread]) -> None:
    """Starts all the threads, then waits for all of them."""
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def find_eddy_bin(arg: str, build: str) -> Path | None:
    """The Eddy binary named by --eddy, relative to the working directory if it is
    there, else to the repository; None (after saying so) if it does not exist."""
    eddy_bin = Path(arg)
    if not eddy_bin.is_absolute():
        eddy_bin = (Path.cwd() / eddy_bin) if (Path.cwd() / eddy_bin).exists() else REPO_ROOT / eddy_bin
    if not eddy_bin.exists():
        progress(f"no Eddy binary at {eddy_bin}; build it with `{build}`")
        return None
    return eddy_bin


def find_moto_bin(arg: str | None, hint: str = "") -> str | None:
    """moto_server from --moto-server or next to this interpreter; None (after saying
    so) if there is none."""
    moto_bin = arg or str(Path(sys.executable).parent / "moto_server")
    if not shutil.which(moto_bin):
        progress(f"no moto_server at {moto_bin}; install bench/requirements.txt{hint}")
        return None
    return moto_bin


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_meta(eddy_bin: Path, work: Path, load: str, moto_version: str,
             data_dirs: str = "Data dirs") -> dict:
    """The first entries of every report's metadata, in the order they are printed."""
    return {
        "Date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "Eddy commit": eddy_commit(),
        # The binary may be older than the work tree; its age tells whether the
        # commit above is really what was measured.
        "Eddy binary": f"{eddy_bin}, built "
                       + datetime.fromtimestamp(eddy_bin.stat().st_mtime, timezone.utc)
                       .strftime("%Y-%m-%d %H:%M UTC"),
        "Machine": f"{os.cpu_count()} CPUs, {cpu_model()}, {memory_gib():.1f} GiB memory, "
                   f"Linux {platform.release()}",
        "Load average when the run started": load,
        data_dirs: f"{work} ({filesystem_of(str(work))})",
        "Client": f"Python {platform.python_version()}, boto3 {boto3.__version__}, "
                  f"botocore {botocore.__version__}",
        "Reference emulator": f"moto {moto_version} (`moto_server`, werkzeug, threaded)",
    }


def show_server_logs(*servers: Server | None) -> None:
    """For a failed run: the directory with the servers' logs is about to go; show
    what they said."""
    for s in servers:
        if s:
            progress(f"last output of {s.name}:\n{s.log_path.read_text(errors='replace')[-3000:]}")


def stop_servers(*servers: Server | None) -> None:
    for s in servers:
        if s:
            s.stop()


def emit_report(text: str, out: str | None) -> int:
    """Prints the report, also writes it to `out` if given; main()'s exit status."""
    print(text)
    if out:
        Path(out).write_text(text + "\n")
    return 0


# --------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------


def make_client(service: str, endpoint: str, pool: int):
    """The one client configuration used for every server.

    Retries are off so a failure shows up as an error instead of a slow request, and
    each client gets its own session because boto3's default session is not safe to
    build clients from on several threads.
    """
    session = boto3.session.Session()
    return session.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=pool,
            s3={"addressing_style": "path"},
            connect_timeout=10,
            read_timeout=120,
        ),
    )


# --------------------------------------------------------------------------
# Closed-loop load
# --------------------------------------------------------------------------


@dataclass
class Point:
    """One measured load point."""

    target: str  # "Eddy", "moto" or "floor"
    op: str  # "PUT" or "GET"
    size: int
    concurrency: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    server_cpu_s: float = float("nan")
    client_cpu_s: float = float("nan")
    busy_fraction: float = float("nan")
    cut_short: bool = False  # an op ran out of work before the window's planned end

    @property
    def ops(self) -> int:
        return len(self.latencies_ms)

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds if self.seconds else float("nan")

    @property
    def mb_per_s(self) -> float:
        return self.ops * self.size / 1e6 / self.seconds

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def cpu_us_per_op(self, cpu_s: float) -> float:
        return cpu_s / self.ops * 1e6 if self.ops else float("nan")


class Exhausted(Exception):
    """Raised by a load point's op that has no more work (say, prepared items ran out):
    the window ends there, for every worker, so the concurrency stays what it says."""


def run_point(point: Point, ops: list[Callable[[int], None]], warmup: float,
              server: Server | None) -> Point:
    """Runs one closed loop: worker w calls ops[w](i) back to back for i = 0, 1, ...

    Requests that complete inside the measured window count; the window starts after
    `warmup`. CPU use is sampled at the window's edges by this (otherwise idle) thread.
    An op raising `Exhausted` ends the window early; `point.seconds` is then the
    window's real length (0 if it ended during the warm-up) and `point.cut_short` is set.
    """
    n = len(ops)
    t_start = time.perf_counter() + 0.05  # lets every thread reach the start line
    w_start = t_start + warmup
    w_end = [w_start + point.seconds]  # moved earlier by Exhausted
    ended = threading.Event()
    per_worker: list[list[float]] = [[] for _ in range(n)]
    errors: list[tuple[int, str]] = [(0, "")] * n

    def worker(w: int) -> None:
        op = ops[w]
        lat = per_worker[w]
        errs, first = 0, ""
        i = 0
        while time.perf_counter() < t_start:
            time.sleep(0.001)
        while True:
            t0 = time.perf_counter()
            if t0 >= w_end[0]:
                break
            try:
                op(i)
                ok = True
            except Exhausted:
                w_end[0] = min(w_end[0], time.perf_counter())
                ended.set()
                break
            except Exception as e:  # noqa: BLE001 - any failure is an error of this point
                ok = False
                if w_start <= t0:
                    errs += 1
                    first = first or f"{type(e).__name__}: {e}"[:300]
            t1 = time.perf_counter()
            if ok and w_start <= t1 <= w_end[0]:
                lat.append((t1 - t0) * 1000.0)
            i += 1
        errors[w] = (errs, first)

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(n)]
    for t in threads:
        t.start()
    ended.wait(max(0.0, w_start - time.perf_counter()))
    s0 = server.cpu_seconds() if server else 0.0
    c0 = self_cpu_seconds()
    b0 = machine_busy_ticks()
    ended.wait(max(0.0, w_end[0] - time.perf_counter()))
    s1 = server.cpu_seconds() if server else 0.0
    c1 = self_cpu_seconds()
    b1 = machine_busy_ticks()
    for t in threads:
        t.join()
    if ended.is_set():
        point.cut_short = True
        point.seconds = max(0.0, w_end[0] - w_start)
    point.latencies_ms = sorted(x for lat in per_worker for x in lat)
    point.errors = sum(e for e, _ in errors)
    point.first_error = next((f for _, f in errors if f), "")
    if server:
        point.server_cpu_s = s1 - s0
    point.client_cpu_s = c1 - c0
    if b1[1] > b0[1]:
        point.busy_fraction = (b1[0] - b0[0]) / (b1[1] - b0[1])
    return point


class S3Target:
    """One S3 server under load: its clients (the same code for Eddy and moto) and a
    bucket of its own."""

    def __init__(self, name: str, server: Server):
        self.name = name
        self.server = server
        self.clients = {c: [make_client("s3", server.endpoint, c) for _ in range(c)]
                        for c in CONCURRENCY}
        self.bucket = f"bench-{uuid.uuid4().hex[:12]}"
        self.clients[1][0].create_bucket(Bucket=self.bucket)
        self.get_keys: dict[int, list[str]] = {}

    def put(self, size: int, c: int, body: bytes, args) -> Point:
        progress(f"{self.name}: PUT {size_name(size)} x{c}")
        bucket, prefix = self.bucket, f"put-{size}-c{c}"

        def put_op(cl, w):
            def op(i: int) -> None:
                # A new key every time: an overwrite would also measure deleting the
                # old object.
                cl.put_object(Bucket=bucket, Key=f"{prefix}/{w}/{i}", Body=body)
            return op

        p = Point(self.name, "PUT", size, c, args.seconds)
        return run_point(p, [put_op(cl, w) for w, cl in enumerate(self.clients[c])],
                         args.warmup, self.server)

    def get(self, size: int, c: int, body: bytes, args) -> Point:
        if size not in self.get_keys:
            keys = [f"get-{size}/{j}" for j in range(GET_KEYS)]
            for k in keys:
                self.clients[1][0].put_object(Bucket=self.bucket, Key=k, Body=body)
            self.get_keys[size] = keys
        progress(f"{self.name}: GET {size_name(size)} x{c}")
        bucket, keys = self.bucket, self.get_keys[size]

        def get_op(cl, w):
            def op(i: int) -> None:
                r = cl.get_object(Bucket=bucket, Key=keys[(w * 7 + i) % GET_KEYS])
                data = r["Body"].read()
                if len(data) != size:
                    raise RuntimeError(f"GET returned {len(data)} bytes, expected {size}")
            return op

        p = Point(self.name, "GET", size, c, args.seconds)
        return run_point(p, [get_op(cl, w) for w, cl in enumerate(self.clients[c])],
                         args.warmup, self.server)


def bench_floor(root: Path, size: int, c: int, body: bytes, args) -> Point:
    """The cheapest durable write of an object on this disk: new file, write, fsync,
    close, rename. No directory fsync, no metadata, no network."""
    progress(f"floor: write+fsync {size_name(size)} x{c}")
    d = root / f"floor-{size}-{c}"
    d.mkdir(parents=True)

    def write_op(w):
        def op(i: int) -> None:
            tmp = f"{d}/{w}-{i}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(body)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, f"{d}/{w}-{i}")
        return op

    # The files stay until the end of the run: on ext4 without a journal, inode
    # allocation skips inodes freed in the last 30 s, and on the reference machine
    # deleting a few thousand files made creating files nearby cost about 50% more
    # kernel time for the next 30 s, which would be charged to Eddy.
    p = Point("floor", "PUT", size, c, args.seconds)
    return run_point(p, [write_op(w) for w in range(c)], args.warmup, None)


def bench_points(targets: list[S3Target], floor_root: Path, args,
                 payloads: dict[int, bytes]) -> list[Point]:
    """Every load point. The targets take turns at each point, followed by the floor,
    so a slow spell of this shared machine lands on neighbouring measurements of all
    three rather than on one whole column."""
    points = []
    for op in ("PUT", "GET"):
        for size in SIZES:
            for c in CONCURRENCY:
                for t in targets:
                    run = t.put if op == "PUT" else t.get
                    points.append(run(size, c, payloads[size], args))
                if op == "PUT":
                    points.append(bench_floor(floor_root, size, c, payloads[size], args))
    return points


# --------------------------------------------------------------------------
# Notification latency (Eddy only)
# --------------------------------------------------------------------------


class Tail:
    """Follows a file that other processes append "<time> <key>" lines to.

    The file stays open and only new bytes are read. Where inotify is available the
    reader blocks until the file changes instead of polling; it is only how soon a
    putter learns of a delivery, never the measured time, which the handler stamps.
    """

    IN_MODIFY = 0x2

    def __init__(self, path: Path):
        self.path = path
        path.touch()
        self._f = open(path, "rb")
        self._buf = b""
        self._seen: dict[str, float] = {}
        self._waiters: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._stop = False
        self._inotify = self._open_inotify()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _open_inotify(self) -> int | None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            if fd < 0:
                return None
            if libc.inotify_add_watch(fd, str(self.path).encode(), self.IN_MODIFY) < 0:
                os.close(fd)
                return None
            return fd
        except (OSError, AttributeError):
            return None

    def expect(self, key: str) -> threading.Event:
        """Registers interest in `key` before it is PUT, so no delivery is missed."""
        with self._lock:
            ev = self._waiters.setdefault(key, threading.Event())
            if key in self._seen:
                ev.set()
            return ev

    def handler_time(self, key: str) -> float:
        with self._lock:
            return self._seen[key]

    def _read_new(self) -> None:
        data = self._f.read()
        if not data:
            return
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        with self._lock:
            for line in lines:
                ts, _, key = line.decode().partition(" ")
                self._seen[key] = float(ts)
                ev = self._waiters.get(key)
                if ev:
                    ev.set()

    def _run(self) -> None:
        while not self._stop:
            if self._inotify is not None:
                ready, _, _ = select.select([self._inotify], [], [], 0.05)
                if ready:
                    try:
                        os.read(self._inotify, 65536)  # drain events; content is not needed
                    except BlockingIOError:
                        pass
            else:
                time.sleep(0.0005)
            self._read_new()

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        if self._inotify is not None:
            os.close(self._inotify)
        self._f.close()


@dataclass
class NotifyRun:
    putters: int
    latencies_ms: list[float]  # handler start − PUT acknowledged, sorted
    from_response_ms: list[float]  # handler start − PUT response received, sorted
    from_start_ms: list[float]  # handler start − just before put_object was called, sorted
    ack_ms: list[float]  # put_object round trip, sorted
    lost: int
    warmup_note: str = ""
    # Eddy's live environments just before and just after the run.
    environments: tuple[int | None, int | None] = (None, None)


def response_stamp(client, event: str = "before-parse.s3.PutObject") -> list[float]:
    """A one-element list that holds the time.time() at which `client` last received a
    response to the operation `event` names (PutObject by default), taken before boto3
    parses it. Closer to when Eddy acknowledged the request than the moment the call
    returns, which other threads holding the interpreter lock can delay by milliseconds."""
    holders = client.__dict__.setdefault("_bench_response_stamps", {})
    holder = holders.get(event)
    if holder is None:
        holder = [float("nan")]
        client.meta.events.register(event, lambda **_: holder.__setitem__(0, time.time()))
        holders[event] = holder
    return holder


def run_notifications(clients: list, tail: Tail, bucket: str, count: int,
                      timeout: float) -> NotifyRun:
    """One putter thread per client shares `count` PUTs; each waits for the handler to
    see its object before its next PUT, so at most len(clients) notifications are in
    flight."""
    putters = len(clients)
    tag = uuid.uuid4().hex[:6]
    lat: list[list[float]] = [[] for _ in range(putters)]
    from_start: list[list[float]] = [[] for _ in range(putters)]
    from_response: list[list[float]] = [[] for _ in range(putters)]
    ack: list[list[float]] = [[] for _ in range(putters)]
    lost = [0] * putters
    failures: list[BaseException] = []
    body = b"x" * 128

    def putter(w: int) -> None:
        try:
            put_loop(w)
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            failures.append(e)

    def put_loop(w: int) -> None:
        cl = clients[w]
        stamp = response_stamp(cl)
        for i in range(w, count, putters):
            key = f"n{putters}-{tag}-{i:05d}"
            ev = tail.expect(key)
            t_send = time.time()
            t0 = time.perf_counter()
            cl.put_object(Bucket=bucket, Key=key, Body=body)
            t_ack = time.time()
            ack[w].append((time.perf_counter() - t0) * 1000.0)
            if not ev.wait(timeout):
                lost[w] += 1
                continue
            t_handler = tail.handler_time(key)
            lat[w].append((t_handler - t_ack) * 1000.0)
            from_start[w].append((t_handler - t_send) * 1000.0)
            from_response[w].append((t_handler - stamp[0]) * 1000.0)

    threads = [threading.Thread(target=putter, args=(w,)) for w in range(putters)]
    run_threads(threads)
    if failures:
        # A failed PUT is a broken setup, not a slow delivery; a partial run would hide it.
        raise RuntimeError(f"a notification PUT failed: {failures[0]!r}")

    def merged(xs: list[list[float]]) -> list[float]:
        return sorted(x for part in xs for x in part)

    return NotifyRun(putters, merged(lat), merged(from_response), merged(from_start),
                     merged(ack), sum(lost))


def warm_environments(lam, fn: str, n: int) -> None:
    """Makes the function have `n` warm environments: `n` concurrent direct invokes
    that each hold their environment for a moment. Concurrent PUTs are not enough:
    their deliveries arrive staggered and reuse one another's environments, and the
    missing ones then cold-start (about 100 ms) inside the measured run."""
    errors: list[str] = []

    def invoke() -> None:
        r = lam.invoke(FunctionName=fn, Payload=b'{"bench_hold": 0.3}')
        if r.get("FunctionError"):
            errors.append(r["Payload"].read().decode(errors="replace"))

    threads = [threading.Thread(target=invoke) for _ in range(n)]
    run_threads(threads)
    if errors:
        raise RuntimeError(f"warm-up invoke failed: {errors[0]}")


def live_environments(endpoint: str) -> int | None:
    """Eddy's count of live environments (all functions), from its health document."""
    try:
        return json.loads(eddy_health(endpoint))["environments"]["live"]
    except (ValueError, KeyError, TypeError):
        return None


def bench_notifications(eddy: Server, work: Path, args) -> list[NotifyRun]:
    s3 = make_client("s3", eddy.endpoint, 4)
    lam = make_client("lambda", eddy.endpoint, 4)
    out = work / "handler-times.log"
    tail = Tail(out)
    fn = f"s3-notify-{uuid.uuid4().hex[:8]}"
    bucket = f"notify-{uuid.uuid4().hex[:12]}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", HANDLER_SOURCE)
    arn = lam.create_function(
        FunctionName=fn,
        Runtime="python3.12",
        Role=ROLE_ARN,
        Handler="app.handler",
        Code={"ZipFile": buf.getvalue()},
        Environment={"Variables": {"BENCH_OUT": str(out)}},
        Timeout=30,
        MemorySize=128,
    )["FunctionArn"]
    deadline = time.monotonic() + 30
    while lam.get_function_configuration(FunctionName=fn).get("State") != "Active":
        if time.monotonic() > deadline:
            raise RuntimeError(f"function {fn} never became Active")
        time.sleep(0.05)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"Id": "bench", "LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    runs = []
    try:
        for putters, warm_puts in ((1, 1), (4, 20)):
            clients = [s3] if putters == 1 else [
                make_client("s3", eddy.endpoint, putters) for _ in range(putters)]
            if putters > 1:
                progress(f"notifications: {putters} warm environments")
                warm_environments(lam, fn, putters)
            # Unmeasured PUTs through the same path (the sequential run gets exactly one
            # warm-up delivery, which is also the function's cold start).
            progress(f"notifications: warm-up, {warm_puts} PUTs from {putters} putter(s)")
            t0 = time.perf_counter()
            warm = run_notifications(clients, tail, bucket, warm_puts, 60)
            if warm.lost:
                raise RuntimeError("the handler never recorded a warm-up object")
            warm_s = time.perf_counter() - t0
            before = live_environments(eddy.endpoint)
            progress(f"notifications: {args.notify_count} PUTs from {putters} putter(s)")
            r = run_notifications(clients, tail, bucket, args.notify_count, 30)
            r.warmup_note = (f"{warm_puts} PUT{'s' if warm_puts > 1 else ''} ({warm_s:.2f} s)"
                             + (f" after {putters} concurrent invokes" if putters > 1 else ""))
            r.environments = (before, live_environments(eddy.endpoint))
            runs.append(r)
    finally:
        tail.close()
    return runs


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def report(meta: dict, s3_points: list[Point], notify: list[NotifyRun], health_after: str) -> str:
    L: list[str] = []
    L.append("# Eddy S3 benchmark")
    L.append("")
    for k, v in meta.items():
        L.append(f"- {k}: {v}")
    L.append("")

    by = {(p.target, p.op, p.size, p.concurrency): p for p in s3_points}

    L.append("## PUT and GET")
    L.append("")
    L.append(
        "Closed loop, one boto3 client per worker thread, retries off; latency is the "
        "`put_object`/`get_object` call (GET includes reading the body). MB = 10^6 bytes. "
        "CPU columns are CPU time per completed request: the server process's, and this "
        "Python process's (client or floor). *Client cores* is that process's CPU time "
        "divided by the window: its threads share one interpreter lock, so near 1.0 the "
        "client, not the server, sets the pace. *Busy* is the whole machine's CPU use "
        "during the window (100% = every core).")
    L.append("")
    rows = []
    for op in ("PUT", "GET"):
        for size in SIZES:
            for c in CONCURRENCY:
                for target in ("Eddy", "moto", "floor"):
                    p = by.get((target, op, size, c))
                    if not p:
                        continue
                    rows.append([
                        op if target != "floor" else "write+fsync",
                        size_name(size), str(c), target,
                        num(p.ops_per_s), num(p.mb_per_s), num(p.p(50)), num(p.p(99)),
                        num(p.cpu_us_per_op(p.server_cpu_s)), num(p.cpu_us_per_op(p.client_cpu_s)),
                        f"{p.client_cpu_s / p.seconds:.2f}", f"{p.busy_fraction * 100:.0f}%",
                        str(p.errors),
                    ])
    L.append(markdown_table(
        ["Op", "Size", "Conc.", "Target", "Objects/s", "MB/s", "p50 ms", "p99 ms",
         "Server CPU µs/op", "Client CPU µs/op", "Client cores", "Busy", "Errors"],
        rows, "llrlrrrrrrrrr"))
    L.append("")
    errs = [p for p in s3_points if p.first_error]
    for p in errs:
        L.append(f"- First error, {p.target} {p.op} {size_name(p.size)} x{p.concurrency}: "
                 f"`{p.first_error}`")
    if errs:
        L.append("")

    L.append("### Ratios")
    L.append("")
    L.append("Eddy ÷ baseline at the same point in the same run: throughput above 1 and "
             "latency below 1 favour Eddy. The floor is a write, so it has PUT rows only.")
    L.append("")
    rows = []
    for op in ("PUT", "GET"):
        for size in SIZES:
            for c in CONCURRENCY:
                e = by.get(("Eddy", op, size, c))
                m = by.get(("moto", op, size, c))
                f = by.get(("floor", op, size, c))
                if not e:
                    continue
                rows.append([
                    op, size_name(size), str(c),
                    ratio(e.ops_per_s, m.ops_per_s) if m else "–",
                    ratio(e.p(50), m.p(50)) if m else "–",
                    ratio(e.p(99), m.p(99)) if m else "–",
                    ratio(e.ops_per_s, f.ops_per_s) if f else "–",
                    ratio(e.p(50), f.p(50)) if f else "–",
                ])
    L.append(markdown_table(
        ["Op", "Size", "Conc.", "Throughput ÷ moto", "p50 ÷ moto", "p99 ÷ moto",
         "Throughput ÷ floor", "p50 ÷ floor"], rows, "llrrrrrr"))
    L.append("")

    L.append("## PUT to handler (Eddy only)")
    L.append("")
    L.append(
        "moto stores notification configurations but does not invoke functions, so this "
        "is measured on Eddy alone. A `python3.12` function appends `time.time()` (taken "
        "first thing in the handler) and the key to a file; the bucket notifies it on "
        "`s3:ObjectCreated:*`. Latency = handler's `time.time()` − `time.time()` just "
        "after `put_object` returned (same machine, same clock). Each putter waits for "
        "the handler to record its object before its next PUT (128-byte objects). "
        "A negative minimum means the handler started before boto3 had finished "
        "processing the PUT's response. *From response* measures from when boto3 had "
        "received the response, before parsing it (its `before-parse` event), which is "
        "closer to Eddy's acknowledgement when several putter threads compete for the "
        "interpreter. *From call* measures from just before `put_object` was called, "
        "so it includes the whole PUT: the true acknowledgement-to-handler time lies "
        "between the first columns and this one. "
        "*PUT p50* is the `put_object` call itself. "
        "*Environments* is Eddy's count of live function environments before → after "
        "the run; if it grew, a cold start happened inside the run.")
    L.append("")
    rows = []
    for r in notify:
        v = r.latencies_ms
        env = "–" if None in r.environments else f"{r.environments[0]} → {r.environments[1]}"
        rows.append([
            str(r.putters), str(len(v)), num(percentile(v, 50)), num(percentile(v, 99)),
            num(v[-1] if v else float("nan")), num(v[0] if v else float("nan")),
            num(percentile(r.from_response_ms, 50)), num(percentile(r.from_response_ms, 99)),
            num(percentile(r.from_start_ms, 50)), num(percentile(r.from_start_ms, 99)),
            num(percentile(r.ack_ms, 50)), str(r.lost), env, r.warmup_note,
        ])
    L.append(markdown_table(
        ["Putters", "Deliveries", "p50 ms", "p99 ms", "max ms", "min ms",
         "From response p50 ms", "From response p99 ms", "From call p50 ms",
         "From call p99 ms", "PUT p50 ms", "Lost", "Environments", "Warm-up"],
        rows, "rrrrrrrrrrrrll"))
    L.append("")
    L.append("### Targets")
    L.append("")
    rows = []
    for r in notify:
        v = r.latencies_ms
        who = "1 putter" if r.putters == 1 else f"{r.putters} putters"
        p50, p99 = percentile(v, 50), percentile(v, 99)
        rows.append([f"PUT-to-handler p50 < {NOTIFY_P50_TARGET_MS:g} ms ({who})", num(p50),
                     "yes" if p50 < NOTIFY_P50_TARGET_MS and not r.lost else "**no**"])
        rows.append([f"PUT-to-handler p99 < {NOTIFY_P99_TARGET_MS:g} ms ({who})", num(p99),
                     "yes" if p99 < NOTIFY_P99_TARGET_MS and not r.lost else "**no**"])
    L.append(markdown_table(["Target", "Measured", "Met"], rows, "lrl"))
    L.append("")
    L.append(f"Eddy health after the run: `{health_after}`")
    L.append("")
    return "\n".join(L)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description="Benchmarks Eddy's S3 against moto and the disk.")
    ap.add_argument("--eddy", default="target/release/eddy", help="the Eddy binary")
    ap.add_argument("--moto-server", default=None,
                    help="moto's server [default: moto_server next to this Python]")
    ap.add_argument("--python", default=None,
                    help="interpreter Eddy runs the python3.12 function with "
                         "[default: the real binary behind this Python, past venv and shims]")
    ap.add_argument("--seconds", type=float, default=None,
                    help="seconds measured per load point [5; 1 with --quick]")
    ap.add_argument("--warmup", type=float, default=None,
                    help="unmeasured seconds before each point [1; 0.5 with --quick]")
    ap.add_argument("--notify-count", type=int, default=None,
                    help="PUTs per notification run [200; 50 with --quick]")
    ap.add_argument("--quick", action="store_true", help="smoke test, about a minute")
    ap.add_argument("--tmp-dir", default=None,
                    help="where the data dirs go (the floor is measured there too) [TMPDIR]")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    args = ap.parse_args()
    args.seconds = args.seconds or (1.0 if args.quick else 5.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.0)
    args.notify_count = args.notify_count or (50 if args.quick else 200)

    eddy_bin = find_eddy_bin(args.eddy, "cargo build --release")
    if eddy_bin is None:
        return 2
    moto_bin = find_moto_bin(args.moto_server, " (see docs/benchmarks.md)")
    if moto_bin is None:
        return 2
    # Eddy would otherwise start `python3`, which may be a version manager's shim that
    # adds a shell script to every cold start; this process's interpreter is real.
    python = args.python or os.path.realpath(sys.executable)

    import moto  # only for its version; the server is a separate process

    t_begin = time.monotonic()
    load = load_average()
    work = Path(tempfile.mkdtemp(prefix="eddy-s3-bench-", dir=args.tmp_dir))
    eddy_dir = work / "eddy-data"
    eddy_dir.mkdir()
    payloads = {s: os.urandom(s) for s in SIZES}
    eddy = moto_srv = None
    try:
        meta = run_meta(eddy_bin, work, load, moto.__version__, "Data dirs and floor")
        meta.update({
            "Function interpreter": command_output([python, "--version"]) or python,
            "Load points": f"{args.seconds:g} s measured after {args.warmup:g} s warm-up; "
                           "client, servers and functions share the machine",
        })
        progress(f"work dir {work}")

        progress("starting Eddy")
        env = dict(os.environ, EDDY_PYTHON=python, EDDY_LOG_LEVEL="warn")
        eddy = Server("eddy", [str(eddy_bin), "server", "--listen", "127.0.0.1:0",
                               "--data-dir", str(eddy_dir), "--sdk-install", "false"],
                      work / "eddy.log", EDDY_LISTEN_RE, env=env)
        wait_healthy(eddy.endpoint)
        progress("starting moto")
        moto_srv = Server("moto", [moto_bin, "-H", "127.0.0.1", "-p0"], work / "moto.log",
                          MOTO_LISTEN_RE)
        targets = [S3Target("Eddy", eddy), S3Target("moto", moto_srv)]
        points = bench_points(targets, work, args, payloads)
        # moto is done; stopping it now leaves the machine to Eddy and its functions.
        moto_srv.stop()
        moto_srv = None

        notify = bench_notifications(eddy, work, args)
        health = eddy_health(eddy.endpoint)
        meta["Eddy warnings and errors logged during the run"] = problems_summary(log_problems(eddy))
        meta["Total run time"] = f"{time.monotonic() - t_begin:.0f} s"
        text = report(meta, points, notify, health)
    except BaseException:
        show_server_logs(eddy, moto_srv)
        raise
    finally:
        stop_servers(moto_srv, eddy)
        shutil.rmtree(work, ignore_errors=True)

    return emit_report(text, args.out)


if __name__ == "__main__":
    sys.exit(main())
