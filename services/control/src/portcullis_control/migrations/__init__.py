"""Alembic migrations of the control plane's database, applied at start
(``adapters.db.engine.migrate``); ``upgrade head`` on an up-to-date database does nothing."""
