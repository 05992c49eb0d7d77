"""Segments: static lists filled by hand, API and actions; dynamic segments
built in the admin without JavaScript, compiled to one query, kept current
within seconds of a contact's change, rebuilt when time passes."""
from __future__ import annotations

import datetime as dt
import html
import logging
import time

import pytest
import time_machine

from core import auth, contacts
from core.db import is_sqlite
from core.events import emit
from core.models import Contact, ContactTag, ContactValue, CustomField, Event, Tag, utcnow
from plugins.segments import add_to_segment, compile_segment, rebuild, refresh_contact, segments_of
from plugins.segments.compiler import compile_definition
from plugins.segments.editing import save_segment
from plugins.segments.membership import matches
from plugins.segments.models import Segment, SegmentMember

from .conftest import csrf_of, install_fixture_plugin, login


def cond(filter_id: str, **params) -> dict:
    return {"filter": filter_id, "params": params}


def definition(*conditions, match: str = "all") -> dict:
    return {"match": "all", "groups": [{"match": match, "conditions": list(conditions)}]}


def zone_field() -> CustomField:
    return CustomField.create(key="zone", label="Zone", type_id="select", options=["NORAM", "LATAM", "EMEA", "APAC"])


def member_emails(segment) -> set[str]:
    return {row.email for row in Contact.select(Contact.email).join(
        SegmentMember, on=(SegmentMember.contact == Contact.id)).where(SegmentMember.segment == segment.id)}


def segment_events(kind: str, segment) -> list[str]:
    return sorted(e.contact.email for e in Event.select().where(Event.kind == kind)
                  if e.data.get("segment_id") == segment.id)


# --- the issue's example, end to end ------------------------------------------------------


def build_issue_segment_through_the_form(admin) -> None:
    """Zone = EMEA and tag = webinar and visited */pricing* in the last 30
    days, built with the buttons a browser without JavaScript has."""
    page = admin.get("/admin/segments/new?kind=dynamic")
    form = page.forms["segment-form"]
    form["name"] = "EMEA webinar pricing"
    form["g0-c0-subject"] = "field:zone"
    form = form.submit("action", value="refresh").forms["segment-form"]
    form["g0-c0-operator"] = "equals"
    form["g0-c0-value"] = "EMEA"
    form = form.submit("action", value="add-condition-0").forms["segment-form"]
    form["g0-c1-subject"] = "tag"
    form = form.submit("action", value="refresh").forms["segment-form"]
    form["g0-c1-operator"] = "has"
    form["g0-c1-value"] = "webinar"
    form = form.submit("action", value="add-condition-0").forms["segment-form"]
    form["g0-c2-subject"] = "page_visited"
    form = form.submit("action", value="refresh").forms["segment-form"]
    form["g0-c2-url"] = "*/pricing*"
    form["g0-c2-days"] = "30"
    page = form.submit("action", value="save").follow()
    assert "EMEA webinar pricing" in page.text
    assert "Zone is “EMEA” and has the tag “webinar” and visited a page matching “*/pricing*” in the last 30 days" \
        in page.text


def test_emea_webinar_pricing_segment_follows_a_visit_and_lets_go_after_31_days(admin, wsgi, run_jobs):
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        zone_field()
        ada = contacts.create_contact({"email": "ada@example.com", "zone": "EMEA"}, tags=["webinar"])
        contacts.create_contact({"email": "bob@example.com", "zone": "APAC"}, tags=["webinar"])
        contacts.create_contact({"email": "cyd@example.com", "zone": "EMEA"})
    build_issue_segment_through_the_form(admin)
    run_jobs()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        segment = Segment.get(Segment.name == "EMEA webinar pricing")
        assert segment.last_rebuilt_at is not None and member_emails(segment) == set()
        for contact in Contact.select():
            emit(contact, "page_visited", {"url": "https://ex.com/pricing"})
    run_jobs()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        segment = Segment.get(Segment.name == "EMEA webinar pricing")
        assert member_emails(segment) == {"ada@example.com"}
        assert segment.member_count == 1
        assert segment_events("segment_joined", segment) == ["ada@example.com"]
    page = admin.get(f"/admin/segments/{segment.id}")
    assert "ada@example.com" in page.text and "bob@example.com" not in page.text

    with time_machine.travel(utcnow() + dt.timedelta(days=31), tick=False):
        with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
            job = wsgi.app.extensions["couvee"].registries.periodic_jobs["segments.rebuild_time_relative"]
            assert job.interval == 3600
            assert job.func() == 1
            assert ada.id not in {c.id for c in compile_segment(segment)}
    run_jobs()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        segment = Segment.get_by_id(segment.id)
        assert member_emails(segment) == set() and segment.member_count == 0
        assert segment_events("segment_left", segment) == ["ada@example.com"]


