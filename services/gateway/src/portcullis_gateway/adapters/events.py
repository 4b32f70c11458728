"""The event pipeline: request handlers append finished exchanges to a bounded in-memory
buffer (no await); a background task turns them into ``RequestLogged`` /
``RequestMetered`` events and publishes them to JetStream in concurrent batches with
acks; what cannot be published goes to the disk spool and is replayed later.

A full buffer drops the exchange, counted in ``portcullis_gateway_events_dropped`` and
logged as a warning: the request path never waits for the event path.

An event larger than the server's ``max_payload`` (a long prompt, a big answer) goes
through ``portcullis.oversized``: the event into the Object Store, a small reference on
its subject. A message that can never be published is dead-lettered beside the spool
instead of blocking the ones behind it (decision 0005).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable

import msgspec
from portcullis.events import encode, metered_from_logged
from portcullis.oversized import OBJECT_HEADER, fits, reference
from portcullis.subjects import LOGS_PREFIX, logs_subject, metrics_subject
from portcullis.telemetry import traceparent

from portcullis_gateway.adapters.nats_link import NatsLink, PublishRefused
from portcullis_gateway.adapters.spool import Poison, Spool, SpooledMessage, frame
from portcullis_gateway.domain.cost import PriceBook
from portcullis_gateway.domain.exchange import Exchange, build_logged, cap_bodies, exchange_bytes
from portcullis_gateway.metrics import GatewayMetrics

log = logging.getLogger(__name__)

MSG_ID = "Nats-Msg-Id"
_DROP_WARNING_EVERY_S = 10.0
_ADOPT_EVERY_S = 30.0
# Exchanges built and sent between two yields to the event loop.
_SLICE = 32
# An exchange carrying more body bytes than this is built in a thread: its stream
# assembly, usage scan and encoding would otherwise hold the event loop for milliseconds.
_BUILD_IN_THREAD_BYTES = 1024 * 1024
_DEAD_NAME = str.maketrans({c: "_" for c in '/\\:*?"<>| '})

InFlight = list[tuple[asyncio.Future, SpooledMessage]]
Dead = list[tuple[SpooledMessage, str]]


class TooBig(Exception):
    """A message over max_payload that has no oversized path (only logs have one)."""


def permanent_reason(exc: BaseException) -> str | None:
    """Why a failed publish can never succeed, or None when it may later (NATS away, no
    ack in time, no stream yet): those keep their order and are retried."""
    if isinstance(exc, TooBig):
        return "too_big"
    if isinstance(exc, PublishRefused) and exc.permanent:
        return "refused"
    if isinstance(exc, msgspec.DecodeError | msgspec.ValidationError):
        return "undecodable"  # an oversized log message that is no RequestLogged
    return None


def dead_letter_name(message: SpooledMessage, reason: str) -> str:
    """One file per message and reason: parking it again (an interrupted replay) finds
    the same name and does nothing."""
    return f"{message.subject}-{message.msg_id}.{reason}.seg".translate(_DEAD_NAME)


class EventPipeline:
    def __init__(
        self,
        *,
        link: NatsLink,
        spool: Spool,
        prices: PriceBook,
        metrics: GatewayMetrics,
        workspace: str,
        organisation_id: str,
        buffer_max: int,
        batch_max: int,
        publish_timeout_s: float,
        drain_timeout_s: float,
        replay_interval_s: float,
        linger_s: float = 0.0,
        max_log_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.link = link
        self.spool = spool
        self.prices = prices
        self.metrics = metrics
        self.workspace = workspace
        self.organisation_id = organisation_id
        self.buffer: deque[Exchange] = deque()
        self.buffer_max = buffer_max
        self.batch_max = batch_max
        self.publish_timeout_s = publish_timeout_s
        self.drain_timeout_s = drain_timeout_s
        self.replay_interval_s = replay_interval_s
        self.linger_s = linger_s
        self.max_log_bytes = max_log_bytes
        self._wake = asyncio.Event()
        self._stopping = False
        self._closed = False
        self._dropped_since_warning = 0
        self._last_drop_warning = 0.0
        self._tasks: list[asyncio.Task] = []
        self._logs_subject = logs_subject(workspace)
        self._metrics_subject = metrics_subject(workspace)

    # --- the request path's side: O(1), no await --------------------------------------

    def record(self, exchange: Exchange) -> None:
        if self._closed:
            self._late(exchange)
            return
        if len(self.buffer) >= self.buffer_max:
            self._drop(exchange)
            return
        self.buffer.append(exchange)
        if not self._wake.is_set():
            self._wake.set()

    def _late(self, exchange: Exchange) -> None:
        """A request that finished after the drain: straight to the spool (shutdown only,
        so a blocking write is acceptable), or counted as dropped once the spool is shut."""
        if not self.spool.is_open:
            self._drop(exchange)
            return
        messages = self.build([exchange])
        self.spool.append_sync(messages)
        self.metrics.events_spooled.inc(len(messages))

    def _drop(self, exchange: Exchange) -> None:
        self.metrics.events_dropped.inc(2)
        self.metrics.observe(
            exchange.route or exchange.path,
            exchange.provider,
            exchange.status,
            exchange.total_ms,
            exchange.upstream_ms,
        )
        self._dropped_since_warning += 1
        now = time.monotonic()
        if now - self._last_drop_warning >= _DROP_WARNING_EVERY_S:
            log.warning(
                "event buffer full: dropping request events",
                extra={"dropped": self._dropped_since_warning, "buffer_max": self.buffer_max},
            )
            self._dropped_since_warning = 0
            self._last_drop_warning = now

    # --- background tasks ----------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._publisher(), name="event-publisher"),
            asyncio.create_task(self._replayer(), name="spool-replayer"),
        ]

    async def _publisher(self) -> None:
        while True:
            if not self.buffer:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                if self.linger_s and not self._stopping:
                    # Like Kafka's linger.ms: at low load, gather a few events per
                    # publish round-trip instead of paying one per request.
                    await asyncio.sleep(self.linger_s)
                continue
            batch = [self.buffer.popleft() for _ in range(min(len(self.buffer), self.batch_max))]
            try:
                await self._process(batch)
            except Exception:  # noqa: BLE001 — the publisher must outlive any one batch
                log.exception("event batch failed")

    async def _process(self, batch: list[Exchange]) -> None:
        """Build and send in slices, yielding between them so a large batch never holds
        the event loop (and so request latency) for long; then wait for every ack."""
        in_flight: InFlight = []
        failed: list[SpooledMessage] = []
        for start in range(0, len(batch), _SLICE):
            messages = await self._build_slice(batch[start : start + _SLICE])
            if self.link.usable:
                await self._send(messages, in_flight, failed)
            else:
                failed.extend(messages)
            await asyncio.sleep(0)
        not_acked, dead = await self._acks(in_flight, self.publish_timeout_s)
        failed.extend(not_acked)
        if dead:
            await self._dead_letter(dead)
        if failed:
            await self.spool.append(failed)
            self.metrics.events_spooled.inc(len(failed))

    async def _build_slice(self, exchanges: list[Exchange]) -> list[SpooledMessage]:
        small = [ex for ex in exchanges if exchange_bytes(ex) <= _BUILD_IN_THREAD_BYTES]
        if len(small) == len(exchanges):
            return self.build(exchanges)
        messages = self.build(small)
        for ex in exchanges:
            if exchange_bytes(ex) > _BUILD_IN_THREAD_BYTES:
                messages.extend(await asyncio.to_thread(self.build, [ex]))
        return messages

    def build(self, batch: Iterable[Exchange]) -> list[SpooledMessage]:
        """Exchanges -> log and metric messages (two per exchange), with metrics observed."""
        messages: list[SpooledMessage] = []
        for exchange in batch:
            try:
                logged = build_logged(
                    exchange,
                    workspace=self.workspace,
                    organisation_id=self.organisation_id,
                    prices=self.prices,
                )
                metered = metered_from_logged(logged)
            except Exception:  # noqa: BLE001 — one bad exchange must not stop the rest
                self.metrics.events_failed.inc()
                log.exception("could not build events", extra={"request_id": exchange.request_id})
                continue
            self.metrics.observe(
                exchange.route or exchange.path,
                exchange.provider,
                exchange.status,
                exchange.total_ms,
                exchange.upstream_ms,
            )
            if exchange.attempts is not None:
                self.metrics.observe_routing(
                    exchange.retries_total,
                    exchange.fallbacks,
                    exchange.rescued,
                    sum(1 for attempt in exchange.attempts if attempt.skipped),
                )
            data = encode(logged)
            if len(data) > self.max_log_bytes:
                # Keep what fits, say so (truncated): a log is never dropped for its size.
                data = encode(cap_bodies(logged, len(data), self.max_log_bytes))
            headers = {MSG_ID: exchange.request_id}
            span_context = exchange.trace_context
            if isinstance(span_context, str):
                headers["traceparent"] = span_context  # the caller's, checked
            elif span_context is not None:
                headers["traceparent"] = traceparent(span_context)
            messages.append(SpooledMessage(self._logs_subject, exchange.request_id, headers, data))
            messages.append(
                SpooledMessage(
                    self._metrics_subject, exchange.request_id, dict(headers), encode(metered)
                )
            )
        return messages

    async def _send(
        self, messages: list[SpooledMessage], in_flight: InFlight, failed: list[SpooledMessage]
    ) -> None:
        link = self.link
        max_payload = link.max_payload
        for message in messages:
            if not fits(len(message.data), max_payload):
                task = asyncio.ensure_future(self._send_oversized(message))
                in_flight.append((task, message))
                continue
            try:
                future = await link.publish_acked(message.subject, message.data, message.headers)
            except Exception:  # noqa: BLE001 — connection gone, closing, ...: spool it
                failed.append(message)
                continue
            in_flight.append((future, message))

    async def _send_oversized(self, message: SpooledMessage) -> None:
        """The event into the Object Store, then its reference on the subject (acked)."""
        if not message.subject.startswith(LOGS_PREFIX + "."):
            raise TooBig(f"{len(message.data)} bytes on {message.subject}")
        # Decoding a 20 MB event to drop its bodies takes milliseconds: not on the loop.
        ref = await asyncio.to_thread(reference, message.data)
        link = self.link
        await link.put_object(message.msg_id, message.data)
        headers = {**message.headers, OBJECT_HEADER: message.msg_id}
        ack = await link.publish_acked(message.subject, ref, headers)
        # Bounded like every ack: the caller waits for this task without a timeout of
        # its own (the put is bounded chunk by chunk by JetStream's).
        await asyncio.wait_for(ack, self.publish_timeout_s)
        self.metrics.events_oversized.inc()

    async def _acks(
        self, in_flight: InFlight, timeout_s: float
    ) -> tuple[list[SpooledMessage], Dead]:
        """Wait for the acks; return the messages not acked in time (or refused for now)
        and those that can never be published, with why."""
        failed: list[SpooledMessage] = []
        dead: Dead = []
        if in_flight:
            _, not_done = await asyncio.wait([f for f, _ in in_flight], timeout=timeout_s)
            oversized = {f for f in not_done if isinstance(f, asyncio.Task)}
            if oversized:
                # A put is bounded chunk by chunk by JetStream's own timeout; one that is
                # making progress is waited for, not spooled to be sent all over again.
                await asyncio.wait(oversized)
                not_done -= oversized
            for future, message in in_flight:
                if future in not_done:
                    future.cancel()
                    failed.append(message)
                elif future.cancelled():
                    failed.append(message)
                elif (exc := future.exception()) is not None:
                    reason = permanent_reason(exc)
                    if reason is None:
                        failed.append(message)
                    else:
                        dead.append((message, reason))
            if not_done:
                self.link.forget_unacked()
        self.metrics.events_published.inc(len(in_flight) - len(failed) - len(dead))
        return failed, dead

    async def publish(
        self, messages: list[SpooledMessage], timeout_s: float | None = None
    ) -> list[SpooledMessage]:
        """Publish concurrently and wait for the acks; dead-letter what can never be
        published; return the messages not acked (to retry)."""
        if not self.link.usable:
            return messages
        in_flight: InFlight = []
        failed: list[SpooledMessage] = []
        await self._send(messages, in_flight, failed)
        not_acked, dead = await self._acks(
            in_flight, timeout_s if timeout_s is not None else self.publish_timeout_s
        )
        if dead:
            await self._dead_letter(dead)
        return failed + not_acked

    async def _dead_letter(self, dead: Dead, poison: list[Poison] = (), segment: str = "") -> None:
        await asyncio.to_thread(self.dead_letter_sync, dead, poison, segment)

    def dead_letter_sync(self, dead: Dead, poison: list[Poison] = (), segment: str = "") -> None:
        """Park each entry in the spool's dead-letter directory, count it, log an error
        naming it (never its contents: they may hold a caller's data)."""
        parked = [(dead_letter_name(m, r), frame(m), r, m.msg_id, m.subject) for m, r in dead]
        parked += [
            (f"{segment}-{p.offset}.{p.reason}.bin", p.data, p.reason, None, None) for p in poison
        ]
        for name, data, reason, msg_id, subject in parked:
            if not self.spool.dead_letter(name, data):
                continue
            self.metrics.events_dead_lettered.labels(reason).inc()
            log.error(
                "event dead-lettered: it can never be published",
                extra={
                    "reason": reason,
                    "msg_id": msg_id,
                    "subject": subject,
                    "file": name,
                    "bytes": len(data),
                },
            )

    async def _replayer(self) -> None:
        last_adopt = 0.0
        while not self._stopping:
            try:
                await asyncio.wait_for(self.link.came_back.wait(), timeout=self.replay_interval_s)
                self.link.came_back.clear()
            except TimeoutError:
                pass
            if not self.link.usable:
                continue
            now = time.monotonic()
            if not self.spool.has_data() and now - last_adopt < _ADOPT_EVERY_S:
                continue
            last_adopt = now
            try:
                await self.replay()
            except Exception:  # noqa: BLE001 — retried on the next tick
                log.exception("spool replay failed")

    async def replay(self) -> int:
        """Publish every spooled segment, oldest first; a segment is deleted only once all
        of its messages are acked. Returns the number of messages replayed."""
        replayed = 0
        segments = await asyncio.to_thread(self.spool.sealed_segments)
        for segment in segments:
            entries = await asyncio.to_thread(self.spool.read_segment, segment)
            messages = [e for e in entries if isinstance(e, SpooledMessage)]
            if len(messages) < len(entries):
                poison = [e for e in entries if isinstance(e, Poison)]
                await self._dead_letter([], poison, segment.stem)
            for start in range(0, len(messages), self.batch_max * 2):
                failed = await self.publish(messages[start : start + self.batch_max * 2])
                if failed:
                    log.warning(
                        "spool replay interrupted; will retry",
                        extra={"segment": segment.name, "failed": len(failed)},
                    )
                    return replayed
            await asyncio.to_thread(self.spool.remove_segment, segment)
            replayed += len(messages)
            self.metrics.events_replayed.inc(len(messages))
            log.info(
                "replayed spool segment", extra={"segment": segment.name, "events": len(messages)}
            )
        return replayed

    # --- shutdown ------------------------------------------------------------------------

    async def close(self) -> None:
        """Drain: publish what can be published within the drain timeout, spool the rest."""
        self._stopping = True
        self._wake.set()
        publisher, replayer = self._tasks or (None, None)
        if replayer is not None:
            replayer.cancel()
        if publisher is not None:
            # Let the batch in flight finish (its publish is bounded by publish_timeout_s);
            # cancelling it mid-ack would lose it.
            await asyncio.wait({publisher}, timeout=self.drain_timeout_s + self.publish_timeout_s)
            publisher.cancel()
        # From here on a finishing request writes its events to the spool itself.
        self._closed = True
        leftovers = list(self.buffer)
        self.buffer.clear()
        if leftovers:
            messages = self.build(leftovers)  # shutdown: the loop serves nothing else now
            failed = (
                await self.publish(messages, timeout_s=self.drain_timeout_s)
                if self.link.usable
                else messages
            )
            if failed:
                self.spool.append_sync(failed)
                self.metrics.events_spooled.inc(len(failed))
        log.info("event pipeline drained", extra={"left_in_spool_bytes": self.spool.bytes})
