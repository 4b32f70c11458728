"""The mock provider as a plain ASGI app: OpenAI-compatible routes (and, from
``native_routes``, Anthropic, Gemini, Cohere and Ollama ones; Google's token endpoint
from ``oauth_routes``; Bedrock's SigV4 check from ``aws_auth``), per-request knobs, and a
recorder of the last requests so tests can see what reached the "provider"."""

from __future__ import annotations

import asyncio
import os
import re
from collections import deque
from urllib.parse import parse_qs

import msgspec

from mock_provider import aws_auth, oauth_routes
from mock_provider import knobs as knob_parsing
from mock_provider import openai_format as fmt
from mock_provider.knobs import KnobError, Knobs
from mock_provider.native_routes import NATIVE_ROUTES, model_route
from mock_provider.openai_extra_routes import OpenAIExtra
from mock_provider.responding import (
    StreamEnded,
    Streamer,
    send_error,
    send_json,
)

_decode = msgspec.json.decode


class MockProvider:
    def __init__(self, record_max: int = 200) -> None:
        self.recorded: deque[dict] = deque(maxlen=record_max)
        # Calls seen per fail_times key (per worker process, like the recorder).
        self.calls_by_key: dict[str, int] = {}
        # Images, audio, files, batches, fine-tuning, Responses: their own module and store.
        self.openai_extra = OpenAIExtra(self)

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/health":
            await send_json(send, 200, {"status": "ok"})
            return
        if path == "/mock/requests":
            await self._recorder(method, send)
            return
        started = False

        async def tracked(message: dict) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self._serve(scope, receive, tracked, path, method)
        except Exception as exc:
            if started:
                raise
            # A body whose values no answer can be built from (``documents: true``, a
            # billion dimensions): the real APIs call that a 400, not a 500.
            await send_json(send, 400, fmt.error_body(400, f"invalid request: {exc!r:.200}"))

    async def _serve(self, scope, receive, send, path: str, method: str) -> None:
        body_bytes = await _read_body(receive)
        try:
            path_knobs, route = knob_parsing.split_path(path)
        except KnobError as exc:
            await send_json(send, 400, fmt.error_body(400, str(exc)))
            return
        if self.openai_extra.claims(route):
            await self.openai_extra.serve(scope, route, path_knobs, body_bytes, send)
            return
        body = self._record(scope, path, body_bytes)
        if route == oauth_routes.PATH:
            await oauth_routes.token(scope, body_bytes, path_knobs, send)
            return
        if await aws_auth.refuse_bad_signature(scope, route, body_bytes, send):
            return
        query = scope.get("query_string", b"").decode("latin-1")
        await self._dispatch(method, route, path_knobs, body, send, query, _presented_key(scope))

    async def _dispatch(
        self, method, route, path_knobs, body, send, query="", presented_key=""
    ) -> None:
        handler, error_body = _route(route, query)
        if handler is None or method != "POST":
            await send_json(send, 404, error_body(404, f"unknown route {method} {route}"))
            return
        if not isinstance(body, dict):
            await send_json(send, 400, error_body(400, "request body must be a JSON object"))
            return
        try:
            knobs = knob_parsing.merge(path_knobs, body.get("mock"))
        except KnobError as exc:
            await send_json(send, 400, error_body(400, str(exc)))
            return
        if knobs.echo_key:
            knobs = msgspec.structs.replace(
                knobs,
                status=401 if knobs.status == 200 else knobs.status,
                error_message=f"Incorrect API key provided: {presented_key}. You can find "
                "your API key at https://platform.openai.com/account/api-keys.",
            )
        if knobs.fail_times is not None:
            knobs = self._recovering(knobs)
        if knobs.latency_ms:
            await asyncio.sleep(knobs.latency_ms / 1000)
        if knobs.status != 200:
            await send_error(send, knobs, error_body)
            return
        await handler(body, knobs, send)

    def _recovering(self, knobs: Knobs) -> Knobs:
        seen = self.calls_by_key.get(knobs.key, 0)
        self.calls_by_key[knobs.key] = seen + 1
        if seen >= knobs.fail_times:
            return msgspec.structs.replace(knobs, status=200, retry_after=None)
        if knobs.status == 200:
            return msgspec.structs.replace(knobs, status=500)
        return knobs

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
            await send_json(send, 200, {"deleted": True})
            return
        await send_json(send, 200, {"object": "list", "data": list(self.recorded)})


# Where each wire format carries the key: OpenAI's Bearer, Anthropic's x-api-key,
# Azure's api-key, Gemini's x-goog-api-key (SigV4's Credential= shows the access key).
_KEY_HEADERS = (b"authorization", b"x-api-key", b"api-key", b"x-goog-api-key")


def _presented_key(scope) -> str:
    found = dict(scope["headers"])
    for name in _KEY_HEADERS:
        value = found.get(name)
        if value:
            return value.decode("latin-1").removeprefix("Bearer ")
    return ""


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


async def _chat(body: dict, knobs: Knobs, send) -> None:
    reply = fmt.reply_for(fmt.last_user_text(body.get("messages")), knobs.reply, knobs.reply_bytes)
    if not body.get("stream"):
        await send_json(send, 200, fmt.chat_completion(body, reply))
        return
    stream = fmt.ChatStream(body, reply, knobs.chunks)
    out = Streamer(send, knobs)
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
    except StreamEnded:
        return


async def _completions(body: dict, knobs: Knobs, send) -> None:
    reply = fmt.reply_for(fmt.prompt_text(body.get("prompt")), knobs.reply, knobs.reply_bytes)
    if not body.get("stream"):
        await send_json(send, 200, fmt.text_completion(body, reply))
        return
    out = Streamer(send, knobs)
    await out.start()
    try:
        chunks = list(fmt.completion_stream(body, reply, knobs.chunks))
        # The last one or two chunks are the finish and usage chunks: not "content".
        tail = 2 if chunks and b'"usage"' in chunks[-1] else 1
        for index, data in enumerate(chunks):
            await out.chunk(data, content=index < len(chunks) - tail)
        await out.end()
    except StreamEnded:
        return


async def _embeddings(body: dict, knobs: Knobs, send) -> None:
    await send_json(send, 200, fmt.embeddings(body))


# Azure OpenAI: /openai/deployments/{deployment}/chat/completions?api-version=...
_AZURE = re.compile(r"^/openai/deployments/[^/]+(/chat/completions|/completions|/embeddings)$")


def _route(route: str, query: str):
    """(handler, error body builder) for a route."""
    found = _ROUTES.get(route) or model_route(route, query)
    azure = _AZURE.match(route) if found is None else None
    # Azure answers 404 when api-version is missing; so does the mock.
    if azure is not None and parse_qs(query).get("api-version"):
        found = _ROUTES["/v1" + azure.group(1)]
    return found if found is not None else (None, fmt.error_body)


_ROUTES = {
    "/v1/chat/completions": (_chat, fmt.error_body),
    "/v1/completions": (_completions, fmt.error_body),
    "/v1/embeddings": (_embeddings, fmt.error_body),
    **NATIVE_ROUTES,
}


def create_app() -> MockProvider:
    """Factory used by the server (granian imports it in each worker)."""
    return MockProvider(record_max=int(os.environ.get("PORTCULLIS_MOCK_RECORD_MAX", "200")))
