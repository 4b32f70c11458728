"""Other gateways measured side by side with ours (`--peers portkey,litellm`): Portkey's
Node gateway and the LiteLLM proxy, each installed once into a cache folder outside the
repo, started by the benchmark against the same nginx, pinned to the gateway's core,
and sent the same requests as the gateway scenario they are paired with.

Only `make bench ... --peers` installs or starts them; `make test` never does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from portcullis_stack.servers import ManagedProcess, free_port, http_ready, tcp_ready
from scenarios import API_KEY, Scenario, stream_v1

# Pinned, so a later run measures the same peer; a new version is a new cache folder
# (Portkey) or a reinstall into the same venv (LiteLLM).
PORTKEY_VERSION = "1.15.2"
LITELLM_VERSION = "1.108.7"
PEERS = ("portkey", "litellm")
# The gateway scenarios each peer can serve as they are. Portkey speaks the same
# headers as ours; LiteLLM has no per-request provider headers, so it gets the plain
# chat completion, the 64 KiB prompt and the stream (routed by model name).
APPLIES = {
    "portkey": ("gateway", "gateway-stream", "gateway-64k"),
    "litellm": ("gateway", "gateway-stream", "gateway-64k"),
}
INSTALL_TIMEOUT_S = 900
# Node listens on every interface when given no host: this preload makes the listen
# call Portkey's server makes (a port, no host) bind to loopback only.
LOOPBACK_PRELOAD = Path(__file__).resolve().parent / "node_loopback.cjs"
# Portkey 1.15.2 on Node answers every stream with a 500 (see the file for why); this
# preload works around it for streamed responses only.
STREAM_HEADERS_PRELOAD = Path(__file__).resolve().parent / "node_portkey_headers.cjs"
REPO = Path(__file__).resolve().parents[1]


def cache_root() -> Path:
    return Path(os.environ.get("PORTCULLIS_BENCH_CACHE", Path.home() / ".cache/portcullis-bench"))


@dataclass
class Peer:
    name: str
    version: str
    port: int
    process: ManagedProcess

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.proc.pid if self.process.proc is not None else None


def peer_scenario(peer: str, gateway: Scenario) -> Scenario | None:
    """The peer's version of one gateway scenario, or None where it does not apply."""
    if gateway.name not in APPLIES[peer]:
        return None
    suffix = gateway.name.removeprefix("gateway")
    name = peer + suffix
    grows_from = peer if gateway.grows_from else None
    if peer == "portkey":
        # Same headers and body: Portcullis speaks Portkey's wire contract.
        return replace(
            gateway,
            name=name,
            via_gateway=False,
            peer=peer,
            pairs_with=gateway.name,
            grows_from=grows_from,
            description=gateway.description.replace("gateway", "portkey", 1),
        )
    body = json.loads(gateway.body)
    if gateway.stream:
        body["model"] = LITELLM_STREAM_MODEL
    return replace(
        gateway,
        name=name,
        via_gateway=False,
        headers={"Content-Type": "application/json", "Authorization": API_KEY},
        body=json.dumps(body, separators=(",", ":")),
        peer=peer,
        pairs_with=gateway.name,
        grows_from=grows_from,
        description=gateway.description.replace("gateway", "litellm", 1),
    )


def with_peers(chosen: list[Scenario], peers: list[str]) -> list[Scenario]:
    """Each peer scenario right after the gateway scenario it pairs with, so within a
    round (and in the reversed rounds) the two are measured seconds apart."""
    out: list[Scenario] = []
    for scenario in chosen:
        out.append(scenario)
        for peer in peers:
            derived = peer_scenario(peer, scenario)
            if derived is not None:
                out.append(derived)
    return out


def _run(argv: list[str], what: str) -> None:
    print(f"bench: installing {what} (once; cached in {cache_root()})", flush=True)
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: installing {what} failed:\n{done.stdout}\n{done.stderr}")


# --- Portkey's gateway (Node) --------------------------------------------------------


def portkey_entry(cache: Path) -> Path:
    return cache / "node_modules/@portkey-ai/gateway/build/start-server.js"


def install_portkey() -> Path:
    cache = cache_root() / f"portkey-{PORTKEY_VERSION}"
    entry = portkey_entry(cache)
    if entry.exists():
        return entry
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("bench: --peers portkey needs node and npm on PATH")
    cache.mkdir(parents=True, exist_ok=True)
    _run(
        [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund",
         f"@portkey-ai/gateway@{PORTKEY_VERSION}"],
        f"@portkey-ai/gateway@{PORTKEY_VERSION}",
    )  # fmt: skip
    if not entry.exists():
        raise SystemExit(f"bench: the Portkey package has no {entry}")
    return entry