# --- every filter and operator on a small dataset ----------------------------------------

TODAY = utcnow().date()


def _day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


@pytest.fixture
def on_the_day_the_cases_were_written():
    """The cases are dated when this module is imported (``TODAY``): their
    test runs at noon of that day, so a run that crosses midnight (UTC) does
    not compare dates of two different days."""
    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.timezone.utc), tick=True):
        yield


@pytest.fixture
def people(on_the_day_the_cases_were_written, ctx):
    """Four contacts that differ on every filter."""
    now = utcnow()
    alice = auth.create_user("alice@ex.com", "password-alice-1", role="sales", name="Alice")
    bruno = auth.create_user("bruno@ex.com", "password-bruno-1", role="sales", name="Bruno")
    zone_field()
    CustomField.create(key="tools", label="Tools", type_id="multiselect", options=["Excel", "Sheets", "Notion"])
    CustomField.create(key="uses_excel", label="Uses Excel", type_id="boolean")
    CustomField.create(key="founded", label="Founded", type_id="date")
    CustomField.create(key="renewal", label="Renewal", type_id="date")
    CustomField.create(key="revenue", label="Revenue", type_id="text")
    ada = contacts.create_contact(
        {"email": "ada@acme.com", "first_name": "Ada", "last_name": "Lovelace", "zone": "EMEA",
         "tools": ["Excel", "Sheets"], "uses_excel": "yes", "founded": _day(60).replace(year=2016).isoformat(),
         "renewal": _day(-10).isoformat(), "revenue": "1.5M EUR"}, owner=alice, tags=["webinar", "vip"])
    bob = contacts.create_contact(
        {"email": "bob@beta.io", "first_name": "Bob", "last_name": "Martin", "zone": "APAC", "tools": ["Sheets"],
         "uses_excel": "no", "founded": _day(3).replace(year=2012).isoformat(), "renewal": _day(10).isoformat(),
         "revenue": "200k"}, tags=["webinar"])
    cyd = contacts.create_contact({"email": "cyd@acme.com"}, owner=bruno)
    dee = contacts.create_contact({"email": "dee@delta.org", "first_name": "Dee"})
    for contact, points, age in ((ada, 30, 100), (bob, 5, 10), (cyd, 0, 0), (dee, -3, 0)):
        Contact.update(points=points, created_at=now - dt.timedelta(days=age)).where(Contact.id == contact.id).execute()
    emit(ada, "page_visited", {"url": "https://ex.com/pricing"}, created_at=now - dt.timedelta(days=5))
    emit(ada, "email_opened", {"message_id": 1}, created_at=now - dt.timedelta(days=3))
    emit(bob, "page_visited", {"url": "https://ex.com/blog"}, created_at=now - dt.timedelta(days=5))
    emit(bob, "page_visited", {"url": "https://ex.com/pricing/enterprise"}, created_at=now - dt.timedelta(days=40))
    emit(bob, "form_submitted", {"form": "demo"}, created_at=now - dt.timedelta(days=1))
    emit(bob, "email_clicked", {"url": "https://ex.com/offerX50"}, created_at=now - dt.timedelta(days=2))
    emit(cyd, "email_clicked", {"url": "https://ex.com/offer_50%"}, created_at=now - dt.timedelta(days=1))
    vip_list = Segment.create(name="VIP list", kind="static")
    for contact in (ada, dee):
        add_to_segment(contact, vip_list)
    return {"ada": ada, "bob": bob, "cyd": cyd, "dee": dee, "alice": alice, "bruno": bruno, "vip_list": vip_list}


