"""The OpenAI-compatible adapter: bodies pass through, except for each provider's
quirks (parameters it rejects, names it spells differently, limits it enforces), and
streams are normalised so the final usage chunk arrives whichever way the provider
reports usage (``usage`` on the last chunk, Groq's ``x_groq.usage``, or none)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portcullis_gateway.providers._openai_shapes import ChunkWriter
from portcullis_gateway.providers.base import (
    OPENAI_ROUTES,
    AdapterError,
    ProviderOptions,
    ProviderRequest,
    include_usage,
    now,
)
from portcullis_gateway.providers.errors import normalize_error
from portcullis_gateway.providers.framing import StreamFraming


@dataclass(frozen=True, slots=True)
class Quirks:
    """How a provider departs from OpenAI's request format."""

    # Parameters the provider rejects: dropped, with a note in the log.
    unsupported: frozenset[str] = frozenset()
    # OpenAI name -> provider name (Mistral: seed -> random_seed).
    renames: Mapping[str, str] = field(default_factory=dict)
    # Numeric limits: name -> (min, max); out-of-range values are clamped, with a note.
    clamps: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    # What the provider calls tool_choice "required" (Mistral: "any").
    tool_choice_required: str = "required"
    # Endpoints the provider serves, as OpenAI path suffixes.
    endpoints: frozenset[str] = OPENAI_ROUTES


class OpenAICompatAdapter:
    stream_framing: StreamFraming = "sse"
    input_tokens_header: str | None = None

    def __init__(
        self,
        provider: str,
        quirks: Quirks | None = None,
        auth_header: str = "",
        raw_stream: bool = False,
    ) -> None:
        self.provider = provider
        self.quirks = quirks = quirks or Quirks()
        self.auth_header = auth_header or "authorization"
        # OpenAI's own streams are the reference: passed through as bytes, untranslated.
        self.raw_stream = raw_stream
        # A body without any of these keys needs no rewrite, so it is not decoded: one
        # regex scan instead of a decode and an encode on every request.
        names = sorted(quirks.unsupported | quirks.renames.keys() | quirks.clamps.keys())
        patterns = [rb'"' + re.escape(name.encode()) + rb'"\s*:' for name in names]
        if quirks.tool_choice_required != "required":
            patterns.append(rb'"tool_choice"\s*:\s*"required"')
        self._quirky = re.compile(b"|".join(patterns)) if patterns else None

    def needs_rewrite(self, body: bytes) -> bool:
        return self._quirky is not None and self._quirky.search(body) is not None

    def transform_request(
        self, openai_body: dict, endpoint: str, options: ProviderOptions
    ) -> ProviderRequest:
        quirks = self.quirks
        if endpoint not in quirks.endpoints:
            raise AdapterError(
                f"{self.provider} does not support {endpoint}", code="unsupported_endpoint"
            )
        notes: list[str] = []
        body: dict[str, Any] = {}
        for name, value in openai_body.items():
            if name in quirks.unsupported:
                notes.append(f"dropped unsupported parameter {name}")
                continue
            limits = quirks.clamps.get(name)
            if limits is not None:
                value = _clamp(name, value, limits, notes)
            if name == "tool_choice" and value == "required":
                value = quirks.tool_choice_required
            body[quirks.renames.get(name, name)] = value
        headers = {"content-type": "application/json", **options.headers}
        if options.api_key:
            scheme = "Bearer " if self.auth_header == "authorization" else ""
            headers[self.auth_header] = scheme + options.api_key
        return ProviderRequest("POST", endpoint, headers, body, notes)

    def transform_response(
        self,
        status: int,
        provider_body: Any,
        endpoint: str,
        created: int | None = None,
        strict_openai: bool = True,
        request: dict | None = None,
    ) -> dict:
        if status >= 400 or not isinstance(provider_body, dict) or "error" in provider_body:
            return self.map_error(status, provider_body)[1]
        return provider_body

    def stream_transformer(
        self, openai_body: dict, created: int | None = None, strict_openai: bool = True
    ) -> OpenAIStream:
        return OpenAIStream(self, include_usage(openai_body), created)

    def map_error(self, status: int, provider_body: Any) -> tuple[int, dict]:
        return normalize_error(status, provider_body, self.provider)


def _clamp(name: str, value: Any, limits: tuple, notes: list[str]) -> Any:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    low, high = limits
    clamped = value
    if low is not None and clamped < low:
        clamped = low
    if high is not None and clamped > high:
        clamped = high
    if clamped != value:
        notes.append(f"clamped {name} from {value} to {clamped}")
    return clamped


class OpenAIStream:
    """Passes chunks through; takes usage off content chunks (some providers put it on
    the last content chunk, Groq under ``x_groq``) and sends it as OpenAI's own final
    ``choices: []`` chunk when the caller asked for ``include_usage``."""

    def __init__(self, adapter: OpenAICompatAdapter, wants_usage: bool, created: int | None):
        self.adapter = adapter
        self.wants_usage = wants_usage
        self.created = created
        self.usage: dict | None = None
        self.error: dict | None = None
        self._last: dict | None = None

    def feed(self, event: object, event_name: str | None = None) -> list[dict]:
        if not isinstance(event, dict) or self.error is not None:
            return []  # the [DONE] sentinel, or anything after an error
        if "error" in event:
            self.error = self.adapter.map_error(500, event)[1]
            return [self.error]
        usage = event.get("usage")
        extra = event.get("x_groq")
        if usage is None and isinstance(extra, dict):
            usage = extra.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        chunk = {k: v for k, v in event.items() if k not in ("usage", "x_groq")}
        self._last = chunk
        if not chunk.get("choices"):
            return []  # a usage-only chunk: sent by finish(), once
        return [chunk]

    def finish(self) -> list[dict]:
        if self.error is not None or not self.wants_usage or self.usage is None:
            return []
        last = self._last or {}
        writer = ChunkWriter(
            str(last.get("id", "")),
            str(last.get("model", "")),
            int(last.get("created") or self.created or now()),
            True,
        )
        return [writer.usage_chunk(self.usage)]
