"""Schema steps of the GDPR plugin after the first (which creates the tables
from the current models, so on a new installation each later step finds its
change already made and checks the schema before altering it).

Version 2: the ledger's ``form_id`` becomes an integer (it was text) and the
ledger keeps the ``page_url`` of the consent proof. Existing ids written as
digits are converted; any other text (no bundled plugin wrote one) is left
out of the column and logged. It is not lost: every entry made from an event
names it (``event_id``) and the event keeps the data it carried.
"""
from __future__ import annotations

import logging

import peewee
from playhouse.migrate import PostgresqlMigrator, migrate

from .models import ConsentRecord

log = logging.getLogger("couvee.gdpr")


def _columns(database, table: str) -> dict[str, str]:
    return {column.name: column.data_type.lower() for column in database.get_columns(table)}


def ledger_form_id_and_page_url(database, migrator) -> None:
    table = ConsentRecord._meta.table_name
    columns = _columns(database, table)
    if "page_url" not in columns:
        migrate(migrator.add_column(table, "page_url", peewee.TextField(default="")))
    if "int" in columns["form_id"]:
        return
    _blank_non_numeric_form_ids(database, table)
    new_type = peewee.IntegerField(null=True)
    if isinstance(migrator, PostgresqlMigrator):
        migrate(migrator.alter_column_type(table, "form_id", new_type, cast="form_id::integer"))
    else:  # SQLite copies the table; INTEGER affinity turns the digit strings into numbers
        migrate(migrator.alter_column_type(table, "form_id", new_type))


def _blank_non_numeric_form_ids(database, table: str) -> None:
    """Keep digit strings (trimmed) for the conversion; set anything else to NULL."""
    record = peewee.Table(table, ("id", "form_id"))
    rows = record.select(record.id, record.form_id).where(record.form_id.is_null(False)).tuples().execute(database)
    dropped = []
    for row_id, raw in rows:
        text = str(raw).strip()
        if not (text.isdigit() and int(text) < 2 ** 31):
            dropped.append(row_id)
        elif text != raw:
            record.update({record.form_id: text}).where(record.id == row_id).execute(database)
    if dropped:
        record.update({record.form_id: None}).where(record.id.in_(dropped)).execute(database)
        log.warning("consent ledger: %d entries had a form id that is not a number (ids %s); the events they "
                    "come from keep it", len(dropped), dropped[:20])
