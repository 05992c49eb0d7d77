"""A run's log in the reader's language (issue 17): the engine stores each
line's message id and parameters, a French admin reads a new run in French
(the action's French label, times in the instance zone), an English admin
reads it in English, and a line stored before keeps showing its text."""
from __future__ import annotations

import html

import pytest

from core import contacts
from core.models import User
from plugins.automation import runs_of
from plugins.automation.models import RunLog

from .conftest import ADMIN_EMAIL
from .test_automation import live


@pytest.fixture
def finished_run(ctx, run_jobs):
    live("Chauds", [{"type": "tag_added", "settings": {"tag": "chaud"}}],
         [{"type": "action", "action": "tag.add", "settings": {"tag": "suivi"}}])
    ada = contacts.create_contact({"email": "ada@example.com"})
    contacts.add_tag(ada, "chaud")
    run_jobs()
    (run,) = runs_of(ada)
    assert run.status == "completed"
    return run


def test_a_french_admin_reads_a_new_run_in_french(admin, ctx, finished_run):
    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()
    page = html.unescape(admin.get(f"/admin/workflows/runs/{finished_run.id}").text)
    assert "a atteint la fin du workflow" in page and "entré (version 1) : " in page
    assert "Ajouter une étiquette : " in page  # the action's label in French, its detail as returned
    assert "reached the end of the workflow" not in page and "entered (version 1)" not in page
    # what the API and older readers get is unchanged
    stored = [row.message for row in RunLog.select().where(RunLog.run == finished_run.id).order_by(RunLog.id)]
    assert stored[-1] == "reached the end of the workflow"


def test_an_english_admin_reads_it_in_english_and_an_old_line_shows_as_stored(admin, ctx, finished_run):
    RunLog.create(run=finished_run.id, workflow=finished_run.workflow_id, contact=finished_run.contact_id,
                  kind="step", message="an old line, written before keys")
    RunLog.create(run=finished_run.id, workflow=finished_run.workflow_id, contact=finished_run.contact_id,
                  kind="step", message="a line whose key is unreadable", message_key="{not json")
    page = html.unescape(admin.get(f"/admin/workflows/runs/{finished_run.id}").text)
    assert "reached the end of the workflow" in page and "Add a tag: " in page
    assert "an old line, written before keys" in page and "a line whose key is unreadable" in page
    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()
    french = html.unescape(admin.get(f"/admin/workflows/runs/{finished_run.id}").text)
    assert "an old line, written before keys" in french and "a atteint la fin du workflow" in french
