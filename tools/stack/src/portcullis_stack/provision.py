"""Idempotent provisioning the runner does once the infrastructure is healthy: the
JetStream streams and the log bucket. The services do the same at their own start;
doing it here too means the first request is kept even if a worker starts slowly."""

from __future__ import annotations

import asyncio

import nats
import urllib3
from minio import Minio
from minio.error import S3Error
from portcullis.natsio import ensure_streams

from portcullis_stack.s3_keys import S3Keys


async def _ensure_streams(url: str) -> None:
    nc = await nats.connect(url, name="portcullis-up", allow_reconnect=False, connect_timeout=2)
    try:
        await ensure_streams(nc.jetstream(timeout=5))
    finally:
        await nc.close()


def provision_streams(url: str, timeout: float = 15.0) -> None:
    asyncio.run(asyncio.wait_for(_ensure_streams(url), timeout))


def provision_bucket(endpoint: str, keys: S3Keys, bucket: str) -> None:
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=2, read=10),
        retries=urllib3.Retry(total=2, backoff_factor=0.2),
    )
    client = Minio(
        endpoint,
        keys.access_key,
        keys.secret_key.get_secret_value(),
        secure=False,
        http_client=http,
    )
    try:
        if client.bucket_exists(bucket):
            return
        try:
            client.make_bucket(bucket)
        except S3Error as err:
            # The logger may have created it between our two calls.
            if err.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
    finally:
        http.clear()
