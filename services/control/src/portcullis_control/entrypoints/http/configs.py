"""/v1/configs: CRUD of saved configs. An update makes a new version; ``GET
/v1/configs/{slug}?version_id=...`` reads an older one, ``/v1/configs/{slug}/versions``
lists them all."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, delete, get, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from portcullis_control.adapters.db import configs, workspaces
from portcullis_control.domain import views
from portcullis_control.domain.requests import ConfigCreate, ConfigUpdate
from portcullis_control.entrypoints.http.calls import body, caller, note_workspace, paging
from portcullis_control.runtime import Runtime


def config_routes(rt: Runtime) -> list[HTTPRouteHandler]:
    @post("/v1/configs", status_code=200)
    async def create_config(request: Request[Any, Any, Any]) -> dict[str, Any]:
        who = await caller(rt, request, "configs.create")
        data = await body(request, ConfigCreate)
        is_default = data.isDefault if data.isDefault is not None else (data.is_default or 0)
        async with rt.engine.begin() as conn:
            workspace_id = await workspaces.target(conn, who, data.workspace_id)
            note_workspace(request, workspace_id)
            config_id, slug, version_id = await configs.create(
                conn, who, workspace_id, data.name, data.config, is_default
            )
        return {"success": True, "data": {"id": config_id, "slug": slug, "version_id": version_id}}

    @get("/v1/configs")
    async def list_configs(request: Request[Any, Any, Any]) -> dict[str, Any]:
        who = await caller(rt, request, "configs.list")
        offset, limit = paging(rt, request)
        ref = request.query_params.get("workspace_id")
        async with rt.engine.connect() as conn:
            workspace_id = str((await workspaces.find(conn, who, ref))["id"]) if ref else None
            total, rows = await configs.page(conn, who, workspace_id, offset, limit)
        data = [views.config_summary(r, who.organisation_id) for r in rows]
        return {"success": True, "total": total, "data": data}

    @get("/v1/configs/{slug:str}")
    async def get_config(request: Request[Any, Any, Any], slug: FromPath[str]) -> dict[str, Any]:
        who = await caller(rt, request, "configs.read")
        async with rt.engine.connect() as conn:
            row = await configs.find(conn, who, slug)
            version = await configs.version(conn, row, request.query_params.get("version_id"))
        return {"success": True, "data": views.config(row, version, who.organisation_id)}

    @get("/v1/configs/{slug:str}/versions")
    async def list_config_versions(
        request: Request[Any, Any, Any], slug: FromPath[str]
    ) -> dict[str, Any]:
        who = await caller(rt, request, "configs.read")
        async with rt.engine.connect() as conn:
            row = await configs.find(conn, who, slug)
            versions = await configs.versions(conn, row)
        data = []
        for version in versions:
            view = views.config_version(row, version, who.organisation_id)
            # The spec gives a version's config serialised, as a string.
            view["config"] = msgspec.json.encode(version["config"]).decode()
            data.append(view)
        return {"object": "list", "total": len(data), "data": data}

    @put("/v1/configs/{slug:str}")
    async def update_config(request: Request[Any, Any, Any], slug: FromPath[str]) -> dict[str, Any]:
        who = await caller(rt, request, "configs.update")
        data = await body(request, ConfigUpdate)
        async with rt.engine.begin() as conn:
            row = await configs.find(conn, who, slug)
            note_workspace(request, row["workspace_id"])
            version_id = await configs.update(conn, who, row, data)
        return {"success": True, "data": {"version_id": version_id}}

    @delete("/v1/configs/{slug:str}", status_code=200)
    async def delete_config(request: Request[Any, Any, Any], slug: FromPath[str]) -> dict[str, Any]:
        who = await caller(rt, request, "configs.delete")
        async with rt.engine.begin() as conn:
            row = await configs.find(conn, who, slug)
            note_workspace(request, row["workspace_id"])
            await configs.delete(conn, row)
        return {}

    return [
        create_config,
        list_configs,
        get_config,
        list_config_versions,
        update_config,
        delete_config,
    ]
