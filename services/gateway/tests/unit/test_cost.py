import pytest
from genai_prices import Usage as PriceUsage
from genai_prices.data_snapshot import get_snapshot
from portcullis.events import Usage
from portcullis_gateway.domain.cost import PriceBook


def reference(provider_id: str, model: str, prompt: int, cached: int, completion: int) -> float:
    provider, info = get_snapshot().find_provider_model(model, None, provider_id, None)
    usage = PriceUsage(
        input_tokens=prompt, output_tokens=completion, cache_read_tokens=cached or None
    )
    return float(info.calc_price(usage, provider).total_price)


@pytest.mark.parametrize(
    ("model", "prompt", "cached", "completion"),
    [
        ("gpt-4o-mini", 1000, 0, 100),
        ("gpt-4o-mini", 1000, 600, 100),
        ("gpt-4o", 12, 0, 7),
        ("gpt-4o-mini-2024-07-18", 5, 0, 5),
        ("text-embedding-3-small", 400, 0, 0),
    ],
)
def test_cost_matches_genai_prices(model, prompt, cached, completion):
    book = PriceBook()
    usage = Usage(prompt_tokens=prompt, cached_tokens=cached, completion_tokens=completion)
    cost = book.cost("openai", model, usage)
    assert cost == pytest.approx(reference("openai", model, prompt, cached, completion), rel=1e-9)
    assert cost > 0


def test_tiered_prices_use_the_full_calculation():
    book = PriceBook()
    small = book.cost("google", "gemini-2.5-pro", Usage(prompt_tokens=1000, completion_tokens=10))
    large = book.cost(
        "google", "gemini-2.5-pro", Usage(prompt_tokens=300_000, completion_tokens=10)
    )
    assert small == pytest.approx(reference("google", "gemini-2.5-pro", 1000, 0, 10))
    assert large == pytest.approx(reference("google", "gemini-2.5-pro", 300_000, 0, 10))
    # Past the tier the price per token is higher: not a linear extrapolation.
    assert large > small * 300


def test_unknown_model_or_missing_usage_costs_none_not_zero():
    book = PriceBook()
    assert book.cost("openai", "mock-model", Usage(prompt_tokens=1, completion_tokens=1)) is None
    assert book.cost("openai", "gpt-4o-mini", None) is None
    assert book.cost("openai", None, Usage(prompt_tokens=1)) is None
    assert book.cost(None, "definitely-not-a-model-xyz", Usage(prompt_tokens=1)) is None


def test_lookups_are_cached_including_misses():
    book = PriceBook()
    book.lookup("openai", "mock-model")
    book.lookup("openai", "gpt-4o-mini")
    assert book._models[("openai", "mock-model")] is None
    assert book._models[("openai", "gpt-4o-mini")] is not None