ALL = {"ada", "bob", "cyd", "dee"}
CASES = [
    (cond("email", operator="equals", value="ADA@acme.com"), {"ada"}),
    (cond("email", operator="not_equals", value="ada@acme.com"), {"bob", "cyd", "dee"}),
    (cond("email", operator="contains", value="acme"), {"ada", "cyd"}),
    (cond("email", operator="not_contains", value="acme"), {"bob", "dee"}),
    (cond("email", operator="starts_with", value="bo"), {"bob"}),
    (cond("email", operator="ends_with", value=".org"), {"dee"}),
    (cond("email", operator="in", value="ada@acme.com, bob@beta.io"), {"ada", "bob"}),
    (cond("email", operator="not_in", value=["ada@acme.com", "bob@beta.io"]), {"cyd", "dee"}),
    (cond("first_name", operator="empty"), {"cyd"}),
    (cond("first_name", operator="not_empty"), {"ada", "bob", "dee"}),
    (cond("last_name", operator="equals", value="Lovelace"), {"ada"}),
    (cond("created_at", operator="within_last_days", value="30"), {"bob", "cyd", "dee"}),
    (cond("created_at", operator="more_than_days_ago", value="30"), {"ada"}),
    (cond("created_at", operator="before", value=_day(-50).isoformat()), {"ada"}),
    (cond("created_at", operator="after", value=_day(-50).isoformat()), {"bob", "cyd", "dee"}),
    (cond("created_at", operator="equals", value=_day(-10).isoformat()), {"bob"}),
    (cond("last_interaction_at", operator="empty"), {"dee"}),
    (cond("last_interaction_at", operator="not_empty"), {"ada", "bob", "cyd"}),
    (cond("last_interaction_at", operator="within_last_days", value="2"), {"bob", "cyd"}),
    (cond("field", field="zone", operator="equals", value="emea"), {"ada"}),
    (cond("field", field="zone", operator="not_equals", value="EMEA"), {"bob", "cyd", "dee"}),
    (cond("field", field="zone", operator="in", value="EMEA, APAC"), {"ada", "bob"}),
    (cond("field", field="zone", operator="not_in", value="EMEA"), {"bob", "cyd", "dee"}),
    (cond("field", field="zone", operator="empty"), {"cyd", "dee"}),
    (cond("field", field="zone", operator="not_empty"), {"ada", "bob"}),
    (cond("field", field="tools", operator="contains", value="excel"), {"ada"}),
    (cond("field", field="tools", operator="contains", value="Sheets"), {"ada", "bob"}),
    (cond("field", field="tools", operator="not_contains", value="Excel"), {"bob", "cyd", "dee"}),
    (cond("field", field="tools", operator="contains_all", value="Excel, Sheets"), {"ada"}),
    (cond("field", field="uses_excel", operator="equals", value="oui"), {"ada"}),
    (cond("field", field="uses_excel", operator="equals", value="no"), {"bob"}),
    (cond("field", field="revenue", operator="contains", value="m eur"), {"ada"}),
    (cond("field", field="revenue", operator="starts_with", value="200"), {"bob"}),
    (cond("field", field="revenue", operator="ends_with", value="K"), {"bob"}),
    (cond("field", field="revenue", operator="equals", value="200k"), {"bob"}),
    (cond("field", field="revenue", operator="not_contains", value="eur"), {"bob", "cyd", "dee"}),
    (cond("field", field="renewal", operator="before", value=TODAY.isoformat()), {"ada"}),
    (cond("field", field="renewal", operator="after", value=TODAY.isoformat()), {"bob"}),
    (cond("field", field="renewal", operator="equals", value=_day(-10).strftime("%d/%m/%Y")), {"ada"}),
    (cond("field", field="renewal", operator="within_last_days", value="30"), {"ada"}),
    (cond("field", field="renewal", operator="within_next_days", value="30"), {"bob"}),
    (cond("field", field="founded", operator="anniversary_in_days", value="7"), {"bob"}),
    (cond("field", field="founded", operator="anniversary_in_days", value="70"), {"ada", "bob"}),
    (cond("tag", operator="has", value="webinar"), {"ada", "bob"}),
    (cond("tag", operator="has_not", value="webinar"), {"cyd", "dee"}),
    (cond("tag", operator="has", value="vip"), {"ada"}),
    (cond("tag", operator="has", value="never used"), set()),
    (cond("owner", operator="is", value="{alice}"), {"ada"}),
    (cond("owner", operator="is", value="Bruno@ex.com"), {"cyd"}),
    (cond("owner", operator="is_not", value="{alice}"), {"bob", "cyd", "dee"}),
    (cond("owner", operator="is_none"), {"bob", "dee"}),
    (cond("owner", operator="is_set"), {"ada", "cyd"}),
    (cond("points", operator="gte", value="5"), {"ada", "bob"}),
    (cond("points", operator="lte", value="0"), {"cyd", "dee"}),
    (cond("points", operator="eq", value=30), {"ada"}),
    (cond("points", operator="gt", value="5"), {"ada"}),
    (cond("points", operator="lt", value="0"), {"dee"}),
    (cond("segment", operator="in_segment", value="{vip_list}"), {"ada", "dee"}),
    (cond("segment", operator="not_in_segment", value="{vip_list}"), {"bob", "cyd"}),
    (cond("page_visited", operator="had", url="*/pricing*", days="30"), {"ada"}),
    (cond("page_visited", operator="had", url="*/pricing*", days=""), {"ada", "bob"}),
    (cond("page_visited", operator="had_not", url="*/pricing*", days="30"), {"bob", "cyd", "dee"}),
    (cond("page_visited", operator="had", days="7"), {"ada", "bob"}),
    (cond("page_visited", operator="had", url="PRICING", days="60"), {"ada", "bob"}),
    (cond("email_opened", operator="had", days="7"), {"ada"}),
    (cond("email_opened", operator="had_not"), {"bob", "cyd", "dee"}),
    (cond("email_clicked", operator="had", url="*offer_50*"), {"cyd"}),
    (cond("email_clicked", operator="had", url="*50%"), {"cyd"}),
    (cond("email_clicked", operator="had"), {"bob", "cyd"}),
    (cond("form_submitted", operator="had", days="7"), {"bob"}),
    (cond("event", kind="page_visited", operator="had", url="*/blog*"), {"bob"}),
    (cond("event", kind="form_submitted", operator="had"), {"bob"}),
]


