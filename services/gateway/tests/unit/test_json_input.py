"""The JSON gate: the depth scanner against the real nesting of generated JSON, the
string cases that fool a naive bracket count, and the 400s the gate's checks raise."""

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from portcullis_gateway.domain.errors import InvalidRequest
from portcullis_gateway.domain.json_input import (
    MAX_JSON_DEPTH,
    check_depth,
    decode_json,
    decode_object,
    field_error,
    json_depth,
    nests_too_deep,
)


def depth_of(value) -> int:
    """The nesting of a decoded value, the obvious recursive way (tests only)."""
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


# Strings full of what a bracket count trips over: brackets, quotes, backslashes.
_tricky = st.text(alphabet=st.sampled_from('[]{}"\\/ aé\n\t\u2028'), max_size=12)
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _tricky
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_tricky, inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(
    value=_json,
    indent=st.none() | st.integers(0, 2),
    ascii_only=st.booleans(),
)
def test_scanner_depth_is_the_real_depth(value, indent, ascii_only):
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    assert json_depth(text) == depth_of(value)


@settings(max_examples=100, deadline=None)
@given(value=_json, depth=st.integers(0, 80))
def test_scanner_sees_a_value_wrapped_deeper(value, depth):
    text = ("[" * depth + json.dumps(value) + "]" * depth).encode()
    assert json_depth(text) == depth + depth_of(value)
    assert nests_too_deep(text) == (depth + depth_of(value) > MAX_JSON_DEPTH)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"5", 0),
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'["[[[[[[", "{{{{"]', 1),  # brackets inside strings do not count
        (b'["]]]]", [[1]]]', 3),  # nor do closing ones
        (b'["a\\"[[[", [2]]', 2),  # an escaped quote does not end the string
        (b'["a\\\\", [[3]]]', 3),  # an escaped backslash does not escape the quote
        (b'["a\\\\\\"[[", [4]]', 2),  # backslash pair, then an escaped quote
        (b'["\\u005c", [[5]]]', 3),  # a backslash written as \u005c escapes nothing
        (b'{"k[": {"v": "]"}}', 2),
    ],
)
def test_scanner_on_strings_that_fool_a_bracket_count(text, depth):
    assert json.loads(text) is not None  # each case is valid JSON
    assert json_depth(text) == depth


def test_check_depth_names_the_limit_for_bytes_and_header_text():
    too_deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    just_right = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    check_depth(just_right, "x-portkey-config")
    check_depth(just_right.encode(), "request body")
    with pytest.raises(InvalidRequest) as info:
        check_depth(too_deep, "x-portkey-config", "x-portkey-config")
    assert info.value.status == 400
    assert info.value.code == "json_too_deep"
    assert info.value.param == "x-portkey-config"
    assert info.value.message == "x-portkey-config nests deeper than 64 levels"
    with pytest.raises(InvalidRequest):
        check_depth(too_deep.encode(), "request body")


@pytest.mark.parametrize("size", [100, 20_000], ids=["counted first", "scanned at once"])
def test_brackets_inside_strings_never_make_a_body_too_deep(size):
    shallow = json.dumps(["[" * size, {"a": "{" * size}]).encode()
    assert not nests_too_deep(shallow)
    assert not nests_too_deep(shallow.decode())
    deep = ("[" * 65 + json.dumps("]" * size) + "]" * 65).encode()
    assert nests_too_deep(deep)


def test_a_long_run_of_brackets_is_refused_before_msgspec_recurses():
    # Far past Python's recursion limit: the decoder would raise RecursionError.
    body = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(InvalidRequest) as info:
        decode_json(body, "request body")
    assert info.value.code == "json_too_deep"


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b'{"a": "\xff"}', "invalid_utf8", "request body is not valid UTF-8 (byte 7 "),
        (b'{"a": ', "invalid_json", "request body is not valid JSON"),
        (b"[1]", "invalid_body", "request body must be a JSON object"),
    ],
)
def test_decode_object_refusals(body, code, message):
    with pytest.raises(InvalidRequest) as info:
        decode_object(body)
    assert info.value.code == code
    assert info.value.message.startswith(message)


def test_decode_object_returns_the_object():
    assert decode_object(b'{"model": "m", "n": [1]}') == {"model": "m", "n": [1]}


class _Shape(msgspec.Struct):
    model: str
    messages: list[dict] = []


@pytest.mark.parametrize(
    ("value", "param", "fragment"),
    [
        ({"model": 5}, "model", "Expected `str`, got `int`"),
        ({"model": "m", "messages": [{}, 3]}, "messages[1]", "Expected `object`, got `int`"),
        ({}, "model", "missing required field `model`"),
    ],
)
def test_field_error_names_the_field_as_callers_write_it(value, param, fragment):
    try:
        msgspec.convert(value, _Shape)
    except msgspec.ValidationError as exc:
        error = field_error(exc)
    assert error.param == param
    assert error.code == "invalid_body"
    assert f"invalid {param} in the request body" in error.message
    assert fragment in error.message
    assert msgspec.json.decode(error.body())["error"]["param"] == param
