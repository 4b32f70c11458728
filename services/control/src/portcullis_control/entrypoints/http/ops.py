"""GET /v1/health: the process answers and its database does."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from litestar import get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Response

from portcullis_control.runtime import Runtime


def ops_routes(rt: Runtime) -> list[HTTPRouteHandler]:
    @get("/v1/health")
    async def health() -> Response[dict[str, Any]]:
        try:
            async with rt.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception:
            return Response({"status": "unavailable", "database": "down"}, status_code=503)
        return Response({"status": "ok", "database": "up"})

    return [health]
