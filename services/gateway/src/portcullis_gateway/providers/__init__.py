"""Provider registry: name (as in ``x-portkey-provider`` / config ``provider``) -> spec.
Adding a provider is one module with a ``SPEC`` and one line here."""

from __future__ import annotations

from types import MappingProxyType

from portcullis_gateway.providers import openai
from portcullis_gateway.providers.base import OPENAI_ROUTES, ProviderSpec

PROVIDERS: MappingProxyType[str, ProviderSpec] = MappingProxyType(
    {spec.name: spec for spec in (openai.SPEC,)}
)

__all__ = ["OPENAI_ROUTES", "PROVIDERS", "ProviderSpec"]
