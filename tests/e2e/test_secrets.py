"""Secrets Manager through boto3 and the AWS CLI: secrets with string and binary
values, versions and staging labels (PutSecretValue, UpdateSecret,
UpdateSecretVersionStage, ListSecretVersionIds), ClientRequestToken
idempotency, DescribeSecret's dates and maps, ListSecrets' filters, sorting
and pages, BatchGetSecretValue, deletion with a recovery window, restore and
forced deletion, GetRandomPassword, tags, every error code the service
answers with, rotation by a Python function that runs AWS's four steps
through the API, state surviving kill -9, and values encrypted at rest (no
plaintext in any file of the data dir or in the server's log, and no value
readable with another master key).

Rotation functions use the boto3 of the tests' venv (the shared server's
--python-sdk-path) and reach Eddy through AWS_ENDPOINT_URL; they append each
step they run to a file under the test's tmp dir so the test sees the steps."""

import base64
import datetime
import json
import os
import secrets as pysecrets
import shutil
import string
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, REGION, aws, create_function, error_code, error_message, unique, wait_until

ROTATOR = """
import json
import os

import boto3


def record(step, token):
    with open(os.environ["OUT_FILE"], "a") as fh:
        fh.write(json.dumps({"step": step, "token": token}) + "\\n")


def handler(event, context):
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    sm = boto3.client("secretsmanager")
    meta = sm.describe_secret(SecretId=arn)
    if not meta.get("RotationEnabled"):
        raise ValueError("secret is not enabled for rotation")
    versions = meta["VersionIdsToStages"]
    if token not in versions:
        raise ValueError("the version has no stage for rotation")
    record(step, token)
    if "AWSCURRENT" in versions[token]:
        return
    if "AWSPENDING" not in versions[token]:
        raise ValueError("the version is not AWSPENDING")
    if os.environ.get("FAIL_STEP") == step:
        raise RuntimeError(step + " failing on purpose")
    if step == "createSecret":
        current = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
        try:
            sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        except sm.exceptions.ResourceNotFoundException:
            current["password"] = sm.get_random_password(ExcludeCharacters="/@\\"'\\\\")["RandomPassword"]
            sm.put_secret_value(
                SecretId=arn, ClientRequestToken=token,
                SecretString=json.dumps(current), VersionStages=["AWSPENDING"],
            )
    elif step == "setSecret":
        pass
    elif step == "testSecret":
        pending = sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        if not json.loads(pending["SecretString"]).get("password"):
            raise ValueError("the pending value has no password")
    elif step == "finishSecret":
        current = next(v for v, stages in versions.items() if "AWSCURRENT" in stages)
        sm.update_secret_version_stage(
            SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current,
        )
    else:
        raise ValueError("unknown step " + step)
"""

STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


@pytest.fixture(scope="module")
def sm(server):
    return server.client("secretsmanager")


