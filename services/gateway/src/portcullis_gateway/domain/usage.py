"""Token usage: read from the provider's answer, or estimated locally when a stream
carried none (marked ``estimated``)."""

from __future__ import annotations

import math

import msgspec
from portcullis.events import Usage

# OpenAI-style tokenisers average about four characters of English per token; close
# enough to rank and budget when the provider sent no figures.
CHARS_PER_TOKEN = 4


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def from_openai(raw: dict | None) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt_details = raw.get("prompt_tokens_details")
    completion_details = raw.get("completion_tokens_details")
    return Usage(
        prompt_tokens=_int(raw.get("prompt_tokens")),
        completion_tokens=_int(raw.get("completion_tokens")),
        total_tokens=_int(raw.get("total_tokens")),
        cached_tokens=_int(prompt_details.get("cached_tokens"))
        if isinstance(prompt_details, dict)
        else None,
        reasoning_tokens=_int(completion_details.get("reasoning_tokens"))
        if isinstance(completion_details, dict)
        else None,
    )


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


class _Message(msgspec.Struct):
    content: str | list | None = None


class _Prompt(msgspec.Struct):
    messages: list[_Message] | None = None
    prompt: str | list | None = None


_decode_prompt = msgspec.json.Decoder(_Prompt).decode


def prompt_text(request_body: bytes) -> str:
    try:
        body = _decode_prompt(request_body)
    except msgspec.DecodeError:
        return ""
    parts: list[str] = []
    for item in ([m.content for m in body.messages or ()]) + [body.prompt]:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, list):
            parts.extend(
                p if isinstance(p, str) else str(p.get("text", ""))
                for p in item
                if isinstance(p, str | dict)
            )
    return "\n".join(parts)


def estimate(request_body: bytes, completion_text: str) -> Usage:
    prompt = estimate_tokens(prompt_text(request_body))
    completion = estimate_tokens(completion_text)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        estimated=True,
    )
