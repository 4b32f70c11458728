"""One target's call in its provider's wire format, and the answer back in OpenAI's:
pure. The request path (``routes/_relay.py``, ``routes/_routed.py``) does the I/O.

Two modes, chosen by the provider's spec, not per request:

- OpenAI's wire format (OpenAI itself, any custom host, every OpenAI-compatible
  provider): the body passes through as bytes unless it holds a field the provider
  spells differently or refuses (a substring test, no decode), the answer passes through
  untouched, and only OpenAI's own streams pass through untouched — the others go
  through the provider's stream transformer, which puts usage where the SDK expects it.
- Every other format (Anthropic, Gemini, Bedrock, Cohere, Ollama, Vertex, Azure's
  paths): the adapter builds the request and translates answers, errors and streams.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from portcullis_gateway.domain.errors import InvalidRequest, UpstreamUnreachable
from portcullis_gateway.domain.json_input import decode_object
from portcullis_gateway.domain.request_types import OPENAI_REQUESTS, check_fields
from portcullis_gateway.domain.resolution import Target
from portcullis_gateway.providers import (
    OPENAI_ROUTES,
    AdapterError,
    ProviderAdapter,
    ProviderOptions,
    ProviderSpec,
    decoder_for,
)
from portcullis_gateway.providers.framing import DONE, EventStreamError
from portcullis_gateway.providers.openai_compat import OpenAICompatAdapter

_decode = msgspec.json.decode
_encode = msgspec.json.encode
_JSON = "application/json"
PORTKEY_PREFIX = "x-portkey-"
# Portkey headers that are the gateway's own business, never a provider option.
_NOT_OPTIONS = frozenset(
    {
        "config",
        "provider",
        "custom-host",
        "metadata",
        "trace-id",
        "span-id",
        "api-key",
        "virtual-key",
        "request-timeout",
        "strict-open-ai-compliance",
        "forward-headers",
        "cache-force-refresh",
    }
)


class Prepared:
    """The exact upstream call for one target, and how to read its answer."""

    __slots__ = (
        "url",
        "method",
        "headers",
        "body",
        "adapter",
        "openai_body",
        "endpoint",
        "strict",
        "notes",
    )

    def __init__(
        self,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        adapter: ProviderAdapter | None,
        openai_body: dict | None,
        endpoint: str,
        strict: bool,
        notes: list[str] | None,
        method: str = "POST",
    ) -> None:
        # Sent as it is: adapters percent-encode their paths themselves (Bedrock model
        # ids hold ":"), and a SigV4 signature covers the path as sent.
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        # None: the answer and any stream pass through as bytes.
        self.adapter = adapter
        self.openai_body = openai_body
        self.endpoint = endpoint
        self.strict = strict
        self.notes = notes


def speaks_openai(spec: ProviderSpec) -> bool:
    return spec.adapter is None or type(spec.adapter) is OpenAICompatAdapter


def serves(spec: ProviderSpec, endpoint: str) -> bool:
    """Whether a call to ``endpoint`` can be made: an endpoint the provider lists, or,
    for OpenAI's wire format, any endpoint beyond the inference ones (images, files,
    the Responses API, ...), which passes through for the provider to judge."""
    return endpoint in spec.routes or (speaks_openai(spec) and endpoint not in OPENAI_ROUTES)


def provider_options(
    portkey: Mapping[str, str], leaf_options: Mapping[str, str] | None, api_key: str | None
) -> ProviderOptions:
    """Provider settings in Portkey's names: ``x-portkey-azure-resource-name`` becomes
    ``azure-resource-name``; a config target's ``azure_resource_name`` the same, and
    wins over the header."""
    headers = {
        name[len(PORTKEY_PREFIX) :]: value
        for name, value in portkey.items()
        if name[len(PORTKEY_PREFIX) :] not in _NOT_OPTIONS
    }
    if leaf_options:
        headers.update(leaf_options)
    strict = portkey.get("x-portkey-strict-open-ai-compliance", "true").strip().lower()
    return ProviderOptions(api_key=api_key, headers=headers, strict_openai=strict != "false")


def _decoded(body: bytes, params: dict | None, endpoint: str) -> dict:
    """The body an adapter reads (``params``, when the routing engine already has it),
    with the types of the fields adapters read checked: the one place an OpenAI body
    is decoded for an adapter."""
    decoded = decode_object(body) if params is None else params
    check_fields(decoded, OPENAI_REQUESTS.get(endpoint))
    return decoded


def _merge_headers(forward: list[tuple[str, str]], own: Mapping[str, str]) -> list[tuple[str, str]]:
    """The caller's headers, then the provider's; a provider header wins over a caller
    header of the same name (the caller's ``content-type`` or a stray ``api-key``)."""
    out = [(name, value) for name, value in forward if name.lower() not in own]
    out.extend(own.items())
    return out


def prepare(
    spec: ProviderSpec,
    target: Target,
    endpoint: str,
    body: bytes,
    forward: list[tuple[str, str]],
    query: str,
    stream: bool,
    options: ProviderOptions | None,
    params: dict | None = None,
) -> Prepared:
    """The call for ``target``. ``params`` is the body already decoded (with a config's
    ``override_params`` applied), when the caller has it."""
    adapter = spec.adapter
    if speaks_openai(spec):
        notes = None
        openai_body = params
        if adapter is not None and (params is not None or adapter.needs_rewrite(body)):
            openai_body = _decoded(body, params, endpoint)
            request = adapter.transform_request(openai_body, endpoint, ProviderOptions())
            body = _encode(request.body)
            notes = request.notes or None
        elif params is not None:
            body = _encode(params)
        headers = [*forward, ("content-type", _JSON)]
        if target.credential is not None:
            headers.append(target.credential)
        url = target.base_url + endpoint
        if query:
            url = f"{url}?{query}"
        translate_stream = stream and adapter is not None and not adapter.raw_stream
        if translate_stream and openai_body is None:
            openai_body = _decoded(body, None, endpoint)
        return Prepared(
            url,
            headers,
            body,
            adapter if translate_stream else None,
            openai_body,
            endpoint,
            True,
            notes,
        )
    # A native format needs its options: prepare_call builds them from the request.
    assert adapter is not None and options is not None
    openai_body = _decoded(body, params, endpoint)
    try:
        request = adapter.transform_request(openai_body, endpoint, options)
    except AdapterError as exc:
        raise InvalidRequest(str(exc), code=exc.code) from None
    base = target.base_url if target.custom_host else (request.base_url or spec.base_url)
    return Prepared(
        base + request.path,
        _merge_headers(forward, request.headers),
        _encode(request.body),
        adapter,
        openai_body,
        endpoint,
        options.strict_openai,
        request.notes or None,
    )


def _provider_json(payload: bytes) -> Any:
    try:
        return _decode(payload)
    except msgspec.DecodeError:
        return payload.decode("utf-8", "replace")


def translate_answer(
    prepared: Prepared, status: int, payload: bytes, headers: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    """A provider's whole (non-stream) answer as OpenAI's: same status for errors, with
    the body in OpenAI's error shape. An answer the adapter cannot read is a 502.
    ``headers`` are the answer's, for a provider that reports its token count there."""
    adapter = prepared.adapter
    assert adapter is not None
    provider_body = _provider_json(payload)
    if status >= 400:
        status, body = adapter.map_error(status, provider_body)
        return status, _encode(body)
    body = adapter.transform_response(
        status,
        provider_body,
        prepared.endpoint,
        None,
        prepared.strict,
        prepared.openai_body,
    )
    if "error" in body:
        # A 200 that is no answer: a blocked prompt is the caller's; the rest is ours.
        error = body["error"]
        status = 400 if error.get("type") == "invalid_request_error" else 502
    elif headers is not None:
        _input_tokens_from(adapter, headers, body)
    return status, _encode(body)


def _input_tokens_from(adapter: ProviderAdapter, headers: Mapping[str, str], body: dict) -> None:
    """The provider's own input token count, when it sends it as a header (Bedrock's
    InvokeModel) rather than in the body, replaces what the adapter could only guess."""
    name = adapter.input_tokens_header
    count = headers.get(name) if name else None
    usage = body.get("usage")
    if count is None or not count.isdigit() or not isinstance(usage, dict):
        return
    prompt = int(count)
    completion = usage.get("completion_tokens") or 0
    usage["prompt_tokens"] = prompt
    usage["total_tokens"] = prompt + completion


class StreamTranslator:
    """Provider stream bytes in, OpenAI ``data:`` events out, as they arrive. After an
    error event nothing more is sent (``ended``), as OpenAI ends such a stream."""

    __slots__ = ("decoder", "transformer", "ended", "error")

    def __init__(self, prepared: Prepared, created: int | None = None) -> None:
        adapter = prepared.adapter
        assert adapter is not None and prepared.openai_body is not None
        self.decoder = decoder_for(adapter.stream_framing)
        self.transformer = adapter.stream_transformer(
            prepared.openai_body, created, prepared.strict
        )
        self.ended = False
        self.error: dict | None = None

    @property
    def usage(self) -> dict | None:
        """The provider's own usage, whether or not the caller asked for it."""
        return self.transformer.usage

    def feed(self, data: bytes) -> bytes:
        if self.ended:
            return b""
        try:
            return self._events(self.decoder.feed(data))
        except (EventStreamError, msgspec.DecodeError, UnicodeDecodeError):
            return self._fail("the provider sent a stream the gateway could not read")

    def finish(self) -> bytes:
        """What is still owed when the provider's stream ended: the final usage chunk
        when asked for, then ``[DONE]`` (not after an error)."""
        if self.ended:
            return b""
        try:
            out = self._events(self.decoder.close())
        except (EventStreamError, msgspec.DecodeError, UnicodeDecodeError):
            return self._fail("the provider's stream ended inside an event")
        if self.ended:
            return out
        tail = [out] if out else []
        tail.extend(b"data: " + _encode(chunk) + b"\n\n" for chunk in self.transformer.finish())
        tail.append(b"data: [DONE]\n\n")
        return b"".join(tail)

    def _events(self, events) -> bytes:
        out: list[bytes] = []
        for name, payload in events:
            if payload == DONE or not isinstance(payload, dict):
                continue
            for chunk in self.transformer.feed(payload, name):
                out.append(b"data: " + _encode(chunk) + b"\n\n")
                if "error" in chunk:
                    self.ended = True
                    self.error = chunk["error"]
                    return b"".join(out)
        return b"".join(out)

    def _fail(self, message: str) -> bytes:
        error = UpstreamUnreachable(message)
        self.ended = True
        self.error = error.as_dict()
        return b"data: " + error.body() + b"\n\n"