def names_of(people, ids) -> set[str]:
    by_id = {people[name].id: name for name in ALL}
    return {by_id[i] for i in ids}


def resolve(people, condition: dict) -> dict:
    params = {key: (value.format(**{k: getattr(v, "id", v) for k, v in people.items()})
                    if isinstance(value, str) else value) for key, value in condition["params"].items()}
    return {"filter": condition["filter"], "params": params}


def test_each_filter_and_operator_selects_the_right_contacts(people):
    """Every case through the full query (as written, and as planned for a
    rebuild) and through the one-contact evaluation used on every change:
    all must give the expected contacts."""
    wrong = []
    for index, (condition, expected) in enumerate(CASES):
        wanted = definition(resolve(people, condition))
        found = names_of(people, [c.id for c in Contact.select(Contact.id).where(compile_definition(wanted))])
        planned = names_of(people, [c.id for c in compile_segment(Segment(kind="dynamic", filter=wanted))])
        one_by_one = {name for name in ALL if matches(Segment(kind="dynamic", filter=wanted), people[name].id)}
        if not found == planned == one_by_one == expected:
            wrong.append((index, condition, sorted(expected), sorted(found), sorted(planned), sorted(one_by_one)))
    assert wrong == []


def test_and_or_groups(people):
    emea_webinar = {"match": "all", "conditions": [cond("field", field="zone", operator="equals", value="EMEA"),
                                                   cond("tag", operator="has", value="webinar")]}
    low_or_delta = {"match": "any", "conditions": [cond("points", operator="lt", value="0"),
                                                   cond("email", operator="ends_with", value="@acme.com")]}

    def members(match, *groups):
        wanted = {"match": match, "groups": list(groups)}
        found = names_of(people, [c.id for c in Contact.select(Contact.id).where(compile_definition(wanted))])
        planned = names_of(people, [c.id for c in Contact.select(Contact.id).where(
            compile_definition(wanted, plan=True))])
        assert planned == found
        return found

    assert members("all", low_or_delta) == {"cyd", "dee", "ada"}
    assert members("any", emea_webinar, low_or_delta) == {"ada", "cyd", "dee"}
    assert members("all", emea_webinar, low_or_delta) == {"ada"}
    assert members("all", {"match": "any", "conditions": [cond("tag", operator="has", value="webinar"),
                                                          cond("owner", operator="is_set")]},
                   {"match": "all", "conditions": [cond("points", operator="lte", value="5")]}) == {"bob", "cyd"}
    # two conditions on the same table (the driving set and a check inside it)
    assert members("all", {"match": "all", "conditions": [
        cond("tag", operator="has", value="webinar"), cond("tag", operator="has", value="vip"),
        cond("tag", operator="has_not", value="customer"), cond("field", field="zone", operator="not_empty"),
        cond("segment", operator="in_segment", value=str(people["vip_list"].id)),
        cond("page_visited", url="*pricing*")]}) == {"ada"}
    assert members("all", {"match": "all", "conditions": [
        cond("field", field="zone", operator="in", value="EMEA, APAC"), cond("points", operator="gte", value="5")]},
        {"match": "any", "conditions": [cond("tag", operator="has", value="vip"),
                                        cond("form_submitted", operator="had")]}) == {"ada", "bob"}


def test_a_plugin_filter_is_usable_in_a_segment(instance, wsgi, ctx):
    from core.plugins import lifecycle

    install_fixture_plugin(instance)
    wsgi.runtime.state.stale = True
    wsgi.runtime.refresh()
    lifecycle.activate(wsgi.app.extensions["couvee"], "couvee_fixture")
    wsgi.runtime.refresh()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        contacts.create_contact({"email": "a@ex.com"}, tags=["webinar"])
        contacts.create_contact({"email": "b@ex.com"})
        segment = save_segment(None, name="Tagged", kind="dynamic", definition=definition(
            cond("fixture.all"), cond("tag", operator="has", value="webinar")))
        assert rebuild(segment)["members"] == 1
        assert member_emails(segment) == {"a@ex.com"}


