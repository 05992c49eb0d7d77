"""Koban CRM sync end to end against the local fake Koban: settings and the
test-connection button, debounced batched push, per-contact errors, backoff,
the crm.push action, unsubscribes, pull with paging, owner, status events and
do-not-contact, conflicts, erasure and export, the sync log and the contact
panel, and the full round trip without ping-pong."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from rq import Queue

from core import contacts, state
from core.events import emit
from core.models import Contact, CustomField, Event, User, utcnow
from core.queue import queue_names
from core.settings import save_settings
from plugins.crm_koban_sync import push
from plugins.crm_koban_sync.models import ErasedRecord, FieldMapping, KobanLink, SyncConflict, SyncError, SyncRun
from plugins.crm_koban_sync.pull import pull_updates

from .conftest import csrf_of
from .fake_koban import API_KEY, USER_KEY, koban  # noqa: F401  (fixture)


def configure(koban, **extra) -> None:
    form = {"enabled": "1", "base_url": koban.url, "api_key": API_KEY, "user_key": USER_KEY, "timeout": "5",
            "page_size": "100", "status_source": "contact", "account_statuses": "PROS,CLI,PERDU",
            "lost_statuses": "PERDU", "contact_url": ""}
    form.update(extra)
    assert save_settings("crm_koban", form) == []


def run_scheduled(wsgi, run_jobs) -> int:
    """Move every delayed job to its queue (as if its time had come) and run
    the queues; returns how many were moved."""
    redis = wsgi.app.extensions["couvee"].redis
    moved = 0
    for name in queue_names(wsgi.app.extensions["couvee"].host.discovered):
        queue = Queue(name, connection=redis)
        registry = queue.scheduled_job_registry
        for job_id in registry.get_job_ids():
            job = queue.fetch_job(job_id)
            registry.remove(job)
            queue.enqueue_job(job)
            moved += 1
    run_jobs()
    return moved


def settle(wsgi, run_jobs, rounds: int = 4) -> None:
    """Run jobs and delayed jobs until nothing is left."""
    run_jobs()
    for _ in range(rounds):
        if not run_scheduled(wsgi, run_jobs):
            return


def new_contact(email, **values):
    return contacts.create_contact({"email": email, **values}, source="admin")


def vetoes(contact, channel, purpose) -> bool:
    """Whether this plugin (whatever the others say) vetoes the send."""
    return "crm_koban_sync" in contacts.can_receive(contact, channel, purpose)[1]


def fresh(contact) -> Contact:
    return Contact.get_by_id(contact.id)


# --- settings and test connection ---------------------------------------------------------


def test_settings_page_and_test_connection_button_say_clearly_what_happened(admin, ctx, koban):
    page = admin.get("/admin/settings/crm_koban")
    form = page.forms["settings-form"]
    form["enabled"] = True
    form["base_url"] = koban.url
    form["api_key"] = "wrong-key"
    form["user_key"] = USER_KEY
    form.submit().follow()
    page = admin.get("/admin/crm")
    answer = page.forms["test-connection"].submit().follow()
    assert "Connection failed: Koban refused the API key or user key (HTTP 401)" in answer.text

    form = admin.get("/admin/settings/crm_koban").forms["settings-form"]
    form["api_key"] = API_KEY
    form.submit().follow()
    koban.api.add_contact(EMail="someone@example.com")
    answer = admin.get("/admin/crm").forms["test-connection"].submit().follow()
    assert f"Connected to Koban at {koban.url}: the account holds 1 contact." in answer.text
    assert koban.api.requests[-1].headers == {"X-ncApi": API_KEY, "X-ncUser": USER_KEY}


def test_keys_can_come_from_the_environment(admin, ctx, koban, monkeypatch):
    monkeypatch.setenv("COUVEE_KOBAN_API_KEY", API_KEY)
    monkeypatch.setenv("COUVEE_KOBAN_USER_KEY", USER_KEY)
    configure(koban, api_key="", user_key="")
    page = admin.get("/admin/settings/crm_koban")
    assert "Set by the environment variable COUVEE_KOBAN_API_KEY" in page.text
    assert API_KEY not in page.text
    answer = admin.get("/admin/crm").forms["test-connection"].submit().follow()
    assert "Connected to Koban" in answer.text


def test_html_error_page_is_explained_by_the_test_button(admin, ctx, koban):
    configure(koban, base_url=koban.url.replace("/api/v1", ""))
    answer = admin.get("/admin/crm").forms["test-connection"].submit().follow()
    assert "HTML page instead of JSON" in answer.text and "ends with /api/v1" in answer.text


# --- push ------------------------------------------------------------------------------------


def test_changes_are_debounced_and_sent_in_batches_of_100_with_our_id_as_extcode(ctx, wsgi, run_jobs, koban):
    configure(koban)
    people = [new_contact(f"p{n}@example.com", first_name=f"P{n}") for n in range(150)]
    contacts.update_contact(people[0], {"first_name": "Paula"}, source="admin")
    run_jobs()
    assert koban.api.calls("ncContact/PostMany") == []  # debounced: nothing sent yet
    assert push.pending_count() == 150
    assert run_scheduled(wsgi, run_jobs) == 1  # one flush for all the changes
    posts = koban.api.calls("ncContact/PostMany")
    assert sorted(len(p.body) for p in posts) == [50, 100]
    assert all(p.query == {"uniqueproperty": "Extcode", "thirduniqueproperty": "Extcode"} for p in posts)
    sent = koban.api.by_extcode(people[0].id)
    assert sent["EMail"] == "p0@example.com" and sent["FirstName"] == "Paula"
    assert KobanLink.select().where(KobanLink.guid.is_null(False)).count() == 150
    runs = list(SyncRun.select().where(SyncRun.kind == "push"))
    assert sum(r.created for r in runs) == 150 and all(r.status == "ok" for r in runs)


def test_changes_to_unmapped_fields_are_not_sent(ctx, wsgi, run_jobs, koban):
    configure(koban)
    CustomField.create(key="shoe_size", label="Shoe size", type_id="text")
    person = new_contact("shoe@example.com")
    settle(wsgi, run_jobs)
    before = len(koban.api.calls("ncContact/PostMany"))
    contacts.update_contact(person, {"shoe_size": "42"}, source="admin")
    settle(wsgi, run_jobs)
    assert len(koban.api.calls("ncContact/PostMany")) == before


def test_a_refused_contact_is_reported_and_the_batch_goes_through(admin, ctx, wsgi, run_jobs, koban):
    configure(koban)
    CustomField.create(key="phone", label="Phone", type_id="text")
    FieldMapping.create(couvee_field="phone", koban_field="Phone", direction="push", position=5)
    koban.api.strict_batches = True  # Koban rejects the whole call with HTTP 400
    good = [new_contact(f"g{n}@example.com", phone="+33 1 23 45 67 8%d" % n) for n in range(5)]
    bad = new_contact("bad@example.com", first_name="Bad", phone="ask the receptionist")
    settle(wsgi, run_jobs)
    for person in good:
        assert koban.api.by_extcode(person.id)["Phone"].startswith("+33")
    assert koban.api.by_extcode(bad.id) is None
    error = SyncError.get()
    assert error.contact_id == bad.id and "Phone ask the receptionist is not a valid phone number" in error.message
    run = SyncRun.get(SyncRun.kind == "push")
    assert (run.status, run.sent, run.failed) == ("partial", 5, 1)
    log = admin.get(f"/admin/crm/runs/{run.id}")
    assert "Bad" in log.text and "is not a valid phone number" in log.text
    panel = admin.get(f"/admin/contacts/{bad.id}")
    assert "is not a valid phone number" in panel.text


def test_per_object_errors_in_an_accepted_batch_are_reported_too(ctx, wsgi, run_jobs, koban):
    configure(koban)
    CustomField.create(key="phone", label="Phone", type_id="text")
    FieldMapping.create(couvee_field="phone", koban_field="Phone", direction="both", position=5)
    ok = new_contact("ok@example.com", phone="0102030405")
    bad = new_contact("bad@example.com", phone="none")
    settle(wsgi, run_jobs)
    assert len(koban.api.calls("ncContact/PostMany")) == 1
    assert koban.api.by_extcode(ok.id) and koban.api.by_extcode(bad.id) is None
    assert SyncError.get().contact_id == bad.id


def test_koban_down_retries_with_exponential_backoff(ctx, wsgi, run_jobs, koban):
    configure(koban)
    person = new_contact("later@example.com")
    koban.api.fail("ncContact/PostMany", 503, "<html><title>Service Unavailable</title></html>",
                   content_type="text/html", times=6, retry_after="0")
    run_jobs()
    run_scheduled(wsgi, run_jobs)  # the flush: 3 attempts fail, a retry is scheduled
    first = SyncRun.get(SyncRun.kind == "push")
    assert first.status == "retrying" and "Retry 2 of 8 in 1 min" in first.message
    run_scheduled(wsgi, run_jobs)  # retry 2: fails again, next in 2 minutes
    assert "Retry 3 of 8 in 2 min" in SyncRun.select().order_by(SyncRun.id.desc()).first().message
    run_scheduled(wsgi, run_jobs)  # retry 3 succeeds
    assert koban.api.by_extcode(person.id)["EMail"] == "later@example.com"
    assert [push.backoff(n).total_seconds() for n in range(8)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_refused_keys_keep_contacts_pending_until_the_connection_works(ctx, wsgi, run_jobs, koban):
    configure(koban, api_key="wrong")
    person = new_contact("waiting@example.com")
    settle(wsgi, run_jobs)
    run = SyncRun.get(SyncRun.kind == "push")
    assert run.status == "failed" and "refused the API key" in run.message and "wait" in run.message
    assert push.pending_count() == 1
    configure(koban)
    push.flush_pending()
    assert koban.api.by_extcode(person.id) is not None and push.pending_count() == 0


def test_sync_off_sends_nothing(ctx, wsgi, run_jobs, koban):
    configure(koban, enabled="")
    new_contact("quiet@example.com")
    settle(wsgi, run_jobs)
    assert koban.api.requests == [] and push.pending_count() == 0


def test_crm_push_action_sends_the_contact_now(ctx, wsgi, run_jobs, koban):
    configure(koban)
    person = new_contact("hot@example.com", first_name="Hot")
    redis = state().redis
    redis.delete(push.PENDING)
    action = state().registries.actions["crm.push"]
    assert action.run(person, {}, {"key": "trigger-1"}) == "queued"
    run_jobs(queues=("low",))
    assert koban.api.by_extcode(person.id)["FirstName"] == "Hot"


def test_unsubscribes_and_email_opt_outs_are_forwarded(ctx, wsgi, run_jobs, koban):
    configure(koban)
    person = new_contact("bye@example.com")
    other = new_contact("optout@example.com")
    settle(wsgi, run_jobs)
    emit(person, "email_unsubscribed", {"email_id": 1, "reason": "link"}, source="email")
    emit(other, "consent_withdrawn", {"purpose": "email_marketing", "source": "preference_centre"}, source="gdpr")
    emit(other, "consent_withdrawn", {"purpose": "analytics", "source": "preference_centre"}, source="gdpr")
    run_jobs()
    assert sorted(koban.api.unsubscribed) == ["bye@example.com", "optout@example.com"]


# --- pull ------------------------------------------------------------------------------------


def test_pull_pages_creates_contacts_sets_owner_and_status_and_emits_events(admin, ctx, wsgi, run_jobs, koban):
    configure(koban, page_size="2")
    rep = User.create(email="rep@example.com", name="Rachel Rep", password_hash="x", role="sales")
    named = User.create(email="other@example.com", name="Guillaume Kobanne", password_hash="x", role="sales")
    koban.api.add_contact(EMail="Lead1@Example.com", FirstName="Léa", Name="Martin", Status="PROS",
                          AssignedTo={"EMail": "REP@example.com", "FullName": "Rachel Rep"})
    koban.api.add_contact(EMail="lead2@example.com", FirstName="Jo", AssignedTo={"FullName": "Guillaume Kobanne"})
    koban.api.add_contact(EMail="lead3@example.com", AssignedTo={"EMail": "stranger@elsewhere.test"})
    koban.api.add_contact(EMail="lead4@example.com")
    koban.api.add_contact(FirstName="No email")  # nothing to market to: skipped
    page = admin.get("/admin/crm")
    page.forms["pull-now"].submit().follow()
    run_jobs()
    starts = [r.query["s"] for r in koban.api.calls("ncContact/GetUpdated")]
    assert starts == ["0", "2", "4"]
    lea = Contact.get(Contact.email == "lead1@example.com")
    assert (lea.first_name, lea.last_name, lea.owner_id) == ("Léa", "Martin", rep.id)
    assert Contact.get(Contact.email == "lead2@example.com").owner_id == named.id
    stranger = Contact.get(Contact.email == "lead3@example.com")
    assert not [e for e in Event.select().where((Event.contact == stranger.id) & (Event.kind == "owner_assigned"))
                if e.data.get("rule") == "crm_koban"]
    assert contacts.get_values(lea)["crm_status"] == "PROS"
    changed = Event.get((Event.contact == lea.id) & (Event.kind == "crm_status_changed"))
    assert changed.data["from"] is None and changed.data["to"] == "PROS"
    run = SyncRun.get(SyncRun.kind == "pull")
    assert (run.status, run.created, run.skipped, run.requests) == ("ok", 4, 1, 3)
    assert koban.api.calls("ncContact/PostMany") == []  # nothing pulled is pushed back


def test_the_crm_owner_is_set_without_an_event_while_the_owners_plugin_is_off(ctx, wsgi, koban):
    """``owner_assigned`` belongs to the owners plugin: switched off, the pull
    still sets the owner column (core's) and emits nothing it cannot."""
    from core.plugins import lifecycle

    configure(koban)
    rep = User.create(email="rep@example.com", name="Rachel Rep", password_hash="x", role="sales")
    koban.api.add_contact(EMail="lead1@example.com", AssignedTo={"EMail": "rep@example.com"})
    lifecycle.deactivate(state(), "owners")
    wsgi.runtime.refresh()
    app = wsgi.app
    with app.app_context(), app.extensions["couvee"].database_connection():
        assert "owner_assigned" not in app.extensions["couvee"].registries.event_kinds
        assert pull_updates() == "ok"
        lead = Contact.get(Contact.email == "lead1@example.com")
        assert lead.owner_id == rep.id
        assert not Event.select().where((Event.contact == lead.id) & (Event.kind == "owner_assigned")).exists()


def test_incremental_pull_asks_since_the_last_cursor(ctx, wsgi, run_jobs, koban):
    configure(koban)
    with time_machine.travel(dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone.utc), tick=False):
        assert pull_updates() == "ok"
    with time_machine.travel(dt.datetime(2024, 5, 1, 10, 5, tzinfo=dt.timezone.utc), tick=False):
        assert pull_updates() == "ok"
    first, second = koban.api.calls("ncContact/GetUpdated")
    assert first.query["updated"] == "0"
    assert int(second.query["updated"]) == int(dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone.utc).timestamp()) - 120


