"""The gateway's NATS connection, made in the background so the gateway starts and
serves while NATS is down; streams are ensured once connected and after reconnects."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.js import JetStreamContext
from portcullis.natsio import connect_retrying, ensure_streams

log = logging.getLogger(__name__)


class NatsLink:
    def __init__(self, url: str, name: str = "portcullis-gateway") -> None:
        self.url = url
        self.name = name
        self.nc: nats.NATS | None = None
        self.js: JetStreamContext | None = None
        self.streams_ready = False
        # Set whenever the link becomes usable, so the spool replay can start at once.
        self.came_back = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._closing = False

    @property
    def usable(self) -> bool:
        return self.streams_ready and self.nc is not None and self.nc.is_connected

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="nats-link")

    async def _run(self) -> None:
        self.nc = await connect_retrying(
            self.url,
            self.name,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        self.js = self.nc.jetstream(timeout=5)
        log.info("connected to NATS", extra={"url": self.url})
        await self._ensure_streams()

    async def _ensure_streams(self) -> None:
        delay = 0.2
        while not self._closing:
            try:
                assert self.js is not None
                await ensure_streams(self.js)
            except Exception as exc:  # noqa: BLE001 — retried until NATS answers
                log.warning("could not ensure streams yet", extra={"error": str(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.streams_ready = True
            self.came_back.set()
            return

    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS error", extra={"error": str(exc)})

    async def _on_disconnected(self) -> None:
        if not self._closing:
            log.warning("disconnected from NATS; events go to the spool")

    async def _on_reconnected(self) -> None:
        log.info("reconnected to NATS")
        # A NATS that lost its store needs the streams again; ensure_streams is idempotent.
        asyncio.create_task(self._ensure_streams(), name="nats-ensure-streams")

    async def close(self) -> None:
        self._closing = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.close(), timeout=2)
            except (TimeoutError, Exception):  # noqa: BLE001 — closing anyway
                pass
