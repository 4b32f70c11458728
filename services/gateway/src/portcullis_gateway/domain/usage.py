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
    if "prompt_tokens" not in raw and "input_tokens" in raw:
        return _from_input_output(raw)
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


def _from_input_output(raw: dict) -> Usage:
    """The Responses API's (and the audio and image endpoints') spelling:
    ``input_tokens`` / ``output_tokens`` with ``*_tokens_details``."""
    input_details = raw.get("input_tokens_details")
    output_details = raw.get("output_tokens_details")
    prompt = _int(raw.get("input_tokens"))
    completion = _int(raw.get("output_tokens"))
    total = _int(raw.get("total_tokens"))
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        cached_tokens=_int(input_details.get("cached_tokens"))
        if isinstance(input_details, dict)
        else None,
        reasoning_tokens=_int(output_details.get("reasoning_tokens"))
        if isinstance(output_details, dict)
        else None,
    )


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


class _Message(msgspec.Struct):
    content: str | list | None = None


class _Prompt(msgspec.Struct):
    messages: list[_Message] | None = None
    prompt: str | list | None = None
    input: str | list | None = None  # the Responses API's prompt


_decode_prompt = msgspec.json.Decoder(_Prompt).decode


def _add_text(item: object, parts: list[str]) -> None:
    if isinstance(item, str):
        parts.append(item)
    elif isinstance(item, list):
        parts.extend(
            p if isinstance(p, str) else str(p.get("text", ""))
            for p in item
            if isinstance(p, str | dict)
        )


def prompt_text(request_body: bytes) -> str:
    try:
        body = _decode_prompt(request_body)
    except msgspec.DecodeError:
        return ""
    parts: list[str] = []
    for item in ([m.content for m in body.messages or ()]) + [body.prompt]:
        _add_text(item, parts)
    if isinstance(body.input, str):
        parts.append(body.input)
    elif isinstance(body.input, list):
        for entry in body.input:  # input items: messages whose content is text or parts
            _add_text(entry.get("content") if isinstance(entry, dict) else entry, parts)
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
