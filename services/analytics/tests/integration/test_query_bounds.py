"""The query RPC's bounds on the real process (issue 10): a huge window, a malformed
filter or time is a 400 reply at once (the gateway passes the status on), never a 503,
and the process keeps answering."""

from __future__ import annotations

WS = "bounds"


async def test_bad_queries_are_400_replies_and_the_service_keeps_answering(
    kit, start_analytics, nats_client
):
    start_analytics(max_window_days="30")
    cases = [
        (("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"), {}, "invalid_time"),
        (("0001-01-01T00:00:00+05:00", "2026-01-01T00:00:00Z"), {}, "invalid_time"),
        (("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"), {}, "time_range_too_long"),
        (
            ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
            {"status_code": "-1"},
            "invalid_filter",
        ),
        (("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"), {"cost_min": "inf"}, "invalid_filter"),
    ]
    for (tmin, tmax), filters, code in cases:
        reply = await kit.query_graph(nats_client, "requests", WS, tmin, tmax, **filters)
        assert reply.status == 400, (tmin, tmax, filters, reply)
        assert reply.error is not None and reply.error.code == code
        assert reply.error.type == "invalid_request_error"
    window = await kit.query_graph(
        nats_client, "requests", WS, "2026-01-01T00:00:00Z", "2026-01-30T00:00:00Z"
    )
    assert window.status == 200
