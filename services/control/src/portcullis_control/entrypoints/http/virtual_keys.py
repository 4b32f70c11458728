"""/v1/virtual-keys: CRUD. The provider secret and cloud credentials are sealed before
they reach the database and shown masked afterwards."""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from portcullis_control.adapters.db import virtual_keys, workspaces
from portcullis_control.domain import views
from portcullis_control.domain.errors import InvalidRequest
from portcullis_control.domain.requests import (
    SECRET_FIELDS,
    SETTING_FIELDS,
    VirtualKeyCreate,
    VirtualKeyUpdate,
    convert,
    decode_object,
)
from portcullis_control.entrypoints.http.calls import caller, note_workspace, paging
from portcullis_control.runtime import Runtime

_MAX_SECRET = 65_536


def split_fields(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(secrets, settings) taken from a body: the fields to seal and the provider
    settings kept in the clear. A secret that is not a string (or a Vertex service
    account that is not a string or an object) is a 400 naming it — never echoing it."""
    secrets: dict[str, Any] = {}
    for name in SECRET_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if name == "vertexServiceAccountJson" and isinstance(value, dict):
            secrets[name] = value
        elif isinstance(value, str) and 0 < len(value) <= _MAX_SECRET:
            secrets[name] = value
        else:
            raise InvalidRequest(f"{name} must be a non-empty string", param=name)
    settings = {name: raw[name] for name in SETTING_FIELDS if raw.get(name) is not None}
    return secrets, settings


def virtual_key_routes(rt: Runtime) -> list[HTTPRouteHandler]:
    @post("/v1/virtual-keys", status_code=200)
    async def create_virtual_key(request: Request[Any, Any, Any]) -> dict[str, Any]:
        who = await caller(rt, request, "virtual_keys.create")
        raw = decode_object(await request.body())
        data = convert(raw, VirtualKeyCreate)
        secrets, settings = split_fields(raw)
        if not secrets:
            raise InvalidRequest(
                "key is required (or the provider's cloud credentials)", param="key"
            )
        async with rt.engine.begin() as conn:
            workspace_id = await workspaces.target(conn, who, data.workspace_id)
            note_workspace(request, workspace_id)
            slug = await virtual_keys.create(
                conn, rt.wrapper, who, workspace_id, data, secrets, settings
            )
        return {"success": True, "data": {"slug": slug}}

    @get("/v1/virtual-keys")
    async def list_virtual_keys(request: Request[Any, Any, Any]) -> dict[str, Any]:
        who = await caller(rt, request, "virtual_keys.list")
        offset, limit = paging(rt, request)
        ref = request.query_params.get("workspace_id")
        async with rt.engine.connect() as conn:
            workspace_id = str((await workspaces.find(conn, who, ref))["id"]) if ref else None
            total, rows = await virtual_keys.page(conn, who, workspace_id, offset, limit)
            data = [
                views.virtual_key(r, await virtual_keys.secrets_of(conn, rt.wrapper, r))
                for r in rows
            ]
        return {"object": "list", "total": total, "data": data}

    @get("/v1/virtual-keys/{slug:str}")
    async def get_virtual_key(
        request: Request[Any, Any, Any], slug: FromPath[str]
    ) -> dict[str, Any]:
        who = await caller(rt, request, "virtual_keys.read")
        async with rt.engine.connect() as conn:
            row = await virtual_keys.find(conn, who, slug)
            secrets = await virtual_keys.secrets_of(conn, rt.wrapper, row)
        return views.virtual_key(row, secrets)

    @put("/v1/virtual-keys/{slug:str}")
    async def update_virtual_key(
        request: Request[Any, Any, Any], slug: FromPath[str]
    ) -> dict[str, Any]:
        who = await caller(rt, request, "virtual_keys.update")
        raw = decode_object(await request.body())
        data = convert(raw, VirtualKeyUpdate)
        secrets, settings = split_fields(raw)
        async with rt.engine.begin() as conn:
            row = await virtual_keys.find(conn, who, slug)
            note_workspace(request, row["workspace_id"])
            await virtual_keys.update(conn, rt.wrapper, row, data, secrets, settings)
            row = await virtual_keys.find(conn, who, slug)
            view = views.virtual_key(row, await virtual_keys.secrets_of(conn, rt.wrapper, row))
        return {"success": True, "data": view}

    @delete("/v1/virtual-keys/{slug:str}", status_code=200)
    async def delete_virtual_key(
        request: Request[Any, Any, Any], slug: FromPath[str]
    ) -> dict[str, Any]:
        who = await caller(rt, request, "virtual_keys.delete")
        async with rt.engine.begin() as conn:
            row = await virtual_keys.find(conn, who, slug)
            note_workspace(request, row["workspace_id"])
            await virtual_keys.delete(conn, row)
        return {}

    return [
        create_virtual_key,
        list_virtual_keys,
        get_virtual_key,
        update_virtual_key,
        delete_virtual_key,
    ]
