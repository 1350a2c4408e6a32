"""Eddy's own HTTPS client: SNS https subscriptions and HTTP API backends reached over
TLS. The test makes a private certificate authority with the openssl CLI, serves https
with it, and starts Eddy with SSL_CERT_FILE naming the CA, as OpenSSL-based tools take
one; a server certificate from an unknown CA is refused."""

import http.server
import json
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import unique, wait_until

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


def make_ca(d, name):
    key, cert = d / f"{name}.key", d / f"{name}.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
         "-days", "2", "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        check=True, capture_output=True,
    )
    return key, cert


def make_server_cert(d, ca_key, ca_cert):
    key, csr, cert, ext = d / "srv.key", d / "srv.csr", d / "srv.pem", d / "srv.ext"
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=localhost"], check=True, capture_output=True)
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
                    "-out", cert, "-days", "2", "-extfile", ext], check=True, capture_output=True)
    return key, cert


class Recorder(http.server.BaseHTTPRequestHandler):
    posts: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
        type(self).posts.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self):
        out = json.dumps({"path": self.path, "tls": True}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def proxy_api(srv, uri: str, method: str, route: str) -> str:
    """An HTTP API whose one route forwards to `uri`; returns its id."""
    apis = srv.client("apigatewayv2")
    api_id = apis.create_api(Name=unique("tls-proxy"), ProtocolType="HTTP")["ApiId"]
    integ = apis.create_integration(
        ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationUri=uri,
        IntegrationMethod=method, PayloadFormatVersion="1.0",
    )["IntegrationId"]
    apis.create_route(ApiId=api_id, RouteKey=route, Target=f"integrations/{integ}")
    apis.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    return api_id


@pytest.fixture
def tls_env(tmp_path):
    ca_key, ca_cert = make_ca(tmp_path, "test-ca")
    key, cert = make_server_cert(tmp_path, ca_key, ca_cert)
    Recorder.posts = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"https://localhost:{httpd.server_address[1]}", ca_cert, tmp_path
    finally:
        httpd.shutdown()


def test_sns_https_subscription_and_http_api_backend(fresh_server, tls_env):
    base, ca_cert, _ = tls_env
    srv = fresh_server(env={"SSL_CERT_FILE": str(ca_cert)})
    sns = srv.client("sns")
    topic = sns.create_topic(Name=unique("tls"))["TopicArn"]
    assert sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=f"{base}/hook")["SubscriptionArn"] == "pending confirmation"
    confirm = wait_until(lambda: [p for p in Recorder.posts if "SubscriptionConfirmation" in p["body"]], timeout=20)
    token = json.loads(confirm[0]["body"])["Token"]
    sub = sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["Protocol"] == "https"
    sns.publish(TopicArn=topic, Message="over tls")
    note = wait_until(lambda: [p for p in Recorder.posts if '"Notification"' in p["body"]], timeout=20)
    assert json.loads(note[0]["body"])["Message"] == "over tls"
    assert note[0]["headers"]["x-amz-sns-subscription-arn"] == sub

    api_id = proxy_api(srv, f"{base}/backend/{{proxy}}", "ANY", "ANY /{proxy+}")
    with urllib.request.urlopen(f"{srv.url}/_eddy/apis/{api_id}/x/y", timeout=30) as r:
        assert json.loads(r.read()) == {"path": "/backend/x/y", "tls": True}


def test_an_unknown_ca_is_refused(fresh_server, tls_env):
    base, _, d = tls_env
    _, other_ca = make_ca(d, "other-ca")
    srv = fresh_server(env={"SSL_CERT_FILE": str(other_ca)})
    api_id = proxy_api(srv, f"{base}/backend", "GET", "GET /")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(f"{srv.url}/_eddy/apis/{api_id}/", timeout=30)
    assert exc.value.code == 502
    assert "certificate" in srv.log().lower() or "tls" in srv.log().lower()
