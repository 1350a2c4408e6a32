"""S3 uploads in the `aws-chunked` content encoding, as the AWS SDKs send them over
TLS and some SDKs over plain HTTP too: unsigned chunks with a trailing checksum, and
chunks each signed with SigV4's streaming signature (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`).
The requests are built by hand here, signed with botocore for the header part, since
boto3 only uses these forms over HTTPS."""

import base64
import hashlib
import hmac
import zlib

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from conftest import unique
from test_s3_objects import port_of, raw_request

REGION = "us-east-1"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@pytest.fixture
def s3(server):
    return server.client("s3")


@pytest.fixture
def bucket(s3):
    name = unique("chunked")
    s3.create_bucket(Bucket=name)
    return name


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def sign_headers(server, path: str, headers: dict) -> tuple[dict, str, str]:
    """SigV4 over the headers (the payload hash is the declared streaming value);
    returns the headers to send, the seed signature and the X-Amz-Date."""
    request = botocore.awsrequest.AWSRequest(
        method="PUT", url=f"http://{server.address}{path}", headers=dict(headers)
    )
    # Plain SigV4Auth signs the X-Amz-Content-SHA256 header as given; the S3 variant
    # would replace it with the hash of the (absent) body. The paths here have nothing
    # that S3's single encoding and SigV4's double encoding would treat differently.
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "s3", REGION).add_auth(request)
    out = dict(request.headers.items())
    out["Host"] = server.address
    seed = out["Authorization"].rsplit("Signature=", 1)[1]
    return out, seed, out["X-Amz-Date"]


def signing_key(date: str) -> bytes:
    key = ("AWS4" + "test").encode()
    for part in (date, REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signed_chunks(data: bytes, chunk: int, seed: str, amz_date: str) -> bytes:
    """The aws-chunked body with a chained signature per chunk, the last one empty."""
    key = signing_key(amz_date[:8])
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    previous = seed
    out = b""
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for piece in pieces:
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, EMPTY_SHA256, hashlib.sha256(piece).hexdigest()]
        )
        sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        out += f"{len(piece):x};chunk-signature={sig}\r\n".encode() + piece + b"\r\n"
        previous = sig
    return out


def test_unsigned_chunks_with_trailing_checksum(server, s3, bucket):
    data = b"hello world, in chunks " * 500
    body = b""
    for i in range(0, len(data), 4096):
        piece = data[i : i + 4096]
        body += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    body += b"0\r\n" + f"x-amz-checksum-crc32:{crc32_b64(data)}\r\n\r\n".encode()
    path = f"/{bucket}/trailer.txt"
    headers, _, _ = sign_headers(
        server,
        path,
        {
            "Content-Encoding": "aws-chunked",
            "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "X-Amz-Decoded-Content-Length": str(len(data)),
            "X-Amz-Trailer": "x-amz-checksum-crc32",
        },
    )
    status, resp_headers, resp = raw_request(server, "PUT", path, headers, body)
    assert status == 200, resp
    assert resp_headers.get("x-amz-checksum-crc32") == crc32_b64(data)
    got = s3.get_object(Bucket=bucket, Key="trailer.txt", ChecksumMode="ENABLED")
    assert got["Body"].read() == data, "the stored object is the decoded data, not the framing"
    assert got.get("ContentEncoding") in (None, ""), "aws-chunked is how the body travelled, not stored"
    assert got["ChecksumCRC32"] == crc32_b64(data)


def test_wrong_trailing_checksum_stores_nothing(server, s3, bucket):
    data = b"some data"
    body = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n"
    body += f"x-amz-checksum-crc32:{crc32_b64(b'other data')}\r\n\r\n".encode()
    path = f"/{bucket}/bad-trailer.txt"
    headers, _, _ = sign_headers(
        server,
        path,
        {
            "Content-Encoding": "aws-chunked",
            "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "X-Amz-Decoded-Content-Length": str(len(data)),
            "X-Amz-Trailer": "x-amz-checksum-crc32",
        },
    )
    status, _, resp = raw_request(server, "PUT", path, headers, body)
    assert status == 400 and b"BadDigest" in resp, resp
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert "bad-trailer.txt" not in keys


def streaming_put(server, bucket: str, key: str, data: bytes, tamper: bool = False):
    path = f"/{bucket}/{key}"
    chunk = 64 * 1024
    n_chunks = -(-len(data) // chunk)
    # Content-Length is the framed size, which the signature covers as a header.
    framed = sum(len(f"{min(chunk, len(data) - i * chunk):x};chunk-signature=".encode()) + 64 + 4 + min(chunk, len(data) - i * chunk) for i in range(n_chunks))
    framed += len(b"0;chunk-signature=") + 64 + 4
    headers, seed, amz_date = sign_headers(
        server,
        path,
        {
            "Content-Encoding": "aws-chunked",
            "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "X-Amz-Decoded-Content-Length": str(len(data)),
            "Content-Length": str(framed),
        },
    )
    body = signed_chunks(data, chunk, seed, amz_date)
    assert len(body) == framed
    if tamper:
        # Flip one data byte of the second chunk, keeping its signature.
        at = body.index(b"\r\n", body.index(b"\r\n") + 2 + chunk) + 2
        at = body.index(b"\r\n", at) + 10
        body = body[:at] + bytes([body[at] ^ 1]) + body[at + 1 :]
    return raw_request(server, "PUT", path, headers, body)


def test_signed_chunks_are_verified(server, s3, bucket):
    data = bytes(range(256)) * 1000  # 256,000 bytes: four chunks and a short one
    status, _, resp = streaming_put(server, bucket, "signed.bin", data)
    assert status == 200, resp
    assert s3.get_object(Bucket=bucket, Key="signed.bin")["Body"].read() == data


def test_a_tampered_signed_chunk_is_refused(server, s3, bucket):
    data = bytes(range(256)) * 1000
    status, _, resp = streaming_put(server, bucket, "tampered.bin", data, tamper=True)
    assert status == 403 and b"SignatureDoesNotMatch" in resp, resp
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert "tampered.bin" not in keys
