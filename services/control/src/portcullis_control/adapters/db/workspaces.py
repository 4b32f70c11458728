"""Workspace rows, and the one rule every object lookup goes through: which workspace a
caller may act on."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from portcullis_control.adapters.db import listing
from portcullis_control.adapters.db.tables import (
    api_keys,
    configs,
    data_keys,
    virtual_keys,
    workspaces,
)
from portcullis_control.domain.clock import utc_now
from portcullis_control.domain.errors import Conflict, InvalidRequest, NotFound, duplicate_name
from portcullis_control.domain.requests import WorkspaceCreate, WorkspaceUpdate, plain
from portcullis_control.domain.scopes import Principal
from portcullis_control.domain.slugs import make_slug
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

Row = sa.RowMapping


async def find(conn: AsyncConnection, principal: Principal, ref: str) -> Row:
    """The workspace ``ref`` (id or slug) names, if the caller may see it; else 404 —
    a workspace key gets the same answer for another workspace as for none at all."""
    query = sa.select(workspaces).where(
        workspaces.c.organisation_id == principal.organisation_id,
        sa.or_(workspaces.c.id == ref, workspaces.c.slug == ref),
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None or (principal.workspace_id not in (None, row["id"])):
        raise NotFound(f"workspace {ref!r} not found", param="workspace_id")
    return row


async def target(conn: AsyncConnection, principal: Principal, ref: str | None) -> str:
    """The workspace id a create or list acts on: a workspace key's own, or the one an
    organisation key names (required for a create)."""
    if ref:
        return str((await find(conn, principal, ref))["id"])
    if principal.workspace_id is None:
        raise InvalidRequest(
            "workspace_id is required with an organisation API key", param="workspace_id"
        )
    return principal.workspace_id


async def create(conn: AsyncConnection, organisation_id: str, body: WorkspaceCreate) -> Row:
    now = utc_now()
    values = {
        "id": str(uuid.uuid4()),
        "slug": make_slug(body.name, "ws-"),
        "organisation_id": organisation_id,
        "name": body.name,
        "description": body.description,
        "defaults": body.defaults,
        "usage_limits": plain(body.usage_limits),
        "rate_limits": plain(body.rate_limits),
        "created_at": now,
        "last_updated_at": now,
    }
    try:
        await conn.execute(workspaces.insert().values(values))
    except IntegrityError:
        raise duplicate_name("workspace", body.name, "the organisation") from None
    return (
        (await conn.execute(sa.select(workspaces).where(workspaces.c.id == values["id"])))
        .mappings()
        .one()
    )


async def page(
    conn: AsyncConnection,
    principal: Principal,
    name: str | None,
    exact: str | None,
    offset: int,
    limit: int,
) -> tuple[int, list[Row]]:
    where = [workspaces.c.organisation_id == principal.organisation_id]
    if principal.workspace_id is not None:
        where.append(workspaces.c.id == principal.workspace_id)
    if exact:
        where.append(workspaces.c.name == exact)
    elif name:
        where.append(workspaces.c.name.contains(name, autoescape=True))
    return await listing.page(
        conn, workspaces, where, [workspaces.c.created_at, workspaces.c.id], offset, limit
    )


async def update(conn: AsyncConnection, row: Row, body: WorkspaceUpdate) -> Row:
    changes: dict[str, Any] = {"last_updated_at": utc_now()}
    for field in ("name", "description", "defaults"):
        if getattr(body, field) is not None:
            changes[field] = getattr(body, field)
    for field in ("usage_limits", "rate_limits"):
        if getattr(body, field) is not None:
            changes[field] = plain(getattr(body, field))
    try:
        await conn.execute(workspaces.update().where(workspaces.c.id == row["id"]).values(changes))
    except IntegrityError:
        raise duplicate_name("workspace", body.name, "the organisation") from None
    return (
        (await conn.execute(sa.select(workspaces).where(workspaces.c.id == row["id"])))
        .mappings()
        .one()
    )


async def delete(conn: AsyncConnection, row: Row) -> None:
    """Only an empty workspace goes: deleting one would orphan the keys and configs that
    name it, and the data plane may still be serving them."""
    for table, what in (
        (api_keys, "API keys"),
        (virtual_keys, "virtual keys"),
        (configs, "configs"),
    ):
        count = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.workspace_id == row["id"])
            )
        ).scalar_one()
        if count:
            raise Conflict(
                f"the workspace still has {count} {what}; delete them first", param="workspace_id"
            )
    await conn.execute(data_keys.delete().where(data_keys.c.workspace_id == row["id"]))
    await conn.execute(workspaces.delete().where(workspaces.c.id == row["id"]))
