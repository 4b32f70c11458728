"""create_app(settings): analytics as one ASGI app — the JetStream batch consumer, a
FastStream NATS broker for the analytics-query RPC, and /health and /metrics on the
HTTP port."""

from __future__ import annotations

import logging

from faststream.asgi import AsgiFastStream
from portcullis_worker import create_worker_app, worker_broker

from portcullis_analytics.adapters.nats_setup import prepare_jetstream
from portcullis_analytics.adapters.store import open_store
from portcullis_analytics.entrypoints.consumer import metrics_pull_loop
from portcullis_analytics.entrypoints.rpc import register_rpc
from portcullis_analytics.metrics import AnalyticsMetrics
from portcullis_analytics.runtime import Runtime
from portcullis_analytics.settings import AnalyticsSettings

log = logging.getLogger(__name__)


def create_app(settings: AnalyticsSettings) -> AsgiFastStream:
    # Queries being answered at shutdown finish within the stop grace, like the batch.
    broker = worker_broker("analytics", settings.nats_url, rpc_grace_s=settings.stop_grace_s)
    rt = Runtime(
        settings=settings, broker=broker, store=open_store(settings), metrics=AnalyticsMetrics()
    )
    register_rpc(broker, rt)

    async def prepare() -> None:
        applied = await rt.store.open_retrying()
        log.info(
            "analytics store ready",
            extra={"backend": rt.store.name, "database": rt.store.database, "migrated": applied},
        )
        await prepare_jetstream(settings)

    return create_worker_app(
        service="analytics",
        broker=broker,
        registry=rt.metrics.registry,
        prepare=prepare,
        consumer=metrics_pull_loop(rt),
        close=rt.store.close,
    )
