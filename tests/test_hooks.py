"""One test per hook (``test_hook_<name>``), through the fixture plugin in
tests/plugins/couvee_fixture, uploaded into the instance and activated like a
third-party plugin would be."""
from __future__ import annotations

import pytest
from flask import url_for
from click.testing import CliRunner

from core import contacts
from core.models import Contact, Event
from core.plugins import lifecycle

from .conftest import install_fixture_plugin


@pytest.fixture
def fixture_plugin(instance, wsgi, ctx):
    install_fixture_plugin(instance)
    wsgi.runtime.state.stale = True
    wsgi.runtime.refresh()
    app = wsgi.app
    lifecycle.activate(app.extensions["couvee"], "couvee_fixture")
    wsgi.runtime.refresh()
    return wsgi.app


def notes(app, kind=None):
    from couvee_fixture import FixtureNote

    with app.app_context(), app.extensions["couvee"].database_connection():
        query = FixtureNote.select().order_by(FixtureNote.id)
        if kind:
            query = query.where(FixtureNote.kind == kind)
        return [n.text for n in query]


def make_contact(app, email="ada@example.com", **raw):
    with app.app_context(), app.extensions["couvee"].database_connection():
        return contacts.create_contact({"email": email, **raw}, source="test")


def test_hook_register_models(fixture_plugin):
    models = fixture_plugin.extensions["couvee"].registries.models
    assert "fixture_note" in models
    assert models.owner("fixture_note") == "couvee_fixture"


def test_hook_register_migrations(fixture_plugin):
    from core.models import MigrationRecord

    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        rows = list(MigrationRecord.select().where(MigrationRecord.plugin == "couvee_fixture"))
    assert [(r.version, r.name) for r in rows] == [(1, "notes")]
    assert notes(fixture_plugin) == []  # the table exists


def test_hook_register_blueprints(fixture_plugin, admin):
    page = admin.get("/admin/fixture/")
    assert "Fixture page" in page.text


def test_hook_register_fast_endpoints(fixture_plugin, wsgi, web):
    """Answered before Flask with the app context (Redis through current_app),
    no session or CSRF token needed; gone with the plugin."""
    first = web.post("/fixture/ping", b"")
    assert first.json == {"pings": 1} and first.headers["Content-Type"] == "application/json"
    assert web.post("/fixture/ping", b"", headers={"Cookie": "couvee_session=forged"}).json == {"pings": 2}
    assert web.get("/fixture/ping", expect_errors=True).status_int == 405
    with fixture_plugin.test_request_context():
        assert url_for("couvee_fixture_fast.ping") == "/fixture/ping"
    lifecycle.deactivate(wsgi.app.extensions["couvee"], "couvee_fixture")
    wsgi.runtime.refresh()
    assert web.post("/fixture/ping", b"", expect_errors=True).status_int == 404


def test_hook_register_field_types(fixture_plugin):
    phone = fixture_plugin.extensions["couvee"].registries.field_types["fixture_phone"]
    assert phone.parse(" +33 6 12 34 56 78 ") == "+33612345678"
    with pytest.raises(Exception, match="not a phone number"):
        phone.parse("12")


def test_hook_register_trigger_types(fixture_plugin):
    trigger = fixture_plugin.extensions["couvee"].registries.trigger_types["fixture.poked"]
    assert trigger.event_kinds == ("fixture_poked",)


def test_hook_register_event_kinds(fixture_plugin, wsgi, run_jobs):
    """The fixture's kind is registered under its name, offered as a trigger and a
    segment condition, and can be emitted; once the plugin is off, all of that goes."""
    from core import UnknownEventKind, emit

    registries = fixture_plugin.extensions["couvee"].registries
    kind = registries.event_kinds["fixture_poked"]
    assert kind.owner == "couvee_fixture" and registries.event_kinds.owner("fixture_poked") == "couvee_fixture"
    assert registries.trigger_types["fixture_poked"].settings[0].key == "url"
    assert registries.segment_filters["fixture_poked"].label == "Got poked"
    contact = make_contact(fixture_plugin)
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        emit(contact, "fixture_poked", {"url": "https://ex.com/a"})
    run_jobs()
    assert notes(fixture_plugin, "event") == ["contact_created", "fixture_poked"]

    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        lifecycle.deactivate(fixture_plugin.extensions["couvee"], "couvee_fixture")
    wsgi.runtime.refresh()
    app = wsgi.app
    registries = app.extensions["couvee"].registries
    assert "fixture_poked" not in registries.event_kinds
    assert "fixture_poked" not in registries.trigger_types and "fixture_poked" not in registries.segment_filters
    with app.app_context(), app.extensions["couvee"].database_connection():
        with pytest.raises(UnknownEventKind, match="'fixture_poked' is not a registered event kind"):
            emit(Contact.get_by_id(contact.id), "fixture_poked", {})


