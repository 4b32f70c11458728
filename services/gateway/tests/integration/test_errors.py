"""Every bad input gets a 4xx naming the problem, provider failures reach the caller
with the provider's status, and every error answer still carries the x-portkey-*
headers and produces log and metric events."""

import json
import socket

import httpx
import openai
import pytest
from portcullis_gateway.domain.host_policy import is_public_address
from portcullis_stack.servers import free_port

MESSAGES = [{"role": "user", "content": "hi"}]


def post(gateway, body: bytes | dict, **headers):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{gateway.v1}/chat/completions",
        content=content,
        headers={"content-type": "application/json", "authorization": "Bearer sk-err", **headers},
        timeout=10,
    )


BAD_INPUTS = [
    ("malformed json", b'{"model": "gpt-4o-mini", ', {}, 400, "invalid_json"),
    ("body not an object", b'["a"]', {}, 400, "invalid_body"),
    ("missing provider", {"model": "m"}, {"no_host": "1"}, 400, "missing_provider"),
    (
        "unknown provider",
        {"model": "m"},
        {"x-portkey-provider": "nope-ai"},
        400,
        "unknown_provider",
    ),
    ("bad config json", {"model": "m"}, {"x-portkey-config": "{bad"}, 400, "invalid_config"),
    (
        "saved config id",
        {"model": "m"},
        {"x-portkey-config": "pc-prod-1"},
        400,
        "saved_config_unavailable",
    ),
    ("bad metadata", {"model": "m"}, {"x-portkey-metadata": "{oops"}, 400, "invalid_metadata"),
    (
        "metadata not strings",
        {"model": "m"},
        {"x-portkey-metadata": '{"n": 1}'},
        400,
        "invalid_metadata",
    ),
    (
        "bad custom host scheme",
        {"model": "m"},
        {"x-portkey-custom-host": "ftp://x/v1"},
        400,
        "invalid_custom_host",
    ),
    (
        "bad timeout",
        {"model": "m"},
        {"x-portkey-request-timeout": "-5"},
        400,
        "invalid_request_timeout",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "headers", "status", "code"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
async def test_bad_input_is_a_named_4xx_with_headers_and_events(
    gateway, mock, events, portkey_headers, case, body, headers, status, code
):
    headers = dict(headers)
    if not headers.pop("no_host", None) and "x-portkey-custom-host" not in headers:
        headers.setdefault("x-portkey-custom-host", mock.v1)
    response = post(gateway, body, **headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["type"] == "invalid_request_error"
    assert error["message"]
    assert "sk-err" not in response.text
    request_id = portkey_headers(response.headers, provider=response.headers["x-portkey-provider"])
    logged, _ = await events.log(gateway, request_id)
    assert logged.status == status and logged.is_success is False
    assert logged.error["code"] == code
    metered, _ = await events.metric(gateway, request_id)
    assert metered.status == status and metered.is_success is False


async def test_body_over_the_limit_is_413(gateway, mock, events, portkey_headers):
    big = {"model": "m", "messages": [{"role": "user", "content": "x" * 70_000}]}
    response = post(gateway, big, **{"x-portkey-custom-host": mock.v1})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    logged, _ = await events.log(gateway, portkey_headers(response.headers))
    assert logged.status == 413
    assert bytes(logged.request_body) == b"null"  # too large to keep


async def test_provider_429_passes_through_with_retry_after(gateway, mock, events, portkey_headers):
    client = gateway.client(mock)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            extra_body={"mock": {"status": 429, "retry_after": 3, "error_message": "slow down"}},
        )
    response = info.value.response
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.headers["retry-after-ms"] == "3000"
    assert info.value.body == {
        "message": "slow down",
        "type": "rate_limit_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    logged, _ = await events.log(gateway, portkey_headers(response.headers))
    assert logged.status == 429 and logged.error["message"] == "slow down"


async def test_provider_plain_text_error_is_wrapped(gateway, mock, events, portkey_headers):
    response = post(
        gateway,
        {"model": "m", "mock": {"status": 500, "error_format": "text", "error_message": "kaboom"}},
        **{"x-portkey-custom-host": mock.v1},
    )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error == {
        "message": "openai answered 500: kaboom",
        "type": "api_error",
        "param": None,
        "code": "provider_error",
    }
    logged, _ = await events.log(gateway, portkey_headers(response.headers))
    assert logged.status == 500 and logged.error["code"] == "provider_error"


async def test_unreachable_upstream_is_502(gateway, events, portkey_headers):
    closed = f"http://127.0.0.1:{free_port()}/v1"
    response = post(gateway, {"model": "m"}, **{"x-portkey-custom-host": closed})
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_unreachable" and "127.0.0.1" in error["message"]
    logged, _ = await events.log(gateway, portkey_headers(response.headers))
    assert logged.status == 502


async def test_request_timeout_is_408(gateway, mock, events, portkey_headers):
    response = post(
        gateway,
        {"model": "m", "mock": {"latency_ms": 2000}},
        **{"x-portkey-custom-host": mock.v1, "x-portkey-request-timeout": "200"},
    )
    assert response.status_code == 408
    assert response.json()["error"]["code"] == "request_timeout"
    logged, _ = await events.log(gateway, portkey_headers(response.headers))
    assert logged.status == 408


@pytest.mark.parametrize("mode", ["drop", "event"])
async def test_stream_failing_midway_ends_with_an_error_event(gateway, mock, events, mode):
    client = gateway.async_client(mock)
    raw = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "one two three four"}],
        stream=True,
        extra_body={"mock": {"fail_after_chunks": 2, "fail_mode": mode}},
    )
    request_id = raw.headers["x-portkey-request-id"]
    received = ""
    with pytest.raises(openai.APIError):
        async for chunk in raw.parse():
            if chunk.choices:
                received += chunk.choices[0].delta.content or ""
    assert received == "mock reply"
    logged, _ = await events.log(gateway, request_id)
    assert logged.is_success is False
    assert logged.error is not None
    assert msgspec_content(logged) == "mock reply"
    if mode == "drop":
        assert logged.status == 502  # the gateway saw the provider drop the connection


