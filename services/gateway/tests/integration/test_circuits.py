"""Circuit breakers: the Lua-scripted state in a real Valkey, and two gateway processes
sharing it — one opens a circuit, the other skips the target without calling it, and
both call it again once the cooldown is over."""

import asyncio
import json
import uuid

import httpx
import pytest
import redis.asyncio as redis
from portcullis.events import decode_log
from portcullis_gateway.adapters.circuits import Circuits
from portcullis_gateway.routing.circuit import circuit_key
from portcullis_gateway.routing.config import CircuitSpec


async def wait_for(check, timeout_s: float = 8.0, step_s: float = 0.05):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(step_s)


@pytest.fixture
async def circuits(valkey_server):
    client = redis.Redis.from_url(valkey_server.url)
    breaker = Circuits(client, refresh_s=0.05)
    breaker.start()
    yield breaker
    await breaker.close()
    await client.aclose()


async def recorded(circuits: Circuits) -> None:
    # Records run as background tasks; wait for them to land.
    await asyncio.wait_for(asyncio.gather(*circuits._tasks), timeout=5)


async def test_threshold_opens_after_minimum_requests(circuits):
    key = uuid.uuid4().hex
    spec = CircuitSpec(failure_threshold=2, minimum_requests=3, cooldown_interval=60_000)
    circuits.record(key, spec, failed=True)
    circuits.record(key, spec, failed=True)
    await recorded(circuits)
    assert not await circuits.is_open(key)  # two failures, but only two requests
    circuits.record(key, spec, failed=False)
    await recorded(circuits)
    assert not await circuits.is_open(key)  # a success does not open it
    circuits.record(key, spec, failed=True)
    await recorded(circuits)
    assert await circuits.is_open(key)


async def test_percentage_opens_and_the_half_open_probe_decides(circuits):
    key = uuid.uuid4().hex
    spec = CircuitSpec(failure_threshold_percentage=50, minimum_requests=4, cooldown_interval=1500)
    for failed in (False, True, False, True):
        circuits.record(key, spec, failed=failed)
        await recorded(circuits)
    assert await circuits.is_open(key)

    async def closed():
        return not await circuits.is_open(key)

    await wait_for(closed)
    circuits.record(key, spec, failed=True)  # the probe fails: open again at once
    await recorded(circuits)
    assert await circuits.is_open(key)
    await wait_for(closed)
    circuits.record(key, spec, failed=False)  # the probe succeeds: closed, counts reset
    # Records are concurrent tasks on pooled connections: land the probe first.
    await recorded(circuits)
    circuits.record(key, spec, failed=True)
    await recorded(circuits)
    assert not await circuits.is_open(key)


async def test_another_replica_sees_an_open_circuit(circuits, valkey_server):
    key = uuid.uuid4().hex
    spec = CircuitSpec(failure_threshold=1, minimum_requests=1, cooldown_interval=60_000)
    client = redis.Redis.from_url(valkey_server.url)
    other = Circuits(client, refresh_s=0.05)
    other.start()
    try:
        assert not await other.is_open(key)  # seen (and cached) as closed
        circuits.record(key, spec, failed=True)
        await recorded(circuits)

        async def other_sees_it():
            return await other.is_open(key)

        await wait_for(other_sees_it)  # the poller brings it in
    finally:
        await other.close()
        await client.aclose()


@pytest.fixture(scope="module")
def two_gateways(tmp_path_factory, nats_server, valkey_server, gateway_factory):
    gateways = [
        gateway_factory(
            tmp_path_factory.mktemp(f"cb-gateway-{i}"),
            nats_server.url,
            valkey_server.url,
            circuit_refresh_s="0.1",
        )
        for i in range(2)
    ]
    yield gateways
    for gw in gateways:
        gw.process.stop()


async def test_circuit_opens_on_one_gateway_and_is_skipped_on_the_other(two_gateways, mock, events):
    first, second = two_gateways
    api_key = f"sk-cb-{uuid.uuid4().hex}"
    failing = f"{mock.url}/mock/status=500/v1"
    config = {
        "strategy": {
            "mode": "fallback",
            "cb_config": {
                "failure_threshold": 2,
                "minimum_requests": 2,
                "cooldown_interval": 4000,
            },
        },
        "targets": [
            {"custom_host": failing, "api_key": api_key},
            {"custom_host": mock.v1},
        ],
    }

    def post(gw):
        response = httpx.post(
            f"{gw.v1}/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            headers={"authorization": "Bearer sk-x", "x-portkey-config": json.dumps(config)},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
        return response.headers["x-portkey-request-id"]

    async def first_attempt(gw):
        logged, _ = await events.log(gw, post(gw))
        return logged.attempts[0]

    for _ in range(2):
        assert (await first_attempt(first)).status == 500
    client = redis.Redis.from_url(first.process.env["PORTCULLIS_GATEWAY_REDIS_URL"])
    key = circuit_key("openai", failing, f"Bearer {api_key}")
    try:
        await wait_for(lambda: client.exists(f"pk:cb:{{{key}}}:open"))
    finally:
        await client.aclose()

    skipped = await first_attempt(second)
    assert skipped.skipped == "circuit_open" and skipped.status == 0

    async def called_again():
        attempt = await first_attempt(second)
        return attempt.skipped is None and attempt.status == 500

    await wait_for(called_again, timeout_s=20, step_s=0.3)  # the cooldown ended: probed

    async def skipped_on_first():
        return (await first_attempt(first)).skipped == "circuit_open"

    await wait_for(skipped_on_first, timeout_s=10, step_s=0.1)  # the failed probe reopened it


async def test_loadbalance_picks_again_when_the_chosen_circuit_is_open(gateway, mock, events):
    api_key = f"sk-cb-{uuid.uuid4().hex}"
    failing = f"{mock.url}/mock/status=503/v1"
    config = {
        "strategy": {
            "mode": "loadbalance",
            "cb_config": {"failure_threshold": 1, "minimum_requests": 1},
        },
        "targets": [
            {"custom_host": failing, "api_key": api_key},
            {"custom_host": mock.v1},
        ],
    }

    def post():
        return httpx.post(
            f"{gateway.v1}/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            headers={"authorization": "Bearer sk-x", "x-portkey-config": json.dumps(config)},
            timeout=10,
        )

    # Load balancing does not fall back: the first pick of the failing target is a 503
    # (and opens its circuit).
    statuses = []
    for _ in range(40):
        statuses.append(post().status_code)
        if statuses[-1] == 503:
            break
    assert statuses[-1] == 503
    client = redis.Redis.from_url(gateway.process.env["PORTCULLIS_GATEWAY_REDIS_URL"])
    key = circuit_key("openai", failing, f"Bearer {api_key}")
    try:
        await wait_for(lambda: client.exists(f"pk:cb:{{{key}}}:open"))
    finally:
        await client.aclose()
    answers = [post() for _ in range(20)]
    assert all(r.status_code == 200 for r in answers)
    ids = [r.headers["x-portkey-request-id"] for r in answers]
    messages = await events.read(gateway.nats_url, gateway.workspace, ids)
    logs = [decode_log(messages[i].data) for i in ids]
    assert all(a.status != 503 for log in logs for a in log.attempts)  # never called again
    # Half of the picks land on the open circuit (1 in a million to miss it 20 times).
    assert any(a.skipped == "circuit_open" for log in logs for a in log.attempts)
