"""create_app(settings): analytics as one ASGI app — the JetStream batch consumer, a
FastStream NATS broker for the analytics-query RPC, and /health and /metrics on the
HTTP port."""

from __future__ import annotations

import logging

from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from portcullis_worker import health_handler, metrics_handler

from portcullis_analytics.adapters.nats_setup import prepare_jetstream
from portcullis_analytics.adapters.store import open_store
from portcullis_analytics.entrypoints.consumer import metrics_pull_loop
from portcullis_analytics.entrypoints.rpc import register_rpc
from portcullis_analytics.metrics import AnalyticsMetrics
from portcullis_analytics.runtime import Runtime
from portcullis_analytics.settings import AnalyticsSettings

log = logging.getLogger(__name__)


def create_app(settings: AnalyticsSettings) -> AsgiFastStream:
    broker = NatsBroker(
        settings.nats_url,
        name="portcullis-analytics",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        # The process span continues the gateway's trace from the traceparent header.
        middlewares=[NatsTelemetryMiddleware()],
        logger=logging.getLogger("portcullis_analytics.broker"),
        log_level=logging.DEBUG,
        # On shutdown, queries being answered finish (up to this long) before it closes.
        graceful_timeout=settings.stop_grace_s,
    )
    rt = Runtime(
        settings=settings, broker=broker, store=open_store(settings), metrics=AnalyticsMetrics()
    )
    register_rpc(broker, rt)
    puller = metrics_pull_loop(rt)

    async def prepare() -> None:
        applied = await rt.store.open_retrying()
        log.info(
            "analytics store ready",
            extra={"backend": rt.store.name, "database": rt.store.database, "migrated": applied},
        )
        await prepare_jetstream(settings)

    async def start_consuming() -> None:
        await puller.start()

    async def stop_consuming() -> None:
        # Before the broker and the store close: finish or hand back the batch held.
        await puller.stop()
        log.info("consumer stopped")

    async def close() -> None:
        await rt.store.close()

    return AsgiFastStream(
        broker,
        asgi_routes=[
            ("/health", health_handler(broker, "analytics")),
            ("/metrics", metrics_handler(rt.metrics.registry)),
        ],
        logger=logging.getLogger("portcullis_analytics.app"),
        on_startup=[prepare],
        after_startup=[start_consuming],
        on_shutdown=[stop_consuming],
        after_shutdown=[close],
    )