def test_a_failed_pull_does_not_move_the_cursor(ctx, wsgi, run_jobs, koban):
    configure(koban)
    with time_machine.travel(dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone.utc), tick=False):
        pull_updates()
    koban.api.fail("ncContact/GetUpdated", 502, "<html><title>Bad Gateway</title></html>", content_type="text/html",
                   times=3, retry_after="0")
    with time_machine.travel(dt.datetime(2024, 5, 1, 10, 5, tzinfo=dt.timezone.utc), tick=False):
        assert pull_updates() == "failed"
    with time_machine.travel(dt.datetime(2024, 5, 1, 10, 10, tzinfo=dt.timezone.utc), tick=False):
        pull_updates()
    last = koban.api.calls("ncContact/GetUpdated")[-1]
    assert int(last.query["updated"]) == int(dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone.utc).timestamp()) - 120
    failed = SyncRun.get(SyncRun.status == "failed")
    assert "HTTP 502" in failed.message and "Bad Gateway" in failed.message


def test_lost_status_emits_opportunity_lost(ctx, wsgi, run_jobs, koban):
    configure(koban)
    remote = koban.api.add_contact(EMail="deal@example.com", Status="PROS")
    pull_updates()
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)):
        koban.api.edit(remote["Guid"], Status="PERDU")
        pull_updates()
    person = Contact.get(Contact.email == "deal@example.com")
    assert contacts.get_values(person)["crm_status"] == "PERDU"
    changed = Event.select().where((Event.contact == person.id) & (Event.kind == "crm_status_changed")).order_by(Event.id)
    assert [(e.data["from"], e.data["to"]) for e in changed] == [(None, "PROS"), ("PROS", "PERDU")]
    lost = Event.get((Event.contact == person.id) & (Event.kind == "crm_opportunity_lost"))
    assert lost.data["opportunity"]["status"] == "PERDU" and lost.data["opportunity"]["previous_status"] == "PROS"


