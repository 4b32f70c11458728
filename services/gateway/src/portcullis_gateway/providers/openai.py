"""OpenAI: the reference wire format every OpenAI-compatible provider shares."""

from portcullis_gateway.providers.base import ProviderSpec

SPEC = ProviderSpec(name="openai", base_url="https://api.openai.com/v1", prices_id="openai")
