"""The caller's request body on its way to the provider, streamed: read from ASGI
``receive`` as it arrives, never held whole, with the gateway's size limit enforced on
the way and the log's share of it (``BodyTap``) kept as it passes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.types import Receive

from portcullis_gateway.domain.body_log import BodyTap
from portcullis_gateway.domain.errors import BodyTooLarge
from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.routes._serving import ClientGone


class Upload:
    """The caller's body on its way to the provider: the first ASGI message is read
    before the call (most bodies are one message and go as bytes), the rest is an async
    generator the HTTP client pulls from. Over the limit it stops; the failure is kept
    here, so the request path can tell it from the provider's own answer."""

    __slots__ = ("receive", "limit", "tap", "failure", "declared", "ended")

    def __init__(self, receive: Receive, limit: int, content_type: str) -> None:
        self.receive = receive
        self.limit = limit
        self.tap = BodyTap(content_type)
        self.failure: Exception | None = None
        self.declared: int | None = None
        self.ended = False

    @property
    def finished(self) -> bool:
        """All of the body has been read. With a declared length a client may stop
        pulling once that many bytes are sent, so the empty last ASGI message may stay
        unread."""
        return self.ended or (self.declared is not None and self.tap.size >= self.declared)

    async def open(self, declared: int | None) -> bytes | AsyncIterator[bytes]:
        if declared is not None and declared > self.limit:
            raise BodyTooLarge(
                f"request body is {declared} bytes; this gateway accepts {self.limit}"
            )
        self.declared = declared
        first, more = await self._next()
        if not more:
            self.ended = True
        if self.finished:
            return first
        return self._rest(first)

    async def _next(self) -> tuple[bytes, bool]:
        message = await self.receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        part = message.get("body", b"")
        self.tap.feed(part)
        if self.tap.size > self.limit:
            raise BodyTooLarge(f"request body is over {self.limit} bytes")
        return part, message.get("more_body", False)

    async def _rest(self, first: bytes) -> AsyncIterator[bytes]:
        yield first
        try:
            while True:
                part, more = await self._next()
                if part:
                    yield part
                if not more:
                    self.ended = True
                    return
        except (BodyTooLarge, ClientGone) as exc:
            self.failure = exc
            raise

    def log_into(self, ex: Exchange) -> None:
        if self.tap.size == 0:
            return
        ex.request_body, ex.request_body_json, model = self.tap.request_body()
        if model is not None:
            ex.model = model
