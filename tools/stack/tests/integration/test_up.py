"""`make up` for real: the runner as a subprocess on free ports with its data in a tmp
folder. It must get every process healthy, serve a first request through the gateway
to the mock provider (and log it), then stop everything on SIGTERM and exit 0."""

import os
import socket
import stat
import sys
import time
import urllib.error
import urllib.request

import openai
from minio import Minio
from portcullis_stack.banner import READY_LINE
from portcullis_stack.managed import lost_a_port
from portcullis_stack.plan import port_claims
from portcullis_stack.ports import check_ports, settings_on_free_ports
from portcullis_stack.s3_keys import read_identities
from portcullis_stack.settings import PORT_FIELDS
from portcullis_stack.watched import Watched, pid_alive, started_pids

EVERY_PROCESS = {"nats", "valkey", "seaweedfs", "mock", "gateway", "logger", "analytics"}


def _runner_env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTCULLIS_")}
    env.update({f"PORTCULLIS_{name.upper()}": str(getattr(settings, name)) for name in PORT_FIELDS})
    env["PORTCULLIS_DATA_DIR"] = str(settings.data_dir)
    env["PORTCULLIS_READY_TIMEOUT_S"] = "150"
    return env


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def _wait_for_log(gateway: str, request_id: str, timeout: float) -> tuple[int, str]:
    """The logger writes asynchronously; poll the log-by-id read until it is there."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = _get(f"{gateway}/v1/logs/{request_id}")
        if status == 200 or time.monotonic() >= deadline:
            return status, body
        time.sleep(0.5)


def _up_until_ready(spawn, tmp_path, attempts: int = 3):
    """`make up` on free ports, run again on a new draw when it stopped because one was
    taken meanwhile (by its pre-flight check, or a child's failed bind)."""
    for attempt in range(attempts):
        s = settings_on_free_ports(data_dir=tmp_path / f"data-{attempt}")
        run: Watched = spawn(
            [sys.executable, "-m", "portcullis_stack.up"], _runner_env(s), cwd=tmp_path
        )
        try:
            run.wait_for(READY_LINE, timeout=170)
            return s, run
        except AssertionError:
            if run.proc.poll() is None or not lost_a_port(run.output) or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def test_up_serves_a_first_request_and_stops_everything_on_sigterm(spawn, tmp_path):
    s, run = _up_until_ready(spawn, tmp_path)
    pids = started_pids(run.lines)
    assert set(pids) == EVERY_PROCESS

    gateway = f"http://127.0.0.1:{s.gateway_port}"
    client = openai.OpenAI(
        base_url=f"{gateway}/v1",
        api_key="anything",
        default_headers={
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": f"http://127.0.0.1:{s.mock_port}/v1",
        },
        max_retries=0,
        timeout=20,
    )
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "first request"}]
    )
    completion = raw.parse()
    assert "first request" in completion.choices[0].message.content
    request_id = raw.headers["x-portkey-request-id"]

    # The whole event path as `make up` wired it: gateway -> NATS -> logger -> S3.
    status, body = _wait_for_log(gateway, request_id, timeout=60)
    assert status == 200, body
    assert request_id in body

    # The store has keys, kept owner-only in the data dir; the logger wrote with them,
    # and nobody without them reads the log or lists the bucket.
    identities = s.data_dir / "s3-identities.json"
    assert stat.S_IMODE(identities.stat().st_mode) == 0o600
    keys = read_identities(identities)
    secret = keys.secret_key.get_secret_value()
    store = Minio(f"127.0.0.1:{s.s3_port}", keys.access_key, secret, secure=False)
    stored = [o.object_name for o in store.list_objects(s.s3_bucket, "logs/", recursive=True)]
    assert [key for key in stored if request_id in key], stored
    for path in (f"/{s.s3_bucket}/{stored[0]}", f"/{s.s3_bucket}?list-type=2"):
        status, body = _get(f"http://127.0.0.1:{s.s3_port}{path}")
        assert status == 403 and "AccessDenied" in body, path
    assert str(identities) in run.output  # the banner says where the keys are...
    assert secret not in run.output  # ...and never what they are
    assert run.stop(timeout=90) == 0
    assert not [name for name, pid in pids.items() if pid_alive(pid)]
    assert check_ports(port_claims(s)) is None, "a port is still held after the stop"
    data = s.data_dir
    for kept in ("nats/jetstream", "valkey", "seaweedfs", "chdb"):
        assert (data / kept).exists(), kept


def test_up_starts_nothing_when_a_port_is_taken(spawn, tmp_path):
    s = settings_on_free_ports(data_dir=tmp_path / "data")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", s.gateway_port))
        squatter.listen()
        run = spawn([sys.executable, "-m", "portcullis_stack.up"], _runner_env(s), cwd=tmp_path)
        code = run.proc.wait(60)
    run.stop(timeout=10)
    assert code == 2
    assert f"port {s.gateway_port} is already in use" in run.output
    assert "gateway HTTP" in run.output and "PORTCULLIS_GATEWAY_PORT=<port>" in run.output
    assert "started (pid=" not in run.output
    assert not s.data_dir.exists()
