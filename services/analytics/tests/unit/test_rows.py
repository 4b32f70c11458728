"""RequestMetered -> requests-table rows (JSONEachRow)."""

import json

from portcullis.events import RequestMetered
from portcullis_analytics.domain.rows import (
    clickhouse_time,
    encode_rows,
    latest_by_id,
    row_from_metered,
)


def metered(**overrides) -> RequestMetered:
    fields = dict(
        id="a",
        workspace="w",
        organisation_id="o",
        trace_id="t",
        created_at_ms=1709622489010,
        method="POST",
        path="/v1/chat/completions",
        provider="openai",
        model=None,
        status=200,
        is_success=True,
        total_tokens=12,
        cost=None,
        latency_ms=12.5,
        metadata={"k": "v\tx"},
    )
    fields.update(overrides)
    return RequestMetered(**fields)


def test_row_fields():
    row = row_from_metered(metered(user=None))
    assert row.created_at == "2024-03-05 07:08:09.010"
    assert row.model == "" and row.user == "" and row.cost is None
    assert row.metadata == {"k": "v\tx"}


def test_out_of_range_integers_are_clamped():
    row = row_from_metered(
        metered(prompt_tokens=-3, total_tokens=2**40, status=70000, latency_ms=-1.0)
    )
    assert (row.prompt_tokens, row.total_tokens, row.status) == (0, 2**32 - 1, 65535)
    assert row.latency_ms == 0.0


def test_routing_counts_are_carried_and_clamped():
    row = row_from_metered(metered(retries_total=3, fallbacks=2, rescued=True))
    assert (row.retries_total, row.fallbacks, row.rescued) == (3, 2, True)
    plain = row_from_metered(metered())
    assert (plain.retries_total, plain.fallbacks, plain.rescued) == (0, 0, False)
    wild = row_from_metered(metered(retries_total=-1, fallbacks=300))
    assert (wild.retries_total, wild.fallbacks) == (0, 255)


def test_latest_by_id_keeps_one_per_id_in_first_seen_order():
    events = [metered(id="a", total_tokens=1), metered(id="b"), metered(id="a", total_tokens=2)]
    unique = latest_by_id(events)
    assert [e.id for e in unique] == ["a", "b"]
    assert unique[0].total_tokens == 2


def test_encode_rows_is_one_json_object_per_line():
    payload = encode_rows([row_from_metered(metered(id="a")), row_from_metered(metered(id="b"))])
    lines = payload.splitlines()
    assert len(lines) == 2
    assert [json.loads(line)["id"] for line in lines] == ["a", "b"]
    # Control characters are JSON-escaped, so a value cannot break the line framing.
    assert b"\\t" in lines[0]


def test_clickhouse_time_keeps_milliseconds():
    assert clickhouse_time(0) == "1970-01-01 00:00:00.000"
    assert clickhouse_time(1999) == "1970-01-01 00:00:01.999"
