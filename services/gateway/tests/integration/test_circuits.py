"""Circuit breakers: the Lua-scripted state in a real Valkey, and two gateway processes
sharing it — one opens a circuit, the other skips the target without calling it, and
once the cooldown is over exactly one call across both probes it."""

import asyncio
import json
import time
import uuid

import httpx
import pytest
import redis.asyncio as redis
from portcullis.events import decode_log
from portcullis_gateway.adapters.circuits import Circuits, redis_keys
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


async def breaker_on(url: str):
    client = redis.Redis.from_url(url)
    breaker = Circuits(client, refresh_s=0.05)
    breaker.start()
    yield breaker
    await breaker.close()
    await client.aclose()


@pytest.fixture
async def circuits(valkey_server):
    async for breaker in breaker_on(valkey_server.url):
        yield breaker


@pytest.fixture
async def other(valkey_server):
    """A second replica's breaker, on a client of its own."""
    async for breaker in breaker_on(valkey_server.url):
        yield breaker


async def recorded(circuits: Circuits) -> None:
    # Records run as background tasks; wait for them to land.
    await asyncio.wait_for(asyncio.gather(*circuits._tasks), timeout=5)


async def skips(circuits: Circuits, key: str) -> bool:
    return await circuits.admit(key) is None


async def half_open(client: redis.Redis, key: str) -> None:
    """Wait out the cooldown that Redis holds for ``key``."""
    until = int(await client.get(redis_keys(key)[1]))
    await asyncio.sleep(max(0.0, until / 1000 - time.time()) + 0.05)


async def test_threshold_opens_after_minimum_requests(circuits):
    key = uuid.uuid4().hex
    spec = CircuitSpec(failure_threshold=2, minimum_requests=3, cooldown_interval=60_000)
    circuits.record(key, spec, failed=True)
    circuits.record(key, spec, failed=True)
    await recorded(circuits)
    assert not await skips(circuits, key)  # two failures, but only two requests
    circuits.record(key, spec, failed=False)
    await recorded(circuits)
    assert not await skips(circuits, key)  # a success does not open it
    circuits.record(key, spec, failed=True)
    await recorded(circuits)
    assert await skips(circuits, key)


async def test_percentage_opens_and_the_half_open_probe_decides(circuits):
    key = uuid.uuid4().hex
    spec = CircuitSpec(failure_threshold_percentage=50, minimum_requests=4, cooldown_interval=1500)
    for failed in (False, True, False, True):
        circuits.record(key, spec, failed=failed)
        await recorded(circuits)
    assert await skips(circuits, key)
    await half_open(circuits.client, key)
    probe = await circuits.admit(key)
    assert probe  # the first call after the cooldown is the probe...
    assert await skips(circuits, key)  # ...and the only one while it runs
    circuits.record(key, spec, failed=True, ticket=probe)  # it fails: open again at once
    await recorded(circuits)
    assert await skips(circuits, key)
    await half_open(circuits.client, key)
    probe = await circuits.admit(key)
    assert probe
    circuits.record(key, spec, failed=False, ticket=probe)  # it succeeds: closed, counts reset
    await recorded(circuits)
    assert await circuits.admit(key) == ""
    circuits.record(key, spec, failed=True)
    await recorded(circuits)
    assert not await skips(circuits, key)


async def test_another_replica_sees_an_open_circuit(circuits, other):
    key = uuid.uuid4().hex
    spec = CircuitSpec(failure_threshold=1, minimum_requests=1, cooldown_interval=60_000)
    assert not await skips(other, key)  # seen (and cached) as closed
    circuits.record(key, spec, failed=True)
    await recorded(circuits)

    async def other_sees_it():
        return await skips(other, key)

    await wait_for(other_sees_it)  # the poller brings it in


async def test_half_open_admits_one_probe_across_replicas_until_its_claim_expires(circuits, other):
    key = uuid.uuid4().hex
    spec = CircuitSpec(failure_threshold=1, minimum_requests=1, cooldown_interval=1000)
    circuits.record(key, spec, failed=True)
    await recorded(circuits)
    assert await skips(other, key)
    await half_open(other.client, key)
    # A probe with a 0.5 s timeout holds its claim for 1.5 s; its replica then "dies"
    # (never records a result).
    tickets = await asyncio.gather(
        *(breaker.admit(key, 0.5) for breaker in (circuits, other) for _ in range(20))
    )
    assert len([t for t in tickets if t]) == 1 and tickets.count(None) == 39
    # A result that is not the probe's (a call begun before the opening) decides nothing.
    circuits.record(key, spec, failed=False)
    await recorded(circuits)
    assert await other.client.exists(redis_keys(key)[1])

    async def claimed_again():
        return bool(await other.admit(key))

    await wait_for(claimed_again)  # the dead probe's claim expired


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
        await wait_for(lambda: client.exists(redis_keys(key)[1]))
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
        await wait_for(lambda: client.exists(redis_keys(key)[1]))
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


