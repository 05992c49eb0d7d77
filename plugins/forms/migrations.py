"""Schema steps of the forms plugin, in order (see ``register_migrations``).

Version 1 creates the tables from the current models, so on a new
installation the later steps find their change already made: each checks the
schema before altering it.
"""
from __future__ import annotations

import peewee
from playhouse.migrate import migrate

from .models import FormField


def add_yes_no_question(database, migrator) -> None:
    """``FormField.yes_no_question``: ask a yes/no field with Yes/No buttons."""
    table = FormField._meta.table_name
    if "yes_no_question" in {column.name for column in database.get_columns(table)}:
        return
    migrate(migrator.add_column(table, "yes_no_question", peewee.BooleanField(default=False)))


def add_placeholder(database, migrator) -> None:
    """``FormField.placeholder``: the text shown inside an empty input."""
    table = FormField._meta.table_name
    if "placeholder" in {column.name for column in database.get_columns(table)}:
        return
    migrate(migrator.add_column(table, "placeholder", peewee.CharField(default="", max_length=200)))
