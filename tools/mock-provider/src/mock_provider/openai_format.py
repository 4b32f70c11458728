"""OpenAI's wire format, built from a request: chat completions, text completions,
embeddings, stream chunks and error bodies. Pure functions, deterministic output."""

from __future__ import annotations

import base64
import hashlib
import struct
import time
from collections.abc import Iterator
from itertools import count

import msgspec

encode = msgspec.json.Encoder().encode
FINGERPRINT = "fp_mock"
_ids = count(1)

ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def words(text: str) -> int:
    return len(text.split())


def _text_of(content: object) -> str:
    """Message content is a string or a list of parts (text, image_url, ...)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict) and "text" in part
        )
    return ""


def last_user_text(messages: object) -> str:
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                return _text_of(message.get("content"))
    return ""


def prompt_words(messages: object) -> int:
    if not isinstance(messages, list):
        return 0
    return sum(words(_text_of(m.get("content"))) for m in messages if isinstance(m, dict))


def prompt_text(prompt: object) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        return " ".join(p for p in prompt if isinstance(p, str))
    return ""


def reply_for(user_text: str, fixed: str | None, size: int | None = None) -> str:
    reply = fixed if fixed is not None else f"mock reply to: {user_text}"
    if size is None or not reply:
        return reply
    # Repeated, then cut to ``size`` bytes of UTF-8 (a split character is dropped).
    encoded = reply.encode()
    whole = encoded * (size // len(encoded) + 1)
    return whole[:size].decode("utf-8", "ignore")


def new_id(prefix: str) -> str:
    return f"{prefix}-mock{next(_ids)}"


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def first_tool(body: dict) -> dict | None:
    """The tool the mock "decides" to call: the first function tool, unless tool_choice
    is "none". A real model would choose; the mock is deterministic."""
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools or body.get("tool_choice") == "none":
        return None
    tool = tools[0]
    if not isinstance(tool, dict) or not isinstance(tool.get("function"), dict):
        return None
    return tool["function"]


def tool_arguments(user_text: str) -> str:
    return encode({"echo": user_text}).decode()


def chat_completion(body: dict, reply: str) -> dict:
    model = body.get("model", "mock-model")
    tool = first_tool(body)
    user_text = last_user_text(body.get("messages"))
    message: dict = {"role": "assistant", "content": reply, "refusal": None, "annotations": []}
    finish = "stop"
    completion_tokens = words(reply)
    if tool is not None:
        args = tool_arguments(user_text)
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": "call_mock1",
                "type": "function",
                "function": {"name": tool.get("name", "tool"), "arguments": args},
            }
        ]
        finish = "tool_calls"
        completion_tokens = words(args)
    return {
        "id": new_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": FINGERPRINT,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage(prompt_words(body.get("messages")), completion_tokens),
        "service_tier": "default",
    }


def text_completion(body: dict, reply: str) -> dict:
    return {
        "id": new_id("cmpl"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": body.get("model", "mock-model"),
        "system_fingerprint": FINGERPRINT,
        "choices": [{"index": 0, "text": reply, "logprobs": None, "finish_reason": "stop"}],
        "usage": usage(words(prompt_text(body.get("prompt"))), words(reply)),
    }


def split_reply(reply: str, pieces: int | None) -> list[str]:
    """Split into ``pieces`` parts (default: one per word) that join back to ``reply``."""
    tokens = reply.split(" ")
    tokens = [t if i == 0 else " " + t for i, t in enumerate(tokens)]
    if pieces is None or pieces >= len(tokens):
        return tokens
    pieces = max(pieces, 1)
    size = -(-len(tokens) // pieces)
    return ["".join(tokens[i : i + size]) for i in range(0, len(tokens), size)]


def sse(payload: dict) -> bytes:
    return b"data: " + encode(payload) + b"\n\n"


DONE = b"data: [DONE]\n\n"


class ChatStream:
    """The chunks of a streamed chat completion, in OpenAI's order: role, content (or
    tool-call argument) pieces, finish, and the usage chunk when asked for."""

    def __init__(self, body: dict, reply: str, pieces: int | None) -> None:
        self.body = body
        self.reply = reply
        self.pieces = pieces
        self.id = new_id("chatcmpl")
        self.created = int(time.time())
        self.model = body.get("model", "mock-model")
        options = body.get("stream_options")
        self.include_usage = isinstance(options, dict) and bool(options.get("include_usage"))

    def _chunk(self, delta: dict, finish: str | None = None) -> bytes:
        payload = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            payload["usage"] = None
        return sse(payload)

    def head(self) -> bytes:
        return self._chunk({"role": "assistant", "content": "", "refusal": None})

    def pieces_and_finish(self) -> tuple[list[bytes], bytes, int]:
        """Content chunks, the finish chunk, and the completion token count."""
        tool = first_tool(self.body)
        if tool is None:
            parts = split_reply(self.reply, self.pieces)
            return (
                [self._chunk({"content": p}) for p in parts],
                self._chunk({}, "stop"),
                words(self.reply),
            )
        args = tool_arguments(last_user_text(self.body.get("messages")))
        name = tool.get("name", "tool")
        first = {"index": 0, "id": "call_mock1", "type": "function"}
        chunks = [
            self._chunk(
                {
                    "content": None,
                    "tool_calls": [{**first, "function": {"name": name, "arguments": ""}}],
                }
            )
        ]
        for part in split_reply(args, self.pieces):
            chunks.append(
                self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
            )
        return chunks, self._chunk({}, "tool_calls"), words(args)

    def usage_chunk(self, completion_tokens: int) -> bytes | None:
        if not self.include_usage:
            return None
        return sse(
            {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "system_fingerprint": FINGERPRINT,
                "choices": [],
                "usage": usage(prompt_words(self.body.get("messages")), completion_tokens),
            }
        )


def completion_stream(body: dict, reply: str, pieces: int | None) -> Iterator[bytes]:
    """Text-completion stream chunks (content, finish, optional usage); no [DONE]."""
    ident, created, model = new_id("cmpl"), int(time.time()), body.get("model", "mock-model")

    def chunk(text: str, finish: str | None) -> bytes:
        return sse(
            {
                "id": ident,
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
            }
        )

    for part in split_reply(reply, pieces):
        yield chunk(part, None)
    yield chunk("", "stop")
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        yield sse(
            {
                "id": ident,
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage(words(prompt_text(body.get("prompt"))), words(reply)),
            }
        )


MAX_DIMENSIONS = 3072
MAX_INPUTS = 2048


def embedding_vector(text: str, dims: int) -> list[float]:
    """A deterministic unit-ish vector derived from the text's hash."""
    digest = hashlib.sha256(text.encode()).digest()
    while len(digest) < dims:
        digest += hashlib.sha256(digest).digest()
    return [round((b - 127.5) / 127.5, 6) for b in digest[:dims]]