def test_status_from_accounts_uses_third_get_status(ctx, wsgi, run_jobs, koban):
    configure(koban, status_source="account", account_statuses="CLI,PERDU")
    acme = koban.api.add_contact(EMail="x@x.test")  # placeholder to get a guid counter moving
    third = {"Guid": "third-acme", "Label": "ACME", "Status": "CLI", "DUpdated": koban.api.now()}
    koban.api.thirds["third-acme"] = third
    koban.api.add_contact(EMail="buyer@acme.test", Third={"Guid": "third-acme", "Label": "ACME"})
    pull_updates()
    buyer = Contact.get(Contact.email == "buyer@acme.test")
    assert contacts.get_values(buyer)["crm_status"] == "CLI"
    assert {r.query["status"] for r in koban.api.calls("ncThird/GetStatus")} == {"CLI", "PERDU"}
    assert "crm_status" not in contacts.get_values(Contact.get(Contact.email == acme["EMail"]))


def test_koban_unsubscribe_and_invalid_mail_become_do_not_contact(ctx, wsgi, run_jobs, koban):
    configure(koban)
    out = koban.api.add_contact(EMail="out@example.com", Unsuscribe=True)
    koban.api.add_contact(EMail="bounce@example.com", InvalidMail=True)
    koban.api.add_contact(EMail="fine@example.com")
    pull_updates()
    unsubscribed = Contact.get(Contact.email == "out@example.com")
    bouncing = Contact.get(Contact.email == "bounce@example.com")
    fine = Contact.get(Contact.email == "fine@example.com")
    assert vetoes(unsubscribed, "email", "marketing") and not vetoes(unsubscribed, "email", "transactional")
    assert vetoes(bouncing, "email", "transactional") and vetoes(bouncing, "email", "marketing")
    assert not vetoes(fine, "email", "marketing") and not vetoes(unsubscribed, "sms", "marketing")
    reasons = sorted(e.data["reason"] for e in Event.select().where(Event.kind == "crm_unsubscribed"))
    assert reasons == ["invalid_mail", "unsubscribed"]
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)):
        koban.api.edit(out["Guid"], Unsuscribe=False)  # resubscribed in Koban
        pull_updates()
    assert not vetoes(unsubscribed, "email", "marketing")


