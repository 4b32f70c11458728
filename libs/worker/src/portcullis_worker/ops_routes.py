"""HTTP endpoints served next to the consumer on the service port: /health, /metrics."""

from __future__ import annotations

from faststream.asgi import AsgiResponse, get
from faststream.asgi.handlers import GetHandler
from faststream.nats import NatsBroker
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

_JSON = {"content-type": "application/json"}


def health_handler(broker: NatsBroker, service: str) -> GetHandler:
    healthy = AsgiResponse(f'{{"status":"ok","service":"{service}"}}'.encode(), 200, _JSON)
    unhealthy = AsgiResponse(
        f'{{"status":"unavailable","service":"{service}","reason":"nats"}}'.encode(), 503, _JSON
    )

    @get(include_in_schema=False)
    async def health(scope) -> AsgiResponse:
        return healthy if await broker.ping(timeout=1.0) else unhealthy

    return health


def metrics_handler(registry: CollectorRegistry) -> GetHandler:
    @get(include_in_schema=False)
    async def metrics(scope) -> AsgiResponse:
        return AsgiResponse(generate_latest(registry), 200, {"content-type": CONTENT_TYPE_LATEST})

    return metrics
