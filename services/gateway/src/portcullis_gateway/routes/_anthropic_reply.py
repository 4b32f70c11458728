"""ASGI ``send`` wrappers that keep ``/v1/messages`` answers in Anthropic's shape.
``AnthropicReply`` lets the route run the same calls as ``/v1/chat/completions`` for
any provider: a whole answer (completion or error) is held until its body is in,
converted and sent with its length fixed; an SSE stream is converted event by event as
it passes. ``NativeStreamErrors`` fixes the one thing an untranslated Anthropic stream
can carry that is not Anthropic's: the gateway's own in-band error when the provider's
connection breaks."""

from __future__ import annotations

import msgspec
from litestar.types import Message, Send

from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.domain.messages_api import (
    MessagesTranslator,
    answer_from_openai,
    error_from_openai,
    sse,
)

_START = "http.response.start"
_BODY = "http.response.body"
_JSON = b"application/json"
_RECOMPUTED = frozenset({b"content-length", b"content-type"})
_DATA = b"data: "


def _is_sse(headers) -> bool:
    for name, value in headers:
        if name == b"content-type":
            return value.startswith(b"text/event-stream")
    return False


class AnthropicReply:
    """Wraps the caller's ``send``; ``ex`` is the request's record (its model names the
    stream's message, its status and headers are corrected to what was really sent)."""

    __slots__ = ("send", "ex", "held", "parts", "stream")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.ex: Exchange | None = None
        self.held: Message | None = None
        self.parts: list[bytes] = []
        self.stream: MessagesTranslator | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == _START:
            if message["status"] == 200 and _is_sse(message["headers"]):
                model = self.ex.model if self.ex is not None else None
                self.stream = MessagesTranslator(model or "")
                await self.send(message)
            else:
                self.held = message
            return
        if message["type"] != _BODY:
            await self.send(message)
            return
        more = message.get("more_body", False)
        if self.stream is not None:
            data = self.stream.feed(message.get("body", b""))
            if not more:
                data += self.stream.close()
            await self.send({"type": _BODY, "body": data, "more_body": more})
            return
        self.parts.append(message.get("body", b""))
        if not more:
            await self._send_whole()

    async def _send_whole(self) -> None:
        held = self.held
        assert held is not None, "a body came before its response start"
        status, payload = answer_from_openai(held["status"], b"".join(self.parts))
        headers = [(n, v) for n, v in held["headers"] if n not in _RECOMPUTED]
        headers.append((b"content-type", _JSON))
        headers.append((b"content-length", str(len(payload)).encode()))
        ex = self.ex
        if ex is not None:
            # The log keeps the OpenAI-side body (usage is read from it) but the status
            # and headers the caller really got.
            ex.status = status
            ex.response_headers = headers
        await self.send({"type": _START, "status": status, "headers": headers})
        await self.send({"type": _BODY, "body": payload})


class NativeStreamErrors:
    """Passes an Anthropic answer through, except a last body that is the relay's
    OpenAI-style ``data: {"error": ...}`` (a broken upstream stream), which becomes
    Anthropic's ``event: error`` so the SDK raises instead of ending quietly. Anthropic
    itself never sends a ``data:`` line without its ``event:`` line before it."""

    __slots__ = ("send",)

    def __init__(self, send: Send) -> None:
        self.send = send

    async def __call__(self, message: Message) -> None:
        if (
            message["type"] == _BODY
            and not message.get("more_body", False)
            and message.get("body", b"").startswith(_DATA)
        ):
            try:
                payload = msgspec.json.decode(message["body"][len(_DATA) :])
            except msgspec.DecodeError:
                payload = None
            if isinstance(payload, dict) and "error" in payload:
                error = error_from_openai(502, payload)
                message = {"type": _BODY, "body": sse(("error", error)), "more_body": False}
        await self.send(message)
