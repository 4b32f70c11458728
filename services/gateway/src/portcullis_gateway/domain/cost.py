"""Cost of a request in USD from its model and usage, via genai-prices.

The first lookup of a model walks genai-prices' tables (~250 ms the first time the
data loads), so lookups are cached per (provider, model), misses included, the tables
are warmed at start-up, and costs are computed in the event publisher, never on the
request path. An unknown model costs ``None`` (unknown), not 0.

A full ``calc_price`` costs ~55 us, too much per request at 1,000+ requests/s on one
core. When a model's price has no tiers, cost is linear in the token counts, so
genai-prices is asked once per (provider, model) for the price of a request, a million
input, cached and output tokens, and later costs are the same linear combination.
Tiered prices (which depend on the prompt size) always go through ``calc_price``.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from genai_prices import Usage as PriceUsage
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import TieredPrices
from portcullis.events import Usage

_MTOK = 1_000_000
# Prices can change on a date (conditional prices); re-derive the coefficients hourly.
_LINEAR_TTL_S = 3600.0


def _price(model_info, provider, input_tokens: int, cached: int, output: int) -> Decimal:
    usage = PriceUsage(
        input_tokens=input_tokens, output_tokens=output, cache_read_tokens=cached or None
    )
    return model_info.calc_price(usage, provider).total_price


class _Linear:
    __slots__ = ("base", "per_input", "per_cached", "per_output", "expires")

    def __init__(self, model_info, provider) -> None:
        base = _price(model_info, provider, 0, 0, 0)
        with_input = _price(model_info, provider, _MTOK, 0, 0)
        # genai-prices counts cached tokens inside input tokens, as OpenAI does.
        with_cached = _price(model_info, provider, _MTOK, _MTOK, 0)
        with_output = _price(model_info, provider, 0, 0, _MTOK)
        self.base = float(base)
        self.per_input = float(with_input - base) / _MTOK
        self.per_cached = float(with_cached - with_input) / _MTOK
        self.per_output = float(with_output - base) / _MTOK
        self.expires = time.monotonic() + _LINEAR_TTL_S

    def cost(self, prompt: int, cached: int, completion: int) -> float:
        return (
            self.base
            + self.per_input * prompt
            + self.per_cached * cached
            + self.per_output * completion
        )


def _is_tiered(model_info) -> bool:
    prices = model_info.get_prices(dt.datetime.now(tz=dt.UTC))
    return any(isinstance(value, TieredPrices) for value in vars(prices).values())


class PriceBook:
    def __init__(self) -> None:
        self._models: dict[tuple[str | None, str], tuple | None] = {}
        self._linear: dict[tuple[str | None, str], _Linear | None] = {}

    def lookup(self, prices_id: str | None, model: str) -> tuple | None:
        key = (prices_id, model)
        try:
            return self._models[key]
        except KeyError:
            pass
        try:
            found: tuple | None = get_snapshot().find_provider_model(model, None, prices_id, None)
        except LookupError:
            found = None
        self._models[key] = found
        return found

    def warm(self, prices_id: str | None, models: tuple[str, ...]) -> None:
        for model in models:
            if self.lookup(prices_id, model) is not None:
                self.cost(prices_id, model, Usage(prompt_tokens=1, completion_tokens=1))

    def _linear_for(self, key: tuple[str | None, str], provider, model_info) -> _Linear | None:
        linear = self._linear.get(key)
        if linear is not None and linear.expires > time.monotonic():
            return linear
        if key in self._linear and linear is None:
            return None  # tiered: always the full calculation
        linear = None if _is_tiered(model_info) else _Linear(model_info, provider)
        self._linear[key] = linear
        return linear

    def cost(self, prices_id: str | None, model: str | None, usage: Usage | None) -> float | None:
        if not model or usage is None:
            return None
        found = self.lookup(prices_id, model)
        if found is None:
            return None
        provider, model_info = found
        prompt = usage.prompt_tokens or 0
        cached = usage.cached_tokens or 0
        completion = usage.completion_tokens or 0
        try:
            linear = self._linear_for((prices_id, model), provider, model_info)
            if linear is not None:
                return linear.cost(prompt, cached, completion)
            return float(_price(model_info, provider, prompt, cached, completion))
        except (ValueError, ArithmeticError, LookupError):
            return None
