"""Drain benchmark of a JetStream worker: publish N events to a fresh NATS (and, for the
logger, a fresh SeaweedFS S3), start one worker process, time until its durable consumer
has nothing pending or un-acked, then stop it with SIGTERM.

    uv run python bench/drain_bench.py                     # logger
    uv run python bench/drain_bench.py --service analytics -n 100000
    uv run python bench/drain_bench.py --env S3_CONCURRENCY=64

Prints the drain rate (whole run, and the steady part between 20 % and 80 % acked), the
CPU seconds each process used, how busy the machine was, and the stop's exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import msgspec
import nats
from portcullis.events import RequestLogged, Timings, Usage, encode, metered_from_logged
from portcullis.ids import new_request_id
from portcullis.natsio import ensure_streams
from portcullis.subjects import (
    ANALYTICS_DURABLE,
    LOGGER_DURABLE,
    LOGS_STREAM,
    METRICS_STREAM,
    logs_subject,
    metrics_subject,
)
from portcullis_stack.servers import (
    S3Keys,
    nats_process,
    seaweed_ports,
    seaweed_process,
    service_process,
)

# About the size of a small chat completion's log: ~0.4 KB in, ~0.6 KB out.
REQUEST = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"%s"}]}' % (b"hello " * 60)
RESPONSE = (
    b'{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":'
    b'{"role":"assistant","content":"%s"},"finish_reason":"stop"}]}' % (b"world " * 80)
)


def event() -> RequestLogged:
    return RequestLogged(
        id=new_request_id(),
        workspace="default",
        organisation_id="local",
        trace_id="bench",
        created_at_ms=int(time.time() * 1000),
        method="POST",
        path="/v1/chat/completions",
        provider="openai",
        model="gpt-4o-mini",
        provider_url="http://127.0.0.1/v1/chat/completions",
        status=200,
        is_success=True,
        request_headers={"content-type": "application/json", "x-portkey-provider": "openai"},
        request_body=msgspec.Raw(REQUEST),
        response_headers={"content-type": "application/json"},
        response_body=msgspec.Raw(RESPONSE),
        usage=Usage(prompt_tokens=7, completion_tokens=5, total_tokens=12),
        cost=0.0001,
        timings=Timings(started_at_ms=1, total_ms=3.2),
    )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values), values[3] + values[4]  # all, idle + iowait


async def publish_all(url: str, service: str, n: int) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_streams(js)
    window = asyncio.Semaphore(256)

    async def one() -> None:
        e = event()
        if service == "logger":
            subject, body = logs_subject(e.workspace), encode(e)
        else:
            subject, body = metrics_subject(e.workspace), encode(metered_from_logged(e))
        async with window:
            await js.publish(subject, body, headers={"Nats-Msg-Id": e.id})

    await asyncio.gather(*(one() for _ in range(n)))
    await nc.close()


async def watch_drain(url: str, stream: str, durable: str, n: int) -> list[tuple[float, int]]:
    """(seconds, acked) samples until everything is acked (bounded to 10 minutes)."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    started, samples = time.perf_counter(), []
    try:
        while time.perf_counter() - started < 600:
            info = await js.consumer_info(stream, durable)
            samples.append((time.perf_counter() - started, info.ack_floor.stream_seq))
            if info.num_pending == 0 and info.num_ack_pending == 0 and samples[-1][1] >= n:
                break
            await asyncio.sleep(0.2)
    finally:
        await nc.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", choices=("logger", "analytics"), default="logger")
    parser.add_argument("-n", type=int, default=30_000, help="events to publish")
    parser.add_argument("--env", action="append", default=[], help="worker setting, K=V")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="drain-bench-"))
    prefix = f"PORTCULLIS_{args.service.upper()}_"
    servers = [nats_process(work / "nats").start(30)]
    url = f"nats://127.0.0.1:{servers[0].port}"
    env = {prefix + "NATS_URL": url, prefix + "LOG_LEVEL": "WARNING"}
    if args.service == "logger":
        keys = S3Keys.generate()
        s3 = seaweed_process(work / "s3", keys).start(60)
        servers.append(s3)
        env[prefix + "S3_ENDPOINT"] = f"127.0.0.1:{seaweed_ports(s3).s3}"
        env[prefix + "S3_ACCESS_KEY"] = keys.access_key
        env[prefix + "S3_SECRET_KEY"] = keys.secret_key.get_secret_value()
        stream, durable = LOGS_STREAM, LOGGER_DURABLE
    else:
        env[prefix + "CHDB_PATH"] = str(work / "chdb")
        stream, durable = METRICS_STREAM, ANALYTICS_DURABLE
    for setting in args.env:
        key, _, value = setting.partition("=")
        env[prefix + key.upper()] = value
    worker = service_process(
        args.service,
        f"portcullis_{args.service}",
        prefix + "HTTP_PORT",
        "/health",
        work / f"{args.service}.log",
        env,
    )
    try:
        asyncio.run(publish_all(url, args.service, args.n))
        worker.start(60)
        ticks = machine_ticks()
        samples = asyncio.run(watch_drain(url, stream, durable, args.n))
        all_ticks, idle_ticks = (a - b for a, b in zip(machine_ticks(), ticks, strict=True))
        elapsed, acked = samples[-1]
        steady = [s for s in samples if 0.2 * args.n <= s[1] <= 0.8 * args.n]
        print(
            f"{args.service}: {acked} of {args.n} acked in {elapsed:.1f} s: {acked / elapsed:.0f}/s"
        )
        if len(steady) > 1:
            rate = (steady[-1][1] - steady[0][1]) / (steady[-1][0] - steady[0][0])
            print(f"steady (20-80 % acked): {rate:.0f}/s")
        print(f"machine busy: {100 * (1 - idle_ticks / all_ticks):.0f} %")
        for proc in (*servers, worker):
            assert proc.proc is not None
            print(f"cpu {proc.name}: {cpu_seconds(proc.proc.pid):.1f} s (start-up included)")
        stopping = time.perf_counter()
        worker.stop(timeout=15)
        assert worker.proc is not None
        print(f"SIGTERM: exit {worker.proc.returncode} in {time.perf_counter() - stopping:.1f} s")
    finally:
        worker.stop()
        for proc in reversed(servers):
            proc.stop()
    print(f"logs in {work}")


if __name__ == "__main__":
    main()
