#!/usr/bin/env python3
"""SSM Parameter Store and Secrets Manager benchmark for Eddy.

Measures, each next to a baseline measured in the same run on the same machine:

- GetParameter (a String, and a SecureString with WithDecryption=true) and
  GetSecretValue throughput and latency through the API, at concurrency 1 and 8,
  Eddy against moto's server (`moto_server`) driven by exactly the same boto3
  client code;
- on Eddy only, the latency of the local parameters and secrets endpoint as a
  function sees it (`GET localhost:$PARAMETERS_SECRETS_EXTENSION_HTTP_PORT/...`),
  timed inside a python3.12 function: cache hits (default TTL) and cache misses
  (a second function with SSM_PARAMETER_STORE_TTL=0 and SECRETS_MANAGER_TTL=0),
  for a SecureString and a secret. The baseline is the same loop, in the same
  invocation, against a trivial HTTP server the handler starts on 127.0.0.1:
  the floor of an HTTP round trip from inside an environment.

It prints a Markdown report and optionally writes it to a file. It installs
nothing; it uses the same virtualenv as bench/s3_bench.py, whose helpers it imports:

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -r bench/requirements.txt
    .venv-bench/bin/python bench/params_bench.py [--quick] [--out FILE]

Functions get this virtualenv's packages (`--python-sdk-path`), so they have boto3.
Every server it starts listens on 127.0.0.1 only, gets a fresh temporary
directory, and is stopped by pid (SIGTERM, then SIGKILL); the directories are
removed at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets as pysecrets
import shutil
import sys
import sysconfig
import tempfile
import time
import urllib.parse
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
    show_server_logs,
    stop_servers,
    wait_healthy,
)

CONCURRENCY = [1, 8]

# What every server stores. The values carry a random token so a check that a
# response holds the right value cannot pass by accident.
TOKEN = pysecrets.token_hex(16)
STRING_NAME = "/bench/app/region"
STRING_VALUE = f"eu-west-1-{TOKEN}"
SECURE_NAME = "/bench/app/db-password"
SECURE_VALUE = f"pw-{TOKEN}-{pysecrets.token_hex(8)}"
SECRET_NAME = "bench/app/api-key"
SECRET_PASSWORD = f"key-{TOKEN}-{pysecrets.token_hex(8)}"
SECRET_VALUE = json.dumps({"username": "bench", "password": SECRET_PASSWORD})


@dataclass(frozen=True)
class ApiCase:
    """One API read the load points repeat."""

    key: str
    label: str
    value_bytes: int


API_CASES = [
    ApiCase("string", "GetParameter, String", len(STRING_VALUE)),
    ApiCase("secure", "GetParameter, SecureString, WithDecryption", len(SECURE_VALUE)),
    ApiCase("secret", "GetSecretValue", len(SECRET_VALUE)),
]

# The function the endpoint benchmark installs. Each invocation times, request by
# request, GETs against the targets it is given: Eddy's endpoint, and a trivial HTTP
# server of its own. Requests go round-robin over the targets (the starting target
# rotates), so a slow spell of the machine lands on all of them alike.
HANDLER_SOURCE = '''\
"""Times GETs from inside an environment; returns per-request latencies in µs."""
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

# About the size of a GetParameter answer, so both sides move similar bytes.
FLOOR_BODY = json.dumps({"Parameter": {"Name": "/floor", "Type": "String", "Value": "x" * 64,
                                       "Version": 1, "DataType": "text",
                                       "ARN": "arn:aws:ssm:us-east-1:000000000000:parameter/floor"},
                         "floor": True}).encode()


class Floor(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(FLOOR_BODY)))
        self.end_headers()
        self.wfile.write(FLOOR_BODY)

    def log_message(self, *args):
        pass


RAW_RESPONSE = (b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: "
                + str(len(FLOOR_BODY)).encode() + b"\\r\\nConnection: close\\r\\n\\r\\n"
                + FLOOR_BODY)

_floor = None
_raw = None


def floor_port():
    """Started on the first invocation and kept for the environment's life."""
    global _floor
    if _floor is None:
        _floor = HTTPServer(("127.0.0.1", 0), Floor)
        threading.Thread(target=_floor.serve_forever, daemon=True).start()
    return _floor.server_address[1]


