"""Log objects in an S3-compatible bucket through the minio client.

minio is blocking, so every call runs in a dedicated thread pool whose size bounds the
writes in flight; the event loop keeps pulling messages meanwhile. urllib3's own retries
are kept to one: redelivery through JetStream is the retry that survives a crash.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import urllib3
from minio import Minio
from minio.error import S3Error

from portcullis_logger.settings import LoggerSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

_MISSING = frozenset({"NoSuchKey", "NoSuchObject"})
_BUCKET_TAKEN = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})


class StoreUnavailable(Exception):
    """The object store could not be reached or refused the request."""


class LogStore:
    def __init__(self, settings: LoggerSettings) -> None:
        self.bucket = settings.s3_bucket
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(
                connect=settings.s3_connect_timeout_s, read=settings.s3_read_timeout_s
            ),
            maxsize=settings.s3_concurrency,
            retries=urllib3.Retry(
                total=1, backoff_factor=0.1, status_forcelist=(500, 502, 503, 504)
            ),
        )
        self._client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key.get_secret_value() or None,
            secret_key=settings.s3_secret_key.get_secret_value() or None,
            secure=settings.s3_secure,
            region=settings.s3_region,
            http_client=http,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=settings.s3_concurrency, thread_name_prefix="s3"
        )

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)

    def _ensure_bucket(self) -> None:
        if self._client.bucket_exists(self.bucket):
            return
        try:
            self._client.make_bucket(self.bucket)
        except S3Error as err:
            # Another replica created it between our check and our create.
            if err.code not in _BUCKET_TAKEN:
                raise

    async def ensure_bucket(self) -> None:
        await self._run(self._ensure_bucket)

    async def ensure_bucket_retrying(self, max_delay_s: float = 5.0) -> None:
        """Wait for the store to come up the first time (start order is free)."""
        delay = 0.2
        while True:
            try:
                await self.ensure_bucket()
                return
            except Exception as exc:  # noqa: BLE001 — any failure means "not yet"
                log.warning(
                    "S3 not reachable yet", extra={"bucket": self.bucket, "error": str(exc)}
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_delay_s)

    def _put(self, key: str, body: bytes) -> None:
        self._client.put_object(
            self.bucket, key, io.BytesIO(body), len(body), content_type="application/json"
        )

    async def put(self, key: str, body: bytes) -> None:
        """Write (or overwrite: keys derive from ids, so a redelivery replaces) one log."""
        await self._run(self._put, key, body)

    def _get(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(self.bucket, key)
        except S3Error as err:
            if err.code in _MISSING:
                return None
            raise StoreUnavailable(f"S3 refused the read: {err.code}") from err
        except Exception as exc:
            raise StoreUnavailable(f"S3 unreachable: {type(exc).__name__}") from exc
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def get(self, key: str) -> bytes | None:
        """The stored bytes, or None when no such log exists."""
        return await self._run(self._get, key)

    def _list(self, prefix: str) -> list[str]:
        return [o.object_name for o in self._client.list_objects(self.bucket, prefix, True)]

    async def list_keys(self, prefix: str) -> list[str]:
        return await self._run(self._list, prefix)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
