#!/usr/bin/env python3
"""Runs LocalStack's AWS-validated SQS and SNS tests against a local Eddy server.

LocalStack keeps a large pytest suite whose tests carry a marker saying they were
run against real AWS, and whose recorded AWS responses ("snapshots") sit next to
them in *.snapshot.json files. The suite can target a real AWS account
(TEST_TARGET=AWS_CLOUD); this script uses that mode and sends every SDK client to
Eddy instead through boto3's AWS_ENDPOINT_URL, with the key `test`/`test`, Region
us-east-1 and account 000000000000.

Nothing from LocalStack is stored in this repository. Get a checkout first, e.g.

    git clone --depth 1 https://github.com/localstack/localstack /tmp/localstack

then build Eddy and run

    cargo build --release
    scripts/conformance_localstack.py /tmp/localstack

What it does:

* creates (once) a virtualenv outside the repository (default: <tmp>/eddy-localstack-venv,
  see --venv) with the test-time libraries LocalStack's test plugins import, pinned by
  the checkout's requirements-test.txt, and puts the checkout's localstack-core on
  PYTHONPATH instead of installing it (a source archive has no version file, so this
  file supplies a placeholder `localstack.version` module when pytest loads it);
* starts `eddy server` on a free port with a fresh data dir, and stops it by pid at the
  end (SIGTERM, then SIGKILL);
* runs pytest in the checkout with `-m aws_validated` on tests/aws/services/sqs and
  tests/aws/services/sns, once comparing snapshots and once with
  `--snapshot-skip-all` (behaviour only), see --snapshots;
* prints pass/fail/error/skip counts per file and the most common failure messages;
  JUnit XML files and the server log stay in the output dir (--out).

Adjustments this file makes to the suite when pytest loads it as a plugin
(`-p conformance_localstack`): clients may use LocalStack's bundled
`sqs-query` service model (the `sqs_query` parametrisations, i.e. SQS's old query
protocol), and the raw signed-HTTP client fixture (`aws_http_client_factory`) sends
requests without a host, or addressed to an *.amazonaws.com host, to Eddy. The suite's
check for fixtures defined twice is turned off (it would stop the run on that
override). The suite's
validation-tracking plugin (which rewrites *.validation.json files in the checkout
after tests that pass against "AWS") and pytest's cache are disabled, so the checkout
is left untouched.

In AWS mode the suite compares every snapshot field: LocalStack's own
`skip_snapshot_verify` exemptions apply only when it runs against itself. Tests that
use a second account (keys 000000000002/test2) fail on Eddy, which accepts one key pair.

Needs Python 3.12 or later for the venv (LocalStack uses 3.12 syntax); pass
--python when the interpreter running this script is older.
"""

from __future__ import annotations

import os
import sys
import types

# --------------------------------------------------------------------------
# pytest plugin part (imported inside the LocalStack checkout's test run)
# --------------------------------------------------------------------------

ENDPOINT_ENV = "EDDY_CONFORMANCE_ENDPOINT"

if os.environ.get(ENDPOINT_ENV) and "localstack.version" not in sys.modules:
    _version = types.ModuleType("localstack.version")
    _version.__version__ = _version.version = "0.0.0.dev0"
    sys.modules["localstack.version"] = _version


def pytest_configure(config):  # noqa: D401 - pytest hook
    endpoint = os.environ.get(ENDPOINT_ENV)
    if not endpoint:
        return
    import pytest

    from localstack.aws.spec import LOCALSTACK_BUILTIN_DATA_PATH
    from localstack.testing.aws import util as ls_util

    def with_bundled_models(make_session):
        def wrapped():
            session = make_session()
            paths = session._loader.search_paths
            if LOCALSTACK_BUILTIN_DATA_PATH not in paths:
                paths.append(LOCALSTACK_BUILTIN_DATA_PATH)
            return session

        return wrapped

    ls_util.base_aws_session = with_bundled_models(ls_util.base_aws_session)
    ls_util.secondary_aws_session = with_bundled_models(ls_util.secondary_aws_session)

    class EddyFixtures:
        @pytest.fixture(scope="class")
        def aws_http_client_factory(self, aws_session):
            import urllib.parse

            import botocore.auth
            import botocore.credentials

            from localstack.utils.aws.client import SigningHttpClient

            def factory(
                service,
                region=None,
                signer_factory=botocore.auth.SigV4QueryAuth,
                endpoint_url=None,
                aws_access_key_id=None,
                aws_secret_access_key=None,
            ):
                if aws_access_key_id or aws_secret_access_key:
                    creds = botocore.credentials.Credentials(aws_access_key_id, aws_secret_access_key)
                else:
                    creds = aws_session.get_credentials()
                signer = signer_factory(creds.get_frozen_credentials(), service, region or "us-east-1")
                return ToEddy(signer, endpoint_url=endpoint_url or endpoint)

            class ToEddy(SigningHttpClient):
                """Sends requests addressed to an AWS hostname to Eddy."""

                def request(self, method, url, **kwargs):
                    parts = urllib.parse.urlsplit(url)
                    if parts.hostname and parts.hostname.endswith(".amazonaws.com"):
                        url = endpoint.rstrip("/") + (parts.path or "/")
                        if parts.query:
                            url += "?" + parts.query
                    return super().request(method, url, **kwargs)


            return factory

    # Registered after the checkout's conftest plugins, so this definition wins.
    config.pluginmanager.register(EddyFixtures(), "eddy-conformance-fixtures")


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

