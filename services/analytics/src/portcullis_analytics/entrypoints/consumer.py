"""The durable JetStream consumer: batches of RequestMetered -> rows in ClickHouse.

A batch is acked only after its insert succeeded. An undecodable message is parked in the
dead-letter subject at once and does not hold up the rest of its batch. When an insert
fails the batch is redelivered with back-off; a message that has reached ``max_deliver``
is then retried alone, and dead-lettered if ClickHouse (which answers) still refuses it.
"""

from __future__ import annotations

import logging
import time

import msgspec
from nats.aio.msg import Msg
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import StatusCode
from portcullis.events import RequestMetered, decode_metric
from portcullis.subjects import ANALYTICS_DURABLE, METRICS_STREAM
from portcullis.telemetry import extract_trace_context
from portcullis_worker import PullLoop, PullSizing
from portcullis_worker.redelivery import DeadLetter, after_failure, backoff_s

from portcullis_analytics.domain.rows import encode_rows, latest_by_id, row_from_metered
from portcullis_analytics.runtime import Runtime

log = logging.getLogger(__name__)
tracer = trace.get_tracer("portcullis_analytics")

_MAX_LINKS = 128


def _trace_contexts(messages: list[Msg]) -> list[tuple[Msg, Context]]:
    """Each event's own trace context, from the traceparent the gateway sent with it."""
    found = []
    for msg in messages:
        ctx = extract_trace_context(msg.headers)
        if trace.get_current_span(ctx).get_span_context().is_valid:
            found.append((msg, ctx))
    return found


def _record_spans(
    traced: list[tuple[Msg, Context]], start_ns: int, error: Exception | None
) -> None:
    """One batch holds events of many requests. The insert span links to their traces,
    and each request's trace gets its own span for the insert that stored it, so one
    trace runs from the gateway's request into analytics."""
    end_ns = time.time_ns()
    for msg, ctx in traced:
        span = tracer.start_span(
            "analytics.store",
            context=ctx,
            start_time=start_ns,
            attributes={"messaging.batch.message_count": len(traced), "nats.subject": msg.subject},
        )
        if error is not None:
            span.set_status(StatusCode.ERROR, type(error).__name__)
        span.end(end_time=end_ns)


async def _insert(
    rt: Runtime, events: list[RequestMetered], messages: list[Msg] | None = None
) -> None:
    rows = [row_from_metered(e) for e in latest_by_id(events)]
    traced = _trace_contexts(messages or [])
    links = [
        trace.Link(trace.get_current_span(ctx).get_span_context()) for _, ctx in traced[:_MAX_LINKS]
    ]
    started, start_ns = time.perf_counter(), time.time_ns()
    error: Exception | None = None
    try:
        with tracer.start_as_current_span(
            "clickhouse.insert", attributes={"rows": len(rows)}, links=links
        ):
            await rt.store.insert_rows(encode_rows(rows))
    except Exception as exc:
        error = exc
        raise
    finally:
        _record_spans(traced, start_ns, error)
    rt.metrics.insert_seconds.observe(time.perf_counter() - started)
    rt.metrics.inserted_rows.inc(len(rows))


async def store_batch(messages: list[Msg], rt: Runtime) -> None:
    metrics = rt.metrics
    metrics.consumed.inc(len(messages))
    metrics.batch_size.observe(len(messages))

    decoded: list[tuple[Msg, RequestMetered]] = []
    for msg in messages:
        if msg.metadata.num_delivered > 1:
            metrics.redeliveries.inc()
        try:
            decoded.append((msg, decode_metric(msg.data)))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            await rt.dead_letters.park(msg, f"undecodable RequestMetered: {exc}", "undecodable")
    if not decoded:
        return

    try:
        await _insert(rt, [event for _, event in decoded], [msg for msg, _ in decoded])
    except Exception as exc:  # noqa: BLE001 — any store failure is handled the same way
        metrics.insert_failures.inc()
        log.warning("batch insert failed", extra={"events": len(decoded), "error": str(exc)[:300]})
        await _after_failed_batch(rt, decoded, exc)
        return
    for msg, _ in decoded:
        await msg.ack()


async def _after_failed_batch(
    rt: Runtime, decoded: list[tuple[Msg, RequestMetered]], exc: Exception
) -> None:
    settings = rt.settings
    reason = f"ClickHouse insert failed: {type(exc).__name__}"
    for msg, event in decoded:
        delivered = msg.metadata.num_delivered
        decision = after_failure(delivered, settings.max_deliver, settings.nak_delay_s, reason)
        if not isinstance(decision, DeadLetter):
            await msg.nak(delay=decision.delay_s)
            continue
        # Out of tries. Alone it may go in (another row spoilt the batch); if it is
        # refused while ClickHouse answers, the row itself is at fault: park it.
        try:
            await _insert(rt, [event])
        except Exception as alone:  # noqa: BLE001
            if await rt.store.ping():
                await rt.dead_letters.park(
                    msg, f"{decision.reason}: {str(alone)[:200]}", "insert_rejected"
                )
            else:
                await msg.nak(delay=backoff_s(delivered, settings.nak_delay_s))
            continue
        await msg.ack()


def metrics_pull_loop(rt: Runtime) -> PullLoop:
    """The durable consumer's loop, feeding ``store_batch``; start() and stop() it."""
    settings = rt.settings

    async def handle(messages: list[Msg]) -> None:
        await store_batch(messages, rt)

    return PullLoop(
        nats_url=settings.nats_url,
        name="portcullis-analytics-consumer",
        stream=METRICS_STREAM,
        durable=ANALYTICS_DURABLE,
        handler=handle,
        sizing=PullSizing.one_batch_at_a_time(settings.batch_size, settings.batch_wait_s),
        grace_s=settings.stop_grace_s,
    )
