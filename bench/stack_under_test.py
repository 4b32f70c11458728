"""The platform the benchmark measures, with logging on: NATS, Valkey, SeaweedFS, the
logger and analytics on the load core, the gateway alone on its own core. Built from
the same plan, environments and health checks as `make up`."""

from __future__ import annotations

import json
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from portcullis_stack.health import infra_checks, service_checks
from portcullis_stack.plan import DataPaths, ProcessSpec, build_plan, nats_url, s3_endpoint
from portcullis_stack.ports import settings_on_free_ports
from portcullis_stack.provision import provision_bucket, provision_streams
from portcullis_stack.s3_keys import keys_for
from portcullis_stack.servers import ManagedProcess
from portcullis_stack.settings import StackSettings

INFRA = ("nats", "valkey", "seaweedfs")
WORKERS = ("logger", "analytics")


@dataclass
class BenchStack:
    settings: StackSettings
    processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.gateway_port}"

    @property
    def gateway_pid(self) -> int | None:
        for proc in self.processes:
            if proc.name == "gateway" and proc.proc is not None:
                return proc.proc.pid
        return None

    def pause_workers(self) -> None:
        for proc in self.processes:
            if proc.name in WORKERS:
                proc.stop(timeout=25)

    def resume_workers(self) -> None:
        for proc in self.processes:
            if proc.name in WORKERS:
                proc.start(120)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop(timeout=25)

    def jetstream_counts(self) -> dict[str, dict[str, int]]:
        """Messages per stream and what each durable consumer still has to do: the
        proof that logging was on and kept up."""
        url = (
            f"http://{self.settings.host}:{self.settings.nats_monitor_port}"
            "/jsz?streams=true&consumers=true"
        )
        with urllib.request.urlopen(url, timeout=5) as resp:
            jsz = json.load(resp)
        counts: dict[str, dict[str, int]] = {}
        for account in jsz.get("account_details", []):
            for stream in account.get("stream_detail", []):
                entry = {"messages": stream["state"]["messages"]}
                for consumer in stream.get("consumer_detail", []) or []:
                    entry[f"{consumer['name']}_pending"] = consumer.get("num_pending", 0)
                    entry[f"{consumer['name']}_ack_pending"] = consumer.get("num_ack_pending", 0)
                counts[stream["name"]] = entry
        return counts


def _pinned(spec: ProcessSpec, cpu: int, check, logs: Path) -> ManagedProcess:
    return ManagedProcess(
        name=spec.name,
        argv=["taskset", "-c", str(cpu), *spec.argv],
        ready=check,
        log_path=logs / f"{spec.name}.log",
        env={**spec.env, "PYTHONUNBUFFERED": "1"},
    )


def start_stack(workdir: Path, gateway_cpu: int, other_cpu: int) -> BenchStack:
    s = settings_on_free_ports(data_dir=workdir / "data")
    paths = DataPaths.under(s.data_dir)
    for folder in paths.folders():
        folder.mkdir(parents=True, exist_ok=True)
    keys = keys_for(paths.s3_identities, s.s3_access_key, s.s3_secret_key)
    specs = {spec.name: spec for spec in build_plan(s, paths, sys.executable, keys)}
    checks = {c.name: c.check for c in [*infra_checks(s, keys), *service_checks(s)]}
    logs = workdir / "logs"
    stack = BenchStack(s)

    def start(name: str, cpu: int, timeout: float) -> None:
        proc = _pinned(specs[name], cpu, checks[name], logs)
        stack.processes.append(proc)  # before start: a child that never gets ready is stopped too
        proc.start(timeout)

    try:
        for name in INFRA:
            start(name, other_cpu, 90)
        provision_streams(nats_url(s))
        provision_bucket(s3_endpoint(s), keys, s.s3_bucket)
        for name in WORKERS:
            start(name, other_cpu, 120)
        start("gateway", gateway_cpu, 60)
    except BaseException:
        stack.stop()
        raise
    return stack