# --- the builder form ------------------------------------------------------------------


def test_invalid_conditions_re_render_the_form_with_messages_and_keep_the_input(admin, wsgi):
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        zone_field()
    form = admin.get("/admin/segments/new").forms["segment-form"]
    form["name"] = "Martians"
    form["g0-c0-subject"] = "field:zone"
    form = form.submit("action", value="refresh").forms["segment-form"]
    form["g0-c0-operator"] = "equals"
    form["g0-c0-value"] = "Mars"
    form = form.submit("action", value="add-condition-0").forms["segment-form"]
    form["g0-c1-subject"] = "page_visited"
    form = form.submit("action", value="refresh").forms["segment-form"]
    form["g0-c1-days"] = "a month"
    page = form.submit("action", value="save", status=400)
    assert "The segment was not saved" in page.text
    assert 'Zone: "Mars" is not one of the choices: NORAM, LATAM, EMEA, APAC' in html.unescape(page.text)
    assert "“a month” is not a whole number" in page.text
    form = page.forms["segment-form"]
    assert form["name"].value == "Martians" and form["g0-c0-value"].value == "Mars"
    form["name"] = ""
    form["g0-c0-value"] = "EMEA"
    form["g0-c1-days"] = "30"
    page = form.submit("action", value="save", status=400)
    assert "Give the segment a name." in page.text
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        assert Segment.select().count() == 0


def test_builder_adds_and_removes_conditions_and_groups_without_javascript(admin):
    form = admin.get("/admin/segments/new").forms["segment-form"]
    form["name"] = "Heavy users"
    form["g0-c0-subject"] = "points"
    form = form.submit("action", value="refresh").forms["segment-form"]
    assert [o[0] for o in form["g0-c0-operator"].options] == ["gte", "lte", "eq", "gt", "lt"]
    form["g0-c0-value"] = "50"
    form = form.submit("action", value="add-group").forms["segment-form"]
    form["match"] = "any"
    form["g1-c0-subject"] = "tag"
    form = form.submit("action", value="refresh").forms["segment-form"]
    form["g1-c0-value"] = "vip"
    form = form.submit("action", value="add-condition-1").forms["segment-form"]
    assert "g1-c1-subject" in form.fields
    form = form.submit("action", value="remove-1-1").forms["segment-form"]
    assert "g1-c1-subject" not in form.fields
    page = form.submit("action", value="save").follow()
    assert "points ≥ 50 or has the tag “vip”" in page.text


def test_an_empty_dynamic_segment_is_refused(admin):
    form = admin.get("/admin/segments/new").forms["segment-form"]
    form["name"] = "Nobody"
    page = form.submit("action", value="save", status=400)
    assert "Add at least one condition." in page.text


# --- static lists ------------------------------------------------------------------------


def test_static_list_by_hand_from_the_segment_page_and_the_contact_page(admin, wsgi, run_jobs):
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        ada = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada"})
        bob = contacts.create_contact({"email": "bob@example.com", "first_name": "Bob"})
    form = admin.get("/admin/segments/new?kind=static").forms["segment-form"]
    assert form["kind"].value == "static"
    form["name"] = "Key accounts"
    page = form.submit("action", value="save").follow()
    assert "This list is empty" in page.text
    page.forms["add-member"]["email"] = "ADA@example.com "
    page = page.forms["add-member"].submit().follow()
    assert "Ada was added." in page.text and "ada@example.com" in page.text
    page.forms["add-member"]["email"] = "nobody@example.com"
    assert "No contact has the email “nobody@example.com”." in page.forms["add-member"].submit().follow().text

    contact_page = admin.get(f"/admin/contacts/{bob.id}")
    assert "In no segment." in contact_page.text
    contact_page = contact_page.forms["add-to-list"].submit().follow()
    assert "Added to the list." in contact_page.text and "Key accounts" in contact_page.text
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        segment = Segment.get(Segment.name == "Key accounts")
        assert member_emails(segment) == {"ada@example.com", "bob@example.com"} and segment.member_count == 2
    remove = [f for f in contact_page.forms.values() if "/members/" in (f.action or "")][0]
    contact_page = remove.submit().follow()
    assert "Bob was removed from the list." in contact_page.text
    run_jobs()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        assert member_emails(segment) == {"ada@example.com"}
        assert Segment.get_by_id(segment.id).member_count == 1
        assert segment_events("segment_joined", segment) == ["ada@example.com", "bob@example.com"]
        assert segment_events("segment_left", segment) == ["bob@example.com"]
        assert [e.data["via"] for e in Event.select().where(Event.kind == "segment_left")] == ["manual"]
        assert segments_of(ada) == [segment]