async def post_all(gateways, config: dict, each: int) -> list[httpx.Response]:
    """``each`` requests through every gateway at once."""
    headers = {"authorization": "Bearer sk-x", "x-portkey-config": json.dumps(config)}
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.post(f"{gw.v1}/chat/completions", json=body, headers=headers)
                for gw in gateways
                for _ in range(each)
            )
        )
    assert all(r.status_code == 200 for r in responses)
    return list(responses)


def answered_by(responses: list[httpx.Response]) -> list[str]:
    return [r.headers["x-portkey-last-used-option-index"] for r in responses]


async def open_then_wait_half_open(gateways, mock, knobs: str, cooldown_ms: int):
    """A circuit opened by one failed call through the first gateway; returns the config,
    a counter of the calls its target received, the circuit key and its first
    open-until time, once that time has passed."""
    marker = uuid.uuid4().hex
    failing = f"{mock.url}/mock/{knobs},key={marker}/v1"
    api_key = f"sk-cb-{marker}"
    config = {
        "strategy": {
            "mode": "fallback",
            "cb_config": {
                "failure_threshold": 1,
                "minimum_requests": 1,
                "cooldown_interval": cooldown_ms,
            },
        },
        "targets": [
            {"custom_host": failing, "api_key": api_key},
            {"custom_host": mock.v1},
        ],
    }

    def calls() -> int:
        return sum(marker in r["path"] for r in mock.requests())

    assert answered_by(await post_all(gateways[:1], config, 1)) == ["config.targets[1]"]
    key = circuit_key("openai", failing, f"Bearer {api_key}")
    client = redis.Redis.from_url(gateways[0].process.env["PORTCULLIS_GATEWAY_REDIS_URL"])
    try:
        await wait_for(lambda: client.exists(redis_keys(key)[1]))
        first_until = int(await client.get(redis_keys(key)[1]))
        await half_open(client, key)
    finally:
        await client.aclose()
    assert calls() == 1
    return config, calls, key, first_until


async def test_after_the_cooldown_one_probe_across_gateways_closes_the_circuit(two_gateways, mock):
    # The target fails once (opening the circuit), then answers; each call takes 1.5 s,
    # so the whole burst arrives while the probe is still running.
    config, calls, key, _ = await open_then_wait_half_open(
        two_gateways, mock, "fail_times=1,latency_ms=1500", cooldown_ms=2000
    )
    answers = answered_by(await post_all(two_gateways, config, 10))
    assert calls() == 2  # one probe, however many requests and gateways
    assert answers.count("config.targets[0]") == 1
    assert answers.count("config.targets[1]") == 19
    client = redis.Redis.from_url(two_gateways[0].process.env["PORTCULLIS_GATEWAY_REDIS_URL"])
    try:
        assert not await client.exists(*redis_keys(key))  # closed, counts reset
    finally:
        await client.aclose()
    for gw in two_gateways:

        async def calls_the_target(gw=gw):
            return answered_by(await post_all([gw], config, 1)) == ["config.targets[0]"]

        await wait_for(calls_the_target, step_s=0.1)


async def test_a_failed_probe_reopens_the_circuit_on_every_gateway(two_gateways, mock):
    config, calls, key, first_until = await open_then_wait_half_open(
        two_gateways, mock, "status=500,latency_ms=1500", cooldown_ms=3000
    )
    answers = answered_by(await post_all(two_gateways, config, 10))
    assert calls() == 2
    assert answers == ["config.targets[1]"] * 20  # the probe failed and fell back too
    client = redis.Redis.from_url(two_gateways[0].process.env["PORTCULLIS_GATEWAY_REDIS_URL"])
    try:
        assert int(await client.get(redis_keys(key)[1])) > first_until  # a new cooldown
    finally:
        await client.aclose()
    await post_all(two_gateways, config, 5)
    assert calls() == 2  # reopened: neither gateway calls it during the new cooldown


async def test_retries_stop_once_the_failures_open_the_circuit(gateway, mock, events):
    failing = f"{mock.url}/mock/status=503,key={uuid.uuid4().hex}/v1"
    config = {
        "strategy": {
            "mode": "fallback",
            "cb_config": {"failure_threshold": 1, "minimum_requests": 1},
        },
        "targets": [
            # retry would call it 4 times; the first failure opens the circuit.
            {"custom_host": failing, "api_key": f"sk-{uuid.uuid4().hex}", "retry": {"attempts": 3}},
            {"custom_host": mock.v1},
        ],
    }
    mock.clear()
    async with httpx.AsyncClient(timeout=20) as http:
        response = await http.post(
            f"{gateway.v1}/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            headers={"x-portkey-config": json.dumps(config)},
        )
    assert response.status_code == 200
    assert response.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    calls = [r["path"] for r in mock.requests() if r["path"].startswith("/mock/")]
    assert len(calls) == 1  # no retry went to a target whose circuit had opened
    logged, _ = await events.log(gateway, response.headers["x-portkey-request-id"])
    assert [(a.path, a.status) for a in logged.attempts] == [
        ("config.targets[0]", 503),
        ("config.targets[1]", 200),
    ]