def test_hook_register_actions(fixture_plugin):
    contact = make_contact(fixture_plugin)
    action = fixture_plugin.extensions["couvee"].registries.actions["fixture.note"]
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        action.run(contact, {"text": "x"}, {"key": "t1"})
    assert notes(fixture_plugin, "action") == [str(contact.id)]


def test_hook_register_channels(fixture_plugin):
    channel = fixture_plugin.extensions["couvee"].registries.channels["fixture"]
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        channel.send("hello")
    assert notes(fixture_plugin, "sent") == ["hello"]


def test_hook_register_segment_filters(fixture_plugin):
    make_contact(fixture_plugin)
    segment_filter = fixture_plugin.extensions["couvee"].registries.segment_filters["fixture.all"]
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        assert Contact.select().where(segment_filter.compile({})).count() == 1


def test_hook_register_periodic_jobs(fixture_plugin, wsgi, run_jobs):
    from core.cron import build_scheduler

    scheduler = build_scheduler(wsgi.runtime)
    names = {job.name for job in scheduler.get_jobs()}
    assert {"fixture.tick", "core.sweep_events"} <= names
    assert scheduler.enqueue_jobs()  # every job is due at start
    run_jobs()
    assert notes(fixture_plugin, "tick") == [""]


def test_hook_register_admin_menu(fixture_plugin, admin):
    page = admin.get("/admin/")
    assert 'data-menu="fixture"' in page.text
    assert page.click(href="/admin/fixture/").status_int == 200


def test_hook_register_settings(fixture_plugin, admin):
    page = admin.get("/admin/settings/couvee_fixture")
    form = page.forms["settings-form"]
    assert form["greeting"].value == "hello"
    form["greeting"] = "bonjour"
    page = form.submit().follow()
    assert page.forms["settings-form"]["greeting"].value == "bonjour"


def test_hook_register_commands(fixture_plugin, config, monkeypatch):
    from core.cli import main

    for key, env in (("instance_path", "COUVEE_INSTANCE"), ("database_url", "COUVEE_DATABASE_URL"),
                     ("redis_url", "COUVEE_REDIS_URL"), ("secret_key", "COUVEE_SECRET_KEY")):
        monkeypatch.setenv(env, str(config[key]))
    result = CliRunner().invoke(main, ["fixture-hello"])
    assert result.exit_code == 0, result.output
    assert "hello, 0 notes" in result.output


def test_hook_contact_created(fixture_plugin, run_jobs):
    contact = make_contact(fixture_plugin)
    assert notes(fixture_plugin, "created") == []  # dispatched by a worker, not inline
    run_jobs()
    assert notes(fixture_plugin, "created") == [str(contact.id)]


def test_hook_contact_updated(fixture_plugin, run_jobs):
    contact = make_contact(fixture_plugin)
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        changes = contacts.update_contact(contact, {"first_name": "Ada", "last_name": "Lovelace"})
        assert changes == {"first_name": ("", "Ada"), "last_name": ("", "Lovelace")}
        assert contacts.update_contact(contact, {"first_name": "Ada"}) == {}  # no change, no event
    run_jobs()
    assert notes(fixture_plugin, "updated") == ["first_name,last_name"]


def test_hook_contact_deleted(fixture_plugin, run_jobs):
    contact = make_contact(fixture_plugin)
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        contacts.delete_contact(Contact.get_by_id(contact.id))
    run_jobs()
    assert notes(fixture_plugin, "deleted") == ["ada@example.com"]


def test_hook_contact_event(fixture_plugin, run_jobs):
    contact = make_contact(fixture_plugin)
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        contacts.add_tag(contact, "webinar")
    run_jobs()
    assert notes(fixture_plugin, "event") == ["contact_created", "tag_added"]
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        assert Event.select().where(Event.dispatched_at.is_null()).count() == 0


def test_hook_contact_can_receive(fixture_plugin):
    ok = make_contact(fixture_plugin, "ok@example.com")
    blocked = make_contact(fixture_plugin, "someone@blocked.test")
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        # transactional: the bundled gdpr plugin's consent gate only concerns marketing
        assert contacts.can_receive(ok, "email", "transactional") == (True, [])
        assert contacts.can_receive(blocked, "email", "transactional") == (False, ["couvee_fixture"])
        assert "couvee_fixture" in contacts.can_receive(blocked, "email", "marketing")[1]


def test_hook_contact_receive_refusals(fixture_plugin):
    """The batched veto reasons feed the audience check and a vetoed send's reason."""
    from core import Message, check_audience, send_message

    ok = make_contact(fixture_plugin, "fine@example.com")
    blocked = [make_contact(fixture_plugin, f"b{i}@blocked.test") for i in range(3)]
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        check = check_audience([ok.id] + [c.id for c in blocked], "email", "transactional")
        assert (check.total, check.receiving) == (4, 1)
        assert check.skipped == {"blocked domain (fixture)": 3}
        assert "couvee_fixture" not in check.unchecked
        assert check.summary() == "1 will receive it, 3 skipped: blocked domain (fixture) (3)"
        result = send_message(Message(to=blocked[0].email, contact=blocked[0], subject="Hi", text="Hi"))
        assert (result.status, result.reason) == ("skipped", "blocked domain (fixture) (couvee_fixture)")


