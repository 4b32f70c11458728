"""Bad input through the running gateway (issue 10): nesting past the limit in bodies
and JSON headers, invalid UTF-8, wrong field types where bodies enter, and numeric
headers out of range are each a 400 naming the field, header or limit, in OpenAI's
error shape (Anthropic's on /v1/messages), never a 500; and what is refused is still
logged."""

import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest

KEY = "sk-inputs-secret"
HI = [{"role": "user", "content": "hi"}]
CHAT = json.dumps({"model": "m", "messages": HI}).encode()
# Far past Python's recursion limit, where msgspec raised RecursionError (a 500).
DEEP = "[" * 5000 + "]" * 5000
# Past the gateway's limit (64) but well within msgspec's.
NESTED_70 = "[" * 70 + "]" * 70


def post(gateway, path: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.v1}{path}",
        content=body,
        headers={"content-type": "application/json", "authorization": f"Bearer {KEY}", **headers},
        timeout=20,
    )


def openai_error(response: httpx.Response, code: str, param: str | None) -> dict:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    assert error["param"] == param
    assert KEY not in response.text
    return error


def with_field(value: str) -> bytes:
    return b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "x": ' + (
        value.encode() + b"}"
    )


# --- nesting ---------------------------------------------------------------------------

TRANSLATED = {"x-portkey-provider": "anthropic"}  # the adapter decodes the body


@pytest.mark.parametrize(
    ("case", "body", "headers"),
    [
        ("deep body, passed on untouched", with_field(DEEP), {}),
        ("deep body, translated", with_field(DEEP), TRANSLATED),
        ("70 levels, translated", with_field(NESTED_70), TRANSLATED),
    ],
)
def test_a_body_nested_too_deep_is_a_400_naming_the_limit(gateway, mock, case, body, headers):
    response = post(
        gateway, "/chat/completions", body, **{"x-portkey-custom-host": mock.v1, **headers}
    )
    error = openai_error(response, "json_too_deep", None)
    assert error["message"] == "request body nests deeper than 64 levels"


def test_a_body_the_gateway_never_decodes_keeps_its_nesting(gateway, mock):
    # Passed on untouched (only model and stream are read): the provider judges it.
    mock.clear()
    response = post(
        gateway, "/chat/completions", with_field(NESTED_70), **{"x-portkey-custom-host": mock.v1}
    )
    assert response.status_code == 200, response.text
    assert mock.requests()[-1]["body"]["x"] is not None


def test_a_routing_config_reading_the_body_checks_its_depth(gateway, mock):
    config = {
        "strategy": {
            "mode": "conditional",
            "conditions": [{"query": {"params.model": {"$eq": "m"}}, "then": "a"}],
            "default": "a",
        },
        "targets": [{"name": "a", "provider": "openai", "custom_host": mock.v1}],
    }
    response = post(
        gateway,
        "/chat/completions",
        with_field(NESTED_70),
        **{"x-portkey-config": json.dumps(config)},
    )
    openai_error(response, "json_too_deep", None)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-portkey-metadata", '{"a": ' + DEEP + "}"),
        ("x-portkey-metadata", '{"a": ' + NESTED_70 + "}"),
        ("x-portkey-config", '{"provider": "openai", "x": ' + DEEP + "}"),
        ("x-portkey-config", '{"provider": "openai", "x": ' + NESTED_70 + "}"),
    ],
)
async def test_a_json_header_nested_too_deep_is_a_400_naming_it(
    gateway, mock, events, header, value
):
    response = post(
        gateway, "/chat/completions", CHAT, **{"x-portkey-custom-host": mock.v1, header: value}
    )
    error = openai_error(response, "json_too_deep", header)
    assert error["message"] == f"{header} nests deeper than 64 levels"
    # The refusal is logged, the config masked whole rather than decoded.
    logged, _ = await events.log(gateway, response.headers["x-portkey-request-id"])
    assert logged.status == 400 and logged.error["code"] == "json_too_deep"
    if header == "x-portkey-config":
        assert logged.request_headers[header] == "[REDACTED]"


def test_a_deep_vertex_service_account_is_a_400(gateway, mock):
    response = post(
        gateway,
        "/chat/completions",
        CHAT,
        **{
            "x-portkey-provider": "vertex-ai",
            "x-portkey-custom-host": mock.v1,
            "x-portkey-vertex-project-id": "p",
            "x-portkey-vertex-service-account-json": '{"type": ' + DEEP + "}",
        },
    )
    error = openai_error(response, "json_too_deep", None)
    assert "service account JSON nests deeper than 64 levels" in error["message"]


