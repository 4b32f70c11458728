import msgspec
from portcullis_gateway.domain.redaction import (
    REDACTED,
    redact_config,
    redact_headers,
    strip_userinfo,
)


def test_credentials_are_removed_and_the_rest_kept():
    raw = [
        (b"authorization", b"Bearer sk-secret"),
        (b"x-portkey-api-key", b"pk-secret"),
        (b"api-key", b"azure-secret"),
        (b"x-api-key", b"anthropic-secret"),
        (b"cookie", b"sid=1"),
        (b"x-custom-auth-token", b"t"),
        (b"x-portkey-metadata", b'{"_user": "u"}'),
        (b"user-agent", b"OpenAI/Python 1.0"),
        (b"accept", b"a"),
        (b"accept", b"b"),
    ]
    headers = redact_headers(raw)
    assert headers == {
        "x-portkey-metadata": '{"_user": "u"}',
        "user-agent": "OpenAI/Python 1.0",
        "accept": "a, b",
    }
    assert "secret" not in msgspec.json.encode(headers).decode()


def test_inline_config_secrets_are_masked_recursively():
    config = '{"provider": "openai", "api_key": "sk-1", "targets": [{"aws_secret_access_key": "x", "weight": 1}]}'
    masked = msgspec.json.decode(redact_config(config))
    assert masked == {
        "provider": "openai",
        "api_key": REDACTED,
        "targets": [{"aws_secret_access_key": REDACTED, "weight": 1}],
    }


def test_saved_config_id_is_kept_and_broken_json_is_dropped():
    assert redact_config("pc-abc") == "pc-abc"
    assert redact_config('{"api_key": "sk-1"') == REDACTED


def test_custom_host_credentials_are_stripped_in_stored_headers():
    raw = [(b"x-portkey-custom-host", b"http://user:pw@example.com:81/v1")]
    assert redact_headers(raw) == {"x-portkey-custom-host": "http://example.com:81/v1"}
    assert strip_userinfo("http://example.com/v1") == "http://example.com/v1"


def test_a_config_nested_too_deep_to_walk_is_dropped_not_an_error():
    # Refused with a 400 (routing's limits) but still logged: masking must not raise.
    for levels in (900, 50_000):
        deep = '{"targets":[' * levels + '{"api_key":"sk-deep"}' + "]}" * levels
        assert redact_config(deep) == REDACTED
