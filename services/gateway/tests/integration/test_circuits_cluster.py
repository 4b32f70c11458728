"""Circuit breakers on a Valkey Cluster of three masters: the scripts run (each one's
keys share a slot), the poller reads circuits spread over every node, and a half-open
circuit admits one probe across two replicas."""

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from portcullis_gateway.adapters.circuits import Circuits, redis_keys
from portcullis_gateway.routing.config import CircuitSpec
from portcullis_stack.servers import Launch, ManagedProcess, tcp_ready, valkey_argv
from redis.asyncio.cluster import RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

MASTERS = 3


def start_cluster(base: Path) -> list[ManagedProcess]:
    """Three empty masters, each given a third of the slots, then introduced to each
    other; ready once every node sees all slots served (a few seconds of gossip)."""
    nodes: list[ManagedProcess] = []
    try:
        return _form_cluster(base, nodes)
    except BaseException:
        for node in nodes:  # a cluster that never formed leaves no server behind
            node.stop()
        raise


def _form_cluster(base: Path, nodes: list[ManagedProcess]) -> list[ManagedProcess]:
    for i in range(MASTERS):
        data = base / f"node-{i}"
        data.mkdir(parents=True)

        def layout(drawn: tuple[int, ...], data: Path = data) -> Launch:
            # The bus port is drawn too: a free port above 55535 has no default (+10000).
            port, bus_port = drawn
            argv = valkey_argv(port, data) + [
                "--cluster-enabled", "yes",
                "--cluster-port", str(bus_port),
                "--cluster-config-file", str(data / "nodes.conf"),
                "--appendonly", "no",
            ]  # fmt: skip
            return Launch(argv, tcp_ready(port))

        node = ManagedProcess.on_free_ports(
            f"valkey-cluster-{i}", 2, layout, base / f"valkey-{i}.log"
        )
        nodes.append(node)  # before start: one that never gets ready is stopped too
        node.start()
    ports = [node.ports[0] for node in nodes]
    bus_ports = [node.ports[1] for node in nodes]
    clients = [redis.Redis(port=port) for port in ports]
    try:
        share = REDIS_CLUSTER_HASH_SLOTS // MASTERS
        for i, client in enumerate(clients):
            last = REDIS_CLUSTER_HASH_SLOTS - 1 if i == MASTERS - 1 else (i + 1) * share - 1
            client.execute_command("CLUSTER ADDSLOTSRANGE", i * share, last)
        for client in clients[1:]:
            client.execute_command("CLUSTER MEET", "127.0.0.1", ports[0], bus_ports[0])
        deadline = time.monotonic() + 20
        while not all(
            client.execute_command("CLUSTER INFO")["cluster_state"] == "ok" for client in clients
        ):
            assert time.monotonic() < deadline, "the cluster never reached cluster_state:ok"
            time.sleep(0.05)
    finally:
        for client in clients:
            client.close()
    return nodes


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[list[int]]:
    nodes = start_cluster(tmp_path_factory.mktemp("valkey-cluster"))
    yield [int(node.argv[node.argv.index("--port") + 1]) for node in nodes]
    for node in nodes:
        node.stop()


@pytest.fixture
async def replicas(cluster):
    """Two gateway replicas' breakers, each with its own cluster client."""
    clients = [RedisCluster(host="127.0.0.1", port=port) for port in cluster[:2]]
    for client in clients:
        # As a gateway would at start: redis-py 8.1's async cluster client, left to
        # discover the cluster on its first commands, fails one of many concurrent ones.
        await client.initialize()
    breakers = [Circuits(client, refresh_s=0.05) for client in clients]
    for breaker in breakers:
        breaker.start()
    yield breakers
    for breaker, client in zip(breakers, clients, strict=True):
        await breaker.close()
        await client.aclose()


async def recorded(circuits: Circuits) -> None:
    await asyncio.wait_for(asyncio.gather(*circuits._tasks), timeout=5)


async def wait_for(check, timeout_s: float = 8.0, step_s: float = 0.05):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(step_s)


