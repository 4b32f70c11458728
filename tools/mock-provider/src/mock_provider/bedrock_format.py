"""Amazon Bedrock's Converse wire format, built from a request: the JSON answer of
``/model/{id}/converse`` and the AWS binary event stream of ``/converse-stream``
(``application/vnd.amazon.eventstream`` frames with CRC32 checksums), and Bedrock's
``{"message": ...}`` errors."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator

from mock_provider.openai_format import encode, split_reply, words

ROUTE = re.compile(r"^/model/([^/]+)/(converse|converse-stream)$")
CONTENT_TYPE = b"application/vnd.amazon.eventstream"


def error_body(status: int, message: str | None) -> dict:
    return {"message": message or f"mock error {status}"}


def frame(event_type: str, payload: dict, message_type: str = "event") -> bytes:
    """One event-stream message: prelude (lengths + CRC), string headers, payload, CRC."""
    kind = ":exception-type" if message_type == "exception" else ":event-type"
    headers = b""
    for name, value in (
        (kind, event_type),
        (":content-type", "application/json"),
        (":message-type", message_type),
    ):
        raw = value.encode()
        headers += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(raw)) + raw
    body = encode(payload)
    prelude = struct.pack(">II", 16 + len(headers) + len(body), len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


def error_event(message: str | None) -> bytes:
    return frame(
        "throttlingException", error_body(429, message or "Too many requests"), "exception"
    )


def _text(content: object) -> str:
    if not isinstance(content, list):
        return ""
    return " ".join(
        b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
    )


def last_user_text(body: dict) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            text = _text(message.get("content"))
            if text:
                return text
    return ""


def problem(body: dict) -> str | None:
    """What the real API refuses with a 400 (ValidationException)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "A conversation must start with a user message."
    for message in messages:
        if not isinstance(message.get("content"), list):
            return "messages.content: expected a list of content blocks"
        if message.get("role") not in ("user", "assistant"):
            return "messages.role: expected user or assistant"
    return None


def _usage(body: dict, output: int) -> dict:
    prompt = words(_text(body.get("system"))) + sum(
        words(_text(m.get("content"))) for m in body.get("messages") or []
    )
    return {"inputTokens": prompt, "outputTokens": output, "totalTokens": prompt + output}


def _tool(body: dict) -> str | None:
    for tool in (body.get("toolConfig") or {}).get("tools") or []:
        return (tool.get("toolSpec") or {}).get("name")
    return None


def converse(body: dict, reply: str) -> dict:
    name = _tool(body)
    if name is None:
        content, stop, output = [{"text": reply}], "end_turn", words(reply)
    else:
        use = {"toolUseId": "tooluse_mock1", "name": name, "input": {"echo": last_user_text(body)}}
        content, stop, output = [{"toolUse": use}], "tool_use", 1
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": _usage(body, output),
        "metrics": {"latencyMs": 1},
    }


def converse_stream(body: dict, reply: str, pieces: int | None) -> Iterator[tuple[bytes, bool]]:
    yield frame("messageStart", {"role": "assistant"}), False
    name = _tool(body)
    if name is None:
        for part in split_reply(reply, pieces):
            yield (
                frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": part}}),
                True,
            )
        stop, output = "end_turn", words(reply)
    else:
        start = {"toolUse": {"toolUseId": "tooluse_mock1", "name": name}}
        yield frame("contentBlockStart", {"contentBlockIndex": 0, "start": start}), False
        args = encode({"echo": last_user_text(body)}).decode()
        for part in split_reply(args, pieces):
            delta = {"toolUse": {"input": part}}
            yield frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": delta}), True
        stop, output = "tool_use", 1
    yield frame("contentBlockStop", {"contentBlockIndex": 0}), False
    yield frame("messageStop", {"stopReason": stop}), False
    yield frame("metadata", {"usage": _usage(body, output), "metrics": {"latencyMs": 1}}), False