def test_custom_fields_tags_and_more_fields_map_both_ways(ctx, wsgi, run_jobs, koban):
    configure(koban)
    CustomField.create(key="renewal", label="Renewal", type_id="date")
    CustomField.create(key="vip", label="VIP", type_id="boolean")
    FieldMapping.create(couvee_field="renewal", koban_field="MoreFields:f-renew", direction="both", position=5)
    FieldMapping.create(couvee_field="vip", koban_field="MoreFields:f-vip", direction="both", position=6)
    FieldMapping.create(couvee_field="tags", koban_field="Tags:INTEREST", direction="both", position=7)
    person = contacts.create_contact({"email": "map@example.com", "renewal": "2025-03-31", "vip": "yes"},
                                     source="admin", tags=["webinar"])
    settle(wsgi, run_jobs)
    sent = koban.api.by_extcode(person.id)
    assert {f["FieldId"]: f["Value"] for f in sent["MoreFields"]} == {"f-renew": "31/03/2025", "f-vip": "true"}
    assert sent["Tags"] == [{"TagCategoryCode": "INTEREST", "Label": "webinar"}]
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)):
        koban.api.edit(sent["Guid"], MoreFields=[{"FieldId": "f-renew", "Value": "15/04/2026"},
                                                 {"FieldId": "f-vip", "Value": "false"}],
                       Tags=[{"TagCategoryCode": "INTEREST", "Label": "pricing"}])
        pull_updates()
    person = fresh(person)
    assert contacts.get_values(person) == {"renewal": "2026-04-15", "vip": "0"}
    assert contacts.tags_of(person) == ["pricing"]


