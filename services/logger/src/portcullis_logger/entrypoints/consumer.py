"""The durable JetStream consumer: RequestLogged -> LogObject in S3, acked only after the
write succeeded; failures are redelivered with back-off, then dead-lettered."""

from __future__ import annotations

import logging
import time

import msgspec
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from opentelemetry import trace
from portcullis.dead_letter import publish_dead_letter
from portcullis.events import decode_log
from portcullis.subjects import LOGGER_DURABLE, LOGS_PREFIX, LOGS_STREAM

from portcullis_logger.adapters.nats_setup import consumer_config
from portcullis_logger.domain.delivery import DeadLetter, after_failure
from portcullis_logger.domain.keys import InvalidLogId, canonical_id, object_key
from portcullis_logger.domain.log_object import encode_log_object
from portcullis_logger.runtime import Runtime

log = logging.getLogger(__name__)
tracer = trace.get_tracer("portcullis_logger")


async def raw_body(msg) -> bytes:
    """Skip FastStream's JSON decoding: bodies are decoded with msgspec, once."""
    return msg.body


async def store_log(msg: NatsMessage, rt: Runtime) -> None:
    raw = msg.raw_message
    metrics = rt.metrics
    metrics.consumed.inc()
    delivered = raw.metadata.num_delivered
    if delivered > 1:
        metrics.redeliveries.inc()

    try:
        event = decode_log(raw.data)
        log_id = canonical_id(event.id)
        key = object_key(event.workspace, log_id)
        body = encode_log_object(event, log_id)
    except (msgspec.DecodeError, msgspec.ValidationError, InvalidLogId) as exc:
        # A poison message never becomes storable: straight to the dead-letter subject.
        await _dead_letter(msg, rt, f"undecodable RequestLogged: {exc}", "undecodable")
        return

    started = time.perf_counter()
    try:
        with tracer.start_as_current_span("s3.put_object", attributes={"s3.key": key}):
            await rt.store.put(key, body)
    except Exception as exc:  # noqa: BLE001 — any store failure is retried the same way
        metrics.write_failures.inc()
        decision = after_failure(
            delivered,
            rt.settings.max_deliver,
            rt.settings.nak_delay_s,
            f"S3 write failed: {type(exc).__name__}",
        )
        log.warning(
            "log write failed",
            extra={"log_id": log_id, "deliveries": delivered, "error": type(exc).__name__},
        )
        if isinstance(decision, DeadLetter):
            await _dead_letter(msg, rt, decision.reason, "write_failed")
        else:
            await msg.nack(delay=decision.delay_s)
        return

    metrics.write_seconds.observe(time.perf_counter() - started)
    metrics.written.inc()
    await msg.ack()


async def _dead_letter(msg: NatsMessage, rt: Runtime, reason: str, kind: str) -> None:
    try:
        await publish_dead_letter(rt.broker, msg.raw_message, "logs", LOGS_PREFIX, reason)
    except Exception:
        # Not parked: leave it un-acked so it comes back and we try again.
        log.exception("dead-letter publish failed")
        await msg.nack(delay=rt.settings.nak_delay_s)
        return
    rt.metrics.dead_lettered.labels(kind).inc()
    log.warning("log event dead-lettered", extra={"reason": reason})
    # term: the server must not redeliver what is now parked in the DLQ.
    await msg.reject()


def register_consumer(broker: NatsBroker, rt: Runtime) -> None:
    settings = rt.settings

    @broker.subscriber(
        f"{LOGS_PREFIX}.>",
        stream=JStream(LOGS_STREAM, declare=False),
        durable=LOGGER_DURABLE,
        config=consumer_config(settings),
        pull_sub=PullSub(batch_size=settings.pull_batch, timeout=1.0),
        # Messages handled concurrently; fetching goes on while writes are in flight.
        max_workers=settings.s3_concurrency,
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_body,
        title="logger",
    )
    async def on_log_event(msg: NatsMessage) -> None:
        await store_log(msg, rt)
