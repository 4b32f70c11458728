"""The inbound Anthropic Messages API (``POST /v1/messages``) in front of any provider:
an Anthropic request becomes an OpenAI chat request (which every adapter takes), and the
OpenAI answer - JSON or chunks - becomes Anthropic's message or SSE events, so the
Anthropic SDK works whatever model is behind the gateway.

The reverse of ``providers/anthropic.py``: system prompt to a system message, ``tool_result``
blocks to ``tool`` messages, ``tool_use`` to ``tool_calls``, ``stop_sequences`` to ``stop``;
cached prompt tokens go back out as ``cache_read_input_tokens``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from portcullis_gateway.providers.base import AdapterError
from portcullis_gateway.providers.errors import type_for
from portcullis_gateway.providers.framing import SSEDecoder

_encode = msgspec.json.encode
_decode = msgspec.json.decode

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_ERROR_TYPES = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "rate_limit_error": "rate_limit_error",
}
# Anthropic's names for statuses OpenAI files under a broader type.
_STATUS_TYPES = {413: "request_too_large", 529: "overloaded_error"}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or () if b.get("type") == "text")


def prompt_text(body: dict) -> str:
    """The text a Messages request puts before the model (system, messages, tool
    results), for a local token estimate when the provider cannot count."""
    parts = [_text(body.get("system"))]
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        parts.append(_text(content))
        if isinstance(content, list):
            parts.extend(
                _text(block.get("content"))
                for block in content
                if isinstance(block, dict) and block.get("type") == "tool_result"
            )
    return "\n".join(part for part in parts if part)


def _image_part(block: dict) -> dict:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    else:
        url = source.get("url", "")
    return {"type": "image_url", "image_url": {"url": url}}


def _user(message: dict, notes: list[str]) -> list[dict]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[dict] = []
    parts: list[dict] = []
    for block in content or ():
        kind = block.get("type")
        if kind == "tool_result":
            # Tool results answer the previous assistant turn, so they come first.
            result = block.get("content")
            out.append(
                {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": _text(result)}
            )
        elif kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            parts.append(_image_part(block))
        else:
            notes.append(f"dropped unsupported content block {kind}")
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _assistant(message: dict) -> dict:
    content = message.get("content")
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    calls = [
        {
            "id": b.get("id"),
            "type": "function",
            "function": {
                "name": b.get("name"),
                "arguments": _encode(b.get("input") or {}).decode(),
            },
        }
        for b in content or ()
        if b.get("type") == "tool_use"
    ]
    out: dict = {"role": "assistant", "content": _text(content) or None}
    if calls:
        out["tool_calls"] = calls
    return out


def _tool_choice(choice: dict) -> Any:
    kind = choice.get("type") or "auto"
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name")}}
    return {"auto": "auto", "any": "required", "none": "none"}.get(kind, "auto")


_PASSED = {
    "model": "model",
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
}
_HANDLED = {"system", "messages", "stop_sequences", "stream", "tools", "tool_choice", "metadata"}


def to_openai(body: dict) -> tuple[dict, list[str]]:
    """An Anthropic Messages request -> (OpenAI chat request, notes)."""
    if not isinstance(body.get("messages"), list):
        raise AdapterError("messages: Field required", code="invalid_request")
    notes: list[str] = []
    out: dict = {k2: body[k] for k, k2 in _PASSED.items() if k in body}
    messages: list[dict] = []
    system = _text(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for message in body["messages"]:
        if message.get("role") == "assistant":
            messages.append(_assistant(message))
        else:
            messages.extend(_user(message, notes))
    out["messages"] = messages
    if body.get("stop_sequences"):
        out["stop"] = body["stop_sequences"]
    if body.get("stream"):
        # Ask for usage so message_delta can carry real output tokens.
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    if body.get("tools"):
        out["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.get("name"),
                    "description": t.get("description", ""),
                    "parameters": t.get("input_schema") or {"type": "object"},
                },
            }
            for t in body["tools"]
        ]
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        out["tool_choice"] = _tool_choice(choice)
        if choice.get("disable_parallel_tool_use"):
            out["parallel_tool_calls"] = False
    user_id = (body.get("metadata") or {}).get("user_id")
    if user_id:
        out["user"] = user_id
    for name in body:
        if name not in _PASSED and name not in _HANDLED:
            notes.append(f"dropped unsupported parameter {name}")
    return out, notes


def _usage(usage: dict | None) -> dict:
    usage = usage or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return {
        "input_tokens": (usage.get("prompt_tokens") or 0) - cached,
        "output_tokens": usage.get("completion_tokens") or 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


def from_openai(answer: dict) -> dict:
    """An OpenAI chat.completion -> an Anthropic message (first choice)."""
    choice = (answer.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[dict] = []
    if message.get("content"):
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        try:
            arguments = _decode(function.get("arguments") or "{}")
        except msgspec.DecodeError:
            arguments = {"_raw": function.get("arguments")}  # keep what the model said
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": arguments,
            }
        )
    return {
        "id": answer.get("id"),
        "type": "message",
        "role": "assistant",
        "model": answer.get("model"),
        "content": content,
        "stop_reason": STOP_REASONS.get(choice.get("finish_reason"), "end_turn"),
        "stop_sequence": None,
        "usage": _usage(answer.get("usage")),
    }


def error_from_openai(status: int, body: Any) -> dict:
    """An OpenAI-style error body -> Anthropic's ``{"type": "error", "error": {...}}``."""
    inner = body.get("error") if isinstance(body, dict) else None
    message = inner.get("message") if isinstance(inner, dict) else None
    kind = _STATUS_TYPES.get(status) or _ERROR_TYPES.get(type_for(status), "api_error")
    return {"type": "error", "error": {"type": kind, "message": message or f"status {status}"}}


