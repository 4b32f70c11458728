"""The JetStream durable pull consumer every worker runs, on plain nats-py.

The loop fetches from the durable, hands what it fetched to the service's handler, and
fetches again only while the replica holds few enough messages that none outlives its
ack deadline in the process; replicas bound to the same durable share the work. Its
``PullSizing`` is one of two shapes:

- ``concurrent_messages``: each message on its own, up to ``concurrency`` at once (the
  logger: one S3 write per message, its handler wrapped in ``each_message``). The loop
  keeps fetching while writes are in flight.
- ``one_batch_at_a_time``: up to ``batch_size`` messages or whatever arrived within
  ``batch_wait_s``, the next fetched once it is settled (analytics: one ClickHouse insert
  per batch).

The handler settles (acks, naks, dead-letters) every message it is given. ``stop()`` is
the graceful exit: no more fetches, the handler calls already running finish (within
``grace_s``, else they are cancelled and their messages handed back with a nak), what
was fetched but not started is handed back at once so another replica or the next start
takes it, and the acks are flushed before the connection closes.

FastStream's consumers are not used here: its per-message path (middleware, dependency
injection, a task group per message) cost ~1 ms of event-loop time per message, its
shutdown cancels the fetch task and abandons what it held, and its 0.7.8 batch loop
crashed on the plain ``asyncio.TimeoutError`` nats-py 2.16 raises when a fetch's deadline
is already spent, dropping the partial batch it had collected. This loop treats every
timeout alike (see ``_collect``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from portcullis.natsio import connect_retrying

log = logging.getLogger(__name__)

MessageHandler = Callable[[Msg], Awaitable[None]]
BatchHandler = Callable[[list[Msg]], Awaitable[None]]

# How long one fetch waits on an empty stream when the handler takes what one fetch
# returns; it also bounds how long stop() waits for the fetch in progress.
FETCH_WAIT_S = 0.5
# nats-py turns a fetch timeout into the request's server-side expiry, minus 0.1 ms: a
# shorter fetch expires before the server answers.
MIN_FETCH_S = 0.01
# A handler that raises has a bug (it settles its own failures): its messages come back
# after this, not in a hot loop.
HANDLER_BUG_NAK_DELAY_S = 1.0


@dataclass(frozen=True)
class PullSizing:
    """How much one replica fetches and holds.

    ``batch``: messages per fetch at most. ``max_held``: fetched and not yet settled, at
    most. ``refill_at``: the loop fetches again only once this few are held, so it fetches
    full batches rather than a trickle. ``concurrency``: handler calls running at once.
    ``fill_wait_s``: keep fetching for up to this long to fill a batch; ``None``: take
    whatever one fetch returns. ``per_message``: the handler gets one message per call.
    """

    batch: int
    max_held: int
    refill_at: int
    concurrency: int
    fill_wait_s: float | None
    per_message: bool

    @classmethod
    def concurrent_messages(cls, batch: int, concurrency: int) -> PullSizing:
        """Enough held to keep every handler slot busy plus one batch waiting for a slot."""
        max_held = concurrency + batch
        return cls(
            batch=batch,
            max_held=max_held,
            refill_at=max_held - min(batch, max_held // 2),
            concurrency=concurrency,
            fill_wait_s=None,
            per_message=True,
        )

    @classmethod
    def one_batch_at_a_time(cls, batch_size: int, batch_wait_s: float) -> PullSizing:
        """The next batch is fetched only once the one held is settled."""
        return cls(
            batch=batch_size,
            max_held=batch_size,
            refill_at=0,
            concurrency=1,
            fill_wait_s=max(batch_wait_s, MIN_FETCH_S * 2),
            per_message=False,
        )

    @property
    def fetch_window_s(self) -> float:
        """The longest one collection of a batch takes."""
        return FETCH_WAIT_S if self.fill_wait_s is None else self.fill_wait_s


def fetch_size(held: int, sizing: PullSizing) -> int:
    """How many messages to fetch next while ``held`` are unsettled; 0: wait for room."""
    if held > sizing.refill_at:
        return 0
    return max(min(sizing.max_held - held, sizing.batch), 0)


def still_to_fill(collected: int, wanted: int, remaining_s: float) -> int:
    """How many the next fetch of a batch asks for; 0: the batch is as full as it gets."""
    if collected >= wanted or remaining_s < MIN_FETCH_S:
        return 0
    return wanted - collected


def handler_calls(fetched: list[Msg], per_message: bool) -> list[list[Msg]]:
    """The messages of one fetch, grouped as the handler takes them."""
    if not fetched:
        return []
    return [[msg] for msg in fetched] if per_message else [fetched]


class PullLoop:
    def __init__(
        self,
        *,
        nats_url: str,
        name: str,
        stream: str,
        durable: str,
        handler: BatchHandler,
        sizing: PullSizing,
        grace_s: float,
    ) -> None:
        self._url, self._name = nats_url, name
        self._stream, self._durable = stream, durable
        self._handler = handler
        self._sizing = sizing
        self._grace_s = grace_s
        self._slots = asyncio.Semaphore(sizing.concurrency)
        # Each handler call in progress or waiting for a slot, with how many it holds.
        self._held: dict[asyncio.Task[None], int] = {}
        self._held_count = 0
        self._room = asyncio.Event()
        self._stopping = False
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._loop_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._nc = await connect_retrying(self._url, name=self._name)
        self._js = self._nc.jetstream()
        sub = await self._js.pull_subscribe_bind(durable=self._durable, stream=self._stream)
        self._loop_task = asyncio.create_task(self._pull(sub), name=f"{self._name}-pull")

    @property
    def jetstream(self) -> JetStreamContext:
        """The loop's JetStream context, for a handler that reads more than its message
        (the logger's oversized events)."""
        assert self._js is not None, "start() first"
        return self._js

    async def publish(
        self, message: Any, subject: str, headers: dict[str, str] | None = None, *, stream: str
    ) -> Any:
        """JetStream publish on the loop's own connection (``portcullis.dead_letter``'s
        Publisher), so dead letters go out even if the service has no broker of its own."""
        assert self._js is not None, "start() first"
        return await self._js.publish(subject, message, stream=stream, headers=headers)

    async def _pull(self, sub: JetStreamContext.PullSubscription) -> None:
        while not self._stopping:
            size = fetch_size(self._held_count, self._sizing)
            if size == 0:
                self._room.clear()
                await self._room.wait()
                continue
            fetched = await self._collect(sub, size)
            if self._stopping:
                # Fetched but not started: hand it back now instead of at ack_wait.
                await nak_unsettled(fetched)
                return
            for messages in handler_calls(fetched, self._sizing.per_message):
                task = asyncio.create_task(self._run(messages))
                self._held[task] = len(messages)
                self._held_count += len(messages)
                task.add_done_callback(self._release)

    async def _collect(self, sub: JetStreamContext.PullSubscription, size: int) -> list[Msg]:
        window_s = self._sizing.fetch_window_s
        deadline = time.monotonic() + window_s
        fetched: list[Msg] = []
        while not self._stopping:
            remaining_s = deadline - time.monotonic()
            wanted = still_to_fill(len(fetched), size, remaining_s)
            if wanted == 0:
                break
            try:
                fetched += await sub.fetch(wanted, timeout=remaining_s)
            except TimeoutError:
                # The builtin: nats-py raises both its own TimeoutError (a subclass) and a
                # plain asyncio.TimeoutError. Catching only the former lost partial batches.
                break
            except (nats.errors.ConnectionClosedError, nats.errors.ConnectionDrainingError):
                self._stopping = True
                break
            except Exception as exc:  # noqa: BLE001 — reconnecting, server restart, ...
                log.warning("fetch failed", extra={"error": f"{type(exc).__name__}: {exc}"})
                await asyncio.sleep(window_s)
                break
            if self._sizing.fill_wait_s is None:
                break
        return fetched

    def _release(self, task: asyncio.Task[None]) -> None:
        self._held_count -= self._held.pop(task, 0)
        self._room.set()

    async def _run(self, messages: list[Msg]) -> None:
        try:
            async with self._slots:
                if self._stopping:
                    await nak_unsettled(messages)
                    return
                await self._handler(messages)
        except asyncio.CancelledError:
            # Past the stop grace, in the sink or still waiting for a slot: hand it back.
            # A write that lands anyway is harmless, the sinks are idempotent by id.
            await nak_unsettled(messages)
            raise
        except Exception:
            log.exception(
                "message handler failed",
                extra={"messages": len(messages), "subject": messages[0].subject},
            )
            await nak_unsettled(messages, delay=HANDLER_BUG_NAK_DELAY_S)

    async def stop(self) -> None:
        """Stop pulling, finish or hand back what is held, flush acks, close."""
        self._stopping = True
        self._room.set()
        if self._loop_task is not None:
            await asyncio.wait({self._loop_task}, timeout=self._sizing.fetch_window_s * 2 + 1)
            self._loop_task.cancel()
        if self._held:
            _, late = await asyncio.wait(set(self._held), timeout=self._grace_s)
            if late:
                unfinished = sum(self._held.get(task, 0) for task in late)
                for task in late:
                    task.cancel()
                # Let the cancelled handlers send their naks before the flush below.
                await asyncio.wait(late, timeout=1)
                log.warning("stopped with messages unfinished", extra={"messages": unfinished})
        if self._nc is not None and not self._nc.is_closed:
            # Not drain(): a pull subscription's queue never reports itself drained.
            try:
                await self._nc.flush(timeout=5)  # the acks and naks just sent
            except Exception:  # noqa: BLE001 — un-acked messages come back; closing anyway
                log.warning("could not flush acks before closing")
            await self._nc.close()


def each_message(handler: MessageHandler) -> BatchHandler:
    """A handler of one message in the loop's shape; under
    ``PullSizing.concurrent_messages`` every call is given exactly one."""

    async def handle(messages: list[Msg]) -> None:
        for msg in messages:
            await handler(msg)

    return handle


async def nak_unsettled(messages: list[Msg], delay: float | None = None) -> None:
    """Hand back every message not yet acked, naked or termed."""
    for msg in messages:
        if msg.is_acked:
            continue
        try:
            await msg.nak(delay=delay)
        except Exception:  # noqa: BLE001 — un-acked, it comes back after ack_wait anyway
            pass