def test_a_dynamic_segment_refuses_manual_members(admin, wsgi):
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        contacts.create_contact({"email": "ada@example.com"})
        segment = save_segment(None, name="Everyone", kind="dynamic",
                               definition=definition(cond("points", operator="gte", value="0")))
    token = csrf_of(admin.get(f"/admin/segments/{segment.id}"))
    page = admin.post(f"/admin/segments/{segment.id}/members",
                      {"email": "ada@example.com", "csrf_token": token}).follow()
    assert "is a dynamic segment" in page.text


def test_static_lists_through_the_rest_api(web, wsgi, admin_user):
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        _, key = auth.create_api_key(admin_user, "t")
        ada = contacts.create_contact({"email": "ada@example.com"})
        bob = contacts.create_contact({"email": "bob@example.com"})
    headers = {"Authorization": f"Bearer {key}"}
    web.get("/api/v1/segments", status=401)
    created = web.post_json("/api/v1/segments", {"name": "Webinar guests", "kind": "static", "tags": ["events"]},
                            headers=headers, status=201).json
    assert created["member_count"] == 0 and created["tags"] == ["events"]
    url = f"/api/v1/segments/{created['id']}"
    added = web.post_json(f"{url}/members", {"contact_ids": [ada.id, 999999], "emails": ["BOB@example.com",
                                                                                      "nobody@x.org"]},
                          headers=headers).json
    assert added == {"added": 2, "unknown": [999999, "nobody@x.org"], "member_count": 2}
    again = web.post_json(f"{url}/members", {"contact_ids": [ada.id]}, headers=headers).json
    assert again["added"] == 0
    page = web.get(f"{url}/members?limit=1&offset=1", headers=headers).json
    assert page["total"] == 2 and [m["email"] for m in page["items"]] == ["bob@example.com"]
    assert page["items"][0]["source"] == "api"
    web.delete(f"{url}/members/{bob.id}", headers=headers, status=204)
    web.delete(f"{url}/members/{bob.id}", headers=headers, status=404)
    assert web.get(url, headers=headers).json["member_count"] == 1
    assert [s["name"] for s in web.get("/api/v1/segments", headers=headers).json["items"]] == ["Webinar guests"]

    bad = web.post_json("/api/v1/segments", {"name": "Bad", "kind": "dynamic", "filter": definition(
        cond("points", operator="gte", value="lots"))}, headers=headers, status=422).json
    assert "“lots” is not a whole number" in bad["errors"]["g0-c0"]
    dynamic = web.post_json("/api/v1/segments", {"name": "Scored", "kind": "dynamic", "filter": definition(
        cond("points", operator="gte", value="0"))}, headers=headers, status=201).json
    assert dynamic["filter_text"] == "points ≥ 0"
    web.post_json(f"/api/v1/segments/{dynamic['id']}/members", {"contact_ids": [ada.id]}, headers=headers, status=409)


def test_segment_actions_add_and_remove_idempotently(ctx, run_jobs):
    actions = ctx.extensions["couvee"].registries.actions
    contact = contacts.create_contact({"email": "ada@example.com"})
    segment = Segment.create(name="Nurture", kind="static")
    assert actions["segment.add"].settings[0].key == "segment_id"
    assert actions["segment.add"].run(contact, {"segment_id": segment.id}, {"key": "run-1"}) is True
    assert actions["segment.add"].run(contact, {"segment_id": str(segment.id)}, {"key": "run-1"}) is False
    assert member_emails(segment) == {"ada@example.com"}
    assert actions["segment.remove"].run(contact, {"segment_id": segment.id}, {"key": "run-2"}) is True
    assert member_emails(segment) == set()
    assert [e.data["via"] for e in Event.select().where(Event.kind.in_(["segment_joined", "segment_left"]))
            .order_by(Event.id)] == ["action", "action"]


# --- recomputing one contact -------------------------------------------------------------


def test_changes_and_events_update_membership_within_a_job(wsgi, run_jobs):
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        zone_field()
        segment = save_segment(None, name="EMEA", kind="dynamic",
                               definition=definition(cond("field", field="zone", operator="equals", value="EMEA")))
        ada = contacts.create_contact({"email": "ada@example.com", "zone": "EMEA"})
        bob = contacts.create_contact({"email": "bob@example.com", "zone": "APAC"})
    run_jobs()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        assert member_emails(segment) == {"ada@example.com"}
        contacts.update_contact(bob, {"zone": "emea"})
        contacts.update_contact(ada, {"zone": "NORAM"})
    run_jobs()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        assert member_emails(segment) == {"bob@example.com"}
        assert Segment.get_by_id(segment.id).member_count == 1
        assert segment_events("segment_left", segment) == ["ada@example.com"]


