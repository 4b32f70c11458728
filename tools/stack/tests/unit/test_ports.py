import socket

import pytest
from portcullis_stack.plan import PortClaim, port_claims
from portcullis_stack.ports import (
    check_ports,
    conflict_report,
    duplicate_claims,
    port_is_free,
    taken_claims,
)
from portcullis_stack.servers import free_port
from portcullis_stack.settings import StackSettings


@pytest.fixture
def occupied_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


def test_a_listening_port_is_not_free(occupied_port):
    assert not port_is_free(occupied_port)


def test_a_port_nobody_uses_is_free():
    assert port_is_free(free_port())


def test_a_port_bound_on_every_address_is_not_free_on_loopback():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("0.0.0.0", 0))
    sock.listen()
    try:
        assert not port_is_free(sock.getsockname()[1])
    finally:
        sock.close()


def test_taken_claims_uses_the_probe():
    claims = [PortClaim(1, "a", "A"), PortClaim(2, "b", "B")]
    assert taken_claims(claims, lambda port: port != 2) == [claims[1]]


def test_report_names_the_port_its_owner_and_the_setting():
    report = conflict_report([PortClaim(8787, "gateway HTTP", "PORTCULLIS_GATEWAY_PORT")], [])
    assert "8787" in report
    assert "gateway HTTP" in report
    assert "PORTCULLIS_GATEWAY_PORT=<port>" in report


def test_the_same_port_given_twice_is_reported():
    s = StackSettings(gateway_port=9999, mock_port=9999)
    groups = duplicate_claims(port_claims(s))
    assert len(groups) == 1
    assert {c.setting for c in groups[0]} == {"PORTCULLIS_GATEWAY_PORT", "PORTCULLIS_MOCK_PORT"}
    assert "9999 is given to more than one process" in conflict_report([], groups)


def test_check_ports_finds_the_occupied_gateway_port(occupied_port):
    s = StackSettings(gateway_port=occupied_port)
    ours = [c for c in port_claims(s) if c.port == occupied_port]
    report = check_ports(ours)
    assert report is not None
    assert f"port {occupied_port} is already in use" in report
    assert "gateway HTTP" in report and "PORTCULLIS_GATEWAY_PORT" in report


def test_check_ports_passes_when_all_are_free():
    claims = [PortClaim(free_port(), "x", "X")]
    assert check_ports(claims) is None
