"""Provider registry: name (as in ``x-portkey-provider`` / config ``provider``) -> spec.

Aliases (``mistral`` for Portkey's ``mistral-ai``) map to the same spec. Adding an
OpenAI-compatible provider is one entry in ``compatible.py``; another wire format is one
module with a ``SPEC`` whose adapter holds its transforms.
"""

from __future__ import annotations

from types import MappingProxyType

from portcullis_gateway.providers import (
    anthropic,
    azure_openai,
    bedrock,
    cohere,
    compatible,
    google,
    ollama,
    openai,
    vertex_ai,
)
from portcullis_gateway.providers.base import (
    OPENAI_ROUTES,
    AdapterError,
    Option,
    ProviderAdapter,
    ProviderOptions,
    ProviderRequest,
    ProviderSpec,
    StreamTransformer,
)
from portcullis_gateway.providers.framing import decoder_for


def _registry(specs: tuple[ProviderSpec, ...]) -> dict[str, ProviderSpec]:
    table: dict[str, ProviderSpec] = {}
    for spec in specs:
        for name in (spec.name, *spec.aliases):
            if name in table:
                raise ValueError(f"provider name {name!r} registered twice")
            table[name] = spec
    return table


PROVIDERS: MappingProxyType[str, ProviderSpec] = MappingProxyType(
    _registry(
        (
            openai.SPEC,
            azure_openai.SPEC,
            anthropic.SPEC,
            google.SPEC,
            cohere.SPEC,
            ollama.SPEC,
            vertex_ai.SPEC,
            bedrock.SPEC,
            *compatible.SPECS,
        )
    )
)

__all__ = [
    "OPENAI_ROUTES",
    "PROVIDERS",
    "AdapterError",
    "Option",
    "ProviderAdapter",
    "ProviderOptions",
    "ProviderRequest",
    "ProviderSpec",
    "StreamTransformer",
    "decoder_for",
]