# --- conflicts --------------------------------------------------------------------------------


def linked_contact(wsgi, run_jobs, koban, when):
    with time_machine.travel(when, tick=False):
        person = new_contact("both@example.com", first_name="Anne")
        settle(wsgi, run_jobs)
        pull_updates()
    return person, koban.api.by_extcode(person.id)["Guid"]


def test_conflict_koban_later_wins_and_is_recorded(ctx, wsgi, run_jobs, koban):
    configure(koban)
    start = dt.datetime(2024, 6, 1, 9, 0, tzinfo=dt.timezone.utc)
    person, guid = linked_contact(wsgi, run_jobs, koban, start)
    with time_machine.travel(start + dt.timedelta(minutes=1), tick=False):
        contacts.update_contact(fresh(person), {"first_name": "Annie"}, source="admin")
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False):
        koban.api.edit(guid, FirstName="Anna")
        pull_updates()
    assert fresh(person).first_name == "Anna"
    conflict = SyncConflict.get()
    assert (conflict.field, conflict.local_value, conflict.remote_value, conflict.winner) == \
        ("first_name", "Annie", "Anna", "koban")


def test_conflict_couvee_later_wins_and_is_pushed_back(ctx, wsgi, run_jobs, koban):
    configure(koban)
    start = dt.datetime(2024, 6, 1, 9, 0, tzinfo=dt.timezone.utc)
    person, guid = linked_contact(wsgi, run_jobs, koban, start)
    with time_machine.travel(start + dt.timedelta(minutes=1), tick=False):
        koban.api.edit(guid, FirstName="Anna")
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False):
        contacts.update_contact(fresh(person), {"first_name": "Annie"}, source="admin")
        pull_updates()
        assert fresh(person).first_name == "Annie"
        assert SyncConflict.get().winner == "couvee"
        settle(wsgi, run_jobs)
    assert koban.api.contacts[guid]["FirstName"] == "Annie"


