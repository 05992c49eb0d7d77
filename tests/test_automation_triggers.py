"""Triggers: events (pages, forms, fields, statuses, the inbound API) and the
daily time-based ones (anniversaries, N days after a date, no interaction,
no opens, schedules over a segment); core actions that notify and set."""
from __future__ import annotations

import datetime as dt

import time_machine

from core import auth, contacts
from plugins.automation import runs_of
from plugins.automation.timebased import run_time_triggers
from core.events import emit
from core.models import Contact, CustomField

from .test_automation import labels, live, probe, record


def test_birthday_anniversary_enters_once_a_year_and_29_february_on_the_28th(ctx, run_jobs):
    redis = probe(ctx)
    CustomField.create(key="birthday", label="Birthday", type_id="date")
    live("Birthday", [{"type": "date_anniversary", "settings": {"field": "birthday"}}], [record("wishes")],
         entry={"mode": "reentry", "reentry_days": 300, "exit_segment_id": None})
    ada = contacts.create_contact({"email": "ada@example.com", "birthday": "1990-06-15"})
    leap = contacts.create_contact({"email": "leap@example.com", "birthday": "1992-02-29"})
    contacts.create_contact({"email": "other@example.com", "birthday": "1990-06-16"})
    run_jobs()
    with time_machine.travel(dt.datetime(2027, 6, 15, 5, 10, tzinfo=dt.timezone.utc), tick=True):
        assert run_time_triggers() == 1
        assert run_time_triggers() == 0  # the job ran twice the same day: nobody twice
        run_jobs()
    with time_machine.travel(dt.datetime(2027, 2, 28, 5, 10, tzinfo=dt.timezone.utc), tick=True):
        assert run_time_triggers() == 1
        run_jobs()
    with time_machine.travel(dt.datetime(2028, 6, 15, 5, 10, tzinfo=dt.timezone.utc), tick=True):
        assert run_time_triggers() == 1
        run_jobs()
    assert [r.contact_id for r in runs_of(ada)] == [ada.id, ada.id] and len(runs_of(leap)) == 1
    assert labels(redis) == ["wishes"] * 3


def test_the_day_of_a_time_trigger_is_the_instance_time_zones(ctx, run_jobs):
    """At 23:30 UTC on 14 June it is already 15 June in Paris (the default
    instance time zone): a 15 June birthday is due; on a UTC instance it is not yet."""
    from core.settings import store_setting

    probe(ctx)
    CustomField.create(key="birthday", label="Birthday", type_id="date")
    live("Birthday", [{"type": "date_anniversary", "settings": {"field": "birthday"}}], [record("wishes")])
    contacts.create_contact({"email": "ada@example.com", "birthday": "1990-06-15"})
    run_jobs()
    late_evening_utc = dt.datetime(2027, 6, 14, 23, 30, tzinfo=dt.timezone.utc)
    store_setting("general", "timezone", "UTC")
    with time_machine.travel(late_evening_utc, tick=False):
        assert run_time_triggers() == 0
    store_setting("general", "timezone", "Europe/Paris")
    with time_machine.travel(late_evening_utc, tick=False):
        assert run_time_triggers() == 1


def test_one_year_after_the_first_purchase(ctx, run_jobs):
    probe(ctx)
    CustomField.create(key="first_purchase", label="First purchase", type_id="date")
    live("Thanks", [{"type": "days_after_date", "settings": {"field": "first_purchase", "days": 365}}],
         [record("thanks")])
    ada = contacts.create_contact({"email": "ada@example.com", "first_purchase": "2026-01-10"})
    contacts.create_contact({"email": "bob@example.com", "first_purchase": "2026-01-11"})
    with time_machine.travel(dt.datetime(2027, 1, 10, 6, 0, tzinfo=dt.timezone.utc), tick=True):
        assert run_time_triggers() == 1
    assert len(runs_of(ada)) == 1


