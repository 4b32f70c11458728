"""API key kinds and scopes (the spec's names), and the pure checks on them: what a
route needs, what a key may be granted, what a creator may hand on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from portcullis_control.domain.errors import InvalidRequest, MissingScope

KEY_TYPES = ("organisation", "workspace")
KEY_SUB_TYPES = ("service", "user")

_CRUD = ("create", "read", "list", "update", "delete")


def _crud(resource: str, *extra: str) -> tuple[str, ...]:
    return tuple(f"{resource}.{verb}" for verb in (*_CRUD, *extra))


# Scopes only an organisation key can hold: they reach across workspaces.
ORGANISATION_SCOPES: frozenset[str] = frozenset(
    (
        *_crud("workspaces"),
        *_crud("organisation_service_api_keys"),
        *_crud("organisation_user_api_keys"),
        *_crud("organisation_users"),
        *_crud("rate_limits_policies"),
        *_crud("usage_limits_policies"),
        "audit_logs.list",
    )
)

# Scopes a workspace key may hold, and an organisation key too (it acts on any workspace).
WORKSPACE_SCOPES: frozenset[str] = frozenset(
    (
        *_crud("workspace_service_api_keys"),
        *_crud("workspace_user_api_keys"),
        *_crud("workspace_users"),
        *_crud("virtual_keys", "copy"),
        *_crud("configs"),
        *_crud("prompts", "publish", "render"),
        *_crud("guardrails"),
        *_crud("providers"),
        *_crud("integrations"),
        "logs.export",
        "logs.list",
        "logs.view",
        "logs.create",
        "analytics.view",
        "completions.write",
        "completions.create",
        "embeddings.create",
        "images.create",
        "models.list",
        "feedback.create",
        "feedback.update",
    )
)

ALL_SCOPES: frozenset[str] = ORGANISATION_SCOPES | WORKSPACE_SCOPES


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: one API key, resolved from ``x-portkey-api-key``."""

    key_id: str
    organisation_id: str
    # None for an organisation key, which may act on every workspace of its organisation.
    workspace_id: str | None
    scopes: frozenset[str]


def require(principal: Principal, scope: str) -> None:
    if scope not in principal.scopes:
        raise MissingScope(scope)


def api_key_scope(key_type: str, sub_type: str, verb: str) -> str:
    """The scope that manages keys of one kind: ``workspace_service_api_keys.create``."""
    return f"{key_type}_{sub_type}_api_keys.{verb}"


def grantable_scopes(principal: Principal, key_type: str, requested: Iterable[str]) -> list[str]:
    """The scopes a new or updated key gets, checked: every one is known, fits the key's
    type, and is held by the caller (no key can mint a stronger key than itself)."""
    scopes = list(dict.fromkeys(requested))
    for scope in scopes:
        if scope not in ALL_SCOPES:
            raise InvalidRequest(f"unknown scope {scope!r}", param="scopes")
        if key_type == "workspace" and scope in ORGANISATION_SCOPES:
            raise InvalidRequest(f"scope {scope!r} is for organisation keys only", param="scopes")
        require(principal, scope)
    return scopes
