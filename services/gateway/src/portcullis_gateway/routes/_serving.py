"""The frame a request-path handler runs in: its ``Exchange`` and server span, the
mapping of whatever ends it (a gateway error, a caller who left, a bug) to an answer,
and the hand-off of the record to the event pipeline after the last byte, without an
await. Every request-path handler (inference, pass-through, messages) runs in it."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from time import perf_counter, time_ns

from litestar.types import Receive, Scope, Send
from opentelemetry import propagate
from opentelemetry.trace import SpanKind
from portcullis.ids import new_request_id, new_trace_id

from portcullis_gateway import secret_logging
from portcullis_gateway.domain.credentials import request_credentials
from portcullis_gateway.domain.errors import GatewayError
from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.domain.resolution import scan_headers
from portcullis_gateway.routes._context import RequestContext
from portcullis_gateway.routes._relay import send_error
from portcullis_gateway.runtime import Runtime

log = logging.getLogger(__name__)
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")

Work = Callable[[RequestContext], Awaitable[None]]


class ClientGone(Exception):
    """The caller disconnected before the request body arrived."""


class InternalError(GatewayError):
    status = 500
    type = "api_error"
    code = "internal_error"


class AbortAnswer(Exception):
    """The answer broke after it started (the provider's body failed half-way): the
    connection is aborted so the caller sees a truncated answer, not a short one."""


async def serve(
    rt: Runtime,
    scope: Scope,
    receive: Receive,
    send: Send,
    path: str,
    kind: str,
    route: str | None,
    work: Work,
) -> None:
    t0 = perf_counter()
    raw_headers = scope["headers"]
    method = scope["method"]
    ex = Exchange(new_request_id(), "", method, path, kind, time_ns() // 1_000_000, raw_headers)
    ex.route = route
    inbound = scan_headers(raw_headers)
    # Collected before anything can fail, so every answer and log line can mask them.
    ex.secrets = request_credentials(inbound, rt.providers)
    secret_logging.CURRENT.set(ex)
    ex.trace_id = inbound.portkey.get("x-portkey-trace-id") or new_trace_id()
    ex.span_id = inbound.portkey.get("x-portkey-span-id")
    # With no exporter, no span is made: nobody would see it, and the SDK's span is
    # the largest single cost of a request after the sockets (a py-spy profile: ~8 %).
    span = None
    if not rt.tracing:
        # The caller's trace still reaches the workers, whose spans may be exported.
        if inbound.traceparent and _TRACEPARENT.fullmatch(inbound.traceparent):
            ex.trace_context = inbound.traceparent
    else:
        parent = (
            propagate.extract({"traceparent": inbound.traceparent}) if inbound.traceparent else None
        )
        span = rt.tracer.start_span(
            f"{method} {route or path}", context=parent, kind=SpanKind.SERVER
        )
        ex.trace_context = span.get_span_context()
    try:
        await work(RequestContext(rt, ex, inbound, scope, receive, send, t0))
    except GatewayError as err:
        if err.status == 413:
            ex.request_body = None
        await send_error(send, ex, err)
    except ClientGone:
        ex.status = 499
        ex.error = {"message": "client disconnected before the request body arrived"}
    except AbortAnswer:
        raise
    except Exception:  # noqa: BLE001 — a bug must not leak a trace or kill the worker
        log.exception("unhandled error in the request path", extra={"request_id": ex.request_id})
        if ex.status == 0:
            try:
                await send_error(send, ex, InternalError("internal gateway error"))
            except Exception:  # noqa: BLE001 — response already started or caller gone
                pass
    finally:
        ex.total_ms = (perf_counter() - t0) * 1000
        if span is not None:
            span.set_attributes(
                {
                    "http.response.status_code": ex.status,
                    "portcullis.request_id": ex.request_id,
                    "portcullis.provider": ex.provider,
                }
            )
            span.end()
        rt.events.record(ex)
