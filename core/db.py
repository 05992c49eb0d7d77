"""Database access: one peewee proxy, bound per application.

Models declare ``database = db_proxy``; :func:`init_database` points the proxy
at the database of the app being used (``create_app`` does it, and so does
every request and job, so two apps built in one process stay correct when
used one after the other). Connections are opened per request and per job.
"""
from __future__ import annotations

import contextlib
from urllib.parse import urlparse

import peewee
from playhouse.db_url import connect as connect_url

db_proxy = peewee.DatabaseProxy()

SQLITE_PRAGMAS = (
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("busy_timeout", 10000),
    ("synchronous", "normal"),
    ("cache_size", -32000),
)


class ConfigError(Exception):
    """A configuration value is invalid; the message says which and why."""


def open_database(url: str) -> peewee.Database:
    """Build (without connecting) the database for ``url``.

    ``sqlite:///path/to/file.db`` or ``postgresql://user@host/name``.
    """
    scheme = urlparse(url).scheme
    if scheme in ("sqlite", "sqliteext"):
        database = connect_url(url, pragmas=SQLITE_PRAGMAS, autoconnect=False)
    elif scheme in ("postgres", "postgresql", "postgresext"):
        database = connect_url(url, autoconnect=False)
    else:
        raise ConfigError(
            f"COUVEE_DATABASE_URL: unsupported scheme {scheme!r} in {url!r}; "
            "use sqlite:///path/to/couvee.db or postgresql://user@host/dbname"
        )
    return database


def init_database(database: peewee.Database) -> None:
    """Point the models' proxy at ``database``."""
    if db_proxy.obj is not database:
        db_proxy.initialize(database)


def is_sqlite(database=None) -> bool:
    database = database or db_proxy.obj
    return isinstance(database, peewee.SqliteDatabase)


@contextlib.contextmanager
def connection(database: peewee.Database):
    """Open a connection for the duration of a job or command."""
    init_database(database)
    opened = database.connect(reuse_if_open=True)
    try:
        yield database
    finally:
        if opened and not database.is_closed():
            database.close()
