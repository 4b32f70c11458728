"""What the gateway needs to know about a provider, as data.

An OpenAI-compatible provider is just a base URL and an auth style; the request path
forwards bodies untouched and streams bytes through. Providers with another wire format
(Anthropic, Bedrock, ...) will add request/response/stream-chunk transforms here, one
module per provider, without touching the request path.
"""

from __future__ import annotations

from dataclasses import dataclass

OPENAI_ROUTES = frozenset({"/chat/completions", "/completions", "/embeddings"})


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    name: str
    base_url: str
    routes: frozenset[str] = OPENAI_ROUTES
    # Header that carries the caller's key, and the scheme in front of a config api_key.
    auth_header: str = "authorization"
    auth_scheme: str = "Bearer "
    # genai-prices provider id for cost; None when prices are not known.
    prices_id: str | None = None

    def authorization(self, api_key: str) -> str:
        return self.auth_scheme + api_key