@pytest.mark.parametrize("nesting", [NESTED_70, DEEP], ids=["70 levels", "5000 levels"])
async def test_a_deep_body_passed_through_is_forwarded_and_logged_as_text(
    gateway, mock, events, nesting
):
    # Other /v1 paths stream the body on: the gateway cannot refuse what it already sent,
    # but the log must not hold JSON its readers would recurse into.
    mock.clear()
    body = b'{"model": "dall-e-3", "prompt": "a cat", "x": ' + nesting.encode() + b"}"
    response = post(gateway, "/images/generations", body, **{"x-portkey-custom-host": mock.v1})
    if nesting == NESTED_70:
        assert response.status_code == 200, response.text
        assert mock.requests()[-1]["path"] == "/v1/images/generations"
    else:
        # The mock's own JSON parser gives up on 5000 levels: its 400 is relayed.
        assert response.status_code == 400
        assert response.json()["error"]["message"].startswith("invalid request")
    logged, _ = await events.log(gateway, response.headers["x-portkey-request-id"])
    assert logged.status == response.status_code
    assert json.loads(bytes(logged.request_body)) == body.decode()


# --- UTF-8 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "body", "headers", "byte"),
    [
        ("model, passed on", b'{"model": "\xff", "messages": []}', {}, 11),
        ("content, passed on", b'{"model": "m", "messages": [{"content": "caf\xc3"}]}', {}, 44),
        (
            "content, translated",
            b'{"model": "m", "messages": [{"content": "caf\xc3"}]}',
            TRANSLATED,
            44,
        ),
    ],
)
async def test_invalid_utf8_is_a_400_naming_the_byte(
    gateway, mock, events, case, body, headers, byte
):
    mock.clear()
    response = post(
        gateway, "/chat/completions", body, **{"x-portkey-custom-host": mock.v1, **headers}
    )
    error = openai_error(response, "invalid_utf8", None)
    assert error["message"].startswith(f"request body is not valid UTF-8 (byte {byte} ")
    assert mock.requests() == []
    logged, _ = await events.log(gateway, response.headers["x-portkey-request-id"])
    assert logged.status == 400  # logged as text, with the bad byte replaced
    assert "\ufffd" in json.loads(bytes(logged.request_body))


# --- field types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "headers", "param"),
    [
        ("/chat/completions", {"model": 5, "messages": HI}, {}, "model"),
        ("/chat/completions", {"model": "m", "messages": HI, "stream": "yes"}, {}, "stream"),
        ("/embeddings", {"model": 5, "input": "hi"}, {}, "model"),
        ("/completions", {"model": ["m"], "prompt": "hi"}, {}, "model"),
        (
            "/chat/completions",
            {"model": "m", "messages": [{"role": "user", "content": 5}]},
            TRANSLATED,
            "messages[0].content",
        ),
        ("/chat/completions", {"model": "m", "messages": "x"}, TRANSLATED, "messages"),
        ("/chat/completions", {"model": "m", "messages": HI, "tools": "x"}, TRANSLATED, "tools"),
        (
            "/chat/completions",
            {"model": "m", "messages": HI, "temperature": "hot"},
            TRANSLATED,
            "temperature",
        ),
        (
            "/chat/completions",
            {
                "model": "m",
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}],
                    }
                ],
            },
            TRANSLATED,
            "messages[0].tool_calls[0].function.arguments",
        ),
    ],
)
def test_a_wrong_type_is_a_400_naming_the_field(gateway, mock, path, body, headers, param):
    response = post(
        gateway, path, json.dumps(body).encode(), **{"x-portkey-custom-host": mock.v1, **headers}
    )
    error = openai_error(response, "invalid_body", param)
    assert f"invalid {param} in the request body" in error["message"]


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/embeddings", {"model": "embed-english-v3.0", "input": 5}, "input"),
        ("/rerank", {"model": "rerank-v3.5", "query": 5, "documents": ["a"]}, "query"),
        ("/rerank", {"model": "rerank-v3.5", "query": "q", "documents": "a"}, "documents"),
    ],
)
def test_translated_embeddings_and_rerank_check_their_fields(gateway, mock, path, body, param):
    headers = {"x-portkey-provider": "cohere", "x-portkey-custom-host": mock.url + "/v2"}
    response = post(gateway, path, json.dumps(body).encode(), **headers)
    openai_error(response, "invalid_body", param)


