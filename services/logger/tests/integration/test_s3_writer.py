"""The aiohttp write path against a SeaweedFS that checks SigV4 signatures (the shared
test S3 accepts any): a signed PUT lands byte for byte where minio reads it, a wrong
secret is refused, and an unreachable store is a clean failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from minio import Minio
from minio.credentials import Credentials
from portcullis_logger.adapters.s3_writer import S3WriteFailed, S3Writer
from portcullis_stack.servers import free_port, http_ready, seaweed_process

ACCESS, SECRET = "writer-test", "writer-test-secret"


@pytest.fixture(scope="module")
def strict_s3(tmp_path_factory):
    base: Path = tmp_path_factory.mktemp("strict-s3")
    config = base / "s3.json"
    identity = {
        "name": "writer",
        "credentials": [{"accessKey": ACCESS, "secretKey": SECRET}],
        "actions": ["Admin", "Read", "Write", "List"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    proc = seaweed_process(base / "data")
    proc.argv = [*proc.argv, f"-s3.config={config}"]
    s3_port = next(a.split("=", 1)[1] for a in proc.argv if a.startswith("-s3.port="))
    # Anonymous ListBuckets is refused now: a 403 on / means the gateway is up.
    proc.ready = http_ready(f"http://127.0.0.1:{s3_port}/", ok=(200, 403))
    proc.start(timeout=60)
    yield f"127.0.0.1:{s3_port}"
    proc.stop()


def writer(endpoint: str, secret: str = SECRET, bucket: str = "strict") -> S3Writer:
    return S3Writer(
        endpoint=endpoint,
        bucket=bucket,
        secure=False,
        credentials=Credentials(ACCESS, secret),
        concurrency=4,
        connect_timeout_s=1,
        read_timeout_s=5,
    )


async def test_signed_put_is_accepted_and_wrong_secret_refused(strict_s3):
    client = Minio(strict_s3, ACCESS, SECRET, secure=False)
    if not client.bucket_exists("strict"):
        client.make_bucket("strict")
    # Keys carry percent-encoded workspaces: the '%' must survive signing and the URL.
    key = "logs/team%2Fa%20b/2026/11/23/16/0190c0de-0000-7000-8000-000000000001.json"
    body = b'{"_id": "x",  "odd":   "spacing kept"}'

    good = writer(strict_s3)
    try:
        await good.put(key, body)
    finally:
        await good.close()
    response = client.get_object("strict", key)
    try:
        assert response.read() == body
        assert response.headers["Content-Type"] == "application/json"
    finally:
        response.close()
        response.release_conn()

    bad = writer(strict_s3, secret="not-the-secret")
    try:
        with pytest.raises(
            S3WriteFailed, match="refused the write: HTTP 403 SignatureDoesNotMatch"
        ):
            await bad.put(key.replace("0001", "0002"), body)
    finally:
        await bad.close()
    # The refused write left nothing behind.
    assert [o.object_name for o in client.list_objects("strict", "logs/", recursive=True)] == [key]


async def test_unreachable_store_is_a_write_failure():
    dead = writer(f"127.0.0.1:{free_port()}")
    try:
        with pytest.raises(S3WriteFailed, match="unreachable"):
            await dead.put("logs/x.json", b"{}")
    finally:
        await dead.close()
