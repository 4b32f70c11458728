"""Credentials are declared where they are defined, and the masking tables come from the
declarations: every provider's key header and secret options, the caller's key headers,
the config's secret fields. A name that looks like a credential and is not declared
fails here, as does an option an adapter reads that no spec declares."""

import re
from pathlib import Path

import msgspec
import portcullis_gateway
from portcullis_gateway.domain.credentials import (
    SECRET_CONFIG_FIELDS,
    SECRET_HEADERS,
    SECRET_OPTIONS,
    request_credentials,
    specs,
)
from portcullis_gateway.domain.redaction import REDACTED, redact_config, redact_headers
from portcullis_gateway.domain.resolution import CALLER_CREDENTIAL_HEADERS, scan_headers
from portcullis_gateway.providers import PROVIDERS
from portcullis_gateway.routing import config as routing_config

# What a credential's name looks like; a match must be declared secret.
_LOOKS_SECRET = re.compile(
    r"key|token|secret|password|passwd|credential|auth|bearer|private|service.account|"
    r"signature|cookie|session",
    re.IGNORECASE,
)
# Option names adapters read, as literals: ``options.headers.get("name")``,
# ``extra.get("name")``, ``options.get("name")``, ``options.headers["name"]``.
# (Writes, ``headers["x-api-key"] = ...``, build the provider's request: not reads.)
_OPTION_READ = re.compile(
    r'(?:headers|extra|options)(?:\.get\(\s*"([a-z0-9-]+)"|\[\s*"([a-z0-9-]+)"\](?!\s*=[^=]))'
)
_PACKAGE = Path(portcullis_gateway.__file__).parent
# Where options are read: the adapters, and the request path's cloud credentials.
_READERS = [
    *sorted((_PACKAGE / "providers").glob("*.py")),
    _PACKAGE / "adapters/cloud_credentials.py",
]


def declared_options() -> dict[str, bool]:
    out: dict[str, bool] = {}
    for spec in specs(PROVIDERS):
        for option in spec.options:
            assert out.setdefault(option.name, option.secret) == option.secret, (
                f"{option.name} declared secret by one provider and not by another"
            )
    return out


def test_every_option_an_adapter_reads_is_declared_by_a_spec():
    declared = declared_options()
    read = {
        name
        for path in _READERS
        for pair in _OPTION_READ.findall(path.read_text())
        for name in pair
        # Request fields (include_usage) and response headers are not options.
        if "-" in name
    }
    assert read, "the pattern no longer finds the option reads"
    assert read <= declared.keys(), (
        f"read but not declared in any ProviderSpec.options: {read - declared.keys()}"
    )


def test_every_name_that_looks_like_a_credential_is_declared_secret():
    undeclared = [
        f"option {name}"
        for name, secret in declared_options().items()
        if _LOOKS_SECRET.search(name) and not secret
    ]
    undeclared += [
        f"config field {field.name}"
        for field in msgspec.structs.fields(routing_config.TargetSpec)
        if _LOOKS_SECRET.search(field.name) and field.name not in SECRET_CONFIG_FIELDS
    ]
    assert not undeclared, f"looks like a credential, not declared secret: {undeclared}"


def test_config_fields_and_the_options_they_set_agree_on_what_is_secret():
    options = declared_options()
    for field, option in routing_config._OPTION_FIELDS.items():
        assert option in options, f"config field {field} sets {option}, which no spec declares"
        assert (field in SECRET_CONFIG_FIELDS) == options[option], field
        parts = routing_config.SECRET_FIELDS.get(field, ())
        assert parts == SECRET_OPTIONS.get(option, ()), f"{field} and {option} name other parts"


def test_the_tables_hold_every_declared_credential():
    for spec in specs(PROVIDERS):
        assert spec.auth_header in SECRET_HEADERS, spec.name
        for option in spec.options:
            assert (f"x-portkey-{option.name}" in SECRET_HEADERS) == option.secret, option.name
    assert set(CALLER_CREDENTIAL_HEADERS) <= SECRET_HEADERS
    assert {"api_key", "aws_access_key_id", "vertex_service_account_json"} <= SECRET_CONFIG_FIELDS
    assert "aws_region" not in SECRET_CONFIG_FIELDS
    assert "x-portkey-aws-region" not in SECRET_HEADERS
    assert SECRET_OPTIONS["vertex-service-account-json"] == ("private_key",)


def test_declared_headers_are_not_stored_even_without_a_secret_looking_name():
    raw = [
        (b"x-portkey-aws-access-key-id", b"AKIAEXAMPLEKEY01"),
        (b"x-portkey-vertex-service-account-json", b'{"private_key": "pem"}'),
        (b"x-goog-api-key", b"AIzaSyExample"),
        (b"x-portkey-aws-region", b"eu-west-1"),
    ]
    assert redact_headers(raw) == {"x-portkey-aws-region": "eu-west-1"}


def test_declared_config_fields_are_masked_at_any_depth():
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {"provider": "bedrock", "aws_access_key_id": "AKIA1", "aws_region": "eu-west-1"},
            {
                "provider": "vertex-ai",
                "vertex_project_id": "p",
                "vertex_service_account_json": {"private_key": "pem", "client_email": "e"},
            },
        ],
    }
    masked = msgspec.json.decode(redact_config(msgspec.json.encode(config).decode()))
    assert masked["targets"][0] == {
        "provider": "bedrock",
        "aws_access_key_id": REDACTED,
        "aws_region": "eu-west-1",
    }
    assert masked["targets"][1]["vertex_service_account_json"] == REDACTED
    assert masked["targets"][1]["vertex_project_id"] == "p"


def test_a_requests_credential_values_are_collected_from_headers_and_config():
    account = msgspec.json.encode(
        {"client_email": "sa@p.iam", "private_key": "-----BEGIN KEY-----\nMIIEvQIBADANBg\n"}
    ).decode()
    config = msgspec.json.encode(
        {
            "strategy": {"mode": "fallback"},
            "targets": [
                {"provider": "openai", "api_key": "sk-config-target-0"},
                {"provider": "bedrock", "aws_secret_access_key": "aws-secret-in-config"},
            ],
        }
    ).decode()
    inbound = scan_headers(
        [
            (b"authorization", b"Bearer sk-header-key-1"),
            (b"x-api-key", b"sk-ant-header-key"),
            (b"x-portkey-azure-ad-token", b"short"),  # under the length worth masking
            (b"x-portkey-vertex-service-account-json", account.encode()),
            (b"x-portkey-config", config.encode()),
        ]
    )
    values = request_credentials(inbound, PROVIDERS)
    assert "sk-header-key-1" in values and "Bearer sk-header-key-1" not in values
    assert "sk-ant-header-key" in values
    assert "short" not in values
    assert account in values
    assert "-----BEGIN KEY-----\nMIIEvQIBADANBg\n" in values  # the part declared
    assert "sk-config-target-0" in values and "aws-secret-in-config" in values


def test_a_config_that_does_not_parse_yields_no_values_and_no_error():
    inbound = scan_headers([(b"x-portkey-config", b'{"api_key": "sk-broken-config", ')])
    assert request_credentials(inbound, PROVIDERS) == []
