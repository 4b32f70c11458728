"""The audit trail: one row per mutating call — who (API key id), what (method, path,
resource, action), when, outcome (status). Bodies and headers are not kept: they carry
secrets (provider keys, new API key values)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from portcullis_control.adapters.db import listing
from portcullis_control.adapters.db.tables import audit_logs
from portcullis_control.domain.scopes import Principal
from sqlalchemy.ext.asyncio import AsyncConnection


async def record(conn: AsyncConnection, entry: dict[str, Any]) -> None:
    await conn.execute(audit_logs.insert().values(entry))


async def page(
    conn: AsyncConnection,
    principal: Principal,
    start: dt.datetime,
    end: dt.datetime,
    filters: dict[str, Any],
    offset: int,
    limit: int,
) -> tuple[int, list[sa.RowMapping]]:
    where = [
        audit_logs.c.organisation_id == principal.organisation_id,
        audit_logs.c.timestamp >= start,
        audit_logs.c.timestamp <= end,
    ]
    where += [audit_logs.c[name] == value for name, value in filters.items()]
    return await listing.page(
        conn,
        audit_logs,
        where,
        [audit_logs.c.timestamp.desc(), audit_logs.c.id.desc()],
        offset,
        limit,
    )