def msgspec_content(logged) -> str:
    import msgspec

    return msgspec.json.decode(logged.response_body)["choices"][0]["message"]["content"]


def test_unknown_route_and_bad_log_reads_are_openai_style(gateway):
    response = httpx.get(f"{gateway.url}/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"
    # Any /v1 path is passed through to a provider (test_endpoints): none is named here.
    response = httpx.get(f"{gateway.url}/v1/nothing-here")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_provider"


async def test_private_custom_hosts_are_refused_by_default(
    strict_gateway, mock, events, portkey_headers
):
    port = mock.url.rsplit(":", 1)[1]
    hostname = socket.gethostname()
    # The machine's own name resolves to a non-public address: refused at connect time
    # by the resolver, since the name itself says nothing.
    assert not is_public_address(socket.gethostbyname(hostname))
    for host in (
        f"http://127.0.0.1:{port}/v1",
        f"http://localhost:{port}/v1",
        f"http://2130706433:{port}/v1",
        f"http://{hostname}:{port}/v1",
    ):
        mock.clear()
        response = post(strict_gateway, {"model": "m"}, **{"x-portkey-custom-host": host})
        assert response.status_code == 403, (host, response.text)
        assert response.json()["error"]["code"] == "custom_host_not_allowed"
        assert mock.requests() == []  # nothing reached the private host
    logged, _ = await events.log(strict_gateway, portkey_headers(response.headers))
    assert logged.status == 403


async def test_caller_leaving_mid_stream_is_logged_as_499(gateway, mock, events):
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "a b c d e f g h"}],
        "stream": True,
        "mock": {"chunk_delay_ms": 100},
    }
    headers = {"x-portkey-custom-host": mock.v1, "authorization": "Bearer k"}
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream(
            "POST", f"{gateway.v1}/chat/completions", json=body, headers=headers
        ) as response:
            request_id = response.headers["x-portkey-request-id"]
            async for line in response.aiter_lines():
                if '"content":"mock"' in line:
                    break  # leave after the first token; the provider has more to send
    logged, _ = await events.log(gateway, request_id)
    assert logged.status == 499
    assert logged.error["type"] == "client_closed"
    # What was relayed before the caller left is in the log.
    assert msgspec_content(logged).startswith("mock")
