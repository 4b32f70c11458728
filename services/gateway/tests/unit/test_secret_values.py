"""Masking by value: every form a credential takes in text (as it is, JSON-escaped, a
PEM key line by line), JSON kept valid, short and number-only values left alone."""

import json

import msgspec
from portcullis_gateway.domain.secret_values import (
    MASK,
    MIN_MASKED_LEN,
    add,
    mask_json,
    mask_text,
    secret_fields,
    secret_meta,
    values_of,
)

PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "NOTAREALKEYfirstbodylineofafakepemforthemaskingtestonly00000000\n"
    "NOTAREALKEYsecondbodyline/withaslash+andaplusforescapingcases00\n"
    "-----END PRIVATE KEY-----\n"
)
LINES = PEM.splitlines()[1:3]


def test_a_key_in_an_error_body_is_masked_and_the_body_stays_json():
    body = msgspec.json.encode(
        {"error": {"message": "Incorrect API key provided: sk-live-1234567890.", "code": None}}
    )
    masked = mask_json(body, ["sk-live-1234567890"])
    assert msgspec.json.decode(masked)["error"]["message"] == f"Incorrect API key provided: {MASK}."


def test_a_pem_key_is_masked_escaped_whole_and_line_by_line():
    whole = msgspec.json.encode({"private_key": PEM})
    assert LINES[0].encode() not in mask_json(whole, [PEM])
    # Re-wrapped or cut in pieces, each body line is still a secret of its own.
    one_line = msgspec.json.encode({"text": f"key line {LINES[1]} leaked"})
    assert LINES[1].encode() not in mask_json(one_line, [PEM])
    # As a log line would print it, newlines and all.
    assert LINES[0] not in mask_text(f"bad key: {PEM}", [PEM])
    # The armour lines are not secrets on their own.
    assert mask_text("-----BEGIN PRIVATE KEY-----", [PEM]) == "-----BEGIN PRIVATE KEY-----"


def test_json_that_escapes_the_solidus_is_masked_too():
    escaped = ('{"k": "' + LINES[1].replace("/", "\\/") + '"}').encode()  # PHP's way
    assert json.loads(escaped) == {"k": LINES[1]}
    assert b"4R4" not in mask_json(escaped, [PEM])


def test_a_value_with_a_quote_is_masked_only_where_json_quotes_it():
    value = 'sk"quoted-value'
    body = msgspec.json.encode({"a": value})
    masked = mask_json(body, [value])
    assert msgspec.json.decode(masked) == {"a": MASK}


def test_short_and_number_only_values_are_not_collected():
    values: list[str] = []
    add(values, "x" * (MIN_MASKED_LEN - 1))
    add(values, "1234567890123")  # could stand outside a JSON string
    add(values, None)
    add(values, "sk-long-enough")
    assert values == ["sk-long-enough"]


def test_a_json_credential_yields_itself_and_its_declared_parts():
    text = json.dumps({"private_key": PEM, "client_email": "sa@example.iam"})
    assert values_of(text, ("private_key",)) == [text, PEM]
    assert values_of({"private_key": PEM}, ("private_key",)) == [PEM]
    assert values_of("not json at all", ("private_key",)) == ["not json at all"]


def test_declarations_are_read_back_from_annotations():
    from typing import Annotated

    class Target(msgspec.Struct):
        plain: str | None = None
        key: Annotated[str, secret_meta()] | None = None
        account: Annotated[dict | str, secret_meta(parts=("private_key",))] | None = None

    assert secret_fields(Target) == {"key": (), "account": ("private_key",)}
