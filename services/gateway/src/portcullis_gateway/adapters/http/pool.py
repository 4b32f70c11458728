"""Keep-alive connections by origin, under one limit for the whole worker.

The newest idle connection is reused first (its socket is the least likely to have
been closed by the provider's idle timeout); idle ones older than the keep-alive time
are closed. At the limit, an idle connection of another origin is closed to make room
before anyone waits.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from portcullis_gateway.adapters.http.connection import Connection
from portcullis_gateway.adapters.http.errors import ConnectTimeout
from portcullis_gateway.adapters.http.request_head import Origin


class Pool:
    def __init__(self, limit: int, keepalive_s: float) -> None:
        self.limit = limit
        self.keepalive_s = keepalive_s
        self._idle: dict[Origin, list[Connection]] = {}
        self._live: set[Connection] = set()
        self._waiters: deque[asyncio.Future] = deque()

    @property
    def open(self) -> int:
        return len(self._live)

    def idle_count(self, origin: Origin | None = None) -> int:
        lists = self._idle.values() if origin is None else [self._idle.get(origin, [])]
        return sum(1 for idle in lists for conn in idle if not conn.closed)

    async def acquire(
        self,
        origin: Origin,
        connect: Callable[[Origin, float | None, asyncio.AbstractEventLoop], Awaitable[Connection]],
        deadline: float | None,
        loop: asyncio.AbstractEventLoop,
    ) -> Connection:
        while True:
            # Looked at again after every wait: the room may have come as a connection
            # of this origin given back, to be reused rather than closed for a new one.
            conn = self._take_idle(origin, loop.time())
            if conn is not None:
                return conn
            if len(self._live) < self.limit:
                break
            if not self._close_one_idle():
                await self._wait_for_room(deadline, loop)
        # Counted from the start of the connect, so concurrent connects respect the limit.
        placeholder = _Slot()
        self._live.add(placeholder)  # type: ignore[arg-type]
        try:
            conn = await connect(origin, deadline, loop)
        except BaseException:
            self._live.discard(placeholder)
            self._wake_one()
            raise
        self._live.discard(placeholder)
        self._live.add(conn)
        conn.reused = False
        return conn

    def _take_idle(self, origin: Origin, now: float) -> Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.closed:
                continue
            if now - conn.idle_since > self.keepalive_s:
                self._close(conn)
                continue
            conn.reused = True
            return conn
        return None

    def give_back(self, conn: Connection, reusable: bool) -> None:
        if reusable and conn in self._live:
            conn.idle_since = conn.loop.time()
            self._idle.setdefault(conn.origin, []).append(conn)
            self._wake_one()

    def lost(self, conn: Connection) -> None:
        if conn in self._live:
            self._live.discard(conn)
            self._wake_one()

    def sweep(self, now: float) -> None:
        """Close idle connections past the keep-alive time."""
        for origin, idle in list(self._idle.items()):
            keep = []
            for conn in idle:
                if conn.closed:
                    continue
                if now - conn.idle_since > self.keepalive_s:
                    self._close(conn)
                else:
                    keep.append(conn)
            if keep:
                self._idle[origin] = keep
            else:
                del self._idle[origin]

    def close_all(self) -> None:
        for conn in list(self._live):
            if isinstance(conn, Connection):
                self._close(conn)
        self._idle.clear()

    def _close(self, conn: Connection) -> None:
        conn.abort()
        self.lost(conn)

    def _close_one_idle(self) -> bool:
        oldest: Connection | None = None
        for idle in self._idle.values():
            for conn in idle:
                if not conn.closed and (oldest is None or conn.idle_since < oldest.idle_since):
                    oldest = conn
        if oldest is None:
            return False
        self._idle[oldest.origin].remove(oldest)
        self._close(oldest)
        return True

    async def _wait_for_room(self, deadline: float | None, loop: asyncio.AbstractEventLoop):
        waiter = loop.create_future()
        self._waiters.append(waiter)
        timeout = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            raise ConnectTimeout(
                f"all {self.limit} upstream connections stayed busy until the deadline"
            ) from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class _Slot:
    """Holds a place under the limit while a connection is being made."""

    __slots__ = ()