def embeddings(body: dict) -> dict:
    raw = body.get("input", "")
    # A string, a list of strings, one token list, or a list of token lists.
    one_token_list = isinstance(raw, list) and bool(raw) and all(isinstance(t, int) for t in raw)
    inputs = raw if isinstance(raw, list) and not one_token_list else [raw]
    dims = body.get("dimensions") or 16
    # As OpenAI: a bounded vector, and a 400 (not a 500, not minutes of hashing) otherwise.
    if not isinstance(dims, int) or isinstance(dims, bool) or not 1 <= dims <= MAX_DIMENSIONS:
        raise ValueError(f"dimensions must be an integer from 1 to {MAX_DIMENSIONS}")
    if len(inputs) > MAX_INPUTS:
        raise ValueError(f"input may hold at most {MAX_INPUTS} items")
    for item in inputs:
        if not isinstance(item, str) and not (
            isinstance(item, list) and all(isinstance(t, int) for t in item)
        ):
            raise ValueError("input must be a string, a list of strings or of token lists")
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    tokens = 0
    for index, item in enumerate(inputs):
        text = item if isinstance(item, str) else " ".join(map(str, item))
        tokens += words(text) if isinstance(item, str) else len(item)
        vector = embedding_vector(text, dims)
        value: object = vector
        if as_base64:
            # The openai SDK asks for base64 by default and decodes float32 itself.
            value = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": value})
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", "mock-embedding"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


MODELS = {
    "object": "list",
    "data": [
        {"id": name, "object": "model", "created": 1700000000, "owned_by": "mock"}
        for name in ("gpt-4o-mini", "gpt-4o", "mock-model", "text-embedding-3-small")
    ],
}


def error_body(status: int, message: str | None) -> dict:
    kind, code = ERROR_TYPES.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {
        "error": {
            "message": message or f"mock error with status {status}",
            "type": kind,
            "param": None,
            "code": code,
        }
    }
