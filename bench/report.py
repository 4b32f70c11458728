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
    latency: WrkResult  # at 1 connection
    # The gateway's CPU (all its processes) per request during the throughput point:
    # steadier than req/s on a busy machine, since other processes' load does not count.
    gateway_cpu_us: float | None = None


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def summarise(results: list[ScenarioResult]) -> dict[str, dict[str, float]]:
    """One row per scenario; with several rounds, the median of each figure."""
    rounds: dict[str, list[ScenarioResult]] = {}
    for r in results:
        rounds.setdefault(r.name, []).append(r)
    summary: dict[str, dict[str, float]] = {}
    for name, runs in rounds.items():
        cpu = [r.gateway_cpu_us for r in runs if r.gateway_cpu_us is not None]
        row = {
            "rounds": len(runs),
            "rps": round(_median([r.throughput.rps for r in runs]), 1),
            "p50_ms": _median([r.latency.lat_p50_us for r in runs]) / 1000,
            "p99_ms": _median([r.latency.lat_p99_us for r in runs]) / 1000,
            "errors": sum(r.throughput.errors + r.latency.errors for r in runs),
        }
        if cpu:
            row["gateway_cpu_us_per_req"] = round(_median(cpu), 1)
        summary[name] = row
    base = summary.get(BASELINE)
    single = summary.get(GATEWAY)
    for name, row in summary.items():
        if base is not None and name != BASELINE:
            row["rps_ratio_to_direct"] = round(row["rps"] / base["rps"], 3) if base["rps"] else 0.0
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

    rows = []
    for name, row in summary.items():
        added = row.get("added_p50_ms")
        cpu = row.get("gateway_cpu_us_per_req")
        rows.append(
            f"| {name} | {row['rps']:,.0f} | {pct(row.get('rps_ratio_to_direct'))} "
            f"| {pct(row.get('rps_ratio_to_gateway'))} "
            f"| {row['p50_ms']:.3f} | {row['p99_ms']:.3f} "
            f"| {'' if added is None else f'{added:+.3f}'} "
            f"| {'' if cpu is None else f'{cpu:.0f}'} | {pct(row.get('cpu_ratio_to_gateway'))} "
            f"| {row['errors']:.0f} |"
        )
    return "\n".join([head, *rows])
