"""The event pipeline: request handlers append finished exchanges to a bounded in-memory
buffer (no await); a background task turns them into ``RequestLogged`` /
``RequestMetered`` events and publishes them to JetStream in concurrent batches with
acks; what cannot be published goes to the disk spool and is replayed later.

A full buffer drops the exchange, counted in ``portcullis_gateway_events_dropped`` and
logged as a warning: the request path never waits for the event path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable

from portcullis.events import encode, metered_from_logged
from portcullis.subjects import logs_subject, metrics_subject
from portcullis.telemetry import traceparent

from portcullis_gateway.adapters.nats_link import NatsLink
from portcullis_gateway.adapters.spool import Spool, SpooledMessage
from portcullis_gateway.domain.cost import PriceBook
from portcullis_gateway.domain.exchange import Exchange, build_logged
from portcullis_gateway.domain.secret_values import mask_json
from portcullis_gateway.metrics import GatewayMetrics
from portcullis_gateway.secret_logging import masking

log = logging.getLogger(__name__)

MSG_ID = "Nats-Msg-Id"
_DROP_WARNING_EVERY_S = 10.0
_ADOPT_EVERY_S = 30.0
# Exchanges built and sent between two yields to the event loop.
_SLICE = 32


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
        in_flight: list[tuple[asyncio.Future, SpooledMessage]] = []
        failed: list[SpooledMessage] = []
        for start in range(0, len(batch), _SLICE):
            messages = self.build(batch[start : start + _SLICE])
            if self.link.usable:
                await self._send(messages, in_flight, failed)
            else:
                failed.extend(messages)
            await asyncio.sleep(0)
        failed.extend(await self._acks(in_flight, self.publish_timeout_s))
        if failed:
            await self.spool.append(failed)
            self.metrics.events_spooled.inc(len(failed))

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
                with masking(exchange):
                    log.exception(
                        "could not build events", extra={"request_id": exchange.request_id}
                    )
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
            headers = {MSG_ID: exchange.request_id}
            span_context = exchange.trace_context
            if isinstance(span_context, str):
                headers["traceparent"] = span_context  # the caller's, checked
            elif span_context is not None:
                headers["traceparent"] = traceparent(span_context)
            log_data, metric_data = encode(logged), encode(metered)
            if exchange.secrets:
                # The request's own credentials, wherever they came back (an error that
                # echoes the key, a body, a header): masked here, off the request path.
                log_data = mask_json(log_data, exchange.secrets)
                metric_data = mask_json(metric_data, exchange.secrets)
            messages.append(
                SpooledMessage(self._logs_subject, exchange.request_id, headers, log_data)
            )
            messages.append(
                SpooledMessage(
                    self._metrics_subject, exchange.request_id, dict(headers), metric_data
                )
            )
        return messages

    async def _send(
        self,
        messages: list[SpooledMessage],
        in_flight: list[tuple[asyncio.Future, SpooledMessage]],
        failed: list[SpooledMessage],
    ) -> None:
        link = self.link
        for message in messages:
            try:
                future = await link.publish_acked(message.subject, message.data, message.headers)
            except Exception:  # noqa: BLE001 — connection gone, closing, ...: spool it
                failed.append(message)
                continue
            in_flight.append((future, message))

    async def _acks(
        self, in_flight: list[tuple[asyncio.Future, SpooledMessage]], timeout_s: float
    ) -> list[SpooledMessage]:
        """Wait for the acks; return the messages that were not acked in time."""
        failed: list[SpooledMessage] = []
        if in_flight:
            _, not_done = await asyncio.wait([f for f, _ in in_flight], timeout=timeout_s)
            for future, message in in_flight:
                if future in not_done:
                    future.cancel()
                    failed.append(message)
                elif future.cancelled() or future.exception() is not None:
                    failed.append(message)
            if not_done:
                self.link.forget_unacked()
        self.metrics.events_published.inc(len(in_flight) - len(failed))
        return failed

    async def publish(
        self, messages: list[SpooledMessage], timeout_s: float | None = None
    ) -> list[SpooledMessage]:
        """Publish concurrently and wait for the acks; return the messages not acked."""
        if not self.link.usable:
            return messages
        in_flight: list[tuple[asyncio.Future, SpooledMessage]] = []
        failed: list[SpooledMessage] = []
        await self._send(messages, in_flight, failed)
        failed.extend(
            await self._acks(
                in_flight, timeout_s if timeout_s is not None else self.publish_timeout_s
            )
        )
        return failed

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
            messages = await asyncio.to_thread(self.spool.read_segment, segment)
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
            messages = self.build(leftovers)
            failed = (
                await self.publish(messages, timeout_s=self.drain_timeout_s)
                if self.link.usable
                else messages
            )
            if failed:
                self.spool.append_sync(failed)
                self.metrics.events_spooled.inc(len(failed))
        log.info("event pipeline drained", extra={"left_in_spool_bytes": self.spool.bytes})
