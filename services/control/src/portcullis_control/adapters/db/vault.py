"""Sealing and opening a workspace's secrets with its data key (made on first use,
stored wrapped), and re-wrapping every data key under a new master key."""

from __future__ import annotations

import sqlalchemy as sa
from portcullis_control.adapters.db.tables import data_keys
from portcullis_control.domain.clock import utc_now
from portcullis_control.domain.sealing import (
    KeyWrapper,
    SealError,
    new_data_key,
    open_sealed,
    rewrap,
    seal,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection


def context(workspace_id: str, object_id: str) -> bytes:
    """The associated data a secret is sealed with: it opens only on its own row."""
    return f"{workspace_id}/{object_id}".encode()


async def _data_key(conn: AsyncConnection, wrapper: KeyWrapper, workspace_id: str) -> bytes:
    query = sa.select(data_keys).where(data_keys.c.workspace_id == workspace_id)
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        key = new_data_key()
        try:
            async with conn.begin_nested():
                await conn.execute(
                    data_keys.insert().values(
                        workspace_id=workspace_id,
                        wrapped_key=wrapper.wrap(key),
                        master_key_id=wrapper.key_id,
                        created_at=utc_now(),
                    )
                )
            return key
        except IntegrityError:
            # Another replica made it first: use theirs.
            row = (await conn.execute(query)).mappings().one()
    if row["master_key_id"] != wrapper.key_id:
        raise SealError(
            f"workspace {workspace_id}'s data key is wrapped by {row['master_key_id']}, "
            f"not by the configured master key {wrapper.key_id}"
        )
    return wrapper.unwrap(row["wrapped_key"])


async def seal_for(
    conn: AsyncConnection, wrapper: KeyWrapper, workspace_id: str, object_id: str, plaintext: bytes
) -> bytes:
    key = await _data_key(conn, wrapper, workspace_id)
    return seal(key, plaintext, context(workspace_id, object_id))


async def open_for(
    conn: AsyncConnection, wrapper: KeyWrapper, workspace_id: str, object_id: str, sealed: bytes
) -> bytes:
    key = await _data_key(conn, wrapper, workspace_id)
    return open_sealed(key, sealed, context(workspace_id, object_id))


async def rotate_master_key(conn: AsyncConnection, old: KeyWrapper, new: KeyWrapper) -> int:
    """Re-wraps every data key held by ``old`` under ``new``, in the caller's
    transaction (all or none); keys already under ``new`` are left alone, so a rotation
    that was interrupted can simply be run again. Returns how many were re-wrapped."""
    rows = (await conn.execute(sa.select(data_keys))).mappings().all()
    moved = 0
    for row in rows:
        if row["master_key_id"] == new.key_id:
            continue
        if row["master_key_id"] != old.key_id:
            raise SealError(
                f"workspace {row['workspace_id']}'s data key is wrapped by "
                f"{row['master_key_id']}, which is neither the old nor the new master key"
            )
        await conn.execute(
            data_keys.update()
            .where(data_keys.c.workspace_id == row["workspace_id"])
            .values(
                wrapped_key=rewrap(old, new, row["wrapped_key"]),
                master_key_id=new.key_id,
                rotated_at=utc_now(),
            )
        )
        moved += 1
    return moved
