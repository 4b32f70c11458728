"""The parts of an OpenAI chat request every native wire format reads the same way:
system and developer messages, the ``stop`` list, image URLs and data URLs, a tool
call's JSON arguments, and the one user turn that carries the results of parallel tool
calls. Each adapter turns what these return into its own blocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from portcullis_gateway.providers.base import DROP, AdapterError

_decode = msgspec.json.decode

# Native formats take these apart from the conversation (a system prompt field).
SYSTEM_ROLES = ("system", "developer")


@dataclass(frozen=True, slots=True)
class DataURL:
    media_type: str
    # Still base64: every provider takes inline bytes encoded.
    data: str


def stop_list(stop: Any, body: dict) -> Any:
    """OpenAI takes one stop string or a list of them; native formats take a list."""
    if isinstance(stop, str):
        return [stop]
    return stop if isinstance(stop, list) and stop else DROP


def system_contents(messages: Any) -> Iterator[Any]:
    for message in messages if isinstance(messages, list) else ():
        if message.get("role") in SYSTEM_ROLES:
            yield message.get("content")


def image_url(part: dict) -> str | None:
    """The URL of an ``image_url`` content part: an object with ``url``, or the bare
    string some clients send."""
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    return url if isinstance(url, str) and url else None


def parse_data_url(url: str) -> DataURL | None:
    """``data:image/png;base64,iVBO...`` -> its media type and data; None for any other
    URL."""
    if not url.startswith("data:"):
        return None
    header, _, data = url[5:].partition(",")
    return DataURL(header.split(";", 1)[0], data)


def tool_arguments(call: dict) -> Any:
    """An assistant tool call's arguments decoded: OpenAI carries a JSON string, native
    formats an object. Arguments that are not JSON are the caller's error, not ours."""
    try:
        return _decode((call.get("function") or {}).get("arguments") or "{}")
    except msgspec.DecodeError:
        raise AdapterError(
            f"tool call {call.get('id')!r} has arguments that are not JSON",
            code="invalid_tool_arguments",
        ) from None


def add_tool_result(
    turns: list[dict], result: dict, parts: str, is_result: Callable[[dict], bool]
) -> None:
    """Appends one tool result (an OpenAI ``tool`` message, already in the provider's
    block shape) to ``turns``: providers want the results of parallel calls back together
    in one user turn, so a result after a user turn of results joins it. ``parts`` names
    the turn's list of blocks (``content``, or Gemini's ``parts``)."""
    last = turns[-1] if turns else None
    if last and last["role"] == "user" and _only_results(last[parts], is_result):
        last[parts].append(result)
    else:
        turns.append({"role": "user", parts: [result]})


def _only_results(blocks: Any, is_result: Callable[[dict], bool]) -> bool:
    return isinstance(blocks, list) and all(is_result(block) for block in blocks)
