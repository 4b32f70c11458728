"""The fast upstream the benchmark calls: nginx answering every POST with one fixed
OpenAI chat.completion (or, under /stream/, one fixed stream of chat.completion.chunk
events), so the upstream is never the bottleneck being measured."""

from __future__ import annotations

import json
from pathlib import Path

from portcullis_stack.servers import ManagedProcess, tcp_ready

CHAT_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the benchmark upstream."},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
    },
    separators=(",", ":"),
)


# Streams are served under this path prefix: nginx cannot look into the POST body for
# "stream": true, so the stream scenarios point their custom host (or LiteLLM's
# api_base) at <nginx>/stream/v1 instead.
STREAM_PREFIX = "/stream"
STREAM_CHUNKS = 200


def _chunk(delta: dict, finish_reason: str | None, **extra: object) -> str:
    event = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        **extra,
    }
    return "data: " + json.dumps(event, separators=(",", ":")) + "\n\n"


def sse_body(chunks: int = STREAM_CHUNKS) -> str:
    """``chunks`` chat.completion.chunk events, as OpenAI sends them (a role first, a
    stop with usage last), then ``data: [DONE]``."""
    events = [_chunk({"role": "assistant", "content": ""}, None)]
    events += [_chunk({"content": f"tok{i} "}, None) for i in range(1, chunks - 1)]
    usage = {"prompt_tokens": 9, "completion_tokens": chunks - 2, "total_tokens": chunks + 7}
    events.append(_chunk({}, "stop", usage=usage))
    return "".join(events) + "data: [DONE]\n\n"


def nginx_conf(port: int, prefix: Path, body: str = CHAT_COMPLETION) -> str:
    """A self-contained nginx config: one worker, no access log, everything under
    ``prefix`` so the system's nginx (if any) is never touched. The stream is a file
    (``prefix``/stream.sse, written by nginx_process): nginx refuses a quoted string
    longer than 4 KB, and its static module answers POST with 405, so /stream/ turns
    that 405 into an internal GET of the file."""
    if "'" in body or "\\" in body:
        raise ValueError("the canned body must not need escaping in nginx's quoted string")
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / (kind + '_temp')};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
{temp}
    server {{
        listen 127.0.0.1:{port} reuseport;
        location {STREAM_PREFIX}/ {{
            error_page 405 =200 /stream.sse;
            return 405;
        }}
        location = /stream.sse {{
            internal;
            root {prefix};
            default_type text/event-stream;
        }}
        location / {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
"""


def nginx_process(nginx: str, port: int, prefix: Path, cpu: int) -> ManagedProcess:
    prefix.mkdir(parents=True, exist_ok=True)
    prefix.chmod(0o755)  # workers drop to "nobody" when the master runs as root
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(port, prefix))
    (prefix / "stream.sse").write_text(sse_body())
    return ManagedProcess(
        name="nginx",
        argv=[
            "taskset",
            "-c",
            str(cpu),
            nginx,
            "-p",
            str(prefix),
            "-c",
            str(conf),
            "-e",
            str(prefix / "error.log"),
        ],  # fmt: skip
        ready=tcp_ready(port),
        log_path=prefix / "stdout.log",
    )
