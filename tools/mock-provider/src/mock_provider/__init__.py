"""A mock LLM provider speaking OpenAI's real wire format, with knobs for latency,
errors, 429 + Retry-After and broken streams. The one thing tests fake."""

from mock_provider.app import MockProvider, create_app

__all__ = ["MockProvider", "create_app"]
