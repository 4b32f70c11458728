import msgspec
import pytest
from portcullis_gateway.domain.bodies import peek_request, provider_error_body
from portcullis_gateway.domain.errors import (
    BodyTooLarge,
    HostNotAllowed,
    InvalidRequest,
    UpstreamTimeout,
    UpstreamUnreachable,
)


def test_peek_reads_model_and_stream_only():
    peek = peek_request(b'{"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user"}]}')
    assert peek.model == "gpt-4o-mini"
    assert peek.stream is True
    assert peek_request(b"{}").stream is None


@pytest.mark.parametrize(
    ("body", "code", "text", "param"),
    [
        (b'{"model": ', "invalid_json", "not valid JSON", None),
        (b"", "invalid_json", "not valid JSON", None),
        (b"[1, 2]", "invalid_body", "must be a JSON object", None),
        (b'"hello"', "invalid_body", "must be a JSON object", None),
        (b'{"stream": "yes"}', "invalid_body", "invalid stream", "stream"),
        (b'{"model": 5}', "invalid_body", "invalid model", "model"),
        (b'{"model": "\xff"}', "invalid_utf8", "not valid UTF-8 (byte 11", None),
        # Never decoded, but the bytes go to the provider and into the log.
        (b'{"model": "m", "x": "caf\xc3"}', "invalid_utf8", "not valid UTF-8 (byte 24", None),
        # Deep enough for msgspec's skipping to pass Python's recursion limit.
        (b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "json_too_deep", "deeper than 64", None),
    ],
)
def test_bad_bodies_are_400(body, code, text, param):
    with pytest.raises(InvalidRequest) as info:
        peek_request(body)
    assert info.value.status == 400
    assert info.value.code == code
    assert text in info.value.message
    assert info.value.param == param
    assert msgspec.json.decode(info.value.body())["error"]["param"] == param


def test_peek_leaves_the_nesting_of_a_body_it_never_decodes_to_the_provider():
    body = b'{"model": "m", "x": ' + b"[" * 100 + b"]" * 100 + b"}"
    assert peek_request(body).model == "m"


def test_openai_style_provider_error_passes_through_byte_for_byte():
    body = b'{"error": {"message": "Rate limit", "type": "rate_limit_error", "code": "rl"}}'
    assert provider_error_body("openai", 429, body) == (body, True)


@pytest.mark.parametrize(
    ("body", "status", "expected_type", "fragment"),
    [
        (b"<html>Bad Gateway</html>", 502, "api_error", "<html>Bad Gateway</html>"),
        (b'{"error": "model overloaded"}', 503, "api_error", "model overloaded"),
        (b'{"detail": "nope"}', 422, "invalid_request_error", '{"detail": "nope"}'),
        (b"", 401, "authentication_error", "no body"),
    ],
)
def test_other_provider_errors_are_wrapped(body, status, expected_type, fragment):
    wrapped, own = provider_error_body("openai", status, body)
    assert own is False
    error = msgspec.json.decode(wrapped)["error"]
    assert error["type"] == expected_type
    assert error["code"] == "provider_error"
    assert error["message"].startswith(f"openai answered {status}: ")
    assert fragment in error["message"]


@pytest.mark.parametrize(
    ("error", "status", "type_"),
    [
        (InvalidRequest("x"), 400, "invalid_request_error"),
        (BodyTooLarge("x"), 413, "invalid_request_error"),
        (HostNotAllowed("x"), 403, "permission_error"),
        (UpstreamUnreachable("x"), 502, "api_error"),
        (UpstreamTimeout("x"), 504, "timeout_error"),
    ],
)
def test_gateway_errors_have_one_openai_style_shape(error, status, type_):
    assert error.status == status
    body = msgspec.json.decode(error.body())
    assert body == {"error": {"message": "x", "type": type_, "param": None, "code": error.code}}
    assert error.as_dict() == body["error"]
