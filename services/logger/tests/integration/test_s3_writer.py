"""The aiohttp write path against SeaweedFS, which checks SigV4 signatures (the test S3
answers only its own keys): a signed PUT lands byte for byte where minio reads it, a
wrong secret is refused, and an unreachable store is a clean failure."""

from __future__ import annotations

import pytest
from minio import Minio
from minio.credentials import Credentials
from portcullis_logger.adapters.s3_writer import S3WriteFailed, S3Writer
from portcullis_stack.servers import free_port


def writer(endpoint: str, access: str, secret: str, bucket: str = "strict") -> S3Writer:
    return S3Writer(
        endpoint=endpoint,
        bucket=bucket,
        secure=False,
        credentials=Credentials(access, secret),
        concurrency=4,
        connect_timeout_s=1,
        read_timeout_s=5,
    )


async def test_signed_put_is_accepted_and_wrong_secret_refused(s3_server):
    strict_s3, access = s3_server.endpoint, s3_server.access_key
    client = Minio(strict_s3, access, s3_server.secret_key, secure=False)
    if not client.bucket_exists("strict"):
        client.make_bucket("strict")
    # Keys carry percent-encoded workspaces: the '%' must survive signing and the URL.
    key = "logs/team%2Fa%20b/2026/11/23/16/0190c0de-0000-7000-8000-000000000001.json"
    body = b'{"_id": "x",  "odd":   "spacing kept"}'

    good = writer(strict_s3, access, s3_server.secret_key)
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

    bad = writer(strict_s3, access, "not-the-secret")
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
    dead = writer(f"127.0.0.1:{free_port()}", "any", "any")
    try:
        with pytest.raises(S3WriteFailed, match="unreachable"):
            await dead.put("logs/x.json", b"{}")
    finally:
        await dead.close()