def test_no_interaction_for_30_days_and_no_opens_for_180(ctx, run_jobs):
    probe(ctx)
    live("Disengaged", [{"type": "no_interaction", "settings": {"days": 30}}], [record("x")])
    live("No opens", [{"type": "no_event", "settings": {"event": "email_opened", "days": 180}}], [record("y")])
    start = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    with time_machine.travel(start, tick=True):
        quiet = contacts.create_contact({"email": "quiet@example.com"})
        busy = contacts.create_contact({"email": "busy@example.com"})
        emit(quiet, "email_opened", {"email_id": 1})
        emit(busy, "email_opened", {"email_id": 1})
    with time_machine.travel(start + dt.timedelta(days=10), tick=True):
        emit(busy, "page_visited", {"url": "https://ex.com/"})
    with time_machine.travel(start + dt.timedelta(days=30), tick=True):
        assert run_time_triggers() == 1
        assert [r.workflow.name for r in runs_of(quiet)] == ["Disengaged"] and runs_of(busy) == []
    with time_machine.travel(start + dt.timedelta(days=40), tick=True):
        assert run_time_triggers() == 1  # busy: 30 days after its visit
    with time_machine.travel(start + dt.timedelta(days=120), tick=True):
        emit(busy, "email_opened", {"email_id": 2})
    with time_machine.travel(start + dt.timedelta(days=180), tick=True):
        run_time_triggers()
    assert sorted(r.workflow.name for r in runs_of(quiet)) == ["Disengaged", "No opens"]
    assert [r.workflow.name for r in runs_of(busy)] == ["Disengaged"]  # opened on day 120: no "No opens"


def test_recurring_schedule_over_a_segment(ctx, run_jobs):
    from plugins.segments import add_to_segment
    from plugins.segments.models import Segment

    probe(ctx)
    segment = Segment.create(name="Customers", kind="static")
    live("Monday digest", [{"type": "recurring_segment",
                            "settings": {"segment_id": str(segment.id), "every": "week", "weekday": "mon"}}],
         [record("digest")], entry={"mode": "reentry", "reentry_days": 6, "exit_segment_id": None})
    ada = contacts.create_contact({"email": "ada@example.com"})
    contacts.create_contact({"email": "bob@example.com"})
    add_to_segment(ada, segment)
    run_jobs()
    with time_machine.travel(dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.timezone.utc), tick=True):  # Tuesday
        assert run_time_triggers() == 0
    with time_machine.travel(dt.datetime(2026, 3, 16, 6, 0, tzinfo=dt.timezone.utc), tick=True):  # Monday
        assert run_time_triggers() == 1
        run_jobs()
    with time_machine.travel(dt.datetime(2026, 3, 23, 6, 0, tzinfo=dt.timezone.utc), tick=True):
        assert run_time_triggers() == 1
    assert len(runs_of(ada)) == 2


def test_page_form_and_status_triggers_match_their_settings(ctx, run_jobs):
    redis = probe(ctx)
    CustomField.create(key="lifecycle", label="Lifecycle", type_id="text")
    live("Pricing", [{"type": "page_visited", "settings": {"url": "*/pricing*"}}], [record("pricing")])
    live("Demo form", [{"type": "form_submitted", "settings": {"form_id": "7"}}], [record("form 7")])
    live("Customer", [{"type": "status_changed", "settings": {"field": "lifecycle", "to_value": "customer"}}],
         [record("onboarding")])
    live("CRM customer", [{"type": "crm_status_changed", "settings": {"to": "customer"}}],
         [record("crm onboarding")])
    ada = contacts.create_contact({"email": "ada@example.com", "lifecycle": "lead"})
    emit(ada, "page_visited", {"url": "https://ex.com/blog"})
    emit(ada, "form_submitted", {"form_id": 8})
    contacts.update_contact(ada, {"lifecycle": "prospect"})
    run_jobs()
    assert labels(redis) == []
    emit(ada, "page_visited", {"url": "https://ex.com/pricing/teams"})
    emit(ada, "form_submitted", {"form_id": 7})
    contacts.update_contact(ada, {"lifecycle": "Customer"})
    emit(ada, "crm_status_changed", {"from": "lead", "to": "customer"})
    run_jobs()
    assert sorted(labels(redis)) == ["crm onboarding", "form 7", "onboarding", "pricing"]


