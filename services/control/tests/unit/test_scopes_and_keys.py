"""The pure identity rules: scope checks, what a key may be granted, key hashing and
masking, and which resource and action an audited call is."""

from __future__ import annotations

import pytest
from portcullis_control.domain.audit import describe
from portcullis_control.domain.errors import InvalidRequest, MissingScope
from portcullis_control.domain.key_values import key_hash, mask, new_key_value
from portcullis_control.domain.requests import ApiKeyCreate, parse
from portcullis_control.domain.scopes import ALL_SCOPES, Principal, grantable_scopes, require


def _who(*scopes: str, workspace: str | None = "ws-1") -> Principal:
    return Principal("k", "org", workspace, frozenset(scopes))


def test_require_names_the_missing_scope() -> None:
    require(_who("configs.read"), "configs.read")
    with pytest.raises(MissingScope) as caught:
        require(_who("configs.read"), "configs.delete")
    assert caught.value.status == 403 and caught.value.param == "configs.delete"


def test_grantable_scopes() -> None:
    admin = _who(*ALL_SCOPES, workspace=None)
    assert grantable_scopes(admin, "workspace", ["logs.view", "logs.view"]) == ["logs.view"]
    with pytest.raises(InvalidRequest, match="organisation keys only"):
        grantable_scopes(admin, "workspace", ["workspaces.create"])
    with pytest.raises(InvalidRequest, match="unknown scope"):
        grantable_scopes(admin, "organisation", ["everything"])
    with pytest.raises(MissingScope):
        grantable_scopes(_who("logs.view"), "workspace", ["logs.view", "configs.read"])


def test_key_hash_is_keyed() -> None:
    value = new_key_value()
    assert key_hash(b"a", value) == key_hash(b"a", value)
    assert key_hash(b"a", value) != key_hash(b"b", value)
    assert value not in key_hash(b"a", value) and len(key_hash(b"a", value)) == 64
    assert new_key_value() != value


def test_mask_shows_only_the_ends() -> None:
    assert mask("sk-abcdefghijklmnop") == "sk*******op"
    assert mask("short") == "*****"


def test_request_errors_name_the_field() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse(b'{"name": "k"}', ApiKeyCreate)
    assert caught.value.param == "scopes"
    with pytest.raises(InvalidRequest) as caught:
        parse(
            b'{"name": "k", "scopes": [], "rate_limits": [{"type": "x", "unit": "rpm", "value": 1}]}',
            ApiKeyCreate,
        )
    assert caught.value.param == "rate_limits"
    with pytest.raises(InvalidRequest):
        parse(b"[]", ApiKeyCreate)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/v1/admin/workspaces", ("workspaces", "create")),
        ("PUT", "/v1/virtual-keys/main-1", ("virtual_keys", "update")),
        ("DELETE", "/v1/api-keys/abc", ("api_keys", "delete")),
        ("POST", "/v1/policies/rate-limits", ("rate_limits_policies", "create")),
    ],
)
def test_describe(method: str, path: str, expected: tuple[str, str]) -> None:
    assert describe(method, path) == expected
