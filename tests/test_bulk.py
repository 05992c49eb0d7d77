"""core.bulk: multi-row INSERT / SELECT ... IN on the DB-API cursor, shared by imports, events and tracking."""
from __future__ import annotations

import datetime as dt
import importlib

import pytest

from core import bulk
from core.models import Contact, Tag

#: raw INSERTs apply no Python-side defaults: every NOT NULL column is given
COLUMNS = ["email", "first_name", "last_name", "points", "created_at", "updated_at"]


def _contact_row(email, first_name, stamp):
    return (email, first_name, "", 0, stamp, stamp)


def test_insert_rows_returns_ids_and_skips_conflicts(ctx):
    Contact.create(email="taken@example.com")
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    stamp = bulk.db_value(Contact, "created_at", when)
    rows = [_contact_row(f"c{i}@example.com", "Ann", stamp) for i in range(5)]
    rows.append(_contact_row("taken@example.com", "Bob", stamp))

    returned = bulk.insert_rows(Contact, COLUMNS, rows,
                                returning=("id", "email"), ignore_conflicts=True)

    assert sorted(email for _, email in returned) == [f"c{i}@example.com" for i in range(5)]
    stored = Contact.get(Contact.email == "c3@example.com")
    assert stored.first_name == "Ann" and stored.created_at == when
    assert Contact.get(Contact.email == "taken@example.com").first_name == ""


def test_insert_rows_splits_statements_under_the_parameter_limit(ctx, monkeypatch):
    monkeypatch.setattr(bulk, "MAX_PARAMS", 4)  # four one-column rows per statement
    returned = bulk.insert_rows(Tag, ["name"], [(f"t{i}",) for i in range(11)], returning=("name",))
    assert sorted(name for (name,) in returned) == sorted(f"t{i}" for i in range(11))
    assert Tag.select().count() == 11


def test_select_in_matches_every_condition_and_values_stay_parameters(ctx):
    stamp = bulk.db_value(Contact, "created_at", dt.datetime.now(dt.timezone.utc))
    people = [("a@example.com", "Ann"), ("b@example.com", "Bob"), ("x'); DROP TABLE contact; --", "Eve")]
    bulk.insert_rows(Contact, COLUMNS, [_contact_row(email, name, stamp) for email, name in people])
    rows = bulk.select_in(Contact, ["email"],
                          {"first_name": ["Ann", "Eve"], "email": ["a@example.com", "b@example.com"]})
    assert rows == [("a@example.com",)]
    assert bulk.select_in(Contact, ["email"], {"first_name": []}) == []
    assert bulk.select_in(Contact, ["first_name"], {"email": [people[2][0]]}, distinct=True) == [("Eve",)]
    assert Contact.select().count() == 3


def test_quoted_refuses_anything_but_an_identifier():
    with pytest.raises(ValueError, match="not an SQL identifier"):
        bulk._quoted('contact" ; DROP TABLE contact; --')


def test_imports_holds_no_copy_of_the_bulk_helper():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("plugins.imports.bulk")
