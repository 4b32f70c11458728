"""Fixtures for the logger's integration tests: the real `python -m portcullis_logger`
process against real NATS (a fresh server per test, so durable consumer state never
leaks between tests) and real SeaweedFS S3, plus helpers that publish events the way the
gateway does (Nats-Msg-Id and W3C traceparent headers)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import nats
import pytest
from minio import Minio
from portcullis import rpc
from portcullis.events import RequestLogged, Timings, Usage, encode
from portcullis.ids import new_request_id
from portcullis.natsio import ensure_streams
from portcullis.subjects import RPC_LOGS_GET, logs_subject
from portcullis_stack.probing import scrape, wait_for
from portcullis_stack.servers import ManagedProcess, service_process

REQUEST_BODY = b'{"model": "gpt-4o-mini",   "messages":[{"role":"user","content":"hi"}]}'
RESPONSE_BODY = b'{"id":"chatcmpl-1","object":"chat.completion","choices":[]}'


def make_event(workspace: str, **overrides) -> RequestLogged:
    fields = dict(
        id=new_request_id(),
        workspace=workspace,
        organisation_id="org-test",
        trace_id="trace-1",
        span_id="span-1",
        created_at_ms=int(time.time() * 1000),
        method="POST",
        path="/v1/chat/completions",
        provider="openai",
        model="gpt-4o-mini",
        provider_url="https://api.openai.com/v1/chat/completions",
        status=200,
        is_success=True,
        request_headers={
            "content-type": "application/json",
            "x-portkey-provider": "openai",
            "authorization": "Bearer sk-should-never-be-stored",
        },
        request_body=msgspec.Raw(REQUEST_BODY),
        response_headers={"content-type": "application/json"},
        response_body=msgspec.Raw(RESPONSE_BODY),
        usage=Usage(prompt_tokens=7, completion_tokens=5, total_tokens=12),
        cost=0.000123,
        timings=Timings(started_at_ms=1, total_ms=321.6, upstream_ms=300.2),
        metadata={"env": "test"},
    )
    fields.update(overrides)
    return RequestLogged(**fields)


def traceparent() -> tuple[str, str, str]:
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


async def publish(
    js,
    event: RequestLogged | bytes,
    workspace: str,
    msg_id: str | None = None,
    header: str | None = None,
) -> None:
    data = event if isinstance(event, bytes) else encode(event)
    headers = {
        "Nats-Msg-Id": msg_id or (event.id if not isinstance(event, bytes) else uuid.uuid4().hex)
    }
    if header:
        headers["traceparent"] = header
    await js.publish(logs_subject(workspace), data, headers=headers)


async def get_log(nc, log_id: str, workspace: str) -> rpc.RpcReply:
    reply = await nc.request(
        RPC_LOGS_GET, rpc.encode(rpc.LogGetRequest(id=log_id, workspace=workspace)), timeout=5
    )
    return rpc.decode_reply(reply.data)


class LoggerProcess:
    def __init__(self, proc: ManagedProcess, starting: threading.Thread | None = None) -> None:
        self.proc = proc
        self._starting = starting

    @property
    def port(self) -> int:
        return self.proc.port

    def wait_started(self, timeout: float) -> None:
        """For a logger started with ``wait=False``: block until its start (which may
        have drawn new ports) is over, and fail unless it came up."""
        if self._starting is not None:
            self._starting.join(timeout)
        assert self.proc.running and self.proc.is_ready(), self.proc.tail()

    def metric(self, name: str) -> float:
        return scrape(self.port).get(name, 0.0)

    def log_text(self) -> str:
        return self.proc.log_path.read_text(errors="replace")


def _start_quietly(proc: ManagedProcess) -> None:
    with contextlib.suppress(TimeoutError, RuntimeError):
        proc.start(timeout=60)


class Kit:
    """The helpers above, handed to tests as a fixture (test modules cannot import the
    conftest under pytest's importlib mode)."""

    REQUEST_BODY = REQUEST_BODY
    RESPONSE_BODY = RESPONSE_BODY
    make_event = staticmethod(make_event)
    traceparent = staticmethod(traceparent)
    publish = staticmethod(publish)
    get_log = staticmethod(get_log)
    wait_for = staticmethod(wait_for)
    scrape = staticmethod(scrape)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


@pytest.fixture
def bucket() -> str:
    # One bucket for every test (each test has its own workspace prefix): SeaweedFS as
    # the stack starts it (-volume.max=8) has volumes for about two buckets in all.
    return "portcullis-logs"


@pytest.fixture
def workspace() -> str:
    return f"ws-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def s3_client(s3_server) -> Minio:
    return Minio(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False)


@pytest.fixture
def start_logger(
    tmp_path: Path, fresh_nats, s3_server, bucket
) -> Iterator[Callable[..., LoggerProcess]]:
    started: list[ManagedProcess] = []

    def start(wait: bool = True, s3_endpoint: str | None = None, **env: str) -> LoggerProcess:
        environment = {
            "PORTCULLIS_LOGGER_NATS_URL": fresh_nats.url,
            "PORTCULLIS_LOGGER_S3_ENDPOINT": s3_endpoint or s3_server.endpoint,
            "PORTCULLIS_LOGGER_S3_ACCESS_KEY": s3_server.access_key,
            "PORTCULLIS_LOGGER_S3_SECRET_KEY": s3_server.secret_key,
            "PORTCULLIS_LOGGER_S3_BUCKET": bucket,
            "PORTCULLIS_LOGGER_LOG_LEVEL": "INFO",
        }
        environment.update({f"PORTCULLIS_LOGGER_{k.upper()}": v for k, v in env.items()})
        proc = service_process(
            f"logger-{len(started)}",
            "portcullis_logger",
            "PORTCULLIS_LOGGER_HTTP_PORT",
            "/health",
            tmp_path / f"logger-{len(started)}.log",
            environment,
        )
        started.append(proc)
        if wait:
            proc.start(timeout=30)
            return LoggerProcess(proc)
        # Launch now, readiness later (the caller brings a dependency up first). The
        # ports are drawn before the thread starts, so the caller may read them at once.
        proc.lay_out()
        starting = threading.Thread(target=_start_quietly, args=(proc,), daemon=True)
        starting.start()
        return LoggerProcess(proc, starting)

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
async def nats_client(fresh_nats):
    nc = await nats.connect(fresh_nats.url)
    # The gateway ensures the streams too, so it can publish before any worker is up.
    await ensure_streams(nc.jetstream())
    yield nc
    await nc.close()
