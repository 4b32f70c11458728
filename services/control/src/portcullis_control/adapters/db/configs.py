"""Saved configs and their versions: every update adds a version and moves the config's
pointer to it, so an older version stays readable by its id."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from portcullis_control.adapters.db import listing
from portcullis_control.adapters.db.tables import config_versions, configs
from portcullis_control.domain.clock import utc_now
from portcullis_control.domain.errors import NotFound, duplicate_name
from portcullis_control.domain.requests import ConfigUpdate
from portcullis_control.domain.scopes import Principal
from portcullis_control.domain.slugs import make_slug
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

Row = sa.RowMapping


async def _add_version(
    conn: AsyncConnection,
    config_id: str,
    version: int,
    name: str,
    body: dict[str, Any],
    by: str,
    version_id: str | None = None,
) -> str:
    version_id = version_id or str(uuid.uuid4())
    await conn.execute(
        config_versions.insert().values(
            id=version_id,
            config_id=config_id,
            version=version,
            name=name,
            config=body,
            created_by=by,
            created_at=utc_now(),
        )
    )
    return version_id


async def create(
    conn: AsyncConnection,
    principal: Principal,
    workspace_id: str,
    name: str,
    body: dict[str, Any],
    is_default: int,
) -> tuple[str, str, str]:
    """A new config and its first version; returns (id, slug, version id)."""
    config_id = str(uuid.uuid4())
    slug = make_slug(name, "pc-")
    now = utc_now()
    try:
        async with conn.begin_nested():
            # The config first: its version's row refers to it.
            version_id = str(uuid.uuid4())
            await conn.execute(
                configs.insert().values(
                    id=config_id,
                    slug=slug,
                    workspace_id=workspace_id,
                    name=name,
                    is_default=is_default,
                    status="active",
                    current_version_id=version_id,
                    owner_id=principal.key_id,
                    updated_by=principal.key_id,
                    created_at=now,
                    last_updated_at=now,
                )
            )
            await _add_version(conn, config_id, 1, name, body, principal.key_id, version_id)
    except IntegrityError:
        raise duplicate_name("config", name) from None
    return config_id, slug, version_id


async def find(conn: AsyncConnection, principal: Principal, slug: str) -> Row:
    query = sa.select(configs).where(
        configs.c.slug == slug, *listing.in_callers_workspaces(configs.c.workspace_id, principal)
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"config {slug!r} not found", param="slug")
    return row


async def version(conn: AsyncConnection, row: Row, version_id: str | None) -> Row:
    """The current version, or the one ``version_id`` names (of this config only)."""
    wanted = version_id or row["current_version_id"]
    query = sa.select(config_versions).where(
        config_versions.c.config_id == row["id"], config_versions.c.id == wanted
    )
    found = (await conn.execute(query)).mappings().first()
    if found is None:
        raise NotFound(f"config version {wanted!r} not found", param="version_id")
    return found


async def versions(conn: AsyncConnection, row: Row) -> list[Row]:
    query = (
        sa.select(config_versions)
        .where(config_versions.c.config_id == row["id"])
        .order_by(config_versions.c.version.desc())
    )
    return list((await conn.execute(query)).mappings())


async def page(
    conn: AsyncConnection, principal: Principal, workspace_id: str | None, offset: int, limit: int
) -> tuple[int, list[Row]]:
    where = listing.in_callers_workspaces(configs.c.workspace_id, principal)
    if workspace_id is not None:
        where.append(configs.c.workspace_id == workspace_id)
    order = [configs.c.created_at, configs.c.id]
    return await listing.page(conn, configs, where, order, offset, limit)


async def update(conn: AsyncConnection, principal: Principal, row: Row, body: ConfigUpdate) -> str:
    """Returns the id of the version now current (a new one when the config changed)."""
    changes: dict[str, Any] = {"last_updated_at": utc_now(), "updated_by": principal.key_id}
    if body.name is not None:
        changes["name"] = body.name
    if body.status is not None:
        changes["status"] = body.status
    version_id = row["current_version_id"]
    try:
        async with conn.begin_nested():
            if body.config is not None or body.name is not None:
                current = await version(conn, row, None)
                last = (
                    await conn.execute(
                        sa.select(sa.func.max(config_versions.c.version)).where(
                            config_versions.c.config_id == row["id"]
                        )
                    )
                ).scalar_one()
                version_id = await _add_version(
                    conn,
                    row["id"],
                    last + 1,
                    body.name or row["name"],
                    body.config if body.config is not None else current["config"],
                    principal.key_id,
                )
                changes["current_version_id"] = version_id
            await conn.execute(configs.update().where(configs.c.id == row["id"]).values(changes))
    except IntegrityError:
        raise duplicate_name("config", body.name) from None
    return version_id


async def delete(conn: AsyncConnection, row: Row) -> None:
    await conn.execute(config_versions.delete().where(config_versions.c.config_id == row["id"]))
    await conn.execute(configs.delete().where(configs.c.id == row["id"]))
