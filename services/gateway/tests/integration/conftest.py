"""The gateway and the mock provider as real processes on free ports, against the real
NATS and Valkey of the session fixtures; helpers to read the events from JetStream."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import openai
import pytest
from nats.js.errors import NotFoundError
from portcullis.events import decode_log, decode_metric
from portcullis.subjects import LOGS_STREAM, METRICS_STREAM, logs_subject, metrics_subject
from portcullis_stack.servers import ManagedProcess, mock_process, service_process


@dataclass
class Mock:
    url: str
    process: ManagedProcess

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def requests(self) -> list[dict]:
        return httpx.get(f"{self.url}/mock/requests").json()["data"]

    def clear(self) -> None:
        httpx.delete(f"{self.url}/mock/requests")


@dataclass
class Gateway:
    url: str
    process: ManagedProcess
    workspace: str
    nats_url: str
    spool_dir: Path

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def client(self, mock: Mock | None = None, api_key: str = "sk-test-key", **headers: str):
        default = {"x-portkey-custom-host": mock.v1} if mock else {}
        default.update(headers)
        return openai.OpenAI(
            base_url=self.v1, api_key=api_key, default_headers=default, max_retries=0
        )

    def async_client(self, mock: Mock | None = None, api_key: str = "sk-test-key", **headers):
        default = {"x-portkey-custom-host": mock.v1} if mock else {}
        default.update(headers)
        return openai.AsyncOpenAI(
            base_url=self.v1, api_key=api_key, default_headers=default, max_retries=0
        )


def start_gateway(
    base: Path, nats_url: str, redis_url: str, ready_timeout: float = 30, **env: str
) -> Gateway:
    workspace = f"t{uuid.uuid4().hex[:10]}"
    spool_dir = base / "spool"
    full_env = {
        "PORTCULLIS_GATEWAY_HOST": "127.0.0.1",
        "PORTCULLIS_GATEWAY_NATS_URL": nats_url,
        "PORTCULLIS_GATEWAY_REDIS_URL": redis_url,
        "PORTCULLIS_GATEWAY_SPOOL_DIR": str(spool_dir),
        "PORTCULLIS_GATEWAY_WORKSPACE": workspace,
        "PORTCULLIS_GATEWAY_ALLOW_PRIVATE_CUSTOM_HOSTS": "true",
        **{f"PORTCULLIS_GATEWAY_{k.upper()}": v for k, v in env.items()},
    }
    process = service_process(
        "gateway",
        "portcullis_gateway",
        "PORTCULLIS_GATEWAY_PORT",
        "/v1/health",
        base / "gateway.log",
        full_env,
    ).start(timeout=ready_timeout)
    return Gateway(f"http://127.0.0.1:{process.port}", process, workspace, nats_url, spool_dir)


@pytest.fixture(scope="session")
def gateway_factory():
    """``start_gateway`` for modules that need a gateway of their own."""
    return start_gateway


@pytest.fixture(scope="session")
def mock(tmp_path_factory) -> Iterator[Mock]:
    process = mock_process(tmp_path_factory.mktemp("mock") / "mock.log").start()
    yield Mock(f"http://127.0.0.1:{process.port}", process)
    process.stop()


def serve_gateway(tmp_path_factory, nats_server, valkey_server, name: str, **env: str):
    """A module's gateway: started on the session's NATS and Valkey, stopped after."""
    gw = start_gateway(tmp_path_factory.mktemp(name), nats_server.url, valkey_server.url, **env)
    yield gw
    gw.process.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, nats_server, valkey_server) -> Iterator[Gateway]:
    """A gateway that may call private hosts (the mock), with a small body limit."""
    yield from serve_gateway(
        tmp_path_factory, nats_server, valkey_server, "gateway", max_body_bytes="65536"
    )


@pytest.fixture(scope="module")
def strict_gateway(tmp_path_factory, nats_server, valkey_server) -> Iterator[Gateway]:
    """A gateway with the default custom-host policy: no private or local hosts."""
    yield from serve_gateway(
        tmp_path_factory,
        nats_server,
        valkey_server,
        "strict-gateway",
        allow_private_custom_hosts="false",
    )


@pytest.fixture(scope="module")
def bounded_gateway(tmp_path_factory, nats_server, valkey_server) -> Iterator[Gateway]:
    """A gateway whose upstream attempt budget is small enough to count by hand."""
    yield from serve_gateway(
        tmp_path_factory, nats_server, valkey_server, "bounded-gateway", max_upstream_attempts="4"
    )


async def read_events(
    nats_url: str, workspace: str, ids: list[str], family: str = "logs", wait_s: float = 15
) -> dict[str, nats.aio.msg.Msg]:
    """The JetStream messages whose Nats-Msg-Id is in ``ids``; fails if any is missing.
    Reads the workspace's whole subject (an ordered consumer from the start)."""
    subject = logs_subject(workspace) if family == "logs" else metrics_subject(workspace)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:  # the gateway creates the streams once it reaches NATS
            try:
                sub = await js.subscribe(subject, ordered_consumer=True)
                break
            except NotFoundError:
                assert loop.time() < deadline, f"no stream holds {subject}"
                await asyncio.sleep(0.2)
        found: dict[str, nats.aio.msg.Msg] = {}
        while set(ids) - set(found):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                msg = await sub.next_msg(timeout=min(remaining, 1.0))
            except nats.errors.TimeoutError:
                continue
            found.setdefault(msg.headers["Nats-Msg-Id"], msg)
        await sub.unsubscribe()
    finally:
        await nc.close()
    missing = set(ids) - set(found)
    assert not missing, f"events never arrived for {missing}"
    return {i: found[i] for i in ids}


