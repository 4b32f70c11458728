"""``create_app(settings)``: the control plane's Litestar app — its routes under /v1,
the audit middleware, the lifespan (migrations, bootstrap key) and the one mapping of
every error to the OpenAI-style body. ``asgi_from_env`` is the factory uvicorn calls."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException

from portcullis_control.domain.errors import ControlError
from portcullis_control.entrypoints.http.api_keys import api_key_routes
from portcullis_control.entrypoints.http.audit_logs import audit_middleware, audit_routes
from portcullis_control.entrypoints.http.configs import config_routes
from portcullis_control.entrypoints.http.ops import ops_routes
from portcullis_control.entrypoints.http.virtual_keys import virtual_key_routes
from portcullis_control.entrypoints.http.workspaces import workspace_routes
from portcullis_control.runtime import Runtime
from portcullis_control.settings import ControlSettings

log = logging.getLogger(__name__)

_HTTP_TYPES = {401: "authentication_error", 403: "permission_error"}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


def _error(status: int, message: str, kind: str, param: str | None, code: str | None) -> Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return Response(content=body, status_code=status, media_type="application/json")


def _control_error(_: Request, exc: ControlError) -> Response:
    return _error(exc.status, exc.message, exc.type, exc.param, exc.code)


def _http_error(_: Request, exc: HTTPException) -> Response:
    # Litestar's own (unknown route, wrong method, body too large): the same body shape.
    status = exc.status_code
    if status >= 500:
        return _error(status, "internal error", "api_error", None, None)
    kind = _HTTP_TYPES.get(status, "invalid_request_error")
    return _error(status, str(exc.detail), kind, None, _HTTP_CODES.get(status))


def _unexpected(request: Request, exc: Exception) -> Response:
    # Never a stack trace in an answer; the log has it.
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return _error(500, "internal error", "api_error", None, None)


def create_app(settings: ControlSettings) -> Litestar:
    rt = Runtime(settings)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await rt.start()
        try:
            yield
        finally:
            await rt.stop()

    app = Litestar(
        route_handlers=[
            *workspace_routes(rt),
            *api_key_routes(rt),
            *virtual_key_routes(rt),
            *config_routes(rt),
            *audit_routes(rt),
            *ops_routes(rt),
        ],
        middleware=[audit_middleware(rt)],
        lifespan=[lifespan],
        exception_handlers={
            ControlError: _control_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
        request_max_body_size=settings.max_body_bytes,
        openapi_config=None,
        logging_config=None,
        debug=False,
    )
    app.state.runtime = rt
    return app


def asgi_from_env() -> Litestar:
    return create_app(ControlSettings())
