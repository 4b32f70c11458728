"""The pre-flight port check: refuse to start anything when a port the platform needs is
taken, and say which one, whose it was meant to be, and which setting moves it."""

from __future__ import annotations

import errno
import socket
from collections import defaultdict
from collections.abc import Callable, Iterable

from portcullis_stack.plan import PortClaim, port_claims
from portcullis_stack.servers import free_port
from portcullis_stack.settings import PORT_FIELDS, StackSettings


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a server could bind ``host:port`` now.

    SO_REUSEADDR makes a port that only lingers in TIME_WAIT (from the last `make up`)
    count as free, as it is for the servers, which all set it too; on Linux the bind
    still fails while anything listens there, on ``host`` or on every address."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def duplicate_claims(claims: Iterable[PortClaim]) -> list[list[PortClaim]]:
    """Groups of claims that name the same port (two settings set to one value)."""
    by_port: dict[int, list[PortClaim]] = defaultdict(list)
    for claim in claims:
        by_port[claim.port].append(claim)
    return [group for group in by_port.values() if len(group) > 1]


def taken_claims(
    claims: Iterable[PortClaim], is_free: Callable[[int], bool] = port_is_free
) -> list[PortClaim]:
    return [claim for claim in claims if not is_free(claim.port)]


def conflict_report(taken: list[PortClaim], duplicates: list[list[PortClaim]]) -> str:
    """A message a person can act on, one line per problem."""
    lines: list[str] = []
    for claim in taken:
        lines.append(
            f"port {claim.port} is already in use; make up needs it for the {claim.owner}. "
            f"Stop whatever listens there, or choose another port: {claim.setting}=<port> make up"
        )
    for group in duplicates:
        owners = ", ".join(f"{c.owner} ({c.setting})" for c in group)
        lines.append(f"port {group[0].port} is given to more than one process: {owners}")
    return "\n".join(lines)


def check_ports(claims: list[PortClaim], host: str = "127.0.0.1") -> str | None:
    """None when every port is free and distinct, else the report of what is wrong."""
    duplicates = duplicate_claims(claims)
    taken = taken_claims(claims, lambda port: port_is_free(port, host))
    if not taken and not duplicates:
        return None
    return conflict_report(taken, duplicates)


def settings_on_free_ports(attempts: int = 20, **fixed: object) -> StackSettings:
    """Stack settings with every port free right now (tests and the benchmark run the
    platform beside whatever else the machine runs). SeaweedFS's gRPC ports are derived
    from its HTTP ports, so a draw is retried until none of them collide either."""
    for _ in range(attempts):
        ports = {name: free_port() for name in PORT_FIELDS}
        settings = StackSettings(**{**ports, **fixed})
        if check_ports(port_claims(settings), settings.host) is None:
            return settings
    raise RuntimeError(f"no set of free ports found in {attempts} attempts")
