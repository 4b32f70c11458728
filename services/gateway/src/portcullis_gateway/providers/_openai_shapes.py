"""OpenAI's answer shapes, built in one place for every adapter that translates: the
``chat.completion`` object, its choices and tool calls, the embeddings list, usage,
error bodies and the ``chat.completion.chunk`` dicts of a stream. The OpenAI SDK parses
exactly these; an adapter only decides what goes in them."""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
from typing import Any

import msgspec

_encode = msgspec.json.encode


def error_body(
    message: str, kind: str = "api_error", code: str | None = None, param: str | None = None
) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def openai_usage(
    prompt: int, completion: int, cached: int | None = None, reasoning: int | None = None
) -> dict:
    """OpenAI's usage object; ``prompt`` counts cached tokens too, as OpenAI's does."""
    usage: dict = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


def json_arguments(value: Any) -> str:
    """A provider's tool input (an object) as OpenAI's ``arguments``, a JSON string."""
    return _encode(value or {}).decode()


def tool_call(ident: Any, name: Any, arguments: str) -> dict:
    return {"id": ident, "type": "function", "function": {"name": name, "arguments": arguments}}


def assistant_message(content: str | None, calls: list[dict]) -> dict:
    message: dict = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return message


def openai_finish(reasons: Mapping[str, str], reason: object) -> str:
    """A provider's stop reason as OpenAI's ``finish_reason``: "stop" for one it has no
    name for, or none at all."""
    return reasons.get(reason, "stop") if isinstance(reason, str) else "stop"


def choice(message: dict, finish_reason: str | None, index: int = 0) -> dict:
    return {"index": index, "message": message, "logprobs": None, "finish_reason": finish_reason}


def chat_completion(ident: Any, created: int, model: Any, choices: list[dict], usage: dict) -> dict:
    return {
        "id": ident,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage,
    }


def float32_base64(vector: list[float]) -> str:
    """OpenAI's ``encoding_format: "base64"``: little-endian float32, base64-encoded (the
    openai SDK asks for it by default and decodes it itself)."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def embeddings_list(vectors: list, model: Any, prompt_tokens: int, as_base64: bool) -> dict:
    """Providers answer floats; base64 is rebuilt from them when the caller asked for it."""
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": float32_base64(vector) if as_base64 else vector,
        }
        for index, vector in enumerate(vectors)
    ]
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


class ChunkWriter:
    """Builds ``chat.completion.chunk`` dicts for one stream (same id, model, created),
    so every stream transformer emits exactly the shape the OpenAI SDK parses."""

    def __init__(self, ident: str, model: str, created: int, include_usage: bool) -> None:
        self.id = ident
        self.model = model
        self.created = created
        self.include_usage = include_usage

    def _envelope(self, choices: list[dict]) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }

    def chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return self._envelope(
            [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        )

    def role_chunk(self, role: str = "assistant") -> dict:
        """The first chunk of an answer, as OpenAI opens every stream."""
        return self.chunk({"role": role, "content": ""})

    def tool_call_chunk(self, position: int, call: dict) -> dict:
        """A whole tool call, or the opening piece of one, as call number ``position``."""
        return self.chunk({"tool_calls": [{"index": position, **call}]})

    def arguments_chunk(self, position: int, part: str) -> dict:
        """The next piece of the JSON arguments of call number ``position``."""
        return self.chunk({"tool_calls": [{"index": position, "function": {"arguments": part}}]})

    def usage_chunk(self, usage: dict) -> dict:
        return {**self._envelope([]), "usage": usage}

    def final_chunks(self, usage: dict | None, error: dict | None) -> list[dict]:
        """What a stream still owes when the provider's ended: the usage chunk, if the
        caller asked for it and the provider reported it; nothing after an error."""
        if error is not None or not self.include_usage or usage is None:
            return []
        return [self.usage_chunk(usage)]