class MessagesStream:
    """OpenAI chunks in, Anthropic SSE events ``(name, payload)`` out: message_start on the
    first chunk, one content block per text run or tool call, and message_delta (stop
    reason, usage) + message_stop at the end, when the usage chunk has arrived."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.started = False
        self.block: int = -1  # index of the open content block
        self.block_kind: str | None = None
        self.tool_blocks: dict[int, int] = {}  # OpenAI tool index -> block index
        self.stop_reason = "end_turn"
        self.usage: dict = _usage(None)

    def _start(self, chunk: dict) -> list[tuple[str, dict]]:
        self.started = True
        message: dict[str, Any] = {
            "id": chunk.get("id"),
            "type": "message",
            "role": "assistant",
            "model": chunk.get("model") or self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [("message_start", {"type": "message_start", "message": message})]

    def _open(self, kind: str, block: dict) -> list[tuple[str, dict]]:
        events = self._close()
        self.block += 1
        self.block_kind = kind
        start = {"type": "content_block_start", "index": self.block, "content_block": block}
        return [*events, ("content_block_start", start)]

    def _close(self) -> list[tuple[str, dict]]:
        if self.block_kind is None:
            return []
        self.block_kind = None
        return [("content_block_stop", {"type": "content_block_stop", "index": self.block})]

    def feed(self, chunk: dict) -> list[tuple[str, dict]]:
        if "error" in chunk:
            # A provider error mid-stream: the status line (200) is already sent.
            return [("error", error_from_openai(500, chunk))]
        events = [] if self.started else self._start(chunk)
        if isinstance(chunk.get("usage"), dict):
            self.usage = _usage(chunk["usage"])
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("content"):
                if self.block_kind != "text":
                    events += self._open("text", {"type": "text", "text": ""})
                text = {"type": "text_delta", "text": delta["content"]}
                events.append(("content_block_delta", _delta(self.block, text)))
            for call in delta.get("tool_calls") or ():
                events += self._tool(call)
            if choice.get("finish_reason"):
                self.stop_reason = STOP_REASONS.get(choice["finish_reason"], "end_turn")
        return events

    def _tool(self, call: dict) -> list[tuple[str, dict]]:
        events: list[tuple[str, dict]] = []
        index = call.get("index", 0)
        function = call.get("function") or {}
        if index not in self.tool_blocks:
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": {},
            }
            events += self._open("tool_use", block)
            self.tool_blocks[index] = self.block
        if function.get("arguments"):
            part = {"type": "input_json_delta", "partial_json": function["arguments"]}
            events.append(("content_block_delta", _delta(self.tool_blocks[index], part)))
        return events

    def finish(self) -> list[tuple[str, dict]]:
        events = [] if self.started else self._start({})
        events += self._close()
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
            "usage": self.usage,
        }
        return [*events, ("message_delta", delta), ("message_stop", {"type": "message_stop"})]


def _delta(index: int, delta: dict) -> dict:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def sse(event: tuple[str, dict]) -> bytes:
    name, payload = event
    return b"event: " + name.encode() + b"\ndata: " + _encode(payload) + b"\n\n"


def answer_from_openai(status: int, payload: bytes) -> tuple[int, bytes]:
    """A whole chat-path answer (a completion, or an OpenAI-shaped error) as the bytes
    of an Anthropic message or error, with the status kept; a 2xx that is no completion
    is the provider's fault (502)."""
    try:
        body = _decode(payload)
    except msgspec.DecodeError:
        body = None
    if status >= 400:
        return status, _encode(error_from_openai(status, body))
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        error = {"error": {"message": "the provider's answer is not a chat completion"}}
        return 502, _encode(error_from_openai(502, error))
    return status, _encode(from_openai(body))


class MessagesTranslator:
    """OpenAI SSE bytes in, Anthropic SSE bytes out, as they arrive (an event may be
    split across network chunks). After an error event nothing more is sent."""

    def __init__(self, model: str) -> None:
        self.decoder = SSEDecoder()
        self.events = MessagesStream(model)
        self.failed = False

    def feed(self, data: bytes) -> bytes:
        try:
            return self._frames(list(self.decoder.feed(data)))
        except UnicodeDecodeError:
            return self._fail()

    def close(self) -> bytes:
        """The rest, then message_delta (stop reason, usage) and message_stop."""
        try:
            out = self._frames(list(self.decoder.close()))
        except UnicodeDecodeError:
            return self._fail()
        if self.failed:
            return out
        return out + b"".join(sse(event) for event in self.events.finish())

    def _frames(self, events: list[tuple[str | None, object]]) -> bytes:
        out: list[bytes] = []
        for _, payload in events:
            if self.failed:
                break
            if not isinstance(payload, dict):
                continue  # [DONE]: the end is told by close()
            for event in self.events.feed(payload):
                out.append(sse(event))
                if event[0] == "error":
                    self.failed = True
                    break
        return b"".join(out)

    def _fail(self) -> bytes:
        if self.failed:
            return b""
        self.failed = True
        error = {"error": {"message": "the provider sent a stream the gateway could not read"}}
        return sse(("error", error_from_openai(502, error)))
