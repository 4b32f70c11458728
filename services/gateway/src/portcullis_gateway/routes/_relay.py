"""Relaying one request to the provider and its answer to the caller: bytes through,
headers filtered, provider errors made OpenAI-shaped, streams forwarded chunk by chunk
while a copy is kept for the log. Part of the request path (see ``inference``)."""

from __future__ import annotations

import asyncio
from time import perf_counter

from litestar.types import Receive, Send

from portcullis_gateway.adapters import cloud_credentials
from portcullis_gateway.adapters.http import Response
from portcullis_gateway.adapters.upstream import UPSTREAM_FAILURES, map_failure
from portcullis_gateway.domain.errors import GatewayError
from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.domain.resolution import Target
from portcullis_gateway.domain.secret_values import mask_json
from portcullis_gateway.domain.translation import (
    Prepared,
    StreamTranslator,
    prepare,
    provider_options,
    speaks_openai,
)
from portcullis_gateway.routes._call import Outcome, call_provider
from portcullis_gateway.routes._context import RequestContext

_START = "http.response.start"
_BODY = "http.response.body"
_JSON = b"application/json"


def portkey_headers(ex: Exchange) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-portkey-request-id", ex.request_id.encode()),
        (b"x-portkey-trace-id", ex.trace_id.encode("latin-1")),
        (b"x-portkey-provider", ex.provider.encode()),
        (b"x-portkey-retry-attempt-count", str(ex.retry_count).encode()),
        (b"x-portkey-cache-status", b"DISABLED"),
        (b"x-portkey-last-used-option-index", ex.option_index.encode()),
    ]


async def send_error(send: Send, ex: Exchange, err: GatewayError) -> None:
    # Our messages name fields, not values; masked all the same, in case one quotes
    # what the caller sent.
    body = mask_json(err.body(), ex.secrets) if ex.secrets else err.body()
    ex.status = err.status
    ex.error = err.as_dict()
    ex.response_body = body
    headers = [(b"content-type", _JSON), (b"content-length", str(len(body)).encode())]
    headers.extend(portkey_headers(ex))
    ex.response_headers = headers
    await send({"type": _START, "status": err.status, "headers": headers})
    await send({"type": _BODY, "body": body})


async def prepare_call(ctx: RequestContext, target: Target, params: dict | None = None) -> Prepared:
    """The upstream call for one target in its provider's wire format, with the cloud
    credentials its spec asks for applied (``adapters.cloud_credentials``)."""
    rt, inbound, endpoint, body, query = ctx.rt, ctx.inbound, ctx.suffix, ctx.body, ctx.query
    stream = ctx.ex.stream
    spec = rt.providers[target.provider]
    if speaks_openai(spec):
        return prepare(spec, target, endpoint, body, inbound.forward, query, stream, None, params)
    options = provider_options(inbound.portkey, dict(target.options), target.api_key)
    options = await cloud_credentials.with_token(spec, options, lambda: rt.google_tokens)
    if options.api_key is not target.api_key:
        ctx.ex.add_secret(options.api_key)  # minted for this request: a credential too
    prepared = prepare(
        spec, target, endpoint, body, inbound.forward, query, stream, options, params
    )
    cloud_credentials.sign(spec, prepared, options.headers)
    return prepared


async def wait_disconnect(receive: Receive) -> None:
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    except Exception:  # noqa: BLE001 — a server that cannot receive has lost the caller
        return


