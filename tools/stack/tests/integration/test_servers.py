import asyncio
import io
import stat
import urllib.error
import urllib.request

import nats
import pytest
import redis
from minio import Minio
from minio.error import S3Error


def test_nats_jetstream_answers(nats_server):
    async def roundtrip() -> int:
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        await js.add_stream(name="SMOKE", subjects=["smoke.>"])
        ack = await js.publish("smoke.one", b"x")
        await nc.close()
        return ack.seq

    assert asyncio.run(roundtrip()) == 1


def test_valkey_answers(valkey_server):
    client = redis.Redis.from_url(valkey_server.url)
    client.set("k", "v")
    assert client.get("k") == b"v"


def test_s3_roundtrip(s3_server):
    client = Minio(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False)
    if not client.bucket_exists("smoke"):
        client.make_bucket("smoke")
    client.put_object("smoke", "a/b.json", io.BytesIO(b'{"ok":1}'), 8)
    assert client.get_object("smoke", "a/b.json").read() == b'{"ok":1}'


def _anonymous(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_s3_refuses_anonymous_reads_and_listings(s3_server):
    client = Minio(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False)
    if not client.bucket_exists("guarded"):
        client.make_bucket("guarded")
    client.put_object("guarded", "logs/x.json", io.BytesIO(b"{}"), 2)
    base = f"http://{s3_server.endpoint}"
    for url in (
        f"{base}/guarded/logs/x.json",  # GetObject
        f"{base}/guarded?list-type=2",  # ListObjectsV2
        f"{base}/guarded",  # ListObjects
        f"{base}/",  # ListBuckets
    ):
        status, body = _anonymous(url)
        assert status == 403, url
        assert "<Code>AccessDenied</Code>" in body, url
    # With the keys, the same object reads back.
    assert client.get_object("guarded", "logs/x.json").read() == b"{}"


@pytest.mark.parametrize(
    ("access", "secret", "code"),
    [
        ("own", "not-the-secret", "SignatureDoesNotMatch"),
        ("PKNOBODY0000000000", "whatever", "InvalidAccessKeyId"),
    ],
)
def test_s3_refuses_a_wrong_key(s3_server, access, secret, code):
    access = s3_server.access_key if access == "own" else access
    client = Minio(s3_server.endpoint, access, secret, secure=False)
    with pytest.raises(S3Error) as refused:
        client.list_buckets()
    assert refused.value.code == code


def test_s3_keys_file_is_owner_only_and_the_secret_never_logged(s3_server):
    identities = s3_server.identities
    assert identities is not None
    assert stat.S_IMODE(identities.stat().st_mode) == 0o600
    assert s3_server.secret_key in identities.read_text()
    # Signed requests have run (the fixture's readiness check, the tests above).
    assert s3_server.secret_key not in s3_server.process.log_path.read_text()
    assert s3_server.secret_key not in " ".join(s3_server.process.argv)


def test_a_server_that_never_gets_ready_is_not_left_running(tmp_path):
    from portcullis_stack.servers import ManagedProcess

    sleeper = ManagedProcess(
        name="never-ready",
        argv=["sleep", "60"],
        ready=lambda: False,
        log_path=tmp_path / "never-ready.log",
    )
    try:
        sleeper.start(timeout=0.5)
    except TimeoutError:
        pass
    else:
        raise AssertionError("start() should have timed out")
    assert sleeper.proc is not None and sleeper.proc.poll() is not None
