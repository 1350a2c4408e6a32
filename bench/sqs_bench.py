#!/usr/bin/env python3
"""Amazon SQS, event source mapping and SNS fan-out benchmark for Eddy.

Measures, each next to a baseline measured in the same run on the same machine:

- SendMessage, ReceiveMessage (MaxNumberOfMessages 1 and 10), DeleteMessage,
  SendMessageBatch and DeleteMessageBatch (10 entries each) throughput and latency
  at concurrency 1 and 16, Eddy against moto's server (`moto_server`) driven by
  exactly the same boto3 client code;
- on Eddy only (moto does not run functions), how long a message takes from
  SendMessage returning to the start of the function an event source mapping
  (BatchSize 1) hands it to; the floor is a synchronous Invoke of the same
  function from this process, from the call to the handler's start, measured in
  the same run. Also how many messages per second a mapping (BatchSize 10) drains
  from a queue that already holds them all;
- SNS fan-out to 10 queues (raw message delivery): Publish throughput and latency
  at concurrency 1 and 8, and the time until every queue holds every message,
  Eddy against moto. Skipped, with a line in the report, when the Eddy binary does
  not answer SNS.

It prints a Markdown report and optionally writes it to a file. It installs
nothing; it uses the same virtualenv as bench/s3_bench.py, whose helpers it imports:

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -r bench/requirements.txt
    .venv-bench/bin/python bench/sqs_bench.py [--quick] [--out FILE]

Every server it starts listens on 127.0.0.1 only, gets a fresh temporary
directory, and is stopped by pid (SIGTERM, then SIGKILL); the directories are
removed at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from events_bench import median  # noqa: E402
from s3_bench import (  # noqa: E402
    EDDY_LISTEN_RE,
    MOTO_LISTEN_RE,
    ROLE_ARN,
    Exhausted,
    Point,
    Server,
    Tail,
    command_output,
    eddy_health,
    emit_report,
    find_eddy_bin,
    find_moto_bin,
    live_environments,
    load_average,
    log_problems,
    make_client,
    markdown_table,
    num,
    percentile,
    problems_summary,
    ratio,
    response_stamp,
    run_meta,
    run_point,
    run_threads,
    show_server_logs,
    stop_servers,
    wait_healthy,
    warm_environments,
)

CONCURRENCY = [1, 16]
FANOUT_CONCURRENCY = [1, 8]
FANOUT_QUEUES = 10
BATCH = 10  # entries per SendMessageBatch / DeleteMessageBatch, and SQS's maximum
MESSAGE_BYTES = 256
BODY = ("sqs-bench " * (MESSAGE_BYTES // 10 + 1))[:MESSAGE_BYTES]
# Messages kept in the ReceiveMessage queues. Receives use VisibilityTimeout=0, so
# the queue never drains and every receive finds a full batch.
RECEIVE_DEPTH = 100
# Receipt handles prepared for a DeleteMessage point: this many times what the same
# server's fastest point so far at the same concurrency (in calls/s) says the point
# could use, in queues of POOL_QUEUE_DEPTH in-flight messages (moto's receives and
# deletes scan the whole queue, so one deep queue would measure that scan rather than
# a delete). Preparing stops early after --fill-seconds; a point whose handles run
# out ends its window there.
DELETE_POOL_FACTOR = 2.0
DELETE_POOL_MAX = 100_000
POOL_QUEUE_DEPTH = 200
# Warm-up of the delete points: their clients' connections are open from the points
# before, and every second of warm-up costs prepared messages.
DELETE_WARMUP_S = 0.1
# Threads that fill queues before a point (not measured).
FILL_THREADS = 4


@dataclass(frozen=True)
class ApiOp:
    """One SQS call the load points repeat."""

    key: str
    label: str
    messages: int  # messages per call


API_OPS = [
    ApiOp("send", "SendMessage", 1),
    ApiOp("send_batch", f"SendMessageBatch, {BATCH} entries", BATCH),
    ApiOp("recv1", "ReceiveMessage, MaxNumberOfMessages=1", 1),
    ApiOp("recv10", "ReceiveMessage, MaxNumberOfMessages=10", 10),
    ApiOp("delete", "DeleteMessage", 1),
    ApiOp("delete_batch", f"DeleteMessageBatch, {BATCH} entries", BATCH),
]

# The function the mapping benchmarks install. It stamps the time first, so the
# number is when the handler started running, not when its write finished.
HANDLER_SOURCE = '''\
"""Appends "<time.time()> <key>" per message (its body) to the file named by BENCH_OUT."""
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
    if "bench_key" in event:
        keys = [event["bench_key"]]  # a direct invoke, the floor
    else:
        keys = [r["body"] for r in event.get("Records", [])]
    lines = "".join("%.6f %s\\n" % (now, k) for k in keys)
    # One O_APPEND write per event keeps lines from concurrent environments whole.
    fd = os.open(OUT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, lines.encode())
    finally:
        os.close(fd)
    return {}
'''


def progress(msg: str) -> None:
    print(f"sqs-bench: {msg}", file=sys.stderr, flush=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def queue_arn(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def queue_counts(sqs, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    a = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def send_all(clients: list, url: str, bodies: list[str]) -> None:
    """Sends `bodies` in batches of ten from one thread per client."""
    failures: list[str] = []
    chunks = [bodies[i:i + BATCH] for i in range(0, len(bodies), BATCH)]

    def worker(w: int) -> None:
        cl = clients[w]
        for chunk in chunks[w::len(clients)]:
            try:
                r = cl.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(j), "MessageBody": b} for j, b in enumerate(chunk)])
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(f"{type(e).__name__}: {e}")
                return
            if r.get("Failed"):
                failures.append(f"SendMessageBatch: {r['Failed'][0]}")
                return

    run_threads([threading.Thread(target=worker, args=(w,)) for w in range(len(clients))])
    if failures:
        raise RuntimeError(f"filling {url} failed: {failures[0]}")


def receive_all(clients: list, url: str, count: int) -> list[str]:
    """Receives `count` messages (hidden for an hour) and returns their receipt handles."""
    handles: list[str] = []
    lock = threading.Lock()
    failures: list[str] = []

    def worker(w: int) -> None:
        cl = clients[w]
        empty = 0
        while True:
            with lock:
                if len(handles) >= count or failures:
                    return
            try:
                r = cl.receive_message(QueueUrl=url, MaxNumberOfMessages=BATCH,
                                       VisibilityTimeout=3600)
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(f"{type(e).__name__}: {e}")
                return
            got = [m["ReceiptHandle"] for m in r.get("Messages", [])]
            # A few empty answers in a row: the queue has nothing visible left.
            empty = 0 if got else empty + 1
            if empty > 20:
                return
            with lock:
                handles.extend(got)

    run_threads([threading.Thread(target=worker, args=(w,)) for w in range(len(clients))])
    if failures:
        raise RuntimeError(f"receiving from {url} failed: {failures[0]}")
    if len(handles) < count:
        raise RuntimeError(f"received {len(handles)} of {count} messages from {url}")
    return handles[:count]


# --------------------------------------------------------------------------
# The API, Eddy vs moto
# --------------------------------------------------------------------------


class SqsTarget:
    """One SQS server under load: its queues and clients (the same code for Eddy and
    moto)."""

    def __init__(self, name: str, server: Server):
        self.name = name
        self.server = server
        self.clients = {c: [make_client("sqs", server.endpoint, 1) for _ in range(c)]
                        for c in CONCURRENCY}
        self.admin = self.clients[1][0]
        # Calls/s of the latest point of each (op, concurrency), to size delete pools.
        self.calls_per_s: dict[tuple[str, int], float] = {}
        # (messages, seconds) prepared for the latest delete point of each (op, conc.).
        self.prepared: dict[tuple[str, int], tuple[int, float]] = {}
        # The receive points share one queue that always holds RECEIVE_DEPTH messages.
        self.receive_url = self.admin.create_queue(QueueName=unique("bench-recv"))["QueueUrl"]
        send_all(self.fill_clients(), self.receive_url, [BODY] * RECEIVE_DEPTH)

    def fill_clients(self) -> list:
        return self.clients[max(CONCURRENCY)][:FILL_THREADS]

    def new_queue(self, key: str, c: int) -> str:
        return self.admin.create_queue(QueueName=unique(f"bench-{key}-c{c}"))["QueueUrl"]

    def delete_pool(self, op: ApiOp, c: int, args) -> list[list]:
        """In-flight messages for a delete point, per worker: (queue URL, receipt
        handle) for DeleteMessage, (queue URL, ten receipt handles) for the batch.
        They are spread over queues of POOL_QUEUE_DEPTH messages each, so no server
        works on a deeper queue than the other."""
        rate = max([v for (_, k), v in self.calls_per_s.items() if k == c and v == v] or [1000.0])
        calls = math.ceil(rate * (DELETE_WARMUP_S + args.seconds + 0.2) * DELETE_POOL_FACTOR)
        count = min(DELETE_POOL_MAX, calls * op.messages)
        n_queues = max(1, math.ceil(count / POOL_QUEUE_DEPTH))
        progress(f"{self.name}: preparing up to {n_queues * POOL_QUEUE_DEPTH:,} in-flight "
                 f"messages in {n_queues} queues for {op.label} x{c}")
        urls = [""] * n_queues
        handles: list[list[str]] = [[] for _ in range(n_queues)]
        fill = self.fill_clients()
        failures: list[str] = []
        deadline = time.monotonic() + args.fill_seconds
        t0 = time.monotonic()

        def filler(t: int) -> None:
            cl = fill[t]
            try:
                for k in range(t, n_queues, len(fill)):
                    if time.monotonic() > deadline:
                        return
                    urls[k] = cl.create_queue(QueueName=unique(f"bench-{op.key}-c{c}"))["QueueUrl"]
                    send_all([cl], urls[k], [BODY] * POOL_QUEUE_DEPTH)
                    handles[k] = receive_all([cl], urls[k], POOL_QUEUE_DEPTH)
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(f"{type(e).__name__}: {e}"[:400])

        run_threads([threading.Thread(target=filler, args=(t,)) for t in range(len(fill))])
        if failures:
            raise RuntimeError(f"preparing the delete point failed: {failures[0]}")
        # Dealt round-robin, so the workers get equal shares however far filling got.
        items = [(urls[k], hs[j] if op.messages == 1 else hs[j:j + op.messages])
                 for k, hs in enumerate(handles) for j in range(0, len(hs), op.messages)]
        per_worker = [items[w::c] for w in range(c)]
        ready = sum(len(h) for h in handles)
        self.prepared[(op.key, c)] = (ready, time.monotonic() - t0)
        if ready < n_queues * POOL_QUEUE_DEPTH:
            progress(f"{self.name}: {ready:,} prepared in {args.fill_seconds:g} s")
        return per_worker

    def ops(self, op: ApiOp, c: int, args) -> list:
        clients = self.clients[c]
        if op.key in ("send", "send_batch"):
            url = self.new_queue(op.key, c)
        elif op.key in ("recv1", "recv10"):
            url = self.receive_url
        else:
            per_worker = self.delete_pool(op, c, args)

        def make(w: int, cl):
            if op.key == "send":
                def f(i: int) -> None:
                    cl.send_message(QueueUrl=url, MessageBody=BODY)["MessageId"]
            elif op.key == "send_batch":
                entries = [{"Id": str(j), "MessageBody": BODY} for j in range(BATCH)]

                def f(i: int) -> None:
                    r = cl.send_message_batch(QueueUrl=url, Entries=entries)
                    if r.get("Failed") or len(r.get("Successful", [])) != BATCH:
                        raise RuntimeError(f"SendMessageBatch failed: {r.get('Failed')}")
            elif op.key in ("recv1", "recv10"):
                n = op.messages

                def f(i: int) -> None:
                    r = cl.receive_message(QueueUrl=url, MaxNumberOfMessages=n, VisibilityTimeout=0)
                    got = len(r.get("Messages", []))
                    if got != n:
                        raise RuntimeError(f"ReceiveMessage returned {got} of {n} messages")
            else:
                mine = per_worker[w]

                def f(i: int) -> None:
                    if i >= len(mine):
                        raise Exhausted()
                    q_url, h = mine[i]
                    if op.messages == 1:
                        cl.delete_message(QueueUrl=q_url, ReceiptHandle=h)
                        return
                    r = cl.delete_message_batch(QueueUrl=q_url, Entries=[
                        {"Id": str(j), "ReceiptHandle": x} for j, x in enumerate(h)])
                    if r.get("Failed") or len(r.get("Successful", [])) != len(h):
                        raise RuntimeError(f"DeleteMessageBatch failed: {r.get('Failed')}")
            return f

        return [make(w, cl) for w, cl in enumerate(clients)]

    def point(self, op: ApiOp, c: int, args) -> Point:
        ops = self.ops(op, c, args)
        progress(f"{self.name}: {op.label} x{c}")
        # Point.size holds messages per call, so Point.ops * size is messages.
        p = Point(self.name, op.key, op.messages, c, args.seconds)
        warmup = DELETE_WARMUP_S if op.key.startswith("delete") else args.warmup
        p = run_point(p, ops, warmup, self.server)
        if p.cut_short:
            progress(f"{self.name}: the prepared messages lasted {p.seconds:.2f} s "
                     f"of {args.seconds:g}")
        self.calls_per_s[(op.key, c)] = p.ops_per_s
        return p


def bench_api(targets: list[SqsTarget], args) -> dict[tuple[str, str, int], list[Point]]:
    """Every point, `args.rounds` times; in each round the servers take turns at every
    point (who goes first alternates), so a slow spell of this shared machine lands on
    neighbouring measurements of both."""
    points: dict[tuple[str, str, int], list[Point]] = {}
    for r in range(args.rounds):
        progress(f"API: round {r + 1} of {args.rounds}")
        order = targets if r % 2 == 0 else targets[::-1]
        for op in API_OPS:
            for c in CONCURRENCY:
                for t in order:
                    points.setdefault((t.name, op.key, c), []).append(t.point(op, c, args))
    return points


# --------------------------------------------------------------------------
# SNS fan-out, Eddy vs moto
# --------------------------------------------------------------------------


@dataclass
class FanoutRun:
    target: str
    publishers: int
    messages: int
    publish_s: float = float("nan")  # first publish called → last publish returned
    latencies_ms: list[float] = field(default_factory=list)  # sorted
    errors: int = 0
    first_error: str = ""
    # first publish called → every queue held every message; None if never
    all_from_first_s: float | None = None
    all_after_last_s: float | None = None  # last publish returned → the same
    counts: list[int] = field(default_factory=list)  # per queue, at the end
    raw_ok: bool | None = None
    raw_note: str = ""

    @property
    def publishes_per_s(self) -> float:
        ok = len(self.latencies_ms)
        return ok / self.publish_s if self.publish_s else float("nan")


def sns_available(server: Server) -> str | None:
    """None if the server answers SNS CreateTopic, else why not."""
    try:
        sns = make_client("sns", server.endpoint, 1)
        arn = sns.create_topic(Name=unique("bench-probe"))["TopicArn"]
        sns.delete_topic(TopicArn=arn)
        return None
    except Exception as e:  # noqa: BLE001 - the reason goes into the report
        return f"{type(e).__name__}: {e}"[:300]


def fanout_run(name: str, server: Server, c: int, n: int, args) -> FanoutRun:
    progress(f"{name}: SNS fan-out to {FANOUT_QUEUES} queues, {n} publishes x{c}")
    run = FanoutRun(name, c, n)
    ep = server.endpoint
    sns = make_client("sns", ep, 1)
    sqs = make_client("sqs", ep, 1)
    topic = sns.create_topic(Name=unique("bench-fanout"))["TopicArn"]
    urls = []
    for q in range(FANOUT_QUEUES):
        url = sqs.create_queue(QueueName=unique(f"bench-fanout-{q}"))["QueueUrl"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(sqs, url),
                      Attributes={"RawMessageDelivery": "true"}, ReturnSubscriptionArn=True)
        urls.append(url)
    clients = [make_client("sns", ep, 1) for _ in range(c)]
    tag = uuid.uuid4().hex[:8]
    lat: list[list[float]] = [[] for _ in range(c)]
    errs: list[tuple[int, str]] = [(0, "")] * c

    def publisher(w: int) -> None:
        cl = clients[w]
        e, first = 0, ""
        for i in range(w, n, c):
            t0 = time.perf_counter()
            try:
                cl.publish(TopicArn=topic, Message=f"{tag}-{i:06d} {BODY}"[:MESSAGE_BYTES])
            except Exception as ex:  # noqa: BLE001 - counted and reported
                e += 1
                first = first or f"{type(ex).__name__}: {ex}"[:300]
                continue
            lat[w].append((time.perf_counter() - t0) * 1000.0)
        errs[w] = (e, first)

    threads = [threading.Thread(target=publisher, args=(w,)) for w in range(c)]
    t_first = time.perf_counter()
    run_threads(threads)
    t_last = time.perf_counter()
    run.publish_s = t_last - t_first
    run.latencies_ms = sorted(x for part in lat for x in part)
    run.errors = sum(e for e, _ in errs)
    run.first_error = next((f for _, f in errs if f), "")
    want = len(run.latencies_ms)
    # Every queue, in turn, until all hold every accepted message. The time resolution
    # is one pass over the queues (10 GetQueueAttributes calls).
    deadline = t_last + args.fanout_timeout
    while True:
        run.counts = [queue_counts(sqs, u)[0] for u in urls]
        now = time.perf_counter()
        if all(k >= want for k in run.counts):
            run.all_from_first_s = now - t_first
            run.all_after_last_s = now - t_last
            break
        if now > deadline:
            break
        time.sleep(0.01)
    # Raw delivery: the body is the published message, not SNS's JSON envelope.
    r = sqs.receive_message(QueueUrl=urls[0], MaxNumberOfMessages=1)
    msgs = r.get("Messages", [])
    if msgs:
        body = msgs[0]["Body"]
        run.raw_ok = body.startswith(f"{tag}-")
        if not run.raw_ok:
            run.raw_note = f"a queue received `{body[:120]}`"
    for u in urls:
        sqs.delete_queue(QueueUrl=u)
    sns.delete_topic(TopicArn=topic)
    return run


def bench_fanout(servers: list[tuple[str, Server]], args) -> tuple[dict, dict[str, str]]:
    """Fan-out runs per (target, publishers), `args.rounds` times with the servers
    taking turns; a server whose run fails is reported, not fatal."""
    runs: dict[tuple[str, int], list[FanoutRun]] = {}
    failed: dict[str, str] = {}
    for r in range(args.rounds):
        order = servers if r % 2 == 0 else servers[::-1]
        for c in FANOUT_CONCURRENCY:
            for name, server in order:
                if name in failed:
                    continue
                try:
                    runs.setdefault((name, c), []).append(
                        fanout_run(name, server, c, args.fanout_messages, args))
                except Exception as e:  # noqa: BLE001 - the reason goes into the report
                    failed[name] = f"{type(e).__name__}: {e}"[:400]
                    progress(f"{name}: SNS fan-out failed: {failed[name]}")
    return runs, failed


# --------------------------------------------------------------------------
# Event source mappings (Eddy only)
# --------------------------------------------------------------------------


@dataclass
class E2ERun:
    count: int
    gap_s: float
    # handler start − send_message returned, sorted
    esm_ms: list[float] = field(default_factory=list)
    # handler start − SendMessage's response received, before boto3 parsed it, sorted
    esm_from_response_ms: list[float] = field(default_factory=list)
    # handler start − just before send_message was called, sorted
    esm_from_call_ms: list[float] = field(default_factory=list)
    send_ms: list[float] = field(default_factory=list)  # send_message round trip, sorted
    # handler start − just before invoke was called (the floor), sorted
    invoke_ms: list[float] = field(default_factory=list)
    invoke_call_ms: list[float] = field(default_factory=list)  # invoke round trip, sorted
    lost_esm: int = 0
    lost_invoke: int = 0
    environments: tuple[int | None, int | None] = (None, None)
    warmup_note: str = ""


@dataclass
class DrainRun:
    messages: int
    send_s: float = float("nan")  # sending them all, before the mapping exists
    deliveries: int = 0  # handler lines for these messages (redeliveries included)
    handled: int = 0  # distinct messages the handler saw
    first_s: float = float("nan")  # create_event_source_mapping called → first handler start
    last_s: float = float("nan")  # the same → last handler start
    empty_s: float | None = None  # the same → the queue held nothing, in flight included
    environments: tuple[int | None, int | None] = (None, None)

    @property
    def per_s(self) -> float:
        return self.handled / self.last_s if self.last_s == self.last_s and self.last_s else float("nan")


def create_function(lam, name: str, env: dict[str, str]) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", HANDLER_SOURCE)
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE_ARN,
        Handler="app.handler",
        Code={"ZipFile": buf.getvalue()},
        Environment={"Variables": env},
        Timeout=30,
        MemorySize=128,
    )["FunctionArn"]
    deadline = time.monotonic() + 30
    while lam.get_function_configuration(FunctionName=name).get("State") != "Active":
        if time.monotonic() > deadline:
            raise RuntimeError(f"function {name} never became Active")
        time.sleep(0.05)
    return arn


def create_mapping(lam, queue_arn_: str, fn: str, batch: int) -> str:
    m = lam.create_event_source_mapping(EventSourceArn=queue_arn_, FunctionName=fn,
                                        BatchSize=batch)
    return m["UUID"]


def wait_mapping_enabled(lam, uuid_: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        state = lam.get_event_source_mapping(UUID=uuid_)["State"]
        if state == "Enabled":
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"event source mapping {uuid_} is still {state}")
        time.sleep(0.02)


def e2e_run(sqs, lam, tail: Tail, url: str, fn: str, count: int, gap_s: float,
            timeout: float) -> E2ERun:
    """`count` rounds of: one message through the mapping, waiting for the handler to
    record it; a pause; one direct synchronous invoke of the same function; a pause."""
    run = E2ERun(count, gap_s)
    tag = uuid.uuid4().hex[:6]
    stamp = response_stamp(sqs, "before-parse.sqs.SendMessage")
    for i in range(count):
        key = f"esm-{tag}-{i:05d}"
        ev = tail.expect(key)
        t_send = time.time()
        t0 = time.perf_counter()
        sqs.send_message(QueueUrl=url, MessageBody=key)
        t_ack = time.time()
        run.send_ms.append((time.perf_counter() - t0) * 1000.0)
        if ev.wait(timeout):
            t_handler = tail.handler_time(key)
            run.esm_ms.append((t_handler - t_ack) * 1000.0)
            run.esm_from_response_ms.append((t_handler - stamp[0]) * 1000.0)
            run.esm_from_call_ms.append((t_handler - t_send) * 1000.0)
        else:
            run.lost_esm += 1
        # The environment finishes the mapping's batch (and the poller deletes the
        # message) after the handler's stamp; the pause keeps the invoke from finding
        # it busy.
        time.sleep(gap_s)

        key = f"inv-{tag}-{i:05d}"
        ev = tail.expect(key)
        payload = json.dumps({"bench_key": key}).encode()
        t_call = time.time()
        t0 = time.perf_counter()
        r = lam.invoke(FunctionName=fn, Payload=payload)
        r["Payload"].read()
        run.invoke_call_ms.append((time.perf_counter() - t0) * 1000.0)
        if r.get("FunctionError"):
            raise RuntimeError(f"invoke of {fn} failed: {r['FunctionError']}")
        if ev.wait(timeout):
            run.invoke_ms.append((tail.handler_time(key) - t_call) * 1000.0)
        else:
            run.lost_invoke += 1
        time.sleep(gap_s)
    for xs in (run.esm_ms, run.esm_from_response_ms, run.esm_from_call_ms, run.send_ms,
               run.invoke_ms, run.invoke_call_ms):
        xs.sort()
    return run


def drain_run(eddy: Server, sqs_clients: list, lam, tail: Tail, out: Path, fn: str,
              count: int, timeout: float) -> DrainRun:
    run = DrainRun(count)
    sqs = sqs_clients[0]
    url = sqs.create_queue(QueueName=unique("bench-drain"))["QueueUrl"]
    arn = queue_arn(sqs, url)
    tag = f"drain-{uuid.uuid4().hex[:6]}"
    keys = [f"{tag}-{i:06d}" for i in range(count)]
    events = [tail.expect(k) for k in keys]
    progress(f"mapping drain: sending {count:,} messages in batches of {BATCH}")
    t0 = time.perf_counter()
    send_all(sqs_clients, url, keys)
    run.send_s = time.perf_counter() - t0
    run.environments = (live_environments(eddy.endpoint), None)
    progress(f"mapping drain: creating a mapping with BatchSize {BATCH}")
    t_create = time.time()
    mapping = create_mapping(lam, arn, fn, BATCH)
    deadline = time.monotonic() + timeout
    for ev in events:
        if not ev.wait(max(0.0, deadline - time.monotonic())):
            break
    # The handler has started on every message; the poller deletes each batch after
    # the function returns.
    while time.monotonic() < deadline:
        if queue_counts(sqs, url) == (0, 0):
            run.empty_s = time.time() - t_create
            break
        time.sleep(0.01)
    run.environments = (run.environments[0], live_environments(eddy.endpoint))
    stamps = []
    seen = set()
    for line in out.read_text().splitlines():
        ts, _, key = line.partition(" ")
        if key.startswith(tag):
            stamps.append(float(ts))
            seen.add(key)
    run.deliveries = len(stamps)
    run.handled = len(seen)
    if stamps:
        run.first_s = min(stamps) - t_create
        run.last_s = max(stamps) - t_create
    lam.delete_event_source_mapping(UUID=mapping)
    return run


def bench_mappings(eddy: Server, work: Path, args) -> tuple[E2ERun, list[DrainRun]]:
    sqs = make_client("sqs", eddy.endpoint, 2)
    lam = make_client("lambda", eddy.endpoint, 4)
    out = work / "handler-times.log"
    tail = Tail(out)
    fn = unique("sqs-consumer")
    try:
        progress(f"mappings: creating {fn}")
        create_function(lam, fn, {"BENCH_OUT": str(out)})
        url = sqs.create_queue(QueueName=unique("bench-e2e"))["QueueUrl"]
        mapping = create_mapping(lam, queue_arn(sqs, url), fn, 1)
        wait_mapping_enabled(lam, mapping)
        # Two warm environments: the mapping's delivery and the direct invoke
        # alternate, and either may still find the other's environment finishing.
        progress("mappings: warm-up, 2 concurrent invokes and "
                 f"{args.e2e_warmup} messages with invokes")
        t0 = time.perf_counter()
        warm_environments(lam, fn, 2)
        warm = e2e_run(sqs, lam, tail, url, fn, args.e2e_warmup, args.gap, 60)
        if warm.lost_esm or warm.lost_invoke:
            raise RuntimeError("the handler never recorded a warm-up message or invoke")
        warm_s = time.perf_counter() - t0
        before = live_environments(eddy.endpoint)
        progress(f"mappings: {args.e2e_count} messages through the mapping, "
                 f"{args.e2e_count} direct invokes, alternating")
        e2e = e2e_run(sqs, lam, tail, url, fn, args.e2e_count, args.gap, 30)
        e2e.environments = (before, live_environments(eddy.endpoint))
        e2e.warmup_note = (f"2 concurrent invokes, then {args.e2e_warmup} of each "
                           f"({warm_s:.2f} s)")
        lam.delete_event_source_mapping(UUID=mapping)

        drains = []
        senders = [make_client("sqs", eddy.endpoint, 1) for _ in range(FILL_THREADS)]
        for r in range(args.rounds):
            progress(f"mapping drain: round {r + 1} of {args.rounds}")
            drains.append(drain_run(eddy, senders, lam, tail, out, fn, args.drain_messages,
                                    args.drain_timeout))
    finally:
        tail.close()
    return e2e, drains


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def pooled(ps: list[Point]) -> list[float]:
    return sorted(x for p in ps for x in p.latencies_ms)


def msgs_per_s(p: Point) -> float:
    return p.ops_per_s * p.size


def client_cores(p: Point) -> float:
    return p.client_cpu_s / p.seconds if p.seconds else float("nan")


def fixed(x: float) -> str:
    return f"{x:.2f}" if x == x else "–"


def percent(x: float) -> str:
    return f"{x * 100:.0f}%" if x == x else "–"


def api_section(L: list[str], points: dict, args) -> None:
    L.append("## The SQS API, Eddy vs moto")
    L.append("")
    L.append(
        f"Standard queues with default attributes; every message body is {MESSAGE_BYTES} "
        "bytes. Closed loop, one boto3 client per worker thread, retries off. "
        "SendMessage and SendMessageBatch go to a fresh queue per point. Both "
        f"ReceiveMessage points read one queue holding {RECEIVE_DEPTH} messages with "
        "`VisibilityTimeout=0`, so the queue never drains and a receive that returns "
        "fewer messages than asked for counts as an error. Each DeleteMessage point "
        "deletes receipt handles prepared before it (not measured): messages sent to "
        f"queues of {POOL_QUEUE_DEPTH} and received with a one-hour visibility timeout, "
        "dealt round-robin to the workers; as many as the same server's fastest point so "
        f"far at that concurrency would use in {DELETE_POOL_FACTOR:g}× the window, or "
        f"what {args.fill_seconds:g} s of preparing yields. If they run out, the window "
        "ends there (see the list below the table). Delete points get "
        f"{DELETE_WARMUP_S:g} s of warm-up (their connections are open from the points "
        "before). "
        f"{args.rounds} round(s) of {args.seconds:g} s per point after {args.warmup:g} s "
        "warm-up, Eddy and moto taking turns at each point. *Calls/s* and *messages/s* "
        "are medians over rounds (range in brackets); latencies are pooled over rounds. "
        "*Server CPU* is the server process's CPU time per message; *client cores* is "
        "this Python process's CPU time divided by the window (its threads share one "
        "interpreter lock, so near 1.0 the client sets the pace); *busy* is the whole "
        "machine (100% = every core).")
    L.append("")
    rows = []
    for op in API_OPS:
        for c in CONCURRENCY:
            for target in ("Eddy", "moto"):
                ps = points.get((target, op.key, c), [])
                if not ps:
                    continue
                calls = [p.ops_per_s for p in ps]
                msgs = [msgs_per_s(p) for p in ps]
                lat = pooled(ps)
                n_msgs = sum(p.ops * p.size for p in ps)
                cpu = sum(p.server_cpu_s for p in ps)
                rows.append([
                    op.label, str(c), target,
                    f"{num(median(calls))} [{num(min(calls))}–{num(max(calls))}]",
                    num(median(msgs)),
                    num(percentile(lat, 50)), num(percentile(lat, 99)),
                    num(cpu / n_msgs * 1e6) if n_msgs else "–",
                    fixed(median([client_cores(p) for p in ps])),
                    percent(median([p.busy_fraction for p in ps])),
                    str(sum(p.errors for p in ps)),
                ])
    L.append(markdown_table(
        ["Call", "Conc.", "Target", "Calls/s", "Messages/s", "p50 ms", "p99 ms",
         "Server CPU µs/message", "Client cores", "Busy", "Errors"], rows, "lrlrrrrrrrr"))
    L.append("")
    client_bound = [f"{t} {k} x{c}" for (t, k, c), ps in points.items()
                    if median([client_cores(p) for p in ps]) >= 0.85]
    if client_bound:
        L.append("Client cores at or above 0.85 (the Python client, not the server, likely "
                 f"set the pace): {', '.join(client_bound)}.")
        L.append("")
    notes = []
    for (target, key, c), ps in points.items():
        first = next((p.first_error for p in ps if p.first_error), "")
        if first:
            notes.append(f"- First error, {target} {key} x{c}: `{first}`")
        cut = [p for p in ps if p.cut_short]
        if cut:
            notes.append(f"- {target} {key} x{c}: the prepared messages ran out; measured "
                         + ", ".join(f"{p.seconds:.2f} s" for p in cut)
                         + f" of {args.seconds:g} s" + (" (in some rounds)" if len(cut) < len(ps) else ""))
    if notes:
        L += notes
        L.append("")

    L.append("### Ratios")
    L.append("")
    L.append("Eddy ÷ moto at the same point in the same run: throughput above 1 and latency "
             "below 1 favour Eddy. *Per round* is the range of the throughput ratio of the "
             "two neighbouring measurements in each round.")
    L.append("")
    rows = []
    for op in API_OPS:
        for c in CONCURRENCY:
            e = points.get(("Eddy", op.key, c), [])
            m = points.get(("moto", op.key, c), [])
            if not e or not m:
                continue
            per_round = [a.ops_per_s / b.ops_per_s for a, b in zip(e, m)
                         if b.ops_per_s and b.ops_per_s == b.ops_per_s and a.ops_per_s == a.ops_per_s]
            rows.append([
                op.label, str(c),
                ratio(median([msgs_per_s(p) for p in e]), median([msgs_per_s(p) for p in m])),
                (f"{min(per_round):.2f}–{max(per_round):.2f}×" if per_round else "–"),
                ratio(percentile(pooled(e), 50), percentile(pooled(m), 50)),
                ratio(percentile(pooled(e), 99), percentile(pooled(m), 99)),
            ])
    L.append(markdown_table(["Call", "Conc.", "Throughput ÷ moto", "Per round",
                             "p50 ÷ moto", "p99 ÷ moto"], rows, "lrrrrr"))
    L.append("")

    L.append("What batching buys each server: messages/s of the 10-entry call ÷ the "
             "single call, same server, same concurrency.")
    L.append("")
    rows = []
    for target in ("Eddy", "moto"):
        for c in CONCURRENCY:
            row = [target, str(c)]
            for single, batch in (("send", "send_batch"), ("recv1", "recv10"),
                                  ("delete", "delete_batch")):
                s = points.get((target, single, c), [])
                b = points.get((target, batch, c), [])
                row.append(ratio(median([msgs_per_s(p) for p in b]),
                                 median([msgs_per_s(p) for p in s])) if s and b else "–")
            rows.append(row)
    L.append(markdown_table(["Target", "Conc.", "Send", "Receive", "Delete"], rows, "lrrrr"))
    L.append("")


def fanout_section(L: list[str], runs: dict, failed: dict[str, str], skipped: str | None,
                   args) -> None:
    L.append(f"## SNS fan-out to {FANOUT_QUEUES} queues, Eddy vs moto")
    L.append("")
    if skipped is not None:
        L.append(f"Skipped: the Eddy binary does not answer SNS (CreateTopic: `{skipped}`), "
                 "so there is no fan-out number in this run.")
        L.append("")
        return
    L.append(
        f"One topic with {FANOUT_QUEUES} SQS subscriptions (`RawMessageDelivery` true), "
        "a fresh topic and fresh queues per run. "
        f"{args.fanout_messages} `Publish` calls of a {MESSAGE_BYTES}-byte message, shared "
        "by the publisher threads (one boto3 client each). *Publishes/s* is the calls that "
        "succeeded ÷ the time from the first call to the last return. *All queued* is when "
        "every queue's `ApproximateNumberOfMessages` first reached the number of messages "
        "published, read one queue after another (one pass of "
        f"{FANOUT_QUEUES} `GetQueueAttributes` calls is the resolution), measured from the "
        "first `Publish` call and from the last `Publish` return. A server that delivers "
        "inside `Publish` shows a few milliseconds after the last return: the first pass. "
        f"{args.rounds} round(s), the servers taking turns; the table shows medians over "
        "rounds and latencies pooled over rounds. Each run also receives one message to "
        "check it arrived raw (the published text, not SNS's JSON envelope).")
    L.append("")
    rows = []
    for c in FANOUT_CONCURRENCY:
        for target in ("Eddy", "moto"):
            rs = runs.get((target, c), [])
            if not rs:
                continue
            lat = sorted(x for r in rs for x in r.latencies_ms)
            complete = [r for r in rs if r.all_from_first_s is not None]
            rates = [r.publishes_per_s for r in rs]
            raw = {r.raw_ok for r in rs}
            rows.append([
                str(c), target, str(len(rs)),
                f"{num(median(rates))} [{num(min(rates))}–{num(max(rates))}]",
                num(percentile(lat, 50)), num(percentile(lat, 99)),
                (f"{num(median([r.all_from_first_s for r in complete]) * 1000)}"
                 if complete else "–"),
                (f"{num(median([r.all_after_last_s for r in complete]) * 1000)}"
                 if complete else "–"),
                (num(median([FANOUT_QUEUES * r.messages / r.all_from_first_s for r in complete]))
                 if complete else "–"),
                f"{len(complete)} of {len(rs)}",
                "yes" if raw == {True} else ("**no**" if False in raw else "?"),
                str(sum(r.errors for r in rs)),
            ])
    L.append(markdown_table(
        ["Publishers", "Target", "Runs", "Publishes/s", "Publish p50 ms", "Publish p99 ms",
         "All queued from first call ms", "All queued after last return ms",
         "Queued messages/s", "Complete", "Raw", "Errors"], rows, "rlrrrrrrrrlr"))
    L.append("")
    notes = []
    for (target, c), rs in runs.items():
        for r in rs:
            if r.all_from_first_s is None:
                notes.append(f"- {target} x{c}: after {args.fanout_timeout:g} s the queues held "
                             f"{r.counts} of {len(r.latencies_ms)} messages")
            if r.first_error:
                notes.append(f"- {target} x{c}: first error `{r.first_error}`")
            if r.raw_note:
                notes.append(f"- {target} x{c}: {r.raw_note}")
    for target, why in failed.items():
        notes.append(f"- {target}: a fan-out run failed, so its remaining runs were skipped: "
                     f"`{why}`")
    if notes:
        L += sorted(set(notes), key=notes.index)
        L.append("")

    L.append("### Ratios")
    L.append("")
    L.append("Eddy ÷ moto, medians of the same runs: publish throughput and the time until "
             "every queue held every message (from the first call); above 1 favours Eddy "
             "for throughput, below 1 for times.")
    L.append("")
    rows = []
    for c in FANOUT_CONCURRENCY:
        e, m = runs.get(("Eddy", c), []), runs.get(("moto", c), [])
        if not e or not m:
            continue
        el = sorted(x for r in e for x in r.latencies_ms)
        ml = sorted(x for r in m for x in r.latencies_ms)
        ec = [r.all_from_first_s for r in e if r.all_from_first_s is not None]
        mc = [r.all_from_first_s for r in m if r.all_from_first_s is not None]
        rows.append([
            str(c),
            ratio(median([r.publishes_per_s for r in e]), median([r.publishes_per_s for r in m])),
            ratio(percentile(el, 50), percentile(ml, 50)),
            ratio(percentile(el, 99), percentile(ml, 99)),
            ratio(median(ec), median(mc)) if ec and mc else "–",
        ])
    L.append(markdown_table(["Publishers", "Publishes/s ÷ moto", "Publish p50 ÷ moto",
                             "Publish p99 ÷ moto", "All queued ÷ moto"], rows, "rrrrr"))
    L.append("")


def mapping_section(L: list[str], e2e: E2ERun, drains: list[DrainRun], args,
                    interpreter: str) -> None:
    L.append("## Event source mappings (Eddy only)")
    L.append("")
    L.append(
        "moto does not run functions the way Eddy does, so this is Eddy alone. A "
        f"`python3.12` function (run by {interpreter}) takes `time.time()` first thing in "
        "the handler and appends it, with each record's body, to a file this process "
        "follows (inotify). The same machine, the same clock.")
    L.append("")
    L.append("### SendMessage to handler")
    L.append("")
    L.append(
        f"A mapping with `BatchSize` 1 on a queue; {e2e.count} messages sent one at a time, "
        "each waited for until the handler recorded it. *From return* = handler start − "
        "`send_message` returned; a negative value means the handler started before boto3 "
        "had finished processing SendMessage's response. *From response* measures from "
        "when boto3 had received the response, before parsing it (its `before-parse` "
        "event). *From call* = handler start − just before `send_message` was called, so "
        "it includes the whole send. The floor is a synchronous `Invoke` of the same "
        "function from this process: handler start − just before `invoke` was called, "
        "which likewise includes sending the request. A message and an invoke alternate, "
        f"with {e2e.gap_s * 1000:g} ms pauses after each, so both meet the same machine. "
        "*Environments* is Eddy's count of live function environments before → after the "
        "run; if it grew, a cold start happened inside it.")
    L.append("")
    env = ("–" if None in e2e.environments
           else f"{e2e.environments[0]} → {e2e.environments[1]}")
    floor = e2e.invoke_ms

    def row(label: str, xs: list[float], lost: str, vs_floor: bool) -> list[str]:
        return [label, str(len(xs)), num(percentile(xs, 50)), num(percentile(xs, 99)),
                num(xs[-1] if xs else float("nan")), num(xs[0] if xs else float("nan")),
                ratio(percentile(xs, 50), percentile(floor, 50)) if vs_floor else "–",
                ratio(percentile(xs, 99), percentile(floor, 99)) if vs_floor else "–",
                lost]

    rows = [
        row("Mapping to handler, from return", e2e.esm_ms, str(e2e.lost_esm), True),
        row("Mapping to handler, from response", e2e.esm_from_response_ms, "–", True),
        row("Mapping to handler, from call", e2e.esm_from_call_ms, "–", True),
        row("Floor: Invoke call to handler", floor, str(e2e.lost_invoke), False),
        row("SendMessage call", e2e.send_ms, "–", False),
        row("Invoke call (whole round trip)", e2e.invoke_call_ms, "–", False),
    ]
    L.append(markdown_table(["Path", "Samples", "p50 ms", "p99 ms", "max ms", "min ms",
                             "p50 ÷ floor", "p99 ÷ floor", "Lost"], rows, "lrrrrrrrr"))
    L.append("")
    L.append(f"- Environments: {env}; warm-up: {e2e.warmup_note}")
    L.append("")

    L.append("### Draining a queue")
    L.append("")
    L.append(
        f"{args.drain_messages:,} messages sent up front in batches of {BATCH} "
        f"({FILL_THREADS} threads) to a fresh queue, then a mapping with `BatchSize` "
        f"{BATCH} created on it. Times run from the `create_event_source_mapping` call: "
        "to the first and the last handler start, and to the queue reading empty (no "
        "visible and no in-flight messages: every batch deleted). *Messages/s* = "
        "distinct messages handled ÷ time to the last handler start. *Deliveries* "
        "counts handler records, so more than the messages means redeliveries. The "
        "function's environments carry over from the run above and from round to round.")
    L.append("")
    rows = []
    for i, d in enumerate(drains):
        env = "–" if None in d.environments else f"{d.environments[0]} → {d.environments[1]}"
        rows.append([
            str(i + 1), f"{d.messages:,}", f"{d.send_s:.2f} s", f"{d.handled:,}",
            f"{d.deliveries:,}", f"{d.first_s * 1000:.0f} ms" if d.first_s == d.first_s else "–",
            f"{d.last_s:.2f} s" if d.last_s == d.last_s else "–",
            f"{d.empty_s:.2f} s" if d.empty_s is not None else "not empty",
            num(d.per_s), env,
        ])
    L.append(markdown_table(["Round", "Messages", "Sending", "Handled", "Deliveries",
                             "First handler", "Last handler", "Queue empty", "Messages/s",
                             "Environments"], rows, "rrrrrrrrrl"))
    L.append("")
    if drains:
        L.append(f"Median: {num(median([d.per_s for d in drains]))} messages/s drained.")
        L.append("")


def report(meta: dict, points: dict, fanout: dict, fanout_failed: dict, fanout_skipped,
           e2e: E2ERun | None, drains: list[DrainRun], args, interpreter: str,
           health_after: str) -> str:
    L: list[str] = []
    L.append("# Eddy SQS, event source mapping and SNS fan-out benchmark")
    L.append("")
    for k, v in meta.items():
        L.append(f"- {k}: {v}")
    L.append("")
    if points:
        api_section(L, points, args)
    fanout_section(L, fanout, fanout_failed, fanout_skipped, args)
    if e2e is not None:
        mapping_section(L, e2e, drains, args, interpreter)
    L.append(f"Eddy health after the run: `{health_after}`")
    L.append("")
    return "\n".join(L)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(
        description="Benchmarks Eddy's SQS and SNS fan-out against moto, and its event "
                    "source mappings against a direct invoke.")
    ap.add_argument("--eddy", default="target/release/eddy", help="the Eddy binary")
    ap.add_argument("--moto-server", default=None,
                    help="moto's server [default: moto_server next to this Python]")
    ap.add_argument("--python", default=None,
                    help="interpreter Eddy runs the python3.12 function with "
                         "[default: the real binary behind this Python, past venv and shims]")
    ap.add_argument("--seconds", type=float, default=None,
                    help="seconds measured per API point [5; 1 with --quick]")
    ap.add_argument("--warmup", type=float, default=None,
                    help="unmeasured seconds before each API point [1; 0.5 with --quick]")
    ap.add_argument("--rounds", type=int, default=None,
                    help="times each API point, fan-out run and drain is measured "
                         "[3; 1 with --quick]")
    ap.add_argument("--e2e-count", type=int, default=None,
                    help="messages (and as many direct invokes) in the send-to-handler run "
                         "[200; 50 with --quick]")
    ap.add_argument("--e2e-warmup", type=int, default=None,
                    help="unmeasured messages and invokes before it [10; 3 with --quick]")
    ap.add_argument("--gap", type=float, default=0.01,
                    help="seconds paused after each message and each invoke [0.01]")
    ap.add_argument("--drain-messages", type=int, default=None,
                    help="messages queued before the drain mapping starts "
                         "[2000; 500 with --quick]")
    ap.add_argument("--drain-timeout", type=float, default=120.0,
                    help="seconds to wait for a drain to finish [120]")
    ap.add_argument("--fanout-messages", type=int, default=None,
                    help="SNS publishes per fan-out run [1000; 50 with --quick]")
    ap.add_argument("--fanout-timeout", type=float, default=60.0,
                    help="seconds after the last publish to wait for every queue [60]")
    ap.add_argument("--fill-seconds", type=float, default=None,
                    help="longest time spent preparing the messages of one delete point "
                         "[3 × --seconds]")
    ap.add_argument("--quick", action="store_true", help="smoke test, about a minute")
    ap.add_argument("--tmp-dir", default=None, help="where the data dirs go [TMPDIR]")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    args = ap.parse_args()
    q = args.quick
    args.seconds = args.seconds or (1.0 if q else 5.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if q else 1.0)
    args.rounds = args.rounds or (1 if q else 3)
    args.e2e_count = args.e2e_count or (50 if q else 200)
    args.e2e_warmup = args.e2e_warmup if args.e2e_warmup is not None else (3 if q else 10)
    args.drain_messages = args.drain_messages or (500 if q else 2000)
    args.fanout_messages = args.fanout_messages or (50 if q else 1000)
    args.fill_seconds = args.fill_seconds or 3 * args.seconds

    eddy_bin = find_eddy_bin(args.eddy, "cargo build --release -p eddy")
    if eddy_bin is None:
        return 2
    moto_bin = find_moto_bin(args.moto_server)
    if moto_bin is None:
        return 2
    # Eddy would otherwise start `python3`, which may be a version manager's shim that
    # adds a shell script to every cold start; this process's interpreter is real.
    python = args.python or os.path.realpath(sys.executable)
    interpreter = command_output([python, "--version"]) or python

    import moto  # only for its version; the server is a separate process

    t_begin = time.monotonic()
    load = load_average()
    work = Path(tempfile.mkdtemp(prefix="eddy-sqs-bench-", dir=args.tmp_dir))
    eddy_dir = work / "eddy-data"
    eddy_dir.mkdir()
    eddy = moto_srv = None
    try:
        meta = run_meta(eddy_bin, work, load, moto.__version__)
        meta.update({"Function interpreter": interpreter})
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
        progress("creating queues on both servers")
        targets = [SqsTarget("Eddy", eddy), SqsTarget("moto", moto_srv)]
        points = bench_api(targets, args)

        skipped = sns_available(eddy)
        if skipped is None:
            fanout, fanout_failed = bench_fanout([("Eddy", eddy), ("moto", moto_srv)], args)
        else:
            progress(f"SNS fan-out skipped: Eddy does not answer SNS ({skipped})")
            fanout, fanout_failed = {}, {}
        # moto is done; stopping it now leaves the machine to Eddy and its functions.
        moto_srv.stop()
        moto_srv = None

        e2e, drains = bench_mappings(eddy, work, args)
        health = eddy_health(eddy.endpoint)
        meta["Eddy warnings and errors logged during the run"] = problems_summary(log_problems(eddy))
        meta["Load average when the run ended"] = load_average()
        meta["Total run time"] = f"{time.monotonic() - t_begin:.0f} s"
        text = report(meta, points, fanout, fanout_failed, skipped, e2e, drains, args,
                      interpreter, health)
    except BaseException:
        show_server_logs(eddy, moto_srv)
        raise
    finally:
        stop_servers(moto_srv, eddy)
        shutil.rmtree(work, ignore_errors=True)

    return emit_report(text, args.out)


if __name__ == "__main__":
    sys.exit(main())
