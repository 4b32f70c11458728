"""The ASGI app every worker process is: a FastStream NATS broker for the service's RPC,
its consumer started once the broker is up and stopped before the broker closes, and
/health and /metrics on the HTTP port."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from prometheus_client import CollectorRegistry

from portcullis_worker.ops_routes import health_handler, metrics_handler


class Consumer(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def worker_broker(service: str, nats_url: str, *, rpc_grace_s: float | None = None) -> NatsBroker:
    """``rpc_grace_s``: on shutdown, how long requests being answered may take (unset:
    FastStream's default)."""
    options: dict[str, Any] = {}
    if rpc_grace_s is not None:
        options["graceful_timeout"] = rpc_grace_s
    return NatsBroker(
        nats_url,
        name=f"portcullis-{service}",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        # The RPC's process span continues the caller's trace from the traceparent header.
        middlewares=[NatsTelemetryMiddleware()],
        logger=logging.getLogger(f"portcullis_{service}.broker"),
        # Per-message "Received/Processed" lines only when debugging.
        log_level=logging.DEBUG,
        **options,
    )


def create_worker_app(
    *,
    service: str,
    broker: NatsBroker,
    registry: CollectorRegistry,
    prepare: Callable[[], Awaitable[None]],
    consumer: Consumer,
    close: Callable[[], Awaitable[None]],
    ready_details: dict[str, Any] | None = None,
) -> AsgiFastStream:
    """``prepare`` waits for the sink and NATS and sets up the durable (start order does
    not matter); ``close`` releases the sink once the consumer and the broker are done."""
    log = logging.getLogger(f"portcullis_{service}.app")

    async def start_consuming() -> None:
        await consumer.start()
        log.info(f"{service} ready", extra=ready_details or {})

    async def stop_consuming() -> None:
        # Before the broker and the sink close: finish or hand back what is held.
        await consumer.stop()
        log.info("consumer stopped")

    return AsgiFastStream(
        broker,
        asgi_routes=[
            ("/health", health_handler(broker, service)),
            ("/metrics", metrics_handler(registry)),
        ],
        logger=log,
        on_startup=[prepare],
        after_startup=[start_consuming],
        on_shutdown=[stop_consuming],
        after_shutdown=[close],
    )
