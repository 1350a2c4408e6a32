"""Helpers for the tests of API Gateway's data plane (HTTP APIs and REST APIs):
requests to an API's `<api-id>.execute-api.localhost` endpoint, and the Lambda
integration URIs that point an API at a function.

Test modules import these helpers directly (`from execute_api import ...`);
pytest puts this directory on sys.path, as for conftest.py.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from conftest import REGION, function_arn


def lambda_uri(name: str) -> str:
    """The `arn:aws:apigateway:...:lambda:path/...` URI that invokes function `name`."""
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn(name)}/invocations"


def call(server, api_id: str, path: str, method: str = "GET", body: bytes | None = None, headers=None):
    """A request to API `api_id` by its execute-api host: (status, headers, body), also
    for 4xx and 5xx answers."""
    req = urllib.request.Request(
        server.url + path,
        data=body,
        method=method,
        headers={"Host": f"{api_id}.execute-api.localhost", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
