"""GET /v1/health and GET /metrics: what a load balancer and Prometheus ask."""

from __future__ import annotations

from importlib.metadata import version

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from portcullis_gateway.runtime import Runtime

VERSION = version("portcullis-gateway")


def ops_routes(rt: Runtime) -> list[HTTPRouteHandler]:
    @get("/v1/health")
    async def health() -> dict:
        # Still healthy when NATS or Redis is down: events spool, Redis is not needed yet.
        return {
            "status": "success",
            "message": "Server is healthy",
            "version": VERSION,
            "nats": {"connected": rt.link.connected, "streams_ready": rt.link.streams_ready},
            "redis": {"connected": await rt.redis.ping()},
            "events": {
                "buffer_depth": len(rt.events.buffer),
                "buffer_max": rt.settings.event_buffer_max,
                "spool_bytes": rt.spool.bytes,
            },
        }

    @get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(content=rt.metrics.render(), media_type=rt.metrics.content_type)

    return [health, metrics]
