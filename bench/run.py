"""`make bench`: the gateway pinned to one core against a fast nginx upstream, side by
side with calling nginx directly, logging on (NATS, logger, analytics running), and
with --peers, side by side with Portkey's Node gateway and the LiteLLM proxy on the
same core. Prints requests/s at N connections and p50/p99 at one connection per
scenario (time to first byte too for streams), the ratios to the direct upstream and
to the peers, and writes everything to bench/results/<timestamp>.json.

Run from the repo root: `make bench` or `uv run python bench/run.py --help`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import peers as peer_mod
import streamclient
from cpu import tree_cpu_s
from loadgen import WrkResult, lua_script, run_wrk
from portcullis_stack.servers import free_port
from report import ScenarioResult, markdown_table, summarise
from scenarios import Scenario, scenarios
from stack_under_test import BenchStack, start_stack
from upstream import STREAM_CHUNKS, nginx_process

BENCH_DIR = Path(__file__).resolve().parent
TOOLS = {"nginx": "nginx", "wrk": "wrk", "taskset": "util-linux"}  # binary -> Debian package


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured point")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per scenario")
    p.add_argument("--connections", type=int, default=32, help="connections for req/s")
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--scenarios", default="", help="comma list (default: all)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every scenario this many times, interleaved (every other round in\n"
        "reverse order); the report gives medians, and per-round ratios to `gateway`",
    )
    p.add_argument(
        "--throughput-only",
        action="store_true",
        help="skip the 1-connection latency point (faster rounds)",
    )
    p.add_argument(
        "--pause-workers",
        action="store_true",
        help="stop the logger and analytics while measuring, so the gateway's own cost is\n"
        "not mixed with their drain on the shared core; events wait in JetStream and\n"
        "are drained after the run (the JetStream counts show it)",
    )
    p.add_argument(
        "--peers",
        default="",
        help="comma list of other gateways to measure side by side: portkey, litellm\n"
        f"(installed once into {peer_mod.cache_root()}; default none)",
    )
    p.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    p.add_argument("--no-install", action="store_true", help="never apt-get missing tools")
    p.add_argument("--keep-workdir", action="store_true", help="keep configs and logs")
    args = p.parse_args(argv)
    args.peers = [name for name in args.peers.split(",") if name]
    unknown = sorted(set(args.peers) - set(peer_mod.PEERS))
    if unknown:
        p.error(f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(peer_mod.PEERS)}")
    return args


def find_tool(name: str) -> str | None:
    # nginx lives in /usr/sbin, which is not on every user's PATH.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def ensure_tools(install: bool) -> dict[str, str]:
    missing = [name for name in TOOLS if find_tool(name) is None]
    if missing and install:
        if os.geteuid() != 0:
            sys.exit(f"bench: missing {', '.join(missing)}; install them (apt-get) or run as root")
        packages = sorted({TOOLS[name] for name in missing})
        print(f"bench: installing {' '.join(packages)} with apt-get", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
            check=True,
            env=env,
            timeout=900,
        )
    found = {name: find_tool(name) for name in TOOLS}
    still = [name for name, path in found.items() if path is None]
    if still:
        sys.exit(f"bench: missing {', '.join(still)}")
    return {name: str(path) for name, path in found.items()}


def pick_cores() -> tuple[int, int]:
    """The gateway gets the first core to itself; everything else shares the second."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        print("bench: only one core available; gateway and load share it", flush=True)
        return cores[0], cores[0]
    return cores[0], cores[1]


