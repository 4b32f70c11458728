"""The audit trail's two halves: the middleware that records every mutating call once
its answer has gone out (outcome included, 4xx too), and GET /v1/audit-logs."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from litestar import Request, get
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from portcullis.ids import new_request_id

from portcullis_control.adapters.db import audit
from portcullis_control.domain import views
from portcullis_control.domain.audit import MUTATING, describe
from portcullis_control.domain.clock import to_db, utc_now
from portcullis_control.domain.errors import InvalidRequest
from portcullis_control.domain.scopes import Principal
from portcullis_control.entrypoints.http.calls import caller, paging
from portcullis_control.runtime import Runtime

log = logging.getLogger(__name__)

_FILTERS = (
    "method",
    "uri",
    "request_id",
    "user_id",
    "workspace_id",
    "resource_type",
    "action",
    "client_ip",
)


def audit_middleware(rt: Runtime) -> Any:
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["method"] not in MUTATING:
                await app(scope, receive, send)
                return
            request_id = new_request_id()
            status = 500

            async def send_noting(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"x-portkey-request-id", request_id.encode()),
                    ]
                await send(message)

            try:
                await app(scope, receive, send_noting)
            finally:
                await _record(rt, scope, request_id, status)

        return middleware

    return factory


async def _record(rt: Runtime, scope: Scope, request_id: str, status: int) -> None:
    state = scope.get("state", {})
    principal: Principal | None = state.get("principal")
    resource, action = describe(scope["method"], scope["path"])
    client = scope.get("client")
    entry = {
        "timestamp": utc_now(),
        "request_id": request_id,
        "method": scope["method"],
        # The path only: query strings are not kept (they might carry anything).
        "uri": scope["path"][:512],
        "user_id": principal.key_id if principal else None,
        "user_type": "api_key",
        "organisation_id": principal.organisation_id if principal else rt.settings.organisation_id,
        "workspace_id": state.get("workspace_id")
        or (principal.workspace_id if principal else None),
        "resource_type": resource,
        "action": action,
        "response_status_code": status,
        "client_ip": client[0] if client else None,
    }
    try:
        async with rt.engine.begin() as conn:
            await audit.record(conn, entry)
    except Exception:
        # The call has been answered; a lost record is logged, never raised at the client.
        log.exception("could not write the audit record", extra={"request_id": request_id})


def _time(request: Request[Any, Any, Any], name: str) -> dt.datetime:
    text = request.query_params.get(name)
    if not text:
        raise InvalidRequest(f"{name} is required (ISO 8601)", param=name)
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{name} must be an ISO 8601 date-time", param=name) from None
    return to_db(value) or value


def audit_routes(rt: Runtime) -> list[HTTPRouteHandler]:
    @get("/v1/audit-logs")
    async def list_audit_logs(request: Request[Any, Any, Any]) -> dict[str, Any]:
        who = await caller(rt, request, "audit_logs.list")
        start, end = _time(request, "start_time"), _time(request, "end_time")
        offset, limit = paging(rt, request)
        q = request.query_params
        filters: dict[str, Any] = {name: q[name] for name in _FILTERS if q.get(name)}
        if q.get("response_status_code"):
            try:
                filters["response_status_code"] = int(q["response_status_code"])
            except ValueError:
                raise InvalidRequest(
                    "response_status_code must be an integer", param="response_status_code"
                ) from None
        async with rt.engine.connect() as conn:
            total, rows = await audit.page(conn, who, start, end, filters, offset, limit)
        return {"records": [views.audit_record(r) for r in rows], "total": total, "object": "list"}

    return [list_audit_logs]
