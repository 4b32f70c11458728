"""OpenAI: the reference wire format every OpenAI-compatible provider shares."""

from portcullis_gateway.providers.base import ProviderSpec
from portcullis_gateway.providers.openai_compat import OpenAICompatAdapter

SPEC = ProviderSpec(
    name="openai",
    base_url="https://api.openai.com/v1",
    prices_id="openai",
    adapter=OpenAICompatAdapter("openai", raw_stream=True),
)
