"""Schema steps of the imports plugin after its first tables."""
from __future__ import annotations

from playhouse.migrate import migrate

from .models import ImportRowError


def add_report_detail(database, migrator) -> None:
    """``import_row_error.detail``: the reason as messages (see reasons.py);
    older lines keep their English text only."""
    table = ImportRowError._meta.table_name
    if "detail" not in {column.name for column in database.get_columns(table)}:
        migrate(migrator.add_column(table, "detail", ImportRowError.detail))
