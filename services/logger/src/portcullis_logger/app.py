"""create_app(settings): the logger as one ASGI app — the JetStream log consumer, a
FastStream NATS broker for the log-by-id RPC, and /health and /metrics on the HTTP port."""

from __future__ import annotations

import logging

from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from portcullis_worker import health_handler, metrics_handler

from portcullis_logger.adapters.log_store import LogStore
from portcullis_logger.adapters.nats_setup import prepare_jetstream
from portcullis_logger.entrypoints.consumer import LogConsumer
from portcullis_logger.entrypoints.rpc import register_rpc
from portcullis_logger.metrics import LoggerMetrics
from portcullis_logger.runtime import Runtime
from portcullis_logger.settings import LoggerSettings

log = logging.getLogger(__name__)


def create_app(settings: LoggerSettings) -> AsgiFastStream:
    broker = NatsBroker(
        settings.nats_url,
        name="portcullis-logger",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        # The process span continues the gateway's trace from the traceparent header.
        middlewares=[NatsTelemetryMiddleware()],
        logger=logging.getLogger("portcullis_logger.broker"),
        # Per-message "Received/Processed" lines only when debugging.
        log_level=logging.DEBUG,
    )
    rt = Runtime(
        settings=settings, broker=broker, store=LogStore(settings), metrics=LoggerMetrics()
    )
    register_rpc(broker, rt)
    consumer = LogConsumer(settings, rt.store, rt.metrics)

    async def prepare() -> None:
        # Both wait for their server: start order with NATS and S3 does not matter.
        await rt.store.ensure_bucket_retrying()
        await prepare_jetstream(settings)

    async def start_consuming() -> None:
        await consumer.start()
        log.info("logger ready", extra={"bucket": settings.s3_bucket})

    async def stop_consuming() -> None:
        # Before the broker closes: finish or hand back the writes in flight.
        await consumer.stop()
        log.info("consumer stopped")

    async def close() -> None:
        await rt.store.close()

    return AsgiFastStream(
        broker,
        asgi_routes=[
            ("/health", health_handler(broker, "logger")),
            ("/metrics", metrics_handler(rt.metrics.registry)),
        ],
        logger=logging.getLogger("portcullis_logger.app"),
        on_startup=[prepare],
        after_startup=[start_consuming],
        on_shutdown=[stop_consuming],
        after_shutdown=[close],
    )
