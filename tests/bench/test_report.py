"""The benchmark's arithmetic: medians over rounds and per-round ratios to the
single-provider gateway figure, with and without the latency point."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

from loadgen import WrkResult  # noqa: E402
from report import ScenarioResult, markdown_table, summarise  # noqa: E402


def wrk(rps: float, p50_us: float = 500.0) -> WrkResult:
    return WrkResult(32, int(rps * 10), 10_000_000, 0, 0, 0, 0, 0, 1.0, p50_us, 1.0, 900.0, 1.0)


def result(name: str, rps: float, cpu: float, latency: bool = True) -> ScenarioResult:
    return ScenarioResult(name, name, wrk(rps), wrk(1000, 600) if latency else None, cpu)


def test_paired_ratios_are_per_round_then_the_median():
    # Round 2 is slow for both (a noisy machine): pairs cancel it, a ratio of medians
    # would not.
    results = [
        result("gateway", 2000, 400),
        result("gateway-fallback", 1960, 412),
        result("gateway", 1000, 800),
        result("gateway-fallback", 990, 816),
        result("gateway", 2100, 390),
        result("gateway-fallback", 2050, 401),
    ]
    row = summarise(results)["gateway-fallback"]
    assert row["rounds"] == 3
    assert row["paired_cpu_ratios"] == [1.03, 1.02, 1.028]
    assert row["paired_cpu_ratio_to_gateway"] == 1.028
    assert row["paired_rps_ratio_to_gateway"] == 0.98
    assert row["server_cpu_us_per_req"] == 412


def test_throughput_only_rounds_leave_latency_blank():
    summary = summarise(
        [result("gateway", 2000, 400, latency=False), result("gateway-fallback", 1900, 420, False)]
    )
    assert "p50_ms" not in summary["gateway"]
    table = markdown_table(summary, 32)
    assert "| gateway-fallback | 1,900 |  | 95.0% |  |  |  | 420 | 105.0% | 0 |" in table
    assert "per-round pairs (median of 1): req/s 95.0%, server CPU per request 105.0%" in table
