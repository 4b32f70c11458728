"""GET /v1/logs/{id} and GET /v1/analytics/graphs/{graph} (one or two path segments, e.g.
requests/rescued): reads the gateway forwards
over NATS request/reply to the services that own the data (logger, analytics)."""

from __future__ import annotations

import datetime as dt

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from portcullis import rpc as contracts
from portcullis.subjects import RPC_ANALYTICS_QUERY, RPC_LOGS_GET

from portcullis_gateway.adapters import rpc
from portcullis_gateway.domain.errors import InvalidRequest, NotFound, error_body
from portcullis_gateway.runtime import Runtime

GRAPHS = ("requests", "cost", "tokens", "latency", "requests/rescued")
TIME_PARAMS = ("time_of_generation_min", "time_of_generation_max")
JSON = "application/json"


def reply_response(reply: contracts.RpcReply) -> Response:
    if reply.error is not None:
        body = error_body(reply.error.message, reply.error.type, reply.error.code)
    else:
        body = bytes(reply.body)
    return Response(content=body, status_code=reply.status, media_type=JSON)


def parse_time(name: str, value: str | None) -> dt.datetime:
    if not value:
        raise InvalidRequest(
            f"query parameter {name} is required (ISO 8601)", code="missing_parameter"
        )
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(
            f"query parameter {name} is not an ISO 8601 date-time: {value!r}",
            code="invalid_parameter",
        ) from None


def analytics_query(
    graph: str, params: dict[str, str], default_workspace: str
) -> contracts.AnalyticsQuery:
    if graph not in GRAPHS:
        raise NotFound(f"unknown graph {graph!r}; available: {', '.join(GRAPHS)}")
    time_min = parse_time(TIME_PARAMS[0], params.get(TIME_PARAMS[0]))
    time_max = parse_time(TIME_PARAMS[1], params.get(TIME_PARAMS[1]))
    # Naive and aware times cannot be ordered; the analytics service decides for those.
    if (time_min.tzinfo is None) == (time_max.tzinfo is None) and time_min > time_max:
        raise InvalidRequest(
            "time_of_generation_min is after time_of_generation_max", code="invalid_parameter"
        )
    filters = {k: v for k, v in params.items() if k not in TIME_PARAMS and k != "workspace_slug"}
    return contracts.AnalyticsQuery(
        graph=graph,
        workspace=params.get("workspace_slug") or default_workspace,
        # As the caller wrote them (the contract keeps the caller's offset).
        time_min=params[TIME_PARAMS[0]],
        time_max=params[TIME_PARAMS[1]],
        filters=filters,
    )


def read_routes(rt: Runtime) -> list[HTTPRouteHandler]:
    settings = rt.settings

    @get("/v1/logs/{log_id:str}")
    async def get_log(log_id: str) -> Response:
        payload = contracts.encode(contracts.LogGetRequest(id=log_id, workspace=settings.workspace))
        reply = await rpc.call(rt.link, RPC_LOGS_GET, payload, "logger", settings.rpc_timeout_s)
        return reply_response(reply)

    async def forward_graph(graph: str, request: Request) -> Response:
        params = {key: request.query_params.get(key) for key in request.query_params}
        query = analytics_query(graph, params, settings.workspace)
        reply = await rpc.call(
            rt.link,
            RPC_ANALYTICS_QUERY,
            contracts.encode(query),
            "analytics service",
            settings.rpc_timeout_s,
        )
        return reply_response(reply)

    @get("/v1/analytics/graphs/{graph:str}")
    async def analytics_graph(graph: str, request: Request) -> Response:
        return await forward_graph(graph, request)

    # Portkey nests some graphs one level deeper (/analytics/graphs/requests/rescued).
    @get("/v1/analytics/graphs/{group:str}/{name:str}")
    async def analytics_sub_graph(group: str, name: str, request: Request) -> Response:
        return await forward_graph(f"{group}/{name}", request)

    return [get_log, analytics_graph, analytics_sub_graph]