def test_a_segment_of_a_segment_follows_manual_list_changes(wsgi, run_jobs):
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        ada = contacts.create_contact({"email": "ada@example.com"}, tags=["webinar"])
        key_accounts = Segment.create(name="Key accounts", kind="static")
        keys_at_webinar = save_segment(None, name="Key accounts at the webinar", kind="dynamic", definition=definition(
            cond("segment", operator="in_segment", value=str(key_accounts.id)), cond("tag", operator="has", value="webinar")))
        others = save_segment(None, name="Not key accounts", kind="dynamic", definition=definition(
            cond("segment", operator="not_in", value=str(key_accounts.id))))
    run_jobs()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        assert member_emails(keys_at_webinar) == set() and member_emails(others) == {"ada@example.com"}
        add_to_segment(ada, key_accounts)
    run_jobs()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        assert member_emails(keys_at_webinar) == {"ada@example.com"} and member_emails(others) == set()
        # a second level follows in the same refresh, and nothing loops
        third = save_segment(None, name="Level 3", kind="dynamic", definition=definition(
            cond("segment", operator="in_segment", value=str(keys_at_webinar.id))))
        rebuild(third)
        contacts.remove_tag(ada, "webinar")
    run_jobs()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        assert member_emails(keys_at_webinar) == set() and member_emails(third) == set()
        assert Event.select().where(Event.dispatched_at.is_null()).count() == 0


@pytest.fixture
def crowd(ctx):
    """20,000 contacts (bulk-inserted) and a dynamic segment over them."""
    field = zone_field()
    tag = Tag.create(name="webinar")
    now = utcnow()
    database = Contact._meta.database
    with database.atomic():
        for start in range(0, 20000, 1000):
            Contact.insert_many([{"email": f"c{i}@ex.com", "created_at": now, "updated_at": now}
                                 for i in range(start, start + 1000)]).execute()
        ids = [c.id for c in Contact.select(Contact.id).order_by(Contact.id)]
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            ContactValue.insert_many([{"contact": i, "field": field.id, "value": ("EMEA", "APAC")[i % 2]}
                                      for i in chunk]).execute()
            ContactTag.insert_many([{"contact": i, "tag": tag.id} for i in chunk if i % 3 == 0]).execute()
    segment = Segment.create(name="EMEA webinar", kind="dynamic", filter=definition(
        cond("field", field="zone", operator="equals", value="EMEA"), cond("tag", operator="has", value="webinar"),
        cond("page_visited", url="*/pricing*", days="30")))
    rebuild(segment)
    return segment, ids