def test_a_field_changed_on_one_side_only_is_not_a_conflict(ctx, wsgi, run_jobs, koban):
    configure(koban)
    start = dt.datetime(2024, 6, 1, 9, 0, tzinfo=dt.timezone.utc)
    person, guid = linked_contact(wsgi, run_jobs, koban, start)
    with time_machine.travel(start + dt.timedelta(minutes=1), tick=False):
        contacts.update_contact(fresh(person), {"last_name": "Local"}, source="admin")
        koban.api.edit(guid, FirstName="Remote")
        pull_updates()
    person = fresh(person)
    assert (person.first_name, person.last_name) == ("Remote", "Local")
    assert SyncConflict.select().count() == 0


# --- the full round trip ------------------------------------------------------------------------


def test_round_trip_import_push_change_in_koban_pull_back_without_ping_pong(admin, ctx, wsgi, run_jobs, koban):
    configure(koban)
    csv_people = [contacts.create_contact({"email": f"imp{n}@example.com", "first_name": f"Imp{n}"}, source="import")
                  for n in range(3)]
    settle(wsgi, run_jobs)
    assert len(koban.api.calls("ncContact/PostMany")) == 1
    guid = koban.api.by_extcode(csv_people[0].id)["Guid"]

    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)):
        koban.api.edit(guid, FirstName="Changed in Koban", Status="CLI")
        pull_updates()
        settle(wsgi, run_jobs)
    assert fresh(csv_people[0]).first_name == "Changed in Koban"
    assert contacts.get_values(fresh(csv_people[0]))["crm_status"] == "CLI"

    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)):
        pull_updates()
        settle(wsgi, run_jobs)
    assert len(koban.api.calls("ncContact/PostMany")) == 1  # nothing went back: no ping-pong
    assert push.pending_count() == 0
    assert [r.method + " " + r.path for r in koban.api.requests].count("GET ncContact/GetUpdated") == 2
    pulls = list(SyncRun.select().where(SyncRun.kind == "pull").order_by(SyncRun.id))
    assert [(p.updated, p.unchanged) for p in pulls] == [(1, 2), (0, 1)]

    panel = admin.get(f"/admin/contacts/{csv_people[0].id}")
    assert guid in panel.text and "Koban CRM" in panel.text
    log = admin.get("/admin/crm")
    assert "<svg" in log.text and "#1 push" in log.text


# --- erasure, export, panel ------------------------------------------------------------------------


def test_erasure_unsubscribes_and_blanks_in_koban_and_forgets_locally(ctx, wsgi, run_jobs, koban):
    configure(koban)
    person = new_contact("forget@example.com", first_name="Fred", last_name="Gone")
    settle(wsgi, run_jobs)
    guid = koban.api.by_extcode(person.id)["Guid"]
    assert state().hooks is not None
    export = dict(state().hooks.call("contact_export", contact=fresh(person)))["crm_koban_sync"]
    assert export["Koban CRM link"][0]["koban_guid"] == guid
    state().hooks.call("contact_erase", contact=fresh(person), mode="delete")
    contacts.delete_contact(fresh(person))
    assert KobanLink.select().count() == 0 and ErasedRecord.select().count() == 1
    run_jobs()
    record = koban.api.contacts[guid]
    assert koban.api.unsubscribed == ["forget@example.com"]
    assert (record["EMail"], record["FirstName"], record["Name"]) == ("", "", "Erased contact")
    run = SyncRun.get(SyncRun.kind == "erase")
    assert f"delete record {guid} in Koban by hand" in run.message and "forget@" not in run.message
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)):
        koban.api.edit(guid, EMail="forget@example.com")  # someone re-types it in Koban
        pull_updates()
    assert Contact.select().where(Contact.email == "forget@example.com").count() == 0


