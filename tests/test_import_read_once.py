"""A small file is read and decoded once (its rows kept between the import's
two passes), a large one is streamed twice: both give the same import. The
cycle collector is off while the batches run and back on afterwards."""
from __future__ import annotations

import gc

import pytest

from core.contacts import get_values, tags_of
from plugins.imports import runner
from core.models import Contact, ContactTag, ContactValue, CustomField, Event

from .test_imports import reported, run, upload

TEXT = ("email;prénom;zone;notes;tags\n"
        "ana@exemple.es;Ana;EMEA;;vip\n"
        "\n"
        "bob@exemple.fr;Bob;Mars;;\n"
        ";;;;\n"
        'cleo@exemple.fr;Cléo;APAC;"two\nlines";salon\n'
        "ANA@exemple.es ;Anita;;;\n"
        "pas-une-adresse;Dan;EMEA;;\n"
        "eve@exemple.fr;Eve;LATAM;;vip\n"
        "fay@exemple.fr;Fay;NORAM;;\n")
TARGETS = {"prénom": "first_name", "zone": "field:zone", "notes": "field:notes", "tags": "tags"}


def imported(test_rows=None) -> tuple:
    job = run(upload(TEXT, targets=TARGETS, test_rows=test_rows))
    people = {c.email: (c.first_name, get_values(c), sorted(tags_of(c))) for c in Contact.select()}
    created = Event.select().where(Event.kind == "contact_created").count()
    return job.progress(), reported(job), people, created


def clear() -> None:
    for model in (Event, ContactTag, ContactValue, Contact):
        model.delete().execute()


@pytest.mark.parametrize("test_rows", [None, 3])
def test_kept_rows_and_streamed_rows_import_the_same(ctx, monkeypatch, test_rows):
    CustomField.create(key="zone", label="Zone", type_id="select", options=["NORAM", "LATAM", "EMEA", "APAC"])
    CustomField.create(key="notes", label="Notes", type_id="text")
    monkeypatch.setattr(runner, "BATCH_SIZE", 2)  # the repeated email spans batches
    kept = imported(test_rows)
    clear()
    monkeypatch.setattr(runner, "KEEP_ROWS_BYTES", 0)  # every file streamed from disk, twice
    streamed = imported(test_rows)
    progress, reports, people, created = kept
    for name in ("rows_total", "created", "updated", "unchanged", "skipped", "duplicates", "errors"):
        assert progress[name] == streamed[0][name], name
    assert (reports, people, created) == streamed[1:]
    if test_rows is None:
        assert [(line, kind) for line, kind, _ in reports] == [(4, "error"), (9, "error")]
        assert people["ana@exemple.es"] == ("Anita", {"zone": "EMEA"}, ["vip"])
        assert people["cleo@exemple.fr"][1] == {"zone": "APAC", "notes": "two\nlines"}
        assert created == len(people) == 4
    else:
        assert progress["rows_total"] == 3 and created == len(people) == 2


def test_the_cycle_collector_is_off_during_the_batches_and_restored(ctx):
    seen = []
    job = upload("email\na@exemple.fr\nb@exemple.fr\n")
    assert gc.isenabled()
    runner.execute(job, on_batch=lambda result: seen.append(gc.isenabled()))
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        runner.execute(upload("email\nc@exemple.fr\n"))
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
