"""The "ready" box `make up` prints once every process is healthy: where things are and
a first request to copy and paste. Only rules above and below, no side borders, so the
curl command copies cleanly out of a terminal."""

from __future__ import annotations

from pathlib import Path

from portcullis_stack.plan import DataPaths
from portcullis_stack.settings import StackSettings

READY_LINE = "Portcullis is ready"


def first_request_curl(s: StackSettings) -> str:
    return "\n".join(
        [
            f"  curl -s http://{s.host}:{s.gateway_port}/v1/chat/completions \\",
            "    -H 'content-type: application/json' \\",
            "    -H 'x-portkey-provider: openai' \\",
            f"    -H 'x-portkey-custom-host: http://{s.host}:{s.mock_port}/v1' \\",
            "    -H 'Authorization: Bearer anything' \\",
            """    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'""",
        ]
    )


def ready_box(s: StackSettings, data_dir: Path) -> str:
    h = s.host
    gw = f"http://{h}:{s.gateway_port}"
    rows = [
        ("gateway", f"{gw}/v1   (OpenAI-compatible; x-portkey-* headers)"),
        ("logs", f"{gw}/v1/logs/<x-portkey-request-id of a response>"),
        (
            "analytics",
            f"{gw}/v1/analytics/graphs/requests"
            "?time_of_generation_min=<ISO-8601>&time_of_generation_max=<ISO-8601>",
        ),
        ("", "  (also /cost, /tokens, /latency)"),
        (
            "metrics",
            f"{gw}/metrics  http://{h}:{s.logger_http_port}/metrics  "
            f"http://{h}:{s.analytics_http_port}/metrics",
        ),
        ("mock LLM", f"http://{h}:{s.mock_port}/v1   (any API key works)"),
        ("NATS", f"nats://{h}:{s.nats_port}   (monitor http://{h}:{s.nats_monitor_port})"),
        ("Valkey", f"redis://{h}:{s.valkey_port}/0"),
        ("S3", f"http://{h}:{s.s3_port}   (bucket {s.s3_bucket}; signed requests only)"),
        # Where the keys are, never the keys: this box goes to terminals and CI logs.
        ("S3 keys", str(DataPaths.under(data_dir).s3_identities)),
        ("data", str(data_dir)),
    ]
    width = max(len(label) for label, _ in rows)
    body = [f"  {label.ljust(width)}  {value}".rstrip() for label, value in rows]
    rule = "=" * 78
    return "\n".join(
        [
            rule,
            f"  {READY_LINE}.",
            "",
            *body,
            "",
            "  First request (through the gateway to the mock provider):",
            "",
            first_request_curl(s),
            "",
            "  Ctrl-C stops everything; data stays in the data folder for the next run.",
            rule,
        ]
    )
