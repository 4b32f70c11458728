"""The fast upstream the benchmark calls: nginx answering every POST with one fixed
OpenAI chat.completion, so the upstream is never the bottleneck being measured."""

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


def nginx_conf(port: int, prefix: Path, body: str = CHAT_COMPLETION) -> str:
    """A self-contained nginx config: one worker, no access log, everything under
    ``prefix`` so the system's nginx (if any) is never touched."""
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
