"""A plugin that implements every Couvée hook, for the kernel's tests.

It writes what it sees into its own table (``FixtureNote``) so tests can
assert that a hook ran, in which process, and that it stops running once the
plugin is deactivated.
"""
import click
import peewee
from flask import Blueprint, render_template
from markupsafe import Markup

from core import (
    Action, AdminMenuItem, BaseModel, Command, Contact, EventKind, FastEndpoint, FastResponse, FieldType,
    FieldValueError, Gauge, Migration, PeriodicJob, SegmentFilter, SendChannel, Setting, SettingsGroup, TriggerType,
    enqueue, hookimpl, read_body,
)


class FixtureNote(BaseModel):
    kind = peewee.CharField()
    text = peewee.TextField(default="")


def note(kind, text=""):
    FixtureNote.create(kind=kind, text=str(text))


def record_job(text):
    """A background job of this plugin."""
    note("job", text)


def tick():
    note("tick")


class PhoneFieldType(FieldType):
    id = "fixture_phone"
    label = "Phone (fixture)"

    def parse(self, text, field=None):
        text = (text or "").strip()
        if not text:
            return None
        digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
        if len(digits) < 6:
            raise FieldValueError(f"{text!r} is not a phone number")
        return digits


blueprint = Blueprint("couvee_fixture", __name__, url_prefix="/admin/fixture")


@blueprint.route("/")
def index():
    return render_template("couvee_fixture/index.html", notes=FixtureNote.select().count())


@blueprint.route("/enqueue", methods=["POST"])
def enqueue_job():
    enqueue(record_job, "from-web")
    return "queued"


@hookimpl
def register_models():
    return [FixtureNote]


@hookimpl
def register_migrations():
    return [Migration.create_tables(1, "notes", [FixtureNote])]


@hookimpl
def register_blueprints():
    return [blueprint]


def ping(environ):
    """A fast endpoint: counts pings in Redis (no database) and answers the count."""
    from flask import current_app

    if read_body(environ, 64) is None:
        return FastResponse(413, body=b"too long\n")
    count = current_app.extensions["couvee"].redis.incr("couvee_fixture:pings")
    return FastResponse(200, [("Content-Type", "application/json")], b'{"pings": %d}' % count)


@hookimpl
def register_fast_endpoints():
    return [FastEndpoint("/fixture/ping", "couvee_fixture_fast.ping", ("POST",), ping)]


@hookimpl
def register_field_types():
    return [PhoneFieldType()]


@hookimpl
def register_event_kinds():
    return [EventKind("fixture_poked", "Poked (fixture)", verb="get poked", past="got poked", interaction=True,
                      can_trigger=True, segment_condition=True,
                      properties={"url": "where the poke happened"},
                      trigger_settings=[Setting("url", "URL pattern (empty: any)")])]


@hookimpl
def register_trigger_types():
    return [TriggerType("fixture.poked", "Poked (fixture)", event_kinds=("fixture_poked",))]


@hookimpl
def register_actions():
    return [Action("fixture.note", "Write a note", run=lambda contact, settings, context: note("action", contact.id),
                   settings=[Setting("text", "Text")])]


@hookimpl
def register_channels():
    return [SendChannel("fixture", "Fixture channel", send=lambda message: note("sent", message))]


@hookimpl
def register_segment_filters():
    return [SegmentFilter("fixture.all", "Everyone (fixture)", compile=lambda params: Contact.id > 0)]


@hookimpl
def register_periodic_jobs():
    return [PeriodicJob("fixture.tick", tick, interval=60)]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("fixture", "Fixture", "couvee_fixture.index", order=500)]


@hookimpl
def register_settings():
    return [SettingsGroup("couvee_fixture", "Fixture", [Setting("greeting", "Greeting", default="hello")])]


@click.command("fixture-hello")
def hello_command():
    """Say hello and count the fixture's notes."""
    click.echo(f"hello, {FixtureNote.select().count()} notes")


@hookimpl
def register_commands():
    return [Command(hello_command)]


@hookimpl
def contact_created(contact):
    note("created", contact.id)


@hookimpl
def contact_updated(contact, changes):
    note("updated", ",".join(sorted(changes)))


@hookimpl
def contact_deleted(contact):
    note("deleted", contact["email"])


@hookimpl
def contact_event(event):
    if event.kind == "tag_added" and event.data.get("tag") == "explode":
        raise RuntimeError("the fixture plugin exploded on purpose")
    note("event", event.kind)


@hookimpl
def contact_can_receive(contact, channel, purpose):
    if (contact.email or "").endswith("@blocked.test"):
        return False
    return None


@hookimpl
def contact_receive_refusals(contact_ids, channel, purpose):
    blocked = Contact.select(Contact.id).where(Contact.id.in_(contact_ids) & Contact.email.endswith("@blocked.test"))
    return {row.id: "blocked domain (fixture)" for row in blocked}


@hookimpl
def tpl_slot(slot, context):
    if slot == "contact_sidebar":
        return Markup('<div class="fixture-slot">Fixture panel for {}</div>').format(context["contact"].display_name)
    return None


@hookimpl
def contact_erase(contact, mode):
    note("erase", f"{mode}:{contact.email}")


@hookimpl
def contact_export(contact):
    return {"Fixture notes": [{"kind": n.kind, "text": n.text} for n in FixtureNote.select().order_by(FixtureNote.id)]}


@hookimpl
def tracking_script_parts():
    return ["tracker.fixtureLoaded = true;"]


@hookimpl
def tracking_site_config(site):
    return {"fixture": {"site": getattr(site, "name", str(site))}}


@hookimpl
def tracking_visitor_identified(contact, visitor_id, method):
    note("visitor", f"{method}:{visitor_id}:{contact.email}")


@hookimpl
def metrics_gauges():
    return [Gauge("couvee_fixture_notes", "Notes the fixture plugin wrote.", FixtureNote.select().count())]


@hookimpl
def contact_suppressed(emails):
    return {email: "Suppressed by the fixture." for email in emails if email.startswith("forgotten@")}


@hookimpl
def trigger_type_renamed(old_type, new_type, convert):
    if old_type != "fixture.old":
        return None
    note("rename", f"{old_type}->{new_type}:{convert({'n': 1})}")
    return 2
