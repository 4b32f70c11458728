"""Batches from a JetStream durable pull consumer, on plain nats-py, one batch at a time.

A batch is up to ``batch_size`` messages, or whatever arrived within ``batch_wait_s``;
the handler settles (acks, naks, dead-letters) every message of it. Owning the loop
(rather than FastStream's subscriber, which cancels its fetch task on shutdown) is what
makes the stop graceful: ``stop()`` lets the batch being inserted finish (within
``grace_s``), hands back (nak) a batch fetched but not yet started, and flushes the acks
before closing, so nothing waits out its ack deadline after a deploy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from portcullis.natsio import connect_retrying

log = logging.getLogger(__name__)

BatchHandler = Callable[[list[Msg]], Awaitable[None]]
# nats-py turns a fetch timeout into the request's server-side expiry, minus 0.1 ms.
_MIN_FETCH_S = 0.01


class BatchPuller:
    def __init__(
        self,
        *,
        nats_url: str,
        name: str,
        stream: str,
        durable: str,
        handler: BatchHandler,
        batch_size: int,
        batch_wait_s: float,
        grace_s: float,
    ) -> None:
        self._url, self._name = nats_url, name
        self._stream, self._durable = stream, durable
        self._handler = handler
        self._batch_size = batch_size
        self._batch_wait_s = max(batch_wait_s, _MIN_FETCH_S * 2)
        self._grace_s = grace_s
        self._stopping = False
        self._current: list[Msg] = []
        self._nc: Client | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._nc = await connect_retrying(self._url, name=self._name)
        sub = await self._nc.jetstream().pull_subscribe_bind(
            durable=self._durable, stream=self._stream
        )
        self._task = asyncio.create_task(self._loop(sub), name=f"{self._name}-pull")

    async def _loop(self, sub: JetStreamContext.PullSubscription) -> None:
        while not self._stopping:
            batch = await self._collect(sub)
            if not batch:
                continue
            if self._stopping:
                await _nak_all(batch)
                return
            self._current = batch
            try:
                await self._handler(batch)
            except Exception:
                # The handler settles its own failures; this is a bug, not an outage.
                log.exception("batch handler failed", extra={"messages": len(batch)})
                await _nak_all(batch, delay=1.0)
            finally:
                self._current = []

    async def _collect(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        # nats-py may return part of a batch early; keep fetching until full or late.
        deadline = time.monotonic() + self._batch_wait_s
        batch: list[Msg] = []
        while len(batch) < self._batch_size and not self._stopping:
            remaining = deadline - time.monotonic()
            if remaining < _MIN_FETCH_S:
                break
            try:
                batch += await sub.fetch(self._batch_size - len(batch), timeout=remaining)
            except TimeoutError:
                # Builtin TimeoutError: nats-py raises both its own (a subclass) and plain
                # asyncio.TimeoutError. Catching only the former lost partial batches.
                break
            except (nats.errors.ConnectionClosedError, nats.errors.ConnectionDrainingError):
                self._stopping = True
                break
            except Exception as exc:  # noqa: BLE001 — reconnecting, server restart, ...
                log.warning("fetch failed", extra={"error": f"{type(exc).__name__}: {exc}"})
                await asyncio.sleep(self._batch_wait_s)
                break
        return batch

    async def stop(self) -> None:
        """Stop pulling, finish or hand back the batch held, flush acks, close."""
        self._stopping = True
        if self._task is not None:
            _, late = await asyncio.wait({self._task}, timeout=self._grace_s + self._batch_wait_s)
            if late:
                self._task.cancel()
                log.warning(
                    "stopped with a batch unfinished", extra={"messages": len(self._current)}
                )
                await _nak_all(self._current)
        if self._nc is not None and not self._nc.is_closed:
            # Not drain(): a pull subscription's queue never reports itself drained.
            try:
                await self._nc.flush(timeout=5)
            except Exception:  # noqa: BLE001 — un-acked messages come back; closing anyway
                log.warning("could not flush acks before closing")
            await self._nc.close()


async def _nak_all(batch: list[Msg], delay: float | None = None) -> None:
    for msg in batch:
        if msg.is_acked:
            continue
        try:
            await msg.nak(delay=delay)
        except Exception:  # noqa: BLE001 — un-acked, it comes back after ack_wait anyway
            pass
