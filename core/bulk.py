"""Multi-row ``INSERT`` statements written straight to the DB-API cursor.

peewee's ``insert_many`` spends ~10 µs per value building its query (every
value goes through its SQL compiler), which caps an import at a few thousand
rows/s once custom values and events are written too. Here the statement is
``INSERT INTO <table> (<columns>) VALUES (?, ?), (?, ?) ...`` with table and
column names taken from the model's metadata and every value passed as a bound
parameter (user data never becomes SQL text), so the cost is the driver's.
Same SQL on SQLite (3.35+, for ``RETURNING``) and PostgreSQL.

Values must already be what the database stores (text, numbers, ``None``, naive
UTC datetimes, JSON text): see :func:`db_value`.
"""
from __future__ import annotations

import datetime as dt
import re
from itertools import chain

from .db import db_proxy, is_sqlite

#: bound parameters per statement (SQLite allows 32766, PostgreSQL 65535)
MAX_PARAMS = 30000
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _quoted(name: str) -> str:
    if not _IDENTIFIER.match(name):  # names come from model metadata; refuse anything else
        raise ValueError(f"not an SQL identifier: {name!r}")
    return f'"{name}"'


def db_value(model, field_name: str, value):
    """``value`` converted by the model field as peewee would store it (a
    datetime already as the text sqlite3 would make of it, so a value reused
    on every row is adapted once)."""
    value = model._meta.fields[field_name].db_value(value)
    if isinstance(value, dt.datetime) and is_sqlite():
        return value.isoformat(" ")
    return value


def select_in(model, field_names: list[str], conditions: dict[str, list], distinct: bool = False) -> list[tuple]:
    """``SELECT <fields> FROM <table> WHERE a IN (...) AND b IN (...)``: the
    same as a peewee ``.where(Model.a.in_(...))`` query without peewee
    compiling each of the (thousands of) values. Empty lists match nothing."""
    if any(not values for values in conditions.values()):
        return []
    database = db_proxy.obj
    columns = ", ".join(_quoted(model._meta.fields[name].column_name) for name in field_names)
    where, params = [], []
    for name, values in conditions.items():
        marks = ", ".join([database.param] * len(values))
        where.append(f"{_quoted(model._meta.fields[name].column_name)} IN ({marks})")
        params.extend(values)
    sql = (f"SELECT {'DISTINCT ' if distinct else ''}{columns} FROM {_quoted(model._meta.table_name)} "
           f"WHERE {' AND '.join(where)}")
    return [tuple(row) for row in database.execute_sql(sql, params).fetchall()]


def insert_rows(model, field_names: list[str], rows: list[tuple], returning: tuple[str, ...] = (),
                ignore_conflicts: bool = False) -> list[tuple]:
    """Insert ``rows`` (tuples in ``field_names`` order) in as few statements
    as the parameter limit allows; return the ``returning`` columns of the
    inserted rows (rows skipped by ``ignore_conflicts`` return nothing)."""
    if not rows:
        return []
    database = db_proxy.obj
    fields = [model._meta.fields[name] for name in field_names]
    columns = ", ".join(_quoted(field.column_name) for field in fields)
    placeholder = "(" + ", ".join([database.param] * len(fields)) + ")"
    head = f"INSERT INTO {_quoted(model._meta.table_name)} ({columns}) VALUES "
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if returning:
        tail += " RETURNING " + ", ".join(_quoted(model._meta.fields[name].column_name) for name in returning)
    per_statement = max(1, MAX_PARAMS // len(fields))
    returned: list[tuple] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        params = list(chain.from_iterable(chunk))
        cursor = database.execute_sql(head + ", ".join([placeholder] * len(chunk)) + tail, params)
        if returning:
            returned.extend(tuple(row) for row in cursor.fetchall())
    return returned