def serve_raw(sock):
    while True:
        conn, _ = sock.accept()
        with conn:
            head = b""
            while b"\\r\\n\\r\\n" not in head:
                data = conn.recv(4096)
                if not data:
                    break
                head += data
            conn.sendall(RAW_RESPONSE)


def raw_port():
    """The same answer without http.server's parsing: reads to the blank line, writes."""
    global _raw
    if _raw is None:
        _raw = socket.socket()
        _raw.bind(("127.0.0.1", 0))
        _raw.listen(64)
        threading.Thread(target=serve_raw, args=(_raw,), daemon=True).start()
    return _raw.getsockname()[1]


# No proxy lookup: neither side should pay for one.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url, headers):
    req = urllib.request.Request(url, headers=headers)
    t0 = time.perf_counter()
    try:
        with OPENER.open(req, timeout=10) as r:
            body = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        body = e.read()
        status = e.code
    return (time.perf_counter() - t0) * 1e6, status, body


def handler(event, context):
    port = os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]
    token = {"X-Aws-Parameters-Secrets-Token": os.environ["AWS_SESSION_TOKEN"]}
    ports = {"floor": floor_port(), "raw": raw_port()}
    targets = []
    for t in event["targets"]:
        if t["kind"] in ports:
            targets.append((t["name"], f"http://{t['host']}:{ports[t['kind']]}/floor", {},
                            b'"floor"'))
        else:
            targets.append((t["name"], f"http://localhost:{port}{t['path']}", token,
                            t["expect"].encode()))
    errors = []

    def one(name, url, headers, expect):
        us, status, body = get(url, headers)
        if status != 200 or expect not in body:
            errors.append({"target": name, "url": url, "status": status,
                           "body": body[:1000].decode(errors="replace")})
            return None
        return round(us, 1)

    # The first request to each target: for the endpoint it fills this function's cache.
    first = {name: one(name, url, h, e) for name, url, h, e in targets}
    lat = {name: [] for name, _, _, _ in targets}
    k = len(targets)
    for i in range(event["n"]):
        for j in range(k):
            name, url, h, e = targets[(i + j) % k]
            us = one(name, url, h, e)
            if us is not None:
                lat[name].append(us)
    return {"first_us": first, "latencies_us": lat, "errors": errors[:5],
            "error_count": len(errors)}
