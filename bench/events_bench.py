#!/usr/bin/env python3
"""EventBridge and Scheduler benchmark for Eddy.

Measures, each next to a baseline measured in the same run on the same machine:

- PutEvents throughput and latency on a bus with 100 pattern rules, Eddy against
  moto's server (`moto_server`) driven by exactly the same boto3 client code; and,
  on Eddy only, the same load when the matching rule has a target, so every event
  goes through the durable delivery outbox, with the time the outbox takes to drain;
- the pattern matcher in-process (`cargo run --release -p pattern --example bench`),
  whose output is included as printed;
- how late Scheduler schedules fire: 10,000 one-time `at()` schedules spread over a
  window, then 1,000 due in the same second, each on a fresh server, read from the
  `timers` section of Eddy's health document; the baseline is how late this
  process's own `time.sleep` wake-ups to absolute times are.

It prints a Markdown report and optionally writes it to a file. It installs
nothing; it uses the same virtualenv as bench/s3_bench.py, whose helpers it imports:

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -r bench/requirements.txt
    .venv-bench/bin/python bench/events_bench.py [--quick] [--out FILE]

Every server it starts listens on 127.0.0.1 only, gets a fresh temporary
directory, and is stopped by pid (SIGTERM, then SIGKILL); the directories are
removed at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from s3_bench import (  # noqa: E402
    EDDY_LISTEN_RE,
    MOTO_LISTEN_RE,
    REPO_ROOT,
    ROLE_ARN,
    Point,
    Server,
    command_output,
    eddy_health,
    emit_report,
    find_eddy_bin,
    find_moto_bin,
    load_average,
    log_problems,
    make_client,
    markdown_table,
    num,
    percentile,
    problems_summary,
    ratio,
    run_meta,
    run_point,
    run_threads,
    show_server_logs,
    stop_servers,
    wait_healthy,
)

ACCOUNT_ID = "000000000000"
REGION = "us-east-1"

# The rules every PutEvents point runs against: rule i is
# {"source": ["shop-<i>"], "detail": {"total": [{"numeric": [">", i]}]}}.
RULES = 100
# Every event sent has this rule's source and a total above its threshold, so exactly
# one rule matches it.
MATCH_RULE = 42
EVENT_SOURCE = f"shop-{MATCH_RULE}"
EVENT_TOTAL = MATCH_RULE + 8
# (entries per PutEvents call, concurrent callers)
PUT_POINTS = [(1, 1), (10, 1), (10, 8)]
# The Eddy-only point with a target on the matching rule.
TARGET_POINT = (10, 8)

# The target for firing lateness with 10,000 active schedules.
LATE_P99_TARGET_MS = 10.0
CREATE_THREADS = 8
# Polling interval of the health document while waiting; it is one cheap GET.
HEALTH_POLL_S = 0.5


def progress(msg: str) -> None:
    print(f"events-bench: {msg}", file=sys.stderr, flush=True)


def health(endpoint: str) -> dict | None:
    try:
        return json.loads(eddy_health(endpoint))
    except ValueError:
        return None


def bus_arn(name: str) -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{name}"


def start_eddy(eddy_bin: Path, work: Path, name: str) -> Server:
    data = work / f"{name}-data"
    data.mkdir()
    env = dict(os.environ, EDDY_LOG_LEVEL="warn")
    eddy = Server(name, [str(eddy_bin), "server", "--listen", "127.0.0.1:0",
                         "--data-dir", str(data), "--sdk-install", "false"],
                  work / f"{name}.log", EDDY_LISTEN_RE, env=env)
    wait_healthy(eddy.endpoint)
    return eddy


# --------------------------------------------------------------------------
# Timer baseline: this machine's own wake-up lateness
# --------------------------------------------------------------------------


@dataclass
class SleepRun:
    when: str
    late_ms: list[float]  # sorted
    spacing_ms: float


def sleep_lateness(when: str, count: int, spacing_s: float) -> SleepRun:
    """`count` sleeps, each until an absolute wall-clock time `spacing_s` after the
    previous one; lateness = the wall clock on waking − the target."""
    progress(f"sleep baseline ({when}): {count} wake-ups {spacing_s * 1000:g} ms apart")
    late = []
    t0 = time.time() + 0.05
    for i in range(count):
        target = t0 + i * spacing_s
        delay = target - time.time()
        if delay > 0:
            time.sleep(delay)
        late.append((time.time() - target) * 1000.0)
    return SleepRun(when, sorted(late), spacing_s * 1000.0)


# --------------------------------------------------------------------------
# Matcher (in-process, Rust)
# --------------------------------------------------------------------------


@dataclass
class MatcherRun:
    command: str
    ok: bool
    output: str
    seconds: float


def run_matcher(timeout_s: float) -> MatcherRun:
    cmd = ["cargo", "run", "--release", "-q", "-p", "pattern", "--example", "bench"]
    progress(f"matcher: {' '.join(cmd)} (builds it first if needed)")
    t0 = time.monotonic()
    try:
        out = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=timeout_s)
    except FileNotFoundError as e:
        return MatcherRun(" ".join(cmd), False, f"could not run cargo: {e}", 0.0)
    except subprocess.TimeoutExpired as e:
        text = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) \
            else (e.stdout or "")
        return MatcherRun(" ".join(cmd), False,
                          f"timed out after {timeout_s:g} s; output so far:\n{text}",
                          time.monotonic() - t0)
    elapsed = time.monotonic() - t0
    if out.returncode != 0:
        return MatcherRun(" ".join(cmd), False,
                          f"exit status {out.returncode}; stderr:\n{out.stderr.strip()[-3000:]}"
                          + (f"\nstdout:\n{out.stdout.strip()[-2000:]}" if out.stdout.strip() else ""),
                          elapsed)
    return MatcherRun(" ".join(cmd), True, out.stdout.rstrip("\n"), elapsed)


# --------------------------------------------------------------------------
# PutEvents
# --------------------------------------------------------------------------


def rule_pattern(i: int) -> str:
    return json.dumps({"source": [f"shop-{i}"], "detail": {"total": [{"numeric": [">", i]}]}})


class EventsTarget:
    """One EventBridge server under load: a bus of its own with the 100 rules, and its
    clients (the same code for Eddy and moto)."""

    def __init__(self, name: str, server: Server):
        self.name = name
        self.server = server
        concurrencies = sorted({c for _, c in PUT_POINTS + [TARGET_POINT]})
        self.clients = {c: [make_client("events", server.endpoint, 1) for _ in range(c)]
                        for c in concurrencies}
        admin = self.clients[1][0]
        self.bus = f"bench-{uuid.uuid4().hex[:10]}"
        admin.create_event_bus(Name=self.bus)
        for i in range(RULES):
            admin.put_rule(Name=f"rule-{i}", EventBusName=self.bus, EventPattern=rule_pattern(i))
        # Every accepted event, counted per worker (warm-up included), for the drain rate.
        self.accepted = [0] * max(concurrencies)

    def ops(self, entries_n: int, c: int) -> list:
        bus, accepted = self.bus, self.accepted

        def put_op(cl, w):
            entries = [{"Source": EVENT_SOURCE, "DetailType": "order", "EventBusName": bus,
                        "Detail": json.dumps({"total": EVENT_TOTAL, "worker": w, "n": j})}
                       for j in range(entries_n)]

            def op(i: int) -> None:
                r = cl.put_events(Entries=entries)
                if r["FailedEntryCount"]:
                    bad = next(e for e in r["Entries"] if "ErrorCode" in e)
                    raise RuntimeError(f"{r['FailedEntryCount']} of {entries_n} entries failed: "
                                       f"{bad['ErrorCode']}: {bad.get('ErrorMessage', '')}")
                accepted[w] += entries_n
            return op

        return [put_op(cl, w) for w, cl in enumerate(self.clients[c])]

    def point(self, entries_n: int, c: int, args, label: str | None = None) -> Point:
        progress(f"{label or self.name}: PutEvents {entries_n} entr{'y' if entries_n == 1 else 'ies'}"
                 f"/call x{c}")
        # Point.size holds entries per call, so Point.ops * size is events.
        p = Point(label or self.name, "PutEvents", entries_n, c, args.seconds)
        return run_point(p, self.ops(entries_n, c), args.warmup, self.server)


def events_per_s(p: Point) -> float:
    return p.ops * p.size / p.seconds


@dataclass
class OutboxRun:
    point: Point
    accepted: int  # events accepted from the first call, warm-up included
    pending_at_end: int | None
    drain_s: float  # last call returned → deliveries_pending == 0
    total_s: float  # first call → deliveries_pending == 0
    drained: bool


def wait_drained(endpoint: str, timeout_s: float) -> tuple[bool, float]:
    t0 = time.perf_counter()
    while True:
        h = health(endpoint)
        if h is not None and h.get("deliveries_pending") == 0:
            return True, time.perf_counter() - t0
        if time.perf_counter() - t0 > timeout_s:
            return False, time.perf_counter() - t0
        time.sleep(0.005)


def bench_put_events(eddy: Server, moto_srv: Server, args) -> tuple[dict, list[OutboxRun]]:
    """The Eddy-vs-moto points, `args.rounds` times; in each round the two servers take
    turns at every point (who goes first alternates), so a slow spell of this shared
    machine lands on neighbouring measurements of both."""
    progress(f"PutEvents: creating a bus with {RULES} rules on Eddy and on moto")
    targets = [EventsTarget("Eddy", eddy), EventsTarget("moto", moto_srv)]
    points: dict[tuple[str, int, int], list[Point]] = {}
    for r in range(args.rounds):
        progress(f"PutEvents: round {r + 1} of {args.rounds}")
        order = targets if r % 2 == 0 else targets[::-1]
        for entries_n, c in PUT_POINTS:
            for t in order:
                points.setdefault((t.name, entries_n, c), []).append(t.point(entries_n, c, args))
    moto_srv.stop()

    # The matching rule gets a target: another bus with no rules, so a delivery costs
    # one outbox round trip and nothing else.
    eddy_t = targets[0]
    admin = eddy_t.clients[1][0]
    sink = f"sink-{uuid.uuid4().hex[:10]}"
    admin.create_event_bus(Name=sink)
    r = admin.put_targets(Rule=f"rule-{MATCH_RULE}", EventBusName=eddy_t.bus,
                          Targets=[{"Id": "sink", "Arn": bus_arn(sink), "RoleArn": ROLE_ARN}])
    if r.get("FailedEntryCount"):
        raise RuntimeError(f"put_targets failed: {r['FailedEntries']}")
    ok, _ = wait_drained(eddy.endpoint, 60)
    if not ok:
        raise RuntimeError("deliveries_pending never reached 0 before the outbox point")
    outbox = []
    entries_n, c = TARGET_POINT
    for r in range(args.rounds):
        eddy_t.accepted[:] = [0] * len(eddy_t.accepted)
        t_first = time.perf_counter()
        p = eddy_t.point(entries_n, c, args, label="Eddy + target")
        h = health(eddy.endpoint)
        pending = h.get("deliveries_pending") if h else None
        t_last = time.perf_counter()
        progress(f"outbox: {pending} deliveries pending after the load; waiting for 0")
        drained, drain_s = wait_drained(eddy.endpoint, args.drain_timeout)
        outbox.append(OutboxRun(p, sum(eddy_t.accepted), pending, drain_s,
                                (t_last - t_first) + drain_s, drained))
        if not drained:
            progress(f"outbox: still {health(eddy.endpoint)} after {args.drain_timeout:g} s")
            break
    return points, outbox


# --------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------


@dataclass
class SchedulePhase:
    name: str
    count: int
    window_s: int
    lead_s: float
    pilot_count: int = 0
    pilot_rate: float = float("nan")  # creates/s measured by the pilot
    created: int = 0
    create_s: float = float("nan")
    create_errors: int = 0
    first_create_error: str = ""
    first_due: float = float("nan")  # epoch s
    actual_lead_s: float = float("nan")  # creation finished → first due time
    armed_before: int | None = None
    fired: int | None = None
    late_p50: float = float("nan")
    late_p99: float = float("nan")
    late_max: float = float("nan")
    all_fired_after_last_due_s: float = float("nan")
    drain_s: float = float("nan")
    server_log: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def at_expression(epoch_s: int) -> str:
    return f"at({datetime.fromtimestamp(epoch_s, timezone.utc):%Y-%m-%dT%H:%M:%S})"


def schedule_target() -> dict:
    return {
        "Arn": bus_arn("default"),
        "RoleArn": ROLE_ARN,
        "EventBridgeParameters": {"DetailType": "tick", "Source": "bench"},
        "Input": "{}",
    }


def create_many(clients: list, items: list[tuple[str, str, str]], label: str
                ) -> tuple[int, float, int, str]:
    """Creates (name, expression, state) schedules from len(clients) threads; returns
    (created, seconds, errors, first error)."""
    lock = threading.Lock()
    done = [0]
    errors = [0]
    first = [""]
    target = schedule_target()

    def worker(w: int) -> None:
        cl = clients[w]
        for name, expr, state in items[w::len(clients)]:
            try:
                cl.create_schedule(Name=name, ScheduleExpression=expr, State=state,
                                   FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
                with lock:
                    done[0] += 1
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    errors[0] += 1
                    first[0] = first[0] or f"{type(e).__name__}: {e}"[:400]

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(w,), daemon=True)
               for w in range(len(clients))]
    for t in threads:
        t.start()
    last = time.perf_counter()
    while any(t.is_alive() for t in threads):
        time.sleep(0.1)
        if time.perf_counter() - last >= 2.0:
            last = time.perf_counter()
            with lock:
                d, e = done[0], errors[0]
            progress(f"{label}: {d} of {len(items)} created"
                     + (f", {e} errors" if e else "")
                     + f" ({d / (last - t0):.0f}/s)")
    for t in threads:
        t.join()
    return done[0], time.perf_counter() - t0, errors[0], first[0]


def delete_many(clients: list, names: list[str]) -> None:
    def worker(w: int) -> None:
        for name in names[w::len(clients)]:
            clients[w].delete_schedule(Name=name)

    run_threads([threading.Thread(target=worker, args=(w,)) for w in range(len(clients))])


def schedule_phase(eddy_bin: Path, work: Path, name: str, count: int, window_s: int,
                   lead_s: float, args) -> SchedulePhase:
    """`count` one-time schedules on a fresh server, due evenly over `window_s` whole
    seconds (all in one second when it is 0), the first `lead_s` after creation ends."""
    ph = SchedulePhase(name, count, window_s, lead_s)
    progress(f"{name}: starting a fresh Eddy")
    eddy = start_eddy(eddy_bin, work, f"eddy-{name}")
    try:
        run_schedule_phase(eddy, ph, args)
    except BaseException:
        # The data dir and log go at the end of the run; show what the server said.
        progress(f"last output of {eddy.name}:\n{eddy.log_path.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        eddy.stop()
        ph.server_log = log_problems(eddy)
    return ph


def run_schedule_phase(eddy: Server, ph: SchedulePhase, args) -> None:
    clients = [make_client("scheduler", eddy.endpoint, 1) for _ in range(CREATE_THREADS)]
    # The due times must be fixed before the first create, yet lie after the last one:
    # a pilot batch of disabled schedules (never armed) gives the creation rate, and is
    # deleted again so the server holds exactly `count` schedules.
    # Its first fifth is not timed: new connections and a cold server would make the
    # estimate several times too long.
    ph.pilot_count = max(50, min(500, ph.count // 20))
    far = at_expression(int(time.time()) + 86_400)
    pilot = [(f"pilot-{i:05d}", far, "DISABLED") for i in range(ph.pilot_count)]
    warm = ph.pilot_count // 5
    for part in (pilot[:warm], pilot[warm:]):
        created, secs, errs, first = create_many(clients, part, f"{ph.name} pilot")
        if errs:
            raise RuntimeError(f"{ph.name}: {errs} pilot creates failed, first: {first}")
    ph.pilot_rate = created / secs
    delete_many(clients, [n for n, _, _ in pilot])
    # 1.3x the pilot's estimate plus 1 s, so a slower stretch still ends before the lead.
    estimate_s = ph.count / ph.pilot_rate
    first_due = math.ceil(time.time() + estimate_s * 1.3 + 1 + ph.lead_s)
    ph.first_due = first_due
    spread = max(ph.window_s, 1)
    dues = [first_due + (i * ph.window_s) // ph.count if ph.window_s else first_due
            for i in range(ph.count)]
    last_due = dues[-1]
    progress(f"{ph.name}: pilot {ph.pilot_rate:.0f} creates/s; creating {ph.count} schedules "
             f"(estimate {estimate_s:.1f} s), due from "
             f"{datetime.fromtimestamp(first_due, timezone.utc):%H:%M:%S} UTC over {spread} s")
    items = [(f"s{i:06d}", at_expression(d), "ENABLED") for i, d in enumerate(dues)]
    ph.created, ph.create_s, ph.create_errors, ph.first_create_error = create_many(
        clients, items, ph.name)
    ph.actual_lead_s = first_due - time.time()
    progress(f"{ph.name}: {ph.created} created in {ph.create_s:.1f} s "
             f"({ph.created / ph.create_s:.0f}/s), {ph.create_errors} errors; "
             f"first due in {ph.actual_lead_s:.1f} s")
    if ph.create_errors:
        progress(f"{ph.name}: first create error: {ph.first_create_error}")
    if ph.actual_lead_s < 1:
        ph.notes.append(f"creation ended only {ph.actual_lead_s:.1f} s before the first due "
                        "time, so the firings overlapped creation")
    h = health(eddy.endpoint)
    ph.armed_before = h["timers"]["armed"] if h else None
    progress(f"{ph.name}: timers.armed = {ph.armed_before} (expected {ph.created})")

    expected = ph.created
    deadline = last_due + args.fire_timeout
    fired_at = None
    last_print = 0.0
    while time.time() < deadline:
        # Sleep through the lead without polling, so the server is idle until due.
        if time.time() < first_due - 1:
            time.sleep(min(1.0, first_due - 1 - time.time()))
            continue
        h = health(eddy.endpoint)
        fired = h["timers"]["fired"] if h else 0
        if fired >= expected:
            fired_at = time.time()
            break
        if time.time() - last_print >= 5:
            last_print = time.time()
            progress(f"{ph.name}: {fired} of {expected} fired, {h['timers']['armed'] if h else '?'} armed")
        time.sleep(HEALTH_POLL_S)
    h = health(eddy.endpoint)
    if h:
        t = h["timers"]
        ph.fired = t["fired"]
        ph.late_p50, ph.late_p99, ph.late_max = (t["late_ms"]["p50"], t["late_ms"]["p99"],
                                                 t["late_ms"]["max"])
    if fired_at is None:
        ph.notes.append(f"only {ph.fired} of {expected} fired by {args.fire_timeout:g} s after "
                        "the last due time")
    else:
        # Bounded below by the poll interval; it says whether firing kept up.
        ph.all_fired_after_last_due_s = fired_at - last_due
    ok, ph.drain_s = wait_drained(eddy.endpoint, args.drain_timeout)
    if not ok:
        ph.notes.append(f"deliveries_pending was still above 0 {args.drain_timeout:g} s after "
                        "the last firing")
    progress(f"{ph.name}: fired {ph.fired}, late p50 {ph.late_p50} ms, p99 {ph.late_p99} ms, "
             f"max {ph.late_max} ms")


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def ms(x: float) -> str:
    """Eddy's lateness figures are whole milliseconds; show them so."""
    return str(int(x)) if x == x and float(x).is_integer() else num(x)


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def put_events_section(L: list[str], points: dict, outbox: list[OutboxRun], args) -> None:
    L.append("## PutEvents, Eddy vs moto")
    L.append("")
    L.append(
        f"A custom bus with {RULES} rules, rule *i* having the pattern "
        "`{\"source\":[\"shop-i\"],\"detail\":{\"total\":[{\"numeric\":[\">\",i]}]}}` and no "
        f"targets. Every event has source `{EVENT_SOURCE}` and total {EVENT_TOTAL}, so exactly "
        f"one rule matches it. Closed loop, one boto3 client per worker thread, retries off; "
        f"a call counts only if no entry failed. {args.rounds} round(s) of {args.seconds:g} s "
        f"per point after {args.warmup:g} s warm-up, Eddy and moto taking turns at each point. "
        "*Calls/s* is the median over rounds (range in brackets), *events/s* = calls/s × "
        "entries per call; latencies are pooled over rounds. *Server CPU* is the server "
        "process's CPU time per event; *client cores* is this Python process's CPU time "
        "divided by the window (its threads share one interpreter lock, so near 1.0 the "
        "client sets the pace); *busy* is the whole machine (100% = every core).")
    L.append("")
    rows = []
    for entries_n, c in PUT_POINTS:
        for target in ("Eddy", "moto"):
            ps = points.get((target, entries_n, c), [])
            if not ps:
                continue
            rates = [p.ops_per_s for p in ps]
            lat = sorted(x for p in ps for x in p.latencies_ms)
            ev = sum(p.ops * p.size for p in ps)
            cpu = sum(p.server_cpu_s for p in ps)
            rows.append([
                str(entries_n), str(c), target,
                f"{num(median(rates))} [{num(min(rates))}–{num(max(rates))}]",
                num(median(rates) * entries_n),
                num(percentile(lat, 50)), num(percentile(lat, 99)),
                num(cpu / ev * 1e6) if ev else "–",
                f"{median([p.client_cpu_s / p.seconds for p in ps]):.2f}",
                f"{median([p.busy_fraction for p in ps]) * 100:.0f}%",
                str(sum(p.errors for p in ps)),
            ])
    L.append(markdown_table(
        ["Entries/call", "Conc.", "Target", "Calls/s", "Events/s", "p50 ms", "p99 ms",
         "Server CPU µs/event", "Client cores", "Busy", "Errors"], rows, "rrlrrrrrrrr"))
    L.append("")
    client_bound = [f"{t} {e}/call x{c}" for (t, e, c), ps in points.items()
                    if median([p.client_cpu_s / p.seconds for p in ps]) >= 0.85]
    if client_bound:
        L.append("Client cores at or above 0.85 (the Python client, not the server, likely "
                 f"set the pace): {', '.join(client_bound)}.")
        L.append("")
    for (target, entries_n, c), ps in points.items():
        first = next((p.first_error for p in ps if p.first_error), "")
        if first:
            L.append(f"- First error, {target} {entries_n}/call x{c}: `{first}`")
    L.append("")
    L.append("### Ratios")
    L.append("")
    L.append("Eddy ÷ moto at the same point in the same run: throughput above 1 and latency "
             "below 1 favour Eddy. *Per round* is the range of the ratio of the two "
             "neighbouring measurements in each round.")
    L.append("")
    rows = []
    for entries_n, c in PUT_POINTS:
        e = points.get(("Eddy", entries_n, c), [])
        m = points.get(("moto", entries_n, c), [])
        if not e or not m:
            continue
        el = sorted(x for p in e for x in p.latencies_ms)
        ml = sorted(x for p in m for x in p.latencies_ms)
        per_round = [a.ops_per_s / b.ops_per_s for a, b in zip(e, m) if b.ops_per_s]
        rows.append([
            str(entries_n), str(c),
            ratio(median([p.ops_per_s for p in e]), median([p.ops_per_s for p in m])),
            (f"{min(per_round):.2f}–{max(per_round):.2f}×" if per_round else "–"),
            ratio(percentile(el, 50), percentile(ml, 50)),
            ratio(percentile(el, 99), percentile(ml, 99)),
        ])
    L.append(markdown_table(["Entries/call", "Conc.", "Throughput ÷ moto", "Per round",
                             "p50 ÷ moto", "p99 ÷ moto"], rows, "rrrrrr"))
    L.append("")

    L.append("### With a target: through the delivery outbox (Eddy only)")
    L.append("")
    entries_n, c = TARGET_POINT
    L.append(
        f"The same load ({entries_n} entries per call, {c} callers) after rule "
        f"`rule-{MATCH_RULE}` got one target, another custom event bus with no rules, so "
        "every accepted event is committed as an outbox delivery in PutEvents' "
        "transaction and then delivered. *Pending at end* is `deliveries_pending` from "
        "`/_eddy/health` right after the last call; *drain* runs from then until it reads 0 "
        "(polled every 5 ms; the first poll follows that read at once). *End to end* is every event accepted in the run (warm-up "
        "included) divided by the time from the first call until the outbox was empty. "
        "The *no target* row repeats the same point from the table above.")
    L.append("")
    rows = []
    base = points.get(("Eddy", entries_n, c), [])

    def cpu_cols(ps: list[Point]) -> list[str]:
        ev = sum(p.ops * p.size for p in ps)
        return [num(sum(p.server_cpu_s for p in ps) / ev * 1e6) if ev else "–",
                f"{median([p.client_cpu_s / p.seconds for p in ps]):.2f}",
                f"{median([p.busy_fraction for p in ps]) * 100:.0f}%"]

    if base:
        lat = sorted(x for p in base for x in p.latencies_ms)
        rows.append(["no target (median)", num(median([events_per_s(p) for p in base])),
                     num(percentile(lat, 50)), num(percentile(lat, 99)), *cpu_cols(base),
                     "–", "–", "–", "–", str(sum(p.errors for p in base))])
    for i, o in enumerate(outbox):
        p = o.point
        rows.append([
            f"target, round {i + 1}", num(events_per_s(p)), num(p.p(50)), num(p.p(99)),
            *cpu_cols([p]),
            str(o.pending_at_end) if o.pending_at_end is not None else "?",
            (f"{o.drain_s * 1000:.0f} ms" if o.drained else f"> {o.drain_s:.0f} s (not drained)"),
            f"{o.accepted:,}",
            num(o.accepted / o.total_s) if o.drained else "–",
            str(p.errors),
        ])
    L.append(markdown_table(["Run", "Events/s", "p50 ms", "p99 ms", "Server CPU µs/event",
                             "Client cores", "Busy", "Pending at end", "Drain",
                             "Events accepted", "End to end events/s", "Errors"],
                            rows, "lrrrrrrrrrrr"))
    L.append("")
    if outbox and base:
        with_t = median([events_per_s(o.point) for o in outbox])
        without = median([events_per_s(p) for p in base])
        L.append(f"Median events/s with the target ÷ without: {ratio(with_t, without)}; "
                 f"median drain {median([o.drain_s for o in outbox]) * 1000:.0f} ms.")
        L.append("")
    for o in outbox:
        if o.point.first_error:
            L.append(f"- First error with the target: `{o.point.first_error}`")
            L.append("")
            break


