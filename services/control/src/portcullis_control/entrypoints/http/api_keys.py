"""/v1/api-keys: create (``/{type}/{sub-type}``), list, retrieve, update, delete. The
scope needed depends on the kind of key managed (``workspace_service_api_keys.create``)."""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from portcullis_control.adapters.db import api_keys, workspaces
from portcullis_control.domain import views
from portcullis_control.domain.errors import InvalidRequest
from portcullis_control.domain.requests import ApiKeyCreate, ApiKeyUpdate
from portcullis_control.domain.scopes import (
    KEY_SUB_TYPES,
    KEY_TYPES,
    api_key_scope,
    grantable_scopes,
    require,
)
from portcullis_control.entrypoints.http.calls import body, caller, note_workspace, paging
from portcullis_control.runtime import Runtime


def api_key_routes(rt: Runtime) -> list[HTTPRouteHandler]:
    @post("/v1/api-keys/{key_type:str}/{sub_type:str}", status_code=200)
    async def create_api_key(
        request: Request[Any, Any, Any], key_type: FromPath[str], sub_type: FromPath[str]
    ) -> dict[str, Any]:
        if key_type not in KEY_TYPES:
            raise InvalidRequest(f"type must be one of {', '.join(KEY_TYPES)}", param="type")
        if sub_type not in KEY_SUB_TYPES:
            raise InvalidRequest(
                f"sub-type must be one of {', '.join(KEY_SUB_TYPES)}", param="sub-type"
            )
        who = await caller(rt, request, api_key_scope(key_type, sub_type, "create"))
        data = await body(request, ApiKeyCreate)
        if sub_type == "user" and not data.user_id:
            raise InvalidRequest("user_id is required for a user API key", param="user_id")
        scopes = grantable_scopes(who, key_type, data.scopes)
        async with rt.engine.begin() as conn:
            if key_type == "workspace":
                workspace_id: str | None = await workspaces.target(conn, who, data.workspace_id)
            elif who.workspace_id is not None:
                # Unreachable with checked scopes (workspace keys hold no organisation
                # scope); kept so a hand-edited row can't mint an organisation key.
                raise InvalidRequest("a workspace key cannot make organisation keys", param="type")
            else:
                workspace_id = None
            note_workspace(request, workspace_id)
            key_id, value = await api_keys.insert(
                conn,
                rt.hash_secret,
                organisation_id=who.organisation_id,
                workspace_id=workspace_id,
                key_type=key_type,
                sub_type=sub_type,
                body=data,
                scopes=scopes,
            )
        # The only time the value is ever shown.
        return {"id": key_id, "key": value, "object": "api-key"}

    @get("/v1/api-keys")
    async def list_api_keys(request: Request[Any, Any, Any]) -> dict[str, Any]:
        who = await caller(rt, request, None)
        # Listed are the kinds of key the caller may list; with none, 403 names the one
        # its own kind of key would need.
        kinds = [
            (t, s)
            for t in KEY_TYPES
            for s in KEY_SUB_TYPES
            if api_key_scope(t, s, "list") in who.scopes
        ]
        if not kinds:
            own = "workspace" if who.workspace_id else "organisation"
            require(who, api_key_scope(own, "service", "list"))
        offset, limit = paging(rt, request)
        ref = request.query_params.get("workspace_id")
        async with rt.engine.connect() as conn:
            workspace_id = str((await workspaces.find(conn, who, ref))["id"]) if ref else None
            total, rows = await api_keys.page(conn, who, workspace_id, kinds, offset, limit)
        return {"total": total, "object": "list", "data": [views.api_key(r) for r in rows]}

    async def _find(request: Request[Any, Any, Any], key_id: str, verb: str) -> Any:
        who = await caller(rt, request, None)
        async with rt.engine.connect() as conn:
            row = await api_keys.find(conn, who, key_id)
        require(who, api_key_scope(row["type"], row["sub_type"], verb))
        return who, row

    @get("/v1/api-keys/{key_id:str}")
    async def get_api_key(request: Request[Any, Any, Any], key_id: FromPath[str]) -> dict[str, Any]:
        _, row = await _find(request, key_id, "read")
        return views.api_key(row)

    @put("/v1/api-keys/{key_id:str}")
    async def update_api_key(
        request: Request[Any, Any, Any], key_id: FromPath[str]
    ) -> dict[str, Any]:
        who, row = await _find(request, key_id, "update")
        note_workspace(request, row["workspace_id"])
        data = await body(request, ApiKeyUpdate)
        scopes = (
            grantable_scopes(who, row["type"], data.scopes) if data.scopes is not None else None
        )
        async with rt.engine.begin() as conn:
            await api_keys.update(conn, row, data, scopes)
        return {}

    @delete("/v1/api-keys/{key_id:str}", status_code=200)
    async def delete_api_key(
        request: Request[Any, Any, Any], key_id: FromPath[str]
    ) -> dict[str, Any]:
        _, row = await _find(request, key_id, "delete")
        note_workspace(request, row["workspace_id"])
        async with rt.engine.begin() as conn:
            await api_keys.delete(conn, row)
        return {}

    return [create_api_key, list_api_keys, get_api_key, update_api_key, delete_api_key]
