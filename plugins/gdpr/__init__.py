"""GDPR / RGPD plugin: consent ledger, opposition flags, ``contact_can_receive``,
rights (access/portability export, preference centre, erasure with a
suppression list), retention policy, processing register, re-opt-in helper and
the cookie banner (through core's tracking hooks). See docs/gdpr.md.

This module only wires hooks to the modules that do the work.
"""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from core import AdminMenuItem, Migration, PeriodicJob, TriggerType, hookimpl, translation_domain

from . import banner, ledger, reoptin, retention
from .migrations import ledger_form_id_and_page_url
from .purposes import replace_old_banner_texts
from .models import GDPR_MODELS, ConsentRecord, ConsentState, Opposition, RetentionWarning
from .purposes import settings_group

_l = translation_domain(__name__).lazy_gettext


@hookimpl
def register_models():
    return list(GDPR_MODELS)


@hookimpl
def register_event_kinds():
    from .kinds import gdpr_event_kinds

    return gdpr_event_kinds()


@hookimpl
def register_migrations():
    return [Migration.create_tables(1, "consent ledger, opposition, suppression, audit", GDPR_MODELS),
            Migration(2, "ledger: form id as a number, page URL of the proof", ledger_form_id_and_page_url),
            Migration(3, "cookie banner: the CNIL-compliant default text", replace_old_banner_texts)]


@hookimpl
def register_settings():
    return [settings_group()]


@hookimpl
def register_blueprints():
    from .api import gdpr_api
    from .public_views import gdpr_public
    from .views import gdpr_admin

    return [gdpr_admin, gdpr_public, gdpr_api]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("gdpr", _l("Data protection"), "gdpr.index", order=80, roles=("admin", "marketer"))]


@hookimpl
def register_periodic_jobs():
    return [PeriodicJob("gdpr.retention", retention.run_retention, cron="30 3 * * *", queue="low")]


@hookimpl
def register_segment_filters():
    return reoptin.segment_filters()


@hookimpl
def register_actions():
    return reoptin.actions()


@hookimpl
def register_trigger_types():
    return [TriggerType("gdpr.retention_warning", _l("Retention deadline approaching (GDPR)"), kind="behaviour",
                        event_kinds=(retention.WARNING_KIND,),
                        description=_l("The contact has been inactive for almost the retention period: "
                                       "a reactivation scenario can run before they are pseudonymised or deleted."))]


@hookimpl
def contact_event(event):
    if event.kind in ledger.CONSENT_KINDS:
        ledger.record_from_event(event)
    elif event.kind == ledger.IMPORTED_CONSENT:
        ledger.record_imported(event)
    elif event.kind == "email_unsubscribed":
        from .opposition import set_flags

        later = ConsentState.get_or_none((ConsentState.contact == event.contact_id)
                                         & (ConsentState.purpose == "email_marketing"))
        if later is not None and later.granted and later.at > event.created_at:
            return  # subscribed again since: an old unsubscribe re-dispatched must not win
        set_flags(event.contact, "unsubscribe", email=True)


@hookimpl
def contact_can_receive(contact, channel, purpose):
    from .receive import refusal

    if refusal(contact, channel, purpose) is not None:
        return False
    return None


@hookimpl
def contact_receive_refusals(contact_ids, channel, purpose):
    from .receive import refusals

    return refusals(contact_ids, channel, purpose) or None


@hookimpl
def contact_suppressed(emails):
    from .suppression import suppressed

    return suppressed(list(emails)) or None


@hookimpl
def contact_erase(contact, mode):
    """Our own rows: the ledger keeps no IP or user agent after
    pseudonymisation; everything goes on deletion."""
    if mode == "delete":
        for model in (ConsentRecord, ConsentState, Opposition, RetentionWarning):
            model.delete().where(model.contact == contact.id).execute()
    else:
        ConsentRecord.update(ip="", user_agent="", page_url="").where(ConsentRecord.contact == contact.id).execute()
        RetentionWarning.delete().where(RetentionWarning.contact == contact.id).execute()


@hookimpl
def contact_export(contact):
    from .opposition import flags_of

    consents = [{"at": r.at.isoformat(), "purpose": r.purpose, "decision": "granted" if r.granted else "withdrawn",
                 "text": r.text, "text_version": r.text_version, "source": r.source, "form_id": r.form_id,
                 "page_url": r.page_url, "ip": r.ip, "user_agent": r.user_agent}
                for r in reversed(ledger.history(contact.id))]
    flags = flags_of(contact.id)
    return {"Consents": consents, "Opposition": [{"flag": k, "set": v} for k, v in flags.items()]}


@hookimpl
def tpl_slot(slot, context):
    """``contact_sidebar``: the data-protection panel; ``account_sidebar``
    (context ``contact_ids``, the account's contacts): how many oppose
    email, SMS and phone prospecting."""
    if slot == "account_sidebar" and context.get("contact_ids") is not None:
        from .panel import account_summary

        return Markup(render_template("gdpr/account_summary.html", **account_summary(context["contact_ids"])))
    if slot != "contact_sidebar" or context.get("contact") is None:
        return None
    from .panel import panel_context

    return Markup(render_template("gdpr/contact_panel.html", **panel_context(context["contact"])))


@hookimpl
def tracking_script_parts():
    return [banner.script()]


@hookimpl
def tracking_site_config(site):
    return banner.site_config(site)
