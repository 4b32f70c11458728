"""Routing counts on ``requests`` (issue 4): retries over all targets, fallbacks taken, and
whether the request was rescued (succeeded after a failed call). Rows written before this
migration read as zero / false through the column defaults."""

VERSION = 3
NAME = "requests_routing"


def statements(db: str) -> list[str]:
    return [
        f"ALTER TABLE {db}.requests ADD COLUMN IF NOT EXISTS retries_total UInt16 DEFAULT 0",
        f"ALTER TABLE {db}.requests ADD COLUMN IF NOT EXISTS fallbacks UInt8 DEFAULT 0",
        f"ALTER TABLE {db}.requests ADD COLUMN IF NOT EXISTS rescued Bool DEFAULT false",
    ]