def report(meta: dict, sleeps: list[SleepRun], matcher: MatcherRun | None, points: dict,
           outbox: list[OutboxRun], phases: list[SchedulePhase], args) -> str:
    L: list[str] = []
    L.append("# Eddy EventBridge and Scheduler benchmark")
    L.append("")
    for k, v in meta.items():
        L.append(f"- {k}: {v}")
    L.append("")

    if points:
        put_events_section(L, points, outbox, args)

    L.append("## Pattern matcher (in-process)")
    L.append("")
    if matcher is None:
        L.append("Skipped (`--skip-matcher`).")
    elif matcher.ok:
        L.append(f"`{matcher.command}`, {matcher.seconds:.0f} s including any build, "
                 "output as printed:")
        L.append("")
        L.append("```")
        L.append(matcher.output)
        L.append("```")
    else:
        L.append(f"`{matcher.command}` did not produce a result, so there is no matcher "
                 "number in this run:")
        L.append("")
        L.append("```")
        L.append(matcher.output)
        L.append("```")
    L.append("")

    L.append("## Schedule firing lateness")
    L.append("")
    L.append(
        "Each phase runs on a fresh Eddy. Scheduler `create_schedule` from "
        f"{CREATE_THREADS} threads (one boto3 client each): one-time "
        "`at(yyyy-mm-ddThh:mm:ss)` schedules, `FlexibleTimeWindow` `OFF`, target the "
        "default event bus (no rules), so a firing costs one outbox delivery. `at()` has "
        "whole-second resolution, so a window of *W* s puts count/*W* schedules on each "
        "second. The due times are fixed before the first create: a pilot batch of "
        "disabled schedules (deleted again) gives the creation rate, and the window starts "
        f"about {args.lead:g} s after creation is expected to end. *Armed* is "
        "`timers.armed` from `/_eddy/health` after creation and before the first due time. "
        "*Late* is Eddy's own `timers.late_ms`: how long after its due time each firing "
        "was committed, in whole milliseconds, read once every schedule had fired. "
        f"*All fired* is when `timers.fired` (polled every {HEALTH_POLL_S:g} s) first "
        "reached the count, after the last due time.")
    L.append("")
    rows = []
    for ph in phases:
        rows.append([
            ph.name, f"{ph.count:,}",
            (f"{ph.window_s} s" if ph.window_s else "same second"),
            f"{ph.created:,}" + (f" ({ph.create_errors} errors)" if ph.create_errors else ""),
            f"{ph.create_s:.1f} s ({ph.created / ph.create_s:.0f}/s)" if ph.create_s == ph.create_s
            else "–",
            f"{ph.actual_lead_s:.1f} s",
            (str(ph.armed_before) + (" ✓" if ph.armed_before == ph.created else " ✗"))
            if ph.armed_before is not None else "?",
            f"{ph.fired:,}" if ph.fired is not None else "?",
            ms(ph.late_p50), ms(ph.late_p99), ms(ph.late_max),
            (f"{ph.all_fired_after_last_due_s:.1f} s"
             if ph.all_fired_after_last_due_s == ph.all_fired_after_last_due_s else "–"),
        ])
    L.append(markdown_table(
        ["Phase", "Schedules", "Window", "Created", "Creation", "Lead", "Armed",
         "Fired", "Late p50 ms", "Late p99 ms", "Late max ms", "All fired"],
        rows, "lrlrrrrrrrrr"))
    L.append("")
    for ph in phases:
        if ph.first_create_error:
            L.append(f"- {ph.name}: first create error: `{ph.first_create_error}`")
        for n in ph.notes:
            L.append(f"- {ph.name}: {n}")
        L.append(f"- {ph.name}: the timed part of the pilot ({ph.pilot_count - ph.pilot_count // 5} "
                 f"creates) ran at {ph.pilot_rate:.0f}/s; once all had fired, "
                 f"`deliveries_pending` read 0 after {ph.drain_s * 1000:.0f} ms")
    L.append("")

    L.append("### Baseline: this machine's wake-up lateness")
    L.append("")
    L.append(
        "This Python process sleeps to absolute wall-clock times (`time.sleep` until the "
        "target, then `time.time()` − target), with nothing else of the benchmark running. "
        "It is the scheduling noise a timer on this machine starts from; Eddy's numbers "
        "are whole milliseconds, these are not.")
    L.append("")
    rows = []
    for s in sleeps:
        rows.append([s.when, str(len(s.late_ms)), f"{s.spacing_ms:g} ms",
                     f"{percentile(s.late_ms, 50):.3f}", f"{percentile(s.late_ms, 99):.3f}",
                     f"{s.late_ms[-1]:.3f}"])
    L.append(markdown_table(["When", "Wake-ups", "Apart", "Late p50 ms", "Late p99 ms",
                             "Late max ms"], rows, "lrrrrr"))
    L.append("")
    if sleeps and phases:
        sp50 = median([percentile(s.late_ms, 50) for s in sleeps])
        sp99 = median([percentile(s.late_ms, 99) for s in sleeps])
        rows = [[ph.name, ratio(ph.late_p50, sp50), ratio(ph.late_p99, sp99)] for ph in phases]
        L.append("Eddy's lateness ÷ the sleep baseline (median of the baseline runs):")
        L.append("")
        L.append(markdown_table(["Phase", "p50 ÷ sleep p50", "p99 ÷ sleep p99"], rows, "lrr"))
        L.append("")

    L.append("### Target")
    L.append("")
    rows = []
    for ph in phases:
        if ph.window_s == 0:
            continue
        complete = ph.fired is not None and ph.fired >= ph.created and not ph.create_errors
        met = complete and ph.late_p99 < LATE_P99_TARGET_MS
        rows.append([f"firing p99 < {LATE_P99_TARGET_MS:g} ms late with {ph.created:,} active "
                     f"schedules ({ph.name})", f"{ms(ph.late_p99)} ms",
                     "yes" if met else "**no**"])
    L.append(markdown_table(["Target", "Measured", "Met"], rows, "lrl"))
    L.append("")
    return "\n".join(L)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(
        description="Benchmarks Eddy's EventBridge and Scheduler against moto and the machine.")
    ap.add_argument("--eddy", default="target/release/eddy", help="the Eddy binary")
    ap.add_argument("--moto-server", default=None,
                    help="moto's server [default: moto_server next to this Python]")
    ap.add_argument("--seconds", type=float, default=None,
                    help="seconds measured per PutEvents point [5; 1 with --quick]")
    ap.add_argument("--warmup", type=float, default=None,
                    help="unmeasured seconds before each point [1; 0.5 with --quick]")
    ap.add_argument("--rounds", type=int, default=None,
                    help="times each PutEvents point is measured [3; 1 with --quick]")
    ap.add_argument("--schedules", type=int, default=None,
                    help="schedules in the spread phase [10000; 1000 with --quick]")
    ap.add_argument("--window", type=int, default=None,
                    help="seconds the spread phase's due times cover [30; 10 with --quick]")
    ap.add_argument("--burst", type=int, default=None,
                    help="schedules due in the same second in the burst phase "
                         "[1000; 200 with --quick]")
    ap.add_argument("--lead", type=float, default=None,
                    help="seconds between the expected end of creation and the first due "
                         "time [20; 5 with --quick]")
    ap.add_argument("--sleeps", type=int, default=None,
                    help="wake-ups per sleep-baseline run [1000; 200 with --quick]")
    ap.add_argument("--fire-timeout", type=float, default=120.0,
                    help="seconds after the last due time to wait for every firing [120]")
    ap.add_argument("--drain-timeout", type=float, default=300.0,
                    help="seconds to wait for deliveries_pending to reach 0 [300]")
    ap.add_argument("--matcher-timeout", type=float, default=1800.0,
                    help="seconds allowed for the matcher example, build included [1800]")
    ap.add_argument("--skip-matcher", action="store_true", help="do not run the matcher example")
    ap.add_argument("--quick", action="store_true", help="smoke test, about two minutes")
    ap.add_argument("--tmp-dir", default=None, help="where the data dirs go [TMPDIR]")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    args = ap.parse_args()
    q = args.quick
    args.seconds = args.seconds or (1.0 if q else 5.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if q else 1.0)
    args.rounds = args.rounds or (1 if q else 3)
    args.schedules = args.schedules or (1000 if q else 10_000)
    args.window = args.window if args.window is not None else (10 if q else 30)
    args.burst = args.burst or (200 if q else 1000)
    args.lead = args.lead if args.lead is not None else (5.0 if q else 20.0)
    args.sleeps = args.sleeps or (200 if q else 1000)

    eddy_bin = find_eddy_bin(args.eddy, "cargo build --release -p eddy")
    if eddy_bin is None:
        return 2
    moto_bin = find_moto_bin(args.moto_server)
    if moto_bin is None:
        return 2

    import moto  # only for its version; the server is a separate process

    t_begin = time.monotonic()
    load = load_average()
    work = Path(tempfile.mkdtemp(prefix="eddy-events-bench-", dir=args.tmp_dir))
    eddy = moto_srv = None
    sleeps: list[SleepRun] = []
    try:
        meta = run_meta(eddy_bin, work, load, moto.__version__)
        meta.update({
            "Rust": command_output(["rustc", "--version"]) or "unknown",
        })
        progress(f"work dir {work}")

        sleeps.append(sleep_lateness("start of run", args.sleeps, 0.005))
        matcher = None if args.skip_matcher else run_matcher(args.matcher_timeout)

        progress("starting Eddy")
        eddy = start_eddy(eddy_bin, work, "eddy-put")
        progress("starting moto")
        moto_srv = Server("moto", [moto_bin, "-H", "127.0.0.1", "-p0"], work / "moto.log",
                          MOTO_LISTEN_RE)
        points, outbox = bench_put_events(eddy, moto_srv, args)
        moto_srv = None  # stopped by bench_put_events once its points were done
        eddy.stop()
        problems = {"PutEvents": log_problems(eddy)}
        eddy = None

        phases = [
            schedule_phase(eddy_bin, work, "spread", args.schedules, args.window, args.lead, args),
            schedule_phase(eddy_bin, work, "burst", args.burst, 0, args.lead, args),
        ]
        for ph in phases:
            problems[ph.name] = ph.server_log
        sleeps.append(sleep_lateness("end of run", args.sleeps, 0.005))

        for k, lines in problems.items():
            meta[f"Eddy warnings and errors logged ({k})"] = problems_summary(lines)
        meta["Load average when the run ended"] = load_average()
        meta["Total run time"] = f"{time.monotonic() - t_begin:.0f} s"
        text = report(meta, sleeps, matcher, points, outbox, phases, args)
    except BaseException:
        show_server_logs(eddy, moto_srv)
        raise
    finally:
        stop_servers(moto_srv, eddy)
        shutil.rmtree(work, ignore_errors=True)

    return emit_report(text, args.out)


if __name__ == "__main__":
    sys.exit(main())
