"""What the benchmark compares. Each scenario is one way of sending the same chat
completion; later features (a two-target fallback config, caching, ...) add entries."""

from __future__ import annotations

import json
from dataclasses import dataclass

BODY = json.dumps(
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]},
    separators=(",", ":"),
)
API_KEY = "Bearer sk-bench-not-a-secret"


@dataclass(frozen=True)
class Scenario:
    name: str
    via_gateway: bool
    headers: dict[str, str]
    description: str


def scenarios(upstream_v1: str) -> list[Scenario]:
    """``upstream_v1`` is the nginx base URL ending in /v1."""
    base = {"Content-Type": "application/json", "Authorization": API_KEY}
    return [
        Scenario("direct", False, base, "wrk -> nginx (the upstream alone)"),
        Scenario(
            "gateway",
            True,
            {**base, "x-portkey-provider": "openai", "x-portkey-custom-host": upstream_v1},
            "wrk -> gateway -> nginx (x-portkey-provider + x-portkey-custom-host)",
        ),
        Scenario(
            "gateway-config",
            True,
            {
                **base,
                "x-portkey-config": json.dumps(
                    {"provider": "openai", "custom_host": upstream_v1}, separators=(",", ":")
                ),
            },
            "wrk -> gateway -> nginx (inline x-portkey-config)",
        ),
        Scenario(
            "gateway-fallback",
            True,
            {
                **base,
                "x-portkey-config": json.dumps(
                    {
                        "strategy": {"mode": "fallback"},
                        "targets": [
                            {"provider": "openai", "custom_host": upstream_v1},
                            {"provider": "openai", "custom_host": upstream_v1 + "/backup"},
                        ],
                    },
                    separators=(",", ":"),
                ),
            },
            "wrk -> gateway -> nginx (two-target fallback config; the first answers)",
        ),
    ]
