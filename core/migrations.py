"""Per-plugin, versioned schema migrations (SQLite and PostgreSQL).

Each plugin returns :class:`core.Migration` objects from ``register_migrations``.
A version runs once, in order, inside a transaction, and is recorded in
``migration_record`` with the plugin's name. Core's own tables use the same
mechanism under the name ``core``. Several processes starting at once take a
Redis lock so only one of them migrates.
"""
from __future__ import annotations

import logging

from playhouse.migrate import SchemaMigrator

from .db import write_transaction
from .extension import Migration
from .models import MigrationRecord

log = logging.getLogger("couvee.migrations")


class MigrationError(Exception):
    pass


def applied_versions(plugin: str) -> set[int]:
    return {row.version for row in MigrationRecord.select().where(MigrationRecord.plugin == plugin)}


def apply_migrations(database, plugin: str, migrations: list[Migration]) -> list[Migration]:
    """Apply the pending migrations of ``plugin``; return those applied."""
    MigrationRecord.create_table(safe=True)
    seen = set()
    for migration in migrations:
        if not isinstance(migration, Migration):
            raise MigrationError(f"plugin {plugin!r}: register_migrations must return Migration objects")
        if migration.version in seen:
            raise MigrationError(f"plugin {plugin!r}: migration version {migration.version} declared twice")
        seen.add(migration.version)
    done = applied_versions(plugin)
    applied = []
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version in done:
            continue
        log.info("migrating %s to version %s: %s", plugin, migration.version, migration.name)
        try:
            with write_transaction(database):
                migration.up(database, SchemaMigrator.from_database(database))
                MigrationRecord.create(plugin=plugin, version=migration.version, name=migration.name)
        except Exception as error:
            raise MigrationError(
                f"plugin {plugin!r}: migration {migration.version} ({migration.name}) failed: {error}"
            ) from error
        applied.append(migration)
    return applied


def forget_migrations(plugin: str) -> None:
    MigrationRecord.delete().where(MigrationRecord.plugin == plugin).execute()
