"""Function URLs with InvokeMode RESPONSE_STREAM: a Node.js function written with
`awslambda.streamifyResponse` streams its answer, and the client gets the first piece
while the function is still running; `awslambda.HttpResponseStream.from` sets status,
headers and cookies; a function that fails before writing gets the error answer; the
same function behind a BUFFERED URL, and through Invoke, answers whole."""

import http.client
import json
import time

import pytest

from conftest import create_function, invoke, unique

STREAMER = """
exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const path = event.rawPath || '';
  if (path === '/fail-first') throw new Error('nothing written');
  if (path === '/prelude') {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 201,
      headers: { 'Content-Type': 'text/plain', 'X-Mode': 'prelude' },
      cookies: ['a=1', 'b=2'],
    });
  } else {
    responseStream.setContentType('text/plain');
  }
  responseStream.write('first\\n');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  responseStream.write('second ' + context.awsRequestId.length + '\\n');
  responseStream.end();
});
"""


@pytest.fixture(scope="module")
def streamer(lambda_client):
    name = unique("streamer")
    create_function(lambda_client, name, "nodejs20.x", "index.handler", {"index.js": STREAMER}, Timeout=10)
    url = lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM")
    assert url["InvokeMode"] == "RESPONSE_STREAM"
    return name, url["FunctionUrl"]


def get(server, url: str, path: str):
    """(response, seconds until the first body line, first line, the rest)."""
    host = url.split("//", 1)[1].rstrip("/")
    conn = http.client.HTTPConnection(server.address.rsplit(":", 1)[0], int(server.address.rsplit(":", 1)[1]), timeout=30)
    started = time.monotonic()
    conn.request("GET", path, headers={"Host": host})
    resp = conn.getresponse()
    first = resp.readline()
    first_at = time.monotonic() - started
    rest = resp.read()
    conn.close()
    return resp, first_at, first, rest


def test_pieces_arrive_while_the_function_runs(server, streamer):
    _, url = streamer
    resp, first_at, first, rest = get(server, url, "/plain")
    assert resp.status == 200
    assert resp.getheader("content-type") == "text/plain"
    assert resp.getheader("transfer-encoding") == "chunked"
    assert first == b"first\n"
    assert rest == b"second 36\n"
    # The function waits 1.5 s between its two writes; the first arrives before that.
    assert first_at < 1.2, f"first piece after {first_at:.2f} s"


def test_the_prelude_sets_status_headers_and_cookies(server, streamer):
    _, url = streamer
    resp, _, first, rest = get(server, url, "/prelude")
    assert resp.status == 201
    assert resp.getheader("content-type") == "text/plain"
    assert resp.getheader("x-mode") == "prelude"
    assert resp.msg.get_all("set-cookie") == ["a=1", "b=2"]
    assert first + rest == b"first\nsecond 36\n"


def test_a_failure_before_the_first_write_is_an_error_answer(server, streamer):
    _, url = streamer
    resp, _, first, rest = get(server, url, "/fail-first")
    assert resp.status == 500
    assert json.loads(first + rest) == {"message": "Internal Server Error"}


def test_buffered_urls_and_invoke_answer_whole(server, lambda_client, streamer):
    name, _ = streamer
    lambda_client.create_alias(FunctionName=name, Name="whole", FunctionVersion="$LATEST")
    url = lambda_client.create_function_url_config(FunctionName=name, Qualifier="whole", AuthType="NONE")["FunctionUrl"]
    resp, first_at, first, rest = get(server, url, "/plain")
    assert resp.status == 200
    assert first + rest == b"first\nsecond 36\n"
    assert first_at >= 1.4, "a buffered answer comes when the function is done"
    _, body = invoke(lambda_client, name, {"rawPath": "/plain"})
    assert body == b"first\nsecond 36\n"
