import pytest
from portcullis_gateway.domain.errors import GatewayError, HostNotAllowed, InvalidRequest
from portcullis_gateway.domain.host_policy import HostPolicy
from portcullis_gateway.domain.resolution import (
    parse_config,
    parse_metadata,
    resolve_target,
    scan_headers,
)
from portcullis_gateway.providers import PROVIDERS

OPEN = HostPolicy(allow_private=True)
STRICT = HostPolicy(allow_private=False)


def resolve(headers: dict[str, str], authorization: str | None = None, policy=OPEN):
    return resolve_target(headers, authorization, policy, PROVIDERS)


def test_provider_header_targets_openai_with_caller_bearer():
    target = resolve({"x-portkey-provider": "openai"}, "Bearer sk-caller")
    assert target.provider == "openai"
    assert target.base_url == "https://api.openai.com/v1"
    assert target.credential == ("authorization", "Bearer sk-caller")
    assert target.custom_host is False
    assert target.prices_id == "openai"


def test_provider_name_is_case_insensitive():
    assert resolve({"x-portkey-provider": " OpenAI "}).provider == "openai"


def test_custom_host_alone_means_openai_compatible():
    target = resolve({"x-portkey-custom-host": "http://127.0.0.1:9000/v1/"})
    assert target.provider == "openai"
    assert target.base_url == "http://127.0.0.1:9000/v1"
    assert target.custom_host is True
    assert target.credential is None


def test_inline_config_wins_and_its_api_key_becomes_the_bearer():
    config = '{"provider": "openai", "api_key": "sk-config", "custom_host": "http://10.0.0.5/v1"}'
    target = resolve(
        {"x-portkey-config": config, "x-portkey-custom-host": "http://other/v1"}, "Bearer sk-caller"
    )
    assert target.base_url == "http://10.0.0.5/v1"
    assert target.credential == ("authorization", "Bearer sk-config")


def test_request_timeout_from_header_and_config():
    assert (
        resolve({"x-portkey-provider": "openai", "x-portkey-request-timeout": "1500"}).timeout_s
        == 1.5
    )
    config = '{"provider": "openai", "request_timeout": 250}'
    assert resolve({"x-portkey-config": config}).timeout_s == 0.25
    with pytest.raises(InvalidRequest, match="request-timeout"):
        resolve({"x-portkey-provider": "openai", "x-portkey-request-timeout": "soon"})


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_provider"),
        ({"x-portkey-provider": "no-such-llm"}, "unknown_provider"),
        ({"x-portkey-config": "pc-abc123"}, "saved_config_unavailable"),
        ({"x-portkey-config": "{not json"}, "invalid_config"),
        ({"x-portkey-config": "[1, 2]"}, "invalid_config"),
        ({"x-portkey-config": '{"provider": 5}'}, "invalid_config"),
        (
            {"x-portkey-config": '{"strategy": {"mode": "fallback"}, "targets": []}'},
            "invalid_config",
        ),
        ({"x-portkey-config": '{"virtual_key": "vk-1"}'}, "virtual_key_unavailable"),
        ({"x-portkey-virtual-key": "vk-1"}, "virtual_key_unavailable"),
        ({"x-portkey-custom-host": "ftp://host/v1"}, "invalid_custom_host"),
    ],
)
def test_bad_inputs_are_400_with_a_code_naming_the_problem(headers, code):
    with pytest.raises(InvalidRequest) as info:
        resolve(headers)
    assert info.value.status == 400
    assert info.value.code == code


def test_saved_config_message_says_it_arrives_later():
    with pytest.raises(InvalidRequest, match="saved configs are not available yet"):
        parse_config("pc-prod-1", PROVIDERS)


def test_strict_policy_refuses_private_custom_host_with_403():
    with pytest.raises(HostNotAllowed) as info:
        resolve({"x-portkey-custom-host": "http://127.0.0.1:8790/v1"}, policy=STRICT)
    assert info.value.status == 403


def test_error_messages_never_carry_the_key():
    config = '{"provider": "nope", "api_key": "sk-secret-value"}'
    with pytest.raises(GatewayError) as info:
        resolve({"x-portkey-config": config}, "Bearer sk-other-secret")
    assert "sk-secret-value" not in info.value.message
    assert "sk-other-secret" not in info.value.message


def test_metadata_parses_strings_and_user():
    metadata, user = parse_metadata('{"_user": "u-1", "env": "test"}')
    assert metadata == {"_user": "u-1", "env": "test"}
    assert user == "u-1"
    assert parse_metadata(None) == ({}, None)


@pytest.mark.parametrize(
    "value", ["{oops", '["a"]', '{"n": 1}', '{"nested": {"a": "b"}}', '"text"']
)
def test_malformed_metadata_is_400(value):
    with pytest.raises(InvalidRequest) as info:
        parse_metadata(value)
    assert info.value.code == "invalid_metadata"


def test_scan_headers_splits_portkey_credential_and_forwarded():
    raw = [
        (b"host", b"gw"),
        (b"authorization", b"Bearer sk-1"),
        (b"content-type", b"application/json"),
        (b"content-length", b"42"),
        (b"x-portkey-provider", b"openai"),
        (b"x-portkey-api-key", b"pk-1"),
        (b"openai-organization", b"org-1"),
        (b"user-agent", b"OpenAI/Python"),
        (b"traceparent", b"00-" + b"a" * 32 + b"-" + b"b" * 16 + b"-01"),
        (b"connection", b"keep-alive"),
        (b"cookie", b"session=1"),
    ]
    inbound = scan_headers(raw)
    assert inbound.portkey == {"x-portkey-provider": "openai", "x-portkey-api-key": "pk-1"}
    assert inbound.authorization == "Bearer sk-1"
    assert inbound.content_length == 42
    assert inbound.traceparent.startswith("00-aaaa")
    assert inbound.forward == [("openai-organization", "org-1"), ("user-agent", "OpenAI/Python")]
