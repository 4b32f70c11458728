"""What `make up` runs: the processes, their command lines and environments, and the
ports each one claims. Pure functions of the settings, so they are tested without
starting anything."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from portcullis_stack import servers
from portcullis_stack.s3_keys import S3Keys
from portcullis_stack.settings import StackSettings

INFRA = ("nats", "valkey", "seaweedfs")
SERVICES = ("mock", "gateway", "logger", "analytics")


@dataclass(frozen=True)
class DataPaths:
    """Where each process keeps what must survive a restart of `make up`."""

    root: Path
    nats: Path
    valkey: Path
    seaweedfs: Path
    chdb: Path
    gateway_spool: Path
    # SeaweedFS's S3 identities: the store's keys (mode 0600; see s3_keys.py).
    s3_identities: Path

    @classmethod
    def under(cls, root: Path) -> DataPaths:
        return cls(
            root=root,
            nats=root / "nats",
            valkey=root / "valkey",
            seaweedfs=root / "seaweedfs",
            chdb=root / "chdb",
            gateway_spool=root / "spool" / "gateway",
            s3_identities=root / "s3-identities.json",
        )

    def folders(self) -> list[Path]:
        # chDB creates its own folder; the parent must exist.
        return [self.nats, self.valkey, self.seaweedfs, self.chdb.parent, self.gateway_spool]


@dataclass(frozen=True)
class PortClaim:
    port: int
    owner: str
    setting: str


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def shell_command(self) -> str:
        # honcho runs commands through /bin/sh; `exec` makes the pid it reports (and
        # signals) the real server rather than a wrapping shell.
        return "exec " + shlex.join(self.argv)


def nats_url(s: StackSettings) -> str:
    return f"nats://{s.host}:{s.nats_port}"


def redis_url(s: StackSettings) -> str:
    return f"redis://{s.host}:{s.valkey_port}/0"


def s3_endpoint(s: StackSettings) -> str:
    return f"{s.host}:{s.s3_port}"


def seaweed_ports(s: StackSettings) -> servers.SeaweedPorts:
    return servers.SeaweedPorts(
        s3=s.s3_port,
        master=s.seaweed_master_port,
        volume=s.seaweed_volume_port,
        filer=s.seaweed_filer_port,
    )


def port_claims(s: StackSettings) -> list[PortClaim]:
    """Every port the platform will listen on, who listens there, and the setting that
    moves it. SeaweedFS also opens a gRPC port next to each HTTP port."""
    claims = [
        PortClaim(s.nats_port, "NATS client port", "PORTCULLIS_NATS_PORT"),
        PortClaim(s.nats_monitor_port, "NATS monitoring port", "PORTCULLIS_NATS_MONITOR_PORT"),
        PortClaim(s.valkey_port, "Valkey", "PORTCULLIS_VALKEY_PORT"),
        PortClaim(s.gateway_port, "gateway HTTP", "PORTCULLIS_GATEWAY_PORT"),
        PortClaim(s.logger_http_port, "logger HTTP", "PORTCULLIS_LOGGER_HTTP_PORT"),
        PortClaim(s.analytics_http_port, "analytics HTTP", "PORTCULLIS_ANALYTICS_HTTP_PORT"),
        PortClaim(s.mock_port, "mock provider", "PORTCULLIS_MOCK_PORT"),
    ]
    for port, owner, setting in (
        (s.s3_port, "SeaweedFS S3", "PORTCULLIS_S3_PORT"),
        (s.seaweed_master_port, "SeaweedFS master", "PORTCULLIS_SEAWEED_MASTER_PORT"),
        (s.seaweed_volume_port, "SeaweedFS volume", "PORTCULLIS_SEAWEED_VOLUME_PORT"),
        (s.seaweed_filer_port, "SeaweedFS filer", "PORTCULLIS_SEAWEED_FILER_PORT"),
    ):
        claims.append(PortClaim(port, owner, setting))
        grpc = servers.grpc_port(port)
        claims.append(PortClaim(grpc, f"{owner} gRPC (its port {port} + 10000)", setting))
    return claims


def service_env(s: StackSettings, paths: DataPaths, keys: S3Keys) -> dict[str, dict[str, str]]:
    """The environment each service process gets on top of the runner's own. The S3
    secret reaches the logger this way only: never on a command line, which `ps` shows."""
    common = {"PYTHONUNBUFFERED": "1"}
    nats = nats_url(s)
    return {
        "mock": {
            **common,
            "PORTCULLIS_MOCK_HOST": s.host,
            "PORTCULLIS_MOCK_PORT": str(s.mock_port),
        },
        "gateway": {
            **common,
            "PORTCULLIS_GATEWAY_HOST": s.host,
            "PORTCULLIS_GATEWAY_PORT": str(s.gateway_port),
            "PORTCULLIS_GATEWAY_NATS_URL": nats,
            "PORTCULLIS_GATEWAY_REDIS_URL": redis_url(s),
            "PORTCULLIS_GATEWAY_SPOOL_DIR": str(paths.gateway_spool),
            # The mock provider listens on loopback, which the SSRF guard refuses by
            # default; a one-machine platform is exactly where it must be allowed.
            "PORTCULLIS_GATEWAY_ALLOW_PRIVATE_CUSTOM_HOSTS": "true",
        },
        "logger": {
            **common,
            "PORTCULLIS_LOGGER_NATS_URL": nats,
            "PORTCULLIS_LOGGER_S3_ENDPOINT": s3_endpoint(s),
            "PORTCULLIS_LOGGER_S3_ACCESS_KEY": keys.access_key,
            "PORTCULLIS_LOGGER_S3_SECRET_KEY": keys.secret_key.get_secret_value(),
            "PORTCULLIS_LOGGER_S3_SECURE": "false",
            "PORTCULLIS_LOGGER_S3_BUCKET": s.s3_bucket,
            "PORTCULLIS_LOGGER_HTTP_HOST": s.host,
            "PORTCULLIS_LOGGER_HTTP_PORT": str(s.logger_http_port),
        },
        "analytics": {
            **common,
            "PORTCULLIS_ANALYTICS_NATS_URL": nats,
            "PORTCULLIS_ANALYTICS_BACKEND": "chdb",
            "PORTCULLIS_ANALYTICS_CHDB_PATH": str(paths.chdb),
            "PORTCULLIS_ANALYTICS_HTTP_HOST": s.host,
            "PORTCULLIS_ANALYTICS_HTTP_PORT": str(s.analytics_http_port),
        },
    }


def build_plan(s: StackSettings, paths: DataPaths, python: str, keys: S3Keys) -> list[ProcessSpec]:
    """Infrastructure first, then the services (honcho starts them in this order; the
    services wait for NATS themselves, so order is a courtesy, not a requirement).
    SeaweedFS reads the keys from ``paths.s3_identities``, which must hold ``keys``."""
    env = service_env(s, paths, keys)
    return [
        ProcessSpec("nats", servers.nats_argv(s.nats_port, s.nats_monitor_port, paths.nats)),
        ProcessSpec("valkey", servers.valkey_argv(s.valkey_port, paths.valkey)),
        ProcessSpec(
            "seaweedfs",
            servers.seaweed_argv(seaweed_ports(s), paths.seaweedfs, paths.s3_identities),
        ),
        ProcessSpec(
            "mock",
            [python, "-m", "mock_provider", "--host", s.host, "--port", str(s.mock_port)],
            env["mock"],
        ),
        ProcessSpec("gateway", [python, "-m", "portcullis_gateway"], env["gateway"]),
        ProcessSpec("logger", [python, "-m", "portcullis_logger"], env["logger"]),
        ProcessSpec("analytics", [python, "-m", "portcullis_analytics"], env["analytics"]),
    ]