def test_inbound_event_api_needs_a_key_and_starts_workflows(wsgi, web, admin_user, run_jobs):
    app = wsgi.app
    with app.app_context(), app.extensions["couvee"].database_connection():
        redis = probe(app)
        live("Project done", [{"type": "inbound_event", "settings": {"name": "project_finished"}}],
             [record("survey")])
        ada = contacts.create_contact({"email": "ada@example.com"})
        _, secret = auth.create_api_key(admin_user, "tool")
    body = {"email": "ADA@example.com", "name": "project_finished", "properties": {"project": "Site"}}
    assert web.post_json("/api/v1/automation/events", body, expect_errors=True).status_int == 401
    headers = {"Authorization": f"Bearer {secret}"}
    bad = web.post_json("/api/v1/automation/events", {"email": "ada@example.com"}, headers=headers,
                        expect_errors=True)
    assert bad.status_int == 422 and "name" in bad.json["errors"]
    missing = web.post_json("/api/v1/automation/events", dict(body, email="nobody@example.com"), headers=headers,
                            expect_errors=True)
    assert missing.status_int == 404
    response = web.post_json("/api/v1/automation/events", body, headers=headers)
    assert response.status_int == 202 and response.json["contact_id"] == ada.id
    run_jobs()
    with app.app_context(), app.extensions["couvee"].database_connection():
        assert labels(redis) == ["survey"]
        # the same name tracked on the website is not an inbound event
        emit(ada, "custom_event", {"name": "project_finished"}, source="tracking")
    run_jobs()
    with app.app_context(), app.extensions["couvee"].database_connection():
        assert labels(redis) == ["survey"]
        workflow_id = runs_of(ada)[0].workflow_id
    listed = web.get("/api/v1/workflows", headers=headers).json["items"]
    assert listed[0]["name"] == "Project done"
    added = web.post_json(f"/api/v1/workflows/{workflow_id}/contacts", {"contact_id": ada.id}, headers=headers)
    assert added.status_int == 201
    again = web.post_json(f"/api/v1/workflows/{workflow_id}/contacts", {"contact_id": ada.id}, headers=headers,
                          expect_errors=True)
    assert again.status_int == 409 and "already in" in again.json["message"]
    removed = web.delete(f"/api/v1/workflows/{workflow_id}/contacts/{ada.id}", headers=headers)
    assert removed.json == {"stopped": 1}


def test_hot_lead_is_assigned_a_rep_who_is_notified(ctx, run_jobs, smtp_sink):
    from tests.test_email_send import configure  # the bundled email plugin, pointed at the SMTP sink

    configure(smtp_sink)
    rep = auth.create_user("rep@example.com", "password-rep-1", role="sales", name="Rita")
    CustomField.create(key="lifecycle", label="Lifecycle", type_id="text")
    live("Hot lead", [{"type": "points_threshold_crossed", "settings": {"threshold": 100}}],
         [{"type": "action", "action": "owner.assign", "settings": {"mode": "round_robin"}},
          {"type": "action", "action": "notify.user",
           "settings": {"user": "owner", "subject": "Hot lead: {name}", "message": "{name} has {points} points."}},
          {"type": "action", "action": "field.set", "settings": {"field": "lifecycle", "value": "sql"}}])
    ada = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada"})
    Contact.update(points=120).where(Contact.id == ada.id).execute()
    emit(ada, "points_threshold_crossed", {"trigger_id": 1, "threshold": 50, "total": 120})
    run_jobs()
    assert runs_of(ada) == []
    emit(ada, "points_threshold_crossed", {"trigger_id": 2, "threshold": 100, "total": 120})
    run_jobs()
    assert runs_of(ada)[0].status == "completed"
    assert Contact.get_by_id(ada.id).owner_id == rep.id
    (message,) = smtp_sink.wait_for(1)
    assert message.envelope_to == ["rep@example.com"] and message["Subject"] == "Hot lead: Ada"
    text = message.get_body(("plain",)).get_content()
    assert "Ada has 120 points." in text and f"/admin/contacts/{ada.id}" in text
    assert contacts.get_values(ada)["lifecycle"] == "sql"
