"""What every handler does first: who is calling (``x-portkey-api-key``), with which
scope, and the paging and body arguments, each failure a 4xx naming what is wrong."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import Request

from portcullis_control.adapters.db import api_keys
from portcullis_control.domain.errors import InvalidRequest, Unauthenticated
from portcullis_control.domain.requests import parse
from portcullis_control.domain.scopes import Principal, require
from portcullis_control.runtime import Runtime

T = TypeVar("T")

API_KEY_HEADER = "x-portkey-api-key"


async def caller(rt: Runtime, request: Request[Any, Any, Any], scope: str | None) -> Principal:
    value = request.headers.get(API_KEY_HEADER)
    if not value:
        raise Unauthenticated(f"missing API key: send it in {API_KEY_HEADER}")
    async with rt.engine.connect() as conn:
        principal = await api_keys.authenticate(conn, rt.hash_secret, value)
    # Read by the audit middleware after the answer: who made the call.
    request.scope["state"]["principal"] = principal
    if scope is not None:
        require(principal, scope)
    return principal


def note_workspace(request: Request[Any, Any, Any], workspace_id: str | None) -> None:
    """The workspace a mutating call touched, for its audit record."""
    request.scope["state"]["workspace_id"] = workspace_id


async def body(request: Request[Any, Any, Any], into: type[T]) -> T:
    return parse(await request.body(), into)


def _int(
    request: Request[Any, Any, Any], names: tuple[str, ...], default: int, low: int, high: int
) -> int:
    for name in names:
        text = request.query_params.get(name)
        if text is None or text == "":
            continue
        try:
            value = int(text)
        except ValueError:
            raise InvalidRequest(f"{name} must be an integer", param=name) from None
        if not low <= value <= high:
            raise InvalidRequest(f"{name} must be between {low} and {high}", param=name)
        return value
    return default


def paging(rt: Runtime, request: Request[Any, Any, Any]) -> tuple[int, int]:
    """(offset, limit) from ``current_page`` (from 0) and ``page_size``; the SDK's
    workspace list sends them camel-cased."""
    size = _int(
        request,
        ("page_size", "pageSize"),
        rt.settings.default_page_size,
        1,
        rt.settings.max_page_size,
    )
    page = _int(request, ("current_page", "currentPage"), 0, 0, 1_000_000)
    return page * size, size