def sanity_check(url: str, scenario: Scenario) -> None:
    """One request before measuring: a fast error page must never pass for speed."""
    if scenario.stream:
        # Checks the status, the event count and the closing [DONE].
        one = streamclient.run(url, scenario.headers, scenario.body.encode(), STREAM_CHUNKS, 10, 1)
        if one.errors:
            raise SystemExit(f"bench: {url} did not stream as expected (see above)")
        return
    req = urllib.request.Request(
        url, data=scenario.body.encode(), headers=scenario.headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            payload = json.load(resp)
    except urllib.error.HTTPError as err:
        raise SystemExit(f"bench: {url} answered {err.code}: {err.read()[:500]!r}") from err
    if not payload.get("choices"):
        raise SystemExit(f"bench: {url} answered without choices: {payload!r}")


def stream_point(
    url: str, scenario: Scenario, seconds: float, cpu: int
) -> streamclient.StreamResult:
    """Sequential streams at one connection, the client pinned to the load core like wrk."""
    argv = ["taskset", "-c", str(cpu), sys.executable, str(BENCH_DIR / "streamclient.py"),
            "--url", url, "--body", scenario.body, "--events", str(STREAM_CHUNKS),
            "--seconds", f"{seconds:g}"]  # fmt: skip
    for name, value in scenario.headers.items():
        argv += ["--header", f"{name}: {value}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in done.stdout.splitlines():
        if line.startswith(streamclient.RESULT_MARK):
            fields = json.loads(line[len(streamclient.RESULT_MARK) :])
            fields.pop("rps", None)
            return streamclient.StreamResult(**fields)
    raise RuntimeError(f"streamclient failed ({done.returncode}): {done.stderr or done.stdout}")


def measure(
    scenario: Scenario, url: str, args: argparse.Namespace, tools: dict[str, str], cpu: int,
    workdir: Path, server_pid: int | None = None,
) -> ScenarioResult:  # fmt: skip
    """``server_pid``: the process tree whose CPU is counted (our gateway or a peer)."""
    sanity_check(url, scenario)
    script = workdir / f"{scenario.name}.lua"
    script.write_text(lua_script(scenario.body, scenario.headers))
    extra = {
        "pairs_with": scenario.pairs_with,
        "grows_from": scenario.grows_from,
        "body_bytes": len(scenario.body.encode()),
    }

    def point(connections: int, seconds: float) -> WrkResult:
        return run_wrk(
            tools["wrk"], url, script, connections, seconds, cpu, threads=args.wrk_threads
        )

    print(f"bench: {scenario.name}: warm-up {args.warmup:g}s", flush=True)
    point(args.connections, args.warmup)
    watched = server_pid
    cpu_before = tree_cpu_s(watched) if watched else 0.0
    throughput = point(args.connections, args.duration)
    server_cpu_us = None
    if watched and throughput.requests:
        server_cpu_us = (tree_cpu_s(watched) - cpu_before) * 1e6 / throughput.requests
    print(
        f"bench: {scenario.name}: {throughput.rps:,.0f} req/s at c={args.connections}"
        + (f", server CPU {server_cpu_us:.0f} µs/req" if server_cpu_us else ""),
        flush=True,
    )
    if args.throughput_only:
        return ScenarioResult(
            scenario.name, scenario.description, throughput, None, server_cpu_us, **extra
        )
    if scenario.stream:
        stream = stream_point(url, scenario, args.duration, cpu)
        print(
            f"bench: {scenario.name}: TTFB p50 {stream.ttfb_p50_us / 1000:.3f} ms, "
            f"total p50 {stream.total_p50_us / 1000:.3f} ms, "
            f"p99 {stream.total_p99_us / 1000:.3f} ms at c=1 ({stream.requests} streams)",
            flush=True,
        )
        return ScenarioResult(
            scenario.name, scenario.description, throughput, None, server_cpu_us,
            stream=stream, **extra,
        )  # fmt: skip
    latency = point(1, args.duration)
    print(
        f"bench: {scenario.name}: p50 {latency.lat_p50_us / 1000:.3f} ms, "
        f"p99 {latency.lat_p99_us / 1000:.3f} ms at c=1",
        flush=True,
    )
    return ScenarioResult(
        scenario.name, scenario.description, throughput, latency, server_cpu_us, **extra
    )


def wait_for_workers(stack: BenchStack, timeout: float = 60.0) -> dict:
    """Let the logger and analytics drain what the run published (bounded), then report
    the stream counts: evidence that logging was on during the measurement."""
    start = time.monotonic()
    while True:
        counts = stack.jetstream_counts()
        pending = sum(v for entry in counts.values() for k, v in entry.items() if "pending" in k)
        waited = time.monotonic() - start
        if pending == 0 or waited >= timeout:
            counts["drained"] = {"after_s": round(waited, 1), "still_pending": pending}
            return counts
        time.sleep(1)


def machine_info() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": os.getloadavg(),
        "git_rev": rev,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tools = ensure_tools(install=not args.no_install)
    gateway_cpu, other_cpu = pick_cores()
    workdir = Path(tempfile.mkdtemp(prefix="portcullis-bench-"))
    # mkdtemp makes it 0700; nginx's workers (user nobody when run as root) must traverse
    # it to read the stream file (upstream.py). 0711 lets them in without listing it.
    workdir.chmod(0o711)
    nginx_port = free_port()
    upstream_v1 = f"http://127.0.0.1:{nginx_port}/v1"
    chosen = scenarios(upstream_v1)
    if args.scenarios:
        wanted = set(args.scenarios.split(","))
        chosen = [s for s in chosen if s.name in wanted]
    chosen = peer_mod.with_peers(chosen, args.peers)
    # Installed before anything starts: a first run's npm / pip install (minutes) must
    # not sit between the stack's start and its measurement.
    installed = peer_mod.install(sorted({s.peer for s in chosen if s.peer}))
    started = dt.datetime.now(dt.UTC)
    info = machine_info()
    nginx = nginx_process(tools["nginx"], nginx_port, workdir / "nginx", other_cpu)
    stack: BenchStack | None = None
    running_peers: list[peer_mod.Peer] = []
    results: list[ScenarioResult] = []
    jetstream: dict = {}
    try:
        nginx.start(20)
        if any(s.via_gateway for s in chosen):
            print("bench: starting NATS, Valkey, SeaweedFS, logger, analytics, gateway", flush=True)
            stack = start_stack(workdir, gateway_cpu, other_cpu)
        # Peers get the gateway's core, as the gateway does; idle while not measured.
        wanted_peers = [name for name in args.peers if name in installed]
        running_peers = peer_mod.start_peers(
            wanted_peers, installed, upstream_v1, gateway_cpu, workdir
        )
        by_peer = {peer.name: peer for peer in running_peers}
        if stack is not None and args.pause_workers:
            stack.pause_workers()
        for round_no in range(args.rounds):
            if args.rounds > 1:
                print(f"bench: round {round_no + 1} of {args.rounds}", flush=True)
            # ABBA order: drift over the run (a backlog, a warming cache) falls on both.
            for scenario in chosen if round_no % 2 == 0 else chosen[::-1]:
                if scenario.peer:
                    server = by_peer[scenario.peer]
                    base, pid = server.url + "/v1", server.pid
                elif scenario.via_gateway and stack:
                    base, pid = stack.gateway_url + "/v1", stack.gateway_pid
                else:
                    base, pid = upstream_v1, None
                url = base + "/chat/completions"
                results.append(measure(scenario, url, args, tools, other_cpu, workdir, pid))
        if stack is not None:
            if args.pause_workers:
                stack.resume_workers()
            jetstream = wait_for_workers(stack, timeout=180 if args.pause_workers else 60)
    finally:
        peer_mod.stop_peers(running_peers)
        if stack is not None:
            stack.stop()
        nginx.stop()
        if args.keep_workdir:
            print(f"bench: configs and logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    summary = summarise(results)
    report = {
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": info,
        "pinning": {"gateway_cpu": gateway_cpu, "everything_else_cpu": other_cpu},
        "peers": {p.name: {"version": p.version} for p in running_peers},
        "config": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "rounds": args.rounds,
            "throughput_only": args.throughput_only,
            "workers_paused": args.pause_workers,
            "wrk_threads": args.wrk_threads,
        },
        "scenarios": [
            {
                "name": r.name,
                "description": r.description,
                "throughput": r.throughput.to_json(),
                "latency_c1": r.latency.to_json() if r.latency else None,
                "stream_c1": r.stream.to_json() if r.stream else None,
                "server_cpu_us_per_req": r.server_cpu_us,
                "pairs_with": r.pairs_with,
                "body_bytes": r.body_bytes,
            }
            for r in results
        ],
        "summary": summary,
        "jetstream_after_run": jetstream,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")

    print()
    print(markdown_table(summary, args.connections))
    print()
    on_gateway_cpu = ", ".join(["gateway", *(p.name for p in running_peers)])
    print(
        f"{on_gateway_cpu} on cpu {gateway_cpu}; nginx, wrk, NATS, logger, analytics on cpu {other_cpu}"
    )
    if jetstream:
        print(f"JetStream after the run: {json.dumps(jetstream)}")
    print(f"results: {out}")
    bad = [r.name for r in results if summary[r.name]["errors"]]
    if bad:
        print(f"bench: errors during {', '.join(bad)}: the numbers above are not valid")
        return 1
    return 0


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # A SIGTERM (from `timeout`, say) must unwind through main's finally, which stops
    # nginx, the platform and the peers; by default it would leave them all running.
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    sys.exit(main())
