"""Fixtures for analytics integration tests: the store on real chDB through each adapter
(chDB directly, and clickhouse-connect driving chDB in-process), and the real
`python -m portcullis_analytics` process against a fresh NATS."""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import nats
import pytest
from portcullis import rpc
from portcullis.clickhouse import ChdbSession, ClickHouseConnectSession
from portcullis.events import RequestMetered, encode
from portcullis.ids import new_request_id
from portcullis.natsio import ensure_streams
from portcullis.subjects import RPC_ANALYTICS_QUERY, metrics_subject
from portcullis_analytics.adapters.store import AnalyticsStore
from portcullis_stack.probing import scrape, wait_for
from portcullis_stack.servers import ManagedProcess, service_process


def chdb_session(path: str):
    return ChdbSession(path)


def clickhouse_connect_session(path: str):
    # clickhouse-connect's own chDB transport: the adapter's calls (command, query with
    # server-side parameters, raw_insert) run for real; only HTTP is not exercised.
    import clickhouse_connect

    return ClickHouseConnectSession(clickhouse_connect.get_client(interface="chdb", path=path))


@pytest.fixture(params=["chdb", "clickhouse-connect"])
async def open_store(request, tmp_path: Path) -> AsyncIterator[Callable[[], AnalyticsStore]]:
    """A factory of stores on one chDB data directory, through the parametrised adapter.
    chDB allows one engine per process: every store is closed before the next test."""
    factory = chdb_session if request.param == "chdb" else clickhouse_connect_session
    path = str(tmp_path / "chdb")
    opened: list[AnalyticsStore] = []

    def make() -> AnalyticsStore:
        store = AnalyticsStore(lambda: factory(path), "portcullis", 1, request.param)
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


def metered(workspace: str, created_at_ms: int, **overrides) -> RequestMetered:
    fields = dict(
        id=new_request_id(),
        workspace=workspace,
        organisation_id="org",
        trace_id="trace",
        created_at_ms=created_at_ms,
        method="POST",
        path="/v1/chat/completions",
        provider="openai",
        model="gpt-4o-mini",
        status=200,
        is_success=True,
        prompt_tokens=1,
        completion_tokens=1,
        total_tokens=2,
        cost=None,
        latency_ms=100.0,
    )
    fields.update(overrides)
    return RequestMetered(**fields)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, ClickHouse's
    quantileExactInclusive)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


async def query_graph(
    nc, graph: str, workspace: str, time_min: str, time_max: str, **filters
) -> rpc.RpcReply:
    request = rpc.AnalyticsQuery(
        graph=graph, workspace=workspace, time_min=time_min, time_max=time_max, filters=filters
    )
    reply = await nc.request(RPC_ANALYTICS_QUERY, rpc.encode(request), timeout=10)
    return rpc.decode_reply(reply.data)


async def publish(
    js,
    event: RequestMetered | bytes,
    workspace: str,
    msg_id: str | None = None,
    header: str | None = None,
) -> None:
    data = event if isinstance(event, bytes) else encode(event)
    headers = {
        "Nats-Msg-Id": msg_id or (uuid.uuid4().hex if isinstance(event, bytes) else event.id)
    }
    if header:
        headers["traceparent"] = header
    await js.publish(metrics_subject(workspace), data, headers=headers)


class Kit:
    """Helpers handed to tests as a fixture (test modules cannot import the conftest
    under pytest's importlib mode)."""

    metered = staticmethod(metered)
    percentile = staticmethod(percentile)
    wait_for = staticmethod(wait_for)
    scrape = staticmethod(scrape)
    query_graph = staticmethod(query_graph)
    publish = staticmethod(publish)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


class AnalyticsProcess:
    def __init__(self, proc: ManagedProcess) -> None:
        self.proc = proc

    @property
    def port(self) -> int:
        return self.proc.port

    def metric(self, name: str) -> float:
        return scrape(self.port).get(name, 0.0)

    def log_text(self) -> str:
        return self.proc.log_path.read_text(errors="replace")


@pytest.fixture
def start_analytics(tmp_path: Path, fresh_nats) -> Iterator[Callable[..., AnalyticsProcess]]:
    started: list[ManagedProcess] = []
    chdb_path = tmp_path / "chdb"

    def start(**env: str) -> AnalyticsProcess:
        environment = {
            "PORTCULLIS_ANALYTICS_NATS_URL": fresh_nats.url,
            "PORTCULLIS_ANALYTICS_CHDB_PATH": str(chdb_path),
        }
        environment.update({f"PORTCULLIS_ANALYTICS_{k.upper()}": v for k, v in env.items()})
        proc = service_process(
            f"analytics-{len(started)}",
            "portcullis_analytics",
            "PORTCULLIS_ANALYTICS_HTTP_PORT",
            "/health",
            tmp_path / f"analytics-{len(started)}.log",
            environment,
        )
        started.append(proc)
        proc.start(timeout=60)
        return AnalyticsProcess(proc)

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
async def nats_client(fresh_nats):
    nc = await nats.connect(fresh_nats.url)
    await ensure_streams(nc.jetstream())
    yield nc
    await nc.close()
