"""The hot path: POST /v1/chat/completions, /v1/completions and /v1/embeddings.

Raw ASGI handlers (mounted as Litestar ``asgi`` routes) so a request costs one header
scan, one partial JSON peek and one pooled upstream call: bodies pass through as bytes,
streams are forwarded chunk by chunk as they arrive, and the log/metric work is handed
to the event pipeline after the last byte is sent, without an await.
"""

from __future__ import annotations

import logging
from time import perf_counter, time_ns

from litestar import asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send
from opentelemetry import propagate
from opentelemetry.trace import SpanKind
from portcullis.ids import new_request_id, new_trace_id

from portcullis_gateway.domain.bodies import peek_request
from portcullis_gateway.domain.errors import (
    BodyTooLarge,
    GatewayError,
    InvalidRequest,
    MethodNotAllowed,
)
from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.domain.resolution import (
    Routed,
    parse_metadata,
    resolve_target,
    scan_headers,
)
from portcullis_gateway.domain.translation import serves
from portcullis_gateway.routes._relay import call_upstream, portkey_headers, send_error
from portcullis_gateway.routes._routed import call_routed
from portcullis_gateway.runtime import Runtime

log = logging.getLogger(__name__)

ROUTES = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "completion",
    "/v1/embeddings": "embeddings",
}
_START = "http.response.start"
_BODY = "http.response.body"
_JSON = b"application/json"
_INTERNAL_ERROR = (
    b'{"error":{"message":"internal gateway error","type":"api_error",'
    b'"param":null,"code":"internal_error"}}'
)


class ClientGone(Exception):
    """The caller disconnected before the request body arrived."""


async def read_body(receive: Receive, limit: int, declared: int | None) -> bytes:
    if declared is not None and declared > limit:
        raise BodyTooLarge(f"request body is {declared} bytes; this gateway accepts {limit}")
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    body = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise BodyTooLarge(f"request body is over {limit} bytes")
        return body
    parts = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            raise BodyTooLarge(f"request body is over {limit} bytes")
        parts.append(part)
        if not message.get("more_body", False):
            return b"".join(parts)


def _is_json(body: bytes) -> bool:
    try:
        peek_request(body)
    except GatewayError:
        return False
    return True


async def handle_inference(
    rt: Runtime, kind: str, suffix: str, scope: Scope, receive: Receive, send: Send
) -> None:
    t0 = perf_counter()
    raw_headers = scope["headers"]
    ex = Exchange(
        new_request_id(),
        "",
        scope["method"],
        scope["path"],
        kind,
        time_ns() // 1_000_000,
        raw_headers,
    )
    inbound = scan_headers(raw_headers)
    portkey = inbound.portkey
    ex.trace_id = portkey.get("x-portkey-trace-id") or new_trace_id()
    ex.span_id = portkey.get("x-portkey-span-id")
    parent = (
        propagate.extract({"traceparent": inbound.traceparent}) if inbound.traceparent else None
    )
    span = rt.tracer.start_span(f"POST {scope['path']}", context=parent, kind=SpanKind.SERVER)
    ex.trace_context = span.get_span_context()
    try:
        if scope["method"] != "POST":
            raise MethodNotAllowed(f"{scope['path']} accepts POST only")
        # Headers first (so even a 413 names its provider), but the body is read before
        # a header error is answered, so the log of a refused request still has it.
        header_error = None
        try:
            target = resolve_target(portkey, inbound.authorization, rt.policy, rt.providers)
            if not isinstance(target, Routed):
                ex.provider = target.provider
                ex.prices_id = target.prices_id
            ex.metadata, ex.user = parse_metadata(portkey.get("x-portkey-metadata"))
        except GatewayError as err:
            header_error = err
        body = await read_body(receive, rt.settings.max_body_bytes, inbound.content_length)
        ex.request_body = body
        if header_error is not None:
            ex.request_body_json = _is_json(body)
            raise header_error
        peek = peek_request(body)
        ex.request_body_json = True
        ex.model = peek.model
        ex.stream = bool(peek.stream)
        if isinstance(target, Routed):
            query = scope.get("query_string")
            await call_routed(rt, ex, inbound, target, body, suffix, query, receive, send, t0)
            return
        if not serves(rt.providers[target.provider], suffix):
            raise InvalidRequest(f"provider {target.provider!r} does not serve {scope['path']}")
        query = scope.get("query_string")
        query_text = query.decode("latin-1") if query else ""
        await call_upstream(rt, ex, target, inbound, body, receive, send, suffix, query_text, t0)
    except GatewayError as err:
        if err.status == 413:
            ex.request_body = None
        await send_error(send, ex, err)
    except ClientGone:
        ex.status = 499
        ex.error = {"message": "client disconnected before the request body arrived"}
    except Exception:  # noqa: BLE001 — a bug must not leak a trace or kill the worker
        log.exception("unhandled error in the request path", extra={"request_id": ex.request_id})
        if ex.status == 0:
            ex.status = 500
            ex.error = {"message": "internal gateway error", "type": "api_error"}
            try:
                headers = [(b"content-type", _JSON)]
                headers.extend(portkey_headers(ex))
                await send({"type": _START, "status": 500, "headers": headers})
                await send({"type": _BODY, "body": _INTERNAL_ERROR})
            except Exception:  # noqa: BLE001 — response already started or caller gone
                pass
    finally:
        ex.total_ms = (perf_counter() - t0) * 1000
        span.set_attributes(
            {
                "http.response.status_code": ex.status,
                "portcullis.request_id": ex.request_id,
                "portcullis.provider": ex.provider,
            }
        )
        span.end()
        rt.events.record(ex)


def inference_routes(rt: Runtime) -> list[ASGIRouteHandler]:
    handlers = []
    for path, kind in ROUTES.items():
        suffix = path[len("/v1") :]

        def bind(kind: str = kind, suffix: str = suffix):
            async def handler(scope: Scope, receive: Receive, send: Send) -> None:
                await handle_inference(rt, kind, suffix, scope, receive, send)

            return handler

        handlers.append(asgi(path, copy_scope=False, name=f"inference-{kind}")(bind()))
    return handlers
