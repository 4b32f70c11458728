"""Everything a gateway worker builds once and shares across requests: the upstream
client pool, the NATS link, the event pipeline and spool, the price book, metrics.
Built by ``create_app``, started and stopped by the app's lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging

from opentelemetry import trace

from portcullis_gateway.adapters.circuits import Circuits
from portcullis_gateway.adapters.events import EventPipeline
from portcullis_gateway.adapters.nats_link import NatsLink
from portcullis_gateway.adapters.redis_probe import RedisProbe
from portcullis_gateway.adapters.spool import Spool
from portcullis_gateway.adapters.upstream import upstream_client
from portcullis_gateway.domain.cost import PriceBook
from portcullis_gateway.domain.host_policy import HostPolicy
from portcullis_gateway.metrics import GatewayMetrics
from portcullis_gateway.providers import PROVIDERS
from portcullis_gateway.routing.select import StickyPins
from portcullis_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

# Models whose prices are looked up at start so the first requests do not pay for it.
WARM_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "text-embedding-3-small")


class Runtime:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.providers = PROVIDERS
        self.policy = HostPolicy(
            allow_private=settings.allow_private_custom_hosts, allowlist=settings.allowlist
        )
        self.tracer = trace.get_tracer("portcullis_gateway")
        self.tracing = settings.trace_exporter != "none"
        self.metrics = GatewayMetrics()
        self.prices = PriceBook()
        self.upstream = upstream_client(
            connect_timeout_s=settings.upstream_connect_timeout_s,
            read_timeout_s=settings.upstream_timeout_s,
            pool_size=settings.upstream_pool_size,
            allow_private=settings.allow_private_custom_hosts,
            keepalive_s=settings.upstream_keepalive_s,
            ca_file=settings.upstream_ca_file or None,
        )
        self.link = NatsLink(settings.nats_url)
        self.spool = Spool(settings.spool_dir, settings.spool_segment_max_bytes)
        self.events = EventPipeline(
            link=self.link,
            spool=self.spool,
            prices=self.prices,
            metrics=self.metrics,
            workspace=settings.workspace,
            organisation_id=settings.organisation_id,
            buffer_max=settings.event_buffer_max,
            batch_max=settings.publish_batch_max,
            publish_timeout_s=settings.publish_timeout_s,
            drain_timeout_s=settings.drain_timeout_s,
            replay_interval_s=settings.replay_interval_s,
            max_log_bytes=settings.max_log_bytes,
            linger_s=settings.publish_linger_ms / 1000,
        )
        self.redis = RedisProbe(settings.redis_url, cluster=settings.redis_cluster)
        self._google_tokens = None
        self.sticky_pins = StickyPins()
        self.circuits = Circuits(self.redis.client, settings.circuit_refresh_s)
        self.metrics.watch(lambda: len(self.events.buffer), lambda: self.spool.bytes)
        self._background: list[asyncio.Task] = []

    @property
    def google_tokens(self):
        """Vertex service-account tokens; google-auth is imported only when one is used."""
        if self._google_tokens is None:
            from portcullis_gateway.adapters.google_tokens import GoogleTokens

            self._google_tokens = GoogleTokens(self.policy)
        return self._google_tokens

    async def start(self) -> None:
        # Loads genai-prices' tables (a few hundred ms) before the first request.
        self.prices.warm("openai", WARM_MODELS)
        self.upstream.start()
        self.spool.open()
        self.link.start()
        self.events.start()
        await self.redis.connect()
        self.circuits.start()
        self._background.append(asyncio.create_task(self.redis.check_at_start()))
        # Everything built so far (genai-prices' tables, imported modules) lives as long
        # as the process; keeping it out of the collector's sight turns full collections
        # from tens of milliseconds, a p99 latency spike, into almost nothing.
        gc.collect()
        gc.freeze()
        log.info(
            "gateway worker ready",
            extra={
                "workspace": self.settings.workspace,
                "allow_private_custom_hosts": self.settings.allow_private_custom_hosts,
            },
        )

    async def stop(self) -> None:
        await self.circuits.close()
        await self.events.close()
        await self.link.close()
        await self.upstream.close()
        await self.redis.close()
        self.spool.close()
        for task in self._background:
            task.cancel()
