"""Database access: one peewee proxy, bound per application.

Models declare ``database = db_proxy``; :func:`init_database` points the proxy
at the database of the app being used (``create_app`` does it, and so does
every request and job, so two apps built in one process stay correct when
used one after the other). Connections are opened per request and per job.
"""
from __future__ import annotations

import contextlib
import time
from urllib.parse import urlparse

import peewee
from playhouse.db_url import connect as connect_url

db_proxy = peewee.DatabaseProxy()

#: how long a SQLite connection waits for another one's write lock (ms)
BUSY_TIMEOUT_MS = 10000
SQLITE_PRAGMAS = (
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("busy_timeout", BUSY_TIMEOUT_MS),
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
        # lock_type: even a bare ``atomic()`` (a third-party plugin's) begins
        # IMMEDIATE; :func:`write_transaction` is the documented way
        database = connect_url(url, pragmas=SQLITE_PRAGMAS, autoconnect=False, lock_type="IMMEDIATE")
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


# -- the write discipline (docs/architecture.md, "Writing to the database") --


def write_transaction(database=None):
    """The transaction every write goes through: ``with write_transaction():``.

    On SQLite it begins ``IMMEDIATE``: the write lock is taken first, waiting
    up to the busy timeout for another writer, instead of a deferred
    transaction that reads, then fails with "database is locked" when it tries
    to write after another connection did. On PostgreSQL it is a plain
    transaction. Inside another transaction it is a savepoint. Keep it short:
    bulk writers commit one batch per transaction."""
    database = database or db_proxy.obj
    if is_sqlite(database):
        return database.atomic("IMMEDIATE")
    return database.atomic()


#: SQLSTATEs of PostgreSQL errors that a retry can cure: serialization
#: failure, deadlock, lock not available
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


def is_contention(error: BaseException) -> bool:
    """Whether ``error`` only means another connection held a lock (SQLite
    "database is locked", PostgreSQL serialization failure or deadlock), so
    the same write can succeed when tried again."""
    for candidate in (error, *getattr(error, "args", ())[:1], error.__cause__, error.__context__):
        if not isinstance(candidate, BaseException):
            continue
        if getattr(candidate, "pgcode", None) in _RETRYABLE_SQLSTATES:
            return True
        text = str(candidate).lower()
        if isinstance(candidate, Exception) and ("database is locked" in text or "database table is locked" in text
                                                 or "database is busy" in text):
            return True
    return False


@contextlib.contextmanager
def _lock_wait(database, seconds: float):
    """Wait at most ``seconds`` for another connection's lock in this block:
    SQLite's busy timeout, PostgreSQL's ``lock_timeout`` (which otherwise
    waits for ever); both restored after."""
    milliseconds = max(1, int(seconds * 1000))
    if is_sqlite(database):
        database.execute_sql(f"PRAGMA busy_timeout = {milliseconds}")
        restore = f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"
    else:
        database.execute_sql(f"SET lock_timeout = {milliseconds}")
        restore = "RESET lock_timeout"
    try:
        yield
    finally:
        database.execute_sql(restore)


def retry_on_contention(func, *args, wait: float | None = None, database=None, **kwargs):
    """``func(*args, **kwargs)``, tried again with a growing pause while it
    fails on lock contention (:func:`is_contention`), for at most ``wait``
    seconds in all (default: the busy timeout). ``func`` makes its writes in
    :func:`write_transaction`, so a failed try left nothing behind. The last
    contention error is raised when the time is up; other errors at once."""
    database = database or db_proxy.obj
    wait = BUSY_TIMEOUT_MS / 1000 if wait is None else wait
    deadline = time.monotonic() + wait
    pause = 0.05
    while True:
        remaining = deadline - time.monotonic()
        try:
            with _lock_wait(database, max(remaining, 0.001)):
                return func(*args, **kwargs)
        except Exception as error:
            if not is_contention(error) or database.in_transaction():
                raise  # not ours to retry (or an outer transaction must roll back first)
            if time.monotonic() + pause >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)