async def relay_stream(
    ctx: RequestContext,
    resp: Response,
    headers: list,
    sent_at: float,
    url: str,
    first_chunk: bytes = b"",
    first_chunk_ms: float = 0.0,
    translator: StreamTranslator | None = None,
) -> None:
    """Forward a stream as it arrives — SSE bytes as they are, or each provider event
    translated to OpenAI's chunks — keeping a copy of what was sent, and arrival times,
    for the log. ``first_chunk`` is one the routing engine already read (to be sure the
    target was really answering before committing the caller to it)."""
    ex, receive, send, t0 = ctx.ex, ctx.receive, ctx.send, ctx.t0
    await send({"type": _START, "status": 200, "headers": headers})
    ex.status = 200
    chunks: list[bytes] = []
    times: list[float] = []
    ex.chunks = chunks
    ex.chunk_ms = times
    # Sending to a closed connection may not raise (servers drop the bytes), so watch
    # for the disconnect message; checked per chunk, it stops a stream the caller left
    # at the next chunk instead of paying for the whole answer.
    gone = asyncio.ensure_future(wait_disconnect(receive))
    try:
        chunk = first_chunk
        arrived_ms = first_chunk_ms
        while True:
            if not chunk:
                chunk = await resp.readany()
                if not chunk:
                    break
                arrived_ms = (perf_counter() - t0) * 1000
            data = translator.feed(chunk) if translator is not None else chunk
            if translator is not None and translator.ended and ex.secrets:
                data = mask_json(data, ex.secrets)  # the provider's error event, echoing
            chunk = b""
            if gone.done():
                mark_client_gone(ex, "client disconnected during the stream")
                resp.close()
                return
            if data:
                times.append(arrived_ms)
                chunks.append(data)
                try:
                    await send({"type": _BODY, "body": data, "more_body": True})
                except Exception:  # noqa: BLE001 — servers raise their own OSError kin
                    mark_client_gone(ex, "client disconnected during the stream")
                    resp.close()
                    return
            if translator is not None and translator.ended:
                resp.close()  # the provider's error ended the stream; nothing follows
                break
    except UPSTREAM_FAILURES as exc:
        # Headers are sent: the failure can only be told in-band, as OpenAI does.
        err = map_failure(exc, url)
        ex.status = err.status
        ex.error = err.as_dict()
        resp.close()
        try:
            await send(
                {
                    "type": _BODY,
                    "body": b"data: " + mask_json(err.body(), ex.secrets) + b"\n\n",
                    "more_body": False,
                }
            )
        except Exception:  # noqa: BLE001 — the caller may be gone as well
            pass
        return
    finally:
        ex.upstream_ms = (perf_counter() - sent_at) * 1000
        gone.cancel()
        if translator is not None:
            ex.provider_usage = translator.usage
    tail = translator.finish() if translator is not None else b""
    if tail:
        times.append((perf_counter() - t0) * 1000)
        chunks.append(tail)
    await send({"type": _BODY, "body": tail, "more_body": False})


def stream_headers(
    ex: Exchange, prepared: Prepared, out: list[tuple[bytes, bytes]], content_type: str
) -> StreamTranslator | None:
    """Completes a stream's response headers; the translator for a native format's
    stream (its answer is then OpenAI's SSE), None for one passed as bytes."""
    translator = None
    if prepared.adapter is not None:
        translator = StreamTranslator(prepared)
        content_type = "text/event-stream; charset=utf-8"
    out.append((b"content-type", content_type.encode("latin-1")))
    out.extend(portkey_headers(ex))
    ex.response_headers = out
    return translator


async def call_upstream(
    ctx: RequestContext, target: Target, hold_failures: bool = False
) -> Outcome | None:
    """Call the target and answer the caller. With ``hold_failures`` (the routing
    engine's first try), a failed whole answer is returned instead of sent, so the
    engine can still fall back; a stream commits on its answer's headers."""
    ex = ctx.ex
    prepared = await prepare_call(ctx, target)
    ex.calling(prepared.url, prepared.notes)
    outcome = await call_provider(
        ctx.rt, prepared, target.provider, target.timeout_s, stream=ex.stream
    )
    ex.upstream_ms = outcome.latency_ms
    if outcome.error is not None:
        if hold_failures:
            return outcome
        raise outcome.error
    ex.first_byte_ms = (outcome.sent_at - ctx.t0) * 1000 + outcome.head_ms
    resp = outcome.resp
    if resp is not None:
        translator = stream_headers(ex, prepared, outcome.headers, outcome.content_type)
        try:
            await relay_stream(
                ctx, resp, outcome.headers, outcome.sent_at, prepared.url, translator=translator
            )
        finally:
            resp.release()
        return None
    if hold_failures and not outcome.ok:
        return outcome
    await send_answer(
        ctx.send, ex, outcome.status, outcome.headers, outcome.payload, outcome.content_type
    )
    return None


async def send_answer(
    send: Send,
    ex: Exchange,
    status: int,
    out: list[tuple[bytes, bytes]],
    payload: bytes,
    content_type: str = "",
) -> None:
    """A whole answer: its headers completed (type, length, the gateway's own),
    recorded for the log, and sent."""
    if status >= 400 and ex.secrets:
        # A provider's error may echo the key ("Incorrect API key provided: sk-...").
        # Error answers only: a success body is passed on unread.
        payload = mask_json(payload, ex.secrets)
    out.append((b"content-type", content_type.encode("latin-1") if content_type else _JSON))
    out.append((b"content-length", str(len(payload)).encode()))
    out.extend(portkey_headers(ex))
    ex.status = status
    ex.response_body = payload
    ex.response_headers = out
    try:
        await send({"type": _START, "status": status, "headers": out})
        await send({"type": _BODY, "body": payload})
    except Exception:  # noqa: BLE001 — servers raise their own OSError kin
        mark_client_gone(ex, "client disconnected before the answer was sent")


def mark_client_gone(ex: Exchange, message: str) -> None:
    # 499 as nginx logs it: the caller closed the connection; nothing was lost upstream.
    ex.status = 499
    ex.error = {"message": message, "type": "client_closed"}
