"""/v1/admin/workspaces: create, list, retrieve, update, delete (organisation keys;
a workspace key sees only its own workspace)."""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from portcullis_control.adapters.db import workspaces
from portcullis_control.domain import views
from portcullis_control.domain.requests import WorkspaceCreate, WorkspaceUpdate
from portcullis_control.entrypoints.http.calls import body, caller, note_workspace, paging
from portcullis_control.runtime import Runtime


def workspace_routes(rt: Runtime) -> list[HTTPRouteHandler]:
    @post("/v1/admin/workspaces", status_code=200)
    async def create_workspace(request: Request[Any, Any, Any]) -> dict[str, Any]:
        who = await caller(rt, request, "workspaces.create")
        data = await body(request, WorkspaceCreate)
        async with rt.engine.begin() as conn:
            row = await workspaces.create(conn, who.organisation_id, data)
        note_workspace(request, row["id"])
        return views.workspace(row)

    @get("/v1/admin/workspaces")
    async def list_workspaces(request: Request[Any, Any, Any]) -> dict[str, Any]:
        who = await caller(rt, request, "workspaces.list")
        offset, limit = paging(rt, request)
        q = request.query_params
        async with rt.engine.connect() as conn:
            total, rows = await workspaces.page(
                conn, who, q.get("name"), q.get("exact_name"), offset, limit
            )
        return {"total": total, "object": "list", "data": [views.workspace(r) for r in rows]}

    @get("/v1/admin/workspaces/{workspace_id:str}")
    async def get_workspace(
        request: Request[Any, Any, Any], workspace_id: FromPath[str]
    ) -> dict[str, Any]:
        who = await caller(rt, request, "workspaces.read")
        async with rt.engine.connect() as conn:
            row = await workspaces.find(conn, who, workspace_id)
        return views.workspace(row, with_users=True)

    @put("/v1/admin/workspaces/{workspace_id:str}")
    async def update_workspace(
        request: Request[Any, Any, Any], workspace_id: FromPath[str]
    ) -> dict[str, Any]:
        who = await caller(rt, request, "workspaces.update")
        data = await body(request, WorkspaceUpdate)
        async with rt.engine.begin() as conn:
            row = await workspaces.find(conn, who, workspace_id)
            note_workspace(request, row["id"])
            row = await workspaces.update(conn, row, data)
        return views.workspace(row)

    # The SDK sends a body with its DELETE; it is not needed and not read.
    @delete("/v1/admin/workspaces/{workspace_id:str}", status_code=200)
    async def delete_workspace(
        request: Request[Any, Any, Any], workspace_id: FromPath[str]
    ) -> dict[str, Any]:
        who = await caller(rt, request, "workspaces.delete")
        async with rt.engine.begin() as conn:
            row = await workspaces.find(conn, who, workspace_id)
            note_workspace(request, row["id"])
            await workspaces.delete(conn, row)
        return {}

    return [create_workspace, list_workspaces, get_workspace, update_workspace, delete_workspace]
