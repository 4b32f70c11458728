"""What every list route shares: the rows a caller may see (bounded to its organisation
and, for a workspace key, its workspace), counted and cut into one page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from portcullis_control.adapters.db.tables import workspaces
from portcullis_control.domain.scopes import Principal
from sqlalchemy.ext.asyncio import AsyncConnection


def in_callers_workspaces(column: sa.Column[Any], principal: Principal) -> list[Any]:
    """Conditions on a ``workspace_id`` column: the caller's organisation's workspaces,
    or only its own workspace for a workspace key."""
    where: list[Any] = [
        column.in_(
            sa.select(workspaces.c.id).where(
                workspaces.c.organisation_id == principal.organisation_id
            )
        )
    ]
    if principal.workspace_id is not None:
        where.append(column == principal.workspace_id)
    return where


async def page(
    conn: AsyncConnection,
    table: sa.Table,
    where: list[Any],
    order_by: list[Any],
    offset: int,
    limit: int,
) -> tuple[int, list[sa.RowMapping]]:
    """(how many rows match in all, the rows of this page)."""
    count = sa.select(sa.func.count()).select_from(table).where(*where)
    total = (await conn.execute(count)).scalar_one()
    query = sa.select(table).where(*where).order_by(*order_by).offset(offset).limit(limit)
    return total, list((await conn.execute(query)).mappings())
