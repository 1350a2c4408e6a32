"""Authorizers of HTTP APIs (API Gateway v2): Lambda REQUEST authorizers with
simple responses and with IAM policies, their result cache and missing identity
sources; JWT authorizers whose keys a small HTTP server in the test publishes
through an OpenID discovery document, with tokens signed here.

The tokens are signed with the pure-Python `rsa` package (already in the venv as
a dependency of awscli), so the suite needs no extra crypto package."""

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import rsa

import execute_api
from conftest import create_function, function_arn, unique
from execute_api import lambda_uri

ECHO = """
import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}
"""

# Allows requests whose Authorization header is "let-me-in" (simple responses) or
# answers an IAM policy (policy mode), and appends one line per call to $COUNT_FILE.
AUTHORIZER = """
import os


def handler(event, context):
    with open(os.environ["COUNT_FILE"], "a") as f:
        f.write(event["type"] + "\\n")
    headers = event.get("headers") or {}
    token = headers.get("authorization") or headers.get("Authorization") or ""
    if os.environ.get("MODE") == "policy":
        arn = event.get("routeArn") or event.get("methodArn")
        effect = "Allow" if token == "let-me-in" else "Deny"
        resource = arn if token != "other-route" else arn.rsplit("/", 2)[0] + "/POST/elsewhere"
        return {
            "principalId": "user-1",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow" if token == "other-route" else effect, "Resource": resource}],
            },
            "context": {"user": "policy-user", "version": event["version"]},
        }
    if token == "boom":
        raise RuntimeError("authorizer failing on purpose")
    return {"isAuthorized": token == "let-me-in", "context": {"user": "ann", "identity": event["identitySource"]}}
"""


@pytest.fixture(scope="module")
def apis(server):
    return server.client("apigatewayv2")


@pytest.fixture(scope="module")
def echo_fn(lambda_client):
    name = unique("auth-echo")
    create_function(lambda_client, name, "python3.12", "app.handler", {"app.py": ECHO})
    return name


def authorizer_fn(lambda_client, count_file, mode: str = "simple") -> str:
    name = unique("authorizer")
    create_function(
        lambda_client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": AUTHORIZER},
        Environment={"Variables": {"COUNT_FILE": str(count_file), "MODE": mode}},
    )
    return name


def call(server, api_id: str, path: str, headers=None, method: str = "GET"):
    status, _, body = execute_api.call(server, api_id, path, method=method, headers=headers)
    return status, json.loads(body)


def api_with_authorizer(apis, function: str, auth_type: str, authorizer: dict, scopes=None) -> str:
    api_id = apis.create_api(Name=unique("authz"), ProtocolType="HTTP")["ApiId"]
    integ = apis.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn(function), PayloadFormatVersion="2.0"
    )["IntegrationId"]
    auth_id = apis.create_authorizer(ApiId=api_id, Name=unique("a"), **authorizer)["AuthorizerId"]
    route = {"AuthorizationType": auth_type, "AuthorizerId": auth_id}
    if scopes:
        route["AuthorizationScopes"] = scopes
    apis.create_route(ApiId=api_id, RouteKey="GET /private", Target=f"integrations/{integ}", **route)
    apis.create_route(ApiId=api_id, RouteKey="GET /public", Target=f"integrations/{integ}")
    apis.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    return api_id


