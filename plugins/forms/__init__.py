"""Forms: a builder for forms mapped to contact fields, four embeds (JS
snippet, iframe, hosted page, plain HTML), submissions with a history that is
never overwritten, consent boxes with their proof, double opt-in, and actions
from the registry run after each submission. See docs/forms.md.

This plugin talks to the others only through core: ``consent_given`` and
``form_submitted`` events, ``send_message`` for the confirmation email, the
actions registry, and ``contact_can_receive`` to hold marketing sends until a
double opt-in is confirmed.
"""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from core import (
    AdminMenuItem, Migration, PeriodicJob, Setting, SettingsGroup, SetupStep, hookimpl, translation_domain,
)

from . import migrations
from .models import FORMS_MODELS

_l = translation_domain(__name__).lazy_gettext


@hookimpl
def register_periodic_jobs():
    from .jobs import resend_unsent_opt_ins

    return [PeriodicJob("forms.resend_unsent_opt_ins", resend_unsent_opt_ins, interval=600, queue="default")]


@hookimpl
def register_models():
    return list(FORMS_MODELS)


@hookimpl
def register_event_kinds():
    from .kinds import form_event_kinds

    return form_event_kinds()


@hookimpl
def register_migrations():
    return [Migration.create_tables(1, "forms, fields, consent boxes, actions, submissions and opt-ins",
                                    FORMS_MODELS),
            Migration(2, "yes/no questions asked with Yes/No buttons", migrations.add_yes_no_question),
            Migration(3, "a placeholder per form field", migrations.add_placeholder)]


@hookimpl
def register_blueprints():
    from .admin_views import forms_admin
    from .public_views import forms_public

    return [forms_public, forms_admin]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("forms", _l("Forms"), "forms_admin.index", order=30, roles=("admin", "marketer"))]


@hookimpl
def register_settings():
    return [SettingsGroup("forms", _l("Forms"), [
        Setting("min_fill_seconds", _l("Minimum fill time (seconds)"), kind="int", default=3,
                help=_l("Submissions sent faster than this after the form was drawn are refused (bots).")),
        Setting("rate_limit", _l("Submissions per IP address"), kind="int", default=20,
                help=_l("Per window below, all forms together; 0 turns the limit off.")),
        Setting("rate_window", _l("Rate limit window (seconds)"), kind="int", default=600),
        Setting("doi_expiry_days", _l("Double opt-in link validity (days)"), kind="int", default=7),
    ])]


@hookimpl
def contact_can_receive(contact, channel, purpose):
    from .optin import vetoes

    if vetoes(contact, channel, purpose):
        return False
    return None


@hookimpl
def contact_receive_refusals(contact_ids, channel, purpose):
    from .optin import pending_refusals

    return pending_refusals(contact_ids, channel, purpose) or None


@hookimpl
def contact_event(event):
    if event.kind == "consent_given":
        from .optin import supersede_on_consent

        supersede_on_consent(event)


@hookimpl
def contact_erase(contact, mode):
    from .privacy import erase

    erase(contact, mode)


@hookimpl
def contact_export(contact):
    from .privacy import export

    return export(contact)


@hookimpl
def tpl_slot(slot, context):
    if slot != "contact_main" or context.get("contact") is None:
        return None
    from .models import Submission, SubmittedValue

    contact = context["contact"]
    submissions = list(Submission.select().where(Submission.contact == contact.id)
                       .order_by(Submission.created_at.desc(), Submission.id.desc()).limit(50))
    values = {}
    for row in SubmittedValue.select().where(SubmittedValue.submission.in_([s.id for s in submissions])).order_by(
            SubmittedValue.id):
        values.setdefault(row.submission_id, []).append(row)
    return Markup(render_template("forms/contact_panel.html", contact=contact, submissions=submissions,
                                  values=values))


@hookimpl
def register_setup_steps():
    from .models import Form

    return [SetupStep("forms.first", _l("Publish your first form"), "forms_admin.index",
                      lambda: Form.select().where(Form.status == "published").exists(),
                      help=_l("Collect sign-ups on your website, embedded or on a hosted page."), order=50)]


@hookimpl
def contact_change_sources():
    return {"form": translation_domain(__name__).pgettext("change source", "form")}
