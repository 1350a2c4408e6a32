"""S3 multipart uploads through boto3: create/upload/complete and the
resulting multipart ETag, ListParts and ListMultipartUploads, abort, the
errors S3 gives for bad part lists and part numbers, UploadPartCopy with a
byte range, boto3's managed transfers (upload_file/download_file), and
composite CRC32 checksums."""

import base64
import hashlib
import os
import zlib

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from conftest import error_code, http_status, unique

MiB = 1024 * 1024


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(parts: list[bytes]) -> str:
    """S3's ETag of a multipart object: md5 of the concatenated binary part
    md5s, then "-<number of parts>", in quotes."""
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def crc32_raw(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


@pytest.fixture(scope="module")
def s3(server):
    return server.client("s3")


@pytest.fixture
def bucket(s3):
    name = unique("mpu")
    s3.create_bucket(Bucket=name)
    return name


def upload_parts(s3, bucket, key, upload_id, parts):
    done = []
    for number, data in enumerate(parts, start=1):
        resp = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data)
        assert resp["ETag"] == f'"{md5_hex(data)}"', f"part {number}"
        done.append({"PartNumber": number, "ETag": resp["ETag"]})
    return done


def test_three_part_upload(s3, bucket):
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(1024)]
    created = s3.create_multipart_upload(Bucket=bucket, Key="big/object.bin", ContentType="application/x-test", Metadata={"m": "v"})
    assert created["Bucket"] == bucket
    assert created["Key"] == "big/object.bin"
    upload_id = created["UploadId"]
    assert upload_id

    done = upload_parts(s3, bucket, "big/object.bin", upload_id, parts)
    # Nothing is visible under the key until the upload completes.
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="big/object.bin")
    assert http_status(exc) == 404

    completed = s3.complete_multipart_upload(
        Bucket=bucket, Key="big/object.bin", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    expected_etag = multipart_etag(parts)
    assert completed["ETag"] == expected_etag
    assert completed["ETag"].endswith('-3"')
    assert completed["Bucket"] == bucket
    assert completed["Key"] == "big/object.bin"

    got = s3.get_object(Bucket=bucket, Key="big/object.bin")
    assert got["Body"].read() == b"".join(parts)
    assert got["ETag"] == expected_etag
    assert got["ContentLength"] == sum(map(len, parts))
    # Headers given at creation belong to the final object.
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"m": "v"}

    # The upload is gone once completed.
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="big/object.bin", UploadId=upload_id)
    assert error_code(exc) == "NoSuchUpload"


def test_get_object_by_part_number(s3, bucket):
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"last part"]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="parted")["UploadId"]
    done = upload_parts(s3, bucket, "parted", upload_id, parts)
    s3.complete_multipart_upload(Bucket=bucket, Key="parted", UploadId=upload_id, MultipartUpload={"Parts": done})
    # PartNumber on GET/HEAD addresses one part, with the part count; this
    # is how parallel downloaders fetch a multipart object part by part.
    for number, data in enumerate(parts, start=1):
        got = s3.get_object(Bucket=bucket, Key="parted", PartNumber=number)
        assert got["Body"].read() == data, f"part {number}"
        assert got.get("PartsCount") == 3
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    head = s3.head_object(Bucket=bucket, Key="parted", PartNumber=2)
    assert head["ContentLength"] == len(parts[1])
    assert head.get("PartsCount") == 3


def test_list_parts_uploads_and_abort(s3, bucket):
    key = "listed"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    other_id = s3.create_multipart_upload(Bucket=bucket, Key="other")["UploadId"]
    parts = [os.urandom(5 * MiB), b"tail" * 100]
    done = upload_parts(s3, bucket, key, upload_id, parts)

    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert listed["UploadId"] == upload_id
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed["Parts"]] == [
        (d["PartNumber"], d["ETag"], len(data)) for d, data in zip(done, parts)
    ]
    assert listed["IsTruncated"] is False

    page = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=1)
    assert [p["PartNumber"] for p in page["Parts"]] == [1]
    assert page["IsTruncated"] is True
    rest = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=page["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in rest["Parts"]] == [2]

    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert sorted((u["Key"], u["UploadId"]) for u in uploads) == sorted([(key, upload_id), ("other", other_id)])
    assert all("Initiated" in u for u in uploads)
    only = s3.list_multipart_uploads(Bucket=bucket, Prefix="oth")["Uploads"]
    assert [u["UploadId"] for u in only] == [other_id]

    resp = s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert error_code(exc) == "NoSuchUpload"
    assert http_status(exc) == 404
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=3, Body=b"late")
    assert error_code(exc) == "NoSuchUpload"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done})
    assert error_code(exc) == "NoSuchUpload"
    remaining = [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    assert remaining == [other_id]
    s3.abort_multipart_upload(Bucket=bucket, Key="other", UploadId=other_id)


def test_unknown_upload_id(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="k", UploadId="no-such-upload", PartNumber=1, Body=b"x")
    assert error_code(exc) == "NoSuchUpload"
    assert http_status(exc) == 404


def test_part_too_small(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    # Every part but the last must be at least 5 MiB; the check is at completion.
    done = upload_parts(s3, bucket, "small", upload_id, [os.urandom(1 * MiB), os.urandom(1 * MiB)])
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=upload_id, MultipartUpload={"Parts": done})
    assert error_code(exc) == "EntityTooSmall"
    assert http_status(exc) == 400


def test_single_small_part_is_fine(s3, bucket):
    # The last (here only) part may be any size.
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="one")["UploadId"]
    done = upload_parts(s3, bucket, "one", upload_id, [b"just one small part"])
    completed = s3.complete_multipart_upload(Bucket=bucket, Key="one", UploadId=upload_id, MultipartUpload={"Parts": done})
    assert completed["ETag"] == multipart_etag([b"just one small part"])
    assert s3.get_object(Bucket=bucket, Key="one")["Body"].read() == b"just one small part"


