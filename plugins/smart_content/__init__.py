"""Smart content (Koban's "marketing intelligent"): a content library fed by
RSS/Atom feeds, by hand or through the API; every N days each contact gets the
content that fits their tags and funnel stage, with no workflow to build.

Modules: ``models`` (tables), ``feeds`` (fetch/parse/store), ``library``
(contents and their tags), ``targeting`` (stage rules, interests), ``picker``
(set-based choice), ``programme`` (settings and calendar), ``template``
(email template slots and rendering), ``sender`` (periodic and send jobs),
``reactions`` (email events), ``stats`` (dashboard), ``views``/``api`` (admin
pages and REST). See docs/smart_content.md.
"""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from core import AdminMenuItem, Migration, PeriodicJob, hookimpl, translation_domain

from .models import MODELS, STAGE_LABELS, STAGES, STATUS_LABELS, Pick, Profile


@hookimpl
def register_models():
    return list(MODELS)


@hookimpl
def register_migrations():
    return [Migration.create_tables(1, "smart content library, profiles, picks and programme", MODELS)]


@hookimpl
def register_blueprints():
    from .api import smart_content_api
    from .views import pages

    return [pages, smart_content_api]


@hookimpl
def register_admin_menu():
    label = translation_domain(__name__).lazy_gettext("Smart content")
    return [AdminMenuItem("smart_content", label, "smart_content.dashboard", order=45, roles=("admin", "marketer"))]


@hookimpl
def register_periodic_jobs():
    from .feeds import fetch_all
    from .sender import run_programme

    return [
        PeriodicJob("smart_content.fetch_feeds", fetch_all, interval=3600, queue="low"),
        PeriodicJob("smart_content.run_programme", run_programme, interval=900, queue="default", timeout=3600),
    ]


@hookimpl
def contact_event(event):
    if event.kind in ("email_sent", "email_opened", "email_clicked"):
        from .reactions import on_event

        on_event(event)


@hookimpl
def contact_erase(contact, mode):
    """The send log and profile are personal data (what a person was sent)."""
    Pick.delete().where(Pick.contact == contact.id).execute()
    Profile.delete().where(Profile.contact == contact.id).execute()


@hookimpl
def contact_export(contact):
    rows = [{"date": p.send_date.isoformat(), "content": p.content.title if p.content else "",
             "status": p.status, "stage": p.stage, "matching_tags": ", ".join(p.matching_tags or [])}
            for p in Pick.select().where(Pick.contact == contact.id).order_by(Pick.send_date)]
    return {"smart_content": rows} if rows else {}


@hookimpl
def tpl_slot(slot, context):
    if slot != "contact_sidebar" or context.get("contact") is None:
        return None
    from . import programme, targeting

    contact = context["contact"]
    settings = programme.load()
    picks = list(Pick.select().where((Pick.contact == contact.id) & (Pick.status != "no_content"))
                 .order_by(Pick.send_date.desc(), Pick.id.desc()).limit(5))
    return Markup(render_template(
        "smart_content/contact_panel.html", contact=contact, picks=picks, stages=STAGES, labels=STAGE_LABELS,
        status_labels=STATUS_LABELS,
        stage=targeting.stage_of(contact, settings), override=targeting.stage_override_of(contact),
        interests=sorted(targeting.interests_of(contact).values(), key=str.lower),
    ))


@hookimpl(optionalhook=True)
def email_builder_blocks():
    """The "recommended content" block of the newsletter editor (see emailblock.py)."""
    from .emailblock import recommended_block

    return [recommended_block()]


@hookimpl(optionalhook=True)
def email_template_values(contact, names):
    """A newsletter's "recommended content" slots, per recipient (see emailblock.py)."""
    from .emailblock import recipient_values

    return recipient_values(contact, names)
