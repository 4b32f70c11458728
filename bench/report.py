"""Turns measured points into the comparison: ratios to the direct upstream, the p50
the gateway adds at one connection, per-round paired ratios to `gateway` and to the
peers (Portkey's gateway, LiteLLM), the cost of a larger body per KB, and markdown."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from loadgen import WrkResult
from streamclient import StreamResult

BASELINE = "direct"
# The single-provider gateway figure other gateway scenarios are compared with.
GATEWAY = "gateway"


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    description: str
    throughput: WrkResult  # at N connections
    latency: WrkResult | None  # at 1 connection; None with --throughput-only or a stream
    # CPU (all processes) of the server under test, our gateway or a peer, per request
    # during the throughput point: steadier than req/s on a busy machine, since other
    # processes' load does not count.
    server_cpu_us: float | None = None
    # A stream's 1-connection point: time to first byte and to the end of the stream.
    stream: StreamResult | None = None
    # A peer's scenario: the gateway scenario measured next to it in the same round.
    pairs_with: str | None = None
    # A large-body scenario: the small-body one its cost per KB is measured against.
    grows_from: str | None = None
    body_bytes: int = 0

    @property
    def p50_us(self) -> float | None:
        """The 1-connection p50: wrk's, or a stream's total time."""
        if self.latency is not None:
            return self.latency.lat_p50_us
        return self.stream.total_p50_us if self.stream is not None else None


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _pairs(a: list[float | None], b: list[float | None]) -> list[float]:
    """a[i] / b[i] for every round where both were measured (and b is not zero)."""
    return [x / y for x, y in zip(a, b, strict=True) if x and y]


def _paired_ratios(rounds: dict[str, list[ScenarioResult]], summary: dict) -> None:
    """Each round's figure over the same round's `gateway` figure, then the median: on a
    noisy machine this is steadier than a ratio of medians, since both sides of a pair
    ran a few seconds apart."""
    single = rounds.get(GATEWAY)
    if not single:
        return
    for name, runs in rounds.items():
        if name in (BASELINE, GATEWAY) or runs[0].pairs_with or len(runs) != len(single):
            continue
        rps = _pairs([r.throughput.rps for r in runs], [s.throughput.rps for s in single])
        summary[name]["paired_rps_ratio_to_gateway"] = round(_median(rps), 3)
        cpu = _pairs([r.server_cpu_us for r in runs], [s.server_cpu_us for s in single])
        if cpu:
            summary[name]["paired_cpu_ratio_to_gateway"] = round(_median(cpu), 3)
            summary[name]["paired_cpu_ratios"] = [round(x, 3) for x in cpu]


def _peer_ratios(rounds: dict[str, list[ScenarioResult]], summary: dict) -> None:
    """For a peer's scenario: our gateway's figure over the peer's, round by round (the
    two ran seconds apart), then the median. req/s above 1 and p50 or CPU below 1 mean
    the gateway is ahead."""
    for name, runs in rounds.items():
        ours = rounds.get(runs[0].pairs_with or "")
        if not ours or len(ours) != len(runs):
            continue
        row = summary[name]
        row["pairs_with"] = runs[0].pairs_with
        rps = _pairs([g.throughput.rps for g in ours], [p.throughput.rps for p in runs])
        row["gateway_over_peer_rps"] = round(_median(rps), 3)
        row["gateway_over_peer_rps_rounds"] = [round(x, 3) for x in rps]
        figures = {
            "p50": lambda r: r.p50_us,
            "cpu": lambda r: r.server_cpu_us,
            "ttfb_p50": lambda r: r.stream.ttfb_p50_us if r.stream else None,
        }
        for key, figure in figures.items():
            ratios = _pairs([figure(g) for g in ours], [figure(p) for p in runs])
            if ratios:
                row[f"gateway_over_peer_{key}"] = round(_median(ratios), 3)


def _slopes(rounds: dict[str, list[ScenarioResult]], summary: dict) -> None:
    """A large-body scenario against its small-body one: how many µs of 1-connection p50
    (and of server CPU per request) each added KB of request body costs."""
    for name, runs in rounds.items():
        small_name = runs[0].grows_from
        if not small_name or small_name not in summary:
            continue
        small, big = summary[small_name], summary[name]
        added_kb = (runs[0].body_bytes - rounds[small_name][0].body_bytes) / 1024
        if added_kb <= 0:
            continue
        big["added_kb_vs_" + small_name] = round(added_kb, 2)
        if "p50_ms" in big and "p50_ms" in small:
            big["p50_us_per_kb"] = round((big["p50_ms"] - small["p50_ms"]) * 1000 / added_kb, 3)
        if big.get("server_cpu_us_per_req") and small.get("server_cpu_us_per_req"):
            added_cpu = big["server_cpu_us_per_req"] - small["server_cpu_us_per_req"]
            big["cpu_us_per_kb"] = round(added_cpu / added_kb, 3)


def summarise(results: list[ScenarioResult]) -> dict[str, dict]:
    """One row per scenario; with several rounds, the median of each figure."""
    rounds: dict[str, list[ScenarioResult]] = {}
    for r in results:
        rounds.setdefault(r.name, []).append(r)
    summary: dict[str, dict] = {}
    for name, runs in rounds.items():
        cpu = [r.server_cpu_us for r in runs if r.server_cpu_us is not None]
        latencies = [r.latency for r in runs if r.latency is not None]
        streams = [r.stream for r in runs if r.stream is not None]
        row: dict = {
            "rounds": len(runs),
            "rps": round(_median([r.throughput.rps for r in runs]), 1),
            "errors": sum(r.throughput.errors for r in runs)
            + sum(lat.errors for lat in latencies)
            + sum(s.errors for s in streams),
        }
        if latencies:
            row["p50_ms"] = _median([lat.lat_p50_us for lat in latencies]) / 1000
            row["p99_ms"] = _median([lat.lat_p99_us for lat in latencies]) / 1000
        if streams:
            # A stream's p50/p99 are of its total time; the TTFB figures are extra.
            row["p50_ms"] = _median([s.total_p50_us for s in streams]) / 1000
            row["p99_ms"] = _median([s.total_p99_us for s in streams]) / 1000
            row["ttfb_p50_ms"] = _median([s.ttfb_p50_us for s in streams]) / 1000
            row["ttfb_p99_ms"] = _median([s.ttfb_p99_us for s in streams]) / 1000
        if cpu:
            row["server_cpu_us_per_req"] = round(_median(cpu), 1)
        summary[name] = row
    _paired_ratios(rounds, summary)
    _peer_ratios(rounds, summary)
    _slopes(rounds, summary)
    base = summary.get(BASELINE)
    single = summary.get(GATEWAY)
    for name, row in summary.items():
        if base is not None and name != BASELINE:
            row["rps_ratio_to_direct"] = round(row["rps"] / base["rps"], 3) if base["rps"] else 0.0
            if "p50_ms" in row and "p50_ms" in base:
                row["added_p50_ms"] = round(row["p50_ms"] - base["p50_ms"], 3)
        if single is None or name in (BASELINE, GATEWAY) or rounds[name][0].pairs_with:
            continue
        row["rps_ratio_to_gateway"] = round(row["rps"] / single["rps"], 3)
        if "server_cpu_us_per_req" in row and single.get("server_cpu_us_per_req"):
            row["cpu_ratio_to_gateway"] = round(
                row["server_cpu_us_per_req"] / single["server_cpu_us_per_req"], 3
            )
    return summary


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _x(value: float | None) -> str:
    # Three decimals below 0.1x, so a 0.004x stays distinguishable from 0.
    if value is None:
        return ""
    return f"{value:.3f}x" if value < 0.1 else f"{value:.2f}x"


def _main_table(summary: dict[str, dict], connections: int) -> list[str]:
    lines = [
        f"| scenario | req/s (c={connections}) | vs direct | vs gateway | p50 ms (c=1) "
        "| p99 ms (c=1) | added p50 ms | server CPU µs/req | CPU vs gateway | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in summary.items():
        added = row.get("added_p50_ms")
        cpu = row.get("server_cpu_us_per_req")
        lines.append(
            f"| {name} | {row['rps']:,.0f} | {_pct(row.get('rps_ratio_to_direct'))} "
            f"| {_pct(row.get('rps_ratio_to_gateway'))} "
            f"| {_ms(row.get('p50_ms'))} | {_ms(row.get('p99_ms'))} "
            f"| {'' if added is None else f'{added:+.3f}'} "
            f"| {'' if cpu is None else f'{cpu:.0f}'} | {_pct(row.get('cpu_ratio_to_gateway'))} "
            f"| {row['errors']:.0f} |"
        )
    return lines


def _stream_table(summary: dict[str, dict]) -> list[str]:
    rows = [(name, row) for name, row in summary.items() if "ttfb_p50_ms" in row]
    if not rows:
        return []
    lines = [
        "",
        "Streams at 1 connection (time to the first body byte, and to the end of the stream):",
        "",
        "| scenario | TTFB p50 ms | TTFB p99 ms | total p50 ms | total p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in rows:
        lines.append(
            f"| {name} | {_ms(row['ttfb_p50_ms'])} | {_ms(row['ttfb_p99_ms'])} "
            f"| {_ms(row['p50_ms'])} | {_ms(row['p99_ms'])} |"
        )
    return lines


def _slope_lines(summary: dict[str, dict]) -> list[str]:
    lines = []
    for name, row in summary.items():
        small = next(
            (k.removeprefix("added_kb_vs_") for k in row if k.startswith("added_kb_vs_")), None
        )
        if small is None:
            continue
        parts = []
        if "p50_us_per_kb" in row:
            parts.append(f"{row['p50_us_per_kb']:+.2f} µs of p50 per KB")
        if "cpu_us_per_kb" in row:
            parts.append(f"{row['cpu_us_per_kb']:+.2f} µs of server CPU per KB")
        if parts:
            lines.append(
                f"{name} vs {small} (+{row['added_kb_vs_' + small]:.1f} KB of body): "
                + ", ".join(parts)
            )
    return ["", *lines] if lines else []


def _peer_table(summary: dict[str, dict]) -> list[str]:
    rows = [(name, row) for name, row in summary.items() if "gateway_over_peer_rps" in row]
    if not rows:
        return []
    lines = [
        "",
        "Side by side with the peers (per-round pairs, median; req/s above 1x and p50, CPU,"
        " TTFB below 1x mean the gateway is ahead):",
        "",
        "| peer scenario | paired with | rounds | gateway / peer req/s | gateway / peer p50 "
        "| gateway / peer CPU per request | gateway / peer TTFB p50 | per-round req/s ratios |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    sentences = []
    for name, row in rows:
        ours = row["pairs_with"]
        rounds_text = " ".join(f"{v:.2f}" for v in row["gateway_over_peer_rps_rounds"])
        lines.append(
            f"| {name} | {ours} | {row['rounds']} | {_x(row['gateway_over_peer_rps'])} "
            f"| {_x(row.get('gateway_over_peer_p50'))} | {_x(row.get('gateway_over_peer_cpu'))} "
            f"| {_x(row.get('gateway_over_peer_ttfb_p50'))} | {rounds_text} |"
        )
        text = f"{ours} does {_x(row['gateway_over_peer_rps'])} {name}'s req/s"
        if "gateway_over_peer_p50" in row:
            text += f", at {_x(row['gateway_over_peer_p50'])} its p50"
        if "gateway_over_peer_cpu" in row:
            text += f" and {_x(row['gateway_over_peer_cpu'])} its CPU per request"
        sentences.append(text + ".")
    return [*lines, "", *sentences]


def markdown_table(summary: dict[str, dict], connections: int) -> str:
    paired = [
        f"{name} vs gateway, per-round pairs (median of {row['rounds']}): "
        f"req/s {row['paired_rps_ratio_to_gateway']:.1%}, "
        f"server CPU per request {row['paired_cpu_ratio_to_gateway']:.1%}"
        for name, row in summary.items()
        if "paired_cpu_ratio_to_gateway" in row
    ]
    return "\n".join(
        [
            *_main_table(summary, connections),
            *(["", *paired] if paired else []),
            *_stream_table(summary),
            *_slope_lines(summary),
            *_peer_table(summary),
        ]
    )
