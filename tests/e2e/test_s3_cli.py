"""S3 through the AWS CLI (v1), as people use it from a shell: `aws s3 mb`,
`cp` of small and multipart-sized files, `ls`, `sync` both ways, `rm
--recursive`, `rb`, `aws s3api put-object --body`, and `aws s3 presign`."""

import hashlib
import json
import os

import pytest

from conftest import aws, http_get, unique

MiB = 1024 * 1024


def run(server, *args, cwd=None):
    """Run the CLI and fail with its output if it does not exit 0."""
    code, out, err = aws(server, *args, cwd=cwd)
    assert code == 0, f"aws {' '.join(args)} exited {code}\nstdout: {out}\nstderr: {err}"
    return out


@pytest.fixture(scope="module")
def s3(server):
    return server.client("s3")


@pytest.fixture
def bucket(server):
    name = unique("cli")
    out = run(server, "s3", "mb", f"s3://{name}")
    assert f"make_bucket: {name}" in out
    return name


def test_mb_and_ls_buckets(server, s3, bucket):
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    listed = run(server, "s3", "ls")
    # Each line is "<date> <time> <name>".
    assert any(line.split()[-1] == bucket for line in listed.splitlines()), listed


def test_cp_small_file_both_ways(server, s3, bucket, tmp_path):
    src = tmp_path / "hello.txt"
    src.write_text("hello from the cli\n")
    out = run(server, "s3", "cp", str(src), f"s3://{bucket}/docs/hello.txt")
    # The CLI prints the local path relative to its working directory.
    assert "upload: " in out and f"hello.txt to s3://{bucket}/docs/hello.txt" in out, out
    got = s3.get_object(Bucket=bucket, Key="docs/hello.txt")
    assert got["Body"].read() == src.read_bytes()
    # The CLI guesses the content type from the extension.
    assert got["ContentType"] == "text/plain"

    dst = tmp_path / "back.txt"
    run(server, "s3", "cp", f"s3://{bucket}/docs/hello.txt", str(dst))
    assert dst.read_bytes() == src.read_bytes()


def test_cp_large_file_uses_multipart(server, s3, bucket, tmp_path):
    src = tmp_path / "large.bin"
    data = os.urandom(20 * MiB)
    src.write_bytes(data)
    run(server, "s3", "cp", str(src), f"s3://{bucket}/large.bin")
    head = s3.head_object(Bucket=bucket, Key="large.bin")
    assert head["ContentLength"] == len(data)
    # Above the CLI's 8 MiB threshold it uploads in 8 MiB parts: 8+8+4.
    assert head["ETag"].endswith('-3"'), head["ETag"]

    dst = tmp_path / "large-back.bin"
    run(server, "s3", "cp", f"s3://{bucket}/large.bin", str(dst))
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_ls_recursive(server, bucket, tmp_path):
    for key, body in {"a.txt": "1", "dir/b.txt": "22", "dir/sub/c.txt": "333"}.items():
        path = tmp_path / key.replace("/", "_")
        path.write_text(body)
        run(server, "s3", "cp", str(path), f"s3://{bucket}/{key}")

    top = run(server, "s3", "ls", f"s3://{bucket}/")
    assert "PRE dir/" in top, top
    assert top.splitlines()[-1].split()[-1] == "a.txt", top

    rec = run(server, "s3", "ls", "--recursive", f"s3://{bucket}")
    rows = [line.split() for line in rec.splitlines()]
    # "<date> <time> <size> <key>"
    assert [(r[2], r[3]) for r in rows] == [("1", "a.txt"), ("2", "dir/b.txt"), ("3", "dir/sub/c.txt")], rec


def test_sync_up_and_down(server, s3, bucket, tmp_path):
    up = tmp_path / "up"
    files = {
        "top.txt": b"top level\n",
        "nested/deeper/file.bin": os.urandom(100_000),
        "with space/name with space.txt": b"spaces\n",
        "unicode/ñandú.txt": "ñandú\n".encode(),
        "empty.dat": b"",
    }
    for rel, data in files.items():
        path = up / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    run(server, "s3", "sync", str(up), f"s3://{bucket}/tree")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="tree/")["Contents"])
    assert keys == sorted(f"tree/{rel}" for rel in files)

    # A second sync has nothing to do.
    again = run(server, "s3", "sync", str(up), f"s3://{bucket}/tree")
    assert "upload:" not in again, again

    down = tmp_path / "down"
    run(server, "s3", "sync", f"s3://{bucket}/tree", str(down))
    for rel, data in files.items():
        assert (down / rel).read_bytes() == data, rel

    # A changed file is uploaded again; --delete removes what is gone locally.
    (up / "top.txt").write_bytes(b"changed contents\n")
    (up / "empty.dat").unlink()
    out = run(server, "s3", "sync", "--delete", str(up), f"s3://{bucket}/tree")
    assert "upload:" in out and "delete:" in out, out
    assert s3.get_object(Bucket=bucket, Key="tree/top.txt")["Body"].read() == b"changed contents\n"
    assert "tree/empty.dat" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="tree/")["Contents"]]


def test_rm_recursive_and_rb(server, s3, bucket, tmp_path):
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"junk/{i}", Body=b"x")
    s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
    out = run(server, "s3", "rm", "--recursive", f"s3://{bucket}/junk/")
    assert out.count("delete:") == 5, out
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["keep"]

    # rb refuses a non-empty bucket, then --force empties and removes it.
    code, _, err = aws(server, "s3", "rb", f"s3://{bucket}")
    assert code != 0
    assert "BucketNotEmpty" in err, err
    run(server, "s3", "rb", "--force", f"s3://{bucket}")
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_rb_empty_bucket(server, s3):
    name = unique("cli-rb")
    run(server, "s3", "mb", f"s3://{name}")
    out = run(server, "s3", "rb", f"s3://{name}")
    assert f"remove_bucket: {name}" in out
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_s3api_put_object_body(server, s3, bucket, tmp_path):
    body = tmp_path / "body.json"
    body.write_text('{"k": "v"}')
    out = run(
        server,
        "s3api",
        "put-object",
        "--bucket",
        bucket,
        "--key",
        "api/object.json",
        "--body",
        str(body),
        "--content-type",
        "application/json",
        "--metadata",
        "origin=cli",
    )
    etag = json.loads(out)["ETag"]
    assert etag == f'"{hashlib.md5(body.read_bytes()).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="api/object.json")
    assert got["Body"].read() == body.read_bytes()
    assert got["ContentType"] == "application/json"
    assert got["Metadata"] == {"origin": "cli"}

    head = json.loads(run(server, "s3api", "head-object", "--bucket", bucket, "--key", "api/object.json"))
    assert head["ContentLength"] == len(body.read_bytes())
    assert head["ETag"] == etag


def test_presign(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="shared/report.txt", Body=b"presigned via cli")
    url = run(server, "s3", "presign", f"s3://{bucket}/shared/report.txt", "--expires-in", "300").strip()
    assert url.startswith(server.url), url
    status, _, body = http_get(url)
    assert status == 200, body
    assert body == b"presigned via cli"
