"""Request bodies of the control-plane routes (the spec's shapes), decoded and checked in
one step by msgspec. A body that does not fit becomes a 400 naming the field."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from portcullis_control.domain.errors import InvalidRequest

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Text = Annotated[str, msgspec.Meta(max_length=4096)]


class RateLimit(msgspec.Struct):
    type: Literal["requests", "tokens"]
    unit: Literal["rps", "rpm", "rph", "rpd", "rpw"]
    value: Annotated[int, msgspec.Meta(ge=0)]


class UsageLimits(msgspec.Struct):
    credit_limit: Annotated[int, msgspec.Meta(ge=1)] | None = None
    type: Literal["cost", "tokens"] | None = None
    alert_threshold: Annotated[int, msgspec.Meta(ge=1)] | None = None
    periodic_reset: Literal["monthly", "weekly"] | None = None
    periodic_reset_days: Annotated[int, msgspec.Meta(ge=1, le=365)] | None = None
    next_usage_reset_at: dt.datetime | None = None


class WorkspaceCreate(msgspec.Struct):
    name: Name
    description: Text | None = None
    defaults: dict[str, Any] | None = None
    usage_limits: list[UsageLimits] | None = None
    rate_limits: list[RateLimit] | None = None


class WorkspaceUpdate(msgspec.Struct):
    name: Name | None = None
    description: Text | None = None
    defaults: dict[str, Any] | None = None
    usage_limits: list[UsageLimits] | None = None
    rate_limits: list[RateLimit] | None = None


class ApiKeyCreate(msgspec.Struct):
    name: Name
    scopes: list[str]
    description: Text | None = None
    workspace_id: str | None = None
    user_id: str | None = None
    rate_limits: list[RateLimit] | None = None
    usage_limits: UsageLimits | None = None
    defaults: dict[str, Any] | None = None
    alert_emails: list[str] | None = None
    expires_at: dt.datetime | None = None


class ApiKeyUpdate(msgspec.Struct):
    name: Name | None = None
    description: Text | None = None
    scopes: list[str] | None = None
    rate_limits: list[RateLimit] | None = None
    usage_limits: UsageLimits | None = None
    defaults: dict[str, Any] | None = None
    alert_emails: list[str] | None = None
    expires_at: dt.datetime | None = None
    reset_usage: bool | None = None


class VirtualKeyCreate(msgspec.Struct):
    name: Name
    provider: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    note: Text | None = None
    workspace_id: str | None = None
    usage_limits: UsageLimits | None = None
    rate_limits: list[RateLimit] | None = None
    expires_at: dt.datetime | None = None


class VirtualKeyUpdate(msgspec.Struct):
    name: Name | None = None
    note: Text | None = None
    usage_limits: UsageLimits | None = None
    rate_limits: list[RateLimit] | None = None
    expires_at: dt.datetime | None = None
    reset_usage: bool | None = None


class ConfigCreate(msgspec.Struct):
    name: Name
    config: dict[str, Any]
    workspace_id: str | None = None
    # The spec says ``isDefault``; the Python SDK sends ``is_default``.
    isDefault: Literal[0, 1] | None = None
    is_default: Literal[0, 1] | None = None


class ConfigUpdate(msgspec.Struct):
    name: Name | None = None
    config: dict[str, Any] | None = None
    status: Literal["active", "archived"] | None = None


# A virtual key's fields beyond the struct's: which are secrets (sealed) and which are
# provider settings (stored as they are). Cloud credentials count as secrets.
SECRET_FIELDS = (
    "key",
    "awsAccessKeyId",
    "awsSecretAccessKey",
    "awsSessionToken",
    "vertexServiceAccountJson",
)
SETTING_FIELDS = (
    "apiVersion",
    "resourceName",
    "deploymentName",
    "deploymentConfig",
    "azureAuthMode",
    "awsAuthType",
    "awsRegion",
    "awsRoleArn",
    "awsExternalId",
    "vertexProjectId",
    "vertexRegion",
    "workersAiAccountId",
    "customHost",
)

T = TypeVar("T")

_AT_PATH = re.compile(r"at `\$\.([A-Za-z0-9_\-]+)")
_MISSING = re.compile(r"missing required field `([^`]+)`")


def decode_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400."""
    if not raw:
        raise InvalidRequest("the request body is empty; a JSON object is expected")
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return body


def convert(body: dict[str, Any], into: type[T]) -> T:
    """``body`` checked against a request struct; the error names the field."""
    try:
        return msgspec.convert(body, into)
    except msgspec.ValidationError as exc:
        text = str(exc)
        found = _AT_PATH.search(text) or _MISSING.search(text)
        raise InvalidRequest(text, param=found.group(1) if found else None) from None


def plain(value: Any) -> Any:
    """A decoded struct (or list of them) as JSON-ready builtins, for a JSON column."""
    return None if value is None else msgspec.to_builtins(value)


def parse(raw: bytes, into: type[T]) -> T:
    return convert(decode_object(raw), into)