def test_misordered_and_wrong_parts(s3, bucket):
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"end"]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="order")["UploadId"]
    done = upload_parts(s3, bucket, "order", upload_id, parts)

    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="order", UploadId=upload_id, MultipartUpload={"Parts": [done[1], done[0], done[2]]}
        )
    assert error_code(exc) == "InvalidPartOrder"
    assert http_status(exc) == 400

    wrong = [dict(done[0]), done[1], done[2]]
    wrong[0]["ETag"] = '"0123456789abcdef0123456789abcdef"'
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="order", UploadId=upload_id, MultipartUpload={"Parts": wrong})
    assert error_code(exc) == "InvalidPart"
    assert http_status(exc) == 400

    missing = [done[0], done[1], {"PartNumber": 7, "ETag": done[2]["ETag"]}]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="order", UploadId=upload_id, MultipartUpload={"Parts": missing})
    assert error_code(exc) == "InvalidPart"

    # The failed attempts left the upload intact: a correct list completes.
    completed = s3.complete_multipart_upload(Bucket=bucket, Key="order", UploadId=upload_id, MultipartUpload={"Parts": done})
    assert completed["ETag"] == multipart_etag(parts)


def test_completing_a_subset_of_parts(s3, bucket):
    # Parts that were uploaded but not listed are left out of the object.
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"third"]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="subset")["UploadId"]
    done = upload_parts(s3, bucket, "subset", upload_id, parts)
    s3.complete_multipart_upload(Bucket=bucket, Key="subset", UploadId=upload_id, MultipartUpload={"Parts": [done[0], done[2]]})
    assert s3.get_object(Bucket=bucket, Key="subset")["Body"].read() == parts[0] + parts[2]


def test_reuploading_a_part_replaces_it(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="redo")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="redo", UploadId=upload_id, PartNumber=1, Body=b"old")
    etag = s3.upload_part(Bucket=bucket, Key="redo", UploadId=upload_id, PartNumber=1, Body=b"new")["ETag"]
    assert len(s3.list_parts(Bucket=bucket, Key="redo", UploadId=upload_id)["Parts"]) == 1
    s3.complete_multipart_upload(
        Bucket=bucket, Key="redo", UploadId=upload_id, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}
    )
    assert s3.get_object(Bucket=bucket, Key="redo")["Body"].read() == b"new"


@pytest.mark.parametrize("number", [0, 10001, -1])
def test_part_number_out_of_range(s3, bucket, number):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="numbers")["UploadId"]
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="numbers", UploadId=upload_id, PartNumber=number, Body=b"x")
    assert error_code(exc) == "InvalidArgument"
    assert http_status(exc) == 400
    # 10000 is the highest valid part number.
    s3.upload_part(Bucket=bucket, Key="numbers", UploadId=upload_id, PartNumber=10000, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key="numbers", UploadId=upload_id)


