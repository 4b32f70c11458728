"""Anthropic's Messages API in front of every provider: POST /v1/messages and
/v1/messages/count_tokens, so the official ``anthropic`` SDK works through the gateway
whatever model is behind it.

With Anthropic behind it the request goes to Anthropic's own endpoint untranslated and
the answer (JSON or SSE) comes back byte for byte. Any other provider, or a routing
config, takes the chat path: the request becomes an OpenAI chat request
(``messages_api.to_openai``), goes through the same calls as /v1/chat/completions, and
their answers are put back into Anthropic's shape on the way out (``AnthropicReply``).
Errors are Anthropic-shaped (``{"type": "error", "error": {...}}``), the SDK's format.
The log holds the caller's Anthropic request and the answer in the OpenAI shape every
log has, so usage and cost read the same for every provider.
"""

from __future__ import annotations

from dataclasses import replace

import msgspec
from litestar import asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.types import Message, Receive, Scope, Send

from portcullis_gateway.domain.bodies import peek_request
from portcullis_gateway.domain.errors import GatewayError, InvalidRequest, MethodNotAllowed
from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.domain.json_input import decode_object
from portcullis_gateway.domain.messages_api import prompt_text, to_openai
from portcullis_gateway.domain.request_types import MessagesRequest, check_fields
from portcullis_gateway.domain.resolution import (
    Inbound,
    Routed,
    Target,
    parse_metadata,
    resolve_target,
)
from portcullis_gateway.domain.translation import (
    PORTKEY_PREFIX,
    Prepared,
    StreamTranslator,
    translate_answer,
)
from portcullis_gateway.domain.usage import estimate_tokens
from portcullis_gateway.providers.anthropic import API_VERSION
from portcullis_gateway.providers.base import CHAT, AdapterError
from portcullis_gateway.routes._anthropic_reply import AnthropicReply, NativeStreamErrors
from portcullis_gateway.routes._context import RequestContext
from portcullis_gateway.routes._relay import call_upstream, mark_client_gone, portkey_headers
from portcullis_gateway.routes._routed import call_routed
from portcullis_gateway.routes._serving import serve
from portcullis_gateway.routes.inference import read_body
from portcullis_gateway.routes.passthrough import forward
from portcullis_gateway.runtime import Runtime

MESSAGES = "/messages"
COUNT_TOKENS = "/messages/count_tokens"
KINDS = {MESSAGES: "messages", COUNT_TOKENS: "messages.count_tokens"}
NATIVE = "anthropic"
# Anthropic's own request headers: options of an Anthropic call, nothing another
# provider should receive.
_ANTHROPIC_HEADERS = ("anthropic-version", "anthropic-beta")
_START = "http.response.start"
_BODY = "http.response.body"
_JSON = b"application/json"
_encode = msgspec.json.encode


def anthropic_inbound(inbound: Inbound) -> Inbound:
    """The Anthropic SDK's headers in the gateway's terms: ``x-api-key`` is the caller's
    key when there is no Authorization, and ``anthropic-version`` / ``anthropic-beta``
    are provider options (as ``x-portkey-anthropic-*`` are, which win). None of the three
    is forwarded as it came."""
    portkey = dict(inbound.portkey)
    forward: list[tuple[str, str]] = []
    api_key = None
    for name, value in inbound.forward:
        if name == "x-api-key":
            api_key = value
        elif name in _ANTHROPIC_HEADERS:
            portkey.setdefault(PORTKEY_PREFIX + name, value)
        else:
            forward.append((name, value))
    authorization = inbound.authorization or (f"Bearer {api_key}" if api_key else None)
    return replace(inbound, portkey=portkey, authorization=authorization, forward=forward)


def replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` with the body already read given again as one message: the
    pass-through call then sends it as bytes and, knowing nothing of the caller is left
    to read, watches the connection while it relays the answer."""
    pending = True

    async def again() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def handle_messages(
    rt: Runtime, suffix: str, scope: Scope, receive: Receive, send: Send
) -> None:
    reply = AnthropicReply(send)

    async def work(ctx: RequestContext) -> None:
        ex = reply.ex = ctx.ex
        if scope["method"] != "POST":
            raise MethodNotAllowed(f"{scope['path']} accepts POST only")
        inbound = anthropic_inbound(ctx.inbound)
        ctx = ctx.but(inbound=inbound)
        # Headers first (so even a 413 names its provider), but the body is read before
        # a header error is answered, so the log of a refused request still has it.
        header_error = None
        try:
            target = resolve_target(inbound.portkey, inbound.authorization, rt.policy, rt.providers)
            if not isinstance(target, Routed):
                ex.chose(target.provider, target.prices_id)
            ex.metadata, ex.user = parse_metadata(inbound.portkey.get("x-portkey-metadata"))
        except GatewayError as err:
            header_error = err
        body = await read_body(receive, rt.settings.max_body_bytes, inbound.content_length)
        ex.request_body = body
        if header_error is None and isinstance(target, Target) and target.provider == NATIVE:
            # Anthropic judges its own body, but the two fields the gateway reads must be
            # what they claim, and the bytes UTF-8 (they are logged).
            peek_request(body)
            # The caller's send: Anthropic's own answers need no reshaping.
            ctx = ctx.but(receive=replay(body, receive), send=NativeStreamErrors(send))
            ctx.suffix = suffix
            await call_native(ctx, target)
            return
        body_error = None
        try:
            request = decode_object(body)
            ex.request_body_json = True
            check_fields(request, MessagesRequest)
        except GatewayError as err:
            body_error = err
        if header_error is not None:
            raise header_error
        if body_error is not None:
            raise body_error
        model = request.get("model")
        ex.model = model if isinstance(model, str) else None
        if suffix == COUNT_TOKENS:
            await count_locally(ex, request, send)
            return
        ex.stream = bool(request.get("stream"))
        await call_translated(ctx, target, request)

    await serve(rt, scope, receive, reply, scope["path"], KINDS[suffix], None, work)


async def call_native(ctx: RequestContext, target: Target) -> None:
    """Anthropic's own endpoint, untranslated: the pass-through call with the key as
    ``x-api-key`` and the version and beta headers Anthropic requires."""
    options = dict(target.options)
    inbound = ctx.inbound
    portkey = inbound.portkey
    headers = list(inbound.forward)
    for name in _ANTHROPIC_HEADERS:
        value = options.get(name) or portkey.get(PORTKEY_PREFIX + name)
        if name == "anthropic-version":
            value = value or API_VERSION
        if value:
            headers.append((name, value))
    # The key, bare: bind_leaf made Authorization's Bearer token (or the config's key)
    # the target's api_key, whichever header it came in.
    credential = ("x-api-key", target.api_key) if target.api_key else None
    target = replace(target, credential=credential)
    content_type = next(
        (v.decode("latin-1") for n, v in ctx.scope["headers"] if n == b"content-type"), ""
    )
    await forward(ctx.but(inbound=replace(inbound, forward=headers)), target, content_type)
    if ctx.suffix == MESSAGES:
        log_openai_view(ctx.rt, ctx.ex)


def log_openai_view(rt: Runtime, ex: Exchange) -> None:
    """What the chat path would have logged for the same answer: Anthropic's message or
    events read by the Anthropic adapter, for usage (cache reads and writes counted as
    cost expects), the assembled stream and the time to first token. After the last
    byte, so the caller does not wait for it."""
    view = Prepared(
        ex.provider_url or "",
        [],
        b"",
        rt.providers[NATIVE].adapter,
        {"model": ex.model or "", "stream": True, "stream_options": {"include_usage": True}},
        CHAT,
        True,
        None,
    )
    chunks, times = ex.chunks, ex.chunk_ms
    if chunks is not None and times is not None:
        translator = StreamTranslator(view)
        ex.chunks = [translator.feed(chunk) for chunk in chunks]
        tail = translator.finish()
        if tail and times:
            ex.chunks.append(tail)
            times.append(times[-1])
    elif ex.status == 200 and ex.response_body:
        _, ex.response_body = translate_answer(view, 200, ex.response_body)


async def call_translated(ctx: RequestContext, target: Target | Routed, request: dict) -> None:
    """Any other provider (or a routing config): the chat path, answered through
    ``reply``, which makes its answers Anthropic's."""
    try:
        chat, notes = to_openai(request)
    except AdapterError as exc:
        raise InvalidRequest(str(exc), code=exc.code) from None
    ex = ctx.ex
    ctx.body, ctx.suffix, ctx.query = _encode(chat), CHAT, ""
    try:
        if isinstance(target, Routed):
            await call_routed(ctx, target)
            return
        if CHAT not in ctx.rt.providers[target.provider].routes:
            raise InvalidRequest(f"provider {target.provider!r} does not serve chat messages")
        await call_upstream(ctx, target)
    finally:
        # What to_openai dropped, with what the provider's adapter dropped after it.
        if notes:
            ex.notes = [*notes, *(ex.notes or ())]


async def count_locally(ex: Exchange, request: dict, send: Send) -> None:
    """Providers other than Anthropic have no count endpoint for this format: an
    estimate from the prompt's text, marked as one."""
    payload = _encode({"input_tokens": estimate_tokens(prompt_text(request))})
    headers = [
        (b"content-type", _JSON),
        (b"content-length", str(len(payload)).encode()),
        (b"x-portkey-tokens-estimated", b"true"),
        *portkey_headers(ex),
    ]
    ex.status = 200
    ex.response_body = payload
    ex.response_headers = headers
    try:
        await send({"type": _START, "status": 200, "headers": headers})
        await send({"type": _BODY, "body": payload})
    except Exception:  # noqa: BLE001 — servers raise their own OSError kin
        mark_client_gone(ex, "client disconnected before the answer was sent")


def messages_routes(rt: Runtime) -> list[ASGIRouteHandler]:
    handlers = []
    for suffix, kind in KINDS.items():

        def bind(suffix: str = suffix):
            async def handler(scope: Scope, receive: Receive, send: Send) -> None:
                await handle_messages(rt, suffix, scope, receive, send)

            return handler

        handlers.append(asgi("/v1" + suffix, copy_scope=False, name=kind)(bind()))
    return handlers