def portkey_process(entry: Path, port: int, cpu: int, logs: Path) -> ManagedProcess:
    return ManagedProcess(
        name="portkey",
        # --headless: no UI and no console-clearing spinner in the log.
        argv=[
            "taskset",
            "-c",
            str(cpu),
            "node",
            "--require",
            str(LOOPBACK_PRELOAD),
            "--require",
            str(STREAM_HEADERS_PRELOAD),
            str(entry),
            f"--port={port}",
            "--headless",
        ],
        ready=tcp_ready(port),
        log_path=logs / "portkey.log",
        env={"NODE_ENV": "production"},
    )


# --- LiteLLM proxy (Python) ----------------------------------------------------------

LITELLM_STREAM_MODEL = "gpt-4o-mini-stream"
# Its own telemetry, the remote model-price map it fetches at start (no network here),
# and its extras (spend logs, UI, docs) off: only the proxying is measured.
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
    "DISABLE_ADMIN_UI": "True",
    "NO_DOCS": "True",
    "NO_REDOC": "True",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "true",
}


def _installed_version(python: Path, package: str) -> str | None:
    if not python.exists():
        return None
    done = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else None


def install_litellm() -> Path:
    venv = cache_root() / "litellm"
    python = venv / "bin/python"
    if _installed_version(python, "litellm") == LITELLM_VERSION:
        return venv / "bin/litellm"
    uv = REPO / ".tools/bin/uv"
    if not uv.exists():
        raise SystemExit("bench: .tools/bin/uv is missing; run `make sync` first")
    if not python.exists():
        # The interpreter the bench runs on: the peer runs on the same Python.
        _run([str(uv), "venv", "--python", os.path.realpath(sys.executable), str(venv)],
             "a venv for LiteLLM")  # fmt: skip
    _run(
        [str(uv), "pip", "install", "--python", str(python), f"litellm[proxy]=={LITELLM_VERSION}"],
        f"litellm[proxy]=={LITELLM_VERSION}",
    )
    return venv / "bin/litellm"


def litellm_config(upstream_v1: str) -> dict:
    """YAML is a superset of JSON, so this is written as JSON."""

    def entry(model_name: str, api_base: str) -> dict:
        return {
            "model_name": model_name,
            "litellm_params": {
                "model": "openai/gpt-4o-mini",
                "api_base": api_base,
                "api_key": "sk-bench-not-a-secret",
            },
        }

    return {
        "model_list": [
            entry("gpt-4o-mini", upstream_v1),
            entry(LITELLM_STREAM_MODEL, stream_v1(upstream_v1)),
        ],
        "litellm_settings": {
            "telemetry": False,
            "turn_off_message_logging": True,
            "request_timeout": 30,
            "num_retries": 0,
        },
        "general_settings": {
            "disable_spend_logs": True,
            "disable_error_logs": True,
            # No master key, so no per-request key check: neither our gateway nor
            # Portkey's authenticates the caller in these scenarios (the key goes to the
            # provider), and the proxy listens on 127.0.0.1 only for the run.
            "dangerously_permit_weak_or_unset_master_key": True,
        },
    }


def litellm_process(
    binary: Path, upstream_v1: str, port: int, cpu: int, workdir: Path
) -> ManagedProcess:
    config = workdir / "litellm-config.yaml"
    config.write_text(json.dumps(litellm_config(upstream_v1), indent=2) + "\n")
    return ManagedProcess(
        name="litellm",
        argv=[
            "taskset",
            "-c",
            str(cpu),
            str(binary),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            "1",
        ],
        ready=http_ready(f"http://127.0.0.1:{port}/health/liveliness"),
        log_path=workdir / "logs" / "litellm.log",
        env=LITELLM_ENV,
    )


# --- both ------------------------------------------------------------------------------


def install(names: list[str]) -> dict[str, Path]:
    installers = {"portkey": install_portkey, "litellm": install_litellm}
    return {name: installers[name]() for name in names}


def start_peers(
    names: list[str], installed: dict[str, Path], upstream_v1: str, cpu: int, workdir: Path
) -> list[Peer]:
    """Start every peer (bounded waits); on a failure the ones already up are stopped."""
    peers: list[Peer] = []
    try:
        for name in names:
            port = free_port()
            if name == "portkey":
                proc = portkey_process(installed[name], port, cpu, workdir / "logs")
                version = PORTKEY_VERSION
            else:
                proc = litellm_process(installed[name], upstream_v1, port, cpu, workdir)
                version = LITELLM_VERSION
            peers.append(Peer(name, version, port, proc))
            print(f"bench: starting {name} {version} on 127.0.0.1:{port}", flush=True)
            proc.start(120)
    except BaseException:
        stop_peers(peers)
        raise
    return peers


def stop_peers(peers: list[Peer]) -> None:
    for peer in reversed(peers):
        peer.process.stop(timeout=15)
