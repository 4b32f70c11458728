"""Virtual key rows: the provider secret and cloud credentials sealed in one value, the
provider settings in the clear, every read bounded to the caller's workspaces."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import sqlalchemy as sa
from portcullis_control.adapters.db import listing, vault
from portcullis_control.adapters.db.tables import virtual_keys
from portcullis_control.domain.clock import to_db, utc_now
from portcullis_control.domain.errors import NotFound, duplicate_name
from portcullis_control.domain.requests import VirtualKeyCreate, VirtualKeyUpdate, plain
from portcullis_control.domain.scopes import Principal
from portcullis_control.domain.sealing import KeyWrapper
from portcullis_control.domain.slugs import make_slug
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

Row = sa.RowMapping


async def create(
    conn: AsyncConnection,
    wrapper: KeyWrapper,
    principal: Principal,
    workspace_id: str,
    body: VirtualKeyCreate,
    secrets: dict[str, Any],
    settings: dict[str, Any],
) -> str:
    vk_id = str(uuid.uuid4())
    slug = make_slug(body.name)
    sealed = await vault.seal_for(conn, wrapper, workspace_id, vk_id, msgspec.json.encode(secrets))
    now = utc_now()
    try:
        async with conn.begin_nested():
            await conn.execute(
                virtual_keys.insert().values(
                    id=vk_id,
                    slug=slug,
                    workspace_id=workspace_id,
                    name=body.name,
                    provider=body.provider,
                    note=body.note,
                    model_config=settings,
                    sealed_secrets=sealed,
                    usage_limits=plain(body.usage_limits),
                    rate_limits=plain(body.rate_limits),
                    status="active",
                    expires_at=to_db(body.expires_at),
                    created_by=principal.key_id,
                    created_at=now,
                    last_updated_at=now,
                )
            )
    except IntegrityError:
        raise duplicate_name("virtual key", body.name) from None
    return slug


async def find(conn: AsyncConnection, principal: Principal, slug: str) -> Row:
    query = sa.select(virtual_keys).where(
        virtual_keys.c.slug == slug,
        *listing.in_callers_workspaces(virtual_keys.c.workspace_id, principal),
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"virtual key {slug!r} not found", param="slug")
    return row


async def page(
    conn: AsyncConnection, principal: Principal, workspace_id: str | None, offset: int, limit: int
) -> tuple[int, list[Row]]:
    where = listing.in_callers_workspaces(virtual_keys.c.workspace_id, principal)
    if workspace_id is not None:
        where.append(virtual_keys.c.workspace_id == workspace_id)
    order = [virtual_keys.c.created_at, virtual_keys.c.id]
    return await listing.page(conn, virtual_keys, where, order, offset, limit)


async def secrets_of(conn: AsyncConnection, wrapper: KeyWrapper, row: Row) -> dict[str, Any]:
    raw = await vault.open_for(conn, wrapper, row["workspace_id"], row["id"], row["sealed_secrets"])
    return msgspec.json.decode(raw)


async def update(
    conn: AsyncConnection,
    wrapper: KeyWrapper,
    row: Row,
    body: VirtualKeyUpdate,
    secrets: dict[str, Any],
    settings: dict[str, Any],
) -> None:
    changes: dict[str, Any] = {"last_updated_at": utc_now()}
    for field in ("name", "note"):
        if getattr(body, field) is not None:
            changes[field] = getattr(body, field)
    for field in ("usage_limits", "rate_limits"):
        if getattr(body, field) is not None:
            changes[field] = plain(getattr(body, field))
    if body.expires_at is not None:
        changes["expires_at"] = to_db(body.expires_at)
    if body.reset_usage:
        changes["status"] = "active"
    if settings:
        changes["model_config"] = {**row["model_config"], **settings}
    if secrets:
        merged = {**await secrets_of(conn, wrapper, row), **secrets}
        changes["sealed_secrets"] = await vault.seal_for(
            conn, wrapper, row["workspace_id"], row["id"], msgspec.json.encode(merged)
        )
    try:
        async with conn.begin_nested():
            await conn.execute(
                virtual_keys.update().where(virtual_keys.c.id == row["id"]).values(changes)
            )
    except IntegrityError:
        raise duplicate_name("virtual key", body.name) from None


async def delete(conn: AsyncConnection, row: Row) -> None:
    await conn.execute(virtual_keys.delete().where(virtual_keys.c.id == row["id"]))
