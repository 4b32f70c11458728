"""API key rows: creation (the value returned once, the keyed hash stored), lookup by
value for authentication, and the workspace-bounded reads and writes."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from portcullis_control.adapters.db import listing
from portcullis_control.adapters.db.tables import api_keys
from portcullis_control.domain.clock import to_db, utc_now
from portcullis_control.domain.errors import NotFound, Unauthenticated
from portcullis_control.domain.key_values import key_hash, mask, new_key_value
from portcullis_control.domain.requests import ApiKeyCreate, ApiKeyUpdate, plain
from portcullis_control.domain.scopes import Principal
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

Row = sa.RowMapping


async def authenticate(conn: AsyncConnection, secret: bytes, value: str) -> Principal:
    row = (
        (
            await conn.execute(
                sa.select(api_keys).where(api_keys.c.key_hash == key_hash(secret, value))
            )
        )
        .mappings()
        .first()
    )
    # One message for unknown, expired and exhausted keys: nothing to learn by probing.
    if row is None or row["status"] != "active":
        raise Unauthenticated("invalid or revoked API key in x-portkey-api-key")
    if row["expires_at"] is not None and row["expires_at"] <= utc_now():
        raise Unauthenticated("invalid or revoked API key in x-portkey-api-key")
    return Principal(
        key_id=row["id"],
        organisation_id=row["organisation_id"],
        workspace_id=row["workspace_id"],
        scopes=frozenset(row["scopes"]),
    )


async def insert(
    conn: AsyncConnection,
    secret: bytes,
    *,
    organisation_id: str,
    workspace_id: str | None,
    key_type: str,
    sub_type: str,
    body: ApiKeyCreate,
    scopes: list[str],
    value: str | None = None,
    creation_mode: str = "api",
) -> tuple[str, str]:
    """A new key; returns (id, value). ``value`` is given only by the bootstrap."""
    value = value or new_key_value()
    now = utc_now()
    key_id = str(uuid.uuid4())
    await conn.execute(
        api_keys.insert().values(
            id=key_id,
            key_hash=key_hash(secret, value),
            key_hint=mask(value),
            organisation_id=organisation_id,
            workspace_id=workspace_id,
            type=key_type,
            sub_type=sub_type,
            user_id=body.user_id,
            name=body.name,
            description=body.description,
            scopes=scopes,
            rate_limits=plain(body.rate_limits),
            usage_limits=plain(body.usage_limits),
            defaults=body.defaults,
            alert_emails=body.alert_emails,
            status="active",
            creation_mode=creation_mode,
            expires_at=to_db(body.expires_at),
            created_at=now,
            last_updated_at=now,
        )
    )
    return key_id, value


async def ensure_bootstrap(
    conn: AsyncConnection, secret: bytes, organisation_id: str, value: str, scopes: list[str]
) -> bool:
    """The bootstrap admin key exists after this; True when this call made it. Several
    replicas starting at once race on the unique hash: the losers find it made."""
    found = (
        await conn.execute(
            sa.select(api_keys.c.id).where(api_keys.c.key_hash == key_hash(secret, value))
        )
    ).first()
    if found is not None:
        return False
    body = ApiKeyCreate(
        name="bootstrap admin",
        scopes=scopes,
        description="made at start from PORTCULLIS_CONTROL_BOOTSTRAP_ADMIN_KEY",
    )
    try:
        async with conn.begin_nested():
            await insert(
                conn,
                secret,
                organisation_id=organisation_id,
                workspace_id=None,
                key_type="organisation",
                sub_type="service",
                body=body,
                scopes=scopes,
                value=value,
                creation_mode="auto",
            )
    except IntegrityError:
        return False
    return True


def _visible(principal: Principal) -> list[Any]:
    where = [api_keys.c.organisation_id == principal.organisation_id]
    if principal.workspace_id is not None:
        where.append(api_keys.c.workspace_id == principal.workspace_id)
    return where


async def find(conn: AsyncConnection, principal: Principal, key_id: str) -> Row:
    row = (
        (
            await conn.execute(
                sa.select(api_keys).where(api_keys.c.id == key_id, *_visible(principal))
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"API key {key_id!r} not found", param="id")
    return row


async def page(
    conn: AsyncConnection,
    principal: Principal,
    workspace_id: str | None,
    kinds: list[tuple[str, str]],
    offset: int,
    limit: int,
) -> tuple[int, list[Row]]:
    """Keys of the given (type, sub-type) kinds the caller can see, a page of them."""
    where = _visible(principal)
    where.append(
        sa.or_(*(sa.and_(api_keys.c.type == t, api_keys.c.sub_type == s) for t, s in kinds))
    )
    if workspace_id is not None:
        where.append(api_keys.c.workspace_id == workspace_id)
    return await listing.page(
        conn, api_keys, where, [api_keys.c.created_at, api_keys.c.id], offset, limit
    )


async def update(
    conn: AsyncConnection, row: Row, body: ApiKeyUpdate, scopes: list[str] | None
) -> None:
    changes: dict[str, Any] = {"last_updated_at": utc_now()}
    for field in ("name", "description", "defaults", "alert_emails"):
        if getattr(body, field) is not None:
            changes[field] = getattr(body, field)
    for field in ("rate_limits", "usage_limits"):
        if getattr(body, field) is not None:
            changes[field] = plain(getattr(body, field))
    if body.expires_at is not None:
        changes["expires_at"] = to_db(body.expires_at)
    if scopes is not None:
        changes["scopes"] = scopes
    if body.reset_usage:
        changes["status"] = "active"
    await conn.execute(api_keys.update().where(api_keys.c.id == row["id"]).values(changes))


async def delete(conn: AsyncConnection, row: Row) -> None:
    await conn.execute(api_keys.delete().where(api_keys.c.id == row["id"]))
