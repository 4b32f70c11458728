"""Skip indexes on ``requests`` for the filters the analytics and log views use most:
trace id lookups and model filters, which the sort key cannot serve."""

VERSION = 2
NAME = "requests_skip_indexes"


def statements(db: str) -> list[str]:
    return [
        f"ALTER TABLE {db}.requests ADD INDEX IF NOT EXISTS idx_trace_id trace_id "
        "TYPE bloom_filter(0.01) GRANULARITY 4",
        f"ALTER TABLE {db}.requests ADD INDEX IF NOT EXISTS idx_model model "
        "TYPE set(256) GRANULARITY 4",
    ]