def test_export_is_empty_for_contacts_never_synced(ctx, koban):
    configure(koban, enabled="")
    person = new_contact("never@example.com")
    assert dict(state().hooks.call("contact_export", contact=person)).get("crm_koban_sync") is None


def test_contact_panel_links_to_koban_and_pushes_now(admin, ctx, wsgi, run_jobs, koban):
    configure(koban, contact_url="https://app-koban.com/contact/{guid}")
    person = new_contact("panel@example.com")
    page = admin.get(f"/admin/contacts/{person.id}")
    assert "Not in Koban yet." in page.text
    page = page.forms[[k for k, f in page.forms.items() if "push" in (f.action or "")][0]].submit().follow()
    assert "will be sent to Koban" in page.text
    run_jobs(queues=("low",))
    guid = koban.api.by_extcode(person.id)["Guid"]
    page = admin.get(f"/admin/contacts/{person.id}")
    assert f'href="https://app-koban.com/contact/{guid}"' in page.text


def test_contact_url_must_be_http(admin, ctx, wsgi, run_jobs, koban):
    configure(koban, contact_url="javascript:alert(1)//{guid}")
    person = new_contact("js@example.com")
    settle(wsgi, run_jobs)
    page = admin.get(f"/admin/contacts/{person.id}")
    assert "javascript:" not in page.text


# --- mapping page ----------------------------------------------------------------------------------


def test_mapping_page_adds_changes_and_removes_rows_with_clear_errors(admin, ctx, koban):
    CustomField.create(key="phone", label="Phone", type_id="text")
    page = admin.get("/admin/crm/mapping")
    form = page.forms["add-mapping"]
    form["couvee_field"] = "phone"
    form["koban_field"] = "Guid"
    answer = form.submit(status=400)
    assert "Guid is handled by the sync itself" in answer.text
    form = answer.forms["add-mapping"]
    form["koban_field"] = "MoreFields:"
    assert "needs the Koban id" in form.submit(status=400).text
    form["koban_field"] = "Tags:INTEREST"
    assert "Couvée tags map to Koban tags only" in form.submit(status=400).text
    form["koban_field"] = "Cell"
    form["direction"] = "pull"
    page = form.submit().follow()
    assert "phone ↔ Cell added." in page.text
    row = FieldMapping.get(FieldMapping.couvee_field == "phone")
    assert row.direction == "pull"
    token = csrf_of(page)
    admin.post(f"/admin/crm/mapping/{row.id}/direction", {"csrf_token": token, "direction": "sideways"}).follow()
    assert FieldMapping.get_by_id(row.id).direction == "pull"
    admin.post(f"/admin/crm/mapping/{row.id}/direction", {"csrf_token": token, "direction": "both"}).follow()
    assert FieldMapping.get_by_id(row.id).direction == "both"
    admin.post(f"/admin/crm/mapping/{row.id}/delete", {"csrf_token": token}).follow()
    assert not FieldMapping.select().where(FieldMapping.id == row.id).exists()


def test_empty_sync_log_explains_what_to_do(admin, ctx):
    page = admin.get("/admin/crm")
    assert "No sync yet" in page.text and "Off" in page.text


def test_crm_status_field_appears_with_the_first_status(ctx):
    from plugins.crm_koban_sync.pull import ensure_status_field

    assert not CustomField.select().where(CustomField.key == "crm_status").exists()  # nothing synced yet
    ensure_status_field()
    ensure_status_field()
    field = CustomField.get(CustomField.key == "crm_status")
    assert field.type_id == "text"


@pytest.mark.parametrize("path", ["/admin/crm", "/admin/crm/mapping"])
def test_pages_need_login(web, path):
    assert web.get(path).status_int in (302, 303)
