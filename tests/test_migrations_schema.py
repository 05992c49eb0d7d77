"""A fresh ``couvee migrate`` (every bundled plugin enabled) creates each registered model's
table with its columns and every index the model declares, on SQLite and PostgreSQL: the first
migrations built with ``Migration.create_tables`` keep the schema they always made."""
from __future__ import annotations

from core.db import db_proxy
from core.extension import Migration


def schema(database) -> dict[str, dict]:
    """Tables -> their column names and indexes (name, columns, unique), as the database reports them."""
    return {
        table: {
            "columns": sorted(column.name for column in database.get_columns(table)),
            "indexes": sorted((index.name, tuple(index.columns), bool(index.unique))
                              for index in database.get_indexes(table)),
        }
        for table in database.get_tables()
    }


def test_fresh_migrate_creates_every_registered_table_with_its_indexes(ctx):
    host = ctx.extensions["couvee"].host
    current = schema(db_proxy.obj)
    models = [model for _, answer in host.call("register_models") for model in answer]
    assert len(models) > 30
    for model in models:
        table = model._meta.table_name
        assert table in current, f"{model.__name__}: no table {table}"
        columns = {field.column_name for field in model._meta.sorted_fields}
        assert columns <= set(current[table]["columns"]), (table, columns - set(current[table]["columns"]))
        present = {name for name, _, _ in current[table]["indexes"]}
        for index in model._meta.fields_to_index():
            assert index._name in present, f"{table}: index {index._name} missing"


def test_create_tables_migration_creates_tables_then_runs_the_follow_up(ctx):
    import peewee

    class Scratch(peewee.Model):
        label = peewee.CharField(index=True)
        rank = peewee.IntegerField(unique=True)

        class Meta:
            database = db_proxy
            table_name = "scratch_create_tables"

    seeded = []

    def seed(database, migrator):
        seeded.append(Scratch.create(label="x", rank=1))

    migration = Migration.create_tables(1, "scratch", [Scratch], then=seed)
    assert (migration.version, migration.name) == (1, "scratch")
    with db_proxy.atomic():
        migration.up(db_proxy.obj, None)
    try:
        indexes = {(tuple(i.columns), i.unique) for i in db_proxy.obj.get_indexes("scratch_create_tables")}
        assert {(("label",), False), (("rank",), True)} <= indexes
        assert [row.label for row in Scratch.select()] == ["x"] and seeded
        with db_proxy.atomic():  # tables already there: skipped, not an error
            Migration.create_tables(1, "scratch", [Scratch]).up(db_proxy.obj, None)
        assert Scratch.select().count() == 1
    finally:
        db_proxy.obj.drop_tables([Scratch])