def test_hook_tpl_slot(fixture_plugin, admin):
    contact = make_contact(fixture_plugin, "x@example.com", first_name="<b>Eve</b>")
    page = admin.get(f"/admin/contacts/{contact.id}")
    assert 'class="fixture-slot">Fixture panel for &lt;b&gt;Eve&lt;/b&gt;' in page.text


def test_hook_contact_erase(fixture_plugin):
    contact = make_contact(fixture_plugin, "gone@example.com")
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        fixture_plugin.extensions["couvee"].hooks.call("contact_erase", contact=contact, mode="delete")
    assert notes(fixture_plugin, "erase") == ["delete:gone@example.com"]


def test_hook_contact_export(fixture_plugin, run_jobs):
    contact = make_contact(fixture_plugin, "export@example.com")
    run_jobs()
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        sections = dict(fixture_plugin.extensions["couvee"].hooks.call("contact_export", contact=contact))
    assert sections["couvee_fixture"] == {"Fixture notes": [
        {"kind": "created", "text": str(contact.id)}, {"kind": "event", "text": "contact_created"}]}


def test_hook_tracking_script_parts(fixture_plugin, web):
    from .tracking_helpers import make_site

    site = make_site(fixture_plugin)
    script = web.get(f"/t/{site.key}/couvee.js").follow()
    assert "tracker.fixtureLoaded = true;" in script.text  # served inside the script, after the tracker
    assert script.text.index("var tracker =") < script.text.index("tracker.fixtureLoaded = true;")


def test_hook_tracking_site_config(fixture_plugin, web):
    from .tracking_helpers import make_site

    site = make_site(fixture_plugin, name="Blog")
    script = web.get(f"/t/{site.key}/couvee.js").follow()
    assert '"ext":{' in script.text and '"fixture":{"site":"Blog"}' in script.text


def test_hook_tracking_visitor_identified(fixture_plugin, web, run_jobs):
    """A form post carrying the tracker's visitor id: the forms plugin calls
    the hook, the tracking plugin attaches the visits, the fixture sees it."""
    from plugins.tracking.models import Hit, Visitor

    from .forms_helpers import later, make_form
    from .tracking_helpers import drain_now, hit_body, make_site, send_hit

    site = make_site(fixture_plugin)
    send_hit(web, hit_body(site, v="formvisitor0000001", u="https://www.example.com/pricing"))
    drain_now(fixture_plugin)
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        form = make_form("Newsletter", origins=["https://www.example.com"])
        token = web.get(f"/f/{form.key}/form.json", headers={"Origin": "https://www.example.com"}).json["token"]
    with later(30):
        web.post(f"/f/{form.key}/submit", {"cv_token": token, "email": "ada@example.com",
                                           "cv_visitor": "formvisitor0000001"},
                 headers={"Origin": "https://www.example.com"})
    run_jobs()
    assert notes(fixture_plugin, "visitor") == ["form:formvisitor0000001:ada@example.com"]
    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        contact = Contact.get(Contact.email == "ada@example.com")
        assert Visitor.get_by_id("formvisitor0000001").contact_id == contact.id
        assert Hit.get().contact_id == contact.id


def test_hook_metrics_gauges(fixture_plugin, web):
    from core import auth

    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        _, key = auth.create_api_key(auth.create_user("scraper@example.com", "x" * 12, role="sales"), "prometheus")
    page = web.get("/metrics", headers={"Authorization": f"Bearer {key}"}).text
    assert "# HELP couvee_fixture_notes Notes the fixture plugin wrote." in page
    assert "couvee_tracking_hits_waiting 0.0" in page  # the tracking plugin's, through the same hook


def test_hook_contact_suppressed(fixture_plugin, wsgi, run_jobs):
    from core.contacts import ContactError

    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        with pytest.raises(ContactError) as error:
            contacts.create_contact({"email": "Forgotten@example.com"})
        assert error.value.errors["email"] == "Suppressed by the fixture."
        assert contacts.create_contact({"email": "kept@example.com"}).id


def test_hook_trigger_type_renamed(fixture_plugin):
    from core import rename_trigger_type

    with fixture_plugin.app_context(), fixture_plugin.extensions["couvee"].database_connection():
        assert rename_trigger_type("fixture.old", "fixture.new", lambda settings: {"m": settings["n"]}) == 2
    assert notes(fixture_plugin, "rename") == ["fixture.old->fixture.new:{'m': 1}"]