'''

# (name in the report, how the handler reaches it)
FLOOR_TARGETS = [
    ("floor", {"kind": "floor", "host": "localhost"}),
    ("floor, 127.0.0.1", {"kind": "floor", "host": "127.0.0.1"}),
    ("raw socket", {"kind": "raw", "host": "localhost"}),
]
ENDPOINT_TARGETS = [
    ("SecureString", {"kind": "endpoint",
                      "path": "/systemsmanager/parameters/get?name="
                              + urllib.parse.quote(SECURE_NAME, safe="") + "&withDecryption=true",
                      "expect": SECURE_VALUE}),
    ("secret", {"kind": "endpoint",
                "path": "/secretsmanager/get?secretId=" + urllib.parse.quote(SECRET_NAME, safe=""),
                "expect": SECRET_PASSWORD}),
]
# (name in the report, the function's environment)
FUNCTIONS = [
    ("hit", {}),
    ("miss", {"SSM_PARAMETER_STORE_TTL": "0", "SECRETS_MANAGER_TTL": "0"}),
]


def progress(msg: str) -> None:
    print(f"params-bench: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# The API, Eddy vs moto
# --------------------------------------------------------------------------


class ApiTarget:
    """One server under load: the values above, and its clients (the same code for
    Eddy and moto)."""

    def __init__(self, name: str, server: Server):
        self.name = name
        self.server = server
        self.ssm = {c: [make_client("ssm", server.endpoint, 1) for _ in range(c)]
                    for c in CONCURRENCY}
        self.sm = {c: [make_client("secretsmanager", server.endpoint, 1) for _ in range(c)]
                   for c in CONCURRENCY}
        ssm, sm = self.ssm[1][0], self.sm[1][0]
        ssm.put_parameter(Name=STRING_NAME, Type="String", Value=STRING_VALUE)
        ssm.put_parameter(Name=SECURE_NAME, Type="SecureString", Value=SECURE_VALUE)
        sm.create_secret(Name=SECRET_NAME, SecretString=SECRET_VALUE)

    def ops(self, case: ApiCase, c: int) -> list:
        def make(cl):
            if case.key == "string":
                def op(i: int) -> None:
                    v = cl.get_parameter(Name=STRING_NAME)["Parameter"]["Value"]
                    if v != STRING_VALUE:
                        raise RuntimeError(f"GetParameter returned {v!r}")
            elif case.key == "secure":
                def op(i: int) -> None:
                    v = cl.get_parameter(Name=SECURE_NAME, WithDecryption=True)["Parameter"]["Value"]
                    if v != SECURE_VALUE:
                        raise RuntimeError(f"GetParameter returned {v!r}")
            else:
                def op(i: int) -> None:
                    v = cl.get_secret_value(SecretId=SECRET_NAME)["SecretString"]
                    if v != SECRET_VALUE:
                        raise RuntimeError(f"GetSecretValue returned {v!r}")
            return op

        clients = self.sm[c] if case.key == "secret" else self.ssm[c]
        return [make(cl) for cl in clients]

    def point(self, case: ApiCase, c: int, args) -> Point:
        progress(f"{self.name}: {case.label} x{c}")
        # Point.size holds the value's length in bytes.
        p = Point(self.name, case.key, case.value_bytes, c, args.seconds)
        return run_point(p, self.ops(case, c), args.warmup, self.server)


def bench_api(targets: list[ApiTarget], args) -> dict[tuple[str, str, int], list[Point]]:
    """Every point, `args.rounds` times; in each round the servers take turns at every
    point (who goes first alternates), so a slow spell of this shared machine lands on
    neighbouring measurements of both."""
    points: dict[tuple[str, str, int], list[Point]] = {}
    for r in range(args.rounds):
        progress(f"API: round {r + 1} of {args.rounds}")
        order = targets if r % 2 == 0 else targets[::-1]
        for case in API_CASES:
            for c in CONCURRENCY:
                for t in order:
                    points.setdefault((t.name, case.key, c), []).append(t.point(case, c, args))
    return points


# --------------------------------------------------------------------------
# The local endpoint, from inside a function (Eddy only)
# --------------------------------------------------------------------------


@dataclass
class EndpointResult:
    """Every invocation of one function: per target, latencies pooled over rounds."""

    function: str
    env: dict[str, str]
    latencies_us: dict[str, list[float]] = field(default_factory=dict)
    p50_per_round: dict[str, list[float]] = field(default_factory=dict)
    first_us: dict[str, float | None] = field(default_factory=dict)  # first invocation
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0
    invoke_ms: list[float] = field(default_factory=list)


def create_function(lam, name: str, env: dict[str, str]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", HANDLER_SOURCE)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE_ARN,
        Handler="app.handler",
        Code={"ZipFile": buf.getvalue()},
        Environment={"Variables": env},
        Timeout=120,
        MemorySize=256,
    )
    deadline = time.monotonic() + 30
    while lam.get_function_configuration(FunctionName=name).get("State") != "Active":
        if time.monotonic() > deadline:
            raise RuntimeError(f"function {name} never became Active")
        time.sleep(0.05)


def bench_endpoint(eddy: Server, args) -> list[EndpointResult]:
    lam = make_client("lambda", eddy.endpoint, 2)
    targets = FLOOR_TARGETS + ENDPOINT_TARGETS
    event = json.dumps({"n": args.requests,
                        "targets": [dict(t, name=name) for name, t in targets]})
    fns = []
    for label, env in FUNCTIONS:
        name = f"params-{label}-{uuid.uuid4().hex[:8]}"
        progress(f"endpoint: creating {name} (environment {env or 'default'})")
        create_function(lam, name, env)
        fns.append((name, EndpointResult(label, env)))
    for r in range(args.rounds):
        # The functions take turns, who goes first alternating.
        for name, res in (fns if r % 2 == 0 else fns[::-1]):
            progress(f"endpoint: {res.function}, invocation {r + 1} of {args.rounds} "
                     f"({args.requests} requests per target)")
            t0 = time.perf_counter()
            resp = lam.invoke(FunctionName=name, Payload=event.encode())
            body = resp["Payload"].read()
            res.invoke_ms.append((time.perf_counter() - t0) * 1000.0)
            if resp.get("FunctionError"):
                raise RuntimeError(f"{name} failed: {body.decode(errors='replace')[:2000]}")
            out = json.loads(body)
            if r == 0:
                res.first_us = out["first_us"]
            for t, lat in out["latencies_us"].items():
                res.latencies_us.setdefault(t, []).extend(lat)
                res.p50_per_round.setdefault(t, []).append(percentile(sorted(lat), 50))
            res.error_count += out["error_count"]
            # One example of each distinct failure is enough for the report.
            seen = {(e["target"], e["status"], e["body"]) for e in res.errors}
            for e in out["errors"]:
                if (e["target"], e["status"], e["body"]) not in seen and len(res.errors) < 5:
                    seen.add((e["target"], e["status"], e["body"]))
                    res.errors.append(e)
            if out["error_count"]:
                progress(f"endpoint: {out['error_count']} failed requests, first: "
                         f"{json.dumps(out['errors'][0])[:600]}")
    for _, res in fns:
        for t in res.latencies_us:
            res.latencies_us[t].sort()
    return [res for _, res in fns]


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def pooled(ps: list[Point]) -> list[float]:
    return sorted(x for p in ps for x in p.latencies_ms)


def api_section(L: list[str], points: dict, args) -> None:
    L.append("## Through the API, Eddy vs moto")
    L.append("")
    L.append(
        f"A String (`{STRING_NAME}`), a SecureString (`{SECURE_NAME}`, the account's "
        f"default key) and a secret (`{SECRET_NAME}`, a {len(SECRET_VALUE)}-byte JSON "
        "SecretString) on each server; every call is checked to return the stored value. "
        "Closed loop, one boto3 client per worker thread, retries off. "
        f"{args.rounds} round(s) of {args.seconds:g} s per point after {args.warmup:g} s "
        "warm-up, Eddy and moto taking turns at each point. *Calls/s* is the median over "
        "rounds (range in brackets); latencies are pooled over rounds. *Server CPU* is the "
        "server process's CPU time per call; *client cores* is this Python process's CPU "
        "time divided by the window (its threads share one interpreter lock, so near 1.0 "
        "the client sets the pace); *busy* is the whole machine (100% = every core).")
    L.append("")
    rows = []
    for case in API_CASES:
        for c in CONCURRENCY:
            for target in ("Eddy", "moto"):
                ps = points.get((target, case.key, c), [])
                if not ps:
                    continue
                rates = [p.ops_per_s for p in ps]
                lat = pooled(ps)
                calls = sum(p.ops for p in ps)
                cpu = sum(p.server_cpu_s for p in ps)
                rows.append([
                    case.label, str(c), target,
                    f"{num(median(rates))} [{num(min(rates))}–{num(max(rates))}]",
                    num(percentile(lat, 50)), num(percentile(lat, 99)),
                    num(cpu / calls * 1e6) if calls else "–",
                    f"{median([p.client_cpu_s / p.seconds for p in ps]):.2f}",
                    f"{median([p.busy_fraction for p in ps]) * 100:.0f}%",
                    str(sum(p.errors for p in ps)),
                ])
    L.append(markdown_table(
        ["Call", "Conc.", "Target", "Calls/s", "p50 ms", "p99 ms", "Server CPU µs/call",
         "Client cores", "Busy", "Errors"], rows, "lrlrrrrrrr"))
    L.append("")
    client_bound = [f"{t} {k} x{c}" for (t, k, c), ps in points.items()
                    if median([p.client_cpu_s / p.seconds for p in ps]) >= 0.85]
    if client_bound:
        L.append("Client cores at or above 0.85 (the Python client, not the server, likely "
                 f"set the pace): {', '.join(client_bound)}.")
        L.append("")
    for (target, key, c), ps in points.items():
        first = next((p.first_error for p in ps if p.first_error), "")
        if first:
            L.append(f"- First error, {target} {key} x{c}: `{first}`")
    L.append("")

    L.append("### Ratios")
    L.append("")
    L.append("Eddy ÷ moto at the same point in the same run: throughput above 1 and latency "
             "below 1 favour Eddy. *Per round* is the range of the throughput ratio of the "
             "two neighbouring measurements in each round.")
    L.append("")
    rows = []
    for case in API_CASES:
        for c in CONCURRENCY:
            e = points.get(("Eddy", case.key, c), [])
            m = points.get(("moto", case.key, c), [])
            if not e or not m:
                continue
            per_round = [a.ops_per_s / b.ops_per_s for a, b in zip(e, m) if b.ops_per_s]
            rows.append([
                case.label, str(c),
                ratio(median([p.ops_per_s for p in e]), median([p.ops_per_s for p in m])),
                (f"{min(per_round):.2f}–{max(per_round):.2f}×" if per_round else "–"),
                ratio(percentile(pooled(e), 50), percentile(pooled(m), 50)),
                ratio(percentile(pooled(e), 99), percentile(pooled(m), 99)),
            ])
    L.append(markdown_table(["Call", "Conc.", "Throughput ÷ moto", "Per round",
                             "p50 ÷ moto", "p99 ÷ moto"], rows, "lrrrrr"))
    L.append("")

    L.append("What decryption costs each server: SecureString with decryption ÷ String, "
             "same server, same concurrency (p50 latency; throughput).")
    L.append("")
    rows = []
    for target in ("Eddy", "moto"):
        for c in CONCURRENCY:
            s = points.get((target, "string", c), [])
            x = points.get((target, "secure", c), [])
            if not s or not x:
                continue
            rows.append([target, str(c),
                         ratio(percentile(pooled(x), 50), percentile(pooled(s), 50)),
                         ratio(median([p.ops_per_s for p in x]), median([p.ops_per_s for p in s]))])
    L.append(markdown_table(["Target", "Conc.", "p50 SecureString ÷ String",
                             "Throughput SecureString ÷ String"], rows, "lrrr"))
    L.append("")


def us(x: float | None) -> str:
    return "–" if x is None else num(x)


def endpoint_section(L: list[str], results: list[EndpointResult], points: dict,
                     args, interpreter: str) -> None:
    L.append("## From inside a function: the local endpoint (Eddy only)")
    L.append("")
    L.append(
        "moto runs no functions, so this is Eddy alone. Two `python3.12` functions "
        f"(run by {interpreter}) with the same handler: *hit* keeps the default cache "
        "TTL; *miss* has `SSM_PARAMETER_STORE_TTL=0` and `SECRETS_MANAGER_TTL=0`, so every "
        "request goes through to the service. Each invocation first sends one request per "
        "target that the percentiles leave out (for *hit* it fills the cache; *first* is "
        f"its time in the first invocation), then {args.requests} rounds "
        "of one request per target, round-robin with the starting target rotating. "
        "Each request is `urllib` on a new connection (`Connection: close`), timed with "
        "`time.perf_counter()` in the handler from before the request to the last byte "
        "of the body. Endpoint requests go to "
        "`http://localhost:$PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` with "
        "`X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN`: "
        "`/systemsmanager/parameters/get?name=…&withDecryption=true` for the SecureString, "
        "`/secretsmanager/get?secretId=…` for the secret; every answer is checked to hold "
        "the stored value. "
        "The *floor* is the same loop, in the same invocation, against a "
        "`http.server` the handler runs in a thread on 127.0.0.1 answering a "
        "GetParameter-sized JSON: the cost of an HTTP round trip from inside an "
        "environment with this client. It is reached as `localhost`, like the endpoint; "
        "the *127.0.0.1* row skips the name lookup. The floor's server shares the "
        "handler's interpreter and parses each request in Python, so the *raw socket* "
        "row adds a server in a thread that only reads to the blank line and writes a "
        "fixed response with the same body: closer to the cost of this client alone. "
        f"{args.rounds} invocation(s) per function, the two taking turns; "
        "percentiles pool every invocation, *p50 per round* is the range over invocations.")
    L.append("")
    rows = []
    for res in results:
        for name, _ in FLOOR_TARGETS + ENDPOINT_TARGETS:
            lat = res.latencies_us.get(name, [])
            pr = [x for x in res.p50_per_round.get(name, []) if x == x]
            rows.append([
                res.function, name, str(len(lat)), us(res.first_us.get(name)),
                num(percentile(lat, 50)), num(percentile(lat, 99)),
                (f"{num(min(pr))}–{num(max(pr))}" if pr else "–"),
            ])
    L.append(markdown_table(["Function", "Request", "Requests", "First µs", "p50 µs",
                             "p99 µs", "p50 per round µs"], rows, "llrrrrr"))
    L.append("")
    for res in results:
        L.append(f"- {res.function}: invocations took "
                 + ", ".join(f"{x:.0f}" for x in res.invoke_ms)
                 + " ms as the benchmark saw them"
                 + (f"; {res.error_count} requests failed" if res.error_count else ""))
        for e in res.errors:
            L.append(f"  - failed: `GET {e['url']}` → {e['status']} `{e['body'][:500]}`")
    L.append("")

    L.append("### Ratios")
    L.append("")
    L.append("Each function's endpoint requests ÷ its own floor (`http.server`, reached as "
             "`localhost`), measured in the same invocations. *Miss ÷ hit* compares the two "
             "functions' endpoint requests directly; the last two columns divide by the "
             "raw-socket row of the same function instead.")
    L.append("")
    by = {r.function: r for r in results}
    hit, miss = by.get("hit"), by.get("miss")
    rows = []

    def q(res: EndpointResult | None, name: str, p: float) -> float:
        return percentile(res.latencies_us.get(name, []), p) if res else float("nan")

    for name, _ in ENDPOINT_TARGETS:
        rows.append([
            name,
            ratio(q(hit, name, 50), q(hit, "floor", 50)),
            ratio(q(hit, name, 99), q(hit, "floor", 99)),
            ratio(q(miss, name, 50), q(miss, "floor", 50)),
            ratio(q(miss, name, 99), q(miss, "floor", 99)),
            ratio(q(miss, name, 50), q(hit, name, 50)),
            ratio(q(miss, name, 99), q(hit, name, 99)),
            ratio(q(hit, name, 50), q(hit, "raw socket", 50)),
            ratio(q(miss, name, 50), q(miss, "raw socket", 50)),
        ])
    L.append(markdown_table(["Request", "Hit p50 ÷ floor", "Hit p99 ÷ floor",
                             "Miss p50 ÷ floor", "Miss p99 ÷ floor", "Miss p50 ÷ hit",
                             "Miss p99 ÷ hit", "Hit p50 ÷ raw socket",
                             "Miss p50 ÷ raw socket"], rows, "lrrrrrrrr"))
    L.append("")
    # The same reads from outside, for scale: the API section's sequential points.
    secure = pooled(points.get(("Eddy", "secure", 1), []))
    secret = pooled(points.get(("Eddy", "secret", 1), []))
    if secure and secret:
        L.append("For scale, the same reads through the API from the benchmark process "
                 "(boto3, signed, keep-alive; concurrency 1 above): p50 "
                 f"{num(percentile(secure, 50) * 1000)} µs for the SecureString and "
                 f"{num(percentile(secret, 50) * 1000)} µs for the secret.")
        L.append("")


def report(meta: dict, points: dict, endpoint: list[EndpointResult], args,
           interpreter: str, health_after: str) -> str:
    L: list[str] = []
    L.append("# Eddy Parameter Store and Secrets Manager benchmark")
    L.append("")
    for k, v in meta.items():
        L.append(f"- {k}: {v}")
    L.append("")
    if points:
        api_section(L, points, args)
    if endpoint:
        endpoint_section(L, endpoint, points, args, interpreter)
    L.append(f"Eddy health after the run: `{health_after}`")
    L.append("")
    return "\n".join(L)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(
        description="Benchmarks Eddy's Parameter Store and Secrets Manager against moto, "
                    "and its local endpoint against an HTTP floor.")
    ap.add_argument("--eddy", default="target/release/eddy", help="the Eddy binary")
    ap.add_argument("--moto-server", default=None,
                    help="moto's server [default: moto_server next to this Python]")
    ap.add_argument("--python", default=None,
                    help="interpreter Eddy runs the python3.12 functions with "
                         "[default: the real binary behind this Python, past venv and shims]")
    ap.add_argument("--seconds", type=float, default=None,
                    help="seconds measured per API point [5; 1 with --quick]")
    ap.add_argument("--warmup", type=float, default=None,
                    help="unmeasured seconds before each API point [1; 0.5 with --quick]")
    ap.add_argument("--rounds", type=int, default=None,
                    help="times each API point is measured and each function invoked "
                         "[3; 1 with --quick]")
    ap.add_argument("--requests", type=int, default=None,
                    help="requests per target per invocation inside the functions "
                         "[200; 50 with --quick]")
    ap.add_argument("--quick", action="store_true", help="smoke test, about a minute")
    ap.add_argument("--tmp-dir", default=None, help="where the data dirs go [TMPDIR]")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    args = ap.parse_args()
    q = args.quick
    args.seconds = args.seconds or (1.0 if q else 5.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if q else 1.0)
    args.rounds = args.rounds or (1 if q else 3)
    args.requests = args.requests or (50 if q else 200)

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
    # The functions import boto3 from this virtualenv, which matches `python`'s version.
    sdk_path = sysconfig.get_paths()["purelib"]

    import moto  # only for its version; the server is a separate process

    t_begin = time.monotonic()
    load = load_average()
    work = Path(tempfile.mkdtemp(prefix="eddy-params-bench-", dir=args.tmp_dir))
    eddy_dir = work / "eddy-data"
    eddy_dir.mkdir()
    eddy = moto_srv = None
    try:
        meta = run_meta(eddy_bin, work, load, moto.__version__)
        meta.update({
            "Function interpreter": f"{interpreter}, packages from {sdk_path}",
        })
        progress(f"work dir {work}")

        progress("starting Eddy")
        env = dict(os.environ, EDDY_PYTHON=python, EDDY_LOG_LEVEL="warn")
        eddy = Server("eddy", [str(eddy_bin), "server", "--listen", "127.0.0.1:0",
                               "--data-dir", str(eddy_dir), "--sdk-install", "false",
                               "--parameters-secrets-port", "0",
                               "--python-sdk-path", sdk_path],
                      work / "eddy.log", EDDY_LISTEN_RE, env=env)
        wait_healthy(eddy.endpoint)
        progress("starting moto")
        moto_srv = Server("moto", [moto_bin, "-H", "127.0.0.1", "-p0"], work / "moto.log",
                          MOTO_LISTEN_RE)
        progress("storing a String, a SecureString and a secret on both servers")
        targets = [ApiTarget("Eddy", eddy), ApiTarget("moto", moto_srv)]
        points = bench_api(targets, args)
        # moto is done; stopping it now leaves the machine to Eddy and its functions.
        moto_srv.stop()
        moto_srv = None

        endpoint = bench_endpoint(eddy, args)
        health = eddy_health(eddy.endpoint)
        meta["Eddy warnings and errors logged during the run"] = problems_summary(log_problems(eddy))
        meta["Load average when the run ended"] = load_average()
        meta["Total run time"] = f"{time.monotonic() - t_begin:.0f} s"
        text = report(meta, points, endpoint, args, interpreter, health)
    except BaseException:
        show_server_logs(eddy, moto_srv)
        raise
    finally:
        stop_servers(moto_srv, eddy)
        shutil.rmtree(work, ignore_errors=True)

    return emit_report(text, args.out)


if __name__ == "__main__":
    sys.exit(main())
