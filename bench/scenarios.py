"""What the benchmark compares. Each scenario is one way of sending a chat completion
(a small one, a 64 KiB prompt, or a stream); later features (caching, ...) add entries.
The peers' scenarios (Portkey's Node gateway, LiteLLM) are derived in peers.py."""

from __future__ import annotations

import json
from dataclasses import dataclass

from upstream import STREAM_CHUNKS, STREAM_PREFIX

STREAM_CHUNKS_TEXT = f"{STREAM_CHUNKS} SSE chunks + [DONE]"


def chat_body(content: str = "Say hello.", stream: bool = False, model: str = "gpt-4o-mini") -> str:
    body: dict = {"model": model, "messages": [{"role": "user", "content": content}]}
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":"))


BODY = chat_body()
# 64 KiB of prompt (printable ASCII words, so the Lua literal needs no escapes): the
# same request as BODY with a large body, to see how the cost grows with body size.
BIG_PROMPT_BYTES = 64 * 1024
BIG_PROMPT = ("lorem ipsum dolor sit amet " * (BIG_PROMPT_BYTES // 27 + 1))[:BIG_PROMPT_BYTES]
BIG_BODY = chat_body(BIG_PROMPT)
STREAM_BODY = chat_body("Stream, please.", stream=True)
API_KEY = "Bearer sk-bench-not-a-secret"


@dataclass(frozen=True)
class Scenario:
    name: str
    via_gateway: bool
    headers: dict[str, str]
    description: str
    body: str = BODY
    # A stream's 1-connection point is measured by streamclient.py (time to first byte
    # and to the end of the stream), which wrk's Lua cannot see.
    stream: bool = False
    # Set on a peer's scenario (bench/peers.py): which peer serves it, and the gateway
    # scenario whose figures it is paired with, round by round.
    peer: str | None = None
    pairs_with: str | None = None
    # Set on a large-body scenario: the small-body scenario its cost is compared with,
    # for the slope (added µs per KB of body).
    grows_from: str | None = None


def stream_v1(upstream_v1: str) -> str:
    """Where nginx serves the fixed stream (see upstream.py)."""
    return upstream_v1.removesuffix("/v1") + STREAM_PREFIX + "/v1"


def scenarios(upstream_v1: str) -> list[Scenario]:
    """``upstream_v1`` is the nginx base URL ending in /v1."""
    base = {"Content-Type": "application/json", "Authorization": API_KEY}
    single = {**base, "x-portkey-provider": "openai", "x-portkey-custom-host": upstream_v1}
    return [
        Scenario("direct", False, base, "wrk -> nginx (the upstream alone)"),
        Scenario(
            "gateway",
            True,
            single,
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
        Scenario(
            "gateway-stream",
            True,
            {**single, "x-portkey-custom-host": stream_v1(upstream_v1)},
            f"gateway -> nginx, stream: true, {STREAM_CHUNKS_TEXT}",
            body=STREAM_BODY,
            stream=True,
        ),
        Scenario(
            "gateway-64k",
            True,
            single,
            "wrk -> gateway -> nginx with a 64 KiB prompt",
            body=BIG_BODY,
            grows_from="gateway",
        ),
    ]