def lines(path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_lambda_authorizer_simple_responses(server, apis, lambda_client, echo_fn, tmp_path):
    count = tmp_path / "calls"
    auth = authorizer_fn(lambda_client, count)
    api_id = api_with_authorizer(
        apis,
        echo_fn,
        "CUSTOM",
        {
            "AuthorizerType": "REQUEST",
            "AuthorizerUri": lambda_uri(auth),
            "AuthorizerPayloadFormatVersion": "2.0",
            "EnableSimpleResponses": True,
            "IdentitySource": ["$request.header.Authorization"],
        },
    )
    got = apis.get_authorizers(ApiId=api_id)["Items"]
    assert [a["AuthorizerType"] for a in got] == ["REQUEST"] and got[0]["EnableSimpleResponses"] is True

    status, event = call(server, api_id, "/private", {"Authorization": "let-me-in"})
    assert status == 200, event
    assert event["requestContext"]["authorizer"] == {"lambda": {"user": "ann", "identity": ["let-me-in"]}}
    assert call(server, api_id, "/private", {"Authorization": "nope"}) == (403, {"message": "Forbidden"})
    # A missing identity source is a 401, and the authorizer is not called for it.
    before = lines(count)
    assert call(server, api_id, "/private") == (401, {"message": "Unauthorized"})
    assert lines(count) == before
    # An authorizer that fails is a 500; routes without authorization are untouched.
    assert call(server, api_id, "/private", {"Authorization": "boom"}) == (500, {"message": "Internal Server Error"})
    assert call(server, api_id, "/public")[0] == 200


def test_lambda_authorizer_cache(server, apis, lambda_client, echo_fn, tmp_path):
    count = tmp_path / "calls"
    auth = authorizer_fn(lambda_client, count)
    api_id = api_with_authorizer(
        apis,
        echo_fn,
        "CUSTOM",
        {
            "AuthorizerType": "REQUEST",
            "AuthorizerUri": lambda_uri(auth),
            "AuthorizerPayloadFormatVersion": "2.0",
            "EnableSimpleResponses": True,
            "AuthorizerResultTtlInSeconds": 300,
            "IdentitySource": ["$request.header.Authorization", "$request.querystring.tenant"],
        },
    )
    for _ in range(3):
        status, event = call(server, api_id, "/private?tenant=t1", {"Authorization": "let-me-in"})
        assert status == 200, event
    assert lines(count) == 1
    # Another identity is another cache entry; a denial is cached too.
    for _ in range(2):
        assert call(server, api_id, "/private?tenant=t1", {"Authorization": "nope"})[0] == 403
    assert lines(count) == 2
    assert call(server, api_id, "/private?tenant=t2", {"Authorization": "let-me-in"})[0] == 200
    assert lines(count) == 3
    assert call(server, api_id, "/private", {"Authorization": "let-me-in"})[0] == 401
    assert lines(count) == 3


def test_lambda_authorizer_policies(server, apis, lambda_client, echo_fn, tmp_path):
    count = tmp_path / "calls"
    auth = authorizer_fn(lambda_client, count, mode="policy")
    for version in ("2.0", "1.0"):
        api_id = api_with_authorizer(
            apis,
            echo_fn,
            "CUSTOM",
            {
                "AuthorizerType": "REQUEST",
                "AuthorizerUri": lambda_uri(auth),
                "AuthorizerPayloadFormatVersion": version,
                "IdentitySource": ["$request.header.Authorization"],
            },
        )
        status, event = call(server, api_id, "/private", {"Authorization": "let-me-in"})
        assert status == 200, (version, event)
        assert event["requestContext"]["authorizer"] == {"lambda": {"user": "policy-user", "version": version}}
        # An explicit Deny, and an Allow for another route only, are both 403.
        assert call(server, api_id, "/private", {"Authorization": "no"}) == (403, {"message": "Forbidden"})
        assert call(server, api_id, "/private", {"Authorization": "other-route"}) == (403, {"message": "Forbidden"})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_b64(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Issuer:
    """An OpenID provider in miniature: a discovery document and a key set over
    plain HTTP, and tokens signed with its key."""

    def __init__(self):
        # 1024 bits keeps key generation in pure Python quick; the tests check the
        # verification path, not key strength.
        self.public, self.private = rsa.newkeys(1024)
        _, self.other_private = rsa.newkeys(1024)
        issuer = self
        self.fetches = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/keys.json"}
                elif self.path == "/keys.json":
                    issuer.fetches += 1
                    body = {"keys": [{"kty": "RSA", "use": "sig", "kid": "k1", "n": int_b64(issuer.public.n), "e": int_b64(issuer.public.e)}]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def token(self, key=None, **claims) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": "my-api", "sub": "user-7", "iat": now - 10, "exp": now + 600, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        signing_input = b64url(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode()) + "." + b64url(json.dumps(body).encode())
        signature = rsa.sign(signing_input.encode(), key or self.private, "SHA-256")
        return signing_input + "." + b64url(signature)


@pytest.fixture(scope="module")
def issuer():
    i = Issuer()
    yield i
    i.httpd.shutdown()


def test_jwt_authorizer(server, apis, echo_fn, issuer):
    api_id = api_with_authorizer(
        apis,
        echo_fn,
        "JWT",
        {
            "AuthorizerType": "JWT",
            "IdentitySource": ["$request.header.Authorization"],
            "JwtConfiguration": {"Issuer": issuer.url, "Audience": ["my-api"]},
        },
        scopes=["orders/read"],
    )
    good = issuer.token(scope="orders/read profile", groups=["a", "b"])
    status, event = call(server, api_id, "/private", {"Authorization": f"Bearer {good}"})
    assert status == 200, event
    jwt = event["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"]["sub"] == "user-7" and jwt["claims"]["iss"] == issuer.url
    assert jwt["claims"]["groups"] == "[a b]"
    assert jwt["scopes"] == ["orders/read", "profile"]
    # The "Bearer " prefix is optional; `scp` lists scopes too.
    assert call(server, api_id, "/private", {"Authorization": issuer.token(scp=["orders/read"])})[0] == 200

    unauthorized = (401, {"message": "Unauthorized"})
    now = int(time.time())
    for bad in (
        issuer.token(scope="orders/read", exp=now - 60),
        issuer.token(scope="orders/read", aud="someone-else"),
        issuer.token(scope="orders/read", iss="http://evil.example"),
        issuer.token(scope="orders/read", nbf=now + 600),
        issuer.token(scope="orders/read", key=issuer.other_private),
        "not-a-jwt",
    ):
        assert call(server, api_id, "/private", {"Authorization": f"Bearer {bad}"}) == unauthorized, bad
    assert call(server, api_id, "/private") == unauthorized
    # Valid, but without the route's scope.
    assert call(server, api_id, "/private", {"Authorization": issuer.token(scope="profile")}) == (403, {"message": "Forbidden"})
    # A client_id stands in for a missing aud.
    assert call(server, api_id, "/private", {"Authorization": issuer.token(aud=None, client_id="my-api", scope="orders/read")})[0] == 200
    # Keys are cached rather than fetched per request.
    assert issuer.fetches == 1


def test_jwt_authorizer_file_key_set(server, apis, echo_fn, issuer, tmp_path):
    """Eddy extension: a file:// issuer is read as the key set itself."""
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps({"keys": [{"kty": "RSA", "kid": "k1", "n": int_b64(issuer.public.n), "e": int_b64(issuer.public.e)}]}))
    url = f"file://{keys}"
    api_id = api_with_authorizer(
        apis,
        echo_fn,
        "JWT",
        {"AuthorizerType": "JWT", "IdentitySource": ["$request.header.Authorization"], "JwtConfiguration": {"Issuer": url, "Audience": ["my-api"]}},
    )
    assert call(server, api_id, "/private", {"Authorization": issuer.token(iss=url)})[0] == 200
    assert call(server, api_id, "/private", {"Authorization": issuer.token()})[0] == 401


def test_authorizer_lifecycle(apis, echo_fn):
    api_id = apis.create_api(Name=unique("authz"), ProtocolType="HTTP")["ApiId"]
    created = apis.create_authorizer(
        ApiId=api_id,
        Name="jwt",
        AuthorizerType="JWT",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Issuer": "https://issuer.example", "Audience": ["a"]},
    )
    auth_id = created["AuthorizerId"]
    updated = apis.update_authorizer(ApiId=api_id, AuthorizerId=auth_id, JwtConfiguration={"Issuer": "https://issuer.example", "Audience": ["a", "b"]})
    assert updated["JwtConfiguration"]["Audience"] == ["a", "b"]
    assert apis.get_authorizer(ApiId=api_id, AuthorizerId=auth_id)["Name"] == "jwt"
    integ = apis.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn(echo_fn))["IntegrationId"]
    route = apis.create_route(ApiId=api_id, RouteKey="GET /x", Target=f"integrations/{integ}", AuthorizationType="JWT", AuthorizerId=auth_id, AuthorizationScopes=["s"])
    assert (route["AuthorizerId"], route["AuthorizationScopes"]) == (auth_id, ["s"])
    with pytest.raises(apis.exceptions.ConflictException):
        apis.delete_authorizer(ApiId=api_id, AuthorizerId=auth_id)
    apis.delete_route(ApiId=api_id, RouteId=route["RouteId"])
    apis.delete_authorizer(ApiId=api_id, AuthorizerId=auth_id)
    assert apis.get_authorizers(ApiId=api_id)["Items"] == []
