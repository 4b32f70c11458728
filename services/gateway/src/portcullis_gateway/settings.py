"""Gateway settings, all from the environment (prefix ``PORTCULLIS_GATEWAY_``)."""

from __future__ import annotations

from portcullis.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="PORTCULLIS_GATEWAY_", extra="ignore", env_nested_delimiter="__"
    )

    host: str = "127.0.0.1"
    port: int = 8787
    workers: int = 1
    redis_url: str = "redis://127.0.0.1:16379/0"
    # A Redis/Valkey Cluster behind redis_url (any one node's address): keys are
    # hash-tagged so each circuit's keys share a slot.
    redis_cluster: bool = False
    spool_dir: str = ".portcullis/spool/gateway"
    # custom_host policy: private/loopback/link-local targets need an explicit opt-in,
    # and a non-empty allowlist (comma list of hosts or *.suffix) restricts the rest.
    allow_private_custom_hosts: bool = False
    custom_host_allowlist: str = ""
    max_body_bytes: int = 32 * 1024 * 1024
    workspace: str = "default"
    organisation_id: str = "local"

    # Upstream calls (one pooled keep-alive HTTP/1.1 client per worker).
    upstream_connect_timeout_s: float = 10.0
    # The longest a provider may stay silent (no byte of an answer) before the call fails.
    upstream_timeout_s: float = 600.0
    upstream_pool_size: int = 1000
    # Idle keep-alive connections are closed after this long.
    upstream_keepalive_s: float = 60.0
    # A CA bundle (PEM) to verify providers' certificates with, instead of the system's.
    upstream_ca_file: str = ""

    # Routing: the longest Retry-After worth waiting for before a retry; a longer one
    # ends the retries on that target (the request falls back, or the caller gets it).
    retry_after_cap_s: float = 10.0
    # How often circuit breaker states (shared in Redis) are re-read for known targets.
    circuit_refresh_s: float = 0.5
    # Upstream calls one request may make, retries and fallbacks counted together: a
    # config listing a failing target hundreds of times must not turn one request into
    # hundreds of calls. Reached, the request ends with the last failure.
    max_upstream_attempts: int = Field(default=10, ge=1)

    # Event pipeline.
    event_buffer_max: int = 100_000
    publish_batch_max: int = 512
    publish_timeout_s: float = 2.0
    # How long the publisher waits after the first event to gather more into one batch.
    publish_linger_ms: float = 5.0
    drain_timeout_s: float = 5.0
    spool_segment_max_bytes: int = 16 * 1024 * 1024
    replay_interval_s: float = 1.0
    # The largest log event kept whole: past it the larger body is cut to what fits and
    # the log is marked truncated (never dropped). Events over NATS's max_payload travel
    # through the Object Store, so this only bounds memory and storage per log.
    max_log_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)

    # Reads forwarded to the logger / analytics over NATS request/reply.
    rpc_timeout_s: float = 5.0

    @property
    def allowlist(self) -> tuple[str, ...]:
        return tuple(
            item.strip().lower() for item in self.custom_host_allowlist.split(",") if item.strip()
        )
