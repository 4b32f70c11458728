"""Incremental decoders for provider stream framing: Server-Sent Events (OpenAI,
Anthropic, Gemini with ``alt=sse``), newline-delimited JSON (Ollama) and the AWS binary
event stream (Bedrock ConverseStream). Fed bytes as they arrive, they yield
``(event_name, payload)`` with the payload JSON-decoded."""

from __future__ import annotations

import codecs
import struct
import zlib
from collections.abc import Iterator
from typing import Literal

import msgspec

_decode = msgspec.json.decode

# OpenAI-compatible streams end with this sentinel instead of a JSON payload.
DONE = "[DONE]"

# What a provider's stream is: text/event-stream, one JSON object a line (Ollama), or
# AWS binary event-stream frames (Bedrock).
StreamFraming = Literal["sse", "ndjson", "aws-eventstream"]


class SSEDecoder:
    """Splits on blank lines (any of \\n, \\r\\n, \\r line ends, per the SSE spec), joins
    multi-line ``data:``, ignores comments (``: ping``). A payload that is not JSON is
    yielded as the raw string (``[DONE]``)."""

    def __init__(self) -> None:
        self._buffer = ""
        # Network chunks may split a UTF-8 character or a \r\n pair.
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._held_cr = False

    def feed(self, data: bytes | str) -> Iterator[tuple[str | None, object]]:
        text = self._utf8.decode(data) if isinstance(data, bytes) else data
        if self._held_cr:
            text, self._held_cr = "\r" + text, False
        if text.endswith("\r"):
            text, self._held_cr = text[:-1], True
        self._buffer += text.replace("\r\n", "\n").replace("\r", "\n")
        while "\n\n" in self._buffer:
            block, self._buffer = self._buffer.split("\n\n", 1)
            event = _parse_block(block)
            if event is not None:
                yield event

    def close(self) -> Iterator[tuple[str | None, object]]:
        """A final event not followed by a blank line still counts."""
        block, self._buffer = self._buffer, ""
        self._held_cr = False
        event = _parse_block(block) if block.strip() else None
        if event is not None:
            yield event


def _parse_block(block: str) -> tuple[str | None, object] | None:
    name: str | None = None
    data: list[str] = []
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            name = value
        elif key == "data":
            data.append(value)
    if not data:
        return None
    payload = "\n".join(data)
    try:
        return name, _decode(payload)
    except msgspec.DecodeError:
        return name, payload


class NDJSONDecoder:
    """One JSON object per line; blank lines are skipped."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> Iterator[tuple[str | None, object]]:
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            if line.strip():
                yield None, _decode(line)

    def close(self) -> Iterator[tuple[str | None, object]]:
        line, self._buffer = self._buffer, b""
        if line.strip():
            yield None, _decode(line)


class EventStreamError(ValueError):
    """A corrupt AWS event-stream frame (bad length or CRC): the stream cannot go on."""


class AWSEventStreamDecoder:
    """``application/vnd.amazon.eventstream`` frames: total length, headers length and a
    CRC of those (the prelude), typed headers, a JSON payload, a CRC of the whole. The
    event name is the ``:event-type`` header; an exception frame is named
    ``exception:<:exception-type>``."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> Iterator[tuple[str | None, object]]:
        self._buffer += data
        while len(self._buffer) >= 12:
            total, headers_length, prelude_crc = struct.unpack(">III", self._buffer[:12])
            if zlib.crc32(self._buffer[:8]) != prelude_crc or total < 16:
                raise EventStreamError("event-stream prelude checksum mismatch")
            if len(self._buffer) < total:
                return
            frame, self._buffer = self._buffer[:total], self._buffer[total:]
            (message_crc,) = struct.unpack(">I", frame[-4:])
            if zlib.crc32(frame[:-4]) != message_crc:
                raise EventStreamError("event-stream message checksum mismatch")
            headers = _headers(frame[12 : 12 + headers_length])
            payload = frame[12 + headers_length : -4]
            body: object = _decode(payload) if payload else {}
            if headers.get(":message-type") == "exception":
                yield f"exception:{headers.get(':exception-type', 'unknown')}", body
            else:
                name = headers.get(":event-type")
                yield (name if isinstance(name, str) else None), body

    def close(self) -> Iterator[tuple[str | None, object]]:
        if self._buffer:
            self._buffer = b""
            raise EventStreamError("event stream ended inside a frame")
        return iter(())


# Header value types and their fixed sizes (strings and bytes carry a 2-byte length).
_FIXED = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}


def _headers(raw: bytes) -> dict[str, object]:
    headers: dict[str, object] = {}
    at = 0
    while at < len(raw):
        name_length = raw[at]
        name = raw[at + 1 : at + 1 + name_length].decode()
        kind = raw[at + 1 + name_length]
        at += 2 + name_length
        if kind in (6, 7):
            (length,) = struct.unpack(">H", raw[at : at + 2])
            data = raw[at + 2 : at + 2 + length]
            value: object = data.decode() if kind == 7 else data
            at += 2 + length
        else:
            size = _FIXED[kind]
            value = kind == 0 if kind in (0, 1) else raw[at : at + size]
            at += size
        headers[name] = value
    return headers


def encode_event(event_type: str, payload: bytes, message_type: str = "event") -> bytes:
    """One frame, the way AWS sends it (string headers only): for tests and the mock."""
    headers = b""
    kind = ":exception-type" if message_type == "exception" else ":event-type"
    for name, value in (
        (kind, event_type),
        (":content-type", "application/json"),
        (":message-type", message_type),
    ):
        encoded = value.encode()
        headers += bytes([len(name)]) + name.encode() + b"\x07"
        headers += struct.pack(">H", len(encoded)) + encoded
    total = 16 + len(headers) + len(payload)
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def decoder_for(framing: StreamFraming) -> SSEDecoder | NDJSONDecoder | AWSEventStreamDecoder:
    if framing == "aws-eventstream":
        return AWSEventStreamDecoder()
    return NDJSONDecoder() if framing == "ndjson" else SSEDecoder()
