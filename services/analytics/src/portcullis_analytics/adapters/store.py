"""The metrics store: ClickHouse behind the blocking ``SqlSession`` of
``portcullis.clickhouse``, driven from worker threads so the event loop never blocks.

chDB is one engine per process and must not be called from two threads at once, so its
store has exactly one worker thread, which also opens the session. The clickhouse-connect
client pools HTTP connections and takes several workers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from portcullis.clickhouse import (
    ChdbSession,
    Param,
    SqlSession,
    apply_migrations,
    connect_clickhouse,
    parse_clickhouse_url,
    quote_identifier,
)

from portcullis_analytics.settings import AnalyticsSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


class AnalyticsStore:
    def __init__(
        self, open_session: Callable[[], SqlSession], database: str, workers: int, name: str
    ) -> None:
        self.database = database
        self.table = f"{quote_identifier(database)}.requests"
        self.name = name
        self._open_session = open_session
        self._session: SqlSession | None = None
        self._session_lock = threading.Lock()
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"ch-{name}")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _sql(self) -> SqlSession:
        with self._session_lock:
            if self._session is None:
                self._session = self._open_session()
            return self._session

    async def open(self) -> list[int]:
        """Open the session and apply pending migrations; returns the versions applied."""

        def _open() -> list[int]:
            return apply_migrations(self._sql(), self.database)

        return await self._run(_open)

    async def open_retrying(self, max_delay_s: float = 5.0) -> list[int]:
        """``open()``, waiting for a ClickHouse server to come up (start order is free).
        chDB is in-process: if it cannot open, waiting will not help, so it fails fast."""
        delay = 0.2
        while True:
            try:
                return await self.open()
            except Exception as exc:
                if self.name == "chdb":
                    raise
                log.warning("ClickHouse not reachable yet", extra={"error": str(exc)[:300]})
                await self._run(self._drop_session)
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_delay_s)

    def _drop_session(self) -> None:
        with self._session_lock:
            if self._session is not None:
                try:
                    self._session.close()
                finally:
                    self._session = None

    async def insert_rows(self, payload: bytes) -> None:
        """Insert JSONEachRow ``payload`` into the requests table."""
        await self._run(lambda: self._sql().insert_json_rows(self.table, payload))

    async def select(
        self, sql: str, params: Mapping[str, Param] | None = None
    ) -> list[dict[str, Any]]:
        return await self._run(lambda: self._sql().select(sql, params))

    async def ping(self) -> bool:
        try:
            await self.select("SELECT 1 AS ok")
        except Exception:  # noqa: BLE001 — unreachable, for whatever reason
            return False
        return True

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._run(self._drop_session)
        self._pool.shutdown(wait=True)


def open_store(settings: AnalyticsSettings) -> AnalyticsStore:
    """The store the settings ask for (not yet connected: call ``open()``)."""
    if settings.backend == "chdb":
        path = str(Path(settings.chdb_path).resolve())
        Path(path).mkdir(parents=True, exist_ok=True)
        return AnalyticsStore(lambda: ChdbSession(path), settings.database, 1, "chdb")
    if settings.clickhouse_url is None:
        raise ValueError("BACKEND=clickhouse needs PORTCULLIS_ANALYTICS_CLICKHOUSE_URL")
    target = parse_clickhouse_url(settings.clickhouse_url.get_secret_value())
    return AnalyticsStore(
        lambda: connect_clickhouse(target, settings.clickhouse_timeout_s),
        target.database or settings.database,
        settings.clickhouse_threads,
        "clickhouse",
    )
