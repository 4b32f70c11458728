"""Turns measured points into the comparison: ratios to the direct upstream, the p50
the gateway adds at one connection, and a markdown table."""

from __future__ import annotations

from dataclasses import dataclass

from loadgen import WrkResult

BASELINE = "direct"


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    description: str
    throughput: WrkResult  # at N connections
    latency: WrkResult  # at 1 connection


def summarise(results: list[ScenarioResult]) -> dict[str, dict[str, float]]:
    base = next((r for r in results if r.name == BASELINE), None)
    summary: dict[str, dict[str, float]] = {}
    for r in results:
        row = {
            "rps": round(r.throughput.rps, 1),
            "p50_ms": r.latency.lat_p50_us / 1000,
            "p99_ms": r.latency.lat_p99_us / 1000,
            "errors": r.throughput.errors + r.latency.errors,
        }
        if base is not None and r is not base:
            row["rps_ratio_to_direct"] = (
                round(r.throughput.rps / base.throughput.rps, 3) if base.throughput.rps else 0.0
            )
            row["added_p50_ms"] = round((r.latency.lat_p50_us - base.latency.lat_p50_us) / 1000, 3)
        summary[r.name] = row
    return summary


def markdown_table(summary: dict[str, dict[str, float]], connections: int) -> str:
    head = (
        f"| scenario | req/s (c={connections}) | vs direct | p50 ms (c=1) | p99 ms (c=1) "
        "| added p50 ms | errors |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    rows = []
    for name, row in summary.items():
        ratio = row.get("rps_ratio_to_direct")
        added = row.get("added_p50_ms")
        rows.append(
            f"| {name} | {row['rps']:,.0f} | {'' if ratio is None else f'{ratio:.1%}'} "
            f"| {row['p50_ms']:.3f} | {row['p99_ms']:.3f} "
            f"| {'' if added is None else f'{added:+.3f}'} | {row['errors']:.0f} |"
        )
    return "\n".join([head, *rows])