if __name__ == "__main__":
    import argparse
    import collections
    import re
    import shutil
    import signal
    import subprocess
    import sysconfig
    import tempfile
    import time
    import xml.etree.ElementTree as ET
    from pathlib import Path

    REPO_ROOT = Path(__file__).resolve().parents[1]
    SCRIPT_DIR = Path(__file__).resolve().parent
    LISTENING_RE = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
    SUITES = {"sqs": "tests/aws/services/sqs", "sns": "tests/aws/services/sns"}
    # Libraries LocalStack's test plugins and the SQS/SNS tests import (not its full
    # test extra, which pulls in CDK, moto and JVM bridges).
    PACKAGES = [
        "boto3", "botocore", "asn1crypto", "click", "cachetools", "cryptography", "dnslib",
        "dnspython", "plux", "psutil", "python-dotenv", "pyyaml", "rich", "requests", "semver",
        "cbor2", "dill", "jsonpatch", "jsonpointer", "jsonschema", "hypercorn",
        "localstack-twisted", "pydantic", "pyopenssl", "python-dateutil", "readerwriterlock",
        "requests-aws4auth", "urllib3", "Werkzeug", "xmltodict", "rolo", "jinja2", "moto-ext",
        "openapi-core", "openapi-spec-validator", "jsonpath-ng", "responses", "json5",
        "httpx[http2]", "pytest", "pytest-httpserver", "pytest-timeout", "pytest-xdist",
        "localstack-snapshot",
    ]

    def log(msg: str) -> None:
        print(msg, flush=True)

    def ensure_venv(venv: Path, python: str, checkout: Path) -> Path:
        py = venv / "bin" / "python"
        stamp = venv / ".eddy-conformance-ok"
        if stamp.exists():
            return py
        log(f"creating virtualenv {venv} ...")
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        cmd = [str(py), "-m", "pip", "install", "-q"]
        constraints = checkout / "requirements-test.txt"
        if constraints.exists():
            cmd += ["-c", str(constraints)]
        subprocess.run(cmd + PACKAGES, check=True)
        stamp.write_text("ok\n")
        return py

    def start_server(eddy: Path, data_dir: Path, log_path: Path, sdk_path: str) -> tuple[subprocess.Popen, str]:
        cmd = [
            str(eddy), "server",
            "--listen", "127.0.0.1:0",
            "--data-dir", str(data_dir),
            "--async-retry-base-delay-ms", "200",
            "--sdk-install", "false",
            "--python-sdk-path", sdk_path,
            "--parameters-secrets-port", "0",
        ]
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            match = LISTENING_RE.search(log_path.read_text(errors="replace"))
            if match:
                return proc, match.group(1)
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        stop_server(proc)
        sys.exit(f"eddy did not start; log:\n{log_path.read_text(errors='replace')}")

    def stop_server(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def normalise(message: str) -> str:
        line = (message or "").strip().split("\n", 1)[0]
        line = re.sub(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "<uuid>", line)
        line = re.sub(r"\b[0-9a-f]{6,}\b", "<id>", line)
        line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", line)
        return line[:200]

    def read_junit(path: Path):
        """Yields (file, test id, outcome, message) for each test case."""
        if not path.exists():
            return
        for case in ET.parse(path).getroot().iter("testcase"):
            file = case.get("file") or case.get("classname", "").split(".")[-2] + ".py"
            test_id = f"{case.get('classname', '').split('.')[-1]}::{case.get('name')}"
            outcome, message = "passed", ""
            for tag in ("failure", "error", "skipped"):
                el = case.find(tag)
                if el is not None:
                    outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                    message = el.get("message") or (el.text or "")
                    break
            yield Path(file).name, test_id, outcome, message

    def summarise(title: str, junit: Path, top: int) -> dict:
        per_file: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        reasons: collections.Counter = collections.Counter()
        examples: dict[str, str] = {}
        for file, test_id, outcome, message in read_junit(junit):
            per_file[file][outcome] += 1
            if outcome in ("failed", "error"):
                key = normalise(message)
                reasons[key] += 1
                examples.setdefault(key, test_id)
        log(f"\n== {title}")
        log(f"{'file':32} {'total':>6} {'passed':>7} {'failed':>7} {'error':>6} {'skipped':>8}")
        total = collections.Counter()
        for file in sorted(per_file):
            c = per_file[file]
            total.update(c)
            log(f"{file:32} {sum(c.values()):6} {c['passed']:7} {c['failed']:7} {c['error']:6} {c['skipped']:8}")
        log(f"{'all':32} {sum(total.values()):6} {total['passed']:7} {total['failed']:7} {total['error']:6} {total['skipped']:8}")
        if reasons and top:
            log(f"most common failure messages (count, first test):")
            for key, n in reasons.most_common(top):
                log(f"  {n:4}  {key}\n        e.g. {examples[key]}")
        return total

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("checkout", type=Path, help="a LocalStack checkout (see the header for how to get one)")
    parser.add_argument("--eddy", type=Path, default=REPO_ROOT / "target" / "release" / "eddy")
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "eddy-localstack-venv")
    parser.add_argument("--python", default=sys.executable, help="interpreter (3.12+) for the venv")
    parser.add_argument("--services", default="sqs,sns", help="comma-separated: sqs, sns")
    parser.add_argument("--snapshots", choices=["both", "verify", "skip"], default="both")
    parser.add_argument("--marker", default="aws_validated", help="pytest -m expression")
    parser.add_argument("-k", dest="keyword", default=None, help="pytest -k expression")
    parser.add_argument("--workers", type=int, default=8, help="pytest-xdist workers (0: none)")
    parser.add_argument("--timeout", type=int, default=300, help="per-test timeout in seconds")
    parser.add_argument("--out", type=Path, default=None, help="where JUnit XML and logs go")
    parser.add_argument("--top", type=int, default=25, help="failure messages to list per run")
    args = parser.parse_args()

    checkout = args.checkout.resolve()
    if not (checkout / "tests" / "aws" / "services" / "sqs").is_dir():
        sys.exit(f"{checkout} does not look like a LocalStack checkout (no tests/aws/services/sqs)")
    if not args.eddy.exists():
        sys.exit(f"{args.eddy} not found; run `cargo build --release` first")
    venv = args.venv.resolve()
    if venv == REPO_ROOT or REPO_ROOT in venv.parents:
        sys.exit("keep the venv outside the repository (--venv)")
    services = [s.strip() for s in args.services.split(",") if s.strip()]
    for s in services:
        if s not in SUITES:
            sys.exit(f"unknown service {s!r}; choose from {', '.join(SUITES)}")

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    py = ensure_venv(venv, args.python, checkout)
    sdk_path = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    commit = ""
    if (checkout / ".git").exists():
        commit = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()

    out = (args.out or Path(tempfile.mkdtemp(prefix="eddy-localstack-"))).resolve()
    out.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="eddy-localstack-data-"))
    server_log = out / "eddy.log"
    proc, url = start_server(args.eddy, data_dir, server_log, sdk_path)
    log(f"eddy pid {proc.pid} at {url}; output in {out}" + (f"; LocalStack {commit}" if commit else ""))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TEST_", "SNAPSHOT_"))}
    env.update(
        TEST_TARGET="AWS_CLOUD",
        TEST_SKIP_LOCALSTACK_START="1",
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        PYTHONPATH=os.pathsep.join([str(checkout / "localstack-core"), str(SCRIPT_DIR)]),
        PYTHONDONTWRITEBYTECODE="1",
        **{ENDPOINT_ENV: url},
    )
    modes = {"both": ["verify", "skip"], "verify": ["verify"], "skip": ["skip"]}[args.snapshots]
    results = {}
    try:
        for service in services:
            for mode in modes:
                junit = out / f"{service}-{mode}.xml"
                cmd = [
                    str(py), "-m", "pytest", SUITES[service],
                    "-p", "conformance_localstack",
                    "-p", "no:localstack.testing.pytest.validation_tracking",
                    "-p", "no:localstack.testing.pytest.fixture_conflicts",
                    "-p", "no:cacheprovider",
                    "-m", args.marker,
                    "--timeout", str(args.timeout),
                    "-v", "-rN", "--tb=short", "--no-header", "--show-capture=no",
                    "--log-level=WARNING",
                    f"--junitxml={junit}", "-o", "junit_family=xunit1",
                ]
                if args.keyword:
                    cmd += ["-k", args.keyword]
                if args.workers:
                    cmd += ["-n", str(args.workers)]
                if mode == "skip":
                    cmd.append("--snapshot-skip-all")
                log(f"\nrunning {service} ({'snapshots compared' if mode == 'verify' else 'snapshots not compared'}) ...")
                with open(out / f"{service}-{mode}.log", "wb") as pytest_log:
                    subprocess.run(cmd, cwd=checkout, env=env, stdout=pytest_log, stderr=subprocess.STDOUT)
                results[(service, mode)] = junit
    finally:
        stop_server(proc)
        shutil.rmtree(data_dir, ignore_errors=True)

    log(f"\nEddy: {args.eddy}; LocalStack checkout: {checkout}" + (f" ({commit})" if commit else ""))
    for (service, mode), junit in results.items():
        label = "snapshots compared" if mode == "verify" else "snapshots not compared (--snapshot-skip-all)"
        summarise(f"{service.upper()}, {label}", junit, args.top)
