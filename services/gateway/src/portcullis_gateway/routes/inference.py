"""The hot path: POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/rerank.

Raw ASGI handlers (mounted as Litestar ``asgi`` routes) so a request costs one header
scan, one partial JSON peek and one pooled upstream call: bodies pass through as bytes,
streams are forwarded chunk by chunk as they arrive, and the log/metric work is handed
to the event pipeline after the last byte is sent, without an await.
"""

from __future__ import annotations

from litestar import asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from portcullis_gateway.domain.bodies import peek_request
from portcullis_gateway.domain.errors import (
    BodyTooLarge,
    GatewayError,
    InvalidRequest,
    MethodNotAllowed,
)
from portcullis_gateway.domain.resolution import Routed, parse_metadata, resolve_target
from portcullis_gateway.domain.translation import serves
from portcullis_gateway.routes._context import RequestContext
from portcullis_gateway.routes._relay import call_upstream
from portcullis_gateway.routes._routed import call_routed
from portcullis_gateway.routes._serving import ClientGone, serve
from portcullis_gateway.runtime import Runtime

__all__ = ["ROUTES", "ClientGone", "hot_handlers", "inference_routes", "read_body"]

ROUTES = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "completion",
    "/v1/embeddings": "embeddings",
    # A JSON POST like the others; Cohere's adapter translates it, OpenAI-format
    # providers (Jina, Voyage, a custom host) take it as it is.
    "/v1/rerank": "rerank",
}


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
    async def work(ctx: RequestContext) -> None:
        ex, inbound = ctx.ex, ctx.inbound
        if scope["method"] != "POST":
            raise MethodNotAllowed(f"{scope['path']} accepts POST only")
        portkey = inbound.portkey
        # Headers first (so even a 413 names its provider), but the body is read before
        # a header error is answered, so the log of a refused request still has it.
        header_error = None
        try:
            target = resolve_target(portkey, inbound.authorization, rt.policy, rt.providers)
            if not isinstance(target, Routed):
                ex.chose(target.provider, target.prices_id)
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
        query = scope.get("query_string")
        ctx.body, ctx.suffix = body, suffix
        ctx.query = query.decode("latin-1") if query else ""
        if isinstance(target, Routed):
            await call_routed(ctx, target)
            return
        if not serves(rt.providers[target.provider], suffix):
            raise InvalidRequest(f"provider {target.provider!r} does not serve {scope['path']}")
        await call_upstream(ctx, target)

    await serve(rt, scope, receive, send, scope["path"], kind, None, work)


def hot_handlers(rt: Runtime) -> dict[str, ASGIApp]:
    """The raw ASGI handler of each inference path, by path."""
    handlers: dict[str, ASGIApp] = {}
    for path, kind in ROUTES.items():
        suffix = path[len("/v1") :]

        def bind(kind: str = kind, suffix: str = suffix) -> ASGIApp:
            async def handler(scope: Scope, receive: Receive, send: Send) -> None:
                await handle_inference(rt, kind, suffix, scope, receive, send)

            return handler

        handlers[path] = bind()
    return handlers


def inference_routes(rt: Runtime) -> list[ASGIRouteHandler]:
    return [
        asgi(path, copy_scope=False, name=f"inference-{ROUTES[path]}")(handler)
        for path, handler in hot_handlers(rt).items()
    ]
