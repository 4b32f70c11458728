"""Log objects in an S3-compatible bucket.

Writes, the hot path, go through ``S3Writer`` (aiohttp on the event loop). Everything
else uses the minio client, which is blocking, so those calls run in a small thread
pool; urllib3's own retries are kept to one: redelivery through JetStream is the retry
that survives a crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import urllib3
from minio import Minio
from minio.credentials import Credentials
from minio.error import S3Error

from portcullis_logger.adapters.s3_writer import S3Writer
from portcullis_logger.settings import LoggerSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

_MISSING = frozenset({"NoSuchKey", "NoSuchObject"})
_BUCKET_TAKEN = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
# Reads by id are rare next to writes; a few threads serve them.
_READ_THREADS = 4


class StoreUnavailable(Exception):
    """The object store could not be reached or refused the request."""


class LogStore:
    def __init__(self, settings: LoggerSettings) -> None:
        self.bucket = settings.s3_bucket
        access_key = settings.s3_access_key.get_secret_value()
        secret_key = settings.s3_secret_key.get_secret_value()
        self._writer = S3Writer(
            endpoint=settings.s3_endpoint,
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            credentials=Credentials(access_key, secret_key) if access_key else None,
            concurrency=settings.s3_concurrency,
            connect_timeout_s=settings.s3_connect_timeout_s,
            read_timeout_s=settings.s3_read_timeout_s,
        )
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(
                connect=settings.s3_connect_timeout_s, read=settings.s3_read_timeout_s
            ),
            maxsize=_READ_THREADS,
            retries=urllib3.Retry(
                total=1, backoff_factor=0.1, status_forcelist=(500, 502, 503, 504)
            ),
        )
        self._client = Minio(
            settings.s3_endpoint,
            access_key=access_key or None,
            secret_key=secret_key or None,
            secure=settings.s3_secure,
            region=settings.s3_region,
            http_client=http,
        )
        self._pool = ThreadPoolExecutor(max_workers=_READ_THREADS, thread_name_prefix="s3")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)

    def _ensure_bucket(self) -> None:
        if not self._client.bucket_exists(self.bucket):
            try:
                self._client.make_bucket(self.bucket)
            except S3Error as err:
                # Another replica created it between our check and our create.
                if err.code not in _BUCKET_TAKEN:
                    raise
        # The region the writer signs for: the setting, else the bucket's location
        # (minio asks the store once and caches it).
        self._writer.region = self._client._get_region(self.bucket)

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

    async def put(self, key: str, body: bytes) -> None:
        """Write (or overwrite: keys derive from ids, so a redelivery replaces) one log."""
        await self._writer.put(key, body)

    def _ask(self, call: Callable[[str, str], T], key: str) -> T | None:
        """One minio call about one object; None when there is no such object."""
        try:
            return call(self.bucket, key)
        except S3Error as err:
            if err.code in _MISSING:
                return None
            raise StoreUnavailable(f"S3 refused the read: {err.code}") from err
        except Exception as exc:
            raise StoreUnavailable(f"S3 unreachable: {type(exc).__name__}") from exc

    def _get(self, key: str) -> bytes | None:
        response = self._ask(self._client.get_object, key)
        if response is None:
            return None
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def get(self, key: str) -> bytes | None:
        """The stored bytes, or None when no such log exists."""
        return await self._run(self._get, key)

    def _exists(self, key: str) -> bool:
        return self._ask(self._client.stat_object, key) is not None

    async def exists(self, key: str) -> bool:
        """Whether a log is stored under ``key`` (a HEAD, no body read)."""
        return await self._run(self._exists, key)

    def _list(self, prefix: str) -> list[str]:
        return [o.object_name for o in self._client.list_objects(self.bucket, prefix, True)]

    async def list_keys(self, prefix: str) -> list[str]:
        return await self._run(self._list, prefix)

    async def close(self) -> None:
        await self._writer.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
