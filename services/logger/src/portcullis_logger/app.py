"""create_app(settings): the logger as one ASGI app — the JetStream log consumer, a
FastStream NATS broker for the log-by-id RPC, and /health and /metrics on the HTTP port."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream
from portcullis_worker import create_worker_app, worker_broker

from portcullis_logger.adapters.log_store import LogStore
from portcullis_logger.adapters.nats_setup import prepare_jetstream
from portcullis_logger.entrypoints.consumer import LogConsumer
from portcullis_logger.entrypoints.rpc import register_rpc
from portcullis_logger.metrics import LoggerMetrics
from portcullis_logger.runtime import Runtime
from portcullis_logger.settings import LoggerSettings


def create_app(settings: LoggerSettings) -> AsgiFastStream:
    broker = worker_broker("logger", settings.nats_url)
    rt = Runtime(
        settings=settings, broker=broker, store=LogStore(settings), metrics=LoggerMetrics()
    )
    register_rpc(broker, rt)

    async def prepare() -> None:
        # Both wait for their server: start order with NATS and S3 does not matter.
        await rt.store.ensure_bucket_retrying()
        await prepare_jetstream(settings)

    return create_worker_app(
        service="logger",
        broker=broker,
        registry=rt.metrics.registry,
        prepare=prepare,
        consumer=LogConsumer(settings, rt.store, rt.metrics),
        close=rt.store.close,
        ready_details={"bucket": settings.s3_bucket},
    )
