"""Per-request knobs that make the mock slow, fail or stream in a given shape.

They come from the request body (``"mock": {...}``, which a gateway passes through
untouched) or from a path prefix (``/mock/status=500,latency_ms=100/v1/...``) so that
different routing targets can point at differently-behaving "providers".
"""

from __future__ import annotations

import msgspec

PATH_PREFIX = "/mock/"


class Knobs(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    latency_ms: float = 0
    status: int = 200
    retry_after: float | None = None
    error_message: str | None = None
    # json (OpenAI-style error object) | text (plain text, as a broken proxy would send)
    error_format: str = "json"
    chunks: int | None = None
    chunk_delay_ms: float = 0
    fail_after_chunks: int | None = None
    # drop (close the connection mid-stream) | event (send an error event, then end)
    fail_mode: str = "drop"
    # Fixed reply text instead of the echo of the last user message.
    reply: str | None = None
    # Repeat the reply until it is this many bytes long (UTF-8), for big-answer tests.
    reply_bytes: int | None = None
    # Fail only the first N calls that carry the same ``key``, then answer normally: a
    # provider that recovers, so a retry can rescue a request on the same target.
    fail_times: int | None = None
    key: str = "default"


DEFAULT = Knobs()
_convert = msgspec.convert


class KnobError(ValueError):
    """The knobs themselves are malformed; answered with a 400 naming the problem."""


def from_body(raw: object) -> Knobs:
    if raw is None:
        return DEFAULT
    try:
        return _convert(raw, Knobs)
    except msgspec.ValidationError as exc:
        raise KnobError(f"bad mock knobs: {exc}") from None


def split_path(path: str) -> tuple[dict[str, str], str]:
    """``/mock/a=1,b=2/v1/x`` -> ({"a": "1", "b": "2"}, "/v1/x"); other paths unchanged."""
    if not path.startswith(PATH_PREFIX):
        return {}, path
    segment, sep, rest = path[len(PATH_PREFIX) :].partition("/")
    if "=" not in segment:
        return {}, path
    pairs: dict[str, str] = {}
    for item in segment.split(","):
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not eq:
            raise KnobError(f"bad mock path knob {item!r}: expected name=value")
        pairs[key] = value
    return pairs, "/" + rest if sep else "/"


def merge(path_knobs: dict[str, str], body_knobs: object) -> Knobs:
    """Body knobs win over path knobs, field by field."""
    if not path_knobs:
        return from_body(body_knobs)
    merged: dict[str, object] = dict(path_knobs)
    if isinstance(body_knobs, dict):
        merged.update(body_knobs)
    elif body_knobs is not None:
        raise KnobError("bad mock knobs: expected an object")
    try:
        # Path values are strings; str_values lets msgspec parse "500" as an int.
        return _convert(merged, Knobs, strict=False)
    except msgspec.ValidationError as exc:
        raise KnobError(f"bad mock knobs: {exc}") from None
