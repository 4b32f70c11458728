"""Settings shared by every service. Each service subclasses ``ServiceSettings`` with its
own env prefix (12-factor: every setting comes from the environment)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__")

    log_level: str = "INFO"
    nats_url: str = "nats://127.0.0.1:14222"
    # Tracing: none | otlp | console. "none" still propagates context, exports nothing.
    trace_exporter: str = "none"
    otlp_endpoint: str | None = None
