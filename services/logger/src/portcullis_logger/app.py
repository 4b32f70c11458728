"""create_app(settings): the logger as one ASGI app — a FastStream NATS broker (JetStream
consumer + log-by-id RPC) with /health and /metrics on the same HTTP port."""

from __future__ import annotations

import logging

from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware

from portcullis_logger.adapters.log_store import LogStore
from portcullis_logger.adapters.nats_setup import prepare_jetstream
from portcullis_logger.entrypoints.consumer import register_consumer
from portcullis_logger.entrypoints.http import health_handler, metrics_handler
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
    register_consumer(broker, rt)
    register_rpc(broker, rt)

    async def prepare() -> None:
        # Both wait for their server: start order with NATS and S3 does not matter.
        await rt.store.ensure_bucket_retrying()
        await prepare_jetstream(settings)
        log.info("logger ready", extra={"bucket": settings.s3_bucket})

    async def close() -> None:
        rt.store.close()

    return AsgiFastStream(
        broker,
        asgi_routes=[
            ("/health", health_handler(broker, "logger")),
            ("/metrics", metrics_handler(rt.metrics.registry)),
        ],
        logger=logging.getLogger("portcullis_logger.app"),
        on_startup=[prepare],
        after_shutdown=[close],
    )
