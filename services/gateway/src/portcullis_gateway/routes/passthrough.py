"""Every OpenAI endpoint the hot path does not serve — images, audio, moderations,
rerank, models, files, batches, fine-tuning, the Responses API — and any other ``/v1``
path and method, passed through to the chosen provider with both bodies streamed.

One mechanism for all of them: a raw-ASGI Litestar mount at ``/v1``. Litestar answers
its plain routes (``/v1/chat/completions``, ``/v1/health``) before any mount, and a
path under a gateway prefix with parameters (``/v1/logs/{id}``, ``/v1/analytics/...``)
goes to that route; everything else comes here. (A ``/v1/{rest:path}`` ASGI route would
do the same, but Litestar 2.25 fails with a ``KeyError`` when an ASGI route has path
parameters.) The request body is fed to the provider from ASGI ``receive`` as it arrives and
the answer is sent on chunk by chunk, so neither is ever held whole; the log keeps JSON
and text bodies up to ``LOG_BODY_MAX`` and only ``{"content_type", "bytes"}`` of the
rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from time import perf_counter

from litestar import asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send

from portcullis_gateway.adapters.upstream import UPSTREAM_FAILURES, map_failure
from portcullis_gateway.domain.bodies import peek_request
from portcullis_gateway.domain.body_log import BodyTap, is_json_type
from portcullis_gateway.domain.endpoints import PASSTHROUGH, check_suffix, endpoint_of
from portcullis_gateway.domain.errors import InvalidRequest, NotFound
from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.domain.resolution import (
    Routed,
    Target,
    parse_metadata,
    resolve_target,
)
from portcullis_gateway.domain.translation import Prepared
from portcullis_gateway.routes._call import RELAY, Outcome, call_provider
from portcullis_gateway.routes._context import RequestContext
from portcullis_gateway.routes._relay import (
    mark_client_gone,
    portkey_headers,
    relay_stream,
    send_answer,
    wait_disconnect,
)
from portcullis_gateway.routes._routed import call_routed
from portcullis_gateway.routes._serving import AbortAnswer, serve
from portcullis_gateway.routes._upload import Upload
from portcullis_gateway.routes.inference import read_body
from portcullis_gateway.runtime import Runtime

_START = "http.response.start"
_BODY = "http.response.body"
_JSON = b"application/json"
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


def _request_path(scope: Scope) -> str:
    # The mount strips /v1 and appends a slash; the raw path is what the caller sent,
    # still percent-encoded, which is what the provider must get.
    raw = scope.get("raw_path")
    if raw:
        return raw.decode("latin-1").partition("?")[0]
    return "/v1" + scope["path"].rstrip("/")


def _content_type(raw_headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in raw_headers:
        if name == b"content-type":
            return value.decode("latin-1")
    return ""


async def handle_passthrough(rt: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
    path = _request_path(scope)
    suffix = path[3:] if path.startswith("/v1/") else ""
    endpoint = endpoint_of(suffix) if suffix else PASSTHROUGH

    async def work(ctx: RequestContext) -> None:
        ex, inbound = ctx.ex, ctx.inbound
        if not suffix.strip("/"):
            raise NotFound(f"no endpoint at {path}")
        check_suffix(suffix)
        target = resolve_target(inbound.portkey, inbound.authorization, rt.policy, rt.providers)
        ex.metadata, ex.user = parse_metadata(inbound.portkey.get("x-portkey-metadata"))
        method = scope["method"]
        content_type = _content_type(scope["headers"])
        if isinstance(target, Routed):
            if method != "POST" or not is_json_type(content_type):
                raise InvalidRequest(
                    "a routing config (several targets, retries or override_params) applies "
                    f"to JSON POST endpoints; {method} {path} is not one: send it to a single "
                    "target (x-portkey-provider, x-portkey-custom-host, or a config with one "
                    "target)",
                    code="config_not_supported",
                )
            body = await read_body(receive, rt.settings.max_body_bytes, inbound.content_length)
            ex.request_body = body
            peek = peek_request(body)
            ex.request_body_json = True
            ex.model = peek.model
            ex.stream = bool(peek.stream)
            query = scope.get("query_string")
            ctx.body, ctx.suffix = body, suffix
            ctx.query = query.decode("latin-1") if query else ""
            await call_routed(ctx, target)
            return
        ex.chose(target.provider, target.prices_id)
        if not target.custom_host and (
            # A regional host (Bedrock's region comes with each request) is a default.
            "{" in target.base_url or rt.providers[target.provider].default_region is not None
        ):
            raise InvalidRequest(
                f"{target.provider}'s URL depends on the request, so {path} cannot be passed "
                "through to it: give its full base URL as x-portkey-custom-host",
                code="custom_host_required",
            )
        ctx.suffix = suffix
        await forward(ctx, target, content_type)

    await serve(rt, scope, receive, send, path, endpoint.kind, endpoint.route, work)


async def forward(ctx: RequestContext, target: Target, content_type: str) -> None:
    rt, ex, inbound, receive, send = ctx.rt, ctx.ex, ctx.inbound, ctx.receive, ctx.send
    method = ctx.scope["method"]
    url = target.base_url + ctx.suffix
    ex.calling(url, None)
    query = ctx.scope.get("query_string")
    if query:
        url = f"{url}?{query.decode('latin-1')}"
    headers = inbound.forward
    if target.credential is not None:
        headers.append(target.credential)
    upload = None
    data: bytes | AsyncIterator[bytes] | None = None
    if method not in _BODYLESS:
        upload = Upload(receive, rt.settings.max_body_bytes, content_type)
        data = await upload.open(inbound.content_length)
        if content_type:
            headers.append(("content-type", content_type))  # a multipart boundary, say
        if inbound.content_length is not None and not isinstance(data, bytes):
            # Known length: providers get a plain upload, not a chunked one.
            headers.append(("content-length", str(inbound.content_length)))
    prepared = Prepared(url, headers, data, None, None, ctx.suffix, True, None, method=method)
    # A redirect goes back to the caller, as from any proxy: followed here it would
    # carry the caller's key to a host no one chose, past the custom-host policy.
    try:
        outcome = await call_provider(rt, prepared, target.provider, target.timeout_s, mode=RELAY)
    finally:
        if upload is not None:
            upload.log_into(ex)
    ex.upstream_ms = outcome.latency_ms
    if upload is not None and upload.failure is not None:
        # Our own limit (or the caller leaving) cut the upload, whatever the provider said.
        outcome.discard()
        raise upload.failure
    if outcome.error is not None:
        raise outcome.error
    ex.first_byte_ms = (outcome.sent_at - ctx.t0) * 1000 + outcome.head_ms
    resp = outcome.resp
    if resp is None:  # an error answer, read whole and made OpenAI-shaped
        await send_answer(send, ex, outcome.status, outcome.headers, outcome.payload)
        return
    try:
        # Only one reader of receive(): an upload still streaming keeps it.
        watch = upload is None or upload.finished
        content_type = outcome.content_type
        out = outcome.headers
        if watch and outcome.status == 200 and content_type.startswith("text/event-stream"):
            ex.stream = True
            out.append((b"content-type", content_type.encode("latin-1")))
            out.extend(portkey_headers(ex))
            ex.response_headers = out
            await relay_stream(ctx, resp, out, outcome.sent_at, url)
            return
        await relay_body(ex, outcome, receive if watch else None, send, url)
    finally:
        resp.release()


async def relay_body(
    ex: Exchange, outcome: Outcome, receive: Receive | None, send: Send, url: str
) -> None:
    """Any other answer — JSON, text, audio, a file's bytes — chunk by chunk as it
    arrives, with the provider's length when it is the length of what is sent (the
    client drops the length of a body it decompresses)."""
    resp = outcome.resp
    assert resp is not None
    out = outcome.headers
    content_type = outcome.content_type
    if content_type:
        out.append((b"content-type", content_type.encode("latin-1")))
    length = resp.headers.get("content-length")
    if length is not None:
        out.append((b"content-length", length.encode("latin-1")))
    out.extend(portkey_headers(ex))
    ex.status = resp.status
    ex.response_headers = out
    tap = BodyTap(content_type)
    sent_at = outcome.sent_at
    # As in relay_stream: a caller who leaves stops a long download at the next chunk.
    gone = asyncio.ensure_future(wait_disconnect(receive)) if receive is not None else None
    try:
        if not await _send(ex, send, {"type": _START, "status": resp.status, "headers": out}):
            return
        while True:
            try:
                chunk = await resp.readany()
            except UPSTREAM_FAILURES as exc:
                err = map_failure(exc, url)
                ex.status = err.status
                ex.error = err.as_dict()
                raise AbortAnswer from None
            last = not chunk or resp.at_eof()
            tap.feed(chunk)
            if gone is not None and gone.done():
                mark_client_gone(ex, "client disconnected during the answer")
                return
            if not await _send(ex, send, {"type": _BODY, "body": chunk, "more_body": not last}):
                return
            if last:
                return
    finally:
        ex.upstream_ms = (perf_counter() - sent_at) * 1000
        ex.response_body = tap.body()
        if gone is not None:
            gone.cancel()


async def _send(ex: Exchange, send: Send, message: dict) -> bool:
    try:
        await send(message)
    except Exception:  # noqa: BLE001 — servers raise their own OSError kin
        mark_client_gone(ex, "client disconnected during the answer")
        return False
    return True


def passthrough_routes(rt: Runtime) -> list[ASGIRouteHandler]:
    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})  # no WebSocket proxying
            return
        await handle_passthrough(rt, scope, receive, send)

    return [asgi("/v1", is_mount=True, copy_scope=False, name="passthrough")(handler)]
