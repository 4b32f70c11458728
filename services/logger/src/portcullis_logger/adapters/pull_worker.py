"""A bounded-concurrency worker on a JetStream durable pull consumer, on plain nats-py.

The hot consumer bypasses FastStream's per-message machinery (middleware stack,
dependency injection, a task group per message): profiled at ~1 ms of event-loop time per
message, it capped the logger at ~500 logs/s. Here a message costs one task. The loop
fetches only while fewer than ``max_in_flight`` messages are held, so nothing waits in
the process long enough to outlive its ack deadline, and replicas bound to the same
durable share the work.

``stop()`` is the graceful exit: no more fetches, the handlers already running finish
(within ``grace_s``), messages still waiting for a slot are ``nak``ed at once so another
replica or the next start takes them, and the connection is drained so every ack
reaches the server before it closes (an un-acked message is redelivered anyway).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from portcullis.natsio import connect_retrying

log = logging.getLogger(__name__)

Handler = Callable[[Msg], Awaitable[None]]
# How long one fetch waits on an empty stream; also the longest stop() waits for it.
FETCH_WAIT_S = 0.5


class JetStreamPublisher:
    """nats-py's JetStream publish in the shape ``portcullis.dead_letter`` expects."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def publish(
        self, message: Any, subject: str, headers: dict[str, str] | None = None, *, stream: str
    ) -> Any:
        return await self._js.publish(subject, message, stream=stream, headers=headers)


class PullWorker:
    def __init__(
        self,
        *,
        nats_url: str,
        name: str,
        stream: str,
        durable: str,
        handler: Handler,
        batch: int,
        concurrency: int,
        max_in_flight: int,
        grace_s: float,
    ) -> None:
        self._url, self._name = nats_url, name
        self._stream, self._durable = stream, durable
        self._handler = handler
        self._batch = batch
        self._max_in_flight = max(max_in_flight, batch)
        self._grace_s = grace_s
        # Handlers running at once (e.g. S3 writes in flight).
        self._slots = asyncio.Semaphore(concurrency)
        self._held: set[asyncio.Task[None]] = set()
        self._room = asyncio.Event()
        self._stopping = False
        self._nc: Client | None = None
        self._loop_task: asyncio.Task[None] | None = None

    @property
    def publisher(self) -> JetStreamPublisher:
        assert self._nc is not None, "start() first"
        return JetStreamPublisher(self._nc.jetstream())

    async def start(self) -> None:
        self._nc = await connect_retrying(self._url, name=self._name)
        js = self._nc.jetstream()
        sub = await js.pull_subscribe_bind(durable=self._durable, stream=self._stream)
        self._loop_task = asyncio.create_task(self._pull_loop(sub), name=f"{self._name}-pull")

    async def _pull_loop(self, sub: JetStreamContext.PullSubscription) -> None:
        while not self._stopping:
            room = self._max_in_flight - len(self._held)
            if room < min(self._batch, self._max_in_flight // 2):
                # Wait for handlers to finish rather than fetch a trickle.
                self._room.clear()
                await self._room.wait()
                continue
            try:
                msgs = await sub.fetch(min(room, self._batch), timeout=FETCH_WAIT_S)
            except TimeoutError:
                continue
            except (nats.errors.ConnectionClosedError, nats.errors.ConnectionDrainingError):
                return
            except Exception as exc:  # noqa: BLE001 — reconnecting, server restart, ...
                log.warning("fetch failed", extra={"error": f"{type(exc).__name__}: {exc}"})
                await asyncio.sleep(FETCH_WAIT_S)
                continue
            for msg in msgs:
                task = asyncio.create_task(self._run(msg))
                self._held.add(task)
                task.add_done_callback(self._release)

    def _release(self, task: asyncio.Task[None]) -> None:
        self._held.discard(task)
        self._room.set()

    async def _run(self, msg: Msg) -> None:
        try:
            async with self._slots:
                if self._stopping:
                    # Fetched but not started: hand it back now instead of at ack_wait.
                    await _nak_quietly(msg)
                    return
                await self._handler(msg)
        except asyncio.CancelledError:
            # Past the stop grace, writing or still waiting for a slot: hand it back. A
            # write that lands anyway is harmless (the redelivery overwrites the same key).
            await _nak_quietly(msg)
            raise
        except Exception:
            # The handler settles its own failures; this is a bug, not an outage.
            log.exception("message handler failed", extra={"subject": msg.subject})
            await _nak_quietly(msg, delay=1.0)

    async def stop(self) -> None:
        """Stop pulling, finish or hand back what is held, flush acks, close."""
        self._stopping = True
        self._room.set()
        if self._loop_task is not None:
            await asyncio.wait({self._loop_task}, timeout=FETCH_WAIT_S * 2 + 1)
            self._loop_task.cancel()
        if self._held:
            _, late = await asyncio.wait(set(self._held), timeout=self._grace_s)
            if late:
                for task in late:
                    task.cancel()
                # Let the cancelled handlers send their naks before the flush below.
                await asyncio.wait(late, timeout=1)
                log.warning("stopped with writes unfinished", extra={"messages": len(late)})
        if self._nc is not None and not self._nc.is_closed:
            # Not drain(): a pull subscription's queue never reports itself drained.
            try:
                await self._nc.flush(timeout=5)  # the acks and naks just sent
            except Exception:  # noqa: BLE001 — un-acked messages come back; closing anyway
                log.warning("could not flush acks before closing")
            await self._nc.close()


async def _nak_quietly(msg: Msg, delay: float | None = None) -> None:
    try:
        if not msg.is_acked:
            await msg.nak(delay=delay)
    except Exception:  # noqa: BLE001 — un-acked, it comes back after ack_wait anyway
        pass