def keys_on_every_node(count_per_node: int) -> list[str]:
    """Circuit keys whose slots fall in each master's third of the slot space."""
    share = REDIS_CLUSTER_HASH_SLOTS // MASTERS
    wanted = dict.fromkeys(range(MASTERS), count_per_node)
    keys = []
    while any(wanted.values()):
        key = uuid.uuid4().hex
        node = min(key_slot(redis_keys(key)[0].encode()) // share, MASTERS - 1)
        if wanted[node]:
            wanted[node] -= 1
            keys.append(key)
    return keys


async def test_circuits_on_every_node_open_and_reach_the_other_replica(replicas):
    first, second = replicas
    spec = CircuitSpec(failure_threshold=1, minimum_requests=1, cooldown_interval=60_000)
    keys = keys_on_every_node(2)
    closed = uuid.uuid4().hex
    for key in [*keys, closed]:
        assert await second.admit(key) == ""  # seen, and cached, as closed
    for key in keys:
        first.record(key, spec, failed=True)
    await recorded(first)
    assert all([await first.admit(key) is None for key in keys])

    async def second_sees_them():
        # Cached as closed, they are only seen open once the poller's read, which spans
        # every node (a plain MGET would be refused), brings them in.
        return all([await second.admit(key) is None for key in keys])

    await wait_for(second_sees_them)
    assert await second.admit(closed) == ""


async def test_half_open_admits_one_probe_across_replicas_on_a_cluster(replicas):
    first, second = replicas
    spec = CircuitSpec(failure_threshold=1, minimum_requests=1, cooldown_interval=1000)
    key = uuid.uuid4().hex
    first.record(key, spec, failed=True)
    await recorded(first)
    until = int(await first.client.get(redis_keys(key)[1]))
    await asyncio.sleep(max(0.0, until / 1000 - time.time()) + 0.05)
    tickets = await asyncio.gather(*(breaker.admit(key) for breaker in replicas for _ in range(20)))
    probes = [t for t in tickets if t]
    assert len(probes) == 1 and tickets.count(None) == 39
    prober = replicas[tickets.index(probes[0]) // 20]
    prober.record(key, spec, failed=False, ticket=probes[0])
    await recorded(prober)
    assert not await first.client.exists(*redis_keys(key))

    async def second_calls_it_again():
        return await second.admit(key) == ""

    await wait_for(second_calls_it_again)


@pytest.fixture(scope="module")
def cluster_gateway(cluster, tmp_path_factory, nats_server, gateway_factory):
    """A gateway process whose Redis is the cluster (reached through one node)."""
    gw = gateway_factory(
        tmp_path_factory.mktemp("cluster-gateway"),
        nats_server.url,
        f"redis://127.0.0.1:{cluster[0]}",
        redis_cluster="true",
        circuit_refresh_s="0.1",
    )
    yield gw
    gw.process.stop()


async def test_a_gateway_on_the_cluster_opens_and_skips_a_circuit(cluster, cluster_gateway, mock):
    failing = f"{mock.url}/mock/status=503,key={uuid.uuid4().hex}/v1"
    config = {
        "strategy": {
            "mode": "fallback",
            "cb_config": {"failure_threshold": 1, "minimum_requests": 1},
        },
        "targets": [
            {"custom_host": failing, "api_key": f"sk-{uuid.uuid4().hex}"},
            {"custom_host": mock.v1},
        ],
    }
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-portkey-config": json.dumps(config)}
    async with httpx.AsyncClient(timeout=10) as http:
        health = (await http.get(f"{cluster_gateway.v1}/health")).json()
        assert health["redis"]["connected"] is True
        first = await http.post(
            f"{cluster_gateway.v1}/chat/completions", json=body, headers=headers
        )
        assert first.status_code == 200  # fell back after the 503, which opened the circuit
        client = RedisCluster(host="127.0.0.1", port=cluster[1])
        await client.initialize()
        try:

            async def opened():
                return bool(await client.keys("pk:cb:*:open"))

            await wait_for(opened)
        finally:
            await client.aclose()
        mock.clear()
        second = await http.post(
            f"{cluster_gateway.v1}/chat/completions", json=body, headers=headers
        )
    assert second.status_code == 200
    # The open circuit, stored in the cluster, is skipped without a call.
    assert [r["path"] for r in mock.requests()] == ["/v1/chat/completions"]
