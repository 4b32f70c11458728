"""GET /v1/logs/{id} and /v1/analytics/graphs/{graph}: forwarded over NATS request/reply.
A tiny nats-py responder stands in for the logger and the analytics service, on a NATS
of this module's own so no real service answers in their place."""

import asyncio

import httpx
import msgspec
import nats
import pytest
from portcullis import rpc
from portcullis.subjects import RPC_ANALYTICS_QUERY, RPC_LOGS_GET
from portcullis_stack.pytest_fixtures import start_nats

KNOWN_ID = "01900000-0000-7000-8000-000000000001"


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory):
    handle = start_nats(tmp_path_factory.mktemp("rpc-nats"))
    yield handle
    handle.process.stop()


@pytest.fixture(scope="module")
def rpc_gateway(tmp_path_factory, own_nats, valkey_server, gateway_factory):
    gw = gateway_factory(
        tmp_path_factory.mktemp("rpc-gateway"), own_nats.url, valkey_server.url, rpc_timeout_s="0.5"
    )
    yield gw
    gw.process.stop()


@pytest.fixture
async def responders(own_nats):
    """Logger: knows one id. Analytics: echoes the query it got."""
    nc = await nats.connect(own_nats.url)

    async def logs(msg):
        query = rpc.decode_log_get(msg.data)
        if query.id == KNOWN_ID:
            body = msgspec.json.encode(
                {"id": query.id, "workspace": query.workspace, "status": 200}
            )
            reply = rpc.RpcReply(status=200, body=msgspec.Raw(body))
        else:
            reply = rpc.RpcReply(
                status=404,
                error=rpc.RpcError(message=f"log {query.id} not found", code="log_not_found"),
            )
        await msg.respond(rpc.encode(reply))

    async def analytics(msg):
        query = rpc.decode_analytics_query(msg.data)
        body = msgspec.json.encode(
            {"object": "analytics-graph", "echo": msgspec.to_builtins(query)}
        )
        await msg.respond(rpc.encode(rpc.RpcReply(status=200, body=msgspec.Raw(body))))

    subs = [
        await nc.subscribe(RPC_LOGS_GET, cb=logs),
        await nc.subscribe(RPC_ANALYTICS_QUERY, cb=analytics),
    ]
    await nc.flush()
    yield nc
    for sub in subs:
        await sub.unsubscribe()
    await nc.close()


async def get(url: str, **params) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url, params=params)


async def test_log_by_id_is_forwarded_to_the_logger(rpc_gateway, responders):
    response = await get(f"{rpc_gateway.v1}/logs/{KNOWN_ID}")
    assert response.status_code == 200
    assert response.json() == {"id": KNOWN_ID, "workspace": rpc_gateway.workspace, "status": 200}


async def test_unknown_log_is_404_openai_style(rpc_gateway, responders):
    response = await get(f"{rpc_gateway.v1}/logs/nope")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": "log nope not found",
            "type": "invalid_request_error",
            "param": None,
            "code": "log_not_found",
        }
    }


async def test_analytics_query_carries_times_graph_and_filters(rpc_gateway, responders):
    response = await get(
        f"{rpc_gateway.v1}/analytics/graphs/cost",
        time_of_generation_min="2026-01-01T00:00:00+05:30",
        time_of_generation_max="2026-01-02T00:00:00+05:30",
        metadata='{"env": "prod"}',
        ai_org_model="openai__gpt-4o-mini",
    )
    assert response.status_code == 200, response.text
    echo = response.json()["echo"]
    assert echo == {
        "graph": "cost",
        "workspace": rpc_gateway.workspace,
        "time_min": "2026-01-01T00:00:00+05:30",
        "time_max": "2026-01-02T00:00:00+05:30",
        "filters": {"metadata": '{"env": "prod"}', "ai_org_model": "openai__gpt-4o-mini"},
    }


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"time_of_generation_max": "2026-01-02"}, 400, "time_of_generation_min is required"),
        (
            {"time_of_generation_min": "yesterday", "time_of_generation_max": "2026-01-02"},
            400,
            "not an ISO 8601",
        ),
        (
            {"time_of_generation_min": "2026-01-03", "time_of_generation_max": "2026-01-02"},
            400,
            "after",
        ),
    ],
)
async def test_bad_time_parameters_are_400(rpc_gateway, responders, params, status, fragment):
    response = await get(f"{rpc_gateway.v1}/analytics/graphs/requests", **params)
    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]


async def test_unknown_graph_is_404(rpc_gateway, responders):
    response = await get(
        f"{rpc_gateway.v1}/analytics/graphs/feelings",
        time_of_generation_min="2026-01-01",
        time_of_generation_max="2026-01-02",
    )
    assert response.status_code == 404
    assert "requests, cost, tokens, latency" in response.json()["error"]["message"]


async def test_nested_rescued_graph_is_forwarded(rpc_gateway, responders):
    response = await get(
        f"{rpc_gateway.v1}/analytics/graphs/requests/rescued",
        time_of_generation_min="2026-01-01T00:00:00Z",
        time_of_generation_max="2026-01-02T00:00:00Z",
        ai_org="openai",
    )
    assert response.status_code == 200, response.text
    echo = response.json()["echo"]
    assert (echo["graph"], echo["filters"]) == ("requests/rescued", {"ai_org": "openai"})

    unknown = await get(
        f"{rpc_gateway.v1}/analytics/graphs/requests/feelings",
        time_of_generation_min="2026-01-01",
        time_of_generation_max="2026-01-02",
    )
    assert unknown.status_code == 404
    assert "requests/rescued" in unknown.json()["error"]["message"]


async def test_no_service_running_is_503(rpc_gateway):
    response = await get(f"{rpc_gateway.v1}/logs/{KNOWN_ID}")
    assert response.status_code == 503
    assert "no logger is running" in response.json()["error"]["message"]


async def test_a_service_that_does_not_answer_is_503_after_the_timeout(rpc_gateway, own_nats):
    nc = await nats.connect(own_nats.url)

    async def silent(msg):
        await asyncio.sleep(0)  # receives, never answers

    sub = await nc.subscribe(RPC_ANALYTICS_QUERY, cb=silent)
    await nc.flush()
    try:
        response = await get(
            f"{rpc_gateway.v1}/analytics/graphs/tokens",
            time_of_generation_min="2026-01-01",
            time_of_generation_max="2026-01-02",
        )
    finally:
        await sub.unsubscribe()
        await nc.close()
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert "did not answer within 0.5 s" in error["message"]
