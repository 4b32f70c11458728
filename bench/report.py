"""Turns measured points into the comparison: ratios to the direct upstream, the p50
the gateway adds at one connection, and a markdown table."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from loadgen import WrkResult

BASELINE = "direct"
# The single-provider gateway figure other gateway scenarios are compared with.
GATEWAY = "gateway"


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    description: str
    throughput: WrkResult  # at N connections
    latency: WrkResult | None  # at 1 connection; None with --throughput-only
    # The gateway's CPU (all its processes) per request during the throughput point:
    # steadier than req/s on a busy machine, since other processes' load does not count.
    gateway_cpu_us: float | None = None


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _paired_ratios(rounds: dict[str, list[ScenarioResult]], summary: dict) -> None:
    """Each round's figure over the same round's `gateway` figure, then the median: on a
    noisy machine this is steadier than a ratio of medians, since both sides of a pair
    ran a few seconds apart."""
    single = rounds.get(GATEWAY)
    if not single:
        return
    for name, runs in rounds.items():
        if name in (BASELINE, GATEWAY) or len(runs) != len(single):
            continue
        rps = [r.throughput.rps / s.throughput.rps for r, s in zip(runs, single, strict=True)]
        summary[name]["paired_rps_ratio_to_gateway"] = round(_median(rps), 3)
        cpu = [
            r.gateway_cpu_us / s.gateway_cpu_us
            for r, s in zip(runs, single, strict=True)
            if r.gateway_cpu_us and s.gateway_cpu_us
        ]
        if cpu:
            summary[name]["paired_cpu_ratio_to_gateway"] = round(_median(cpu), 3)
            summary[name]["paired_cpu_ratios"] = [round(x, 3) for x in cpu]


def summarise(results: list[ScenarioResult]) -> dict[str, dict[str, float]]:
    """One row per scenario; with several rounds, the median of each figure."""
    rounds: dict[str, list[ScenarioResult]] = {}
    for r in results:
        rounds.setdefault(r.name, []).append(r)
    summary: dict[str, dict[str, float]] = {}
    for name, runs in rounds.items():
        cpu = [r.gateway_cpu_us for r in runs if r.gateway_cpu_us is not None]
        latencies = [r.latency for r in runs if r.latency is not None]
        row = {
            "rounds": len(runs),
            "rps": round(_median([r.throughput.rps for r in runs]), 1),
            "errors": sum(r.throughput.errors for r in runs) + sum(lat.errors for lat in latencies),
        }
        if latencies:
            row["p50_ms"] = _median([lat.lat_p50_us for lat in latencies]) / 1000
            row["p99_ms"] = _median([lat.lat_p99_us for lat in latencies]) / 1000
        if cpu:
            row["gateway_cpu_us_per_req"] = round(_median(cpu), 1)
        summary[name] = row
    _paired_ratios(rounds, summary)
    base = summary.get(BASELINE)
    single = summary.get(GATEWAY)
    for name, row in summary.items():
        if base is not None and name != BASELINE:
            row["rps_ratio_to_direct"] = round(row["rps"] / base["rps"], 3) if base["rps"] else 0.0
            if "p50_ms" in row and "p50_ms" in base:
                row["added_p50_ms"] = round(row["p50_ms"] - base["p50_ms"], 3)
        if single is not None and name not in (BASELINE, GATEWAY) and "rps" in single:
            row["rps_ratio_to_gateway"] = round(row["rps"] / single["rps"], 3)
            if "gateway_cpu_us_per_req" in row and single.get("gateway_cpu_us_per_req"):
                row["cpu_ratio_to_gateway"] = round(
                    row["gateway_cpu_us_per_req"] / single["gateway_cpu_us_per_req"], 3
                )
    return summary


def markdown_table(summary: dict[str, dict[str, float]], connections: int) -> str:
    head = (
        f"| scenario | req/s (c={connections}) | vs direct | vs gateway | p50 ms (c=1) "
        "| p99 ms (c=1) | added p50 ms | gateway CPU µs/req | CPU vs gateway | errors |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value:.1%}"

    def ms(value: float | None) -> str:
        return "" if value is None else f"{value:.3f}"

    rows = []
    paired = []
    for name, row in summary.items():
        if "paired_cpu_ratio_to_gateway" in row:
            paired.append(
                f"{name} vs gateway, per-round pairs (median of {row['rounds']}): "
                f"req/s {row['paired_rps_ratio_to_gateway']:.1%}, "
                f"gateway CPU per request {row['paired_cpu_ratio_to_gateway']:.1%}"
            )
        added = row.get("added_p50_ms")
        cpu = row.get("gateway_cpu_us_per_req")
        rows.append(
            f"| {name} | {row['rps']:,.0f} | {pct(row.get('rps_ratio_to_direct'))} "
            f"| {pct(row.get('rps_ratio_to_gateway'))} "
            f"| {ms(row.get('p50_ms'))} | {ms(row.get('p99_ms'))} "
            f"| {'' if added is None else f'{added:+.3f}'} "
            f"| {'' if cpu is None else f'{cpu:.0f}'} | {pct(row.get('cpu_ratio_to_gateway'))} "
            f"| {row['errors']:.0f} |"
        )
    return "\n".join([head, *rows, *(["", *paired] if paired else [])])
