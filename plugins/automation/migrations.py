"""Schema steps of the automation plugin after the first (see ``register_migrations``).

Version 1 creates the tables from the current models, so on a new
installation a later step finds its change already made: each checks first.
"""
from __future__ import annotations

from playhouse.migrate import migrate

from .models import RunLog


def add_log_keys(database, migrator) -> None:
    """``RunLog.message_key``: older lines keep showing their stored text."""
    table = RunLog._meta.table_name
    if "message_key" not in {column.name for column in database.get_columns(table)}:
        migrate(migrator.add_column(table, "message_key", RunLog.message_key))
