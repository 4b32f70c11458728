"""The stored LogObject: Portkey's shape, bodies embedded verbatim, no secrets."""

import json

import msgspec
from portcullis.events import Attempt, RequestLogged, Timings, Usage
from portcullis_logger.domain.log_object import (
    build_log_object,
    encode_log_object,
    iso_millis,
    last_used_option_path,
    mask_secrets,
)

REQUEST = b'{"model":"m",  "messages": [ ]}'
RESPONSE = b'{"id": "x"}'


def event(**overrides) -> RequestLogged:
    fields = dict(
        id="01a208fa-35fe-74b7-a6b6-2f973c169f8c",
        workspace="acme",
        organisation_id="org-1",
        trace_id="tr",
        span_id="sp",
        created_at_ms=1709622489010,
        method="POST",
        path="/v1/chat/completions",
        provider="anthropic",
        model="claude",
        provider_url="https://api.anthropic.com/v1/messages",
        stream=True,
        status=200,
        is_success=True,
        request_headers={
            "Authorization": "Bearer sk-1",
            "x-portkey-api-key": "pk-1",
            "x-portkey-trace-id": "tr",
            "content-type": "application/json",
        },
        request_body=msgspec.Raw(REQUEST),
        response_headers={"set-cookie": "s=1", "content-type": "application/json"},
        response_body=msgspec.Raw(RESPONSE),
        usage=Usage(prompt_tokens=10, completion_tokens=4),
        cost=0.5,
        timings=Timings(started_at_ms=0, total_ms=99.5, upstream_ms=80.4, first_token_ms=20.2),
        metadata={"env": "prod", "_user": "u1"},
        user="u1",
        retry_attempts=2,
        last_used_option_index="config.targets[1]",
        cache_status="MISS",
    )
    fields.update(overrides)
    return RequestLogged(**fields)


def test_shape_matches_portkeys_log_object():
    body = encode_log_object(event(), event().id)
    log = json.loads(body)
    assert list(log) == [
        "_id",
        "request",
        "response",
        "organisation_id",
        "created_at",
        "metrics",
        "attempts",
        "notes",
        "truncated",
    ]
    assert log["truncated"] is False  # both bodies kept whole
    assert json.loads(encode_log_object(event(truncated=True), event().id))["truncated"] is True
    assert log["attempts"] == []  # one call: no tree
    assert log["notes"] == []  # nothing dropped or clamped
    assert log["_id"] == event().id
    assert log["created_at"] == "2024-03-05T07:08:09.010Z"
    assert log["request"]["url"] == "https://api.anthropic.com/v1/messages"
    assert log["request"]["portkeyHeaders"] == {
        "x-portkey-api-key": "[REDACTED]",
        "x-portkey-trace-id": "tr",
    }
    assert log["response"]["responseTime"] == 100
    assert log["response"]["lastUsedOptionJsonPath"] == "$.config.targets[1]"
    metrics = log["metrics"]
    assert metrics["total_units"] == 14  # counted from the parts when the total is absent
    assert metrics["stream_mode"] == 1
    assert metrics["retry_success_count"] == 2
    assert metrics["upstream_response_time"] == 80
    assert metrics["first_token_time"] == 20
    assert metrics["metadata.key"] == ["env", "_user"]
    assert metrics["metadata.value"] == ["prod", "u1"]
    assert metrics["workspace_slug"] == "acme"


def test_bodies_are_embedded_verbatim():
    body = encode_log_object(event(), event().id)
    assert b'"body":' + REQUEST in body
    assert b'"body":' + RESPONSE in body


def test_missing_bodies_are_null():
    log = json.loads(
        encode_log_object(
            event(request_body=msgspec.Raw(b"null"), response_body=msgspec.Raw(b"")),
            event().id,
        )
    )
    assert log["request"]["body"] is None and log["response"]["body"] is None


def test_credentials_never_reach_the_log():
    body = encode_log_object(event(), event().id)
    for secret in (b"sk-1", b"pk-1", b"s=1"):
        assert secret not in body


def test_mask_secrets_is_case_insensitive_and_keeps_others():
    assert mask_secrets({"X-Api-Key": "k", "Accept": "json"}) == {
        "X-Api-Key": "[REDACTED]",
        "Accept": "json",
    }


def test_no_usage_gives_zero_units():
    metrics = build_log_object(event(usage=None), "id").metrics
    assert (metrics.req_units, metrics.res_units, metrics.total_units) == (0, 0, 0)


def test_helpers():
    assert iso_millis(5) == "1970-01-01T00:00:00.005Z"
    assert last_used_option_path("$.config") == "$.config"
    assert last_used_option_path("config") == "$.config"


def test_attempt_tree_and_routing_counts_are_stored():
    attempts = [
        Attempt(
            path="config.targets[0]",
            provider="openai",
            status=500,
            latency_ms=10.0,
            error={"message": "boom"},
        ),
        Attempt(path="config.targets[0]", provider="openai", status=502, latency_ms=11.0, retry=1),
        Attempt(path="config.targets[1]", provider="anthropic", skipped="circuit_open"),
        Attempt(path="config.targets[2]", provider="groq", status=200, latency_ms=50.25),
    ]
    routed = event(attempts=attempts, retries_total=1, fallbacks=2, rescued=True, retry_attempts=0)
    log = json.loads(encode_log_object(routed, routed.id))
    assert log["attempts"] == [
        {
            "path": "config.targets[0]",
            "provider": "openai",
            "status": 500,
            "latency_ms": 10.0,
            "error": {"message": "boom"},
        },
        {
            "path": "config.targets[0]",
            "provider": "openai",
            "status": 502,
            "latency_ms": 11.0,
            "retry": 1,
        },
        {"path": "config.targets[1]", "provider": "anthropic", "skipped": "circuit_open"},
        {"path": "config.targets[2]", "provider": "groq", "status": 200, "latency_ms": 50.25},
    ]
    metrics = log["metrics"]
    assert (metrics["retries_total"], metrics["fallbacks"], metrics["rescued"]) == (1, 2, True)
    # retry_success_count is the answering target's retries (Portkey's meaning): none here.
    assert "retry_success_count" not in metrics


def test_unrouted_request_has_no_routing_counts():
    metrics = json.loads(encode_log_object(event(), event().id))["metrics"]
    assert not {"retries_total", "fallbacks", "rescued"} & set(metrics)
