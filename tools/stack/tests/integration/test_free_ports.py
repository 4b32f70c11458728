"""Servers on free ports still come up when the port they were drawn is taken before
they bind it. The race is staged, not waited for: the picker hands out a port this test
already holds first, then really free ones."""

from __future__ import annotations

import asyncio
import http.server
import socket
import threading
from collections.abc import Callable, Iterator

import nats
import pytest
import redis
from minio import Minio
from portcullis_stack.managed import Launch, ManagedProcess, PortTaken, listening_ports
from portcullis_stack.ports import port_is_free
from portcullis_stack.servers import (
    S3Keys,
    free_port,
    grpc_port,
    mock_process,
    nats_process,
    seaweed_ports,
    seaweed_process,
    tcp_ready,
    valkey_process,
)


def held_port(port: int = 0) -> socket.socket:
    """A port taken the way another process would take it: bound and listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def picker(*first: int) -> Callable[[], int]:
    """``first`` in order, then free ports."""
    queue = list(first)
    return lambda: queue.pop(0) if queue else free_port()


@pytest.fixture
def squatter() -> Iterator[socket.socket]:
    sock = held_port()
    yield sock
    sock.close()


@pytest.fixture
def impostor() -> Iterator[int]:
    """Someone else's HTTP server on a port, answering 200 to anything: it passes any
    readiness check that only asks whether the port answers."""

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_valkey_drawn_a_taken_port_comes_up_on_another(tmp_path, squatter):
    taken = squatter.getsockname()[1]
    # The squatter accepts connections, so the TCP readiness check alone would pass.
    assert tcp_ready(taken)()
    proc = valkey_process(tmp_path / "valkey")
    proc.pick = picker(taken)
    proc.start()
    try:
        assert proc.port != taken
        assert redis.Redis(port=proc.port).ping()
        assert f"127.0.0.1:{taken}: bind: Address already in use" in proc.log_path.read_text()
        assert proc.port in listening_ports(proc.proc.pid)
        # Its port is its address now: a restart keeps it.
        first = proc.port
        proc.restart()
        assert proc.port == first and redis.Redis(port=first).ping()
    finally:
        proc.stop()


def test_nats_whose_monitor_port_answers_for_someone_else_comes_up_on_its_own(tmp_path, impostor):
    proc = nats_process(tmp_path / "nats")
    # Client port free, monitoring port (the one the readiness check asks) taken by a
    # server that answers that check.
    proc.pick = picker(free_port(), impostor)
    proc.start()
    try:
        port, monitor_port = proc.ports
        assert monitor_port != impostor
        assert {port, monitor_port} <= listening_ports(proc.proc.pid)

        async def jetstream_answers() -> int:
            nc = await nats.connect(f"nats://127.0.0.1:{port}")
            try:
                info = await nc.jetstream().account_info()
                return info.limits.max_streams
            finally:
                await nc.close()

        assert asyncio.run(jetstream_answers()) != 0
        assert "address already in use" in proc.log_path.read_text()
    finally:
        proc.stop()


def _port_whose_grpc_neighbour_is_held() -> tuple[int, socket.socket]:
    """A free HTTP port whose gRPC port (SeaweedFS opens it beside, unasked) is held."""
    for _ in range(50):
        sock = held_port()
        neighbour = sock.getsockname()[1] - 10000
        if neighbour > 1024 and grpc_port(neighbour) == sock.getsockname()[1]:
            if port_is_free(neighbour):
                return neighbour, sock
        sock.close()
    raise AssertionError("no free port with a holdable gRPC neighbour")


def test_seaweedfs_that_loses_a_grpc_port_comes_up_on_fresh_ports(tmp_path):
    s3_port, sock = _port_whose_grpc_neighbour_is_held()
    keys = S3Keys.generate()
    proc = seaweed_process(tmp_path / "s3" / "data", keys)
    proc.pick = picker(s3_port)
    try:
        proc.start(timeout=60)
        assert seaweed_ports(proc).s3 != s3_port
        client = Minio(
            f"127.0.0.1:{seaweed_ports(proc).s3}",
            keys.access_key,
            keys.secret_key.get_secret_value(),
            secure=False,
        )
        assert client.list_buckets() == []
        assert "address already in use" in proc.log_path.read_text()
    finally:
        proc.stop()
        sock.close()


def test_our_own_service_drawn_a_taken_port_comes_up_on_another(tmp_path, impostor):
    proc = mock_process(tmp_path / "mock.log")
    proc.pick = picker(impostor)
    proc.start()
    try:
        assert proc.port != impostor
        assert proc.port in listening_ports(proc.proc.pid)
    finally:
        proc.stop()


def test_a_machine_that_keeps_taking_the_port_is_a_clear_failure(tmp_path, squatter):
    taken = squatter.getsockname()[1]
    proc = valkey_process(tmp_path / "valkey")
    proc.pick = lambda: taken
    proc.attempts = 3
    with pytest.raises(PortTaken, match="valkey exited"):
        proc.start()
    assert not proc.running
    assert proc.log_path.read_text().count("Address already in use") == 3


def test_an_exit_for_another_reason_is_not_retried(tmp_path):
    drawn: list[tuple[int, ...]] = []

    def layout(ports: tuple[int, ...]) -> Launch:
        drawn.append(ports)
        return Launch(["sh", "-c", "echo 'no such config'; exit 3"], lambda: False)

    proc = ManagedProcess.on_free_ports("broken", 1, layout, tmp_path / "broken.log")
    with pytest.raises(RuntimeError, match="broken exited with 3") as raised:
        proc.start()
    assert not isinstance(raised.value, PortTaken)
    assert len(drawn) == 1