async def count_ids(nats_url: str, workspace: str, family: str = "logs") -> Counter:
    """How many messages each Nats-Msg-Id has on the workspace's subject, all of them."""
    subject = logs_subject(workspace) if family == "logs" else metrics_subject(workspace)
    stream = LOGS_STREAM if family == "logs" else METRICS_STREAM
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream, subjects_filter=subject)
        total = (info.state.subjects or {}).get(subject, 0)
        counts: Counter = Counter()
        if total:
            sub = await js.subscribe(subject, ordered_consumer=True)
            for _ in range(total):
                msg = await sub.next_msg(timeout=5)
                counts[msg.headers["Nats-Msg-Id"]] += 1
            await sub.unsubscribe()
        return counts
    finally:
        await nc.close()


class Events:
    """Read what the gateway published (as a fixture: test modules cannot import here)."""

    read = staticmethod(read_events)
    count_ids = staticmethod(count_ids)

    async def log(self, gw: Gateway, request_id: str):
        msg = (await read_events(gw.nats_url, gw.workspace, [request_id]))[request_id]
        return decode_log(msg.data), msg

    async def metric(self, gw: Gateway, request_id: str):
        msgs = await read_events(gw.nats_url, gw.workspace, [request_id], family="metrics")
        return decode_metric(msgs[request_id].data), msgs[request_id]


@pytest.fixture
def events() -> Events:
    return Events()


PORTKEY_RESPONSE_HEADERS = (
    "x-portkey-request-id",
    "x-portkey-trace-id",
    "x-portkey-provider",
    "x-portkey-retry-attempt-count",
    "x-portkey-cache-status",
    "x-portkey-last-used-option-index",
)


@pytest.fixture
def portkey_headers():
    """Check the x-portkey-* response headers; returns the request id."""
    return check_portkey_headers


def check_portkey_headers(headers, provider: str = "openai") -> str:
    for name in PORTKEY_RESPONSE_HEADERS:
        assert name in headers, f"{name} missing"
    assert headers["x-portkey-provider"] == provider
    assert headers["x-portkey-retry-attempt-count"] == "0"
    assert headers["x-portkey-cache-status"] == "DISABLED"
    assert headers["x-portkey-last-used-option-index"] == "config"
    request_id = headers["x-portkey-request-id"]
    assert uuid.UUID(request_id).version == 7
    return request_id
