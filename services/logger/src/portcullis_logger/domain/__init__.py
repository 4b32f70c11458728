"""Pure decisions of the logger: the stored log's shape, where it lives, and what to do
when a write fails. No I/O here."""
