"""`make up`: the whole platform on one machine, in the foreground, until Ctrl-C.

Checks every port first, starts NATS, Valkey, SeaweedFS, the mock provider, the
gateway, the logger and analytics under one supervisor, provisions streams and the log
bucket, waits until everything is healthy and prints where things are."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from portcullis_stack.banner import ready_box
from portcullis_stack.health import HealthCheck, infra_checks, service_checks, wait_healthy
from portcullis_stack.plan import DataPaths, build_plan, nats_url, port_claims, s3_endpoint
from portcullis_stack.ports import check_ports
from portcullis_stack.provision import provision_bucket, provision_streams
from portcullis_stack.s3_keys import S3Keys, keys_for
from portcullis_stack.settings import StackSettings
from portcullis_stack.supervisor import StopReason, Supervisor

# The gateway first, so its last events reach NATS; then the workers, so they ack what
# they hold; the infrastructure last.
STOP_PHASES = [["gateway", "mock"], ["logger", "analytics"], ["nats", "valkey", "seaweedfs"]]


def _unhealthy_message(pending: list[HealthCheck], timeout: float) -> str:
    names = "; ".join(f"{c.name} ({c.what})" for c in pending)
    return (
        f"not healthy after {timeout:.0f}s: {names}. Their output above says why; on a "
        "slow machine raise PORTCULLIS_READY_TIMEOUT_S. Stopping everything."
    )


def _provision(sup: Supervisor, s: StackSettings, keys: S3Keys, deadline: float) -> bool:
    """Streams and bucket, retried until the deadline (the filer behind S3 and
    JetStream may still be settling right after their health checks pass)."""
    steps = [
        ("JetStream streams", lambda: provision_streams(nats_url(s))),
        (
            f"S3 bucket {s.s3_bucket}",
            lambda: provision_bucket(s3_endpoint(s), keys, s.s3_bucket),
        ),
    ]
    for label, step in steps:
        while True:
            try:
                step()
                sup.say(f"{label}: ready")
                break
            except Exception as exc:  # noqa: BLE001 — any failure is retried, then reported
                if sup.stop_reason is not None:
                    return False
                if time.monotonic() >= deadline:
                    sup.fail(f"could not provision {label}: {exc}. Stopping everything.")
                    return False
                time.sleep(0.5)
    return True


def watch_readiness(sup: Supervisor, s: StackSettings, keys: S3Keys, data_dir: Path) -> None:
    """Infrastructure healthy → provision → services healthy → the ready box; or a
    clear failure naming what never became healthy. Runs on its own thread."""
    deadline = time.monotonic() + s.ready_timeout_s

    def all_healthy(checks: list[HealthCheck]) -> bool:
        pending = wait_healthy(
            checks,
            deadline,
            on_healthy=lambda check: sup.say(f"{check.name} is healthy"),
            should_stop=lambda: sup.stop_reason is not None,
        )
        if sup.stop_reason is not None:
            return False
        if pending:
            sup.fail(_unhealthy_message(pending, s.ready_timeout_s))
            return False
        return True

    if not all_healthy(infra_checks(s, keys)) or not _provision(sup, s, keys, deadline):
        return
    if all_healthy(service_checks(s)):
        sup.say(ready_box(s, data_dir), raw=True)


def run(s: StackSettings) -> int:
    data_dir = s.data_dir.resolve()
    problem = check_ports(port_claims(s), s.host)
    if problem:
        print(f"make up: cannot start, nothing was started.\n{problem}", file=sys.stderr)
        return 2
    paths = DataPaths.under(data_dir)
    for folder in paths.folders():
        folder.mkdir(parents=True, exist_ok=True)
    try:
        keys = keys_for(paths.s3_identities, s.s3_access_key, s.s3_secret_key)
    except ValueError as err:
        print(f"make up: cannot start, nothing was started.\n{err}", file=sys.stderr)
        return 2

    def on_started(sup: Supervisor) -> None:
        threading.Thread(
            target=watch_readiness, args=(sup, s, keys, data_dir), name="readiness", daemon=True
        ).start()

    sup = Supervisor(on_started, s.stop_timeout_s, STOP_PHASES)
    for spec in build_plan(s, paths, sys.executable, keys):
        sup.add_process(spec.name, spec.shell_command(), env={**os.environ, **spec.env})
    sup.loop()
    code = sup.exit_code()
    if sup.stop_reason is StopReason.CHILD_EXITED:
        print(
            f"make up: {sup.first_exited} exited on its own, so everything was stopped "
            "(its last lines above say why).",
            file=sys.stderr,
        )
    elif sup.stop_reason is StopReason.REQUESTED:
        print("make up: stopped; data kept in " + str(data_dir))
    return code


def main() -> int:
    return run(StackSettings())


if __name__ == "__main__":
    sys.exit(main())