def test_upload_part_copy_with_range(s3, bucket):
    source = os.urandom(12 * MiB)
    src_bucket = unique("mpu-src")
    s3.create_bucket(Bucket=src_bucket)
    s3.put_object(Bucket=src_bucket, Key="source.bin", Body=source)

    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    first = s3.upload_part_copy(
        Bucket=bucket,
        Key="assembled",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": src_bucket, "Key": "source.bin"},
        CopySourceRange=f"bytes={6 * MiB}-{12 * MiB - 1}",
    )
    first_etag = first["CopyPartResult"]["ETag"]
    assert first_etag == f'"{md5_hex(source[6 * MiB:])}"'
    second = s3.upload_part_copy(
        Bucket=bucket,
        Key="assembled",
        UploadId=upload_id,
        PartNumber=2,
        CopySource=f"{src_bucket}/source.bin",
        CopySourceRange=f"bytes=0-{5 * MiB - 1}",
    )
    third = s3.upload_part(Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=3, Body=b"own bytes")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="assembled",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": first_etag},
                {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]},
                {"PartNumber": 3, "ETag": third["ETag"]},
            ]
        },
    )
    data = s3.get_object(Bucket=bucket, Key="assembled")["Body"].read()
    assert data == source[6 * MiB:] + source[:5 * MiB] + b"own bytes"

    # A range outside the source object is refused.
    with pytest.raises(ClientError) as exc:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="assembled2",
            UploadId=s3.create_multipart_upload(Bucket=bucket, Key="assembled2")["UploadId"],
            PartNumber=1,
            CopySource={"Bucket": src_bucket, "Key": "source.bin"},
            CopySourceRange=f"bytes={13 * MiB}-{14 * MiB}",
        )
    assert error_code(exc) in ("InvalidRange", "InvalidArgument"), exc.value.response


def test_upload_file_and_download_file(s3, bucket, tmp_path):
    src = tmp_path / "twenty.bin"
    src.write_bytes(os.urandom(20 * MiB))
    config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB)
    s3.upload_file(str(src), bucket, "transfers/twenty.bin", Config=config)

    head = s3.head_object(Bucket=bucket, Key="transfers/twenty.bin")
    assert head["ContentLength"] == 20 * MiB
    # 8 + 8 + 4 MiB: the ETag shows three parts.
    data = src.read_bytes()
    assert head["ETag"] == multipart_etag([data[:8 * MiB], data[8 * MiB:16 * MiB], data[16 * MiB:]])

    dst = tmp_path / "back.bin"
    s3.download_file(bucket, "transfers/twenty.bin", str(dst), Config=config)
    assert dst.read_bytes() == data


def test_composite_crc32_checksum(s3, bucket):
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(3000)]
    created = s3.create_multipart_upload(Bucket=bucket, Key="summed", ChecksumAlgorithm="CRC32")
    assert created.get("ChecksumAlgorithm") == "CRC32"
    upload_id = created["UploadId"]
    done = []
    for number, data in enumerate(parts, start=1):
        resp = s3.upload_part(
            Bucket=bucket, Key="summed", UploadId=upload_id, PartNumber=number, Body=data, ChecksumAlgorithm="CRC32"
        )
        assert resp.get("ChecksumCRC32") == base64.b64encode(crc32_raw(data)).decode(), f"part {number}"
        done.append({"PartNumber": number, "ETag": resp["ETag"], "ChecksumCRC32": resp["ChecksumCRC32"]})

    # Checked at the end, so a gap here does not hide the rest.
    listed = s3.list_parts(Bucket=bucket, Key="summed", UploadId=upload_id)

    completed = s3.complete_multipart_upload(Bucket=bucket, Key="summed", UploadId=upload_id, MultipartUpload={"Parts": done})
    # A composite checksum is the CRC32 of the parts' CRC32s, then "-N".
    composite = base64.b64encode(crc32_raw(b"".join(crc32_raw(p) for p in parts))).decode() + f"-{len(parts)}"
    assert completed.get("ChecksumCRC32") == composite, completed

    head = s3.head_object(Bucket=bucket, Key="summed", ChecksumMode="ENABLED")
    assert head.get("ChecksumCRC32") == composite
    got = s3.get_object(Bucket=bucket, Key="summed", ChecksumMode="ENABLED")
    assert got.get("ChecksumCRC32") == composite
    assert got["Body"].read() == b"".join(parts)

    # ListParts reports each part's checksum for uploads that have one.
    assert listed.get("ChecksumAlgorithm") == "CRC32"
    assert [p.get("ChecksumCRC32") for p in listed["Parts"]] == [d["ChecksumCRC32"] for d in done]


def test_wrong_part_checksum_is_refused(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="badsum", ChecksumAlgorithm="CRC32")["UploadId"]
    bad = base64.b64encode(crc32_raw(b"not the body")).decode()
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="badsum", UploadId=upload_id, PartNumber=1, Body=b"the body", ChecksumCRC32=bad)
    assert error_code(exc) in ("BadDigest", "InvalidRequest"), exc.value.response
    assert http_status(exc) == 400
    assert not s3.list_parts(Bucket=bucket, Key="badsum", UploadId=upload_id).get("Parts")
