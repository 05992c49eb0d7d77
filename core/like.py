"""Case-insensitive text matching on a column where the user's text is taken
literally: ``%`` and ``_`` typed in a search box or a segment filter match
themselves, not "anything" and "any character" as they would in a bare
``LIKE`` (peewee's ``contains``, ``startswith`` and ``endswith`` leave them
unescaped).

    Contact.select().where(text_contains(Contact.email, "jean_d"))
    # SQLite: "email" LIKE ? ESCAPE '\\'   with '%jean\\_d%'
    # PostgreSQL: "email" ILIKE %s ESCAPE '\\'

Same SQL and same case rules as peewee's helpers (``ILIKE`` on PostgreSQL,
``LIKE`` on SQLite, case-insensitive for ASCII); the pattern is a bound
parameter like any other value.
"""
from __future__ import annotations

import peewee

_ESCAPE = peewee.SQL("ESCAPE '\\'")


def escape_like(text: str) -> str:
    """``text`` with LIKE's wildcards and the escape character escaped."""
    return str(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def escaped_like(column, pattern: str):
    """``column ILIKE pattern ESCAPE '\\'``: ``pattern`` is a LIKE pattern whose literal parts went
    through :func:`escape_like` (e.g. a URL pattern with ``*`` turned into ``%``)."""
    pattern_sql = peewee.NodeList((peewee.Value(pattern, converter=False), _ESCAPE))
    return peewee.Expression(column, peewee.OP.ILIKE, pattern_sql)


def text_contains(column, text: str):
    """``column`` contains ``text`` (case-insensitive, literally)."""
    return escaped_like(column, f"%{escape_like(text)}%")


def text_starts_with(column, text: str):
    """``column`` starts with ``text`` (case-insensitive, literally)."""
    return escaped_like(column, f"{escape_like(text)}%")


def text_ends_with(column, text: str):
    """``column`` ends with ``text`` (case-insensitive, literally)."""
    return escaped_like(column, f"%{escape_like(text)}")