def test_what_the_gateway_does_not_read_still_passes_untouched(gateway, mock):
    mock.clear()
    body = {"model": "m", "messages": [{"role": "user", "content": 5}], "seed": "x"}
    response = post(
        gateway,
        "/chat/completions",
        json.dumps(body).encode(),
        **{"x-portkey-custom-host": mock.v1},
    )
    # The provider's to judge: the mock answers, it does not validate.
    assert response.status_code == 200, response.text
    assert mock.requests()[-1]["body"]["seed"] == "x"


# --- /v1/messages ----------------------------------------------------------------------

MESSAGES_HI = [{"role": "user", "content": "hi"}]


def messages(gateway, mock, body: bytes, provider: str = "openai") -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/v1/messages",
        content=body,
        headers={
            "content-type": "application/json",
            "x-api-key": KEY,
            "x-portkey-provider": provider,
            "x-portkey-custom-host": mock.v1,
        },
        timeout=20,
    )


def anthropic_error(response: httpx.Response, *needles: str) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    message = body["error"]["message"]
    for needle in needles:
        assert needle in message
    assert KEY not in response.text
    return message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
        ),
        ({"model": "m", "max_tokens": 5, "messages": MESSAGES_HI, "tools": "x"}, "tools"),
        ({"model": "m", "max_tokens": 5, "messages": MESSAGES_HI, "system": 5}, "system"),
        ({"model": 5, "max_tokens": 5, "messages": MESSAGES_HI}, "model"),
        ({"model": "m", "max_tokens": "5", "messages": MESSAGES_HI}, "max_tokens"),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}],
            },
            "messages[0].content[0].text",
        ),
    ],
)
def test_messages_wrong_types_are_anthropic_400s_naming_the_field(gateway, mock, body, field):
    anthropic_error(messages(gateway, mock, json.dumps(body).encode()), f"invalid {field} ")


def test_messages_to_anthropic_untouched_still_checks_model(gateway, mock):
    mock.clear()
    body = {"model": 5, "max_tokens": 5, "messages": MESSAGES_HI}
    anthropic_error(
        messages(gateway, mock, json.dumps(body).encode(), "anthropic"), "invalid model "
    )
    assert mock.requests() == []


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_messages_deep_or_not_utf8_are_anthropic_400s(gateway, mock, provider):
    deep = b'{"model": "m", "max_tokens": 5, "messages": [], "x": ' + DEEP.encode() + b"}"
    anthropic_error(messages(gateway, mock, deep, provider), "nests deeper than 64 levels")
    bad = b'{"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "\xff"}]}'
    anthropic_error(messages(gateway, mock, bad, provider), "not valid UTF-8")


# --- numeric headers -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "NaN", "0", "-5", "1e12", "soon"])
async def test_request_timeout_must_be_finite_and_in_range(gateway, mock, events, value):
    response = post(
        gateway,
        "/chat/completions",
        CHAT,
        **{"x-portkey-custom-host": mock.v1, "x-portkey-request-timeout": value},
    )
    error = openai_error(response, "invalid_request_timeout", "x-portkey-request-timeout")
    assert "x-portkey-request-timeout must be a number of milliseconds" in error["message"]
    logged, _ = await events.log(gateway, response.headers["x-portkey-request-id"])
    assert logged.error["param"] == "x-portkey-request-timeout"


def test_a_timeout_in_range_still_applies(gateway, mock):
    response = post(
        gateway,
        "/chat/completions",
        CHAT,
        **{"x-portkey-custom-host": mock.v1, "x-portkey-request-timeout": "86400000"},
    )
    assert response.status_code == 200, response.text


# --- bytes that are not HTTP --------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-portkey-config: \x1b\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: 99999999999999999999\r\n\r\n",
        b"GET /v1/health HTTP/1.1\r\nbad header line\r\n\r\n",
    ],
)
def test_bytes_the_server_cannot_parse_get_an_openai_shaped_400(gateway, head):
    """The HTTP parser refuses these before any route runs; its answer is still an error
    an SDK can read."""
    address = urlsplit(gateway.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request"
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in headers
    error = json.loads(body)["error"]
    assert error["code"] == "invalid_http"
    assert error["type"] == "invalid_request_error"
    assert httpx.get(f"{gateway.v1}/health", timeout=5).status_code == 200