def arn_prefix(name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{name}-"


def stages(sm, secret_id: str) -> dict:
    return sm.describe_secret(SecretId=secret_id)["VersionIdsToStages"]


def value(sm, secret_id: str, **kwargs) -> str:
    return sm.get_secret_value(SecretId=secret_id, **kwargs)["SecretString"]


def fails(code: str, fn, *args, **kwargs) -> str:
    """Calls fn, which must fail with AWS error `code`; returns the message."""
    with pytest.raises(ClientError) as exc:
        fn(*args, **kwargs)
    assert error_code(exc) == code, exc.value.response
    return error_message(exc)


def token(n: int) -> str:
    return f"{n:08d}-0000-4000-8000-{pysecrets.token_hex(6)}"


def names_of(secret_list) -> list[str]:
    return [s["Name"] for s in secret_list]


def today_utc() -> datetime.date:
    return datetime.datetime.now(datetime.timezone.utc).date()


# --------------------------------------------------------------------------
# Values, versions and labels
# --------------------------------------------------------------------------


def test_create_get_put_and_stages(sm):
    name = f"{unique('app')}/db"
    t1, t2 = token(1), token(2)
    created = sm.create_secret(Name=name, SecretString='{"user":"app","password":"one"}', ClientRequestToken=t1)
    arn = created["ARN"]
    assert arn.startswith(arn_prefix(name))
    suffix = arn[len(arn_prefix(name)):]
    assert len(suffix) == 6 and suffix.isalnum(), arn
    assert created["Name"] == name and created["VersionId"] == t1

    # The name, the full ARN and the ARN without its suffix all name the secret.
    for secret_id in (name, arn, arn[: -len(suffix) - 1]):
        got = sm.get_secret_value(SecretId=secret_id)
        assert json.loads(got["SecretString"]) == {"user": "app", "password": "one"}
        assert got["ARN"] == arn and got["Name"] == name and got["VersionId"] == t1
        assert got["VersionStages"] == ["AWSCURRENT"]
        assert isinstance(got["CreatedDate"], datetime.datetime)
    fails("ResourceNotFoundException", sm.get_secret_value, SecretId=arn[:-6] + "zzzzzz")

    put = sm.put_secret_value(SecretId=name, SecretString='{"user":"app","password":"two"}', ClientRequestToken=t2)
    assert put["ARN"] == arn and put["VersionId"] == t2 and put["VersionStages"] == ["AWSCURRENT"]
    assert stages(sm, name) == {t1: ["AWSPREVIOUS"], t2: ["AWSCURRENT"]}
    assert json.loads(value(sm, name))["password"] == "two"
    assert json.loads(value(sm, name, VersionStage="AWSPREVIOUS"))["password"] == "one"
    assert json.loads(value(sm, name, VersionId=t1))["password"] == "one"
    assert value(sm, name, VersionId=t2, VersionStage="AWSCURRENT") == value(sm, name)
    fails("InvalidRequestException", sm.get_secret_value, SecretId=name, VersionId=t1, VersionStage="AWSCURRENT")
    msg = fails("ResourceNotFoundException", sm.get_secret_value, SecretId=name, VersionStage="AWSPENDING")
    assert "AWSPENDING" in msg
    fails("ResourceNotFoundException", sm.get_secret_value, SecretId=name, VersionId=token(9))

    # A version with its own label leaves AWSCURRENT alone; a third value retires the first.
    t3, t4 = token(3), token(4)
    sm.put_secret_value(SecretId=name, SecretString="beta", ClientRequestToken=t3, VersionStages=["beta"])
    assert stages(sm, name) == {t1: ["AWSPREVIOUS"], t2: ["AWSCURRENT"], t3: ["beta"]}
    assert value(sm, name, VersionStage="beta") == "beta"
    sm.put_secret_value(SecretId=name, SecretString="three", ClientRequestToken=t4)
    assert stages(sm, name) == {t2: ["AWSPREVIOUS"], t3: ["beta"], t4: ["AWSCURRENT"]}


def test_client_request_token_makes_retries_safe(sm):
    name = unique("idem")
    t = token(1)
    first = sm.create_secret(Name=name, SecretString="same", ClientRequestToken=t)
    again = sm.create_secret(Name=name, SecretString="same", ClientRequestToken=t)
    assert {k: again[k] for k in ("ARN", "Name", "VersionId")} == {k: first[k] for k in ("ARN", "Name", "VersionId")}
    fails("ResourceExistsException", sm.create_secret, Name=name, SecretString="other", ClientRequestToken=t)
    msg = fails("ResourceExistsException", sm.create_secret, Name=name, SecretString="same")
    assert name in msg

    t2 = token(2)
    sm.put_secret_value(SecretId=name, SecretString="second", ClientRequestToken=t2)
    sm.put_secret_value(SecretId=name, SecretString="second", ClientRequestToken=t2)
    assert stages(sm, name) == {t: ["AWSPREVIOUS"], t2: ["AWSCURRENT"]}
    fails("ResourceExistsException", sm.put_secret_value, SecretId=name, SecretString="third", ClientRequestToken=t2)
    fails("ResourceExistsException", sm.update_secret, SecretId=name, SecretString="second", ClientRequestToken=t2)
    assert value(sm, name) == "second"


def test_binary_secrets(sm):
    name = unique("cert")
    blob = bytes(range(256)) * 4
    sm.create_secret(Name=name, SecretBinary=blob)
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretBinary"] == blob
    assert "SecretString" not in got
    sm.put_secret_value(SecretId=name, SecretString="now text")
    assert value(sm, name) == "now text"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretBinary"] == blob
    fails("InvalidParameterException", sm.put_secret_value, SecretId=name, SecretString="a", SecretBinary=b"b")
    fails("InvalidParameterException", sm.put_secret_value, SecretId=name)
    # The 64 KiB limit, for both kinds.
    sm.put_secret_value(SecretId=name, SecretBinary=b"x" * 65536)
    fails("ValidationException", sm.put_secret_value, SecretId=name, SecretBinary=b"x" * 65537)
    fails("ValidationException", sm.put_secret_value, SecretId=name, SecretString="x" * 65537)


def test_update_secret_and_describe(sm):
    name = unique("desc")
    sm.create_secret(
        Name=name,
        SecretString="v1",
        Description="first",
        KmsKeyId="alias/my-key",
        Tags=[{"Key": "env", "Value": "test"}],
    )
    d = sm.describe_secret(SecretId=name)
    assert d["Name"] == name and d["ARN"].startswith(arn_prefix(name))
    assert d["Description"] == "first" and d["KmsKeyId"] == "alias/my-key"
    assert d["Tags"] == [{"Key": "env", "Value": "test"}]
    assert "LastAccessedDate" not in d and "DeletedDate" not in d and "RotationEnabled" not in d
    created, changed = d["CreatedDate"], d["LastChangedDate"]
    assert created <= changed

    # Metadata only: no new version.
    u = sm.update_secret(SecretId=name, Description="second")
    assert "VersionId" not in u
    assert len(stages(sm, name)) == 1
    # With a value: a new AWSCURRENT version.
    t = token(7)
    u = sm.update_secret(SecretId=name, SecretString="v2", ClientRequestToken=t, KmsKeyId="")
    assert u["VersionId"] == t
    d = sm.describe_secret(SecretId=name)
    assert d["Description"] == "second" and "KmsKeyId" not in d
    assert d["VersionIdsToStages"][t] == ["AWSCURRENT"]
    assert d["LastChangedDate"] >= changed

    # Reading records the day of the access, without the time.
    value(sm, name)
    d = sm.describe_secret(SecretId=name)
    accessed = d["LastAccessedDate"]
    assert accessed.date() == today_utc()
    assert (accessed.hour, accessed.minute, accessed.second) == (0, 0, 0)


def test_update_secret_version_stage_rules(sm):
    name = unique("stages")
    t1, t2, t3 = token(1), token(2), token(3)
    sm.create_secret(Name=name, SecretString="1", ClientRequestToken=t1)
    sm.put_secret_value(SecretId=name, SecretString="2", ClientRequestToken=t2)
    sm.put_secret_value(SecretId=name, SecretString="3", ClientRequestToken=t3, VersionStages=["canary"])
    assert stages(sm, name) == {t1: ["AWSPREVIOUS"], t2: ["AWSCURRENT"], t3: ["canary"]}

    # AWSCURRENT only moves when RemoveFromVersionId names the version that has it.
    msg = fails(
        "InvalidParameterException",
        sm.update_secret_version_stage,
        SecretId=name,
        VersionStage="AWSCURRENT",
        MoveToVersionId=t1,
    )
    assert t2 in msg
    fails(
        "InvalidParameterException",
        sm.update_secret_version_stage,
        SecretId=name,
        VersionStage="AWSCURRENT",
        MoveToVersionId=t1,
        RemoveFromVersionId=t3,
    )
    # Rolling back: AWSPREVIOUS follows to the version AWSCURRENT left.
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=t1, RemoveFromVersionId=t2)
    assert stages(sm, name) == {t1: ["AWSCURRENT"], t2: ["AWSPREVIOUS"], t3: ["canary"]}
    assert value(sm, name) == "1"
    # A custom label: added, moved, removed.
    sm.update_secret_version_stage(SecretId=name, VersionStage="canary", MoveToVersionId=t2, RemoveFromVersionId=t3)
    sm.update_secret_version_stage(SecretId=name, VersionStage="extra", MoveToVersionId=t1)
    assert stages(sm, name) == {t1: ["AWSCURRENT", "extra"], t2: ["AWSPREVIOUS", "canary"]}
    sm.update_secret_version_stage(SecretId=name, VersionStage="extra", RemoveFromVersionId=t1)
    fails(
        "InvalidParameterException",
        sm.update_secret_version_stage,
        SecretId=name,
        VersionStage="AWSCURRENT",
        RemoveFromVersionId=t1,
    )
    fails(
        "ResourceNotFoundException",
        sm.update_secret_version_stage,
        SecretId=name,
        VersionStage="canary",
        MoveToVersionId=token(9),
    )

    # The version left without labels is deprecated: listed only when asked for.
    listed = sm.list_secret_version_ids(SecretId=name)
    assert {v["VersionId"] for v in listed["Versions"]} == {t1, t2}
    assert listed["ARN"].startswith(arn_prefix(name)) and listed["Name"] == name
    everything = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    assert {v["VersionId"] for v in everything} == {t1, t2, t3}
    deprecated = next(v for v in everything if v["VersionId"] == t3)
    assert "VersionStages" not in deprecated or deprecated["VersionStages"] == []
    assert all(isinstance(v["CreatedDate"], datetime.datetime) for v in everything)
    # Pages of one.
    seen, kwargs = [], {}
    while True:
        page = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True, MaxResults=1, **kwargs)
        seen += [v["VersionId"] for v in page["Versions"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert sorted(seen) == sorted([t1, t2, t3])


def test_version_limit(sm):
    name = unique("many")
    sm.create_secret(Name=name, SecretString="0")
    for i in range(1, 100):
        sm.put_secret_value(SecretId=name, SecretString=str(i))
    # 100 versions, the deprecated ones younger than a day: no room for another.
    fails("LimitExceededException", sm.put_secret_value, SecretId=name, SecretString="100")
    assert value(sm, name) == "99"
    assert len(sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]) == 100


# --------------------------------------------------------------------------
# Listing
# --------------------------------------------------------------------------


def test_list_secrets_filters_sorting_and_pages(sm):
    p = unique("lst")
    specs = [
        (f"{p}/prod/db", "Primary database", {"team": "data", "env": "prod"}),
        (f"{p}/prod/api", "Public API key", {"team": "web", "env": "prod"}),
        (f"{p}/dev/db", "Scratch database", {"team": "data", "env": "dev"}),
        (f"{p}/dev/cache", "", {"owner": "ops"}),
    ]
    for name, desc, tags in specs:
        kwargs = {"Description": desc} if desc else {}
        sm.create_secret(Name=name, SecretString="x", Tags=[{"Key": k, "Value": v} for k, v in tags.items()], **kwargs)
    names = [s[0] for s in specs]
    prod_db, prod_api, dev_db, dev_cache = names

    def listed(*filters, **kwargs) -> list[str]:
        out, token_kw = [], {}
        while True:
            page = sm.list_secrets(Filters=[{"Key": "name", "Values": [p]}, *filters], **kwargs, **token_kw)
            out += names_of(page["SecretList"])
            if "NextToken" not in page:
                return out
            token_kw = {"NextToken": page["NextToken"]}

    # By creation date (secrets created in the same millisecond follow their names).
    first = listed()
    assert sorted(first) == sorted(names)
    dates = [
        sm.describe_secret(SecretId=n)["CreatedDate"] for n in first
    ]
    assert dates == sorted(dates)

    def expect(*subset) -> list[str]:
        return [n for n in first if n in subset]

    assert listed(SortOrder="desc") == first[::-1]
    assert listed(SortBy="name") == sorted(names)
    assert listed({"Key": "name", "Values": [f"{p}/prod"]}) == expect(prod_db, prod_api)
    # Name prefixes are case-sensitive; negation excludes.
    assert listed({"Key": "name", "Values": [f"{p}/PROD"]}) == []
    assert listed({"Key": "name", "Values": [f"!{p}/prod"]}) == expect(dev_db, dev_cache)
    assert listed({"Key": "description", "Values": ["database"]}) == expect(prod_db, dev_db)
    assert listed({"Key": "tag-key", "Values": ["own"]}) == [dev_cache]
    assert listed({"Key": "tag-value", "Values": ["data"]}) == expect(prod_db, dev_db)
    assert listed({"Key": "tag-value", "Values": ["!data"]}) == expect(prod_api, dev_cache)
    assert listed({"Key": "tag-key", "Values": ["env"]}, {"Key": "tag-value", "Values": ["dev"]}) == [dev_db]
    assert listed({"Key": "all", "Values": ["API"]}) == [prod_api]
    assert listed({"Key": "all", "Values": ["scratch"]}) == [dev_db]
    # Pages of one, in both orders.
    assert listed(MaxResults=1) == first
    assert listed(MaxResults=1, SortOrder="desc") == first[::-1]
    entry = sm.list_secrets(Filters=[{"Key": "name", "Values": [prod_db]}])["SecretList"][0]
    assert entry["Description"] == "Primary database"
    assert list(entry["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]
    assert {t["Key"] for t in entry["Tags"]} == {"team", "env"}

    # Planned deletions only when asked for.
    sm.delete_secret(SecretId=dev_cache, RecoveryWindowInDays=7)
    assert listed() == expect(prod_db, prod_api, dev_db)
    assert listed(IncludePlannedDeletion=True) == first
    fails("ValidationException", sm.list_secrets, Filters=[{"Key": "colour", "Values": ["x"]}])
    fails("ValidationException", sm.list_secrets, MaxResults=101)
    fails("InvalidNextTokenException", sm.list_secrets, NextToken="not-a-token")


def test_batch_get_secret_value(sm):
    p = unique("batch")
    for i in range(3):
        sm.create_secret(Name=f"{p}/s{i}", SecretString=f"value-{i}")
    got = sm.batch_get_secret_value(SecretIdList=[f"{p}/s0", f"{p}/missing", f"{p}/s2"])
    assert [v["SecretString"] for v in got["SecretValues"]] == ["value-0", "value-2"]
    assert got["SecretValues"][0]["VersionStages"] == ["AWSCURRENT"]
    assert got["Errors"] == [
        {
            "SecretId": f"{p}/missing",
            "ErrorCode": "ResourceNotFoundException",
            "Message": "Secrets Manager can't find the specified secret.",
        }
    ]
    seen, kwargs = [], {}
    while True:
        page = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": [p]}], MaxResults=2, **kwargs)
        seen += [v["SecretString"] for v in page["SecretValues"]]
        if "NextToken" not in page:
            break
        kwargs = {"NextToken": page["NextToken"]}
    assert sorted(seen) == ["value-0", "value-1", "value-2"]
    fails("InvalidParameterException", sm.batch_get_secret_value)
    fails(
        "InvalidParameterException",
        sm.batch_get_secret_value,
        SecretIdList=[f"{p}/s0"],
        Filters=[{"Key": "name", "Values": [p]}],
    )
    fails("InvalidParameterException", sm.batch_get_secret_value, SecretIdList=[f"{p}/s0"], MaxResults=5)


# --------------------------------------------------------------------------
# Deletion
# --------------------------------------------------------------------------


def test_delete_restore_and_force_delete(sm):
    name = unique("gone")
    arn = sm.create_secret(Name=name, SecretString="keep me")["ARN"]
    fails("InvalidParameterException", sm.delete_secret, SecretId=name, RecoveryWindowInDays=6)
    fails("InvalidParameterException", sm.delete_secret, SecretId=name, RecoveryWindowInDays=31)
    fails(
        "InvalidParameterException",
        sm.delete_secret,
        SecretId=name,
        RecoveryWindowInDays=7,
        ForceDeleteWithoutRecovery=True,
    )

    before = datetime.datetime.now(datetime.timezone.utc)
    d = sm.delete_secret(SecretId=name)
    assert d["ARN"] == arn and d["Name"] == name
    window = d["DeletionDate"] - before
    assert datetime.timedelta(days=29, hours=23) < window < datetime.timedelta(days=30, minutes=5)
    msg = fails("InvalidRequestException", sm.get_secret_value, SecretId=name)
    assert msg == "You can't perform this operation on the secret because it was marked for deletion."
    fails("InvalidRequestException", sm.put_secret_value, SecretId=name, SecretString="x")
    fails("InvalidRequestException", sm.update_secret, SecretId=name, Description="x")
    fails("InvalidRequestException", sm.tag_resource, SecretId=name, Tags=[{"Key": "a", "Value": "b"}])
    fails("InvalidRequestException", sm.delete_secret, SecretId=name)
    fails("InvalidRequestException", sm.create_secret, Name=name, SecretString="again")
    assert "DeletedDate" in sm.describe_secret(SecretId=name)

    r = sm.restore_secret(SecretId=name)
    assert r["ARN"] == arn and r["Name"] == name
    assert value(sm, name) == "keep me"
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)

    d = sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    assert datetime.timedelta(days=6, hours=23) < d["DeletionDate"] - before < datetime.timedelta(days=7, minutes=5)
    # Forcing skips the window, even for a secret already scheduled; the name is free at once.
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    fails("ResourceNotFoundException", sm.describe_secret, SecretId=name)
    new_arn = sm.create_secret(Name=name, SecretString="new")["ARN"]
    assert new_arn != arn, "a new secret gets a new ARN suffix"
    fails("ResourceNotFoundException", sm.get_secret_value, SecretId=arn)
    assert value(sm, new_arn) == "new"
    # Forcing the deletion of a secret that does not exist is not an error.
    sm.delete_secret(SecretId=unique("never"), ForceDeleteWithoutRecovery=True)


# --------------------------------------------------------------------------
# Passwords and tags
# --------------------------------------------------------------------------


def test_get_random_password(sm):
    default = sm.get_random_password()["RandomPassword"]
    assert len(default) == 32
    assert any(c.isupper() for c in default) and any(c.islower() for c in default)
    assert any(c.isdigit() for c in default) and any(c in PUNCTUATION for c in default)
    assert " " not in default
    assert len({sm.get_random_password()["RandomPassword"] for _ in range(20)}) == 20

    alnum = sm.get_random_password(PasswordLength=64, ExcludePunctuation=True)["RandomPassword"]
    assert len(alnum) == 64 and alnum.isalnum()
    lower = sm.get_random_password(
        PasswordLength=50, ExcludeUppercase=True, ExcludeNumbers=True, ExcludePunctuation=True
    )["RandomPassword"]
    assert set(lower) <= set(string.ascii_lowercase)
    digits = sm.get_random_password(
        PasswordLength=12, ExcludeUppercase=True, ExcludeLowercase=True, ExcludePunctuation=True
    )["RandomPassword"]
    assert digits.isdigit()
    spaced = sm.get_random_password(PasswordLength=30, IncludeSpace=True)["RandomPassword"]
    assert " " in spaced
    excluded = sm.get_random_password(PasswordLength=200, ExcludeCharacters="abcABC123!@#")["RandomPassword"]
    assert not set(excluded) & set("abcABC123!@#")
    loose = sm.get_random_password(PasswordLength=1, RequireEachIncludedType=False)["RandomPassword"]
    assert len(loose) == 1
    assert len(sm.get_random_password(PasswordLength=4096)["RandomPassword"]) == 4096
    fails("ValidationException", sm.get_random_password, PasswordLength=4097)
    fails("InvalidParameterException", sm.get_random_password, PasswordLength=3)
    fails(
        "InvalidParameterException",
        sm.get_random_password,
        ExcludeUppercase=True,
        ExcludeLowercase=True,
        ExcludeNumbers=True,
        ExcludePunctuation=True,
    )


def test_tags(sm):
    name = unique("tagged")
    sm.create_secret(Name=name, SecretString="x", Tags=[{"Key": "a", "Value": "1"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}]
    sm.untag_resource(SecretId=name, TagKeys=["a", "not-there"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": ""}]
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    fails("LimitExceededException", sm.tag_resource, SecretId=name, Tags=too_many)
    fails("ValidationException", sm.tag_resource, SecretId=name, Tags=[{"Key": "k" * 129, "Value": "v"}])
    fails("ResourceNotFoundException", sm.tag_resource, SecretId=unique("nope"), Tags=[{"Key": "a", "Value": "b"}])


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_every_error_code(sm, lambda_client):
    name = unique("err")
    sm.create_secret(Name=name, SecretString="x")
    missing = unique("missing")
    msg = fails("ResourceNotFoundException", sm.get_secret_value, SecretId=missing)
    assert msg == "Secrets Manager can't find the specified secret."
    for op, kwargs in [
        (sm.describe_secret, {}),
        (sm.put_secret_value, {"SecretString": "x"}),
        (sm.update_secret, {"Description": "x"}),
        (sm.delete_secret, {}),
        (sm.restore_secret, {}),
        (sm.list_secret_version_ids, {}),
        (sm.untag_resource, {"TagKeys": ["a"]}),
        (sm.cancel_rotate_secret, {}),
        (sm.update_secret_version_stage, {"VersionStage": "x", "MoveToVersionId": token(1)}),
    ]:
        fails("ResourceNotFoundException", op, SecretId=missing, **kwargs)
    msg = fails("InvalidParameterException", sm.create_secret, Name="has space!", SecretString="x")
    assert msg.startswith("Invalid name.")
    fails("ValidationException", sm.create_secret, Name="n" * 513, SecretString="x")
    fails("ValidationException", sm.create_secret, Name=unique("d"), Description="d" * 2049)
    fails("ResourceExistsException", sm.create_secret, Name=name, SecretString="x")
    fails("InvalidRequestException", sm.rotate_secret, SecretId=name)
    fails(
        "AccessDeniedException",
        sm.rotate_secret,
        SecretId=name,
        RotationLambdaARN=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{unique('no-such-fn')}",
    )
    fails("InvalidRequestException", sm.cancel_rotate_secret, SecretId=name)
    fails("LimitExceededException", sm.tag_resource, SecretId=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    fails("InvalidNextTokenException", sm.list_secret_version_ids, SecretId=name, NextToken="bogus")
    fails("ValidationException", sm.get_secret_value, SecretId=name, VersionId="v" * 65)
    for op, kwargs in [
        (sm.put_resource_policy, {"SecretId": name, "ResourcePolicy": "{}"}),
        (sm.get_resource_policy, {"SecretId": name}),
        (sm.replicate_secret_to_regions, {"SecretId": name, "AddReplicaRegions": [{"Region": "eu-west-1"}]}),
    ]:
        with pytest.raises(ClientError) as exc:
            op(**kwargs)
        assert error_code(exc) == "NotImplemented"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name=unique("replica"), SecretString="x", AddReplicaRegions=[{"Region": "eu-west-1"}])
    assert error_code(exc) == "NotImplemented"


# --------------------------------------------------------------------------
# The AWS CLI
# --------------------------------------------------------------------------


def test_aws_cli(server):
    key = pysecrets.token_hex(8)
    rc, out, err = aws(
        server, "secretsmanager", "create-secret", "--name", "shop/api-key", "--secret-string", f'{{"key":"{key}"}}'
    )
    assert rc == 0, err
    created = json.loads(out)
    assert created["Name"] == "shop/api-key" and created["ARN"].startswith(arn_prefix("shop/api-key"))

    rc, out, err = aws(server, "secretsmanager", "get-secret-value", "--secret-id", "shop/api-key")
    assert rc == 0, err
    got = json.loads(out)
    assert json.loads(got["SecretString"]) == {"key": key}
    assert got["VersionStages"] == ["AWSCURRENT"]
    rc, out, err = aws(
        server, "secretsmanager", "get-secret-value", "--secret-id", created["ARN"],
        "--query", "SecretString", "--output", "text",
    )
    assert rc == 0 and json.loads(out) == {"key": key}, err

    rc, out, err = aws(server, "secretsmanager", "put-secret-value", "--secret-id", "shop/api-key",
                       "--secret-string", '{"key":"rotated"}')
    assert rc == 0, err
    rc, out, err = aws(server, "secretsmanager", "describe-secret", "--secret-id", "shop/api-key")
    assert rc == 0, err
    assert sorted(sum(json.loads(out)["VersionIdsToStages"].values(), [])) == ["AWSCURRENT", "AWSPREVIOUS"]
    # The CLI follows NextToken itself.
    rc, out, err = aws(server, "secretsmanager", "list-secrets", "--filters", "Key=name,Values=shop/",
                       "--page-size", "1")
    assert rc == 0, err
    assert "shop/api-key" in names_of(json.loads(out)["SecretList"])
    rc, out, err = aws(server, "secretsmanager", "get-random-password", "--password-length", "20",
                       "--exclude-punctuation", "--output", "text")
    assert rc == 0 and len(out.strip()) == 20 and out.strip().isalnum(), err
    rc, out, err = aws(server, "secretsmanager", "get-secret-value", "--secret-id", "shop/nothing")
    assert rc != 0 and "ResourceNotFoundException" in err
    rc, out, err = aws(server, "secretsmanager", "delete-secret", "--secret-id", "shop/api-key",
                       "--force-delete-without-recovery")
    assert rc == 0, err


# --------------------------------------------------------------------------
# Rotation
# --------------------------------------------------------------------------


def steps_recorded(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def make_rotator(lambda_client, out_file: Path, **env) -> str:
    name = unique("rotator")
    resp = create_function(
        lambda_client,
        name,
        "python3.12",
        "app.handler",
        {"app.py": ROTATOR},
        Timeout=60,
        Environment={"Variables": {"OUT_FILE": str(out_file), **env}},
    )
    return resp["FunctionArn"]


def test_rotation_with_a_python_function(sm, lambda_client, tmp_path):
    out = tmp_path / "steps.jsonl"
    function = make_rotator(lambda_client, out)
    name = unique("rotated")
    t0 = token(0)
    sm.create_secret(Name=name, SecretString=json.dumps({"user": "app", "password": "initial"}), ClientRequestToken=t0)

    t1 = token(1)
    r = sm.rotate_secret(
        SecretId=name, RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 30}, ClientRequestToken=t1
    )
    assert r["VersionId"] == t1 and r["Name"] == name
    # RotateSecret answers at once; the steps run after it, in order.
    wait_until(lambda: len(steps_recorded(out)) >= 4, timeout=90, message=lambda: f"steps: {steps_recorded(out)}")
    assert [s["step"] for s in steps_recorded(out)] == STEPS
    assert all(s["token"] == t1 for s in steps_recorded(out))
    wait_until(lambda: stages(sm, name).get(t1) and "AWSCURRENT" in stages(sm, name)[t1], timeout=30)
    st = stages(sm, name)
    assert st[t0] == ["AWSPREVIOUS"]
    assert "AWSCURRENT" in st[t1] and set(st[t1]) <= {"AWSCURRENT", "AWSPENDING"}
    rotated = json.loads(value(sm, name))
    assert rotated["user"] == "app" and rotated["password"] not in ("", "initial")
    assert json.loads(value(sm, name, VersionStage="AWSPREVIOUS"))["password"] == "initial"

    d = wait_until(lambda: (lambda d: d if "LastRotatedDate" in d else None)(sm.describe_secret(SecretId=name)))
    assert d["RotationEnabled"] is True and d["RotationLambdaARN"] == function
    assert d["RotationRules"]["AutomaticallyAfterDays"] == 30
    next_date = d["NextRotationDate"] - d["LastRotatedDate"]
    assert datetime.timedelta(days=29) < next_date < datetime.timedelta(days=32)

    # Rotating again uses the stored configuration.
    t2 = token(2)
    sm.rotate_secret(SecretId=name, ClientRequestToken=t2)
    wait_until(lambda: "AWSCURRENT" in stages(sm, name).get(t2, []), timeout=90)
    st = stages(sm, name)
    assert "AWSPREVIOUS" in st[t1] and t0 not in st
    assert json.loads(value(sm, name))["password"] != rotated["password"]

    c = sm.cancel_rotate_secret(SecretId=name)
    assert "VersionId" not in c
    d = sm.describe_secret(SecretId=name)
    assert d["RotationEnabled"] is False and "NextRotationDate" not in d


def test_failed_rotation_leaves_awspending(sm, lambda_client, tmp_path):
    out = tmp_path / "steps.jsonl"
    function = make_rotator(lambda_client, out, FAIL_STEP="setSecret")
    name = unique("rotfail")
    t0, t1 = token(0), token(1)
    sm.create_secret(Name=name, SecretString=json.dumps({"password": "initial"}), ClientRequestToken=t0)
    sm.rotate_secret(SecretId=name, RotationLambdaARN=function, ClientRequestToken=t1)
    wait_until(lambda: "setSecret" in [s["step"] for s in steps_recorded(out)], timeout=90)
    # createSecret filled the pending version; setSecret failed, so AWSCURRENT stayed.
    pending = wait_until(lambda: sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING"))
    assert pending["VersionId"] == t1
    assert json.loads(value(sm, name))["password"] == "initial"
    assert stages(sm, name) == {t0: ["AWSCURRENT"], t1: ["AWSPENDING"]}
    msg = fails("InvalidRequestException", sm.rotate_secret, SecretId=name)
    assert "previous rotation" in msg
    assert "LastRotatedDate" not in sm.describe_secret(SecretId=name)
    # Cancelling names the unfinished version; removing its label unblocks rotation.
    assert sm.cancel_rotate_secret(SecretId=name)["VersionId"] == t1
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSPENDING", RemoveFromVersionId=t1)
    assert stages(sm, name) == {t0: ["AWSCURRENT"]}
    assert [s["step"] for s in steps_recorded(out)] == ["createSecret", "setSecret"]


# --------------------------------------------------------------------------
# Durability and encryption at rest
# --------------------------------------------------------------------------


def test_state_survives_kill9(fresh_server):
    srv = fresh_server()
    sm = srv.client("secretsmanager")
    t1, t2 = token(1), token(2)
    arn = sm.create_secret(
        Name="app/db", SecretString="first", ClientRequestToken=t1, Description="db", Tags=[{"Key": "k", "Value": "v"}]
    )["ARN"]
    sm.put_secret_value(SecretId="app/db", SecretString="second", ClientRequestToken=t2)
    sm.create_secret(Name="app/bin", SecretBinary=b"\x00\x01\xff")
    sm.create_secret(Name="app/old", SecretString="old")
    sm.delete_secret(SecretId="app/old", RecoveryWindowInDays=7)
    srv.kill9()
    srv.start()
    sm = srv.client("secretsmanager")
    assert sm.describe_secret(SecretId="app/db")["ARN"] == arn
    assert value(sm, arn) == "second"
    assert value(sm, "app/db", VersionStage="AWSPREVIOUS") == "first"
    assert stages(sm, "app/db") == {t1: ["AWSPREVIOUS"], t2: ["AWSCURRENT"]}
    d = sm.describe_secret(SecretId="app/db")
    assert d["Description"] == "db" and d["Tags"] == [{"Key": "k", "Value": "v"}]
    assert sm.get_secret_value(SecretId="app/bin")["SecretBinary"] == b"\x00\x01\xff"
    fails("InvalidRequestException", sm.get_secret_value, SecretId="app/old")
    sm.restore_secret(SecretId="app/old")
    assert value(sm, "app/old") == "old"


def files_under(root: Path):
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path


def test_values_are_encrypted_at_rest(fresh_server):
    srv = fresh_server()
    sm = srv.client("secretsmanager")
    plain = "pw-" + pysecrets.token_hex(20)
    blob = b"bin-" + pysecrets.token_bytes(24)
    put = "put-" + pysecrets.token_hex(20)
    sm.create_secret(Name="vault/string", SecretString=json.dumps({"password": plain}))
    sm.create_secret(Name="vault/binary", SecretBinary=blob)
    sm.put_secret_value(SecretId="vault/string", SecretString=put, VersionStages=["next"])
    assert json.loads(value(sm, "vault/string"))["password"] == plain
    assert value(sm, "vault/string", VersionStage="next") == put
    assert sm.get_secret_value(SecretId="vault/binary")["SecretBinary"] == blob
    srv.stop()

    needles = [plain.encode(), put.encode(), blob, base64.b64encode(blob)]
    checked = []
    for path in list(files_under(srv.data_dir)) + list(srv.root.glob("eddy-*.log")):
        data = path.read_bytes()
        checked.append(path.name)
        for needle in needles:
            assert needle not in data, f"a secret value is readable in {path}"
    assert "eddy.db" in checked and any(n.startswith("eddy-") and n.endswith(".log") for n in checked), checked

    # The same data under another master key: the metadata is there, the values are not.
    other = fresh_server(start=False)
    for path in srv.data_dir.iterdir():
        if path.name.startswith("eddy.db"):
            shutil.copy2(path, other.data_dir / path.name)
    key_file = other.data_dir / "master.key"
    key_file.write_text(base64.b64encode(os.urandom(32)).decode())
    key_file.chmod(0o600)
    other.start()
    osm = other.client("secretsmanager")
    assert osm.describe_secret(SecretId="vault/string")["Name"] == "vault/string"
    for secret_id, kwargs in [("vault/string", {}), ("vault/string", {"VersionStage": "next"}), ("vault/binary", {})]:
        with pytest.raises(ClientError) as exc:
            osm.get_secret_value(SecretId=secret_id, **kwargs)
        assert error_code(exc) == "DecryptionFailure", exc.value.response
        assert plain not in str(exc.value.response) and put not in str(exc.value.response)
    batch = osm.batch_get_secret_value(SecretIdList=["vault/string", "vault/binary"])
    assert batch["SecretValues"] == [] and {e["ErrorCode"] for e in batch["Errors"]} == {"DecryptionFailure"}

    # With the original key, the copy reads fine: the key is the only difference.
    shutil.copy2(srv.data_dir / "master.key", key_file)
    other.restart()
    osm = other.client("secretsmanager")
    assert json.loads(value(osm, "vault/string"))["password"] == plain
