"""``create_app(settings)``: the gateway's Litestar app, its routes, lifespan and
error mapping. ``app_from_env`` is the factory the server (granian) calls in each
worker process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException
from portcullis.telemetry import configure_logging, configure_tracing

from portcullis_gateway.domain.errors import GatewayError, error_body
from portcullis_gateway.routes.inference import inference_routes
from portcullis_gateway.routes.messages import messages_routes
from portcullis_gateway.routes.ops import ops_routes
from portcullis_gateway.routes.passthrough import passthrough_routes
from portcullis_gateway.routes.reads import read_routes
from portcullis_gateway.runtime import Runtime
from portcullis_gateway.settings import GatewaySettings

_HTTP_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error"}


def _gateway_error(_: Request, exc: GatewayError) -> Response:
    return Response(content=exc.body(), status_code=exc.status, media_type="application/json")


def _http_error(_: Request, exc: HTTPException) -> Response:
    # Litestar's own errors (unknown route, wrong method, bad path parameter) get the
    # same OpenAI-style body as everything else; 5xx details are never shown.
    status = exc.status_code
    message = exc.detail if status < 500 else "internal gateway error"
    kind = _HTTP_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
    body = error_body(message, kind, None)
    return Response(content=body, status_code=status, media_type="application/json")


def create_app(settings: GatewaySettings) -> Litestar:
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = Litestar(
        route_handlers=[
            *inference_routes(runtime),
            *messages_routes(runtime),
            *read_routes(runtime),
            *ops_routes(runtime),
            # A mount at /v1: every other /v1 path; the routes above win over it.
            *passthrough_routes(runtime),
        ],
        lifespan=[lifespan],
        exception_handlers={GatewayError: _gateway_error, HTTPException: _http_error},
        openapi_config=None,
        # Logging is configured once per process (JSON lines); Litestar must not redo it.
        logging_config=None,
        debug=False,
    )
    app.state.runtime = runtime
    return app


def app_from_env() -> Litestar:
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    configure_tracing("portcullis-gateway", settings.trace_exporter, settings.otlp_endpoint)
    return create_app(settings)
