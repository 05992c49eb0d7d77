"""Workflows saved before the CRM status had its own trigger (issue 16
follow-up): core's ``status_changed`` with an empty field meant “the CRM
status”; the CRM plugin's migration 2 moves them to ``crm_status_changed``
through core's ``rename_trigger_type``."""
from __future__ import annotations

import pytest

from core import contacts, rename_trigger_type
from core.app import create_app
from core.db import init_database
from plugins.automation.lifecycle import activate, problems
from plugins.automation.models import Workflow, WorkflowVersion
from core.events import emit
from core.models import CustomField, MigrationRecord

from .test_automation import labels, probe, record, with_ids

OLD_CRM_TRIGGER = {"type": "status_changed", "settings": {"field": "", "to_value": "customer"}}
FIELD_TRIGGER = {"type": "status_changed", "settings": {"field": "lifecycle", "to_value": "customer"}}
ENTRY = {"mode": "once", "reentry_days": 0, "exit_segment_id": None}


def saved_in_the_old_shape(name, triggers, steps, active=False) -> Workflow:
    """A workflow as the previous release stored it (activation then
    accepted the empty field), bypassing today's checks."""
    definition = {"triggers": triggers, "steps": with_ids(steps), "entry": ENTRY}
    workflow = Workflow.create(name=name, definition=definition, status="active" if active else "draft",
                               version=1 if active else 0)
    if active:
        WorkflowVersion.create(workflow=workflow.id, number=1, definition=definition)
    return workflow


def upgrade_the_crm_plugin(app, config) -> None:
    """Start the new release on the old database: the pending migration runs
    (then the test goes on with its own app's connection)."""
    MigrationRecord.delete().where((MigrationRecord.plugin == "crm_koban_sync")
                                   & (MigrationRecord.version == 2)).execute()
    create_app(config)
    init_database(app.extensions["couvee"].database)


def test_old_crm_status_triggers_are_moved_to_the_crm_trigger(ctx, config, run_jobs):
    redis = probe(ctx)
    CustomField.create(key="lifecycle", label="Lifecycle", type_id="text")
    draft = saved_in_the_old_shape("Welcome customers", [OLD_CRM_TRIGGER], [record("draft welcome")])
    live = saved_in_the_old_shape("Onboarding", [OLD_CRM_TRIGGER, FIELD_TRIGGER], [record("onboarding")],
                                  active=True)
    assert problems(draft.definition)  # the old shape no longer activates

    upgrade_the_crm_plugin(ctx, config)

    draft, live = Workflow.get_by_id(draft.id), Workflow.get_by_id(live.id)
    moved = {"type": "crm_status_changed", "settings": {"to": "customer"}}
    assert draft.definition["triggers"] == [moved]
    assert live.definition["triggers"] == [moved, FIELD_TRIGGER]  # a real field's status stays core's
    assert WorkflowVersion.get(WorkflowVersion.workflow == live.id).definition["triggers"] == [moved, FIELD_TRIGGER]
    assert draft.definition["steps"] == with_ids([record("draft welcome")])
    assert activate(draft) == []

    ada = contacts.create_contact({"email": "ada@example.com", "lifecycle": "lead"})
    emit(ada, "crm_status_changed", {"from": "lead", "to": "prospect"})
    run_jobs()
    assert labels(redis) == []
    emit(ada, "crm_status_changed", {"from": "prospect", "to": "customer"})
    run_jobs()
    assert sorted(labels(redis)) == ["draft welcome", "onboarding"]


def test_the_migration_is_recorded_and_leaves_other_workflows_alone(ctx, config):
    untouched = saved_in_the_old_shape("Tagged", [{"type": "tag_added", "settings": {"tag": "hot"}}],
                                       [record("hot")])
    before = dict(untouched.definition)
    upgrade_the_crm_plugin(ctx, config)
    assert Workflow.get_by_id(untouched.id).definition == before
    assert MigrationRecord.get_or_none((MigrationRecord.plugin == "crm_koban_sync")
                                       & (MigrationRecord.version == 2)) is not None


def test_rename_trigger_type_needs_two_different_ids(ctx):
    with pytest.raises(ValueError):
        rename_trigger_type("status_changed", "status_changed")
