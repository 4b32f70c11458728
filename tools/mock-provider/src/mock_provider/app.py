"""The mock provider as a plain ASGI app: OpenAI-compatible routes, per-request knobs,
and a recorder of the last requests so tests can see what reached the "provider"."""

from __future__ import annotations

import asyncio
import os
from collections import deque

import msgspec

from mock_provider import knobs as knob_parsing
from mock_provider import openai_format as fmt
from mock_provider.knobs import KnobError, Knobs

_decode = msgspec.json.decode
_JSON = [(b"content-type", b"application/json")]
_SSE = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]


class MidStreamDrop(Exception):
    """Raised inside a streaming response so the server aborts the connection, the way a
    provider that crashes mid-answer looks to its client."""


class MockProvider:
    def __init__(self, record_max: int = 200) -> None:
        self.recorded: deque[dict] = deque(maxlen=record_max)

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/health":
            await _json(send, 200, {"status": "ok"})
            return
        if path == "/mock/requests":
            await self._recorder(method, send)
            return
        body_bytes = await _read_body(receive)
        try:
            path_knobs, route = knob_parsing.split_path(path)
        except KnobError as exc:
            await _json(send, 400, fmt.error_body(400, str(exc)))
            return
        body = self._record(scope, path, body_bytes)
        await self._dispatch(method, route, path_knobs, body, send)

    async def _dispatch(self, method, route, path_knobs, body, send) -> None:
        if method == "GET" and route == "/v1/models":
            await _json(send, 200, fmt.MODELS)
            return
        handler = _ROUTES.get(route)
        if handler is None or method != "POST":
            await _json(send, 404, fmt.error_body(404, f"unknown route {method} {route}"))
            return
        if not isinstance(body, dict):
            await _json(send, 400, fmt.error_body(400, "request body must be a JSON object"))
            return
        try:
            knobs = knob_parsing.merge(path_knobs, body.get("mock"))
        except KnobError as exc:
            await _json(send, 400, fmt.error_body(400, str(exc)))
            return
        if knobs.latency_ms:
            await asyncio.sleep(knobs.latency_ms / 1000)
        if knobs.status != 200:
            await _error(send, knobs)
            return
        await handler(body, knobs, send)

    def _record(self, scope, path: str, body_bytes: bytes) -> object:
        try:
            body: object = _decode(body_bytes) if body_bytes else None
        except msgspec.DecodeError:
            body = None
            recorded_body: object = body_bytes.decode("utf-8", "replace")
        else:
            recorded_body = body
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        self.recorded.append(
            {
                "method": scope["method"],
                "path": path,
                "query": scope.get("query_string", b"").decode("latin-1"),
                "headers": headers,
                "body": recorded_body,
            }
        )
        return body

    async def _recorder(self, method: str, send) -> None:
        if method == "DELETE":
            self.recorded.clear()
            await _json(send, 200, {"deleted": True})
            return
        await _json(send, 200, {"object": "list", "data": list(self.recorded)})


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive) -> bytes:
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        return body
    parts = [body]
    while message.get("more_body"):
        message = await receive()
        parts.append(message.get("body", b""))
    return b"".join(parts)


async def _json(send, status: int, payload: object, extra: list | None = None) -> None:
    data = fmt.encode(payload)
    headers = [*_JSON, (b"content-length", str(len(data)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _error(send, knobs: Knobs) -> None:
    extra = []
    if knobs.status == 429 or knobs.retry_after is not None:
        seconds = knobs.retry_after if knobs.retry_after is not None else 1
        extra = [
            (b"retry-after", str(int(seconds) if seconds == int(seconds) else seconds).encode()),
            (b"retry-after-ms", str(int(seconds * 1000)).encode()),
        ]
    if knobs.error_format == "text":
        data = (knobs.error_message or f"mock plain-text error {knobs.status}").encode()
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(data)).encode())]
        await send(
            {"type": "http.response.start", "status": knobs.status, "headers": headers + extra}
        )
        await send({"type": "http.response.body", "body": data})
        return
    await _json(send, knobs.status, fmt.error_body(knobs.status, knobs.error_message), extra)


class _Streamer:
    """Sends SSE chunks with the knobs' pacing and failure."""

    def __init__(self, send, knobs: Knobs) -> None:
        self.send = send
        self.knobs = knobs
        self.sent_content = 0

    async def start(self) -> None:
        await self.send({"type": "http.response.start", "status": 200, "headers": _SSE})

    async def chunk(self, data: bytes, content: bool = True) -> None:
        knobs = self.knobs
        if content:
            if knobs.fail_after_chunks is not None and self.sent_content >= knobs.fail_after_chunks:
                await self._fail()
            self.sent_content += 1
            if knobs.chunk_delay_ms:
                await asyncio.sleep(knobs.chunk_delay_ms / 1000)
        await self.send({"type": "http.response.body", "body": data, "more_body": True})

    async def _fail(self) -> None:
        if self.knobs.fail_mode == "event":
            error = fmt.error_body(500, self.knobs.error_message or "mock stream failure")
            await self.send(
                {"type": "http.response.body", "body": fmt.sse(error), "more_body": False}
            )
            raise _StreamEnded
        raise MidStreamDrop("mock drops the connection mid-stream")

    async def end(self) -> None:
        await self.send({"type": "http.response.body", "body": fmt.DONE, "more_body": False})


class _StreamEnded(Exception):
    """The stream was closed on purpose; nothing more to send."""


async def _chat(body: dict, knobs: Knobs, send) -> None:
    reply = fmt.reply_for(fmt.last_user_text(body.get("messages")), knobs.reply)
    if not body.get("stream"):
        await _json(send, 200, fmt.chat_completion(body, reply))
        return
    stream = fmt.ChatStream(body, reply, knobs.chunks)
    out = _Streamer(send, knobs)
    await out.start()
    try:
        await out.chunk(stream.head(), content=False)
        pieces, finish, completion_tokens = stream.pieces_and_finish()
        for piece in pieces:
            await out.chunk(piece)
        await out.chunk(finish, content=False)
        usage = stream.usage_chunk(completion_tokens)
        if usage is not None:
            await out.chunk(usage, content=False)
        await out.end()
    except _StreamEnded:
        return


async def _completions(body: dict, knobs: Knobs, send) -> None:
    reply = fmt.reply_for(fmt.prompt_text(body.get("prompt")), knobs.reply)
    if not body.get("stream"):
        await _json(send, 200, fmt.text_completion(body, reply))
        return
    out = _Streamer(send, knobs)
    await out.start()
    try:
        chunks = list(fmt.completion_stream(body, reply, knobs.chunks))
        # The last one or two chunks are the finish and usage chunks: not "content".
        tail = 2 if chunks and b'"usage"' in chunks[-1] else 1
        for index, data in enumerate(chunks):
            await out.chunk(data, content=index < len(chunks) - tail)
        await out.end()
    except _StreamEnded:
        return


async def _embeddings(body: dict, knobs: Knobs, send) -> None:
    await _json(send, 200, fmt.embeddings(body))


_ROUTES = {
    "/v1/chat/completions": _chat,
    "/v1/completions": _completions,
    "/v1/embeddings": _embeddings,
}


def create_app() -> MockProvider:
    """Factory used by the server (granian imports it in each worker)."""
    return MockProvider(record_max=int(os.environ.get("PORTCULLIS_MOCK_RECORD_MAX", "200")))
