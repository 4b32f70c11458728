"""Relaying one request to the provider and its answer to the caller: bytes through,
headers filtered, provider errors made OpenAI-shaped, streams forwarded chunk by chunk
while a copy is kept for the log. Part of the request path (see ``inference``)."""

from __future__ import annotations

import asyncio
from time import perf_counter

import aiohttp
from litestar.types import Receive, Send

from portcullis_gateway.adapters.upstream import map_failure
from portcullis_gateway.domain.bodies import provider_error_body
from portcullis_gateway.domain.errors import GatewayError
from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.domain.resolution import Inbound, Target
from portcullis_gateway.runtime import Runtime

_START = "http.response.start"
_BODY = "http.response.body"
_JSON = b"application/json"
# Upstream response headers the gateway does not pass on: hop-by-hop, recomputed
# (length, encoding: aiohttp already decompressed), or not the caller's business.
_UPSTREAM_SKIP = frozenset(
    {
        b"content-type",  # set explicitly below
        b"content-length",
        b"content-encoding",
        b"transfer-encoding",
        b"connection",
        b"keep-alive",
        b"date",
        b"server",
        b"set-cookie",
        b"trailer",
        b"upgrade",
        b"proxy-authenticate",
    }
)


def portkey_headers(ex: Exchange) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-portkey-request-id", ex.request_id.encode()),
        (b"x-portkey-trace-id", ex.trace_id.encode("latin-1")),
        (b"x-portkey-provider", ex.provider.encode()),
        (b"x-portkey-retry-attempt-count", str(ex.retry_count).encode()),
        (b"x-portkey-cache-status", b"DISABLED"),
        (b"x-portkey-last-used-option-index", ex.option_index.encode()),
    ]


def passthrough(raw_headers) -> list[tuple[bytes, bytes]]:
    out = []
    for name, value in raw_headers:
        lowered = name.lower()
        # An upstream that is itself a gateway must not shadow this gateway's headers.
        if lowered not in _UPSTREAM_SKIP and not lowered.startswith(b"x-portkey-"):
            out.append((lowered, value))
    return out


async def send_error(send: Send, ex: Exchange, err: GatewayError) -> None:
    body = err.body()
    ex.status = err.status
    ex.error = err.as_dict()
    ex.response_body = body
    headers = [(b"content-type", _JSON), (b"content-length", str(len(body)).encode())]
    headers.extend(portkey_headers(ex))
    ex.response_headers = headers
    await send({"type": _START, "status": err.status, "headers": headers})
    await send({"type": _BODY, "body": body})


async def wait_disconnect(receive: Receive) -> None:
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    except Exception:  # noqa: BLE001 — a server that cannot receive has lost the caller
        return


async def relay_stream(
    ex: Exchange,
    resp: aiohttp.ClientResponse,
    receive: Receive,
    send: Send,
    headers: list,
    t0: float,
    sent_at: float,
    url: str,
    first_chunk: bytes = b"",
    first_chunk_ms: float = 0.0,
) -> None:
    """Forward SSE bytes as they arrive, keeping a copy and arrival times for the log.
    ``first_chunk`` is one the routing engine already read (to be sure the target was
    really answering before committing the caller to it)."""
    await send({"type": _START, "status": 200, "headers": headers})
    ex.status = 200
    chunks: list[bytes] = []
    times: list[float] = []
    ex.chunks = chunks
    ex.chunk_ms = times
    if first_chunk:
        chunks.append(first_chunk)
        times.append(first_chunk_ms)
        try:
            await send({"type": _BODY, "body": first_chunk, "more_body": True})
        except Exception:  # noqa: BLE001 — servers raise their own OSError kin
            mark_client_gone(ex, "client disconnected during the stream")
            resp.close()
            return
    content = resp.content
    # Sending to a closed connection may not raise (granian drops the bytes), so watch
    # for the disconnect message; checked per chunk, it stops a stream the caller left
    # at the next chunk instead of paying for the whole answer.
    gone = asyncio.ensure_future(wait_disconnect(receive))
    try:
        while True:
            chunk = await content.readany()
            if not chunk:
                break
            times.append((perf_counter() - t0) * 1000)
            chunks.append(chunk)
            if gone.done():
                mark_client_gone(ex, "client disconnected during the stream")
                resp.close()
                return
            try:
                await send({"type": _BODY, "body": chunk, "more_body": True})
            except Exception:  # noqa: BLE001 — servers raise their own OSError kin
                ex.status = 499
                ex.error = {
                    "message": "client disconnected during the stream",
                    "type": "client_closed",
                }
                resp.close()
                return
    except (aiohttp.ClientError, TimeoutError) as exc:
        # Headers are sent: the failure can only be told in-band, as OpenAI does.
        err = map_failure(exc, url)
        ex.status = err.status
        ex.error = err.as_dict()
        resp.close()
        try:
            await send(
                {"type": _BODY, "body": b"data: " + err.body() + b"\n\n", "more_body": False}
            )
        except Exception:  # noqa: BLE001 — the caller may be gone as well
            pass
        return
    finally:
        ex.upstream_ms = (perf_counter() - sent_at) * 1000
        gone.cancel()
    await send({"type": _BODY, "body": b"", "more_body": False})


async def call_upstream(
    rt: Runtime,
    ex: Exchange,
    target: Target,
    inbound: Inbound,
    body: bytes,
    receive: Receive,
    send: Send,
    url: str,
    t0: float,
) -> None:
    headers = inbound.forward
    headers.append(("content-type", "application/json"))
    if target.credential is not None:
        headers.append(target.credential)
    session = rt.upstream.session
    assert session is not None
    sent_at = perf_counter()
    try:
        resp = await session.post(
            url, data=body, headers=headers, timeout=rt.upstream.timeout_for(target.timeout_s)
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        ex.upstream_ms = (perf_counter() - sent_at) * 1000
        raise map_failure(exc, url, target.timeout_s) from None
    now = perf_counter()
    ex.first_byte_ms = (now - t0) * 1000
    # Time to response headers so far; a stream adds its body time as it relays.
    ex.upstream_ms = (now - sent_at) * 1000
    try:
        out = passthrough(resp.raw_headers)
        content_type = resp.headers.get("Content-Type", "")
        status = resp.status
        if ex.stream and status == 200 and content_type.startswith("text/event-stream"):
            out.append((b"content-type", content_type.encode("latin-1")))
            out.extend(portkey_headers(ex))
            ex.response_headers = out
            await relay_stream(ex, resp, receive, send, out, t0, sent_at, url)
            return
        try:
            payload = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise map_failure(exc, url, target.timeout_s) from None
        finally:
            ex.upstream_ms = (perf_counter() - sent_at) * 1000
        if status >= 400:
            payload, _ = provider_error_body(ex.provider, status, payload)
            content_type = "application/json"
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
    finally:
        resp.release()


def mark_client_gone(ex: Exchange, message: str) -> None:
    # 499 as nginx logs it: the caller closed the connection; nothing was lost upstream.
    ex.status = 499
    ex.error = {"message": message, "type": "client_closed"}
