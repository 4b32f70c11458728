"""The peers' and the new scenarios' arithmetic: gateway-over-peer ratios paired round
by round, the per-KB slope of a large body, stream rows, and how peer scenarios are
derived from and ordered next to the gateway's."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

from loadgen import WrkResult  # noqa: E402
from peers import litellm_config, with_peers  # noqa: E402
from report import ScenarioResult, markdown_table, summarise  # noqa: E402
from scenarios import BIG_BODY, BODY, scenarios  # noqa: E402
from streamclient import StreamResult  # noqa: E402


def wrk(rps: float, p50_us: float = 500.0, p99_us: float = 900.0) -> WrkResult:
    return WrkResult(32, int(rps * 10), 10_000_000, 0, 0, 0, 0, 0, 1.0, p50_us, 1.0, p99_us, 1.0)


def run(name, rps, p50_us, cpu, pairs_with=None, grows_from=None, body_bytes=0, stream=None):
    latency = None if stream else wrk(1000, p50_us)
    return ScenarioResult(
        name, name, wrk(rps), latency, cpu, stream, pairs_with, grows_from, body_bytes
    )


def stream(ttfb_p50_us: float, total_p50_us: float) -> StreamResult:
    return StreamResult(100, 0, 1.0, ttfb_p50_us, ttfb_p50_us * 2, total_p50_us, total_p50_us * 3)


def test_peer_ratios_are_gateway_over_peer_per_round_then_the_median():
    # Round 2 is slow for both sides; pairing cancels it.
    results = [
        run("gateway", 2000, 500, 400),
        run("portkey", 8000, 400, 100, pairs_with="gateway"),
        run("gateway", 1000, 1000, 800),
        run("portkey", 5000, 800, 200, pairs_with="gateway"),
        run("gateway", 2100, 520, 420),
        run("portkey", 7000, 400, 140, pairs_with="gateway"),
    ]
    row = summarise(results)["portkey"]
    assert row["gateway_over_peer_rps_rounds"] == [0.25, 0.2, 0.3]
    assert row["gateway_over_peer_rps"] == 0.25
    assert row["gateway_over_peer_p50"] == 1.25  # 1.25, 1.25, 1.3
    assert row["gateway_over_peer_cpu"] == 4.0  # 4, 4, 3
    # A peer is not one of our gateway scenarios: no "vs gateway" share of its own.
    assert "rps_ratio_to_gateway" not in row
    assert "paired_rps_ratio_to_gateway" not in row


def test_peer_table_reads_as_gateway_does_x_of_the_peer():
    results = [
        run("gateway", 1000, 2000, 900),
        run("litellm", 250, 8000, 3600, pairs_with="gateway"),
    ]
    table = markdown_table(summarise(results), 32)
    assert "| litellm | gateway | 1 | 4.00x | 0.25x | 0.25x |  | 4.00 |" in table
    assert "gateway does 4.00x litellm's req/s, at 0.25x its p50 and 0.25x its CPU" in table


def test_a_peer_measured_in_fewer_rounds_than_its_gateway_gets_no_ratio():
    # An interrupted run must not pair round 1 of one with round 2 of the other.
    results = [
        run("gateway", 1000, 500, 900),
        run("portkey", 500, 500, 900, pairs_with="gateway"),
        run("gateway", 1000, 500, 900),
    ]
    assert "gateway_over_peer_rps" not in summarise(results)["portkey"]


def test_stream_rows_take_p50_from_total_time_and_pair_ttfb():
    results = [
        run("direct", 50000, 20, None),
        run("gateway-stream", 300, 0, 2000, stream=stream(1500, 2000)),
        run("portkey-stream", 100, 0, 6000, "gateway-stream", stream=stream(30000, 40000)),
    ]
    summary = summarise(results)
    ours, peer = summary["gateway-stream"], summary["portkey-stream"]
    assert ours["p50_ms"] == 2.0 and ours["p99_ms"] == 6.0
    assert ours["ttfb_p50_ms"] == 1.5 and ours["ttfb_p99_ms"] == 3.0
    assert ours["added_p50_ms"] == 1.98
    assert peer["gateway_over_peer_ttfb_p50"] == 0.05
    assert peer["gateway_over_peer_p50"] == 0.05
    table = markdown_table(summary, 32)
    assert "| gateway-stream | 1.500 | 3.000 | 2.000 | 6.000 |" in table
    assert (
        "| portkey-stream | gateway-stream | 1 | 3.00x | 0.050x | 0.33x | 0.050x | 3.00 |" in table
    )


def test_slope_is_added_microseconds_per_added_kilobyte():
    small, big = 100, 100 + 64 * 1024
    results = [
        run("gateway", 2000, 600, 400, body_bytes=small),
        run("gateway-64k", 1500, 920, 560, grows_from="gateway", body_bytes=big),
    ]
    row = summarise(results)["gateway-64k"]
    assert row["added_kb_vs_gateway"] == 64.0
    assert row["p50_us_per_kb"] == 5.0  # (920 - 600) µs / 64 KB
    assert row["cpu_us_per_kb"] == 2.5  # (560 - 400) µs / 64 KB
    table = markdown_table(summarise(results), 32)
    assert (
        "gateway-64k vs gateway (+64.0 KB of body): +5.00 µs of p50 per KB, "
        "+2.50 µs of server CPU per KB" in table
    )


def test_no_slope_without_the_small_body_scenario():
    results = [run("gateway-64k", 1500, 920, 560, grows_from="gateway", body_bytes=65636)]
    row = summarise(results)["gateway-64k"]
    assert "p50_us_per_kb" not in row and "added_kb_vs_gateway" not in row


def test_peer_scenarios_follow_their_gateway_scenario():
    chosen = [s for s in scenarios("http://127.0.0.1:9/v1") if s.name != "gateway-config"]
    names = [s.name for s in with_peers(chosen, ["portkey", "litellm"])]
    assert names == [
        "direct",
        "gateway",
        "portkey",
        "litellm",
        "gateway-fallback",
        "gateway-stream",
        "portkey-stream",
        "litellm-stream",
        "gateway-64k",
        "portkey-64k",
        "litellm-64k",
    ]


def test_peer_scenarios_send_what_the_gateway_scenario_sends():
    upstream = "http://127.0.0.1:9/v1"
    by_name = {s.name: s for s in with_peers(scenarios(upstream), ["portkey", "litellm"])}
    # Portkey speaks the same headers: the same request, another server.
    assert by_name["portkey-64k"].headers == by_name["gateway-64k"].headers
    assert by_name["portkey-64k"].body == BIG_BODY
    assert by_name["portkey-64k"].grows_from == "portkey"
    assert by_name["portkey-stream"].pairs_with == "gateway-stream"
    # LiteLLM routes by model name; the stream goes to the model whose api_base streams.
    stream_model = json.loads(by_name["litellm-stream"].body)["model"]
    config = {m["model_name"]: m["litellm_params"] for m in litellm_config(upstream)["model_list"]}
    assert config[stream_model]["api_base"] == "http://127.0.0.1:9/stream/v1"
    assert json.loads(by_name["litellm-stream"].body)["stream"] is True
    assert by_name["litellm"].body == BODY
    assert "x-portkey-provider" not in by_name["litellm"].headers
