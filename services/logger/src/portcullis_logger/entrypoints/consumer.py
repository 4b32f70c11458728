"""The durable JetStream consumer: RequestLogged -> LogObject in S3, acked only after the
write succeeded; failures are redelivered with back-off, then dead-lettered.

A message with a ``Portcullis-Object`` header stands for an event over NATS's
max_payload (decision 0005): the event is read from the Object Store, written as usual,
acked (waiting for the server's confirmation), and only then is the object deleted, so
a redelivery before the ack still finds it."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import nullcontext

import msgspec
from nats.aio.msg import Msg
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from portcullis import oversized
from portcullis.events import RequestLogged, decode_log, encode
from portcullis.subjects import LOGGER_DURABLE, LOGS_PREFIX, LOGS_STREAM
from portcullis.telemetry import extract_trace_context
from portcullis_worker import DeadLetters, PullLoop, PullSizing, each_message
from portcullis_worker.redelivery import DeadLetter, after_failure

from portcullis_logger.adapters.log_store import LogStore
from portcullis_logger.domain.keys import InvalidLogId, canonical_id, object_key
from portcullis_logger.domain.log_object import encode_log_object
from portcullis_logger.metrics import LoggerMetrics
from portcullis_logger.settings import LoggerSettings

log = logging.getLogger(__name__)
tracer = trace.get_tracer("portcullis_logger")


class LogConsumer:
    """Handles one message at a time; its pull loop runs ``s3_concurrency`` of them at once."""

    def __init__(self, settings: LoggerSettings, store: LogStore, metrics: LoggerMetrics) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        # Spans are only worth their CPU when someone receives them: the logger is a
        # sink, nothing continues its trace, so with the exporter off they are skipped.
        self.traced = settings.trace_exporter != "none"
        # An oversized event is held whole (object, then LogObject) while it is written:
        # a few at a time, so memory stays bounded when many arrive together.
        self._oversized_slots = asyncio.Semaphore(settings.oversized_concurrency)
        self.loop = PullLoop(
            nats_url=settings.nats_url,
            name="portcullis-logger-consumer",
            stream=LOGS_STREAM,
            durable=LOGGER_DURABLE,
            handler=each_message(self.handle),
            sizing=PullSizing.concurrent_messages(settings.pull_batch, settings.s3_concurrency),
            grace_s=settings.stop_grace_s,
        )
        self.dead_letters = DeadLetters(
            self.loop,
            family="logs",
            prefix=LOGS_PREFIX,
            counter=metrics.dead_lettered,
            nak_delay_s=settings.nak_delay_s,
            event="log event",
        )

    async def start(self) -> None:
        await self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def handle(self, msg: Msg) -> None:
        if not self.traced:
            await self._store(msg)
            return
        with tracer.start_as_current_span(
            f"{msg.subject} process",
            context=extract_trace_context(msg.headers),
            kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "nats", "messaging.destination.name": msg.subject},
        ):
            await self._store(msg)

    async def _store(self, msg: Msg) -> None:
        object_name = (msg.headers or {}).get(oversized.OBJECT_HEADER)
        if object_name is None:
            await self._write(msg, None)
            return
        async with self._oversized_slots:
            await self._write(msg, object_name)

    async def _write(self, msg: Msg, object_name: str | None) -> None:
        metrics = self.metrics
        metrics.consumed.inc()
        delivered = msg.metadata.num_delivered
        if delivered > 1:
            metrics.redeliveries.inc()

        data = msg.data
        if object_name is not None:
            try:
                data = await self._oversized(msg, object_name)
            except Exception as exc:  # noqa: BLE001 — NATS away, a torn object: retried
                reason = f"object read failed: {type(exc).__name__}"
                await self._failed(msg, delivered, object_name, reason)
                return
            if data is None:
                return
        try:
            event = decode_log(data)
            log_id = canonical_id(event.id)
            key = object_key(event.workspace, log_id)
            body = encode_log_object(event, log_id)
        except (msgspec.DecodeError, msgspec.ValidationError, InvalidLogId) as exc:
            # A poison message never becomes storable: straight to the dead-letter subject.
            await self.dead_letters.park(msg, f"undecodable RequestLogged: {exc}", "undecodable")
            return
        # A 20 MB event: only the encoded log is needed from here (its bodies are Raw
        # views of ``data``, so both go).
        del data, event

        started = time.perf_counter()
        span = (
            tracer.start_as_current_span("s3.put_object", attributes={"s3.key": key})
            if self.traced
            else nullcontext()
        )
        try:
            with span:
                await self.store.put(key, body)
        except Exception as exc:  # noqa: BLE001 — any store failure is retried the same way
            metrics.write_failures.inc()
            await self._failed(msg, delivered, log_id, f"S3 write failed: {type(exc).__name__}")
            return

        metrics.write_seconds.observe(time.perf_counter() - started)
        metrics.written.inc()
        if object_name is None:
            await msg.ack()
            return
        await self._settle_oversized(msg, object_name)

    async def _failed(self, msg: Msg, delivered: int, log_id: str, reason: str) -> None:
        settings = self.settings
        decision = after_failure(delivered, settings.max_deliver, settings.nak_delay_s, reason)
        log.warning(
            "log write failed", extra={"log_id": log_id, "deliveries": delivered, "error": reason}
        )
        if isinstance(decision, DeadLetter):
            await self.dead_letters.park(msg, decision.reason, "write_failed")
        else:
            await msg.nak(delay=decision.delay_s)

    async def _oversized(self, msg: Msg, object_name: str) -> bytes | None:
        """The whole event from the Object Store. When the object is gone: if the log is
        in S3 already (the delete of an earlier delivery came before this redelivery) the
        message is acked and None returned; otherwise the reference itself (the event
        without its bodies, marked truncated) is what gets logged."""
        js = self.loop.jetstream
        data = await oversized.fetch(js, object_name)
        if data is not None:
            self.metrics.oversized.inc()
            return data
        try:
            ref: RequestLogged = decode_log(msg.data)
            key = object_key(ref.workspace, canonical_id(ref.id))
        except (msgspec.DecodeError, msgspec.ValidationError, InvalidLogId):
            return msg.data  # dead-lettered as undecodable by the caller
        if await self.store.exists(key):
            await msg.ack()
            return None
        self.metrics.objects_missing.inc()
        log.warning(
            "oversized event's object is gone; logged without bodies", extra={"log_id": ref.id}
        )
        return encode(msgspec.structs.replace(ref, truncated=True))

    async def _settle_oversized(self, msg: Msg, object_name: str) -> None:
        try:
            await msg.ack_sync(timeout=5)
        except Exception as exc:  # noqa: BLE001 — not confirmed: the object must stay
            log.warning("oversized ack not confirmed", extra={"error": type(exc).__name__})
            return
        try:
            await oversized.delete(self.loop.jetstream, object_name)
        except Exception as exc:  # noqa: BLE001 — the bucket's TTL removes it anyway
            log.warning("could not delete oversized object", extra={"error": type(exc).__name__})
