"""``create_app(settings)``: the gateway's Litestar app, its routes, lifespan and
error mapping; ``hot_path_first(app)``: the ASGI callable served, which hands the
inference paths to their raw handlers before Litestar's router sees them.
``asgi_from_env`` is the factory the server (uvicorn) calls in each worker process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, Scope, Send
from portcullis.telemetry import configure_logging, configure_tracing

from portcullis_gateway.domain.errors import GatewayError, error_body
from portcullis_gateway.routes.inference import hot_handlers, inference_routes
from portcullis_gateway.routes.messages import messages_routes
from portcullis_gateway.routes.ops import ops_routes
from portcullis_gateway.routes.passthrough import passthrough_routes
from portcullis_gateway.routes.reads import read_routes
from portcullis_gateway.runtime import Runtime
from portcullis_gateway.secret_logging import SecretsFilter
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


def hot_path_first(app: Litestar) -> ASGIApp:
    """The inference POSTs go straight to their handlers (one dict lookup), skipping
    Litestar's router and its per-request scope work; every other request, and the
    lifespan, goes to Litestar. The same handlers are Litestar routes too, so the app
    alone (as tests build it) answers the same."""
    hot = hot_handlers(app.state.runtime)

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = hot.get(scope["path"])
            if handler is not None:
                await handler(scope, receive, send)
                return
        await app(scope, receive, send)

    return asgi


def app_from_env() -> Litestar:
    settings = GatewaySettings()
    # The request's credentials are masked in every line, whoever logs it.
    configure_logging("gateway", settings.log_level, filters=(SecretsFilter(),))
    configure_tracing("portcullis-gateway", settings.trace_exporter, settings.otlp_endpoint)
    return create_app(settings)


def asgi_from_env() -> ASGIApp:
    return hot_path_first(app_from_env())