def test_refreshing_one_contact_queries_by_its_id_and_never_scans_the_contacts(crowd, ctx):
    segment, ids = crowd
    contact = Contact.get_by_id(next(i for i in ids if i % 6 == 0))
    emit(contact, "page_visited", {"url": "https://ex.com/pricing?x=1"})

    statements = []

    class Capture(logging.Handler):
        def emit(self, record):
            statements.append(record.msg)

    handler, logger = Capture(), logging.getLogger("peewee")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        assert refresh_contact(contact) == {"joined": [segment.id], "left": []}
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    evaluation = [(sql, params) for sql, params in statements if "EXISTS" in sql and sql.startswith("SELECT")]
    assert len(evaluation) == 1
    sql, params = evaluation[0]
    assert '"t1"."id" = ' in sql and contact.id in params
    if is_sqlite():
        plan = " | ".join(str(row) for row in Contact._meta.database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
        assert "SEARCH t1 USING INTEGER PRIMARY KEY" in plan and "SCAN t1" not in plan, plan

    def fastest(function, runs):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            function()
            times.append(time.perf_counter() - started)
        return min(times)

    one = fastest(lambda: refresh_contact(contact), 5)
    everyone = fastest(lambda: rebuild(segment), 3)
    assert one * 3 < everyone, (one, everyone)


# --- cycles, deletion, rebuild button, escaping -------------------------------------------


def test_segments_cannot_depend_on_themselves(admin, wsgi):
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        first = save_segment(None, name="First", kind="dynamic", definition=definition(cond("points", operator="gte", value="1")))
        second = save_segment(None, name="Second", kind="dynamic", definition=definition(
            cond("segment", operator="in_segment", value=str(first.id))))
    form = admin.get(f"/admin/segments/{first.id}/edit").forms["segment-form"]
    form["g0-c0-subject"] = "segment"
    form = form.submit("action", value="refresh").forms["segment-form"]
    assert str(first.id) not in [o[0] for o in form["g0-c0-value"].options]  # itself is not offered
    form["g0-c0-value"] = str(second.id)
    page = form.submit("action", value="save", status=400)
    assert "in a loop: First → Second → First." in page.text
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        from plugins.segments.editing import SegmentFormError

        with pytest.raises(SegmentFormError, match="cannot filter on itself"):
            save_segment(first, name="First", kind="dynamic", definition=definition(
                cond("segment", operator="in_segment", value=str(first.id))))
        assert Segment.get_by_id(first.id).filter == definition(cond("points", operator="gte", value="1"))


def test_delete_asks_for_confirmation_and_is_refused_while_used(admin, wsgi):
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        ada = contacts.create_contact({"email": "ada@example.com"})
        base = Segment.create(name="Base", kind="static")
        add_to_segment(ada, base)
        user = save_segment(None, name="User", kind="dynamic", definition=definition(
            cond("segment", operator="in_segment", value=str(base.id))))
    page = admin.get(f"/admin/segments/{base.id}/delete")
    assert "cannot be deleted" in page.text and "User" in page.text
    admin.get(f"/admin/segments/{user.id}/delete").forms["delete-form"].submit().follow()
    page = admin.get(f"/admin/segments/{base.id}/delete")
    assert "1 membership will be forgotten" in page.text
    page = page.forms["delete-form"].submit().follow()
    assert "The segment “Base” was deleted." in page.text and "No segments yet" in page.text
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        assert SegmentMember.select().count() == 0 and Contact.select().count() == 1


def test_rebuild_now_runs_as_a_job_and_shows_when(admin, wsgi, run_jobs):
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        contacts.create_contact({"email": "ada@example.com"})
        segment = Segment.create(name="Everyone", kind="dynamic",
                                 filter=definition(cond("email", operator="not_empty")))
    page = admin.get(f"/admin/segments/{segment.id}")
    assert "not yet" in page.text and "No contact matches this filter yet" in page.text
    rebuild_form = [f for f in page.forms.values() if f.action.endswith("/rebuild")][0]
    page = rebuild_form.submit().follow()
    assert "The rebuild was queued" in page.text
    rebuild_form = [f for f in page.forms.values() if f.action.endswith("/rebuild")][0]
    assert "already waiting" in rebuild_form.submit().follow().text
    run_jobs()
    page = admin.get(f"/admin/segments/{segment.id}")
    assert "not yet" not in page.text and "ada@example.com" in page.text
    assert '<dd class="member-count">1</dd>' in page.text


def test_contact_deletion_keeps_counts_right(wsgi, run_jobs):
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        ada = contacts.create_contact({"email": "ada@example.com"})
        segment = Segment.create(name="List", kind="static")
        add_to_segment(ada, segment)
        contacts.delete_contact(ada)
    run_jobs()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        assert Segment.get_by_id(segment.id).member_count == 0


def test_hostile_segment_names_are_escaped_everywhere(admin, wsgi):
    hostile = '<script>alert("x")</script>'
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        ada = contacts.create_contact({"email": "ada@example.com"})
        segment = Segment.create(name=hostile, kind="static", tags=[hostile])
        add_to_segment(ada, segment)
        save_segment(None, name="Uses it", kind="dynamic", definition=definition(
            cond("segment", operator="in_segment", value=str(segment.id)),
            cond("page_visited", url=hostile)))
    for url in ("/admin/segments", f"/admin/segments/{segment.id}", f"/admin/segments/{segment.id}/edit",
                f"/admin/segments/{segment.id}/delete", f"/admin/contacts/{ada.id}"):
        page = admin.get(url)
        assert "<script>alert" not in page.text, url
    assert "&lt;script&gt;" in admin.get("/admin/segments").text


def test_sales_reps_see_segments_and_fill_lists_but_cannot_change_definitions(web, wsgi, admin_user):
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        auth.create_user("rep@example.com", "password-rep-123", role="sales", name="Rep")
        contacts.create_contact({"email": "ada@example.com", "first_name": "Ada"})
        key_accounts = Segment.create(name="Key accounts", kind="static")
    login(web, "rep@example.com", "password-rep-123")
    page = web.get(f"/admin/segments/{key_accounts.id}")
    assert "Edit" not in page.text and "Rebuild now" not in page.text
    page.forms["add-member"]["email"] = "ada@example.com"
    assert "Ada was added." in page.forms["add-member"].submit().follow().text
    web.get("/admin/segments/new", status=403)
    web.get(f"/admin/segments/{key_accounts.id}/edit", status=403)
    web.post(f"/admin/segments/{key_accounts.id}/delete", {"csrf_token": csrf_of(page)}, status=403)
