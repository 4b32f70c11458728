"""Vertex AI: Gemini, Anthropic and OpenAI-compatible partner models behind one Google
Cloud project, reusing those adapters' transforms with Vertex's URLs and auth.

Facts from Google Cloud's reference: the host is ``{region}-aiplatform.googleapis.com``
(``aiplatform.googleapis.com`` for ``global``); Gemini is
``publishers/google/models/{model}:generateContent`` (or ``:streamGenerateContent``);
Claude is ``publishers/anthropic/models/{model}:rawPredict`` (``:streamRawPredict``) with
``anthropic_version: "vertex-2023-10-16"`` in the body and no ``model`` field; other
partner models go to the OpenAI-compatible ``endpoints/openapi/chat/completions``. Auth is
an OAuth access token as a Bearer; minting it from a service-account JSON (cached and
refreshed) is I/O and belongs to the request path, which hands the token in as the key.
Project and region come in ``x-portkey-vertex-project-id`` / ``-region``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

from portcullis_gateway.providers import anthropic, google
from portcullis_gateway.providers.base import (
    CHAT,
    AdapterError,
    NativeAdapter,
    Option,
    ProviderAdapter,
    ProviderOptions,
    ProviderRequest,
    ProviderSpec,
    StreamTransformer,
)
from portcullis_gateway.providers.openai_compat import OpenAICompatAdapter, Quirks

NAME = "vertex-ai"
ANTHROPIC_VERSION = "vertex-2023-10-16"
_OPENAI = OpenAICompatAdapter(NAME, Quirks(endpoints=frozenset({CHAT})))


def _family(model: str) -> str:
    if model.startswith("claude"):
        return "anthropic"
    if model.startswith("gemini") or model.startswith("gemma"):
        return "google"
    return "openai"


def _host(region: str) -> str:
    if region == "global":
        return "https://aiplatform.googleapis.com/v1"
    return f"https://{quote(region, safe='')}-aiplatform.googleapis.com/v1"


class VertexAIAdapter(NativeAdapter):
    def transform_request(
        self, openai_body: dict, endpoint: str, options: ProviderOptions
    ) -> ProviderRequest:
        if endpoint != CHAT:
            raise AdapterError(f"vertex-ai does not support {endpoint} yet", "unsupported_endpoint")
        project = options.headers.get("vertex-project-id")
        region = options.headers.get("vertex-region") or "us-central1"
        if not project:
            raise AdapterError(
                "vertex-ai needs x-portkey-vertex-project-id", code="missing_vertex_options"
            )
        model = str(openai_body.get("model") or "").removeprefix("models/")
        scope = f"/projects/{quote(project, safe='')}/locations/{quote(region, safe='')}"
        stream = bool(openai_body.get("stream"))
        plain = replace(options, api_key=None, headers={})
        family = _family(model)
        if family == "google":
            request = google.ADAPTER.transform_request(openai_body, endpoint, plain)
            request.path = scope + "/publishers/google" + request.path
        elif family == "anthropic":
            request = anthropic.ADAPTER.transform_request(openai_body, endpoint, plain)
            request.body.pop("model", None)
            request.body = {"anthropic_version": ANTHROPIC_VERSION, **request.body}
            request.headers.pop("anthropic-version", None)
            method = "streamRawPredict" if stream else "rawPredict"
            request.path = f"{scope}/publishers/anthropic/models/{quote(model, safe='@')}:{method}"
        else:
            request = _OPENAI.transform_request(openai_body, endpoint, plain)
            request.path = scope + "/endpoints/openapi/chat/completions"
        request.base_url = _host(region)
        if options.api_key:
            request.headers["authorization"] = "Bearer " + options.api_key.removeprefix("Bearer ")
        return request

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
        # The body says which family answered, whether or not the request is at hand.
        if "candidates" in provider_body or "promptFeedback" in provider_body:
            inner: ProviderAdapter = google.ADAPTER
        elif provider_body.get("type") == "message":
            inner = anthropic.ADAPTER
        else:
            inner = _OPENAI
        return inner.transform_response(status, provider_body, endpoint, created, strict_openai)

    def stream_transformer(
        self, openai_body: dict, created: int | None = None, strict_openai: bool = True
    ) -> StreamTransformer:
        family = _family(str(openai_body.get("model") or "").removeprefix("models/"))
        by_family: dict[str, ProviderAdapter] = {
            "google": google.ADAPTER,
            "anthropic": anthropic.ADAPTER,
        }
        inner = by_family.get(family, _OPENAI)
        return inner.stream_transformer(openai_body, created, strict_openai)

    def map_error(self, status: int, provider_body: Any) -> tuple[int, dict]:
        # Vertex answers errors in Google's shape whichever model family is behind it.
        return google.ADAPTER.map_error(status, provider_body)


ADAPTER = VertexAIAdapter()
SPEC = ProviderSpec(
    name=NAME,
    # The host depends on the region and the path on the project: no pass-through.
    base_url="https://{region}-aiplatform.googleapis.com/v1",
    routes=frozenset({CHAT}),
    cloud_auth="google",
    prices_id="google",
    adapter=ADAPTER,
    aliases=("vertex",),
    options=(
        Option("vertex-project-id"),
        Option("vertex-region"),
        # A key file: the whole JSON is secret, and its private_key is a value to mask
        # on its own (it travels escaped, re-wrapped, line by line).
        Option("vertex-service-account-json", secret=True, parts=("private_key",)),
    ),
)
