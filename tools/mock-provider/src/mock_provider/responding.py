"""Sending answers over ASGI: JSON bodies, provider-shaped errors (with Retry-After for
429s), and streams paced and broken by the knobs."""

from __future__ import annotations

import asyncio

from mock_provider import openai_format as fmt
from mock_provider.knobs import Knobs

JSON = [(b"content-type", b"application/json")]
SSE = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]
NDJSON = [(b"content-type", b"application/x-ndjson")]


class MidStreamDrop(Exception):
    """Raised inside a streaming response so the server aborts the connection, the way a
    provider that crashes mid-answer looks to its client."""


async def send_json(send, status: int, payload: object, extra: list | None = None) -> None:
    data = fmt.encode(payload)
    headers = [*JSON, (b"content-length", str(len(data)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def send_error(send, knobs: Knobs, error_body=fmt.error_body) -> None:
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
    await send_json(send, knobs.status, error_body(knobs.status, knobs.error_message), extra)


class Streamer:
    """Sends SSE chunks with the knobs' pacing and failure."""

    def __init__(self, send, knobs: Knobs, fail_event=None, done: bytes = fmt.DONE) -> None:
        self.send = send
        self.knobs = knobs
        self.sent_content = 0
        # The provider's own error event for fail_mode=event, and its end-of-stream bytes.
        self.fail_event = fail_event or _openai_fail_event
        self.done = done

    async def start(self, headers=SSE) -> None:
        await self.send({"type": "http.response.start", "status": 200, "headers": headers})

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
            data = self.fail_event(self.knobs.error_message)
            await self.send({"type": "http.response.body", "body": data, "more_body": False})
            raise StreamEnded
        raise MidStreamDrop("mock drops the connection mid-stream")

    async def end(self) -> None:
        await self.send({"type": "http.response.body", "body": self.done, "more_body": False})


def _openai_fail_event(message: str | None) -> bytes:
    return fmt.sse(fmt.error_body(500, message or "mock stream failure"))


class StreamEnded(Exception):
    """The stream was closed on purpose; nothing more to send."""


async def paced(out: Streamer, events, headers=SSE) -> None:
    """Send (bytes, is_content) events through the knobs' pacing and failure."""
    await out.start(headers)
    try:
        for data, is_content in events:
            await out.chunk(data, content=is_content)
        await out.end()
    except StreamEnded:
        return
